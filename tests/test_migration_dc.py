"""Migration with concentration-dependent diffusion coefficients.

The reduction of a cation A+ to a neutral R at a hemisphere (as in
tests/test_migration_radial.py), now with D_A = D0 (1 + beta [A]/c_b).  Without support
the X- flux vanishes at steady state, so f phi' = c'/c and J_A = -2 D_A(c) c': the
Kirchhoff potential of 2 D_A obeys Laplace's equation, and the steady current is
4 pi F r0 int_0^c_b D_A dc = 4 pi F r0 D0 c_b (1 + beta/2) -- whatever D_X(c) is.  With
excess support it is half that.  The flux of a face takes D at the face's concentration
and the Scharfetter-Gummel weights of the drift; Newton's matrix carries dD/dc (its
updates fall to round-off), and the gradient in beta matches finite differences.
"""

import jax
import numpy as np
import pytest

import mechlang
from helpers import F
from test_migration_radial import steady

D0, C_B, R0 = 1e-9, 1.0, 1e-6  # m^2/s, mol/m^3, m

MODEL = """
param beta = 1
param gx = 0
param cs = 0 M
species A: D = 1e-5 cm^2/s * (1 + beta * [A] / (1 mM)), c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species X: D = 2e-5 cm^2/s * (1 + gx * [X] / (1 mM)), c = 1 mM, z = -1
species K: D = 1e-5 cm^2/s, c = cs, z = +1
species Cl: D = 1e-5 cm^2/s, c = cs, z = -1
transport diffusion, migration
E1: A + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment ca {
  technique = ca
  E_initial = 0.4 V, E_step = -0.6 V, duration = 50 s
  geometry = hemispherical(r = 1 um)
}
"""


@pytest.fixture(scope="module")
def sim():
    return mechlang.compile(mechlang.load_string(MODEL), points=70, ca_steps=120, newton=20, first_cell=1e-6)


@pytest.mark.parametrize("params", [{"beta": 1.0}, {"beta": -0.5}, {"beta": 1.0, "gx": 1.0}])
def test_unsupported_steady_current_with_d_of_c(sim, params):
    res = sim(params)
    assert float(np.max(res.newton_update)) < 1e-12  # Newton's matrix carries dD/dc
    exact = 4 * np.pi * F * R0 * D0 * C_B * (1 + params["beta"] / 2)
    assert -steady(res) == pytest.approx(exact, rel=6e-3)  # the grid: +0.4 %, as with constant D


def test_supported_steady_current_with_d_of_c(sim):
    res = sim({"beta": 1.0, "cs": 1000.0})
    assert -steady(res) == pytest.approx(2 * np.pi * F * R0 * D0 * C_B * 1.5, rel=6e-3)


def test_gradient_in_the_d_of_c_parameter(sim):
    def current(beta):
        return sim({"beta": beta}).I[60]

    g = float(jax.jvp(current, (1.0,), (1.0,))[1])  # forward mode: one tangent
    h = 1e-5
    fd = (float(current(1.0 + h)) - float(current(1.0 - h))) / (2 * h)
    assert g == pytest.approx(fd, rel=1e-5)
    assert abs(g) > 0.1 * abs(float(current(1.0)))  # beta matters
