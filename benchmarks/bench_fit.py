"""Gradient-based fits against gradient-free optimizers on the same least-squares problems.

Two problems, each from synthetic data with 1 % Gaussian noise and a known truth:

- ``k0_alpha``: k0 and alpha of a one-electron Butler-Volmer CV at one scan rate;
- ``global5``: E0, k0, alpha, a shared diffusion coefficient D and the rate kc of a
  following chemical step (an EC scheme with Butler-Volmer electron transfer), fitted
  globally to CVs at three scan rates.

Every method starts from the same point (the file's values, set off the truth: k0 x30,
alpha 0.6, ...) and minimises the same sum of squared, scaled residuals
(``Problem.residuals``) on the same unit box, with the same solver options.  Ours are
``mechlang.fit(method="lm")`` and ``method="lbfgs"``; the others are Nelder-Mead (SciPy,
adaptive coefficients), CMA-ES (the ``cma`` package) and a global-best particle swarm
(written here), each run until its loss first reaches the loss Levenberg-Marquardt
converged to, or until its budget of evaluations is spent.  "Reaches" means statistically
the same: within ``TARGET_CHI2`` = 0.01 residual variances of it (a change of 0.01 in
chi-squared, which moves a parameter by a tenth of its standard error), i.e. a relative
1e-2 / (n - p) of the loss for n points and p parameters; ``--target REL`` sets a
relative tolerance instead (older runs used 1e-3, which lets a fit stop about one
standard error from the optimum).  (Bayesian
optimisation is not included: no library for it is installed, and its Gaussian-process
overhead would dominate on problems this cheap.)

Counts: one evaluation of the residuals costs one simulation per experiment.  A Jacobian
(forward mode, as LM uses it) or a gradient (reverse mode, as L-BFGS uses it) is converted
into simulation equivalents by its measured cost relative to one forward evaluation of the
same residuals, in this run: "simulation equivalents" = simulations + gradients x ratio.
mechlang counts a residual-and-Jacobian call as a gradient only (the ratio includes its
forward pass; LM evaluates residuals and Jacobian together at every trial point, so it runs
no separate simulations); "net" = the same figure (kept as a column for comparison with
older runs).
The error bars reuse the optimizer's last Jacobian, so they cost nothing extra.
L-BFGS counts are mechlang's own estimate (one loss evaluation and one gradient per
iteration).  Our methods are reported run to convergence and stopped at the first
iteration that reaches the target (``max_iter``), the figure to compare.

Wall time, cold: everything from a fresh start, compilation included (``mechlang.fit`` end
to end, error bars and fitted curves included; for the gradient-free methods the
compilation of the loss plus their loop).  Warm: the same again with XLA's compilation
cache warm (a second ``mechlang.fit`` in the same process, which reuses the compiled
functions mechlang keeps per model, options and data, and computes error bars and the
report; the loop alone for the gradient-free methods).  Optimizer alone: the
iterations only, with every function already compiled (for LM, ``optimize.lm`` run a
second time with its compiled functions kept; not measured for L-BFGS).  Timings are
wall-clock on a shared machine and noisy; counts are exact.

A second table counts simulation equivalents only (no timings) from several starting
points (``--starts N``, default 8: the file's start and N - 1 drawn uniformly inside the
bounds, the same for every method), for the problems in ``--starts-problems`` (default
``k0_alpha``; ``global5`` takes several minutes per start for the gradient-free methods).

    python benchmarks/bench_fit.py [--quick] [--json PATH] [--starts N]
"""
import argparse
import json
import shutil
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
from mechlang.inverse.problem import Problem  # noqa: E402
from mechlang.numerics.options import Options  # noqa: E402

jax.config.update("jax_enable_x64", True)

SOLVER = dict(points=100, dE=2e-3)  # solver options of every fit, for every method
NOISE = 0.01  # Gaussian noise, as a fraction of each experiment's largest |I|
TARGET_CHI2 = 0.01  # a run succeeds when its loss <= LM's loss + TARGET_CHI2 * residual variance
BUDGET = dict(nelder_mead=3000, cma_es=2000, pso=3000)  # evaluations of the residuals
QUICK_BUDGET = dict(nelder_mead=600, cma_es=400, pso=600)

E_BV = """
species O: D = 1e-5 cm^2/s, c = 1 mM
species R: D = 1e-5 cm^2/s
param E0 = 0 V
param k0 = {k0} cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = {alpha} in [0.2, 0.8]
E1: O + e- <=> R ; butler_volmer(E0, k0, alpha)
experiment cv {{
  technique = cv
  E_start = 0.45 V, E_vertex = -0.45 V, scan_rate = 100 mV/s
  area = 0.07 cm^2
}}
"""

EC_BV = """
param D = {D} cm^2/s in [1e-6 cm^2/s, 1e-4 cm^2/s] log
species A: D = D, c = 1 mM
species B, C: D = D
param E0 = {E0} V in [-0.2 V, 0.2 V]
param k0 = {k0} cm/s in [1e-6 cm/s, 1 cm/s] log
param alpha = {alpha} in [0.2, 0.8]
param kc = {kc} s^-1 in [1e-3 s^-1, 1e3 s^-1] log
E1: A + e- <=> B ; butler_volmer(E0, k0, alpha)
C1: B -> C ; k = kc
experiment slow {{ technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 50 mV/s, area = 0.07 cm^2 }}
experiment mid {{ technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 500 mV/s, area = 0.07 cm^2 }}
experiment fast {{ technique = cv, E_start = 0.5 V, E_vertex = -0.5 V, scan_rate = 5 V/s, area = 0.07 cm^2 }}
"""

# Values in the file's units (cm/s, cm^2/s, V, s^-1): the truth that made the data, and
# the start that every method is given.
PROBLEMS = {
    "k0_alpha": dict(
        text=E_BV, fit=["k0", "alpha"],
        truth=dict(k0=1e-3, alpha=0.42),
        start=dict(k0=3e-2, alpha=0.6),
        title="(k0, alpha), BV one-electron CV, 1 scan rate",
    ),
    "global5": dict(
        text=EC_BV, fit=["E0", "k0", "alpha", "D", "kc"],
        truth=dict(E0=0.02, k0=2e-3, alpha=0.42, D=8e-6, kc=2.0),
        start=dict(E0=0.0, k0=6e-2, alpha=0.6, D=1.5e-5, kc=0.2),
        title="global (E0, k0, alpha, D, kc), EC with BV, 3 scan rates",
    ),
}


class Reached(Exception):
    """Raised by the counting objective when the target loss is reached."""


class Objective:
    """The jitted sum of squares on the unit box, counting evaluations and recording when
    the target is first reached; non-finite losses become a large number."""

    def __init__(self, loss, n_exp, target, budget):
        self.loss, self.n_exp, self.target, self.budget = loss, n_exp, target, budget
        self.evals, self.best, self.best_s = 0, np.inf, None
        self.reached_at, self.t0 = None, time.perf_counter()

    def __call__(self, s):
        s = np.clip(np.asarray(s, float), 0.0, 1.0)
        value = float(self.loss(jnp.asarray(s)))
        self.evals += 1
        if not np.isfinite(value):
            value = 1e30
        if value < self.best:
            self.best, self.best_s = value, s
        if value <= self.target and self.reached_at is None:
            self.reached_at = self.evals
            raise Reached
        if self.evals >= self.budget:
            raise Reached
        return value


def nelder_mead(obj, s0):
    from scipy.optimize import minimize

    try:
        minimize(obj, s0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(s0),
                 options=dict(maxfev=10 * obj.budget, maxiter=10 * obj.budget, xatol=0.0, fatol=0.0,
                              adaptive=True))
    except Reached:
        pass


def cma_es(obj, s0, seed=1):
    import cma

    def strategy(mean, seed):
        return cma.CMAEvolutionStrategy(list(mean), 0.2, dict(bounds=[0.0, 1.0], seed=seed, verbose=-9,
                                                              tolfun=0.0, tolfunhist=0.0, tolx=0.0))

    es = strategy(s0, seed)
    try:
        while True:
            xs = es.ask()
            es.tell(xs, [obj(x) for x in xs])  # one simulation at a time, stopping at the target
            if es.stop():  # stalled before the target: restart around the best point so far
                seed += 1
                es = strategy(obj.best_s, seed)
    except Reached:
        pass


def particle_swarm(obj, s0, n=20, seed=1, w=0.7298, c1=1.49618, c2=1.49618):
    """Global-best PSO (Clerc-Kennedy constriction); the first particle starts at s0, the
    others uniformly in the box."""
    rng = np.random.default_rng(seed)
    p = len(s0)
    x = rng.uniform(0.0, 1.0, (n, p))
    x[0] = s0
    v = rng.uniform(-0.1, 0.1, (n, p))
    pbest, pval = x.copy(), np.full(n, np.inf)
    try:
        while True:
            for i in range(n):
                f = obj(x[i])
                if f < pval[i]:
                    pbest[i], pval[i] = x[i].copy(), f
            g = pbest[np.argmin(pval)]
            r1, r2 = rng.uniform(size=(n, p)), rng.uniform(size=(n, p))
            v = np.clip(w * v + c1 * r1 * (pbest - x) + c2 * r2 * (g - x), -0.2, 0.2)
            x = np.clip(x + v, 0.0, 1.0)
    except Reached:
        pass


GRADIENT_FREE = {"nelder_mead": nelder_mead, "cma_es": cma_es, "pso": particle_swarm}
LABELS = {"lm": "mechlang LM, converged", "lbfgs": "mechlang L-BFGS, converged",
          "lm_target": "mechlang LM, to target", "lbfgs_target": "mechlang L-BFGS, to target",
          "nelder_mead": "Nelder-Mead", "cma_es": "CMA-ES", "pso": "particle swarm"}


def best_time(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def jacobian(problem):
    """Residuals and their forward-mode Jacobian, batched over starts, exactly as LM
    evaluates them (the problem's own compiled functions); and the residuals alone."""
    return problem.jacobian()


def make_data(path, seed=0):
    """Simulate every experiment at the truth (mechlang's default, finer, solver options)
    and add Gaussian noise."""
    model = mechlang.load(path)
    rng = np.random.default_rng(seed)
    data = {}
    for exp in model.experiments:
        res = mechlang.compile(model, exp)({})
        current = np.asarray(res.I)
        noisy = current + NOISE * np.max(np.abs(current)) * rng.standard_normal(current.shape)
        data[exp] = {"E": np.asarray(res.E), "I": noisy}
    return data


def lm_loop_time(problem, s0, max_iter):
    """Wall time of mechlang's Levenberg-Marquardt iterations alone (no compilation, no
    error bars), as the gradient-free loops are timed: ``optimize.lm`` run twice on one
    problem, which keeps its compiled residual and Jacobian functions."""
    from mechlang.inverse import optimize

    optimize.lm(problem, s0[None], max_iter=max_iter)
    t0 = time.perf_counter()
    optimize.lm(problem, s0[None], max_iter=max_iter)
    return time.perf_counter() - t0


def our_row(key, method, result, ratio, cold, warm, loop, target, iterations):
    return dict(
        problem=key, method=method, simulations=result.n_simulations, gradients=result.n_gradients,
        sim_equivalents=result.n_simulations + result.n_gradients * ratio,
        sim_equivalents_net=result.n_simulations + result.n_gradients * ratio,
        wall_cold_s=cold, wall_warm_s=warm, loop_s=loop, loss=result.loss, reached=bool(result.loss <= target),
        values=result.values, stderr=result.stderr, iterations=iterations)


def run_problem(key, spec, budget, workdir, target_rel=None):
    truth_file = workdir / f"{key}_truth.mech"
    start_file = workdir / f"{key}_start.mech"
    truth_file.write_text(spec["text"].format(**spec["truth"]))
    start_file.write_text(spec["text"].format(**spec["start"]))
    data = make_data(truth_file)
    n_exp = len(data)
    rows, info = [], {}

    def our_fit(method, **kw):
        return mechlang.fit(start_file, data, fit=spec["fit"], method=method, progress=False, **SOLVER, **kw)

    # Ours: cold (compilation included), then warm (XLA compilation cache warm).
    ours = {method: (our_fit(method), our_fit(method)) for method in ("lm", "lbfgs")}
    n_points = sum(np.asarray(d["I"]).size for d in data.values())
    variance = ours["lm"][0].loss / (n_points - len(spec["fit"]))
    target = ours["lm"][0].loss + (TARGET_CHI2 * variance if target_rel is None
                                   else target_rel * ours["lm"][0].loss)

    # The loss the gradient-free methods minimise, and the cost of a Jacobian or gradient.
    problem = Problem(mechlang.load(start_file), data, spec["fit"], options=Options().with_(**SOLVER))
    s0 = problem.start()
    loss = jax.jit(lambda s: jnp.sum(problem.residuals(s) ** 2))
    t0 = time.perf_counter()
    jax.block_until_ready(loss(jnp.asarray(s0)))
    first_call = time.perf_counter() - t0
    t_loss = best_time(lambda: jax.block_until_ready(loss(jnp.asarray(s0))))
    compile_loss = max(first_call - t_loss, 0.0)
    value_jac, value = jacobian(problem)
    sb, yb = jnp.asarray(s0)[None], jnp.asarray(problem.y)[None]
    t_value = best_time(lambda: jax.block_until_ready(value(sb, yb)))
    t_jac = best_time(lambda: jax.block_until_ready(value_jac(sb, yb)))
    grad = jax.jit(jax.value_and_grad(lambda s: jnp.sum(problem.residuals(s) ** 2)))
    t_grad = best_time(lambda: jax.block_until_ready(grad(jnp.asarray(s0))))
    ratio = {"lm": t_jac / t_value, "lbfgs": t_grad / t_loss}
    info.update(forward_s=t_loss, jacobian_s=t_jac, gradient_s=t_grad, jacobian_ratio=ratio["lm"],
                gradient_ratio=ratio["lbfgs"], loss_compile_s=compile_loss, target_loss=target,
                n_experiments=n_exp, n_points=problem.n_points, truth=spec["truth"], start=spec["start"])

    for method, (cold, warm) in ours.items():
        iterations = len(cold.history) - 1
        loop = lm_loop_time(problem, s0, 100) if method == "lm" else float("nan")
        rows.append(our_row(key, method, cold, ratio[method], cold.wall_time, warm.wall_time, loop, target,
                            iterations))
        # The same method stopped at the first iteration whose loss is within the target.
        hits = [i for i, h in enumerate(cold.history) if h <= target]
        if not hits or hits[0] >= iterations:
            continue
        for m in range(max(hits[0], 1), iterations + 1):
            short = our_fit(method, max_iter=m)
            if short.loss <= target:
                break
        loop = lm_loop_time(problem, s0, m) if method == "lm" else float("nan")
        rows.append(our_row(key, method + "_target", short, ratio[method], float("nan"), short.wall_time, loop,
                            target, m))

    for method, run in GRADIENT_FREE.items():
        obj = Objective(loss, n_exp, target, budget[method])
        run(obj, s0)
        elapsed = time.perf_counter() - obj.t0
        values = {p.name: float(p.from_unit(obj.best_s[i])) for i, p in enumerate(problem.parameters)}
        rows.append(dict(
            problem=key, method=method, simulations=obj.evals * n_exp, gradients=0,
            sim_equivalents=float(obj.evals * n_exp), sim_equivalents_net=float(obj.evals * n_exp),
            wall_cold_s=elapsed + compile_loss, wall_warm_s=elapsed, loop_s=elapsed,
            loss=obj.best, reached=obj.reached_at is not None, values=values, budget=budget[method] * n_exp))
    return rows, info


def several_starts(key, spec, n, budget, workdir, jac_ratio):
    """Counts only (no timings): LM stopped at the target and the gradient-free methods,
    from the file's start and n - 1 points drawn uniformly inside the bounds (seed 3), the
    same for every method.  The target is LM's loss from the file's start, as above."""
    from mechlang.inverse import optimize

    truth_file = workdir / f"{key}_truth.mech"
    start_file = workdir / f"{key}_start.mech"
    truth_file.write_text(spec["text"].format(**spec["truth"]))
    start_file.write_text(spec["text"].format(**spec["start"]))
    data = make_data(truth_file)
    problem = Problem(mechlang.load(start_file), data, spec["fit"], options=Options().with_(**SOLVER))
    n_exp = len(problem.sims)
    starts = problem.random_starts(n, seed=3)
    best = optimize.lm(problem, starts[:1]).loss[0]
    target = best + TARGET_CHI2 * best / (problem.n_points - len(spec["fit"]))
    loss = jax.jit(lambda s: jnp.sum(problem.residuals(s) ** 2))
    rows = []
    for s0 in starts:
        full = optimize.lm(problem, s0[None])
        hits = [i for i, h in enumerate(full.history) if h[0] <= target]
        short = optimize.lm(problem, s0[None], max_iter=max(hits[0], 1)) if hits else full
        row = dict(start=s0.tolist(), lm=short.n_sim + short.n_grad * jac_ratio, lm_reached=bool(hits))
        for method, run in GRADIENT_FREE.items():
            if method == "pso":
                continue
            obj = Objective(loss, n_exp, target, budget[method])
            run(obj, s0)
            row[method], row[method + "_reached"] = float(obj.evals * n_exp), obj.reached_at is not None
        rows.append(row)
    return rows


def starts_table(key, rows):
    mean = {m: float(np.mean([r[m] for r in rows])) for m in ("lm", "nelder_mead", "cma_es")}
    out = [f"{key}, {len(rows)} starts (the file's, then uniform in the bounds): simulation equivalents "
           "to the target, per start and mean",
           "", "| start (unit box) | LM | Nelder-Mead | CMA-ES | NM / LM | CMA-ES / LM |",
           "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        flag = lambda m: "" if r[m + "_reached"] else " (not reached)"  # noqa: E731
        out.append(f"| {', '.join(f'{v:.2f}' for v in r['start'])} | {r['lm']:.0f}{flag('lm')} "
                   f"| {r['nelder_mead']:.0f}{flag('nelder_mead')} | {r['cma_es']:.0f}{flag('cma_es')} "
                   f"| {r['nelder_mead'] / r['lm']:.1f} | {r['cma_es'] / r['lm']:.1f} |")
    out.append(f"| mean | {mean['lm']:.1f} | {mean['nelder_mead']:.1f} | {mean['cma_es']:.1f} "
               f"| {mean['nelder_mead'] / mean['lm']:.1f} | {mean['cma_es'] / mean['lm']:.1f} |")
    return "\n".join(out)


def _s(x):
    return "-" if np.isnan(x) else f"{x:.1f}"


def table(rows, infos):
    out = ["| problem | method | simulations | simulation equivalents | net of double counting "
           "| wall time cold s | wall time warm s | optimizer alone s | final loss | reached target? |",
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        reached = "yes" if r["reached"] else (f"no (budget {r['budget']})" if "budget" in r else "no")
        sims = f"{r['simulations']}" + (f" + {r['gradients']} grad" if r["gradients"] else "")
        out.append(f"| {r['problem']} | {LABELS[r['method']]} | {sims} | {r['sim_equivalents']:.0f} "
                   f"| {r['sim_equivalents_net']:.0f} | {_s(r['wall_cold_s'])} | {_s(r['wall_warm_s'])} "
                   f"| {_s(r['loop_s'])} | {r['loss']:.6g} | {reached} |")
    out.append("")
    out.append("| problem | points | forward (all experiments) | Jacobian / forward | gradient / forward "
               "| target loss |")
    out.append("| --- | --- | --- | --- | --- | --- |")
    for key, i in infos.items():
        out.append(f"| {key} | {i['n_points']} | {i['forward_s'] * 1e3:.1f} ms | {i['jacobian_ratio']:.2f} | "
                   f"{i['gradient_ratio']:.2f} | {i['target_loss']:.6g} |")
    out.append("")
    out.append("Ratios, gradient-free / LM stopped at the target (cold: / LM converged):")
    out.append("")
    out.append("| problem | method | simulation equivalents | net | optimizer alone | wall time warm "
               "| wall time cold |")
    out.append("| --- | --- | --- | --- | --- | --- | --- |")
    for key in infos:
        mine = {r["method"]: r for r in rows if r["problem"] == key}
        lm = mine.get("lm_target", mine["lm"])  # converged if it was within the target at once
        for r in rows:
            if r["problem"] == key and r["method"] in GRADIENT_FREE:
                at_least = "" if r["reached"] else " (not reached: at least)"
                out.append(f"| {key} | {LABELS[r['method']]} | {r['sim_equivalents'] / lm['sim_equivalents']:.1f}"
                           f"{at_least} | {r['sim_equivalents_net'] / lm['sim_equivalents_net']:.1f} "
                           f"| {r['loop_s'] / lm['loop_s']:.1f} | {r['wall_warm_s'] / lm['wall_warm_s']:.1f} "
                           f"| {r['wall_cold_s'] / mine['lm']['wall_cold_s']:.1f} |")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller budgets for the gradient-free methods")
    ap.add_argument("--json", metavar="PATH", help="also write every figure to PATH as JSON")
    ap.add_argument("--problems", nargs="*", choices=list(PROBLEMS), default=list(PROBLEMS))
    ap.add_argument("--target", type=float, metavar="REL",
                    help="relative loss tolerance instead of 0.01 residual variances")
    ap.add_argument("--starts", type=int, default=8, metavar="N",
                    help="also count simulations from N starting points (0: skip)")
    ap.add_argument("--starts-problems", nargs="*", choices=list(PROBLEMS), default=["k0_alpha"],
                    help="the problems run from several starts (default: k0_alpha; global5 takes minutes)")
    args = ap.parse_args(argv)
    budget = QUICK_BUDGET if args.quick else BUDGET
    workdir = Path(tempfile.mkdtemp(prefix="mechlang-bench-fit-"))
    # A private compilation cache: the second (warm) run of each fit finds its XLA code there.
    jax.config.update("jax_compilation_cache_dir", str(workdir / "xla"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    rows, infos = [], {}
    try:
        for key in args.problems:
            print(f"# {key}: {PROBLEMS[key]['title']}", file=sys.stderr, flush=True)
            r, info = run_problem(key, PROBLEMS[key], budget, workdir, args.target)
            rows += r
            infos[key] = info
        many = {}
        if args.starts > 0:
            for key in args.starts_problems:
                print(f"# {key}: {args.starts} starts", file=sys.stderr, flush=True)
                ratio = infos[key]["jacobian_ratio"] if key in infos else 2.0
                many[key] = several_starts(key, PROBLEMS[key], args.starts, budget, workdir, ratio)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Solver options for every method: points={SOLVER['points']}, dE={SOLVER['dE']} V; noise {NOISE:.0%}; "
          + ("target: LM's loss + 0.01 residual variances" if args.target is None
             else f"target: LM's loss x (1 + {args.target:g})") + "; budgets (evaluations): "
          + ", ".join(f"{LABELS[k]} {v}" for k, v in budget.items()))
    for key in args.problems:
        print(f"- {key}: {PROBLEMS[key]['title']}; start {PROBLEMS[key]['start']}, truth {PROBLEMS[key]['truth']} "
              "(file units)")
    print()
    print(table(rows, infos))
    for key, r in many.items():
        print()
        print(starts_table(key, r))
    if args.json:
        Path(args.json).write_text(json.dumps(dict(solver=SOLVER, noise=NOISE, target=args.target or f"{TARGET_CHI2} chi2", budget=budget,
                                                   problems=infos, rows=rows, starts=many), indent=1, default=float))


if __name__ == "__main__":
    main()
