"""Input checks and estimator glue of :mod:`skcoteach.label_issues` (no TensorFlow)."""

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._compat import num_samples

#: Probabilities this far outside [0, 1] (float32 rounding) are clipped, not rejected.
_PROBA_TOL = 1e-6


def _check_pred_probs(labels: ArrayLike, pred_probs: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return ``labels`` (int64) and ``pred_probs`` (float64) as new arrays, or raise."""
    pred_probs = np.array(pred_probs, dtype=np.float64)
    if pred_probs.ndim != 2 or pred_probs.shape[1] < 2:
        raise ValueError(
            "pred_probs must have shape (n_samples, n_classes) with n_classes >= 2; "
            f"got an array of shape {pred_probs.shape}."
        )
    if not np.isfinite(pred_probs).all() or (pred_probs < -_PROBA_TOL).any() or (
        pred_probs > 1 + _PROBA_TOL
    ).any():
        raise ValueError("pred_probs must hold probabilities in [0, 1], without NaN.")
    np.clip(pred_probs, 0.0, 1.0, out=pred_probs)  # float32 rounding of a softmax
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != pred_probs.shape[0]:
        raise ValueError(
            f"labels must have shape ({pred_probs.shape[0]},) to match pred_probs "
            f"of shape {pred_probs.shape}; got {labels.shape}."
        )
    if labels.size == 0:
        raise ValueError("labels must contain at least one sample; got an empty array.")
    n_classes = pred_probs.shape[1]
    if (
        labels.dtype.kind not in "iu"
        or labels.min() < 0
        or labels.max() >= n_classes
    ):
        raise ValueError(
            f"labels must be integers in [0, {n_classes}) indexing the columns of "
            "pred_probs (encode other labels with the classifier's classes_, "
            "or use find_label_issues with the fitted estimator)."
        )
    return labels.astype(np.int64), pred_probs


def _check_statistic(
    values: ArrayLike | None, name: str, n_samples: int, low: float, high: float
) -> np.ndarray:
    """Return a per-sample statistic as a new float64 array (NaN: not recorded)."""
    if values is None:
        return np.full(n_samples, np.nan)
    values = np.array(values, dtype=np.float64)
    if values.shape != (n_samples,):
        raise ValueError(
            f"{name} must have shape ({n_samples},), one value per sample; "
            f"got an array of shape {values.shape}."
        )
    recorded = values[~np.isnan(values)]
    if ((recorded < low) | (recorded > high)).any():
        raise ValueError(
            f"{name} must lie in [{low}, {high}] (NaN where not recorded); "
            f"got values from {recorded.min()} to {recorded.max()}."
        )
    return values


def _check_option(value: Any, name: str, options: tuple) -> None:
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}.")


def _import_pandas() -> Any:
    """pandas, or an ImportError that says what to use instead."""
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is usually there
        raise ImportError(
            "as_frame=True requires pandas: pip install pandas "
            "(or use the default mask / return_indices_ranked_by)."
        ) from exc
    return pd


def _evidence(
    estimator: Any, X: Any, y: ArrayLike, training_statistics: str | bool, cv: Any,
    n_jobs: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`~skcoteach.label_issues.find_label_issues` judges ``(X, y)`` by.

    ``(labels, classes, pred_probs, sample_loss, sample_kept)``: the encoded
    labels, their classes, the probabilities -- of the fitted estimator
    (``cv=None``, with its training statistics) or out-of-fold -- and the
    statistics (NaN where not used).
    """
    from sklearn.utils.validation import check_is_fitted

    if cv is None:
        check_is_fitted(estimator)
        estimator, X = _unwrap(estimator, X)
        check_is_fitted(estimator)
    n_samples = num_samples(X)
    if np.shape(y)[:1] != (n_samples,):
        raise ValueError(
            f"X and y must have the same number of samples; got {n_samples} and "
            f"{np.shape(y)[0] if np.ndim(y) else 'a scalar'}."
        )
    if cv is None:
        classes = estimator.classes_
        loss, kept = _training_statistics(estimator, n_samples, training_statistics)
        pred_probs = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    else:
        pred_probs, classes = _out_of_fold(estimator, X, y, cv, n_jobs)
        loss = kept = np.full(n_samples, np.nan)
    return _encode_labels(y, classes), np.asarray(classes), pred_probs, loss, kept


def _out_of_fold(
    estimator: Any, X: Any, y: ArrayLike, cv: Any, n_jobs: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold class probabilities of clones of ``estimator``, and their classes (sorted ``y``).

    :func:`sklearn.model_selection.cross_val_predict` with
    ``method="predict_proba"``: every sample's probabilities come from a clone
    fitted on the other folds.
    """
    from sklearn.model_selection import cross_val_predict

    classes = np.unique(np.asarray(y))
    proba = cross_val_predict(estimator, X, y, cv=cv, method="predict_proba", n_jobs=n_jobs)
    return np.asarray(proba, dtype=np.float64), classes


def _unwrap(estimator: Any, X: Any) -> tuple[Any, Any]:
    """The final estimator of a Pipeline and ``X`` transformed by the steps before it."""
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):
        X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return estimator, X


def _encode_labels(y: ArrayLike, classes: np.ndarray) -> np.ndarray:
    """Positions of the labels ``y`` in ``classes``, or a ValueError for unknown labels."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels; got an array of shape {y.shape}.")
    classes = np.asarray(classes)
    order = np.argsort(classes, kind="stable")
    try:
        pos = np.searchsorted(classes[order], y)
    except TypeError as exc:
        raise ValueError(
            f"y holds labels that cannot be compared with the classes "
            f"{classes.tolist()} of the estimator ({exc})."
        ) from exc
    pos = np.clip(pos, 0, classes.size - 1)
    encoded = order[pos]
    unknown = classes[encoded] != y
    if unknown.any():
        raise ValueError(
            f"y contains labels {np.unique(y[unknown]).tolist()} that are not among "
            f"the classes {classes.tolist()} the estimator was fitted on."
        )
    return encoded.astype(np.int64)


def _training_statistics(
    estimator: Any, n_samples: int, training_statistics: str | bool
) -> tuple[np.ndarray, np.ndarray]:
    """``sample_loss_`` and ``sample_kept_`` aligned with the ``n_samples`` rows of X.

    Rows without statistics (samples held out by ``validation_split``) get NaN.
    """
    missing = np.full(n_samples, np.nan)
    if training_statistics is False:
        return missing, missing
    loss = getattr(estimator, "sample_loss_", None)
    kept = getattr(estimator, "sample_kept_", None)
    if loss is None or kept is None:
        if training_statistics is True:
            raise ValueError(
                f"{type(estimator).__name__} has no sample_loss_ and sample_kept_; "
                "use training_statistics='auto' or False."
            )
        return missing, missing
    n_recorded = len(loss)
    if n_recorded == n_samples:
        return np.array(loss, dtype=np.float64), np.array(kept, dtype=np.float64)
    split = getattr(estimator, "validation_split", 0.0) or 0.0
    if split > 0 and n_recorded == n_samples - math.ceil(split * n_samples):
        # Keras's split: the statistics cover the first samples of X.
        loss_all, kept_all = missing.copy(), missing.copy()
        loss_all[:n_recorded] = loss
        kept_all[:n_recorded] = kept
        return loss_all, kept_all
    raise ValueError(
        f"X has {n_samples} samples, but the estimator recorded training statistics "
        f"for {n_recorded}"
        + (f" (validation_split={split})" if split else "")
        + ": pass the data and labels the estimator was fitted on, in the same "
        "order, or training_statistics=False to use its probabilities only "
        "(e.g. for data it was not trained on)."
    )
