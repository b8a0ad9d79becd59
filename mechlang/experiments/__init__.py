"""Experiment waveforms: one file each, registered by technique name."""

from mechlang.experiments import galvanostatic, polarization, step, sweep  # noqa: F401
from mechlang.experiments.base import REGISTRY, Waveform, get  # noqa: F401
