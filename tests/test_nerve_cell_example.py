"""The nerve-cell example: one open Na+ channel, diffusion and migration into the axoplasm.

Coarse grid; checks physics, not the example's printed numbers: the channel current
reverses at the sodium Nernst potential (RT/F) ln(440/50) of the file's concentrations,
flows inward (Na+ entering) at rest at the picoampere scale, leaves the solution
electroneutral, and the pulse's characteristic time grows as the channel density falls."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from helpers import F, R

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "nerve_cell.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("nerve_cell_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.channel(points=50, clamp=False)


def test_channel_reverses_at_the_sodium_nernst_potential(example):
    _, ch = example
    V, i = ch["V"], ch["i"]
    k = np.flatnonzero(np.diff(np.sign(i)))[0]
    V_rev = V[k] - i[k] * (V[k + 1] - V[k]) / (i[k + 1] - i[k])
    E_Na = R * 279.45 / F * np.log(440 / 50)
    assert V_rev == pytest.approx(E_Na, abs=1.5e-3)  # E0 written to 0.1 mV; the sweep lags a little
    i_rest = float(np.interp(-0.065, V, i))
    assert 0.1e-12 < i_rest < 2e-12  # inward, sub-picoampere to picoampere
    assert np.abs(ch["phi"]).max() < 1e-3  # the access resistance is negligible


def test_characteristic_time_grows_as_density_falls(example):
    mod, ch = example
    taus = [mod.characteristic_time(*mod.pulse(ch["V"], ch["i"], d)) for d in (1e4, 1e2, 1.0)]
    assert taus[0] < taus[1] < taus[2]
    # one channel charges C_m/density: the time scales as 1/density
    assert taus[2] / taus[0] == pytest.approx(1e4, rel=1e-3)
    # C dV/dt = i with i between i0 and i0/e until the 1/e point V_e: the time lies between
    # C (V_e - V_rest)/i0 and e C (V_e - V_rest)/i0 (C = C_m x 1 um^2 at 1 per um^2)
    V, i = ch["V"], ch["i"]
    i0 = float(np.interp(mod.V_REST, V, i))
    k = np.flatnonzero(i <= i0 / np.e)[0]
    V_e = float(np.interp(i0 / np.e, [i[k], i[k - 1]], [V[k], V[k - 1]]))
    bound = mod.C_M * 1e-12 * (V_e - mod.V_REST) / i0
    assert bound < taus[2] < np.e * bound


def test_simulated_pulse_charges_the_membrane_to_e_na(example):
    """The `pulse` experiment (no applied current, Cdl = C_m/density, migration) against
    the quasi-steady construction: the membrane ends at E_Na and the characteristic times
    agree."""
    mod, ch = example
    density = 100.0
    t, V, i = mod.simulated_pulses((density,), points=50, steps=150)[density]
    E_Na = R * 279.45 / F * np.log(440 / 50)
    assert V[-1] == pytest.approx(E_Na, abs=1e-3)
    tau = mod.characteristic_time(t, i)
    tau_qs = mod.characteristic_time(*mod.pulse(ch["V"], ch["i"], density))
    assert tau == pytest.approx(tau_qs, rel=0.05)
