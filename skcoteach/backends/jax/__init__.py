"""The JAX training program of skcoteach (see :mod:`skcoteach.backends`).

Selected by ``KERAS_BACKEND=jax``.  The training set is placed on the device
once; every call of the compiled training function runs ``steps_per_execution``
mini-batches as one ``lax.scan`` that gathers each batch by index from the
device arrays and runs the update rule inside (:mod:`._ensemble`).  Keras's
own JAX ``fit`` loop drives these calls, so callbacks, validation, the
progress bar and checkpoints work as under TensorFlow.

Importing this package imports nothing; its modules import JAX.
"""
