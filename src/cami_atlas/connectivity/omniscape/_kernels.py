"""Compiled (numba) kernels of the Omniscape moving window.

Why these are hand-written although libraries factorize sparse matrices:

* ``scipy.sparse.linalg.splu`` / ``cholmod`` / ``qdldl`` are called once per window
  from Python. One window of radius 25 (1,961 cells) costs 7-10 ms with ``splu`` and
  1.7 ms with ``qdldl`` (symbolic once, numeric per window, see
  ``docs/omniscape.md``), and each call also pays Python overhead to build the matrix.
  With 10^5 windows per map, the per-window cost must be a fraction of a millisecond.
* Every window has the same sparsity pattern (cells that are not nodes are kept as
  decoupled unit rows), so the fill-reducing ordering and the symbolic factorization
  are done once (:mod:`._pattern`), and the numeric LDL^T factorization reads the
  window's conductances straight from the grid through precomputed index maps,
  without building a matrix object. No library offers "numeric factorization of a
  pattern analysed once, for many value arrays, in a compiled loop over windows".
* The loop over windows, the connected-component search of each window (Circuitscape
  solves only the component that holds the ground), the node currents and the
  accumulation into the output grids run in the same compiled loop, so the per-window
  Python overhead is zero.

The factorization is the classical up-looking LDL^T (T. Davis, "Algorithm 849: a
concise sparse Cholesky factorization package", ACM TOMS 31, 2005), written from the
description: an elimination-tree walk gives each row's pattern (here recorded once, in
topological order), then row ``k`` of L is a sparse triangular solve.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def symbolic_ldl(m, ap, ai):  # pragma: no cover - compiled
    """Elimination tree, column pointers/rows of L, and each row's pattern (topological)."""
    parent = np.full(m, -1, np.int64)
    flag = np.empty(m, np.int64)
    lnz = np.zeros(m, np.int64)
    for k in range(m):
        flag[k] = k
        for p in range(ap[k], ap[k + 1]):
            i = ai[p]
            if i < k:
                while flag[i] != k:
                    if parent[i] == -1:
                        parent[i] = k
                    lnz[i] += 1
                    flag[i] = k
                    i = parent[i]
    lp = np.zeros(m + 1, np.int64)
    for k in range(m):
        lp[k + 1] = lp[k] + lnz[k]
    nnz = lp[m]
    li = np.empty(nnz, np.int64)
    rp = np.zeros(m + 1, np.int64)
    ri = np.empty(nnz, np.int64)
    cnt = np.zeros(m, np.int64)
    stack = np.empty(m, np.int64)
    path = np.empty(m, np.int64)
    pos = 0
    for k in range(m):
        flag[k] = k
        top = m
        for p in range(ap[k], ap[k + 1]):
            i = ai[p]
            if i < k:
                ln = 0
                while flag[i] != k:
                    path[ln] = i
                    ln += 1
                    flag[i] = k
                    i = parent[i]
                while ln > 0:
                    top -= 1
                    ln -= 1
                    stack[top] = path[ln]
        for q in range(top, m):
            i = stack[q]
            ri[pos] = i
            pos += 1
            li[lp[i] + cnt[i]] = k
            cnt[i] += 1
        rp[k + 1] = pos
    return parent, lp, li, rp, ri


@njit(cache=True, nogil=True)
def numeric_ldl(m, ap, ai, ax, lp, li, rp, ri, lx, d, y, cnt):  # pragma: no cover
    """Numeric LDL^T of the upper-CSC matrix (ap, ai, ax) on a precomputed pattern.

    Returns False if a pivot is not positive (the matrix is not positive definite).
    """
    for k in range(m):
        cnt[k] = 0
    for k in range(m):
        for p in range(ap[k], ap[k + 1]):
            y[ai[p]] += ax[p]
        dk = y[k]
        y[k] = 0.0
        for q in range(rp[k], rp[k + 1]):
            i = ri[q]
            yi = y[i]
            y[i] = 0.0
            p2 = lp[i] + cnt[i]
            for p in range(lp[i], p2):
                y[li[p]] -= lx[p] * yi
            lki = yi / d[i]
            dk -= lki * yi
            lx[p2] = lki
            cnt[i] += 1
        if not dk > 0.0:
            return False
        d[k] = dk
    return True


@njit(cache=True, nogil=True)
def ldl_solve(m, lp, li, lx, d, b):  # pragma: no cover - compiled
    """Solve L D L^T x = b in place."""
    for j in range(m):
        bj = b[j]
        if bj != 0.0:
            for p in range(lp[j], lp[j + 1]):
                b[li[p]] -= lx[p] * bj
    for j in range(m):
        b[j] /= d[j]
    for j in range(m - 1, -1, -1):
        s = b[j]
        for p in range(lp[j], lp[j + 1]):
            s -= lx[p] * b[li[p]]
        b[j] = s


@njit(cache=True, nogil=True)
def _assemble(n, ne, edge_a, edge_b, edge_pos, diag_pos, centre, gw, node, ax):  # pragma: no cover
    ax[:] = 0.0
    for e in range(ne):
        g = gw[e]
        if g > 0.0 and node[edge_a[e]]:
            if edge_pos[e] >= 0:
                ax[edge_pos[e]] -= g
            pa = diag_pos[edge_a[e]]
            pb = diag_pos[edge_b[e]]
            if pa >= 0:
                ax[pa] += g
            if pb >= 0:
                ax[pb] += g
    for k in range(n):
        if k != centre and not node[k]:
            ax[diag_pos[k]] = 1.0


@njit(cache=True, nogil=True)
def _accumulate(n, ne, edge_a, edge_b, gw, v, node, fout, fin, out, tr, tc, dr,
                dc):  # pragma: no cover
    for k in range(n):
        fout[k] = 0.0
        fin[k] = 0.0
    for e in range(ne):
        g = gw[e]
        if g > 0.0 and node[edge_a[e]]:
            a = edge_a[e]
            b = edge_b[e]
            f = g * (v[a] - v[b])
            if f > 0.0:
                fout[a] += f
                fin[b] += f
            else:
                fout[b] -= f
                fin[a] -= f
    for k in range(n):
        if node[k]:
            c = fout[k] if fout[k] > fin[k] else fin[k]
            out[tr + dr[k], tc + dc[k]] += c


@njit(cache=True, nogil=True)
def process_targets(t0, t1, t_row, t_col, t_amps, block_radius, passable, g, g_unit, src,
                    dr, dc, centre, edge_a, edge_b, edge_dir, nbr_ptr, nbr_cell, nbr_edge,
                    perm, ap, ai, edge_pos, diag_pos, lp, li, rp, ri, lx_u, d_u,
                    cum, fp, do_current, do_fp):  # pragma: no cover - compiled
    """Solve the windows of targets ``t0 .. t1-1`` and add their currents to the grids.

    ``g[d, r, c]`` is the conductance of the edge from cell (r, c) along the forward
    direction ``d`` (0 off the grid or where a cell is not passable); ``g_unit[d]``
    the same on a uniform surface of resistance 1. ``lx_u, d_u`` factor the uniform
    full-disk system (the flow potential of every window that lies inside the grid).
    Returns the number of windows whose matrix was not positive definite (0).
    """
    rows, cols = passable.shape
    n = dr.shape[0]
    m = n - 1
    ne = edge_a.shape[0]
    nnz = lp[m]
    ax = np.zeros(ai.shape[0])
    lx = np.zeros(nnz)
    d = np.zeros(m)
    y = np.zeros(m)
    cnt = np.zeros(m, np.int64)
    b = np.zeros(m)
    v = np.zeros(n)
    sv = np.zeros(n)
    gw = np.zeros(ne)
    gu = np.zeros(ne)
    inside = np.zeros(n, np.bool_)
    node = np.zeros(n, np.bool_)
    stack = np.zeros(n, np.int64)
    fout = np.zeros(n)
    fin = np.zeros(n)
    failed = 0
    for t in range(t0, t1):
        tr = t_row[t]
        tc = t_col[t]
        total = 0.0
        full = True
        for k in range(n):
            r = tr + dr[k]
            c = tc + dc[k]
            ok = r >= 0 and r < rows and c >= 0 and c < cols
            inside[k] = ok
            if not ok:
                full = False
            s = 0.0
            if ok and (abs(dr[k]) > block_radius or abs(dc[k]) > block_radius):
                s = src[r, c]
            sv[k] = s
            total += s
        if not total > 0.0:
            continue
        scale = t_amps[t] / total
        # --- current on the resistance surface ------------------------------------
        if do_current and passable[tr, tc]:
            for e in range(ne):
                a = edge_a[e]
                gw[e] = g[edge_dir[e], tr + dr[a], tc + dc[a]] if inside[a] else 0.0
            # the component of the target (Circuitscape solves only that one)
            for k in range(n):
                node[k] = False
            node[centre] = True
            stack[0] = centre
            top = 1
            while top > 0:
                top -= 1
                k = stack[top]
                for q in range(nbr_ptr[k], nbr_ptr[k + 1]):
                    j = nbr_cell[q]
                    if not node[j] and gw[nbr_edge[q]] > 0.0:
                        node[j] = True
                        stack[top] = j
                        top += 1
            injected = 0.0
            for k in range(n):
                if node[k] and k != centre:
                    injected += sv[k]
            if injected > 0.0:
                _assemble(n, ne, edge_a, edge_b, edge_pos, diag_pos, centre, gw, node, ax)
                y[:] = 0.0
                if numeric_ldl(m, ap, ai, ax, lp, li, rp, ri, lx, d, y, cnt):
                    for k in range(n):
                        if k != centre:
                            b[perm[k]] = sv[k] * scale if node[k] else 0.0
                    ldl_solve(m, lp, li, lx, d, b)
                    for k in range(n):
                        v[k] = b[perm[k]] if (k != centre and node[k]) else 0.0
                    _accumulate(n, ne, edge_a, edge_b, gw, v, node, fout, fin, cum,
                                tr, tc, dr, dc)
                else:
                    failed += 1
        # --- flow potential: the same sources on a uniform surface -----------------
        if do_fp:
            for e in range(ne):
                gu[e] = g_unit[edge_dir[e]] if (inside[edge_a[e]] and inside[edge_b[e]]) \
                    else 0.0
            for k in range(n):
                if k != centre:
                    b[perm[k]] = sv[k] * scale if inside[k] else 0.0
            if full:
                ldl_solve(m, lp, li, lx_u, d_u, b)
                for k in range(n):
                    v[k] = b[perm[k]] if k != centre else 0.0
            else:
                _assemble(n, ne, edge_a, edge_b, edge_pos, diag_pos, centre, gu, inside, ax)
                y[:] = 0.0
                if numeric_ldl(m, ap, ai, ax, lp, li, rp, ri, lx, d, y, cnt):
                    ldl_solve(m, lp, li, lx, d, b)
                    for k in range(n):
                        v[k] = b[perm[k]] if (k != centre and inside[k]) else 0.0
                else:
                    failed += 1
                    continue
            _accumulate(n, ne, edge_a, edge_b, gu, v, inside, fout, fin, fp, tr, tc, dr, dc)
    return failed


@njit(cache=True, parallel=True)
def process_bands(starts, stops, t_row, t_col, t_amps, block_radius, passable, g, g_unit, src,
                  dr, dc, centre, edge_a, edge_b, edge_dir, nbr_ptr, nbr_cell, nbr_edge,
                  perm, ap, ai, edge_pos, diag_pos, lp, li, rp, ri, lx_u, d_u,
                  cum, fp, do_current, do_fp):  # pragma: no cover - compiled
    """Run bands of targets in parallel; bands in one call must not share output cells."""
    nb = starts.shape[0]
    failed = np.zeros(nb, np.int64)
    for i in prange(nb):
        failed[i] = process_targets(
            starts[i], stops[i], t_row, t_col, t_amps, block_radius, passable, g,
            g_unit, src, dr, dc, centre, edge_a, edge_b, edge_dir, nbr_ptr, nbr_cell,
            nbr_edge, perm, ap, ai, edge_pos, diag_pos, lp, li, rp, ri, lx_u, d_u, cum, fp,
            do_current, do_fp)
    return failed.sum()


@njit(cache=True)
def uniform_factor(m, n, ne, edge_a, edge_b, edge_dir, edge_pos, diag_pos, centre, g_unit,
                   ap, ai, lp, li, rp, ri):  # pragma: no cover - compiled
    """LDL^T of the full-disk window on a uniform surface (shared by all windows)."""
    gu = np.empty(ne)
    for e in range(ne):
        gu[e] = g_unit[edge_dir[e]]
    node = np.ones(n, np.bool_)
    ax = np.zeros(ai.shape[0])
    _assemble(n, ne, edge_a, edge_b, edge_pos, diag_pos, centre, gu, node, ax)
    lx = np.zeros(lp[m])
    d = np.zeros(m)
    y = np.zeros(m)
    cnt = np.zeros(m, np.int64)
    ok = numeric_ldl(m, ap, ai, ax, lp, li, rp, ri, lx, d, y, cnt)
    return ok, lx, d
