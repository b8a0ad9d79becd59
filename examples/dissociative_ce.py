"""Dissociative CE: the acidity constant and dissociation rate of acetic acid from
chronoamperograms at hemispherical microelectrodes of three radii (synthetic data).

The mechanism is ``dissociative_ce.mech`` beside this script: HA <=> H+ + A- (kd, Ka)
followed by the reduction of H+ at the diffusion limit.  Chronoamperograms at r = 5, 10
and 25 um are simulated at the truth (Ka = 1.75e-5 M, kd = 1.75e5 s^-1) with finer solver
options than the fit, recorded from 20 ms to 5 s, and given 1 % Gaussian noise (of each
curve's largest |I|); Ka and kd are then fitted together (log-scaled, within the file's
bounds) by Levenberg-Marquardt from the file's start (Ka = 3e-5 M, kd = 2e4 s^-1).
The script prints truth, start, fit +- standard error and their correlation, and, as
physics checks, the steady-state current at each radius against its two limits:
2 pi F r D_H [H+] (H+ alone) and 2 pi F r (D_H [H+] + D_HA [HA]) (HA fully labile).
The figure (data, fits and steady-state currents) and a JSON report go to the ``--out``
folder (default ``dissociative_ce_out``, created) as ``dissociative_ce.png`` and
``dissociative_ce.json``; an existing file is never overwritten (``dissociative_ce_2.png``,
... instead).

    python examples/dissociative_ce.py [--out DIR] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

T_START = time.perf_counter()
HERE = Path(__file__).resolve().parent
MECH = HERE / "dissociative_ce.mech"
FITTED = ("Ka", "kd")
EXPERIMENTS = ("r5", "r10", "r25")

F = 96485.33212  # C/mol
TRUTH = {"Ka": 1.75e-2, "kd": 1.75e5}  # SI: Ka = 1.75e-5 M = 1.75e-2 mol/m^3; kd in 1/s
DISPLAY = {"Ka": ("M", 1e3), "kd": ("1/s", 1.0)}  # unit shown, SI value per unit

NOISE = 0.01  # Gaussian, as a fraction of each experiment's largest |I|
T_FIRST, N_POINTS = 0.02, 250  # data: N_POINTS times evenly spaced from T_FIRST s to the end
# The reaction layer is about 10 nm thick, so the first cell must be near 1 nm (first_cell
# is relative to the domain, about 1.3 mm for 5 s) and the stiff recombination needs 10
# Newton iterations a step.  The data use a finer grid and time step than the fit.
DATA_OPTIONS = {"points": 200, "first_cell": 2e-7, "ca_steps": 1200, "newton": 10}
FIT_OPTIONS = {"points": 120, "first_cell": 1e-6, "ca_steps": 400, "newton": 10}
LONG = 100.0  # s: duration of the runs that give the steady-state currents


def make_data(model, seed: int) -> dict:
    """The chronoamperograms at the truth, sampled at N_POINTS times, with noise."""
    import mechlang
    import numpy as np

    data = {}
    for j, name in enumerate(EXPERIMENTS):
        sim = mechlang.compile(model, name, **DATA_OPTIONS)
        res = sim(TRUTH).check()
        t = np.linspace(T_FIRST, sim.defaults["duration"], N_POINTS)
        I = np.interp(t, np.asarray(res.t), np.asarray(res.I))
        rng = np.random.default_rng([seed, j])
        data[name] = {"t": t, "I": I + NOISE * np.max(np.abs(I)) * rng.standard_normal(t.shape)}
    return data


def steady_state(model, params: dict, name: str, options: dict = DATA_OPTIONS) -> dict:
    """The steady-state current of experiment ``name`` and its two limits (A, cathodic
    negative).  A run of LONG seconds is extrapolated to t -> infinity by fitting
    I = I_ss + b / sqrt(t) to its second half (the leading correction at a hemisphere)."""
    import mechlang
    import numpy as np

    sim = mechlang.compile(model, name, **dict(options, first_cell=options["first_cell"] / 10))
    p = dict(params, duration=LONG)
    res = sim(p).check()
    t, I = np.asarray(res.t), np.asarray(res.I)
    keep = t >= LONG / 2
    A = np.stack([np.ones(keep.sum()), 1 / np.sqrt(t[keep])], axis=1)
    I_ss, _ = np.linalg.lstsq(A, I[keep], rcond=None)[0]
    d = dict(sim.defaults, **params)
    c_acid = d["c_acid"]
    Ka = d["Ka"]
    cH = (math.sqrt(Ka**2 + 4 * Ka * c_acid) - Ka) / 2
    cHA = c_acid - cH
    r = d["r"]
    I_H = -2 * math.pi * F * r * d["Hp.D"] * cH
    I_labile = -2 * math.pi * F * r * (d["Hp.D"] * cH + d["HA.D"] * cHA)
    return {"r": r, "I_ss": float(I_ss), "I_end": float(I[-1]), "I_H_only": I_H, "I_labile": I_labile,
            "fraction": (float(I_ss) - I_H) / (I_labile - I_H)}


def fmt(name: str, x: float, digits: int = 4) -> str:
    return f"{x / DISPLAY[name][1]:.{digits}g}"


def plot(path: Path, result, steady: list) -> None:
    """Data and fit of each radius (current density against log t), and the steady-state
    current between its limits."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4.2))
    for j, e in enumerate(result.curves):
        c = result.curves[e]
        area = 2 * math.pi * steady[j]["r"] ** 2
        a.plot(c["x"], -c["data"] / area / 10, ".", ms=2, color=f"C{j}", alpha=0.5)
        a.plot(c["x"], -c["fit"] / area / 10, "-", lw=1.2, color=f"C{j}", label=f"r = {steady[j]['r'] * 1e6:g} µm")
    a.set_xscale("log")
    a.set_xlabel("t / s")
    a.set_ylabel("−j / mA cm⁻²")
    a.legend(fontsize=8)
    a.set_title("data (1 % noise) and fit", fontsize=10)
    r = np.array([s["r"] for s in steady]) * 1e6
    for key, label, style in (("I_labile", "HA fully labile", "--"), ("I_ss", "simulated", "o-"),
                              ("I_H_only", "H⁺ alone", ":")):
        b.plot(r, [-s[key] / (s["r"] * 1e6) * 1e9 for s in steady], style, label=label)
    b.set_xlabel("r / µm")
    b.set_ylabel("−I_ss / r  /  nA µm⁻¹")
    b.set_title("steady-state current per radius", fontsize=10)
    b.legend(fontsize=8)
    fig.suptitle("HA ⇌ H⁺ + A⁻, H⁺ + e⁻ → ½ H₂ at a hemisphere", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="dissociative_ce_out", metavar="DIR",
                    help="folder for dissociative_ce.png (data, fits, steady-state currents) and dissociative_ce.json "
                         "(the fit report); created; an existing file is not overwritten (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    args = ap.parse_args(argv)
    folder = Path(args.out)
    try:  # before any work
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        sys.exit(f"dissociative_ce: cannot make the --out folder '{args.out}': {e.strerror or e}")

    import jax

    jax.config.update("jax_enable_x64", True)
    import mechlang

    model = mechlang.load(MECH)
    start = {k: model.parameters[k] for k in FITTED}
    t0 = time.perf_counter()
    data = make_data(model, args.seed)
    t_data = time.perf_counter() - t0
    result = mechlang.fit(model, data=data, fit=list(FITTED), method="lm", progress=None, **FIT_OPTIONS)
    t1 = time.perf_counter()
    steady = [steady_state(model, TRUTH, e) for e in EXPERIMENTS]
    t_steady = time.perf_counter() - t1

    print(f"\nKa and kd from {len(EXPERIMENTS)} chronoamperograms ({result.n_points} points, {NOISE:.0%} noise, "
          f"seed {args.seed}); fit at {FIT_OPTIONS}, data at {DATA_OPTIONS}")
    print(f"{'':4}{'unit':>5}{'truth':>11}{'start':>11}{'fit':>12}  {'± stderr':<11}{'rel.err':>8}{'z':>7}")
    rows = []
    for k in FITTED:
        v, se = result.values[k], result.stderr[k]
        z = (v - TRUTH[k]) / se if se > 0 else float("nan")
        rows.append({"name": k, "unit": DISPLAY[k][0], "truth": TRUTH[k], "start": start[k], "fit": v,
                     "stderr": se, "relative_error": se / v, "z": z})
        print(f"{k:<4}{DISPLAY[k][0]:>5}{fmt(k, TRUTH[k]):>11}{fmt(k, start[k]):>11}{fmt(k, v, 5):>12}"
              f"  ± {fmt(k, se, 2):<9}{se / v:>8.2g}{z:>+7.2f}")
    r = result.correlation["Ka"]["kd"]
    kb, kb_true = result.values["kd"] / result.values["Ka"], TRUTH["kd"] / TRUTH["Ka"]
    # ln kb = ln kd - ln Ka: its standard error from those of Ka and kd and their correlation.
    sk, sK = result.stderr["kd"] / result.values["kd"], result.stderr["Ka"] / result.values["Ka"]
    kb_rel = math.sqrt(max(sk**2 + sK**2 - 2 * r * sk * sK, 0.0))
    print(f"correlation r(Ka, kd) = {r:+.3f}; recombination kb = kd/Ka = {kb * 1e3:.4g} L/(mol s) "
          f"± {kb_rel:.2g} (relative; truth {kb_true * 1e3:.4g})")
    expected = (result.n_points - len(FITTED)) * NOISE**2
    print(f"loss {result.loss:.5g} (about {expected:.3g} expected from the noise alone), "
          f"{'converged' if result.converged else 'NOT converged'}; {result.n_simulations} simulations and "
          f"{result.n_gradients} Jacobians (each of one experiment), fit {result.wall_time:.1f} s")
    for w in result.warnings:
        print(w.format(False), file=sys.stderr)

    print(f"\nsteady state at the truth ({LONG:g} s runs extrapolated to t -> inf), currents in nA:")
    print(f"{'r / um':>7}{'H+ alone':>11}{'simulated':>11}{'labile':>11}{'fraction':>10}")
    for s in steady:
        print(f"{s['r'] * 1e6:>7g}{-s['I_H_only'] * 1e9:>11.4g}{-s['I_ss'] * 1e9:>11.4g}{-s['I_labile'] * 1e9:>11.4g}"
              f"{s['fraction']:>10.3f}")
    print("  fraction = (I_ss - I_H) / (I_labile - I_H): the share of the undissociated acid that reaches the "
          "electrode as H+")

    from mechlang.cli.common import fresh_path
    report_path, plot_path = fresh_path(folder / "dissociative_ce.json"), fresh_path(folder / "dissociative_ce.png")
    report = result.report()
    report.update(truth=TRUTH, start=start, table=rows, correlation_Ka_kd=r, kb=kb, kb_relative_error=kb_rel, steady_state=steady,
                  noise=NOISE, seed=args.seed, data_options=DATA_OPTIONS, fit_options=FIT_OPTIONS)
    with open(report_path, "x", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, default=float)
    print(f"wrote {report_path}")
    plot(plot_path, result, steady)
    print(f"total {time.perf_counter() - T_START:.1f} s (data {t_data:.1f} s, fit {result.wall_time:.1f} s, "
          f"steady states {t_steady:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
