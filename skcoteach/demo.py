"""Demo: standard training vs Co-teaching on digits with 40% wrong labels.

Run it with ``python -m skcoteach.demo``.  It uses scikit-learn's bundled
digits (no download), flips 40% of the training labels to another class at
random (symmetric noise), trains the same network with plain Keras and twice
with :class:`~skcoteach.CoTeachingClassifier` (with its default ``tau``, what a
user who does not know the noise rate gets, and with ``tau`` = the true
rate), and prints the accuracy of each on the *clean* test labels.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._compat import import_keras

if TYPE_CHECKING:
    import keras

__all__ = ["standard_training", "run", "main"]


def standard_training(
    factory: Callable[..., Any],
    X: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    random_state: int,
    meta: dict[str, Any] | None = None,
) -> keras.Model:
    """Train one network with plain ``keras.Model.fit``: the baseline.

    Parameters
    ----------
    factory : callable
        Model factory taking ``meta`` (as for ``CoTeachingClassifier``).
    X : ndarray of shape (n_samples, ...)
        Training data.
    y : ndarray of shape (n_samples,)
        Integer labels ``0 .. n_classes - 1``.
    epochs, batch_size : int
        As in ``keras.Model.fit``.
    learning_rate : float
        Adam's learning rate.
    random_state : int
        Seed of the weights and the shuffling (the caller's global random
        state is restored afterwards).
    meta : dict, default=None
        Passed to the factory; by default built from ``X`` and ``y``.

    Returns
    -------
    keras.Model
        The trained network.
    """
    from ._compat import seeded

    keras = import_keras()  # the first import of TensorFlow is quiet

    classes = np.unique(y)
    if meta is None:
        meta = {
            "n_features_in_": X.shape[1],
            "n_classes_": len(classes),
            "classes_": classes,
            "X_shape_": X.shape,
        }
    with seeded(random_state):
        model = factory(meta)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy"
    )
    if keras.backend.backend() == "tensorflow":
        from .backends.tensorflow._training import shuffled_dataset

        data = shuffled_dataset(X.astype(np.float32), y, batch_size, seed=random_state)
        model.fit(data, epochs=epochs, shuffle=False, verbose=0)  # the dataset shuffles
    else:  # Keras shuffles the arrays every epoch, seeded by seeded() above
        with seeded(random_state):
            model.fit(X.astype(np.float32), y, batch_size=batch_size, epochs=epochs, verbose=0)
    return model


def run(
    noise_rate: float = 0.4, epochs: int = 100, random_state: int = 0, verbose: bool = True
) -> dict[str, float]:
    """Train both ways on noisy digits; return the clean test accuracies.

    Parameters
    ----------
    noise_rate : float, default=0.4
        Share of training labels flipped (symmetric noise); also Co-teaching's ``tau``.
    epochs : int, default=100
        Epochs of both trainings.
    random_state : int, default=0
        Seed of the split, the noise and both trainings.
    verbose : bool, default=True
        Print the table.

    Returns
    -------
    dict
        ``{"standard": accuracy, "coteaching": accuracy, ...}`` on clean test labels
        (``"coteaching"``: ``tau`` = ``noise_rate``; ``"coteaching_default"``:
        the estimator's default ``tau``, which a user who does not know the
        noise rate gets).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from . import CoTeachingClassifier
    from .noise import make_label_noise

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=random_state
    )
    y_noisy, info = make_label_noise(
        y_train, noise_rate, kind="symmetric", random_state=random_state, return_info=True
    )
    settings = dict(epochs=epochs, batch_size=32, random_state=random_state)
    factory = _demo_network

    start = time.perf_counter()
    model = standard_training(factory, X_train, y_noisy, learning_rate=1e-3, **settings)
    standard = float(np.mean(model.predict(X_test, verbose=0).argmax(1) == y_test))
    t_standard = time.perf_counter() - start

    # What a user gets without knowing the noise rate (the defaults), and with it.
    start = time.perf_counter()
    default = CoTeachingClassifier(factory, **settings).fit(X_train, y_noisy)
    coteaching_default = default.score(X_test, y_test)
    t_default = time.perf_counter() - start

    start = time.perf_counter()
    clf = CoTeachingClassifier(factory, tau=noise_rate, Tk=10, **settings)
    clf.fit(X_train, y_noisy)
    coteaching = clf.score(X_test, y_test)
    t_coteaching = time.perf_counter() - start

    rejected = clf.sample_kept_ == 0
    flagged = clf.find_label_issues(X_train, y_noisy)
    result = {
        "standard": standard,
        "coteaching": coteaching,
        "coteaching_default": coteaching_default,
        "default_tau": default.tau,
        "default_tau_": float(default.tau_),
        "actual_noise_rate": info.actual_noise_rate,
        "rejected": int(rejected.sum()),
        "rejected_wrong": float(info.noise_mask[rejected].mean()) if rejected.any() else 0.0,
        "label_issues": int(flagged.sum()),
        "label_issues_precision": float(info.noise_mask[flagged].mean()) if flagged.any() else 0.0,
        "label_issues_recall": float(flagged[info.noise_mask].mean()),
    }
    if verbose:
        print(
            f"digits: {len(X_train)} training samples, {info.actual_noise_rate:.0%} of their "
            f"labels wrong; {len(X_test)} clean test samples; {epochs} epochs.\n"
        )
        used = "" if default.tau == default.tau_ else f", estimated {default.tau_:.2f}"
        rows = [
            ("standard (Keras fit)", standard, t_standard),
            (f"Co-teaching, default tau={default.tau!r}{used}", coteaching_default, t_default),
            (f"Co-teaching, tau={noise_rate:g} (the true rate)", coteaching, t_coteaching),
        ]
        width = max(len(row[0]) for row in rows) + 2
        print(f"{'training':<{width}}{'clean test accuracy':>20}{'fit seconds':>13}")
        for name, accuracy, seconds in rows:
            print(f"{name:<{width}}{accuracy:>20.3f}{seconds:>13.1f}")
        print(
            f"\nclf.find_label_issues flags {result['label_issues']} training labels "
            f"(a count estimated from the data; {int(info.noise_mask.sum())} are wrong): "
            f"{result['label_issues_precision']:.0%} of the flagged labels are wrong, "
            f"{result['label_issues_recall']:.0%} of the wrong labels are flagged."
        )
    return result


def _demo_network(meta):
    """The demo's network: 64-256-10, wide enough to memorise wrong labels."""
    from .models import mlp

    return mlp(meta, hidden_layer_sizes=(256,))


def main(argv: list[str] | None = None) -> None:
    """Command line entry point: ``python -m skcoteach.demo``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise-rate", type=float, default=0.4)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--random-state", type=int, default=0)
    args = parser.parse_args(argv)
    # Starts TensorFlow without its start-up lines on standard error (and sets
    # TF_CPP_MIN_LOG_LEVEL=2 unless it is set): see _quiet_start.tensorflow_start_up_hidden.
    import_keras()
    run(args.noise_rate, args.epochs, args.random_state)


if __name__ == "__main__":
    main()
