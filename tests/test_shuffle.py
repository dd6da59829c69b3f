"""The training order: a new permutation every epoch, one reused permutation, or the data's order."""

import numpy as np
import pytest

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

FAST = dict(epochs=3, batch_size=64, optimizer__learning_rate=0.01, random_state=0)


@pytest.fixture
def streams(monkeypatch):
    """The streams of sample positions that ``fit`` hands to Keras, in call order.

    Without validation data, one per fit: the training stream.
    """
    seen = []
    original = CoTeachingClassifier._batch_positions

    def spy(self, *args, **kwargs):
        dataset = original(self, *args, **kwargs)
        seen.append((args[0], dataset))
        return dataset

    monkeypatch.setattr(CoTeachingClassifier, "_batch_positions", spy)
    return seen


def _epochs(dataset, n_epochs, clf=None):
    """The order of the samples in each of ``n_epochs`` passes over ``dataset``.

    With ``clf``, pass ``e`` is epoch ``e`` of its fitted ensemble, whose epoch
    variable the stream reads (as Keras's callbacks set it in ``fit``).
    """
    orders = []
    for epoch in range(n_epochs):
        if clf is not None:
            clf.model_.epoch.assign(epoch)
        orders.append(np.concatenate([b.numpy() for b in dataset]))
    return orders


def test_once_visits_the_same_permutation_every_epoch(digits, streams):
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, shuffle="once", **FAST).fit(X, y)
    (n, dataset), = streams
    orders = _epochs(dataset, 3, clf)
    assert sorted(orders[0]) == list(range(n))  # every sample once
    assert not np.array_equal(orders[0], np.arange(n))  # shuffled
    for order in orders[1:]:
        np.testing.assert_array_equal(order, orders[0])


def test_true_draws_a_new_permutation_every_epoch(digits, streams):
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, shuffle=True, **FAST).fit(X, y)
    (n, dataset), = streams
    orders = _epochs(dataset, 3, clf)
    for order in orders:
        assert sorted(order) == list(range(n))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_false_keeps_the_order_of_the_data(digits, streams):
    X, y, _, _ = digits
    CoTeachingClassifier(tiny_mlp, shuffle=False, **FAST).fit(X, y)
    (n, dataset), = streams
    for order in _epochs(dataset, 2):
        np.testing.assert_array_equal(order, np.arange(n))


def test_once_is_the_first_epoch_of_the_reshuffled_stream():
    import tensorflow as tf

    clf = CoTeachingClassifier(batch_size=4)
    epoch = tf.Variable(0, dtype=tf.int64)
    every = []
    for value in range(3):
        epoch.assign(value)
        every.append(_epochs(clf._batch_positions(10, shuffle_seed=7, epoch=epoch), 1)[0])
    once = _epochs(clf._batch_positions(10, shuffle_seed=7, once=True), 3)
    for order in once:
        np.testing.assert_array_equal(order, every[0])
    assert not np.array_equal(every[1], every[0])
    # A warm start at epoch 5 still visits the one order.
    epoch.assign(5)
    later = _epochs(clf._batch_positions(10, shuffle_seed=7, epoch=epoch, once=True), 1)
    np.testing.assert_array_equal(later[0], every[0])


@pytest.mark.parametrize("shuffle", [True, "once", False])
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


def test_warm_start_and_partial_fit_keep_the_one_permutation(digits, streams):
    X, y, _, _ = digits
    params = {**FAST, "epochs": 1, "random_state": None}  # a fresh seed would be drawn per fit
    clf = CoTeachingClassifier(tiny_mlp, shuffle="once", warm_start=True, **params)
    clf.fit(X, y).fit(X, y)
    incremental = CoTeachingClassifier(tiny_mlp, shuffle="once", **params)
    incremental.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
    orders = [_epochs(dataset, 1)[0] for _, dataset in streams]
    assert len(orders) == 4
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


@pytest.mark.parametrize("bad", ["twice", 2, None])
def test_bad_shuffle_is_refused(digits, bad):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="'shuffle' parameter"):
        CoTeachingClassifier(tiny_mlp, shuffle=bad, **FAST).fit(X, y)
