"""The accelerator benchmark of issue 28: the MNIST protocol and a grid search under JAX.

Through the public API only, on Keras's JAX backend (set here when
``KERAS_BACKEND`` is unset), on whatever device JAX finds first:

``protocol``
    the 200-epoch MNIST protocol of ``accuracy.py`` (MLP 784-256-10, batch
    128, Adam with the official learning-rate plan, 50% symmetric noise,
    ``tau`` = 0.5, ``Tk`` = 10, the default training order), one fit per seed;
    a whole epoch per call of the compiled program
    (``steps_per_execution`` = the epoch's batches).  Recorded: the fit's
    wall time end to end and the clean test accuracy (the mean of the last 10
    epochs, as ``accuracy.py`` reports it).  Targets: <= 10 s per fit and
    >= 95.0 as the mean of three seeds.
``search``
    ``CoTeachingGridSearchCV`` against scikit-learn's ``GridSearchCV``
    (``n_jobs=1``) on the first 6,000 MNIST images with 40% symmetric noise:
    ``tau`` in (0.3, 0.4, 0.5) x ``Tk`` in (5, 10), ``cv=3``, 6 epochs.
    Target: <= 0.2x.

Usage::

    python experiments/accelerator.py run [--data DIR] [--seeds 1 2 3] [--epochs 200]
    python experiments/accelerator.py report

``--quick`` shrinks everything to a smoke test (a few hundred images, two
epochs): its figures say nothing about speed.
"""

import os
import pathlib
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    RESULTS,
    add_data,
    add_epochs,
    add_seeds,
    append,
    command,
    commands,
    load,
    machine,
    marked,
    runs_file,
    table,
    write_report,
)
from accuracy import mlp, official_schedule  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def mnist(data, quick):
    """Training and test rows in [0, 1] (a few hundred of each with ``quick``)."""
    from skcoteach.datasets import load_mnist

    (x, y), (x_test, y_test) = load_mnist(data)
    X = x.reshape(len(x), -1).astype(np.float32) / np.float32(255)
    X_test = x_test.reshape(len(x_test), -1).astype(np.float32) / np.float32(255)
    if quick:
        return X[:512], y[:512], X_test[:256], y_test[:256]
    return X, y, X_test, y_test


def last_epochs_accuracy(X_test, y_test, last=10):
    """Keras callback recording the clean test accuracy of the ensemble over the last epochs."""
    import keras

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.accuracy = []

        def on_epoch_end(self, epoch, logs=None):
            if epoch >= self.params["epochs"] - last:
                proba = keras.ops.convert_to_numpy(self.model.predict(X_test, verbose=0))
                self.accuracy.append(float(np.mean(proba.argmax(1) == y_test)) * 100)

    return Recorder()


def device():
    """The JAX device the program runs on, in words."""
    import jax

    first = jax.devices()[0]
    return f"{first.platform}: {getattr(first, 'device_kind', first)}"


def protocol(seed, epochs, data, quick):
    """One fit of the 200-epoch protocol; its record."""
    from skcoteach import CoTeachingClassifier
    from skcoteach.noise import make_label_noise

    X, y, X_test, y_test = mnist(data, quick)
    y_noisy = make_label_noise(y, 0.5, kind="symmetric", random_state=seed)
    recorder = last_epochs_accuracy(X_test, y_test)
    clf = CoTeachingClassifier(
        mlp, tau=0.5, Tk=10, epochs=epochs, batch_size=128, optimizer__learning_rate=0.001,
        steps_per_execution=-(-len(X) // 128), callbacks=[official_schedule(epochs), recorder],
        random_state=seed,
    )
    start = time.perf_counter()
    clf.fit(X, y_noisy)
    seconds = time.perf_counter() - start
    return {"part": "protocol", "seed": seed, "epochs": epochs, "seconds": seconds,
            "test_accuracy_last10": float(np.mean(clf.callbacks_[1].accuracy))}


def search(which, epochs, data, quick):
    """One grid search (``which``: ``GridSearchCV`` or ``CoTeachingGridSearchCV``); its record."""
    from sklearn.model_selection import GridSearchCV

    from skcoteach import CoTeachingClassifier
    from skcoteach.model_selection import CoTeachingGridSearchCV
    from skcoteach.noise import make_label_noise

    X, y, _, _ = mnist(data, quick)
    n = 512 if quick else 6000
    X, y = X[:n], make_label_noise(y[:n], 0.4, kind="symmetric", random_state=0)
    grid = {"tau": [0.3, 0.4, 0.5], "Tk": [5, 10]}
    cls = CoTeachingGridSearchCV if which == "CoTeachingGridSearchCV" else GridSearchCV
    estimator = CoTeachingClassifier(mlp, epochs=2 if quick else epochs, random_state=0)
    start = time.perf_counter()
    cls(estimator, grid, cv=3, n_jobs=1).fit(X, y)
    return {"part": "search", "search": which, "seconds": time.perf_counter() - start}


def run(args):
    path = runs_file(args.results)
    shared = {"device": device(), "quick": args.quick, "machine": machine("jax", "keras"),
              "command": command()}
    for seed in args.seeds:
        record = {**protocol(seed, args.epochs, args.data, args.quick), **shared}
        append(path, record)
        print(f"protocol seed {seed}: {record['seconds']:.1f} s, "
              f"{record['test_accuracy_last10']:.2f}%", flush=True)
    for which in ("GridSearchCV", "CoTeachingGridSearchCV"):
        record = {**search(which, args.search_epochs, args.data, args.quick), **shared}
        append(path, record)
        print(f"{which}: {record['seconds']:.1f} s", flush=True)


def report(args):
    records = load(runs_file(args.results))
    if not records:
        raise SystemExit(f"no records in {runs_file(args.results)}")
    rows = []
    for dev in sorted({r["device"] for r in records}):
        mine = [r for r in records if r["device"] == dev and not r["quick"]]
        fits = [r for r in mine if r["part"] == "protocol"]
        searches = {r["search"]: r["seconds"] for r in mine if r["part"] == "search"}
        if fits:
            rows.append([dev, f"protocol, {len(fits)} seeds",
                         f"{np.mean([r['seconds'] for r in fits]):.1f} s per fit",
                         f"{np.mean([r['test_accuracy_last10'] for r in fits]):.2f}%"])
        if len(searches) == 2:
            ratio = searches["CoTeachingGridSearchCV"] / searches["GridSearchCV"]
            rows.append([dev, "grid search", f"{ratio:.3f}x of GridSearchCV", "-"])
    text = "# Accelerator benchmark (issue 28)\n\n" + marked(
        "accelerator", table(["device", "what", "time", "clean test accuracy"], rows)
    )
    write_report(pathlib.Path(args.results) / "accelerator.md", text)


def main(argv=None):
    parser, sub = commands(__doc__, RESULTS / "accelerator")
    add_data(sub["run"], "mnist.npz or its folder")
    add_seeds(sub["run"], (1, 2, 3))
    add_epochs(sub["run"], 200, help="epochs of the protocol (default: 200)")
    sub["run"].add_argument("--search-epochs", type=int, default=6)
    sub["run"].add_argument("--quick", action="store_true", help="a smoke test of the script")
    args = parser.parse_args(argv)
    (run if args.command == "run" else report)(args)


if __name__ == "__main__":
    main()
