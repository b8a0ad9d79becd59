"""The rate constants of one electron-transfer step as functions of the potential.

``rate_constants(model, step, E, params)`` evaluates the symbolic system's ``kred`` and
``kox`` of that step (the expressions the simulator uses) through the JAX code generator,
with the model's values; it is what ``Model.rate_constants`` and ``mechlang show --rates``
call.  It is pure JAX in ``E`` and in the values given in ``params``: it jits, vmaps and
differentiates.
"""

from __future__ import annotations

import weakref
from typing import Mapping

from mechlang.errors import ModelError, did_you_mean, error

DEFAULT_T = 298.15  # K, when neither params nor an experiment give a temperature


_DERIVED: dict = {}  # id(model) -> (weak reference to it, its symbolic system, {label: JAX function})


def _derived(model):
    from mechlang.symbolic.system import derive

    hit = _DERIVED.get(id(model))
    if hit is None or hit[0]() is not model:
        for key in [k for k, v in _DERIVED.items() if v[0]() is None]:
            del _DERIVED[key]
        hit = _DERIVED[id(model)] = (weakref.ref(model), derive(model), {})
    return hit[1], hit[2]


def electrode_step(model, label: str):
    """The symbolic electrode step ``label`` (``ElectrodeStep``) with finite rates; errors name the problem."""
    labels = [s.label for s in model.steps]
    if label not in labels:
        raise ModelError(error(f"{model.file}: no step '{label}'{did_you_mean(label, labels)}; "
                               f"the steps are {', '.join(labels) or 'none'}"))
    step = model.steps[labels.index(label)]
    if not step.is_electron_transfer:
        raise ModelError(error(f"step '{label}' is a chemical step: it has no electrode "
                               "rate constants", step.span))
    for es in _derived(model)[0].electrode:
        if es.label == label:
            if es.equilibrium:
                raise ModelError(error(f"step '{label}' uses {es.law}: equilibrium at the "
                                       "surface, no finite rate constants", step.span))
            return es
    raise AssertionError(label)  # every electron transfer is an electrode step


def formal_potential(model, label: str, values: Mapping | None = None):
    """The value of the step's ``E0`` argument (V), or None when its law has none."""
    step = next(s for s in model.steps if s.label == label)
    args = dict(getattr(step.kinetics, "args", ()))
    if "E0" not in args:
        return None
    values = values if values is not None else model.evaluate()
    return values[args["E0"]]


def default_temperature(model) -> float:
    """T of the first experiment (K), else 298.15 K."""
    if model.experiments:
        return model.evaluate()[model.experiment(model.experiments[0]).settings["T"]]
    return DEFAULT_T


def values_with(model, params: Mapping | None):
    """Every value of the model (SI), ``params`` overriding by name; derived values recomputed.

    Values stay JAX-traceable: a derived value (``param kb = kf/K``) follows an overridden one.
    ``T`` is the temperature (default: the first experiment's).
    """
    import jax.numpy as jnp

    from mechlang.codegen.jaxify import compile_exprs

    params = dict(params or {})
    unknown = [k for k in params if k not in model.values and k != "T"]
    if unknown:
        raise KeyError(f"unknown parameter '{unknown[0]}'{did_you_mean(unknown[0], [*model.values, 'T'])}")
    numbers = model.evaluate()
    # T first: a value derived from a thermodynamic cycle depends on it.
    env: dict = {"T": jnp.asarray(params["T"], dtype=float) if "T" in params else default_temperature(model)}
    for name, v in model.values.items():
        if name in params:
            env[name] = jnp.asarray(params[name], dtype=float)
        elif v.is_literal:
            env[name] = numbers[name]
        else:
            env[name] = compile_exprs([v.expr])(env)[0]
    return env


def rate_constants(model, step: str, E, params: Mapping | None = None):
    """``(k_red, k_ox)`` in m/s of electron-transfer step ``step`` at potentials ``E`` (V).

    Arguments:
        model: a loaded model.
        step: the step's label (``"E1"``, or ``"R1"`` for the first unlabelled step).
        E: electrode potential(s), V; any shape.
        params: SI values overriding the file's by name (``"k0"``, ``"E1.k0"``, ``"T"``, ...);
            JAX arrays are fine (the result differentiates with respect to them).

    Returns:
        Two JAX arrays of the shape of ``E`` (broadcast with any array in ``params``).

    Raises:
        ModelError: no such step, a chemical step, or a ``nernst`` step (no finite rates).
        KeyError: an unknown name in ``params``.
    """
    import jax
    import jax.numpy as jnp

    from mechlang.codegen.jaxify import compile_exprs

    jax.config.update("jax_enable_x64", True)
    es = electrode_step(model, step)
    env = values_with(model, params)
    E = jnp.asarray(E, dtype=float)
    env["E"] = E
    functions = _derived(model)[1]
    if step not in functions:
        functions[step] = compile_exprs([es.kred, es.kox])
    kred, kox = functions[step](env)
    kred, kox, _ = jnp.broadcast_arrays(jnp.asarray(kred, dtype=float), jnp.asarray(kox, dtype=float), E)
    return kred, kox
