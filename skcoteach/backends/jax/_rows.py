"""Where the JAX training program reads a batch's samples from: the rows of ``x``.

The training arrays are placed on the device once (:func:`on_device`); each
step gathers its batch by sample index (:func:`take_rows`).  ``x`` is a dense
array, a :class:`SparseRows` (a scipy.sparse ``X``, never densified as a
whole), or an :class:`Offset` into either that several fits share (the folds
of a grouped search, :mod:`skcoteach.backends.jax._joint`).

Imported lazily (it imports JAX).
"""

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from keras import ops

__all__ = ["MAX_STORED", "Offset", "SparseRows", "device_rows", "n_rows", "on_device", "take_rows"]

#: The most stored values a :class:`SparseRows` holds: its positions are int32.
MAX_STORED = int(np.iinfo(np.int32).max) - 1


class Offset(NamedTuple):
    """The rows ``offset .. offset + n - 1`` of ``source``: one fit's samples in a shared array.

    A pytree, so that ``vmap`` maps ``offset`` over the fits of a group while
    ``source`` stays one array.
    """

    source: Any
    offset: Any


@dataclass(frozen=True, eq=False)
class SparseRows:
    """The rows of a scipy.sparse matrix on the device, in CSR layout, for :func:`take_rows`.

    A JAX pytree: ``indptr``, ``indices`` and ``values`` are its arrays;
    ``n_features`` and ``width`` are static (part of a compiled program's
    signature), so that a gathered batch has a static shape.

    Memory contract: the device holds exactly the stored values (after
    duplicates are summed) -- 8 bytes each, plus 4 bytes per row -- and no
    per-row padding, however unequal the rows' lengths.  A batch of ``b``
    rows is densified inside the compiled step by gathering ``b * width``
    entries and scattering them into a dense ``(b, n_features)`` float32
    block: since ``width <= n_features``, it gathers no more entries than
    that block has cells, so a batch's transient memory and work are of the
    order of the dense batch's itself.  At most :data:`MAX_STORED` stored
    values (int32 positions).

    Attributes
    ----------
    indptr : jax.Array of shape (n_rows + 1,), int32
        Row ``i``'s values are ``values[indptr[i]:indptr[i + 1]]``.
    indices : jax.Array of shape (nnz + 1,), int32
        Column of every stored value, row by row; the last entry pads: column
        ``n_features``, outside the matrix, so that its scatter is dropped.
    values : jax.Array of shape (nnz + 1,), float32
        The stored values, aligned with ``indices``; the last entry (0) pads.
    n_features : int
        Number of columns of the matrix.
    width : int
        The most values stored in one row (at least 1): how many entries a
        row's gather reads.
    """

    indptr: Any
    indices: Any
    values: Any
    n_features: int
    width: int

    @classmethod
    def from_scipy(cls, X: Any) -> "SparseRows":
        """The rows of the scipy.sparse matrix or array ``X`` (CSR, CSC, COO, ...; any real dtype).

        Duplicate entries are summed, as scipy does, on a copy: ``X`` itself is
        never modified.  Values are cast to float32, positions to int32.

        Raises
        ------
        ValueError
            If ``X`` stores more than :data:`MAX_STORED` values.
        """
        X = sp.csr_matrix(X)  # a new matrix; it shares a CSR input's arrays
        if not X.has_canonical_format:
            X = X.copy()  # sum_duplicates works in place: never on the caller's arrays
            X.sum_duplicates()
        nnz = int(X.nnz)
        if nnz > MAX_STORED:
            raise ValueError(
                f"X stores {nnz} values; the JAX backend holds at most {MAX_STORED} "
                "(int32 positions). Train on fewer rows at a time (partial_fit), or use "
                "the TensorFlow backend (KERAS_BACKEND=tensorflow)."
            )
        indptr = X.indptr.astype(np.int32)
        indices = np.full(nnz + 1, X.shape[1], np.int32)  # one padding entry, past the columns
        indices[:nnz] = X.indices
        values = np.zeros(nnz + 1, np.float32)
        values[:nnz] = X.data
        width = max(1, int(np.diff(indptr).max(initial=0)))
        return cls(
            jnp.asarray(indptr), jnp.asarray(indices), jnp.asarray(values), int(X.shape[1]), width
        )

    def take(self, index: Any) -> Any:
        """The rows ``index`` (int32, shape ``(b,)``) as a dense ``(b, n_features)`` float32 array.

        Indices are in ``[-n_rows, n_rows)``; negative ones count from the
        end, as for a dense array.  Traceable: the shapes depend on
        ``len(index)``, ``width`` and ``n_features`` only.
        """
        index = jnp.where(index < 0, index + (self.indptr.shape[0] - 1), index)
        start = jnp.take(self.indptr, index)
        length = jnp.take(self.indptr, index + 1) - start
        step = jnp.arange(self.width, dtype=jnp.int32)
        padding = self.values.shape[0] - 1
        where = jnp.where(step < length[:, None], start[:, None] + step, padding)
        columns, values = jnp.take(self.indices, where), jnp.take(self.values, where)
        rows = jnp.broadcast_to(jnp.arange(where.shape[0], dtype=jnp.int32)[:, None], where.shape)
        dense = jnp.zeros((where.shape[0], self.n_features), jnp.float32)
        # The padding's column is past the last: dropped, not added (no contention on one cell).
        return dense.at[rows, columns].add(values, mode="drop")


jax.tree_util.register_dataclass(
    SparseRows, data_fields=["indptr", "indices", "values"], meta_fields=["n_features", "width"]
)


def take_rows(x: Any, index: Any) -> Any:
    """The samples ``index`` of ``x``, dense float32.

    ``x`` is a dense array, a :class:`SparseRows` (its rows densified) or an
    :class:`Offset` of either (the rows ``index + offset`` of its source).
    """
    if isinstance(x, Offset):
        return take_rows(x.source, index + x.offset)
    if isinstance(x, SparseRows):
        return x.take(index)
    return ops.take(x, index, axis=0)


def n_rows(x: Any) -> int:
    """Number of samples held by ``x`` (an :class:`Offset`'s source counts whole)."""
    if isinstance(x, Offset):
        return n_rows(x.source)
    if isinstance(x, SparseRows):
        return int(x.indptr.shape[0]) - 1
    return int(x.shape[0])


def device_rows(x: Any) -> Any:
    """``x`` as :func:`take_rows` reads it: a float32 JAX array, or :class:`SparseRows` if sparse.

    A scipy.sparse ``x`` is never densified (see :class:`SparseRows` for the
    memory it takes); a :class:`SparseRows` is returned as it is.
    """
    if isinstance(x, SparseRows):
        return x
    if sp.issparse(x):
        return SparseRows.from_scipy(x)
    return jnp.asarray(np.asarray(x, np.float32))


def on_device(x: Any, y: Any, sample_weight: Any) -> tuple:
    """``(x, y, sample_weight)`` on the device, of one length: :func:`device_rows`, int32, float32.

    ``x`` may be a scipy.sparse matrix or array (any format): it is held as
    :class:`SparseRows`, never densified as a whole.

    Raises
    ------
    ValueError
        If the three do not have the same number of samples.
    """
    arrays = (
        device_rows(x),
        jnp.asarray(np.asarray(y, np.int32)),
        jnp.asarray(np.asarray(sample_weight, np.float32)),
    )
    lengths = [n_rows(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"x, y and sample_weight must have the same length, got {lengths}.")
    return arrays
