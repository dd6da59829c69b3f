"""What ``fit`` runs around Keras's training loop: the JAX side.

The epoch order, the fit itself (:func:`train`, with the callbacks of
:func:`skcoteach.backends._fit_loop.fit_callbacks`), prediction, and the
snapshot that lets a failed fit leave the model as it was.

Imported lazily (it imports JAX).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp

from ..._callbacks import StepCountProgbar
from ..._fit import TrainingRun
from .._fit_loop import fit_callbacks, record  # noqa: F401  (this backend's, too)
from .._fit_loop import predict_proba as _predict_proba
from ._sharding import Placement

if TYPE_CHECKING:
    from ..._classifier import CoTeachingClassifier
    from ..._validation import PreparedFit
    from ._ensemble import PeerEnsemble

__all__ = [
    "BatchProgbar",
    "batch_positions",
    "epoch_order",
    "predict_proba",
    "record",
    "restore",
    "snapshot",
    "train",
]


def epoch_order(
    n: int, shuffle_seed: int | None = None, epoch: int = 0, once: bool = False
) -> np.ndarray:
    """The order in which an epoch visits the samples ``0 .. n - 1``.

    Without ``shuffle_seed``, the data's order.  With it, a permutation drawn
    by NumPy's generator seeded with ``(shuffle_seed, epoch)`` (``epoch`` 0
    with ``once=True``): it depends on the seed and the epoch only, so a fit
    resumed at epoch ``e`` visits epoch ``e``'s order.  (The orders are not
    the TensorFlow backend's, which draws them with TensorFlow.)

    Returns
    -------
    int32 ndarray of shape (n,)
    """
    if shuffle_seed is None:
        return np.arange(n, dtype=np.int32)
    rng = np.random.default_rng([int(shuffle_seed), 0 if once else int(epoch)])
    return rng.permutation(n).astype(np.int32)


def batch_positions(n: int, batch_size: int) -> np.ndarray:
    """The positions ``0 .. n - 1`` of an epoch's samples, as validation batches index them."""
    return np.arange(n, dtype=np.int32)


class BatchProgbar(StepCountProgbar):
    """Keras's progress bar, counting mini-batches where Keras counts calls.

    Under JAX, one call of the training function (one of Keras's steps)
    trains ``batches_per_call`` mini-batches; the bar shows mini-batches,
    as under TensorFlow.
    """

    def set_params(self, params: dict[str, Any]) -> None:
        """Receive the fit's parameters; the bar's length becomes the epoch's batches."""
        model = self.model
        params = dict(params or {})
        if model is not None and params.get("steps"):
            params["steps"] = model.batches_per_epoch
        super().set_params(params)

    def on_train_batch_end(self, batch, logs=None):
        """Update the bar with the number of mini-batches trained so far in the epoch."""
        per_call = int(getattr(self.model, "batches_per_call", 1))
        super().on_train_batch_end((batch + 1) * per_call - 1, logs)


#: Attributes of the ensemble that a fit may replace.
_STATE_ATTRIBUTES = (
    "optimizer",
    "batches_per_call",
    "batch_size",
    "_placement",
    "rule_name",
    "_rule",
    "rule_options",
    "train_function",
    "test_function",  # built for _placement, as train_function is
)


def snapshot(ensemble: PeerEnsemble) -> dict[str, Any]:
    """Everything a fit changes in ``ensemble``, for :func:`restore`."""
    variables = [*(v for peer in ensemble.peers for v in peer.variables), *ensemble.optimizer.variables]
    return {
        "attributes": {name: getattr(ensemble, name) for name in _STATE_ATTRIBUTES},
        "values": [(v, np.array(v.value)) for v in variables],
        "own": {key: np.array(value) for key, value in ensemble._own.items()},  # fits donate them
    }


def restore(ensemble: PeerEnsemble, saved: dict[str, Any]) -> None:
    """Put ``ensemble`` back to a :func:`snapshot`: weights, optimizer, statistics."""
    for name, value in saved["attributes"].items():
        setattr(ensemble, name, value)
    for variable, value in saved["values"]:
        variable.assign(value)
    ensemble._own.clear()
    ensemble._own.update({key: jnp.asarray(value) for key, value in saved["own"].items()})


def predict_proba(model: Any, X: Any, batch_size: int) -> np.ndarray:
    """The ensemble's mean class probabilities of a validated ``X``, float64.

    As :func:`skcoteach.backends._fit_loop.predict_proba`.  Under a
    ``keras.distribution``, whose loop shards every batch among the devices,
    a dense ``X`` is padded to a multiple of the devices in batches of
    ``batch_size`` rounded up to one; the padding's rows are left out of the
    result.
    """
    placement = Placement.current()
    if placement.replicas == 1 or sp.issparse(X):
        return _predict_proba(model, X, batch_size)
    padded = placement.pad_rows(np.asarray(X))
    return _predict_proba(model, padded, placement.batch_size(batch_size))[: X.shape[0]]


def train(estimator: CoTeachingClassifier, prepared: PreparedFit, epochs: int) -> TrainingRun:
    """Run Keras's JAX training loop on the estimator's ``model_`` for ``epochs`` epochs.

    As the TensorFlow backend's :func:`~skcoteach.backends.tensorflow._training.train`:
    the training and validation arrays are placed on the device once, and
    every call of the ensemble's training function trains
    ``batches_per_call`` (the estimator's ``steps_per_execution``) mini-batches gathered from them; Keras's data
    stream only counts the calls.  Under a ``keras.distribution`` (data
    parallelism), the arrays are replicated on its devices and every batch is
    sharded among them (:mod:`skcoteach.backends.jax._sharding`).

    Returns
    -------
    skcoteach._fit.TrainingRun
    """
    est, model = estimator, estimator.model_
    X, y_enc, weights, val = prepared.X, prepared.y_enc, prepared.weights, prepared.validation
    plan = fit_callbacks(est, prepared, progress_bar=BatchProgbar)
    if not model.built:  # loaded from a pickle: built on a sample, not on Keras's call numbers
        model(np.asarray(X[:2].toarray() if sp.issparse(X) else X[:2], np.float32))
    model.set_training_arrays(X, y_enc, weights, batch_size=est.batch_size_)
    model.set_validation_arrays(*(val or ()))
    calls = model.calls_per_epoch(X.shape[0])
    # Under a keras.distribution, Keras's loop shards each batch it yields among
    # the devices: the call numbers come once per device, the validation indices
    # padded with -1 (which the test function drops) in batches that divide.
    placement = model._placement
    validation = None
    if val is not None:
        validation = (placement.pad_rows(est._batch_positions(val[0].shape[0]), fill=-1),)
    try:
        history = model.fit(
            placement.stream(calls),
            batch_size=placement.replicas,
            epochs=est.n_iter_ + epochs,
            initial_epoch=est.n_iter_,
            validation_data=validation,
            validation_batch_size=placement.batch_size(est.batch_size_),
            callbacks=plan.callbacks,
            shuffle=False,  # the order is the ensemble's (OrderScheduler)
            verbose=est.verbose,
        )
    finally:
        model.set_training_arrays()
        model.set_validation_arrays()
    return TrainingRun(history, plan.scheduler, plan.earlier())
