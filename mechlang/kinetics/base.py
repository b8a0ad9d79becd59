"""The interface of an electron-transfer law, and the registry of built-in laws.

A law is one small file in this package that calls :func:`register`.  It turns the
electrode potential into heterogeneous rate constants (m/s) of the reduction and the
oxidation, as SymPy expressions, or -- for an equilibrium law such as ``nernst`` --
says that the surface concentrations obey the Nernst equation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import sympy

from mechlang import constants

# SymPy symbols every law may use.
E = sympy.Symbol("E")  # electrode potential, V
T = sympy.Symbol("T")  # temperature, K


def f_of(T_):
    """F/RT, 1/V."""
    return constants.F / (constants.R * T_)


@dataclass(frozen=True)
class KineticLaw:
    """An electron-transfer law.

    Attributes:
        name: the word written in a ``.mech`` file.
        params: argument names, in positional order.
        units: the SI unit each argument must have (pint notation, "" = dimensionless).
        options: keyword-only arguments with defaults (static structure, e.g. ``exact``).
        rates: ``rates(E, T, n, args, options) -> (kred, kox)`` in m/s, SymPy; None for
            an equilibrium law.
        equilibrium: True for ``nernst``: the surface obeys
            ``c_ox / c_red = exp(n f (E - E0))`` instead of a finite rate.
        coverage: the law reads the site coverages of the step's two sides, given to
            ``rates`` as ``args["theta_ox"]`` and ``args["theta_red"]`` (surface steps only).
        doc: one line for ``mechlang show`` and error messages.
    """

    name: str
    params: tuple[str, ...]
    units: tuple[str, ...]
    rates: Callable | None = None
    options: Mapping[str, float] = field(default_factory=dict)
    equilibrium: bool = False
    doc: str = ""
    coverage: bool = False


REGISTRY: dict[str, KineticLaw] = {}


def register(law: KineticLaw) -> KineticLaw:
    REGISTRY[law.name] = law
    return law


def get(name: str) -> KineticLaw | None:
    from mechlang import kinetics  # noqa: F401  (imports every built-in law)

    return REGISTRY.get(name)
