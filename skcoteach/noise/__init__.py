"""Synthetic label noise for benchmarking learning with noisy labels.

Class-conditional noise is described by a *transition matrix* ``T`` of shape
``(n_classes, n_classes)``: ``T[i, j]`` is the probability that a sample whose
true class is ``classes[i]`` is given the label ``classes[j]``.  Every row sums
to one.  Three standard noise models are provided:

* **symmetric** -- a label is replaced with probability ``noise_rate`` by one
  of the *other* classes, chosen uniformly (Han et al., 2018 [1]_);
* **pair** -- a label is replaced with probability ``noise_rate`` by the next
  class, the last class wrapping to the first (Han et al., 2018);
* **asymmetric** -- only the classes of a ``{source: target}`` mapping are
  flipped, e.g. the MNIST mapping 2->7, 3->8, 5<->6, 7->1 (Patrini et al.,
  2017 [2]_), used by Co-teaching+ and JoCoR.

**Instance-dependent** noise (``kind='instance'``, Xia et al., 2020 [3]_)
gives every sample its own label distribution, which depends on its features
``X``: the instance-dependent ("IDN", "PTD") noise of the recent benchmarks.

The package only depends on NumPy, SciPy and scikit-learn: generation
(``_generate``, ``_instance``), input checks (``_checks``), transition
matrices (``_transition``) and diagnostics of given labels (``_diagnostics``).

References
----------
.. [1] B. Han, Q. Yao, X. Yu, G. Niu, M. Xu, W. Hu, I. Tsang and M. Sugiyama,
   "Co-teaching: Robust training of deep neural networks with extremely noisy
   labels", NeurIPS 2018.
.. [2] G. Patrini, A. Rozza, A. K. Menon, R. Nock and L. Qu, "Making deep
   neural networks robust to label noise: a loss correction approach",
   CVPR 2017.
.. [3] X. Xia, T. Liu, B. Han, N. Wang, M. Gong, H. Liu, G. Niu, D. Tao and
   M. Sugiyama, "Part-dependent label noise: towards instance-dependent label
   noise", NeurIPS 2020.
"""

from ._diagnostics import estimate_noise_rate, estimate_transition_matrix, label_precision
from ._generate import MNIST_ASYMMETRIC_MAPPING, NoiseInfo, make_label_noise
from ._transition import (
    mapping_transition_matrix,
    pair_transition_matrix,
    symmetric_transition_matrix,
)

__all__ = [
    "MNIST_ASYMMETRIC_MAPPING",
    "NoiseInfo",
    "estimate_noise_rate",
    "estimate_transition_matrix",
    "label_precision",
    "make_label_noise",
    "mapping_transition_matrix",
    "pair_transition_matrix",
    "symmetric_transition_matrix",
]
