"""The update rule on crafted batches: who is trained on what."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from skcoteach import rules  # noqa: E402
from skcoteach.backends.tensorflow._ensemble import PeerEnsemble  # noqa: E402
from skcoteach.schedules import n_kept  # noqa: E402

pytestmark = pytest.mark.tensorflow_only(
    'the rules on TensorFlow tensors and graphs (backend-neutral rules: test_codebase, test_jax_backend)'
)


def test_cross_entropy_picks_the_label():
    log_probs = tf.math.log(tf.constant([[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]] * 2))
    y = tf.constant([0, 2])
    np.testing.assert_allclose(
        rules.cross_entropy(log_probs, y), -np.log([[0.7, 0.8]] * 2), rtol=1e-6
    )


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 7, 10, 33, 128])
@pytest.mark.parametrize("fraction", [1.0, 0.99, 0.9, 0.75, 0.7, 1 - 0.3, 0.55, 0.5, 0.2, 0.01])
def test_n_keep_matches_schedule_module(batch, fraction):
    assert int(rules.n_keep(batch, fraction)) == n_kept(batch, fraction)


def test_two_peers_cross_update():
    losses = tf.constant(
        [[0.1, 5.0, 0.3, 4.0, 0.2, 3.0], [3.0, 0.2, 4.0, 0.1, 5.0, 0.3]], tf.float32
    )
    _, peer_losses, mask = rules.coteaching(losses, None, 0.5, tf.ones(6))
    # Peer 0 is trained on peer 1's three smallest (samples 1, 3, 5), and peer 1
    # on peer 0's (samples 0, 2, 4).
    np.testing.assert_array_equal(mask, [[0, 1, 0, 1, 0, 1], [1, 0, 1, 0, 1, 0]])
    np.testing.assert_allclose(peer_losses, [(5 + 4 + 3) / 3, (3 + 4 + 5) / 3])


@settings(max_examples=40, deadline=None)
@given(
    n_rows=st.integers(1, 3),
    batch=st.integers(1, 300),
    share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
)
def test_smallest_mask_keeps_exactly_the_k_smallest(n_rows, batch, share, seed, ties):
    rng = np.random.RandomState(seed)
    scores = rng.randint(0, 4, (n_rows, batch)) if ties else rng.lognormal(size=(n_rows, batch))
    scores = scores.astype(np.float32)
    k = round(share * batch)
    mask = rules.smallest_mask(tf.constant(scores), tf.constant(k)).numpy()
    assert mask.shape == scores.shape and mask.dtype == np.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_array_equal(mask.sum(axis=1), [k] * n_rows)
    for row, kept in zip(scores, mask.astype(bool)):
        if 0 < k < batch:
            assert row[kept].max() <= row[~kept].min()


def test_smallest_mask_is_linear_in_the_batch_size():
    # No intermediate tensor larger than a few rows of the batch (one-hot rows
    # of the kept indices would be (2, 700, 1000): 3 ms per step at batch 2048).
    n_rows, batch, k = 2, 1000, 700
    graph = (
        tf.function(lambda s: rules.smallest_mask(s, k))
        .get_concrete_function(tf.TensorSpec((n_rows, batch), tf.float32))
        .graph
    )
    sizes = [
        out.shape.num_elements() for op in graph.get_operations() for out in op.outputs
    ]
    assert None not in sizes
    assert max(sizes) <= 2 * n_rows * batch


def test_peer_view_is_an_exact_swap_for_two_peers():
    losses = tf.constant(np.random.RandomState(0).lognormal(size=(2, 50)), tf.float32)
    np.testing.assert_array_equal(rules.peer_view(losses), losses.numpy()[::-1])


def test_more_peers_rank_by_mean_of_the_others():
    losses = tf.constant([[0.0, 9.0, 1.0, 1.0], [2.0, 0.0, 9.0, 3.0], [4.0, 0.0, 1.0, 9.0]])
    _, _, mask = rules.coteaching(losses, None, 0.5, tf.ones(4))
    # Means of the others: peer 0 sees [3, 0, 5, 6] -> samples 0, 1
    #                      peer 1 sees [2, 4.5, 1, 5] -> samples 0, 2
    #                      peer 2 sees [1, 4.5, 5, 2] -> samples 0, 3
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1]])


@pytest.mark.parametrize("batch, fraction", [(1, 0.01), (3, 0.1), (2, 0.2)])
def test_at_least_one_sample_is_kept(batch, fraction):
    losses = tf.constant(np.arange(2 * batch, dtype=np.float32).reshape(2, batch))
    _, _, mask = rules.coteaching(losses, None, fraction, tf.ones(batch))
    np.testing.assert_array_equal(tf.reduce_sum(mask, axis=1), [1, 1])


def test_sample_weight_weights_but_does_not_select():
    losses = tf.constant([[1.0, 2.0, 9.0], [1.0, 2.0, 9.0]])
    weights = tf.constant([0.0, 3.0, 100.0])
    _, peer_losses, mask = rules.coteaching(losses, None, 2 / 3, weights)
    # Selection by loss only: samples 0 and 1; a zero weight removes sample 0
    # from the mean; the heavy sample 2 is still rejected.
    np.testing.assert_array_equal(mask, [[1, 1, 0], [1, 1, 0]])
    np.testing.assert_allclose(peer_losses, [2.0, 2.0])


def _fixed_peer(seed):
    rng = np.random.RandomState(seed)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.set_weights([rng.normal(size=(4, 3)), rng.normal(size=3)])
    return model


def test_peer_gradient_comes_only_from_partner_selection():
    """Compile with SGD(lr=1): a peer's weight change is minus its gradient."""
    rng = np.random.RandomState(1)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.randint(0, 3, size=8).astype(np.int32)
    peers = [_fixed_peer(10), _fixed_peer(11)]
    before = [[w.copy() for w in p.get_weights()] for p in peers]
    ensemble = PeerEnsemble(peers, output_kind="probabilities", n_samples=8)
    ensemble.forget_rate.assign(0.5)  # keep 4 of 8
    ensemble(x)
    ensemble.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0))

    # Each peer's own per-sample losses, from the fixed weights.
    own = [-np.log(p(x).numpy()[np.arange(8), y]) for p in peers]
    chosen_by = [set(np.argsort(loss)[:4]) for loss in own]

    ensemble.train_step((x, y, np.ones(8, np.float32), np.arange(8)))

    for p, partner in ((0, 1), (1, 0)):
        fresh = _fixed_peer(10 + p)
        selected = sorted(chosen_by[partner])
        with tf.GradientTape() as tape:
            probs = fresh(x[selected])
            loss = tf.reduce_mean(-tf.math.log(tf.gather(probs, y[selected], batch_dims=1)))
        expected = tape.gradient(loss, fresh.trainable_variables)
        delta = [b - a for b, a in zip(before[p], peers[p].get_weights())]
        for d, g in zip(delta, expected):
            np.testing.assert_allclose(d, g.numpy(), rtol=1e-4, atol=1e-6)
    # The recorded per-sample statistics: kept by how many peers, in [0, 1].
    kept = ensemble.sample_statistics()["kept"]
    expected_kept = [(i in chosen_by[0]) / 2 + (i in chosen_by[1]) / 2 for i in range(8)]
    np.testing.assert_allclose(kept, expected_kept)


def test_changing_rejected_labels_leaves_gradient_unchanged():
    rng = np.random.RandomState(2)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    y = rng.randint(0, 3, size=6).astype(np.int32)
    partner = _fixed_peer(21)
    partner_loss = -np.log(partner(x).numpy()[np.arange(6), y])
    rejected = np.argsort(partner_loss)[3:]

    def peer0_update(labels):
        peers = [_fixed_peer(20), _fixed_peer(21)]
        before = peers[0].get_weights()
        ens = PeerEnsemble(peers, output_kind="probabilities", n_samples=6)
        ens.forget_rate.assign(0.5)
        ens(x)
        ens.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0))
        ens.train_step((x, labels, np.ones(6, np.float32), np.arange(6)))
        return [b - a for b, a in zip(before, peers[0].get_weights())]

    y_changed = y.copy()
    # Changing a rejected sample's label can only raise peer 1's loss on it
    # if it was already its worst; make it certainly large: pick a class the
    # partner gives the lowest probability.
    probs = partner(x).numpy()
    y_changed[rejected] = np.argmin(probs[rejected], axis=1)
    for a, b in zip(peer0_update(y), peer0_update(y_changed)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def _log_probs(predicted, n_classes=3, confidence=0.8):
    """Log-probabilities whose argmax per peer and sample is ``predicted``."""
    predicted = np.asarray(predicted)
    probs = np.full(predicted.shape + (n_classes,), (1 - confidence) / (n_classes - 1))
    np.put_along_axis(probs, predicted[..., None], confidence, axis=-1)
    return tf.math.log(tf.constant(probs, tf.float32))


def test_coteaching_plus_exchanges_only_disagreeing_samples():
    # Samples 1, 2, 4, 5 are disagreements; 0 and 3 are not.
    log_probs = _log_probs([[0, 1, 2, 0, 1, 2], [0, 2, 0, 0, 0, 1]])
    losses = tf.constant([[0.1, 0.5, 0.2, 0.1, 0.9, 0.3], [0.1, 0.8, 0.6, 0.1, 0.2, 0.4]])
    total, peer_losses, mask = rules.coteaching_plus(losses, log_probs, 0.5, tf.ones(6), 1)
    # 2 of the 4 disagreements: peer 0 gets peer 1's smallest (4: 0.2, 5: 0.4),
    # peer 1 gets peer 0's smallest (2: 0.2, 5: 0.3).
    np.testing.assert_array_equal(mask, [[0, 0, 0, 0, 1, 1], [0, 0, 1, 0, 0, 1]])
    np.testing.assert_allclose(peer_losses, [(0.9 + 0.3) / 2, (0.6 + 0.4) / 2], rtol=1e-6)
    np.testing.assert_allclose(total, sum(peer_losses.numpy()), rtol=1e-6)


def test_coteaching_plus_is_coteaching_during_init_epochs():
    log_probs = _log_probs([[0, 1, 2, 0], [0, 2, 0, 0]])
    losses = tf.constant([[0.1, 0.5, 0.2, 0.7], [0.3, 0.8, 0.6, 0.1]])
    plus = rules.coteaching_plus(losses, log_probs, 0.5, tf.ones(4), 2, init_epochs=3)
    plain = rules.coteaching(losses, log_probs, 0.5, tf.ones(4))
    np.testing.assert_array_equal(plus.keep_mask, plain.keep_mask)
    np.testing.assert_allclose(plus.total_loss, plain.total_loss)


def test_coteaching_plus_without_disagreement_gives_no_gradient():
    log_probs = _log_probs([[0, 1, 2], [0, 1, 2]])
    losses = tf.Variable([[0.1, 0.5, 0.2], [0.3, 0.8, 0.6]])
    with tf.GradientTape() as tape:
        total, peer_losses, mask = rules.coteaching_plus(losses, log_probs, 0.5, tf.ones(3), 5)
    assert float(total) == 0.0
    np.testing.assert_array_equal(mask, np.zeros((2, 3)))
    np.testing.assert_array_equal(tape.gradient(total, losses), np.zeros((2, 3)))


def test_coteaching_plus_keeps_one_of_a_single_disagreement():
    log_probs = _log_probs([[0, 1, 2, 0], [0, 1, 2, 1]])
    losses = tf.constant([[0.1, 0.5, 0.2, 0.7], [0.3, 0.8, 0.6, 0.1]])
    _, _, mask = rules.coteaching_plus(losses, log_probs, 0.1, tf.ones(4), 0)
    np.testing.assert_array_equal(mask, [[0, 0, 0, 1], [0, 0, 0, 1]])


def test_symmetric_kl_matches_definition():
    rng = np.random.RandomState(0)
    for n_peers in (2, 3):
        p = rng.dirichlet(np.ones(4), size=(n_peers, 5))
        expected = sum(
            np.sum(p[a] * (np.log(p[a]) - np.log(p[b])), axis=-1)
            for a in range(n_peers)
            for b in range(n_peers)
            if a != b
        )
        got = rules.symmetric_kl(tf.math.log(tf.constant(p, tf.float64)))
        np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_jocor_selects_smallest_joint_loss_and_trains_jointly():
    p1 = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.6, 0.3, 0.1]])
    p2 = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3], [0.1, 0.1, 0.8]])
    y = np.array([0, 1, 2, 0])
    log_probs = tf.math.log(tf.constant(np.stack([p1, p2]), tf.float64))
    losses = rules.cross_entropy(log_probs, tf.constant(y))
    lam = 0.3
    ce = -np.log(p1[range(4), y]) - np.log(p2[range(4), y])
    kl = np.sum(p1 * np.log(p1 / p2) + p2 * np.log(p2 / p1), axis=1)
    joint = (1 - lam) * ce + lam * kl
    total, peer_losses, mask = rules.jocor(
        losses, log_probs, 0.5, tf.ones(4, tf.float64), co_lambda=lam
    )
    chosen = np.argsort(joint)[:2]
    expected_mask = np.zeros(4)
    expected_mask[chosen] = 1
    np.testing.assert_array_equal(mask, [expected_mask, expected_mask])
    np.testing.assert_allclose(total, joint[chosen].mean(), rtol=1e-10)
    np.testing.assert_allclose(peer_losses[0], -np.log(p1[chosen, y[chosen]]).mean(), rtol=1e-10)


def test_jocor_lambda_zero_is_mean_cross_entropy():
    log_probs = _log_probs([[0, 1, 2, 0], [0, 2, 0, 0]])
    y = tf.constant([0, 1, 2, 0])
    losses = rules.cross_entropy(log_probs, y)
    total, _, mask = rules.jocor(losses, log_probs, 1.0, tf.ones(4), co_lambda=0.0)
    np.testing.assert_allclose(total, tf.reduce_sum(losses) / 4, rtol=1e-6)
    assert mask.numpy().sum() == 8


def test_the_registry_declares_each_rules_options_and_orders():
    from skcoteach import CoTeachingClassifier
    from skcoteach._rule_registry import REGISTRY

    assert set(rules.RULES) == set(REGISTRY)
    for name, spec in REGISTRY.items():
        signature = inspect.signature(rules.RULES[name]).parameters
        options = [p for p in signature if p not in rules._STEP_ARGUMENTS]
        assert sorted(options) == sorted(spec.options), name
        clf = CoTeachingClassifier(strategy=name)
        assert clf._training_order() == spec.default_order
    assert CoTeachingClassifier(strategy="jocor", shuffle=False)._training_order() is False
