"""The interface every linear solver of a grounded Laplacian system offers.

A :class:`Solver` is set up once on the reduced (grounded) Laplacian ``A`` -- symmetric
positive definite -- and then solves ``A x = b`` for any number of right-hand sides.
Implementations are chosen by name with :func:`get_solver`:

``"direct"``  :class:`~cami_atlas.connectivity.solvers.direct.DirectSolver`, sparse LU
``"amg"``     :class:`~cami_atlas.connectivity.solvers.amg.PyamgSolver`, pyamg smoothed
              aggregation preconditioning float64 conjugate gradients (the reference)
``"mixed"``   :class:`~cami_atlas.connectivity.solvers.amg_mixed.MixedAmgSolver`, this
              project's float32 smoothed-aggregation W-cycle preconditioning float64
              conjugate gradients on a float32-stored matrix
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..._options import check_option
from ...errors import SchemaError
from .pcg import pcg

__all__ = ["SOLVER_NAMES", "Method", "Solver", "get_solver"]

Method = Literal["amg", "direct", "mixed"]

#: Names accepted by :func:`get_solver` (and by ``method=`` of the circuit modes).
SOLVER_NAMES: tuple[str, ...] = ("amg", "direct", "mixed")

#: Iteration cap of the conjugate gradients (never reached on raster Laplacians with an
#: AMG preconditioner, which converge in 8 to 15 iterations).
MAX_ITERATIONS = 1000


class Solver(ABC):
    """A linear solver for a reduced (grounded) graph Laplacian, set up once.

    Parameters
    ----------
    matrix : scipy sparse matrix or LinearOperator
        The reduced Laplacian ``A`` (symmetric positive definite: every connected
        component has lost a grounded node). Build it with :meth:`system` to get the form
        the implementation works best with.
    tol : float
        Relative residual ``|b - A x| <= tol |b|`` at which the conjugate gradients stop
        (iterative solvers, and every solver given a modified ``matrix=``).
    options : dict, optional
        Implementation options (pyamg's for ``"amg"`` and ``"mixed"``, see
        :data:`~cami_atlas.connectivity.solvers.amg.DEFAULT_AMG_OPTIONS`).

    Attributes
    ----------
    matrix
        The system solved (released by :meth:`release`).
    exact : bool
        Class attribute: True when :meth:`solve` is a factorisation (no iteration).

    Examples
    --------
    Two resistors in series, 2 ohm and 3 ohm, node 2 grounded: 1 A into node 0 gives
    node 0 the voltage 2 + 3 = 5 V, whatever the solver.

    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[0.5, -0.5], [-0.5, 0.5 + 1 / 3]]))
    >>> [round(float(get_solver(m)(a).solve(np.array([1.0, 0.0]))[0]), 6)
    ...  for m in SOLVER_NAMES]
    [5.0, 5.0, 5.0]
    """

    name: ClassVar[str]
    exact: ClassVar[bool] = False
    #: the factorisation or hierarchy (None before the setup and once released)
    _state: Any = None

    def __init__(self, matrix: Any, *, tol: float = 1e-6,
                 options: dict[str, Any] | None = None) -> None:
        if not tol > 0:
            raise SchemaError(f"tol must be > 0; got {tol}.")
        shape = getattr(matrix, "shape", None)
        if shape is None or len(shape) != 2 or shape[0] != shape[1]:
            raise SchemaError(f"the system matrix must be square; got shape {shape}.")
        self.tol = float(tol)
        self.matrix = self._prepare(matrix)
        #: (iterations, true relative residual) of the last iterative solve
        self.last: tuple[int, float] = (0, 0.0)
        if self.matrix.shape[0]:
            self._setup(options)

    # -- what an implementation provides ------------------------------------------------------
    @classmethod
    def system(cls, *, graph: Any = None, laplacian: sp.csr_matrix | None = None,
               grounds: np.ndarray, keep: np.ndarray) -> Any:
        """The reduced Laplacian in this solver's storage (float64 CSR by default).

        Parameters
        ----------
        graph : RasterGraph, optional
            Assembled directly, grounds left out (no full copy). Give this or ``laplacian``.
        laplacian : CSR matrix, optional
            The full Laplacian (node numbering of ``keep``).
        grounds : array of int
            Grounded nodes (left out).
        keep : boolean array
            Nodes kept (every node but the grounds).
        """
        if graph is not None:
            return graph.laplacian(grounds=grounds)
        return sp.csr_matrix(laplacian[keep][:, keep])

    def _prepare(self, matrix: Any) -> Any:
        """The matrix as this solver stores it (default: CSR)."""
        if isinstance(matrix, spla.LinearOperator):
            raise SchemaError(f"the {self.name!r} solver needs a sparse matrix, not a "
                              f"{type(matrix).__name__}; give the matrix itself (e.g. "
                              "graph.laplacian(grounds=...)).")
        if sp.issparse(matrix) and matrix.format == "csr":
            return matrix  # shared, not copied
        return sp.csr_matrix(matrix)

    @abstractmethod
    def _setup(self, options: dict[str, Any] | None) -> None:
        """Build the factorisation or hierarchy of ``self.matrix`` (not empty)."""

    @abstractmethod
    def preconditioner(self) -> Callable[[np.ndarray], np.ndarray] | spla.LinearOperator:
        """An approximate inverse of ``self.matrix`` for the conjugate gradients."""

    @abstractmethod
    def _state_nbytes(self) -> int:
        """Bytes held by ``self._state`` (not None)."""

    # -- common behaviour ---------------------------------------------------------------------
    @property
    def setup_nbytes(self) -> int:
        """Bytes held by the setup (hierarchy or factor), 0 once released."""
        return 0 if self._state is None else self._state_nbytes()

    @property
    def matrix_nbytes(self) -> int:
        """Bytes held by the stored system matrix (sparse arrays only)."""
        m = getattr(self.matrix, "a32", self.matrix)
        return sparse_nbytes(m) if sp.issparse(m) else 0

    @property
    def nbytes(self) -> int:
        """Memory accounting: bytes of the system matrix plus the setup."""
        return self.matrix_nbytes + self.setup_nbytes

    def iterate(self, b: np.ndarray | int, *, matrix: Any = None, out: np.ndarray | None = None,
                tol: float | None = None) -> tuple[np.ndarray, float, int]:
        """Preconditioned conjugate gradients on ``matrix`` (default the system).

        ``b`` is the right-hand side, or an int ``i`` for the unit vector ``e_i`` (not
        stored); ``tol`` defaults to the solver's. Returns the solution (written into
        ``out`` when given), its true relative residual and the number of iterations;
        no warning (see :meth:`solve`).
        """
        a = self.matrix if matrix is None else matrix
        x, rel, it = pcg(a, b, self.preconditioner(), tol=self.tol if tol is None else tol,
                         maxiter=MAX_ITERATIONS, out=out)
        self.last = (it, rel)
        return x, rel, it

    def solve(self, b: np.ndarray, *, matrix: Any = None) -> np.ndarray:
        """``x`` with ``matrix @ x = b`` (default matrix: the system set up).

        A modified ``matrix`` of the same size (e.g. a barrier removed) is solved by
        conjugate gradients preconditioned with this setup, nothing set up again. A
        :class:`RuntimeWarning` says when the tolerance was not reached.

        Parameters
        ----------
        b : array, shape (n,) or (n, m)
        matrix : sparse matrix or LinearOperator, optional

        Returns
        -------
        numpy.ndarray
            float64, the shape of ``b``.
        """
        b = np.asarray(b, dtype=np.float64)
        if b.shape[0] != self.matrix.shape[0] or b.ndim > 2:
            raise SchemaError(f"the right-hand side must have {self.matrix.shape[0]} rows; "
                              f"got shape {b.shape}.")
        if b.ndim == 2:
            return np.column_stack([self.solve(b[:, j], matrix=matrix)
                                    for j in range(b.shape[1])]) if b.shape[1] else b.copy()
        if not np.any(b):
            return np.zeros(b.shape[0])
        x, rel, _ = self.iterate(b, matrix=matrix)
        if rel > self.tol:
            warn_unconverged(rel, self.tol, stacklevel=2)
        return x

    def release(self) -> None:
        """Drop the matrix and the setup; the solver can no longer solve."""
        self.matrix = sp.csr_matrix((0, 0))
        self._state = None


def sparse_nbytes(*matrices: Any) -> int:
    """Bytes of the value, index and pointer arrays of CSR/CSC matrices."""
    return int(sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in matrices))


def warn_unconverged(rel: float, tol: float, *, stacklevel: int) -> None:
    """The warning of a conjugate-gradient solve that stopped above its tolerance."""
    warnings.warn(f"conjugate gradients stopped at relative residual {rel:.2e} "
                  f"(tolerance {tol:.0e}); results may be inaccurate. Try "
                  "method='direct' on a small grid.", RuntimeWarning, stacklevel=stacklevel + 1)


def get_solver(name: str) -> type[Solver]:
    """The :class:`Solver` implementation called ``name`` (one of :data:`SOLVER_NAMES`).

    Raises
    ------
    OptionError
        An unknown name (the message lists the valid ones).

    Examples
    --------
    >>> get_solver("mixed").__name__
    'MixedAmgSolver'
    """
    check_option("method", name, SOLVER_NAMES)
    from .amg import PyamgSolver
    from .amg_mixed import MixedAmgSolver
    from .direct import DirectSolver

    return {"amg": PyamgSolver, "direct": DirectSolver, "mixed": MixedAmgSolver}[name]
