"""Multi-start fits spread over several devices give the same answer as on one."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import jax
import mechlang
from test_fit import E_BV, FAST, synthetic
from pathlib import Path
from mechlang.inverse.parallel import shard_batch

tmp = Path(sys.argv[2])
path, files = synthetic(tmp, E_BV, {"k0": 4e-5, "alpha": 0.42}, noise=0.005)
x, k = shard_batch(np.zeros((3, 2)))
r = mechlang.fit(path, {"slow": files["slow"]}, fit=["k0", "alpha"], starts=3, progress=False, **FAST)
print(json.dumps({"devices": jax.device_count(), "sharded_over": len(x.sharding.device_set), "k": k,
                  "values": r.values, "losses": [s["loss"] for s in r.starts]}))
"""


def run(tmp_path, devices):
    env = dict(os.environ)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    tests = str(Path(__file__).resolve().parent)
    out = subprocess.run([sys.executable, "-c", SCRIPT, tests, str(tmp_path)], capture_output=True, text=True,
                         env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_starts_are_sharded_over_two_devices_and_agree_with_one(tmp_path):
    one = run(tmp_path, 1)
    two = run(tmp_path, 2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert two["sharded_over"] == 2 and two["k"] == 3
    for key in one["values"]:
        assert np.isclose(one["values"][key], two["values"][key], rtol=1e-6)
    np.testing.assert_allclose(one["losses"], two["losses"], rtol=1e-6)
