"""scipy.sparse X under Keras's JAX backend: held in CSR layout on the device, never densified whole.

Every check runs under JAX: in this process when it runs JAX, else in a
subprocess with ``KERAS_BACKEND=jax`` (the function is imported from this
module there).  Skipped where jax is not installed.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from .test_sparse import _clf
from .test_sparse import _data as sparse_problem

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed"
)


def _under_jax(check):
    """Run ``check`` (a function of this module) with Keras's JAX backend."""
    import keras

    if keras.backend.backend() == "jax":
        check()
        return
    code = f"from tests.test_jax_sparse import {check.__name__} as check; check()"
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _data():
    """A smaller problem of ``test_sparse``'s kind (its network has no scaling either)."""
    return sparse_problem(n=160, d=30)


def _assert_same_weights(a, b):
    for u, v in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True):
        np.testing.assert_allclose(u, v, atol=1e-5)


def _awkward_matrix():
    """COO with duplicates (summed by scipy), empty rows, and one row far longer than the rest."""
    rows = np.array([0, 0, 0, 2, 2, 5, 5, 5, 5, 5, 5, 5, 5, 6])
    cols = np.array([3, 3, 1, 0, 7, 0, 1, 2, 3, 4, 5, 6, 7, 7])
    vals = np.arange(1.0, 15.0)
    return sp.coo_matrix((vals, (rows, cols)), shape=(8, 8))  # rows 1, 3, 4, 7 empty


def check_sparse_fit_trains_as_the_dense_matrix():
    from skcoteach import CoTeachingClassifier

    assert CoTeachingClassifier().__sklearn_tags__().input_tags.sparse
    X, y = _data()
    dense = _clf().fit(X.toarray(), y)
    inputs = [X.asformat(fmt) for fmt in ("csr", "csc", "coo")]
    inputs += [sp.csr_array(X), sp.coo_array(X)]
    for Xs in inputs:
        sparse = _clf().fit(Xs, y)
        _assert_same_weights(dense, sparse)
        np.testing.assert_allclose(sparse.sample_loss_, dense.sample_loss_, atol=1e-5)
        np.testing.assert_allclose(
            sparse.predict_proba(Xs), dense.predict_proba(X.toarray()), atol=1e-5
        )


def check_take_rows_of_sparse_rows_equals_the_dense_rows():
    import jax
    import jax.numpy as jnp

    from skcoteach.backends.jax._rows import Offset, SparseRows, n_rows, on_device, take_rows

    X = _awkward_matrix()
    dense = X.toarray()  # the duplicates summed
    rows = SparseRows.from_scipy(X)
    assert (rows.n_features, rows.width, n_rows(rows)) == (8, 8, 8)
    assert rows.values.shape == (X.tocsr().nnz + 1,)  # the stored values and one pad, no more
    take = jax.jit(take_rows)
    for index in ([0, 1, 2, 3, 4, 5, 6, 7], [5, 5, 1, 0], [7], [3, 4], [-1, -3, -8]):
        got = np.asarray(take(rows, jnp.asarray(index, jnp.int32)))
        np.testing.assert_array_equal(got, dense[index])
    # An Offset reads rows index + offset of its source; vmap maps the offsets.
    index = jnp.asarray([0, 1, 2], jnp.int32)
    got = take(Offset(rows, jnp.int32(4)), index)
    np.testing.assert_array_equal(np.asarray(got), dense[4:7])
    both = jax.vmap(take_rows, in_axes=(Offset(None, 0), None))(
        Offset(rows, jnp.asarray([0, 5], jnp.int32)), index
    )
    np.testing.assert_array_equal(np.asarray(both), np.stack([dense[0:3], dense[5:8]]))
    # A matrix with no stored value, and on_device's sparse rows.
    empty = SparseRows.from_scipy(sp.csr_matrix((3, 4)))
    assert empty.width == 1
    np.testing.assert_array_equal(np.asarray(take(empty, jnp.asarray([2, 0], jnp.int32))), 0)
    x, y, w = on_device(sp.csc_array(X), np.arange(8), np.ones(8))
    assert isinstance(x, SparseRows) and n_rows(x) == 8
    np.testing.assert_array_equal(np.asarray(take(x, jnp.arange(8, dtype=jnp.int32))), dense)
    with pytest.raises(ValueError, match="same length"):
        on_device(X, np.arange(7), np.ones(7))


def check_sparse_layout_limits():
    from skcoteach.backends.jax import _rows

    # One long row among short ones: the device holds the stored values, not rows * width.
    X = sp.vstack([sp.csr_matrix(np.ones((1, 500))), sp.eye(300, 500, format="csr")]).tocsr()
    rows = _rows.SparseRows.from_scipy(X)
    assert rows.width == 500 and rows.values.shape == (800 + 1,) and rows.indices.shape == (801,)
    limit, _rows.MAX_STORED = _rows.MAX_STORED, 799
    try:
        with pytest.raises(ValueError, match="stores 800 values"):
            _rows.SparseRows.from_scipy(X)
    finally:
        _rows.MAX_STORED = limit


def check_sparse_input_is_not_modified():
    from skcoteach.backends.jax._rows import SparseRows

    # Unsorted column indices and duplicates, in CSR and COO: summed on copies only.
    csr = sp.csr_matrix(
        (np.array([2.0, 1.0, 1.0, 3.0]), np.array([4, 1, 4, 0]), np.array([0, 3, 3, 4])), shape=(3, 5)
    )
    coo = _awkward_matrix()
    for X in (csr, coo, sp.csr_array(csr)):
        arrays = (X.data, *((X.indices, X.indptr) if X.format == "csr" else X.coords))
        before = [a.copy() for a in arrays]
        rows = SparseRows.from_scipy(X)
        assert int(rows.values.shape[0]) - 1 < X.nnz  # the duplicates were summed
        for now, then in zip(arrays, before, strict=True):
            np.testing.assert_array_equal(now, then)
    X, y = _data()
    X.indices = X.indices.astype(np.int64)
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    clf = _clf(validation_split=0.2).fit(X, y)
    clf.predict_proba(X)
    for now, then in zip((X.data, X.indices, X.indptr), before, strict=True):
        np.testing.assert_array_equal(now, then)
    assert X.dtype == np.float64 and X.indices.dtype == np.int64


def check_sparse_validation_data():
    X, y = _data()
    by_sparse = _clf().fit(X[:120], y[:120], validation_data=(X[120:].tocoo(), y[120:]))
    by_dense = _clf().fit(X[:120].toarray(), y[:120], validation_data=(X[120:].toarray(), y[120:]))
    assert len(by_sparse.history_["val_loss"]) == 2
    for key in ("val_loss", "val_accuracy"):
        np.testing.assert_allclose(by_sparse.history_[key], by_dense.history_[key], atol=1e-6)
    split = _clf(validation_split=0.25).fit(X, y)
    split_dense = _clf(validation_split=0.25).fit(X.toarray(), y)
    assert split.sample_loss_.shape == (120,)
    np.testing.assert_allclose(split.history_["val_loss"], split_dense.history_["val_loss"], atol=1e-6)


def check_sparse_partial_fit_and_label_issues():
    from skcoteach.label_issues import find_label_issues

    X, y = _data()
    sparse = _clf().partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X.tocsc(), y)
    dense = _clf().partial_fit(X.toarray(), y, classes=[0, 1, 2]).partial_fit(X.toarray(), y)
    _assert_same_weights(dense, sparse)
    assert sparse.n_iter_ == 2
    np.testing.assert_array_equal(find_label_issues(sparse, X, y), find_label_issues(dense, X.toarray(), y))


def test_sparse_fit_trains_as_the_dense_matrix_under_jax():
    # CSR, CSC, COO matrices and CSR, COO arrays: the weights of the dense fit within 1e-5.
    _under_jax(check_sparse_fit_trains_as_the_dense_matrix)


def test_take_rows_of_sparse_rows_equals_the_dense_rows():
    # Duplicates summed, empty rows, the longest row, an Offset (vmapped too), no stored value.
    _under_jax(check_take_rows_of_sparse_rows_equals_the_dense_rows)


def test_sparse_layout_holds_the_stored_values_only_and_refuses_too_many():
    _under_jax(check_sparse_layout_limits)


def test_sparse_input_is_not_modified_under_jax():
    _under_jax(check_sparse_input_is_not_modified)


def test_sparse_validation_data_under_jax():
    _under_jax(check_sparse_validation_data)


def test_sparse_partial_fit_and_label_issues_under_jax():
    _under_jax(check_sparse_partial_fit_and_label_issues)
