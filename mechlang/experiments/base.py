"""The interface of an experiment's potential programme (a waveform), and its registry.

A waveform has a static *plan* (how many time steps, fixed at compile time from the
file's values and the solver options) and a dynamic *programme*: given the settings as
JAX scalars it returns the time at the end of every step and the potential applied
during it.  The number of steps never depends on a runtime value, so changing a
potential or a scan rate never recompiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

REGISTRY: dict[str, "Waveform"] = {}


@dataclass(frozen=True)
class Waveform:
    """``plan(settings: dict[str, float], options) -> tuple`` (static);
    ``programme(settings: dict[str, jax scalar], plan) -> (t, E)`` with t, E of shape (steps,):
    the time at the end of each step and the potential during it;
    ``E_rest(settings)``: the potential before t = 0 (galvanostatic: Newton's first start)."""

    name: str
    plan: Callable
    programme: Callable
    E_rest: Callable
    x_label: str = "E / V"  # what a plot puts on its x axis: "E / V" or "t / s"
    galvanostatic: bool = False  # the programme gives the applied current (A); E is solved for

    @property
    def computed(self) -> tuple[str, ...]:
        """The outputs the simulation computes, as opposed to those the programme applies:
        ``("I",)`` (the current) or, galvanostatic, ``("E",)`` (the potential).  Measured
        data can be fitted on these only."""
        return ("E",) if self.galvanostatic else ("I",)


def register(waveform: Waveform) -> Waveform:
    REGISTRY[waveform.name] = waveform
    return waveform


def get(name: str) -> Waveform:
    from mechlang import experiments  # noqa: F401

    return REGISTRY[name]
