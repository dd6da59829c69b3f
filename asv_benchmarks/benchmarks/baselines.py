"""Models and baseline training loops the suite measures the library against.

Moved from ``benchmarks/_speed_baselines.py`` (the hand-written harness) with
their behaviour unchanged; the estimator-like classes at the end wrap them for
``baseline_fits.py``.  Nothing is imported at module level except NumPy, so
that a PyTorch benchmark never imports TensorFlow and vice versa.

Baselines
---------
``plain_fits``
    The two peers fitted one after the other with ``keras.Model.fit`` at Keras
    defaults (``compile(optimizer="adam",
    loss="sparse_categorical_crossentropy")``, ``steps_per_execution=1``,
    ``shuffle=True``); ``verbose=0`` as for the library.
``notebook_loop``
    Re-implementation of the training loop of the Keras Co-teaching notebook
    ``coteaching.ipynb`` of github.com/e-dorigatti/gaussian_processes (class
    ``CoTeach``): one-hot labels, models compiled with
    ``categorical_crossentropy``/``adam``/``accuracy``, ``sklearn.utils.shuffle``
    of the arrays every epoch, and per mini-batch, for each peer in turn:
    ``peer.predict(batch)``, per-sample cross-entropy in NumPy, small-loss
    selection, ``partner.train_on_batch(selected)``.  As the brief asks, the
    selection is ``argsort(loss)[:int(R * len)]`` (the notebook used the
    equivalent ``loss < np.quantile(loss, R)``), and ``predict`` gets
    ``verbose=0`` (the notebook's Keras 2 was silent by default; Keras 3 would
    print a progress bar per call).
``tf_loop``
    The same Co-teaching training written as a minimal TensorFlow program, no
    Keras and no library: the two MLPs' weights as raw variables (Glorot
    uniform, zero biases), the data as in-memory tensors, per epoch a
    stateless shuffle, and one ``tf.function`` call per 16 batches that runs
    per batch: both forward passes, the fused sparse softmax cross-entropy,
    ``top_k`` of each peer's negated loss for ``max(1, round(R * batch))``
    samples, the cross update as the gradient of the two peers' mean losses on
    their partner's selection, and TensorFlow's fused Adam kernel.  It keeps
    no per-sample statistics and no logs.  What the library adds on top of it
    (model building from a factory, the update-rule interface, per-sample
    statistics, logs, Keras's fit loop) is the library's overhead.  With
    ``select=False`` it trains both MLPs on every sample instead (no
    ``top_k``, no cross update): the bound on what any TensorFlow program
    of two peers costs per step.
``torch_loop``
    Port of the training loop of the official PyTorch code
    (github.com/bhanML/Co-teaching, ``main.py`` ``train`` and ``loss.py``
    ``loss_coteaching``): per-sample ``F.cross_entropy(reduction="none")``,
    ``np.argsort`` on the CPU copy, ``num_remember = int(remember_rate *
    len)``, cross update, two Adam optimisers, ``model.train()``, a
    ``DataLoader`` over in-memory tensors with ``shuffle=True``.  Left out:
    the accuracy / pure-ratio bookkeeping of ``train`` (makes the baseline
    faster, never slower), ``num_workers=4`` (the data are in-memory tensors;
    worker processes only cost on 2 cores), ``drop_last=True`` (so that every
    method sees the same samples).  Kept: the official ``sum(mean) /
    num_remember`` loss scaling, harmless for speed.
"""

import time

import numpy as np

#: Reference of the notebook the CNN and ``notebook_loop`` come from.
NOTEBOOK = "github.com/e-dorigatti/gaussian_processes coteaching.ipynb (class CoTeach, make_model)"
TORCH_REFERENCE = "github.com/bhanML/Co-teaching main.py train() + loss.py loss_coteaching()"


def forget_rate(epoch, tau, Tk, c=1.0):
    """Forget rate of Co-teaching at a 0-based epoch (same as skcoteach.schedules)."""
    return float(tau) * min((epoch / Tk) ** c, 1.0)


# ----------------------------------------------------------------------------
# Model factories (uncompiled Keras models, as CoTeachingClassifier expects)
# ----------------------------------------------------------------------------
def mlp(meta):
    """784-256-10 MLP: ReLU hidden layer, softmax output."""
    import keras

    inputs = keras.Input(shape=(meta["n_features_in_"],))
    hidden = keras.layers.Dense(256, activation="relu")(inputs)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden)
    return keras.Model(inputs, outputs)


def notebook_cnn(meta):
    """``make_model()`` of the Co-teaching Keras notebook, without its compile.

    Nine 3x3 ``same`` convolutions (4, 4, 4, 8, 8, 8, 16, 16, 16 filters), each
    followed by LeakyReLU(0.01), batch normalisation and two 2x2 max-poolings
    as in the notebook, global average pooling, Dense(12) + LeakyReLU + BN and
    a softmax output.
    """
    import keras
    from keras import layers as L

    def conv(n):
        return [L.Conv2D(n, (3, 3), padding="same"), L.LeakyReLU(0.01)]

    shape = tuple(meta["X_shape_"][1:])
    return keras.Sequential(
        [keras.Input(shape=shape)]
        + conv(4) + [L.BatchNormalization()]
        + conv(4) + [L.BatchNormalization()]
        + conv(4) + [L.MaxPooling2D((2, 2), strides=2), L.BatchNormalization()]
        + conv(8) + [L.BatchNormalization()]
        + conv(8) + [L.BatchNormalization()]
        + conv(8) + [L.MaxPooling2D((2, 2)), L.BatchNormalization()]
        + conv(16) + [L.BatchNormalization()]
        + conv(16) + [L.BatchNormalization()]
        + conv(16) + [L.GlobalAveragePooling2D(), L.BatchNormalization()]
        + [L.Dense(12), L.LeakyReLU(0.01), L.BatchNormalization()]
        + [L.Dense(meta["n_classes_"], activation="softmax")]
    )


FACTORIES = {"mlp": mlp, "notebook_cnn": notebook_cnn}


def mlp_forward_flops(n_features=784, hidden=256, n_classes=10):
    """Multiply-add FLOPs (2 per MAC) of one MLP forward pass for one sample."""
    return 2 * (n_features * hidden + hidden * n_classes)


def mlp_training_flops(n_features=784, hidden=256, n_classes=10):
    """Matrix-product FLOPs of one training step of the MLP, per sample.

    The five products a step computes: forward ``X@W1`` and ``H@W2``, backward
    ``H^T@dO`` (gradient of ``W2``), ``dO@W2^T`` (gradient of the hidden
    layer) and ``X^T@dH`` (gradient of ``W1``).  The gradient with respect to
    the input, ``dH@W1^T``, is not computed (TensorFlow skips gradients that
    nothing needs), so this is less than the usual "3 x forward" convention:
    ``4 F H + 6 H C`` instead of ``6 F H + 6 H C``.
    """
    return 2 * (2 * n_features * hidden + 3 * hidden * n_classes)


# ----------------------------------------------------------------------------
# Baseline 1: separate plain keras.Model.fit of every peer
# ----------------------------------------------------------------------------
def plain_fits(factory, meta, X, y, epochs, batch_size, n_peers=2):
    """Fit ``n_peers`` models one after the other with ``keras.Model.fit``.

    Returns the fitted models and the duration of each model's fit.
    """
    models, durations = [], []
    for _ in range(n_peers):
        model = factory(meta)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        t0 = time.perf_counter()
        model.fit(X, y, epochs=epochs, batch_size=batch_size, verbose=0)
        durations.append(time.perf_counter() - t0)
        models.append(model)
    return models, durations


# ----------------------------------------------------------------------------
# Baseline 2: the Keras notebook's loop (predict + NumPy + train_on_batch)
# ----------------------------------------------------------------------------
def notebook_loop(factory, meta, X, y, epochs, batch_size, tau, Tk, c=1.0, seed=0):
    """Co-teaching as the Keras notebook trains it; returns (models, epoch durations)."""
    import keras
    from sklearn.utils import shuffle

    n_classes = meta["n_classes_"]
    models = []
    for _ in range(2):
        model = factory(meta)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        models.append(model)
    Y = keras.utils.to_categorical(y, n_classes).astype(np.float32)
    rng = np.random.RandomState(seed)

    def samplewise_categorical_crossentropy(y_true, y_pred):
        return -np.log(y_pred[y_true == 1] + 1e-12)

    def clean_instances(batch_x, batch_y, model, r):
        preds = model.predict(batch_x, verbose=0)
        losses = samplewise_categorical_crossentropy(batch_y, preds)
        keep = np.argsort(losses)[: int(r * len(losses))]
        return batch_x[keep], batch_y[keep]

    durations = []
    N = len(X)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        r = 1.0 - forget_rate(epoch, tau, Tk, c)
        X, Y = shuffle(X, Y, random_state=rng)
        for start in range(0, N, batch_size):
            bx, by = X[start : start + batch_size], Y[start : start + batch_size]
            # For every model, pick its clean samples and train the other one.
            for i, model in enumerate(models):
                cx, cy = clean_instances(bx, by, model, r)
                for j, partner in enumerate(models):
                    if i != j:
                        partner.train_on_batch(cx, cy)
        durations.append(time.perf_counter() - t0)
    return models, durations


# ----------------------------------------------------------------------------
# Baseline: the same training as a minimal TensorFlow program
# ----------------------------------------------------------------------------
def tf_loop(X, y, epochs, batch_size, tau, Tk, c=1.0, seed=0, hidden=256, lr=0.001,
            steps_per_call=16, select=True):
    """Co-teaching of two MLPs in plain TensorFlow; returns (weights, epoch durations).

    ``weights`` is a list of the two peers' ``[W1, b1, W2, b2]`` variables.
    With ``select=False`` the two MLPs are trained side by side on every
    sample of every batch (standard training, no selection, no cross update):
    the least work any training of the two peers does per step.
    """
    import tensorflow as tf

    n, n_features = X.shape
    n_classes = int(y.max()) + 1
    n_batches = -(-n // batch_size)
    data_x, data_y = tf.convert_to_tensor(X), tf.convert_to_tensor(y.astype(np.int32))

    def glorot(shape, s):
        limit = np.sqrt(6.0 / sum(shape))
        return tf.random.stateless_uniform(shape, [seed, s], -limit, limit)

    peers = [
        [tf.Variable(glorot((n_features, hidden), 2 * p)), tf.Variable(tf.zeros([hidden])),
         tf.Variable(glorot((hidden, n_classes), 2 * p + 1)), tf.Variable(tf.zeros([n_classes]))]
        for p in range(2)
    ]
    variables = [v for peer in peers for v in peer]
    moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
    step = tf.Variable(0.0)
    order = tf.Variable(tf.zeros([n], tf.int64))
    batch = tf.Variable(0, dtype=tf.int64)
    keep = tf.Variable(1.0)

    def train_batch(positions):
        x, t = tf.gather(data_x, positions), tf.gather(data_y, positions)
        size = tf.shape(positions)[0]
        k = tf.maximum(1, tf.cast(tf.round(keep * tf.cast(size, tf.float32)), tf.int32))
        with tf.GradientTape() as tape:
            losses = [tf.nn.sparse_softmax_cross_entropy_with_logits(t, tf_mlp_logits(p, x))
                      for p in peers]
            if select:
                picks = [tf.math.top_k(-tf.stop_gradient(loss), k).indices for loss in losses]
                total = (tf.reduce_mean(tf.gather(losses[0], picks[1]))
                         + tf.reduce_mean(tf.gather(losses[1], picks[0])))
            else:
                total = tf.reduce_mean(losses[0]) + tf.reduce_mean(losses[1])
        grads = tape.gradient(total, variables)
        t_step = step.assign_add(1.0)
        beta1_power, beta2_power = tf.pow(0.9, t_step), tf.pow(0.999, t_step)
        for v, (m, s), g in zip(variables, moments, grads):
            tf.raw_ops.ResourceApplyAdam(
                var=v.handle, m=m.handle, v=s.handle, beta1_power=beta1_power,
                beta2_power=beta2_power, lr=lr, beta1=0.9, beta2=0.999, epsilon=1e-7, grad=g,
            )

    @tf.function
    def run_steps():
        for _ in tf.range(steps_per_call):
            b = batch.assign_add(1) - 1
            if b < n_batches:
                train_batch(order[b * batch_size : (b + 1) * batch_size])

    durations = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        keep.assign(1.0 - forget_rate(epoch, tau, Tk, c))
        order.assign(tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), [seed, epoch]))
        batch.assign(0)
        for _ in range(-(-n_batches // steps_per_call)):
            run_steps()
        float(step.numpy())  # wait for the last step
        durations.append(time.perf_counter() - t0)
    return peers, durations


def tf_mlp_logits(peer, x):
    """Logits of one peer ``[W1, b1, W2, b2]`` of :func:`tf_loop`."""
    import tensorflow as tf

    w1, b1, w2, b2 = peer
    return tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2


# ----------------------------------------------------------------------------
# Baseline 3: port of the official PyTorch training loop
# ----------------------------------------------------------------------------
def torch_mlp(n_features=784, hidden=256, n_classes=10):
    """The 784-256-10 MLP as a ``torch.nn.Sequential`` (logits out)."""
    import torch.nn as nn

    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


def loss_coteaching(y_1, y_2, t, forget_rate):
    """``loss.py`` of bhanML/Co-teaching, without the pure-ratio bookkeeping."""
    import torch
    import torch.nn.functional as F

    loss_1 = F.cross_entropy(y_1, t, reduction="none")
    ind_1_sorted = torch.from_numpy(np.argsort(loss_1.data.cpu().numpy()))
    loss_1_sorted = loss_1[ind_1_sorted]

    loss_2 = F.cross_entropy(y_2, t, reduction="none")
    ind_2_sorted = torch.from_numpy(np.argsort(loss_2.data.cpu().numpy()))

    remember_rate = 1 - forget_rate
    num_remember = int(remember_rate * len(loss_1_sorted))

    ind_1_update = ind_1_sorted[:num_remember]
    ind_2_update = ind_2_sorted[:num_remember]
    # exchange
    loss_1_update = F.cross_entropy(y_1[ind_2_update], t[ind_2_update])
    loss_2_update = F.cross_entropy(y_2[ind_1_update], t[ind_1_update])
    return torch.sum(loss_1_update) / num_remember, torch.sum(loss_2_update) / num_remember


def torch_loop(X, y, epochs, batch_size, tau, Tk, c=1.0, seed=0, threads=None, lr=0.001):
    """Official Co-teaching training loop on the MLP; returns (models, epoch durations)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    dataset = TensorDataset(
        torch.from_numpy(X), torch.from_numpy(y.astype(np.int64)), torch.arange(len(X))
    )
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    n_classes = int(y.max()) + 1
    model1, model2 = torch_mlp(X.shape[1], 256, n_classes), torch_mlp(X.shape[1], 256, n_classes)
    optimizer1 = torch.optim.Adam(model1.parameters(), lr=lr)
    optimizer2 = torch.optim.Adam(model2.parameters(), lr=lr)
    durations = []
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model1.train()
        model2.train()
        rate = forget_rate(epoch, tau, Tk, c)
        for images, labels, _indexes in loader:
            logits1 = model1(images)
            logits2 = model2(images)
            loss_1, loss_2 = loss_coteaching(logits1, logits2, labels, rate)
            optimizer1.zero_grad()
            loss_1.backward()
            optimizer1.step()
            optimizer2.zero_grad()
            loss_2.backward()
            optimizer2.step()
        durations.append(time.perf_counter() - t0)
    return (model1, model2), durations


# ----------------------------------------------------------------------------
# Matmul rate of this machine, with the GEMM shapes of one MLP training step
# ----------------------------------------------------------------------------
class MatmulRate:
    """Achieved float32 matmul rate (FLOP/s) for the MLP's training GEMMs.

    One iteration runs the five GEMMs of a training step of the 784-256-10
    MLP at batch 128 (:func:`mlp_training_flops`): forward ``X@W1``,
    ``H@W2``; backward ``H^T@dO``, ``dO@W2^T``, ``X^T@dH``.  The input batch
    rotates through a small stack so that nothing is loop-invariant.
    """

    def __init__(self, batch=128, n_features=784, hidden=256, n_classes=10, n_batches=8):
        import tensorflow as tf

        rng = np.random.RandomState(0)
        self.xs = tf.constant(rng.rand(n_batches, batch, n_features).astype(np.float32))
        self.w1 = tf.constant(rng.randn(n_features, hidden).astype(np.float32) * 0.05)
        self.w2 = tf.constant(rng.randn(hidden, n_classes).astype(np.float32) * 0.05)
        self.d_out = tf.constant(rng.randn(batch, n_classes).astype(np.float32))
        self.flops_per_iter = batch * mlp_training_flops(n_features, hidden, n_classes)
        n = n_batches

        @tf.function
        def run(iterations):
            acc = tf.constant(0.0)
            for i in tf.range(iterations):
                x = tf.gather(self.xs, i % n)
                h = tf.matmul(x, self.w1)
                o = tf.matmul(h, self.w2)
                d_w2 = tf.matmul(h, self.d_out, transpose_a=True)
                d_h = tf.matmul(self.d_out, self.w2, transpose_b=True)
                d_w1 = tf.matmul(x, d_h, transpose_a=True)
                acc += o[0, 0] + d_w2[0, 0] + d_w1[0, 0]
            return acc

        self._run = run
        self._run(tf.constant(5))  # trace and warm up

    def measure(self, iterations=300, repeats=3):
        """Rates (FLOP/s) of ``repeats`` runs of ``iterations`` steps each."""
        import tensorflow as tf

        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            self._run(tf.constant(iterations)).numpy()
            rates.append(self.flops_per_iter * iterations / (time.perf_counter() - t0))
        return rates


# ----------------------------------------------------------------------------
# Estimator-like wrappers: fit(X, y) runs a loop, predict_proba(X) uses peer 0
# ----------------------------------------------------------------------------
def _meta(X, y):
    return {"n_features_in_": X.shape[1], "n_classes_": int(y.max()) + 1, "X_shape_": X.shape}


class LoopBaseline:
    """A baseline as an estimator: ``fit(X, y)`` trains, ``predict_proba`` uses one peer.

    Parameters
    ----------
    method : {"plain", "notebook", "tfloop", "tfloop_noselect", "torch"}
        :func:`plain_fits`, :func:`notebook_loop`, :func:`tf_loop` (with or
        without the selection) or :func:`torch_loop`.
    model : {"mlp", "notebook_cnn"}
        Model factory of the Keras methods (the other loops train the MLP).
    epochs, batch_size : int
        Training length and mini-batch size.
    tau, Tk, c : float
        Co-teaching schedule of the loops that select.
    seed : int
        Seed of Keras's / the loop's random numbers.
    threads : int, optional
        ``torch.set_num_threads`` of the PyTorch loop.
    """

    def __init__(self, method, model="mlp", epochs=3, batch_size=128, tau=0.5, Tk=10, c=1.0,
                 seed=0, threads=None):
        self.method, self.model, self.epochs, self.batch_size = method, model, epochs, batch_size
        self.tau, self.Tk, self.c, self.seed, self.threads = tau, Tk, c, seed, threads

    def fit(self, X, y):
        """Train with the baseline's loop; returns self."""
        E, bs, schedule = self.epochs, self.batch_size, (self.tau, self.Tk, self.c)
        if self.method in ("plain", "notebook"):
            import keras

            keras.utils.set_random_seed(self.seed)
            factory = FACTORIES[self.model]
            if self.method == "plain":
                self.peers_, _ = plain_fits(factory, _meta(X, y), X, y, E, bs)
            else:
                self.peers_, _ = notebook_loop(factory, _meta(X, y), X, y, E, bs, *schedule,
                                               self.seed)
        elif self.method.startswith("tfloop"):
            peers, _ = tf_loop(X, y, E, bs, *schedule, seed=self.seed,
                               select=self.method == "tfloop")
            self.peers_ = [[v.numpy() for v in peer] for peer in peers]
        elif self.method == "torch":
            self.peers_, _ = torch_loop(X, y, E, bs, *schedule, self.seed, self.threads)
        else:
            raise ValueError(f"unknown method {self.method!r}")
        return self

    def predict_proba(self, X):
        """Class probabilities of the first peer (one Keras ``predict`` for Keras peers)."""
        peer = self.peers_[0]
        if self.method in ("plain", "notebook"):
            return peer.predict(X, batch_size=self.batch_size, verbose=0)
        if self.method == "torch":
            import torch

            peer.eval()
            with torch.no_grad():
                return torch.softmax(peer(torch.from_numpy(X)), dim=1).numpy()
        import tensorflow as tf  # as the loop computes it (this also starts TensorFlow's runtime)

        return tf.nn.softmax(tf_mlp_logits(peer, tf.convert_to_tensor(X))).numpy()
