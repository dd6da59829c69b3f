"""Does compiling the training step with XLA make it cheaper on this CPU?

Issue 17 asks for a steady MLP epoch within 1.3x of its matrix products; on a
CPU a small network's step costs about as much in per-operation dispatch as in
arithmetic.  XLA fuses a step's element-wise operations into a few kernels,
the other lever besides stacking weights (``stacking.py``).  This times
the steady epochs of :class:`~skcoteach.CoTeachingClassifier` on the speed
benchmark's network (784-256-10, two peers, Adam, batch 128, random data) in
two variants, interleaved in one process:

``lean``
    the library as it is: one ``tf.function`` per 16 steps, TensorFlow's
    kernels (oneDNN matrix products).
``xla-step``
    the same, with every training step (forward and backward passes of both
    peers, selection, Adam update, per-sample statistics) compiled by XLA:
    ``PeerEnsemble._train_on`` called through a ``tf.function`` with
    ``jit_compile=True`` inside the loop (the loop itself reads a ``tf.data``
    iterator, which XLA does not compile).

``--report`` writes the Markdown table of a results file (from the file
alone; nothing is trained).  Usage::

    python experiments/xla.py --out experiments/results/xla.json
    python experiments/xla.py --report experiments/results/xla.json   # xla.md
"""

import argparse
import json
import platform
import statistics

import _common
import numpy as np
from strategy import epoch_clock, interleaved


def steady_epoch(variant, X, y, epochs, seed):
    """Median wall time of the epochs after the first (which traces and compiles) of one fit."""
    import tensorflow as tf

    from skcoteach import CoTeachingClassifier
    from skcoteach.backends.tensorflow._ensemble import PeerEnsemble

    lean = PeerEnsemble._train_on
    if variant == "xla-step":

        def _train_on(self, batch, arrays):
            step = self.__dict__.get("_xla_step")
            if step is None:

                def one(batch, arrays):
                    lean(self, batch, arrays)
                    return tf.constant(0)

                step = tf.function(one, jit_compile=True, autograph=False)
                self.__dict__["_xla_step"] = step
            step(batch, arrays)

        PeerEnsemble._train_on = _train_on
    try:
        clf = CoTeachingClassifier(
            model__hidden_layer_sizes=(256,),
            epochs=epochs,
            batch_size=128,
            tau=0.5,
            Tk=10,
            random_state=seed,
            callbacks=[epoch_clock()],
        )
        clf.fit(X, y)
    finally:
        PeerEnsemble._train_on = lean
    return statistics.median(np.diff(clf.callbacks_[0].marks)[1:])


def report(path, out):
    """Write (and print) the Markdown table of the results file ``path`` to ``out``.

    Per variant: the median steady epoch over the repeats and its ratio to
    ``lean``, between ``<!-- table: xla -->`` markers.
    """
    with open(path) as fh:
        result = json.load(fh)
    settings, median = result["settings"], result["median"]
    rows = [[variant, f"{seconds:.2f} s", f"{seconds / median['lean']:.2f}x"]
            for variant, seconds in median.items()]
    header = ["variant", "steady epoch", "ratio to lean"]
    text = (f"Steady epoch of the 784-256-10 MLP (two peers, batch 128, {settings['samples']} "
            f"random rows), median of {settings['repeats']} interleaved repeats, TensorFlow "
            f"{result['machine']['tensorflow']}:\n\n"
            + _common.marked("xla", _common.table(header, rows)))
    _common.write_report(out, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _common.add_report(parser, "training")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None,
                        help="write the results as JSON here (with --report: the Markdown file)")
    args = parser.parse_args(argv)
    if args.report:
        return report(args.report, _common.report_path(args))

    import tensorflow as tf

    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    variants = ["lean", "xla-step"]
    times = interleaved(variants, lambda v, r: steady_epoch(v, X, y, args.epochs, r), args.repeats)
    median = {v: statistics.median(t) for v, t in times.items()}
    ratio = median["xla-step"] / median["lean"]
    print(f"lean {median['lean']:.3f} s, xla-step {median['xla-step']:.3f} s per epoch: {ratio:.2f}x")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(
                {
                    "settings": vars(args),
                    "machine": {
                        "platform": platform.platform(),
                        "tensorflow": tf.__version__,
                        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
                    },
                    "seconds_per_epoch": times,
                    "median": median,
                    "xla_over_lean": ratio,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
