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

- :mod:`skcoteach.backends.jax`: the JAX training program (``_ensemble``:
  the ensemble whose training function is a ``lax.scan`` over mini-batches
  gathered on the device; ``_rows``: the rows a batch gathers, dense or a
  scipy.sparse ``X`` held in CSR layout; ``_sharding``: data parallelism
  under a ``keras.distribution``; ``_joint``: the fits of a grouped search
  stacked and trained by one ``vmap``-ped program; ``_predict``: prediction
  by one compiled program per network structure; ``_outputs``: the loss
  from a softmax output's logits; ``_training``: the fit, the epoch order),
  with the same module names for what the estimator calls.

What both share is backend-neutral and lives here: ``_fit_loop`` (the
callbacks around Keras's ``fit`` and the record of a fit), ``_resume`` (the
estimator's side of a ``BackupAndRestore`` checkpoint) and ``_config`` (the
ensemble's Keras configuration).

The estimator reaches a backend only through :func:`api`: the module
``_api`` of the backend's subpackage, which names everything the estimator
calls (the same names in every backend).  A further backend is a sibling
subpackage with an ``_api`` module and an entry in :data:`SUPPORTED`.  Nothing outside this package may import ``tensorflow`` or
``jax`` (a test reads every module's imports).  Importing this package
imports no backend.
"""

import contextlib
import importlib
import os
from types import ModuleType

__all__ = ["SPARSE", "SUPPORTED", "api", "check_backend", "configured", "current", "float64"]

#: Keras backends skcoteach can train on.
SUPPORTED = ("tensorflow", "jax")
#: Those of them that train on scipy.sparse X without densifying it.
SPARSE = ("tensorflow", "jax")


def configured() -> str:
    """Keras's backend without importing Keras: its own if imported, else ``KERAS_BACKEND``.

    (Keras's default, TensorFlow, when the variable is unset; a backend named
    only in ``~/.keras/keras.json`` is seen once Keras is imported.)
    """
    import sys

    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def current() -> str:
    """The name of Keras's backend (imports Keras)."""
    import keras

    return keras.backend.backend()


def float64() -> contextlib.AbstractContextManager:
    """A context in which ``float64`` means 64 bits on Keras's backend.

    JAX computes in 32 bits unless its 64-bit types are enabled; inside this
    context they are (``jax.enable_x64``), also while a function is traced.
    The update rules round the number of kept samples in it, so that every
    backend keeps as many as :func:`skcoteach.schedules.n_kept`.  Elsewhere a
    no-op.
    """
    if current() == "jax":
        import jax

        return jax.enable_x64(True)
    return contextlib.nullcontext()


def api() -> ModuleType:
    """The current backend's ``_api`` module: what the estimator calls.

    Raises
    ------
    ImportError
        If Keras's backend is not one of :data:`SUPPORTED`.
    """
    backend = current()
    check_backend(backend)
    module = importlib.import_module(f"{__name__}.{backend}._api")
    module.register()
    return module


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
            "(or jax) before Python imports keras."
        )
