"""Shared pieces of the suite: workloads, data cached per process, benchmark mixins.

Every benchmark times one call of a method (``number = repeat = rounds = 1``,
no warm-up loop): a fit takes seconds to minutes, so one sample per process is
what the suite affords.  ``SKCOTEACH_ASV_QUICK=1`` swaps MNIST for a few
hundred synthetic images and shortens every workload: a smoke test of the
suite whose numbers say nothing about speed.
"""

import abc
import functools
import itertools
import os
import pickle

import numpy as np

#: Co-teaching schedule of every method: forget rate ``TAU * min(epoch / TK, 1) ** C``.
TAU, TK, C = 0.5, 10, 1.0
#: The two workloads of the speed targets; images are scaled to [0, 1].
WORKLOADS = {
    "mlp": {"n_train": 60_000, "batch_size": 128, "epochs": 3},  # MLP 784-256-10
    "cnn": {"n_train": 1024, "batch_size": 32, "epochs": 10},  # the Keras notebook's CNN
}
QUICK_WORKLOADS = {
    "mlp": {"n_train": 256, "batch_size": 64, "epochs": 2},
    "cnn": {"n_train": 64, "batch_size": 32, "epochs": 2},
}
N_TEST, QUICK_N_TEST = 10_000, 64


def quick():
    """Whether ``SKCOTEACH_ASV_QUICK`` asks for the smoke-test sizes.

    Returns
    -------
    bool
        True when the variable is set to anything but ``""`` or ``"0"``.
    """
    return os.environ.get("SKCOTEACH_ASV_QUICK", "") not in ("", "0")


def workload(name):
    """Sizes of a workload: ``n_train``, ``batch_size`` and ``epochs``.

    Parameters
    ----------
    name : {"mlp", "cnn"}
        The workload.

    Returns
    -------
    dict
        The sizes, smaller in quick mode.
    """
    return (QUICK_WORKLOADS if quick() else WORKLOADS)[name]


@functools.lru_cache(maxsize=None)
def _images(quick_mode):
    if not quick_mode:
        from skcoteach.datasets import load_mnist

        return load_mnist()  # the folder of $SKCOTEACH_DATA, else Keras's download
    rng = np.random.RandomState(0)

    def make(n):  # each class is a bright block on noise: learnable in a few steps
        y = rng.randint(0, 10, n)
        x = rng.randint(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(y):
            row, col = divmod(int(label), 5)
            x[i, 14 * row : 14 * row + 10, 5 * col : 5 * col + 5] = 255
        return x, y.astype(np.int64)

    return make(max(w["n_train"] for w in QUICK_WORKLOADS.values())), make(QUICK_N_TEST)


@functools.lru_cache(maxsize=None)
def _data(name, quick_mode):
    (x_train, y_train), (x_test, y_test) = _images(quick_mode)
    n_train = (QUICK_WORKLOADS if quick_mode else WORKLOADS)[name]["n_train"]
    n_test = QUICK_N_TEST if quick_mode else N_TEST
    shape = (-1, 784) if name == "mlp" else (-1, 28, 28, 1)
    X = x_train[:n_train].reshape(shape).astype(np.float32) / np.float32(255)
    X_test = x_test[:n_test].reshape(shape).astype(np.float32) / np.float32(255)
    return X, y_train[:n_train].astype(np.int64), X_test, y_test[:n_test].astype(np.int64)


def load_data(name):
    """Training and test arrays of a workload, loaded once per process.

    Parameters
    ----------
    name : {"mlp", "cnn"}
        ``"mlp"`` gives rows of 784 features, ``"cnn"`` images of 28x28x1.

    Returns
    -------
    X, y, X_test, y_test : ndarray
        float32 images in [0, 1] and int64 labels (MNIST, or synthetic
        images in quick mode).
    """
    return _data(name, quick())


class Benchmark:
    """Timing attributes shared by every benchmark: one call, one sample."""

    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0
    timeout = 1800


class FitBenchmark(Benchmark, abc.ABC):
    """Mixin providing ``time_fit`` and ``peakmem_fit``.

    A subclass sets asv's ``params`` / ``param_names`` and defines
    ``make_estimator(*params)``; ``data(*params)`` defaults to the workload
    named by the first parameter.  asv skips abstract classes, so the mixins
    themselves are not benchmarks.
    """

    @abc.abstractmethod
    def make_estimator(self, *params):
        """The estimator to fit: anything with ``fit(X, y)`` (and ``predict_proba``)."""

    def data(self, name, *rest):
        """Arrays ``X, y, X_test, y_test`` of the benchmark (the workload's)."""
        return load_data(name)

    def setup(self, *params):
        self.X, self.y, self.X_test, self.y_test = self.data(*params)
        self.estimator = self.make_estimator(*params)

    def time_fit(self, *args):
        self.estimator.fit(self.X, self.y)

    def peakmem_fit(self, *args):
        self.estimator.fit(self.X, self.y)


class EstimatorBenchmark(FitBenchmark):
    """Mixin adding ``track_score`` and ``time_predict_proba`` to ``FitBenchmark``.

    They use an estimator fitted once per parameter combination by
    ``fit_all``, which every subclass calls from its own ``setup_cache``
    (asv shares a ``setup_cache`` between the classes that inherit it).
    ``setup`` warms ``predict_proba`` up, which also starts TensorFlow's
    runtime before ``time_fit`` runs.
    """

    def fit_all(self):
        """Fit the estimator of every parameter combination.

        Returns
        -------
        dict
            Pickled fitted estimators by parameter tuple.
        """
        fitted = {}
        for params in itertools.product(*self.params):
            FitBenchmark.setup(self, *params)
            fitted[params] = pickle.dumps(self.estimator.fit(self.X, self.y))
        return fitted

    def setup(self, fitted, *params):
        super().setup(*params)
        self.fitted = pickle.loads(fitted[params])
        self.fitted.predict_proba(self.X_test)

    def track_score(self, *args):
        proba = self.fitted.predict_proba(self.X_test)
        classes = getattr(self.fitted, "classes_", np.arange(proba.shape[1]))
        return float(np.mean(classes[np.argmax(proba, axis=1)] == self.y_test))

    track_score.unit = "accuracy"

    def time_predict_proba(self, *args):
        self.fitted.predict_proba(self.X_test)
