"""Synthetic label noise for benchmarking learning with noisy labels.

Noise is described by a *transition matrix* ``T`` of shape
``(n_classes, n_classes)``: ``T[i, j]`` is the probability that a sample whose
true class is ``classes[i]`` is given the label ``classes[j]``.  Every row sums
to one.  Three standard noise models are provided:

* **symmetric** -- a label is replaced with probability ``noise_rate`` by one
  of the *other* classes, chosen uniformly (Han et al., 2018 [1]_);
* **pair** -- a label is replaced with probability ``noise_rate`` by the next
  class, the last class wrapping to the first (Han et al., 2018);
* **asymmetric** -- only the classes of a ``{source: target}`` mapping are
  flipped, e.g. the MNIST mapping 2->7, 3->8, 5<->6, 7->1 (Patrini et al.,
  2017 [2]_), used by Co-teaching+ and JoCoR.

This module only depends on NumPy and scikit-learn.

References
----------
.. [1] B. Han, Q. Yao, X. Yu, G. Niu, M. Xu, W. Hu, I. Tsang and M. Sugiyama,
   "Co-teaching: Robust training of deep neural networks with extremely noisy
   labels", NeurIPS 2018.
.. [2] G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making deep
   neural networks robust to label noise: a loss correction approach",
   CVPR 2017.
"""

import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import assert_all_finite

__all__ = [
    "MNIST_ASYMMETRIC_MAPPING",
    "NoiseInfo",
    "estimate_noise_rate",
    "estimate_transition_matrix",
    "label_precision",
    "make_label_noise",
    "mapping_transition_matrix",
    "pair_transition_matrix",
    "symmetric_transition_matrix",
]

#: Asymmetric MNIST noise of Patrini et al. (2017), also used by Co-teaching+
#: and JoCoR: 2 -> 7, 3 -> 8, 5 <-> 6 and 7 -> 1.
MNIST_ASYMMETRIC_MAPPING = {2: 7, 3: 8, 5: 6, 6: 5, 7: 1}

_KINDS = ("symmetric", "pair", "asymmetric", "matrix")
_ROW_SUM_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class NoiseInfo:
    """Description of the noise applied by :func:`make_label_noise`.

    Returned together with the noisy labels when ``return_info=True``; the
    parameters are stored as attributes of the same names.

    Parameters
    ----------
    transition_matrix : ndarray of shape (n_classes, n_classes)
        The matrix the noisy labels were drawn from; ``transition_matrix[i, j]``
        is the probability of giving label ``classes[j]`` to a sample of true
        class ``classes[i]``.
    classes : ndarray of shape (n_classes,)
        The class labels indexing the rows and columns of
        ``transition_matrix``, with the dtype of ``y``.
    noise_mask : ndarray of shape (n_samples,), dtype=bool
        ``True`` where the noisy label differs from the original label.
    actual_noise_rate : float
        Fraction of labels that were changed, ``noise_mask.mean()``.

    Examples
    --------
    >>> from skcoteach.noise import make_label_noise
    >>> y_noisy, info = make_label_noise([0, 1, 2, 0], noise_rate=0.0,
    ...                                  random_state=0, return_info=True)
    >>> info.classes
    array([0, 1, 2])
    >>> info.noise_mask
    array([False, False, False, False])
    >>> info.actual_noise_rate
    0.0
    """

    transition_matrix: np.ndarray
    classes: np.ndarray
    noise_mask: np.ndarray
    actual_noise_rate: float


# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------
def _check_n_classes(n_classes):
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral):
        raise TypeError(
            f"n_classes must be an integer >= 2; got {n_classes!r} "
            f"of type {type(n_classes).__name__}."
        )
    if n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2; got {n_classes}.")
    return int(n_classes)


def _check_noise_rate(noise_rate):
    if isinstance(noise_rate, bool) or not isinstance(noise_rate, numbers.Real):
        raise TypeError(
            f"noise_rate must be a real number in [0, 1]; got {noise_rate!r} "
            f"of type {type(noise_rate).__name__}."
        )
    if not 0.0 <= noise_rate <= 1.0:  # also rejects NaN
        raise ValueError(f"noise_rate must be in [0, 1]; got {noise_rate}.")
    return float(noise_rate)


def _check_transition_matrix(transition_matrix, n_classes=None):
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


def _check_labels(y, name, allow_empty=False):
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


def _unique(values, name):
    try:
        return np.unique(values)
    except TypeError as exc:
        raise TypeError(
            f"the labels in {name} must be mutually comparable (sortable); {exc}"
        ) from exc


def _check_classes(classes, name="classes"):
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


def _encode(values, classes, name):
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


# --------------------------------------------------------------------------
# Transition matrices
# --------------------------------------------------------------------------
def symmetric_transition_matrix(n_classes, noise_rate):
    """Transition matrix of symmetric (uniform) label noise.

    A label is kept with probability ``1 - noise_rate`` and otherwise replaced
    by one of the ``n_classes - 1`` other classes chosen uniformly, as in the
    Co-teaching paper (Han et al., 2018).

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    noise_rate : float
        Probability ``eps`` in [0, 1] that a label is changed.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        Matrix with ``1 - eps`` on the diagonal and ``eps / (n_classes - 1)``
        everywhere else.

    Raises
    ------
    TypeError
        If ``n_classes`` is not an integer or ``noise_rate`` not a real number.
    ValueError
        If ``n_classes < 2`` or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> from skcoteach.noise import symmetric_transition_matrix
    >>> symmetric_transition_matrix(3, 0.4)
    array([[0.6, 0.2, 0.2],
           [0.2, 0.6, 0.2],
           [0.2, 0.2, 0.6]])
    """
    n_classes = _check_n_classes(n_classes)
    eps = _check_noise_rate(noise_rate)
    matrix = np.full((n_classes, n_classes), eps / (n_classes - 1))
    np.fill_diagonal(matrix, 1.0 - eps)
    return matrix


def pair_transition_matrix(n_classes, noise_rate):
    """Transition matrix of pair-flipping label noise.

    A label of class ``i`` is kept with probability ``1 - noise_rate`` and
    otherwise flipped to class ``i + 1``; the last class flips to the first
    (Han et al., 2018).

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    noise_rate : float
        Probability ``eps`` in [0, 1] that a label is changed.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        Matrix with ``1 - eps`` on the diagonal, ``eps`` at ``[i, i + 1]`` and
        at ``[n_classes - 1, 0]``, zero elsewhere.

    Raises
    ------
    TypeError
        If ``n_classes`` is not an integer or ``noise_rate`` not a real number.
    ValueError
        If ``n_classes < 2`` or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> from skcoteach.noise import pair_transition_matrix
    >>> pair_transition_matrix(3, 0.25)
    array([[0.75, 0.25, 0.  ],
           [0.  , 0.75, 0.25],
           [0.25, 0.  , 0.75]])
    """
    n_classes = _check_n_classes(n_classes)
    eps = _check_noise_rate(noise_rate)
    rows = np.arange(n_classes)
    matrix = np.zeros((n_classes, n_classes))
    matrix[rows, rows] = 1.0 - eps
    matrix[rows, (rows + 1) % n_classes] += eps
    return matrix


def mapping_transition_matrix(n_classes, mapping, noise_rate):
    """Transition matrix of asymmetric noise given by a class mapping.

    Each ``source`` class of ``mapping`` keeps its label with probability
    ``1 - noise_rate`` and is flipped to ``mapping[source]`` otherwise; the
    other classes are never changed.

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    mapping : dict of {int: int}
        ``{source: target}`` pairs of class *indices* in ``[0, n_classes)``
        (positions in the sorted classes), e.g.
        :data:`MNIST_ASYMMETRIC_MAPPING`.  A pair with ``source == target``
        leaves its row unchanged.
    noise_rate : float
        Probability ``eps`` in [0, 1] that a label of a source class is changed.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        The identity matrix, except that row ``source`` has ``1 - eps`` on the
        diagonal and ``eps`` in column ``mapping[source]``.

    Raises
    ------
    TypeError
        If ``mapping`` is not a mapping or contains non-integer keys or
        values, or for invalid types of ``n_classes`` / ``noise_rate``.
    ValueError
        If a key or value of ``mapping`` is outside ``[0, n_classes)``, if
        ``n_classes < 2`` or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> from skcoteach.noise import mapping_transition_matrix
    >>> mapping_transition_matrix(3, {0: 2, 2: 1}, 0.3)
    array([[0.7, 0. , 0.3],
           [0. , 1. , 0. ],
           [0. , 0.3, 0.7]])
    """
    n_classes = _check_n_classes(n_classes)
    eps = _check_noise_rate(noise_rate)
    if not isinstance(mapping, Mapping):
        raise TypeError(
            "mapping must be a dict of {source: target} class indices; "
            f"got {type(mapping).__name__}."
        )
    for index in (*mapping.keys(), *mapping.values()):
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(
                "mapping keys and values must be integer class indices; "
                f"got {index!r} of type {type(index).__name__}."
            )
        if not 0 <= index < n_classes:
            raise ValueError(
                "mapping keys and values must be class indices in "
                f"[0, {n_classes}) for n_classes={n_classes}; got {index}."
            )
    matrix = np.eye(n_classes)
    for source, target in mapping.items():
        matrix[source, source] -= eps
        matrix[source, target] += eps
    return matrix


def _mapping_to_indices(mapping, classes):
    """Translate a ``{source_label: target_label}`` mapping to class indices."""
    if not isinstance(mapping, Mapping):
        raise TypeError(
            "mapping must be a dict of {source: target} class labels; "
            f"got {type(mapping).__name__}."
        )
    position = {label: i for i, label in enumerate(classes.tolist())}
    try:
        unknown = [c for c in (*mapping.keys(), *mapping.values()) if c not in position]
    except TypeError as exc:  # unhashable key or value
        raise TypeError(f"mapping keys and values must be class labels; {exc}") from exc
    if unknown:
        raise ValueError(
            f"mapping contains labels that are not in classes: {unknown}; "
            f"classes are {classes.tolist()}."
        )
    return {position[s]: position[t] for s, t in mapping.items()}


def _resolve_transition_matrix(kind, noise_rate, transition_matrix, mapping, classes):
    n_classes = classes.size
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
    if transition_matrix is not None:
        if kind not in ("matrix", "symmetric"):
            raise ValueError(
                "transition_matrix can only be used with kind='matrix'; "
                f"got kind={kind!r}."
            )
        if noise_rate is not None or mapping is not None:
            raise ValueError(
                "noise_rate and mapping must be None when transition_matrix is "
                "given (the matrix fully describes the noise)."
            )
        return _check_transition_matrix(transition_matrix, n_classes)
    if kind == "matrix":
        raise ValueError("kind='matrix' requires a transition_matrix; got None.")
    if mapping is not None and kind != "asymmetric":
        raise ValueError(
            f"mapping is only used with kind='asymmetric'; got kind={kind!r}."
        )
    if noise_rate is None:
        raise ValueError(f"noise_rate is required for kind={kind!r}; got None.")
    if kind == "symmetric":
        return symmetric_transition_matrix(n_classes, noise_rate)
    if kind == "pair":
        return pair_transition_matrix(n_classes, noise_rate)
    if mapping is None:
        raise ValueError(
            "kind='asymmetric' requires a mapping {source: target}; got None."
        )
    return mapping_transition_matrix(
        n_classes, _mapping_to_indices(mapping, classes), noise_rate
    )


def _sample_from_rows(row_index, transition_matrix, rng):
    """Draw one column index per sample from row ``row_index[s]`` of the matrix.

    One uniform number is drawn per sample and looked up in the cumulative
    distribution of its row (inverse-CDF sampling); the loop runs over
    classes, never over samples.
    """
    n_classes = transition_matrix.shape[0]
    cdf = np.cumsum(transition_matrix, axis=1)
    cdf /= cdf[:, -1:]
    # From each row's last non-zero probability on, set the CDF to exactly 1:
    # with u < 1, rounding can then never select a zero-probability class.
    last = n_classes - 1 - np.argmax(transition_matrix[:, ::-1] > 0, axis=1)
    cdf[np.arange(n_classes) >= last[:, None]] = 1.0

    u = rng.random_sample(row_index.shape[0])
    drawn = np.empty_like(row_index)
    for k in np.unique(row_index):
        in_class = row_index == k
        drawn[in_class] = np.searchsorted(cdf[k], u[in_class], side="right")
    return drawn


# --------------------------------------------------------------------------
# Public noise generator
# --------------------------------------------------------------------------
def make_label_noise(
    y,
    noise_rate=None,
    kind="symmetric",
    *,
    transition_matrix=None,
    mapping=None,
    classes=None,
    random_state=None,
    return_info=False,
):
    """Corrupt labels with class-conditional random noise.

    Each sample of true class ``classes[i]`` independently receives the label
    ``classes[j]`` with probability ``T[i, j]``, where ``T`` is the transition
    matrix of the chosen noise model.  In particular, with symmetric noise a
    label changes with probability ``noise_rate`` (the original Co-teaching
    notebook kept a label when ``random < noise_rate``, i.e. flipped it with
    probability ``1 - noise_rate``; this function does not).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels: integers (not necessarily contiguous), strings or any
        sortable objects.  Never modified.
    noise_rate : float, default=None
        Probability ``eps`` in [0, 1] that a label (of a mapped class, for
        ``kind='asymmetric'``) is changed.  Required unless
        ``transition_matrix`` is given, in which case it must be None.
    kind : {'symmetric', 'pair', 'asymmetric', 'matrix'}, default='symmetric'
        Noise model: see :func:`symmetric_transition_matrix`,
        :func:`pair_transition_matrix` (next class in ``classes`` order) and
        :func:`mapping_transition_matrix`; ``'matrix'`` uses
        ``transition_matrix``.  Passing ``transition_matrix`` with the default
        kind selects ``'matrix'``.
    transition_matrix : array-like of shape (n_classes, n_classes), default=None
        Row-stochastic matrix (non-negative entries, rows summing to 1 within
        1e-6); rows and columns follow the order of ``classes``.
    mapping : dict, default=None
        ``{source: target}`` pairs of class *labels* (elements of ``classes``)
        for ``kind='asymmetric'``, e.g. :data:`MNIST_ASYMMETRIC_MAPPING` for
        labels 0-9.
    classes : array-like of shape (n_classes,), default=None
        Distinct class labels indexing the transition matrix, in that order.
        Defaults to ``np.unique(y)``.  May contain classes absent from ``y``
        (labels can then be flipped to them) but must contain every label of
        ``y``, and must be representable in the dtype of ``y``.
    random_state : int, RandomState instance or None, default=None
        Controls the draws (see :func:`sklearn.utils.check_random_state`).
        With an int or a ``RandomState`` the global NumPy random state is
        never used; with None the global ``np.random`` state is used.
    return_info : bool, default=False
        Also return a :class:`NoiseInfo`.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        Noisy labels, a new array with the dtype of ``np.asarray(y)``.
    info : NoiseInfo
        Only if ``return_info=True``: the transition matrix, classes, mask of
        changed labels and realised noise rate.

    Raises
    ------
    ValueError
        If ``y`` is empty or not 1-D, has fewer than 2 classes, contains labels
        not in ``classes``; if ``kind`` is unknown; if ``noise_rate`` is
        outside [0, 1] or missing; if ``mapping`` refers to unknown classes or
        is missing for ``kind='asymmetric'``; if ``transition_matrix`` is not
        square, has the wrong size, negative entries or rows not summing to 1;
        or if parameters are combined that do not belong together.
    TypeError
        If ``noise_rate`` is not a real number, ``mapping`` not a dict,
        ``transition_matrix`` not numeric, or ``random_state`` invalid
        (ValueError, from scikit-learn).

    See Also
    --------
    estimate_transition_matrix : Empirical transition matrix of noisy labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skcoteach.noise import make_label_noise
    >>> y = np.repeat(["cat", "dog", "fox"], 1000)
    >>> y_noisy, info = make_label_noise(y, noise_rate=0.2, random_state=0,
    ...                                  return_info=True)
    >>> y_noisy.dtype
    dtype('<U3')
    >>> round(info.actual_noise_rate, 1)
    0.2

    Pair noise only moves a label to the next class:

    >>> y_pair = make_label_noise([0, 0, 1, 1, 2, 2], noise_rate=1.0,
    ...                           kind="pair", random_state=0)
    >>> y_pair
    array([1, 1, 2, 2, 0, 0])

    A custom transition matrix (rows: true class, columns: noisy label):

    >>> T = [[0.5, 0.5], [0.0, 1.0]]
    >>> make_label_noise([10, 10, 20, 20], transition_matrix=T,
    ...                  random_state=1)
    array([10, 20, 20, 20])
    """
    y = _check_labels(y, "y")
    if classes is None:
        classes = _unique(y, "y")
    else:
        classes = _check_classes(classes)
        try:
            converted = classes.astype(y.dtype)
            representable = np.array_equal(converted, classes)
        except (TypeError, ValueError):
            representable = False
        if not representable:
            raise ValueError(
                f"classes {classes.tolist()} cannot be stored without change in "
                f"the dtype of y ({y.dtype}); pass classes of the same type as y, "
                "or y with a wider dtype (e.g. np.asarray(y, dtype=object))."
            )
        classes = converted
    if classes.size < 2:
        raise ValueError(
            f"at least 2 classes are needed to add label noise; got "
            f"{classes.tolist()} (pass classes=... to allow flips to classes "
            "absent from y)."
        )
    matrix = _resolve_transition_matrix(
        kind, noise_rate, transition_matrix, mapping, classes
    )
    rng = check_random_state(random_state)

    true_index = _encode(y, classes, "y")
    noisy_index = _sample_from_rows(true_index, matrix, rng)
    y_noisy = classes[noisy_index]
    if not return_info:
        return y_noisy
    noise_mask = noisy_index != true_index
    info = NoiseInfo(
        transition_matrix=matrix,
        classes=classes.copy(),
        noise_mask=noise_mask,
        actual_noise_rate=float(noise_mask.mean()),
    )
    return y_noisy, info


# --------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------
def estimate_transition_matrix(y_true, y_noisy, classes=None):
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


def label_precision(y_true, y_noisy, kept_mask):
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


def estimate_noise_rate(y, pred_proba):
    """Estimate the share of wrong labels by confident learning.

    Counts the *confident joint* of Northcutt, Jiang and Chuang (2021): a
    sample with given label ``i`` is counted as truly of class ``j`` when its
    predicted probability of ``j`` reaches the threshold ``t_j``, the mean
    probability of ``j`` over the samples labelled ``j`` (the most probable
    such ``j`` if several qualify; samples with none are not counted).  The
    rows of the counts are rescaled to the number of samples given each label
    and the estimate is the off-diagonal share of the resulting joint.

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
    confident = pred_proba >= thresholds
    guess = np.argmax(np.where(confident, pred_proba, -np.inf), axis=1)
    counted = confident.any(axis=1)
    joint = np.zeros((n_classes, n_classes))
    np.add.at(joint, (y[counted], guess[counted]), 1.0)
    row_sums = joint.sum(axis=1, keepdims=True)
    joint = np.divide(joint, row_sums, out=np.zeros_like(joint), where=row_sums > 0)
    joint *= counts[:, None]
    return float(1.0 - np.trace(joint) / joint.sum())
