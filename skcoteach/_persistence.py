"""Pickling support: the peers travel as ``.keras`` archives, the optimizer as its state.

The optimizer itself is rebuilt from the estimator's parameters (which also
works for optimizer classes Keras cannot deserialize by name) and given the
saved values of its variables, so that a warm start after loading goes on as
it would have without pickling.
"""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

from ._build import compile_ensemble
from ._compat import import_keras

if TYPE_CHECKING:
    from ._classifier import CoTeachingClassifier
    from .backends.tensorflow._ensemble import PeerEnsemble

__all__ = ["KerasPickleMixin", "dump_ensemble", "load_ensemble"]


def dump_ensemble(ensemble: PeerEnsemble) -> dict[str, Any]:
    """A picklable dict holding everything needed to rebuild ``ensemble``."""
    archives = []
    with tempfile.TemporaryDirectory() as tmp:
        for p, peer in enumerate(ensemble.peers):
            path = os.path.join(tmp, f"peer{p}.keras")
            peer.save(path)
            with open(path, "rb") as fh:
                archives.append(fh.read())
    return {
        "peers": archives,
        "output_kind": ensemble.output_kind,
        "rule": ensemble.rule_name,
        "rule_options": dict(ensemble.rule_options),  # a plain dict, not Keras-tracked
        "n_samples": ensemble.n_samples,
        "record_proba": ensemble.record_proba,
        "optimizer_variables": [v.numpy() for v in ensemble.optimizer.variables],
    }


def load_ensemble(blob: dict[str, Any], estimator: CoTeachingClassifier) -> PeerEnsemble:
    """The compiled ensemble saved by :func:`dump_ensemble`, for ``estimator``."""
    keras = import_keras()
    peers = []
    with tempfile.TemporaryDirectory() as tmp:
        for p, data in enumerate(blob["peers"]):
            path = os.path.join(tmp, f"peer{p}.keras")
            with open(path, "wb") as fh:
                fh.write(data)
            peers.append(keras.saving.load_model(path, compile=False))
    return compile_ensemble(
        peers,
        estimator,
        optimizer_state=blob.get("optimizer_variables"),
        output_kind=blob["output_kind"],
        n_samples=blob["n_samples"],
        rule=blob["rule"],
        rule_options=blob["rule_options"],
        record_proba=blob.get("record_proba", 0),
    )


def _class_named(name):
    """The class ``"module:qualname"``, its module imported after Keras's backend."""
    import functools
    import importlib

    import_keras()
    module, qualname = name.split(":")
    return functools.reduce(getattr, qualname.split("."), importlib.import_module(module))


class KerasPickleMixin:
    """Pickling of an estimator whose fitted ``model_`` is a :class:`PeerEnsemble`."""

    def __getstate__(self):
        state = dict(vars(self))
        if "_optimizer_config" in state:
            # The optimizer's class by name: unpickling then imports Keras through
            # import_keras (quietly), not through pickle.
            cls, config = state["_optimizer_config"]
            state["_optimizer_config"] = (f"{cls.__module__}:{cls.__qualname__}", config)
        if "model_" in state:
            state["model_"] = dump_ensemble(self.model_)
            state.pop("peers_", None)
            # Trained callbacks reference the Keras model; they are not pickled.
            state.pop("callbacks_", None)
        return state

    def __setstate__(self, state):
        saved = state.get("_optimizer_config")
        if saved is not None and isinstance(saved[0], str):
            state = {**state, "_optimizer_config": (_class_named(saved[0]), saved[1])}
        blob = state.get("model_")
        vars(self).update(state)
        if isinstance(blob, dict):
            self.model_ = load_ensemble(blob, self)
            self.peers_ = self.model_.peers
