"""The layout rules of the package, read from its source (issue 27).

Every import of TensorFlow or JAX lives under ``skcoteach/backends/``; every private
API of a dependency is imported by a ``_compat`` module; no module is longer
than 450 lines.
"""

import ast
from pathlib import Path

import pytest

from .conftest import tensorflow_installed

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
def test_only_the_backends_import_tensorflow_or_jax(path):
    backend = [m for m in _imported_modules(path) if m.split(".")[0] in ("tensorflow", "jax")]
    if "backends" in path.relative_to(PACKAGE).parts[:-1]:
        return
    assert not backend, f"{_relative(path)} imports {backend}: move it to skcoteach/backends/"


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_each_backend_has_the_same_api(backend):
    # What the estimator calls from a backend: the same names in every _api module.
    def names(path):
        tree = ast.parse(path.read_text())
        (exported,) = [n.value for n in tree.body if isinstance(n, ast.Assign)
                       and any(getattr(t, "id", None) == "__all__" for t in n.targets)]
        return sorted(ast.literal_eval(exported))

    reference = names(PACKAGE / "backends" / "tensorflow" / "_api.py")
    assert names(PACKAGE / "backends" / backend / "_api.py") == reference
    assert {"train", "predict_proba", "PeerEnsemble", "snapshot", "restore"} <= set(reference)


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


def _skip_without_keras_numpy_backend():
    """Skip unless Keras's NumPy backend loads here (before Keras 3.15 it needed jax)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import keras"], env=env, capture_output=True, text=True,
        timeout=300,
    )
    if loaded.returncode != 0:
        pytest.skip(f"Keras's numpy backend does not load: {loaded.stderr.strip()[-200:]}")


def test_an_unsupported_keras_backend_is_refused_at_fit_without_tensorflow():
    # Keras's NumPy backend needs nothing beyond NumPy: a backend skcoteach cannot train with.
    import os
    import subprocess
    import sys

    _skip_without_keras_numpy_backend()

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
    assert "the supported backends are: 'tensorflow', 'jax'" in out
    assert "tensorflow imported: False" in out


RULES_SCRIPT = """
import json, sys
import numpy as np
from keras import ops
from skcoteach import rules
from skcoteach._selection import rare_classes

out = {}
for seed, n_peers in [(0, 2), (1, 2), (2, 3)]:
    rng = np.random.RandomState(seed)
    losses = rng.rand(n_peers, 40).astype("float32")
    logits = rng.randn(n_peers, 40, 4).astype("float32")
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    labels = rng.randint(0, 4, 40)
    weights = rng.rand(40).astype("float32")
    shares = np.array([0.4, 0.35, 0.2, 0.05], "float32")  # classes 2 and 3 rare
    for name, rule in sorted(rules.RULES.items()):
        for selection in ("global", "per_class", "class_floor"):
            update = rule(
                ops.convert_to_tensor(losses), ops.convert_to_tensor(log_probs), 0.65,
                ops.convert_to_tensor(weights), 3, labels=ops.convert_to_tensor(labels),
                selection=selection, rare_classes=ops.convert_to_tensor(rare_classes(shares)),
            )
            out[f"{seed}/{name}/{selection}"] = [
                float(ops.convert_to_numpy(update.total_loss)),
                ops.convert_to_numpy(update.keep_mask).astype(int).tolist(),
            ]
json.dump(out, sys.stdout)
"""


def _rules_on(backend):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-c", RULES_SCRIPT], env=env, capture_output=True, text=True,
        timeout=300, check=True,
    )
    return json.loads(done.stdout)


def test_the_update_rules_are_backend_neutral():
    # keras.ops only: on Keras's NumPy backend every rule and selection keeps the same
    # samples as on TensorFlow (also where labels tie, which no backend's sort may reorder);
    # where TensorFlow is not installed (the JAX CI job), as on JAX.
    _skip_without_keras_numpy_backend()
    reference = _rules_on("tensorflow" if tensorflow_installed() else "jax")
    numpy = _rules_on("numpy")
    assert reference.keys() == numpy.keys() and len(reference) == 27
    for key, (loss, mask) in reference.items():
        assert numpy[key][1] == mask, key
        assert abs(numpy[key][0] - loss) <= 1e-6 * max(1.0, abs(loss)), key
