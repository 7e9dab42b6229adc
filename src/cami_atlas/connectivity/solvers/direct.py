"""Sparse LU factorisation of the reduced Laplacian (exact; small and medium grids).

The factor's fill-in grows faster than the number of cells (a 1000 x 1000 8-neighbour
grid peaked at about 2,000 bytes per cell, ten times ``"mixed"``, see
``benchmarks/RESULTS.md``), so it serves grids up to a few hundred thousand cells, where
it is the fastest (``barrier_impact`` uses it up to 250,000 passable cells).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ...errors import SchemaError
from .base import Solver, sparse_nbytes

__all__ = ["DirectSolver"]


class DirectSolver(Solver):
    """``scipy.sparse.linalg.splu`` of the system, then exact solves.

    A modified ``matrix=`` given to :meth:`solve` is solved by conjugate gradients
    preconditioned with this LU (see :class:`~cami_atlas.connectivity.solvers.base.Solver`).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> s = DirectSolver(sp.csr_matrix(np.array([[1.0, -1.0], [-1.0, 2.0]])))
    >>> s.solve(np.array([1.0, 0.0])).round(6).tolist()   # 1 A through two 1-ohm edges
    [2.0, 1.0]
    """

    name = "direct"
    exact = True

    def _setup(self, options: dict[str, Any] | None) -> None:
        # options (pyamg's) do not apply to a factorisation; ignored, as they always were
        self._state = spla.splu(sp.csc_matrix(self.matrix), permc_spec="MMD_AT_PLUS_A")

    def lu_solve(self, b: np.ndarray) -> np.ndarray:
        """Exact solution for ``b`` (one column or several), by the LU factor."""
        return self._state.solve(np.ascontiguousarray(b, dtype=np.float64))

    def preconditioner(self) -> spla.LinearOperator:
        return spla.LinearOperator(self.matrix.shape, matvec=self._state.solve, dtype=np.float64)

    def solve(self, b: np.ndarray, *, matrix: Any = None) -> np.ndarray:
        if matrix is not None or not self.matrix.shape[0]:
            return super().solve(b, matrix=matrix)
        b = np.asarray(b, dtype=np.float64)
        if b.shape[0] != self.matrix.shape[0] or b.ndim > 2:
            raise SchemaError(f"the right-hand side must have {self.matrix.shape[0]} rows; "
                              f"got shape {b.shape}.")
        return self.lu_solve(b)

    def _state_nbytes(self) -> int:
        """Bytes of the L and U factors."""
        return sparse_nbytes(self._state.L, self._state.U)
