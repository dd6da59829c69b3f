"""``CoTeachingGridSearchCV`` against scikit-learn's ``GridSearchCV`` on the README's grid.

``StandardScaler`` + ``CoTeachingClassifier(epochs=60)``, ``tau`` in (0.3,
0.4, 0.5) x ``Tk`` in (5, 10), ``cv=3``, on the 1 347 training rows of
scikit-learn's digits with 40% symmetric label noise.
"""

from . import common
from .common import quick


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
