"""A least-squares problem: a model, the experiments with data, and the fitted names.

Fitted parameters live on a unit box: each is mapped from its declared search space
(``in [lo, hi]``, on a log scale when declared ``log``) to s in [0, 1], so that every
optimizer sees well-scaled, bounded variables; a parameter without bounds is searched
as log10 of its value (``log``) or in units of its starting value.  A quantity that must
be positive (a diffusion coefficient, a concentration, a rate constant: see
:func:`positive_values`) given neither bounds nor ``log`` -- in the file or by the caller --
is searched on a log scale over ``DEFAULT_DECADES`` decades either side of its starting
value (:attr:`Parameter.default_bounds`), so that no fit can make it negative.

The residual of data set d at point i is (y_sim - y_data) / scale, y the data set's
observable.  For current data the scale (``weighting``) is the largest measured |I| of
that data set (``"max"``, the default: experiments of different current scales, a global
fit over scan rates, weigh alike) or the point's own measured |I| (``"relative"``:
relative errors, for data spanning decades of current such as a Tafel plot).
Concentration profiles are divided by their largest |c| (solvent velocities by their
largest |v|), potentials by their range
(their zero is the reference electrode's), whatever the weighting.  An experiment may
have several data sets (a current transient and profiles), each scaled on its own.
``loss`` is the sum of squares.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import sympy

from mechlang.errors import DataError, ModelError, did_you_mean, error
from mechlang.model import ir
from mechlang.numerics.options import Options
from mechlang.simulator import Simulator


WEIGHTINGS = ("max", "relative")

# A positive quantity fitted without bounds or log is searched over [start/10^3, start*10^3].
DEFAULT_DECADES = 3.0
# Experiment settings that cannot be negative.
_POSITIVE_SETTINGS = ("scan_rate", "duration", "area", "T", "r", "L", "length", "omega", "nu", "Ru", "Cdl")
# Arguments of the registered kinetic laws that are positive: the standard rate constant
# and Marcus' reorganization energy.
_POSITIVE_LAW_ARGS = ("k0", "lambda")
# SI units of quantities that are never negative: diffusivities (and kinematic viscosities)
# and concentrations.
_POSITIVE_UNITS = ("m**2/s", "mol/m**3")


def positive_values(model: ir.Model) -> set[str]:
    """Names of the values of ``model`` that must be positive: species' D and c (a surface
    species' Gamma), mass-action rate constants (``k``, ``kf``, ``kb``), ``k0`` (and
    ``lambda``) of the registered kinetic laws, sites' Gamma_max, the experiment settings
    that cannot be negative (``Ru``, ``Cdl``, ``area``, ``r``, ...), any value in m^2/s or
    mol/m^3 -- and a value that is nothing but another one of these (``D = D0``, where
    ``param D0`` is then positive too)."""
    from mechlang.kinetics.base import REGISTRY

    names: set[str] = set()
    for s in model.species:
        names.update(n for n in (s.D, s.c) if n)
    for site in model.sites:
        names.add(site.gamma_max)
    for step in model.steps:
        k = step.kinetics
        if isinstance(k, ir.MassAction):
            names.update(n for n in (k.kf, k.kb) if n)
        elif isinstance(k, ir.LawCall) and k.law in REGISTRY and k.law not in model.laws:
            names.update(v for a, v in k.args if a in _POSITIVE_LAW_ARGS)
    for e in model.experiments_.values():
        names.update(v for key, v in e.settings.items() if key in _POSITIVE_SETTINGS)
    names.update(n for n, v in model.values.items() if v.unit.replace(" ", "") in _POSITIVE_UNITS)
    todo = list(names)
    while todo:  # D = D0: D0 is positive as well
        v = model.values.get(todo.pop())
        if v is not None and isinstance(v.expr, sympy.Symbol) and v.expr.name in model.values \
                and v.expr.name not in names:
            names.add(v.expr.name)
            todo.append(v.expr.name)
    return {n for n in names if n in model.values}


# Compiled functions kept for the life of the process, so that a second fit of the same
# model (another call, more starts, a profile-likelihood point, a comparison) neither
# traces nor compiles again.  Keys are content fingerprints: a model reloaded from an
# unchanged file, the same solver options and the same aligned data hit the cache.
_CACHE_SIZE = 16
_simulators: OrderedDict = OrderedDict()  # (model, experiment, options) -> Simulator
_jacobians: OrderedDict = OrderedDict()  # (model, experiments, parameters, data) -> compiled pair


def _cached(cache: OrderedDict, key, make):
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = make()
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


def fingerprint(model: ir.Model) -> str:
    """A digest of everything a model says (its IR is frozen dataclasses with a full repr)."""
    return hashlib.sha256(repr(model).encode()).hexdigest()


def simulator(model: ir.Model, experiment: str, options: Options, key: str | None = None) -> Simulator:
    """The compiled simulator of one experiment, shared by every problem on the same model."""
    key = key or fingerprint(model)
    return _cached(_simulators, (key, experiment, options), lambda: Simulator(model, experiment, options))


@dataclass(frozen=True)
class Parameter:
    name: str  # public name (as sim(params) takes it)
    value: float  # the file's value, SI
    lo: float | None
    hi: float | None
    log: bool
    unit: str
    default_bounds: bool = False  # lo, hi are the default search space of a positive quantity

    def from_unit(self, s):
        """s in [0, 1] (or unbounded) -> SI value; works on JAX and numpy arrays."""
        if self.lo is not None:
            if self.log:
                a, b = np.log10(self.lo), np.log10(self.hi)
                return 10.0 ** (a + (b - a) * s)
            return self.lo + (self.hi - self.lo) * s
        if self.log:
            return 10.0**s
        return self.value * s if self.value != 0 else s

    def to_unit(self, x: float) -> float:
        if self.lo is not None:
            if self.log:
                a, b = np.log10(self.lo), np.log10(self.hi)
                return (np.log10(x) - a) / (b - a)
            return (x - self.lo) / (self.hi - self.lo)
        if self.log:
            return float(np.log10(x))
        return x / self.value if self.value != 0 else x

    def slope(self, s: float) -> float:
        """d(value)/ds at s: turns a unit-box Jacobian column into one per SI unit."""
        x = float(self.from_unit(s))
        if self.lo is not None:
            if self.log:
                return x * np.log(10.0) * (np.log10(self.hi) - np.log10(self.lo))
            return self.hi - self.lo
        if self.log:
            return x * np.log(10.0)
        return self.value if self.value != 0 else 1.0

    @property
    def bounded(self) -> bool:
        return self.lo is not None

    @property
    def width(self) -> float:
        """The size of its search space in SI: hi - lo with bounds, else the unit it is
        searched in (its starting value; 1 when that is 0).  Never 0."""
        if self.lo is not None:
            return float(self.hi - self.lo)
        return abs(self.value) or 1.0


class Problem:
    """Simulators and data of one model; ``residuals(s)`` is pure and batched-able."""

    def __init__(self, model: ir.Model, data: Mapping[str, object], fit: Sequence[str] | None = None,
                 bounds: Mapping[str, tuple[float, float]] | None = None,
                 log: Mapping[str, bool] | None = None, options: Options | None = None,
                 weighting: str = "max"):
        from mechlang.inverse.data import load_dataset

        if weighting not in WEIGHTINGS:
            raise ModelError(error(f"unknown weighting '{weighting}': use one of {', '.join(WEIGHTINGS)}"))
        if not data:
            raise DataError(error("no data given: pass data={EXPERIMENT: FILE.csv, ...}"))
        self.model = model
        self._model_key = fingerprint(model)
        self.options = options or Options()
        self.sims: dict[str, Simulator] = {}
        for name in data:
            if name not in model.experiments_:
                raise DataError(error(
                    f"data for an unknown experiment '{name}'{did_you_mean(name, model.experiments)}; "
                    f"{model.file} has: {', '.join(model.experiments) or 'none'}"))
            self.sims[name] = simulator(model, name, self.options, self._model_key)
        self.datasets = self.load(data)
        self.parameters = self._parameters(fit, bounds or {}, log or {})
        self.names = [p.name for p in self.parameters]
        self.weighting = weighting
        self.scales = {e: self._scale(d) for e, d in self.datasets.items()}
        self.n_points = sum(len(d) for d in self.datasets.values())
        self.y = self.scaled(self.datasets)  # the measured currents, scaled, in residual order
        self._compiled = None

    def load(self, data: Mapping[str, object]) -> dict:
        """Read and align ``data`` (experiment -> source, or a list of sources) for this
        problem's simulators: {label: Dataset}, the label the experiment's name, or with
        several data sets of one experiment ``"name: what"`` (``"ca: I"``, ``"ca: c(O)"``).
        A simulator whose experiment has profile data is recompiled with ``profiles=True``."""
        from mechlang.inverse.data import load_dataset

        out = {}
        for name, sources in data.items():
            sim = self.sims.get(name)
            if sim is None:
                raise DataError(error(f"experiment '{name}' has no simulator in this problem"))
            if not isinstance(sources, (list, tuple)):
                sources = [sources]
            if not sources:
                raise DataError(error(f"no data given for experiment '{name}'"))
            settings = dict(sim.settings)
            settings["cycles"] = sim.experiment.cycles
            loaded = [load_dataset(src, sim.experiment, settings, sim.species, sim.surface_species,
                                   domain=lambda s=sim: float(np.asarray(s().x)[-1]),
                                   potential=self.model.computes_potential)
                      for src in sources]
            if any(d.kind == "profile" for d in loaded) and not sim.options.profiles:
                self.sims[name] = simulator(self.model, name, sim.options.with_(profiles=True), self._model_key)
            for d in loaded:
                label = name
                if len(loaded) > 1:
                    label = f"{name}: {d.observable if d.observable != 'c' else f'c({d.species})'}"
                    k = 2
                    while label in out:
                        label, k = f"{label.split(' #')[0]} #{k}", k + 1
                out[label] = d
        return out

    def _scale(self, d):
        """What the residuals of a data set are divided by: a number, or one per point."""
        if d.observable in ("c", "v"):  # a profile, or a solvent velocity
            return float(np.max(np.abs(d.y))) or 1.0
        if d.observable == "E":
            return float(np.ptp(d.y)) or float(np.max(np.abs(d.y))) or 1.0
        if self.weighting == "max":
            return float(np.max(np.abs(d.I))) or 1.0
        zero = np.flatnonzero(d.I == 0)
        if zero.size:
            raise DataError(error(
                f"{d.source}: relative weighting divides by the measured current, which is 0 at "
                f"row {d.rows[zero[0]]} (experiment '{d.experiment}')",
                None, "leave out the points of zero current, or use weighting='max'"))
        return np.abs(d.I)

    def scaled(self, datasets) -> np.ndarray:
        """Measured values of ``datasets`` (labelled and aligned like this problem's) as one scaled vector."""
        return np.concatenate([np.asarray(datasets[k].y) / self.scales[k] for k in self.datasets])

    def _parameters(self, fit, bounds, log) -> list[Parameter]:
        model = self.model
        public = {}
        for sim in self.sims.values():
            public.update(sim._public)
        if fit is None:
            fit = [n for n, v in model.values.items() if v.kind == "param" and v.bounds is not None]
            if not fit:
                raise ModelError(error(
                    f"{model.file}: nothing to fit: name the parameters (fit=[...] or --fit), "
                    "or give them bounds with `in [lo, hi]` in the file"))
        if not fit:
            raise ModelError(error(f"{model.file}: nothing to fit: the list of names to fit is empty"))
        positive = positive_values(model)
        out = []
        for name in fit:
            vname = public.get(name)
            if vname is None:
                raise ModelError(error(f"cannot fit '{name}': no such parameter{did_you_mean(name, public)}"))
            v = model.values[vname]
            lo, hi = bounds.get(name, v.bounds or (None, None))
            is_log = bool(log.get(name, v.log))
            value = next(s.defaults[k] for s in self.sims.values() for k in s.defaults
                         if s._public.get(k) == vname)
            default = False
            if (lo is None and not is_log and name not in log and vname in positive
                    and np.isfinite(value) and value > 0):
                # A positive quantity with no search space of its own: on a log scale,
                # DEFAULT_DECADES decades either side of its start (linear steps in units
                # of its value would take it through zero).
                lo, hi = value * 10.0**-DEFAULT_DECADES, value * 10.0**DEFAULT_DECADES
                is_log = default = True
            if lo is not None and not (lo < hi):
                raise ModelError(error(f"bounds of '{name}' must have lo < hi, got [{lo}, {hi}]"))
            if is_log and ((lo is not None and lo <= 0) or value <= 0):
                raise ModelError(error(f"'{name}' is searched on a log scale but its value or bounds are not positive"))
            out.append(Parameter(name, value, lo, hi, is_log, v.unit, default))
        return out

    # -- the pure part ------------------------------------------------------------------
    def values(self, s) -> dict:
        """Unit-box vector -> {name: SI value} (JAX)."""
        return {p.name: p.from_unit(s[i]) for i, p in enumerate(self.parameters)}

    def forward_sims(self) -> dict:
        """This problem's simulators built for forward-mode derivatives alone
        (``Options.forward_only``), for the Jacobians of Levenberg-Marquardt."""
        return {name: simulator(self.model, name, sim.options.with_(forward_only=True), self._model_key)
                for name, sim in self.sims.items()}

    def predictions(self, theta: Mapping, with_health: bool = False, sims: Mapping | None = None):
        """{label: simulated observable at the data set's points}; with ``with_health``
        also whether every simulation passed its solver checks (a traced boolean).
        ``sims``: other simulators of the same experiments (``forward_sims``)."""
        from mechlang.inverse.data import predict

        results = {}
        for name, sim in (sims or self.sims).items():
            own = {k: v for k, v in theta.items() if k in sim._public}
            results[name] = sim._jit(*sim._resolve(own))
        pred = {label: predict(d, results[d.experiment], self.sims[d.experiment]._transient.plan)
                for label, d in self.datasets.items()}
        if not with_health:
            return pred
        ok = jnp.all(jnp.stack([res.healthy(self.sims[n].options.newton_tol, self.sims[n]._c_scale)
                                for n, res in results.items()]))
        return pred, ok

    def residuals_theta(self, theta: Mapping, y=None, with_health: bool = False, sims: Mapping | None = None):
        """Scaled residuals at SI values ``theta`` against ``y`` (default: this problem's data);
        ``y`` is an input, so one compiled function serves batches of data sets.  With
        ``with_health``: (residuals, whether every simulation passed its solver checks)."""
        pred = self.predictions(theta, with_health=with_health, sims=sims)
        if with_health:
            pred, ok = pred
        model = jnp.concatenate([pred[k] / self.scales[k] for k in self.datasets])
        r = model - (self.y if y is None else y)
        return (r, ok) if with_health else r

    def residuals(self, s, y=None, with_health: bool = False, sims: Mapping | None = None):
        return self.residuals_theta(self.values(s), y, with_health, sims)

    def curves_from_residuals(self, r, y=None) -> dict:
        """{label: simulated observable (SI)} from scaled residuals against ``y``: the
        fitted curves without another simulation."""
        model = np.asarray(r) + np.asarray(self.y if y is None else y)
        out, offset = {}, 0
        for label, d in self.datasets.items():
            n = len(d)
            out[label] = model[offset:offset + n] * self.scales[label]
            offset += n
        return out

    def start(self) -> np.ndarray:
        return np.array([p.to_unit(p.value) for p in self.parameters], float)

    def box(self) -> tuple[np.ndarray, np.ndarray]:
        """The search box in unit coordinates: [0, 1] for a bounded parameter, else unbounded."""
        lo = np.array([0.0 if p.bounded else -np.inf for p in self.parameters])
        hi = np.array([1.0 if p.bounded else np.inf for p in self.parameters])
        return lo, hi

    def clip(self, s):
        return np.clip(s, *self.box())

    def random_starts(self, n: int, seed: int = 0) -> np.ndarray:
        """n starting points: the file's values first, then uniform draws inside the bounds."""
        rng = np.random.default_rng(seed)
        first = self.clip(self.start())
        draws = []
        for p, s0 in zip(self.parameters, first):
            if p.bounded:
                draws.append(rng.uniform(0.02, 0.98, n))
            else:
                draws.append(s0 + (rng.uniform(-1, 1, n) if p.log else rng.uniform(-0.5, 0.5, n)))
        out = np.array(draws).T.reshape(n, len(self.parameters))
        out[0] = first
        return out

    def jacobian(self):
        """(residuals_jacobian_health, residuals), batched over (start, data set); compiled once per
        process for a given model, solver options, fitted parameters and aligned data."""
        if self._compiled is None:
            self._compiled = _cached(_jacobians, self._structure_key(), lambda: jacobian_fn(self))
        return self._compiled

    def _structure_key(self):
        """What the compiled residuals depend on besides their inputs (s, y): the model,
        the simulators' options, the fitted parameters with their search spaces, and the
        aligned data sets with their scales (the measured values are an input)."""
        h = hashlib.sha256()
        for label, d in self.datasets.items():
            h.update(repr((label, d.experiment, d.kind, d.observable, d.species, d.column)).encode())
            for a in (d.x, d.segment, d.position, self.scales[label]):
                h.update(np.ascontiguousarray(np.asarray(a if a is not None else [], float)).tobytes())
        sims = tuple((name, sim.options) for name, sim in self.sims.items())
        return (self._model_key, sims, tuple(self.parameters), self.weighting, h.hexdigest())

    def check_simulations(self, theta: Mapping[str, float]) -> None:
        """Raise SolverError if a simulation at theta fails (called outside traced code)."""
        for name, sim in self.sims.items():
            own = {k: v for k, v in theta.items() if k in sim._public}
            sim(own)


def jacobian_fn(problem: Problem):
    """Residuals, forward-mode Jacobian in the unit box and whether every simulation passed
    its solver checks, batched over (start, data set); and the residuals alone.

    The Jacobian is one ``jvp`` per parameter, vmapped: a third cheaper than
    ``linearize`` followed by a vmapped pushforward, measured on a CV fit.  Its simulators
    are built for forward mode alone (``Problem.forward_sims``)."""
    sims = problem.forward_sims()

    def one(s, y):
        def column(v):
            return jax.jvp(lambda x: problem.residuals(x, y, with_health=True, sims=sims), (s,), (v,),
                           has_aux=True)

        r, J, ok = jax.vmap(column, out_axes=(None, 1, None))(jnp.eye(s.shape[0]))
        return r, J, ok

    return jax.jit(jax.vmap(one)), jax.jit(jax.vmap(problem.residuals))
