"""A hemisphere of radius r0 on an insulating plane: the spherical operator, area 2 pi r0^2.

Per unit electrode area the hemisphere's radial field is the sphere's, so the control
volumes and face areas are those of ``spherical``; only the electrode area rule (set where
the experiment is built) differs.
"""

from mechlang.numerics.geometries.base import Geometry, register
from mechlang.numerics.geometries.spherical import _factors, outer

register(Geometry("hemispherical", _factors, size_key="r", outer=outer))
