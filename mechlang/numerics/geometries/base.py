"""The interface of a geometry: control volumes and face areas of a 1-D grid.

Positions are dimensionless, in units of the domain length L, measured from the
electrode surface; ``radius`` is the electrode radius in the same units (or None).
Everything is per unit electrode area, so fluxes and the current need no other factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

REGISTRY: dict[str, "Geometry"] = {}


@dataclass(frozen=True)
class Geometry:
    """``factors(x, radius) -> (volume, face)``.

    volume[i]: control volume of node i (node 0 a half cell at the electrode);
    face[i]: area of the face between nodes i and i+1, both relative to the electrode area.
    ``size_key``: the experiment setting that gives the electrode size (e.g. ``r``).
    ``domain_key``: the setting that is the domain length itself (a closed cell), instead
    of a multiple of the diffusion length.
    ``outer(x_ref, radius)``: the integral of dX / face(X) from the domain's end X = 1 to
    the reference electrode at X = x_ref (None: at infinity), the resistance of the bulk
    electrolyte beyond the domain per unit conductivity (migration); None where that
    resistance is not defined.
    """

    name: str
    factors: Callable
    size_key: str | None = None
    domain_key: str | None = None
    outer: Callable | None = None


def register(geometry: Geometry) -> Geometry:
    REGISTRY[geometry.name] = geometry
    return geometry


def get(name: str) -> Geometry:
    from mechlang.numerics import geometries  # noqa: F401

    return REGISTRY[name]
