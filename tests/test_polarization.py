"""Steady-state polarization (`technique = polarization`, `transport none`, solid species)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from mechlang import constants
from mechlang.errors import MechError

jax.config.update("jax_enable_x64", True)

F, R = constants.F, constants.R
C_STD = constants.c_standard  # 1 mol/L in mol/m^3: what a solid stands for in a rate law

LI = """
param k0    = 1e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = 0.5       in [0.2, 0.8]
species Lip: c = {c}, z = +1
species Li: solid
E1: Lip + e- <=> Li ; butler_volmer(E0 = {E0} V, k0 = k0, alpha = alpha)
transport none
experiment pol {{ technique = polarization, E_start = -0.25 V, E_end = 0.15 V, points = {points}, area = 0.5 cm^2, T = 300 K }}
"""


def li(tmp_path, c="1 M", E0=-0.05, points=81, name="li.mech"):
    p = tmp_path / name
    p.write_text(LI.format(c=c, E0=E0, points=points))
    return p


def analytic(E, c, E0, k0, alpha, T=300.0, area=0.5e-4):
    f = F / (R * T)
    eta = E - E0
    return -F * area * k0 * (c * np.exp(-alpha * f * eta) - C_STD * np.exp((1 - alpha) * f * eta))


def test_butler_volmer_with_solid(tmp_path):
    sim = mechlang.compile(li(tmp_path, c="0.3 M"))
    r = sim({"alpha": 0.4})
    E = np.asarray(r.E)
    assert E.shape == (81,) and E[0] == pytest.approx(-0.25) and E[-1] == pytest.approx(0.15)
    assert np.all(np.asarray(r.t) == 0)
    expect = analytic(E, 300.0, -0.05, 1e-5, 0.4)
    np.testing.assert_allclose(np.asarray(r.I), expect, rtol=1e-10, atol=1e-15)
    assert sim.species == ("Lip",)  # the solid is not carried


def test_solution_couple_without_transport(tmp_path):
    p = tmp_path / "or.mech"
    p.write_text("""
species O: c = 2 mM
species R: c = 1 mM
O + e- <=> R ; butler_volmer(E0 = 0.1 V, k0 = 0.01 cm/s, alpha = 0.3)
transport none
experiment pol { technique = polarization, E_start = 0.4 V, E_end = -0.2 V }
""")
    r = mechlang.compile(p)()
    E = np.asarray(r.E)
    assert E.shape == (101,) and E[0] == pytest.approx(0.4)  # points default 101; descending is fine
    f = F / (R * 298.15)
    eta = E - 0.1
    expect = -F * 1e-4 * 1e-4 * (2.0 * np.exp(-0.3 * f * eta) - 1.0 * np.exp(0.7 * f * eta))
    np.testing.assert_allclose(np.asarray(r.I), expect, rtol=1e-10)


def test_detailed_balance(tmp_path):
    # c = 1 M: the solid's activity 1 and the ion's c/c° = 1 -> zero current at E0.
    sim = mechlang.compile(li(tmp_path, c="1 M", points=3), experiment="pol")
    r = sim({"E_start": -0.1, "E_end": 0.0})
    I = np.asarray(r.I)  # noqa: E741
    assert abs(I[1]) < 1e-12 * np.max(np.abs(I))
    # c = 0.1 M: zero at the Nernst potential E0 + RT/F ln(c/c°).
    E_eq = -0.05 + R * 300.0 / F * np.log(0.1)
    r = sim({"Lip.c": 100.0, "E_start": E_eq - 0.01, "E_end": E_eq + 0.01})
    I = np.asarray(r.I)  # noqa: E741
    assert abs(I[1]) < 1e-12 * np.max(np.abs(I))
    assert I[0] < 0 < I[2]


def test_grad_matches_finite_differences(tmp_path):
    sim = mechlang.compile(li(tmp_path))
    target = sim({"k0": 2e-5, "alpha": 0.45}).I

    def loss(k0, alpha):
        I = sim({"k0": k0, "alpha": alpha}).I  # noqa: E741
        return jnp.sum(((I - target) / jnp.max(jnp.abs(target))) ** 2)

    k0, alpha = 1e-5, 0.55
    g = jax.grad(loss, argnums=(0, 1))(k0, alpha)
    h = 1e-6
    fd_alpha = (loss(k0, alpha + h) - loss(k0, alpha - h)) / (2 * h)
    fd_k0 = (loss(k0 * (1 + h), alpha) - loss(k0 * (1 - h), alpha)) / (2 * h * k0)
    assert float(g[1]) == pytest.approx(float(fd_alpha), rel=1e-5)
    assert float(g[0]) == pytest.approx(float(fd_k0), rel=1e-5)
    # jit and vmap
    batched = jax.jit(jax.vmap(lambda a: sim({"alpha": a}).I))(jnp.array([0.4, 0.5, 0.6]))
    assert batched.shape == (3, 81)
    np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(sim({"alpha": 0.5}).I), rtol=1e-12, atol=1e-15)


def test_fit_recovers_k0_and_alpha(tmp_path):
    path = li(tmp_path, c="0.5 M", points=201)
    truth = {"k0": 3e-6, "alpha": 0.62}
    E = np.linspace(-0.24, 0.14, 60)[::-1]  # data in any order, inside the range
    I = analytic(E, 500.0, -0.05, truth["k0"], truth["alpha"])  # noqa: E741
    rng = np.random.default_rng(1)
    j = I / 0.5e-4 * (1 + 0.01 * rng.standard_normal(E.size))  # 1 % noise, as a current density
    csv = tmp_path / "pol.csv"
    csv.write_text("E / mV, j [mA/cm^2]\n" + "\n".join(f"{1e3 * e:.6f}, {0.1 * x:.9g}" for e, x in zip(E, j))
                   + "\n300, 1.0\n")  # one point outside E_start..E_end: left out
    from mechlang.inverse.data import load_dataset

    sim = mechlang.compile(path)
    settings = {k: sim.defaults[k] for k in sim.experiment.settings}
    ds = load_dataset(csv, sim.experiment, settings)
    assert ds.kind == "polarization" and len(ds) == 60 and ds.dropped == (62,)
    result = mechlang.fit(path, {"pol": csv}, fit=["k0", "alpha"], progress=False)
    assert result.converged
    assert result.values["k0"] == pytest.approx(truth["k0"], rel=0.03)
    assert result.values["alpha"] == pytest.approx(truth["alpha"], abs=0.01)
    for k, v in truth.items():
        assert abs(result.values[k] - v) < 5 * result.stderr[k] + 1e-3 * v


def test_nernst_step_has_no_steady_current(tmp_path):
    p = tmp_path / "n.mech"
    p.write_text("""
species O: c = 1 mM
species R: c = 1 mM
O + e- <=> R ; nernst(E0 = 0 V)
transport none
experiment pol { technique = polarization, E_start = -0.1 V, E_end = 0.1 V }
""")
    with pytest.raises(MechError, match="no finite rate"):
        mechlang.compile(p)


def test_show_marks_the_solid(tmp_path, capsys):
    from mechlang.cli.main import main

    path = str(li(tmp_path))
    assert main(["check", path]) == 0
    assert "solid" in capsys.readouterr().out
    assert main(["show", path]) == 0
    assert "Transport: none" in capsys.readouterr().out
