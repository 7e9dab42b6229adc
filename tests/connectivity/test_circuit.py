"""Circuit modes against resistor networks solved by hand and a dense pseudo-inverse."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from cami_atlas.connectivity.circuit import (
    circuit_all_to_one,
    circuit_one_to_all,
    circuit_pairwise,
    effective_resistance,
    focal_labels,
    pinch_points,
)
from cami_atlas.connectivity.graph import raster_graph
from cami_atlas.connectivity.solvers import LaplacianSolver
from cami_atlas.errors import CRSError, DisconnectedGraphWarning, OptionError, SchemaError
from cami_atlas.raster import Grid

T = Affine(1, 0, 0, 0, -1, 0)  # cell (row, col) has centre x = col + 0.5, y = -row - 0.5


def _grid(values, crs=None) -> Grid:
    return Grid(np.asarray(values, dtype=float), T, crs)


def _pts(cells) -> np.ndarray:
    """(row, col) cells -> float (x, y) centres."""
    cells = np.asarray(cells, dtype=float)
    return np.column_stack([cells[:, 1] + 0.5, -cells[:, 0] - 0.5])


def _dense_laplacian(r: np.ndarray, neighbours: int) -> tuple[np.ndarray, np.ndarray]:
    """The Laplacian written out cell by cell (average-resistance scheme)."""
    rows, cols = r.shape
    ids = -np.ones(r.shape, int)
    ids[np.isfinite(r)] = np.arange(int(np.isfinite(r).sum()))
    n = int(ids.max()) + 1
    lap = np.zeros((n, n))
    for i in range(rows):
        for j in range(cols):
            for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
                if neighbours == 4 and di and dj:
                    continue
                ii, jj = i + di, j + dj
                if 0 <= ii < rows and 0 <= jj < cols and ids[i, j] >= 0 and ids[ii, jj] >= 0:
                    w = 2.0 / (r[i, j] + r[ii, jj]) / (np.sqrt(2) if di and dj else 1.0)
                    a, b = ids[i, j], ids[ii, jj]
                    lap[a, b] -= w
                    lap[b, a] -= w
                    lap[a, a] += w
                    lap[b, b] += w
    return lap, ids


# -- series and parallel ----------------------------------------------------------------------
@pytest.mark.parametrize("method", ["mixed", "amg", "direct"])
@pytest.mark.parametrize("neighbours", [4, 8])
def test_series_row(method, neighbours):
    r = np.array([[1.0, 3.0, 2.0, 6.0, 4.0]])
    # edges in series: (1+3)/2 + (3+2)/2 + (2+6)/2 + (6+4)/2 = 2 + 2.5 + 4 + 5 = 13.5
    out = effective_resistance(_grid(r), _pts([[0, 0], [0, 4]]), neighbours=neighbours,
                               method=method)
    assert out.iloc[0, 1] == pytest.approx(13.5, rel=1e-6)
    assert out.iloc[1, 0] == pytest.approx(13.5, rel=1e-6)
    assert out.iloc[0, 0] == 0.0


def test_series_row_conductance_average():
    r = np.array([[1.0, 3.0, 6.0]])
    # edge conductances mean(1/r): (1 + 1/3)/2 = 2/3 -> 1.5 ohm ; (1/3 + 1/6)/2 = 1/4 -> 4 ohm
    out = effective_resistance(_grid(r), _pts([[0, 0], [0, 2]]), neighbours=4,
                               average="conductance", method="direct")
    assert out.iloc[0, 1] == pytest.approx(5.5)


def test_two_parallel_rows_halve_the_resistance():
    n = 6
    single = effective_resistance(_grid(np.ones((1, n))), _pts([[0, 0], [0, n - 1]]),
                                  neighbours=4, method="direct").iloc[0, 1]
    assert single == pytest.approx(n - 1)
    # two rows whose end columns are shorted terminals: by symmetry no current flows in
    # the rungs, so two equal branches in parallel: (n - 1) / 2
    labels = np.zeros((2, n), int)
    labels[:, 0] = 1
    labels[:, -1] = 2
    double = effective_resistance(_grid(np.ones((2, n))), labels, neighbours=4,
                                  method="direct").iloc[0, 1]
    assert double == pytest.approx((n - 1) / 2)


# -- against a dense pseudo-inverse --------------------------------------------------------------
@pytest.mark.parametrize("neighbours", [4, 8])
def test_effective_resistance_matches_pinv(neighbours):
    rng = np.random.default_rng(7)
    r = rng.uniform(1, 10, (6, 8))
    r[2, 2:5] = np.inf  # a wall with gaps around it
    r[5, 7] = np.nan
    cells = [[0, 0], [5, 0], [3, 7], [0, 6]]
    lap, ids = _dense_laplacian(r, neighbours)
    lplus = np.linalg.pinv(lap)
    nodes = [ids[i, j] for i, j in cells]
    expected = np.array([[lplus[a, a] + lplus[b, b] - 2 * lplus[a, b] for b in nodes]
                         for a in nodes])
    for method in ("amg", "direct"):
        out = effective_resistance(_grid(r), _pts(cells), neighbours=neighbours, method=method)
        np.testing.assert_allclose(out.to_numpy(), expected, rtol=1e-5, atol=1e-9)


def test_amg_and_direct_agree_on_a_larger_grid():
    rng = np.random.default_rng(3)
    r = rng.lognormal(1, 1, (40, 50)) + 1
    pts = _pts([[0, 0], [39, 49], [20, 25], [5, 40]])
    a = circuit_pairwise(_grid(r), pts, method="amg", tol=1e-9)
    d = circuit_pairwise(_grid(r), pts, method="direct")
    np.testing.assert_allclose(a.resistances.to_numpy(), d.resistances.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.current.values, d.current.values, rtol=1e-5, atol=1e-8)


# -- current conservation -----------------------------------------------------------------------
@pytest.mark.parametrize("neighbours", [4, 8])
def test_current_is_conserved_through_every_cut(neighbours):
    rng = np.random.default_rng(11)
    r = rng.uniform(1, 5, (7, 9))
    r[3, 4] = np.inf
    g = raster_graph(_grid(r), neighbours=neighbours)
    src, gnd = g.cell_node[3, 0], g.cell_node[2, 8]
    solver = LaplacianSolver(graph=g, grounds=[gnd], method="direct")
    b = np.zeros(g.n_nodes)
    b[src] = 1.0
    v = solver.solve(b)
    lap, ids = _dense_laplacian(r, neighbours)
    # what enters at the source leaves at the ground: L v = b except at the ground
    flow = lap @ v
    assert flow[src] == pytest.approx(1.0)
    assert flow[gnd] == pytest.approx(-1.0)
    assert np.allclose(np.delete(flow, [src, gnd]), 0, atol=1e-10)
    # every vertical cut between columns c and c+1 carries exactly 1 A
    for c in range(8):
        left = ids[:, : c + 1][ids[:, : c + 1] >= 0]
        right = ids[:, c + 1:][ids[:, c + 1:] >= 0]
        cut = -lap[np.ix_(left, right)]  # edge conductances across the cut
        assert np.sum(cut * (v[left][:, None] - v[right][None, :])) == pytest.approx(1.0)
    # the current map shows 1 A at the source and at the ground cells
    cur = g.to_grid(g.node_currents(v)).values
    assert cur[3, 0] == pytest.approx(1.0) and cur[2, 8] == pytest.approx(1.0)
    assert cur[3, 4] == 0.0


# -- modes ------------------------------------------------------------------------------------
def test_pairwise_cumulative_current_on_a_row():
    # focal cells 0, 2, 4 on a row of 5: pairs (0,2), (0,4), (2,4), 1 A each.
    # cells 0, 1 carry the pairs (0,2) and (0,4): 2 A; cells 3, 4: (0,4), (2,4): 2 A;
    # cell 2: ground of (0,2), crossed by (0,4), source of (2,4): 3 A.
    res = circuit_pairwise(_grid(np.ones((1, 5))), _pts([[0, 0], [0, 2], [0, 4]]),
                           neighbours=4, method="direct")
    np.testing.assert_allclose(res.current.values[0], [2, 2, 3, 2, 2])
    np.testing.assert_allclose(res.resistances.to_numpy(), [[0, 2, 4], [2, 0, 2], [4, 2, 0]])
    assert res.current.name == "current_a"


def test_one_to_all_on_a_row():
    # source 0: grounds 2 and 4 -> the nearer one at 2 ohm takes all the current
    # source 2: grounds 0 and 4, two 2-ohm branches in parallel -> 1 ohm
    res = circuit_one_to_all(_grid(np.ones((1, 5))), _pts([[0, 0], [0, 2], [0, 4]]),
                             neighbours=4, method="direct")
    np.testing.assert_allclose(res.resistances["effective_resistance"], [2, 1, 2])
    # currents: source 0 -> 1 A over cells 0..2; source 2 -> 0.5 A each way (cell 2: 1 A);
    # source 4 -> 1 A over cells 2..4. Cells: [1+0.5, 1+0.5, 1+1+1, 0.5+1, 0.5+1]
    np.testing.assert_allclose(res.current.values[0], [1.5, 1.5, 3, 1.5, 1.5])


def test_all_to_one_on_a_row():
    # ground 0: 1 A from 2 and from 4 -> V2 = 2 A * 2 ohm = 4, V4 = 4 + 2 = 6 -> mean 5
    # ground 2: 1 A from each end at 2 ohm -> mean 2 ; ground 4: symmetric to ground 0
    res = circuit_all_to_one(_grid(np.ones((1, 5))), _pts([[0, 0], [0, 2], [0, 4]]),
                             neighbours=4, method="direct")
    np.testing.assert_allclose(res.resistances["mean_source_voltage"], [5, 2, 5])
    assert res.resistances["n_sources"].tolist() == [2, 2, 2]
    # currents: ground 0: cells [2,2,2,1,1]; ground 2: [1,1,2,1,1]; ground 4: [1,1,2,2,2]
    np.testing.assert_allclose(res.current.values[0], [4, 4, 6, 4, 4])


def test_one_to_all_uses_the_reduced_problem_correctly_on_a_2d_grid():
    # one-to-all resistance of a source = 1 / (sum of its Kron-reduced conductances);
    # check against the dense Dirichlet solve written here
    rng = np.random.default_rng(5)
    r = rng.uniform(1, 4, (5, 6))
    cells = [[0, 0], [4, 5], [2, 3]]
    lap, ids = _dense_laplacian(r, 8)
    nodes = [ids[i, j] for i, j in cells]
    res = circuit_one_to_all(_grid(r), _pts(cells), method="direct")
    for k, s in enumerate(nodes):
        grounds = [n for n in nodes if n != s]
        keep = np.setdiff1d(np.arange(lap.shape[0]), grounds)
        b = np.zeros(len(keep))
        b[np.searchsorted(keep, s)] = 1.0
        v = np.linalg.solve(lap[np.ix_(keep, keep)], b)
        assert res.resistances["effective_resistance"].iloc[k] == pytest.approx(
            v[np.searchsorted(keep, s)], rel=1e-9)


# -- disconnected graphs -----------------------------------------------------------------------
def test_disconnected_parts_give_inf_and_a_warning():
    r = np.ones((3, 5))
    r[:, 2] = np.inf
    pts = _pts([[0, 0], [2, 1], [1, 4]])
    with pytest.warns(DisconnectedGraphWarning, match="disconnected"):
        out = effective_resistance(_grid(r), pts, method="direct")
    assert np.isinf(out.iloc[0, 2]) and np.isinf(out.iloc[1, 2])
    assert np.isfinite(out.iloc[0, 1])
    with pytest.warns(DisconnectedGraphWarning):
        res = circuit_all_to_one(_grid(r), pts, method="amg")
    assert res.resistances["n_sources"].tolist() == [1, 1, 0]
    assert res.current.values[1, 4] == pytest.approx(0.0, abs=1e-12)  # the lone node sends and receives nothing
    with pytest.warns(DisconnectedGraphWarning):
        res1 = circuit_one_to_all(_grid(r), pts, method="direct")
    assert np.isinf(res1.resistances["effective_resistance"].iloc[2])


def test_focal_node_on_an_impassable_cell_warns():
    r = np.ones((2, 4))
    r[0, 3] = np.inf
    with pytest.warns(DisconnectedGraphWarning, match="impassable"):
        out = effective_resistance(_grid(r), _pts([[0, 0], [0, 3]]), method="direct")
    assert np.isinf(out.iloc[0, 1])


def test_connected_inputs_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DisconnectedGraphWarning)
        effective_resistance(_grid(np.ones((3, 3))), _pts([[0, 0], [2, 2]]), method="direct")


# -- properties ---------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), neighbours=st.sampled_from([4, 8]))
def test_effective_resistance_is_a_metric(seed, neighbours):
    rng = np.random.default_rng(seed)
    r = rng.uniform(1, 50, (5, 6))
    cells = rng.choice(30, size=4, replace=False)
    out = effective_resistance(_grid(r), _pts(np.column_stack(np.divmod(cells, 6))),
                               neighbours=neighbours, method="direct").to_numpy()
    np.testing.assert_allclose(out, out.T, rtol=1e-10)
    assert (out[~np.eye(4, dtype=bool)] > 0).all()
    for i in range(4):
        for j in range(4):
            for k in range(4):
                assert out[i, j] <= out[i, k] + out[k, j] + 1e-9


# -- pinch points --------------------------------------------------------------------------------
def test_pinch_points_inside_a_corridor():
    r = np.ones((5, 5))
    corridor = np.full((5, 5), np.inf)
    corridor[2, :] = 0.0  # a one-cell-wide corridor along the middle row
    corridor[1:4, 0] = 1.0
    corridor[1:4, 4] = 1.0
    res = pinch_points(_grid(r), _grid(corridor), _pts([[2, 0], [2, 4]]), neighbours=4,
                       method="direct")
    cur = res.current.values
    assert np.isnan(cur[0, 2]) and np.isnan(cur[4, 4])
    np.testing.assert_allclose(cur[2, 1:4], 1.0)  # the whole 1 A squeezes through
    assert res.resistances.iloc[0, 1] == pytest.approx(4.0)
    # with the cut-off the side cells go: same current, those cells are NaN
    res2 = pinch_points(_grid(r), _grid(corridor), _pts([[2, 0], [2, 4]]), neighbours=4,
                        method="direct", max_corridor_value=0.5)
    assert np.isnan(res2.current.values[1, 0])
    # a boolean corridor works the same way
    res3 = pinch_points(_grid(r), Grid(np.isfinite(corridor), T, None), _pts([[2, 0], [2, 4]]),
                        neighbours=4, method="direct")
    np.testing.assert_allclose(res3.current.values[2], cur[2])
    with pytest.raises(SchemaError, match="corridor must be a Grid"):
        pinch_points(_grid(r), _grid(np.ones((2, 2))), _pts([[2, 0], [2, 4]]))


# -- focal inputs and errors --------------------------------------------------------------------------
def test_focal_from_geodataframe_points_and_polygons():
    crs = "EPSG:32643"
    g = _grid(np.ones((4, 6)), crs=crs)
    cores = gpd.GeoDataFrame({"name": ["west", "east"]},
                             geometry=[box(0, -4, 1, 0), Point(5.5, -1.5)], crs=crs)
    lab, ids = focal_labels(g, cores, id_column="name")
    assert list(ids) == ["west", "east"]
    assert (lab[:, 0] == 1).all() and lab[1, 5] == 2 and (lab > 0).sum() == 5
    out = effective_resistance(g, cores, id_column="name", neighbours=4, method="direct")
    assert list(out.index) == ["west", "east"]
    with pytest.raises(CRSError, match="reproject"):
        focal_labels(g, cores.set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(SchemaError, match="no column"):
        focal_labels(g, cores, id_column="nope")


def test_focal_errors():
    g = _grid(np.ones((3, 3)))
    with pytest.raises(SchemaError, match="outside the grid"):
        focal_labels(g, np.array([[10.0, 10.0]]))
    with pytest.raises(SchemaError, match="same cell"):
        focal_labels(g, np.array([[0.2, -0.2], [0.7, -0.7]]))
    with pytest.raises(SchemaError, match="at least 2 focal"):
        effective_resistance(g, np.array([[0.5, -0.5]]))
    with pytest.raises(SchemaError, match=r"\(k, 2\) array"):
        focal_labels(g, np.zeros(5))
    with pytest.raises(SchemaError, match="non-negative integers"):
        focal_labels(g, Grid(np.full((3, 3), -1.0), T, None))
    with pytest.raises(OptionError, match="method="):
        effective_resistance(g, _pts([[0, 0], [2, 2]]), method="cholesky")  # type: ignore[arg-type]


def test_solver_reuse_and_modified_matrix():
    lap = sp.csr_matrix(np.array([[1.0, -1, 0], [-1, 2, -1], [0, -1, 1]]))
    s = LaplacianSolver(lap, grounds=[2], method="direct")
    two = s.solve(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_allclose(two, [[2, 1], [1, 1], [0, 0]])
    # double the conductance of edge 0-1: the preconditioned solve on the modified matrix
    delta = sp.csr_matrix(np.array([[1.0, -1, 0], [-1, 1, 0], [0, 0, 0]]))
    v = s.solve(np.array([1.0, 0, 0]), matrix=s.modified_matrix(delta))
    np.testing.assert_allclose(v, [1.5, 1.0, 0.0])
    with pytest.raises(SchemaError, match="exactly one of"):
        LaplacianSolver()
    with pytest.raises(SchemaError, match="rows"):
        s.solve(np.zeros(4))
    with pytest.raises(SchemaError, match="tol must be"):
        LaplacianSolver(lap, tol=0)
    with pytest.raises(SchemaError, match="does not exist"):
        LaplacianSolver(lap, grounds=[9])


def test_pinch_points_on_a_least_cost_corridor_mosaic():
    # integration with helper "leastcost": its corridor mosaic (0 on the path, inf
    # outside) clips the circuit; the whole 1 A crosses the single gap in a wall
    from cami_atlas.connectivity.corridors import least_cost_corridors

    crs = "EPSG:32643"
    r = np.ones((9, 15))
    r[:, 7] = np.inf
    r[4, 7] = 1.0  # the only gap
    grid = Grid(r, Affine(100, 0, 0, 0, -100, 900), crs)
    cores = gpd.GeoDataFrame({"core": ["w", "e"]},
                             geometry=[box(0, 300, 200, 600), box(1300, 300, 1500, 600)],
                             crs=crs)
    corr = least_cost_corridors(grid, cores, id_column="core", width=300.0).mosaic
    res = pinch_points(grid, corr, cores, id_column="core", method="direct")
    cur = res.current.values
    inside = np.isfinite(corr.values)
    assert np.isnan(cur[~inside & (focal_labels(grid, cores)[0] == 0)]).all()
    assert cur[4, 7] == pytest.approx(1.0)  # the pinch point carries the full current
    assert np.nanmax(np.delete(cur, [0, 1, 13, 14], axis=1)) == pytest.approx(1.0)
    assert np.isfinite(res.resistances.loc["w", "e"])


# -- mixed precision, matrix-free, superposition -------------------------------------------
def _lognormal_with_wall(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    r = rng.lognormal(1, 1.5, (60, 70)) + 1
    r[30, 5:60] = np.inf  # a wall with gaps at both ends
    r[59, 69] = np.nan
    return r, _pts([[0, 0], [58, 69], [45, 35], [50, 10]])


@pytest.mark.parametrize("neighbours", [4, 8])
def test_mixed_agrees_with_direct_to_1e6(neighbours):
    r, pts = _lognormal_with_wall()
    d = circuit_pairwise(_grid(r), pts, neighbours=neighbours, method="direct")
    m = circuit_pairwise(_grid(r), pts, neighbours=neighbours, method="mixed")
    np.testing.assert_allclose(m.resistances.to_numpy(), d.resistances.to_numpy(), rtol=1e-6)
    scale = np.nanmax(d.current.values)
    np.testing.assert_allclose(m.current.values, d.current.values, rtol=0, atol=1e-6 * scale)
    d1 = circuit_all_to_one(_grid(r), pts, neighbours=neighbours, method="direct")
    m1 = circuit_all_to_one(_grid(r), pts, neighbours=neighbours, method="mixed")
    np.testing.assert_allclose(m1.resistances["mean_source_voltage"],
                               d1.resistances["mean_source_voltage"], rtol=1e-6)
    np.testing.assert_allclose(m1.current.values, d1.current.values, rtol=0,
                               atol=1e-6 * np.nanmax(d1.current.values))


@pytest.mark.parametrize("method", ["direct", "mixed"])
def test_all_to_one_superposition_equals_one_solve_per_ground(method):
    # independent reference: for each ground, a dense solve of the Laplacian with that
    # ground removed and 1 A into every other focal node (Circuitscape's all-to-one)
    r, pts = _lognormal_with_wall(5)
    r = r[:20, :25]
    pts = _pts([[0, 0], [19, 24], [12, 3], [2, 20]])
    g = raster_graph(_grid(r))
    lap, ids = _dense_laplacian(r, 8)
    nodes = [ids[i, j] for i, j in [[0, 0], [19, 24], [12, 3], [2, 20]]]
    cum = np.zeros(lap.shape[0])
    mean_v = []
    for gnd in nodes:
        keep = np.setdiff1d(np.arange(lap.shape[0]), [gnd])
        b = np.zeros(lap.shape[0])
        b[[n for n in nodes if n != gnd]] = 1.0
        v = np.zeros(lap.shape[0])
        v[keep] = np.linalg.solve(lap[np.ix_(keep, keep)], b[keep])
        mean_v.append(np.mean([v[n] for n in nodes if n != gnd]))
        cum += g.node_currents(v)
    res = circuit_all_to_one(_grid(r), pts, method=method)
    np.testing.assert_allclose(res.resistances["mean_source_voltage"], mean_v, rtol=1e-6)
    np.testing.assert_allclose(res.current.values, g.to_grid(cum).values, rtol=0,
                               atol=1e-6 * cum.max())
    assert res.resistances["n_sources"].tolist() == [3, 3, 3, 3]


def test_mixed_on_merged_regions_and_on_a_given_laplacian():
    # focal regions make a merged graph: the mixed method then uses the CSR matrix
    r, _ = _lognormal_with_wall(9)
    labels = np.zeros(r.shape, int)
    labels[0:3, 0:3] = 1
    labels[55:58, 60:66] = 2
    labels[40, 30] = 3
    d = effective_resistance(_grid(r), labels, method="direct")
    m = effective_resistance(_grid(r), labels, method="mixed")
    np.testing.assert_allclose(m.to_numpy(), d.to_numpy(), rtol=1e-6)
    lap = sp.csr_matrix(np.array([[1.0, -1, 0], [-1, 2, -1], [0, -1, 1]]))
    s = LaplacianSolver(lap, grounds=[2], method="mixed")
    np.testing.assert_allclose(s.solve(np.array([1.0, 0, 0])), [2, 1, 0], rtol=1e-9)


def test_mixed_operator_is_the_grounded_laplacian_of_float32_conductances():
    # rows sum exactly to the conductance to ground; off-diagonals are the float32 values
    r, _ = _lognormal_with_wall(4)
    r = r[25:40, :20].copy()
    r[5] = np.inf  # two components, one ground each
    g = raster_graph(_grid(r))
    grounds = [0, g.cell_node[7, 10]]
    s = LaplacianSolver(graph=g, grounds=grounds, method="mixed")
    assert sorted(s.grounds.tolist()) == sorted(grounds)
    full = g.laplacian().toarray()
    keep = np.setdiff1d(np.arange(g.n_nodes), grounds)
    off = np.where(np.eye(g.n_nodes, dtype=bool), 0.0, full).astype(np.float32).astype(float)
    expect = (off - np.diag(off.sum(axis=1)))[np.ix_(keep, keep)]
    dense = s.matrix.matmat(np.eye(len(keep)))
    np.testing.assert_allclose(dense, expect, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dense, full[np.ix_(keep, keep)], rtol=1e-7, atol=1e-7)


def test_mixed_solver_stores_no_float64_matrix_and_takes_a_modified_operator():
    r, _ = _lognormal_with_wall(2)
    g = raster_graph(_grid(r))
    src, gnd = g.cell_node[0, 0], g.cell_node[58, 69]
    s = LaplacianSolver(graph=g, grounds=[gnd], method="mixed")
    assert not sp.issparse(s.matrix) and s.matrix.dtype == np.float64
    assert s.iterations == []
    b = np.zeros(g.n_nodes)
    b[src] = 1.0
    exact = LaplacianSolver(graph=g, grounds=[gnd], method="direct")
    np.testing.assert_allclose(s.solve(b), exact.solve(b), rtol=1e-6, atol=1e-9)
    assert len(s.iterations) == 1 and 0 < s.iterations[0] < 50
    # double the conductance of every edge of the source: same answer as the direct
    # solver on the modified CSR matrix
    full = g.laplacian()
    delta = sp.csr_matrix(full.multiply(sp.csr_matrix(
        (np.ones(g.n_nodes), (np.full(g.n_nodes, src), np.arange(g.n_nodes))),
        shape=full.shape) + sp.csr_matrix(
        (np.ones(g.n_nodes), (np.arange(g.n_nodes), np.full(g.n_nodes, src))),
        shape=full.shape)))
    delta = delta - sp.diags(np.asarray(delta.sum(axis=1)).ravel())
    op = s.modified_matrix(delta)
    assert not sp.issparse(op)
    expect = exact.solve(b, matrix=exact.modified_matrix(delta))
    np.testing.assert_allclose(s.solve(b, matrix=op), expect, rtol=1e-6, atol=1e-9)


def test_unreachable_tolerance_warns():
    r, _ = _lognormal_with_wall(1)
    g = raster_graph(_grid(r[:30, :30]))
    b = np.zeros(g.n_nodes)
    b[0] = 1.0
    s = LaplacianSolver(graph=g, grounds=[g.n_nodes - 1], method="mixed", tol=1e-300)
    with pytest.warns(RuntimeWarning, match="conjugate gradients stopped"):
        v = s.solve(b)
    exact = LaplacianSolver(graph=g, grounds=[g.n_nodes - 1], method="direct").solve(b)
    np.testing.assert_allclose(v, exact, rtol=1e-6)  # still as accurate as it gets
    lap = sp.csr_matrix(np.array([[1.0, -1, 0], [-1, 2, -1], [0, -1, 1]]))
    with pytest.raises(OptionError, match="'mixed'"):
        LaplacianSolver(lap, method="float32")  # type: ignore[arg-type]


def test_lean_hierarchy_level_equals_pyamg():
    # the first level built without pyamg's whole-matrix copies is pyamg's level
    import pyamg

    from cami_atlas.connectivity.solvers.amg import DEFAULT_AMG_OPTIONS
    from cami_atlas.connectivity.solvers.amg_mixed import _sa_level, _VCycle

    r, _ = _lognormal_with_wall(6)
    a = raster_graph(_grid(r)).laplacian(grounds=[0], dtype=np.float32)
    ml = pyamg.smoothed_aggregation_solver(a, B=np.ones((a.shape[0], 1), np.float32),
                                           max_levels=2, **DEFAULT_AMG_OPTIONS)
    p, coarse, b = _sa_level(a, np.ones((a.shape[0], 1), np.float32))
    assert p.dtype == coarse.dtype == np.float32
    np.testing.assert_allclose(p.toarray(), ml.levels[0].P.toarray(), atol=1e-6)
    ref = ml.levels[1].A.toarray()
    np.testing.assert_allclose(coarse.toarray(), ref, atol=1e-6 * np.abs(ref).max())
    np.testing.assert_allclose(b, ml.levels[1].B, rtol=1e-6)
    # the V-cycle is a symmetric operator (a valid CG preconditioner)
    vc = _VCycle([(a, p), (coarse, None)])
    rng = np.random.default_rng(0)
    u, w = rng.standard_normal((2, a.shape[0]))
    assert u @ vc(w) == pytest.approx(w @ vc(u), rel=1e-4)
    assert vc.nbytes > p.data.nbytes
    # with the finest level swept in parallel strips (forward even then odd strips,
    # backward the exact reverse) the cycle is still symmetric, and still a good
    # preconditioner: it changes the result only as another Gauss-Seidel order does
    from cami_atlas.connectivity.solvers.kernels import _strips_valid

    whole = vc(w)
    bounds = np.linspace(0, a.shape[0], 5).astype(np.int64)
    assert _strips_valid(a.indptr, a.indices, bounds)
    vc.strips[0] = bounds
    assert u @ vc(w) == pytest.approx(w @ vc(u), rel=1e-4)
    assert np.linalg.norm(vc(w) - whole) < 0.2 * np.linalg.norm(whole)


def test_many_components_expand_by_mask(monkeypatch):
    # one ground per component; with many grounds the solution is expanded by a mask:
    # both ways give the same node vectors
    import cami_atlas.connectivity.solvers.laplacian as mod

    r = np.ones((6, 9))
    r[:, [2, 5]] = np.inf  # three vertical strips, three components
    g = raster_graph(_grid(r), neighbours=4)
    nodes = np.array([g.cell_node[0, 0], g.cell_node[5, 4], g.cell_node[3, 8]])
    s = LaplacianSolver(graph=g, method="mixed")
    slices = s._unit_solves(nodes)
    monkeypatch.setattr(mod, "_EXPAND_MAX_GROUNDS", 1)
    masked = s._unit_solves(nodes)
    np.testing.assert_array_equal(slices, masked)
    assert (slices[s.grounds] == 0).all() and slices[nodes[1], 1] > 0
    idx = s.system_index
    assert (idx[s.grounds] == -1).all()
    assert idx[idx >= 0].tolist() == list(range(g.n_nodes - len(s.grounds)))


@pytest.mark.parametrize("method", ["mixed", "amg"])
def test_workers_give_the_same_columns(method):
    r, pts = _lognormal_with_wall(7)
    one = circuit_all_to_one(_grid(r), pts, method=method)
    two = circuit_all_to_one(_grid(r), pts, method=method, workers=2)
    np.testing.assert_array_equal(two.current.values, one.current.values)
    pd_one, pd_two = one.resistances, two.resistances
    np.testing.assert_array_equal(pd_two.to_numpy(), pd_one.to_numpy())
    er = effective_resistance(_grid(r), pts, method=method, workers=3)
    np.testing.assert_allclose(er.to_numpy(), effective_resistance(_grid(r), pts,
                                                                   method="direct").to_numpy(),
                               rtol=1e-6)
    g = raster_graph(_grid(r))
    s = LaplacianSolver(graph=g, method=method, workers=2)
    s._unit_solves(np.array([g.cell_node[1, 1], g.cell_node[50, 50]]))
    assert len(s.iterations) == 2 and min(s.iterations) > 0
    with pytest.raises(SchemaError, match="workers must be an integer >= 1"):
        LaplacianSolver(graph=g, workers=0)
