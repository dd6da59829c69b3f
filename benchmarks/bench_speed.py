#!/usr/bin/env python
"""Speed benchmark of :class:`skcoteach.CoTeachingClassifier`.

Every number is reported as a RATIO against a baseline measured in the same
run, on the same machine, with the same data, model factory, epochs and batch
size:

1. fit time vs fitting the 2 peers separately with plain ``keras.Model.fit``
   (Keras defaults), for (a) a 784-256-10 MLP on the 60k MNIST training images
   and (b) the small CNN of the Co-teaching Keras notebook on 1024 images at
   batch 32; plus the library at ``steps_per_execution=1`` vs 16;
2. fit time vs a re-implementation of that notebook's loop (``predict`` per
   batch, NumPy losses, argsort, ``train_on_batch``);
3. fit time vs a port of the official PyTorch loop (bhanML/Co-teaching) on the
   MLP, with as many torch threads as TensorFlow uses (skipped without torch);
4. ``predict_proba`` vs one plain peer's ``model.predict`` on 10k test images;
5. peak RSS of a fit vs the separate plain fits (one subprocess each);
6. ``import skcoteach`` vs ``import sklearn`` in fresh interpreters, and a
   check that TensorFlow was not imported;
7. MLP fit time vs its compute floor: the matrix-product FLOPs of the fit
   (the five GEMMs of a training step, 2 peers, every sample and epoch)
   divided by the float32 matmul rate measured here with those GEMM shapes;
   and, to tell the library's own cost from TensorFlow's, the same training
   as a minimal plain-TensorFlow program (``_speed_baselines.tf_loop``).

Every method runs in its own long-lived worker subprocess (one per method, so
that TensorFlow and PyTorch never share a process); fits are timed round-robin
across the methods so that a noisy machine slows all of them alike.  The
first fit of every worker is reported separately as the cold fit (it includes
the process's one-time TensorFlow start-up and tracing); ratios use the median
of the following warm fits, each of which builds fresh models (so it still
traces its own train function, like any real ``fit`` of a new estimator).

This file holds the command line and the run's outline; the work is in
``_speed_runner.py`` (worker processes, cases, timing phases),
``_speed_workers.py`` (the program each worker runs), ``_speed_report.py``
(summary, ratios, targets, the printed report) and ``_speed_baselines.py``
(models and baseline training loops).

Usage::

    python benchmarks/bench_speed.py --quick          # ~1 minute smoke run
    python benchmarks/bench_speed.py                  # full run (~12 min idle, 2 cores)
    python benchmarks/bench_speed.py --epochs 3 --repeats 3 \\
        --out benchmarks/results/speed.json

Targets are printed with PASS / FAIL markers; the script never asserts.
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the helper modules next to this script
    sys.path.insert(0, str(HERE))

from _speed_report import TARGETS, format_report, report_again, summarise  # noqa: E402
from _speed_runner import (  # noqa: E402
    WorkerError,
    build_cases,
    library_accepts_strategy,
    run_rss_phase,
    run_timing_phase,
    time_imports,
)
from _speed_workers import _load_data, _prepare, worker_main  # noqa: E402, F401 (bench_floor)


# =============================================================================
# Command line
# =============================================================================
def add_data_argument(parser):
    """The ``--data`` option of the speed benchmarks (this script and ``bench_floor.py``)."""
    parser.add_argument(
        "--data",
        default=os.environ.get("SKCOTEACH_DATA", "/work/shared/data"),
        help="mnist.npz or its directory (default: $SKCOTEACH_DATA or /work/shared/data; "
        "if missing, skcoteach.datasets.load_mnist's own fallbacks are used)",
    )


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_argument(p)
    p.add_argument("--epochs", type=int, default=None, help="MLP epochs (default 3; quick 1)")
    p.add_argument(
        "--cnn-epochs", type=int, default=None,
        help="CNN epochs (default 10, as in the notebook; quick 1)",
    )
    p.add_argument(
        "--repeats", type=int, default=None,
        help="warm timed fits per method after the cold one (default 3; quick 1)",
    )
    p.add_argument(
        "--quick", action="store_true",
        help="smoke run: 4096 MLP / 128 CNN samples, 1 epoch, first fits only, "
        "two shared workers (~1-2 minutes on an idle machine)",
    )
    p.add_argument(
        "--notebook-repeats", type=int, default=0,
        help="warm fits of the notebook loop on the 60k MLP, which takes ~50-100x longer "
        "than the library (default 0: its first fit is its time; its tracing is <1%% of it)",
    )
    p.add_argument(
        "--strategies", nargs="+", default=["coteaching"],
        help="strategies of the library to time, if it has a `strategy` parameter",
    )
    p.add_argument("--tau", type=float, default=0.5)
    p.add_argument("--Tk", type=float, default=10)
    p.add_argument("--c", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=None,
        help="torch threads (default: TensorFlow's intra-op threads = usable CPUs)",
    )
    p.add_argument(
        "--torch-omp-wait-policy", default="PASSIVE", choices=["PASSIVE", "ACTIVE", "default"],
        help="OMP_WAIT_POLICY of the torch worker (default PASSIVE: on a busy machine "
        "torch's spinning OpenMP threads slow it down by 10-60x; 'default' leaves it unset)",
    )
    p.add_argument(
        "--out", default=str(HERE / "results" / "speed.json"), help="JSON output file"
    )
    p.add_argument(
        "--log-dir", default=None,
        help="directory for the workers' stderr logs (default: a new temporary directory)",
    )
    p.add_argument(
        "--report", metavar="JSON", default=None,
        help="print the report of a saved run again (and update that JSON's summary), "
        "without measuring anything",
    )
    p.add_argument("--_worker", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def settings(args):
    """Sizes of the run."""
    q = args.quick
    s = {
        "quick": q,
        "mlp_n_train": 4096 if q else 60000,
        "mlp_batch": 128,
        "mlp_epochs": args.epochs or (1 if q else 3),
        "cnn_n_train": 128 if q else 1024,
        "cnn_batch": 32,
        "cnn_epochs": args.cnn_epochs or (1 if q else 10),
        "n_test": 2000 if q else 10000,
        # quick: only the first fit of each method (in one shared TF worker)
        "repeats": args.repeats if args.repeats is not None else (0 if q else 3),
        "notebook_mlp_repeats": args.notebook_repeats,
        "predict_repeats": 2 if q else 5,
        "matmul_iterations": 100 if q else 400,
        "import_repeats": 1 if q else 7,
        "tau": args.tau,
        "Tk": args.Tk,
        "c": args.c,
        "seed": args.seed,
        "threads": args.threads or len(os.sched_getaffinity(0)),
        "strategies": args.strategies,
        "torch_omp_wait_policy": args.torch_omp_wait_policy,
        "data": args.data,
    }
    return s

# ---------------------------------------------------------------------------
# Machine description
# ---------------------------------------------------------------------------
def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info():
    from _machine import cpu_model, git

    cpu = cpu_model()

    spec = importlib.util.find_spec("skcoteach")
    skc_dir = str(Path(spec.origin).parent) if spec and spec.origin else None
    tf_dist = next((d for d in ("tensorflow-cpu", "tensorflow") if _version(d)), "tensorflow")
    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": f"{tf_dist} {_version(tf_dist)}",
        "keras": _version("keras"),
        "torch": _version("torch"),
        "numpy": _version("numpy"),
        "scikit-learn": _version("scikit-learn"),
        "skcoteach": _version("skcoteach"),
        "skcoteach_imported_from": skc_dir,
        "git_head": git("rev-parse", "--short", "HEAD"),
        "skcoteach_local_changes": git("status", "--porcelain", "--", "skcoteach"),
        "loadavg_start": os.getloadavg(),
        # TensorFlow's thread pools, as set in the environment (unset: TF's default).
        "tf_threads_env": {k: os.environ.get(k) for k in
                           ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")},
    }


def main(argv=None):
    args = parse_args(argv)
    if args._worker is not None:
        return worker_main(args._worker)

    if args.report:
        return report_again(Path(args.report))
    s = settings(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="bench_speed_logs_"))
    log_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()

    def say(msg):
        print(f"[{time.perf_counter() - t_start:7.1f}s] {msg}", flush=True)

    torch_ok = importlib.util.find_spec("torch") is not None
    if torch_ok:  # make sure it really imports (in a subprocess: no torch here)
        torch_ok = subprocess.run([sys.executable, "-c", "import torch"],
                                  capture_output=True).returncode == 0
    has_strategy = library_accepts_strategy()
    phases, skipped = build_cases(s, torch_ok, has_strategy)
    results = {"settings": s, "machine": machine_info(), "cases": {}, "skipped": skipped,
               "failed": {},
               "worker_maxrss_kb": {}, "targets": TARGETS,
               "command": [sys.executable] + sys.argv}
    for msg in skipped:
        say("SKIP: " + msg)
    say(f"settings: {json.dumps({k: v for k, v in s.items() if k != 'strategies'})}")
    say(f"worker logs in {log_dir}")

    for tag in ("mlp", "cnn"):
        try:
            run_timing_phase(tag, phases[tag], s, log_dir, results, say)
        except WorkerError as exc:
            results["failed"][f"{tag} phase"] = str(exc)
            say(f"[{tag}] phase FAILED: {exc}")
    try:
        results["rss"] = run_rss_phase(phases, s, log_dir, say)
    except WorkerError as exc:
        results["failed"]["rss"] = str(exc)
    results["imports"] = time_imports(s, say)
    results["loadavg_end"] = os.getloadavg()
    results["wall_s"] = time.perf_counter() - t_start

    summary, rows = summarise(results, s)
    results["summary"], results["ratios"] = summary, rows
    report = format_report(results, s, summary, rows)
    results["report"] = report
    out.write_text(json.dumps(results, indent=1, default=str))
    print()
    print(report)
    print(f"\nJSON written to {out} (total {results['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
