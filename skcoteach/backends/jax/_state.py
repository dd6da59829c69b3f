"""State the JAX ensemble keeps besides the peers: the forget rate, its slots of arrays.

Imported lazily (it imports Keras).
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from keras import ops

__all__ = ["ForgetRate", "Slot", "keep_fraction"]


class Slot:
    """One entry of a dict of arrays, with the part of ``keras.Variable``'s interface the callers use.

    The JAX ensemble keeps its own state (epoch, forget rate, epoch order,
    per-sample statistics) as plain arrays in a dict passed to its compiled
    step; a slot reads and sets one of them.

    Parameters
    ----------
    state : dict
    key : str
    """

    def __init__(self, state: dict, key: str):
        self.state, self.key = state, key

    @property
    def value(self) -> Any:
        """The array."""
        return self.state[self.key]

    @property
    def shape(self) -> tuple:
        return tuple(self.state[self.key].shape)

    def assign(self, value: Any) -> None:
        """Replace the array (same dtype as before, if it exists)."""
        old = self.state.get(self.key)
        dtype = None if old is None else old.dtype
        self.state[self.key] = jnp.asarray(np.asarray(value), dtype)

    def numpy(self) -> np.ndarray:
        return np.asarray(self.state[self.key])


def keep_fraction(parts: Any) -> Any:
    """``1 - rate`` of a forget rate held as float32 ``[hi, lo]``, as a float64 tensor.

    Computed with JAX's 64-bit types enabled (see :class:`ForgetRate`).
    """
    with jax.enable_x64(True):
        parts = ops.cast(parts, "float64")
        return 1.0 - (parts[0] + parts[1])


class ForgetRate:
    """The forget rate, exact to float64, held by a float32 variable of two parts.

    JAX computes in 32 bits unless told otherwise, but the number of samples a
    rule keeps is rounded from the forget rate in float64
    (:func:`skcoteach.rules.n_keep`), as on TensorFlow: ``0.7 * 100`` in float32
    is 69.99999, one sample less.  The rate is stored as ``hi + lo``, ``hi``
    its float32 rounding and ``lo`` the rest, and rebuilt in float64 inside
    the compiled step (:func:`keep_fraction`).

    Parameters
    ----------
    variable : Slot of shape (2,), float32
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
