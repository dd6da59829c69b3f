"""The callbacks ``fit`` adds to Keras's training loop, and the ``tau="auto"`` warm-up.

The forget-rate schedule (with the noise-rate estimate of ``tau="auto"``),
the epoch order, an exact progress bar and the stop on divergence.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from .schedules import forget_rate

if TYPE_CHECKING:
    from .backends.tensorflow._ensemble import PeerEnsemble

__all__ = [
    "auto_forget_rate",
    "AUTO_TAU_MAX",
    "AUTO_TAU_WARMUP",
    "auto_tau_warmup",
    "AUTO_TAU_WARMUP_STEPS",
    "divergence_error",
    "estimate_noise",
    "fit_divergence",
    "ForgetRateScheduler",
    "loss_divergence",
    "OrderScheduler",
    "quiet_retracing",
    "StepCountProgbar",
    "StopOnDivergence",
    "weights_finite",
    "WEIGHTS_NOT_FINITE",
]

#: Least number of warm-up epochs before ``tau="auto"`` estimates the noise rate.
AUTO_TAU_WARMUP = 2

#: Least number of optimizer steps of that warm-up: on a small table an epoch is
#: a handful of steps, too few for the peers to learn the clean patterns.
AUTO_TAU_WARMUP_STEPS = 50

#: Largest forget rate ``tau="auto"`` sets: some samples are always kept.
AUTO_TAU_MAX = 0.9


def auto_tau_warmup(n_samples: int, batch_size: int, Tk: float) -> int:
    """Warm-up epochs of ``tau="auto"`` for a training set of ``n_samples``.

    At least :data:`AUTO_TAU_WARMUP` epochs and :data:`AUTO_TAU_WARMUP_STEPS`
    optimizer steps, at most ``ceil(Tk)`` epochs: on a small table two epochs
    are a handful of steps, after which the noise-rate estimate is far off
    (measured in the user guide, "Choosing the hyper-parameters").  On MNIST
    an epoch is hundreds of steps: two epochs.
    """
    steps_per_epoch = -(-int(n_samples) // int(batch_size))
    by_steps = -(-AUTO_TAU_WARMUP_STEPS // steps_per_epoch)
    return int(min(np.ceil(Tk), max(AUTO_TAU_WARMUP, by_steps)))


def estimate_noise(y_enc: np.ndarray, model: PeerEnsemble) -> float:
    """Noise rate from the probabilities recorded in the last warm-up epoch."""
    from .noise import estimate_noise_rate

    proba = model.sample_statistics()["proba"]
    return estimate_noise_rate(y_enc, proba)


def auto_forget_rate(noise_rate: float) -> float:
    """The forget rate ``tau="auto"`` uses for an estimated noise rate: the rate, capped.

    The estimate itself, not a multiple of it: the larger multiple that the
    MNIST benchmark rewards costs accuracy on small tables (user guide,
    "Why tau="auto" is the default").
    """
    return min(float(noise_rate), AUTO_TAU_MAX)


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

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
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

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
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

    def set_params(self, params: dict[str, Any]) -> None:
        """Receive the fit's parameters, among them the epoch's length ``steps``."""
        super().set_params(params)
        self.steps = (params or {}).get("steps")

    def on_train_batch_end(self, batch, logs=None):
        """Update the bar with the number of batches trained so far in the epoch."""
        steps = self.steps
        super().on_train_batch_end(min(batch, steps - 1) if steps else batch, logs)


#: What :func:`divergence_error` says when the loss was finite but the weights are not.
WEIGHTS_NOT_FINITE = "the peers' weights are not finite"


def loss_divergence(losses: list[float | None]) -> tuple[int, str] | None:
    """``(epoch, what)`` for the first non-finite value of the epochs' mean ``losses``, or None."""
    for epoch, loss in enumerate(losses):
        if loss is not None and not np.isfinite(loss):
            return epoch, f"the mean training loss is {float(loss)}"
    return None


def weights_finite(peers: list[keras.Model]) -> bool:
    """Whether every weight of every peer is finite."""
    return all(np.isfinite(w).all() for peer in peers for w in peer.get_weights())


def divergence_error(epoch: int, what: str, learning_rate: Any, note: str = "") -> ValueError:
    """The ``ValueError`` of a fit whose training diverged."""
    rate = float(keras.ops.convert_to_numpy(learning_rate))
    return ValueError(
        f"Training diverged in epoch {epoch} (0-based, as in history_): {what}.{note} "
        f"Try a smaller learning rate, e.g. optimizer__learning_rate={rate / 10:g}."
    )


def fit_divergence(estimator: Any, history: dict[str, list], learning_rate: Any) -> ValueError | None:
    """The ``ValueError`` a fit of ``estimator`` raises for these epochs' logs, or None.

    A fit trained with others in one program (grouped search) runs all its
    epochs; afterwards it is judged as :class:`StopOnDivergence` would have
    judged it alone: a non-finite epoch loss, else non-finite weights.
    """
    losses = history.get("loss", [])
    found = loss_divergence(losses)
    if found is None:
        if weights_finite(estimator.model_.peers):
            return None
        found = (max(len(losses) - 1, 0), WEIGHTS_NOT_FINITE)
    return divergence_error(*found, learning_rate)


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

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
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
def quiet_retracing() -> Iterator[None]:
    """Filter :class:`_KerasRetracingFilter`'s warning from TensorFlow's logger meanwhile."""
    logger = logging.getLogger("tensorflow")
    quiet = _KerasRetracingFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


