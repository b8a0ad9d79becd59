"""Diagnostics and the exception classes of each stage.

Every error a user can cause is a :class:`MechError` carrying one or more
:class:`Diagnostic` s.  The CLI prints them as ``FILE:LINE:COL: error: ...``
followed by the offending source line and a caret, and exits with status 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """Where a piece of input came from (1-based line and column)."""

    file: str
    line: int = 0
    column: int = 0
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    message: str
    span: Span | None = None
    severity: str = "error"  # "error" | "warning"
    notes: tuple[str, ...] = field(default_factory=tuple)

    def format(self, with_context: bool = True) -> str:
        where = f"{self.span}: " if self.span is not None else ""
        text = f"{where}{self.severity}: {self.message}"
        if with_context and self.span is not None and self.span.line:
            context = source_context(self.span)
            if context:
                text += "\n" + context
        for note in self.notes:
            text += f"\n  note: {note}"
        return text


def source_context(span: Span) -> str:
    """The source line of ``span`` with a caret under the column."""
    try:
        lines = Path(span.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return ""
    if not 1 <= span.line <= len(lines):
        return ""
    line = lines[span.line - 1]
    width = 1
    if span.end_line == span.line and span.end_column > span.column:
        width = span.end_column - span.column
    caret = " " * max(span.column - 1, 0) + "^" * width
    return f"  {span.line:4d} | {line}\n       | {caret}"


class MechError(Exception):
    """Base class of every error a user can cause."""

    def __init__(self, diagnostics, message: str | None = None):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics = tuple(diagnostics)
        super().__init__(message or "\n".join(d.format(False) for d in self.diagnostics))

    def format(self) -> str:
        return "\n".join(d.format() for d in self.diagnostics)


class MechSyntaxError(MechError):
    """The text does not follow the grammar."""


class ModelError(MechError):
    """Names, units, balances, imports: the file parses but does not make sense."""


class SolverError(MechError):
    """A simulation failed: Newton did not converge, NaN, negative concentrations."""


class DataError(MechError):
    """User data (CSV files, --set values) is malformed."""


def error(message: str, span: Span | None = None, *notes: str) -> Diagnostic:
    return Diagnostic(message, span, "error", tuple(notes))


def warning(message: str, span: Span | None = None, *notes: str) -> Diagnostic:
    return Diagnostic(message, span, "warning", tuple(notes))


def did_you_mean(name: str, candidates) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""``."""
    import difflib

    candidates = [c for c in dict.fromkeys(candidates) if c != name]
    if not candidates:
        return ""
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not close:
        lower = {c.lower(): c for c in candidates}
        if name.lower() in lower:
            close = [lower[name.lower()]]
    if not close:
        prefixed = [c for c in candidates
                    if name.lower().startswith(c.lower()) or c.lower().startswith(name.lower())]
        if prefixed:
            close = [max(prefixed, key=len)]
    if not close:
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""
