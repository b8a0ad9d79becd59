"""Hydrogen evolution on a Pt rotating disk (``examples/her_rde.mech``, ``her_rde.py``):
the model's sweep against Levich/Newman and Koutecky-Levich, and the fits to the measured
LSV of the shared data set her_pt_rde (``../shared/data/her_pt_rde``)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import mechlang
from mechlang import constants

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "examples" / "her_rde.mech"
F = constants.F
T = 298.15
f = F / (constants.R * T)
C, D, NU, OMEGA = 1000.0, 9.3e-9, 1e-6, 2500 * 2 * np.pi / 60


def example():
    spec = importlib.util.spec_from_file_location("her_rde", ROOT / "examples" / "her_rde.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def newman():
    """The limiting current density of 1 M H+ at 2500 rpm, A/m^2 (Levich with Newman's
    finite-Schmidt-number correction, which the simulator reaches: tests/test_rotating_disk.py)."""
    sc = NU / D
    levich = 0.62045 * F * D ** (2 / 3) * OMEGA**0.5 * NU ** (-1 / 6) * C
    return levich / (1 + 0.2980 * sc ** (-1 / 3) + 0.14514 * sc ** (-2 / 3))


@pytest.fixture(scope="module")
def sim():
    return mechlang.compile(MODEL)


def density(sim, params):
    """(E, cathodic current density as a positive number, A/m^2)."""
    r = sim(params)
    return np.asarray(r.E), -np.asarray(r.I) / sim.defaults["area"]


def test_example_conditions_and_the_levich_limit():
    ex = example()
    cond = ex.conditions(mechlang.load(MODEL))
    assert cond["c"] == C and cond["D"] == D and cond["nu"] == NU
    assert cond["omega"] == pytest.approx(OMEGA, rel=1e-14) and cond["area"] == 1e-4
    lim = ex.levich(cond)
    assert lim["newman"] == pytest.approx(newman(), rel=1e-12)
    assert lim["levich"] / 10 == pytest.approx(4284, rel=1e-3)  # mA/cm^2: 50 times the measured currents


def test_a_fast_reaction_reaches_the_levich_limit(sim):
    # k0 = 1 m/s: transport-limited over the whole sweep (2 mV/s is steady at delta^2/D = 0.05 s).
    E, j = density(sim, {"k0": 1.0, "alpha": 1.45})
    assert j[-1] == pytest.approx(newman(), rel=2e-3)
    # the plateau, after the start (the first time step still sees the uniform bulk)
    np.testing.assert_allclose(j[E < 0.015], newman(), rtol=2e-3)


@pytest.mark.parametrize("k0", [1e-5, 1e-4])
def test_koutecky_levich_along_the_sweep(sim, k0):
    # Irreversible Butler-Volmer: 1/j = 1/j_k + 1/j_L with j_k = F k0 c exp(-alpha f E).
    alpha = 1.45
    E, j = density(sim, {"k0": k0, "alpha": alpha})
    j_k = F * k0 * C * np.exp(-alpha * f * E)
    kl = 1 / (1 / j_k + 1 / newman())
    mixed = (j / newman() > 0.05) & (j / newman() < 0.95)
    assert mixed.sum() > 10  # the test reaches mixed control
    np.testing.assert_allclose(j[E < 0.015], kl[E < 0.015], rtol=5e-3)  # past the start transient
    # and it is not the kinetic current alone
    assert np.max(j_k[mixed] / j[mixed]) > 1.5


def test_at_the_reported_kinetics_the_current_is_kinetic(sim):
    # k0 = 3.9e-7 m/s, alpha = 1.45: at small overpotential j = j_k; at the most negative
    # potential transport takes off only the Koutecky-Levich 2 %.
    E, j = density(sim, {"k0": 3.9e-7, "alpha": 1.45})
    j_k = F * 3.9e-7 * C * np.exp(-1.45 * f * E)
    small = np.abs(E) < 0.01
    np.testing.assert_allclose(j[small], j_k[small], rtol=2e-3)
    assert j[-1] / j_k[-1] == pytest.approx(1 / (1 + j_k[-1] / newman()), rel=2e-3)
    assert 0.97 < j[-1] / j_k[-1] < 0.99


# -- measured data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def her(shared_dir):
    path = shared_dir / "data" / "her_pt_rde" / "her_pt_rde_lsv.csv"
    if not path.is_file():
        pytest.skip(f"the HER rotating-disk data are absent ({path}); pass --shared DIR or set MECHLANG_SHARED")
    ex = example()
    return ex, ex.read_lsv(path)


def test_reading_the_lsv(her):
    ex, (E, j) = her
    assert len(E) == 78 and np.all(np.diff(E) < 0)  # in the order of the negative-going sweep
    assert E[0] == pytest.approx(0.019396862) and j[0] == pytest.approx(-6.71039216)  # mA/cm^2 -> A/m^2
    assert np.all(j < 0)


def test_missing_data_is_one_clear_message(tmp_path, capsys):
    assert example().main(["--data", str(tmp_path / "absent.csv")]) == 2
    err = capsys.readouterr().err
    assert "absent.csv" in err and "--data" in err and "Traceback" not in err


@pytest.mark.parametrize("weighting", ["max", "relative"])
def test_whole_curve_fit(her, weighting):
    # Least squares on the currents (max) reproduces the reported k0 = 3.9e-7 m/s and
    # alpha = 1.45 (k0 4.25e-7 m/s, alpha 1.405: within 10 % and 0.05). Relative errors
    # weigh the small currents, where the Tafel slope is steeper, and give alpha = 1.74,
    # k0 = 2.4e-7 m/s (examples/README.md): the curve is not one Tafel line.
    ex, (E, j) = her
    model = mechlang.load(MODEL)
    r = ex.fit(model, E, j, weighting, ex.conditions(model))
    assert r.converged
    k0, alpha = r.values["k0"], r.values["alpha"]
    if weighting == "max":
        assert abs(k0 / ex.REPORTED["k0"] - 1) < 0.15 and abs(alpha - ex.REPORTED["alpha"]) < 0.08
    else:
        # The whole-curve alpha lies within the range of the data's own local Tafel slopes
        # (each half of the potential range fitted as a line in ln|j|), and the fit follows
        # every decade of current to about 10 %.
        halves = np.array_split(np.argsort(E), 2)
        local = [-np.polyfit(E[h], np.log(np.abs(j[h])), 1)[0] / f for h in halves]
        assert min(local) - 0.05 < alpha < max(local) + 0.05
        assert ex.residuals(r.values, E, j, model)["rms_relative"] < 0.12
    assert r.stderr["alpha"] < 0.05 and r.stderr["k0"] / k0 < 0.1
