"""The compiled programs of the JAX ensemble, shared by every ensemble that lowers to the same one.

A jitted function is compiled for the Python function it wraps: an ensemble
with its own jitted functions would compile them anew in every fit -- on a
small table, longer than the fit itself, and a grid search or a
cross-validation is many such fits.  Tracing and lowering a step to XLA's
input costs far less than compiling it.  So
every ensemble traces and lowers its own functions, and the compiled
executable is looked up by the lowered program's text: two ensembles of the
same structure -- whatever their layers' names, whoever wrote their layers --
lower to the same text and share one executable; anything that changes the
computation changes the text.  :data:`MAX_EXECUTABLES` executables are kept,
the least recently used dropped first.

Imported lazily (it imports JAX).
"""

import collections
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["MAX_EXECUTABLES", "Programs", "Shared", "call_index", "programs"]

#: Compiled executables kept for reuse.
MAX_EXECUTABLES = 32
_EXECUTABLES: "collections.OrderedDict[str, Any]" = collections.OrderedDict()
_LOCK = threading.Lock()


class Shared:
    """A jitted function whose compiled executables are shared through the lowered text.

    Parameters
    ----------
    function : callable
        A pure function of arrays (pytrees of arrays).
    donate_argnums : tuple of int, default=()
        As :func:`jax.jit`'s.
    """

    def __init__(self, function: Any, donate_argnums: tuple = ()):
        self.jitted = jax.jit(function, donate_argnums=donate_argnums)
        self.compiled: dict = {}  # argument shapes -> executable, for this function

    def __call__(self, *args):
        leaves, tree = jax.tree_util.tree_flatten(args)
        signature = (tree, tuple((np.shape(a), str(_dtype(a))) for a in leaves))
        executable = self.compiled.get(signature)
        if executable is None:
            executable = self.compiled[signature] = _executable(self.jitted.lower(*args))
        return executable(*args)


def _dtype(value: Any) -> Any:
    dtype = getattr(value, "dtype", None)
    return np.result_type(value) if dtype is None else dtype


def _executable(lowered: Any) -> Any:
    """The compiled executable of ``lowered``: a cached one for the same text, else compiled."""
    key = hashlib.sha256(lowered.as_text().encode()).hexdigest()
    with _LOCK:
        found = _EXECUTABLES.get(key)
        if found is not None:
            _EXECUTABLES.move_to_end(key)
            return found
    compiled = lowered.compile()
    with _LOCK:
        _EXECUTABLES[key] = compiled
        while len(_EXECUTABLES) > MAX_EXECUTABLES:
            _EXECUTABLES.popitem(last=False)
    return compiled


@dataclass
class Programs:
    """The jitted functions of one structure.

    Attributes
    ----------
    scan : callable
        ``scan(state, first, n_full, arrays) -> (state, logs)``: the
        ``batches_per_call`` full batches from batch ``first`` on.
    last : callable
        ``last(state, positions, arrays) -> (state, logs)``: one batch at
        ``positions`` of the epoch's order (the last, smaller one).
    test : callable
        ``test(state, index, arrays) -> (logs, state)``: validation metrics
        of the samples ``index`` of the validation arrays.
    """

    scan: Any
    last: Any
    test: Any


def _build(model: Any, stacked: Any = None) -> Programs:
    """The jitted programs traced on ``model``.

    With ``stacked``, a function ``(step, logs) -> (step, logs)`` that turns
    the ensemble's training step and logs into those of a stack of fits of
    its structure (see :mod:`skcoteach.backends.jax._joint`), the training
    programs train the stack.
    """
    steps, batch_size = model.batches_per_call, int(model.batch_size)
    step, logs = model._train_step, model._train_logs
    if stacked is not None:
        step, logs = stacked(step, logs)

    def scan(state, first, n_full, arrays):
        def body(state, i):
            b = first + i
            positions = b * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
            state = jax.lax.cond(
                b < n_full, lambda s: step(s, positions, arrays), lambda s: s, state
            )
            return state, None

        state, _ = jax.lax.scan(body, state, jnp.arange(steps, dtype=jnp.int32))
        return state, logs(state)

    def last(state, positions, arrays):
        state = step(state, positions, arrays)
        return state, logs(state)

    return Programs(
        scan=Shared(scan, donate_argnums=(0,)),
        last=Shared(last, donate_argnums=(0,)),
        test=Shared(model._test_step),
    )


def programs(ensemble: Any, stacked: Any = None) -> Programs:
    """The programs that train ``ensemble`` (traced on it; executables shared, see the module).

    ``stacked``: train a stack of fits of its structure (see :func:`_build`).
    """
    return _build(ensemble, stacked)


def call_index(data: Any) -> int:
    """The number Keras's data stream yields for a call (``x`` of its batch)."""
    while isinstance(data, (tuple, list)):
        data = data[0]
    return int(np.asarray(data).reshape(-1)[0])
