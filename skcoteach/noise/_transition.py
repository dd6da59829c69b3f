"""Transition matrices of the standard noise models; public through :mod:`skcoteach.noise`."""

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._checks import _check_n_classes, _check_noise_rate


def symmetric_transition_matrix(n_classes: int, noise_rate: float) -> np.ndarray:
    """Transition matrix of symmetric (uniform) label noise.

    A label is kept with probability ``1 - noise_rate`` and otherwise replaced
    by one of the ``n_classes - 1`` other classes chosen uniformly, as in the
    Co-teaching paper (Han et al., 2018).

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    noise_rate : float
        Probability ``eps`` in [0, 1] that a label is changed.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        Matrix with ``1 - eps`` on the diagonal and ``eps / (n_classes - 1)``
        everywhere else.

    Raises
    ------
    TypeError
        If ``n_classes`` is not an integer or ``noise_rate`` not a real number.
    ValueError
        If ``n_classes < 2`` or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> from skcoteach.noise import symmetric_transition_matrix
    >>> symmetric_transition_matrix(3, 0.4)
    array([[0.6, 0.2, 0.2],
           [0.2, 0.6, 0.2],
           [0.2, 0.2, 0.6]])
    """
    n_classes = _check_n_classes(n_classes)
    eps = _check_noise_rate(noise_rate)
    matrix = np.full((n_classes, n_classes), eps / (n_classes - 1))
    np.fill_diagonal(matrix, 1.0 - eps)
    return matrix


def pair_transition_matrix(n_classes: int, noise_rate: float) -> np.ndarray:
    """Transition matrix of pair-flipping label noise.

    A label of class ``i`` is kept with probability ``1 - noise_rate`` and
    otherwise flipped to class ``i + 1``; the last class flips to the first
    (Han et al., 2018).

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    noise_rate : float
        Probability ``eps`` in [0, 1] that a label is changed.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        Matrix with ``1 - eps`` on the diagonal, ``eps`` at ``[i, i + 1]`` and
        at ``[n_classes - 1, 0]``, zero elsewhere.

    Raises
    ------
    TypeError
        If ``n_classes`` is not an integer or ``noise_rate`` not a real number.
    ValueError
        If ``n_classes < 2`` or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> from skcoteach.noise import pair_transition_matrix
    >>> pair_transition_matrix(3, 0.25)
    array([[0.75, 0.25, 0.  ],
           [0.  , 0.75, 0.25],
           [0.25, 0.  , 0.75]])
    """
    n_classes = _check_n_classes(n_classes)
    eps = _check_noise_rate(noise_rate)
    rows = np.arange(n_classes)
    matrix = np.zeros((n_classes, n_classes))
    matrix[rows, rows] = 1.0 - eps
    matrix[rows, (rows + 1) % n_classes] += eps
    return matrix


def mapping_transition_matrix(
    n_classes: int, mapping: Mapping[int, int], noise_rate: float
) -> np.ndarray:
    """Transition matrix of asymmetric noise given by a class mapping.

    Each ``source`` class of ``mapping`` keeps its label with probability
    ``1 - noise_rate`` and is flipped to ``mapping[source]`` otherwise; the
    other classes are never changed.

    Parameters
    ----------
    n_classes : int
        Number of classes, at least 2.
    mapping : dict of {int: int}
        ``{source: target}`` pairs of class *indices* in ``[0, n_classes)``
        (positions in the sorted classes), e.g.
        :data:`MNIST_ASYMMETRIC_MAPPING`.  A pair with ``source == target``
        leaves its row unchanged.
    noise_rate : float
        Probability ``eps`` in [0, 1] that a label of a source class is changed.

    Returns
    -------
    ndarray of shape (n_classes, n_classes)
        The identity matrix, except that row ``source`` has ``1 - eps`` on the
        diagonal and ``eps`` in column ``mapping[source]``.

    Raises
    ------
    TypeError
        If ``mapping`` is not a mapping or contains non-integer keys or
        values, or for invalid types of ``n_classes`` / ``noise_rate``.
    ValueError
        If a key or value of ``mapping`` is outside ``[0, n_classes)``, if
        ``n_classes < 2`` or ``noise_rate`` is outside [0, 1].

    Examples
    --------
    >>> from skcoteach.noise import mapping_transition_matrix
    >>> mapping_transition_matrix(3, {0: 2, 2: 1}, 0.3)
    array([[0.7, 0. , 0.3],
           [0. , 1. , 0. ],
           [0. , 0.3, 0.7]])
    """
    n_classes = _check_n_classes(n_classes)
    eps = _check_noise_rate(noise_rate)
    if not isinstance(mapping, Mapping):
        raise TypeError(
            "mapping must be a dict of {source: target} class indices; "
            f"got {type(mapping).__name__}."
        )
    for index in (*mapping.keys(), *mapping.values()):
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(
                "mapping keys and values must be integer class indices; "
                f"got {index!r} of type {type(index).__name__}."
            )
        if not 0 <= index < n_classes:
            raise ValueError(
                "mapping keys and values must be class indices in "
                f"[0, {n_classes}) for n_classes={n_classes}; got {index}."
            )
    matrix = np.eye(n_classes)
    for source, target in mapping.items():
        matrix[source, source] -= eps
        matrix[source, target] += eps
    return matrix


def _mapping_to_indices(mapping: Mapping[Any, Any], classes: np.ndarray) -> dict[int, int]:
    """Translate a ``{source_label: target_label}`` mapping to class indices."""
    if not isinstance(mapping, Mapping):
        raise TypeError(
            "mapping must be a dict of {source: target} class labels; "
            f"got {type(mapping).__name__}."
        )
    position = {label: i for i, label in enumerate(classes.tolist())}
    try:
        unknown = [c for c in (*mapping.keys(), *mapping.values()) if c not in position]
    except TypeError as exc:  # unhashable key or value
        raise TypeError(f"mapping keys and values must be class labels; {exc}") from exc
    if unknown:
        raise ValueError(
            f"mapping contains labels that are not in classes: {unknown}; "
            f"classes are {classes.tolist()}."
        )
    return {position[s]: position[t] for s, t in mapping.items()}
