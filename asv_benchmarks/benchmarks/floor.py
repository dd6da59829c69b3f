"""The compute floor of the MLP workload's fit.

The matrix-product FLOPs of the fit (the five GEMMs of every training step,
``baselines.mlp_training_flops``; 2 peers, every sample and epoch) divided
by the float32 matmul rate measured here with exactly those GEMM shapes
(``baselines.MatmulRate``).  ``ratios.py`` divides the library's MLP fit
time by it (target 1.3x).
"""

import numpy as np

from . import common
from .baselines import MatmulRate, mlp_training_flops
from .common import quick, workload


class ComputeFloor(common.Benchmark):
    """GEMM floor of the MLP fit and the matmul rate it rests on."""

    def setup(self):
        sizes = workload("mlp")
        self.rate = MatmulRate(batch=sizes["batch_size"])
        self.flops = 2 * sizes["n_train"] * sizes["epochs"] * mlp_training_flops()
        self.iterations = 20 if quick() else 300

    def track_floor_seconds(self):
        return self.flops / np.median(self.rate.measure(self.iterations, repeats=3))

    track_floor_seconds.unit = "seconds"

    def track_matmul_gflops(self):
        return np.median(self.rate.measure(self.iterations, repeats=3)) / 1e9

    track_matmul_gflops.unit = "GFLOP/s"
