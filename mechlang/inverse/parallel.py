"""Spreading a batch (of starting points or data sets) over the devices JAX sees.

With one device this is a plain array.  With several (GPUs, or CPU devices made with
``XLA_FLAGS=--xla_force_host_platform_device_count=N``) the batch axis is sharded over a
one-dimensional mesh and ``jit`` partitions the vmapped simulation accordingly.

On a cluster (several processes, one or more per host) every process runs the same
program: it calls ``jax.distributed.initialize(...)`` before any other JAX call, and then
``mechlang.fit`` or ``fit_many`` with the same arguments.  ``jax.devices()`` then lists
the devices of all processes, the batch is sharded over all of them, each process
simulates its own shards, and :func:`to_host` gathers the results to every process
(``process_allgather``), so that all of them run the same optimizer loop on the same
numbers and return the same fit.  On CPU the cross-process collectives use gloo (JAX's
default ``jax_cpu_collectives_implementation``).
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def shard_batch(x) -> tuple[jax.Array, int]:
    """Put a batch (leading axis) on all devices; pad it to a multiple of their number by
    repeating the last entry.  Returns the array and the true batch size.

    With several processes every process passes the same batch and places only the
    shards on its own devices."""
    x = np.asarray(x)
    k = x.shape[0]
    n = jax.device_count()
    if n == 1:
        return jax.numpy.asarray(x), k
    pad = (-k) % n
    if pad:
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
    sharding = NamedSharding(Mesh(np.array(jax.devices()), ("batch",)), PartitionSpec("batch"))
    if jax.process_count() == 1:
        return jax.device_put(x, sharding), k
    # (device_put would first check, with a collective, that every process passed the
    # same values; they do: each runs the same loop on the same gathered numbers.)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index]), k


def to_host(a, k: int | None = None) -> np.ndarray:
    """A (possibly sharded) batch as a NumPy array on this process, cut to its first k
    entries (the padding of :func:`shard_batch` dropped).  An array spread over several
    processes is gathered to every one of them."""
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        from jax.experimental import multihost_utils

        a = multihost_utils.process_allgather(a, tiled=True)
    a = np.asarray(a)
    return a if k is None else a[:k]
