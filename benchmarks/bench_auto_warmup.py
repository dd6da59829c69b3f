"""The warm-up of ``tau="auto"`` on small tables: two epochs, at least 50 optimizer steps, or five epochs.

Before, ``tau="auto"`` estimated the noise rate after two warm-up epochs; on a
small table that is 2-22 optimizer steps.  Now the warm-up lasts at least
:data:`skcoteach._training.AUTO_TAU_WARMUP_STEPS` steps (at most ``Tk``
epochs).  This compares both (the old rule is the same code with the steps
minimum set to 1), ``tau`` = the true rate and ``tau=0``, on the data and
splits of ``bench_defaults.py`` (stratified 70 / 30, ``StandardScaler``,
clean test labels), 40% symmetric and pair noise and clean labels.
``skc_auto_five_epochs`` is the current rule with at least five epochs (instead
of two): a longer warm-up, tried for the tables of a few thousand rows on which
two epochs over-estimate the noise rate (``bench_noise_estimates.py``).

Usage::

    python benchmarks/bench_auto_warmup.py --seeds 3 4 --out benchmarks/results/auto_warmup/runs.jsonl
    python benchmarks/bench_auto_warmup.py --datasets clf10000 mnist5000 fashion5000 --seeds 0 1 \
        --methods skc_auto skc_auto_five_epochs skc_true --out benchmarks/results/auto_warmup/five_epochs.jsonl

Each line of the output is one fit (``bench_defaults.run_one``'s record plus
``method``); the summary printed at the end is the mean over the seeds per
(data set, noise) cell and the difference to the reference (``tau`` = the
true rate, or ``tau=0`` on clean labels).
"""

import argparse
import collections
import itertools
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import bench_defaults  # noqa: E402

METHODS = ("skc_auto", "skc_auto_two_epochs", "skc_auto_five_epochs", "skc_true", "skc_tau0")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+",
                        default=["iris", "wine", "breast_cancer", "digits", "clf500", "clf2000"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[3, 4])
    parser.add_argument("--methods", nargs="+", choices=METHODS,
                        default=["skc_auto", "skc_auto_two_epochs", "skc_true", "skc_tau0"])
    parser.add_argument("--data", default=None,
                        help="folder of mnist.npz / fashion_mnist.npz (default: $SKCOTEACH_DATA)")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    import skcoteach._training as training

    steps, epochs = training.AUTO_TAU_WARMUP_STEPS, training.AUTO_TAU_WARMUP
    args.out.parent.mkdir(parents=True, exist_ok=True)
    noises = [("symmetric", 0.4), ("pair", 0.4), ("symmetric", 0.0)]
    with open(args.out, "a") as out:
        for dataset in args.datasets:
            X, y = bench_defaults.load(dataset, args.data)
            binary = len(np.unique(y)) == 2
            for (kind, rate), seed in itertools.product(noises, args.seeds):
                if binary and kind == "pair":  # the same flips as symmetric
                    continue
                for method in args.methods:
                    if rate == 0.0 and method == "skc_true":
                        continue
                    training.AUTO_TAU_WARMUP_STEPS = 1 if method == "skc_auto_two_epochs" else steps
                    training.AUTO_TAU_WARMUP = 5 if method == "skc_auto_five_epochs" else epochs
                    name = "skc_auto" if method.startswith("skc_auto") else method
                    record = bench_defaults.run_one(dataset, X, y, kind, rate, seed, name, None)
                    record["method"] = method
                    out.write(json.dumps(record) + "\n")
                    out.flush()
    training.AUTO_TAU_WARMUP_STEPS, training.AUTO_TAU_WARMUP = steps, epochs
    summary(args.out)


def summary(path):
    """Print the mean accuracy (and ``tau_``) per cell and each ``tau="auto"`` rule's difference to the reference.

    The reference is ``tau`` = the true rate, or ``tau=0`` on clean labels
    (whichever was run).
    """
    cells = collections.defaultdict(lambda: collections.defaultdict(list))
    for line in pathlib.Path(path).read_text().splitlines():
        r = json.loads(line)
        cells[(r["dataset"], f"{r['kind']}-{r['rate']:g}")][r["method"]].append(
            (r["accuracy"], r.get("tau_"))
        )
    present = [m for m in METHODS if any(m in methods for methods in cells.values())]
    autos = [m for m in present if m.startswith("skc_auto")]
    print(f"{'cell':28s}" + "".join(f"{m:>22s}" for m in present)
          + "".join(f"{m[9:] or 'auto':>14s}-ref" for m in autos))
    for cell, methods in sorted(cells.items()):
        mean = {m: float(np.mean([a for a, _ in v])) for m, v in methods.items()}
        taus = {m: np.mean([t for _, t in v if t is not None] or [np.nan]) for m, v in methods.items()}
        ref = mean.get("skc_true", mean.get("skc_tau0", np.nan))
        text = "".join(
            f"{mean[m]:14.1f} (tau {taus[m]:.2f})" if m in mean else f"{'-':>22s}" for m in present
        )
        print(f"{str(cell):28s}" + text
              + "".join(f"{mean.get(m, np.nan) - ref:+18.1f}" for m in autos))


if __name__ == "__main__":
    main()
