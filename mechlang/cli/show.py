"""``mechlang show FILE [--latex]``: the equations the symbolic stage derived."""

from __future__ import annotations

import sympy

from mechlang.symbolic.system import SymbolicSystem, derive


def _name(sym: sympy.Symbol, latex: bool) -> str:
    n = sym.name
    if not latex:
        return n
    if n.startswith("[") and n.endswith("]"):
        return r"c_{\mathrm{" + n[1:-1].replace("_", r"\_") + "}}"
    return r"\mathrm{" + n.replace("_", r"\_") + "}"


def _fmt(expr, latex: bool) -> str:
    expr = sympy.sympify(expr)
    names = {s: sympy.Symbol(_name(s, latex)) for s in expr.free_symbols}
    expr = expr.xreplace(names)
    if latex:
        return sympy.latex(expr)
    return sympy.sstr(expr)


def render(system: SymbolicSystem, latex: bool = False) -> str:
    eq = " = "
    out = []
    wrap = (lambda s: f"$$ {s} $$") if latex else (lambda s: "  " + s)

    def line(lhs: str, rhs) -> None:
        out.append(wrap(lhs + eq + _fmt(rhs, latex)))

    species = ", ".join(system.species)
    out.append(f"Species carried by the simulator: {species}")
    out.append("")
    out.append("Transport: dc/dt = div(D grad c) + R  in each species; at the electrode -D dc/dx = J.")
    if system.step_rates:
        out.append("")
        out.append("Net rates of the homogeneous steps (mol m^-3 s^-1):")
        for label, w in system.step_rates:
            line(f"w_{label}" if not latex else rf"w_{{\mathrm{{{label}}}}}", w)
    out.append("")
    out.append("Source terms R (mol m^-3 s^-1):")
    for s, r in zip(system.species, system.source):
        line(f"R_{s}" if not latex else rf"R_{{\mathrm{{{s}}}}}", r)
    out.append("")
    out.append("Electron transfers at the electrode:")
    for es in system.electrode:
        if es.equilibrium:
            out.append(f"  {es.label} (nernst, n = {es.n}): equilibrium, scaled residual")
            line("0", es.condition)
        else:
            out.append(f"  {es.label} ({es.law}, n = {es.n}): rate of reduction v (mol m^-2 s^-1)")
            line("k_red", es.kred)
            line("k_ox", es.kox)
            line(f"v_{es.label}", es.rate)
    out.append("")
    out.append("Fluxes into the solution at the electrode (mol m^-2 s^-1):")
    for s, j in zip(system.species, system.flux):
        line(f"J_{s}" if not latex else rf"J_{{\mathrm{{{s}}}}}", j)
    out.append("")
    out.append("Faradaic current (A, anodic positive):")
    line("I", sympy.Symbol("A") * system.current_density)
    jac = [(a, b, system.source_jac[i][k]) for i, a in enumerate(system.species)
           for k, b in enumerate(system.species) if system.source_jac[i][k] != 0]
    if jac:
        out.append("")
        out.append("Jacobian entries dR/dc (1/s):")
        for a, b, e in jac:
            line(f"dR_{a}/d[{b}]" if not latex else rf"\partial R_{{{a}}}/\partial c_{{{b}}}", e)
    out.append("")
    out.append(
        "Numerics: x/L, t D_max/L^2, c/c_ref with L = 6 sqrt(D_max t_total), c_ref the largest "
        f"bulk concentration; {'linear: one Newton step per time step' if system.linear else 'nonlinear: Newton iterations per time step'}; "
        f"{'species coupled at each node: block-tridiagonal solve' if system.coupled else 'species coupled only at the electrode: batched tridiagonal solves'}."
    )
    return "\n".join(out)


def run(args) -> int:
    from mechlang import load

    model = load(args.file)
    print(render(derive(model), latex=bool(args.latex)))
    return 0

