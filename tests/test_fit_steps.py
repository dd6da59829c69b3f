"""``fit`` as named steps (skcoteach._fit.FitSteps): a subclass can override each one."""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skcoteach import CoTeachingClassifier
from skcoteach._fit import TrainingRun
from skcoteach._validation import PreparedFit

X, y = load_iris(return_X_y=True)


class Traced(CoTeachingClassifier):
    """Records the order of the steps and what they exchange."""

    def _prepare_fit(self, X, y, **kwargs):
        self._steps_seen = ["prepare"]  # a public name would be cleared by a new fit
        prepared = super()._prepare_fit(X, y, **kwargs)
        self.prepared_n_ = prepared.X.shape[0]
        return prepared

    def _build_model(self, X, **kwargs):
        self._steps_seen.append("build")
        super()._build_model(X, **kwargs)

    def _train(self, prepared, *, epochs):
        self._steps_seen.append("train")
        assert isinstance(prepared, PreparedFit)
        return super()._train(prepared, epochs=epochs)

    def _record(self, run):
        self._steps_seen.append("record")
        assert isinstance(run, TrainingRun)
        super()._record(run)
        self.epochs_in_run_ = len(run.history.epoch)


def test_steps_run_in_order_and_exchange_records():
    clf = Traced(epochs=2, random_state=0).fit(X, y)
    assert clf._steps_seen == ["prepare", "build", "train", "record"]
    assert clf.prepared_n_ == len(X)
    assert clf.epochs_in_run_ == 2 and clf.n_iter_ == 2


def test_an_overridden_step_changes_nothing_else():
    plain = CoTeachingClassifier(epochs=2, random_state=0).fit(X, y)
    traced = Traced(epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(plain.predict_proba(X), traced.predict_proba(X))
    assert plain.history_ == traced.history_


class FailsToRecord(CoTeachingClassifier):
    fail = True

    def _record(self, run):
        super()._record(run)
        if self.fail:
            raise RuntimeError("the record step failed")


def test_a_failing_step_rolls_the_estimator_back():
    clf = FailsToRecord(epochs=1, random_state=0)
    with pytest.raises(RuntimeError, match="record step"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_") and not hasattr(clf, "history_")
    fitted = FailsToRecord(epochs=1, random_state=0, warm_start=True)
    fitted.fail = False
    fitted.fit(X, y)
    fitted.fail = True
    before = [w.copy() for w in fitted.model_.get_weights()]
    with pytest.raises(RuntimeError, match="record step"):
        fitted.fit(X, y)  # a warm start that fails after training
    assert fitted.n_iter_ == 1
    for old, new in zip(before, fitted.model_.get_weights()):
        np.testing.assert_array_equal(old, new)
