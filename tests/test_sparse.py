"""scipy.sparse input: everywhere X goes, never densified as a whole, on every Keras backend."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skcoteach import CoTeachingClassifier
from skcoteach._build import feature_scaling
from skcoteach.label_issues import find_label_issues
from skcoteach.model_selection import CoTeachingGridSearchCV

FORMATS = ["csr", "csc", "coo"]


def _data(n=240, d=40, density=0.1, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    y = np.argmax(X @ rng.normal(size=(d, 3)), axis=1)
    return X, y


def plain(meta, hidden=8):
    """A network without scaling: sparse and dense inputs must train identically."""
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def _clf(**params):
    params = {"tau": 0.2, "epochs": 2, "batch_size": 32, "random_state": 0, **params}
    return CoTeachingClassifier(plain, **params)


def _same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.model_.get_weights(), b.model_.get_weights()))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["matrix", "array"])
def test_sparse_fit_trains_as_the_dense_matrix(fmt, kind):
    X, y = _data()
    Xs = X.asformat(fmt) if kind == "matrix" else sp.csr_array(X).asformat(fmt)
    dense = _clf().fit(X.toarray(), y)
    sparse = _clf().fit(Xs, y)
    assert _same_weights(dense, sparse)
    np.testing.assert_allclose(sparse.predict_proba(Xs), dense.predict_proba(X.toarray()), atol=1e-6)
    assert sparse.score(Xs, y) == dense.score(X.toarray(), y)
    np.testing.assert_array_equal(sparse.sample_loss_, dense.sample_loss_)


def test_sparse_input_is_not_modified():
    X, y = _data()
    X = X.astype(np.float64)
    X.indices = X.indices.astype(np.int32)
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    clf = _clf(validation_split=0.2).fit(X, y)
    clf.predict_proba(X)
    for now, then in zip((X.data, X.indices, X.indptr), before):
        np.testing.assert_array_equal(now, then)
    assert X.dtype == np.float64 and X.indices.dtype == np.int32


def test_duplicate_entries_are_summed_as_scipy_does():
    rows, cols = np.array([0, 0, 1, 2, 2]), np.array([1, 1, 0, 2, 2])
    X = sp.coo_matrix((np.array([1.0, 2.0, 1.0, 0.5, 0.5]), (rows, cols)), shape=(3, 3))
    X = sp.vstack([X] * 20).tocoo()
    y = np.tile([0, 1, 0], 20)
    dense = _clf().fit(X.toarray(), y)
    sparse = _clf().fit(X, y)
    assert _same_weights(dense, sparse)


def test_sparse_prediction_in_chunks_equals_dense():
    X, y = _data(n=600)
    clf = _clf(batch_size=16).fit(X, y)  # 8 * 16 rows per chunk: several chunks
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(X.toarray()), atol=1e-6)


def test_sparse_validation_data_and_split():
    X, y = _data()
    by_data = _clf().fit(X[:200], y[:200], validation_data=(X[200:], y[200:]))
    by_dense = _clf().fit(X[:200], y[:200], validation_data=(X[200:].toarray(), y[200:]))
    assert by_data.history_["val_loss"] == pytest.approx(by_dense.history_["val_loss"], abs=1e-6)
    split = _clf(validation_split=0.2).fit(X, y)
    assert split.sample_loss_.shape == (192,)
    assert len(split.history_["val_accuracy"]) == 2


def test_sparse_partial_fit_and_warm_start():
    X, y = _data()
    sparse = _clf().partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X.tocsc(), y)
    dense = _clf().partial_fit(X.toarray(), y, classes=[0, 1, 2]).partial_fit(X.toarray(), y)
    assert _same_weights(dense, sparse)
    warm = _clf(warm_start=True).fit(X, y)
    warm.fit(X, y)
    assert warm.n_iter_ == 4


def test_sparse_fit_with_tau_auto_and_every_rule():
    X, y = _data()
    for strategy in ("coteaching", "coteaching_plus", "jocor"):
        clf = CoTeachingClassifier(
            plain, strategy=strategy, tau="auto", epochs=3, batch_size=32, random_state=0
        ).fit(X, y)
        assert 0 <= clf.tau_ < 1
        assert clf.predict(X).shape == (240,)


def test_text_pipeline_and_label_issues():
    words = ["apple", "banana", "cherry", "delta", "echo", "fox", "golf", "hotel"]
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    docs = [" ".join(rng.choice(words[4 * c : 4 * c + 4], 6)) for c in y]
    pipe = make_pipeline(TfidfVectorizer(), _clf(epochs=10))
    pipe.fit(docs, y)
    assert pipe.score(docs, y) > 0.9
    mask = find_label_issues(pipe, docs, y)
    assert mask.shape == (200,) and mask.dtype == bool
    X = pipe[:-1].transform(docs)
    assert sp.issparse(X)
    np.testing.assert_array_equal(pipe[-1].find_label_issues(X, y), mask)


def test_grouped_search_on_sparse_equals_grid_search():
    X, y = _data()
    grid = {"tau": [0.1, 0.3]}
    ours = CoTeachingGridSearchCV(_clf(), grid, cv=2).fit(X, y)
    theirs = GridSearchCV(_clf(), grid, cv=2).fit(X, y)
    np.testing.assert_allclose(
        ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], atol=1e-6
    )


def test_default_network_shrinks_only_large_sparse_columns_and_never_centres():
    X = sp.csr_matrix(np.array([[0.0, 4.0, 0.0], [0.0, -8.0, 0.0], [0.0, 0.0, 0.5]]))
    offset, variance = feature_scaling(X)
    np.testing.assert_array_equal(offset, [0, 0, 0])
    np.testing.assert_allclose(variance, [1, (16 + 64) / 3, 1])  # mean square, at least 1


def test_default_network_leaves_dense_binary_columns_and_standardises_the_rest():
    X = np.array([[0.0, 1.0, 3.0, 0.0], [1.0, 1.0, 5.0, 0.0], [0.0, 0.0, 7.0, 0.0]])
    offset, variance = feature_scaling(X)
    np.testing.assert_allclose(offset, [0, 0, 5, 0])
    np.testing.assert_allclose(variance, [1, 1, np.var([3, 5, 7]), 1])


def test_default_network_on_sparse_input():
    X, y = _data()
    clf = CoTeachingClassifier(tau=0.2, epochs=2, random_state=0).fit(X, y)
    (layer,) = [lay for lay in clf.peers_[0].layers if isinstance(lay, keras.layers.Normalization)]
    np.testing.assert_allclose(np.ravel(layer.mean), 0.0)


def test_values_beyond_float32_are_an_input_error_before_tensorflow_loads():
    code = textwrap.dedent(
        """
        import sys
        import numpy as np, scipy.sparse as sp
        from skcoteach import CoTeachingClassifier
        X = np.ones((20, 3)); X[3, 1] = -1e39
        for data in (X, sp.csr_matrix(X)):
            try:
                CoTeachingClassifier(epochs=1).fit(data, np.arange(20) % 2)
            except ValueError as exc:
                print(exc)
        print("tensorflow" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[-1] == "False"
    for line in lines[:2]:
        assert "too large for float32" in line and "-1e+39 at row 3, column 1" in line


def test_values_beyond_float32_in_prediction():
    X, y = _data()
    clf = _clf().fit(X, y)
    bad = X.copy()
    bad.data[0] = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        clf.predict(bad)
