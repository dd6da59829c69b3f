"""The baselines of the speed targets, on the same workloads as ``coteaching.py``.

Plain Keras fits of the 2 peers, the Keras Co-teaching notebook's loop, the
official PyTorch loop and the same training as a bare TensorFlow program
(``baselines.py`` has the loops and what each one does).
"""

import os

from . import common
from .baselines import LoopBaseline
from .common import TAU, TK, C, workload

#: ``torch.set_num_threads`` of the PyTorch loop: TensorFlow's intra-op threads on 2 cores.
TORCH_THREADS = int(os.environ.get("SKCOTEACH_ASV_TORCH_THREADS", "2"))


def _baseline(method, name):
    sizes = workload(name)
    return LoopBaseline(
        method, model="mlp" if name == "mlp" else "notebook_cnn", epochs=sizes["epochs"],
        batch_size=sizes["batch_size"], tau=TAU, Tk=TK, c=C, seed=0, threads=TORCH_THREADS,
    )


class PlainKeras(common.EstimatorBenchmark):
    """The 2 peers fitted one after the other with ``keras.Model.fit`` at Keras defaults."""

    param_names = ["workload"]
    params = [["mlp", "cnn"]]

    def setup_cache(self):
        return self.fit_all()

    def make_estimator(self, name):
        return _baseline("plain", name)


class NotebookLoop(common.FitBenchmark):
    """The Keras notebook's loop (per batch ``predict``, NumPy losses, ``train_on_batch``).

    Only timed: a fit of the MLP workload takes minutes.  Its fit is the
    first one of its process (the old harness timed it the same way).
    """

    param_names = ["workload"]
    params = [["mlp", "cnn"]]
    peakmem_fit = None

    def make_estimator(self, name):
        return _baseline("notebook", name)


class TorchLoop(common.EstimatorBenchmark):
    """Port of the official PyTorch loop on the MLP (needs ``torch``)."""

    param_names = ["workload"]
    params = [["mlp"]]

    def setup_cache(self):
        try:
            self._import_torch()
        except NotImplementedError:
            return {}  # setup skips every benchmark of the class
        return self.fit_all()

    def setup(self, fitted, *params):
        self._import_torch()
        super().setup(fitted, *params)

    @staticmethod
    def _import_torch():
        # Passive OpenMP threads: torch's spinning ones cost minutes on a busy machine.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import torch  # noqa: F401
        except ImportError:
            raise NotImplementedError("torch is not installed") from None

    def make_estimator(self, name):
        return _baseline("torch", name)


class TFLoop(common.EstimatorBenchmark):
    """The same Co-teaching as a bare TensorFlow program; ``select=False`` trains on all samples."""

    param_names = ["workload", "select"]
    params = [["mlp"], [True, False]]

    def setup_cache(self):
        return self.fit_all()

    def make_estimator(self, name, select):
        return _baseline("tfloop" if select else "tfloop_noselect", name)
