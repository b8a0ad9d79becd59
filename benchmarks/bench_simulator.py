"""Speed and accuracy of compiled mechlang simulators against the hand-written baseline.

Measures in one run on one machine: the hand-written reversible CV (handwritten_cv.py),
the same CV compiled from a .mech file at mechlang's default options, reverse-mode
gradients with respect to every input at once (E reversible, E Butler-Volmer, EC),
parse-to-first-result time in fresh processes (E, EC, ECE), and the scaling of run
time with grid points and time steps (E and EC).  Timings are medians after a warm-up
run; nothing is asserted.

    python benchmarks/bench_simulator.py [--quick] [--json PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # handwritten_cv, and this checkout of mechlang
from handwritten_cv import DEFAULTS, F, R, RS_PEAK, time_handwritten  # noqa: E402

import mechlang  # noqa: E402

CV_E = """experiment cv {
  technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 100 mV/s, area = 1 cm^2
}
"""
MECH = {
    "E_rev": """mechanism E_rev
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
E1: O + e- <=> R ; nernst(0 V)
""" + CV_E,
    "E_bv": """mechanism E_bv
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
E1: O + e- <=> R ; butler_volmer(0 V, 1e-3 cm/s, 0.5)
""" + CV_E,
    "EC": """mechanism EC
species A: D = 1e-5 cm^2/s, c = 1 mM
species B, C: D = 1e-5 cm^2/s
param kc = 10 s^-1
E1: A + e- <=> B ; nernst(0 V)
C1: B -> C ; k = kc
""" + CV_E,
    "ECE": """mechanism ECE
species O1: D = 1e-5 cm^2/s, c = 1 mM
species R1, O2, R2: D = 1e-5 cm^2/s
param kc = 10 s^-1
E1: O1 + e- <=> R1 ; butler_volmer(-0.3 V, 1e-2 cm/s, 0.5)
C1: R1 <=> O2 ; kf = kc, K = 1e3
E2: O2 + e- <=> R2 ; nernst(0.1 V)
experiment cv {
  technique = cv, E_start = 0.4 V, E_vertex = -0.7 V, scan_rate = 100 mV/s, area = 1 cm^2
}
""",
}

# Run in a fresh interpreter: compile + first result, no JAX caches carried over.
CHILD = """
import json, sys, time
import jax
jax.config.update("jax_enable_compilation_cache", False)
import mechlang
t0 = time.perf_counter()
sim = mechlang.compile(sys.argv[1])
t1 = time.perf_counter()
jax.block_until_ready(sim().I)
t2 = time.perf_counter()
print(json.dumps(dict(compile_s=t1 - t0, first_run_s=t2 - t1, total_s=t2 - t0)))
"""


def median_time(fn, repeats):
    """Median and best wall time of ``fn()`` over ``repeats`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def rs_error(res):
    """Relative error of the forward (cathodic) peak against Randles-Sevcik."""
    E, I = np.asarray(res.E), np.asarray(res.I)
    fwd = np.arange(int(np.argmin(E)) + 1)
    i = int(np.argmin(I[fwd]))
    y0, y1, y2 = I[i - 1:i + 2]  # parabola through the three samples around the peak
    ip = y1 - 0.125 * (y0 - y2) ** 2 / (y0 - 2 * y1 + y2)
    p = DEFAULTS
    scale = F * p["area"] * p["c"] * np.sqrt(F * p["v"] * p["D"] / (R * p["T"]))
    return float(abs(-ip / scale - RS_PEAK) / RS_PEAK)


def forward(sim, repeats):
    """Median time of ``sim()`` (defaults), and the result."""
    res = sim()
    med, best = median_time(lambda: jax.block_until_ready(sim().I), repeats)
    return dict(median_s=med, min_s=best, steps=int(res.I.shape[0])), res


def gradient(sim, repeats):
    """Jitted reverse-mode gradient of sum((I - I_ref)^2) with respect to every input."""
    params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in sim.defaults.items()}
    ref = 0.95 * sim(params).I

    def loss(p):
        return jnp.sum((sim(p).I - ref) ** 2)

    grad = jax.jit(jax.grad(loss))
    t0 = time.perf_counter()
    g = jax.block_until_ready(grad(params))
    first = time.perf_counter() - t0
    med, best = median_time(lambda: jax.block_until_ready(grad(params)), repeats)
    finite = all(bool(jnp.isfinite(v)) for v in g.values())
    return dict(median_s=med, min_s=best, first_call_s=first, n_params=len(params),
                all_finite=finite)


def fresh_process(path):
    env = {**os.environ, "JAX_ENABLE_COMPILATION_CACHE": "false",
           "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                         text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 timed repeats instead of 7")
    ap.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    args = ap.parse_args(argv)
    reps = 3 if args.quick else 7
    jax.config.update("jax_enable_x64", True)
    out = dict(backend=jax.default_backend(), devices=str(jax.devices()), jax=jax.__version__,
               cpu_count=os.cpu_count(), repeats=reps)
    tmp = Path(tempfile.mkdtemp(prefix="mechbench"))
    paths = {}
    for name, text in MECH.items():
        paths[name] = tmp / f"{name}.mech"
        paths[name].write_text(text)

    # 1-2. hand-written baseline and compiled reversible CV at default options
    hw = time_handwritten(repeats=reps)
    sim = mechlang.compile(paths["E_rev"])
    fw, res = forward(sim, reps)
    fw["rs_rel_error"] = rs_error(res)
    fw["points"], fw["dE"] = sim.options.points, sim.options.dE
    out["handwritten"], out["compiled_E_rev"] = hw, fw
    out["ratio_compiled_over_handwritten"] = fw["median_s"] / hw["median_s"]

    # 3. gradients with respect to all inputs
    out["gradients"] = {}
    for name in ("E_rev", "E_bv", "EC"):
        s = sim if name == "E_rev" else mechlang.compile(paths[name])
        f_name = fw if name == "E_rev" else forward(s, reps)[0]
        g = gradient(s, reps)
        g["forward_median_s"] = f_name["median_s"]
        g["ratio_grad_over_forward"] = g["median_s"] / f_name["median_s"]
        out["gradients"][name] = g

    # 4. parse to first result, each in a fresh process
    out["first_result"] = {name: fresh_process(paths[name]) for name in ("E_rev", "EC", "ECE")}

    # 5. scaling with grid points and time steps
    sweeps = {"E_rev": ([80, 160, 320, 640], [4e-3, 2e-3, 1e-3, 5e-4, 2.5e-4]),
              "EC": ([80, 160, 320], [2e-3, 1e-3, 5e-4])}
    out["scaling"] = {}
    for name, (points, steps) in sweeps.items():
        rows = []
        for key, values in (("points", points), ("dE", steps)):
            for v in values:
                s = mechlang.compile(paths[name], **{key: v})
                r, res = forward(s, reps)
                row = dict(points=s.options.points, dE=s.options.dE, **r)
                if name == "E_rev":
                    row["rs_rel_error"] = rs_error(res)
                rows.append(row)
        out["scaling"][name] = rows

    report(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


def report(o):
    ms = 1e3
    hw, fw = o["handwritten"], o["compiled_E_rev"]
    print(f"mechlang benchmark: JAX {o['jax']} on {o['backend']} ({o['cpu_count']} CPUs), "
          f"float64, median of {o['repeats']} after warm-up\n")
    print("Reversible CV, 1 mM, D = 1e-5 cm^2/s, 100 mV/s, +0.5 -> -0.5 -> +0.5 V")
    print(f"{'':24}{'nodes':>7}{'steps':>7}{'time ms':>10}{'best ms':>10}{'RS rel err':>12}")
    print(f"{'hand-written':24}{hw['nodes']:>7}{hw['steps']:>7}{hw['median_s'] * ms:>10.1f}"
          f"{hw['min_s'] * ms:>10.1f}{hw['rs_rel_error']:>12.2e}")
    print(f"{'mechlang (defaults)':24}{fw['points']:>7}{fw['steps']:>7}{fw['median_s'] * ms:>10.1f}"
          f"{fw['min_s'] * ms:>10.1f}{fw['rs_rel_error']:>12.2e}")
    print(f"ratio compiled / hand-written: {o['ratio_compiled_over_handwritten']:.2f} (target <= 1.5)\n")

    print("Reverse-mode gradient of sum((I - I_ref)^2) w.r.t. all inputs, jitted")
    print(f"{'mechanism':12}{'inputs':>7}{'forward ms':>12}{'grad ms':>10}{'ratio':>8}"
          f"{'1st call s':>12}{'finite':>8}")
    for name, g in o["gradients"].items():
        print(f"{name:12}{g['n_params']:>7}{g['forward_median_s'] * ms:>12.1f}"
              f"{g['median_s'] * ms:>10.1f}{g['ratio_grad_over_forward']:>8.2f}"
              f"{g['first_call_s']:>12.2f}{str(g['all_finite']):>8}")
    print("(target ratio <= 4)\n")

    print("Parse to first result, fresh process (compile + first sim(), s)")
    print(f"{'mechanism':12}{'compile':>10}{'first run':>11}{'total':>9}")
    for name, c in o["first_result"].items():
        print(f"{name:12}{c['compile_s']:>10.2f}{c['first_run_s']:>11.2f}{c['total_s']:>9.2f}")
    print()

    for name, rows in o["scaling"].items():
        print(f"Scaling, {name} CV")
        err = "rs_rel_error" in rows[0]
        print(f"{'points':>7}{'dE mV':>8}{'steps':>7}{'time ms':>10}{'us/step':>9}"
              + (f"{'RS rel err':>12}" if err else ""))
        for r in rows:
            print(f"{r['points']:>7}{r['dE'] * 1e3:>8.2f}{r['steps']:>7}{r['median_s'] * ms:>10.1f}"
                  f"{r['median_s'] / r['steps'] * 1e6:>9.2f}"
                  + (f"{r['rs_rel_error']:>12.2e}" if err else ""))
        print()


if __name__ == "__main__":
    main()
