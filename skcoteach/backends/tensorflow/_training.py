"""What ``fit`` runs around Keras's training loop: the TensorFlow side.

The epoch order and the stream of batch positions, the fit itself
(:func:`train`) with the callbacks of :mod:`skcoteach._callbacks`, what it
records on the estimator (:func:`record`), and the snapshot that lets a
failed fit leave the model as it was.

Imported lazily by :mod:`skcoteach._classifier` (it imports TensorFlow).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from ..._callbacks import quiet_retracing
from ..._fit import TrainingRun
from .._fit_loop import fit_callbacks, record  # noqa: F401  (this backend's, too)
from .._fit_loop import predict_proba as _predict_proba
from ._compat import clear_kernel_cache

if TYPE_CHECKING:
    from ..._classifier import CoTeachingClassifier
    from ..._validation import PreparedFit
    from ._ensemble import PeerEnsemble

__all__ = [
    "batch_positions",
    "counted_fit",
    "epoch_order",
    "predict_proba",
    "record",
    "restore",
    "snapshot",
    "train",
]


def predict_proba(model: Any, X: Any, batch_size: int) -> np.ndarray:
    """The ensemble's mean class probabilities of a validated ``X``, float64.

    Direct calls of the model on chunks of ``8 * batch_size`` rows
    (:func:`skcoteach.backends._fit_loop.predict_proba` with ``chunked``):
    Keras's ``predict`` traces a function for every fitted model, which took
    longer than predicting 60,000 MNIST rows directly (user guide, "Grid search").
    """
    return _predict_proba(model, X, batch_size, chunked=True)


def epoch_order(
    n: int, shuffle_seed: int | None = None, epoch: int = 0, once: bool = False
) -> tf.Tensor:
    """The order in which an epoch visits the samples ``0 .. n - 1``.

    Without ``shuffle_seed``, the data's order.  With it, a stateless shuffle
    seeded by ``(shuffle_seed, epoch)``: the order depends on the seed and the
    epoch only, never on TensorFlow's global seed or on how many epochs this
    process has run, so a fit resumed at epoch ``e`` visits epoch ``e``'s
    order.  With ``once=True`` every epoch uses the order of epoch 0.

    Parameters
    ----------
    n : int
    shuffle_seed : int, default=None
    epoch : int, default=0
    once : bool, default=False

    Returns
    -------
    int64 Tensor of shape (n,)
    """
    positions = tf.range(n, dtype=tf.int64)
    if shuffle_seed is None:
        return positions
    seed = tf.constant([shuffle_seed, 0 if once else epoch], tf.int64)
    return tf.random.experimental.stateless_shuffle(positions, seed)


def batch_positions(n: int, batch_size: int) -> tf.data.Dataset:
    """Batches of the positions ``0 .. n - 1`` in an epoch's order, one epoch long.

    The training step looks each position up in the epoch's order (see
    :func:`epoch_order` and :class:`OrderScheduler`), so this stream is the
    same every epoch: a ``tf.data`` pipeline without functions, whose
    iterator (Keras makes one per epoch) is an order of magnitude cheaper to
    create than a pipeline that shuffles itself, which on a small table
    costs as much as the epoch (user guide, "Grid search").

    The length is declared, so Keras ends every epoch after exactly
    ``ceil(n / batch_size)`` batches even when that is not a multiple of
    ``steps_per_execution``.  (An endless stream with ``steps_per_epoch``
    would not: Keras always runs whole executions.)

    Parameters
    ----------
    n, batch_size : int
    """
    n_batches, n_full = -(-n // batch_size), n // batch_size
    order = tf.range(n, dtype=tf.int64)
    # Rows of the reshaped order rather than a map call per batch, which
    # costs more per training step.
    positions = tf.data.Dataset.from_tensor_slices(
        tf.reshape(order[: n_full * batch_size], (n_full, batch_size))
    )
    if n_full < n_batches:  # the last, smaller batch
        positions = positions.concatenate(tf.data.Dataset.from_tensors(order[n_full * batch_size :]))
    # No tf.data autotuning: with it on, tearing the iterator down at the end
    # of a fit sometimes took longer than the fit itself.
    options = tf.data.Options()
    options.autotune.enabled = False
    return positions.with_options(options)


def shuffled_dataset(
    X: np.ndarray, y: np.ndarray, batch_size: int, seed: int | None
) -> tf.data.Dataset:
    """``(X, y)`` in batches, shuffled anew every epoch from ``seed``: plain Keras training.

    The input of the demo's standard training (:func:`skcoteach.demo.standard_training`).
    """
    return (
        tf.data.Dataset.from_tensor_slices((X, y))
        .shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )


#: Fits finished in this process between two releases of TensorFlow's kernel cache.
RELEASE_KERNELS_EVERY = 8
_FITS = {"running": 0, "finished": 0}
_FITS_LOCK = threading.Lock()


@contextlib.contextmanager
def counted_fit() -> Iterator[None]:
    """Enclose one fit; every few fits, release the kernels TensorFlow cached for earlier ones.

    TensorFlow's eager context caches the kernels that a traced function
    instantiates and keeps them after the function is gone, so a process
    that fits one estimator after another (a grid-search worker) grows with
    every fit.  Every :data:`RELEASE_KERNELS_EVERY` finished fits, when no
    other fit is running in the process, the cache is cleared
    (:func:`skcoteach.backends.tensorflow._compat.clear_kernel_cache`): the
    live functions re-create their kernels when next called, and the
    worker's memory stays flat (measured in the user guide, "Scaling out").
    """
    with _FITS_LOCK:
        _FITS["running"] += 1
    try:
        yield
    finally:
        with _FITS_LOCK:
            _FITS["running"] -= 1
            _FITS["finished"] += 1
            if _FITS["running"] == 0 and _FITS["finished"] % RELEASE_KERNELS_EVERY == 0:
                clear_kernel_cache()


#: Attributes of the ensemble that a fit may replace.
_STATE_ATTRIBUTES = (
    "optimizer",
    "steps_per_execution",
    "sample_stats",
    "rule_name",
    "_rule",
    "rule_options",
    "train_function",
)


def snapshot(ensemble: PeerEnsemble) -> dict[str, Any]:
    """Everything a fit changes in ``ensemble``, for :func:`restore`."""
    variables = [
        *(v for peer in ensemble.peers for v in peer.variables),
        *ensemble.optimizer.variables,
        ensemble.sample_stats,
        ensemble.epoch,
        ensemble.forget_rate,
    ]
    return {
        "attributes": {name: getattr(ensemble, name) for name in _STATE_ATTRIBUTES},
        "values": [(v, v.numpy()) for v in variables],
    }


def restore(ensemble: PeerEnsemble, saved: dict[str, Any]) -> None:
    """Put ``ensemble`` back to a :func:`snapshot`: weights, optimizer, statistics."""
    for name, value in saved["attributes"].items():
        setattr(ensemble, name, value)
    for variable, value in saved["values"]:
        variable.assign(value)


def train(estimator: CoTeachingClassifier, prepared: PreparedFit, epochs: int) -> TrainingRun:
    """Run Keras's training loop on the estimator's ``model_`` for ``epochs`` epochs.

    ``prepared`` is the :class:`~skcoteach._validation.PreparedFit` of
    ``estimator._prepare_fit``: the training and validation arrays and the
    seed of the training order.

    On a warm start the peers and the optimizer (Adam's moments) go on.  The
    training and validation steps gather their batches from the arrays by
    position.  The callbacks are those of
    :func:`skcoteach.backends._fit_loop.fit_callbacks` (a
    :class:`keras.callbacks.BackupAndRestore` among the user's makes the fit
    resumable).

    Returns
    -------
    skcoteach._fit.TrainingRun
        The history, the forget-rate scheduler and the epochs done before a
        resumption (see :func:`~skcoteach.backends._fit_loop.record`).
    """
    est, model = estimator, estimator.model_
    X, y_enc, weights, val = prepared.X, prepared.y_enc, prepared.weights, prepared.validation
    plan = fit_callbacks(est, prepared)
    train_positions = est._batch_positions(X.shape[0])
    val_positions = None if val is None else est._batch_positions(val[0].shape[0])
    model.set_training_arrays(X, y_enc, weights)
    model.set_validation_arrays(*(val or ()))
    try:
        with quiet_retracing(), counted_fit():
            history = model.fit(
                train_positions,
                epochs=est.n_iter_ + epochs,
                initial_epoch=est.n_iter_,
                validation_data=val_positions,
                callbacks=plan.callbacks,
                shuffle=False,  # the dataset shuffles itself, with a seed
                verbose=est.verbose,
            )
    finally:
        # The fitted model keeps no copy of the data.
        model.set_training_arrays()
        model.set_validation_arrays()
    return TrainingRun(history, plan.scheduler, plan.earlier())
