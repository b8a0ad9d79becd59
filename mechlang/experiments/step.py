"""``ca``: chronoamperometry.  Rest at E_initial, step to E_step at t = 0, hold for `duration`.

Time steps grow geometrically from ``options.ca_first_step * duration`` so that the
t^(-1/2) transient is resolved at short times without wasting steps at long ones.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from mechlang.experiments.base import Waveform, register


def plan(settings, options):
    return (int(options.ca_steps), float(options.ca_first_step))


def geometric_times(settings, plan):
    """The end of every step, growing geometrically from ``first * duration``."""
    n, first = plan
    # Growth factor g with first * (g^n - 1)/(g - 1) = 1, solved once (static).
    g = 1.0 + 1.0 / n
    for _ in range(200):
        g = (1.0 + (g - 1.0) / first) ** (1.0 / n)
    frac = (g ** np.arange(1, n + 1) - 1.0) / (g**n - 1.0)
    t = settings["duration"] * jnp.asarray(frac)
    return t


def _programme(settings, plan):
    t = geometric_times(settings, plan)
    return t, jnp.broadcast_to(settings["E_step"], t.shape) + 0.0 * t


register(Waveform("ca", plan, _programme, lambda s: s["E_initial"], x_label="t / s"))
