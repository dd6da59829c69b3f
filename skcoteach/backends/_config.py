"""What every backend's ``PeerEnsemble`` shares: its set-up, its Keras configuration, its logs.

Backend-neutral (Keras only): :class:`EnsembleConfig` sets up an ensemble's
common attributes and gives it the ``get_config`` / ``from_config`` that
Keras's saving uses; :class:`MeanVector` accumulates its training logs;
:func:`output_activation` reads a peer's output activation.
"""

import copy

import keras
import numpy as np
from keras import ops

from .. import rules

__all__ = ["EnsembleConfig", "MeanVector", "OUTPUT_KINDS", "output_activation"]

#: What a peer's output may hold.
OUTPUT_KINDS = ("probabilities", "logits")


def output_activation(model: keras.Model) -> str | None:
    """Name of the activation of ``model``'s output layer, or None if unknown."""
    layers = getattr(model, "layers", None)
    if not layers:
        return None
    last = layers[-1]
    if isinstance(last, keras.Model):
        return output_activation(last)
    if isinstance(last, keras.layers.Softmax):
        return "softmax"
    activation = getattr(last, "activation", None)
    return getattr(activation, "__name__", None)


@keras.saving.register_keras_serializable(package="skcoteach")
class MeanVector(keras.metrics.Metric):
    """Running mean of a fixed-length vector (one entry per training log).

    One accumulator for every training log (the mean loss, each peer's loss,
    the kept fraction): two variable updates per step instead of one pair
    per log.

    Parameters
    ----------
    size : int
        Length of the vectors passed to :meth:`update_state`.
    name : str, default=None
        Name of the metric.
    """

    def __init__(self, size, name=None):
        super().__init__(name=name)
        self.total = self.add_variable(shape=(size,), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values):
        """Add one vector of values."""
        self.total.assign_add(ops.cast(values, self.total.dtype))
        self.count.assign_add(1.0)

    def result(self):
        """Element-wise mean of the vectors added since the last reset."""
        return ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        """The arguments that rebuild this metric: ``size`` and ``name``."""
        return {"size": int(self.total.shape[0]), "name": self.name}


class EnsembleConfig:
    """Mixin of a backend's ``PeerEnsemble``: its common set-up and the configuration that rebuilds it."""

    def _set_up(self, peers, output_kind, rule, rule_options, record_proba) -> None:
        """Check and store the arguments every ensemble has; create its log trackers."""
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, got {output_kind!r}.")
        self.peers = list(peers)
        self.output_kind = output_kind
        self.rule_name = rule
        self.rule_options = dict(rule_options or {})
        self._rule = rules.RULES[rule]
        self.record_proba = int(record_proba)
        self._training_arrays = ()  # see set_training_arrays
        self._validation_arrays = ()  # see set_validation_arrays
        self._rare_classes = None  # 1 for a class rare in the training labels (set_class_shares)
        self._any_rare = True  # whether there is one
        self.train_names = [
            "loss",
            *[f"peer_{p}_loss" for p in range(len(self.peers))],
            "kept_fraction",
        ]
        self.train_tracker = MeanVector(len(self.train_names), name="train_logs")
        self.val_loss_tracker = keras.metrics.Mean(name="val_loss")
        self.val_accuracy_tracker = keras.metrics.Mean(name="val_accuracy")

    def _step_rule_options(self) -> dict:
        """The rule's options as the training step uses them.

        ``selection="class_floor"`` is traced as ``"global"`` while no class of
        the training labels is rare (:func:`skcoteach._selection.rare_classes`):
        its floors would be 0 in every batch, and the step skips computing them.
        """
        if self.rule_options.get("selection") == "class_floor" and not self._any_rare:
            return {**self.rule_options, "selection": "global"}
        return self.rule_options

    def _note_rare_classes(self, shares) -> np.ndarray:
        """The rare classes of ``shares`` (0/1); a change of whether there is one needs a new trace."""
        from .._selection import rare_classes

        rare = rare_classes(shares)
        any_rare = bool(rare.any())
        if any_rare != self._any_rare:
            self.train_function = None
        self._any_rare = any_rare
        return rare

    def get_config(self):
        """The arguments that rebuild this ensemble, with every peer serialized.

        Returns
        -------
        dict
            ``name``, ``trainable``, ``peers`` (each peer as
            :func:`keras.saving.serialize_keras_object` writes it),
            ``output_kind``, ``n_samples``, ``rule``, ``rule_options`` and
            ``record_proba``.  The weights are not part of it: Keras saves
            them apart, peer by peer.
        """
        return {
            "name": self.name,
            "trainable": self.trainable,
            "peers": [keras.saving.serialize_keras_object(peer) for peer in self.peers],
            "output_kind": self.output_kind,
            "n_samples": self.n_samples,
            "rule": self.rule_name,
            "rule_options": dict(self.rule_options),
            "record_proba": self.record_proba,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The ensemble of :meth:`get_config`'s ``config``, its peers rebuilt (not yet trained).

        Parameters
        ----------
        config : dict
            As returned by :meth:`get_config`; it is not changed.
        custom_objects : dict, default=None
            Classes and functions the peers' configurations name that Keras
            cannot find otherwise (as for :func:`keras.saving.load_model`).
        """
        config = copy.deepcopy(config)  # Keras's deserialization consumes the peers' configs
        peers = [
            keras.saving.deserialize_keras_object(peer, custom_objects=custom_objects)
            for peer in config.pop("peers")
        ]
        return cls(peers, **config)
