"""Data parallelism under Keras's JAX backend: ``keras.distribution.DataParallel`` (issue 28 §7).

The test runs Python in a subprocess with ``KERAS_BACKEND=jax`` and two host
devices forced by ``XLA_FLAGS`` (they must be set before JAX is imported), so
that it runs whichever backend this process uses; it is skipped where jax is
not installed.  In the subprocess the same problem is fitted from the same
seed once on one device and once under ``DataParallel`` over the two devices,
and the compiled training programs are read back to check that they ran
sharded.
"""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed"
)

FITS = r"""
import json, re, sys
import numpy as np
import jax, keras
from skcoteach import CoTeachingClassifier
from skcoteach.backends.jax import _programs

assert jax.device_count() == 2, jax.devices()
rng = np.random.default_rng(0)
X = rng.normal(size=(260, 10)).astype("float32")
y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
flip = rng.random(260) < 0.2
y[flip] = rng.integers(0, 3, flip.sum())
X, y, X_val, y_val = X[:200], y[:200], X[200:], y[200:]  # 60 validation samples
weight = rng.uniform(0.5, 2.0, 200)
X_test = rng.normal(size=(1001, 10)).astype("float32")  # predicted through Keras's predict


def fit(strategy, batch_size):
    _programs._EXECUTABLES.clear()
    clf = CoTeachingClassifier(
        model__hidden_layer_sizes=(16,), strategy=strategy, tau=0.3, Tk=1, epochs=2,
        batch_size=batch_size, steps_per_execution=4, shuffle=True, random_state=0,
    ).fit(X, y, sample_weight=weight, validation_data=(X_val, y_val))
    executables = list(_programs._EXECUTABLES.values())
    texts = [executable.as_text() for executable in executables]
    shardings = jax.tree_util.tree_leaves([e.input_shardings for e in executables])
    return {
        "weights": np.concatenate([np.ravel(w) for p in clf.peers_ for w in p.get_weights()]).tolist(),
        "kept": clf.sample_kept_.tolist(),
        "loss": clf.sample_loss_.tolist(),
        "history": clf.history_,
        "proba": clf.predict_proba(X_test).tolist(),
        "proba_small": clf.predict_proba(X_test[:33]).tolist(),
        "devices": sorted({len(sharding.device_set) for sharding in shardings}),
        "all_reduce": any("all-reduce" in t for t in texts),
        # The rows the forward pass multiplies on one device: x's shard of a batch.
        "rows": sorted({int(n) for t in texts for n in re.findall(r"f32\[(\d+),10\]", t)}),
    }


out = {}
for strategy, batch_size in [("coteaching", 25), ("jocor", 32)]:
    key = f"{strategy}/{batch_size}"
    out[key] = {"one": fit(strategy, batch_size)}
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))
    try:
        out[key]["parallel"] = fit(strategy, batch_size)
    finally:
        keras.distribution.set_distribution(None)
json.dump(out, sys.stdout)
"""


def _run_with_two_devices(code):
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_data_parallel_fit_is_the_one_device_fit_sharded_over_two_devices():
    # 200 samples in batches of 25 (odd: the devices' shares differ by one) for
    # co-teaching and of 32 (6 full and a last one of 8) for JoCoR, with sample weights,
    # tau=0.3 from epoch 1, a shuffled order and 60 validation samples (batches of 25
    # and a last of 10, 32 and 28): under DataParallel over two host devices the same
    # weights (1e-5), the same samples kept, the same logs and probabilities (1001
    # rows through Keras's predict, 33 in one call) as on one device.
    out = _run_with_two_devices(FITS)
    for key, fits in out.items():
        one, parallel = fits["one"], fits["parallel"]
        np.testing.assert_allclose(parallel["weights"], one["weights"], atol=1e-5, err_msg=key)
        np.testing.assert_array_equal(parallel["kept"], one["kept"], err_msg=key)
        assert 0 < np.mean(one["kept"]) < 1, key  # the rule dropped samples
        np.testing.assert_allclose(parallel["loss"], one["loss"], atol=1e-5, err_msg=key)
        assert sorted(parallel["history"]) == sorted(one["history"])
        assert "val_loss" in one["history"] and len(one["history"]["loss"]) == 2
        for name, values in one["history"].items():
            np.testing.assert_allclose(
                parallel["history"][name], values, rtol=1e-5, atol=1e-6, err_msg=f"{key} {name}"
            )
        for proba in ("proba", "proba_small"):
            np.testing.assert_allclose(parallel[proba], one[proba], atol=1e-6, err_msg=key)
        # The programs ran on one device, then partitioned over two: the batch's rows
        # split among the devices (25 padded to 26: 13 rows each; 32: 16) and the
        # gradients summed across them.
        assert one["devices"] == [1] and not one["all_reduce"], key
        assert parallel["devices"] == [2] and parallel["all_reduce"], key
        batch = int(key.split("/")[1])
        assert batch in one["rows"] and batch not in parallel["rows"], key
        assert -(-batch // 2) in parallel["rows"], key
