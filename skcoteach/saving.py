"""Loading an ensemble saved with Keras's own saving.

A fitted estimator's ``model_`` (a ``PeerEnsemble``: every peer in one Keras
model whose call returns their mean class probabilities) saves as any Keras
model does -- ``clf.model_.save("model.keras")``,
``keras.callbacks.ModelCheckpoint`` -- and :func:`load_model` reads it back
in any process.  To get a whole estimator back, pickle it (or use joblib)
instead: the saved Keras model holds the networks, not the estimator's
parameters or ``classes_``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

__all__ = ["load_model"]


def load_model(
    filepath: str | os.PathLike,
    *,
    compile: bool = True,
    safe_mode: bool = True,
    custom_objects: dict[str, Any] | None = None,
) -> keras.Model:
    """Load a ``.keras`` file written by ``clf.model_.save`` or ``ModelCheckpoint``.

    :func:`keras.saving.load_model` after registering skcoteach's classes with
    Keras (``import skcoteach`` alone does not, so that it does not import
    TensorFlow).  Calling the result, or its ``predict``, gives the peers' mean
    class probabilities, columns in the order of the estimator's ``classes_``.

    Parameters
    ----------
    filepath : str or path-like
        The ``.keras`` file.
    compile : bool, default=True
        Compile the ensemble with its saved optimizer and state, as ``fit``
        compiles it.
    safe_mode : bool, default=True
        As in :func:`keras.saving.load_model`.
    custom_objects : dict, default=None
        Classes and functions of the peers that Keras cannot find otherwise
        (user-defined layers), as in :func:`keras.saving.load_model`.

    Returns
    -------
    keras.Model
        The loaded ensemble; its per-sample training statistics start at zero.
    """
    from ._compat import import_keras

    keras = import_keras()
    from .backends import api

    api()  # imports (and so registers with Keras) the backend's PeerEnsemble

    return keras.saving.load_model(
        filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode
    )
