"""Does stacking networks' weights make a training step cheaper on this CPU?

Issue 17 proposes computing many same-shaped networks (the peers of a fit, the
fits of a grid search) with their weights stacked along a leading axis, so that
one batched matrix product serves all of them.  This measures, for ``N``
one-hidden-layer networks ``F -> H -> 10`` on batches of 128 (each network its
own batch, as the fits of a search have), the time of one forward and backward
pass in one ``tf.function``, three ways:

``separate``
    ``N`` MatMuls per layer (what the joint step of
    :class:`~skcoteach.model_selection.CoTeachingGridSearchCV` runs today).
``stacked``
    One ``BatchMatMul`` per layer on weights of shape ``(N, in, out)``.
``vectorized_map``
    Keras 3's ``stateless_call`` of one network vectorized over the stacked
    weights with ``tf.vectorized_map`` (the generic route for any model).

Each variant is timed in interleaved rounds (``--rounds``) of ``--steps``
steps; the medians and the ratios to ``separate`` are printed and, with
``--out``, written as JSON.  ``--report`` writes the Markdown table of such a
file (from the file alone; nothing is timed).

Usage::

    python experiments/stacking.py --out experiments/results/stacking.json
    python experiments/stacking.py --report experiments/results/stacking.json   # stacking.md
"""

import argparse
import json
import os
import platform
import time

import _common

SHAPES = {"mnist-mlp": (784, 256), "digits-mlp": (64, 100)}


def _variants(n, features, hidden, batch=128, classes=10):
    import keras
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    shapes = [(features, hidden), (hidden,), (hidden, classes), (classes,)]
    values = [[(rng.normal(size=s) * 0.05).astype("float32") for s in shapes] for _ in range(n)]
    x = tf.constant(rng.uniform(size=(n, batch, features)).astype("float32"))
    y = tf.constant(rng.integers(0, classes, size=(n, batch)))

    def loss_of(logits, labels):
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))

    separate_vars = [[tf.Variable(v) for v in net] for net in values]

    @tf.function
    def separate():
        with tf.GradientTape() as tape:
            total = 0.0
            for i, (w1, b1, w2, b2) in enumerate(separate_vars):
                h = tf.nn.relu(tf.matmul(x[i], w1) + b1)
                total += loss_of(tf.matmul(h, w2) + b2, y[i])
        return tape.gradient(total, [v for net in separate_vars for v in net])

    stacked_vars = [tf.Variable(np.stack([net[k] for net in values])) for k in range(4)]

    @tf.function
    def stacked():
        w1, b1, w2, b2 = stacked_vars
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, w1) + b1[:, None])
            total = loss_of(tf.matmul(h, w2) + b2[:, None], y)
        return tape.gradient(total, stacked_vars)

    model = keras.Sequential(
        [keras.Input((features,)), keras.layers.Dense(hidden, activation="relu"), keras.layers.Dense(classes)]
    )

    @tf.function
    def vectorized():
        with tf.GradientTape() as tape:
            def one(args):
                weights, xi = args
                return model.stateless_call(list(weights), [], xi, training=True)[0]

            logits = tf.vectorized_map(one, (list(stacked_vars), x))
            total = loss_of(logits, y)
        return tape.gradient(total, stacked_vars)

    return {"separate": separate, "stacked": stacked, "vectorized_map": vectorized}


def report(path, out):
    """Write (and print) the Markdown table of the results file ``path`` to ``out``.

    Per network shape and number of networks: the median milliseconds per step
    of each variant and, for the stacked forms, the ratio to ``separate``,
    between ``<!-- table: stacking -->`` markers.
    """
    with open(path) as fh:
        result = json.load(fh)
    variants = list(result["results"][0]["ms_per_step"])
    rows = []
    for row in result["results"]:
        ms = row["ms_per_step"]
        features, hidden = SHAPES[row["shape"]]
        cells = [f"{ms[v]:.2f} ms" if v == "separate"
                 else f"{ms[v]:.2f} ms ({ms[v] / ms['separate']:.2f}x)" for v in variants]
        rows.append([f"{row['shape']} ({features}-{hidden}-10)", row["networks"]] + cells)
    text = (f"One forward and backward pass of N networks, each on its own batch of 128: median "
            f"time per step over interleaved rounds and, in parentheses, its ratio to `separate` "
            f"({result['cpus']} CPUs):\n\n"
            + _common.marked("stacking", _common.table(["network", "N"] + variants, rows)))
    _common.write_report(out, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_report(parser, "timing")
    parser.add_argument("--networks", type=int, nargs="+", default=[2, 12])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=None,
                        help="write the results as JSON here (with --report: the Markdown file)")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report, _common.report_path(args))
    import numpy as np

    results = []
    for shape in args.shapes:
        features, hidden = SHAPES[shape]
        for n in args.networks:
            variants = _variants(n, features, hidden)
            for function in variants.values():
                function()  # trace
            times = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, function in variants.items():
                    start = time.perf_counter()
                    for _ in range(args.steps):
                        function()
                    times[name].append((time.perf_counter() - start) / args.steps * 1000)
            medians = {name: float(np.median(t)) for name, t in times.items()}
            row = {"shape": shape, "networks": n, "ms_per_step": medians}
            results.append(row)
            print(
                f"{shape:10s} N={n:3d}  "
                + "  ".join(
                    f"{name} {ms:6.2f} ms ({ms / medians['separate']:.2f}x)" for name, ms in medians.items()
                ),
                flush=True,
            )
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": platform.platform(), "cpus": os.cpu_count(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
