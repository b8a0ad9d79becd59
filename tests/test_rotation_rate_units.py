"""A rotation rate in rpm, rev/min, Hz, rev/s (rps) or rad/s, and the rotating disk's
Schmidt-number warning.

960 rpm = 16 Hz = 16 rev/s = 100.53 rad/s: the same Levich current (a rotation rate in Hz
counts revolutions per second; it was once read as rad/s, a factor sqrt(2 pi) in the
current).  The velocity series of the rotating disk holds for Sc = nu/D >= 100; below it
the file gets a warning.  D = 1e-5 cm^2/s, nu = 1 cSt (Sc = 1000), 1 mM, 1 cm^2.
"""

import numpy as np
import pytest

import mechlang
from helpers import F, write

D, NU, C, AREA = 1e-9, 1e-6, 1.0, 1e-4
OMEGA = 2 * np.pi * 16  # rad/s

TEXT = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param k0 = 1 m/s
E1: O + e- <=> R ; butler_volmer(0 V, k0, 0.5)
transport diffusion, convection
experiment rde {
  technique = ca, E_initial = 0.5 V, E_step = -0.6 V, duration = 3 s
  geometry = rotating_disk(omega = RATE, nu = NU)
}
"""


def text(rate="16 Hz", nu="1 cSt"):
    return TEXT.replace("RATE", rate).replace("NU", nu)


def omega_of(rate):
    return mechlang.load_string(text(rate)).evaluate()["rde.omega"]


def levich(omega):
    """0.62045 n F A D^(2/3) omega^(1/2) nu^(-1/6) C (the x^2 velocity, rde_terms = 1)."""
    return 0.62045 * F * AREA * D ** (2 / 3) * omega**0.5 * NU ** (-1 / 6) * C


@pytest.mark.parametrize("rate", ["960 rpm", "960 rev/min", "16 Hz", "16 rev/s", "16 rps", "0.016 kHz"])
def test_revolutions(rate):
    assert omega_of(rate) == pytest.approx(OMEGA, rel=1e-12)


def test_radians_per_second_stay_as_they_are():
    assert omega_of("100.53 rad/s") == pytest.approx(100.53, rel=1e-12)
    assert omega_of("100.53 s^-1") == pytest.approx(100.53, rel=1e-12)


def test_hz_elsewhere_is_one_over_second():
    """Only a rotation rate counts revolutions: a rate constant in Hz is 1/s."""
    model = mechlang.load_string(text().replace("param k0 = 1 m/s", "param k0 = 1 m/s\nparam kc = 5 Hz")
                                 .replace("E1: O", "O -> R ; k = kc\nE1: O"))
    assert model.evaluate()["kc"] == pytest.approx(5.0, rel=1e-12)


def test_centistokes():
    assert mechlang.load_string(text(nu="1 cSt")).evaluate()["rde.nu"] == pytest.approx(1e-6, rel=1e-12)
    assert mechlang.load_string(text(nu="0.89 cSt")).evaluate()["rde.nu"] == pytest.approx(0.89e-6, rel=1e-12)


def test_the_same_levich_current_for_960_rpm_16_hz_and_100_53_rad_per_s(tmp_path):
    """The 16 Hz file simulated as written, and with omega from the rpm and rad/s files."""
    sim = mechlang.compile(write(tmp_path, text("16 Hz")), rde_terms=1, points=60, ca_steps=60)
    currents = [-float(sim().I[-1])]
    for rate in ("960 rpm", "100.53 rad/s"):
        currents.append(-float(sim({"rde.omega": omega_of(rate)}).I[-1]))
    assert currents[0] == pytest.approx(levich(OMEGA), rel=1e-2)
    assert currents[1] == pytest.approx(currents[0], rel=1e-12)
    assert currents[2] == pytest.approx(levich(100.53), rel=1e-2)
    assert currents[2] == pytest.approx(currents[0], rel=1e-4)
    # read as 16 rad/s the current would be sqrt(2 pi) = 2.5 times smaller
    assert currents[0] / levich(16.0) > 2.4


def schmidt_warnings(nu):
    return [w for w in mechlang.load_string(text(nu=nu)).warnings if "Schmidt number" in w.message]


def test_small_schmidt_number_warns():
    warns = schmidt_warnings("0.01 cSt")  # Sc = 10
    assert len(warns) == 1
    w = warns[0]
    assert "nu/D of species 'O' is 10 in experiment 'rde'" in w.message and "Sc >= 100" in w.message
    assert w.span.line == 9  # at nu


@pytest.mark.parametrize("nu", ["0.1 cSt", "1 cSt"])
def test_liquids_do_not_warn(nu):
    assert schmidt_warnings(nu) == []  # Sc = 100, 1000
