"""Measured data: reading CSV files, aligning them with an experiment, predicting them.

A data file is a table with a header naming its columns::

    E,I                 a sweep (cv, lsv): current against potential, in recording order
    t,I   or  t,E,I     a transient (ca): current against time
    t,E                 a transient whose potential is computed (galvanostatic): potential against time
    E,I                 a polarization curve: steady current against potential, any order
    t,x,SPECIES         concentration profiles of one dissolved species (a transient):
                        c at distance x from the electrode at time t, e.g. ``t [s], x [um], O [mM]``
    t,x,v               the solvent velocity v at position x and time t (``transport
                        concentrated``, a symmetric cell), e.g. ``t [h], x [mm], v [nm/s]``

Names are case-insensitive: ``E`` (potential), ``I`` (current), ``t`` (time), ``j``
(current density, turned into a current with the experiment's ``area``) and ``x``
(distance from the electrode); a species column is named as in the model (case matters).  Values are SI
unless the header gives a unit after the name, in brackets, parentheses or after a slash:
``E [mV]``, ``I (uA)``, ``j [mA/cm^2]``, ``t / ms``.  Cells are separated by commas,
semicolons, tabs or spaces; blank lines and lines starting with ``#`` are skipped.  Files
are only ever opened for reading.

Sweep data are aligned with the experiment's potential programme (the segments between
consecutive :func:`~mechlang.experiments.sweep.corners`, cycles included) by potential and
sweep direction: the recording is cut into monotone runs where it turns (a turn counts once
the potential has moved back by more than a few data spacings, at least 2 mV, so noise near
a vertex does not split a run), the runs are matched in order with the programme's legs,
and each point is placed in the segment whose potential range holds it.  Points past a
vertex, before the start or after the end of the programme are left out and reported in
:attr:`Dataset.notes` (and :attr:`Dataset.left_out`; :func:`left_out_sentence` words them
for ``FitResult.data_notes``).  Data that start far from ``E_start``, go the wrong way, turn well
before a vertex, or of which fewer than half can be placed, do not follow the programme:
that is a :class:`~mechlang.errors.DataError` naming the file and the row.

Transient data are matched by time; points before t = 0 or after ``duration`` are left out.
What a data set measures (its *observable*) is named by its columns, and must be an output
the technique computes (:attr:`~mechlang.experiments.base.Waveform.computed`): the current
of a ca, cv, lsv or polarization, the potential of a galvanostatic experiment.  Data on
the applied quantity (``t,E`` for a ca) are a :class:`~mechlang.errors.DataError`, and so
are potential data of an experiment that computes no potential (a symmetric cell of
``transport concentrated`` whose salt has no conductivity ``kappa``: its E is always 0).
Sweep data that do not follow the programme but would in millivolts (a bare ``E``
header over ``450 .. -450``) say so.

Profile data (``t,x,SPECIES``) are compared with the simulated profiles
(``Result.profiles``), interpolated linearly in time between steps and in x on the grid.
Every point must lie in the run (0 < t <= duration) and in the simulated domain
(0 <= x <= its length at the file's values); a point outside either is an error naming
its row, and so is a species column that is not a dissolved species of the model.
Solvent velocity data (``t,x,v``, positive from the left electrode to the right one) are
compared with ``Result.velocity`` in the same way, under the same rules; they need an
experiment that computes a solvent velocity (``transport concentrated``, whose
experiments are in a ``symmetric_cell``).

Polarization data are matched by potential alone: points outside the range E_start..E_end
are left out, and :func:`predict` interpolates the simulated curve (``points`` potentials
evenly spaced over that range) linearly at each data potential.  The interpolation error
is of order (f dE)^2/8 of the current for a Butler-Volmer exponential (dE the spacing):
below 0.1 % for 4 mV (101 points over 0.4 V); raise ``points`` for coarser data ranges.

:func:`predict` evaluates a simulated :class:`~mechlang.simulator.Result` at the kept data
points, in pure JAX (differentiable, jit- and vmap-safe).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from mechlang.errors import DataError, Span, error
from mechlang.model import ir
from mechlang.model.units import CONCENTRATION, CURRENT, LENGTH, POTENTIAL, TIME, UnitError, dimension_name, parse_unit

__all__ = ["Dataset", "read_table", "load_dataset", "predict", "left_out_sentence"]

SWEEPS = ("cv", "lsv")
TRANSIENTS = ("ca", "galvanostatic")
STEADY = ("polarization",)

_DIMS = {"E": POTENTIAL, "I": CURRENT, "t": TIME, "j": CURRENT / LENGTH**2, "x": LENGTH, "v": LENGTH / TIME}
_WHAT = {"E": "potential", "I": "current", "t": "time", "j": "current density", "x": "position",
         "v": "solvent velocity"}
_ALIASES = {
    "e": "E", "potential": "E", "voltage": "E",
    "i": "I", "current": "I",
    "t": "t", "time": "t",
    "j": "j", "current density": "j", "current_density": "j",
    "x": "x", "position": "x", "distance": "x",
    "v": "v", "velocity": "v", "solvent velocity": "v", "v0": "v",
}
_MIN_POINTS = 3
_ARRAYS = "<arrays>"


@dataclass(frozen=True)
class Dataset:
    """Measured points of one experiment, aligned with its programme; every value SI."""

    experiment: str  # experiment name
    source: str  # file path as given, or "<arrays>"
    kind: str  # "sweep" (matched by potential and sweep direction), "transient" (matched by time),
    #            "polarization" (matched by potential alone) or "profile" (by time and position)
    x: np.ndarray  # sweep: E (V) of each kept point; transient, profile: t (s)
    segment: np.ndarray  # sweep: programme segment of each kept point (int); otherwise zeros
    y: np.ndarray  # measured value of each kept point, SI: current (A, anodic positive),
    #                potential (V) or concentration (mol/m^3), as `observable` says
    rows: np.ndarray  # 1-based row numbers of the kept points (line numbers in a file)
    dropped: tuple[int, ...]  # row numbers left out because they fall outside the programme
    notes: tuple[str, ...]  # human-readable remarks on what was left out or ignored
    observable: str = "I"  # "I" (current), "E" (potential), "c" (concentration of `species`) or
    #                        "v" (solvent velocity, kind "velocity")
    position: np.ndarray | None = None  # profile: distance from the electrode of each point, m
    species: str = ""  # profile: the species measured
    column: int = -1  # profile: its column in Result.profiles (Simulator.species order)
    left_out: tuple[str, ...] = ()  # the dropped rows and why, one phrase per reason
    #                                 ("rows 204-206 past the end of the programme at 0.45 V")

    @property
    def I(self) -> np.ndarray:  # noqa: E743
        """The measured current (current data only)."""
        if self.observable != "I":
            raise AttributeError(f"{self.source}: the data are not a current but {self.what}")
        return self.y

    @property
    def what(self) -> str:
        """What the data measure, in words: 'current', 'potential' or 'concentration of O'."""
        return {"I": "current", "E": "potential", "v": "solvent velocity"}.get(
            self.observable, f"concentration of {self.species}")

    def __len__(self) -> int:
        return len(self.y)


def left_out_sentence(dataset: Dataset) -> str:
    """One plain sentence saying which rows of ``dataset`` were left out and why, or ``""``
    when none were: ``"slow.csv (experiment 'slow'): 3 of 204 rows left out, outside the
    experiment's programme: rows 202-204 past the end of the programme at 0.45 V."``"""
    n = len(dataset.dropped)
    if not n:
        return ""
    arrays = dataset.source == _ARRAYS
    where = (f"the data of experiment '{dataset.experiment}'" if arrays
             else f"{dataset.source} (experiment '{dataset.experiment}')")
    unit = "point" if arrays else "row"
    why = "; ".join(dataset.left_out) or _ranges(list(dataset.dropped), unit)
    return (f"{where}: {n} of {n + len(dataset)} {unit}s left out, outside the experiment's "
            f"programme: {why}.")


# -- reading -----------------------------------------------------------------------------


def _fail(message: str, file: str, line: int = 0, column: int = 0, *notes: str):
    raise DataError(error(message, Span(file, line, column), *notes))


def _read_text(path: Path, shown: str) -> str:
    try:
        with open(path, "rb") as f:  # read-only, never written
            raw = f.read()
    except FileNotFoundError:
        _fail("no such data file", shown)
    except IsADirectoryError:
        _fail("is a folder, not a data file", shown)
    except OSError as e:
        _fail(f"cannot read the data file: {e.strerror or e}", shown)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    _fail("cannot decode the data file as text", shown)  # pragma: no cover (latin-1 always decodes)


def _separator(header: str) -> str | None:
    for sep in (",", ";", "\t"):
        if sep in header:
            return sep
    return None  # whitespace


def _split_line(line: str, sep: str | None) -> list[tuple[str, int]]:
    """Cells of a line with their 1-based columns (quotes and surrounding spaces removed)."""
    cells = []
    if sep is None:
        for m in re.finditer(r"\S+", line):
            cells.append((m.group().strip("\"'"), m.start() + 1))
        return cells
    pos = 0
    for part in line.split(sep):
        stripped = part.strip()
        col = pos + (len(part) - len(part.lstrip())) + 1
        cells.append((stripped.strip("\"'").strip(), col))
        pos += len(part) + len(sep)
    return cells


def _merge_unit_tokens(cells: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Whitespace-separated headers: ``E [mV] I [uA]`` -> ``E [mV]``, ``I [uA]``."""
    out: list[tuple[str, int]] = []
    for text, col in cells:
        if out and (text[:1] in "[(/" or out[-1][0].endswith("/")):
            out[-1] = (out[-1][0] + " " + text, out[-1][1])
        else:
            out.append((text, col))
    return out


_HEADER = re.compile(r"^\s*(?P<name>[^\[\(/]*?)\s*(?:[\[\(](?P<u1>[^\]\)]*)[\]\)]|/\s*(?P<u2>.+?))?\s*$")


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _header_column(text: str, file: str, line: int, col: int,
                   species=()) -> tuple[str | None, float, float]:
    """(canonical name -- or a species' name -- or None for an unknown column, SI scale, SI offset)."""
    m = _HEADER.match(text)
    if not m:
        return None, 1.0, 0.0
    raw = m.group("name").strip()
    name = _ALIASES.get(raw.lower())
    if name is None and raw in species:
        name = raw
    if name is None:
        return None, 1.0, 0.0
    dim, what = (_DIMS[name], _WHAT[name]) if name in _DIMS else (CONCENTRATION, f"concentration of {name}")
    unit_text = (m.group("u1") if m.group("u1") is not None else m.group("u2") or "").strip()
    unit_text = re.split(r"\s+vs\.?\s+", unit_text)[0].strip()  # "V vs SCE": the reference is not a unit
    if not unit_text:
        return name, 1.0, 0.0
    try:
        info = parse_unit(unit_text)
    except UnitError as e:
        _fail(f"column '{text}': {e}", file, line, col)
    if info.dim != dim:
        hint = ""
        if name == "I" and info.dim == _DIMS["j"]:
            hint = "; a current density goes in a column named j (converted with the experiment's area)"
        elif name == "j" and info.dim == _DIMS["I"]:
            hint = "; a current goes in a column named I"
        _fail(f"column '{text}': '{unit_text}' is a unit of {dimension_name(info.dim)}, "
              f"but {name} is a {what} ({dimension_name(dim)}){hint}", file, line, col)
    return name, float(info.scale), float(info.offset)


def _read(path, shown: str | None = None, species=()) -> tuple[dict[str, np.ndarray], np.ndarray, str, dict]:
    """Columns (SI) by canonical name (a species column by the species' name), the line
    number of each data row, the file's name, and the header: ``{"line": n, "columns":
    {name: column}, "unknown": [(text, column), ...]}``."""
    path = Path(path)
    file = shown or str(path)
    text = _read_text(path, file)
    lines = [(n, ln) for n, ln in enumerate(text.splitlines(), start=1)
             if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        _fail("the data file is empty: it needs a header such as 'E,I' and rows of numbers", file)
    head_no, head = lines[0]
    sep = _separator(head)
    head_cells = _split_line(head, sep)
    if sep is None:
        head_cells = _merge_unit_tokens(head_cells)
    if all(_is_number(c) for c, _ in head_cells if c):
        _fail("the file has no header: its first row holds numbers; add a first line naming the columns, "
              "such as 'E,I' (a sweep) or 't,I' (a transient), with units in brackets if not SI ('E [mV]')",
              file, head_no, 1)
    columns: dict[str, tuple[int, float, float, int]] = {}  # name -> (cell index, scale, offset, col)
    unknown = []
    for k, (cell, col) in enumerate(head_cells):
        name, scale, offset = _header_column(cell, file, head_no, col, species)
        if name is None:
            if cell:
                unknown.append((cell, col))
            continue
        if name in columns:
            _fail(f"column {name} appears twice in the header", file, head_no, col)
        columns[name] = (k, scale, offset, col)
    if not columns:
        found = ", ".join(f"'{c}'" for c, _ in head_cells)
        _fail(f"the header names no known column ({found}); expected E (potential), I (current), "
              f"t (time) or j (current density), e.g. 'E,I' or 'E [mV],I [uA]'", file, head_no, 1)
    n_head = len(head_cells)
    values = {name: [] for name in columns}
    rows = []
    for line_no, line in lines[1:]:
        cells = _split_line(line, sep)
        if len(cells) < n_head:
            _fail(f"row {line_no} has {len(cells)} value{'s' * (len(cells) != 1)}, "
                  f"the header names {n_head} columns", file, line_no, 1)
        extra = [c for c, _ in cells[n_head:] if c]
        if extra:
            _fail(f"row {line_no} has {len(cells)} values, the header names {n_head} columns",
                  file, line_no, cells[n_head][1])
        for name, (k, scale, offset, _) in columns.items():
            cell, col = cells[k]
            try:
                v = float(cell)
            except ValueError:
                v = None
                if sep == ";" and "," in cell:  # a decimal comma
                    try:
                        v = float(cell.replace(",", "."))
                    except ValueError:
                        pass
                if v is None:
                    what = "an empty cell" if not cell else f"'{cell}' is not a number"
                    _fail(f"row {line_no}, column {name}: {what}", file, line_no, col)
            if not math.isfinite(v):
                _fail(f"row {line_no}, column {name}: {cell} is not a finite number", file, line_no, col)
            values[name].append(v * scale + offset)
        rows.append(line_no)
    if not rows:
        _fail("the data file has a header but no rows of numbers", file, head_no, 1)
    header = {"line": head_no, "columns": {name: c[3] for name, c in columns.items()}, "unknown": unknown}
    return {k: np.asarray(v, dtype=float) for k, v in values.items()}, np.asarray(rows, dtype=int), file, header


def read_table(path) -> dict[str, np.ndarray]:
    """The columns of a data file by canonical name (``"E"``, ``"I"``, ``"t"``, ``"j"``), in SI.

    ``j`` stays a current density (A/m^2); :func:`load_dataset` turns it into a current.

    Raises:
        DataError: an unreadable or empty file, no header, a unit of the wrong dimension,
            a non-numeric, empty, NaN or infinite cell; the message names the file, the row
            (its line number) and the column.
    """
    return _read(path)[0]


def _from_arrays(source: Mapping, species=()) -> tuple[dict[str, np.ndarray], np.ndarray, str, dict]:
    columns = {}
    source = dict(source)
    measured = source.pop("species", None)  # profiles: {"t", "x", "c", "species": name}
    if measured is not None and "c" not in source:
        raise DataError(error(f"{_ARRAYS}: 'species' names the species of a column 'c', which is missing"))
    unknown = []
    for key, value in source.items():
        if key == "c" and measured is not None:
            name = str(measured)
            if name not in species:
                unknown.append((name, 0))
                continue
        elif str(key) in species:
            name = str(key)
        else:
            name = _ALIASES.get(str(key).strip().lower())
        if name is None:
            raise DataError(error(f"{_ARRAYS}: unknown column '{key}'; expected E, I, t, j, x, v or "
                                  f"c with species (SI)"))
        arr = np.asarray(value, dtype=float).reshape(-1)
        columns[name] = arr
    sizes = {len(v) for v in columns.values()}
    if len(sizes) > 1:
        raise DataError(error(f"{_ARRAYS}: the columns differ in length "
                              f"({', '.join(f'{k}: {len(v)}' for k, v in columns.items())})"))
    for name, arr in columns.items():
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise DataError(error(
                f"{_ARRAYS}: point {bad[0] + 1}, column {name}: {arr[bad[0]]} is not a finite number"))
    n = sizes.pop() if sizes else 0
    header = {"line": 0, "columns": {name: 0 for name in columns}, "unknown": unknown}
    return columns, np.arange(1, n + 1), _ARRAYS, header


# -- alignment ---------------------------------------------------------------------------


def _fmt_v(v: float) -> str:
    return f"{v:.6g} V"


def _programme_text(technique: str, corners) -> str:
    return f"{technique} " + " -> ".join(_fmt_v(c) for c in corners)


def _ranges(rows, unit: str = "row") -> str:
    rows = sorted(rows)
    parts, start, prev = [], rows[0], rows[0]
    for r in rows[1:]:
        if r == prev + 1:
            prev = r
            continue
        parts.append((start, prev))
        start = prev = r
    parts.append((start, prev))
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in parts[:6])
    if len(parts) > 6:
        text += ", ..."
    return (f"{unit} " if len(rows) == 1 else f"{unit}s ") + text


def _left_out_notes(reasons: dict[str, list[int]]) -> list[str]:
    notes = []
    for reason, rows in reasons.items():
        n = len(rows)
        notes.append(f"{n} point{'s' * (n != 1)} {reason} left out ({_ranges(rows)})")
    return notes


def _left_out_phrases(reasons: dict[str, list[int]], unit: str = "row") -> list[str]:
    """``["rows 202-206 past the end of the programme at 0.45 V", ...]``."""
    return [f"{_ranges(rows, unit)} {reason}" for reason, rows in reasons.items()]


def _runs(E: np.ndarray, r: float, r_end: float) -> list[tuple[int, int, int]]:
    """Monotone runs (first, last, direction +1/-1/0) of a recording, turning with hysteresis:
    a turn is taken once the potential has moved back by more than ``r`` from the extreme,
    which ends the run; a shorter retreat by more than ``r_end`` at the very end also counts."""
    n = len(E)
    d = 0
    ext = 0
    for i in range(1, n):
        if abs(E[i] - E[0]) > r:
            d = 1 if E[i] > E[0] else -1
            break
    if d == 0:
        return [(0, n - 1, 0)]
    runs = []
    start = 0
    ext = start + int(np.argmax(d * E[: i + 1]))
    for i in range(i + 1, n):
        if d * (E[i] - E[ext]) > 0:
            ext = i
        elif d * (E[ext] - E[i]) > r:
            runs.append((start, ext, d))
            start, d = ext + 1, -d
            ext = start + int(np.argmax(d * E[start: i + 1]))
    if ext < n - 1 and d * (E[ext] - E[n - 1]) > r_end:
        runs.append((start, ext, d))
        runs.append((ext + 1, n - 1, -d))
    else:
        runs.append((start, n - 1, d))
    return runs


@dataclass
class _Leg:
    direction: int  # +1 / -1
    segments: list  # programme segment indices (non-degenerate), in order
    a: float  # potential where the leg starts
    b: float  # potential where it ends
    bounds: np.ndarray  # progress (V from a) at the end of each segment


def _legs(corners) -> list[_Leg]:
    legs: list[_Leg] = []
    for k, (a, b) in enumerate(zip(corners[:-1], corners[1:])):
        if abs(b - a) < 1e-12:
            continue
        d = 1 if b > a else -1
        if legs and legs[-1].direction == d:
            leg = legs[-1]
            leg.segments.append(k)
            leg.b = b
            leg.bounds = np.append(leg.bounds, abs(b - leg.a))
        else:
            legs.append(_Leg(d, [k], a, b, np.array([abs(b - a)])))
    return legs


def _millivolt_hint(E: np.ndarray, corners, file: str) -> str:
    """`` (is the potential column in the right unit? ...)`` when the potentials read as
    millivolts would follow the programme: they span far more than it does, and divided by
    1000 they lie in its range.  Otherwise ``""``."""
    lo, hi = min(corners), max(corners)
    span = hi - lo
    if not span > 0 or not np.ptp(E) > 20.0 * span:
        return ""
    slack = 0.1 * span + 0.01
    inside = np.mean((E * 1e-3 >= lo - slack) & (E * 1e-3 <= hi + slack))
    if inside < 0.9:
        return ""
    fix = ("give the arrays in volts (SI)" if file == _ARRAYS
           else "write the unit in the header, e.g. 'E [mV]'")
    return f" (is the potential column in the right unit? the values look like millivolts: {fix})"


def _align_sweep(E: np.ndarray, rows: np.ndarray, file: str, technique: str, corners) -> tuple:
    """(kept indices, segment of each, dropped rows, notes)."""
    n = len(E)
    programme = _programme_text(technique, corners)

    unit_hint = _millivolt_hint(E, corners, file)

    def not_following(why: str, row: int):
        line = row if file != _ARRAYS else 0
        where = f"row {row}" if file != _ARRAYS else f"point {row}"
        _fail(f"{where}: the recording does not follow the experiment's potential programme ({programme}): "
              f"{why}{unit_hint}", file, line, 1 if line else 0)

    legs = _legs(corners)
    if not legs:
        not_following("the programme does not sweep (all its corners are equal)", int(rows[0]))
    steps = np.abs(np.diff(E))
    steps = steps[steps > 1e-9]
    h = float(np.median(steps)) if steps.size else 0.0
    tol = 1e-6 + 0.5 * h
    r = max(2e-3, 3.0 * h)  # a turn in the middle of the data
    r_end = min(r, max(1e-6 + h, 2.0 * tol))  # a retreat at the very end of the data

    def far(span: float) -> float:
        return max(2.0 * tol, min(0.05 * span, 0.02))

    # The start.
    leg0 = legs[0]
    span0 = abs(corners[1] - corners[0]) if abs(corners[1] - corners[0]) > 1e-12 else abs(leg0.b - leg0.a)
    if abs(E[0] - corners[0]) > far(span0):
        not_following(f"the data start at {_fmt_v(E[0])}, the programme at E_start = {_fmt_v(corners[0])}",
                      int(rows[0]))
    runs = _runs(E, r, r_end)
    if runs[0][2] not in (0, leg0.direction):
        first_move = next(i for i in range(n) if abs(E[i] - E[0]) > r)
        going = "up" if runs[0][2] > 0 else "down"
        not_following(f"the data go {going} from {_fmt_v(E[0])}, the programme goes "
                      f"{'up' if leg0.direction > 0 else 'down'} to {_fmt_v(leg0.b)}", int(rows[first_move]))

    kept, segment = [], []
    reasons: dict[str, list[int]] = {}

    def drop(i: int, reason: str):
        reasons.setdefault(reason, []).append(int(rows[i]))

    for j, (first, last, _) in enumerate(runs):
        if j >= len(legs):
            for i in range(first, last + 1):
                drop(i, "after the end of the programme")
            continue
        leg = legs[j]
        L = float(leg.bounds[-1])
        is_last_leg = j == len(legs) - 1
        # A turn well before the vertex: the data's programme is not this one.
        if j < len(runs) - 1 and not is_last_leg:
            if leg.direction * (leg.b - E[last]) > far(L):
                not_following(f"the data turn at {_fmt_v(E[last])}, before the vertex at {_fmt_v(leg.b)}",
                              int(rows[last]))
            # A few points past a vertex are a recording's overrun; far past it, the data's
            # return sweep runs at other times than the programme's.
            if leg.direction * (E[last] - leg.b) > max(far(L), 10.0 * h):
                not_following(f"the data turn at {_fmt_v(E[last])}, far past the vertex at {_fmt_v(leg.b)}",
                              int(rows[last]))
        for i in range(first, last + 1):
            p = leg.direction * (E[i] - leg.a)
            if p < -tol:
                drop(i, "before the start of the programme" if j == 0 else f"past the vertex at {_fmt_v(leg.a)}")
            elif p > L + tol:
                drop(i, f"past the end of the programme at {_fmt_v(leg.b)}" if is_last_leg
                     else f"past the vertex at {_fmt_v(leg.b)}")
            else:
                s = min(int(np.searchsorted(leg.bounds, p - tol, side="left")), len(leg.segments) - 1)
                kept.append(i)
                segment.append(leg.segments[s])
    dropped = sorted(r_ for rs in reasons.values() for r_ in rs)
    if len(kept) < 0.5 * n:
        not_following(f"only {len(kept)} of {n} points lie on it", dropped[0])
    notes = []
    if len(runs) < len(legs):
        last = runs[-1][1]
        notes.append(f"the data end at {_fmt_v(E[last])} (row {int(rows[last])}), before the end of the "
                     f"programme: the rest of it has no data")
    return np.asarray(kept, dtype=int), np.asarray(segment, dtype=int), tuple(dropped), reasons, notes


def _align_transient(t: np.ndarray, rows: np.ndarray, file: str, duration: float, technique: str = "ca") -> tuple:
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        line = int(rows[i]) if file != _ARRAYS else 0
        where = f"row {rows[i]}" if file != _ARRAYS else f"point {rows[i]}"
        _fail(f"{where}: time must increase from row to row (t = {t[i]:.6g} s after {t[i - 1]:.6g} s)",
              file, line, 1 if line else 0)
    eps = 1e-9 * max(duration, 1e-300)
    reasons: dict[str, list[int]] = {}
    keep = np.ones(len(t), bool)
    for i, ti in enumerate(t):
        if ti < -eps:
            reasons.setdefault("before t = 0", []).append(int(rows[i]))
            keep[i] = False
        elif ti > duration + eps:
            reasons.setdefault(f"after the end of the experiment (t > {duration:.6g} s)", []).append(int(rows[i]))
            keep[i] = False
    dropped = tuple(sorted(r for rs in reasons.values() for r in rs))
    if keep.sum() < 0.5 * len(t):
        line = dropped[0] if file != _ARRAYS else 0
        _fail(f"the recording does not follow the experiment ({technique}, duration {duration:.6g} s): "
              f"only {int(keep.sum())} of {len(t)} points lie within 0 <= t <= duration "
              f"(is the time column in the right unit?)",
              file, line, 1 if line else 0)
    return np.flatnonzero(keep), dropped, reasons


def _align_polarization(E: np.ndarray, rows: np.ndarray, file: str, E_start: float, E_end: float) -> tuple:
    lo, hi = min(E_start, E_end), max(E_start, E_end)
    eps = 1e-9 * max(hi - lo, 1e-3)
    keep = (E >= lo - eps) & (E <= hi + eps)
    reasons: dict[str, list[int]] = {}
    for i in np.flatnonzero(~keep):
        reasons.setdefault(f"outside the potential range {_fmt_v(lo)} .. {_fmt_v(hi)}", []).append(int(rows[i]))
    dropped = tuple(sorted(r for rs in reasons.values() for r in rs))
    if keep.sum() < 0.5 * len(E):
        line = dropped[0] if file != _ARRAYS else 0
        _fail(f"the data do not follow the experiment (polarization, {_fmt_v(lo)} .. {_fmt_v(hi)}): only "
              f"{int(keep.sum())} of {len(E)} points lie in that range (is the potential column in the right unit?)",
              file, line, 1 if line else 0)
    return np.flatnonzero(keep), dropped, reasons


# -- loading -----------------------------------------------------------------------------


def load_dataset(source, experiment: ir.Experiment, settings: Mapping[str, float], species=(),
                 surface=(), domain=None, potential: bool = True) -> Dataset:
    """Read and align the data of one experiment.

    Arguments:
        source: a CSV path (str or Path; opened read-only), or a mapping of SI arrays
            (``{"E": ..., "I": ...}`` for a sweep, ``{"t": ..., "I": ...}`` for a transient,
            ``{"t": ..., "E": ...}`` for the potential of a galvanostatic experiment,
            ``{"t": ..., "x": ..., "c": ..., "species": "O"}`` for concentration profiles;
            ``j`` in A/m^2 instead of ``I`` is converted with the area).
        experiment: the experiment the data belong to.
        settings: its settings in SI by key (``E_start``, ``E_vertex``, ``E_end``,
            ``scan_rate``, ``area``, ``duration``, ...), and ``cycles`` (defaults to
            ``experiment.cycles``).
        species: the model's species in ``Simulator.species`` order (for profile data),
            ``surface`` those of them that are surface species (they have no profile).
        domain: for profile data, a function returning the length of the simulated
            domain (m); called only when profile data are read.
        potential: whether the simulation computes a potential (``ir.Model.computes_potential``:
            not ``transport concentrated`` without the salt's conductivity).

    Returns:
        A :class:`Dataset` of the points that lie on the programme.

    Raises:
        DataError: a malformed file, missing columns, too few points, data on a quantity
            the technique does not compute, or data that do not follow the experiment's
            programme; the message names the file and row.
    """
    from mechlang.experiments.base import get as waveform

    dissolved = tuple(s for s in species if s not in surface)
    if isinstance(source, Mapping):
        columns, rows, file, header = _from_arrays(source, dissolved)
    else:
        columns, rows, file, header = _read(source, str(source), dissolved)
    technique = experiment.technique
    if technique in SWEEPS:
        kind, xname = "sweep", "E"
    elif technique in TRANSIENTS:
        kind, xname = "transient", "t"
    elif technique in STEADY:
        kind, xname = "polarization", "E"
    else:
        raise DataError(error(f"{file}: data for a '{technique}' experiment ('{experiment.name}') "
                              f"cannot be compared yet; supported: {', '.join(SWEEPS + TRANSIENTS + STEADY)}"))
    measured = [c for c in columns if c in dissolved]
    if "v" in columns:
        return _load_velocity(columns, rows, file, header, experiment, settings, domain)
    if "x" in columns or measured:
        return _load_profile(columns, rows, file, header, experiment, settings, species, dissolved,
                             surface, domain)
    computed = waveform(technique).computed
    given = [c for c in ("I", "E") if c != xname and (c in columns or (c == "I" and "j" in columns))]
    observable = next((c for c in computed if c in given), computed[0])
    if observable == "E" and "E" in columns and not potential:
        col = header["columns"].get("E", 0)
        line = header["line"]
        raise DataError(error(
            f"column E: experiment '{experiment.name}' ({technique} in a symmetric cell, 'transport "
            f"concentrated') computes no potential without the salt's conductivity (its E is always 0): "
            f"potential data cannot be fitted", Span(file, line, col if line else 0),
            "give the salt 'kappa = ...' (and 'tdf = ...') for the cell's potential, or fit its "
            "concentration profiles (t,x,SPECIES) or solvent velocities (t,x,v)"))
    if given and observable not in given:
        name = given[0]
        col = header["columns"].get(name, header["columns"].get("j", 0))
        line = header["line"]
        raise DataError(error(
            f"column {name}: the {_WHAT[name]} of a {technique} experiment ('{experiment.name}') is applied, "
            f"not computed: data on it cannot be fitted", Span(file, line, col if line else 0),
            f"a {technique} experiment computes the {' and '.join(_WHAT[c] for c in computed)}"))
    need = f"{xname} and {observable}"
    missing = [c for c in (xname, observable) if c not in columns and not (c == "I" and "j" in columns)]
    if missing:
        have = ", ".join(columns) or "none"
        raise DataError(error(
            f"the data need columns {need} for a {technique} experiment ('{experiment.name}'); "
            f"missing: {', '.join(missing)} (found: {have})", Span(file),
            "the columns needed: E and I for a cv, lsv or polarization, t and I for a ca, t and E for a "
            "galvanostatic experiment, t, x and a species for concentration profiles "
            "(a current density may be given as j, with the experiment's area)"))
    notes: list[str] = []
    if observable == "E":
        value = columns["E"]
        if "I" in columns or "j" in columns:
            notes.append(f"column {'I' if 'I' in columns else 'j'} not used: the current of a {technique} "
                         "experiment is applied")
    elif "I" in columns:
        value = columns["I"]
        if "j" in columns:
            notes.append("column j not used: the current is taken from column I")
    else:
        area = settings.get("area")
        if area is None or not float(area) > 0:
            raise DataError(error(f"{file}: column j (current density) needs the experiment's area",
                                  Span(file)))
        value = columns["j"] * float(area)
    if len(rows) < _MIN_POINTS:
        raise DataError(error(f"too few points: {len(rows)} (at least {_MIN_POINTS} needed)", Span(file)))
    cycles = int(settings.get("cycles", experiment.cycles))
    if kind == "sweep":
        from mechlang.experiments.sweep import corners as sweep_corners

        corners = [float(c) for c in sweep_corners(technique, {**settings, "cycles": cycles})]
        E = columns["E"]
        kept, segment, dropped, reasons, more = _align_sweep(E, rows, file, technique, corners)
        if "t" in columns:
            more.append("column t not used: sweep data are matched by potential and sweep direction")
        x = E[kept]
    elif kind == "polarization":
        E = columns["E"]
        kept, dropped, reasons = _align_polarization(E, rows, file, float(settings["E_start"]),
                                                     float(settings["E_end"]))
        more = []
        segment = np.zeros(len(kept), dtype=int)
        if "t" in columns:
            more.append("column t not used: polarization data are matched by potential")
        x = E[kept]
    else:
        t = columns["t"]
        kept, dropped, reasons = _align_transient(t, rows, file, float(settings["duration"]), technique)
        more = []
        segment = np.zeros(len(kept), dtype=int)
        x = t[kept]
    return Dataset(
        experiment=experiment.name,
        source=file,
        kind=kind,
        x=np.asarray(x, dtype=float),
        segment=np.asarray(segment, dtype=int),
        y=np.asarray(value[kept], dtype=float),
        rows=np.asarray(rows[kept], dtype=int),
        dropped=tuple(int(r) for r in dropped),
        notes=tuple(_left_out_notes(reasons) + more + notes),
        observable=observable,
        left_out=tuple(_left_out_phrases(reasons, "point" if file == _ARRAYS else "row")),
    )


def _check_points(t, x, rows, file, duration, domain, run, origin, region) -> None:
    """Every point of a (t, x) data set inside the run (0 < t <= duration) and inside the
    simulated region (0 <= x <= its length, ``domain()`` when given); else an error naming
    the row.  ``run``, ``origin`` and ``region`` word the messages."""
    def bad_row(i: int, message: str):
        row = int(rows[i])
        where = f"row {row}" if file != _ARRAYS else f"point {row}"
        _fail(f"{where}: {message}", file, row if file != _ARRAYS else 0, 1 if file != _ARRAYS else 0)

    for i in range(len(rows)):
        if not (t[i] > 0 and t[i] <= duration * (1 + 1e-9)):
            bad_row(i, f"t = {t[i]:.6g} s is outside {run}0 < t <= {duration:.6g} s); "
                       "is the time column in the right unit?")
        if x[i] < 0:
            bad_row(i, f"x = {x[i]:.6g} m is negative: x is the distance from {origin}")
    if domain is not None:
        length = float(domain())
        far = np.flatnonzero(x > length * (1 + 1e-9))
        if far.size:
            bad_row(int(far[0]), f"x = {x[far[0]]:.6g} m is beyond {region} (0 .. {length:.6g} m); "
                                 "is the position column in the right unit?")


def _load_profile(columns, rows, file, header, experiment, settings, species, dissolved, surface,
                  domain) -> Dataset:
    """Concentration profiles ``t, x, SPECIES`` of a transient experiment."""
    technique = experiment.technique
    line = header["line"]

    def at_header(message: str, col: int, *notes: str):
        raise DataError(error(message, Span(file, line, col if line else 0), *notes))

    listed = f"dissolved species of the model: {', '.join(dissolved) or 'none'}"
    if technique not in TRANSIENTS:
        at_header(f"concentration profiles need a transient experiment ('{experiment.name}' is a {technique})", 1)
    measured = [c for c in columns if c in dissolved]
    if not measured:
        for text, col in header["unknown"]:
            name = _HEADER.match(text).group("name").strip() if _HEADER.match(text) else text
            why = "a surface species (it has no profile)" if name in surface else "not a dissolved species"
            at_header(f"column '{text}': {why} of the model; {listed}", col)
        at_header(f"profile data need a column of concentrations named after a species; {listed}", 1)
    if len(measured) > 1:
        at_header(f"profile data hold one species; this one has columns {', '.join(measured)} "
                  "(give each species its own data set)", header["columns"][measured[1]])
    for need in ("t", "x"):
        if need not in columns:
            at_header(f"profile data need columns t, x and {measured[0]}; missing: {need} "
                      f"(found: {', '.join(columns)})", 1)
    if len(rows) < _MIN_POINTS:
        raise DataError(error(f"too few points: {len(rows)} (at least {_MIN_POINTS} needed)", Span(file)))
    name = measured[0]
    t, x, c = columns["t"], columns["x"], columns[name]
    _check_points(t, x, rows, file, float(settings["duration"]), domain, f"the run ({technique}, ",
                  "the electrode", "the simulated domain")
    notes = [f"column {k} not used: profile data compare {name} at (t, x)" for k in columns
             if k not in ("t", "x", name)]
    return Dataset(
        experiment=experiment.name,
        source=file,
        kind="profile",
        x=np.asarray(t, dtype=float),
        segment=np.zeros(len(rows), dtype=int),
        y=np.asarray(c, dtype=float),
        rows=np.asarray(rows, dtype=int),
        dropped=(),
        notes=tuple(notes),
        observable="c",
        position=np.asarray(x, dtype=float),
        species=name,
        column=list(species).index(name),
    )


def _load_velocity(columns, rows, file, header, experiment, settings, domain) -> Dataset:
    """Solvent velocities ``t, x, v`` of a symmetric cell (``transport concentrated``)."""
    line = header["line"]
    if experiment.geometry != "symmetric_cell":
        raise DataError(error(
            f"solvent velocity data need an experiment that computes the solvent's velocity ('transport "
            f"concentrated', a symmetric cell); '{experiment.name}' does not",
            Span(file, line, header["columns"]["v"] if line else 0)))
    for need in ("t", "x"):
        if need not in columns:
            raise DataError(error(f"solvent velocity data need columns t, x and v; missing: {need} "
                                  f"(found: {', '.join(columns)})", Span(file, line, 1 if line else 0)))
    if len(rows) < _MIN_POINTS:
        raise DataError(error(f"too few points: {len(rows)} (at least {_MIN_POINTS} needed)", Span(file)))
    t, x, v = columns["t"], columns["x"], columns["v"]
    _check_points(t, x, rows, file, float(settings["duration"]), domain, "the run (", "the left electrode",
                  "the cell")
    notes = [f"column {k} not used: velocity data compare v at (t, x)" for k in columns if k not in ("t", "x", "v")]
    return Dataset(experiment=experiment.name, source=file, kind="velocity", x=np.asarray(t, dtype=float),
                   segment=np.zeros(len(rows), dtype=int), y=np.asarray(v, dtype=float),
                   rows=np.asarray(rows, dtype=int), dropped=(), notes=tuple(notes), observable="v",
                   position=np.asarray(x, dtype=float))


# -- prediction --------------------------------------------------------------------------


def _predict_profile(dataset: Dataset, result):
    import jax
    import jax.numpy as jnp

    if dataset.kind == "velocity":
        P = result.velocity  # (steps, grid)
    elif result.profiles.shape[0] == 0:
        raise ValueError("predict: profile data need a simulator compiled with profiles=True")
    else:
        P = result.profiles[..., dataset.column]  # (steps, grid)
    t = result.t
    tq, xq = jnp.asarray(dataset.x), jnp.asarray(dataset.position)
    j = jnp.clip(jnp.searchsorted(t, tq), 1, t.shape[0] - 1)
    w = jnp.clip((tq - t[j - 1]) / (t[j] - t[j - 1]), 0.0, 1.0)
    at_t = (1.0 - w)[:, None] * P[j - 1] + w[:, None] * P[j]  # (points, grid)
    return jax.vmap(jnp.interp, in_axes=(0, None, 0))(xq, result.x, at_t)


def predict(dataset: Dataset, result, plan=None):
    """The simulated observable at the dataset's points (SI), in the dataset's order.

    Sweeps: within each programme segment k -- result steps ``sum(plan[:k])`` up to
    ``sum(plan[:k+1])``, with ``plan`` the simulator's step counts per segment
    (``sim._transient.plan``) -- the current is interpolated linearly against the
    potential.  Each segment starts at its corner: the last step of the previous segment
    (for the first segment, E_start extrapolated from the first two steps, with the first
    step's current), so points between a corner and the first step are covered.
    Transients: linear interpolation in time; points before the first simulated time take
    the first step's current (the current at t = 0 itself is not simulated).
    Polarization: linear interpolation against the potential (``plan`` not needed).
    The observable is the dataset's: ``Result.I`` or, for potential data, ``Result.E``.
    Profiles: ``Result.profiles`` (the simulator compiled with ``profiles=True``) of the
    dataset's species, interpolated linearly in time between the steps around each point
    (before the first step, the first step's profile) and then linearly in x on the grid.

    Pure JAX in ``result``: differentiable, and safe under ``jax.jit`` and ``jax.vmap``
    (the dataset and the plan are static).
    """
    import jax.numpy as jnp

    if dataset.kind == "transient":
        return jnp.interp(jnp.asarray(dataset.x), result.t, result.E if dataset.observable == "E" else result.I)
    if dataset.kind in ("profile", "velocity"):
        return _predict_profile(dataset, result)
    if dataset.kind == "polarization":  # evenly spaced potentials, either direction
        rising = result.E[-1] >= result.E[0]
        xp = jnp.where(rising, result.E, result.E[::-1])
        fp = jnp.where(rising, result.I, result.I[::-1])
        return jnp.interp(jnp.asarray(dataset.x), xp, fp)
    if plan is None:
        raise ValueError("predict: a sweep needs the simulator's plan (step counts per segment)")
    plan = tuple(int(p) for p in plan)
    n_steps = result.E.shape[-1]
    if sum(plan) != n_steps:
        raise ValueError(f"predict: the plan has {sum(plan)} steps, the result {n_steps}")
    if dataset.segment.size and int(dataset.segment.max()) >= len(plan):
        raise ValueError(f"predict: the data reach segment {int(dataset.segment.max())}, "
                         f"the plan has {len(plan)} segments")
    offsets = np.concatenate([[0], np.cumsum(plan)])
    E_all, I_all = result.E, result.I
    parts, order = [], []
    for k in np.unique(dataset.segment):
        k = int(k)
        idx = np.flatnonzero(dataset.segment == k)
        lo, hi = int(offsets[k]), int(offsets[k + 1])
        E_seg, I_seg = E_all[lo:hi], I_all[lo:hi]
        if lo > 0:
            E0, I0 = E_all[lo - 1], I_all[lo - 1]
        elif hi - lo >= 2:
            E0, I0 = 2.0 * E_all[0] - E_all[1], I_all[0]
        else:
            E0, I0 = None, None
        if E0 is not None:
            E_seg = jnp.concatenate([E0[None], E_seg])
            I_seg = jnp.concatenate([I0[None], I_seg])
        x = jnp.asarray(dataset.x[idx])
        # Segments are monotone in E; interp wants ascending abscissae.
        rising = E_seg[-1] >= E_seg[0]
        xp = jnp.where(rising, E_seg, E_seg[::-1])
        fp = jnp.where(rising, I_seg, I_seg[::-1])
        parts.append(jnp.interp(x, xp, fp))
        order.append(idx)
    if not parts:
        return jnp.zeros((0,), dtype=E_all.dtype)
    order = np.concatenate(order)
    out = jnp.concatenate(parts)
    return out[np.argsort(order, kind="stable")]
