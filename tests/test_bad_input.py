"""Every wrong call fails fast with an error that says what to fix."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

rng = np.random.RandomState(0)
X = rng.normal(size=(40, 5))
y = np.arange(40) % 3
IMAGES = rng.normal(size=(40, 6, 6))


def fitted(X=X, y=y, **params):
    return CoTeachingClassifier(tiny_mlp, epochs=1, random_state=0, **params).fit(X, y)


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def not_a_model(meta):
    return "a string"


def wrong_units(meta):
    return tiny_mlp({**meta, "n_classes_": 4})


def takes_nothing(meta):
    return tiny_mlp(meta)


def est(**params):
    return CoTeachingClassifier(tiny_mlp, **{"epochs": 1, "random_state": 0, **params})


# (id, callable raising, exception type, message pattern)
CASES = [
    (
        "nan in X",
        lambda: est().fit(with_value(X, (0, 0), np.nan), y),
        ValueError,
        "Input X contains NaN",
    ),
    (
        "inf in X",
        lambda: est().fit(with_value(X, (1, 2), np.inf), y),
        ValueError,
        "Input X contains infinity",
    ),
    ("one class", lambda: est().fit(X, np.zeros(40)), ValueError, "at least 2 classes.*one class"),
    ("y length", lambda: est().fit(X, y[:-1]), ValueError, "inconsistent numbers of samples"),
    ("empty X", lambda: est().fit(X[:0], y[:0]), ValueError, "0 sample"),
    ("1-D X", lambda: est().fit(X[:, 0], y), ValueError, "Expected 2D array"),
    ("continuous y", lambda: est().fit(X, X[:, 0]), ValueError, "Unknown label type"),
    ("2-D y", lambda: est().fit(X, np.c_[y, y]), ValueError, "y should be a 1d array"),
    ("string X", lambda: est().fit(np.full((40, 5), "a"), y), ValueError, "string"),
    (
        "sparse X with NaN",
        lambda: est().fit(sp.csr_matrix(np.where(X > 1, np.nan, X)), y),
        ValueError,
        "Input X contains NaN",
    ),
    (
        "X beyond float32",
        lambda: est().fit(np.where(X > 1, 1e39, X), y),
        ValueError,
        "too large for float32.*1e\\+39 at row",
    ),
    (
        "sparse features at predict",
        lambda: fitted().predict(sp.csr_matrix(X[:, :4])),
        ValueError,
        "X has 4 features, but CoTeachingClassifier is expecting 5 features",
    ),
    (
        "features at predict",
        lambda: fitted().predict(X[:, :4]),
        ValueError,
        "X has 4 features, but CoTeachingClassifier is expecting 5 features",
    ),
    (
        "image shape at predict",
        lambda: fitted(IMAGES).predict(rng.normal(size=(3, 6, 7))),
        ValueError,
        r"samples of shape \(6, 7\).*fitted on samples of shape \(6, 6\)",
    ),
    ("nan at predict", lambda: fitted().predict(with_value(X, (0, 0), np.nan)), ValueError, "NaN"),
    ("tau = 1", lambda: est(tau=1.0).fit(X, y), ValueError, r"'tau' parameter.*range \[0.0, 1.0\)"),
    (
        "tau < 0",
        lambda: est(tau=-0.1).fit(X, y),
        ValueError,
        r"'tau' parameter.*range \[0.0, 1.0\)",
    ),
    ("tau = 'foo'", lambda: est(tau="foo").fit(X, y), ValueError, "'tau' parameter.*Got 'foo'"),
    ("Tk < 1", lambda: est(Tk=0).fit(X, y), ValueError, r"'Tk' parameter.*range \[1.0, inf\)"),
    ("c <= 0", lambda: est(c=0).fit(X, y), ValueError, r"'c' parameter.*range \(0.0, inf\)"),
    (
        "n_peers < 2",
        lambda: est(n_peers=1).fit(X, y),
        ValueError,
        r"'n_peers' parameter.*\[2, inf\)",
    ),
    ("batch_size < 1", lambda: est(batch_size=0).fit(X, y), ValueError, "'batch_size' parameter"),
    ("epochs < 1", lambda: est(epochs=0).fit(X, y), ValueError, "'epochs' parameter"),
    (
        "validation_split 1",
        lambda: est(validation_split=1.0).fit(X, y),
        ValueError,
        "'validation_split' parameter",
    ),
    (
        "from_logits",
        lambda: est(from_logits="maybe").fit(X, y),
        ValueError,
        "'from_logits' parameter",
    ),
    (
        "model not callable",
        lambda: CoTeachingClassifier("mlp").fit(X, y),
        TypeError,
        "'model' parameter of CoTeachingClassifier must be a callable or None. Got 'mlp'",
    ),
    (
        "factory returns no model",
        lambda: CoTeachingClassifier(not_a_model).fit(X, y),
        TypeError,
        "not_a_model must return a keras.Model; it returned str",
    ),
    (
        "wrong output units",
        lambda: CoTeachingClassifier(wrong_units).fit(X, y),
        ValueError,
        "output has shape .*4.*y has 3 classes.*n_classes_=3 units",
    ),
    (
        "routed arg not accepted",
        lambda: CoTeachingClassifier(takes_nothing, model__width=3).fit(X, y),
        ValueError,
        "model__width was given but the model factory takes_nothing has no argument 'width'",
    ),
    (
        "model__ with a keras.Model",
        lambda: CoTeachingClassifier(
            tiny_mlp({"X_shape_": (1, 5), "n_classes_": 3}), model__hidden=3
        ).fit(X, y),
        ValueError,
        r"model__ parameters \['hidden'\] need a model factory",
    ),
    (
        "unknown routed prefix",
        lambda: est(fit__verbose=1).fit(X, y),
        ValueError,
        r"Unknown parameter\(s\) \['fit__verbose'\].*model__ or optimizer__",
    ),
    (
        "unrouted name",
        lambda: est(hidden=3).fit(X, y),
        ValueError,
        r"Unknown parameter\(s\) \['hidden'\]",
    ),
    (
        "unknown optimizer",
        lambda: est(optimizer="adamz").fit(X, y),
        ValueError,
        "Could not build the optimizer 'adamz'",
    ),
    (
        "bad optimizer argument",
        lambda: est(optimizer__momentun=0.9, optimizer="sgd").fit(X, y),
        ValueError,
        "Could not build the optimizer 'sgd'.*momentun",
    ),
    (
        "optimizer wrong type",
        lambda: est(optimizer=3).fit(X, y),
        TypeError,
        "'optimizer' parameter of CoTeachingClassifier must be .*Got 3 instead",
    ),
    ("predict before fit", lambda: est().predict(X), NotFittedError, "not fitted yet"),
    ("predict_proba before fit", lambda: est().predict_proba(X), NotFittedError, "not fitted yet"),
    (
        "sample_weight length",
        lambda: est().fit(X, y, sample_weight=np.ones(5)),
        ValueError,
        r"sample_weight.shape == \(5,\), expected \(40,\)",
    ),
    (
        "negative sample_weight",
        lambda: est().fit(X, y, sample_weight=-np.ones(40)),
        ValueError,
        "Negative values in data passed to `sample_weight`",
    ),
    (
        "weights leave one class",
        lambda: est().fit(X, y, sample_weight=(y == 0).astype(float)),
        ValueError,
        "Only one class has samples with positive sample_weight",
    ),
    (
        "class_weight type",
        lambda: est(class_weight=[1, 2]).fit(X, y),
        ValueError,
        "'class_weight' parameter",
    ),
    (
        "partial_fit needs classes",
        lambda: est().partial_fit(X, y),
        ValueError,
        "classes must be passed on the first call to partial_fit",
    ),
    (
        "validation_data shape",
        lambda: est().fit(X, y, validation_data=X),
        ValueError,
        r"validation_data must be a tuple \(X_val, y_val\)",
    ),
    (
        "validation labels unseen",
        lambda: est().fit(X, y, validation_data=(X, y + 5)),
        ValueError,
        r"y contains labels \[5, 6, 7\] that are not among the classes \[0, 1, 2\]",
    ),
    (
        "default model on 5-D X",
        lambda: CoTeachingClassifier(epochs=1).fit(np.zeros((4, 2, 2, 2, 2)), [0, 1] * 2),
        ValueError,
        "default CNN takes images",
    ),
    (
        "single-unit output ambiguous",
        lambda: CoTeachingClassifier(
            lambda meta: __import__("keras").Sequential(
                [
                    __import__("keras").Input((5,)),
                    __import__("keras").layers.Dense(1, activation="relu"),
                ]
            ),
            epochs=1,
        ).fit(X, y % 2),
        ValueError,
        "set from_logits=True or from_logits=False",
    ),
]


@pytest.mark.parametrize("call, exc, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_enough_cases():
    assert len(CASES) >= 20


def test_inputs_are_not_modified():
    X_in, y_in = X.copy(), np.array(["a", "b", "c"] * 13 + ["a"], dtype=object)
    w_in = np.linspace(0.5, 2, 40)
    copies = X_in.copy(), y_in.copy(), w_in.copy()
    X_val, y_val = X_in[:10].copy(), y_in[:10].copy()
    clf = est(class_weight="balanced").fit(
        X_in, y_in, sample_weight=w_in, validation_data=(X_val, y_val)
    )
    clf.predict_proba(X_in)
    np.testing.assert_array_equal(X_in, copies[0])
    np.testing.assert_array_equal(y_in, copies[1])
    np.testing.assert_array_equal(w_in, copies[2])
    np.testing.assert_array_equal(X_val, X_in[:10])


def test_failed_refit_keeps_the_previous_model():
    """A fit that fails at any stage leaves the previous, consistent state."""
    clf = fitted()
    before = clf.predict_proba(X)
    attributes = set(vars(clf))
    failing = [
        (dict(model=wrong_units), (X, y), "output has shape"),
        ({}, (with_value(X, (0, 0), np.nan), y), "Input X contains NaN"),
        ({}, (X[:, :4], np.zeros(40)), "at least 2 classes"),  # after n_features_in_ was reset
    ]
    for params, data, match in failing:
        clf.set_params(**params)
        with pytest.raises((ValueError, TypeError), match=match):
            clf.fit(*data)
        clf.set_params(model=tiny_mlp)
        assert set(vars(clf)) == attributes
        np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_failed_first_fit_leaves_estimator_unfitted():
    clf = CoTeachingClassifier(wrong_units)
    with pytest.raises(ValueError, match="output has shape"):
        clf.fit(X, y)
    assert not [k for k in vars(clf) if k.endswith("_") and not k.startswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X)


# Every problem in validation_data is reported as one of validation_data, naming the
# element at fault, with the explanation of the check that failed.
# (id, training X, validation_data, exception type, message pattern)
VALIDATION_CASES = [
    (
        "X_val features",
        X,
        (X[:, :4], y),
        ValueError,
        "^validation_data: X_val is invalid. X has 4 features, but CoTeachingClassifier "
        "is expecting 5 features",
    ),
    (
        "X_val image shape",
        IMAGES,
        (rng.normal(size=(3, 6, 7)), y[:3]),
        ValueError,
        r"^validation_data: X_val is invalid. X has samples of shape \(6, 7\).*\(6, 6\)",
    ),
    (
        "X_val nan",
        X,
        (with_value(X, (0, 0), np.nan), y),
        ValueError,
        "^validation_data: X_val is invalid. Input X contains NaN",
    ),
    (
        "X_val inf",
        X,
        (with_value(X, (1, 2), np.inf), y),
        ValueError,
        "^validation_data: X_val is invalid. Input X contains infinity",
    ),
    (
        "X_val empty",
        X,
        (X[:0], y[:0]),
        ValueError,
        r"^validation_data: X_val is invalid. Found array with 0 sample\(s\)",
    ),
    (
        "X_val 1-D",
        X,
        (X[:, 0], y),
        ValueError,
        "^validation_data: X_val is invalid. Expected 2D array",
    ),
    (
        "X_val strings",
        X,
        (np.full((40, 5), "a"), y),
        ValueError,
        "^validation_data: X_val is invalid.*string",
    ),
    (
        "y_val unseen labels",
        X,
        (X, y + 5),
        ValueError,
        r"^validation_data: y_val is invalid. y contains labels \[5, 6, 7\] that are not "
        r"among the classes \[0, 1, 2\].*classes seen in fit \[0, 1, 2\]",
    ),
    (
        "y_val 2-D",
        X,
        (X, np.c_[y, y]),
        ValueError,
        r"^validation_data: y_val is invalid. y_val should be a 1d array, got an array of "
        r"shape \(40, 2\)",
    ),
    (
        "y_val missing",
        X,
        (X, None),
        ValueError,
        r"^validation_data: y_val is invalid. y_val should be a 1d array.*shape \(\)",
    ),
    (
        "X_val and y_val lengths",
        X,
        (X, y[:-1]),
        ValueError,
        "^validation_data: X_val and y_val have different numbers of samples: 40 rows in "
        "X_val but 39 labels in y_val",
    ),
    (
        "sample_weight_val length",
        X,
        (X, y, np.ones(5)),
        ValueError,
        r"^validation_data: sample_weight_val is invalid. sample_weight.shape == \(5,\), "
        r"expected \(40,\)",
    ),
    (
        "sample_weight_val negative",
        X,
        (X, y, -np.ones(40)),
        ValueError,
        "^validation_data: sample_weight_val is invalid. Negative values",
    ),
    (
        "sample_weight_val nan",
        X,
        (X, y, np.full(40, np.nan)),
        ValueError,
        "^validation_data: sample_weight_val is invalid. Input sample_weight contains NaN",
    ),
    (
        "sample_weight_val 2-D",
        X,
        (X, y, np.ones((40, 2))),
        ValueError,
        "^validation_data: sample_weight_val is invalid. Sample weights must be 1D",
    ),
    (
        "validation_data not a tuple",
        X,
        X,
        ValueError,
        r"^validation_data must be a tuple \(X_val, y_val\).*got ndarray",
    ),
    (
        "validation_data too long",
        X,
        (X, y, None, None),
        ValueError,
        r"^validation_data must be a tuple .*got a tuple of length 4",
    ),
]


@pytest.mark.parametrize(
    "X_train, validation_data, exc, match",
    [c[1:] for c in VALIDATION_CASES],
    ids=[c[0] for c in VALIDATION_CASES],
)
def test_bad_validation_data_names_validation_data(X_train, validation_data, exc, match):
    with pytest.raises(exc, match=match) as info:
        est().fit(X_train, y, validation_data=validation_data)
    assert type(info.value) is exc


def test_column_vector_y_val_warns_and_is_used():
    """A (n, 1) y_val is raveled, as a (n, 1) training y is, with a warning naming y_val."""
    from sklearn.exceptions import DataConversionWarning

    with pytest.warns(DataConversionWarning, match="validation_data: a column-vector y_val"):
        clf = est().fit(X, y, validation_data=(X[:10], y[:10, None]))
    assert len(clf.history_["val_loss"]) == 1
