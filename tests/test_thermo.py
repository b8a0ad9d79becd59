"""Thermodynamic cycles: consistent constants pass, inconsistent ones are an error."""

import subprocess
import sys
from pathlib import Path

import pytest

import mechlang
from mechlang.symbolic import thermo
from helpers import write

LIBRARY = Path(__file__).resolve().parents[1] / "mechanisms"

SQUARE = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C, D: D = 1e-5 cm^2/s
param E0_1 = -0.2 V
param E0_2 = 0.2 V
param K_AC = 1e-3
param K_BD = {K_BD}
E1: A + e- <=> B ; nernst(E0_1)
E2: C + e- <=> D ; nernst(E0_2)
C1: A <=> C ; kf = 1 s^-1, K = K_AC
C2: B <=> D ; kf = 10 s^-1, K = K_BD
experiment cv {{
  technique = cv
  E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 0.1 V/s
}}
"""


def test_square_scheme_has_one_cycle_and_the_library_file_is_consistent():
    model = mechlang.load(LIBRARY / "square.mech")
    assert thermo.cycles(model) == [{"E1": 1, "E2": -1, "C1": -1, "C2": 1}]
    assert thermo.check(model) == []


def test_consistent_constants_written_as_an_expression_pass(tmp_path):
    text = SQUARE.format(K_BD="K_AC * exp(F_RT * (E0_2 - E0_1))\nparam F_RT = 38.92174 V^-1")
    model = mechlang.load(write(tmp_path, text))
    assert thermo.check(model) == []


def test_inconsistent_constants_are_an_error_naming_the_steps(tmp_path):
    path = write(tmp_path, SQUARE.format(K_BD="1e3"))
    with pytest.raises(mechlang.ModelError) as info:
        mechlang.load(path)
    message = str(info.value)
    for label in ("E1", "E2", "C1", "C2"):
        assert label in message
    assert "mV" in message and ":11:" in message  # at the last step of the cycle
    out = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "check", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr and "thermodynamic cycle" in out.stderr


def test_disproportionation_beside_two_electron_transfers_is_a_cycle(tmp_path):
    """O + e <=> R, R + e <=> P and 2 R <=> O + P: K_disp = exp(F (E0_2 - E0_1)/RT)."""
    text = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R, P: D = 1e-5 cm^2/s
E1: O + e- <=> R ; nernst(-0.1 V)
E2: R + e- <=> P ; nernst(-0.3 V)
D1: 2 R <=> O + P ; kf = 1e3 M^-1 s^-1, K = {K}
experiment cv {{
  technique = cv
  E_start = 0.2 V, E_vertex = -0.6 V, scan_rate = 0.1 V/s
}}
"""
    K = float(__import__("math").exp(-0.2 * 96485.33212 / (8.314462618 * 298.15)))
    assert thermo.check(mechlang.load(write(tmp_path, text.format(K=K)))) == []
    with pytest.raises(mechlang.ModelError):
        mechlang.load(write(tmp_path, text.format(K=K * 3), "bad.mech"))


def test_a_step_given_only_kf_gets_its_K_from_the_cycle(tmp_path):
    text = SQUARE.replace("C2: B <=> D ; kf = 10 s^-1, K = K_BD", "C2: B <=> D ; kf = 10 s^-1")
    text = text.format(K_BD="1")  # unused now
    model = mechlang.load(write(tmp_path, text))
    kb = model.values["C2.kb"]
    assert "cycle" in kb.derived_from
    f = 96485.33212 / (8.314462618 * 298.15)
    K_BD = 1e-3 * __import__("math").exp(f * 0.4)
    assert model.evaluate()["C2.kb"] == pytest.approx(10.0 / K_BD, rel=1e-9)
    # At run time it follows the other constants (and the experiment's temperature).
    sim = mechlang.compile(model, points=60, dE=5e-3)
    assert sim({"E0_2": 0.25}).I.shape == sim().I.shape
    out = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "show", str(tmp_path / "model.mech")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "C2.kb" in out.stdout and "cycle" in out.stdout


def test_kf_alone_outside_any_cycle_is_an_error(tmp_path):
    text = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C: D = 1e-5 cm^2/s
E1: A + e- <=> B ; nernst(0 V)
C1: B <=> C ; kf = 1 s^-1
experiment cv {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 0.1 V/s
}
"""
    with pytest.raises(mechlang.ModelError) as info:
        mechlang.load(write(tmp_path, text))
    assert "C1" in str(info.value) and "give K or kb" in str(info.value)
