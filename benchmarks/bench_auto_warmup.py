"""The warm-up of ``tau="auto"`` on small tables: two epochs, or at least 50 optimizer steps.

Before, ``tau="auto"`` estimated the noise rate after two warm-up epochs; on a
small table that is 2-22 optimizer steps.  Now the warm-up lasts at least
:data:`skcoteach._training.AUTO_TAU_WARMUP_STEPS` steps (at most ``Tk``
epochs).  This compares both (the old rule is the same code with the steps
minimum set to 1), ``tau`` = the true rate and ``tau=0``, on the data and
splits of ``bench_defaults.py`` (stratified 70 / 30, ``StandardScaler``,
clean test labels), 40% symmetric and pair noise and clean labels.

Usage::

    python benchmarks/bench_auto_warmup.py --seeds 3 4 --out benchmarks/results/auto_warmup/runs.jsonl

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

METHODS = ("skc_auto", "skc_auto_two_epochs", "skc_true", "skc_tau0")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+",
                        default=["iris", "wine", "breast_cancer", "digits", "clf500", "clf2000"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[3, 4])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    import skcoteach._training as training

    steps = training.AUTO_TAU_WARMUP_STEPS
    args.out.parent.mkdir(parents=True, exist_ok=True)
    noises = [("symmetric", 0.4), ("pair", 0.4), ("symmetric", 0.0)]
    with open(args.out, "a") as out:
        for dataset in args.datasets:
            X, y = bench_defaults.load(dataset)
            binary = len(np.unique(y)) == 2
            for (kind, rate), seed in itertools.product(noises, args.seeds):
                if binary and kind == "pair":  # the same flips as symmetric
                    continue
                for method in METHODS:
                    if rate == 0.0 and method == "skc_true":
                        continue
                    training.AUTO_TAU_WARMUP_STEPS = 1 if method == "skc_auto_two_epochs" else steps
                    name = "skc_auto" if method == "skc_auto_two_epochs" else method
                    record = bench_defaults.run_one(dataset, X, y, kind, rate, seed, name, None)
                    record["method"] = method
                    out.write(json.dumps(record) + "\n")
                    out.flush()
    training.AUTO_TAU_WARMUP_STEPS = steps
    summary(args.out)


def summary(path):
    """Print the mean accuracy per cell and the difference to the reference."""
    cells = collections.defaultdict(lambda: collections.defaultdict(list))
    for line in pathlib.Path(path).read_text().splitlines():
        r = json.loads(line)
        cells[(r["dataset"], f"{r['kind']}-{r['rate']:g}")][r["method"]].append(r["accuracy"])
    print(f"{'cell':28s}" + "".join(f"{m:>22s}" for m in METHODS) + "   new-ref  old-ref")
    for cell, methods in sorted(cells.items()):
        mean = {m: float(np.mean(v)) for m, v in methods.items()}
        ref = mean.get("skc_true", mean["skc_tau0"])
        print(f"{str(cell):28s}" + "".join(f"{mean.get(m, float('nan')):22.1f}" for m in METHODS)
              + f"   {mean['skc_auto'] - ref:+6.1f}  {mean['skc_auto_two_epochs'] - ref:+6.1f}")


if __name__ == "__main__":
    main()
