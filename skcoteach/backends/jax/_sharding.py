"""Data parallelism on JAX: where the training program's arrays live under a ``keras.distribution``.

With ``keras.distribution.set_distribution(DataParallel(...))`` (or a
distribution's ``scope()``) around ``fit``, the peers' variables are created
with the distribution's layouts (replicated, for ``DataParallel``); the
ensemble then places the training and validation arrays and its own state
replicated on the distribution's device mesh, and every step shards the batch
it gathers along the mesh's batch axis (:meth:`Placement.shard_batch`).  The
selection of small-loss samples still sees the whole batch: XLA's SPMD
partitioner inserts the collectives (an all-gather of the losses before the
selection, an all-reduce of the gradients), so a step is the single-device
step, not a per-device selection as under ``tf.distribute``.

Keras's own loop shards every batch it yields along the batch axis too, and
needs a multiple of the devices: the fit feeds it each call number once per
device (:meth:`Placement.stream`), the validation indices padded with -1 and
``predict``'s rows padded (:meth:`Placement.pad_rows`), in batches rounded up
to a multiple of the devices (:meth:`Placement.batch_size`).  The training
batches themselves need no multiple: XLA pads the last device's share.

Without a distribution, :class:`Placement` does nothing and the program is
the single-device one, unchanged.

Imported lazily (it imports JAX).
"""

from typing import Any

import jax
import keras
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

__all__ = ["Placement"]


class Placement:
    """Where the JAX ensemble's arrays live: the default device, or a distribution's mesh.

    Parameters
    ----------
    distribution : keras.distribution.Distribution or None
        None: one device (every method is the identity).  Else a
        distribution with a ``device_mesh`` and a ``batch_dim_name``
        (``DataParallel``, or ``ModelParallel``, whose variables keep the
        layouts of its layout map); one process only.

    Attributes
    ----------
    mesh : jax.sharding.Mesh or None
    batch_axis : str or None
        The mesh axis the batch is sharded along.
    replicas : int
        Devices along ``batch_axis`` (1 without a distribution).
    """

    def __init__(self, distribution: Any = None):
        self.distribution = distribution
        self.mesh = self.batch_axis = None
        self.replicas = 1
        if distribution is None:
            return
        if jax.process_count() > 1:
            raise NotImplementedError(
                "skcoteach trains under a keras.distribution in one process only "
                f"(jax.process_count() is {jax.process_count()}); use the devices of one host."
            )
        self.mesh = distribution.device_mesh.backend_mesh
        self.batch_axis = distribution.batch_dim_name
        self.replicas = int(self.mesh.shape[self.batch_axis])

    @classmethod
    def current(cls) -> "Placement":
        """The placement of the ``keras.distribution`` set now (one device if none)."""
        return cls(keras.distribution.distribution())

    @property
    def key(self) -> Any:
        """What identifies the placement: the compiled programs depend on it."""
        return None if self.mesh is None else (self.mesh, self.batch_axis)

    def replicated(self) -> NamedSharding:
        """The sharding of an array held whole by every device of the mesh."""
        return NamedSharding(self.mesh, PartitionSpec())

    def put(self, tree: Any) -> Any:
        """``tree``'s arrays replicated on the mesh (a no-op for arrays already there)."""
        if self.mesh is None:
            return tree
        return jax.device_put(tree, self.replicated())

    def put_state(self, state: tuple, shardings: tuple) -> tuple:
        """``state`` placed as :meth:`state_shardings` says (a no-op once it is)."""
        if self.mesh is None:
            return state
        return jax.device_put(state, shardings)

    def shard_batch(self, tree: Any) -> Any:
        """Inside a traced step: ``tree``'s arrays sharded along their first (batch) axis.

        The batch size need not be a multiple of :attr:`replicas`: XLA pads
        the last device's share.
        """
        if self.mesh is None:
            return tree

        def constrain(array):
            spec = PartitionSpec(self.batch_axis, *([None] * (array.ndim - 1)))
            return jax.lax.with_sharding_constraint(array, NamedSharding(self.mesh, spec))

        return jax.tree_util.tree_map(constrain, tree)

    def constrain(self, tree: Any, shardings: Any) -> Any:
        """Inside a traced step: ``tree`` laid out as ``shardings`` (a pytree prefix of it)."""
        if self.mesh is None:
            return tree
        return jax.lax.with_sharding_constraint(tree, shardings)

    def variable_shardings(self, variables: list) -> list:
        """The shardings of Keras variables: their layouts under the distribution.

        A variable created without a layout (before the distribution was set)
        is replicated.
        """
        out = []
        for variable in variables:
            layout = self.distribution.get_variable_layout(variable)
            out.append(self.replicated() if layout is None else layout.backend_layout)
        return out

    def stream(self, n: int) -> np.ndarray:
        """The numbers ``0 .. n - 1`` for Keras's data stream, each repeated :attr:`replicas` times.

        Keras's loop shards every batch it yields along the mesh's batch
        axis; read with a batch size of :attr:`replicas`, each batch is
        one number, one copy per device
        (:func:`~skcoteach.backends.jax._programs.call_index` reads it).
        """
        return np.repeat(np.arange(n, dtype=np.int32), self.replicas)

    def batch_size(self, batch_size: int) -> int:
        """``batch_size`` rounded up to a multiple of :attr:`replicas`."""
        return -(-int(batch_size) // self.replicas) * self.replicas

    def pad_rows(self, x: np.ndarray, fill: Any = 0) -> np.ndarray:
        """``x`` with rows of ``fill`` appended up to a multiple of :attr:`replicas` rows.

        With batches of :meth:`batch_size` rows, every batch Keras's loop
        shards, the last one included, then divides among the devices.
        """
        missing = -x.shape[0] % self.replicas
        if not missing:
            return x
        return np.concatenate([x, np.full((missing, *x.shape[1:]), fill, x.dtype)])
