"""The command line's checks and reports: option values and output paths refused before
anything is simulated, strict JSON (no NaN), per-candidate --fit names in compare, the
multi-start summary, units as a .mech file writes them, and transport concentrated
without a potential column."""

import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import mechlang
from helpers import write
from mechlang.cli.main import main

E_MODEL = """
species O: D = D, c = 1 mM
species R: D = D
param D = 1e-5 cm^2/s in [3e-6 cm^2/s, 3e-5 cm^2/s] log
param E0 = 0 V in [-0.1 V, 0.1 V]
param k0 = 1e-2 cm/s in [1e-5 cm/s, 1 cm/s] log
param dummy = 1 in [0.5, 2]
E1: O + e- <=> R ; butler_volmer(E0, k0, 0.5)
experiment cv {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 100 mV/s
  area = 0.07 cm^2
}
"""

EC_MODEL = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R, P: D = 1e-5 cm^2/s
param E0 = 0 V in [-0.1 V, 0.1 V]
param kc = 1 s^-1 in [1e-2 s^-1, 1e2 s^-1] log
E1: O + e- <=> R ; nernst(E0)
C1: R -> P ; k = kc
experiment cv {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 100 mV/s
  area = 0.07 cm^2
}
"""

CELL = """
transport concentrated
species LiX: c = 1 M, D = 1e-7 cm^2/s, t_plus = 0.3
experiment pol {
  technique = galvanostatic
  geometry = symmetric_cell(L = 0.5 mm)
  current_density = 0.1 mA/cm^2
  duration = 1 h
}
"""

FAST = ["--points", "60", "--dE", "4e-3", "--quiet"]


def _no_nan(name):
    raise ValueError(f"{name} in the JSON")


def strict_json(path):
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    return json.loads(text, parse_constant=_no_nan)


@pytest.fixture(scope="module")
def cv_data(tmp_path_factory):
    """A model and a slightly noisy CV it generated (D = 1e-9 m^2/s, E0 = 10 mV)."""
    tmp = tmp_path_factory.mktemp("cli")
    path = write(tmp, E_MODEL, "e.mech")
    res = mechlang.compile(path, points=60, dE=4e-3)({"D": 1e-9, "E0": 0.01})
    I = np.asarray(res.I)  # noqa: E741
    I = I + 0.003 * np.max(np.abs(I)) * np.random.default_rng(1).standard_normal(I.shape)  # noqa: E741
    data = tmp / "cv.csv"
    np.savetxt(data, np.column_stack([np.asarray(res.E), I]), delimiter=",", header="E,I", comments="")
    return tmp, path, data


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a command gets as far as fitting or compiling a simulator."""
    import mechlang.inverse.fit as fit_module
    import mechlang.simulator as simulator_module

    def refuse(*args, **kwargs):
        raise AssertionError("the command ran a simulation before refusing its options")

    for name in ("fit", "compare"):
        monkeypatch.setattr(fit_module, name, refuse)
    monkeypatch.setattr(simulator_module, "compile", refuse)


# -- refused before anything runs ---------------------------------------------------------


BAD_VALUES = [
    (["--dE", "-0.001"], ["--dE", "-0.001", "positive"]),
    (["--dE", "0"], ["--dE", "0", "positive"]),
    (["--dE", "nan"], ["--dE", "nan"]),
    (["--points", "0"], ["--points", "0"]),
    (["--newton", "0"], ["--newton", "0"]),
    (["--first-cell", "0"], ["--first-cell", "0"]),
    (["--first-cell", "2"], ["--first-cell", "2"]),
    (["--starts", "-2"], ["--starts", "-2"]),
    (["--starts", "0"], ["--starts", "0"]),
]


@pytest.mark.parametrize("command, options, words", [
    (command, options, words) for command in ("fit", "compare", "simulate") for options, words in BAD_VALUES
    if not (command == "simulate" and options[0] == "--starts")])  # simulate has no --starts
def test_bad_option_values_are_one_clear_error(cv_data, no_simulation, capsys, command, options, words):
    tmp, path, data = cv_data
    if command == "simulate":
        argv = ["simulate", str(path), *options, "-o", str(tmp / "never.csv")]
    else:
        argv = [command, str(path), "--data", f"cv={data}", *options, "--quiet", "-o", str(tmp / "never.json")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
    for w in words:
        assert w in err
    assert not (tmp / "never.csv").exists() and not (tmp / "never.json").exists()


@pytest.mark.parametrize("command, case", [
    (command, case) for command in ("fit", "compare", "simulate")
    for case in ("extension", "folder", "no folder", "input", "input+png", "same file")
    if not (command == "simulate" and case == "input+png")])  # simulate reads no data file
def test_bad_output_paths_are_refused_before_any_simulation(cv_data, no_simulation, capsys, tmp_path, command,
                                                           case):
    tmp, path, data = cv_data
    (tmp_path / "SOMEFOLDER").mkdir()
    image_input = tmp_path / "curve.png"  # an input file that `--plot curve` would overwrite
    image_input.write_bytes(b"not a plot")
    outs = {
        "extension": (["--plot", str(tmp_path / "fit.xyz")], ["--plot", "fit.xyz", ".png"]),
        "folder": (["--plot", str(tmp_path / "SOMEFOLDER")], ["--plot", "SOMEFOLDER", "folder"]),
        "no folder": (["-o", str(tmp_path / "nodir" / "r.out")], ["-o", "nodir", "does not exist"]),
        "input": (["-o", str(path)], ["-o", "e.mech", "input"]),
        "input+png": (["--plot", str(tmp_path / "curve")], ["--plot", "curve.png", "input"]),
        "same file": (["-o", str(tmp_path / "x.png"), "--plot", str(tmp_path / "x.png")], ["same file"]),
    }
    options, words = outs[case]
    inputs = [str(path)]
    if case == "input+png":
        inputs.append(str(image_input))
    if command == "simulate":
        argv = ["simulate", str(path), *options]
    else:
        argv = [command, *([str(path)] if command == "fit" else [str(path), str(path)]),
                "--data", f"cv={image_input if case == 'input+png' else data}", *options, "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for w in words:
        assert w in err
    assert image_input.read_bytes() == b"not a plot"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SOMEFOLDER", "curve.png"]


def test_analyze_checks_its_report_path_first(tmp_path, capsys):
    data = tmp_path / "cv.csv"
    data.write_text("E,I\n0.1,1e-6\n0.0,2e-6\n")
    argv = ["analyze", "tafel", str(data), "--E-eq", "0", "--region", "-0.3:-0.2"]
    assert main([*argv, "-o", str(tmp_path / "nodir" / "r.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main([*argv, "-o", str(data)]) == 1
    assert "refusing to overwrite the input file" in capsys.readouterr().err


def test_a_plot_name_without_extension_is_written_as_png_and_named(cv_data, tmp_path, capsys):
    _, path, _ = cv_data
    assert main(["simulate", str(path), "--points", "40", "--dE", "5e-3", "--plot", str(tmp_path / "cv")]) == 0
    png = tmp_path / "cv.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert f"wrote {png}" in capsys.readouterr().err


# -- reports --------------------------------------------------------------------------------


def test_fit_json_is_strict_units_print_with_carets_and_starts_are_summarised(cv_data, tmp_path, capsys):
    """`dummy` changes nothing, so its correlations are undetermined (NaN): the report
    writes null.  D's unit is m^2/s, not pint's m**2/s."""
    _, path, data = cv_data
    report = tmp_path / "r.json"
    status = main(["fit", str(path), "--data", f"cv={data}", "--fit", "D,dummy", "--starts", "2", *FAST,
                   "-o", str(report)])
    out = capsys.readouterr()
    assert status == 0, out.err
    payload = strict_json(report)
    assert payload["parameters"]["D"]["unit"] == "m^2/s"
    assert abs(payload["parameters"]["D"]["value"] / 1e-9 - 1) < 0.05
    assert "m^2/s" in out.out and "**" not in out.out
    assert "starts: " in out.out and " of 2 converged" in out.out


def test_compare_fits_in_each_candidate_the_names_it_has(cv_data, tmp_path, capsys):
    tmp, path_e, data = cv_data
    path_ec = write(tmp_path, EC_MODEL, "ec.mech")
    report, png = tmp_path / "ranking.json", tmp_path / "fits.png"
    status = main(["compare", str(path_e), str(path_ec), "--data", f"cv={data}", "--fit", "E0,D,kc", *FAST,
                   "-o", str(report), "--plot", str(png)])
    out = capsys.readouterr()
    assert status == 0, out.err
    assert "e.mech has no kc: fitting E0, D" in out.err
    assert "ec.mech has no D: fitting E0, kc" in out.err
    ranking = strict_json(report)["ranking"]
    fitted = {e["file"].rsplit("/", 1)[-1]: e for e in ranking}
    assert set(fitted["e.mech"]["parameters"]) == {"E0", "D"}
    assert set(fitted["ec.mech"]["parameters"]) == {"E0", "kc"}
    assert fitted["e.mech"]["parameters"]["D"]["unit"] == "m^2/s"
    for e in ranking:
        assert isinstance(e["converged"], bool) and isinstance(e["warnings"], list)
    header = out.out.splitlines()[0].split()
    assert header[-2:] == ["converged", "warnings"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_compare_names_a_fit_name_that_no_candidate_has(cv_data, tmp_path, capsys):
    tmp, path_e, data = cv_data
    path_ec = write(tmp_path, EC_MODEL, "ec.mech")
    assert main(["compare", str(path_e), str(path_ec), "--data", f"cv={data}", "--fit", "E0,kcc", *FAST]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --fit kcc") and "did you mean 'kc'" in err


def test_compare_table_keeps_large_criteria_apart():
    from mechlang.cli.fit import _table

    lines = _table(["rank", "file", "AIC", "BIC"], [["1", "a.mech", "-7261.73", "106965.71"],
                                                    ["2", "long_name.mech", "106965.71", "-7261.73"]], left=2)
    for line in lines[1:]:
        assert "-7261.73" in line.split() and "106965.71" in line.split()
    assert len({len(line) for line in lines}) == 1


def test_fit_prints_the_starts_spread_and_data_notes(capsys):
    from mechlang.cli.fit import _print_fit

    note = "cv.csv (experiment 'cv'): 3 of 100 rows left out, outside the experiment's programme"
    result = SimpleNamespace(
        file="m.mech", method="lm", loss=1.0, n_points=10, converged=True, n_gradients=3, n_simulations=0,
        wall_time=1.0, values={"D": 1e-9, "E0": 0.01}, stderr={"D": 1e-11, "E0": float("inf")},
        units={"D": "m**2/s", "E0": "V"}, warnings=[SimpleNamespace(format=lambda color: f"warning: {note}")],
        starts=[{"values": {}, "loss": 1.0, "converged": True}, {"values": {}, "loss": 1.001, "converged": True},
                {"values": {}, "loss": 5.0, "converged": False}],
        n_converged_starts=2, n_starts_at_best=2, data_notes=[note],
        spread={"D": {"min": 1e-9, "max": 1.002e-9, "std": 1e-12}, "E0": {"min": 0.0099, "max": 0.0101, "std": 1e-4}})
    _print_fit(result)
    out = capsys.readouterr()
    assert "starts: 2 of 3 converged, 2 reached the best loss" in out.out
    assert "D 1e-09 to 1.002e-09 m^2/s" in out.out and "E0 0.0099 to 0.0101 V" in out.out
    assert "E0 = 0.01 V (undetermined" in out.out
    assert out.err.count(note) == 1  # printed once, with the warnings


def test_fit_says_it_is_compiling_only_on_a_terminal(monkeypatch, capsys):
    from mechlang.cli.fit import _announce

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    _announce(SimpleNamespace(quiet=False), "compiling the simulator...")
    _announce(SimpleNamespace(quiet=True), "quiet")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    _announce(SimpleNamespace(quiet=False), "not a terminal")
    assert capsys.readouterr().err == "compiling the simulator...\n"


def test_json_safe_maps_non_finite_numbers_to_null():
    from mechlang.cli.common import json_safe

    payload = {"a": float("nan"), "b": [np.inf, np.float64(2.0), (1, np.int64(3))], "c": np.array([1.0, np.nan]),
               "d": np.bool_(True), "e": None, "f": "NaN"}
    assert json.loads(json.dumps(json_safe(payload), allow_nan=False)) == {
        "a": None, "b": [None, 2.0, [1, 3]], "c": [1.0, None], "d": True, "e": None, "f": "NaN"}


def test_check_prints_units_with_carets(tmp_path, capsys):
    path = write(tmp_path, "species A, B: D = 1e-5 cm^2/s, c = cA\nspecies P: D = 1e-5 cm^2/s\n"
                           "param cA = 2 mM\nparam k = 1 s^-1\nparam k2 = k / cA\n"
                           "C1: A + B -> P ; k = k2\n")
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "**" not in out.replace(" = ", "")  # no pint notation in units
    assert "m^3/(mol s)" in out


# -- transport concentrated ----------------------------------------------------------------


def test_simulate_concentrated_leaves_out_the_potential(tmp_path, capsys):
    path = write(tmp_path, CELL, "cell.mech")
    csv, png = tmp_path / "cell.csv", tmp_path / "cell.png"
    assert main(["simulate", str(path), "--points", "41", "-o", str(csv), "--plot", str(png)]) == 0
    err = capsys.readouterr().err
    assert "no E" in err
    lines = csv.read_text().splitlines()
    assert lines[0] == "t,I"
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert data.shape[1] == 2 and np.ptp(data[:, 1]) == 0 and data[0, 1] != 0  # the applied current
    assert png.read_bytes()[:4] == b"\x89PNG"
