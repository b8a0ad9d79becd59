"""The symbolic stage: from a validated model to the equations the simulator solves.

Derived once, with SymPy:

* the net rate of every homogeneous step (mol m^-3 s^-1) and the source term of every
  species, ``R_s = sum_r nu_sr w_r``, with its Jacobian ``dR_s/dc_s'``;
* for every electron-transfer step with a finite-rate law, the surface rate of the
  reduction ``v_j = kred * prod(c_ox^nu) - kox * prod(c_red^nu)`` (mol m^-2 s^-1) and its
  derivatives with respect to the surface concentrations;
* for every ``nernst`` step, the equilibrium written as
  ``w_ox * prod(c_ox^nu) - w_red * prod(c_red^nu) = 0`` with
  ``w_ox = 1/(1+theta)``, ``w_red = theta/(1+theta)``, ``theta = exp(n f (E - E0))``,
  a form that stays bounded at any potential;
* the flux of every species into the solution at the electrode and the faradaic current
  ``I = -F A sum_j n_j v_j`` (IUPAC: oxidation positive).

A solid (``species Li: solid``) has unit activity: it is not carried (no concentration,
no transport) and wherever a rate law would multiply by its concentration it multiplies
by the standard concentration ``c° = 1 mol/L = 1000 mol/m^3`` instead, i.e. by activity 1
on the same c/c° scale on which a dissolved species at 1 M has activity 1.  So for
``Li+ + e- <=> Li`` with ``butler_volmer`` the rate is ``v = kred [Li+] - kox c°`` and the
current is zero at ``E = E0`` when ``[Li+] = 1 M``.

Symbols: a concentration is ``Symbol("[X]")``, a value of the file ``Symbol(NAME)``,
the electrode potential ``Symbol("E")`` and the temperature ``Symbol("T")``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from mechlang import constants, kinetics
from mechlang.kinetics.base import E as E_SYM
from mechlang.model import ir

T_SYM = sympy.Symbol("T")


def conc(name: str) -> sympy.Symbol:
    return sympy.Symbol(f"[{name}]")


@dataclass(frozen=True)
class ElectrodeStep:
    label: str
    n: int
    equilibrium: bool  # nernst: an algebraic surface condition, its rate an unknown
    rate: sympy.Expr | None  # kinetic: v_j(c_surface, E, T, values), mol/m^2/s, reduction positive
    rate_jac: tuple[sympy.Expr, ...] | None  # d v_j / d c_s for s in species order
    kred: sympy.Expr | None  # the law's rate constants, for `show`
    kox: sympy.Expr | None
    condition: sympy.Expr | None  # nernst: scaled equilibrium residual (zero at equilibrium)
    condition_jac: tuple[sympy.Expr, ...] | None
    stoich: tuple[int, ...]  # net stoichiometry per species (products +, reactants -)
    law: str = ""

    @property
    def rate_dE(self) -> sympy.Expr:
        """d v_j / dE (zero for a step that moves no electrons)."""
        return sympy.diff(self.rate, E_SYM) if self.rate is not None else sympy.Integer(0)

    @property
    def condition_dE(self) -> sympy.Expr:
        """d (condition) / dE of an equilibrium step."""
        return sympy.diff(self.condition, E_SYM) if self.condition is not None else sympy.Integer(0)


@dataclass(frozen=True)
class SymbolicSystem:
    species: tuple[str, ...]  # the species the simulator carries, in order
    bulk: tuple[str, ...]  # value name of each species' bulk concentration
    diffusion: tuple[str, ...]  # value name of each species' D
    step_rates: tuple[tuple[str, sympy.Expr], ...]  # homogeneous steps: (label, net rate)
    source: tuple[sympy.Expr, ...]  # R_s, mol/m^3/s
    source_jac: tuple[tuple[sympy.Expr, ...], ...]  # dR_s/dc_s'
    electrode: tuple[ElectrodeStep, ...]
    flux: tuple[sympy.Expr, ...]  # J_s into solution at the electrode, in terms of symbols v_<label>
    current_density: sympy.Expr  # -F sum n_j v_j, A/m^2, in terms of v_<label>
    linear: bool  # every residual is linear in the concentrations: one Newton step suffices
    surface: tuple[bool, ...] = ()  # per species: a surface species (its symbol is Gamma, mol/m^2)
    # per species: D as an expression of its own concentration [X] (its `diffusion` entry
    # is then None), or None for a D that is a value
    diffusion_expr: tuple[sympy.Expr | None, ...] = ()
    # transport migration: the charge of every species (0 for a surface species), which
    # then also moves in the solution potential; else empty
    charge: tuple[int, ...] = ()


def _product(terms, names_to_index) -> sympy.Expr:
    out = sympy.Integer(1)
    for name, nu in terms:
        # a name not carried is a solid: unit activity, c° in the rate law (module docstring)
        out *= (conc(name) if name in names_to_index else sympy.Float(constants.c_standard)) ** nu
    return out


def _coverage(model: ir.Model, terms) -> sympy.Expr:
    """Coverage of one side of a surface step: sum of nu Gamma / Gamma_max over its species."""
    gmax = {s.name: s.gamma_max for s in model.sites}
    return sum((nu * conc(name) / sympy.Symbol(gmax[model.species_named(name).site]) for name, nu in terms),
               sympy.Integer(0))


def _law_rates(model: ir.Model, step: ir.Step, call: ir.LawCall):
    args = {p: sympy.Symbol(v) for p, v in call.args}
    if call.law in model.laws:
        law = model.laws[call.law]
        subs = {sympy.Symbol(p): args[p] for p in law.params}
        return law.kred.subs(subs), law.kox.subs(subs), False
    reg = kinetics.get(call.law)
    if reg.equilibrium:
        return None, None, True
    if reg.coverage:
        args["theta_ox"] = _coverage(model, step.reactants)
        args["theta_red"] = _coverage(model, step.products)
    kred, kox = reg.rates(E_SYM, T_SYM, step.electrons, args, {**reg.options, **dict(call.options)})
    return kred, kox, False


def rate_symbol(label: str) -> sympy.Symbol:
    return sympy.Symbol(f"v_{label}")


def derive(model: ir.Model) -> SymbolicSystem:
    used = []
    for step in model.steps:
        for name, _ in step.reactants + step.products:
            if name not in used:
                used.append(name)
    migration = "migration" in model.transport
    # With migration the ions no step uses (a supporting electrolyte) are carried as well.
    species = tuple(s.name for s in model.species if not s.solid and (
        s.name in used or (migration and s.z_declared and not s.surface)))
    solids = {conc(s.name): sympy.Float(constants.c_standard) for s in model.species if s.solid}
    index = {s: i for i, s in enumerate(species)}
    cs = [conc(s) for s in species]

    def stoich(step: ir.Step) -> list[int]:
        nu = [0] * len(species)
        for name, k in step.reactants:
            if name in index:
                nu[index[name]] -= k
        for name, k in step.products:
            if name in index:
                nu[index[name]] += k
        return nu

    # Homogeneous steps.
    step_rates = []
    source = [sympy.Integer(0)] * len(species)
    for step in model.steps:
        if step.at_electrode:
            continue
        kin = step.kinetics
        if isinstance(kin, ir.MassAction):
            w = sympy.Symbol(kin.kf) * _product(step.reactants, index)
            if kin.kb is not None:
                w -= sympy.Symbol(kin.kb) * _product(step.products, index)
        else:
            w = kin.rate.subs(solids)
        step_rates.append((step.label, w))
        for i, nu in enumerate(stoich(step)):
            if nu:
                source[i] += nu * w
    source_jac = tuple(tuple(sympy.diff(r, c) for c in cs) for r in source)

    # Electron transfers at the electrode.
    electrode = []
    sites = {site.name: site for site in model.sites}

    def site_factors(step: ir.Step):
        """Langmuir free-site and Frumkin interaction factors (forward, backward) of a
        surface step, from the net number of each site's places it takes (ir.Site)."""
        fwd, bwd = sympy.Integer(1), sympy.Integer(1)
        for name, site in sites.items():
            taken = sum(k for s, k in step.products if model.species_named(s).site == name) - sum(
                k for s, k in step.reactants if model.species_named(s).site == name)
            if not taken:
                continue
            theta = sum(conc(s.name) for s in model.species if s.site == name and s.name in index)
            theta = theta / sympy.Symbol(site.gamma_max)
            g = sympy.Symbol(site.g)
            fwd *= (1 - theta) ** max(taken, 0) * sympy.exp(-g * theta * taken / 2)
            bwd *= (1 - theta) ** max(-taken, 0) * sympy.exp(g * theta * taken / 2)
        return fwd, bwd

    for step in model.steps:
        if not step.at_electrode:
            continue
        if not step.is_electron_transfer:  # adsorption, desorption, surface chemistry: mass action
            kin = step.kinetics
            fwd, bwd = site_factors(step)
            v = sympy.Symbol(kin.kf) * _product(step.reactants, index) * fwd
            if kin.kb is not None:
                v -= sympy.Symbol(kin.kb) * _product(step.products, index) * bwd
            electrode.append(ElectrodeStep(step.label, 0, False, v, tuple(sympy.diff(v, c) for c in cs),
                                           None, None, None, None, tuple(stoich(step)), "mass action"))
            continue
        kred, kox, equilibrium = _law_rates(model, step, step.kinetics)
        ox = _product(step.reactants, index)
        red = _product(step.products, index)
        scale = sympy.Integer(1)
        kinds = {model.species_named(s).surface for s, _ in step.reactants + step.products}
        if kinds == {True, False}:
            # Electrosorption (solution on one side, a site's species on the other): every
            # species enters by its activity, c/c° or theta = Gamma/Gamma_max, with the
            # site's Langmuir/Frumkin factors, and the rate is Gamma_max times k0 (1/s)
            # times that: at E0 a half-covered site is in equilibrium with c = c°.
            gmax = {s.name: sympy.Symbol(s.gamma_max) for s in model.sites}

            def activity(terms):
                out = sympy.Integer(1)
                for name, nu in terms:
                    sp = model.species_named(name)
                    out *= (conc(name) / (gmax[sp.site] if sp.surface else constants.c_standard)) ** nu
                return out

            fwd, bwd = site_factors(step)
            ox, red = activity(step.reactants) * fwd, activity(step.products) * bwd
            site = next(model.species_named(s).site for s, _ in step.reactants + step.products
                        if model.species_named(s).surface)
            scale = gmax[site]
        if equilibrium:
            e0 = sympy.Symbol(dict(step.kinetics.args)["E0"])
            x = step.electrons * constants.F / (constants.R * T_SYM) * (E_SYM - e0)
            # w_ox = 1/(1+exp(x)), w_red = exp(x)/(1+exp(x)); kept bounded for any x.
            w_ox = 1 / (1 + sympy.exp(x))
            w_red = 1 / (1 + sympy.exp(-x))
            cond = w_ox * ox - w_red * red
            electrode.append(
                ElectrodeStep(
                    step.label, step.electrons, True, None, None, None, None, cond,
                    tuple(sympy.diff(cond, c) for c in cs), tuple(stoich(step)), step.kinetics.law,
                )
            )
        else:
            v = scale * (kred * ox - (kox * red if step.reversible else 0))
            electrode.append(
                ElectrodeStep(
                    step.label, step.electrons, False, v, tuple(sympy.diff(v, c) for c in cs),
                    kred, kox, None, None, tuple(stoich(step)), step.kinetics.law,
                )
            )

    flux = [sympy.Integer(0)] * len(species)
    current = sympy.Integer(0)
    for es in electrode:
        vj = rate_symbol(es.label)
        for i, nu in enumerate(es.stoich):
            if nu:
                flux[i] += nu * vj
        current -= constants.F * es.n * vj

    def is_linear(exprs):
        for e in exprs:
            for c in cs:
                if sympy.diff(e, c, 2) != 0:
                    return False
            for a in cs:
                for b in cs:
                    if a != b and sympy.diff(e, a, b) != 0:
                        return False
        return True

    boundary = [es.rate if es.rate is not None else es.condition for es in electrode]
    diffusion_expr = tuple(model.species_named(s).D_expr for s in species)
    linear = (is_linear(list(source) + boundary) and all(e is None for e in diffusion_expr)
              and not migration)  # the migration flux is a product of c and the potential
    bulk = tuple(model.species_named(s).c for s in species)
    diffusion = tuple(model.species_named(s).D for s in species)
    return SymbolicSystem(
        species, bulk, diffusion, tuple(step_rates), tuple(source), source_jac,
        tuple(electrode), tuple(flux), current, linear,
        tuple(model.species_named(s).surface for s in species), diffusion_expr,
        tuple(0 if model.species_named(s).surface else model.species_named(s).z for s in species)
        if migration else (),
    )
