"""Electron-transfer laws: against independent evaluations, their limits, and through the simulator.

* ``marcus`` and the closed form of ``mhc`` against their formulas written again in numpy;
* ``mhc(..., exact = 1)`` against the Chidsey integral evaluated by mpmath (30 digits);
* normalisation k_red(E0) = k_ox(E0) = k0 and detailed balance for every law;
* the Butler-Volmer limit (alpha = 1/2) of marcus and of the exact mhc as lambda -> oo;
* gradients of a simulated CV through ``mhc(exact = 1)`` against central differences;
* ``Model.rate_constants`` and ``mechlang show --rates``.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

import mechlang
from helpers import write
from mechlang.cli.main import main as cli
from mechlang.constants import F, R, k_B as K_B
from mechlang.errors import ModelError
from mechlang.kinetics.mhc_quadrature import NODES, log_integral

jax.config.update("jax_enable_x64", True)

T_CELL = 310.0  # K, the experiment's temperature in LAWS

# One couple per law (parallel reversible steps between the same species with different
# E0 would be a thermodynamic contradiction, which `load` rejects); E0 differs per couple
# so that a wrong E0 would show.
LAWS = """
law bv_by_hand(E0, k0, alpha) {
  kred = k0 * exp(-alpha * f * (E - E0))
  kox  = k0 * exp((1 - alpha) * f * (E - E0))
}
species A, A2, A3, A4: D = 1e-5 cm^2/s, c = 1 mM
species B, B2, B3, B4: D = 1e-5 cm^2/s
species C, C2, C3: D = 1e-5 cm^2/s, c = 1 mM
species D, D2, D3: D = 1e-5 cm^2/s
param k0 = 2e-3 cm/s
param lambda = 0.3 eV
param kx = 2 * k0
BV:  A + e- <=> B ; butler_volmer(0.1 V, k0, 0.3)
MA:  A2 + e- <=> B2 ; marcus(-0.05 V, k0, lambda)
MC:  A3 + e- <=> B3 ; mhc(0.2 V, k0, lambda)
MX:  A4 + e- <=> B4 ; mhc(0.2 V, k0, lambda, exact = 1)
MX2: C + 2 e- <=> D ; mhc(0 V, kx, 0.5 eV, exact = 1)
U:   C2 + e- <=> D2 ; bv_by_hand(0.15 V, k0, 0.4)
NE:  C3 + e- <=> D3 ; nernst(0 V)
CH:  B -> D ; k = 1 s^-1
experiment cv { technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 1 V/s, T = 310 K }
"""


@pytest.fixture(scope="module")
def laws(tmp_path_factory):
    return mechlang.load(write(tmp_path_factory.mktemp("laws"), LAWS))


def f_at(T=T_CELL):
    return F / (R * T)


# -- independent references ---------------------------------------------------------------

mp.mp.dps = 20  # module-wide: mpmath's precision is global


def chidsey(eta: float, lam: float) -> mp.mpf:
    """(4 pi lam)^(-1/2) * Integral exp(-(x - lam - eta)^2/(4 lam)) / (1 + e^x) dx, by mpmath.

    The integrand is written in a form that never overflows; the real line is cut around
    the Fermi level and both ends of the bracket [a - 2 lam, a] of the integrand's maximum
    (at up to 10 Gaussian widths), so that tanh-sinh sees smooth pieces (20 digits; about
    1e-11 relative).
    """
    lam_, a = mp.mpf(lam), mp.mpf(lam) + mp.mpf(eta)

    def f(x):
        fermi = -mp.log1p(mp.exp(x)) if x < 0 else -x - mp.log1p(mp.exp(-x))
        return mp.exp(-((x - a) ** 2) / (4 * lam_) + fermi)

    s = math.sqrt(2 * lam)
    cuts = {centre + k * s for centre in (float(a) - 2 * lam, float(a), 0.0) for k in (-10, -5, -2, 0, 2, 5, 10)}
    pts = [-mp.inf] + [mp.mpf(c) for c in sorted(cuts)] + [mp.inf]
    return mp.quad(f, pts) / mp.sqrt(4 * mp.pi * lam_)


def zeng_numpy(eta, lam):
    """The closed form of Zeng et al. (2014), normalised, written again: (k_red, k_ox) / k0."""
    erfc = np.vectorize(math.erfc)

    def raw(x):
        return np.sqrt(np.pi * lam) * erfc((lam - np.sqrt(1 + np.sqrt(lam) + x**2)) / (2 * np.sqrt(lam)))

    norm = 2 / raw(0.0)
    return norm * raw(eta) / (1 + np.exp(eta)), norm * raw(eta) / (1 + np.exp(-eta))


def kT_units(model, label, E, lam_J=None, T=T_CELL, n=1):
    """eta = n f (E - E0) and lambda / kT of a step."""
    from mechlang.kinetics.rates import formal_potential

    numbers = model.evaluate()
    step = next(s for s in model.steps if s.label == label)
    lam = lam_J if lam_J is not None else numbers[dict(step.kinetics.args)["lambda"]]
    return n * f_at(T) * (np.asarray(E) - formal_potential(model, label)), lam / (K_B * T)


# -- the exact MHC integral -----------------------------------------------------------------

LAMBDAS = (1.0, 2.3, 6.0, 13.0, 22.0, 40.0)
ETAS = (-40.0, -23.0, -9.5, -2.2, 0.0, 0.6, 7.0, 40.0)


@pytest.fixture(scope="module")
def chidsey_grid():
    return np.array([[float(mp.log(chidsey(e, lam))) for e in ETAS] for lam in LAMBDAS])


def test_fixed_node_quadrature_matches_mpmath_to_1e_6(chidsey_grid):
    lam, eta = np.meshgrid(LAMBDAS, ETAS, indexing="ij")
    got = np.asarray(jax.jit(log_integral)(eta, lam))
    err = np.abs(np.expm1(got - chidsey_grid))
    assert NODES == 96
    assert err.max() < 1e-8, f"largest relative error {err.max():.2e}"  # required: 1e-6
    # the normalised rate: k_red/k0 = M(eta)/M(0)
    i0 = ETAS.index(0.0)
    norm = np.abs(np.expm1((got - got[:, [i0]]) - (chidsey_grid - chidsey_grid[:, [i0]])))
    assert norm.max() < 1e-8


def test_quadrature_is_smooth_and_differentiable():
    # derivatives of log M against central differences of mpmath's integral
    grad = jax.jit(jax.grad(log_integral, argnums=(0, 1)))
    for eta, lam in ((-7.0, 5.0), (15.0, 20.0), (-39.0, 40.0), (0.0, 1.0)):
        h = 1e-4
        d_eta = (mp.log(chidsey(eta + h, lam)) - mp.log(chidsey(eta - h, lam))) / (2 * h)
        d_lam = (mp.log(chidsey(eta, lam + h)) - mp.log(chidsey(eta, lam - h))) / (2 * h)
        g_eta, g_lam = (float(g) for g in grad(eta, lam))
        assert g_eta == pytest.approx(float(d_eta), rel=1e-7, abs=1e-10)
        assert g_lam == pytest.approx(float(d_lam), rel=1e-7, abs=1e-10)
    # no overflow far out, and vmap
    far = np.asarray(jax.vmap(log_integral, (0, None))(jnp.array([-800.0, 800.0]), 10.0))
    assert np.all(np.isfinite(far)) and abs(far[0]) < 1e-12 and far[1] == pytest.approx(-800, rel=1e-2)


def test_mhc_exact_rates_match_the_integral(laws):
    E = 0.2 + np.array([-1.0, -0.55, -0.22, -0.013, 0.013, 0.22, 0.55, 1.0])  # eta from -37 to 37
    kred, kox = (np.asarray(k) for k in laws.rate_constants("MX", E))
    eta, lam = kT_units(laws, "MX", E)
    k0 = laws.evaluate()["k0"]
    m0 = chidsey(0.0, lam)
    ref_red = np.array([float(chidsey(e, lam) / m0) for e in eta]) * k0
    np.testing.assert_allclose(kred, ref_red, rtol=1e-8)
    np.testing.assert_allclose(kox, ref_red[::-1], rtol=1e-8)  # k_ox(eta) = k_red(-eta)
    assert np.all(np.diff(kred) < 0) and np.all(np.diff(kox) > 0)  # reduction faster at lower E


# -- closed forms against formulas written again ---------------------------------------------


def test_marcus_and_mhc_closed_form_match_their_formulas(laws):
    E = np.linspace(-0.7, 0.7, 29)
    k0 = laws.evaluate()["k0"]
    eta, lam = kT_units(laws, "MA", E)
    kred, kox = (np.asarray(k) for k in laws.rate_constants("MA", E))
    np.testing.assert_allclose(kred, k0 * np.exp(-((lam + eta) ** 2 - lam**2) / (4 * lam)), rtol=1e-12)
    np.testing.assert_allclose(kox, k0 * np.exp(-((lam - eta) ** 2 - lam**2) / (4 * lam)), rtol=1e-12)

    eta, lam = kT_units(laws, "MC", E)
    red, ox = zeng_numpy(eta, lam)
    kred, kox = (np.asarray(k) for k in laws.rate_constants("MC", E))
    np.testing.assert_allclose(kred, k0 * red, rtol=1e-11)
    np.testing.assert_allclose(kox, k0 * ox, rtol=1e-11)


# -- normalisation and detailed balance, every law ---------------------------------------------


@pytest.mark.parametrize("label, n, e0, k0_name", [
    ("BV", 1, 0.1, "k0"), ("MA", 1, -0.05, "k0"), ("MC", 1, 0.2, "k0"), ("MX", 1, 0.2, "k0"),
    ("MX2", 2, 0.0, "kx"), ("U", 1, 0.15, "k0"),
])
def test_normalisation_and_detailed_balance(laws, label, n, e0, k0_name):
    k0 = laws.evaluate()[k0_name]
    kred, kox = (np.asarray(k) for k in laws.rate_constants(label, e0))
    assert kred == pytest.approx(k0, rel=1e-12) and kox == pytest.approx(k0, rel=1e-12)
    E = e0 + np.linspace(-0.6, 0.6, 25)
    kred, kox = (np.asarray(k) for k in laws.rate_constants(label, E))
    np.testing.assert_allclose(kox / kred, np.exp(n * f_at() * (E - e0)), rtol=1e-11)
    if label.startswith("M"):  # symmetric laws: k_ox(eta) = k_red(-eta)
        np.testing.assert_allclose(kox, kred[::-1], rtol=1e-11)


# -- the Butler-Volmer limit --------------------------------------------------------------------


@pytest.mark.parametrize("label", ["MA", "MX"])
def test_large_reorganisation_energy_gives_butler_volmer_with_alpha_one_half(laws, label):
    E = {"MA": -0.05, "MX": 0.2}[label] + np.linspace(-0.2, 0.2, 17)  # |eta| <= 7.5
    deviation = {}
    for lam_kT in (200.0, 1000.0):
        params = {"lambda": lam_kT * K_B * T_CELL}
        kred, kox = (np.asarray(k) for k in laws.rate_constants(label, E, params))
        eta, _ = kT_units(laws, label, E, params["lambda"])
        k0 = laws.evaluate()["k0"]
        dev = max(np.abs(np.log(kred / (k0 * np.exp(-eta / 2)))).max(),
                  np.abs(np.log(kox / (k0 * np.exp(eta / 2)))).max())
        # Marcus: exactly eta^2/(4 lam); MHC: the same order (plus log cos(pi eta / (2 lam)))
        bound = eta.max() ** 2 / (4 * lam_kT)
        assert dev <= bound * (1 + 1e-9) + 1e-12 if label == "MA" else dev < 1.5 * bound
        deviation[lam_kT] = dev
    assert deviation[1000.0] < 0.015
    assert deviation[200.0] / deviation[1000.0] > 4.5  # ~ 1/lambda


# -- exact against closed form --------------------------------------------------------------------


def test_exact_and_closed_form_mhc_agree_within_the_closed_forms_accuracy(laws):
    # The closed form against the integral itself, before normalisation ...
    eta = np.linspace(-40, 40, 161)
    raw = {}
    for lam in (1.0, 2.0, 4.0, 7.0, 10.0, 12.0, 14.0, 16.0, 20.0):
        zeng = np.sqrt(np.pi * lam) / (1 + np.exp(eta)) * np.vectorize(math.erfc)(
            (lam - np.sqrt(1 + np.sqrt(lam) + eta**2)) / (2 * np.sqrt(lam)))
        exact = np.sqrt(4 * np.pi * lam) * np.exp(np.asarray(log_integral(eta, lam)))
        raw[lam] = np.abs(zeng / exact - 1).max()
    # ... and the normalised rates the simulator uses (|eta| <= 20)
    E = 0.2 + np.linspace(-0.5, 0.5, 41)
    rates = {}
    for lam in (4.0, 8.0, 12.0, 16.0, 20.0):
        params = {"lambda": lam * K_B * T_CELL}
        exact = np.asarray(laws.rate_constants("MX", E, params)[0])
        closed = np.asarray(laws.rate_constants("MC", E, params)[0])
        rates[lam] = np.abs(closed / exact - 1).max()
    # Zeng et al.'s formula: within 4.5 % of the integral for lambda = 10-16 kT (a few per
    # cent where it is best), within 12 % for lambda = 1-20 kT; normalised rates within
    # 7.5 % and 20 %.
    assert max(raw[lam] for lam in (10.0, 12.0, 14.0, 16.0)) < 0.045, raw
    assert max(raw.values()) < 0.12, raw
    assert max(rates[12.0], rates[16.0]) < 0.075, rates
    assert max(rates.values()) < 0.2, rates


# -- through the simulator -------------------------------------------------------------------------

CV = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 0 V
param k0 = 1e-3 cm/s
param lambda = 0.4 eV
E1: O + e- <=> R ; {law}
experiment cv {{ technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 1 V/s }}
"""

BY_HAND = """
law bv(E0, k0, alpha) {
  kred = k0 * exp(-alpha * f * (E - E0))
  kox  = k0 * exp((1 - alpha) * f * (E - E0))
}
"""


def test_gradient_through_exact_mhc_matches_central_differences(tmp_path):
    sim = mechlang.compile(write(tmp_path, CV.format(law="mhc(E0, k0, lambda, exact = 1)")), points=60, dE=5e-3)
    I_ref = np.asarray(sim({"k0": 2e-5, "lambda": 0.5 * 1.602176634e-19}).I)
    scale = np.abs(I_ref).max()

    def loss(p):
        return jnp.sum(((sim(p).I - I_ref) / scale) ** 2)

    p0 = {"k0": 1e-5, "lambda": 0.4 * 1.602176634e-19}
    grad = jax.jit(jax.grad(loss))(p0)
    for name in p0:
        h = 1e-4 * p0[name]
        up, down = dict(p0), dict(p0)
        up[name] += h
        down[name] -= h
        fd = (float(loss(up)) - float(loss(down))) / (2 * h)
        assert float(grad[name]) == pytest.approx(fd, rel=1e-5), name
        assert abs(fd) * p0[name] > 1e-3  # the loss does depend on it


def test_user_law_writing_butler_volmer_gives_the_same_current(tmp_path):
    a = mechlang.compile(write(tmp_path, CV.format(law="butler_volmer(E0, k0, 0.35)"), "a.mech"),
                         points=60, dE=5e-3)
    b = mechlang.compile(write(tmp_path, BY_HAND + CV.format(law="bv(E0, k0, 0.35)"), "b.mech"),
                         points=60, dE=5e-3)
    Ia, Ib = np.asarray(a().I), np.asarray(b().I)
    assert np.abs(Ia - Ib).max() <= 1e-10 * np.abs(Ia).max()


# -- the API and the command line --------------------------------------------------------------


def test_rate_constants_api(laws):
    E = np.linspace(-0.3, 0.3, 7).reshape(7, 1) + np.zeros((1, 3))
    kred, kox = laws.rate_constants("BV", E)
    assert kred.shape == kox.shape == (7, 3)
    # params by name, like sim(params); a derived value follows its inputs; T
    k0 = laws.evaluate()["k0"]
    assert float(laws.rate_constants("BV", 0.1, {"k0": 3 * k0})[0]) == pytest.approx(3 * k0, rel=1e-12)
    assert float(laws.rate_constants("MX2", 0.0, {"k0": 3 * k0})[1]) == pytest.approx(6 * k0, rel=1e-12)
    kr, ko = laws.rate_constants("BV", 0.2, {"T": 298.15})
    assert float(ko / kr) == pytest.approx(math.exp(F / (R * 298.15) * 0.1), rel=1e-12)
    # differentiable with respect to the potential and the values
    dk = jax.grad(lambda e: jnp.log(laws.rate_constants("BV", e)[0]))(0.0)
    assert float(dk) == pytest.approx(-0.3 * f_at(), rel=1e-12)
    dl = jax.grad(lambda lam: laws.rate_constants("MX", 0.0, {"lambda": lam})[0])(0.3 * 1.602176634e-19)
    assert np.isfinite(float(dl)) and float(dl) != 0
    jitted = jax.jit(lambda e: laws.rate_constants("MX", e))(jnp.linspace(-0.3, 0.3, 5))
    np.testing.assert_allclose(jitted[0], laws.rate_constants("MX", np.linspace(-0.3, 0.3, 5))[0], rtol=1e-13)
    # errors
    with pytest.raises(ModelError, match="no step 'BV1'.*did you mean 'BV'"):
        laws.rate_constants("BV1", 0.0)
    with pytest.raises(ModelError, match="chemical step"):
        laws.rate_constants("CH", 0.0)
    with pytest.raises(ModelError, match="nernst"):
        laws.rate_constants("NE", 0.0)
    with pytest.raises(KeyError, match="did you mean 'k0'"):
        laws.rate_constants("BV", 0.0, {"k00": 1.0})


def test_show_rates_prints_a_table_and_plots(tmp_path, capsys, laws):
    path = write(tmp_path, LAWS)
    assert cli(["show", str(path), "--rates", "MX", "--plot", str(tmp_path / "k.png")]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1] in "-0123456789"]
    assert len(rows) == 11
    table = np.array(rows, float)
    np.testing.assert_allclose(table[:, 0], np.linspace(-0.5, 0.5, 11), atol=1e-12)
    np.testing.assert_allclose(table[:, 1], table[:, 0] + 0.2, atol=1e-12)  # E = E0 + overpotential
    kred, kox = (np.asarray(k) for k in laws.rate_constants("MX", table[:, 1]))
    np.testing.assert_allclose(table[:, 2], kred, rtol=1e-4)
    np.testing.assert_allclose(table[:, 3], kox, rtol=1e-4)
    assert "E0 = 0.2 V" in out and "T = 310 K" in out
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"
    assert cli(["show", str(path), "--rates", "NE"]) == 1
    assert "nernst" in capsys.readouterr().err
    assert cli(["show", str(path), "--plot", str(tmp_path / "x.png")]) == 1
    # the equations name the integral of the exact form
    assert cli(["show", str(path)]) == 0 and "MHCLogIntegral" in capsys.readouterr().out


def test_exact_option_must_be_zero_or_one(tmp_path):
    bad = write(tmp_path, CV.format(law="mhc(E0, k0, lambda, exact = 2)"))
    with pytest.raises(ModelError, match="option 'exact' of mhc must be 0 or 1"):
        mechlang.load(bad)
