"""``fit`` as named steps: :class:`FitSteps`, the mixin that gives the estimator its fit.

``fit`` and ``partial_fit`` call :meth:`FitSteps._fit`, which runs, in order,

1. :meth:`~FitSteps._prepare_fit` -- check the parameters and the data (before
   any backend is imported), hold out ``validation_split``, draw the seeds,
   and build (or warm-start) the peers with :meth:`~FitSteps._build_model`;
2. :meth:`~FitSteps._train` -- run the backend's training program over the
   prepared arrays, with the forget-rate schedule and the user's callbacks;
3. :meth:`~FitSteps._record` -- store what the fit produced on the estimator
   (``history_``, ``n_iter_``, ``tau_``, ``sample_kept_``, ...).

A failed step rolls the estimator back to where it was before ``_fit``.
Each step is a method that a subclass may override, calling ``super()`` --
e.g. to log the prepared arrays, to replace the model building or to record
more attributes.  The steps exchange records, not tuples:
:class:`~skcoteach._validation.PreparedFit` and :class:`TrainingRun`.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from numpy.typing import ArrayLike

from . import _validation
from ._compat import import_keras, validate_params
from ._params import check_names, routed
from ._rule_registry import REGISTRY, check_options
from .schedules import auto_batch_size

__all__ = ["FitSteps", "TrainingRun"]


@dataclass
class TrainingRun:
    """What :meth:`FitSteps._train` hands to :meth:`FitSteps._record`.

    Attributes
    ----------
    history : keras.callbacks.History
        The epochs trained by this call and their logs.
    scheduler : skcoteach._callbacks.ForgetRateScheduler
        The forget rates set, ``tau`` and, with ``tau="auto"``, the estimate.
    earlier : dict or None
        The epochs done before a resumption from a ``BackupAndRestore``
        checkpoint (``epoch``, ``logs``, ``forget_rate``), else None.
    """

    history: Any
    scheduler: Any
    earlier: dict | None = None


class FitSteps:
    """Mixin of :class:`~skcoteach.CoTeachingClassifier`: the steps of ``fit``.

    See the module docstring for the order of the steps and how to override them.
    """

    def _fit(
        self, X: Any, y: ArrayLike, *, sample_weight: ArrayLike | None = None,
        validation_data: tuple | None = None, epochs: int, reset: bool,
        classes: ArrayLike | None = None,
    ) -> "FitSteps":
        """Run the steps; on any failure put the estimator back as it was.

        A failed call leaves the estimator fitted with its previous model
        (weights and optimizer state included), or unfitted.
        """
        before = dict(vars(self))
        saved = None
        if not reset:
            from .backends import api

            backend = api()
            saved = backend.snapshot(self.model_)
        try:
            prepared = self._prepare_fit(
                X, y, sample_weight=sample_weight, validation_data=validation_data,
                reset=reset, classes=classes,
            )
            self._record(self._train(prepared, epochs=epochs))
            return self
        except BaseException:
            if saved is not None:
                backend.restore(before["model_"], saved)
            vars(self).clear()
            vars(self).update(before)
            raise

    # ------------------------------------------------------------------
    # Step 1: prepare
    # ------------------------------------------------------------------
    def _prepare_fit(
        self, X: Any, y: ArrayLike, *, sample_weight: ArrayLike | None = None,
        validation_data: tuple | None = None, reset: bool = True,
        classes: ArrayLike | None = None,
    ) -> _validation.PreparedFit:
        """Validate everything and build (or warm-start) the peers; the data to train on.

        Also used by :mod:`skcoteach.model_selection`, which trains the
        prepared estimators of a grid search together.

        Returns
        -------
        skcoteach._validation.PreparedFit
            The training arrays, the validation arrays (or None) and the seed of
            the training order.
        """
        # Parameters and data first: a bad input is reported before the backend loads.
        rule_options = self._check_params()
        X, y, y_enc, weights, classes = _validation.training_data(
            self, X, y, sample_weight, reset, classes
        )
        X, y_enc, weights, validation_data = _validation.split_validation(
            X, y, y_enc, weights, self.validation_split, validation_data
        )
        build_seed, shuffle_seed = self._seeds(reset)
        if reset:
            self._start_new_fit(X, classes)
        self.batch_size_ = self._resolved_batch_size(X.shape[0], reset)
        val = self._check_validation_data(validation_data)
        import_keras()  # Keras's backend, or a clear ImportError
        self._build_model(X, rule_options=rule_options, seed=build_seed, reset=reset)
        from ._selection import label_shares  # imports Keras

        # The classes' shares of the labels trained on: selection="class_floor" reads them.
        self.model_.set_class_shares(label_shares(y_enc, len(self.classes_)))
        return _validation.PreparedFit(X, y_enc, weights, val, shuffle_seed)

    def _check_params(self) -> dict:
        """Check the parameters, routed names and rule options; the options (no backend)."""
        validate_params(self)  # the constructor's (routed ones have no constraint)
        check_names(type(self).__name__, self._routed_params, self._get_param_names())
        return check_options(self.strategy, routed(self._routed_params, "strategy__"))

    def _seeds(self, reset: bool) -> tuple[int, int]:
        """Seeds of the new peers and of the training order.

        A warm start or a ``partial_fit`` continues the first fit's stream of
        orders (or its one order).
        """
        from sklearn.utils import check_random_state

        rng = check_random_state(self.random_state)
        build_seed, shuffle_seed = (int(s) for s in rng.randint(1, 2**31 - 1, size=2))
        if reset:
            self._shuffle_seed = shuffle_seed
        return build_seed, getattr(self, "_shuffle_seed", shuffle_seed)

    def _start_new_fit(self, X, classes):
        """Forget the previous fit's attributes; start the new one's."""
        for attr in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            if attr not in ("n_features_in_", "feature_names_in_"):  # set just now
                delattr(self, attr)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        self.X_shape_ = X.shape
        self.history_ = {}
        self.n_iter_ = 0

    def _resolved_batch_size(self, n: int, reset: bool) -> int:
        """``batch_size``; ``"auto"``: ``auto_batch_size(n)`` on a new fit, else the kept one."""
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            return int(self.batch_size)
        if reset or not hasattr(self, "batch_size_"):
            return auto_batch_size(n)
        return self.batch_size_

    def _check_validation_data(self, validation_data):
        """Validated ``(X_val, y_val, w_val)`` of ``validation_data``, or None."""
        return _validation.check_validation_data(self, validation_data)

    def _build_model(self, X, *, rule_options: dict, seed: int, reset: bool):
        """New peers and their compiled ensemble (``model_``, ``peers_``), or a warm start."""
        from . import _build

        if reset:
            self.model_ = _build.build_model(self, X, rule_options, seed)
            self.peers_ = self.model_.peers
            self._optimizer_config = _build.resolved_optimizer(self)
        else:
            _build.apply_warm_start(self, X.shape[0], rule_options)

    # ------------------------------------------------------------------
    # Step 2: train
    # ------------------------------------------------------------------
    def _train(self, prepared: _validation.PreparedFit, *, epochs: int) -> TrainingRun:
        """Train ``model_`` on the prepared arrays for ``epochs`` epochs."""
        from .backends import api

        return api().train(self, prepared, epochs)

    def _batch_positions(self, n: int) -> Any:
        """The stream of batch positions of an epoch (the backend's ``batch_positions``)."""
        from .backends import api

        return api().batch_positions(n, self.batch_size_)

    def _order_of_epochs(self, n: int, shuffle_seed: int) -> Callable[..., Any]:
        """``epoch -> order`` of the training samples, as ``shuffle`` says (``epoch_order``)."""
        from .backends import api

        epoch_order = api().epoch_order
        shuffle = self._training_order()
        seed = shuffle_seed if shuffle else None
        return functools.partial(epoch_order, n, seed, once=shuffle == "once")

    def _training_order(self):
        """``shuffle`` with ``"auto"`` resolved: the rule's ``default_order`` in the registry."""
        if isinstance(self.shuffle, str) and self.shuffle == "auto":
            return REGISTRY[self.strategy].default_order
        return self.shuffle

    # ------------------------------------------------------------------
    # Step 3: record
    # ------------------------------------------------------------------
    def _record(self, run: TrainingRun):
        """Store the fit's results on the estimator (:func:`skcoteach.backends._fit_loop.record`)."""
        from .backends._fit_loop import record

        record(self, run.history, run.scheduler, run.earlier)
