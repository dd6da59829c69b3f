"""What changes when a ``tf.distribute`` strategy splits every mini-batch over replicas.

Under ``MirroredStrategy`` Keras runs the training step once per replica, on
the replica's share of the global mini-batch, and its optimizer sums the
replicas' gradients.  The ensemble's step stays the same with four
adjustments, all of them no-ops with one replica:

- the losses are averaged with :func:`replica_weighted_mean` (each
  replica's weighted sum over the weights selected on all replicas), so that
  the summed gradients are those of the mean over the whole mini-batch;
- each replica selects the small-loss samples of its own share (the rule
  runs per replica, as Keras runs ``BatchNormalization`` per replica);
- the per-sample statistics are gathered from all replicas and written to
  every replica's copy (:func:`write_rows`);
- the logs are scaled so that Keras's mean of the replicas' logs is the
  mini-batch's (:func:`batch_logs`, :func:`mean_result`).

Functions here are called inside the compiled step (a replica context).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tensorflow as tf

from ... import rules

if TYPE_CHECKING:
    import keras

__all__ = [
    "batch_logs",
    "under_distribution",
    "loss_mean",
    "mean_result",
    "n_replicas",
    "replica_weighted_mean",
    "write_rows",
]


def under_distribution() -> bool:
    """Whether a ``tf.distribute`` strategy is in force (a ``with strategy.scope()``)."""
    return tf.distribute.has_strategy()


def n_replicas() -> int:
    """Number of replicas the current step runs on (1 without a strategy)."""
    context = tf.distribute.get_replica_context()
    return 1 if context is None else context.num_replicas_in_sync


def replica_weighted_mean(losses: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """``rules.weighted_mean`` of a mini-batch split over the replicas of a strategy.

    Each replica divides its own weighted sum by the weights summed over all
    replicas, so the replicas' values, and their gradients, add up to the
    weighted mean over the whole mini-batch.  Keras's optimizer sums the
    replicas' gradients under ``tf.distribute``, so one step on a global
    batch is the step on one device.  Called in a replica context; with one
    replica it is :func:`~skcoteach.rules.weighted_mean`.

    Parameters
    ----------
    losses : Tensor of shape (n_peers, batch)
        This replica's per-sample losses.
    weights : Tensor of shape (n_peers, batch) or (1, batch)
        This replica's weights: zero for the samples not selected.

    Returns
    -------
    Tensor of shape (n_peers,)
        This replica's share of the weighted mean over the whole mini-batch.
    """
    context = tf.distribute.get_replica_context()
    weights = tf.stop_gradient(weights)
    total = tf.reduce_sum(losses * weights, axis=-1)
    weight = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.reduce_sum(weights, axis=-1))
    return tf.math.divide_no_nan(total, weight)


def loss_mean() -> Callable[..., Any]:
    """The ``mean`` the update rules average per-sample losses with."""
    return rules.weighted_mean if n_replicas() == 1 else replica_weighted_mean


def write_rows(variable: tf.Variable, index: tf.Tensor, rows: tf.Tensor) -> None:
    """``variable[index] = rows``, on every replica's copy with the rows of all replicas.

    Parameters
    ----------
    variable : tf.Variable of shape (n_samples, width)
    index : int Tensor of shape (batch, 1)
    rows : Tensor of shape (batch, width)
    """
    if not tf.distribute.has_strategy():  # a plain variable
        variable.scatter_nd_update(index, rows)
        return
    # A variable made under a strategy has a copy per replica (one replica too).
    context = tf.distribute.get_replica_context()

    def write(strategy, index, rows):  # cross-replica context: one update per copy
        strategy.extended.update(variable, lambda v, i, r: v.scatter_nd_update(i, r), (index, rows))

    context.merge_call(write, args=(context.all_gather(index, 0), context.all_gather(rows, 0)))


def batch_logs(peer_losses: tf.Tensor, keep_mask: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Each peer's loss and the kept fraction, scaled so that the replicas' mean is the batch's.

    Parameters
    ----------
    peer_losses : Tensor of shape (n_peers,)
        The rule's losses (with :func:`loss_mean`: this replica's share).
    keep_mask : Tensor of shape (n_peers, batch)

    Returns
    -------
    peer_losses : Tensor of shape (n_peers,)
    kept : scalar Tensor
    """
    replicas = n_replicas()
    if replicas == 1:
        return peer_losses, tf.reduce_mean(keep_mask)
    context = tf.distribute.get_replica_context()
    size = tf.cast(tf.size(keep_mask), keep_mask.dtype)
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, size)
    return peer_losses * replicas, replicas * tf.reduce_sum(keep_mask) / total


def mean_result(tracker: keras.metrics.Mean) -> tf.Tensor:
    """A ``keras.metrics.Mean``'s result over the samples of every replica.

    In a replica context a metric reads its own replica's share; Keras logs
    the mean of the replicas' results, which is the mean over all samples
    only if every replica saw as many.
    """
    if n_replicas() == 1:
        return tracker.result()
    context = tf.distribute.get_replica_context()
    total, count = context.all_reduce(
        tf.distribute.ReduceOp.SUM, [tf.identity(tracker.total), tf.identity(tracker.count)]
    )
    return tf.math.divide_no_nan(total, count)
