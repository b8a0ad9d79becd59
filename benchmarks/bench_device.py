"""The simulator on whatever device JAX picks (a GPU when one is present): it compiles,
agrees with the CPU, differentiates, and batches.

For E (Butler-Volmer) and EC CVs at mechlang's default options: forward and reverse-mode
gradient times on the default device and on the CPU in the same run, the largest
difference between the two currents (relative to the peak), and the time per simulation
of a vmapped batch of 1, 16 and 256 parameter sets (k0 varied), where an accelerator should
pay off.  Nothing is asserted.

    python benchmarks/bench_device.py [--json PATH]
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent)]  # this checkout of mechlang
import mechlang  # noqa: E402

MECH = {
    "E_BV": """species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param k0 = 1e-3 cm/s
E1: O + e- <=> R ; butler_volmer(0 V, k0, 0.5)
""",
    "EC": """species O: D = 1e-5 cm^2/s, c = 1 mM
species R, P: D = 1e-5 cm^2/s
param k0 = 1e-3 cm/s
param kc = 1 s^-1
E1: O + e- <=> R ; butler_volmer(0 V, k0, 0.5)
C1: R -> P ; k = kc
""",
}
BATCHES = (1, 16, 256)
CV = """experiment cv {
  technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 100 mV/s, area = 1 cm^2
}
"""


def median_time(fn, repeats=3):
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(sim, device):
    with jax.default_device(device):
        k0 = jnp.asarray(1e-5)
        forward = jax.jit(lambda k: sim({"k0": k}).I)
        loss = jax.jit(jax.grad(lambda k: jnp.sum(sim({"k0": k}).I ** 2)))
        out = dict(forward_ms=median_time(lambda: forward(k0)) * 1e3,
                   gradient_ms=median_time(lambda: loss(k0)) * 1e3, I=np.asarray(forward(k0)))
        batch = jax.jit(jax.vmap(lambda k: sim({"k0": k}).I))
        per = {}
        for n in BATCHES:
            ks = jnp.logspace(-7, -3, n)  # m/s
            per[n] = median_time(lambda: batch(ks), repeats=2) / n * 1e3
        out["batch_ms_per_simulation"] = per
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    args = ap.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    default, cpu = jax.devices()[0], jax.devices("cpu")[0]
    print(f"default device: {default.device_kind} ({default.platform}); CPU for comparison")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in MECH.items():
            path = Path(tmp) / f"{name}.mech"
            path.write_text(text + CV)
            sim = mechlang.compile(path)
            on_default = measure(sim, default)
            print(f"{name} on {default.platform}: {json.dumps({k: v for k, v in on_default.items() if k != 'I'})}",
                  flush=True)
            on_cpu = measure(sim, cpu)
            print(f"{name} on cpu: {json.dumps({k: v for k, v in on_cpu.items() if k != 'I'})}", flush=True)
            diff = float(np.max(np.abs(on_default.pop("I") - on_cpu["I"])) / np.max(np.abs(on_cpu.pop("I"))))
            rows[name] = dict(device=on_default, cpu=on_cpu, max_relative_difference=diff)
    print("| mechanism | where | forward ms | gradient ms | batch of " + " / ".join(map(str, BATCHES))
          + ", ms per simulation |")
    print("| --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        for where in ("device", "cpu"):
            m = r[where]
            b = " / ".join(f"{m['batch_ms_per_simulation'][n]:.2f}" for n in BATCHES)
            label = default.platform if where == "device" else "cpu"
            print(f"| {name} | {label} | {m['forward_ms']:.1f} | {m['gradient_ms']:.1f} | {b} |")
        print(f"| {name} | max relative difference of the currents | {r['max_relative_difference']:.1e} | | |")
    if args.json:
        Path(args.json).write_text(json.dumps(dict(device=default.device_kind, rows=rows), indent=1))


if __name__ == "__main__":
    main()
