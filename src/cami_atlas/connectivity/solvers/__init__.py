"""Linear solvers of grounded graph Laplacians: the engine of the circuit modes.

The circuit modes (:mod:`cami_atlas.connectivity.circuit`) say *which* currents enter
where; this package solves the resulting systems ``L v = i``.

``base``        the :class:`Solver` interface (set up once, then many right-hand sides)
                and :func:`get_solver`, which picks an implementation by name
``direct``      ``"direct"``: sparse LU (exact; small and medium grids)
``amg``         ``"amg"``: pyamg smoothed aggregation + float64 conjugate gradients (the
                default and the tested reference); :data:`DEFAULT_AMG_OPTIONS`
``amg_mixed``   ``"mixed"``: the project's float32 smoothed-aggregation W-cycle + float64
                conjugate gradients on a float32-stored matrix; its docstring says, with
                measured figures, why it is written here rather than calling pyamg
``pcg``         the float64 preconditioned conjugate gradients all iterative solves use
``laplacian``   :class:`LaplacianSolver`: one ground per connected component, unit
                right-hand sides, forked workers

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> lap = sp.csr_matrix(np.array([[2.0, -2, 0], [-2, 2.5, -0.5], [0, -0.5, 0.5]]))
>>> v = LaplacianSolver(lap, grounds=[2], method="mixed").solve(np.array([1.0, 0, 0]))
>>> round(float(v[0]), 6)       # 0.5 ohm + 2 ohm in series
2.5
"""

from __future__ import annotations

from .amg import DEFAULT_AMG_OPTIONS, PyamgSolver
from .amg_mixed import MixedAmgSolver
from .base import SOLVER_NAMES, Method, Solver, get_solver
from .direct import DirectSolver
from .laplacian import LaplacianSolver

__all__ = [
    "DEFAULT_AMG_OPTIONS",
    "SOLVER_NAMES",
    "DirectSolver",
    "LaplacianSolver",
    "Method",
    "MixedAmgSolver",
    "PyamgSolver",
    "Solver",
    "get_solver",
]
