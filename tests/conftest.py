"""Shared fixtures: tiny models and small data keep the suite fast."""

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
