"""Instance-dependent label noise (Xia et al., 2020), used by :func:`skcoteach.noise.make_label_noise`.

The generator of "Part-dependent label noise: towards instance-dependent
label noise" (NeurIPS 2020), as the noisy-label literature implements it
(``get_instance_noisy_label`` in the authors' ``tools.py``), vectorised:

1. per-sample flip rates ``q_i`` from a normal distribution of standard
   deviation 0.1 truncated to [0, 1];
2. class-wise random projections ``W`` of shape
   ``(n_classes, n_features, n_classes)`` from a standard normal;
3. for a sample of true class ``k``, the scores ``x_i @ W[k]``, the true
   class masked out, are turned into a distribution over the other classes by
   a softmax and scaled by ``q_i``; the true class keeps ``1 - q_i``.

Two choices differ from the reference code, which works on image tensors:

* each ``x_i`` is scaled to unit L2 norm before the projection, so a score is
  a standard normal variable whatever the scale of ``X`` (0-255 pixels would
  otherwise make every softmax one-hot) and a sample's wrong-label
  distribution only depends on the direction of ``x_i``; a zero row spreads
  its flips uniformly;
* the mean of the normal distribution is chosen so that the *truncated*
  distribution has mean ``noise_rate`` (the reference uses ``noise_rate``
  itself, whose truncation at 0 raises the expected flip rate to 0.2055 at
  0.2, 0.129 at 0.1 and 0.080 at 0, and truncation at 1 lowers it near 1;
  from 0.4 to 0.6 the two agree within 2e-5).
"""

import functools

import numpy as np
from scipy.optimize import brentq
from scipy.stats import truncnorm

#: Standard deviation of the per-sample flip rates (``norm_std`` of the reference).
_FLIP_RATE_STD = 0.1
#: Bracket of the mean searched by :func:`_flip_rate_loc`; the truncated mean
#: spans [2e-4, 1 - 2e-4] over it, and smaller (larger) rates use its ends.
_LOC_BRACKET = (-50.0, 51.0)


def _truncated_mean(loc, scale=_FLIP_RATE_STD):
    a, b = (0.0 - loc) / scale, (1.0 - loc) / scale
    with np.errstate(all="ignore"):  # SciPy may also evaluate an unused skewness
        return float(truncnorm.stats(a, b, loc=loc, scale=scale, moments="m"))


@functools.lru_cache(maxsize=128)
def _flip_rate_loc(noise_rate):
    """Mean of the normal distribution whose truncation to [0, 1] has mean ``noise_rate``."""
    low, high = _LOC_BRACKET
    if noise_rate <= _truncated_mean(low):
        return low
    if noise_rate >= _truncated_mean(high):
        return high
    return brentq(lambda loc: _truncated_mean(loc) - noise_rate, low, high, xtol=1e-12)


def _flip_rates(noise_rate, n_samples, rng):
    """Per-sample flip probabilities ``q_i`` in [0, 1] with mean ``noise_rate``.

    A rate of exactly 0 or 1 gives constant flip rates (no noise, every label
    changed) without drawing anything.
    """
    if noise_rate in (0.0, 1.0):
        return np.full(n_samples, noise_rate)
    loc = _flip_rate_loc(noise_rate)
    a, b = (0.0 - loc) / _FLIP_RATE_STD, (1.0 - loc) / _FLIP_RATE_STD
    rates = truncnorm.rvs(
        a, b, loc=loc, scale=_FLIP_RATE_STD, size=n_samples, random_state=rng
    )
    return np.clip(np.asarray(rates, dtype=np.float64).reshape(n_samples), 0.0, 1.0)


def _instance_probabilities(X, true_index, n_classes, flip_rates, rng):
    """Per-sample label distributions, an array of shape (n_samples, n_classes).

    ``X`` is a finite float array of shape (n_samples, n_features).  Row ``i``
    holds ``1 - flip_rates[i]`` at ``true_index[i]`` and ``flip_rates[i]``
    times the softmax of ``x_i / ||x_i|| @ W[true_index[i]]`` over the other
    classes.  ``W[k]`` is drawn for every class ``k`` in order (also for
    classes absent from ``true_index``), so the draws only depend on the shapes.
    """
    n_samples, n_features = X.shape
    scores = np.empty((n_samples, n_classes))
    for k in range(n_classes):
        projection = rng.standard_normal(size=(n_features, n_classes))  # W[k]
        in_class = true_index == k
        rows = X[in_class]  # a copy, scaled in place to unit norm
        # Divide by the largest |x_ij| first so that the norm cannot overflow.
        peak = np.maximum(rows.max(axis=1, initial=0.0), -rows.min(axis=1, initial=0.0))
        np.divide(rows, peak[:, None], out=rows, where=peak[:, None] > 0)
        norms = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        np.divide(rows, norms[:, None], out=rows, where=norms[:, None] > 0)
        scores[in_class] = rows @ projection
    samples = np.arange(n_samples)
    scores[samples, true_index] = -np.inf
    scores -= scores.max(axis=1, keepdims=True)
    wrong = np.exp(scores)
    wrong /= wrong.sum(axis=1, keepdims=True)
    proba = flip_rates[:, None] * wrong
    proba[samples, true_index] = 1.0 - flip_rates
    return proba


def _sample_from_probabilities(proba, rng):
    """Draw one column index per row of ``proba`` by inverse-CDF sampling."""
    n_samples, n_classes = proba.shape
    cdf = np.cumsum(proba, axis=1)
    cdf /= cdf[:, -1:]
    # From each row's last non-zero probability on, the CDF is exactly 1, so
    # rounding can never select a zero-probability class (u < 1).
    last = n_classes - 1 - np.argmax(proba[:, ::-1] > 0, axis=1)
    cdf[np.arange(n_classes) >= last[:, None]] = 1.0
    u = rng.random_sample(n_samples)
    return np.sum(cdf <= u[:, None], axis=1)


def _instance_noise(
    X: np.ndarray,
    true_index: np.ndarray,
    n_classes: int,
    noise_rate: float,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy class indices and the mean label distribution of each true class.

    Returns ``(noisy_index, transition_matrix)``: ``transition_matrix[k]`` is
    the average of the per-sample distributions of the samples of class
    ``k``, NaN for a class without samples.
    """
    flip_rates = _flip_rates(noise_rate, true_index.shape[0], rng)
    proba = _instance_probabilities(X, true_index, n_classes, flip_rates, rng)
    noisy_index = _sample_from_probabilities(proba, rng)
    matrix = np.full((n_classes, n_classes), np.nan)
    for k in np.unique(true_index):
        matrix[k] = proba[true_index == k].mean(axis=0)
    return noisy_index, matrix
