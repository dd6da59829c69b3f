"""Where the time of a grid search goes, per Keras backend: what grouping can and cannot save.

Issue 28 sets ``CoTeachingGridSearchCV <= 0.85x GridSearchCV(n_jobs=1)`` on the
asv suite's grouped-search workload (``asv_benchmarks/benchmarks/search.py``,
``GridSearchMNIST``: the 784-256-10 MLP, 6 000 MNIST images, 6 epochs, a 3 x 2
grid, ``cv=3``: 18 fits and the refit).  This runs each search once per
backend, each in a fresh process as asv does, and splits its wall time with
timers around the library's own steps:

``first build``
    the first ``_prepare_fit`` of the process (Keras builds its first model:
    the backend compiles its initializers), paid once by either search;
``set-up``
    every other ``_prepare_fit`` (validation, building the peers);
``fold training``
    training the 18 fits of the folds (``GridSearchCV``: their ``_train``;
    ``CoTeachingGridSearchCV``: ``fit_together`` less its set-up);
``of which compiling``
    JAX only: compiling programs during that training (the executables are
    shared, so ``GridSearchCV`` compiles once for all its fits);
``refit``, ``prediction``
    training the refit, every ``predict_proba`` (scoring), the same work in
    both searches;
``other``
    the rest (scikit-learn's loop, cloning, the search's own bookkeeping).

Usage::

    SKCOTEACH_DATA=../shared/data python experiments/search_phases.py --out experiments/results/search_phases.json
    python experiments/search_phases.py --report experiments/results/search_phases.json   # .md
"""

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import _common

SEARCHES = ("GridSearchCV", "CoTeachingGridSearchCV")
BACKENDS = ("tensorflow", "jax")
PHASES = ("first build", "set-up", "fold training", "of which compiling", "refit", "prediction",
          "other")


def _timed(owner, name, calls):
    """Record the duration of every call of ``owner.name`` in ``calls[name]``."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            calls.setdefault(name, []).append((start, time.perf_counter()))

    setattr(owner, name, wrapper)


def _inside(inner, outer):
    """Total duration of the ``inner`` calls made during any ``outer`` call."""
    return sum(e - s for s, e in inner if any(os <= s and e <= oe for os, oe in outer))


def one_search(search):
    """Run ``search`` on the workload in this process; its phases in seconds."""
    sys.path.insert(0, str(_common.HERE.parent / "asv_benchmarks"))
    from benchmarks.search import GridSearchMNIST

    from skcoteach import _fit
    from skcoteach.backends import api, configured

    backend = configured()
    benchmark = GridSearchMNIST()
    benchmark.setup(search, backend)
    module = api()
    calls = {}
    _timed(_fit.FitSteps, "_prepare_fit", calls)
    _timed(_fit.FitSteps, "_train", calls)
    _timed(module, "predict_proba", calls)
    _timed(module, "fit_together", calls)  # what the search calls: api().fit_together
    if backend == "jax":
        from skcoteach.backends.jax import _programs

        _timed(_programs, "_executable", calls)
    start = time.perf_counter()
    benchmark.time_fit(search, backend)
    total = time.perf_counter() - start

    def seconds(name):
        return sum(e - s for s, e in calls.get(name, []))

    prepares, trains = calls["_prepare_fit"], calls.get("_train", [])
    joint = calls.get("fit_together", [])
    refit = trains[-1][1] - trains[-1][0]
    folds = (seconds("fit_together") - _inside(prepares, joint)) if joint else seconds("_train") - refit
    phases = {
        "first build": prepares[0][1] - prepares[0][0],
        "set-up": seconds("_prepare_fit") - (prepares[0][1] - prepares[0][0]),
        "fold training": folds,
        "of which compiling": _inside(calls.get("_executable", []), joint or trains[:-1]),
        "refit": refit,
        "prediction": seconds("predict_proba"),
    }
    phases["other"] = total - sum(v for k, v in phases.items() if k != "of which compiling")
    return {"total": total, "phases": phases}


def _median(runs, key):
    """Median over the repeats of ``run[key]`` (a number, or a dict of numbers)."""
    values = [run[key] for run in runs]
    if isinstance(values[0], dict):
        return {k: statistics.median(v[k] for v in values) for k in values[0]}
    return statistics.median(values)


def report(path, out):
    """Write (and print) the Markdown table of the results file ``path`` to ``out``.

    Medians over the repeats of each phase and of the total (so the phases
    need not add up to the total exactly), and the ratio of the median totals.
    """
    with open(path) as fh:
        result = json.load(fh)
    runs = result["runs"]
    cells = [(b, s) for b in BACKENDS for s in SEARCHES]
    phases = {cell: _median(runs[cell[0]][cell[1]], "phases") for cell in cells}
    totals = {cell: _median(runs[cell[0]][cell[1]], "total") for cell in cells}
    header = ["phase", *(f"{b}: {s}" for b, s in cells)]
    rows = [[phase, *(f"{phases[cell][phase]:.2f} s" for cell in cells)] for phase in PHASES]
    rows.append(["total", *(f"{totals[cell]:.2f} s" for cell in cells)])
    rows.append(["ratio", *(f"{totals[cell] / totals[cell[0], 'GridSearchCV']:.2f}x"
                            for cell in cells)])
    repeats = len(runs[BACKENDS[0]][SEARCHES[0]])
    text = (f"Medians of {repeats} interleaved rounds, one search per process, asv's "
            f"`GridSearchMNIST` workload, on {result['machine']['platform']}, Keras "
            f"{result['machine']['keras']}:\n\n"
            + _common.marked("search_phases", _common.table(header, rows)))
    _common.write_report(out, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_report(parser, "running the searches")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of the four searches, interleaved; the report takes medians")
    parser.add_argument("--one", choices=SEARCHES, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--out", default=None,
                        help="write the results as JSON here (with --report: the Markdown file)")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report, _common.report_path(args))
    if args.one:
        print(json.dumps(one_search(args.one)))
        return None
    runs = {}
    for repeat in range(args.repeats):
        for backend in BACKENDS:
            for search in SEARCHES:
                env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "2"}
                done = subprocess.run([sys.executable, __file__, "--one", search], env=env,
                                      check=True, capture_output=True, text=True)
                run = json.loads(done.stdout.strip().splitlines()[-1])
                runs.setdefault(backend, {}).setdefault(search, []).append(run)
                print(repeat, backend, search, f"{run['total']:.2f} s", flush=True)
    import keras

    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"machine": {"platform": platform.platform(), "keras": keras.__version__},
                       "runs": runs}, fh, indent=1)
    return runs


if __name__ == "__main__":
    main()
