"""Sweeps against analytic and independent results (planar, semi-infinite diffusion)."""

import numpy as np
import pytest

from helpers import F, R, couple, f_of, simulate
from reference import peaks, sweep_peaks

RS = 0.4463  # Randles-Sevcik (Nicholson and Shain 1964)
IRR = 0.4958  # totally irreversible peak (Nicholson and Shain 1964)


def cv(E_start, E_vertex, v, area="1 cm^2", T="298.15 K", technique="cv"):
    end = "E_end" if technique == "lsv" else "E_vertex"
    return f"""
experiment run {{
  technique = {technique}
  E_start = {E_start} V, {end} = {E_vertex} V, scan_rate = {v} V/s
  area = {area}, T = {T}
}}
"""


@pytest.mark.parametrize(
    "n, D_cm2, c_mM, v, area_cm2, T",
    [(1, 1e-5, 1.0, 0.1, 0.0707, 298.15), (2, 7e-6, 2.0, 1.0, 1.0, 298.15), (1, 2e-5, 5.0, 0.02, 0.1, 310.0)],
)
def test_reversible_peak_current_and_potential(tmp_path, n, D_cm2, c_mM, v, area_cm2, T):
    text = couple(D_O=f"{D_cm2} cm^2/s", D_R=f"{D_cm2} cm^2/s", c=f"{c_mM} mM", n=n)
    text += cv(0.5 / n, -0.5 / n, v, f"{area_cm2} cm^2", f"{T} K")
    _, _, E, I = simulate(tmp_path, text)
    Epc, Ipc, _, _ = peaks(E, I)
    f = f_of(T, n)
    expected = RS * n * F * area_cm2 * 1e-4 * c_mM * np.sqrt(f * v * D_cm2 * 1e-4)
    assert -Ipc == pytest.approx(expected, rel=2e-3)
    assert Epc - 0.0 == pytest.approx(-1.109 / f, abs=0.5e-3)


@pytest.mark.parametrize("beyond_mV", [71.5, 171.5, 271.5])
def test_reversible_peak_separation_vs_switching_potential(tmp_path, beyond_mV):
    """Delta Ep depends on how far past the cathodic peak the sweep turns (Nicholson 1965:
    60.4 mV ... 57.0 mV); compared with the integral equation solved independently."""
    f = f_of()
    E_vertex = -1.109 / f - beyond_mV * 1e-3
    _, _, E, I = simulate(tmp_path, couple() + cv(0.4, E_vertex, 0.1))
    Epc, _, Epa, _ = peaks(E, I)
    ref = sweep_peaks(0.4, E_vertex, 0.1, 1e-9, 1.0)
    assert (Epa - Epc) == pytest.approx(ref[2] - ref[0], abs=0.5e-3)
    assert 0.057 < Epa - Epc < 0.0605


def test_unequal_diffusion_shifts_half_wave_potential(tmp_path):
    D_O, D_R = 1e-5, 0.4e-5
    text = couple(D_O=f"{D_O} cm^2/s", D_R=f"{D_R} cm^2/s") + cv(0.5, -0.5, 0.1)
    _, _, E, I = simulate(tmp_path, text)
    Epc, Ipc, _, _ = peaks(E, I)
    f = f_of()
    E_half = np.log(np.sqrt(D_R / D_O)) / f
    assert Epc == pytest.approx(E_half - 1.109 / f, abs=0.5e-3)
    assert -Ipc == pytest.approx(RS * F * 1e-4 * np.sqrt(f * 0.1 * D_O * 1e-4), rel=2e-3)


@pytest.mark.parametrize("alpha, k0_cm, v", [(0.5, 1e-6, 0.1), (0.35, 1e-7, 1.0)])
def test_totally_irreversible_peak(tmp_path, alpha, k0_cm, v):
    text = couple(law=f"butler_volmer(E0, {k0_cm} cm/s, {alpha})")
    text += cv(0.3, -1.4, v, technique="lsv")
    _, _, E, I = simulate(tmp_path, text)
    Epc, Ipc, _, _ = peaks(E, I)
    f = f_of()
    D = 1e-9
    expected_I = IRR * F * 1e-4 * 1.0 * np.sqrt(alpha * f * v * D)
    expected_E = -(0.780 + np.log(np.sqrt(D) / (k0_cm * 1e-2)) + np.log(np.sqrt(alpha * f * v))) / (alpha * f)
    assert -Ipc == pytest.approx(expected_I, rel=5e-3)
    assert Epc == pytest.approx(expected_E, abs=1e-3)


# Nicholson, Anal. Chem. 37 (1965) 1351, Table I (alpha = 0.5): psi -> n Delta Ep / mV at 25 C.
NICHOLSON = {7: 63, 3: 68, 1: 84, 0.5: 105, 0.25: 141, 0.1: 212}


@pytest.mark.parametrize("psi", sorted(NICHOLSON, reverse=True))
def test_quasi_reversible_peak_separation_follows_nicholson(tmp_path, psi):
    f, v, D = f_of(), 0.1, 1e-9
    k0 = psi * np.sqrt(np.pi * D * f * v)  # equal D: gamma^alpha = 1
    text = couple(law=f"butler_volmer(E0, {k0} m/s, 0.5)") + cv(0.6, -0.6, v)
    _, _, E, I = simulate(tmp_path, text)
    Epc, _, Epa, _ = peaks(E, I)
    ref = sweep_peaks(0.6, -0.6, v, D, 1.0, k0=k0, dE=2e-4)
    assert Epa - Epc == pytest.approx(ref[2] - ref[0], abs=0.5e-3)
    # Nicholson's working curve (computed in 1965 with a nearer switching potential).
    assert (Epa - Epc) * 1e3 == pytest.approx(NICHOLSON[psi], abs=max(3.0, 0.03 * NICHOLSON[psi]))


EC = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C: D = 1e-5 cm^2/s
param E0 = 0 V
param kc = {k} s^-1
E1: A + e- <=> B ; nernst(E0)
C1: B -> C ; k = kc
"""


def test_ec_kinetic_zone_peak_shift(tmp_path):
    """Pure kinetic zone: Ep = E0 - 0.780 RT/F + (RT/2F) ln(k RT / F v) (Savéant)."""
    f, v = f_of(), 0.1
    Eps = []
    for k in (100.0, 1000.0):
        _, _, E, I = simulate(tmp_path, EC.format(k=k) + cv(0.3, -0.3, v))
        Epc, _, _, _ = peaks(E, I)
        assert Epc == pytest.approx(-0.780 / f + np.log(k / (f * v)) / (2 * f), abs=1e-3)
        Eps.append(Epc)
    slope = (Eps[1] - Eps[0]) / np.log(10.0)
    assert slope == pytest.approx(1 / (2 * f), rel=0.03)


def test_ec_catalytic_plateau(tmp_path):
    """EC' with the substrate in large excess: I = n F A C sqrt(D k c_Z), the pure kinetic
    S-shape (Saveant: needs lambda = k c_Z RT/(F v) >> 1 and c_Z/C >> sqrt(lambda))."""
    text = """
species Med_ox: D = 8e-6 cm^2/s, c = 0.1 mM
species Med_red: D = 8e-6 cm^2/s
species Z: D = 1e-5 cm^2/s, c = 100 mM
species P: D = 1e-5 cm^2/s
param kcat = 1e3 M^-1 s^-1
Med_ox + e- <=> Med_red ; nernst(-0.45 V)
Med_red + Z -> Med_ox + P ; k = kcat
""" + cv(0.0, -0.9, 0.02, area="0.0707 cm^2")
    _, _, E, I = simulate(tmp_path, text)
    plateau = -np.min(I)
    expected = F * 0.0707e-4 * 0.1 * np.sqrt(8e-10 * 1.0 * 100.0)
    assert plateau == pytest.approx(expected, rel=0.02)
