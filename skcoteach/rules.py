"""Update rules of Co-teaching, as small pure TensorFlow functions.

The compiled training step of :class:`~skcoteach.CoTeachingClassifier` computes,
from one forward pass of every peer, the log-probabilities ``log_probs`` of shape
``(n_peers, batch, n_classes)`` and the per-sample cross-entropies ``losses`` of
shape ``(n_peers, batch)``, and hands them to an *update rule*.  A rule returns
an :class:`Update`: the total loss to minimise (its gradient trains every
peer), each peer's loss for the logs, and the mask of the samples each peer was
trained on.  A new rule is a new function here plus its entry in
:data:`skcoteach._rule_registry.REGISTRY` (its options and training order);
the training loop does not change.  Every rule has the signature
``rule(losses, log_probs, keep_fraction, sample_weight, epoch, **options)``,
plus ``mean``: how per-sample losses are averaged (:func:`weighted_mean`, or
its replica version when a ``tf.distribute`` strategy splits the mini-batch
over replicas; user guide, "One big fit on several devices"), ``labels``
(the batch's given labels) and ``selection``: ``"global"`` ranks the samples
over the whole batch, as the papers do; ``"per_class"`` keeps the same share
of every given label's samples (:mod:`skcoteach._selection`).

``"coteaching"`` (Han et al., 2018): with two peers, peer A is updated on the
``max(1, floor(R(T) * batch))`` samples that peer B ranks smallest by its loss,
and vice versa.  With ``P > 2`` peers, peer ``p`` is updated on the samples that
the *mean* loss of the other ``P - 1`` peers ranks smallest; with two peers this
is exactly the rule of the paper.

``"coteaching_plus"`` (Yu et al., ICML 2019): after ``init_epochs`` epochs of
Co-teaching, only the samples on which the peers' predicted classes disagree
are candidates; the cross update picks ``max(1, floor(R(T) * n_disagree))`` of
them.  A batch on which all peers agree on every sample gives a zero loss (no
gradient), as in the authors' code after its first steps; with Adam the step
still applies its momentum.  With ``P > 2`` peers, a sample is a candidate
when not all peers predict the same class.

``"jocor"`` (Wei et al., CVPR 2020): every sample gets the joint loss
``(1 - lambda) * (CE_1 + CE_2) + lambda * (KL(p1 || p2) + KL(p2 || p1))``; the
``max(1, floor(R(T) * batch))`` samples with the smallest joint loss are
selected and both peers are trained together on its mean.  With ``P > 2``
peers the cross-entropy term is ``2 / P`` times the sum over peers and the
divergence term ``2 / (P (P - 1))`` times the sum over ordered pairs, which
equals the two-peer formula for ``P = 2``.

All functions are pure: they read their arguments only, change no state and can
be called eagerly (as the unit tests do) or inside a ``tf.function``.
"""

from typing import NamedTuple

import tensorflow as tf

from ._rule_registry import REGISTRY, check_options
from ._selection import select
from .schedules import KEEP_TOLERANCE

__all__ = [
    "RULES",
    "Update",
    "check_options",
    "coteaching",
    "coteaching_plus",
    "jocor",
    "cross_entropy",
    "disagreement",
    "n_keep",
    "peer_view",
    "smallest_mask",
    "symmetric_kl",
    "weighted_mean",
]


class Update(NamedTuple):
    """What an update rule returns.

    Attributes
    ----------
    total_loss : scalar Tensor
        Minimised by one optimizer step over all peers' variables.
    peer_losses : Tensor of shape (n_peers,)
        Each peer's loss on the samples it was trained on (for the logs).
    keep_mask : Tensor of shape (n_peers, batch)
        ``keep_mask[p, i] = 1`` if sample ``i`` was used to update peer ``p``.
    """

    total_loss: tf.Tensor
    peer_losses: tf.Tensor
    keep_mask: tf.Tensor


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
    """Number of samples kept in a batch: ``max(1, floor(R * batch))``.

    Rounded down as the official Co-teaching code, with the tolerance
    :data:`skcoteach.schedules.KEEP_TOLERANCE`; computed in float64 so that it
    matches :func:`skcoteach.schedules.n_kept` bit for bit.

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
    if not tf.is_tensor(keep_fraction):  # a Python float: no detour through float32
        keep_fraction = tf.constant(keep_fraction, tf.float64)
    product = tf.cast(keep_fraction, tf.float64) * size + KEEP_TOLERANCE
    k = tf.cast(tf.floor(product), tf.int32)
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
        Number of entries to keep per row, ``0 <= k <= batch``.

    Returns
    -------
    Tensor of shape (n_rows, batch), same dtype as ``scores``
        1 where the entry is among the ``k`` smallest of its row.
    """
    _, idx = tf.math.top_k(-scores, k=k, sorted=False)  # (n_rows, k), distinct per row
    # A scatter of ones, linear in the batch size (summing one-hot rows of the
    # indices would build an (n_rows, k, batch) tensor: 3 ms per step at batch 2048).
    rows = tf.broadcast_to(tf.range(tf.shape(idx)[0])[:, tf.newaxis], tf.shape(idx))
    ones = tf.ones(tf.shape(idx), scores.dtype)
    return tf.scatter_nd(tf.stack([rows, idx], axis=-1), ones, tf.shape(scores))


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


def coteaching(
    losses,
    log_probs,
    keep_fraction,
    sample_weight,
    epoch=None,
    mean=weighted_mean,
    labels=None,
    selection="global",
):
    """Co-teaching's cross update.

    Parameters
    ----------
    losses : Tensor of shape (n_peers, batch)
        Per-sample (unweighted) loss of every peer; gradients flow through it.
    log_probs : Tensor of shape (n_peers, batch, n_classes)
        Log-probabilities of every peer (unused by this rule).
    keep_fraction : float Tensor
        ``R(T)``, share of the batch each peer is updated on.
    sample_weight : Tensor of shape (batch,)
        Non-negative weights.  The samples are *ranked* by their unweighted
        loss (a weight says how much a sample matters, not whether its label
        is right) and each peer's loss is the weighted mean over the samples
        selected for it.
    epoch : int Tensor, optional
        Current epoch (unused by this rule).
    mean : callable, default=weighted_mean
        ``mean(losses, weights)`` along the last axis: :func:`weighted_mean`,
        or its replica version under a ``tf.distribute`` strategy.
    labels : int Tensor of shape (batch,), default=None
        Given labels ``0 .. n_classes - 1``; needed by ``"per_class"``.
    selection : {"global", "per_class"}, default="global"
        ``"global"``: the ``n_keep`` smallest of the batch.  ``"per_class"``:
        within every given label, its share ``R(T)`` of smallest, rounded so
        that the batch keeps ``n_keep`` samples
        (:func:`skcoteach._selection.class_quotas`).

    Returns
    -------
    Update
        ``total_loss`` is the sum of the peers' losses: each peer's variables
        get the gradient of its own loss only.
    """
    k = n_keep(tf.shape(losses)[1], keep_fraction)
    scores = tf.stop_gradient(peer_view(losses))
    mask = select(scores, k, keep_fraction, labels, _n_classes(log_probs), selection)
    return _cross_update(losses, mask, sample_weight, mean)


def _n_classes(log_probs):
    """Number of classes of ``log_probs`` (its last dimension), or None without it."""
    return None if log_probs is None else int(log_probs.shape[-1])


def _cross_update(losses, mask, sample_weight, mean, candidates=None):
    if candidates is not None:
        mask = mask * candidates[tf.newaxis, :]
    weights = mask * tf.cast(sample_weight, losses.dtype)[tf.newaxis, :]
    peer_losses = mean(losses, weights)
    return Update(tf.reduce_sum(peer_losses), peer_losses, mask)


def disagreement(log_probs):
    """1 for the samples on which not all peers predict the same class.

    Parameters
    ----------
    log_probs : Tensor of shape (n_peers, batch, n_classes)

    Returns
    -------
    Tensor of shape (batch,), dtype of ``log_probs``
    """
    predicted = tf.argmax(log_probs, axis=-1)
    agree = tf.reduce_all(tf.equal(predicted, predicted[:1]), axis=0)
    return 1.0 - tf.cast(agree, log_probs.dtype)


def coteaching_plus(
    losses,
    log_probs,
    keep_fraction,
    sample_weight,
    epoch,
    init_epochs=0,
    mean=weighted_mean,
    labels=None,
    selection="global",
):
    """Co-teaching+: the cross update restricted to disagreeing samples.

    Parameters
    ----------
    losses, log_probs, keep_fraction, sample_weight, mean, labels, selection
        See :func:`coteaching`; ``"per_class"`` shares out the kept
        disagreeing samples by the candidates of every label.
    epoch : int Tensor
        Current (0-based) epoch.
    init_epochs : int, default=0
        Epochs of plain Co-teaching before disagreement is used (the authors
        use 0 for MNIST, 20 for CIFAR-10 and 5 for CIFAR-100).

    Returns
    -------
    Update
        As :func:`coteaching`; a batch without disagreement gives zero losses
        and an all-zero mask.
    """
    batch = tf.shape(losses)[1]
    active = tf.cast(epoch, tf.int64) >= init_epochs
    candidates = tf.where(active, disagreement(log_probs), tf.ones([batch], losses.dtype))
    n_candidates = tf.cast(tf.reduce_sum(candidates), tf.int32)
    k = tf.minimum(n_keep(tf.maximum(n_candidates, 1), keep_fraction), n_candidates)
    # Non-candidates are ranked after every candidate.
    scores = tf.stop_gradient(peer_view(losses)) + (1.0 - candidates)[tf.newaxis, :] * 1e30
    n_classes = _n_classes(log_probs)
    mask = select(scores, k, keep_fraction, labels, n_classes, selection, candidates)
    return _cross_update(losses, mask, sample_weight, mean, candidates)


def symmetric_kl(log_probs):
    """Sum over ordered pairs of peers of ``KL(p_a || p_b)``, per sample.

    Parameters
    ----------
    log_probs : Tensor of shape (n_peers, batch, n_classes)

    Returns
    -------
    Tensor of shape (batch,)
        For two peers, ``KL(p1 || p2) + KL(p2 || p1)``.
    """
    n_peers = log_probs.shape[0]
    probs = tf.exp(log_probs)
    own = tf.reduce_sum(probs * log_probs, axis=[0, 2])  # sum_a sum_k p_a log p_a
    cross = tf.reduce_sum(
        tf.reduce_sum(probs, axis=0) * tf.reduce_sum(log_probs, axis=0), axis=-1
    )  # sum_k (sum_a p_a) (sum_b log p_b)
    return n_peers * own - cross


def jocor(
    losses,
    log_probs,
    keep_fraction,
    sample_weight,
    epoch=None,
    co_lambda=0.1,
    mean=weighted_mean,
    labels=None,
    selection="global",
):
    """JoCoR: joint loss with co-regularisation, small-loss selection, joint update.

    Parameters
    ----------
    losses, log_probs, keep_fraction, sample_weight, epoch, mean, labels, selection
        See :func:`coteaching`.
    co_lambda : float, default=0.1
        Weight ``lambda`` of the agreement (symmetric KL) term, in [0, 1].
        0 is two independently trained peers with a shared small-loss
        selection; values near 1 mostly train the peers to agree.  The
        authors' code defaults to 0.1; their MNIST example uses 0.95.

    Returns
    -------
    Update
        ``total_loss`` is the weighted mean joint loss of the selected
        samples; every peer is trained on the same samples.
    """
    n_peers = losses.shape[0]
    joint = (1.0 - co_lambda) * (2.0 / n_peers) * tf.reduce_sum(losses, axis=0)
    joint = joint + co_lambda * (2.0 / (n_peers * (n_peers - 1))) * symmetric_kl(log_probs)
    k = n_keep(tf.shape(losses)[1], keep_fraction)
    scores = tf.stop_gradient(joint)[tf.newaxis, :]
    mask = select(scores, k, keep_fraction, labels, log_probs.shape[-1], selection)  # (1, batch)
    weights = mask * tf.cast(sample_weight, losses.dtype)[tf.newaxis, :]
    total = mean(joint[tf.newaxis, :], weights)[0]
    peer_losses = mean(losses, weights)
    return Update(total, peer_losses, tf.tile(mask, [n_peers, 1]))


#: Update rules by name, as accepted by ``CoTeachingClassifier(strategy=...)``:
#: the names of :data:`skcoteach._rule_registry.REGISTRY`, with their functions.
RULES = {name: globals()[spec.function] for name, spec in REGISTRY.items()}

#: The arguments every rule receives from the training step (not options).
_STEP_ARGUMENTS = (
    "losses",
    "log_probs",
    "keep_fraction",
    "sample_weight",
    "epoch",
    "mean",
    "labels",
    "selection",
)
