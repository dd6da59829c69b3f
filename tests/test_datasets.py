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


# --------------------------------------------------------------------------
# load_stdlib_docstrings
# --------------------------------------------------------------------------
from skcoteach import _stdlib_corpus  # noqa: E402
from skcoteach.datasets import STDLIB_PACKAGES, load_stdlib_docstrings  # noqa: E402


@pytest.fixture(scope="module")
def stdlib_corpus():
    return load_stdlib_docstrings()


def _write_source(root, relative, text):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def fake_stdlib(tmp_path):
    """A standard library of two packages, with test folders and repeated docstrings."""
    _write_source(tmp_path, "alpha/__init__.py", '"""Alpha package docstring here."""\n')
    _write_source(tmp_path, "alpha/core.py", (
        '"""Core module of alpha."""\n'
        "\n"
        "class Outer:\n"
        '    """The outer class."""\n'
        "\n"
        "    def method(self):\n"
        '        """A method with an inner function."""\n'
        "        def inner():\n"
        '            """Inner function docstring words."""\n'
        "        return inner\n"
        "\n"
        "    def other(self):\n"
        '        """A method with an inner function."""\n'
        "\n"
        "if True:\n"
        "    async def later():\n"
        '        """Shared   text between packages."""\n'
        "\n"
        "def short():\n"
        '    """Two words."""\n'
        "\n"
        "def undocumented():\n"
        "    pass\n"
    ))
    _write_source(tmp_path, "alpha/sub/__init__.py", '"""Sub package of alpha."""\n')
    _write_source(tmp_path, "alpha/test/__init__.py", '"""Tests of alpha, not documents."""\n')
    _write_source(tmp_path, "alpha/tests/helper.py", '"""More tests of alpha here."""\n')
    _write_source(tmp_path, "alpha/idle_test/x.py", '"""Yet more tests of alpha."""\n')
    _write_source(tmp_path, "alpha/test_core.py", '"""A test module of alpha."""\n')
    _write_source(tmp_path, "alpha/notes.txt", '"""Not a source file at all."""\n')
    _write_source(tmp_path, "beta/__init__.py", (
        '"""Beta: its docstring.\n\n    Indented second paragraph of it.\n    """\n'
        "def f():\n"
        '    """Shared text\n    between packages."""\n'
    ))
    _write_source(tmp_path, "test/__init__.py", '"""The test suite."""\n')
    _write_source(tmp_path, "site-packages/pkg/__init__.py", '"""Installed."""\n')
    _write_source(tmp_path, "single.py", '"""A module, not a package."""\n')
    return tmp_path


def test_stdlib_docstrings_of_a_fake_library(fake_stdlib):
    texts, labels, sources = _stdlib_corpus.collect_docstrings(fake_stdlib, ["beta", "alpha"], 3)
    # Sorted by file and line; tests, short texts and texts shared by two packages left out;
    # a text repeated in one package kept at its first place; docstrings cleaned.
    assert sources == [
        "alpha",
        "alpha.core",
        "alpha.core:Outer",
        "alpha.core:Outer.method",
        "alpha.core:Outer.method.<locals>.inner",
        "alpha.sub",
        "beta",
    ]
    assert labels.tolist() == ["alpha"] * 6 + ["beta"]
    assert texts[3] == "A method with an inner function."
    assert texts[-1] == "Beta: its docstring.\n\nIndented second paragraph of it."
    assert isinstance(labels, np.ndarray) and labels.dtype.kind == "U"
    # With min_words=1 the two-word docstring is in, at its line.
    _, _, sources = _stdlib_corpus.collect_docstrings(fake_stdlib, ["alpha"], 1)
    assert sources[-2:] == ["alpha.core:short", "alpha.sub"]
    # One package alone: the shared text has a single label again.
    texts, _, sources = _stdlib_corpus.collect_docstrings(fake_stdlib, ["alpha"], 3)
    assert "alpha.core:later" in sources and "Shared   text between packages." in texts


def test_stdlib_packages_of_a_fake_library(fake_stdlib):
    assert _stdlib_corpus.stdlib_packages(fake_stdlib) == ["alpha", "beta"]
    with pytest.raises(ValueError, match="'single' is not a package"):
        _stdlib_corpus.check_packages(["single"], _stdlib_corpus.stdlib_packages(fake_stdlib))


def test_stdlib_docstrings_labels_sources_and_determinism(stdlib_corpus):
    corpus = stdlib_corpus
    assert corpus.target_names == sorted(STDLIB_PACKAGES)
    assert len(corpus.data) == len(corpus.target) == len(corpus.source)
    assert isinstance(corpus.target, np.ndarray) and corpus.target.dtype.kind == "U"
    assert sorted(set(corpus.target.tolist())) == sorted(STDLIB_PACKAGES)
    counts = np.unique(corpus.target, return_counts=True)[1]
    assert counts.min() >= 50
    for text, label, source in zip(corpus.data, corpus.target, corpus.source):
        module = source.split(":")[0]
        assert module.split(".")[0] == label
        assert not {"test", "tests"} & set(module.split(".")), source
        assert isinstance(text, str) and text == text.strip()
    # No text twice (white space aside).  A source can repeat: a function defined
    # in both branches of an ``if`` has one qualname and two docstrings.
    assert len({" ".join(t.split()) for t in corpus.data}) == len(corpus.data)
    again = load_stdlib_docstrings()
    assert again.data == corpus.data and again.source == corpus.source
    assert_array_equal(again.target, corpus.target)
    texts, labels = load_stdlib_docstrings(return_X_y=True)
    assert texts == corpus.data
    assert_array_equal(labels, corpus.target)
    assert "Python" in corpus.DESCR and str(len(corpus.data)) in corpus.DESCR


def test_stdlib_docstrings_min_words_and_packages(stdlib_corpus):
    assert min(len(t.split()) for t in stdlib_corpus.data) >= 5
    longer = load_stdlib_docstrings(min_words=20)
    assert min(len(t.split()) for t in longer.data) >= 20
    assert 0 < len(longer.data) < len(stdlib_corpus.data)
    every = load_stdlib_docstrings(min_words=1)
    assert len(every.data) > len(stdlib_corpus.data)
    assert min(len(t.split()) for t in every.data) < 5
    two = load_stdlib_docstrings(packages=("logging", "email"))
    assert two.target_names == ["email", "logging"]
    in_corpus = np.isin(stdlib_corpus.target, ["email", "logging"])
    assert two.source == [s for s, keep in zip(stdlib_corpus.source, in_corpus) if keep]


def test_stdlib_docstrings_tfidf_logistic_regression(stdlib_corpus):
    # Learnable, but not trivially: clearly above the 1 / 8 of chance, below perfect.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline

    X_train, X_test, y_train, y_test = train_test_split(
        stdlib_corpus.data, stdlib_corpus.target, test_size=0.3,
        stratify=stdlib_corpus.target, random_state=0,
    )
    model = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(X_train, y_train)
    assert 0.6 < model.score(X_test, y_test) < 0.99


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"packages": ["email", "nosuchpackage"]}, ValueError, "'nosuchpackage' is not a package"),
        ({"packages": ["argparse"]}, ValueError, "'argparse' is not a package"),
        ({"packages": ["test"]}, ValueError, "'test' is not a package"),
        ({"packages": []}, ValueError, "at least one package"),
        ({"packages": ["email", "xml", "email"]}, ValueError, r"\['email'\] given more than once"),
        ({"packages": "email"}, TypeError, "not a single string"),
        ({"packages": ["email", 3]}, TypeError, "must be strings"),
        ({"packages": 3}, TypeError, "list of package names"),
        ({"min_words": 0}, ValueError, "at least 1"),
        ({"min_words": 2.5}, TypeError, "integer"),
        ({"min_words": True}, TypeError, "integer"),
    ],
)
def test_stdlib_docstrings_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        load_stdlib_docstrings(**kwargs)
