"""Tests of skcoteach.label_issues: the array helpers and find_label_issues."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skcoteach.label_issues import (
    find_label_issues,
    find_label_issues_from_arrays,
    label_quality_scores,
    num_label_issues,
)
from skcoteach.noise import make_label_noise

from .conftest import tiny_mlp


# --------------------------------------------------------------------------
# Arrays (no TensorFlow)
# --------------------------------------------------------------------------
def _noisy_probs(n=600, n_classes=4, noise=0.3, seed=0):
    """Confident probabilities of the true classes and labels with ``noise`` flipped."""
    rng = np.random.RandomState(seed)
    truth = rng.randint(0, n_classes, n)
    proba = rng.dirichlet(np.ones(n_classes) * 0.3, n) * 0.3
    proba[np.arange(n), truth] += 0.7
    labels = make_label_noise(truth, noise, classes=np.arange(n_classes), random_state=seed)
    return labels, proba, labels != truth


def test_scores_combine_probability_loss_and_kept():
    labels = np.array([0, 1, 1, 0])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.5, 0.5]])
    loss = np.array([0.1, 2.0, np.nan, 0.7])
    kept = np.array([1.0, 0.5, 0.0, np.nan])
    expected = np.array([
        np.sqrt(0.9 * np.exp(-0.1)) * 1.0,
        np.sqrt(0.6 * np.exp(-2.0)) * 0.75,
        0.2 * 0.5,  # no loss recorded: the probability alone
        np.sqrt(0.5 * np.exp(-0.7)),  # no kept share recorded: no factor
    ])
    np.testing.assert_allclose(
        label_quality_scores(labels, proba, sample_loss=loss, sample_kept=kept), expected
    )
    np.testing.assert_allclose(label_quality_scores(labels, proba), [0.9, 0.6, 0.2, 0.5])


def test_array_functions_do_not_mutate_inputs():
    labels, proba, _ = _noisy_probs()
    loss = -np.log(proba[np.arange(len(labels)), labels])
    proba[0] = [1 + 1e-7, 0.0, 0.0, 0.0]  # float32 rounding: clipped inside, not here
    kept = (loss < np.median(loss)).astype(float)
    copies = [a.copy() for a in (labels, proba, loss, kept)]
    find_label_issues_from_arrays(labels, proba, sample_loss=loss, sample_kept=kept,
                                  return_indices_ranked_by="label_quality")
    label_quality_scores(labels, proba, sample_loss=loss, sample_kept=kept)
    for before, after in zip(copies, (labels, proba, loss, kept)):
        np.testing.assert_array_equal(before, after)


def test_count_comes_from_the_data():
    labels, proba, flipped = _noisy_probs(noise=0.3)
    clean = np.argmax(proba, axis=1)
    assert num_label_issues(clean, proba) == 0
    assert find_label_issues_from_arrays(clean, proba).sum() == 0
    n_issues = num_label_issues(labels, proba)
    assert abs(n_issues - flipped.sum()) <= 0.1 * flipped.sum()
    mask = find_label_issues_from_arrays(labels, proba)
    assert mask.sum() == n_issues
    assert np.mean(flipped[mask]) > 0.95 and np.mean(mask[flipped]) > 0.9


def test_count_is_calibrated_to_the_class_sizes():
    # Class 0: 4 samples, 2 of them confidently class 1; class 1: 8 samples,
    # only 2 of them confident of anything.  The confident joint counts
    # [[2, 2], [0, 2]]; rescaled to the 4 and 8 samples: [[2, 2], [0, 8]],
    # so 2 of 12 labels are wrong (uncalibrated: the same 2 of 6 counted).
    labels = np.array([0, 0, 0, 0] + [1] * 8)
    proba = np.array(
        [[0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9]]
        + [[0.05, 0.95]] * 2 + [[0.45, 0.55]] * 6
    )
    # t0 = 0.5, t1 = 0.6375: the last six are confident of neither class.
    assert num_label_issues(labels, proba) == 2
    labels_big = np.concatenate([labels, np.ones(12, int)])
    proba_big = np.concatenate([proba, np.tile([[0.45, 0.55]], (12, 1))])
    # 12 more unconfident samples of class 1 change no count but class 1's size.
    assert num_label_issues(labels_big, proba_big) == 2


def test_a_probability_equal_to_the_threshold_is_confident():
    labels = np.array([0, 0, 1, 1])
    proba = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.0, 1.0]])
    # t0 = 0.5 is reached by sample 2 (labelled 1, t1 = 0.75 not reached).
    np.testing.assert_array_equal(
        find_label_issues_from_arrays(labels, proba, filter_by="confident_learning"),
        [False, False, True, False],
    )


def test_low_label_quality_flags_the_lowest_scores():
    labels, proba, _ = _noisy_probs(noise=0.2, seed=1)
    rng = np.random.RandomState(1)
    loss = rng.exponential(1.0, len(labels))
    kept = rng.choice([0.0, 0.5, 1.0], len(labels))
    scores = label_quality_scores(labels, proba, sample_loss=loss, sample_kept=kept)
    ranked = find_label_issues_from_arrays(
        labels, proba, sample_loss=loss, sample_kept=kept, return_indices_ranked_by="label_quality"
    )
    n_issues = num_label_issues(labels, proba)
    np.testing.assert_array_equal(ranked, np.argsort(scores, kind="stable")[:n_issues])
    by_confidence = find_label_issues_from_arrays(
        labels, proba, sample_loss=loss, sample_kept=kept,
        return_indices_ranked_by="self_confidence",
    )
    assert set(by_confidence) == set(ranked)
    self_confidence = proba[by_confidence, labels[by_confidence]]
    assert np.all(np.diff(self_confidence) >= 0)


def test_both_is_the_intersection():
    labels, proba, _ = _noisy_probs(noise=0.4, seed=2)
    loss = np.random.RandomState(2).exponential(1.0, len(labels))
    masks = {
        f: find_label_issues_from_arrays(labels, proba, sample_loss=loss, filter_by=f)
        for f in ("low_label_quality", "confident_learning", "both")
    }
    np.testing.assert_array_equal(
        masks["both"], masks["low_label_quality"] & masks["confident_learning"]
    )
    assert masks["both"].sum() < masks["low_label_quality"].sum()


def test_agrees_with_cleanlab():
    cleanlab = pytest.importorskip("cleanlab")
    from cleanlab.count import num_label_issues as cl_num_label_issues
    from cleanlab.filter import find_label_issues as cl_find_label_issues

    labels, proba, _ = _noisy_probs(n=800, n_classes=5, noise=0.35, seed=3)
    # A quarter of the samples without a clear class, so that the
    # calibration of the counts matters.
    proba[::4] = np.random.RandomState(3).dirichlet(np.ones(5), 200)
    assert num_label_issues(labels, proba) == cl_num_label_issues(
        labels, proba, estimation_method="off_diagonal_calibrated"
    ), cleanlab.__version__
    np.testing.assert_array_equal(
        find_label_issues_from_arrays(labels, proba, filter_by="confident_learning"),
        cl_find_label_issues(labels, proba, filter_by="confident_learning", n_jobs=1),
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": [0, 2]}, "integers in \\[0, 2\\)"),
        ({"labels": [0.0, 1.0]}, "integers"),
        ({"labels": [0, 1, 1]}, "shape \\(2,\\)"),
        ({"pred_probs": [[0.5, np.nan], [0.5, 0.5]]}, "without NaN"),
        ({"pred_probs": [1.0, 0.0]}, "n_samples, n_classes"),
        ({"sample_loss": [0.1, -1.0]}, "sample_loss must lie"),
        ({"sample_kept": [0.5, 2.0]}, "sample_kept must lie"),
        ({"sample_kept": [0.5]}, "sample_kept must have shape"),
        ({"filter_by": "prune_by_tau"}, "filter_by must be one of"),
        ({"return_indices_ranked_by": "loss"}, "return_indices_ranked_by must be"),
    ],
)
def test_array_errors(kwargs, match):
    args = {"labels": [0, 1], "pred_probs": [[0.9, 0.1], [0.2, 0.8]], **kwargs}
    with pytest.raises(ValueError, match=match):
        find_label_issues_from_arrays(args.pop("labels"), args.pop("pred_probs"), **args)


def test_any_classifier_from_probabilities_alone():
    X, y = load_digits(return_X_y=True)
    y_noisy, info = make_label_noise(y, 0.3, random_state=0, return_info=True)
    labels = np.array([f"digit {d}" for d in y_noisy])
    # Out-of-sample probabilities are what confident learning needs; a linear
    # model fitted on half of the data judges the other half.
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200, C=0.05))
    model.fit(X[::2], labels[::2])
    frame = find_label_issues(model, X[1::2], labels[1::2], as_frame=True)
    flipped = info.noise_mask[1::2]
    assert flipped[frame["index"]].mean() > 0.8 and len(frame) > 0.6 * flipped.sum()
    assert set(frame["given_label"]) <= set(labels)
    assert np.all(np.diff(frame["label_quality"]) >= 0)
    assert frame["sample_loss"].isna().all()


# --------------------------------------------------------------------------
# From a fitted CoTeachingClassifier (tiny networks)
# --------------------------------------------------------------------------
def _classifier(**params):
    from skcoteach import CoTeachingClassifier

    defaults = dict(model=tiny_mlp, model__hidden=32, epochs=20, Tk=5, batch_size=32,
                    optimizer__learning_rate=0.01, random_state=0)
    return CoTeachingClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def noisy_fit():
    """Digits with 40% symmetric noise and string labels; fitted with tau='auto'."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:900] / 16.0, y[:900]
    y_noisy, info = make_label_noise(y, 0.4, random_state=0, return_info=True)
    labels = np.array([f"d{d}" for d in y_noisy], dtype=object)
    clf = _classifier(tau="auto").fit(X, labels)
    return clf, X, labels, info.noise_mask


def test_finds_the_flipped_labels(noisy_fit):
    clf, X, labels, flipped = noisy_fit
    mask = find_label_issues(clf, X, labels)
    assert mask.dtype == bool and mask.shape == labels.shape
    precision, recall = flipped[mask].mean(), mask[flipped].mean()
    assert precision > 0.85 and recall > 0.8, (precision, recall)


def test_clean_labels_flag_almost_nothing():
    X, y = load_digits(return_X_y=True)
    X, y = X[:900] / 16.0, y[:900]
    clf = _classifier(tau=0.3).fit(X, y)
    # Both peers reject about tau of every batch, whatever the labels ...
    rejected = np.mean(clf.sample_kept_ == 0)
    assert rejected > 0.15
    # ... but the count of issues comes from the data (measured: 3.4%, the
    # tiny network's hardest digits).
    assert find_label_issues(clf, X, y).mean() < min(0.05, rejected / 4)


def test_frame_and_ranking(noisy_fit):
    clf, X, labels, _ = noisy_fit
    X_before, labels_before = X.copy(), labels.copy()
    frame = find_label_issues(clf, X, labels, as_frame=True)
    ranked = find_label_issues(clf, X, labels, return_indices_ranked_by="label_quality")
    mask = find_label_issues(clf, X, labels)
    assert list(frame.columns) == [
        "index", "given_label", "suggested_label", "label_quality", "sample_loss", "sample_kept"
    ]
    np.testing.assert_array_equal(frame["index"], ranked)
    np.testing.assert_array_equal(np.sort(ranked), np.flatnonzero(mask))
    assert np.all(np.diff(frame["label_quality"]) >= 0)
    np.testing.assert_array_equal(frame["given_label"], labels[ranked])
    np.testing.assert_array_equal(frame["suggested_label"], clf.predict(X[ranked]))
    np.testing.assert_allclose(frame["sample_loss"], clf.sample_loss_[ranked])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(labels, labels_before)


def test_input_errors(noisy_fit):
    clf, X, labels, _ = noisy_fit
    with pytest.raises(NotFittedError):
        find_label_issues(_classifier(), X, labels)
    bad = labels.copy()
    bad[3] = "cat"
    with pytest.raises(ValueError, match=r"labels \['cat'\] that are not among the classes"):
        find_label_issues(clf, X, bad)
    with pytest.raises(ValueError, match="same number of samples"):
        find_label_issues(clf, X, labels[:-1])
    with pytest.raises(ValueError, match="recorded training statistics for 900"):
        find_label_issues(clf, X[:-1], labels[:-1])
    with pytest.raises(ValueError, match="training_statistics must be"):
        find_label_issues(clf, X, labels, training_statistics="yes")
    # Data the estimator was not trained on: probabilities only.
    mask = find_label_issues(clf, X[:-1], labels[:-1], training_statistics=False)
    assert mask.shape == (899,)


def test_pipeline_and_validation_split():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500].astype(float), y[:500]
    y_noisy = make_label_noise(y, 0.3, random_state=1)
    pipe = make_pipeline(StandardScaler(), _classifier(tau=0.3, epochs=5, validation_split=0.2))
    pipe.fit(X, y_noisy)
    clf, Xt = pipe[-1], pipe[:-1].transform(X)
    assert clf.sample_loss_.shape == (400,)  # the last 100 samples were held out
    frame = find_label_issues(pipe, X, y_noisy, as_frame=True)
    direct = find_label_issues(clf, Xt, y_noisy, return_indices_ranked_by="label_quality")
    np.testing.assert_array_equal(frame["index"], direct)
    held_out = frame["index"] >= 400
    assert held_out.any() and (~held_out).any()
    assert frame.loc[held_out, "sample_loss"].isna().all()
    assert frame.loc[~held_out, "sample_loss"].notna().all()
    proba = clf.predict_proba(Xt)
    given = np.searchsorted(clf.classes_, y_noisy)
    rows = frame[held_out]
    np.testing.assert_allclose(rows["label_quality"], proba[rows["index"], given[rows["index"]]])
    with pytest.raises(ValueError, match="validation_split=0.2"):
        find_label_issues(clf, Xt[:450], y_noisy[:450], training_statistics=True)


def test_out_of_fold_probabilities_with_cv():
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, y = load_digits(return_X_y=True)
    X, y = X[:450].astype(float), y[:450]
    y_noisy, info = make_label_noise(y, 0.3, random_state=2, return_info=True)
    labels = np.array([f"d{d}" for d in y_noisy], dtype=object)
    X_before = X.copy()
    pipe = make_pipeline(StandardScaler(), _classifier(tau=0.3, epochs=8))  # never fitted
    folds = StratifiedKFold(3)
    frame = find_label_issues(pipe, X, labels, cv=folds, as_frame=True)
    # The probabilities of each sample come from the fold fits that did not see it.
    proba = cross_val_predict(pipe, X, labels, cv=folds, method="predict_proba")
    given = np.searchsorted(np.unique(labels), labels)
    expected = find_label_issues_from_arrays(given, proba, return_indices_ranked_by="label_quality")
    np.testing.assert_array_equal(frame["index"], expected)
    assert frame["sample_loss"].isna().all() and frame["sample_kept"].isna().all()
    np.testing.assert_array_equal(frame["given_label"], labels[expected])
    assert info.noise_mask[frame["index"]].mean() > 0.6  # most flagged labels were flipped
    np.testing.assert_array_equal(X, X_before)
    with pytest.raises(ValueError, match="with cv the probabilities are out-of-fold"):
        find_label_issues(pipe, X, labels, cv=3, training_statistics=True)
    with pytest.raises(ValueError, match="same number of samples"):
        find_label_issues(pipe, X, labels[:-1], cv=3)


def test_estimator_method_delegates(noisy_fit):
    clf, X, labels, _ = noisy_fit
    np.testing.assert_array_equal(
        clf.find_label_issues(X, labels, return_indices_ranked_by="label_quality"),
        find_label_issues(clf, X, labels, return_indices_ranked_by="label_quality"),
    )
