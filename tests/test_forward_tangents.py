"""Levenberg-Marquardt's Jacobians with ``Options.forward_only``: the tangents of parameters
that enter only the electrode's rows share the step's tridiagonal call.

The Jacobian must be the implicit derivative's (the general path, also used by reverse
mode) and the finite differences', whether the shortcut applies (electrode kinetics) or
not (a diffusion coefficient or a homogeneous rate among the fitted parameters)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import write
from mechlang.inverse.problem import Problem
from mechlang.numerics.options import Options

OPTIONS = Options(points=60, dE=4e-3)

E_BV = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 0.7e-5 cm^2/s
param E0 = 0.01 V in [-0.1 V, 0.1 V]
param k0 = 3e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = 0.45 in [0.2, 0.8]
E1: O + e- <=> R ; butler_volmer(E0, k0, alpha)
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s
}
"""

EC = """
species A: D = D, c = 1 mM
species B, C: D = 1e-5 cm^2/s
param E0 = 0 V in [-0.1 V, 0.1 V]
param k0 = 3e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = 0.45 in [0.2, 0.8]
param kc = 2 s^-1 in [1e-3 s^-1, 1e3 s^-1] log
param D = 0.7e-5 cm^2/s in [1e-6 cm^2/s, 1e-4 cm^2/s] log
E1: A + e- <=> B ; butler_volmer(E0, k0, alpha)
C1: B -> C ; k = kc
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s
}
"""

EE = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C: D = 0.8e-5 cm^2/s
param E01 = 0.1 V in [-0.1 V, 0.3 V]
param E02 = -0.1 V in [-0.3 V, 0.1 V]
param k02 = 3e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha2 = 0.45 in [0.2, 0.8]
E1: A + e- <=> B ; nernst(E01)
E2: B + e- <=> C ; butler_volmer(E02, k02, alpha2)
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.5 V, scan_rate = 0.1 V/s
}
"""

RDE = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param k0 = 3e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = 0.45 in [0.2, 0.8]
E1: O + e- <=> R ; butler_volmer(0 V, k0, alpha)
transport diffusion, convection
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 50 mV/s
  geometry = rotating_disk(omega = 1000 rpm, nu = 0.01 cm^2/s)
}
"""


def problem(tmp_path, text, fit):
    """A problem on data simulated at values off the file's (so residuals are not zero)."""
    path = write(tmp_path, text)
    res = mechlang.compile(path, "cv", **{k: getattr(OPTIONS, k) for k in ("points", "dE")})()
    data = {"cv": {"E": np.asarray(res.E), "I": 1.05 * np.asarray(res.I)}}
    return Problem(mechlang.load(path), data, fit, options=OPTIONS)


def jacobians(p, s):
    """(forward-only Jacobian as LM computes it, the general path's jacfwd) at s."""
    vj, _ = p.jacobian()
    y = jnp.asarray(p.y)
    J = np.asarray(vj(jnp.asarray(s)[None], y[None])[1][0])
    J_ref = np.asarray(jax.jacfwd(lambda x: p.residuals(x, y))(jnp.asarray(s)))
    return J, J_ref


def tridiagonal_calls(p, sims):
    """How many tridiagonal solves the traced Jacobian holds (per unrolled step pair)."""
    y = jnp.asarray(p.y)
    eye = jnp.eye(len(p.parameters))

    def jac(s):
        return jax.vmap(lambda v: jax.jvp(lambda x: p.residuals(x, y, sims=sims), (s,), (v,)),
                        out_axes=(None, 1))(eye)

    return str(jax.make_jaxpr(jac)(jnp.asarray(p.start()))).count("tridiagonal_solve")


@pytest.mark.parametrize("text, fit", [
    (E_BV, ["E0", "k0", "alpha"]),  # electrode-only: one call per step
    (EC, ["k0", "alpha"]),  # electrode-only beside a homogeneous step
    (EE, ["E01", "k02", "alpha2"]),  # an equilibrium step's condition and a kinetic one
    (RDE, ["k0", "alpha"]),  # under convection
    (EC, ["k0", "alpha", "kc"]),  # kc enters every node: the general path
    (EC, ["k0", "D"]),  # D_A (unlike the others) enters every node: the general path
])
def test_jacobian_is_the_implicit_derivative(tmp_path, text, fit):
    p = problem(tmp_path, text, fit)
    s = p.start() + 0.03
    J, J_ref = jacobians(p, s)
    scale = np.max(np.abs(J_ref), axis=0)
    assert np.all(scale > 0)
    assert np.max(np.abs(J - J_ref) / scale) < 1e-9


def test_shortcut_is_taken_and_matches_finite_differences(tmp_path):
    p = problem(tmp_path, E_BV, ["E0", "k0", "alpha"])
    fused, general = tridiagonal_calls(p, p.forward_sims()), tridiagonal_calls(p, p.sims)
    assert fused < general  # the tangents' solves share the primal's call
    s = p.start() + 0.03
    J, _ = jacobians(p, s)
    y = jnp.asarray(p.y)
    h = 1e-5
    for k in range(len(s)):
        e = np.zeros_like(s)
        e[k] = h
        fd = (np.asarray(p.residuals(jnp.asarray(s + e), y)) - np.asarray(p.residuals(jnp.asarray(s - e), y))) / (2 * h)
        assert np.max(np.abs(J[:, k] - fd)) < 1e-5 * np.max(np.abs(fd))


def test_batched_starts(tmp_path):
    """Several starts in one call (the multi-start vmap around the tangents' vmap)."""
    p = problem(tmp_path, E_BV, ["k0", "alpha"])
    starts = p.random_starts(3, seed=2)
    vj, _ = p.jacobian()
    y = jnp.broadcast_to(jnp.asarray(p.y), (3, len(p.y)))
    J = np.asarray(vj(jnp.asarray(starts), y)[1])
    for s, Js in zip(starts, J):
        J_ref = np.asarray(jax.jacfwd(lambda x: p.residuals(x, y[0]))(jnp.asarray(s)))
        assert np.max(np.abs(Js - J_ref)) < 1e-9 * np.max(np.abs(J_ref))


def test_reverse_mode_keeps_the_general_path(tmp_path):
    """The problem's own simulators still differentiate in reverse mode (L-BFGS, Adam)."""
    p = problem(tmp_path, E_BV, ["k0", "alpha"])
    y = jnp.asarray(p.y)
    s = jnp.asarray(p.start())
    g = np.asarray(jax.grad(lambda x: jnp.sum(p.residuals(x, y) ** 2))(s))
    J, _ = jacobians(p, np.asarray(s))
    r = np.asarray(p.residuals(s, y))
    assert np.allclose(g, 2 * J.T @ r, rtol=1e-8, atol=0)
