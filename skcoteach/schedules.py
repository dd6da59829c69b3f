"""Forget-rate schedules of Co-teaching.

Co-teaching (Han et al., 2018) keeps, at epoch ``T`` (0-based), the fraction

.. math:: R(T) = 1 - \\tau \\min\\left((T / T_k)^c, 1\\right)

of each mini-batch: the samples with the smallest loss.  ``tau`` is the final
forget rate (ideally the noise rate), ``Tk`` the number of epochs over which the
forget rate ramps up, and ``c`` the shape of the ramp (``c = 1`` is linear).

Everything here is plain Python / NumPy so it can be unit-tested and plotted
without TensorFlow.
"""

import math

import numpy as np

__all__ = [
    "AUTO_BATCH_SIZES",
    "AUTO_MIN_BATCHES",
    "KEEP_TOLERANCE",
    "auto_batch_size",
    "forget_rate",
    "forget_rate_schedule",
    "keep_fraction",
    "n_kept",
]

#: Added to ``R * batch_size`` before rounding down, so that floating-point
#: error (``0.7 * 100 == 69.99999999999999``) does not drop a sample.
KEEP_TOLERANCE = 1e-9

#: Smallest and largest mini-batch of ``batch_size="auto"`` (:func:`auto_batch_size`).
AUTO_BATCH_SIZES = (32, 128)

#: Mini-batches per epoch that ``batch_size="auto"`` aims for before it shrinks the batch.
AUTO_MIN_BATCHES = 32


def forget_rate(epoch: int, tau: float, Tk: float, c: float = 1.0) -> float:
    """Forget rate ``tau * min((epoch / Tk) ** c, 1)`` at a 0-based epoch.

    Parameters
    ----------
    epoch : int
        0-based epoch index, ``epoch >= 0``.
    tau : float
        Final forget rate, ``0 <= tau < 1``.
    Tk : int or float
        Number of epochs over which the forget rate grows to ``tau``, ``Tk >= 1``.
    c : float, default=1.0
        Exponent of the ramp, ``c > 0``.

    Returns
    -------
    float
        Share of each mini-batch that is dropped at ``epoch``.

    Examples
    --------
    >>> forget_rate(0, tau=0.5, Tk=10)
    0.0
    >>> forget_rate(5, tau=0.5, Tk=10)
    0.25
    >>> forget_rate(50, tau=0.5, Tk=10)
    0.5
    """
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch!r}.")
    return float(tau) * min((epoch / Tk) ** c, 1.0)


def keep_fraction(epoch: int, tau: float, Tk: float, c: float = 1.0) -> float:
    """Kept fraction ``R(T) = 1 - forget_rate(T)`` of each mini-batch.

    Parameters
    ----------
    epoch : int
        0-based epoch index.
    tau : float
        Final forget rate, ``0 <= tau < 1``.
    Tk : int or float
        Ramp length in epochs, ``Tk >= 1``.
    c : float, default=1.0
        Exponent of the ramp, ``c > 0``.

    Returns
    -------
    float
        ``R(epoch)``.

    Examples
    --------
    >>> keep_fraction(2, tau=0.2, Tk=10)
    0.96
    """
    return 1.0 - forget_rate(epoch, tau, Tk, c)


def forget_rate_schedule(n_epochs: int, tau: float, Tk: float, c: float = 1.0) -> np.ndarray:
    """Forget rate of every epoch from 0 to ``n_epochs - 1``.

    Parameters
    ----------
    n_epochs : int
        Number of epochs.
    tau, Tk, c : float
        See :func:`forget_rate`.

    Returns
    -------
    ndarray of shape (n_epochs,)
        ``forget_rate(T)`` for each epoch ``T``.

    Examples
    --------
    >>> forget_rate_schedule(4, tau=0.3, Tk=2).tolist()
    [0.0, 0.15, 0.3, 0.3]
    """
    return np.array([forget_rate(t, tau, Tk, c) for t in range(n_epochs)])


def n_kept(batch_size: int, keep_fraction: float) -> int:
    """Number of samples kept in a mini-batch: ``max(1, floor(R * batch_size))``.

    As the official Co-teaching code (``int(remember_rate * len(batch))``),
    rounded down, with a tolerance of ``1e-9`` samples so that a product such
    as ``0.7 * 100`` (``69.99999999999999`` in floating point) keeps 70, not
    69.  The compiled training step computes the same number
    (:func:`skcoteach.rules.n_keep`).

    Parameters
    ----------
    batch_size : int
        Number of samples in the mini-batch (the last one may be smaller).
    keep_fraction : float
        ``R(T)``.

    Returns
    -------
    int
        At least one, at most ``batch_size``.

    Examples
    --------
    >>> n_kept(128, 0.5)
    64
    >>> n_kept(128, 0.2)  # 25.6 samples: 25 kept
    25
    >>> n_kept(3, 0.1)
    1
    """
    return int(min(batch_size, max(1, math.floor(keep_fraction * batch_size + KEEP_TOLERANCE))))


def auto_batch_size(n_samples: int) -> int:
    """Mini-batch size of ``batch_size="auto"`` for ``n_samples`` training rows.

    The largest power of two in :data:`AUTO_BATCH_SIZES` (32 to 128) that
    still gives :data:`AUTO_MIN_BATCHES` mini-batches per epoch: 128, the
    papers' batch, from 4,096 rows; 64 from 2,048; 32 (Keras's default)
    below.  On a small table a batch of 128 leaves too few steps per epoch
    for the peers to fit the clean samples before the forget rate ramps up
    over ``Tk`` epochs (user guide, :ref:`batch-size`).

    Parameters
    ----------
    n_samples : int
        Number of training rows (after ``validation_split``).

    Returns
    -------
    int
        The mini-batch size.

    Examples
    --------
    >>> auto_batch_size(60000), auto_batch_size(3000), auto_batch_size(1258)
    (128, 64, 32)
    """
    smallest, largest = AUTO_BATCH_SIZES
    per_batch = max(int(n_samples) // AUTO_MIN_BATCHES, 1)
    return int(min(largest, max(smallest, 1 << (per_batch.bit_length() - 1))))
