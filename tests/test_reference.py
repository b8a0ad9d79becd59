"""Where the potential is measured with migration: the experiment key `reference`.

The electrode sees E - (phi(0) - phi(reference)).  The bulk beyond the simulated domain is
an ohmic conductor, so the far node's potential is the current times the bulk's resistance
out to the reference (planar: a slab; sphere and hemisphere: the spreading resistance,
to infinity when no reference is given).  Results must then not depend on the numerical
domain length (Options.domain), which used to set where the potential was referenced.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import write

PLANAR = """
species O: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species K: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species Cl: D = 1e-5 cm^2/s, c = 2 mM, z = -1
transport diffusion, migration
E1: O + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s
  area = 1 cm^2
  reference = 1 mm
}
"""
COARSE = dict(points=60, dE=4e-3)


def peak(E, I):
    """Cathodic peak (current, potential, index), the potential by a parabola through three samples."""
    k = int(np.argmin(I))
    y0, y1, y2 = I[k - 1 : k + 2]
    s = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return y1 - 0.25 * (y0 - y2) * s, E[k] + s * (E[k + 1] - E[k]), k


@pytest.fixture(scope="module")
def planar(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("ref"), PLANAR, "planar.mech")
    return {dom: mechlang.compile(path, domain=dom, **COARSE) for dom in (6.0, 12.0)}


def test_planar_cv_does_not_depend_on_the_domain(planar):
    """Support ratio 1 (a large ohmic drop): the reference 1 mm away lies beyond the domain
    of 6 diffusion lengths (0.76 mm) and inside that of 12 (1.5 mm); peak current, peak
    potential and phi(0) at the peak agree between them."""
    out = []
    for dom, sim in planar.items():
        res = sim()
        Ip, Ep, k = peak(np.asarray(res.E), np.asarray(res.I))
        out.append((Ip, Ep, float(res.phi[k]), float(res.x[-1])))
    (I6, E6, p6, L6), (I12, E12, p12, L12) = out
    assert L6 < 1e-3 < L12
    assert p6 < -0.05  # the drop is large: the test would see a misplaced reference
    assert I12 == pytest.approx(I6, rel=1e-2)
    assert abs(E12 - E6) < 2e-3
    assert abs(p12 - p6) < 2e-3


def test_farther_reference_adds_the_slab_resistance(tmp_path):
    """Support ratio 10 and a potential step 0.6 V past E0 (diffusion-limited once the
    first, ohmically limited instants are over): moving the reference from 1 mm to 2 mm
    leaves the late current as it is and adds the bulk slab's resistance, 1 mm / (kappa A)
    with kappa = F^2/RT sum z^2 D c, times the current to the drop phi(0)."""
    text = PLANAR.replace("technique = cv", "technique = ca").replace(
        "E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s", "E_initial = 0.4 V, E_step = -0.6 V, duration = 1 s")
    text = text.replace("c = 1 mM, z = +1\nspecies Cl: D = 1e-5 cm^2/s, c = 2 mM",
                        "c = 10 mM, z = +1\nspecies Cl: D = 1e-5 cm^2/s, c = 11 mM")
    sim = mechlang.compile(write(tmp_path, text, "ca.mech"), points=50, ca_steps=60, newton=20)
    near, far = sim(), sim({"reference": 2e-3})
    F, RT = 96485.33212, 8.314462618 * 298.15
    kappa = F**2 / RT * 1e-9 * (1.0 + 10.0 + 11.0)  # O+ (1 mM), K+ (10 mM), Cl- (11 mM)
    late = np.asarray(near.t) > 0.3
    I_near, I_far = np.asarray(near.I)[late], np.asarray(far.I)[late]
    assert np.abs(I_far / I_near - 1).max() < 1e-2
    extra = np.asarray(near.phi)[late] - np.asarray(far.phi)[late]
    np.testing.assert_allclose(extra, -I_far * 1e-3 / (kappa * 1e-4), rtol=1e-2)


def test_gradient_in_reference_distance(planar):
    sim = planar[6.0]

    def Ip(ref):
        return jnp.min(sim({"reference": ref}).I)

    ref, h = 1e-3, 1e-7
    grad = float(jax.jvp(Ip, (jnp.asarray(ref),), (jnp.asarray(1.0),))[1])
    fd = (float(Ip(ref + h)) - float(Ip(ref - h))) / (2 * h)
    assert grad > 0  # a farther reference: more ohmic drop, a lower (less negative) peak
    assert grad == pytest.approx(fd, rel=1e-4)


HEMISPHERE = """
species A: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
species X: D = 1e-5 cm^2/s, c = 1 mM, z = -1
transport diffusion, migration
E1: A + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment ca {{
  technique = ca
  E_initial = 0.4 V, E_step = -0.3 V, duration = 1 s
  geometry = hemispherical(r = 100 um){reference}
}}
"""


def test_hemisphere_reference_at_infinity(tmp_path):
    """No support, a hemisphere of 100 um for 1 s: the domain (6 or 12 diffusion lengths,
    0.19 or 0.38 mm) is comparable to the radius, so the spreading resistance beyond it is
    a third or a fifth of the whole.  With no reference given the potential is measured at
    infinity: phi(0) and the current do not depend on the domain, and equal those with a
    reference 1000 radii away (10 cm) to the 1e-3 of the resistance left beyond it."""
    opts = dict(points=50, ca_steps=60, newton=12)
    bare = write(tmp_path, HEMISPHERE.format(reference=""), "inf.mech")
    far = write(tmp_path, HEMISPHERE.format(reference="\n  reference = 10 cm"), "far.mech")
    runs = [mechlang.compile(bare, domain=6.0, **opts)(), mechlang.compile(bare, domain=12.0, **opts)(),
            mechlang.compile(far, domain=6.0, **opts)()]
    phi = [np.asarray(r.phi) for r in runs]
    I = [np.asarray(r.I) for r in runs]
    late = slice(10, None)
    assert phi[0][-1] < -0.05  # the ohmic drop matters
    assert np.abs(phi[1][late] - phi[0][late]).max() < 2e-3
    assert np.abs(I[1][late] / I[0][late] - 1).max() < 1e-2
    assert np.abs(phi[2] - phi[0]).max() < 1e-3 * np.abs(phi[0]).max() + 1e-5


def test_reference_inside_the_depletion_region(tmp_path):
    path = write(tmp_path, PLANAR.replace("reference = 1 mm", "reference = 0.1 mm"), "near.mech")
    with pytest.raises(mechlang.errors.ModelError) as info:
        mechlang.compile(path, **COARSE)
    message = str(info.value)
    assert f"{path}:12:15: error: the reference electrode (0.1 mm from the electrode) lies inside" in message
    assert "at least 0.253 mm away" in message  # 2 sqrt(D t), t = 16 s


def test_planar_migration_needs_a_reference(tmp_path):
    path = write(tmp_path, PLANAR.replace("  reference = 1 mm\n", ""), "none.mech")
    with pytest.raises(mechlang.errors.ModelError) as info:
        mechlang.load(path)
    assert f"{path}:8:12: error: experiment 'cv' (planar) with migration needs the reference" in str(info.value)
    assert "reference = 1 mm" in str(info.value)
