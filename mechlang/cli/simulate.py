"""``mechlang simulate FILE [--experiment NAME] [--set NAME=VALUE]... [-o OUT.csv] [--plot OUT.png]``.

The CSV has the columns t,E,I (s, V, A); a ``transport concentrated`` model whose salt has
no conductivity (``kappa``), which computes no potential, gets t,I.  Option values and
output paths are checked before the model is compiled."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from mechlang.cli.common import outputs, solver_options
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


def _columns(result, with_E: bool) -> tuple[str, np.ndarray]:
    cols = [np.asarray(result.t)] + ([np.asarray(result.E)] if with_E else []) + [np.asarray(result.I)]
    return ("t,E,I" if with_E else "t,I"), np.column_stack(cols)


def write_csv(path: Path, result, with_E: bool = True) -> None:
    header, data = _columns(result, with_E)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(header + "\n")
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
    if not model.computes_potential:  # no electrode potential: the applied current against time
        ax.plot(np.asarray(result.t), I / scale, lw=1.4)
        ax.set_xlabel("t / s")
        ax.set_ylabel(f"applied I / {unit}  (no potential: transport concentrated without kappa)", fontsize=8)
        ax.axhline(0, color="0.7", lw=0.6)
    elif technique == "galvanostatic":  # the potential at the applied current
        ax.plot(np.asarray(result.t), np.asarray(result.E), lw=1.4)
        ax.set_xlabel("t / s")
        ax.set_ylabel(f"E / V  (I = {float(I[0]) / scale:.4g} {unit}, anodic > 0)")
    elif technique == "ca":
        ax.plot(np.asarray(result.t), I / scale, lw=1.4)
        ax.set_xlabel("t / s")
    else:
        ax.plot(np.asarray(result.E), I / scale, lw=1.4)
        ax.set_xlabel("E / V")
    if technique != "galvanostatic" and model.computes_potential:
        ax.set_ylabel(f"I / {unit}  (anodic > 0)")
        ax.axhline(0, color="0.7", lw=0.6)
    title = model.name or Path(model.file).stem
    ax.set_title(f"{title} — experiment '{experiment}' ({technique})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args) -> int:
    paths = outputs({"-o": args.output, "--plot": args.plot}, [args.file], plots=("--plot",))
    options = solver_options(args)
    from mechlang import load
    from mechlang.simulator import compile

    model = load(args.file)
    sim = compile(model, args.experiment, **options)
    overrides = dict(parse_set(model, sim, s) for s in (args.set or []))
    result = sim(overrides)
    with_E = model.computes_potential
    out_csv, out_png = paths["-o"], paths["--plot"]
    if out_csv is not None:
        write_csv(out_csv, result, with_E)
        what = ("t [s], E [V], I [A]" if with_E
                else "t [s], I [A]; no E: transport concentrated computes the cell's potential only with "
                "the salt's conductivity kappa")
        print(f"wrote {out_csv} ({len(result.t)} points: {what})", file=sys.stderr)
    if out_png is not None:
        plot(out_png, result, model, sim.experiment.name, sim.experiment.technique)
        print(f"wrote {out_png}", file=sys.stderr)
    if out_csv is None and out_png is None:
        header, data = _columns(result, with_E)
        sys.stdout.write(header + "\n")
        np.savetxt(sys.stdout, data, delimiter=",", fmt="%.10g")
    return 0
