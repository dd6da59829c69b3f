"""TensorFlow's runtime set-up for the processes that fit: thread pools, GPU memory, forks.

The implementation behind :mod:`skcoteach.parallel` (see there).  TensorFlow
is imported only when one of the functions is called.
"""


import os
import threading
import warnings
from typing import Any

__all__ = ["configure_tensorflow", "set_tensorflow_threads", "tensorflow_threads"]

#: Environment variables that TensorFlow itself reads for its thread pools.
TF_THREAD_VARS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")

#: Environment variable that TensorFlow itself reads for GPU memory growth.
TF_GROWTH_VAR = "TF_FORCE_GPU_ALLOW_GROWTH"

_LOCK = threading.RLock()
# What configure_tensorflow did in this process; "pid" tells a forked child
# (which inherits the dict) from the process that filled it.
_STATE = {"pid": None, "report": None, "fork_hook": False, "forked_from_runtime": False}


def _positive_int(name):
    value = os.environ.get(name, "").strip()
    try:
        value = int(value)
    except ValueError:
        return None
    return value if value > 0 else None


def _after_fork_in_child():
    # Runs in the child right after os.fork(): record whether the parent's
    # runtime had started.  Its thread pools did not survive the fork.
    tf = __import__("sys").modules.get("tensorflow")
    if tf is not None:  # TensorFlow is loaded: so is the _compat module that reads it
        from ._compat import runtime_started

        _STATE["forked_from_runtime"] = runtime_started(tf)
    else:
        _STATE["forked_from_runtime"] = False


def _check_not_forked_from_runtime():
    if _STATE["forked_from_runtime"]:
        raise RuntimeError(
            "This process was forked (multiprocessing's 'fork' start method, os.fork) "
            "from a process in which TensorFlow had already run; TensorFlow is not "
            "fork-safe and would hang here. Start worker processes with 'spawn' or "
            "'forkserver' (multiprocessing.get_context('spawn')), or use joblib's "
            "default loky backend, Dask or Ray, which start fresh interpreters. Forking "
            "before TensorFlow has run in the parent (e.g. after only `import skcoteach`) "
            "is supported."
        )


def tensorflow_threads() -> dict[str, Any]:
    """The thread pool sizes of TensorFlow in this process.

    Returns
    -------
    dict
        ``{"intra_op": int, "inter_op": int, "started": bool}``: the sizes set
        through ``tf.config.threading`` (0 means TensorFlow's default: one
        thread per core, unless ``TF_NUM_INTRAOP_THREADS`` /
        ``TF_NUM_INTEROP_THREADS`` say otherwise), and whether TensorFlow's
        runtime has started (after which they cannot change).
    """
    import tensorflow as tf

    from ._compat import runtime_started

    return {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "started": runtime_started(tf),
    }


def set_tensorflow_threads(intra_op: int, inter_op: int | None = None) -> dict[str, Any]:
    """Set the sizes of TensorFlow's thread pools in this process.

    Call it before the first fit in the process (in a worker: from a set-up
    hook, see :ref:`scaling`).  It imports TensorFlow.  The values set here
    take precedence over the automatic sizing of :func:`configure_tensorflow`.

    Parameters
    ----------
    intra_op : int
        Threads that one operation (a matrix product, a convolution) may use.
    inter_op : int, default=None
        Threads that run independent operations concurrently; by default
        ``intra_op``.

    Returns
    -------
    dict
        :func:`tensorflow_threads` after the change.

    Raises
    ------
    RuntimeError
        If TensorFlow's runtime has already started in this process with other
        sizes: they can no longer change.  Restart the process (the worker) and
        call this first.
    """
    inter_op = intra_op if inter_op is None else inter_op
    for name, value in (("intra_op", intra_op), ("inter_op", inter_op)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    import tensorflow as tf

    with _LOCK:
        current = tensorflow_threads()
        if (current["intra_op"], current["inter_op"]) == (intra_op, inter_op):
            return current
        if current["started"]:
            raise RuntimeError(
                f"TensorFlow's runtime has already started in this process (pid "
                f"{os.getpid()}) with intra_op={current['intra_op']}, "
                f"inter_op={current['inter_op']} (0: TensorFlow's default); its thread "
                "pools cannot be resized. Call set_tensorflow_threads before anything "
                "runs TensorFlow in the process, or set TF_NUM_INTRAOP_THREADS / "
                "TF_NUM_INTEROP_THREADS in the environment of the worker."
            )
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        return tensorflow_threads()


def _thread_budget():
    """``(threads, source)``: the budget of this process, or ``(None, reason)``."""
    for name in TF_THREAD_VARS:
        if name in os.environ:
            return None, name  # TensorFlow reads it itself
    omp = _positive_int("OMP_NUM_THREADS")
    if omp is not None:
        return omp, "OMP_NUM_THREADS"
    return None, "default"


def configure_tensorflow() -> dict[str, Any]:
    """Prepare TensorFlow in this process for fitting, once.

    Run by skcoteach where it first needs TensorFlow in a process; calling it
    again, or after TensorFlow's runtime has started, changes nothing.  It
    does not start the runtime itself.

    * **Threads.**  If neither ``TF_NUM_INTRAOP_THREADS`` nor
      ``TF_NUM_INTEROP_THREADS`` is set, nor the pools sized with
      ``tf.config.threading`` or :func:`set_tensorflow_threads`, and
      ``OMP_NUM_THREADS`` is set to ``n`` (as joblib, Dask and Ray set it in
      their workers), both of TensorFlow's pools get ``n`` threads.  Without
      any of these, TensorFlow keeps its default: all cores.
    * **GPUs.**  Unless ``TF_FORCE_GPU_ALLOW_GROWTH`` is set (TensorFlow reads
      it; ``false`` keeps TensorFlow's grab-it-all behaviour), memory growth
      is turned on for every visible GPU.
    * **Fork.**  In a process forked after TensorFlow's runtime had started in
      its parent, it raises :class:`RuntimeError` instead of letting the first
      TensorFlow operation hang.

    Returns
    -------
    dict
        What was found and done: ``intra_op`` and ``inter_op`` (as
        :func:`tensorflow_threads`; 0 is TensorFlow's default), ``source`` (what
        decided them: ``"OMP_NUM_THREADS"``, ``"TF_NUM_INTRAOP_THREADS"``,
        ``"TF_NUM_INTEROP_THREADS"``, ``"tf.config.threading"``, ``"started"``
        when the runtime had started before, or ``"default"``) and
        ``memory_growth`` (the names of the GPUs that got it).
    """
    pid = os.getpid()
    if _STATE["pid"] == pid:  # the fast path: every call after the first
        return _STATE["report"]
    with _LOCK:
        if _STATE["pid"] == pid:
            return _STATE["report"]
        _check_not_forked_from_runtime()
        import tensorflow as tf

        if not _STATE["fork_hook"]:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _STATE["fork_hook"] = True

        threads = tensorflow_threads()
        if threads["started"]:
            source = "started"
        elif threads["intra_op"] or threads["inter_op"]:
            source = "tf.config.threading"
        else:
            budget, source = _thread_budget()
            if budget is not None:
                tf.config.threading.set_intra_op_parallelism_threads(budget)
                tf.config.threading.set_inter_op_parallelism_threads(budget)
        grown = []
        if TF_GROWTH_VAR not in os.environ and not threads["started"]:
            for gpu in tf.config.list_physical_devices("GPU"):
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except (RuntimeError, ValueError) as exc:  # pragma: no cover - GPU only
                    warnings.warn(
                        f"Could not turn on memory growth for {gpu.name}: {exc}",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                else:
                    grown.append(gpu.name)
        report = {**tensorflow_threads(), "source": source, "memory_growth": grown}
        del report["started"]
        _STATE.update(pid=pid, report=report)
        return report
