"""One training step of every rule from fixed weights on a fixed batch, on Keras's current backend.

Run as ``KERAS_BACKEND=<name> python tests/_one_step.py OUT.npz`` by
``tests/test_jax_backend.py``, once per backend; the two files are compared.
Each step starts from the same peer weights, a fresh Adam, forget rate 0.3 and
epoch 3, and trains on 40 samples with weights; the file holds every peer weight
after the step and the per-sample kept share and loss.
"""

import sys

import keras
import numpy as np

from skcoteach import rules
from skcoteach.backends import api

N, F, C = 40, 6, 4
#: The classes' shares of the training labels the ensembles are given (as a fit sets them).
SHARES = np.array([0.4, 0.35, 0.2, 0.05], np.float32)


def peers(rng):
    out = []
    for _ in range(2):
        peer = keras.Sequential(
            [keras.Input((F,)), keras.layers.Dense(8, activation="relu"),
             keras.layers.Dense(C, activation="softmax")]
        )
        peer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in peer.get_weights()])
        out.append(peer)
    return out


def one_step(ensemble, X, y, w):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        ensemble.set_training_arrays(X, y, w)
        ensemble._train_batch(ensemble._full_batch(tf.range(N, dtype=tf.int64), ensemble._training_arrays))
    else:
        import jax

        ensemble.set_training_arrays(X, y, w, batch_size=N)
        state = (
            [v.value for v in ensemble.trainable_variables],
            [v.value for v in ensemble.non_trainable_variables],
            [v.value for v in ensemble.optimizer.variables],
            [v.value for v in ensemble.metrics_variables],
            dict(ensemble._own),
        )
        positions = np.arange(N, dtype=np.int32)
        state = jax.jit(ensemble._train_step)(state, positions, ensemble._training_arrays)
        ensemble._own.update(state[4])
        groups = (ensemble.trainable_variables, ensemble.non_trainable_variables,
                  ensemble.optimizer.variables, ensemble.metrics_variables)
        for variables, values in zip(groups, state):
            for variable, value in zip(variables, values):
                variable.assign(value)


def main(path):
    data = np.random.default_rng(0)
    X = data.normal(size=(N, F)).astype("float32")
    y = data.integers(0, C, N)
    w = data.uniform(0.5, 2.0, N).astype("float32")
    out = {}
    for rule in sorted(rules.RULES):
        for selection in ("global", "per_class", "class_floor"):
            options = {} if selection == "global" else {"selection": selection}
            ensemble = api().PeerEnsemble(peers(np.random.default_rng(1)), "probabilities",
                                          n_samples=N, rule=rule, rule_options=options)
            ensemble(X[:2])
            ensemble.set_class_shares(SHARES)  # classes 2 and 3 rare: class_floor floors them
            ensemble.compile(optimizer=api().prepare_optimizer(keras.optimizers.Adam(0.01)))
            ensemble.optimizer.build(ensemble.trainable_variables)
            ensemble.forget_rate.assign(0.3)
            ensemble.epoch.assign(3)
            one_step(ensemble, X, y, w)
            key = f"{rule}/{selection}"
            out[f"{key}/weights"] = np.concatenate(
                [np.ravel(v) for peer in ensemble.peers for v in peer.get_weights()]
            )
            stats = ensemble.sample_statistics()
            out[f"{key}/kept"], out[f"{key}/loss"] = stats["kept"], stats["loss"]
    np.savez(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])
