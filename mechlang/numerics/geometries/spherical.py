"""A sphere of radius r0 in an infinite solution: the radial operator in conservative form.

With r = r0 + x, a node's volume is the shell between its faces, (r+^3 - r-^3) / (3 r0^2),
and a face's area (r_face / r0)^2, both per unit electrode area.
"""

import jax.numpy as jnp

from mechlang.numerics.geometries.base import Geometry, register


def _factors(x, radius):
    r = radius + x
    mid = 0.5 * (r[1:] + r[:-1])
    edges = jnp.concatenate([r[:1], mid, r[-1:]])
    volume = (edges[1:] ** 3 - edges[:-1] ** 3) / (3 * radius**2)
    return volume, (mid / radius) ** 2


def outer(x_ref, radius):
    """The bulk beyond the domain: a shell from r0 + 1 to r0 + x_ref, the spreading
    resistance r0^2 (1/(r0 + 1) - 1/(r0 + x_ref)); r0^2 / (r0 + 1) to infinity."""
    far = 0.0 if x_ref is None else radius**2 / (radius + x_ref)
    return radius**2 / (radius + 1.0) - far


register(Geometry("spherical", _factors, size_key="r", outer=outer))
