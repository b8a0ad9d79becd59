"""Surface-confined species, sites and adsorption: Laviron's waves, the Langmuir and
Frumkin isotherms, mass and charge balance, and gradients through adsorption steps."""

import numpy as np
import pytest
from scipy.optimize import brentq

import mechlang
from helpers import F, R, gradient_and_difference, write

T = 298.15
GAMMA = 1e-6  # mol/m^2 (1e-10 mol/cm^2)
AREA = 1e-4  # m^2

SURFACE_COUPLE = """
param ks = 1 s^-1
param alpha = 0.5
surface species O: Gamma = 1e-10 mol/cm^2
surface species R: Gamma = 0 mol/cm^2
E1: O + {n} <=> R ; {law}
experiment cv {{ technique = cv, E_start = {start} V, E_vertex = {vertex} V, scan_rate = 100 mV/s, area = 1 cm^2 }}
"""


def surface_couple(tmp_path, law="nernst(0 V)", n=1, start=0.3, vertex=-0.3):
    text = SURFACE_COUPLE.format(law=law, n="e-" if n == 1 else f"{n} e-", start=start, vertex=vertex)
    return mechlang.compile(write(tmp_path, text))


def half_width(E, I):
    """Width at half height of the one peak of I(E) (linear interpolation), V."""
    k = np.argmax(np.abs(I))
    y = np.abs(I) - 0.5 * np.abs(I[k])
    lo = np.flatnonzero(y[:k] < 0)[-1]
    hi = k + np.flatnonzero(y[k:] < 0)[0]

    def cross(i):
        return E[i] + (E[i + 1] - E[i]) * (0 - y[i]) / (y[i + 1] - y[i])

    return abs(cross(hi - 1) - cross(lo))


@pytest.mark.parametrize("n", [1, 2])
def test_reversible_surface_wave(tmp_path, n):
    sim = surface_couple(tmp_path, n=n)
    res = sim()
    E, I = np.asarray(res.E), np.asarray(res.I)
    v = 0.1
    peak = n**2 * F**2 * AREA * GAMMA * v / (4 * R * T)
    half = len(I) // 2
    kc, ka = np.argmin(I[:half]), half + np.argmax(I[half:])
    assert -I[kc] == pytest.approx(peak, rel=5e-3)
    assert I[ka] == pytest.approx(peak, rel=5e-3)
    assert abs(E[kc]) < 1e-3 and abs(E[ka]) < 1e-3  # both peaks at E0: no separation
    assert half_width(E[:half], I[:half]) == pytest.approx(3.53 * R * T / (n * F), abs=1e-3)
    # Charge under the reduction wave: every adsorbed O reduced, n F A Gamma.
    t = np.asarray(res.t)
    dt = np.diff(np.concatenate([[0.0], t]))
    assert -np.sum((I * dt)[:half]) == pytest.approx(n * F * AREA * GAMMA, rel=2e-3)
    # And the surface concentrations follow Nernst's law; their sum is kept.
    gamma = np.asarray(res.surface)
    assert sim.surface_species == ("O", "R")
    k = half - 1  # the vertex
    assert gamma[k, 0] / gamma[k, 1] == pytest.approx(np.exp(n * F * E[k] / (R * T)), rel=1e-6)
    assert gamma.sum(axis=1) == pytest.approx(GAMMA, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.5, 0.3])
def test_laviron_irreversible_peak_shift(tmp_path, alpha):
    """Laviron (1979): Ep = E0 - RT/(alpha F) ln(alpha F v / (R T ks)) far from reversibility."""
    sim = surface_couple(tmp_path, law="butler_volmer(0 V, ks, alpha)", start=0.4, vertex=-0.8)
    peaks = []
    for v in (10.0, 100.0):
        res = sim({"scan_rate": v, "alpha": alpha})
        E, I = np.asarray(res.E), np.asarray(res.I)
        k = np.argmin(I)
        c = np.polyfit(E[k - 1 : k + 2], I[k - 1 : k + 2], 2)
        Ep = -c[1] / (2 * c[0])
        expected = -R * T / (alpha * F) * np.log(alpha * F * v / (R * T * 1.0))
        assert Ep == pytest.approx(expected, abs=1e-3)
        # Laviron's irreversible peak current, alpha n F^2 A Gamma v / (e R T).
        assert -I[k] == pytest.approx(alpha * F**2 * AREA * GAMMA * v / (np.e * R * T), rel=5e-3)
        peaks.append(Ep)
    assert peaks[1] - peaks[0] == pytest.approx(-np.log(10) * R * T / (alpha * F), rel=1e-2)


ADSORPTION = """
site S: Gamma_max = 2e-10 mol/cm^2, g = {g}
species A: D = 1e-5 cm^2/s, c = 1 mM
surface species Aads: Gamma = 0 mol/cm^2, site = S
param ka = 1e-4 cm/s
param kd = 0.5 s^-1
A1: A <=> Aads ; kf = ka, kb = kd
experiment hold {{ technique = ca, E_initial = 0 V, E_step = 0 V, duration = 30 s }}
"""


@pytest.mark.parametrize("g", [0.0, 2.0])
def test_adsorption_reaches_the_langmuir_and_frumkin_isotherms(tmp_path, g):
    sim = mechlang.compile(write(tmp_path, ADSORPTION.format(g=g)))
    res = sim()
    c_surface = float(np.asarray(res.c_final)[0, sim.species.index("A")])
    gamma = float(np.asarray(res.surface)[-1, 0])
    gmax = 2e-6
    K = 1e-6 / (0.5 * gmax)  # kf / (kb Gamma_max), m^3/mol
    theta = brentq(lambda th: th / (1 - th) * np.exp(g * th) - K * c_surface, 1e-12, 1 - 1e-12)
    assert gamma / gmax == pytest.approx(theta, rel=1e-4)
    assert 0.2 < theta < 0.6  # an informative coverage, not a saturated or empty layer
    # Mass balance: what left the solution is on the surface.
    x = np.asarray(res.x)
    mid = 0.5 * (x[1:] + x[:-1])
    vol = np.diff(np.concatenate([x[:1], mid, x[-1:]]))
    in_solution = vol[1:] @ np.asarray(res.c_final)[1:, sim.species.index("A")] + vol[0] * c_surface
    assert in_solution + gamma == pytest.approx(1.0 * x[-1], rel=1e-9)
    assert np.allclose(np.asarray(res.I), 0.0)  # no electron crosses


ADSORBED_COUPLES = """
site S: Gamma_max = 2e-10 mol/cm^2, g = 1
species A: D = 1e-5 cm^2/s, c = 0.2 mM
species B: D = 1e-5 cm^2/s
surface species Aads: Gamma = 1e-10 mol/cm^2, site = S
surface species Bads: Gamma = 0 mol/cm^2, site = S
param ka = 1e-4 cm/s
param kd = 0.5 s^-1
param ks = 5 s^-1
E1: A + e- <=> B ; butler_volmer(0.05 V, 1e-3 cm/s, 0.5)
E2: Aads + e- <=> Bads ; butler_volmer(-0.1 V, ks, 0.5)
A1: A <=> Aads ; kf = ka, kb = kd
A2: B <=> Bads ; kf = 2e-4 cm/s, kb = 1 s^-1
experiment cv { technique = cv, E_start = 0.4 V, E_vertex = -0.5 V, scan_rate = 0.5 V/s, area = 1 cm^2 }
"""


def test_adsorbed_and_solution_couples_conserve_mass(tmp_path):
    sim = mechlang.compile(write(tmp_path, ADSORBED_COUPLES))
    res = sim().check()
    x = np.asarray(res.x)
    mid = 0.5 * (x[1:] + x[:-1])
    vol = np.diff(np.concatenate([x[:1], mid, x[-1:]]))
    c = np.asarray(res.c_final)
    idx = [sim.species.index(s) for s in ("A", "B")]
    dissolved = vol @ c[:, idx].sum(axis=1)
    adsorbed = float(np.asarray(res.surface)[-1].sum())
    assert dissolved + adsorbed == pytest.approx(0.2 * x[-1] + GAMMA, rel=1e-9)


@pytest.fixture(scope="module")
def adsorbed_couples(tmp_path_factory):
    """One coarse compiled simulator for every parameter's gradient (values are inputs)."""
    return mechlang.compile(write(tmp_path_factory.mktemp("ads"), ADSORBED_COUPLES), points=60, dE=4e-3)


@pytest.mark.parametrize("name, value", [("ka", 1e-6), ("S.g", 1.0), ("Aads.Gamma", 1e-6)])
def test_gradients_through_adsorption_match_finite_differences(adsorbed_couples, name, value):
    sim = adsorbed_couples
    grad, fd = gradient_and_difference(sim, name, value)
    assert grad == pytest.approx(fd, rel=1e-4)
    assert grad != 0.0


FRUMKIN = """
site S: Gamma_max = 2e-10 mol/cm^2
surface species O: Gamma = 1e-10 mol/cm^2, site = S
surface species R: Gamma = 0 mol/cm^2, site = S
param g = 0
E1: O + e- <=> R ; {law}
experiment cv {{ technique = cv, E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 100 mV/s, area = 1 cm^2 }}
"""


@pytest.mark.parametrize("g", [2.0, -1.0])
def test_frumkin_interaction_scales_the_reversible_surface_wave(tmp_path, g):
    """Laviron (1974): with interactions the fast surface wave keeps its peak at E0 and its
    height becomes n^2 F^2 A Gamma v / (R T (4 + 2 g theta)), theta the total coverage."""
    sim = mechlang.compile(write(tmp_path, FRUMKIN.format(law="frumkin_bv(0 V, 1e5 s^-1, 0.5, g)")))
    res = sim({"g": g})
    E, I = np.asarray(res.E), np.asarray(res.I)
    half = len(I) // 2
    k = np.argmin(I[:half])
    peak = F**2 * AREA * GAMMA * 0.1 / (R * T * (4 + 2 * g * 0.5))
    assert -I[k] == pytest.approx(peak, rel=5e-3)
    assert abs(E[k]) < 1.5e-3


def test_frumkin_bv_without_interaction_is_butler_volmer(tmp_path):
    a = mechlang.compile(write(tmp_path, FRUMKIN.format(law="frumkin_bv(0 V, 3 s^-1, 0.4, g)"), "a.mech"))()
    b = mechlang.compile(write(tmp_path, FRUMKIN.format(law="butler_volmer(0 V, 3 s^-1, 0.4)"), "b.mech"))()
    assert np.asarray(a.I) == pytest.approx(np.asarray(b.I), rel=1e-10, abs=1e-20)


def test_frumkin_bv_needs_species_on_a_site(tmp_path):
    text = SURFACE_COUPLE.format(law="frumkin_bv(0 V, ks, alpha, 1)", n="e-", start=0.3, vertex=-0.3)
    with pytest.raises(mechlang.MechError, match="must be a surface species on a site"):
        mechlang.load(write(tmp_path, text))


ELECTROSORPTION = """
site S: Gamma_max = 2e-10 mol/cm^2, g = {g}
species A: D = 1e-5 cm^2/s, c = 1 mM
surface species Bads: Gamma = 0 mol/cm^2, site = S
param E0 = -0.1 V
param ks = 100 s^-1
E1: A + e- <=> Bads ; butler_volmer(E0, ks, 0.5)
experiment hold {{ technique = ca, E_initial = 0.3 V, E_step = -0.28 V, duration = 20 s, area = 1 cm^2 }}
experiment cv {{ technique = cv, E_start = 0.2 V, E_vertex = -0.5 V, scan_rate = 0.2 V/s, area = 1 cm^2 }}
"""


@pytest.mark.parametrize("g", [0.0, 1.5])
def test_electrosorption_reaches_its_isotherm_and_passes_its_charge(tmp_path, g):
    """A + e- <=> Bads held at E: theta / (1 - theta) e^(g theta) = (c(0)/c°) e^(-f (E - E0));
    and the charge passed is F A Gamma."""
    sim = mechlang.compile(write(tmp_path, ELECTROSORPTION.format(g=g)), "hold")
    res = sim()
    c_surface = float(np.asarray(res.c_final)[0, sim.species.index("A")])
    gamma = float(np.asarray(res.surface)[-1, 0])
    rhs = c_surface / 1000.0 * np.exp(-F / (R * T) * (-0.28 + 0.1))
    theta = brentq(lambda th: th / (1 - th) * np.exp(g * th) - rhs, 1e-12, 1 - 1e-12)
    assert gamma / 2e-6 == pytest.approx(theta, rel=1e-4)
    assert 0.2 < theta < 0.8
    # The charge of a sweep (smooth enough for the rectangle rule) is F A Gamma at its end.
    cv = mechlang.compile(write(tmp_path, ELECTROSORPTION.format(g=g)), "cv")
    res = cv()
    t, I = np.asarray(res.t), np.asarray(res.I)
    half = len(t) // 2
    charge = -np.sum((I * np.diff(np.concatenate([[0.0], t])))[:half])
    assert charge == pytest.approx(F * AREA * float(np.asarray(res.surface)[half - 1, 0]), rel=2e-3)


@pytest.fixture(scope="module")
def electrosorption_cv(tmp_path_factory):
    """One coarse compiled simulator for every parameter's gradient (values are inputs)."""
    path = write(tmp_path_factory.mktemp("electrosorption"), ELECTROSORPTION.format(g=1.0))
    return mechlang.compile(path, "cv", points=60, dE=4e-3)


@pytest.mark.parametrize("name, value", [("ks", 100.0), ("S.Gamma_max", 2e-6)])
def test_gradients_through_electrosorption_match_finite_differences(electrosorption_cv, name, value):
    sim = electrosorption_cv
    grad, fd = gradient_and_difference(sim, name, value)
    assert grad == pytest.approx(fd, rel=1e-4)
    assert grad != 0.0


def test_check_and_show_describe_surfaces(tmp_path, capsys):
    from mechlang.cli.main import main

    path = write(tmp_path, ADSORBED_COUPLES)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Aads  surface, Gamma = 1e-10 mol/cm^2, site = S" in out
    assert "S: Gamma_max = 2e-10 mol/cm^2, g = 1" in out
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "A1 (mass action at the surface, no electrons)" in out
    assert "J_Aads = v_A1 - v_E2" in out  # the surface balance: adsorbed minus reduced
