"""O(N) solution of the Newton system of one time step.

The unknowns are the concentrations of S species at N nodes (node 0 at the electrode,
node N-1 at the far, closed end of the domain) and the rates of M equilibrium (``nernst``)
steps.
Diffusion couples a node to its neighbours species by species, so the blocks between
nodes are diagonal; homogeneous steps couple species at one node (dense S x S diagonal
blocks); the electrode rows couple the surface concentrations and the M rates::

    A_i d_{i-1} + B_i d_i + C_i d_{i+1} = r_i          1 <= i <= N-1  (C_{N-1} = 0)
    B0 d_0 + C_0 d_1 + G dv = r_0,     H d_0 = g        (the electrode, S + M rows)

We eliminate from the bulk towards the electrode, d_i = P_i d_{i-1} + q_i, solve the
small (S + M) system at the electrode, then substitute outwards: two ``lax.scan`` s.
When no homogeneous step couples two species the blocks are diagonal and
:func:`solve_uncoupled` does the same by batched tridiagonal solves.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _solve_small(M, rhs):
    """Gauss-Jordan without pivoting, unrolled: M (S, S), rhs (S, K).

    The node blocks are column diagonally dominant (accumulation + diffusion + mass-action
    Jacobians whose columns sum to at most zero), and in the electrode system the species
    block comes first, so its pivots are those of such a block and the Nernst rows pivot on
    their Schur complement; pivoting is not needed.  A handful of fused elementwise
    operations beats a LAPACK call (and its transpose in reverse mode) inside a scan.
    """
    S = M.shape[0]
    aug = jnp.concatenate([M, rhs], axis=1)
    for k in range(S):
        row = aug[k] / aug[k, k]
        aug = aug - aug[:, k : k + 1] * row[None, :]
        aug = aug.at[k].set(row)
    return aug[:, S:]


def solve(A, B, C, r, B0, G, H, g):
    """Solve the bordered block-tridiagonal system above.

    Arguments:
        A, C: (N, S) the diagonal inter-node blocks (A[0] and C[N-1] unused).
        B: (N, S, S) the diagonal blocks.
        r: (N, S) right-hand side.
        B0: (S, S) the electrode block (always dense: the electrode kinetics couple species).
        G: (S, M), H: (M, S), g: (M,) the electrode border (M may be 0).

    Returns:
        (d, dv): (N, S) and (M,).
    """
    N, S = r.shape
    M = g.shape[0]

    # Bulk towards the electrode: d_i = P_i d_{i-1} + q_i, i = N-1 .. 1.
    def back(carry, xs):
        P_next, q_next = carry
        a, b, c, rr = xs
        Mi = b + c[:, None] * P_next
        sol = _solve_small(Mi, jnp.concatenate([-jnp.diag(a), (rr - c * q_next)[:, None]], 1))
        P, q = sol[:, :S], sol[:, S]
        return (P, q), (P, q)

    (P1, q1), (Ps, qs) = jax.lax.scan(
        back, (jnp.zeros((S, S)), jnp.zeros(S)), (A[1:], B[1:], C[1:], r[1:]), reverse=True
    )

    # The electrode: (B_0 + C_0 P_1) d_0 + G dv = r_0 - C_0 q_1,  H d_0 = g.
    top = jnp.concatenate([B0 + C[0][:, None] * P1, G], axis=1)
    bottom = jnp.concatenate([H, jnp.zeros((M, M))], axis=1)
    K = jnp.concatenate([top, bottom], axis=0)
    rhs = jnp.concatenate([r[0] - C[0] * q1, g])
    sol = _solve_small(K, rhs[:, None])[:, 0]
    d0, dv = sol[:S], sol[S:]

    # Outwards: d_i = P_i d_{i-1} + q_i.
    def fwd(d_prev, xs):
        P, q = xs
        d = P @ d_prev + q
        return d, d

    _, ds = jax.lax.scan(fwd, d0, (Ps, qs))
    d = jnp.concatenate([d0[None], ds], axis=0)
    return d, dv


def solve_uncoupled(A, B, C, r, B0, G, H, g):
    """The same system when the B blocks are diagonal, by boundary elimination.

    Each species' tridiagonal system is solved for two right-hand sides at once (one
    batched LAPACK call): r, and a unit source at the electrode.  The electrode couples
    the species only through node 0, so d_s = p_s - z_s q_s with z the off-diagonal
    electrode terms, found from a small (S + M) system.
    """
    N, S = r.shape
    M = g.shape[0]
    dl = A.T.at[:, 0].set(0.0)
    du = C.T.at[:, -1].set(0.0)
    diag = B.T.at[:, 0].set(jnp.diagonal(B0))
    e0 = jnp.zeros((S, N)).at[:, 0].set(1.0)
    rhs = jnp.stack([r.T, e0], axis=-1)  # (S, N, 2)
    sol = jax.lax.linalg.tridiagonal_solve(dl, diag, du, rhs)
    p, q = sol[..., 0], sol[..., 1]  # (S, N)
    off = B0 - jnp.diag(jnp.diagonal(B0))
    top = jnp.concatenate([jnp.eye(S) + q[:, :1] * off, q[:, :1] * G], axis=1)
    bottom = jnp.concatenate([H, jnp.zeros((M, M))], axis=1)
    K = jnp.concatenate([top, bottom], axis=0)
    x = _solve_small(K, jnp.concatenate([p[:, 0], g])[:, None])[:, 0]
    d0, dv = x[:S], x[S:]
    z = off @ d0 + G @ dv
    return (p - z[:, None] * q).T, dv
