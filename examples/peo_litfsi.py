"""The transference number of LiTFSI in PEO, fitted to operando concentration profiles and
solvent velocities of a polarised Li | PEO-LiTFSI | Li cell.

The measurement (shared data set peo_litfsi_operando: H.-G. Steinrueck et al., Energy
Environ. Sci. 13 (2020) 4312; 3 mm of electrolyte, 1.87 M on average, polarised
galvanostatically with the recorded current density; salt concentration from X-ray
absorption at nine times, the solvent's velocity from XPCS at five positions) is read in
place from ``../shared/data/peo_litfsi_operando/`` relative to the repository root, or
from ``--data DIR``.

The model is ``peo_litfsi.mech``: ``transport concentrated`` (Newman's flux of a binary
salt with the solvent velocity from the volume balance, README "transport concentrated")
in a ``symmetric_cell(L = 3 mm)`` under the measured current density (``current_table``,
interpolated), with t+ = a + b (c - 1.87 M)/1.87 M and D = (1 - t+) g(c), g the reported
relation (D_tp0_relation.csv, a cubic in c fitted to it over 1.0-2.8 M, within 4 %). a,
b and the salt's partial molar volume Vs are fitted by Levenberg-Marquardt to the
profiles and the velocities together (each data set scaled by its largest value), and,
for comparison, a and b to the profiles alone (Vs held).

Found (61 nodes, 200 time steps, about 20 s for the script on two cores; +- the Gauss-Newton
standard error; examples/README.md): the data fix t+ near the average concentration and
where it changes sign, not its slope.  Jointly: t+(1.87 M) = a = -0.062 +- 0.016 (reported
-0.0376), zero at 1.75 M (reported 1.72 M), positive below and negative above as
reported; Vs = 133 +- 2 cm^3/mol, set by the velocities.  The slope b runs to its bound
-1 (standard error 0.23; reported -0.474): the loss keeps falling slowly for steeper lines
(0.1948 at b = -1, 0.1858 at b = -1.5 with a = -0.058, zero at 1.80 M) until 1 - t+, and
with it D = (1 - t+) g, nears zero in the depleted layer at the right electrode, where
the solver stops (b = -2).  At the reported line the loss is 9 % above the best (22 % for
the profiles alone: a = -0.090 +- 0.018, zero at 1.70 M).  So the sign change near 1.7 M is
reproduced; the reported slope is within the data's reach (about 2 standard errors) but
not preferred by this model with g(c) held at the reported relation (fitting a scale of g
as well drives the fit to a smaller D and deeper depletion, where the run stops).

    python examples/peo_litfsi.py [--data DIR] [--out DIR] [--quick]

``--quick`` is a coarse run (41 nodes, 80 steps, the joint fit alone) for the tests.
Writes ``peo_litfsi.png`` (data against fit, t+(c) against the reported line) and
``peo_litfsi.json`` into ``--out`` (default ``peo_litfsi_out``), never over an existing file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "peo_litfsi.mech"
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "peo_litfsi_operando"
EXPERIMENT = "operando"
C_AVG = 1.87  # mol/L
REPORTED = {"a": -0.0376, "b": -0.474}  # t+ = a + b (c - 1.87)/1.87 (../shared/data/README.md)
G_RANGE = (1.0, 2.8)  # mol/L: where the cubic g(c) is fitted to the reported relation


class BadData(Exception):
    """The data folder or one of its files is missing or malformed."""


def _table(path: Path, columns: int = 2) -> np.ndarray:
    try:
        rows = np.loadtxt(path, delimiter=",", ndmin=2)
    except FileNotFoundError:
        raise BadData(f"no data file {path}") from None
    except (OSError, ValueError) as e:
        raise BadData(f"cannot read {path}: {e}") from None
    if rows.shape[1] != columns or rows.shape[0] < 2 or not np.all(np.isfinite(rows)):
        raise BadData(f"{path}: expected rows of {columns} finite numbers")
    return rows


def read_data(folder) -> dict:
    """Everything in SI: profiles {t, x, c, species}, velocities {t, x, v}, the current
    programme (t s, i A/m^2) and the reported g(c) (c mol/m^3, g m^2/s)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadData(f"no data folder {folder}")
    T, X, C = [], [], []
    files = sorted(folder.glob("conc_profile_t*min.csv"))
    if not files:
        raise BadData(f"{folder}: no conc_profile_tNNNNmin.csv files")
    for f in files:
        minutes = float(re.search(r"_t(\d+)min", f.name).group(1))
        d = _table(f)
        T += [minutes * 60.0] * len(d)
        X += list(d[:, 0] * 1e-3)
        C += list(d[:, 1] * 1e3)
    TV, XV, VV = [], [], []
    files = sorted(folder.glob("velocity_x*mm.csv"))
    if not files:
        raise BadData(f"{folder}: no velocity_xN.NNmm.csv files")
    for f in files:
        x = float(re.search(r"_x([\d.]+)mm", f.name).group(1)) * 1e-3
        d = _table(f)
        keep = d[:, 0] > 0  # a point read off at t <= 0 (before the current) is left out
        TV += list(d[keep, 0] * 3600.0)
        XV += [x] * int(keep.sum())
        VV += list(d[keep, 1] * 1e-9)
    cur = _table(folder / "current_density.csv")
    if np.any(np.diff(cur[:, 0]) <= 0):
        raise BadData(f"{folder / 'current_density.csv'}: the times must increase")
    g = _table(folder / "D_tp0_relation.csv")
    return {
        "profiles": {"t": np.array(T), "x": np.array(X), "c": np.array(C), "species": "LiTFSI"},
        "velocities": {"t": np.array(TV), "x": np.array(XV), "v": np.array(VV)},
        "current": (cur[:, 0] * 3600.0, cur[:, 1] * 10.0),  # h, mA/cm^2 -> s, A/m^2
        "g": (g[:, 0] * 1e3, g[:, 1] * 1e-4),  # M, cm^2/s -> mol/m^3, m^2/s
    }


def g_cubic(g) -> tuple[dict, float]:
    """g0..g3 of g = g0 (1 + g1 x + g2 x^2 + g3 x^3), x = (c - c_avg)/c_avg, least squares
    over G_RANGE, and the largest relative deviation there."""
    c, gv = g
    sel = (c >= G_RANGE[0] * 1e3) & (c <= G_RANGE[1] * 1e3)
    x = (c[sel] - C_AVG * 1e3) / (C_AVG * 1e3)
    p = np.polyfit(x, gv[sel], 3)
    dev = float(np.max(np.abs(np.polyval(p, x) - gv[sel])) / np.max(gv[sel]))
    return {"g0": p[3], "g1": p[2] / p[3], "g2": p[1] / p[3], "g3": p[0] / p[3]}, dev


def with_values(model, values: dict):
    """The model with some of its numbers replaced (SI)."""
    import sympy

    vals = dict(model.values)
    for k, v in values.items():
        vals[k] = dataclasses.replace(vals[k], expr=sympy.Float(float(v)))
    return dataclasses.replace(model, values=vals)


def t_plus(c_molar, a, b):
    return a + b * (np.asarray(c_molar) - C_AVG) / C_AVG


def sign_change(a, b) -> float:
    """c (mol/L) where t+ = a + b (c - c_avg)/c_avg crosses zero."""
    return C_AVG * (1.0 - a / b) if b != 0 else float("nan")


def run(data: dict, quick: bool = False, progress: bool = False) -> dict:
    import mechlang
    from mechlang.inverse.problem import Problem
    from mechlang.numerics.options import Options

    gp, g_dev = g_cubic(data["g"])
    model = with_values(mechlang.load(MODEL), gp)
    t_cur, i_cur = data["current"]
    opts = dict(points=41, ca_steps=80) if quick else dict(points=61, ca_steps=200)
    opts["current_table"] = (tuple(t_cur), tuple(i_cur))
    fits = {}
    plan = [("profiles and velocities", [data["profiles"], data["velocities"]], ["a", "b", "Vs"])]
    if not quick:
        plan.append(("profiles", [data["profiles"]], ["a", "b"]))
    for label, sets, names in plan:
        t0 = time.perf_counter()
        res = mechlang.fit(model, {EXPERIMENT: sets}, fit=names, progress=progress,
                           max_iter=25 if quick else None, **opts)
        problem = Problem(model, {EXPERIMENT: sets}, fit=names, options=Options(**opts))
        at_reported = {**res.values, **REPORTED}
        loss_reported = float(np.sum(np.asarray(problem.residuals_theta(
            {k: np.float64(v) for k, v in at_reported.items()})) ** 2))
        fits[label] = {
            "values": {k: float(v) for k, v in res.values.items()},
            "stderr": {k: float(v) for k, v in res.stderr.items()},
            "loss": float(res.loss), "loss_at_reported_t_plus": loss_reported,
            "n_points": int(problem.n_points), "seconds": time.perf_counter() - t0,
            "sign_change_M": sign_change(res.values["a"], res.values["b"]),
        }
    best = next(iter(fits.values()))["values"]
    sim = mechlang.compile(model, profiles=True, **opts)
    r = sim(best)
    return {
        "g_cubic": {k: float(v) for k, v in gp.items()}, "g_cubic_max_deviation": g_dev,
        "options": {k: v for k, v in opts.items() if k != "current_table"},
        "fits": fits, "reported": {**REPORTED, "sign_change_M": sign_change(**REPORTED)},
        "simulation": {"t": np.asarray(r.t), "x": np.asarray(r.x), "c": np.asarray(r.profiles[..., 0]),
                       "v": np.asarray(r.velocity)},
    }


def plot(data: dict, out: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = out["simulation"]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.4))
    prof = data["profiles"]
    times = np.unique(prof["t"])
    for k, tm in enumerate(times):
        col = plt.cm.viridis(k / max(len(times) - 1, 1))
        sel = prof["t"] == tm
        ax[0].plot(prof["x"][sel] * 1e3, prof["c"][sel] / 1e3, ".", color=col, ms=4)
        j = int(np.argmin(np.abs(sim["t"] - tm)))
        ax[0].plot(sim["x"] * 1e3, sim["c"][j] / 1e3, "-", color=col, lw=1, label=f"{tm / 60:.0f} min")
    ax[0].set(xlabel="x / mm (from the electrode where Li dissolves)", ylabel="c / M", title="salt concentration")
    ax[0].legend(fontsize=7, ncol=2)
    vel = data["velocities"]
    for k, xp in enumerate(np.unique(vel["x"])):
        sel = vel["x"] == xp
        ax[1].plot(vel["t"][sel] / 3600, vel["v"][sel] * 1e9, "o", ms=3, color=f"C{k}")
        n = int(np.argmin(np.abs(sim["x"] - xp)))
        ax[1].plot(sim["t"] / 3600, sim["v"][:, n] * 1e9, "-", color=f"C{k}", lw=1, label=f"x = {xp * 1e3:.2f} mm")
    ax[1].set(xlabel="t / h", ylabel="v / nm s$^{-1}$", title="solvent velocity", xlim=(0, 11))
    ax[1].legend(fontsize=7)
    c = np.linspace(1.2, 2.5, 100)
    ax[2].plot(c, t_plus(c, **REPORTED), "k--", label="reported")
    for k, (label, f) in enumerate(out["fits"].items()):
        ax[2].plot(c, t_plus(c, f["values"]["a"], f["values"]["b"]), color=f"C{k + 3}", label=f"fit: {label}")
    ax[2].axhline(0, color="0.6", lw=0.8)
    ax[2].set(xlabel="c / M", ylabel="$t_+$", title="transference number")
    ax[2].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="the peo_litfsi_operando folder")
    ap.add_argument("--out", default="peo_litfsi_out", help="folder for peo_litfsi.png and peo_litfsi.json")
    ap.add_argument("--quick", action="store_true", help="a coarse run: 41 nodes, 80 steps, the joint fit alone")
    args = ap.parse_args(argv)
    try:
        data = read_data(args.data)
    except BadData as e:
        print(f"skipped: {e} (the data set peo_litfsi_operando; give its folder with --data)", file=sys.stderr)
        return 1
    out = run(data, quick=args.quick)  # no progress bar: the output is the report
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    from mechlang.cli.common import fresh_path
    png, js = fresh_path(folder / "peo_litfsi.png"), fresh_path(folder / "peo_litfsi.json")
    plot(data, out, png)
    report = {k: v for k, v in out.items() if k != "simulation"}
    js.write_text(json.dumps(report, indent=2))
    rep = out["reported"]
    for label, f in out["fits"].items():
        v, s = f["values"], f["stderr"]
        line = (f"{label}: t+ = {v['a']:+.4f} (+-{s['a']:.4f}) {v['b']:+.3f} (+-{s['b']:.3f}) (c - 1.87 M)/1.87 M"
                f", zero at {f['sign_change_M']:.2f} M")
        if "Vs" in v:
            line += f"; Vs = {v['Vs'] * 1e6:.1f} (+-{s['Vs'] * 1e6:.1f}) cm^3/mol"
        print(line)
        print(f"    loss {f['loss']:.5g} ({f['n_points']} points); "
              f"at the reported t+ {f['loss_at_reported_t_plus']:.5g}")
    print(f"reported: t+ = {rep['a']:+.4f} {rep['b']:+.3f} (c - 1.87 M)/1.87 M, zero at {rep['sign_change_M']:.2f} M")
    print(f"wrote {png} and {js}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
