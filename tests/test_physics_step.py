"""Chronoamperometry against Cottrell (planar) and the spherical diffusion result."""

import numpy as np
import pytest

import mechlang
from helpers import F, couple, simulate, write


@pytest.mark.parametrize("n, D_cm2, c_mM, duration", [(1, 1e-5, 1.0, 1.0), (2, 2e-5, 5.0, 10.0)])
def test_cottrell(tmp_path, n, D_cm2, c_mM, duration):
    text = couple(D_O=f"{D_cm2} cm^2/s", D_R=f"{D_cm2} cm^2/s", c=f"{c_mM} mM", n=n) + f"""
experiment step {{
  technique = ca
  E_initial = 0.5 V, E_step = -0.5 V, duration = {duration} s
  area = 0.5 cm^2
}}
"""
    _, t, _, I = simulate(tmp_path, text)
    D, c, A = D_cm2 * 1e-4, c_mM, 0.5e-4
    cottrell = n * F * A * c * np.sqrt(D / (np.pi * t))
    assert np.all(np.abs(-I[4:] / cottrell[4:] - 1) < 0.01)


@pytest.mark.parametrize("r_um, duration", [(25.0, 2.0), (5.0, 0.5)])
def test_sphere(tmp_path, r_um, duration):
    text = couple(D_O="2e-5 cm^2/s", D_R="2e-5 cm^2/s", c="5 mM") + f"""
experiment step {{
  technique = ca
  E_initial = 0.4 V, E_step = -0.4 V, duration = {duration} s
  geometry = spherical(r = {r_um} um)
}}
"""
    _, t, _, I = simulate(tmp_path, text)
    D, c, r = 2e-9, 5.0, r_um * 1e-6
    A = 4 * np.pi * r**2
    expected = F * A * D * c * (1 / np.sqrt(np.pi * D * t) + 1 / r)
    assert np.all(np.abs(-I[4:] / expected[4:] - 1) < 0.01)


def test_concentration_profiles_follow_the_error_function(tmp_path):
    """With profiles=True the result holds c(x, t) at every step: after a diffusion-limited
    step, c_O(x, t) = c erf(x / (2 sqrt(D t))) on a plane."""
    from scipy.special import erf

    text = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
O + e- <=> R ; nernst(0 V)
experiment step { technique = ca, E_initial = 0.4 V, E_step = -0.4 V, duration = 1 s }
"""
    sim = mechlang.compile(write(tmp_path, text), profiles=True)
    res = sim()
    t, x, c = np.asarray(res.t), np.asarray(res.x), np.asarray(res.profiles)
    assert c.shape == (t.size, x.size, 2)
    for k in (t.size // 3, t.size - 1):
        exact = erf(x / (2 * np.sqrt(1e-9 * t[k])))
        assert np.max(np.abs(c[k, :, 0] - exact)) < 2e-3
    assert np.allclose(c[-1], np.asarray(res.c_final))
