"""Global fit of five Fe(III)/Fe(II) voltammograms on platinum (10 to 200 mV/s).

The mechanism is ``fe3_fe2_pt.mech`` beside this script: Fe3 + e- <=> Fe2 with a
Butler-Volmer law whose cathodic and anodic transfer coefficients (alpha, beta) are
independent, one diffusion coefficient for both species, planar diffusion.  All five scan
rates are fitted at once for E0, k0, alpha, beta and Dfe; the result is printed beside
the values reported for the same data, and the fits are plotted with their residuals.

The measurements (Angew. Chem. Int. Ed. 63 (2024) e202315937) are read from
``../shared/data/fe3_fe2_pt/`` relative to the repository root, or from ``--data DIR``.

    python examples/fe_global_fit.py [--data DIR] [--plot fe_global_fit.png] [--cdl]

``--cdl`` also fits a double-layer capacitance shared by the five curves (the model with
``Cdl = Cdl`` in every experiment, ``param Cdl`` in [0, 20 uF], written to a temporary
folder): whether the recorded currents carry a charging current the faradaic model lacks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

T_START = time.perf_counter()
HERE = Path(__file__).resolve().parent
MECH = HERE / "fe3_fe2_pt.mech"
DEFAULT_DATA = HERE.parent / ".." / "shared" / "data" / "fe3_fe2_pt"
SCAN_RATES = (10, 20, 50, 100, 200)  # mV/s: experiment cvN <- fe_cv_NmVs.csv
FITTED = ("E0", "k0", "alpha", "beta", "Dfe")

# Reported for the same data and model (global fit of all five scan rates); E0 is only
# given as "near 0.434 V vs SCE".
REPORTED = {"E0": 0.434, "k0": 6.5e-5, "alpha": 0.24, "beta": 0.62, "Dfe": 5.3e-10}
UNITS = {"E0": "V", "k0": "m/s", "alpha": "", "beta": "", "Dfe": "m^2/s", "Cdl": "F"}


def with_capacitance(folder: Path) -> Path:
    """The model with a fitted double-layer capacitance shared by every experiment."""
    text = MECH.read_text(encoding="utf-8")
    text = text.replace("param beta", "param Cdl   = 1 uF         in [0 uF, 20 uF]\nparam beta", 1)
    text = text.replace("geometry = planar", "geometry = planar, Cdl = Cdl")
    path = folder / MECH.name
    path.write_text(text, encoding="utf-8")
    return path


def plot(path, result) -> None:
    """All five voltammograms (data as dots, fits as lines) above their residuals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 8.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.3]})
    for i, v in enumerate(SCAN_RATES):
        c = result.curves[f"cv{v}"]
        color = plt.cm.viridis(i / (len(SCAN_RATES) - 0.5))
        top.plot(c["x"], c["data"] * 1e6, ".", ms=2, color=color, alpha=0.45)
        top.plot(c["x"], c["fit"] * 1e6, "-", lw=1.4, color=color, label=f"{v} mV/s")
        bottom.plot(c["x"], (c["data"] - c["fit"]) / np.max(np.abs(c["data"])), "-", lw=1, color=color)
    top.set_ylabel("I / µA  (anodic positive)")
    top.set_title("Fe(III)/Fe(II) on Pt: global fit (dots: data, lines: fit)", fontsize=11)
    top.legend(title="scan rate", fontsize=9, loc="upper left")
    rows = [f"{'':6}{'fitted':>12}{'':7}{'reported':>9}"]
    for k in result.values:
        v, se = result.values[k], result.stderr[k]
        rep = ("~" if k == "E0" else "") + f"{REPORTED[k]:.3g}" if k in REPORTED else "-"
        rows.append(f"{k:<6}{v:>12.4g} ± {se:<5.1g}{rep:>9} {UNITS[k]:<5}")
    top.text(0.98, 0.03, "\n".join(rows), transform=top.transAxes, ha="right", va="bottom", multialignment="left",
             family="monospace", fontsize=8.5, bbox=dict(fc="white", ec="0.7", alpha=0.9))
    bottom.axhline(0, color="0.5", lw=0.6)
    bottom.set_ylabel("(data - fit) / max|I|")
    bottom.set_xlabel("E / V vs SCE")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="folder holding fe_cv_{10,20,50,100,200}mVs.csv "
                         "(default: ../shared/data/fe3_fe2_pt from the repository root)")
    ap.add_argument("--plot", default="fe_global_fit.png", metavar="PNG",
                    help="figure of data, fits and residuals (default: %(default)s)")
    ap.add_argument("--starts", type=int, default=1,
                    help="starting points (the file's values, then random draws in the bounds)")
    ap.add_argument("--points", type=int, default=160, help="grid nodes of the simulations")
    ap.add_argument("--dE", type=float, default=2e-3, help="potential step of the simulations, V")
    ap.add_argument("--cdl", action="store_true",
                    help="also fit a double-layer capacitance shared by the five curves (0 to 20 uF)")
    args = ap.parse_args(argv)

    folder = args.data.resolve()
    files = {f"cv{v}": folder / f"fe_cv_{v}mVs.csv" for v in SCAN_RATES}
    missing = [p.name for p in files.values() if not p.is_file()]
    if missing:
        print(f"fe_global_fit: the Fe(III)/Fe(II) data are not in {folder}\n"
              f"  (missing: {', '.join(missing)}).\n"
              f"  Pass the folder that holds fe_cv_{{10,20,50,100,200}}mVs.csv with --data DIR.",
              file=sys.stderr)
        return 2

    import mechlang

    fitted = list(FITTED)
    with tempfile.TemporaryDirectory() as tmp:
        model = MECH
        if args.cdl:
            model = with_capacitance(Path(tmp))
            fitted.append("Cdl")
        result = mechlang.fit(model, data={k: str(p) for k, p in files.items()}, fit=fitted,
                              method="lm", starts=args.starts, progress=None,
                              points=args.points, dE=args.dE)

    print(f"\nGlobal fit of {len(files)} voltammograms ({result.n_points} points), "
          f"Butler-Volmer with independent alpha and beta, equal D")
    print(f"{'':7}{'fitted':>13}  {'± stderr':<10}{'reported':>10}  unit")
    for k in fitted:
        v, se = result.values[k], result.stderr[k]
        rep = ("~" if k == "E0" else "") + f"{REPORTED[k]:.3g}" if k in REPORTED else "-"
        print(f"{k:<7}{v:>13.4g}  ± {se:<8.2g}{rep:>10}  {UNITS[k]}")
    print(f"loss {result.loss:.4g} (residuals scaled by each curve's max |I|), "
          f"{'converged' if result.converged else 'NOT converged'}; "
          f"{result.n_simulations} simulations and {result.n_gradients} Jacobian evaluations "
          f"(each of one experiment), fit {result.wall_time:.1f} s")
    for w in result.warnings:
        print(w.format(False), file=sys.stderr)

    plot(args.plot, result)
    print(f"total {time.perf_counter() - T_START:.1f} s including imports and plot "
          f"(grid {args.points} nodes, dE {1e3 * args.dE:g} mV)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
