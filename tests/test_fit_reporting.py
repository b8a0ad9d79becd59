"""What a fit reports besides its values: rows of the data left out, parameters the data
do not determine, the spread of a multi-start fit, warnings that must (not) appear, and
the search space of quantities that must stay positive."""

import json

import numpy as np
import pytest

import mechlang
from helpers import write
from mechlang.inverse.fit import _result
from mechlang.inverse.optimize import Outcome
from mechlang.inverse.problem import DEFAULT_DECADES, Problem

FAST = dict(points=80, dE=2e-3)

# C is made by an irreversible step and never reaches back: its concentration changes nothing.
EC = """
species A: D = 1e-5 cm^2/s, c = 1 mM
species B: D = 1e-5 cm^2/s
species C: D = 1e-5 cm^2/s, c = 0.5 mM
param E0 = 0 V
param kc = 1 s^-1 in [1e-3 s^-1, 1e3 s^-1] log
E1: A + e- <=> B ; nernst(E0)
C1: B -> C ; k = kc
experiment slow {
  technique = cv
  E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 50 mV/s
}
"""

E_BV = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 10 mV in [-0.1 V, 0.1 V]
param k0 = 1e-3 cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = 0.5 in [0.2, 0.8]
E1: O + e- <=> R ; butler_volmer(E0, k0, alpha)
experiment slow {
  technique = cv
  E_start = 0.45 V, E_vertex = -0.45 V, scan_rate = 50 mV/s
  area = 0.07 cm^2
}
"""


@pytest.fixture(scope="module")
def ec(tmp_path_factory):
    """The EC model, and noisy data at kc = 5 /s as arrays (SI)."""
    tmp = tmp_path_factory.mktemp("ec")
    path = write(tmp, EC, "ec.mech")
    res = mechlang.compile(path, **FAST)({"kc": 5.0})
    E, I = np.asarray(res.E), np.asarray(res.I)  # noqa: E741
    I = I + 0.01 * np.max(np.abs(I)) * np.random.default_rng(0).standard_normal(I.size)  # noqa: E741
    return path, E, I


def test_rows_past_the_end_of_a_sweep_are_reported_by_fit_and_compare(ec, tmp_path):
    """A recording that runs 4 points past the end of the programme: fit leaves them out
    and says so, in data_notes, among the warnings and in the JSON report."""
    path, E, I = ec  # noqa: E741
    h = E[-1] - E[-2]
    over = E[-1] + h * np.arange(1, 5)  # the last leg goes up: on past E_end
    f = tmp_path / "slow_overrun.csv"
    np.savetxt(f, np.column_stack([np.concatenate([E, over]), np.concatenate([I, np.full(4, I[-1])])]),
               delimiter=",", header="E,I", comments="")
    first = E.size + 2  # line numbers: the header is line 1
    r = mechlang.fit(path, {"slow": str(f)}, fit=["kc"], progress=False, **FAST)
    assert r.n_points == E.size
    assert len(r.data_notes) == 1
    note = r.data_notes[0]
    assert str(f) in note and "experiment 'slow'" in note
    assert f"4 of {E.size + 4} rows left out" in note
    assert f"rows {first}-{first + 3} past the end of the programme at 0.3 V" in note
    assert note in [w.message for w in r.warnings]
    report = json.loads(json.dumps(r.report(), default=float))
    assert report["data_notes"] == [note]
    comparison = mechlang.compare([path], {"slow": str(f)}, fit=["kc"], progress=False, **FAST)
    assert comparison.report()["data_notes"] == [note]
    clean = mechlang.fit(path, {"slow": {"E": E, "I": I}}, fit=["kc"], progress=False, **FAST)
    assert clean.data_notes == [] and clean.report()["data_notes"] == []
    assert clean.values["kc"] == pytest.approx(r.values["kc"], rel=1e-9)


def test_a_parameter_the_data_do_not_determine_has_an_infinite_standard_error(ec):
    path, E, I = ec  # noqa: E741
    r = mechlang.fit(path, {"slow": {"E": E, "I": I}}, fit=["kc", "C.c"], progress=False, **FAST)
    assert r.stderr["C.c"] == np.inf
    assert np.isnan(r.correlation["C.c"]["kc"]) and np.isnan(r.correlation["kc"]["C.c"])
    # kc is still determined, with the error bar of a fit of kc alone.
    assert np.isfinite(r.stderr["kc"]) and 0 < r.stderr["kc"] < 0.1 * r.values["kc"]
    assert abs(r.values["kc"] - 5.0) < 4 * r.stderr["kc"]
    assert r.correlation["kc"]["kc"] == pytest.approx(1.0)
    text = [w.message for w in r.warnings]
    assert any("near singular" in t and "C.c" in t for t in text)
    assert any("do not determine C.c at all" in t for t in text)
    assert json.loads(json.dumps(r.report()))["parameters"]["C.c"]["stderr"] == float("inf")


def test_the_spread_covers_every_converged_start(ec):
    path, E, I = ec  # noqa: E741
    r = mechlang.fit(path, {"slow": {"E": E, "I": I}}, fit=["kc"], starts=3, progress=False, **FAST)
    assert len(r.starts) == 3
    converged = [s["values"]["kc"] for s in r.starts if s["converged"]]
    assert r.n_converged_starts == len(converged) >= 1
    assert r.spread["kc"]["min"] == min(converged) and r.spread["kc"]["max"] == max(converged)
    assert r.spread["kc"]["min"] <= r.values["kc"] <= r.spread["kc"]["max"] or not r.converged
    assert r.spread["kc"]["std"] == pytest.approx(np.std(converged))
    assert 1 <= r.n_starts_at_best <= 3
    report = r.report()
    assert report["spread"] == r.spread and report["n_converged_starts"] == r.n_converged_starts


def test_the_spread_includes_converged_starts_far_from_the_best(ec):
    """The definition, on a made-up batch of four starts: two at the best loss, one
    converged into another minimum (10 times the loss), one that did not converge.  The
    spread runs over the three converged; two came within 1 % of the best."""
    path, E, I = ec  # noqa: E741
    problem = Problem(mechlang.load(path), {"slow": {"E": E, "I": I}}, ["kc"])
    par = problem.parameters[0]
    kc = np.array([5.0, 5.01, 300.0, 0.01])
    s = np.array([[par.to_unit(k)] for k in kc])
    n = problem.n_points
    rng = np.random.default_rng(1)
    J = rng.standard_normal((4, n, 1))
    r = 0.01 * rng.standard_normal((4, n))
    loss = np.array([1.0, 1.005, 10.0, 50.0])
    out = Outcome(s=s, loss=loss, converged=np.array([True, True, True, False]), history=[loss],
                  J=J, r=r, ok=np.ones(4, bool))
    res = _result(problem, out, [0, 1, 2, 3], "lm", 0.0)
    assert res.values["kc"] == pytest.approx(5.0)
    assert res.spread["kc"]["min"] == pytest.approx(5.0) and res.spread["kc"]["max"] == pytest.approx(300.0)
    assert res.spread["kc"]["std"] == pytest.approx(np.std([5.0, 5.01, 300.0]))
    assert res.n_converged_starts == 3 and res.n_starts_at_best == 2


POSITIVE = """
param DA = 1e-5 cm^2/s
param kc = 1 s^-1 in [1e-3 s^-1, 1e3 s^-1] log
species A: D = DA, c = 1 mM
species B, C: D = 1e-5 cm^2/s
E1: A + e- <=> B ; butler_volmer(0 V, 0.01 cm/s, 0.5)
C1: B <=> C ; kf = 2 s^-1, kb = kc
experiment slow { technique = cv, E_start = 0.3 V, E_vertex = -0.3 V, scan_rate = 50 mV/s, Ru = 10 ohm }
"""


def test_positive_quantities_get_a_log_search_space_of_their_own(tmp_path):
    model = mechlang.load(write(tmp_path, POSITIVE, "positive.mech"))
    E = np.linspace(0.3, -0.3, 61)
    data = {"slow": {"E": np.concatenate([E, E[::-1][1:]]), "I": np.ones(121) * 1e-6}}
    problem = Problem(model, data, ["DA", "B.D", "A.c", "E1.k0", "C1.kf", "Ru", "kc", "E1.E0", "E1.alpha"])
    by = {p.name: p for p in problem.parameters}
    # D (through a param), D, c, a standard rate constant, a chemical one, a resistance:
    # positive, and given no search space.
    for name in ("DA", "B.D", "A.c", "E1.k0", "C1.kf", "Ru"):
        p = by[name]
        assert p.log and p.default_bounds, name
        assert p.lo == pytest.approx(p.value * 10**-DEFAULT_DECADES)
        assert p.hi == pytest.approx(p.value * 10**DEFAULT_DECADES)
        assert all(p.from_unit(s) > 0 for s in (-5.0, 0.0, 0.5, 1.0, 5.0))
    assert by["kc"].lo == pytest.approx(1e-3) and not by["kc"].default_bounds  # the file's bounds kept
    for name in ("E1.E0", "E1.alpha"):  # a potential, a transfer coefficient: linear as before
        assert by[name].lo is None and not by[name].log and not by[name].default_bounds
    # The caller's choice wins: linear (log=False) or given bounds.
    mine = Problem(model, data, ["B.D", "A.c"], bounds={"A.c": (0.1, 2.0)}, log={"B.D": False})
    bd, ac = mine.parameters
    assert bd.lo is None and not bd.log and not bd.default_bounds
    assert (ac.lo, ac.hi, ac.log, ac.default_bounds) == (0.1, 2.0, False, False)


LSV = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
E1: O + e- <=> R ; butler_volmer(0 V, 1e-6 cm/s, 0.5)
experiment slow { technique = lsv, E_start = 0.2 V, E_end = -0.6 V, scan_rate = 50 mV/s }
"""


def test_a_fit_cannot_make_a_diffusion_coefficient_negative(tmp_path):
    """R.D of an irreversible reduction hardly matters: searched linearly in units of its
    start, noise took it through zero (to 3e-18 m^2/s, 'converged', here; negative
    elsewhere).  On its default log scale every start stays within a factor 1000 of the
    file's value, and one that ends on that bound says so."""
    path = write(tmp_path, LSV, "lsv.mech")
    res = mechlang.compile(path, **FAST)()
    I = np.asarray(res.I)  # noqa: E741
    I = I + 0.05 * np.max(np.abs(I)) * np.random.default_rng(4).standard_normal(I.size)  # noqa: E741
    r = mechlang.fit(path, {"slow": {"E": np.asarray(res.E), "I": I}}, fit=["R.D"], starts=4, seed=4,
                     progress=False, **FAST)
    D0 = 1e-9
    for value in [r.values["R.D"]] + [s["values"]["R.D"] for s in r.starts]:
        assert D0 * 1e-3 * (1 - 1e-9) <= value <= D0 * 1e3 * (1 + 1e-9)
    if min(abs(np.log10(r.values["R.D"] / D0 * np.array([1e3, 1e-3])))) < 1e-6:
        assert any("R.D ended at a bound of its default search space" in w.message for w in r.warnings)


def test_a_potential_fitted_at_zero_is_not_reported_as_undetermined(tmp_path):
    """Noise-free data at E0 = 0 V, fitted from E0 = 10 mV: E0 ends at ~1e-17 V with an
    error bar of the same size, which is a well-determined potential, not a singular
    information matrix."""
    path = write(tmp_path, E_BV, "bv.mech")
    res = mechlang.compile(path, **FAST)({"E0": 0.0, "k0": 4e-5, "alpha": 0.42})
    r = mechlang.fit(path, {"slow": {"E": np.asarray(res.E), "I": np.asarray(res.I)}},
                     fit=["E0", "k0", "alpha"], progress=False, **FAST)
    assert r.converged
    assert abs(r.values["E0"]) < 1e-9 and abs(r.values["E0"]) < 0.01  # fitted to (near) zero
    assert r.values["k0"] == pytest.approx(4e-5, rel=1e-6) and r.values["alpha"] == pytest.approx(0.42, rel=1e-6)
    assert all(np.isfinite(v) for v in r.stderr.values())
    assert not any("near singular" in w.message or "do not determine" in w.message for w in r.warnings), \
        [w.message for w in r.warnings]


def test_an_empty_list_of_names_is_a_clear_error(ec):
    path, E, I = ec
    with pytest.raises(mechlang.errors.ModelError, match="nothing to fit"):
        mechlang.fit(path, {"slow": {"E": E, "I": I}}, fit=[], progress=False, **FAST)
