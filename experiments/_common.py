"""What the experiment scripts share: the command line, result records, machine facts, tables.

Every study is ``python experiments/<study>.py run ...`` (fit and record, skipping
the runs already recorded) and ``python experiments/<study>.py report`` (the
Markdown tables, from the records alone).  A study's records are JSON lines, one
fit (or one seed-level summary) per line, in ``<results>/runs.jsonl`` (``results.jsonl``
for ``imbalance.py`` and ``real_data.py``), or the file that ``--results`` names if it
ends in ``.jsonl``.
"""

import argparse
import importlib
import json
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"


def commands(doc, results, names=("run", "report")):
    """``(parser, {name: subparser})``: one subcommand per name, each with ``--results``.

    ``doc`` is the script's docstring (its first line describes the script);
    ``results`` the default ``--results``, a folder or a ``.jsonl`` file.
    """
    parser = argparse.ArgumentParser(description=doc.strip().split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    helps = {"run": "fit and record (runs already recorded are skipped)",
             "report": "Markdown tables of the recorded runs"}
    parsers = {name: sub.add_parser(name, help=helps.get(name)) for name in names}
    for p in parsers.values():
        p.add_argument("--results", type=pathlib.Path, default=results,
                       help="folder (or .jsonl file) of the records (default: the study's)")
    return parser, parsers


def add_data(parser, what="mnist.npz / fashion_mnist.npz or their folder"):
    """``--data``: where the image data sets are (default: ``$SKCOTEACH_DATA``, then Keras)."""
    parser.add_argument("--data", default=os.environ.get("SKCOTEACH_DATA"),
                        help=f"{what} (default: $SKCOTEACH_DATA, then the Keras download)")


def add_report(parser, instead_of):
    """``--report JSON``: write the Markdown table of a results file (to ``--out``) instead of ``instead_of``."""
    parser.add_argument("--report", metavar="JSON", default=None,
                        help="write the Markdown table of this results file to --out (default: "
                        f"the same name with .md) instead of {instead_of}")


def report_path(args):
    """Where ``--report`` writes: ``--out``, else the results file's name with ``.md``."""
    return args.out or args.report.rsplit(".", 1)[0] + ".md"


def add_seeds(parser, default):
    parser.add_argument("--seeds", nargs="+", type=int, default=list(default))


def add_epochs(parser, default, help="epochs of the skc_* methods (default: the estimator's)"):
    parser.add_argument("--epochs", type=int, default=default, help=help)


def runs_file(results, name="runs.jsonl"):
    """The JSON-lines file of ``--results``: the path itself if it ends in ``.jsonl``."""
    results = pathlib.Path(results)
    return results if results.suffix == ".jsonl" else results / name


#: Fields that a record leaves out where they equal the previous record's: what one run shares.
SHARED = ("command", "machine")


def load(path):
    """The records of a JSON-lines file (none if it does not exist), shared fields filled in."""
    path = pathlib.Path(path)
    records = []
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                for key in SHARED:
                    if records and key not in record and key in records[-1]:
                        record[key] = records[-1][key]
                records.append(record)
    return records


def append(path, record):
    """Add one record to a JSON-lines file (written at once: an interrupted run loses one fit).

    The :data:`SHARED` fields are left out where they equal the last record's.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = load(path)[-1:]
    record = {k: v for k, v in record.items()
              if not (k in SHARED and previous and previous[0].get(k) == v)}
    with path.open("a") as fh:
        fh.write(json.dumps(record) + "\n")


def recorded(path, key):
    """``key(record)`` of every record of ``path``: the runs a resumed ``run`` skips."""
    return {key(r) for r in load(path)}


def command():
    """The command line of this process, as recorded with each run."""
    return " ".join([os.path.basename(sys.executable)] + sys.argv)


def cpu_model():
    """The CPU's model name from ``/proc/cpuinfo``, or None where there is none."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def git(*args):
    """Output of ``git *args`` in the repository, or None outside a git checkout."""
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=str(HERE.parent), check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine(*modules):
    """Where a run happened: commit, CPU, cores, Python and the versions of ``modules``."""
    info = {
        "commit": git("rev-parse", "--short", "HEAD"),
        "cpu": cpu_model() or "unknown",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    for name in modules:
        info[name] = importlib.import_module(name).__version__
    return info


def table(header, rows, align="---"):
    """A Markdown table: ``header`` and each row a list of cells; ``align`` one per column or for all."""
    aligns = [align] * len(header) if isinstance(align, str) else list(align)
    lines = ["| " + " | ".join(header) + " |", "|" + "".join(f"{a}|" for a in aligns)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def marked(name, text):
    """``text`` between ``<!-- table: name -->`` and ``<!-- /table -->``.

    The documentation includes a report's table by these markers (reST
    ``include`` with ``:start-after:`` / ``:end-before:``), so that its figures
    are typed nowhere but in the report the ``report`` command writes.
    """
    return f"<!-- table: {name} -->\n\n{text}\n\n<!-- /table -->"


def mean_std(values, digits=1, always_std=True, count=False):
    """``"mean ± std"`` of ``values`` (``"-"`` if there are none).

    With ``always_std=False`` a single value has no ``± std``; ``count`` appends
    ``" (n)"`` where there are several.
    """
    values = list(values)
    if not values:
        return "-"
    text = f"{np.mean(values):.{digits}f}"
    if always_std or len(values) > 1:
        text += f" ± {np.std(values):.{digits}f}"
    if count and len(values) > 1:
        text += f" ({len(values)})"
    return text


def write_report(path, text):
    """Write a report (one trailing newline) and print it."""
    pathlib.Path(path).write_text(text + "\n")
    print(text)
