"""Fitting transport concentrated: profiles and solvent velocities as data.

Synthetic data from known t+(c) = a + b (c - c_avg)/c_avg and D, then a fit from another
start recovers them; bad velocity data are clear errors.
"""

import numpy as np
import pytest

import mechlang
from mechlang.errors import DataError

CELL = """
mechanism sym "Binary salt, symmetric cell"
transport concentrated
param D0 = 1e-7 cm^2/s in [2e-8 cm^2/s, 5e-7 cm^2/s] log
param a = 0.3 in [-0.5, 0.9]
param b = 0 in [-1, 1]
param c_avg = 1 M
param Vs = 140 cm^3/mol
species LiX: c = 1 M, D = D0, t_plus = a + b * ([LiX] - c_avg) / c_avg, Vm = Vs
experiment pol {
  technique = galvanostatic
  geometry = symmetric_cell(L = 0.5 mm)
  current_density = 0.5 mA/cm^2
  duration = 1 h
}
"""
OPTS = {"points": 41, "ca_steps": 60}
TRUE = {"D0": 1.3e-11, "a": 0.1, "b": -0.5}


def synthetic():
    sim = mechlang.compile(mechlang.load_string(CELL), profiles=True, **OPTS)
    r = sim(TRUE)
    t_obs = np.array([600.0, 1800.0, 3600.0])
    x_obs = np.linspace(0.05e-3, 0.45e-3, 9)
    T, X = np.meshgrid(t_obs, x_obs, indexing="ij")
    from mechlang.inverse.data import Dataset, predict

    def at(kind, obs):
        d = Dataset("pol", "<arrays>", kind, T.ravel(), np.zeros(T.size, int), np.zeros(T.size), np.arange(T.size),
                    (), (), obs, X.ravel(), "LiX", 0)
        return np.asarray(predict(d, r))

    c = at("profile", "c")
    tv = np.linspace(300.0, 3600.0, 12)
    Tv, Xv = np.meshgrid(tv, np.array([0.15e-3, 0.25e-3]), indexing="ij")
    d = Dataset("pol", "<arrays>", "velocity", Tv.ravel(), np.zeros(Tv.size, int), np.zeros(Tv.size),
                np.arange(Tv.size), (), (), "v", Xv.ravel())
    v = np.asarray(predict(d, r))
    return ({"t": T.ravel(), "x": X.ravel(), "c": c, "species": "LiX"},
            {"t": Tv.ravel(), "x": Xv.ravel(), "v": v})


def test_fit_recovers_t_plus_and_d(tmp_path):
    prof, vel = synthetic()
    assert np.ptp(prof["c"]) > 100 and np.min(vel["v"]) > 0  # the data carry information
    path = tmp_path / "velocity.csv"  # the velocity as a file, in the units of the measurement
    rows = "\n".join(f"{t / 3600:.12g},{x * 1e3:.12g},{v * 1e9:.12g}" for t, x, v in zip(vel["t"], vel["x"], vel["v"]))
    path.write_text("t [h], x [mm], v [nm/s]\n" + rows + "\n")
    res = mechlang.fit(mechlang.load_string(CELL), {"pol": [prof, str(path)]}, fit=["a", "b", "D0"], **OPTS)
    assert res.values["a"] == pytest.approx(TRUE["a"], abs=1e-4)
    assert res.values["b"] == pytest.approx(TRUE["b"], abs=1e-4)
    assert res.values["D0"] == pytest.approx(TRUE["D0"], rel=1e-4)


def test_bad_velocity_data():
    model = mechlang.load_string(CELL)
    _, vel = synthetic()
    far = dict(vel, x=vel["x"] * 10)
    with pytest.raises(DataError, match="beyond the cell"):
        mechlang.fit(model, {"pol": far}, fit=["a"], **OPTS)
    with pytest.raises(DataError, match="need columns t, x and v"):
        mechlang.fit(model, {"pol": {"t": vel["t"], "v": vel["v"]}}, fit=["a"], **OPTS)
    late = dict(vel, t=vel["t"] * 100)
    with pytest.raises(DataError, match="outside the run"):
        mechlang.fit(model, {"pol": late}, fit=["a"], **OPTS)
    other = mechlang.load_string("""
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
O + e- <=> R ; nernst(0 V)
experiment ca { technique = ca, E_initial = 0.3 V, E_step = -0.3 V, duration = 1 s }
""")
    with pytest.raises(DataError, match="computes the solvent's velocity"):
        mechlang.fit(other, {"ca": {"t": [0.1, 0.2, 0.3], "x": [0, 0, 0], "v": [1, 2, 3]}}, fit=["O.D"])
