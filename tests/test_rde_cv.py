"""A slow cyclic voltammogram at a rotating disk is the steady-state wave, twice.

A reversible couple O + e- <=> R (Nernst, E0 = 50 mV; 1 mM O, no R in the bulk) at
1000 rpm, nu = 0.01 cm^2/s, 1 cm^2, one cycle +0.35 -> -0.25 -> +0.35 V at 2 mV/s. The
diffusion layer relaxes in delta^2/D of about 0.25 s, during which the potential moves
0.5 mV, so both sweeps follow the steady wave

    I = I_L / (1 + exp(f (E - E1/2))),  E1/2 = E0 + (RT/F) ln(m_R / m_O),

with I_L = F A m_O c and m = I_L / (F A c) of each species from Levich's equation with
Newman's finite-Schmidt correction (as in test_rotating_disk.py): for a reversible
couple the surface concentrations obey Nernst and each flux is m (c_bulk - c(0)), so
c_O(0) = c_R(0) at E0 and the half-wave potential moves by the ratio of the two mass
transfer coefficients.  60 nodes and 2 mV steps.
"""

import numpy as np
import pytest

import mechlang
from helpers import F, f_of, write

D, NU, OMEGA, C, AREA, E0 = 1e-9, 1e-6, 1000 * 2 * np.pi / 60, 1.0, 1e-4, 0.05

TEXT = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 50 mV
E1: O + e- <=> R ; nernst(E0)
transport diffusion, convection
experiment rde {
  technique = cv, E_start = 0.35 V, E_vertex = -0.25 V, scan_rate = 2 mV/s
  geometry = rotating_disk(omega = 1000 rpm, nu = 0.01 cm^2/s)
}
"""


def mass_transfer(D_i, omega=OMEGA, nu=NU):
    """Levich's 0.62045 D^(2/3) omega^(1/2) nu^(-1/6) over Newman's 1 + 0.2980 Sc^(-1/3) + 0.14514 Sc^(-2/3)."""
    sc = nu / D_i
    return 0.62045 * D_i ** (2 / 3) * omega**0.5 * nu ** (-1 / 6) / (1 + 0.2980 * sc ** (-1 / 3) + 0.14514 * sc ** (-2 / 3))


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return mechlang.compile(write(tmp_path_factory.mktemp("rde_cv"), TEXT), points=60, dE=2e-3)


def sweeps(sim, params=None):
    """(E, reduction current as a positive number) of the forward and the return sweep."""
    res = sim(params)
    E, I = np.asarray(res.E), -np.asarray(res.I)  # noqa: E741
    k = int(np.argmin(E))
    return (E[: k + 1], I[: k + 1]), (E[k:], I[k:])


def half_wave(E, I, I_L):  # noqa: E741
    order = np.argsort(I)
    return float(np.interp(0.5 * I_L, I[order], E[order]))


@pytest.mark.parametrize("D_R", [D, 0.5 * D])
def test_slow_cv_retraces_the_steady_wave(sim, D_R):
    (Ef, If), (Eb, Ib) = sweeps(sim, {"R.D": D_R})
    I_L = F * AREA * mass_transfer(D) * C
    E_half = E0 + np.log(mass_transfer(D_R) / mass_transfer(D)) / f_of()
    assert Ef[-1] == pytest.approx(-0.25) and max(Ef[0], Eb[-1]) == pytest.approx(0.35, abs=2.5e-3)  # one cycle

    # the plateau (E - E1/2 < -0.2 V, where the wave is within 5e-4 of its limit) on both sweeps
    for E, I in ((Ef, If), (Eb, Ib)):  # noqa: E741
        plateau = E < E_half - 0.2
        assert plateau.sum() >= 10
        assert np.max(np.abs(I[plateau] / I_L - 1)) < 5e-3

    # the return sweep retraces the forward one: no hysteresis beyond 1 % of I_L
    grid = np.linspace(-0.24, 0.34, 291)
    forward, back = np.interp(grid, Ef[::-1], If[::-1]), np.interp(grid, Eb, Ib)
    assert np.max(np.abs(forward - back)) < 1e-2 * I_L

    # both are the steady-state wave, with its half-wave potential
    for E, I in ((Ef, If), (Eb, Ib)):  # noqa: E741
        assert abs(half_wave(E, I, I_L) - E_half) < 2e-3
        wave = I_L / (1 + np.exp(f_of() * (E - E_half)))
        assert np.max(np.abs(I - wave)) < 1e-2 * I_L
