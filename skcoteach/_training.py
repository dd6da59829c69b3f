"""What ``fit`` runs around Keras's training loop.

The stream of batch positions, the forget-rate schedule, the ``tau="auto"``
estimate, the callbacks the estimator adds (an exact progress bar, a stop on
divergence) and the snapshot that lets a failed fit leave the model as it was.

Imported lazily by :mod:`skcoteach._classifier` (it imports TensorFlow).
"""

import contextlib
import copy
import logging
import threading

import keras
import numpy as np
import tensorflow as tf

from ._compat import clear_kernel_cache
from .schedules import forget_rate

__all__ = [
    "AUTO_TAU_MAX",
    "AUTO_TAU_WARMUP",
    "AUTO_TAU_WARMUP_STEPS",
    "ForgetRateScheduler",
    "OrderScheduler",
    "StepCountProgbar",
    "StopOnDivergence",
    "auto_forget_rate",
    "auto_tau_warmup",
    "batch_positions",
    "counted_fit",
    "epoch_order",
    "estimate_noise",
    "quiet_retracing",
    "record",
    "restore",
    "snapshot",
    "train",
]

#: Least number of warm-up epochs before ``tau="auto"`` estimates the noise rate.
AUTO_TAU_WARMUP = 2

#: Least number of optimizer steps of that warm-up: on a small table an epoch is
#: a handful of steps, too few for the peers to learn the clean patterns.
AUTO_TAU_WARMUP_STEPS = 50

#: Largest forget rate ``tau="auto"`` sets: some samples are always kept.
AUTO_TAU_MAX = 0.9


def auto_tau_warmup(n_samples, batch_size, Tk):
    """Warm-up epochs of ``tau="auto"`` for a training set of ``n_samples``.

    At least :data:`AUTO_TAU_WARMUP` epochs and :data:`AUTO_TAU_WARMUP_STEPS`
    optimizer steps, at most ``ceil(Tk)`` epochs.  Measured on small tables (digits, wine, breast_cancer, a 2 000-row
    synthetic set; 40% symmetric / pair noise and clean labels, 3 seeds): two
    epochs of 1-11 steps over-estimated the noise rate (0.44-0.63 at 40%,
    0.06-0.53 on clean labels) and lost up to 20 points to ``tau`` = the true
    rate; with the steps minimum the estimate is near the truth and the
    accuracy within noise of the true rate (user guide, "Choosing the
    hyper-parameters").  On MNIST an epoch is hundreds of steps: two epochs.
    """
    steps_per_epoch = -(-int(n_samples) // int(batch_size))
    by_steps = -(-AUTO_TAU_WARMUP_STEPS // steps_per_epoch)
    return int(min(np.ceil(Tk), max(AUTO_TAU_WARMUP, by_steps)))


def estimate_noise(y_enc, model):
    """Noise rate from the probabilities recorded in the last warm-up epoch."""
    from .noise import estimate_noise_rate

    proba = model.sample_statistics()["proba"]
    return estimate_noise_rate(y_enc, proba)


def auto_forget_rate(noise_rate):
    """The forget rate ``tau="auto"`` uses for an estimated noise rate: the rate, capped.

    The estimate itself, not a multiple of it: raising it by 20% (what the
    MNIST benchmark rewards) cost 1.3 points on average on six small tables
    (user guide, "Why tau="auto" is the default").
    """
    return min(float(noise_rate), AUTO_TAU_MAX)


def epoch_order(n, shuffle_seed=None, epoch=0, once=False):
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


def batch_positions(n, batch_size):
    """Batches of the positions ``0 .. n - 1`` in an epoch's order, one epoch long.

    The training step looks each position up in the epoch's order (see
    :func:`epoch_order` and :class:`OrderScheduler`), so this stream is the
    same every epoch: a ``tf.data`` pipeline without functions, whose
    iterator (Keras makes one per epoch) costs about 1 ms to create instead
    of the 13 ms of a pipeline that shuffles itself, which on a small table
    was half the time of an epoch.

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


class OrderScheduler(keras.callbacks.Callback):
    """Give the ensemble the epoch's training order at the start of every epoch.

    Parameters
    ----------
    order : callable
        ``order(epoch) -> int64 Tensor of shape (n,)``, e.g. a
        :func:`functools.partial` of :func:`epoch_order`.
    """

    def __init__(self, order):
        super().__init__()
        self.order = order

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_epoch_order(self.order(epoch))


class ForgetRateScheduler(keras.callbacks.Callback):
    """Set the ensemble's forget rate (and epoch) at the start of every epoch.

    Parameters
    ----------
    tau : float or None
        Final forget rate.  None estimates it: the forget rate stays 0 for
        ``warmup`` epochs, then ``noise_rate`` is set to ``estimate(model)``
        and ``tau`` to :func:`auto_forget_rate` of it.
    Tk, c : float
        Parameters of :func:`skcoteach.schedules.forget_rate`.
    warmup : int, default=0
        Epochs before ``tau`` is estimated (with ``tau=None``).
    estimate : callable, default=None
        ``estimate(model) -> float``, the noise rate, called once after the
        warm-up (or at the end of training if that comes first).
    noise_rate : float, default=None
        The noise rate estimated by an earlier fit (kept by warm starts).
    """

    def __init__(self, tau, Tk, c, warmup=0, estimate=None, noise_rate=None):
        super().__init__()
        self.tau, self.Tk, self.c = tau, Tk, c
        self.warmup, self.estimate = warmup, estimate
        self.noise_rate = noise_rate
        self.rates = {}  # epoch -> forget rate set

    def _estimate(self):
        if self.tau is None:
            self.noise_rate = float(self.estimate(self.model))
            self.tau = auto_forget_rate(self.noise_rate)

    def on_epoch_begin(self, epoch, logs=None):
        if self.tau is None and epoch >= self.warmup:
            self._estimate()
        rate = 0.0 if self.tau is None else forget_rate(epoch, self.tau, self.Tk, self.c)
        self.rates[epoch] = rate
        self.model.forget_rate.assign(rate)
        self.model.epoch.assign(epoch)

    def on_train_end(self, logs=None):
        self._estimate()


class StepCountProgbar(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, counting the batches actually trained.

    Keras reports the last batch of every execution of ``steps_per_execution``
    batches as if the execution were full; the last execution of an epoch may
    run fewer, so the count would overshoot the epoch (``16/15``).  The count
    is capped at the epoch's length, which the training stream declares.
    """

    steps = None

    def set_params(self, params):
        """Receive the fit's parameters, among them the epoch's length ``steps``."""
        super().set_params(params)
        self.steps = (params or {}).get("steps")

    def on_train_batch_end(self, batch, logs=None):
        """Update the bar with the number of batches trained so far in the epoch."""
        steps = self.steps
        super().on_train_batch_end(min(batch, steps - 1) if steps else batch, logs)


#: What :func:`divergence_error` says when the loss was finite but the weights are not.
WEIGHTS_NOT_FINITE = "the peers' weights are not finite"


def loss_divergence(losses):
    """``(epoch, what)`` for the first non-finite value of the epochs' mean ``losses``, or None."""
    for epoch, loss in enumerate(losses):
        if loss is not None and not np.isfinite(loss):
            return epoch, f"the mean training loss is {float(loss)}"
    return None


def weights_finite(peers):
    """Whether every weight of every peer is finite."""
    return all(np.isfinite(w).all() for peer in peers for w in peer.get_weights())


def divergence_error(epoch, what, learning_rate, note=""):
    """The ``ValueError`` of a fit whose training diverged."""
    rate = float(keras.ops.convert_to_numpy(learning_rate))
    return ValueError(
        f"Training diverged in epoch {epoch} (0-based, as in history_): {what}.{note} "
        f"Try a smaller learning rate, e.g. optimizer__learning_rate={rate / 10:g}."
    )


class StopOnDivergence(keras.callbacks.Callback):
    """Stop ``fit`` with a ``ValueError`` when the training loss or the weights are not finite.

    The loss is checked at the end of every epoch (it is in the logs already,
    so this costs nothing per batch); the peers' weights once, at the end of
    training.
    """

    def _fail(self, epoch, what):
        raise divergence_error(
            epoch,
            what,
            self.model.optimizer.learning_rate,
            " The estimator was left as it was before this fit.",
        )

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        found = loss_divergence([(logs or {}).get("loss")])
        if found is not None:
            self._fail(epoch, found[1])

    def on_train_end(self, logs=None):
        if not weights_finite(self.model.peers):
            self._fail(getattr(self, "epoch", 0), WEIGHTS_NOT_FINITE)


class _KerasRetracingFilter(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning about Keras's trainer.

    Every new estimator (each fit of a grid search, each cross-validation fold)
    builds new peers, so Keras traces new prediction and validation
    functions; TensorFlow counts these by their shared Python code and, from
    the fifth, warns of "excessive retracing" that is neither excessive nor
    avoidable.  (The ensemble's own training function avoids the count at the
    source; see ``PeerEnsemble.make_train_function``.)
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "TensorFlowTrainer" in message)


@contextlib.contextmanager
def quiet_retracing():
    """Filter :class:`_KerasRetracingFilter`'s warning from TensorFlow's logger meanwhile."""
    logger = logging.getLogger("tensorflow")
    quiet = _KerasRetracingFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


#: Fits finished in this process between two releases of TensorFlow's kernel cache.
RELEASE_KERNELS_EVERY = 8
_FITS = {"running": 0, "finished": 0}
_FITS_LOCK = threading.Lock()


@contextlib.contextmanager
def counted_fit():
    """Enclose one fit; every few fits, release the kernels TensorFlow cached for earlier ones.

    TensorFlow's eager context caches the kernels that a traced function
    instantiates and keeps them after the function is gone, so a process
    that fits one estimator after another (a grid-search worker) grows by
    about 1.1 MB per fit of the default MLP (measured over 60 digits fits).
    Every :data:`RELEASE_KERNELS_EVERY` finished fits, when no other fit is
    running in the process, the cache is cleared
    (:func:`skcoteach._compat.clear_kernel_cache`): the live functions
    re-create their kernels when next called (about 45 ms, measured on the
    same fits), and memory stays flat: 0.13 MB per fit over 30 fits (0.01 MB
    when the cache is cleared after every fit).
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


def snapshot(ensemble):
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


def restore(ensemble, saved):
    """Put ``ensemble`` back to a :func:`snapshot`: weights, optimizer, statistics."""
    for name, value in saved["attributes"].items():
        setattr(ensemble, name, value)
    for variable, value in saved["values"]:
        variable.assign(value)


def train(estimator, prepared, epochs):
    """Run Keras's training loop on the estimator's ``model_`` for ``epochs`` epochs.

    ``prepared`` is the :class:`~skcoteach._validation.PreparedFit` of
    ``estimator._prepare_fit``: the training and validation arrays and the
    seed of the training order.

    On a warm start the peers and the optimizer (Adam's moments) go on.  The
    training and validation steps gather their batches from the arrays by
    position.

    With a :class:`keras.callbacks.BackupAndRestore` among the callbacks, a
    fit killed before its end resumes where the checkpoint left it (see
    :mod:`skcoteach._resume`).

    Returns
    -------
    history : keras.callbacks.History
    scheduler : ForgetRateScheduler
        Holds the forget rates set and ``tau``.
    earlier : dict or None
        The epochs done before a resumption (see :func:`record`).
    """
    from ._resume import ResumeState, backup_dir

    est, model = estimator, estimator.model_
    X, y_enc, weights, val = prepared.X, prepared.y_enc, prepared.weights, prepared.validation
    shuffle_seed = prepared.shuffle_seed
    est.callbacks_ = [copy.deepcopy(cb) for cb in (est.callbacks or [])]
    if est.tau == "auto":
        scheduler = ForgetRateScheduler(
            getattr(est, "tau_", None),  # estimated once, kept by warm starts
            est.Tk,
            est.c,
            warmup=auto_tau_warmup(X.shape[0], est.batch_size, est.Tk),
            estimate=lambda m: estimate_noise(y_enc, m),
            noise_rate=getattr(est, "noise_rate_", None),
        )
    else:
        scheduler = ForgetRateScheduler(float(est.tau), est.Tk, est.c)
    callbacks = [scheduler]
    directory = backup_dir(est.callbacks_)
    if directory is not None:  # resumable: the seed, tau and logs go with the checkpoint
        resume = ResumeState(directory, est.n_iter_, shuffle_seed, scheduler)
        shuffle_seed = est._shuffle_seed = resume.shuffle_seed
        callbacks.append(resume)
    callbacks.append(OrderScheduler(est._order_of_epochs(X.shape[0], shuffle_seed)))
    callbacks.extend(est.callbacks_)
    train_positions = est._batch_positions(X.shape[0])
    val_positions = None if val is None else est._batch_positions(val[0].shape[0])
    if est.verbose and not any(isinstance(cb, keras.callbacks.ProgbarLogger) for cb in callbacks):
        callbacks.append(StepCountProgbar())
    model.set_training_arrays(X, y_enc, weights)
    model.set_validation_arrays(*(val or ()))
    try:
        with quiet_retracing(), counted_fit():
            history = model.fit(
                train_positions,
                epochs=est.n_iter_ + epochs,
                initial_epoch=est.n_iter_,
                validation_data=val_positions,
                callbacks=[*callbacks, StopOnDivergence()],
                shuffle=False,  # the dataset shuffles itself, with a seed
                verbose=est.verbose,
            )
    finally:
        # The fitted model keeps no copy of the data.
        model.set_training_arrays()
        model.set_validation_arrays()
    return history, scheduler, (resume.earlier if directory is not None else None)


def record(estimator, history, scheduler, earlier=None):
    """Extend ``history_`` and ``n_iter_``; set ``tau_``, ``noise_rate_``, ``sample_kept_``, ``sample_loss_``.

    ``earlier`` holds the epochs done before this fit was resumed from a
    BackupAndRestore checkpoint (see :class:`skcoteach._resume.ResumeState`);
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
