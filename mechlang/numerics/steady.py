"""Steady state without mass transport (``transport none``): surface = bulk.

Every electrode rate ``v_j`` (mol m^-2 s^-1, reduction positive) is evaluated at the bulk
concentrations (solids at unit activity, see :mod:`mechlang.symbolic.system`) and at each
potential of the programme; the current is ``I = -F A sum_j n_j v_j`` (oxidation
positive).  Homogeneous steps do not enter: with no transport they only set the bulk,
which the file gives.  One vectorised evaluation, no solve: pure, and jit/grad/vmap-able.
"""

from __future__ import annotations

from typing import Mapping

import jax.numpy as jnp

from mechlang import constants
from mechlang.codegen.jaxify import compile_exprs
from mechlang.errors import ModelError, error
from mechlang.experiments import get as get_waveform
from mechlang.model import ir
from mechlang.numerics.options import Options
from mechlang.symbolic.system import SymbolicSystem, conc


class SteadyState:
    """Same interface as :class:`~mechlang.numerics.transient.Transient`: ``run(values)``."""

    def __init__(self, system: SymbolicSystem, model: ir.Model, experiment: ir.Experiment,
                 options: Options, settings_defaults: Mapping[str, float]):
        self.system = system
        self.experiment = experiment
        self.options = options
        for es in system.electrode:
            if es.equilibrium:
                raise ModelError(error(
                    f"{model.file}: step {es.label} is at equilibrium (nernst): it has no finite rate, so "
                    f"experiment '{experiment.name}' (steady state, no transport) has no defined current",
                    None, "give the step finite-rate kinetics, e.g. butler_volmer(E0 = ..., k0 = ..., alpha = ...)"))
        self.kinetic = list(system.electrode)
        self._rates = compile_exprs([es.rate for es in self.kinetic]) if self.kinetic else None
        self.waveform = get_waveform(experiment.technique)
        self.plan = self.waveform.plan(dict(settings_defaults), options)

    def run(self, values: Mapping[str, jnp.ndarray]):
        """Returns (t, E, I, newton_update, min_conc, x, c_final) like ``Transient.run``:
        t is zeros (no time), newton_update zeros (nothing is solved), min_conc the lowest
        bulk concentration, x = [0] and c_final the bulk concentrations, shape (1, species)."""
        sysm = self.system
        settings = {k: values[v] for k, v in self.experiment.settings.items()}
        settings["points"] = self.experiment.points
        t, E = self.waveform.programme(settings, self.plan)
        S = len(sysm.species)
        bulk = jnp.stack([jnp.asarray(values[c], float) for c in sysm.bulk]) if S else jnp.zeros(0)
        env = dict(values)
        env["T"] = settings["T"]
        env["E"] = E
        for i, s in enumerate(sysm.species):
            env[str(conc(s))] = bulk[i]
        I = jnp.zeros_like(E)  # noqa: E741
        if self._rates is not None:
            for es, v in zip(self.kinetic, self._rates(env)):
                I = I - constants.F * es.n * jnp.broadcast_to(v, E.shape)  # noqa: E741
        I = I * settings["area"]  # noqa: E741
        min_conc = jnp.full(E.shape, jnp.min(bulk) if S else 0.0)
        return t, E, I, jnp.zeros_like(E), min_conc, jnp.zeros(1), bulk[None, :], jnp.zeros((E.shape[0], 0)), jnp.zeros((E.shape[0], 0, 0))
