"""``mechlang.compile``: a validated model and one experiment to a pure JAX simulator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from mechlang.codegen.jaxify import compile_exprs
from mechlang.errors import ModelError, SolverError, did_you_mean, error
from mechlang.model import ir
from mechlang.numerics.options import Options
from mechlang.numerics.steady import SteadyState
from mechlang.numerics.transient import Transient
from mechlang.symbolic.system import SymbolicSystem, derive


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class Result:
    """A simulated experiment: time (s), applied potential (V), current (A, anodic > 0).
    For a ``galvanostatic`` experiment ``I`` is the applied current and ``E`` the
    potential solved for at every step (``transport concentrated``: the cell's potential,
    with the salt's conductivity; without it zeros, ``Model.computes_potential``).

    For a steady-state ``polarization`` experiment ``t`` is all zeros (there is no time),
    ``E`` the ``points`` potentials from E_start to E_end, ``x`` is ``[0]`` and
    ``c_final`` the bulk concentrations (the surface ones, with no transport).

    ``newton_update`` (largest last Newton correction per step, relative to the largest
    bulk concentration; zero for linear systems, which one Newton step solves exactly)
    and ``min_conc`` (lowest concentration per step, mol/m^3) are what :meth:`check` reads.
    ``x`` and ``c_final`` hold the grid and the final concentration profiles of the
    species in ``Simulator.species`` order; compiled with ``profiles=True``, ``profiles``
    holds them at every step (otherwise it is empty).  A surface species' column there is
    not a concentration: its surface concentration is in ``surface``.
    """

    t: jax.Array
    E: jax.Array
    I: jax.Array  # noqa: E741
    newton_update: jax.Array
    min_conc: jax.Array
    x: jax.Array  # grid: distance from the electrode surface, m
    c_final: jax.Array  # concentrations at the end, (len(x), species), mol/m^3
    surface: jax.Array  # surface species (Simulator.surface_species order): Gamma per step, mol/m^2
    profiles: jax.Array  # with compile(..., profiles=True): c(x, t), (steps, len(x), species), mol/m^3
    phi: jax.Array | None = None  # transport migration: solution potential at the electrode per step, V
    velocity: jax.Array | None = None  # transport concentrated: solvent velocity at the nodes, (steps, len(x)), m/s

    def healthy(self, newton_tol: float = 1e-7, c_scale: float = 1.0):
        """What :meth:`check` tests, as one boolean that works inside ``jit`` and ``vmap``
        (a fit rejects trial points that fail it; ``check`` then says what failed)."""
        return (jnp.all(jnp.isfinite(self.E)) & jnp.all(jnp.isfinite(self.I))
                & jnp.all(self.newton_update <= newton_tol) & ~jnp.any(self.min_conc < -1e-6 * c_scale))

    def check(self, experiment: str = "", newton_tol: float = 1e-7, c_scale: float = 1.0,
              galvanostatic: bool = False) -> "Result":
        """Raise :class:`SolverError` if the run failed; call it outside traced code."""
        runaway = ("past the transition time the applied current can no longer be carried: "
                   "shorten the duration or lower the current")
        I = np.asarray(self.I)  # noqa: E741
        where = f"experiment '{experiment}'" if experiment else "the experiment"

        def at(k: int) -> str:
            return f"{where} at t = {float(self.t[k]):.6g} s, E = {float(self.E[k]):.6g} V"

        bad = np.flatnonzero(~np.isfinite(np.asarray(self.E)))
        if bad.size:  # galvanostatic: the potential solved for ran away
            k = bad[0]
            raise SolverError(error(
                f"the potential ran away (no finite solution) in {where} at t = {float(self.t[k]):.6g} s, "
                f"E = {float(self.E[max(k - 1, 0)]):.6g} V the step before", None, runaway))
        bad = np.flatnonzero(~np.isfinite(I))
        if bad.size:
            raise SolverError(error(f"the simulation produced NaN or infinite current in {at(bad[0])}",
                                    None, "try a smaller potential step (--dE) or more grid points (--points)"))
        upd = np.asarray(self.newton_update)
        bad = np.flatnonzero(~(upd <= newton_tol))
        if bad.size:
            raise SolverError(error(
                f"Newton's method did not converge in {at(bad[0])} (last correction {upd[bad[0]]:.3g})",
                None, runaway if galvanostatic else
                "increase the Newton iterations (newton=..., --newton) or decrease the time step (dE=..., --dE)"))
        cmin = np.asarray(self.min_conc)
        bad = np.flatnonzero(cmin < -1e-6 * c_scale)
        if bad.size:
            raise SolverError(error(
                f"a concentration became negative ({cmin[bad[0]]:.3g} mol/m^3) in {at(bad[0])}",
                None, "the time step or the grid is too coarse for the fastest reaction: decrease dE or first_cell"))
        return self


class Simulator:
    """A compiled experiment.  ``sim(params)`` -> :class:`Result`; pure and jit-able.

    ``params`` maps names to SI floats or JAX arrays; missing names take the file's
    values.  Names: parameters (``k0``), species properties (``O.D``, ``O.c``), values
    written inline in a step (``E1.k0``), and the experiment's settings by key
    (``scan_rate``, ``area``, ``T``, ``r``, ``E_start``, ...).  The simulator works
    under ``jax.jit``, ``jax.grad`` and ``jax.vmap``; changing a value never recompiles.
    """

    def __init__(self, model: ir.Model, experiment: str | None = None, options: Options | None = None):
        if experiment is None:
            if len(model.experiments) != 1:
                names = ", ".join(model.experiments) or "none"
                raise ModelError(error(
                    f"{model.file}: choose an experiment: the file has {len(model.experiments)} ({names})"))
            experiment = model.experiments[0]
        if experiment not in model.experiments_:
            raise ModelError(error(
                f"{model.file}: no experiment '{experiment}'{did_you_mean(experiment, model.experiments)}"
                f"; the file has: {', '.join(model.experiments) or 'none'}"))
        self.model = model
        self.experiment = model.experiment(experiment)
        self.options = options or Options()
        self.system: SymbolicSystem = derive(model)

        exp_values = {v for e in model.experiments_.values() for v in e.settings.values()}
        own = dict(self.experiment.settings)  # key -> value name
        self._public = {}  # public name -> value name
        for name, v in model.values.items():
            if name in exp_values:
                continue
            self._public[name] = name
        for key, vname in own.items():
            # A param named like the key (`param Cdl = ...` with `Cdl = Cdl`) keeps its own
            # name; the setting is then addressed by its value name (`cv.Cdl`).
            if key not in self._public:
                self._public[key] = vname
            self._public[vname] = vname
        # value name -> key, for defaults (where the key is the setting's public name)
        self._private = {v: k for k, v in own.items() if self._public.get(k) == v}
        used = set(self._public.values())
        # ... and every value those are derived from, public or not.
        todo = list(used)
        while todo:
            for sym in model.values[todo.pop()].expr.free_symbols:
                if sym.name in model.values and sym.name not in used:
                    used.add(sym.name)
                    todo.append(sym.name)
        self._order = [n for n in model.values if n in used]
        self._literal = [n for n in self._order if model.values[n].is_literal]
        self._derived = {n: compile_exprs([model.values[n].expr]) for n in self._order if n not in self._literal}

        numbers = model.evaluate()
        self.defaults: dict[str, float] = {}
        for name in self._order:
            self.defaults[self._private.get(name, name)] = numbers[name]
        settings = {k: numbers[v] for k, v in own.items()}
        self.settings = dict(settings)  # key -> the file's number (SI)
        settings["cycles"] = self.experiment.cycles
        settings["points"] = self.experiment.points
        # `transport none` (only polarization, checked at load): surface = bulk, no time loop.
        engine = SteadyState if "none" in model.transport else Transient
        if "concentrated" in model.transport:  # a binary salt in a symmetric cell
            from mechlang.numerics.concentrated import Concentrated

            engine = Concentrated
        elif self.options.current_table is not None:
            raise ModelError(error(
                f"{model.file}: the solver option current_table programmes the current density of "
                "'transport concentrated'; this model does not use it"))
        self._transient = engine(self.system, model, self.experiment, self.options, settings)
        self._c_scale = max([numbers[c] for c in self.system.bulk] + [1e-30])
        if engine is not Transient and engine is not SteadyState:
            self._c_scale = max([numbers[s.c] for s in model.species if s.c] + [1e-30])
        self._jit = jax.jit(self._run)

    @property
    def species(self) -> tuple[str, ...]:
        return getattr(self._transient, "species", self.system.species)

    @property
    def surface_species(self) -> tuple[str, ...]:
        """The columns of ``Result.surface``."""
        if hasattr(self._transient, "species"):  # transport concentrated: the salt alone
            return ()
        return tuple(s for s, on in zip(self.system.species, self.system.surface) if on)

    @property
    def parameter_names(self) -> list[str]:
        return list(self.defaults)

    def _resolve(self, params: Mapping | None) -> tuple[dict, dict]:
        literal, derived = {}, {}
        for key, value in (params or {}).items():
            name = self._public.get(key)
            if name is None:
                raise KeyError(f"unknown parameter '{key}'{did_you_mean(key, self._public)}")
            (literal if name in self._literal else derived)[name] = value
        # Same dtype and weak-type for every entry, so the jit cache never misses on values.
        full = {n: jnp.asarray(literal.get(n, self.defaults[self._private.get(n, n)]), dtype=jnp.float64)
                for n in self._literal}
        return full, {n: jnp.asarray(v, dtype=jnp.float64) for n, v in derived.items()}

    def _run(self, literal: dict, derived: dict) -> Result:
        values = {n: jnp.asarray(v, dtype=float) for n, v in literal.items()}
        values["T"] = values[self.experiment.settings["T"]]  # for values derived at the cell's T
        for name in self._order:
            if name in self._derived:
                if name in derived:
                    values[name] = jnp.asarray(derived[name], dtype=float)
                else:
                    values[name] = jnp.asarray(self._derived[name](values)[0], dtype=float)
        return Result(*self._transient.run(values))

    def __call__(self, params: Mapping | None = None) -> Result:
        literal, derived = self._resolve(params)
        result = self._jit(literal, derived)
        if not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(result)):
            result.check(self.experiment.name, self.options.newton_tol, self._c_scale,
                         self.experiment.technique == "galvanostatic")
        return result


def compile(source, experiment: str | None = None, options: Options | None = None, **option_changes) -> Simulator:
    """Compile one experiment of a model (a path or a loaded :class:`Model`).

    Arguments:
        source: a path to a ``.mech`` file or a model from :func:`mechlang.load`.
        experiment: the experiment's name; may be omitted when the file has one.
        options: solver options; or give single options as keywords (``points=200``).

    Returns:
        A :class:`Simulator`.

    Raises:
        MechError: for every problem of the file, before anything is compiled.
    """
    jax.config.update("jax_enable_x64", True)
    if not isinstance(source, ir.Model):
        from mechlang import load

        source = load(source)
    opts = (options or Options()).with_(**option_changes)
    return Simulator(source, experiment, opts)
