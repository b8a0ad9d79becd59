"""A thin-layer cell: the solution between the electrode and a wall at distance L.

The domain is the layer itself (L, not a multiple of the diffusion length), planar, with
the closed far end the finite-volume grid always has, so what the electrode converts is
exactly what the layer held: the exhaustive charge is n F A L c.  The expanding grid puts
its finest cells at the electrode.
"""

from mechlang.numerics.geometries.base import Geometry, register
from mechlang.numerics.geometries.planar import _factors

register(Geometry("thin_layer", _factors, domain_key="L"))
