"""Prediction on JAX: one compiled program per network structure, shared by every fitted ensemble.

Keras's own ``predict`` jits a new function for every model, so each fold of
a cross-validation, each candidate of a search and each refit paid a
compilation to score a few thousand rows.  Here the prediction program is a
:class:`~skcoteach.backends.jax._programs.Shared` function of the ensemble's
variables' values and one chunk of rows: ensembles of the same structure
share its executables, and chunks are padded to a few shapes (the full
chunk, or a power of two below it), so a handful of executables serves any
number of rows.

Imported lazily (it imports JAX).
"""

from __future__ import annotations

import weakref
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp

from .._fit_loop import EAGER_PREDICT_BATCHES
from ._programs import Shared

__all__ = ["predict_proba"]

#: The prediction program of each ensemble (traced on it; the executable is shared).
_PROGRAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _program(model: Any) -> Shared:
    program = _PROGRAMS.get(model)
    if program is None:

        def run(state, x):
            trainable, non_trainable = state
            mapping = [
                *zip(model.trainable_variables, trainable),
                *zip(model.non_trainable_variables, non_trainable),
            ]
            with keras.StatelessScope(state_mapping=mapping):
                return model(x, training=False)

        program = _PROGRAMS[model] = Shared(run)
    return program


def predict_proba(model: Any, X: Any, batch_size: int) -> np.ndarray:
    """The ensemble's mean class probabilities of a validated ``X``, float64.

    ``X`` (dense, or scipy.sparse, densified a chunk at a time) is predicted
    in chunks of ``EAGER_PREDICT_BATCHES * batch_size`` rows (fewer rows: the
    next power of two) by one compiled program (see the module); the last
    chunk is padded with zeros and its padding dropped.  Under a ``keras.distribution``, Keras's own ``predict``
    (:func:`skcoteach.backends.jax._training.predict_proba`).
    """
    if keras.distribution.distribution() is not None:
        from ._training import predict_proba as distributed

        return distributed(model, X, batch_size)
    n = X.shape[0]
    # Fewer rows than a chunk: the next power of two, so that any number of
    # rows compiles at most log2(chunk) + 1 shapes.
    chunk = min(EAGER_PREDICT_BATCHES * int(batch_size), 1 << max(n - 1, 0).bit_length())
    program = _program(model)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
    )
    out = []
    for start in range(0, n, chunk):
        rows = X[start : start + chunk]
        rows = rows.toarray() if sp.issparse(rows) else rows
        rows = np.asarray(rows, np.float32)
        if rows.shape[0] < chunk:
            padding = np.zeros((chunk - rows.shape[0], *rows.shape[1:]), np.float32)
            rows = np.concatenate([rows, padding])
        out.append(np.asarray(program(state, rows))[: min(chunk, n - start)])
    return np.concatenate(out).astype(np.float64)
