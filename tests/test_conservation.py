"""Mass and charge conservation over whole runs."""

import numpy as np
import pytest

import mechlang
from helpers import F, write


def amounts(res, sim, geometry="planar", r=None):
    """Amount of each species on the grid per unit electrode area (finite-volume cells), mol/m^2."""
    x = np.asarray(res.x)
    mid = 0.5 * (x[1:] + x[:-1])
    edges = np.concatenate([x[:1], mid, x[-1:]])
    if geometry == "planar":
        vol = np.diff(edges)
    else:
        rr = r + edges
        vol = np.diff(rr**3) / (3 * r**2)
    c = np.asarray(res.c_final)
    return dict(zip(sim.species, vol @ c))


E_TEXT = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 0.6e-5 cm^2/s
O + e- <=> R ; butler_volmer(0 V, 1e-3 cm/s, 0.4)
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s
  area = 1 cm^2
}
"""


def test_e_conserves_mass_and_charge(tmp_path):
    sim = mechlang.compile(write(tmp_path, E_TEXT))
    res = sim()
    n = amounts(res, sim)
    initial = 1.0 * np.asarray(res.x)[-1]  # 1 mol/m^3 of O over the domain, per unit area
    assert n["O"] + n["R"] == pytest.approx(initial, rel=1e-9)
    # Charge passed = F * amount of R made (A = 1e-4 m^2), to the accuracy of the quadrature.
    t, I = np.asarray(res.t), np.asarray(res.I)
    charge = np.sum(I * np.diff(np.concatenate([[0.0], t])))
    assert -charge == pytest.approx(F * 1e-4 * n["R"], rel=2e-3)


def test_catalytic_scheme_conserves_mediator_and_substrate(tmp_path):
    text = """
species Med_ox: D = 8e-6 cm^2/s, c = 1 mM
species Med_red: D = 8e-6 cm^2/s
species Z: D = 1e-5 cm^2/s, c = 10 mM
species P: D = 1e-5 cm^2/s
Med_ox + e- <=> Med_red ; nernst(-0.45 V)
Med_red + Z -> Med_ox + P ; k = 1e3 M^-1 s^-1
experiment cv {
  technique = cv
  E_start = 0 V, E_vertex = -0.9 V, scan_rate = 0.05 V/s
}
"""
    sim = mechlang.compile(write(tmp_path, text))
    res = sim()
    n = amounts(res, sim)
    cells = np.asarray(res.x)[-1]
    assert n["Med_ox"] + n["Med_red"] == pytest.approx(1.0 * cells, rel=1e-9)
    assert n["Z"] + n["P"] == pytest.approx(10.0 * cells, rel=1e-9)
    assert n["P"] > 1e-3 * n["Z"]  # the catalysis did run


def test_sphere_conserves_mass(tmp_path):
    text = """
species O: D = 2e-5 cm^2/s, c = 5 mM
species R: D = 1e-5 cm^2/s
O + e- <=> R ; nernst(0 V)
experiment step {
  technique = ca
  E_initial = 0.4 V, E_step = -0.4 V, duration = 1 s
  geometry = spherical(r = 10 um)
}
"""
    sim = mechlang.compile(write(tmp_path, text))
    res = sim()
    n = amounts(res, sim, "spherical", 10e-6)
    x = np.asarray(res.x)
    r = 10e-6
    total = 5.0 * ((r + x[-1]) ** 3 - r**3) / (3 * r**2)
    assert n["O"] + n["R"] == pytest.approx(total, rel=1e-9)
