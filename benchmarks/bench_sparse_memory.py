"""Peak memory and epoch time of a fit on a large sparse matrix (issue 25).

A 100,000 x 20,000 CSR matrix at 0.1% density (2 million stored values;
the same matrix dense in float32 would take 8 GB) and labels of 5 classes
from a random linear model of the features, with 20% symmetric noise.
Each measurement runs in a fresh process, so that its peak resident set
size (``ru_maxrss``) is its own:

``sparse``
    ``CoTeachingClassifier()`` with the default network, fed the CSR matrix:
    batches are densified inside the compiled training step.
``baseline``
    The same process up to the fit: Python, NumPy, SciPy, TensorFlow and
    Keras imported and the matrix built, nothing trained -- what the fit adds
    is the difference.

Printed and written to ``benchmarks/results/sparse_memory.json``: peak RSS of
each, the fit's addition, the time of each epoch (from Keras's epoch
callbacks) and of ``predict_proba`` on the whole matrix.

Run (about five minutes on 2 CPU cores)::

    python benchmarks/bench_sparse_memory.py [--rows 100000] [--features 20000]
        [--density 0.001] [--epochs 2]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results" / "sparse_memory.json"


def make_data(rows, features, density, seed=0):
    """The CSR matrix and noisy labels of the benchmark."""
    import numpy as np
    import scipy.sparse as sp

    from skcoteach.noise import make_label_noise

    rng = np.random.default_rng(seed)
    # Positions drawn directly: scipy.sparse.random draws them without
    # replacement out of rows * features, which allocates that many integers.
    nnz = int(rows * features * density)
    X = sp.csr_matrix(
        (
            rng.random(nnz, dtype=np.float32),
            (rng.integers(0, rows, nnz), rng.integers(0, features, nnz)),
        ),
        shape=(rows, features),
    )  # the rare duplicate positions are summed
    scores = X @ rng.normal(size=(features, 5)).astype(np.float32)
    y = np.argmax(scores, axis=1)
    return X, make_label_noise(y, 0.2, random_state=seed)


def _peak_rss_mb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure(kind, rows, features, density, epochs):
    """One measurement, in this process; returns a dict."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # noqa: F401  (the baseline imports what the fit imports)
    import tensorflow  # noqa: F401

    from skcoteach import CoTeachingClassifier

    X, y = make_data(rows, features, density)
    record = {"kind": kind, "rows": rows, "features": features, "nnz": int(X.nnz)}
    if kind == "sparse":
        times = []

        class EpochClock(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.start)

        clf = CoTeachingClassifier(epochs=epochs, tau=0.2, random_state=0, callbacks=[EpochClock()])
        start = time.perf_counter()
        clf.fit(X, y)
        record["fit_s"] = time.perf_counter() - start
        record["epoch_s"] = times
        start = time.perf_counter()
        proba = clf.predict_proba(X)
        record["predict_proba_s"] = time.perf_counter() - start
        record["train_accuracy_noisy"] = float((clf.classes_[proba.argmax(1)] == y).mean())
    record["peak_rss_mb"] = _peak_rss_mb()
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20_000)
    parser.add_argument("--density", type=float, default=0.001)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--one", choices=["sparse", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shape = (args.rows, args.features, args.density, args.epochs)
    if args.one:  # child process
        print(json.dumps(measure(args.one, *shape)))
        return 0
    records = {}
    for kind in ("baseline", "sparse"):
        command = [sys.executable, __file__, "--one", kind, "--rows", str(args.rows),
                   "--features", str(args.features), "--density", str(args.density),
                   "--epochs", str(args.epochs)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        records[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    sparse, base = records["sparse"], records["baseline"]
    dense_gb = args.rows * args.features * 4 / 1e9
    summary = {
        **records,
        "dense_float32_gb": dense_gb,
        "fit_adds_mb": sparse["peak_rss_mb"] - base["peak_rss_mb"],
        "target_peak_rss_mb": 2048,
        "meets_target": sparse["peak_rss_mb"] < 2048,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"{args.rows} x {args.features} CSR, {sparse['nnz']} stored values "
        f"(dense float32: {dense_gb:.1f} GB)\n"
        f"peak RSS: fit {sparse['peak_rss_mb']:.0f} MB, baseline {base['peak_rss_mb']:.0f} MB "
        f"(the fit adds {summary['fit_adds_mb']:.0f} MB); target < 2048 MB: "
        f"{'met' if summary['meets_target'] else 'MISSED'}\n"
        f"epochs: {', '.join(f'{t:.1f} s' for t in sparse['epoch_s'])}; "
        f"predict_proba on all rows: {sparse['predict_proba_s']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
