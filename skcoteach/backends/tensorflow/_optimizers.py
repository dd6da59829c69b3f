"""Keras's Adam, applied with TensorFlow's fused kernel.

Imported lazily (it imports TensorFlow).  Keras 3's ``Adam.update_step``
writes the update as about fifteen small tensor operations per variable; on a
CPU, for the small networks co-teaching is used with, launching them costs as
much as the peers' matrix products.  TensorFlow's ``ResourceApplyAdam`` kernel
does the same arithmetic in one operation per variable.
"""

import keras
import tensorflow as tf

from ..._compat import adam_slots


@keras.saving.register_keras_serializable(package="skcoteach")
class FusedAdam(keras.optimizers.Adam):
    """:class:`keras.optimizers.Adam` whose dense updates run one fused kernel.

    The update is Keras's Adam update (same hyper-parameters, same state
    variables, same formula: ``m <- beta_1 m + (1 - beta_1) g``,
    ``v <- beta_2 v + (1 - beta_2) g**2``,
    ``w <- w - lr sqrt(1 - beta_2**t) / (1 - beta_1**t) m / (sqrt(v) + epsilon)``),
    computed by TensorFlow's ``ResourceApplyAdam`` instead of a chain of
    element-wise operations.  Everything that Keras's base optimizer does
    around ``update_step`` (learning-rate schedules, weight decay, gradient
    clipping, gradient accumulation, EMA, loss scaling) is inherited
    unchanged.  ``amsgrad=True``, sparse gradients, non-float variables,
    updates under a ``tf.distribute`` strategy and a Keras whose Adam keeps
    its moments elsewhere (see :func:`skcoteach._compat.adam_slots`) fall back
    to Keras's own update.

    :class:`~skcoteach.CoTeachingClassifier` uses it whenever the optimizer
    resolves to exactly :class:`keras.optimizers.Adam` (``optimizer="adam"``,
    the default); results agree with Keras's Adam up to float32 rounding.
    """

    def update_step(self, gradient, variable, learning_rate):
        """Apply one Adam update to ``variable``."""
        slots = None
        if not (
            self.amsgrad
            or isinstance(gradient, tf.IndexedSlices)
            or tf.distribute.has_strategy()  # distributed variables: Keras's own path
            or variable.dtype not in ("float32", "float64", "float16", "bfloat16")
        ):
            slots = adam_slots(self, variable)
        if slots is None:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        m, v = slots
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle,
            m=m.handle,
            v=v.handle,
            beta1_power=tf.pow(beta_1, local_step),
            beta2_power=tf.pow(beta_2, local_step),
            lr=tf.cast(learning_rate, dtype),
            beta1=beta_1,
            beta2=beta_2,
            epsilon=tf.cast(self.epsilon, dtype),
            grad=tf.cast(gradient, dtype),
            use_locking=False,
        )


def fuse(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """``optimizer`` as a :class:`FusedAdam` if it is exactly Keras's Adam.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        A freshly built optimizer (no state yet).

    Returns
    -------
    keras.optimizers.Optimizer
        A :class:`FusedAdam` with the same configuration, or ``optimizer``
        itself for any other optimizer (subclasses of Adam included: they may
        have changed the update).
    """
    if type(optimizer) is keras.optimizers.Adam:
        return FusedAdam.from_config(optimizer.get_config())
    return optimizer


def plain(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """``optimizer`` as the Keras class it stands for: the inverse of :func:`fuse`.

    Used when a model is saved: its compile configuration names
    :class:`keras.optimizers.Adam` instead of :class:`FusedAdam`, so that
    :func:`keras.saving.load_model` can rebuild the optimizer without
    skcoteach (Adam's state variables and configuration are the same).

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer
        Any optimizer; it is not changed.

    Returns
    -------
    keras.optimizers.Optimizer
        A new, unbuilt :class:`keras.optimizers.Adam` with the configuration
        of a :class:`FusedAdam`, or ``optimizer`` itself for any other
        optimizer (subclasses of :class:`FusedAdam` included).
    """
    if type(optimizer) is FusedAdam:
        return keras.optimizers.Adam.from_config(optimizer.get_config())
    return optimizer
