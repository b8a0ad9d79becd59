"""Migration (Nernst-Planck with electroneutrality): the reduction of a cation O+ to a
neutral R, with a supporting electrolyte K+ Cl- whose concentration is the parameter cs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mechlang
from helpers import F, write

COARSE = dict(points=60, dE=4e-3)

SPECIES = """
species O: D = 1e-5 cm^2/s, c = 1 mM, z = +1
species R: D = 1e-5 cm^2/s, z = 0
"""
SUPPORT = """
param cs = 100 mM
species K: D = 1e-5 cm^2/s, c = cs, z = +1
species Cl: D = 1e-5 cm^2/s, c = cs + 1 mM, z = -1
transport diffusion, migration
"""
STEP = """
E1: O + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
"""
CV = """
experiment cv {
  technique = cv
  E_start = 0.4 V, E_vertex = -0.4 V, scan_rate = 0.1 V/s
  area = 1 cm^2, reference = 1 mm
}
"""
CA = """
experiment ca {
  technique = ca
  E_initial = 0.4 V, E_step = -0.6 V, duration = 1 s
  area = 1 cm^2, reference = 1 mm
}
"""


def no_reference(experiment):
    """The experiment without migration, which takes no reference electrode."""
    return experiment.replace(", reference = 1 mm", "")


def peak(E, I):
    """Cathodic peak (current, potential), the potential by a parabola through three samples."""
    k = int(np.argmin(I))
    y0, y1, y2 = I[k - 1 : k + 2]
    s = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return y1 - 0.25 * (y0 - y2) * s, E[k] + s * (E[k + 1] - E[k]), k


@pytest.fixture(scope="module")
def cv_sims(tmp_path_factory):
    d = tmp_path_factory.mktemp("mig")
    mig = mechlang.compile(write(d, SPECIES + SUPPORT + STEP + CV, "mig.mech"), **COARSE)
    diff = mechlang.compile(write(d, SPECIES + STEP + no_reference(CV), "diff.mech"), **COARSE)
    return mig, diff


def test_strong_support_is_diffusion(cv_sims):
    mig, diff = cv_sims
    res = mig({"cs": 100.0})  # 100 mM: 100 times the electroactive ion
    Ip, Ep, k = peak(np.asarray(res.E), np.asarray(res.I))
    Ip0, Ep0, _ = peak(np.asarray(diff().E), np.asarray(diff().I))
    phi = np.asarray(res.phi)
    assert Ip == pytest.approx(Ip0, rel=1e-2)
    assert abs(phi).max() < 5e-3  # the solution's potential drop is a few mV
    # the peak moves by the potential drop in solution (to the residual migration of O+)
    assert Ep - phi[k] == pytest.approx(Ep0, abs=1.5e-3)
    assert abs(Ep - Ep0) < 5e-3


def test_electroneutral_and_charge_balanced(cv_sims):
    mig, _ = cv_sims
    res = mig({"cs": 1.0})  # weakly supported: the largest fields
    c = np.asarray(res.c_final)
    z = np.array([1, 0, 1, -1])
    assert mig.species == ("O", "R", "K", "Cl")
    assert np.abs(c @ z).max() < 1e-9 * c.max()
    # R is neutral and made only at the electrode: its amount on the grid is the charge
    # passed (to the accuracy of the quadrature of the current)
    x = np.asarray(res.x)
    mid = 0.5 * (x[1:] + x[:-1])
    vol = np.diff(np.concatenate([x[:1], mid, x[-1:]]))
    t, I = np.asarray(res.t), np.asarray(res.I)
    charge = np.sum(I * np.diff(np.concatenate([[0.0], t])))
    assert -charge == pytest.approx(F * 1e-4 * (vol @ c[:, 1]), rel=3e-3)


def test_peak_moves_as_support_falls(cv_sims):
    mig, _ = cv_sims
    peaks, drops = [], []
    for cs in (100.0, 10.0, 1.0):
        res = mig({"cs": cs})
        Ip, Ep, k = peak(np.asarray(res.E), np.asarray(res.I))
        peaks.append((Ip, Ep))
        drops.append(float(np.asarray(res.phi)[k]))
    Ips, Eps = zip(*peaks)
    assert Eps[0] > Eps[1] > Eps[2]  # the ohmic drop in solution moves the peak cathodic
    assert drops[0] > drops[1] > drops[2] and drops[2] < -0.05
    assert abs(Ips[0]) > abs(Ips[1]) > abs(Ips[2])  # and broadens it


def test_unsupported_limiting_current_doubles(tmp_path):
    """Without support, O+ X- with equal D: electroneutrality c_O = c_X makes both diffuse
    as one salt, and the inert X- (no flux at the electrode) sets the field so that O+
    arrives at twice its diffusive flux: the limiting current is 2x Cottrell.  (The reference
    0.1 mm away, 3 diffusion lengths at the end: 1 mm of 1 mM salt would take most of the
    0.6 V step as ohmic drop for the whole second.)"""
    opts = dict(points=50, ca_steps=60, newton=20)
    text = SPECIES + "species Cl: D = 1e-5 cm^2/s, c = 1 mM, z = -1\ntransport diffusion, migration\n" + STEP \
        + CA.replace("reference = 1 mm", "reference = 0.1 mm")
    I = np.asarray(mechlang.compile(write(tmp_path, text, "a.mech"), **opts)().I)
    # diffusion alone is linear: one Newton iteration solves each step exactly
    I0 = np.asarray(mechlang.compile(write(tmp_path, SPECIES + STEP + no_reference(CA), "b.mech"),
                                     **dict(opts, newton=None))().I)
    ratio = I[-10:] / I0[-10:]
    # after the first, ohmically limited instants the ratio settles down onto 2
    assert np.all(np.diff(ratio) < 0) and ratio[-1] == pytest.approx(2.0, rel=1.5e-2)


def test_gradient_in_support_concentration(cv_sims):
    mig, _ = cv_sims

    def Ip(cs):
        return jnp.min(mig({"cs": cs}).I)

    cs, h = 1.0, 1e-4
    grad = float(jax.jvp(Ip, (jnp.asarray(cs),), (jnp.asarray(1.0),))[1])  # forward mode: compiles faster
    fd = (float(Ip(cs + h)) - float(Ip(cs - h))) / (2 * h)
    assert grad != 0.0
    assert grad == pytest.approx(fd, rel=1e-4)


RDE = """
species O: D = 1e-5 cm^2/s, c = 1 mM{zO}
species R: D = 1e-5 cm^2/s{zR}
{extra}
transport diffusion, convection{mig}
O + e- <=> R ; butler_volmer(0 V, 1 cm/s, 0.5)
experiment lsv {{
  technique = lsv
  E_start = 0.3 V, E_end = -0.9 V, scan_rate = 10 mV/s
  geometry = rotating_disk(omega = 1600 rpm, nu = 1e-2 cm^2/s)
  area = 1 cm^2{ref}
}}
"""


def test_rotating_disk_with_migration(tmp_path):
    """Convection with migration: with 100-fold support the limiting current is that of
    convective diffusion; a binary electrolyte O+ X- (equal D) reduced to a neutral R gives
    twice it (the salt diffuses with D, and the anion's zero flux doubles the cation's:
    i_lim / (1 - t+) with t+ = 1/2)."""
    def compiled(name, **parts):
        text = RDE.format(**{"zO": "", "zR": "", "extra": "", "mig": "", "ref": "", **parts})
        return mechlang.compile(write(tmp_path, text, f"{name}.mech"), points=60, dE=4e-3)

    # the reference at the edge of the domain (4 Levich layers, 50 um): the 1 mM binary salt's
    # ohmic drop out to 1 mm would be volts at these currents
    charged = dict(zO=", z = +1", zR=", z = 0", mig=", migration", ref=", reference = 50 um")
    plain = float(np.asarray(compiled("plain")().I)[-1])
    # one simulator for both charged cases: the support K+ X- at cs = 100 mM, or none (cs = 0)
    mig = compiled("charged", extra="param cs = 100 mM\nspecies K: D = 1e-5 cm^2/s, c = cs, z = +1\n"
                                    "species X: D = 1e-5 cm^2/s, c = 1 mM + cs, z = -1", **charged)
    supported = float(np.asarray(mig().I)[-1])
    binary = float(np.asarray(mig({"cs": 0.0}).I)[-1])
    assert supported / plain == pytest.approx(1.0, abs=5e-3)
    assert binary / plain == pytest.approx(2.0, rel=3e-3)
