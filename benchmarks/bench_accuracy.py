"""Accuracy benchmark: the MLP protocol of the Co-teaching+ and JoCoR papers on MNIST.

Protocol (as in the official code of Co-teaching / Co-teaching+ / JoCoR):
MLP 784-256-10, Adam with learning rate 0.001, batch 128, 200 epochs, ``Tk=10``,
``tau`` = noise rate (half the noise rate for asymmetric noise); from epoch 80
the learning rate decays linearly to 0 and Adam's ``beta_1`` switches from 0.9
to 0.1.  Test accuracy is measured on the clean test set after every epoch and
reported as the mean of the last 10 epochs.  Standard training is the same
network, optimizer and schedule with plain ``keras.Model.fit``.

Each (setting, method, seed) run writes one JSON file to ``--results``; the
``report`` command turns whatever runs exist into a Markdown table and plots.

Examples
--------
A quick look (a few minutes)::

    python benchmarks/bench_accuracy.py run --settings sym-50 --epochs 20

The recorded runs::

    python benchmarks/bench_accuracy.py run --settings sym-50 pair-45 --epochs 200
    python benchmarks/bench_accuracy.py report
"""

import argparse
import json
import os
import pathlib
import platform
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
DEFAULT_RESULTS = HERE / "results"

#: Noise settings: name -> (kind, noise rate).
SETTINGS = {
    "sym-20": ("symmetric", 0.2),
    "sym-50": ("symmetric", 0.5),
    "sym-80": ("symmetric", 0.8),
    "pair-45": ("pair", 0.45),
    "asym-40": ("asymmetric", 0.4),
}

#: Published MNIST MLP figures (Co-teaching+ paper, Table 3; JoCoR paper, Table 2).
PUBLISHED = {
    "standard": {"sym-20": 79.56, "sym-50": 52.66, "sym-80": 23.43, "asym-40": 79.00},
    "coteaching": {"sym-20": 95.10, "sym-50": 89.82, "sym-80": 79.73, "asym-40": 90.28},
    "coteaching_plus": {"sym-20": 97.81, "sym-50": 95.80, "sym-80": 58.92, "asym-40": 93.28},
    "jocor": {"sym-20": 98.06, "sym-50": 96.64, "sym-80": 84.89, "asym-40": 95.24},
}


def mlp(meta=None):
    """The protocol's MLP: 784-256-10, ReLU, softmax output."""
    import keras

    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def official_schedule(n_epochs, lr=0.001, decay_start=80):
    """Keras callback: the learning-rate / beta_1 plan of the official code."""
    import keras

    class OfficialSchedule(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            opt = self.model.optimizer
            decaying = epoch >= decay_start
            rate = lr * (n_epochs - epoch) / (n_epochs - decay_start) if decaying else lr
            opt.learning_rate.assign(rate)
            beta_1 = 0.1 if decaying else 0.9
            if opt.beta_1 != beta_1:
                # beta_1 is a Python float baked into the compiled step: retrace once.
                opt.beta_1 = beta_1
                self.model.make_train_function(force=True)

    return OfficialSchedule()


def test_recorder(X_test, y_test, y_train_clean=None, y_train_noisy=None):
    """Keras callback recording clean test accuracy (and label precision) per epoch."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.records = []

        def on_epoch_end(self, epoch, logs=None):
            peers = getattr(self.model, "peers", [self.model])
            probs = [np.asarray(p.predict(X_test, batch_size=2048, verbose=0)) for p in peers]
            record = {
                "epoch": epoch,
                "test_accuracy": 100 * np.mean(np.argmax(np.mean(probs, 0), 1) == y_test),
                "peer_test_accuracy": [100 * np.mean(np.argmax(p, 1) == y_test) for p in probs],
            }
            if hasattr(self.model, "sample_statistics") and y_train_clean is not None:
                kept = self.model.sample_statistics()["kept"]
                clean = y_train_clean == y_train_noisy
                record["label_precision"] = 100 * float(np.sum(kept * clean) / np.sum(kept))
            record.update({k: float(v) for k, v in (logs or {}).items()})
            self.records.append(record)

    return Recorder()


def run_one(setting, method, seed, epochs, data_path, results_dir, verbose):
    """Train one method on one noise setting; write and return the record."""
    import keras

    from skcoteach import CoTeachingClassifier
    from skcoteach.datasets import load_mnist
    from skcoteach.noise import MNIST_ASYMMETRIC_MAPPING, make_label_noise

    kind, rate = SETTINGS[setting]
    (x_train, y_train), (x_test, y_test) = load_mnist(data_path)
    X = x_train.reshape(len(x_train), -1).astype(np.float32) / 255.0
    X_test = x_test.reshape(len(x_test), -1).astype(np.float32) / 255.0
    mapping = MNIST_ASYMMETRIC_MAPPING if kind == "asymmetric" else None
    y_noisy, info = make_label_noise(
        y_train, rate, kind=kind, mapping=mapping, random_state=seed, return_info=True
    )
    tau = rate / 2 if kind == "asymmetric" else rate
    callbacks = [official_schedule(epochs), test_recorder(X_test, y_test, y_train, y_noisy)]
    start = time.perf_counter()
    if method == "standard":
        keras.utils.set_random_seed(seed)
        model = mlp()
        model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy")
        model.fit(X, y_noisy, epochs=epochs, batch_size=128, callbacks=callbacks, verbose=verbose)
    else:
        extra = {} if method == "coteaching" else {"strategy": method}
        clf = CoTeachingClassifier(
            mlp,
            tau=tau,
            Tk=10,
            epochs=epochs,
            batch_size=128,
            optimizer__learning_rate=0.001,
            callbacks=callbacks,
            random_state=seed,
            verbose=verbose,
            **extra,
        )
        clf.fit(X, y_noisy)
        callbacks = clf.callbacks_  # the estimator trains copies of the callbacks
    seconds = time.perf_counter() - start
    records = callbacks[1].records
    last = records[-10:]
    result = {
        "setting": setting,
        "method": method,
        "seed": seed,
        "epochs": epochs,
        "tau": tau,
        "actual_noise_rate": info.actual_noise_rate,
        "test_accuracy_last10": float(np.mean([r["test_accuracy"] for r in last])),
        "label_precision_last": records[-1].get("label_precision"),
        "seconds": seconds,
        "per_epoch": records,
        "machine": machine(),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{setting}_{method}_seed{seed}_ep{epochs}.json"
    path.write_text(json.dumps(result, indent=1))
    print(
        f"{setting:8s} {method:16s} seed {seed} epochs {epochs}: test accuracy "
        f"{result['test_accuracy_last10']:.2f} (mean of last 10 epochs), label precision "
        f"{result['label_precision_last']}, {seconds / 60:.1f} min -> {path}",
        flush=True,
    )
    return result


def machine():
    """Where the run happened."""
    import keras
    import tensorflow as tf

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def report(results_dir):
    """Markdown table and per-epoch plots from the recorded runs."""
    runs = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    runs = [r for r in runs if "per_epoch" in r]
    if not runs:
        print(f"No runs in {results_dir}.")
        return
    groups = {}
    for r in runs:
        groups.setdefault((r["epochs"], r["setting"], r["method"]), []).append(r)
    methods = sorted({m for _, _, m in groups}, key=["standard", "coteaching",
                     "coteaching_plus", "jocor"].index)
    lines = [
        "| epochs | setting | method | test accuracy (ours) | published | label precision | "
        "seeds | minutes per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (epochs, setting, method), rs in sorted(groups.items()):
        acc = [r["test_accuracy_last10"] for r in rs]
        prec = [r["label_precision_last"] for r in rs if r["label_precision_last"] is not None]
        pub = PUBLISHED.get(method, {}).get(setting)
        lines.append(
            f"| {epochs} | {setting} | {method} | {np.mean(acc):.2f}"
            + (f" ± {np.std(acc):.2f}" if len(acc) > 1 else "")
            + f" | {pub if pub is not None else '-'} | "
            + (f"{np.mean(prec):.2f}" if prec else "-")
            + f" | {len(rs)} | {np.mean([r['seconds'] for r in rs]) / 60:.1f} |"
        )
    table = "\n".join(lines)
    (results_dir / "accuracy.md").write_text(table + "\n")
    print(table)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for epochs, setting in sorted({(e, s) for e, s, _ in groups}):
        fig, ax = plt.subplots(figsize=(6, 4))
        for method in methods:
            for r in groups.get((epochs, setting, method), [])[:1]:
                acc = [e["test_accuracy"] for e in r["per_epoch"]]
                ax.plot(np.arange(1, len(acc) + 1), acc, label=method)
        ax.set(xlabel="epoch", ylabel="clean test accuracy (%)",
               title=f"MNIST, MLP, {setting} noise")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(results_dir / f"{setting}_ep{epochs}.png", dpi=100)
        plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train and record runs")
    run.add_argument("--settings", nargs="+", default=["sym-50", "pair-45"], choices=SETTINGS)
    run.add_argument("--methods", nargs="+", default=["standard", "coteaching"],
                     choices=["standard", "coteaching", "coteaching_plus", "jocor"])
    run.add_argument("--seeds", nargs="+", type=int, default=[1])
    run.add_argument("--epochs", type=int, default=200)
    run.add_argument("--data", default=os.environ.get("SKCOTEACH_DATA"),
                     help="mnist.npz or its folder (default: $SKCOTEACH_DATA, then Keras)")
    run.add_argument("--verbose", type=int, default=0)
    rep = sub.add_parser("report", help="table and plots of the recorded runs")
    for p in (run, rep):
        p.add_argument("--results", type=pathlib.Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    if args.command == "report":
        report(args.results)
        return
    for setting in args.settings:
        for method in args.methods:
            for seed in args.seeds:
                run_one(setting, method, seed, args.epochs, args.data, args.results, args.verbose)


if __name__ == "__main__":
    main()
