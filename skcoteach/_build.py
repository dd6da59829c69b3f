"""Building the peers and the compiled :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble`.

:func:`compile_ensemble` is the one place that assembles, compiles and gives an
optimizer to an ensemble: ``fit`` builds through it, unpickling rebuilds
through it, and a warm start with new optimizer arguments or a new
``steps_per_execution`` goes through its :func:`set_optimizer`.

TensorFlow and Keras are imported when a function here first runs, not at
import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from ._compat import import_keras, seeded
from ._params import callable_name, check_factory_arguments, routed

if TYPE_CHECKING:
    import keras

    from ._classifier import CoTeachingClassifier
    from .backends.tensorflow._ensemble import PeerEnsemble

__all__ = [
    "apply_warm_start",
    "build_model",
    "ensemble_rule_options",
    "compile_ensemble",
    "feature_scaling",
    "make_optimizer",
    "meta",
    "resolved_optimizer",
    "set_optimizer",
]


def make_optimizer(estimator: CoTeachingClassifier) -> keras.optimizers.Optimizer:
    """A new, unbuilt optimizer from ``optimizer`` and the ``optimizer__*`` arguments."""
    keras = import_keras()
    kwargs = routed(estimator._routed_params, "optimizer__")
    opt = estimator.optimizer
    try:
        if isinstance(opt, str):
            return keras.optimizers.get({"class_name": opt, "config": kwargs})
        if isinstance(opt, type):
            return opt(**kwargs)
        return type(opt).from_config({**opt.get_config(), **kwargs})
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Could not build the optimizer {opt!r} with optimizer__ arguments {kwargs}: {exc}"
        ) from exc


def meta(estimator: CoTeachingClassifier, X: Any) -> dict[str, Any]:
    """The ``meta`` dict a model factory receives (the names scikeras uses)."""
    classes = estimator.classes_
    info = {
        "classes_": classes,
        "n_classes_": len(classes),
        "n_features_in_": estimator.n_features_in_,
        "X_shape_": X.shape,
        "X_dtype_": X.dtype,
        "y_dtype_": classes.dtype,
        "target_type_": "binary" if len(classes) == 2 else "multiclass",
        "n_outputs_": 1,
        "n_outputs_expected_": 1,
    }
    if hasattr(estimator, "feature_names_in_"):
        info["feature_names_in_"] = estimator.feature_names_in_
    if estimator.model is None:
        info["X_mean_"], info["X_var_"] = feature_scaling(X)
    return info


def feature_scaling(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature offset and variance for the default networks' ``Normalization`` layer.

    The layer computes ``(x - offset) / sqrt(variance)``.

    - scipy.sparse ``X`` (one-hot, TF-IDF, counts, a ``ColumnTransformer``'s
      output): never centred (zeros stay zeros) and never amplified: offset
      0, and a column whose root mean square exceeds 1 (raw counts, say) is
      divided by it (variance ``mean(x**2)``); the others -- indicators,
      TF-IDF weights, columns a scaler already standardised -- pass
      unchanged, so a rare column is not blown up by its small standard
      deviation;
    - dense ``X``: columns holding only 0 and 1 (indicators, one-hot) pass
      unchanged (offset 0, variance 1); the others are standardised with
      their mean and variance.

    All-zero columns pass unchanged.
    """
    if sp.issparse(X):
        mean_square = np.asarray(X.multiply(X).mean(axis=0), dtype=np.float64).ravel()
        return np.zeros_like(mean_square), np.maximum(mean_square, 1.0)
    mean, var = X.mean(axis=0), X.var(axis=0)
    if X.ndim == 2:
        binary = np.all((X == 0) | (X == 1), axis=0)
        mean, var = np.where(binary, 0.0, mean), np.where(binary, 1.0, var)
    return mean, var


def build_peer(estimator, info):
    """One peer from ``estimator.model``: a factory's result or a fresh clone."""
    keras = import_keras()
    params = routed(estimator._routed_params, "model__")
    if isinstance(estimator.model, keras.Model):
        if params:
            raise ValueError(
                f"model__ parameters {sorted(params)} need a model factory; model is a "
                "keras.Model instance, which is cloned as it is."
            )
        return keras.models.clone_model(estimator.model)
    if estimator.model is None:
        from . import models

        factory = models.mlp if len(info["X_shape_"]) == 2 else models.cnn
    else:
        factory = estimator.model
    accepted = check_factory_arguments(factory, params)
    kwargs = dict(params)
    if accepted is not None:
        available = {
            "meta": info,
            "compile_kwargs": {
                "optimizer": make_optimizer(estimator),
                "loss": "sparse_categorical_crossentropy",
                "metrics": None,
            },
        }
        kwargs.update({k: v for k, v in available.items() if k in accepted or "*" in accepted})
    peer = factory(**kwargs)
    if not isinstance(peer, keras.Model):
        raise TypeError(
            f"The model factory {callable_name(factory)} must return a keras.Model; "
            f"it returned {type(peer).__name__}."
        )
    return peer


def check_output(out, n_classes):
    """The output must have ``n_classes`` units (or 1 for a binary problem)."""
    units = out.shape[-1]
    if out.ndim != 2 or not (units == n_classes or (units == 1 and n_classes == 2)):
        raise ValueError(
            f"The model's output has shape {tuple(out.shape)}, but y has {n_classes} "
            f"classes: the output layer must have n_classes_={n_classes} units"
            + (" (or 1 unit for this binary problem)" if n_classes == 2 else "")
            + "."
        )


def outputs_logits(from_logits, peer, out):
    """Whether ``peer`` outputs logits: ``from_logits``, or detected when "auto"."""
    from .backends._config import output_activation

    if from_logits != "auto":
        return bool(from_logits)
    activation = output_activation(peer)
    if activation in ("softmax", "sigmoid"):
        return False
    if activation == "linear":
        return True
    out = np.asarray(out, dtype=np.float64)
    if out.shape[1] == 1:
        raise ValueError(
            "Cannot tell whether the model's single output unit is a probability "
            "or a logit; set from_logits=True or from_logits=False."
        )
    in_unit = np.all((out >= 0) & (out <= 1))
    return not (in_unit and np.allclose(out.sum(axis=1), 1.0, atol=1e-3))


def steps_per_execution(ensemble, estimator):
    """The estimator's ``steps_per_execution``, as the backend runs it (``steps_per_execution``)."""
    from .backends import api

    return api().steps_per_execution(ensemble, estimator.steps_per_execution)


def set_optimizer(
    ensemble: PeerEnsemble,
    estimator: CoTeachingClassifier,
    state: list[np.ndarray] | None = None,
    restore_learning_rate: bool = True,
) -> None:
    """Compile ``ensemble`` with the estimator's optimizer and ``steps_per_execution``.

    Parameters
    ----------
    ensemble : PeerEnsemble
        Its peers are built.
    estimator : CoTeachingClassifier
        Gives ``optimizer``, ``optimizer__*`` and ``steps_per_execution``.
    state : list of ndarray, default=None
        Values of the variables of a previous optimizer of the same class (step
        count, learning rate, moments), restored so that training goes on
        where it stopped.
    restore_learning_rate : bool, default=True
        False keeps the learning rate of the new optimizer (a warm start with
        a new ``optimizer__learning_rate``).
    """
    from .backends import api

    ensemble.compile(
        optimizer=api().prepare_optimizer(make_optimizer(estimator)),
        steps_per_execution=steps_per_execution(ensemble, estimator),
    )
    optimizer = ensemble.optimizer
    optimizer.build(ensemble.trainable_variables)
    if state is not None and [v.shape for v in state] == [
        tuple(v.shape) for v in optimizer.variables
    ]:
        for variable, value in zip(optimizer.variables, state):
            if restore_learning_rate or not variable.path.endswith("learning_rate"):
                variable.assign(value)


def compile_ensemble(
    peers: list[keras.Model],
    estimator: CoTeachingClassifier,
    *,
    sample: Any = None,
    optimizer_state: list[np.ndarray] | None = None,
    **options: Any,
) -> PeerEnsemble:
    """The compiled :class:`~skcoteach.backends.tensorflow._ensemble.PeerEnsemble` of ``peers``.

    Used by ``fit`` (new peers, called on ``sample`` to build every layer)
    and by unpickling (loaded peers, with the saved ``optimizer_state``); see
    :func:`set_optimizer`.  ``options`` are the ensemble's ``output_kind``,
    ``n_samples``, ``rule_options``, ``record_proba`` and ``rule`` (by
    default the estimator's ``strategy``).
    """
    from .backends import api

    options.setdefault("rule", estimator.strategy)
    ensemble = api().PeerEnsemble(peers, **options)
    if sample is not None:
        ensemble(sample)  # build every layer before compiling
    set_optimizer(ensemble, estimator, optimizer_state)
    return ensemble


def ensemble_rule_options(
    estimator: CoTeachingClassifier, rule_options: dict[str, Any]
) -> dict[str, Any]:
    """The rule's keyword arguments: the ``strategy__*`` options and the ``selection``.

    ``selection="global"`` is the rules' default and is left out, so that the
    ensemble's configuration is what it was before the parameter existed.
    """
    selection = getattr(estimator, "selection", "global")
    return dict(rule_options) if selection == "global" else {**rule_options, "selection": selection}


def build_model(
    estimator: CoTeachingClassifier, X: Any, rule_options: dict[str, Any], seed: int
) -> PeerEnsemble:
    """Build ``n_peers`` new peers for ``X`` (seeded by ``seed``) and compile them."""
    keras = import_keras()
    info = meta(estimator, X)
    with seeded(seed):
        peers = [build_peer(estimator, info) for _ in range(estimator.n_peers)]
    sample = X[: min(X.shape[0], 8)]
    if sp.issparse(sample):
        sample = sample.toarray()
    kinds = set()
    for peer in peers:
        out = keras.ops.convert_to_numpy(peer(sample, training=False))
        check_output(out, len(estimator.classes_))
        kinds.add(outputs_logits(estimator.from_logits, peer, out))
    if len(kinds) > 1:
        raise ValueError("The peers disagree on whether they output logits.")
    return compile_ensemble(
        peers,
        estimator,
        sample=sample,
        output_kind="logits" if kinds.pop() else "probabilities",
        n_samples=X.shape[0],
        rule_options=ensemble_rule_options(estimator, rule_options),
        record_proba=len(estimator.classes_) if estimator.tau == "auto" else 0,
    )


def resolved_optimizer(estimator: CoTeachingClassifier) -> tuple[type, dict[str, Any]]:
    """The class and configuration (without its name) of the estimator's optimizer."""
    optimizer = make_optimizer(estimator)
    config = optimizer.get_config()
    config.pop("name", None)  # Keras numbers the names of new optimizers
    return type(optimizer), config


def apply_warm_start(
    estimator: CoTeachingClassifier, n_samples: int, rule_options: dict[str, Any]
) -> None:
    """Apply to the fitted ensemble the parameters changed since the last fit.

    See the ``warm_start`` parameter of
    :class:`~skcoteach.CoTeachingClassifier`: a changed ``n_peers``,
    ``strategy`` or optimizer class raises ``ValueError``; new rule options
    (``selection`` included), optimizer arguments (the optimizer's state is kept) and
    ``steps_per_execution`` apply; the per-sample statistics follow the size
    of the new training set.
    """
    model = estimator.model_
    rule_options = ensemble_rule_options(estimator, rule_options)
    (old_class, old_config) = estimator._optimizer_config
    new_class, new_config = resolved_optimizer(estimator)
    for name, before, now in (
        ("n_peers", len(model.peers), estimator.n_peers),
        ("strategy", model.rule_name, estimator.strategy),
        ("optimizer class", old_class.__name__, new_class.__name__),
    ):
        if before != now:
            raise ValueError(
                f"warm_start=True continues the fitted peers, trained with {name} "
                f"{before!r}; {name} {now!r} needs new peers or a new optimizer state. "
                "Set warm_start=False to fit from scratch."
            )
    if rule_options != dict(model.rule_options):
        model.rule_options = rule_options
        model.train_function = None  # traced with the old options
    if new_config != old_config:  # same class: keep the step count and moments
        state = [v.numpy() for v in model.optimizer.variables]
        same_rate = new_config.get("learning_rate") == old_config.get("learning_rate")
        set_optimizer(model, estimator, state, restore_learning_rate=same_rate)
        estimator._optimizer_config = new_class, new_config
    steps = steps_per_execution(model, estimator)
    if steps != model.batches_per_call:
        model.batches_per_call = steps
        model.train_function = None  # runs the old number of steps per call
    if n_samples != model.n_samples:
        model.resize_sample_statistics(n_samples)
