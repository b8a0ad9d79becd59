"""mechlang: electrochemical mechanisms as differentiable JAX simulators."""

from mechlang.errors import DataError, MechError, MechSyntaxError, ModelError, SolverError
from mechlang.model.build import load, load_string

_LAZY = {"compile": "mechlang.simulator", "Simulator": "mechlang.simulator",
         "Result": "mechlang.simulator", "Options": "mechlang.numerics.options",
         "fit": "mechlang.inverse.fit", "fit_many": "mechlang.inverse.fit", "compare": "mechlang.inverse.fit", "profile": "mechlang.inverse.fit",
         "FitResult": "mechlang.inverse.fit"}


def __getattr__(name):
    # The simulator pulls in JAX; `mechlang check` and `load` do not need it.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mechlang' has no attribute {name!r}")


__all__ = [
    "load",
    "load_string",
    "compile",
    "Simulator",
    "Result",
    "Options",
    "fit",
    "fit_many",
    "compare",
    "profile",
    "FitResult",
    "MechError",
    "MechSyntaxError",
    "ModelError",
    "SolverError",
    "DataError",
]
