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
two sorts (no loop over samples or classes).

Pure TensorFlow functions; the rules of :mod:`skcoteach.rules` call them.
"""

import tensorflow as tf

from .schedules import KEEP_TOLERANCE

__all__ = ["SELECTIONS", "class_quotas", "smallest_mask_per_class"]

#: Accepted values of the rules' ``selection`` argument.
SELECTIONS = ("global", "per_class")


def check_selection(selection):
    """Raise ``ValueError`` unless ``selection`` is one of :data:`SELECTIONS`."""
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {list(SELECTIONS)}, got {selection!r}.")


def _ranks(values, descending):
    """Rank of every entry of a 1-D tensor (0 = first), ties broken by position."""
    order = tf.argsort(values, direction="DESCENDING" if descending else "ASCENDING", stable=True)
    n = tf.shape(values)[0]
    return tf.scatter_nd(order[:, tf.newaxis], tf.range(n), [n])


def class_quotas(counts, keep_fraction, total):
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
    counts = tf.cast(counts, tf.float64)
    if not tf.is_tensor(keep_fraction):
        keep_fraction = tf.constant(keep_fraction, tf.float64)
    exact = tf.cast(keep_fraction, tf.float64) * counts
    base = tf.floor(exact + KEEP_TOLERANCE)
    remainder = exact - base
    missing = tf.cast(total, tf.int32) - tf.cast(tf.reduce_sum(base), tf.int32)
    more = tf.cast(_ranks(remainder, descending=True) < missing, tf.float64)
    fewer = tf.cast(
        _ranks(tf.where(base > 0, remainder, 2.0), descending=False) < -missing, tf.float64
    )
    quotas = tf.clip_by_value(base + more - fewer, 0.0, counts)
    return tf.cast(quotas, tf.int32)


def smallest_mask_per_class(scores, labels, quotas):
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
    labels = tf.cast(labels, tf.int32)
    n_classes = tf.shape(quotas)[0]
    by_score = tf.argsort(scores, axis=-1, stable=True)  # (n_rows, batch)
    by_class = tf.argsort(tf.gather(labels, by_score), axis=-1, stable=True)
    order = tf.gather(by_score, by_class, batch_dims=1)  # sorted by (label, score)
    sorted_labels = tf.gather(labels, order)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(labels), labels, n_classes)
    starts = tf.cumsum(counts, exclusive=True)
    rank = tf.range(tf.shape(scores)[1])[tf.newaxis, :] - tf.gather(starts, sorted_labels)
    kept = tf.cast(rank < tf.gather(tf.cast(quotas, tf.int32), sorted_labels), scores.dtype)
    rows = tf.broadcast_to(tf.range(tf.shape(order)[0])[:, tf.newaxis], tf.shape(order))
    return tf.scatter_nd(tf.stack([rows, order], axis=-1), kept, tf.shape(scores))


def select(scores, k, keep_fraction, labels, n_classes, selection, candidates=None):
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
        Given labels; needed for ``"per_class"``.
    n_classes : int
        Number of classes.
    selection : {"global", "per_class"}
        See :data:`SELECTIONS`.
    candidates : Tensor of shape (batch,), default=None
        1 for the samples that may be selected (Co-teaching+); all if None.

    Returns
    -------
    Tensor of shape (n_rows, batch), dtype of ``scores``
    """
    from .rules import smallest_mask

    check_selection(selection)
    if selection == "global":
        return smallest_mask(scores, k)
    if labels is None:
        raise ValueError('selection="per_class" needs the labels of the batch.')
    labels = tf.cast(labels, tf.int32)
    weights = tf.ones_like(scores[0]) if candidates is None else candidates
    counts = tf.math.unsorted_segment_sum(weights, labels, n_classes)
    return smallest_mask_per_class(scores, labels, class_quotas(counts, keep_fraction, k))
