"""Many fits at once: joblib (loky), Dask and Ray workers, and skcoteach.parallel.

The Dask and Ray tests start real local clusters (once per module) and skip
only when the ``dask`` / ``ray`` extra is not installed.  Checks that need a
fresh TensorFlow runtime run in a subprocess.
"""

import functools
import json
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skcoteach
from skcoteach import CoTeachingClassifier
from skcoteach.parallel import TF_THREAD_VARS, set_tensorflow_threads

from .conftest import tiny_mlp

pytestmark = pytest.mark.slow  # starts Dask and Ray clusters and worker processes

FAST = dict(epochs=2, batch_size=64, optimizer__learning_rate=0.01, random_state=0)
GRID = {"coteachingclassifier__tau": [0.1, 0.4], "coteachingclassifier__Tk": [1, 5]}
N_WORKERS = 2
# Subprocesses import the skcoteach under test; Ray's workers also these tests.
PKG_ROOT = pathlib.Path(skcoteach.__file__).parents[1]
TESTS_ROOT = pathlib.Path(__file__).parents[1]

def _run(code, env=None, args=(), timeout=300):
    """Run ``code`` in a fresh interpreter; return its last stdout line as JSON."""
    # Only the thread settings given here: none from the environment of the tests.
    unset = dict.fromkeys(["OMP_NUM_THREADS", *TF_THREAD_VARS, "TF_FORCE_GPU_ALLOW_GROWTH"])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **unset, **(env or {})}
    for name in [k for k, v in env.items() if v is None]:
        env.pop(name)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PKG_ROOT,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _small(digits):
    X, y, X_test, _ = digits
    return X[:300], y[:300], X_test[:100]


def recording_mlp(meta, record_dir, hidden=16):
    """``tiny_mlp`` that writes the TensorFlow threads of its process to ``record_dir``."""
    from skcoteach.parallel import tensorflow_threads

    model = tiny_mlp(meta, hidden=hidden)  # TensorFlow's runtime has started
    record = {**tensorflow_threads(), "omp": os.environ.get("OMP_NUM_THREADS")}
    path = pathlib.Path(record_dir) / f"{os.getpid()}.json"
    path.write_text(json.dumps(record))
    return model


def _worker_threads(digits, record_dir, backend, n_jobs=N_WORKERS):
    """TensorFlow's threads in each worker process that fitted in a cross-validation."""
    X, y, _ = _small(digits)
    clf = CoTeachingClassifier(functools.partial(recording_mlp, record_dir=str(record_dir)), **FAST)
    with joblib.parallel_config(backend=backend):
        cross_validate(clf, X, y, cv=2, n_jobs=n_jobs)
    records = [json.loads(p.read_text()) for p in pathlib.Path(record_dir).glob("*.json")]
    assert records
    return records


def _search(n_jobs=1, search=GridSearchCV):
    pipe = make_pipeline(StandardScaler(), CoTeachingClassifier(tiny_mlp, **FAST))
    return search(pipe, GRID, cv=2, n_jobs=n_jobs)


def _fit_and_predict(X, y, X_test, random_state):
    """Fit in a worker; return the estimator and what it predicted there."""
    clf = CoTeachingClassifier(tiny_mlp, **{**FAST, "random_state": random_state}).fit(X, y)
    return clf, clf.predict_proba(X_test), os.getpid()


@pytest.fixture(scope="module")
def serial_search(digits):
    X, y, _ = _small(digits)
    return _search().fit(X, y)


def _assert_same_search(search, serial):
    assert search.best_params_ == serial.best_params_
    for key in ("mean_test_score", "split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(search.cv_results_[key], serial.cv_results_[key])


def _assert_travel_back(results, X_test, n_workers_min=1):
    pids = {pid for _, _, pid in results}
    assert len(pids) >= n_workers_min and os.getpid() not in pids
    for clf, proba_in_worker, _ in results:
        again = pickle.loads(pickle.dumps(clf))
        for est in (clf, again):
            np.testing.assert_allclose(est.predict_proba(X_test), proba_in_worker, atol=1e-6)
            np.testing.assert_array_equal(
                est.predict(X_test), clf.classes_[np.argmax(proba_in_worker, axis=1)]
            )


# ----------------------------------------------------------------------------
# skcoteach.parallel in a fresh process
# ----------------------------------------------------------------------------
def test_import_changes_nothing_and_does_not_import_tensorflow():
    out = _run(
        """
        import json, os, sys
        before = dict(os.environ)
        import skcoteach, skcoteach.parallel
        print(json.dumps({"tf": "tensorflow" in sys.modules, "env": dict(os.environ) == before}))
        """
    )
    assert out == {"tf": False, "env": True}


CONFIGURE = """
    import json
    from skcoteach.parallel import configure_tensorflow, tensorflow_threads
    first = configure_tensorflow()
    import tensorflow as tf
    tf.constant(1.0) + 1.0  # the runtime starts with the pools set above
    again = configure_tensorflow()
    print(json.dumps({"first": first, "again": again, "now": tensorflow_threads()}))
"""


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"OMP_NUM_THREADS": "1"}, (1, 1, "OMP_NUM_THREADS")),  # loky/Dask with 1 thread
        ({}, (0, 0, "default")),  # no signal: TensorFlow's default, all cores
        ({"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "2"}, (0, 0, "TF_NUM_INTRAOP_THREADS")),
        ({"OMP_NUM_THREADS": "junk"}, (0, 0, "default")),
    ],
)
def test_configure_sizes_threads_from_the_engine_signal(env, expected):
    out = _run(CONFIGURE, env=env)
    intra, inter, source = expected
    first = out["first"]
    assert (first["intra_op"], first["inter_op"], first["source"]) == (intra, inter, source)
    assert first["memory_growth"] == []  # no GPU here
    assert out["again"] == first  # idempotent
    assert out["now"] == {"intra_op": intra, "inter_op": inter, "started": True}


def test_user_settings_win_and_started_runtime_is_left_alone():
    out = _run(
        """
        import json
        from skcoteach.parallel import (
            configure_tensorflow, set_tensorflow_threads, tensorflow_threads)
        set_tensorflow_threads(2)                 # the user's choice, before any fit
        report = configure_tensorflow()           # keeps it despite OMP_NUM_THREADS=1
        import tensorflow as tf
        tf.constant(1.0) + 1.0
        same = set_tensorflow_threads(2, 2)       # no change asked: fine after start
        try:
            set_tensorflow_threads(1)
        except RuntimeError as exc:
            error = str(exc)
        print(json.dumps({"report": report, "same": same, "error": error}))
        """,
        env={"OMP_NUM_THREADS": "1"},
    )
    assert out["report"]["source"] == "tf.config.threading"
    assert (out["report"]["intra_op"], out["report"]["inter_op"]) == (2, 2)
    assert out["same"]["started"]
    assert "already started" in out["error"] and "TF_NUM_INTRAOP_THREADS" in out["error"]

    started = _run(
        """
        import json
        import tensorflow as tf
        tf.constant(1.0) + 1.0                    # the user ran TensorFlow first
        from skcoteach.parallel import configure_tensorflow
        print(json.dumps(configure_tensorflow()))
        """,
        env={"OMP_NUM_THREADS": "1"},
    )
    assert (started["source"], started["intra_op"], started["memory_growth"]) == (
        "started",
        0,
        [],
    )


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_set_tensorflow_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="positive int"):
        set_tensorflow_threads(bad)
    with pytest.raises(ValueError, match="inter_op must be a positive int"):
        set_tensorflow_threads(1, bad)


GPUS = """
    import json, os
    import tensorflow as tf
    from tensorflow.python.eager.context import PhysicalDevice
    from skcoteach import parallel
    from skcoteach.backends.tensorflow import _runtime

    gpus = [PhysicalDevice(f"/physical_device:GPU:{i}", "GPU") for i in range(2)]
    real_list = tf.config.list_physical_devices
    tf.config.list_physical_devices = lambda kind=None: (
        gpus if kind == "GPU" else real_list(kind))
    calls = []
    tf.config.experimental.set_memory_growth = lambda d, on: calls.append([d.name, on])
    report = parallel.configure_tensorflow()
    out = {"report": report, "calls": calls}
    # TensorFlow's own variable set: left to TensorFlow (a fresh process in effect).
    os.environ["TF_FORCE_GPU_ALLOW_GROWTH"] = "false"
    _runtime._STATE["pid"] = None
    calls = []
    report = parallel.configure_tensorflow()
    print(json.dumps({"default": out, "env": {"report": report, "calls": calls}}))
"""


def test_memory_growth_for_every_gpu_unless_tensorflow_variable_set():
    out = _run(GPUS)
    names = ["/physical_device:GPU:0", "/physical_device:GPU:1"]
    assert out["default"]["calls"] == [[n, True] for n in names]
    assert out["default"]["report"]["memory_growth"] == names
    assert out["env"]["calls"] == [] and out["env"]["report"]["memory_growth"] == []


# ----------------------------------------------------------------------------
# Fork: after `import skcoteach` (supported), after TensorFlow ran (refused)
# ----------------------------------------------------------------------------
FORK = """
    import json, multiprocessing, pickle, sys
    import numpy as np
    from sklearn.datasets import load_digits
    import skcoteach
    from skcoteach import CoTeachingClassifier
    from skcoteach.parallel import configure_tensorflow
    X, y = load_digits(return_X_y=True)
    X = X / 16.0

    def fit(seed):
        report = configure_tensorflow()  # skcoteach's first TensorFlow import
        clf = CoTeachingClassifier(epochs=1, random_state=seed).fit(X[:300], y[:300])
        return pickle.dumps(clf), clf.predict_proba(X[300:400]), report

    def probe(_):
        try:
            configure_tensorflow()
        except RuntimeError as exc:
            return str(exc)
        return "no error"

    if __name__ == "__main__":
        mode = sys.argv[1]
        if mode == "tf-ran":
            configure_tensorflow()
            import tensorflow as tf
            tf.constant(1.0) + 1.0
        tf_before = "tensorflow" in sys.modules
        with multiprocessing.get_context("fork").Pool(2) as pool:
            if mode == "tf-ran":
                print(json.dumps({"errors": pool.map_async(probe, [0, 1]).get(120)}))
                sys.exit()
            results = pool.map_async(fit, [0, 1]).get(240)
        same = [
            bool(np.allclose(pickle.loads(blob).predict_proba(X[300:400]), proba, atol=1e-6))
            for blob, proba, _ in results
        ]
        print(json.dumps({"tf_before": tf_before, "same": same,
                          "reports": [r for _, _, r in results]}))
"""


def _run_fork(mode):
    return _run(FORK, env={"OMP_NUM_THREADS": "1"}, args=[mode])


@pytest.mark.skipif(sys.platform != "linux", reason="the 'fork' start method on Linux")
def test_fork_after_import_skcoteach_is_supported():
    out = _run_fork("import-only")
    assert out["tf_before"] is False
    assert out["same"] == [True, True]
    assert [r["intra_op"] for r in out["reports"]] == [1, 1]


@pytest.mark.skipif(sys.platform != "linux", reason="the 'fork' start method on Linux")
def test_fork_after_tensorflow_ran_raises_instead_of_hanging():
    errors = _run_fork("tf-ran")["errors"]
    assert len(errors) == 2
    for message in errors:
        assert "not fork-safe" in message and "spawn" in message


# ----------------------------------------------------------------------------
# Memory of a long-lived worker
# ----------------------------------------------------------------------------
RSS = """
    import gc, json, os
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops
    from skcoteach import CoTeachingClassifier

    X, y = load_digits(return_X_y=True)

    def rss_mb():
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    rss, functions, gradients = [], [], []
    for i in range(24):
        pipe = make_pipeline(StandardScaler(), CoTeachingClassifier(epochs=1, random_state=i))
        pipe.fit(X[:600], y[:600]).score(X[600:900], y[600:900])
        del pipe
        gc.collect()
        rss.append(rss_mb())
        functions.append(len(context.context().list_function_names()))
        gradients.append(len(ops._gradient_registry.list()))
    print(json.dumps({"rss": rss, "functions": functions, "gradients": gradients}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads /proc/self/statm")
def test_a_worker_frees_each_fit_and_its_memory_stays_flat_over_20_fits():
    out = _run(RSS)
    # Nothing of a finished fit stays registered with TensorFlow: Keras's
    # optimizer used to register a gradient function per traced step (its
    # all-reduce over one replica), which kept every fit's graph alive.
    assert len(set(out["functions"])) == 1, out["functions"]
    assert len(set(out["gradients"])) == 1, out["gradients"]
    # Measured (TF 2.21, Keras 3.15): +4.9 MB per fit before; 0.01-0.13 MB
    # per fit now (kernel cache released every 8 fits).  Fits 4-24: the
    # first fits also load code and warm allocator arenas.
    rss = np.array(out["rss"])
    slope = np.polyfit(np.arange(4, len(rss)), rss[4:], 1)[0]
    assert slope < 1.5, rss.round(1).tolist()


def test_the_kernel_cache_is_released_every_few_fits_when_no_fit_runs(monkeypatch):
    from skcoteach.backends.tensorflow import _training

    calls = []
    monkeypatch.setattr(_training, "clear_kernel_cache", lambda: calls.append(1))
    monkeypatch.setitem(_training._FITS, "finished", 0)
    every = _training.RELEASE_KERNELS_EVERY
    for _ in range(2 * every):
        with _training.counted_fit():
            pass
    assert len(calls) == 2
    # A fit that ends while another runs (threads) leaves the cache alone.
    with _training.counted_fit():
        for _ in range(every):
            with _training.counted_fit():
                pass
    assert len(calls) == 2 and _training._FITS["running"] == 0


def test_the_optimizer_still_sums_gradients_under_a_strategy():
    import keras
    import tensorflow as tf

    from skcoteach.backends.tensorflow._compat import without_default_all_reduce

    optimizer = without_default_all_reduce(keras.optimizers.SGD())
    grads_and_vars = [(tf.constant([1.0]), tf.Variable([0.0]))]
    # No strategy: the pairs as given (the sum over one replica).
    assert optimizer._all_reduce_sum_gradients(grads_and_vars) == grads_and_vars
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        called = []
        original = type(optimizer)._all_reduce_sum_gradients

        def spy(self, pairs):
            called.append(1)
            return original(self, pairs)

        try:
            type(optimizer)._all_reduce_sum_gradients = spy
            optimizer._all_reduce_sum_gradients(grads_and_vars)
        finally:
            type(optimizer)._all_reduce_sum_gradients = original
    assert called == [1]


# ----------------------------------------------------------------------------
# joblib's default backend (loky)
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_loky():
    """Loky workers started for this module, with no TensorFlow running yet."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor(kill_workers=True).shutdown(wait=True)
    yield
    get_reusable_executor(kill_workers=True).shutdown(wait=True)


def test_loky_workers_size_tensorflow_threads(digits, fresh_loky, tmp_path):
    for record in _worker_threads(digits, tmp_path, "loky"):
        assert record["omp"] == str(max(os.cpu_count() // N_WORKERS, 1))
        assert record["intra_op"] == record["inter_op"] == int(record["omp"])


def test_loky_search_and_estimators_travel_back(digits, serial_search, fresh_loky):
    X, y, X_test = _small(digits)
    _assert_same_search(_search(n_jobs=N_WORKERS).fit(X, y), serial_search)
    results = joblib.Parallel(n_jobs=N_WORKERS)(
        joblib.delayed(_fit_and_predict)(X, y, X_test, seed) for seed in range(2)
    )
    _assert_travel_back(results, X_test)


# ----------------------------------------------------------------------------
# Dask
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("distributed", reason="the 'dask' extra is not installed")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_search_matches_serial(digits, serial_search, dask_client):
    X, y, _ = _small(digits)
    with joblib.parallel_config(backend="dask"):
        search = _search(n_jobs=-1).fit(X, y)
    _assert_same_search(search, serial_search)


def test_dask_runs_the_groups_of_coteaching_grid_search(digits, serial_search, dask_client):
    from skcoteach.model_selection import CoTeachingGridSearchCV

    X, y, _ = _small(digits)
    with joblib.parallel_config(backend="dask"):
        search = _search(n_jobs=-1, search=CoTeachingGridSearchCV).fit(X, y)
    _assert_same_search(search, serial_search)
    assert search.n_fits_together_ == [4, 4]  # 4 candidates x 2 folds, one share per worker


def test_dask_estimators_travel_back_and_predict_identically(digits, dask_client):
    X, y, X_test = _small(digits)
    with joblib.parallel_config(backend="dask"):
        results = joblib.Parallel()(
            joblib.delayed(_fit_and_predict)(X, y, X_test, seed) for seed in range(4)
        )
    _assert_travel_back(results, X_test)
    assert {pid for _, _, pid in results} <= set(dask_client.run(os.getpid).values())


def test_dask_workers_size_tensorflow_threads(digits, dask_client, tmp_path):
    for record in _worker_threads(digits, tmp_path, "dask", n_jobs=-1):  # Dask's nanny sets OMP_NUM_THREADS=1
        assert (record["omp"], record["intra_op"], record["inter_op"]) == ("1", 1, 1)


# ----------------------------------------------------------------------------
# Ray
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_backend():
    ray = pytest.importorskip("ray", reason="the 'ray' extra is not installed")
    from ray.util.joblib import register_ray

    ray.init(
        num_cpus=N_WORKERS,
        include_dashboard=False,
        log_to_driver=False,
        # Workers import the tests (tiny_mlp, recording_mlp) like the driver.
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join([str(TESTS_ROOT), *sys.path])}},
    )
    register_ray()
    yield ray
    ray.shutdown()


def test_ray_search_matches_serial(digits, serial_search, ray_backend):
    X, y, _ = _small(digits)
    with joblib.parallel_config(backend="ray"):
        search = _search(n_jobs=N_WORKERS).fit(X, y)
    _assert_same_search(search, serial_search)


def test_ray_runs_the_groups_of_coteaching_grid_search(digits, serial_search, ray_backend):
    from skcoteach.model_selection import CoTeachingGridSearchCV

    X, y, _ = _small(digits)
    with joblib.parallel_config(backend="ray"):
        search = _search(n_jobs=N_WORKERS, search=CoTeachingGridSearchCV).fit(X, y)
    _assert_same_search(search, serial_search)
    assert search.n_fits_together_ == [4, 4]


def test_ray_estimators_travel_back_and_predict_identically(digits, ray_backend):
    X, y, X_test = _small(digits)
    with joblib.parallel_config(backend="ray"):
        results = joblib.Parallel(n_jobs=N_WORKERS)(
            joblib.delayed(_fit_and_predict)(X, y, X_test, seed) for seed in range(4)
        )
    _assert_travel_back(results, X_test)


def test_ray_workers_size_tensorflow_threads(digits, ray_backend, tmp_path):
    for record in _worker_threads(digits, tmp_path, "ray"):  # Ray sets OMP_NUM_THREADS to the task's num_cpus (1)
        assert (record["omp"], record["intra_op"], record["inter_op"]) == ("1", 1, 1)
