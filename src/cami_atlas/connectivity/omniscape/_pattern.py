"""The circular window of Omniscape and the symbolic analysis of its grounded Laplacian.

Every window has the same shape: the cells within ``radius`` cells (Euclidean, centre
to centre) of the target. Cells of a window that are not nodes of the circuit (off the
grid, ``inf``/``NaN`` resistance, or not connected to the target) stay in the pattern
as decoupled rows ``1 * v = 0``, which leaves the solution of the other rows exactly
unchanged. So one fill-reducing ordering and one symbolic factorization serve every
window, and each window only runs the numeric factorization.

The ordering is a geometric nested dissection of the disk: split the cell set by its
median row or column (for 4 and 8 neighbours alike a full grid line disconnects the
two sides), order both halves recursively, the separator last.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import symbolic_ldl

# forward neighbour offsets (each undirected edge once), the order of graph.py
FORWARD = {4: ((0, 1), (1, 0)), 8: ((0, 1), (1, 0), (1, 1), (1, -1))}
_LEAF = 16


def disk_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column offsets of the cells within ``radius`` cells of the centre.

    Examples
    --------
    >>> dr, dc = disk_offsets(1)
    >>> len(dr), len(disk_offsets(25)[0])
    (5, 1961)
    """
    r = int(radius)
    dr, dc = np.mgrid[-r:r + 1, -r:r + 1]
    keep = dr * dr + dc * dc <= r * r
    return dr[keep].astype(np.int64), dc[keep].astype(np.int64)


def _nested_dissection(rows: np.ndarray, cols: np.ndarray, idx: np.ndarray,
                       out: list[np.ndarray]) -> None:
    if len(idx) <= _LEAF:
        out.append(idx)
        return
    r, c = rows[idx], cols[idx]
    key = r if r.max() - r.min() >= c.max() - c.min() else c
    mid = int(np.median(key))
    lo, sep, hi = idx[key < mid], idx[key == mid], idx[key > mid]
    if not len(lo) or not len(hi):  # degenerate split: take the cells as one leaf
        out.append(idx)
        return
    _nested_dissection(rows, cols, lo, out)
    _nested_dissection(rows, cols, hi, out)
    out.append(sep)


@dataclass(frozen=True, eq=False)
class WindowPattern:
    """Everything about a window shape that does not depend on the resistance values.

    Attributes
    ----------
    radius, neighbours : int
    dr, dc : int64 arrays (n_cells,)
        Offsets of the window cells from the target.
    centre : int
        Index of the target cell among them.
    edge_a, edge_b, edge_dir : int64 arrays (n_edges,)
        The window's edges: local cells ``a`` and ``b = a + FORWARD[dir]``.
    perm : int64 array (n_cells,)
        Position of each cell in the reduced system (``-1`` for the target).
    ap, ai : CSC pattern (upper triangle, permuted) of the reduced matrix.
    edge_pos : int64 array (n_edges,)
        Where each edge's off-diagonal entry sits in ``ax`` (``-1`` for edges to the
        target, which only add to a diagonal).
    diag_pos : int64 array (n_cells,)
        Where each cell's diagonal entry sits in ``ax`` (``-1`` for the target).
    parent, lp, li, rp, ri : the symbolic factorization (elimination tree, pattern of
        L by column and the topologically ordered pattern of each row).
    """

    radius: int
    neighbours: int
    dr: np.ndarray
    dc: np.ndarray
    centre: int
    edge_a: np.ndarray
    edge_b: np.ndarray
    edge_dir: np.ndarray
    nbr_ptr: np.ndarray
    nbr_cell: np.ndarray
    nbr_edge: np.ndarray
    perm: np.ndarray
    ap: np.ndarray
    ai: np.ndarray
    edge_pos: np.ndarray
    diag_pos: np.ndarray
    parent: np.ndarray
    lp: np.ndarray
    li: np.ndarray
    rp: np.ndarray
    ri: np.ndarray

    @property
    def n_cells(self) -> int:
        """Cells in the window (the target included)."""
        return len(self.dr)

    @property
    def nnz_l(self) -> int:
        """Entries of the factor L below the diagonal."""
        return int(self.lp[-1])


_CACHE: dict[tuple[int, int], WindowPattern] = {}


def window_pattern(radius: int, neighbours: int = 8) -> WindowPattern:
    """Build (once per radius and neighbourhood) the :class:`WindowPattern`.

    Examples
    --------
    >>> p = window_pattern(3, 8)
    >>> p.n_cells, int(p.perm.max()) + 1
    (29, 28)
    """
    key = (int(radius), int(neighbours))
    if key in _CACHE:
        return _CACHE[key]
    dr, dc = disk_offsets(radius)
    n = len(dr)
    r = int(radius)
    side = 2 * r + 1
    local = np.full((side + 2, side + 2), -1, dtype=np.int64)  # padded lookup
    local[dr + r + 1, dc + r + 1] = np.arange(n)
    centre = int(local[r + 1, r + 1])
    ea, eb, ed = [], [], []
    for d, (odr, odc) in enumerate(FORWARD[neighbours]):
        b = local[dr + r + 1 + odr, dc + r + 1 + odc]
        ok = b >= 0
        ea.append(np.flatnonzero(ok))
        eb.append(b[ok])
        ed.append(np.full(int(ok.sum()), d))
    edge_a = np.concatenate(ea).astype(np.int64)
    edge_b = np.concatenate(eb).astype(np.int64)
    edge_dir = np.concatenate(ed).astype(np.int64)
    # adjacency by cell (for the connected-component search)
    ends = np.concatenate([edge_a, edge_b])
    others = np.concatenate([edge_b, edge_a])
    eids = np.concatenate([np.arange(len(edge_a))] * 2)
    order = np.argsort(ends, kind="stable")
    nbr_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=nbr_ptr[1:])
    nbr_cell = others[order].astype(np.int64)
    nbr_edge = eids[order].astype(np.int64)
    # ordering of the reduced system (the target left out)
    cells = np.flatnonzero(np.arange(n) != centre)
    parts: list[np.ndarray] = []
    _nested_dissection(dr, dc, cells, parts)
    ordered = np.concatenate(parts)
    perm = np.full(n, -1, dtype=np.int64)
    perm[ordered] = np.arange(n - 1)
    # upper-triangular CSC pattern: column j holds (i, j) with i <= j
    inner = (edge_a != centre) & (edge_b != centre)
    pa, pb = perm[edge_a[inner]], perm[edge_b[inner]]
    rows_e = np.minimum(pa, pb)
    cols_e = np.maximum(pa, pb)
    m = n - 1
    all_rows = np.concatenate([rows_e, np.arange(m)])
    all_cols = np.concatenate([cols_e, np.arange(m)])
    order = np.lexsort((all_rows, all_cols))
    ai = all_rows[order].astype(np.int64)
    ap = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(all_cols, minlength=m), out=ap[1:])
    where = np.empty(len(order), dtype=np.int64)
    where[order] = np.arange(len(order))
    edge_pos = np.full(len(edge_a), -1, dtype=np.int64)
    edge_pos[np.flatnonzero(inner)] = where[:len(rows_e)]
    diag_pos = np.full(n, -1, dtype=np.int64)
    diag_pos[ordered] = where[len(rows_e):]
    parent, lp, li, rp, ri = symbolic_ldl(m, ap, ai)
    pat = WindowPattern(radius=r, neighbours=int(neighbours), dr=dr, dc=dc, centre=centre,
                        edge_a=edge_a, edge_b=edge_b, edge_dir=edge_dir, nbr_ptr=nbr_ptr,
                        nbr_cell=nbr_cell, nbr_edge=nbr_edge, perm=perm, ap=ap, ai=ai,
                        edge_pos=edge_pos, diag_pos=diag_pos, parent=parent, lp=lp, li=li,
                        rp=rp, ri=ri)
    _CACHE[key] = pat
    return pat
