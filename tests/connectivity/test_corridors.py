"""Least-cost corridors against a brute-force computation (all-pairs Dijkstra on a graph
built here with scipy.sparse.csgraph, independent of scikit-image)."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from affine import Affine
from scipy.sparse.csgraph import dijkstra
from shapely import Point, box

from cami_atlas.connectivity import (
    CorridorResult,
    cost_distance,
    least_cost_corridors,
    normalized_corridor,
)
from cami_atlas.errors import CRSError, SchemaError
from cami_atlas.raster import Grid

UTM = "EPSG:32643"
X0, Y0 = 600_000.0, 4_500_000.0


def grid(values, cell=100.0, crs=UTM) -> Grid:
    return Grid(np.asarray(values, dtype="float64"), Affine(cell, 0, X0, 0, -cell, Y0), crs)


def centre(g: Grid, r: int, c: int) -> Point:
    x, y = g.xy(np.array([r]), np.array([c]))
    return Point(float(x[0]), float(y[0]))


def all_pairs(values: np.ndarray, cell: float) -> np.ndarray:
    """Dense all-pairs least cost, 8 neighbours, mean resistance x step length."""
    rows, cols = values.shape
    n = rows * cols
    flat = values.ravel()
    src, dst, w = [], [], []
    for a in range(n):
        ra, ca = divmod(a, cols)
        for dr, dc in itertools.product((-1, 0, 1), repeat=2):
            rb, cb = ra + dr, ca + dc
            if (dr, dc) == (0, 0) or not (0 <= rb < rows and 0 <= cb < cols):
                continue
            b = rb * cols + cb
            if np.isfinite(flat[a]) and np.isfinite(flat[b]):
                src.append(a)
                dst.append(b)
                w.append((flat[a] + flat[b]) / 2 * cell * np.hypot(dr, dc))
    m = sp.csr_matrix((w, (src, dst)), shape=(n, n))
    return dijkstra(m, directed=True)


def brute_corridor(d: np.ndarray, a: int, b: int, shape) -> np.ndarray:
    return (d[a] + d[:, b] - d[a, b]).reshape(shape)


@pytest.fixture
def tiny():
    rng = np.random.default_rng(7)
    v = rng.integers(1, 10, (6, 7)).astype(float)
    v[2, 3] = np.inf
    v[5, 0] = np.nan
    v[0, 0] = v[5, 6] = v[0, 6] = 2.0
    return v


def test_corridor_matches_brute_force_and_is_zero_on_the_path(tiny):
    g = grid(tiny, cell=50.0)
    cores = gpd.GeoDataFrame(geometry=[centre(g, 0, 0), centre(g, 5, 6)], crs=UTM)
    res = least_cost_corridors(g, cores)
    assert isinstance(res, CorridorResult)
    d = all_pairs(tiny, 50.0)
    a, b = 0, 5 * 7 + 6
    expect = brute_corridor(d, a, b, tiny.shape)
    expect[np.isnan(tiny)] = np.nan
    np.testing.assert_allclose(res.mosaic.values, expect, rtol=1e-9, atol=1e-9)
    assert res.pairs["cost_distance"].iloc[0] == pytest.approx(d[a, b], rel=1e-12)
    # zero along the least-cost path (cells of the returned LineString)
    xy = np.array(res.paths.geometry.iloc[0].coords)
    r, c = g.rowcol(xy[:, 0], xy[:, 1])
    np.testing.assert_allclose(res.mosaic.values[r, c], 0.0, atol=1e-9)
    assert np.isinf(res.mosaic.values[2, 3]) and np.isnan(res.mosaic.values[5, 0])


def test_mosaic_is_minimum_over_pairs_and_width_truncates(tiny):
    g = grid(tiny, cell=50.0)
    cells = [(0, 0), (5, 6), (0, 6)]
    cores = gpd.GeoDataFrame({"core": ["A", "B", "C"]},
                             geometry=[centre(g, *rc) for rc in cells], crs=UTM)
    d = all_pairs(tiny, 50.0)
    flat = [r * 7 + c for r, c in cells]
    stack = np.stack([brute_corridor(d, flat[i], flat[j], tiny.shape)
                      for i, j in itertools.combinations(range(3), 2)])
    expect = stack.min(axis=0)
    width = 300.0
    res = least_cost_corridors(g, cores, id_column="core", width=width)
    expect_w = np.where(expect > width, np.inf, expect)
    expect_w[np.isnan(tiny)] = np.nan
    np.testing.assert_allclose(res.mosaic.values, expect_w, rtol=1e-9, atol=1e-9)
    assert res.pairs[["core_a", "core_b"]].values.tolist() == [["A", "B"], ["A", "C"],
                                                               ["B", "C"]]
    np.testing.assert_allclose(res.pairs["cost_distance"],
                               [d[flat[0], flat[1]], d[flat[0], flat[2]], d[flat[1], flat[2]]])
    assert list(res.pairs.columns) == ["core_a", "core_b", "cost_distance", "lcp_length_km",
                                       "cwd_to_path_length_ratio", "n_cells"]
    assert res.paths.crs == g.crs and len(res.paths) == 3


def test_max_cost_distance_keeps_only_near_pairs(tiny):
    g = grid(tiny, cell=50.0)
    cells = [(0, 0), (5, 6), (0, 6)]
    cores = gpd.GeoDataFrame(geometry=[centre(g, *rc) for rc in cells], crs=UTM)
    d = all_pairs(tiny, 50.0)
    flat = [r * 7 + c for r, c in cells]
    costs = {(i, j): d[flat[i], flat[j]] for i, j in itertools.combinations(range(3), 2)}
    cut = sorted(costs.values())[1]  # keeps the two cheapest pairs
    res = least_cost_corridors(g, cores, max_cost_distance=cut, width=200.0)
    kept = sorted(k for k, v in costs.items() if v <= cut)
    assert [tuple(p) for p in res.pairs[["core_a", "core_b"]].values.tolist()] == kept
    expect = np.stack([brute_corridor(d, flat[i], flat[j], tiny.shape) for i, j in kept])
    expect = expect.min(axis=0)
    expect = np.where(expect > 200.0, np.inf, expect)
    expect[np.isnan(tiny)] = np.nan
    np.testing.assert_allclose(res.mosaic.values, expect, rtol=1e-9, atol=1e-9)


def test_uniform_corridor_between_polygons_is_straight_band():
    g = grid(np.ones((7, 12)), cell=1000.0)
    west = box(X0, Y0 - 7000, X0 + 2000, Y0)              # cols 0..1, full height
    east = box(X0 + 10_000, Y0 - 7000, X0 + 12_000, Y0)   # cols 10..11
    res = least_cost_corridors(g, gpd.GeoDataFrame(geometry=[west, east], crs=UTM))
    # every cell from edge to edge lies on some straight least-cost path: corridor 0; the
    # core cells one step behind an edge cost one extra rook step (1000 m x resistance 1)
    np.testing.assert_allclose(res.mosaic.values[:, 1:11], 0.0, atol=1e-9)
    np.testing.assert_allclose(res.mosaic.values[:, [0, 11]], 1000.0)
    assert res.pairs["cost_distance"].iloc[0] == pytest.approx(9000.0)  # col 1 -> col 10
    assert res.pairs["cwd_to_path_length_ratio"].iloc[0] == pytest.approx(1.0)
    assert res.pairs["lcp_length_km"].iloc[0] == pytest.approx(9.0, rel=2e-3)


def test_normalized_corridor_from_cost_distance_surfaces(tiny):
    g = grid(tiny, cell=50.0)
    ca = cost_distance(g, np.array([[0, 0]]))
    cb = cost_distance(g, np.array([[5, 6]]))
    d = all_pairs(tiny, 50.0)
    expect = brute_corridor(d, 0, 41, tiny.shape)
    expect[np.isnan(tiny)] = np.nan
    np.testing.assert_allclose(normalized_corridor(ca, cb).values, expect, rtol=1e-9, atol=1e-9)
    w = normalized_corridor(ca, cb, width=100.0).values
    assert np.isinf(w[expect > 100.0]).all()
    np.testing.assert_allclose(w[expect <= 100.0], expect[expect <= 100.0], atol=1e-9)


def test_disconnected_pair_has_no_corridor():
    v = np.ones((3, 5))
    v[:, 2] = np.inf
    g = grid(v)
    cores = gpd.GeoDataFrame(geometry=[centre(g, 1, 0), centre(g, 1, 4)], crs=UTM)
    res = least_cost_corridors(g, cores)
    assert len(res.pairs) == 0 and np.isinf(res.mosaic.values).all()
    ca = cost_distance(g, np.array([[1, 0]]))
    cb = cost_distance(g, np.array([[1, 4]]))
    with pytest.raises(SchemaError, match="not connected"):
        normalized_corridor(ca, cb)


def test_corridor_errors():
    g = grid(np.ones((3, 3)))
    h = grid(np.ones((3, 4)))
    with pytest.raises(SchemaError, match="same raster"):
        normalized_corridor(g, h)
    with pytest.raises(CRSError, match="different CRSs"):
        normalized_corridor(g, grid(np.ones((3, 3)), crs="EPSG:32644"))
    cores = gpd.GeoDataFrame(geometry=[centre(g, 0, 0), centre(g, 2, 2)], crs=UTM)
    with pytest.raises(SchemaError, match="width must be"):
        least_cost_corridors(g, cores, width=-5)
    with pytest.raises(SchemaError, match="max_cost_distance must be"):
        least_cost_corridors(g, cores, max_cost_distance=-5)
