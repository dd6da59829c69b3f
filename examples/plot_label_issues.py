"""
=============================================
Label issues: which training labels to review
=============================================

:func:`skcoteach.label_issues.find_label_issues` lists the training samples
whose given label is most likely wrong, worst first, with a suggested
correction.  How many it flags is estimated from the data by confident
learning, not set by ``tau``.  Here 30% of the ``digits`` labels are flipped
at random; we look at the count, at how many of the flagged labels really are
wrong, and at the worst-ranked images.
"""

# %%
# Fit on noisy labels
# -------------------
# ``tau="auto"`` lets the estimator estimate the noise rate itself during
# ``fit``.
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skcoteach import CoTeachingClassifier
from skcoteach.label_issues import find_label_issues
from skcoteach.noise import make_label_noise

X, y = load_digits(return_X_y=True)
X = X / 16.0
y_noisy, info = make_label_noise(y, 0.3, random_state=0, return_info=True)

clf = CoTeachingClassifier(tau="auto", epochs=30, batch_size=64, random_state=0)
clf.fit(X, y_noisy)
print(f"{info.noise_mask.sum()} of {len(y)} labels flipped; estimated tau_ = {clf.tau_:.2f}")

# %%
# Find the label issues
# ---------------------
# The estimator does not keep its training data: ``X`` and the noisy labels
# are passed again.  ``as_frame=True`` returns a table, worst first.
issues = find_label_issues(clf, X, y_noisy, as_frame=True)
print(issues.head(10).to_string(index=False, float_format="{:.3g}".format))

# %%
# Because we made the noise, we can check the flags against the truth.  For
# comparison: the samples every peer rejected in the last epoch
# (``sample_kept_ == 0``), whose number follows ``tau``.
flipped = info.noise_mask
flagged = np.zeros(len(y), bool)
flagged[issues["index"]] = True
rejected = clf.sample_kept_ == 0
for name, mask in [("find_label_issues", flagged), ("sample_kept_ == 0", rejected)]:
    print(
        f"{name:18s} flags {mask.sum():4d}: precision {flipped[mask].mean():.2f}, "
        f"recall {mask[flipped].mean():.2f}"
    )
suggested_right = issues["suggested_label"].to_numpy() == y[issues["index"]]
print(f"suggested label = true label for {suggested_right.mean():.0%} of the flagged samples")

# %%
# The worst-ranked images
# -----------------------
# The 16 samples with the lowest label quality, with the label they were given
# and the peers' suggestion.  Red titles: the given label really was flipped;
# green: it was right (a false alarm).
worst = issues.head(16)
fig, axes = plt.subplots(2, 8, figsize=(11, 3.4))
for ax, row in zip(axes.ravel(), worst.itertuples()):
    wrong = flipped[row.index]
    ax.imshow(X[row.index].reshape(8, 8), cmap="gray_r")
    ax.set_title(
        f"given {row.given_label}\nsuggested {row.suggested_label}",
        fontsize=9, color="tab:red" if wrong else "tab:green",
    )
    ax.axis("off")
fig.suptitle("Worst-ranked training labels (red: truly mislabelled)")
fig.tight_layout()

# %%
# The label quality of all samples: the flagged ones (below the dashed line)
# are nearly all truly mislabelled.  The score is in [0, 1]; most correct
# labels score close to 1.
from skcoteach.label_issues import label_quality_scores  # noqa: E402

encoded = np.searchsorted(clf.classes_, y_noisy)
scores = label_quality_scores(
    encoded, clf.predict_proba(X), sample_loss=clf.sample_loss_, sample_kept=clf.sample_kept_
)
fig, ax = plt.subplots(figsize=(7, 3.2))
bins = np.linspace(0, 1, 41)
ax.hist(scores[~flipped], bins=bins, alpha=0.6, label="label correct")
ax.hist(scores[flipped], bins=bins, alpha=0.6, label="label flipped")
ax.axvline(issues["label_quality"].max(), color="k", ls="--", label="flagged below")
ax.set_yscale("log")
ax.set_xlabel("label quality")
ax.set_ylabel("training samples")
ax.legend()
fig.tight_layout()
