"""Electron-transfer laws: one file each, registered by name."""

from mechlang.kinetics import butler_volmer, frumkin_bv, marcus, mhc, nernst  # noqa: F401
from mechlang.kinetics.base import REGISTRY, KineticLaw, get, register  # noqa: F401
