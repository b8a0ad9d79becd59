"""Units: parsing the unit text of a ``.mech`` file, SI conversion, dimensions.

A unit is written as factors ``NAME[^EXP]`` (or ``NAME**EXP``) joined by ``/``, ``*`` or a space
(``cm^2/s``, ``M^-1 s^-1``, ``mV/s``).  ``/`` divides by the one factor that
follows it.  Each name is an SI prefix on one of ``m L l mol M s A V C K Hz F ohm
J eV g St``, or one of ``min h rpm rps rev rad degC inch`` (``rad`` is dimensionless, so a
rotation rate is written ``rad/s``, ``rpm`` = ``rev/min`` (2π/60 rad/s) or ``rps`` = ``rev/s``
(2π rad/s); ``cSt`` is the centistokes, 1e-6 m²/s).  In a rotation rate (``rotation=True``)
``Hz`` counts revolutions per second like ``rps``; elsewhere it is 1/s.  ``h`` is the hour
(not Planck's constant) and ``F`` is the farad (in an expression ``F`` is Faraday's constant;
that is the expression's business, not this module's).

Pint supplies the dimension of every unit and the size of the non-decimal ones
(``min``, ``h``, ``rpm``, ``eV``, ``inch``, ``degC``); decimal prefixes are kept
exact with :class:`fractions.Fraction` so that ``1 mM`` is exactly 1 mol/m^3.

Dimensions are :class:`Dim` values (exponents of length, time, amount, current,
temperature, mass).  :func:`dimension_name` writes them the way an
electrochemist reads them: ``length^2/time``, ``1/(concentration·time)``,
``potential/time``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Iterable, Mapping

from mechlang.errors import DataError, error

__all__ = [
    "Dim",
    "UnitError",
    "UnitInfo",
    "parse_unit",
    "parse_quantity",
    "dim_of",
    "si_unit",
    "dimension_name",
    "check_dimension",
    "DIMENSIONLESS",
    "LENGTH",
    "TIME",
    "AMOUNT",
    "TEMPERATURE",
    "CONCENTRATION",
    "POTENTIAL",
    "ENERGY",
    "CURRENT",
    "CHARGE",
    "RESISTANCE",
    "CAPACITANCE",
]

_BASES = ("length", "time", "amount", "current", "temperature", "mass", "luminosity")
_PINT_BASES = {
    "[length]": "length",
    "[time]": "time",
    "[substance]": "amount",
    "[current]": "current",
    "[temperature]": "temperature",
    "[mass]": "mass",
    "[luminosity]": "luminosity",
}


class UnitError(ValueError):
    """A unit text that cannot be understood; the message says why."""


# -- dimensions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Dim:
    """A physical dimension: exponents of the base dimensions (Fractions)."""

    exps: tuple[tuple[str, Fraction], ...] = ()

    @staticmethod
    def of(**exps) -> "Dim":
        return Dim._make(exps)

    @staticmethod
    def _make(exps: Mapping[str, object]) -> "Dim":
        items = []
        for base in _BASES:
            e = Fraction(exps.get(base, 0)).limit_denominator(1000)
            if e:
                items.append((base, e))
        return Dim(tuple(items))

    def __getitem__(self, base: str) -> Fraction:
        return dict(self.exps).get(base, Fraction(0))

    def __mul__(self, other: "Dim") -> "Dim":
        d = dict(self.exps)
        for k, v in other.exps:
            d[k] = d.get(k, 0) + v
        return Dim._make(d)

    def __truediv__(self, other: "Dim") -> "Dim":
        return self * other ** -1

    def __pow__(self, p) -> "Dim":
        p = Fraction(p).limit_denominator(1000)
        return Dim._make({k: v * p for k, v in self.exps})

    @property
    def dimensionless(self) -> bool:
        return not self.exps

    def __str__(self) -> str:
        return dimension_name(self)


DIMENSIONLESS = Dim()
LENGTH = Dim.of(length=1)
TIME = Dim.of(time=1)
AMOUNT = Dim.of(amount=1)
TEMPERATURE = Dim.of(temperature=1)
CURRENT = Dim.of(current=1)
MASS = Dim.of(mass=1)
CONCENTRATION = AMOUNT / LENGTH**3
ENERGY = MASS * LENGTH**2 / TIME**2
POTENTIAL = ENERGY / (CURRENT * TIME)
CHARGE = CURRENT * TIME
RESISTANCE = POTENTIAL / CURRENT
CAPACITANCE = CHARGE / POTENTIAL


# -- unit names --------------------------------------------------------------------------

_PREFIXES = {
    "T": Fraction(10) ** 12,
    "G": Fraction(10) ** 9,
    "M": Fraction(10) ** 6,
    "k": Fraction(10) ** 3,
    "d": Fraction(1, 10),
    "c": Fraction(1, 100),
    "m": Fraction(1, 1000),
    "u": Fraction(1, 10**6),
    "µ": Fraction(1, 10**6),
    "μ": Fraction(1, 10**6),
    "n": Fraction(1, 10**9),
    "p": Fraction(1, 10**12),
    "f": Fraction(1, 10**15),
}

# base symbol -> (pint name, exact SI size or None to ask pint)
_PREFIXABLE = {
    "m": ("meter", Fraction(1)),
    "L": ("liter", Fraction(1, 1000)),
    "l": ("liter", Fraction(1, 1000)),
    "mol": ("mole", Fraction(1)),
    "M": ("molar", Fraction(1000)),
    "s": ("second", Fraction(1)),
    "A": ("ampere", Fraction(1)),
    "V": ("volt", Fraction(1)),
    "C": ("coulomb", Fraction(1)),
    "K": ("kelvin", Fraction(1)),
    "Hz": ("hertz", Fraction(1)),
    "F": ("farad", Fraction(1)),
    "ohm": ("ohm", Fraction(1)),
    "Ω": ("ohm", Fraction(1)),
    "S": ("siemens", Fraction(1)),  # conductance: mS/cm for an electrolyte's conductivity
    "J": ("joule", Fraction(1)),
    "eV": ("electron_volt", None),
    "g": ("gram", Fraction(1, 1000)),
    "St": ("stokes", Fraction(1, 10**4)),  # kinematic viscosity: 1 cSt = 1e-6 m^2/s
}

# names that are never read as prefix + base
_SPECIAL = {
    "min": "minute",
    "h": "hour",
    "rpm": "revolutions_per_minute",
    "rps": "revolutions_per_second",
    "rev": "revolution",
    "rad": "radian",
    "degC": "degree_Celsius",
    "inch": "inch",
}

_OFFSET_UNITS = {"degC"}


@lru_cache(maxsize=1)
def registry():
    """The pint registry (created on first use)."""
    import pint

    return pint.UnitRegistry()


@lru_cache(maxsize=None)
def _pint_info(pint_name: str) -> tuple[Fraction, float, Dim]:
    """(SI size of one unit, SI offset, dimension) of a pint unit name."""
    ureg = registry()
    one = ureg.Quantity(1.0, pint_name).to_base_units()
    zero = ureg.Quantity(0.0, pint_name).to_base_units()
    offset = float(zero.magnitude)
    scale = Fraction(float(one.magnitude) - offset)
    dim = Dim._make({_PINT_BASES[k]: Fraction(v).limit_denominator(1000) for k, v in one.dimensionality.items()})
    return scale, offset, dim


def known_unit_names() -> list[str]:
    """Every unit name a file may use (for suggestions)."""
    names = set(_SPECIAL)
    names.update(_PREFIXABLE)
    for p in _PREFIXES:
        if p in ("µ", "μ"):
            continue
        for b in _PREFIXABLE:
            if b != "Ω":
                names.add(p + b)
    return sorted(names)


def _resolve_name(name: str) -> tuple[str, Fraction, float, Dim]:
    """(pint name, SI size, SI offset, dim) of one written unit name."""
    if name in _SPECIAL:
        pname = _SPECIAL[name]
        scale, offset, dim = _pint_info(pname)
        return pname, scale, offset, dim
    candidates = []
    if name in _PREFIXABLE:
        candidates.append(("", name))
    for p in _PREFIXES:
        if name.startswith(p) and name[len(p):] in _PREFIXABLE:
            candidates.append((p, name[len(p):]))
    if not candidates:
        import difflib

        close = difflib.get_close_matches(name, known_unit_names(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UnitError(f"unknown unit '{name}'{hint}")
    prefix, base = candidates[0]
    pname, size = _PREFIXABLE[base]
    _, _, dim = _pint_info(pname)
    if size is None:
        size, _, _ = _pint_info(pname)
    factor = _PREFIXES[prefix] if prefix else Fraction(1)
    return pname, size * factor, 0.0, dim


_FACTOR = re.compile(r"([^\W\d]\w*|Ω)(?:(?:\^|\*\*)([+-]?\d+(?:\.\d+)?))?")


@dataclass(frozen=True)
class UnitInfo:
    """A parsed unit: ``SI value = written value * scale + offset``."""

    text: str
    scale: Fraction
    dim: Dim
    offset: float = 0.0

    @property
    def si(self) -> str:
        return si_unit(self.dim)

    def to_si(self, value) -> float:
        """SI value of ``value`` written in this unit (exact for decimal text)."""
        if isinstance(value, str):
            value = Fraction(value)
        elif isinstance(value, float):
            value = Fraction(value)
        return float(value * self.scale) + self.offset


def is_hertz(name: str) -> bool:
    """``Hz`` with or without a prefix."""
    return name.endswith("Hz") and (name == "Hz" or name[:-2] in _PREFIXES)


_REVOLUTION = Fraction(2 * math.pi)  # rad


@lru_cache(maxsize=None)
def parse_unit(text: str, rotation: bool = False) -> UnitInfo:
    """Parse a unit text such as ``cm^2/s`` or ``M^-1 s^-1``.

    ``rotation``: the unit of a rotation rate, where ``Hz`` counts revolutions per second
    (16 Hz = 16 rev/s = 100.5 rad/s); elsewhere ``Hz`` is 1/s.

    Raises:
        UnitError: unknown names, a unit starting with ``/``, an ambiguous
            ``a/b c``, or an offset unit (``degC``) used in a product.
    """
    s = text.strip()
    if not s:
        return UnitInfo("", Fraction(1), DIMENSIONLESS)
    if s[0] in "/*":
        raise UnitError(f"a unit must start with a name, not '{s[0]}' (write '2 s^-1', not '2 /s')")
    pos = 0
    scale = Fraction(1)
    dim = DIMENSIONLESS
    offset = 0.0
    names = []
    after_slash = False
    op = None
    first = True
    while pos < len(s):
        m = _FACTOR.match(s, pos)
        if not m:
            raise UnitError(f"cannot read the unit '{text.strip()}' at '{s[pos:]}'")
        name, exp_text = m.group(1), m.group(2)
        exp = Fraction(exp_text) if exp_text else Fraction(1)
        if op == "/":
            exp = -exp
            after_slash = True
        elif not first and after_slash:
            raise UnitError(
                f"the unit '{text.strip()}' is ambiguous: after '/' join further factors with '/' "
                f"or write negative exponents (e.g. 'J mol^-1 K^-1')"
            )
        _, size, off, d = _resolve_name(name)
        if rotation and is_hertz(name):
            size = size * _REVOLUTION
        names.append(name)
        if name in _OFFSET_UNITS:
            offset = off
        scale *= size**exp if exp.denominator == 1 else Fraction(float(size) ** float(exp))
        dim = dim * d**exp
        pos = m.end()
        first = False
        # separator
        rest = s[pos:]
        stripped = rest.lstrip(" \t")
        if not stripped:
            break
        if stripped[0] in "/*":
            op = stripped[0]
            pos = len(s) - len(stripped) + 1
            while pos < len(s) and s[pos] in " \t":
                pos += 1
            if pos >= len(s):
                raise UnitError(f"the unit '{text.strip()}' ends with '{op}'")
        elif len(stripped) < len(rest):
            op = " "
            pos = len(s) - len(stripped)
        else:
            raise UnitError(f"cannot read the unit '{text.strip()}' at '{stripped}'")
    if offset and len(names) > 1:
        raise UnitError("'degC' can only be used alone (write K for temperature differences and in products)")
    return UnitInfo(s, scale, dim, offset)


_NUMBER = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*")


def parse_quantity(text: str) -> tuple[float, str, str, float]:
    """Parse ``"5e-3 cm/s"``, ``"5e-3cm/s"`` or ``"0.1"``.

    Returns:
        ``(si_value, si_unit, display_unit, scale)``: the value in SI, the SI unit in
        pint notation (``""`` when dimensionless), the unit as written (``""`` for a
        bare number) and the SI value of one display unit.

    Raises:
        DataError: the text is not a number with an optional known unit.
    """
    m = _NUMBER.match(text)
    if not m:
        raise DataError(error(f"cannot read '{text}' as a quantity: expected a number and an optional unit"))
    unit_text = text[m.end():].strip()
    try:
        info = parse_unit(unit_text)
    except UnitError as e:
        raise DataError(error(f"cannot read '{text}' as a quantity: {e}")) from None
    value = info.to_si(m.group(1))
    return value, info.si, info.text, float(info.scale)


# -- printing dimensions -----------------------------------------------------------------


def _split(dim: Dim, *, concentration: bool) -> list[tuple[str, Fraction]]:
    """Decompose ``dim`` into named factors (potential, energy, concentration, bases)."""
    rest = dim
    parts: list[tuple[str, Fraction]] = []
    for named, ndim in (("resistance", RESISTANCE), ("conductance", DIMENSIONLESS / RESISTANCE),
                        ("capacitance", CAPACITANCE), ("charge", CHARGE)):
        extra = rest / ndim
        if all(base == "length" for base, _ in extra.exps):
            return [(named, Fraction(1))] + list(extra.exps)
    m, c = rest["mass"], rest["current"]
    if m and c and m == -c:
        parts.append(("potential", m))
        rest = rest / POTENTIAL**m
    elif m and not c:
        parts.append(("energy", m))
        rest = rest / ENERGY**m
    a, l_ = rest["amount"], rest["length"]
    if concentration and a and l_ == -3 * a:
        parts.append(("concentration", a))
        rest = rest / CONCENTRATION**a
    for base in _BASES:
        if rest[base]:
            parts.append((base, rest[base]))
    return parts


def _fmt(parts: Iterable[tuple[str, Fraction]], power: str, times: str) -> str:
    def one(name, e):
        if e == 1:
            return name
        e_text = str(e) if e.denominator == 1 else f"({e})"
        return f"{name}{power}{e_text}"

    num = [one(n, e) for n, e in parts if e > 0]
    den = [one(n, -e) for n, e in parts if e < 0]
    top = times.join(num) if num else "1"
    if not den:
        return top
    bottom = den[0] if len(den) == 1 else "(" + times.join(den) + ")"
    return f"{top}/{bottom}"


def _as_dim(unit) -> Dim:
    if isinstance(unit, Dim):
        return unit
    if isinstance(unit, UnitInfo):
        return unit.dim
    return dim_of(unit)


def dimension_name(unit) -> str:
    """``"length^2/time"``-style name of a dimension (a Dim, or a unit text)."""
    dim = _as_dim(unit)
    if dim.dimensionless:
        return "dimensionless"
    return _fmt(_split(dim, concentration=True), "^", "·")


_SI_SYMBOL = {
    "potential": "V",
    "energy": "J",
    "resistance": "ohm",
    "conductance": "S",
    "capacitance": "F",
    "charge": "C",
    "length": "m",
    "time": "s",
    "amount": "mol",
    "current": "A",
    "temperature": "K",
    "mass": "kg",
    "luminosity": "cd",
}


def si_unit(unit) -> str:
    """The SI unit of a dimension in pint notation: ``"m**2/s"``, ``"V"``, ``""``."""
    dim = _as_dim(unit)
    if dim.dimensionless:
        return ""
    parts = [(_SI_SYMBOL[n], e) for n, e in _split(dim, concentration=False)]
    order = ["V", "J", "ohm", "S", "F", "C", "A", "mol", "m", "kg", "s", "K", "cd"]
    parts.sort(key=lambda p: order.index(p[0]))
    return _fmt(parts, "**", "*")


def format_unit(unit: str | None) -> str:
    """A unit as the command line and its reports show it: carets for powers and a space
    for products, as a .mech file writes them (``m**2/s`` -> ``m^2/s``, ``mol/m**3`` ->
    ``mol/m^3``, ``m**3/(mol*s)`` -> ``m^3/(mol s)``); a unit already in that notation
    (``cm^2/s``) is returned as it is, ``None`` as ``""``."""
    if not unit:
        return ""
    return str(unit).replace("**", "^").replace("*", " ")


@lru_cache(maxsize=None)
def dim_of(unit: str) -> Dim:
    """Dimension of a unit text: the file's notation (``cm^2/s``) or pint's (``m**2/s``)."""
    if unit is None or not unit.strip():
        return DIMENSIONLESS
    try:
        return parse_unit(unit).dim
    except UnitError:
        pass
    import pint

    try:
        q = registry().Quantity(1.0, unit)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError) as e:
        raise UnitError(f"unknown unit '{unit}'") from e
    return Dim._make({_PINT_BASES[k]: Fraction(v).limit_denominator(1000) for k, v in q.dimensionality.items()})


def check_dimension(si_unit_text: str, expected_si_unit: str) -> bool:
    """True when the two units have the same dimension."""
    return dim_of(si_unit_text) == dim_of(expected_si_unit)
