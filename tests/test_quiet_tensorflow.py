"""TensorFlow's C++ start-up lines stay off the terminal; Python's warnings and errors do not.

The subprocess tests run with ``TF_CPP_MIN_LOG_LEVEL`` unset and capture the
child's standard error at the file-descriptor level, where TensorFlow's C++
runtime writes.  On this project's CPU machine (TensorFlow 2.21) a plain
``import tensorflow`` prints, twice over for the banner and oneDNN::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796416103.756605    3808 port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:1796416103.938080    3808 cpu_feature_guard.cc:227] This TensorFlow binary ...
    To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, ...

and GPU builds add ``E0000 ... Unable to register cuDNN factory`` lines.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

from skcoteach import _quiet_start

pytestmark = pytest.mark.tensorflow_only(
    "TensorFlow's start-up output"
)


#: Parts of the lines TensorFlow's C++ runtime prints while it starts.
START_UP_MARKERS = (
    "oneDNN",
    "cuda",
    "cuDNN",
    "absl::InitializeLog",
    "This TensorFlow binary",
    "cpu_feature_guard",
    "To enable the following instructions",
    "I0000",
    "E0000",
    "W0000",
)

#: A line of absl / glog's format, whatever its date.
CPP_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] ", re.MULTILINE)

FIT_AND_PICKLE = """
import os, pickle, sys, warnings
import numpy as np
from skcoteach import CoTeachingClassifier

def factory(meta, hidden_layer_sizes):
    # User code that runs during fit, after skcoteach has imported TensorFlow.
    warnings.warn("user factory warning during fit", UserWarning)
    from skcoteach.models import mlp
    return mlp(meta, hidden_layer_sizes=hidden_layer_sizes)

rng = np.random.RandomState(0)
X, y = rng.normal(size=(30, 4)), np.arange(30) % 2
clf = CoTeachingClassifier(epochs=1, model__hidden_layer_sizes=(4,), random_state=0)
clf.fit(X, y)  # the first import of TensorFlow in this process
clf.predict(X)
CoTeachingClassifier(factory, epochs=1, model__hidden_layer_sizes=(4,)).fit(X, y)
with open(sys.argv[1], "wb") as fh:
    pickle.dump((clf, X), fh)
print("TF_CPP_MIN_LOG_LEVEL=" + os.environ.get("TF_CPP_MIN_LOG_LEVEL", "<unset>"))
"""

UNPICKLE_AND_PREDICT = """
import pickle, sys
with open(sys.argv[1], "rb") as fh:
    clf, X = pickle.load(fh)  # the first import of TensorFlow in this process
print(clf.predict(X).shape)
"""


def _run(code, *args, **env):
    """Run ``code`` in a fresh Python without TF_CPP_* variables; its CompletedProcess."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,  # pipes: what the child writes to its fd 2 lands here
        text=True,
        env=environ,
        timeout=300,
    )


def _assert_no_start_up_lines(stderr):
    for marker in START_UP_MARKERS:
        assert marker not in stderr, stderr
    assert not CPP_LOG_LINE.search(stderr), stderr


@pytest.fixture(scope="module")
def fit_then_unpickle(tmp_path_factory):
    """A fit, then an unpickling in another process, each importing TensorFlow first."""
    path = str(tmp_path_factory.mktemp("quiet") / "clf.pkl")
    fitted = _run(FIT_AND_PICKLE, path)
    assert fitted.returncode == 0, fitted.stderr
    loaded = _run(UNPICKLE_AND_PREDICT, path)
    assert loaded.returncode == 0, loaded.stderr
    return fitted, loaded


def test_fit_prints_no_tensorflow_start_up_lines(fit_then_unpickle):
    fitted, _ = fit_then_unpickle
    _assert_no_start_up_lines(fitted.stderr)


def test_python_warning_of_user_code_during_fit_still_shows(fit_then_unpickle):
    fitted, _ = fit_then_unpickle
    assert "UserWarning: user factory warning during fit" in fitted.stderr, fitted.stderr


def test_log_level_is_set_only_when_unset(fit_then_unpickle):
    fitted, _ = fit_then_unpickle
    assert "TF_CPP_MIN_LOG_LEVEL=2" in fitted.stdout
    chosen = _run(
        "import os; from skcoteach import _compat; _compat.import_keras(); "
        "print(os.environ['TF_CPP_MIN_LOG_LEVEL'])",
        TF_CPP_MIN_LOG_LEVEL="0",
    )
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.strip() == "0"


def test_unpickling_predicts(fit_then_unpickle):
    _, loaded = fit_then_unpickle
    assert loaded.stdout.strip() == "(30,)"


def test_unpickling_prints_no_tensorflow_start_up_lines(fit_then_unpickle):
    _, loaded = fit_then_unpickle
    _assert_no_start_up_lines(loaded.stderr)


def test_python_output_during_the_start_up_passes_in_order():
    done = _run(
        """
        import sys, warnings
        from skcoteach._quiet_start import tensorflow_start_up_hidden
        with tensorflow_start_up_hidden():
            warnings.warn("a warning while TensorFlow loads", UserWarning)
            import tensorflow
            print("a line of the user on stderr", file=sys.stderr)
        print("after", file=sys.stderr)
        """
    )
    assert done.returncode == 0, done.stderr
    _assert_no_start_up_lines(done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "UserWarning: a warning while TensorFlow loads" in lines[0], done.stderr
    assert lines[-2:] == ["a line of the user on stderr", "after"], done.stderr


def test_import_error_still_reaches_the_user_and_stderr_is_restored(tmp_path):
    # A TensorFlow that fails to load, after a C++ diagnostic, as a broken install does.
    (tmp_path / "tensorflow").mkdir()
    (tmp_path / "tensorflow" / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'E0000 00:00:1.0    1 loader.cc:1] cannot load libtensorflow\\n')\n"
        "raise ImportError('libtensorflow_framework.so.2: cannot open shared object file')\n"
    )
    done = _run(
        """
        import sys
        from skcoteach._compat import import_keras
        try:
            import_keras()
        except ImportError as exc:
            print("ImportError:", exc, file=sys.stderr)
        print("stderr still works", file=sys.stderr)
        """,
        PYTHONPATH=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "E0000 00:00:1.0    1 loader.cc:1] cannot load libtensorflow",  # kept: it failed
        "ImportError: libtensorflow_framework.so.2: cannot open shared object file",
        "stderr still works",
    ], done.stderr


# ----------------------------------------------------------------------
# The filter, in this process, on lines of TensorFlow's formats (no TensorFlow needed)
# ----------------------------------------------------------------------
BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
INFO = b"I0000 00:00:1796416103.756605    3808 port.cc:153] oneDNN custom operations are on.\n"
NOTICE = b"To enable the following instructions: AVX2 FMA, in other operations, rebuild.\n"
WARNING = b"W0000 00:00:1796416103.9    3808 gpu_device.cc:2344] Cannot dlopen GPU libraries.\n"
ERROR = (
    b"E0000 00:00:1796416103.9    3808 cuda_dnn.cc:8310] Unable to register cuDNN factory: "
    b"Attempting to register factory for plugin cuDNN when one has already been registered\n"
)
DATED = b"I1217 10:15:42.123456   12345 cpu_feature_guard.cc:210] This TensorFlow binary\n"
USER = b"mine.py:3: UserWarning: my own warning\n"


def _through(capfd, monkeypatch, level, fail=False):
    """What reaches fd 2 of the start-up lines and a user line written within the block."""
    if level is None:
        monkeypatch.delenv(_quiet_start.TF_LOG_LEVEL_VAR, raising=False)
    else:
        monkeypatch.setenv(_quiet_start.TF_LOG_LEVEL_VAR, level)
    capfd.readouterr()
    try:
        with _quiet_start.tensorflow_start_up_hidden():
            for line in (BANNER, INFO, DATED, NOTICE, USER, WARNING, ERROR):
                os.write(2, line)
            if fail:
                raise RuntimeError("failed while loading")
    except RuntimeError:
        pass
    os.write(2, b"after\n")
    return capfd.readouterr().err


def test_unset_level_drops_every_start_up_line_and_sets_2(capfd, monkeypatch):
    err = _through(capfd, monkeypatch, None)
    assert err == USER.decode() + "after\n"
    assert os.environ[_quiet_start.TF_LOG_LEVEL_VAR] == "2"


@pytest.mark.parametrize(
    "level, shown",
    [
        ("1", [USER, WARNING, ERROR]),
        ("2", [USER, ERROR]),
        ("3", [USER]),
        ("0", [BANNER, INFO, DATED, NOTICE, USER, WARNING, ERROR]),  # nothing captured
        ("not a number", [BANNER, INFO, DATED, NOTICE, USER, WARNING, ERROR]),  # TF reads 0
    ],
)
def test_a_level_the_user_set_is_kept_and_honoured(capfd, monkeypatch, level, shown):
    err = _through(capfd, monkeypatch, level)
    assert err == b"".join(shown).decode() + "after\n"
    assert os.environ[_quiet_start.TF_LOG_LEVEL_VAR] == level


def test_on_error_everything_captured_is_passed_on(capfd, monkeypatch):
    err = _through(capfd, monkeypatch, None, fail=True)
    assert err == b"".join([BANNER, INFO, DATED, NOTICE, USER, WARNING, ERROR]).decode() + "after\n"
