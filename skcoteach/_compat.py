"""Every private or version-sensitive API of Keras and scikit-learn that skcoteach uses.

Each use lives here, next to its fallback to public behaviour where one exists,
so that a new release of a dependency can break at most this module:

- :func:`seeded`: Keras's global ``SeedGenerator`` (``keras.src``), falling
  back to :func:`keras.utils.set_random_seed`.
- :func:`keras_logits`: the logits Keras keeps on a softmax / sigmoid output
  tensor (``_keras_logits``); without them the caller clips probabilities.
- :func:`adam_slots`: Adam's moment variables (``_momentums``,
  ``_velocities``, ``_get_variable_index``); without them the fused Adam runs
  Keras's own update.
- ``HasMethods``, ``Interval``, ``StrOptions`` and :func:`validate_params`:
  scikit-learn's parameter validation (``sklearn.utils._param_validation``),
  which has no public equivalent; a scikit-learn without it is refused with a
  clear ``ImportError``.
- :func:`check_sample_weight`: scikit-learn's ``_check_sample_weight``, with
  a plain NumPy fallback that gives the same checks and messages.
- :func:`import_keras` loads TensorFlow within
  :func:`skcoteach._quiet_start.tensorflow_start_up_hidden`, which knows the
  format of the lines TensorFlow's C++ runtime writes while it loads.

Those of TensorFlow live in :mod:`skcoteach.backends.tensorflow._compat`.
Importing this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sys
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from ._quiet_start import tensorflow_start_up_hidden

if TYPE_CHECKING:
    import keras
    from sklearn.base import BaseEstimator

try:
    from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
except ImportError as exc:  # pragma: no cover - depends on the installed scikit-learn
    raise ImportError(
        "skcoteach needs scikit-learn >= 1.6 (sklearn.utils._param_validation with "
        f"HasMethods, Interval and StrOptions); importing them failed: {exc}"
    ) from exc

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "adam_slots",
    "check_sample_weight",
    "import_keras",
    "keras_logits",
    "num_samples",
    "safe_indexing",
    "seeded",
    "validate_params",
]


def import_keras() -> ModuleType:
    """Import Keras with the TensorFlow backend, or explain why not.

    A call that finds TensorFlow not yet loaded in the process loads it (and
    configures it) within :func:`tensorflow_start_up_hidden`: TensorFlow's
    start-up lines do not reach standard error (``TF_CPP_MIN_LOG_LEVEL``
    decides, see there), Python's warnings and errors do.  If the user
    imported TensorFlow first, nothing is captured or set.

    A call that imports Keras first puts Python's and NumPy's global random
    states back as they were: importing jax draws from NumPy's.

    Returns
    -------
    module
        ``keras``, its TensorFlow runtime configured by
        :func:`skcoteach.parallel.configure_tensorflow`.

    Raises
    ------
    ModuleNotFoundError
        If Keras's backend (TensorFlow unless ``KERAS_BACKEND`` or Keras's
        configuration file names another) is not installed: a message that
        says so and how to install it or choose another backend, chained to
        Keras's error.
    ImportError
        If Keras (or TensorFlow) cannot be imported otherwise -- the original
        error, with whatever TensorFlow printed while failing -- or if Keras's
        backend is not one skcoteach supports.
    """
    # TensorFlow not loaded yet (by skcoteach or by the user): its start-up is
    # ours, and so is what it prints, also while the GPUs are first listed.
    starting = "tensorflow" not in sys.modules
    # Keras not loaded yet: its first import is ours, and it must not move the caller's
    # global random states (importing jax draws from NumPy's, in jax._src.clusters).
    saved = (random.getstate(), np.random.get_state()) if "keras" not in sys.modules else None
    try:
        with tensorflow_start_up_hidden() if starting else contextlib.nullcontext():
            import keras

            from .backends import check_backend

            check_backend(keras.backend.backend())
            from .backends import api

            # Once per process: under TensorFlow, its thread pools sized from the
            # parallel engine's OMP_NUM_THREADS, GPU memory growth, the fork check.
            api().configure()
    except ModuleNotFoundError as exc:
        if exc.name not in _BACKEND_INSTALLS:
            raise
        raise ModuleNotFoundError(_missing_backend_message(exc.name), name=exc.name) from exc
    finally:
        if saved is not None:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
    return keras


#: The install that brings each Keras backend skcoteach supports.
_BACKEND_INSTALLS = {"tensorflow": "pip install skcoteach", "jax": 'pip install "skcoteach[jax]"'}


def _missing_backend_message(name: str) -> str:
    """What to do when Keras's backend ``name`` is not installed."""
    other = next(other for other in _BACKEND_INSTALLS if other != name)
    return (
        f"Keras's backend is {name!r}, which is not installed. Keras takes its backend from "
        "the environment variable KERAS_BACKEND, else from ~/.keras/keras.json, else "
        f"TensorFlow. Install {name} ({_BACKEND_INSTALLS[name]} installs it), or, where {other} "
        f"is installed, set KERAS_BACKEND={other} before Python imports keras."
    )


# ----------------------------------------------------------------------
# Keras: files
# ----------------------------------------------------------------------
class _LocalFiles:
    """The part of Keras's file utilities skcoteach uses, for local paths only."""

    exists = staticmethod(os.path.exists)
    File = staticmethod(open)
    remove = staticmethod(os.remove)

    @staticmethod
    def makedirs(path):
        os.makedirs(path, exist_ok=True)

    @staticmethod
    def is_remote_path(path):
        return False

    @staticmethod
    def copy(src, dst):
        shutil.copyfile(src, dst)


def keras_file_utils() -> Any:
    """Keras's file utilities (local paths and, with TensorFlow, ``tf.io.gfile``'s), or a local stand-in."""
    try:
        from keras.src.utils import file_utils
    except ImportError:
        return _LocalFiles
    needed = ("exists", "File", "makedirs", "remove", "copy", "is_remote_path")
    return file_utils if all(hasattr(file_utils, name) for name in needed) else _LocalFiles


def replace_file(source: str, target: str) -> None:
    """Move ``source`` over ``target``: atomically for a local path."""
    files = keras_file_utils()
    if files.is_remote_path(target):
        files.copy(source, target)
        files.remove(source)
    else:
        os.replace(source, target)


# ----------------------------------------------------------------------
# Keras: seeding
# ----------------------------------------------------------------------
def _keras_seed_state():
    """``(global_state, seed_generator)`` modules of Keras, or None if they moved."""
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
    except ImportError:
        return None
    if not hasattr(seed_generator, "GLOBAL_SEED_GENERATOR"):
        return None
    return global_state, seed_generator


#: Serialises :func:`seeded` between the threads of one process (a Dask
#: worker runs tasks in threads): Keras's seed source is a module attribute.
_SEED_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Make Python, NumPy and Keras draw from ``seed``, then restore them.

    Keras layers seed their initializers and dropout from Python's ``random``
    module and from Keras's global ``SeedGenerator``; both, and NumPy's global
    state, are put back as they were, so the caller's random state is not
    changed.  TensorFlow's global seed is not touched.  Meanwhile Keras draws
    its default seeds from a private ``random.Random(seed)`` (the same
    sequence as ``random.seed(seed)``), so that another thread drawing from
    Python's global ``random`` -- Dask's event loop in a worker does -- cannot
    change the networks built.

    On a Keras whose global seed generator cannot be reached, the seeds are
    set with the public :func:`keras.utils.set_random_seed` instead: results
    stay reproducible and Python's and NumPy's states are still restored, but
    TensorFlow's global seed is then left set to ``seed``.
    """
    with _SEED_LOCK:
        state = _keras_seed_state()
        saved_python, saved_numpy = random.getstate(), np.random.get_state()
        if state is None:
            import_keras().utils.set_random_seed(seed)
            restore_keras = None
        else:
            global_state, seed_generator = state
            key = seed_generator.GLOBAL_SEED_GENERATOR
            previous = global_state.get_global_attribute(key)
            saved_source = getattr(seed_generator, "python_random", None)
            random.seed(seed)
            np.random.seed(seed)
            if saved_source is not None:
                seed_generator.python_random = random.Random(seed)
            global_state.set_global_attribute(key, seed_generator.SeedGenerator(seed))

            def restore_keras():
                global_state.set_global_attribute(key, previous)
                if saved_source is not None:
                    seed_generator.python_random = saved_source

        try:
            yield
        finally:
            random.setstate(saved_python)
            np.random.set_state(saved_numpy)
            if restore_keras is not None:
                restore_keras()


# ----------------------------------------------------------------------
# Keras: tensors and optimizers
# ----------------------------------------------------------------------
def keras_logits(outputs: Any) -> Any:
    """The logits Keras's TensorFlow backend keeps on a softmax / sigmoid output, or None.

    Keras's own cross-entropy reads them (``_keras_logits``) so that saturated
    probabilities never give ``log(0)``.
    """
    return getattr(outputs, "_keras_logits", None)


#: Names of the attributes of Keras's Adam that hold its moments.
ADAM_SLOT_ATTRIBUTES = ("_momentums", "_velocities", "_get_variable_index")


def adam_slots(
    optimizer: keras.optimizers.Optimizer, variable: keras.Variable
) -> tuple[keras.Variable, keras.Variable] | None:
    """``(m, v)``, Adam's first and second moment variables of ``variable``, or None.

    None when this Keras keeps them elsewhere; the caller then runs Keras's
    own update.
    """
    momentums, velocities, index_of = (
        getattr(optimizer, name, None) for name in ADAM_SLOT_ATTRIBUTES
    )
    if momentums is None or velocities is None or index_of is None:
        return None
    index = index_of(variable)
    return momentums[index], velocities[index]


# ----------------------------------------------------------------------
# scikit-learn
# ----------------------------------------------------------------------
def validate_params(estimator: BaseEstimator) -> None:
    """Check the constructor parameters against ``estimator._parameter_constraints``."""
    estimator._validate_params()


def _check_sample_weight_numpy(sample_weight, X, dtype):
    """:func:`check_sample_weight` without scikit-learn's private helper."""
    n = X.shape[0]
    if sample_weight is None:
        return np.ones(n, dtype=dtype)
    if np.ndim(sample_weight) == 0:
        return np.full(n, sample_weight, dtype=dtype)
    weights = np.array(sample_weight, dtype=dtype)  # a copy: the caller's array stays
    if weights.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if weights.shape != (n,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n,)}!")
    if not np.all(np.isfinite(weights)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if np.any(weights < 0):
        raise ValueError("Negative values in data passed to `sample_weight`")
    return weights


def check_sample_weight(
    sample_weight: ArrayLike | float | None, X: Any, dtype: Any = np.float32
) -> np.ndarray:
    """Non-negative sample weights of ``X`` as a new array (ones if None)."""
    try:
        from sklearn.utils.validation import _check_sample_weight
    except ImportError:
        return _check_sample_weight_numpy(sample_weight, X, dtype)
    return _check_sample_weight(sample_weight, X, dtype=dtype, ensure_non_negative=True)


def safe_indexing(X: Any, indices: ArrayLike) -> Any:
    """Rows ``indices`` of an array-like, DataFrame, list or sparse matrix (scikit-learn's helper)."""
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, indices)


def num_samples(X: Any) -> int:
    """Number of samples of an array-like, a DataFrame, a list or a scipy.sparse matrix."""
    try:
        from sklearn.utils.validation import _num_samples
    except ImportError:  # pragma: no cover - depends on the installed scikit-learn
        return X.shape[0] if hasattr(X, "shape") else len(X)
    return _num_samples(X)
