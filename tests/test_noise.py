"""Tests for skcoteach.noise (pure NumPy / scikit-learn, no TensorFlow)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skcoteach.noise import (
    MNIST_ASYMMETRIC_MAPPING,
    NoiseInfo,
    estimate_transition_matrix,
    label_precision,
    make_label_noise,
    mapping_transition_matrix,
    pair_transition_matrix,
    symmetric_transition_matrix,
)

# ---------------------------------------------------------------------------
# Exact transition matrices
# ---------------------------------------------------------------------------


def test_symmetric_matrix_by_hand():
    expected = np.array(
        [
            [0.7, 0.1, 0.1, 0.1],
            [0.1, 0.7, 0.1, 0.1],
            [0.1, 0.1, 0.7, 0.1],
            [0.1, 0.1, 0.1, 0.7],
        ]
    )
    assert_allclose(symmetric_transition_matrix(4, 0.3), expected, atol=1e-15)


def test_symmetric_matrix_two_classes_full_noise():
    assert_array_equal(symmetric_transition_matrix(2, 1.0), [[0, 1], [1, 0]])


def test_pair_matrix_by_hand():
    expected = np.array(
        [
            [0.8, 0.2, 0.0, 0.0],
            [0.0, 0.8, 0.2, 0.0],
            [0.0, 0.0, 0.8, 0.2],
            [0.2, 0.0, 0.0, 0.8],
        ]
    )
    assert_allclose(pair_transition_matrix(4, 0.2), expected, atol=1e-15)
    assert_allclose(pair_transition_matrix(2, 0.4), [[0.6, 0.4], [0.4, 0.6]])


def test_mapping_matrix_mnist():
    assert MNIST_ASYMMETRIC_MAPPING == {2: 7, 3: 8, 5: 6, 6: 5, 7: 1}
    matrix = mapping_transition_matrix(10, MNIST_ASYMMETRIC_MAPPING, 0.4)
    expected = np.eye(10)
    for source, target in [(2, 7), (3, 8), (5, 6), (6, 5), (7, 1)]:
        expected[source, source] = 0.6
        expected[source, target] = 0.4
    assert_allclose(matrix, expected, atol=1e-15)


def test_mapping_matrix_self_mapping_is_identity_row():
    assert_allclose(mapping_transition_matrix(3, {1: 1}, 0.5), np.eye(3))


@pytest.mark.parametrize(
    "build",
    [
        lambda eps: symmetric_transition_matrix(7, eps),
        lambda eps: pair_transition_matrix(7, eps),
        lambda eps: mapping_transition_matrix(7, {0: 3, 4: 2}, eps),
    ],
)
@pytest.mark.parametrize("eps", [0.0, 0.13, 0.5, 1.0])
def test_matrices_are_row_stochastic(build, eps):
    matrix = build(eps)
    assert matrix.shape == (7, 7)
    assert matrix.dtype == np.float64
    assert (matrix >= 0).all()
    assert_allclose(matrix.sum(axis=1), 1.0)
    if eps == 0.0:
        assert_array_equal(matrix, np.eye(7))


# ---------------------------------------------------------------------------
# Statistical behaviour of make_label_noise
# ---------------------------------------------------------------------------

N_LARGE = 200_000
N_CLASSES = 10
SIGMAS = 5


def _within_binomial_tolerance(estimated, expected, n_per_row):
    """Assert |estimated - expected| <= 5 standard errors, entry-wise.

    An empirical transition probability from row i is a binomial proportion
    over n_i samples, with standard error sqrt(p (1 - p) / n_i).  At 5 sigma
    a correct sampler fails a single entry with probability ~6e-7 (normal
    approximation), i.e. < 1e-4 over the 100 entries of a 10x10 matrix, while
    an error of about 0.02 or more in a probability (5 sigma <= 0.018 for
    n_i ~ 20000) is detected.  The seeds are fixed, so the test is also
    deterministic; the 1e-12 term only absorbs round-off for p in {0, 1},
    where the sampler must be exact.
    """
    se = np.sqrt(expected * (1 - expected) / np.asarray(n_per_row)[:, None])
    assert (np.abs(estimated - expected) <= SIGMAS * se + 1e-12).all(), (
        np.abs(estimated - expected) / np.maximum(se, 1e-300)
    ).max()


def _random_row_stochastic(n_classes, seed):
    rng = np.random.RandomState(seed)
    matrix = rng.dirichlet(np.ones(n_classes), size=n_classes)
    matrix[0, 3] = 0.0  # include an exact zero: it must never be drawn
    return matrix / matrix.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(noise_rate=0.45, kind="symmetric"),
        dict(noise_rate=0.2, kind="symmetric"),
        dict(noise_rate=0.35, kind="pair"),
        dict(noise_rate=0.4, kind="asymmetric", mapping=MNIST_ASYMMETRIC_MAPPING),
        dict(transition_matrix=_random_row_stochastic(N_CLASSES, 3)),
    ],
    ids=["sym45", "sym20", "pair35", "asym40", "matrix"],
)
def test_empirical_transition_matrix_matches_requested(kwargs):
    y = np.random.RandomState(0).randint(N_CLASSES, size=N_LARGE)
    y_noisy, info = make_label_noise(y, random_state=42, return_info=True, **kwargs)
    n_per_class = np.bincount(y, minlength=N_CLASSES)

    estimated = estimate_transition_matrix(y, y_noisy, classes=np.arange(N_CLASSES))
    _within_binomial_tolerance(estimated, info.transition_matrix, n_per_class)

    # realised flip rate per class vs. requested 1 - T[i, i]
    flip_rate = np.bincount(y[info.noise_mask], minlength=N_CLASSES) / n_per_class
    expected_flip = 1 - np.diag(info.transition_matrix)
    _within_binomial_tolerance(flip_rate[:, None], expected_flip[:, None], n_per_class)
    # zero-probability transitions never happen
    assert (estimated[info.transition_matrix == 0] == 0).all()


def test_notebook_bug_regression_flip_probability_is_eps():
    # The original Co-teaching notebook kept a label when random < eps, so it
    # flipped 80% of the labels at eps = 0.2.  A label must flip with prob. eps.
    y = np.arange(100_000) % 10
    y_noisy = make_label_noise(y, noise_rate=0.2, random_state=0)
    flipped = np.mean(y_noisy != y)
    se = np.sqrt(0.2 * 0.8 / y.size)  # ~0.0013
    assert abs(flipped - 0.2) < SIGMAS * se
    # symmetric noise never "flips" to the same class
    estimated = estimate_transition_matrix(y, y_noisy)
    assert_allclose(np.diag(estimated), 0.8, atol=0.02)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kind="symmetric"),
        dict(kind="pair"),
        dict(kind="asymmetric", mapping=MNIST_ASYMMETRIC_MAPPING),
    ],
)
def test_zero_noise_rate_changes_nothing(kwargs):
    y = np.arange(5000) % 10
    y_noisy, info = make_label_noise(y, noise_rate=0.0, random_state=0, return_info=True, **kwargs)
    assert_array_equal(y_noisy, y)
    assert not info.noise_mask.any()
    assert info.actual_noise_rate == 0.0


def test_identity_matrix_changes_nothing():
    y = np.arange(1000) % 4
    assert_array_equal(make_label_noise(y, transition_matrix=np.eye(4)), y)


def test_full_symmetric_noise_changes_every_label():
    y = np.arange(20_000) % 5
    y_noisy = make_label_noise(y, noise_rate=1.0, random_state=0)
    assert (y_noisy != y).all()
    assert set(np.unique(y_noisy)) == set(range(5))


def test_pair_noise_moves_labels_only_to_next_class():
    y = np.arange(50_000) % 6
    y_noisy = make_label_noise(y, noise_rate=0.45, kind="pair", random_state=0)
    assert set(np.unique((y_noisy - y) % 6)) == {0, 1}
    assert_array_equal(
        make_label_noise([0, 1, 2, 3, 4, 5], 1.0, "pair", random_state=0),
        [1, 2, 3, 4, 5, 0],
    )


def test_pair_noise_follows_sorted_classes_for_noncontiguous_labels():
    y = np.array([42, 3, 10, 3, 42])
    y_noisy = make_label_noise(y, noise_rate=1.0, kind="pair", random_state=0)
    assert_array_equal(y_noisy, [3, 10, 42, 10, 3])


def test_pair_noise_follows_given_class_order():
    y = np.array(["a", "b", "c"])
    y_noisy = make_label_noise(
        y, noise_rate=1.0, kind="pair", classes=["c", "b", "a"], random_state=0
    )
    assert_array_equal(y_noisy, ["c", "a", "b"])


def test_asymmetric_noise_moves_only_mapped_classes():
    y = np.arange(100_000) % 10
    y_noisy, info = make_label_noise(
        y,
        noise_rate=0.3,
        kind="asymmetric",
        mapping=MNIST_ASYMMETRIC_MAPPING,
        random_state=0,
        return_info=True,
    )
    changed = info.noise_mask
    assert set(np.unique(y[changed])) == set(MNIST_ASYMMETRIC_MAPPING)
    expected_target = np.vectorize(MNIST_ASYMMETRIC_MAPPING.get)(y[changed])
    assert_array_equal(y_noisy[changed], expected_target)
    # unmapped classes are untouched
    unmapped = np.isin(y, [0, 1, 4, 8, 9])
    assert_array_equal(y_noisy[unmapped], y[unmapped])


def test_asymmetric_noise_full_rate_applies_mapping_exactly():
    y = np.arange(10)
    y_noisy = make_label_noise(
        y, 1.0, "asymmetric", mapping=MNIST_ASYMMETRIC_MAPPING, random_state=0
    )
    assert_array_equal(y_noisy, [0, 1, 7, 8, 4, 6, 5, 1, 8, 9])


def test_asymmetric_mapping_uses_labels_not_indices():
    y = np.array(["cat", "dog", "fox"] * 3)
    y_noisy = make_label_noise(y, 1.0, "asymmetric", mapping={"cat": "fox"}, random_state=0)
    assert_array_equal(y_noisy, ["fox", "dog", "fox"] * 3)
    y_int = np.array([10, 20, 30])
    y_noisy = make_label_noise(y_int, 1.0, "asymmetric", mapping={30: 10}, random_state=0)
    assert_array_equal(y_noisy, [10, 20, 10])


# ---------------------------------------------------------------------------
# Label types, immutability, randomness
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "y",
    [
        np.array([0, 1, 2, 1, 0] * 200),
        np.array([0, 1, 2, 1, 0] * 200, dtype=np.int32),
        np.array([0, 1, 2, 1, 0] * 200, dtype=np.uint8),
        np.array([-5, 7, 100, 7] * 250),
        np.array([0.5, 1.5, 2.5] * 300),
        np.array(["cat", "dog", "bird"] * 300),
        np.array(["cat", "dog", "bird"] * 300, dtype=object),
        np.array([True, False] * 400),
        [3, 1, 4, 1, 5, 9] * 100,
        ["x", "yy", "zzz"] * 300,
    ],
    ids=[
        "int64",
        "int32",
        "uint8",
        "noncontiguous",
        "float",
        "str",
        "object",
        "bool",
        "int-list",
        "str-list",
    ],
)
def test_label_types_are_preserved(y):
    expected = np.asarray(y)
    y_copy = np.array(expected, copy=True)
    y_noisy, info = make_label_noise(y, noise_rate=0.5, random_state=0, return_info=True)
    assert isinstance(y_noisy, np.ndarray)
    assert y_noisy.dtype == expected.dtype
    assert y_noisy.shape == expected.shape
    assert set(y_noisy.tolist()) <= set(expected.tolist())
    assert info.classes.dtype == expected.dtype
    assert_array_equal(info.classes, np.unique(expected))
    assert_array_equal(info.noise_mask, y_noisy != expected)
    assert 0.3 < info.actual_noise_rate < 0.7
    assert_array_equal(np.asarray(y), y_copy)  # y untouched


def test_pandas_series_gives_numpy_array():
    pd = pytest.importorskip("pandas")
    y = pd.Series(["a", "b", "c"] * 100, index=np.arange(300) * 2)
    y_noisy = make_label_noise(y, noise_rate=0.5, random_state=0)
    assert isinstance(y_noisy, np.ndarray)
    assert y_noisy.dtype == np.asarray(y).dtype
    assert y.tolist() == ["a", "b", "c"] * 100


def test_input_is_never_modified():
    y = np.arange(10_000) % 7
    y_copy = y.copy()
    y.flags.writeable = False  # any in-place write would raise
    for kwargs in [
        dict(noise_rate=0.5),
        dict(noise_rate=0.5, kind="pair"),
        dict(noise_rate=0.5, kind="asymmetric", mapping={1: 2}),
        dict(transition_matrix=np.full((7, 7), 1 / 7)),
    ]:
        y_noisy = make_label_noise(y, random_state=0, **kwargs)
        assert not np.shares_memory(y_noisy, y)
    assert_array_equal(y, y_copy)

    y_list = [1, 2, 3, 1]
    make_label_noise(y_list, noise_rate=1.0, random_state=0)
    assert y_list == [1, 2, 3, 1]


def test_transition_matrix_argument_is_not_modified_and_info_holds_a_copy():
    matrix = np.array([[0.5, 0.5], [0.25, 0.75]])
    _, info = make_label_noise(
        [0, 1, 0, 1], transition_matrix=matrix, random_state=0, return_info=True
    )
    assert_array_equal(matrix, [[0.5, 0.5], [0.25, 0.75]])
    assert_array_equal(info.transition_matrix, matrix)
    assert not np.shares_memory(info.transition_matrix, matrix)


def test_reproducible_for_seed_and_random_state_instance():
    y = np.arange(5000) % 10
    a = make_label_noise(y, noise_rate=0.4, random_state=7)
    b = make_label_noise(y, noise_rate=0.4, random_state=7)
    c = make_label_noise(y, noise_rate=0.4, random_state=np.random.RandomState(7))
    assert_array_equal(a, b)
    assert_array_equal(a, c)


def test_different_seeds_differ():
    y = np.arange(5000) % 10
    a = make_label_noise(y, noise_rate=0.4, random_state=0)
    b = make_label_noise(y, noise_rate=0.4, random_state=1)
    assert (a != b).mean() > 0.2


def test_random_state_instance_is_advanced():
    rng = np.random.RandomState(0)
    y = np.arange(5000) % 10
    a = make_label_noise(y, noise_rate=0.4, random_state=rng)
    b = make_label_noise(y, noise_rate=0.4, random_state=rng)
    assert (a != b).any()


def _global_state_equal(state_a, state_b):
    return all(
        np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
        for a, b in zip(state_a, state_b, strict=True)
    )


@pytest.mark.parametrize("random_state", [0, np.random.RandomState(3)])
def test_global_numpy_random_state_is_untouched(random_state):
    np.random.seed(123)
    before = np.random.get_state()
    make_label_noise(np.arange(1000) % 3, noise_rate=0.3, random_state=random_state)
    make_label_noise(np.arange(1000) % 3, 0.3, "pair", random_state=random_state)
    assert _global_state_equal(before, np.random.get_state())


def test_random_state_none_uses_global_state():
    y = np.arange(2000) % 4
    np.random.seed(5)
    a = make_label_noise(y, noise_rate=0.5)
    np.random.seed(5)
    b = make_label_noise(y, noise_rate=0.5)
    assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# classes, info and parameter combinations
# ---------------------------------------------------------------------------


def test_classes_superset_allows_flips_to_absent_classes():
    y = np.array([0, 1] * 5000)
    y_noisy, info = make_label_noise(
        y, noise_rate=1.0, classes=[0, 1, 2], random_state=0, return_info=True
    )
    assert set(np.unique(y_noisy)) == {0, 1, 2}
    assert info.transition_matrix.shape == (3, 3)
    assert_array_equal(info.classes, [0, 1, 2])


def test_classes_superset_with_object_strings():
    y = np.array(["a", "b"] * 500, dtype=object)
    y_noisy = make_label_noise(y, 1.0, classes=["a", "b", "longer"], random_state=0)
    assert y_noisy.dtype == object
    assert "longer" in set(y_noisy)


def test_noise_info_fields():
    y = np.array(["a", "b", "c", "a"] * 250)
    y_noisy, info = make_label_noise(y, 0.3, random_state=1, return_info=True)
    assert isinstance(info, NoiseInfo)
    assert_allclose(info.transition_matrix, symmetric_transition_matrix(3, 0.3))
    assert_array_equal(info.classes, ["a", "b", "c"])
    assert info.noise_mask.dtype == bool
    assert_array_equal(info.noise_mask, y_noisy != y)
    assert isinstance(info.actual_noise_rate, float)
    assert info.actual_noise_rate == info.noise_mask.mean()


def test_transition_matrix_alone_or_with_kind_matrix():
    y = np.arange(3000) % 3
    matrix = pair_transition_matrix(3, 0.3)
    a = make_label_noise(y, transition_matrix=matrix, random_state=0)
    b = make_label_noise(y, kind="matrix", transition_matrix=matrix, random_state=0)
    c = make_label_noise(y, 0.3, "pair", random_state=0)
    assert_array_equal(a, b)
    assert_array_equal(a, c)


def test_row_sum_tolerance():
    y = [0, 1, 0, 1]
    make_label_noise(y, transition_matrix=[[0.5, 0.5 + 5e-7], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"rows \[0\] sum to"):
        make_label_noise(y, transition_matrix=[[0.5, 0.5 + 5e-6], [0.0, 1.0]])


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

Y = np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), float("inf")])
@pytest.mark.parametrize(
    "func",
    [
        lambda eps: symmetric_transition_matrix(3, eps),
        lambda eps: pair_transition_matrix(3, eps),
        lambda eps: mapping_transition_matrix(3, {0: 1}, eps),
        lambda eps: make_label_noise(Y, eps),
        lambda eps: make_label_noise(Y, eps, "pair"),
    ],
)
def test_noise_rate_out_of_range(func, bad):
    with pytest.raises(ValueError, match=r"noise_rate must be in \[0, 1\]; got"):
        func(bad)


@pytest.mark.parametrize("bad", ["0.2", True, None, [0.2]])
def test_noise_rate_wrong_type(bad):
    with pytest.raises(TypeError, match="noise_rate must be a real number"):
        symmetric_transition_matrix(3, bad)


@pytest.mark.parametrize("bad", [1, 0, -3])
def test_n_classes_too_small(bad):
    for func in (symmetric_transition_matrix, pair_transition_matrix):
        match = rf"n_classes must be an integer >= 2; got {bad}"
        with pytest.raises(ValueError, match=match):
            func(bad, 0.1)
    with pytest.raises(ValueError, match="n_classes must be"):
        mapping_transition_matrix(bad, {}, 0.1)


@pytest.mark.parametrize("bad", [2.0, "3", True])
def test_n_classes_wrong_type(bad):
    with pytest.raises(TypeError, match="n_classes must be an integer"):
        symmetric_transition_matrix(bad, 0.1)


def test_mapping_transition_matrix_errors():
    with pytest.raises(TypeError, match="mapping must be a dict"):
        mapping_transition_matrix(3, [(0, 1)], 0.1)
    with pytest.raises(ValueError, match=r"in \[0, 3\) for n_classes=3; got 3"):
        mapping_transition_matrix(3, {0: 3}, 0.1)
    with pytest.raises(ValueError, match=r"got -1"):
        mapping_transition_matrix(3, {-1: 0}, 0.1)
    with pytest.raises(TypeError, match="integer class indices; got 'a'"):
        mapping_transition_matrix(3, {"a": 0}, 0.1)


SQUARE = r"square 2-D array; got an array of shape "


@pytest.mark.parametrize(
    "matrix, error, match",
    [
        ([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], ValueError, SQUARE + r"\(2, 3\)"),
        ([0.2, 0.3, 0.5], ValueError, SQUARE + r"\(3,\)"),
        (
            np.eye(2),
            ValueError,
            r"shape \(3, 3\) to match the 3 classes; got .*\(2, 2\)",
        ),
        (np.eye(4), ValueError, r"must have shape \(3, 3\)"),
        (
            [[1.2, -0.2, 0], [0, 1, 0], [0, 0, 1]],
            ValueError,
            r"non-negative probabilities; got -0.2 at position \(0, 1\)",
        ),
        (
            [[0.5, 0.4, 0], [0, 1, 0], [0, 0, 1]],
            ValueError,
            r"every row of transition_matrix must sum to 1 .*rows \[0\] sum to \[0.9",
        ),
        ([[np.nan, 1, 0], [0, 1, 0], [0, 0, 1]], ValueError, "NaN or infinity"),
        ([["a", "b", "c"]] * 3, TypeError, "must be a square 2-D array-like"),
    ],
)
def test_transition_matrix_errors(matrix, error, match):
    with pytest.raises(error, match=match):
        make_label_noise(Y, transition_matrix=matrix)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(noise_rate=0.1, kind="gaussian"),
            r"kind must be one of \['symmetric', 'pair', 'asymmetric', 'matrix', "
            r"'instance'\]; got 'gaussian'",
        ),
        (dict(noise_rate=0.1, kind=None), "kind must be one of"),
        (
            dict(noise_rate=0.1, kind="asymmetric"),
            r"kind='asymmetric' requires a mapping",
        ),
        (dict(kind="matrix"), "kind='matrix' requires a transition_matrix"),
        (dict(), "noise_rate is required for kind='symmetric'"),
        (dict(kind="pair"), "noise_rate is required for kind='pair'"),
        (
            dict(noise_rate=0.1, transition_matrix=np.eye(3)),
            "noise_rate and mapping must be None when transition_matrix",
        ),
        (
            dict(noise_rate=0.1, kind="pair", transition_matrix=np.eye(3)),
            "transition_matrix can only be used with kind='matrix'; got kind='pair'",
        ),
        (
            dict(noise_rate=0.1, mapping={0: 1}),
            "mapping is only used with kind='asymmetric'; got kind='symmetric'",
        ),
        (
            dict(noise_rate=0.1, kind="asymmetric", mapping={0: 5}),
            r"mapping contains labels that are not in classes: \[5\]",
        ),
        (
            dict(noise_rate=0.1, kind="asymmetric", mapping={"0": 1}),
            r"not in classes: \['0'\]",
        ),
        (
            dict(noise_rate=0.1, classes=[0, 1]),
            r"y contains labels that are not in classes: \[2\]",
        ),
        (
            dict(noise_rate=0.1, classes=[0, 1, 1, 2]),
            "classes must not contain duplicates",
        ),
        (dict(noise_rate=0.1, classes=[[0, 1, 2]]), "classes must be a non-empty 1-D"),
        (
            dict(noise_rate=0.1, classes=["0", "1", "2"]),
            r"cannot be stored without change in the dtype of y \(int64\)",
        ),
        (dict(noise_rate=0.1, classes=[0.5, 1, 2]), "cannot be stored without change"),
        (dict(noise_rate=0.1, random_state="seed"), "cannot be used to seed"),
    ],
)
def test_make_label_noise_parameter_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_label_noise(Y, **kwargs)


def test_make_label_noise_mapping_type_error():
    with pytest.raises(TypeError, match="mapping must be a dict"):
        make_label_noise(Y, 0.1, "asymmetric", mapping=[(0, 1)])


def test_string_classes_too_wide_for_y_dtype():
    with pytest.raises(ValueError, match=r"dtype of y \(<U1\).*dtype=object"):
        make_label_noise(np.array(["a", "b"]), 0.5, classes=["a", "b", "ccc"])


@pytest.mark.parametrize(
    "y, match",
    [
        ([], "y must contain at least one label; got an empty array"),
        (np.zeros((3, 2)), r"y must be a 1-D array of labels; got .* shape \(3, 2\)"),
        (np.zeros((4, 1)), r"shape \(4, 1\)"),
        (5, r"shape \(\)"),
        ([1, 1, 1], r"at least 2 classes are needed .* got \[1\]"),
        ([0.0, np.nan, 1.0], "y contains NaN"),
    ],
)
def test_make_label_noise_bad_y(y, match):
    with pytest.raises(ValueError, match=match):
        make_label_noise(y, noise_rate=0.1)


def test_unsortable_object_labels():
    with pytest.raises(TypeError, match="mutually comparable"):
        make_label_noise(np.array(["a", 1, None], dtype=object), 0.1)


def test_single_class_ok_with_explicit_classes():
    y_noisy = make_label_noise([1, 1, 1, 1], 1.0, classes=[1, 2], random_state=0)
    assert_array_equal(y_noisy, [2, 2, 2, 2])


# ---------------------------------------------------------------------------
# estimate_transition_matrix and label_precision
# ---------------------------------------------------------------------------


def test_estimate_transition_matrix_by_hand():
    y_true = ["a", "a", "a", "a", "b", "b", "c"]
    y_noisy = ["a", "a", "b", "c", "b", "a", "c"]
    expected = [[0.5, 0.25, 0.25], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]
    assert_allclose(estimate_transition_matrix(y_true, y_noisy), expected)
    # rows and columns follow the given class order
    reordered = estimate_transition_matrix(y_true, y_noisy, classes=["c", "b", "a"])
    assert_allclose(reordered, np.array(expected)[::-1, ::-1])


def test_estimate_transition_matrix_absent_true_class_is_nan():
    matrix = estimate_transition_matrix([0, 0], [0, 1])
    assert_allclose(matrix[0], [0.5, 0.5])
    assert np.isnan(matrix[1]).all()


def test_estimate_transition_matrix_errors():
    with pytest.raises(ValueError, match="same length; got 3 and 2"):
        estimate_transition_matrix([0, 1, 1], [0, 1])
    match = r"y_noisy contains labels that are not in classes: \[7\]"
    with pytest.raises(ValueError, match=match):
        estimate_transition_matrix([0, 1], [0, 7], classes=[0, 1])
    with pytest.raises(ValueError, match="y_true must contain at least one label"):
        estimate_transition_matrix([], [])
    with pytest.raises(ValueError, match="classes must not contain duplicates"):
        estimate_transition_matrix([0, 1], [0, 1], classes=[0, 1, 0])


def test_label_precision_by_hand():
    y_true = np.array([0, 1, 2, 3, 4])
    y_noisy = np.array([0, 1, 0, 0, 4])
    assert label_precision(y_true, y_noisy, [True, True, True, False, False]) == 2 / 3
    assert label_precision(y_true, y_noisy, [True] * 5) == 3 / 5
    assert label_precision(list("abc"), list("abd"), [False, False, True]) == 0.0


def test_label_precision_nothing_kept_is_nan():
    assert np.isnan(label_precision([0, 1], [0, 1], [False, False]))
    assert np.isnan(label_precision([], [], np.array([], dtype=bool)))


def test_label_precision_with_noise_mask():
    y = np.arange(1000) % 5
    y_noisy, info = make_label_noise(y, 0.4, random_state=0, return_info=True)
    assert label_precision(y, y_noisy, ~info.noise_mask) == 1.0
    assert label_precision(y, y_noisy, info.noise_mask) == 0.0
    assert label_precision(y, y_noisy, np.ones(1000, bool)) == 1 - info.actual_noise_rate


def test_label_precision_errors():
    with pytest.raises(ValueError, match="same length; got 3, 3 and 2"):
        label_precision([0, 1, 2], [0, 1, 2], [True, False])
    with pytest.raises(ValueError, match="same length; got 3, 2 and 3"):
        label_precision([0, 1, 2], [0, 1], [True, False, True])
    match = "kept_mask must be a boolean array; got dtype int64"
    with pytest.raises(TypeError, match=match):
        label_precision([0, 1], [0, 1], np.array([0, 1]))
    with pytest.raises(ValueError, match=r"kept_mask must be 1-D"):
        label_precision([0, 1], [0, 1], np.array([[True, False]]))


# ---------------------------------------------------------------------------
# Instance-dependent noise (kind="instance", Xia et al., 2020)
# ---------------------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from skcoteach.noise._instance import (  # noqa: E402
    _flip_rate_loc,
    _flip_rates,
    _instance_probabilities,
    _truncated_mean,
)


def _idn_data(n_samples, n_classes=10, n_features=32, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n_samples, n_features)), rng.randint(n_classes, size=n_samples)


def _wrong_label_distribution(proba, true_index):
    """Per-sample distribution of the new label given that it changed."""
    rows = np.arange(proba.shape[0])
    wrong = proba.copy()
    flip = 1 - wrong[rows, true_index]
    wrong[rows, true_index] = 0.0
    return wrong / flip[:, None]


def _histogram(labels, n_classes):
    return np.bincount(labels, minlength=n_classes) / labels.size


@pytest.mark.parametrize("noise_rate", [0.2, 0.4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_instance_realised_rate_close_to_requested(noise_rate, seed):
    X, y = _idn_data(10_000, seed=seed)
    y_noisy, info = make_label_noise(
        y, noise_rate, kind="instance", X=X, random_state=seed, return_info=True
    )
    assert abs(info.actual_noise_rate - noise_rate) <= 0.01
    assert info.actual_noise_rate == np.mean(y_noisy != y)
    # 0-255 pixels (a larger scale, all positive) give the same rate
    pixels = np.random.RandomState(seed).randint(256, size=(10_000, 8, 8))
    y_px = make_label_noise(y, noise_rate, kind="instance", X=pixels, random_state=seed)
    assert abs(np.mean(y_px != y) - noise_rate) <= 0.01


@pytest.mark.parametrize("noise_rate", [0.05, 0.1, 0.2, 0.4, 0.9])
def test_instance_flip_rate_is_unbiased(noise_rate):
    # Truncating at 0 would raise the mean flip rate above noise_rate (0.2055
    # for 0.2 with the reference's loc=noise_rate): the loc is corrected.
    n = 200_000
    X, y = _idn_data(n, n_features=4, seed=3)
    y_noisy, info = make_label_noise(
        y, noise_rate, kind="instance", X=X, random_state=0, return_info=True
    )
    se = np.sqrt(noise_rate * (1 - noise_rate) / n)
    assert abs(info.actual_noise_rate - noise_rate) < SIGMAS * se
    # the expected matrix: rows sum to 1, mean flip probability noise_rate
    matrix = info.transition_matrix
    assert matrix.shape == (10, 10)
    assert_allclose(matrix.sum(axis=1), 1.0)
    n_per_class = np.bincount(y, minlength=10)
    assert abs(np.dot(1 - np.diag(matrix), n_per_class) / n - noise_rate) < 0.002
    estimated = estimate_transition_matrix(y, y_noisy, classes=np.arange(10))
    _within_binomial_tolerance(estimated, matrix, n_per_class)


def test_instance_flip_rate_loc_calibration():
    for rate in [0.001, 0.01, 0.1, 0.2, 0.3, 0.5, 0.7, 0.99]:
        assert abs(_truncated_mean(_flip_rate_loc(rate)) - rate) < 1e-9
    assert _flip_rate_loc(0.2) < 0.2
    assert abs(_flip_rate_loc(0.4) - 0.4) < 1e-4  # no truncation: the reference's loc
    assert _flip_rate_loc(0.5) == pytest.approx(0.5)
    # the reference's loc=noise_rate would give these expected rates
    assert _truncated_mean(0.2) == pytest.approx(0.2055, abs=1e-4)
    assert _truncated_mean(0.0) == pytest.approx(0.0798, abs=1e-4)


def test_instance_flip_probability_varies_across_samples():
    rates = _flip_rates(0.3, 100_000, np.random.RandomState(0))
    assert rates.shape == (100_000,)
    assert (rates >= 0).all() and (rates <= 1).all()
    assert abs(rates.mean() - 0.3) < 0.002
    assert abs(rates.std() - 0.1) < 0.002  # std 0.1, almost untruncated at 0.3
    assert_array_equal(_flip_rates(0.0, 5, np.random.RandomState(0)), np.zeros(5))
    assert_array_equal(_flip_rates(1.0, 5, np.random.RandomState(0)), np.ones(5))


def test_instance_probabilities_structure():
    X, y = _idn_data(2000, n_classes=6, n_features=5)
    rates = _flip_rates(0.4, 2000, np.random.RandomState(0))
    proba = _instance_probabilities(X, y, 6, rates, np.random.RandomState(1))
    rows = np.arange(2000)
    assert proba.shape == (2000, 6)
    assert (proba >= 0).all()
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(proba[rows, y], 1 - rates)  # never "flips" to its own class
    # the wrong labels of a class do not follow one fixed distribution
    wrong = _wrong_label_distribution(proba, y)
    assert wrong[y == 0].std(axis=0).max() > 0.05


def test_instance_identical_x_gives_identical_wrong_label_distribution():
    rng = np.random.RandomState(0)
    x_a, x_b = rng.normal(size=(2, 7))
    X = np.array([x_a, x_a, 255 * x_a, x_b, x_a, np.zeros(7)])
    y = np.array([0, 0, 0, 0, 1, 1])
    rates = np.full(6, 0.5)
    proba = _instance_probabilities(X, y, 4, rates, np.random.RandomState(1))
    wrong = _wrong_label_distribution(proba, y)
    assert_allclose(wrong[1], wrong[0], rtol=1e-12)  # duplicated sample
    assert_allclose(wrong[2], wrong[0], rtol=1e-12)  # only the direction counts
    assert np.abs(wrong[3] - wrong[0]).max() > 0.01  # another x, same class
    assert np.abs(wrong[4][[2, 3]] - wrong[0][[2, 3]]).max() > 0.01  # same x, other class
    assert_allclose(wrong[5], [1 / 3, 0, 1 / 3, 1 / 3])  # zero row: uniform


def test_instance_wrong_label_depends_on_x():
    # Class 0 only, half the samples at x_a, half at x_b: the new labels of the
    # two halves follow different distributions; two halves of x_a agree.
    n, n_classes = 40_000, 5
    x_a, x_b = np.random.RandomState(0).normal(size=(2, 16))
    X = np.repeat([x_a, x_b], n // 2, axis=0)
    y = np.zeros(n, dtype=int)
    y_noisy, info = make_label_noise(
        y, 0.5, kind="instance", X=X, classes=np.arange(n_classes), random_state=0,
        return_info=True,
    )
    flipped_a = y_noisy[: n // 2][info.noise_mask[: n // 2]]
    flipped_b = y_noisy[n // 2 :][info.noise_mask[n // 2 :]]
    hist_a = _histogram(flipped_a, n_classes)
    hist_b = _histogram(flipped_b, n_classes)
    half = flipped_a.size // 2
    hist_a1 = _histogram(flipped_a[:half], n_classes)
    hist_a2 = _histogram(flipped_a[half:], n_classes)
    assert hist_a[0] == hist_b[0] == 0
    assert 0.5 * np.abs(hist_a - hist_b).sum() > 0.1
    assert 0.5 * np.abs(hist_a1 - hist_a2).sum() < 0.03


def test_instance_shuffled_x_changes_the_flips():
    # x_s tells the class here; with X shuffled against y the new labels of a
    # class come from a mixture, so their distribution changes.
    n, n_classes = 30_000, 4
    centres = np.random.RandomState(0).normal(size=(n_classes, 12))
    y = np.arange(n) % n_classes
    X = centres[y]
    X_shuffled = X[np.random.RandomState(1).permutation(n)]
    y_aligned = make_label_noise(y, 0.5, kind="instance", X=X, random_state=0)
    y_shuffled = make_label_noise(y, 0.5, kind="instance", X=X_shuffled, random_state=0)
    changed = 0.0
    for k in range(n_classes):
        in_class = y == k
        hist_aligned = _histogram(y_aligned[in_class & (y_aligned != y)], n_classes)
        hist_shuffled = _histogram(y_shuffled[in_class & (y_shuffled != y)], n_classes)
        changed = max(changed, 0.5 * np.abs(hist_aligned - hist_shuffled).sum())
    assert changed > 0.1
    assert abs(np.mean(y_shuffled != y) - 0.5) < 0.02  # the rate does not depend on X


def test_instance_extreme_rates():
    X, y = _idn_data(5000, n_classes=5, n_features=3)
    y_noisy, info = make_label_noise(y, 0.0, kind="instance", X=X, random_state=0,
                                     return_info=True)
    assert_array_equal(y_noisy, y)
    assert info.actual_noise_rate == 0.0
    assert_array_equal(info.transition_matrix, np.eye(5))
    y_noisy = make_label_noise(y, 1.0, kind="instance", X=X, random_state=0)
    assert (y_noisy != y).all()
    assert set(np.unique(y_noisy)) == set(range(5))


@pytest.mark.parametrize(
    "y",
    [
        np.array([-5, 7, 100, 7] * 250),
        np.array(["cat", "dog", "bird", "dog"] * 250),
        np.array(["cat", "dog", "bird", "dog"] * 250, dtype=object),
        np.array([0.5, 1.5, 2.5, 1.5] * 250),
        np.array([True, False, False, True] * 250),
        ["x", "yy", "zzz", "x"] * 250,
    ],
    ids=["noncontiguous", "str", "object", "float", "bool", "str-list"],
)
def test_instance_label_types_are_preserved(y):
    expected = np.asarray(y)
    X = np.random.RandomState(0).normal(size=(expected.size, 6))
    y_noisy, info = make_label_noise(
        y, 0.5, kind="instance", X=X, random_state=0, return_info=True
    )
    assert y_noisy.dtype == expected.dtype
    assert set(y_noisy.tolist()) <= set(expected.tolist())
    assert_array_equal(info.classes, np.unique(expected))
    assert_array_equal(info.noise_mask, y_noisy != expected)
    assert 0.4 < info.actual_noise_rate < 0.6


def test_instance_classes_superset_and_absent_class_row():
    y = np.array(["a", "b"] * 2000, dtype=object)
    X = np.random.RandomState(0).normal(size=(4000, 3))
    y_noisy, info = make_label_noise(
        y, 0.6, kind="instance", X=X, classes=["a", "b", "c"], random_state=0,
        return_info=True,
    )
    assert "c" in set(y_noisy)
    assert_array_equal(info.classes, ["a", "b", "c"])
    assert_allclose(info.transition_matrix[:2].sum(axis=1), 1.0)
    assert np.isnan(info.transition_matrix[2]).all()  # no sample of class "c"


def test_instance_inputs_are_never_modified_and_shapes_are_flattened():
    X, y = _idn_data(3000, n_classes=4, n_features=12)
    X_copy, y_copy = X.copy(), y.copy()
    X.flags.writeable = False
    y.flags.writeable = False
    a = make_label_noise(y, 0.4, kind="instance", X=X, random_state=0)
    assert_array_equal(X, X_copy)
    assert_array_equal(y, y_copy)
    assert not np.shares_memory(a, y)
    # images (n, h, w, c), lists, float32 and scaled copies give the same labels
    b = make_label_noise(y, 0.4, kind="instance", X=X.reshape(3000, 2, 3, 2), random_state=0)
    c = make_label_noise(y, 0.4, kind="instance", X=X.tolist(), random_state=0)
    d = make_label_noise(y, 0.4, kind="instance", X=1000 * X, random_state=0)
    assert_array_equal(a, b)
    assert_array_equal(a, c)
    assert_array_equal(a, d)
    e = make_label_noise(y, 0.4, kind="instance", X=X.astype(np.float32), random_state=0)
    assert np.mean(a != e) < 0.01


def test_instance_pandas_features():
    pd = pytest.importorskip("pandas")
    X, y = _idn_data(500, n_classes=3, n_features=4)
    frame = pd.DataFrame(X, columns=list("abcd"))
    assert_array_equal(
        make_label_noise(y, 0.3, kind="instance", X=frame, random_state=0),
        make_label_noise(y, 0.3, kind="instance", X=X, random_state=0),
    )


def test_instance_randomness():
    X, y = _idn_data(5000)
    a = make_label_noise(y, 0.4, kind="instance", X=X, random_state=7)
    b = make_label_noise(y, 0.4, kind="instance", X=X, random_state=np.random.RandomState(7))
    c = make_label_noise(y, 0.4, kind="instance", X=X, random_state=8)
    assert_array_equal(a, b)
    assert (a != c).mean() > 0.2
    rng = np.random.RandomState(0)
    d = make_label_noise(y, 0.4, kind="instance", X=X, random_state=rng)
    e = make_label_noise(y, 0.4, kind="instance", X=X, random_state=rng)
    assert (d != e).any()
    np.random.seed(123)
    before = np.random.get_state()
    make_label_noise(y, 0.4, kind="instance", X=X, random_state=0)
    assert _global_state_equal(before, np.random.get_state())
    np.random.seed(5)
    f = make_label_noise(y, 0.4, kind="instance", X=X)
    np.random.seed(5)
    assert_array_equal(f, make_label_noise(y, 0.4, kind="instance", X=X))


X6 = np.arange(18.0).reshape(6, 3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(), ValueError, r"kind='instance' requires the features X .*got X=None"),
        (
            dict(X=X6[:5]),
            ValueError,
            "X and y must have the same number of samples; got 5 rows in X and 6 "
            "labels in y",
        ),
        (dict(X=np.zeros((6, 0))), ValueError, r"at least one feature; .*\(6, 0\)"),
        (dict(X=np.zeros((6, 2, 0))), ValueError, "at least one feature"),
        (dict(X=np.arange(6.0)), ValueError, r"shape \(n_samples, n_features, ...\)"),
        (dict(X=np.where(X6 > 16, np.nan, X6)), ValueError, "X must not contain NaN"),
        (dict(X=np.where(X6 > 16, np.inf, X6)), ValueError, "NaN or infinity"),
        (dict(X=[["a"]] * 6), TypeError, "X must be a numeric array-like"),
        (dict(X=X6 + 1j), TypeError, "X must be a numeric array-like"),
        (
            dict(X=X6, transition_matrix=np.eye(3)),
            ValueError,
            "transition_matrix can only be used with kind='matrix'; got kind='instance'",
        ),
        (
            dict(X=X6, mapping={0: 1}),
            ValueError,
            "mapping is only used with kind='asymmetric'; got kind='instance'",
        ),
    ],
)
def test_instance_errors(kwargs, error, match):
    kwargs = {"noise_rate": 0.2, **kwargs}
    if "transition_matrix" in kwargs:
        kwargs["noise_rate"] = None
    with pytest.raises(error, match=match):
        make_label_noise(Y, kind="instance", **kwargs)


def test_instance_sparse_features_are_rejected():
    sp = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"X must be a dense array .*toarray"):
        make_label_noise(Y, 0.2, kind="instance", X=sp.csr_matrix(X6))


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_instance_noise_rate_checks(bad):
    with pytest.raises(ValueError, match=r"noise_rate must be in \[0, 1\]"):
        make_label_noise(Y, bad, kind="instance", X=X6)
    with pytest.raises(TypeError, match="noise_rate must be a real number"):
        make_label_noise(Y, "0.2", kind="instance", X=X6)
    with pytest.raises(ValueError, match="noise_rate is required for kind='instance'"):
        make_label_noise(Y, kind="instance", X=X6)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(noise_rate=0.2),
        dict(noise_rate=0.2, kind="pair"),
        dict(noise_rate=0.2, kind="asymmetric", mapping={0: 1}),
        dict(transition_matrix=np.eye(3)),
    ],
)
def test_features_for_other_kinds_are_an_error(kwargs):
    with pytest.raises(ValueError, match=r"X is only used with kind='instance'; got kind="):
        make_label_noise(Y, X=X6, **kwargs)


@pytest.mark.parametrize(
    "y, match",
    [
        ([], "y must contain at least one label"),
        ([1, 1, 1], "at least 2 classes are needed"),
        ([0.0, np.nan, 1.0], "y contains NaN"),
    ],
)
def test_instance_bad_y(y, match):
    with pytest.raises(ValueError, match=match):
        make_label_noise(y, 0.2, kind="instance", X=np.ones((len(y), 2)))


@settings(max_examples=40, deadline=None)
@given(
    n_samples=st.integers(2, 60),
    n_classes=st.integers(2, 6),
    n_features=st.integers(1, 8),
    noise_rate=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_instance_noise_properties(n_samples, n_classes, n_features, noise_rate, seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features)) * rng.choice([1e-3, 1.0, 255.0])
    y = rng.randint(n_classes, size=n_samples)
    classes = np.arange(n_classes)
    y_noisy, info = make_label_noise(
        y, noise_rate, kind="instance", X=X, classes=classes, random_state=seed,
        return_info=True,
    )
    assert_array_equal(
        y_noisy, make_label_noise(y, noise_rate, kind="instance", X=X, classes=classes,
                                  random_state=seed)
    )
    assert set(y_noisy.tolist()) <= set(range(n_classes))
    assert_array_equal(info.noise_mask, y_noisy != y)
    present = np.isin(classes, y)
    assert_allclose(info.transition_matrix[present].sum(axis=1), 1.0)
    assert (info.transition_matrix[present] >= 0).all()
    assert np.isnan(info.transition_matrix[~present]).all()
    if noise_rate == 0.0:
        assert_array_equal(y_noisy, y)
    if noise_rate == 1.0:
        assert (y_noisy != y).all()

    # per-sample distributions: the true class keeps 1 - q_s, and the wrong
    # labels follow x_s: permuting X within a class permutes them
    rates = _flip_rates(noise_rate, n_samples, np.random.RandomState(seed))
    proba = _instance_probabilities(X, y, n_classes, rates, np.random.RandomState(seed))
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(proba[np.arange(n_samples), y], 1 - rates)
    perm = np.arange(n_samples)
    for k in range(n_classes):
        members = np.flatnonzero(y == k)
        perm[members] = rng.permutation(members)
    proba_perm = _instance_probabilities(
        X[perm], y, n_classes, np.full(n_samples, 0.5), np.random.RandomState(seed)
    )
    proba_ref = _instance_probabilities(
        X, y, n_classes, np.full(n_samples, 0.5), np.random.RandomState(seed)
    )
    assert_allclose(proba_perm, proba_ref[perm], rtol=1e-10, atol=1e-15)
