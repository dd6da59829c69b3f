"""Smoke tests of the asv suite in ``asv_benchmarks/`` and of its ``ratios.py``.

Every benchmark module is imported and its setup and benchmark methods run
in quick mode (``SKCOTEACH_ASV_QUICK=1``: a few hundred synthetic images, no
MNIST file needed).  Nothing here times anything.
"""

import importlib
import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SUITE = Path(__file__).resolve().parent.parent / "asv_benchmarks"


def _load(path, name, package=False):
    kwargs = {"submodule_search_locations": [str(path.parent)]} if package else {}
    spec = importlib.util.spec_from_file_location(name, path, **kwargs)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def suite():
    """The ``asv_benchmarks/benchmarks`` package, imported as ``asv_suite``."""
    if "asv_suite" not in sys.modules:
        _load(SUITE / "benchmarks" / "__init__.py", "asv_suite", package=True)
    return lambda name: importlib.import_module(f"asv_suite.{name}")


@pytest.fixture(autouse=True)
def quick_mode(monkeypatch):
    monkeypatch.setenv("SKCOTEACH_ASV_QUICK", "1")


def _methods(cls):
    prefixes = ("time_", "peakmem_", "track_", "timeraw_")
    return [name for name in dir(cls) if name.startswith(prefixes) and callable(getattr(cls, name))]


def run_benchmark(cls, combos=None):
    """Run ``setup_cache``, ``setup`` and every benchmark method as asv would, in-process.

    Returns the value of every method by (parameters, name).
    """
    bench = cls()
    combos = combos or list(itertools.product(*getattr(cls, "params", [])))
    if hasattr(cls, "params"):
        bench.params = [sorted(set(c[i] for c in combos), key=str) for i in range(len(combos[0]))]
    cache = (bench.setup_cache(),) if hasattr(bench, "setup_cache") else ()
    values = {}
    for params in combos:
        for name in _methods(cls):
            if hasattr(bench, "setup"):
                bench.setup(*cache, *params)
            values[params, name] = getattr(bench, name)(*cache, *params)
    return values


def test_quick_mode_data_is_small_and_learnable(suite):
    common = suite("common")
    X, y, X_test, y_test = common.load_data("cnn")
    assert X.shape[1:] == (28, 28, 1) and X.dtype == np.float32 and 0 <= X.min() <= X.max() <= 1
    assert len(X) == common.workload("cnn")["n_train"] < 1000
    assert common.load_data("mlp")[0].shape[1] == 784


@pytest.mark.parametrize("module, cls, combos", [
    ("coteaching", "CoTeaching", [("mlp", "coteaching"), ("cnn", "coteaching")]),
    ("baseline_fits", "PlainKeras", [("mlp",)]),
    pytest.param("baseline_fits", "TFLoop", None,
                 marks=pytest.mark.needs_tensorflow("the bare TensorFlow program")),
])
def test_estimator_benchmarks(suite, module, cls, combos):
    values = run_benchmark(getattr(suite(module), cls), combos)
    for (params, name), value in values.items():
        if name == "track_score":  # the MLP learns the blocks; the CNN barely starts
            assert value > 0.5 if params[0] == "mlp" else 0 <= value <= 1, (params, value)
        else:
            assert value is None


@pytest.mark.slow
def test_every_rule_and_workload(suite):
    values = run_benchmark(suite("coteaching").CoTeaching)
    assert {params for params, _ in values} == {
        (w, r) for w in ("mlp", "cnn") for r in ("coteaching", "coteaching_plus", "jocor")
    }


def test_torch_loop(suite):
    pytest.importorskip("torch")
    values = run_benchmark(suite("baseline_fits").TorchLoop)
    assert values[("mlp",), "track_score"] > 0.5


def test_torch_loop_skips_without_torch(suite, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    bench = suite("baseline_fits").TorchLoop()
    assert bench.setup_cache() == {}
    with pytest.raises(NotImplementedError):
        bench.setup({}, "mlp")


def test_notebook_loop_is_only_timed(suite):
    cls = suite("baseline_fits").NotebookLoop
    assert _methods(cls) == ["time_fit"]
    run_benchmark(cls, [("cnn",)])


@pytest.mark.needs_tensorflow("the bare TensorFlow program without selection (tfloop_noselect)")
def test_notebook_and_plain_loops_train(suite):
    baselines = suite("baselines")
    X, y, X_test, y_test = suite("common").load_data("mlp")
    for method in ("notebook", "tfloop_noselect"):
        fitted = baselines.LoopBaseline(method, epochs=2, batch_size=64).fit(X, y)
        proba = fitted.predict_proba(X_test)
        assert proba.shape == (len(X_test), 10)
        assert np.mean(proba.argmax(1) == y_test) > 0.5


@pytest.mark.needs_tensorflow("the matmul rate is measured with TensorFlow's GEMMs")
def test_compute_floor(suite):
    floor = run_benchmark(suite("floor").ComputeFloor)
    assert floor[(), "track_floor_seconds"] > 0 and floor[(), "track_matmul_gflops"] > 0


def test_imports(suite):
    imports = run_benchmark(suite("imports").Import)
    assert imports[(), "track_tensorflow_imported"] == 0
    for name in ("timeraw_import_skcoteach", "timeraw_import_sklearn"):
        subprocess.run([sys.executable, "-c", imports[(), name]], check=True)


def test_search_and_sparse(suite):
    search = run_benchmark(suite("search").GridSearch,
                           [("GridSearchCV", 1), ("CoTeachingGridSearchCV", 1)])
    assert all(v is None for (_, name), v in search.items() if name == "time_fit")
    sparse = run_benchmark(suite("sparse").SparseFit)
    assert sparse[(), "peakmem_fit"] is None and "time_fit" not in _methods(suite("sparse").SparseFit)


def test_mnist_search_runs_on_this_process_backend_and_skips_the_other(suite):
    import keras

    search = suite("search")
    here = keras.backend.backend()
    values = run_benchmark(search.GridSearchMNIST,
                           [("GridSearchCV", here), ("CoTeachingGridSearchCV", here)])
    assert values == {((s, here), "time_fit"): None
                      for s in ("GridSearchCV", "CoTeachingGridSearchCV")}
    bench = search.GridSearchMNIST()
    bench.setup("CoTeachingGridSearchCV", here)
    sizes = search.mnist_search()
    assert bench.X.shape == (sizes["n_train"], 784) and bench.X.dtype == np.float32
    assert 0 <= bench.X.min() <= bench.X.max() <= 1
    clean = suite("common")._images(True)[0][1][: sizes["n_train"]]
    assert 0.2 < np.mean(bench.y != clean) < 0.6  # 40% symmetric noise (flips to 9 of 10)
    assert type(bench.estimator).__name__ == "CoTeachingGridSearchCV"
    assert (bench.estimator.param_grid, bench.estimator.cv) == (sizes["grid"], sizes["cv"])
    assert bench.estimator.estimator.get_params()["epochs"] == sizes["epochs"]
    other = "jax" if here == "tensorflow" else "tensorflow"
    with pytest.raises(NotImplementedError):  # asv's skip: Keras already runs another backend
        search.GridSearchMNIST().setup("GridSearchCV", other)
    full = search.MNIST_SEARCH
    assert (full["n_train"], full["epochs"], full["batch_size"], full["cv"]) == (6000, 6, 128, 3)
    assert full["grid"] == {"tau": [0.3, 0.4, 0.5], "Tk": [5, 10]}


def _fake_results():
    """An asv result file (format version 2) of a few benchmarks, numbers made up."""
    cols = ["result", "params", "version", "started_at", "duration"]
    lib_grid = [["'mlp'", "'cnn'"], ["'coteaching'", "'coteaching_plus'", "'jocor'"]]
    return {
        "commit_hash": "0123456789abcdef", "params": {"machine": "fake"}, "version": 2,
        "result_columns": cols,
        "results": {
            "coteaching.CoTeaching.time_fit": [[4.0, 3.0, None, 10.0, 12.0, 9.0], lib_grid],
            "baseline_fits.PlainKeras.time_fit": [[8.0, 20.0], [["'mlp'", "'cnn'"]]],
            "baseline_fits.TFLoop.time_fit": [[3.0, 2.5], [["'mlp'"], ["True", "False"]]],
            "floor.ComputeFloor.track_floor_seconds": [[2.0], []],
            "imports.Import.timeraw_import_skcoteach": [[1.2], []],
            "imports.Import.timeraw_import_sklearn": [[1.0], []],
            "imports.Import.track_tensorflow_imported": [[0], []],
            "search.GridSearchMNIST.time_fit": [
                [50.0, 90.0, 40.0, 100.0],
                [["'GridSearchCV'", "'CoTeachingGridSearchCV'"], ["'tensorflow'", "'jax'"]],
            ],
        },
    }


def test_ratios_of_a_fake_run(tmp_path):
    ratios = _load(SUITE / "ratios.py", "asv_ratios")
    rows = {row["id"]: row for row in ratios.compute(_fake_results()["results"])}
    assert rows["1a"]["ratio"] == pytest.approx(0.5) and rows["1a"]["status"] == "PASS"
    assert rows["1a[coteaching_plus]"]["ratio"] == pytest.approx(3 / 8)
    assert rows["1a[jocor]"]["status"] == "not run"  # a failed benchmark is None
    assert rows["1b[jocor]"]["ratio"] == pytest.approx(9 / 20)
    assert rows["7"]["ratio"] == pytest.approx(2.0) and rows["7"]["status"] == "FAIL"
    assert rows["7b"]["ratio"] == pytest.approx(4 / 3) and rows["7b"]["status"] == "info"
    assert rows["6"]["ratio"] == pytest.approx(1.2) and rows["6b"]["status"] == "PASS"
    assert rows["3"]["status"] == "not run"
    assert rows["S4"]["ratio"] == pytest.approx(40 / 50) and rows["S4"]["status"] == "PASS"
    assert rows["S5"]["ratio"] == pytest.approx(100 / 90) and rows["S5"]["status"] == "FAIL"
    assert rows["S3"]["status"] == "not run"
    path, out = tmp_path / "run.json", tmp_path / "results.md"
    path.write_text(json.dumps(_fake_results()))
    proc = subprocess.run([sys.executable, str(SUITE / "ratios.py"), str(path), "--markdown",
                           str(out)], capture_output=True, text=True, check=True)
    assert proc.stdout == out.read_text()
    assert "| 1a | MLP fit / 2 plain Keras fits | 4 s | 8 s | 0.50x | <= 0.6x | PASS |" in proc.stdout


def test_backend_epoch_runs_on_this_process_backend_and_skips_the_other(suite):
    import keras

    backends = suite("backends")
    here = keras.backend.backend()
    epoch = run_benchmark(backends.Epoch, [(here,)])
    assert epoch == {((here,), "time_epochs"): None}
    other = "jax" if here == "tensorflow" else "tensorflow"
    before = os.environ.get("KERAS_BACKEND")
    with pytest.raises(NotImplementedError):  # asv's skip: Keras already runs another backend
        backends.Epoch().setup(other)
    assert os.environ.get("KERAS_BACKEND") == before  # subprocesses of later tests unchanged
