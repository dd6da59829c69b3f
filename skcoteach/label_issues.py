"""Find the training samples whose labels are most likely wrong.

After :class:`~skcoteach.CoTeachingClassifier` has been fitted on noisy
labels, three pieces of evidence speak about every training sample:

* the peers' probability of its given label, ``predict_proba(X)``: the
  networks trained with Co-teaching have learned little from the samples they
  rejected, so a wrong label tends to get a small probability even though the
  sample was in the training set;
* ``sample_loss_``, the peers' cross-entropy with the given label at the
  sample's last visit in training (``exp(-loss)`` is the geometric mean of
  their probabilities of that label);
* ``sample_kept_``, the share of the peers whose update used the sample in the
  last epoch.

:func:`find_label_issues` combines them into one *label quality* score per
sample (:func:`label_quality_scores`, lower means more likely mislabelled) and
flags a number of samples **estimated from the data**, by confident learning
(Northcutt, Jiang and Chuang, JAIR 2021) on the peers' probabilities
(:func:`num_label_issues`), not set by ``tau``: how many samples each peer
rejects per mini-batch follows ``tau`` whatever the data, so
``sample_kept_ == 0`` alone is no count of label errors.

The names follow cleanlab's ``cleanlab.filter.find_label_issues``: a boolean
mask by default, indices ranked worst first with
``return_indices_ranked_by``.  The functions ending in ``_from_arrays`` and
the scores work on plain arrays, without TensorFlow.

References
----------
C. G. Northcutt, L. Jiang and I. L. Chuang, "Confident Learning: Estimating
Uncertainty in Dataset Labels", Journal of Artificial Intelligence Research
70, 2021.
"""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ._label_checks import (
    _check_option,
    _check_pred_probs,
    _check_statistic,
    _evidence,
    _import_pandas,
)
from .noise import estimate_noise_rate

__all__ = [
    "find_label_issues",
    "find_label_issues_from_arrays",
    "label_quality_scores",
    "num_label_issues",
]

FILTERS = ("low_label_quality", "confident_learning", "both")
RANKINGS = ("label_quality", "self_confidence")


# --------------------------------------------------------------------------
# Array functions
# --------------------------------------------------------------------------
def label_quality_scores(labels: ArrayLike, pred_probs: ArrayLike, *,
    sample_loss: ArrayLike | None = None, sample_kept: ArrayLike | None = None) -> np.ndarray:
    """Label quality of every sample: lower means more likely mislabelled.

    The score of sample ``i`` with given label ``k`` is

    ``sqrt(pred_probs[i, k] * exp(-sample_loss[i])) * (1 + sample_kept[i]) / 2``:

    the geometric mean of the final peers' probability of the given label and
    of the peers' probability of it during training (``exp(-loss)``), halved
    when every peer rejected the sample in the last epoch.  Where a statistic
    is missing (``None`` or NaN, e.g. the samples held out by
    ``validation_split``) its factor is left out, so the score of a sample
    without training statistics is ``pred_probs[i, k]``.

    The probabilities vary over orders of magnitude between correctly and
    wrongly labelled samples; ``sample_kept`` mostly orders near ties.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given labels, encoded as ``0 .. n_classes - 1`` (column indices of
        ``pred_probs``).
    pred_probs : array-like of shape (n_samples, n_classes)
        Predicted class probabilities, e.g. ``CoTeachingClassifier.predict_proba``.
    sample_loss : array-like of shape (n_samples,), default=None
        Non-negative cross-entropy of each sample with its given label during
        training (``CoTeachingClassifier.sample_loss_``); NaN where not recorded.
    sample_kept : array-like of shape (n_samples,), default=None
        Share in [0, 1] of the peers whose update used the sample in the last
        epoch (``CoTeachingClassifier.sample_kept_``); NaN where not recorded.

    Returns
    -------
    ndarray of shape (n_samples,)
        Scores in [0, 1].

    Raises
    ------
    ValueError
        If the shapes do not match, ``labels`` are not column indices of
        ``pred_probs``, or a value is outside its range.

    Examples
    --------
    >>> from skcoteach.label_issues import label_quality_scores
    >>> proba = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]
    >>> label_quality_scores([0, 1, 1], proba).round(2)
    array([0.9, 0.8, 0.3])
    >>> label_quality_scores([0, 1, 1], proba, sample_kept=[1, 1, 0]).round(2)
    array([0.9 , 0.8 , 0.15])
    """
    labels, pred_probs = _check_pred_probs(labels, pred_probs)
    n = labels.size
    loss = _check_statistic(sample_loss, "sample_loss", n, 0.0, np.inf)
    kept = _check_statistic(sample_kept, "sample_kept", n, 0.0, 1.0)
    scores = pred_probs[np.arange(n), labels]
    has_loss = ~np.isnan(loss)
    scores[has_loss] = np.sqrt(scores[has_loss] * np.exp(-loss[has_loss]))
    has_kept = ~np.isnan(kept)
    scores[has_kept] *= (1.0 + kept[has_kept]) / 2.0
    return scores


def num_label_issues(labels: ArrayLike, pred_probs: ArrayLike) -> int:
    """Number of wrong labels estimated by confident learning.

    The calibrated off-diagonal count of the confident joint
    (:func:`skcoteach.noise.estimate_noise_rate` times the number of samples,
    rounded): a sample with given label ``i`` counts as truly of class ``j``
    when its probability of ``j`` reaches ``t_j``, the mean probability of
    ``j`` over the samples labelled ``j``; the counts of each given label are
    rescaled to the number of samples with that label.  This is
    ``cleanlab.count.num_label_issues(..., estimation_method=
    "off_diagonal_calibrated")``.

    The count depends on the data only: on correctly labelled data the
    probabilities of the given labels are high everywhere and the count is
    close to 0.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given labels, encoded as ``0 .. n_classes - 1``.
    pred_probs : array-like of shape (n_samples, n_classes)
        Predicted class probabilities from a model that has not memorised the
        wrong labels (out-of-sample, or trained with Co-teaching).

    Returns
    -------
    int
        Estimated number of wrong labels, between 0 and ``n_samples``.

    Raises
    ------
    ValueError
        If the shapes do not match or ``labels`` are not column indices of
        ``pred_probs``.

    Examples
    --------
    >>> from skcoteach.label_issues import num_label_issues
    >>> proba = [[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.95, 0.05]]
    >>> num_label_issues([0, 0, 1, 1, 1], proba)  # the last label looks wrong
    1
    """
    labels, pred_probs = _check_pred_probs(labels, pred_probs)
    return int(round(estimate_noise_rate(labels, pred_probs) * labels.size))


def _confident_off_diagonal(labels, pred_probs):
    """Mask of the samples in the off-diagonal of the confident joint."""
    n_classes = pred_probs.shape[1]
    counts = np.bincount(labels, minlength=n_classes)
    sums = np.bincount(labels, weights=pred_probs[np.arange(labels.size), labels],
                       minlength=n_classes)
    thresholds = np.divide(sums, counts, out=np.full(n_classes, np.inf), where=counts > 0)
    confident = pred_probs >= thresholds
    guess = np.argmax(np.where(confident, pred_probs, -np.inf), axis=1)
    return confident.any(axis=1) & (guess != labels)


def find_label_issues_from_arrays(
    labels: ArrayLike,
    pred_probs: ArrayLike,
    *,
    sample_loss: ArrayLike | None = None,
    sample_kept: ArrayLike | None = None,
    filter_by: str = "low_label_quality",
    return_indices_ranked_by: str | None = None,
) -> np.ndarray:
    """Flag likely label errors from probabilities and training statistics.

    The array version of :func:`find_label_issues`, for probabilities and
    statistics already at hand (no TensorFlow needed).

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given labels, encoded as ``0 .. n_classes - 1``.
    pred_probs : array-like of shape (n_samples, n_classes)
        Predicted class probabilities.
    sample_loss : array-like of shape (n_samples,), default=None
        Training loss of each sample with its given label; NaN where not
        recorded.  See :func:`label_quality_scores`.
    sample_kept : array-like of shape (n_samples,), default=None
        Share of the peers that used each sample in the last epoch; NaN where
        not recorded.
    filter_by : {"low_label_quality", "confident_learning", "both"}, \
default="low_label_quality"
        Which samples are flagged; in every case their number comes from the
        data.

        - ``"low_label_quality"``: the :func:`num_label_issues` samples with
          the lowest :func:`label_quality_scores` (cleanlab's
          ``"low_self_confidence"`` with this score).
        - ``"confident_learning"``: the samples in the off-diagonal of the
          confident joint of ``pred_probs``: the given label's probability is
          below the class's threshold and another class's probability reaches
          its threshold (cleanlab's ``"confident_learning"``).  Ignores the
          training statistics; usually a little fewer samples.
        - ``"both"``: flagged by both rules, the most conservative choice.
    return_indices_ranked_by : {None, "label_quality", "self_confidence"}, \
default=None
        ``None`` returns a boolean mask.  Otherwise the indices of the flagged
        samples are returned, worst first, ordered by
        :func:`label_quality_scores` (``"label_quality"``) or by the
        probability of the given label alone (``"self_confidence"``).

    Returns
    -------
    ndarray
        A boolean mask of shape (n_samples,), ``True`` for flagged samples; or,
        with ``return_indices_ranked_by``, their int indices, worst first.

    Raises
    ------
    ValueError
        For inconsistent shapes, labels that are not column indices, values
        out of range or an unknown option.

    See Also
    --------
    find_label_issues : The same from a fitted estimator and its data.

    Examples
    --------
    >>> from skcoteach.label_issues import find_label_issues_from_arrays
    >>> proba = [[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9], [0.95, 0.05]]
    >>> find_label_issues_from_arrays([0, 0, 1, 1, 1], proba)
    array([False, False, False, False,  True])
    >>> find_label_issues_from_arrays([0, 0, 1, 1, 1], proba,
    ...                               return_indices_ranked_by="label_quality")
    array([4])
    """
    _check_option(filter_by, "filter_by", FILTERS)
    _check_option(return_indices_ranked_by, "return_indices_ranked_by", (None, *RANKINGS))
    labels, pred_probs = _check_pred_probs(labels, pred_probs)
    scores = label_quality_scores(
        labels, pred_probs, sample_loss=sample_loss, sample_kept=sample_kept
    )
    n = labels.size
    mask = np.zeros(n, dtype=bool)
    if filter_by in ("low_label_quality", "both"):
        # Ties broken by position, so that the result is reproducible.
        mask[np.argsort(scores, kind="stable")[: num_label_issues(labels, pred_probs)]] = True
    if filter_by in ("confident_learning", "both"):
        off_diagonal = _confident_off_diagonal(labels, pred_probs)
        mask = off_diagonal if filter_by == "confident_learning" else mask & off_diagonal
    if return_indices_ranked_by is None:
        return mask
    return _rank(np.flatnonzero(mask), labels, pred_probs, scores, return_indices_ranked_by)


def _rank(indices, labels, pred_probs, scores, ranked_by):
    """``indices`` sorted worst first by the chosen score (ties by position)."""
    key = scores if ranked_by == "label_quality" else pred_probs[np.arange(labels.size), labels]
    return indices[np.argsort(key[indices], kind="stable")]


def find_label_issues(
    estimator: Any,
    X: Any,
    y: ArrayLike,
    *,
    filter_by: str = "low_label_quality",
    return_indices_ranked_by: str | None = None,
    as_frame: bool = False,
    training_statistics: str | bool = "auto",
    cv: Any = None,
    n_jobs: int | None = None,
) -> Any:
    """Find the samples whose given labels are most likely wrong.

    Combines the fitted peers' probabilities ``estimator.predict_proba(X)``
    with the training record ``sample_loss_`` and ``sample_kept_`` into a
    label quality score (:func:`label_quality_scores`) and flags as many
    samples as confident learning estimates to be mislabelled
    (:func:`num_label_issues`).  How many are flagged therefore comes from the
    data, not from ``tau``: on correctly labelled data almost nothing is.

    The estimator does not keep its training data: pass ``X`` and the (noisy)
    labels ``y`` it was fitted on again, in the same order.

    Parameters
    ----------
    estimator : CoTeachingClassifier or Pipeline
        A fitted :class:`~skcoteach.CoTeachingClassifier`, or a fitted
        :class:`~sklearn.pipeline.Pipeline` ending in one (``X`` is then
        transformed by the steps before it).  Any fitted classifier with
        ``classes_`` and ``predict_proba`` works too, from its probabilities
        alone.
    X : array-like of shape (n_samples, ...)
        The training samples, as given to ``fit``.
    y : array-like of shape (n_samples,)
        Their given (possibly wrong) labels, as given to ``fit``: any labels
        among ``estimator.classes_``.
    filter_by : {"low_label_quality", "confident_learning", "both"}, \
default="low_label_quality"
        Which samples are flagged (see :func:`find_label_issues_from_arrays`).
        The default flags the :func:`num_label_issues` samples with the lowest
        label quality.
    return_indices_ranked_by : {None, "label_quality", "self_confidence"}, \
default=None
        ``None`` returns a boolean mask.  Otherwise the indices of the flagged
        samples, worst first, by :func:`label_quality_scores` or by the
        probability of the given label alone.
    as_frame : bool, default=False
        Return a :class:`pandas.DataFrame` of the flagged samples instead,
        worst first (ordered by ``return_indices_ranked_by``, by default
        ``"label_quality"``), with columns ``index`` (position in ``X``),
        ``given_label``, ``suggested_label`` (the peers' most probable class),
        ``label_quality``, ``sample_loss`` and ``sample_kept`` (NaN where not
        recorded).  Requires pandas.
    training_statistics : {"auto", True, False}, default="auto"
        Whether to use ``sample_loss_`` and ``sample_kept_``.  ``"auto"`` uses
        them when the estimator has them and they match ``X``: one per sample,
        or, after a fit with ``validation_split``, one per sample of the first
        ``n - ceil(validation_split * n)`` (the held-out last samples are then
        judged from their probabilities only).  ``True`` requires them;
        ``False`` ignores them, e.g. to look for issues in data the estimator
        was not trained on.
    cv : None, int, cross-validation generator or iterable, default=None
        ``None`` judges ``X`` by the fitted ``estimator`` (in-sample).
        Otherwise the probabilities are *out-of-fold*: each sample's come from
        a clone of ``estimator`` fitted on the other folds
        (:func:`sklearn.model_selection.cross_val_predict`, stratified
        ``cv``-fold for an int), as cleanlab does with any classifier; the
        estimator need not be fitted, the training statistics are not used
        and ``y`` may hold any labels.

        .. versionadded:: 0.2
    n_jobs : int, default=None
        Parallel fits of the folds with ``cv`` (as for ``cross_val_predict``).

    Returns
    -------
    ndarray or pandas.DataFrame
        A boolean mask of shape (n_samples,) (``True``: likely mislabelled);
        with ``return_indices_ranked_by``, the flagged indices worst first;
        with ``as_frame=True``, a DataFrame with one row per flagged sample.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If ``y`` has labels not in ``classes_``, ``X`` and ``y`` differ in
        length, the training statistics do not match ``X``, or an option is
        unknown.
    ImportError
        If ``as_frame=True`` and pandas is not installed.

    See Also
    --------
    find_label_issues_from_arrays : The same from arrays.
    label_quality_scores : The score used for ranking.

    Notes
    -----
    The probabilities and losses are *in-sample*: those of networks trained
    on these samples.  Co-teaching keeps the large-loss samples out of the
    updates, so the networks do not memorise most wrong labels -- as long as
    ``tau`` is not far below the noise rate.  With ``tau`` too small the
    peers learn part of the wrong labels, and those are neither counted nor
    ranked low: fewer issues are found (``tau="auto"`` avoids this).  With
    the update rule ``"coteaching_plus"``, ``sample_kept_`` is 0 for most
    samples the peers agree on; the score depends mainly on the probabilities
    and is hardly affected.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skcoteach import CoTeachingClassifier
    >>> from skcoteach.label_issues import find_label_issues
    >>> from skcoteach.noise import make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, 0.3, random_state=0)
    >>> clf = CoTeachingClassifier(tau="auto", epochs=30, random_state=0)
    >>> clf = clf.fit(X / 16, y_noisy)
    >>> issues = find_label_issues(clf, X / 16, y_noisy, as_frame=True)
    >>> list(issues.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['index', 'given_label', 'suggested_label', 'label_quality',
     'sample_loss', 'sample_kept']
    """
    _check_option(filter_by, "filter_by", FILTERS)
    _check_option(return_indices_ranked_by, "return_indices_ranked_by", (None, *RANKINGS))
    if training_statistics not in ("auto", True, False):
        raise ValueError(
            "training_statistics must be 'auto', True or False; "
            f"got {training_statistics!r}."
        )
    if cv is not None and training_statistics is True:
        raise ValueError(
            "training_statistics=True uses the fitted estimator's record of X; with cv the "
            "probabilities are out-of-fold: use training_statistics='auto' or cv=None."
        )
    pd = _import_pandas() if as_frame else None
    labels, classes, pred_probs, loss, kept = _evidence(
        estimator, X, y, training_statistics, cv, n_jobs
    )
    mask = find_label_issues_from_arrays(
        labels, pred_probs, sample_loss=loss, sample_kept=kept, filter_by=filter_by
    )
    if return_indices_ranked_by is None and not as_frame:
        return mask
    scores = label_quality_scores(labels, pred_probs, sample_loss=loss, sample_kept=kept)
    ranked = _rank(
        np.flatnonzero(mask), labels, pred_probs, scores,
        return_indices_ranked_by or "label_quality",
    )
    if not as_frame:
        return ranked
    return pd.DataFrame(
        {
            "index": ranked,
            "given_label": classes[labels[ranked]],
            "suggested_label": classes[np.argmax(pred_probs[ranked], axis=1)],
            "label_quality": scores[ranked],
            "sample_loss": loss[ranked],
            "sample_kept": kept[ranked],
        }
    )
