"""Keras's JAX backend (issue 28): the same steps as TensorFlow, a compiled scan, no TensorFlow.

Each test runs Python in a subprocess with ``KERAS_BACKEND`` set, so that it
runs whichever backend this process uses; it is skipped where jax (or, for the
comparison, TensorFlow) is not installed.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent

needs_jax = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed"
)
needs_tensorflow = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="tensorflow is not installed"
)


def _run(backend, *args, code=None):
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, *(["-c", code] if code else []), *map(str, args)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
@needs_jax
@needs_tensorflow
def test_one_step_of_every_rule_matches_tensorflow(tmp_path):
    # From the same weights, on the same batch (with sample weights, forget rate 0.3):
    # the same samples kept and the weights after the step within 1e-5.
    for backend in ("tensorflow", "jax"):
        _run(backend, HERE / "_one_step.py", tmp_path / f"{backend}.npz")
    tf_step, jax_step = (np.load(tmp_path / f"{b}.npz") for b in ("tensorflow", "jax"))
    assert sorted(tf_step.files) == sorted(jax_step.files) and len(tf_step.files) == 27
    for key in tf_step.files:
        if key.endswith("/kept"):
            np.testing.assert_array_equal(jax_step[key], tf_step[key], err_msg=key)
            assert 0 < tf_step[key].mean() < 1, key  # some samples dropped
        else:
            np.testing.assert_allclose(jax_step[key], tf_step[key], atol=1e-5, err_msg=key)


SCAN = """
import sys, json
import numpy as np
from sklearn.datasets import load_digits
from skcoteach import CoTeachingClassifier
X, y = load_digits(return_X_y=True)
X, y = X[:500], y[:500]
out = {}
for steps in (16, 1):
    clf = CoTeachingClassifier(epochs=3, tau=0.3, Tk=2, batch_size=64, steps_per_execution=steps,
                               random_state=0, strategy=sys.argv[1]).fit(X, y)
    out[steps] = {
        "weights": np.concatenate([w.ravel() for p in clf.peers_ for w in p.get_weights()]).tolist(),
        "history": clf.history_, "kept": clf.sample_kept_.tolist(),
    }
out["tensorflow"] = "tensorflow" in sys.modules
json.dump(out, sys.stdout)
"""


@pytest.mark.slow
@needs_jax
@pytest.mark.parametrize("strategy", ["coteaching", "jocor"])
def test_the_compiled_scan_trains_as_one_batch_per_call(strategy):
    # 500 samples in batches of 64: 7 full batches and one of 52.  16 batches per call
    # (one scan, steps past the epoch's end skipped, then the last batch) and one per
    # call give the same weights, logs and kept samples.
    import json

    out = json.loads(_run("jax", strategy, code=SCAN))
    assert out["tensorflow"] is False
    scan, per_batch = out["16"], out["1"]
    np.testing.assert_allclose(scan["weights"], per_batch["weights"], atol=1e-5)
    np.testing.assert_array_equal(scan["kept"], per_batch["kept"])
    for key, values in per_batch["history"].items():
        np.testing.assert_allclose(scan["history"][key], values, rtol=1e-5, atol=1e-6, err_msg=key)
    assert len(per_batch["history"]["loss"]) == 3


NO_TENSORFLOW = """
import sys
import skcoteach
from sklearn.datasets import load_iris
from skcoteach import CoTeachingClassifier
print("after import:", "tensorflow" in sys.modules)
X, y = load_iris(return_X_y=True)
clf = CoTeachingClassifier(epochs=2, random_state=0).fit(X, y)
clf.predict(X)
print("after fit:", "tensorflow" in sys.modules, "jax:", "jax" in sys.modules)
"""


@needs_jax
def test_under_jax_neither_import_nor_fit_imports_tensorflow():
    out = _run("jax", code=NO_TENSORFLOW)
    assert "after import: False" in out
    assert "after fit: False jax: True" in out


FEATURES = """
import json, pickle, subprocess, sys, tempfile, os
import numpy as np
import keras
from sklearn.datasets import load_digits
from skcoteach import CoTeachingClassifier
from skcoteach.saving import load_model
X, y = load_digits(return_X_y=True)
X = X[:600] / 16.0; y = y[:600]
out = {}
# Validation logs equal the same metrics computed by hand on the fitted ensemble.
clf = CoTeachingClassifier(epochs=3, tau=0.2, Tk=2, random_state=0, validation_split=0.2).fit(X, y)
n_val = int(round(len(X) * 0.2))
proba = clf.predict_proba(X[-n_val:])
out["val_accuracy"] = [clf.history_["val_accuracy"][-1], float(np.mean(proba.argmax(1) == y[-n_val:]))]
# Keras's own saving: save, load with skcoteach.saving.load_model, the same probabilities.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "m.keras")
    clf.model_.save(path)
    loaded = load_model(path)
    out["loaded_class"] = type(loaded).__module__
    out["saved_proba_diff"] = float(np.abs(keras.ops.convert_to_numpy(loaded(X[:50])) - clf.predict_proba(X[:50])).max())
    # ModelCheckpoint with its default arguments writes a loadable ensemble.
    CoTeachingClassifier(epochs=2, random_state=0, callbacks=[keras.callbacks.ModelCheckpoint(path)]).fit(X, y)
    out["checkpoint_loads"] = type(load_model(path)).__name__
# shuffle: "once" repeats epoch 0's order, True draws a new one per epoch.
from skcoteach.backends.jax._training import epoch_order
out["once_same"] = bool((epoch_order(50, 7, 3, once=True) == epoch_order(50, 7, 0)).all())
out["true_differs"] = bool((epoch_order(50, 7, 1) != epoch_order(50, 7, 0)).any())
# Pickled, unpickled in another process: the same predictions.
with tempfile.TemporaryDirectory() as tmp:
    np.save(os.path.join(tmp, "X.npy"), X[:50])
    with open(os.path.join(tmp, "clf.pkl"), "wb") as fh:
        pickle.dump(clf, fh)
    code = ("import pickle, numpy as np; c = pickle.load(open('clf.pkl', 'rb')); "
            "np.save('p.npy', c.predict_proba(np.load('X.npy')))")
    subprocess.run([sys.executable, "-c", code], cwd=tmp, check=True, env=os.environ)
    out["pickle_diff"] = float(np.abs(np.load(os.path.join(tmp, "p.npy")) - clf.predict_proba(X[:50])).max())
json.dump(out, sys.stdout)
"""



@pytest.mark.slow
@needs_jax
def test_validation_saving_order_and_pickling_under_jax():
    import json

    out = json.loads(_run("jax", code=FEATURES).strip().splitlines()[-1])
    assert abs(out["val_accuracy"][0] - out["val_accuracy"][1]) < 1e-6
    assert out["loaded_class"] == "skcoteach.backends.jax._ensemble"
    assert out["saved_proba_diff"] < 1e-6
    assert out["checkpoint_loads"] == "PeerEnsemble"
    assert out["once_same"] and out["true_differs"]
    assert out["pickle_diff"] < 1e-6


PREDICTION = """
import json, sys
import numpy as np
import keras
import scipy.sparse as sp
from sklearn.datasets import load_digits
from skcoteach import CoTeachingClassifier
from skcoteach.backends.jax import _predict
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
out = {"diff": 0.0, "shapes_ok": True}
for seed in (0, 1):  # two fitted models of one structure: one prediction program
    clf = CoTeachingClassifier(epochs=1, batch_size=16, tau=0.2, random_state=seed).fit(X[:400], y[:400])
    chunk = 8 * 16
    for n in (1, chunk - 1, chunk, chunk + 1, 3 * chunk + 5):
        direct = keras.ops.convert_to_numpy(clf.model_(X[:n], training=False))
        for rows in (X[:n], sp.csr_matrix(X[:n])):
            proba = clf.predict_proba(rows)
            out["shapes_ok"] &= proba.shape == (n, 10)
            out["diff"] = max(out["diff"], float(np.abs(proba - direct).max()))
out["programs"] = len(_predict._PROGRAMS)
out["executables"] = sorted({len(p.compiled) for p in _predict._PROGRAMS.values()})
json.dump(out, sys.stdout)
"""


@needs_jax
def test_prediction_program_pads_chunks_and_equals_a_direct_call():
    """Any number of rows, dense or sparse: the chunks' padding never reaches the result."""
    import json

    out = json.loads(_run("jax", code=PREDICTION).strip().splitlines()[-1])
    assert out["shapes_ok"]
    assert out["diff"] < 1e-6
    # Chunks of 128 rows, or of the next power of two below: shapes 1 and 128.
    assert out["executables"] == [2]
