"""transport concentrated: a binary salt in a symmetric Li | salt | Li cell under a current.

Checked against physics: the closed-form series for galvanostatic polarization with
constant D and t+ (and its linear steady state, slope i (1 - t+)/(F D)); the steady state
with D(c) and t+(c) from the quadrature x(c) = -(F/i) int D/(1 - t+) dc with the salt
conserved; the salt conserved in the closed cell at every step; a solvent velocity
V (1 - t+) i / F in the bulk at early times and zero at steady state; gradients against
finite differences.
"""

import jax
import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

import mechlang
from mechlang.errors import MechError

F = 96485.33212

CELL = """
mechanism sym "Binary salt, symmetric cell"
transport concentrated
param D0 = 1e-7 cm^2/s
param beta = 0
param a = 0.3
param b = 0
param c_avg = 1 M
param Vs = 0 cm^3/mol
species LiX: c = 1 M, D = D0 * (1 + beta * ([LiX] - c_avg) / c_avg), t_plus = a + b * ([LiX] - c_avg) / c_avg, Vm = Vs
experiment pol {
  technique = galvanostatic
  geometry = symmetric_cell(L = 0.5 mm)
  current_density = 0.1 mA/cm^2
  duration = 1 h
}
"""


def sim_of(text=CELL, **options):
    return mechlang.compile(mechlang.load_string(text), **{"points": 81, "ca_steps": 120, **options})


def volumes(x):
    h = np.diff(x)
    return np.concatenate([h[:1] / 2, (h[1:] + h[:-1]) / 2, h[-1:] / 2])


def series(x, t, c0, i, D, tp, L, terms=400):
    g = i * (1 - tp) / (F * D)
    n = np.arange(1, 2 * terms, 2)[:, None]
    w = -(4 * g * L / (n**2 * np.pi**2)) * np.cos(n * np.pi * x[None, :] / L) * np.exp(-(n * np.pi / L) ** 2 * D * t)
    return c0 + g * (L / 2 - x) + w.sum(0)


def test_series_solution_constant_properties():
    sim = sim_of(profiles=True)
    r = sim()
    x, t = np.asarray(r.x), np.asarray(r.t)
    i, D, tp, L = 1.0, 1e-11, 0.3, 5e-4
    amp = i * (1 - tp) / (F * D) * L / 2  # the steady half-amplitude, mol/m^3
    for k in (30, 80, 119):  # about 2 %, 20 % and 100 % of the run (L^2/D = 25000 s)
        exact = series(x, t[k], 1000.0, i, D, tp, L)
        err = np.max(np.abs(np.asarray(r.profiles[k, :, 0]) - exact))
        assert err < 2e-3 * amp, (k, t[k], err / amp)


def test_steady_state_linear_profile():
    r = sim_of()({"duration": 40 * 3600.0})  # the slowest mode decays as e^(-pi^2 D t / L^2) = e^-57
    x, c = np.asarray(r.x), np.asarray(r.c_final[:, 0])
    slope = np.polyfit(x, c, 1)[0]
    assert slope == pytest.approx(-1.0 * (1 - 0.3) / (F * 1e-11), rel=1e-9)
    assert np.max(np.abs(np.asarray(r.velocity[-1]))) == 0.0  # no molar volume: the solvent rests


def test_salt_conserved_and_bulk_velocity():
    sim = sim_of(profiles=True)
    p = {"beta": -0.4, "b": -0.5, "Vs": 1.4e-4}
    r = sim(p)
    Vn = volumes(np.asarray(r.x))
    total = np.asarray(r.profiles[..., 0]) @ Vn
    assert np.max(np.abs(total / (1000.0 * 5e-4) - 1)) < 1e-12
    # Early on the middle of the cell is still at c_avg: v0 = V (1 - t+) i / F there.
    k = 10
    assert float(r.t[k]) < 30
    v_mid = float(r.velocity[k, 40])
    assert v_mid == pytest.approx(1.4e-4 * (1 - 0.3) * 1.0 / F, rel=1e-6)
    assert float(r.velocity[k, 0]) == 0.0 and float(r.velocity[k, -1]) == 0.0


def test_steady_state_with_concentration_dependent_d_and_t_plus():
    p = {"beta": -0.5, "b": -0.4, "Vs": 1.2e-4, "duration": 40 * 3600.0}
    r = sim_of(points=161)(p)
    x, c = np.asarray(r.x), np.asarray(r.c_final[:, 0])
    D = lambda c: 1e-11 * (1 - 0.5 * (c - 1000) / 1000)  # noqa: E731
    tp = lambda c: 0.3 - 0.4 * (c - 1000) / 1000  # noqa: E731
    i, L = 1.0, 5e-4

    def x_of(c, c_left):  # -D dc/dx = (1 - t+) i / F
        return (F / i) * quad(lambda s: D(s) / (1 - tp(s)), c, c_left)[0]

    def mass_error(c_left):
        c_right = brentq(lambda c: x_of(c, c_left) - L, 1.0, c_left)
        # int c dx = int c (dx/dc) dc
        return quad(lambda s: s * (F / i) * D(s) / (1 - tp(s)), c_right, c_left)[0] - 1000 * L

    c_left = brentq(mass_error, 1000.0, 1600.0)
    xs = np.array([x_of(cc, c_left) for cc in c])
    assert np.max(np.abs(xs - x)) < 1e-3 * L
    assert np.max(np.abs(np.asarray(r.velocity[-1]))) < 1e-6 * 1.2e-4 * i / F  # v0 -> 0 at steady state


def test_gradients_match_finite_differences():
    sim = sim_of(ca_steps=60, points=41, profiles=True)
    base = {"beta": -0.3, "a": 0.2, "b": -0.4, "Vs": 1.4e-4}

    def loss(p):
        r = sim({**base, **p})
        return (r.c_final[0, 0] - 1000.0) + 1e7 * r.velocity[30, 20]

    point = {**base, "D0": 1e-11, "L": 5e-4, "current_density": 1.0}
    grads = jax.grad(loss)(point)  # one reverse pass for every parameter and setting
    for name, h in (("a", 1e-5), ("b", 1e-5), ("D0", 1e-16), ("beta", 1e-5), ("Vs", 1e-9), ("L", 1e-9),
                    ("current_density", 1e-5)):
        fd = (float(loss({**point, name: point[name] + h})) - float(loss({**point, name: point[name] - h}))) / (2 * h)
        assert float(grads[name]) == pytest.approx(fd, rel=1e-5, abs=1e-9 * abs(fd)), name


@pytest.mark.parametrize("edit, message", [
    ("geometry = symmetric_cell(L = 0.5 mm)", "transport concentrated needs a symmetric cell"),
    ("current_density = 0.1 mA/cm^2", "needs one of current_density"),
    ("technique = galvanostatic", "needs exactly one species"),
    ("transport concentrated", "belongs to 'transport concentrated'"),
])
def test_errors(edit, message):
    text = CELL
    if edit.startswith("geometry"):
        text = text.replace(edit, "geometry = thin_layer(L = 0.5 mm)")
    elif edit.startswith("current_density"):
        text = text.replace(edit, "")
    elif edit.startswith("technique"):
        text = text.replace("species LiX:", "species Y: c = 1 M, D = 1e-5 cm^2/s, t_plus = 0.5\nspecies LiX:")
    else:
        text = text.replace(edit, "")
    with pytest.raises(MechError) as e:
        mechlang.load_string(text)
    assert message in str(e.value)


def test_programmed_current_expression_and_table():
    text = CELL.replace("current_density = 0.1 mA/cm^2", "current_density = j0 * exp(-t / tau)")
    text = text.replace("param Vs", "param j0 = 0.1 mA/cm^2\nparam tau = 20 min\nparam Vs")
    r = sim_of(text)()
    assert np.asarray(r.I) == pytest.approx(1.0 * np.exp(-np.asarray(r.t) / 1200.0) * 1e-4, rel=1e-12)
    t_tab = np.linspace(0.0, 3600.0, 50)
    table = (tuple(t_tab), tuple(np.exp(-t_tab / 1200.0)))
    r2 = sim_of(current_table=table)()
    # the same programme, linearly interpolated from 50 points
    assert np.max(np.abs(np.asarray(r2.c_final) - np.asarray(r.c_final))) < 1e-3 * 20


def test_bad_current_tables():
    with pytest.raises(MechError, match="times increasing"):
        sim_of(current_table=((0.0, 0.0, 1.0), (1.0, 1.0, 1.0)))
    other = mechlang.load_string("""
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
O + e- <=> R ; nernst(0 V)
experiment ca { technique = ca, E_initial = 0.3 V, E_step = -0.3 V, duration = 1 s }
""")
    with pytest.raises(MechError, match="current_table programmes the current density"):
        mechlang.compile(other, current_table=((0.0, 1.0), (1.0, 1.0)))
