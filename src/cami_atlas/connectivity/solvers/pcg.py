"""Preconditioned conjugate gradients in float64, lean in memory (shared by the solvers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse.linalg as spla

from .kernels import add_scaled, dot_widened

__all__ = ["pcg"]


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """``u @ v`` in float64 when ``v`` is float32, without a widened copy (a threaded
    loop, :func:`~cami_atlas.connectivity.solvers.kernels.dot_widened`)."""
    if v.dtype == u.dtype:
        return float(u @ v)
    return float(dot_widened(np.ascontiguousarray(u), np.ascontiguousarray(v)))


def pcg(
    a: Any,
    b: np.ndarray | int,
    prec: Any,
    *,
    tol: float,
    maxiter: int,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, float, int]:
    """Preconditioned conjugate gradients in float64 until ``|b - a x| <= tol |b|``.

    ``b`` is the right-hand side, or an int ``i`` for the unit vector ``e_i`` (not
    stored: 8 bytes per node less). ``prec`` is a callable or a LinearOperator; its
    output may be float32 (it is widened block by block where it is used). The stopping
    test is confirmed on the true residual (recomputed, not the recursive one); if
    round-off made them drift apart, CG restarts from the true residual. Work vectors:
    ``r``, ``p``, ``q`` (24 bytes per node) besides ``x`` and the preconditioner's; with
    an operator that offers ``quadratic(p)`` (``p . A p``) and ``subtract_product(p,
    alpha, r)`` (``r -= alpha A p``), as the float32-stored Laplacian of ``"mixed"``
    does, ``q`` is never stored and a float32 preconditioner output is kept as float32
    ``p``: 12 bytes per node (the products are then one more pass over the matrix).

    Returns
    -------
    x : numpy.ndarray
        The solution (``out`` when given).
    rel : float
        Its true relative residual.
    iterations : int

    Examples
    --------
    >>> a = np.array([[2.0, -1.0], [-1.0, 2.0]])
    >>> x, rel, it = pcg(a, np.array([1.0, 0.0]), np.copy, tol=1e-12, maxiter=10)
    >>> x.round(6).tolist(), it
    ([0.666667, 0.333333], 2)
    """
    apply = prec if callable(prec) and not isinstance(prec, spla.LinearOperator) else prec.matvec
    n = a.shape[0]
    unit = isinstance(b, (int, np.integer))
    # an operator with ``quadratic`` / ``subtract_product`` (the float32-stored Laplacian)
    # gives p.Ap and r -= alpha Ap without a stored product vector (8 bytes per node)
    fused = callable(getattr(a, "quadratic", None)) and callable(
        getattr(a, "subtract_product", None)
    )

    def residual(ax: np.ndarray | None) -> np.ndarray:
        if unit:
            out = np.zeros(n) if ax is None else np.negative(ax, out=ax)
            out[b] += 1.0
            return out
        return np.array(b, dtype=np.float64) if ax is None else np.subtract(b, ax, out=ax)

    r = residual(None)
    nb = float(np.linalg.norm(r))
    if out is None:
        x = np.zeros(n)
    else:
        x = out
        x[:] = 0.0
    it = 0
    rel = 1.0
    while it < maxiter:
        z = apply(r)
        # with the fused operator a float32 preconditioner output stays float32 as the
        # search direction (4 bytes per node less): A p is computed from the stored p,
        # so x and r stay consistent; only the directions carry float32 round-off
        p = z if fused and z.dtype == np.float32 else np.asarray(z, dtype=np.float64)
        del z
        rz = _dot(r, p)
        while it < maxiter:
            it += 1
            if fused:
                pq = a.quadratic(p)
            else:
                q = a @ p
                pq = float(p @ q)
            if rz == 0.0 or pq == 0.0:  # exact solution, or round-off floor reached
                break
            alpha = rz / pq
            if fused:
                a.subtract_product(p, alpha, r)
                add_scaled(x, alpha, p)
            else:
                q *= alpha
                r -= q
                np.multiply(p, alpha, out=q)  # q reused: no temporaries of the vector size
                x += q
                del q
            if float(np.linalg.norm(r)) <= tol * nb:
                break
            z = apply(r)
            rz_new = _dot(r, z)
            p *= rz_new / rz
            p += z
            rz = rz_new
            del z
        del p
        r = residual(a @ x)  # the true residual
        rel_new = float(np.linalg.norm(r)) / nb
        if rel_new <= tol or rel_new >= rel:  # converged, or no progress since the restart
            rel = min(rel, rel_new)
            break
        rel = rel_new
    return x, rel, it
