"""Keras's own saving of the ensemble: ``model.save``, ``keras.saving.load_model``, ModelCheckpoint.

:class:`KerasSaving` gives :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble` the
configuration that rebuilds it (every peer serialized by Keras) and a compile
configuration that names Keras's own optimizer class.  Imported lazily (it
imports Keras).
"""

import keras

from .._config import EnsembleConfig
from ._compat import without_default_all_reduce
from ._optimizers import fuse, plain

__all__ = ["KerasSaving"]


class KerasSaving(EnsembleConfig):
    """Mixin of :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble`: its Keras configuration.

    Notes
    -----
    Keras's own saving works on the ensemble: ``model.save("m.keras")``,
    ``keras.callbacks.ModelCheckpoint`` (whole model or weights only) and
    ``keras.callbacks.BackupAndRestore``.  :func:`keras.saving.load_model`
    returns a ``PeerEnsemble`` whose call and ``predict`` give the saved
    model's mean class probabilities; no
    :class:`~skcoteach.CoTeachingClassifier` is needed to use it.  What is
    saved: the configuration of :meth:`get_config` (the peers' own Keras
    configurations included), every peer's weights and, when compiled, the
    optimizer's state; with ``compile=True`` (the default of ``load_model``)
    the loaded ensemble is compiled with the same optimizer
    (:meth:`compile_from_config`).  The per-sample statistics
    (:meth:`sample_statistics`), the epoch and the forget rate are not saved:
    they start at zero in the loaded ensemble.

    The class is registered with Keras as ``"skcoteach>PeerEnsemble"``
    when :mod:`skcoteach.backends.tensorflow._ensemble` is imported.  ``import skcoteach`` alone does not import
    it (nor TensorFlow): load a saved ensemble with
    :func:`skcoteach.saving.load_model`, which does, or with
    :func:`keras.saving.load_model` in a process that has already fitted or
    unpickled a :class:`~skcoteach.CoTeachingClassifier`.  Peers of
    user-defined Keras classes (layers or models) load as any Keras model
    with them does: their classes must be registered with Keras or passed as
    ``custom_objects``.
    """

    def get_compile_config(self):
        """Keras's compile configuration, naming Keras's own optimizer class.

        :func:`skcoteach._build.set_optimizer` compiles the ensemble with a
        :class:`~skcoteach.backends.tensorflow._optimizers.FusedAdam` for Keras's Adam; it is
        saved as :class:`keras.optimizers.Adam` with the same configuration
        (:func:`skcoteach.backends.tensorflow._optimizers.plain`), which has the same state
        variables, so that its saved state loads into it.
        """
        config = super().get_compile_config()
        optimizer = getattr(self, "optimizer", None)
        if config and optimizer is not None:
            saved = plain(optimizer)
            if saved is not optimizer:
                config["optimizer"] = keras.saving.serialize_keras_object(saved)
        return config

    def compile_from_config(self, config):
        """Compile from a saved compile configuration, as ``fit`` compiles.

        As Keras's own method, with the optimizer changed as
        :func:`skcoteach._build.set_optimizer` changes it: Keras's Adam runs as
        :class:`~skcoteach.backends.tensorflow._optimizers.FusedAdam`
        (:func:`skcoteach.backends.tensorflow._optimizers.fuse`) and skips the all-reduce over a
        single replica (:func:`skcoteach.backends.tensorflow._compat.without_default_all_reduce`).
        The optimizer is built, so that Keras then loads its saved state.
        """
        config = keras.saving.deserialize_keras_object(config)
        optimizer = config.get("optimizer")
        if isinstance(optimizer, keras.optimizers.Optimizer):
            config["optimizer"] = without_default_all_reduce(fuse(optimizer))
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)
