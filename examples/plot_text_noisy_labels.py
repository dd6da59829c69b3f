"""
===========================================================
Text classification with noisy labels: TF-IDF + Co-teaching
===========================================================

Text labels are often wrong: tags chosen in a hurry, categories filled in by
keyword rules, crowd-sourced topics.  Here the documents are the docstrings
of a few packages of Python's standard library
(:func:`skcoteach.datasets.load_stdlib_docstrings`, read from the installed
Python, nothing downloaded) and the task is to tell which package a
docstring comes from.  30% of the training labels are replaced at random.

A :class:`~sklearn.feature_extraction.text.TfidfVectorizer` gives a sparse
matrix, which :class:`~skcoteach.CoTeachingClassifier` takes as it is: each
mini-batch is densified inside the training step, and the default network
leaves TF-IDF weights as they are instead of standardising them (see the
user guide, "Sparse, text and categorical features").
"""

# %%
# The corpus and the noise
# ------------------------
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up

import matplotlib.pyplot as plt
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skcoteach import CoTeachingClassifier
from skcoteach.datasets import load_stdlib_docstrings
from skcoteach.label_issues import find_label_issues
from skcoteach.noise import make_label_noise

docs = load_stdlib_docstrings()
texts_train, texts_test, y_train, y_test = train_test_split(
    docs.data, docs.target, test_size=0.3, stratify=docs.target, random_state=0
)
y_noisy, info = make_label_noise(y_train, 0.3, random_state=0, return_info=True)
print(f"{len(docs.data)} docstrings of {len(docs.target_names)} packages: {docs.target_names}")
print(f"{info.noise_mask.sum()} of {len(y_train)} training labels are wrong")

# %%
# Three classifiers on the same TF-IDF features
# ---------------------------------------------
# Standard training is the same estimator with ``tau=0`` (no sample is
# dropped); the Co-teaching fit uses every default, ``tau="auto"`` included.
def tfidf():
    return TfidfVectorizer(sublinear_tf=True, min_df=2)


models = {
    "LogisticRegression": make_pipeline(tfidf(), LogisticRegression(max_iter=2000)),
    "standard training": make_pipeline(tfidf(), CoTeachingClassifier(tau=0.0, random_state=0)),
    "Co-teaching (defaults)": make_pipeline(tfidf(), CoTeachingClassifier(random_state=0)),
}
scores = {}
for name, model in models.items():
    model.fit(texts_train, y_noisy)
    scores[name] = model.score(texts_test, y_test)  # clean test labels
    print(f"{name:24s} clean test accuracy {scores[name]:.3f}")

coteaching = models["Co-teaching (defaults)"]
print(
    f"estimated noise rate: {coteaching[-1].tau_:.2f} "
    f"(realised: {info.noise_mask.mean():.2f})"
)

fig, ax = plt.subplots(figsize=(6, 2.5))
ax.barh(list(scores), list(scores.values()), color=["tab:gray", "tab:orange", "tab:blue"])
ax.set_xlim(0, 1)
ax.set_xlabel("accuracy on clean test labels")
ax.set_title("30% wrong training labels")
fig.tight_layout()

# %%
# Which training labels are wrong?
# --------------------------------
# :func:`~skcoteach.label_issues.find_label_issues` takes the pipeline and the
# raw texts; the flags are checked against the labels we flipped.
flagged = find_label_issues(coteaching, texts_train, y_noisy)
true_flags = flagged & info.noise_mask
print(
    f"flagged {flagged.sum()}: precision {true_flags.sum() / max(flagged.sum(), 1):.2f}, "
    f"recall {true_flags.sum() / info.noise_mask.sum():.2f}"
)

table = find_label_issues(coteaching, texts_train, y_noisy, as_frame=True)
for row in table.head(5).itertuples():
    text = " ".join(texts_train[row.index].split())[:90]
    print(f"[given {row.given_label}, suggested {row.suggested_label}] {text}...")

# %%
# Out-of-fold flags
# -----------------
# A thousand short documents with thousands of features are easy to memorise:
# the peers end up fitting part of the wrong labels they trained on, which
# then look right, so the flags above are precise but miss many errors.  With
# ``cv=5`` every document is judged by a clone of the pipeline fitted on the
# other four folds (five more fits), the out-of-sample probabilities that
# confident learning was made for: far more of the wrong labels are flagged,
# and more correct ones too -- the fold models, trained on less data, are
# less sure, and confident learning counts more issues from them.  Review the
# flags worst first (``return_indices_ranked_by="label_quality"``).
flagged_oof = find_label_issues(coteaching, texts_train, y_noisy, cv=5)
true_oof = flagged_oof & info.noise_mask
print(
    f"out-of-fold: flagged {flagged_oof.sum()}: "
    f"precision {true_oof.sum() / max(flagged_oof.sum(), 1):.2f}, "
    f"recall {true_oof.sum() / info.noise_mask.sum():.2f}"
)
