"""D is checked with the file's values when the file is loaded (tests/bad/d_*.mech hold the
errors): positive and finite at the bulk, not negative where its species is used up.  A D
that stays positive, or reaches zero only where its species is used up, loads."""

import pytest

import mechlang
from mechlang.errors import ModelError

TEXT = """
param D0 = 1e-5 cm^2/s
param c1 = C1
species O: D = DEXPR, c = 1 mM
species R: D = 1e-5 cm^2/s
O + e- <=> R ; nernst(0 V)
experiment step {
  technique = ca, E_initial = 0.3 V, E_step = -0.3 V, duration = 1 s
}
"""


def load(d, c1="1 mM"):
    return mechlang.load_string(TEXT.replace("DEXPR", d).replace("C1", c1))


@pytest.mark.parametrize("d", ["D0 * (2 - [O]/c1)", "D0 * [O]/c1", "D0 * exp(-[O]/c1)", "D0"])
def test_a_sound_d_loads(d):
    load(d)


@pytest.mark.parametrize("c1, ok", [("1.001 mM", True), ("1 mM", False), ("0.999 mM", False)])
def test_the_bulk_is_where_d_must_be_positive(c1, ok):
    """D0 (1 - [O]/c1) at the bulk 1 mM: positive just above c1 = 1 mM, zero at it, negative below."""
    if ok:
        load("D0 * (1 - [O]/c1)", c1)
        return
    with pytest.raises(ModelError) as e:
        load("D0 * (1 - [O]/c1)", c1)
    (d,) = e.value.diagnostics
    assert d.span.line == 4 and "D of species 'O'" in d.message and "at the bulk concentration ([O] = 1 mM)" in d.message
