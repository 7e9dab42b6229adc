"""The project's own float32 smoothed-aggregation AMG (``method="mixed"``).

Float64 conjugate gradients on the reduced Laplacian stored once in float32, preconditioned
by a float32 smoothed-aggregation W-cycle whose hierarchy is built here, level by level,
from pyamg's aggregation kernels (``standard_aggregation``, ``fit_candidates``,
``amg_core.gauss_seidel``) but not by ``pyamg.smoothed_aggregation_solver``.

Why not simply call pyamg
-------------------------
pyamg (``method="amg"``, :mod:`~cami_atlas.connectivity.solvers.amg`) stays the
reference: it is tested to give the same solution (``tests/connectivity/test_solvers.py``:
the three solvers agree to 1e-6 relative on the same system) and the same first hierarchy
level to float32 round-off (``test_circuit.py::test_lean_hierarchy_level_equals_pyamg``).
It is written anew because, on the raster Laplacians of the circuit modes, pyamg costs
about twice the memory and 1.7 to 2.7 times the time (figures from
``benchmarks/RESULTS.md``: all-to-one current, 4 focal points, 8 neighbours, a shared
2-core machine, so +-20 %; and the project's performance notes):

* **Memory per cell.** 16 M cells (4000 x 4000): 197.7 bytes/cell peak with this solver
  against 422.5 with pyamg; 4 M cells pairwise: 960 MB against 1,820 MB. The aim of 16 M
  cells under 200 bytes/cell on 2 cores is only reached here.
* **A float32 hierarchy.** One float32 CSR Laplacian (76 bytes/cell) is both the
  hierarchy's finest level and, widened block by block with an exact float64 diagonal
  correction (:class:`_Float32Laplacian`), the operator of the float64 CG; pyamg needs the
  float64 matrix (112 bytes/cell) and builds every level in its dtype. Pure float32 CG
  stalls near a relative residual of 1e-3, hence float64 outside, float32 inside. After
  the setup the finest level keeps its diagonal only next to the grounds
  (:func:`~.kernels.drop_laplacian_diagonal`: 68 bytes/cell; the kernels recompute it),
  and the CG never stores ``A p`` (:func:`~.pcg.pcg`): pairwise, 5 focal points, 16 M
  cells, the peak went from 210.8 to 190.1 bytes/cell.
* **Setup copies.** pyamg's setup copies the whole matrix several times (``abs(A)``,
  ``D^-1 A``, ``w D^-1 A``) and peaked about 170 bytes/cell above the matrix at 16 M
  cells; the lean setup (:func:`_sa_level`) peaks at 72, in 10 s instead of 14 to 19 s
  (pyamg also spends most of its coarse-level time in scipy's BSR ``abs`` and
  ``sum_duplicates``: 0.7 to 1.6 s of a 1 to 2.5 s setup on 1000 x 1000).
* **W-cycle iterations.** The own cycle (:class:`_VCycle`: forward Gauss-Seidel before,
  backward after, two coarse corrections per level, block-wise residual restriction and
  prolongation without fine-level temporaries) needs 8 CG iterations per solve at 16 M
  cells, where pyamg's V-cycle needs 10 and a V-cycle with the same smoother 12 to 13
  (on 2000 x 2000: 3.6 s per solve instead of 5.5 s). The three solves of the benchmark
  took 44.9 s CPU (24 iterations) against 77.3 s with pyamg (30 iterations).
* **Whole run.** 16 M cells: 49.0 s wall with this solver, 134.7 s with pyamg (same
  1e-6 tolerance; at 1000 x 1000 both give the exact LU voltages to 1.5e-8).

Forked ``workers`` (:class:`~cami_atlas.connectivity.solvers.laplacian.LaplacianSolver`)
share this hierarchy copy-on-write. Memory is accounted by
:attr:`MixedAmgSolver.nbytes` (float32 matrix plus hierarchy).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pyamg
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .amg import DEFAULT_AMG_OPTIONS
from .base import Solver, sparse_nbytes
from .kernels import (
    csr_arrays,
    drop_laplacian_diagonal,
    gauss_seidel_strips,
    gs_strip_bounds,
    laplacian32_matvec,
    laplacian32_quadratic,
    laplacian32_subtract,
    prolong_add32,
    residual_restrict32,
)

__all__ = ["MixedAmgSolver"]

_SETUP_CHUNK_ROWS = 1 << 20


# -- sparse views and memory ------------------------------------------------------------------
def _trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``).

    The setup frees many arrays of a few MB that glibc keeps in its heap rather than
    unmapping them; on a 4000 x 4000 grid that held about 5 bytes per cell of resident
    memory through the solves. A no-op where glibc is not the C library."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _view(
    cls: type, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, shape: tuple[int, int]
) -> Any:
    """A CSR/CSC matrix on existing arrays, without copying them.

    scipy's constructors copy any index or data view smaller than half of its base
    array (``_prune_array``, to free the base), so a block of rows built from slices
    was a copy of the block; setting the public attributes of an empty matrix keeps
    the views."""
    m = cls(shape, dtype=data.dtype)
    m.data, m.indices, m.indptr = data, indices, indptr
    return m


def _rows(a: sp.csr_matrix, r0: int, r1: int, *, transpose: bool = False) -> Any:
    """Rows ``r0:r1`` of a CSR matrix as a view (or their transpose, as a CSC view)."""
    s0, s1 = int(a.indptr[r0]), int(a.indptr[r1])
    ptr = np.subtract(a.indptr[r0 : r1 + 1], s0, dtype=a.indptr.dtype)
    if transpose:
        return _view(sp.csc_matrix, a.data[s0:s1], a.indices[s0:s1], ptr, (a.shape[1], r1 - r0))
    return _view(sp.csr_matrix, a.data[s0:s1], a.indices[s0:s1], ptr, (r1 - r0, a.shape[1]))


# -- the float32-stored operator ------------------------------------------------------------
class _Float32Laplacian(spla.LinearOperator):
    """float64 products with a grounded Laplacian stored as a float32 CSR matrix.

    ``y = A32 x + c x`` in float64 arithmetic (the float32 values are widened chunk by
    chunk, never as a whole float64 copy), with the float64 diagonal correction
    ``c = to_ground - A32 1``: the rows of the operator then sum exactly to each
    node's conductance to ground, as a grounded Laplacian's do. The operator is thus
    *exactly* the grounded Laplacian of a network whose conductances are the true ones
    rounded to float32 (relative change <= 6e-8), and its solution differs from the
    float64 network's by at most about that relative amount (Rayleigh's monotonicity
    law). Using the float32 diagonal as it is would not be safe: its rounding acts as
    conductances to ground of either sign, up to 6e-8 of each diagonal, which on a
    large grid can exceed the smallest eigenvalue of the grounded Laplacian (about
    1e-8 of the diagonal for 16 million cells and one ground).

    The correction is not stored: ``A32 1`` is recomputed in float64 during each product
    from the float32 values already widened for it (exactly the float64 sums a stored
    copy would hold; one threaded pass, :func:`~.kernels.laplacian32_matvec`), and
    ``to_ground`` is kept only where it is non-zero (the few nodes next to a ground).
    Memory: just the float32 CSR, shared with the AMG hierarchy's finest level (whose
    diagonal the setup drops where the kernels can recompute it; the products never read
    it).
    """

    def __init__(self, a32: sp.csr_matrix, to_ground: np.ndarray) -> None:
        super().__init__(dtype=np.float64, shape=a32.shape)
        self.a32 = a32
        to_ground = np.asarray(to_ground, dtype=np.float64)
        self.ground_rows = np.flatnonzero(to_ground)
        self.ground_conductance = to_ground[self.ground_rows]

    def _product(self, x: np.ndarray) -> np.ndarray:
        a = self.a32
        y = np.empty(a.shape[0])
        # A32 x minus the float64 row sums (the diagonal becomes the sum of the
        # off-diagonals), one threaded pass (kernels.laplacian32_matvec)
        laplacian32_matvec(*csr_arrays(a), np.ascontiguousarray(x), y)
        # plus the conductances to ground
        y[self.ground_rows] += self.ground_conductance * x[self.ground_rows]
        return y

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x).reshape(-1)
        if x.dtype != np.float32:  # float32 is read as it is (widened entry by entry)
            x = x.astype(np.float64, copy=False)
        return self._product(x)

    # products for the conjugate gradients that never store ``A p`` (:func:`~.pcg.pcg`)
    def quadratic(self, p: np.ndarray) -> float:
        """``p . (A p)`` in float64, one pass, no product vector."""
        s = laplacian32_quadratic(*csr_arrays(self.a32), p)
        pg = p[self.ground_rows].astype(np.float64)
        return float(s + np.dot(self.ground_conductance * pg, pg))

    def subtract_product(self, p: np.ndarray, alpha: float, r: np.ndarray) -> None:
        """``r -= alpha * (A p)`` in float64, in place, no product vector."""
        laplacian32_subtract(*csr_arrays(self.a32), p, float(alpha), r)
        gr = self.ground_rows
        r[gr] -= alpha * (self.ground_conductance * p[gr].astype(np.float64))

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)  # symmetric


# -- hierarchy setup --------------------------------------------------------------------------
def _sa_levels(
    a: sp.csr_matrix, opts: dict[str, Any]
) -> list[tuple[sp.csr_matrix, sp.csr_matrix | None]]:
    """A smoothed-aggregation hierarchy built one level at a time, every level in CSR.

    pyamg keeps coarse levels as 1 x 1 block BSR matrices, on which its setup spends
    most of its time in scipy's BSR ``abs`` / ``sum_duplicates`` (on a 1000 x 1000
    8-neighbour grid: 0.7 to 1.6 s of a 1 to 2.5 s setup). Calling
    ``pyamg.smoothed_aggregation_solver`` with ``max_levels=2`` on each level's CSR
    matrix gives the same aggregates and prolongators without that cost. Used with
    user-given pyamg options; returns ``[(A_0, P_0), ..., (A_coarsest, None)]``.
    """
    opts = dict(opts)
    max_levels = int(opts.pop("max_levels", 10))
    max_coarse = int(opts.pop("max_coarse", 500))
    for key in ("keep", "B", "coarse_solver"):
        opts.pop(key, None)
    b = np.ones((a.shape[0], 1), dtype=a.dtype)
    levels: list[tuple[sp.csr_matrix, sp.csr_matrix | None]] = []
    while a.shape[0] > max_coarse and len(levels) < max_levels - 1:
        ml = pyamg.smoothed_aggregation_solver(
            a, B=b, max_levels=2, max_coarse=max_coarse, keep=False, **opts
        )
        if len(ml.levels) < 2:
            break
        p = sp.csr_matrix(ml.levels[0].P)
        coarse = sp.csr_matrix(ml.levels[1].A)
        b = np.asarray(ml.levels[1].B, dtype=a.dtype)
        del ml
        levels.append((a, p))
        a = coarse
    levels.append((a, None))
    return levels


def _sa_level(
    a: sp.csr_matrix, b: np.ndarray, omega: float = 4.0 / 3.0
) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray] | None:
    """One smoothed-aggregation level as :data:`DEFAULT_AMG_OPTIONS` defines it, lean.

    pyamg's standard aggregation of ``a`` itself (``strength=None``) and its tentative
    prolongator ``T`` fitted to the candidates ``b``; then ``P = T - w D^-1 A T`` with
    ``D`` the absolute row sums (``weighting="local"``) and the Galerkin product
    ``P^T A P`` summed over row blocks. Same arithmetic as
    ``pyamg.smoothed_aggregation_solver``, without its whole-matrix copies (``abs(A)``,
    the scaled ``D^-1 A``, ``w * D^-1 A``), which made its setup peak at about 170
    bytes per cell above the float32 matrix on a 4000 x 4000 grid. Returns ``(P,
    A_coarse, b_coarse)``, or None when nothing coarsens.
    """
    n = a.shape[0]
    agg, _ = pyamg.aggregation.standard_aggregation(a)
    n_coarse = agg.shape[1]
    if n_coarse == 0 or n_coarse >= n:
        return None
    t, b_coarse = pyamg.aggregation.fit_candidates(agg, b)
    del agg
    t = sp.csr_matrix(t, dtype=a.dtype)
    d = np.empty(n, dtype=np.float64)
    for r0 in range(0, n, _SETUP_CHUNK_ROWS):
        r1 = min(n, r0 + _SETUP_CHUNK_ROWS)
        d[r0:r1] = np.asarray(abs(_rows(a, r0, r1)).sum(axis=1, dtype=np.float64)).ravel()
    w = np.zeros(n, dtype=a.dtype)
    w[d != 0] = omega / d[d != 0]
    del d
    at = sp.csr_matrix(a @ t)
    at.data *= np.repeat(w, np.diff(at.indptr))
    del w
    p = sp.csr_matrix(t - at)
    del t, at
    # Galerkin product by row blocks; the blocks' (row, col, value) triplets are summed
    # once at the end (adding each block to a growing sum cost O(blocks x nnz))
    rows, cols, vals = [], [], []
    for r0 in range(0, n, _SETUP_CHUNK_ROWS):
        r1 = min(n, r0 + _SETUP_CHUNK_ROWS)
        part = (_rows(p, r0, r1, transpose=True) @ (_rows(a, r0, r1) @ p)).tocoo()
        rows.append(part.row.astype(np.int32))
        cols.append(part.col.astype(np.int32))
        vals.append(part.data)
        del part
    coarse = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_coarse, n_coarse),
    )
    del rows, cols, vals
    coarse = sp.csr_matrix(coarse)  # sums the duplicates
    coarse = sp.csr_matrix((coarse + coarse.T) * 0.5)  # exactly symmetric despite round-off
    coarse.sort_indices()
    return p, coarse, np.asarray(b_coarse, dtype=a.dtype)


def _sa_levels_lean(
    a: sp.csr_matrix, *, max_coarse: int = 500, max_levels: int = 10
) -> list[tuple[sp.csr_matrix, sp.csr_matrix | None]]:
    """The hierarchy of :data:`DEFAULT_AMG_OPTIONS` built with :func:`_sa_level`."""
    b = np.ones((a.shape[0], 1), dtype=a.dtype)
    levels: list[tuple[sp.csr_matrix, sp.csr_matrix | None]] = []
    while a.shape[0] > max_coarse and len(levels) < max_levels - 1:
        out = _sa_level(a, b)
        if out is None:
            break
        p, coarse, b = out
        levels.append((a, p))
        a = coarse
    levels.append((a, None))
    return levels


# -- the cycle ------------------------------------------------------------------------------
class _VCycle:
    """One multigrid W-cycle on a smoothed-aggregation hierarchy, in its precision.

    A forward Gauss-Seidel sweep before the coarse correction and a backward one after
    it (the cycle is then a symmetric operator; on a 1000 x 1000 8-neighbour grid this
    takes 10 CG iterations instead of 9 with pyamg's two symmetric sweeps, for about
    15 % less time), restriction by ``P^T`` (no stored ``R``), two coarse-grid
    corrections per level (W-cycle: on a 2000 x 2000 grid 8 CG iterations instead of
    13 to 14 with a V-cycle, 3.6 s instead of 5.5 s per solve; the coarse levels are
    9 times smaller each, so the second visit costs little), dense LU at the coarsest
    level. The input and output are ``float64``; everything inside is
    in the hierarchy's dtype (``float32`` for method ``"mixed"``). Being symmetric, it
    is a valid conjugate-gradient preconditioner; its ``float32`` round-off only
    changes how fast CG converges, not the ``float64`` residual CG drives below ``tol``.
    (The name is historical: the cycle was a V-cycle first.)
    """

    def __init__(self, levels: list[tuple[sp.csr_matrix, sp.csr_matrix | None]]) -> None:
        self.A = [a for a, _ in levels]
        self.P = [p for _, p in levels[:-1]]
        self.dtype = self.A[0].dtype
        self.shape = self.A[0].shape
        # dense LU of the coarsest level (nonsingular: every component is grounded);
        # an SVD pseudo-inverse of the same ~500 x 500 matrix took up to 2.5 s here
        self.coarse = sla.lu_factor(self.A[-1].toarray().astype(np.float64))
        # strips of rows swept in parallel by the Gauss-Seidel smoother, per level
        self.strips = [gs_strip_bounds(a) for a in self.A[:-1]]

    def _sweep(self, level: int, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
        a = self.A[level]
        gauss_seidel_strips(*csr_arrays(a), x, b, self.strips[level], forward)

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        last = len(self.A) - 1
        if level == last:
            return sla.lu_solve(self.coarse, b.astype(np.float64)).astype(self.dtype)
        a, p = self.A[level], self.P[level]
        x = np.zeros(b.shape, dtype=self.dtype)
        self._sweep(level, x, b, True)
        # restriction of the residual, fused (no fine-level residual vector)
        rc = residual_restrict32(
            *csr_arrays(a), x, b, *csr_arrays(p), p.shape[1], numba.get_num_threads()
        )
        ec = self._cycle(level + 1, rc)
        if level + 1 < last:  # W-cycle: a second coarse-grid correction
            r2 = self.A[level + 1] @ ec
            np.subtract(rc, r2, out=r2)
            ec += self._cycle(level + 1, r2)
            del r2
        del rc
        prolong_add32(*csr_arrays(p), ec, x)  # prolongation, threaded
        del ec
        self._sweep(level, x, b, False)
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """The cycle applied to ``r``, in the hierarchy's dtype (CG widens it as it
        uses it, never as a whole float64 copy). The finest level reads a float ``r``
        as it is (no copy in the hierarchy's dtype: 4 bytes per node less for a float64
        ``r``); its smoother and residual are then computed from the wider values."""
        b = np.asarray(r)
        if b.dtype.kind != "f":
            b = b.astype(self.dtype)
        return self._cycle(0, b)

    @property
    def nbytes(self) -> int:
        """Bytes held by the hierarchy's matrices."""
        return sparse_nbytes(*self.A, *self.P) + int(self.coarse[0].nbytes)


# -- the solver -------------------------------------------------------------------------------
class MixedAmgSolver(Solver):
    """float64 CG on a float32-stored Laplacian, preconditioned by a float32 W-cycle.

    The system is kept as a :class:`_Float32Laplacian` (a float CSR matrix given to the
    constructor is converted: float32 values, the float64 row sums as the conductances to
    ground). With ``options=None`` the hierarchy of :data:`DEFAULT_AMG_OPTIONS` is built
    by the lean setup; other pyamg options build it level by level with pyamg.

    Examples
    --------
    Three 1-ohm resistors in a chain, its far end grounded, 1 A in at the near end:

    >>> import scipy.sparse as sp
    >>> chain = sp.diags([[-1.0, -1.0], [1.0, 2.0, 2.0], [-1.0, -1.0]], [-1, 0, 1])
    >>> s = MixedAmgSolver(chain)
    >>> s.solve(np.array([1.0, 0.0, 0.0])).round(6).tolist()
    [3.0, 2.0, 1.0]
    >>> s.matrix.a32.dtype
    dtype('float32')
    """

    name = "mixed"

    @classmethod
    def system(
        cls,
        *,
        graph: Any = None,
        laplacian: sp.csr_matrix | None = None,
        grounds: np.ndarray,
        keep: np.ndarray,
    ) -> _Float32Laplacian:
        """One float32 CSR (the hierarchy's finest level) with its float64 correction."""
        if graph is not None:
            a32 = graph.laplacian(grounds=grounds, dtype=np.float32)
            to_ground = graph._ground_conductance(grounds)[keep]
        else:
            full = sp.csr_matrix(laplacian)
            a32 = sp.csr_matrix(full[keep][:, keep].astype(np.float32))
            to_ground = -np.asarray(
                full[keep][:, ~keep].astype(np.float32).astype(np.float64).sum(axis=1)
            ).ravel()
        return _Float32Laplacian(a32, to_ground)

    def _prepare(self, matrix: Any) -> _Float32Laplacian:
        if isinstance(matrix, _Float32Laplacian):
            return matrix
        a = sp.csr_matrix(super()._prepare(matrix), dtype=np.float64)
        # conductance to ground of each row: its sum; round-off of rows with no edge to a
        # ground (1e-16 of the diagonal) is dropped, far below any real conductance
        to_ground = np.asarray(a.sum(axis=1)).ravel()
        to_ground[np.abs(to_ground) <= 1e-12 * np.abs(a.diagonal())] = 0.0
        return _Float32Laplacian(sp.csr_matrix(a.astype(np.float32)), to_ground)

    def _setup(self, options: dict[str, Any] | None) -> None:
        a32 = self.matrix.a32
        if options is not None:
            opts = dict(options)
            opts.setdefault("keep", False)
            levels = _sa_levels(a32, opts)
        else:
            levels = _sa_levels_lean(a32, max_coarse=int(DEFAULT_AMG_OPTIONS["max_coarse"]))
        self._state = _VCycle(levels)
        del levels
        # the finest level's diagonal is not needed any more where it is minus the sum of
        # the off-diagonals (every row without an edge to a ground): the products, the
        # smoother and the residual recompute it (8 bytes per node less while solving)
        drop_laplacian_diagonal(a32, np.sort(self.matrix.ground_rows))
        _trim_heap()

    def preconditioner(self) -> _VCycle:
        return self._state

    def _state_nbytes(self) -> int:
        """Bytes of the hierarchy below the finest level (which is the system matrix)."""
        return self._state.nbytes - sparse_nbytes(self._state.A[0])
