"""The scikit-learn estimator: :class:`CoTeachingClassifier`.

This module imports neither TensorFlow nor Keras at import time; they are
imported when a model is first built or loaded (``import tensorflow`` alone
takes seconds).
"""

import contextlib
import copy
import inspect
import logging
import numbers
import os
import random
import tempfile

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

__all__ = ["CoTeachingClassifier"]

#: Prefixes of the parameters routed to the model factory and the optimizer.
ROUTED_PREFIXES = ("model__", "optimizer__", "strategy__")


def _keras():
    """Import Keras with the TensorFlow backend, or explain why not."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ImportError(
            "skcoteach needs Keras's TensorFlow backend, but KERAS_BACKEND="
            f"{keras.backend.backend()!r}. Set the environment variable "
            "KERAS_BACKEND=tensorflow before importing keras."
        )
    return keras


@contextlib.contextmanager
def _seeded(seed):
    """Make Python, NumPy and Keras draw from ``seed``, then restore them.

    Keras layers seed their initializers and dropout from Python's ``random``
    module and from Keras's global ``SeedGenerator``; both, and NumPy's global
    state, are put back as they were, so the caller's random state is not
    changed.  TensorFlow's global seed is never touched.
    """
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator

    key = seed_generator.GLOBAL_SEED_GENERATOR
    saved = random.getstate(), np.random.get_state(), global_state.get_global_attribute(key)
    random.seed(seed)
    np.random.seed(seed)
    global_state.set_global_attribute(key, seed_generator.SeedGenerator(seed))
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        global_state.set_global_attribute(key, saved[2])


class _KerasRetracingFilter(logging.Filter):
    """Drop TensorFlow's "triggered tf.function retracing" warning about Keras's trainer.

    Every new estimator (each fit of a grid search, each cross-validation fold)
    builds new peers, so Keras traces new training and prediction functions;
    TensorFlow counts these by their shared Python code and, from the fifth,
    warns of "excessive retracing" that is neither excessive nor avoidable.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "TensorFlowTrainer" in message)


@contextlib.contextmanager
def _quiet_retracing():
    """Filter :class:`_KerasRetracingFilter`'s warning from TensorFlow's logger meanwhile."""
    logger = logging.getLogger("tensorflow")
    quiet = _KerasRetracingFilter()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _callable_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(
        getattr(fn, "func", None), "__qualname__", type(fn).__name__
    )


class CoTeachingClassifier(ClassifierMixin, BaseEstimator):
    """Classifier trained with Co-teaching, robust to noisy labels.

    Co-teaching (Han et al., NeurIPS 2018) trains ``n_peers`` networks at once.
    In every mini-batch each peer ranks the samples by their loss and its peer
    is updated on the ``R(T)`` share with the smallest loss, where the kept
    fraction at epoch ``T`` (0-based) is

    ``R(T) = 1 - tau * min((T / Tk) ** c, 1)``.

    Networks fit clean patterns before they memorise wrong labels, so the
    large-loss samples are mostly the mislabelled ones.  ``predict_proba``
    averages the peers' probabilities.

    Parameters
    ----------
    model : callable, keras.Model or None, default=None
        How to build each peer.

        - A model factory (function, :func:`functools.partial` or callable
          object) returning a :class:`keras.Model` whose output layer has
          ``n_classes_`` units (or one unit for a binary problem).  It is
          called once per peer with the routed ``model__<name>`` parameters
          and, if it accepts them, ``meta`` (a dict with ``n_features_in_``,
          ``n_classes_``, ``classes_``, ``X_shape_``, ``X_dtype_``,
          ``y_dtype_``, ``target_type_``, ``n_outputs_``,
          ``n_outputs_expected_``, the names scikeras uses) and
          ``compile_kwargs``; a scikeras model function works unchanged.
          Whether the peer compiles itself does not matter: the peers are
          trained by this estimator's optimizer.
        - A :class:`keras.Model`, cloned with fresh weights for every peer.
        - ``None``: :func:`skcoteach.models.mlp` for 2-D ``X`` and
          :func:`skcoteach.models.cnn` for images of shape ``(n, h, w)`` or
          ``(n, h, w, channels)``.
    tau : float or "auto", default=0.2
        Final forget rate, ``0 <= tau < 1``; ideally the share of wrong labels.
        Over-estimating it costs little, under-estimating it costs a lot.
        ``"auto"`` estimates it during ``fit`` (stored as ``tau_``): the
        peers train with forget rate 0 for ``min(2, Tk)`` warm-up epochs, then
        the noise rate is estimated by confident learning
        (:func:`skcoteach.noise.estimate_noise_rate`) from the peers'
        probabilities recorded during the last warm-up epoch, each computed
        before the sample's batch was trained on, when the networks have not
        yet memorised wrong labels; the schedule then continues with that rate.
    Tk : int, default=10
        Number of epochs over which the forget rate grows to ``tau``.
    c : float, default=1.0
        Exponent of the growth (``1`` is linear).
    n_peers : int, default=2
        Number of peer networks.  With two peers this is Co-teaching; with
        more, each peer is updated on the samples that the mean loss of the
        other peers ranks smallest.
    strategy : {"coteaching", "coteaching_plus", "jocor"}, default="coteaching"
        Update rule (see :mod:`skcoteach.rules`):

        - ``"coteaching"``: each peer is updated on its peer's small-loss samples.
        - ``"coteaching_plus"`` (Yu et al., 2019): after
          ``strategy__init_epochs`` (default 0) epochs of Co-teaching, only
          samples on which the peers' predictions disagree are exchanged; a
          batch without disagreement gives no gradient.
        - ``"jocor"`` (Wei et al., 2020): the peers are trained together on the
          samples with the smallest joint loss ``(1 - lambda) (CE_1 + CE_2) +
          lambda (KL(p1||p2) + KL(p2||p1))``, ``lambda`` set by
          ``strategy__co_lambda`` (default 0.1).

        Options of the rule are routed as ``strategy__<name>``.
    optimizer : str, keras optimizer class or instance, default="adam"
        Optimizer of all peers (one optimizer over all their variables, which
        for per-parameter optimizers such as Adam equals one per peer).  Its
        arguments can be routed as ``optimizer__<name>``, e.g.
        ``optimizer__learning_rate=1e-3``.  An instance is copied, never used.
        Exactly :class:`keras.optimizers.Adam` is applied with TensorFlow's
        fused Adam kernel (same update, faster on CPU; see the user guide).
    epochs : int, default=50
        Number of epochs.
    batch_size : int, default=128
        Size of the mini-batches.
    shuffle : bool or "once", default=True
        Order in which every epoch visits the training samples.

        - ``True``: a new random permutation every epoch.
        - ``"once"``: one random permutation, drawn at the first ``fit`` and
          reused by every epoch (also by warm starts and ``partial_fit``), so
          every epoch sees the same mini-batches in the same order.
        - ``False``: the order of ``X``.

        The permutations are seeded by ``random_state``; they never depend
        on TensorFlow's global seed.
    from_logits : bool or "auto", default="auto"
        Whether the peers output logits rather than probabilities.  "auto"
        reads the activation of the output layer (``softmax`` / ``sigmoid``:
        probabilities, ``linear``: logits) and, if that is not conclusive,
        checks whether outputs on training samples are probability vectors.
    validation_split : float, default=0.0
        Share of the training data held out, as in Keras: the *last* samples
        (before shuffling).  Validation loss and accuracy of the averaged
        peers appear in ``history_`` as ``val_loss`` and ``val_accuracy``.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Keras callbacks, e.g. ``EarlyStopping(monitor="val_accuracy",
        mode="max", restore_best_weights=True)`` (with noisy validation labels
        ``val_loss`` can rise while accuracy still improves).  They are
        deep-copied at each ``fit`` so the estimator's parameters stay
        untouched; the trained copies are ``callbacks_``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, keyed by the original labels; multiplied into
        ``sample_weight``.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues training the
        existing peers for ``epochs`` more epochs, continuing the schedule.
    steps_per_execution : int, default=16
        Mini-batches run per call of the compiled training function (Keras's
        ``steps_per_execution``); larger values cut Python overhead.
    verbose : int, default=0
        0 silent, 1 Keras's progress bar (showing the forget rate), 2 one line
        per epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling.  An int makes
        ``fit`` reproducible; the global Python, NumPy and TensorFlow random
        states of the caller are left as they were.
    **routed_params
        ``model__<name>`` arguments of the model factory,
        ``optimizer__<name>`` arguments of the optimizer and
        ``strategy__<name>`` options of the update rule.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, of the type given in ``y``.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        ``X.shape[1]`` seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    X_shape_ : tuple
        Shape of ``X`` in ``fit``; ``predict`` checks ``X.shape[1:]`` against it.
    peers_ : list of keras.Model
        The trained peer networks.
    model_ : keras.Model
        The model holding all peers (its call averages their probabilities).
    history_ : dict of list
        Per epoch: ``loss`` (mean over peers of the loss on their selected
        samples), ``peer_<p>_loss``, ``forget_rate``, ``kept_fraction`` (share
        of each batch actually used) and, with validation data, ``val_loss``
        and ``val_accuracy``.
    n_iter_ : int
        Number of epochs trained (over all ``fit`` / ``partial_fit`` calls).
    sample_kept_ : ndarray of shape (n_samples,)
        For each training sample, the share of the peers whose update used it
        in the last epoch; 0 means every peer rejected it as a likely wrong
        label.  Samples held out by ``validation_split`` are not included.
    sample_loss_ : ndarray of shape (n_samples,)
        For each training sample, the peers' mean cross-entropy with its given
        label at its last visit; large values flag suspected label errors.
    tau_ : float
        The final forget rate used (estimated when ``tau="auto"``).
    callbacks_ : list of keras.callbacks.Callback
        The copies of ``callbacks`` used by the last ``fit``, holding whatever
        they recorded (not pickled).

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Standard training, no label noise
        handling.

    References
    ----------
    B. Han, Q. Yao, X. Yu, G. Niu, M. Xu, W. Hu, I. Tsang and M. Sugiyama,
    "Co-teaching: Robust Training of Deep Neural Networks with Extremely Noisy
    Labels", NeurIPS 2018, arXiv:1804.06872.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skcoteach import CoTeachingClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CoTeachingClassifier(tau=0.3, epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "model": [callable, None],  # a keras.Model is callable too
        "tau": [Interval(numbers.Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "Tk": [Interval(numbers.Real, 1, None, closed="left")],
        "c": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_peers": [Interval(numbers.Integral, 2, None, closed="left")],
        "strategy": [StrOptions({"coteaching", "coteaching_plus", "jocor"})],
        "optimizer": [str, type, HasMethods(["apply", "get_config"])],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean", StrOptions({"once"})],
        "from_logits": ["boolean", StrOptions({"auto"})],
        "validation_split": [Interval(numbers.Real, 0, 1, closed="left")],
        "callbacks": [list, None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "steps_per_execution": [Interval(numbers.Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        model=None,
        *,
        tau=0.2,
        Tk=10,
        c=1.0,
        n_peers=2,
        strategy="coteaching",
        optimizer="adam",
        epochs=50,
        batch_size=128,
        shuffle=True,
        from_logits="auto",
        validation_split=0.0,
        callbacks=None,
        class_weight=None,
        warm_start=False,
        steps_per_execution=16,
        verbose=0,
        random_state=None,
        **routed_params,
    ):
        self.model = model
        self.tau = tau
        self.Tk = Tk
        self.c = c
        self.n_peers = n_peers
        self.strategy = strategy
        self.optimizer = optimizer
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.from_logits = from_logits
        self.validation_split = validation_split
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.steps_per_execution = steps_per_execution
        self.verbose = verbose
        self.random_state = random_state
        # Kept out of the public attributes: scikit-learn expects those to be
        # exactly the signature's parameters.  ``get_params`` merges them in.
        self._routed_params = routed_params

    # ------------------------------------------------------------------
    # Parameters: the constructor's plus the routed ``model__*`` / ``optimizer__*``
    # ------------------------------------------------------------------
    def get_params(self, deep=True):
        """Get the parameters, including routed ``model__*`` / ``optimizer__*``.

        Parameters
        ----------
        deep : bool, default=True
            Unused (no parameter is an estimator); kept for the scikit-learn API.

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        params.update(self._routed_params)
        return params

    def set_params(self, **params):
        """Set parameters, including routed ``model__*`` / ``optimizer__*`` ones.

        Parameters
        ----------
        **params
            Constructor parameters, and ``model__<name>`` /
            ``optimizer__<name>`` arguments of the model factory / optimizer.
            As in the constructor, names are checked by ``fit``, which raises
            a ``ValueError`` for a name that is neither.

        Returns
        -------
        self
        """
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key in valid:
                setattr(self, key, value)
            else:  # like the constructor: checked in ``fit``
                self._routed_params[key] = value
        return self

    def _routed(self, prefix):
        return {k[len(prefix) :]: v for k, v in self._routed_params.items() if k.startswith(prefix)}

    def _validate_all_params(self):
        _keras()  # the TensorFlow backend, or a clear ImportError
        self._validate_params()  # the constructor's parameters (routed ones have no constraint)
        unknown = [k for k in self._routed_params if not k.startswith(ROUTED_PREFIXES)]
        if unknown:
            raise ValueError(
                f"Unknown parameter(s) {unknown} for {type(self).__name__}: routed "
                f"parameters must start with {' or '.join(ROUTED_PREFIXES)}, e.g. "
                "model__hidden_layer_sizes=(64,) or optimizer__learning_rate=1e-3."
            )

    # ------------------------------------------------------------------
    # Building the peers
    # ------------------------------------------------------------------
    def _strategy_options(self):
        from .rules import RULES

        options = self._routed("strategy__")
        signature = inspect.signature(RULES[self.strategy])
        fixed = ("losses", "log_probs", "keep_fraction", "sample_weight", "epoch")
        accepted = [name for name in signature.parameters if name not in fixed]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(
                f"strategy__{unknown[0]} is not an option of strategy={self.strategy!r}; "
                f"its options are {accepted or 'none'}."
            )
        if "co_lambda" in options and not 0 <= options["co_lambda"] <= 1:
            raise ValueError(
                f"strategy__co_lambda must be in [0, 1], got {options['co_lambda']!r}."
            )
        if "init_epochs" in options and not (
            isinstance(options["init_epochs"], numbers.Integral) and options["init_epochs"] >= 0
        ):
            raise ValueError(
                f"strategy__init_epochs must be an int >= 0, got {options['init_epochs']!r}."
            )
        return options

    def _make_optimizer(self):
        keras = _keras()
        kwargs = self._routed("optimizer__")
        opt = self.optimizer
        try:
            if isinstance(opt, str):
                return keras.optimizers.get({"class_name": opt, "config": kwargs})
            if isinstance(opt, type):
                return opt(**kwargs)
            return type(opt).from_config({**opt.get_config(), **kwargs})
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Could not build the optimizer {opt!r} with optimizer__ arguments {kwargs}: {exc}"
            ) from exc

    def _meta(self, X):
        meta = {
            "classes_": self.classes_,
            "n_classes_": len(self.classes_),
            "n_features_in_": self.n_features_in_,
            "X_shape_": X.shape,
            "X_dtype_": X.dtype,
            "y_dtype_": self.classes_.dtype,
            "target_type_": "binary" if len(self.classes_) == 2 else "multiclass",
            "n_outputs_": 1,
            "n_outputs_expected_": 1,
        }
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in_"] = self.feature_names_in_
        if self.model is None:
            meta["X_mean_"] = X.mean(axis=0)
            meta["X_var_"] = X.var(axis=0)
        return meta

    def _build_peer(self, meta):
        keras = _keras()
        if isinstance(self.model, keras.Model):
            if self._routed("model__"):
                raise ValueError(
                    f"model__ parameters {sorted(self._routed('model__'))} need a model "
                    "factory; model is a keras.Model instance, which is cloned as it is."
                )
            return keras.models.clone_model(self.model)
        if self.model is None:
            from . import models

            factory = models.mlp if len(meta["X_shape_"]) == 2 else models.cnn
        else:
            factory = self.model
        params = self._routed("model__")
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):  # builtins and some C callables
            signature = None
        available = {
            "meta": meta,
            "compile_kwargs": {
                "optimizer": self._make_optimizer(),
                "loss": "sparse_categorical_crossentropy",
                "metrics": None,
            },
        }
        kwargs = dict(params)
        if signature is not None:
            accepted = signature.parameters
            var_kw = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
            rejected = [k for k in params if k not in accepted and not var_kw]
            if rejected:
                raise TypeError(
                    f"model__{rejected[0]} was given but the model factory "
                    f"{_callable_name(factory)} has no argument {rejected[0]!r}; it "
                    f"accepts {list(accepted)}."
                )
            kwargs.update({k: v for k, v in available.items() if k in accepted or var_kw})
        peer = factory(**kwargs)
        if not isinstance(peer, keras.Model):
            raise TypeError(
                f"The model factory {_callable_name(factory)} must return a keras.Model; "
                f"it returned {type(peer).__name__}."
            )
        return peer

    def _check_output(self, peer, out):
        n_classes = len(self.classes_)
        units = out.shape[-1]
        if out.ndim != 2 or not (units == n_classes or (units == 1 and n_classes == 2)):
            raise ValueError(
                f"The model's output has shape {tuple(out.shape)}, but y has {n_classes} "
                f"classes: the output layer must have n_classes_={n_classes} units"
                + (" (or 1 unit for this binary problem)" if n_classes == 2 else "")
                + "."
            )

    def _detect_from_logits(self, peer, out):
        from ._ensemble import output_activation

        if self.from_logits != "auto":
            return bool(self.from_logits)
        activation = output_activation(peer)
        if activation in ("softmax", "sigmoid"):
            return False
        if activation == "linear":
            return True
        out = np.asarray(out, dtype=np.float64)
        in_unit = np.all((out >= 0) & (out <= 1))
        if out.shape[1] == 1:
            raise ValueError(
                "Cannot tell whether the model's single output unit is a probability "
                "or a logit; set from_logits=True or from_logits=False."
            )
        return not (in_unit and np.allclose(out.sum(axis=1), 1.0, atol=1e-3))

    def _build_model(self, X, n_samples, seed):
        keras = _keras()
        from ._ensemble import PeerEnsemble
        from ._optimizers import fuse

        meta = self._meta(X)
        with _seeded(seed):
            peers = [self._build_peer(meta) for _ in range(self.n_peers)]
        sample = X[: min(len(X), 8)]
        kinds = set()
        for peer in peers:
            out = keras.ops.convert_to_numpy(peer(sample, training=False))
            self._check_output(peer, out)
            kinds.add(self._detect_from_logits(peer, out))
        if len(kinds) > 1:
            raise ValueError("The peers disagree on whether they output logits.")
        kind = "logits" if kinds.pop() else "probabilities"
        ensemble = PeerEnsemble(
            peers,
            output_kind=kind,
            n_samples=n_samples,
            rule=self.strategy,
            rule_options=self._strategy_options(),
            record_proba=len(self.classes_) if self.tau == "auto" else 0,
        )
        ensemble(sample)  # build every layer before compiling
        ensemble.compile(
            optimizer=fuse(self._make_optimizer()), steps_per_execution=self.steps_per_execution
        )
        ensemble.optimizer.build(ensemble.trainable_variables)
        return ensemble

    # ------------------------------------------------------------------
    # Data
    # ------------------------------------------------------------------
    def _validate_X(self, X):
        """Validate ``X`` for prediction / validation against the fitted shape."""
        X = validate_data(
            self,
            X,
            reset=False,
            allow_nd=True,
            dtype=[np.float32, np.float64],
            ensure_min_features=1,
        )
        self._check_sample_shape(X)
        return X.astype(np.float32, copy=False)

    def _check_sample_shape(self, X):
        """Images must keep the shape seen in ``fit`` (``validate_data`` checks axis 1)."""
        if X.shape[1:] != tuple(self.X_shape_[1:]):
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but {type(self).__name__} was "
                f"fitted on samples of shape {tuple(self.X_shape_[1:])}."
            )

    def _encode_y(self, y, classes=None):
        y = np.asarray(y)
        if classes is None:
            classes = self.classes_
        unseen = np.setdiff1d(np.unique(y), classes)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not among the classes "
                f"{classes.tolist()}."
            )
        return np.searchsorted(classes, y).astype(np.int32)

    def _batch_positions(self, n, shuffle_seed=None, first_epoch=0, once=False):
        """Batches of the positions ``0 .. n - 1`` of the samples, one epoch long.

        Without ``shuffle_seed`` the positions are in order.  With it, the
        ``k``-th iteration over the dataset (Keras starts one per epoch) is
        epoch ``first_epoch + k``, in the order of a stateless shuffle seeded
        by ``(shuffle_seed, epoch)``: the order depends on the seed and the
        epoch only, never on TensorFlow's global seed.  With ``once=True``
        every epoch uses the order of epoch 0, ``(shuffle_seed, 0)``.

        The length is declared, so Keras ends every epoch after exactly
        ``ceil(n / batch_size)`` batches even when that is not a multiple of
        ``steps_per_execution``.  (An endless stream with ``steps_per_epoch``
        would not: Keras always runs whole executions, e.g. 480 batches per
        469-batch epoch at ``steps_per_execution=16``.)
        """
        import tensorflow as tf

        size = self.batch_size
        n_batches, n_full = -(-n // size), n // size

        def rows(order):
            # Rows of the reshaped order, not a map call per batch: a map cost
            # ~65 us more per training step (measured).
            batches = tf.data.Dataset.from_tensor_slices(
                tf.reshape(order[: n_full * size], (n_full, size))
            )
            if n_full < n_batches:  # the last, smaller batch
                batches = batches.concatenate(tf.data.Dataset.from_tensors(order[n_full * size :]))
            return batches

        if shuffle_seed is None:
            positions = rows(tf.range(n, dtype=tf.int64))
        elif once:
            seed = tf.constant([shuffle_seed, 0], tf.int64)  # epoch 0's order, every epoch
            order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed)
            positions = rows(order)
        else:
            # Counts the iterations over the dataset; the first one is first_epoch.
            epoch_counter = tf.Variable(first_epoch - 1, dtype=tf.int64, trainable=False)

            def epoch_batches(_):
                epoch = epoch_counter.assign_add(1)
                seed = tf.stack([tf.constant(shuffle_seed, tf.int64), epoch])
                order = tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed)
                return rows(order)

            positions = tf.data.Dataset.from_tensors(0).flat_map(epoch_batches)
            positions = positions.apply(tf.data.experimental.assert_cardinality(n_batches))
        # No tf.data autotuning: with it on, tearing the iterator down at the
        # end of a fit took up to 2 s in one fit out of three (measured on the
        # speed benchmark's MLP, where the whole fit takes ~3.5 s).
        options = tf.data.Options()
        options.autotune.enabled = False
        return positions.with_options(options)

    def _check_validation_data(self, validation_data):
        """Validated ``(X_val, y_val, w_val)`` of ``validation_data``, or None."""
        if validation_data is None:
            return None
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, "
                f"sample_weight_val); got {type(validation_data).__name__}."
            )
        X_val = self._validate_X(validation_data[0])
        y_val = self._encode_y(validation_data[1])
        if len(y_val) != len(X_val):
            raise ValueError(
                f"validation_data has {len(X_val)} samples in X but {len(y_val)} in y."
            )
        w = validation_data[2] if len(validation_data) == 3 else None
        w_val = _check_sample_weight(w, X_val, dtype=np.float32, ensure_non_negative=True)
        return X_val, y_val, w_val

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, validation_data=None):
        """Train the peers with Co-teaching.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, h, w[, c])
            Training data: a table, or images.
        y : array-like of shape (n_samples,)
            Labels, possibly noisy, of any type (int, str, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.  Samples are selected by their unweighted
            loss; the weights then weight each peer's mean loss over the
            selected samples.
        validation_data : tuple (X_val, y_val) or (X_val, y_val, w_val), default=None
            Data to report ``val_loss`` / ``val_accuracy`` on after each epoch
            (overrides ``validation_split``).

        Returns
        -------
        self
            The fitted estimator.
        """
        reset = not (self.warm_start and hasattr(self, "model_"))
        return self._fit(X, y, sample_weight, validation_data, self.epochs, reset, None)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train the peers for one epoch, continuing the forget schedule.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,)
            Labels.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, ignored afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self
            The fitted estimator.
        """
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, None, 1, first, classes if first else None)

    def _fit(self, X, y, sample_weight, validation_data, epochs, reset, classes):
        # A failed call leaves the estimator as it was: fitted with its previous
        # model, or unfitted; never half fitted.
        before = dict(vars(self))
        try:
            return self._fit_unguarded(X, y, sample_weight, validation_data, epochs, reset, classes)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit_unguarded(self, X, y, sample_weight, validation_data, epochs, reset, classes):
        self._validate_all_params()
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            allow_nd=True,
            dtype=[np.float32, np.float64],
            ensure_min_features=1,
        )
        check_classification_targets(y)
        if not reset:
            self._check_sample_shape(X)
        X = X.astype(np.float32, copy=False)
        if reset:
            all_classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if len(all_classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes in y, got only one "
                    f"class: {all_classes.tolist()}."
                )
        else:
            all_classes = self.classes_
        y_enc = self._encode_y(y, all_classes)

        weights = _check_sample_weight(sample_weight, X, dtype=np.float32, ensure_non_negative=True)
        if self.class_weight is not None:
            present = all_classes[np.unique(y_enc)]
            weights = weights * compute_sample_weight(
                {k: v for k, v in self.class_weight.items() if k in present}
                if isinstance(self.class_weight, dict)
                else self.class_weight,
                y,
            ).astype(np.float32)
        if reset and len(np.unique(y_enc[weights > 0])) < 2:
            raise ValueError(
                "Only one class has samples with positive sample_weight; at least 2 "
                "classes are needed."
            )

        n_val = int(np.ceil(self.validation_split * len(X))) if validation_data is None else 0
        if n_val and (n_val >= len(X)):
            raise ValueError(
                f"validation_split={self.validation_split} leaves no training samples "
                f"out of {len(X)}."
            )
        if n_val:  # as Keras: the last samples, before shuffling
            validation_data = (X[-n_val:], y[-n_val:], weights[-n_val:])
            X, y_enc, weights = X[:-n_val], y_enc[:-n_val], weights[:-n_val]

        rng = check_random_state(self.random_state)
        build_seed, shuffle_seed = (int(s) for s in rng.randint(1, 2**31 - 1, size=2))
        if reset:
            # The seed of the training order: a warm start or a partial_fit
            # continues the first fit's stream of orders (or its one order).
            self._shuffle_seed = shuffle_seed
        shuffle_seed = getattr(self, "_shuffle_seed", shuffle_seed)
        if reset:
            for attr in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
                if attr not in ("n_features_in_", "feature_names_in_"):  # set just now
                    delattr(self, attr)
            self.classes_ = all_classes
            self.n_classes_ = len(all_classes)
            self.X_shape_ = X.shape
            val = self._check_validation_data(validation_data)
            self.model_ = self._build_model(X, len(X), build_seed)
            self.peers_ = self.model_.peers
            self.history_ = {}
            self.n_iter_ = 0
        else:
            val = self._check_validation_data(validation_data)
            if len(X) != self.model_.n_samples:
                self.model_.resize_sample_statistics(len(X))

        from ._ensemble import ForgetRateScheduler

        # On a warm start the peers and the optimizer (Adam's moments) go on.
        # The training and validation steps gather their batches from the
        # arrays by position.
        train = self._batch_positions(
            len(X),
            shuffle_seed if self.shuffle else None,
            self.n_iter_,
            once=self.shuffle == "once",
        )
        val_positions = None if val is None else self._batch_positions(len(val[0]))
        self.callbacks_ = [copy.deepcopy(cb) for cb in (self.callbacks or [])]
        if self.tau == "auto":
            scheduler = ForgetRateScheduler(
                getattr(self, "tau_", None),  # estimated once, kept by warm starts
                self.Tk,
                self.c,
                warmup=min(AUTO_TAU_WARMUP, int(np.ceil(self.Tk))),
                estimate=lambda model: _estimate_tau(y_enc, model),
            )
        else:
            scheduler = ForgetRateScheduler(float(self.tau), self.Tk, self.c)
        self.model_.set_training_arrays(X, y_enc, weights)
        self.model_.set_validation_arrays(*(val or ()))
        try:
            with _quiet_retracing():
                history = self.model_.fit(
                    train,
                    epochs=self.n_iter_ + epochs,
                    initial_epoch=self.n_iter_,
                    validation_data=val_positions,
                    callbacks=[scheduler, *self.callbacks_],
                    shuffle=False,  # the dataset shuffles itself, with a seed
                    verbose=self.verbose,
                )
        finally:
            # The fitted model keeps no copy of the data.
            self.model_.set_training_arrays()
            self.model_.set_validation_arrays()
        logs = dict(history.history)
        # The exact rates set rather than their float32 image in the logs.
        self.tau_ = scheduler.tau
        logs["forget_rate"] = [scheduler.rates[e] for e in history.epoch]
        for key, values in logs.items():
            self.history_.setdefault(key, []).extend(float(v) for v in values)
        self.n_iter_ += len(history.epoch)
        stats = self.model_.sample_statistics()
        self.sample_kept_ = stats["kept"]
        self.sample_loss_ = stats["loss"]
        return self

    # ------------------------------------------------------------------
    # Prediction
    # ------------------------------------------------------------------
    def predict_proba(self, X):
        """Mean class probabilities of the peers.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, shaped as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        with _quiet_retracing():
            proba = self.model_.predict(X, batch_size=self.batch_size, verbose=0)
        return np.asarray(proba, dtype=np.float64)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples, shaped as in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True  # images (n, h, w) or (n, h, w, c)
        tags.classifier_tags.multi_class = True
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------
    # Pickling: Keras models travel as .keras archives
    # ------------------------------------------------------------------
    def __getstate__(self):
        state = dict(vars(self))
        if "model_" in state:
            state["model_"] = _serialize_peers(self.model_)
            state.pop("peers_", None)
            # Trained callbacks reference the Keras model; they are not pickled.
            state.pop("callbacks_", None)
        return state

    def __setstate__(self, state):
        blob = state.get("model_")
        vars(self).update(state)
        if isinstance(blob, dict):
            self.model_ = _deserialize_peers(blob, self)
            self.peers_ = self.model_.peers


#: Warm-up epochs (at most ``Tk``) before ``tau="auto"`` estimates the noise rate.
AUTO_TAU_WARMUP = 2

#: Largest forget rate ``tau="auto"`` sets: some samples are always kept.
AUTO_TAU_MAX = 0.9


def _estimate_tau(y_enc, model):
    """Noise rate from the probabilities recorded in the last warm-up epoch."""
    from .noise import estimate_noise_rate

    proba = model.sample_statistics()["proba"]
    return min(estimate_noise_rate(y_enc, proba), AUTO_TAU_MAX)


def _serialize_peers(ensemble):
    archives = []
    with tempfile.TemporaryDirectory() as tmp:
        for p, peer in enumerate(ensemble.peers):
            path = os.path.join(tmp, f"peer{p}.keras")
            peer.save(path)
            with open(path, "rb") as fh:
                archives.append(fh.read())
    return {
        "peers": archives,
        "output_kind": ensemble.output_kind,
        "rule": ensemble.rule_name,
        "rule_options": dict(ensemble.rule_options),  # a plain dict, not Keras-tracked
        "n_samples": ensemble.n_samples,
        "record_proba": ensemble.record_proba,
        # The optimizer's state (step count, learning rate, Adam's moments), so
        # that a warm start after loading goes on as it would have without
        # pickling.  The optimizer itself is rebuilt from the estimator's
        # parameters, which also works for optimizer classes Keras cannot
        # deserialize by name.
        "optimizer_variables": [v.numpy() for v in ensemble.optimizer.variables],
    }


def _deserialize_peers(blob, estimator):
    keras = _keras()
    from ._ensemble import PeerEnsemble
    from ._optimizers import fuse

    peers = []
    with tempfile.TemporaryDirectory() as tmp:
        for p, data in enumerate(blob["peers"]):
            path = os.path.join(tmp, f"peer{p}.keras")
            with open(path, "wb") as fh:
                fh.write(data)
            peers.append(keras.saving.load_model(path, compile=False))
    ensemble = PeerEnsemble(
        peers,
        output_kind=blob["output_kind"],
        n_samples=blob["n_samples"],
        rule=blob["rule"],
        rule_options=blob["rule_options"],
        record_proba=blob.get("record_proba", 0),
    )
    ensemble.compile(
        optimizer=fuse(estimator._make_optimizer()),
        steps_per_execution=estimator.steps_per_execution,
    )
    ensemble.optimizer.build(ensemble.trainable_variables)
    saved = blob.get("optimizer_variables", [])
    if [v.shape for v in saved] == [tuple(v.shape) for v in ensemble.optimizer.variables]:
        for variable, value in zip(ensemble.optimizer.variables, saved):
            variable.assign(value)
    return ensemble
