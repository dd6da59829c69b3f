"""A peer's log-probabilities on JAX, from the logits of its output layer where it has them.

Imported lazily (it imports Keras's JAX backend).
"""

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
from keras import ops

__all__ = ["log_probabilities", "output_logits"]


def log_probabilities(outputs: Any, kind: str) -> Any:
    """Log-probabilities of shape (batch, n_classes) from a peer's raw output.

    As the TensorFlow backend's: logits through ``log_softmax`` /
    ``log_sigmoid``; probabilities clipped to ``[eps, 1]`` before the
    logarithm.  :meth:`PeerEnsemble.peer_log_probabilities` passes the
    logits of a softmax or sigmoid output layer (:func:`output_logits`).
    """
    binary = outputs.shape[-1] == 1
    if kind == "logits":
        if binary:
            return ops.log_sigmoid(ops.concatenate([-outputs, outputs], axis=-1))
        return ops.log_softmax(outputs, axis=-1)
    if binary:
        outputs = ops.concatenate([1.0 - outputs, outputs], axis=-1)
    return ops.log(ops.clip(outputs, keras.config.epsilon(), 1.0))


def _output_layer(model: Any) -> Any:
    layers = getattr(model, "layers", None)
    if not layers:
        return None
    last = layers[-1]
    return _output_layer(last) if isinstance(last, keras.Model) else last


@contextlib.contextmanager
def output_logits(peer: Any, kind: str) -> Iterator[str]:
    """Within: ``peer`` outputs the logits of its softmax or sigmoid output layer; yields the kind.

    Keras's TensorFlow backend keeps the logits of such an activation on its
    output tensor, and the TensorFlow program computes the cross-entropy
    from them (:func:`skcoteach._compat.keras_logits`); Keras's JAX backend
    keeps none, and ``log(clip(p))`` sends no gradient once a wrong
    prediction saturates.  The output layer's ``activation`` (a ``Dense`` or
    ``Activation`` layer's softmax, or a one-unit sigmoid) is left out while
    the peer is called, and ``"logits"`` is yielded; any other output is
    called as it is and ``kind`` yielded.
    """
    layer = _output_layer(peer) if kind == "probabilities" else None
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    units = peer.outputs[0].shape[-1] if getattr(peer, "outputs", None) else None
    if name == "softmax" or (name == "sigmoid" and units == 1):
        layer.activation = keras.activations.linear
        try:
            yield "logits"
        finally:
            layer.activation = activation
    else:
        yield kind
