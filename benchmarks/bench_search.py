"""Time CoTeachingGridSearchCV against scikit-learn's GridSearchCV on the same grid.

Two grids (issue 17):

``mnist``
    ``tau`` x ``Tk`` = 3 x 2 candidates, ``cv=3``, on the first 20 000 MNIST
    training images (flattened, scaled to [0, 1]) with 40% symmetric label
    noise, the default MLP of :func:`skcoteach.models.mlp` (784-100-10), 20 epochs,
    batch 128.
``digits``
    The README's grid: ``StandardScaler`` + ``CoTeachingClassifier(epochs=60)``,
    ``tau`` in (0.3, 0.4, 0.5) x ``Tk`` in (5, 10), ``cv=3``, on the 1 347
    training rows of scikit-learn's digits with 40% symmetric noise.

Each search runs in a fresh Python process, one after the other (the machine
has 2 cores), and reports its wall time (the search only, not the start of
Python), ``best_params_``, the ``mean_test_score`` of every candidate and the
process's peak RSS (of the main process; loky workers are not counted).
Variants: ``GridSearchCV`` and ``CoTeachingGridSearchCV``, each with
``n_jobs=1`` and ``n_jobs=2``.  The ratios are printed against the two GridSearchCV runs of the same invocation.

Usage::

    python benchmarks/bench_search.py --grids digits mnist --out benchmarks/results/search.json
    python benchmarks/bench_search.py --grids digits --epochs 5   # quick look

MNIST is read from ``--data`` or ``$SKCOTEACH_DATA`` (a directory with
``mnist.npz``), else downloaded by Keras.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

VARIANTS = ("gridsearchcv-1", "gridsearchcv-2", "coteaching-1", "coteaching-2")


def _data(grid, data_dir):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from skcoteach.noise import make_label_noise

    if grid == "digits":
        X, y = load_digits(return_X_y=True)
        X, _, y, _ = train_test_split(X, y, random_state=0)
    else:
        from skcoteach.datasets import load_mnist

        (X, y), _ = load_mnist(data_dir)
        X = (X[:20000].reshape(20000, -1) / 255.0).astype(np.float32)
        y = y[:20000]
    return X, make_label_noise(y, 0.4, kind="symmetric", random_state=0)


def _search(grid, variant, epochs):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skcoteach import CoTeachingClassifier
    from skcoteach.model_selection import CoTeachingGridSearchCV

    if grid == "digits":
        estimator = make_pipeline(
            StandardScaler(), CoTeachingClassifier(epochs=epochs or 60, random_state=0)
        )
        prefix = "coteachingclassifier__"
        param_grid = {prefix + "tau": [0.3, 0.4, 0.5], prefix + "Tk": [5, 10]}
    else:
        estimator = CoTeachingClassifier(epochs=epochs or 20, random_state=0)
        param_grid = {"tau": [0.3, 0.4, 0.5], "Tk": [5, 10]}
    kind, n_jobs = variant.rsplit("-", 1)
    cls = GridSearchCV if kind == "gridsearchcv" else CoTeachingGridSearchCV
    return cls(estimator, param_grid, cv=3, n_jobs=int(n_jobs))


def run_one(grid, variant, epochs, data_dir):
    """One search in this process; a JSON line on stdout."""
    X, y = _data(grid, data_dir)
    search = _search(grid, variant, epochs)
    start = time.perf_counter()
    search.fit(X, y)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "grid": grid,
                "variant": variant,
                "seconds": seconds,
                "best_params": {k: float(v) for k, v in search.best_params_.items()},
                "mean_test_score": [float(s) for s in search.cv_results_["mean_test_score"]],
                "refit_time": search.refit_time_,
                "n_fits_together": getattr(search, "n_fits_together_", None),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", nargs="+", default=["digits", "mnist"], choices=["digits", "mnist"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--epochs", type=int, default=None, help="default: 60 (digits), 20 (mnist)")
    parser.add_argument("--data", default=os.environ.get("SKCOTEACH_DATA"))
    parser.add_argument("--out", default=None, help="JSON file to write")
    parser.add_argument("--one", nargs=2, metavar=("GRID", "VARIANT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(args.one[0], args.one[1], args.epochs, args.data)
    runs = []
    for grid in args.grids:
        for variant in args.variants:
            command = [sys.executable, __file__, "--one", grid, variant]
            if args.epochs:
                command += ["--epochs", str(args.epochs)]
            if args.data:
                command += ["--data", args.data]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            run = json.loads(out.strip().splitlines()[-1])
            runs.append(run)
            print(f"{grid:7s} {variant:15s} {run['seconds']:7.1f} s  peak RSS {run['peak_rss_mb']:6.0f} MB"
                  f"  best {run['best_params']}", flush=True)
    for grid in args.grids:
        by = {r["variant"]: r for r in runs if r["grid"] == grid}
        for mine in ("coteaching-1", "coteaching-2"):
          ours = by.get(mine)
          for base in ("gridsearchcv-1", "gridsearchcv-2"):
            if ours and base in by:
                gap = max(abs(a - b) for a, b in zip(ours["mean_test_score"], by[base]["mean_test_score"]))
                print(f"{grid}: {mine} / {base}: time {ours['seconds'] / by[base]['seconds']:.2f}x,"
                      f" same best_params_: {ours['best_params'] == by[base]['best_params']},"
                      f" largest mean_test_score gap {100 * gap:.2f} points,"
                      f" peak RSS {ours['peak_rss_mb'] / by[base]['peak_rss_mb']:.2f}x")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
