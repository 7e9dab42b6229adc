"""Compiled (numba) kernels of the Omniscape moving window.

Why these are hand-written although libraries factorize sparse matrices (each kernel):

* ``symbolic_ldl`` / ``numeric_ldl`` / ``numeric_ldl_batch`` (LDL^T factorization):
  ``scipy.sparse.linalg.splu`` (SuperLU, BSD) and CHOLMOD (``scikit-sparse``, LGPL/GPL
  parts) are called once per window from Python, analyse the pattern every time and cost
  7-10 ms per radius-25 window (1,961 cells); ``qdldl`` (Apache-2.0) separates the
  symbolic and numeric phases (1.7 ms per window) but takes one matrix per Python call.
  With 10^5 windows per map the per-window cost must be a fraction of a millisecond, with
  no Python per window. Every window has the same sparsity pattern (cells that are not
  nodes stay as decoupled unit rows), so the ordering and the symbolic analysis are done
  once (:mod:`._pattern`) and the numeric factorization reads the window's conductances
  straight from the grid through precomputed index maps; ``numeric_ldl_batch`` factorizes
  32 windows of one pattern at once, the windows along the contiguous axis, so the inner
  loops vectorize and the sparse index arithmetic is paid once per batch. No library
  offers a numeric factorization of many value arrays of one analysed pattern.
* ``ldl_solve`` / ``ldl_solve_batch`` / ``ldl_solve_shared`` (triangular solves): the
  same reasons; ``ldl_solve_shared`` solves the flow potential of many windows with the
  one factor of the uniform disk.
* ``process_targets`` (the loop over windows): gathering a window from the grids, the
  connected-component search of the target's part (Circuitscape solves only that one),
  Circuitscape's node currents and the accumulation into the output grids run in the same
  compiled loop, so the per-window Python overhead is zero; ``process_bands`` runs bands
  of rows on several threads (bands of one colour never write the same cells).

The factorization is the classical up-looking LDL^T (T. Davis, "Algorithm 849: a
concise sparse Cholesky factorization package", ACM TOMS 31, 2005), written from the
description: an elimination-tree walk gives each row's pattern (here recorded once, in
topological order), then row ``k`` of L is a sparse triangular solve.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
def _accumulate(n, ne, edge_a, edge_b, gw, v, node, fout, fin, out, tr, tc, dr,
                dc, corr):  # pragma: no cover
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
            out[tr + dr[k], tc + dc[k]] += c * corr[k]


@njit(cache=True, nogil=True, error_model="numpy")
def numeric_ldl_batch(m, ap, ai, ax, lp, li, rp, ri, lx, d, y, cnt, yi, dk,
                      bad):  # pragma: no cover - compiled
    """:func:`numeric_ldl` of W matrices of one pattern at once (values ``ax[:, w]``).

    The inner loops run over the W windows, contiguous in memory, so the compiler
    vectorizes them and the index arithmetic of the sparse pattern is paid once per W
    windows. ``bad[w]`` is set where a pivot is not positive.
    """
    nw = ax.shape[1]
    for k in range(m):
        cnt[k] = 0
    for w in range(nw):
        bad[w] = False
    for k in range(m):
        for p in range(ap[k], ap[k + 1]):
            i = ai[p]
            for w in range(nw):
                y[i, w] += ax[p, w]
        for w in range(nw):
            dk[w] = y[k, w]
            y[k, w] = 0.0
        for q in range(rp[k], rp[k + 1]):
            i = ri[q]
            for w in range(nw):
                yi[w] = y[i, w]
                y[i, w] = 0.0
            p2 = lp[i] + cnt[i]
            for p in range(lp[i], p2):
                r = li[p]
                for w in range(nw):
                    y[r, w] -= lx[p, w] * yi[w]
            for w in range(nw):
                lki = yi[w] / d[i, w]
                dk[w] -= lki * yi[w]
                lx[p2, w] = lki
            cnt[i] += 1
        for w in range(nw):
            if not dk[w] > 0.0:
                bad[w] = True
                dk[w] = 1.0
            d[k, w] = dk[w]


@njit(cache=True, nogil=True, error_model="numpy")
def ldl_solve_batch(m, lp, li, lx, d, b):  # pragma: no cover - compiled
    """Solve L_w D_w L_w^T x = b[:, w] in place for W factors of one pattern."""
    nw = b.shape[1]
    for j in range(m):
        for p in range(lp[j], lp[j + 1]):
            r = li[p]
            for w in range(nw):
                b[r, w] -= lx[p, w] * b[j, w]
    for j in range(m):
        for w in range(nw):
            b[j, w] /= d[j, w]
    for j in range(m - 1, -1, -1):
        for p in range(lp[j], lp[j + 1]):
            r = li[p]
            for w in range(nw):
                b[j, w] -= lx[p, w] * b[r, w]


@njit(cache=True, nogil=True, error_model="numpy")
def ldl_solve_shared(m, lp, li, lx, d, b):  # pragma: no cover - compiled
    """Solve L D L^T x = b[:, w] in place for W right-hand sides and one factor."""
    nw = b.shape[1]
    for j in range(m):
        for p in range(lp[j], lp[j + 1]):
            r = li[p]
            lv = lx[p]
            for w in range(nw):
                b[r, w] -= lv * b[j, w]
    for j in range(m):
        dj = d[j]
        for w in range(nw):
            b[j, w] /= dj
    for j in range(m - 1, -1, -1):
        for p in range(lp[j], lp[j + 1]):
            r = li[p]
            lv = lx[p]
            for w in range(nw):
                b[j, w] -= lv * b[r, w]


@njit(cache=True, nogil=True, error_model="numpy")
def process_targets(t0, t1, t_row, t_col, t_amps, block_radius, passable, g, g_unit, src,
                    dr, dc, centre, edge_a, edge_b, edge_dir, nbr_ptr, nbr_cell, nbr_edge,
                    perm, ap, ai, edge_pos, diag_pos, lp, li, rp, ri, lx_u, d_u,
                    cum, fp, do_current, do_fp, batch, corr):  # pragma: no cover - compiled
    """Solve the windows of targets ``t0 .. t1-1`` and add their currents to the grids.

    ``g[d, r, c]`` is the conductance of the edge from cell (r, c) along the forward
    direction ``d`` (0 off the grid or where a cell is not passable); ``g_unit[d]``
    the same on a uniform surface of resistance 1. ``lx_u, d_u`` factor the uniform
    full-disk system (the flow potential of every window that lies inside the grid).
    ``corr`` multiplies each window cell's current (Omniscape's block-artifact
    correction; ones without it). Windows are factorized ``batch`` at a time. Returns
    the number of windows whose matrix was not positive definite (0 for valid input).

    One function because it is one numba-compiled loop over targets: the assembly,
    factorization and current accumulation of a window share preallocated work
    arrays, and splitting it into jitted helpers would pass ~30 arrays per call
    inside the hot loop for no gain in clarity or speed.
    """
    rows, cols = passable.shape
    n = dr.shape[0]
    m = n - 1
    ne = edge_a.shape[0]
    nnz = lp[m]
    nw = batch
    # per batch: values, factors and right-hand sides, windows along the last axis
    axb = np.zeros((ai.shape[0], nw))
    lxb = np.zeros((nnz, nw))
    db = np.ones((m, nw))
    yb = np.zeros((m, nw))
    bb = np.zeros((m, nw))
    fb = np.zeros((m, nw))
    yi = np.zeros(nw)
    dk = np.zeros(nw)
    bad = np.zeros(nw, np.bool_)
    cnt = np.zeros(m, np.int64)
    ax = np.zeros(ai.shape[0])
    lx = np.zeros(nnz)
    d = np.zeros(m)
    y = np.zeros(m)
    b = np.zeros(m)
    # per window of the batch
    sv = np.zeros((nw, n))
    gw = np.zeros((nw, ne))
    node = np.zeros((nw, n), np.bool_)
    inside = np.zeros((nw, n), np.bool_)
    active = np.zeros(nw, np.bool_)
    full = np.zeros(nw, np.bool_)
    scale = np.zeros(nw)
    tw = np.zeros(nw, np.int64)
    gu = np.zeros(ne)
    gu_full = np.zeros(ne)
    for e in range(ne):
        gu_full[e] = g_unit[edge_dir[e]]
    v = np.zeros(n)
    stack = np.zeros(n, np.int64)
    fout = np.zeros(n)
    fin = np.zeros(n)
    failed = 0
    t = t0
    while t < t1:
        # ---- gather up to nw windows that have sources --------------------------
        cnt_w = 0
        while t < t1 and cnt_w < nw:
            w = cnt_w
            tr = t_row[t]
            tc = t_col[t]
            total = 0.0
            isfull = True
            allpass = True
            for k in range(n):
                r = tr + dr[k]
                c = tc + dc[k]
                ok = r >= 0 and r < rows and c >= 0 and c < cols
                inside[w, k] = ok
                if not ok:
                    isfull = False
                    allpass = False
                elif not passable[r, c]:
                    allpass = False
                s = 0.0
                if ok and (abs(dr[k]) > block_radius or abs(dc[k]) > block_radius):
                    s = src[r, c]
                sv[w, k] = s
                total += s
            t += 1
            if not total > 0.0:
                continue
            tw[w] = t - 1
            full[w] = isfull
            scale[w] = t_amps[t - 1] / total
            active[w] = False
            if do_current and passable[tr, tc]:
                for e in range(ne):
                    a = edge_a[e]
                    gw[w, e] = g[edge_dir[e], tr + dr[a], tc + dc[a]] if inside[w, a] else 0.0
                # a window of passable cells only is one component; else search it
                for k in range(n):
                    node[w, k] = allpass
                node[w, centre] = True
                stack[0] = centre
                top = 0 if allpass else 1
                while top > 0:
                    top -= 1
                    k = stack[top]
                    for q in range(nbr_ptr[k], nbr_ptr[k + 1]):
                        j = nbr_cell[q]
                        if not node[w, j] and gw[w, nbr_edge[q]] > 0.0:
                            node[w, j] = True
                            stack[top] = j
                            top += 1
                injected = 0.0
                for k in range(n):
                    if node[w, k] and k != centre:
                        injected += sv[w, k]
                active[w] = injected > 0.0
            if active[w]:
                _assemble(n, ne, edge_a, edge_b, edge_pos, diag_pos, centre, gw[w], node[w], ax)
            else:
                ax[:] = 0.0
                for k in range(n):
                    if k != centre:
                        ax[diag_pos[k]] = 1.0
            for p in range(ax.shape[0]):
                axb[p, w] = ax[p]
            cnt_w += 1
        if cnt_w == 0:
            continue
        for w in range(cnt_w, nw):  # unused slots: identity
            active[w] = False
            for p in range(ax.shape[0]):
                axb[p, w] = 0.0
            for k in range(n):
                if k != centre:
                    axb[diag_pos[k], w] = 1.0
        # ---- current: batched factorization and solve ----------------------------
        if do_current:
            yb[:, :] = 0.0
            numeric_ldl_batch(m, ap, ai, axb, lp, li, rp, ri, lxb, db, yb, cnt, yi, dk, bad)
            for w in range(nw):
                for k in range(n):
                    if k != centre:
                        bb[perm[k], w] = sv[w, k] * scale[w] if (active[w] and node[w, k]) \
                            else 0.0
            ldl_solve_batch(m, lp, li, lxb, db, bb)
            for w in range(cnt_w):
                if not active[w]:
                    continue
                if bad[w]:
                    failed += 1
                    continue
                for k in range(n):
                    v[k] = bb[perm[k], w] if (k != centre and node[w, k]) else 0.0
                _accumulate(n, ne, edge_a, edge_b, gw[w], v, node[w], fout, fin, cum,
                            t_row[tw[w]], t_col[tw[w]], dr, dc, corr)
        # ---- flow potential: the same sources on a uniform surface ---------------
        if do_fp:
            for w in range(nw):
                for k in range(n):
                    if k != centre:
                        fb[perm[k], w] = sv[w, k] * scale[w] if (w < cnt_w and full[w]) \
                            else 0.0
            ldl_solve_shared(m, lp, li, lx_u, d_u, fb)
            for w in range(cnt_w):
                tr = t_row[tw[w]]
                tc = t_col[tw[w]]
                if not full[w]:
                    for e in range(ne):
                        gu[e] = g_unit[edge_dir[e]] if (inside[w, edge_a[e]]
                                                        and inside[w, edge_b[e]]) else 0.0
                if full[w]:
                    for k in range(n):
                        v[k] = fb[perm[k], w] if k != centre else 0.0
                else:  # a window clipped by the grid edge: its own factorization
                    _assemble(n, ne, edge_a, edge_b, edge_pos, diag_pos, centre, gu,
                              inside[w], ax)
                    y[:] = 0.0
                    if not numeric_ldl(m, ap, ai, ax, lp, li, rp, ri, lx, d, y, cnt):
                        failed += 1
                        continue
                    for k in range(n):
                        if k != centre:
                            b[perm[k]] = sv[w, k] * scale[w] if inside[w, k] else 0.0
                    ldl_solve(m, lp, li, lx, d, b)
                    for k in range(n):
                        v[k] = b[perm[k]] if (k != centre and inside[w, k]) else 0.0
                _accumulate(n, ne, edge_a, edge_b, gu_full if full[w] else gu, v, inside[w],
                            fout, fin, fp, tr, tc, dr, dc, corr)
    return failed


@njit(cache=True, parallel=True, error_model="numpy")
def process_bands(starts, stops, t_row, t_col, t_amps, block_radius, passable, g, g_unit, src,
                  dr, dc, centre, edge_a, edge_b, edge_dir, nbr_ptr, nbr_cell, nbr_edge,
                  perm, ap, ai, edge_pos, diag_pos, lp, li, rp, ri, lx_u, d_u,
                  cum, fp, do_current, do_fp, batch, corr):  # pragma: no cover - compiled
    """Run bands of targets in parallel; bands in one call must not share output cells."""
    nb = starts.shape[0]
    failed = np.zeros(nb, np.int64)
    for i in prange(nb):
        failed[i] = process_targets(
            starts[i], stops[i], t_row, t_col, t_amps, block_radius, passable, g,
            g_unit, src, dr, dc, centre, edge_a, edge_b, edge_dir, nbr_ptr, nbr_cell,
            nbr_edge, perm, ap, ai, edge_pos, diag_pos, lp, li, rp, ri, lx_u, d_u, cum, fp,
            do_current, do_fp, batch, corr)
    return failed.sum()


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, nogil=True, error_model="numpy")
def window_graph(tr, tc, block_radius, passable, g, g_unit, src, dr, dc, centre, edge_a,
                 edge_dir, nbr_ptr, nbr_cell, nbr_edge):  # pragma: no cover - compiled
    """One window's inputs for the iterative solver: inside mask, source strengths,
    total source strength, whether the window lies inside the grid, the edge
    conductances and the target's component (all-False if the target is no node)."""
    rows, cols = passable.shape
    n = dr.shape[0]
    ne = edge_a.shape[0]
    inside = np.zeros(n, np.bool_)
    sv = np.zeros(n)
    total = 0.0
    full = True
    for k in range(n):
        r = tr + dr[k]
        c = tc + dc[k]
        ok = r >= 0 and r < rows and c >= 0 and c < cols
        inside[k] = ok
        if not ok:
            full = False
        if ok and (abs(dr[k]) > block_radius or abs(dc[k]) > block_radius):
            sv[k] = src[r, c]
            total += sv[k]
    gw = np.zeros(ne)
    node = np.zeros(n, np.bool_)
    for e in range(ne):
        a = edge_a[e]
        if inside[a]:
            gw[e] = g[edge_dir[e], tr + dr[a], tc + dc[a]]
    if passable[tr, tc]:
        stack = np.zeros(n, np.int64)
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
    return inside, sv, total, full, gw, node


@njit(cache=True, nogil=True, error_model="numpy")
def accumulate(ne, edge_a, edge_b, gw, v, node, out, tr, tc, dr, dc,
               corr):  # pragma: no cover - compiled
    """Add one window's node currents (voltages ``v`` over its cells) to ``out``."""
    n = dr.shape[0]
    fout = np.zeros(n)
    fin = np.zeros(n)
    _accumulate(n, ne, edge_a, edge_b, gw, v, node, fout, fin, out, tr, tc, dr, dc, corr)
