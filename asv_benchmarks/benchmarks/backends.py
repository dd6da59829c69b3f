"""One Co-teaching epoch of the MLP workload on each Keras backend (issue 28).

Keras fixes its backend when it is first imported, so each benchmark chooses
it in ``setup`` (``KERAS_BACKEND``), in the fresh process asv runs it in; a
backend that is not installed -- or a process in which Keras was imported
with another one -- skips the benchmark.  ``ratios.py`` divides the JAX epochs
by the TensorFlow epochs (target 1.1).
"""

import importlib.util
import os
import sys

from . import common
from .baselines import FACTORIES
from .common import TAU, TK, C, load_data, workload

BACKENDS = ["tensorflow", "jax"]


def use_backend(backend):
    """Make ``backend`` Keras's backend in this process, or skip the benchmark.

    Raises
    ------
    NotImplementedError
        (asv's "skip") If ``backend`` is not installed or Keras already runs
        another one.
    """
    if importlib.util.find_spec(backend) is None:
        raise NotImplementedError(f"{backend} is not installed")
    keras = sys.modules.get("keras")
    if keras is None:  # Keras reads the variable when first imported
        os.environ["KERAS_BACKEND"] = backend
        import keras
    if keras.backend.backend() != backend:
        raise NotImplementedError(f"Keras was imported with {keras.backend.backend()}")


#: Epochs timed, after the first (which compiles).
EPOCHS = 3


class Epoch(common.Benchmark):
    """Time of :data:`EPOCHS` epochs of ``CoTeachingClassifier`` (MLP workload), after a first one."""

    param_names = ["backend"]
    params = [BACKENDS]

    def setup(self, backend):
        use_backend(backend)
        from skcoteach import CoTeachingClassifier

        self.X, self.y, _, _ = load_data("mlp")
        self.estimator = CoTeachingClassifier(
            model=FACTORIES["mlp"], tau=TAU, Tk=TK, c=C, n_peers=2,
            optimizer="adam", optimizer__learning_rate=0.001,
            epochs=1, batch_size=workload("mlp")["batch_size"], steps_per_execution=16,
            verbose=0, random_state=0, warm_start=True,
        ).fit(self.X, self.y)  # compiled and traced here
        self.estimator.set_params(epochs=EPOCHS)

    def time_epochs(self, backend):
        self.estimator.fit(self.X, self.y)  # a warm start: EPOCHS more epochs
