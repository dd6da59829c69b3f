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
from .._config import EnsembleConfig, output_activation
from ._outputs import log_probabilities, output_logits
from ._programs import call_index, programs
from ._rows import n_rows, on_device, take_rows
from ._sharding import Placement
from ._state import ForgetRate, Slot, keep_fraction

__all__ = ["PeerEnsemble", "log_probabilities", "output_activation", "output_logits"]


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
        self._set_up(peers, output_kind, rule, rule_options, record_proba)
        # The ensemble's own state: not Keras variables (Keras would save them
        # and refuse to resize them), passed to the compiled step beside Keras's.
        self._own = {
            "epoch": jnp.zeros((), jnp.int32),
            "forget": jnp.zeros(2, jnp.float32),
            "order": jnp.arange(n_samples, dtype=jnp.int32),
        }
        self.epoch = Slot(self._own, "epoch")
        self.order = Slot(self._own, "order")
        self.sample_stats = Slot(self._own, "stats")
        self.resize_sample_statistics(n_samples)
        self.batch_size = None  # of the training function; see set_training_arrays
        self._placement = Placement()  # the distribution's, from set_training_arrays

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

    def get_compile_config(self):
        """Keras's compile configuration, with ``steps_per_execution`` = :attr:`batches_per_call`."""
        config = super().get_compile_config()
        if config:
            config["steps_per_execution"] = self.batches_per_call
        return config

    def compile_from_config(self, config):
        """Compile from a saved compile configuration (``load_model``), the optimizer built."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)
    @property
    def forget_rate(self) -> ForgetRate:
        """The forget rate of the coming epoch (``assign`` a float to set it)."""
        return ForgetRate(Slot(self._own, "forget"))

    def peer_log_probabilities(self, x, training=False):
        """Stacked log-probabilities of every peer, shape (n_peers, batch, n_classes).

        From the logits of a softmax or sigmoid output (:func:`output_logits`).
        """
        out = []
        for peer in self.peers:
            with output_logits(peer, self.output_kind) as kind:
                out.append(log_probabilities(peer(x, training=training), kind))
        return ops.stack(out)

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

        Notes
        -----
        Under a ``keras.distribution`` set now, the arrays are replicated on
        its devices and the programs shard each batch among them
        (:mod:`skcoteach.backends.jax._sharding`).
        """
        if x is None:
            self._training_arrays = ()
            return
        placement = Placement.current()
        if placement.key != self._placement.key:
            self.train_function = self.test_function = None
        self._placement = placement
        arrays = placement.put(on_device(x, y, sample_weight))
        self.order.assign(np.arange(n_rows(arrays[0]), dtype=np.int32))
        if self.batch_size != batch_size:
            self.train_function = None
        self.batch_size = int(batch_size)
        self._training_arrays = arrays

    def set_class_shares(self, shares: Any) -> None:
        """Set the classes' shares of the training labels: ``selection="class_floor"`` floors the rare ones.

        Held as the 0/1 vector of the rare classes
        (:func:`skcoteach._selection.rare_classes`), part of the ensemble's own
        state (:attr:`_own`), stacked with it in a grouped search.
        """
        rare = self._note_rare_classes(shares)
        if "rare" not in self._own or tuple(self._own["rare"].shape) != rare.shape:
            self.train_function = None  # traced with another state
        self._own["rare"] = jnp.asarray(rare)

    def set_validation_arrays(self, x: Any = None, y: Any = None, sample_weight: Any = None) -> None:
        """Place the validation set as the training arrays are; validation batches are then sample indices."""
        self._validation_arrays = (
            () if x is None else self._placement.put(on_device(x, y, sample_weight))
        )

    def set_epoch_order(self, order: Any) -> None:
        """Set the order of the training samples that the coming epoch visits."""
        self.order.assign(np.asarray(order, np.int32))

    @property
    def batches_per_epoch(self) -> int:
        """Mini-batches of an epoch on the training arrays held (0 without them)."""
        if not self._training_arrays:
            return 0
        return -(-n_rows(self._training_arrays[0]) // self.batch_size)

    def calls_per_epoch(self, n_samples: int) -> int:
        """Calls of the training function in an epoch of ``n_samples`` (Keras's steps)."""
        n_full = n_samples // self.batch_size
        return max(1, -(-n_full // self.batches_per_call))

    def resize_sample_statistics(self, n_samples: int) -> None:
        """(Re)create the per-sample variables for a training set of ``n_samples``."""
        self.sample_stats.assign(np.zeros((n_samples, 2 + self.record_proba), np.float32))

    def sample_statistics(self) -> dict[str, np.ndarray]:
        """Per-training-sample statistics of the latest epoch (as the TensorFlow backend's)."""
        stats = np.array(self.sample_stats.numpy())
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
    def _batch_loss(self, data: tuple, own: dict) -> tuple[Any, tuple]:
        """The loss to minimise on one batch, and what :meth:`_record_batch` needs.

        Runs in a :class:`keras.StatelessScope`.  The keep fraction is exact to
        float64 (:func:`~skcoteach.backends.jax._state.keep_fraction`), and the
        rules count the kept samples in 64 bits
        (:func:`skcoteach.backends.float64`), as on TensorFlow.
        """
        x, y, sample_weight, index = data
        log_probs = self.peer_log_probabilities(x, training=True)
        losses = rules.cross_entropy(log_probs, y)
        total, peer_losses, keep_mask = self._rule(
            losses,
            log_probs,
            keep_fraction(own["forget"]),
            sample_weight,
            own["epoch"],
            labels=y,
            rare_classes=own.get("rare"),  # for selection="class_floor"
            **self._step_rule_options(),
        )
        regularisation = self.losses
        if regularisation:
            total = total + ops.sum(ops.stack(regularisation))
        return total, (index, losses, log_probs, peer_losses, keep_mask)

    def _record_batch(self, step: tuple, own: dict) -> dict:
        """Record the logs of a batch (in a StatelessScope); ``own`` with its per-sample statistics."""
        index, losses, log_probs, peer_losses, keep_mask = step
        columns = [ops.mean(keep_mask, axis=0)[:, None], ops.mean(losses, axis=0)[:, None]]
        if self.record_proba:
            columns.append(ops.mean(ops.exp(log_probs), axis=0))
        rows = ops.stop_gradient(ops.concatenate(columns, axis=1))
        peer_losses = ops.stop_gradient(peer_losses)
        kept = ops.mean(ops.stop_gradient(keep_mask))
        self.train_tracker.update_state(
            ops.concatenate([ops.mean(peer_losses)[None], peer_losses, kept[None]], axis=0)
        )
        return {**own, "stats": ops.scatter_update(own["stats"], index[:, None], rows)}

    def _train_step(self, state: tuple, positions: Any, arrays: tuple) -> tuple:
        """``state`` after one optimizer step on the batch at ``positions`` of the epoch's order.

        ``state`` is Keras's (trainable, non-trainable, optimizer and metric
        variables' values) and the ensemble's own (:attr:`_own`).  Under a
        distribution (:attr:`_placement`), the gathered batch is sharded among
        the devices and the new state is laid out as :meth:`_state_shardings` says.
        """
        trainable, non_trainable, optimizer_variables, metrics, own = state

        def loss_and_state(trainable):
            mapping = [
                *zip(self.trainable_variables, trainable),
                *zip(self.non_trainable_variables, non_trainable),
            ]
            with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as scope:
                index = self._placement.shard_batch(ops.take(own["order"], positions))
                data = self._placement.shard_batch((*gather(arrays, index), index))
                total, step = self._batch_loss(data, own)
            return total, (step, _current(scope, self.non_trainable_variables, non_trainable))

        (_, (step, non_trainable)), grads = jax.value_and_grad(loss_and_state, has_aux=True)(
            trainable
        )
        trainable, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable
        )
        with keras.StatelessScope(state_mapping=list(zip(self.metrics_variables, metrics))) as scope:
            own = self._record_batch(step, own)
        metrics = _current(scope, self.metrics_variables, metrics)
        state = trainable, non_trainable, optimizer_variables, metrics, own
        return self._placement.constrain(state, self._state_shardings())

    def _state_shardings(self, *groups: str) -> Any:
        """The shardings of the training state under :attr:`_placement` (None on one device).

        The state of :meth:`_train_step`, or only its ``groups`` (of
        ``"trainable"``, ``"non_trainable"``, ``"optimizer"``, ``"metrics"``,
        ``"own"``): Keras's variables as the distribution lays them out, the
        ensemble's own arrays replicated.
        """
        placement = self._placement
        if placement.mesh is None:
            return None
        variables = {
            "trainable": self.trainable_variables,
            "non_trainable": self.non_trainable_variables,
            "optimizer": self.optimizer.variables,
            "metrics": self.metrics_variables,
        }
        groups = groups or ("trainable", "non_trainable", "optimizer", "metrics", "own")
        return tuple(
            {key: placement.replicated() for key in self._own}
            if group == "own"
            else placement.variable_shardings(variables[group])
            for group in groups
        )

    def _train_logs(self, state: tuple) -> dict[str, Any]:
        """The training logs of ``state``: running means since the epoch start, the forget rate."""
        metrics, own = state[3], state[4]
        with keras.StatelessScope(state_mapping=list(zip(self.metrics_variables, metrics))):
            values = self.train_tracker.result()
        logs = {name: values[i] for i, name in enumerate(self.train_names)}
        logs["forget_rate"] = ops.sum(own["forget"])
        return logs

    def make_train_function(self, force=False):
        """Build the function Keras's ``fit`` calls: :attr:`batches_per_call` batches per call.

        A call runs ``lax.scan`` over the next ``batches_per_call`` full
        batches of the epoch (steps beyond its last full batch do nothing);
        the last call of an epoch also trains the last, smaller batch, a
        second program.  Keras's data stream only counts the calls: it yields
        the call's number.  The programs are compiled once for every
        ensemble of this structure (:mod:`skcoteach.backends.jax._programs`).
        """
        if self.train_function is not None and not force:
            return self.train_function
        compiled = programs(self)
        steps, batch_size = self.batches_per_call, int(self.batch_size)
        placement, shardings = self._placement, self._state_shardings()

        def function(state, iterator):
            call = call_index(next(iterator))
            arrays = self._training_arrays
            n = n_rows(arrays[0])
            n_full = n // batch_size
            state = placement.put_state((*state, dict(self._own)), shardings)
            state, logs = compiled.scan(state, np.int32(call * steps), np.int32(n_full), arrays)
            if n % batch_size and call == self.calls_per_epoch(n) - 1:
                positions = np.arange(n_full * batch_size, n, dtype=np.int32)
                state, logs = compiled.last(state, positions, arrays)
            self._own.update(state[4])
            return logs, state[:4]

        self.train_function = function
        return function

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------
    def _test_step(self, state: tuple, index: Any, arrays: tuple) -> tuple:
        """Validation logs of the samples ``index`` of ``arrays``, and the new state."""
        trainable, non_trainable, metrics = state
        mapping = [
            *zip(self.trainable_variables, trainable),
            *zip(self.non_trainable_variables, non_trainable),
            *zip(self.metrics_variables, metrics),
        ]
        with keras.StatelessScope(state_mapping=mapping) as scope:
            index = self._placement.shard_batch(index)
            x, y, sample_weight = self._placement.shard_batch(gather(arrays, index))
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
        state = self._placement.constrain(
            (trainable, non_trainable, metrics),
            self._state_shardings("trainable", "non_trainable", "metrics"),
        )
        return logs, state

    def make_test_function(self, force=False):
        """Build the function ``evaluate`` calls on a batch of validation sample indices.

        Under a distribution, indices of -1 (the padding that lets Keras's
        loop divide the last batch among the devices) are left out.
        """
        if self.test_function is not None and not force:
            return self.test_function
        compiled, placement = programs(self), self._placement
        shardings = self._state_shardings("trainable", "non_trainable", "metrics")

        def function(state, iterator):
            index = _first(next(iterator))
            if placement.mesh is None:
                index = jnp.asarray(index, jnp.int32)
            else:
                index = np.asarray(index, np.int32)
                index, state = index[index >= 0], placement.put_state(state, shardings)
            return compiled.test(state, index, self._validation_arrays)

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


def gather(arrays: tuple, index: Any) -> tuple:
    """The samples ``index`` of ``(x, y, sample_weight)`` (``x`` read by :func:`take_rows`)."""
    x, *rest = arrays
    return (take_rows(x, index), *(ops.take(a, index, axis=0) for a in rest))
