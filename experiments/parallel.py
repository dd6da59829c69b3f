"""Time a grid search of CoTeachingClassifier run serially and in parallel.

The grid of issue 18: a ``StandardScaler`` + ``CoTeachingClassifier`` pipeline
on scikit-learn's digits: by default ``tau`` x ``Tk`` = 2 x 2 candidates x 3
folds = 12 fits (``--tau``, ``--tk``, ``--epochs`` change it).  Each variant runs in a fresh Python process (TensorFlow's thread pools
are fixed when its runtime starts), ``--repeat`` searches in a row, and its
wall time (the searches only, not the start of the process or the cluster) is
printed and written as JSON.

Variants:

``serial``
    ``n_jobs=1``.
``threading``
    ``n_jobs=2`` on joblib's threading backend: two fits at once in this
    process, sharing its TensorFlow runtime (no worker start, no copies).
``loky-tfdefault`` / ``loky``
    ``n_jobs=2`` on joblib's default backend, with TensorFlow's default thread
    pools in each worker (the behaviour before skcoteach.parallel), then with
    :func:`skcoteach.parallel.configure_tensorflow` run in each worker.
``dask-tfdefault`` / ``dask``
    The same on a ``distributed.LocalCluster`` of 2 worker processes with one
    thread each, through ``joblib.parallel_backend("dask")``.
``ray-tfdefault`` / ``ray``
    The same on a local Ray runtime with 2 CPUs, through Ray's joblib backend.

``*-tfdefault`` variants set ``TF_NUM_INTRAOP_THREADS=0`` and
``TF_NUM_INTEROP_THREADS=0`` in the workers: TensorFlow's defaults (one thread
per core per pool), which :func:`~skcoteach.parallel.configure_tensorflow`
leaves alone.  The others estimate with a subclass whose ``fit`` calls
:func:`~skcoteach.parallel.configure_tensorflow` first, which is what
skcoteach does by itself once the call is made where it first imports
TensorFlow (the subclass is then redundant but harmless).

Run (a few minutes on 2 cores; nothing else should run meanwhile), e.g. as
recorded in ``experiments/results/parallel.json``::

    python experiments/parallel.py --epochs 5 --tau 0.2 --tk 5 10 --repeat 2 \\
        --variants serial,loky-tfdefault,loky --out results.json

The tables of the recorded results, ``experiments/results/parallel.md``::

    python experiments/parallel.py --report experiments/results/parallel.json \\
        experiments/results/parallel_idle_*.json
"""

import argparse
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

VARIANTS = (
    "serial",
    "threading",
    "loky-tfdefault",
    "loky",
    "dask-tfdefault",
    "dask",
    "ray-tfdefault",
    "ray",
)
TF_DEFAULT_ENV = {"TF_NUM_INTRAOP_THREADS": "0", "TF_NUM_INTEROP_THREADS": "0"}


def _estimator_class():
    from skcoteach import CoTeachingClassifier

    class ConfiguredCoTeaching(CoTeachingClassifier):
        """CoTeachingClassifier whose fit first runs configure_tensorflow."""

        def fit(self, X, y, **kwargs):
            from skcoteach.parallel import configure_tensorflow

            configure_tensorflow()
            return super().fit(X, y, **kwargs)

    return ConfiguredCoTeaching


def _search(args, configured):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from skcoteach import CoTeachingClassifier

    cls = _estimator_class() if configured else CoTeachingClassifier
    X, y = load_digits(return_X_y=True)
    pipe = Pipeline(
        [("scale", StandardScaler()), ("clf", cls(epochs=args.epochs, random_state=0))]
    )
    grid = {"clf__tau": args.tau, "clf__Tk": args.tk}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=1 if args.variant == "serial" else 2), X, y


def run_one(args):
    """Run ``args.variant`` in this process; print one JSON line."""
    import joblib

    engine, _, tfdefault = args.variant.partition("-")
    configured = not tfdefault
    if tfdefault:
        os.environ.update(TF_DEFAULT_ENV)  # inherited by loky's workers
    search, X, y = _search(args, configured and engine != "serial")
    context, cleanup = joblib.parallel_config(backend="loky"), (lambda: None)
    if engine == "threading":
        context = joblib.parallel_config(backend="threading")
    elif engine == "dask":
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env=TF_DEFAULT_ENV if tfdefault else {},
        )
        client = Client(cluster)
        context = joblib.parallel_config(backend="dask")

        def cleanup():
            client.close()
            cluster.close()

    elif engine == "ray":
        import ray
        from ray.util.joblib import register_ray

        env = {"env_vars": dict(TF_DEFAULT_ENV)} if tfdefault else {}
        ray.init(num_cpus=2, include_dashboard=False, runtime_env=env, log_to_driver=False)
        register_ray()
        context, cleanup = joblib.parallel_config(backend="ray"), ray.shutdown
    times = []
    try:
        with context:
            for _ in range(args.repeat):
                start = time.perf_counter()
                search.fit(X, y)
                times.append(time.perf_counter() - start)
    finally:
        cleanup()
    print(
        json.dumps(
            {
                "variant": args.variant,
                "seconds": [round(t, 2) for t in times],
                "best_params": {k: v for k, v in search.best_params_.items()},
                "mean_test_score": [round(s, 6) for s in search.cv_results_["mean_test_score"]],
            }
        )
    )


def _runs(path):
    """``[(name, run)]`` of a results file: one run (``meta``, ``results``) or several (``runs``)."""
    with open(path) as fh:
        data = json.load(fh)
    stem = os.path.splitext(os.path.basename(path))[0]
    if "runs" in data:
        return data.get("note"), [(f"{stem}-{i}", run) for i, run in enumerate(data["runs"], 1)]
    return data.get("note"), [(stem, data)]


def report(paths, out):
    """Write (and print) the Markdown tables of the results files ``paths`` to ``out``.

    One table per run: the wall time of each search of every variant (first,
    second, ... search of its process) and the 1-minute load average after
    the variant; each between ``<!-- table: <file>[-<run>] -->`` markers.
    """
    import _common

    parts = ["Wall time of each search (s) of one fresh process per variant, and the 1-minute "
             "load average after the variant (2 cores)."]
    for path in paths:
        note, runs = _runs(path)
        if note:
            parts.append(f"`{os.path.basename(path)}`: {note}")
        for name, run in runs:
            results = run["results"]
            searches = max(len(r["seconds"]) for r in results)
            header = ["variant"] + [f"{['first', 'second', 'third'][i]} search" if i < 3 else f"search {i + 1}"
                                    for i in range(searches)] + ["load average"]
            rows = [[r["variant"]] + [f"{t:.1f}" for t in r["seconds"]]
                    + ["-"] * (searches - len(r["seconds"])) + [r.get("loadavg_1min", "-")]
                    for r in results]
            argv = run.get("meta", {}).get("argv", [])
            argv = [a for i, a in enumerate(argv) if a != "--out" and argv[i - 1 : i] != ["--out"]]
            text = f"`{name}`: `{' '.join(argv)}`"
            if run.get("cut_short"):
                text += f" ({run['cut_short']})"
            parts += [text + ":", _common.marked(name, _common.table(header, rows))]
    _common.write_report(out, "\n\n".join(parts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="write the Markdown tables of these results files to --out "
                        "(default: parallel.md next to the first) instead of running")
    parser.add_argument("--variants", default="serial,loky-tfdefault,loky")
    parser.add_argument("--repeat", type=int, default=1, help="searches in a row per process")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--tau", type=float, nargs="+", default=[0.2, 0.4])
    parser.add_argument("--tk", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal: run one
    args = parser.parse_args(argv)
    if args.report:
        out = args.out or os.path.join(os.path.dirname(args.report[0]), "parallel.md")
        return report(args.report, out)
    if args.variant:
        return run_one(args)
    results = []
    for variant in args.variants.split(","):
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
        cmd = [sys.executable, __file__, "--variant", variant, "--repeat", str(args.repeat)]
        cmd += ["--epochs", str(args.epochs), "--tau", *map(str, args.tau)]
        cmd += ["--tk", *map(str, args.tk)]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        # Other processes' load (1-minute average) after the variant: timings
        # are only comparable when it stays well below the number of cores.
        result["loadavg_1min"] = round(os.getloadavg()[0], 2)
        results.append(result)
        print(
            f"{variant:16s} " + " ".join(f"{s:6.1f} s" for s in result["seconds"])
            + f"   (load average {result['loadavg_1min']})",
            flush=True,
        )
        if args.out:  # after every variant: a partial run keeps what it measured
            meta = {"cpu_count": os.cpu_count(), "argv": sys.argv[1:]}
            with open(args.out, "w") as fh:
                json.dump({"meta": meta, "results": results}, fh, indent=1)


if __name__ == "__main__":
    main()
