"""The rotating disk electrode against Levich, Newman's correction and Koutecky-Levich.

Steady state is reached by a long potential step (3 s against delta^2/D of about 0.25 s);
the last current of the step is the steady current.  D = 1e-5 cm^2/s, nu = 0.01 cm^2/s
(Sc = 1000), 1000 rpm, 1 mM, 1 cm^2.
"""

import jax
import numpy as np
import pytest

import mechlang
from helpers import F, f_of, write

D, NU, OMEGA, C, AREA = 1e-9, 1e-6, 1000 * 2 * np.pi / 60, 1.0, 1e-4
OPTIONS = dict(points=120, ca_steps=150)


def levich(omega=OMEGA, nu=NU):
    """0.62045 n F A D^(2/3) omega^(1/2) nu^(-1/6) C: the x^2 velocity, Sc -> infinity
    (0.62045 = (0.51023 / 3)^(1/3) / Gamma(4/3), usually rounded to 0.620)."""
    return 0.62045 * F * AREA * D ** (2 / 3) * omega**0.5 * nu ** (-1 / 6) * C


def newman(omega=OMEGA, nu=NU):
    """Levich with Newman's finite-Schmidt-number correction."""
    sc = nu / D
    return levich(omega, nu) / (1 + 0.2980 * sc ** (-1 / 3) + 0.14514 * sc ** (-2 / 3))


TEXT = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param k0 = 1 m/s
E1: O + e- <=> R ; butler_volmer(0 V, k0, 0.5)
transport diffusion, convection
experiment rde {
  technique = ca, E_initial = 0.5 V, E_step = ESTEP, duration = 3 s
  geometry = rotating_disk(omega = 1000 rpm, nu = 0.01 cm^2/s)
}
"""


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return write(tmp_path_factory.mktemp("rde"), TEXT.replace("ESTEP", "-0.6 V"))


@pytest.fixture(scope="module")
def sim(path):
    return mechlang.compile(path, **OPTIONS)


def steady(sim, params=None):
    return -float(sim(params).I[-1])


def test_levich_with_the_x2_velocity(path):
    sim = mechlang.compile(path, rde_terms=1, **OPTIONS)
    assert steady(sim) == pytest.approx(levich(), rel=5e-3)


def test_newman_with_cochrans_series(sim):
    I = steady(sim)  # noqa: E741
    assert I == pytest.approx(newman(), rel=5e-3)
    assert I / levich() < 0.975  # the correction (3 % at Sc = 1000) is really there


def test_limiting_current_scales_with_the_square_root_of_omega(sim):
    low, high = steady(sim, {"omega": 40.0}), steady(sim, {"omega": 160.0})
    assert high / low == pytest.approx(2.0, rel=2e-3)
    assert low == pytest.approx(newman(omega=40.0), rel=5e-3)


def test_koutecky_levich(tmp_path):
    """A mixed-control step 0.25 V negative of E0, where I_k and I_L are alike."""
    sim = mechlang.compile(write(tmp_path, TEXT.replace("ESTEP", "-0.25 V")), **OPTIONS)
    k0 = 5e-7
    I_L = steady(sim)  # k0 = 1 m/s: mass-transport limited
    I = steady(sim, {"k0": k0})  # noqa: E741
    I_k = F * AREA * k0 * np.exp(0.5 * f_of() * 0.25) * C
    assert 0.3 < I / I_L < 0.7  # really mixed
    assert 1 / I == pytest.approx(1 / I_k + 1 / I_L, rel=1e-2)


def test_gradient_in_omega_nu_and_D(sim):
    def current(p):
        return -sim(p).I[-1]

    p0 = {"omega": OMEGA, "nu": NU, "O.D": D}
    grad = jax.grad(current)(p0)
    for key in p0:
        h = p0[key] * 1e-4
        fd = (current({**p0, key: p0[key] + h}) - current({**p0, key: p0[key] - h})) / (2 * h)
        assert float(grad[key]) == pytest.approx(float(fd), rel=1e-4)
    # the Levich exponent: d ln I / d ln omega = 1/2 (Newman's correction does not depend on omega)
    I0 = float(current(p0))  # noqa: E741
    assert float(grad["omega"]) * OMEGA / I0 == pytest.approx(0.5, rel=5e-3)


def test_slow_lsv_is_the_steady_wave(tmp_path):
    """5 mV/s: a sigmoidal wave, the plateau at Newman's current and E1/2 = E0 (equal D)."""
    text = TEXT.replace("technique = ca, E_initial = 0.5 V, E_step = ESTEP, duration = 3 s",
                        "technique = lsv, E_start = 0.3 V, E_end = -0.3 V, scan_rate = 5 mV/s")
    res = mechlang.compile(write(tmp_path, text), points=120)()
    E, I = np.asarray(res.E)[::-1], -np.asarray(res.I)[::-1]  # noqa: E741
    assert I[0] == pytest.approx(newman(), rel=5e-3)
    E_half = np.interp(0.5 * I[0], I[::-1], E[::-1])
    assert abs(E_half) < 1e-3


def test_omega_in_rpm_or_rad_per_s_and_nu_default(tmp_path):
    text = TEXT.replace("ESTEP", "-0.6 V")
    rpm = mechlang.load(write(tmp_path, text, "rpm.mech"))
    rad = mechlang.load(write(tmp_path, text.replace("omega = 1000 rpm, nu = 0.01 cm^2/s",
                                                      "omega = 104.71975511965977 rad/s"), "rad.mech"))
    a, b = rpm.evaluate(), rad.evaluate()
    assert a["rde.omega"] == pytest.approx(1000 * 2 * np.pi / 60, rel=1e-14)
    assert b["rde.omega"] == pytest.approx(a["rde.omega"], rel=1e-14)
    assert b["rde.nu"] == 1e-6
