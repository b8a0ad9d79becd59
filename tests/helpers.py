"""Shared helpers of the test-suite: writing .mech text to a file and compiling it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

import mechlang

F = 96485.33212
R = 8.314462618


def f_of(T=298.15, n=1):
    return n * F / (R * T)


def write(tmp_path: Path, text: str, name: str = "model.mech") -> Path:
    path = Path(tmp_path) / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def simulate(tmp_path, text, params=None, experiment=None, **options):
    sim = mechlang.compile(write(tmp_path, text), experiment, **options)
    res = sim(params or {})
    return sim, np.asarray(res.t), np.asarray(res.E), np.asarray(res.I)


def couple(law="nernst(E0)", D_O="1e-5 cm^2/s", D_R="1e-5 cm^2/s", c="1 mM", n=1, extra_params=""):
    """An O + n e- <=> R couple; experiments are appended by the caller."""
    electrons = "e-" if n == 1 else f"{n} e-"
    return textwrap.dedent(f"""
    species O: D = {D_O}, c = {c}
    species R: D = {D_R}
    param E0 = 0 V
    {extra_params}
    E1: O + {electrons} <=> R ; {law}
    """)


def gradient_and_difference(sim, name: str, value: float, rel_step: float = 1e-4):
    """d/d(name) of a misfit of the current, by reverse mode and by central differences."""
    import jax
    import jax.numpy as jnp

    ref = np.asarray(sim().I)
    scale = float(np.max(np.abs(ref)))

    def loss(p):
        return jnp.sum(((sim(p).I - 1.1 * ref) / scale) ** 2)

    grad = float(jax.grad(loss)({name: jnp.asarray(value)})[name])
    h = rel_step * abs(value)
    fd = float((loss({name: value + h}) - loss({name: value - h})) / (2 * h))
    return grad, fd
