"""The worker program of ``bench_speed.py``: hosts the timed methods in a subprocess.

``bench_speed.py`` starts one worker per method (``python _speed_workers.py SPEC``,
SPEC being the JSON of its cases, the data path and the test size) and sends it one
JSON command per line on stdin (``fit``, ``accuracy``, ``predict``, ``matmul``,
``import_tf``, ``exit``); every answer is one line on stdout that starts with
``RESULT_MARK``.  Anything else the worker prints goes to stderr (the worker's log).
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT_MARK = "@@RESULT "


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


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1]))
