"""Hemispherical, cylindrical and thin-layer cells against their known currents."""

import mpmath as mp
import numpy as np
import pytest

import mechlang
from helpers import F, R, gradient_and_difference, write

T = 298.15
D = 1e-9  # m^2/s
C = 1.0  # mol/m^3

CELLS = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
O + e- <=> R ; nernst(0 V)
experiment thin {{ technique = cv, E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = {v}, area = 1 cm^2
                  geometry = thin_layer(L = 10 um) }}
experiment hemi {{ technique = ca, E_initial = 0.4 V, E_step = -0.4 V, duration = 20 s
                  geometry = hemispherical(r = 10 um) }}
experiment wire {{ technique = ca, E_initial = 0.4 V, E_step = -0.4 V, duration = 20 s
                  geometry = cylindrical(r = 5 um, length = 1 mm) }}
"""


def cells(tmp_path, v="1 mV/s"):
    return write(tmp_path, CELLS.format(v=v))


def at(t, I, times):
    return [(t[k], I[k]) for k in (np.argmin(np.abs(t - s)) for s in times)]


def test_hemisphere_current_and_area(tmp_path):
    """Diffusion to a hemisphere: I = n F A D C (1/sqrt(pi D t) + 1/r), A = 2 pi r^2; the
    steady state is 2 pi n F D C r."""
    sim = mechlang.compile(cells(tmp_path), "hemi")
    assert sim.defaults["area"] == pytest.approx(2 * np.pi * 1e-10)
    res = sim()
    r, A = 1e-5, 2 * np.pi * 1e-10
    for t, I in at(np.asarray(res.t), np.asarray(res.I), (0.01, 0.1, 1.0, 20.0)):
        assert -I == pytest.approx(F * A * D * C * (1 / np.sqrt(np.pi * D * t) + 1 / r), rel=2e-3)


def cylinder_flux(t, r):
    """Exact diffusion-limited flux to a cylinder (mol/m^2/s), by numerical inversion of
    its Laplace transform D (C/p) q K1(q r)/K0(q r), q = sqrt(p/D)."""
    def image(p):
        q = mp.sqrt(p / D)
        return D * C / p * q * mp.besselk(1, q * r) / mp.besselk(0, q * r)

    return float(mp.invertlaplace(image, t, method="talbot"))


def test_cylinder_current_against_the_exact_solution(tmp_path):
    sim = mechlang.compile(cells(tmp_path), "wire")
    r, length = 5e-6, 1e-3
    assert sim.defaults["area"] == pytest.approx(2 * np.pi * r * length)
    res = sim()
    for t, I in at(np.asarray(res.t), np.asarray(res.I), (0.01, 0.1, 1.0, 20.0)):
        assert -I == pytest.approx(F * 2 * np.pi * r * length * cylinder_flux(t, r), rel=2e-3)
    # A cylinder has no true steady state: the current still falls at 20 s.
    I = -np.asarray(res.I)
    assert I[-1] < I[-50]


def test_thin_layer_voltammogram_and_exhaustive_charge(tmp_path):
    """A thin layer swept slowly: symmetric peaks at E0, n^2 F^2 v V C / (4 R T) high, and
    the charge of the reduction sweep n F V C (every O in the layer reduced)."""
    sim = mechlang.compile(cells(tmp_path), "thin")
    res = sim()
    E, I, t = np.asarray(res.E), np.asarray(res.I), np.asarray(res.t)
    V, v = 1e-4 * 1e-5, 1e-3
    peak = F**2 * v * V * C / (4 * R * T)
    half = len(I) // 2
    kc, ka = np.argmin(I[:half]), half + np.argmax(I[half:])
    assert -I[kc] == pytest.approx(peak, rel=5e-3) and I[ka] == pytest.approx(peak, rel=5e-3)
    assert abs(E[kc]) < 1e-3 and abs(E[ka]) < 1e-3
    charge = -np.sum((I * np.diff(np.concatenate([[0.0], t])))[:half])
    assert charge == pytest.approx(F * V * C, rel=1e-3)
    # Fast enough that the diffusion layer stays far inside the cell, the wave is the
    # semi-infinite one: Randles-Sevcik, 0.4463 n F A C sqrt(n F v D / R T).
    fast = mechlang.compile(cells(tmp_path, "20 V/s"), "thin")()
    rs = 0.4463 * F * 1e-4 * C * np.sqrt(F * 20.0 * D / (R * T))
    assert -np.asarray(fast.I).min() == pytest.approx(rs, rel=5e-3)


@pytest.mark.parametrize("experiment, name, value", [("wire", "r", 5e-6), ("hemi", "r", 1e-5),
                                                     ("thin", "L", 1e-5)])
def test_gradients_with_respect_to_cell_size(tmp_path, experiment, name, value):
    sim = mechlang.compile(cells(tmp_path, "20 mV/s"), experiment, points=60, dE=4e-3, ca_steps=200)
    grad, fd = gradient_and_difference(sim, name, value)
    assert grad == pytest.approx(fd, rel=1e-4)
    assert grad != 0.0
