"""Linear potential sweeps: ``cv`` (any number of cycles) and ``lsv``.

A cv runs E_start -> E_vertex -> E_end, and every further cycle E_end -> E_vertex -> E_end.
Each segment gets ceil(|dE| / options.dE) steps of equal size (static); the potential
changes linearly in time at the scan rate.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from mechlang.experiments.base import Waveform, register


def corners(technique: str, settings) -> list:
    """The potentials where the sweep starts, turns and ends, in order (segment k runs
    from corners[k] to corners[k + 1]); ``settings`` as in the experiment, with ``cycles``."""
    return {"cv": _cv_corners, "lsv": _lsv_corners}[technique](settings)


def _cv_corners(s):
    corners = [s["E_start"], s["E_vertex"], s["E_end"]]
    for _ in range(int(s.get("cycles", 1)) - 1):
        corners += [s["E_vertex"], s["E_end"]]
    return corners


def _lsv_corners(s):
    return [s["E_start"], s["E_end"]]


def _plan(corners):
    def plan(settings, options):
        c = corners(settings)
        return tuple(max(1, math.ceil(abs(b - a) / options.dE - 1e-9)) for a, b in zip(c[:-1], c[1:]))

    return plan


def _programme(corners):
    def programme(settings, plan):
        c = corners(settings)
        ts, es = [], []
        t0 = 0.0
        for (a, b), n in zip(zip(c[:-1], c[1:]), plan):
            frac = jnp.arange(1, n + 1) / n
            es.append(a + (b - a) * frac)
            duration = jnp.abs(b - a) / settings["scan_rate"]
            ts.append(t0 + duration * frac)
            t0 = t0 + duration
        return jnp.concatenate(ts), jnp.concatenate(es)

    return programme


register(Waveform("cv", _plan(_cv_corners), _programme(_cv_corners), lambda s: s["E_start"]))
register(Waveform("lsv", _plan(_lsv_corners), _programme(_lsv_corners), lambda s: s["E_start"]))
