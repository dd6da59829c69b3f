"""A fit killed mid-way resumes from keras.callbacks.BackupAndRestore where it stopped.

Each fit runs in its own Python process; the interrupted one is killed with
SIGKILL from a callback right after Keras's checkpoint of an epoch, so nothing
of the estimator survives but the files in ``backup_dir``.
"""

import json
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from skcoteach import CoTeachingClassifier
from skcoteach.backends._resume import STATE_FILE

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
    pytest.mark.slow,  # kills and resumes fits in subprocesses
]

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys

    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    from skcoteach import CoTeachingClassifier

    params, backup, kill_after, out = json.loads(sys.argv[1])
    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16.0, y[:600]


    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == kill_after:  # after BackupAndRestore saved this epoch
                os.kill(os.getpid(), signal.SIGKILL)


    callbacks = [keras.callbacks.BackupAndRestore(backup)] if backup else []
    if kill_after is not None:
        callbacks.append(Kill())
    clf = CoTeachingClassifier(callbacks=callbacks, **params).fit(X, y)
    np.savez(out + ".npz", *[w for peer in clf.peers_ for w in peer.get_weights()])
    with open(out + ".json", "w") as f:
        json.dump(
            {
                "n_iter": clf.n_iter_,
                "history": clf.history_,
                "tau": clf.tau_,
                "noise_rate": clf.noise_rate_,
                "shuffle_seed": clf._shuffle_seed,
                "optimizer_iterations": int(clf.model_.optimizer.iterations.numpy()),
            },
            f,
        )
    """
)

TINY = dict(model__hidden_layer_sizes=[16], epochs=6, batch_size=64, Tk=3, verbose=0)


def _fit(tmp_path, name, params, backup=None, kill_after=None):
    """Run one fit in a fresh interpreter; return its completed process."""
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    args = json.dumps([params, backup and str(backup), kill_after, str(tmp_path / name)])
    return subprocess.run(
        [sys.executable, str(script), args], capture_output=True, text=True, timeout=300
    )


def _result(tmp_path, name):
    weights = np.load(tmp_path / f"{name}.npz")
    with open(tmp_path / f"{name}.json") as f:
        return [weights[k] for k in weights.files], json.load(f)


def _killed_then_resumed(tmp_path, params, kill_after):
    backup = tmp_path / "backup"
    killed = _fit(tmp_path, "killed", params, backup, kill_after)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with open(backup / STATE_FILE) as f:
        saved = json.load(f)
    assert [epoch for epoch, _, _ in saved["epochs"]] == list(range(kill_after + 1))
    resumed = _fit(tmp_path, "resumed", params, backup)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not backup.exists()  # BackupAndRestore deletes its checkpoint when done
    return saved, _result(tmp_path, "resumed")


@pytest.mark.parametrize(
    "params",
    [
        dict(TINY, tau=0.3, shuffle=True, random_state=0),
        dict(TINY, tau="auto", shuffle="once", random_state=1),
    ],
    ids=["reshuffled", "auto-tau-once"],
)
def test_a_killed_fit_resumes_to_the_uninterrupted_result(tmp_path, params):
    whole = _fit(tmp_path, "whole", params)
    assert whole.returncode == 0, whole.stderr[-2000:]
    whole_weights, whole_info = _result(tmp_path, "whole")
    # Killed after epoch 3 of 0-5: past tau="auto"'s warm-up and the ramp (Tk=3).
    _, (weights, info) = _killed_then_resumed(tmp_path, params, kill_after=3)
    for ours, theirs in zip(weights, whole_weights):
        np.testing.assert_array_equal(ours, theirs)
    assert info["n_iter"] == whole_info["n_iter"] == 6
    assert info["optimizer_iterations"] == whole_info["optimizer_iterations"]
    assert info["tau"] == whole_info["tau"]
    assert info["noise_rate"] == whole_info["noise_rate"]
    assert info["shuffle_seed"] == whole_info["shuffle_seed"]
    assert info["history"] == whole_info["history"]  # every log of all 6 epochs


def test_a_resumed_fit_keeps_the_order_drawn_without_random_state(tmp_path):
    params = dict(TINY, tau=0.3, random_state=None)
    saved, (_, info) = _killed_then_resumed(tmp_path, params, kill_after=1)
    assert info["shuffle_seed"] == saved["shuffle_seed"]
    assert info["n_iter"] == 6
    assert info["history"]["forget_rate"][:2] == [rate for _, _, rate in saved["epochs"]]
    assert info["history"]["loss"][:2] == [logs["loss"] for _, logs, _ in saved["epochs"]]


def test_a_finished_fit_leaves_no_checkpoint_and_two_backups_are_refused(tmp_path, digits):
    import keras

    X, y, _, _ = digits
    backup = tmp_path / "backup"
    clf = CoTeachingClassifier(
        callbacks=[keras.callbacks.BackupAndRestore(str(backup))], **{**TINY, "epochs": 2}
    )
    clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.history_["loss"]) == 2
    assert not backup.exists()
    clf.set_params(
        callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / d)) for d in ("a", "b")]
    )
    with pytest.raises(ValueError, match="at most one"):
        clf.fit(X, y)
