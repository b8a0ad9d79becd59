"""A rotating disk electrode: planar convective diffusion toward the disk.

The volumes and faces are planar; the solution flows toward the disk with the axial
velocity of von Karman's rotating-disk flow, and the domain is a few diffusion-layer
thicknesses delta = 1.61 D^(1/3) nu^(1/6) omega^(-1/2) (Levich) long, its far end held
at the bulk concentrations (fresh solution arrives there).

Axial velocity (positive away from the disk), with xi = x sqrt(omega / nu), from
Cochran's series for small xi (W. G. Cochran, Proc. Camb. Phil. Soc. 30 (1934) 365;
J. Newman, Electrochemical Systems, ch. 15):

    v_x = sqrt(omega nu) H(xi),  H = -a xi^2 + xi^3 / 3 + (b / 6) xi^4 + ...,
    a = 0.51023, b = -0.61592,

i.e. v_x = -sqrt(omega nu) (0.51023 xi^2 - xi^3/3 + 0.10265 xi^4).  ``terms = 1`` keeps
only the first term, v_x = -0.51023 omega^(3/2) nu^(-1/2) x^2, for which the limiting
current is exactly Levich's; all three terms give Newman's finite-Schmidt-number
correction.  Inside a few delta (xi below about 1 for Sc = nu/D of 1000) the series
is accurate; with all terms |H| is capped at its far-field value 0.88447 beyond its range.
For Sc below about 100 (gases, thin liquids) the diffusion layer reaches xi where
the truncated series is off and the current comes out high (about 1.6 % at Sc = 10, 12 %
at Sc = 1): loading such a file warns, with the file's nu and D (``model/build.py``).
"""

import jax.numpy as jnp

from mechlang.numerics.geometries.base import Geometry, register
from mechlang.numerics.geometries.planar import _factors, outer

A_VK = 0.51023  # -H''(0)/2
B_VK = -0.61592  # G'(0)
H_INF = 0.88447  # -H(infinity)


def velocity(x, omega, nu, terms: int = 3):
    """Axial velocity at distance x (m) from the disk, m/s (negative: toward the disk)."""
    xi = x * jnp.sqrt(omega / nu)
    H = -A_VK * xi**2
    if terms > 1:
        H = jnp.maximum(H + xi**3 / 3 + (B_VK / 6) * xi**4, -H_INF)
    return jnp.sqrt(omega * nu) * H


def layer(D, omega, nu):
    """Levich's diffusion-layer thickness, m."""
    return 1.61 * D ** (1 / 3) * nu ** (1 / 6) / jnp.sqrt(omega)


register(Geometry("rotating_disk", _factors, outer=outer))
