"""Import time of ``skcoteach`` against scikit-learn's, in fresh interpreters."""

import subprocess
import sys

from . import common


class Import(common.Benchmark):
    """``import skcoteach`` must stay light: TensorFlow loads at the first fit."""

    repeat = 5  # cheap: the median of 5 fresh interpreters

    def timeraw_import_skcoteach(self):
        return "import skcoteach"

    def timeraw_import_sklearn(self):
        return "import sklearn"

    def track_tensorflow_imported(self):
        code = "import sys, skcoteach; print(int(bool({'tensorflow', 'keras'} & set(sys.modules))))"
        return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout.strip())

    track_tensorflow_imported.unit = "imported (1) / not (0)"
