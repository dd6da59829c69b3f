#!/usr/bin/env python
"""Ratios of the speed targets from the asv results of one run.

asv records absolute numbers; every target is a ratio of the library against
a baseline measured in the same run.  This script reads one of asv's result
files (``results/<machine>/<commit>-<environment>.json``; the newest one by
default), prints the ratios with their targets as PASS / FAIL and, with
``--markdown FILE``, writes them as a Markdown table.

Usage::

    python ratios.py [RESULT_FILE] [--markdown results.md] [--ids B1 S1 S3 S4 S5]
"""

import argparse
import itertools
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RULES = ("coteaching", "coteaching_plus", "jocor")
LIB = "coteaching.CoTeaching."
BASE = "baseline_fits."

#: (id, measurement, numerator, denominator, target); ``{rule}`` rows repeat per rule.
RATIOS = [
    ("1a", "MLP fit / 2 plain Keras fits", (LIB + "time_fit", "mlp", "{rule}"),
     (BASE + "PlainKeras.time_fit", "mlp"), 0.6),
    ("1b", "CNN fit / 2 plain Keras fits", (LIB + "time_fit", "cnn", "{rule}"),
     (BASE + "PlainKeras.time_fit", "cnn"), 0.6),
    ("2a", "MLP fit / notebook loop", (LIB + "time_fit", "mlp", "{rule}"),
     (BASE + "NotebookLoop.time_fit", "mlp"), 0.5),
    ("2b", "CNN fit / notebook loop", (LIB + "time_fit", "cnn", "{rule}"),
     (BASE + "NotebookLoop.time_fit", "cnn"), 0.5),
    ("3", "MLP fit / PyTorch loop", (LIB + "time_fit", "mlp", "{rule}"),
     (BASE + "TorchLoop.time_fit", "mlp"), 0.8),
    ("4", "predict_proba / 1 peer's predict", (LIB + "time_predict_proba", "mlp", "coteaching"),
     (BASE + "PlainKeras.time_predict_proba", "mlp"), 2.1),
    ("5", "peak RSS of a fit / 2 plain fits", (LIB + "peakmem_fit", "mlp", "coteaching"),
     (BASE + "PlainKeras.peakmem_fit", "mlp"), None),
    ("6", "import skcoteach / import sklearn", ("imports.Import.timeraw_import_skcoteach",),
     ("imports.Import.timeraw_import_sklearn",), None),
    ("7", "MLP fit / compute floor", (LIB + "time_fit", "mlp", "{rule}"),
     ("floor.ComputeFloor.track_floor_seconds",), 1.3),
    ("7b", "MLP fit / bare TensorFlow program", (LIB + "time_fit", "mlp", "coteaching"),
     (BASE + "TFLoop.time_fit", "mlp", True), None),
    ("7c", "bare TensorFlow program / compute floor", (BASE + "TFLoop.time_fit", "mlp", True),
     ("floor.ComputeFloor.track_floor_seconds",), None),
    ("S1", "CoTeachingGridSearchCV / GridSearchCV, n_jobs=1",
     ("search.GridSearch.time_fit", "CoTeachingGridSearchCV", 1),
     ("search.GridSearch.time_fit", "GridSearchCV", 1), None),
    ("S2", "CoTeachingGridSearchCV / GridSearchCV, n_jobs=2",
     ("search.GridSearch.time_fit", "CoTeachingGridSearchCV", 2),
     ("search.GridSearch.time_fit", "GridSearchCV", 2), None),
    ("B1", "JAX epochs / TensorFlow epochs (MLP)", ("backends.Epoch.time_epochs", "jax"),
     ("backends.Epoch.time_epochs", "tensorflow"), 1.1),
    ("S3", "CoTeachingGridSearchCV / GridSearchCV, n_jobs=1, JAX",
     ("search.GridSearchJAX.time_fit", "CoTeachingGridSearchCV"),
     ("search.GridSearchJAX.time_fit", "GridSearchCV"), None),
    ("S4", "CoTeachingGridSearchCV / GridSearchCV, MNIST 6k, n_jobs=1, TensorFlow",
     ("search.GridSearchMNIST.time_fit", "CoTeachingGridSearchCV", "tensorflow"),
     ("search.GridSearchMNIST.time_fit", "GridSearchCV", "tensorflow"), 0.85),
    ("S5", "CoTeachingGridSearchCV / GridSearchCV, MNIST 6k, n_jobs=1, JAX",
     ("search.GridSearchMNIST.time_fit", "CoTeachingGridSearchCV", "jax"),
     ("search.GridSearchMNIST.time_fit", "GridSearchCV", "jax"), 0.85),
    ("SEL0", "MLP fit, selection class_floor / 2 plain Keras fits",
     ("coteaching.Selection.time_fit", "mlp", "class_floor"),
     (BASE + "PlainKeras.time_fit", "mlp"), 0.6),
    ("SEL", "MLP fit, selection class_floor / global",
     ("coteaching.Selection.time_fit", "mlp", "class_floor"),
     ("coteaching.Selection.time_fit", "mlp", "global"), None),
    ("SEL2", "MLP fit, selection per_class / global",
     ("coteaching.Selection.time_fit", "mlp", "per_class"),
     ("coteaching.Selection.time_fit", "mlp", "global"), None),
    ("M", "sparse fit peak RSS / peak before the fit", ("sparse.SparseFit.peakmem_fit",),
     ("sparse.SparseFit.peakmem_data",), None),
]


def lookup(results, name, *params):
    """One value of an asv result file.

    Parameters
    ----------
    results : dict
        The ``"results"`` mapping of an asv result file.
    name : str
        Benchmark name, e.g. ``"coteaching.CoTeaching.time_fit"``.
    *params
        The parameter values, in the order of the benchmark's ``params``.

    Returns
    -------
    float or None
        The value, or None where the benchmark did not run, failed or was
        skipped.
    """
    entry = results.get(name)
    if entry is None:
        return None
    values, grid = entry[0], entry[1] if len(entry) > 1 else []
    if not grid:
        return values if not isinstance(values, list) else values[0]
    wanted = [repr(p) for p in params]
    for value, combo in zip(values, itertools.product(*grid)):
        if list(combo) == wanted:
            return value if isinstance(value, (int, float)) else None
    return None


def _unit(name):
    return "MiB" if ".peakmem_" in name else "s"


def _show(value, name):
    if value is None:
        return "-"
    return f"{value / 2**20:.0f} MiB" if _unit(name) == "MiB" else f"{value:.3g} s"


def compute(results):
    """The ratio rows of one run.

    Parameters
    ----------
    results : dict
        The ``"results"`` mapping of an asv result file.

    Returns
    -------
    list of dict
        One row per ratio (and rule): ``id``, ``what``, ``library``,
        ``baseline`` (formatted), ``ratio`` (float or None), ``target`` and
        ``status`` (``PASS``, ``FAIL``, ``info`` or ``not run``).
    """
    rows = []
    for key, what, num, den, target in RATIOS:
        rules = RULES if "{rule}" in num else (None,)
        for rule in rules:
            n = tuple(rule if p == "{rule}" else p for p in num)
            a, b = lookup(results, *n), lookup(results, *den)
            ratio = a / b if a is not None and b else None
            if ratio is None:
                status = "not run"
            elif target is None:
                status = "info"
            else:
                status = "PASS" if ratio <= target else "FAIL"
            label = f"{key}[{rule}]" if rule and rule != "coteaching" else key
            rows.append({"id": label, "what": what, "library": _show(a, n[0]),
                         "baseline": _show(b, den[0]), "ratio": ratio, "target": target,
                         "status": status})
    imported = lookup(results, "imports.Import.track_tensorflow_imported")
    rows.append({"id": "6b", "what": "TensorFlow imported by import skcoteach", "library":
                 "-" if imported is None else ("yes" if imported else "no"), "baseline": "-",
                 "ratio": None, "target": None,
                 "status": "not run" if imported is None else ("FAIL" if imported else "PASS")})
    peak = lookup(results, "sparse.SparseFit.peakmem_fit")
    rows.append({"id": "M2", "what": "sparse fit peak RSS below 2048 MiB", "library":
                 _show(peak, ".peakmem_"), "baseline": "2048 MiB", "ratio": None,
                 "target": None, "status": "not run" if peak is None
                 else ("PASS" if peak < 2048 * 2**20 else "FAIL")})
    return rows


def markdown(rows, header=""):
    """The rows as a Markdown table (after an optional header paragraph)."""
    lines = [header, ""] if header else []
    lines += ["| # | measurement | library | baseline | ratio | target | status |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        target = "-" if r["target"] is None else f"<= {r['target']}x"
        lines.append(f"| {r['id']} | {r['what']} | {r['library']} | {r['baseline']} | {ratio} "
                     f"| {target} | {r['status']} |")
    return "\n".join(lines) + "\n"


def newest_result(folder=HERE / "results"):
    """The most recently written asv result file under ``folder``, or None."""
    files = [p for p in Path(folder).glob("*/*.json") if p.name != "machine.json"]
    return max(files, key=lambda p: p.stat().st_mtime, default=None)


def main(argv=None):
    """Print the ratios of one asv result file; optionally write them as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", nargs="?", type=Path, help="asv result file (default: newest)")
    parser.add_argument("--markdown", type=Path, help="write the table to this file")
    parser.add_argument("--ids", nargs="+", help="only these ratios (e.g. B1 S1 S3)")
    args = parser.parse_args(argv)
    path = args.result or newest_result()
    if path is None:
        parser.error("no asv result file found; run asv first or name one")
    run = json.loads(Path(path).read_text())
    header = (f"asv run of commit `{run.get('commit_hash', '?')[:8]}` on machine "
              f"`{run.get('params', {}).get('machine', '?')}` (`{Path(path).name}`).")
    rows = compute(run["results"])
    if args.ids:
        rows = [row for row in rows if row["id"].split("[")[0] in args.ids]
    text = markdown(rows, header)
    print(text, end="")
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
