"""Multi-threaded (numba) kernels of the ``"mixed"`` solver's conjugate gradients and cycle.

Why these are hand-written where numpy, scipy or pyamg could do the same arithmetic
(figures: 2000 x 2000 8-neighbour grid, pairwise mode with 5 focal points, 2 cores):

* :func:`dot_widened` -- ``u @ v`` with ``u`` float64 and ``v`` float32. numpy needs
  ``v`` widened first (a copy, 4 bytes per node more, or a loop of blocks): the
  block loop with OpenBLAS's threaded ``ddot`` took 7.9 s of a 35 s run (28 products of
  4 M entries, 0.28 s each, on a loaded machine); one fused threaded loop takes
  milliseconds and no memory.
* :func:`laplacian32_matvec` -- the float64 product with the float32-stored grounded
  Laplacian (:class:`~cami_atlas.connectivity.solvers.amg_mixed._Float32Laplacian`):
  ``y_i = sum_j a_ij x_j - (sum_j a_ij) x_i`` in float64. With scipy it was a loop of
  widened blocks, a row-sum by ``np.add.reduceat`` and three passes over ``y``, one
  thread (scipy's sparse products hold the GIL); here it is one pass over the matrix,
  rows split between the threads.
* :func:`laplacian32_quadratic`, :func:`laplacian32_subtract`, :func:`add_scaled` --
  the conjugate-gradient steps ``p . A p``, ``r -= alpha A p`` and ``x += alpha p``
  without the product vector ``q = A p`` and with a float32 ``p`` read as it is
  (:func:`~cami_atlas.connectivity.solvers.pcg.pcg`). numpy/scipy would need ``q``
  (8 bytes per node) and, for a float32 ``p``, a widened copy (8 more). With the cycle
  reading the float64 residual without a float32 copy, the one-component label array as
  a broadcast view and the grounds' mask built on demand, this took the peak of the
  pairwise circuit (5 focal points, 4000 x 4000 cells) from 210.8 to 198.5 bytes per
  cell, at the price of a second pass over the matrix per iteration (the whole run was
  not slower: 57-72 s against 74-86 s, shared machine).
* :func:`drop_laplacian_diagonal` -- the finest level's diagonal removed in place after
  the setup where it is minus the sum of the off-diagonals (scipy has no in-place way:
  ``A - diags(A.diagonal())`` plus ``eliminate_zeros`` copies the matrix, 68 bytes per
  node, at the moment the whole hierarchy is alive); the smoother and the residual
  restriction below recompute it. 8 bytes per node less while solving: 198.5 -> 190.1
  bytes per cell for the pairwise circuit above, and the solves were faster (less
  matrix to read).
* :func:`gauss_seidel_strips` -- the cycle's smoother. pyamg's ``gauss_seidel`` is
  sequential (and holds the GIL). Rows are cut into an even number of strips wider than
  the matrix bandwidth (:func:`gs_strip_bounds`), so even strips do not touch each other,
  nor odd ones: all even strips are swept at once, then all odd strips. That is exact
  Gauss-Seidel in another row order (strip by strip), the backward sweep exactly its
  reverse, so the cycle stays symmetric and a valid CG preconditioner. Where a row
  couples strips further apart (a merged focal region, a scrambled coarse level), the
  sweep is sequential.
* :func:`residual_restrict32` -- ``P^T (b - A x)`` fused, by per-thread partial coarse
  sums (scipy needs a fine residual vector, or a loop of row blocks, and a transposed
  CSC view, single-threaded); :func:`prolong_add32` -- ``x += P e`` over rows, threaded,
  no temporaries.

Each kernel is tested against its numpy/scipy/pyamg reference
(``tests/connectivity/test_solver_kernels.py``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

#: Rows from which the cycle's kernels split their work between threads. Starting the
#: threads costs little on an idle machine but up to milliseconds on a loaded one (a
#: thread waits for a core); coarse levels are swept hundreds of times per solve, so
#: they stay sequential (on 2000 x 2000, threads on every level made the cycle slower
#: than pyamg's sequential one).
PARALLEL_MIN_ROWS = 1 << 18

__all__ = [
    "PARALLEL_MIN_ROWS",
    "add_scaled",
    "csr_arrays",
    "dot_widened",
    "drop_laplacian_diagonal",
    "gauss_seidel_strips",
    "gs_strip_bounds",
    "laplacian32_matvec",
    "laplacian32_quadratic",
    "laplacian32_subtract",
    "prolong_add32",
    "residual_restrict32",
]


def csr_arrays(m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, data)`` of a CSR matrix, the index arrays viewed as unsigned.

    numba checks every signed index for wrap-around (a negative index counts from the
    end); unsigned views of the same memory skip that test, which made the matrix
    product about 1.6 times faster (48 -> 30 ms on 4 M rows, one thread).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> ptr, idx, val = csr_arrays(sp.csr_matrix(np.eye(2, dtype=np.float32)))
    >>> idx.dtype.kind, ptr.tolist()
    ('u', [0, 1, 2])
    """

    def unsigned(a: np.ndarray) -> np.ndarray:
        return a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind == "i" else a

    return unsigned(m.indptr), unsigned(m.indices), m.data


@njit(parallel=True, cache=True, error_model="numpy")
def dot_widened(u: np.ndarray, v: np.ndarray) -> float:
    """``sum(u * v)`` in float64, ``v`` of any float dtype (widened entry by entry).

    Examples
    --------
    >>> float(dot_widened(np.array([1.0, 2.0]), np.array([3.0, 4.0], dtype=np.float32)))
    11.0
    """
    s = 0.0
    for i in prange(u.shape[0]):
        s += u[i] * np.float64(v[i])
    return s


@njit(inline="always", cache=True, error_model="numpy")
def _laplacian_row(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                   x: np.ndarray, i: int) -> float:
    """Row ``i`` of ``A x - rowsum(A) * x`` in float64 (inlined into the kernels below)."""
    acc = 0.0
    rsum = 0.0
    for k in range(indptr[i], indptr[i + 1]):
        v = np.float64(data[k])
        acc += v * x[indices[k]]
        rsum += v
    return acc - rsum * np.float64(x[i])


@njit(parallel=True, cache=True, error_model="numpy")
def laplacian32_matvec(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, x: np.ndarray, y: np.ndarray
) -> None:
    """``y = A x - rowsum(A) * x`` in float64 for a float32 CSR ``A`` (``y`` written).

    With ``A`` a grounded Laplacian stored in float32, this is the product with the same
    matrix whose diagonal is replaced by the float64 sum of its off-diagonals (a graph
    Laplacian without grounds); the caller adds the conductances to ground.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[3.0, -1.0], [-1.0, 2.0]], dtype=np.float32))
    >>> y = np.empty(2)
    >>> laplacian32_matvec(a.indptr, a.indices, a.data, np.array([1.0, 0.0]), y)
    >>> y.tolist()          # rows sum to 0: [[1, -1], [-1, 1]] @ [1, 0]
    [1.0, -1.0]
    """
    n = indptr.shape[0] - 1
    for i in prange(n):
        y[i] = _laplacian_row(indptr, indices, data, x, i)


@njit(parallel=True, cache=True, error_model="numpy")
def laplacian32_quadratic(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, x: np.ndarray
) -> float:
    """``x . (A x - rowsum(A) * x)`` in float64 (the product of
    :func:`laplacian32_matvec` dotted with ``x``, no vector stored); ``x`` float32 or
    float64.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[3.0, -1.0], [-1.0, 2.0]], dtype=np.float32))
    >>> float(laplacian32_quadratic(a.indptr, a.indices, a.data, np.array([1.0, 0.0])))
    1.0
    """
    n = indptr.shape[0] - 1
    s = 0.0
    for i in prange(n):
        s += np.float64(x[i]) * _laplacian_row(indptr, indices, data, x, i)
    return s


@njit(parallel=True, cache=True, error_model="numpy")
def laplacian32_subtract(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    x: np.ndarray,
    alpha: float,
    y: np.ndarray,
) -> None:
    """``y -= alpha * (A x - rowsum(A) * x)`` in float64, in place (no product vector).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[3.0, -1.0], [-1.0, 2.0]], dtype=np.float32))
    >>> y = np.zeros(2)
    >>> laplacian32_subtract(a.indptr, a.indices, a.data, np.array([1.0, 0.0]), 2.0, y)
    >>> y.tolist()
    [-2.0, 2.0]
    """
    n = indptr.shape[0] - 1
    for i in prange(n):
        y[i] -= alpha * _laplacian_row(indptr, indices, data, x, i)


@njit(parallel=True, cache=True, error_model="numpy")
def add_scaled(y: np.ndarray, alpha: float, x: np.ndarray) -> None:
    """``y += alpha * x`` in float64, ``x`` of any float dtype (no widened copy).

    Examples
    --------
    >>> y = np.ones(2)
    >>> add_scaled(y, 0.5, np.array([2.0, 4.0], dtype=np.float32))
    >>> y.tolist()
    [2.0, 3.0]
    """
    for i in prange(y.shape[0]):
        y[i] += alpha * np.float64(x[i])


@njit(cache=True, error_model="numpy")
def _gs_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    x: np.ndarray,
    b: np.ndarray,
    start: int,
    stop: int,
    step: int,
) -> None:
    """pyamg's ``gauss_seidel`` on rows ``range(start, stop, step)``, in the data dtype.

    A row without a stored diagonal entry is a Laplacian row whose diagonal is minus
    the sum of its off-diagonals (:func:`drop_laplacian_diagonal`)."""
    zero = data.dtype.type(0)
    for i in range(start, stop, step):
        diag = zero
        rsum = zero
        vsum = zero
        has_diag = False
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j == i:
                diag += data[k]
                has_diag = True
            else:
                rsum += data[k] * x[j]
                vsum += data[k]
        if not has_diag:
            diag = -vsum
        if diag != zero:
            x[i] = (b[i] - rsum) / diag


@njit(cache=True, error_model="numpy")
def _drop_diagonal(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, keep_rows: np.ndarray
) -> int:
    n = indptr.shape[0] - 1
    w = 0
    g = 0
    for i in range(n):
        while g < keep_rows.shape[0] and keep_rows[g] < i:
            g += 1
        keep = g < keep_rows.shape[0] and keep_rows[g] == i
        s = indptr[i]
        e = indptr[i + 1]
        indptr[i] = w  # the old indptr[i + 1] is read before it is overwritten
        for k in range(s, e):
            j = indices[k]
            if j == i and not keep:
                continue
            indices[w] = j
            data[w] = data[k]
            w += 1
    indptr[n] = w
    return w


def drop_laplacian_diagonal(a, keep_rows: np.ndarray) -> None:
    """Remove the diagonal entries of a CSR Laplacian in place, except in ``keep_rows``.

    A row of a (grounded) graph Laplacian that has no edge to a ground sums to zero: its
    diagonal is minus the sum of its off-diagonals, which the kernels here
    (:func:`laplacian32_matvec`, the smoother, the residual) recompute where it is not
    stored. Rows with a conductance to ground (``keep_rows``, sorted) keep theirs. The
    value and index arrays are shrunk in place (``ndarray.resize``: no second copy; 8
    bytes per row less for float32 values and int32 indices), or copied when they do not
    own their memory.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[1.0, -1, 0], [-1, 2, -1], [0, -1, 2]], np.float32))
    >>> drop_laplacian_diagonal(a, np.array([2]))
    >>> a.toarray().tolist()
    [[0.0, -1.0, 0.0], [-1.0, 0.0, -1.0], [0.0, -1.0, 2.0]]
    """
    nnz = _drop_diagonal(a.indptr, a.indices, a.data, np.asarray(keep_rows, dtype=np.int64))
    for name in ("indices", "data"):
        arr = getattr(a, name)
        if arr.flags.owndata and arr.base is None:
            arr.resize(nnz, refcheck=False)
        else:
            setattr(a, name, arr[:nnz].copy())


@njit(parallel=True, cache=True, error_model="numpy")
def _gs_strips_parallel(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    x: np.ndarray,
    b: np.ndarray,
    bounds: np.ndarray,
    forward: bool,
) -> None:
    ns = bounds.shape[0] - 1
    for c in range(2):
        colour = c if forward else 1 - c
        for t in prange((ns - colour + 1) // 2):
            s = 2 * t + colour
            if forward:
                _gs_rows(indptr, indices, data, x, b, bounds[s], bounds[s + 1], 1)
            else:
                _gs_rows(indptr, indices, data, x, b, bounds[s + 1] - 1, bounds[s] - 1, -1)


def gauss_seidel_strips(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    x: np.ndarray,
    b: np.ndarray,
    bounds: np.ndarray,
    forward: bool,
) -> None:
    """One Gauss-Seidel sweep strip by strip: even strips at once, then odd ones.

    ``bounds`` (from :func:`gs_strip_bounds`) cut the rows into strips such that a row
    only couples to rows of its own and the two adjacent strips. The forward sweep goes
    through even strips (each forward), then odd ones; the backward sweep is its exact
    reverse (odd strips, then even, each backward). With ``bounds = [0, n]`` it is
    pyamg's sequential sweep.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[2.0, -1.0], [-1.0, 2.0]], dtype=np.float32))
    >>> x = np.zeros(2, dtype=np.float32)
    >>> gauss_seidel_strips(a.indptr, a.indices, a.data, x, np.ones(2, np.float32),
    ...                     np.array([0, 2]), True)
    >>> x.tolist()
    [0.5, 0.75]
    """
    if len(bounds) <= 2:  # one strip: the sequential sweep, no threads to start
        n = len(indptr) - 1
        if forward:
            _gs_rows(indptr, indices, data, x, b, 0, n, 1)
        else:
            _gs_rows(indptr, indices, data, x, b, n - 1, -1, -1)
        return
    _gs_strips_parallel(indptr, indices, data, x, b, bounds, forward)


@njit(cache=True, error_model="numpy")
def _strips_valid(indptr: np.ndarray, indices: np.ndarray, bounds: np.ndarray) -> bool:
    """True when every row of strip ``s`` couples only to strips ``s - 1 .. s + 1``."""
    ns = bounds.shape[0] - 1
    for s in range(ns):
        lo = bounds[max(s - 1, 0)]
        hi = bounds[min(s + 2, ns)]
        for i in range(bounds[s], bounds[s + 1]):
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if j < lo or j >= hi:
                    return False
    return True


def gs_strip_bounds(a, n_threads: int | None = None, min_rows: int | None = None) -> np.ndarray:
    """Strip boundaries for :func:`gauss_seidel_strips` on the CSR matrix ``a``.

    ``4 * threads`` strips of equal rows when each couples only to its neighbours;
    ``[0, n]`` (one strip: the sequential sweep) when the matrix has fewer than
    ``min_rows`` rows (default :data:`PARALLEL_MIN_ROWS`), there is one thread, or a row
    couples further (then no strip order is free of races).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> chain = sp.diags([-np.ones(999), 2 * np.ones(1000), -np.ones(999)], [-1, 0, 1])
    >>> gs_strip_bounds(chain.tocsr(), 2, min_rows=0).tolist()
    [0, 125, 250, 375, 500, 625, 750, 875, 1000]
    >>> gs_strip_bounds(chain.tocsr(), 1, min_rows=0).tolist()
    [0, 1000]
    >>> gs_strip_bounds(chain.tocsr(), 2).tolist()    # too small to pay for the threads
    [0, 1000]
    """
    n = a.shape[0]
    threads = numba.get_num_threads() if n_threads is None else int(n_threads)
    single = np.array([0, n], dtype=np.int64)
    ns = 4 * threads
    min_rows = PARALLEL_MIN_ROWS if min_rows is None else int(min_rows)
    if threads < 2 or n < max(64 * ns, min_rows):
        return single
    bounds = np.linspace(0, n, ns + 1).astype(np.int64)
    if not _strips_valid(a.indptr, a.indices, bounds):
        return single
    return bounds


@njit(cache=True, error_model="numpy")
def _prolong_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    e: np.ndarray,
    x: np.ndarray,
    r0: int,
    r1: int,
) -> None:
    for i in range(r0, r1):
        acc = data.dtype.type(0)
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * e[indices[k]]
        x[i] += acc


@njit(parallel=True, cache=True, error_model="numpy")
def _prolong_parallel(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    e: np.ndarray,
    x: np.ndarray,
    n_parts: int,
) -> None:
    n = indptr.shape[0] - 1
    for t in prange(n_parts):
        _prolong_rows(indptr, indices, data, e, x, (n * t) // n_parts, (n * (t + 1)) // n_parts)


def prolong_add32(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, e: np.ndarray, x: np.ndarray
) -> None:
    """``x += P e`` for a CSR prolongator ``P``, rows split between the threads (from
    :data:`PARALLEL_MIN_ROWS` rows on).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> p = sp.csr_matrix(np.array([[1.0], [0.5]], dtype=np.float32))
    >>> x = np.ones(2, np.float32)
    >>> prolong_add32(p.indptr, p.indices, p.data, np.array([2.0], np.float32), x)
    >>> x.tolist()
    [3.0, 2.0]
    """
    n = len(indptr) - 1
    threads = numba.get_num_threads()
    if threads < 2 or n < PARALLEL_MIN_ROWS:
        _prolong_rows(indptr, indices, data, e, x, 0, n)
    else:
        _prolong_parallel(indptr, indices, data, e, x, threads)


@njit(cache=True, error_model="numpy")
def _residual_restrict_rows(
    a_ptr: np.ndarray,
    a_idx: np.ndarray,
    a_val: np.ndarray,
    x: np.ndarray,
    b: np.ndarray,
    p_ptr: np.ndarray,
    p_idx: np.ndarray,
    p_val: np.ndarray,
    out: np.ndarray,
    r0: int,
    r1: int,
) -> None:
    for i in range(r0, r1):
        acc = a_val.dtype.type(0)
        vsum = a_val.dtype.type(0)
        has_diag = False
        for k in range(a_ptr[i], a_ptr[i + 1]):
            j = a_idx[k]
            acc += a_val[k] * x[j]
            if j == i:
                has_diag = True
            else:
                vsum += a_val[k]
        if not has_diag:  # a Laplacian row stored without its diagonal (-vsum)
            acc -= vsum * x[i]
        ri = b[i] - acc
        for k in range(p_ptr[i], p_ptr[i + 1]):
            out[p_idx[k]] += p_val[k] * ri


@njit(parallel=True, cache=True, error_model="numpy")
def _residual_restrict_parallel(
    a_ptr: np.ndarray,
    a_idx: np.ndarray,
    a_val: np.ndarray,
    x: np.ndarray,
    b: np.ndarray,
    p_ptr: np.ndarray,
    p_idx: np.ndarray,
    p_val: np.ndarray,
    parts: np.ndarray,
) -> None:
    n = a_ptr.shape[0] - 1
    n_parts = parts.shape[0]
    for t in prange(n_parts):
        _residual_restrict_rows(
            a_ptr,
            a_idx,
            a_val,
            x,
            b,
            p_ptr,
            p_idx,
            p_val,
            parts[t],
            (n * t) // n_parts,
            (n * (t + 1)) // n_parts,
        )


def residual_restrict32(
    a_ptr: np.ndarray,
    a_idx: np.ndarray,
    a_val: np.ndarray,
    x: np.ndarray,
    b: np.ndarray,
    p_ptr: np.ndarray,
    p_idx: np.ndarray,
    p_val: np.ndarray,
    n_coarse: int,
    n_parts: int,
) -> np.ndarray:
    """``P^T (b - A x)`` without the fine residual vector: each of ``n_parts`` row
    blocks (one per thread, from :data:`PARALLEL_MIN_ROWS` rows on) computes its rows'
    residuals and adds them into its own coarse vector (no shared writes); the blocks'
    vectors are then summed. The coarse vector has the dtype of ``x``; ``b`` may be wider
    (the cycle's finest level reads the float64 CG residual as it is).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[2.0, -1.0], [-1.0, 2.0]], dtype=np.float32))
    >>> p = sp.csr_matrix(np.array([[1.0], [0.5]], dtype=np.float32))
    >>> x, b = np.zeros(2, np.float32), np.ones(2, np.float32)
    >>> residual_restrict32(a.indptr, a.indices, a.data, x, b, p.indptr, p.indices,
    ...                     p.data, 1, 2).tolist()
    [1.5]
    """
    n = len(a_ptr) - 1
    if n_parts < 2 or n < PARALLEL_MIN_ROWS:
        out = np.zeros(n_coarse, dtype=x.dtype)
        _residual_restrict_rows(a_ptr, a_idx, a_val, x, b, p_ptr, p_idx, p_val, out, 0, n)
        return out
    parts = np.zeros((n_parts, n_coarse), dtype=x.dtype)
    _residual_restrict_parallel(a_ptr, a_idx, a_val, x, b, p_ptr, p_idx, p_val, parts)
    return parts.sum(axis=0, dtype=x.dtype)
