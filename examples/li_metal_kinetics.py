"""Li metal deposition/stripping kinetics: Butler-Volmer, Marcus and Marcus-Hush-Chidsey
fitted to the Tafel plots of Li in four carbonate electrolytes.

The measurements (D. T. Boyle et al., ACS Energy Lett. 5 (2020) 701-709, Fig. 4a:
ultramicroelectrode voltammetry, so mass transport is negligible and the data are rate
against overpotential) are |current density| against overpotential for 10 % FEC, EC:DEC,
DEC and PC.  They are read in place from
``../shared/data/li_metal_boyle2020/boyle2020_fig4a.csv`` relative to the repository
root, or from ``--data FILE``.

The mechanisms are the library's ``li_bv.mech``, ``li_marcus.mech`` and ``li_mhc.mech``
(Li+ + e- <=> Li(s), steady state, no transport, [Li+] = 1 M, E0 = 0 V so that the
potential is the overpotential).  For each electrolyte all three are fitted (k0 with alpha
or lambda) and ranked by AIC and BIC; lambda and the exchange current density
j0 = F k0 [Li+] are printed beside the reported lambda.  The data span two decades of
current and were read off a logarithmic plot, so by default every residual is divided by
its own measured current (relative errors, ``--weighting relative``); ``--weighting max``
divides by each curve's largest current instead.

    python examples/li_metal_kinetics.py [--data PATH] [--plot FILE.png] [-o REPORT.json]
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
ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "mechanisms"
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "li_metal_boyle2020" / "boyle2020_fig4a.csv"
ELECTROLYTES = ("10 % FEC", "EC:DEC", "DEC", "PC")  # the column pairs of the file, in order
REPORTED_LAMBDA = {"10 % FEC": 0.20, "EC:DEC": 0.22, "DEC": 0.26, "PC": 0.21}  # eV, MHC fits
LAWS = {"BV": "li_bv.mech", "Marcus": "li_marcus.mech", "MHC": "li_mhc.mech"}
# --exact: the same MHC step with the integral instead of its closed form (the library
# file's step E1 replaced; a declaration in the importing file wins).
MHC_EXACT = """use "li_mhc.mech"
mechanism Li_MHC_exact "Li+ + e- <=> Li(s), Marcus-Hush-Chidsey, integral"
E1: Lip + e- <=> Li ; mhc(E0 = E0, k0 = k0, lambda = lambda, exact = 1)
"""
MA_CM2 = 10.0  # 1 mA/cm^2 in A/m^2


class BadData(Exception):
    """The data file is missing or does not have the layout of Fig. 4a."""


def read_fig4a(path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The Fig. 4a table: electrolyte -> (overpotential in V, current density in A/m^2).

    The file has two header rows and four pairs of columns (overpotential in V,
    |current density| in mA/cm^2), one pair per electrolyte, padded with empty cells.
    The magnitudes are given the sign of the overpotential: deposition (reduction) at
    negative overpotential is a cathodic, negative current, as mechlang's currents are
    (oxidation positive).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise BadData(f"no data file {path}") from None
    except OSError as e:
        raise BadData(f"cannot read {path}: {e.strerror or e}") from None
    width = 2 * len(ELECTROLYTES)
    if len(rows) < 3 or len(rows[1]) < width:
        raise BadData(f"{path}: expected two header rows and {width} columns "
                      f"(overpotential, current density for {', '.join(ELECTROLYTES)})")
    out = {}
    for k, name in enumerate(ELECTROLYTES):
        points = []
        for line, row in enumerate(rows[2:], start=3):
            cells = [c.strip() for c in (row + [""] * width)[2 * k: 2 * k + 2]]
            if not any(cells):
                continue
            try:
                eta, j = float(cells[0]), float(cells[1])
            except ValueError:
                raise BadData(f"{path}:{line}: {name}: expected two numbers, got {cells[0]!r}, {cells[1]!r}") from None
            if not (np.isfinite(eta) and np.isfinite(j)) or j < 0:
                raise BadData(f"{path}:{line}: {name}: expected a finite overpotential and a current "
                              f"density magnitude >= 0, got {cells[0]}, {cells[1]}")
            points.append((eta, j))
        if len(points) < 3:
            raise BadData(f"{path}: {name} (columns {2 * k + 1} and {2 * k + 2}) has {len(points)} points")
        eta, j = np.array(points).T
        out[name] = (eta, np.sign(eta) * j * MA_CM2)
    return out


def load_models(exact: bool = False) -> dict:
    import mechlang

    models = {law: mechlang.load(LIBRARY / file) for law, file in LAWS.items()}
    if exact:
        models["MHC int"] = mechlang.load_string(MHC_EXACT, str(LIBRARY / "li_mhc_exact.mech"))
    return models


def exchange_current(model, k0: float) -> float:
    """j0 = F k0 [Li+] in A/m^2: at E = E0 both partial currents are F k0 [Li+] when
    [Li+] = c° = 1 M (Li a solid of unit activity), which makes E0 the equilibrium potential."""
    from mechlang import constants

    c = model.parameters["Lip.c"]
    if not np.isclose(c, constants.c_standard):
        raise ValueError(f"{model.file}: j0 = F k0 [Li+] needs [Li+] = 1 M, the file has {c / 1e3:g} M")
    return constants.F * k0 * c


def fit_electrolyte(models: dict, eta, j, weighting: str = "relative", starts: int = 4) -> list[dict]:
    """Fit every model to one electrolyte's (eta, j); one row per law, best AIC first:
    law, loss, aic, bic, delta_aic, delta_bic, values and stderr (SI), lambda_eV,
    alpha, j0_mA_cm2 (each with its standard error), converged, result."""
    import mechlang
    from mechlang import constants

    comparison = mechlang.compare(list(models.values()), {"pol": {"E": eta, "j": j}},
                                  weighting=weighting, starts=starts, progress=False)
    law_of = {str(m.file): law for law, m in models.items()}
    rows = []
    for entry in comparison.ranking:
        law = law_of[entry["file"]]
        result = comparison.fits[entry["file"]]
        v, se = result.values, result.stderr
        row = dict(law=law, **{k: entry[k] for k in ("loss", "aic", "bic", "delta_aic", "delta_bic")},
                   values=v, stderr=se, converged=result.converged, result=result)
        if "lambda" in v:
            row["lambda_eV"] = (v["lambda"] / constants.e, se["lambda"] / constants.e)
        if "alpha" in v:
            row["alpha"] = (v["alpha"], se["alpha"])
        j0 = exchange_current(models[law], v["k0"])
        row["j0_mA_cm2"] = (j0 / MA_CM2, j0 * se["k0"] / v["k0"] / MA_CM2)  # linear in k0: same relative error
        rows.append(row)
    return rows


def print_table(name: str, n: int, rows: list[dict], weighting: str) -> None:
    print(f"\n{name}: {n} points, weighting {weighting}; reported lambda (MHC) {REPORTED_LAMBDA[name]:.2f} eV")
    print(f"{'rank':<5}{'law':<8}{'lambda / eV':>16}{'alpha':>16}{'j0 / mA cm^-2':>18}"
          f"{'loss':>10}{'AIC':>9}{'ΔAIC':>7}{'BIC':>9}{'ΔBIC':>7}")
    for i, r in enumerate(rows, 1):
        lam = f"{r['lambda_eV'][0]:.3f} ± {r['lambda_eV'][1]:.3f}" if "lambda_eV" in r else "-"
        alpha = f"{r['alpha'][0]:.3f} ± {r['alpha'][1]:.3f}" if "alpha" in r else "-"
        j0 = f"{r['j0_mA_cm2'][0]:.3g} ± {r['j0_mA_cm2'][1]:.2g}"
        flag = "" if r["converged"] else "  (not converged)"
        print(f"{i:<5}{r['law']:<8}{lam:>16}{alpha:>16}{j0:>18}{r['loss']:>10.4g}{r['aic']:>9.1f}"
              f"{r['delta_aic']:>7.1f}{r['bic']:>9.1f}{r['delta_bic']:>7.1f}{flag}")


def plot(path, data: dict, fits: dict, models: dict) -> None:
    """log |j| against eta for each electrolyte: data as dots, the three fits as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter

    import mechlang

    sims = {law: mechlang.compile(m) for law, m in models.items()}
    styles = {"BV": ("C0", ":", 1.4), "MHC": ("C3", "-", 2.2), "MHC int": ("C1", "-.", 1.4),
              "Marcus": ("C2", "--", 1.4)}  # drawn in this order: the dashed lines over the solid one
    fig, axes = plt.subplots(2, 2, figsize=(9, 7.5), sharex=True)
    for ax, name in zip(axes.flat, ELECTROLYTES):
        eta, j = data[name]
        ax.semilogy(eta * 1e3, np.abs(j) / MA_CM2, "o", ms=4, mfc="none", color="0.2", label="data")
        for r in sorted(fits[name], key=lambda r: list(styles).index(r["law"])):
            sim = sims[r["law"]]
            res = sim(r["values"])
            E, jj = np.asarray(res.E), np.abs(np.asarray(res.I)) / sim.defaults["area"] / MA_CM2
            keep = np.abs(E) > 2e-3  # |j| -> 0 at eta = 0
            lam = f", λ = {r['lambda_eV'][0]:.2f} eV" if "lambda_eV" in r else f", α = {r['alpha'][0]:.2f}"
            color, ls, lw = styles[r["law"]]
            ax.semilogy(E[keep] * 1e3, jj[keep], ls, color=color, lw=lw,
                        label=f"{r['law']}{lam} (ΔAIC {r['delta_aic']:.1f})")
        ax.set_title(f"{name} (reported λ = {REPORTED_LAMBDA[name]:.2f} eV)", fontsize=10)
        ax.set_ylim(0.5 * np.min(np.abs(j)) / MA_CM2, 10 * np.max(np.abs(j)) / MA_CM2)  # room for the legend
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.legend(fontsize=7.5, loc="upper center")
        ax.grid(True, which="both", alpha=0.2)
    for ax in axes[-1]:
        ax.set_xlabel("η / mV")
    for ax in axes[:, 0]:
        ax.set_ylabel("|j| / mA cm⁻²")
    fig.suptitle("Li deposition (η < 0) and stripping (η > 0): Boyle et al. 2020, Fig. 4a", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def report(data_path, weighting: str, data: dict, fits: dict) -> dict:
    out = {"data": str(data_path), "weighting": weighting, "electrolytes": {}}
    for name, rows in fits.items():
        out["electrolytes"][name] = {
            "n_points": len(data[name][0]),
            "reported_lambda_eV": REPORTED_LAMBDA[name],
            "ranking": [{k: v for k, v in r.items() if k != "result"} for r in rows],
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="the Fig. 4a table (default: ../shared/data/li_metal_boyle2020/boyle2020_fig4a.csv "
                         "from the repository root)")
    ap.add_argument("--plot", metavar="FILE.png", help="figure of log |j| against eta, data and fits")
    ap.add_argument("-o", "--output", metavar="REPORT.json", help="write the fits and rankings as JSON")
    ap.add_argument("--weighting", choices=("relative", "max"), default="relative",
                    help="divide each residual by its own |j| (relative, default) or by the curve's largest |j|")
    ap.add_argument("--starts", type=int, default=4, help="starting points per fit (default: %(default)s)")
    ap.add_argument("--exact", action="store_true",
                    help="also fit MHC with the integral (mhc(..., exact = 1)) instead of its closed form")
    args = ap.parse_args(argv)

    data_path = args.data.resolve()
    for out in (args.plot, args.output):
        if out and Path(out).resolve() == data_path:
            print(f"li_metal_kinetics: refusing to overwrite the data file {data_path}", file=sys.stderr)
            return 2
    try:
        data = read_fig4a(data_path)
    except BadData as e:
        print(f"li_metal_kinetics: {e}\n  Pass the Fig. 4a table of Boyle et al. (2020) with --data FILE.",
              file=sys.stderr)
        return 2

    import mechlang

    try:
        models = load_models(args.exact)
        fits = {name: fit_electrolyte(models, eta, j, args.weighting, args.starts)
                for name, (eta, j) in data.items()}
    except mechlang.MechError as e:
        print(f"li_metal_kinetics: {e}", file=sys.stderr)
        return 1
    for name, rows in fits.items():
        print_table(name, len(data[name][0]), rows, args.weighting)
        for r in rows:
            for w in r["result"].warnings:
                print(f"  {r['law']}: {w.format(False)}", file=sys.stderr)
    print("\nj0 = F k0 [Li+] with [Li+] = 1 M; ± are Gauss-Newton standard errors (k = 2 parameters each).")
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            json.dump(report(data_path, args.weighting, data, fits), fh, indent=2, default=float)
        print(f"wrote {args.output}")
    if args.plot:
        plot(args.plot, data, fits, models)
    print(f"total {time.perf_counter() - T_START:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
