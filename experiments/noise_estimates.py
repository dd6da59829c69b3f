"""How well can the share of wrong labels be estimated on small tables, and how much does an error cost?

``tau="auto"`` sets the forget rate to an estimate of the noise rate.  This
benchmark measures estimates of that rate on the data and noise of
``defaults.py`` (same split, same noise, inputs standardised), each the
confident-learning count of :func:`skcoteach.noise.estimate_noise_rate` on
different class probabilities:

- ``auto``: the estimator's own (``CoTeachingClassifier(tau="auto").noise_rate_``:
  the peers' probabilities during the last warm-up epoch);
- ``in_e<N>``: the same two networks after ``N`` epochs of standard training
  (``tau=0``), probabilities of the training samples themselves;
- ``xfit_e<N>``: cross-fitted between two halves of the training set (each
  half's probabilities from networks trained ``N`` epochs on the other half);
- ``oof_lr``, ``oof_hgb``: 5-fold out-of-fold probabilities of
  ``LogisticRegression`` / ``HistGradientBoostingClassifier`` (what cleanlab's
  ``CleanLearning`` counts).

``report`` prints, per cell, the mean estimate minus the true share of wrong
labels, and per estimator the mean absolute error, the mean on clean labels
and the worst under-estimate.  With ``--defaults`` (a ``defaults.py``
results folder) it also pairs each ``tau="auto"`` fit with the ``tau`` = true
rate fit of the same seed: by how much ``tau_`` missed the true rate and what
that cost in clean test accuracy, per data set.

Examples
--------
::

    python experiments/noise_estimates.py run --datasets digits wine --seeds 0
    python experiments/noise_estimates.py report --defaults experiments/results/defaults_once
"""

import pathlib
import time
import warnings

import _common
import numpy as np
from defaults import (
    DATASETS,
    add_cell_arguments,
    noisy_cells,
    noisy_split,
)

DEFAULT_RESULTS = _common.RESULTS / "noise_estimates"
#: Epochs after which the in-sample and cross-fitted probabilities are counted.
EPOCHS = (5, 10, 20, 40)


def trained_probabilities(X_fit, y_fit, X_all, seed, epochs=EPOCHS):
    """``{N: probabilities of X_all}`` after N epochs of standard training on ``(X_fit, y_fit)``."""
    import keras

    from skcoteach import CoTeachingClassifier

    X_all = X_all.astype(np.float32)

    class Record(keras.callbacks.Callback):
        """The ensemble's class probabilities of ``X_all`` after each epoch of ``epochs``."""

        def __init__(self):
            super().__init__()
            self.proba = {}

        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 in epochs:
                self.proba[epoch + 1] = np.asarray(
                    self.model.predict(X_all, batch_size=1024, verbose=0)
                )

    clf = CoTeachingClassifier(tau=0.0, epochs=max(epochs), random_state=seed, callbacks=[Record()])
    # The estimator trains with copies of its callbacks, kept in ``callbacks_``.
    return clf.fit(X_fit, y_fit).callbacks_[0].proba


def estimates(X_train, y_noisy, seed, n_classes, epochs=EPOCHS):
    """Every estimate of the noise rate of ``y_noisy`` (a dict name -> float)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from skcoteach import CoTeachingClassifier
    from skcoteach.noise import estimate_noise_rate

    out = {}
    auto = CoTeachingClassifier(random_state=seed).fit(X_train, y_noisy)
    out["auto"] = float(auto.noise_rate_)
    for n, proba in trained_probabilities(X_train, y_noisy, X_train, seed, epochs).items():
        out[f"in_e{n}"] = estimate_noise_rate(y_noisy, proba)
    halves = list(StratifiedKFold(2, shuffle=True, random_state=seed).split(X_train, y_noisy))
    crossed = {n: np.zeros((len(y_noisy), n_classes)) for n in epochs}
    for fit_rows, held_out in halves:
        by_epoch = trained_probabilities(
            X_train[fit_rows], y_noisy[fit_rows], X_train[held_out], seed, epochs
        )
        for n, proba in by_epoch.items():
            crossed[n][held_out] = proba
    for n, proba in crossed.items():
        out[f"xfit_e{n}"] = estimate_noise_rate(y_noisy, proba)
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    for name, model in (
        ("oof_lr", LogisticRegression(max_iter=2000)),
        ("oof_hgb", HistGradientBoostingClassifier(random_state=seed)),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proba = cross_val_predict(model, X_train, y_noisy, cv=folds, method="predict_proba")
        out[name] = estimate_noise_rate(y_noisy, proba)
    return out


def _key(record):
    return tuple(record[k] for k in ("dataset", "kind", "rate", "seed"))


def run(args):
    """Record the estimates of every requested (data, noise, rate, seed) not yet in ``runs.jsonl``."""
    from sklearn.preprocessing import StandardScaler

    path = _common.runs_file(args.results)
    done = _common.recorded(path, _key)
    for dataset, X, y, kind, rate, seed in noisy_cells(args):
        if (dataset, kind, rate, seed) in done:
            continue
        X_train, _, _, y_noisy, _, info = noisy_split(X, y, kind, rate, seed)
        X_train = StandardScaler().fit_transform(X_train)
        start = time.perf_counter()
        found = estimates(X_train, y_noisy, seed, len(np.unique(y)), args.epochs)
        record = {
            "dataset": dataset,
            "n_train": len(X_train),
            "kind": kind,
            "rate": rate,
            "seed": seed,
            "actual_noise_rate": float(info.actual_noise_rate),
            "estimates": found,
            "seconds": time.perf_counter() - start,
            "command": _common.command(),
        }
        _common.append(path, record)
        print(
            f"{dataset:14s} {kind:9s} {rate:.2f} seed {seed}: actual "
            f"{record['actual_noise_rate']:.3f}, "
            + ", ".join(f"{k} {v:.3f}" for k, v in found.items()),
            flush=True,
        )


def _cell(record):
    rate = record["rate"]
    return record["dataset"], "clean" if rate == 0 else f"{record['kind']}-{round(100 * rate)}"


def _cell_order(cell):
    dataset, noise = cell
    kind_rank = 0 if noise == "clean" else (1 if noise.startswith("symmetric") else 2)
    return DATASETS.index(dataset), kind_rank, noise


def estimate_errors(records):
    """``{cell: {estimator: [estimate - actual, ...]}}`` and the estimators' names, in order."""
    errors, names = {}, []
    for r in records:
        for name, value in r["estimates"].items():
            if name not in names:
                names.append(name)
            errors.setdefault(_cell(r), {}).setdefault(name, []).append(
                value - r["actual_noise_rate"]
            )
    return errors, names


def summarise(errors, names):
    """Per estimator: mean |error|, mean error on clean labels and at >= 20% noise, worst under-estimate."""
    rows = {}
    for name in names:
        every = [e for cell in errors.values() for e in cell.get(name, [])]
        clean = [e for (_, noise), c in errors.items() if noise == "clean" for e in c.get(name, [])]
        noisy = [e for (_, noise), c in errors.items() if noise != "clean" for e in c.get(name, [])]
        cell_means = [np.mean(c[name]) for c in errors.values() if name in c]
        rows[name] = {
            "mean_abs": float(np.mean(np.abs(every))),
            "mean_clean": float(np.mean(clean)) if clean else float("nan"),
            "mean_noisy": float(np.mean(noisy)) if noisy else float("nan"),
            "worst_under": float(min(cell_means)),
            "worst_over": float(max(cell_means)),
        }
    return rows


def cost_of_errors(records):
    """Pair ``skc_auto`` with ``skc_true`` fits (same data, noise, seed) of a ``defaults`` run.

    Returns ``{dataset: (n, mean tau_ - actual, mean accuracy gap, slope)}``,
    the slope of the accuracy gap (points) against the error of ``tau_``
    (least squares through the origin, points per 0.1 of ``tau``).
    """
    by_key = {}
    for r in records:
        if r["method"] in ("skc_auto", "skc_true"):
            key = (r["dataset"], r["kind"], r["rate"], r["seed"], r["method"])
            by_key[key] = r
    out = {}
    for (dataset, kind, rate, seed, method), auto in by_key.items():
        true = by_key.get((dataset, kind, rate, seed, "skc_true"))
        if method != "skc_auto" or true is None:
            continue
        out.setdefault(dataset, []).append(
            (auto["tau_"] - auto["actual_noise_rate"], auto["accuracy"] - true["accuracy"])
        )
    table = {}
    for dataset, pairs in out.items():
        miss, gap = np.array(pairs).T
        slope = float(miss @ gap / (miss @ miss)) / 10 if miss @ miss > 0 else float("nan")
        table[dataset] = (len(pairs), float(miss.mean()), float(gap.mean()), slope)
    return table


def report(results, defaults=None):
    """Tables of the estimate errors (and of their cost, with ``defaults``), as markdown."""
    records = _common.load(_common.runs_file(results))
    errors, names = estimate_errors(records)
    lines = [
        "Mean estimate minus the true share of wrong labels (seeds: "
        f"{sorted({r['seed'] for r in records})}):",
        "",
        "| data | noise | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for cell in sorted(errors, key=_cell_order):
        lines.append(
            f"| {cell[0]} | {cell[1]} | "
            + " | ".join(f"{np.mean(errors[cell][n]):+.3f}" for n in names if n in errors[cell])
            + " |"
        )
    rows = summarise(errors, names)
    lines += [
        "",
        "<!-- table: estimators -->",
        "",
        "| estimator | mean abs. error | mean error, clean | mean error, noisy | "
        "worst cell under | worst cell over |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row['mean_abs']:.3f} | {row['mean_clean']:+.3f} | "
            f"{row['mean_noisy']:+.3f} | {row['worst_under']:+.3f} | {row['worst_over']:+.3f} |"
        )
    lines += ["", "<!-- /table -->"]
    if defaults is not None:
        runs = _common.load(_common.runs_file(defaults))
        lines += [
            "",
            f"`tau=\"auto\"` against `tau` = true rate, paired by seed ({defaults.name}):",
            "",
            "<!-- table: cost -->",
            "",
            "| data | fits | mean tau_ - actual | mean accuracy gap (points) | "
            "points per +0.1 of tau |",
            "|---|---|---|---|---|",
        ]
        for dataset, (n, miss, gap, slope) in sorted(
            cost_of_errors(runs).items(), key=lambda kv: DATASETS.index(kv[0])
        ):
            lines.append(f"| {dataset} | {n} | {miss:+.3f} | {gap:+.2f} | {slope:+.2f} |")
        lines += ["", "<!-- /table -->"]
    _common.write_report(pathlib.Path(results) / "noise_estimates.md", "\n".join(lines))


def main(argv=None):
    parser, sub = _common.commands(__doc__, DEFAULT_RESULTS)
    run_parser = sub["run"]
    add_cell_arguments(run_parser, seeds=[0, 1, 2])
    run_parser.add_argument("--epochs", nargs="+", type=int, default=list(EPOCHS),
                            help="epochs after which the in_e / xfit_e estimates are counted")
    _common.add_data(run_parser, "folder of mnist.npz / fashion_mnist.npz for the image subsets")
    sub["report"].add_argument("--defaults", type=pathlib.Path, default=None,
                               help="a defaults.py results folder: the cost of the errors")
    args = parser.parse_args(argv)
    if args.command == "report":
        report(args.results, args.defaults)
    else:
        run(args)


if __name__ == "__main__":
    main()
