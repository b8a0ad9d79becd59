"""Ten-parameter fit of a solution couple with an adsorbed couple, from synthetic data.

The mechanism is ``adsorption.mech`` beside this script: A + e- <=> B in solution
(Butler-Volmer: E0_sol, k0_sol, alpha_sol), Aads + e- <=> Bads on a Langmuir site
(Butler-Volmer: E0_ads, ks, alpha_ads; ks in 1/s) and the adsorption of both forms,
A <=> Aads (ka_A, kd_A) and B <=> Bads (ka_B, kd_B).  Voltammograms at the file's four
scan rates (0.05, 0.2, 1 and 5 V/s) are simulated from a known truth at finer solver
options than the fit uses, with 1 % Gaussian noise (of each curve's largest |I|), and
all ten parameters are fitted at once by Levenberg-Marquardt from the file's values.
The script prints truth, start, fit +- standard error and (fit - truth) / stderr for
each parameter, the strongly correlated pairs, the equilibrium constants K = ka/(kd Gmax)
and the thermodynamic cycle, and says which parameters the data determine.

    python examples/adsorption_fit.py [--plot FILE.png] [-o REPORT.json] [--starts N]
                                      [--points N --dE V] [--seed N] [--experiments A,B,..]
                                      [--exchange-A FACTOR]

``--exchange-A 30`` makes the true ka_A and kd_A thirty times larger (K_A unchanged): the
adsorption of A is then fast against every sweep, K_A stays as well determined, and ka_A
and kd_A apart much less so.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
HERE = Path(__file__).resolve().parent
MECH = HERE / "adsorption.mech"
FITTED = ("E0_sol", "k0_sol", "alpha_sol", "E0_ads", "ks", "alpha_ads", "ka_A", "kd_A", "ka_B", "kd_B")
EXPERIMENTS = {"cv50": 0.05, "cv200": 0.2, "cv1000": 1.0, "cv5000": 5.0}  # name -> scan rate, V/s

F = 96485.33212  # C/mol
R = 8.314462618  # J/(mol K)
T = 298.15  # K, as in the file
GMAX = 2e-6  # mol/m^2 (2e-10 mol/cm^2), the file's Gmax
C_A = 0.1  # mol/m^3 (0.1 mM), the file's cA

# The truth, SI.  A exchanges with its adsorbed form fast (kd_A (1 + K_A c) = 150 1/s is
# comparable with the sweep rate F v / RT at 5 V/s), B is adsorbed slowly and strongly;
# E0_ads closes the thermodynamic cycle, E0_ads = E0_sol + (RT/F) ln(K_B / K_A).
TRUTH = {
    "E0_sol": 0.0, "k0_sol": 5e-5, "alpha_sol": 0.45,
    "ks": 30.0, "alpha_ads": 0.55,
    "ka_A": 1e-3, "kd_A": 100.0, "ka_B": 2e-5, "kd_B": 0.09,
}
TRUTH["E0_ads"] = TRUTH["E0_sol"] + R * T / F * math.log(
    (TRUTH["ka_B"] / TRUTH["kd_B"]) / (TRUTH["ka_A"] / TRUTH["kd_A"]))

# Shown in the file's units: name -> (unit, SI value per unit).
DISPLAY = {"E0_sol": ("V", 1.0), "k0_sol": ("cm/s", 1e-2), "alpha_sol": ("", 1.0),
           "E0_ads": ("V", 1.0), "ks": ("1/s", 1.0), "alpha_ads": ("", 1.0),
           "ka_A": ("cm/s", 1e-2), "kd_A": ("1/s", 1.0), "ka_B": ("cm/s", 1e-2), "kd_B": ("1/s", 1.0)}

NOISE = 0.01  # Gaussian, as a fraction of each experiment's largest |I|
DATA_OPTIONS = {"points": 240, "dE": 0.5e-3}  # the data: finer than any fit below
DATA_SPACING = 2e-3  # V between recorded points
STRONG = 0.95  # |correlation| called strong in the report


def check_output(path: str | None, what: str) -> Path | None:
    """A writable file name for an output, or exit with a message before any work."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        sys.exit(f"adsorption_fit: {what} '{path}' is a folder; give a file name")
    if not p.resolve().parent.is_dir():
        sys.exit(f"adsorption_fit: the folder of {what} '{path}' does not exist; create it first")
    if p.resolve() in (MECH, Path(__file__).resolve()):
        sys.exit(f"adsorption_fit: refusing to write {what} over '{path}', a file of this example")
    return p


def make_data(model, truth: dict, seed: int, names) -> dict:
    """Voltammograms of the experiments ``names`` at the truth (DATA_OPTIONS), every
    DATA_SPACING, with Gaussian noise (each experiment its own stream of the seed)."""
    import mechlang
    import numpy as np

    every = round(DATA_SPACING / DATA_OPTIONS["dE"])
    data = {}
    for name in names:
        rng = np.random.default_rng([seed, list(EXPERIMENTS).index(name)])
        res = mechlang.compile(model, name, **DATA_OPTIONS)(truth).check()
        E, I = np.asarray(res.E)[every - 1::every], np.asarray(res.I)[every - 1::every]
        data[name] = {"E": E, "I": I + NOISE * np.max(np.abs(I)) * rng.standard_normal(I.shape)}
    return data


def relative_error(name: str, value: float, se: float) -> float:
    """The standard error on a common scale: relative for rate constants and alpha, in
    units of RT/F (25.7 mV) for a formal potential."""
    if name.startswith("E0"):
        return se / (R * T / F)
    return se / abs(value)


def verdict(rel: float) -> str:
    if not math.isfinite(rel) or rel > 0.5:
        return "no"
    return "yes" if rel <= 0.1 else "weak"


def combination(result, weights: dict) -> tuple[float, float]:
    """Value and standard error of sum_k w_k * g_k(p_k), g = ln for rate constants (ka, kd)
    and the identity otherwise, from the fit's standard errors and correlations."""
    value, grad = 0.0, {}
    for k, w in weights.items():
        v = result.values[k]
        if k.startswith(("ka", "kd")):
            value += w * math.log(v)
            grad[k] = w / v
        else:
            value += w * v
            grad[k] = w
    var = sum(grad[a] * grad[b] * result.correlation[a][b] * result.stderr[a] * result.stderr[b]
              for a in grad for b in grad)
    return value, math.sqrt(max(var, 0.0))


def analyse(result, truth: dict, start: dict) -> dict:
    """The table rows, strong correlations, derived constants and the cycle.

    A parameter is identifiable when its relative error is small ("yes" <= 0.1 < "weak"
    <= 0.5 < "no"), and not when the fit warns that the information matrix is near
    singular in a direction that involves it; strong partners are named beside it."""
    pairs = sorted(((a, b, result.correlation[a][b]) for i, a in enumerate(FITTED) for b in FITTED[i + 1:]
                    if abs(result.correlation[a][b]) > STRONG), key=lambda x: -abs(x[2]))
    singular = set()
    for w in result.warnings:
        m = re.search(r"hardly determine (.*?): the information matrix is near singular", w.message)
        if m:
            singular.update(n.strip() for n in m.group(1).split(","))
    rows = []
    for k in FITTED:
        v, se = result.values[k], result.stderr[k]
        rel = relative_error(k, v, se)
        says = "no (near singular)" if k in singular else verdict(rel)
        partners = [f"{b if a == k else a} {r:+.3f}" for a, b, r in pairs if k in (a, b)]
        if partners:
            says += f", r with {', '.join(partners)}"
        rows.append({"name": k, "unit": DISPLAY[k][0], "truth": truth[k], "start": start[k], "fit": v, "stderr": se,
                     "z": (v - truth[k]) / se if se > 0 else float("nan"), "relative_error": rel,
                     "identifiable": says})
    derived = {}
    for s in ("A", "B"):
        # ln K = ln ka - ln kd - ln Gmax: the equilibrium constant of the Langmuir isotherm.
        lnK, se = combination(result, {f"ka_{s}": 1.0, f"kd_{s}": -1.0})
        K = math.exp(lnK) / GMAX
        K_true = truth[f"ka_{s}"] / (truth[f"kd_{s}"] * GMAX)
        derived[f"K_{s}"] = {"unit": "m^3/mol", "truth": K_true, "fit": K, "relative_error": se,
                             "z": math.log(K / K_true) / se if se > 0 else float("nan"),
                             "identifiable": verdict(se)}
    f = F / (R * T)
    # E0_ads - E0_sol - (1/f) ln(K_B / K_A): zero for a thermodynamically consistent set.
    gap, se = combination(result, {"E0_ads": 1.0, "E0_sol": -1.0, "ka_B": -1 / f, "kd_B": 1 / f,
                                   "ka_A": 1 / f, "kd_A": -1 / f})
    derived["cycle_gap"] = {"unit": "V", "truth": 0.0, "fit": gap, "stderr": se,
                            "z": gap / se if se > 0 else float("nan")}
    return {"rows": rows, "pairs": pairs, "derived": derived}


def fmt(name: str, x: float, digits: int = 4) -> str:
    """x (SI) in the unit of DISPLAY."""
    return f"{x / DISPLAY[name][1]:.{digits}g}"


def print_report(result, table: dict, args) -> None:
    print(f"\nTen-parameter fit of {len(result.curves)} voltammograms ({result.n_points} points, "
          f"{NOISE:.0%} noise, seed {args.seed}); fit at points={args.points}, dE={1e3 * args.dE:g} mV, "
          f"data at points={DATA_OPTIONS['points']}, dE={1e3 * DATA_OPTIONS['dE']:g} mV")
    if args.exchange_A != 1:
        print(f"true ka_A and kd_A {args.exchange_A:g} times the default truth (K_A unchanged)")
    head = f"{'':10}{'unit':>5}{'truth':>11}{'start':>11}{'fit':>12}  {'± stderr':<10}{'rel.err':>8}{'z':>7}  identifiable"
    print(head)
    for r in table["rows"]:
        k = r["name"]
        print(f"{k:<10}{r['unit']:>5}{fmt(k, r['truth']):>11}{fmt(k, r['start']):>11}{fmt(k, r['fit'], 5):>12}"
              f"  ± {fmt(k, r['stderr'], 2):<8}{r['relative_error']:>8.2g}{r['z']:>+7.2f}  {r['identifiable']}")
    print("  rel.err: stderr / value (E0: stderr / (RT/F)); z = (fit - truth) / stderr; "
          "identifiable: yes <= 0.1 < weak <= 0.5 < no")
    for s in ("A", "B"):
        d = table["derived"][f"K_{s}"]
        ka, kd = (table["rows"][FITTED.index(f"{p}_{s}")]["relative_error"] for p in ("ka", "kd"))
        print(f"K_{s} = ka_{s}/(kd_{s} Gmax) = {d['fit']:.4g} m^3/mol (truth {d['truth']:.4g}), relative error "
              f"{d['relative_error']:.2g} (ka_{s} {ka:.2g}, kd_{s} {kd:.2g}), z = {d['z']:+.2f}")
    c = table["derived"]["cycle_gap"]
    print(f"cycle: E0_ads - E0_sol - (RT/F) ln(K_B/K_A) = {1e3 * c['fit']:+.2f} ± {1e3 * c['stderr']:.2f} mV "
          f"(zero for a consistent set; not imposed by the fit)")
    if table["pairs"]:
        print(f"strongly correlated (|r| > {STRONG}): "
              + ", ".join(f"{a}/{b} {r:+.3f}" for a, b, r in table["pairs"]))
    else:
        print(f"no pair correlated beyond |r| = {STRONG}")
    expected = (result.n_points - len(FITTED)) * NOISE**2
    print(f"loss {result.loss:.5g} (about {expected:.3g} expected from the noise alone), "
          f"{'converged' if result.converged else 'NOT converged'}; {result.n_simulations} simulations and "
          f"{result.n_gradients} Jacobians (each of one experiment), fit {result.wall_time:.1f} s")
    for w in result.warnings:
        print(w.format(False), file=sys.stderr)


def plot(path: Path, result) -> None:
    """Data (dots) and fit (line) of every scan rate, one panel each, residuals below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(result.curves)
    fig, axes = plt.subplots(2, len(names), figsize=(4.0 * len(names), 4.8), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    for j, e in enumerate(names):
        c = result.curves[e]
        top, bottom = axes[0, j], axes[1, j]
        scale = np.max(np.abs(c["data"]))
        top.plot(c["x"], c["data"] * 1e6, ".", ms=1.8, color="0.45", label="data (1 % noise)")
        top.plot(c["x"], c["fit"] * 1e6, "-", lw=1.2, color="C3", label="fit")
        top.set_title(f"{EXPERIMENTS[e]:g} V/s", fontsize=10)
        bottom.plot(c["x"], (c["data"] - c["fit"]) / scale, ".", ms=1.5, color="C0")
        bottom.axhline(0, color="0.5", lw=0.6)
        bottom.set_xlabel("E / V")
        if j == 0:
            top.set_ylabel("I / µA (anodic positive)")
            bottom.set_ylabel("(data − fit) / max|I|", fontsize=8)
            top.legend(fontsize=8, loc="upper left")
    fig.suptitle("A + e⁻ ⇌ B with adsorbed Aads + e⁻ ⇌ Bads: ten parameters fitted at once", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plot", metavar="FILE.png", help="plot data and fits of the four scan rates")
    ap.add_argument("-o", "--output", metavar="REPORT.json", help="write the fit report and the table as JSON")
    ap.add_argument("--starts", type=int, default=1,
                    help="starting points: the file's values, then random draws in the bounds (default 1)")
    ap.add_argument("--points", type=int, default=100, help="grid nodes of the fit's simulations (default 100)")
    ap.add_argument("--dE", type=float, default=2e-3, help="potential step of the fit's simulations, V (default 0.002)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    ap.add_argument("--experiments", default=",".join(EXPERIMENTS),
                    help="the scan rates to fit, as experiment names (default: %(default)s)")
    ap.add_argument("--exchange-A", type=float, default=1.0, metavar="FACTOR",
                    help="multiply the true ka_A and kd_A by FACTOR, K_A unchanged (default 1)")
    args = ap.parse_args(argv)
    chosen = [e.strip() for e in args.experiments.split(",") if e.strip()]
    unknown = [e for e in chosen if e not in EXPERIMENTS]
    if unknown or not chosen:
        ap.error(f"--experiments takes names from {', '.join(EXPERIMENTS)}; got {args.experiments!r}")
    if args.starts < 1 or args.points < 10 or not 0 < args.dE <= 0.01 or not args.exchange_A > 0:
        ap.error("need --starts >= 1, --points >= 10, 0 < --dE <= 0.01 V and --exchange-A > 0")
    plot_path = check_output(args.plot, "the plot")
    report_path = check_output(args.output, "the report")

    import jax

    jax.config.update("jax_enable_x64", True)
    import mechlang

    model = mechlang.load(MECH)
    start = {k: model.parameters[k] for k in FITTED}
    t0 = time.perf_counter()
    truth = dict(TRUTH, ka_A=TRUTH["ka_A"] * args.exchange_A, kd_A=TRUTH["kd_A"] * args.exchange_A)
    for k in FITTED:
        lo, hi = model.values[k].bounds
        if not lo < truth[k] < hi:
            unit = model.values[k].unit
            ap.error(f"--exchange-A {args.exchange_A:g} puts the true {k} ({truth[k]:.3g} {unit}) outside its "
                     f"bounds in the file [{lo:g}, {hi:g}] {unit}")
    data = make_data(model, truth, args.seed, chosen)
    t_data = time.perf_counter() - t0
    result = mechlang.fit(model, data=data, fit=list(FITTED), method="lm", starts=args.starts,
                          progress=None, points=args.points, dE=args.dE)
    table = analyse(result, truth, start)
    print_report(result, table, args)

    if report_path:
        report = result.report()
        report.update(truth=truth, exchange_A=args.exchange_A, start=start, table=table["rows"], derived=table["derived"],
                      strongly_correlated=[{"a": a, "b": b, "r": r} for a, b, r in table["pairs"]],
                      noise=NOISE, seed=args.seed, data_options=DATA_OPTIONS, data_spacing_V=DATA_SPACING,
                      fit_options={"points": args.points, "dE": args.dE})
        report_path.write_text(json.dumps(report, indent=2, default=float), encoding="utf-8")
        print(f"wrote {report_path}")
    if plot_path:
        plot(plot_path, result)
    print(f"total {time.perf_counter() - T_START:.1f} s (data {t_data:.1f} s, fit {result.wall_time:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
