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


# Two processes, as on a two-host cluster: each calls jax.distributed.initialize and then
# the same mechlang.fit.  Before fitting, each checks that the multi-process CPU backend
# works at all (a raw cross-process all-gather) and reports if it does not.
MULTI = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
port, pid, mech, data = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
import numpy as np
import jax
try:
    jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=pid,
                               initialization_timeout=60)
    from jax.experimental import multihost_utils
    seen = multihost_utils.process_allgather(np.array([pid]), tiled=True)
    assert sorted(seen.tolist()) == [0, 1], seen
except Exception as e:  # the backend, not mechlang
    print(json.dumps({"unavailable": f"{type(e).__name__}: {e}"}))
    sys.exit(0)
import mechlang
from mechlang.inverse.parallel import shard_batch
x, k = shard_batch(np.zeros((2, 2)))
r = mechlang.fit(mech, {"slow": data}, fit=["k0", "alpha"], starts=2, progress=False, points=40, dE=5e-3)
print(json.dumps({"processes": jax.process_count(), "devices": jax.device_count(),
                  "sharded_over": len(x.sharding.device_set), "local": x.is_fully_addressable,
                  "values": r.values, "stderr": r.stderr, "losses": [s["loss"] for s in r.starts]}))
"""


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_with_jax_distributed_run_the_same_fit(tmp_path):
    """jax.distributed on CPU: the starts are sharded over the devices of two processes,
    both recover the kinetics of a synthetic CV and return the very same fit."""
    import pytest
    from test_fit import E_BV, synthetic

    truth = {"k0": 4e-5, "alpha": 0.42}
    path, files = synthetic(tmp_path, E_BV, truth, noise=0.005, options=dict(points=40, dE=5e-3))
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"
    tests = str(Path(__file__).resolve().parent)
    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, "-c", MULTI, tests, port, str(i), str(path), files["slow"]],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for i in range(2)]
    outs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=240)
            assert p.returncode == 0, stderr[-3000:]
            outs.append(json.loads(stdout.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    missing = [o["unavailable"] for o in outs if "unavailable" in o]
    if missing:
        pytest.skip(f"multi-process CPU backend (jax.distributed with gloo collectives) unavailable: {missing[0]}")
    a, b = outs
    assert a["processes"] == 2 and a["devices"] == 2
    assert a["sharded_over"] == 2 and not a["local"]  # the batch spans both processes
    assert a == b  # the same numbers in both processes
    for key, v in truth.items():
        assert abs(a["values"][key] - v) < 4 * a["stderr"][key] + 1e-12, (key, a["values"][key], a["stderr"][key])
