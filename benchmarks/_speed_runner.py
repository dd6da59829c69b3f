"""The orchestrator side of ``bench_speed.py``: worker processes, cases and timing phases."""

import json
import os
import subprocess
import sys
from pathlib import Path

from _speed_report import median
from _speed_workers import RESULT_MARK

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "_speed_workers.py"


class WorkerError(RuntimeError):
    pass


class WorkerProc:
    """A worker subprocess hosting some cases."""

    def __init__(self, name, cases, s, log_dir):
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self.log = open(self.log_path, "w")
        spec = {"cases": cases, "data": s["data"], "n_test": s["n_test"]}
        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env.setdefault("KERAS_BACKEND", "tensorflow")
        policy = s.get("torch_omp_wait_policy", "default")
        if policy != "default" and any(c.get("method") == "torch" for c in cases.values()):
            env.setdefault("OMP_WAIT_POLICY", policy)
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=env,
            cwd=str(REPO),
        )
        self.ready = None
        self.rusage = None

    def _read(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise WorkerError(
                    f"worker {self.name} died; see {self.log_path}:\n" + _tail(self.log_path)
                )
            if line.startswith(RESULT_MARK):
                res = json.loads(line[len(RESULT_MARK):])
                if "error" in res:
                    raise WorkerError(f"worker {self.name}: {res['error']}")
                return res

    def wait_ready(self):
        if self.ready is None:
            self.ready = self._read()
        return self.ready

    def call(self, **cmd):
        self.wait_ready()
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        """Stop the worker; return (its self-reported, its wait4) max RSS in kB."""
        own = None
        try:
            # .get: after a failed phase the answer read may be that of an earlier command
            # (the RSS phase sends all its fits before reading), not the exit's.
            own = self.call(cmd="exit").get("maxrss_kb")
        except (WorkerError, BrokenPipeError, OSError):
            pass
        try:
            _, status, ru = os.wait4(self.proc.pid, 0)
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            self.rusage = ru.ru_maxrss
        except ChildProcessError:
            self.proc.wait()
        self.log.close()
        return own, self.rusage


def _tail(path, n=30):
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(True)[-n:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------
def library_accepts_strategy():
    from skcoteach import CoTeachingClassifier

    return "strategy" in CoTeachingClassifier().get_params()


def build_cases(s, torch_ok, has_strategy):
    """Case name -> spec, for the MLP phase and the CNN phase."""
    common = {"tau": s["tau"], "Tk": s["Tk"], "c": s["c"]}
    mlp = dict(common, model="mlp", n_train=s["mlp_n_train"], epochs=s["mlp_epochs"],
               batch_size=s["mlp_batch"])
    cnn = dict(common, model="notebook_cnn", n_train=s["cnn_n_train"],
               epochs=s["cnn_epochs"], batch_size=s["cnn_batch"])
    skipped = []
    strategies = []
    for st in s["strategies"]:
        if has_strategy:
            strategies.append(st)
        elif st == "coteaching":
            strategies.append(None)  # the library's only behaviour
        else:
            skipped.append(
                f"strategy {st!r} skipped: CoTeachingClassifier has no `strategy` parameter"
            )
    phases = {}
    for tag, base in (("mlp", mlp), ("cnn", cnn)):
        cases = {}
        for st in strategies:
            suffix = "" if st in (None, "coteaching") else f"[{st}]"
            cases[f"{tag}.lib16{suffix}"] = dict(base, method="lib", spe=16, strategy=st)
        cases[f"{tag}.lib1"] = dict(
            base, method="lib", spe=1, strategy=strategies[0] if strategies else None
        )
        cases[f"{tag}.plain"] = dict(base, method="plain")
        cases[f"{tag}.notebook"] = dict(base, method="notebook")
        if tag == "mlp":
            cases[f"{tag}.tfloop"] = dict(base, method="tfloop")
            if torch_ok:
                cases[f"{tag}.torch"] = dict(base, method="torch", threads=s["threads"])
            else:
                skipped.append("PyTorch loop skipped: `import torch` failed (pip install torch)")
        phases[tag] = cases
    return phases, skipped


def worker_groups(cases, quick):
    """Which worker hosts which case: one worker per case, or one TF + one torch in quick mode."""
    if not quick:
        return {name.replace("[", "_").replace("]", ""): {name: spec} for name, spec in cases.items()}
    groups = {}
    for name, spec in cases.items():
        key = "torch" if spec["method"] == "torch" else "tf"
        groups.setdefault(key, {})[name] = spec
    return groups


def run_timing_phase(tag, cases, s, log_dir, results, say):
    """Cold fit + round-robin warm fits of every case of one phase."""
    groups = worker_groups(cases, s["quick"])
    if tag == "mlp":  # the matmul rate and predict timing live in the MLP phase
        groups.setdefault("matmul" if not s["quick"] else "tf", {})
    workers = {g: WorkerProc(f"{tag}.{g}" if not s["quick"] else f"{tag}.{g}", c, s, log_dir)
               for g, c in groups.items()}
    owner = {name: workers[g] for g, c in groups.items() for name in c}
    matmul_worker = workers["matmul" if not s["quick"] else "tf"] if tag == "mlp" else None
    try:
        for w in workers.values():
            w.wait_ready()
        names = list(cases)
        predict_case = next((n for n in names if n.startswith("mlp.lib16")), None)
        res = {n: {"cold": None, "warm": [], "epochs_warm": [], "epochs_cold": None,
                   "spec": cases[n]} for n in names}
        say(f"[{tag}] cold fits (first fit of each worker process)")
        for n in names:
            try:
                r = owner[n].call(cmd="fit", case=n, seed=s["seed"])
            except WorkerError as exc:
                res[n]["error"] = str(exc)
                say(f"    {n:<22} FAILED: {exc}")
                continue
            res[n]["cold"], res[n]["epochs_cold"] = r["time"], r["epochs"]
            say(f"    {n:<22} cold {r['time']:8.2f} s")
        matmul, predict = [], {"lib": [], "one_model": []}
        max_warm = {n: s["repeats"] for n in names}
        if "mlp.notebook" in max_warm:
            max_warm["mlp.notebook"] = min(s["repeats"], s["notebook_mlp_repeats"])
        for rep in range(s["repeats"]):
            order = names[rep % len(names):] + names[: rep % len(names)]
            say(f"[{tag}] round {rep + 1}/{s['repeats']}")
            for n in order:
                if rep >= max_warm[n] or "error" in res[n]:
                    continue
                try:
                    r = owner[n].call(cmd="fit", case=n, seed=s["seed"] + rep + 1)
                except WorkerError as exc:
                    res[n]["error"] = str(exc)
                    say(f"    {n:<22} FAILED: {exc}")
                    continue
                res[n]["warm"].append(r["time"])
                res[n]["epochs_warm"].append(r["epochs"])
                say(f"    {n:<22} warm {r['time']:8.2f} s")
            if matmul_worker is not None:
                m = matmul_worker.call(cmd="matmul", iterations=s["matmul_iterations"])
                matmul.append(m)
                say(f"    matmul rate          {median(m['rates']) / 1e9:8.1f} GFLOP/s")
                p = owner[predict_case].call(cmd="predict", case=predict_case,
                                             repeats=s["predict_repeats"])
                predict["lib"] += p["lib"]
                predict["one_model"] += p["one_model"]
                predict.update(n=p["n"], batch_size=p["batch_size"])
                say(f"    predict              lib {median(p['lib']):.3f} s, "
                    f"one model {median(p['one_model']):.3f} s")
        if s["repeats"] == 0 and matmul_worker is not None:  # still measure once
            matmul.append(matmul_worker.call(cmd="matmul", iterations=s["matmul_iterations"]))
            p = owner[predict_case].call(cmd="predict", case=predict_case,
                                         repeats=s["predict_repeats"])
            predict.update(p)
        for n in names:
            if "error" not in res[n] and not s["quick"]:  # sanity check, untimed
                try:
                    res[n]["accuracy"] = owner[n].call(cmd="accuracy", case=n)["accuracy"]
                except WorkerError as exc:
                    res[n]["accuracy_error"] = str(exc)
        results["cases"].update({n: r for n, r in res.items() if "error" not in r})
        results["failed"].update({n: r["error"] for n, r in res.items() if "error" in r})
        if matmul_worker is not None:
            results["matmul"] = matmul
            results["predict"] = predict
    finally:
        for g, w in workers.items():
            own, ru = w.close()
            results["worker_maxrss_kb"][w.name] = {"self": own, "wait4": ru}


def run_rss_phase(phases, s, log_dir, say):
    """Peak RSS of one cold MLP fit in a fresh process: library vs plain fits vs no fit."""
    cases = phases["mlp"]
    lib_name = "mlp.lib16" if "mlp.lib16" in cases else next(
        n for n in cases if cases[n]["method"] == "lib")
    jobs = {
        "baseline": {lib_name: cases[lib_name]},  # imports TF + data, no fit
        "lib": {lib_name: cases[lib_name]},
        "plain": {"mlp.plain": cases["mlp.plain"]},
    }
    say("[rss] one fit per fresh process (run concurrently; memory does not depend on speed)")
    workers = {k: WorkerProc(f"rss.{k}", c, s, log_dir) for k, c in jobs.items()}
    out = {}
    try:
        for w in workers.values():
            w.wait_ready()
        calls = {}
        for k, w in workers.items():  # send all commands first, then collect
            cmd = {"cmd": "import_tf"} if k == "baseline" else {
                "cmd": "fit", "case": next(iter(jobs[k])), "seed": s["seed"]}
            w.proc.stdin.write(json.dumps(cmd) + "\n")
            w.proc.stdin.flush()
            calls[k] = w
        for k, w in calls.items():
            w._read()
    finally:
        for k, w in workers.items():
            own, ru = w.close()
            out[k] = {"self_kb": own, "wait4_kb": ru}
            say(f"    {k:<9} peak RSS {(ru or own or 0) / 1024:8.1f} MiB")
    return out


def time_imports(s, say):
    """Wall time of `import <module>` in fresh interpreters, alternating."""
    code = (
        "import time, sys, json\n"
        "t = time.perf_counter()\n"
        "import {mod}\n"
        "dt = time.perf_counter() - t\n"
        "print(json.dumps({{'s': dt, 'tensorflow': 'tensorflow' in sys.modules, "
        "'keras': 'keras' in sys.modules, 'torch': 'torch' in sys.modules, "
        "'n_modules': len(sys.modules)}}))\n"
    )
    env = dict(os.environ)
    out = {"skcoteach": [], "sklearn": []}
    say("[import] fresh interpreters, alternating; one untimed warm-up each")
    for i in range(s["import_repeats"] + 1):
        for mod in ("skcoteach", "sklearn"):
            r = subprocess.run(
                [sys.executable, "-c", code.format(mod=mod)],
                capture_output=True, text=True, env=env, cwd="/",
            )
            if r.returncode:
                raise RuntimeError(f"import {mod} failed:\n{r.stderr}")
            if i:
                out[mod].append(json.loads(r.stdout.strip().splitlines()[-1]))
    return out

