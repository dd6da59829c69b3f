"""Routed parameters (``model__*``, ``optimizer__*``, ``strategy__*``) and their name checks.

A misspelt name raises ``ValueError`` (as scikit-learn's ``set_params``) with
the closest valid name as a hint.  No TensorFlow here.
"""

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "ROUTED_PREFIXES",
    "RoutedParamsMixin",
    "callable_name",
    "check_factory_arguments",
    "check_names",
    "routed",
]

#: Prefixes of the parameters routed to the model factory, the optimizer and the rule.
ROUTED_PREFIXES = ("model__", "optimizer__", "strategy__")


def did_you_mean(name: str, candidates: Iterable[str], prefix: str = "") -> str:
    """``" Did you mean '<prefix><x>'?"`` for the candidate closest to ``name``, or ``""``."""
    match = difflib.get_close_matches(name, [str(c) for c in candidates], n=1)
    return f" Did you mean {prefix + match[0]!r}?" if match else ""


def routed(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The entries of ``params`` whose names start with ``prefix``, without it."""
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


def check_names(owner: str, routed_params: dict[str, Any], param_names: list[str]) -> None:
    """Refuse names that are neither constructor parameters nor routed.

    Parameters
    ----------
    owner : str
        Name of the estimator class, for the message.
    routed_params : dict
        The extra keyword arguments the estimator received.
    param_names : list of str
        Its constructor parameters.

    Raises
    ------
    ValueError
        Naming the unknown parameters, the accepted prefixes and, for the
        first, the closest valid spelling.
    """
    unknown = [k for k in routed_params if not k.startswith(ROUTED_PREFIXES)]
    if not unknown:
        return
    name = unknown[0]
    rest = name.split("_", 1)[-1].lstrip("_")
    candidates = [*param_names, *(prefix + rest for prefix in ROUTED_PREFIXES)]
    raise ValueError(
        f"Unknown parameter(s) {unknown} for {owner}: routed parameters must start "
        f"with {' or '.join(ROUTED_PREFIXES)}, e.g. model__hidden_layer_sizes=(64,) or "
        f"optimizer__learning_rate=1e-3.{did_you_mean(name, candidates)}"
    )


def callable_name(fn: Callable[..., Any]) -> str:
    """A readable name of a function, ``functools.partial`` or callable object."""
    return getattr(fn, "__qualname__", None) or getattr(
        getattr(fn, "func", None), "__qualname__", type(fn).__name__
    )


def check_factory_arguments(
    factory: Callable[..., Any], params: dict[str, Any]
) -> set[str] | None:
    """The names of ``factory``'s arguments; refuse ``model__`` names it does not take.

    Parameters
    ----------
    factory : callable
        The model factory.
    params : dict
        Its routed ``model__*`` arguments, without the prefix.

    Returns
    -------
    set of str or None
        The argument names, ``{"*"}`` added when it takes ``**kwargs``; None
        when its signature cannot be read (some builtins).

    Raises
    ------
    ValueError
        For an argument the factory does not take, with the closest one.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # builtins and some C callables
        return None
    accepted = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        return {*accepted, "*"}
    rejected = [k for k in params if k not in accepted]
    if rejected:
        name = rejected[0]
        raise ValueError(
            f"model__{name} was given but the model factory {callable_name(factory)} "
            f"has no argument {name!r}; it accepts {list(accepted)}."
            + did_you_mean(name, accepted, prefix="model__")
        )
    return set(accepted)


class RoutedParamsMixin:
    """``get_params`` / ``set_params`` that include the routed parameters.

    The estimator keeps its routed parameters in ``_routed_params`` (not as
    attributes: scikit-learn expects those to be exactly the constructor's
    parameters).
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get the parameters, including routed ``model__*`` / ``optimizer__*`` / ``strategy__*``.

        Parameters
        ----------
        deep : bool, default=True
            Unused (no parameter is an estimator); kept for the scikit-learn API.

        Returns
        -------
        dict
            Parameter names mapped to their values.
        """
        params = super().get_params(deep=False)
        params.update(self._routed_params)
        return params

    def set_params(self, **params: Any) -> "RoutedParamsMixin":
        """Set parameters, including routed ``model__*`` / ``optimizer__*`` / ``strategy__*`` ones.

        Parameters
        ----------
        **params
            Constructor parameters, and ``model__<name>`` /
            ``optimizer__<name>`` / ``strategy__<name>`` arguments of the
            model factory / optimizer / update rule.  As in the constructor,
            names are checked by ``fit``, which raises a ``ValueError`` (with
            the closest valid name) for a name that is neither.

        Returns
        -------
        self
            The estimator.
        """
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key in valid:
                setattr(self, key, value)
            else:  # like the constructor: checked in ``fit``
                self._routed_params[key] = value
        return self
