"""Several estimators' fits run as one Keras fit: one compiled step trains them all.

:class:`~skcoteach.model_selection.CoTeachingGridSearchCV` prepares one
:class:`~skcoteach.CoTeachingClassifier` per (candidate, fold) job exactly as
its own ``fit`` would (validation, classes, seeds, peers built from the same
seed) and hands them to :func:`fit_together`.  Every mini-batch step gathers
each job's batch from its own training arrays in its own seeded order, lets
each job's update rule select from its own losses at its own forget rate,
sums the jobs' losses and applies one optimizer update to all jobs' peers.
The jobs share no variable, so the gradient of the sum with respect to a
job's weights is that job's own gradient, and every optimizer whose update
is per variable (Adam, SGD, RMSprop, ... but not ``global_clipnorm``) takes
the same step as in a separate fit: each job ends as its separate fit would,
up to float rounding.  What is saved is the per-step fixed cost (one
function call, one loop iteration, one optimizer call for all jobs instead
of one each) and the per-fit set-up (one traced function for all jobs).

Imported lazily (it imports TensorFlow).
"""

from __future__ import annotations

import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from ... import _build
from ..._callbacks import (
    ForgetRateScheduler,
    OrderScheduler,
    fit_divergence,
    quiet_retracing,
)
from .._fit_loop import buffer_key, prepare_each
from ._lean import LeanTraining
from ._sparse import as_tensor
from ._training import counted_fit, record

if TYPE_CHECKING:
    from ..._classifier import CoTeachingClassifier

__all__ = ["JointEnsembles", "fit_together", "group_key", "n_batches"]


class JointEnsembles(LeanTraining, keras.Model):
    """The :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble` of several jobs, trained as one model.

    A training batch is a tuple of one index tensor per job (the positions of
    that job's samples in its training arrays, see
    :meth:`set_training_arrays`).

    Parameters
    ----------
    ensembles : list of PeerEnsemble
        Built ensembles; each keeps its own forget rate, epoch, statistics and logs.
    """

    def __init__(self, ensembles, **kwargs):
        super().__init__(**kwargs)
        self.ensembles = list(ensembles)
        self._training_arrays = ()
        self.built = True  # the ensembles are built

    @property
    def metrics(self):
        """Every ensemble's trackers, so that Keras resets them at each epoch."""
        return [metric for ensemble in self.ensembles for metric in ensemble.metrics]

    def set_training_arrays(self, arrays: Iterable[tuple] = ()) -> None:
        """Hold every job's ``(x, y, sample_weight)`` tensors (empty to release them)."""
        self._training_arrays = tuple(arrays)

    def _train_on(self, batch: Any, arrays: tuple) -> None:
        """One step of every job on its batch of indices; one optimizer update for all."""
        batches = [
            ensemble._full_batch(index, job_arrays)
            for ensemble, index, job_arrays in zip(self.ensembles, batch, arrays)
        ]
        with tf.GradientTape() as tape:
            results = [ensemble._batch_loss(data) for ensemble, data in zip(self.ensembles, batches)]
            total = tf.add_n([loss for loss, _ in results])
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(total, variables), variables)
        for ensemble, (_, step) in zip(self.ensembles, results):
            ensemble._record_batch(step)

    def train_step(self, data):
        """Keras's own training function (Python iterators, eager runs): one step, then the logs."""
        self._train_on(data, self._training_arrays)
        return self._train_logs()

    def _train_logs(self) -> dict[str, tf.Tensor]:
        """Every job's logs, named ``"<job>:<log>"``."""
        return {
            f"{j}:{name}": value
            for j, ensemble in enumerate(self.ensembles)
            for name, value in ensemble._train_logs().items()
        }


class _Schedules(keras.callbacks.Callback):
    """Run every job's forget-rate and order schedulers at each epoch start."""

    def __init__(self, schedulers):
        super().__init__()
        self.schedulers = schedulers

    def on_epoch_begin(self, epoch, logs=None):
        for scheduler in self.schedulers:
            scheduler.on_epoch_begin(epoch, logs)


def n_batches(n_samples: int, batch_size: int) -> int:
    """Mini-batches per epoch: jobs trained together must have the same number."""
    return -(-int(n_samples) // int(batch_size))


def group_key(classifier: CoTeachingClassifier, n_samples: int) -> int:
    """What the fits trained in one step must share besides the search's own key: batches per epoch.

    Any networks, rules and schedules train together (every job is its own
    part of the step, its batches of its own size); the steps must be the
    same in number.
    """
    return n_batches(n_samples, classifier._resolved_batch_size(n_samples, reset=True))


def _as_tensor(array, converted):
    """``array`` as a tensor (or sparse rows), converted once per distinct buffer."""
    key = buffer_key(array)
    if key not in converted:
        converted[key] = as_tensor(array)
    return converted[key]


@dataclass(frozen=True)
class _Job:
    """One estimator's part of a joint fit.

    Attributes
    ----------
    position : int
        Index of the estimator in :func:`fit_together`'s list.
    estimator : CoTeachingClassifier
        Prepared: its ``model_`` is built.
    arrays : tuple
        ``(x, y, weights, order)`` tensors its batches are gathered from.
    scheduler : ForgetRateScheduler
        Its forget rates.
    order : OrderScheduler
        Its training order.
    stream : tf.data.Dataset
        Its batches of positions.
    n_batches : int
        Mini-batches per epoch.
    """

    position: int
    estimator: object
    arrays: tuple
    scheduler: ForgetRateScheduler
    order: OrderScheduler
    stream: object
    n_batches: int


def _job(position, estimator, prepared, converted):
    """The :class:`_Job` of a prepared estimator; its arrays are converted once per buffer."""
    ensemble = estimator.model_
    estimator.callbacks_ = []
    scheduler = ForgetRateScheduler(float(estimator.tau), estimator.Tk, estimator.c)
    scheduler.set_model(ensemble)
    n = prepared.X.shape[0]
    order = OrderScheduler(estimator._order_of_epochs(n, prepared.shuffle_seed))
    order.set_model(ensemble)
    ensemble.set_training_arrays(
        _as_tensor(prepared.X, converted), prepared.y_enc, prepared.weights
    )
    arrays = ensemble._training_arrays  # (x, y, weights, order)
    ensemble.set_training_arrays()  # held by the joint model during its fit
    return _Job(
        position,
        estimator,
        arrays,
        scheduler,
        order,
        estimator._batch_positions(n),
        n_batches(n, estimator.batch_size_),
    )


def fit_together(
    estimators: list[CoTeachingClassifier], datasets: list[tuple[Any, Any]]
) -> list[Exception | None]:
    """Fit every estimator on its data as its own ``fit(X, y)`` would, in one Keras fit.

    Parameters
    ----------
    estimators : list of CoTeachingClassifier
        Unfitted estimators with numeric ``tau``, no callbacks, no
        ``validation_split`` and the same optimizer, ``epochs``,
        ``batch_size`` and ``steps_per_execution``; their training sets
        must give the same number of mini-batches per epoch.
    datasets : list of tuple (X, y)
        Each estimator's training data.  Jobs may share arrays (the folds of
        a search): a buffer is converted to a tensor once.

    Returns
    -------
    list of Exception or None
        Per estimator, the error its own ``fit`` would have raised (a
        parameter or data error, or divergence), else None: it is fitted.
    """
    errors, prepared = prepare_each(estimators, datasets)
    converted = {}
    jobs = [_job(i, est, ready, converted) for i, est, ready in prepared]
    if not jobs:
        return errors
    first = jobs[0].estimator
    if len({job.n_batches for job in jobs}) != 1 or len({job.estimator.epochs for job in jobs}) != 1:
        raise ValueError("Jobs trained together need the same epochs and batches per epoch.")

    joint = JointEnsembles([job.estimator.model_ for job in jobs])
    _build.set_optimizer(joint, first)
    joint.set_training_arrays([job.arrays for job in jobs])
    streams = tf.data.Dataset.zip(tuple(job.stream for job in jobs))
    try:
        with quiet_retracing(), counted_fit():
            history = joint.fit(
                streams,
                epochs=first.epochs,
                callbacks=[_Schedules([s for job in jobs for s in (job.scheduler, job.order)])],
                shuffle=False,
                verbose=0,
            )
    finally:
        joint.set_training_arrays()
    for j, job in enumerate(jobs):
        prefix = f"{j}:"
        logs = {k[len(prefix) :]: v for k, v in history.history.items() if k.startswith(prefix)}
        errors[job.position] = fit_divergence(job.estimator, logs, joint.optimizer.learning_rate)
        if errors[job.position] is None:
            fitted = types.SimpleNamespace(epoch=history.epoch, history=logs)
            record(job.estimator, fitted, job.scheduler)
    return errors
