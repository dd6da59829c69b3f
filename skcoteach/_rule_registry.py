"""The update rules by name: their options and default training order, without TensorFlow.

One entry per rule is all the estimator needs to know of it: the
``strategy`` constraint, the checks of the ``strategy__*`` options and what
``shuffle="auto"`` resolves to are derived from :data:`REGISTRY`, and
:data:`skcoteach.rules.RULES` maps the same names to the TensorFlow
functions.  Adding a rule: its function in :mod:`skcoteach.rules` and one
:class:`RuleSpec` here.
"""

import numbers
from dataclasses import dataclass, field
from typing import Any

from ._params import did_you_mean

__all__ = ["REGISTRY", "RuleSpec", "check_options"]


def _check_init_epochs(value):
    if not (isinstance(value, numbers.Integral) and value >= 0):
        raise ValueError(f"strategy__init_epochs must be an int >= 0, got {value!r}.")


def _check_co_lambda(value):
    if not (isinstance(value, numbers.Real) and 0 <= value <= 1):
        raise ValueError(f"strategy__co_lambda must be in [0, 1], got {value!r}.")


@dataclass(frozen=True)
class RuleSpec:
    """What the estimator knows of an update rule.

    Attributes
    ----------
    function : str
        Name of the rule's function in :mod:`skcoteach.rules`.
    options : dict
        Its ``strategy__<name>`` options: name -> check, a function that
        raises ``ValueError`` for a bad value.  They are the function's
        keyword arguments beyond those of the training step.
    default_order : bool or "once"
        The training order ``shuffle="auto"`` gives the rule.
    """

    function: str
    options: dict = field(default_factory=dict)
    default_order: object = True


#: The update rules by the name ``CoTeachingClassifier(strategy=...)`` accepts.
#: Co-teaching trains best with one fixed order; JoCoR and Co-teaching+ with a
#: new order every epoch (user guide, "shuffle: the training order").
REGISTRY = {
    "coteaching": RuleSpec("coteaching", default_order="once"),
    "coteaching_plus": RuleSpec("coteaching_plus", {"init_epochs": _check_init_epochs}),
    "jocor": RuleSpec("jocor", {"co_lambda": _check_co_lambda}),
}


def check_options(rule: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check the options of an update rule before training.

    Parameters
    ----------
    rule : str
        Name of the rule in :data:`REGISTRY`.
    options : dict
        Its options, as routed by ``strategy__<name>`` (without the prefix).

    Returns
    -------
    dict
        A copy of ``options``.

    Raises
    ------
    ValueError
        For an option the rule does not take (with the closest valid name) or
        a value out of its range.
    """
    checks = REGISTRY[rule].options
    accepted = list(checks)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(
            f"strategy__{unknown[0]} is not an option of strategy={rule!r}; its options "
            f"are {accepted or 'none'}.{did_you_mean(unknown[0], accepted, 'strategy__')}"
        )
    for name, value in options.items():
        checks[name](value)
    return dict(options)
