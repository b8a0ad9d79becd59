"""``mechlang simulate FILE [--experiment NAME] [--set NAME=VALUE]... [-o OUT.csv] [--plot OUT.png]``."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mechlang.errors import DataError, did_you_mean, error


def parse_set(model, simulator, text: str) -> tuple[str, float]:
    """``NAME=VALUE[unit]``: a bare number takes the unit the file gave NAME."""
    from mechlang.model.units import check_dimension, dimension_name, parse_quantity

    if "=" not in text:
        raise DataError(error(f"--set {text!r}: expected NAME=VALUE, e.g. k0=5e-3cm/s"))
    key, raw = (s.strip() for s in text.split("=", 1))
    vname = simulator._public.get(key)
    if vname is None:
        hint = did_you_mean(key, simulator._public)
        raise DataError(error(f"--set {key}: unknown parameter '{key}'{hint}"))
    value = model.values[vname]
    si, unit, display_unit, _ = parse_quantity(raw)
    if display_unit == "" and unit == "":
        if value.unit != "":  # a bare number: the file's unit for this name
            return key, si * value.display_scale
        return key, si
    if not check_dimension(unit, value.unit):
        raise DataError(error(
            f"--set {key}={raw}: '{key}' must be {dimension_name(value.unit)}, got {dimension_name(unit)}"))
    return key, si


def write_csv(path: Path, result) -> None:
    data = np.column_stack([np.asarray(result.t), np.asarray(result.E), np.asarray(result.I)])
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("t,E,I\n")
        np.savetxt(fh, data, delimiter=",", fmt="%.10g")


def plot(path: Path, result, model, experiment, technique: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    I = np.asarray(result.I)  # noqa: E741
    scale, unit = 1.0, "A"
    peak = np.max(np.abs(I)) if I.size else 0.0
    for s, u in ((1e-3, "mA"), (1e-6, "µA"), (1e-9, "nA"), (1e-12, "pA")):
        if peak < 1000 * s:
            scale, unit = s, u
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    if technique == "galvanostatic":  # the potential at the applied current
        ax.plot(np.asarray(result.t), np.asarray(result.E), lw=1.4)
        ax.set_xlabel("t / s")
        ax.set_ylabel(f"E / V  (I = {float(I[0]) / scale:.4g} {unit}, anodic > 0)")
    elif technique == "ca":
        ax.plot(np.asarray(result.t), I / scale, lw=1.4)
        ax.set_xlabel("t / s")
    else:
        ax.plot(np.asarray(result.E), I / scale, lw=1.4)
        ax.set_xlabel("E / V")
    if technique != "galvanostatic":
        ax.set_ylabel(f"I / {unit}  (anodic > 0)")
        ax.axhline(0, color="0.7", lw=0.6)
    title = model.name or Path(model.file).stem
    ax.set_title(f"{title} — experiment '{experiment}' ({technique})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _guard_output(path: Path, inputs: list[Path]) -> None:
    for p in inputs:
        if path.resolve() == p.resolve():
            raise DataError(error(f"refusing to overwrite the input file '{path}' with output"))


def run(args) -> int:
    from mechlang import load
    from mechlang.simulator import compile

    model = load(args.file)
    options = {}
    if getattr(args, "points", None):
        options["points"] = int(args.points)
    if getattr(args, "dE", None):
        options["dE"] = float(args.dE)
    if getattr(args, "newton", None):
        options["newton"] = int(args.newton)
    if getattr(args, "first_cell", None):
        options["first_cell"] = float(args.first_cell)
    sim = compile(model, args.experiment, **options)
    overrides = dict(parse_set(model, sim, s) for s in (args.set or []))
    inputs = [Path(args.file)]
    out_csv = Path(args.output) if args.output else None
    out_png = Path(args.plot) if args.plot else None
    for p in (out_csv, out_png):
        if p is not None:
            _guard_output(p, inputs)
    result = sim(overrides)
    if out_csv is not None:
        write_csv(out_csv, result)
        print(f"wrote {out_csv} ({len(result.t)} points: t [s], E [V], I [A])", file=sys.stderr)
    if out_png is not None:
        plot(out_png, result, model, sim.experiment.name, sim.experiment.technique)
        print(f"wrote {out_png}", file=sys.stderr)
    if out_csv is None and out_png is None:
        sys.stdout.write("t,E,I\n")
        np.savetxt(sys.stdout, np.column_stack([result.t, result.E, result.I]), delimiter=",", fmt="%.10g")
    return 0
