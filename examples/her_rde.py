"""Hydrogen evolution on a Pt rotating disk: k0 and alpha of an irreversible Butler-Volmer
step fitted to a whole linear sweep, with convection-diffusion of H+ to the disk.

The measurement (shared data set her_pt_rde: M. T. M. Koper and co-workers, ACS Energy
Lett. (2024), digitised; 2500 rpm, 2 mV/s, 1 M H+) is current density against potential
vs RHE, -0.056 to +0.019 V. It is read in place from
``../shared/data/her_pt_rde/her_pt_rde_lsv.csv`` relative to the repository root, or
from ``--data FILE``.

The model is ``her_rde.mech``: H+ + e- -> H (half an H2), irreversible Butler-Volmer with
E0 = 0 V vs RHE, D(H+) = 9.3e-9 m^2/s, nu = 1e-6 m^2/s, swept from +0.022 to -0.06 V at
2 mV/s. k0 and alpha are fitted over the whole curve (no Tafel region chosen) with
relative errors (the currents span two decades) and, for comparison, with each residual
divided by the largest current; they are printed beside the reported k0 = 3.9e-7 m/s,
alpha = 1.45, with a classical Tafel analysis of a stated region and the Levich limit.
The figure (data and fits, linear and log |j|) and a JSON report go to the ``--out``
folder (default ``her_rde_out``, created) as ``her_rde.png`` and ``her_rde.json``; an
existing file is never overwritten (``her_rde_2.png``, ... instead).

    python examples/her_rde.py [--data PATH] [--out DIR] [--ru]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "her_rde.mech"
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "her_pt_rde" / "her_pt_rde_lsv.csv"
EXPERIMENT = "lsv"
REPORTED = {"k0": 3.9e-7, "alpha": 1.45}  # m/s; apparent, n = 1 (../shared/data/README.md)
TAFEL_REGIONS = ((-0.056, -0.020), (-0.020, 0.019))  # V: beyond 20 mV (the classical choice), and the rest
MA_CM2 = 10.0  # 1 mA/cm^2 in A/m^2
WEIGHTINGS = ("relative", "max")


class BadData(Exception):
    """The data file is missing or is not a two-column (E, j) table."""


def read_lsv(path) -> tuple[np.ndarray, np.ndarray]:
    """(E in V vs RHE, j in A/m^2) in the order of the sweep (most positive first).

    The file has one header row (potential vs RHE in V, current density in mA/cm^2,
    cathodic negative, as mechlang's currents are) and its rows in increasing potential;
    they are reversed to follow the negative-going sweep they were recorded on.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    except FileNotFoundError:
        raise BadData(f"no data file {path}") from None
    except OSError as e:
        raise BadData(f"cannot read {path}: {e.strerror or e}") from None
    points = []
    for line, row in enumerate(rows[1:], start=2):
        try:
            E, j = float(row[0]), float(row[1])
        except (ValueError, IndexError):
            raise BadData(f"{path}:{line}: expected two numbers (E / V vs RHE, j / mA cm^-2), got {row!r}") from None
        if not (np.isfinite(E) and np.isfinite(j)) or j >= 0:
            raise BadData(f"{path}:{line}: expected a finite potential and a negative (cathodic) current density")
        points.append((E, j))
    if len(points) < 5:
        raise BadData(f"{path}: {len(points)} data rows; expected a header and at least 5 rows of E, j")
    E, j = np.array(points).T
    order = np.argsort(-E)
    return E[order], j[order] * MA_CM2


def conditions(model) -> dict:
    """Area, concentration, D, omega, nu and T of the experiment, in SI."""
    p = model.evaluate()
    return {"area": p[f"{EXPERIMENT}.area"], "c": p["Hp.c"], "D": p["Hp.D"], "omega": p[f"{EXPERIMENT}.omega"],
            "nu": p[f"{EXPERIMENT}.nu"], "T": p[f"{EXPERIMENT}.T"]}


def levich(cond: dict) -> dict:
    """The limiting current density of H+ at the disk, A/m^2 (cathodic, given as a magnitude):
    Levich, 0.62045 F D^(2/3) omega^(1/2) nu^(-1/6) c, and with Newman's correction for
    Sc = nu/D, which is what the simulator reaches."""
    from mechlang import constants

    lev = 0.62045 * constants.F * cond["D"] ** (2 / 3) * cond["omega"] ** 0.5 * cond["nu"] ** (-1 / 6) * cond["c"]
    sc = cond["nu"] / cond["D"]
    return {"levich": lev, "newman": lev / (1 + 0.2980 * sc ** (-1 / 3) + 0.14514 * sc ** (-2 / 3)), "Sc": sc}


def fit(model, E, j, weighting: str, cond: dict):
    """mechlang.fit of k0 and alpha to the whole sweep; currents in A with the experiment's area."""
    import mechlang

    data = {EXPERIMENT: {"E": E, "I": j * cond["area"]}}
    return mechlang.fit(model, data, fit=["k0", "alpha"], weighting=weighting, progress=False)


def simulate(model, values: dict) -> tuple[np.ndarray, np.ndarray]:
    """(E, j in A/m^2) of the model's sweep at ``values``."""
    import mechlang

    sim = mechlang.compile(model)
    r = sim(values)
    return np.asarray(r.E), np.asarray(r.I) / sim.defaults["area"]


def tafel(E, j, cond: dict, region) -> dict:
    """Classical Tafel analysis of the data over ``region`` (eta = E - 0 V vs RHE)."""
    from mechlang.inverse import classical

    return classical.tafel(E, j * cond["area"], E_eq=0.0, region=region, n=1, T=cond["T"],
                           area=cond["area"], c=cond["c"], sweep="all")


def residuals(values: dict, E, j, model) -> dict:
    """rms relative residual and the largest relative residual of the curve at ``values``."""
    Es, js = simulate(model, values)
    at = np.interp(E, Es[::-1], js[::-1])
    rel = (at - j) / np.abs(j)
    return {"rms_relative": float(np.sqrt(np.mean(rel**2))), "max_relative": float(np.max(np.abs(rel)))}


def plot(path, E, j, fits: dict, model, choice: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    curves = {w: simulate(model, r.values) for w, r in fits.items()}
    curves["reported"] = simulate(model, REPORTED)
    styles = {"relative": ("C3", "-"), "max": ("C0", "--"), "reported": ("0.5", ":")}
    for ax, log in zip(axes, (False, True)):
        y = np.abs(j) if log else j
        ax.plot(E * 1e3, y / MA_CM2, "o", ms=3.5, mfc="none", color="0.2", label="data")
        for name, (Es, js) in curves.items():
            if name == "reported":
                label = f"reported: k0 = {REPORTED['k0']:.2g} m/s, α = {REPORTED['alpha']:.2f}"
            else:
                v = fits[name].values
                label = (f"fit ({name}{', chosen' if name == choice else ''}): "
                         f"k0 = {v['k0']:.3g} m/s, α = {v['alpha']:.3f}")
            color, ls = styles[name]
            ys = np.abs(js) if log else js
            ax.plot(Es * 1e3, ys / MA_CM2, ls, color=color, lw=1.6, label=label)
        if log:
            ax.set_yscale("log")
            ax.set_ylabel("|j| / mA cm⁻²")
        else:
            ax.set_ylabel("j / mA cm⁻²")
        ax.set_xlabel("E / mV vs RHE")
        ax.set_xlim(E.min() * 1e3 - 5, E.max() * 1e3 + 5)
        ax.grid(True, which="both", alpha=0.2)
    axes[0].legend(fontsize=7.5, loc="lower right")
    fig.suptitle("HER on Pt, rotating disk 2500 rpm, 2 mV/s, 1 M H⁺: irreversible Butler–Volmer", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def with_ru(E, j, cond) -> dict:
    """k0, alpha and an uncompensated resistance fitted together, each weighting: the model
    with ``Ru = Ru`` and ``param Ru`` in [1e-3, 10] ohm (ohm cm^2 with the file's area),
    written to a temporary folder.  Returns each weighting's fit report."""
    import tempfile

    import mechlang

    text = MODEL.read_text(encoding="utf-8")
    text = text.replace("param alpha", "param Ru    = 0.1 ohm     in [1e-3 ohm, 10 ohm] log\nparam alpha", 1)
    text = text.replace("  T         = 298.15 K\n", "  T         = 298.15 K\n  Ru        = Ru\n", 1)
    reports = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / MODEL.name
        path.write_text(text, encoding="utf-8")
        print("\nwith an uncompensated resistance Ru (ohm cm^2) fitted as well:")
        for w in WEIGHTINGS:
            r = mechlang.fit(path, {EXPERIMENT: {"E": E, "I": j * cond["area"]}}, fit=["k0", "alpha", "Ru"],
                             weighting=w, progress=False)
            reports[w] = r.report()
            at_bound = [d.message for d in r.warnings if "bound" in d.message]
            print(f"  weighting {w:<9} k0 {r.values['k0']:.3e} ± {r.stderr['k0']:.1e}  alpha {r.values['alpha']:.3f} "
                  f"± {r.stderr['alpha']:.3f}  Ru {r.values['Ru']:.3g} ± {r.stderr['Ru']:.1g}  loss {r.loss:.4g}"
                  + (f"  ({'; '.join(at_bound)})" if at_bound else ""))
    return reports


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="the LSV table (default: ../shared/data/her_pt_rde/her_pt_rde_lsv.csv "
                         "from the repository root)")
    ap.add_argument("--out", default="her_rde_out", metavar="DIR",
                    help="folder for her_rde.png (data and fits, linear and log |j|) and her_rde.json (the fits); "
                         "created; an existing file is not overwritten (default: %(default)s)")
    ap.add_argument("--ru", action="store_true",
                    help="also fit an uncompensated resistance (Ru, ohm cm^2 with the file's 1 cm^2) with k0 and alpha")
    args = ap.parse_args(argv)

    data_path = args.data.resolve()
    try:
        E, j = read_lsv(data_path)
    except BadData as e:
        print(f"her_rde: {e}\n  Pass the HER LSV table (E vs RHE in V, j in mA/cm^2) with --data FILE.",
              file=sys.stderr)
        return 2
    folder = Path(args.out)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"her_rde: cannot make the --out folder '{args.out}': {e.strerror or e}", file=sys.stderr)
        return 2

    import mechlang

    try:
        model = mechlang.load(MODEL)
        cond = conditions(model)
        fits = {w: fit(model, E, j, w, cond) for w in WEIGHTINGS}
        tafels = [tafel(E, j, cond, region) for region in TAFEL_REGIONS]
    except mechlang.MechError as e:
        print(f"her_rde: {e}", file=sys.stderr)
        return 1
    choice = "relative"
    lim = levich(cond)
    jmax = float(np.max(np.abs(j)))

    print(f"{len(E)} points, E = {E.min():+.3f} .. {E.max():+.3f} V vs RHE, |j| = {np.min(np.abs(j)) / MA_CM2:.3g} .. "
          f"{jmax / MA_CM2:.3g} mA/cm^2")
    print(f"Levich limit of 1 M H+ at {cond['omega'] * 60 / (2 * np.pi):.0f} rpm: {lim['levich'] / MA_CM2:.0f} mA/cm^2 "
          f"({lim['newman'] / MA_CM2:.0f} with Newman's correction, Sc = {lim['Sc']:.0f}); the largest measured "
          f"current is {100 * jmax / lim['newman']:.1f} % of it")
    print(f"\n{'':<26}{'k0 / m/s':>26}{'alpha':>18}{'rms rel. resid.':>17}{'loss':>11}")
    rows = {}
    for w, r in fits.items():
        res = residuals(r.values, E, j, model)
        rows[w] = res
        flag = "" if r.converged else "  (not converged)"
        print(f"{'fit, weighting ' + w + (' *' if w == choice else ''):<26}"
              f"{r.values['k0']:>14.3e} ± {r.stderr['k0']:.2e}{r.values['alpha']:>10.4f} ± {r.stderr['alpha']:.4f}"
              f"{100 * res['rms_relative']:>15.1f} %{r.loss:>11.4g}{flag}")
    rep = residuals(REPORTED, E, j, model)
    print(f"{'reported':<26}{REPORTED['k0']:>14.3e}{'':>11}{REPORTED['alpha']:>10.4f}{'':>9}"
          f"{100 * rep['rms_relative']:>15.1f} %")
    for taf in tafels:
        lo, hi = sorted(taf["region"])
        print(f"{'Tafel, eta ' + f'{lo * 1e3:.0f}..{hi * 1e3:.0f} mV':<26}{taf['k0']:>14.3e}{'':>11}"
              f"{taf['alpha']:>10.4f}{'':>9}   ({taf['n_points']} points, "
              f"b = {1e3 * taf['slope_V_per_decade']:.1f} mV/dec)")
    print("\n* chosen: relative errors weigh every decade of current alike; ± are Gauss-Newton standard errors.")
    for w, r in fits.items():
        for d in r.warnings:
            print(f"  {w}: {d.format(False)}", file=sys.stderr)
    ru = with_ru(E, j, cond) if args.ru else None
    from mechlang.cli.common import fresh_path
    report_path, plot_path = fresh_path(folder / "her_rde.json"), fresh_path(folder / "her_rde.png")
    out = {"data": str(data_path), "n_points": len(E), "chosen_weighting": choice, "reported": REPORTED,
           "levich_A_m2": lim, "max_measured_A_m2": jmax,
           "fits": {w: {**r.report(), **rows[w]} for w, r in fits.items()},
           "reported_residual": rep,
           "tafel": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in taf.items()} for taf in tafels]}
    if ru is not None:
        out["fits_with_ru"] = ru
    with open(report_path, "x", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2, default=float)
    print(f"wrote {report_path}")
    plot(plot_path, E, j, fits, model, choice)
    print(f"total {time.perf_counter() - T_START:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
