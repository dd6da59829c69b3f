"""Checks of the data given to ``fit`` and ``predict``: X, y, weights, validation data.

Pure NumPy, SciPy and scikit-learn, no TensorFlow, so that bad input is
reported before TensorFlow is imported.  ``X`` may be a scipy.sparse matrix
or array (CSR, CSC, COO), which becomes CSR and is never densified.  Nothing
here changes the caller's arrays: every function returns new arrays (or
views that are never written to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.utils import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._compat import check_sample_weight

if TYPE_CHECKING:
    from ._classifier import CoTeachingClassifier

__all__ = [
    "PreparedFit",
    "as_float32",
    "check_sample_shape",
    "check_validation_data",
    "encode_y",
    "n_samples",
    "split_validation",
    "training_data",
    "training_classes",
    "training_weights",
    "validate_X",
    "validate_X_y",
]

_ARRAY_OPTIONS = dict(
    allow_nd=True,
    dtype=[np.float32, np.float64],
    ensure_min_features=1,
    # CSC and COO become CSR (row batches); never densified here.
    accept_sparse="csr",
    accept_large_sparse=True,
)

@dataclass(frozen=True)
class PreparedFit:
    """What a fit trains on, once its input is checked and its peers are built.

    Attributes
    ----------
    X : ndarray or scipy.sparse CSR matrix of shape (n_samples, ...)
        The training samples, float32 (``validation_split`` held out).
    y_enc : ndarray of shape (n_samples,)
        Their labels as int32 positions in ``classes_``.
    weights : ndarray of shape (n_samples,)
        Sample weights times class weights, float32.
    validation : tuple or None
        ``(X_val, y_val, w_val)``, checked and encoded, or None.
    shuffle_seed : int
        Seed of the training order.
    """

    X: object
    y_enc: np.ndarray
    weights: np.ndarray
    validation: tuple | None
    shuffle_seed: int


#: The largest finite float32: training runs in float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def n_samples(X: Any) -> int:
    """Number of samples of a validated ``X`` (an ndarray or a scipy.sparse matrix)."""
    return X.shape[0]


def as_float32(X: Any, source: str = "X") -> Any:
    """``X`` (ndarray or CSR) as float32; values finite in float64 but not in float32 are an error.

    Raises
    ------
    ValueError
        Naming ``source``, the first offending value and where it is.
    """
    values = X.data if sp.issparse(X) else X
    if values.dtype != np.float32 and values.size:
        outside = (values.max() > _FLOAT32_MAX) or (values.min() < -_FLOAT32_MAX)
        if outside:
            flat = np.flatnonzero(np.abs(values.ravel()) > _FLOAT32_MAX)
            where = _position(X, flat[0])
            raise ValueError(
                f"{source} has {flat.size} value(s) too large for float32 (|x| > "
                f"{_FLOAT32_MAX:.4g}), the precision the networks train in; the first is "
                f"{float(values.ravel()[flat[0]]):g} at {where}. Rescale the features (e.g. "
                "sklearn.preprocessing.StandardScaler or a log transform) before fitting."
            )
    return X.astype(np.float32, copy=False)


def _position(X, flat_index):
    """Where the ``flat_index``-th stored value of ``X`` is, in words."""
    if sp.issparse(X):
        row = int(np.searchsorted(X.indptr, flat_index, side="right") - 1)
        return f"row {row}, column {int(X.indices[flat_index])}"
    row, *rest = (int(i) for i in np.unravel_index(flat_index, X.shape))
    return f"row {row}, " + (f"column {rest[0]}" if len(rest) == 1 else f"position {tuple(rest)}")


def check_sample_shape(estimator: CoTeachingClassifier, X: Any) -> None:
    """Images must keep the shape seen in ``fit`` (``validate_data`` checks axis 1)."""
    if X.shape[1:] != tuple(estimator.X_shape_[1:]):
        raise ValueError(
            f"X has samples of shape {X.shape[1:]}, but {type(estimator).__name__} was "
            f"fitted on samples of shape {tuple(estimator.X_shape_[1:])}."
        )


def validate_X(estimator: CoTeachingClassifier, X: Any) -> Any:
    """``X`` for prediction or validation, checked against the fitted shape, as float32."""
    X = validate_data(estimator, X, reset=False, **_ARRAY_OPTIONS)
    check_sample_shape(estimator, X)
    return as_float32(X)


def validate_X_y(
    estimator: CoTeachingClassifier, X: Any, y: ArrayLike, reset: bool
) -> tuple[Any, np.ndarray]:
    """Training ``X`` (float32) and ``y``; ``reset`` records the features seen."""
    X, y = validate_data(estimator, X, y, reset=reset, **_ARRAY_OPTIONS)
    check_classification_targets(y)
    if not reset:
        check_sample_shape(estimator, X)
    return as_float32(X), y


def training_classes(
    estimator: CoTeachingClassifier, y: np.ndarray, classes: ArrayLike | None, reset: bool
) -> np.ndarray:
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


def encode_y(y: ArrayLike, classes: np.ndarray) -> np.ndarray:
    """``y`` as int32 positions in ``classes``; refuses labels that are not among them."""
    y = np.asarray(y)
    unseen = np.setdiff1d(np.unique(y), classes)
    if unseen.size:
        raise ValueError(
            f"y contains labels {unseen.tolist()} that are not among the classes "
            f"{classes.tolist()}."
        )
    return np.searchsorted(classes, y).astype(np.int32)


def training_weights(
    sample_weight: ArrayLike | None,
    class_weight: dict[Any, float] | str | None,
    X: Any,
    y: np.ndarray,
    y_enc: np.ndarray,
    classes: np.ndarray,
    reset: bool,
) -> np.ndarray:
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


def split_validation(
    X: Any,
    y: np.ndarray,
    y_enc: np.ndarray,
    weights: np.ndarray,
    validation_split: float,
    validation_data: tuple | None,
) -> tuple[Any, np.ndarray, np.ndarray, tuple | None]:
    """Hold out the last ``validation_split`` share of the samples, as Keras does.

    Returns
    -------
    X, y_enc, weights : ndarray
        The training part.
    validation_data : tuple or None
        ``(X_val, y_val, w_val)`` held out, else ``validation_data`` unchanged.
    """
    n = n_samples(X)
    n_val = int(np.ceil(validation_split * n)) if validation_data is None else 0
    if n_val and n_val >= n:
        raise ValueError(
            f"validation_split={validation_split} leaves no training samples out of {n}."
        )
    if not n_val:
        return X, y_enc, weights, validation_data
    held_out = (X[-n_val:], y[-n_val:], weights[-n_val:])  # before shuffling, as Keras
    return X[:-n_val], y_enc[:-n_val], weights[:-n_val], held_out


def check_validation_data(
    estimator: CoTeachingClassifier, validation_data: tuple | list | None
) -> tuple[Any, np.ndarray, np.ndarray] | None:
    """Validated ``(X_val, y_val, w_val)`` of ``validation_data``, or None.

    ``X_val`` gets the checks of the ``X`` given to ``predict`` (features, or
    sample shape of images, as in the fit; finite values; at least one
    sample), ``y_val`` must be 1-D with labels among ``estimator.classes_``
    (a column vector is raveled with a ``DataConversionWarning``, as for the
    training ``y``), and ``sample_weight_val`` gets the checks of the
    training ``sample_weight``.

    Parameters
    ----------
    estimator : CoTeachingClassifier
        Fitted far enough to have ``n_features_in_``, ``X_shape_`` and
        ``classes_``.
    validation_data : tuple or list of length 2 or 3, or None
        ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)``.

    Returns
    -------
    tuple or None
        ``(X_val, y_val, w_val)``: float32 ``X_val``, ``y_val`` as int32
        positions in ``classes_`` and float32 weights (ones when not given);
        None when ``validation_data`` is None.

    Raises
    ------
    ValueError or TypeError
        Whose message starts with ``validation_data`` and names the element
        at fault (``X_val``, ``y_val`` or ``sample_weight_val``), followed by
        the explanation of the check that failed and what to pass instead.
        The type is that of the failed check (``TypeError`` where that check
        raises one, e.g. for a type it does not accept).
    """
    import warnings

    from sklearn.exceptions import DataConversionWarning

    if validation_data is None:
        return None
    form = "(X_val, y_val) or (X_val, y_val, sample_weight_val)"
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        got = type(validation_data).__name__
        if isinstance(validation_data, (tuple, list)):
            got = f"a {got} of length {len(validation_data)}"
        raise ValueError(f"validation_data must be a tuple {form}; got {got}.")
    classes = estimator.classes_
    hints = {
        "X_val": (
            "X_val must be prepared like the training X: the same features (or sample "
            "shape), finite values, at least one sample."
        ),
        "y_val": (
            f"y_val must be a 1-D array of labels among the classes seen in fit "
            f"{classes.tolist()}, one per sample of X_val."
        ),
        "sample_weight_val": (
            "sample_weight_val must be a 1-D array of finite, non-negative weights, one "
            "per sample of X_val; or leave it out (weights of 1)."
        ),
    }

    def checked(element, check, *args):
        # The original explanation, under the name of the element at fault.
        try:
            return check(*args)
        except (ValueError, TypeError) as exc:
            message = f"validation_data: {element} is invalid. {exc} {hints[element]}"
            base = ValueError if isinstance(exc, ValueError) else TypeError
            try:
                error = type(exc)(message)
            except Exception:  # an exception type whose constructor wants more
                error = base(message)
            raise error from exc

    def one_dimensional(y_val):
        y_val = np.asarray(y_val)
        if y_val.ndim == 2 and y_val.shape[1] == 1:
            warnings.warn(
                "validation_data: a column-vector y_val was passed when a 1d array was "
                "expected; it is raveled. Pass y_val.ravel() to silence this warning.",
                DataConversionWarning,
                stacklevel=2,
            )
            return y_val.ravel()
        if y_val.ndim != 1:
            raise ValueError(f"y_val should be a 1d array, got an array of shape {y_val.shape}.")
        return y_val

    X_val = checked("X_val", validate_X, estimator, validation_data[0])
    y_val = checked("y_val", one_dimensional, validation_data[1])
    y_val = checked("y_val", encode_y, y_val, classes)
    if len(y_val) != X_val.shape[0]:
        raise ValueError(
            f"validation_data: X_val and y_val have different numbers of samples: "
            f"{X_val.shape[0]} rows in X_val but {len(y_val)} labels in y_val. Pass one "
            "label per row of X_val."
        )
    w = validation_data[2] if len(validation_data) == 3 else None
    return X_val, y_val, checked("sample_weight_val", check_sample_weight, w, X_val)


def training_data(
    estimator: CoTeachingClassifier,
    X: Any,
    y: ArrayLike,
    sample_weight: ArrayLike | None,
    reset: bool,
    classes: ArrayLike | None,
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``X``, ``y``, encoded ``y``, weights and all classes of a fit."""
    X, y = validate_X_y(estimator, X, y, reset)
    classes = training_classes(estimator, y, classes, reset)
    y_enc = encode_y(y, classes)
    weights = training_weights(sample_weight, estimator.class_weight, X, y, y_enc, classes, reset)
    return X, y, y_enc, weights, classes
