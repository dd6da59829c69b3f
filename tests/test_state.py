"""The estimator's state after every fit: warm starts with changed parameters, failed fits, divergence."""

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

FAST = dict(epochs=2, batch_size=64, optimizer__learning_rate=0.01, random_state=0)


def _weights(clf):
    return [w.copy() for peer in clf.peers_ for w in peer.get_weights()]


def _state(clf):
    """What a failed fit must leave unchanged."""
    return {
        "weights": _weights(clf),
        "optimizer": [v.numpy().copy() for v in clf.model_.optimizer.variables],
        "n_iter_": clf.n_iter_,
        "history_": {k: list(v) for k, v in clf.history_.items()},
        "sample_loss_": clf.sample_loss_.copy(),
    }


def _assert_same_state(a, b):
    assert a["n_iter_"] == b["n_iter_"]
    assert a["history_"] == b["history_"]
    np.testing.assert_array_equal(a["sample_loss_"], b["sample_loss_"])
    for key in ("weights", "optimizer"):
        assert len(a[key]) == len(b[key])
        for x, y in zip(a[key], b[key]):
            np.testing.assert_array_equal(x, y)


@pytest.fixture
def fitted(digits):
    X, y, _, _ = digits
    return CoTeachingClassifier(tiny_mlp, warm_start=True, **FAST).fit(X[:400], y[:400])


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(n_peers=3), "n_peers 2; n_peers 3 needs new peers"),
        (dict(strategy="jocor"), "strategy 'coteaching'; strategy 'jocor'"),
        (dict(optimizer="sgd"), "optimizer class 'Adam'; optimizer class 'SGD'"),
    ],
)
def test_warm_start_refuses_what_it_cannot_apply(digits, fitted, change, match):
    X, y, _, _ = digits
    before = _state(fitted)
    with pytest.raises(ValueError, match=match):
        fitted.set_params(**change).fit(X[:400], y[:400])
    _assert_same_state(_state(fitted), before)


def test_warm_start_applies_optimizer_arguments_and_keeps_its_state(digits, fitted):
    X, y, _, _ = digits
    steps = int(fitted.model_.optimizer.iterations)
    fitted.set_params(optimizer__learning_rate=1e-4, epochs=1).fit(X[:400], y[:400])
    assert float(fitted.model_.optimizer.learning_rate.numpy()) == pytest.approx(1e-4)
    assert int(fitted.model_.optimizer.iterations) == steps + 7  # 400 samples / 64: 7 steps
    assert fitted.n_iter_ == 3


def test_warm_start_applies_steps_per_execution(digits, fitted):
    X, y, _, _ = digits
    fitted.set_params(steps_per_execution=2, epochs=1).fit(X[:400], y[:400])
    assert fitted.model_.batches_per_call == 2
    calls = []
    function = fitted.model_.train_function

    def counted(*args):
        calls.append(1)
        return function(*args)

    if hasattr(function, "run_steps"):  # TensorFlow: kept by the next fit, as the original
        counted.run_steps = function.run_steps
    fitted.model_.train_function = counted
    fitted.fit(X[:400], y[:400])
    # 7 batches, 2 per call (JAX: 6 full batches in 3 calls, the last with the 7th batch)
    import keras

    assert len(calls) == (4 if keras.backend.backend() == "tensorflow" else 3)


def test_warm_start_applies_options_of_the_same_strategy(digits):
    X, y, _, _ = digits
    params = dict(strategy="jocor", warm_start=True, **FAST)
    clf = CoTeachingClassifier(tiny_mlp, strategy__co_lambda=0.1, **params).fit(X[:400], y[:400])
    clf.set_params(strategy__co_lambda=0.9).fit(X[:400], y[:400])
    assert clf.model_.rule_options["co_lambda"] == 0.9
    same = CoTeachingClassifier(tiny_mlp, strategy__co_lambda=0.1, **params).fit(X[:400], y[:400])
    same.fit(X[:400], y[:400])
    # The second fit trained with the new option: other weights.
    assert not np.allclose(_weights(clf)[0], _weights(same)[0])


class _FailAt(keras.callbacks.Callback):
    def __init__(self, epoch, error):
        super().__init__()
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise self.error


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_a_fit_failing_part_way_leaves_the_previous_fit(digits, fitted, error):
    X, y, _, _ = digits
    before = _state(fitted)
    # Epochs 2, 3, 4 of the warm start: the callback fails after two of them.
    fitted.set_params(epochs=3, callbacks=[_FailAt(3, error)])
    with pytest.raises(type(error)):
        fitted.fit(X[:400], y[:400])
    _assert_same_state(_state(fitted), before)
    # And training goes on from there as if the failed fit never happened.
    fitted.set_params(callbacks=None, epochs=1).fit(X[:400], y[:400])
    fresh = CoTeachingClassifier(tiny_mlp, warm_start=True, **FAST).fit(X[:400], y[:400])
    fresh.set_params(epochs=1).fit(X[:400], y[:400])
    for a, b in zip(_weights(fitted), _weights(fresh)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_a_failed_partial_fit_leaves_the_sample_statistics(digits, fitted):
    X, y, _, _ = digits
    before = _state(fitted)
    fitted.set_params(callbacks=[_FailAt(2, RuntimeError("boom"))])
    with pytest.raises(RuntimeError):
        fitted.partial_fit(X[:300], y[:300])  # another size: new statistics variables
    _assert_same_state(_state(fitted), before)
    assert fitted.model_.n_samples == 400


def _unbounded(meta):
    """No ReLU that could die and freeze the weights: a too large step overflows them."""
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(16),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def _diverging(**params):
    # Plain SGD with this step overflows the weights within one epoch.
    return CoTeachingClassifier(
        _unbounded, optimizer="sgd", optimizer__learning_rate=1e8, epochs=3, batch_size=64,
        random_state=0, **params,
    )


def test_a_diverging_fit_raises_and_stays_unfitted(digits):
    X, y, _, _ = digits
    clf = _diverging()
    with pytest.raises(ValueError, match=r"diverged in epoch \d.*smaller learning rate"):
        clf.fit(X[:400], y[:400])
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


def test_a_diverging_warm_start_keeps_the_previous_fit(digits):
    X, y, X_test, _ = digits
    clf = _diverging(warm_start=True).set_params(optimizer__learning_rate=0.01)
    clf.fit(X[:400], y[:400])
    before = _state(clf)
    with pytest.raises(ValueError, match="diverged"):
        clf.set_params(optimizer__learning_rate=1e8).fit(X[:400], y[:400])
    _assert_same_state(_state(clf), before)
    assert np.isfinite(clf.predict_proba(X_test)).all()
