"""Every mechanism of the library checks, simulates, and behaves as its scheme says."""

from pathlib import Path

import numpy as np
import pytest

import mechlang
from helpers import write

LIBRARY = Path(__file__).resolve().parents[1] / "mechanisms"
FILES = sorted(p.name for p in LIBRARY.glob("*.mech"))


@pytest.mark.parametrize("name", FILES)
def test_library_mechanism_simulates(name):
    model = mechlang.load(LIBRARY / name)
    assert model.experiments, name
    sim = mechlang.compile(model, model.experiments[0], points=100, dE=2e-3)
    res = sim()
    I = np.asarray(res.I)  # noqa: E741
    assert np.all(np.isfinite(I)) and np.min(I) < 0  # a reduction wave is seen


def test_use_finds_the_library_and_overrides(tmp_path):
    path = write(tmp_path, """
use "ec.mech"
param kc = 50 s^-1
""")
    model = mechlang.load(path)
    assert model.parameters["kc"] == pytest.approx(50.0)
    assert "cv" in model.experiments
