"""What a ``tf.distribute`` strategy costs on one device: the fallback's price.

Without a strategy :class:`~skcoteach.CoTeachingClassifier` trains with its
one-graph training function, TensorFlow's fused Adam kernel and 16 steps per
call.  Under a strategy it falls back to Keras's own training function and
Adam update and to one step per call (Keras's multi-step loop fails under
``MirroredStrategy``; see ``skcoteach._build.steps_per_execution``).  This
benchmark times the steady epochs of the MLP benchmark's network (784-256-10,
batch 128, two peers, Adam) on one device in these variants, interleaved in
one process so that the ratios share the machine's state:

``plain``
    no strategy (the library's fast path).
``plain-spe1``
    no strategy, ``steps_per_execution=1``: what one step per call costs alone.
``mirrored-1``
    ``MirroredStrategy(["/cpu:0"])``: one replica, the whole fallback.

The data are random (the speed of a dense network does not depend on the
values).  Run (about 2 minutes on 2 cores), e.g. as recorded in
``experiments/results/strategy.json``::

    python experiments/strategy.py --out experiments/results/strategy.json
    python experiments/strategy.py --report experiments/results/strategy.json   # strategy.md
"""

import argparse
import json
import platform
import statistics
import time

import _common
import numpy as np


def epoch_clock():
    """A callback that records the wall time at the end of every epoch."""
    import keras

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.marks = [time.perf_counter()]

        def on_epoch_end(self, epoch, logs=None):
            self.marks.append(time.perf_counter())

    return Clock()


def interleaved(variants, measure, repeats):
    """``{variant: [measure(variant, repeat) for each repeat]}``, the variants interleaved.

    Interleaving makes the ratios between variants share the machine's state.
    """
    times = {v: [] for v in variants}
    for repeat in range(repeats):
        for variant in variants:
            times[variant].append(measure(variant, repeat))
            print(f"repeat {repeat} {variant:<11} steady epoch {times[variant][-1]:.3f} s")
    return times


def steady_epoch(variant, X, y, epochs, seed):
    """Median wall time of the epochs after the first (which traces) of one fit."""
    import tensorflow as tf

    from skcoteach import CoTeachingClassifier

    clock = epoch_clock()
    params = dict(
        model__hidden_layer_sizes=[256],
        epochs=epochs,
        batch_size=128,
        tau=0.2,
        Tk=2,
        random_state=seed,
        verbose=0,
        callbacks=[clock],
    )
    if variant == "plain-spe1":
        params["steps_per_execution"] = 1
    clf = CoTeachingClassifier(**params)
    if variant == "mirrored-1":
        with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
            clf.fit(X, y)
    else:
        clf.fit(X, y)
    fitted = clf.callbacks_[0].marks
    return statistics.median(np.diff(fitted)[1:])


def report(path, out):
    """Write (and print) the Markdown table of the results file ``path`` to ``out``.

    Per variant: the median steady epoch over the repeats and its ratio to
    ``plain``, between ``<!-- table: strategy -->`` markers.
    """
    with open(path) as fh:
        result = json.load(fh)
    args = result["args"]
    rows = [[variant, f"{result['median'][variant]:.2f} s",
             f"{result['ratio_to_plain'][variant]:.2f}x"] for variant in result["median"]]
    text = (f"Steady epoch of the 784-256-10 MLP (batch 128, {args['n_samples']} random rows), "
            f"median of {args['repeats']} interleaved repeats, TensorFlow "
            f"{result['versions']['tensorflow']}:\n\n"
            + _common.marked("strategy", _common.table(
                ["variant", "steady epoch", "ratio to plain"], rows)))
    _common.write_report(out, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _common.add_report(parser, "running")
    parser.add_argument("--n-samples", type=int, default=12800)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report, _common.report_path(args))

    rng = np.random.RandomState(0)
    X = rng.rand(args.n_samples, 784).astype(np.float32)
    y = rng.randint(0, 10, args.n_samples)
    variants = ["plain", "plain-spe1", "mirrored-1"]
    times = interleaved(variants, lambda v, r: steady_epoch(v, X, y, args.epochs, r), args.repeats)
    median = {v: statistics.median(t) for v, t in times.items()}
    ratios = {v: median[v] / median["plain"] for v in variants}
    for variant in variants:
        print(f"{variant:<11} {median[variant]:.3f} s per epoch   {ratios[variant]:.2f}x plain")
    if args.out:
        import tensorflow as tf

        result = {
            "args": vars(args),
            "seconds_per_steady_epoch": times,
            "median": median,
            "ratio_to_plain": ratios,
            "versions": {"tensorflow": tf.__version__, "python": platform.python_version()},
        }
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
