"""The scikit-learn estimator: :class:`CoTeachingClassifier`.

``fit`` is a short list of named steps; the work is done by the private
modules ``_params`` (routed parameters), ``_validation`` (the data),
``_build`` (the peers and their compiled ensemble), ``_training`` (what runs
around Keras's training loop) and ``_persistence`` (pickling).

This module imports neither TensorFlow nor Keras at import time; they are
imported when a model is first built or loaded (``import tensorflow`` alone
takes seconds).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from . import _validation
from ._compat import HasMethods, Interval, StrOptions, import_keras, validate_params
from ._params import RoutedParamsMixin, check_names, routed
from ._persistence import KerasPickleMixin
from ._rule_registry import REGISTRY, check_options

__all__ = ["CoTeachingClassifier"]

#: ``predict_proba`` on at most this many batches calls the peers once, directly.
EAGER_PREDICT_BATCHES = 8


class CoTeachingClassifier(RoutedParamsMixin, KerasPickleMixin, ClassifierMixin, BaseEstimator):
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
    tau : float or "auto", default="auto"
        Final forget rate, ``0 <= tau < 1``; ideally the share of wrong labels.
        Over-estimating it costs little, under-estimating it costs a lot.
        ``"auto"`` (the default; it was ``0.2`` in 0.1.0) estimates it during
        ``fit`` (stored as ``tau_``): the
        peers train with forget rate 0 for a warm-up of at least 2 epochs and
        50 optimizer steps (at most ``Tk`` epochs), then
        the noise rate is estimated by confident learning
        (:func:`skcoteach.noise.estimate_noise_rate`) from the peers'
        probabilities recorded during the last warm-up epoch, each computed
        before the sample's batch was trained on, when the networks have not
        yet memorised wrong labels; the schedule then continues with that rate.
        On the defaults benchmark (six scikit-learn tables, 0 / 20 / 40%
        noise, 5 seeds) it beat ``tau=0.2`` on clean labels (89.2 vs 85.7
        mean clean test accuracy) and at 40% noise (76.6 vs 75.1), and lost
        to it at 20% noise (85.6 vs 87.7), where ``0.2`` is the true rate
        (:ref:`hyperparameters`).  Set a number when you know the rate.
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
    selection : {"global", "per_class"}, default="global"
        Which samples a rule's small-loss selection compares.

        - ``"global"``: the ``R(T)`` share of the whole mini-batch with the
          smallest losses, as in the papers.  A class the networks fit worse
          than the others, a rare class especially, loses more than its share
          of samples, possibly all of them.
        - ``"per_class"``: the ``R(T)`` share with the smallest losses within
          every given label of the mini-batch, rounded so that the batch keeps
          as many samples as ``"global"``; every class keeps its share.

        Applies to every ``strategy`` and under ``tf.distribute`` (each
        replica selects within its share of the batch).

        .. versionadded:: 0.2
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
    shuffle : bool, "once" or "auto", default="auto"
        Order in which every epoch visits the training samples.

        - ``True``: a new random permutation every epoch.
        - ``"once"``: one random permutation, drawn at the first ``fit`` and
          reused by every epoch (also by warm starts and ``partial_fit``), so
          every epoch sees the same mini-batches in the same order.
        - ``False``: the order of ``X``.
        - ``"auto"`` (the default; it was ``True`` in 0.1.0): ``"once"`` for
          ``strategy="coteaching"``, ``True`` for ``"jocor"`` and
          ``"coteaching_plus"``.

        The permutations are seeded by ``random_state``; they never depend
        on TensorFlow's global seed.  Each rule's ``"auto"`` order is the
        one it measured best with on MNIST; prefer ``True`` on a small table
        or with a ``tau`` well above the noise rate.  The measurements are in
        the user guide, "shuffle: the training order".
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
        untouched; the trained copies are ``callbacks_``.  With a
        ``keras.callbacks.BackupAndRestore``, a fit killed mid-way and run
        again resumes where it stopped, to the same result (user guide,
        "Resuming a long fit after a kill").
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, keyed by the original labels; multiplied into
        ``sample_weight``.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues training the
        existing peers (and the optimizer's state) for ``epochs`` more
        epochs, continuing the schedule.  Parameters changed since the first
        fit:

        - apply: ``tau``, ``Tk``, ``c``, ``epochs``, ``batch_size``,
          ``shuffle``, ``validation_split``, ``callbacks``, ``class_weight``,
          ``steps_per_execution``, ``verbose``, the ``strategy__*`` options of
          the same ``strategy`` and the ``optimizer__*`` arguments of the same
          optimizer class (its step count and moments are kept);
        - raise ``ValueError``: ``n_peers``, ``strategy`` and an ``optimizer``
          of another class, which need new peers or a new optimizer state
          (set ``warm_start=False``);
        - have no effect: ``model``, ``model__*`` and ``from_logits`` shape
          new peers only, and ``random_state`` seeds new peers and the first
          fit's training order (which warm starts continue).
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
        The final forget rate used: ``tau``, or with ``tau="auto"`` the
        estimated noise rate capped at 0.9.
    noise_rate_ : float or None
        With ``tau="auto"``: the share of wrong labels estimated after the
        warm-up (before the cap); None when ``tau`` is a number.
    callbacks_ : list of keras.callbacks.Callback
        The copies of ``callbacks`` used by the last ``fit``, holding whatever
        they recorded (not pickled).

    Notes
    -----
    A ``fit`` or ``partial_fit`` that fails (a bad argument, an exception in
    a callback, ``KeyboardInterrupt``, a diverging training) leaves the
    estimator as it was: unfitted, or with its previous peers, optimizer
    state, ``n_iter_`` and ``history_``.  A loss or weights that stop being
    finite raise a ``ValueError`` naming the epoch.

    scikit-learn's ``check_estimator`` passes except for
    ``check_sample_weight_equivalence_on_dense_data`` and
    ``check_sample_weight_equivalence_on_sparse_data``, expected to fail: with
    stochastic mini-batch training a weight of 2 cannot equal a repeated
    sample, which changes the number of steps and every shuffled batch (as
    for scikit-learn's SGD-trained estimators).  Here a weight of 0 equals
    removing the sample from the loss.  ``check_methods_sample_order_invariance``
    and ``check_methods_subset_invariance`` compare probabilities below float32
    resolution and may fail by a last bit.  See the user guide's diagnostics
    page.

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
        "strategy": [StrOptions(set(REGISTRY))],
        "selection": [StrOptions({"global", "per_class"})],
        "optimizer": [str, type, HasMethods(["apply", "get_config"])],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean", StrOptions({"once", "auto"})],
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
        tau="auto",
        Tk=10,
        c=1.0,
        n_peers=2,
        strategy="coteaching",
        selection="global",
        optimizer="adam",
        epochs=50,
        batch_size=128,
        shuffle="auto",
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
        self.selection = selection
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
        return self._fit(
            X, y, sample_weight=sample_weight, validation_data=validation_data,
            epochs=self.epochs, reset=reset,
        )

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
        return self._fit(
            X, y, sample_weight=sample_weight, epochs=1, reset=first,
            classes=classes if first else None,
        )

    def _fit(self, X, y, *, sample_weight=None, validation_data=None, epochs, reset, classes=None):
        # A failed call leaves the estimator as it was: fitted with its previous
        # model (weights and optimizer state included), or unfitted.
        before = dict(vars(self))
        saved = None
        if not reset:
            from ._training import restore, snapshot

            saved = snapshot(self.model_)
        try:
            return self._fit_steps(
                X, y, sample_weight=sample_weight, validation_data=validation_data,
                epochs=epochs, reset=reset, classes=classes,
            )
        except BaseException:
            if saved is not None:
                restore(before["model_"], saved)
            vars(self).clear()
            vars(self).update(before)
            raise

    def _fit_steps(self, X, y, *, sample_weight, validation_data, epochs, reset, classes):
        prepared = self._prepare_fit(
            X, y, sample_weight=sample_weight, validation_data=validation_data,
            reset=reset, classes=classes,
        )
        from . import _training  # imports TensorFlow: after the checks of the input

        history, scheduler, earlier = _training.train(self, prepared, epochs)
        _training.record(self, history, scheduler, earlier)
        return self

    def _prepare_fit(
        self, X, y, *, sample_weight=None, validation_data=None, reset=True, classes=None
    ):
        """Validate everything and build (or warm-start) the peers; the data to train on.

        Also used by :mod:`skcoteach.model_selection`, which trains the
        prepared estimators of a grid search together.

        Returns
        -------
        skcoteach._validation.PreparedFit
            The training arrays, the validation arrays (or None) and the seed of
            the training order.
        """
        from . import _build

        # Parameters and data first: a bad input is reported before TensorFlow loads.
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
        val = self._check_validation_data(validation_data)
        import_keras()  # Keras's backend, or a clear ImportError
        if reset:
            self.model_ = _build.build_model(self, X, rule_options, build_seed)
            self.peers_ = self.model_.peers
            self._optimizer_config = _build.resolved_optimizer(self)
        else:
            _build.apply_warm_start(self, X.shape[0], rule_options)
        return _validation.PreparedFit(X, y_enc, weights, val, shuffle_seed)

    def _check_params(self):
        """Check the parameters, routed names and rule options; the options (no TensorFlow)."""
        validate_params(self)  # the constructor's (routed ones have no constraint)
        check_names(type(self).__name__, self._routed_params, self._get_param_names())
        return check_options(self.strategy, routed(self._routed_params, "strategy__"))

    def _seeds(self, reset):
        """Seeds of the new peers and of the training order.

        A warm start or a ``partial_fit`` continues the first fit's stream of
        orders (or its one order).
        """
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

    def _batch_positions(self, n):
        """The stream of batch positions: see :func:`skcoteach._training.batch_positions`."""
        from ._training import batch_positions

        return batch_positions(n, self.batch_size)

    def _order_of_epochs(self, n, shuffle_seed):
        """``epoch -> order`` of the training samples, as ``shuffle`` says.

        See :func:`skcoteach._training.epoch_order`.
        """
        import functools

        from ._training import epoch_order

        shuffle = self._training_order()
        seed = shuffle_seed if shuffle else None
        return functools.partial(epoch_order, n, seed, once=shuffle == "once")

    def _training_order(self):
        """``shuffle`` with ``"auto"`` resolved: the rule's ``default_order`` in the registry."""
        if isinstance(self.shuffle, str) and self.shuffle == "auto":
            return REGISTRY[self.strategy].default_order
        return self.shuffle

    def _check_validation_data(self, validation_data):
        """Validated ``(X_val, y_val, w_val)`` of ``validation_data``, or None."""
        return _validation.check_validation_data(self, validation_data)

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

        Notes
        -----
        Up to ``8 * batch_size`` samples are predicted in one direct call of
        the peers; more go through Keras's ``predict`` in batches of
        ``batch_size``, whose traced function is traced once per fitted
        model.  A scipy.sparse ``X`` is densified ``8 * batch_size`` rows at
        a time, each chunk in one direct call.
        """
        from ._training import quiet_retracing

        check_is_fitted(self)
        X = _validation.validate_X(self, X)
        chunk = EAGER_PREDICT_BATCHES * self.batch_size
        if sp.issparse(X):  # densified a chunk at a time, never as a whole
            return np.concatenate(
                [
                    np.asarray(self.model_(X[i : i + chunk].toarray(), training=False), np.float64)
                    for i in range(0, X.shape[0], chunk)
                ]
            )
        if len(X) <= chunk:
            # One direct call: tracing Keras's predict function for a new model
            # costs ~0.4 s, far more than a few batches (a cross-validation
            # fold, a grid search's test split).
            proba = self.model_(X, training=False).numpy()
        else:
            with quiet_retracing():
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

    def find_label_issues(self, X, y, **kwargs):
        """Find the training samples whose given labels are most likely wrong.

        Ranks the samples by a label quality combining the peers' probability
        of the given label (``predict_proba``), ``sample_loss_`` and
        ``sample_kept_``, and flags as many as confident learning estimates
        to be mislabelled: the count comes from the data, not from ``tau``.
        Pass the ``X`` and (noisy) ``y`` given to ``fit``, in the same order.
        In a pipeline, call :func:`skcoteach.label_issues.find_label_issues`
        with the pipeline, or ``pipe[-1].find_label_issues(pipe[:-1].transform(X), y)``.
        After a fit with ``validation_split`` pass the whole ``X``: the
        held-out last samples are judged from their probabilities only.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The training samples.
        y : array-like of shape (n_samples,)
            Their given labels, among ``classes_``.
        **kwargs
            ``filter_by``, ``return_indices_ranked_by``, ``as_frame``,
            ``training_statistics``: see
            :func:`skcoteach.label_issues.find_label_issues`.

        Returns
        -------
        ndarray or pandas.DataFrame
            Boolean mask (default), flagged indices worst first, or a table.
        """
        from .label_issues import find_label_issues

        return find_label_issues(self, X, y, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.three_d_array = True  # images (n, h, w) or (n, h, w, c)
        tags.input_tags.sparse = True  # CSR / CSC / COO, densified batch by batch
        tags.classifier_tags.multi_class = True
        tags.non_deterministic = False
        return tags
