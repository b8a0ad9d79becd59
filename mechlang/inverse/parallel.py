"""Spreading a batch (of starting points or data sets) over the devices JAX sees.

With one device this is a plain array.  With several (GPUs, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) the batch axis is sharded over a
one-dimensional mesh and ``jit`` partitions the vmapped simulation accordingly; on a
cluster the same code runs after ``jax.distributed.initialize()`` on every host, since
``jax.devices()`` then lists the devices of all hosts.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def shard_batch(x) -> tuple[jax.Array, int]:
    """Put a batch (leading axis) on all devices; pad it to a multiple of their number by
    repeating the last entry.  Returns the array and the true batch size."""
    x = np.asarray(x)
    k = x.shape[0]
    n = jax.device_count()
    if n == 1:
        return jax.numpy.asarray(x), k
    pad = (-k) % n
    if pad:
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
    mesh = Mesh(np.array(jax.devices()), ("batch",))
    return jax.device_put(x, NamedSharding(mesh, PartitionSpec("batch"))), k
