"""CoTeachingClassifier on the two workloads, for each update rule."""

from . import common
from .baselines import FACTORIES
from .common import TAU, TK, C, workload


class CoTeaching(common.EstimatorBenchmark):
    """``CoTeachingClassifier`` with 2 peers, Adam (lr 0.001), ``steps_per_execution=16``."""

    param_names = ["workload", "rule"]
    params = [["mlp", "cnn"], ["coteaching", "coteaching_plus", "jocor"]]

    def setup_cache(self):
        return self.fit_all()

    def make_estimator(self, name, rule):
        from skcoteach import CoTeachingClassifier

        sizes = workload(name)
        return CoTeachingClassifier(
            model=FACTORIES["mlp" if name == "mlp" else "notebook_cnn"],
            strategy=rule, tau=TAU, Tk=TK, c=C, n_peers=2,
            optimizer="adam", optimizer__learning_rate=0.001,
            epochs=sizes["epochs"], batch_size=sizes["batch_size"], steps_per_execution=16,
            verbose=0, random_state=0,
        )


class Selection(common.FitBenchmark):
    """The MLP workload's Co-teaching fit with each ``selection``: what the selection costs.

    ``setup`` runs one Keras operation, so that, as in ``CoTeaching`` (whose
    ``setup`` warms ``predict_proba`` up), the timed fit does not include
    starting TensorFlow's runtime.
    """

    param_names = ["workload", "selection"]
    params = [["mlp"], ["class_floor", "global", "per_class"]]

    def setup(self, *params):
        super().setup(*params)
        import keras

        keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.ones((2, 2))))

    def make_estimator(self, name, selection):
        return CoTeaching.make_estimator(self, name, "coteaching").set_params(selection=selection)
