"""``CoTeachingGridSearchCV`` against scikit-learn's ``GridSearchCV``.

``GridSearch`` / ``GridSearchJAX``: the README's grid, ``StandardScaler`` +
``CoTeachingClassifier(epochs=60)``, ``tau`` in (0.3, 0.4, 0.5) x ``Tk`` in
(5, 10), ``cv=3``, on the 1 347 training rows of scikit-learn's digits with
40% symmetric label noise.

``GridSearchMNIST``: the grouped-search workload of issue 28 (target 0.85 on
either backend): the MLP 784-256-10 of the speed workloads on the first 6 000
MNIST training images with 40% symmetric label noise, 6 epochs, the same grid,
``cv=3``, ``n_jobs=1``, on Keras's TensorFlow and JAX backends.
"""

import functools

from . import common
from .backends import BACKENDS, use_backend
from .baselines import FACTORIES
from .common import C, _images, quick


class GridSearch(common.FitBenchmark):
    """Time and peak memory of one search (``n_jobs`` 1 or 2)."""

    param_names = ["search", "n_jobs"]
    params = [["GridSearchCV", "CoTeachingGridSearchCV"], [1, 2]]

    def data(self, *params):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        from skcoteach.noise import make_label_noise

        X, y = load_digits(return_X_y=True)
        X, _, y, _ = train_test_split(X, y, random_state=0)
        return X, make_label_noise(y, 0.4, kind="symmetric", random_state=0), None, None

    def make_estimator(self, search, n_jobs):
        from sklearn.model_selection import GridSearchCV
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from skcoteach import CoTeachingClassifier
        from skcoteach.model_selection import CoTeachingGridSearchCV

        estimator = make_pipeline(
            StandardScaler(), CoTeachingClassifier(epochs=1 if quick() else 60, random_state=0)
        )
        grid = {"coteachingclassifier__tau": [0.3, 0.4, 0.5], "coteachingclassifier__Tk": [5, 10]}
        if quick():
            grid = {"coteachingclassifier__tau": [0.3, 0.5]}
        cls = CoTeachingGridSearchCV if search == "CoTeachingGridSearchCV" else GridSearchCV
        return cls(estimator, grid, cv=2 if quick() else 3, n_jobs=n_jobs)


class GridSearchJAX(GridSearch):
    """The same searches with ``n_jobs=1`` on Keras's JAX backend (skipped without jax)."""

    param_names = ["search"]
    params = [["GridSearchCV", "CoTeachingGridSearchCV"]]

    def setup(self, search):
        from .backends import use_backend

        use_backend("jax")
        super().setup(search, 1)

    def make_estimator(self, search, n_jobs=1):
        return super().make_estimator(search, n_jobs)


#: Sizes of ``GridSearchMNIST``: training images, mini-batch, epochs, folds and grid.
MNIST_SEARCH = {"n_train": 6_000, "batch_size": 128, "epochs": 6, "cv": 3,
                "grid": {"tau": [0.3, 0.4, 0.5], "Tk": [5, 10]}}
#: The same in quick mode: the 256 synthetic images, 2 candidates, 2 folds, 1 epoch.
QUICK_MNIST_SEARCH = {"n_train": 256, "batch_size": 64, "epochs": 1, "cv": 2,
                      "grid": {"tau": [0.3, 0.5], "Tk": [5]}}


def mnist_search():
    """Sizes of the ``GridSearchMNIST`` workload.

    Returns
    -------
    dict
        ``n_train``, ``batch_size``, ``epochs``, ``cv`` and ``grid`` (the
        ``param_grid``), smaller in quick mode.
    """
    return QUICK_MNIST_SEARCH if quick() else MNIST_SEARCH


@functools.lru_cache(maxsize=None)
def _mnist_search_data(quick_mode):
    from skcoteach.noise import make_label_noise

    (x_train, y_train), _ = _images(quick_mode)
    n_train = (QUICK_MNIST_SEARCH if quick_mode else MNIST_SEARCH)["n_train"]
    X = x_train[:n_train].reshape(-1, 784).astype("float32") / 255
    y = make_label_noise(y_train[:n_train].astype("int64"), 0.4, kind="symmetric",
                         random_state=0)
    return X, y


class GridSearchMNIST(common.Benchmark):
    """Time of one search of the MNIST workload, ``n_jobs=1``, on each Keras backend.

    ``CoTeachingClassifier`` as in ``coteaching.CoTeaching`` (the MLP factory,
    2 peers, Adam with learning rate 0.001, ``steps_per_execution=16``,
    ``c=1``), ``epochs=6``, ``batch_size=128``; the grid sets ``tau`` and
    ``Tk``.  ``setup`` picks the backend (a backend that is not installed, or
    a process whose Keras runs another one, skips the benchmark), loads and
    corrupts the labels, and runs one operation of the backend so that the
    timed search does not include starting its runtime.  ``ratios.py``
    divides ``CoTeachingGridSearchCV`` by ``GridSearchCV`` per backend
    (rows S4 and S5, target 0.85).
    """

    param_names = ["search", "backend"]
    params = [["GridSearchCV", "CoTeachingGridSearchCV"], BACKENDS]

    def setup(self, search, backend):
        use_backend(backend)
        import keras

        keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.ones((2, 2))))
        self.X, self.y = _mnist_search_data(quick())
        self.estimator = self.make_estimator(search)

    def make_estimator(self, search):
        """The search: ``GridSearchCV`` or ``CoTeachingGridSearchCV`` of the workload.

        Parameters
        ----------
        search : {"GridSearchCV", "CoTeachingGridSearchCV"}
            The search class.

        Returns
        -------
        GridSearchCV
            The unfitted search, ``n_jobs=1``.
        """
        from sklearn.model_selection import GridSearchCV

        from skcoteach import CoTeachingClassifier
        from skcoteach.model_selection import CoTeachingGridSearchCV

        sizes = mnist_search()
        estimator = CoTeachingClassifier(
            model=FACTORIES["mlp"], c=C, n_peers=2,
            optimizer="adam", optimizer__learning_rate=0.001,
            epochs=sizes["epochs"], batch_size=sizes["batch_size"], steps_per_execution=16,
            verbose=0, random_state=0,
        )
        cls = CoTeachingGridSearchCV if search == "CoTeachingGridSearchCV" else GridSearchCV
        return cls(estimator, sizes["grid"], cv=sizes["cv"], n_jobs=1)

    def time_fit(self, search, backend):
        self.estimator.fit(self.X, self.y)
