"""The forget-rate schedule against hand-computed values."""

import numpy as np
import pytest

from skcoteach.schedules import (
    auto_batch_size,
    forget_rate,
    forget_rate_schedule,
    keep_fraction,
    n_kept,
)


@pytest.mark.parametrize(
    "epoch, tau, Tk, c, expected",
    [
        (0, 0.5, 10, 1.0, 0.0),  # nothing dropped at the start
        (1, 0.5, 10, 1.0, 0.05),
        (5, 0.5, 10, 1.0, 0.25),
        (10, 0.5, 10, 1.0, 0.5),  # reaches tau at Tk
        (199, 0.5, 10, 1.0, 0.5),  # and stays there
        (5, 0.2, 10, 2.0, 0.05),  # 0.2 * 0.5 ** 2
        (5, 0.2, 10, 0.5, 0.2 * np.sqrt(0.5)),
        (3, 0.45, 1, 1.0, 0.45),  # Tk = 1: full rate after the first epoch
        (4, 0.0, 10, 1.0, 0.0),  # tau = 0 is standard training
    ],
)
def test_forget_rate_hand_computed(epoch, tau, Tk, c, expected):
    assert forget_rate(epoch, tau, Tk, c) == pytest.approx(expected, abs=1e-15)
    assert keep_fraction(epoch, tau, Tk, c) == pytest.approx(1 - expected, abs=1e-15)


def test_schedule_is_monotone_and_capped():
    rates = forget_rate_schedule(50, tau=0.3, Tk=7, c=1.5)
    assert rates.shape == (50,)
    assert rates[0] == 0.0
    assert np.all(np.diff(rates) >= 0)
    assert rates.max() == pytest.approx(0.3)
    assert np.all(rates[7:] == pytest.approx(0.3))


def test_negative_epoch_rejected():
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        forget_rate(-1, 0.2, 10)


@pytest.mark.parametrize(
    "batch, fraction, expected",
    [
        (128, 1.0, 128),
        (128, 0.5, 64),
        (128, 0.8, 102),
        (128, 0.2, 25),  # 25.6: rounded down, as the official code
        (10, 0.55, 5),
        (1, 0.01, 1),
        (3, 0.1, 1),
        (5, 0.9, 4),
        (7, 0.5, 3),
        (5, 0.5, 2),
        (100, 0.7, 70),  # 0.7 * 100 == 69.99999999999999: the tolerance keeps 70
        (100, 1 - 0.3, 70),
        (10, 0.99, 9),
    ],
)
def test_n_kept(batch, fraction, expected):
    # Rounded down (4.5 -> 4, 5.5 -> 5, 3.5 -> 3), never below one sample.
    assert n_kept(batch, fraction) == expected


@pytest.mark.parametrize(
    "n, expected",
    [(0, 32), (1, 32), (105, 32), (1258, 32), (2047, 32), (2048, 64), (4095, 64),
     (4096, 128), (60000, 128), (10**9, 128)],
)
def test_auto_batch_size(n, expected):
    # The largest power of two from 32 to 128 with at least 32 batches per epoch.
    assert auto_batch_size(n) == expected
