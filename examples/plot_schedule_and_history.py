"""
==============================================
The forget-rate schedule and ``history_``
==============================================

Co-teaching keeps, at epoch :math:`T` (counted from 0), the share

.. math:: R(T) = 1 - \\tau \\min\\left((T / T_k)^c,\\ 1\\right)

of every mini-batch.  This example draws :math:`R(T)` for a few settings with
:mod:`skcoteach.schedules` (no training needed), then fits a classifier and
reads its per-epoch record ``history_``: the schedule it followed, the share
of each batch it really used, the peers' losses and the validation accuracy.
"""

# %%
# The schedule
# ------------
# ``tau`` sets the final level, ``Tk`` the epoch at which it is reached and
# ``c`` the shape of the ramp: ``c < 1`` forgets early, ``c > 1`` late.
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skcoteach import CoTeachingClassifier
from skcoteach.noise import make_label_noise
from skcoteach.schedules import forget_rate_schedule

n_epochs = 30
epochs = np.arange(n_epochs)
settings = [
    {"tau": 0.2, "Tk": 10, "c": 1.0},
    {"tau": 0.5, "Tk": 10, "c": 1.0},
    {"tau": 0.5, "Tk": 10, "c": 0.5},
    {"tau": 0.5, "Tk": 10, "c": 2.0},
    {"tau": 0.5, "Tk": 20, "c": 1.0},
]
fig, ax = plt.subplots(figsize=(9, 4))
for s in settings:
    keep = 1 - forget_rate_schedule(n_epochs, **s)
    ax.plot(
        epochs, keep, marker=".", label=f"tau={s['tau']}, Tk={s['Tk']}, c={s['c']:g}"
    )
ax.set_xlabel("epoch T (0-based)")
ax.set_ylabel("kept fraction R(T)")
ax.set_ylim(0.4, 1.02)
ax.grid(alpha=0.3)
ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
fig.tight_layout()

# %%
# Reading ``history_``
# --------------------
# A fit on ``digits`` with 30% symmetric label noise and a held-out set
# (``validation_split=0.2``: the last 20% of the samples, as in Keras) gives,
# per epoch:
#
# * ``forget_rate`` -- the schedule, exactly;
# * ``kept_fraction`` -- the share of each batch actually used, which can
#   differ a little from ``1 - forget_rate`` because ``R(T) * batch_size`` is
#   rounded and the last batch of an epoch is smaller;
# * ``loss``, ``peer_0_loss``, ``peer_1_loss`` -- the peers' losses on the
#   samples selected for them (the small-loss ones, so these fall further
#   than a loss over all samples would);
# * ``val_loss``, ``val_accuracy`` -- of the averaged peers on the held-out
#   samples.  Their labels are as noisy as the training labels, so the
#   accuracy is an under-estimate of the clean accuracy.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
y_noisy = make_label_noise(y_train, 0.3, random_state=0)
clf = CoTeachingClassifier(
    tau=0.3, Tk=10, epochs=n_epochs, batch_size=64, validation_split=0.2, random_state=0
)
clf.fit(X_train, y_noisy)
print("keys of history_:", sorted(clf.history_))
print(f"clean test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
h = clf.history_
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
axes[0].plot(epochs, 1 - np.array(h["forget_rate"]), label="1 - forget_rate (schedule)")
axes[0].plot(
    epochs, h["kept_fraction"], linestyle="--", label="kept_fraction (measured)"
)
axes[0].set_title("share of each batch used")
axes[1].plot(epochs, h["peer_0_loss"], label="peer_0_loss")
axes[1].plot(epochs, h["peer_1_loss"], label="peer_1_loss")
axes[1].plot(epochs, h["val_loss"], label="val_loss (noisy labels)")
axes[1].set_yscale("log")
axes[1].set_title("losses")
axes[2].plot(
    epochs, h["val_accuracy"], color="tab:green", label="val_accuracy (noisy labels)"
)
axes[2].set_title("held-out accuracy")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()

# %%
# ``val_loss`` *rises* after the first epochs while ``val_accuracy`` keeps
# improving.  This is not over-fitting: the held-out labels are noisy, and as
# the peers grow confident in the true classes, the wrongly labelled held-out
# samples get ever larger losses.  With noisy validation labels, judge
# training by ``val_accuracy`` (e.g. ``EarlyStopping(monitor="val_accuracy",
# mode="max")``), not by ``val_loss``.
#
# ``n_iter_`` counts the epochs trained; with ``warm_start=True`` a further
# ``fit`` continues the schedule where it stopped and appends to
# ``history_``.
print("n_iter_ =", clf.n_iter_)
