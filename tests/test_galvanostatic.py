"""Galvanostatic experiments (chronopotentiometry): Sand's transition time and the
reversible chronopotentiogram, Butler-Volmer kinetics at early times, conservation of
charge, gradients of the potential, and the run-away past the transition time."""

import jax
import numpy as np
import pytest
from scipy.optimize import brentq

import mechlang
from helpers import F, R, f_of, write

T = 298.15
D, C, AREA, CURRENT = 1e-9, 1.0, 1e-4, -50e-6  # m^2/s, mol/m^3, m^2, A (cathodic < 0)
TAU = (F * AREA * C * np.sqrt(np.pi * D) / (2 * abs(CURRENT))) ** 2  # Sand, n = 1: about 29 s

SAND = f"""
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 0 V
E1: O + e- <=> R ; nernst(E0)
experiment gal {{ technique = galvanostatic, current = -50 uA, duration = {0.8 * TAU} s, area = 1 cm^2 }}
"""


@pytest.fixture(scope="module")
def sand(tmp_path_factory):
    sim = mechlang.compile(write(tmp_path_factory.mktemp("gal"), SAND))
    return sim, sim()


def test_sand_chronopotentiogram(sand):
    """E = E0 + (RT/F) ln((tau^1/2 - t^1/2) / t^1/2) with I tau^1/2 = n F A C (pi D)^1/2 / 2."""
    _, res = sand
    t, E, I = np.asarray(res.t), np.asarray(res.E), np.asarray(res.I)
    assert np.allclose(I, CURRENT)
    exact = np.log((np.sqrt(TAU) - np.sqrt(t)) / np.sqrt(t)) / f_of(T)
    window = (t >= 0.05 * TAU) & (t <= 0.8 * TAU * (1 + 1e-9))
    assert window.sum() > 100
    assert np.max(np.abs(E - exact)[window]) < 1e-3


def test_charge_is_conserved(sand):
    """A closed domain: the R made is |I| t / (n F), and O + R stays what it was."""
    sim, res = sand
    x = np.asarray(res.x)
    edges = np.concatenate([x[:1], 0.5 * (x[1:] + x[:-1]), x[-1:]])
    amount = dict(zip(sim.species, np.diff(edges) @ np.asarray(res.c_final) * AREA))
    made = abs(CURRENT) * float(res.t[-1]) / F
    assert amount["R"] == pytest.approx(made, rel=1e-6)
    assert amount["O"] + amount["R"] == pytest.approx(C * x[-1] * AREA, rel=1e-9)


def test_gradients_of_the_potential(sand):
    """dE(t)/dI and dE(t)/dD against central differences."""
    sim, _ = sand
    k = 400
    base = {"current": CURRENT, "O.D": D}

    def E_at(p):
        return sim(p).E[k]

    grads = jax.jacfwd(lambda p: E_at(p))(base)
    for name in base:
        h = 1e-4 * abs(base[name])
        up, down = dict(base), dict(base)
        up[name] += h
        down[name] -= h
        fd = (float(E_at(up)) - float(E_at(down))) / (2 * h)
        assert float(grads[name]) == pytest.approx(fd, rel=1e-4)


def test_past_the_transition_time_is_an_error(sand):
    sim, _ = sand
    with pytest.raises(mechlang.SolverError) as info:
        sim({"duration": 1.5 * TAU})
    message = str(info.value)
    assert "experiment 'gal'" in message and " s, E = " in message


def test_butler_volmer_overpotential_at_early_times(tmp_path):
    """Before diffusion matters, E solves the Butler-Volmer equation for the applied
    current at the bulk concentrations (O and R at 1 mM, E0 = 0)."""
    k0, alpha, current = 1e-5, 0.4, -10e-6  # m/s, -, A on 1 cm^2
    text = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s, c = 1 mM
E1: O + e- <=> R ; butler_volmer(0 V, 1e-3 cm/s, 0.4)
experiment gal { technique = galvanostatic, current = -10 uA, duration = 1 s, area = 1 cm^2 }
"""
    res = mechlang.compile(write(tmp_path, text))()
    t, E = np.asarray(res.t), np.asarray(res.E)
    f = f_of(T)

    def bv(eta):
        return -F * AREA * k0 * C * (np.exp(-alpha * f * eta) - np.exp((1 - alpha) * f * eta)) - current

    eta = brentq(bv, -0.2, 0.2)
    early = t <= 1e-4
    assert early.sum() > 5
    assert np.max(np.abs(E[early] - eta)) < 5e-5
    # Small current: close to the charge-transfer resistance, eta = I RT / (F i0).
    assert eta == pytest.approx(current / (F * AREA * k0 * C * f), rel=0.02)
    # Later, mass transport adds to the overpotential.
    assert E[-1] < eta - 1e-4


UNSUPPORTED = """
species O: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species X: D = 1e-5 cm^2/s, c = 1 mM, z = -1
transport diffusion, migration
O + e- <=> R ; butler_volmer(0 V, 1e-2 cm/s, 0.5)
experiment gal { technique = galvanostatic, current = -50 uA, duration = 10 s, E_initial = 0.3 V, area = 1 cm^2,
                 reference = 1 mm }
"""


def test_sand_without_supporting_electrolyte(tmp_path, fraction=0.6):
    """A binary electrolyte O+ X- (equal D, t+ = 1/2) with migration: the surface
    concentration follows c(0, t)/c* = 1 - (t/tau)^(1/2) with i tau^(1/2) = F c (pi D)^(1/2)
    / (2 (1 - t+)), four times the supported transition time."""
    tau = 4 * TAU
    sim = mechlang.compile(write(tmp_path, UNSUPPORTED), ca_steps=100, points=60)
    res = sim({"duration": fraction * tau})
    c = np.asarray(res.c_final)
    assert c[0, 0] / C == pytest.approx(1 - np.sqrt(fraction), abs=3e-3)
    np.testing.assert_allclose(c[:, 0], c[:, 2], atol=1e-9)  # electroneutral: [O+] = [X-] everywhere
