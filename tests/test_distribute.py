"""Training under a tf.distribute strategy: MirroredStrategy over 2 logical CPU devices.

The logical devices must be configured before TensorFlow starts, so the fits
run in a fresh interpreter that prints its measurements as JSON.
"""

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow  # trains under MirroredStrategy on two logical devices

SCRIPT = textwrap.dedent(
    """
    import json, pickle

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import numpy as np
    from sklearn.datasets import load_digits

    from skcoteach import CoTeachingClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    out = {"replicas": strategy.num_replicas_in_sync}


    def weights(clf):
        return [w for peer in clf.peers_ for w in peer.get_weights()]


    def max_diff(a, b):
        return max(float(np.abs(u - v).max()) for u, v in zip(weights(a), weights(b)))


    # One SGD step on one full batch of 128 at epoch 0 (forget rate 0), with
    # unequal sample weights, so that the replicas' halves weigh differently.
    step = dict(
        epochs=1, batch_size=128, optimizer="sgd", optimizer__learning_rate=0.5,
        shuffle=False, random_state=0, verbose=0, model__hidden_layer_sizes=[32],
    )
    w = np.random.RandomState(0).uniform(0.2, 3.0, 128)
    w[:64] *= 3  # the first replica's half weighs more
    start = CoTeachingClassifier(**{**step, "optimizer__learning_rate": 0.0})
    start.fit(X[:128], y[:128], sample_weight=w)
    single = CoTeachingClassifier(**step).fit(X[:128], y[:128], sample_weight=w)
    with strategy.scope():
        mirrored = CoTeachingClassifier(**step).fit(X[:128], y[:128], sample_weight=w)
    out["step_moved"] = max_diff(start, single)
    out["step_diff"] = max_diff(single, mirrored)
    out["step_loss"] = [single.history_["loss"][0], mirrored.history_["loss"][0]]

    # A short fit with Adam and a forget schedule; validation under the strategy.
    Xtr, ytr, Xte, yte = X[:1200], y[:1200], X[1200:], y[1200:]
    # Batches of 128 (64 per replica): each replica keeps floor(0.8 * 64) = 51 of its rows;
    # batch_size="auto" would take 32 for these 1,200 rows (12 of 16 per replica: 0.75).
    short = dict(epochs=10, tau=0.2, Tk=5, batch_size=128, random_state=0, verbose=0)
    scores = {}
    for seed in range(2):
        params = {**short, "random_state": seed}
        plain = CoTeachingClassifier(**params).fit(Xtr, ytr)
        with strategy.scope():
            clf = CoTeachingClassifier(**params).fit(Xtr, ytr, validation_data=(Xte, yte))
            inside = clf.predict_proba(Xte)
        scores.setdefault("single", []).append(plain.score(Xte, yte))
        scores.setdefault("mirrored", []).append(clf.score(Xte, yte))
    out.update(scores)
    out["val_accuracy"] = clf.history_["val_accuracy"][-1]
    out["forget_rate"] = clf.history_["forget_rate"]
    out["kept_mean"] = float(clf.sample_kept_.mean())
    out["loss_recorded"] = float(np.count_nonzero(clf.sample_loss_)) / len(Xtr)
    out["steps_per_execution"] = int(clf.model_.steps_per_execution)
    outside = clf.predict_proba(Xte)
    again = pickle.loads(pickle.dumps(clf)).predict_proba(Xte)
    out["proba_inside_vs_outside"] = float(np.abs(inside - outside).max())
    out["proba_pickled"] = float(np.abs(again - outside).max())
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def mirrored():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = [s for s in done.stdout.splitlines() if s.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT") :])


def test_one_step_on_two_replicas_equals_one_device(mirrored):
    assert mirrored["replicas"] == 2
    assert mirrored["step_moved"] > 1e-3  # the step did change the weights
    # Without dividing by the weights selected on both replicas the summed
    # gradients would differ by a factor of 2 and more.
    assert mirrored["step_diff"] < 1e-5
    single, distributed = mirrored["step_loss"]
    assert distributed == pytest.approx(single, rel=1e-5)


def test_a_short_fit_reaches_the_single_device_accuracy(mirrored):
    single = sum(mirrored["single"]) / 2
    distributed = sum(mirrored["mirrored"]) / 2
    assert distributed > 0.7
    assert abs(distributed - single) < 0.05  # two seeds each; runs differ in selection
    assert mirrored["val_accuracy"] == pytest.approx(mirrored["mirrored"][-1], abs=1e-6)
    assert mirrored["forget_rate"][-1] == pytest.approx(0.2)
    assert mirrored["kept_mean"] == pytest.approx(0.8, abs=0.02)  # both replicas' rows
    assert mirrored["loss_recorded"] > 0.99
    assert mirrored["steps_per_execution"] == 1


def test_predictions_under_the_strategy_and_after_pickling(mirrored):
    assert mirrored["proba_inside_vs_outside"] < 1e-6
    assert mirrored["proba_pickled"] < 1e-6
