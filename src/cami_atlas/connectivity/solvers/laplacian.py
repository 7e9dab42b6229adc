"""Grounded graph-Laplacian systems: grounds per component, many right-hand sides, workers.

:class:`LaplacianSolver` turns the singular Laplacian of a graph into one SPD system
(one ground per connected component), sets up the chosen :class:`~.base.Solver` once,
and solves unit or general right-hand sides, in forked worker processes when asked.
"""

from __future__ import annotations

import mmap
import multiprocessing
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from ...errors import SchemaError
from .base import Method, Solver, get_solver, warn_unconverged

__all__ = ["LaplacianSolver"]

_EXPAND_MAX_GROUNDS = 1000  # above this many grounds, expand by a boolean mask


class LaplacianSolver:
    """Solve ``L v = i`` for a graph Laplacian, grounded once per connected component.

    The Laplacian of a connected graph is singular (voltages are defined up to a
    constant). One node per component is tied to ground (0 V) and left out, which makes
    the reduced matrix symmetric positive definite. The setup (AMG hierarchy or sparse
    LU, a :class:`~cami_atlas.connectivity.solvers.base.Solver` chosen by ``method``) is
    done once; :meth:`solve` then takes any number of right-hand sides. A ground node
    absorbs whatever current its component's injections do not balance.

    Parameters
    ----------
    laplacian : scipy sparse matrix, optional
        A symmetric graph Laplacian (rows sum to 0). Give this or ``graph``.
    graph : RasterGraph, optional
        A raster graph; its reduced Laplacian is assembled directly (no full copy).
    grounds : sequence of int, optional
        Preferred ground nodes: each component is grounded at the first of these
        that it holds, else at its lowest-numbered node.
    method : {"mixed", "amg", "direct"}
        ``"amg"``: pyamg smoothed-aggregation preconditioned conjugate gradients, all in
        float64 (the tested reference of ``"mixed"``). ``"direct"``: a sparse LU factorization
        (``scipy.sparse.linalg.splu``; exact, for small and medium graphs).
        ``"mixed"`` (the default): the fastest and leanest -- float64 conjugate
        gradients on the Laplacian stored once in float32 (products in float64 with
        an exact float64 diagonal correction), preconditioned by a float32
        smoothed-aggregation W-cycle built without pyamg's whole-matrix copies (see
        :mod:`~cami_atlas.connectivity.solvers.amg_mixed` for why and the figures).
        The residual is driven below ``tol`` in float64 as for ``"amg"``; the only
        other difference is that conductances are rounded to float32 (6e-8 relative),
        far below ``tol``.
    tol : float
        Relative residual tolerance of the conjugate gradients (``amg``).
    amg_options : dict, optional
        Options for ``pyamg.smoothed_aggregation_solver`` (default
        :data:`~cami_atlas.connectivity.solvers.amg.DEFAULT_AMG_OPTIONS`).
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

    def __init__(
        self,
        laplacian: sp.spmatrix | sp.sparray | None = None,
        *,
        graph: Any = None,
        grounds: Sequence[int] | None = None,
        method: Method = "mixed",
        tol: float = 1e-6,
        amg_options: dict[str, Any] | None = None,
        workers: int = 1,
    ) -> None:
        self._solver_cls: type[Solver] = get_solver(method)
        if not isinstance(workers, (int, np.integer)) or isinstance(workers, bool) or workers < 1:
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
        self._sorted_grounds = np.sort(self.grounds)
        self.matrix = self._solver_cls.system(
            graph=graph, laplacian=laplacian, grounds=self.grounds, keep=self._keep
        )
        self._setup(amg_options)

    @property
    def _keep(self) -> np.ndarray:
        """True for the nodes in the reduced system (all but the grounds), built on
        demand (a byte per node not held through the solves)."""
        keep = np.ones(self.n_nodes, dtype=bool)
        keep[self.grounds] = False
        return keep

    def _setup(self, amg_options: dict[str, Any] | None) -> None:
        """Set the solver up on ``self.matrix`` (hierarchy or factorisation)."""
        self._backend = self._solver_cls(self.matrix, tol=self.tol, options=amg_options)
        self.matrix = self._backend.matrix

    @property
    def solver(self) -> Solver:
        """The :class:`~cami_atlas.connectivity.solvers.base.Solver` set up."""
        return self._backend

    @property
    def nbytes(self) -> int:
        """Memory accounting: bytes of the system matrix and the setup."""
        return self._backend.nbytes

    def _iterate(
        self, b: np.ndarray | int, matrix: Any = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Preconditioned CG for one right-hand side of the reduced system (or the unit
        vector ``e_b`` when ``b`` is an int), accumulated in ``out`` when given."""
        a = self.matrix if matrix is None else matrix
        if not isinstance(b, int) and not np.any(b):
            return np.zeros(a.shape[0])
        x, rel, it = self._backend.iterate(b, matrix=matrix, out=out, tol=self.tol)
        self.iterations.append(it)
        self._last_residual = rel
        if rel > self.tol:
            warn_unconverged(rel, self.tol, stacklevel=4)
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
        self._backend.release()
        self.matrix = self._backend.matrix

    def _unit_solves(self, nodes: np.ndarray, *, matrix: Any = None) -> np.ndarray:
        """Voltages for 1 A into each of ``nodes`` (its ground absorbing it), one column
        per node (column-contiguous); zero columns for ground nodes and ``-1``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        grounds = set(self.grounds.tolist())
        todo = [j for j, node in enumerate(nodes) if node >= 0 and int(node) not in grounds]
        iterative = not (self._backend.exact and matrix is None)
        workers = min(self.workers, len(todo)) if iterative and hasattr(os, "fork") else 1
        if workers <= 1:
            out = np.zeros((len(nodes), self.n_nodes)).T
            self._solve_share(todo, nodes, out, None, matrix)
            return out
        return self._forked_unit_solves(todo, nodes, workers, matrix)

    def _forked_unit_solves(
        self, todo: list[int], nodes: np.ndarray, workers: int, matrix: Any
    ) -> np.ndarray:
        """:meth:`_unit_solves` shared among ``workers`` forked processes.

        The setup is shared copy-on-write, the columns are written into an anonymous
        shared mapping; (iterations, residual) come back the same way. A worker that
        dies (e.g. out of memory) has its share redone here."""
        buf = mmap.mmap(-1, max(1, len(nodes) * self.n_nodes * 8))
        out = np.frombuffer(buf, dtype=np.float64).reshape(len(nodes), self.n_nodes).T
        stats = np.frombuffer(mmap.mmap(-1, len(nodes) * 16), dtype=np.float64).reshape(
            len(nodes), 2
        )
        ctx = multiprocessing.get_context("fork")
        shares = [todo[w::workers] for w in range(workers)]
        procs = [
            ctx.Process(target=self._solve_share, args=(sh, nodes, out, stats, matrix), daemon=True)
            for sh in shares[1:]
        ]
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
                warn_unconverged(float(stats[j, 1]), self.tol, stacklevel=4)
        return out

    def _solve_share(
        self,
        share: list[int],
        nodes: np.ndarray,
        out: np.ndarray,
        stats: np.ndarray | None,
        matrix: Any,
    ) -> None:
        """Solve the unit right-hand sides of columns ``share`` into ``out``."""
        n_sys = self.matrix.shape[0]
        for j in share:
            node = int(nodes[j])
            i = node - int(np.searchsorted(self._sorted_grounds, node))
            if self._backend.exact and matrix is None:
                rhs = np.zeros(n_sys)
                rhs[i] = 1.0
                self._expand(self._backend.solve(rhs), out[:, j])
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
                column[g + 1 : end] = column[g - k : end - k - 1]
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
            column[start:g] = x[pos : pos + g - start]
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
            raise SchemaError(
                f"injections must have {self.n_nodes} rows (one per node); got shape {b.shape}."
            )
        b2 = b.reshape(self.n_nodes, -1)
        out = np.zeros((b2.shape[1], self.n_nodes)).T  # column-contiguous
        if self.matrix.shape[0]:
            keep = self._keep
            if self._backend.exact and matrix is None:
                out[keep] = self._backend.solve(b2[keep])
            else:
                for j in range(b2.shape[1]):
                    out[keep, j] = self._iterate(b2[keep, j], matrix)
        return out[:, 0] if one else out

    def modified_matrix(self, laplacian_delta: sp.spmatrix) -> sp.csr_matrix | spla.LinearOperator:
        """The reduced matrix after adding ``laplacian_delta`` (full node numbering).

        A CSR matrix, or a linear operator (the matrix-free operator plus the sparse
        change) when this solver is matrix-free (``method="mixed"`` on a cell graph).
        """
        keep = self._keep
        d = sp.csr_matrix(laplacian_delta)[keep][:, keep]
        if isinstance(self.matrix, spla.LinearOperator):
            return self.matrix + spla.aslinearoperator(d)
        return sp.csr_matrix(self.matrix + d)


def _pick_grounds(
    component: np.ndarray, n_components: int, preferred: Sequence[int] | None
) -> np.ndarray:
    """One ground node per component: the first of ``preferred`` it holds, else its
    lowest-numbered node."""
    grounds = np.full(n_components, -1, dtype=np.int64)
    if preferred is not None:
        pref = np.asarray([p for p in preferred if p is not None and p >= 0], dtype=np.int64)
        if pref.size and pref.max() >= len(component):
            raise SchemaError(
                f"ground node {int(pref.max())} does not exist "
                f"(the graph has {len(component)} nodes)."
            )
        for p in pref[::-1]:  # the first preferred node of each component wins
            grounds[component[p]] = p
    missing = grounds < 0
    if missing.any():
        # lowest-numbered node of each component
        first = np.full(n_components, len(component), dtype=np.int64)
        np.minimum.at(first, component, np.arange(len(component)))
        grounds[missing] = first[missing]
    return grounds
