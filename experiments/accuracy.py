"""Accuracy benchmark: the MLP protocol of the Co-teaching+ and JoCoR papers on MNIST.

Protocol (as in the official code of Co-teaching / Co-teaching+ / JoCoR):
MLP 784-256-10, Adam with learning rate 0.001, batch 128, 200 epochs, ``Tk=10``,
``tau`` = noise rate (half the noise rate for asymmetric noise, the realised
rate for instance-dependent noise, ``inst-*``); from epoch 80
the learning rate decays linearly to 0 and Adam's ``beta_1`` switches from 0.9
to 0.1.  Test accuracy is measured on the clean test set after every epoch and
reported as the mean of the last 10 epochs.  Standard training is the same
network, optimizer and schedule with plain ``keras.Model.fit``; ``cleanlab``
is cleanlab's ``CleanLearning(LogisticRegression)`` with its defaults (5-fold
out-of-fold probabilities, the issues found removed, the model fitted again),
one test accuracy.

Each (setting, method, seed) run writes one JSON file to ``--results``; the
``report`` command turns whatever runs exist into a Markdown table and plots.

Examples
--------
A quick look (a few minutes)::

    python experiments/accuracy.py run --settings sym-50 --epochs 20

The recorded runs::

    python experiments/accuracy.py run --settings sym-50 pair-45 --epochs 200
    python experiments/accuracy.py report
"""

import functools
import pathlib
import time
import types

import numpy as np
from _common import (
    RESULTS,
    add_data,
    add_epochs,
    add_seeds,
    append,
    command,
    commands,
    load,
    marked,
    mean_std,
    recorded,
    runs_file,
    table,
    write_report,
)
from _common import machine as _machine

DEFAULT_RESULTS = RESULTS / "accuracy"
#: The summaries of the per-epoch records start at this epoch (after Co-teaching's ramp-up).
RAMP = 10

#: Noise settings: name -> (kind, noise rate).
SETTINGS = {
    "clean": ("symmetric", 0.0),
    "sym-20": ("symmetric", 0.2),
    "sym-50": ("symmetric", 0.5),
    "sym-80": ("symmetric", 0.8),
    "pair-45": ("pair", 0.45),
    "asym-40": ("asymmetric", 0.4),
    "inst-20": ("instance", 0.2),
    "inst-40": ("instance", 0.4),
}

#: Published MNIST MLP figures (Co-teaching+ paper, Table 3; JoCoR paper, Table 2).
PUBLISHED = {
    "standard": {"sym-20": 79.56, "sym-50": 52.66, "sym-80": 23.43, "asym-40": 79.00},
    "coteaching": {"sym-20": 95.10, "sym-50": 89.82, "sym-80": 79.73, "asym-40": 90.28},
    "coteaching_plus": {"sym-20": 97.81, "sym-50": 95.80, "sym-80": 58.92, "asym-40": 93.28},
    "jocor": {"sym-20": 98.06, "sym-50": 96.64, "sym-80": 84.89, "asym-40": 95.24},
}


def mlp(meta=None, init="keras"):
    """The protocol's MLP: 784-256-10, ReLU, softmax output.

    ``init="torch"`` draws weights and biases from U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) as PyTorch's ``nn.Linear`` does (the official code's
    networks); ``"keras"`` uses Keras's defaults (Glorot uniform, zero bias).
    """
    import keras

    def dense(units, fan_in, **kwargs):
        if init == "torch":
            scale = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")
            bound = fan_in**-0.5
            kwargs.update(
                kernel_initializer=scale,
                bias_initializer=keras.initializers.RandomUniform(-bound, bound),
            )
        return keras.layers.Dense(units, **kwargs)

    return keras.Sequential(
        [
            keras.Input((784,)),
            dense(256, 784, activation="relu"),
            dense(10, 256, activation="softmax"),
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


#: Bins of the gap between two visits of a sample, in epochs (see test_recorder).
GAP_BINS = (0.0, 0.5, 1.5, 2.0)


class TrainingOrder:
    """The estimator's training order, recorded for the diagnostics of the recorder.

    Wraps ``CoTeachingClassifier._order_of_epochs`` for the rest of the
    process to learn the seed of the training order; :meth:`positions` then
    rebuilds where each sample stood in the order of an epoch.  With
    ``mode="batches"`` (a diagnostic) the training order is replaced: the
    mini-batches of one seeded permutation are fixed, as with
    ``shuffle="once"``, but visited in a new order every epoch.
    """

    def __init__(self, mode, batch_size=128):
        import tensorflow as tf

        from skcoteach import CoTeachingClassifier

        self.mode, self.batch_size, self.seed = mode, batch_size, None
        original = CoTeachingClassifier._order_of_epochs
        recorder = self

        def order_of_epochs(clf, n, shuffle_seed):
            recorder.seed, recorder.n = shuffle_seed, n
            if mode != "batches":
                return original(clf, n, shuffle_seed)
            n_full = n // batch_size
            fixed = tf.constant(recorder.order(0))

            def batches_order(epoch):
                rows = tf.reshape(fixed[: n_full * batch_size], (n_full, batch_size))
                seed = tf.constant([shuffle_seed + 1, epoch], tf.int64)
                rows = tf.random.experimental.stateless_shuffle(rows, seed)
                return tf.concat([tf.reshape(rows, [-1]), fixed[n_full * batch_size :]], 0)

            return batches_order

        CoTeachingClassifier._order_of_epochs = order_of_epochs

    def order(self, epoch):
        """Sample indices in the order of the epoch's permutation (``mode`` "true": per epoch)."""
        import tensorflow as tf

        seed = [self.seed, epoch if self.mode == "true" else 0]
        return tf.random.experimental.stateless_shuffle(tf.range(self.n, dtype=tf.int64), seed).numpy()

    def positions(self, epoch):
        """Position of every sample in the epoch's training order, or None if unknown."""
        if self.seed is None or self.mode == "batches":  # the batches' order is not rebuilt
            return None
        positions = np.empty(self.n, np.int64)
        positions[self.order(epoch)] = np.arange(self.n)
        return positions


def test_recorder(X_test, y_test, y_train_clean=None, y_train_noisy=None, order=None):
    """Keras callback recording clean test accuracy (and label precision) per epoch.

    For Co-teaching it also records, from the per-sample statistics of the
    epoch: the label precision of the samples used for updates, the share of
    the wrong labels that were used (``wrong_label_kept``), the mean loss of
    the clean and of the wrong labels at their latest visit, and how well that
    loss ranks the wrong labels above the clean ones (``loss_auc``, the area
    under the ROC curve).  With ``order`` (a :class:`TrainingOrder`), it also
    records the share of the wrong and of the clean labels used, by the number
    of epochs between the sample's visit in the previous epoch and in this one
    (bins :data:`GAP_BINS`): with a new permutation every epoch that gap varies
    from one step to two epochs; with one permutation it is always one epoch.
    """
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
                stats = self.model.sample_statistics()
                kept, loss = stats["kept"], stats["loss"]
                clean = y_train_clean == y_train_noisy
                record["label_precision"] = 100 * float(np.sum(kept * clean) / np.sum(kept))
                if not clean.all():
                    from sklearn.metrics import roc_auc_score

                    record["wrong_label_kept"] = 100 * float(np.mean(kept[~clean]))
                    record["clean_label_kept"] = 100 * float(np.mean(kept[clean]))
                    record["loss_clean_mean"] = float(np.mean(loss[clean]))
                    record["loss_wrong_mean"] = float(np.mean(loss[~clean]))
                    record["loss_auc"] = float(roc_auc_score(~clean, loss))
                    now = order.positions(epoch) if order is not None and epoch >= 1 else None
                    if now is not None:
                        n_batches = -(-order.n // order.batch_size)
                        now = now // order.batch_size
                        before = order.positions(epoch - 1) // order.batch_size
                        gap = np.digitize((n_batches - before + now) / n_batches, GAP_BINS[1:-1])
                        for name, group in (("wrong", ~clean), ("clean", clean)):
                            record[f"{name}_kept_by_gap"] = [
                                100 * float(np.mean(kept[group & (gap == b)]))
                                if np.any(group & (gap == b))
                                else None
                                for b in range(len(GAP_BINS) - 1)
                            ]
            record.update({k: float(v) for k, v in (logs or {}).items()})
            self.records.append(record)

    return Recorder()


def _keep_round():
    """Diagnostic: keep ``round(R * batch)`` samples, as skcoteach did before 0.x.

    The library keeps ``max(1, floor(R * batch))``, as the official code.
    This replaces :func:`skcoteach.rules.n_keep` for the rest of the process
    (the rules look it up when the training step is traced).
    """
    import tensorflow as tf

    from skcoteach import rules

    def n_keep_round(batch_size, keep_fraction):
        size = tf.cast(batch_size, tf.float64)
        k = tf.cast(tf.round(tf.cast(keep_fraction, tf.float64) * size), tf.int32)
        return tf.clip_by_value(k, 1, tf.maximum(tf.cast(batch_size, tf.int32), 1))

    rules.n_keep = n_keep_round


def run_one(
    setting,
    method,
    seed,
    epochs,
    data_path,
    results_dir,
    verbose,
    tau_mode="true",
    co_lambda=0.95,
    init="keras",
    decay_start=80,
    n_keep="floor",
    tau_factor=1.0,
    shuffle="true",
    dataset="mnist",
    selection="global",
):
    """Train one method on one noise setting; write and return the record."""
    import keras
    import tensorflow as tf

    name = run_name(setting, method, seed, epochs, tau_mode, init, n_keep, tau_factor, shuffle,
                    dataset, selection)
    if name in recorded(runs_file(results_dir), lambda r: r["name"]):
        print(f"{name}: recorded in {results_dir}, skipped", flush=True)
        return None
    if n_keep == "round":
        _keep_round()

    from skcoteach import CoTeachingClassifier
    from skcoteach.datasets import load_fashion_mnist, load_mnist
    from skcoteach.noise import MNIST_ASYMMETRIC_MAPPING, make_label_noise

    kind, rate = SETTINGS[setting]
    if kind == "asymmetric" and dataset != "mnist":
        raise ValueError("The asymmetric setting is MNIST's class mapping; use it with MNIST only.")
    loader = load_mnist if dataset == "mnist" else load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader(data_path)
    X = x_train.reshape(len(x_train), -1).astype(np.float32) / 255.0
    X_test = x_test.reshape(len(x_test), -1).astype(np.float32) / 255.0
    mapping = MNIST_ASYMMETRIC_MAPPING if kind == "asymmetric" else None
    features = {"X": X} if kind == "instance" else {}  # Xia et al.: the flips depend on x
    y_noisy, info = make_label_noise(
        y_train, rate, kind=kind, mapping=mapping, random_state=seed, return_info=True, **features
    )
    # Instance-dependent noise: tau = the realised rate (the per-sample rates vary).
    true_rate = info.actual_noise_rate if kind == "instance" else rate
    tau = tau_factor * (rate / 2 if kind == "asymmetric" else true_rate)
    if tau_mode == "auto":
        tau = "auto"
    factory = functools.partial(mlp, init=init)
    order = TrainingOrder(shuffle) if method not in ("standard", "cleanlab") else None
    callbacks = [
        official_schedule(epochs, decay_start=decay_start),
        test_recorder(X_test, y_test, y_train, y_noisy, order),
    ]
    start = time.perf_counter()
    if method == "cleanlab":  # CleanLearning around a logistic regression: no epochs, no tau
        accuracy = cleanlab_accuracy(X, y_noisy, X_test, y_test, seed)
        callbacks = [None, types.SimpleNamespace(records=[{"epoch": 0, "test_accuracy": accuracy}])]
        tau = None
    elif method == "standard":
        keras.utils.set_random_seed(seed)
        model = factory()
        model.compile(
            optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy"
        )
        if shuffle == "once":  # one seeded permutation, visited in the same order every epoch
            order = np.random.RandomState(seed).permutation(len(X))
            data = tf.data.Dataset.from_tensor_slices((X[order], y_noisy[order])).batch(128)
        else:  # a new permutation every epoch
            data = (
                tf.data.Dataset.from_tensor_slices((X, y_noisy))
                .shuffle(len(X), seed=seed, reshuffle_each_iteration=True)
                .batch(128)
            )
        model.fit(data, epochs=epochs, callbacks=callbacks, verbose=verbose, shuffle=False)
    else:
        extra = {} if method == "coteaching" else {"strategy": method}
        extra["selection"] = selection  # the protocol's "global" unless asked (not the default)
        if method == "jocor":
            extra["strategy__co_lambda"] = co_lambda
        clf = CoTeachingClassifier(
            factory,
            tau=tau,
            Tk=10,
            epochs=epochs,
            batch_size=128,
            optimizer__learning_rate=0.001,
            callbacks=callbacks,
            random_state=seed,
            shuffle={"true": True, "once": "once", "batches": True}[shuffle],
            verbose=verbose,
            **extra,
        )
        clf.fit(X, y_noisy)
        tau = clf.tau_
        callbacks = clf.callbacks_  # the estimator trains copies of the callbacks
    seconds = time.perf_counter() - start
    result = {
        "name": name,
        "setting": setting,
        "method": method,
        "seed": seed,
        "epochs": epochs,
        "tau": tau,
        "tau_mode": tau_mode,
        "init": init,
        "decay_start": decay_start,
        "n_keep": n_keep,
        "tau_factor": tau_factor,
        "shuffle": shuffle,
        "selection": selection,
        "dataset": dataset,
        "co_lambda": co_lambda if method == "jocor" else None,
        "actual_noise_rate": info.actual_noise_rate,
        **summary(callbacks[1].records),
        "seconds": seconds,
        "machine": machine(),
        "command": command(),
    }
    append(runs_file(results_dir), result)
    tau_text = "-" if tau is None else f"{tau:.3f}"
    print(
        f"{setting:8s} {method:16s} seed {seed} epochs {epochs} tau {tau_text}: test accuracy "
        f"{result['test_accuracy_last10']:.2f} (mean of last 10 epochs), label precision "
        f"{result['label_precision_last']}, {seconds / 60:.1f} min -> {results_dir}",
        flush=True,
    )
    return result


def cleanlab_accuracy(X, y_noisy, X_test, y_test, seed):
    """Clean test accuracy (%) of cleanlab's ``CleanLearning(LogisticRegression)`` on the noisy labels.

    Its defaults: 5-fold out-of-fold probabilities, confident learning's
    issues removed, the model fitted again on the rest.
    """
    from cleanlab.classification import CleanLearning
    from sklearn.linear_model import LogisticRegression

    model = CleanLearning(LogisticRegression(max_iter=500), seed=seed)
    model.fit(X, y_noisy)
    return 100 * float(np.mean(model.predict(X_test) == y_test))


def run_name(setting, method, seed, epochs, tau_mode="true", init="keras", n_keep="floor",
             tau_factor=1.0, shuffle="true", dataset="mnist", selection="global"):
    """The run's name, e.g. ``sym-50_coteaching_onceorder_seed1_ep200``: one record per name."""
    variant = "" if (tau_mode, init) == ("true", "keras") else f"_{tau_mode}tau_{init}init"
    if n_keep != "floor":
        variant += f"_{n_keep}keep"
    if tau_factor != 1.0:
        variant += f"_tau{tau_factor:g}x"
    if shuffle != "true":
        variant += f"_{shuffle}order"
    if selection != "global":
        variant += f"_{selection}"
    prefix = "" if dataset == "mnist" else "fmnist_"
    return f"{prefix}{setting}_{method}{variant}_seed{seed}_ep{epochs}"


def summary(per_epoch):
    """What the reports need of a run's per-epoch records (which are not kept).

    The mean test accuracy of the last 10 epochs, the best epoch, the label
    precision of the last epoch and, from epoch :data:`RAMP` on, the mean share
    of the wrong labels used (overall and by the gap between visits) and the
    last epoch's ``loss_auc``.
    """
    after = [e for e in per_epoch if e["epoch"] >= RAMP] or per_epoch
    best = max(per_epoch, key=lambda e: e["test_accuracy"])
    out = {
        "test_accuracy_last10": float(np.mean([e["test_accuracy"] for e in per_epoch[-10:]])),
        "test_accuracy_best": best["test_accuracy"],
        "best_epoch": best["epoch"],
        "label_precision_last": per_epoch[-1].get("label_precision"),
    }
    if "wrong_label_kept" in after[-1]:
        out["wrong_label_kept_after_ramp"] = float(np.mean([e["wrong_label_kept"] for e in after]))
        out["loss_auc_last"] = after[-1]["loss_auc"]
    gaps = [e["wrong_kept_by_gap"] for e in after if e.get("wrong_kept_by_gap")]
    if gaps:
        out["wrong_kept_by_gap_after_ramp"] = [
            float(np.mean(col)) if col else None
            for col in ([v for v in column if v is not None] for column in zip(*gaps))
        ]
    return out


def machine():
    """Where the run happened."""
    return _machine("tensorflow", "keras")


def _variant(r, tau=True):
    """The report's description of a run's variant (without the tau part if ``tau`` is false)."""
    factor = r.get("tau_factor", 1.0)
    parts = []
    if tau:
        tau_label = r.get("tau_mode", "true") if factor == 1.0 else f"{factor:g} x true"
        parts.append(f"tau={tau_label}")
    parts.append(f"init={r.get('init', 'keras')}")
    if r.get("n_keep", "round") != "floor":  # runs before the switch to floor: round
        parts.append(f"kept={r.get('n_keep', 'round')}")
    if r.get("shuffle", "true") != "true":
        parts.append(f"order={r['shuffle']}")
    if r.get("selection", "global") != "global":
        parts.append(f"selection={r['selection']}")
    if r["method"] == "jocor" and r.get("co_lambda", 0.95) != 0.95:
        parts.append(f"co_lambda={r['co_lambda']:g}")
    return ", ".join(parts)


def _setting(r):
    return r["setting"] if r.get("dataset", "mnist") == "mnist" else f"fmnist {r['setting']}"


def _setting_order(setting):
    """Settings in the order of :data:`SETTINGS` (Fashion-MNIST after MNIST)."""
    fmnist = setting.startswith("fmnist ")
    return fmnist, list(SETTINGS).index(setting.split(" ")[-1])


def _precision(rs, digits=1):
    return mean_std([r["label_precision_last"] for r in rs if r["label_precision_last"] is not None],
                    digits, False, True)


def tau_factor_table(runs):
    """Markdown: test accuracy and label precision by ``tau`` / noise rate, or "" if one factor only.

    One pair of rows per (epochs, setting, method, variant) recorded with more
    than one factor (``--tau-factor``); each cell the mean ± std over seeds
    (their number in brackets), ``-`` where not run.
    """
    groups = {}
    for r in runs:
        if r.get("tau_mode", "true") != "true" or r["method"] == "standard":
            continue
        key = (r["epochs"], _setting(r), r["method"], _variant(r, tau=False))
        groups.setdefault(key, {}).setdefault(r.get("tau_factor", 1.0), []).append(r)
    groups = {k: v for k, v in groups.items() if len(v) > 1}
    if not groups:
        return ""
    factors = sorted({f for by_factor in groups.values() for f in by_factor})
    rows = []
    for (epochs, setting, method, variant), by_factor in sorted(
        groups.items(), key=lambda kv: (kv[0][0], _setting_order(kv[0][1]), kv[0][2:])
    ):
        accuracy = [mean_std([r["test_accuracy_last10"] for r in by_factor[f]], 2, False, True)
                    if f in by_factor else "-" for f in factors]
        precision = [_precision(by_factor[f]) if f in by_factor else "-" for f in factors]
        rows.append([epochs, setting, method, "test accuracy", *accuracy])
        rows.append([epochs, setting, method, "label precision, last epoch", *precision])
    header = ["epochs", "setting", "method", "measure"] + [f"tau = {f:g} x rate" for f in factors]
    return table(header, rows)


def auto_table(runs):
    """Markdown: ``tau="auto"`` against ``tau`` = the true rate, or "" where not both were run.

    One row per (epochs, setting, method, variant) recorded with both: the
    true rate, the estimated ``tau_``, and the test accuracy and label
    precision of each (mean over seeds).
    """
    groups = {}
    for r in runs:
        if r.get("tau_factor", 1.0) != 1.0 or r["method"] in ("standard", "cleanlab"):
            continue
        key = (r["epochs"], _setting(r), r["method"], _variant(r, tau=False))
        groups.setdefault(key, {}).setdefault(r.get("tau_mode", "true"), []).append(r)
    rows = []
    for (epochs, setting, method, _), modes in sorted(
        groups.items(), key=lambda kv: (kv[0][0], _setting_order(kv[0][1]), kv[0][2:])
    ):
        if "auto" not in modes or "true" not in modes:
            continue
        auto, true = modes["auto"], modes["true"]
        rows.append([
            epochs, setting, method,
            f"{np.mean([r['tau'] for r in true]):.2f}",
            ", ".join(f"{r['tau']:.3f}" for r in auto),
            mean_std([r["test_accuracy_last10"] for r in auto], 2, False, True),
            mean_std([r["test_accuracy_last10"] for r in true], 2, False, True),
            _precision(auto), _precision(true),
        ])
    if not rows:
        return ""
    header = ["epochs", "setting", "method", "true rate", 'estimated `tau_`',
              'accuracy, `tau="auto"`', "accuracy, true `tau`",
              'label precision, `tau="auto"`', "label precision, true `tau`"]
    return table(header, rows)


def report(results_dir):
    """Markdown tables of the recorded runs: ``accuracy.md``.

    Every group of runs (epochs, setting, method, variant) with its published
    figure; then, where recorded, the runs by ``tau`` / noise rate
    (:func:`tau_factor_table`) and ``tau="auto"`` against the true rate
    (:func:`auto_table`).
    """
    runs = load(runs_file(results_dir))
    if not runs:
        print(f"No runs in {results_dir}.")
        return
    groups = {}
    for r in runs:
        groups.setdefault((r["epochs"], _setting(r), r["method"], _variant(r)), []).append(r)
    rows = []
    for (epochs, setting, method, variant), rs in sorted(groups.items()):
        prec = [r["label_precision_last"] for r in rs if r["label_precision_last"] is not None]
        # The published figures are for the 200-epoch protocol only.
        pub = PUBLISHED.get(method, {}).get(setting) if epochs == 200 else None
        taus = "-" if method in ("standard", "cleanlab") else ", ".join(
            f"{r['tau']:.3f}" for r in rs
        )
        rows.append([
            epochs, setting, method, variant, taus,
            mean_std([r["test_accuracy_last10"] for r in rs], 2, always_std=False),
            pub if pub is not None else "-",
            f"{np.mean(prec):.2f}" if prec else "-",
            len(rs), f"{np.mean([r['seconds'] for r in rs]) / 60:.1f}",
        ])
    header = ["epochs", "setting", "method", "variant", "tau used", "test accuracy (ours)",
              "published", "label precision", "seeds", "minutes per run"]
    parts = [marked("runs", table(header, rows))]
    by_factor = tau_factor_table(runs)
    if by_factor:
        parts += ["By `tau` / noise rate (clean test accuracy, mean of the last 10 epochs, and the "
                  "label precision of the last epoch; mean ± std over seeds, their number in "
                  "brackets):", marked("tau-factor", by_factor)]
    wins = wins_table(runs)
    if wins:
        parts += ["What wins where: per data set and noise setting (200-epoch runs), each method "
                  "with `tau` = the true noise rate and `tau=\"auto\"` (clean test accuracy, mean "
                  "of the last 10 epochs; mean ± std over seeds, their number in brackets; the "
                  "best mean in bold):", marked("wins", wins)]
    auto = auto_table(runs)
    if auto:
        parts += ['`tau="auto"` against `tau` = the true noise rate (clean test accuracy, mean of '
                  "the last 10 epochs; label precision of the last epoch):", marked("auto", auto)]
    write_report(pathlib.Path(results_dir) / "accuracy.md", "\n\n".join(parts))


#: The columns of :func:`wins_table`: method and ``tau_mode`` (None: no forget rate).
WINS_COLUMNS = (("standard", None), ("cleanlab", None), ("coteaching", "true"),
                ("coteaching", "auto"), ("coteaching_plus", "true"), ("coteaching_plus", "auto"),
                ("jocor", "true"), ("jocor", "auto"))


def wins_table(runs):
    """Markdown: one row per setting, one column per method and ``tau`` mode ("" if none).

    The 200-epoch runs with ``tau`` = the true rate (factor 1) or ``"auto"``,
    each method in its default training order (:data:`DEFAULT_ORDER`) and
    the papers' selection; "-" where not run.
    """
    cells = {}
    for r in runs:
        method = r["method"]
        if (r["epochs"] != 200 or r.get("tau_factor", 1.0) != 1.0
                or r.get("selection", "global") != "global"
                or (method != "cleanlab" and r.get("shuffle", "true") != DEFAULT_ORDER[method])):
            continue
        mode = None if method in ("standard", "cleanlab") else r.get("tau_mode", "true")
        cells.setdefault(_setting(r), {}).setdefault((method, mode), []).append(
            r["test_accuracy_last10"])
    if not cells:
        return ""
    columns = [c for c in WINS_COLUMNS if any(c in row for row in cells.values())]
    rows = []
    for setting in sorted(cells, key=_setting_order):
        row = cells[setting]
        best = max(np.mean(v) for v in row.values())
        rows.append([setting] + [
            "-" if c not in row else
            (f"**{mean_std(row[c], 2, False, True)}**" if np.mean(row[c]) == best
             else mean_std(row[c], 2, False, True))
            for c in columns])
    header = ["setting"] + [m if mode is None else f"{m} (tau {mode})" for m, mode in columns]
    return table(header, rows)


#: The training order of each method with the estimator's default ``shuffle="auto"``
#: (standard training: the benchmark's reshuffling ``tf.data`` pipeline).
DEFAULT_ORDER = {"coteaching": "once", "coteaching_plus": "true", "jocor": "true",
                 "standard": "true"}


def compare_order(results_dir):
    """Markdown tables of the runs by training order: ``order.md``.

    First every run recorded with both training orders, side by side: rows are
    (data set, setting, method, tau factor or ``"auto"``); for each order the clean
    test accuracy (mean of the last 10 epochs; mean ± std over seeds), the best
    epoch's accuracy, the label precision of the samples used in the last
    epoch, the share of the wrong labels used per epoch after the ramp-up
    (epochs :data:`RAMP` and later, averaged), and the last epoch's ``loss_auc``
    (how well the recorded per-sample loss ranks wrong labels above clean ones).
    Then the runs recorded in one order only or in the diagnostic order
    ``batches``; each rule with its default training
    order (:data:`DEFAULT_ORDER`) against the published figures; and the
    per-class selection against the global one.
    """
    cells, selections = {}, {}
    for r in load(runs_file(results_dir)):
        if r.get("n_keep", "round") != "floor":
            continue
        factor = "auto" if r.get("tau_mode") == "auto" else r.get("tau_factor", 1.0)
        key = (r.get("dataset", "mnist"), r["setting"], r["method"], factor)
        selection = r.get("selection", "global")
        selections.setdefault(key + (r.get("shuffle", "true"),), {}).setdefault(
            selection, []).append(r)
        if selection == "global":
            cells.setdefault(key, {}).setdefault(r.get("shuffle", "true"), []).append(r)

    def stats(rs):
        with_wrong = [r for r in rs if "wrong_label_kept_after_ramp" in r]
        return [
            mean_std([r["test_accuracy_last10"] for r in rs], 2, False, True),
            mean_std([r["test_accuracy_best"] for r in rs], 2, False, True),
            _precision(rs),
            mean_std([r["wrong_label_kept_after_ramp"] for r in with_wrong], 1, False, True),
            mean_std([r["loss_auc_last"] for r in with_wrong], 3, False, True),
        ]

    def tau_name(factor):
        return {1.0: "true rate", "auto": '"auto"'}.get(factor) or f"{factor:g} x rate"

    def ordered(items):
        return sorted(items, key=lambda item: [str(k) for k in item[0]])

    columns = ["accuracy", "best epoch", "label precision", "wrong labels used", "loss AUC"]
    header = ["data", "setting", "method", "tau"] + [
        f"{c}, {o}" for c in columns for o in ("True", "once")
    ]
    rows = []
    for (dataset, setting, method, factor), orders in ordered(cells.items()):
        if "true" not in orders or "once" not in orders:
            continue
        true, once = stats(orders["true"]), stats(orders["once"])
        rows.append([dataset, setting, method, tau_name(factor)]
                    + [v for pair in zip(true, once) for v in pair])
    parts = [marked("order", table(header, rows))]

    names = {"true": "True", "once": "once", "batches": "batches"}
    rows = [
        [dataset, setting, method, tau_name(factor), names.get(order, order)] + stats(rs)
        for (dataset, setting, method, factor), orders in ordered(cells.items())
        for order, rs in orders.items()
        if not ("true" in orders and "once" in orders and order in ("true", "once"))
    ]
    if rows:
        header = ["data", "setting", "method", "tau", "order"] + columns
        parts += ["The runs not in the table above: recorded in one training order only, or in "
                  "the diagnostic order `batches` (the mini-batches of one permutation, visited "
                  "in a new order every epoch):", marked("one-order", table(header, rows))]

    methods = [m for m in DEFAULT_ORDER if any(
        k[2] == m and k[0] == "mnist" and k[3] == 1.0 for k in cells)]
    settings = sorted({k[1] for k in cells if k[0] == "mnist" and k[3] == 1.0
                       and sum((k[0], k[1], m, 1.0) in cells for m in methods) > 1},
                      key=list(SETTINGS).index)
    rows = []
    for setting in settings:
        row = [setting]
        for method in methods:
            rs = cells.get(("mnist", setting, method, 1.0), {}).get(DEFAULT_ORDER[method])
            pub = PUBLISHED.get(method, {}).get(setting)
            text = mean_std([r["test_accuracy_last10"] for r in rs], 2, False, True) if rs else "-"
            row.append(text + (f" ({pub:.2f})" if pub is not None else ""))
        rows.append(row)
    if rows:
        parts += ["Each rule with its default training order (`shuffle=\"auto\"`: one order for "
                  "Co-teaching, a new one every epoch for the others; standard training "
                  "reshuffled), MNIST, `tau` = the noise rate; in brackets the published "
                  "figure:", marked("rules", table(["setting"] + methods, rows))]

    rows = []
    for (dataset, setting, method, factor, order), by_selection in ordered(selections.items()):
        if len(by_selection) < 2 or "global" not in by_selection:
            continue
        base = {r["seed"]: r["test_accuracy_last10"] for r in by_selection["global"]}
        for kind in sorted(by_selection, key=lambda k: (k != "global", k)):
            rs = sorted(by_selection[kind], key=lambda r: r["seed"])
            paired = [r["test_accuracy_last10"] - base[r["seed"]] for r in rs if r["seed"] in base]
            rows.append([
                dataset, setting, method, tau_name(factor), names.get(order, order), kind,
                ", ".join(str(r["seed"]) for r in rs),
                mean_std([r["test_accuracy_last10"] for r in rs], 2, False, True),
                _precision(rs),
                "" if kind == "global"
                else f"{np.mean(paired):+.2f} ({len(paired)} seed{'s' * (len(paired) > 1)})",
            ])
    if rows:
        header = ["data", "setting", "method", "tau", "order", "selection", "seeds", "accuracy",
                  "label precision", "accuracy - global, same seeds"]
        parts += ["Selection of the small-loss samples over the whole batch (`global`), per "
                  "noisy-label class (`per_class`), or global after a floor per noisy-label "
                  "class, the designs `class_floor` replaced (`class_floor_half`: "
                  "`ceil(0.5 R n_c)`; `class_floor_every`: `ceil(R sqrt(n_c))`; on MNIST, where "
                  "no class is rare, `class_floor` itself is `global`):",
                  marked("selection", table(header, rows))]
    write_report(pathlib.Path(results_dir) / "order.md", "\n\n".join(parts))


def main(argv=None):
    parser, sub = commands(__doc__, DEFAULT_RESULTS, ("run", "report", "compare-order"))
    run = sub["run"]
    run.add_argument("--settings", nargs="+", default=["sym-50", "pair-45"], choices=SETTINGS)
    run.add_argument(
        "--methods",
        nargs="+",
        default=["standard", "coteaching"],
        choices=["standard", "coteaching", "coteaching_plus", "jocor", "cleanlab"],
    )
    add_seeds(run, [1])
    add_epochs(run, 200, "epochs (default: 200, the protocol's)")
    add_data(run)
    run.add_argument("--verbose", type=int, default=0)
    run.add_argument(
        "--tau",
        choices=["true", "auto"],
        default="true",
        help="tau = the true noise rate (halved for asymmetric), or 'auto'",
    )
    run.add_argument(
        "--co-lambda",
        type=float,
        default=0.95,
        help="JoCoR's lambda (the authors' MNIST example uses 0.95)",
    )
    run.add_argument("--init", choices=["keras", "torch"], default="keras")
    run.add_argument("--decay-start", type=int, default=80)
    run.add_argument(
        "--n-keep",
        choices=["floor", "round"],
        default="floor",
        help="samples kept per batch: floor(R * batch) as skcoteach and the official code "
        "(default), or round(R * batch) as skcoteach before (a diagnostic that patches "
        "skcoteach.rules.n_keep)",
    )
    run.add_argument(
        "--shuffle",
        choices=["true", "once", "batches"],
        default="true",
        help="training order: a new permutation every epoch (true), or one seeded permutation "
        "reused every epoch (once), as the estimator's shuffle parameter; 'batches' (a "
        "diagnostic, not for standard training): the mini-batches of one permutation, visited "
        "in a new order every epoch",
    )
    run.add_argument(
        "--dataset",
        choices=["mnist", "fashion_mnist"],
        default="mnist",
        help="MNIST (default) or Fashion-MNIST (--data then names fashion_mnist.npz or its folder)",
    )
    run.add_argument(
        "--tau-factor",
        type=float,
        default=1.0,
        help="with --tau true: tau = this factor x the noise rate (halved for asymmetric), "
        "to measure over- and under-estimated forget rates (default 1)",
    )
    run.add_argument(
        "--selection",
        choices=["global", "per_class", "class_floor"],
        default="global",
        help="the estimator's selection: small-loss samples of the whole batch (global, the "
        "papers' and this benchmark's default), of each noisy-label class (per_class), or "
        "global after a floor for the rare classes (class_floor, the estimator's default)",
    )
    args = parser.parse_args(argv)
    if args.command == "run" and args.shuffle == "batches" and "standard" in args.methods:
        parser.error("--shuffle batches is a diagnostic of the estimator's training stream")
    if args.command == "run" and args.tau == "auto" and args.tau_factor != 1.0:
        parser.error("--tau-factor scales the true noise rate; it cannot be used with --tau auto")
    if args.command == "report":
        report(args.results)
        return
    if args.command == "compare-order":
        compare_order(args.results)
        return
    for setting in args.settings:
        for method in args.methods:
            for seed in args.seeds:
                run_one(
                    setting,
                    method,
                    seed,
                    args.epochs,
                    args.data,
                    args.results,
                    args.verbose,
                    args.tau,
                    args.co_lambda,
                    args.init,
                    args.decay_start,
                    args.n_keep,
                    args.tau_factor,
                    args.shuffle,
                    args.dataset,
                    args.selection,
                )


if __name__ == "__main__":
    main()
