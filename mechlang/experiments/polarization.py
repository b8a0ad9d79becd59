"""``polarization``: a steady-state polarization curve, current at ``points`` potentials.

The potentials are evenly spaced from ``E_start`` to ``E_end`` (both included; ``points``
is static, default 101).  There is no time: the programme's "time" is all zeros, and the
simulator that runs it is :class:`~mechlang.numerics.steady.SteadyState` (the file says
``transport none``: surface concentrations equal the bulk ones).
"""

from __future__ import annotations

import jax.numpy as jnp

from mechlang.experiments.base import Waveform, register


def _plan(settings, options):
    return (int(settings.get("points", 101)),)


def _programme(settings, plan):
    (n,) = plan
    frac = jnp.linspace(0.0, 1.0, n)
    E = settings["E_start"] + (settings["E_end"] - settings["E_start"]) * frac
    return jnp.zeros(n), E


register(Waveform("polarization", _plan, _programme, lambda s: s["E_start"]))
