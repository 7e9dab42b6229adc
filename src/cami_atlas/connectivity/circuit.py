"""Circuit theory on the raster graph (Circuitscape's raster modes, written anew).

The resistance grid becomes a graph of conductances (:mod:`.graph`); focal nodes
(habitat cores or points) are its terminals. Every mode is solved through one
:class:`LaplacianSolver` set up once and reused for every right-hand side:

* **pairwise** -- for every pair of focal nodes ``(a, b)``, 1 A enters at ``a`` and
  ``b`` is grounded; the effective resistance is the voltage of ``a``. The
  cumulative current map sums the current of every pair. Only ``k - 1`` solves are
  needed for ``k`` focal nodes in one component: each pair's field is the difference of
  two columns of the grounded Green's function (superposition).
* **one-to-all** (Circuitscape's definition) -- for each focal node in turn, 1 A enters
  there and *all other* focal nodes are tied directly to ground; the reported value is
  the source's voltage, i.e. the effective resistance between it and the set of the
  others. The small Dirichlet problem is solved on the focal nodes only (the Kron
  reduction of the Laplacian), reusing the pairwise columns.
* **all-to-one** (Circuitscape's definition) -- for each focal node in turn, it is
  grounded and 1 A enters at *every other* focal node; by superposition the same
  ``k - 1`` columns as pairwise give every ground's field.

For large grids ``method="mixed"`` (float32 storage and AMG hierarchy, float64
conjugate gradients) takes about half the memory and time of ``"amg"``, and
``workers=2`` solves independent right-hand sides in forked processes.

Current maps follow Circuitscape: the current through a node is the larger of its
total outflow and total inflow; cells of a merged focal region all show the region's
current. Disconnected parts are solved per connected component (one ground per
component): resistances between components are ``inf`` and a
:class:`~cami_atlas.errors.DisconnectedGraphWarning` is issued, never a crash.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyamg
import scipy.linalg as sla
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import shapely
from rasterio.features import rasterize
from scipy.sparse.csgraph import connected_components

from .._options import check_option
from ..errors import CRSError, DisconnectedGraphWarning, SchemaError
from ..interop import as_grid
from ..raster import Grid
from .graph import Average, RasterGraph, raster_graph

__all__ = [
    "CircuitResult",
    "LaplacianSolver",
    "circuit_all_to_one",
    "circuit_one_to_all",
    "circuit_pairwise",
    "current_map",
    "effective_resistance",
    "focal_labels",
    "pinch_points",
]

Method = Literal["amg", "direct", "mixed"]
Focal = Any  # Grid | ndarray of labels | GeoDataFrame/GeoSeries | (k, 2) coordinates

#: pyamg options used by default: smoothed aggregation, standard aggregation, the
#: constant vector as near-null space and no candidate improvement (exact for a
#: Laplacian). ``strength=None`` treats every connection as strong: for a graph
#: Laplacian (all off-diagonals negative) it gives the same aggregates as symmetric
#: strength with ``theta=0`` without building a copy of the matrix (same hierarchy,
#: ~100 bytes/cell less peak memory). The Jacobi prolongation smoother uses ``local``
#: (Gershgorin) weighting instead of an Arnoldi estimate of the spectral radius: on a
#: 500 x 500 8-neighbour grid the setup drops from ~3.5 s to ~0.3 s CPU and its peak by
#: ~140 bytes/cell (the Krylov vectors), for ~30 % more CG iterations (10 -> 13 at 1e-6).
#: The coarsest level is solved by a dense LU factorization (``coarse_solver="lu"``)
#: rather than pyamg's default SVD pseudo-inverse, which took up to 2.5 s on a
#: ~500 x 500 coarsest matrix of a 60 x 70 grid on this machine (LU: ~0.01 s).
DEFAULT_AMG_OPTIONS: dict[str, Any] = {
    "symmetry": "hermitian",
    "strength": None,
    "smooth": ("jacobi", {"omega": 4.0 / 3.0, "weighting": "local"}),
    "aggregate": "standard",
    "improve_candidates": None,
    "max_coarse": 500,
    "coarse_solver": "lu",
}


class LaplacianSolver:
    """Solve ``L v = i`` for a graph Laplacian, grounded once per connected component.

    The Laplacian of a connected graph is singular (voltages are defined up to a
    constant). One node per component is tied to ground (0 V) and left out, which makes
    the reduced matrix symmetric positive definite. The setup (AMG hierarchy or sparse
    LU) is done once; :meth:`solve` then takes any number of right-hand sides. A ground
    node absorbs whatever current its component's injections do not balance.

    Parameters
    ----------
    laplacian : scipy sparse matrix, optional
        A symmetric graph Laplacian (rows sum to 0). Give this or ``graph``.
    graph : RasterGraph, optional
        A raster graph; its reduced Laplacian is assembled directly (no full copy).
    grounds : sequence of int, optional
        Preferred ground nodes: each component is grounded at the first of these
        that it holds, else at its lowest-numbered node.
    method : {"amg", "direct", "mixed"}
        ``"amg"``: pyamg smoothed-aggregation preconditioned conjugate gradients (the
        default), all in float64. ``"direct"``: a sparse LU factorization
        (``scipy.sparse.linalg.splu``; exact, for small and medium graphs).
        ``"mixed"``: the fastest and leanest for large grids -- float64 conjugate
        gradients on the Laplacian stored once in float32 (products in float64 with
        an exact float64 diagonal correction, see :class:`_Float32Laplacian`),
        preconditioned by a float32 smoothed-aggregation V-cycle built without
        pyamg's whole-matrix copies. The residual is driven below ``tol`` in float64
        as for ``"amg"``; the only other difference is that conductances are rounded
        to float32 (6e-8 relative), far below ``tol``.
    tol : float
        Relative residual tolerance of the conjugate gradients (``amg``).
    amg_options : dict, optional
        Options for ``pyamg.smoothed_aggregation_solver`` (default
        :data:`DEFAULT_AMG_OPTIONS`).
    workers : int
        Processes solving independent right-hand sides at once in the circuit modes
        (``amg`` and ``mixed``; forked, sharing the setup copy-on-write and writing into
        shared memory; POSIX only, else 1). Each extra worker adds its own CG work
        vectors (about 40 bytes per node). Default 1.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> lap = sp.csr_matrix(np.array([[1.0, -1, 0], [-1, 2, -1], [0, -1, 1]]))
    >>> s = LaplacianSolver(lap, grounds=[2], method="direct")
    >>> s.solve(np.array([1.0, 0, 0])).round(6).tolist()   # 1 A from node 0 to node 2
    [2.0, 1.0, 0.0]
    """

    def __init__(self, laplacian: sp.spmatrix | sp.sparray | None = None, *,
                 graph: RasterGraph | None = None, grounds: Sequence[int] | None = None,
                 method: Method = "amg", tol: float = 1e-6,
                 amg_options: dict[str, Any] | None = None, workers: int = 1) -> None:
        check_option("method", method, ("amg", "direct", "mixed"))
        if not isinstance(workers, (int, np.integer)) or isinstance(workers, bool) \
                or workers < 1:
            raise SchemaError(f"workers must be an integer >= 1; got {workers!r}.")
        self.workers = int(workers)
        if (laplacian is None) == (graph is None):
            raise SchemaError("give exactly one of laplacian= or graph= to LaplacianSolver.")
        if not tol > 0:
            raise SchemaError(f"tol must be > 0; got {tol}.")
        self.method = method
        self.tol = float(tol)
        #: CG iterations of every solve so far (empty for the direct method)
        self.iterations: list[int] = []
        if graph is not None:
            self.n_nodes = graph.n_nodes
            self.component = graph.component
            self.n_components = graph.n_components
        else:
            laplacian = sp.csr_matrix(laplacian)
            if laplacian.shape[0] != laplacian.shape[1]:
                raise SchemaError(f"the Laplacian must be square; got {laplacian.shape}.")
            self.n_nodes = laplacian.shape[0]
            self.n_components, comp = connected_components(laplacian, directed=False)
            self.component = comp.astype(np.int32)
        self.grounds = _pick_grounds(self.component, self.n_components, grounds)
        keep = np.ones(self.n_nodes, dtype=bool)
        keep[self.grounds] = False
        self._sorted_grounds = np.sort(self.grounds)
        self._keep = keep
        if method == "mixed":
            # one float32 CSR serves the hierarchy's finest level and, with a float64
            # diagonal correction, the float64 products of the outer CG
            if graph is not None:
                a32 = graph.laplacian(grounds=self.grounds, dtype=np.float32)
                to_ground = graph._ground_conductance(self.grounds)[keep]
            else:
                full = sp.csr_matrix(laplacian)
                a32 = sp.csr_matrix(full[keep][:, keep].astype(np.float32))
                to_ground = -np.asarray(full[keep][:, ~keep].astype(np.float32)
                                        .astype(np.float64).sum(axis=1)).ravel()
            self.matrix = _Float32Laplacian(a32, to_ground)
            del to_ground, a32
        elif graph is not None:
            self.matrix = graph.laplacian(grounds=self.grounds)
        else:
            self.matrix = sp.csr_matrix(laplacian[keep][:, keep])
        self._setup(amg_options)

    def _setup(self, amg_options: dict[str, Any] | None) -> None:
        a = self.matrix
        self._lu = None
        self._ml = None
        self._vcycle = None
        if a.shape[0] == 0:
            return
        if self.method == "direct":
            self._lu = spla.splu(sp.csc_matrix(a), permc_spec="MMD_AT_PLUS_A")
            return
        opts = dict(DEFAULT_AMG_OPTIONS if amg_options is None else amg_options)
        opts.setdefault("keep", False)
        if self.method == "amg":
            self._ml = pyamg.smoothed_aggregation_solver(
                a, B=np.ones((a.shape[0], 1), dtype=a.dtype), **opts)
            _levels_to_csr(self._ml)
            return
        # mixed: a float32 hierarchy (of the float32 CSR) preconditions float64 CG
        levels = _sa_levels(a.a32, opts) if amg_options is not None else _sa_levels_lean(
            a.a32, max_coarse=int(DEFAULT_AMG_OPTIONS["max_coarse"]))
        self._vcycle = _VCycle(levels)
        _trim_heap()

    def _precondition(self) -> spla.LinearOperator | Any:
        if self._vcycle is not None:
            return self._vcycle
        if self._ml is not None:
            return self._ml.aspreconditioner(cycle="V")
        return spla.LinearOperator(self.matrix.shape, matvec=self._lu.solve,  # type: ignore[union-attr]
                                   dtype=np.float64)

    def _iterate(self, b: np.ndarray | int, matrix: Any = None,
                 out: np.ndarray | None = None) -> np.ndarray:
        """Preconditioned CG for one right-hand side of the reduced system (or the unit
        vector ``e_b`` when ``b`` is an int), accumulated in ``out`` when given."""
        a = self.matrix if matrix is None else matrix
        if not isinstance(b, int) and not np.any(b):
            return np.zeros(a.shape[0])
        x, rel, it = _pcg(a, b, self._precondition(), tol=self.tol, maxiter=1000, out=out)
        self.iterations.append(it)
        self._last_residual = rel
        if rel > self.tol:
            warnings.warn(f"conjugate gradients stopped at relative residual {rel:.2e} "
                          f"(tolerance {self.tol:.0e}); results may be inaccurate. Try "
                          "method='direct' on a small grid.", RuntimeWarning, stacklevel=4)
        return x

    @property
    def system_index(self) -> np.ndarray:
        """Row of each node in the reduced system (``-1`` for the grounds), computed on
        demand (an int64 per node is not kept)."""
        out = np.arange(self.n_nodes, dtype=np.int64)
        out -= np.searchsorted(self._sorted_grounds, out)
        out[~self._keep] = -1
        return out

    def _release(self) -> None:
        """Drop the matrix and the setup (AMG hierarchy or LU): the solver can no longer
        solve, but its ground and component data stay (memory for the current maps)."""
        self.matrix = sp.csr_matrix((0, 0))
        self._vcycle = self._ml = self._lu = None

    def _unit_solves(self, nodes: np.ndarray, *, matrix: Any = None) -> np.ndarray:
        """Voltages for 1 A into each of ``nodes`` (its ground absorbing it), one column
        per node (column-contiguous); zero columns for ground nodes and ``-1``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        todo = [j for j, node in enumerate(nodes) if node >= 0 and self._keep[node]]
        iterative = not (self.method == "direct" and matrix is None)
        workers = min(self.workers, len(todo)) if iterative and hasattr(os, "fork") else 1
        if workers <= 1:
            out = np.zeros((len(nodes), self.n_nodes)).T
            self._solve_share(todo, nodes, out, None, matrix)
            return out
        # fork workers: the setup is shared copy-on-write, the columns are written into
        # an anonymous shared mapping; (iterations, residual) come back the same way
        buf = mmap.mmap(-1, max(1, len(nodes) * self.n_nodes * 8))
        out = np.frombuffer(buf, dtype=np.float64).reshape(len(nodes), self.n_nodes).T
        stats = np.frombuffer(mmap.mmap(-1, len(nodes) * 16), dtype=np.float64
                              ).reshape(len(nodes), 2)
        ctx = multiprocessing.get_context("fork")
        shares = [todo[w::workers] for w in range(workers)]
        procs = [ctx.Process(target=self._solve_share, args=(sh, nodes, out, stats, matrix),
                             daemon=True) for sh in shares[1:]]
        for p in procs:
            p.start()
        self._solve_share(shares[0], nodes, out, stats, matrix)
        here = set(shares[0])
        for p, sh in zip(procs, shares[1:], strict=True):
            p.join()
            if p.exitcode != 0:  # a worker died (e.g. out of memory): redo its share here
                self._solve_share(sh, nodes, out, stats, matrix)
                here.update(sh)
        for j in todo:
            if j not in here:
                self.iterations.append(int(stats[j, 0]))
            if stats[j, 1] > self.tol:
                warnings.warn(f"conjugate gradients stopped at relative residual "
                              f"{stats[j, 1]:.2e} (tolerance {self.tol:.0e}); results may "
                              "be inaccurate. Try method='direct' on a small grid.",
                              RuntimeWarning, stacklevel=3)
        return out

    def _solve_share(self, share: list[int], nodes: np.ndarray, out: np.ndarray,
                     stats: np.ndarray | None, matrix: Any) -> None:
        """Solve the unit right-hand sides of columns ``share`` into ``out``."""
        n_sys = self.matrix.shape[0]
        for j in share:
            node = int(nodes[j])
            i = node - int(np.searchsorted(self._sorted_grounds, node))
            if self.method == "direct" and matrix is None:
                rhs = np.zeros(n_sys)
                rhs[i] = 1.0
                self._expand(self._lu.solve(rhs), out[:, j])  # type: ignore[union-attr]
                continue
            column = out[:, j]
            with warnings.catch_warnings(record=stats is not None):
                if len(self._sorted_grounds) <= _EXPAND_MAX_GROUNDS:
                    # solve straight into the column, then open the gaps of the grounds
                    self._iterate(i, matrix, out=column[:n_sys])
                    self._open_ground_gaps(column, n_sys)
                else:
                    self._expand(self._iterate(i, matrix), column)
            if stats is not None:
                stats[j] = (self.iterations[-1], self._last_residual)

    def _open_ground_gaps(self, column: np.ndarray, n_sys: int) -> None:
        """``column[:n_sys]`` holds system values: move them to their node positions
        in place (segments between grounds, last first) and put 0 at the grounds."""
        grounds = self._sorted_grounds
        ends = np.append(grounds[1:], len(column))
        for k in range(len(grounds) - 1, -1, -1):
            g, end = int(grounds[k]), int(ends[k])
            if end > g + 1:
                column[g + 1:end] = column[g - k:end - k - 1]
            column[g] = 0.0
        # nodes before the first ground stay where they are

    def _expand(self, x: np.ndarray, column: np.ndarray) -> None:
        """Write system values ``x`` into a node vector (0 at the grounds), by slices
        between the grounds when they are few (no index temporaries)."""
        grounds = self._sorted_grounds
        if len(grounds) > _EXPAND_MAX_GROUNDS:
            column[self._keep] = x
            return
        start = pos = 0
        for g in grounds:
            column[start:g] = x[pos:pos + g - start]
            column[g] = 0.0
            pos += g - start
            start = g + 1
        column[start:] = x[pos:]

    def solve(self, injections: np.ndarray, *, matrix: sp.csr_matrix | None = None) -> np.ndarray:
        """Node voltages (V) for net current ``injections`` (A) per node.

        Parameters
        ----------
        injections : array, shape (n_nodes,) or (n_nodes, m)
            Current entering each node (negative: leaving). What a component's
            injections do not balance leaves through its ground node.
        matrix : sparse matrix, optional
            A *modified* reduced matrix of the same size (e.g. a barrier removed). It
            is solved by conjugate gradients preconditioned with this solver's setup
            (AMG hierarchy or LU of the original), so nothing is set up again.

        Returns
        -------
        numpy.ndarray
            Voltages of the same shape, 0 at the ground nodes.
        """
        b = np.asarray(injections, dtype=float)
        one = b.ndim == 1
        if b.shape[0] != self.n_nodes or b.ndim > 2:
            raise SchemaError(f"injections must have {self.n_nodes} rows (one per node); got "
                              f"shape {b.shape}.")
        b2 = b.reshape(self.n_nodes, -1)
        out = np.zeros((b2.shape[1], self.n_nodes)).T  # column-contiguous
        if self.matrix.shape[0]:
            if self.method == "direct" and matrix is None:
                out[self._keep] = self._lu.solve(  # type: ignore[union-attr]
                    np.ascontiguousarray(b2[self._keep]))
            else:
                for j in range(b2.shape[1]):
                    out[self._keep, j] = self._iterate(b2[self._keep, j], matrix)
        return out[:, 0] if one else out

    def modified_matrix(self, laplacian_delta: sp.spmatrix) -> sp.csr_matrix | spla.LinearOperator:
        """The reduced matrix after adding ``laplacian_delta`` (full node numbering).

        A CSR matrix, or a linear operator (the matrix-free operator plus the sparse
        change) when this solver is matrix-free (``method="mixed"`` on a cell graph).
        """
        d = sp.csr_matrix(laplacian_delta)[self._keep][:, self._keep]
        if isinstance(self.matrix, spla.LinearOperator):
            return self.matrix + spla.aslinearoperator(d)
        return sp.csr_matrix(self.matrix + d)


def _levels_to_csr(ml: Any) -> None:
    """pyamg stores coarse levels and transfer operators as 1 x 1 block BSR; CSR kernels
    do the same arithmetic about 2 to 4 times faster (a V-cycle on a 1000 x 1000 grid:
    0.24 s -> 0.15 s)."""
    for lvl in ml.levels:
        lvl.A = sp.csr_matrix(lvl.A)
        if hasattr(lvl, "P"):
            lvl.P = sp.csr_matrix(lvl.P)
            lvl.R = sp.csr_matrix(lvl.R)


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

    The correction is not stored: ``A32 1`` is recomputed in float64 block by block
    during each product from the float32 values already widened for it (exactly the
    float64 sums a stored copy would hold), and ``to_ground`` is kept only where it is
    non-zero (the few nodes next to a ground). Memory: just the float32 CSR, shared
    with the AMG hierarchy's finest level.
    """

    _CHUNK_ROWS = 1 << 15

    def __init__(self, a32: sp.csr_matrix, to_ground: np.ndarray) -> None:
        super().__init__(dtype=np.float64, shape=a32.shape)
        self.a32 = a32
        to_ground = np.asarray(to_ground, dtype=np.float64)
        self.ground_rows = np.flatnonzero(to_ground)
        self.ground_conductance = to_ground[self.ground_rows]

    def _product(self, x: np.ndarray) -> np.ndarray:
        a = self.a32
        n = a.shape[0]
        y = np.empty(n)
        for r0 in range(0, n, self._CHUNK_ROWS):
            r1 = min(n, r0 + self._CHUNK_ROWS)
            s0, s1 = int(a.indptr[r0]), int(a.indptr[r1])
            ptr = np.subtract(a.indptr[r0:r1 + 1], s0, dtype=a.indptr.dtype)
            vals = a.data[s0:s1].astype(np.float64)
            sub = _view(sp.csr_matrix, vals, a.indices[s0:s1], ptr, (r1 - r0, a.shape[1]))
            y[r0:r1] = sub @ x
            # minus the row sums: the diagonal becomes the sum of the off-diagonals
            sums = np.zeros(r1 - r0)
            full = np.diff(ptr) > 0
            if vals.size:
                sums[full] = np.add.reduceat(vals, ptr[:-1][full])
            y[r0:r1] -= sums * x[r0:r1]
        # plus the conductances to ground
        y[self.ground_rows] += self.ground_conductance * x[self.ground_rows]
        return y

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        return self._product(np.asarray(x, dtype=np.float64).reshape(-1))

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)  # symmetric


def _sa_levels(a: sp.csr_matrix, opts: dict[str, Any]
               ) -> list[tuple[sp.csr_matrix, sp.csr_matrix | None]]:
    """A smoothed-aggregation hierarchy built one level at a time, every level in CSR.

    pyamg keeps coarse levels as 1 x 1 block BSR matrices, on which its setup spends
    most of its time in scipy's BSR ``abs`` / ``sum_duplicates`` (on a 1000 x 1000
    8-neighbour grid: 0.7 to 1.6 s of a 1 to 2.5 s setup). Calling
    ``pyamg.smoothed_aggregation_solver`` with ``max_levels=2`` on each level's CSR
    matrix gives the same aggregates and prolongators without that cost. Returns
    ``[(A_0, P_0), ..., (A_coarsest, None)]``.
    """
    opts = dict(opts)
    max_levels = int(opts.pop("max_levels", 10))
    max_coarse = int(opts.pop("max_coarse", 500))
    for key in ("keep", "B", "coarse_solver"):
        opts.pop(key, None)
    b = np.ones((a.shape[0], 1), dtype=a.dtype)
    levels: list[tuple[sp.csr_matrix, sp.csr_matrix | None]] = []
    while a.shape[0] > max_coarse and len(levels) < max_levels - 1:
        ml = pyamg.smoothed_aggregation_solver(a, B=b, max_levels=2, max_coarse=max_coarse,
                                               keep=False, **opts)
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


_SETUP_CHUNK_ROWS = 1 << 20
_CYCLE_BLOCK_ROWS = 1 << 21  # rows per block of the cycle's residual and prolongation
_EXPAND_MAX_GROUNDS = 1000  # above this many grounds, expand by a boolean mask


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


def _view(cls: type, data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
          shape: tuple[int, int]) -> Any:
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
    ptr = np.subtract(a.indptr[r0:r1 + 1], s0, dtype=a.indptr.dtype)
    if transpose:
        return _view(sp.csc_matrix, a.data[s0:s1], a.indices[s0:s1], ptr,
                     (a.shape[1], r1 - r0))
    return _view(sp.csr_matrix, a.data[s0:s1], a.indices[s0:s1], ptr, (r1 - r0, a.shape[1]))


def _sa_level(a: sp.csr_matrix, b: np.ndarray, omega: float = 4.0 / 3.0
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
    coarse = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_coarse, n_coarse))
    del rows, cols, vals
    coarse = sp.csr_matrix(coarse)  # sums the duplicates
    coarse = sp.csr_matrix((coarse + coarse.T) * 0.5)  # exactly symmetric despite round-off
    coarse.sort_indices()
    return p, coarse, np.asarray(b_coarse, dtype=a.dtype)


def _sa_levels_lean(a: sp.csr_matrix, *, max_coarse: int = 500, max_levels: int = 10
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
    """

    def __init__(self, levels: list[tuple[sp.csr_matrix, sp.csr_matrix | None]]) -> None:
        self.A = [a for a, _ in levels]
        self.P = [p for _, p in levels[:-1]]
        self.dtype = self.A[0].dtype
        self.shape = self.A[0].shape
        # dense LU of the coarsest level (nonsingular: every component is grounded);
        # an SVD pseudo-inverse of the same ~500 x 500 matrix took up to 2.5 s here
        self.coarse = sla.lu_factor(self.A[-1].toarray().astype(np.float64))

    @staticmethod
    def _sweep(a: sp.csr_matrix, x: np.ndarray, b: np.ndarray, forward: bool) -> None:
        n = a.shape[0]
        start, stop, step = (0, n, 1) if forward else (n - 1, -1, -1)
        pyamg.amg_core.gauss_seidel(a.indptr, a.indices, a.data, x, b, start, stop, step)

    def _cycle(self, level: int, b: np.ndarray) -> np.ndarray:
        last = len(self.A) - 1
        if level == last:
            return sla.lu_solve(self.coarse, b.astype(np.float64)).astype(self.dtype)
        a, p = self.A[level], self.P[level]
        n = a.shape[0]
        x = np.zeros_like(b)
        self._sweep(a, x, b, True)
        # restriction of the residual, block by block (no fine-level residual vector)
        rc = np.zeros(p.shape[1], dtype=b.dtype)
        for r0 in range(0, n, _CYCLE_BLOCK_ROWS):
            r1 = min(n, r0 + _CYCLE_BLOCK_ROWS)
            r = _rows(a, r0, r1) @ x
            np.subtract(b[r0:r1], r, out=r)
            rc += _rows(p, r0, r1, transpose=True) @ r
            del r
        ec = self._cycle(level + 1, rc)
        if level + 1 < last:  # W-cycle: a second coarse-grid correction
            r2 = self.A[level + 1] @ ec
            np.subtract(rc, r2, out=r2)
            ec += self._cycle(level + 1, r2)
            del r2
        del rc
        for r0 in range(0, n, _CYCLE_BLOCK_ROWS):  # prolongation, block by block
            r1 = min(n, r0 + _CYCLE_BLOCK_ROWS)
            x[r0:r1] += _rows(p, r0, r1) @ ec
        del ec
        self._sweep(a, x, b, False)
        return x

    def __call__(self, r: np.ndarray) -> np.ndarray:
        """The cycle applied to ``r``, in the hierarchy's dtype (CG widens it as it
        uses it, never as a whole float64 copy)."""
        b = np.asarray(r, dtype=self.dtype)
        x = self._cycle(0, b)
        del b
        return x

    @property
    def nbytes(self) -> int:
        """Bytes held by the hierarchy's matrices."""
        mats = self.A + self.P
        return int(sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in mats)
                   + self.coarse[0].nbytes)


def _dot(u: np.ndarray, v: np.ndarray, block: int = 1 << 16) -> float:
    """``u @ v`` in float64 when ``v`` is float32, by blocks (no whole widened copy)."""
    if v.dtype == u.dtype:
        return float(u @ v)
    return float(sum(u[i:i + block] @ v[i:i + block].astype(u.dtype)
                     for i in range(0, len(u), block)))


def _pcg(a: Any, b: np.ndarray | int, prec: Any, *, tol: float, maxiter: int,
         out: np.ndarray | None = None) -> tuple[np.ndarray, float, int]:
    """Preconditioned conjugate gradients in float64 until ``|b - a x| <= tol |b|``.

    ``b`` is the right-hand side, or an int ``i`` for the unit vector ``e_i`` (not
    stored: 8 bytes per node less). The stopping test is confirmed on the true
    residual (recomputed, not the recursive one); if round-off made them drift apart,
    CG restarts from the true residual. Returns the solution, its true relative
    residual and the number of iterations.
    """
    apply = prec if callable(prec) and not isinstance(prec, spla.LinearOperator) \
        else prec.matvec
    n = a.shape[0]
    unit = isinstance(b, (int, np.integer))

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
        p = np.asarray(apply(r), dtype=np.float64)
        rz = float(r @ p)
        while it < maxiter:
            it += 1
            q = a @ p
            pq = float(p @ q)
            if rz == 0.0 or pq == 0.0:  # exact solution, or round-off floor reached
                break
            alpha = rz / pq
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
        r = residual(a @ x)  # the true residual
        rel_new = float(np.linalg.norm(r)) / nb
        if rel_new <= tol or rel_new >= rel:  # converged, or no progress since the restart
            rel = min(rel, rel_new)
            break
        rel = rel_new
    return x, rel, it


def _pick_grounds(component: np.ndarray, n_components: int,
                  preferred: Sequence[int] | None) -> np.ndarray:
    grounds = np.full(n_components, -1, dtype=np.int64)
    if preferred is not None:
        pref = np.asarray([p for p in preferred if p is not None and p >= 0], dtype=np.int64)
        if pref.size and pref.max() >= len(component):
            raise SchemaError(f"ground node {int(pref.max())} does not exist "
                              f"(the graph has {len(component)} nodes).")
        for p in pref[::-1]:  # the first preferred node of each component wins
            grounds[component[p]] = p
    missing = grounds < 0
    if missing.any():
        # lowest-numbered node of each component
        first = np.full(n_components, len(component), dtype=np.int64)
        np.minimum.at(first, component, np.arange(len(component)))
        grounds[missing] = first[missing]
    return grounds


# -- focal nodes ------------------------------------------------------------------------------
def focal_labels(grid: Grid, focal: Focal, *, id_column: str | None = None
                 ) -> tuple[np.ndarray, pd.Index]:
    """Cells of each focal node or core as an integer label array (0 = none).

    Parameters
    ----------
    grid : Grid
        The resistance grid.
    focal : Grid, array, GeoDataFrame/GeoSeries or (k, 2) coordinates
        * a Grid, or an integer array of the grid's shape, of positive ids (0 or NaN:
          none); cells sharing an id form one region (shorted into one node);
        * points, lines or polygons in the grid's CRS: each feature is a focal region
          (the cells whose centre it covers, plus the cell of its representative
          point), identified by ``id_column`` or the index;
        * a float array of ``(x, y)`` coordinates in the grid's CRS: ids ``1..k``.

    Returns
    -------
    labels : numpy.ndarray
        ``int64`` array of the grid's shape, ``1..k`` for the k focal nodes.
    ids : pandas.Index
        The id of each label (``ids[label - 1]``).

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.ones((2, 3)), Affine(1, 0, 0, 0, -1, 2), None)
    >>> lab, ids = focal_labels(g, np.array([[0.5, 1.5], [2.5, 0.5]]))
    >>> lab.tolist(), list(ids)
    ([[1, 0, 0], [0, 0, 2]], [1, 2])
    """
    rows, cols = grid.shape
    if isinstance(focal, Grid) or (isinstance(focal, np.ndarray) and focal.ndim == 2 and (
            np.issubdtype(focal.dtype, np.integer) or focal.dtype == bool)):
        arr = np.asarray(focal.values if isinstance(focal, Grid) else focal, dtype=float)
        if arr.shape != grid.shape:
            raise SchemaError(f"the focal grid has shape {arr.shape}; the resistance grid is "
                              f"{grid.shape}.")
        arr = np.where(np.isfinite(arr), arr, 0.0)
        if (arr < 0).any() or not np.array_equal(arr, np.round(arr)):
            raise SchemaError("focal labels must be non-negative integers (0 or NaN: none).")
        uniq = np.unique(arr[arr > 0]).astype(np.int64)
        lab = np.zeros(grid.shape, dtype=np.int64)
        pos = arr > 0
        lab[pos] = np.searchsorted(uniq, arr[pos].astype(np.int64)) + 1
        return lab, pd.Index(uniq, name="focal")
    if isinstance(focal, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if focal.crs is None or grid.crs is None:
            raise CRSError("the focal layer and the grid both need a CRS; set the CRS they are "
                           "actually in.")
        if not focal.crs.equals(grid.crs):
            raise CRSError(f"the focal layer is in {focal.crs.to_string()} but the grid is in "
                           f"{grid.crs.to_string()}; reproject it: focal.to_crs(grid.crs).")
        if id_column is not None:
            if not isinstance(focal, gpd.GeoDataFrame) or id_column not in focal.columns:
                raise SchemaError(f"the focal layer has no column {id_column!r}.")
            ids = pd.Index(focal[id_column], name=id_column)
        else:
            ids = pd.Index(focal.index, name=focal.index.name or "focal")
        if ids.has_duplicates:
            raise SchemaError(f"focal ids must be unique; duplicated: "
                              f"{list(ids[ids.duplicated()][:5])}.")
        geoms = focal.geometry.to_numpy()
        if (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
            raise SchemaError("some focal geometries are empty or missing; drop them first.")
        rep = shapely.get_coordinates(shapely.point_on_surface(geoms))
        r, c = grid.rowcol(rep[:, 0], rep[:, 1])
        _check_inside(grid, r, c)
        lab = rasterize(((g, k + 1) for k, g in enumerate(geoms)), out_shape=grid.shape,
                        transform=grid.transform, fill=0, all_touched=False, dtype="int32")
        lab = lab.astype(np.int64)
        lab[r, c] = np.arange(1, len(geoms) + 1)
        return lab, ids
    pts = np.asarray(focal, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise SchemaError(
            "focal must be a Grid or array of integer labels of the grid's shape, a "
            "GeoDataFrame/GeoSeries in the grid's CRS, or a (k, 2) array of x, y coordinates; "
            f"got {type(focal).__name__} of shape {getattr(pts, 'shape', None)}.")
    r, c = grid.rowcol(pts[:, 0], pts[:, 1])
    _check_inside(grid, r, c)
    flat = r * cols + c
    if len(np.unique(flat)) < len(flat):
        raise SchemaError("two focal points fall in the same cell; merge them or give a "
                          "finer grid.")
    lab = np.zeros(rows * cols, dtype=np.int64)
    lab[flat] = np.arange(1, len(flat) + 1)
    return lab.reshape(rows, cols), pd.Index(np.arange(1, len(flat) + 1), name="focal")


def _check_inside(grid: Grid, r: np.ndarray, c: np.ndarray) -> None:
    rows, cols = grid.shape
    out = (r < 0) | (r >= rows) | (c < 0) | (c >= cols)
    if out.any():
        raise SchemaError(f"{int(out.sum())} focal point(s) lie outside the grid (positions "
                          f"{np.flatnonzero(out)[:10].tolist()}); grid bounds {grid.bounds}. "
                          "Clip them or extend the grid.")


@dataclass
class _Focal:
    graph: RasterGraph
    solver: LaplacianSolver
    ids: pd.Index
    nodes: np.ndarray  # node of each focal id, -1 where it has no passable cell
    comp: np.ndarray   # component of each focal node, -1 where none
    columns: np.ndarray | None = field(default=None)  # (n_nodes, k) Green's columns
    matrix: sp.csr_matrix | None = field(default=None)  # a modified reduced matrix, if any

    @property
    def k(self) -> int:
        return len(self.ids)

    def green(self) -> np.ndarray:
        """Solve once for 1 A into each non-ground focal node (ground absorbs it)."""
        if self.columns is None:
            self.columns = self.solver._unit_solves(self.nodes, matrix=self.matrix)
        return self.columns

    def potentials(self) -> np.ndarray:
        """G[a, b]: voltage at focal a for 1 A into focal b (own component's ground at 0)."""
        x = self.green()
        g = np.zeros((self.k, self.k))
        ok = self.nodes >= 0
        g[np.ix_(ok, np.arange(self.k))] = x[self.nodes[ok]]
        return g

    def resistance_matrix(self) -> np.ndarray:
        g = self.potentials()
        d = np.diag(g)
        r = d[:, None] + d[None, :] - 2 * g
        same = (self.comp[:, None] == self.comp[None, :]) & (self.comp[:, None] >= 0)
        r = np.where(same, np.maximum(r, 0.0), np.inf)
        np.fill_diagonal(r, 0.0)
        return r


def _prepare(resistance: Grid, focal: Focal, *, neighbours: int, average: Average,
             method: Method, tol: float, id_column: str | None = None,
             amg_options: dict[str, Any] | None = None, workers: int = 1) -> _Focal:
    labels, ids = focal_labels(resistance, focal, id_column=id_column)
    if len(ids) < 2:
        raise SchemaError(f"circuit modes need at least 2 focal nodes; got {len(ids)}.")
    graph = raster_graph(resistance, neighbours=neighbours, average=average, regions=labels)
    nodes = np.full(len(ids), -1, dtype=np.int64)
    on = (labels > 0) & (graph.cell_node >= 0)
    nodes[labels[on] - 1] = graph.cell_node[on]
    solver = LaplacianSolver(graph=graph, grounds=nodes[nodes >= 0], method=method, tol=tol,
                             amg_options=amg_options, workers=workers)
    comp = np.where(nodes >= 0, graph.component[np.maximum(nodes, 0)], -1)
    out = _Focal(graph, solver, ids, nodes, comp)
    _warn_disconnected(out)
    return out


def _warn_disconnected(f: _Focal) -> None:
    dead = list(f.ids[f.nodes < 0])
    msgs = []
    if dead:
        msgs.append(f"focal node(s) {dead[:10]} lie only on impassable (inf) or NaN cells")
    live = f.comp[f.comp >= 0]
    if len(np.unique(live)) > 1:
        groups = {int(c): list(f.ids[f.comp == c][:5]) for c in np.unique(live)}
        msgs.append(f"the focal nodes fall in {len(groups)} disconnected parts of the graph "
                    f"(e.g. {list(groups.values())[:4]})")
    if msgs:
        warnings.warn("; ".join(msgs) + ": resistances between them are infinite and no "
                      "current flows between them. Check for inf barriers cutting the grid.",
                      DisconnectedGraphWarning, stacklevel=3)


def current_map(graph: RasterGraph, voltages: np.ndarray, *, name: str = "current_a") -> Grid:
    """Current through each cell (A) for node ``voltages``, as a Grid.

    ``NaN`` outside the study area, 0 on ``inf`` cells (see
    :meth:`RasterGraph.node_currents` for the definition).

    Examples
    --------
    >>> from affine import Affine
    >>> g = raster_graph(Grid(np.ones((1, 3)), Affine.identity(), None), neighbours=4)
    >>> current_map(g, np.array([2.0, 1.0, 0.0])).values.tolist()
    [[1.0, 1.0, 1.0]]
    """
    return graph.to_grid(graph.node_currents(voltages), name=name)


@dataclass(frozen=True)
class CircuitResult:
    """Output of the circuit modes.

    Attributes
    ----------
    mode : str
        ``"pairwise"``, ``"one-to-all"``, ``"all-to-one"`` (or ``"pinch points"``).
    resistances : DataFrame
        pairwise: the symmetric effective-resistance matrix (ids x ids, ``inf`` between
        disconnected focal nodes). one-to-all: one row per focal source with
        ``effective_resistance`` (to all other focal nodes grounded together).
        all-to-one: one row per grounded focal node with ``n_sources`` (focal nodes that
        reach it) and ``mean_source_voltage`` (V, for 1 A at each source).
    current : Grid
        Cumulative current over all solves (A per cell), ``NaN`` outside the study area.
    """

    mode: str
    resistances: pd.DataFrame
    current: Grid


def effective_resistance(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                         average: Average = "resistance", method: Method = "amg",
                         tol: float = 1e-6, id_column: str | None = None,
                         workers: int = 1) -> pd.DataFrame:
    """Effective-resistance matrix between focal nodes (pairwise mode without current maps).

    Parameters
    ----------
    resistance : Grid
        Resistance encoding (finite > 0, ``inf`` impassable, ``NaN`` outside).
    focal : see :func:`focal_labels`
    neighbours, average : see :func:`~cami_atlas.connectivity.graph.raster_graph`
    method, tol, workers : see :class:`LaplacianSolver`
    id_column : str, optional
        Id column of a focal GeoDataFrame (default its index).

    Returns
    -------
    DataFrame
        Symmetric, zero diagonal, ``inf`` between disconnected nodes; in cell-resistance
        units (Circuitscape's).

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 4)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> effective_resistance(row, np.array([[0.5, 0.5], [3.5, 0.5]]), neighbours=4,
    ...                      method="direct").round(6).values.tolist()
    [[0.0, 3.0], [3.0, 0.0]]
    """
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, workers=workers)
    return pd.DataFrame(f.resistance_matrix(), index=f.ids, columns=f.ids)


def circuit_pairwise(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                     average: Average = "resistance", method: Method = "amg",
                     tol: float = 1e-6, id_column: str | None = None,
                     workers: int = 1) -> CircuitResult:
    """Pairwise mode: effective resistances and the cumulative current of all pairs.

    ``k - 1`` solves for ``k`` focal nodes in one component, then each pair's field
    is the difference of two stored solutions (memory: ``k`` node vectors).

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 4)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> res = circuit_pairwise(row, np.array([[0.5, 0.5], [3.5, 0.5]]), neighbours=4)
    >>> res.current.values.round(6).tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, workers=workers)
    r = f.resistance_matrix()
    x = f.green()
    f.solver._release()  # only the k columns are needed from here on
    cum = np.zeros(f.graph.n_nodes)
    for a in range(f.k):
        for b in range(a + 1, f.k):
            if np.isfinite(r[a, b]) and f.comp[a] >= 0:
                cum += f.graph.node_currents(x[:, a] - x[:, b])
    return CircuitResult("pairwise", pd.DataFrame(r, index=f.ids, columns=f.ids),
                         f.graph.to_grid(cum, name="current_a"))


def _reduced_conductance(f: _Focal, members: np.ndarray) -> np.ndarray:
    """Kron-reduced Laplacian on the focal nodes ``members`` (one component)."""
    g = f.potentials()[np.ix_(members, members)]
    ground = np.isin(f.nodes[members], f.solver.grounds)
    inner = ~ground
    m = len(members)
    k = np.zeros((m, m))
    if inner.any():
        k_in = np.linalg.inv(g[np.ix_(inner, inner)])
        k[np.ix_(inner, inner)] = k_in
        gi = np.flatnonzero(ground)
        if gi.size:
            k[gi[0], inner] = -k_in.sum(axis=0)
            k[inner, gi[0]] = -k_in.sum(axis=1)
            k[gi[0], gi[0]] = k_in.sum()
    return k


def circuit_one_to_all(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                       average: Average = "resistance", method: Method = "amg",
                       tol: float = 1e-6, id_column: str | None = None,
                       workers: int = 1) -> CircuitResult:
    """One-to-all mode: 1 A into each focal node with all the others grounded.

    Circuitscape's definition (``onetoall_kernel``: the source gets the current, all
    other focal nodes are direct grounds). Solved with the ``k - 1`` pairwise columns
    and a ``k x k`` Dirichlet problem per source on the Kron-reduced Laplacian.

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 5)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> pts = np.array([[0.5, 0.5], [2.5, 0.5], [4.5, 0.5]])
    >>> res = circuit_one_to_all(row, pts, neighbours=4, method="direct")
    >>> res.resistances["effective_resistance"].round(6).tolist()   # 2, 2 || 2, 2
    [2.0, 1.0, 2.0]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, workers=workers)
    x = f.green()
    f.solver._release()  # only the k columns are needed from here on
    reff = np.full(f.k, np.inf)
    cum = np.zeros(f.graph.n_nodes)
    for c in np.unique(f.comp[f.comp >= 0]):
        members = np.flatnonzero(f.comp == c)
        if len(members) < 2:
            continue
        kmat = _reduced_conductance(f, members)
        for ai, a in enumerate(members):
            volt = 1.0 / kmat[ai, ai]
            reff[a] = volt
            inj = kmat[:, ai] * volt  # currents into each focal node (grounds negative)
            v = x[:, members] @ inj
            cum += f.graph.node_currents(v)
    table = pd.DataFrame({"effective_resistance": reff}, index=f.ids)
    return CircuitResult("one-to-all", table, f.graph.to_grid(cum, name="current_a"))


def circuit_all_to_one(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                       average: Average = "resistance", method: Method = "amg",
                       tol: float = 1e-6, id_column: str | None = None,
                       amg_options: dict[str, Any] | None = None,
                       workers: int = 1) -> CircuitResult:
    """All-to-one mode: each focal node grounded in turn, 1 A into every other one.

    Circuitscape's definition (``onetoall_kernel`` with ``is_alltoone``). By
    superposition only ``k - 1`` solves are needed for ``k`` focal nodes in one
    component (1 A into each focal node but the component's ground): the field of
    ground ``g`` is ``sum_j x_j - n_sources * x_g`` over its sources ``j``. Memory:
    ``k`` node vectors besides the solver. Sources in another component than the ground
    cannot reach it and are left out (warning).

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 3)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> pts = np.array([[0.5, 0.5], [2.5, 0.5]])
    >>> res = circuit_all_to_one(row, pts, neighbours=4, method="direct")
    >>> res.resistances["mean_source_voltage"].round(6).tolist()
    [2.0, 2.0]
    >>> res.current.values.round(6).tolist()   # 1 A each way, two solves
    [[2.0, 2.0, 2.0]]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, amg_options=amg_options, workers=workers)
    # superposition: the field of ground g with 1 A from each source j is
    # sum_j x_j - n_src * x_g, x_j = the grounded solution for 1 A into j
    x = f.green()
    f.solver._release()  # only the k columns are needed from here on
    cum = np.zeros(f.graph.n_nodes)
    n_src = np.zeros(f.k, dtype=np.int64)
    mean_v = np.full(f.k, np.nan)
    v = np.empty(f.graph.n_nodes)
    for g in range(f.k):
        if f.nodes[g] < 0:
            continue
        src = np.flatnonzero((f.comp == f.comp[g]) & (np.arange(f.k) != g))
        # sources sharing the ground's node (same merged region) carry nothing
        src = src[f.nodes[src] != f.nodes[g]]
        n_src[g] = len(src)
        if not len(src):
            continue
        np.multiply(x[:, g], -float(len(src)), out=v)
        for j in src:
            v += x[:, j]
        v -= v[f.nodes[g]]
        mean_v[g] = float(v[f.nodes[src]].mean())
        cum += f.graph.node_currents(v)
    del x, v
    table = pd.DataFrame({"n_sources": n_src, "mean_source_voltage": mean_v}, index=f.ids)
    return CircuitResult("all-to-one", table, f.graph.to_grid(cum, name="current_a"))


def pinch_points(resistance: Grid, corridor: Grid, focal: Focal, *,
                 max_corridor_value: float | None = None, neighbours: int = 8,
                 average: Average = "resistance", method: Method = "amg", tol: float = 1e-6,
                 id_column: str | None = None) -> CircuitResult:
    """Pinch points: pairwise current density inside least-cost corridors.

    Linkage Mapper's Pinchpoint Mapper approach: the resistance is clipped to the
    corridor (cells outside become ``NaN``; the focal cores are kept), then the
    pairwise circuit is run between the cores; narrow places where current
    concentrates are the pinch points.

    Parameters
    ----------
    resistance : Grid
        Resistance encoding.
    corridor : Grid
        A corridor on the same raster: boolean (True inside) or numeric, where finite
        values are inside (e.g. the normalised least-cost corridor mosaic of
        :func:`cami_atlas.connectivity.least_cost_corridors`: 0 on the least-cost
        paths, ``inf`` outside the corridors).
    focal : see :func:`focal_labels`
        The cores the corridors join.
    max_corridor_value : float, optional
        For numeric corridors: keep only cells whose value is at most this (a cost
        width cut-off).

    Returns
    -------
    CircuitResult
        mode ``"pinch points"``: effective resistances within the corridors, and the
        cumulative current (``NaN`` outside the corridors).

    Examples
    --------
    >>> from affine import Affine
    >>> r = Grid(np.ones((3, 3)), Affine(1, 0, 0, 0, -1, 3), None)
    >>> corr = Grid(np.array([[np.inf] * 3, [0.0, 0, 0], [np.inf] * 3]), r.transform, None)
    >>> res = pinch_points(r, corr, np.array([[0.5, 1.5], [2.5, 1.5]]), neighbours=4)
    >>> res.current.values[1].round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    if not isinstance(corridor, Grid) or corridor.shape != resistance.shape:
        raise SchemaError(f"corridor must be a Grid of the resistance grid's shape "
                          f"{resistance.shape}; got {getattr(corridor, 'shape', type(corridor))}.")
    vals = np.asarray(corridor.values)
    if vals.dtype == bool:
        inside = vals.copy()
    else:
        vals = vals.astype(float)
        inside = np.isfinite(vals)
        if max_corridor_value is not None:
            inside &= vals <= max_corridor_value
    labels, _ = focal_labels(resistance, focal, id_column=id_column)
    inside |= labels > 0
    if not inside.any():
        raise SchemaError("the corridor grid has no cell inside a corridor.")
    clipped = resistance.with_values(np.where(inside, np.asarray(resistance.values, float), np.nan),
                                     name="resistance in corridors")
    res = circuit_pairwise(clipped, focal, neighbours=neighbours, average=average,
                           method=method, tol=tol, id_column=id_column)
    cur = res.current.with_values(np.where(inside, res.current.values, np.nan),
                                  name="pinch_point_current_a")
    return CircuitResult("pinch points", res.resistances, cur)
