"""Hide what TensorFlow's C++ runtime prints while it loads.

:func:`tensorflow_start_up_hidden` redirects file descriptor 2 to a
temporary file while TensorFlow is first imported, then writes back
everything but TensorFlow's start-up lines (absl / glog prefixed lines, the
``absl::InitializeLog`` banner, the CPU-instructions notice).  It depends on
the format of those lines: a line of another format is passed on.  Used by
:func:`skcoteach._compat.import_keras`.  Imports neither TensorFlow nor Keras.
"""

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

__all__ = [
    "DEFAULT_TF_LOG_LEVEL",
    "TENSORFLOW_START_UP_LINES",
    "TF_LOG_LEVEL_VAR",
    "is_tensorflow_start_up_line",
    "tensorflow_start_up_hidden",
]

# ----------------------------------------------------------------------
# TensorFlow: what its C++ runtime prints while it loads
# ----------------------------------------------------------------------
#: The environment variable of TensorFlow's C++ log threshold (0 info, 1 warning,
#: 2 error, 3 fatal), read once, when TensorFlow loads.
TF_LOG_LEVEL_VAR = "TF_CPP_MIN_LOG_LEVEL"

#: Set when the user has not chosen a level: TensorFlow's C++ errors still show.
DEFAULT_TF_LOG_LEVEL = "2"

#: An absl / glog line: severity letter, ``MMDD hh:mm:ss.micros thread file:line]``
#: (before absl is initialised the date is 0000 and the seconds count from the epoch:
#: ``I0000 00:00:1796416103.756605    3808 port.cc:153] ``).
_CPP_LOG_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+ +\d+ [^\s\]]+:\d+\] ")
_CPP_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}

#: Start of the lines without that prefix that TensorFlow prints while it loads,
#: and their severity: absl's banner, and the second line of ``cpu_feature_guard``'s
#: notice.
TENSORFLOW_START_UP_LINES = (
    (b"WARNING: All log messages before absl::InitializeLog() is called", 0),
    (b"To enable the following instructions:", 0),
)

#: Held while file descriptor 2 is redirected: one capture at a time per process
#: (reentrant: a capture within a capture of the same thread nests).
_FD_LOCK = threading.RLock()


def _hidden_below(environ=os.environ):
    """Severity below which start-up lines are dropped; None when nothing is dropped.

    Without ``TF_CPP_MIN_LOG_LEVEL`` every C++ line of the start-up is
    dropped (4).  With it, its value, as TensorFlow reads it (a value that
    is not an integer counts as 0); 0 or less drops nothing.
    """
    value = environ.get(TF_LOG_LEVEL_VAR)
    if value is None:
        return 4
    try:
        level = int(value)
    except ValueError:
        return None
    return level if level > 0 else None


def is_tensorflow_start_up_line(line: bytes, below: int) -> bool:
    """Whether ``line`` is one of TensorFlow's C++ start-up lines of severity < ``below``.

    Parameters
    ----------
    line : bytes
        One line written to file descriptor 2.
    below : int
        Severities 0 (info), 1 (warning), 2 (error), 3 (fatal) below this
        count; 4 counts them all.

    Returns
    -------
    bool
        True for an absl / glog formatted line (``I0000 00:00:... file.cc:12] ...``)
        or one of :data:`TENSORFLOW_START_UP_LINES`, of a severity below
        ``below``; False for anything else (Python's output included).
    """
    match = _CPP_LOG_LINE.match(line)
    if match is not None:
        return _CPP_SEVERITY[match.group(1)] < below
    return any(
        line.startswith(start) and level < below for start, level in TENSORFLOW_START_UP_LINES
    )


def _write_all(fd, data):
    """Write all of ``data`` to ``fd`` (``os.write`` may write part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _flush_stderr():
    stream = sys.stderr
    if stream is not None and callable(getattr(stream, "flush", None)):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or detached: nothing buffered to lose
            pass


@contextlib.contextmanager
def tensorflow_start_up_hidden() -> Iterator[None]:
    """Keep TensorFlow's start-up lines off standard error meanwhile; pass on everything else.

    TensorFlow's C++ runtime writes to file descriptor 2 while it loads: the
    banner "All log messages before absl::InitializeLog() is called are
    written to STDERR", oneDNN's notice, "This TensorFlow binary is
    optimized ...", cuda / cuDNN factory registrations.  Most are written
    before TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``, which then cannot
    silence them.  So, meanwhile, file descriptor 2 goes to a temporary file;
    afterwards it is restored and the captured output is written back to it,
    less those lines.  Anything else written there meanwhile -- Python's
    warnings, tracebacks, other threads' output -- is passed on, in order,
    when the block ends.

    Which lines are dropped:

    * ``TF_CPP_MIN_LOG_LEVEL`` not set: it is set to ``"2"``
      (:data:`DEFAULT_TF_LOG_LEVEL`) for the rest of the process, so that
      TensorFlow's later C++ info and warnings stay quiet and its errors
      show, and every C++ line of the start-up is dropped.
    * set to ``n`` >= 1: the start-up lines of severity < ``n`` (0 info,
      1 warning, 2 error), which is what TensorFlow would have done had it
      read the variable in time.
    * set to 0 (or to something that is not an integer): nothing is
      captured; TensorFlow prints everything.  Set it so to see why
      TensorFlow fails to load: a C++ crash (abort) while capturing takes the
      captured lines with it.

    If the block raises, everything captured is written back, start-up
    lines included (they may explain the error), and the exception
    propagates unchanged.  Where file descriptor 2 cannot be duplicated (it
    is closed) or no temporary file can be made, nothing is captured.
    Captures are serialised within the process (a lock); output of other
    threads written to file descriptor 2 meanwhile is delayed to the end of
    the block, not lost.
    """
    below = _hidden_below()
    os.environ.setdefault(TF_LOG_LEVEL_VAR, DEFAULT_TF_LOG_LEVEL)
    if below is None:
        yield
        return
    with _FD_LOCK:
        _flush_stderr()
        try:
            captured = tempfile.TemporaryFile()
        except OSError:  # no writable temporary directory
            captured = None
        saved = None
        if captured is not None:
            try:
                saved = os.dup(2)
            except OSError:  # no file descriptor 2 to capture
                captured.close()
        if saved is None:
            yield
            return
        failed = True
        try:
            os.dup2(captured.fileno(), 2)
            try:
                yield
                failed = False
            finally:
                _flush_stderr()
                os.dup2(saved, 2)
                captured.seek(0)
                _write_all(
                    2,
                    b"".join(
                        line
                        for line in captured.read().splitlines(keepends=True)
                        if failed or not is_tensorflow_start_up_line(line, below)
                    ),
                )
        finally:
            os.close(saved)
            captured.close()
