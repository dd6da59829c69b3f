"""Many fits at once: TensorFlow set-up for the processes that run them.

scikit-learn runs the fits of ``GridSearchCV(..., n_jobs=k)`` and
``cross_validate`` in worker processes: joblib's default ``loky`` backend,
Dask's or Ray's joblib backend.  Each worker that fits a
:class:`~skcoteach.CoTeachingClassifier` starts its own TensorFlow runtime,
and TensorFlow sizes its thread pools for the whole machine by default:
``k`` workers then run ``k`` times as many busy threads as there are cores,
and the search is slower than running the fits one after the other.

:func:`configure_tensorflow` is run once in each process when skcoteach first
needs TensorFlow, before TensorFlow's runtime starts.  It

* sizes TensorFlow's thread pools from the thread budget that the parallel
  engine gives the worker in ``OMP_NUM_THREADS`` (loky sets it to
  ``cpu_count // n_jobs``, Dask's nanny to 1, Ray to the task's ``num_cpus``),
  unless TensorFlow's own thread settings were chosen by the user;
* turns on memory growth for every GPU, so that each worker takes the device
  memory it uses rather than all of it;
* refuses, with an explanation, to run TensorFlow in a process forked from a
  process whose TensorFlow runtime had started (it would hang).

The functions live in :mod:`skcoteach.backends.tensorflow._runtime` and
import TensorFlow only when called;
``import skcoteach`` changes no setting.
"""

from .backends.tensorflow._runtime import (  # noqa: F401  (the variables' names, too)
    TF_GROWTH_VAR,
    TF_THREAD_VARS,
    configure_tensorflow,
    set_tensorflow_threads,
    tensorflow_threads,
)

__all__ = ["configure_tensorflow", "set_tensorflow_threads", "tensorflow_threads"]
