"""What the estimator calls from the JAX backend (see :func:`skcoteach.backends.api`).

The names of :mod:`skcoteach.backends.tensorflow._api`.
"""

import keras

from .._config import output_activation
from ._ensemble import PeerEnsemble
from ._joint import fit_together, group_key
from ._predict import predict_proba
from ._training import (
    batch_positions,
    epoch_order,
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



def configure() -> None:
    """Nothing to configure: JAX sizes its own thread pools."""


def register() -> None:
    """Make this backend's ``PeerEnsemble`` the one Keras loads as ``"skcoteach>PeerEnsemble"``.

    Both backends' classes register under that name when imported; the one
    of the backend in use must win (a process may import both).
    """
    keras.saving.get_custom_objects()["skcoteach>PeerEnsemble"] = PeerEnsemble


def prepare_optimizer(optimizer):
    """The optimizer the ensemble is compiled with: Keras's own."""
    return optimizer


def steps_per_execution(ensemble, steps: int) -> int:
    """``steps``: the mini-batches of one call of the compiled training function."""
    return steps


def under_distribution() -> bool:
    """Whether a ``keras.distribution`` is set."""
    return keras.distribution.distribution() is not None
