"""Reading the docstrings of standard-library packages, for :func:`skcoteach.datasets.load_stdlib_docstrings`.

Source files are parsed with :mod:`ast`, never imported.
"""

import ast
import os
import tokenize
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["check_packages", "collect_docstrings", "stdlib_packages"]

_DOC_NODES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_test_dir(name):
    """Whether a folder holds tests (``test``, ``tests``, ``test_*``, ``*_test``)."""
    name = name.lower()
    return name in ("test", "tests") or name.startswith("test_") or name.endswith("_test")


def stdlib_packages(stdlib: str) -> list[str]:
    """The package folders at the top of the standard library ``stdlib``."""
    return sorted(
        name
        for name in os.listdir(stdlib)
        if os.path.isfile(os.path.join(stdlib, name, "__init__.py"))
        and not _is_test_dir(name)
        and name != "site-packages"
    )


def _package_files(stdlib, package):
    """``(relative path, module name)`` of every source file of ``package``, tests excluded."""
    files = []
    for folder, dirs, names in os.walk(os.path.join(stdlib, package)):
        dirs[:] = [d for d in dirs if not _is_test_dir(d) and d != "__pycache__"]
        for name in names:
            if not name.endswith(".py") or name.startswith("test_"):
                continue
            relative = os.path.relpath(os.path.join(folder, name), stdlib)
            parts = relative[: -len(".py")].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files.append((relative.replace(os.sep, "/"), ".".join(parts)))
    return sorted(files)


def _docstrings(tree):
    """``(line, column, qualname, docstring)`` of the module, classes and functions of ``tree``.

    ``qualname`` follows ``__qualname__`` (``<locals>`` inside functions) and
    is ``""`` for the module itself; the position is the docstring's.
    """
    found = []

    def record(node, qualname):
        text = ast.get_docstring(node, clean=True)
        text = text and text.strip()  # cleandoc keeps a last line of spaces alone
        if text:
            string = node.body[0].value
            found.append((string.lineno, string.col_offset, qualname, text))

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _DOC_NODES[1:]):
                qualname = prefix + child.name
                record(child, qualname)
                inside = "." if isinstance(child, ast.ClassDef) else ".<locals>."
                walk(child, qualname + inside)
            else:  # statements (if, try, with, ...) do not start a scope
                walk(child, prefix)

    record(tree, "")
    walk(tree, "")
    return found


def collect_docstrings(
    stdlib: str, packages: Sequence[str], min_words: int
) -> tuple[list[str], np.ndarray, list[str]]:
    """``(texts, labels, sources)`` of ``packages`` under the folder ``stdlib``.

    Every docstring is read with :mod:`ast`; a text found more than once
    (compared with runs of white space made one space) is kept at its first
    place in (file, line) order, or dropped everywhere if it occurs in two
    packages.
    """
    entries = []
    for package in packages:
        for relative, module in _package_files(stdlib, package):
            with tokenize.open(os.path.join(stdlib, relative)) as fh:
                tree = ast.parse(fh.read(), filename=relative)
            for line, col, qualname, text in _docstrings(tree):
                if len(text.split()) < min_words:
                    continue
                source = f"{module}:{qualname}" if qualname else module
                entries.append(((relative, line, col), text, package, source))
    entries.sort(key=lambda entry: entry[0])
    keys = [" ".join(text.split()) for _, text, _, _ in entries]
    first, packages_of = {}, {}
    for index, (key, (_, _, package, _)) in enumerate(zip(keys, entries)):
        first.setdefault(key, index)
        packages_of.setdefault(key, set()).add(package)
    kept = [
        entry
        for index, (key, entry) in enumerate(zip(keys, entries))
        if first[key] == index and len(packages_of[key]) == 1
    ]
    texts = [entry[1] for entry in kept]
    labels = np.array([entry[2] for entry in kept], dtype=str)
    sources = [entry[3] for entry in kept]
    return texts, labels, sources


def check_packages(packages: Iterable[str], available: Sequence[str]) -> list[str]:
    if isinstance(packages, (str, bytes)):
        raise TypeError(
            f"packages must be a list of package names, not a single string; got {packages!r} "
            f"(use packages=[{packages!r}])."
        )
    try:
        packages = list(packages)
    except TypeError:
        raise TypeError(
            f"packages must be a list of package names; got {type(packages).__name__}."
        ) from None
    if not packages:
        raise ValueError("packages must name at least one package; got none.")
    for package in packages:
        if not isinstance(package, str):
            raise TypeError(f"packages must be strings; got {package!r}.")
        if package not in available:
            raise ValueError(
                f"{package!r} is not a package of this Python's standard library; "
                f"the packages are {available}."
            )
    duplicated = sorted({p for p in packages if packages.count(p) > 1})
    if duplicated:
        raise ValueError(f"packages must be distinct; {duplicated} given more than once.")
    return packages
