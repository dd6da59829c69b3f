"""Label issues: skcoteach's ``find_label_issues`` against cleanlab's.

For every data set and noise setting, the labels are corrupted with
:func:`skcoteach.noise.make_label_noise` and each method flags the samples it
believes mislabelled; the flags are scored against the truly flipped labels
(precision, recall, F1), and the wall time of the whole pipeline is recorded.

Methods:

``skcoteach``
    One ``CoTeachingClassifier(tau=tau)`` fit on the noisy labels (``--taus``,
    default ``"auto"``; one record per case, ``tau`` and seed), then
    :func:`skcoteach.label_issues.find_label_issues` (default
    ``filter_by="low_label_quality"``; the ``"confident_learning"`` and
    ``"both"`` rules and the old ``sample_kept_ == 0`` advice are scored on the
    same fit).  Time: fit + find.
``cleanlab+<model>``
    ``cleanlab.filter.find_label_issues(labels, pred_probs)`` (its defaults)
    with out-of-fold probabilities of 5-fold ``cross_val_predict`` (stratified)
    of ``<model>``: ``mlp`` the same network as one peer trained by standard
    training (plain Keras ``fit``, same epochs, batch size and learning rate),
    ``logreg`` ``LogisticRegression``, ``hgb``
    ``HistGradientBoostingClassifier``.  Time: cross-validation + find.

Data sets:

* ``mnist-sym-50``, ``mnist-pair-45``: the first ``--mnist-train`` MNIST
  training images (pixels / 255), MLP 784-256-10, ``--mnist-epochs`` epochs of
  batch 128, ``Tk=5``;
* ``digits-sym-0``, ``digits-sym-40``, ``wine-sym-40``, ``breast_cancer-sym-40``:
  scikit-learn's small tables, standardised, MLP with one hidden layer of 256
  units (``--hidden``), 50 epochs (``--table-epochs``) of batch 32
  (``--table-batch-size``), ``Tk=10``.

The noise of a case and the networks' initialisation follow the seed
(``--seeds``, default 0).  With several ``--taus`` or ``--seeds``, ``report``
also writes a summary table (marked ``by-tau``): per case and ``tau``, the
precision and recall of ``sample_kept_ == 0`` and of ``find_label_issues``,
one figure per seed (or the number flagged, on clean labels).

Run (about 10 minutes on 2 busy CPU cores), then the tables::

    python experiments/label_issues.py run --data /path/to/mnist.npz
    python experiments/label_issues.py report

The user guide's table of ``tau`` on digits (about a minute on 2 CPU cores; no cleanlab)::

    python experiments/label_issues.py run --results experiments/results/label_issues_digits \
        --cases digits-sym-0 digits-sym-30 digits-sym-40 --taus auto 0.2 0.5 \
        --seeds 0 1 --hidden 100 --table-batch-size 64 --models

Each case, ``tau`` and seed is one line of
``experiments/results/label_issues/runs.jsonl`` (one already recorded is
skipped); ``report`` writes ``results.md``.  The cleanlab methods need
``pip install cleanlab``.
"""

import os
import time

import _common
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS = _common.RESULTS / "label_issues"
TABLES = ("digits", "wine", "breast_cancer")


def _meta(X, n_classes):
    return {
        "n_features_in_": X.shape[1],
        "n_classes_": n_classes,
        "classes_": np.arange(n_classes),
        "X_shape_": X.shape,
    }


class StandardMLP(ClassifierMixin, BaseEstimator):
    """One network trained by standard training: the cross-validated baseline.

    A scikit-learn classifier around :func:`skcoteach.demo.standard_training`
    and :func:`skcoteach.models.mlp`, the network of one Co-teaching peer.
    """

    def __init__(self, hidden=256, epochs=20, batch_size=128, random_state=0):
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X, y):
        from skcoteach.demo import standard_training
        from skcoteach.models import mlp

        self.classes_ = np.unique(y)
        self.model_ = standard_training(
            lambda meta: mlp(meta, hidden_layer_sizes=(self.hidden,)),
            np.asarray(X, np.float32),
            np.searchsorted(self.classes_, y),
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=1e-3,
            random_state=self.random_state,
            meta=_meta(X, len(self.classes_)),
        )
        return self

    def predict_proba(self, X):
        return self.model_.predict(np.asarray(X, np.float32), batch_size=1024, verbose=0)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def load_case(case, data, n_mnist, seed):
    """``(X, y_noisy, flipped)`` of a case named ``<data>-<sym|pair>-<percent>``."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    from skcoteach.noise import make_label_noise

    name, kind, percent = case.rsplit("-", 2)
    if name == "mnist":
        from skcoteach.datasets import load_mnist

        (x, y), _ = load_mnist(data)
        rng = np.random.RandomState(seed)
        keep = np.sort(rng.permutation(len(y))[:n_mnist])
        X = x[keep].reshape(len(keep), -1).astype(np.float32) / 255.0
        y = y[keep]
    else:
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        X = StandardScaler().fit_transform(X).astype(np.float32)
    rate = int(percent) / 100
    if rate:
        kinds = {"sym": "symmetric", "pair": "pair"}
        y_noisy, info = make_label_noise(
            y, rate, kind=kinds[kind], random_state=seed, return_info=True
        )
        flipped = info.noise_mask
    else:
        y_noisy, flipped = y.copy(), np.zeros(len(y), bool)
    return X, y_noisy, flipped


def scores(flagged, flipped):
    """Precision, recall and F1 of a boolean mask of flagged samples."""
    tp = int(np.sum(flagged & flipped))
    n_flagged, n_flipped = int(flagged.sum()), int(flipped.sum())
    precision = tp / n_flagged if n_flagged else float("nan")
    recall = tp / n_flipped if n_flipped else float("nan")
    f1 = 2 * tp / (n_flagged + n_flipped) if n_flagged + n_flipped else float("nan")
    return {"flagged": n_flagged, "precision": precision, "recall": recall, "f1": f1}


def run_skcoteach(X, y, flipped, settings, seed, tau="auto"):
    from skcoteach import CoTeachingClassifier
    from skcoteach.label_issues import find_label_issues

    start = time.perf_counter()
    clf = CoTeachingClassifier(
        tau=tau,
        Tk=settings["Tk"],
        epochs=settings["epochs"],
        batch_size=settings["batch_size"],
        model__hidden_layer_sizes=(settings.get("hidden", 256),),
        random_state=seed,
    ).fit(X, y)
    fit_seconds = time.perf_counter() - start
    rows = {}
    for filter_by in ("low_label_quality", "confident_learning", "both"):
        start = time.perf_counter()
        mask = find_label_issues(clf, X, y, filter_by=filter_by)
        seconds = fit_seconds + time.perf_counter() - start
        name = "skcoteach" if filter_by == "low_label_quality" else f"skcoteach ({filter_by})"
        rows[name] = {**scores(mask, flipped), "seconds": seconds, "tau_": clf.tau_}
    rows["sample_kept_ == 0"] = {
        **scores(clf.sample_kept_ == 0, flipped), "seconds": fit_seconds, "tau_": clf.tau_
    }
    return rows


def baseline_model(name, settings, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    if name == "mlp":
        return StandardMLP(settings.get("hidden", 256), settings["epochs"],
                           settings["batch_size"], seed)
    if name == "logreg":
        return LogisticRegression(max_iter=300)
    return HistGradientBoostingClassifier(random_state=seed)


def run_cleanlab(X, y, flipped, settings, seed, model):
    from cleanlab.filter import find_label_issues as cleanlab_find
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    labels = np.searchsorted(np.unique(y), y)
    start = time.perf_counter()
    # One OpenMP thread: on cores shared with other processes, the gradient
    # boosting's OpenMP threads wait for each other (wine took 97 s with two).
    with threadpool_limits(limits=1, user_api="openmp"):
        pred_probs = cross_val_predict(
            baseline_model(model, settings, seed), X, labels,
            cv=StratifiedKFold(5, shuffle=True, random_state=seed), method="predict_proba",
        )
    mask = cleanlab_find(labels, pred_probs, n_jobs=1)
    seconds = time.perf_counter() - start
    return {f"cleanlab+{model}": {**scores(mask, flipped), "seconds": seconds}}


def _tau(text):
    """A ``--taus`` value: ``"auto"`` or a number."""
    return text if text == "auto" else float(text)


def _key(record):
    """``(case, tau, seed)`` of a record; the first records had one seed (0) and ``"auto"``."""
    return record["case"], record.get("tau", "auto"), record.get("seed", 0)


def _per_seed(values, digits=None):
    """The seeds' values, ``" / "``-joined; one figure where they all agree."""
    texts = [str(v) if digits is None else f"{v:.{digits}f}" for v in values]
    return texts[0] if len(set(texts)) == 1 else " / ".join(texts)


def by_tau(records):
    """Per case and ``tau``: ``sample_kept_ == 0`` and ``find_label_issues``, one figure per seed.

    Precision (P) and recall (R) against the flipped labels; on clean labels the
    number flagged.  The records of a cell are in seed order.
    """
    cells = {}
    for record in sorted(records, key=lambda r: _key(r)[2]):
        cells.setdefault(_key(record)[:2], []).append(record)
    rows = []
    for (case, tau), cell in cells.items():
        flips = _per_seed([r["n_flipped"] for r in cell])
        row = [f"{case} ({flips})", f"`{tau}`" if tau == "auto" else tau]
        for method in ("sample_kept_ == 0", "skcoteach"):
            scored = [r["methods"][method] for r in cell]
            if not any(r["n_flipped"] for r in cell):
                row.append(f"{_per_seed([m['flagged'] for m in scored])} flagged")
            else:
                row.append(f"P {_per_seed([m['precision'] for m in scored], 2)}, "
                           f"R {_per_seed([m['recall'] for m in scored], 2)}")
        rows.append(row)
    seeds = " / ".join(str(s) for s in sorted({_key(r)[2] for r in records}))
    header = ["case (flips)", "`tau`", "`sample_kept_ == 0`", "`find_label_issues`"]
    return "\n".join([
        f"### Flags by `tau` (seeds {seeds})",
        "",
        "P: precision, R: recall of the flagged samples against the truly flipped labels; "
        "on clean labels, the number flagged.  One figure per seed (one where they agree).",
        "",
        _common.marked("by-tau", _common.table(header, rows)),
        "",
    ])


def markdown(results):
    """One table per case (and ``tau`` and seed): method, flagged, precision, recall, F1, seconds.

    Records of several ``tau`` or seeds for one case get the :func:`by_tau`
    summary first.
    """
    lines = []
    records = list(results["cases"])
    if len({_key(r) for r in records}) > len({r["case"] for r in records}):
        lines.append(by_tau(records))
    for entry in records:
        case = entry["case"]
        if "tau" in entry:
            case = f"{case}, tau={entry['tau']}, seed {entry['seed']}"
        lines += [
            f"### {case} ({entry['n_samples']} samples, {entry['n_flipped']} flipped)",
            "",
            "| method | flagged | precision | recall | F1 | seconds |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for method, row in entry["methods"].items():
            tau = f" (tau_={row['tau_']:.2f})" if method == "skcoteach" else ""
            lines.append(
                f"| {method}{tau} | {row['flagged']} | {row['precision']:.3f} | "
                f"{row['recall']:.3f} | {row['f1']:.3f} | {row['seconds']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser, sub = _common.commands(__doc__, RESULTS)
    run_parser = sub["run"]
    _common.add_data(run_parser, "mnist.npz or its folder")
    run_parser.add_argument(
        "--cases",
        nargs="+",
        default=[
            "mnist-sym-50", "mnist-pair-45", "digits-sym-0", "digits-sym-40",
            "wine-sym-40", "breast_cancer-sym-40",
        ],
        help="<data>-<sym|pair>-<percent>, data in mnist, digits, wine, breast_cancer",
    )
    run_parser.add_argument("--models", nargs="*", default=["mlp", "logreg", "hgb"],
                            choices=["mlp", "logreg", "hgb"],
                            help="cleanlab's models (none: skcoteach only, no cleanlab needed)")
    run_parser.add_argument("--taus", nargs="+", type=_tau, default=["auto"],
                            help="tau of the skcoteach fits: 'auto' or numbers (one record each)")
    run_parser.add_argument("--mnist-train", type=int, default=10000,
                            help="MNIST training images used (a seeded random subset)")
    run_parser.add_argument("--mnist-epochs", type=int, default=20)
    run_parser.add_argument("--table-epochs", type=int, default=50)
    run_parser.add_argument("--table-batch-size", type=int, default=32,
                            help="batch size on the small tables")
    run_parser.add_argument("--hidden", type=int, default=256,
                            help="units of the MLPs' one hidden layer (the estimator's default: 100)")
    run_parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                            help="seeds of the noise and of the networks (one record each)")
    args = parser.parse_args(argv)
    path = _common.runs_file(args.results)
    if args.command == "run":
        run(args, path)
    records = _common.load(path)
    _common.write_report(path.parent / "results.md", markdown({"cases": records}))


def run(args, path):
    """Score every requested case, ``tau`` and seed not yet in ``path``; one record each."""
    import logging

    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notes of the CV fits
    done = _common.recorded(path, _key)
    modules = ["tensorflow", "keras", "sklearn"] + (["cleanlab"] if args.models else [])
    for case in args.cases:
        for seed in args.seeds:
            todo = [tau for tau in args.taus if (case, tau, seed) not in done]
            if not todo:
                continue
            X, y, flipped = load_case(case, args.data, args.mnist_train, seed)
            if case.startswith("mnist"):
                settings = {"epochs": args.mnist_epochs, "batch_size": 128, "Tk": 5}
            else:
                settings = {"epochs": args.table_epochs, "batch_size": args.table_batch_size,
                            "Tk": 10}
            settings["hidden"] = args.hidden
            for tau in todo:
                methods = run_skcoteach(X, y, flipped, settings, seed, tau)
                for model in args.models:
                    methods.update(run_cleanlab(X, y, flipped, settings, seed, model))
                record = {
                    "case": case, "tau": tau, "seed": seed, "n_samples": len(y),
                    "n_flipped": int(flipped.sum()), "settings": settings, "methods": methods,
                    "machine": _common.machine(*modules), "command": _common.command(),
                }
                _common.append(path, record)
                print(markdown({"cases": [record]}), flush=True)


if __name__ == "__main__":
    main()
