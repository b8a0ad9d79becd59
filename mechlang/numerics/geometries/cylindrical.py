"""A cylinder (wire) of radius r0 and length l in an infinite solution, end effects neglected.

With r = r0 + x, a node's volume is the annulus between its faces, (r+^2 - r-^2) / (2 r0),
and a face's area r_face / r0, both per unit electrode area (2 pi r0 l).  The expanding
grid reaches 6 diffusion lengths, where the cylinder's depletion ends well inside.
"""

import jax.numpy as jnp

from mechlang.numerics.geometries.base import Geometry, register


def _factors(x, radius):
    r = radius + x
    mid = 0.5 * (r[1:] + r[:-1])
    edges = jnp.concatenate([r[:1], mid, r[-1:]])
    volume = (edges[1:] ** 2 - edges[:-1] ** 2) / (2 * radius)
    return volume, mid / radius


def outer(x_ref, radius):
    """The bulk beyond the domain: r0 ln((r0 + x_ref)/(r0 + 1)) (diverges at infinity)."""
    return radius * jnp.log((radius + x_ref) / (radius + 1.0))


register(Geometry("cylindrical", _factors, size_key="r", outer=outer))
