"""Thermodynamic consistency of the reaction network.

Reversible steps that close a cycle (a square scheme, a DISP step beside its electron
transfers, an ECE with a homogeneous cross reaction) are not independent: around any
combination of steps that leaves every species unchanged, the free energies add up to
zero.  With ln K_j of a chemical step = ln(kf/kb) and of an electron transfer
= n F E0 / (R T) (the reduction), every integer vector c in the null space of the
stoichiometric matrix must satisfy  sum_j c_j ln K_j = 0.  A file that gives every
constant of such a cycle must give consistent ones (DigiSim's "thermodynamically
superfluous reactions"), and one constant of a cycle may be left to it:

* a reversible chemical step given only ``kf`` gets kb = kf / K,
* an electron transfer whose built-in law omits ``E0`` (``nernst()``,
  ``butler_volmer(k0 = ..., alpha = ...)``) gets E0 = R T ln K / (n F),

with ln K = -(sum of c_j ln K_j over the cycle's other steps) / c_step, an expression of
the other steps' values and of the temperature ``T`` of the experiment being simulated.
A value derived from one cycle may close another (derivations chain); a cycle that
fixes a value twice is checked like any other.
"""

from __future__ import annotations

import dataclasses

import sympy

from mechlang import constants, kinetics
from mechlang.errors import Diagnostic, error
from mechlang.model import ir

PENDING = sympy.Symbol("__from_thermodynamic_cycle__")  # a value left to a cycle: kb or E0
T_SYM = sympy.Symbol("T")
# F and R stay symbols while a value is derived, so that F/(R T) * (R T/F) cancels exactly.
_F, _R = sympy.Symbol("__F__"), sympy.Symbol("__R__")
_CONSTANTS = {_F: constants.F, _R: constants.R}


def pending_value(step: ir.Step, values) -> str | None:
    """The name of the value of ``step`` left to a thermodynamic cycle (its kb or E0), or None."""
    kin = step.kinetics
    if isinstance(kin, ir.MassAction):
        name = kin.kb
    elif isinstance(kin, ir.LawCall):
        name = dict(kin.args).get("E0")
    else:
        return None
    return name if name and values[name].expr == PENDING else None


def _ln_K(model: ir.Model, step: ir.Step, T, values=None):
    """ln of the equilibrium constant (SI concentrations) as a SymPy expression of values, or None.

    F and R appear as the symbols ``_F`` and ``_R`` (see ``_CONSTANTS``)."""
    values = model.values if values is None else values
    kin = step.kinetics
    if not step.reversible or pending_value(step, values):
        return None
    if isinstance(kin, ir.MassAction):
        if not kin.kb:
            return None
        return sympy.log(sympy.Symbol(kin.kf)) - sympy.log(sympy.Symbol(kin.kb))
    if isinstance(kin, ir.LawCall):
        args = dict(kin.args)
        if kin.law in model.laws:
            law = model.laws[kin.law]
            subs = {sympy.Symbol(p): sympy.Symbol(args[p]) for p in law.params}
            ratio = sympy.log(law.kred.subs(subs)) - sympy.log(law.kox.subs(subs))
            return sympy.simplify(ratio.subs({sympy.Symbol("E"): 0, sympy.Symbol("T"): T}))
        if kinetics.get(kin.law) is not None and "E0" in args:
            return step.electrons * _F / (_R * T) * sympy.Symbol(args["E0"])
    return None


def cycles(model: ir.Model) -> list[dict[str, int]]:
    """Independent thermodynamic cycles: step label -> integer multiplicity."""
    # (Steps with surface species are left out: their constants are per site, not per volume.)
    steps = [s for s in model.steps if s.reversible and not isinstance(s.kinetics, ir.RateExpr) and not s.surface]
    species = sorted({n for s in steps for n, _ in s.reactants + s.products})
    if not steps:
        return []
    N = sympy.zeros(len(species) + 1, len(steps))  # the last row counts electrons: cycles pass none
    for j, s in enumerate(steps):
        N[len(species), j] = -s.electrons
        for n, k in s.reactants:
            N[species.index(n), j] -= k
        for n, k in s.products:
            N[species.index(n), j] += k
    out = []
    for vec in N.nullspace():
        scale = sympy.ilcm(*[sympy.fraction(x)[1] for x in vec])
        ints = [int(x * scale) for x in vec]
        out.append({steps[j].label: c for j, c in enumerate(ints) if c})
    return out


def _cycle_text(cycle: dict[str, int]) -> str:
    return " ".join(f"{'+' if c > 0 else '-'} {abs(c) if abs(c) != 1 else ''}{lab}".replace("  ", " ")
                    for lab, c in cycle.items()).lstrip("+ ")


def _what(step: ir.Step) -> str:
    """What a step leaves to the cycles, in words ("the E0 of E2", "the K of C2")."""
    return f"the {'E0' if isinstance(step.kinetics, ir.LawCall) else 'K'} of {step.label}"


def _give(step: ir.Step) -> str:
    return "E0" if isinstance(step.kinetics, ir.LawCall) else "K or kb"


def _derive(step: ir.Step, cycle: dict[str, int], others: dict) -> sympy.Expr:
    """The value ``step`` leaves to ``cycle``, from the ln K of the cycle's other steps."""
    ln_K = -sum(cycle[lab] * term for lab, term in others.items()) / cycle[step.label]
    if isinstance(step.kinetics, ir.LawCall):  # E0 = R T ln K / (n F)
        volts = sympy.expand(ln_K * _R * T_SYM / (step.electrons * _F))
        # Other formal potentials enter as such; the chemical steps' ln K times R T/(n F).
        potentials = sum((t for t in sympy.Add.make_args(volts) if T_SYM not in t.free_symbols), sympy.S.Zero)
        rest = sympy.expand((volts - potentials) * step.electrons * _F / (_R * T_SYM))
        if rest == 0:
            return potentials.subs(_CONSTANTS)
        coefficient = (_R / (step.electrons * _F)).subs(_CONSTANTS)
        return potentials + sympy.Mul(coefficient * T_SYM, rest.subs(_CONSTANTS))  # not distributed
    return (sympy.Symbol(step.kinetics.kf) * sympy.exp(-ln_K)).subs(_CONSTANTS)


def complete(model: ir.Model) -> tuple[ir.Model, list[Diagnostic]]:
    """Derive the values left to the cycles (kb, E0), then check every cycle.

    Returns the model with those values filled in, and the errors."""
    values = dict(model.values)
    left = {s.label: s for s in model.steps if pending_value(s, values)}
    if not left:
        return model, check(model)
    by_label = {s.label: s for s in model.steps}
    all_cycles = cycles(model)
    progress = True
    while left and progress:  # a derived value may close the next cycle
        progress = False
        for label, step in list(left.items()):
            for cycle in all_cycles:
                if label not in cycle:
                    continue
                others = {lab: _ln_K(model, by_label[lab], T_SYM, values) for lab in cycle if lab != label}
                if any(v is None for v in others.values()):
                    continue
                name = pending_value(step, values)
                values[name] = dataclasses.replace(values[name], expr=_derive(step, cycle, others),
                                                   derived_from=f"thermodynamic cycle {_cycle_text(cycle)}")
                del left[label]
                progress = True
                break
    diags, reported = [], set()
    for label, step in left.items():
        if label in reported:
            continue
        name = pending_value(step, values)
        lead = (f"step {label} omits E0" if isinstance(step.kinetics, ir.LawCall)
                else f"step {label} gives only kf")
        closing = sorted((c for c in all_cycles if label in c), key=lambda c: sum(lab in left for lab in c))
        if not step.reversible:
            diags.append(error(f"{lead}, but it is irreversible (->) and so closes no thermodynamic cycle "
                               f"that could fix it: give {_give(step)}", values[name].span))
        elif not closing:
            diags.append(error(f"{lead}, but closes no thermodynamic cycle that could fix it: give {_give(step)}",
                               values[name].span))
        else:
            cycle = closing[0]
            unknown = [by_label[lab] for lab in cycle if lab in left and lab != label]
            reported.update(s.label for s in unknown)
            diags.append(error(
                f"{lead}, but the thermodynamic cycle it closes ({_cycle_text(cycle)}) has another unknown: "
                + " and ".join(_what(s) for s in unknown)
                + f"; a cycle fixes only one constant: give {_give(step)} here, or "
                + " or ".join(f"{_give(s)} on {s.label}" for s in unknown),
                values[name].span))
    if diags:
        return model, diags
    # Derived values depend on the other steps' values: keep dependencies first.
    ordered, seen = {}, set()

    def visit(name):
        if name in seen or name not in values:
            return
        seen.add(name)
        for dep in values[name].expr.free_symbols:
            visit(dep.name)
        ordered[name] = values[name]

    for name in values:
        visit(name)
    model = dataclasses.replace(model, values=ordered)
    return model, check(model)


def _numbers_at(model: ir.Model, T: float) -> dict[str, float]:
    """SI values of every value, those derived at the cell temperature evaluated at ``T``."""
    out: dict[str, float] = {}
    for name, v in model.values.items():
        subs = {sympy.Symbol(k): out[k] for k in map(str, v.expr.free_symbols) if k != "T"}
        subs[T_SYM] = T
        out[name] = float(v.expr.subs(subs))
    return out


def check(model: ir.Model, rtol: float = 1e-6) -> list[Diagnostic]:
    """Errors for cycles whose constants are inconsistent, at every temperature used.

    A cycle that contains a derived value is checked too: the cycle it was derived from
    closes by construction, and any other cycle through it must agree."""
    temps = sorted({round(v, 9) for v in (model.evaluate()[e.settings["T"]] for e in model.experiments_.values())})
    by_label = {s.label: s for s in model.steps}
    numbers_at = {T: _numbers_at(model, T) for T in temps or [298.15]}
    diags = []
    for cycle in cycles(model):
        for T, numbers in numbers_at.items():
            terms = {lab: _ln_K(model, by_label[lab], T) for lab in cycle}
            if any(t is None for t in terms.values()):
                continue
            values = {lab: float(t.subs(_CONSTANTS).subs({sympy.Symbol(k): numbers[k]
                                                          for k in map(str, t.free_symbols) if k in numbers}))
                      for lab, t in terms.items()}
            total = sum(c * values[lab] for lab, c in cycle.items())
            size = sum(abs(c * values[lab]) for lab, c in cycle.items())
            if abs(total) > rtol * max(size, 1.0):
                text = _cycle_text(cycle)
                mV = 1e3 * total * constants.R * T / constants.F
                last = max((by_label[lab] for lab in cycle), key=lambda s: (s.span.line, s.span.column))
                derived = [v for v in (model.values[n] for n in _step_values(by_label, cycle)) if v.derived_from]
                notes = [f"{v.name} is not in the file: it follows from the {v.derived_from}, and this "
                         "cycle fixes it differently" for v in derived] or [
                    "make one constant follow from the others with a param expression, e.g. "
                    "K2 = K1 * exp(F*(E0_2 - E0_1)/(R*T))"]
                diags.append(error(
                    f"the steps {', '.join(cycle)} form a thermodynamic cycle ({text}) whose constants do not "
                    f"close: the sum of ln K around it is {total:+.4g} instead of 0 at {T:g} K "
                    f"(a factor {pow(2.718281828459045, abs(total)):.4g} in an equilibrium constant, or "
                    f"{abs(mV):.3g} mV in a formal potential)",
                    last.span, *notes))
                break
    return diags


def _step_values(by_label, cycle) -> list[str]:
    """The names of the kb and E0 values of the cycle's steps."""
    out = []
    for lab in cycle:
        kin = by_label[lab].kinetics
        if isinstance(kin, ir.MassAction) and kin.kb:
            out.append(kin.kb)
        elif isinstance(kin, ir.LawCall) and "E0" in dict(kin.args):
            out.append(dict(kin.args)["E0"])
    return out
