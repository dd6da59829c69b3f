"""Fallbacks of skcoteach._compat when a private API of a dependency is gone."""

import importlib.util
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils.validation import _check_sample_weight

from skcoteach import _compat


def _one_adam_step(optimizer_class, **options):
    import keras

    variable = keras.Variable(np.array([1.0, -2.0, 3.0], np.float32))
    optimizer = optimizer_class(learning_rate=0.1, **options)
    optimizer.build([variable])
    for gradient in ([0.5, -1.0, 2.0], [0.1, 0.2, -0.3]):
        optimizer.apply([np.array(gradient, np.float32)], [variable])
    return variable.numpy()


@pytest.mark.needs_tensorflow("the fused Adam of the TensorFlow program")
def test_fused_adam_falls_back_to_keras_update_without_the_moment_attributes(monkeypatch):
    import keras
    import tensorflow as tf

    from skcoteach.backends.tensorflow._optimizers import FusedAdam

    def no_fused_kernel(**kwargs):
        raise AssertionError("the fused kernel was used")

    monkeypatch.setattr(_compat, "ADAM_SLOT_ATTRIBUTES", ("_m_gone", "_v_gone", "_index_gone"))
    monkeypatch.setattr(tf.raw_ops, "ResourceApplyAdam", no_fused_kernel)
    np.testing.assert_array_equal(
        _one_adam_step(FusedAdam), _one_adam_step(keras.optimizers.Adam)
    )


@pytest.mark.tensorflow_only('the fused Adam of the TensorFlow program')
def test_fused_adam_uses_the_kernel_when_the_attributes_are_there(monkeypatch):
    import tensorflow as tf

    from skcoteach.backends.tensorflow._optimizers import FusedAdam

    calls = []
    kernel = tf.raw_ops.ResourceApplyAdam
    monkeypatch.setattr(
        tf.raw_ops, "ResourceApplyAdam", lambda **kwargs: calls.append(1) or kernel(**kwargs)
    )
    _one_adam_step(FusedAdam)
    assert calls


def _peer_weights():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    return model.get_weights()[0]


@pytest.mark.parametrize("keras_private_state", [True, False])
def test_seeded_reproduces_and_restores_the_callers_random_state(monkeypatch, keras_private_state):
    if not keras_private_state:  # a Keras without a reachable global SeedGenerator
        monkeypatch.setattr(_compat, "_keras_seed_state", lambda: None)
    random.seed(1)
    np.random.seed(1)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with _compat.seeded(5):
        first = _peer_weights()
    assert random.getstate() == python_state
    assert np.random.get_state()[1].tolist() == numpy_state[1].tolist()
    with _compat.seeded(5):
        second = _peer_weights()
    np.testing.assert_array_equal(first, second)
    with _compat.seeded(6):
        assert not np.array_equal(_peer_weights(), first)


@pytest.mark.parametrize("weights", [None, 2.5, [1.0, 0.0, 3.0, 0.5]])
def test_sample_weight_fallback_matches_scikit_learn(weights):
    X = np.zeros((4, 2))
    ours = _compat._check_sample_weight_numpy(weights, X, np.float32)
    theirs = _check_sample_weight(weights, X, dtype=np.float32, ensure_non_negative=True)
    np.testing.assert_array_equal(ours, theirs)
    assert ours.dtype == theirs.dtype


@pytest.mark.parametrize(
    "weights, message",
    [(np.ones(5), r"sample_weight.shape == \(5,\), expected \(4,\)"), ([1, -1, 1, 1], "Negative")],
)
def test_sample_weight_fallback_refuses_what_scikit_learn_refuses(weights, message):
    X = np.zeros((4, 2))
    with pytest.raises(ValueError, match=message):
        _compat._check_sample_weight_numpy(weights, X, np.float32)
    with pytest.raises(ValueError, match=message):
        _check_sample_weight(weights, X, dtype=np.float32, ensure_non_negative=True)


def _minimum_versions():
    """The pinned lower bounds that setup.py and the minimum-versions CI job use."""
    path = Path(__file__).resolve().parents[1] / ".ci" / "min-versions.txt"
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip()] = version.strip()
    return pins


def test_scikit_learn_without_parameter_validation_is_refused_clearly():
    # scikit-learn imports its own module first; then a stand-in without the
    # classes skcoteach needs replaces it.
    code = (
        "import sys, types, sklearn.base, sklearn.utils.validation\n"
        "sys.modules['sklearn.utils._param_validation'] = types.ModuleType('stub')\n"
        "import skcoteach\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode != 0
    major_minor = ".".join(_minimum_versions()["scikit-learn"].split(".")[:2])
    assert f"skcoteach needs scikit-learn >= {major_minor} " in done.stderr


@pytest.mark.parametrize("backend, other", [("tensorflow", "jax"), ("jax", "tensorflow")])
def test_a_backend_that_is_not_installed_is_named_with_its_install(backend, other):
    # A finder first on sys.meta_path hides the backend as if it were not installed.
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {backend!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from skcoteach._compat import import_keras\n"
        "try:\n    import_keras()\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc.name, type(exc.__cause__).__name__, exc, sep='|')\n"
    )
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    name, cause, message = done.stdout.strip().split("|")
    assert (name, cause) == (backend, "ModuleNotFoundError")
    assert f"Keras's backend is {backend!r}, which is not installed" in message
    assert _compat._BACKEND_INSTALLS[backend] in message
    assert f"set KERAS_BACKEND={other} before Python imports keras" in message


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_the_first_import_of_keras_leaves_the_global_random_states_alone(backend):
    # Importing jax draws from NumPy's global state (jax._src.clusters); the first fit of a
    # process imports Keras and its backend through import_keras.
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    code = (
        "import pickle, random, sys\n"
        "import numpy as np\n"
        "random.seed(7)\nnp.random.seed(7)\n"
        "before = pickle.dumps((random.getstate(), np.random.get_state()))\n"
        "from skcoteach._compat import import_keras\n"
        "keras = import_keras()\n"
        "assert keras.backend.backend() == sys.argv[1], keras.backend.backend()\n"
        "print(pickle.dumps((random.getstate(), np.random.get_state())) == before)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", code, backend], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
