"""Several estimators' fits as one vmapped JAX program: the JAX side of grouped search.

:class:`~skcoteach.model_selection.CoTeachingGridSearchCV` prepares one
:class:`~skcoteach.CoTeachingClassifier` per (candidate, fold) job exactly as
its own ``fit`` would (validation, classes, seeds, peers built from the same
seed) and hands them to :func:`fit_together`.  Fits whose programs are the
same up to their numbers -- the same network structure, update rule,
optimizer and training-set size; ``tau``, ``Tk``, ``c``, ``shuffle``,
``class_weight`` and ``random_state`` may differ -- form a *stack*: their
states (weights, optimizer and metric variables, forget rate, epoch order,
per-sample statistics) are stacked along a leading axis and one compiled
program, the ensemble's own training step under :func:`jax.vmap` inside the
``lax.scan`` of :mod:`skcoteach.backends.jax._programs`, trains all of them.
Every fit reads its batches from its own training set in its own order; the
training sets of a stack are placed on the device once, each distinct one
once (the candidates of a fold share it), and a fit reads its rows through an
:class:`~skcoteach.backends.jax._rows.Offset`.  Nothing is shared between
the fits of a stack, so each ends as its own fit would, up to float rounding.

Imported lazily (it imports JAX).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import joblib
import numpy as np
import scipy.sparse as sp

from ..._callbacks import ForgetRateScheduler, fit_divergence
from ..._fit import TrainingRun
from .._fit_loop import buffer_key, prepare_each
from ._programs import programs
from ._rows import Offset, device_rows

if TYPE_CHECKING:
    from ..._classifier import CoTeachingClassifier
    from ..._validation import PreparedFit

__all__ = ["MAPPED_PARAMS", "fit_together", "group_key"]

#: Parameters that only change a fit's numbers (schedule, order, weights,
#: initial values), not its program: fits differing only in them share a stack.
MAPPED_PARAMS = ("tau", "Tk", "c", "shuffle", "class_weight", "random_state", "verbose")

#: The ensemble's own state that each epoch start sets (:meth:`_Job.start_epoch`).
STARTS = ("epoch", "forget", "order")

#: ``vmap``'s axes of the training arrays ``(x, y, sample_weight)``: one ``x``
#: for all fits, read at each fit's offset; ``y`` and weights stacked.
_ARRAY_AXES = (Offset(None, 0), 0, 0)

#: How a stack's step runs its fits: ``"vmap"`` (one batched step, every
#: matrix product batched over the fits; the faster on this project's CPU and
#: the form accelerators are made for) or ``"map"`` (``lax.map``: a loop over
#: the fits inside the program, each fit's products unbatched; a stack's
#: activations then take one fit's memory at a time, not all fits').  User
#: guide, "Grid search".
STACKING = "vmap"


def _over_fits(step: Any, logs: Any) -> tuple:
    """The training step and logs of a stack from those of one fit (see :data:`STACKING`)."""
    if STACKING == "vmap":
        return jax.vmap(step, in_axes=(0, None, _ARRAY_AXES)), jax.vmap(logs)

    def mapped(state, positions, arrays):
        x, y, weights = arrays

        def one(fit):
            state, offset, y, weights = fit
            return step(state, positions, (Offset(x.source, offset), y, weights))

        return jax.lax.map(one, (state, x.offset, y, weights))

    return mapped, jax.vmap(logs)


@dataclass
class _Job:
    """One estimator's part of a stack.

    Attributes
    ----------
    position : int
        Index of the estimator in :func:`fit_together`'s list.
    estimator : CoTeachingClassifier
        Prepared: its ``model_`` is built and compiled.
    prepared : skcoteach._validation.PreparedFit
        Its training arrays and the seed of its order.
    scheduler : ForgetRateScheduler
        Its forget rates.
    order : callable
        ``epoch -> order`` of its training samples.
    """

    position: int
    estimator: Any
    prepared: Any
    scheduler: ForgetRateScheduler
    order: Any

    def start_epoch(self, epoch: int) -> None:
        """Set the epoch, forget rate and order of ``epoch`` on the job's ensemble."""
        self.scheduler.on_epoch_begin(epoch)
        self.estimator.model_.set_epoch_order(self.order(epoch))


def _program_params(classifier: CoTeachingClassifier) -> dict:
    """The classifier's parameters that shape its program (all but :data:`MAPPED_PARAMS`)."""
    params = classifier.get_params(deep=False)
    return {k: v for k, v in params.items() if k not in MAPPED_PARAMS}


def group_key(classifier: CoTeachingClassifier, n_samples: int) -> str:
    """What the fits trained as one stack share besides the search's own key.

    The parameters that shape the program and the training-set size; the
    network's variables, known once built, are checked again by
    :func:`fit_together` (a fold missing a class has another output layer).
    """
    return joblib.hash((_program_params(classifier), int(n_samples)))


def _stack_key(estimator: CoTeachingClassifier, prepared: PreparedFit) -> str:
    """What the fits of one stack must have in common: everything but :data:`MAPPED_PARAMS`."""
    program = _program_params(estimator)
    shapes = [tuple(v.shape) for v in estimator.model_.variables]
    X = prepared.X
    return joblib.hash((program, shapes, X.shape, sp.issparse(X), str(X.dtype)))


def _training_arrays(jobs: list[_Job]) -> tuple[tuple, list[int]]:
    """The stack's training arrays ``(Offset(x, offsets), y, sample_weight)``.

    Every distinct ``X`` (by memory) is placed once; a job's offset is where
    its rows start in their concatenation.
    """
    starts: dict = {}
    parts = []
    n = 0
    offsets = []
    for job in jobs:
        X = job.prepared.X
        key = buffer_key(X)
        if key not in starts:
            starts[key] = n
            parts.append(X)
            n += X.shape[0]
        offsets.append(starts[key])
    if any(sp.issparse(X) for X in parts):
        x = sp.vstack([sp.csr_array(X) for X in parts], format="csr")
    else:
        x = parts[0] if len(parts) == 1 else np.concatenate([np.asarray(X) for X in parts])
    x = device_rows(x)
    y = jnp.asarray(np.stack([np.asarray(job.prepared.y_enc, np.int32) for job in jobs]))
    w = jnp.asarray(np.stack([np.asarray(job.prepared.weights, np.float32) for job in jobs]))
    return (Offset(x, jnp.asarray(offsets, jnp.int32)), y, w), offsets


def _values(variables: list) -> list:
    return [v.value for v in variables]


def _state_of(ensemble: Any) -> tuple:
    """One fit's state, in the order of the ensemble's ``_train_step``."""
    return (
        _values(ensemble.trainable_variables),
        _values(ensemble.non_trainable_variables),
        _values(ensemble.optimizer.variables),
        _values(ensemble.metrics_variables),
        dict(ensemble._own),
    )


def _stack(states: list) -> Any:
    """The fits' states stacked along a new leading axis (on the host: no per-shape program)."""
    return jax.tree_util.tree_map(
        lambda *values: jnp.asarray(np.stack([np.asarray(v) for v in values])), *states
    )


def _unstack(state: Any, j: int) -> Any:
    """Fit ``j``'s part of a host copy of a stacked state."""
    return jax.tree_util.tree_map(lambda value: value[j], state)


def _write_back(ensemble: Any, state: tuple) -> None:
    """Put a fit's final ``state`` into its ensemble's variables and own state."""
    trainable, non_trainable, optimizer_variables, metrics, own = state
    for variables, values in (
        (ensemble.trainable_variables, trainable),
        (ensemble.non_trainable_variables, non_trainable),
        (ensemble.optimizer.variables, optimizer_variables),
        (ensemble.metrics_variables, metrics),
    ):
        for variable, value in zip(variables, values):
            variable.assign(value)
    ensemble._own.update({key: jnp.asarray(value) for key, value in own.items()})


def _train_stack(jobs: list[_Job]) -> list[dict[str, list[float]]]:
    """Train the jobs of one stack for their ``epochs``; every job's history (its logs per epoch)."""
    first = jobs[0].estimator
    template = first.model_
    template.batch_size = int(first.batch_size_)
    arrays, _ = _training_arrays(jobs)
    # class_floor is traced with its floors if any fit of the stack has a rare class; a fit
    # without one then gets floors of 0 (no class rare), and so global's mask, as alone.
    template_rare = template._any_rare
    template._any_rare = any(job.estimator.model_._any_rare for job in jobs)
    try:
        return _train_traced(jobs, template, arrays)
    finally:
        template._any_rare = template_rare


def _train_traced(jobs: list[_Job], template: Any, arrays: tuple) -> list[dict[str, list[float]]]:
    """:func:`_train_stack` once the template traces what every fit of the stack needs."""
    first = jobs[0].estimator
    compiled = programs(template, stacked=_over_fits)
    n = int(jobs[0].prepared.X.shape[0])
    batch_size, steps = template.batch_size, template.batches_per_call
    n_full = n // batch_size
    calls = template.calls_per_epoch(n)
    for job in jobs:
        job.estimator.model_.reset_metrics()
    state = _stack([_state_of(job.estimator.model_) for job in jobs])
    # The metrics' values at an epoch start (a copy: the programs donate their state).
    fresh_metrics = [np.asarray(value) for value in state[3]]
    histories: list[dict[str, list[float]]] = [{} for _ in jobs]
    for epoch in range(first.epochs):
        for job in jobs:
            job.start_epoch(epoch)
        own = dict(state[4])
        own.update(_stack([{k: job.estimator.model_._own[k] for k in STARTS} for job in jobs]))
        state = (*state[:3], [jnp.asarray(value) for value in fresh_metrics], own)
        for call in range(calls):
            state, logs = compiled.scan(state, np.int32(call * steps), np.int32(n_full), arrays)
        if n % batch_size:
            positions = np.arange(n_full * batch_size, n, dtype=np.int32)
            state, logs = compiled.last(state, positions, arrays)
        logs = {name: np.asarray(values) for name, values in logs.items()}
        for j, history in enumerate(histories):
            for name, values in logs.items():
                history.setdefault(name, []).append(float(values[j]))
    state = jax.device_get(state)
    for j, job in enumerate(jobs):
        _write_back(job.estimator.model_, _unstack(state, j))
    return histories


class _History:
    """What :func:`skcoteach.backends._fit_loop.record` reads of Keras's ``History``."""

    def __init__(self, epochs: int, history: dict[str, list[float]]):
        self.epoch = list(range(epochs))
        self.history = history


def fit_together(
    estimators: list[CoTeachingClassifier], datasets: list[tuple[Any, Any]]
) -> list[Exception | None]:
    """Fit every estimator on its data as its own ``fit(X, y)`` would, each stack in one program.

    The contract of the TensorFlow backend's
    :func:`~skcoteach.backends.tensorflow._joint.fit_together` (its
    parameters, and per estimator the error its own ``fit`` would have
    raised, else None), except that the training sets need not give the same
    number of mini-batches: the fits are split into stacks
    (:data:`MAPPED_PARAMS`), trained one stack after the other, and each
    distinct ``X`` is placed on the device once.
    """
    errors, ready = prepare_each(estimators, datasets)
    stacks: dict[str, list[_Job]] = {}
    for i, est, prepared in ready:
        est.callbacks_ = []
        scheduler = ForgetRateScheduler(float(est.tau), est.Tk, est.c)
        scheduler.set_model(est.model_)
        order = est._order_of_epochs(prepared.X.shape[0], prepared.shuffle_seed)
        job = _Job(i, est, prepared, scheduler, order)
        stacks.setdefault(_stack_key(est, prepared), []).append(job)
    for jobs in stacks.values():
        histories = _train_stack(jobs)
        for job, history in zip(jobs, histories):
            est = job.estimator
            error = fit_divergence(est, history, est.model_.optimizer.learning_rate)
            errors[job.position] = error
            if error is None:
                est._record(TrainingRun(_History(est.epochs, history), job.scheduler))
    return errors
