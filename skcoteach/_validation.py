"""Checks of the data given to ``fit`` and ``predict``: X, y, weights, validation data.

Pure NumPy and scikit-learn, no TensorFlow.  Nothing here changes the
caller's arrays: every function returns new arrays (or read-only views).
"""

import numpy as np
from sklearn.utils import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._compat import check_sample_weight

__all__ = [
    "check_sample_shape",
    "check_validation_data",
    "encode_y",
    "split_validation",
    "training_data",
    "training_classes",
    "training_weights",
    "validate_X",
    "validate_X_y",
]

_ARRAY_OPTIONS = dict(allow_nd=True, dtype=[np.float32, np.float64], ensure_min_features=1)


def check_sample_shape(estimator, X):
    """Images must keep the shape seen in ``fit`` (``validate_data`` checks axis 1)."""
    if X.shape[1:] != tuple(estimator.X_shape_[1:]):
        raise ValueError(
            f"X has samples of shape {X.shape[1:]}, but {type(estimator).__name__} was "
            f"fitted on samples of shape {tuple(estimator.X_shape_[1:])}."
        )


def validate_X(estimator, X):
    """``X`` for prediction or validation, checked against the fitted shape, as float32."""
    X = validate_data(estimator, X, reset=False, **_ARRAY_OPTIONS)
    check_sample_shape(estimator, X)
    return X.astype(np.float32, copy=False)


def validate_X_y(estimator, X, y, reset):
    """Training ``X`` (float32) and ``y``; ``reset`` records the features seen."""
    X, y = validate_data(estimator, X, y, reset=reset, **_ARRAY_OPTIONS)
    check_classification_targets(y)
    if not reset:
        check_sample_shape(estimator, X)
    return X.astype(np.float32, copy=False), y


def training_classes(estimator, y, classes, reset):
    """All classes of the fit: those of ``y`` or ``classes`` on a new fit, else ``classes_``."""
    if not reset:
        return estimator.classes_
    all_classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
    if len(all_classes) < 2:
        raise ValueError(
            f"{type(estimator).__name__} needs at least 2 classes in y, got only one "
            f"class: {all_classes.tolist()}."
        )
    return all_classes


def encode_y(y, classes):
    """``y`` as int32 positions in ``classes``; refuses labels that are not among them."""
    y = np.asarray(y)
    unseen = np.setdiff1d(np.unique(y), classes)
    if unseen.size:
        raise ValueError(
            f"y contains labels {unseen.tolist()} that are not among the classes "
            f"{classes.tolist()}."
        )
    return np.searchsorted(classes, y).astype(np.int32)


def training_weights(sample_weight, class_weight, X, y, y_enc, classes, reset):
    """Sample weights times class weights, float32; at least 2 classes must weigh > 0."""
    weights = check_sample_weight(sample_weight, X)
    if class_weight is not None:
        present = classes[np.unique(y_enc)]
        weights = weights * compute_sample_weight(
            {k: v for k, v in class_weight.items() if k in present}
            if isinstance(class_weight, dict)
            else class_weight,
            y,
        ).astype(np.float32)
    if reset and len(np.unique(y_enc[weights > 0])) < 2:
        raise ValueError(
            "Only one class has samples with positive sample_weight; at least 2 "
            "classes are needed."
        )
    return weights


def split_validation(X, y, y_enc, weights, validation_split, validation_data):
    """Hold out the last ``validation_split`` share of the samples, as Keras does.

    Returns
    -------
    X, y_enc, weights : ndarray
        The training part.
    validation_data : tuple or None
        ``(X_val, y_val, w_val)`` held out, else ``validation_data`` unchanged.
    """
    n_val = int(np.ceil(validation_split * len(X))) if validation_data is None else 0
    if n_val and n_val >= len(X):
        raise ValueError(
            f"validation_split={validation_split} leaves no training samples out of {len(X)}."
        )
    if not n_val:
        return X, y_enc, weights, validation_data
    held_out = (X[-n_val:], y[-n_val:], weights[-n_val:])  # before shuffling, as Keras
    return X[:-n_val], y_enc[:-n_val], weights[:-n_val], held_out


def check_validation_data(estimator, validation_data):
    """Validated ``(X_val, y_val, w_val)`` of ``validation_data``, or None."""
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
            f"sample_weight_val); got {type(validation_data).__name__}."
        )
    X_val = validate_X(estimator, validation_data[0])
    y_val = encode_y(validation_data[1], estimator.classes_)
    if len(y_val) != len(X_val):
        raise ValueError(f"validation_data has {len(X_val)} samples in X but {len(y_val)} in y.")
    w = validation_data[2] if len(validation_data) == 3 else None
    return X_val, y_val, check_sample_weight(w, X_val)


def training_data(estimator, X, y, sample_weight, reset, classes):
    """Validated ``X``, ``y``, encoded ``y``, weights and all classes of a fit."""
    X, y = validate_X_y(estimator, X, y, reset)
    classes = training_classes(estimator, y, classes, reset)
    y_enc = encode_y(y, classes)
    weights = training_weights(sample_weight, estimator.class_weight, X, y, y_enc, classes, reset)
    return X, y, y_enc, weights, classes
