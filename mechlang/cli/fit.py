"""``mechlang fit`` and ``mechlang compare``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mechlang.errors import DataError, error


def add_parsers(sub) -> None:
    def common(p):
        p.add_argument("--data", action="append", required=True, metavar="EXPERIMENT=DATA.csv",
                       help="measured curve of an experiment (repeat for a global fit)")
        p.add_argument("--fit", action="append", metavar="NAME[,NAME...]",
                       help="parameters to fit (default: every param with bounds)")
        p.add_argument("--method", choices=("lm", "lbfgs", "adam"), default="lm")
        p.add_argument("--starts", type=int, default=1, help="starting points, run as one batch")
        p.add_argument("--weighting", choices=("max", "relative"), default="max",
                       help="divide each residual by its experiment's largest |I| (max) or by its own |I| "
                            "(relative, for data spanning decades of current)")
        p.add_argument("--points", type=int, help="grid nodes of the simulations")
        p.add_argument("--dE", type=float, help="potential step of the simulations, V")
        p.add_argument("--newton", type=int, help="Newton iterations per time step")
        p.add_argument("--first-cell", type=float, help="first grid spacing as a fraction of the domain")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("-o", "--output", metavar="REPORT.json")
        p.add_argument("--plot", metavar="FIT.png")

    f = sub.add_parser("fit", help="fit parameters of a .mech file to measured curves")
    f.add_argument("file")
    common(f)
    f.set_defaults(func=run_fit)
    c = sub.add_parser("compare", help="fit several mechanisms to the same data and rank them")
    c.add_argument("files", nargs="+")
    common(c)
    c.set_defaults(func=run_compare)


def _data(args) -> dict:
    out = {}
    for item in args.data:
        if "=" not in item:
            raise DataError(error(f"--data {item!r}: expected EXPERIMENT=DATA.csv"))
        name, path = item.split("=", 1)
        out[name.strip()] = path.strip()
    return out


def _names(args):
    if not args.fit:
        return None
    return [n.strip() for item in args.fit for n in item.split(",") if n.strip()]


def _options(args) -> dict:
    out = {}
    if args.points:
        out["points"] = args.points
    if args.dE:
        out["dE"] = args.dE
    if args.newton:
        out["newton"] = args.newton
    if args.first_cell:
        out["first_cell"] = args.first_cell
    return out


def _guard(outputs, inputs) -> None:
    for o in outputs:
        if o is None:
            continue
        for i in inputs:
            if Path(o).resolve() == Path(i).resolve():
                raise DataError(error(f"refusing to overwrite the input file '{o}' with output"))


def _write_json(path, payload) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, default=float)
    print(f"wrote {path}", file=sys.stderr)


def _print_fit(result) -> None:
    print(f"{result.file}: {result.method}, loss {result.loss:.6g} over {result.n_points} points, "
          f"{'converged' if result.converged else 'NOT converged'}, {result.n_gradients} Jacobian/gradient "
          f"evaluations (each with its simulation) and {result.n_simulations} further simulations, "
          f"{result.wall_time:.1f} s")
    width = max(len(k) for k in result.values)
    for k, v in result.values.items():
        se = result.stderr[k]
        rel = f"({100 * se / abs(v):.2g} %)" if v else ""
        print(f"  {k:<{width}} = {v:.6g} ± {se:.2g} {result.units.get(k, '')} {rel}".rstrip())
    for w in result.warnings:
        print(w.format(False), file=sys.stderr)


def plot_fits(path, fits: dict) -> None:
    """Data and fit of every experiment (columns), residuals below; one row pair per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(fits)
    experiments = list(next(iter(fits.values())).curves)
    ncol = len(experiments)
    fig, axes = plt.subplots(2 * len(models), ncol, figsize=(4.2 * ncol, 3.6 * len(models) + 1),
                             squeeze=False, gridspec_kw={"height_ratios": [3, 1] * len(models)})
    for m, key in enumerate(models):
        result = fits[key]
        for j, e in enumerate(experiments):
            c = result.curves[e]
            top, bottom = axes[2 * m, j], axes[2 * m + 1, j]
            scale = np.max(np.abs(c["data"])) or 1.0
            factor, label = {"E": (1.0, "E / V"), "c": (1.0, "c / mol m⁻³"), "v": (1e9, "v / nm s⁻¹")}.get(
                c.get("observable"), (1e6, "I / µA"))
            profile = c["kind"] in ("profile", "velocity")  # against x, every time at once: fit as points
            x = c["position"] * 1e6 if profile else c["x"]
            top.plot(x, c["data"] * factor, ".", ms=2.5, color="0.35", label="data")
            top.plot(x, c["fit"] * factor, "x" if profile else "-", ms=3, lw=1.3, color="C3", label="fit")
            top.set_title(f"{Path(key).name}: {e}", fontsize=9)
            top.set_ylabel(label)
            bottom.plot(x, (c["fit"] - c["data"]) / scale, ".", ms=2, color="C0")
            bottom.axhline(0, color="0.6", lw=0.6)
            bottom.set_ylabel(f"residual / max|{label.split(' ')[0]}|", fontsize=7)
            bottom.set_xlabel("x / µm" if profile else "E / V" if c["kind"] == "sweep" else "t / s")
            if j == 0:
                top.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}", file=sys.stderr)


def run_fit(args) -> int:
    from mechlang.inverse.fit import fit

    data = _data(args)
    _guard([args.output, args.plot], [args.file, *data.values()])
    result = fit(args.file, data, fit=_names(args), method=args.method, starts=args.starts,
                 progress=False if args.quiet else None, weighting=args.weighting, **_options(args))
    _print_fit(result)
    if args.output:
        _write_json(args.output, result.report())
    if args.plot:
        plot_fits(args.plot, {args.file: result})
    return 0


def run_compare(args) -> int:
    from mechlang.inverse.fit import compare

    data = _data(args)
    _guard([args.output, args.plot], [*args.files, *data.values()])
    comparison = compare(args.files, data, fit=_names(args), method=args.method, starts=args.starts,
                         progress=False if args.quiet else None, weighting=args.weighting, **_options(args))
    print(f"{'rank':<5}{'file':<32}{'AIC':>12}{'ΔAIC':>9}{'BIC':>12}{'ΔBIC':>9}{'loss':>12}")
    for i, e in enumerate(comparison.ranking, 1):
        print(f"{i:<5}{Path(e['file']).name:<32}{e['aic']:>12.2f}{e['delta_aic']:>9.2f}"
              f"{e['bic']:>12.2f}{e['delta_bic']:>9.2f}{e['loss']:>12.4g}")
        for k, p in e["parameters"].items():
            print(f"       {k} = {p['value']:.5g} ± {p['stderr']:.2g} {p['unit']}")
    if args.output:
        _write_json(args.output, comparison.report())
    if args.plot:
        plot_fits(args.plot, comparison.fits)
    return 0
