"""Update rules of Co-teaching, as small pure TensorFlow functions.

The compiled training step of :class:`~skcoteach.CoTeachingClassifier` computes,
from one forward pass of every peer, the per-sample losses ``losses`` of shape
``(n_peers, batch)`` and hands them to an *update rule*.  A rule returns the loss
each peer is trained on and the mask of the samples that loss was computed on.
A new rule is a new function here plus a name in :data:`RULES`; the training
loop does not change.

Co-teaching (Han et al., 2018) with two peers: peer A is updated on the
``max(1, round(R(T) * batch))`` samples that peer B ranks smallest by its loss,
and vice versa.  With ``P > 2`` peers, peer ``p`` is updated on the samples that
the *mean* loss of the other ``P - 1`` peers ranks smallest; with two peers this
is exactly the rule of the paper.

All functions are pure: they read their arguments only, change no state and can
be called eagerly (as the unit tests do) or inside a ``tf.function``.
"""

import tensorflow as tf

__all__ = [
    "RULES",
    "coteaching",
    "cross_entropy",
    "n_keep",
    "peer_view",
    "smallest_mask",
    "weighted_mean",
]


def cross_entropy(log_probs, y):
    """Per-sample cross-entropy of every peer.

    Parameters
    ----------
    log_probs : Tensor of shape (n_peers, batch, n_classes)
        Log-probabilities of each peer.
    y : int Tensor of shape (batch,)
        Encoded labels ``0 .. n_classes - 1``.

    Returns
    -------
    Tensor of shape (n_peers, batch)
        ``-log p_peer(y | x)`` for every peer and sample.
    """
    onehot = tf.one_hot(tf.cast(y, tf.int32), tf.shape(log_probs)[-1], dtype=log_probs.dtype)
    return -tf.reduce_sum(log_probs * onehot, axis=-1)


def n_keep(batch_size, keep_fraction):
    """Number of samples kept in a batch: ``max(1, round(R * batch))``.

    Computed in float64 so that it matches :func:`skcoteach.schedules.n_kept`
    (Python's half-to-even rounding) bit for bit.

    Parameters
    ----------
    batch_size : int Tensor
        Size of the current (possibly partial) batch.
    keep_fraction : float Tensor
        ``R(T)``.

    Returns
    -------
    int32 Tensor
        Between 1 and ``batch_size``.
    """
    size = tf.cast(batch_size, tf.float64)
    k = tf.cast(tf.round(tf.cast(keep_fraction, tf.float64) * size), tf.int32)
    return tf.clip_by_value(k, 1, tf.maximum(tf.cast(batch_size, tf.int32), 1))


def peer_view(losses):
    """Loss by which each peer's training samples are ranked.

    Row ``p`` of the result is the mean loss of all peers except ``p``.  It is
    computed as a product with the matrix ``(1 - I) / (P - 1)``, which for two
    peers is an exact swap of the rows (no rounding), so that two peers follow
    the paper's cross update exactly.

    Parameters
    ----------
    losses : Tensor of shape (n_peers, batch)
        Per-sample losses.

    Returns
    -------
    Tensor of shape (n_peers, batch)
    """
    n_peers = losses.shape[0]
    others = (1.0 - tf.eye(n_peers, dtype=losses.dtype)) / (n_peers - 1)
    return tf.matmul(others, losses)


def smallest_mask(scores, k):
    """0/1 mask of the ``k`` smallest scores of every row.

    Parameters
    ----------
    scores : Tensor of shape (n_rows, batch)
    k : int Tensor
        Number of entries to keep per row, ``1 <= k <= batch``.

    Returns
    -------
    Tensor of shape (n_rows, batch), same dtype as ``scores``
        1 where the entry is among the ``k`` smallest of its row.
    """
    _, idx = tf.math.top_k(-scores, k=k, sorted=False)
    batch = tf.shape(scores)[1]
    return tf.reduce_max(tf.one_hot(idx, batch, dtype=scores.dtype), axis=1)


def weighted_mean(losses, weights):
    """Mean of ``losses`` weighted by ``weights`` along the last axis.

    Rows whose weights sum to zero give a loss of 0 (and no gradient).

    Parameters
    ----------
    losses, weights : Tensor of shape (n_peers, batch)

    Returns
    -------
    Tensor of shape (n_peers,)
    """
    total = tf.reduce_sum(losses * weights, axis=-1)
    return tf.math.divide_no_nan(total, tf.reduce_sum(weights, axis=-1))


def coteaching(losses, keep_fraction, sample_weight):
    """Co-teaching's cross update.

    Parameters
    ----------
    losses : Tensor of shape (n_peers, batch)
        Per-sample (unweighted) loss of every peer; gradients flow through it.
    keep_fraction : float Tensor
        ``R(T)``, share of the batch each peer is updated on.
    sample_weight : Tensor of shape (batch,)
        Non-negative weights.  The samples are *ranked* by their unweighted
        loss (a weight says how much a sample matters, not whether its label
        is right) and each peer's loss is the weighted mean over the samples
        selected for it.

    Returns
    -------
    peer_losses : Tensor of shape (n_peers,)
        Loss to minimise for each peer.
    keep_mask : Tensor of shape (n_peers, batch)
        ``keep_mask[p, i] = 1`` if sample ``i`` was used to update peer ``p``.
    """
    scores = tf.stop_gradient(peer_view(losses))
    mask = smallest_mask(scores, n_keep(tf.shape(losses)[1], keep_fraction))
    weights = mask * tf.cast(sample_weight, losses.dtype)[tf.newaxis, :]
    return weighted_mean(losses, weights), mask


#: Update rules by name, as accepted by ``CoTeachingClassifier(strategy=...)``.
RULES = {"coteaching": coteaching}
