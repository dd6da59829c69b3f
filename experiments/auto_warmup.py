"""The warm-up of ``tau="auto"`` on small tables: two epochs, at least 50 optimizer steps, or five epochs.

Before, ``tau="auto"`` estimated the noise rate after two warm-up epochs; on a
small table that is 2-22 optimizer steps.  Now the warm-up lasts at least
:data:`skcoteach._callbacks.AUTO_TAU_WARMUP_STEPS` steps (at most ``Tk``
epochs).  This compares both (the old rule is the same code with the steps
minimum set to 1), ``tau`` = the true rate and ``tau=0``, on the data and
splits of ``defaults.py`` (stratified 70 / 30, ``StandardScaler``,
clean test labels), 40% symmetric and pair noise and clean labels.
``skc_auto_five_epochs`` is the current rule with at least five epochs (instead
of two): a longer warm-up, tried for the tables of a few thousand rows on which
two epochs over-estimate the noise rate (``noise_estimates.py``).

Usage::

    python experiments/auto_warmup.py run --seeds 3 4
    python experiments/auto_warmup.py run --datasets clf10000 mnist5000 fashion5000 --seeds 0 1 \
        --methods skc_auto skc_auto_five_epochs skc_true --results experiments/results/auto_warmup/five_epochs.jsonl
    python experiments/auto_warmup.py report --results experiments/results/auto_warmup/five_epochs.jsonl

Each line of the records is one fit (``defaults.run_one``'s record plus
``method``); a fit already recorded is skipped.  ``report`` prints the mean
over the seeds per (data set, noise) cell and the difference to the reference
(``tau`` = the true rate, or ``tau=0`` on clean labels), and writes them as
Markdown next to the records (``auto_warmup.md`` for ``runs.jsonl``, else the
records' name with ``.md``).
"""

import collections
import itertools

import _common
import defaults
import numpy as np

METHODS = ("skc_auto", "skc_auto_two_epochs", "skc_auto_five_epochs", "skc_true", "skc_tau0")


def main(argv=None):
    parser, sub = _common.commands(__doc__, _common.RESULTS / "auto_warmup")
    run_parser = sub["run"]
    run_parser.add_argument("--datasets", nargs="+",
                            default=["iris", "wine", "breast_cancer", "digits", "clf500", "clf2000"])
    _common.add_seeds(run_parser, [3, 4])
    run_parser.add_argument("--methods", nargs="+", choices=METHODS,
                            default=["skc_auto", "skc_auto_two_epochs", "skc_true", "skc_tau0"])
    _common.add_data(run_parser)
    args = parser.parse_args(argv)
    path = _common.runs_file(args.results)
    if args.command == "run":
        run(args, path)
    summary(path)


def _key(record):
    return tuple(record[k] for k in ("dataset", "kind", "rate", "seed", "method"))


def run(args, path):
    """Fit and record every requested (data, noise, seed, method) not yet in ``path``."""
    import skcoteach._callbacks as training  # where the warm-up constants live

    steps, epochs = training.AUTO_TAU_WARMUP_STEPS, training.AUTO_TAU_WARMUP
    done = _common.recorded(path, _key)
    noises = [("symmetric", 0.4), ("pair", 0.4), ("symmetric", 0.0)]
    for dataset in args.datasets:
        X, y = defaults.load(dataset, args.data)
        binary = len(np.unique(y)) == 2
        for (kind, rate), seed in itertools.product(noises, args.seeds):
            if binary and kind == "pair":  # the same flips as symmetric
                continue
            for method in args.methods:
                if rate == 0.0 and method == "skc_true" or (
                    (dataset, kind, rate, seed, method) in done
                ):
                    continue
                training.AUTO_TAU_WARMUP_STEPS = 1 if method == "skc_auto_two_epochs" else steps
                training.AUTO_TAU_WARMUP = 5 if method == "skc_auto_five_epochs" else epochs
                name = "skc_auto" if method.startswith("skc_auto") else method
                record = defaults.run_one(dataset, X, y, kind, rate, seed, name, None)
                record["method"] = method
                _common.append(path, record)
    training.AUTO_TAU_WARMUP_STEPS, training.AUTO_TAU_WARMUP = steps, epochs


def report_path(path):
    """The Markdown report of the records ``path``: ``auto_warmup.md`` for ``runs.jsonl``,
    else the records' name with ``.md``."""
    return path.parent / ("auto_warmup.md" if path.name == "runs.jsonl" else path.stem + ".md")


def summary(path):
    """Write (and print) the report of the records ``path`` (:func:`report_path`).

    Per (data set, noise) cell the mean accuracy and ``tau_`` (range over the
    seeds) of every method, and each ``tau="auto"`` rule's difference to the
    reference: ``tau`` = the true rate, or ``tau=0`` on clean labels (whichever
    was run).  Then, per rule, the mean difference over the noisy and over the
    clean cells and the worst cell.
    """
    cells = collections.defaultdict(lambda: collections.defaultdict(list))
    seeds = set()
    for r in _common.load(path):
        cells[(r["dataset"], f"{r['kind']}-{round(100 * r['rate'])}")][r["method"]].append(
            (r["accuracy"], r.get("tau_"))
        )
        seeds.add(r["seed"])
    if not cells:
        print(f"No records in {path}.")
        return
    present = [m for m in METHODS if any(m in methods for methods in cells.values())]
    autos = [m for m in present if m.startswith("skc_auto")]
    order = sorted(cells, key=lambda cell: (cell[1].endswith("-0"), cell))
    rows, diffs = [], {m: [] for m in autos}
    for cell in order:
        methods = cells[cell]
        mean = {m: float(np.mean([a for a, _ in v])) for m, v in methods.items()}
        ref_name = "skc_true" if "skc_true" in mean else "skc_tau0"
        ref = mean.get(ref_name)
        noise = "clean" if cell[1].endswith("-0") else cell[1]
        row = [cell[0], noise]
        for m in present:
            if m not in mean:
                row.append("-")
                continue
            taus = [t for _, t in methods[m] if t is not None]
            text = f"{mean[m]:.1f}"
            if m != "skc_tau0" and taus:
                text += (f" (tau {min(taus):.2f})" if max(taus) - min(taus) < 0.005
                         else f" (tau {min(taus):.2f}-{max(taus):.2f})")
            row.append(text)
        for m in autos:
            if m in mean and ref is not None:
                diffs[m].append((mean[m] - ref, (cell[0], noise), ref_name))
                row.append(f"{mean[m] - ref:+.1f}")
            else:
                row.append("-")
        rows.append(row)
    header = (["data", "noise"] + present
              + [f"{m} minus reference" for m in autos])
    lines = [
        f"Clean test accuracy (%), mean over seeds {sorted(seeds)}, and the range of `tau_`; "
        "the reference is `tau` = the true rate on noisy labels and `tau=0` on clean labels:",
        "",
        _common.table(header, rows),
    ]
    summary_rows = []
    for m in autos:
        noisy = [d for d, _, ref in diffs[m] if ref == "skc_true"]
        clean = [d for d, _, ref in diffs[m] if ref == "skc_tau0"]
        if not diffs[m]:
            continue
        worst = min(diffs[m])
        summary_rows.append([
            m,
            f"{np.mean(noisy):+.1f} ({len(noisy)} cells)" if noisy else "-",
            f"{np.mean(clean):+.1f} ({len(clean)} cells)" if clean else "-",
            f"{worst[0]:+.1f} ({worst[1][0]}, {worst[1][1]})",
        ])
    if summary_rows:
        lines += [
            "",
            "Each `tau=\"auto\"` rule against the reference, mean over the cells (points):",
            "",
            _common.marked("summary", _common.table(
                ["rule", "minus `tau` = true rate (noisy labels)", "minus `tau=0` (clean labels)",
                 "worst cell"], summary_rows)),
        ]
    _common.write_report(report_path(path), "\n".join(lines))


if __name__ == "__main__":
    main()
