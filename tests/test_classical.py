"""Classical analyses (Randles-Sevcik, Nicholson, Tafel) on voltammograms simulated by
mechlang itself: each method recovers the parameters it was made for on ideal data, and
shows its known bias where its assumptions fail."""

import argparse
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import mechlang
from helpers import F, f_of, write
from mechlang.errors import DataError
from mechlang.inverse import classical as cl
from reference import peaks as reference_peaks

D = 1e-9  # m^2/s
V = 0.1  # V/s
OPTS = dict(points=100, dE=1e-3)


def couple(law, D_O=D, D_R=D, c_O="1 mM", c_R="0 mM", technique="cv", E_start=0.4, E_turn=-0.5, area="1 cm^2"):
    turn = "E_vertex" if technique == "cv" else "E_end"
    return f"""
species O: D = {D_O} m^2/s, c = {c_O}
species R: D = {D_R} m^2/s, c = {c_R}
param E0 = 0 V
param k0 = 1e-2 cm/s
param alpha = 0.5
E1: O + e- <=> R ; {law}
experiment run {{
  technique = {technique}
  E_start = {E_start} V, {turn} = {E_turn} V, scan_rate = {V} V/s, area = {area}
}}
"""


@pytest.fixture(scope="module")
def sims(tmp_path_factory):
    """Compiled once per module; each test changes values only (no recompilation)."""
    tmp = tmp_path_factory.mktemp("classical")
    cache = {}

    def get(name, **kw):
        if name not in cache:
            law = kw.pop("law", "butler_volmer(E0, k0, alpha)")
            cache[name] = mechlang.compile(write(tmp, couple(law, **kw), f"{name}.mech"), **OPTS)
        return cache[name]

    return get


def run(sim, **params):
    res = sim(params)
    return np.asarray(res.E), np.asarray(res.I)


def k0_of(psi, D_O=D, D_R=D, alpha=0.5, v=V):
    return psi * math.sqrt(math.pi * D_O * f_of() * v) / math.sqrt(D_O / D_R) ** alpha


# -- peaks -------------------------------------------------------------------------------


def test_find_peaks_matches_the_reference_and_flags_a_missing_anodic_peak(sims):
    E, I = run(sims("nernst", law="nernst(E0)", area="0.0707 cm^2"))  # noqa: E741
    p = cl.find_peaks(E, I)
    assert [p[k] for k in ("Epc", "Ipc", "Epa", "Ipa")] == pytest.approx(reference_peaks(E, I), rel=1e-9)
    assert p["Epc"] == pytest.approx(-1.109 / f_of(), abs=0.5e-3)
    E, I = run(sims("lsv", technique="lsv", E_start=0.3, E_turn=-1.0), k0=1e-8)  # noqa: E741
    p = cl.find_peaks(E, I)
    assert p["Ipc"] < 0 and math.isnan(p["Epa"]) and math.isnan(p["Ipa"])


def test_find_peaks_parabola_is_exact_for_a_parabola():
    E = np.linspace(0.0, 1.0, 11)
    I = -(1.0 - 30 * (E - 0.437) ** 2)  # noqa: E741
    p = cl.find_peaks(E, I)
    assert p["Epc"] == pytest.approx(0.437, abs=1e-12) and p["Ipc"] == pytest.approx(-1.0, abs=1e-12)
    with pytest.raises(DataError):
        cl.find_peaks([0.0, 1.0], [1.0, 2.0])


# -- Randles-Sevcik ----------------------------------------------------------------------

SCAN_RATES = [0.02, 0.1, 0.5, 2.0]


def test_randles_sevcik_recovers_D_from_reversible_cvs(sims):
    sim = sims("nernst", law="nernst(E0)", area="0.0707 cm^2")
    ip = [cl.find_peaks(*run(sim, scan_rate=v))["Ipc"] for v in SCAN_RATES]
    res = cl.randles_sevcik(SCAN_RATES, ip, area=0.0707e-4, c=1.0)
    assert res["D"] == pytest.approx(D, rel=0.01)
    assert res["free"]["D"] == pytest.approx(D, rel=0.01)
    assert abs(res["free"]["intercept"]) < 1e-3 * max(abs(np.array(ip)))
    assert res["r2"] > 0.9999 and res["n_points"] == 4 and res["fit"] == "origin"
    assert res["D_stderr"] < 0.01 * D


def test_randles_sevcik_irreversible_wave_and_the_bias_of_the_reversible_equation(sims):
    """Totally irreversible LSVs: the irreversible equation recovers D; the reversible one
    reads the lower peaks as a smaller D, by (0.4958^2 alpha / 0.4463^2) = 0.62 at alpha 0.5."""
    sim = sims("lsv", technique="lsv", E_start=0.3, E_turn=-1.0)
    ip = [cl.find_peaks(*run(sim, scan_rate=v, k0=1e-8))["Ipc"] for v in SCAN_RATES]
    res = cl.randles_sevcik(SCAN_RATES, ip, area=1e-4, c=1.0, reversible=False, alpha=0.5)
    assert res["D"] == pytest.approx(D, rel=0.02)
    biased = cl.randles_sevcik(SCAN_RATES, ip, area=1e-4, c=1.0)["D"] / D
    assert biased == pytest.approx(0.4958**2 * 0.5 / 0.4463**2, rel=0.03)
    with pytest.raises(DataError, match="alpha"):
        cl.randles_sevcik(SCAN_RATES, ip, area=1e-4, c=1.0, reversible=False)


def test_randles_sevcik_bias_on_a_quasi_reversible_wave(sims):
    """Slow kinetics lower the peaks more at high scan rates: D comes out low and the free
    fit has a positive intercept (the classic sign that the wave is not reversible)."""
    sim = sims("bv")
    ip = [cl.find_peaks(*run(sim, scan_rate=v, k0=5e-5, E_vertex=-0.6))["Ipc"] for v in SCAN_RATES]
    res = cl.randles_sevcik(SCAN_RATES, ip, area=1e-4, c=1.0)
    assert 0.6 < res["D"] / D < 0.95
    assert res["free"]["intercept"] > 0.01 * max(abs(np.array(ip)))
    assert res["free"]["D"] < res["D"]


# -- Nicholson ---------------------------------------------------------------------------


@pytest.mark.parametrize("psi", [0.35, 1.0, 3.0, 5.0])
def test_nicholson_recovers_k0(sims, psi):
    """The sweep turns 112.5 mV past E1/2, as the working curve assumes."""
    k0 = k0_of(psi)
    p = cl.find_peaks(*run(sims("bv"), k0=k0, E_vertex=-0.1125))
    dEp = p["Epa"] - p["Epc"]
    table = cl.nicholson_k0(dEp, V, D)
    assert table["method"] == "table"
    assert table["k0"] == pytest.approx(k0, rel=0.10)
    assert table["psi"] == pytest.approx(psi, rel=0.10)
    lav = cl.nicholson_k0(dEp, V, D, method="lavagnini")
    assert lav["method"] == "lavagnini" and lav["k0"] == pytest.approx(k0, rel=0.10)


def test_nicholson_unequal_diffusion_coefficients(sims):
    """gamma^alpha corrects D_O != D_R; leaving D_R out overestimates k0 by gamma^alpha."""
    D_O, D_R = D, D / 4
    sim = sims("bv_unequal", D_O=D_O, D_R=D_R)
    k0 = k0_of(1.0, D_O, D_R)
    E_half = math.log(math.sqrt(D_R / D_O)) / f_of()
    p = cl.find_peaks(*run(sim, k0=k0, E_vertex=E_half - 0.1125))
    dEp = p["Epa"] - p["Epc"]
    assert cl.nicholson_k0(dEp, V, D_O, D_R)["k0"] == pytest.approx(k0, rel=0.10)
    assert cl.nicholson_k0(dEp, V, D_O)["k0"] / k0 == pytest.approx(2**0.5, rel=0.10)


def test_nicholson_wide_separation_uses_klingler_kochi(sims):
    k0 = k0_of(0.05)
    p = cl.find_peaks(*run(sims("bv"), k0=k0, E_vertex=-0.4))
    res = cl.nicholson_k0(p["Epa"] - p["Epc"], V, D)
    assert (p["Epa"] - p["Epc"]) > 0.212 and res["method"] == "klingler-kochi"
    assert res["k0"] == pytest.approx(k0, rel=0.15)


def test_nicholson_bias_of_a_late_switching_potential(sims):
    """Turning 400 mV past E1/2 narrows Delta Ep by ~2 mV; near the reversible end that is
    a large change of psi, so k0 comes out high (about +30 % at psi = 3)."""
    k0 = k0_of(3.0)
    near = cl.find_peaks(*run(sims("bv"), k0=k0, E_vertex=-0.1125))
    far = cl.find_peaks(*run(sims("bv"), k0=k0, E_vertex=-0.4))
    assert 1.0e-3 < (near["Epa"] - near["Epc"]) - (far["Epa"] - far["Epc"]) < 3.0e-3
    ratio = cl.nicholson_k0(far["Epa"] - far["Epc"], V, D)["k0"] / k0
    assert 1.15 < ratio < 1.6


def test_nicholson_bias_of_klingler_kochi_away_from_alpha_half(sims):
    """Klingler-Kochi's alpha^2 exponent stands for alpha (1 - alpha): at alpha = 0.3 the
    wide-separation k0 comes out several times too high (the table, at alpha = 0.3 and
    psi = 1, stays within 10 %)."""
    alpha = 0.3
    k0 = k0_of(0.05, alpha=alpha)
    p = cl.find_peaks(*run(sims("bv"), k0=k0, alpha=alpha, E_vertex=-0.4))
    res = cl.nicholson_k0(p["Epa"] - p["Epc"], V, D, alpha=alpha)
    assert res["method"] == "klingler-kochi" and res["k0"] / k0 > 2.5
    k0 = k0_of(1.0, alpha=alpha)
    p = cl.find_peaks(*run(sims("bv"), k0=k0, alpha=alpha, E_vertex=-0.1125))
    assert cl.nicholson_k0(p["Epa"] - p["Epc"], V, D, alpha=alpha)["k0"] == pytest.approx(k0, rel=0.10)


def test_nicholson_correlations():
    for psi, x in cl.NICHOLSON_TABLE:
        assert cl.nicholson_psi(x * 1e-3, method="table") == (pytest.approx(psi, rel=1e-12), "table")
    # Lavagnini's fit follows the table within ~30 % over its range, closely in the middle.
    assert cl.nicholson_psi(0.084, method="lavagnini")[0] == pytest.approx(1.0, rel=0.07)
    # Klingler-Kochi: psi = 2.18 sqrt(alpha/pi) exp(-alpha^2 n F dEp / RT); about 0.11 at 212 mV.
    psi, used = cl.nicholson_psi(0.212, method="klingler-kochi")
    assert used == "klingler-kochi"
    assert psi == pytest.approx(2.18 * math.sqrt(0.5 / math.pi) * math.exp(-0.25 * f_of() * 0.212), rel=1e-12)
    assert 0.1 < psi < 0.12
    # n and T: the table is read at n dEp * 298.15 / T.
    assert cl.nicholson_psi(0.042, n=2)[0] == pytest.approx(cl.nicholson_psi(0.084)[0], rel=1e-12)
    assert cl.nicholson_psi(0.084 * 310 / 298.15, T=310)[0] == pytest.approx(1.0, rel=1e-12)
    assert cl.nicholson_psi(0.058) == (math.inf, "reversible")
    assert cl.nicholson_k0(0.058, V, D)["k0"] == math.inf
    with pytest.raises(DataError, match="klingler-kochi"):
        cl.nicholson_psi(0.3, method="table")
    with pytest.raises(DataError, match="unknown Nicholson method"):
        cl.nicholson_psi(0.1, method="nicolson")
    with pytest.raises(DataError):
        cl.nicholson_k0(-0.1, V, D)


# -- Tafel -------------------------------------------------------------------------------


def tafel_region(E, I, lo_frac, hi_frac, E_eq=0.0):  # noqa: E741
    """The overpotentials where |I| lies between lo_frac and hi_frac of the peak, before it."""
    p = cl.find_peaks(E, I)
    cathodic = not math.isnan(p["Ipc"])
    Ip, Ep = (p["Ipc"], p["Epc"]) if cathodic else (p["Ipa"], p["Epa"])
    before = E > Ep if cathodic else E < Ep
    sel = (np.abs(I) > lo_frac * abs(Ip)) & (np.abs(I) < hi_frac * abs(Ip)) & before
    return E[sel].min() - E_eq, E[sel].max() - E_eq


@pytest.mark.parametrize("alpha", [0.5, 0.35])
def test_tafel_recovers_alpha_and_k0_at_the_foot_of_an_irreversible_wave(sims, alpha):
    k0 = 1e-8
    E, I = run(sims("lsv", technique="lsv", E_start=0.3, E_turn=-1.0), k0=k0, alpha=alpha)  # noqa: E741
    res = cl.tafel(E, I, 0.0, tafel_region(E, I, 0.01, 0.10), area=1e-4, c=1.0)
    assert res["branch"] == "cathodic" and res["n_points"] > 50
    assert res["alpha"] == pytest.approx(alpha, abs=0.02)
    assert res["k0"] == pytest.approx(k0, rel=0.20)
    assert res["slope_V_per_decade"] == pytest.approx(-math.log(10) / (res["alpha"] * f_of()), rel=1e-12)
    assert res["i0"] == pytest.approx(F * 1e-4 * 1.0 * res["k0"], rel=1e-12)


def test_tafel_anodic_branch(sims):
    """An oxidation of R: the anodic slope gives 1 - alpha."""
    sim = sims("lsv_ox", technique="lsv", c_O="0 mM", c_R="1 mM", E_start=-0.3, E_turn=1.0)
    k0, alpha = 1e-8, 0.4
    E, I = run(sim, k0=k0, alpha=alpha)  # noqa: E741
    res = cl.tafel(E, I, 0.0, tafel_region(E, I, 0.01, 0.10), area=1e-4, c=1.0)
    assert res["branch"] == "anodic" and res["slope_V_per_decade"] > 0
    assert res["alpha_branch"] == pytest.approx(1 - alpha, abs=0.02)
    assert res["alpha"] == pytest.approx(alpha, abs=0.02)
    assert res["k0"] == pytest.approx(k0, rel=0.20)


def test_tafel_bias_near_the_peak(sims):
    """Between 20 % and 60 % of the peak the surface is depleted: the line flattens, alpha
    comes out low and the extrapolated exchange current (k0) high."""
    k0, alpha = 1e-8, 0.5
    E, I = run(sims("lsv", technique="lsv", E_start=0.3, E_turn=-1.0), k0=k0, alpha=alpha)  # noqa: E741
    res = cl.tafel(E, I, 0.0, tafel_region(E, I, 0.20, 0.60), area=1e-4, c=1.0)
    assert res["alpha"] < alpha - 0.05
    assert res["k0"] > 1.5 * k0


def test_tafel_errors_and_first_sweep():
    E = np.concatenate([np.linspace(0, -0.5, 51), np.linspace(-0.49, 0, 50)])
    I = -1e-6 * np.exp(-0.5 * f_of() * E)  # noqa: E741
    res = cl.tafel(E, I, 0.0, (-0.3, -0.1))
    assert res["n_points"] == 21 and res["alpha"] == pytest.approx(0.5, rel=1e-9)
    assert res["i0"] == pytest.approx(1e-6, rel=1e-9) and math.isnan(res["k0"])
    assert cl.tafel(E, I, 0.0, (-0.3, -0.1), sweep="all")["n_points"] == 41
    with pytest.raises(DataError, match="at least 3"):
        cl.tafel(E, I, 0.0, (0.1, 0.2))
    with pytest.raises(DataError, match="one sign"):
        cl.tafel(E, I - I[25], 0.0, (-0.3, -0.1))


# -- files and the command line ----------------------------------------------------------


def _cli(argv):
    from mechlang.cli import analyze

    parser = argparse.ArgumentParser(prog="mechlang")
    analyze.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def _write_cv(path, E, I, header="t,E,I"):  # noqa: E741
    cols = [np.arange(len(E)) * 1e-3, E, I] if header.count(",") == 2 else [E, I]
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=header, comments="", fmt="%.12g")
    return str(path)


def test_load_cv_and_errors(tmp_path):
    path = _write_cv(tmp_path / "a.csv", np.array([0.0, -0.1, -0.2]), np.array([0.0, -1e-6, -2e-6]))
    E, I = cl.load_cv(path)  # noqa: E741
    assert E.tolist() == [0.0, -0.1, -0.2] and I.tolist() == [0.0, -1e-6, -2e-6]
    (tmp_path / "b.csv").write_text("t,I\n0,1\n1,2\n2,3\n")
    with pytest.raises(DataError, match="no column E"):
        cl.load_cv(tmp_path / "b.csv")
    with pytest.raises(DataError, match="no such data file"):
        cl.load_cv(tmp_path / "missing.csv")


def test_cli_analyze(sims, tmp_path, capsys):
    sim = sims("nernst", law="nernst(E0)", area="0.0707 cm^2")
    files = [_write_cv(tmp_path / f"cv{k}.csv", *run(sim, scan_rate=v)) for k, v in enumerate(SCAN_RATES)]
    report = tmp_path / "rs.json"
    rates = "20mV/s,100mV/s,0.5,2V/s"
    assert _cli(["analyze", "randles-sevcik", *files, "--scan-rates", rates, "--area", "0.0707cm^2",
                 "--c", "1mM", "-o", str(report)]) == 0
    out = capsys.readouterr().out
    assert "Randles-Sevcik" in out and "cv3.csv" in out
    data = json.loads(report.read_text())
    assert data["result"]["D"] == pytest.approx(D, rel=0.01)

    bv = sims("bv")
    k0 = k0_of(1.0)
    nfile = _write_cv(tmp_path / "q.csv", *run(bv, k0=k0, E_vertex=-0.1125), header="E,I")
    assert _cli(["analyze", "nicholson", nfile, "--scan-rate", "100mV/s", "--D", "1e-5cm^2/s",
                 "-o", str(tmp_path / "n.json")]) == 0
    assert json.loads((tmp_path / "n.json").read_text())["results"][0]["k0"] == pytest.approx(k0, rel=0.1)

    E, I = run(sims("lsv", technique="lsv", E_start=0.3, E_turn=-1.0), k0=1e-8)  # noqa: E741
    lo, hi = tafel_region(E, I, 0.01, 0.1)
    tfile = str(tmp_path / "t.csv")  # units in the header
    np.savetxt(tfile, np.column_stack([E * 1e3, I * 1e6]), delimiter=",", header="E [mV],I [uA]", comments="",
               fmt="%.12g")
    assert _cli(["analyze", "tafel", tfile, "--E-eq", "0V", "--region", f"{lo * 1e3:.0f}mV:{hi * 1e3:.0f}mV",
                 "--area", "1cm^2", "--c", "1mM", "-o", str(tmp_path / "t.json")]) == 0
    res = json.loads((tmp_path / "t.json").read_text())["result"]
    assert res["alpha"] == pytest.approx(0.5, abs=0.02) and res["k0"] == pytest.approx(1e-8, rel=0.2)
    assert "Tafel slope" in capsys.readouterr().out

    with pytest.raises(DataError, match="no such data file"):
        _cli(["analyze", "tafel", str(tmp_path / "none.csv"), "--E-eq", "0", "--region", "-0.3:-0.2"])
    with pytest.raises(DataError, match="one scan rate per file"):
        _cli(["analyze", "randles-sevcik", *files, "--scan-rates", "0.1,0.2", "--area", "1cm^2", "--c", "1mM"])
    with pytest.raises(DataError, match="expected an area"):
        _cli(["analyze", "randles-sevcik", *files, "--scan-rates", rates, "--area", "1mM", "--c", "1mM"])
    with pytest.raises(DataError, match="LO:HI"):
        _cli(["analyze", "tafel", tfile, "--E-eq", "0", "--region", "-0.3"])
    with pytest.raises(DataError, match="anodic peak"):
        _cli(["analyze", "nicholson", tfile, "--scan-rate", "0.1", "--D", "1e-9"])


def _registered() -> bool:
    from mechlang.cli.main import build_parser

    try:
        build_parser().parse_args(["analyze", "tafel", "x.csv", "--E-eq", "0", "--region", "-0.3:-0.2"])
    except SystemExit:
        return False
    return True


def test_cli_analyze_end_to_end(tmp_path):
    if not _registered():
        pytest.skip("the main command does not register 'analyze' yet")
    E = np.linspace(0, -0.5, 101)
    path = _write_cv(tmp_path / "t.csv", E, -1e-6 * np.exp(-0.5 * f_of() * E))
    ok = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "analyze", "tafel", path, "--E-eq", "0V",
                         "--region", "-300mV:-100mV"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "cathodic" in ok.stdout and "-118.3 mV/decade" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "analyze", "tafel", str(tmp_path / "no.csv"),
                          "--E-eq", "0V", "--region", "-0.3:-0.1"], capture_output=True, text=True)
    assert bad.returncode == 1 and "error: no such data file" in bad.stderr and "Traceback" not in bad.stderr
