"""``transport concentrated``: a binary salt in concentrated solution between two identical
Li electrodes (a symmetric cell of thickness L) under a galvanostatic current density.

The salt concentration c(x, t) (x from the left electrode, where Li dissolves when the
current density i is positive, to the right one, where it deposits) obeys Newman's
concentrated-solution balance for a binary salt with z+ nu+ = 1 (LiTFSI, LiPF6, ...):

    dc/dt = -dN/dx,   N = N_d + c v0,   N_d = -D(c) dc/dx + t+(c) i / F

N is the flux of Li+ in the frame of the electrodes (their own motion, a few um per hour,
is neglected), N_d its part relative to the solvent and v0 the solvent velocity.  With
constant partial molar volumes (V of the salt, that of the solvent whatever it is), the
volume balance d/dx (V N_salt + V0 c0 v0) = 0 with the solvent at rest at the left
electrode gives v0 = V (i/F - N_d) exactly (the factor 1 - c V of the solvent's volume
fraction cancels against the salt's own convection), so

    N = (1 - c V) N_d + c V i / F.

At both electrodes only Li+ crosses: N = i/F, so the salt in the cell is conserved and
v0 = 0 there.  At steady state N = i/F everywhere: dc/dx = -i (1 - t+)/(F D), and v0 = 0.
D, t+ and V are expressions of the salt concentration ``[X]`` and of parameters (all
runtime, differentiable); V = 0 (the default) is a solvent at rest.

The cell's potential, with the salt's conductivity kappa(c) and thermodynamic factor
tdf(c) = 1 + dln f/dln c (default 1): both electrodes are Li in equilibrium with the salt
at their surface (no charge-transfer overpotential; an experiment's ``Ru`` adds I Ru, an
interfacial resistance), so E, the left electrode against the right, is the drop of the
potential measured with Li along the electrolyte, with Newman's

    dPhi/dx = -i/kappa + (2RT/F) (1 - t+) tdf dln c/dx,

E = Phi(0) - Phi(L): the ohmic drop i L/kappa at first, and at steady state with
constant coefficients i L/kappa + (2RT/F)(1 - t+) tdf ln(c(0)/c(L)).  Without kappa no
potential is computed (E is zeros).

Finite volumes on a grid whose spacing grows geometrically from both electrodes to the
middle (``points`` nodes, ``first_cell`` the first spacing / L); node 0 and node N-1
are half cells at the electrodes.  Each face carries one flux N(c_i, c_{i+1}) with D, t+
and V at the face concentration (c_i + c_{i+1})/2, so the salt is conserved to
round-off; the potential's drop across a face takes kappa, t+ and tdf there too.
Time: the steps of ``ca`` (``ca_steps``, growing geometrically from
``ca_first_step * duration``), variable-step BDF2 after ``bdf1_steps`` implicit Euler
steps, each solved by a fixed number of Newton iterations (``newton``, default 6) on the
tridiagonal Jacobian (the face derivatives by automatic differentiation), differentiated
through the iterations.  The current density of a step is taken at its end: a constant
``current_density`` (or ``current`` / ``area``), an expression of the time ``t``, or a
measured table (``Options.current_table``), interpolated linearly.
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
from mechlang.experiments import step as step_waveform
from mechlang.model import ir
from mechlang.numerics.options import Options
from mechlang.numerics.transient import expanding_grid
from mechlang.symbolic.system import SymbolicSystem, conc


def symmetric_grid(points: int, first_cell: float) -> np.ndarray:
    """Nodes on [0, 1], finest at both ends, the spacing growing geometrically to the middle."""
    half = (points + 1) // 2
    left = 0.5 * expanding_grid(half, min(2.0 * first_cell, 0.5 / max(half - 1, 1)))
    right = 1.0 - left[::-1]
    if points % 2:  # the middle node is shared
        return np.concatenate([left, right[1:]])
    mid = 0.5 * (left[-1] + right[0])  # an even count: split the middle cell
    left = np.concatenate([left[:-1], [0.5 * (left[-2] + mid)]])
    return np.concatenate([left, 1.0 - left[::-1]])


class Concentrated:
    """Same interface as :class:`~mechlang.numerics.transient.Transient`: ``run(values)``."""

    def __init__(self, system: SymbolicSystem, model: ir.Model, experiment: ir.Experiment,
                 options: Options, settings_defaults: Mapping[str, float]):
        self.system = system
        self.experiment = experiment
        self.options = options
        salt = next(s for s in model.species if not s.surface and not s.solid)
        self.salt = salt
        self.species = (salt.name,)
        self._c = str(conc(salt.name))
        D = salt.D_expr if salt.D_expr is not None else sympy.Symbol(salt.D)
        Vm = salt.Vm if salt.Vm is not None else sympy.Integer(0)
        self._props = compile_exprs([D, salt.t_plus, Vm])
        # The cell's potential (with the salt's conductivity): kappa and the thermodynamic factor.
        self.potential = salt.kappa is not None
        tdf = salt.tdf if salt.tdf is not None else sympy.Integer(1)
        self._electric = compile_exprs([salt.kappa, salt.t_plus, tdf]) if self.potential else None
        self._programme = compile_exprs([experiment.programme]) if experiment.programme is not None else None
        table = options.current_table
        if table is not None:
            t_tab, j_tab = (np.asarray(a, float).reshape(-1) for a in table)
            if t_tab.size < 2 or t_tab.size != j_tab.size or not np.all(np.isfinite(t_tab)) \
                    or not np.all(np.isfinite(j_tab)) or np.any(np.diff(t_tab) <= 0):
                raise ModelError(error(
                    f"current_table: need two arrays of equal length (>= 2), finite, times increasing; got "
                    f"{t_tab.size} times and {j_tab.size} current densities"))
            self._table = (t_tab, j_tab)
        else:
            self._table = None
        self.newton = options.newton or 6
        self.plan = step_waveform.plan(dict(settings_defaults), options)
        self.x = symmetric_grid(options.points, options.first_cell)

    # ------------------------------------------------------------------------------
    def current_density(self, t, settings, values):
        """The applied current density (A/m^2) at times t."""
        if self._table is not None:
            return jnp.interp(t, jnp.asarray(self._table[0]), jnp.asarray(self._table[1]))
        if self._programme is not None:
            env = dict(values)
            env["t"] = t
            return jnp.broadcast_to(jnp.asarray(self._programme(env)[0], float), t.shape)
        if "current_density" in settings:
            return jnp.broadcast_to(settings["current_density"], t.shape) + 0.0 * t
        return jnp.broadcast_to(settings["current"] / settings["area"], t.shape) + 0.0 * t

    def run(self, values: Mapping[str, jnp.ndarray]):
        """Returns the tuple of :class:`~mechlang.simulator.Result`: t (s), E (the cell's
        potential, V, with the salt's conductivity ``kappa``; else zeros), I (the applied
        current, A), the last Newton update (relative to the initial concentration) and the
        lowest concentration per step, the grid x (m), the final profile (N, 1), no surface
        species, the profiles of every step with ``profiles=True`` (steps, N, 1), no
        solution potential, and the solvent velocity at the nodes per step (steps, N), m/s."""
        opt = self.options
        settings = {k: values[v] for k, v in self.experiment.settings.items()}
        t = step_waveform.geometric_times(settings, self.plan)
        L = jnp.asarray(settings["L"], float)
        area = settings["area"]
        j = self.current_density(t, settings, values)
        env0 = dict(values)
        env0["T"] = settings["T"]
        c0 = jnp.asarray(values[self.salt.c], float)
        Fc = constants.F
        xg = jnp.asarray(self.x) * L
        h = xg[1:] - xg[:-1]
        Vn = jnp.concatenate([h[:1] / 2, (h[1:] + h[:-1]) / 2, h[-1:] / 2])  # control volumes (m)
        names = self._c

        def props(c):
            env = dict(env0)
            env[names] = c
            D, tp, Vm = self._props(env)
            shape = jnp.shape(c)
            return (jnp.broadcast_to(jnp.asarray(D, float), shape), jnp.broadcast_to(jnp.asarray(tp, float), shape),
                    jnp.broadcast_to(jnp.asarray(Vm, float), shape))

        def face(cl, cr, hf, i):
            """Li+ flux N across one face, and the solvent velocity there."""
            cf = 0.5 * (cl + cr)
            D, tp, Vm = props(cf)
            Nd = -D * (cr - cl) / hf + tp * i / Fc
            v0 = Vm * (i / Fc - Nd)
            return Nd + cf * v0, v0

        flux = jax.vmap(lambda cl, cr, hf, i: face(cl, cr, hf, i)[0], in_axes=(0, 0, 0, None))
        dflux = jax.vmap(jax.grad(lambda cl, cr, hf, i: face(cl, cr, hf, i)[0], argnums=(0, 1)),
                         in_axes=(0, 0, 0, None))
        velocity = jax.vmap(lambda cl, cr, hf, i: face(cl, cr, hf, i)[1], in_axes=(0, 0, 0, None))

        def residual(c, c_star, dt, i):
            Nf = flux(c[:-1], c[1:], h, i)
            edge = jnp.reshape(i / Fc, (1,))
            into = jnp.concatenate([edge, Nf])  # from the left into each node
            out = jnp.concatenate([Nf, edge])  # out of each node to the right
            return Vn * (c - c_star) - dt * (into - out)

        def newton_step(c, c_star, dt, i):
            r = residual(c, c_star, dt, i)
            a, b = dflux(c[:-1], c[1:], h, i)  # dN_f/dc_f, dN_f/dc_{f+1}
            z = jnp.zeros(1)
            diag = Vn - dt * (jnp.concatenate([z, b]) - jnp.concatenate([a, z]))
            lower = jnp.concatenate([z, -dt * a])  # d r_k / d c_{k-1}
            upper = jnp.concatenate([dt * b, z])  # d r_k / d c_{k+1}
            dc = jax.lax.linalg.tridiagonal_solve(lower, diag, upper, -r[:, None])[:, 0]
            return c + dc, jnp.max(jnp.abs(dc))

        dtau = jnp.diff(jnp.concatenate([jnp.zeros(1), t]))
        nb = opt.bdf1_steps
        omega = jnp.concatenate([jnp.zeros(nb), dtau[nb:] / dtau[nb - 1:-1]])
        a0 = (1 + 2 * omega) / (1 + omega)
        a1 = 1 + omega
        a2 = omega**2 / (1 + omega)

        RTF = constants.R * settings["T"] / Fc

        def cell_potential(c, i):
            """Left electrode against right, both Li in equilibrium with the salt at their
            surface (Newman, a binary salt, potential measured against Li):
            dPhi/dx = -i/kappa + (2RT/F)(1 - t+) tdf dln c/dx at each face."""
            if not self.potential:
                return jnp.zeros(())
            env = dict(env0)
            env[names] = 0.5 * (c[1:] + c[:-1])
            kappa, tp, tdf = (jnp.broadcast_to(jnp.asarray(a, float), h.shape) for a in self._electric(env))
            dphi = -i * h / kappa + 2 * RTF * (1 - tp) * tdf * (jnp.log(c[1:]) - jnp.log(c[:-1]))
            return -jnp.sum(dphi)

        def step(carry, xs):
            c_n, c_prev = carry
            dt_n, i, b0, b1, b2 = xs
            c_star = (b1 * c_n - b2 * c_prev) / b0
            dt = dt_n / b0
            c, upd = c_n, jnp.zeros(())
            for _ in range(self.newton):
                c, upd = newton_step(c, c_star, dt, i)
            vf = velocity(c[:-1], c[1:], h, i)
            z = jnp.zeros(1)
            v_nodes = jnp.concatenate([z, 0.5 * (vf[1:] + vf[:-1]), z])  # v0 = 0 at the electrodes
            prof = c[:, None] if opt.profiles else jnp.zeros((0, 1))
            return (c, c_n), (upd / c0, jnp.min(c), prof, v_nodes, cell_potential(c, i))

        if opt.checkpoint:
            step = jax.checkpoint(step, prevent_cse=False)
        c_init = jnp.full(len(self.x), 1.0) * c0
        (c_end, _), (upd, cmin, profiles, vel, E) = jax.lax.scan(step, (c_init, c_init), (dtau, j, a0, a1, a2))
        I = j * area  # noqa: E741
        if self.potential:
            E = E + I * settings["Ru"]
        return (t, E, I, upd, cmin, xg, c_end[:, None], jnp.zeros((t.shape[0], 0)), profiles, None, vel)
