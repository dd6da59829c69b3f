"""Tests for skcoteach.datasets, using small temporary .npz files (no download)."""

import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skcoteach.datasets import load_fashion_mnist, load_mnist

LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist}
FILE_VARS = {"mnist": "SKCOTEACH_MNIST", "fashion_mnist": "SKCOTEACH_FASHION_MNIST"}
SHARED_DATA = Path("/work/shared/data")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Ignore data-location variables of the machine running the tests."""
    for var in ("SKCOTEACH_DATA", *FILE_VARS.values()):
        monkeypatch.delenv(var, raising=False)


def _fake_arrays(seed=0, n_train=5, n_test=3):
    rng = np.random.RandomState(seed)
    return {
        "x_train": rng.randint(0, 256, size=(n_train, 28, 28)).astype(np.uint8),
        "y_train": rng.randint(0, 10, size=n_train).astype(np.int64),
        "x_test": rng.randint(0, 256, size=(n_test, 28, 28)).astype(np.uint8),
        "y_test": rng.randint(0, 10, size=n_test).astype(np.int64),
    }


def _write(path, **arrays):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return path


def _assert_layout(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for name, value in [
        ("x_train", x_train),
        ("y_train", y_train),
        ("x_test", x_test),
        ("y_test", y_test),
    ]:
        assert isinstance(value, np.ndarray)
        assert value.dtype == arrays[name].dtype
        assert_array_equal(value, arrays[name])


@pytest.fixture(params=["mnist", "fashion_mnist"])
def name(request):
    return request.param


# ---------------------------------------------------------------------------
# explicit path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("as_path", [str, Path])
def test_load_from_file_path(tmp_path, name, as_path):
    arrays = _fake_arrays()
    file = _write(tmp_path / "anything.npz", **arrays)
    _assert_layout(LOADERS[name](as_path(file)), arrays)


def test_load_from_directory(tmp_path, name):
    arrays = _fake_arrays(seed=1)
    _write(tmp_path / f"{name}.npz", **arrays)
    _assert_layout(LOADERS[name](tmp_path), arrays)


def test_directory_picks_the_right_file(tmp_path):
    mnist, fashion = _fake_arrays(seed=1), _fake_arrays(seed=2)
    _write(tmp_path / "mnist.npz", **mnist)
    _write(tmp_path / "fashion_mnist.npz", **fashion)
    _assert_layout(load_mnist(tmp_path), mnist)
    _assert_layout(load_fashion_mnist(str(tmp_path)), fashion)


def test_uint8_labels_are_accepted(tmp_path):
    arrays = _fake_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.uint8)  # as keras returns
    _assert_layout(load_mnist(_write(tmp_path / "m.npz", **arrays)), arrays)


def test_missing_path_raises_file_not_found(tmp_path, name):
    missing = tmp_path / "nope.npz"
    match = r"No such file: .*nope\.npz.*given as path"
    with pytest.raises(FileNotFoundError, match=match):
        LOADERS[name](missing)


def test_directory_without_file_raises_file_not_found(tmp_path, name):
    with pytest.raises(FileNotFoundError, match=rf"{name}\.npz"):
        LOADERS[name](tmp_path)


def test_missing_keys_raise_value_error_listing_found_keys(tmp_path, name):
    arrays = _fake_arrays()
    file = _write(tmp_path / "bad.npz", x_train=arrays["x_train"], labels=arrays["y_train"])
    with pytest.raises(
        ValueError,
        match=r"missing \['y_train', 'x_test', 'y_test'\], "
        r"found \['labels', 'x_train'\]",
    ):
        LOADERS[name](file)


@pytest.mark.parametrize(
    "key, value, match",
    [
        (
            "x_train",
            np.zeros((5, 28, 28), np.float32),
            r"x_train must be a uint8 array of shape \(n, 28, 28\); got dtype float32",
        ),
        (
            "x_test",
            np.zeros((3, 32, 32), np.uint8),
            r"x_test must .* shape \(3, 32, 32\)",
        ),
        (
            "y_train",
            np.zeros(4, np.int64),
            r"y_train must be an integer array of shape",
        ),
        ("y_test", np.zeros(3, np.float64), "y_test must be an integer array"),
    ],
)
def test_wrong_shapes_or_dtypes(tmp_path, key, value, match):
    arrays = _fake_arrays()
    arrays[key] = value
    with pytest.raises(ValueError, match=match):
        load_mnist(_write(tmp_path / "m.npz", **arrays))


def test_not_an_npz_archive(tmp_path):
    text = tmp_path / "mnist.npz"
    text.write_text("not a zip file")
    with pytest.raises(ValueError, match="is not a readable .npz archive"):
        load_mnist(text)
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array, not a .npz archive"):
        load_mnist(npy)


# ---------------------------------------------------------------------------
# environment variables
# ---------------------------------------------------------------------------


def test_file_environment_variable(tmp_path, monkeypatch, name):
    arrays = _fake_arrays(seed=3)
    file = _write(tmp_path / "elsewhere" / "data.npz", **arrays)
    monkeypatch.setenv(FILE_VARS[name], str(file))
    _assert_layout(LOADERS[name](), arrays)


def test_directory_environment_variable(tmp_path, monkeypatch, name):
    arrays = _fake_arrays(seed=4)
    _write(tmp_path / f"{name}.npz", **arrays)
    monkeypatch.setenv("SKCOTEACH_DATA", str(tmp_path))
    _assert_layout(LOADERS[name](), arrays)


def test_resolution_order(tmp_path, monkeypatch):
    explicit, by_file_var, by_dir_var = (_fake_arrays(seed=s) for s in (1, 2, 3))
    explicit_file = _write(tmp_path / "explicit.npz", **explicit)
    var_file = _write(tmp_path / "var.npz", **by_file_var)
    _write(tmp_path / "dir" / "mnist.npz", **by_dir_var)
    monkeypatch.setenv("SKCOTEACH_MNIST", str(var_file))
    monkeypatch.setenv("SKCOTEACH_DATA", str(tmp_path / "dir"))

    _assert_layout(load_mnist(explicit_file), explicit)  # path beats env vars
    _assert_layout(load_mnist(), by_file_var)  # file var beats directory var
    monkeypatch.delenv("SKCOTEACH_MNIST")
    _assert_layout(load_mnist(), by_dir_var)


def test_file_environment_variable_missing_file(tmp_path, monkeypatch, name):
    monkeypatch.setenv(FILE_VARS[name], str(tmp_path / "gone.npz"))
    with pytest.raises(FileNotFoundError, match=rf"gone\.npz.*from \${FILE_VARS[name]}"):
        LOADERS[name]()


def test_directory_environment_variable_missing_file(tmp_path, monkeypatch, name):
    monkeypatch.setenv("SKCOTEACH_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=rf"{name}\.npz.*from \$SKCOTEACH_DATA"):
        LOADERS[name]()


def test_empty_environment_variables_are_ignored(monkeypatch, name):
    monkeypatch.setenv(FILE_VARS[name], "")
    monkeypatch.setenv("SKCOTEACH_DATA", "")
    calls = _install_fake_keras(monkeypatch)
    LOADERS[name]()
    assert calls == [name]


# ---------------------------------------------------------------------------
# Keras fallback (a fake ``keras`` module: nothing is downloaded)
# ---------------------------------------------------------------------------


def _install_fake_keras(monkeypatch, error=None):
    calls = []

    def loader(name):
        def load_data():
            calls.append(name)
            if error is not None:
                raise error
            arrays = _fake_arrays(seed=9)
            return (
                (arrays["x_train"], arrays["y_train"]),
                (arrays["x_test"], arrays["y_test"]),
            )

        return types.SimpleNamespace(load_data=load_data)

    fake = types.ModuleType("keras")
    fake.datasets = types.SimpleNamespace(
        mnist=loader("mnist"), fashion_mnist=loader("fashion_mnist")
    )
    monkeypatch.setitem(sys.modules, "keras", fake)
    return calls


def test_fallback_uses_keras_load_data(monkeypatch, name):
    calls = _install_fake_keras(monkeypatch)
    result = LOADERS[name]()
    assert calls == [name]
    _assert_layout(result, _fake_arrays(seed=9))


def test_failed_download_explains_local_alternatives(monkeypatch, name):
    cause = OSError("network is unreachable")
    _install_fake_keras(monkeypatch, error=cause)
    with pytest.raises(RuntimeError, match="network is unreachable") as excinfo:
        LOADERS[name]()
    message = str(excinfo.value)
    for hint in (
        f"load_{name}(path=",
        f"{name}.npz",
        FILE_VARS[name],
        "SKCOTEACH_DATA",
    ):
        assert hint in message
    assert excinfo.value.__cause__ is cause


def test_keras_not_installed(monkeypatch, name):
    monkeypatch.setitem(sys.modules, "keras", None)  # makes `import keras` fail
    with pytest.raises(ImportError, match=rf"No local {name}\.npz .*{FILE_VARS[name]}"):
        LOADERS[name]()


# ---------------------------------------------------------------------------
# import hygiene and the real files
# ---------------------------------------------------------------------------


def test_modules_do_not_import_tensorflow_or_keras():
    # In a fresh interpreter: the noise and dataset modules (and the helper
    # modules they import) load without TensorFlow or Keras.
    code = (
        "import sys\n"
        "import skcoteach.noise, skcoteach.datasets\n"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.skipif(
    not (SHARED_DATA / "mnist.npz").is_file() or not (SHARED_DATA / "fashion_mnist.npz").is_file(),
    reason="shared MNIST / Fashion-MNIST files not available",
)
def test_shared_files_have_keras_layout():
    (x_train, y_train), (x_test, y_test) = load_mnist(SHARED_DATA)
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(
        os.fspath(SHARED_DATA / "fashion_mnist.npz")
    )
    assert x_train.shape == (60000, 28, 28) and y_test.shape == (10000,)
    assert np.bincount(y_train).tolist() == [6000] * 10
