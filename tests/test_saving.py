"""Keras's own saving of the fitted ensemble: ``model_.save``, ``load_model``, ModelCheckpoint.

The pickling of the estimator (``skcoteach._persistence``) is tested in
test_classifier.py, test_optimizers.py and test_robustness.py.
"""

import json
import subprocess
import sys
import textwrap
import zipfile

import keras
import numpy as np
import pytest
from sklearn.datasets import load_iris

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

TINY = dict(epochs=2, tau=0.2, random_state=0, model__hidden_layer_sizes=(8,), verbose=0)
STRATEGIES = ("coteaching", "coteaching_plus", "jocor")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X.astype(np.float32), y


@pytest.fixture(scope="module", params=STRATEGIES)
def fitted(request, iris):
    """A fitted estimator with three peers, for each update rule."""
    X, y = iris
    return CoTeachingClassifier(n_peers=3, strategy=request.param, **TINY).fit(X, y)


def _proba(model, X):
    return keras.ops.convert_to_numpy(model(X))


def _saved_config(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


@pytest.mark.tensorflow_only("the TensorFlow ensemble's class and fused Adam (JAX: test_jax_backend)")
@pytest.mark.parametrize("compile", [True, False])
def test_save_and_load_round_trip(fitted, iris, tmp_path, compile):
    from skcoteach.backends.tensorflow._ensemble import PeerEnsemble

    X, _ = iris
    path = tmp_path / "ensemble.keras"
    fitted.model_.save(path)
    assert path.stat().st_size > 0
    loaded = keras.saving.load_model(path, compile=compile)

    assert type(loaded) is PeerEnsemble
    assert loaded is not fitted.model_
    assert len(loaded.peers) == 3
    assert loaded.rule_name == fitted.strategy
    assert loaded.output_kind == fitted.model_.output_kind
    expected = fitted.predict_proba(X)
    np.testing.assert_allclose(_proba(loaded, X), expected, atol=1e-6)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, atol=1e-6)
    for peer, original in zip(loaded.peers, fitted.model_.peers):
        for w, w0 in zip(peer.get_weights(), original.get_weights()):
            np.testing.assert_array_equal(w, w0)

    if compile:
        from skcoteach.backends.tensorflow._optimizers import FusedAdam

        # Compiled as fit compiles: Keras's Adam runs fused, its state restored.
        assert type(loaded.optimizer) is FusedAdam
        saved = [v.numpy() for v in fitted.model_.optimizer.variables]
        restored = [v.numpy() for v in loaded.optimizer.variables]
        assert len(restored) == len(saved)
        for value, value0 in zip(restored, saved):
            np.testing.assert_array_equal(value, value0)
        assert int(loaded.optimizer.iterations.numpy()) > 0
    else:
        assert not loaded.compiled


def test_saved_compile_config_names_keras_adam(iris, tmp_path):
    """The compile configuration names Keras's Adam, not skcoteach's fused subclass."""
    X, y = iris
    clf = CoTeachingClassifier(**TINY).fit(X, y)
    path = tmp_path / "ensemble.keras"
    clf.model_.save(path)
    optimizer = _saved_config(path)["compile_config"]["optimizer"]
    assert (optimizer["module"], optimizer["class_name"]) == ("keras.optimizers", "Adam")
    assert optimizer["config"]["learning_rate"] == pytest.approx(
        float(clf.model_.optimizer.learning_rate.numpy())
    )
    # The optimizer deserializes with Keras alone.
    assert type(keras.saving.deserialize_keras_object(optimizer)) is keras.optimizers.Adam


@pytest.mark.tensorflow_only("the TensorFlow ensemble's optimizer classes")
def test_other_optimizer_round_trip(iris, tmp_path):
    X, y = iris
    clf = CoTeachingClassifier(optimizer="sgd", optimizer__momentum=0.5, **TINY).fit(X, y)
    path = tmp_path / "ensemble.keras"
    clf.model_.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is keras.optimizers.SGD
    assert loaded.optimizer.momentum == pytest.approx(0.5)
    assert int(loaded.optimizer.iterations.numpy()) == int(clf.model_.optimizer.iterations.numpy())
    np.testing.assert_allclose(loaded.predict(X, verbose=0), clf.predict_proba(X), atol=1e-6)


def test_logit_peers_round_trip(iris, tmp_path):
    X, y = iris
    clf = CoTeachingClassifier(
        tiny_mlp, model__hidden=8, model__activation=None, epochs=2, tau=0.2, random_state=0
    ).fit(X, y)
    assert clf.model_.output_kind == "logits"
    path = tmp_path / "ensemble.keras"
    clf.model_.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    assert loaded.output_kind == "logits"
    np.testing.assert_allclose(_proba(loaded, X), clf.predict_proba(X), atol=1e-6)


def test_config_round_trip(iris):
    """The ensemble class of this process's backend rebuilds from its JSON-safe configuration."""
    from skcoteach.backends._config import MeanVector

    X, y = iris
    clf = CoTeachingClassifier(strategy="jocor", strategy__co_lambda=0.3, **TINY).fit(X, y)
    PeerEnsemble = type(clf.model_)  # the TensorFlow or the JAX backend's
    assert PeerEnsemble.__module__.startswith(f"skcoteach.backends.{keras.backend.backend()}.")
    config = clf.model_.get_config()
    assert config["rule_options"] == {"co_lambda": 0.3, "selection": "class_floor"}
    assert config["n_samples"] == len(X)
    as_json = json.loads(json.dumps(config))  # the configuration is JSON-safe
    rebuilt = PeerEnsemble.from_config(as_json)
    assert as_json == json.loads(json.dumps(config))  # not changed by from_config
    assert json.loads(json.dumps(rebuilt.get_config())) == as_json
    assert [p.name for p in rebuilt.peers] == [p.name for p in clf.model_.peers]

    metric = MeanVector(5, name="logs")
    again = MeanVector.from_config(metric.get_config())
    assert (again.name, tuple(again.result().shape)) == ("logs", (5,))


def test_model_checkpoint_with_default_arguments(iris, tmp_path):
    """Every epoch's whole-model checkpoint reloads as the ensemble was at that epoch."""
    X, y = iris
    seen = {}

    class Record(keras.callbacks.Callback):  # runs after the checkpoint of each epoch
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch + 1] = _proba(self.model, X)

    pattern = str(tmp_path / "epoch_{epoch}.keras")
    callbacks = [keras.callbacks.ModelCheckpoint(pattern), Record()]
    clf = CoTeachingClassifier(callbacks=callbacks, **{**TINY, "epochs": 3}).fit(X, y)

    assert sorted(seen) == [1, 2, 3]
    for epoch, proba in seen.items():
        path = tmp_path / f"epoch_{epoch}.keras"
        assert path.stat().st_size > 0
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(loaded.predict(X, verbose=0), proba, atol=1e-6)
    assert not np.allclose(seen[1], seen[3], atol=1e-6)  # the epochs differ
    np.testing.assert_allclose(
        keras.saving.load_model(tmp_path / "epoch_3.keras").predict(X, verbose=0),
        clf.predict_proba(X),
        atol=1e-6,
    )


def test_model_checkpoint_weights_only(iris, tmp_path):
    X, y = iris
    path = tmp_path / "ensemble.weights.h5"
    callbacks = [keras.callbacks.ModelCheckpoint(str(path), save_weights_only=True)]
    clf = CoTeachingClassifier(callbacks=callbacks, **TINY).fit(X, y)
    assert path.stat().st_size > 0
    other = CoTeachingClassifier(**{**TINY, "random_state": 1}).fit(X, y)
    assert not np.allclose(other.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    other.model_.load_weights(path)
    np.testing.assert_allclose(other.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def _root():
    import pathlib

    return str(pathlib.Path(__file__).resolve().parents[1])


@pytest.mark.parametrize("compile", [True, False])
def test_load_in_a_fresh_process(iris, tmp_path, compile):
    """skcoteach.saving.load_model loads in a process that never fitted: no custom_objects."""
    X, y = iris
    clf = CoTeachingClassifier(n_peers=3, **TINY).fit(X, y)
    path = tmp_path / "ensemble.keras"
    clf.model_.save(path)
    np.save(tmp_path / "X.npy", X)
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {_root()!r})
        import keras, numpy as np
        from skcoteach.saving import load_model

        model = load_model({str(path)!r}, compile={compile})
        assert type(model).__name__ == "PeerEnsemble", type(model)
        assert model.compiled == {compile}
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "call.npy")!r}, keras.ops.convert_to_numpy(model(X)))
        np.save({str(tmp_path / "predict.npy")!r}, model.predict(X, verbose=0))
    """)
    subprocess.run([sys.executable, "-c", code], check=True)
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(np.load(tmp_path / "call.npy"), expected, atol=1e-6)
    np.testing.assert_allclose(np.load(tmp_path / "predict.npy"), expected, atol=1e-6)


def test_pickle_after_save_still_works(iris, tmp_path):
    import pickle

    X, y = iris
    clf = CoTeachingClassifier(**TINY).fit(X, y)
    clf.model_.save(tmp_path / "ensemble.keras")
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), atol=1e-6)
