"""Thermodynamic cycles: consistent constants pass, inconsistent ones are an error."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
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


# -- a formal potential left to the cycle ---------------------------------------------------

E0_SQUARE = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C, D: D = 1e-5 cm^2/s
param E01 = -0.2 V
param K1 = 1e-3
param K2 = 1e3
E1: A + e- <=> B ; butler_volmer(E01, 0.01 cm/s, 0.5)
E2: C + e- <=> D ; {law}
C1: A <=> C ; kf = 1 s^-1, K = K1
C2: B <=> D ; kf = 10 s^-1, K = K2
experiment cv {{
  technique = cv
  E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 0.1 V/s
}}
experiment warm {{
  technique = cv
  E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 0.1 V/s, T = 330 K
}}
"""
BV_NO_E0 = "butler_volmer(k0 = 0.01 cm/s, alpha = 0.5)"
FAST = dict(points=60, dE=5e-3)


def at_one_temperature(law):
    """The square scheme with the cv experiment only: an E0 written as a number fits one T."""
    return E0_SQUARE.format(law=law).split("experiment warm")[0]


def square_E02(T, E01=-0.2, K1=1e-3, K2=1e3):
    """E1 - E2 - C1 + C2 = 0:  F E02 = F E01 + R T ln(K2 / K1)."""
    return E01 + 8.314462618 * T / 96485.33212 * math.log(K2 / K1)


@pytest.mark.parametrize("law", ["nernst()", BV_NO_E0, "marcus(k0 = 0.01 cm/s, lambda = 0.8 eV)",
                                  "mhc(k0 = 0.01 cm/s, lambda = 0.8 eV, exact = 1)"])
def test_a_law_without_E0_gets_it_from_the_cycle(tmp_path, law):
    model = mechlang.load(write(tmp_path, E0_SQUARE.format(law=law)))
    e0 = model.values["E2.E0"]
    assert e0.derived_from == "thermodynamic cycle E1 - E2 - C1 + C2" and e0.unit == "V"
    assert model.evaluate()["E2.E0"] == pytest.approx(square_E02(298.15), rel=1e-12)
    assert thermo.check(model) == []  # closes at both experiments' temperatures


def test_derived_E0_satisfies_the_cycle_at_two_temperatures(tmp_path):
    model = mechlang.load(write(tmp_path, E0_SQUARE.format(law=BV_NO_E0)))
    assert square_E02(330.0) - square_E02(298.15) == pytest.approx(0.0379, abs=1e-4)
    for T in (298.15, 330.0):
        E02 = square_E02(T)
        # butler_volmer: k_red = k_ox exactly at E0
        kred, kox = model.rate_constants("E2", [E02 - 0.05, E02, E02 + 0.05], {"T": T})
        assert float(kred[1]) == pytest.approx(float(kox[1]), rel=1e-10)
        assert float(kred[0]) > float(kox[0]) and float(kred[2]) < float(kox[2])
        # and the ln K of the four steps add up to zero around the cycle
        f = 96485.33212 / (8.314462618 * T)
        env = __import__("mechlang.kinetics.rates", fromlist=["values_with"]).values_with(model, {"T": T})
        total = f * float(env["E01"]) - f * float(env["E2.E0"]) - math.log(1e-3) + math.log(1e3)
        assert abs(total) < 1e-12


def test_simulation_with_derived_E0_equals_the_explicit_one(tmp_path):
    derived = mechlang.load(write(tmp_path, at_one_temperature(BV_NO_E0), "derived.mech"))
    E02 = derived.evaluate()["E2.E0"]
    explicit = at_one_temperature(f"butler_volmer(E0 = {E02!r} V, k0 = 0.01 cm/s, alpha = 0.5)")
    I_derived = np.asarray(mechlang.compile(derived, "cv", **FAST)().I)
    I_explicit = np.asarray(mechlang.compile(write(tmp_path, explicit, "explicit.mech"), "cv", **FAST)().I)
    assert np.max(np.abs(I_derived)) > 0
    assert np.max(np.abs(I_derived - I_explicit)) <= 1e-10 * np.max(np.abs(I_explicit))


def test_gradient_flows_through_the_derived_E0(tmp_path):
    import jax
    import jax.numpy as jnp

    def loss_of(sim):
        ref = float(jnp.sum(sim().I ** 2))
        return lambda K1: jnp.sum(sim({"K1": K1}).I ** 2) / ref

    derived = mechlang.load(write(tmp_path, at_one_temperature(BV_NO_E0), "derived.mech"))
    E02 = derived.evaluate()["E2.E0"]
    loss = loss_of(mechlang.compile(derived, "cv", **FAST))
    K1, h = 1e-3, 1e-7
    grad = float(jax.grad(loss)(jnp.asarray(K1)))
    fd = (float(loss(K1 + h)) - float(loss(K1 - h))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-4)
    # with E0 fixed, K1 acts through C1 alone: a different derivative
    explicit = at_one_temperature(f"butler_volmer(E0 = {E02!r} V, k0 = 0.01 cm/s, alpha = 0.5)")
    fixed = loss_of(mechlang.compile(write(tmp_path, explicit, "explicit.mech"), "cv", **FAST))
    assert abs(grad - float(jax.grad(fixed)(jnp.asarray(K1)))) > 0.1 * abs(grad)


def test_an_underdetermined_cycle_is_an_error_naming_the_step(tmp_path):
    text = E0_SQUARE.format(law=BV_NO_E0).replace("kf = 10 s^-1, K = K2", "kf = 10 s^-1")
    with pytest.raises(mechlang.ModelError) as info:
        mechlang.load(write(tmp_path, text))
    message = str(info.value)
    assert ":8:20: error: step E2 omits E0" in message and "another unknown: the K of C2" in message
    assert "E1 - E2 - C1 + C2" in message and message.count("error:") == 1


def test_derived_values_chain_and_a_second_cycle_must_agree(tmp_path, capsys):
    text = E0_SQUARE.format(law="nernst()") + "X1: C + B <=> A + D ; kf = 1 M^-1 s^-1@\n"
    model = mechlang.load(write(tmp_path, text.replace("@", "")))
    assert model.values["X1.kb"].derived_from  # from E2.E0, itself derived
    assert thermo.check(model) == []
    K_X1 = math.exp(96485.33212 / (8.314462618 * 298.15) * (square_E02(298.15) + 0.2))  # E1 - E2 + X1
    assert K_X1 == pytest.approx(1e3 / 1e-3, rel=1e-9)  # = K2/K1: C + B -> A + D is -C1 + C2
    assert model.evaluate()["X1.kb"] == pytest.approx(1e-3 / K_X1, rel=1e-9)  # kf in SI: 1e-3 m^3/mol/s
    with pytest.raises(mechlang.ModelError) as info:
        mechlang.load(write(tmp_path, text.replace("@", ", K = 5"), "over.mech"))
    assert "E2.E0 is not in the file" in str(info.value) and "do not close" in str(info.value)
    from mechlang.cli.main import main

    assert main(["show", str(tmp_path / "model.mech")]) == 0
    out = capsys.readouterr().out
    assert "E2.E0 = E01 + " in out and "X1.kb = " in out and "(thermodynamic cycle E1 - E2 - C1 + C2)" in out
