"""Li metal deposition/stripping, Li+ + e- <=> Li(s): the library's Butler-Volmer, Marcus
and Marcus-Hush-Chidsey polarization curves against their physical limits, and fits to the
measured Tafel plots of Boyle et al. (2020) (``../shared/data/li_metal_boyle2020``)."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import mechlang
from mechlang import constants

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "mechanisms"
LAWS = ("bv", "marcus", "mhc")
F, C_STD = constants.F, constants.c_standard
T = 298.15
f = F / (constants.R * T)
EV = constants.e  # J per eV
MID = 125  # E_start = -0.25 V, E_end = 0.25 V, 251 points: index 125 is E = 0


@pytest.fixture(scope="module")
def sims():
    return {law: mechlang.compile(LIBRARY / f"li_{law}.mech") for law in LAWS}


def density(sim, params=None):
    """(E in V, current density in A/m^2) of a library simulator."""
    r = sim(params or {})
    return np.asarray(r.E), np.asarray(r.I) / sim.defaults["area"]


@pytest.mark.parametrize("law", LAWS)
def test_zero_current_at_equilibrium_and_the_nernst_shift(sims, law):
    sim = sims[law]
    E, j = density(sim)
    assert sim.species == ("Lip",) and E.shape == (251,) and E[MID] == 0.0
    # [Li+] = 1 M: E0 = 0 V is the equilibrium potential; deposition cathodic, stripping anodic.
    assert abs(j[MID]) < 1e-12 * np.max(np.abs(j))
    assert np.all(j[:MID] < 0) and np.all(j[MID + 1:] > 0)
    # Detailed balance: at 0.1 M the current vanishes at E0 + (RT/F) ln([Li+]/c°), whatever the law.
    E_eq = math.log(0.1) / f
    E, j = density(sim, {"Lip.c": 0.1 * C_STD, "E_start": E_eq - 0.25, "E_end": E_eq + 0.25})
    assert E[MID] == pytest.approx(E_eq, abs=1e-15)
    assert abs(j[MID]) < 1e-10 * np.max(np.abs(j))
    assert j[MID - 1] < 0 < j[MID + 1]
    assert abs(E_eq) > 0.05  # the shift is real: at E0 itself the current is cathodic
    assert density(sim, {"Lip.c": 0.1 * C_STD})[1][MID] > 0


@pytest.mark.parametrize("law", LAWS)
def test_linear_response_slope_is_the_exchange_current(sims, law):
    # Near equilibrium j = j0 f eta for every law, with j0 = F k0 [Li+] (what the example reports).
    k0 = 3e-7
    E, j = density(sims[law], {"k0": k0})
    slope = (j[MID + 1] - j[MID - 1]) / (E[MID + 1] - E[MID - 1])
    assert slope == pytest.approx(F * k0 * C_STD * f, rel=2e-3)


def test_butler_volmer_curve_and_tafel_slopes(sims):
    k0, alpha = 2e-7, 0.35
    E, j = density(sims["bv"], {"k0": k0, "alpha": alpha})
    expect = -F * k0 * C_STD * (np.exp(-alpha * f * E) - np.exp((1 - alpha) * f * E))
    np.testing.assert_allclose(j, expect, rtol=1e-10, atol=1e-12)
    cathodic = np.log(j[25] / j[0]) / (E[25] - E[0])  # -0.25 .. -0.20 V
    anodic = np.log(j[-1] / j[-26]) / (E[-1] - E[-26])  # 0.20 .. 0.25 V
    assert cathodic == pytest.approx(-alpha * f, rel=1e-3)
    assert anodic == pytest.approx((1 - alpha) * f, rel=1e-3)


def test_marcus_tafel_plot_is_a_parabola_and_turns_over(sims):
    # j = 2 F k0 c° exp(-(f eta)^2 / (4 l)) sinh(f eta / 2), l = lambda / kT: the log of
    # j / sinh is a parabola in eta whose curvature gives lambda back.
    lam = 0.3
    E, j = density(sims["marcus"], {"lambda": lam * EV})
    keep = np.abs(E) > 5e-3
    y = np.log(j[keep] / (2 * np.sinh(f * E[keep] / 2)))
    curvature = np.polyfit((f * E[keep]) ** 2, y, 1)[0]
    l_kT = lam * EV / (constants.k_B * T)
    assert -1 / (4 * curvature) == pytest.approx(l_kT, rel=1e-8)
    # Inverted region: with lambda = 0.1 eV the cathodic current peaks near eta = -lambda/e
    # and falls beyond it.
    E, j = density(sims["marcus"], {"lambda": 0.1 * EV})
    peak = np.argmax(np.abs(j[:MID]))
    assert E[peak] == pytest.approx(-0.1, abs=0.015)
    assert abs(j[0]) < 0.2 * abs(j[peak])


def test_mhc_bends_away_from_butler_volmer_and_levels_off(sims):
    lam, k0 = 0.2, 2e-7
    params = {"lambda": lam * EV, "k0": k0}
    E, j = density(sims["mhc"], params)
    np.testing.assert_allclose(j, -j[::-1], rtol=1e-12, atol=1e-12)  # odd in eta at [Li+] = c°
    # No inverted region: |j| keeps rising on both branches ...
    assert np.all(np.diff(np.abs(j[:MID + 1])) < 0) and np.all(np.diff(np.abs(j[MID:])) > 0)
    # ... but, against Butler-Volmer with the same j0 and alpha = 1/2, its Tafel slope falls
    # steadily from the same value at equilibrium to a small fraction at -0.25 V.
    _, j_bv = density(sims["bv"], {"k0": k0, "alpha": 0.5})

    def slope(x):  # d ln|j| / d|eta| on the cathodic branch
        return -np.diff(np.log(np.abs(x[:MID]))) / np.diff(E[:MID])

    ratio = slope(j) / slope(j_bv)  # from eta = -0.25 V towards 0
    assert ratio[-1] == pytest.approx(1.0, abs=0.01)
    assert np.all(np.diff(ratio) > 0) and ratio[0] < 0.3
    assert abs(j[0]) < 0.2 * abs(j_bv[0])  # 0.16
    # The plateau (activationless limit) of the closed form: |j| -> 4 F k0 c° / S(0).
    l_kT = lam * EV / (constants.k_B * T)
    S0 = math.erfc((l_kT - math.sqrt(1 + math.sqrt(l_kT))) / (2 * math.sqrt(l_kT)))
    _, far = density(sims["mhc"], {**params, "E_start": -3.0, "E_end": -2.0})
    assert np.abs(far) == pytest.approx(4 * F * k0 * C_STD / S0, rel=1e-9)


# -- measured data -------------------------------------------------------------------------


def example():
    spec = importlib.util.spec_from_file_location("li_metal_kinetics", ROOT / "examples" / "li_metal_kinetics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def boyle(shared_dir):
    path = shared_dir / "data" / "li_metal_boyle2020" / "boyle2020_fig4a.csv"
    if not path.is_file():
        pytest.skip(f"the Li metal data of Boyle et al. (2020) are absent ({path}); "
                    "pass --shared DIR or set MECHLANG_SHARED")
    ex = example()
    return ex, ex.read_fig4a(path)


def test_reading_fig4a_signs_the_currents(boyle):
    ex, data = boyle
    assert {k: len(v[0]) for k, v in data.items()} == {"10 % FEC": 15, "EC:DEC": 26, "DEC": 12, "PC": 12}
    eta, j = data["EC:DEC"]
    assert eta[0] == pytest.approx(-0.24909014) and j[0] == pytest.approx(-1719.072202)  # mA/cm^2 -> A/m^2
    for eta, j in data.values():
        assert np.all(np.sign(j) == np.sign(eta)) and np.all(np.abs(eta) < 0.25)


def test_missing_data_is_one_clear_message(tmp_path, capsys):
    assert example().main(["--data", str(tmp_path / "absent.csv")]) == 2
    err = capsys.readouterr().err
    assert "absent.csv" in err and "--data" in err and "Traceback" not in err


@pytest.mark.parametrize("weighting, tol", [("max", 0.015), ("relative", 0.05)])
def test_mhc_fit_gives_the_reported_lambda_and_beats_butler_volmer(boyle, weighting, tol):
    # EC:DEC, reported lambda 0.22 eV.  Fitting the currents themselves (max) reproduces
    # the reported value within 0.015 eV; relative errors weigh the small currents near
    # equilibrium more and give a lower lambda (0.19 eV).
    ex, data = boyle
    models = ex.load_models()
    rows = {r["law"]: r for r in ex.fit_electrolyte(models, *data["EC:DEC"], weighting=weighting, starts=2)}
    mhc = rows["MHC"]
    assert mhc["converged"]
    assert abs(mhc["lambda_eV"][0] - ex.REPORTED_LAMBDA["EC:DEC"]) < tol
    assert mhc["lambda_eV"][1] < 0.03  # the data determine lambda
    assert mhc["aic"] < rows["BV"]["aic"] - 20 and mhc["bic"] < rows["BV"]["bic"] - 20
    # Marcus and MHC agree near equilibrium: the same j0 within their error bars.
    j0_mhc, se_mhc = mhc["j0_mA_cm2"]
    j0_marcus, se_marcus = rows["Marcus"]["j0_mA_cm2"]
    assert abs(j0_mhc - j0_marcus) < 3 * math.hypot(se_mhc, se_marcus)
