"""Fitting: recovery of known parameters from noisy synthetic data, honest error bars,
model comparison, and the command line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mechlang
from helpers import write

FAST = dict(points=80, dE=2e-3)

E_BV = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 0 V in [-0.1 V, 0.1 V]
param k0 = 1e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = 0.5 in [0.2, 0.8]
E1: O + e- <=> R ; butler_volmer(E0, k0, alpha)
experiment slow {
  technique = cv
  E_start = 0.45 V, E_vertex = -0.45 V, scan_rate = 50 mV/s
  area = 0.07 cm^2
}
experiment fast {
  technique = cv
  E_start = 0.45 V, E_vertex = -0.45 V, scan_rate = 0.5 V/s
  area = 0.07 cm^2
}
"""

EC = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C: D = 1e-5 cm^2/s
param E0 = 0 V
param kc = 1 s^-1 in [1e-3 s^-1, 1e3 s^-1] log
E1: A + e- <=> B ; nernst(E0)
C1: B -> C ; k = kc
experiment slow {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 50 mV/s
}
experiment fast {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 0.5 V/s
}
"""


# Simulators of the synthetic data, compiled once per (text, experiment, options) for the
# whole module: the tests differ in the values they simulate at, which are runtime inputs.
_SIMULATORS = {}


def synthetic(tmp_path, text, truth, noise=0.01, seed=0, tag="x", options=FAST):
    """Simulate each experiment at `truth`, add Gaussian noise, write E,I files."""
    path = write(tmp_path, text, f"{tag}.mech")
    model = mechlang.load(path)
    rng = np.random.default_rng(seed)
    files = {}
    for exp in model.experiments:
        key = (text, exp, tuple(sorted(options.items())))
        if key not in _SIMULATORS:
            _SIMULATORS[key] = mechlang.compile(model, exp, **options)
        res = _SIMULATORS[key](truth)
        I = np.asarray(res.I)  # noqa: E741
        I = I + noise * np.max(np.abs(I)) * rng.standard_normal(I.shape)
        f = tmp_path / f"{tag}_{exp}_{seed}.csv"
        np.savetxt(f, np.column_stack([np.asarray(res.E), I]), delimiter=",", header="E,I", comments="")
        files[exp] = str(f)
    return path, files


def test_an_optimum_beyond_a_bound_ends_on_it_and_converges(tmp_path):
    """alpha's search space stops short of the truth: LM holds it on the bound (its descent
    direction points out of the box) and converges on the others, rather than creeping
    along the bound until its iterations run out."""
    truth = {"E0": 0.02, "k0": 4e-5, "alpha": 0.6}
    path, files = synthetic(tmp_path, E_BV, truth)
    result = mechlang.fit(path, files, fit=["E0", "k0", "alpha"], bounds={"alpha": (0.2, 0.45)},
                          progress=False, **FAST)
    assert result.converged and len(result.history) < 30
    assert result.values["alpha"] == pytest.approx(0.45, abs=1e-9)
    assert any("alpha ended at a bound" in d.format(False) for d in result.warnings)


def test_global_fit_recovers_kinetics_within_error_bars(tmp_path):
    truth = {"E0": 0.02, "k0": 4e-5, "alpha": 0.42}
    path, files = synthetic(tmp_path, E_BV, truth)
    result = mechlang.fit(path, files, fit=["E0", "k0", "alpha"], progress=False, **FAST)
    assert result.converged
    for k, v in truth.items():
        assert abs(result.values[k] - v) < 4 * result.stderr[k] + 1e-12, (k, result.values[k], result.stderr[k])
        assert result.stderr[k] < 0.1 * abs(v) + 1e-4
    # LM evaluates the Jacobian with the residuals at every trial point: one per experiment
    # at the start and at least one per iteration.
    assert result.n_gradients >= len(result.history) * len(files)
    assert result.n_simulations == 0
    assert set(result.correlation) == {"E0", "k0", "alpha"}
    assert result.correlation["k0"]["k0"] == pytest.approx(1.0)


def test_ec_rate_constant_is_recovered(tmp_path):
    truth = {"kc": 5.0}
    path, files = synthetic(tmp_path, EC, truth, tag="ec")
    result = mechlang.fit(path, files, fit=["kc"], progress=False, **FAST)
    assert abs(np.log(result.values["kc"] / 5.0)) < 0.05
    assert abs(result.values["kc"] - 5.0) < 4 * result.stderr["kc"]


def test_standard_errors_match_the_scatter_of_repeated_fits(tmp_path):
    """A small Monte Carlo: 12 noise realisations fitted as one batch (fit_many); the
    spread of the estimates and the reported standard error agree within the sampling
    error of 12 draws."""
    truth = {"k0": 4e-5, "alpha": 0.42}
    path = write(tmp_path, E_BV, "mc.mech")
    res = mechlang.compile(path, "slow", **FAST)(truth)
    E, I = np.asarray(res.E), np.asarray(res.I)  # noqa: E741
    rng = np.random.default_rng(7)
    datasets = []
    for k in range(12):
        f = tmp_path / f"mc_{k}.csv"
        noisy = I + 0.02 * np.max(np.abs(I)) * rng.standard_normal(I.shape)
        np.savetxt(f, np.column_stack([E, noisy]), delimiter=",", header="E,I", comments="")
        datasets.append({"slow": str(f)})
    fits = mechlang.fit_many(path, datasets, fit=["k0", "alpha"], progress=False, **FAST)
    assert len(fits) == 12 and all(r.converged for r in fits)
    estimates = np.array([[np.log(r.values["k0"]), r.values["alpha"]] for r in fits])
    errors = np.array([[r.stderr["k0"] / r.values["k0"], r.stderr["alpha"]] for r in fits])
    ratio = np.std(estimates, axis=0, ddof=1) / np.mean(errors, axis=0)
    assert np.all((ratio > 0.5) & (ratio < 1.8)), ratio
    # The batch gives what one fit at a time gives.
    one = mechlang.fit(path, datasets[3], fit=["k0", "alpha"], progress=False, **FAST)
    assert one.values["k0"] == pytest.approx(fits[3].values["k0"], rel=1e-6)
    assert one.stderr["alpha"] == pytest.approx(fits[3].stderr["alpha"], rel=1e-4)


def test_reversible_wave_warns_that_k0_and_alpha_are_not_identifiable(tmp_path):
    truth = {"k0": 0.5, "alpha": 0.5}  # 0.5 m/s: far into the reversible limit
    path, files = synthetic(tmp_path, E_BV, truth, noise=0.005)
    r = mechlang.fit(path, {"slow": files["slow"]}, fit=["k0", "alpha"], progress=False, **FAST)
    text = " ".join(w.message for w in r.warnings)
    assert "k0" in text or "alpha" in text


@pytest.fixture(scope="module")
def quiet_bv(tmp_path_factory):
    """One noisy data set of E_BV (k0 = 4e-5 m/s, alpha = 0.42) in one folder for the
    module: fits of the same file and data share their compiled Jacobian."""
    return synthetic(tmp_path_factory.mktemp("quiet_bv"), E_BV, {"k0": 4e-5, "alpha": 0.42}, noise=0.005)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_first_order_methods_and_multistart(quiet_bv, method):
    path, files = quiet_bv
    # adam: its best start was within 0.3 % of k0 after 120 iterations (measured), 150 leaves margin
    r = mechlang.fit(path, {"slow": files["slow"]}, fit=["k0", "alpha"], method=method, starts=2,
                     progress=False, max_iter=200 if method == "lbfgs" else 150, **FAST)
    assert len(r.starts) == 2
    assert abs(np.log(r.values["k0"] / 4e-5)) < (0.1 if method == "lbfgs" else 0.3)


def test_compare_picks_the_generating_mechanism(tmp_path):
    ece = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C, D: D = 1e-5 cm^2/s
param E0 = 0 V
param kc = 1 s^-1 in [1e-3 s^-1, 1e3 s^-1] log
E1: A + e- <=> B ; nernst(E0)
C1: B -> C ; k = kc
E2: C + e- <=> D ; nernst(0.2 V)
experiment slow {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 50 mV/s
}
experiment fast {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 0.5 V/s
}
"""
    e_only = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B: D = 1e-5 cm^2/s
param E0 = 0 V in [-0.1 V, 0.1 V]
E1: A + e- <=> B ; nernst(E0)
experiment slow {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 50 mV/s
}
experiment fast {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 0.5 V/s
}
"""
    path_ec, files = synthetic(tmp_path, EC, {"kc": 3.0}, noise=0.005, tag="ec")
    path_e = write(tmp_path, e_only, "e.mech")
    path_ece = write(tmp_path, ece, "ece.mech")
    comparison = mechlang.compare([path_e, path_ec, path_ece], files, progress=False, **FAST)
    assert comparison.ranking[0]["file"] == str(path_ec)
    assert comparison.ranking[1]["delta_aic"] > 10


def test_cli_fit_writes_json_and_png(tmp_path, quiet_bv):
    path, files = quiet_bv
    report, png = tmp_path / "fit.json", tmp_path / "fit.png"
    before = open(files["slow"], "rb").read()
    out = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "fit", str(path),
                          "--data", f"slow={files['slow']}", "--data", f"fast={files['fast']}",
                          "--fit", "k0,alpha", "--points", "80", "--dE", "2e-3", "--quiet",
                          "-o", str(report), "--plot", str(png)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(report.read_text())
    for key in ("parameters", "correlation", "loss", "n_simulations", "n_gradients", "wall_time_s",
                "converged", "method"):
        assert key in data
    assert data["parameters"]["k0"]["unit"] == "m/s"
    assert abs(np.log(data["parameters"]["k0"]["value"] / 4e-5)) < 0.1
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert open(files["slow"], "rb").read() == before


def test_cli_fit_bad_data_is_a_clear_error(tmp_path):
    path = write(tmp_path, E_BV)
    bad = tmp_path / "bad.csv"
    bad.write_text("E,I\n0.4,1e-6\n0.39,abc\n")
    out = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "fit", str(path), "--data", f"slow={bad}",
                          "--quiet"], capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "bad.csv" in out.stderr


def test_profile_likelihood_curvature_matches_the_standard_error(tmp_path):
    """For least squares, the profiled loss rises by about sigma^2 = loss/(n - p) one
    standard error away from the optimum."""
    path, files = synthetic(tmp_path, E_BV, {"k0": 4e-5, "alpha": 0.42}, noise=0.01)
    data = {"slow": files["slow"]}
    best = mechlang.fit(path, data, fit=["k0", "alpha"], progress=False, **FAST)
    k, se = best.values["k0"], best.stderr["k0"]
    values, losses = mechlang.profile(path, data, "k0", [k - se, k + se], fit=["k0", "alpha"],
                                      progress=False, **FAST)
    sigma2 = best.loss / (best.n_points - 2)
    for rise in losses - best.loss:
        assert 0.5 * sigma2 < rise < 2.0 * sigma2


SPHERE = """
species O: D = D, c = c0
species R: D = D
param D = 1e-5 cm^2/s in [1e-6 cm^2/s, 1e-4 cm^2/s] log
param c0 = 1 mM in [0.1 mM, 10 mM] log
O + e- <=> R ; nernst(0 V)
experiment step {
  technique = ca
  E_initial = 0.3 V, E_step = -0.3 V, duration = 2 s
  geometry = spherical(r = 10 um)
}
"""


def test_transient_fit_separates_D_and_c_at_a_sphere(tmp_path):
    """At a sphere the transient (c sqrt(D)) and the steady state (D c) differ, so both
    are identifiable from one chronoamperogram (at a plane only c sqrt(D) would be)."""
    truth = {"D": 7e-10, "c0": 2.5}
    path = write(tmp_path, SPHERE, "sphere.mech")
    res = mechlang.compile(path, ca_steps=300)(truth)
    rng = np.random.default_rng(3)
    I = np.asarray(res.I)  # noqa: E741
    I = I + 0.002 * np.max(np.abs(I)) * rng.standard_normal(I.shape)  # noqa: E741
    data = tmp_path / "step.csv"
    np.savetxt(data, np.column_stack([np.asarray(res.t) * 1e3, I * 1e9]), delimiter=",",
               header="t [ms],I [nA]", comments="")
    r = mechlang.fit(path, {"step": str(data)}, progress=False, ca_steps=300)
    for k, v in truth.items():
        assert abs(r.values[k] / v - 1) < 0.05
        assert abs(r.values[k] - v) < 4 * r.stderr[k]
        assert r.stderr[k] < 0.05 * v


def test_cli_compare_ranks_and_writes_the_report(tmp_path):
    path_ec, files = synthetic(tmp_path, EC, {"kc": 3.0}, noise=0.005, tag="ec")
    e_only = EC.replace("C1: B -> C ; k = kc\n", "").replace("param kc = 1 s^-1 in [1e-3 s^-1, 1e3 s^-1] log\n",
                                                              "param E0b = 0 V in [-0.1 V, 0.1 V]\n")
    e_only = e_only.replace("nernst(E0)", "nernst(E0b)").replace("species B, C:", "species B:")
    path_e = write(tmp_path, e_only, "e.mech")
    report = tmp_path / "ranking.json"
    out = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "compare", str(path_e), str(path_ec),
                          "--data", f"slow={files['slow']}", "--points", "80", "--dE", "2e-3", "--quiet",
                          "-o", str(report)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    ranking = json.loads(report.read_text())["ranking"]
    assert [Path(e["file"]).name for e in ranking] == ["ec.mech", "e.mech"]
    for key in ("file", "aic", "bic", "loss", "parameters"):
        assert key in ranking[0]


POL = """
species Lip: c = 1 M, z = +1
species Li: solid
param k0 = 1e-5 cm/s in [1e-9 cm/s, 1e-1 cm/s] log
param alpha = 0.5 in [0.2, 0.8]
E1: Lip + e- <=> Li ; butler_volmer(0 V, k0, alpha)
transport none
experiment pol { technique = polarization, E_start = -0.3 V, E_end = 0.3 V, points = 301 }
"""


def test_relative_weighting_divides_each_residual_by_its_own_current(tmp_path):
    """A Tafel plot over three decades with 3 % relative noise: weighting='relative'
    divides each residual by the point's own |I| and recovers the truth within its error
    bars; the default divides by the largest |I|."""
    path = write(tmp_path, POL, "pol.mech")
    truth = {"k0": 2e-7, "alpha": 0.4}
    E = np.concatenate([np.linspace(-0.3, -0.01, 30), np.linspace(0.01, 0.3, 30)])
    sim = mechlang.compile(path)
    clean = np.interp(E, np.asarray(sim(truth).E), np.asarray(sim(truth).I))
    I = clean * (1 + 0.03 * np.random.default_rng(3).standard_normal(E.size))  # noqa: E741
    data = {"pol": {"E": E, "I": I}}
    rel = mechlang.fit(path, data, weighting="relative", progress=False)
    c = rel.curves["pol"]
    assert rel.loss == pytest.approx(np.sum(((c["fit"] - c["data"]) / c["data"]) ** 2), rel=1e-9)
    assert rel.report()["weighting"] == "relative"
    for k, v in truth.items():
        assert abs(rel.values[k] - v) < 4 * rel.stderr[k], (k, rel.values[k], rel.stderr[k])
    mx = mechlang.fit(path, data, progress=False)
    c = mx.curves["pol"]
    assert mx.weighting == "max"
    assert mx.loss == pytest.approx(np.sum(((c["fit"] - c["data"]) / np.max(np.abs(I))) ** 2), rel=1e-9)


def test_relative_weighting_rejects_zero_current_and_unknown_weightings(tmp_path):
    path = write(tmp_path, POL, "pol.mech")
    data = {"pol": {"E": [-0.1, 0.0, 0.1], "I": [-1e-3, 0.0, 1e-3]}}
    with pytest.raises(mechlang.DataError, match="relative weighting.*0 at row 2"):
        mechlang.fit(path, data, weighting="relative", progress=False)
    with pytest.raises(mechlang.ModelError, match="unknown weighting 'log'"):
        mechlang.fit(path, data, weighting="log", progress=False)
