"""``mechlang show FILE [--latex] [--rates STEP [--plot PNG]]``.

The equations the symbolic stage derived; with ``--rates STEP``, the rate constants of
that electron-transfer step against the overpotential (a table, and a plot of log10 k).
"""

from __future__ import annotations

import sys
from typing import Mapping

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


def render_concentrated(model, latex: bool = False) -> str:
    """``transport concentrated``: the salt's balance, its coefficients and the velocity."""
    salt = next(s for s in model.species if not s.surface and not s.solid)
    wrap = (lambda s: f"$$ {s} $$") if latex else (lambda s: "  " + s)
    D = salt.D_expr if salt.D_expr is not None else sympy.Symbol(salt.D)
    Vm = salt.Vm if salt.Vm is not None else sympy.Integer(0)
    out = [f"Binary salt {salt.name} in a symmetric cell (transport concentrated), c = [{salt.name}]:",
           "  dc/dt = -dN/dx,  N = N_d + c v0,  N_d = -D dc/dx + t_plus i/F,  v0 = Vm (i/F - N_d)",
           "  N = i/F at both electrodes (only Li+ crosses), x from the left electrode", ""]
    coefficients = [("D", D), ("t_plus", salt.t_plus), ("Vm", Vm)]
    if salt.kappa is not None:
        out[3:3] = ["  E = Phi(0) - Phi(L) (+ I Ru),  dPhi/dx = -i/kappa + (2RT/F) (1 - t_plus) tdf dln c/dx"]
        coefficients += [("kappa", salt.kappa), ("tdf", salt.tdf if salt.tdf is not None else sympy.Integer(1))]
    for name, e in coefficients:
        out.append(wrap(f"{name} = {_fmt(e, latex)}"))
    return "\n".join(out)


def render(system: SymbolicSystem, latex: bool = False, transport: tuple = ("diffusion",),
           poisson: Mapping | None = None) -> str:
    eq = " = "
    out = []
    wrap = (lambda s: f"$$ {s} $$") if latex else (lambda s: "  " + s)

    def line(lhs: str, rhs) -> None:
        out.append(wrap(lhs + eq + _fmt(rhs, latex)))

    def sub(symbol: str, index: str) -> str:
        return rf"{symbol}_{{\mathrm{{{index}}}}}" if latex else f"{symbol}_{index}"

    species = ", ".join(system.species)
    out.append(f"Species carried by the simulator: {species}")
    out.append("")
    if "none" in transport:
        out.append("Transport: none (steady state): surface concentrations = bulk; I = -F A sum_j n_j v_j.")
    else:
        out.append("Transport: dc/dt = div(D grad c) + R  in each species; at the electrode -D dc/dx = J.")
    if system.step_rates:
        out.append("")
        out.append("Net rates of the homogeneous steps (mol m^-3 s^-1):")
        for label, w in system.step_rates:
            line(sub("w", label), w)
    out.append("")
    out.append("Source terms R (mol m^-3 s^-1):")
    for s, r in zip(system.species, system.source):
        line(sub("R", s), r)
    out.append("")
    out.append("Steps at the electrode (surface species: Gamma, mol m^-2):")
    for es in system.electrode:
        if es.kred is None and not es.equilibrium:  # adsorption or surface chemistry, mass action
            out.append(f"  {es.label} (mass action at the surface, no electrons): rate v (mol m^-2 s^-1)")
            line(f"v_{es.label}", es.rate)
        elif es.equilibrium:
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
        line(sub("J", s), j)
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
    from mechlang.numerics.components import components

    groups = "; ".join(
        "{" + ", ".join(system.species[i] for i in c.species) + "} "
        + ("block recursion (coupled at every node)" if c.dense else "batched tridiagonal solves")
        for c in components(system))
    newton = "linear: one Newton step per time step" if system.linear else "nonlinear: Newton iterations per time step"
    out.append("")
    out.append("Numerics: x/L, t D_max/L^2, c/c_ref with L = 6 sqrt(D_max t_total), c_ref the largest "
               f"bulk concentration; {newton}; species solved in order as {groups}.")
    if "convection" in transport:
        out.append("Convection (rotating disk): dc/dt = D d2c/dx2 - v(x) dc/dx, v = -sqrt(omega nu) (0.51023 xi^2 "
                   "- xi^3/3 + 0.10265 xi^4), xi = x sqrt(omega/nu) (Cochran); L at most 4 Levich layers "
                   "1.61 D_max^(1/3) nu^(1/6) omega^(-1/2); bulk held at the far end.")
    if "migration" in transport:
        out.append("Migration (Nernst-Planck): J = -D (dc/dx + z c f dphi/dx), one more unknown psi = f phi per "
                   "node (all species and psi one block); the electrode sees E - phi(0); bulk and phi = 0 held "
                   "at the far end.")
        if poisson:
            out.append("Poisson: lambda_D^2 d2psi/dx2 = -sum z c / sum z^2 c_bulk ("
                       + ("lambda_D = migration.debye" if "debye" in poisson else
                          "lambda_D^2 = eps_0 migration.eps_r R T / (F^2 sum z^2 c_bulk)")
                       + "); at the electrode f (E - E_pzc) - psi(0) = -stern dpsi/dx (migration.E_pzc, "
                       "migration.stern).")
        else:
            out.append("Electroneutrality: sum z c = 0 at every node.")
    return "\n".join(out)


OVERPOTENTIALS = tuple(round(0.1 * k, 10) for k in range(-5, 6))  # V, the table's rows


def rates_table(model, label: str) -> str:
    """k_red and k_ox (m/s) of step ``label`` at E0 - 0.5 V ... E0 + 0.5 V (E0 = 0 V without one)."""
    import numpy as np

    from mechlang.cli.main import _kinetics_text
    from mechlang.kinetics.rates import default_temperature, electrode_step, formal_potential

    es = electrode_step(model, label)
    step = next(st for st in model.steps if st.label == label)
    numbers = model.evaluate()
    e0 = formal_potential(model, label, numbers)
    eta = np.array(OVERPOTENTIALS)
    E = eta + (e0 or 0.0)
    kred, kox = (np.asarray(k) for k in model.rate_constants(label, E))
    T = default_temperature(model)
    where = f"E0 = {e0:.6g} V" if e0 is not None else "no E0: E itself"
    out = [f"Rate constants of {label}: {_kinetics_text(model, numbers, step)}, n = {es.n}",
           f"({where}, T = {T:.6g} K)"]
    head = ("E - E0 (V)" if e0 is not None else "E (V)")
    out.append(f"  {head:>10}  {'E (V)':>9}  {'k_red (m/s)':>12}  {'k_ox (m/s)':>12}")
    for h, e, kr, ko in zip(eta, E, kred, kox):
        out.append(f"  {h:>10.2f}  {e:>9.4f}  {kr:>12.4e}  {ko:>12.4e}")
    return "\n".join(out)


def plot_rates(model, label: str, path) -> None:
    """log10 k_red and log10 k_ox of step ``label`` against the overpotential, to an image file."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mechlang.kinetics.rates import electrode_step, formal_potential

    es = electrode_step(model, label)
    e0 = formal_potential(model, label)
    eta = np.linspace(OVERPOTENTIALS[0], OVERPOTENTIALS[-1], 201)
    kred, kox = (np.asarray(k) for k in model.rate_constants(label, eta + (e0 or 0.0)))
    with np.errstate(divide="ignore"):
        fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
        ax.plot(eta, np.log10(kred), lw=1.4, label="k_red")
        ax.plot(eta, np.log10(kox), lw=1.4, label="k_ox")
    ax.set_xlabel("E - E0 / V" if e0 is not None else "E / V")
    ax.set_ylabel("log10(k / (m/s))")
    ax.set_title(f"{label} ({es.law}, n = {es.n})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args) -> int:
    from mechlang import load
    from mechlang.errors import DataError, error

    rates = getattr(args, "rates", None)
    plot = getattr(args, "plot", None)
    if plot and not rates:
        raise DataError(error("--plot needs --rates STEP: it plots the rate constants of that step"))
    if plot:
        from mechlang.cli.common import outputs

        plot = outputs({"--plot": plot}, [args.file], plots=("--plot",))["--plot"]
    model = load(args.file)
    if rates:
        print(rates_table(model, rates))
        if plot:
            plot_rates(model, rates, plot)
            print(f"wrote {plot}", file=sys.stderr)
        return 0
    if "concentrated" in model.transport:
        print(render_concentrated(model, latex=bool(args.latex)))
        return 0
    print(render(derive(model), latex=bool(args.latex), transport=model.transport,
                 poisson=getattr(model, "poisson", None)))
    derived = [v for v in model.values.values() if v.derived_from]
    if derived:
        print("\nValues derived, not given in the file:")
        for v in derived:
            print(f"  {v.name} = {_fmt(v.expr, bool(args.latex))}   ({v.derived_from})")
    return 0
