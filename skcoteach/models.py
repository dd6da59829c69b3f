"""Default model factories.

A model factory is a function that receives ``meta`` (a dict describing the
training data, with the key names of scikeras) and its routed ``model__<name>``
parameters, and returns an uncompiled :class:`keras.Model` whose output layer
has ``meta["n_classes_"]`` units.  :class:`~skcoteach.CoTeachingClassifier`
calls it once per peer.  The two factories here are used when ``model=None``:
:func:`mlp` for 2-D (tabular) ``X`` and :func:`cnn` for image-shaped ``X`` of
shape ``(n, height, width)`` or ``(n, height, width, channels)``.

Both start with a :class:`keras.layers.Normalization` layer computing
``(x - meta["X_mean_"]) / sqrt(meta["X_var_"])``, so unscaled inputs such as
0-255 pixel values work out of the box.  With ``model=None`` the estimator
sets both from the training data (:func:`skcoteach._build.feature_scaling`):
the mean and variance of each column (of all pixels for :func:`cnn`), except
that sparse columns are never centred nor amplified and dense 0/1 columns
pass unchanged (user guide, "Sparse, text and categorical features").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = ["mlp", "cnn"]


def _normalization(meta, per_feature):
    import keras

    mean, var = meta.get("X_mean_"), meta.get("X_var_")
    if mean is None or var is None:
        return None
    if not per_feature:  # one mean / variance over all pixels
        mean, var = np.mean(mean), np.mean(var + np.square(mean)) - np.square(np.mean(mean))
    return keras.layers.Normalization(axis=None if not per_feature else -1, mean=mean, variance=var)


def mlp(
    meta: dict[str, Any],
    hidden_layer_sizes: tuple[int, ...] = (100,),
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """A multi-layer perceptron for tabular data.

    Parameters
    ----------
    meta : dict
        Description of the training data; uses ``n_features_in_``,
        ``n_classes_`` and, if present, ``X_mean_`` / ``X_var_``.
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer (as in scikit-learn's ``MLPClassifier``).
    activation : str, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout rate after each hidden layer.

    Returns
    -------
    keras.Model
        Uncompiled model with a softmax output of ``n_classes_`` units.

    Examples
    --------
    Route the parameters through the classifier::

        CoTeachingClassifier(model__hidden_layer_sizes=(256,), model__dropout=0.1)
    """
    import keras

    inputs = keras.Input(shape=(meta["n_features_in_"],))
    x = inputs
    norm = _normalization(meta, per_feature=True)
    if norm is not None:
        x = norm(x)
    for units in hidden_layer_sizes:
        x = keras.layers.Dense(units, activation=activation)(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    return keras.Model(inputs, outputs)


def cnn(
    meta: dict[str, Any],
    filters: tuple[int, ...] = (32, 64),
    kernel_size: int = 3,
    dense_units: int = 128,
    dropout: float = 0.0,
) -> keras.Model:
    """A small convolutional network for images.

    Each entry of ``filters`` adds a ``Conv2D`` (``same`` padding, ReLU)
    followed by 2x2 max pooling while the feature map is at least 2 pixels
    wide, then a dense layer and the softmax output.

    Parameters
    ----------
    meta : dict
        Description of the training data; uses ``X_shape_`` (``(n, h, w)`` or
        ``(n, h, w, channels)``), ``n_classes_`` and, if present,
        ``X_mean_`` / ``X_var_``.
    filters : tuple of int, default=(32, 64)
        Filters of each convolutional block.
    kernel_size : int, default=3
        Size of the convolution kernels.
    dense_units : int, default=128
        Units of the dense layer before the output (0 for none).
    dropout : float, default=0.0
        Dropout rate before the output layer.

    Returns
    -------
    keras.Model
        Uncompiled model with a softmax output of ``n_classes_`` units.
    """
    import keras

    shape = tuple(meta["X_shape_"][1:])
    if len(shape) not in (2, 3):
        raise ValueError(
            "The default CNN takes images of shape (n, height, width) or "
            f"(n, height, width, channels); got X of shape {meta['X_shape_']}."
        )
    inputs = keras.Input(shape=shape)
    x = inputs
    norm = _normalization(meta, per_feature=False)
    if norm is not None:
        x = norm(x)
    if len(shape) == 2:
        x = keras.layers.Reshape(shape + (1,))(x)
    size = min(shape[:2])
    for n_filters in filters:
        x = keras.layers.Conv2D(n_filters, kernel_size, padding="same", activation="relu")(x)
        if size >= 2:
            x = keras.layers.MaxPooling2D(2)(x)
            size //= 2
    x = keras.layers.Flatten()(x)
    if dense_units:
        x = keras.layers.Dense(dense_units, activation="relu")(x)
    if dropout:
        x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    return keras.Model(inputs, outputs)
