"""Optimizers on the unit box, batched over starting points.

* ``lm``: Levenberg-Marquardt on the residual vector with forward-mode Jacobians from
  JAX, evaluated with the residuals at every trial point; every start advances in one
  batched (vmap) call per trial.
* ``lbfgs`` and ``adam``: optax, on the sum of squares, with ``jax.value_and_grad``;
  the optax update is vmapped over the starts.

Levenberg-Marquardt keeps the bounds by projecting its steps onto the box and by holding
a parameter on a bound while its descent direction points out of it; the gradient
methods work on logit(s) instead.  Each returns an :class:`Outcome` with the
points, losses, convergence flags, the loss history of every start, and how many forward
simulations (``n_sim``: forward runs of one experiment that were not part of a Jacobian
or gradient) and Jacobian or gradient evaluations of one experiment (``n_grad``, each
including its forward run) were spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from mechlang.inverse.parallel import shard_batch, to_host
from mechlang.inverse.problem import Problem


@dataclass
class Outcome:
    s: np.ndarray  # (starts, p)
    loss: np.ndarray  # (starts,)
    converged: np.ndarray  # (starts,) bool
    history: list = field(default_factory=list)  # per iteration: losses of every start
    J: np.ndarray | None = None  # (starts, points, p) unit-box Jacobian at the final points
    r: np.ndarray | None = None  # (starts, points) scaled residuals at the final points
    ok: np.ndarray | None = None  # (starts,) whether the simulations there passed their checks
    n_sim: int = 0
    n_grad: int = 0
    iterations: int = 0


def _progress(total: int, enabled: bool | None, desc: str):
    from mechlang.inverse.progress import Progress

    return Progress(total, desc, enabled)


MAX_STEP = 1.0  # the longest Levenberg-Marquardt step in any unit-box coordinate
# The smallest factor by which an accepted step lowers the damping (Nielsen's rule uses
# 1/3).  Where the quadratic model predicted the fall in the loss exactly (gain ratio
# near 1), a step held short by the damping -- as after a first step capped at MAX_STEP
# -- is lengthened tenfold at once: on a CV's (k0, alpha) this saves one or two Jacobians
# of five to seven, and changes nothing where the damping was small already.
MIN_SHRINK = 0.1


def lm(problem: Problem, starts: np.ndarray, max_iter: int = 100, tol: float = 1e-10,
       progress: bool | None = None, data: np.ndarray | None = None) -> Outcome:
    """``data``: one scaled data vector per start (default: the problem's own data)."""
    value_jac_b, _ = problem.jacobian()
    n_exp = len(problem.sims)
    y = np.broadcast_to(problem.y, (len(starts), problem.y.size)) if data is None else np.asarray(data)
    y_dev, _ = shard_batch(y)

    def value_jac(s):  # the batch spread over the devices; padding dropped
        x, k = shard_batch(s)
        return tuple(to_host(a, k) for a in value_jac_b(x, y_dev))

    s = np.array(starts, float)
    k, p = s.shape
    lo, hi = problem.box()
    r, J, ok = value_jac(s)
    with np.errstate(over="ignore"):  # a far-off start may overflow: its loss is inf
        out = Outcome(s, np.sum(r**2, axis=1), np.zeros(k, bool))
    out.n_grad += k * n_exp  # a Jacobian evaluation includes its forward run
    lam = np.full(k, 1e-3)
    nu = np.full(k, 2.0)
    active = np.ones(k, bool)
    out.history.append(out.loss.copy())
    bar = _progress(max_iter, progress, "lm")
    for it in range(max_iter):
        out.iterations = it + 1
        A = np.einsum("kni,knj->kij", J, J)
        g = np.einsum("kni,kn->ki", J, r)
        improved = np.zeros(k, bool)
        trial_s = s.copy()
        trial_loss = out.loss.copy()
        trial_r, trial_J, trial_ok = r.copy(), J.copy(), ok.copy()
        # A parameter on a bound whose descent direction points out of the box is held
        # there (the others take the Gauss-Newton step of the reduced problem): steps
        # projected onto the box would otherwise creep along it without converging.  With
        # every parameter held, the start is at a constrained minimum.
        held = ((s <= lo) & (g > 0)) | ((s >= hi) & (g < 0))
        cornered = held.all(axis=1)
        trying = active & ~cornered
        for _ in range(12):  # raise the damping until the loss falls (per start)
            if not trying.any():
                break
            D = np.einsum("kii->ki", A)
            step = np.zeros_like(s)
            for i in np.flatnonzero(trying):
                f = ~held[i]
                # Raise the damping, without simulating, until the step is no longer than
                # the box: a Gauss-Newton step out of a flat region (k0 of a nearly
                # reversible wave) would otherwise be thrown across it and rejected, at the
                # cost of a simulation each time.
                while True:
                    Af, Df, gf = A[i][np.ix_(f, f)], D[i][f], g[i][f]
                    M = Af + lam[i] * np.diag(np.maximum(Df, 1e-12 * max(Df.max(initial=0.0), 1e-30)))
                    try:
                        step[i, f] = -np.linalg.solve(M, gf)
                    except np.linalg.LinAlgError:
                        step[i, f] = -gf / (np.diag(M) + 1e-30)
                    if np.max(np.abs(step[i]), initial=0.0) <= MAX_STEP or lam[i] >= 1e12:
                        break
                    lam[i] *= 2.0
            cand = problem.clip(s + step)
            # Each trial point comes with its Jacobian: an accepted step (most are) then
            # needs no further evaluation, and a Jacobian costs about 1.7 to 3.5 forward runs.
            rc, Jc, okc = value_jac(np.where(trying[:, None], cand, s))
            out.n_grad += int(trying.sum()) * n_exp
            # A failed simulation, or one whose loss overflows to inf, is a rejected step.
            with np.errstate(over="ignore"):
                lc = np.where(okc, np.sum(rc**2, axis=1), np.inf)
            accept = trying & np.isfinite(lc) & (lc < out.loss)
            # Nielsen's damping update from the gain ratio actual / predicted reduction.
            d = cand - s
            predicted = -(2 * np.einsum("ki,ki->k", d, g) + np.einsum("ki,kij,kj->k", d, A, d))
            with np.errstate(over="ignore"):  # a vanishing predicted reduction: rho = +-inf is meant
                rho = (out.loss - lc) / np.maximum(predicted, 1e-300)
                shrink = np.maximum(MIN_SHRINK, 1 - (2 * rho - 1) ** 3)
            trial_s[accept] = cand[accept]
            trial_loss[accept] = lc[accept]
            trial_r[accept], trial_J[accept], trial_ok[accept] = rc[accept], Jc[accept], okc[accept]
            improved |= accept
            lam[accept] = np.maximum(lam[accept] * shrink[accept], 1e-12)
            nu[accept] = 2.0
            bad = trying & ~accept
            lam[bad] *= nu[bad]
            nu[bad] *= 2.0
            trying &= ~accept
            trying &= lam < 1e12
        # Convergence: no improvement possible, or a relative change below tol.
        with np.errstate(invalid="ignore"):  # inf / inf from an infinite loss: not converged
            rel = (out.loss - trial_loss) / np.maximum(out.loss, 1e-300)
        small_step = np.max(np.abs(trial_s - s), axis=1) < 1e-9
        done = active & (~improved | (rel < tol) | small_step)
        out.converged |= done & (improved | (rel < tol) | small_step | (lam >= 1e12) | cornered)
        s, r, J, ok = trial_s, trial_r, trial_J, trial_ok
        out.loss = trial_loss
        active &= ~done
        out.history.append(out.loss.copy())
        bar.update(1, loss=float(out.loss.min()))
        if not active.any():
            break
    bar.close()
    out.s = s
    out.J, out.r, out.ok = J, r, ok  # at the final points: error bars and curves cost nothing more
    # A start that stopped because no step lowered the loss at huge damping is at a
    # (local) minimum to working precision.
    out.converged |= lam >= 1e12
    return out


def first_order(problem: Problem, starts: np.ndarray, method: str, max_iter: int = 300,
                tol: float = 1e-9, learning_rate: float = 0.02, progress: bool | None = None) -> Outcome:
    """L-BFGS (optax, zoom line search) or Adam on the sum of squares, vmapped over starts."""
    import optax

    n_exp = len(problem.sims)
    # Gradient methods run unconstrained: a bounded unit-box variable is s = sigmoid(w).
    # (Projecting their steps onto the box would break L-BFGS's curvature pairs.)
    bounded = jnp.asarray([p.bounded for p in problem.parameters])

    def to_s(w):
        return jnp.where(bounded, jax.nn.sigmoid(w), w)

    def to_w(s):
        s = jnp.clip(s, 1e-6, 1 - 1e-6)
        return jnp.where(bounded, jnp.log(s) - jnp.log1p(-s), s)

    def loss(w, scale=1.0):
        r = problem.residuals(to_s(w))
        return jnp.sum(r**2) / scale

    if method == "lbfgs":
        opt = optax.lbfgs()  # zoom line search (strong Wolfe); backtracking stalled on plateaus
    else:
        opt = optax.adam(learning_rate)
    def step(w, state, scale):
        # Each start's loss is divided by its starting value, so that the first, unscaled
        # L-BFGS step (the gradient itself) has a sensible length.
        fn = lambda x: loss(x, scale)  # noqa: E731
        if method == "lbfgs":
            value, grad = optax.value_and_grad_from_state(fn)(w, state=state)
            updates, state = opt.update(grad, state, w, value=value, grad=grad, value_fn=fn)
        else:
            value, grad = jax.value_and_grad(fn)(w)
            updates, state = opt.update(grad, state, w)
        return optax.apply_updates(w, updates), state, value * scale

    batched = jax.jit(jax.vmap(step))
    x, k = shard_batch(np.asarray(starts, float))
    s = to_w(x)
    state = jax.vmap(opt.init)(s)
    scales = jnp.maximum(jax.jit(jax.vmap(loss))(s), 1e-300)
    out = Outcome(to_host(s, k), np.full(k, np.inf), np.zeros(k, bool), n_sim=k * n_exp)
    bar = _progress(max_iter, progress, method)
    prev = np.full(k, np.inf)
    quiet = np.zeros(k, int)  # consecutive iterations with a relative change below tol
    for it in range(max_iter):
        s, state, value = batched(s, state, scales)
        value = to_host(value, k)
        out.iterations = it + 1
        # Adam: one gradient per iteration.  L-BFGS: the gradient and, typically, one more
        # trial point of the line search (an estimate: the zoom search may take more).
        out.n_sim += k * n_exp * (0 if method == "adam" else 1)
        out.n_grad += k * n_exp
        out.history.append(value.copy())
        bar.update(1, loss=float(np.nanmin(value)))
        rel = np.abs(prev - value) / np.maximum(np.abs(value), 1e-300)
        prev = value
        quiet = np.where(rel < tol, quiet + 1, 0)
        if np.all(quiet >= 3):
            break
    bar.close()
    final = to_host(jax.jit(jax.vmap(loss))(s), k)
    out.s = to_host(to_s(s), k)
    value_jac_b, _ = problem.jacobian()  # the Jacobian at the final points, for the error bars
    xs, _ = shard_batch(out.s)
    ys, _ = shard_batch(np.broadcast_to(problem.y, (xs.shape[0], problem.y.size)))
    r, J, ok = (to_host(a, k) for a in value_jac_b(xs, ys))
    out.J, out.r, out.ok = J, r, ok
    out.n_grad += k * n_exp
    out.loss = final
    out.converged = quiet >= 3
    return out
