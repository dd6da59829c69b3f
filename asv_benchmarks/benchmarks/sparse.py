"""Peak memory of a fit on a 100,000 x 20,000 CSR matrix (0.1% density).

Dense in float32 the matrix would take 8 GB; batches are densified inside the
compiled training step.  Labels of 5 classes come from a random linear model of
the features, with 20% symmetric noise.  ``peakmem_data`` is the same process
before the fit (TensorFlow and Keras imported, the matrix built): what the
fit adds is the difference (target: the fit's peak below 2 GiB).
"""

from . import common
from .common import quick


def make_data(rows, features, density, seed=0):
    """The CSR matrix and noisy labels of the benchmark.

    Parameters
    ----------
    rows, features : int
        Shape of the matrix.
    density : float
        Fraction of stored values.
    seed : int
        Seed of the values, positions, linear model and noise.

    Returns
    -------
    X : scipy.sparse.csr_matrix of float32
    y : ndarray of int
    """
    import numpy as np
    import scipy.sparse as sp

    from skcoteach.noise import make_label_noise

    rng = np.random.default_rng(seed)
    # Positions drawn directly: scipy.sparse.random draws them without
    # replacement out of rows * features, which allocates that many integers.
    nnz = int(rows * features * density)
    X = sp.csr_matrix(
        (
            rng.random(nnz, dtype=np.float32),
            (rng.integers(0, rows, nnz), rng.integers(0, features, nnz)),
        ),
        shape=(rows, features),
    )  # the rare duplicate positions are summed
    y = np.argmax(X @ rng.normal(size=(features, 5)).astype(np.float32), axis=1)
    return X, make_label_noise(y, 0.2, random_state=seed)


class SparseFit(common.FitBenchmark):
    """``CoTeachingClassifier(epochs=2, tau=0.2)``, default network, fed the CSR matrix."""

    time_fit = None  # peak memory is the point; a fit takes minutes

    def data(self):
        import keras  # in peakmem_data as in the fit, with its backend

        if keras.backend.backend() == "tensorflow":
            import tensorflow  # noqa: F401

        shape = (2_000, 500, 0.01) if quick() else (100_000, 20_000, 0.001)
        return (*make_data(*shape), None, None)

    def make_estimator(self):
        from skcoteach import CoTeachingClassifier

        return CoTeachingClassifier(epochs=2, tau=0.2, random_state=0, verbose=0)

    def peakmem_data(self):
        pass
