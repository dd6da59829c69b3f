"""State the JAX ensemble keeps besides the peers: the forget rate and the training logs.

Imported lazily (it imports Keras).
"""

from typing import Any

import jax
import keras
import numpy as np
from keras import ops

__all__ = ["ForgetRate", "MeanVector"]


class MeanVector(keras.metrics.Metric):
    """Running mean of a fixed-length vector (one entry per training log).

    Parameters
    ----------
    size : int
        Length of the vectors passed to :meth:`update_state`.
    name : str, default=None
        Name of the metric.
    """

    def __init__(self, size, name=None):
        super().__init__(name=name)
        self.total = self.add_variable(shape=(size,), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, values):
        """Add one vector of values."""
        self.total.assign(self.total + ops.cast(values, self.total.dtype))
        self.count.assign(self.count + 1.0)

    def result(self):
        """Element-wise mean of the vectors added since the last reset."""
        return ops.divide_no_nan(self.total, self.count)

    def get_config(self):
        """The arguments that rebuild this metric: ``size`` and ``name``."""
        return {"size": int(self.total.shape[0]), "name": self.name}


class ForgetRate:
    """The forget rate, exact to float64, held by a float32 variable of two parts.

    JAX computes in 32 bits unless told otherwise, but the number of samples a
    rule keeps is rounded from the forget rate in float64
    (:func:`skcoteach.rules.n_keep`), as on TensorFlow: ``0.7 * 100`` in float32
    is 69.99999, one sample less.  The rate is stored as ``hi + lo``, ``hi``
    its float32 rounding and ``lo`` the rest, and rebuilt in float64 inside
    the compiled step (:meth:`keep_fraction`).

    Parameters
    ----------
    variable : keras.Variable of shape (2,), float32
    """

    def __init__(self, variable):
        self.variable = variable

    def assign(self, rate: float) -> None:
        """Set the rate (a Python float)."""
        hi = np.float32(rate)
        self.variable.assign(np.array([hi, np.float32(float(rate) - float(hi))], np.float32))

    def numpy(self) -> float:
        """The rate, as a float64 number."""
        hi, lo = (float(v) for v in np.asarray(self.variable.value, np.float64))
        return hi + lo

    def keep_fraction(self) -> Any:
        """``1 - rate`` as a float64 tensor (JAX's 64-bit types enabled meanwhile)."""
        with jax.enable_x64(True):
            parts = ops.cast(self.variable.value, "float64")
            return 1.0 - (parts[0] + parts[1])
