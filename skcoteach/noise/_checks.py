"""Input checks shared by the :mod:`skcoteach.noise` functions (NumPy and scikit-learn only)."""

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike
from sklearn.utils.validation import assert_all_finite

#: Tolerance on the row sums of a transition matrix.
_ROW_SUM_TOL = 1e-6


def _check_n_classes(n_classes: int) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(
            f"n_classes must be an integer >= 2; got {n_classes!r} "
            f"of type {type(n_classes).__name__}."
        )
    if n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2; got {n_classes}.")
    return int(n_classes)


def _check_noise_rate(noise_rate: float) -> float:
    if isinstance(noise_rate, bool) or not isinstance(noise_rate, numbers.Real):
        raise TypeError(
            f"noise_rate must be a real number in [0, 1]; got {noise_rate!r} "
            f"of type {type(noise_rate).__name__}."
        )
    if not 0.0 <= noise_rate <= 1.0:  # also rejects NaN
        raise ValueError(f"noise_rate must be in [0, 1]; got {noise_rate}.")
    return float(noise_rate)


def _check_transition_matrix(
    transition_matrix: ArrayLike, n_classes: int | None = None
) -> np.ndarray:
    """Return ``transition_matrix`` as a new float64 array, or raise."""
    try:
        matrix = np.array(transition_matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "transition_matrix must be a square 2-D array-like of probabilities; "
            f"got {type(transition_matrix).__name__} that cannot be converted "
            f"to a float array ({exc})."
        ) from exc
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            "transition_matrix must be a square 2-D array; "
            f"got an array of shape {matrix.shape}."
        )
    if n_classes is not None and matrix.shape[0] != n_classes:
        raise ValueError(
            f"transition_matrix must have shape ({n_classes}, {n_classes}) to "
            f"match the {n_classes} classes; got shape {matrix.shape}."
        )
    if not np.isfinite(matrix).all():
        raise ValueError("transition_matrix must not contain NaN or infinity.")
    if (matrix < 0).any():
        i, j = np.argwhere(matrix < 0)[0]
        raise ValueError(
            "transition_matrix entries must be non-negative probabilities; "
            f"got {float(matrix[i, j])} at position ({i}, {j})."
        )
    row_sums = matrix.sum(axis=1)
    bad = np.flatnonzero(np.abs(row_sums - 1.0) > _ROW_SUM_TOL)
    if bad.size:
        raise ValueError(
            f"every row of transition_matrix must sum to 1 (tolerance "
            f"{_ROW_SUM_TOL:g}); rows {bad.tolist()} sum to "
            f"{row_sums[bad].tolist()}."
        )
    return matrix


def _check_labels(y: ArrayLike, name: str, allow_empty: bool = False) -> np.ndarray:
    """Return ``y`` as a 1-D ndarray (not copied), or raise."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of labels; got an array of shape {y.shape}."
        )
    if y.size == 0 and not allow_empty:
        raise ValueError(f"{name} must contain at least one label; got an empty array.")
    if y.dtype.kind in "fc":
        assert_all_finite(y, input_name=name)
    return y


def _unique(values: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.unique(values)
    except TypeError as exc:
        raise TypeError(
            f"the labels in {name} must be mutually comparable (sortable); {exc}"
        ) from exc


def _check_classes(classes: ArrayLike, name: str = "classes") -> np.ndarray:
    """Return ``classes`` as a 1-D ndarray of distinct labels, or raise."""
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of distinct labels; "
            f"got an array of shape {classes.shape}."
        )
    if _unique(classes, name).size != classes.size:
        raise ValueError(f"{name} must not contain duplicates; got {classes.tolist()}.")
    return classes


def _encode(values: np.ndarray, classes: np.ndarray, name: str) -> np.ndarray:
    """Positions of ``values`` in ``classes`` (any order), or raise if unknown."""
    sorter = np.argsort(classes, kind="stable")
    pos = np.searchsorted(classes, values, sorter=sorter)
    idx = sorter[np.minimum(pos, classes.size - 1)]
    unknown = classes[idx] != values
    if np.any(unknown):
        missing = _unique(values[unknown], name)
        raise ValueError(
            f"{name} contains labels that are not in classes: {missing[:10].tolist()}"
            f"{' ...' if missing.size > 10 else ''}; classes are "
            f"{classes.tolist()}."
        )
    return idx


def _check_features(X: Any, n_samples: int, kind: str) -> np.ndarray:
    """Return ``X`` as a finite float64 array of shape (n_samples, n_features), or raise.

    Dimensions after the first are flattened (images become vectors); ``X``
    itself is never modified (the result may be a read-only view of it).
    """
    if X is None:
        raise ValueError(
            f"kind={kind!r} requires the features X of the samples (the noise "
            "depends on them); got X=None."
        )
    if sp.issparse(X):
        raise TypeError(
            f"X must be a dense array for kind={kind!r}; got a sparse "
            f"{type(X).__name__} (use X.toarray())."
        )
    try:
        features = np.asarray(X)
        if features.dtype.kind == "c":
            raise TypeError("complex values are not supported")
        features = features.astype(np.float64, copy=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"X must be a numeric array-like of shape (n_samples, n_features, ...) "
            f"for kind={kind!r}; got {type(X).__name__} that cannot be converted "
            f"to a float array ({exc})."
        ) from exc
    if features.ndim < 2:
        raise ValueError(
            "X must be an array of shape (n_samples, n_features, ...); got an "
            f"array of shape {features.shape} (use X.reshape(-1, 1) for a "
            "single feature)."
        )
    if features.shape[0] != n_samples:
        raise ValueError(
            "X and y must have the same number of samples; got "
            f"{features.shape[0]} rows in X and {n_samples} labels in y."
        )
    features = features.reshape(n_samples, -1)
    if features.shape[1] == 0:
        raise ValueError(
            f"X must have at least one feature; got an array of shape {np.shape(X)}."
        )
    if not np.isfinite(features).all():
        raise ValueError("X must not contain NaN or infinity.")
    return features
