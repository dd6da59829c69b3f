"""Update rules of Co-teaching, as small pure functions of ``keras.ops``.

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
of every given label's samples; ``"class_floor"`` ranks the whole batch after a
floor of every rare given label (``rare_classes``: 1 for the classes rare in
the training labels; :mod:`skcoteach._selection`).

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
be called eagerly (as the unit tests do) or inside a compiled training step;
they use ``keras.ops`` only, so they run on any Keras backend.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import keras
from keras import ops

from ._rule_registry import REGISTRY, check_options
from ._selection import select
from .backends import float64
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

    total_loss: Any
    peer_losses: Any
    keep_mask: Any


def cross_entropy(log_probs: Any, y: Any) -> Any:
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
    onehot = ops.one_hot(ops.cast(y, "int32"), log_probs.shape[-1], dtype=log_probs.dtype)
    return -ops.sum(log_probs * onehot, axis=-1)


def n_keep(batch_size: Any, keep_fraction: Any) -> Any:
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
    with float64():  # JAX: 64-bit types for these lines
        size = ops.cast(batch_size, "float64")
        if not ops.is_tensor(keep_fraction):  # a Python float: no detour through float32
            keep_fraction = ops.convert_to_tensor(keep_fraction, "float64")
        product = ops.cast(keep_fraction, "float64") * size + KEEP_TOLERANCE
        k = ops.cast(ops.floor(product), "int32")
    return ops.clip(k, 1, ops.maximum(ops.cast(batch_size, "int32"), 1))


def peer_view(losses: Any) -> Any:
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
    others = (1.0 - ops.eye(n_peers, dtype=losses.dtype)) / (n_peers - 1)
    return ops.matmul(others, losses)


def row_ranks(scores: Any) -> Any:
    """Rank of every entry within its row (0 = smallest).

    Two sorts: the positions of the entries in sorted order, then its inverse
    permutation.  Equal scores are ranked by position where the backend's sort
    is stable, as JAX's is (that is the order ``top_k`` picks them in).

    Parameters
    ----------
    scores : Tensor of shape (n_rows, batch)

    Returns
    -------
    int32 Tensor of shape (n_rows, batch)
    """
    return ops.cast(ops.argsort(ops.argsort(scores, axis=-1), axis=-1), "int32")


def smallest_mask(scores: Any, k: Any) -> Any:
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
    if keras.backend.backend() != "tensorflow":
        # top_k needs a static k under JAX's jit; the same entries by rank.
        return ops.cast(row_ranks(scores) < ops.cast(k, "int32"), scores.dtype)
    _, idx = ops.top_k(-scores, k, sorted=False)  # (n_rows, k), distinct per row
    # A scatter of ones, linear in the batch size (summing one-hot rows of the
    # indices would build an (n_rows, k, batch) tensor).
    rows = ops.broadcast_to(ops.arange(ops.shape(idx)[0], dtype=idx.dtype)[:, None], ops.shape(idx))
    ones = ops.ones(ops.shape(idx), scores.dtype)
    return ops.scatter(ops.stack([rows, idx], axis=-1), ones, ops.shape(scores))


def weighted_mean(losses: Any, weights: Any) -> Any:
    """Mean of ``losses`` weighted by ``weights`` along the last axis.

    Rows whose weights sum to zero give a loss of 0 (and no gradient).

    Parameters
    ----------
    losses, weights : Tensor of shape (n_peers, batch)

    Returns
    -------
    Tensor of shape (n_peers,)
    """
    total = ops.sum(losses * weights, axis=-1)
    return ops.divide_no_nan(total, ops.sum(weights, axis=-1))


def coteaching(
    losses: Any,
    log_probs: Any,
    keep_fraction: Any,
    sample_weight: Any,
    epoch: Any = None,
    mean: Callable[..., Any] = weighted_mean,
    labels: Any = None,
    selection: str = "global",
    rare_classes: Any = None,
) -> Update:
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
        Given labels ``0 .. n_classes - 1``; needed by ``"per_class"`` and
        ``"class_floor"``.
    selection : {"global", "per_class", "class_floor"}, default="global"
        ``"global"``: the ``n_keep`` smallest of the batch.  ``"per_class"``:
        within every given label, its share ``R(T)`` of smallest, rounded so
        that the batch keeps ``n_keep`` samples
        (:func:`skcoteach._selection.class_quotas`).  ``"class_floor"``: every
        rare given label's :func:`skcoteach._selection.class_floors` smallest,
        then the smallest of the batch up to ``n_keep``.
    rare_classes : float Tensor of shape (n_classes,), default=None
        1 for the classes rare in the training labels, else 0
        (:func:`skcoteach._selection.rare_classes`); needed by
        ``"class_floor"``, which gives a floor to these only.

    Returns
    -------
    Update
        ``total_loss`` is the sum of the peers' losses: each peer's variables
        get the gradient of its own loss only.
    """
    k = n_keep(ops.shape(losses)[1], keep_fraction)
    scores = ops.stop_gradient(peer_view(losses))
    n_classes = _n_classes(log_probs)
    mask = select(scores, k, keep_fraction, labels, n_classes, selection, None, rare_classes)
    return _cross_update(losses, mask, sample_weight, mean)


def _n_classes(log_probs):
    """Number of classes of ``log_probs`` (its last dimension), or None without it."""
    return None if log_probs is None else int(log_probs.shape[-1])


def _cross_update(losses, mask, sample_weight, mean, candidates=None):
    if candidates is not None:
        mask = mask * candidates[None, :]
    weights = mask * ops.cast(sample_weight, losses.dtype)[None, :]
    peer_losses = mean(losses, weights)
    return Update(ops.sum(peer_losses), peer_losses, mask)


def disagreement(log_probs: Any) -> Any:
    """1 for the samples on which not all peers predict the same class.

    Parameters
    ----------
    log_probs : Tensor of shape (n_peers, batch, n_classes)

    Returns
    -------
    Tensor of shape (batch,), dtype of ``log_probs``
    """
    predicted = ops.argmax(log_probs, axis=-1)
    agree = ops.all(ops.equal(predicted, predicted[:1]), axis=0)
    return 1.0 - ops.cast(agree, log_probs.dtype)


def coteaching_plus(
    losses: Any,
    log_probs: Any,
    keep_fraction: Any,
    sample_weight: Any,
    epoch: Any,
    init_epochs: int = 0,
    mean: Callable[..., Any] = weighted_mean,
    labels: Any = None,
    selection: str = "global",
    rare_classes: Any = None,
) -> Update:
    """Co-teaching+: the cross update restricted to disagreeing samples.

    Parameters
    ----------
    losses, log_probs, keep_fraction, sample_weight, mean, labels, selection, rare_classes
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
    batch = ops.shape(losses)[1]
    active = ops.cast(epoch, "int32") >= init_epochs
    candidates = ops.where(active, disagreement(log_probs), ops.ones([batch], losses.dtype))
    n_candidates = ops.cast(ops.sum(candidates), "int32")
    k = ops.minimum(n_keep(ops.maximum(n_candidates, 1), keep_fraction), n_candidates)
    # Non-candidates are ranked after every candidate.
    scores = ops.stop_gradient(peer_view(losses)) + (1.0 - candidates)[None, :] * 1e30
    n_classes = _n_classes(log_probs)
    mask = select(
        scores, k, keep_fraction, labels, n_classes, selection, candidates, rare_classes
    )
    return _cross_update(losses, mask, sample_weight, mean, candidates)


def symmetric_kl(log_probs: Any) -> Any:
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
    probs = ops.exp(log_probs)
    own = ops.sum(probs * log_probs, axis=[0, 2])  # sum_a sum_k p_a log p_a
    cross = ops.sum(
        ops.sum(probs, axis=0) * ops.sum(log_probs, axis=0), axis=-1
    )  # sum_k (sum_a p_a) (sum_b log p_b)
    return n_peers * own - cross


def jocor(
    losses: Any,
    log_probs: Any,
    keep_fraction: Any,
    sample_weight: Any,
    epoch: Any = None,
    co_lambda: float = 0.1,
    mean: Callable[..., Any] = weighted_mean,
    labels: Any = None,
    selection: str = "global",
    rare_classes: Any = None,
) -> Update:
    """JoCoR: joint loss with co-regularisation, small-loss selection, joint update.

    Parameters
    ----------
    losses, log_probs, keep_fraction, sample_weight, epoch, mean, labels, selection, rare_classes
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
    joint = (1.0 - co_lambda) * (2.0 / n_peers) * ops.sum(losses, axis=0)
    joint = joint + co_lambda * (2.0 / (n_peers * (n_peers - 1))) * symmetric_kl(log_probs)
    k = n_keep(ops.shape(losses)[1], keep_fraction)
    scores = ops.stop_gradient(joint)[None, :]
    mask = select(  # (1, batch)
        scores, k, keep_fraction, labels, log_probs.shape[-1], selection, None, rare_classes
    )
    weights = mask * ops.cast(sample_weight, losses.dtype)[None, :]
    total = mean(joint[None, :], weights)[0]
    peer_losses = mean(losses, weights)
    return Update(total, peer_losses, ops.tile(mask, [n_peers, 1]))


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
    "rare_classes",
)
