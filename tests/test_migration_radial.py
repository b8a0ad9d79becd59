"""Migration (Nernst-Planck with electroneutrality) at spherical, hemispherical and
cylindrical electrodes: the reduction of a cation A+ to a neutral R.

Without supporting electrolyte (A+ X-, X- inert), at steady state the X- flux vanishes
everywhere (it is zero at the electrode and r^2 J_X is constant), so D_X (c' - c f phi') = 0,
i.e. f phi' = c'/c with c = c_A = c_X (electroneutrality), and J_A = -D_A (c' + c f phi')
= -2 D_A c'.  r^2 J_A constant makes the salt obey Laplace's equation, c = c_b (1 - r0/r)
when the electrode consumes every A+ arriving, so the steady current is twice the
supported one whatever D_X is: 8 pi F D_A c_b r0 at a sphere, 4 pi F D_A c_b r0 at a
hemisphere (2 pi F D_A c_b r0 with excess support).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import F, write

D_A, C_B, R0 = 1e-9, 1.0, 1e-6  # m^2/s, mol/m^3, m
COARSE = dict(points=70, ca_steps=120, newton=20, first_cell=1e-6)

SALT = """
species A: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species X: D = 2e-5 cm^2/s, c = 1 mM, z = -1
"""
SUPPORT = """
param cs = 1 M
species K: D = 1e-5 cm^2/s, c = cs, z = +1
species Cl: D = 1e-5 cm^2/s, c = cs, z = -1
"""
STEP = """
E1: A + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
"""


def model(geometry, support="", migration=True, duration="50 s", reference="\n  reference = 1 mm"):
    return (SALT + support + ("transport diffusion, migration\n" if migration else "") + STEP + f"""
experiment ca {{
  technique = ca
  E_initial = 0.4 V, E_step = -0.6 V, duration = {duration}
  geometry = {geometry}{reference if migration and geometry.startswith("cyl") else ""}
}}
""")


def steady(res):
    """The current extrapolated to t -> infinity: at long times a sphere's current falls as
    I_ss (1 + a / sqrt(t)); a straight line in 1/sqrt(t) through the last third."""
    t, I = np.asarray(res.t), np.asarray(res.I)
    k = t > t[-1] / 3
    slope, intercept = np.polyfit(1 / np.sqrt(t[k]), I[k], 1)
    return intercept


@pytest.fixture(scope="module")
def hemisphere(tmp_path_factory):
    """One compiled simulator, the support's concentration cs a runtime value: the bare
    salt is cs = 0 (K+ and Cl- absent: they carry nothing), the supported one cs = 1 M.
    Species order: A, R, X, K, Cl."""
    d = tmp_path_factory.mktemp("mig_radial")
    geo = f"hemispherical(r = {R0 * 1e6:g} um)"
    sim = mechlang.compile(write(d, model(geo, SUPPORT), "hemi.mech"), **COARSE)
    return (lambda: sim({"cs": 0.0})), sim


def test_unsupported_steady_state_is_twice_the_supported(hemisphere):
    bare, supported = hemisphere
    I_bare, I_sup = steady(bare()), steady(supported())
    assert -I_sup == pytest.approx(2 * np.pi * F * D_A * C_B * R0, rel=3e-3)
    assert -I_bare == pytest.approx(4 * np.pi * F * D_A * C_B * R0, rel=6e-3)  # grid: +0.4 %


def test_unsupported_profile_is_laplace_and_neutral(hemisphere):
    """Close to the electrode (r - r0 << sqrt(D t)) the salt is at its steady profile
    c_b (1 - r0/r); every node is electroneutral; A+ and X- are equal."""
    bare, _ = hemisphere
    res = bare()
    x, c = np.asarray(res.x), np.asarray(res.c_final)
    assert np.abs(c @ np.array([1, 0, -1, 1, -1])).max() < 1e-10 * C_B
    assert np.abs(c[:, 3:]).max() < 1e-12 * C_B  # no support
    near = (x > 0.2 * R0) & (x < 2 * R0)
    r = R0 + x[near]
    # what the transient still lacks at t = 50 s: r0/sqrt(pi D_s t) ~ 0.4 % of c_b
    assert c[near, 0] == pytest.approx(C_B * (1 - R0 / r), abs=1e-2 * C_B)
    phi0 = float(res.phi[-1])
    assert phi0 < -0.15  # f phi = ln(c/c_b): the solution potential falls with the salt


@pytest.mark.parametrize("geometry", ["spherical(r = 1 um)", "cylindrical(r = 1 um)"])
def test_strong_support_is_diffusion(tmp_path, geometry):
    """With 1000 times the electroactive ion as support the current is diffusion's."""
    opts = dict(COARSE, newton=None)
    mig = mechlang.compile(write(tmp_path, model(geometry, SUPPORT, duration="1 s"), "m.mech"), **opts)()
    diff = mechlang.compile(write(tmp_path, model(geometry, duration="1 s", migration=False), "d.mech"), **opts)()
    I, I0 = np.asarray(mig.I), np.asarray(diff.I)
    assert np.abs(I[5:] / I0[5:] - 1).max() < 3e-3
    assert np.abs(np.asarray(mig.phi)).max() < 1e-3


def test_hemisphere_conserves_charge_and_mass(hemisphere):
    """Unsupported: the neutral product R on the grid (hemispherical shells 2 pi r^2 dr)
    is the charge passed over F, and every A+ lost from the grid is an R on it."""
    bare, _ = hemisphere
    res = bare()
    x, c = np.asarray(res.x), np.asarray(res.c_final)
    r = R0 + x
    edges = np.concatenate([r[:1], 0.5 * (r[1:] + r[:-1]), r[-1:]])
    shells = 2 * np.pi / 3 * np.diff(edges**3)
    t, I = np.asarray(res.t), np.asarray(res.I)
    charge = np.sum(I * np.diff(np.concatenate([[0.0], t])))  # implicit steps: the end-point rule
    assert -charge == pytest.approx(F * (shells @ c[:, 1]), rel=1e-2)
    # (what the far boundary, held at the bulk 6 diffusion lengths out, exchanges is negligible)
    assert shells @ (C_B - c[:, 0]) == pytest.approx(shells @ c[:, 1], rel=1e-3)


def test_gradient_in_radius(tmp_path):
    """d I / d r0 through the migration flux in spherical geometry (10 mM support: the
    field still matters), forward mode against central differences."""
    sim = mechlang.compile(write(tmp_path, model("spherical(r = 1 um)", SUPPORT, duration="0.1 s"), "g.mech"),
                           **dict(COARSE, ca_steps=20, points=30, newton=8))

    def late(r):
        return sim({"r": r, "cs": 10.0}).I[-1]

    r, h = 1e-6, 1e-10
    grad = float(jax.jvp(late, (jnp.asarray(r),), (jnp.asarray(1.0),))[1])
    fd = (float(late(r + h)) - float(late(r - h))) / (2 * h)
    assert grad != 0.0
    assert grad == pytest.approx(fd, rel=1e-4)
