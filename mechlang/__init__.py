"""mechlang: electrochemical mechanisms as differentiable JAX simulators."""

from mechlang.errors import DataError, MechError, MechSyntaxError, ModelError, SolverError
from mechlang.model.build import load, load_string
from mechlang.numerics.options import Options
from mechlang.simulator import Result, Simulator, compile

__all__ = [
    "load",
    "load_string",
    "compile",
    "Simulator",
    "Result",
    "Options",
    "MechError",
    "MechSyntaxError",
    "ModelError",
    "SolverError",
    "DataError",
]
