"""Cell geometries: one file each, registered by name."""

from mechlang.numerics.geometries import cylindrical, hemispherical, planar, spherical, thin_layer  # noqa: F401
from mechlang.numerics.geometries.base import REGISTRY, Geometry, get  # noqa: F401
