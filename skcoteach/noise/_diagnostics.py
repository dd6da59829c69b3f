"""Noise diagnostics: transition matrix, label precision, noise rate (public in skcoteach.noise)."""

import numpy as np
from numpy.typing import ArrayLike

from ._checks import _check_classes, _check_labels, _encode, _unique


def estimate_transition_matrix(
    y_true: ArrayLike, y_noisy: ArrayLike, classes: ArrayLike | None = None
) -> np.ndarray:
    """Empirical transition matrix between true and noisy labels.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_noisy : array-like of shape (n_samples,)
        Noisy labels of the same samples.
    classes : array-like of shape (n_classes,), default=None
        Labels indexing rows and columns, in that order.  Defaults to the
        sorted union of the labels in ``y_true`` and ``y_noisy``.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        ``M[i, j]`` is the fraction of samples of true class ``classes[i]``
        whose noisy label is ``classes[j]``.  Rows of classes absent from
        ``y_true`` are NaN (no data), other rows sum to 1.

    Raises
    ------
    ValueError
        If an input is empty or not 1-D, the lengths differ, ``classes`` has
        duplicates, or a label is not in ``classes``.

    Examples
    --------
    >>> from skcoteach.noise import estimate_transition_matrix
    >>> estimate_transition_matrix([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 0])
    array([[0.75, 0.25],
           [0.5 , 0.5 ]])
    """
    y_true = _check_labels(y_true, "y_true")
    y_noisy = _check_labels(y_noisy, "y_noisy")
    if y_true.shape != y_noisy.shape:
        raise ValueError(
            "y_true and y_noisy must have the same length; "
            f"got {y_true.size} and {y_noisy.size}."
        )
    if classes is None:
        classes = _unique(np.concatenate([y_true, y_noisy]), "y_true and y_noisy")
    else:
        classes = _check_classes(classes)
    n_classes = classes.size
    rows = _encode(y_true, classes, "y_true")
    cols = _encode(y_noisy, classes, "y_noisy")
    counts = np.bincount(rows * n_classes + cols, minlength=n_classes**2)
    counts = counts.reshape(n_classes, n_classes).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts / counts.sum(axis=1, keepdims=True)


def label_precision(y_true: ArrayLike, y_noisy: ArrayLike, kept_mask: ArrayLike) -> float:
    """Label precision of a sample selection (Han et al., 2018).

    The fraction of kept samples whose given (noisy) label equals the true
    label, i.e. how clean the samples selected by a small-loss criterion are.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_noisy : array-like of shape (n_samples,)
        Labels used for training.
    kept_mask : array-like of bool, shape (n_samples,)
        ``True`` for the selected samples.  Must be boolean: indices are
        rejected to avoid confusing ``[0, 1]`` indices with a mask.

    Returns
    -------
    float
        Label precision in [0, 1], or NaN if no sample is kept (the
        precision of an empty selection is undefined).

    Raises
    ------
    TypeError
        If ``kept_mask`` is not boolean.
    ValueError
        If an input is not 1-D or the three lengths differ.

    Examples
    --------
    >>> from skcoteach.noise import label_precision
    >>> label_precision([0, 1, 1, 0], [0, 1, 0, 1], [True, True, True, False])
    0.6666666666666666
    >>> label_precision([0, 1], [0, 1], [False, False])
    nan
    """
    y_true = _check_labels(y_true, "y_true", allow_empty=True)
    y_noisy = _check_labels(y_noisy, "y_noisy", allow_empty=True)
    kept_mask = np.asarray(kept_mask)
    if kept_mask.dtype != bool:
        raise TypeError(
            f"kept_mask must be a boolean array; got dtype {kept_mask.dtype}. "
            "To select by indices use mask = np.zeros(n, bool); mask[idx] = True."
        )
    if kept_mask.ndim != 1:
        raise ValueError(
            f"kept_mask must be 1-D; got an array of shape {kept_mask.shape}."
        )
    if not y_true.size == y_noisy.size == kept_mask.size:
        raise ValueError(
            "y_true, y_noisy and kept_mask must have the same length; got "
            f"{y_true.size}, {y_noisy.size} and {kept_mask.size}."
        )
    if not kept_mask.any():
        return float("nan")
    return float(np.mean(y_true[kept_mask] == y_noisy[kept_mask]))


def estimate_noise_rate(y: ArrayLike, pred_proba: ArrayLike) -> float:
    """Estimate the share of wrong labels by confident learning.

    Counts the *confident joint* of Northcutt, Jiang and Chuang (2021): a
    sample with given label ``i`` is counted as truly of class ``j``, its
    most probable class, when its predicted probability of ``j`` reaches the
    threshold ``t_j``, the mean probability of ``j`` over the samples
    labelled ``j``; samples whose most probable class is below its threshold
    are not counted.  The rows of the counts are rescaled to the number of
    samples given each label and the estimate is the off-diagonal share of
    the resulting joint.

    The paper counts a sample for the most probable class *among those that
    reach their thresholds*.  The threshold of a class the model has not yet
    learned to recognise, a rare class early in training, is near its prior:
    about half the samples of the other classes reach it while that class is
    far from their most probable one, and counting them inflates the
    estimate.  Requiring the most probable class changes nothing where at
    most one class reaches its threshold and it is the most probable.

    The probabilities should not come from a model that has memorised the
    given labels: out-of-sample (cross-validated) probabilities, or those of a
    network early in training, before it fits the wrong labels.

    Parameters
    ----------
    y : array-like of int, shape (n_samples,)
        Given labels encoded as ``0 .. n_classes - 1``.
    pred_proba : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.

    Returns
    -------
    float
        Estimated noise rate in [0, 1].

    References
    ----------
    C. G. Northcutt, L. Jiang and I. L. Chuang, "Confident Learning:
    Estimating Uncertainty in Dataset Labels", JAIR 70, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoteach.noise import estimate_noise_rate
    >>> proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.95, 0.05]])
    >>> round(estimate_noise_rate([0, 0, 1, 1, 1], proba), 3)  # the last label looks wrong
    0.2
    """
    y = np.asarray(y)
    pred_proba = np.asarray(pred_proba, dtype=np.float64)
    if pred_proba.ndim != 2 or y.shape != (pred_proba.shape[0],):
        raise ValueError(
            "pred_proba must have shape (n_samples, n_classes) and y shape (n_samples,); "
            f"got {pred_proba.shape} and {y.shape}."
        )
    n_classes = pred_proba.shape[1]
    if y.size == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or (
        y.max() >= n_classes
    ):
        raise ValueError(
            f"y must hold integer labels in [0, {n_classes}) for {n_classes} "
            "probability columns."
        )
    counts = np.bincount(y, minlength=n_classes)
    thresholds = np.array(
        [pred_proba[y == j, j].mean() if counts[j] else np.inf for j in range(n_classes)]
    )
    guess = np.argmax(pred_proba, axis=1)
    counted = pred_proba[np.arange(y.size), guess] >= thresholds[guess]
    joint = np.zeros((n_classes, n_classes))
    np.add.at(joint, (y[counted], guess[counted]), 1.0)
    row_sums = joint.sum(axis=1, keepdims=True)
    joint = np.divide(joint, row_sums, out=np.zeros_like(joint), where=row_sums > 0)
    joint *= counts[:, None]
    return float(1.0 - np.trace(joint) / joint.sum())
