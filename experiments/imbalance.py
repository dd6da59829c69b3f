"""Imbalance benchmark: does the small-loss selection starve rare classes?

Binary ``make_classification`` tables with class shares 50/50, 80/20, 95/5 and
99/1, and scikit-learn's digits and MNIST's 60,000 training images made
long-tailed (class ``k`` subsampled to ``n_max * (1 / factor) ** (k / 9)``,
factor 10 and 100; MNIST from ``--data`` or ``$SKCOTEACH_DATA``); ``digits``
is the balanced subsample (factor 1), the control.  Each set is split
70 / 30 (stratified, per seed) and the training labels get symmetric noise,
with the split and noise of :func:`defaults.noisy_split`; every method
is fitted on the noisy labels and scored on the clean test labels.

Methods:

- ``skc_per_class``: ``CoTeachingClassifier(selection="per_class")``;
- ``skc_class_floor``: ``selection="class_floor"`` (a floor for the rare classes);
- ``skc_global``: ``selection="global"``, the selection of the papers;
- ``skc_half_rate``: ``tau`` = half the requested noise rate (a diagnostic:
  the rate is not known to a user), ``selection="global"``;
- ``skc_cv``: ``tau`` chosen among 0, 0.1, 0.2, 0.3 and ``"auto"`` by
  :class:`~skcoteach.model_selection.CoTeachingGridSearchCV` (3 folds,
  balanced accuracy on the noisy labels), the recipe of the user guide, with
  ``selection="global"`` (the default when these were recorded);
- ``skc_tau0``: ``tau=0``, the same networks trained on every sample;
- ``skc_tau0_balanced``: ``tau=0, class_weight="balanced"``;
- ``cl_lr``, ``cl_hgb``: cleanlab's ``CleanLearning`` around
  ``LogisticRegression`` / ``HistGradientBoostingClassifier``
  (:func:`defaults.make_method`).  Run with ``OMP_NUM_THREADS=1`` on a
  shared machine: the boosting's OpenMP threads waiting for busy cores made
  one run of ``cl_hgb`` 40-150 s instead of a few seconds.

The ``skc_*`` methods keep the estimator's other defaults (``tau="auto"``)
except ``epochs`` (``--epochs``) and ``batch_size`` (``--batch-size``, default
128, the estimator's before ``batch_size="auto"``), both recorded; a batch size other than 128 is a cell of
its own (``digits (batch 32)``).  Metrics: balanced accuracy,
macro-F1, the worst recall of a class, and how many classes holding at least
1% of the training set are never predicted on the test split.  Each result is
one line of ``<results>/results.jsonl``; a run already there is not repeated,
so the command can be interrupted and resumed.  ``report`` writes
``<results>/results.md`` with the targets.

Examples
--------
::

    OMP_NUM_THREADS=1 python experiments/imbalance.py run
    # the digits sets with smaller batches (also --batch-size 16)
    python experiments/imbalance.py run --methods skc_global skc_class_floor --batch-size 32 --datasets digits digits_lt10 digits_lt100
    python experiments/imbalance.py report
"""

import pathlib
import time
import warnings

import _common
import numpy as np
from defaults import make_method, noisy_split

DEFAULT_RESULTS = _common.RESULTS / "imbalance"

#: Binary tables: name -> (share of the minority class, number of rows).
BINARY = {"bin50": (0.5, 4000), "bin80": (0.2, 4000), "bin95": (0.05, 4000), "bin99": (0.01, 8000)}
#: Long-tailed digits: name -> imbalance factor (largest / smallest class).
LONG_TAILED = {"digits": 1, "digits_lt10": 10, "digits_lt100": 100, "mnist_lt10": 10, "mnist_lt100": 100}
DATASETS = (*BINARY, *LONG_TAILED)
METHODS = (
    "skc_per_class", "skc_class_floor", "skc_global", "skc_half_rate", "skc_cv", "skc_tau0",
    "skc_tau0_balanced", "cl_lr", "cl_hgb",
)
#: ``selection="class_floor"`` with the floor ``ceil(0.5 * R * n_c)`` (commit 470f811), replaced
#: by ``ceil(R * sqrt(n_c))``; its runs are kept in ``class_floor_half.jsonl`` and reported.
#: Other designs of the floor, measured, and the files that keep their runs: the floors
#: ``ceil(0.5 R n_c)`` and ``ceil(R sqrt(n_c))`` for every class (replaced), and the floor
#: of ``class_floor`` for the classes below 0.75 (not 0.9) of a balanced share.
REPLACED = {
    "skc_class_floor_half": "class_floor_half.jsonl",
    "skc_class_floor_every": "class_floor_every.jsonl",
    "skc_class_floor_rare075": "class_floor_rare075.jsonl",
}
#: The methods that differ only in the estimator's ``selection``.
SELECTIONS = ("skc_per_class", "skc_class_floor", *REPLACED, "skc_global")
#: A class with at least this share of the training set should be predicted.
MIN_SHARE = 0.01


def load(name, data=None):
    """``(X, y)`` of a benchmark set: one fixed table / subset (the seeds vary split and noise)."""
    from sklearn.datasets import load_digits, make_classification

    from skcoteach.datasets import load_mnist

    if name in BINARY:
        share, n = BINARY[name]
        return make_classification(
            n_samples=n,
            n_features=20,
            n_informative=10,
            n_redundant=4,
            weights=[1 - share, share],
            flip_y=0.0,
            random_state=0,
        )
    factor = LONG_TAILED[name]
    if name.startswith("mnist"):
        (X, y), _ = load_mnist(data)
        X = X.reshape(len(X), -1).astype(np.float32) / 255.0
    else:
        X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    n_max = np.bincount(y).min()
    keep = [
        rng.choice(np.flatnonzero(y == k), max(2, round(n_max * (1 / factor) ** (k / 9))), False)
        for k in range(10)
    ]
    keep = np.sort(np.concatenate(keep))
    return X[keep], y[keep]


def make(method, seed, epochs, rate, batch_size=128):
    """The unfitted classifier of ``method`` (``rate``: the requested noise rate)."""
    from skcoteach import CoTeachingClassifier
    from skcoteach.model_selection import CoTeachingGridSearchCV

    params = {"random_state": seed, "epochs": epochs, "batch_size": batch_size}
    if method == "skc_per_class":
        return CoTeachingClassifier(selection="per_class", **params)
    if method == "skc_class_floor":
        return CoTeachingClassifier(selection="class_floor", **params)
    if method == "skc_global":
        return CoTeachingClassifier(selection="global", **params)
    if method == "skc_half_rate":  # the forget rate's diagnostics: the selection as recorded
        return CoTeachingClassifier(tau=rate / 2, selection="global", **params)
    if method == "skc_cv":
        grid = {"tau": [0.0, 0.1, 0.2, 0.3, "auto"]}
        return CoTeachingGridSearchCV(
            CoTeachingClassifier(selection="global", **params), grid, cv=3,
            scoring="balanced_accuracy",
        )
    if method == "skc_tau0":
        return CoTeachingClassifier(tau=0.0, **params)
    if method == "skc_tau0_balanced":
        return CoTeachingClassifier(tau=0.0, class_weight="balanced", **params)
    return make_method(method, None, seed, None)


def scores(y_train, y_test, predicted):
    """Balanced accuracy, macro-F1, worst recall, classes (>= 1% of training) never predicted."""
    from sklearn.metrics import balanced_accuracy_score, f1_score, recall_score

    classes = np.unique(y_train)
    share = np.bincount(y_train, minlength=classes.size) / y_train.size
    never = [int(c) for c in classes if share[c] >= MIN_SHARE and not np.any(predicted == c)]
    recall = recall_score(y_test, predicted, labels=classes, average=None, zero_division=0)
    return {
        "balanced_accuracy": 100 * float(balanced_accuracy_score(y_test, predicted)),
        "macro_f1": 100 * float(f1_score(y_test, predicted, average="macro", zero_division=0)),
        "worst_recall": 100 * float(recall.min()),
        "accuracy": 100 * float(np.mean(predicted == y_test)),
        "never_predicted": never,
        "minority_share": float(share.min()),
    }


def run_one(dataset, X, y, rate, seed, method, epochs, batch_size=128):
    """Fit one method on one noisy split; return the record."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, X_test, y_train, y_noisy, y_test, info = noisy_split(X, y, "symmetric", rate, seed)
    clf = make(method, seed, epochs, rate, batch_size)
    model = clf if method.startswith("cl_") else make_pipeline(StandardScaler(), clf)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_train, y_noisy)
    record = {
        "dataset": dataset,
        "rate": rate,
        "seed": seed,
        "method": method,
        "n_train": len(X_train),
        "batch_size": batch_size,
        "actual_noise_rate": float(info.actual_noise_rate),
        **scores(y_train, y_test, model.predict(X_test)),
        "seconds": time.perf_counter() - start,
    }
    if method.startswith("skc_"):
        fitted = getattr(clf, "best_estimator_", clf)
        record.update(tau_=float(fitted.tau_), epochs=int(fitted.n_iter_))
    return record


def _key(record):
    keys = ("dataset", "rate", "seed", "method")
    return (*(record[k] for k in keys), record.get("batch_size", 128))


def run(args):
    """Run every requested combination not yet in ``results.jsonl``."""
    path = _common.runs_file(args.results, "results.jsonl")
    done = _common.recorded(path, _key)
    data = {name: load(name, args.data) for name in args.datasets}
    for method in args.methods:  # every cell of a method before the next method
        for dataset, (X, y) in data.items():
            for rate in args.rates:
                for seed in args.seeds:
                    if (dataset, rate, seed, method, args.batch_size) in done:
                        continue
                    record = run_one(
                        dataset, X, y, rate, seed, method, args.epochs, args.batch_size
                    )
                    _common.append(path, record)
                    print(
                        f"{dataset:13s} {rate:.2f} b{args.batch_size} seed {seed} {method:18s} "
                        f"bacc {record['balanced_accuracy']:.2f} never {record['never_predicted']} "
                        f"tau_ {record.get('tau_', float('nan')):.3f} ({record['seconds']:.1f} s)",
                        flush=True,
                    )


def _set_name(record):
    """The record's set, with its batch size where it is not the default 128."""
    batch = record.get("batch_size", 128)
    return record["dataset"] if batch == 128 else f"{record['dataset']} (batch {batch})"


def _cells(records):
    """``{(set, rate): {method: [records]}}``; a set named with its batch size if not 128."""
    cells = {}
    for r in records:
        cells.setdefault((_set_name(r), r["rate"]), {}).setdefault(r["method"], []).append(r)
    return cells


def _cell_order(cell):
    name, rate = cell
    dataset, _, batch = name.partition(" (batch ")
    return (DATASETS.index(dataset), -int(batch.rstrip(")") or 128), rate)


def _mean(rows, metric):
    return float(np.mean([r[metric] for r in rows]))


def report(results, candidate="skc_class_floor"):
    """Tables of the means over seeds per cell and method, and the targets; ``results.md``."""
    records = _common.load(_common.runs_file(results, "results.jsonl"))
    for name in REPLACED.values():  # the replaced designs' runs, recorded
        replaced = pathlib.Path(results) / name
        if replaced.exists():
            records += _common.load(replaced)
    cells = _cells(records)
    methods = [m for m in (*METHODS, *REPLACED) if any(m in c for c in cells.values())]
    order = sorted(cells, key=_cell_order)
    lines = ["# Imbalance benchmark", "", f"{len(records)} runs; means over the seeds.", ""]
    for metric, title in [
        ("balanced_accuracy", "Balanced accuracy (%)"),
        ("macro_f1", "Macro-F1 (%)"),
        ("worst_recall", "Worst-class recall (%)"),
    ]:
        rows = [
            [cell[0], f"{cell[1]:.0%}"]
            + [f"{_mean(cells[cell][m], metric):.1f}" if m in cells[cell] else "" for m in methods]
            for cell in order
        ]
        lines += [f"## {title}", "", _common.marked(metric, _common.table(
            ["set", "noise", *methods], rows)), ""]
    rows = [
        [cell[0], f"{cell[1]:.0%}"]
        + [
            f"{sum(bool(r['never_predicted']) for r in cells[cell][m])}/{len(cells[cell][m])}"
            if m in cells[cell]
            else ""
            for m in methods
        ]
        for cell in order
    ]
    lines += [
        "## Runs with a class (>= 1% of the training set) never predicted",
        "",
        _common.marked("never_predicted", _common.table(["set", "noise", *methods], rows)),
    ]
    lines += [
        "",
        "## tau_ (mean)",
        "",
        "| set | noise | actual noise | "
        + " | ".join(m for m in methods if m in SELECTIONS)
        + " |",
        "|---|---|---|" + "---|" * sum(m in SELECTIONS for m in methods),
    ]
    for cell in order:
        rows = cells[cell]
        any_rows = next(iter(rows.values()))
        taus = [
            f"{_mean(rows[m], 'tau_'):.3f}" if m in rows else ""
            for m in methods
            if m in SELECTIONS
        ]
        lines.append(
            f"| {cell[0]} | {cell[1]:.0%} | {_mean(any_rows, 'actual_noise_rate'):.3f} | "
            + " | ".join(taus)
            + " |"
        )
    lines += ["", *targets(cells, order, candidate)]
    lines += ["", *default_as_fitted(records, candidate)]
    _common.write_report(pathlib.Path(results) / "results.md", "\n".join(lines))


def default_as_fitted(records, candidate):
    """The targets of ``candidate`` at the batch that ``batch_size="auto"`` gives each set.

    Against standard training at that batch (with and without balanced class
    weights), the previous default (``skc_global`` with batches of 128) and
    cleanlab; a cell without ``candidate`` at that batch is left out.
    """
    from skcoteach.schedules import auto_batch_size

    runs = {}
    for r in records:
        runs.setdefault((r["dataset"], r["rate"], r["method"], r.get("batch_size", 128)), []).append(r)
    rivals = [("skc_tau0", None), ("skc_tau0_balanced", None), ("skc_global", 128),
              ("cl_lr", 128), ("cl_hgb", 128)]
    rows, starved, behind = [], [], {name: [] for name, _ in rivals}
    for dataset in DATASETS:
        sizes = [r["n_train"] for r in records if r["dataset"] == dataset]
        if not sizes:
            continue
        batch = auto_batch_size(sizes[0])
        for rate in sorted({r["rate"] for r in records if r["dataset"] == dataset}):
            mine = runs.get((dataset, rate, candidate, batch))
            if not mine:
                continue
            ours = _mean(mine, "balanced_accuracy")
            starved += [f"{dataset} {rate:.0%} seed {r['seed']}" for r in mine
                        if r["never_predicted"]]
            row = [dataset, f"{rate:.0%}", str(batch), f"{ours:.1f}",
                   f"{sum(bool(r['never_predicted']) for r in mine)}/{len(mine)}"]
            for name, at in rivals:
                theirs = runs.get((dataset, rate, name, batch if at is None else at))
                if not theirs:
                    row.append("")
                    continue
                value = _mean(theirs, "balanced_accuracy")
                row.append(f"{value:.1f}")
                if value > ours:
                    behind[name].append(f"{dataset} {rate:.0%} ({ours - value:+.1f})")
            rows.append(row)
    header = ["set", "noise", "batch", candidate, "never predicted",
              *(f"{name} (batch {'same' if at is None else at})" for name, at in rivals)]
    out = [
        '## The default as fitted: `batch_size="auto"`',
        "",
        f"`{candidate}` at the batch `batch_size=\"auto\"` gives each set (64 for the binary "
        "tables of 2,800 training rows, 32 for the digits sets, 128 for the others), balanced "
        "accuracy (%), means over the seeds; standard training at the same batch, the previous "
        "default (`skc_global`, batches of 128) and cleanlab:",
        "",
        _common.marked("default_as_fitted", _common.table(header, rows)),
        "",
        "- never leaves a class with >= 1% of the training set unpredicted: "
        + ("met" if not starved else "missed in " + ", ".join(starved)),
    ]
    for name, at in rivals[:3]:
        out.append(f"- balanced accuracy >= `{name}` (batch {'same' if at is None else at}): "
                   + ("met" if not behind[name] else "missed in " + ", ".join(behind[name])))
    return out


def targets(cells, order, candidate):
    """The targets of ``candidate``, one line each, with the cells that miss them."""
    out = [f"## Targets of `{candidate}`", ""]
    starved = [
        f"{r['dataset']} {r['rate']:.0%} seed {r['seed']}"
        for cell in order
        for r in cells[cell].get(candidate, [])
        if r["never_predicted"]
    ]
    out.append(
        f"- never leaves a class with >= 1% of the training set unpredicted: "
        f"{'met' if not starved else 'missed in ' + ', '.join(starved)}"
    )
    others = ("skc_tau0", "skc_tau0_balanced", "skc_global", "skc_per_class", "skc_class_floor")
    for other in (*others, *REPLACED):
        if other == candidate:
            continue
        diffs = {
            cell: _mean(cells[cell][candidate], "balanced_accuracy")
            - _mean(cells[cell][other], "balanced_accuracy")
            for cell in order
            if candidate in cells[cell] and other in cells[cell]
        }
        if not diffs:
            continue
        lost = [f"{d} {r:.0%} ({v:+.1f})" for (d, r), v in diffs.items() if v < 0]
        out.append(
            f"- balanced accuracy >= `{other}` in every cell: "
            f"{'met' if not lost else 'missed in ' + ', '.join(lost)}; "
            f"mean difference {np.mean(list(diffs.values())):+.2f} points over {len(diffs)} cells"
        )
    for cell in order:  # balanced data: the seeds' spread, to judge "within noise"
        if cell[0] == "bin50" and candidate in cells[cell] and "skc_global" in cells[cell]:
            a = [
                r["balanced_accuracy"]
                for r in sorted(cells[cell][candidate], key=lambda r: r["seed"])
            ]
            b = [
                r["balanced_accuracy"]
                for r in sorted(cells[cell]["skc_global"], key=lambda r: r["seed"])
            ]
            d = np.subtract(a, b) if len(a) == len(b) else np.array([np.mean(a) - np.mean(b)])
            out.append(
                f"- bin50 {cell[1]:.0%}: {candidate} - skc_global per seed "
                f"{np.round(d, 2).tolist()} (mean {d.mean():+.2f})"
            )
    return out


def main(argv=None):
    parser, sub = _common.commands(__doc__, DEFAULT_RESULTS)
    run_parser = sub["run"]
    sub["report"].add_argument(
        "--candidate", default="skc_class_floor", choices=METHODS,
        help="the method whose targets the report checks (default: skc_class_floor)",
    )
    run_parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    run_parser.add_argument("--rates", nargs="+", type=float, default=[0.2, 0.4])
    _common.add_seeds(run_parser, [0, 1, 2])
    run_parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    _common.add_epochs(run_parser, 30, "epochs of the skc_* methods (default: 30)")
    run_parser.add_argument(
        "--batch-size", type=int, default=128,
        help="batch_size of the skc_* methods (default: 128, the papers'; the report's last "
        "section takes each set at the batch of batch_size='auto')",
    )
    _common.add_data(run_parser, "mnist.npz or its folder, for the mnist_* sets")
    args = parser.parse_args(argv)
    if args.command == "report":
        report(args.results, args.candidate)
    else:
        run(args)


if __name__ == "__main__":
    main()
