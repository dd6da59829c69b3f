"""Resuming a killed fit from a :class:`keras.callbacks.BackupAndRestore` checkpoint.

Keras's callback saves the peers' weights, the optimizer's state (Adam's
moments and step count) and the number of epochs done, and makes the next
``fit`` with the same ``backup_dir`` start at that epoch.  Everything else a
fit depends on is either derived from the epoch (the forget rate of
:func:`skcoteach.schedules.forget_rate`, the training order of
the backend's ``epoch_order``) or is the estimator's Python
state, which :class:`ResumeState` writes next to Keras's checkpoint at the end
of every epoch: the seed of the training order (drawn afresh by
``random_state=None``), ``tau`` (estimated once by ``tau="auto"``) and the logs
and forget rates of the epochs done, which become ``history_``.

The state is written before Keras's checkpoint (this callback runs before the
user's), so it holds at least the epochs of the checkpoint; a resumed fit keeps
only the epochs before the first one it trains.  Exact resumption needs
``save_freq="epoch"`` (Keras's default): a checkpoint taken within an epoch
restarts that epoch from its first batch with the weights of the middle.

Backend-neutral: files are written through Keras's file utilities (local
paths, and the remote file systems of ``tf.io.gfile`` where TensorFlow is
installed), imported lazily.
"""

import json
import posixpath
from typing import Any

import keras

from .._compat import keras_file_utils, replace_file

__all__ = ["STATE_FILE", "ResumeState", "backup_dir"]

#: Name of the estimator's state file in the ``backup_dir`` of BackupAndRestore.
STATE_FILE = "skcoteach_state.json"


def backup_dir(callbacks: list[keras.callbacks.Callback]) -> str | None:
    """The ``backup_dir`` of the one BackupAndRestore in ``callbacks``, or None."""
    dirs = [cb.backup_dir for cb in callbacks if isinstance(cb, keras.callbacks.BackupAndRestore)]
    if len(dirs) > 1:
        raise ValueError(
            f"callbacks hold {len(dirs)} keras.callbacks.BackupAndRestore; a fit can "
            "resume from one checkpoint only: pass at most one."
        )
    return dirs[0] if dirs else None


class ResumeState(keras.callbacks.Callback):
    """Save and restore the estimator's side of a BackupAndRestore checkpoint.

    Parameters
    ----------
    directory : str
        The ``backup_dir`` of the BackupAndRestore callback (a local path or
        any file system Keras's own files reach).
    first_epoch : int
        The epoch this ``fit`` starts at when nothing is resumed (``n_iter_``).
    shuffle_seed : int
        Seed of the training order drawn for this fit.
    scheduler : skcoteach._callbacks.ForgetRateScheduler
        The fit's forget-rate schedule; a resumed fit gets the saved ``tau``.

    Attributes
    ----------
    shuffle_seed : int
        The seed to train with: the saved one when a checkpoint of this fit
        exists, else the one passed.
    earlier : dict
        ``{"epoch": [...], "logs": {name: [...]}, "forget_rate": [...]}`` of the
        epochs done before a resumption (empty lists otherwise), known once
        training has begun.
    """

    def __init__(self, directory, first_epoch, shuffle_seed, scheduler):
        super().__init__()
        self.path = posixpath.join(str(directory), STATE_FILE)
        self.first_epoch = first_epoch
        self.scheduler = scheduler
        saved = self._load()
        if saved is not None and saved["first_epoch"] != first_epoch:
            saved = None  # a checkpoint of another fit (e.g. before a warm start)
        self.saved = saved
        self.shuffle_seed = shuffle_seed if saved is None else saved["shuffle_seed"]
        if saved is not None and saved["tau"] is not None and scheduler.tau is None:
            scheduler.tau = saved["tau"]  # tau="auto" estimated before the interruption
            scheduler.noise_rate = saved.get("noise_rate")
        self.epochs = []  # [(epoch, logs, forget rate)], saved ones first
        self.earlier = {"epoch": [], "logs": {}, "forget_rate": []}
        self._started = False

    def _load(self):
        files = keras_file_utils()
        if not files.exists(self.path):
            return None
        with files.File(self.path, "r") as f:
            return json.load(f)

    def _resume(self, epoch):
        """Keep the saved epochs before ``epoch``, the first one trained now."""
        self._started = True
        if self.saved is None:
            return
        self.epochs = [tuple(e) for e in self.saved["epochs"] if e[0] < epoch]
        self.earlier = {
            "epoch": [e for e, _, _ in self.epochs],
            "logs": {},
            "forget_rate": [rate for _, _, rate in self.epochs],
        }
        for _, logs, _ in self.epochs:
            for name, value in logs.items():
                self.earlier["logs"].setdefault(name, []).append(value)
        self.scheduler.rates.update(zip(self.earlier["epoch"], self.earlier["forget_rate"]))

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Drop the saved epochs that the restored checkpoint does not hold."""
        if not self._started:
            self._resume(epoch)

    def on_epoch_end(self, epoch, logs=None):
        """Write the state of the epochs done so far, atomically."""
        logs = {name: float(value) for name, value in (logs or {}).items()}
        self.epochs.append((epoch, logs, float(self.scheduler.rates[epoch])))
        state = {
            "first_epoch": self.first_epoch,
            "shuffle_seed": self.shuffle_seed,
            "tau": self.scheduler.tau,
            "noise_rate": self.scheduler.noise_rate,
            "epochs": self.epochs,
        }
        files = keras_file_utils()
        directory = posixpath.dirname(self.path)
        if not files.exists(directory):
            files.makedirs(directory)
        partial = self.path + ".partial"
        with files.File(partial, "w") as f:
            json.dump(state, f)
        replace_file(partial, self.path)

    def on_train_end(self, logs=None):
        """A checkpoint taken after the last epoch: every saved epoch counts."""
        if not self._started:
            self._resume(float("inf"))
