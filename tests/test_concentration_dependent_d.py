"""Diffusion coefficients that depend on the species' own concentration, D = D(c).

The reference is Boltzmann's similarity solution: after a potential step that holds
c(0) = 0 on a semi-infinite planar domain, c depends on eta = x / sqrt(t) only, for any
D(c), and solves -(eta/2) c' = (D(c) c')' with c(0) = 0, c(inf) = c_bulk.  That ODE is
solved here independently, to 1e-10, with scipy's ``solve_bvp``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_bvp
from scipy.special import erf

import mechlang
from helpers import F, write
from test_conservation import amounts

STEP = """
species O: D = {D}, c = 1 mM
species R: D = 1e-5 cm^2/s
param D0 = 1e-5 cm^2/s
param c1 = 1 mM
O + e- <=> R ; nernst(0 V)
experiment step {{
  technique = ca
  E_initial = 0.5 V, E_step = -0.5 V, duration = 1 s
  area = 1 cm^2
}}
"""

CV = """
species O: D = D0 * exp(-[O]/c1), c = 1 mM
species R: D = D0R * (1 + [R]/c2)
param D0 = 1e-5 cm^2/s
param c1 = 1 mM
param D0R = 0.6e-5 cm^2/s
param c2 = 0.5 mM
O + e- <=> R ; butler_volmer(0 V, 1e-3 cm/s, 0.4)
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s
  area = 1 cm^2
}
"""

D0, CB, AREA = 1e-9, 1.0, 1e-4  # SI


def boltzmann(D_rel, eta_max=14.0):
    """c/c_bulk against eta / sqrt(D0) and the surface value of D c' (same units)."""

    def f(eta, y):
        dc = y[1] / D_rel(y[0])
        return np.vstack([dc, -0.5 * eta * dc])

    eta = np.linspace(0.0, eta_max, 2001)
    guess = np.vstack([erf(eta / 2), np.exp(-eta**2 / 4) / np.sqrt(np.pi)])
    sol = solve_bvp(f, lambda a, b: np.array([a[0], b[0] - 1.0]), eta, guess, tol=1e-10, max_nodes=200000)
    assert sol.success, sol.message
    return sol


def test_potential_step_follows_the_boltzmann_similarity_solution(tmp_path):
    sim = mechlang.compile(write(tmp_path, STEP.format(D="D0 * exp(-[O]/c1)")))
    ref = boltzmann(lambda c: np.exp(-c))
    res = sim()
    t, I = np.asarray(res.t), np.asarray(res.I)
    # I sqrt(t) = -F A c_b sqrt(D0) (D c')(0) in the similarity variable.
    I_ref = -F * AREA * CB * np.sqrt(D0) * ref.sol(0.0)[1]
    err = I * np.sqrt(t) / I_ref - 1
    assert np.max(np.abs(err[10:])) < 3e-4  # measured 7.4e-5
    assert abs(err[3]) < 0.02
    x, c = np.asarray(res.x), np.asarray(res.c_final)[:, 0]
    eta = x / np.sqrt(D0 * t[-1])
    assert np.max(np.abs(c - CB * ref.sol(eta)[0])) < 1e-3 * CB  # measured 2.1e-4
    # Self-similar: four times longer, the same profile against x / sqrt(t).
    res4 = sim({"duration": 4.0})
    x4, c4 = np.asarray(res4.x), np.asarray(res4.c_final)[:, 0]
    np.testing.assert_allclose(np.interp(eta, x4 / np.sqrt(D0 * 4.0), c4), c, atol=1e-9 * CB)


def test_nearly_constant_d_gives_the_constant_d_run_and_cottrell(tmp_path):
    varying = mechlang.compile(write(tmp_path, STEP.format(D="D0 * exp(-[O]/c1)"), "a.mech"))
    constant = mechlang.compile(write(tmp_path, STEP.format(D="1e-5 cm^2/s"), "b.mech"))
    t = np.asarray(constant().t)
    I_c = np.asarray(constant().I)
    I_v = np.asarray(varying({"c1": 1e9}).I)
    np.testing.assert_allclose(I_v, I_c, rtol=1e-7)
    cottrell = -F * AREA * CB * np.sqrt(D0 / (np.pi * t))
    np.testing.assert_allclose(I_v[4:], cottrell[4:], rtol=0.01)


def test_constant_expression_d_is_a_plain_value(tmp_path):
    """A D with no concentration in it is a value as before: same system, same numbers."""
    expr = mechlang.compile(write(tmp_path, STEP.format(D="2 * D0 / 2"), "a.mech"))
    literal = mechlang.compile(write(tmp_path, STEP.format(D="1e-5 cm^2/s"), "b.mech"))
    assert "O.D" in expr.defaults and expr.system.diffusion_expr == (None, None)
    assert expr.system.linear and expr._transient.newton == 1 and expr._transient._cd.size == 0
    np.testing.assert_array_equal(np.asarray(expr().I), np.asarray(literal().I))


def test_mass_is_conserved_with_concentration_dependent_d(tmp_path):
    sim = mechlang.compile(write(tmp_path, CV))
    assert not sim.system.linear and "O.D" not in sim.defaults
    res = sim()
    n = amounts(res, sim)
    initial = CB * np.asarray(res.x)[-1]
    assert n["O"] + n["R"] == pytest.approx(initial, rel=1e-9)
    assert n["R"] > 0.01 * initial  # something happened
    t, I = np.asarray(res.t), np.asarray(res.I)
    charge = np.sum(I * np.diff(np.concatenate([[0.0], t])))
    assert -charge == pytest.approx(F * AREA * n["R"], rel=2e-3)


def test_gradient_matches_finite_differences(tmp_path):
    sim = mechlang.compile(write(tmp_path, CV), points=60, dE=4e-3)
    ref = np.asarray(sim().I)
    scale = float(np.max(np.abs(ref)))

    def loss(p):
        return jnp.sum(((sim(p).I - ref * 1.1) / scale) ** 2)

    at = {"D0": 1e-9, "c1": 1.0, "c2": 0.5}  # c2 also moves D_max (D of R at the largest bulk)
    grads = jax.grad(loss)({k: jnp.asarray(v) for k, v in at.items()})
    for name, value in at.items():
        h = value * 1e-4
        fd = (loss({name: value + h}) - loss({name: value - h})) / (2 * h)
        assert float(grads[name]) == pytest.approx(float(fd), rel=1e-4), name


@pytest.mark.parametrize("D, message", [
    ("D0 * (1 + [Y] / c1)", "D of 'O' depends on [Y], which no step uses, so it is not simulated"),
    ("D0 * [O]", "`D` must be length^2/time, got amount/(length·time)"),
    ("D0 * [Q]", "unknown species 'Q'"),
])
def test_bad_d_expressions(D, message):
    with pytest.raises(mechlang.ModelError) as err:
        mechlang.load_string(STEP.format(D=D) + "species Y: D = 1e-5 cm^2/s, c = 1 mM\n")
    assert message in str(err.value)


def test_sphere_approaches_the_kirchhoff_steady_current_and_conserves_mass(tmp_path):
    """At a sphere of radius r the steady flux obeys Kirchhoff's transform: the integral
    of D dc, here D0 c1 (1 - exp(-c_b/c1)), takes the place of D c_b, so
    I_ss = -4 pi r F D0 c1 (1 - exp(-c_b/c1)); at long times the far field, where c is
    near c_b, adds I_ss r / sqrt(pi D(c_b) t) as for a constant D."""
    text = STEP.format(D="D0 * exp(-[O]/c1)").replace("area = 1 cm^2", "geometry = spherical(r = 10 um)")
    sim = mechlang.compile(write(tmp_path, text))
    res = sim({"duration": 100.0, "D0": 2e-9, "c1": 5.0, "O.c": 5.0})
    r, cb = 1e-5, 5.0
    I_ss = -4 * np.pi * r * F * 2e-9 * 5.0 * (1 - np.exp(-cb / 5.0))
    t = float(res.t[-1])
    expected = 1 + r / np.sqrt(np.pi * 2e-9 * np.exp(-1.0) * t)
    assert float(res.I[-1]) / I_ss == pytest.approx(expected, abs=1e-3)  # measured 2.1e-4 (constant D: 2.2e-4)
    n = amounts(res, sim, "spherical", r)
    x = np.asarray(res.x)
    edges = r + np.concatenate([x[:1], 0.5 * (x[1:] + x[:-1]), x[-1:]])
    assert n["O"] + n["R"] == pytest.approx(cb * np.sum(np.diff(edges**3)) / (3 * r**2), rel=1e-9)
