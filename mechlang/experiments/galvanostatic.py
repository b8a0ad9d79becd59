"""``galvanostatic``: chronopotentiometry.  A constant ``current`` (A, anodic > 0) from t = 0
for ``duration``; the electrode potential is an unknown of every step.

The time grid is that of ``ca`` (``ca_steps`` steps growing geometrically from
``ca_first_step * duration``).  The programme's second array is the applied current, not
a potential: the transient solver (``numerics/transient``) solves for E.  ``E_initial``
(default 0 V) is only Newton's start on the first step.
"""

from __future__ import annotations

import jax.numpy as jnp

from mechlang.experiments import step
from mechlang.experiments.base import Waveform, register


def _programme(settings, plan):
    t = step.geometric_times(settings, plan)
    return t, jnp.broadcast_to(settings["current"], t.shape) + 0.0 * t


register(Waveform("galvanostatic", step.plan, _programme, lambda s: s["E_initial"], x_label="t / s",
                  galvanostatic=True))
