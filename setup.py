"""Packaging for skcoteach."""

import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "skcoteach" / "__init__.py").read_text(), re.M
).group(1)

# The lowest supported versions, "name==version" a line: the lower bounds of
# install_requires below, and exactly what .ci/run's minimum-versions job installs.
MINIMUM = dict(
    line.split("==")
    for line in map(str.strip, (HERE / ".ci" / "min-versions.txt").read_text().splitlines())
    if line and not line.startswith("#")
)

SCIKERAS = ["scikeras>=0.13"]  # only for the interoperability test and baselines
EXTRAS = {
    "test": [
        "pytest>=7",
        "pytest-xdist>=3",
        "ruff>=0.6",  # .ci/run lints with the rules in pyproject.toml
        "hypothesis>=6",
        "pandas>=1.5",
        *SCIKERAS,
    ],
    "scikeras": SCIKERAS,
    "examples": ["matplotlib>=3.6", "pandas>=1.5"],
    "docs": [
        "sphinx>=7",
        "numpydoc>=1.6",
        "sphinx-gallery>=0.15",
        "pydata-sphinx-theme>=0.15",
        "matplotlib>=3.6",
        "pandas>=1.5",
        "pillow",
        "myst-parser>=2",
    ],
    "benchmarks": ["matplotlib>=3.6", "cleanlab>=2.6", "asv>=0.6"],
    # Engines for many fits at once (docs: Scaling out); CI installs both.
    # Keras's JAX backend (KERAS_BACKEND=jax); jax's own CPU wheel, or its GPU / TPU
    # wheels installed as jax's documentation says.
    "jax": ["jax>=0.4.34"],
    "dask": ["dask[distributed]>=2024.1"],
    "ray": ["ray>=2.9"],
}
EXTRAS["dev"] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name="skcoteach",
    version=VERSION,
    description=(
        "Co-teaching for scikit-learn: train Keras networks on data with noisy labels"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    packages=find_packages(include=["skcoteach", "skcoteach.*"]),
    python_requires=">=3.11",  # Keras >= 3.13 needs it
    install_requires=[
        f"numpy>={MINIMUM['numpy']}",
        f"scikit-learn>={MINIMUM['scikit-learn']}",
        # tensorflow-cpu is half the download of tensorflow on Linux; users with a
        # GPU build of TensorFlow already installed keep theirs (any supported TF).
        f"tensorflow-cpu>={MINIMUM['tensorflow-cpu']}; "
        "platform_system == 'Linux' and platform_machine == 'x86_64'",
        f"tensorflow>={MINIMUM['tensorflow']}; "
        "platform_system != 'Linux' or platform_machine != 'x86_64'",
        f"keras>={MINIMUM['keras']}",
    ],
    extras_require=EXTRAS,
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
