"""The Keras model that holds all peers and trains them in one compiled step.

Imported lazily by :mod:`skcoteach._classifier` (it imports TensorFlow).
"""

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ... import rules
from ..._compat import keras_logits
from .._config import MeanVector, output_activation  # noqa: F401  (re-exported)
from . import _replicas
from ._keras_saving import KerasSaving
from ._lean import LeanTraining
from ._sparse import as_tensor, gather_rows, n_rows


def log_probabilities(outputs, kind):
    """Log-probabilities of shape (batch, n_classes) from a peer's raw output.

    Parameters
    ----------
    outputs : Tensor of shape (batch, n_classes) or (batch, 1)
        Raw output of a peer.  One unit means a binary problem whose unit
        gives the positive class.
    kind : {"probabilities", "logits"}
        What the output holds.

    Notes
    -----
    Keras's TensorFlow backend keeps the logits of a ``softmax`` / ``sigmoid``
    activation on its output tensor (see :func:`skcoteach._compat.keras_logits`),
    as Keras's own cross-entropy does; they are used when present, so that
    saturated probabilities never produce ``log(0)``.  Otherwise probabilities
    are clipped to ``[eps, 1]`` before the logarithm, with
    ``eps = keras.config.epsilon()``.
    """
    binary = outputs.shape[-1] == 1
    logits = keras_logits(outputs) if kind == "probabilities" else None
    if logits is not None:
        outputs, kind = logits, "logits"
    if kind == "logits":
        if binary:
            return tf.math.log_sigmoid(tf.concat([-outputs, outputs], axis=-1))
        return tf.nn.log_softmax(outputs, axis=-1)
    if binary:
        outputs = tf.concat([1.0 - outputs, outputs], axis=-1)
    eps = keras.config.epsilon()
    return tf.math.log(tf.clip_by_value(outputs, eps, 1.0))


def _as_tensors(x, y, sample_weight):
    """``(x, y, sample_weight)`` as tensors of one length, or ``()`` if ``x`` is None.

    A scipy.sparse ``x`` becomes :class:`~skcoteach.backends.tensorflow._sparse.SparseRows`.
    """
    if x is None:
        return ()
    arrays = tuple(as_tensor(a) for a in (x, y, sample_weight))
    lengths = [n_rows(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"x, y and sample_weight must have the same length, got {lengths}.")
    return arrays


@keras.saving.register_keras_serializable(package="skcoteach")
class PeerEnsemble(LeanTraining, KerasSaving, keras.Model):
    """All peers of one :class:`~skcoteach.CoTeachingClassifier` in one model.

    Calling the ensemble returns the peers' mean class probabilities.
    ``fit`` runs one compiled :meth:`train_step` per mini-batch that computes
    every peer's per-sample cross-entropy from one forward pass each, lets the
    update rule select the small-loss samples with tensor operations and
    applies one optimizer step to all peers' variables.

    A training batch is either a tuple ``(x, y, sample_weight, index)`` or,
    after :meth:`set_training_arrays`, only the positions of its samples in
    the epoch's order (:meth:`set_epoch_order`): the step then gathers
    ``x``, ``y`` and ``sample_weight`` from the training arrays itself.  Likewise a validation batch is ``(x, y, sample_weight)``
    or, after :meth:`set_validation_arrays`, the index of its samples.

    Parameters
    ----------
    peers : list of keras.Model
        At least two peers with the same output shape.
    output_kind : {"probabilities", "logits"}
        What the peers' outputs hold.
    n_samples : int
        Size of the training set; per-sample statistics of the latest visit of
        every training sample are kept in variables of this length.
    rule : str, default="coteaching"
        Name of an update rule in :data:`skcoteach.rules.RULES`.
    rule_options : dict, default=None
        Keyword arguments of the rule (e.g. ``co_lambda`` of ``"jocor"``, or
        ``selection``).
    record_proba : int, default=0
        If > 0, the number of classes: also record, per training sample, the
        peers' mean class probabilities at its latest visit (computed before
        that batch's update), for estimating the noise rate.

    Notes
    -----
    Keras's own saving works on the ensemble; see
    :class:`~skcoteach.backends.tensorflow._keras_saving.KerasSaving`.
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
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        # Float64 so that the number of kept samples matches the schedule module.
        self.forget_rate = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        self.resize_sample_statistics(n_samples)

    @property
    def batches_per_call(self) -> int:
        """Mini-batches per call of the training function: Keras's ``steps_per_execution``."""
        return self.steps_per_execution

    @batches_per_call.setter
    def batches_per_call(self, value: int) -> None:
        self.steps_per_execution = value

    def peer_log_probabilities(self, x, training=False):
        """Stacked log-probabilities of every peer, shape (n_peers, batch, n_classes)."""
        return tf.stack(
            [log_probabilities(peer(x, training=training), self.output_kind) for peer in self.peers]
        )

    def call(self, x, training=False):
        """Mean class probabilities of the peers."""
        return tf.reduce_mean(tf.exp(self.peer_log_probabilities(x, training)), axis=0)

    def train_step(self, data):
        """One training step on a batch; returns the logs.

        ``data`` is ``(x, y, sample_weight, index)``, or the ``index`` alone
        (see :meth:`set_training_arrays`).
        """
        self._train_batch(self._full_batch(data, self._training_arrays))
        return self._train_logs()

    def set_training_arrays(self, x: Any = None, y: Any = None, sample_weight: Any = None) -> None:
        """Hold the training set in memory, so that batches can be sample indices.

        A ``tf.data`` pipeline that gathers the batches itself holds the
        training set as a constant of its graph, which ``tf.data`` copies when
        the first iterator over it is made.  With the arrays set here, the
        dataset passed to ``fit`` yields only the indices of each batch, and
        the compiled training step gathers the batch from these tensors, so
        that copy is never made.  The indices are positions in the epoch's
        order (:meth:`set_epoch_order`; the data's order until it is set).

        Parameters
        ----------
        x : array-like of shape (n_samples, ...), default=None
            Training samples.  None releases the arrays held.
        y : array-like of shape (n_samples,), default=None
            Encoded labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        """
        arrays = _as_tensors(x, y, sample_weight)
        if arrays:  # the positions of a batch index the epoch's order
            n = n_rows(arrays[0])
            order = tf.range(n, dtype=tf.int64)
            if getattr(self, "order", None) is None or int(self.order.shape[0]) != n:
                self.order = tf.Variable(order, trainable=False)
            else:
                self.order.assign(order)
            arrays = (*arrays, self.order)
        self._training_arrays = arrays
        if self.train_function is not None and not hasattr(self.train_function, "run_steps"):
            # Keras's own function captured the previous arrays when traced.
            self.train_function = None

    def set_class_shares(self, shares: Any) -> None:
        """Set the classes' shares of the training labels: ``selection="class_floor"`` floors the rare ones.

        Held as the 0/1 vector of the rare classes
        (:func:`skcoteach._selection.rare_classes`), a variable the step reads.

        Parameters
        ----------
        shares : array-like of shape (n_classes,)
            :func:`skcoteach._selection.label_shares` of the fit's labels.
        """
        rare = self._note_rare_classes(shares)
        current = self._rare_classes
        if current is None or tuple(current.shape) != rare.shape:
            self._rare_classes = tf.Variable(rare, trainable=False)
            self.train_function = None  # traced without the new variable
        else:
            current.assign(rare)

    def set_validation_arrays(
        self, x: Any = None, y: Any = None, sample_weight: Any = None
    ) -> None:
        """Hold the validation set in memory, so that validation batches can be sample indices.

        As :meth:`set_training_arrays`, for the batches :meth:`test_step`
        receives.  Keras's test function captures the arrays when it is traced,
        so it is traced again after every call.

        Parameters
        ----------
        x : array-like of shape (n_samples, ...), default=None
            Validation samples.  None releases the arrays held.
        y : array-like of shape (n_samples,), default=None
            Encoded labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        """
        self._validation_arrays = _as_tensors(x, y, sample_weight)
        self.test_function = None

    @staticmethod
    def _full_batch(data: Any, arrays: tuple, kind: str = "training") -> tuple:
        """``data`` as ``(x, y, sample_weight, index)``, gathering an index batch from ``arrays``.

        Sparse training rows are gathered into a dense block (see
        :mod:`skcoteach.backends.tensorflow._sparse`).
        """
        if isinstance(data, (tuple, list)):
            return data
        if not arrays:
            raise ValueError(
                f"The {kind} batch holds only sample indices, but no {kind} arrays are "
                f"set: call set_{kind}_arrays(x, y, sample_weight) first."
            )
        if len(arrays) == 4:  # training: positions in the epoch's order
            data = tf.gather(arrays[3], data)
        return (*(gather_rows(a, data) for a in arrays[:3]), data)

    def set_epoch_order(self, order: tf.Tensor) -> None:
        """Set the order of the training samples that the coming epoch visits.

        A training batch of indices holds positions in this order (see
        :meth:`set_training_arrays`); :class:`skcoteach._callbacks.OrderScheduler`
        calls this at the start of every epoch.

        Parameters
        ----------
        order : int Tensor of shape (n_samples,)
            A permutation of the training samples.
        """
        self.order.assign(tf.cast(order, tf.int64))

    def _train_batch(self, data):
        """Update the peers on one batch ``(x, y, sample_weight, index)`` and record its statistics.

        Under a ``tf.distribute`` strategy this runs once per replica on its
        share of the mini-batch; see :mod:`skcoteach.backends.tensorflow._replicas`.
        """
        with tf.GradientTape() as tape:
            total, step = self._batch_loss(data)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(total, variables), variables)
        self._record_batch(step)

    def _batch_loss(self, data: Any) -> tuple[tf.Tensor, tuple]:
        """The loss to minimise on one batch, and what :meth:`_record_batch` needs.

        Called inside a gradient tape; also by
        :class:`skcoteach.backends.tensorflow._joint.JointEnsembles`, which sums the losses of
        several ensembles and updates them all with one optimizer step.
        """
        x, y, sample_weight, index = data
        keep_fraction = 1.0 - self.forget_rate
        log_probs = self.peer_log_probabilities(x, training=True)
        losses = rules.cross_entropy(log_probs, y)
        total, peer_losses, keep_mask = self._rule(
            losses,
            log_probs,
            keep_fraction,
            sample_weight,
            self.epoch,
            mean=_replicas.loss_mean(),
            labels=y,  # for selection="per_class" / "class_floor" (a rule option)
            rare_classes=self._rare_classes,  # for "class_floor"
            **self._step_rule_options(),
        )
        if self.losses:  # regularisation terms of the peers, once per step
            total = total + tf.add_n(self.losses) / _replicas.n_replicas()
        return total, (index, losses, log_probs, peer_losses, keep_mask)

    def _record_batch(self, step: tuple) -> None:
        """Write the per-sample statistics and the logs of a batch trained on (outside the tape)."""
        index, losses, log_probs, peer_losses, keep_mask = step
        columns = [
            tf.reduce_mean(keep_mask, axis=0)[:, None],
            tf.reduce_mean(losses, axis=0)[:, None],
        ]
        if self.record_proba:  # decided when tracing: no cost otherwise
            columns.append(tf.reduce_mean(tf.exp(log_probs), axis=0))
        # One scatter for all columns.
        _replicas.write_rows(self.sample_stats, tf.reshape(index, (-1, 1)), tf.concat(columns, 1))

        peer_losses, kept = _replicas.batch_logs(peer_losses, keep_mask)
        self.train_tracker.update_state(
            tf.concat([tf.reduce_mean(peer_losses)[None], peer_losses, kept[None]], axis=0)
        )

    def _train_logs(self) -> dict[str, tf.Tensor]:
        """The training logs: running means since the epoch start, and the forget rate."""
        logs = dict(zip(self.train_names, tf.unstack(self.train_tracker.result())))
        logs["forget_rate"] = tf.cast(self.forget_rate, tf.float32)
        return logs

    def _train_on(self, batch: Any, arrays: tuple) -> None:
        """One step of the one-graph training function (see :class:`LeanTraining`)."""
        self._train_batch(self._full_batch(batch, arrays))

    def test_step(self, data):
        """Validation loss and accuracy of the peers' mean probabilities on a batch.

        ``data`` is ``(x, y, sample_weight)``, or the index of the samples
        (see :meth:`set_validation_arrays`).
        """
        x, y, sample_weight = self._full_batch(data, self._validation_arrays, "validation")[:3]
        probs = self(x, training=False)
        y = tf.cast(y, tf.int32)
        picked = tf.gather(probs, y, axis=1, batch_dims=1)
        loss = -tf.math.log(tf.clip_by_value(picked, keras.config.epsilon(), 1.0))
        correct = tf.cast(tf.equal(tf.argmax(probs, axis=1, output_type=tf.int32), y), loss.dtype)
        sample_weight = tf.cast(sample_weight, loss.dtype)
        self.val_loss_tracker.update_state(loss, sample_weight=sample_weight)
        self.val_accuracy_tracker.update_state(correct, sample_weight=sample_weight)
        return {
            "loss": _replicas.mean_result(self.val_loss_tracker),
            "accuracy": _replicas.mean_result(self.val_accuracy_tracker),
        }

    def predict_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        return self(x, training=False)

    def resize_sample_statistics(self, n_samples: int) -> None:
        """(Re)create the per-sample variables for a training set of ``n_samples``.

        The compiled training function captured the old variables, so it is
        dropped and traced again on the next ``fit``.
        """
        # Columns: kept share, mean loss, then the mean class probabilities.
        width = 2 + self.record_proba
        self.sample_stats = tf.Variable(
            np.zeros((n_samples, width), np.float32),
            trainable=False,
        )
        self.train_function = None

    def sample_statistics(self) -> dict[str, np.ndarray]:
        """Per-training-sample statistics of the latest epoch.

        Returns
        -------
        dict
            ``"kept"``: share of the peers whose update used the sample (0 means
            every peer rejected it); ``"loss"``: the peers' mean cross-entropy
            of the sample at its latest visit; with ``record_proba``,
            ``"proba"``: the peers' mean class probabilities at that visit.
        """
        stats = self.sample_stats.numpy()
        out = {"kept": stats[:, 0].copy(), "loss": stats[:, 1].copy()}
        if self.record_proba:
            out["proba"] = stats[:, 2:].copy()
        return out

    @property
    def n_samples(self):
        """Length of the per-sample statistics (the training set size)."""
        return int(self.sample_stats.shape[0])
