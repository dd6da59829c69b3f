"""The Keras configuration of a peer ensemble, shared by every backend's ``PeerEnsemble``.

Backend-neutral (Keras only): :class:`EnsembleConfig` gives an ensemble the
``get_config`` / ``from_config`` that Keras's saving uses, and
:func:`output_activation` reads a peer's output activation.
"""

import copy

import keras

__all__ = ["EnsembleConfig", "OUTPUT_KINDS", "output_activation"]

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


class EnsembleConfig:
    """Mixin of a backend's ``PeerEnsemble``: the configuration that rebuilds it."""

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
