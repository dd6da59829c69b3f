"""
========================================================
Memorization: standard training vs Co-teaching on images
========================================================

A network trained the standard way on noisy labels first learns the patterns
shared by the many correctly labelled images -- test accuracy climbs -- and
then starts to memorise the wrong labels one by one -- test accuracy falls.
Co-teaching stops the second phase: each of two peer networks is updated only
on the samples that the *other* peer finds easy (small loss), which are mostly
the correctly labelled ones.

This example trains the same small convolutional network both ways on 8x8
digit images with 20% and 50% of the training labels replaced by a random
other class, and records the accuracy on clean test images after every epoch.

When the environment variable ``SKCOTEACH_DATA`` names a folder containing
``mnist.npz``, 2000 MNIST training images (shrunk to 14x14) are used instead
of scikit-learn's digits.
"""

# %%
# Images
# ------
# ``X`` has the shape ``(n_samples, height, width)``: the estimator accepts
# images as they are, there is no need to flatten them.
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skcoteach import CoTeachingClassifier
from skcoteach.noise import make_label_noise

data_dir = os.environ.get("SKCOTEACH_DATA")
if data_dir and os.path.isfile(os.path.join(data_dir, "mnist.npz")):
    from skcoteach.datasets import load_mnist

    (X_all, y_all), (X_te_all, y_te_all) = load_mnist(data_dir)
    rng = np.random.RandomState(0)
    train_idx = rng.choice(len(X_all), 2000, replace=False)
    test_idx = rng.choice(len(X_te_all), 1000, replace=False)

    def shrink(images):  # 28x28 -> 14x14 by 2x2 averaging: 4x less computation
        return images.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)) / 255.0

    X_train = shrink(X_all[train_idx]).astype("float32")
    X_test = shrink(X_te_all[test_idx]).astype("float32")
    y_train, y_test = y_all[train_idx], y_te_all[test_idx]
    source, epochs, Tk = "MNIST subset", 30, 10
else:
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 8, 8).astype("float32")  # pixel values 0..16
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    source, epochs, Tk = "digits", 60, 10
print(f"{source}: train {X_train.shape}, test {X_test.shape}")

# %%
# A model factory
# ---------------
# A factory receives ``meta``, a description of the training data, and
# returns an *uncompiled* Keras model whose output layer has
# ``meta["n_classes_"]`` units.  Its own arguments (here ``filters`` and
# ``dense_units``) can be set from the estimator as ``model__filters=...``.
# The same function builds the network of standard training below.


def small_cnn(meta, filters=(16, 32), dense_units=128):
    """Two convolution + pooling blocks, one hidden dense layer, softmax."""
    height, width = meta["X_shape_"][1:3]
    inputs = keras.Input(shape=(height, width))
    x = keras.layers.Reshape((height, width, 1))(inputs)
    for n_filters in filters:
        x = keras.layers.Conv2D(n_filters, 3, padding="same", activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(dense_units, activation="relu")(x)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    return keras.Model(inputs, outputs)


# %%
# Standard training and Co-teaching
# ---------------------------------
# Standard training is plain Keras: compile the factory's model and call
# ``fit`` with the clean test set as ``validation_data``, so that
# ``history.history["val_accuracy"]`` holds the test accuracy of every epoch.
#
# Co-teaching records the same through its own ``validation_data`` argument,
# in ``history_["val_accuracy"]`` (accuracy of the peers' averaged
# probabilities).  ``tau`` is set to the noise rate and ``Tk=10``, as in the
# paper: the forget rate reaches ``tau`` after 10 epochs, before standard
# training stops improving (see :ref:`hyperparameters`).
meta = {"X_shape_": X_train.shape, "n_classes_": 10}
batch_size = 64
curves = {}
for noise_rate in (0.2, 0.5):
    y_noisy = make_label_noise(y_train, noise_rate, random_state=0)

    keras.utils.set_random_seed(0)
    network = small_cnn(meta)
    network.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = network.fit(
        X_train,
        y_noisy,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(X_test, y_test),
        verbose=0,
    )

    coteaching = CoTeachingClassifier(
        small_cnn,
        tau=noise_rate,
        Tk=Tk,
        epochs=epochs,
        batch_size=batch_size,
        optimizer__learning_rate=1e-3,
        random_state=0,
    )
    coteaching.fit(X_train, y_noisy, validation_data=(X_test, y_test))

    curves[noise_rate] = {
        "standard": np.array(history.history["val_accuracy"]),
        "Co-teaching": np.array(coteaching.history_["val_accuracy"]),
    }

# %%
# Test accuracy per epoch
# -----------------------
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
epoch_axis = np.arange(1, epochs + 1)
for ax, (noise_rate, curve) in zip(axes, curves.items()):
    ax.plot(epoch_axis, curve["standard"], color="tab:red", label="standard training")
    ax.plot(epoch_axis, curve["Co-teaching"], color="tab:blue", label="Co-teaching")
    # 0-based epoch Tk is the (Tk + 1)-th epoch on this 1-based axis
    ax.axvline(Tk + 1, color="gray", linestyle=":", linewidth=1)
    ax.text(
        Tk + 1.5, 0.35, f"forget rate\nreaches tau\n(Tk={Tk})", fontsize=8, color="gray"
    )
    ax.set_title(f"{noise_rate:.0%} symmetric label noise ({source})")
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("accuracy on clean test labels")
axes[0].set_ylim(0.3, 1)
axes[0].legend(loc="lower right")
fig.tight_layout()

# %%
# The numbers behind the curves: the best epoch (which you could only pick
# with clean validation labels) and the mean of the last five epochs (what
# you get without them).
for noise_rate, curve in curves.items():
    for method, acc in curve.items():
        print(
            f"{noise_rate:.0%} noise, {method:>11}: best {acc.max():.3f} "
            f"(epoch {acc.argmax() + 1:2d}), last 5 epochs {acc[-5:].mean():.3f}"
        )

# %%
# With 20% noise the difference is small: the few wrong labels take long to
# memorise.  With 50% noise, standard training peaks early and then loses
# accuracy epoch after epoch as it fits the wrong labels; Co-teaching keeps
# most of its accuracy.  Its curve is noisier from one epoch to the next
# because each peer learns from a different, changing half of every batch.
# Early stopping on a *clean* validation set would rescue standard training
# too, but such a set is often what you do not have.
