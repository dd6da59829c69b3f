"""CoTeachingClassifier: fitting, predicting and fitting into scikit-learn."""

import functools
import importlib
import pickle
import random
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcoteach import CoTeachingClassifier

from .conftest import tensorflow_installed, tiny_mlp


def _hidden_units(model):
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][0].units


FAST = dict(epochs=3, batch_size=64, optimizer__learning_rate=0.01, random_state=0)


def test_import_does_not_import_tensorflow():
    code = (
        "import sys, skcoteach; assert 'tensorflow' not in sys.modules, 'tf'; "
        "assert 'keras' not in sys.modules, 'keras'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_is_a_classifier():
    assert is_classifier(CoTeachingClassifier())
    tags = CoTeachingClassifier().__sklearn_tags__()
    assert tags.estimator_type == "classifier"
    assert tags.input_tags.three_d_array


def test_fit_predict_tabular(digits):
    X, y, X_test, y_test = digits
    clf = CoTeachingClassifier(tiny_mlp, model__hidden=32, **{**FAST, "epochs": 8})
    assert clf.fit(X, y) is clf
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert clf.score(X_test, y_test) > 0.8
    assert len(clf.peers_) == 2 and clf.peers_[0] is not clf.peers_[1]
    assert clf.n_features_in_ == 64 and clf.n_iter_ == 8
    # predict_proba is the mean of the peers' probabilities.
    mean = np.mean([p.predict(X_test, verbose=0) for p in clf.peers_], axis=0)
    np.testing.assert_allclose(proba, mean, rtol=1e-5, atol=1e-6)


def test_history_records_schedule_and_losses(digits):
    X, y, X_test, y_test = digits
    clf = CoTeachingClassifier(
        tiny_mlp, tau=0.4, Tk=2, epochs=4, batch_size=100, random_state=0
    ).fit(X, y, validation_data=(X_test, y_test))
    h = clf.history_
    assert h["forget_rate"] == pytest.approx([0.0, 0.2, 0.4, 0.4])
    # 1000 samples in batches of 100: exactly floor(0.8 * 100) kept at 0.2.
    assert h["kept_fraction"] == pytest.approx([1.0, 0.8, 0.6, 0.6])
    for key in ("loss", "peer_0_loss", "peer_1_loss", "val_loss", "val_accuracy"):
        assert len(h[key]) == 4, key
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] == pytest.approx(clf.score(X_test, y_test), abs=1e-6)


def test_default_models_tabular_and_images(digits):
    X, y, X_test, y_test = digits
    clf = CoTeachingClassifier(epochs=20, random_state=0).fit(X * 16, y)  # unscaled input
    assert clf.score(X_test * 16, y_test) > 0.85
    images = X.reshape(-1, 8, 8)
    cnn = CoTeachingClassifier(epochs=3, random_state=0, model__filters=(8,), model__dense_units=16)
    cnn.fit(images, y)
    assert cnn.predict(X_test.reshape(-1, 8, 8)).shape == (len(X_test),)
    assert cnn.X_shape_[1:] == (8, 8)
    channels = CoTeachingClassifier(epochs=1, random_state=0, model__filters=(4,))
    channels.fit(images[..., None], y)
    assert channels.predict_proba(images[:5, :, :, None]).shape == (5, 10)


def test_string_and_noncontiguous_labels(digits):
    X, y, X_test, _ = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
        dtype=object,
    )
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, names[y])
    assert set(clf.predict(X_test)) <= set(names)
    assert clf.classes_.dtype == object
    odd = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y * 10 - 7)
    np.testing.assert_array_equal(odd.classes_, np.arange(10) * 10 - 7)
    assert set(odd.predict(X_test)) <= set(odd.classes_)


@pytest.mark.parametrize(
    "units, activation, from_logits",
    [
        (2, "softmax", "auto"),
        (2, "linear", "auto"),
        (1, "sigmoid", "auto"),
        (1, "linear", "auto"),
    ],
)
def test_binary_outputs(units, activation, from_logits):
    import keras

    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 3))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")

    def factory(meta):
        return keras.Sequential(
            [keras.Input((3,)), keras.layers.Dense(units, activation=activation)]
        )

    clf = CoTeachingClassifier(
        factory,
        epochs=30,
        batch_size=32,
        from_logits=from_logits,
        optimizer__learning_rate=0.05,
        random_state=0,
    ).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-5)
    assert clf.score(X, y) > 0.9


def test_logits_and_softmax_agree(digits):
    """Same weights: logits detected and handled exactly like softmax outputs."""
    X, y, X_test, _ = digits
    soft = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y)
    logits = CoTeachingClassifier(tiny_mlp, model__activation="linear", **FAST).fit(X, y)
    assert soft.model_.output_kind == "probabilities"
    assert logits.model_.output_kind == "logits"
    np.testing.assert_allclose(soft.predict_proba(X_test), logits.predict_proba(X_test), atol=1e-4)


def test_keras_model_instance_is_cloned(digits):
    import keras

    X, y, X_test, _ = digits
    template = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    weights = [w.copy() for w in template.get_weights()]
    clf = CoTeachingClassifier(template, **FAST).fit(X, y)
    assert all(p is not template for p in clf.peers_)
    for a, b in zip(weights, template.get_weights()):  # the template is untouched
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(clf.peers_[0].get_weights()[0], clf.peers_[1].get_weights()[0])


def test_callable_object_and_partial_factories(digits):
    X, y, _, _ = digits

    class Factory:
        def __call__(self, meta, hidden=8):
            return tiny_mlp(meta, hidden=hidden)

    CoTeachingClassifier(Factory(), model__hidden=4, **FAST).fit(X, y)
    CoTeachingClassifier(functools.partial(tiny_mlp, hidden=4), **FAST).fit(X, y)


def test_routed_params_reach_factory_and_optimizer(digits):
    X, y, _, _ = digits
    seen = {}

    def factory(meta, compile_kwargs, width=3):
        seen.update(meta=meta, width=width, compile_kwargs=compile_kwargs)
        return tiny_mlp(meta, hidden=width)

    clf = CoTeachingClassifier(
        factory,
        model__width=7,
        optimizer="sgd",
        epochs=1,
        optimizer__learning_rate=0.123,
        optimizer__momentum=0.5,
    )
    assert clf.get_params()["model__width"] == 7
    clf.fit(X, y)
    assert seen["width"] == 7
    for key in (
        "n_features_in_",
        "n_classes_",
        "classes_",
        "X_shape_",
        "X_dtype_",
        "y_dtype_",
        "target_type_",
        "n_outputs_",
        "n_outputs_expected_",
    ):
        assert key in seen["meta"], key
    assert seen["meta"]["n_classes_"] == 10 and seen["meta"]["X_shape_"] == X.shape
    opt = clf.model_.optimizer
    assert type(opt).__name__ == "SGD"
    assert float(opt.learning_rate) == pytest.approx(0.123) and opt.momentum == 0.5
    assert _hidden_units(clf.peers_[0]) == 7


def test_set_params_get_params_clone_roundtrip():
    clf = CoTeachingClassifier(tiny_mlp, model__hidden=5, optimizer__learning_rate=0.1)
    clf.set_params(model__hidden=9, tau=0.3, optimizer__beta_1=0.8)
    params = clf.get_params()
    assert params["model__hidden"] == 9 and params["tau"] == 0.3
    assert params["optimizer__beta_1"] == 0.8 and params["optimizer__learning_rate"] == 0.1
    twin = clone(clf)
    assert twin.get_params() == params
    assert "model__hidden=9" in repr(clf)


def test_pipeline_gridsearch_cross_val(digits):
    X, y, _, _ = digits
    X, y = X[:400], y[:400]
    pipe = make_pipeline(StandardScaler(), CoTeachingClassifier(tiny_mlp, **FAST))
    grid = GridSearchCV(
        pipe,
        {
            "coteachingclassifier__tau": [0.1, 0.3],
            "coteachingclassifier__Tk": [1, 5],
            "coteachingclassifier__model__hidden": [8],
            "coteachingclassifier__optimizer__learning_rate": [0.01],
        },
        cv=2,
    ).fit(X, y)
    assert set(grid.best_params_) == {
        "coteachingclassifier__tau",
        "coteachingclassifier__Tk",
        "coteachingclassifier__model__hidden",
        "coteachingclassifier__optimizer__learning_rate",
    }
    assert _hidden_units(grid.best_estimator_[-1].peers_[0]) == 8
    scores = cross_val_score(CoTeachingClassifier(tiny_mlp, **FAST), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.5


def test_pickle_and_joblib_roundtrip(digits, tmp_path):
    X, y, X_test, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y)
    expected = clf.predict_proba(X_test)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X_test), expected)
    np.testing.assert_array_equal(again.sample_kept_, clf.sample_kept_)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "clf.joblib").predict_proba(X_test), expected
    )
    unfitted = pickle.loads(pickle.dumps(CoTeachingClassifier(tiny_mlp, model__hidden=3)))
    assert unfitted.get_params()["model__hidden"] == 3


def test_warm_start_after_pickle_goes_on_as_without_pickle(digits):
    # The optimizer (Adam's moments and step count) travels with the peers.
    X, y, X_test, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert type(again.model_.optimizer) is type(clf.model_.optimizer)
    assert int(again.model_.optimizer.iterations) == int(clf.model_.optimizer.iterations) > 0
    clf.partial_fit(X, y)
    again.partial_fit(X, y)
    np.testing.assert_allclose(again.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-6)
    assert again.n_iter_ == clf.n_iter_ == FAST["epochs"] + 1


def test_random_state_reproducible_and_global_state_untouched(digits):
    # TensorFlow's global seed too, where TensorFlow is installed (the JAX CI job has none).
    tf = importlib.import_module("tensorflow") if tensorflow_installed() else None

    X, y, X_test, _ = digits
    random.seed(123)
    np.random.seed(123)
    if tf is not None:
        tf.random.set_seed(123)
    py_state, np_state = random.getstate(), np.random.get_state()
    first = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y).predict_proba(X_test)
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert all(np.array_equal(a, b) for a, b in zip(after, np_state))
    if tf is not None:  # TensorFlow's global seed sequence continues as if fit had not run.
        drawn = tf.random.uniform((3,)).numpy()
        tf.random.set_seed(123)
        np.testing.assert_array_equal(drawn, tf.random.uniform((3,)).numpy())

    second = CoTeachingClassifier(tiny_mlp, **FAST).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(first, second)
    other = CoTeachingClassifier(tiny_mlp, **{**FAST, "random_state": 1}).fit(X, y)
    assert not np.allclose(other.predict_proba(X_test), first)


def test_sample_statistics_flag_wrong_labels(digits):
    X, y, _, _ = digits
    rng = np.random.RandomState(0)
    wrong = rng.rand(len(y)) < 0.3
    y_noisy = np.where(wrong, (y + rng.randint(1, 10, len(y))) % 10, y)
    clf = CoTeachingClassifier(
        tiny_mlp,
        model__hidden=64,
        tau=0.3,
        Tk=3,
        epochs=10,
        batch_size=32,
        optimizer__learning_rate=0.003,
        random_state=0,
    ).fit(X, y_noisy)
    assert clf.sample_kept_.shape == clf.sample_loss_.shape == (len(X),)
    assert set(np.unique(clf.sample_kept_)) <= {0.0, 0.5, 1.0}
    rejected = clf.sample_kept_ == 0
    # Rejected samples are mostly the wrong labels, kept ones mostly right.
    assert wrong[rejected].mean() > 0.7
    assert wrong[clf.sample_kept_ == 1].mean() < 0.15
    assert clf.sample_loss_[wrong].mean() > 3 * clf.sample_loss_[~wrong].mean()


def test_auto_batch_size_by_training_rows_and_kept_by_warm_starts(digits):
    # batch_size="auto" resolves by the rows trained on (after validation_split)
    # at the first fit; partial_fit and warm starts keep it, a number overrides it.
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, epochs=2, validation_split=0.5, random_state=0)
    clf.fit(X[:300], y[:300])
    assert clf.batch_size == "auto" and clf.batch_size_ == 32
    assert int(clf.model_.optimizer.iterations) == 2 * -(-150 // 32)
    clf.set_params(warm_start=True, validation_split=0.0, epochs=1).fit(X[:1000], y[:1000])
    assert clf.batch_size_ == 32
    assert int(clf.model_.optimizer.iterations) == 2 * 5 + -(-1000 // 32)
    clf.set_params(batch_size=100).fit(X[:1000], y[:1000])
    assert clf.batch_size_ == 100
    stream = CoTeachingClassifier(tiny_mlp, random_state=0)
    stream.partial_fit(X[:100], y[:100], classes=np.unique(y))
    stream.partial_fit(X[:1000], y[:1000])
    assert stream.batch_size_ == 32
    big = np.tile(X[:64], (70, 1))  # 4,480 rows: batches of 128
    fitted = CoTeachingClassifier(tiny_mlp, epochs=1, random_state=0).fit(big, np.tile(y[:64], 70))
    assert fitted.batch_size_ == 128 and int(fitted.model_.optimizer.iterations) == 35
