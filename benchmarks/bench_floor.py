#!/usr/bin/env python
"""The compute-floor ratio of the MLP fit by batch size: where the gap comes from.

``bench_speed.py`` measures the library's MLP fit against its compute floor
(the fit's matrix-product FLOPs divided by the matmul rate measured on the same
GEMM shapes) at the protocol's batch size of 128 only.  This script repeats that
measurement over several batch sizes for three programs, so that the part of
the gap that comes with every training *step* can be told from the part that
comes with every *sample*:

``lib``
    ``CoTeachingClassifier`` (default rule, ``steps_per_execution=16``).
``tf_coteaching``
    The same Co-teaching training as a minimal plain-TensorFlow program
    (``_speed_baselines.tf_loop``: raw variables, in-memory tensors, 16 steps per
    ``tf.function`` call, fused softmax cross-entropy, ``top_k``, fused Adam).
``tf_plain``
    The same program without selection: both MLPs trained side by side on every
    sample (``tf_loop(select=False)``).  No training of two peers with Adam
    does less per step, so its ratio bounds what any TensorFlow program of
    Co-teaching can reach at that batch size.

For each batch size the floor per epoch is ``n * F / rate(batch)``, with ``F``
the matrix-product FLOPs of one training step per sample
(``_speed_baselines.mlp_training_flops``, 2 peers, every sample; the backward
passes of Co-teaching only see the kept samples, so for it the floor is an
over-estimate) and ``rate(batch)`` the float32 matmul rate measured in the same
run with that batch's GEMM shapes (``_speed_baselines.MatmulRate``).  Ratios use
the mean time of the steady epochs (2..E: no tracing, no model building) of
every fit, median over the repeats; the whole-fit ratio of the library is
printed as well.  All programs run in this one process, alternated per repeat.
Finally, a least-squares line ``epoch time = a * steps + b`` over the batch
sizes splits each program's steady epoch into a cost per step ``a`` and a cost
per epoch ``b``; the floor is split the same way for comparison.

Usage::

    python benchmarks/bench_floor.py                   # ~6 minutes on 2 idle cores
    python benchmarks/bench_floor.py --batch-sizes 128 1024 --repeats 1 --epochs 2

Nothing asserts; the numbers go to stdout and to ``--out`` (JSON).
"""

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _speed_baselines as B  # noqa: E402
from _machine import cpu_model, git  # noqa: E402
from bench_speed import _load_data, _prepare, add_data_argument  # noqa: E402

PROGRAMS = ("lib", "tf_coteaching", "tf_plain")


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_argument(p)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256, 512, 1024, 2048])
    p.add_argument("--epochs", type=int, default=3, help="epochs per fit (>= 2; default 3)")
    p.add_argument("--repeats", type=int, default=2, help="fits per program and batch size")
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--tau", type=float, default=0.5)
    p.add_argument("--Tk", type=float, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", default=str(HERE / "results" / "floor_by_batch.json"), help="JSON output file"
    )
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be at least 2: the ratios use the steady epochs 2..E")
    if args.repeats < 1 or min(args.batch_sizes) < 1:
        p.error("--repeats and --batch-sizes must be positive")
    return args


def fit_library(X, y, batch_size, args):
    """One fit of the library; (fit time, epoch durations)."""
    from skcoteach import CoTeachingClassifier

    clf = CoTeachingClassifier(
        model=B.mlp, tau=args.tau, Tk=args.Tk, n_peers=2, optimizer="adam",
        optimizer__learning_rate=0.001, epochs=args.epochs, batch_size=batch_size,
        steps_per_execution=16, verbose=0, random_state=args.seed, callbacks=[B.epoch_clock()],
    )
    del B.EPOCH_MARKS[:]
    t0 = time.perf_counter()
    clf.fit(X, y)
    return time.perf_counter() - t0, B.epoch_durations(t0, B.EPOCH_MARKS)


def fit_tf(X, y, batch_size, args, select):
    """One run of the plain-TensorFlow program; (fit time, epoch durations)."""
    t0 = time.perf_counter()
    _, durations = B.tf_loop(
        X, y, args.epochs, batch_size, args.tau, args.Tk, 1.0, args.seed, select=select
    )
    return time.perf_counter() - t0, durations


def matmul_rate(batch_size):
    """Median float32 matmul rate (FLOP/s) of the training GEMMs at ``batch_size``."""
    rate = B.MatmulRate(batch=batch_size)
    iterations = max(20, 300 * 128 // batch_size)
    return statistics.median(rate.measure(iterations=iterations, repeats=3))


def line_fit(steps, seconds):
    """Least-squares ``seconds = a * steps + b``; returns (a, b)."""
    A = np.column_stack([np.asarray(steps, float), np.ones(len(steps))])
    (a, b), *_ = np.linalg.lstsq(A, np.asarray(seconds, float), rcond=None)
    return float(a), float(b)


def measure(args, say):
    # bench_speed's loading and MLP preparation (float32 rows in [0, 1]).
    X, y, _, _ = _prepare(_load_data(args.data), "mlp", args.n_train, 0)
    n = len(X)
    flops_epoch = n * B.mlp_training_flops()  # per peer; x2 below
    runs = {
        "lib": lambda bs: fit_library(X, y, bs, args),
        "tf_coteaching": lambda bs: fit_tf(X, y, bs, args, select=True),
        "tf_plain": lambda bs: fit_tf(X, y, bs, args, select=False),
    }
    # One fit of each first: the process's one-time TensorFlow and Keras start-up.
    for name in PROGRAMS:
        runs[name](args.batch_sizes[0])
    rows = []
    for bs in args.batch_sizes:
        fits = {name: [] for name in PROGRAMS}
        for r in range(args.repeats):
            order = PROGRAMS if r % 2 == 0 else PROGRAMS[::-1]
            for name in order:
                fit_time, epochs = runs[name](bs)
                fits[name].append({"fit": fit_time, "epochs": epochs})
        rate = matmul_rate(bs)
        floor_epoch = 2 * flops_epoch / rate
        row = {
            "batch_size": bs,
            "steps_per_epoch": -(-n // bs),
            "matmul_gflops": rate / 1e9,
            "floor_epoch": floor_epoch,
            "fits": fits,
        }
        for name in PROGRAMS:
            steady = [statistics.mean(f["epochs"][1:]) for f in fits[name]]
            row[name] = {
                "steady_epoch": statistics.median(steady),
                "fit": statistics.median(f["fit"] for f in fits[name]),
            }
        rows.append(row)
        say(
            f"batch {bs:5d}: floor {floor_epoch:.3f} s/epoch at {rate / 1e9:.0f} GFLOP/s; "
            + ", ".join(f"{k} {row[k]['steady_epoch']:.3f} s" for k in PROGRAMS)
        )
    return {"n_train": n, "rows": rows}


def report(results):
    rows = results["rows"]
    lines = [
        f"{'batch':>5} {'steps':>5} {'GFLOP/s':>7} {'floor/ep':>9} "
        + " ".join(f"{k + ' (x)':>18}" for k in PROGRAMS)
        + f" {'lib fit (x)':>12} {'lib/tf_cot':>10}",
    ]
    for row in rows:
        fl = row["floor_epoch"]
        cells = " ".join(
            f"{row[k]['steady_epoch']:8.3f} s {row[k]['steady_epoch'] / fl:6.2f}x" for k in PROGRAMS
        )
        lib_fit = row["lib"]["fit"] / (results["epochs"] * fl)
        lib_vs_tf = row["lib"]["steady_epoch"] / row["tf_coteaching"]["steady_epoch"]
        lines.append(
            f"{row['batch_size']:5d} {row['steps_per_epoch']:5d} {row['matmul_gflops']:7.0f} "
            f"{fl:7.3f} s {cells} {lib_fit:11.2f}x {lib_vs_tf:9.2f}x"
        )
    if len(rows) >= 2:
        steps = [r["steps_per_epoch"] for r in rows]
        lines.append("")
        lines.append("steady epoch = a * steps + b (least squares over the batch sizes):")
        for k in ("floor",) + PROGRAMS:
            secs = [r["floor_epoch"] if k == "floor" else r[k]["steady_epoch"] for r in rows]
            a, b = line_fit(steps, secs)
            lines.append(f"  {k:14s} a = {a * 1e3:6.3f} ms per step, b = {b:6.3f} s per epoch")
    return "\n".join(lines)


def machine():
    versions = {}
    for dist in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scikit-learn"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "versions": versions,
        "load_average": os.getloadavg(),
        "git_head": git("rev-parse", "HEAD"),
        "git_local_changes": git("status", "--porcelain"),
        "tf_threads_env": {
            k: os.environ.get(k) for k in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
        },
    }


def main(argv=None):
    args = parse_args(argv)
    t0 = time.perf_counter()

    def say(msg):
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", flush=True)

    info = machine()
    results = measure(args, say)
    results.update(
        epochs=args.epochs, repeats=args.repeats, tau=args.tau, Tk=args.Tk, seed=args.seed,
        command=" ".join([Path(sys.argv[0]).name] + (argv if argv is not None else sys.argv[1:])),
        machine=info, load_average_end=os.getloadavg(), seconds=time.perf_counter() - t0,
    )
    text = report(results)
    results["report"] = text
    print()
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"\nsaved {out}")


if __name__ == "__main__":
    main()
