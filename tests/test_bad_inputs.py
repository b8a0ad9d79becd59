"""Every mistake a user can make gives one clear error at the right line, never a traceback.

Each file in ``tests/bad/`` holds one mistake; its first line says where the error must
be and what it must say: ``# expect: LINE: FRAGMENT`` (or ``# expect: FILE:LINE:
FRAGMENT`` when the error belongs to an imported file).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mechlang.cli.main import main

BAD = Path(__file__).resolve().parent / "bad"
FILES = sorted(p.name for p in BAD.glob("*.mech"))
EXPECT = re.compile(r"#\s*expect:\s*(?:(?P<file>[\w.\-]+):)?(?P<line>\d+):\s*(?P<fragment>.+?)\s*$")

# the spec's own bad files: (file, line, fragment)
SPEC_BAD = [
    ("unknown_species.mech", 4, "unknown species 'Red' (did you mean 'R'?)"),
    ("wrong_units.mech", 1, "`D` must be length^2/time, got length/time"),
    ("rate_order.mech", 7, "a second-order step needs a rate constant in 1/(concentration·time), got 1/time"),
    ("syntax.mech", 4, "expected ')'"),
    ("charge_balance.mech", 4, "charge does not balance: +3 − 2 ≠ +2"),
]


def expectation(name: str):
    first = (BAD / name).read_text(encoding="utf-8").splitlines()[0]
    m = EXPECT.match(first)
    assert m, f"{name}: the first line must be '# expect: LINE: FRAGMENT'"
    return m.group("file") or name, int(m.group("line")), m.group("fragment")


def check(capsys, *files):
    status = main(["check", *map(str, files)])
    out = capsys.readouterr()
    return status, out.out, out.err


def error_lines(stderr: str):
    return [line for line in stderr.splitlines() if ": error: " in line]


def test_there_is_a_bad_file_per_mistake():
    assert len(FILES) >= 40


@pytest.mark.parametrize("name", FILES)
def test_bad_file(name, capsys, monkeypatch):
    file, line, fragment = expectation(name)
    monkeypatch.chdir(BAD)
    status, _, err = check(capsys, name)
    assert status == 1, err
    assert "Traceback" not in err
    errors = error_lines(err)
    assert errors, err
    assert errors[0].startswith(f"{file}:{line}:"), err
    assert re.match(rf"{re.escape(file)}:{line}:\d+: error: ", errors[0]), err
    assert fragment in errors[0], err
    assert len(errors) == 1, err  # one mistake, one error: no cascades


@pytest.mark.parametrize("name, line, fragment", SPEC_BAD)
def test_spec_bad_file(name, line, fragment, spec_dir, capsys, monkeypatch):
    monkeypatch.chdir(spec_dir / "examples" / "bad")
    status, _, err = check(capsys, name)
    assert status == 1 and "Traceback" not in err
    errors = error_lines(err)
    assert len(errors) == 1, err
    assert re.match(rf"{re.escape(name)}:{line}:\d+: error: ", errors[0]), err
    assert fragment in errors[0], err
    # the source line and a caret follow
    assert f"{line:4d} | " in err and "^" in err


def test_spec_bad_files_through_the_console_entry_point(spec_dir):
    """One real process for all five files: exit status 1, every error named, no traceback."""
    names = [n for n, _, _ in SPEC_BAD]
    out = subprocess.run(
        [sys.executable, "-m", "mechlang.cli.main", "check", *names],
        capture_output=True, text=True, encoding="utf-8", cwd=spec_dir / "examples" / "bad",
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    for name, line, fragment in SPEC_BAD:
        assert f"{name}:{line}:" in out.stderr and fragment in out.stderr, out.stderr


def test_good_spec_examples_check(spec_dir, capsys, monkeypatch):
    monkeypatch.chdir(spec_dir / "examples")
    names = sorted(p.name for p in (spec_dir / "examples").glob("*.mech"))
    status, out, err = check(capsys, *names)
    assert status == 0, err
    assert "warning" not in err and "error" not in err
    assert "mechanism E_BV" in out and "butler_volmer(E0 = E0, k0 = k0, alpha = alpha)" in out
    assert "scan_rate = 50 mV/s" in out and "C1: R1 <=> O2 ; kf = kc, kb = kc/C1.K" in out


def test_missing_file_is_an_error_not_a_traceback(capsys, tmp_path):
    status, _, err = check(capsys, tmp_path / "nope.mech")
    assert status == 1 and "Traceback" not in err and "nope.mech" in err and "error" in err


def test_warnings_go_to_stderr_and_do_not_fail(capsys, tmp_path):
    path = tmp_path / "w.mech"
    path.write_text(
        "species O: D = 1e-5 cm^2/s, c = 1 mM\n"
        "species R: D = 1e-5 cm^2/s\n"
        "species X: D = 1e-5 cm^2/s\n"
        "param unused = 3\n"
        "O + e- <=> R ; nernst(0 V)\n",
        encoding="utf-8",
    )
    status, out, err = check(capsys, path)
    assert status == 0
    assert f"{path}:3:9: warning: species 'X' is not used by any step" in err
    assert f"{path}:4:7: warning: parameter 'unused' is never used" in err
    assert "ok: 3 species, 1 step, 1 parameter, 0 experiments" in out


def test_one_bad_file_does_not_stop_the_others(capsys, tmp_path):
    good = tmp_path / "good.mech"
    good.write_text("species O: D = 1e-5 cm^2/s, c = 1 mM\nspecies R: D = 1e-5 cm^2/s\n"
                    "O + e- <=> R ; nernst(0 V)\n", encoding="utf-8")
    status, out, err = check(capsys, BAD / "unknown_law.mech", good)
    assert status == 1 and "unknown kinetic law" in err and "good.mech" in out


def test_usage_errors_and_help(capsys):
    assert main([]) == 2
    assert main(["check"]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_simulate_and_show_arguments():
    from mechlang.cli.main import build_parser

    args = build_parser().parse_args(
        ["simulate", "f.mech", "--experiment", "slow", "--set", "k0=0.01", "--set", "alpha=0.4",
         "-o", "out.csv", "--plot", "out.png", "--points", "200", "--dE", "0.001"]
    )
    assert (args.file, args.experiment, args.set) == ("f.mech", "slow", ["k0=0.01", "alpha=0.4"])
    assert (args.output, args.plot, args.points, args.dE) == ("out.csv", "out.png", 200, 0.001)
    args = build_parser().parse_args(["show", "f.mech", "--latex"])
    assert args.file == "f.mech" and args.latex
