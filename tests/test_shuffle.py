"""The training order: a new permutation every epoch, one reused permutation, or the data's order."""

import numpy as np
import pytest

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

FAST = dict(epochs=3, batch_size=64, optimizer__learning_rate=0.01, random_state=0)


@pytest.fixture
def orders(monkeypatch):
    """The training orders that ``fit`` gives its ensemble, one per epoch, in call order."""
    from skcoteach.backends import api

    PeerEnsemble = api().PeerEnsemble
    seen = []
    original = PeerEnsemble.set_epoch_order

    def spy(self, order):
        seen.append(np.asarray(order))
        return original(self, order)

    monkeypatch.setattr(PeerEnsemble, "set_epoch_order", spy)
    return seen


def test_once_visits_the_same_permutation_every_epoch(digits, orders):
    X, y, _, _ = digits
    CoTeachingClassifier(tiny_mlp, shuffle="once", **FAST).fit(X, y)
    assert len(orders) == 3
    assert sorted(orders[0]) == list(range(len(X)))  # every sample once
    assert not np.array_equal(orders[0], np.arange(len(X)))  # shuffled
    for order in orders[1:]:
        np.testing.assert_array_equal(order, orders[0])


def test_true_draws_a_new_permutation_every_epoch(digits, orders):
    X, y, _, _ = digits
    CoTeachingClassifier(tiny_mlp, shuffle=True, **FAST).fit(X, y)
    assert len(orders) == 3
    for order in orders:
        assert sorted(order) == list(range(len(X)))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_false_keeps_the_order_of_the_data(digits, orders):
    X, y, _, _ = digits
    CoTeachingClassifier(tiny_mlp, shuffle=False, **FAST).fit(X, y)
    for order in orders:
        np.testing.assert_array_equal(order, np.arange(len(X)))


@pytest.mark.tensorflow_only("the TensorFlow program's batch gathering")
def test_the_step_trains_on_the_batches_of_the_epochs_order(digits):
    """A batch of positions is gathered through the order: a reversed order trains on reversed data."""
    import tensorflow as tf

    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, epochs=1, batch_size=64, random_state=0).fit(X, y)
    ensemble = clf.model_
    ensemble.set_training_arrays(X.astype(np.float32), y.astype(np.int32), np.ones(len(y), np.float32))
    n = len(X)
    ensemble.set_epoch_order(tf.range(n - 1, -1, -1, dtype=tf.int64))
    x, y_batch, _, index = ensemble._full_batch(
        tf.constant([0, 1, 2], tf.int64), ensemble._training_arrays
    )
    np.testing.assert_array_equal(index.numpy(), [n - 1, n - 2, n - 3])
    np.testing.assert_allclose(x.numpy(), X[[n - 1, n - 2, n - 3]])
    np.testing.assert_array_equal(y_batch.numpy(), y[[n - 1, n - 2, n - 3]])
    ensemble.set_training_arrays()


@pytest.mark.parametrize(
    "strategy, expected", [("coteaching", "once"), ("jocor", True), ("coteaching_plus", True)]
)
def test_the_default_order_follows_the_strategy(digits, orders, strategy, expected):
    """``shuffle="auto"`` (the default): one permutation for Co-teaching, a new one for the others."""
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, strategy=strategy, tau=0.3, **FAST)
    assert clf.get_params()["shuffle"] == "auto"
    clf.fit(X, y)
    explicit = CoTeachingClassifier(tiny_mlp, strategy=strategy, tau=0.3, shuffle=expected, **FAST)
    explicit.fit(X, y)
    assert len(orders) == 6
    for default_order, explicit_order in zip(orders[:3], orders[3:]):
        np.testing.assert_array_equal(default_order, explicit_order)
    assert np.array_equal(orders[0], orders[1]) == (expected == "once")


@pytest.mark.needs_tensorflow("the epoch order of the TensorFlow program")
def test_once_is_the_first_epoch_of_the_reshuffled_order():
    from skcoteach.backends.tensorflow._training import epoch_order

    every = [epoch_order(10, 7, epoch).numpy() for epoch in range(3)]
    for epoch in range(3):
        np.testing.assert_array_equal(epoch_order(10, 7, epoch, once=True), every[0])
    assert not np.array_equal(every[1], every[0])
    # A warm start at epoch 5 still visits the one order.
    np.testing.assert_array_equal(epoch_order(10, 7, 5, once=True), every[0])


@pytest.mark.parametrize("shuffle", [True, "once", False, "auto"])
def test_every_order_is_reproducible_with_random_state(digits, shuffle):
    X, y, X_test, _ = digits
    first = CoTeachingClassifier(tiny_mlp, shuffle=shuffle, **FAST).fit(X, y)
    second = CoTeachingClassifier(tiny_mlp, shuffle=shuffle, **FAST).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X_test), second.predict_proba(X_test))


def test_the_order_changes_the_fit(digits):
    X, y, X_test, _ = digits
    probas = [
        CoTeachingClassifier(tiny_mlp, shuffle=shuffle, **FAST).fit(X, y).predict_proba(X_test)
        for shuffle in (True, "once", False)
    ]
    assert not np.allclose(probas[0], probas[1])
    assert not np.allclose(probas[1], probas[2])


def test_warm_start_and_partial_fit_keep_the_one_permutation(digits, orders):
    X, y, _, _ = digits
    params = {**FAST, "epochs": 1, "random_state": None}  # a fresh seed would be drawn per fit
    clf = CoTeachingClassifier(tiny_mlp, shuffle="once", warm_start=True, **params)
    clf.fit(X, y).fit(X, y)
    incremental = CoTeachingClassifier(tiny_mlp, shuffle="once", **params)
    incremental.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
    assert len(orders) == 4  # one epoch per call
    np.testing.assert_array_equal(orders[0], orders[1])  # warm start
    np.testing.assert_array_equal(orders[2], orders[3])  # partial_fit


@pytest.mark.parametrize("shuffle", [True, "once"])
def test_warm_start_goes_on_as_one_longer_fit(digits, shuffle):
    X, y, X_test, _ = digits
    params = {**FAST, "tau": 0.4, "Tk": 2}
    whole = CoTeachingClassifier(tiny_mlp, shuffle=shuffle, **{**params, "epochs": 2}).fit(X, y)
    parts = CoTeachingClassifier(tiny_mlp, shuffle=shuffle, warm_start=True, **{**params, "epochs": 1})
    parts.fit(X, y).fit(X, y)
    assert parts.history_["forget_rate"] == whole.history_["forget_rate"]
    np.testing.assert_allclose(
        parts.predict_proba(X_test), whole.predict_proba(X_test), rtol=1e-4, atol=1e-6
    )


def test_once_with_validation_data(digits):
    X, y, X_test, y_test = digits
    clf = CoTeachingClassifier(tiny_mlp, shuffle="once", validation_split=0.2, **FAST).fit(X, y)
    assert len(clf.history_["val_accuracy"]) == 3
    clf.fit(X, y, validation_data=(X_test, y_test))
    assert clf.history_["val_accuracy"][-1] == pytest.approx(clf.score(X_test, y_test), abs=1e-6)


@pytest.mark.parametrize("bad", ["twice", "Auto", 2, None])
def test_bad_shuffle_is_refused(digits, bad):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="'shuffle' parameter"):
        CoTeachingClassifier(tiny_mlp, shuffle=bad, **FAST).fit(X, y)
