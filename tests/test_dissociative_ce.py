"""The dissociative CE example (examples/dissociative_ce.mech): the steady-state current
at a hemisphere lies between its two limits and approaches the labile one as the
dissociation gets faster; acid and hydrogen are conserved in a closed cell."""

from pathlib import Path

import numpy as np
import pytest

import mechlang
from helpers import F, write

MECH = Path(__file__).resolve().parents[1] / "examples" / "dissociative_ce.mech"
OPTIONS = {"points": 100, "first_cell": 1e-7, "ca_steps": 300, "newton": 10}
KA = 1.75e-2  # mol/m^3 (1.75e-5 M)


def limits(d, r):
    c, Ka = d["c_acid"], d["Ka"]
    cH = (np.sqrt(Ka**2 + 4 * Ka * c) - Ka) / 2
    I_H = 2 * np.pi * F * r * d["Hp.D"] * cH
    return I_H, I_H + 2 * np.pi * F * r * d["HA.D"] * (c - cH)


def test_steady_state_between_the_limits_and_labile_as_kd_grows():
    sim = mechlang.compile(MECH, "r5", **OPTIONS)
    r, long = 5e-6, 40.0
    I_H, I_labile = limits(dict(sim.defaults, Ka=KA), r)
    fractions = []
    for kd in (1.0, 1e2, 1e4, 1.75e5, 1e7):
        res = sim({"Ka": KA, "kd": kd, "duration": long}).check()
        t, I = np.asarray(res.t), -np.asarray(res.I)
        keep = t >= long / 2  # I = I_ss + b / sqrt(t) at late times
        I_ss = np.linalg.lstsq(np.stack([np.ones(keep.sum()), t[keep] ** -0.5], 1), I[keep], rcond=None)[0][0]
        assert I_H < I_ss < I_labile
        fractions.append((I_ss - I_H) / (I_labile - I_H))
    assert np.all(np.diff(fractions) > 0.02), fractions
    assert fractions[0] < 0.05 and fractions[-1] > 0.97, fractions


def test_acid_and_hydrogen_conserved_in_a_closed_cell(tmp_path):
    text = MECH.read_text(encoding="utf-8") + """
experiment closed {
  technique = ca, E_initial = 0.3 V, E_step = -0.6 V, duration = 2 s
  geometry = thin_layer(L = 20 um)
}
"""
    sim = mechlang.compile(write(tmp_path, text), "closed", **OPTIONS)
    res = sim({"Ka": KA, "kd": 1.75e5}).check()
    x, c = np.asarray(res.x), np.asarray(res.c_final)
    i = {s: k for k, s in enumerate(sim.species)}
    c_acid = sim.defaults["c_acid"]

    def total(profile):
        return np.trapezoid(profile, x) / (x[-1] - x[0])

    assert total(c[:, i["HA"]] + c[:, i["Am"]]) == pytest.approx(c_acid, rel=1e-9)
    assert total(c[:, i["HA"]] + c[:, i["Hp"]] + c[:, i["Hh"]]) == pytest.approx(c_acid, rel=1e-9)
    # Far into the run the layer is exhausted: nearly all the acid reduced, the charge
    # F A L c_acid (1 cm^2), and the current has nearly stopped.
    t, I = np.asarray(res.t), np.asarray(res.I)
    charge = -np.sum(I * np.diff(np.concatenate([[0.0], t])))
    assert total(c[:, i["Hh"]]) > 0.99 * c_acid
    assert charge == pytest.approx(F * 1e-4 * 20e-6 * c_acid * total(c[:, i["Hh"]]) / c_acid, rel=2e-2)
