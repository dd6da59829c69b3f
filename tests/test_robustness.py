"""Reproducibility, edge-case batches, parallel search, persistence, fuzzing."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GridSearchCV

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

FAST = dict(epochs=2, batch_size=64, optimizer__learning_rate=0.01, random_state=0)

FRESH_FIT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sklearn.datasets import load_digits
    from skcoteach import CoTeachingClassifier
    sys.path.insert(0, {root!r})
    from tests.conftest import tiny_mlp
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    clf = CoTeachingClassifier(tiny_mlp, epochs=2, batch_size=64, random_state=7).fit(X, y[:300])
    np.save(sys.argv[1], clf.predict_proba(X))
    """
)


def _root():
    import pathlib

    return str(pathlib.Path(__file__).resolve().parents[1])


def test_same_seed_same_predictions_across_processes(tmp_path, digits):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    here = CoTeachingClassifier(tiny_mlp, epochs=2, batch_size=64, random_state=7).fit(X, y[:300])
    out = tmp_path / "proba.npy"
    subprocess.run([sys.executable, "-c", FRESH_FIT.format(root=_root()), str(out)], check=True)
    np.testing.assert_array_equal(np.load(out), here.predict_proba(X))


def test_random_state_instance_and_none(digits):
    X, y, X_test, _ = digits
    a = CoTeachingClassifier(tiny_mlp, **{**FAST, "random_state": np.random.RandomState(3)})
    b = CoTeachingClassifier(tiny_mlp, **{**FAST, "random_state": np.random.RandomState(3)})
    np.testing.assert_array_equal(
        a.fit(X, y).predict_proba(X_test), b.fit(X, y).predict_proba(X_test)
    )
    c = CoTeachingClassifier(tiny_mlp, **{**FAST, "random_state": None}).fit(X, y)
    d = CoTeachingClassifier(tiny_mlp, **{**FAST, "random_state": None}).fit(X, y)
    assert not np.allclose(c.predict_proba(X_test), d.predict_proba(X_test))


def test_batch_smaller_than_one_over_one_minus_tau_keeps_one(digits):
    X, y, _, _ = digits
    # tau = 0.9, batches of 3: floor(0.1 * 3) = 0, yet one sample is kept.
    clf = CoTeachingClassifier(tiny_mlp, tau=0.9, Tk=1, epochs=2, batch_size=3, random_state=0)
    clf.fit(X[:30], y[:30])
    assert clf.history_["kept_fraction"][1] == pytest.approx(1 / 3)
    assert np.isfinite(clf.history_["loss"]).all()


def test_batch_larger_than_data_and_partial_last_batch(digits):
    X, y, _, _ = digits
    big = CoTeachingClassifier(
        tiny_mlp, tau=0.5, Tk=1, epochs=2, batch_size=4096, random_state=0
    ).fit(X[:50], y[:50])
    assert big.history_["kept_fraction"] == pytest.approx([1.0, 0.5])
    # 50 samples in batches of 16: 16, 16, 16 and a last batch of 2.
    part = CoTeachingClassifier(
        tiny_mlp, tau=0.5, Tk=1, epochs=2, batch_size=16, steps_per_execution=1, random_state=0
    ).fit(X[:50], y[:50])
    assert part.history_["kept_fraction"][1] == pytest.approx(0.5)
    assert (part.sample_kept_ >= 0).all() and part.sample_kept_.shape == (50,)


def test_gridsearch_process_workers_match_serial(digits):
    X, y, _, _ = digits
    X, y = X[:300], y[:300]
    grid = {"tau": [0.0, 0.6], "Tk": [1, 5]}
    est = CoTeachingClassifier(tiny_mlp, **FAST)
    serial = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_pickle_loads_in_a_fresh_process(tmp_path, digits):
    X, y, X_test, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y)
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X_test)
    code = textwrap.dedent(f"""
        import pickle, sys, numpy as np
        sys.path.insert(0, {_root()!r})
        clf = pickle.loads(open({str(tmp_path / "clf.pkl")!r}, 'rb').read())
        np.save({str(tmp_path / "p.npy")!r}, clf.predict_proba(np.load({str(tmp_path / "X.npy")!r})))
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), clf.predict_proba(X_test))


def test_saturated_softmax_gives_finite_losses():
    """Probabilities of exactly 0 and 1 never produce log(0) = -inf or NaN."""
    import keras

    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 4)) * 1e3
    y = rng.randint(0, 3, size=64)  # random labels: many confidently wrong

    def saturating(meta, through_keras_softmax):
        inputs = keras.Input((4,))
        z = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=50))(
            inputs
        )
        if through_keras_softmax:
            out = keras.layers.Activation("softmax")(z)
        else:  # an activation skcoteach cannot see through: the clipped path
            out = keras.layers.Lambda(lambda t: keras.ops.softmax(t), name="custom_softmax")(z)
        return keras.Model(inputs, out)

    for flag in (True, False):
        clf = CoTeachingClassifier(
            saturating,
            model__through_keras_softmax=flag,
            tau=0.2,
            epochs=2,
            batch_size=16,
            random_state=0,
        )
        clf.fit(X, y)
        assert clf.model_.output_kind == "probabilities"
        assert np.isfinite(clf.history_["loss"]).all()
        assert np.isfinite(clf.sample_loss_).all()
        assert all(np.isfinite(w).all() for p in clf.peers_ for w in p.get_weights())
        assert np.isfinite(clf.predict_proba(X)).all()


LABELS = {
    "int": lambda k: np.arange(k),
    "odd ints": lambda k: np.arange(k) * 7 - 3,
    "str": lambda k: np.array([f"class {i}" for i in range(k)]),
    "object": lambda k: np.array([f"c{i}" for i in range(k)], dtype=object),
    "bool": lambda k: np.array([False, True])[:k] if k == 2 else np.arange(k),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(2, 40),
    shape=st.sampled_from([(3,), (1,), (4, 4), (3, 3, 2)]),
    n_classes=st.integers(1, 4),
    label_kind=st.sampled_from(sorted(LABELS)),
    tau=st.floats(-0.5, 1.5, allow_nan=False),
    batch_size=st.integers(0, 50),
    n_peers=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_fit_succeeds_or_raises_a_documented_error(
    n, shape, n_classes, label_kind, tau, batch_size, n_peers, seed
):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, *shape))
    labels = LABELS[label_kind](n_classes)
    y = labels[rng.randint(0, len(labels), size=n)]
    clf = CoTeachingClassifier(
        tiny_mlp, tau=tau, Tk=1, epochs=1, batch_size=batch_size, n_peers=n_peers, random_state=seed
    )
    try:
        clf.fit(X, y)
    except (ValueError, TypeError) as exc:  # the documented errors
        message = str(exc)
        assert any(
            word in message
            for word in (
                "'tau' parameter",
                "'batch_size' parameter",
                "'n_peers' parameter",
                "at least 2 classes",
            )
        ), message
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (n, len(np.unique(y)))
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(clf.predict(X)) <= set(np.unique(y))
    assert len(clf.peers_) == n_peers and clf.n_iter_ == 1


@pytest.mark.needs_tensorflow("a caller's tf.random.set_seed")
def test_tensorflow_global_seed_does_not_change_a_seeded_fit(digits):
    """The shuffle is stateless: a caller's tf.random.set_seed cannot change it."""
    import tensorflow as tf

    X, y, X_test, _ = digits
    first = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y).predict_proba(X_test)
    tf.random.set_seed(12345)
    second = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(first, second)


def test_many_fits_do_not_warn_of_retracing_but_other_warnings_pass(digits, capfd):
    # Every new estimator traces its own functions; TensorFlow would warn of
    # "excessive retracing" from the fifth fit of a grid search on.
    import logging

    X, y, X_test, _ = digits
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    logger = logging.getLogger("tensorflow")
    handler = Keep(level=logging.WARNING)
    logger.addHandler(handler)
    try:
        # 3 candidates x 2 folds + the refit: 7 fits, each with its own predict.
        search = GridSearchCV(
            CoTeachingClassifier(tiny_mlp, epochs=1, random_state=0),
            {"tau": [0.1, 0.2, 0.3]},
            cv=2,
        )
        search.fit(X, y).predict(X_test)
        logger.warning("an unrelated TensorFlow warning")
    finally:
        logger.removeHandler(handler)
    assert len(search.cv_results_["params"]) * 2 + 1 == 7
    assert not [m for m in seen if "retracing" in m]
    assert "an unrelated TensorFlow warning" in seen
    assert logger.filters == []  # the filter is only installed during fit / predict
    assert "retracing" not in capfd.readouterr().err
