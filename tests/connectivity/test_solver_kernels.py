"""The numba kernels of the ``"mixed"`` solver against their numpy/scipy/pyamg references."""

from __future__ import annotations

import numpy as np
import pyamg
import pytest
import scipy.sparse as sp
from affine import Affine

from cami_atlas.connectivity.graph import raster_graph
from cami_atlas.connectivity.solvers import LaplacianSolver, kernels
from cami_atlas.connectivity.solvers.kernels import (
    _strips_valid,
    add_scaled,
    dot_widened,
    drop_laplacian_diagonal,
    gauss_seidel_strips,
    gs_strip_bounds,
    laplacian32_matvec,
    laplacian32_quadratic,
    laplacian32_subtract,
    prolong_add32,
    residual_restrict32,
)
from cami_atlas.raster import Grid


def _laplacian32(rows: int = 40, cols: int = 50, seed: int = 1) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    r = rng.lognormal(1, 1, (rows, cols)) + 1
    g = raster_graph(Grid(r, Affine(1, 0, 0, 0, -1, rows), None), neighbours=8)
    return g.laplacian(grounds=[0], dtype=np.float32)


def test_dot_widened_equals_float64_dot():
    rng = np.random.default_rng(0)
    u = rng.standard_normal(100_003)
    v = rng.standard_normal(100_003).astype(np.float32)
    assert dot_widened(u, v) == pytest.approx(float(u @ v.astype(np.float64)), rel=1e-12)


def test_laplacian32_matvec_equals_the_float64_rowsum_corrected_product():
    a = _laplacian32()
    x = np.random.default_rng(2).standard_normal(a.shape[0])
    a64 = sp.csr_matrix(a, dtype=np.float64)
    rowsum = np.asarray(a64.sum(axis=1)).ravel()
    expected = a64 @ x - rowsum * x  # hand-built: off-diagonals, diagonal = their sum
    y = np.empty(a.shape[0])
    laplacian32_matvec(a.indptr, a.indices, a.data, x, y)
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    # a constant vector is in the kernel of the ungrounded operator
    laplacian32_matvec(a.indptr, a.indices, a.data, np.ones(a.shape[0]), y)
    assert np.abs(y).max() < 1e-12


@pytest.mark.parametrize("forward", [True, False])
def test_one_strip_is_pyamgs_gauss_seidel(forward):
    a = _laplacian32()
    n = a.shape[0]
    rng = np.random.default_rng(3)
    b = rng.standard_normal(n).astype(np.float32)
    x0 = rng.standard_normal(n).astype(np.float32)
    ref = x0.copy()
    start, stop, step = (0, n, 1) if forward else (n - 1, -1, -1)
    pyamg.amg_core.gauss_seidel(a.indptr, a.indices, a.data, ref, b, start, stop, step)
    x = x0.copy()
    gauss_seidel_strips(a.indptr, a.indices, a.data, x, b, np.array([0, n]), forward)
    np.testing.assert_allclose(x, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_strips_are_gauss_seidel_in_strip_order():
    # forward: even strips then odd strips, each forward; backward: the exact reverse.
    # Same as pyamg's sequential sweep on the matrix permuted to that row order.
    a = _laplacian32(60, 40)
    n = a.shape[0]
    bounds = np.linspace(0, n, 7).astype(np.int64)  # 6 strips of 400 rows, bandwidth 41
    assert _strips_valid(a.indptr, a.indices, bounds)
    order = np.concatenate([np.arange(bounds[s], bounds[s + 1]) for s in (0, 2, 4, 1, 3, 5)])
    pa = sp.csr_matrix(a[order][:, order])
    rng = np.random.default_rng(4)
    b = rng.standard_normal(n).astype(np.float32)
    x0 = rng.standard_normal(n).astype(np.float32)
    for forward in (True, False):
        ref = x0[order].copy()
        start, stop, step = (0, n, 1) if forward else (n - 1, -1, -1)
        pyamg.amg_core.gauss_seidel(
            pa.indptr, pa.indices, pa.data, ref, b[order], start, stop, step
        )
        x = x0.copy()
        gauss_seidel_strips(a.indptr, a.indices, a.data, x, b, bounds, forward)
        np.testing.assert_allclose(x[order], ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_strip_bounds_fall_back_to_one_strip_on_long_couplings():
    a = _laplacian32(60, 40).tolil()
    n = a.shape[0]
    assert len(gs_strip_bounds(a.tocsr(), 2, min_rows=0)) == 9  # 8 strips of 300 rows
    assert gs_strip_bounds(a.tocsr(), 1, min_rows=0).tolist() == [0, n]
    assert gs_strip_bounds(a.tocsr(), 2).tolist() == [0, n]  # below PARALLEL_MIN_ROWS
    a[0, n - 1] = a[n - 1, 0] = -1.0  # e.g. a merged focal region far away
    assert gs_strip_bounds(a.tocsr(), 2, min_rows=0).tolist() == [0, n]


@pytest.mark.parametrize("min_rows", [0, 1 << 30])  # threaded and sequential paths
def test_residual_restrict_and_prolong_equal_scipy(monkeypatch, min_rows):
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ROWS", min_rows)
    a = _laplacian32()
    n = a.shape[0]
    rng = np.random.default_rng(5)
    p = sp.random(n, n // 9, density=3 / (n // 9), random_state=6, format="csr", dtype=np.float32)
    x = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    expected = p.T.astype(np.float64) @ (b - a.astype(np.float64) @ x)
    for parts in (1, 2, 3):
        rc = residual_restrict32(
            a.indptr, a.indices, a.data, x, b, p.indptr, p.indices, p.data, p.shape[1], parts
        )
        np.testing.assert_allclose(rc, expected, rtol=0, atol=1e-4 * np.abs(expected).max())
    e = rng.standard_normal(p.shape[1]).astype(np.float32)
    y = x.copy()
    prolong_add32(p.indptr, p.indices, p.data, e, y)
    np.testing.assert_allclose(y, x + p @ e, rtol=1e-6, atol=1e-6)


def test_mixed_with_parallel_strips_agrees_with_direct(monkeypatch):
    monkeypatch.setattr(kernels, "PARALLEL_MIN_ROWS", 0)
    # a grid large enough for the strips on the finest level (>= 64 rows per strip)
    rng = np.random.default_rng(7)
    r = rng.lognormal(1, 1.5, (90, 80)) + 1
    r[45, 5:75] = np.inf
    g = raster_graph(Grid(r, Affine(1, 0, 0, 0, -1, 90), None), neighbours=8)
    nodes = np.array([g.cell_node[0, 0], g.cell_node[89, 79], g.cell_node[60, 40]])
    mixed = LaplacianSolver(graph=g, grounds=[nodes[0]], method="mixed", tol=1e-10)
    assert len(mixed.solver.preconditioner().strips[0]) > 2  # strips in use
    direct = LaplacianSolver(graph=g, grounds=[nodes[0]], method="direct")
    xm, xd = mixed._unit_solves(nodes), direct._unit_solves(nodes)
    np.testing.assert_allclose(xm, xd, rtol=0, atol=1e-6 * np.abs(xd).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_laplacian_products_equal_the_stored_product(dtype):
    """p . (A p) and r -= alpha A p without a product vector, against the
    rowsum-corrected float64 product built with scipy (float32 p widened exactly)."""
    a = _laplacian32()
    rng = np.random.default_rng(8)
    p = rng.standard_normal(a.shape[0]).astype(dtype)
    p64 = p.astype(np.float64)
    a64 = sp.csr_matrix(a, dtype=np.float64)
    ap = a64 @ p64 - np.asarray(a64.sum(axis=1)).ravel() * p64
    assert laplacian32_quadratic(a.indptr, a.indices, a.data, p) == pytest.approx(
        float(p64 @ ap), rel=1e-12)
    r = rng.standard_normal(a.shape[0])
    expected = r - 0.37 * ap
    laplacian32_subtract(a.indptr, a.indices, a.data, p, 0.37, r)
    np.testing.assert_allclose(r, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
    y = np.ones(a.shape[0])
    add_scaled(y, -2.5, p)
    np.testing.assert_array_equal(y, 1.0 - 2.5 * p64)


def test_lean_conjugate_gradients_agree_with_the_stored_product_ones():
    """pcg with the fused products and float32 directions (the "mixed" operator) and
    pcg with the same operator through a plain LinearOperator (q = A p stored, float64
    directions) reach the same solution; both residuals are true ones below tol."""
    import scipy.sparse.linalg as spla

    from cami_atlas.connectivity.solvers.pcg import pcg

    rng = np.random.default_rng(9)
    r = rng.lognormal(1, 1.5, (60, 70)) + 1
    g = raster_graph(Grid(r, Affine(1, 0, 0, 0, -1, 60), None), neighbours=8)
    s = LaplacianSolver(graph=g, grounds=[0], method="mixed", tol=1e-10)
    op = s.solver.matrix
    assert callable(op.quadratic)
    plain = spla.LinearOperator(op.shape, matvec=op.matvec, dtype=np.float64)
    prec = s.solver.preconditioner()
    x1, rel1, it1 = pcg(op, 1234, prec, tol=1e-10, maxiter=200)
    x2, rel2, it2 = pcg(plain, 1234, prec, tol=1e-10, maxiter=200)
    assert rel1 <= 1e-10 and rel2 <= 1e-10
    assert abs(it1 - it2) <= 1
    np.testing.assert_allclose(x1, x2, rtol=0, atol=1e-8 * np.abs(x2).max())
    e = np.zeros(op.shape[0])
    e[1234] = 1.0
    np.testing.assert_allclose(op @ x1, e, rtol=0, atol=1e-9)


def test_kernels_recompute_a_dropped_laplacian_diagonal():
    """With the diagonal dropped (kept only in the rows next to the ground) the product,
    the smoother and the fused residual restriction give what they give on the full
    matrix, to float32 round-off; the arrays shrank in place."""
    a = _laplacian32()
    full = a.copy()
    a64 = sp.csr_matrix(full, dtype=np.float64)
    ground_rows = np.flatnonzero(np.abs(np.asarray(a64.sum(axis=1)).ravel()) > 1e-6)
    assert 0 < len(ground_rows) < 10
    drop_laplacian_diagonal(a, ground_rows)
    n = a.shape[0]
    assert a.nnz == full.nnz - (n - len(ground_rows)) == len(a.data) == len(a.indices)
    assert (a.diagonal()[ground_rows] == full.diagonal()[ground_rows]).all()
    assert np.count_nonzero(a.diagonal()) == len(ground_rows)
    rng = np.random.default_rng(11)
    x = rng.standard_normal(n)
    y_full, y_lean = np.empty(n), np.empty(n)
    laplacian32_matvec(full.indptr, full.indices, full.data, x, y_full)
    laplacian32_matvec(a.indptr, a.indices, a.data, x, y_lean)
    np.testing.assert_allclose(y_lean, y_full, rtol=0, atol=1e-12 * np.abs(y_full).max())
    b = rng.standard_normal(n)
    for forward in (True, False):
        xf = np.zeros(n, np.float32)
        xl = np.zeros(n, np.float32)
        gauss_seidel_strips(full.indptr, full.indices, full.data, xf, b, np.array([0, n]),
                            forward)
        gauss_seidel_strips(a.indptr, a.indices, a.data, xl, b, np.array([0, n]), forward)
        np.testing.assert_allclose(xl, xf, rtol=0, atol=1e-5 * np.abs(xf).max())
    p = sp.random(n, n // 9, density=3 / (n // 9), random_state=6, format="csr",
                  dtype=np.float32)
    x32 = x.astype(np.float32)
    rf = residual_restrict32(full.indptr, full.indices, full.data, x32, b, p.indptr,
                             p.indices, p.data, p.shape[1], 1)
    rl = residual_restrict32(a.indptr, a.indices, a.data, x32, b, p.indptr, p.indices,
                             p.data, p.shape[1], 1)
    assert rl.dtype == np.float32
    np.testing.assert_allclose(rl, rf, rtol=0, atol=1e-5 * np.abs(rf).max())
