"""Runs that fail are reported with the experiment, time and potential, never returned as data."""

import jax
import numpy as np
import pytest

import mechlang
from helpers import write

CATALYTIC = """
species Med_ox: D = 8e-6 cm^2/s, c = 1 mM
species Med_red: D = 8e-6 cm^2/s
species Z: D = 1e-5 cm^2/s, c = 2 mM
species P: D = 1e-5 cm^2/s
param kcat = 1e5 M^-1 s^-1
Med_ox + e- <=> Med_red ; nernst(-0.45 V)
Med_red + Z -> Med_ox + P ; k = kcat
experiment cv {
  technique = cv
  E_start = 0 V, E_vertex = -0.9 V, scan_rate = 0.05 V/s
}
"""


def test_unconverged_newton_is_an_error_naming_time_and_potential(tmp_path):
    sim = mechlang.compile(write(tmp_path, CATALYTIC), newton=1, dE=10e-3, points=60)
    with pytest.raises(mechlang.SolverError) as info:
        sim()
    message = str(info.value)
    assert "did not converge" in message and "experiment 'cv'" in message
    assert " s, E = " in message


def test_default_newton_converges_on_the_same_problem(tmp_path):
    sim = mechlang.compile(write(tmp_path, CATALYTIC))
    res = sim()
    assert np.max(np.asarray(res.newton_update)) < 1e-7


def test_under_jit_the_result_carries_the_failure_for_check(tmp_path):
    sim = mechlang.compile(write(tmp_path, CATALYTIC), newton=1, dE=10e-3, points=60)
    res = jax.jit(lambda p: sim(p))({"kcat": 100.0})  # no exception inside the trace
    with pytest.raises(mechlang.SolverError):
        res.check("cv")


def test_cli_reports_a_failed_run_without_traceback(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, CATALYTIC)
    out = subprocess.run([sys.executable, "-m", "mechlang.cli.main", "simulate", str(path), "--dE", "0.05",
                          "--set", "kcat=1e9"], capture_output=True, text=True)
    # Either it converges (then exit 0) or it reports the failure cleanly.
    assert "Traceback" not in out.stderr
    assert out.returncode in (0, 1)


def test_healthy_agrees_with_check(tmp_path):
    """The traced flag a fit uses to reject trial points fails exactly where check() raises."""
    bad = mechlang.compile(write(tmp_path, CATALYTIC), newton=1, dE=10e-3, points=60)
    res = jax.jit(lambda p: bad(p))({"kcat": 100.0})
    assert not bool(res.healthy(bad.options.newton_tol, bad._c_scale))
    good = mechlang.compile(write(tmp_path, CATALYTIC))
    res = good()
    assert bool(res.healthy(good.options.newton_tol, good._c_scale))


def test_a_fit_whose_simulations_fail_says_so(tmp_path):
    path = write(tmp_path, CATALYTIC)
    res = mechlang.compile(path)()
    data = {"cv": {"E": np.asarray(res.E), "I": np.asarray(res.I)}}
    with pytest.raises(mechlang.SolverError) as info:
        mechlang.fit(path, data, fit=["kcat"], newton=1, dE=10e-3, points=60, progress=False, max_iter=2)
    assert "experiment 'cv'" in str(info.value) and " s, E = " in str(info.value)
