"""Helpers for sphinx-gallery, referred to by name from ``conf.py``.

sphinx-gallery accepts ``"module.name"`` strings for its callables; using names
keeps ``sphinx_gallery_conf`` picklable, so Sphinx can cache the configuration
(an unpicklable config value is a warning, hence an error under ``-W``).
"""

import sys

#: Order of the examples in the gallery; unlisted ones follow, by file name.
ORDER = [
    "plot_tabular_grid_search.py",
    "plot_images_memorization.py",
    "plot_label_noise.py",
    "plot_schedule_and_history.py",
]


class ExampleOrder:
    """Sort key of the gallery: the order of :data:`ORDER`, then file names."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return (0, ORDER.index(filename), filename)
        return (1, 0, filename)

    def __repr__(self):
        return f"<{type(self).__name__}>"


def reset_keras(gallery_conf, fname):
    """Start each example as in a fresh Python process, as far as Keras goes.

    Frees the models of the previous example and unsets TensorFlow's global
    seed, which an example may have set with ``keras.utils.set_random_seed``
    (TensorFlow combines it with operation-level seeds), so that an example's
    numbers do not depend on the examples run before it.
    """
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].random.set_seed(None)


class _DropRetracingWarnings:
    """Logging filter dropping TensorFlow's "triggered tf.function retracing" notes.

    Every ``fit`` of a new estimator builds new Keras models and so traces new
    ``tf.function`` objects; after five of them TensorFlow logs a warning that
    assumes a user error.  Examples that fit many models (a grid search) would
    show it in their output.  Only that message is dropped.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_tensorflow_retracing():
    """Install :class:`_DropRetracingWarnings` on the ``tensorflow`` logger."""
    import logging

    logger = logging.getLogger("tensorflow")
    if not any(isinstance(f, _DropRetracingWarnings) for f in logger.filters):
        logger.addFilter(_DropRetracingWarnings())
