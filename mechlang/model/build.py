"""The semantic pass: AST -> :class:`mechlang.model.ir.Model`.

It resolves ``use`` imports, names, units, charge balance and rate-law orders, and
turns every number of the file into a named SI :class:`~mechlang.model.ir.Value`.
Errors are collected over the whole pass and raised together as one
:class:`ModelError`; warnings end up in ``Model.diagnostics``.

Choices this pass makes where the language page is silent:

* ``k = ...`` on a reversible step (``<=>``) is an error (write ``kf`` with ``kb`` or
  ``K``); ``kf = ...`` alone on an irreversible step means ``k``.
* An electron-transfer step must be written as a reduction (electrons on the left);
  ``nernst`` needs ``<=>``.
* A bare ``0`` (no unit) is accepted wherever a dimension is expected.
* Bounds of a parameter are written with units like its value.
* Numbers written inside ``rate = ...`` are folded into the rate expression (use a
  ``param`` for a number you want to change or fit).
* Species properties always become values ``X.D`` and ``X.c`` (an expression of a
  parameter becomes a derived value); kinetic arguments and experiment settings that
  are a bare parameter name refer to that parameter (kinetics) or to a derived value
  ``EXP.KEY`` (experiments).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import sympy

from mechlang import constants, kinetics
from mechlang.errors import Diagnostic, ModelError, Span, did_you_mean as _suggest, error, warning
from mechlang.model import ir
from mechlang.model import units as U
from mechlang.syntax import ast
from mechlang.syntax.imports import Declarations as _Decls, Loader as _Loader, library_dirs
from mechlang.syntax.parser import parse
from mechlang.symbolic import thermo

__all__ = ["load", "load_string", "library_dirs"]


# -- small helpers -----------------------------------------------------------------------


def _where(span: Span) -> str:
    return str(span)


def _ordinal(n: int) -> str:
    words = {0: "zeroth", 1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
    return words.get(n, f"{n}th")


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else ("0" if n == 0 else f"−{-n}")


_EXAMPLE_UNITS = {
    U.LENGTH**2 / U.TIME: "cm^2/s",
    U.CONCENTRATION: "mM",
    U.POTENTIAL: "V",
    U.POTENTIAL / U.TIME: "mV/s",
    U.LENGTH / U.TIME: "cm/s",
    U.LENGTH**2: "cm^2",
    U.LENGTH: "um",
    U.TEMPERATURE: "K",
    U.ENERGY: "eV",
    U.TIME: "s",
    U.TIME**-1: "s^-1",
    U.CONCENTRATION**-1 / U.TIME: "M^-1 s^-1",
    U.CONCENTRATION**-2 / U.TIME: "M^-2 s^-1",
    U.CONCENTRATION / U.TIME: "mM/s",
    U.RESISTANCE: "ohm",
    U.CAPACITANCE: "uF",
}


def _unit_hint(expected: U.Dim) -> tuple[str, ...]:
    example = _EXAMPLE_UNITS.get(expected)
    return (f"write it with a unit of {U.dimension_name(expected)}, e.g. {example}",) if example else ()


def _is_zero_literal(e) -> bool:
    while isinstance(e, ast.UnaryOp):
        e = e.operand
    if isinstance(e, ast.Number) and e.unit is None:
        try:
            return Fraction(e.text) == 0
        except (ValueError, ZeroDivisionError):
            return False
    return False


def _literal(e) -> tuple[str, str | None] | None:
    """(number text with sign, unit) when ``e`` is a plain quantity, else None."""
    sign = ""
    while isinstance(e, ast.UnaryOp):
        if e.op == "-":
            sign = "" if sign else "-"
        e = e.operand
    if isinstance(e, ast.Number):
        return sign + e.text, e.unit
    return None


def _names_in(e) -> list[ast.Name]:
    out = []

    def walk(x):
        if isinstance(x, ast.Name):
            out.append(x)
        elif isinstance(x, ast.BinOp):
            walk(x.left)
            walk(x.right)
        elif isinstance(x, ast.UnaryOp):
            walk(x.operand)
        elif isinstance(x, ast.Call):
            for a in x.args:
                walk(a)
            for k in x.kwargs:
                walk(k.value)

    walk(e)
    return out


def _numbers_in(e) -> list[ast.Number]:
    """The numbers written in an expression."""
    if isinstance(e, ast.Number):
        return [e]
    if isinstance(e, ast.BinOp):
        return _numbers_in(e.left) + _numbers_in(e.right)
    if isinstance(e, ast.UnaryOp):
        return _numbers_in(e.operand)
    if isinstance(e, ast.Call):
        return [n for a in (*e.args, *(k.value for k in e.kwargs)) for n in _numbers_in(a)]
    return []


def _concs_in(e) -> list[ast.Conc]:
    """The ``[X]`` in an expression."""
    if isinstance(e, ast.Conc):
        return [e]
    if isinstance(e, ast.BinOp):
        return _concs_in(e.left) + _concs_in(e.right)
    if isinstance(e, ast.UnaryOp):
        return _concs_in(e.operand)
    if isinstance(e, ast.Call):
        return [c for a in (*e.args, *(k.value for k in e.kwargs)) for c in _concs_in(a)]
    return []


def _name_span(term: ast.Term) -> Span:
    s = term.span
    if s.end_line == s.line and s.end_column > len(term.name):
        return Span(s.file, s.line, s.end_column - len(term.name), s.end_line, s.end_column)
    return s


# -- functions allowed in expressions ----------------------------------------------------

_TRANSCENDENTAL = {
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "log10": lambda x: sympy.log(x, 10),
    "erf": sympy.erf,
    "erfc": sympy.erfc,
    "tanh": sympy.tanh,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asinh": sympy.asinh,
    "atan": sympy.atan,
}
_FUNCTIONS = sorted([*_TRANSCENDENTAL, "sqrt", "abs", "min", "max"])

_F_DIM = U.CHARGE / U.AMOUNT
_R_DIM = U.ENERGY / (U.AMOUNT * U.TEMPERATURE)


@dataclass
class _Env:
    """How bare names and ``[X]`` resolve in one kind of expression."""

    lookup: Callable[[ast.Name], tuple | None]  # -> (sympy expr, Dim | None) or None (error reported)
    conc: Callable[[ast.Conc], tuple | None] | None = None  # None: [X] not allowed here
    deps: set = field(default_factory=set)


# -- the model builder -------------------------------------------------------------------

_SPECIES_PROPS = ("D", "c", "z", "t_plus", "Vm", "kappa", "tdf")
# transport concentrated: a binary salt's t+, molar volume, conductivity and thermodynamic factor
_CONCENTRATED_PROPS = ("t_plus", "Vm", "kappa", "tdf")
_CONCENTRATED_DIMS = {"t_plus": U.DIMENSIONLESS, "Vm": U.LENGTH**3 / U.AMOUNT,
                      "kappa": U.CURRENT / (U.POTENTIAL * U.LENGTH), "tdf": U.DIMENSIONLESS}
_RATE_KEYS = ("k", "kf", "kb", "K", "rate")
# none: no mass transport, surface = bulk; concentrated: a binary salt in a symmetric cell
_TRANSPORTS = ("diffusion", "none", "convection", "migration", "concentrated")
_FUTURE_TRANSPORTS = ("poisson", "electroneutrality")
_TECHNIQUES = {
    "cv": (("E_start", "E_vertex", "scan_rate"), ("E_end", "cycles")),
    "lsv": (("E_start", "E_end", "scan_rate"), ()),
    "ca": (("E_initial", "E_step", "duration"), ()),
    "galvanostatic": (("current", "duration"), ("E_initial",)),
    "polarization": (("E_start", "E_end"), ("points",)),
}
_STEADY_TECHNIQUES = ("polarization",)  # the techniques that run with `transport none`
_SPECIES_FLAGS = ("solid",)
_SURFACE_PROPS = ("Gamma", "site")
_SITE_PROPS = ("Gamma_max", "g")
_FUTURE_TECHNIQUES = ("swv", "dpv", "step", "chronopotentiometry", "eis", "npv", "ac")
# `transport diffusion, migration(...)`: Poisson's equation (one of debye, eps_r) and the
# electrode's condition for the potential (E_pzc, stern).
_POISSON_KEYS = {"debye": U.LENGTH, "eps_r": U.DIMENSIONLESS, "E_pzc": U.POTENTIAL, "stern": U.LENGTH}
_COMMON_KEYS = ("technique", "geometry", "area", "T", "Ru", "Cdl")
_KEY_DIMS = {
    "E_start": U.POTENTIAL,
    "E_vertex": U.POTENTIAL,
    "E_end": U.POTENTIAL,
    "scan_rate": U.POTENTIAL / U.TIME,
    "E_initial": U.POTENTIAL,
    "E_step": U.POTENTIAL,
    "duration": U.TIME,
    "current": U.CURRENT,
    "current_density": U.CURRENT / U.LENGTH**2,  # transport concentrated
    "area": U.LENGTH**2,
    "T": U.TEMPERATURE,
    "Ru": U.RESISTANCE,
    "Cdl": U.CAPACITANCE,
    "r": U.LENGTH,
    "L": U.LENGTH,
    "length": U.LENGTH,
    "omega": U.TIME**-1,  # rotating disk: rotation rate (rad/s; rpm)
    "nu": U.LENGTH**2 / U.TIME,  # rotating disk: kinematic viscosity
    "reference": U.LENGTH,  # migration: the reference electrode's distance from the electrode
}
_POSITIVE_KEYS = ("scan_rate", "duration", "area", "T", "r", "L", "length", "omega", "nu", "reference")
# Migration: the geometries whose solution resistance to infinity converges (the reference
# may be left out: it is then at infinity); the others need `reference`.
_REFERENCE_AT_INFINITY = ("spherical", "hemispherical")
# geometry -> (its arguments, which of them may be left out, an example)
_GEOMETRY_ARGS = {
    "planar": ((), (), "planar"),
    "spherical": (("r",), (), "spherical(r = 10 um)"),
    "hemispherical": (("r",), (), "hemispherical(r = 10 um)"),
    "cylindrical": (("r", "length"), ("length",), "cylindrical(r = 5 um, length = 2 mm)"),
    "thin_layer": (("L",), (), "thin_layer(L = 20 um)"),
    "rotating_disk": (("omega", "nu"), ("nu",), "rotating_disk(omega = 1000 rpm, nu = 1e-6 m^2/s)"),
    "symmetric_cell": (("L",), (), "symmetric_cell(L = 3 mm)"),  # transport concentrated
}
_GEOMETRIES = tuple(_GEOMETRY_ARGS)
_SCHMIDT_MIN = 100.0  # rotating_disk's velocity series is accurate above this nu/D (a warning below)
_FUTURE_GEOMETRIES = ("band", "disk", "microdisk")
_ALL_EXPERIMENT_KEYS = sorted(
    {k for req, opt in _TECHNIQUES.values() for k in (*req, *opt)} | set(_COMMON_KEYS) | {"current_density", "reference"}
)


class _Builder:
    def __init__(self, decls: _Decls, file: str, diags: list[Diagnostic]):
        self.d = decls
        self.file = file
        self.diags = diags
        self.values: dict[str, ir.Value] = {}
        self.dims: dict[str, U.Dim | None] = {}  # value name -> dim (None: unknown after an error)
        self.param_ok: dict[str, bool] = {}
        self.used_params: set[str] = set()
        self.used_species: set[str] = set()
        self.species_in_steps: dict[str, str] = {}  # species -> first step label using it
        self.transport_ir: tuple[str, ...] = ("diffusion",)
        self.poisson_ir: dict[str, str] = {}  # migration(debye = ...): Poisson setting -> value name
        self.species_ir: dict[str, ir.Species] = {}
        self.species_with_bad_props: set[str] = set()  # no "missing D" echo for these
        self.law_ir: dict[str, ir.UserLaw] = {}
        self.d_depends: list[tuple[str, str, Span]] = []  # (species, the other species its D reads, where)
        self.rotation = False  # lowering a rotation rate: Hz counts revolutions per second

    # -- diagnostics ----------------------------------------------------------------------
    def err(self, message: str, span: Span | None, *notes: str) -> None:
        self.diags.append(error(message, span, *notes))

    def warn(self, message: str, span: Span | None, *notes: str) -> None:
        self.diags.append(warning(message, span, *notes))

    # -- expressions ----------------------------------------------------------------------
    def lower(self, e, env: _Env):
        """(sympy expr, Dim or None) of an expression, or None after reporting an error."""
        if isinstance(e, ast.Number):
            return self.lower_number(e)
        if isinstance(e, ast.Name):
            return env.lookup(e)
        if isinstance(e, ast.Conc):
            if env.conc is None:
                self.err(
                    f"'[{e.species}]' (a concentration) can only be used in 'rate = ...' of a chemical step",
                    e.span,
                )
                return None
            return env.conc(e)
        if isinstance(e, ast.UnaryOp):
            inner = self.lower(e.operand, env)
            if inner is None:
                return None
            return (-inner[0] if e.op == "-" else inner[0]), inner[1]
        if isinstance(e, ast.BinOp):
            left = self.lower(e.left, env)
            right = self.lower(e.right, env)
            if left is None or right is None:
                return None
            (a, da), (b, db) = left, right
            if e.op in "+-":
                if da is not None and db is not None and da != db:
                    verb = "add" if e.op == "+" else "subtract"
                    self.err(
                        f"cannot {verb} {U.dimension_name(da)} and {U.dimension_name(db)}",
                        e.span,
                    )
                    return None
                return (a + b if e.op == "+" else a - b), (da if da is not None else db)
            if e.op == "*":
                return a * b, (da * db if da is not None and db is not None else None)
            if e.op == "/":
                return a / b, (da / db if da is not None and db is not None else None)
            # power
            if db is not None and not db.dimensionless:
                self.err(f"an exponent must be dimensionless, got {U.dimension_name(db)}", e.right.span)
                return None
            dim = None
            if da is not None:
                if da.dimensionless:
                    dim = da
                elif b.is_number:
                    dim = da ** Fraction(float(b)).limit_denominator(1000)
                else:
                    self.err(
                        f"a quantity in {U.dimension_name(da)} can only be raised to a constant power",
                        e.span,
                    )
                    return None
            return a**b, dim
        if isinstance(e, ast.Call):
            return self.lower_call(e, env)
        raise TypeError(f"unexpected expression node {e!r}")  # pragma: no cover

    def lower_number(self, e: ast.Number):
        try:
            Fraction(e.text)
        except (ValueError, ZeroDivisionError):
            self.err(f"malformed number '{e.text}'", e.span)
            return None
        if e.unit is None:
            if e.text.isdigit():
                return sympy.Integer(int(e.text)), U.DIMENSIONLESS
            return sympy.Float(e.text, 15), U.DIMENSIONLESS
        try:
            info = U.parse_unit(e.unit, rotation=self.rotation)
        except U.UnitError as x:
            notes = ()
            first = e.unit.replace("*", " ").replace("/", " ").split()
            clash = [w.split("^")[0] for w in first if w.split("^")[0] in self.d.params]
            if clash:
                notes = (
                    f"'{clash[0]}' is a parameter, but a name right after a number is read as a unit: "
                    f"write {e.text}*{clash[0]}",
                )
            self.err(str(x), e.unit_span or e.span, *notes)
            return None
        return sympy.Float(info.to_si(e.text)), info.dim

    def lower_call(self, e: ast.Call, env: _Env):
        fname = e.func.name
        if fname not in _FUNCTIONS:
            if kinetics.get(fname) is not None or fname in self.d.laws:
                self.err(
                    f"'{fname}' is a kinetic law: it can only be written after ';' of an electron-transfer step",
                    e.func.span,
                )
            else:
                self.err(f"unknown function '{fname}'{_suggest(fname, _FUNCTIONS)}", e.func.span)
            return None
        if e.kwargs:
            self.err(f"'{fname}' takes no named arguments", e.kwargs[0].span)
            return None
        args = [self.lower(a, env) for a in e.args]
        if any(a is None for a in args):
            return None
        if fname in ("min", "max"):
            if len(args) < 2:
                self.err(f"'{fname}' takes two or more arguments, got {len(args)}", e.span)
                return None
            dims = [d for _, d in args if d is not None]
            if len(set(dims)) > 1:
                self.err(f"the arguments of '{fname}' must have one dimension, got "
                         + ", ".join(U.dimension_name(d) for d in dims), e.span)
                return None
            f = sympy.Min if fname == "min" else sympy.Max
            return f(*[a for a, _ in args]), (dims[0] if len(dims) == len(args) else None)
        if len(args) != 1:
            self.err(f"'{fname}' takes one argument, got {len(args)}", e.span)
            return None
        (x, dx), = args
        if fname == "sqrt":
            return sympy.sqrt(x), (dx ** Fraction(1, 2) if dx is not None else None)
        if fname == "abs":
            return sympy.Abs(x), dx
        if dx is not None and not dx.dimensionless:
            self.err(
                f"the argument of '{fname}' must be dimensionless, got {U.dimension_name(dx)}",
                e.args[0].span,
            )
            return None
        return _TRANSCENDENTAL[fname](x), (U.DIMENSIONLESS if dx is not None else None)

    # -- names ------------------------------------------------------------------------------
    def value_env(self) -> _Env:
        """Names in a value expression: parameters, then the constants pi, F and R."""
        env = _Env(lookup=None)

        def lookup(n: ast.Name):
            name = n.name
            if name in self.d.params:
                env.deps.add(name)
                self.used_params.add(name)
                if not self.param_ok.get(name, False):
                    return sympy.Symbol(name), None
                return sympy.Symbol(name), self.dims.get(name)
            if name == "pi":
                return sympy.pi, U.DIMENSIONLESS
            if name == "F":
                return sympy.Float(constants.F), _F_DIM
            if name == "R":
                return sympy.Float(constants.R), _R_DIM
            if name in self.d.species:
                self.err(
                    f"'{name}' is a species, not a parameter"
                    + ("; its concentration is written [" + name + "]" if env.conc is not None else ""),
                    n.span,
                )
                return None
            if name in ("E", "T", "f"):
                self.err(f"'{name}' is only defined inside a law body", n.span)
                return None
            notes = ()
            try:
                U.parse_unit(name)
                notes = (f"'{name}' is a unit: write it right after its number, e.g. '2 {name}^-1' "
                         f"or '1 {name}', not '2 / {name}'",)
            except U.UnitError:
                pass
            self.err(f"unknown parameter '{name}'{_suggest(name, [*self.d.params, 'pi', 'F', 'R'])}", n.span,
                     *notes)
            return None

        env.lookup = lookup
        return env

    def rate_env(self) -> _Env:
        env = self.value_env()

        def conc(c: ast.Conc):
            if c.species not in self.d.species:
                self.err(f"unknown species '{c.species}'{_suggest(c.species, self.d.species)}", c.span)
                return None
            self.used_species.add(c.species)
            return sympy.Symbol(f"[{c.species}]"), U.CONCENTRATION

        env.conc = conc
        return env

    def law_env(self, law: ast.LawDecl, arg_dims: dict[str, U.Dim | None]) -> _Env:
        args = {p.name for p in law.params}
        T = sympy.Symbol("T")
        fixed = {
            "E": (sympy.Symbol("E"), U.POTENTIAL),
            "T": (T, U.TEMPERATURE),
            "F": (sympy.Float(constants.F), _F_DIM),
            "R": (sympy.Float(constants.R), _R_DIM),
            "f": (sympy.Float(constants.F) / (sympy.Float(constants.R) * T), U.POTENTIAL**-1),
            "pi": (sympy.pi, U.DIMENSIONLESS),
        }

        def lookup(n: ast.Name):
            if n.name in args:
                return sympy.Symbol(n.name), arg_dims.get(n.name)
            if n.name in fixed:
                return fixed[n.name]
            allowed = ", ".join(p.name for p in law.params)
            self.err(
                f"unknown name '{n.name}' in law '{law.name.name}'{_suggest(n.name, [*args, *fixed])}",
                n.span,
                f"a law body may use its arguments ({allowed}), E, T, F, R, f = F/RT and pi",
            )
            return None

        return _Env(lookup=lookup)

    # -- values -----------------------------------------------------------------------------
    def add_value(self, v: ir.Value, dim: U.Dim | None) -> None:
        if v.name in self.values:
            owner = v.name.split(".")[0]
            self.err(f"the value name '{v.name}' would be defined twice", v.span,
                     f"'{owner}' names both a species and a step or experiment: rename one of them",
                     f"the other is at {_where(self.values[v.name].span)}")
            return
        self.values[v.name] = v
        self.dims[v.name] = dim

    def display_of(self, e, dim: U.Dim | None) -> tuple[str, float]:
        lit = _literal(e)
        if lit is not None:
            _, unit = lit
            if unit is None:
                return "", 1.0
            try:
                info = U.parse_unit(unit, rotation=self.rotation)
            except U.UnitError:
                return "", 1.0
            if info.offset:
                return U.si_unit(info.dim), 1.0
            return info.text, float(info.scale)
        return (U.si_unit(dim) if dim is not None else ""), 1.0

    def check_dim(self, what: str, e, got: U.Dim | None, expected: U.Dim | None, *, message=None) -> bool:
        """Report ``e`` having ``got`` where ``expected`` is needed; True when fine.

        ``message``: the error text, or a function of the dimension got that returns it.
        """
        if expected is None or got is None or got == expected or _is_zero_literal(e):
            return True
        if callable(message):
            message = message(got)
        if message is None:
            message = f"`{what}` must be {U.dimension_name(expected)}, got {U.dimension_name(got)}"
        span = e.span
        notes = _unit_hint(expected)
        if isinstance(e, ast.Name) and e.name in self.d.params:
            p = self.d.params[e.name]
            notes = (f"'{e.name}' is declared at {_where(p.name.span)}",) + notes
        elif isinstance(e, ast.Number) and e.unit_span is not None:
            span = e.span
        self.err(message, span, *notes)
        return False

    def make_value(
        self,
        name: str,
        e,
        kind: str,
        expected: U.Dim | None,
        what: str,
        *,
        env: _Env | None = None,
        bare_param_ok: bool = False,
        message: str | None = None,
    ) -> str | None:
        """Create the value ``name`` from expression ``e``; return the value name to use.

        With ``bare_param_ok`` a bare parameter name is used as is (no new value).
        Returns None after an error.
        """
        if bare_param_ok and isinstance(e, ast.Name) and e.name in self.d.params:
            self.used_params.add(e.name)
            if not self.param_ok.get(e.name, False):
                return None
            if not self.check_dim(what, e, self.dims.get(e.name), expected, message=message):
                return None
            return e.name
        env = env or self.value_env()
        lowered = self.lower(e, env)
        if lowered is None:
            return None
        expr, dim = lowered
        if not self.check_dim(what, e, dim, expected, message=message):
            return None
        if dim is None:
            return None
        if expected is not None and _is_zero_literal(e):
            dim = expected
        if expr.is_number:
            try:
                expr = sympy.Float(float(expr))
            except TypeError:
                self.err(f"`{what}` is not a real number", e.span)
                return None
        unit = U.si_unit(dim)
        display, scale = self.display_of(e, dim)
        self.add_value(ir.Value(name, expr, unit, kind, e.span, display, scale), dim)
        return name

    def default_value(self, name, number: float, dim: U.Dim, kind: str, span: Span, display: str, scale: float):
        self.add_value(ir.Value(name, sympy.Float(number), U.si_unit(dim), kind, span, display, scale), dim)
        return name

    # -- parameters -------------------------------------------------------------------------
    def build_params(self) -> None:
        params = self.d.params
        deps = {n: [x.name for x in _names_in(p.value) if x.name in params] for n, p in params.items()}
        order: list[str] = []
        state: dict[str, int] = {}
        in_cycle: set[str] = set()

        def visit(n: str, path: list[str]):
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                cycle = path[path.index(n):] + [n]
                if not in_cycle.intersection(cycle):
                    p = params[cycle[0]]
                    self.err(
                        "parameters depend on each other: " + " -> ".join(cycle),
                        p.name.span,
                        *[f"'{c}' is declared at {_where(params[c].name.span)}"
                          for c in dict.fromkeys(cycle[1:]) if c != cycle[0]],
                    )
                in_cycle.update(cycle)
                return
            state[n] = 1
            for dep in deps[n]:
                visit(dep, path + [n])
            state[n] = 2
            order.append(n)

        for n in params:
            visit(n, [])
        for n in order:
            if n in in_cycle:
                self.param_ok[n] = False
                continue
            self.build_param(params[n])

    def build_param(self, p: ast.Param) -> None:
        name = p.name.name
        env = self.value_env()
        lowered = self.lower(p.value, env)
        if lowered is None or lowered[1] is None:
            self.param_ok[name] = False
            self.dims[name] = None
            return
        expr, dim = lowered
        if expr.is_number:
            try:
                expr = sympy.Float(float(expr))
            except TypeError:
                self.err(f"parameter '{name}' is not a real number", p.value.span)
                self.param_ok[name] = False
                return
        display, scale = self.display_of(p.value, dim)
        bounds = None
        ok = True
        if p.bounds is not None:
            bounds = self.build_bounds(p, dim)
            ok = bounds is not None or False
        if p.log and bounds is not None and (bounds[0] <= 0 or bounds[1] <= 0):
            self.err(f"the bounds of a 'log' parameter must be positive, got [{_g(bounds[0])}, {_g(bounds[1])}]",
                     p.bounds_span or p.span)
        if p.log and expr.is_number and float(expr) <= 0:
            self.err(f"'{name}' is searched on a log scale, so its value must be positive", p.value.span)
        if bounds is not None and expr.is_number and not bounds[0] <= float(expr) <= bounds[1]:
            self.warn(f"the value of '{name}' lies outside its bounds", p.value.span,
                      f"bounds are at {_where(p.bounds_span or p.span)}")
        self.param_ok[name] = True
        self.add_value(
            ir.Value(name, expr, U.si_unit(dim), "param", p.span, display, scale,
                     bounds=bounds if ok else None, log=p.log),
            dim,
        )

    def build_bounds(self, p: ast.Param, dim: U.Dim):
        out = []
        for b in p.bounds:
            lowered = self.lower(b, _Env(lookup=self._no_names("a bound")))
            if lowered is None:
                return None
            expr, bdim = lowered
            if not expr.is_number:
                self.err("a bound must be a number", b.span)
                return None
            if not self.check_dim(
                "", b, bdim, dim,
                message=f"the bounds of '{p.name.name}' must be {U.dimension_name(dim)} like its value, "
                        f"got {U.dimension_name(bdim)}",
            ):
                return None
            out.append(float(expr))
        lo, hi = out
        if lo >= hi:
            self.err("the lower bound must be below the upper bound", p.bounds_span or p.span)
            return None
        return lo, hi

    def _no_names(self, what: str):
        def lookup(n: ast.Name):
            if n.name == "pi":
                return sympy.pi, U.DIMENSIONLESS
            self.err(f"{what} must be a number, not a name ('{n.name}')", n.span)
            return None

        return lookup

    # -- species ----------------------------------------------------------------------------
    def build_species(self) -> None:
        # Several species can share one declaration; the same message at the same
        # place is reported once (see _finish).
        for name, (decl, ident) in self.d.species.items():
            if decl.surface:
                self.build_surface_species(name, decl, ident)
                continue
            props: dict[str, ast.Assign] = {}
            for prop in decl.props:
                key = prop.name.name
                if key not in _SPECIES_PROPS:
                    self.species_with_bad_props.add(name)
                    hint = _suggest(key, _SPECIES_PROPS)
                    if key == "Gamma":
                        hint = " (Gamma belongs to a surface species)"
                    self.err(f"unknown species property '{key}'{hint}", prop.name.span,
                             "a species takes D (diffusion coefficient), c (concentration) and z (charge)")
                elif key in props:
                    self.err(f"property '{key}' is given twice", prop.name.span,
                             f"first given at {_where(props[key].name.span)}")
                else:
                    props[key] = prop
            solid = False
            for flag in decl.flags:
                if flag.name in _SPECIES_FLAGS:
                    solid = True
                else:
                    self.species_with_bad_props.add(name)
                    self.err(f"unknown species flag '{flag.name}'{_suggest(flag.name, _SPECIES_FLAGS)}", flag.span,
                             "a bare word after the colon can be 'solid' (a phase of unit activity, e.g. metallic Li)")
            if solid:
                for key in ("D", "c"):
                    if key in props:
                        self.species_with_bad_props.add(name)
                        self.err(f"a solid species takes no '{key}': it has unit activity and does not move",
                                 props[key].name.span, f"leave '{key} = ...' out of 'species {name}: solid'")
                z = self.charge(props["z"].value) if "z" in props else None
                self.species_ir[name] = ir.Species(name, None, "", z or 0, z is not None, False, ident.span,
                                                   solid=True)
                continue
            concentrated = self.concentrated()
            extra = {}
            for key in _CONCENTRATED_PROPS:
                if key in props and not concentrated:
                    self.species_with_bad_props.add(name)
                    self.err(f"species property '{key}' belongs to 'transport concentrated' (a binary salt)",
                             props[key].name.span, "add 'transport concentrated', or leave it out")
                elif key in props:
                    extra[key] = self.diffusion_of_concentration(name, props[key].value, key,
                                                                 _CONCENTRATED_DIMS[key])
                    if extra[key] is None:  # reported: no echoes about this species
                        self.species_with_bad_props.add(name)
            D, D_expr = None, None
            if "D" in props and _concs_in(props["D"].value):
                D_expr = self.diffusion_of_concentration(name, props["D"].value)
                if D_expr is None:  # reported: no "has no diffusion coefficient" echo
                    self.species_with_bad_props.add(name)
            elif "D" in props:
                D = self.make_value(f"{name}.D", props["D"].value, "species", U.LENGTH**2 / U.TIME, "D")
            if "c" in props:
                c = self.make_value(f"{name}.c", props["c"].value, "species", U.CONCENTRATION, "c")
                c = c or f"{name}.c"
            else:
                c = self.default_value(f"{name}.c", 0.0, U.CONCENTRATION, "species", ident.span, "mM", 1.0)
            z, z_declared = 0, False
            if "z" in props:
                z_val = self.charge(props["z"].value)
                if z_val is not None:
                    z, z_declared = z_val, True
            self.species_ir[name] = ir.Species(name, D, c, z, z_declared, False, ident.span, D_expr=D_expr,
                                               t_plus=extra.get("t_plus"), Vm=extra.get("Vm"),
                                               kappa=extra.get("kappa"), tdf=extra.get("tdf"))

    def concentrated(self) -> bool:
        """The file says `transport concentrated` (read before the transport is built)."""
        t = self.d.transport
        return t is not None and any(i.name == "concentrated" for i in t.laws)

    def diffusion_of_concentration(self, name: str, e, what: str = "D", expected: U.Dim | None = None):
        """``D = ...`` with ``[name]`` in it: the SymPy expression (SI) of the values and of
        the species' own concentration, or None after an error.  Only its own concentration:
        the diffusion couplings (and Newton's matrix) then stay tridiagonal per species.
        Also ``t_plus`` and ``Vm`` of a salt (``what``, of dimension ``expected``)."""
        expected = expected or U.LENGTH**2 / U.TIME
        env = self.value_env()

        def conc(c: ast.Conc):
            if c.species not in self.d.species:
                self.err(f"unknown species '{c.species}'{_suggest(c.species, self.d.species)}", c.span)
                return None
            if c.species != name and (what != "D" or self.concentrated()):
                self.err(f"'{what}' of '{name}' may depend on its own concentration only ('[{c.species}]' given)",
                         c.span, f"{what} of '{name}' may depend on [{name}] only")
                return None
            if c.species != name:  # another species' concentration: checked once the steps are known
                decl = self.d.species[c.species][0]
                if decl.surface or any(f.name == "solid" for f in decl.flags):
                    self.err(f"D of '{name}' may depend on dissolved species' concentrations; '{c.species}' "
                             f"is a {'surface species' if decl.surface else 'solid'}", c.span)
                    return None
                self.d_depends.append((name, c.species, c.span))
            return sympy.Symbol(f"[{c.species}]"), U.CONCENTRATION

        env.conc = conc
        lowered = self.lower(e, env)
        if lowered is None:
            return None
        expr, dim = lowered
        if not self.check_dim(what, e, dim, expected) or dim is None:
            return None
        return expr

    def build_sites(self) -> None:
        self.sites_ir = {}
        for name, decl in self.d.sites.items():
            props = {}
            for prop in decl.props:
                key = prop.name.name
                if key not in _SITE_PROPS:
                    self.err(f"unknown site property '{key}'{_suggest(key, _SITE_PROPS)}", prop.name.span,
                             "a site takes Gamma_max (mol/area) and g (Frumkin interaction, dimensionless)")
                elif key in props:
                    self.err(f"property '{key}' is given twice", prop.name.span)
                else:
                    props[key] = prop
            if "Gamma_max" not in props:
                self.err(f"site '{name}' needs Gamma_max (the surface concentration of a full layer)",
                         decl.span, f"e.g. 'site {name}: Gamma_max = 2e-10 mol/cm^2'")
                continue
            gmax = self.make_value(f"{name}.Gamma_max", props["Gamma_max"].value, "species",
                                   U.CONCENTRATION * U.LENGTH, "Gamma_max")
            if "g" in props:
                g = self.make_value(f"{name}.g", props["g"].value, "species", U.DIMENSIONLESS, "g")
            else:
                g = self.default_value(f"{name}.g", 0.0, U.DIMENSIONLESS, "species", decl.span, "", 1.0)
            if gmax and g:
                self.sites_ir[name] = ir.Site(name, gmax, g, decl.name.span)

    def build_surface_species(self, name, decl, ident) -> None:
        props: dict[str, ast.Assign] = {}
        for prop in decl.props:
            key = prop.name.name
            if key not in _SURFACE_PROPS:
                self.species_with_bad_props.add(name)
                hint = " (a surface species does not diffuse)" if key == "D" else _suggest(key, _SURFACE_PROPS)
                self.err(f"unknown surface species property '{key}'{hint}", prop.name.span,
                         "a surface species takes Gamma (initial surface concentration, mol/area) and site")
            elif key in props:
                self.err(f"property '{key}' is given twice", prop.name.span)
            else:
                props[key] = prop
        for flag in decl.flags:
            self.err(f"a surface species takes no flag '{flag.name}'", flag.span)
        dim = U.CONCENTRATION * U.LENGTH
        if "Gamma" in props:
            gamma = self.make_value(f"{name}.Gamma", props["Gamma"].value, "species", dim, "Gamma")
            gamma = gamma or f"{name}.Gamma"
        else:
            gamma = self.default_value(f"{name}.Gamma", 0.0, dim, "species", ident.span, "mol/cm^2", 1e4)
        site = None
        if "site" in props:
            v = props["site"].value
            if not isinstance(v, ast.Name) or v.name not in self.d.sites:
                known = list(self.d.sites)
                what = v.name if isinstance(v, ast.Name) else "this"
                self.err(f"unknown site '{what}'{_suggest(what, known) if known else ''}", v.span,
                         "declare it first: 'site S: Gamma_max = ...'")
            else:
                site = v.name
        self.species_ir[name] = ir.Species(name, None, gamma, 0, False, True, ident.span, site=site)

    def charge(self, e) -> int | None:
        lit = _literal(e)
        if lit is not None and lit[1] is None:
            try:
                value = Fraction(lit[0])
            except ValueError:
                value = None
            if value is not None and value.denominator == 1:
                return int(value)
        self.err("`z` must be a whole charge number such as +2 or -1", e.span)
        return None

    # -- user laws --------------------------------------------------------------------------
    def build_laws(self) -> None:
        for name, law in self.d.laws.items():
            if kinetics.get(name) is not None:
                self.err(f"'{name}' is a built-in law; give your law another name", law.name.span)
                continue
            params = [p.name for p in law.params]
            bad = False
            seen = {}
            for p in law.params:
                if p.name in seen:
                    self.err(f"argument '{p.name}' is listed twice", p.span)
                    bad = True
                if p.name in ("E", "T", "F", "R", "f", "pi"):
                    self.err(f"'{p.name}' is predefined in a law body and cannot be an argument name", p.span)
                    bad = True
                seen[p.name] = p
            body: dict[str, ast.Assign] = {}
            for a in law.body:
                key = a.name.name
                if key not in ("kred", "kox"):
                    self.err(f"a law body assigns kred and kox, not '{key}'{_suggest(key, ['kred', 'kox'])}",
                             a.name.span)
                    bad = True
                elif key in body:
                    self.err(f"'{key}' is assigned twice", a.name.span, f"first at {_where(body[key].name.span)}")
                    bad = True
                else:
                    body[key] = a
            for key in ("kred", "kox"):
                if key not in body:
                    self.err(f"law '{name}' does not define '{key}'", law.name.span,
                             "a law body assigns both kred and kox")
                    bad = True
            if bad:
                continue
            env = self.law_env(law, {})
            kred = self.lower(body["kred"].value, env)
            kox = self.lower(body["kox"].value, env)
            if kred is None or kox is None:
                continue
            self.law_ir[name] = ir.UserLaw(name, tuple(params), kred[0], kox[0], law.span)

    # -- steps ------------------------------------------------------------------------------
    def build_steps(self) -> list[ir.Step]:
        steps = []
        labels: dict[str, Span] = {}
        for index, (label, rx) in enumerate(self.d.steps, 1):
            label = label or f"R{index}"
            if label in labels:
                self.err(f"step label '{label}' is used twice", rx.label.span if rx.label else rx.span,
                         f"the other step is at {_where(labels[label])}",
                         "unlabelled steps are named R1, R2, ... by position")
                continue
            labels[label] = rx.label.span if rx.label else rx.span
            step = self.build_step(label, rx)
            if step is not None:
                steps.append(step)
        return steps

    def side(self, terms, label: str, right: bool):
        out: dict[str, int] = {}
        electrons = 0
        ok = True
        for t in terms:
            coef = 1
            if t.coef is not None:
                try:
                    value = Fraction(t.coef.text)
                except ValueError:
                    value = Fraction(0)
                if value.denominator != 1 or value <= 0:
                    self.err(f"a stoichiometric coefficient must be a positive whole number, got {t.coef.text}",
                             t.coef.span)
                    ok = False
                    continue
                coef = int(value)
            if t.is_electron:
                if right:
                    self.err(
                        "electrons must be on the left: write an electron transfer as a reduction, "
                        "e.g. 'O + e- <=> R'",
                        t.span,
                    )
                    ok = False
                electrons += coef
                continue
            if t.name not in self.d.species:
                self.err(f"unknown species '{t.name}'{_suggest(t.name, self.d.species)}", _name_span(t))
                ok = False
                continue
            self.used_species.add(t.name)
            self.species_in_steps.setdefault(t.name, label)
            out[t.name] = out.get(t.name, 0) + coef
        return out, electrons, ok

    def build_step(self, label: str, rx: ast.Reaction) -> ir.Step | None:
        lhs, n, ok_l = self.side(rx.lhs, label, right=False)
        rhs, _, ok_r = self.side(rx.rhs, label, right=True)
        if not (ok_l and ok_r):
            return None
        on_surface = [self.d.species[s][0].surface for s in (*lhs, *rhs)]
        surface = any(on_surface)
        if n > 0:
            if surface and not all(on_surface):  # electrosorption: the surface side must sit on one site
                sites = {self.species_ir[s].site if s in self.species_ir else None
                         for s in (*lhs, *rhs) if self.d.species[s][0].surface}
                if None in sites or len(sites) != 1:
                    self.err("an electron transfer between solution and surface species needs its surface "
                             "species on one site", rx.equation_span,
                             "declare 'site S: Gamma_max = ...' and 'surface species X: ..., site = S'")
                    return None
            kin = self.electron_transfer(label, rx, n, surface)
            law = kinetics.get(kin.law) if kin is not None else None
            if law is not None and law.coverage:
                loose = [s for s in (*lhs, *rhs) if not (s in self.species_ir and self.species_ir[s].site)]
                if loose:
                    self.err(f"'{kin.law}' reads coverages: '{loose[0]}' must be a surface species on a site",
                             rx.equation_span, f"declare 'surface species {loose[0]}: ..., site = S' and "
                             "'site S: Gamma_max = ...'")
                    return None
            self.charge_balance(rx, lhs, rhs, n)
        else:
            kin = self.chemical(label, rx, lhs, rhs, surface)
            self.charge_balance(rx, lhs, rhs, 0)
        if kin is None:
            return None
        return ir.Step(label, tuple(lhs.items()), tuple(rhs.items()), n, rx.reversible, kin, rx.span, surface)

    def charge_balance(self, rx: ast.Reaction, lhs, rhs, n: int) -> None:
        specs = [self.species_ir.get(s) for s in (*lhs, *rhs)]
        if not specs or any(s is None or not s.z_declared for s in specs):
            return
        zl = sum(c * self.species_ir[s].z for s, c in lhs.items())
        zr = sum(c * self.species_ir[s].z for s, c in rhs.items())
        if zl - n == zr:
            return
        left = _signed(zl) + (f" − {n}" if n else "")
        self.err(f"charge does not balance: {left} ≠ {_signed(zr)}", rx.equation_span,
                 "charges: " + ", ".join(f"{s} {_signed(self.species_ir[s].z)}" for s in dict.fromkeys([*lhs, *rhs])))

    def electron_transfer(self, label: str, rx: ast.Reaction, n: int, surface: bool = False):
        if not isinstance(rx.kinetics, ast.LawKinetics):
            self.err(
                "an electron-transfer step needs a kinetic law, e.g. '; butler_volmer(E0, k0, alpha)' "
                "or '; nernst(E0)'",
                rx.kinetics.span,
            )
            return None
        call = rx.kinetics.call
        name = call.func.name
        builtin = kinetics.get(name)
        user = self.d.laws.get(name)
        if builtin is None and user is None:
            known = [*kinetics.REGISTRY, *self.d.laws]
            self.err(f"unknown kinetic law '{name}'{_suggest(name, known)}", call.func.span,
                     "built-in laws: " + ", ".join(sorted(kinetics.REGISTRY)))
            return None
        if builtin is not None:
            params = list(builtin.params)
            expected = {p: U.dim_of(u) for p, u in zip(builtin.params, builtin.units)}
            if surface:  # between surface species k0 is a first-order constant (Laviron's k_s)
                expected = {p: (U.DIMENSIONLESS / U.TIME if d == U.LENGTH / U.TIME else d) for p, d in expected.items()}
            options = dict(builtin.options)
            if builtin.equilibrium and not rx.reversible:
                self.err(f"'{name}' describes an equilibrium: write the step with '<=>'", rx.equation_span)
                return None
        else:
            params = [p.name for p in user.params]
            expected = {p: None for p in params}
            options = {}
        signature = f"{name}({', '.join(params)})"
        bound: dict[str, ast.Expr] = {}
        ok = True
        if call.kwargs:
            first_kw = call.kwargs[0].span
            late = [a for a in call.args if (a.span.line, a.span.column) > (first_kw.line, first_kw.column)]
            if late:
                self.err("a positional argument cannot follow a named one", late[0].span)
                return None
        if len(call.args) > len(params):
            self.err(f"{name} takes {len(params)} argument{'s' if len(params) != 1 else ''} "
                     f"({', '.join(params)}), got {len(call.args)}",
                     call.args[len(params)].span)
            ok = False
        for p, a in zip(params, call.args):
            bound[p] = a
        opt_values: dict[str, float] = {}
        for kw in call.kwargs:
            key = kw.name.name
            if key in options:
                if key in opt_values:
                    self.err(f"option '{key}' is given twice", kw.name.span)
                    ok = False
                    continue
                lit = _literal(kw.value)
                if lit is None or lit[1] is not None:
                    self.err(f"option '{key}' of {name} must be a plain number", kw.value.span)
                    ok = False
                    continue
                opt_values[key] = float(Fraction(lit[0]))
                if opt_values[key] not in (0.0, 1.0):
                    self.err(f"option '{key}' of {name} must be 0 or 1", kw.value.span)
                    ok = False
                continue
            if key not in params:
                self.err(f"{name} has no argument '{key}'{_suggest(key, [*params, *options])}", kw.name.span,
                         f"it is {signature}" + (f" with options {', '.join(options)}" if options else ""))
                ok = False
                continue
            if key in bound:
                self.err(f"argument '{key}' of {name} is given twice", kw.name.span)
                ok = False
                continue
            bound[key] = kw.value
        missing = [p for p in params if p not in bound]
        cycle_e0 = builtin is not None and missing == ["E0"]  # E0 left to a thermodynamic cycle
        if missing and ok and not cycle_e0:
            self.err(f"{name} is missing argument{'s' if len(missing) > 1 else ''} "
                     + ", ".join(f"'{m}'" for m in missing), call.span, f"it is {signature}")
            ok = False
        if not ok:
            return None
        args = []
        arg_dims = {}
        for p in params:
            if p == "E0" and cycle_e0:
                # E0 follows from the thermodynamic cycle this step closes (symbolic.thermo).
                vname = f"{label}.E0"
                self.add_value(ir.Value(vname, thermo.PENDING, "V", "step", call.span, "V", 1.0), expected[p])
                args.append((p, vname))
                arg_dims[p] = expected[p]
                continue
            vname = self.make_value(f"{label}.{p}", bound[p], "step", expected[p], p, bare_param_ok=True)
            if vname is None:
                ok = False
                continue
            args.append((p, vname))
            arg_dims[p] = self.dims.get(vname)
        if not ok:
            return None
        if user is not None and name in self.law_ir:
            self.check_user_law(user, call, arg_dims, surface)
        for key, default in options.items():
            opt_values.setdefault(key, float(default))
        return ir.LawCall(name, tuple(args), tuple((k, opt_values[k]) for k in options))

    def check_user_law(self, law: ast.LawDecl, call: ast.Call, arg_dims, surface: bool = False) -> None:
        env = self.law_env(law, arg_dims)
        for a in law.body:
            lowered = self.lower(a.value, env)
            if lowered is None or lowered[1] is None:
                continue
            dim = lowered[1]
            want = U.DIMENSIONLESS / U.TIME if surface else U.LENGTH / U.TIME
            if dim != want:
                self.err(
                    f"with these arguments, law '{law.name.name}' gives `{a.name.name}` in "
                    f"{U.dimension_name(dim)}; an electron-transfer rate constant must be "
                    f"{U.dimension_name(want)}" + (" between surface species" if surface else ""),
                    call.span,
                    f"`{a.name.name}` is defined at {_where(a.span)}",
                )
                return

    def chemical(self, label: str, rx: ast.Reaction, lhs, rhs, surface: bool = False):
        kin = rx.kinetics
        if isinstance(kin, ast.LawKinetics):
            name = kin.call.func.name
            self.err(
                f"'{name}(...)' is an electron-transfer law, but this step has no electrons",
                kin.call.span,
                "a chemical step takes 'k = ...', 'kf = ..., kb = ...', 'kf = ..., K = ...' or 'rate = ...'",
            )
            return None
        entries: dict[str, ast.Assign] = {}
        ok = True
        for a in kin.entries:
            key = a.name.name
            if key not in _RATE_KEYS:
                self.err(f"unknown rate constant '{key}'{_suggest(key, _RATE_KEYS)}", a.name.span,
                         "a chemical step takes 'k = ...', 'kf = ..., kb = ...', 'kf = ..., K = ...' or 'rate = ...'")
                ok = False
                continue
            if key in entries:
                self.err(f"'{key}' is given twice", a.name.span, f"first at {_where(entries[key].name.span)}")
                ok = False
                continue
            entries[key] = a
        if not ok:
            return None
        keys = set(entries)
        if "rate" in keys and surface:
            self.err("a step with surface species takes mass-action constants, not 'rate = ...'", kin.span)
            return None
        if "rate" in keys:
            if len(keys) > 1:
                self.err("'rate = ...' gives the whole net rate; it cannot be combined with k, kf, kb or K",
                         kin.span)
                return None
            env = self.rate_env()
            lowered = self.lower(entries["rate"].value, env)
            if lowered is None:
                return None
            expr, dim = lowered
            if not self.check_dim("rate", entries["rate"].value, dim, U.CONCENTRATION / U.TIME):
                return None
            for s in (*lhs, *rhs):
                self.species_in_steps.setdefault(s, label)
            for sym in expr.free_symbols:
                if sym.name.startswith("["):
                    self.species_in_steps.setdefault(sym.name[1:-1], label)
            return ir.RateExpr(expr)
        if "k" in keys and keys & {"kf", "kb", "K"}:
            self.err("write either 'k = ...' (irreversible) or 'kf = ...' with 'kb'/'K' (reversible), not both",
                     kin.span)
            return None
        if "kb" in keys and "K" in keys:
            self.err("give either 'kb' or 'K', not both (K = kf/kb)", entries["K"].name.span)
            return None
        if not keys & {"k", "kf"}:
            self.err("a chemical step needs a forward rate constant 'k' or 'kf'", kin.span)
            return None
        thermo_kb = rx.reversible and "kf" in keys and not keys & {"kb", "K"}
        if rx.reversible and not keys & {"kb", "K"} and not thermo_kb:
            self.err(
                "a reversible step (<=>) needs kf and kb, or kf and K ('k = ...' alone is for an "
                "irreversible step ->; 'kf = ...' alone lets K follow from a thermodynamic cycle)",
                entries["k"].span,
            )
            return None
        if not rx.reversible and keys & {"kb", "K"}:
            key = "kb" if "kb" in keys else "K"
            self.err(f"an irreversible step (->) has no '{key}'; write '<=>' for a reversible step",
                     entries[key].name.span)
            return None
        order_f = sum(lhs.values())
        order_b = sum(rhs.values())
        fkey = "k" if "k" in keys else "kf"
        fdim = U.CONCENTRATION ** (1 - order_f) / U.TIME
        if surface:  # rates per area; a surface species counts as mol/area, a solution one as mol/volume
            def side(species):
                out = U.DIMENSIONLESS
                for s, k in species.items():
                    out = out * (U.CONCENTRATION * U.LENGTH if self.d.species[s][0].surface else U.CONCENTRATION) ** k
                return out

            rate_dim = U.CONCENTRATION * U.LENGTH / U.TIME
            fdim = rate_dim / side(lhs)

        def fmsg(got):
            return (f"a {_ordinal(order_f)}-order {'surface ' if surface else ''}step needs a rate constant in "
                    f"{U.dimension_name(fdim)}, got {U.dimension_name(got)}")

        kf = self.make_value(f"{label}.{fkey}", entries[fkey].value, "step", fdim, fkey, bare_param_ok=True,
                             message=fmsg)
        if kf is None:
            return None
        if "kb" in keys:
            bdim = rate_dim / side(rhs) if surface else U.CONCENTRATION ** (1 - order_b) / U.TIME

            def bmsg(got):
                return (f"the reverse of this step is {_ordinal(order_b)}-order: `kb` must be "
                        f"{U.dimension_name(bdim)}, got {U.dimension_name(got)}")

            kb = self.make_value(f"{label}.kb", entries["kb"].value, "step", bdim, "kb", bare_param_ok=True,
                                 message=bmsg)
            if kb is None:
                return None
            return ir.MassAction(kf, kb)
        if "K" in keys:
            kdim = side(rhs) / side(lhs) if surface else U.CONCENTRATION ** (order_b - order_f)
            K = self.make_value(f"{label}.K", entries["K"].value, "step", kdim, "K", bare_param_ok=True)
            if K is None:
                return None
            kb_dim = self.dims[kf] / kdim
            name = f"{label}.kb"
            expr = sympy.Symbol(kf) / sympy.Symbol(K)
            self.add_value(ir.Value(name, expr, U.si_unit(kb_dim), "step", entries["K"].span, U.si_unit(kb_dim), 1.0),
                           kb_dim)
            return ir.MassAction(kf, name)
        if thermo_kb and surface:
            self.err("a step with surface species needs kb or K (cycles through adsorption steps are not "
                     "derived yet)", kin.span)
            return None
        if thermo_kb:
            # K follows from the thermodynamic cycle this step closes (symbolic.thermo).
            bdim = U.CONCENTRATION ** (1 - order_b) / U.TIME
            name = f"{label}.kb"
            self.add_value(ir.Value(name, thermo.PENDING, U.si_unit(bdim), "step", entries["kf"].span,
                                    U.si_unit(bdim), 1.0), bdim)
            return ir.MassAction(kf, name)
        return ir.MassAction(kf, None)

    # -- transport --------------------------------------------------------------------------
    def build_transport(self) -> tuple[str, ...]:
        t = self.d.transport
        if t is None:
            return ("diffusion",)
        out = []
        for ident in t.laws:
            if ident.name in ("none", "concentrated") and len(t.laws) > 1:
                self.err(f"`transport {ident.name}` cannot be combined with other transport laws", ident.span)
            elif ident.name in _TRANSPORTS:
                out.append(ident.name)
            elif ident.name in _FUTURE_TRANSPORTS:
                self.err(f"transport '{ident.name}' is not supported yet (diffusion, convection and migration are)",
                         ident.span)
            else:
                self.err(f"unknown transport '{ident.name}'{_suggest(ident.name, [*_TRANSPORTS, *_FUTURE_TRANSPORTS])}",
                         ident.span)
        if "convection" in out and "diffusion" not in out:
            span = next(i.span for i in t.laws if i.name == "convection")
            self.err("convection needs diffusion as well", span, "write 'transport diffusion, convection'")
        if "migration" in out:
            span = next(i.span for i in t.laws if i.name == "migration")
            if "diffusion" not in out:
                self.err("migration needs diffusion as well", span, "write 'transport diffusion, migration'")
        for call in t.calls:
            if call.func.name != "migration":
                self.err(f"transport '{call.func.name}' takes no settings", call.span)
            else:
                self.build_poisson(call)
        return tuple(dict.fromkeys(out)) or ("diffusion",)

    def build_poisson(self, call: ast.Call) -> None:
        """`migration(debye = 1 nm)` or `migration(eps_r = 78.5)`: Poisson's equation instead
        of electroneutrality; `E_pzc` (default 0 V) and `stern` (default 0) set the electrode's
        condition for the potential."""
        example = "e.g. 'migration(debye = 1 nm, E_pzc = 0 V)'"
        if call.args:
            self.err("migration's settings are named", call.args[0].span, example)
            return
        given = {}
        for k in call.kwargs:
            key = k.name.name
            if key not in _POISSON_KEYS:
                self.err(f"unknown migration setting '{key}'{_suggest(key, list(_POISSON_KEYS))}", k.name.span,
                         "migration takes debye (the Debye length of the bulk) or eps_r (the relative "
                         "permittivity), and E_pzc and stern")
                return
            if key in given:
                self.err(f"migration setting '{key}' is given twice", k.name.span)
                return
            given[key] = k.value
        if ("debye" in given) == ("eps_r" in given):
            self.err("Poisson's equation needs either debye (the Debye length of the bulk) or eps_r "
                     "(the relative permittivity), not both", call.span, example)
            return
        settings = {}
        for key, e in given.items():
            v = self.make_value(f"migration.{key}", e, "param", _POISSON_KEYS[key], key)
            if v is None:
                return
            val = self.values[v]
            if key in ("debye", "eps_r") and val.expr.is_number and float(val.expr) <= 0:
                self.err(f"`{key}` must be positive", e.span)
                return
            if key == "stern" and val.expr.is_number and float(val.expr) < 0:
                self.err("`stern` must not be negative", e.span)
                return
            settings[key] = v
        for key, unit in (("E_pzc", "V"), ("stern", "m")):
            if key not in settings:
                settings[key] = self.default_value(f"migration.{key}", 0.0, _POISSON_KEYS[key], "param",
                                                   call.span, unit, 1.0)
        self.poisson_ir = settings

    # -- experiments ------------------------------------------------------------------------
    def build_experiments(self) -> dict[str, ir.Experiment]:
        out = {}
        for name, decl in self.d.experiments.items():
            exp = self.build_experiment(name, decl)
            if exp is not None:
                out[name] = exp
        return out

    def build_experiment(self, name: str, decl: ast.ExperimentDecl) -> ir.Experiment | None:
        entries: dict[str, ast.Assign] = {}
        ok = True
        for a in decl.entries:
            key = a.name.name
            if key in entries:
                self.err(f"'{key}' is given twice in experiment '{name}'", a.name.span,
                         f"first at {_where(entries[key].name.span)}")
                ok = False
                continue
            entries[key] = a
        # technique
        if "technique" not in entries:
            self.err(f"experiment '{name}' has no technique", decl.name.span,
                     "add 'technique = cv', 'lsv', 'ca', 'galvanostatic' or 'polarization'")
            return None
        tech_e = entries["technique"].value
        if not isinstance(tech_e, ast.Name):
            self.err("technique must be one of cv, lsv, ca, galvanostatic, polarization", tech_e.span)
            return None
        technique = tech_e.name
        if technique not in _TECHNIQUES:
            if technique in _FUTURE_TECHNIQUES:
                self.err(f"technique '{technique}' is not supported yet "
                         "(cv, lsv, ca, galvanostatic and polarization are)", tech_e.span)
            else:
                self.err(f"unknown technique '{technique}'{_suggest(technique, _TECHNIQUES)}", tech_e.span,
                         "techniques: cv, lsv, ca, galvanostatic, polarization")
            return None
        required, optional = _TECHNIQUES[technique]
        concentrated = "concentrated" in self.transport_ir
        if concentrated:  # a symmetric cell under a current density (or a current and the area)
            if technique != "galvanostatic":
                self.err(f"transport concentrated runs galvanostatic experiments only (a symmetric cell under "
                         f"a current); '{technique}' is not supported with it yet", tech_e.span)
                return None
            required, optional = ("duration",), ("current_density", "current")
            given = [k for k in optional if k in entries]
            if len(given) != 1:
                self.err(f"experiment '{name}' needs one of current_density (A/area, from the left electrode to "
                         f"the right one) or current (with area)" + (", not both" if given else ""),
                         entries[given[1]].name.span if len(given) > 1 else decl.name.span)
                return None
        applicable = (*required, *optional, *_COMMON_KEYS)
        migration = "migration" in self.transport_ir
        if migration:
            applicable = (*applicable, "reference")
        steady = technique in _STEADY_TECHNIQUES
        if ("none" in self.transport_ir) != steady:
            if steady:
                self.err(f"technique '{technique}' with mass transport (a steady state with diffusion) is not "
                         "supported yet", tech_e.span, "add 'transport none' (surface concentrations = bulk)")
            else:
                self.err(f"technique '{technique}' needs mass transport, but the file says 'transport none'",
                         tech_e.span, "only polarization runs without transport; remove 'transport none'")
            ok = False
        if steady and any(s.surface for s in self.species_ir.values() if s.name in self.used_species):
            self.err(f"technique '{technique}' (a steady state) with surface species is not supported yet",
                     tech_e.span, "simulate the surface with a transient technique (cv, lsv, ca)")
            ok = False
        suggested = set()
        for key, a in entries.items():
            if key in applicable:
                continue
            if key == "current_density" and technique == "galvanostatic":
                self.err("'current_density' (a programmed current density) belongs to 'transport concentrated' "
                         "(a symmetric cell); this galvanostatic experiment takes a constant 'current' (A)",
                         a.name.span, "write 'current = ...' in A (the current density times the area), "
                         "e.g. 'current = -10 uA'")
                suggested.add("current")  # no "needs 'current'" echo
            elif key == "reference":
                self.err("'reference' (the reference electrode's distance) applies only with "
                         "'transport diffusion, migration'", a.name.span,
                         "without migration the solution carries no potential drop; leave it out")
            elif key in _ALL_EXPERIMENT_KEYS:
                self.err(f"'{key}' does not apply to {technique}", a.name.span,
                         f"{technique} takes {', '.join(required + optional)}")
            else:
                hint = _suggest(key, applicable)
                suggested.add(hint.split("'")[1] if hint else None)
                self.err(f"unknown experiment setting '{key}'{hint}", a.name.span,
                         f"{technique} takes {', '.join(applicable)}")
            ok = False
        for key in required:
            if key not in entries and key not in suggested:
                self.err(f"experiment '{name}' ({technique}) needs '{key}'", decl.name.span,
                         f"{technique} needs {', '.join(required)}")
                ok = False
        # geometry
        geometry = "planar"
        geometry_args: dict[str, ast.Expr] = {}
        if "geometry" in entries:
            g = entries["geometry"].value
            gname = g.func.name if isinstance(g, ast.Call) else (g.name if isinstance(g, ast.Name) else None)
            gspan = g.func.span if isinstance(g, ast.Call) else g.span
            if gname is None:
                self.err("geometry must be one of " + ", ".join(a[2] for a in _GEOMETRY_ARGS.values()), g.span)
                ok = False
            elif gname in _FUTURE_GEOMETRIES:
                self.err(f"geometry '{gname}' is not supported yet ({', '.join(_GEOMETRIES)} are)", gspan)
                ok = False
            elif gname not in _GEOMETRIES:
                self.err(f"unknown geometry '{gname}'{_suggest(gname, [*_GEOMETRIES, *_FUTURE_GEOMETRIES])}", gspan)
                ok = False
            else:
                geometry = gname
                names, may_omit, example = _GEOMETRY_ARGS[gname]
                call_args = list(g.args) if isinstance(g, ast.Call) else []
                kwargs = list(g.kwargs) if isinstance(g, ast.Call) else []
                if not names and isinstance(g, ast.Call):
                    self.err(f"{gname} takes no arguments", g.span)
                    ok = False
                if len(call_args) > len(names) and names:
                    self.err(f"{gname} takes {len(names)} argument{'s' if len(names) > 1 else ''} "
                             f"({', '.join(names)}), got {len(call_args)}", g.span)
                    ok = False
                geometry_args.update(zip(names, call_args))
                for k in kwargs:
                    key = k.name.name
                    if key not in names:
                        self.err(f"{gname} has no argument '{key}'{_suggest(key, names)}", k.name.span,
                                 f"it is {example}")
                        ok = False
                    elif key in geometry_args:
                        self.err(f"argument '{key}' of {gname} is given twice", k.name.span)
                        ok = False
                    else:
                        geometry_args[key] = k.value
                missing = [n for n in names if n not in geometry_args and n not in may_omit]
                if ok and missing:
                    what = "a rotation rate" if missing == ["omega"] else ", ".join(missing)
                    self.err(f"{gname} needs {what}: {example}", g.span)
                    ok = False
        if ok and concentrated != (geometry == "symmetric_cell"):
            where = entries["geometry"].value.span if "geometry" in entries else decl.name.span
            if concentrated:
                self.err(f"transport concentrated needs a symmetric cell, but experiment '{name}' is {geometry}",
                         where, "write 'geometry = symmetric_cell(L = 3 mm)' (the electrolyte's thickness)")
            else:
                self.err("a symmetric cell (two Li electrodes) is the cell of 'transport concentrated'", where,
                         "add 'transport concentrated' and a salt with D and t_plus, or use thin_layer(L)")
            ok = False
        if ok and geometry == "rotating_disk":
            varying = [s.name for s in self.species_ir.values() if s.D_expr is not None]
            if varying:
                self.err(f"a concentration-dependent D (species '{varying[0]}') with convection is not "
                         "supported yet", entries["geometry"].value.span)
                ok = False
        if ok and geometry == "thin_layer" and "migration" in self.transport_ir:
            self.err("migration in a thin layer is not supported: the closed cell has no far boundary for "
                     "the current", entries["geometry"].value.span,
                     "migration holds the far end of the domain at the bulk with phi = 0, where the current "
                     "leaves; a thin layer's wall is closed. Use planar (semi-infinite) or leave migration out")
            ok = False
        if ok and ("convection" in self.transport_ir) != (geometry == "rotating_disk"):
            if geometry == "rotating_disk":
                self.err("a rotating disk needs convection: write 'transport diffusion, convection'",
                         entries["geometry"].value.span)
            else:
                where = entries["geometry"].value.span if "geometry" in entries else decl.name.span
                self.err(f"transport convection needs a rotating disk, but experiment '{name}' is {geometry}",
                         where, "write 'geometry = rotating_disk(omega = 1000 rpm, nu = 1e-6 m^2/s)'")
            ok = False
        if not ok:
            return None
        settings: dict[str, str] = {}
        values_ok = True

        def setting(key: str, e) -> str | None:
            if key == "omega" and not self.rotation_without_hertz_params(e):
                return None
            self.rotation = key == "omega"  # a number in Hz there counts revolutions per second
            try:
                v = self.make_value(f"{name}.{key}", e, "experiment", _KEY_DIMS[key], key)
            finally:
                self.rotation = False
            if v is None:
                return None
            val = self.values[v]
            if key in _POSITIVE_KEYS and val.expr.is_number and float(val.expr) <= 0:
                self.err(f"`{key}` must be positive", e.span)
                return None
            if key in ("Ru", "Cdl") and not (val.expr.is_number and float(val.expr) == 0):
                what = "uncompensated resistance (Ru)" if key == "Ru" else "double-layer capacitance (Cdl)"
                if val.expr.is_number and float(val.expr) < 0:
                    self.err(f"{what} must not be negative", e.span)
                    return None
                why = ("transport concentrated" if concentrated and key == "Cdl" else
                       "a steady-state polarization experiment" if technique in _STEADY_TECHNIQUES else None)
                if why:
                    self.err(f"{what} is not supported with {why} yet; leave it out or set it to 0", e.span)
                    return None
                if concentrated and not any(sp.kappa is not None for sp in self.species_ir.values()):
                    self.err(f"{what} with transport concentrated adds I Ru to the cell's potential, which "
                             "needs the salt's conductivity", e.span,
                             "give the salt 'kappa = ...' (e.g. 'kappa = 1 mS/cm'), or leave Ru out")
                    return None
            return v

        programme = None
        for key in (*required, *optional):
            if key in ("cycles", "points"):
                continue
            if key == "current_density" and key in entries and any(
                    n.name == "t" for n in _names_in(entries[key].value)):
                programme = self.programme(entries[key].value)  # a current density that varies in time
                values_ok &= programme is not None
                continue
            if key == "current" and key in entries and not self.constant_current(entries[key].value, concentrated):
                values_ok = False
                continue
            if key in entries:
                v = setting(key, entries[key].value)
                values_ok &= v is not None
                settings[key] = v
            elif key == "E_end" and technique == "cv":
                if settings.get("E_start"):
                    start = self.values[settings["E_start"]]
                    vname = f"{name}.E_end"
                    self.add_value(
                        ir.Value(vname, sympy.Symbol(start.name), "V", "experiment", decl.name.span,
                                 start.display_unit, start.display_scale),
                        U.POTENTIAL,
                    )
                    settings[key] = vname
            elif key == "E_initial" and technique == "galvanostatic":  # Newton's first start
                settings[key] = self.default_value(f"{name}.E_initial", 0.0, U.POTENTIAL, "experiment",
                                                   decl.name.span, "V", 1.0)
        def whole(key: str, default: int, what: str) -> int:
            """A static whole number >= 1 (it sets the size of the compiled problem)."""
            nonlocal values_ok
            if key not in entries:
                return default
            e = entries[key].value
            lit = _literal(e)
            try:
                value = Fraction(lit[0]) if lit is not None and lit[1] is None else None
            except ValueError:
                value = None
            if value is None or value.denominator != 1 or value < 1:
                self.err(f"`{key}` must be a whole number of {what}, 1 or more", e.span)
                values_ok = False
                return default
            return int(value)

        cycles = whole("cycles", 1, "cycles")
        points = whole("points", 101 if technique == "polarization" else 0, "potentials")
        for key, e in geometry_args.items():
            v = setting(key, e)
            values_ok &= v is not None
            settings[key] = v
        if geometry == "cylindrical" and "length" not in settings:
            settings["length"] = self.default_value(f"{name}.length", 1e-2, U.LENGTH, "experiment",
                                                    decl.name.span, "cm", 1e-2)
        if geometry == "rotating_disk" and "nu" not in settings:  # water at 25 degC, roughly
            settings["nu"] = self.default_value(f"{name}.nu", 1e-6, _KEY_DIMS["nu"], "experiment",
                                                entries["geometry"].value.span, "m^2/s", 1.0)
        # The electrode area each geometry implies, unless `area` is given.
        area_rule = {"spherical": lambda r: 4 * sympy.pi * r**2, "hemispherical": lambda r: 2 * sympy.pi * r**2,
                     "cylindrical": lambda r: 2 * sympy.pi * r * sympy.Symbol(settings["length"])}
        if "area" in entries:
            a = setting("area", entries["area"].value)
            values_ok &= a is not None
            settings["area"] = a
        elif geometry in area_rule:
            if settings.get("r") and settings.get("length", True):
                vname = f"{name}.area"
                expr = area_rule[geometry](sympy.Symbol(settings["r"]))
                self.add_value(ir.Value(vname, expr, "m**2", "experiment", decl.name.span, "m**2", 1.0),
                               U.LENGTH**2)
                settings["area"] = vname
        else:
            settings["area"] = self.default_value(f"{name}.area", 1e-4, U.LENGTH**2, "experiment", decl.name.span,
                                                  "cm^2", 1e-4)
        if "T" in entries:
            t = setting("T", entries["T"].value)
            values_ok &= t is not None
            settings["T"] = t
        else:
            settings["T"] = self.default_value(f"{name}.T", 298.15, U.TEMPERATURE, "experiment", decl.name.span,
                                               "K", 1.0)
        for key in ("Ru", "Cdl"):
            if key in entries:
                v = setting(key, entries[key].value)
                values_ok &= v is not None
                settings[key] = v
            else:
                display = "ohm" if key == "Ru" else "F"
                settings[key] = self.default_value(f"{name}.{key}", 0.0, _KEY_DIMS[key], "experiment",
                                                   decl.name.span, display, 1.0)
        if migration and "reference" in entries:
            v = setting("reference", entries["reference"].value)
            values_ok &= v is not None
            settings["reference"] = v
        elif migration and geometry not in _REFERENCE_AT_INFINITY:
            self.err(f"experiment '{name}' ({geometry}) with migration needs the reference electrode's "
                     "distance from the electrode", decl.name.span,
                     "add e.g. 'reference = 1 mm' (the Luggin tip's distance); the solution's resistance "
                     f"to infinity diverges at a {geometry} electrode, so the potential drop in solution "
                     "depends on where the potential is measured")
            values_ok = False
        if not values_ok:
            return None
        return ir.Experiment(name, technique, geometry, settings, cycles, decl.span, points, programme=programme)

    def constant_current(self, e, concentrated: bool) -> bool:
        """``current = EXPR`` with the time ``t`` in it is an error that says where a programmed
        current belongs (the galvanostatic waveform applies a constant current)."""
        t = next((n for n in _names_in(e) if n.name == "t" and "t" not in self.d.params), None)
        if t is None:
            return True
        if concentrated:
            self.err("a current that varies in time is written as a current density with transport "
                     "concentrated", t.span, "write 'current_density = ...' (A/area), an expression of t")
        else:
            self.err("a current that varies in time (an expression of t) is not supported in a galvanostatic "
                     "experiment: it applies a constant current; a programmed current density "
                     "('current_density = ...' of t) belongs to 'transport concentrated'", t.span,
                     "write a constant current, e.g. 'current = -10 uA', or one experiment per constant "
                     "current")
        return False

    def rotation_without_hertz_params(self, e) -> bool:
        """A rotation rate that reads a parameter written in Hz is an error: there Hz is 1/s
        (a parameter may be any frequency), while ``omega = 16 Hz`` means 16 rev/s."""
        for n in _names_in(e):
            p = self.d.params.get(n.name)
            if p is None:
                continue
            units = [x.unit for x in _numbers_in(p.value) if x.unit]
            if any(U.is_hertz(f) for u in units for f in re.findall(r"[^\W\d]\w*", u)):
                self.err(f"the rotation rate reads '{n.name}', a parameter written in Hz: in a parameter Hz is "
                         "1/s (read as rad/s here), not revolutions per second", n.span,
                         f"write '{n.name}' in rpm, rev/s (rps) or rad/s; '{n.name}' is declared at "
                         f"{_where(p.name.span)}")
                return False
        return True

    def programme(self, e):
        """``current_density = EXPR`` with the time ``t`` in it: the SymPy expression (SI)."""
        env = self.value_env()
        plain = env.lookup

        def lookup(n: ast.Name):
            if n.name == "t":
                return sympy.Symbol("t"), U.TIME
            return plain(n)

        env.lookup = lookup
        lowered = self.lower(e, env)
        if lowered is None:
            return None
        expr, dim = lowered
        if not self.check_dim("current_density", e, dim, _KEY_DIMS["current_density"]) or dim is None:
            return None
        return expr

    # -- the whole model --------------------------------------------------------------------
    def check_diffusion(self) -> None:
        for s, label in self.species_in_steps.items():
            sp = self.species_ir.get(s)
            if sp is None or sp.surface or sp.solid or s in self.species_with_bad_props:
                continue
            if "none" in self.transport_ir:  # nothing moves: D is not needed
                continue
            if sp.D is None and not any(p.name.name == "D" for p in self.d.species[s][0].props):
                self.err(
                    f"species '{s}' takes part in step {label} but has no diffusion coefficient",
                    self.d.species[s][1].span,
                    f"add D = ... to its declaration, e.g. 'species {s}: D = 1e-5 cm^2/s'",
                )

    def migrating(self) -> list[str]:
        """With migration: every dissolved species, used by a step or not (the ions of a
        supporting electrolyte are species that no step uses)."""
        return [n for n, sp in self.species_ir.items() if not sp.surface and not sp.solid
                and (n in self.used_species or n in self.species_in_steps or sp.z_declared)]

    def check_migration(self, experiments: dict[str, ir.Experiment]) -> None:
        """Charges declared, D given, the bulk electroneutral; what migration does not support."""
        span = next(i.span for i in self.d.transport.laws if i.name == "migration")
        names = self.migrating()
        for n in names:
            sp, ident = self.species_ir[n], self.d.species[n][1]
            if n in self.species_with_bad_props:
                continue
            if not sp.z_declared:
                self.err(f"species '{n}' has no charge, which migration needs", ident.span,
                         f"add z = ... to its declaration (z = 0 for a neutral species), e.g. 'species {n}: ..., z = +1'")
            elif sp.D is None and sp.D_expr is None and n not in self.species_in_steps:
                self.err(f"species '{n}' migrates but has no diffusion coefficient", ident.span,
                         f"add D = ... to its declaration, e.g. 'species {n}: D = 1e-5 cm^2/s'")
        # The bulk must be electroneutral (evaluated with the values the file gives).
        total, scale = sympy.Integer(0), sympy.Integer(0)
        for n in names:
            sp = self.species_ir[n]
            total += sp.z * sympy.Symbol(sp.c)
            scale += abs(sp.z) * sympy.Symbol(sp.c)
        for _ in range(20):
            subs = {sym: self.values[sym.name].expr for sym in total.free_symbols | scale.free_symbols
                    if sym.name in self.values}
            if not subs:
                break
            total, scale = total.subs(subs), scale.subs(subs)
        if total.is_number and scale.is_number and abs(float(total)) > 1e-9 * max(float(scale), 1e-30):
            charges = ", ".join(f"{n} {_signed(self.species_ir[n].z)}" for n in names)
            self.err(f"the bulk solution is not electroneutral: sum of z c = {float(total):g} mol/m^3", span,
                     f"charges: {charges}; with migration every ion is a species (a supporting electrolyte too), "
                     "and their bulk concentrations must balance")

    def check_concentrated(self, steps) -> None:
        """One dissolved species, the salt, with c, D and t_plus; no reaction steps."""
        span = next(i.span for i in self.d.transport.laws if i.name == "concentrated")
        if steps or self.d.steps:
            self.err("reaction steps with transport concentrated are not supported yet (the electrodes are "
                     "Li metal, where only Li+ crosses)", span, "leave the steps out: the salt is the one species")
            return
        salts = [n for n, sp in self.species_ir.items() if not sp.surface and not sp.solid]
        if len(salts) != 1 and self.species_with_bad_props.intersection(salts):
            return  # a species' own error was reported
        if len(salts) != 1:
            self.err(f"transport concentrated needs exactly one species, the binary salt; the file has "
                     f"{len(salts)}" + (f" ({', '.join(salts)})" if salts else ""), span,
                     "e.g. 'species LiTFSI: c = 1 M, D = 1e-7 cm^2/s, t_plus = 0.3'")
            return
        sp = self.species_ir[salts[0]]
        if sp.t_plus is None and salts[0] not in self.species_with_bad_props and not any(
                p.name.name == "t_plus" for p in self.d.species[salts[0]][0].props):
            self.err(f"species '{salts[0]}' (the salt of 'transport concentrated') needs a transference "
                     "number", sp.span, f"add t_plus = ..., e.g. 'species {salts[0]}: ..., t_plus = 0.4'")
        if sp.D is None and sp.D_expr is None and salts[0] not in self.species_with_bad_props and not any(
                p.name.name == "D" for p in self.d.species[salts[0]][0].props):
            self.err(f"species '{salts[0]}' (the salt) has no diffusion coefficient", sp.span,
                     f"add D = ..., e.g. 'species {salts[0]}: ..., D = 1e-7 cm^2/s'")
        props = {p.name.name: p for p in self.d.species[salts[0]][0].props}
        if sp.tdf is not None and sp.kappa is None and "kappa" not in props:
            self.err(f"the thermodynamic factor of '{salts[0]}' enters only the cell's potential, which needs "
                     "the salt's conductivity", props["tdf"].name.span,
                     f"add kappa = ..., e.g. 'species {salts[0]}: ..., kappa = 1 mS/cm', or leave tdf out")

    # -- checks with the file's values -------------------------------------------------------
    def numeric(self, expr, concs: dict[str, sympy.Expr] | None = None) -> float | None:
        """The number an expression of values (and ``[X]``, replaced by ``concs``) takes with
        the file's values; nan where it is not real, None where it is not a number."""
        expr = sympy.sympify(expr)
        if concs:
            expr = expr.subs({sympy.Symbol(f"[{k}]"): v for k, v in concs.items()})
        for _ in range(50):
            syms = {sym for sym in expr.free_symbols if sym.name in self.values}
            if not syms:
                break
            expr = expr.subs({sym: self.values[sym.name].expr for sym in syms})
        if expr.free_symbols:
            return None
        if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            return -math.inf if expr == -sympy.oo else (math.nan if expr.has(sympy.nan) else math.inf)
        try:
            z = complex(expr.evalf())
        except (TypeError, ValueError, ZeroDivisionError):
            return math.nan
        return z.real if z.imag == 0 else math.nan

    def check_coefficients(self) -> None:
        """D (and a salt's t_plus and Vm) with the file's values: D positive and finite at the
        bulk concentrations, and a D(c) not negative (nor infinite) where its species is used
        up; t_plus and Vm finite there.  Newton's method would otherwise fail, much later."""
        dissolved = {n: sp for n, sp in self.species_ir.items() if not sp.surface and not sp.solid}
        bulk = {n: sympy.Symbol(sp.c) for n, sp in dissolved.items() if sp.c}
        for name, sp in dissolved.items():
            if name in self.species_with_bad_props:
                continue
            props = {p.name.name: p for p in self.d.species[name][0].props}
            coefficients = [("D", sp.D_expr if sp.D_expr is not None else (sympy.Symbol(sp.D) if sp.D else None))]
            coefficients += [("t_plus", sp.t_plus), ("Vm", sp.Vm), ("kappa", sp.kappa), ("tdf", sp.tdf)]
            for key, expr in coefficients:
                if expr is None or key not in props:
                    continue
                read = sorted({sym.name[1:-1] for sym in expr.free_symbols if sym.name.startswith("[")})
                at_bulk = [f"[{x}] = {c:g} mM" for x in read if x in bulk
                           for c in [self.numeric(bulk[x])] if c is not None]
                text = (f" at the bulk concentration{'s' if len(at_bulk) > 1 else ''} ({', '.join(at_bulk)})"
                        if at_bulk else "")
                where = [(text, bulk, True)]
                if name in read:  # the species used up (an electrode at its limiting current)
                    where.append((f" where [{name}] = 0 (used up at the electrode)", {**bulk, name: 0}, False))
                for text, concs, strict in where:
                    value = self.numeric(expr, concs)
                    if value is None:
                        continue
                    positive = key in ("D", "kappa", "tdf")  # kappa, tdf > 0 at the bulk, >= 0 used up
                    bad = not math.isfinite(value) or (key in ("D", "Vm", "kappa", "tdf") and (
                        value < 0 or (strict and positive and value == 0)))
                    if bad:
                        unit = {"D": " m^2/s", "Vm": " m^3/mol", "t_plus": "", "kappa": " S/m", "tdf": ""}[key]
                        need = ("positive and finite" if strict and positive else
                                "finite and not negative" if key != "t_plus" else "finite")
                        self.err(f"{key} of species '{name}' is {value:.4g}{unit}{text}; it must be {need}",
                                 props[key].value.span,
                                 "evaluated with the values the file gives")
                        break

    def check_schmidt(self, steps, experiments: dict[str, ir.Experiment]) -> None:
        """The rotating disk's velocity (Cochran's series, geometries/rotating_disk) is accurate
        for Sc = nu/D of 100 or more (liquids): a warning below, with the file's values."""
        active = dict.fromkeys(s for st in steps if st.is_electron_transfer
                               for s, _ in (*st.reactants, *st.products))
        for e in experiments.values():
            if e.geometry != "rotating_disk" or not e.settings.get("nu"):
                continue
            nu = self.numeric(sympy.Symbol(e.settings["nu"]))
            low = []  # (Sc, species, D) below the limit
            for s in active:
                sp = self.species_ir.get(s)
                if sp is None or sp.surface or sp.solid or not sp.D:
                    continue
                D = self.numeric(sympy.Symbol(sp.D))
                if nu is not None and D is not None and D > 0 and nu / D < _SCHMIDT_MIN * (1 - 1e-9):
                    low.append((nu / D, s, D))
            if low:  # the lowest Sc is the worst
                sc, s, D = min(low)
                self.warn(f"the Schmidt number nu/D of species '{s}' is {sc:.3g} in experiment '{e.name}': "
                          f"the rotating disk's velocity series is accurate for Sc >= {_SCHMIDT_MIN:g} (liquids)",
                          self.values[e.settings["nu"]].span,
                          "below it the current comes out too high (by about 1.6 % at Sc = 10 and 12 % at "
                          f"Sc = 1); nu = {nu:.3g} m^2/s, D = {D:.3g} m^2/s")

    def warnings(self) -> None:
        if "concentrated" in self.transport_ir:  # the salt is used by no step, by design
            for name, p in self.d.params.items():
                if name not in self.used_params:
                    self.warn(f"parameter '{name}' is never used", p.name.span)
            return
        migration = "migration" in self.transport_ir
        for name, (decl, ident) in self.d.species.items():
            if migration and name in self.species_ir and self.species_ir[name].z_declared:
                continue  # a supporting electrolyte's ion
            if not decl.surface and name not in self.used_species:
                self.warn(f"species '{name}' is not used by any step", ident.span)
        for name, p in self.d.params.items():
            if name not in self.used_params:
                self.warn(f"parameter '{name}' is never used", p.name.span)
        if not self.d.steps:
            self.warn("the mechanism has no reaction steps", Span(self.file))

    def ordered_values(self) -> dict[str, ir.Value]:
        out: dict[str, ir.Value] = {}
        visiting: set[str] = set()

        def visit(n: str):
            if n in out or n not in self.values or n in visiting:
                return
            visiting.add(n)
            for sym in sorted(self.values[n].expr.free_symbols, key=lambda s: s.name):
                visit(sym.name)
            visiting.discard(n)
            out[n] = self.values[n]

        for n in self.values:
            visit(n)
        return out

    def build(self) -> ir.Model:
        self.build_params()
        self.build_sites()
        self.build_species()
        self.build_laws()
        steps = self.build_steps()
        transport = self.transport_ir = self.build_transport()
        experiments = self.build_experiments()
        if "concentrated" in transport:
            self.check_concentrated(steps)
        elif not any(st.is_electron_transfer for st in steps):  # nothing could carry the current
            for e in experiments.values():
                if e.technique == "galvanostatic":
                    self.err(f"experiment '{e.name}' (galvanostatic) needs an electron transfer to carry "
                             "its current", e.span)
        self.check_diffusion()
        for name, other, span in self.d_depends:  # the species a D reads must be simulated
            if other not in self.species_in_steps:
                self.err(f"D of '{name}' depends on [{other}], which no step uses, so it is not simulated",
                         span, f"write its value instead, or add '{other}' to a step")
        if "migration" in transport:
            self.check_migration(experiments)
        if not any(d.severity == "error" for d in self.diags):  # the values are sound: check them
            self.check_coefficients()
            self.check_schmidt(steps, experiments)
        self.warnings()
        mech = self.d.mechanism
        return ir.Model(
            file=self.file,
            name=mech.name.name if mech else None,
            description=mech.description if mech else None,
            species=tuple(self.species_ir.values()),
            values=self.ordered_values(),
            steps=tuple(steps),
            laws=self.law_ir,
            experiments_=experiments,
            transport=transport,
            poisson=dict(self.poisson_ir),
            diagnostics=(),
            sites=tuple(self.sites_ir.values()),
        )


def _g(x: float) -> str:
    return f"{x:g}"


def _finish(builder: _Builder, loader_diags: list[Diagnostic]) -> ir.Model:
    model = builder.build()
    seen = set()
    errors, warns = [], []
    for d in [*loader_diags, *builder.diags]:
        key = (d.severity, d.message, d.span)
        if key in seen:
            continue
        seen.add(key)
        (errors if d.severity == "error" else warns).append(d)
    order = lambda d: (d.span.file if d.span else "", d.span.line if d.span else 0, d.span.column if d.span else 0)
    errors.sort(key=order)
    warns.sort(key=order)
    if errors:
        # Warnings are left out here: after an error they are mostly its echoes
        # (a species "not used" because its step failed to build).
        raise ModelError(errors)
    model, cycle_errors = thermo.complete(model)  # cycles need the whole, valid network
    if cycle_errors:
        raise ModelError(cycle_errors)
    return dataclasses.replace(model, diagnostics=tuple(warns))


def load(path, *, display: str | None = None) -> ir.Model:
    """Read, parse, resolve and check a ``.mech`` file.

    Arguments:
        path: the file.
        display: the name used for it in messages (default: ``path`` as given).

    Returns:
        The validated :class:`~mechlang.model.ir.Model`; its warnings are in
        ``model.warnings``.

    Raises:
        MechSyntaxError: a file does not follow the grammar.
        ModelError: everything else a file can get wrong (all such errors at once),
            including a file that cannot be read.

    Example::

        model = mechlang.load("ec.mech")
        model.evaluate()["k0"]
    """
    path = Path(path)
    display = display if display is not None else str(path)
    loader = _Loader()
    try:
        real = path.resolve()
        decls = loader.load_file(real, display, ())
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        raise ModelError(error(f"cannot read '{display}': {reason}", Span(display))) from None
    return _finish(_Builder(decls, display, []), loader.diags)


def load_string(text: str, file: str = "<string>", *, base_dir=None) -> ir.Model:
    """Like :func:`load`, for text; ``use`` paths are relative to ``base_dir`` (default: cwd)."""
    loader = _Loader()
    tree = parse(text, file)
    folder = Path(base_dir) if base_dir is not None else Path.cwd()
    decls = loader.collect(tree, folder.resolve(), ((folder.resolve() / file, file),))
    return _finish(_Builder(decls, file, []), loader.diags)

