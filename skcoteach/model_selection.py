"""Grid search over Co-teaching's schedule with the fits of a group trained together.

:class:`CoTeachingGridSearchCV` is scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`
(same arguments, same fitted attributes, same ``cv_results_``) for a
:class:`~skcoteach.CoTeachingClassifier`, alone or as the last step of a
:class:`~sklearn.pipeline.Pipeline`.  Before scikit-learn's own loop scores
the candidates, the (candidate, fold) fits that may share a compiled training
step are trained together (see :mod:`skcoteach.backends.tensorflow._joint`); scikit-learn's loop
then finds each fit done and only scores it.  Everything else (scoring,
ranking, ``refit``, ``error_score``, ``return_train_score``) is
scikit-learn's code.
"""

import numbers
import os
import time
import uuid

import joblib
import numpy as np
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.model_selection import GridSearchCV, ParameterGrid, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.parallel import Parallel, delayed

from ._classifier import CoTeachingClassifier
from ._compat import Interval, StrOptions, num_samples, safe_indexing

__all__ = ["CoTeachingGridSearchCV", "SHARED_PARAMS"]

#: Parameters of the classifier that all fits trained together must share: one
#: optimizer serves them all, and they run the same number of steps.
SHARED_PARAMS = ("optimizer", "epochs", "batch_size", "steps_per_execution")

#: Largest number of fits trained together by ``max_fits_together="auto"``.
AUTO_MAX_FITS = 32

#: Share of the physical memory ``max_fits_together="auto"`` lets the fits of a group use.
AUTO_MEMORY_SHARE = 0.25

# Fits done before scikit-learn's loop, per search: token -> {job key: (estimator, error, time)}.
_DONE = {}


def _data_key(X, y):
    """Hash of a training set's content (scikit-learn's loop passes the same content again)."""
    return joblib.hash((X, y))


def _sequential():
    """joblib's sequential backend for the enclosed code, whatever backend the caller set."""
    config = getattr(joblib, "parallel_config", None)  # joblib >= 1.3
    return config(backend="sequential") if config else joblib.parallel_backend("sequential")


def _job_key(candidate, data_key):
    """Identifies a (candidate, training set) pair."""
    return joblib.hash((sorted(candidate.items()), data_key))


class _Prefitted(BaseEstimator):
    """What scikit-learn's search loop fits: looks the fit up, or fits the estimator itself.

    Parameters
    ----------
    estimator : estimator
        The search's estimator; ``set_params`` calls other than this class's
        own parameters go to it.
    token : str
        Key of the search's finished fits in ``_DONE``.
    """

    _delegated = ("predict", "predict_proba", "predict_log_proba", "decision_function",
                  "classes_", "transform")

    def __init__(self, estimator=None, token=None):
        self.estimator = estimator
        self.token = token

    def set_params(self, **params):
        own = {k: params.pop(k) for k in ("estimator", "token") if k in params}
        super().set_params(**own)
        if params:
            self.estimator.set_params(**params)
            self._candidate = {**getattr(self, "_candidate", {}), **params}
        return self

    def fit(self, X, y=None, **fit_params):
        done = _DONE.get(self.token, {})
        entry = done.get(_job_key(getattr(self, "_candidate", {}), _data_key(X, y))) if done else None
        if entry is None:
            self.fitted_ = self.estimator.fit(X, y, **fit_params)
            return self
        fitted, error, _ = entry
        if error is not None:
            raise error
        self.fitted_ = fitted
        return self

    def score(self, X, y=None, **params):
        """The fitted estimator's ``score`` (the search's default scoring)."""
        return self.fitted_.score(X, y, **params)

    def __getattr__(self, name):
        fitted = self.__dict__.get("fitted_")
        if name in type(self)._delegated and fitted is not None:
            return getattr(fitted, name)
        raise AttributeError(name)

    def __sklearn_tags__(self):
        return get_tags(self.estimator)


def _split_params(estimator, candidate):
    """``(params of the classifier, other params)`` of a candidate, or None if not joint-trainable.

    The classifier is ``estimator`` itself or the last step of a Pipeline.
    """
    if isinstance(estimator, CoTeachingClassifier):
        return dict(candidate), {}
    if isinstance(estimator, Pipeline) and isinstance(estimator.steps[-1][1], CoTeachingClassifier):
        prefix = estimator.steps[-1][0] + "__"
        own = {k[len(prefix) :]: v for k, v in candidate.items() if k.startswith(prefix)}
        other = {k: v for k, v in candidate.items() if not k.startswith(prefix)}
        return own, other
    return None


def _trainable_together(classifier):
    """Whether this classifier's fit can run in a joint step (else it is fitted on its own)."""
    from . import _build
    from .backends import api

    backend = api()
    if not (
        isinstance(classifier.tau, numbers.Real)
        and not classifier.callbacks
        and not classifier.validation_split
        and backend.fit_together is not None
        and not backend.under_distribution()
    ):
        return False
    try:
        optimizer = _build.make_optimizer(classifier)
    except ValueError:
        return False  # its own fit reports the error
    # A global norm couples the jobs' gradients.
    return getattr(optimizer, "global_clipnorm", None) is None


def _shared_key(classifier):
    """What the classifiers trained together must have in common."""
    params = classifier.get_params(deep=False)
    shared = {k: params[k] for k in SHARED_PARAMS}
    shared.update({k: v for k, v in params.items() if k.startswith("optimizer__")})
    return joblib.hash(shared)


def _memory_cap(jobs):
    """Fits trained together by ``max_fits_together="auto"``: memory, then :data:`AUTO_MAX_FITS`.

    Measured on the first fit of the group that builds (a candidate with an
    invalid parameter fails later, in its own fit, as in ``GridSearchCV``).
    """
    for _, _, classifier, X, y in jobs:
        probe = clone(classifier)
        try:
            probe._prepare_fit(X, y)
            break
        except Exception:
            continue
    else:
        return len(jobs)
    n_params = probe.model_.count_params()
    # Weights, two optimizer moments and the gradient; per-sample statistics.
    per_fit = 16 * n_params + 8 * num_samples(X) * (2 + probe.model_.record_proba)
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        memory = 8 * 2**30
    return int(max(1, min(AUTO_MAX_FITS, AUTO_MEMORY_SHARE * memory // per_fit)))


def _fit_group(classifiers, datasets):
    """Train ``classifiers`` together; per classifier ``(error, seconds)`` (time shared equally)."""
    from .backends import api

    start = time.perf_counter()
    errors = api().fit_together(classifiers, datasets)
    seconds = (time.perf_counter() - start) / len(classifiers)
    return classifiers, [(error, seconds) for error in errors]


def _fit_alone(estimator, X, y):
    """Fit one estimator by itself; ``([estimator], [(error, seconds)])``."""
    start = time.perf_counter()
    try:
        estimator.fit(X, y)
        error = None
    except Exception as exc:  # scored by error_score, as scikit-learn does
        error = exc
    return [estimator], [(error, time.perf_counter() - start)]


class CoTeachingGridSearchCV(GridSearchCV):
    """Exhaustive search over a parameter grid, training the fits of a group together.

    A drop-in for ``GridSearchCV(CoTeachingClassifier(...), param_grid, ...)``
    (also when the classifier is the last step of a
    :class:`~sklearn.pipeline.Pipeline`): the same arguments, the same
    fitted attributes (``cv_results_`` with the same keys, ``best_params_``,
    ``best_score_``, ``best_index_``, ``best_estimator_``, ``refit_time_``,
    ``n_splits_``, ``scorer_``, ``multimetric_``) and the same results up to
    float rounding.

    The (candidate, fold) fits whose classifiers share the optimizer and its
    arguments, ``epochs``, ``batch_size``, ``steps_per_execution``, the
    parameters of the pipeline's other steps and the number of mini-batches
    per epoch form a group; the fits of a group are trained together, at most
    ``max_fits_together`` at a time: one compiled step per mini-batch trains
    every fit's peers on that fit's own batch, in its own seeded order, with
    its own ``tau``, ``Tk``, ``c``, ``strategy``, ``strategy__*``,
    ``n_peers``, ``shuffle``, ``model`` / ``model__*`` and
    ``random_state``, and one optimizer update serves all fits.  Every fit
    ends as its own ``fit`` would.  A fit with ``tau="auto"``, callbacks,
    ``validation_split`` or ``optimizer__global_clipnorm``, a pipeline whose
    last step is not a :class:`~skcoteach.CoTeachingClassifier`, and a search
    given fit parameters (e.g. ``sample_weight``) are fitted one by one as
    :class:`~sklearn.model_selection.GridSearchCV` does.

    Under Keras's JAX backend the fits of a group also share the training-set
    size and every parameter but ``tau``, ``Tk``, ``c``, ``shuffle``,
    ``class_weight`` and ``random_state``; one program trains their stacked
    states (user guide, "Grid search").

    Parameters
    ----------
    estimator : CoTeachingClassifier or Pipeline
        The classifier, or a pipeline ending with one.
    param_grid : dict or list of dicts
        As :class:`~sklearn.model_selection.GridSearchCV`.
    scoring, n_jobs, refit, cv, verbose, pre_dispatch, error_score, return_train_score
        As :class:`~sklearn.model_selection.GridSearchCV`.  ``n_jobs`` runs
        the groups (and the fits trained alone) in parallel with joblib.
    max_fits_together : int or "auto", default="auto"
        Largest number of fits trained together; a bigger group is trained in
        chunks.  ``"auto"``: as many as a quarter of the physical memory holds
        (weights, two optimizer moments and the gradient of every fit's peers,
        plus its per-sample statistics, measured on one built fit of the
        group), at most 32 (the compiled step grows with the number of fits,
        and so does the time to trace it), and with ``n_jobs`` workers at most
        a ``1 / n_jobs`` share of the group, so that every worker trains one.

    Attributes
    ----------
    cv_results_, best_estimator_, best_score_, best_params_, best_index_, scorer_, n_splits_, refit_time_, multimetric_
        As :class:`~sklearn.model_selection.GridSearchCV`.  For fits trained
        together, ``mean_fit_time`` / ``std_fit_time`` are each group's wall
        time divided by its number of fits.
    n_fits_together_ : list of int
        Size of every group trained (1 for a fit trained alone).

    See Also
    --------
    sklearn.model_selection.GridSearchCV : The search this class extends.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skcoteach import CoTeachingClassifier
    >>> from skcoteach.model_selection import CoTeachingGridSearchCV
    >>> X, y = load_digits(return_X_y=True)
    >>> search = CoTeachingGridSearchCV(
    ...     CoTeachingClassifier(epochs=3, random_state=0),
    ...     {"tau": [0.2, 0.4], "Tk": [2, 5]}, cv=2,
    ... ).fit(X / 16, y)
    >>> sorted(search.best_params_)
    ['Tk', 'tau']
    """

    _parameter_constraints = {
        **GridSearchCV._parameter_constraints,
        "max_fits_together": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        max_fits_together="auto",
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_fits_together = max_fits_together

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, training the fits of a group together.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,)
            Labels, possibly noisy.
        **params : dict
            ``groups`` for a group splitter; any other fit parameter makes
            every fit run on its own, as in
            :class:`~sklearn.model_selection.GridSearchCV`.

        Returns
        -------
        self
            The fitted search.
        """
        self._validate_params()
        groups = params.get("groups")
        if set(params) - {"groups"} or _split_params(self.estimator, {}) is None:
            self.n_fits_together_ = []
            return super().fit(X, y, **params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, groups))
        candidates = list(ParameterGrid(self.param_grid))
        token = uuid.uuid4().hex
        _DONE[token] = self._fit_all(X, y, candidates, splits)
        saved = (self.estimator, self.cv, self.n_jobs)
        try:
            self.estimator = _Prefitted(saved[0], token)
            self.cv = splits  # the same folds, even for a splitter that shuffles unseeded
            self.n_jobs = None
            with _sequential():  # scoring only: no workers
                super().fit(X, y, **params)
        finally:
            self.estimator, self.cv, self.n_jobs = saved
            done = _DONE.pop(token)
        if hasattr(self, "best_estimator_"):
            self.best_estimator_ = self.best_estimator_.fitted_
        self._report_fit_times(done)
        return self

    def _fit_all(self, X, y, candidates, splits):
        """Fit every (candidate, fold) pair; ``{job key: (fitted, error, seconds)}``."""
        from .backends import api

        backend = api()
        estimator = self.estimator
        data = {}  # (other params, split) -> (X_train, y_train, fitted preprocessing)
        groups = {}  # group key -> list of jobs
        alone = []
        folds = []
        for train, _ in splits:
            X_train, y_train = safe_indexing(X, train), safe_indexing(y, train)
            folds.append((X_train, y_train, _data_key(X_train, y_train)))
        self._job_keys = [[_job_key(c, fold[2]) for fold in folds] for c in candidates]
        for c, candidate in enumerate(candidates):
            _, other = _split_params(estimator, candidate)
            for s, (X_train, y_train, _) in enumerate(folds):
                key = self._job_keys[c][s]
                job_estimator = clone(estimator).set_params(**clone(candidate, safe=False))
                classifier = (
                    job_estimator if not isinstance(job_estimator, Pipeline) else job_estimator[-1]
                )
                if not isinstance(classifier, CoTeachingClassifier) or not _trainable_together(
                    classifier
                ):
                    alone.append((key, job_estimator, X_train, y_train))
                    continue
                other_key = (joblib.hash(sorted(other.items())), s)
                if other_key not in data:
                    data[other_key] = self._transformed(job_estimator, X_train, y_train)
                Xt, pre = data[other_key]
                if pre is not None:
                    job_estimator.steps = [*pre.steps, job_estimator.steps[-1]]
                own_key = backend.group_key(classifier, len(y_train))
                group = (other_key[0], _shared_key(classifier), own_key)
                groups.setdefault(group, []).append((key, job_estimator, classifier, Xt, y_train))

        tasks, keys, self.n_fits_together_ = [], [], []
        workers = joblib.effective_n_jobs(self.n_jobs)
        for jobs in groups.values():
            size = self.max_fits_together
            if size == "auto":
                size = _memory_cap(jobs)
                # Every worker gets a share of the group.
                size = min(size, -(-len(jobs) // workers))
            for start in range(0, len(jobs), size):
                chunk = jobs[start : start + size]
                tasks.append(delayed(_fit_group)([j[2] for j in chunk], [j[3:5] for j in chunk]))
                keys.append([(j[0], j[1]) for j in chunk])
                self.n_fits_together_.append(len(chunk))
        for key, job_estimator, X_train, y_train in alone:
            tasks.append(delayed(_fit_alone)(job_estimator, X_train, y_train))
            keys.append([(key, None)])
            self.n_fits_together_.append(1)
        results = Parallel(n_jobs=self.n_jobs, pre_dispatch=self.pre_dispatch)(tasks)
        done = {}
        for chunk_keys, (fitted, outcomes) in zip(keys, results):
            for (key, job_estimator), classifier, (error, seconds) in zip(
                chunk_keys, fitted, outcomes
            ):
                if job_estimator is None:  # fitted alone: the estimator itself
                    job_estimator = classifier
                elif isinstance(job_estimator, Pipeline):  # a worker returns copies
                    job_estimator.steps[-1] = (job_estimator.steps[-1][0], classifier)
                else:
                    job_estimator = classifier
                done[key] = (job_estimator, error, seconds)
        return done

    @staticmethod
    def _transformed(job_estimator, X_train, y_train):
        """``(X, fitted preprocessing)`` for the classifier: the pipeline's other steps fitted."""
        if not isinstance(job_estimator, Pipeline):
            X_out = X_train
            pre = None
        else:
            pre = job_estimator[:-1]
            X_out = pre.fit_transform(X_train, y_train)
        if isinstance(X_out, np.ndarray) and X_out.dtype == np.float64:
            X_out = X_out.astype(np.float32)  # as every fit would: converted once, shared
        return X_out, pre

    def _report_fit_times(self, done):
        """Per candidate, the mean / std over folds of the time each fit took (shared per group)."""
        results = self.cv_results_
        for i, keys in enumerate(self._job_keys):
            if all(key in done for key in keys):
                times = [done[key][2] for key in keys]
                results["mean_fit_time"][i] = np.mean(times)
                results["std_fit_time"][i] = np.std(times)
        del self._job_keys
