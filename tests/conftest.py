"""Shared fixtures: tiny models and small data keep the suite fast."""

import importlib.util
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from sklearn.datasets import load_digits


def tiny_mlp(meta, hidden=16, activation="softmax"):
    """A one-hidden-layer network, small enough for unit tests."""
    import keras

    inputs = keras.Input(shape=meta["X_shape_"][1:])
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(hidden, activation="relu")(x)
    outputs = keras.layers.Dense(meta["n_classes_"], activation=activation)(x)
    return keras.Model(inputs, outputs)


def keras_backend():
    """The Keras backend this process runs (``KERAS_BACKEND``, else Keras's default)."""
    import keras

    return keras.backend.backend()


def tensorflow_installed():
    """Whether TensorFlow can be imported (the JAX CI job installs none)."""
    return importlib.util.find_spec("tensorflow") is not None


def _reason(marker, default):
    return marker.args[0] if marker.args else marker.kwargs.get("reason", default)


def pytest_collection_modifyitems(config, items):
    """Skip the tests that cannot run on this process's Keras backend or installation.

    ``tensorflow_only`` tests are skipped when Keras runs another backend (the
    JAX CI job); ``needs_tensorflow`` tests, which run on every backend but
    use TensorFlow itself, when TensorFlow is not installed.
    """
    if not tensorflow_installed():
        for item in items:
            why = item.get_closest_marker("needs_tensorflow")
            if why is not None:
                reason = _reason(why, "it uses TensorFlow")
                item.add_marker(pytest.mark.skip(reason=f"TensorFlow not installed: {reason}"))
    marked = [item for item in items if item.get_closest_marker("tensorflow_only")]
    if not marked or keras_backend() == "tensorflow":
        return
    for item in marked:
        reason = _reason(item.get_closest_marker("tensorflow_only"), "TensorFlow's program")
        item.add_marker(pytest.mark.skip(reason=f"TensorFlow only: {reason}"))


@pytest.fixture(scope="session")
def digits():
    """Digits scaled to [0, 1], split 1000 / 797."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1000], y[:1000], X[1000:], y[1000:]


@pytest.fixture
def blobs():
    """Three well separated classes in 2-D, 150 samples."""
    rng = np.random.RandomState(0)
    centers = np.array([[0, 0], [4, 4], [-4, 4]])
    y = np.repeat([0, 1, 2], 50)
    X = centers[y] + rng.normal(size=(150, 2))
    return X, y


def fit_together_and_alone(estimators, data):
    """Fit ``estimators`` jointly (the grouped search's path), each equal to its own fit.

    Returns the pairs ``(together, alone)`` after checking that every joint fit
    succeeded and that its peers' weights equal those of a separate fit of a
    clone on the same data within 1e-5, and its ``sample_kept_`` too.
    """
    from sklearn.base import clone

    from skcoteach.backends import api

    assert api().fit_together(estimators, data) == [None] * len(estimators)
    pairs = []
    for together, (X_fit, y_fit) in zip(estimators, data):
        alone = clone(together).fit(X_fit, y_fit)
        for a, b in zip(together.peers_, alone.peers_):
            for wa, wb in zip(a.get_weights(), b.get_weights()):
                np.testing.assert_allclose(wa, wb, atol=1e-5)
        np.testing.assert_allclose(together.sample_kept_, alone.sample_kept_)
        pairs.append((together, alone))
    return pairs
