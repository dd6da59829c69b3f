"""scikit-learn and Keras conventions beyond the estimator checks."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skcoteach import CoTeachingClassifier

from .conftest import tiny_mlp

pytestmark = pytest.mark.tensorflow_only(
    'the one-graph training function of the TensorFlow program'
)


FAST = dict(epochs=2, batch_size=64, optimizer__learning_rate=0.01, random_state=0)


def test_tags():
    tags = CoTeachingClassifier().__sklearn_tags__()
    assert tags.estimator_type == "classifier"
    assert tags.input_tags.three_d_array and tags.input_tags.sparse
    assert not tags.input_tags.allow_nan
    assert not tags.non_deterministic  # random_state makes fits reproducible
    assert not tags.classifier_tags.poor_score


def test_dataframe_input_sets_feature_names(digits):
    pd = pytest.importorskip("pandas")
    X, y, X_test, _ = digits
    columns = [f"pixel_{i}" for i in range(64)]
    seen = {}

    def factory(meta):
        seen.update(meta)
        return tiny_mlp(meta)

    clf = CoTeachingClassifier(factory, **FAST).fit(pd.DataFrame(X, columns=columns), pd.Series(y))
    np.testing.assert_array_equal(clf.feature_names_in_, columns)
    np.testing.assert_array_equal(seen["feature_names_in_"], columns)
    assert clf.predict(pd.DataFrame(X_test, columns=columns)).shape == (len(X_test),)
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X_test)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.int32, np.uint8])
def test_numeric_dtypes(digits, dtype):
    X, y, _, _ = digits
    Xd = (X * 16).astype(dtype)
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(Xd, y)
    assert clf.predict_proba(Xd[:4]).dtype == np.float64


def test_images_in_a_pipeline(digits):
    X, y, X_test, y_test = digits
    to_images = FunctionTransformer(lambda a: np.asarray(a).reshape(-1, 8, 8))
    pipe = make_pipeline(
        to_images,
        CoTeachingClassifier(
            epochs=4,
            random_state=0,
            model__filters=(8,),
            model__dense_units=32,
            optimizer__learning_rate=0.01,
        ),
    )
    pipe.fit(X, y)
    assert pipe[-1].X_shape_[1:] == (8, 8)
    assert pipe.score(X_test, y_test) > 0.7


def test_validation_split_and_early_stopping_restore_best(digits):
    import keras

    X, y, _, _ = digits
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    clf = CoTeachingClassifier(
        tiny_mlp,
        epochs=40,
        batch_size=32,
        validation_split=0.2,
        optimizer__learning_rate=0.05,
        callbacks=[stop],
        random_state=0,
    )
    clf.fit(X, y)
    h = clf.history_
    assert clf.n_iter_ < 40 and len(h["val_loss"]) == clf.n_iter_
    # The restored weights are those of the best epoch.
    fitted_stop = clf.callbacks_[0]
    assert fitted_stop.stopped_epoch > 0 and stop.stopped_epoch == 0  # parameter untouched
    best = int(np.argmin(h["val_loss"]))
    X_val, y_val = X[-200:], y[-200:]
    clf.model_.set_validation_arrays(*clf._check_validation_data((X_val, y_val)))
    evaluated = clf.model_.evaluate(clf._batch_positions(200), verbose=0, return_dict=True)
    assert evaluated["loss"] == pytest.approx(h["val_loss"][best], rel=1e-4)
    assert clf.sample_kept_.shape == (800,)  # the held-out samples are not trained on


def test_any_keras_callback_runs(digits, tmp_path):
    import keras

    X, y, _, _ = digits
    log = tmp_path / "log.csv"
    clf = CoTeachingClassifier(
        tiny_mlp,
        callbacks=[keras.callbacks.CSVLogger(str(log)), keras.callbacks.TerminateOnNaN()],
        **FAST,
    )
    clf.fit(X, y)
    header = log.read_text().splitlines()[0]
    assert "forget_rate" in header and "peer_0_loss" in header


def test_warm_start_continues_schedule(digits):
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, tau=0.4, Tk=4, warm_start=True, **FAST)
    clf.fit(X, y)
    peers = clf.peers_
    clf.fit(X, y)
    assert clf.peers_ is peers and clf.n_iter_ == 4
    assert clf.history_["forget_rate"] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    cold = CoTeachingClassifier(tiny_mlp, tau=0.4, Tk=4, **FAST).fit(X, y).fit(X, y)
    assert cold.n_iter_ == 2


def test_partial_fit_one_epoch_each(digits):
    X, y, X_test, y_test = digits
    clf = CoTeachingClassifier(tiny_mlp, tau=0.5, Tk=2, **FAST)
    clf.partial_fit(X[:500], y[:500], classes=np.arange(10))
    clf.partial_fit(X[500:], y[500:])  # another size: the statistics follow
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 3
    assert clf.history_["forget_rate"] == pytest.approx([0.0, 0.25, 0.5])
    assert clf.sample_kept_.shape == (1000,)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X[:5], y[:5] + 20)


def test_partial_fit_classes_absent_from_first_batch(digits):
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST)
    first = y < 5
    clf.partial_fit(X[first], y[first], classes=np.arange(10))
    assert clf.predict_proba(X[:3]).shape == (3, 10)


def test_sample_weight_zero_equals_removal_from_the_loss(digits):
    """Weight 0 leaves a sample out of every update; shapes and order unchanged."""
    X, y, X_test, _ = digits
    X, y = X[:256], y[:256]
    w = np.ones(256)
    y_bad = y.copy()
    y_bad[:50] = (y[:50] + 1) % 10
    w[:50] = 0
    zero = CoTeachingClassifier(tiny_mlp, tau=0.0, **FAST).fit(X, y_bad, sample_weight=w)
    other = CoTeachingClassifier(tiny_mlp, tau=0.0, **FAST).fit(
        X, np.where(w == 0, (y + 2) % 10, y), sample_weight=w
    )
    # Labels of zero-weight samples do not matter.
    np.testing.assert_allclose(
        zero.predict_proba(X_test), other.predict_proba(X_test), rtol=1e-5, atol=1e-6
    )


def test_class_weight_balanced_and_dict(digits):
    X, y, _, _ = digits
    imbalanced = (y == 0).astype(int)
    for cw in ("balanced", {0: 1.0, 1: 9.0}):
        clf = CoTeachingClassifier(tiny_mlp, class_weight=cw, **FAST).fit(X, imbalanced)
        assert clf.predict(X).mean() > 0.05  # the rare class is predicted


def test_scikeras_model_function_works_unchanged(digits):
    keras = pytest.importorskip("keras")
    scikeras = pytest.importorskip("scikeras.wrappers")
    X, y, X_test, y_test = digits

    def get_clf_model(hidden_layer_sizes, meta, compile_kwargs):
        # Verbatim the pattern of scikeras's MLPClassifier tutorial.
        model = keras.Sequential()
        inp = keras.layers.Input(shape=(meta["n_features_in_"],))
        model.add(inp)
        for hidden_layer_size in hidden_layer_sizes:
            model.add(keras.layers.Dense(hidden_layer_size, activation="relu"))
        if meta["target_type_"] == "binary":
            n_output_units, output_activation, loss = 1, "sigmoid", "binary_crossentropy"
        else:
            n_output_units = meta["n_classes_"]
            output_activation, loss = "softmax", "sparse_categorical_crossentropy"
        model.add(keras.layers.Dense(n_output_units, activation=output_activation))
        model.compile(loss=loss, optimizer=compile_kwargs["optimizer"])
        return model

    reference = scikeras.KerasClassifier(
        get_clf_model,
        model__hidden_layer_sizes=(32,),
        epochs=5,
        verbose=0,
        optimizer__learning_rate=0.01,
        random_state=0,
    )
    reference.fit(X, y)
    ours = CoTeachingClassifier(
        get_clf_model,
        model__hidden_layer_sizes=(32,),
        epochs=5,
        optimizer__learning_rate=0.01,
        random_state=0,
    ).fit(X, y)
    assert ours.score(X_test, y_test) > 0.8
    assert reference.score(X_test, y_test) > 0.8
    # Binary: scikeras's one sigmoid unit is understood as P(positive class).
    yb = np.where(y > 4, "high", "low")
    binary = CoTeachingClassifier(
        get_clf_model,
        model__hidden_layer_sizes=(16,),
        epochs=5,
        optimizer__learning_rate=0.01,
        random_state=0,
    ).fit(X, yb)
    assert binary.peers_[0].output_shape[-1] == 1
    assert binary.score(X_test, np.where(y_test > 4, "high", "low")) > 0.8


@pytest.mark.parametrize(
    "n, batch_size, steps_per_execution",
    [(1000, 64, 16), (100, 128, 16), (1000, 64, 3), (1000, 1000, 1)],
)
def test_every_epoch_is_exactly_one_pass(digits, n, batch_size, steps_per_execution):
    # Keras runs whole executions of steps_per_execution steps; the epoch must
    # still end after ceil(n / batch_size) batches (16 batches a "epoch" on
    # 100 samples would train 16 times too long).
    X, y, _, _ = digits
    epochs = 3
    clf = CoTeachingClassifier(
        tiny_mlp,
        epochs=epochs,
        batch_size=batch_size,
        steps_per_execution=steps_per_execution,
        random_state=0,
    ).fit(X[:n], y[:n])
    assert int(clf.model_.optimizer.iterations) == epochs * -(-n // batch_size)


def test_training_order_is_a_seeded_permutation_per_epoch():
    import tensorflow as tf

    from skcoteach.backends.tensorflow._training import batch_positions, epoch_order

    dataset = batch_positions(10, 4)
    assert dataset.cardinality() == 3
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in dataset]), np.arange(10))
    orders = [epoch_order(10, 7, epoch).numpy() for epoch in range(5, 8)]
    for epoch, order in zip(range(5, 8), orders):
        assert sorted(order) == list(range(10))  # every sample once
        expected = tf.random.experimental.stateless_shuffle(
            tf.range(10, dtype=tf.int64), seed=[7, epoch]
        ).numpy()
        np.testing.assert_array_equal(order, expected)
    assert not np.array_equal(orders[0], orders[1])
    # The order depends on the epoch only: the same at epoch 6 of a resumed fit.
    np.testing.assert_array_equal(epoch_order(10, 7, 6), orders[1])
    np.testing.assert_array_equal(epoch_order(10), np.arange(10))


def _weights(clf):
    return [w for peer in clf.peers_ for w in peer.get_weights()]


@pytest.mark.parametrize("n, steps_per_execution", [(1000, 16), (1000, 3), (100, 1)])
def test_one_graph_training_function_equals_keras_function(
    digits, monkeypatch, n, steps_per_execution
):
    # PeerEnsemble replaces Keras's training function (nested tf.functions)
    # by one while loop over the same steps: it must train exactly as Keras's
    # function does, including the short last execution of an epoch.
    from skcoteach.backends.tensorflow._ensemble import PeerEnsemble

    X, y, _, _ = digits
    params = {
        "epochs": 3,
        "batch_size": 64,
        "steps_per_execution": steps_per_execution,
        "random_state": 0,
    }
    lean = CoTeachingClassifier(tiny_mlp, **params).fit(X[:n], y[:n])
    assert lean.model_.train_function.run_steps.experimental_get_tracing_count() == 1
    monkeypatch.setattr(PeerEnsemble, "_lean_train_function_applies", lambda self: False)
    keras_fn = CoTeachingClassifier(tiny_mlp, **params).fit(X[:n], y[:n])
    assert not hasattr(keras_fn.model_.train_function, "run_steps")
    for a, b in zip(_weights(lean), _weights(keras_fn)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in ("loss", "kept_fraction", "forget_rate"):
        np.testing.assert_allclose(lean.history_[key], keras_fn.history_[key], rtol=1e-5)
    np.testing.assert_allclose(lean.sample_loss_, keras_fn.sample_loss_, rtol=1e-5, atol=1e-6)
    assert int(lean.model_.optimizer.iterations) == int(keras_fn.model_.optimizer.iterations)


@pytest.mark.parametrize("lean", [True, False])
def test_warm_start_trains_on_the_new_arrays(digits, monkeypatch, lean):
    # The training step gathers its batches from the arrays of the current
    # fit: a warm start on other data of the same shape must train on that
    # data, with the traced one-graph function reused (the arrays are an
    # argument, not a capture) or with Keras's function traced again.
    from skcoteach.backends.tensorflow._ensemble import PeerEnsemble

    if not lean:
        monkeypatch.setattr(PeerEnsemble, "_lean_train_function_applies", lambda self: False)
    X, y, _, _ = digits
    params = {**FAST, "epochs": 1}
    first, second = slice(0, 500), slice(500, 1000)
    warm = CoTeachingClassifier(tiny_mlp, warm_start=True, **params).fit(X[first], y[first])
    weights_after_first = _weights(warm)
    warm.fit(X[second], y[second])
    if lean:
        assert warm.model_.train_function.run_steps.experimental_get_tracing_count() == 1
    # The same two fits with the second one's data on a fresh model, starting
    # from the weights the first fit left:
    fresh = CoTeachingClassifier(tiny_mlp, warm_start=True, **params).fit(X[first], y[first])
    for a, b in zip(_weights(fresh), weights_after_first):
        np.testing.assert_array_equal(a, b)
    fresh.fit(X[second], y[second])
    for a, b in zip(_weights(warm), _weights(fresh)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    stale = CoTeachingClassifier(tiny_mlp, warm_start=True, **params).fit(X[first], y[first])
    stale.fit(X[first], y[first])
    assert not np.allclose(_weights(stale)[0], _weights(warm)[0])
    assert warm.model_._training_arrays == ()  # the fitted model keeps no copy of X


def test_index_batches_need_training_arrays(digits):
    import tensorflow as tf

    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X[:200], y[:200])
    positions = tf.data.Dataset.range(200).batch(64)
    with pytest.raises(ValueError, match="only sample indices, but no training arrays"):
        clf.model_.fit(positions, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match="same length"):
        clf.model_.set_training_arrays(X[:200], y[:100], np.ones(200))
    with pytest.raises(ValueError, match="only sample indices, but no validation arrays"):
        clf.model_.evaluate(positions, verbose=0)


def test_validation_batches_by_index_or_tuple(digits):
    import tensorflow as tf

    X, y, _, _ = digits
    A, B = (X[600:800], y[600:800]), (X[800:1000], y[800:1000])
    clf = CoTeachingClassifier(tiny_mlp, warm_start=True, **FAST)
    clf.fit(X[:600], y[:600], validation_data=A)
    assert clf.model_._validation_arrays == ()  # the fitted model keeps no copy
    # A warm start with other validation data reports on those (the test
    # function is traced again, not left with the previous arrays).
    clf.fit(X[:600], y[:600], validation_data=B)
    X_b, y_b, w_b = clf._check_validation_data(B)
    tuples = tf.data.Dataset.from_tensor_slices((X_b, y_b, w_b)).batch(64)
    on_tuples = clf.model_.evaluate(tuples, verbose=0, return_dict=True)
    assert clf.history_["val_loss"][-1] == pytest.approx(on_tuples["loss"], rel=1e-5)
    assert clf.history_["val_accuracy"][-1] == pytest.approx(on_tuples["accuracy"], rel=1e-5)
    assert clf.history_["val_loss"][-1] != pytest.approx(clf.history_["val_loss"][1], rel=1e-3)
    clf.model_.set_validation_arrays(X_b, y_b, w_b)
    on_index = clf.model_.evaluate(clf._batch_positions(200), verbose=0, return_dict=True)
    assert on_index["loss"] == pytest.approx(on_tuples["loss"], rel=1e-5)


def test_training_function_falls_back_to_keras(digits):
    # train_on_batch passes a Python iterator, run_eagerly wants no graph:
    # both go through Keras's own function.
    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X[:200], y[:200])
    model = clf.model_
    before = int(model.optimizer.iterations)
    batch = (
        X[:32].astype(np.float32),
        np.searchsorted(clf.classes_, y[:32]).astype(np.int32),
        np.ones(32, np.float32),
        np.arange(32),
    )
    logs = model.train_function(iter([batch]))  # what train_on_batch passes
    assert int(model.optimizer.iterations) == before + 1
    assert set(logs) >= {"loss", "kept_fraction", "forget_rate"}
    model.run_eagerly = True
    assert not model._lean_train_function_applies()


@pytest.mark.filterwarnings("ignore:Your input ran out of data")  # Keras's, every epoch
def test_training_function_ends_a_dataset_of_unknown_length(digits):
    # With a declared length Keras never asks past the end; a dataset of
    # unknown length ends an epoch by raising StopIteration, as Keras's does.
    import tensorflow as tf

    X, y, _, _ = digits
    clf = CoTeachingClassifier(tiny_mlp, **FAST).fit(X[:200], y[:200])
    model = clf.model_
    arrays = (
        X[:100].astype(np.float32),
        np.searchsorted(clf.classes_, y[:100]).astype(np.int32),
        np.ones(100, np.float32),
        np.arange(100),
    )
    data = tf.data.Dataset.from_tensor_slices(arrays).batch(16).filter(lambda *a: True)
    assert int(data.cardinality()) == int(tf.data.UNKNOWN_CARDINALITY)
    before = int(model.optimizer.iterations)
    model.fit(data, epochs=2, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations) == before + 2 * 7
