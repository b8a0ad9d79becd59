"""A diffusion coefficient that depends on another species' concentration.

With D_O = D_R = D0 (1 + ([O] + [R])/c1) and a potential step O + e- <=> R (nernst), the
sum c_O + c_R obeys the diffusion equation with no flux at the electrode and starts
uniform, so it stays at the bulk: D is D0 (1 + c_b/c1) everywhere and the current is that
of a constant D, although every face's D moves with both species.  With D_O of [R] alone
there is no closed form: the amounts are conserved and gradients match finite differences.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from test_conservation import amounts

STEP = """
species O: D = {DO}, c = 1 mM
species R: D = {DR}
param D0 = 1e-5 cm^2/s
param c1 = 2 mM
O + e- <=> R ; nernst(0 V)
experiment step {{
  technique = ca
  E_initial = 0.5 V, E_step = 0.02 V, duration = 1 s
}}
"""
OPTS = {"points": 80, "ca_steps": 120}


def test_a_d_of_the_sum_that_stays_uniform_gives_the_constant_d_current():
    both = "D0 * (1 + ([O] + [R]) / c1)"
    sim = mechlang.compile(mechlang.load_string(STEP.format(DO=both, DR=both)), **OPTS)
    # The same grid in metres: the probe of D_max sees 2 D0 (both species at the largest
    # bulk concentration), the constant run 1.5 D0, so its domain is wider by sqrt(2/1.5).
    ref = mechlang.compile(mechlang.load_string(STEP.format(DO="1.5e-5 cm^2/s", DR="1.5e-5 cm^2/s")),
                           domain=6.0 * np.sqrt(2 / 1.5), **OPTS)
    I, I_ref = np.asarray(sim().I), np.asarray(ref().I)
    # E_step = 20 mV keeps both species present everywhere: the cross terms are exercised
    assert np.max(np.abs(I / I_ref - 1)) < 1e-9
    c = np.asarray(sim().c_final)
    assert 0.6 < c[:, 0].min() < 0.75 and np.allclose(c.sum(1), 1.0, rtol=1e-9)  # c_O/c_R = e^(f 20 mV)


def test_conservation_and_gradients_with_d_of_the_other_species():
    text = STEP.format(DO="D0 * (1 + [R] / c1)", DR="0.7 * D0")
    sim = mechlang.compile(mechlang.load_string(text), **OPTS)
    res = sim()
    n = amounts(res, sim, "planar", None)
    assert n["O"] + n["R"] == pytest.approx(1.0 * float(np.asarray(res.x)[-1]), rel=1e-9)
    # the current differs from both limits, D0 (c1 -> infinity: the same compiled simulator
    # at a runtime value) and D0 (1 + c_b/c1)
    lo = sim({"c1": 1e12})
    assert abs(float(res.I[-1])) > abs(float(lo.I[-1])) * 1.01

    def loss(p):
        return jnp.sum(sim(p).I ** 2) * 1e8

    at = {"D0": 1e-9, "c1": 2.0}
    grads = jax.grad(loss)({k: jnp.asarray(v) for k, v in at.items()})
    for name, value in at.items():
        h = value * 1e-5
        fd = (loss({name: value + h}) - loss({name: value - h})) / (2 * h)
        assert float(grads[name]) == pytest.approx(float(fd), rel=1e-5), name
