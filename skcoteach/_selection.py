"""How the update rules pick the small-loss samples of a batch: over the batch, or class by class.

``"global"`` selection keeps the samples with the smallest scores over the
whole batch (:func:`skcoteach.rules.smallest_mask`), as the papers do.  A class
that the networks fit worse than the others -- a rare class -- has larger
losses and loses more than its share of samples, possibly all of them.
``"per_class"`` selection keeps, within every given (noisy) label of the
batch, the share ``R(T)`` of its own samples with the smallest scores:
:func:`class_quotas` rounds ``R(T) * n_c`` so that the quotas add up to the
number of samples the global selection keeps, and
:func:`smallest_mask_per_class` ranks the samples within their class, with
two sorts (no loop over samples or classes).  ``"class_floor"`` selection is
the global one with a floor for the *rare* classes: a given label whose share
of the training labels is below :data:`RARE_SHARE` times a balanced share
(:func:`rare_classes` of :func:`label_shares`, the labels of the fit) first keeps the
:func:`class_floors` samples with its smallest scores, then the rest of the
batch's count goes to the smallest scores of the whole batch.  A rare class
keeps its share and is never dropped whole, while the other classes are
selected as by ``"global"`` -- on balanced data exactly so.  A floor for every
class costs accuracy where a batch holds few samples per class: it makes a
class fill its share with wrong labels when the batch happens to hold few
clean ones, which is also what costs ``"per_class"`` accuracy on balanced data
(user guide, :ref:`imbalance`).

Pure functions of ``keras.ops`` (and :func:`label_shares`, :func:`rare_classes`
of NumPy); the rules of :mod:`skcoteach.rules` call them.
"""

import dataclasses
from typing import Any

import numpy as np
from keras import ops

from .backends import float64
from .schedules import KEEP_TOLERANCE

__all__ = [
    "RARE_SHARE",
    "SELECTIONS",
    "class_floors",
    "class_quotas",
    "floors_then_smallest_mask",
    "label_shares",
    "rare_classes",
    "smallest_mask_per_class",
]

#: Accepted values of the rules' ``selection`` argument.
SELECTIONS = ("global", "per_class", "class_floor")

#: ``"class_floor"`` gives a floor to the classes whose share of the training
#: labels is below this fraction of a balanced share ``1 / n_classes``.
RARE_SHARE = 0.9


def label_shares(y_enc: Any, n_classes: int) -> np.ndarray:
    """Share of every class among the encoded labels ``y_enc``, float32 of shape (n_classes,).

    Counts, not weights: a class is rare in the data whatever weights the
    user gives it.  All zeros for no labels.
    """
    y_enc = np.asarray(y_enc, dtype=np.int64).ravel()
    counts = np.bincount(y_enc, minlength=n_classes)[:n_classes]
    return (counts / max(y_enc.size, 1)).astype(np.float32)


def rare_classes(shares: Any) -> np.ndarray:
    """1 for every rare class of ``shares`` (:func:`label_shares`), else 0; float32 of shape (n_classes,).

    A class is rare when its share is below :data:`RARE_SHARE` times a
    balanced share ``1 / n_classes``: :func:`class_floors` gives a floor to
    these only.  The ensembles compute it once per fit and trace
    ``"class_floor"`` as ``"global"`` when no class is rare (the floors would
    be 0 in every batch).
    """
    shares = np.asarray(shares, dtype=np.float32).astype(np.float64).ravel()
    return (shares * shares.size < RARE_SHARE).astype(np.float32)


def check_selection(selection):
    """Raise ``ValueError`` unless ``selection`` is one of :data:`SELECTIONS`."""
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {list(SELECTIONS)}, got {selection!r}.")


def _ranks(values, descending):
    """Rank of every entry of a 1-D tensor (0 = first), ties broken by position.

    Counted by comparing every pair (the tensor holds one entry per class), so
    that no backend's sort has to be stable.
    """
    n = ops.shape(values)[0]
    before = values[None, :] > values[:, None] if descending else values[None, :] < values[:, None]
    position = ops.arange(n, dtype="int32")
    tied_earlier = ops.logical_and(
        ops.equal(values[None, :], values[:, None]), position[None, :] < position[:, None]
    )
    return ops.cast(ops.sum(ops.cast(ops.logical_or(before, tied_earlier), "int32"), axis=1), "int32")


def _float64(counts, keep_fraction):
    """``counts`` and ``R(T)`` (a tensor or a Python float) as float64 tensors, inside ``float64()``."""
    if not ops.is_tensor(keep_fraction):
        keep_fraction = ops.convert_to_tensor(keep_fraction, "float64")
    return ops.cast(counts, "float64"), ops.cast(keep_fraction, "float64")


def class_quotas(counts: Any, keep_fraction: Any, total: Any) -> Any:
    """How many samples of every class to keep: ``R * n_c``, rounded to add up to ``total``.

    Every class gets ``floor(R * n_c)`` (with the tolerance
    :data:`skcoteach.schedules.KEEP_TOLERANCE`, as :func:`skcoteach.rules.n_keep`);
    the samples still missing to reach ``total`` go one each to the classes
    with the largest remainders ``R * n_c - floor(R * n_c)`` (ties: the lower
    class index first), the largest-remainder rounding; a surplus is taken
    one each from the classes with the smallest remainders.  No class gets
    more than ``n_c`` or fewer than 0.

    Parameters
    ----------
    counts : Tensor of shape (n_classes,)
        Number of candidate samples of every class in the batch.
    keep_fraction : float Tensor
        ``R(T)``.
    total : int Tensor
        Number of samples to keep in the batch (``n_keep`` of the rule).

    Returns
    -------
    int32 Tensor of shape (n_classes,)
        The quotas; they add up to ``min(total, sum(counts))`` whenever
        ``total <= sum(counts)`` and ``total`` is at most one sample per class
        away from ``sum(floor(R * n_c))`` (which :func:`skcoteach.rules.n_keep`
        guarantees).
    """
    with float64():  # JAX: 64-bit types for these lines
        counts, keep_fraction = _float64(counts, keep_fraction)
        exact = keep_fraction * counts
        base = ops.floor(exact + KEEP_TOLERANCE)
        remainder = exact - base
        missing = ops.cast(total, "int32") - ops.cast(ops.sum(base), "int32")
        more = ops.cast(_ranks(remainder, descending=True) < missing, "float64")
        fewer = ops.cast(
            _ranks(ops.where(base > 0, remainder, 2.0), descending=False) < -missing, "float64"
        )
        quotas = ops.minimum(ops.maximum(base + more - fewer, 0.0), counts)
        return ops.cast(quotas, "int32")


def class_floors(counts: Any, keep_fraction: Any, rare: Any) -> Any:
    """How many samples of every rare class ``"class_floor"`` keeps first: ``ceil(R * sqrt(n_c))``.

    The other classes get 0.  The floor is at most the class's share
    ``R * n_c`` of the batch rounded to the nearest integer (half up), and so
    never more than ``n_c``; with the tolerance
    :data:`skcoteach.schedules.KEEP_TOLERANCE`.  A rare class with up to
    about four samples in the batch keeps its share, as with
    ``"per_class"``; with more, a floor that grows like the spread of its
    count from batch to batch.

    Parameters
    ----------
    counts : Tensor of shape (n_classes,)
        Number of candidate samples of every class in the batch.
    keep_fraction : float Tensor
        ``R(T)``.
    rare : float Tensor of shape (n_classes,)
        1 for the rare classes, 0 for the others (:func:`rare_classes`).

    Returns
    -------
    int32 Tensor of shape (n_classes,)
    """
    with float64():
        counts, keep_fraction = _float64(counts, keep_fraction)
        rare = ops.cast(rare, "float64")
        floor = ops.ceil(keep_fraction * ops.sqrt(counts) - KEEP_TOLERANCE)
        share = ops.floor(keep_fraction * counts + 0.5 + KEEP_TOLERANCE)
        return ops.cast(ops.minimum(floor, share) * rare, "int32")


@dataclasses.dataclass(frozen=True)
class _ClassOrder:
    """The samples of every row sorted by score, and by (label, score) (:func:`_by_class`).

    Attributes
    ----------
    by_score : int32 Tensor of shape (n_rows, batch)
        Positions of the samples in the order of their scores.
    by_class : int32 Tensor of shape (n_rows, batch)
        Indices into ``by_score`` sorting it by label (scores within a label).
    sorted_labels : int32 Tensor of shape (n_rows, batch)
        The label of every entry in (label, score) order.
    rank : int32 Tensor of shape (n_rows, batch)
        Rank of every entry in (label, score) order within its label (0 = smallest score).
    """

    by_score: Any
    by_class: Any
    sorted_labels: Any
    rank: Any


def _by_class(scores, labels, n_classes):
    """Sort every row by score, then by (label, rank by score): a :class:`_ClassOrder`.

    Two sorts; the second of unique integer keys, so that no backend's sort has to be
    stable.  Equal scores are ranked as by :func:`skcoteach.rules.row_ranks`.
    """
    labels = ops.cast(labels, "int32")
    by_score = ops.cast(ops.argsort(scores, axis=-1), "int32")  # (n_rows, batch)
    batch = ops.shape(scores)[1]
    keys = ops.take(labels, by_score) * batch + ops.arange(batch, dtype="int32")[None, :]
    by_class = ops.cast(ops.argsort(keys, axis=-1), "int32")
    sorted_labels = ops.take(labels, ops.take_along_axis(by_score, by_class, axis=-1))
    counts = ops.segment_sum(ops.ones_like(labels), labels, num_segments=n_classes)
    starts = ops.cumsum(counts) - counts
    rank = ops.arange(batch, dtype="int32")[None, :] - ops.take(starts, sorted_labels)
    return _ClassOrder(by_score, by_class, sorted_labels, rank)


def _scatter_rows(positions, values):
    """``out[r, positions[r, j]] = values[r, j]`` for a permutation ``positions`` of every row."""
    rows = ops.broadcast_to(
        ops.arange(ops.shape(positions)[0], dtype="int32")[:, None], ops.shape(positions)
    )
    return ops.scatter(ops.stack([rows, positions], axis=-1), values, ops.shape(values))


def smallest_mask_per_class(scores: Any, labels: Any, quotas: Any) -> Any:
    """0/1 mask of the ``quotas[c]`` smallest scores of every class ``c``, in every row.

    The samples of a row are sorted by (label, score), ties by position (the
    lowest position first, as :func:`skcoteach.rules.smallest_mask`); a
    sample is kept when its rank within its label is below its label's quota.

    Parameters
    ----------
    scores : Tensor of shape (n_rows, batch)
    labels : int Tensor of shape (batch,)
        Given labels, ``0 .. n_classes - 1``.
    quotas : int Tensor of shape (n_classes,)
        Number of samples to keep per class and row, at most the class's
        number of samples in the batch.

    Returns
    -------
    Tensor of shape (n_rows, batch), same dtype as ``scores``
    """
    order = _by_class(scores, labels, quotas.shape[0])
    quota = ops.take(ops.cast(quotas, "int32"), order.sorted_labels)
    kept = ops.cast(order.rank < quota, scores.dtype)
    return _scatter_rows(ops.take_along_axis(order.by_score, order.by_class, axis=-1), kept)


def floors_then_smallest_mask(scores: Any, labels: Any, floors: Any, k: Any) -> Any:
    """0/1 mask: the ``floors[c]`` smallest scores of every class ``c`` first, then the smallest.

    In every row the samples within their class's floor rank first (by score among
    themselves), then the others by score, and the first ``k`` are kept -- with two
    sorts, those of :func:`smallest_mask_per_class`: a floor sample is kept when fewer
    than ``k`` floor samples have a smaller score, any other sample when the floors
    plus the others with a smaller score are fewer than ``k``.  Equal scores are
    ranked as by :func:`skcoteach.rules.row_ranks`.

    Parameters
    ----------
    scores : Tensor of shape (n_rows, batch)
    labels : int Tensor of shape (batch,)
        Given labels, ``0 .. n_classes - 1``.
    floors : int Tensor of shape (n_classes,)
        Number of samples of every class kept first, at most the class's number of
        samples in the batch (:func:`class_floors`).
    k : int Tensor
        Number of samples kept per row, ``0 <= k <= batch``.

    Returns
    -------
    Tensor of shape (n_rows, batch), same dtype as ``scores``
    """
    order = _by_class(scores, labels, floors.shape[0])
    floor = ops.take(ops.cast(floors, "int32"), order.sorted_labels)
    in_floor = _scatter_rows(order.by_class, ops.cast(order.rank < floor, "int32"))  # score order
    floors_before = ops.cumsum(in_floor, axis=-1) - in_floor
    n_floor = ops.sum(in_floor, axis=-1, keepdims=True)
    position = ops.arange(ops.shape(scores)[1], dtype="int32")[None, :]
    k = ops.cast(k, "int32")
    kept = ops.where(in_floor > 0, floors_before < k, n_floor + position - floors_before < k)
    return _scatter_rows(order.by_score, ops.cast(kept, scores.dtype))


def select(
    scores: Any,
    k: Any,
    keep_fraction: Any,
    labels: Any,
    n_classes: int,
    selection: str,
    candidates: Any = None,
    rare_classes: Any = None,
) -> Any:
    """The rules' selection mask: the ``k`` smallest of every row, globally or per class.

    Parameters
    ----------
    scores : Tensor of shape (n_rows, batch)
        Ranking scores (non-candidates already ranked last).
    k : int Tensor
        Number of samples the global selection keeps per row.
    keep_fraction : float Tensor
        ``R(T)``.
    labels : int Tensor of shape (batch,) or None
        Given labels; needed for ``"per_class"`` and ``"class_floor"``.
    n_classes : int
        Number of classes.
    selection : {"global", "per_class", "class_floor"}
        See :data:`SELECTIONS`.
    candidates : Tensor of shape (batch,), default=None
        1 for the samples that may be selected (Co-teaching+); all if None.
    rare_classes : float Tensor of shape (n_classes,), default=None
        1 for the classes rare in the training labels (:func:`rare_classes`);
        needed for ``"class_floor"``.

    Returns
    -------
    Tensor of shape (n_rows, batch), dtype of ``scores``
        With ``"class_floor"`` and no rare class in the batch, the mask of
        ``"global"``.
    """
    from .rules import smallest_mask

    check_selection(selection)
    if selection == "global":
        return smallest_mask(scores, k)
    if labels is None:
        raise ValueError(f"selection={selection!r} needs the labels of the batch.")
    if selection == "class_floor" and rare_classes is None:
        raise ValueError(
            "selection='class_floor' needs rare_classes, 1 for the classes rare in the training "
            "labels (skcoteach._selection.rare_classes)."
        )
    labels = ops.cast(labels, "int32")
    weights = ops.ones_like(scores[0]) if candidates is None else candidates
    counts = ops.segment_sum(weights, labels, num_segments=n_classes)
    if selection == "per_class":
        return smallest_mask_per_class(scores, labels, class_quotas(counts, keep_fraction, k))
    floors = class_floors(counts, keep_fraction, rare_classes)

    return ops.cond(
        ops.any(floors > 0),
        lambda: floors_then_smallest_mask(scores, labels, floors, k),
        lambda: smallest_mask(scores, k),
    )
