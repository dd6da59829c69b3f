"""Sparse training data inside the compiled training step.

A scipy.sparse ``X`` is never densified as a whole: it is held by the
training program as two ragged tensors (the column indices and the values of
every row, sharing the CSR row splits), and each mini-batch is gathered by
sample index and scattered into a dense ``(batch, n_features)`` block inside
the compiled step.  Memory is that of the non-zero entries plus one dense
batch.

Imported lazily (it imports TensorFlow).
"""

from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
import tensorflow as tf

__all__ = ["SparseRows", "as_tensor", "gather_rows", "n_rows"]


class SparseRows(NamedTuple):
    """The rows of a CSR matrix as tensors a compiled function can gather from.

    A named tuple so that ``tf.nest`` (hence ``tf.function`` arguments) sees
    its tensors.

    Attributes
    ----------
    columns : tf.RaggedTensor of shape (n_rows, None), int64
        Column index of every stored entry, row by row.
    values : tf.RaggedTensor of shape (n_rows, None), float32
        The stored values, aligned with ``columns``.
    n_features : int
        Number of columns of the matrix.
    """

    columns: tf.RaggedTensor
    values: tf.RaggedTensor
    n_features: int

    @classmethod
    def from_scipy(cls, X):
        """The rows of the scipy.sparse matrix or array ``X`` (any format, any float dtype).

        Duplicate entries are kept; a gathered batch sums them, as scipy does.
        """
        X = sp.csr_matrix(X)  # no copy for a CSR input
        splits = X.indptr.astype(np.int64)
        columns = tf.RaggedTensor.from_row_splits(X.indices.astype(np.int64), splits, validate=False)
        values = tf.RaggedTensor.from_row_splits(
            X.data.astype(np.float32, copy=False), splits, validate=False
        )
        return cls(columns, values, int(X.shape[1]))


def as_tensor(array: Any) -> tf.Tensor | SparseRows:
    """``array`` as what the training step gathers from: a tensor, or :class:`SparseRows`."""
    if isinstance(array, SparseRows):
        return array
    if sp.issparse(array):
        return SparseRows.from_scipy(array)
    return tf.convert_to_tensor(array)


def n_rows(tensor: tf.Tensor | SparseRows) -> int:
    """Number of rows of a tensor or :class:`SparseRows`."""
    if isinstance(tensor, SparseRows):
        return int(tensor.columns.nrows())
    return int(tensor.shape[0])


def gather_rows(tensor: tf.Tensor | SparseRows, index: tf.Tensor) -> tf.Tensor:
    """Rows ``index`` of ``tensor``; a dense ``(len(index), n_features)`` block for sparse rows."""
    if not isinstance(tensor, SparseRows):
        return tf.gather(tensor, index)
    columns = tf.gather(tensor.columns, index)
    values = tf.gather(tensor.values, index)
    positions = tf.stack([columns.value_rowids(), columns.flat_values], axis=1)
    shape = tf.stack([tf.shape(index, out_type=tf.int64)[0], tf.constant(tensor.n_features, tf.int64)])
    return tf.scatter_nd(positions, values.flat_values, shape)
