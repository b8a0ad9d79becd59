"""Classical analyses against the full fit, on synthetic data with a known truth.

Each case is a voltammogram (or a set of them) simulated by mechlang at its default,
fine solver options from a known one-electron Butler-Volmer couple, chosen where a hand
method's assumption fails:

- Randles-Sevcik D from peak currents at four scan rates of a quasi-reversible couple
  (the equation is for a reversible wave);
- Nicholson k0 from Delta Ep at alpha = 0.3, once with a wide separation (the
  Klingler-Kochi extension) and once inside the range of Nicholson's table (alpha = 0.5
  assumed, as the table is);
- Nicholson k0 with D_R = D_O/4 when D_R is not known (taken equal to D_O).  No planar
  CV of O alone can tell: the current depends on k0, E0 and D_R only through
  k0 (D_O/D_R)^(alpha/2) and E0 + (RT/2F) ln(D_R/D_O), so the fit of that CV says so
  (a near-singular information matrix) rather than returning a value; a second case adds
  a CV at a spherical microelectrode, where the two separate, to the fit;
- Tafel alpha and k0 from a region of an irreversible LSV at 20-60 % of the peak current,
  where mass transport already bends the line.

The classical method reads the noise-free curves (its best case).  The full fit
(``mechlang.fit``, Levenberg-Marquardt) gets the same curves with 1 % Gaussian noise, is
simulated at coarser options (points=100, dE=2e-3 V, so the data are not made by the
fitted simulator itself), starts from the classical estimate (generic values for the
rest) and fits every parameter the case leaves unknown; its standard errors are
mechlang's Gauss-Newton ones.

    python benchmarks/bench_classical.py [--json PATH]
"""
import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # this checkout of mechlang

import mechlang  # noqa: E402
from mechlang.constants import F, R  # noqa: E402
from mechlang.inverse import classical as cl  # noqa: E402

FIT_OPTIONS = dict(points=100, dE=2e-3)
NOISE = 0.01
T = 298.15
f = F / (R * T)
D = 1e-9  # m^2/s
AREA = 1e-4  # m^2
C = 1.0  # mol/m^3
V = 0.1  # V/s

# Every value SI.  "fit" names what the full fit leaves free (the rest is known).
CASES = {
    "rs_quasi": dict(
        title="Randles-Sevcik D, quasi-reversible (k0 = 5e-3 cm/s), 4 scan rates",
        truth=dict(E0=0.0, k0=5e-5, alpha=0.5, D=D), shared_D=True,
        technique="cv", E_start=0.4, E_turn=-0.6, scan_rates=[0.02, 0.1, 0.5, 2.0],
        fit=["E0", "k0", "alpha", "D"]),
    "nicholson_kk_alpha": dict(
        title="Nicholson k0, alpha = 0.3, wide Delta Ep (Klingler-Kochi), alpha given",
        truth=dict(E0=0.0, k0=0.05 * math.sqrt(math.pi * D * f * V), alpha=0.3, D_O=D, D_R=D),
        technique="cv", E_start=0.4, E_turn=-0.5, scan_rates=[V], fit=["E0", "k0", "alpha"]),
    "nicholson_table_alpha": dict(
        title="Nicholson k0, alpha = 0.3, Delta Ep in the table's range (alpha = 0.5 assumed)",
        truth=dict(E0=0.0, k0=0.25 * math.sqrt(math.pi * D * f * V), alpha=0.3, D_O=D, D_R=D),
        technique="cv", E_start=0.4, E_turn=-0.3, scan_rates=[V], fit=["E0", "k0", "alpha"]),
    "nicholson_dr": dict(
        title="Nicholson k0, D_R = D_O/4, D_R not known (taken = D_O)",
        truth=dict(E0=0.0, k0=1.0 * math.sqrt(math.pi * D * f * V) / 2**0.5, alpha=0.5, D_O=D, D_R=D / 4),
        technique="cv", E_start=0.4, E_turn=math.log(0.5) / f - 0.1125, scan_rates=[V],
        fit=["E0", "k0", "alpha", "D_R"]),
    "nicholson_dr_sphere": dict(
        title="as nicholson_dr; the fit adds a CV at a 10 um spherical electrode",
        truth=dict(E0=0.0, k0=1.0 * math.sqrt(math.pi * D * f * V) / 2**0.5, alpha=0.5, D_O=D, D_R=D / 4),
        technique="cv", E_start=0.4, E_turn=math.log(0.5) / f - 0.1125, scan_rates=[V], sphere=10e-6,
        fit=["E0", "k0", "alpha", "D_R"]),
    "tafel_mass_transport": dict(
        title="Tafel alpha, k0 from 20-60 % of the peak, irreversible LSV (k0 = 1e-6 cm/s)",
        truth=dict(E0=0.0, k0=1e-8, alpha=0.5, D_O=D, D_R=D),
        technique="lsv", E_start=0.3, E_turn=-1.0, scan_rates=[V], fit=["k0", "alpha"]),
}


def mech_text(values, case):
    """The case's .mech text with the given values (SI), written in the file's units."""
    v = values
    lines = []
    if case.get("shared_D"):
        lines += [f"param D = {v['D'] * 1e4:.10g} cm^2/s in [1e-7 cm^2/s, 1e-3 cm^2/s] log",
                  "species O: D = D, c = 1 mM", "species R: D = D"]
    else:
        lines.append(f"species O: D = {v['D_O'] * 1e4:.10g} cm^2/s, c = 1 mM")
        if "D_R" in case["fit"]:
            lines += [f"param D_R = {v['D_R'] * 1e4:.10g} cm^2/s in [1e-7 cm^2/s, 1e-3 cm^2/s] log",
                      "species R: D = D_R"]
        else:
            lines.append(f"species R: D = {v['D_R'] * 1e4:.10g} cm^2/s")
    lines += [
        f"param E0 = {v['E0']:.10g} V in [-0.3 V, 0.3 V]",
        f"param k0 = {v['k0'] * 100:.10g} cm/s in [1e-9 cm/s, 10 cm/s] log",
        f"param alpha = {v['alpha']:.10g} in [0.05, 0.95]",
        "E1: O + e- <=> R ; butler_volmer(E0, k0, alpha)",
    ]
    turn = "E_vertex" if case["technique"] == "cv" else "E_end"
    for i, rate in enumerate(case["scan_rates"]):
        lines.append(f"experiment run{i} {{ technique = {case['technique']}, E_start = {case['E_start']:.10g} V, "
                     f"{turn} = {case['E_turn']:.10g} V, scan_rate = {rate:.10g} V/s, area = 1 cm^2 }}")
    if case.get("sphere"):  # a CV at a spherical microelectrode, fitted together with the planar runs
        lines.append(f"experiment sphere {{ technique = cv, E_start = 0.4 V, E_vertex = -0.5 V, scan_rate = {V} V/s, "
                     f"geometry = spherical(r = {case['sphere'] * 1e6:g} um) }}")
    return "\n".join(lines) + "\n"


def simulate(path):
    model = mechlang.load(path)
    out = {}
    for exp in model.experiments:
        res = mechlang.compile(model, exp)({})
        out[exp] = (np.asarray(res.E), np.asarray(res.I))
    return out


def tafel_region(E, I, lo_frac, hi_frac):  # noqa: E741
    """Overpotentials (E0 = 0) where |I| lies between lo_frac and hi_frac of the peak, before it."""
    p = cl.find_peaks(E, I)
    before = E > p["Epc"]
    sel = (np.abs(I) > lo_frac * abs(p["Ipc"])) & (np.abs(I) < hi_frac * abs(p["Ipc"])) & before
    return float(E[sel].min()), float(E[sel].max())


def classical(key, case, curves):
    """The hand method of the case on noise-free curves: {name: estimate} and notes."""
    if key == "rs_quasi":
        ip = []
        for E, I in curves.values():  # noqa: E741
            part = cl.first_sweep(E)
            ip.append(cl.find_peaks(E[part], I[part])["Ipc"])
        res = cl.randles_sevcik(case["scan_rates"], ip, area=AREA, c=C)
        return {"D": res["D"]}, f"Randles-Sevcik through the origin, r2 = {res['r2']:.5f}; " \
            f"with an intercept D = {res['free']['D']:.3g} m^2/s"
    E, I = curves["run0"]  # noqa: E741
    if key.startswith("nicholson"):
        p = cl.find_peaks(E, I)
        dEp = p["Epa"] - p["Epc"]
        alpha = case["truth"]["alpha"] if key == "nicholson_kk_alpha" else 0.5
        res = cl.nicholson_k0(dEp, V, case["truth"]["D_O"], None, alpha=alpha)
        note = f"Delta Ep = {dEp * 1e3:.1f} mV, psi = {res['psi']:.3g} ({res['method']}, alpha = {alpha})"
        if key.startswith("nicholson_dr"):
            right = cl.nicholson_k0(dEp, V, case["truth"]["D_O"], case["truth"]["D_R"], alpha=alpha)
            note += f"; with D_R known k0 = {right['k0']:.3g} m/s"
        if key == "nicholson_kk_alpha":
            half = cl.nicholson_k0(dEp, V, case["truth"]["D_O"], None, alpha=0.5)
            note += f"; with alpha = 0.5 assumed k0 = {half['k0']:.3g} m/s"
        return {"k0": res["k0"]}, note
    region = tafel_region(E, I, 0.20, 0.60)
    res = cl.tafel(E, I, 0.0, region, area=AREA, c=C)
    foot = cl.tafel(E, I, 0.0, tafel_region(E, I, 0.01, 0.10), area=AREA, c=C)
    return {"alpha": res["alpha"], "k0": res["k0"]}, \
        f"region {region[1] * 1e3:.0f} to {region[0] * 1e3:.0f} mV, r2 = {res['r2']:.4f}; " \
        f"at 1-10 % of the peak alpha = {foot['alpha']:.3f}, k0 = {foot['k0']:.3g} m/s"


def run_case(key, case, workdir, seed=0):
    truth = case["truth"]
    truth_path = workdir / f"{key}_truth.mech"
    truth_path.write_text(mech_text(truth, case))
    curves = simulate(truth_path)
    estimate, note = classical(key, case, curves)

    rng = np.random.default_rng(seed)
    data = {}
    for exp, (E, I) in curves.items():  # noqa: E741
        data[exp] = {"E": E, "I": I + NOISE * np.max(np.abs(I)) * rng.standard_normal(I.shape)}
    start = dict(truth)
    start.update(E0=truth["E0"] + 0.03 if "E0" in case["fit"] else truth["E0"], alpha=0.5, k0=1e-4)
    if "D" in case["fit"]:
        start["D"] = 1e-9
    if "D_R" in case["fit"]:
        start["D_R"] = truth["D_O"]  # the classical assumption
    for name, value in estimate.items():
        if name in case["fit"] and np.isfinite(value):
            start[name] = value
    start_path = workdir / f"{key}_start.mech"
    start_path.write_text(mech_text(start, case))
    t0 = time.perf_counter()
    fit = mechlang.fit(start_path, data, fit=case["fit"], method="lm", progress=False, **FIT_OPTIONS)
    wall = time.perf_counter() - t0
    vague = set()  # parameters the fit itself reports as not determined by the data
    for w in fit.warnings:
        if "hardly determine" in w.message:
            vague |= {n.strip() for n in w.message.split("hardly determine", 1)[1].split(":", 1)[0].split(",")}
    rows = []
    for name in case["fit"]:
        est = estimate.get(name)
        rows.append(dict(
            case=key, parameter=name, truth=truth[name],
            classical=est, classical_error=(est / truth[name] - 1) if est is not None and truth[name] else None,
            fit=fit.values[name], stderr=fit.stderr[name],
            fit_error=fit.values[name] / truth[name] - 1 if truth[name] else None,
            z=(fit.values[name] - truth[name]) / fit.stderr[name] if fit.stderr[name] > 0 else math.inf,
            undetermined=name in vague or (fit.values[name] != 0 and fit.stderr[name] > abs(fit.values[name]))))
    info = dict(title=case["title"], note=note, start=start, loss=fit.loss, converged=fit.converged,
                wall_time_s=wall, n_simulations=fit.n_simulations, n_gradients=fit.n_gradients,
                warnings=[w.message for w in fit.warnings])
    return rows, info


UNITS = {"D": "m^2/s", "D_R": "m^2/s", "k0": "m/s", "E0": "V", "alpha": ""}


def fmt(x):
    return f"{x:.4g}"


def pct(x):
    return "-" if x is None else f"{100 * x:+.1f} %"


def table(rows, infos):
    out = ["| case | parameter | truth | classical | error | mechlang fit ± stderr | error | (fit - truth) / stderr |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        unit = UNITS.get(r["parameter"], "")
        cls = "-" if r["classical"] is None else fmt(r["classical"])
        err = pct(r["classical_error"]) if r["parameter"] != "E0" else (
            "-" if r["classical"] is None else f"{(r['classical'] - r['truth']) * 1e3:+.2f} mV")
        ferr = pct(r["fit_error"]) if r["parameter"] != "E0" else f"{(r['fit'] - r['truth']) * 1e3:+.2f} mV"
        mark = " (flagged: not determined)" if r["undetermined"] else ""
        out.append(f"| {r['case']} | {r['parameter']}{' (' + unit + ')' if unit else ''} | {fmt(r['truth'])} | {cls} "
                   f"| {err} | {fmt(r['fit'])} ± {r['stderr']:.2g}{mark} | {ferr} | {r['z']:+.1f} |")
    out.append("")
    for key, i in infos.items():
        warn = f"; warnings: {'; '.join(i['warnings'])}" if i["warnings"] else ""
        out.append(f"- {key}: {i['title']}. Classical: {i['note']}. Fit: loss {i['loss']:.4g}, "
                   f"converged {i['converged']}, {i['n_simulations']} simulations + {i['n_gradients']} Jacobians, "
                   f"{i['wall_time_s']:.0f} s{warn}.")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    ap.add_argument("--cases", nargs="*", choices=list(CASES), default=list(CASES))
    args = ap.parse_args(argv)
    rows, infos = [], {}
    with tempfile.TemporaryDirectory(prefix="mechlang-bench-classical-") as tmp:
        for key in args.cases:
            print(f"# {key}", file=sys.stderr, flush=True)
            r, info = run_case(key, CASES[key], Path(tmp))
            rows += r
            infos[key] = info
    print(f"Data: mechlang at its default options, noise-free for the classical method, {NOISE:.0%} Gaussian "
          f"noise for the fit; fit: Levenberg-Marquardt at points={FIT_OPTIONS['points']}, "
          f"dE={FIT_OPTIONS['dE']} V. Values SI.")
    print()
    print(table(rows, infos))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(fit_options=FIT_OPTIONS, noise=NOISE, rows=rows, cases=infos),
                                              indent=1, default=float))


if __name__ == "__main__":
    main()
