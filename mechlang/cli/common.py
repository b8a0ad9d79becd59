"""What the commands share: checks of option values and output paths made before any
simulation runs, and JSON reports without ``NaN``.

Every check raises :class:`~mechlang.errors.DataError` with one line naming the option
and the value at fault; the main command prints it as ``error: ...`` and exits with 1.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from mechlang.errors import DataError, error

__all__ = ["json_safe", "write_json", "fresh_path", "count", "positive", "solver_options", "plot_formats", "outputs"]


# -- JSON --------------------------------------------------------------------------------


def json_safe(x):
    """A copy of ``x`` that ``json.dump(..., allow_nan=False)`` accepts: non-finite numbers
    become ``null``, tuples and arrays lists, numpy and JAX scalars Python numbers."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if x is None or isinstance(x, (bool, str)):
        return x
    if hasattr(x, "tolist"):  # numpy / JAX arrays and scalars
        x = x.tolist()
        if isinstance(x, list):
            return json_safe(x)
        if x is None or isinstance(x, (bool, str)):
            return x
    if isinstance(x, int):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    return v if math.isfinite(v) else None


def write_json(path, payload, stream=None) -> None:
    """Write ``payload`` as strict JSON (non-finite numbers as null) and say so on ``stream``
    (default stderr)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(json_safe(payload), fh, indent=2, allow_nan=False)
        fh.write("\n")
    print(f"wrote {path}", file=sys.stderr if stream is None else stream)


def fresh_path(path) -> Path:
    """``path``, or ``name_2.ext``, ``name_3.ext``, ... if it exists: never over a file
    that is there (the examples' output folders)."""
    path = Path(path)
    out, k = path, 2
    while out.exists():
        out = path.with_name(f"{path.stem}_{k}{path.suffix}")
        k += 1
    return out


# -- option values -----------------------------------------------------------------------


def count(value, option: str, minimum: int = 1, what: str = "") -> int | None:
    """A whole-number option (``None`` when not given) that must be at least ``minimum``."""
    if value is None:
        return None
    if isinstance(value, float) and not value.is_integer() or int(value) < minimum:
        why = f" ({what})" if what else ""
        raise DataError(error(f"{option} {value}: must be a whole number of at least {minimum}{why}"))
    return int(value)


def positive(value, option: str, below: float | None = None, what: str = "") -> float | None:
    """A real option (``None`` when not given) that must be finite and positive (and
    smaller than ``below`` when given)."""
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v) or v <= 0 or (below is not None and v >= below):
        rule = f"lie strictly between 0 and {below:g}" if below is not None else "be a positive number"
        why = f" ({what})" if what else ""
        raise DataError(error(f"{option} {v:g}: must {rule}{why}"))
    return v


def solver_options(args) -> dict:
    """The solver options given on the command line (``--points``, ``--dE``, ``--newton``,
    ``--first-cell``), checked; options not given are left out."""
    checked = {
        "points": count(getattr(args, "points", None), "--points", 2, "grid nodes"),
        "dE": positive(getattr(args, "dE", None), "--dE", what="the potential step, V"),
        "newton": count(getattr(args, "newton", None), "--newton", 1, "Newton iterations per step"),
        "first_cell": positive(getattr(args, "first_cell", None), "--first-cell", below=1.0,
                               what="a fraction of the domain"),
    }
    return {k: v for k, v in checked.items() if v is not None}


# -- output paths ------------------------------------------------------------------------


def plot_formats() -> set[str]:
    """The file extensions matplotlib can write (``png``, ``pdf``, ``svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return {k.lower() for k in FigureCanvasBase.get_supported_filetypes()}


def _plot_path(option: str, text: str) -> Path:
    """Where matplotlib's ``savefig(text)`` would write: a name without an extension gets
    ``.png`` (the path returned names it)."""
    ext = os.path.splitext(text)[1][1:].lower()
    if not ext:
        if Path(text).is_dir():
            raise DataError(error(f"{option} {text}: is a folder; give a file name such as "
                                  f"{os.path.join(text, 'plot.png')}"))
        return Path(text.rstrip(".") + ".png")
    formats = plot_formats()
    if ext not in formats:
        raise DataError(error(f"{option} {text}: matplotlib cannot write '.{ext}' files; use one of "
                              f"{', '.join('.' + f for f in sorted(formats))}"))
    return Path(text)


def outputs(given: dict, inputs=(), plots=()) -> dict:
    """Check the output paths of a command before it runs.

    Arguments:
        given: option -> path text (``None`` when the option was not given).
        inputs: files the command reads (.mech and data files): never overwritten.
        plots: the options in ``given`` that name images (their extension must be one
            matplotlib writes; a name without one gets ``.png``).

    Returns:
        option -> the :class:`Path` to write (``None`` when not given).

    Raises:
        DataError: one line naming the option and the path: an unsupported image format,
            a folder, a folder that does not exist, an input file, or two options naming
            the same file.
    """
    out: dict = {}
    seen: dict = {}
    read = {}
    for i in inputs:
        try:
            read[Path(i).resolve()] = i
        except (OSError, RuntimeError):
            pass
    for option, text in given.items():
        if text is None:
            out[option] = None
            continue
        text = str(text)
        if not text.strip():
            raise DataError(error(f"{option}: empty file name"))
        path = _plot_path(option, text) if option in plots else Path(text)
        if path.is_dir():
            raise DataError(error(f"{option} {text}: is a folder; give a file name"))
        folder = path.parent
        if not folder.is_dir():
            raise DataError(error(f"{option} {text}: the folder '{folder}' does not exist"))
        full = path.resolve()
        if full in read:
            raise DataError(error(f"{option} {text}: refusing to overwrite the input file '{read[full]}'"))
        if full in seen:
            raise DataError(error(f"{option} {text}: {seen[full]} writes the same file"))
        seen[full] = option
        out[option] = path
    return out
