"""The solver interface (connectivity.solvers): resistor networks solved by hand, the
project's float32 AMG against pyamg and the sparse LU on the same system, memory."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from affine import Affine

from cami_atlas.connectivity.graph import raster_graph
from cami_atlas.connectivity.solvers import (
    SOLVER_NAMES,
    DirectSolver,
    LaplacianSolver,
    MixedAmgSolver,
    PyamgSolver,
    Solver,
    get_solver,
)
from cami_atlas.errors import OptionError, SchemaError
from cami_atlas.raster import Grid

T = Affine(1, 0, 0, 0, -1, 0)


def _series(r1: float, r2: float) -> sp.csr_matrix:
    """Reduced Laplacian of node 0 -(r1)- node 1 -(r2)- node 2, node 2 grounded."""
    g1, g2 = 1.0 / r1, 1.0 / r2
    return sp.csr_matrix(np.array([[g1, -g1], [-g1, g1 + g2]]))


def _lognormal_graph(seed: int = 3):
    """60 x 70 log-normal resistances with a wall (gaps at both ends) and a NaN cell."""
    rng = np.random.default_rng(seed)
    r = rng.lognormal(1, 1.5, (60, 70)) + 1
    r[30, 5:60] = np.inf
    r[59, 69] = np.nan
    return raster_graph(Grid(r, T, None))


def test_names_and_classes():
    assert SOLVER_NAMES == ("amg", "direct", "mixed")
    assert get_solver("direct") is DirectSolver
    assert get_solver("amg") is PyamgSolver
    assert get_solver("mixed") is MixedAmgSolver
    assert all(issubclass(get_solver(n), Solver) for n in SOLVER_NAMES)
    assert get_solver("direct").exact and not get_solver("mixed").exact
    with pytest.raises(OptionError, match="'amg', 'direct', 'mixed'"):
        get_solver("cholesky")


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_two_resistors_in_series_sum(name):
    # 2 ohm + 3 ohm: 1 A into node 0 (node 2 grounded) gives 5 V at node 0, 3 V at node 1
    # ("mixed" stores the conductances in float32: 1/3 is rounded by 6e-8 relative)
    rtol = 1e-7 if name == "mixed" else 1e-9
    s = get_solver(name)(_series(2.0, 3.0))
    np.testing.assert_allclose(s.solve(np.array([1.0, 0.0])), [5.0, 3.0], rtol=rtol)
    # and through LaplacianSolver on the full Laplacian (effective resistance 0 -> 2)
    lap = sp.csr_matrix(np.array([[0.5, -0.5, 0], [-0.5, 0.5 + 1 / 3, -1 / 3],
                                  [0, -1 / 3, 1 / 3]]))
    v = LaplacianSolver(lap, grounds=[2], method=name).solve(np.array([1.0, 0, -1.0]))
    np.testing.assert_allclose(v, [5.0, 3.0, 0.0], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_several_right_hand_sides_and_zero(name):
    s = get_solver(name)(_series(1.0, 1.0))
    x = s.solve(np.array([[1.0, 0.0], [0.0, 1.0]]))
    np.testing.assert_allclose(x, [[2.0, 1.0], [1.0, 1.0]], rtol=1e-9)  # the inverse
    assert s.solve(np.zeros(2)).tolist() == [0.0, 0.0]
    with pytest.raises(SchemaError, match="must have 2 rows"):
        s.solve(np.ones(3))


def test_mixed_matches_pyamg_and_direct_on_the_same_system():
    """The float32 W-cycle solver gives pyamg's and the LU's solution to 1e-6 (relative,
    2-norm; the CG tolerance): measured 2e-8 against the LU, 4e-8 for pyamg."""
    g = _lognormal_graph()
    gnd = g.cell_node[58, 68]
    a = g.laplacian(grounds=[gnd])
    b = np.zeros(a.shape[0])
    b[g.cell_node[0, 0]] = 1.0
    b[g.cell_node[45, 35]] = -0.5
    exact = DirectSolver(a).solve(b)
    np.testing.assert_allclose(a @ exact, b, atol=1e-12)
    reference = PyamgSolver(a).solve(b)
    mixed = MixedAmgSolver(a).solve(b)
    keep = np.ones(g.n_nodes, dtype=bool)
    keep[gnd] = False
    from_graph = MixedAmgSolver(MixedAmgSolver.system(graph=g, grounds=np.array([gnd]),
                                                      keep=keep)).solve(b)

    def rel(x, y):
        return np.linalg.norm(x - y) / np.linalg.norm(y)

    assert rel(reference, exact) < 1e-6
    assert rel(mixed, exact) < 1e-6
    assert rel(mixed, reference) < 1e-6
    assert rel(from_graph, exact) < 1e-6
    s = MixedAmgSolver(a)
    s.solve(b)
    assert 0 < s.last[0] < 30 and s.last[1] <= 1e-6


@pytest.mark.parametrize("name", SOLVER_NAMES)
def test_a_modified_matrix_is_solved_with_the_original_setup(name):
    # halve every conductance: the voltages double (solved by CG preconditioned with the
    # setup of the original matrix)
    g = _lognormal_graph(5)
    a = g.laplacian(grounds=[0])
    b = np.zeros(a.shape[0])
    b[-1] = 1.0
    s = get_solver(name)(a)
    x = s.solve(b)
    np.testing.assert_allclose(s.solve(b, matrix=a * 0.5), 2 * x, rtol=1e-5)


def test_memory_accounting_10x10_grid():
    # 10 x 10 cells, 4 neighbours, one corner grounded: 99 nodes, 180 - 2 edges, so
    # 99 + 2 * 178 = 455 stored values; int32 indices (455) and row pointers (100)
    g = raster_graph(Grid(np.ones((10, 10)), T, None), neighbours=4)
    a = g.laplacian(grounds=[0])
    assert a.nnz == 455
    assert DirectSolver(a).matrix_nbytes == 455 * 8 + 455 * 4 + 100 * 4  # 5,860
    mixed = MixedAmgSolver(a)
    # float32 values; after the setup the diagonal is kept only in the 2 rows next to
    # the ground (the other 97 are recomputed from the off-diagonals): 358 entries
    assert mixed.matrix.a32.nnz == 455 - 97
    assert mixed.matrix_nbytes == 358 * 4 + 358 * 4 + 100 * 4  # 3,264
    # 99 <= 500 nodes: the hierarchy is the coarsest level only, its dense LU (99 x 99)
    assert mixed.setup_nbytes == 99 * 99 * 8
    assert mixed.nbytes == mixed.matrix_nbytes + mixed.setup_nbytes
    mixed.release()
    assert mixed.setup_nbytes == 0 and mixed.matrix.shape == (0, 0)
    lap = LaplacianSolver(graph=g, grounds=[0], method="mixed")
    assert lap.nbytes == 3264 + 99 * 99 * 8
    lap._release()
    assert lap.solver.setup_nbytes == 0 and lap.matrix.shape == (0, 0)


def test_bad_input():
    with pytest.raises(SchemaError, match="must be square"):
        DirectSolver(sp.csr_matrix(np.ones((2, 3))))
    with pytest.raises(SchemaError, match="tol must be > 0"):
        MixedAmgSolver(_series(1, 1), tol=0)
    op = spla.aslinearoperator(_series(1, 1))
    for cls in (PyamgSolver, MixedAmgSolver, DirectSolver):
        with pytest.raises(SchemaError, match=f"the '{cls.name}' solver needs a sparse matrix"):
            cls(op)
    empty = DirectSolver(sp.csr_matrix((0, 0)))
    assert empty.solve(np.zeros(0)).shape == (0,)


def test_moved_names_still_work_from_circuit_with_a_warning():
    import warnings

    import cami_atlas.connectivity as pkg
    import cami_atlas.connectivity.circuit as circuit
    from cami_atlas.connectivity.solvers import DEFAULT_AMG_OPTIONS

    with pytest.warns(DeprecationWarning, match="moved to cami_atlas.connectivity.solvers"):
        assert circuit.LaplacianSolver is LaplacianSolver
    with pytest.warns(DeprecationWarning, match="DEFAULT_AMG_OPTIONS"):
        assert circuit.DEFAULT_AMG_OPTIONS is DEFAULT_AMG_OPTIONS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pkg.LaplacianSolver is LaplacianSolver  # the package name did not move
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        circuit.nothing  # noqa: B018
    # private helpers that moved are still there, silently
    from cami_atlas.connectivity.solvers import amg_mixed, pcg

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert circuit._VCycle is amg_mixed._VCycle and circuit._pcg is pcg.pcg
