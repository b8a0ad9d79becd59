"""The mechanism model (IR): what every stage after validation consumes.

Everything here is validated and in SI units (m, s, mol, V, K, A, J; concentration in
mol/m^3).  Nothing downstream re-checks names or units.

Numbers are kept symbolic: every number in the file is a named :class:`Value` whose
``expr`` is a SymPy expression -- a ``sympy.Float`` for a literal, or an expression
of ``sympy.Symbol`` s named after other values for a derived one (``param kb = kc/K``).
At simulation time every value is a runtime input that can be overridden by name.

Value names:
  * ``NAME``            a ``param``
  * ``SPECIES.D``, ``SPECIES.c``   species properties (``c`` defaults to 0)
  * ``STEP.ARG``        a literal or expression written inline in a step's kinetics,
                        e.g. ``E1.k0`` for ``butler_volmer(E0 = E1_0, k0 = 0.1 cm/s, ...)``
                        or ``C1.K``; a bare parameter name refers to the parameter itself
  * ``EXPERIMENT.KEY``  experiment settings (``cv.scan_rate``, ``cv.area``, ``cv.r``)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import sympy

from mechlang.errors import Diagnostic, Span


@dataclass(frozen=True)
class Value:
    """A named number of the file; every one is a runtime, differentiable input."""

    name: str
    expr: sympy.Expr  # SI; sympy.Float for a literal, else an expression of other values' Symbols
    unit: str  # SI unit of the value in pint notation ("m/s", "mol/m**3", "" if dimensionless)
    kind: str  # "param" | "species" | "step" | "experiment"
    span: Span
    display_unit: str = ""  # the unit the file wrote it in ("cm/s"); a bare --set number takes it
    display_scale: float = 1.0  # SI value of one display_unit
    bounds: tuple[float, float] | None = None  # SI
    log: bool = False
    derived_from: str = ""  # how a value the file did not give was derived (a thermodynamic cycle)

    @property
    def symbol(self) -> sympy.Symbol:
        return sympy.Symbol(self.name)

    @property
    def is_literal(self) -> bool:
        return self.expr.is_number


@dataclass(frozen=True)
class Species:
    name: str
    D: str | None  # value name ("O.D"), None when not given
    c: str  # value name ("O.c"); a Value with expr 0 when not given
    z: int = 0
    z_declared: bool = False
    surface: bool = False
    span: Span = Span("<unknown>")
    solid: bool = False  # `species Li: solid`: unit activity, no D, no c (c == ""); see symbolic.system
    site: str | None = None  # surface species: the site it occupies (Langmuir / Frumkin), if any
    D_expr: sympy.Expr | None = None  # D of its own concentration [X] (then D is None), SI
    # transport concentrated (a binary salt): the cation transference number t+ and the
    # salt's partial molar volume (m^3/mol), expressions of [X] and values, SI
    t_plus: sympy.Expr | None = None
    Vm: sympy.Expr | None = None
    # and, for the cell's potential, its conductivity (S/m) and thermodynamic factor
    # 1 + dln f/dln c (None: not given; without kappa no potential is computed)
    kappa: sympy.Expr | None = None
    tdf: sympy.Expr | None = None
    # A surface species' ``c`` is its surface concentration Gamma (mol/m^2), D is None.


@dataclass(frozen=True)
class Site:
    """``site S: Gamma_max = ..., g = ...``: adsorption sites of a surface.

    Steps that put species from solution onto a site go as the free fraction 1 - theta
    (Langmuir), with a Frumkin interaction exp(-g theta / 2) forward and exp(g theta / 2)
    backward per site taken (g > 0 repulsive), theta the site's total coverage."""

    name: str
    gamma_max: str  # value name, mol/m^2
    g: str  # value name, dimensionless
    span: Span = Span("<unknown>")


@dataclass(frozen=True)
class LawCall:
    """Kinetics of an electron-transfer step: a registered or user law."""

    law: str  # "nernst", "butler_volmer", "marcus", "mhc", or a user law's name
    args: tuple[tuple[str, str], ...]  # (law parameter name, value name), in the law's order
    options: tuple[tuple[str, float], ...] = ()  # static keyword-only options, defaults filled
    #                                             (e.g. (("exact", 0.0),) for mhc)


@dataclass(frozen=True)
class MassAction:
    """``k =`` (kb None), ``kf =, kb =`` or ``kf =, K =`` (kb a derived value kf/K)."""

    kf: str  # value name
    kb: str | None = None  # value name


@dataclass(frozen=True)
class RateExpr:
    """``rate = EXPR``: the net forward rate (mol/m^3/s); ``[X]`` is Symbol("[X]")."""

    rate: sympy.Expr


Kinetics = LawCall | MassAction | RateExpr


@dataclass(frozen=True)
class Step:
    label: str  # given label, or R1, R2, ... by position
    reactants: tuple[tuple[str, int], ...]  # (species, stoichiometric coefficient), e- excluded
    products: tuple[tuple[str, int], ...]
    electrons: int  # n of a reduction Ox + n e- -> Red; 0 for a chemical step
    reversible: bool
    kinetics: Kinetics
    span: Span
    surface: bool = False  # involves a surface species: a step at the electrode, rates per area

    @property
    def is_electron_transfer(self) -> bool:
        return self.electrons > 0

    @property
    def at_electrode(self) -> bool:
        return self.electrons > 0 or self.surface


@dataclass(frozen=True)
class UserLaw:
    """``law NAME(ARGS) { kred = ..., kox = ... }``.

    ``kred``/``kox`` are SymPy expressions of Symbols named after ``params`` and of
    ``Symbol("E")`` and ``Symbol("T")``; F and R are already numbers and ``f`` is F/(R*T).
    """

    name: str
    params: tuple[str, ...]
    kred: sympy.Expr
    kox: sympy.Expr
    span: Span


@dataclass(frozen=True)
class Experiment:
    name: str
    technique: str  # "cv" | "lsv" | "ca" | "galvanostatic" | "polarization"
    geometry: str  # "planar" | "spherical" | "rotating_disk" (settings omega, nu)
    settings: Mapping[str, str]  # key -> value name: E_start, E_vertex, E_end, scan_rate, E_initial,
    #                              E_step, duration, current, area, T, r, Ru, Cdl (those that apply; defaults filled)
    cycles: int = 1  # static: it sets the number of time steps
    span: Span = Span("<unknown>")
    points: int = 0  # polarization: number of potentials, static (it sets the array shape)
    # transport concentrated: the current density (A/m^2) as an expression of the time
    # Symbol("t") and values, when `current_density = ...` uses t (else None)
    programme: sympy.Expr | None = None


def _frozen(d) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class Model:
    """A parsed, resolved and validated mechanism."""

    file: str
    name: str | None
    description: str | None
    species: tuple[Species, ...]
    values: Mapping[str, Value]  # every number of the file, ordered so that dependencies come first
    steps: tuple[Step, ...]
    laws: Mapping[str, UserLaw]
    experiments_: Mapping[str, Experiment]
    transport: tuple[str, ...] = ("diffusion",)  # or ("none",): surface = bulk, steady state
    sites: tuple[Site, ...] = ()
    # `migration(debye = ...)`: Poisson's equation; setting (debye or eps_r, E_pzc, stern) -> value name
    poisson: Mapping[str, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)  # warnings

    def __post_init__(self):
        object.__setattr__(self, "values", _frozen(self.values))
        object.__setattr__(self, "laws", _frozen(self.laws))
        object.__setattr__(self, "poisson", _frozen(self.poisson))
        object.__setattr__(self, "experiments_", _frozen(self.experiments_))

    # -- the public face -------------------------------------------------------------
    @property
    def experiments(self) -> list[str]:
        """Names of the experiments, in file order."""
        return list(self.experiments_)

    def experiment(self, name: str) -> Experiment:
        return self.experiments_[name]

    @property
    def parameters(self) -> dict[str, float]:
        """Every number of the file but the experiment settings: name -> SI value."""
        numbers = self.evaluate()
        return {k: numbers[k] for k, v in self.values.items() if v.kind != "experiment"}

    @property
    def computes_potential(self) -> bool:
        """Whether a run computes an electrode potential (``Result.E``): always, but for
        ``transport concentrated`` only when the salt has a conductivity ``kappa`` (there
        are no electrode kinetics; E is the cell's potential, else zeros that mean nothing)."""
        if "concentrated" not in self.transport:
            return True
        return any(s.kappa is not None for s in self.species if not s.surface and not s.solid)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    def species_named(self, name: str) -> Species:
        for s in self.species:
            if s.name == name:
                return s
        raise KeyError(name)

    def rate_constants(self, step: str, E, params: Mapping[str, float] | None = None):
        """``(k_red, k_ox)`` in m/s of electron-transfer step ``step`` at potentials ``E`` (V).

        ``step`` is a label (``"E1"``; unlabelled steps are ``"R1"``, ``"R2"``, ...);
        ``params`` overrides values by name, in SI, as ``sim(params)`` does, and ``"T"``
        sets the temperature (default: the first experiment's).  JAX arrays in, JAX arrays
        out: it jits and differentiates.  See :func:`mechlang.kinetics.rates.rate_constants`.
        """
        from mechlang.kinetics.rates import rate_constants

        return rate_constants(self, step, E, params)

    def evaluate(self, overrides: Mapping[str, float] | None = None) -> dict[str, float]:
        """SI values of every value, derived ones evaluated (numpy floats, not traced)."""
        overrides = dict(overrides or {})
        out: dict[str, float] = {}
        for name, v in self.values.items():
            if name in overrides:
                out[name] = float(overrides[name])
            else:
                subs = {sympy.Symbol(k): out[k] for k in map(str, v.expr.free_symbols) if k != "T"}
                if "T" in map(str, v.expr.free_symbols):  # a value derived at the cell temperature
                    subs[sympy.Symbol("T")] = self.temperature()
                out[name] = float(v.expr.subs(subs))
        return out

    def temperature(self) -> float:
        """The temperature of the first experiment (298.15 K without one), for values that
        depend on it outside a simulation; a simulation uses its own experiment's T."""
        for e in self.experiments_.values():
            v = self.values.get(e.settings.get("T", ""))
            if v is not None and v.expr.is_number:
                return float(v.expr)
        return 298.15
