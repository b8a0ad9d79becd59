"""Thermodynamic consistency of the reaction network.

Reversible steps that close a cycle (a square scheme, a DISP step beside its electron
transfers, an ECE with a homogeneous cross reaction) are not independent: around any
combination of steps that leaves every species unchanged, the free energies add up to
zero.  With ln K_j of a chemical step = ln(kf/kb) and of an electron transfer
= n F E0 / (R T) (the reduction), every integer vector c in the null space of the
stoichiometric matrix must satisfy  sum_j c_j ln K_j = 0.  A file that gives every
constant of such a cycle must give consistent ones (DigiSim's "thermodynamically
superfluous reactions"), and a reversible chemical step given only ``kf`` gets its
equilibrium constant from the cycle it closes: kb = kf / K with
ln K = -(sum of c_j ln K_j over the cycle's other steps) / c_step, an expression of the
other steps' values and of the temperature ``T`` of the experiment being simulated.
"""

from __future__ import annotations

import sympy

import dataclasses

from mechlang import constants, kinetics
from mechlang.errors import Diagnostic, error
from mechlang.model import ir

PENDING = sympy.Symbol("__from_thermodynamic_cycle__")  # kb of a step given only kf
T_SYM = sympy.Symbol("T")


def _ln_K(model: ir.Model, step: ir.Step, T: float):
    """ln of the equilibrium constant (SI concentrations) as a SymPy expression of values, or None."""
    kin = step.kinetics
    if not step.reversible:
        return None
    if isinstance(kin, ir.MassAction):
        if not kin.kb or model.values[kin.kb].expr == PENDING:
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
            return step.electrons * constants.F / (constants.R * T) * sympy.Symbol(args["E0"])
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


def complete(model: ir.Model) -> tuple[ir.Model, list[Diagnostic]]:
    """Derive the equilibrium constants left to the cycles, then check every cycle.

    Returns the model with those ``kb`` values filled in, and the errors."""
    pending = [s for s in model.steps if isinstance(s.kinetics, ir.MassAction) and s.kinetics.kb
               and model.values[s.kinetics.kb].expr == PENDING]
    if not pending:
        return model, check(model)
    by_label = {s.label: s for s in model.steps}
    values = dict(model.values)
    diags = []
    all_cycles = cycles(model)
    for step in pending:
        found = None
        for cycle in all_cycles:
            if step.label not in cycle:
                continue
            others = {lab: _ln_K(model, by_label[lab], T_SYM) for lab in cycle if lab != step.label}
            if all(v is not None for v in others.values()):
                found = cycle, others
                break
        kb = step.kinetics.kb
        if found is None:
            diags.append(error(
                f"step {step.label} gives only kf, but closes no thermodynamic cycle whose other "
                "constants are all given: give K or kb", model.values[kb].span))
            continue
        cycle, others = found
        ln_K = -sum(cycle[lab] * term for lab, term in others.items()) / cycle[step.label]
        values[kb] = dataclasses.replace(
            values[kb], expr=sympy.Symbol(step.kinetics.kf) * sympy.exp(-ln_K),
            derived_from=f"thermodynamic cycle {_cycle_text(cycle)}")
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
    return model, diags + (check(model) if not diags else [])


def check(model: ir.Model, rtol: float = 1e-6) -> list[Diagnostic]:
    """Errors for cycles whose constants are inconsistent, at every temperature used."""
    temps = sorted({round(v, 9) for v in (model.evaluate()[e.settings["T"]] for e in model.experiments_.values())})
    numbers = model.evaluate()
    by_label = {s.label: s for s in model.steps}
    diags = []
    for cycle in cycles(model):
        if any(isinstance(by_label[lab].kinetics, ir.MassAction) and by_label[lab].kinetics.kb
               and model.values[by_label[lab].kinetics.kb].derived_from for lab in cycle):
            continue  # closed by construction
        for T in temps or [298.15]:
            terms = {lab: _ln_K(model, by_label[lab], T) for lab in cycle}
            if any(t is None for t in terms.values()):
                continue
            values = {lab: float(t.subs({sympy.Symbol(k): numbers[k] for k in map(str, t.free_symbols)
                                         if k != "T"}).subs(T_SYM, T))
                      for lab, t in terms.items()}
            total = sum(c * values[lab] for lab, c in cycle.items())
            size = sum(abs(c * values[lab]) for lab, c in cycle.items())
            if abs(total) > rtol * max(size, 1.0):
                text = _cycle_text(cycle)
                mV = 1e3 * total * constants.R * T / constants.F
                last = max((by_label[lab] for lab in cycle), key=lambda s: (s.span.line, s.span.column))
                diags.append(error(
                    f"the steps {', '.join(cycle)} form a thermodynamic cycle ({text}) whose constants do not "
                    f"close: the sum of ln K around it is {total:+.4g} instead of 0 at {T:g} K "
                    f"(a factor {pow(2.718281828459045, abs(total)):.4g} in an equilibrium constant, or "
                    f"{abs(mV):.3g} mV in a formal potential)",
                    last.span,
                    "make one constant follow from the others with a param expression, e.g. "
                    "K2 = K1 * exp(F*(E0_2 - E0_1)/(R*T))"))
                break
    return diags
