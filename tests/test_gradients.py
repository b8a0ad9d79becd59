"""Reverse-mode gradients against central finite differences, and vmap against a loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import write

TEXT = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 0.8e-5 cm^2/s
param E0 = 0.05 V
param k0 = 2e-3 cm/s
param alpha = 0.45
O + e- <=> R ; butler_volmer(E0, k0, alpha)
experiment cv {
  technique = cv
  E_start = 0.45 V, E_vertex = -0.35 V, scan_rate = 0.1 V/s
  area = 0.07 cm^2
}
"""

EC_TEXT = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C: D = 1e-5 cm^2/s
param kc = 20 s^-1
E1: A + e- <=> B ; butler_volmer(-0.1 V, 0.05 cm/s, 0.5)
C1: B <=> C ; kf = kc, K = 5
experiment cv {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.5 V, scan_rate = 0.2 V/s
}
"""

COARSE = dict(points=60, dE=4e-3)


def loss_fn(sim, ref_I):
    scale = float(np.max(np.abs(ref_I)))

    def loss(p):
        return jnp.sum(((sim(p).I - ref_I * 1.1) / scale) ** 2)

    return loss


@pytest.mark.parametrize(
    "text, name, value, rel_step",
    [
        (TEXT, "k0", 2e-5, 1e-4),  # kinetic
        (TEXT, "alpha", 0.45, 1e-4),
        (TEXT, "E0", 0.05, 1e-3),
        (TEXT, "O.D", 1e-9, 1e-4),  # transport
        (TEXT, "O.c", 1.0, 1e-4),  # concentration
        (TEXT, "scan_rate", 0.1, 1e-4),  # experiment
        (TEXT, "area", 7e-6, 1e-4),
        (TEXT, "T", 298.15, 1e-5),
        (EC_TEXT, "kc", 20.0, 1e-4),  # homogeneous kinetics, coupled solver
        (EC_TEXT, "C1.K", 5.0, 1e-4),
    ],
)
def test_gradient_matches_finite_differences(tmp_path, text, name, value, rel_step):
    sim = mechlang.compile(write(tmp_path, text), **COARSE)
    ref = np.asarray(sim().I)
    loss = loss_fn(sim, ref)
    grad = jax.grad(loss)({name: jnp.asarray(value)})[name]
    h = value * rel_step
    fd = (loss({name: value + h}) - loss({name: value - h})) / (2 * h)
    assert float(grad) == pytest.approx(float(fd), rel=1e-4, abs=1e-12 * abs(float(loss({}))) / value)


def test_gradient_of_every_parameter_at_once(tmp_path):
    sim = mechlang.compile(write(tmp_path, TEXT), **COARSE)
    ref = np.asarray(sim().I)
    loss = loss_fn(sim, ref)
    params = {k: jnp.asarray(v) for k, v in sim.defaults.items()}
    grads = jax.grad(loss)(params)
    assert set(grads) == set(sim.defaults)
    assert all(np.isfinite(float(g)) for g in grads.values())
    assert float(grads["k0"]) != 0.0 and float(grads["O.D"]) != 0.0


def test_jit_and_vmap_equal_the_loop(tmp_path):
    sim = mechlang.compile(write(tmp_path, TEXT), **COARSE)
    k0s = jnp.array([1e-6, 1e-5, 1e-4])
    alphas = jnp.array([0.4, 0.5, 0.6])
    batch = jax.vmap(lambda k, a: sim({"k0": k, "alpha": a}).I)(k0s, alphas)
    jitted = jax.jit(lambda p: sim(p).I)
    for i in range(3):
        one = sim({"k0": float(k0s[i]), "alpha": float(alphas[i])}).I
        np.testing.assert_allclose(batch[i], one, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(jitted({"k0": k0s[i], "alpha": alphas[i]}), one, rtol=1e-10, atol=1e-15)


def test_changing_values_does_not_recompile(tmp_path):
    sim = mechlang.compile(write(tmp_path, TEXT), **COARSE)
    sim({"k0": 1e-5})
    before = sim._jit._cache_size()
    sim({"k0": 3e-5, "scan_rate": 0.5, "O.c": 2.0})
    sim({"alpha": 0.3})
    assert sim._jit._cache_size() == before
