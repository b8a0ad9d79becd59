"""Hand-written reversible cyclic voltammetry in JAX: the speed baseline for mechlang.

One-electron Nernstian reduction O + e- <=> R (E0 = 0 V) under planar semi-infinite
diffusion. D_O = D_R, so c_R = c* - c_O and only O is solved. Dimensionless form:
X = x / sqrt(D RT/(F v)), tau = t F v/(RT), C = c_O/c*, theta = F (E - E0)/(RT), so that
dC/dtau = d2C/dX2, C(0, tau) = 1/(1 + exp(-theta)), C(X_max, tau) = 1, and
I = -F A c* sqrt(D F v/(RT)) dC/dX|_0 (IUPAC: cathodic current negative).

Expanding grid h_i = h0 gamma^i reaching X_max = 6 sqrt(tau_total); implicit (backward)
Euler with jax.lax.linalg.tridiagonal_solve inside jax.lax.scan. The forward-sweep peak is
checked against Randles-Sevcik (dimensionless peak 0.446300) and Ep - E1/2 = -1.109 RT/F.

    python benchmarks/handwritten_cv.py [--repeats 7] [--json]
"""
import argparse
import functools
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

F = 96485.33212  # C/mol
R = 8.314462618  # J/(mol K)
RS_PEAK = 0.446300  # dimensionless reversible peak, pi^1/2 chi(sigma t) at its maximum
EP_SHIFT = -1.109  # (Ep - E1/2) F/(RT) for the reversible forward peak
E_START, E_VERTEX, E0 = 0.5, -0.5, 0.0  # V

N_NODES = 160  # grid nodes, electrode and bulk boundary included
N_STEPS = 8000  # potential steps for the whole cycle
GAMMA = 1.03  # grid expansion factor; h0 = X_max (gamma-1)/(gamma^159-1) = 0.0146 (0.23 um)

DEFAULTS = dict(D=1e-9, c=1.0, v=0.1, area=1e-4, T=298.15)  # m^2/s, mol/m^3, V/s, m^2, K


@functools.partial(jax.jit, static_argnames=("n_nodes", "n_steps", "gamma"))
def simulate(D, c, v, area, T, n_nodes=N_NODES, n_steps=N_STEPS, gamma=GAMMA):
    """Reversible CV from E_START to E_VERTEX and back. SI inputs; returns (E in V, I in A)."""
    f = F / (R * T)
    half = n_steps // 2
    tau_total = 2.0 * f * (E_START - E_VERTEX)
    dtau = tau_total / n_steps
    # expanding grid: h_i = h0 gamma^i, sum of n_nodes - 1 spacings = X_max
    x_max = 6.0 * jnp.sqrt(tau_total)
    h = gamma ** jnp.arange(n_nodes - 1)
    h = h * (x_max / jnp.sum(h))
    hm, hp = h[:-1], h[1:]  # spacings left and right of each interior node
    lower = -2.0 * dtau / (hm * (hm + hp))
    upper = -2.0 * dtau / (hp * (hm + hp))
    diag = 1.0 - lower - upper
    dl = lower.at[0].set(0.0)  # tridiagonal_solve wants dl[0] = du[-1] = 0
    du = upper.at[-1].set(0.0)
    # three-point one-sided derivative at the electrode
    h1, h2 = h[0], h[1]
    w0 = -(2 * h1 + h2) / (h1 * (h1 + h2))
    w1 = (h1 + h2) / (h1 * h2)
    w2 = -h1 / (h2 * (h1 + h2))

    k = jnp.arange(1, n_steps + 1)
    E = jnp.where(k <= half, E_START - (E_START - E_VERTEX) * k / half,
                  E_VERTEX + (E_START - E_VERTEX) * (k - half) / half)
    surface = jax.nn.sigmoid(f * (E - E0))  # Nernst: c_O/c_R = exp(theta)

    def step(C, c0):
        rhs = C.at[0].add(-lower[0] * c0).at[-1].add(-upper[-1])  # boundary values -> rhs
        C = jax.lax.linalg.tridiagonal_solve(dl, diag, du, rhs[:, None])[:, 0]
        return C, w0 * c0 + w1 * C[0] + w2 * C[1]

    _, flux = jax.lax.scan(step, jnp.ones(n_nodes - 2, dtype=E.dtype), surface)
    return E, -F * area * c * jnp.sqrt(D * f * v) * flux


def peak_errors(E, I, D, c, v, area, T):
    """Relative error of the cathodic peak current and error of Ep - E1/2 (V)."""
    E, I = np.asarray(E), np.asarray(I)
    fwd = np.arange(len(E) // 2)
    i = int(np.argmin(I[fwd]))
    y0, y1, y2 = I[i - 1 : i + 2]  # parabola through the three samples around the peak
    s = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    ip = y1 - 0.25 * (y0 - y2) * s
    ep = E[i] + s * (E[i + 1] - E[i])
    f = F / (R * T)
    scale = F * area * c * np.sqrt(D * f * v)
    return abs(-ip / scale - RS_PEAK) / RS_PEAK, ep - E0 - EP_SHIFT / f


def time_handwritten(repeats=7, **params):
    """Compile once, then time `repeats` CVs; returns figures as a plain dict."""
    jax.config.update("jax_enable_x64", True)
    p = {**DEFAULTS, **params}
    args = [jnp.asarray(p[k], dtype=jnp.float64) for k in ("D", "c", "v", "area", "T")]
    t0 = time.perf_counter()
    compiled = simulate.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        E, I = jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - t0)
    rs_err, ep_err = peak_errors(E, I, *(p[k] for k in ("D", "c", "v", "area", "T")))
    return dict(name="handwritten_cv", nodes=N_NODES, steps=N_STEPS, gamma=GAMMA,
                compile_s=compile_s, median_s=statistics.median(times),
                min_s=min(times), repeats=repeats, rs_rel_error=float(rs_err),
                ep_error_mV=float(ep_err) * 1e3, backend=jax.default_backend())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    r = time_handwritten(args.repeats)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    print(f"{r['nodes']} nodes x {r['steps']} steps, gamma = {r['gamma']}, float64 "
          f"on {r['backend']}")
    print(f"Randles-Sevcik peak: relative error {r['rs_rel_error']:.2e}")
    print(f"Ep - E1/2: error {r['ep_error_mV']:+.3f} mV")
    print(f"compile {r['compile_s']:.2f} s; one CV {r['median_s'] * 1e3:.1f} ms "
          f"(median of {r['repeats']}, best {r['min_s'] * 1e3:.1f} ms)")


if __name__ == "__main__":
    main()
