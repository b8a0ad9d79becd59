"""The semantic pass (AST -> IR) and units: the spec examples mean what the page says."""

import math
import textwrap

import pytest
import sympy

import mechlang
from mechlang.errors import DataError, ModelError
from mechlang.model import ir
from mechlang.model.units import (
    UnitError,
    check_dimension,
    dimension_name,
    parse_quantity,
    parse_unit,
)


def load_text(tmp_path, text, name="model.mech"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return mechlang.load(path)


def value(model, name):
    return model.evaluate()[name]


# -- units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, si, unit",
    [
        ("1 cm^2/s", 1e-4, "m**2/s"),
        ("1 mM", 1.0, "mol/m**3"),
        ("1 M", 1000.0, "mol/m**3"),
        ("1 M^-1 s^-1", 1e-3, "m**3/(mol*s)"),
        ("100 mV/s", 0.1, "V/s"),
        ("10 um", 1e-5, "m"),
        ("60 rpm", 2 * math.pi, "1/s"),
        ("1 eV", 1.602176634e-19, "J"),
        ("1 h", 3600.0, "s"),
        ("2 min", 120.0, "s"),
        ("25 degC", 298.15, "K"),
        ("1 kJ", 1000.0, "J"),
        ("1 inch", 0.0254, "m"),
        ("1 uF", 1e-6, "F"),
        ("3 ohm", 3.0, "ohm"),
        ("1 mL", 1e-6, "m**3"),
        ("5e-3cm/s", 5e-5, "m/s"),
        ("0.1", 0.1, ""),
    ],
)
def test_parse_quantity(text, si, unit):
    got, si_unit, _, _ = parse_quantity(text)
    assert got == pytest.approx(si, rel=1e-12) and si_unit == unit


def test_parse_quantity_keeps_the_display_unit_and_scale():
    assert parse_quantity("5e-3 cm/s") == (pytest.approx(5e-5), "m/s", "cm/s", pytest.approx(0.01))
    assert parse_quantity("2 mM")[1:] == ("mol/m**3", "mM", 1.0)


@pytest.mark.parametrize("text", ["5 parsecs", "abc", "1 /s", "1 J/mol K", "1 degC/s", ""])
def test_parse_quantity_rejects_bad_text(text):
    with pytest.raises(DataError):
        parse_quantity(text)


def test_unknown_unit_suggests():
    with pytest.raises(UnitError, match="did you mean 'mm'"):
        parse_unit("cmm")


def test_h_is_the_hour_and_F_the_farad():
    assert parse_unit("h").scale == 3600
    assert dimension_name("F") == "capacitance"


@pytest.mark.parametrize(
    "unit, name",
    [
        ("cm^2/s", "length^2/time"),
        ("cm/s", "length/time"),
        ("s^-1", "1/time"),
        ("M^-1 s^-1", "1/(concentration·time)"),
        ("M^-2 s^-1", "1/(concentration^2·time)"),
        ("mM", "concentration"),
        ("mM/s", "concentration/time"),
        ("mV/s", "potential/time"),
        ("V", "potential"),
        ("eV", "energy"),
        ("K", "temperature"),
        ("", "dimensionless"),
        ("m**3/(mol*s)", "1/(concentration·time)"),
    ],
)
def test_dimension_names(unit, name):
    assert dimension_name(unit) == name


def test_check_dimension():
    assert check_dimension("m**2/s", "cm^2/s")
    assert check_dimension("m**3/(mol*s)", "M^-1 s^-1")
    assert not check_dimension("m/s", "m**2/s")
    assert check_dimension("", "")


# -- spec examples ----------------------------------------------------------------------


def test_butler_volmer_example(spec_dir):
    m = mechlang.load(spec_dir / "examples" / "e_butler_volmer.mech")
    v = m.evaluate()
    assert m.name == "E_BV" and m.description == "Quasi-reversible one-electron reduction"
    assert v["k0"] == pytest.approx(5e-5) and m.values["k0"].unit == "m/s"
    assert m.values["k0"].display_unit == "cm/s" and m.values["k0"].display_scale == pytest.approx(0.01)
    assert m.values["k0"].bounds == (pytest.approx(1e-8), pytest.approx(1e-2)) and m.values["k0"].log
    assert v["E0"] == pytest.approx(0.12) and m.values["E0"].bounds == (pytest.approx(-0.2), pytest.approx(0.4))
    assert v["O.c"] == pytest.approx(2.0) and v["O.D"] == pytest.approx(7.6e-10)
    assert v["R.c"] == 0.0 and v["R.D"] == pytest.approx(6.5e-10)
    assert m.experiments == ["slow", "fast"]
    assert v["slow.scan_rate"] == pytest.approx(0.05) and v["fast.scan_rate"] == pytest.approx(1.0)
    assert v["slow.area"] == pytest.approx(3.14e-6) and v["fast.E_end"] == pytest.approx(0.6)
    (step,) = m.steps
    assert step.label == "E1" and step.electrons == 1 and step.reversible
    assert step.kinetics == ir.LawCall("butler_volmer", (("E0", "E0"), ("k0", "k0"), ("alpha", "alpha")))
    exp = m.experiment("slow")
    assert exp.technique == "cv" and exp.geometry == "planar" and exp.cycles == 1
    assert {"E_start", "E_vertex", "E_end", "scan_rate", "area", "T"} <= set(exp.settings)
    assert v[exp.settings["T"]] == pytest.approx(298.15)
    assert not m.warnings


def test_ece_example_derives_kb_and_names_inline_values(spec_dir):
    m = mechlang.load(spec_dir / "examples" / "ece.mech")
    v = m.evaluate()
    e1, c1, e2 = m.steps
    assert e1.kinetics.args == (("E0", "E1_0"), ("k0", "E1.k0"), ("alpha", "E1.alpha"))
    assert v["E1.k0"] == pytest.approx(1e-3) and m.values["E1.k0"].kind == "step"
    assert c1.kinetics == ir.MassAction("kc", "C1.kb")
    assert m.values["C1.kb"].expr == sympy.Symbol("kc") / sympy.Symbol("C1.K")
    assert v["C1.kb"] == pytest.approx(5e-3) and m.values["C1.kb"].unit == "1/s"
    assert e2.kinetics.law == "nernst" and m.experiment("cv").cycles == 2
    # changing kc moves the derived kb
    assert m.evaluate({"kc": 10.0})["C1.kb"] == pytest.approx(1e-2)


def test_sphere_example_area_is_derived_from_r(spec_dir):
    m = mechlang.load(spec_dir / "examples" / "step_sphere.mech")
    exp = m.experiment("step")
    assert exp.technique == "ca" and exp.geometry == "spherical"
    v = m.evaluate()
    assert v["step.r"] == pytest.approx(25e-6)
    assert v["step.area"] == pytest.approx(4 * math.pi * (25e-6) ** 2)
    assert m.values["step.area"].expr.free_symbols == {sympy.Symbol("step.r")}
    assert v["step.duration"] == 2.0 and v["R1.E0"] == 0.0
    assert m.steps[0].label == "R1" and m.steps[0].kinetics.args == (("E0", "R1.E0"),)


def test_uses_library_imports_relative_to_the_file_and_overrides(spec_dir):
    m = mechlang.load(spec_dir / "examples" / "uses_library.mech")
    v = m.evaluate()
    assert v["kc"] == pytest.approx(50.0) and v["k0"] == pytest.approx(1e-2)
    assert m.name == "EC" and m.experiments == ["cv", "fast"]
    assert [s.label for s in m.steps] == ["E1", "C1"]
    assert m.species_named("A").span.file.endswith("ec.mech")


def test_user_law_example(spec_dir):
    m = mechlang.load(spec_dir / "examples" / "user_law.mech")
    law = m.laws["asymmetric_bv"]
    assert law.params == ("E0", "k0", "a_c", "a_a")
    E, T = sympy.Symbol("E"), sympy.Symbol("T")
    assert law.kred.free_symbols == {sympy.Symbol(n) for n in ("k0", "a_c", "E0")} | {E, T}
    f = 96485.33212 / (8.314462618 * 298.15)
    kred = law.kred.subs({"k0": 1.0, "a_c": 0.4, "E0": 0.0, E: 0.1, T: 298.15})
    assert float(kred) == pytest.approx(math.exp(-0.4 * f * 0.1))
    assert m.steps[0].kinetics.args[0] == ("E0", "R1.E0")
    assert m.experiment("lsv").technique == "lsv"


def test_mhc_and_catalytic_examples(spec_dir):
    m = mechlang.load(spec_dir / "examples" / "marcus_hush_chidsey.mech")
    assert m.evaluate()["lambda"] == pytest.approx(0.25 * 1.602176634e-19)
    assert m.steps[0].kinetics.options == (("exact", 0.0),)
    assert m.evaluate()["cv.area"] == pytest.approx(1e-4)  # the default 1 cm^2
    m = mechlang.load(spec_dir / "examples" / "ec_catalytic.mech")
    assert m.evaluate()["kcat"] == pytest.approx(1.0)  # 1e3 M^-1 s^-1 in m^3/(mol s)
    assert m.steps[1].reactants == (("Med_red", 1), ("Z", 1))


def test_every_spec_example_loads_without_warnings(spec_dir):
    for path in sorted((spec_dir / "examples").glob("*.mech")):
        m = mechlang.load(path)
        assert not m.warnings, (path.name, [w.message for w in m.warnings])
        assert m.experiments and m.steps


# -- the IR in detail --------------------------------------------------------------------

BASE = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B: D = 1e-5 cm^2/s
"""


def test_values_come_after_their_dependencies(tmp_path):
    m = load_text(tmp_path, """
        param kb = kc / K
        param kc = 1 s^-1
        param K  = 10
        species A: D = Dav, c = 1 mM
        species B: D = Dav
        param Dav = 1e-5 cm^2/s
        C1: A <=> B ; kf = kc, kb = kb
    """)
    names = list(m.values)
    assert names.index("kc") < names.index("kb") and names.index("K") < names.index("kb")
    assert names.index("Dav") < names.index("A.D")
    assert m.values["A.D"].expr == sympy.Symbol("Dav") and m.species_named("A").D == "A.D"
    assert m.values["kb"].display_unit == "1/s" and m.evaluate()["kb"] == pytest.approx(0.1)


def test_mass_action_forms_and_rate_expressions(tmp_path):
    m = load_text(tmp_path, BASE + """
        species C: D = 1e-5 cm^2/s
        param k2 = 1e3 M^-1 s^-1
        C1: A -> B        ; k = 2 s^-1
        C2: A + B <=> C   ; kf = k2, kb = 5 s^-1
        C3: 2 A -> C      ; rate = k2 * [A]^2
        C4: B <=> C       ; kf = 3 s^-1, K = 2
    """)
    c1, c2, c3, c4 = m.steps
    assert c1.kinetics == ir.MassAction("C1.k") and m.evaluate()["C1.k"] == 2.0
    assert c2.kinetics == ir.MassAction("k2", "C2.kb") and m.values["k2"].unit == "m**3/(mol*s)"
    assert isinstance(c3.kinetics, ir.RateExpr)
    assert c3.kinetics.rate == sympy.Symbol("k2") * sympy.Symbol("[A]") ** 2
    assert c3.reactants == (("A", 2),)
    assert c4.kinetics == ir.MassAction("C4.kf", "C4.kb") and m.evaluate()["C4.kb"] == pytest.approx(1.5)


def test_electron_count_charges_and_options(tmp_path):
    m = load_text(tmp_path, """
        species Fe3: D = 7e-6 cm^2/s, c = 1 mM, z = +3
        species Fe2: D = 7e-6 cm^2/s, z = +2
        Fe3 + e- <=> Fe2 ; mhc(0.77 V, 1 cm/s, 0.8 eV, exact = 1)
        experiment cv { technique = cv, E_start = 1 V, E_vertex = 0.4 V, scan_rate = 10 mV/s }
    """)
    (step,) = m.steps
    assert step.electrons == 1 and step.kinetics.options == (("exact", 1.0),)
    assert m.species_named("Fe3").z == 3 and m.species_named("Fe3").z_declared
    assert m.evaluate()["R1.lambda"] == pytest.approx(0.8 * 1.602176634e-19)


def test_use_searches_mechlang_path_and_reports_cycles(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "shared_e.mech").write_text(BASE + "param E0 = 0 V\nE1: A + e- <=> B ; nernst(E0)\n")
    monkeypatch.setenv("MECHLANG_PATH", str(lib))
    work = tmp_path / "work"
    work.mkdir()
    m = load_text(work, 'use "shared_e.mech"\nparam E0 = 0.2 V\n')
    assert m.evaluate()["E0"] == pytest.approx(0.2)
    (work / "a.mech").write_text('use "b.mech"\n')
    (work / "b.mech").write_text('use "a.mech"\n')
    with pytest.raises(ModelError, match="import cycle: .*a.mech -> .*b.mech -> .*a.mech"):
        mechlang.load(work / "a.mech")


def test_labelled_steps_are_replaced_and_unlabelled_kept(tmp_path):
    (tmp_path / "lib.mech").write_text(BASE + """
species C: D = 1e-5 cm^2/s
param E0 = 0 V
E1: A + e- <=> B ; nernst(E0)
B -> C ; k = 1 s^-1
""")
    m = load_text(tmp_path, 'use "lib.mech"\nE1: A + e- <=> B ; butler_volmer(E0, 1 cm/s, 0.5)\n')
    assert [s.label for s in m.steps] == ["E1", "R2"]
    assert m.steps[0].kinetics.law == "butler_volmer"


def test_load_string_and_the_public_api():
    m = mechlang.load_string(BASE + "E1: A + e- <=> B ; nernst(0 V)\n", "inline.mech")
    assert m.file == "inline.mech" and m.steps[0].label == "E1"
    assert issubclass(mechlang.ModelError, mechlang.MechError)


def test_warnings_for_unused_names_and_values_outside_bounds(tmp_path):
    m = load_text(tmp_path, BASE + """
        species X: D = 1e-5 cm^2/s
        param unused = 3
        param k0 = 20 cm/s in [1e-3 cm/s, 10 cm/s] log
        E1: A + e- <=> B ; butler_volmer(0 V, k0, 0.5)
    """)
    messages = [w.message for w in m.warnings]
    assert any("species 'X' is not used" in s for s in messages)
    assert any("parameter 'unused' is never used" in s for s in messages)
    assert any("'k0' lies outside its bounds" in s for s in messages)
    assert all(w.severity == "warning" and w.span.line > 0 for w in m.warnings)


def test_all_errors_are_reported_together(tmp_path):
    with pytest.raises(ModelError) as info:
        load_text(tmp_path, BASE + """
            param k0 = 1 s
            E1: A + e- <=> Bee ; nernst(0 V)
            C1: A -> B ; k = kk
        """)
    messages = [d.message for d in info.value.diagnostics]
    assert len(messages) == 2
    assert "unknown species 'Bee'" in messages[0] and "unknown parameter 'kk'" in messages[1]
