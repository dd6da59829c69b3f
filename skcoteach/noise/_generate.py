"""Label noise generation: :func:`make_label_noise` and its description :class:`NoiseInfo`."""


from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.utils import check_random_state

from ._checks import (
    _check_classes,
    _check_features,
    _check_labels,
    _check_noise_rate,
    _check_transition_matrix,
    _encode,
    _unique,
)
from ._instance import _instance_noise
from ._transition import (
    _mapping_to_indices,
    mapping_transition_matrix,
    pair_transition_matrix,
    symmetric_transition_matrix,
)

__all__ = ["MNIST_ASYMMETRIC_MAPPING", "NoiseInfo", "make_label_noise"]

#: Asymmetric MNIST noise of Patrini et al. (2017), also used by Co-teaching+
#: and JoCoR: 2 -> 7, 3 -> 8, 5 <-> 6 and 7 -> 1.
MNIST_ASYMMETRIC_MAPPING = {2: 7, 3: 8, 5: 6, 6: 5, 7: 1}

_KINDS = ("symmetric", "pair", "asymmetric", "matrix", "instance")


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
        class ``classes[i]``.  For ``kind='instance'``, where every sample
        has its own distribution, row ``i`` is the average of the
        distributions of the samples of true class ``classes[i]`` (the
        expected transition matrix of these ``X``), NaN for a class absent
        from ``y``.
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
    if kind == "instance":
        _check_noise_rate(noise_rate)
        return None  # one distribution per sample, drawn from X
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
    y: ArrayLike,
    noise_rate: float | None = None,
    kind: str = "symmetric",
    *,
    transition_matrix: ArrayLike | None = None,
    mapping: Mapping[Any, Any] | None = None,
    classes: ArrayLike | None = None,
    X: Any = None,
    random_state: int | np.random.RandomState | None = None,
    return_info: bool = False,
) -> np.ndarray | tuple[np.ndarray, NoiseInfo]:
    """Corrupt labels with class-conditional or instance-dependent random noise.

    Each sample of true class ``classes[i]`` independently receives the label
    ``classes[j]`` with probability ``T[i, j]``, where ``T`` is the transition
    matrix of the chosen noise model (for ``kind='instance'``, a distribution
    of its own computed from its features: see Notes).  In particular, with
    symmetric noise a label changes with probability ``noise_rate`` (the
    original Co-teaching notebook kept a label when ``random < noise_rate``,
    i.e. flipped it with probability ``1 - noise_rate``; this function does
    not).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels: integers (not necessarily contiguous), strings or any
        sortable objects.  Never modified.
    noise_rate : float, default=None
        Probability ``eps`` in [0, 1] that a label (of a mapped class, for
        ``kind='asymmetric'``) is changed; for ``kind='instance'``, the mean
        of the per-sample probabilities.  Required unless
        ``transition_matrix`` is given, in which case it must be None.
    kind : {'symmetric', 'pair', 'asymmetric', 'matrix', 'instance'}, \
            default='symmetric'
        Noise model: see :func:`symmetric_transition_matrix`,
        :func:`pair_transition_matrix` (next class in ``classes`` order) and
        :func:`mapping_transition_matrix`; ``'matrix'`` uses
        ``transition_matrix``; ``'instance'`` is the instance-dependent noise
        of Xia et al. (2020) computed from ``X`` (see Notes).  Passing
        ``transition_matrix`` with the default kind selects ``'matrix'``.

        .. versionadded:: 0.2
           ``kind='instance'`` and the ``X`` parameter.
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
    X : array-like of shape (n_samples, n_features, ...), default=None
        Features of the samples, required for ``kind='instance'`` and only
        allowed with it.  Any further dimensions are flattened (an image
        becomes a vector); only the direction of each row matters.  Never
        modified.
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
        if ``X`` is missing for ``kind='instance'`` or given for another kind,
        has fewer than 2 dimensions, no features, another number of samples
        than ``y``, NaN or infinity; or if parameters are combined that do not
        belong together.
    TypeError
        If ``noise_rate`` is not a real number, ``mapping`` not a dict,
        ``transition_matrix`` or ``X`` not numeric (or ``X`` sparse), or
        ``random_state`` invalid (ValueError, from scikit-learn).

    See Also
    --------
    estimate_transition_matrix : Empirical transition matrix of noisy labels.

    Notes
    -----
    ``kind='instance'`` follows Algorithm 2 of X. Xia et al., "Part-dependent
    label noise: towards instance-dependent label noise", NeurIPS 2020, as
    the authors' reference implementation does it:

    1. a flip rate ``q_s`` per sample from a normal distribution of standard
       deviation 0.1 truncated to [0, 1];
    2. random projections ``W`` of shape ``(n_classes, n_features,
       n_classes)`` with standard normal entries;
    3. sample ``s`` of true class ``k`` keeps its label with probability
       ``1 - q_s`` and gets class ``j != k`` with probability ``q_s`` times
       the softmax over ``j != k`` of ``x_s @ W[k]``.

    The wrong label thus depends on the features of the sample and on its
    class, and the chance of a change varies from sample to sample.  Two
    choices differ from the reference code, which works on image tensors:
    each ``x_s`` is scaled to unit L2 norm before the projection (the scores
    are then standard normal whatever the scale of ``X``; a zero row flips
    uniformly to the other classes), and the mean of the normal distribution
    is set so that the *truncated* distribution has mean ``noise_rate``.  The
    reference uses ``noise_rate`` itself, so that truncation at 0 raises its
    expected rate to 0.206 for 0.2, 0.129 for 0.1 and 0.080 for 0 (and
    truncation at 1 lowers it likewise near 1; from 0.4 to 0.6 the two agree
    within 1e-4).  A ``noise_rate`` of exactly 0 or 1 changes no label or
    every label; rates below 2e-4 (above 1 - 2e-4) are realised as about
    2e-4 (1 - 2e-4).

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

    Instance-dependent noise needs the features of the samples:

    >>> rng = np.random.RandomState(0)
    >>> X, y = rng.normal(size=(10_000, 20)), rng.randint(10, size=10_000)
    >>> y_noisy, info = make_label_noise(y, 0.4, kind="instance", X=X,
    ...                                  random_state=0, return_info=True)
    >>> round(info.actual_noise_rate, 1)
    0.4
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
    if kind != "instance" and X is not None:
        raise ValueError(f"X is only used with kind='instance'; got kind={kind!r}.")
    rng = check_random_state(random_state)

    true_index = _encode(y, classes, "y")
    if kind == "instance":
        features = _check_features(X, y.shape[0], kind)
        noisy_index, matrix = _instance_noise(
            features, true_index, classes.size, _check_noise_rate(noise_rate), rng
        )
    else:
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
