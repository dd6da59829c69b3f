"""One ``tf.function`` per execution of ``steps_per_execution`` training steps.

:class:`LeanTraining` is mixed into :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble`
and :class:`~skcoteach.backends.tensorflow._joint.JointEnsembles`.
"""

import tensorflow as tf

from ._compat import counted_apart, is_dataset_iterator, lean_training_applies

__all__ = ["LeanTraining"]


class LeanTraining:
    """Mixin of a Keras model whose ``fit`` runs one ``tf.function`` per execution.

    The model provides ``_train_on(batch, arrays)`` (one training step on a
    batch of sample indices, gathering from ``arrays``), ``_train_logs()``
    and the attribute ``_training_arrays``.
    """

    def make_train_function(self, force=False):
        """Build the function ``fit`` calls once per ``steps_per_execution`` batches.

        Keras's TensorFlow trainer runs every step as a nested ``tf.function``
        inside a while loop over optionals and computes the logs after each
        step.  For a ``tf.data`` iterator (what ``fit`` passes) this builds one
        ``tf.function`` instead: a while loop of up to ``steps_per_execution``
        calls of ``_train_on``, then the logs once.  The steps are the
        same; a fit traces and optimises one graph less, which matters for
        the many short fits of a grid search.  Keras's own function is used
        for anything else: Python iterators (``train_on_batch``),
        ``run_eagerly``, XLA and distribution strategies.

        Every ensemble traces its own function (it captures its own
        variables).  TensorFlow counts the traces of all ``tf.function``
        objects made from the same Python code together and warns of
        "excessive retracing" from the fifth; the traced callable is made
        for this ensemble by :func:`skcoteach.backends.tensorflow._compat.counted_apart`, which
        TensorFlow counts on its own: one trace each, no warning, same graph.
        """
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force=True)
        if not self._lean_train_function_applies():
            return self.train_function
        keras_function = self.train_function
        steps = int(self.steps_per_execution)

        def steps_of(iterator, arrays):
            # The training arrays are an argument, not a capture: a warm start
            # on new arrays of the same shapes reuses the traced function.
            def more(step, batch):
                return tf.logical_and(step < steps, batch.has_value())

            def one_step(step, batch):
                self._train_on(batch.get_value(), arrays)
                step += 1
                # The next batch only if this execution takes it (else it would be lost).
                return step, tf.cond(step < steps, iterator.get_next_as_optional, lambda: batch)

            first = iterator.get_next_as_optional()
            n_steps, _ = tf.while_loop(more, one_step, (tf.constant(0), first))
            return n_steps, self._train_logs()

        run_steps = tf.function(counted_apart(steps_of), autograph=False, reduce_retracing=True)

        def function(iterator):
            if not is_dataset_iterator(iterator):
                return keras_function(iterator)
            n_steps, logs = run_steps(iterator, self._training_arrays)
            if n_steps == 0:  # as Keras: the end of a dataset of unknown length
                raise StopIteration
            return logs

        function.run_steps = run_steps  # the tf.function, for inspection
        self.train_function = function
        return function

    def _lean_train_function_applies(self):
        """Whether :meth:`make_train_function` may replace Keras's function."""
        return lean_training_applies(self)
