"""Every example of the shared language contract simulates, every experiment of it."""

import os
from pathlib import Path

import numpy as np
import pytest

import mechlang

SHARED = Path(os.environ.get("MECHLANG_SHARED", Path(__file__).resolve().parents[2] / "shared"))
EXAMPLES = SHARED / "spec" / "examples"
FILES = sorted(p.name for p in EXAMPLES.glob("*.mech")) if EXAMPLES.is_dir() else []


@pytest.mark.skipif(not FILES, reason=f"the shared language examples are not at {EXAMPLES} (set MECHLANG_SHARED)")
@pytest.mark.parametrize("name", FILES or ["-"])
def test_spec_example_simulates(name):
    model = mechlang.load(EXAMPLES / name)
    for experiment in model.experiments:
        res = mechlang.compile(model, experiment, points=100, dE=2e-3)()
        I = np.asarray(res.I)  # noqa: E741
        assert np.all(np.isfinite(I)) and np.max(np.abs(I)) > 0
