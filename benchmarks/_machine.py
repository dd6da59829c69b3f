"""Where a benchmark ran: facts shared by ``bench_accuracy.py`` and ``bench_speed.py``."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cpu_model():
    """The CPU's model name from ``/proc/cpuinfo``, or None where there is none."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def git(*args):
    """Output of ``git *args`` in the repository, or None outside a git checkout."""
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=str(REPO), check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
