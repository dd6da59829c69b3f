"""skcoteach: Co-teaching for scikit-learn, robust training on noisy labels.

``import skcoteach`` is light: TensorFlow is imported only when a model is
first built or loaded.
"""

from ._classifier import CoTeachingClassifier

__version__ = "0.1.0"

__all__ = ["CoTeachingClassifier", "__version__"]
