"""The scikit-learn estimator: :class:`CoTeachingClassifier`.

The estimator's face: its parameters, ``fit`` / ``partial_fit``, prediction
and tags.  ``fit`` runs the named steps of :class:`skcoteach._fit.FitSteps`
(prepare, train, record), each overridable; the work is done by the private
modules ``_params`` (routed parameters), ``_validation`` (the data),
``_build`` (the peers and their compiled ensemble), the backend's training
program (:mod:`skcoteach.backends`) and ``_persistence`` (pickling).

No TensorFlow nor Keras at import time: they are imported when a model is
first built or loaded (``import tensorflow`` alone takes seconds).
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from . import _validation
from ._compat import HasMethods, Interval, StrOptions
from ._fit import FitSteps
from ._params import RoutedParamsMixin
from ._persistence import KerasPickleMixin
from ._rule_registry import REGISTRY
from .backends import SPARSE, configured

__all__ = ["CoTeachingClassifier"]

class CoTeachingClassifier(
    FitSteps, RoutedParamsMixin, KerasPickleMixin, ClassifierMixin, BaseEstimator
):
    """Classifier trained with Co-teaching, robust to noisy labels.

    Co-teaching (Han et al., NeurIPS 2018) trains ``n_peers`` networks at once.
    In every mini-batch each peer ranks the samples by their loss and its peer
    is updated on the ``R(T)`` share with the smallest loss, where the kept
    fraction at epoch ``T`` (0-based) is

    ``R(T) = 1 - tau * min((T / Tk) ** c, 1)``.

    Networks fit clean patterns before they memorise wrong labels, so the
    large-loss samples are mostly the mislabelled ones.

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
          Whether the peer compiles itself does not matter.
        - A :class:`keras.Model`, cloned with fresh weights for every peer.
        - ``None``: :func:`skcoteach.models.mlp` for 2-D ``X`` and
          :func:`skcoteach.models.cnn` for images of shape ``(n, h, w)`` or
          ``(n, h, w, channels)``.
    tau : float or "auto", default="auto"
        Final forget rate, ``0 <= tau < 1``; ideally the share of wrong labels.
        Over-estimating it costs little, under-estimating it costs a lot.
        ``"auto"`` estimates it during ``fit`` (stored as ``tau_``): after a
        warm-up with forget rate 0 (at least 2 epochs and 50 optimizer steps,
        at most ``Tk`` epochs), by confident learning
        (:func:`skcoteach.noise.estimate_noise_rate`) on the peers'
        probabilities of the last warm-up epoch.  Set a number when you know
        the rate; :ref:`hyperparameters` compares the two.

        .. versionchanged:: 0.2
           The default is ``"auto"`` (it was ``0.2``).
    Tk : int, default=10
        Number of epochs over which the forget rate grows to ``tau``.
    c : float, default=1.0
        Exponent of the growth (``1`` is linear).
    n_peers : int, default=2
        Number of peer networks.  With two peers this is Co-teaching; with
        more, each peer is updated on the samples that the mean loss of the
        other peers ranks smallest.
    strategy : {"coteaching", "coteaching_plus", "jocor"}, default="coteaching"
        Update rule, defined in :mod:`skcoteach.rules`: ``"coteaching"``
        (each peer is updated on its peer's small-loss samples),
        ``"coteaching_plus"`` (Yu et al., 2019: only the samples on which the
        peers disagree, after ``strategy__init_epochs``) or ``"jocor"`` (Wei
        et al., 2020: both peers on the samples of smallest joint loss,
        weighted by ``strategy__co_lambda``).  Options of the rule are routed
        as ``strategy__<name>``.
    selection : {"class_floor", "global", "per_class"}, default="class_floor"
        Which samples a rule's small-loss selection compares (user guide,
        :ref:`imbalance`); the batch keeps as many samples with each.

        - ``"class_floor"``: every rare given label of the batch (below 0.9 of
          a balanced share of the training labels) first keeps its
          ``ceil(R(T) * sqrt(n_c))`` smallest losses, then ``"global"``.
        - ``"global"``: the ``R(T)`` share of the whole mini-batch with the
          smallest losses, as in the papers; a rare class may lose all.
        - ``"per_class"``: that share within every given label of the batch.

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
    batch_size : int or "auto", default="auto"
        Size of the mini-batches; ``"auto"``: 32 to 128 by the number of training
        rows (:func:`skcoteach.schedules.auto_batch_size`), see ``batch_size_``.

        .. versionchanged:: 0.2
           Default ``"auto"`` (was 128, too few steps per epoch on small data).
    shuffle : bool, "once" or "auto", default="auto"
        Order in which every epoch visits the training samples.

        - ``True``: a new random permutation every epoch.
        - ``"once"``: one random permutation, drawn at the first ``fit`` and
          reused by every epoch (also by warm starts and ``partial_fit``), so
          every epoch sees the same mini-batches in the same order.
        - ``False``: the order of ``X``.
        - ``"auto"``: the rule's own default order, ``"once"`` for
          ``strategy="coteaching"``, ``True`` for ``"jocor"`` and
          ``"coteaching_plus"`` (user guide, "shuffle: the training order").

        The permutations are seeded by ``random_state``, never by the
        backend's global seed.

        .. versionchanged:: 0.2
           The default is ``"auto"`` (it was ``True``).
    from_logits : bool or "auto", default="auto"
        Whether the peers output logits rather than probabilities.  "auto"
        reads the output layer's activation, else checks whether outputs on
        training samples are probability vectors.
    validation_split : float, default=0.0
        Share of the training data held out, as in Keras: the *last* samples
        (before shuffling).  Validation loss and accuracy of the averaged
        peers appear in ``history_`` as ``val_loss`` and ``val_accuracy``.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Keras callbacks, deep-copied at each ``fit`` (the copies are
        ``callbacks_``).  With a ``keras.callbacks.BackupAndRestore``, a fit
        killed mid-way and run again resumes where it stopped, to the same
        result (:ref:`resuming`).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, keyed by the original labels; multiplied into
        ``sample_weight``.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues training the
        existing peers (and the optimizer's state) for ``epochs`` more
        epochs, continuing the schedule.  Changing ``n_peers``, ``strategy``
        or the optimizer's class since the first fit raises ``ValueError``;
        ``model``, ``model__*``, ``from_logits`` and ``random_state`` shape
        new peers only; every other parameter applies
        (:ref:`warm-start-parameters`).
    steps_per_execution : int, default=16
        Mini-batches run per call of the compiled training function (Keras's
        ``steps_per_execution``); larger values cut Python overhead.
    verbose : int, default=0
        0 silent, 1 Keras's progress bar (with the forget rate), 2 one line each epoch.
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
    batch_size_ : int
        The mini-batch size: ``batch_size``, or the first fit's resolved ``"auto"``.
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
    ``check_sample_weight_equivalence_on_dense_data``,
    ``check_sample_weight_equivalence_on_sparse_data`` (no mini-batch-trained
    estimator can pass them), ``check_methods_sample_order_invariance`` and
    ``check_methods_subset_invariance`` (float32 probabilities compared below
    float32 resolution); the user guide's diagnostics page says why.

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
        "selection": [StrOptions({"global", "per_class", "class_floor"})],
        "optimizer": [str, type, HasMethods(["apply", "get_config"])],
        "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
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
        selection="class_floor",
        optimizer="adam",
        epochs=50,
        batch_size="auto",
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
        # Not public attributes (scikit-learn's are the signature's); get_params merges them.
        self._routed_params = routed_params

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
        In chunks of ``8 * batch_size_`` samples (sparse ones densified), by
        direct calls (TensorFlow) or one program per structure (JAX).

        .. versionchanged:: 0.2
           Also above ``8 * batch_size_`` samples (then Keras's ``predict``).
        """
        from .backends import api

        check_is_fitted(self)
        X = _validation.validate_X(self, X)
        return api().predict_proba(self.model_, X, self.batch_size_)

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

        Pass the ``X`` and (noisy) ``y`` given to ``fit``, in the same order; see
        :func:`skcoteach.label_issues.find_label_issues` (which takes pipelines too).

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            The training samples.
        y : array-like of shape (n_samples,)
            Their given labels, among ``classes_``.
        **kwargs
            ``filter_by``, ``return_indices_ranked_by``, ``as_frame``,
            ``training_statistics``, ``cv``, ``n_jobs`` of that function.

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
        tags.input_tags.sparse = configured() in SPARSE  # CSR / CSC / COO, batch by batch
        tags.classifier_tags.multi_class = True
        tags.non_deterministic = False
        return tags
