"""``mechlang analyze METHOD DATA...``: the classical analyses of measured voltammograms.

::

    mechlang analyze randles-sevcik DATA.csv... --scan-rates V/s,... --area A --c C [--n N] [--T T]
    mechlang analyze nicholson DATA.csv... --scan-rate V/s[,...] --D D [--D-R D] [--alpha A]
    mechlang analyze tafel DATA.csv --E-eq E --region LO:HI [--area A --c C]

Data files are tables with a header (``E,I`` or ``t,E,I``, SI unless the header names a
unit); options take units (``--area 0.0707cm^2``, ``--c 1mM``, ``--scan-rates
50mV/s,100mV/s``) and a bare number is SI (m^2, mol/m^3, m^2/s, V/s, V, K). Each
analysis prints a small table; ``-o REPORT.json`` writes the numbers. The methods are
those of :mod:`mechlang.inverse.classical`.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from mechlang.cli.common import outputs, write_json
from mechlang.errors import DataError, error

__all__ = ["add_parser", "run"]

_SI = {
    "area": ("m**2", "an area"),
    "concentration": ("mol/m**3", "a concentration"),
    "diffusion": ("m**2/s", "a diffusion coefficient (length^2/time)"),
    "scan_rate": ("V/s", "a scan rate (potential/time)"),
    "potential": ("V", "a potential"),
    "temperature": ("K", "a temperature"),
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``analyze`` and its methods on the main command's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--n", type=int, default=1, metavar="N", help="electrons transferred (default 1)")
    common.add_argument("--T", default="298.15 K", metavar="T", help="temperature (default 298.15 K)")
    common.add_argument("-o", "--output", metavar="REPORT.json", default=None, help="write the numbers as JSON")

    parser = subparsers.add_parser(
        "analyze",
        help="classical analyses of voltammograms: Randles-Sevcik, Nicholson, Tafel",
        description="Classical analyses of measured voltammograms (E,I tables; SI unless the header "
                    "gives units). Option values take units ('0.0707cm^2', '1mM'); a bare number is SI.",
    )
    methods = parser.add_subparsers(dest="analysis", metavar="METHOD", required=True)

    rs = methods.add_parser(
        "randles-sevcik", parents=[common],
        help="diffusion coefficient from peak currents versus scan rate",
        description="Fit |ip| = a sqrt(v) (through the origin and with an intercept) over CVs or LSVs "
                    "recorded at several scan rates, and D from the Randles-Sevcik equation.")
    rs.add_argument("files", nargs="+", metavar="DATA.csv", help="one voltammogram per scan rate")
    rs.add_argument("--scan-rates", required=True, metavar="V1,V2,...",
                    help="the scan rate of each file, in order (e.g. 0.05,0.1 or 50mV/s,100mV/s)")
    rs.add_argument("--area", required=True, metavar="A", help="electrode area (e.g. 0.0707cm^2)")
    rs.add_argument("--c", required=True, metavar="C", help="bulk concentration (e.g. 1mM)")
    rs.add_argument("--peak", choices=("cathodic", "anodic"), default="cathodic",
                    help="the forward peak to use (default cathodic: a reduction swept negative first)")
    rs.add_argument("--irreversible", action="store_true",
                    help="a totally irreversible wave (0.4958 and alpha n F/RT; needs --alpha)")
    rs.add_argument("--alpha", type=float, default=None, metavar="ALPHA", help="transfer coefficient")
    rs.add_argument("--intercept", action="store_true",
                    help="take D from the fit with an intercept (default: through the origin)")

    ni = methods.add_parser(
        "nicholson", parents=[common],
        help="standard rate constant k0 from the peak separation (Nicholson's psi)",
        description="k0 = psi sqrt(pi D_O n F v/(R T)) / gamma^alpha with psi from n Delta Ep: Nicholson's "
                    "table (61-212 mV), Lavagnini's fit, or Klingler-Kochi beyond 212 mV.")
    ni.add_argument("files", nargs="+", metavar="DATA.csv", help="cyclic voltammograms")
    ni.add_argument("--scan-rate", required=True, metavar="V[,V...]",
                    help="the scan rate: one value for every file, or one per file")
    ni.add_argument("--D", required=True, metavar="D_O", help="diffusion coefficient of O (e.g. 1e-5cm^2/s)")
    ni.add_argument("--D-R", default=None, metavar="D_R", help="diffusion coefficient of R (default: D_O)")
    ni.add_argument("--alpha", type=float, default=0.5, metavar="ALPHA", help="transfer coefficient (default 0.5)")
    ni.add_argument("--method", choices=("auto", "table", "lavagnini", "klingler-kochi"), default="auto",
                    help="psi correlation (default auto: the table up to 212 mV, Klingler-Kochi beyond)")

    ta = methods.add_parser(
        "tafel", parents=[common],
        help="transfer coefficient and exchange current from a Tafel region",
        description="Fit log10|I| against eta = E - E_eq over a region of overpotential; alpha from the "
                    "slope, i0 from the intercept, k0 = i0/(n F A c) when --area and --c are given.")
    ta.add_argument("file", metavar="DATA.csv", help="a voltammogram")
    ta.add_argument("--E-eq", required=True, metavar="E", help="equilibrium (or formal) potential, e.g. 0.12V")
    ta.add_argument("--region", required=True, metavar="LO:HI",
                    help="overpotential range to fit, e.g. -0.30:-0.20 or -300mV:-200mV (V when bare)")
    ta.add_argument("--area", default=None, metavar="A", help="electrode area (for k0)")
    ta.add_argument("--c", default=None, metavar="C", help="bulk concentration (for k0)")
    ta.add_argument("--sweep", choices=("first", "all"), default="first",
                    help="fit the first sweep only (default) or every sample")

    for sub in (rs, ni, ta):
        # Values such as '-250mV:-150mV' or '-0.1V' start with '-': read them as values, not
        # options (argparse itself only does so for plain negative numbers).
        if hasattr(sub, "_negative_number_matcher"):
            sub._negative_number_matcher = re.compile(r"^-\.?\d")
    parser.set_defaults(func=run)
    return parser


# -- values ------------------------------------------------------------------------------


def _quantity(text: str, option: str, kind: str, positive: bool = True) -> float:
    from mechlang.model.units import check_dimension, dimension_name, parse_quantity

    si_unit, what = _SI[kind]
    text = str(text).strip()
    try:
        value, unit, _, _ = parse_quantity(text)
    except DataError:
        raise DataError(error(f"{option} {text!r}: expected {what}, a number with an optional unit")) from None
    if unit and not check_dimension(unit, si_unit):
        raise DataError(error(f"{option} {text!r}: expected {what} ({dimension_name(si_unit)}), "
                              f"got {dimension_name(unit)}"))
    if not math.isfinite(value) or (positive and value <= 0):
        raise DataError(error(f"{option} {text!r}: must be {'positive' if positive else 'finite'}"))
    return value


def _list(text: str, option: str, kind: str) -> list[float]:
    parts = [p for p in str(text).split(",")]
    if not parts or any(not p.strip() for p in parts):
        raise DataError(error(f"{option} {text!r}: expected a comma-separated list of values"))
    return [_quantity(p, option, kind) for p in parts]


def _positive_int(value, option: str) -> int:
    if value is None or value < 1:
        raise DataError(error(f"{option} {value}: must be a positive whole number"))
    return int(value)


def _alpha(value, option: str = "--alpha") -> float:
    if value is None or not (0 < value < 1):
        raise DataError(error(f"{option} {value}: the transfer coefficient must lie between 0 and 1"))
    return float(value)


def _guard_output(args, inputs) -> Path | None:
    """The report's path, checked before any analysis: its folder exists, it is no folder
    and none of the input files."""
    return outputs({"-o": args.output}, inputs)["-o"]


def _write_report(out: Path | None, report: dict) -> None:
    if out is None:
        return
    write_json(out, report, stream=sys.stdout)


def _g(x, digits: int = 5) -> str:
    return "nan" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    lines = ["  " + "  ".join(h.ljust(w) for h, w in zip(header, widths))]
    for r in rows:
        lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


# -- the analyses ------------------------------------------------------------------------


def _peaks(files):
    from mechlang.inverse.classical import find_peaks, load_cv

    return [find_peaks(*load_cv(f)) for f in files]


def _randles_sevcik(args) -> int:
    from mechlang.inverse.classical import randles_sevcik

    out = _guard_output(args, args.files)
    v = _list(args.scan_rates, "--scan-rates", "scan_rate")
    if len(v) != len(args.files):
        raise DataError(error(f"--scan-rates gives {len(v)} value{'s' * (len(v) != 1)} for "
                              f"{len(args.files)} file{'s' * (len(args.files) != 1)}: give one scan rate per file"))
    area = _quantity(args.area, "--area", "area")
    c = _quantity(args.c, "--c", "concentration")
    T = _quantity(args.T, "--T", "temperature")
    n = _positive_int(args.n, "--n")
    alpha = None
    if args.irreversible:
        if args.alpha is None:
            raise DataError(error("--irreversible needs --alpha (the transfer coefficient)"))
        alpha = _alpha(args.alpha)
    key = "c" if args.peak == "cathodic" else "a"
    peaks = _peaks(args.files)
    ip = []
    for f, p in zip(args.files, peaks):
        if math.isnan(p["Ip" + key]):
            raise DataError(error(f"{f}: no {args.peak} peak found (the extreme current lies at an end of the "
                                  f"record or has the wrong sign)", None,
                                  "use --peak anodic for an oxidation swept positive first"))
        ip.append(p["Ip" + key])
    res = randles_sevcik(v, ip, n, area=area, c=c, T=T, reversible=not args.irreversible, alpha=alpha,
                         through_origin=not args.intercept)
    kind = f"totally irreversible, alpha = {alpha:g}" if args.irreversible else "reversible"
    print(f"Randles-Sevcik ({kind}; n = {n}, A = {area:.6g} m^2, c = {c:.6g} mol/m^3, T = {T:.6g} K; "
          f"{args.peak} peaks)")
    rows = [[str(f), _g(vi), _g(p["Ep" + key]), _g(i)] for f, vi, p, i in zip(args.files, v, peaks, ip)]
    print(_table(["file", "v / (V/s)", "Ep / V", "Ip / A"], rows))
    for name, label in (("origin", "through the origin"), ("free", "with an intercept")):
        fit = res[name]
        mark = " (used)" if res["fit"] == name else ""
        print(f"  fit {label}{mark}: D = {_g(fit['D'])} m^2/s ({_g(fit['D'] * 1e4)} cm^2/s) "
              f"+/- {_g(fit['D_stderr'], 2)}, slope = {_g(fit['slope'])} A/(V/s)^1/2, "
              f"intercept = {_g(fit['intercept'])} A, r2 = {_g(fit['r2'], 6)}")
    _write_report(out, {
        "analysis": "randles-sevcik",
        "inputs": {"files": list(args.files), "scan_rates": v, "n": n, "area": area, "c": c, "T": T,
                   "reversible": not args.irreversible, "alpha": alpha, "peak": args.peak},
        "peaks": [{"file": str(f), **p} for f, p in zip(args.files, peaks)],
        "result": res,
    })
    return 0


def _nicholson(args) -> int:
    from mechlang.inverse.classical import nicholson_k0

    out = _guard_output(args, args.files)
    v = _list(args.scan_rate, "--scan-rate", "scan_rate")
    if len(v) == 1:
        v = v * len(args.files)
    if len(v) != len(args.files):
        raise DataError(error(f"--scan-rate gives {len(v)} values for {len(args.files)} files: "
                              "give one value for all, or one per file"))
    D_O = _quantity(args.D, "--D", "diffusion")
    D_R = _quantity(args.D_R, "--D-R", "diffusion") if args.D_R is not None else None
    T = _quantity(args.T, "--T", "temperature")
    n = _positive_int(args.n, "--n")
    alpha = _alpha(args.alpha)
    peaks = _peaks(args.files)
    results, rows = [], []
    for f, vi, p in zip(args.files, v, peaks):
        if math.isnan(p["Epc"]) or math.isnan(p["Epa"]):
            raise DataError(error(f"{f}: the Nicholson method needs both a cathodic and an anodic peak; "
                                  f"found {'no cathodic' if math.isnan(p['Epc']) else 'no anodic'} peak"))
        dEp = p["Epa"] - p["Epc"]
        res = nicholson_k0(dEp, vi, D_O, D_R, n, T, alpha, args.method)
        results.append({"file": str(f), "scan_rate": vi, "delta_Ep": dEp, **p, **res})
        rows.append([str(f), _g(vi), _g(p["Epc"]), _g(p["Epa"]), f"{dEp * 1e3:.2f}", _g(res["psi"], 4),
                     _g(res["k0"], 4), _g(res["k0"] * 100, 4), res["method"]])
    print(f"Nicholson (n = {n}, D_O = {D_O:.6g} m^2/s, D_R = {(D_R or D_O):.6g} m^2/s, alpha = {alpha:g}, "
          f"T = {T:.6g} K)")
    print(_table(["file", "v / (V/s)", "Epc / V", "Epa / V", "dEp / mV", "psi", "k0 / (m/s)", "k0 / (cm/s)",
                  "method"], rows))
    finite = [r["k0"] for r in results if math.isfinite(r["k0"])]
    if len(finite) > 1:
        gm = math.exp(sum(math.log(k) for k in finite) / len(finite))
        print(f"  geometric mean k0 = {_g(gm, 4)} m/s ({_g(gm * 100, 4)} cm/s) over {len(finite)} files")
    if any(r["method"] == "reversible" for r in results):
        print("  reversible: n dEp below 61 mV (psi > 20); k0 only has a lower bound -- scan faster")
    _write_report(out, {
        "analysis": "nicholson",
        "inputs": {"files": list(args.files), "scan_rates": v, "n": n, "D_O": D_O, "D_R": D_R or D_O,
                   "alpha": alpha, "T": T, "method": args.method},
        "results": results,
    })
    return 0


def _tafel(args) -> int:
    from mechlang.inverse.classical import load_cv, tafel

    out = _guard_output(args, [args.file])
    E_eq = _quantity(args.E_eq, "--E-eq", "potential", positive=False)
    if ":" not in args.region:
        raise DataError(error(f"--region {args.region!r}: expected LO:HI, two overpotentials (e.g. -0.3:-0.2)"))
    lo_text, hi_text = args.region.split(":", 1)
    region = (_quantity(lo_text, "--region", "potential", positive=False),
              _quantity(hi_text, "--region", "potential", positive=False))
    if region[0] == region[1]:
        raise DataError(error(f"--region {args.region!r}: the two ends are equal"))
    T = _quantity(args.T, "--T", "temperature")
    n = _positive_int(args.n, "--n")
    if (args.area is None) != (args.c is None):
        raise DataError(error("k0 needs both --area and --c (give both, or neither)"))
    area = _quantity(args.area, "--area", "area") if args.area is not None else None
    c = _quantity(args.c, "--c", "concentration") if args.c is not None else None
    E, I = load_cv(args.file)  # noqa: E741
    res = tafel(E, I, E_eq, region, n=n, T=T, area=area, c=c, sweep=args.sweep)
    lo, hi = res["region"]
    print(f"Tafel ({args.file}: eta = E - E_eq from {lo:.4g} V to {hi:.4g} V, E_eq = {E_eq:.6g} V, n = {n}, "
          f"T = {T:.6g} K)")
    rows = [
        ["branch", res["branch"]],
        ["points", str(res["n_points"])],
        ["Tafel slope", f"{res['slope_V_per_decade'] * 1e3:.4g} mV/decade"],
        ["alpha (cathodic)", _g(res["alpha"], 4)],
        ["alpha of the branch", _g(res["alpha_branch"], 4)],
        ["i0", f"{_g(res['i0'], 4)} A"],
        ["k0", f"{_g(res['k0'], 4)} m/s ({_g(res['k0'] * 100, 4)} cm/s)" if math.isfinite(res["k0"])
         else "(give --area and --c)"],
        ["r2", _g(res["r2"], 6)],
    ]
    print(_table(["quantity", "value"], rows))
    _write_report(out, {
        "analysis": "tafel",
        "inputs": {"file": str(args.file), "E_eq": E_eq, "region": list(region), "n": n, "T": T,
                   "area": area, "c": c, "sweep": args.sweep},
        "result": res,
    })
    return 0


_ANALYSES = {"randles-sevcik": _randles_sevcik, "nicholson": _nicholson, "tafel": _tafel}


def run(args) -> int:
    """Run ``mechlang analyze`` with parsed arguments; return the exit status.

    Raises:
        DataError: a missing or malformed file, a bad option value, or data the method
            cannot use; the main command prints it as ``error: ...`` and exits with 1.
    """
    analysis = getattr(args, "analysis", None)
    if analysis not in _ANALYSES:
        raise DataError(error(f"analyze: unknown method '{analysis}'; choose one of {', '.join(_ANALYSES)}"))
    return _ANALYSES[analysis](args)
