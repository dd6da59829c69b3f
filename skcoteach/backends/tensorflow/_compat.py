"""Every private or version-sensitive API of TensorFlow, and of Keras's TensorFlow trainer, that skcoteach uses.

The TensorFlow counterpart of :mod:`skcoteach._compat`: each use lives here,
next to its fallback to public behaviour where one exists, so that a new
TensorFlow release can break at most this module:

- :func:`counted_apart`: how ``tf.function`` keys its retracing warning.
- :func:`without_default_all_reduce`: Keras's TensorFlow optimizer's
  ``_all_reduce_sum_gradients``, skipped when no strategy is in force (the
  sum over one replica is the identity, and TensorFlow never frees the graph
  that built it); if the method is missing, nothing is changed.
- :func:`clear_kernel_cache`: TensorFlow's eager context's
  ``clear_kernel_cache`` (what ``keras.backend.clear_session`` calls);
  skipped if the method is missing.
- :func:`lean_training_applies` and :func:`is_dataset_iterator`: the contract
  with Keras's TensorFlow trainer that lets
  :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble` replace its
  training function (``fit`` calls ``make_train_function`` and then
  ``train_function(iterator)`` with a ``tf.data`` iterator); anything else
  runs Keras's own function.
- :func:`runtime_started`: whether TensorFlow's eager context has started
  (``context.context()._initialized``).
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tensorflow as tf
from tensorflow.python.eager import context

if TYPE_CHECKING:
    import keras

__all__ = [
    "clear_kernel_cache",
    "counted_apart",
    "is_dataset_iterator",
    "lean_training_applies",
    "runtime_started",
    "under_strategy",
    "without_default_all_reduce",
]


def under_strategy(model: keras.Model) -> bool:
    """Whether ``model`` is built or trained under a ``tf.distribute`` strategy."""
    return tf.distribute.has_strategy() or (
        model.distribute_strategy is not tf.distribute.get_strategy()
    )


def lean_training_applies(model: keras.Model) -> bool:
    """Whether Keras's trainer lets ``model`` run its one-graph training function.

    False under ``run_eagerly``, XLA or a ``tf.distribute`` strategy: Keras's
    own function handles those.
    """
    return not (model.run_eagerly or model.jit_compile or under_strategy(model))


def counted_apart(function: Callable[..., Any]) -> functools.partial:
    """``function`` wrapped so that ``tf.function`` counts its traces apart from its siblings.

    TensorFlow warns of "excessive retracing" when ``tf.function`` objects
    made from the same Python code (keyed by ``__code__``) trace five times
    within ten calls, as the training functions of the many estimators of a
    grid search do, each of them once.  A ``functools.partial`` has no
    ``__code__``: TensorFlow keys it by the object itself, so each estimator's
    function is counted on its own.  The traced graph is the same.  On a
    TensorFlow that keys otherwise, the warning may come back, nothing else.
    """
    return functools.partial(function)


def _sum_gradients_of_replicas(optimizer, grads_and_vars):
    """Keras's all-reduce of the replicas' gradients, only where a strategy splits the batch."""
    if tf.distribute.has_strategy():
        return type(optimizer)._all_reduce_sum_gradients(optimizer, grads_and_vars)
    return list(grads_and_vars)


def without_default_all_reduce(
    optimizer: keras.optimizers.Optimizer,
) -> keras.optimizers.Optimizer:
    """Stop ``optimizer`` from all-reducing gradients when there is nothing to reduce.

    Keras's TensorFlow optimizer sums the gradients over the replicas with
    ``ReplicaContext.all_reduce`` in every traced training step, also
    without a ``tf.distribute`` strategy, where the sum over the single
    default replica is the identity.  That ``all_reduce`` is a
    ``tf.custom_gradient`` whose gradient function TensorFlow registers in its
    process-wide gradient registry and never removes; the registered function
    keeps the whole traced training graph alive: every fit then leaves its
    graph behind (the user guide's "Scaling out" measures it).  The step
    traced without it computes the same update.  Under a
    strategy, checked when the step is traced, Keras's own method runs.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        Changed in place (an instance attribute, not saved by
        ``get_config``); an optimizer without the method is left alone.
    """
    if callable(getattr(type(optimizer), "_all_reduce_sum_gradients", None)):
        optimizer._all_reduce_sum_gradients = types.MethodType(
            _sum_gradients_of_replicas, optimizer
        )
    return optimizer


def clear_kernel_cache() -> None:
    """Clear TensorFlow's eager kernel cache, as ``keras.backend.clear_session`` does.

    The live functions re-create their kernels when next called.  Nothing
    happens on a TensorFlow without the method.
    """
    clear = getattr(context.context(), "clear_kernel_cache", None)
    if clear is not None:
        clear()


def is_dataset_iterator(argument: Any) -> bool:
    """Whether Keras handed ``train_function`` a ``tf.data`` iterator (what ``fit`` passes).

    Anything else (``train_on_batch`` passes a Python iterator) goes to
    Keras's own function.
    """
    return isinstance(argument, tf.data.Iterator)


def runtime_started(tf: types.ModuleType) -> bool:
    """Whether TensorFlow's eager context (thread pools, devices) exists."""
    return bool(getattr(context.context(), "_initialized", False))
