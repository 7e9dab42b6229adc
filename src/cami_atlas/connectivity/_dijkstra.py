"""Compiled (numba) multi-source Dijkstra on a raster: the kernel of ``cost_distance``.

Why hand-written: :class:`skimage.graph.MCP_Geometric` computes exactly the same costs
(it is kept as the tested reference and still traces least-cost paths), but it spends
most of its time in generic per-offset bookkeeping and a heap of Python-level objects
(2.75 s for 4 M cells against 0.86 s for the C++ kernel of landschaft 1.52 in the same
run, ``benchmarks/bench_circuit.py --peer-python``).
``scipy.sparse.csgraph.dijkstra`` would need the explicit graph (8 edges per cell,
about 100 bytes per cell) and is slower still. This kernel is the textbook algorithm
specialised to a grid, written to touch as little memory as it can (on a shared machine
a page of fresh memory costs more than the arithmetic done on it):

* the resistance is read where it is (float64 or float32, no padded or converted copy);
  ``NaN`` and ``inf`` cells are blocked in a one-byte flag array with a blocked border
  (so the inner loop has no bounds checks) in which a settled cell is blocked too (one
  byte load tests both); the output array is the distance array (no second copy);
* a 4-ary heap with lazy deletion (a cell popped after it was settled is skipped), each
  item ``(cost, cell, flag cell)`` in three consecutive int64 slots of one array (an
  item moves as one block; costs are non-negative float64, whose bit patterns order
  like the integers, so comparisons are integer comparisons), the four children
  compared without a loop;
* unsigned index arithmetic in the heap and the grid (numba tests every signed index
  for wrap-around);
* a prefetch hint (``llvm.prefetch``) for the three rows around the next cell of the
  heap while the current one is worked on (7 % less time on 4 M cells, 12 % on 16 M).

Measured on 2000 x 2000 cells (one source, 8 neighbours, CPU seconds of the kernel,
best of 5 on a shared 2-core machine): 0.89 s for the first version (padded float64
copy, heap in two arrays, a loop over the children), 0.53-0.57 s for this one; the
largest steps were the children compared without a loop (-17 %), the heap in one
integer array (-15 %), unsigned indices (-13 %) and the prefetch (-7 %; on 16 M cells
-12 %, 3.15 -> 2.77 s). landschaft 1.52 takes 0.79-0.88 s wall in the
same runs (``bench_circuit.py --peer-tasks cost``). Not faster: an indexed heap with
decrease-key, 32-bit heap ids, a radix heap on the bit patterns (twice slower),
resistance and cost interleaved in one array, a float32 padded copy of the resistance,
Floyd's bottom-up pop, the eight neighbour steps written out, plain loads of the next
cell's neighbourhood instead of the prefetch hint, and a bucket queue with buckets just
narrower than the smallest step cost (exact without a heap, but not faster).

Step cost: ``(R_i + R_j) / 2 * L`` with ``L = cell`` (rook) or ``sqrt(2) * cell``
(diagonal), in float64 whatever the resistance dtype; blocked cells are never entered.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["grid_dijkstra"]


@intrinsic
def _prefetch(typingctx, arr, idx):  # pragma: no cover - compiled
    """Hint the CPU to bring ``arr[idx]`` into the cache (``llvm.prefetch``: read, high
    locality). A hint only: it never faults, even for an index outside the array."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(
            fn,
            [
                builder.bitcast(ptr, i8p),
                ir.Constant(i32, 0),
                ir.Constant(i32, 3),
                ir.Constant(i32, 1),
            ],
        )
        return context.get_dummy_value()

    return sig, codegen


_SLOTS = 3  # heap item: key bits, cell (output index), flag-array index


# unsigned index arithmetic: numba tests every signed index for wrap-around (a negative
# index counts from the end); unsigned indices skip that test (13 % less time here)
_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U2 = np.uint64(2)
_U3 = np.uint64(3)
_U4 = np.uint64(4)


@njit(cache=True, inline="always", boundscheck=False)
def _push(h, size, key, cell, flag):
    i = np.uint64(size)
    while i != _U0:
        parent = (i - _U1) >> _U2
        pk = h[_U3 * parent]
        if pk <= key:
            break
        h[_U3 * i] = pk
        h[_U3 * i + _U1] = h[_U3 * parent + _U1]
        h[_U3 * i + _U2] = h[_U3 * parent + _U2]
        i = parent
    h[_U3 * i] = key
    h[_U3 * i + _U1] = cell
    h[_U3 * i + _U2] = flag


@njit(cache=True, inline="always", boundscheck=False)
def _pop_into(h, size):
    """Remove the root of a heap of ``size`` items (size is the count *after* removal)."""
    n = np.uint64(size)
    key = h[_U3 * n]
    cell = h[_U3 * n + _U1]
    flag = h[_U3 * n + _U2]
    i = _U0
    while True:
        first = _U4 * i + _U1
        if first + _U3 < n:
            j = _U3 * first
            k0 = h[j]
            k1 = h[j + _U3]
            k2 = h[j + _U3 + _U3]
            k3 = h[j + _U3 + _U3 + _U3]
            c01 = first if k0 <= k1 else first + _U1
            m01 = min(k0, k1)
            c23 = first + _U2 if k2 <= k3 else first + _U3
            m23 = min(k2, k3)
            child = c01 if m01 <= m23 else c23
            best = min(m01, m23)
        elif first < n:
            child = first
            best = h[_U3 * first]
            j = first + _U1
            while j < n:
                if h[_U3 * j] < best:
                    best = h[_U3 * j]
                    child = j
                j += _U1
        else:
            break
        if best >= key:
            break
        h[_U3 * i] = best
        h[_U3 * i + _U1] = h[_U3 * child + _U1]
        h[_U3 * i + _U2] = h[_U3 * child + _U2]
        i = child
    h[_U3 * i] = key
    h[_U3 * i + _U1] = cell
    h[_U3 * i + _U2] = flag


@njit(cache=True)
def _grow(h):
    """The heap array at twice its capacity (contents kept)."""
    h2 = np.empty(2 * h.size, np.int64)
    h2[: h.size] = h
    return h2


@njit(cache=True, boundscheck=False)
def _search(values, starts, cell, diagonal, limit):  # pragma: no cover - compiled
    nrows, ncols = values.shape
    costs = values.ravel()  # a view for a C-contiguous grid
    w = ncols + 2
    # blocked flags on a grid padded by one cell: border, NaN/inf cells, settled cells
    blocked = np.ones((nrows + 2) * w, np.uint8)
    out = np.empty(nrows * ncols)
    dist = out.ravel()
    for r in range(nrows):
        base = r * ncols
        fbase = (r + 1) * w + 1
        for c in range(ncols):
            x = costs[base + c]
            if np.isfinite(x):
                blocked[fbase + c] = 0
                dist[base + c] = np.inf
            elif np.isnan(x):
                dist[base + c] = np.nan
            else:
                dist[base + c] = np.inf
    dbits = dist.view(np.int64)
    cap = 4096
    h = np.empty(_SLOTS * cap, np.int64)
    size = 0
    half = 0.5 * cell
    half_diag = 0.5 * cell * np.sqrt(2.0)
    # neighbour offsets in the flag array and in the output (rook first, then diagonal)
    # as unsigned (wrapping) offsets: unsigned indices skip numba's negative-index test
    offf = np.array([-w, w, -1, 1, -w - 1, -w + 1, w - 1, w + 1]).view(np.uint64)
    offd = np.array([-ncols, ncols, -1, 1, -ncols - 1, -ncols + 1, ncols - 1, ncols + 1]).view(
        np.uint64
    )
    n_nb = 8 if diagonal else 4
    ncols_u = np.uint64(ncols)
    w_u = np.uint64(w)
    for s in starts:
        f = s + 2 * (s // ncols) + w + 1
        if blocked[f] == 0 and dist[s] > 0.0:
            dist[s] = 0.0
            if size == cap:
                h = _grow(h)
                cap *= 2
            _push(h, size, dbits[s], s, f)
            size += 1
    while size > 0:
        u = np.uint64(h[1])
        fu = np.uint64(h[2])
        size -= 1
        if size > 0:
            _pop_into(h, size)
            # the next cell's neighbourhood is loaded while this one is worked on (a hint:
            # a push may overtake it); rows above the first wrap to an address the hint
            # ignores
            nx = np.uint64(h[1])
            fx = np.uint64(h[2])
            _prefetch(dist, nx - ncols_u)
            _prefetch(dist, nx)
            _prefetch(dist, nx + ncols_u)
            _prefetch(costs, nx - ncols_u)
            _prefetch(costs, nx)
            _prefetch(costs, nx + ncols_u)
            _prefetch(blocked, fx - w_u)
            _prefetch(blocked, fx)
            _prefetch(blocked, fx + w_u)
        if blocked[fu]:  # settled before with a lower cost (lazy deletion)
            continue
        d = dist[u]
        if d > limit:
            break
        blocked[fu] = 1
        ru = np.float64(costs[u])
        for k in range(n_nb):
            fv = fu + offf[k]
            if blocked[fv]:
                continue
            v = u + offd[k]
            nd = d + (ru + np.float64(costs[v])) * (half if k < 4 else half_diag)
            if nd < dist[v]:
                dist[v] = nd
                if size == cap:
                    h = _grow(h)
                    cap *= 2
                _push(h, size, dbits[v], np.int64(v), np.int64(fv))
                size += 1
    if limit < np.inf:
        for i in range(dist.size):
            if dist[i] > limit:
                dist[i] = np.inf
    return out.reshape(nrows, ncols)


def grid_dijkstra(
    costs: np.ndarray, starts: np.ndarray, cell: float, diagonal: bool, limit: float
) -> np.ndarray:
    """Least accumulated cost from the nearest start cell to every cell.

    Parameters
    ----------
    costs : 2-D float64 or float32 array
        Resistance per cell; ``inf`` = impassable, ``NaN`` = outside (never entered).
        Other dtypes are converted to float64.
    starts : 1-D integer array
        Flat indices of the source cells (cost 0); blocked ones are ignored.
    cell : float
        Cell size (the rook step length).
    diagonal : bool
        Allow the four diagonal steps (8 neighbours).
    limit : float
        Stop at this accumulated cost (``inf``: no limit); farther cells stay ``inf``.

    Returns
    -------
    2-D float64 array
        Accumulated cost, ``inf`` where unreachable, ``NaN`` where ``costs`` is ``NaN``.

    Examples
    --------
    >>> grid_dijkstra(np.array([[2.0, 6.0], [1.0, 3.0]]), np.array([0]), 10.0, True, np.inf)
    array([[ 0., 40.],
           [15., 35.]])
    """
    if costs.dtype not in (np.float64, np.float32):
        costs = costs.astype(np.float64)
    costs = np.ascontiguousarray(costs)
    return _search(
        costs, np.asarray(starts, dtype=np.int64), float(cell), bool(diagonal), float(limit)
    )
