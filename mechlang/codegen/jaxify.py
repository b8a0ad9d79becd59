"""SymPy expressions to JAX functions.

The tree is mapped node by node onto ``jax.numpy`` (the sympy2jax approach, no source
text is generated or exec'd), after ``sympy.cse`` has pulled out the subexpressions the
outputs share.  Symbols are looked up by name in an environment of JAX arrays, so the
same function serves scalars (parameters) and arrays over grid nodes (concentrations).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import sympy

from mechlang.kinetics.mhc import MHCLogIntegral
from mechlang.kinetics.mhc_quadrature import log_integral as mhc_log_integral

_FUNCS: dict[type, Callable] = {
    sympy.exp: jnp.exp,
    sympy.log: jnp.log,
    sympy.sqrt: jnp.sqrt,
    sympy.sin: jnp.sin,
    sympy.cos: jnp.cos,
    sympy.tan: jnp.tan,
    sympy.sinh: jnp.sinh,
    sympy.cosh: jnp.cosh,
    sympy.tanh: jnp.tanh,
    sympy.asinh: jnp.arcsinh,
    sympy.atan: jnp.arctan,
    sympy.Abs: jnp.abs,
    sympy.erf: jax.scipy.special.erf,
    sympy.erfc: jax.scipy.special.erfc,
    sympy.sign: jnp.sign,
    sympy.Max: jnp.maximum,
    sympy.Min: jnp.minimum,
    MHCLogIntegral: mhc_log_integral,  # the Marcus-Hush-Chidsey integral, fixed-node quadrature
}


def _eval(expr: sympy.Expr, env: Mapping[str, jnp.ndarray], memo: dict):
    hit = memo.get(expr)
    if hit is not None:
        return hit
    if expr.is_Symbol:
        out = env[expr.name]
    elif expr.is_Number or expr in (sympy.pi, sympy.E):
        out = float(expr)
    elif expr.is_Add:
        args = [_eval(a, env, memo) for a in expr.args]
        out = args[0]
        for a in args[1:]:
            out = out + a
    elif expr.is_Mul:
        args = [_eval(a, env, memo) for a in expr.args]
        out = args[0]
        for a in args[1:]:
            out = out * a
    elif expr.is_Pow:
        base, ex = expr.args
        b = _eval(base, env, memo)
        if ex.is_Integer:
            k = int(ex)
            if k == -1:
                out = 1.0 / b
            elif 0 < k <= 4:
                out = b
                for _ in range(k - 1):
                    out = out * b
            else:
                out = b ** k
        elif ex == sympy.Rational(1, 2):
            out = jnp.sqrt(b)
        else:
            out = b ** _eval(ex, env, memo)
    elif expr.func in _FUNCS:
        out = _FUNCS[expr.func](*[_eval(a, env, memo) for a in expr.args])
    else:
        raise NotImplementedError(f"no JAX translation for {expr.func.__name__}")
    memo[expr] = out
    return out


def compile_exprs(exprs: Sequence[sympy.Expr]) -> Callable[[Mapping], list]:
    """One function that evaluates all ``exprs``, sharing common subexpressions.

    The returned ``fn(env)`` takes a mapping symbol name -> JAX array (or float) and
    returns a list with one entry per expression, broadcast to the inputs' shape.
    """
    exprs = [sympy.sympify(e) for e in exprs]
    replacements, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("_cse"))

    def fn(env: Mapping) -> list:
        env = dict(env)
        memo: dict = {}
        for sym, sub in replacements:
            env[sym.name] = _eval(sub, env, memo)
        return [_eval(e, env, memo) if e.free_symbols else float(e) for e in reduced]

    fn.free_symbols = sorted({s.name for e in exprs for s in e.free_symbols})
    return fn
