"""Where skcoteach meets a Keras backend: every import of TensorFlow lives below this package.

The estimators, the update rules (:mod:`skcoteach.rules`), the schedules and
the noise tools are written against Keras and NumPy.  What runs them -- the
compiled training program, the data it holds, its distribution over devices,
the runtime's threads -- is backend-specific and lives in one subpackage per
Keras backend:

- :mod:`skcoteach.backends.tensorflow`: the TensorFlow training program
  (``_ensemble``: the peers as one ``keras.Model`` whose ``train_step`` runs an
  update rule; ``_training``: the fit loop, its callbacks and the epoch order;
  ``_joint``: many fits as one program for grouped search; ``_sparse``: CSR
  rows as ragged tensors; ``_replicas``: ``tf.distribute``; ``_optimizers``:
  the fused Adam; ``_resume``: fault-tolerant resumption; ``_keras_saving``:
  the ``.keras`` format; ``_runtime``: thread pools and GPU memory;
  ``_compat``: TensorFlow's private APIs).

A second backend is a sibling subpackage with the same modules and an entry
in :data:`SUPPORTED`; nothing outside this package may import ``tensorflow``
(a test reads every module's imports).  Importing this package imports no
backend.
"""

__all__ = ["SUPPORTED", "check_backend"]

#: Keras backends skcoteach can train on.
SUPPORTED = ("tensorflow",)


def check_backend(name: str) -> None:
    """Raise ``ImportError`` unless Keras's backend ``name`` is one skcoteach can train on.

    Parameters
    ----------
    name : str
        ``keras.backend.backend()``.

    Raises
    ------
    ImportError
        Naming the supported backends and how to choose one.
    """
    if name not in SUPPORTED:
        supported = ", ".join(repr(backend) for backend in SUPPORTED)
        raise ImportError(
            f"skcoteach cannot train with Keras's {name!r} backend; the supported backends "
            f"are: {supported}. Set the environment variable KERAS_BACKEND=tensorflow "
            "before Python imports keras."
        )
