"""What a user sees: the demo's output, the progress bar, misspelt names, documented check failures."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp
from .test_estimator_checks import EXPECTED_FAILED_CHECKS

#: Lines TensorFlow writes when it starts, unless told not to.
TENSORFLOW_START_UP = ("absl::InitializeLog", "cpu_feature_guard", "oneDNN", "This TensorFlow binary")


@pytest.mark.tensorflow_only("the demo's plain-Keras baseline reads a tf.data pipeline")
def test_demo_prints_only_its_own_output():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TF_ENABLE"))}
    done = subprocess.run(
        [sys.executable, "-m", "skcoteach.demo", "--epochs", "1"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "Co-teaching, default tau=" in done.stdout and "(the true rate)" in done.stdout
    for marker in TENSORFLOW_START_UP:
        assert marker not in done.stderr + done.stdout, done.stderr


def test_progress_bar_counts_the_batches_trained(digits, capsys):
    X, y, _, _ = digits
    # 150 samples in batches of 10: 15 batches, fewer than one execution of 16.
    CoTeachingClassifier(tiny_mlp, epochs=2, batch_size=10, verbose=1, random_state=0).fit(
        X[:150], y[:150]
    )
    out = capsys.readouterr().out
    counts = [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+)", out)]
    assert (15, 15) in counts
    assert [c for c in counts if c[0] > c[1]] == [], out


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(tua=0.3), r"Unknown parameter\(s\) \['tua'\].*Did you mean 'tau'\?"),
        (dict(model_hidden=8), r"Did you mean 'model__hidden'\?"),
        (dict(model__hiden=8), r"model__hiden was given.*Did you mean 'model__hidden'\?"),
        (
            dict(strategy="jocor", strategy__co_lamda=0.5),
            r"strategy__co_lamda is not an option.*Did you mean 'strategy__co_lambda'\?",
        ),
    ],
)
def test_misspelt_names_raise_value_error_with_a_hint(params, message):
    X, y = np.random.RandomState(0).normal(size=(30, 4)), np.arange(30) % 3
    with pytest.raises(ValueError, match=message):
        CoTeachingClassifier(tiny_mlp, epochs=1, **params).fit(X, y)


def test_expected_check_failures_are_documented():
    for check in EXPECTED_FAILED_CHECKS:
        assert check in CoTeachingClassifier.__doc__
    with open(os.path.join(os.path.dirname(__file__), "..", "docs", "user_guide", "diagnostics.rst")) as fh:
        guide = fh.read()
    assert "check_sample_weight_equivalence_on_dense_data" in guide
    assert "TF_CPP_MIN_LOG_LEVEL" in guide
