"""The Keras model that holds all peers and trains them in one compiled program, on JAX.

The sibling of :mod:`skcoteach.backends.tensorflow._ensemble`: the same
ensemble, with the same attributes and methods the estimator uses, whose
training function is a ``lax.scan`` over ``batches_per_call`` mini-batches
gathered by index from the training arrays held on the device.

Imported lazily (it imports JAX).
"""

from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np
from keras import ops

from ... import rules
from .._config import OUTPUT_KINDS, EnsembleConfig, output_activation
from ._state import ForgetRate, MeanVector

__all__ = ["PeerEnsemble", "log_probabilities", "output_activation"]


def log_probabilities(outputs: Any, kind: str) -> Any:
    """Log-probabilities of shape (batch, n_classes) from a peer's raw output.

    As the TensorFlow backend's, except that probabilities are always
    clipped to ``[eps, 1]`` before the logarithm (Keras's JAX backend keeps no
    logits on a softmax output); this is what Keras's own JAX cross-entropy
    computes.
    """
    binary = outputs.shape[-1] == 1
    if kind == "logits":
        if binary:
            return ops.log_sigmoid(ops.concatenate([-outputs, outputs], axis=-1))
        return ops.log_softmax(outputs, axis=-1)
    if binary:
        outputs = ops.concatenate([1.0 - outputs, outputs], axis=-1)
    return ops.log(ops.clip(outputs, keras.config.epsilon(), 1.0))


@keras.saving.register_keras_serializable(package="skcoteach")
class PeerEnsemble(EnsembleConfig, keras.Model):
    """All peers of one :class:`~skcoteach.CoTeachingClassifier` in one model, on JAX.

    Calling the ensemble returns the peers' mean class probabilities.  The
    training function ``fit`` calls runs :attr:`batches_per_call` mini-batches
    as one compiled ``lax.scan``: each step gathers its batch by position in
    the epoch's order from the arrays of :meth:`set_training_arrays`,
    computes every peer's per-sample cross-entropy, lets the update rule
    select the small-loss samples and applies one optimizer step to all
    peers' variables.  No Python runs per mini-batch.

    Parameters are those of the TensorFlow backend's ensemble
    (:class:`skcoteach.backends.tensorflow._ensemble.PeerEnsemble`).
    """

    def __init__(
        self,
        peers,
        output_kind,
        n_samples=1,
        rule="coteaching",
        rule_options=None,
        record_proba=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if output_kind not in OUTPUT_KINDS:
            raise ValueError(f"output_kind must be one of {OUTPUT_KINDS}, got {output_kind!r}.")
        self.peers = list(peers)
        self.output_kind = output_kind
        self.rule_name = rule
        self.rule_options = dict(rule_options or {})
        self._rule = rules.RULES[rule]
        self.epoch = keras.Variable(0, dtype="int32", trainable=False, name="epoch")
        self._forget_parts = keras.Variable(
            np.zeros(2, np.float32), trainable=False, name="forget_rate"
        )
        self.record_proba = int(record_proba)
        self.resize_sample_statistics(n_samples)
        self.order = keras.Variable(
            np.arange(n_samples, dtype=np.int32), trainable=False, name="order"
        )
        self._training_arrays = ()
        self._validation_arrays = ()
        self.batch_size = None  # of the training function; see set_training_arrays
        self.train_names = [
            "loss",
            *[f"peer_{p}_loss" for p in range(len(self.peers))],
            "kept_fraction",
        ]
        self.train_tracker = MeanVector(len(self.train_names), name="train_logs")
        self.val_loss_tracker = keras.metrics.Mean(name="val_loss")
        self.val_accuracy_tracker = keras.metrics.Mean(name="val_accuracy")

    # ------------------------------------------------------------------
    # What the estimator and the callbacks use
    # ------------------------------------------------------------------
    def compile(self, *, steps_per_execution=1, **kwargs):
        """Keras's ``compile``; ``steps_per_execution`` becomes :attr:`batches_per_call`.

        Keras's own loop then makes one call per step: each call of the
        training function is one execution of ``batches_per_call`` batches
        inside the compiled program, not a Python loop over Keras's steps.
        """
        self.batches_per_call = int(steps_per_execution)
        super().compile(steps_per_execution=1, **kwargs)
    @property
    def forget_rate(self) -> ForgetRate:
        """The forget rate of the coming epoch (``assign`` a float to set it)."""
        return ForgetRate(self._forget_parts)

    def peer_log_probabilities(self, x, training=False):
        """Stacked log-probabilities of every peer, shape (n_peers, batch, n_classes)."""
        return ops.stack(
            [log_probabilities(peer(x, training=training), self.output_kind) for peer in self.peers]
        )

    def call(self, x, training=False):
        """Mean class probabilities of the peers."""
        return ops.mean(ops.exp(self.peer_log_probabilities(x, training)), axis=0)

    def set_training_arrays(
        self, x: Any = None, y: Any = None, sample_weight: Any = None, *, batch_size: int = 32
    ) -> None:
        """Place the training set on the device, for the batches of ``batch_size`` to gather.

        Parameters
        ----------
        x : array-like of shape (n_samples, ...), default=None
            Training samples.  None releases the arrays held.
        y : array-like of shape (n_samples,), default=None
            Encoded labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        batch_size : int, default=32
            Size of the mini-batches (the last one of an epoch may be smaller).
        """
        if x is None:
            self._training_arrays = ()
            return
        arrays = _on_device(x, y, sample_weight)
        n = int(arrays[0].shape[0])
        if int(self.order.shape[0]) != n:
            del self.order  # untracked, then replaced
            self.order = keras.Variable(np.arange(n, dtype=np.int32), trainable=False, name="order")
        else:
            self.order.assign(np.arange(n, dtype=np.int32))
        if self.batch_size != batch_size:
            self.train_function = None
        self.batch_size = int(batch_size)
        self._training_arrays = arrays

    def set_validation_arrays(self, x: Any = None, y: Any = None, sample_weight: Any = None) -> None:
        """Place the validation set on the device; validation batches are then sample indices."""
        self._validation_arrays = () if x is None else _on_device(x, y, sample_weight)

    def set_epoch_order(self, order: Any) -> None:
        """Set the order of the training samples that the coming epoch visits."""
        self.order.assign(np.asarray(order, np.int32))

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches of an epoch on the training arrays held (0 without them)."""
        if not self._training_arrays:
            return 0
        return -(-int(self._training_arrays[0].shape[0]) // self.batch_size)

    def calls_per_epoch(self, n_samples: int) -> int:
        """Calls of the training function in an epoch of ``n_samples`` (Keras's steps)."""
        n_full = n_samples // self.batch_size
        return max(1, -(-n_full // self.batches_per_call))

    def resize_sample_statistics(self, n_samples: int) -> None:
        """(Re)create the per-sample variables for a training set of ``n_samples``."""
        width = 2 + self.record_proba
        if hasattr(self, "sample_stats"):
            del self.sample_stats  # untracked, then replaced
        self.sample_stats = keras.Variable(
            np.zeros((n_samples, width), np.float32), trainable=False, name="sample_stats"
        )
        self.train_function = None

    def sample_statistics(self) -> dict[str, np.ndarray]:
        """Per-training-sample statistics of the latest epoch (as the TensorFlow backend's)."""
        stats = np.array(self.sample_stats.value)
        out = {"kept": stats[:, 0].copy(), "loss": stats[:, 1].copy()}
        if self.record_proba:
            out["proba"] = stats[:, 2:].copy()
        return out

    @property
    def n_samples(self):
        """Length of the per-sample statistics (the training set size)."""
        return int(self.sample_stats.shape[0])

    # ------------------------------------------------------------------
    # One training step, as a pure function of the state
    # ------------------------------------------------------------------
    def _batch_loss(self, data: tuple) -> tuple[Any, tuple]:
        """The loss to minimise on one batch, and what :meth:`_record_batch` needs.

        Runs in a :class:`keras.StatelessScope`.  The keep fraction is exact to
        float64 (:class:`~skcoteach.backends.jax._state.ForgetRate`), and the
        rules count the kept samples in 64 bits
        (:func:`skcoteach.backends.float64`), as on TensorFlow.
        """
        x, y, sample_weight, index = data
        log_probs = self.peer_log_probabilities(x, training=True)
        losses = rules.cross_entropy(log_probs, y)
        total, peer_losses, keep_mask = self._rule(
            losses,
            log_probs,
            self.forget_rate.keep_fraction(),
            sample_weight,
            self.epoch.value,
            labels=y,
            **self.rule_options,
        )
        regularisation = self.losses
        if regularisation:
            total = total + ops.sum(ops.stack(regularisation))
        return total, (index, losses, log_probs, peer_losses, keep_mask)

    def _record_batch(self, step: tuple) -> None:
        """Write the per-sample statistics and the logs of a batch (in a StatelessScope)."""
        index, losses, log_probs, peer_losses, keep_mask = step
        columns = [ops.mean(keep_mask, axis=0)[:, None], ops.mean(losses, axis=0)[:, None]]
        if self.record_proba:
            columns.append(ops.mean(ops.exp(log_probs), axis=0))
        rows = ops.stop_gradient(ops.concatenate(columns, axis=1))
        self.sample_stats.assign(ops.scatter_update(self.sample_stats.value, index[:, None], rows))
        peer_losses = ops.stop_gradient(peer_losses)
        kept = ops.mean(ops.stop_gradient(keep_mask))
        self.train_tracker.update_state(
            ops.concatenate([ops.mean(peer_losses)[None], peer_losses, kept[None]], axis=0)
        )

    def _train_step(self, state: tuple, positions: Any, arrays: tuple) -> tuple:
        """``state`` after one optimizer step on the batch at ``positions`` of the epoch's order."""
        trainable, non_trainable, optimizer_variables, metrics = state

        def loss_and_state(trainable):
            mapping = [
                *zip(self.trainable_variables, trainable),
                *zip(self.non_trainable_variables, non_trainable),
            ]
            with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as scope:
                index = ops.take(self.order.value, positions)
                data = (*(ops.take(a, index, axis=0) for a in arrays), index)
                total, step = self._batch_loss(data)
            return total, (step, _current(scope, self.non_trainable_variables, non_trainable))

        (_, (step, non_trainable)), grads = jax.value_and_grad(loss_and_state, has_aux=True)(
            trainable
        )
        trainable, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable
        )
        mapping = [
            *zip(self.non_trainable_variables, non_trainable),
            *zip(self.metrics_variables, metrics),
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            self._record_batch(step)
        non_trainable = _current(scope, self.non_trainable_variables, non_trainable)
        metrics = _current(scope, self.metrics_variables, metrics)
        return trainable, non_trainable, optimizer_variables, metrics

    def _train_logs(self, state: tuple) -> dict[str, Any]:
        """The training logs of ``state``: running means since the epoch start, the forget rate."""
        _, non_trainable, _, metrics = state
        mapping = [
            *zip(self.non_trainable_variables, non_trainable),
            *zip(self.metrics_variables, metrics),
        ]
        with keras.StatelessScope(state_mapping=mapping):
            values = self.train_tracker.result()
            logs = {name: values[i] for i, name in enumerate(self.train_names)}
            logs["forget_rate"] = ops.sum(self._forget_parts.value)
        return logs

    def make_train_function(self, force=False):
        """Build the function Keras's ``fit`` calls: :attr:`batches_per_call` batches per call.

        A call runs ``lax.scan`` over the next ``batches_per_call`` full
        batches of the epoch (steps beyond its last full batch do nothing),
        compiled once; the last call of an epoch also trains the last,
        smaller batch, compiled once more.  Keras's data stream only counts
        the calls: it yields the call's number.
        """
        if self.train_function is not None and not force:
            return self.train_function
        steps, batch_size = self.batches_per_call, int(self.batch_size)

        def scan(state, first, n_full, arrays):
            def body(state, i):
                b = first + i
                positions = b * batch_size + jnp.arange(batch_size, dtype=jnp.int32)
                state = jax.lax.cond(
                    b < n_full,
                    lambda s: self._train_step(s, positions, arrays),
                    lambda s: s,
                    state,
                )
                return state, None

            state, _ = jax.lax.scan(body, state, jnp.arange(steps, dtype=jnp.int32))
            return state, self._train_logs(state)

        def last(state, positions, arrays):
            state = self._train_step(state, positions, arrays)
            return state, self._train_logs(state)

        run_scan = jax.jit(scan, donate_argnums=0)
        run_last = jax.jit(last, donate_argnums=0)

        def function(state, iterator):
            call = int(np.asarray(_first(next(iterator))).reshape(-1)[0])
            arrays = self._training_arrays
            n = int(arrays[0].shape[0])
            n_full = n // batch_size
            state, logs = run_scan(state, np.int32(call * steps), np.int32(n_full), arrays)
            if n % batch_size and call == self.calls_per_epoch(n) - 1:
                positions = np.arange(n_full * batch_size, n, dtype=np.int32)
                state, logs = run_last(state, positions, arrays)
            return logs, state

        self.train_function = function
        return function

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------
    def make_test_function(self, force=False):
        """Build the function ``evaluate`` calls on a batch of validation sample indices."""
        if self.test_function is not None and not force:
            return self.test_function

        def test(state, index, arrays):
            trainable, non_trainable, metrics = state
            mapping = [
                *zip(self.trainable_variables, trainable),
                *zip(self.non_trainable_variables, non_trainable),
                *zip(self.metrics_variables, metrics),
            ]
            with keras.StatelessScope(state_mapping=mapping) as scope:
                x, y, sample_weight = (ops.take(a, index, axis=0) for a in arrays)
                probs = self(x, training=False)
                y = ops.cast(y, "int32")
                picked = ops.take_along_axis(probs, y[:, None], axis=1)[:, 0]
                loss = -ops.log(ops.clip(picked, keras.config.epsilon(), 1.0))
                correct = ops.cast(ops.equal(ops.argmax(probs, axis=1), y), loss.dtype)
                self.val_loss_tracker.update_state(loss, sample_weight=sample_weight)
                self.val_accuracy_tracker.update_state(correct, sample_weight=sample_weight)
                logs = {
                    "loss": self.val_loss_tracker.result(),
                    "accuracy": self.val_accuracy_tracker.result(),
                }
            metrics = _current(scope, self.metrics_variables, metrics)
            return logs, (trainable, non_trainable, metrics)

        run = jax.jit(test)

        def function(state, iterator):
            index = jnp.asarray(_first(next(iterator)), jnp.int32)
            return run(state, index, self._validation_arrays)

        self.test_function = function
        return function


def _first(data: Any) -> Any:
    """``x`` of a batch Keras's data adapter yields (``(x,)`` or ``x``)."""
    while isinstance(data, (tuple, list)):
        data = data[0]
    return data


def _current(scope: Any, variables: list, values: list) -> list:
    """The values of ``variables`` at the end of ``scope``: assigned ones, else ``values``."""
    out = []
    for variable, value in zip(variables, values):
        new = scope.get_current_value(variable)
        out.append(value if new is None else new)
    return out


def _on_device(x: Any, y: Any, sample_weight: Any) -> tuple:
    """``(x, y, sample_weight)`` as JAX arrays of one length (float32, int32, float32)."""
    arrays = (
        jnp.asarray(np.asarray(x, np.float32)),
        jnp.asarray(np.asarray(y, np.int32)),
        jnp.asarray(np.asarray(sample_weight, np.float32)),
    )
    lengths = [int(a.shape[0]) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"x, y and sample_weight must have the same length, got {lengths}.")
    return arrays
