"""The abstract syntax tree of a ``.mech`` file: frozen dataclasses with a source span.

The parser builds these and checks nothing but the grammar; meaning (names, units,
balances) is checked by :mod:`mechlang.model.build`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from mechlang.errors import Span


@dataclass(frozen=True)
class Ident:
    """A name as written, with where it was written."""

    name: str
    span: Span


# -- expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    """A number, with an optional unit: ``0.5``, ``1e-5 cm^2/s``.

    ``text`` is the number as written (exact decimal conversion happens later);
    ``unit`` the unit text or None; ``unit_span`` where the unit was written.
    """

    text: str
    unit: str | None
    span: Span
    unit_span: Span | None = None

    @property
    def is_integer(self) -> bool:
        return self.unit is None and self.text.isdigit()


@dataclass(frozen=True)
class Name:
    name: str
    span: Span


@dataclass(frozen=True)
class Conc:
    """``[X]``: the local concentration of species X (meaningful in ``rate =``)."""

    species: str
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str  # "+", "-", "*", "/", "^"
    left: "Expr"
    right: "Expr"
    span: Span


@dataclass(frozen=True)
class UnaryOp:
    op: str  # "-", "+"
    operand: "Expr"
    span: Span


@dataclass(frozen=True)
class Keyword:
    """``name = value`` inside a call."""

    name: Ident
    value: "Expr"
    span: Span


@dataclass(frozen=True)
class Call:
    """``f(a, b, key = c)``: a function, a kinetic law or a geometry."""

    func: Ident
    args: tuple["Expr", ...]
    kwargs: tuple[Keyword, ...]
    span: Span


Expr = Union[Number, Name, Conc, BinOp, UnaryOp, Call]


# -- statements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Assign:
    """``name = expr``: a species property, an experiment key, a law body line,
    a mass-action constant."""

    name: Ident
    value: Expr
    span: Span


@dataclass(frozen=True)
class Mechanism:
    name: Ident
    description: str | None
    span: Span


@dataclass(frozen=True)
class Use:
    path: str
    span: Span


@dataclass(frozen=True)
class SpeciesDecl:
    names: tuple[Ident, ...]
    props: tuple[Assign, ...]
    surface: bool
    span: Span
    flags: tuple[Ident, ...] = ()  # bare words after the colon (`solid`)


@dataclass(frozen=True)
class SiteDecl:
    name: Ident
    props: tuple[Assign, ...]
    span: Span


@dataclass(frozen=True)
class Param:
    name: Ident
    value: Expr
    bounds: tuple[Expr, Expr] | None
    log: bool
    span: Span
    bounds_span: Span | None = None


@dataclass(frozen=True)
class Term:
    """``[coef] NAME`` of a reaction side; ``name == "e-"`` for the electron."""

    coef: Number | None
    name: str
    span: Span

    @property
    def is_electron(self) -> bool:
        return self.name == "e-"


@dataclass(frozen=True)
class LawKinetics:
    """``; law(args)`` of an electron-transfer step."""

    call: Call
    span: Span


@dataclass(frozen=True)
class MassActionKinetics:
    """``; k = ...``, ``; kf = ..., kb = ...``, ``; kf = ..., K = ...``, ``; rate = ...``."""

    entries: tuple[Assign, ...]
    span: Span


Kinetics = Union[LawKinetics, MassActionKinetics]


@dataclass(frozen=True)
class Reaction:
    label: Ident | None
    lhs: tuple[Term, ...]
    arrow: str  # "->" or "<=>"
    rhs: tuple[Term, ...]
    kinetics: Kinetics
    span: Span  # the whole statement
    equation_span: Span  # LHS ARROW RHS

    @property
    def reversible(self) -> bool:
        return self.arrow == "<=>"


@dataclass(frozen=True)
class LawDecl:
    name: Ident
    params: tuple[Ident, ...]
    body: tuple[Assign, ...]
    span: Span


@dataclass(frozen=True)
class Transport:
    laws: tuple[Ident, ...]
    span: Span
    calls: tuple["Call", ...] = ()  # the laws written with settings: `migration(debye = 1 nm)`


@dataclass(frozen=True)
class ExperimentDecl:
    name: Ident
    entries: tuple[Assign, ...]
    span: Span


Statement = Union[Mechanism, Use, SpeciesDecl, SiteDecl, Param, Reaction, LawDecl, Transport, ExperimentDecl]


@dataclass(frozen=True)
class File:
    """One parsed file: its statements in order."""

    path: str
    statements: tuple[Statement, ...]
