"""Planar semi-infinite diffusion: volumes are lengths, every face has the electrode's area."""

import jax.numpy as jnp

from mechlang.numerics.geometries.base import Geometry, register


def _factors(x, radius):
    mid = 0.5 * (x[1:] + x[:-1])
    edges = jnp.concatenate([x[:1], mid, x[-1:]])
    return edges[1:] - edges[:-1], jnp.ones_like(mid)


def outer(x_ref, radius):
    """The bulk beyond the domain: a slab of thickness x_ref - 1 (diverges at infinity)."""
    return x_ref - 1.0


register(Geometry("planar", _factors, outer=outer))
