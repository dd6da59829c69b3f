"""The layout rules of the package, read from its source (issue 27).

Every import of TensorFlow lives under ``skcoteach/backends/``; every private
API of a dependency is imported by a ``_compat`` module; no module is longer
than 450 lines.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "skcoteach"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 450


def _imported_modules(path):
    """The absolute module names a file imports (``from . import x`` is skipped)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _relative(path):
    return path.relative_to(PACKAGE.parent).as_posix()


def test_the_package_has_modules():
    assert len(MODULES) > 30
    assert (PACKAGE / "backends" / "tensorflow" / "_ensemble.py") in MODULES


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_only_the_backends_import_tensorflow(path):
    tensorflow = [m for m in _imported_modules(path) if m.split(".")[0] == "tensorflow"]
    if "backends" in path.relative_to(PACKAGE).parts[:-1]:
        return
    assert not tensorflow, f"{_relative(path)} imports {tensorflow}: move it to skcoteach/backends/"


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_private_apis_of_dependencies_are_imported_by_compat_only(path):
    if path.name == "_compat.py":
        return
    private = [
        m
        for m in _imported_modules(path)
        if m.split(".")[0] in {"sklearn", "keras", "tensorflow", "scipy", "numpy", "jax"}
        and any(part.startswith("_") for part in m.split(".")[1:])
        or m.startswith(("keras.src", "tensorflow.python"))
    ]
    assert not private, f"{_relative(path)} imports private APIs {private}: use a _compat module"


@pytest.mark.parametrize("path", MODULES, ids=_relative)
def test_modules_are_short(path):
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{_relative(path)} has {n_lines} lines (at most {MAX_LINES})"


def test_the_checks_see_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import tensorflow as tf\nfrom sklearn.utils._tags import Tags\n")
    assert {"tensorflow", "sklearn.utils._tags", "sklearn.utils._tags.Tags"} <= set(
        _imported_modules(bad)
    )


def test_an_unsupported_keras_backend_is_refused_at_fit_without_tensorflow():
    # Keras's NumPy backend needs nothing beyond NumPy: a backend skcoteach cannot train with.
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from sklearn.datasets import load_iris\n"
        "from skcoteach import CoTeachingClassifier\n"
        "X, y = load_iris(return_X_y=True)\n"
        "try:\n"
        "    CoTeachingClassifier(epochs=1).fit(X, y)\n"
        "except ImportError as exc:\n"
        "    print('refused:', exc)\n"
        "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    ).stdout
    assert "refused: skcoteach cannot train with Keras's 'numpy' backend" in out
    assert "the supported backends are: 'tensorflow'" in out
    assert "tensorflow imported: False" in out
