"""
==================================================
Label noise, and the samples the peers rejected
==================================================

:mod:`skcoteach.noise` describes label noise by a *transition matrix*
``T[i, j]``: the probability that a sample of true class ``i`` carries label
``j``.  This example draws the two noise models of the Co-teaching paper,
corrupts the ``digits`` labels with one of them and then looks at the training
samples that Co-teaching refused to learn from: how many of them really are
mislabelled, and what they look like.
"""

# %%
# Symmetric and pair noise
# ------------------------
# *Symmetric* noise replaces a label, with probability :math:`\varepsilon`, by
# any other class with equal chance.  *Pair* noise moves it to the next class
# (9 goes to 0): a systematic confusion, harder because the wrong class is
# always the same one.  The third panel is the empirical matrix of the
# symmetric noise actually drawn for our 1257 training labels,
# :func:`~skcoteach.noise.estimate_transition_matrix`.
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skcoteach import CoTeachingClassifier
from skcoteach.noise import (
    estimate_transition_matrix,
    label_precision,
    make_label_noise,
    pair_transition_matrix,
    symmetric_transition_matrix,
)

noise_rate = 0.4
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
y_noisy, info = make_label_noise(
    y_train, noise_rate, kind="symmetric", random_state=0, return_info=True
)

matrices = {
    f"symmetric, $\\varepsilon$={noise_rate}": symmetric_transition_matrix(
        10, noise_rate
    ),
    f"pair, $\\varepsilon$={noise_rate}": pair_transition_matrix(10, noise_rate),
    "drawn (symmetric), estimated": estimate_transition_matrix(y_train, y_noisy),
}
fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
for ax, (title, matrix) in zip(axes, matrices.items()):
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_title(title)
    ax.set_xlabel("given label j")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
axes[0].set_ylabel("true class i")
fig.colorbar(image, ax=axes, shrink=0.8, label="T[i, j]")

print(
    f"{info.noise_mask.sum()} of {len(y_train)} training labels changed "
    f"({info.actual_noise_rate:.1%})"
)

# %%
# Co-teaching on the noisy labels
# -------------------------------
# The default network for a table of features (the 64 pixels) is
# :func:`skcoteach.models.mlp`; ``tau`` is the noise rate.
clf = CoTeachingClassifier(
    tau=noise_rate, Tk=10, epochs=30, batch_size=64, random_state=0
)
clf.fit(X_train, y_noisy)
print(f"test accuracy on clean labels: {clf.score(X_test, y_test):.3f}")

# %%
# Which samples were rejected?
# ----------------------------
# ``sample_kept_`` holds, for every training sample, the share of the peers
# whose update used it in the last epoch: with two peers 0, 0.5 or 1.  A
# sample with 0 was rejected by both peers in the last epoch.  How many are
# rejected follows ``tau``, not the data: for a list of likely label errors
# use :func:`skcoteach.label_issues.find_label_issues` (see
# :ref:`sphx_glr_auto_examples_plot_label_issues.py`).
# ``info.noise_mask`` tells us which labels really are wrong.
mislabelled = info.noise_mask
for share in np.unique(clf.sample_kept_):
    group = clf.sample_kept_ == share
    print(
        f"kept by {share:.0%} of the peers: {group.sum():4d} samples, "
        f"{mislabelled[group].mean():.1%} of them mislabelled"
    )

rejected = clf.sample_kept_ == 0
kept = clf.sample_kept_ == 1
print(
    f"\nlabel precision of the samples kept by both peers: "
    f"{label_precision(y_train, y_noisy, kept):.1%} (whole training set: "
    f"{1 - info.actual_noise_rate:.1%})"
)
print(
    f"precision of the rejected set (truly mislabelled): {mislabelled[rejected].mean():.1%}"
)
print(
    f"recall (share of all wrong labels that were rejected): "
    f"{rejected[mislabelled].mean():.1%}"
)

# %%
# The size of the rejected set follows ``tau`` (each peer drops a share
# ``tau`` of every batch), not the true amount of noise.  For a ranking, use
# ``sample_loss_``, the peers' mean cross-entropy of each sample with its
# given label at its last visit: mislabelled samples have the large losses.
fig, ax = plt.subplots(figsize=(7, 3.5))
bins = np.logspace(-4, np.log10(clf.sample_loss_.max() + 1e-3), 40)
ax.hist(clf.sample_loss_[~mislabelled], bins=bins, alpha=0.6, label="label correct")
ax.hist(clf.sample_loss_[mislabelled], bins=bins, alpha=0.6, label="label wrong")
ax.set_xscale("log")
ax.set_xlabel("sample_loss_ (peers' mean cross-entropy with the given label)")
ax.set_ylabel("training samples")
ax.legend()
fig.tight_layout()

order = np.argsort(clf.sample_loss_)[::-1]
for k in (50, 200, 400):
    print(f"{k:3d} largest losses: {mislabelled[order[:k]].mean():.1%} mislabelled")

# %%
# A few rejected images
# ---------------------
# Top row: rejected samples whose label really is wrong, with the label they
# were given and their true class.  Bottom row: rejected samples whose label
# is in fact correct -- false alarms, often badly written or ambiguous digits.
# Both drawn at random from the rejected set.
rng = np.random.RandomState(0)
true_errors = rng.permutation(np.flatnonzero(rejected & mislabelled))[:6]
false_alarms = rng.permutation(np.flatnonzero(rejected & ~mislabelled))[:6]
fig, axes = plt.subplots(2, 6, figsize=(10, 4.4))
for row, (indices, color, label) in enumerate(
    [(true_errors, "tab:red", "label wrong"), (false_alarms, "tab:green", "label correct")]
):
    for ax in axes[row]:
        ax.axis("off")
    for ax, i in zip(axes[row], indices):
        ax.imshow(X_train[i].reshape(8, 8), cmap="gray_r")
        ax.set_title(f"given {y_noisy[i]}, true {y_train[i]}", color=color, fontsize=10)
    axes[row, 0].text(
        -0.35, 0.5, label, transform=axes[row, 0].transAxes,
        rotation=90, va="center", ha="center", color=color,
    )
fig.suptitle("Samples rejected by both peers (sample_kept_ == 0)")
fig.tight_layout()
