"""Fitting observables other than the current: concentration profiles of a potential
step (compared with Cottrell's erf profile), joint fits of current and profiles, the
potential of a galvanostatic experiment, and bad profile data."""

import numpy as np
import pytest
from scipy.special import erf

import mechlang
from helpers import F, write
from mechlang.errors import DataError

C0, AREA = 1.0, 1e-4  # mol/m^3, m^2
MODEL = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 0 V
E1: O + e- <=> R ; nernst(E0)
experiment step { technique = ca, E_initial = 0.4 V, E_step = -0.4 V, duration = 1 s, area = 1 cm^2 }
experiment gal { technique = galvanostatic, current = -20 uA, duration = 2 s, area = 1 cm^2 }
"""
FAST = dict(points=80, ca_steps=120)
D_TRUE = 1.3e-9  # m^2/s; the file says 1e-9
TIMES = (0.1, 0.3, 1.0)  # s


def cottrell_profile(t, x, D=D_TRUE):
    """O at distance x after a diffusion-limited step (semi-infinite planar diffusion)."""
    return C0 * erf(x / (2.0 * np.sqrt(D * t)))


def cottrell_current(t, D=D_TRUE):
    return -F * AREA * C0 * np.sqrt(D / (np.pi * t))  # cathodic < 0


def profile_csv(tmp_path, seed=0, noise=0.01, name="profiles.csv"):
    rng = np.random.default_rng(seed)
    t = np.repeat(TIMES, 20)
    x = np.tile(np.linspace(2e-6, 100e-6, 20), len(TIMES))
    c = cottrell_profile(t, x) + noise * C0 * rng.standard_normal(t.size)
    f = tmp_path / name
    rows = [f"{a:.10g}, {b * 1e6:.10g}, {v:.10g}" for a, b, v in zip(t, x, c)]
    f.write_text("t [s], x [um], O [mM]\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return f


def current_data(seed=1, noise=0.01):
    rng = np.random.default_rng(seed)
    t = np.geomspace(0.02, 1.0, 30)
    I = cottrell_current(t)  # noqa: E741
    return {"t": t, "I": I + noise * np.max(np.abs(I)) * rng.standard_normal(t.size)}


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write(tmp_path_factory.mktemp("obs"), MODEL, "step.mech")


@pytest.fixture(scope="module")
def fits(path, tmp_path_factory):
    """D of O fitted to the profiles, to the current, and to both."""
    tmp = tmp_path_factory.mktemp("obs_data")
    profiles, current = str(profile_csv(tmp)), current_data()
    kw = dict(fit=["O.D"], progress=False, **FAST)
    return {
        "profiles": mechlang.fit(path, {"step": profiles}, **kw),
        "current": mechlang.fit(path, {"step": current}, **kw),
        "joint": mechlang.fit(path, {"step": [current, profiles]}, **kw),
    }


def test_profiles_recover_the_diffusion_coefficient(fits):
    r = fits["profiles"]
    assert r.converged
    D, se = r.values["O.D"], r.stderr["O.D"]
    assert abs(D - D_TRUE) < 3 * se, (D, se)
    # 60 points of 1 % noise on an erf profile: a few per cent of D, not less than 0.1 %.
    assert 1e-3 * D_TRUE < se < 0.05 * D_TRUE
    # The residual scatter is the noise: 1 % of the largest concentration.
    assert np.sqrt(r.loss / (r.n_points - 1)) == pytest.approx(0.01, rel=0.25)
    c = r.curves["step"]
    assert c["kind"] == "profile" and c["observable"] == "c" and len(c["position"]) == 60


def test_information_adds_in_a_joint_fit(fits):
    se = {k: r.stderr["O.D"] for k, r in fits.items()}
    assert se["joint"] < se["profiles"] and se["joint"] < se["current"], se
    joint = fits["joint"]
    assert abs(joint.values["O.D"] - D_TRUE) < 3 * se["joint"]
    assert joint.n_points == 90
    assert set(joint.curves) == {"step: I", "step: c(O)"}


def test_profile_prediction_matches_the_erf_profile(path):
    """The interpolation in time and in x of the simulated profiles, against Cottrell,
    at times between the simulator's steps and positions between its grid points."""
    from mechlang.inverse.data import load_dataset, predict

    sim = mechlang.compile(path, "step", profiles=True, **FAST)
    t = np.array([0.05, 0.25, 0.6, 0.95])
    x = np.array([3e-6, 17e-6, 41e-6, 77e-6])
    ds = load_dataset({"t": t, "x": x, "c": np.zeros(4), "species": "R"}, sim.experiment,
                      {"duration": 1.0}, sim.species, sim.surface_species)
    c_R = np.asarray(predict(ds, sim({"O.D": D_TRUE, "R.D": D_TRUE})))
    np.testing.assert_allclose(c_R, C0 - cottrell_profile(t, x), atol=3e-3)


def test_galvanostatic_potential_data_are_compared_on_the_potential(path, tmp_path):
    """t,E data of a galvanostatic experiment: the potential is what it computes, and
    what the residuals compare (zero at the parameters the data were made with)."""
    from mechlang.inverse.problem import Problem

    sim = mechlang.compile(path, "gal", **FAST)
    res = sim({"E0": 0.05})
    t = np.asarray(res.t)[10::8]
    E = np.interp(t, np.asarray(res.t), np.asarray(res.E))
    f = tmp_path / "gal.csv"
    f.write_text("t / s, E / mV\n" + "\n".join(f"{a:.10g}, {b * 1e3:.10g}" for a, b in zip(t, E)) + "\n")
    problem = Problem(mechlang.load(path), {"gal": str(f)}, fit=["E0"], options=sim.options)
    d = problem.datasets["gal"]
    assert d.observable == "E" and d.what == "potential"
    assert problem.scales["gal"] == pytest.approx(np.ptp(E))  # a potential's range, not its size
    assert np.max(np.abs(np.asarray(problem.residuals_theta({"E0": 0.05})))) < 1e-6
    shifted = np.asarray(problem.residuals_theta({"E0": 0.06})) * problem.scales["gal"]
    np.testing.assert_allclose(shifted, 0.01, atol=1e-4)  # a reversible couple: E follows E0


def test_data_on_an_applied_quantity_are_an_error(path, tmp_path):
    f = tmp_path / "ca_potential.csv"
    f.write_text("t,E\n0.1,-0.4\n0.2,-0.4\n0.3,-0.4\n")
    with pytest.raises(DataError) as e:
        mechlang.fit(path, {"step": str(f)}, fit=["O.D"], progress=False, **FAST)
    text = str(e.value)
    assert "ca_potential.csv:1:" in text and "column E" in text and "applied, not computed" in text
    g = tmp_path / "gal_current.csv"
    g.write_text("t,I\n0.1,-2e-5\n0.2,-2e-5\n0.3,-2e-5\n")
    with pytest.raises(DataError, match="column I: the current of a galvanostatic"):
        mechlang.fit(path, {"gal": str(g)}, fit=["E0"], progress=False, **FAST)


def test_bad_profile_data_name_the_file_and_row(path, tmp_path):
    kw = dict(fit=["O.D"], progress=False, **FAST)
    f = tmp_path / "unknown_species.csv"
    f.write_text("# profiles\nt [s], x [um], Q [mM]\n0.1, 1, 0.1\n0.1, 2, 0.2\n0.1, 3, 0.3\n")
    with pytest.raises(DataError) as e:
        mechlang.fit(path, {"step": str(f)}, **kw)
    text = str(e.value)
    assert "unknown_species.csv:2:" in text and "'Q [mM]'" in text and "O, R" in text
    g = tmp_path / "far.csv"
    g.write_text("t [s], x [um], O [mM]\n0.1, 1, 0.1\n0.1, 2, 0.2\n0.1, 5000, 1.0\n0.1, 6, 0.5\n")
    with pytest.raises(DataError) as e:
        mechlang.fit(path, {"step": str(g)}, **kw)
    text = str(e.value)
    assert "far.csv:4:" in text and "row 4" in text and "beyond the simulated domain" in text
    h = tmp_path / "late.csv"
    h.write_text("t [s], x [um], O [mM]\n0.1, 1, 0.1\n3, 2, 0.2\n0.1, 5, 1.0\n")
    with pytest.raises(DataError, match=r"late.csv:3:.*row 3: t = 3 s is outside the run"):
        mechlang.fit(path, {"step": str(h)}, **kw)
    with pytest.raises(DataError, match="'X': not a dissolved species"):
        mechlang.fit(path, {"step": {"t": [0.1] * 3, "x": [1e-6] * 3, "c": [0.1] * 3, "species": "X"}}, **kw)
