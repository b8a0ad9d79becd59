"""Uncompensated resistance (Ru) and double-layer capacitance (Cdl) against exact results:
the charging current Cdl v of a sweep, the RC transient of a potential step, and, with a
faradaic wave, the convolution (semi-integral) relation of planar diffusion, which must
hold at the interfacial potential E - I Ru and not at the applied one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import gammaln

import mechlang
from helpers import f_of, write

# A couple far from every potential of the experiments: no faradaic current.
BLANK = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
E1: O + e- <=> R ; butler_volmer(-1.5 V, 1e-3 cm/s, 0.5)
experiment cv {
  technique = cv
  E_start = 0.5 V, E_vertex = 0.2 V, scan_rate = 100 mV/s
  area = 1 cm^2
  Cdl = 20 uF
}
experiment step {
  technique = ca
  E_initial = 0.5 V, E_step = 0.4 V, duration = 10 ms
  Ru = 100 ohm, Cdl = 20 uF
}
"""

REVERSIBLE = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param Ru = {Ru} ohm
param Cdl = {Cdl} uF
E1: O + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment cv {{
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 1 V/s
  area = 1 cm^2
  Ru = Ru, Cdl = Cdl
}}
"""


def test_charging_current_of_a_sweep_is_cdl_times_scan_rate(tmp_path):
    res = mechlang.compile(write(tmp_path, BLANK), "cv", points=60, dE=2e-3)()
    E, I = np.asarray(res.E), np.asarray(res.I)
    turn = np.argmin(E)
    cdl_v = 20e-6 * 0.1
    np.testing.assert_allclose(I[1:turn], -cdl_v, rtol=1e-6)  # cathodic charging on the way down
    np.testing.assert_allclose(I[turn + 1:], cdl_v, rtol=1e-6)


def test_rc_transient_of_a_potential_step(tmp_path):
    res = mechlang.compile(write(tmp_path, BLANK), "step", points=60)()
    t, I = np.asarray(res.t), np.asarray(res.I)
    tau = 100 * 20e-6
    exact = -0.1 / 100 * np.exp(-t / tau)
    late = t > 0.05 * tau  # after the first few steps of the geometric time grid
    np.testing.assert_allclose(I[late], exact[late], atol=1e-4 * 0.1 / 100)
    # the charge that flowed is Cdl dE (to within what is left at 10 ms = 5 tau)
    q = np.trapezoid(np.concatenate([[-0.1 / 100], I]), np.concatenate([[0.0], t]))  # I(0) = dE / Ru
    assert q == pytest.approx(-20e-6 * 0.1 * (1 - np.exp(-t[-1] / tau)), rel=2e-3)


def test_cdl_adds_its_charging_current_to_the_faradaic_one(tmp_path):
    plain = mechlang.compile(write(tmp_path, REVERSIBLE.format(Ru=0, Cdl=0), "a.mech"), points=60, dE=4e-3)()
    charged = mechlang.compile(write(tmp_path, REVERSIBLE.format(Ru=0, Cdl=30), "b.mech"), points=60, dE=4e-3)()
    E = np.asarray(plain.E)
    dEdt = np.diff(np.concatenate([[0.4], E])) / np.diff(np.concatenate([[0.0], np.asarray(plain.t)]))
    np.testing.assert_allclose(np.asarray(charged.I) - np.asarray(plain.I), 30e-6 * dEdt, rtol=1e-9, atol=1e-12)


def surface_fraction_from_current(t, I, D=1e-9, c=1.0, area=1e-4):
    """c_O(0, t) / c* from the current by the semi-integral (G1 algorithm) of planar
    diffusion, c_O(0, t) = c* - (pi D)^(-1/2) int_0^t q(s) (t - s)^(-1/2) ds,
    q = -I / (F A) the flux of O into the electrode; valid for any potential programme."""
    F = 96485.33212
    q = -I / (F * area)
    dt = t[1] - t[0]
    j = np.arange(len(q))
    w = np.exp(gammaln(j + 0.5) - gammaln(0.5) - gammaln(j + 1))
    m = np.array([np.sqrt(dt) * np.dot(w[: n + 1][::-1], q[: n + 1]) for n in range(len(q))])
    return 1.0 - m / (c * np.sqrt(D))


@pytest.mark.parametrize("Ru", [0.0, 50.0])
def test_nernst_holds_at_the_interfacial_potential(tmp_path, Ru):
    res = mechlang.compile(write(tmp_path, REVERSIBLE.format(Ru=Ru, Cdl=0)), points=100, dE=1e-3)()
    t, E, I = map(np.asarray, (res.t, res.E, res.I))
    surface = surface_fraction_from_current(t, I)
    f = f_of()
    at_interface = 1.0 / (1.0 + np.exp(-f * (E - I * Ru)))
    assert np.max(np.abs(surface - at_interface)[10:]) < 3e-3
    if Ru:
        drop = np.max(np.abs(I)) * Ru
        assert drop > 0.03  # a drop of tens of mV, so that the check below means something
        at_applied = 1.0 / (1.0 + np.exp(-f * E))
        assert np.max(np.abs(surface - at_applied)) > 0.1


def test_ohmic_drop_lowers_and_shifts_the_peak(tmp_path):
    peaks = []
    for Ru in (0.0, 50.0):
        res = mechlang.compile(write(tmp_path, REVERSIBLE.format(Ru=Ru, Cdl=0)), points=80, dE=2e-3)()
        E, I = np.asarray(res.E), np.asarray(res.I)
        k = np.argmin(I)
        peaks.append((E[k], I[k]))
    (E0, I0), (E1, I1) = peaks
    assert abs(I1) < abs(I0)
    assert E1 < E0 + I1 * 50.0 * 0.5  # the cathodic peak moves negative by about |Ip| Ru or more


def test_gradient_in_ru_and_cdl_matches_finite_differences(tmp_path):
    sim = mechlang.compile(write(tmp_path, REVERSIBLE.format(Ru=40, Cdl=20)), points=30, dE=1e-2)
    ref = np.asarray(sim().I) * 1.05
    scale = float(np.max(np.abs(ref)))
    at = {"Ru": 40.0, "Cdl": 2e-5}

    def loss(p):
        return jnp.sum(((sim(p).I - ref) / scale) ** 2)

    grad = jax.grad(loss)({k: jnp.asarray(v) for k, v in at.items()})
    for name, value in at.items():
        h = value * 1e-4
        fd = (loss({**at, name: value + h}) - loss({**at, name: value - h})) / (2 * h)
        assert float(grad[name]) == pytest.approx(float(fd), rel=1e-4), name


def test_galvanostatic_current_charges_cdl_and_drops_across_ru(tmp_path):
    text = """
    species O: D = 1e-5 cm^2/s, c = 1 mM
    species R: D = 1e-5 cm^2/s
    E1: O + e- <=> R ; butler_volmer(-0.5 V, 1e-2 cm/s, 0.5)
    experiment g {
      technique = galvanostatic
      current = -10 uA, duration = 0.3 s, E_initial = 0.3 V
      area = 1 cm^2
      Cdl = 20 uF, Ru = 100 ohm
    }
    """
    res = mechlang.compile(write(tmp_path, text), ca_steps=200, points=60)()
    t, E = np.asarray(res.t), np.asarray(res.E)
    # far from E0 the whole current charges the double layer: E = E_i + I t / Cdl, plus I Ru
    np.testing.assert_allclose(E, 0.3 - 10e-6 * t / 20e-6 - 10e-6 * 100, atol=1e-9)


FIT = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param k0 = {k0} cm/s in [1e-5 cm/s, 1 cm/s] log
param Ru = {Ru} ohm in [1 ohm, 1000 ohm] log
param Cdl = {Cdl} uF in [1 uF, 1000 uF] log
E1: O + e- <=> R ; butler_volmer(0 V, k0, 0.5)
experiment cv {{
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 1 V/s
  area = 1 cm^2
  Ru = Ru, Cdl = Cdl
}}
"""


def test_fit_recovers_k0_ru_and_cdl(tmp_path):
    truth = dict(k0=0.01, Ru=30.0, Cdl=40.0)  # file units: cm/s, ohm, uF
    res = mechlang.compile(write(tmp_path, FIT.format(**truth), "truth.mech"), points=80, dE=2e-3)()
    I = np.asarray(res.I)
    noisy = I + 0.01 * np.abs(I).max() * np.random.default_rng(0).standard_normal(I.size)
    start = write(tmp_path, FIT.format(k0=0.05, Ru=10.0, Cdl=10.0), "start.mech")
    fit = mechlang.fit(start, {"cv": {"E": np.asarray(res.E), "I": noisy}}, fit=["k0", "Ru", "Cdl"],
                       points=60, dE=4e-3, progress=False)
    assert fit.converged
    si = dict(k0=1e-4, Ru=30.0, Cdl=40e-6)
    for name, value in si.items():
        assert abs(fit.values[name] - value) < 3 * fit.stderr[name], name


def test_a_param_named_like_its_setting_keeps_its_name_and_bounds(tmp_path):
    from mechlang.inverse.problem import Problem

    path = write(tmp_path, FIT.format(k0=0.01, Ru=30.0, Cdl=40.0))
    sim = mechlang.compile(path, points=40, dE=8e-3)
    by_param, by_setting = sim({"Cdl": 10e-6}), sim({"cv.Cdl": 10e-6})
    np.testing.assert_allclose(by_param.I, by_setting.I, rtol=1e-12)
    assert not np.allclose(by_param.I, sim().I)
    res = sim()
    problem = Problem(mechlang.load(path), {"cv": {"E": np.asarray(res.E), "I": np.asarray(res.I)}}, ["Cdl", "Ru"])
    cdl, ru = problem.parameters
    assert (cdl.lo, cdl.hi, cdl.log) == (pytest.approx(1e-6), pytest.approx(1e-3), True)
    assert (ru.lo, ru.hi, ru.log) == (pytest.approx(1.0), pytest.approx(1000.0), True)


MIGRATION_RU = """
species O: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species X: D = 1e-5 cm^2/s, c = 1 mM, z = -1
param cs = 1 M
species K: D = 1e-5 cm^2/s, c = cs, z = +1
species Cl: D = 1e-5 cm^2/s, c = cs, z = -1
{transport}
E1: O + e- <=> R ; butler_volmer(0 V, 1e-2 cm/s, 0.5)
experiment cv {{
  technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 0.1 V/s
  Ru = 1000 ohm{reference}
}}
"""


def test_ru_with_migration_is_a_resistance_in_series():
    """With migration the solution's own drop is simulated (to the reference electrode);
    Ru is a further resistance in series.  With 1000-fold support (the solution's
    resistance to the reference, under 1 ohm, is negligible against Ru) the CV with
    migration equals the one with diffusion alone, with an ohmic drop I_p Ru of 0.19 V at
    the peak."""
    opts = dict(points=60, dE=0.004)
    mig = mechlang.compile(mechlang.load_string(MIGRATION_RU.format(
        transport="transport diffusion, migration", reference="\n  reference = 1 mm")), **opts)
    dif = mechlang.compile(mechlang.load_string(MIGRATION_RU.format(transport="", reference="")), **opts)
    a, b = mig(), dif()
    Ia, Ib, E = np.asarray(a.I), np.asarray(b.I), np.asarray(b.E)
    assert np.max(np.abs(Ia - Ib)) < 3e-3 * np.max(np.abs(Ib))
    k = np.argmin(Ib)
    assert np.argmin(Ia) == k and E[k] < -0.2  # the peak moved past the ohmic drop I_p Ru
    # and the derivative in Ru through the migration model matches finite differences
    g = float(jax.jvp(lambda ru: mig({"Ru": ru}).I[k], (1000.0,), (1.0,))[1])
    fd = (float(mig({"Ru": 1000.5}).I[k]) - float(mig({"Ru": 999.5}).I[k])) / 1.0
    assert g == pytest.approx(fd, rel=1e-4)
