"""Loaders of benchmark data sets: MNIST, Fashion-MNIST and a text corpus.

:func:`load_stdlib_docstrings` reads a labelled text corpus from the Python
installation itself (the docstrings of some standard-library packages): it
needs no file and no download.

The two image loaders return the ``keras.datasets`` layout and look for the
data in this order:

1. the ``path`` argument: a ``.npz`` file, or a directory containing
   ``mnist.npz`` / ``fashion_mnist.npz``;
2. the environment variable ``SKCOTEACH_MNIST`` / ``SKCOTEACH_FASHION_MNIST``
   (path of the ``.npz`` file);
3. the environment variable ``SKCOTEACH_DATA`` (a directory holding
   ``mnist.npz`` and/or ``fashion_mnist.npz``);
4. ``keras.datasets.<name>.load_data()``, which downloads the data on first
   use.  Keras (and TensorFlow) are only imported in this last case.

A ``.npz`` file must contain the arrays ``x_train``, ``y_train``, ``x_test``
and ``y_test`` (images of shape (n, 28, 28) and dtype uint8, integer labels),
as written by ``np.savez(path, x_train=..., y_train=..., x_test=...,
y_test=...)``.
"""

from __future__ import annotations

import os
import sysconfig
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ._stdlib_corpus import check_packages, collect_docstrings, stdlib_packages

if TYPE_CHECKING:
    from sklearn.utils import Bunch

__all__ = ["STDLIB_PACKAGES", "load_fashion_mnist", "load_mnist", "load_stdlib_docstrings"]

_KEYS = ("x_train", "y_train", "x_test", "y_test")
_DATA_DIR_VAR = "SKCOTEACH_DATA"
# name -> (file name, environment variable with the file path)
_DATASETS = {
    "mnist": ("mnist.npz", "SKCOTEACH_MNIST"),
    "fashion_mnist": ("fashion_mnist.npz", "SKCOTEACH_FASHION_MNIST"),
}


def _resolve_file(path, filename, source):
    """Return the .npz file designated by ``path`` (a file or a directory)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, filename)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such file: {path!r} ({source}).")
    return path


def _find_file(name, path):
    """Local .npz file for data set ``name``, or None to fall back to Keras."""
    filename, file_var = _DATASETS[name]
    if path is not None:
        return _resolve_file(path, filename, "given as path")
    if os.environ.get(file_var):
        return _resolve_file(os.environ[file_var], filename, f"from ${file_var}")
    if os.environ.get(_DATA_DIR_VAR):
        return _resolve_file(
            os.path.join(os.environ[_DATA_DIR_VAR], filename),
            filename,
            f"from ${_DATA_DIR_VAR}; unset it to download with Keras instead",
        )
    return None


def _check_split(x, y, split, path):
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(
            f"{path!r}: x_{split} must be a uint8 array of shape (n, 28, 28); "
            f"got dtype {x.dtype} and shape {x.shape}."
        )
    if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
        raise ValueError(
            f"{path!r}: y_{split} must be an integer array of shape "
            f"({x.shape[0]},) matching x_{split}; got dtype {y.dtype} and "
            f"shape {y.shape}."
        )


def _load_npz(path):
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path!r} is not a readable .npz archive: {exc}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path!r} is a single .npy array, not a .npz archive with the keys "
            f"{list(_KEYS)}."
        )
    with archive:
        missing = [key for key in _KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path!r} must contain the arrays {list(_KEYS)}; missing "
                f"{missing}, found {sorted(archive.files)}."
            )
        x_train, y_train, x_test, y_test = (archive[key] for key in _KEYS)
    _check_split(x_train, y_train, "train", path)
    _check_split(x_test, y_test, "test", path)
    return (x_train, y_train), (x_test, y_test)


def _load_with_keras(name):
    filename, file_var = _DATASETS[name]
    hint = (
        f"To use a local copy, call load_{name}(path='/some/dir/{filename}') "
        f"(or pass its directory), or set the environment variable {file_var} "
        f"to the file or {_DATA_DIR_VAR} to its directory."
    )
    try:
        import keras
    except ImportError as exc:
        raise ImportError(
            f"No local {filename} was found and Keras, needed to download it, "
            f"cannot be imported ({exc}). {hint}"
        ) from exc
    try:
        return getattr(keras.datasets, name).load_data()
    except Exception as exc:  # network, proxy, checksum or cache errors
        raise RuntimeError(
            f"Downloading {name} with keras.datasets.{name}.load_data() failed: "
            f"{exc!r}. {hint}"
        ) from exc


def _load(name, path):
    file = _find_file(name, path)
    if file is None:
        return _load_with_keras(name)
    return _load_npz(file)


def load_mnist(
    path: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the MNIST handwritten digits.

    Parameters
    ----------
    path : str or os.PathLike, default=None
        A ``.npz`` file with the arrays ``x_train``, ``y_train``, ``x_test``
        and ``y_test``, or a directory containing ``mnist.npz``.  If None, the
        environment variables ``SKCOTEACH_MNIST`` (file) and then
        ``SKCOTEACH_DATA`` (directory) are used, and otherwise the data are
        downloaded with ``keras.datasets.mnist.load_data()``.

    Returns
    -------
    train : tuple of (ndarray, ndarray)
        ``(x_train, y_train)``: uint8 images of shape (n_train, 28, 28) and
        their integer labels 0-9, of shape (n_train,).
    test : tuple of (ndarray, ndarray)
        ``(x_test, y_test)``, likewise.  This is the layout of
        ``keras.datasets.mnist.load_data()`` (60000 training and 10000 test
        images for the full data set).

    Raises
    ------
    FileNotFoundError
        If ``path`` or the file named by an environment variable does not
        exist.
    ValueError
        If the file is not a ``.npz`` archive, lacks one of the required keys
        (the message lists the keys found) or has arrays of the wrong shape or
        dtype.
    ImportError
        If no local file is configured and Keras is not installed.
    RuntimeError
        If no local file is configured and the Keras download fails; the
        message explains how to use a local copy.

    Examples
    --------
    >>> from skcoteach.datasets import load_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_mnist(
    ...     "/data/mnist.npz")  # doctest: +SKIP
    >>> x_train.shape, x_train.dtype, y_test.shape  # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'), (10000,))
    """
    return _load("mnist", path)


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the Fashion-MNIST clothing images (Zalando Research).

    Parameters
    ----------
    path : str or os.PathLike, default=None
        A ``.npz`` file with the arrays ``x_train``, ``y_train``, ``x_test``
        and ``y_test``, or a directory containing ``fashion_mnist.npz``.  If
        None, the environment variables ``SKCOTEACH_FASHION_MNIST`` (file) and
        then ``SKCOTEACH_DATA`` (directory) are used, and otherwise the data
        are downloaded with ``keras.datasets.fashion_mnist.load_data()``.

    Returns
    -------
    train : tuple of (ndarray, ndarray)
        ``(x_train, y_train)``: uint8 images of shape (n_train, 28, 28) and
        their integer labels 0-9, of shape (n_train,).
    test : tuple of (ndarray, ndarray)
        ``(x_test, y_test)``, likewise.  This is the layout of
        ``keras.datasets.fashion_mnist.load_data()`` (60000 training and
        10000 test images for the full data set).

    Raises
    ------
    FileNotFoundError
        If ``path`` or the file named by an environment variable does not
        exist.
    ValueError
        If the file is not a ``.npz`` archive, lacks one of the required keys
        (the message lists the keys found) or has arrays of the wrong shape or
        dtype.
    ImportError
        If no local file is configured and Keras is not installed.
    RuntimeError
        If no local file is configured and the Keras download fails; the
        message explains how to use a local copy.

    Examples
    --------
    >>> from skcoteach.datasets import load_fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist(
    ...     "/data")  # doctest: +SKIP
    >>> x_test.shape, y_train[:3]  # doctest: +SKIP
    ((10000, 28, 28), array([9, 0, 0]))
    """
    return _load("fashion_mnist", path)


# --------------------------------------------------------------------------
# A text corpus from the standard library
# --------------------------------------------------------------------------
#: The packages of :func:`load_stdlib_docstrings` by default: pure-Python
#: packages of every CPython 3.11 or later, each about one topic.
STDLIB_PACKAGES = (
    "asyncio",
    "email",
    "http",
    "importlib",
    "logging",
    "multiprocessing",
    "unittest",
    "xml",
)

def load_stdlib_docstrings(
    *, packages: Sequence[str] = STDLIB_PACKAGES, min_words: int = 5, return_X_y: bool = False
) -> Bunch | tuple[list[str], np.ndarray]:
    """Load the docstrings of standard-library packages, labelled by package.

    A text classification data set that ships with Python: the docstrings of
    the modules, classes and functions of some packages of the standard
    library, read from their source files with :mod:`ast` (the modules are
    never imported), each labelled with the top-level package it comes from.
    Test folders (``test``, ``tests``, ``test_*``, ``*_test``) and
    ``test_*.py`` files are left out.  Docstrings are cleaned as by
    :func:`inspect.cleandoc`.  A text found more than once (white space
    aside), e.g. a method's docstring repeated by an override, is kept once,
    at its first place; a text found in two packages has no single label and
    is dropped.

    The documents are sorted by file (path relative to the standard library)
    and line, so the result is the same on every call; it depends on the
    Python version, whose standard library it reads.

    Parameters
    ----------
    packages : sequence of str, default=STDLIB_PACKAGES
        Top-level packages of the standard library (folders with an
        ``__init__.py`` in ``sysconfig.get_paths()["stdlib"]``), each one
        class.  The default, :data:`STDLIB_PACKAGES`, is ``asyncio``,
        ``email``, ``http``, ``importlib``, ``logging``, ``multiprocessing``,
        ``unittest`` and ``xml``.
    min_words : int, default=5
        Docstrings of fewer words (separated by white space) are left out.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object (the layout of scikit-learn's
        ``fetch_20newsgroups``) with the attributes:

        data : list of str
            The docstrings.
        target : ndarray of str, shape (n_documents,)
            The package of each docstring, e.g. ``"email"``.
        target_names : list of str
            The packages, sorted.
        source : list of str
            Where each docstring is: ``"module:qualname"``, e.g.
            ``"email.message:Message.get_payload"``, or the module name
            alone for a module's docstring.
        DESCR : str
            A description of the corpus, with the Python version read.
    (data, target) : tuple
        If ``return_X_y`` is True: the list of docstrings and the ndarray
        of their packages.

    Raises
    ------
    ValueError
        If a name in ``packages`` is not a package of the standard library
        (the message names it and lists the packages), if ``packages`` is
        empty or names a package twice, or if ``min_words`` is below 1.
    TypeError
        If ``packages`` is a single string or holds something else than
        strings, or ``min_words`` is not an integer.

    Examples
    --------
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skcoteach.datasets import load_stdlib_docstrings
    >>> corpus = load_stdlib_docstrings(packages=["email", "logging"])
    >>> corpus.target_names
    ['email', 'logging']
    >>> len(corpus.data) == len(corpus.target) == len(corpus.source)
    True
    >>> texts, labels = load_stdlib_docstrings(return_X_y=True)
    >>> clf = make_pipeline(TfidfVectorizer(), LogisticRegression())
    >>> clf = clf.fit(texts, labels)
    """
    import sys

    from sklearn.utils import Bunch

    if isinstance(min_words, bool) or not isinstance(min_words, (int, np.integer)):
        raise TypeError(f"min_words must be an integer; got {min_words!r}.")
    if min_words < 1:
        raise ValueError(f"min_words must be at least 1; got {min_words}.")
    stdlib = sysconfig.get_paths()["stdlib"]
    packages = check_packages(packages, stdlib_packages(stdlib))
    texts, labels, sources = collect_docstrings(stdlib, packages, int(min_words))
    if return_X_y:
        return texts, labels
    version = ".".join(map(str, sys.version_info[:3]))
    descr = (
        f"Docstrings of the Python {version} standard library ({stdlib}), packages "
        f"{', '.join(sorted(packages))}: {len(texts)} documents of at least {min_words} "
        "words, labelled by package, read with ast; test folders left out, repeated "
        "texts kept once."
    )
    return Bunch(
        data=texts,
        target=labels,
        target_names=sorted(packages),
        source=sources,
        DESCR=descr,
    )
