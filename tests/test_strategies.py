"""Co-teaching+, JoCoR and tau="auto" at the estimator level."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import cross_validate

from skcoteach import CoTeachingClassifier
from skcoteach.noise import estimate_noise_rate, make_label_noise

from .conftest import tiny_mlp

FAST = dict(epochs=3, batch_size=64, optimizer__learning_rate=0.01, random_state=0)


@pytest.mark.parametrize("strategy", ["coteaching", "coteaching_plus", "jocor"])
@pytest.mark.parametrize("n_peers", [2, 3])
def test_every_strategy_fits_and_round_trips(digits, strategy, n_peers):
    X, y, X_test, y_test = digits
    clf = CoTeachingClassifier(
        tiny_mlp, model__hidden=32, strategy=strategy, n_peers=n_peers, tau=0.3, Tk=2, **FAST
    ).fit(X, y)
    assert clf.model_.rule_name == strategy
    assert len(clf.peers_) == n_peers
    assert np.isfinite(clf.history_["loss"]).all()
    assert clf.score(X_test, y_test) > 0.5
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_test), clf.predict_proba(X_test))
    assert again.model_.rule_name == strategy


def test_jocor_trains_every_peer_on_the_same_samples(digits):
    X, y, _, _ = digits
    clf = CoTeachingClassifier(
        tiny_mlp, strategy="jocor", strategy__co_lambda=0.5, tau=0.4, Tk=1, **FAST
    ).fit(X, y)
    # Shared selection: every sample is kept by all peers or by none.
    assert set(np.unique(clf.sample_kept_)) <= {0.0, 1.0}
    assert clf.history_["kept_fraction"][-1] == pytest.approx(0.6, abs=0.01)


def test_coteaching_plus_with_identical_peers_never_updates(digits):
    """Peers that always agree leave no disagreement: no gradient, ever."""
    import keras

    X, y, _, _ = digits

    def identical(meta):
        init = keras.initializers.GlorotUniform(seed=3)
        return keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(10, activation="softmax", kernel_initializer=init),
            ]
        )

    clf = CoTeachingClassifier(identical, strategy="coteaching_plus", optimizer="sgd", **FAST)
    clf.fit(X, y)
    before = identical(None).get_weights()
    for peer in clf.peers_:
        for a, b in zip(before, peer.get_weights()):
            np.testing.assert_array_equal(a, b)
    assert clf.history_["kept_fraction"] == [0.0] * 3
    # With init_epochs, the first epochs are plain Co-teaching and do update.
    warm = CoTeachingClassifier(
        identical, strategy="coteaching_plus", optimizer="sgd", strategy__init_epochs=1, **FAST
    ).fit(X, y)
    assert not np.allclose(warm.peers_[0].get_weights()[0], before[0])
    assert warm.history_["kept_fraction"][0] == 1.0


@pytest.mark.parametrize(
    "params, match",
    [
        (
            dict(strategy="jocor", strategy__init_epochs=2),
            "strategy__init_epochs is not an option of "
            "strategy='jocor'; its options are \\['co_lambda'\\]",
        ),
        (dict(strategy="coteaching", strategy__co_lambda=0.1), "its options are none"),
        (dict(strategy="jocor", strategy__co_lambda=1.5), r"co_lambda must be in \[0, 1\]"),
        (
            dict(strategy="coteaching_plus", strategy__init_epochs=-1),
            "init_epochs must be an int >= 0",
        ),
        (dict(strategy="mentornet"), "'strategy' parameter"),
    ],
)
def test_strategy_errors(digits, params, match):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        CoTeachingClassifier(tiny_mlp, **FAST, **params).fit(X, y)


def test_estimate_noise_rate_on_known_probabilities():
    rng = np.random.RandomState(0)
    y_true = rng.randint(0, 4, size=4000)
    proba = np.full((4000, 4), 0.1)
    proba[np.arange(4000), y_true] = 0.7  # a good model: true class most probable
    y_noisy = make_label_noise(y_true, 0.3, random_state=0)
    assert estimate_noise_rate(y_noisy, proba) == pytest.approx(0.3, abs=0.03)
    assert estimate_noise_rate(y_true, proba) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="integer labels in"):
        estimate_noise_rate(y_true + 5, proba)


@pytest.mark.parametrize("rate, low, high", [(0.0, 0.0, 0.15), (0.4, 0.35, 0.6)])
def test_tau_auto_estimates_noise_rate(digits, rate, low, high):
    X, y, _, _ = digits
    y_noisy = make_label_noise(y, rate, random_state=0) if rate else y
    clf = CoTeachingClassifier(tau="auto", epochs=4, batch_size=32, random_state=0)
    clf.fit(X, y_noisy)
    assert low <= clf.tau_ <= high
    assert clf.tau_ == min(clf.noise_rate_, 0.9)  # the estimate as it is, capped
    assert clf.history_["forget_rate"][:2] == [0.0, 0.0]  # warm-up
    assert clf.history_["forget_rate"][2] == pytest.approx(clf.tau_ * 2 / 10)


def test_tau_auto_per_fold_in_cross_validation(digits):
    X, y, _, _ = digits
    y_noisy = make_label_noise(y, 0.3, random_state=1)
    result = cross_validate(
        CoTeachingClassifier(tiny_mlp, tau="auto", Tk=2, **FAST),
        X,
        y_noisy,
        cv=2,
        return_estimator=True,
    )
    taus = [est.tau_ for est in result["estimator"]]
    assert all(0.15 < t < 0.6 for t in taus) and taus[0] != taus[1]


def test_tau_auto_with_fewer_epochs_than_warmup_still_estimates(digits):
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, tau="auto", **{**FAST, "epochs": 1}).fit(X, y)
    assert 0.0 <= clf.tau_ < 0.9 and clf.history_["forget_rate"] == [0.0]


def test_tau_auto_partial_fit_with_changing_sizes(digits):
    """The recorded probabilities follow the training set size, like the other statistics."""
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, tau="auto", **FAST)
    clf.partial_fit(X[:600], y[:600], classes=np.arange(10))
    clf.partial_fit(X[600:], y[600:])
    clf.partial_fit(X, y)
    assert clf.model_.sample_statistics()["proba"].shape == (1000, 10)
    assert clf.sample_kept_.shape == (1000,) and 0.0 <= clf.tau_ < 0.9


def test_noise_rate_is_kept_by_warm_starts_and_none_for_a_given_tau(digits, monkeypatch):
    from skcoteach.backends import _fit_loop

    X, y, _, _ = digits
    # An estimate above the cap: tau_ is capped, noise_rate_ is not.
    monkeypatch.setattr(_fit_loop, "estimate_noise", lambda y_enc, model: 0.95)
    clf = CoTeachingClassifier(tiny_mlp, tau="auto", warm_start=True, **FAST).fit(X, y)
    assert (clf.noise_rate_, clf.tau_) == (0.95, 0.9)
    monkeypatch.setattr(_fit_loop, "estimate_noise", lambda y_enc, model: 0.1)
    clf.fit(X, y)  # a warm start: estimated once
    assert (clf.noise_rate_, clf.tau_) == (0.95, 0.9)
    clf = CoTeachingClassifier(tiny_mlp, tau=0.3, **FAST).fit(X, y)
    assert clf.noise_rate_ is None and clf.tau_ == 0.3


def test_tau_auto_warmup_counts_optimizer_steps():
    """Two epochs at least, 50 steps at least, Tk epochs at most."""
    from skcoteach._callbacks import auto_tau_warmup

    assert auto_tau_warmup(60000, 128, 10) == 2  # MNIST: 469 steps per epoch
    assert auto_tau_warmup(1257, 128, 10) == 5  # digits: 10 steps per epoch
    assert auto_tau_warmup(124, 128, 10) == 10  # wine: one step per epoch, capped at Tk
    assert auto_tau_warmup(124, 128, 3.5) == 4
    assert auto_tau_warmup(100, 10, 1) == 1


def test_tau_auto_warmup_in_a_fit(digits):
    X, y, _, _ = digits
    params = {**FAST, "epochs": 6, "batch_size": 100, "Tk": 10}  # 10 steps per epoch: 5 epochs
    clf = CoTeachingClassifier(tiny_mlp, tau="auto", **params).fit(X, y)
    assert clf.history_["forget_rate"][:5] == [0.0] * 5
    # Estimated after the warm-up (on clean digits the estimate may be 0).
    assert clf.noise_rate_ is not None
    assert (clf.history_["forget_rate"][5] > 0.0) == (clf.tau_ > 0.0)
