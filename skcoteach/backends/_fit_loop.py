"""What every backend runs around Keras's ``fit`` and ``predict``: callbacks, record, prediction.

Backend-neutral (Keras and NumPy only).  :func:`fit_callbacks` assembles the
callbacks of :mod:`skcoteach._callbacks` (forget rate, epoch order, progress
bar, stop on divergence) with the user's and, where a
:class:`keras.callbacks.BackupAndRestore` is among them, the estimator's
side of the checkpoint (:mod:`skcoteach.backends._resume`).  :func:`record`
writes what the fit produced on the estimator; :func:`predict_proba` predicts
with a fitted ensemble.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import scipy.sparse as sp

from .._callbacks import (
    ForgetRateScheduler,
    OrderScheduler,
    StepCountProgbar,
    StopOnDivergence,
    auto_tau_warmup,
    estimate_noise,
    quiet_retracing,
)
from ._resume import ResumeState, backup_dir

if TYPE_CHECKING:
    from .._classifier import CoTeachingClassifier
    from .._validation import PreparedFit

__all__ = [
    "EAGER_PREDICT_BATCHES",
    "FitCallbacks",
    "buffer_key",
    "fit_callbacks",
    "predict_proba",
    "prepare_each",
    "record",
]


@dataclass
class FitCallbacks:
    """The callbacks of one fit and the two of them the record needs.

    Attributes
    ----------
    callbacks : list of keras.callbacks.Callback
        In the order Keras must call them: the forget rate, the resumption
        state, the epoch order, the user's, the progress bar, the stop on
        divergence.
    scheduler : skcoteach._callbacks.ForgetRateScheduler
    resume : skcoteach.backends._resume.ResumeState or None
    """

    callbacks: list
    scheduler: ForgetRateScheduler
    resume: ResumeState | None = None

    def earlier(self) -> dict | None:
        """The epochs done before a resumption, or None if the fit is not resumable."""
        return None if self.resume is None else self.resume.earlier


def fit_callbacks(
    estimator: CoTeachingClassifier, prepared: PreparedFit, *, progress_bar: Any = StepCountProgbar
) -> FitCallbacks:
    """The callbacks of a fit of ``estimator`` on ``prepared``; sets ``callbacks_``.

    With a BackupAndRestore among the user's callbacks, the seed of the
    training order is the checkpoint's (``estimator._shuffle_seed`` follows).
    ``progress_bar`` is the class of the progress bar added with ``verbose``
    (unless the user passed one).
    """
    est, X, y_enc = estimator, prepared.X, prepared.y_enc
    est.callbacks_ = [copy.deepcopy(cb) for cb in (est.callbacks or [])]
    if est.tau == "auto":
        scheduler = ForgetRateScheduler(
            getattr(est, "tau_", None),  # estimated once, kept by warm starts
            est.Tk,
            est.c,
            warmup=auto_tau_warmup(X.shape[0], est.batch_size_, est.Tk),
            estimate=lambda m: estimate_noise(y_enc, m),
            noise_rate=getattr(est, "noise_rate_", None),
        )
    else:
        scheduler = ForgetRateScheduler(float(est.tau), est.Tk, est.c)
    callbacks, resume = [scheduler], None
    shuffle_seed = prepared.shuffle_seed
    directory = backup_dir(est.callbacks_)
    if directory is not None:  # resumable: the seed, tau and logs go with the checkpoint
        resume = ResumeState(directory, est.n_iter_, shuffle_seed, scheduler)
        shuffle_seed = est._shuffle_seed = resume.shuffle_seed
        callbacks.append(resume)
    callbacks.append(OrderScheduler(est._order_of_epochs(X.shape[0], shuffle_seed)))
    callbacks.extend(est.callbacks_)
    if est.verbose and not any(isinstance(cb, keras.callbacks.ProgbarLogger) for cb in callbacks):
        callbacks.append(progress_bar())
    callbacks.append(StopOnDivergence())
    return FitCallbacks(callbacks, scheduler, resume)


def record(
    estimator: CoTeachingClassifier,
    history: Any,
    scheduler: ForgetRateScheduler,
    earlier: dict[str, Any] | None = None,
) -> None:
    """Extend ``history_`` and ``n_iter_``; set ``tau_``, ``noise_rate_``, ``sample_kept_``, ``sample_loss_``.

    ``earlier`` holds the epochs done before this fit was resumed from a
    BackupAndRestore checkpoint (see :class:`skcoteach.backends._resume.ResumeState`);
    they come first.
    """
    earlier = earlier or {"epoch": [], "logs": {}, "forget_rate": []}
    epochs = [*earlier["epoch"], *history.epoch]
    # The exact rates set rather than their float32 image in the logs.
    estimator.tau_ = scheduler.tau
    estimator.noise_rate_ = scheduler.noise_rate
    logs = {key: [*earlier["logs"].get(key, []), *values] for key, values in history.history.items()}
    logs["forget_rate"] = [scheduler.rates[e] for e in epochs]
    merged = {key: list(values) for key, values in estimator.history_.items()}
    for key, values in logs.items():
        merged.setdefault(key, []).extend(float(v) for v in values)
    estimator.history_ = merged
    if epochs:  # the epoch after the last one trained (EarlyStopping may end early)
        estimator.n_iter_ = epochs[-1] + 1
    stats = estimator.model_.sample_statistics()
    estimator.sample_kept_ = stats["kept"]
    estimator.sample_loss_ = stats["loss"]


#: ``predict_proba`` calls the peers directly on chunks of this many batches.
EAGER_PREDICT_BATCHES = 8


def predict_proba(model: Any, X: Any, batch_size: int, *, chunked: bool = False) -> np.ndarray:
    """The ensemble's mean class probabilities of a validated ``X``, float64.

    Direct calls of the model on chunks of :data:`EAGER_PREDICT_BATCHES`
    batches (a scipy.sparse ``X`` densified a chunk at a time), for any
    ``X`` with ``chunked``, else up to one chunk; more goes through Keras's
    ``predict``, which traces a function for every fitted model (the JAX
    backend's under a ``keras.distribution``, whose loop shards the batches).
    """
    chunk = EAGER_PREDICT_BATCHES * batch_size
    if chunked or sp.issparse(X) or X.shape[0] <= chunk:
        # Tracing Keras's predict function for a new model costs more than the
        # prediction of a cross-validation fold; user guide, "Grid search".
        parts = []
        for i in range(0, X.shape[0], chunk):
            rows = X[i : i + chunk]
            rows = rows.toarray() if sp.issparse(rows) else rows
            parts.append(keras.ops.convert_to_numpy(model(rows, training=False)))
        return np.asarray(np.concatenate(parts), dtype=np.float64)
    with quiet_retracing():
        proba = model.predict(X, batch_size=batch_size, verbose=0)
    return np.asarray(proba, dtype=np.float64)


def prepare_each(estimators: list, datasets: list) -> tuple[list, list]:
    """Prepare every estimator on its ``(X, y)`` as its own ``fit`` would (a grouped search's jobs).

    Returns
    -------
    errors : list of Exception or None
        Per estimator, the error its own ``fit`` would have raised while
        preparing (a parameter or data error), else None.
    prepared : list of tuple
        ``(position, estimator, PreparedFit)`` of every estimator prepared.
    """
    errors, prepared = [None] * len(estimators), []
    for i, (est, (X, y)) in enumerate(zip(estimators, datasets)):
        try:
            prepared.append((i, est, est._prepare_fit(X, y)))
        except Exception as exc:  # what the job's own fit would raise
            errors[i] = exc
    return errors, prepared


def buffer_key(array: Any) -> tuple:
    """What identifies the memory of a NumPy array, or of a scipy.sparse matrix's arrays.

    The fits of a grouped search share their fold's arrays: each distinct
    buffer is converted (placed on the device) once.
    """
    if sp.issparse(array):
        parts = {"csr": ("data", "indices", "indptr"), "csc": ("data", "indices", "indptr"),
                 "coo": ("data", "row", "col")}.get(array.format)
        if parts is None:  # another format: the matrix object itself
            return ("sparse", id(array))
        return (array.format, array.shape, *(buffer_key(getattr(array, a)) for a in parts))
    array = np.asarray(array)
    return (array.__array_interface__["data"][0], array.shape, array.strides, array.dtype.str)

