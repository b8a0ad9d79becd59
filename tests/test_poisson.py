"""Migration with Poisson's equation, `transport diffusion, migration(debye = ...)`: the
equilibrium diffuse layer against Gouy-Chapman, and the electroneutral limit."""

import numpy as np
import pytest

import mechlang
from helpers import f_of, write

LAM, C, PSI0 = 3e-9, 10.0, 0.1  # Debye length (m), KCl (mol/m^3), phi(0) - phi(bulk) (V)

LAYER = f"""
species K: D = 2e-5 cm^2/s, c = 10 mM, z = +1
species Cl: D = 2e-5 cm^2/s, c = 10 mM, z = -1
transport diffusion, migration(debye = 3 nm, E_pzc = -0.05 V)
experiment ca {{
  technique = ca
  E_initial = -0.05 V, E_step = {PSI0 - 0.05} V, duration = 10 ms
  reference = 10 um  # close: the layer charges through the solution out to it
}}
"""


@pytest.fixture(scope="module")
def layer_sim(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("poisson"), LAYER, "gc.mech")
    return mechlang.compile(path, points=80, ca_steps=40, first_cell=1e-6, newton=7)


@pytest.fixture(scope="module")
def layer(layer_sim):
    return layer_sim()


def test_diffuse_layer_is_gouy_chapman(layer):
    """Without a Stern layer the solution at the electrode is at E - E_pzc; the ions are
    Boltzmann-distributed, c_K = c e^(-psi), c_Cl = c e^(psi), with
    psi = 4 artanh(tanh(psi0/4) e^(-x/lambda_D)) (Gouy-Chapman, 1:1 electrolyte)."""
    f = f_of()
    x, c = np.asarray(layer.x), np.asarray(layer.c_final)
    assert float(layer.phi[-1]) == pytest.approx(PSI0, abs=1e-12)
    psi = 4 * np.arctanh(np.tanh(f * PSI0 / 4) * np.exp(-x / LAM))
    near = x < 10 * LAM
    assert c[near, 0] == pytest.approx(C * np.exp(-psi[near]), rel=5e-3)
    assert c[near, 1] == pytest.approx(C * np.exp(psi[near]), rel=5e-3)
    # the potential itself, from the two ions: psi = ln(c_Cl/c_K)/2
    assert 0.5 * np.log(c[near, 1] / c[near, 0]) == pytest.approx(psi[near], abs=2e-3)


def test_stern_layer(layer_sim):
    """With a Stern layer lambda_S the potential splits: f (E - E_pzc) - psi0 =
    -lambda_S dpsi/dx = (2 lambda_S / lambda_D) sinh(psi0/2) (Gouy-Chapman's field at the
    outer Helmholtz plane); a runtime value, so the same compiled simulator."""
    from scipy.optimize import brentq

    f = f_of()
    for stern in (1e-9, 5e-9):
        res = layer_sim({"migration.stern": stern})
        psi0 = brentq(lambda p: f * PSI0 - p - 2 * stern / LAM * np.sinh(p / 2), 0.0, f * PSI0)
        assert f * float(res.phi[-1]) == pytest.approx(psi0, rel=2e-3)


def test_diffuse_charge_is_grahame(layer):
    """The charge of the diffuse layer, F int (c_K - c_Cl) dx = -4 F c lambda_D sinh(psi0/2)
    (Grahame)."""
    x, c = np.asarray(layer.x), np.asarray(layer.c_final)
    edges = np.concatenate([x[:1], 0.5 * (x[1:] + x[:-1]), x[-1:]])
    q = np.diff(edges) @ (c[:, 0] - c[:, 1])
    assert q == pytest.approx(-4 * C * LAM * np.sinh(f_of() * PSI0 / 2), rel=5e-3)


UNSUPPORTED = """
species O: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species Cl: D = 1e-5 cm^2/s, c = 1 mM, z = -1
transport diffusion, {migration}
E1: O + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment ca {{
  technique = ca
  E_initial = 0.4 V, E_step = -0.6 V, duration = 0.1 s
  reference = 50 um
}}
"""


def test_thin_diffuse_layer_is_electroneutral(tmp_path):
    """A Debye length far below the diffusion layer (tens of um) and a Stern layer that
    takes most of the interfacial drop: the unsupported reduction's current approaches the
    electroneutral one (twice Cottrell) as lambda_D falls (a runtime value: one compile)."""
    opts = dict(points=80, ca_steps=60, newton=20, first_cell=1e-6)
    en = mechlang.compile(write(tmp_path, UNSUPPORTED.format(migration="migration"), "en.mech"), **opts)()
    po = mechlang.compile(write(tmp_path, UNSUPPORTED.format(
        migration="migration(debye = 10 nm, E_pzc = -0.6 V, stern = 1 um)"), "po.mech"), **opts)
    late = np.asarray(en.t) > 1e-3
    I0 = np.asarray(en.I)[late]
    dev = [np.abs(np.asarray(po({"migration.debye": lam}).I)[late] / I0 - 1).max() for lam in (1e-8, 1e-9)]
    assert dev[1] < 6e-3 < dev[0]


def test_gradient_in_debye_length(layer_sim):
    """The diffuse charge (Grahame: linear in lambda_D) differentiated with respect to the
    Debye length through the implicit steps, forward mode against central differences
    (a runtime value: the module's compiled simulator)."""
    import jax
    import jax.numpy as jnp

    def charge(lam):
        res = layer_sim({"migration.debye": lam})
        x = res.x
        edges = jnp.concatenate([x[:1], 0.5 * (x[1:] + x[:-1]), x[-1:]])
        return jnp.diff(edges) @ (res.c_final[:, 0] - res.c_final[:, 1])

    lam, h = LAM, 1e-13
    grad = float(jax.jvp(charge, (jnp.asarray(lam),), (jnp.asarray(1.0),))[1])
    fd = (float(charge(lam + h)) - float(charge(lam - h))) / (2 * h)
    assert grad != 0.0
    assert grad == pytest.approx(fd, rel=1e-4)


def test_bad_poisson_settings(tmp_path):
    for setting, message in (("migration(debye = 1 nm, eps_r = 78)", "either debye"),
                             ("migration(debey = 1 nm)", "unknown migration setting 'debey'"),
                             ("migration(debye = 1 V)", "debye"),
                             ("migration(1 nm)", "named"),
                             ("migration(debye = -1 nm)", "must be positive"),
                             ("migration, diffusion(D = 1)", "takes no settings")):
        path = write(tmp_path, LAYER.replace("migration(debye = 3 nm, E_pzc = -0.05 V)", setting), "bad.mech")
        with pytest.raises(mechlang.MechError, match=message):
            mechlang.load(path)


def test_permittivity_sets_the_debye_length(tmp_path):
    """`eps_r` instead of `debye`: lambda_D^2 = eps_0 eps_r R T / (F^2 sum z^2 c), here
    3.04 nm for 10 mM KCl in water (eps_r = 78.5): the diffuse charge is Grahame's with it."""
    from helpers import F, R

    text = LAYER.replace("debye = 3 nm", "eps_r = 78.5")
    res = mechlang.compile(write(tmp_path, text, "eps.mech"), points=80, ca_steps=40, first_cell=1e-6, newton=7)()
    lam = np.sqrt(8.8541878128e-12 * 78.5 * R * 298.15 / (F**2 * 2 * C))
    assert lam == pytest.approx(3.04e-9, rel=2e-3)
    x, c = np.asarray(res.x), np.asarray(res.c_final)
    edges = np.concatenate([x[:1], 0.5 * (x[1:] + x[:-1]), x[-1:]])
    q = np.diff(edges) @ (c[:, 0] - c[:, 1])
    assert q == pytest.approx(-4 * C * lam * np.sinh(f_of() * PSI0 / 2), rel=5e-3)


def test_show_states_the_potential_equation(tmp_path):
    from mechlang.cli.show import render
    from mechlang.symbolic.system import derive

    model = mechlang.load(write(tmp_path, LAYER, "show.mech"))
    assert model.poisson["debye"] == "migration.debye"
    text = render(derive(model), transport=model.transport, poisson=model.poisson)
    assert "Poisson" in text and "E_pzc" in text


def test_diffuse_layer_at_a_small_sphere_is_debye_huckel(tmp_path):
    """Poisson's equation through the radial operator: around a sphere of radius r0 = 10 nm
    (about three Debye lengths) a small potential (5 mV) decays as
    psi = psi0 (r0/r) exp(-(r - r0)/lambda_D), the linearised (Debye-Huckel) solution, not
    as the planar exp(-x/lambda_D)."""
    psi0, r0 = 0.005, 10e-9
    text = LAYER.replace(f"E_step = {PSI0 - 0.05} V", f"E_step = {psi0 - 0.05} V").replace(
        "duration = 10 ms", "duration = 10 ms, geometry = spherical(r = 10 nm)")
    res = mechlang.compile(write(tmp_path, text, "sphere.mech"), points=80, ca_steps=40, first_cell=1e-6, newton=7)()
    x, c = np.asarray(res.x), np.asarray(res.c_final)
    psi = 0.5 * np.log(c[:, 1] / c[:, 0])
    f = f_of()
    near = x < 5 * LAM
    sphere = f * psi0 * r0 / (r0 + x) * np.exp(-x / LAM)
    planar = f * psi0 * np.exp(-x / LAM)
    assert np.abs(psi - sphere)[near].max() < 5e-3 * f * psi0  # linearisation: (f psi0)^2 / 6 ~ 0.6 %
    assert np.abs(psi - planar)[near].max() > 5e-2 * f * psi0
