"""CoTeachingGridSearchCV: the same search as GridSearchCV, its fits trained together."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skcoteach import CoTeachingClassifier
from skcoteach.model_selection import CoTeachingGridSearchCV

from .conftest import fit_together_and_alone, keras_backend, tiny_mlp


@pytest.fixture(scope="module")
def small(request):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X[:240] / 16.0).astype(np.float32), y[:240]


def _clf(**params):
    return CoTeachingClassifier(
        tiny_mlp, **{"tau": 0.2, "epochs": 2, "batch_size": 32, "random_state": 0, **params}
    )


def _assert_same_search(ours, theirs):
    assert set(ours.cv_results_) == set(theirs.cv_results_)
    for key, value in theirs.cv_results_.items():
        if "time" in key:
            continue
        if key == "params" or value.dtype == object:
            assert list(ours.cv_results_[key]) == list(value), key
        else:
            np.testing.assert_allclose(ours.cv_results_[key], value, atol=1e-6, err_msg=key)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_index_ == theirs.best_index_
    assert ours.n_splits_ == theirs.n_splits_
    assert ours.best_score_ == pytest.approx(theirs.best_score_, abs=1e-6)


def test_same_results_as_gridsearchcv(small):
    X, y = small
    grid = [{"tau": [0.1, 0.5], "Tk": [1, 3]}, {"shuffle": ["once"]}]
    ours = CoTeachingGridSearchCV(_clf(), grid, cv=2, return_train_score=True).fit(X, y)
    theirs = GridSearchCV(_clf(), grid, cv=2, return_train_score=True).fit(X, y)
    _assert_same_search(ours, theirs)
    assert ours.n_fits_together_ == [10]  # one group: 5 candidates x 2 folds
    assert isinstance(ours.best_estimator_, CoTeachingClassifier)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6
    )
    assert np.all(ours.cv_results_["mean_fit_time"] > 0)


@pytest.mark.parametrize("stacking", ["vmap", "map"])
def test_each_fit_equals_its_own_fit(small, stacking, monkeypatch):
    """Rules, orders, peers and seeds differ per fit; weights match a separate fit.

    Under JAX, with either form of a stack's step (``vmap`` or ``lax.map``).
    """
    if keras_backend() == "jax":
        from skcoteach.backends.jax import _joint

        monkeypatch.setattr(_joint, "STACKING", stacking)
    elif stacking != "vmap":
        pytest.skip("the stacking of Keras's JAX backend")
    X, y = small
    params = [
        dict(tau=0.3, Tk=2),
        dict(tau=0.6, Tk=1, shuffle=True, random_state=2),  # stacked with the first under JAX
        dict(tau=0.5, strategy="jocor", shuffle="once", random_state=4),
        dict(tau=0.4, strategy="coteaching_plus", n_peers=3, model__hidden=8),
        dict(tau=0.2, shuffle=False),
    ]
    folds = [np.arange(40, 240)]
    estimators, data = [], []
    for p in params:
        for rows in folds:
            estimators.append(_clf(**p))
            data.append((X[rows], y[rows]))
    for together, alone in fit_together_and_alone(estimators, data):
        assert together.history_.keys() == alone.history_.keys()
        np.testing.assert_allclose(together.history_["loss"], alone.history_["loss"], rtol=1e-5)
        assert together.history_["forget_rate"] == alone.history_["forget_rate"]
        assert together.n_iter_ == alone.n_iter_ == 2


def test_what_trains_together(small, monkeypatch):
    """Schedules and seeds share a program on both backends; networks only on TensorFlow.

    Under JAX a group is a stack of fits of one program, trained by the step
    under ``vmap``: another network is another stack.
    """
    X, y = small
    grid = {"tau": [0.1, 0.5], "random_state": [0, 1], "model__hidden": [4, 8]}
    stacks = []
    if keras_backend() == "jax":
        from skcoteach.backends.jax import _joint

        train_stack = _joint._train_stack

        def recorded(jobs):
            stacks.append(sorted(job.estimator.get_params()["model__hidden"] for job in jobs))
            return train_stack(jobs)

        monkeypatch.setattr(_joint, "_train_stack", recorded)
    ours = CoTeachingGridSearchCV(_clf(), grid, cv=2).fit(X, y)
    _assert_same_search(ours, GridSearchCV(_clf(), grid, cv=2).fit(X, y))
    if keras_backend() == "jax":
        assert sorted(ours.n_fits_together_) == [8, 8]
        assert sorted(stacks) == [[4] * 8, [8] * 8]
    else:
        assert ours.n_fits_together_ == [16]


def test_auto_batch_size_per_fold():
    """Folds of 4,100 and 2,100 rows: batches of 128 and 64, 33 per epoch either way.

    ``batch_size="auto"`` resolves per training set; on TensorFlow the two
    fits train in one step (each job has batches of its own size), under JAX
    in two stacks (another training-set size); each equals its own fit.
    """
    rng = np.random.RandomState(0)
    X = rng.normal(size=(4200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    splits = [(np.arange(4100), np.arange(4100, 4200)), (np.arange(2100), np.arange(4100, 4200))]
    clf = _clf(batch_size="auto", epochs=1)
    ours = CoTeachingGridSearchCV(clf, {"tau": [0.3]}, cv=splits).fit(X, y)
    _assert_same_search(ours, GridSearchCV(clf, {"tau": [0.3]}, cv=splits).fit(X, y))
    assert ours.n_fits_together_ == ([1, 1] if keras_backend() == "jax" else [2])
    assert ours.best_estimator_.batch_size_ == 128


def test_pipeline_with_preprocessing_candidates(small):
    X, y = small
    pipe = make_pipeline(StandardScaler(), _clf())
    grid = {
        "standardscaler__with_mean": [True, False],
        "coteachingclassifier__tau": [0.6],
    }
    ours = CoTeachingGridSearchCV(pipe, grid, cv=2).fit(X, y)
    theirs = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    _assert_same_search(ours, theirs)
    # Another preprocessing is another group.
    assert sorted(ours.n_fits_together_) == [2, 2]
    assert ours.best_estimator_[-1].n_iter_ == 2


def test_fits_trained_alone_and_failures(small):
    """tau="auto" is fitted alone; an invalid candidate scores error_score as in GridSearchCV."""
    X, y = small
    grid = {"tau": [1.5, "auto", 0.3]}  # the group's first fit is the invalid one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.simplefilter("ignore", UserWarning)
        ours = CoTeachingGridSearchCV(_clf(), grid, cv=2).fit(X, y)
        theirs = GridSearchCV(_clf(), grid, cv=2).fit(X, y)
    _assert_same_search(ours, theirs)
    assert np.isnan(ours.cv_results_["mean_test_score"][0])
    assert sorted(ours.n_fits_together_) == [1, 1, 4]  # auto x 2 folds alone; 1.5 and 0.3 together
    with pytest.raises(InvalidParameterError, match="tau"):
        CoTeachingGridSearchCV(_clf(), grid, cv=2, error_score="raise").fit(X, y)


def test_chunks_and_unequal_folds(small):
    X, y = small
    grid = {"tau": [0.1, 0.5]}
    ours = CoTeachingGridSearchCV(_clf(), grid, cv=3, max_fits_together=4).fit(X, y)
    assert ours.n_fits_together_ == [4, 2]
    _assert_same_search(ours, GridSearchCV(_clf(), grid, cv=3).fit(X, y))
    # 150 / 151 training rows at batch 150: one batch per epoch or two, so two groups.
    X_odd, y_odd = X[:226], y[:226]
    clf = _clf(batch_size=150)
    ours = CoTeachingGridSearchCV(clf, {"tau": [0.2]}, cv=KFold(3)).fit(X_odd, y_odd)
    assert sorted(ours.n_fits_together_) == [1, 2]
    _assert_same_search(ours, GridSearchCV(clf, {"tau": [0.2]}, cv=KFold(3)).fit(X_odd, y_odd))


def test_groups_clone_and_pickle(small):
    X, y = small
    groups = np.arange(len(y)) % 4
    search = CoTeachingGridSearchCV(_clf(), {"Tk": [1, 2]}, cv=GroupKFold(2))
    assert clone(search).get_params()["max_fits_together"] == "auto"
    search.fit(X, y, groups=groups)
    theirs = GridSearchCV(_clf(), {"Tk": [1, 2]}, cv=GroupKFold(2)).fit(X, y, groups=groups)
    _assert_same_search(search, theirs)
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))


def test_inner_loop_of_nested_cv(small):
    X, y = small
    inner = CoTeachingGridSearchCV(_clf(), {"tau": [0.2, 0.4]}, cv=2)
    nested = cross_val_score(inner, X, y, cv=2)
    reference = cross_val_score(GridSearchCV(_clf(), {"tau": [0.2, 0.4]}, cv=2), X, y, cv=2)
    np.testing.assert_allclose(nested, reference, atol=1e-6)


def test_fit_parameters_fall_back_to_gridsearchcv(small):
    X, y = small
    w = np.linspace(0.5, 1.5, len(y))
    ours = CoTeachingGridSearchCV(_clf(), {"tau": [0.2, 0.4]}, cv=2).fit(X, y, sample_weight=w)
    theirs = GridSearchCV(_clf(), {"tau": [0.2, 0.4]}, cv=2).fit(X, y, sample_weight=w)
    _assert_same_search(ours, theirs)
    assert ours.n_fits_together_ == []


def test_bad_max_fits_together(small):
    X, y = small
    with pytest.raises(InvalidParameterError, match="max_fits_together"):
        CoTeachingGridSearchCV(_clf(), {"tau": [0.2]}, max_fits_together=0).fit(X, y)


def test_groups_go_to_joblib_workers(small):
    """n_jobs=2 sends the groups to loky workers; the fitted fits travel back pickled."""
    X, y = small
    grid = {"tau": [0.1, 0.4]}
    ours = CoTeachingGridSearchCV(_clf(), grid, cv=2, max_fits_together=2, n_jobs=2).fit(X, y)
    assert ours.n_fits_together_ == [2, 2]
    _assert_same_search(ours, GridSearchCV(_clf(), grid, cv=2).fit(X, y))


def _linear(meta):
    """No ReLU that could die and freeze the weights: a too large step overflows them.

    Logits out (no softmax): Keras's JAX backend computes a softmax output's
    cross-entropy from clipped probabilities, whose gradient vanishes once
    saturated, so a too large step would not diverge there.
    """
    import keras

    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(16),
            keras.layers.Dense(meta["n_classes_"]),
        ]
    )


def test_diverging_fits_fail_as_their_own_fits_do(small):
    X, y = small
    clf = CoTeachingClassifier(
        _linear, optimizer="sgd", optimizer__learning_rate=1e8, epochs=3, batch_size=64, random_state=0
    )
    grid = {"tau": [0.1, 0.3]}
    search = CoTeachingGridSearchCV(clf, grid, cv=2)
    for each in (search, GridSearchCV(clf, grid, cv=2)):
        with pytest.raises(ValueError, match=r"(?s)All the 4 fits failed.*Training diverged in epoch"):
            each.fit(X, y)
    assert search.n_fits_together_ == [4]
    with pytest.raises(ValueError, match=r"diverged in epoch \d.*learning_rate=1e\+07"):
        CoTeachingGridSearchCV(clf, grid, cv=2, error_score="raise").fit(X, y)
