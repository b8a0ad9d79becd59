"""O(N) solution of the Newton system of one time step.

The unknowns are the concentrations of S species at N nodes (node 0 at the electrode,
node N-1 at the far, closed end of the domain) and the rates of M equilibrium (``nernst``)
steps (galvanostatic: and the electrode potential).
Diffusion couples a node to its neighbours species by species, so the blocks between
nodes are diagonal; homogeneous steps couple species at one node (dense S x S diagonal
blocks); the electrode rows couple the surface concentrations and the M rates::

    A_i d_{i-1} + B_i d_i + C_i d_{i+1} = r_i          1 <= i <= N-1  (C_{N-1} = 0)
    B0 d_0 + C_0 d_1 + G dv = r_0,     H d_0 + Z dv = g  (the electrode, S + M rows)

We eliminate from the bulk towards the electrode, d_i = P_i d_{i-1} + q_i, solve the
small (S + M) system at the electrode, then substitute outwards: two ``lax.scan`` s.
When no homogeneous step couples two species the blocks are diagonal and the same is
done by batched tridiagonal solves.  With migration the flux at a face depends on the
solution potential at both nodes (one more unknown per node), so A_i and C_i are full:
the same recursion with the products by diag(a), diag(c) written as matrix products.

Each solve is split into ``factor`` (everything that depends on the matrix only) and
``apply`` (linear in the right-hand side).  Newton uses both once per iteration; the
derivative of a converged time step (``transient``) applies the factors of the matrix at
the solution to as many right-hand sides as there are tangents, and reverse mode
transposes ``apply`` -- which JAX can do only because the right-hand side never meets the
matrix in a non-linear operation.  A tangent right-hand side known before the step's
solve (forward mode only) can ride in Newton's own LAPACK call (``extra``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap


def _inverse_small(M):
    """Inverse of a small matrix by Gauss-Jordan without pivoting, unrolled.

    The node blocks are column diagonally dominant (accumulation + diffusion + mass-action
    Jacobians whose columns sum to at most zero), and in the electrode system the species
    block comes first, so its pivots are those of such a block and the Nernst rows pivot on
    their Schur complement; pivoting is not needed.  A handful of fused elementwise
    operations beats a LAPACK call inside a scan.
    """
    S = M.shape[-1]
    aug = jnp.concatenate([M, jnp.broadcast_to(jnp.eye(S), M.shape)], axis=-1)
    for k in range(S):
        row = aug[..., k, :] / aug[..., k, k : k + 1]
        aug = aug - aug[..., :, k : k + 1] * row[..., None, :]
        aug = aug.at[..., k, :].set(row)
    return aug[..., S:]


def _solve_with(dl, diag, du, rhs, more):
    """Tridiagonal solves for the columns of ``rhs`` and of ``more`` in one LAPACK call."""
    k = rhs.shape[-1]
    sol = jax.lax.linalg.tridiagonal_solve(dl, diag, du, jnp.concatenate([rhs, more], -1))
    return sol[..., :k], sol[..., k:]


@custom_vmap
def _solve_with_tangents(dl, diag, du, rhs, more):
    return _solve_with(dl, diag, du, rhs, more)


@_solve_with_tangents.def_vmap
def _solve_with_tangents_vmap(axis_size, in_batched, dl, diag, du, rhs, more):
    """Batched over tangents alone (a forward-mode Jacobian: only ``more`` carries the
    batch), the tangents become columns of the same call and the primal's solution stays
    unbatched, as JAX's ``jvp`` needs it; any other batch goes through as usual."""
    *primal, tangents = in_batched
    if tangents and not any(primal):
        m = more.shape[-1]
        cols = jnp.moveaxis(more, 0, -2)
        p, t = _solve_with(dl, diag, du, rhs, cols.reshape(cols.shape[:-2] + (axis_size * m,)))
        return (p, jnp.moveaxis(t.reshape(t.shape[:-1] + (axis_size, m)), -2, 0)), (False, True)
    args = [a if b else jnp.broadcast_to(a, (axis_size, *a.shape))
            for a, b in zip((dl, diag, du, rhs, more), in_batched)]
    return jax.vmap(_solve_with)(*args), (True, True)


def factor(A, B, C, B0, G, H, dense=True, r=None, corner=None, extra=None):
    """The matrix-only part of a solve of the bordered block-tridiagonal system above.

    With ``r`` (N, S) given, also returns the tridiagonal part of ``apply`` for it, from
    the same LAPACK call (not dense only): ``(factors, p)``, for ``apply(..., p=p)``.
    With ``extra`` (N, S) as well (a tangent's right-hand side: forward mode only, since
    its solution shares a call with the primal's), ``(factors, p, p_extra)``.

    Arguments:
        A, C: (N, S) the diagonal inter-node blocks (A[0] and C[N-1] unused), or (N, S, S)
            full ones (dense only).
        B: (N, S, S) the diagonal blocks (dense) or (N, S) their diagonals (not dense).
        B0: (S, S) the electrode block (always dense: the electrode kinetics couple species).
        G: (S, M), H: (M, S): the electrode border (M may be 0).
        corner: (M, M), the border unknowns' own block Z (default zero; a galvanostatic
            step's potential enters its own conditions).
    """
    S = A.shape[1]
    M = H.shape[0]
    corner = jnp.zeros((M, M)) if corner is None else corner
    if dense:
        # Bulk towards the electrode: d_i = P_i d_{i-1} + q_i with
        # P_i = -W_i A_i, W_i = (B_i + C_i P_{i+1})^-1, q_i = W_i (r_i - C_i q_{i+1}).
        full = A.ndim == 3

        def back(P_next, xs):
            a, b, c = xs
            W = _inverse_small(b + (c @ P_next if full else c[:, None] * P_next))
            P = -W @ a if full else -W * a[None, :]
            return P, (P, W)

        P1, (Ps, Ws) = jax.lax.scan(back, jnp.zeros((S, S)), (A[1:], B[1:], C[1:]), reverse=True)
        top = jnp.concatenate([B0 + (C[0] @ P1 if full else C[0][:, None] * P1), G], axis=1)
        bottom = jnp.concatenate([H, corner], axis=1)
        K_inv = _inverse_small(jnp.concatenate([top, bottom], axis=0))
        f = dict(C0=C[0], Ps=Ps, Ws=Ws, C=C[1:], K_inv=K_inv)
        return f if r is None else (f, None)
    # Diagonal blocks: each species' tridiagonal system, and its response q to a unit
    # source at the electrode; the electrode couples the species only through node 0,
    # so d_s = p_s - z_s q_s with z the off-diagonal electrode terms.
    N = A.shape[0]
    dl = A.T.at[:, 0].set(0.0)
    du = C.T.at[:, -1].set(0.0)
    diag = B.T.at[:, 0].set(jnp.diagonal(B0))
    e0 = jnp.zeros((S, N, 1)).at[:, 0].set(1.0)
    rhs = e0 if r is None else jnp.concatenate([e0, r.T[..., None]], axis=-1)
    if extra is not None:
        sol, more = _solve_with_tangents(dl, diag, du, rhs, extra.T[..., None])
    else:
        sol = jax.lax.linalg.tridiagonal_solve(dl, diag, du, rhs)
    q = sol[..., 0]  # (S, N)
    off = B0 - jnp.diag(jnp.diagonal(B0))
    top = jnp.concatenate([jnp.eye(S) + q[:, :1] * off, q[:, :1] * G], axis=1)
    bottom = jnp.concatenate([H, corner], axis=1)
    K_inv = _inverse_small(jnp.concatenate([top, bottom], axis=0))
    f = dict(dl=dl, diag=diag, du=du, q=q, off=off, G=G, K_inv=K_inv)
    if extra is not None:
        return f, sol[..., 1], more[..., 0]
    return f if r is None else (f, sol[..., 1])


def apply(f, r, g, p=None):
    """Solve with the factors ``f`` for the right-hand side r (N, S), g (M,): (d, dv)."""
    S = r.shape[1]
    if "Ws" in f:
        full = f["C"].ndim == 3

        def back(q_next, xs):
            W, c, rr = xs
            q = W @ (rr - (c @ q_next if full else c * q_next))
            return q, q

        q1, qs = jax.lax.scan(back, jnp.zeros(S), (f["Ws"], f["C"], r[1:]), reverse=True)
        sol = f["K_inv"] @ jnp.concatenate([r[0] - (f["C0"] @ q1 if full else f["C0"] * q1), g])
        d0, dv = sol[:S], sol[S:]

        def fwd(d_prev, xs):
            P, q = xs
            d = P @ d_prev + q
            return d, d

        _, ds = jax.lax.scan(fwd, d0, (f["Ps"], qs))
        return jnp.concatenate([d0[None], ds], axis=0), dv
    if p is None:
        p = jax.lax.linalg.tridiagonal_solve(f["dl"], f["diag"], f["du"], r.T[..., None])[..., 0]
    x = f["K_inv"] @ jnp.concatenate([p[:, 0], g])
    d0, dv = x[:S], x[S:]
    z = f["off"] @ d0 + f["G"] @ dv
    return (p - z[:, None] * f["q"]).T, dv
