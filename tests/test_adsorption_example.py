"""The ten-parameter adsorption example (examples/adsorption.mech and adsorption_fit.py):
its search space, the Langmuir start, mass balance, and that the data see every parameter."""

import importlib.util
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import F, R

ROOT = Path(__file__).resolve().parents[1]
MECH = ROOT / "examples" / "adsorption.mech"
COARSE = {"points": 60, "dE": 5e-3}  # a fast simulation; accuracy is not what is tested


def example():
    spec = importlib.util.spec_from_file_location("adsorption_fit", ROOT / "examples" / "adsorption_fit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return example()


def test_ten_bounded_parameters_hold_truth_and_start(script):
    model = mechlang.load(MECH)
    fitted = [n for n, v in model.values.items() if v.kind == "param" and v.bounds is not None]
    assert sorted(fitted) == sorted(script.FITTED) and len(fitted) == 10
    for name in fitted:
        v = model.values[name]
        lo, hi = v.bounds
        assert lo < script.TRUTH[name] < hi, name
        assert lo <= model.parameters[name] <= hi, name
        assert v.log == name.startswith(("k0", "ks", "ka", "kd")), name  # rate constants on a log scale
    assert set(model.experiments) == set(script.EXPERIMENTS)


def test_truth_closes_the_thermodynamic_cycle(script):
    t = script.TRUTH
    K_A = t["ka_A"] / (t["kd_A"] * script.GMAX)
    K_B = t["ka_B"] / (t["kd_B"] * script.GMAX)
    f = F / (R * script.T)
    assert t["E0_ads"] - t["E0_sol"] == pytest.approx(math.log(K_B / K_A) / f, abs=1e-12)


def test_amount_of_A_and_B_is_conserved_and_Aads_starts_on_the_isotherm(script):
    sim = mechlang.compile(MECH, "cv5000", **COARSE)
    res = sim(script.TRUTH).check()
    gamma = np.asarray(res.surface)
    assert sim.surface_species == ("Aads", "Bads")
    # Initial coverage: the Langmuir isotherm theta/(1 - theta) = K_A c; the first step
    # (0.4 V, E0_ads - 0.32 V) leaves it unchanged.
    K_A = script.TRUTH["ka_A"] / (script.TRUTH["kd_A"] * script.GMAX)
    theta = K_A * script.C_A / (1 + K_A * script.C_A)
    assert gamma[0, 0] / script.GMAX == pytest.approx(theta, rel=1e-3)
    # Bads is formed during the sweep and the site never overfills.
    assert gamma[:, 1].max() > 0.3 * script.GMAX
    assert gamma.sum(axis=1).max() < script.GMAX
    # A + B dissolved (finite volumes) + Aads + Bads is what the cell started with.
    x = np.asarray(res.x)
    mid = 0.5 * (x[1:] + x[:-1])
    vol = np.diff(np.concatenate([x[:1], mid, x[-1:]]))
    c = np.asarray(res.c_final)
    dissolved = vol @ c[:, [sim.species.index("A"), sim.species.index("B")]].sum(axis=1)
    total = script.C_A * x[-1] + script.GMAX * theta
    assert dissolved + gamma[-1].sum() == pytest.approx(total, rel=1e-9)


def test_every_parameter_moves_the_current_at_the_truth(script):
    """Jacobian columns of the ten parameters at the truth: finite and not negligible
    (a change of 10 %, or of 5 mV for a formal potential, moves the current by more than
    1e-3 of its peak somewhere on the curve), so none is invisible to the fit."""
    sim = mechlang.compile(MECH, "cv1000", **COARSE)
    names = list(script.FITTED)
    x0 = jnp.asarray([script.TRUTH[k] for k in names])

    def current(x):
        return sim(dict(zip(names, x))).I

    I0 = np.asarray(current(x0))
    J = np.asarray(jax.jacfwd(current)(x0))
    assert np.all(np.isfinite(J))
    step = np.array([5e-3 if k.startswith("E0") else 0.1 * script.TRUTH[k] for k in names])
    effect = np.max(np.abs(J * step), axis=0) / np.max(np.abs(I0))
    assert np.all(effect > 1e-3), dict(zip(names, effect))
    # One column against a central difference: the Jacobian is the derivative.
    k = names.index("kd_B")
    h = 1e-4 * script.TRUTH["kd_B"]
    fd = (np.asarray(current(x0.at[k].add(h))) - np.asarray(current(x0.at[k].add(-h)))) / (2 * h)
    assert J[:, k] == pytest.approx(fd, rel=1e-4, abs=1e-6 * np.max(np.abs(fd)))
