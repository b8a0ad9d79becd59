"""``mechlang fit`` and ``mechlang compare``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mechlang.cli.common import count, outputs, solver_options, write_json
from mechlang.errors import DataError, ModelError, did_you_mean, error
from mechlang.model.units import format_unit


def add_parsers(sub) -> None:
    def common(p):
        p.add_argument("--data", action="append", required=True, metavar="EXPERIMENT=DATA.csv",
                       help="measured curve of an experiment (repeat for a global fit, or for several data "
                            "sets of one experiment)")
        p.add_argument("--fit", action="append", metavar="NAME[,NAME...]",
                       help="parameters to fit (default: every param with bounds); compare fits, in each "
                            "candidate, the names it has")
        p.add_argument("--method", choices=("lm", "lbfgs", "adam"), default="lm")
        p.add_argument("--starts", type=int, default=1, help="starting points, run as one batch (default 1)")
        p.add_argument("--weighting", choices=("max", "relative"), default="max",
                       help="divide each residual by its experiment's largest |I| (max) or by its own |I| "
                            "(relative, for data spanning decades of current)")
        p.add_argument("--points", type=int, help="grid nodes of the simulations (at least 2)")
        p.add_argument("--dE", type=float, help="potential step of the simulations, V")
        p.add_argument("--newton", type=int, help="Newton iterations per time step")
        p.add_argument("--first-cell", type=float, help="first grid spacing as a fraction of the domain")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("-o", "--output", metavar="REPORT.json", help="write the results as JSON")
        p.add_argument("--plot", metavar="FIT.png",
                       help="plot data, fits and residuals (.png, .pdf, .svg, ...; no extension: .png)")

    f = sub.add_parser("fit", help="fit parameters of a .mech file to measured curves")
    f.add_argument("file")
    common(f)
    f.set_defaults(func=run_fit)
    c = sub.add_parser("compare", help="fit several mechanisms to the same data and rank them")
    c.add_argument("files", nargs="+")
    common(c)
    c.set_defaults(func=run_compare)


def _data(args) -> dict:
    """--data EXPERIMENT=FILE items as {experiment: file}; an experiment given several
    times gets the list of its files (a transient and its profiles, say)."""
    out: dict = {}
    for item in args.data:
        if "=" not in item:
            raise DataError(error(f"--data {item!r}: expected EXPERIMENT=DATA.csv"))
        name, path = (s.strip() for s in item.split("=", 1))
        if not name or not path:
            raise DataError(error(f"--data {item!r}: expected EXPERIMENT=DATA.csv"))
        out.setdefault(name, []).append(path)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def _files(data: dict) -> list:
    return [f for v in data.values() for f in (v if isinstance(v, list) else [v])]


def _names(args):
    if not args.fit:
        return None
    names = [n.strip() for item in args.fit for n in item.split(",") if n.strip()]
    if not names:
        raise DataError(error(f"--fit {args.fit[-1]!r}: expected parameter names, e.g. --fit k0,alpha"))
    return list(dict.fromkeys(names))


def _prepare(args, inputs: list) -> tuple[int, dict, dict]:
    """Check every option value and output path before anything is simulated: (starts,
    solver options, {"-o": Path | None, "--plot": Path | None})."""
    starts = count(args.starts, "--starts", 1, "starting points")
    options = solver_options(args)
    paths = outputs({"-o": args.output, "--plot": args.plot}, inputs, plots=("--plot",))
    return starts, options, paths


def _announce(args, text: str) -> None:
    """One line before the first compilation, which takes seconds before any progress bar
    shows (only on a terminal, and not with --quiet)."""
    if not args.quiet and sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)


def _g(x, digits: int = 6) -> str:
    return f"{x:.{digits}g}" if x is not None and np.isfinite(x) else "nan"


def _parameters(result) -> dict:
    """name -> {value, stderr, unit} with units as the command line shows them."""
    return {k: {"value": result.values[k], "stderr": result.stderr[k],
                "unit": format_unit(result.units.get(k, ""))} for k in result.values}


def _fit_report(result) -> dict:
    report = dict(result.report())
    report["parameters"] = _parameters(result)
    return report


def _starts_line(result) -> str | None:
    """How the starts of a multi-start fit ended, and each parameter's range over those
    that converged (``FitResult.spread``)."""
    starts = result.starts or []
    if len(starts) < 2:
        return None
    text = (f"  starts: {result.n_converged_starts} of {len(starts)} converged, "
            f"{result.n_starts_at_best} reached the best loss (within 1 %)")
    if not result.spread:
        return text
    unit = lambda k: f" {format_unit(result.units.get(k))}" if result.units.get(k) else ""  # noqa: E731
    spread = ", ".join(f"{k} {_g(v['min'], 4)} to {_g(v['max'], 4)}{unit(k)}" for k, v in result.spread.items())
    return text + f"; over the converged starts: {spread}"


def _print_fit(result) -> None:
    print(f"{result.file}: {result.method}, loss {result.loss:.6g} over {result.n_points} points, "
          f"{'converged' if result.converged else 'NOT converged'}, {result.n_gradients} Jacobian/gradient "
          f"evaluations (each with its simulation) and {result.n_simulations} further simulations, "
          f"{result.wall_time:.1f} s")
    width = max((len(k) for k in result.values), default=0)
    for k, v in result.values.items():
        se = result.stderr[k]
        parts = [f"  {k:<{width}} = {_g(v)}"]
        if np.isfinite(se):
            parts.append(f"± {se:.2g}")
        unit = format_unit(result.units.get(k, ""))
        if unit:
            parts.append(unit)
        if not np.isfinite(se):
            parts.append("(undetermined: no error bar)")
        elif v:
            parts.append(f"({100 * se / abs(v):.2g} %)")
        print(" ".join(parts))
    line = _starts_line(result)
    if line:
        print(line)
    for w in result.warnings:  # data points left out among them
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
    data = _data(args)
    names = _names(args)
    starts, options, paths = _prepare(args, [args.file, *_files(data)])
    from mechlang.inverse.fit import fit

    _announce(args, "compiling the simulator...")
    result = fit(args.file, data, fit=names, method=args.method, starts=starts,
                 progress=False if args.quiet else None, weighting=args.weighting, **options)
    _print_fit(result)
    if paths["-o"] is not None:
        write_json(paths["-o"], _fit_report(result))
    if paths["--plot"] is not None:
        plot_fits(paths["--plot"], {args.file: result})
    return 0


def _candidate_names(files, data: dict, names: list, options: dict) -> dict:
    """{file: the names of ``names`` that candidate has}: each candidate fits those it has
    (a note names the others); a name no candidate has is an error."""
    from mechlang import load
    from mechlang.inverse.problem import fingerprint, simulator
    from mechlang.numerics.options import Options

    opts = Options().with_(**options)
    have = {}
    for f in files:
        model = load(f)
        key = fingerprint(model)
        public: set = set()
        for experiment in data:
            if experiment in model.experiments_:  # otherwise the fit says what is wrong
                public.update(simulator(model, experiment, opts, key)._public)
        have[f] = public
    every = set().union(*have.values())
    for n in names:
        if n not in every:
            raise ModelError(error(f"--fit {n}: no candidate has a parameter '{n}'{did_you_mean(n, every)}"))
    out = {}
    for f in files:
        mine = [n for n in names if n in have[f]]
        missing = [n for n in names if n not in have[f]]
        if not mine:
            raise ModelError(error(f"{f}: none of the --fit names ({', '.join(names)}) is a parameter of "
                                   "this candidate; add one of its own to --fit"))
        if missing:
            print(f"note: {f} has no {', '.join(missing)}: fitting {', '.join(mine)}", file=sys.stderr)
        out[str(f)] = mine
    return out


def _table(header: list[str], rows: list[list[str]], left: int) -> list[str]:
    """Columns two spaces apart, each as wide as its widest cell; the first ``left``
    columns aligned left, the rest (numbers) right."""
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]

    def line(cells):
        return "  ".join(c.ljust(w) if k < left else c.rjust(w)
                         for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(header)] + [line(r) for r in rows]


def run_compare(args) -> int:
    data = _data(args)
    names = _names(args)
    starts, options, paths = _prepare(args, [*args.files, *_files(data)])
    from mechlang.inverse.fit import compare

    per_file = _candidate_names(args.files, data, names, options) if names else None
    _announce(args, "compiling the simulator of each candidate before its fit...")
    comparison = compare(args.files, data, fit=per_file, method=args.method, starts=starts,
                         progress=False if args.quiet else None, weighting=args.weighting, **options)
    ranking = []
    for e in comparison.ranking:
        result = comparison.fits[e["file"]]
        entry = dict(e)
        entry["parameters"] = _parameters(result)
        entry["converged"] = bool(result.converged)
        entry["warnings"] = [w.format(False) for w in result.warnings]
        ranking.append(entry)
    shown = [Path(e["file"]).name for e in ranking]
    if len(set(shown)) < len(shown):  # the same name in two folders: show the paths
        shown = [str(e["file"]) for e in ranking]
    rows = [[str(i), name, f"{e['aic']:.2f}", f"{e['delta_aic']:.2f}", f"{e['bic']:.2f}",
             f"{e['delta_bic']:.2f}", f"{e['loss']:.4g}", "yes" if e["converged"] else "NO",
             str(len(e["warnings"]))]
            for i, (name, e) in enumerate(zip(shown, ranking), 1)]
    header = ["rank", "file", "AIC", "ΔAIC", "BIC", "ΔBIC", "loss", "converged", "warnings"]
    lines = _table(header, rows, left=2)
    print(lines[0])
    for line, e in zip(lines[1:], ranking):
        print(line)
        for k, p in e["parameters"].items():
            ok = p["stderr"] is not None and np.isfinite(p["stderr"])
            print(f"       {k} = {_g(p['value'], 5)}" + (f" ± {p['stderr']:.2g}" if ok else "")
                  + (f" {p['unit']}" if p["unit"] else "") + ("" if ok else " (undetermined: no error bar)"))
    for e, name in zip(ranking, shown):
        for w in e["warnings"]:
            print(f"{name}: {w}", file=sys.stderr)
    if paths["-o"] is not None:
        write_json(paths["-o"], {**comparison.report(), "ranking": ranking})
    if paths["--plot"] is not None:
        plot_fits(paths["--plot"], comparison.fits)
    return 0
