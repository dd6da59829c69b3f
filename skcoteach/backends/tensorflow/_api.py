"""What the estimator calls from the TensorFlow backend (see :func:`skcoteach.backends.api`).

Every backend's ``_api`` module has these names.
"""

import keras

from .._config import output_activation
from ._compat import under_strategy, without_default_all_reduce
from ._ensemble import PeerEnsemble
from ._joint import fit_together, group_key
from ._optimizers import fuse
from ._replicas import under_distribution
from ._runtime import configure_tensorflow as configure
from ._training import (
    batch_positions,
    epoch_order,
    predict_proba,
    record,
    restore,
    snapshot,
    train,
)

__all__ = [
    "PeerEnsemble",
    "register",
    "batch_positions",
    "configure",
    "epoch_order",
    "fit_together",
    "group_key",
    "output_activation",
    "predict_proba",
    "prepare_optimizer",
    "record",
    "restore",
    "snapshot",
    "steps_per_execution",
    "train",
    "under_distribution",
]


def register() -> None:
    """Make this backend's ``PeerEnsemble`` the one Keras loads as ``"skcoteach>PeerEnsemble"``.

    Both backends' classes register under that name when imported; the one
    of the backend in use must win (a process may import both).
    """
    keras.saving.get_custom_objects()["skcoteach>PeerEnsemble"] = PeerEnsemble


def prepare_optimizer(optimizer):
    """The optimizer the ensemble is compiled with: Keras's Adam fused, no all-reduce over one replica."""
    return without_default_all_reduce(fuse(optimizer))


def steps_per_execution(ensemble, steps: int) -> int:
    """``steps``, or 1 under a ``tf.distribute`` strategy.

    Keras's loop of several steps per call fails under ``MirroredStrategy``
    (Keras 3.15, TensorFlow 2.21: "You must feed a value for placeholder
    tensor" from ``multi_step_on_iterator``, with a plain ``Sequential``
    model too), so a distributed fit runs one step per call.
    """
    return 1 if under_strategy(ensemble) else steps
