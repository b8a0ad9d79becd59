"""Weakly supported media: migration of the electroactive ion as the support ratio falls.

Analytic check: the diffusion-limited reduction of a cation A+ (counter-anion X-, no
supporting electrolyte) to a neutral product on a plane.  Electroneutrality gives
c_A = c_X = c everywhere, and charge conservation a current density i(t) uniform in x, so
with psi = f phi the two Nernst-Planck fluxes J_A = -D_A (c' + c psi'), J_X = -D_X (c' - c psi')
satisfy J_A - J_X = i/F.  Eliminating c psi':

    J_A = -D_s c' + D_A/(D_A + D_X) i/F,     D_s = 2 D_A D_X / (D_A + D_X),

so the salt diffuses with D_s (dc/dt = D_s c'') and, with X- inert at the electrode
(J_X(0) = 0, J_A(0) = i/F), J_A(0) = -2 D_A c'(0).  With c(0) = 0, c = c_b erf(x / 2 sqrt(D_s t)),
and the current is Cottrell's in D_A times 2 sqrt(D_A/D_s) = sqrt(2 (D_A + D_X)/D_X) (2 for
equal D).  A large excess of supporting electrolyte carries the current instead and the
factor goes to 1.

The case study (examples/weakly_supported.mech, weakly_supported_mhc.mech): the gradient of
a weakly supported CV with Marcus-Hush-Chidsey kinetics in k0 and lambda against finite
differences, and k0 and lambda recovered from a synthetic CV at support ratio 1.
"""

import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import F, write

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# O+ X- (1 mM) with an optional support K+ X- (cs); O+ reduced far beyond E0.  The first
# instants are ohmically limited (the solution's resistance out to the reference electrode
# grows as the current falls off with 1/sqrt(t) less fast than needed): a reference 0.1 mm
# away (3 diffusion lengths at the end of the run) keeps that drop small, a domain of 3
# diffusion lengths (the far boundary's effect on the current is of order
# exp(-9 D_max/D_s)) keeps the grid short, and -0.8 V leaves the transient diffusion limited
# from about 5 % of the run on.  (The far boundary held at the bulk adds about
# 2 exp(-L^2/(D t)) = 2.5e-4 to the current at the end of the run for D = D_max.)
STEP = """
param cs = 0 mM
species O: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species X: D = 1e-5 cm^2/s, c = 1 mM + cs, z = -1
species K: D = 1e-5 cm^2/s, c = cs, z = +1
transport diffusion, migration
E1: O + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment ca {
  technique = ca
  E_initial = 0 V, E_step = -0.8 V, duration = 1 s
  area = 1 cm^2, reference = 0.1 mm
}
"""
STEP_OPTIONS = dict(points=40, ca_steps=50, ca_first_step=1e-3, newton=20, domain=3.0)
D_A = 1e-9  # m^2/s


@pytest.fixture(scope="module")
def step_sim(tmp_path_factory):
    return mechlang.compile(write(tmp_path_factory.mktemp("ws"), STEP, "step.mech"), **STEP_OPTIONS)


def factor(D_A, D_X):
    return math.sqrt(2 * (D_A + D_X) / D_X)


def enhancement(sim, params):
    """The current over Cottrell's for O+ alone (D_A), at every step; and the times."""
    res = sim(params).check()
    t, I = np.asarray(res.t), np.asarray(res.I)
    return t, I / (-F * 1e-4 * 1.0 * np.sqrt(D_A / (math.pi * t)))


@pytest.mark.parametrize("D_X", [1e-9, 0.5e-9, 2e-9])
def test_unsupported_cottrell_factor(step_sim, D_X):
    t, ratio = enhancement(step_sim, {"X.D": D_X})
    expect = factor(D_A, D_X)  # 2, sqrt(6) = 2.449, sqrt(3) = 1.732
    tail = t >= 0.3
    r = ratio[tail] / expect
    # What is left of the ohmically limited start decays as 1/t (a delayed step):
    # extrapolated to t -> infinity the factor is the analytic one (to the grid's accuracy).
    a, b = np.linalg.lstsq(np.stack([np.ones(tail.sum()), 1 / t[tail]], 1), r, rcond=None)[0]
    assert b > 0
    assert a == pytest.approx(1.0, abs=6e-3)
    assert r[-1] == pytest.approx(1.0, abs=1.5e-2)
    # and the factor is that of the salt's D_s: neither 1 (no migration) nor 2 (equal D)
    if D_X != D_A:
        assert abs(ratio[-1] - 2.0) > 0.2


def test_support_takes_the_factor_to_one(step_sim):
    """Support ratio 0, 3, 10, 100: the late-time factor falls from 2 to 1.  (Support
    ratios near 1 are left out: there Newton's iteration of this deep step, whose first
    instants put most of the 0.8 V across the solution, does not settle.)"""
    late = []
    for cs in (0.0, 3.0, 10.0, 100.0):  # mM = mol/m^3: the support ratio
        t, ratio = enhancement(step_sim, {"cs": cs})
        tail = t >= 0.3
        late.append(np.linalg.lstsq(np.stack([np.ones(tail.sum()), 1 / t[tail]], 1), ratio[tail], rcond=None)[0][0])
    assert late[0] == pytest.approx(2.0, rel=6e-3)
    assert late[0] > late[1] > late[2] > late[3]
    assert late[3] == pytest.approx(1.0, abs=1e-2)


# The MHC case study at support ratio 1, on a coarse grid.
EV = 1.602176634e-19  # J
CV_OPTIONS = dict(points=40, dE=8e-3)
TRUTH = {"k0": 3e-6, "lambda": 0.35 * EV}  # 3e-4 cm/s, 0.35 eV (the file has 1e-3 cm/s, 0.5 eV)


@pytest.fixture(scope="module")
def low_support(tmp_path_factory):
    """The MHC example with the support ratio set to 1 (a file that uses it)."""
    path = write(tmp_path_factory.mktemp("ws"),
                 f'use "{(EXAMPLES / "weakly_supported_mhc.mech").as_posix()}"\nparam ratio = 1\n', "low.mech")
    model = mechlang.load(path)
    return model, mechlang.compile(model, **CV_OPTIONS)


def test_mhc_migration_gradient(low_support):
    _, sim = low_support

    def current(p):  # p = (ln k0, lambda / eV)
        return sim({"k0": jnp.exp(p[0]), "lambda": p[1] * EV}).I

    p0 = np.array([math.log(TRUTH["k0"]), TRUTH["lambda"] / EV])
    jac = np.asarray(jax.jacfwd(current)(jnp.asarray(p0)))
    I0 = np.asarray(current(p0))
    assert np.abs(I0).max() > 1e-4 and np.isfinite(jac).all()
    for j, h in enumerate((1e-4, 1e-5)):
        e = np.zeros(2)
        e[j] = h
        fd = (np.asarray(current(p0 + e)) - np.asarray(current(p0 - e))) / (2 * h)
        assert np.abs(fd).max() > 1e-6  # both move the current
        assert np.abs(jac[:, j] - fd).max() < 1e-6 * np.abs(fd).max()


def test_recover_log_k0_and_lambda(low_support):
    """A CV at support ratio 1 (over 0.1 V of ohmic drop in solution) made at the truth
    with 0.5 % noise; k0 (log-scaled, as the file declares it) and lambda fitted from the
    file's values recover the truth within three standard errors, each known to 1 %."""
    model, sim = low_support
    res = sim(TRUTH)
    E, I = np.asarray(res.E), np.asarray(res.I)
    assert np.asarray(res.phi).min() < -0.1  # weakly supported: more than 0.1 V across the solution
    rng = np.random.default_rng(7)
    noisy = I + 0.005 * np.abs(I).max() * rng.standard_normal(I.shape)
    fit = mechlang.fit(model, data={"cv": {"E": E, "I": noisy}}, fit=["k0", "lambda"], progress=None, **CV_OPTIONS)
    assert fit.converged
    for name in ("k0", "lambda"):
        se = fit.stderr[name]
        assert 0 < se < 0.01 * TRUTH[name]
        assert abs(fit.values[name] - TRUTH[name]) < 3 * se
