"""FusedAdam: Keras's Adam update, applied by TensorFlow's fused kernel."""

import numpy as np
import pytest

from .conftest import tiny_mlp

keras = pytest.importorskip("keras")


pytestmark = pytest.mark.tensorflow_only(
    'the fused Adam of the TensorFlow program'
)


def _run(optimizer, steps=5, seed=0):
    """Apply ``steps`` Adam updates with fixed gradients; return the variables."""
    rng = np.random.default_rng(seed)
    variables = [
        keras.Variable(rng.normal(size=(7, 3)).astype("float32")),
        keras.Variable(rng.normal(size=(3,)).astype("float32")),
    ]
    for _ in range(steps):
        grads = [rng.normal(size=tuple(v.shape)).astype("float32") for v in variables]
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3},
        {"weight_decay": 0.1},
        {"clipnorm": 0.5},
        {"learning_rate": {"class_name": "ExponentialDecay", "config": {
            "initial_learning_rate": 0.01, "decay_steps": 2, "decay_rate": 0.5}}},
        {"amsgrad": True},  # falls back to Keras's own update
    ],
    ids=["defaults", "hyper-parameters", "weight_decay", "clipnorm", "lr_schedule", "amsgrad"],
)
def test_fused_adam_matches_keras_adam(config):
    from skcoteach.backends.tensorflow._optimizers import FusedAdam

    config = dict(config)
    if isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = keras.optimizers.schedules.deserialize(config["learning_rate"])
    expected = _run(keras.optimizers.Adam(**config))
    got = _run(FusedAdam(**config))
    for e, g in zip(expected, got):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)
    initial = _run(keras.optimizers.SGD(learning_rate=0.0), steps=1)
    assert not np.allclose(got[0], initial[0])  # the updates did move the variables


def test_fuse_only_replaces_exactly_adam():
    from skcoteach.backends.tensorflow._optimizers import FusedAdam, fuse

    adam = keras.optimizers.Adam(learning_rate=0.003, beta_1=0.8)
    fused = fuse(adam)
    assert type(fused) is FusedAdam
    assert fused.get_config() == {**adam.get_config(), "name": fused.get_config()["name"]}

    class MyAdam(keras.optimizers.Adam):
        pass

    for other in (keras.optimizers.SGD(), keras.optimizers.AdamW(), MyAdam()):
        assert fuse(other) is other


class PlainAdam(keras.optimizers.Adam):
    """A subclass of Keras's Adam: left alone by ``fuse``, so Keras's own update."""


def test_classifier_fused_adam_trains_like_keras_adam(digits):
    from skcoteach import CoTeachingClassifier
    from skcoteach.backends.tensorflow._optimizers import FusedAdam

    X, y, X_test, _ = digits
    params = dict(epochs=3, batch_size=64, optimizer__learning_rate=0.01, random_state=0)
    fused = CoTeachingClassifier(tiny_mlp, **params).fit(X, y)
    plain = CoTeachingClassifier(tiny_mlp, optimizer=PlainAdam, **params).fit(X, y)
    assert type(fused.model_.optimizer) is FusedAdam
    assert type(plain.model_.optimizer) is PlainAdam
    np.testing.assert_allclose(
        fused.predict_proba(X_test), plain.predict_proba(X_test), rtol=0, atol=1e-3
    )
    sgd = CoTeachingClassifier(tiny_mlp, optimizer="sgd", epochs=1, random_state=0).fit(X, y)
    assert type(sgd.model_.optimizer) is keras.optimizers.SGD


@pytest.mark.parametrize("optimizer", ["adam", PlainAdam, "sgd"])
def test_pickled_estimator_keeps_its_optimizer_and_state(digits, optimizer):
    # PlainAdam is a user-defined class that Keras cannot deserialize by name.
    import pickle

    from skcoteach import CoTeachingClassifier

    X, y, X_test, _ = digits
    params = dict(epochs=2, batch_size=64, optimizer=optimizer, random_state=0)
    clf = CoTeachingClassifier(tiny_mlp, **params).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert type(again.model_.optimizer) is type(clf.model_.optimizer)
    for a, b in zip(again.model_.optimizer.variables, clf.model_.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    clf.partial_fit(X, y)
    again.partial_fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-6)
