"""The command line end to end: check, simulate (with --set and units), show."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mechlang

from helpers import write

ROOT = Path(__file__).resolve().parents[1]

TEXT = """
mechanism E_BV "test couple"
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param k0 = 1e-2 cm/s
E1: O + e- <=> R ; butler_volmer(0 V, k0, 0.5)
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 100 mV/s
  area = 1 cm^2
}
"""


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mechlang.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def test_check_prints_a_summary(tmp_path):
    out = run("check", write(tmp_path, TEXT))
    assert out.returncode == 0, out.stderr
    for word in ("O", "R", "k0", "cv"):
        assert word in out.stdout


def test_simulate_writes_csv_and_png_and_set_takes_units(tmp_path):
    path = write(tmp_path, TEXT)
    csv, png = tmp_path / "out.csv", tmp_path / "out.png"
    out = run("simulate", path, "--set", "k0=1", "-o", csv, "--plot", png)  # reversible: 1 cm/s
    assert out.returncode == 0, out.stderr
    assert csv.read_text().splitlines()[0] == "t,E,I"
    data = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # A reversible peak grows with sqrt(scan rate): --set with a unit, and a bare number in
    # the file's unit (k0 = 1 cm/s).
    csv2 = tmp_path / "fast.csv"
    out = run("simulate", path, "--set", "scan_rate=400 mV/s", "--set", "k0=1", "-o", csv2)
    assert out.returncode == 0, out.stderr
    fast = np.loadtxt(csv2, delimiter=",", skiprows=1)
    ratio = fast[:, 2].min() / data[:, 2].min()
    assert ratio == pytest.approx(2.0, rel=0.02)
    assert data[-1, 0] == pytest.approx(16.0, rel=1e-9) and fast[-1, 0] == pytest.approx(4.0, rel=1e-9)


def test_simulate_rejects_a_wrong_unit_and_an_unknown_name(tmp_path):
    path = write(tmp_path, TEXT)
    out = run("simulate", path, "--set", "k0=5 V")
    assert out.returncode == 1 and "Traceback" not in out.stderr and "k0" in out.stderr
    out = run("simulate", path, "--set", "kO=1")
    assert out.returncode == 1 and "Traceback" not in out.stderr and "did you mean 'k0'" in out.stderr


def test_simulate_never_overwrites_its_input(tmp_path):
    path = write(tmp_path, TEXT)
    before = path.read_text()
    out = run("simulate", path, "-o", path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert path.read_text() == before


def test_show_prints_the_derived_equations(tmp_path):
    path = write(tmp_path, TEXT)
    out = run("show", path)
    assert out.returncode == 0, out.stderr
    assert "exp" in out.stdout and "v_E1" in out.stdout
    out = run("show", path, "--latex")
    assert out.returncode == 0 and ("\\frac" in out.stdout or "e^{" in out.stdout)


# Examples that need solver options beyond the defaults (each says so in its header).
SOLVER_OPTIONS = {"dissociative_ce.mech": ["--newton", "10", "--first-cell", "1e-6"]}
# The weakly supported couples (Nernst-Planck with electroneutrality) spend most of their
# time stepping the default grid: a coarse one (a third of the time) still runs the whole
# file; their accuracy is checked in test_weakly_supported.py.
COARSE = ["--points", "60", "--dE", "4e-3"]
SOLVER_OPTIONS.update({"weakly_supported.mech": COARSE, "weakly_supported_mhc.mech": COARSE})


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.mech")), ids=lambda p: p.name)
def test_examples_shipped_with_the_repository_simulate(tmp_path, example):
    text = example.read_text()
    args = ["simulate", example, "-o", tmp_path / "x.csv", *SOLVER_OPTIONS.get(example.name, [])]
    if "experiment slow" in text:
        args += ["--experiment", "slow"]
    elif text.count("experiment ") > 1:  # several experiments: simulate the first
        args += ["--experiment", mechlang.load(example).experiments[0]]
    out = run(*args)
    assert out.returncode == 0, (example, out.stderr)


def test_compiled_code_is_kept_between_runs(tmp_path):
    """With MECHLANG_CACHE set, a first run leaves XLA's compiled code there and a second
    run, which reads it, gives the same voltammogram."""
    import os

    path = write(tmp_path, TEXT)
    cache = tmp_path / "xla"
    env = dict(os.environ, MECHLANG_CACHE=str(cache))
    outs = []
    for k in range(2):
        csv = tmp_path / f"run{k}.csv"
        done = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "simulate", str(path), "-o", str(csv)],
                              capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        if k == 0:
            assert any(cache.iterdir())
        outs.append(np.loadtxt(csv, delimiter=",", skiprows=1))
    np.testing.assert_array_equal(outs[0], outs[1])
