"""The time loop: finite volumes on an expanding 1-D grid, implicit BDF2, Newton.

Dimensionless variables: position X = x / L (L = domain * sqrt(D_max t_total)), time
tau = t D_max / L^2, concentration u = c / c_ref (c_ref the largest bulk concentration).
For species s at node i, with control volume V_i and face areas a_{i+1/2} (geometry):

    V_i (u_i - u_i^old) - dtau [d_s a_{i+1/2} (u_{i+1} - u_i)/h_i - d_s a_{i-1/2} (u_i - u_{i-1})/h_{i-1}]
        - dtau V_i R_s(u_i) - [i = 0] dtau J_s = 0

where R_s are the homogeneous sources and J_s the electrode fluxes (symbolic stage).
A species whose D depends on its own concentration takes d_s at each face from
D((c_i + c_{i+1})/2), and Newton's matrix the dD/dc terms of that (still tridiagonal).
The far end of the domain (6 diffusion lengths out, where nothing has changed) is closed,
so the finite-volume form conserves every species to round-off: what the electrode and
the reactions produce is what the grid holds.  Each step runs a fixed number of Newton
iterations (no while loop), each an O(N) bordered block-tridiagonal solve
(``blocksolve``); a step is differentiated implicitly, at its converged solution.

On a rotating disk (``geometries/rotating_disk``) the solution also flows toward the
electrode with the axial velocity v(x): the advective form v du/dx is written as the
face fluxes v u minus u times the change of v across the node's volume (what the radial
flow carries away), so a uniform bulk stays put.  Each face's convective-diffusive flux
is exponentially fitted (Scharfetter-Gummel: exact for constant v and D between two
nodes, so the coarse outer cells stay monotone at any cell Peclet number), and the far
node is held at the bulk concentrations.

With ``transport diffusion, migration`` the dimensionless solution potential psi = f phi
(f = F/RT) is one more unknown per node (a last column of u).  A charged species' face
flux is -d a (du/dX + z u dpsi/dX), exponentially fitted the same way with the Peclet
number P = z (psi_{i+1} - psi_i) (Scharfetter-Gummel: exact for a constant field
between two nodes, so the concentrations stay positive however steep the potential, and
still one flux per face, so conservative); psi's row at a node is electroneutrality,
sum z_s u_s = 0 (algebraic, no accumulation).  The far node is held at the bulk: the
current leaves the domain there, carried by every ion, and psi there is that current
times the bulk's resistance out to the reference electrode (``reference``; at infinity
on a sphere), so phi is measured against the reference whatever the domain's length.
The electrode kinetics see E - phi(0).  Newton's inter-node blocks are then full (S+1) x (S+1).
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from mechlang import constants
from mechlang.codegen.jaxify import compile_exprs
from mechlang.errors import ModelError, error
from mechlang.experiments import get as get_waveform
from mechlang.model import ir
from mechlang.numerics import blocksolve
from mechlang.numerics.components import Component, components
from mechlang.numerics.geometries import get as get_geometry
from mechlang.numerics.geometries import rotating_disk
from mechlang.numerics.options import Options
from mechlang.symbolic.system import SymbolicSystem, conc


# Newton iterations per step up to this many are unrolled (about 10 % faster to run than a
# loop); more -- a potential jump with migration needs about 20 -- run in a loop, whose
# compile time does not grow with their number (a migration test: 17 s -> 5 s).
UNROLL_NEWTON = 4


def expanding_grid(points: int, first_cell: float) -> np.ndarray:
    """Nodes on [0, 1] whose spacing grows by a constant factor from ``first_cell``."""
    n = points - 1
    lo, hi = 1.0 + 1e-12, 2.0
    for _ in range(200):  # bisection on the growth factor: first_cell * (g^n - 1)/(g - 1) = 1
        g = 0.5 * (lo + hi)
        if first_cell * (g**n - 1.0) / (g - 1.0) > 1.0:
            hi = g
        else:
            lo = g
    x = (g ** np.arange(points) - 1.0) / (g**n - 1.0)
    return x


class Transient:
    """The static structure of one experiment on one mechanism; ``run(values)`` is pure."""

    def __init__(self, system: SymbolicSystem, model: ir.Model, experiment: ir.Experiment,
                 options: Options, settings_defaults: Mapping[str, float]):
        self.system = system
        self.experiment = experiment
        self.options = options
        S = len(system.species)
        self.S = S
        self.kinetic = [es for es in system.electrode if not es.equilibrium]
        self.nernst = [es for es in system.electrode if es.equilibrium]
        self.waveform = get_waveform(experiment.technique)
        # Galvanostatic: E is one more unknown of every step, after the M Nernst rates, with
        # the condition that the faradaic current is the applied one; it couples every
        # electron transfer, so all species are solved as one group.
        self.galv = self.waveform.galvanostatic
        # Uncompensated resistance Ru and double-layer capacitance Cdl: whether the file
        # gives them non-zero is static, their values stay runtime inputs.  With Ru the
        # potential at the interface is one more unknown of every step, as E is of a
        # galvanostatic step, with the condition (E_applied - E) / Ru = I_faradaic + Cdl dE/dt.
        # With Cdl alone the charging current Cdl dE/dt of the programme is added.
        self.ohmic = float(settings_defaults.get("Ru", 0.0)) > 0 and not self.galv
        self.cap = float(settings_defaults.get("Cdl", 0.0)) > 0
        self.e_unknown = self.galv or self.ohmic  # v ends with the interfacial potential
        self.linear = system.linear and not self.e_unknown
        self.components = components(system)
        if self.e_unknown:
            dense = any(system.source_jac[a][b] != 0 for a in range(S) for b in range(S) if a != b)
            self.components = [Component(tuple(range(S)), tuple(range(len(self.nernst) + 1)), dense)]
        self.newton = options.newton or (1 if self.linear else 8 if self.e_unknown else 4)
        # Migration: psi is column S of u; every species and psi are one dense group.
        self.mig = bool(system.charge)
        self.with_dE = self.e_unknown or self.mig  # the rates' derivatives in E
        if self.mig:
            self.components = [Component(tuple(range(S + 1)), tuple(range(len(self.nernst) + self.e_unknown)), True)]
            self.newton = options.newton or (10 if self.e_unknown else 6)
        # `migration(debye = ...)`: psi's row is Poisson's equation (setting -> value name).
        self.poisson = dict(getattr(model, "poisson", {}) or {}) if self.mig else {}
        if self.poisson and not options.newton:
            self.newton = 10

        flat_jac = [system.source_jac[i][k] for i in range(S) for k in range(S)]
        self._source = compile_exprs(list(system.source) + flat_jac)
        kin = []
        for es in self.kinetic:
            kin += [es.rate, *es.rate_jac] + ([es.rate_dE] if self.with_dE else [])
        self._kinetic = compile_exprs(kin)
        ner = []
        for es in self.nernst:
            ner += [es.condition, *es.condition_jac] + ([es.condition_dE] if self.with_dE else [])
        self._nernst = compile_exprs(ner)
        # Order of each nernst condition in concentration, to scale it with c_ref.
        self._nernst_order = []
        for es in self.nernst:
            ox = -sum(n for n in es.stoich if n < 0)
            red = sum(n for n in es.stoich if n > 0)
            self._nernst_order.append(max(ox, red))

        # Species whose D depends on concentrations: D(c) and dD/dc_k for every species k,
        # compiled.  A D of another species' concentration couples the species at the
        # neighbouring nodes too: then all species are one dense group with full
        # inter-node blocks.
        self._cd = np.array([i for i, e in enumerate(system.diffusion_expr or ()) if e is not None], dtype=int)
        cd_exprs = []
        all_c = [conc(sp) for sp in system.species]
        self._cross = False
        for i in self._cd:
            e = system.diffusion_expr[i]
            cd_exprs += [e] + [sympy.diff(e, ck) for ck in all_c]
            self._cross |= any(sym in e.free_symbols for k, sym in enumerate(all_c) if k != i)
        self._diffusion = compile_exprs(cd_exprs)
        # The names that enter the rows away from the electrode (homogeneous rates, D(c)).
        self._interior_names = set(self._source.free_symbols) | set(self._diffusion.free_symbols)
        if self._cross and not self.mig:
            self.components = [Component(tuple(range(S)), tuple(range(len(self.nernst) + self.e_unknown)), True)]
        if self._cd.size and not options.newton:  # the jump of a potential step needs more
            self.newton = 6

        self.plan = self.waveform.plan(dict(settings_defaults), options)
        self.geometry = get_geometry(experiment.geometry)
        self.x = expanding_grid(options.points, options.first_cell)
        if self.mig and "reference" in experiment.settings:
            self._check_reference(model, settings_defaults)

    def _check_reference(self, model: ir.Model, settings: Mapping[str, float]) -> None:
        """With the file's values: the reference must lie outside the depletion region,
        2 diffusion lengths sqrt(D_max t_total) (on a rotating disk at most 2 Levich layers).
        Beyond it the solution is the bulk to well under 1 % and the ohmic law of the bulk
        gives the potential between the reference and the domain's end, wherever that is."""
        numbers = model.evaluate()
        D_max = max([numbers[d] for d in self.system.diffusion if d is not None] + [0.0])
        t_total = float(self.waveform.programme(dict(settings), self.plan)[0][-1])
        depletion = 2.0 * np.sqrt(D_max * t_total)
        if self.geometry.name == "rotating_disk":
            depletion = min(depletion, 2.0 * float(rotating_disk.layer(D_max, settings["omega"], settings["nu"])))
        name = self.experiment.settings["reference"]
        if settings["reference"] < depletion:
            raise ModelError(error(
                f"the reference electrode ({settings['reference'] * 1e3:g} mm from the electrode) lies inside "
                f"the depletion region of experiment '{self.experiment.name}', where the solution is not the bulk",
                model.values[name].span,
                f"place it at least {depletion * 1e3:.3g} mm away (2 diffusion lengths sqrt(D t) of this run)"))

    # ------------------------------------------------------------------------------
    def run(self, values: Mapping[str, jnp.ndarray]):
        """Simulate.  ``values``: every value name of the model -> JAX scalar (SI).

        Returns (t, E, I, newton_update, min_conc) arrays over time steps, the grid
        (distance from the electrode, m) with the final concentrations (N, S), mol/m^3,
        the surface species' surface concentrations over time (steps, n), mol/m^2, and
        with ``options.profiles`` the concentrations of every step (steps, N, S), mol/m^3.
        """
        sysm, opt, S = self.system, self.options, self.S
        settings = {k: values[v] for k, v in self.experiment.settings.items()}
        settings["cycles"] = self.experiment.cycles
        T = settings["T"]
        t_end, E = self.waveform.programme(settings, self.plan)  # galvanostatic: E holds the current
        t_total = t_end[-1]

        # Surface species (sysm.surface) are carried as a column that lives at node 0 only:
        # no diffusion, and their "concentration" there is Gamma / (V_0 L), so that the
        # node-0 balance V_0 du/dtau = J is exactly dGamma/dt = v.
        surf = np.array(sysm.surface or [False] * S, bool)
        D = jnp.stack([jnp.asarray(0.0 if d is None else values[d], float) for d in sysm.diffusion])
        bulk = jnp.stack([jnp.asarray(values[c], float) for c in sysm.bulk])
        cd = self._cd
        names = [str(conc(s)) for s in sysm.species]

        def diffusion_at(c, env):
            """D (..., len(cd)) and dD/dc_k (..., len(cd), S) (m^2/s, m^5/mol/s) of the species
            in ``cd`` at the concentrations c (..., S) of every species, mol/m^3."""
            env = dict(env)
            for k in range(S):
                env[names[k]] = c[..., k]
            out = [jnp.broadcast_to(jnp.asarray(o, float), c.shape[:-1]) for o in self._diffusion(env)]
            Dv = jnp.stack(out[:: S + 1], -1)
            dD = jnp.stack([jnp.stack(out[j * (S + 1) + 1 : (j + 1) * (S + 1)], -1) for j in range(cd.size)], -2)
            return Dv, dD

        if cd.size:
            # The scale of a concentration-dependent D: its largest value at 0, at its own
            # bulk and at the largest bulk concentration (for a D monotonic in c, the largest
            # it takes), so that the domain 6 sqrt(D_max t) still holds the depletion layer.
            c_top = jnp.max(jnp.where(surf, 0.0, bulk))
            probe = jnp.stack([jnp.zeros(S), jnp.where(surf, 0.0, bulk), jnp.where(surf, 0.0, c_top)])
            D = D.at[cd].set(jnp.max(diffusion_at(probe, {**values, "T": T})[0], 0))
        D_max = jnp.max(D) if not surf.all() else jnp.asarray(1e-9)  # no solution species: any scale
        if self.geometry.domain_key:  # a closed cell: the domain is the cell
            L = jnp.asarray(settings[self.geometry.domain_key], float)
        else:
            L = opt.domain * jnp.sqrt(D_max * t_total)
        rde = self.geometry.name == "rotating_disk"
        if rde:  # convection bounds the diffusion layer: a few Levich layers are enough
            L = jnp.minimum(L, opt.rde_domain * rotating_disk.layer(D_max, settings["omega"], settings["nu"]))
        c_ref = jnp.maximum(jnp.max(jnp.where(surf, bulk / L, bulk)), 1e-30)
        radius = settings[self.geometry.size_key] / L if self.geometry.size_key else None
        x = jnp.asarray(self.x)
        V, face = self.geometry.factors(x, radius)
        sc = jnp.where(surf, c_ref * V[0] * L, c_ref)  # u -> mol/m^3, or mol/m^2 for a surface species
        h = x[1:] - x[:-1]
        d = D / D_max
        dtau = jnp.diff(jnp.concatenate([jnp.zeros(1), t_end])) * D_max / L**2
        area = settings["area"]

        base_env = dict(values)
        base_env["T"] = T
        scale_R = L**2 / (D_max * c_ref)  # source (mol/m^3/s) -> dimensionless
        scale_K = L**2 / D_max  # dR/dc -> dimensionless
        scale_v = L / (D_max * c_ref)  # surface rate (mol/m^2/s) -> dimensionless

        # Diffusion couplings (dimensionless, per unit dtau), shape (N, S).
        g_face = d[None, :] * (face / h)[:, None]  # (N-1, S): d_s a_{i+1/2} / h_i
        zero = np.zeros((1, S))  # numpy constants: the step below may close over no tracer
        M = len(self.nernst)
        nernst_stoich = np.array([es.stoich for es in self.nernst], float).reshape(M, S).T
        kin_stoich = np.array([es.stoich for es in self.kinetic], float).reshape(len(self.kinetic), S)
        n_kin = np.array([es.n for es in self.kinetic], float)  # electrons of each rate
        n_ner = np.array([es.n for es in self.nernst], float)

        # Everything the residual depends on that can carry a derivative, passed explicitly
        # (the implicit derivative of a step below differentiates with respect to it).
        ctx = dict(env={k: jnp.asarray(v, float) for k, v in base_env.items()}, c_ref=c_ref, sc=sc,
                   scale_R=scale_R, scale_K=scale_K, scale_v=scale_v, g_face=g_face, V=V,
                   i_scale=scale_v / (constants.F * area))
        if self.cap:  # Cdl dE/dt in the units of the current balance, times the step dt
            ctx["c_dl"] = ctx["i_scale"] * settings["Cdl"] * D_max / L**2
        if self.ohmic:
            ctx["g_R"] = ctx["i_scale"] / settings["Ru"]
        if rde:
            # Face velocities (dimensionless, + away from the disk) and cell Peclet numbers;
            # g_face becomes the coefficient of u_i in a face's flux, g_up that of u_{i+1}.
            w = rotating_disk.velocity(0.5 * (x[1:] + x[:-1]) * L, settings["omega"], settings["nu"],
                                       opt.rde_terms) * L / D_max * face
            P = w[:, None] * h[:, None] / jnp.where(d > 0, d, 1.0)[None, :]
            if self.mig:  # the migration flux folds the Peclet number into its own weights
                ctx["pe"] = P
            else:
                ctx["g_face"], ctx["g_up"] = g_face * _bernoulli(-P), g_face * _bernoulli(P)
            wz = jnp.zeros(1)
            dw = jnp.concatenate([w, wz]) - jnp.concatenate([wz, w])
            ctx["dw"] = jnp.where(surf[None, :], 0.0, dw[:, None])  # surface species do not flow
            ctx["u_far"] = jnp.where(surf, 0.0, bulk / c_ref)
        if cd.size:
            ctx.update(geom=face / h, D_max=D_max)
        N = len(self.x)
        if self.mig:
            z = np.array(sysm.charge, float)
            ctx.update(z=z, f=constants.F / (constants.R * T), u_far=jnp.where(surf, 0.0, bulk / c_ref))
            # The potential is measured against the reference electrode at `reference` (none
            # given: at infinity, a sphere's).  The bulk beyond the domain's end is an ohmic
            # conductor, conductivity kappa = sum z^2 d u_bulk: psi at the far node is the
            # current Q through the last face times its resistance outer / kappa to the
            # reference, so the result does not depend on the domain's length.
            d_bulk = d
            if cd.size:  # D(c) at the bulk concentrations (d holds its largest value)
                d_bulk = d.at[cd].set(diffusion_at(jnp.where(surf, 0.0, bulk), base_env)[0] / D_max)
            kappa = jnp.sum(z**2 * d_bulk * ctx["u_far"])
            x_ref = settings["reference"] / L if "reference" in settings else None
            ctx["rho"] = self.geometry.outer(x_ref, radius) / kappa
        if self.poisson:
            # Poisson: lam2 (lambda_D/L)^2 Laplacian(psi) + V sum z u / zz = 0, zz = sum z^2 u_bulk;
            # at the electrode psi_0 + ls dpsi/dX = f (E - E_pzc) (a Stern layer of ls = stern/L).
            z2c = jnp.sum(np.array(sysm.charge, float) ** 2 * jnp.where(surf, 0.0, bulk))  # mol/m^3
            if "debye" in self.poisson:
                lam2 = (values[self.poisson["debye"]] / L) ** 2
            else:
                eps = constants.EPSILON_0 * values[self.poisson["eps_r"]]
                lam2 = eps * constants.R * T / (constants.F**2 * z2c) / L**2
            ctx.update(lam2=lam2, zz=z2c / c_ref, ls=values[self.poisson["stern"]] / L,
                       E_pzc=values[self.poisson["E_pzc"]], fh=face / h)

        def face_diffusion(u, cx, bracket=None):
            """Couplings g_face with D of the species in ``cd`` at the face, D((c_i + c_{i+1})/2),
            and e_face[s, k] = d g_face[s]/d u_k (at node i or i+1) times the bracket the
            coupling multiplies, u_{s,i+1} - u_{s,i} (with migration, Scharfetter-Gummel's
            B(-P) u_{s,i+1} - B(P) u_{s,i}, given as ``bracket``): (N-1, S) its diagonal
            when each D depends on its own concentration only, else (N-1, S, S)."""
            uu = u[:, :S]
            Dv, dD = diffusion_at(0.5 * cx["c_ref"] * (uu[1:] + uu[:-1]), cx["env"])
            geom = cx["geom"][:, None] / cx["D_max"]
            g = cx["g_face"].at[:, cd].set(geom * Dv)
            du = (uu[1:] - uu[:-1] if bracket is None else bracket)[:, cd]
            e = jnp.zeros((g.shape[0], S, S)).at[:, cd, :].set(
                geom[:, :, None] * dD * cx["c_ref"] * 0.5 * du[:, :, None])
            return g, (e if self._cross else jnp.diagonal(e, axis1=1, axis2=2))

        def node_terms(u, E_k, cx):
            env = dict(cx["env"], E=E_k)
            for i, nm in enumerate(names):
                env[nm] = cx["c_ref"] * u[:, i]
            out = self._source(env)
            R = jnp.stack([jnp.broadcast_to(r, u[:, 0].shape) for r in out[:S]], 1) * cx["scale_R"]
            K = jnp.stack([jnp.broadcast_to(k, u[:, 0].shape) for k in out[S:]], 1)
            return R, K.reshape(-1, S, S) * cx["scale_K"]

        def surface_terms(u0, E_k, cx):
            env = dict(cx["env"], E=E_k)
            c_ref, scale_v, sc = cx["c_ref"], cx["scale_v"], cx["sc"]
            for i, nm in enumerate(names):
                env[nm] = sc[i] * u0[i]
            w = S + 1 + self.with_dE  # rate, its concentration derivatives (and d/dE)
            kin = self._kinetic(env) if self.kinetic else []
            rates, jac, rdE = [], [], []
            for j in range(len(self.kinetic)):
                block = kin[j * w : (j + 1) * w]
                rates.append(block[0] * scale_v)
                jac.append(jnp.stack([jnp.asarray(b, float) for b in block[1 : S + 1]]) * sc * scale_v)
                rdE.append(block[-1] * scale_v)
            ner = self._nernst(env) if self.nernst else []
            conds, cjac, cdE = [], [], []
            for j, p in enumerate(self._nernst_order):
                block = ner[j * w : (j + 1) * w]
                conds.append(block[0] / c_ref**p)
                cjac.append(jnp.stack([jnp.asarray(b, float) for b in block[1 : S + 1]]) * sc / c_ref**p)
                cdE.append(block[-1] / c_ref**p)
            rates = jnp.stack(rates) if rates else jnp.zeros(0)
            jac = jnp.stack(jac) if jac else jnp.zeros((0, S))
            conds = jnp.stack(conds) if conds else jnp.zeros(0)
            cjac = jnp.stack(cjac) if cjac else jnp.zeros((0, S))
            if not self.with_dE:
                return rates, jac, conds, cjac
            dE = (jnp.stack([jnp.asarray(r, float) for r in rdE]) if rdE else jnp.zeros(0),
                  jnp.stack([jnp.asarray(c, float) for c in cdE]) if cdE else jnp.zeros(0))
            return rates, jac, conds, cjac, dE

        def residual(u, v, u_old, dt, E_k, cx, with_matrix=True, newton_rhs=False, extra=None):
            """The step's residual (N, S) and equilibrium conditions (M,), and the factors
            of their Jacobian with respect to (u, v) (for Newton, with the tridiagonal
            solves for -residual, and for ``extra`` (N, S) when given, done in the same
            calls: the first group's p is then (p, p_extra)).  Galvanostatic, or with Ru:
            ``E_k`` is (applied current or potential, E_old of the time derivative of E),
            v ends with E, and the conditions with the current balance."""
            if self.e_unknown:
                drive, E_old = E_k[0], E_k[1]
                E_k, v = v[-1], v[:-1]
            if self.mig:  # the concentrations, and psi = f phi
                u, psi, u_old = u[:, :S], u[:, S], u_old[:, :S]
            R, K = node_terms(u, E_k, cx)
            E_s = E_k - psi[0] / cx["f"] if self.mig else E_k  # what the electrode sees
            rates, rjac, conds, cjac, *dE = surface_terms(u[0], E_s, cx)
            if self.e_unknown:
                # In units of the dimensionless flux sum n_j v_j = -I_faradaic i_scale:
                # galvanostatic I_applied = I_faradaic + Cdl dE/dt, with Ru
                # (E_applied - E) / Ru = I_faradaic + Cdl dE/dt.
                balance = n_kin @ rates + n_ner @ v
                if self.cap:
                    balance = balance - cx["c_dl"] / dt * (E_k - E_old)
                if self.galv:
                    balance = balance + drive * cx["i_scale"]
                else:
                    balance = balance + cx["g_R"] * (drive - E_k)
                conds = jnp.concatenate([conds, balance[None]])
            g_face, V = cx["g_face"], cx["V"]
            bracket, e_face = u[1:] - u[:-1], None  # a face's flux is g_face times the bracket
            if self.mig:
                # Scharfetter-Gummel with drift z dpsi and, on a rotating disk, the flow
                # (Peclet number Pe, + away from the disk): P = z dpsi - Pe.
                P = cx["z"][None, :] * (psi[1:] - psi[:-1])[:, None]
                if rde:
                    P = P - cx["pe"]
                bp, bm = _bernoulli(P), _bernoulli(-P)
                bracket = bm * u[1:] - bp * u[:-1]
            if cd.size:
                g_face, e_face = face_diffusion(u, cx, bracket if self.mig else None)
            flux_face = g_face * bracket  # (N-1, S)
            if rde and not self.mig:
                flux_face = cx["g_up"] * u[1:] - g_face * u[:-1]
            div = jnp.concatenate([flux_face, zero], 0) - jnp.concatenate([zero, flux_face], 0)
            if rde:
                div = div + cx["dw"] * u
            res = V[:, None] * (u - u_old) - dt * div - dt * V[:, None] * R
            J_surf = kin_stoich.T @ rates + nernst_stoich @ v  # (S,)
            res = res.at[0].add(-dt * J_surf)
            if rde:  # the far node holds the bulk
                res = res.at[-1].set(u[-1] - cx["u_far"])
            if self.mig:  # electroneutrality or Poisson; the far node at the bulk, psi there
                # the ohmic drop rho Q of the current Q = sum z (outward flux) to the reference
                far = psi[-1] + cx["rho"] * (flux_face[-1] @ cx["z"])
                res = jnp.concatenate([res.at[-1].set(u[-1] - cx["u_far"]),
                                       psi_row(u, psi, E_k, cx).at[-1].set(far)[:, None]], 1)
            if not with_matrix:
                return res, conds, None
            if self.mig:
                A, B, C, G, H = migration_matrix(u, psi, P, bp, bm, g_face, e_face, K, rjac, cjac, dE[0], dt, cx)
                corner = jnp.zeros((M, M))
                if self.e_unknown:  # the column of E (node 0: the kinetics, Poisson's psi_m) and the balance's row
                    rdE, cdE = dE[0]
                    col = jnp.zeros(S + 1).at[:S].set(-dt * kin_stoich.T @ rdE)
                    if self.poisson:
                        col = col.at[S].set(cx["f"])
                    G = jnp.concatenate([G, col[:, None]], 1)
                    H = jnp.concatenate([H, jnp.concatenate([n_kin @ rjac, -(n_kin @ rdE)[None] / cx["f"]])[None]], 0)
                    corner = e_corner(cdE, rdE, dt, cx)
                f = blocksolve.factor(A, B, C, B[0], G, H, dense=True, corner=corner)
                return res, conds, (B, [f], None)

            lower = jnp.concatenate([zero, g_face], 0)  # couples node i to i-1
            upper = jnp.concatenate([g_face, zero], 0)  # couples node i to i+1
            A = -dt * lower
            C = -dt * upper
            diag = V[:, None] + dt * (lower + upper)
            if rde:
                C = -dt * jnp.concatenate([cx["g_up"], zero], 0)
                diag = V[:, None] + dt * (jnp.concatenate([zero, cx["g_up"]], 0) + upper - cx["dw"])
            cross_B = 0.0
            if cd.size and self._cross:  # D of other species' concentrations: full blocks
                z3 = jnp.zeros((1, S, S))
                lo, up = jnp.concatenate([z3, e_face], 0), jnp.concatenate([e_face, z3], 0)
                A = A[:, :, None] * jnp.eye(S) + dt * lo
                C = C[:, :, None] * jnp.eye(S) - dt * up
                cross_B = dt * (lo - up)
            elif cd.size:  # the flux at a face also moves with D(c) there
                lo, up = jnp.concatenate([zero, e_face], 0), jnp.concatenate([e_face, zero], 0)
                A, C, diag = A + dt * lo, C - dt * up, diag + dt * (lo - up)
            B = diag[:, :, None] * jnp.eye(S) - dt * V[:, None, None] * K + cross_B
            B = B.at[0].add(-dt * (kin_stoich.T @ rjac))  # the electrode kinetics at node 0
            if rde:
                A = A.at[-1].set(0.0)
                B = B.at[-1].set(jnp.eye(S))
            G = -dt * nernst_stoich
            H, corner = cjac, jnp.zeros((M, M))
            if self.e_unknown:  # the column of E and the row of the current balance
                rdE, cdE = dE[0]
                G = jnp.concatenate([G, (-dt * kin_stoich.T @ rdE)[:, None]], 1)
                H = jnp.concatenate([cjac, (n_kin @ rjac)[None]], 0)
                corner = e_corner(cdE, rdE, dt, cx)
            factors, first_p = [], None
            for comp in self.components:
                I, Jn = np.array(comp.species, dtype=int), np.array(comp.nernst, dtype=int)
                BI = B[:, I][:, :, I]
                Bc = BI if comp.dense else jnp.diagonal(BI, axis1=1, axis2=2)
                # The first group's right-hand side is known now: solve it in the same call.
                r = -res[:, I] if newton_rhs and not comp.dense and not factors else None
                AI, CI = (A[:, I][:, :, I], C[:, I][:, :, I]) if A.ndim == 3 else (A[:, I], C[:, I])
                f = blocksolve.factor(AI, Bc, CI, BI[0], G[I][:, Jn], H[Jn][:, I],
                                      dense=comp.dense, r=r, corner=corner[Jn][:, Jn],
                                      extra=None if r is None or extra is None else extra[:, I])
                factors.append(f if r is None else f[0])
                if r is not None:
                    first_p = f[1] if extra is None else f[1:]
            return res, conds, (B, factors, first_p)

        def e_corner(cdE, rdE, dt, cx):
            """The border unknowns' own block with E (galvanostatic, or with Ru): the Nernst
            conditions' column in E, and the current balance's row."""
            dbal = n_kin @ rdE
            if self.cap:
                dbal = dbal - cx["c_dl"] / dt
            if self.ohmic:
                dbal = dbal - cx["g_R"]
            return jnp.concatenate([jnp.concatenate([jnp.zeros((M, M)), cdE[:, None]], 1),
                                    jnp.concatenate([n_ner, dbal[None]])[None]], 0)

        def psi_row(u, psi, E_k, cx):
            """psi's equation at every node: electroneutrality sum z u = 0, or Poisson's
            (lam2 / V) [a (dpsi/dX)] + sum z u / zz = 0 with, at the electrode, the Stern
            condition ls a_{1/2} (psi_1 - psi_0)/h_0 + f (E - E_pzc) - psi_0 + ls V_0 sum z u / (zz lam2) = 0
            (ls = 0: the potential of the solution at the electrode is f (E - E_pzc))."""
            q = u @ cx["z"]
            if not self.poisson:
                return q
            flux = cx["fh"] * (psi[1:] - psi[:-1])
            lam2, zz, ls, V = cx["lam2"], cx["zz"], cx["ls"], cx["V"]
            div = jnp.concatenate([flux, jnp.zeros(1)]) - jnp.concatenate([jnp.zeros(1), flux])
            row = lam2 * div / V + q / zz
            psi_m = cx["f"] * (E_k - cx["E_pzc"])
            return row.at[0].set(ls * flux[0] + psi_m - psi[0] + ls * V[0] * q[0] / (zz * lam2))

        def migration_matrix(u, psi, P, bp, bm, g, e, K, rjac, cjac, dE, dt, cx):
            """Newton's blocks with psi: A, C (N, S+1, S+1) full, B (N, S+1, S+1), and the
            electrode border G (S+1, M), H (M, S+1).  Face flux F = g (B(-P) u_{i+1} - B(P) u_i),
            g of the face's concentrations when D depends on them (``e``: see face_diffusion)."""
            n, z, V, f = S + 1, cx["z"], cx["V"], cx["f"]
            dFdP = g * (-_bernoulli_d(-P) * u[1:] - _bernoulli_d(P) * u[:-1])  # (N-1, S)
            zero = jnp.zeros((1, S))
            pad = lambda a: (jnp.concatenate([zero, a], 0), jnp.concatenate([a, zero], 0))  # noqa: E731
            lo_u, up_u = pad(g * bp)  # -dF/du_i at the face below, ...
            lo_m, up_m = pad(g * bm)
            lo_P, up_P = pad(dFdP)
            eye = jnp.eye(S)
            A = jnp.zeros((N, n, n)).at[:, :S, :S].set(-dt * lo_u[:, :, None] * eye)
            A = A.at[:, :S, S].set(-dt * z * lo_P)
            C = jnp.zeros((N, n, n)).at[:, :S, :S].set(-dt * up_m[:, :, None] * eye)
            C = C.at[:, :S, S].set(-dt * z * up_P)
            diag = V[:, None] + dt * (up_u + lo_m)
            Bs = diag[:, :, None] * eye - dt * V[:, None, None] * K
            if rde:  # the divergence of the flow
                Bs = Bs - dt * cx["dw"][:, :, None] * eye
            Bs = Bs.at[0].add(-dt * (kin_stoich.T @ rjac))
            if e is not None:  # the flux at a face also moves with D(c) there
                e = e if e.ndim == 3 else e[:, :, None] * eye
                z3 = jnp.zeros((1, S, S))
                lo_e, up_e = jnp.concatenate([z3, e], 0), jnp.concatenate([e, z3], 0)
                A = A.at[:, :S, :S].add(dt * lo_e)
                C = C.at[:, :S, :S].add(-dt * up_e)
                Bs = Bs + dt * (lo_e - up_e)
            B = jnp.zeros((N, n, n)).at[:, :S, :S].set(Bs)
            B = B.at[:, :S, S].set(dt * z * (lo_P + up_P)).at[:, S, :S].set(z)
            rdE, cdE = dE
            B = B.at[0, :S, S].add(dt / f * (kin_stoich.T @ rdE))  # E - psi_0 / f at the electrode
            if self.poisson:  # psi's row: the Laplacian, and the charge over zz
                lam2, zz, ls, fh = cx["lam2"], cx["zz"], cx["ls"], cx["fh"]
                z1 = jnp.zeros(1)
                lo, up = jnp.concatenate([z1, fh]) * lam2 / V, jnp.concatenate([fh, z1]) * lam2 / V
                A, C = A.at[:, S, S].set(lo), C.at[:, S, S].set(up)
                B = B.at[:, S, S].set(-(lo + up)).at[:, S, :S].set(z / zz)
                A = A.at[0, S].set(0.0)
                C = C.at[0, S, S].set(ls * fh[0])
                B = B.at[0, S, S].set(-ls * fh[0] - 1.0).at[0, S, :S].set(ls * V[0] * z / (zz * lam2))
            A, C = A.at[-1].set(0.0), C.at[-1].set(0.0)
            B = B.at[-1].set(jnp.eye(n))
            # The far node's psi row: psi + rho sum z F with F = g (B(-P) u_N - B(P) u_{N-1}).
            rho, zl = cx["rho"], z * g[-1]
            B = B.at[-1, S, :S].set(rho * zl * bm[-1]).at[-1, S, S].add(rho * (z * z) @ dFdP[-1])
            A = A.at[-1, S, :S].set(-rho * zl * bp[-1]).at[-1, S, S].set(-rho * (z * z) @ dFdP[-1])
            if e is not None:  # g of the last face moves with both its nodes' concentrations
                B = B.at[-1, S, :S].add(rho * z @ e[-1])
                A = A.at[-1, S, :S].add(rho * z @ e[-1])
            G = jnp.concatenate([-dt * nernst_stoich, jnp.zeros((1, M))], 0)
            H = jnp.concatenate([cjac, -cdE[:, None] / f], 1)
            return A, B, C, G, H

        def solve(matrix, rhs, crhs):
            """Newton's linear system: species groups in dependency order, each with the
            coupling to the groups already solved moved to the right-hand side."""
            B, factors, first_p = matrix
            ds, dvs = [], []
            solved = np.zeros(0, dtype=int)
            for comp, f in zip(self.components, factors):
                I, Jn = np.array(comp.species, dtype=int), np.array(comp.nernst, dtype=int)
                r = rhs[:, I]
                if solved.size:
                    r = r - jnp.einsum("nij,nj->ni", B[:, I][:, :, solved], jnp.concatenate(ds, axis=1))
                d, dvc = blocksolve.apply(f, r, crhs[Jn], p=first_p if not ds else None)
                ds.append(d)
                dvs.append(dvc)
                solved = np.concatenate([solved, I])
            # Back to species order by a gather (a scatter would not transpose).
            order = np.argsort(solved)
            nernst = np.concatenate([np.array(c.nernst, dtype=int) for c in self.components])
            du = jnp.concatenate(ds, axis=1)[:, order]
            dv = jnp.concatenate(dvs)[np.argsort(nernst)] if nernst.size else jnp.zeros_like(crhs)
            return du, dv

        def newton_iteration(u, v, u_old, dt, E_k, cx):
            res, conds, matrix = residual(u, v, u_old, dt, E_k, cx, newton_rhs=True)
            du, dv = solve(matrix, -res, -conds)
            if self.mig:  # psi moves at most 2 (50 mV) per iteration: Newton on exponentials
                du = du.at[:, S].set(jnp.clip(du[:, S], -2.0, 2.0))
            upd = jnp.max(jnp.abs(du))
            if self.e_unknown:  # E moves at most 0.2 V per iteration; its change in units of 25 mV counts
                dv = dv.at[-1].set(jnp.clip(dv[-1], -0.2, 0.2))
                upd = jnp.maximum(upd, jnp.abs(dv[-1]) / 0.025)
            return u + du, v + dv, upd, matrix

        def newton_matrix(u, v, u_old, dt, E_k, cx):
            u, v, upd, matrix = newton_iteration(u, v, u_old, dt, E_k, cx)
            if self.newton <= UNROLL_NEWTON:
                for _ in range(self.newton - 1):
                    u, v, upd, matrix = newton_iteration(u, v, u_old, dt, E_k, cx)
            else:  # in a loop: compiling costs the same for 5 or 20 iterations
                u, v, upd, matrix = jax.lax.fori_loop(
                    1, self.newton, lambda _, st: newton_iteration(st[0], st[1], u_old, dt, E_k, cx),
                    (u, v, upd, matrix))
            return (u, v, upd), matrix

        def newton(u, v, u_old, dt, E_k, cx):
            return newton_matrix(u, v, u_old, dt, E_k, cx)[0]

        # The derivative of a time step is that of its converged solution (implicit
        # function theorem): one more linear solve with the Jacobian at the solution per
        # tangent, instead of differentiating every Newton iteration (which would also
        # need the derivatives of the Jacobian).  A linear system's Jacobian does not
        # depend on the solution, so Newton's own factors serve.
        # Only the inputs that carry a tangent are differentiated (symbolic zeros): most
        # of the context (grid, diffusion, the parameters not fitted) does not.
        implicit_newton = jax.custom_jvp(newton)

        def electrode_only(path):
            """Whether an input (its path in (u_old, dt, E_k, cx)) enters no row but the
            electrode's through the solution: then a tangent's right-hand side away from
            the electrode is the same at Newton's start as at the solution."""
            keys = [getattr(k, "idx", getattr(k, "key", None)) for k in path]
            if keys[0] == 0:  # u_old: the same term V u_old at any solution
                return True
            if keys[0] == 2:  # E_k
                return "E" not in self._interior_names
            if keys[0] == 3 and keys[1] == "env":
                return keys[2] not in self._interior_names
            return keys[0] == 3 and keys[1] in ("sc", "scale_v")

        def fused_jvp(primals, flat, tree, live, flat_t):
            """A linear step and its tangents in one tridiagonal call (forward mode only):
            the tangents' right-hand side -dres(u) is taken at Newton's start u_init before
            the solve, and its change to the solution, a source at node 0 alone, is added
            through the response q to such a source that the factors hold."""
            u_init, v_init, u_old, dt, E_k, cx = primals
            lp, lt = [flat[i] for i in live], [flat_t[i] for i in live]

            def with_live(xs):
                leaves = list(flat)
                for i, x in zip(live, xs):
                    leaves[i] = x
                return jax.tree_util.tree_unflatten(tree, leaves)

            def surface(u0, *xs):
                _, _, E_, c_ = with_live(xs)
                rates, _, cnd, _ = surface_terms(u0, E_, c_)
                return rates, cnd

            _, (dres0, _, _) = jax.jvp(
                lambda *xs: residual(u_init, v_init, *with_live(xs), with_matrix=False), lp, lt)
            res, conds, (B, factors, (p, p_t)) = residual(u_init, v_init, u_old, dt, E_k, cx,
                                                          newton_rhs=True, extra=-dres0)
            du, dv = solve((B, factors, p), -res, -conds)
            u, v = u_init + du, v_init + dv
            _, (dr, dconds) = jax.jvp(lambda *xs: surface(u[0], *xs), lp, lt)
            _, (dr0, _) = jax.jvp(lambda *xs: surface(u_init[0], *xs), lp, lt)
            w = -dt * (kin_stoich.T @ (dr - dr0))  # row 0 of dres(u) - dres(u_init)
            I0 = np.array(self.components[0].species, dtype=int)
            p_t = p_t - w[I0][:, None] * factors[0]["q"]
            du_t, dv_t = solve((B, factors, p_t), -dres0.at[0].add(w), -dconds)
            upd = jnp.max(jnp.abs(du))
            return (u, v, upd), (du_t, dv_t, jnp.zeros_like(upd))

        def _jvp(primals, tangents):
            u_init, v_init, u_old, dt, E_k, cx = primals
            flat, tree = jax.tree_util.tree_flatten(primals[2:])
            zero = lambda t: isinstance(t, jax.custom_derivatives.SymbolicZero)  # noqa: E731
            flat_t = jax.tree_util.tree_leaves(tangents[2:], is_leaf=zero)
            live = [i for i, t in enumerate(flat_t) if not zero(t)]
            if opt.forward_only and self.linear and self.newton == 1 and not self.mig \
                    and not self.components[0].dense:
                paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(primals[2:])[0]]
                if all(electrode_only(paths[i]) for i in live):
                    return fused_jvp(primals, flat, tree, live, flat_t)
            (u, v, upd), matrix = newton_matrix(*primals)

            def res_of(*xs):
                leaves = list(flat)
                for i, x in zip(live, xs):
                    leaves[i] = x
                uo, dt_, E_, c_ = jax.tree_util.tree_unflatten(tree, leaves)
                return residual(u, v, uo, dt_, E_, c_, with_matrix=False)

            _, (dres, dconds, _) = jax.jvp(res_of, [flat[i] for i in live], [flat_t[i] for i in live])
            if not self.linear:
                _, _, matrix = residual(u, v, u_old, dt, E_k, cx)
            du, dv = solve(matrix[:2] + (None,), -dres, -dconds)
            return (u, v, upd), (du, dv, jnp.zeros_like(upd))

        implicit_newton.defjvp(_jvp, symbolic_zeros=True)

        # Variable-step BDF2 (BDF1 where omega = 0): with omega = dt_n / dt_{n-1},
        # a0 u - a1 u_n + a2 u_{n-1} = dt F(u), written as an implicit Euler step from
        # u* = (a1 u_n - a2 u_{n-1}) / a0 with step dt / a0.
        dt_all = dtau
        omega = jnp.concatenate([jnp.zeros(opt.bdf1_steps), dt_all[opt.bdf1_steps:] / dt_all[opt.bdf1_steps - 1 : -1]])
        a0 = (1 + 2 * omega) / (1 + omega)
        a1 = 1 + omega
        a2 = omega**2 / (1 + omega)

        def step(carry, xs):
            u_n, u_prev, v, (E_n, E_prev) = carry
            dt_n, E_k, b0, b1, b2, dEdt = xs
            u_old = (b1 * u_n - b2 * u_prev) / b0
            dt = dt_n / b0
            # The interfacial potential's time derivative (capacitance) by the same BDF formula.
            drive = jnp.stack([E_k, (b1 * E_n - b2 * E_prev) / b0]) if self.e_unknown else E_k
            u_full, v, upd = implicit_newton(u_n, v, u_old, dt, drive, ctx)
            E_hist = (v[-1], E_n) if self.e_unknown else (E_n, E_prev)
            u, phi0, E_s = u_full, jnp.zeros(()), E_k
            if self.mig:  # the concentrations; the electrode sees E - phi(0)
                u, phi0 = u_full[:, :S], u_full[0, S] / ctx["f"]
                E_s = E_k - phi0
            out = (upd, jnp.min(u), u[0, surf] * sc[surf], profile_of(u), phi0)
            carry = (u_full, u_n, v, E_hist)
            if self.galv:  # the applied current, and the potential solved for (plus I Ru)
                return carry, (E_k, v[-1] + E_k * settings["Ru"], *out)
            if self.ohmic:  # the whole current flows through Ru
                return carry, ((E_k - v[-1]) / settings["Ru"], E_k, *out)
            rates = surface_terms(u[0], E_s, ctx)[0]
            current = -constants.F * (n_kin @ rates + n_ner @ v) / scale_v * area
            if self.cap:
                current = current + settings["Cdl"] * dEdt
            return carry, (current, E_k, *out)

        def profile_of(u):
            return u * c_ref if opt.profiles else jnp.zeros((0, S))

        if opt.checkpoint:
            step = jax.checkpoint(step, prevent_cse=False)  # inside scan CSE cannot leak
        u0 = jnp.broadcast_to(jnp.where(surf, 0.0, bulk / c_ref), (len(self.x), S))
        u0 = u0.at[0].set(bulk / sc)
        if self.mig:  # psi = 0: the bulk is electroneutral
            u0 = jnp.concatenate([u0, jnp.zeros((len(self.x), 1))], 1)
        v0 = jnp.zeros(M)
        E_rest = jnp.asarray(self.waveform.E_rest(settings), float)
        if self.e_unknown:
            # Newton's start for the first step: from the rest potential, where Newton on an
            # exponential in E may creep 1/f per iteration, a loop of up to 60 iterations
            # finds E of the first step (its derivative is the implicit one of the step).
            v0 = jnp.concatenate([v0, E_rest[None]])

            def first(k, uv):
                return newton_iteration(*uv, u0, dtau[0], jnp.stack([E[0], E_rest]), ctx)[:2]

            v0 = jax.lax.stop_gradient(jax.lax.fori_loop(0, 60, first, (u0, v0))[1])
        # The programme's dE/dt over each step (the charging current with Cdl and no Ru).
        steps = jnp.diff(jnp.concatenate([jnp.zeros(1), t_end]))
        dEdt = jnp.diff(jnp.concatenate([E_rest[None], E])) / steps if self.cap and not self.e_unknown \
            else jnp.zeros_like(t_end)
        (u_end, _, _, _), (I, E, upd, umin, gamma, profiles, phi) = jax.lax.scan(
            step, (u0, u0, v0, (E_rest, E_rest)), (dtau, E, a0, a1, a2, dEdt), unroll=2)
        # For a linear system one Newton step is exact; otherwise the last correction is the
        # convergence measure (so a single iteration on a nonlinear system is reported).
        upd_out = jnp.zeros_like(upd) if self.linear else upd
        return (t_end, E, I, upd_out, umin * c_ref, x * L, u_end[:, :S] * c_ref, gamma, profiles,
                phi if self.mig else None)


def _bernoulli(z):
    """z / (e^z - 1), smooth through z = 0 (the Scharfetter-Gummel weight of a face)."""
    z = jnp.clip(z, -500.0, 500.0)
    small = jnp.abs(z) < 1e-4
    zs = jnp.where(small, 1.0, z)
    return jnp.where(small, 1.0 - z / 2 + z * z / 12, zs / jnp.expm1(zs))


def _bernoulli_d(z):
    """The derivative of ``_bernoulli``: B'(z) = B (1 - B) / z - B."""
    z = jnp.clip(z, -500.0, 500.0)
    small = jnp.abs(z) < 1e-4
    zs = jnp.where(small, 1.0, z)
    b = zs / jnp.expm1(zs)
    return jnp.where(small, -0.5 + z / 6, b * (1.0 - b) / zs - b)
