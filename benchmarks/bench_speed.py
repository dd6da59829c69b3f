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
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULT_MARK = "@@RESULT "

#: Targets (upper bounds on ratios).
TARGETS = {
    "fit_vs_plain": 0.6,
    "fit_vs_notebook": 0.5,
    "fit_vs_torch": 0.8,
    "fit_vs_floor": 1.3,
    "predict_vs_one_model": 2.1,
}


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


# =============================================================================
# Worker (runs in a subprocess)
# =============================================================================
def _load_data(path):
    from skcoteach.datasets import load_mnist

    if path and os.path.exists(path):
        return load_mnist(path)
    return load_mnist()  # $SKCOTEACH_MNIST / $SKCOTEACH_DATA / keras download


def _prepare(raw, model_kind, n_train, n_test):
    import numpy as np

    (x_train, y_train), (x_test, y_test) = raw
    shape = (-1, 784) if model_kind == "mlp" else (-1, 28, 28, 1)
    X = x_train[:n_train].reshape(shape).astype(np.float32)
    X /= 255.0
    Xt = x_test[:n_test].reshape(shape).astype(np.float32)
    Xt /= 255.0
    return X, y_train[:n_train].astype(np.int64), Xt, y_test[:n_test].astype(np.int64)


class _Worker:
    """Hosts one or more cases; answers JSON commands read from stdin."""

    def __init__(self, spec):
        import numpy as np

        sys.path.insert(0, str(HERE))
        import _speed_baselines as B

        self.B, self.np, self.spec = B, np, spec
        self.cases = spec["cases"]
        t0 = time.perf_counter()
        raw = _load_data(spec["data"])
        self.arrays = {}
        for case in self.cases.values():
            kind = case.get("model")
            if kind and kind not in self.arrays:
                self.arrays[kind] = _prepare(raw, kind, case["n_train"], spec["n_test"])
        del raw
        self.load_s = time.perf_counter() - t0
        self.fitted = {}
        self.matmul = None
        self.predict_warm = set()

    # -- helpers --------------------------------------------------------------
    def _meta(self, X, y):
        return {
            "n_features_in_": X.shape[1],
            "n_classes_": int(y.max()) + 1,
            "X_shape_": X.shape,
        }

    def _estimator(self, case, seed):
        from skcoteach import CoTeachingClassifier

        B = self.B
        kwargs = dict(
            model=B.FACTORIES[case["model"]],
            tau=case["tau"],
            Tk=case["Tk"],
            c=case["c"],
            n_peers=2,
            optimizer="adam",
            epochs=case["epochs"],
            batch_size=case["batch_size"],
            steps_per_execution=case["spe"],
            verbose=0,
            random_state=seed,
            optimizer__learning_rate=0.001,
            callbacks=[B.epoch_clock()],
        )
        if case.get("strategy"):
            kwargs["strategy"] = case["strategy"]
        return CoTeachingClassifier(**kwargs)

    # -- commands -------------------------------------------------------------
    def fit(self, name, seed):
        case, B = self.cases[name], self.B
        X, y, _, _ = self.arrays[case["model"]]
        method = case["method"]
        E, bs = case["epochs"], case["batch_size"]
        if method == "lib":
            clf = self._estimator(case, seed)
            del B.EPOCH_MARKS[:]
            t0 = time.perf_counter()
            clf.fit(X, y)
            dt = time.perf_counter() - t0
            epochs = [B.epoch_durations(t0, B.EPOCH_MARKS)]
            fitted = clf
        elif method == "plain":
            import keras

            keras.utils.set_random_seed(seed)
            meta = self._meta(X, y)
            t0 = time.perf_counter()
            models, durations = B.plain_fits(B.FACTORIES[case["model"]], meta, X, y, E, bs)
            dt = time.perf_counter() - t0
            epochs = [durations[:E], durations[E:]]
            fitted = models
        elif method == "notebook":
            import keras

            keras.utils.set_random_seed(seed)
            meta = self._meta(X, y)
            t0 = time.perf_counter()
            models, durations = B.notebook_loop(
                B.FACTORIES[case["model"]], meta, X, y, E, bs,
                case["tau"], case["Tk"], case["c"], seed,
            )
            dt = time.perf_counter() - t0
            epochs = [durations]
            fitted = models
        elif method in ("tfloop", "torch"):  # loops without Keras, same arguments
            if method == "tfloop":
                loop, extra = B.tf_loop, ()
            else:
                loop, extra = B.torch_loop, (case["threads"],)
            t0 = time.perf_counter()
            models, durations = loop(X, y, E, bs, case["tau"], case["Tk"], case["c"], seed, *extra)
            dt = time.perf_counter() - t0
            epochs = [durations]
            fitted = models
        else:
            raise ValueError(method)
        self.fitted[name] = fitted
        return {"time": dt, "epochs": epochs}

    def accuracy(self, name):
        np = self.np
        case = self.cases[name]
        _, _, Xt, yt = self.arrays[case["model"]]
        fitted = self.fitted[name]
        if case["method"] == "lib":
            return {"accuracy": float(fitted.score(Xt, yt))}
        if case["method"] == "torch":
            return {"accuracy": self.B.torch_accuracy(fitted[0], Xt, yt)}
        if case["method"] == "tfloop":
            return {"accuracy": self.B.tf_accuracy(fitted[0], Xt, yt)}
        proba = fitted[0].predict(Xt, batch_size=case["batch_size"], verbose=0)
        return {"accuracy": float(np.mean(np.argmax(proba, axis=1) == yt))}

    def predict(self, name, repeats):
        """Alternate clf.predict_proba(X_test) and clf.peers_[0].predict(X_test)."""
        case = self.cases[name]
        _, _, Xt, _ = self.arrays[case["model"]]
        clf = self.fitted[name]
        peer = clf.peers_[0]
        bs = case["batch_size"]
        if name not in self.predict_warm:  # warm both (trace predict functions)
            clf.predict_proba(Xt)
            peer.predict(Xt, batch_size=bs, verbose=0)
            self.predict_warm.add(name)
        lib, one = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            clf.predict_proba(Xt)
            lib.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            peer.predict(Xt, batch_size=bs, verbose=0)
            one.append(time.perf_counter() - t0)
        return {"lib": lib, "one_model": one, "n": int(len(Xt)), "batch_size": bs}

    def matmul_rate(self, iterations):
        if self.matmul is None:
            import tensorflow as tf

            self.matmul = self.B.MatmulRate()
            self.intra = tf.config.threading.get_intra_op_parallelism_threads()
            self.inter = tf.config.threading.get_inter_op_parallelism_threads()
        return {
            "rates": self.matmul.measure(iterations, repeats=3),
            "flops_per_iter": self.matmul.flops_per_iter,
            "tf_intra_op_threads_setting": self.intra,
            "tf_inter_op_threads_setting": self.inter,
        }

    def import_tf(self):
        import keras  # noqa: F401
        import tensorflow as tf  # noqa: F401

        import skcoteach  # noqa: F401

        return {"imported": True}

    def handle(self, cmd):
        c = cmd["cmd"]
        if c == "fit":
            return self.fit(cmd["case"], cmd.get("seed", 0))
        if c == "accuracy":
            return self.accuracy(cmd["case"])
        if c == "predict":
            return self.predict(cmd["case"], cmd.get("repeats", 5))
        if c == "matmul":
            return self.matmul_rate(cmd.get("iterations", 300))
        if c == "import_tf":
            return self.import_tf()
        if c == "exit":
            import resource

            return {"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
        raise ValueError(f"unknown command {c!r}")


def worker_main(spec_json):
    # Results go to the original stdout; anything else printed goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def emit(obj):
        out.write(RESULT_MARK + json.dumps(obj) + "\n")
        out.flush()

    try:
        worker = _Worker(json.loads(spec_json))
    except Exception:
        emit({"error": traceback.format_exc()})
        return 1
    emit({"ready": True, "pid": os.getpid(), "load_s": worker.load_s})
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            res = worker.handle(cmd)
        except Exception:
            res = {"error": traceback.format_exc()}
        emit(res)
        if cmd["cmd"] == "exit":
            break
    return 0


# =============================================================================
# Orchestrator side
# =============================================================================
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
            [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)],
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
            own = self.call(cmd="exit")["maxrss_kb"]
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


def median(xs):
    return statistics.median(xs) if xs else float("nan")


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


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
def steady_epoch_time(epochs_list, n_epochs):
    """Mean time of epochs 2..E of one fit (all sub-fits summed); None if E == 1."""
    if n_epochs < 2:
        return None
    return sum(sum(d[1:]) for d in epochs_list) / (n_epochs - 1)


def summarise(results, s):
    """Per-case summary and the ratio rows."""
    cases = results["cases"]
    summary = {}
    for n, r in cases.items():
        E = r["spec"]["epochs"]
        steady = [steady_epoch_time(e, E) for e in r["epochs_warm"]]
        steady = [x for x in steady if x is not None]
        summary[n] = {
            "median": median(r["warm"]) if r["warm"] else r["cold"],
            "min": min(r["warm"]) if r["warm"] else r["cold"],
            "cold": r["cold"],
            "n": len(r["warm"]),
            "steady_epoch": median(steady) if steady else None,
            "accuracy": r.get("accuracy"),
        }
    rows = []

    def row(key, label, num, den, target=None, unit="s", note=""):
        ratio = num / den if (num is not None and den) else None
        status = "info"
        if target is not None and ratio is not None:
            status = "PASS" if ratio <= target else "FAIL"
        rows.append({"id": key, "label": label, "library": num, "baseline": den,
                     "ratio": ratio, "target": target, "status": status, "unit": unit,
                     "note": note})

    def has(n):
        return n in summary

    lib_names = {tag: [n for n in cases if n.startswith(tag + ".lib16")] for tag in ("mlp", "cnn")}
    for tag, label in (("mlp", "MLP 60k"), ("cnn", "CNN 1k")):
        if s["quick"]:
            label = {"mlp": f"MLP {s['mlp_n_train']}", "cnn": f"CNN {s['cnn_n_train']}"}[tag]
        sec = "1a" if tag == "mlp" else "1b"
        for lib in lib_names[tag]:
            st = lib[len(tag) + 6:] or ""
            if has(f"{tag}.plain"):
                row(f"{sec}.fit_vs_plain{st}", f"{label} fit {lib[len(tag)+1:]} / 2 plain fits",
                    summary[lib]["median"], summary[f"{tag}.plain"]["median"],
                    TARGETS["fit_vs_plain"])
        if has(f"{tag}.lib1") and has(f"{tag}.plain"):
            row(f"{sec}.spe1_vs_plain", f"{label} fit lib1 / 2 plain fits",
                summary[f"{tag}.lib1"]["median"], summary[f"{tag}.plain"]["median"])
        if has(f"{tag}.lib1") and has(f"{tag}.lib16"):
            row(f"{sec}.spe16_vs_spe1", f"{label} fit lib16 / lib1 (steps_per_execution)",
                summary[f"{tag}.lib16"]["median"], summary[f"{tag}.lib1"]["median"])
        if has(f"{tag}.lib16") and has(f"{tag}.plain"):
            row(f"{sec}.cold_vs_plain", f"{label} COLD fit lib16 / plain (1st in process)",
                summary[f"{tag}.lib16"]["cold"], summary[f"{tag}.plain"]["cold"])
            a, b = summary[f"{tag}.lib16"]["steady_epoch"], summary[f"{tag}.plain"]["steady_epoch"]
            if a and b:
                row(f"{sec}.steady_vs_plain", f"{label} epochs>=2 lib16 / plain (per epoch)", a, b)
    for tag, label in (("mlp", "MLP"), ("cnn", "CNN")):
        for lib in lib_names[tag]:
            st = lib[len(tag) + 6:] or ""
            if has(f"{tag}.notebook"):
                first = summary[f"{tag}.notebook"]["n"] == 0 and s["repeats"] > 0
                row(f"2.{tag}_fit_vs_notebook{st}", f"{label} fit {lib[len(tag)+1:]} / notebook loop",
                    summary[lib]["median"], summary[f"{tag}.notebook"]["median"],
                    TARGETS["fit_vs_notebook"],
                    note="notebook timed by its first fit only" if first else "")
        a = summary.get(f"{tag}.lib16", {}).get("steady_epoch")
        b = summary.get(f"{tag}.notebook", {}).get("steady_epoch")
        if a and b:
            row(f"2.{tag}_steady_vs_notebook", f"{label} epochs>=2 lib16 / notebook", a, b)
    for lib in lib_names["mlp"]:
        st = lib[9:] or ""
        if has("mlp.torch"):
            row(f"3.fit_vs_torch{st}", f"MLP fit {lib[4:]} / PyTorch loop",
                summary[lib]["median"], summary["mlp.torch"]["median"], TARGETS["fit_vs_torch"])
    a = summary.get("mlp.lib16", {}).get("steady_epoch")
    b = summary.get("mlp.torch", {}).get("steady_epoch")
    if a and b:
        row("3.steady_vs_torch", "MLP epochs>=2 lib16 / PyTorch loop", a, b)
    p = results.get("predict")
    if p and p.get("lib"):
        row("4.predict", f"predict_proba / 1 peer predict ({p['n']} rows)",
            median(p["lib"]), median(p["one_model"]), TARGETS["predict_vs_one_model"])
    rss = results.get("rss")
    if rss:
        def kb(k):
            return rss[k]["wait4_kb"] or rss[k]["self_kb"]

        row("5.rss_peak", "peak RSS lib fit / plain fits (MiB)", kb("lib") / 1024,
            kb("plain") / 1024, unit="MiB")
        row("5.rss_increment", "RSS above import+data baseline (MiB)",
            (kb("lib") - kb("baseline")) / 1024, (kb("plain") - kb("baseline")) / 1024, unit="MiB",
            note=f"baseline {kb('baseline') / 1024:.0f} MiB")
    imp = results.get("imports")
    if imp:
        tf_loaded = any(r["tensorflow"] or r["keras"] for r in imp["skcoteach"])
        row("6.import", "import skcoteach / import sklearn",
            median([r["s"] for r in imp["skcoteach"]]), median([r["s"] for r in imp["sklearn"]]),
            note="TensorFlow/Keras imported: " + ("YES (FAIL)" if tf_loaded else "no (PASS)"))
        rows[-1]["status"] = "FAIL" if tf_loaded else "info"
    mm = results.get("matmul")
    if mm and has("mlp.lib16"):
        rate = median([r for m in mm for r in m["rates"]])
        n, E = s["mlp_n_train"], s["mlp_epochs"]
        from _speed_baselines import mlp_forward_flops, mlp_training_flops

        flops = 2 * n * E * mlp_training_flops()
        floor = flops / rate
        flops_3x = 3 * 2 * n * E * mlp_forward_flops()  # the "3 x forward" convention
        results["floor"] = {"flops": flops, "rate_median": rate,
                            "rate_max": max(r for m in mm for r in m["rates"]),
                            "floor_s": floor, "flops_3x_forward": flops_3x}
        for lib in lib_names["mlp"]:
            st = lib[9:] or ""
            row(f"7.fit_vs_floor{st}", f"MLP fit {lib[4:]} / compute floor",
                summary[lib]["median"], floor, TARGETS["fit_vs_floor"],
                note=f"{flops / 1e9:.0f} GFLOP at {rate / 1e9:.1f} GFLOP/s")
        row("7.fit_vs_floor_3xfwd", "MLP fit lib16 / floor with 3 x forward FLOPs",
            summary["mlp.lib16"]["median"], flops_3x / rate,
            note=f"{flops_3x / 1e9:.0f} GFLOP: counts the input gradient, never computed")
        a = summary["mlp.lib16"]["steady_epoch"]
        if a:
            row("7.steady_vs_floor", "MLP epochs>=2 lib16 / floor per epoch", a, floor / E)
        lib = cases["mlp.lib16"]
        fixed = (  # set-up of each warm fit: the fit minus E steady epochs
            [t - E * steady_epoch_time(e, E) for t, e in zip(lib["warm"], lib["epochs_warm"])]
            if E > 1 else []
        )
        if fixed:
            row("7.setup_share", "MLP lib16: set-up (fit - E x epoch>=2) / fit",
                median(fixed), summary["mlp.lib16"]["median"],
                note="building, data copy, tracing; the floor ratio without it = steady_vs_floor")
        for base in ("mlp.tfloop", "mlp.plain", "mlp.torch"):
            if has(base):
                row(f"7.{base[4:]}_vs_floor", f"MLP fit {base[4:]} / compute floor",
                    summary[base]["median"], floor)
        t = summary.get("mlp.tfloop", {}).get("steady_epoch")
        if t:
            row("7.tfloop_steady_vs_floor", "MLP epochs>=2 tfloop / floor per epoch", t,
                floor / E)
        if has("mlp.tfloop"):
            row("7.fit_vs_tfloop", "MLP fit lib16 / plain-TensorFlow loop",
                summary["mlp.lib16"]["median"], summary["mlp.tfloop"]["median"],
                note="what the library adds to the bare training")
            if a and t:
                row("7.steady_vs_tfloop", "MLP epochs>=2 lib16 / plain-TensorFlow loop", a, t)
    return summary, rows


def fmt_val(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s" if v < 10 else f"{v:.2f} s"
    return f"{v:.0f} {unit}"


def format_report(results, s, summary, rows):
    lines = []
    m = results["machine"]
    lines.append(
        f"Machine: {m['usable_cpus']} CPUs ({m['cpu_model']}), {m['tensorflow']}, keras "
        f"{m['keras']}, torch {m['torch']}, numpy {m['numpy']}, scikit-learn "
        f"{m['scikit-learn']}; load average at start "
        f"{', '.join(f'{x:.1f}' for x in m['loadavg_start'])}, end "
        f"{', '.join(f'{x:.1f}' for x in results['loadavg_end'])}"
    )
    lines.append(
        f"MLP: {s['mlp_n_train']} samples, batch {s['mlp_batch']}, {s['mlp_epochs']} epochs; "
        f"CNN (notebook's): {s['cnn_n_train']} samples, batch {s['cnn_batch']}, "
        f"{s['cnn_epochs']} epochs; tau={s['tau']}, Tk={s['Tk']}, c={s['c']}; "
        f"{s['repeats']} warm fits per method (median), torch threads {s['threads']} "
        f"(OMP_WAIT_POLICY {s['torch_omp_wait_policy']})"
    )
    env = m.get("tf_threads_env") or {}
    lines.append(
        "TensorFlow threads: "
        + ", ".join(f"{k}={v}" for k, v in env.items() if v is not None)
        if any(v is not None for v in env.values())
        else "TensorFlow threads: TensorFlow's defaults (TF_NUM_INTRAOP_THREADS / "
        "TF_NUM_INTEROP_THREADS unset)"
    )
    if not s["repeats"]:
        lines.append("No warm fits (--repeats 0): every ratio below uses the first fit of each "
                     "method, tracing included.")
    lines.append("")
    lines.append(f"{'method':<26} {'warm median':>12} {'warm min':>10} {'n':>2} {'cold':>10} "
                 f"{'epoch>=2':>10} {'test acc':>9}")
    for n, v in summary.items():
        lines.append(
            f"{n:<26} {fmt_val(v['median'], 's'):>12} {fmt_val(v['min'], 's'):>10} {v['n']:>2} "
            f"{fmt_val(v['cold'], 's'):>10} {fmt_val(v['steady_epoch'], 's'):>10} "
            f"{'-' if v['accuracy'] is None else format(v['accuracy'], '.3f'):>9}"
        )
    lines.append("")
    lines.append("(n = warm fits; with n = 0 the median and min are the cold first fit)")
    lines.append("")
    header = (f"{'#':<22} {'measurement':<48} {'library':>10} {'baseline':>10} "
              f"{'ratio':>7} {'target':>8} {'status':>6}")
    lines.append(header)
    lines.append("-" * len(header))
    for r in rows:
        tgt = f"<={r['target']:.2f}x" if r["target"] is not None else ""
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"
        lines.append(
            f"{r['id']:<22} {r['label']:<48} {fmt_val(r['library'], r['unit']):>10} "
            f"{fmt_val(r['baseline'], r['unit']):>10} {ratio:>7} {tgt:>8} {r['status']:>6}"
            + (f"  ({r['note']})" if r["note"] else "")
        )
    for msg in results["skipped"]:
        lines.append(f"SKIPPED: {msg}")
    for name, msg in results["failed"].items():
        lines.append(f"FAILED: {name}: {msg.strip().splitlines()[-1] if msg.strip() else msg}")
    return "\n".join(lines)


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

    sys.path.insert(0, str(HERE))
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


def report_again(path):
    """Summarise a saved run again (e.g. after a new derived row) and print its report."""
    results = json.loads(path.read_text())
    s = results["settings"]
    summary, rows = summarise(results, s)
    results["summary"], results["ratios"] = summary, rows
    results["report"] = format_report(results, s, summary, rows)
    path.write_text(json.dumps(results, indent=1, default=str))
    print(results["report"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
