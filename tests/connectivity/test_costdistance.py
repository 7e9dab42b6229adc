"""Cost distance and least-cost paths against hand computations and an independent
Dijkstra on a graph built here (scipy.sparse.csgraph), not through scikit-image."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from shapely import Point, box

from cami_atlas.connectivity import cost_distance, least_cost_paths
from cami_atlas.errors import CRSError, OptionError, SchemaError
from cami_atlas.raster import Grid

UTM = "EPSG:32643"  # UTM 43N; x0=500 km is its central meridian (scale factor 0.9996)
X0, Y0 = 500_000.0, 4_700_000.0


def grid(values, cell=100.0, crs=UTM) -> Grid:
    values = np.asarray(values, dtype="float64")
    return Grid(values, Affine(cell, 0, X0, 0, -cell, Y0), crs)


def centre(g: Grid, r: int, c: int) -> Point:
    x, y = g.xy(np.array([r]), np.array([c]))
    return Point(float(x[0]), float(y[0]))


def brute_force(values: np.ndarray, cell: float, connectivity: int = 8) -> np.ndarray:
    """All-pairs least cost with the mean-resistance x step-length rule (dense; tiny grids)."""
    rows, cols = values.shape
    idx = np.arange(rows * cols).reshape(rows, cols)
    offsets = [(0, 1), (1, 0), (1, 1), (1, -1)] if connectivity == 8 else [(0, 1), (1, 0)]
    src, dst, w = [], [], []
    for dr, dc in offsets:
        r0, r1 = max(0, -dr), rows - max(0, dr)
        c0, c1 = max(0, -dc), cols - max(0, dc)
        a = idx[r0:r1, c0:c1].ravel()
        b = idx[r0 + dr:r1 + dr, c0 + dc:c1 + dc].ravel()
        ra, rb = values.ravel()[a], values.ravel()[b]
        ok = np.isfinite(ra) & np.isfinite(rb)
        src.append(a[ok])
        dst.append(b[ok])
        w.append((ra[ok] + rb[ok]) / 2 * cell * np.hypot(dr, dc))
    n = rows * cols
    m = sp.coo_matrix((np.concatenate(w), (np.concatenate(src), np.concatenate(dst))),
                      shape=(n, n)).tocsr()
    return dijkstra(m, directed=False)


# -- step-cost convention --------------------------------------------------------------
def test_two_cell_step_is_mean_resistance_times_length():
    g = grid([[3.0, 7.0]], cell=250.0)
    out = cost_distance(g, np.array([[0, 0]]))
    assert out.values.tolist() == [[0.0, (3 + 7) / 2 * 250.0]]


def test_diagonal_step_is_mean_resistance_times_sqrt2_length():
    g = grid([[2.0, np.inf], [np.inf, 6.0]], cell=10.0)
    out = cost_distance(g, np.array([[0, 0]]))
    assert out.values[1, 1] == pytest.approx((2 + 6) / 2 * 10.0 * np.sqrt(2), rel=1e-12)
    assert np.isinf(out.values[0, 1]) and np.isinf(out.values[1, 0])


def test_two_by_two_by_hand():
    # from (0,0): right 40, down 15, diagonal min(0.5*(2+3)*10*sqrt2=35.36, 15+0.5*(1+3)*10=35)
    g = grid([[2.0, 6.0], [1.0, 3.0]], cell=10.0)
    assert cost_distance(g, np.array([[0, 0]])).values.tolist() == [[0.0, 40.0], [15.0, 35.0]]


# -- uniform surfaces: exact octile / Manhattan distances -------------------------------
@pytest.mark.parametrize("cell", [30.0, 1000.0])
def test_uniform_surface_octile_distance(cell):
    g = grid(np.ones((15, 21)), cell=cell)
    out = cost_distance(g, np.array([[7, 4]]), connectivity=8).values
    r, c = np.mgrid[0:15, 0:21]
    dr, dc = np.abs(r - 7), np.abs(c - 4)
    octile = cell * (np.maximum(dr, dc) + (np.sqrt(2) - 1) * np.minimum(dr, dc))
    np.testing.assert_allclose(out, octile, rtol=1e-12)


def test_uniform_surface_manhattan_distance():
    g = grid(np.full((11, 9), 4.0), cell=50.0)
    out = cost_distance(g, np.array([[0, 8]]), connectivity=4).values
    r, c = np.mgrid[0:11, 0:9]
    np.testing.assert_allclose(out, 4.0 * 50.0 * (r + np.abs(c - 8)), rtol=1e-12)


# -- encoding: inf impassable, NaN outside ------------------------------------------------
def test_inf_is_impassable_and_nan_is_outside():
    v = np.ones((5, 5))
    v[:, 2] = np.inf          # a wall
    v[0, 0] = np.nan          # outside the study area
    out = cost_distance(grid(v), np.array([[4, 0]])).values
    assert np.isnan(out[0, 0])
    assert np.isinf(out[:, 2:]).all()
    assert np.isfinite(out[1:, :2]).all()


def test_nan_does_not_spoil_neighbours():
    # scikit-image on its own returns inf around NaN; the conversion at the boundary avoids it
    v = np.ones((3, 3))
    v[1, 1] = np.nan
    out = cost_distance(grid(v), np.array([[0, 0]])).values
    # around the hole: rook, diagonal past the hole's corner, rook
    assert out[2, 2] == pytest.approx(100.0 + 100.0 * np.sqrt(2) + 100.0)
    assert np.isnan(out[1, 1])


def test_matches_independent_dijkstra_random_surface():
    rng = np.random.default_rng(42)
    v = rng.uniform(1, 20, (9, 12))
    v[rng.random(v.shape) < 0.1] = np.inf
    v[0, 5] = np.nan
    v[4, 3] = 1.0
    expect = brute_force(v, 70.0)[4 * 12 + 3].reshape(v.shape)
    out = cost_distance(grid(v, cell=70.0), np.array([[4, 3]])).values
    expect[np.isnan(v)] = np.nan
    np.testing.assert_allclose(out, expect, rtol=1e-10)


def test_max_cost_cuts_far_cells():
    g = grid(np.ones((1, 10)), cell=10.0)
    out = cost_distance(g, np.array([[0, 0]]), max_cost=45.0).values[0]
    np.testing.assert_array_equal(out[:5], [0, 10, 20, 30, 40])
    assert np.isinf(out[5:]).all()


# -- sources -------------------------------------------------------------------------------
def test_point_polygon_mask_and_grid_sources_agree():
    g = grid(np.ones((6, 6)))
    by_cell = cost_distance(g, np.array([[2, 3]])).values
    pts = gpd.GeoDataFrame(geometry=[centre(g, 2, 3)], crs=UTM)
    mask = np.zeros((6, 6), bool)
    mask[2, 3] = True
    np.testing.assert_array_equal(cost_distance(g, pts).values, by_cell)
    np.testing.assert_array_equal(cost_distance(g, mask).values, by_cell)
    np.testing.assert_array_equal(cost_distance(g, g.with_values(mask.astype(float))).values,
                                  by_cell)
    np.testing.assert_array_equal(cost_distance(g, pts.geometry.iloc[0]).values, by_cell)


def test_polygon_source_cells_are_zero():
    g = grid(np.ones((8, 8)))
    # cells with centres inside: cols 2..4, rows 1..3
    poly = box(X0 + 200, Y0 - 400, X0 + 500, Y0 - 100)
    out = cost_distance(g, gpd.GeoSeries([poly], crs=UTM)).values
    assert (out[1:4, 2:5] == 0).all()
    assert out[5, 3] == pytest.approx(200.0)  # two rook steps below the polygon's last row


def test_polygon_smaller_than_a_cell_still_is_a_source():
    g = grid(np.ones((4, 4)))
    tiny = box(X0 + 110, Y0 - 190, X0 + 120, Y0 - 180)  # inside cell (1, 1), centre not covered
    out = cost_distance(g, gpd.GeoSeries([tiny], crs=UTM)).values
    assert out[1, 1] == 0 and (out > 0).sum() == 15


def test_polygon_cells_on_impassable_cells_are_dropped():
    v = np.ones((4, 4))
    v[1, 1] = np.inf
    g = grid(v)
    poly = box(X0 + 100, Y0 - 300, X0 + 300, Y0 - 100)  # cells (1..2, 1..2)
    out = cost_distance(g, gpd.GeoSeries([poly], crs=UTM)).values
    assert np.isinf(out[1, 1]) and out[2, 2] == 0


def test_source_errors():
    v = np.ones((4, 4))
    v[0, 0] = np.inf
    g = grid(v)
    with pytest.raises(SchemaError, match=r"impassable \(inf\) or outside"):
        cost_distance(g, np.array([[0, 0]]))
    with pytest.raises(SchemaError, match="outside the grid"):
        cost_distance(g, np.array([[9, 0]]))
    with pytest.raises(SchemaError, match="outside the grid"):
        cost_distance(g, gpd.GeoSeries([Point(0, 0)], crs=UTM))
    with pytest.raises(CRSError, match="reproject them"):
        cost_distance(g, gpd.GeoSeries([centre(g, 1, 1)], crs="EPSG:32644"))
    with pytest.raises(SchemaError, match="sources must be"):
        cost_distance(g, "somewhere")
    with pytest.raises(SchemaError, match="boolean source mask"):
        cost_distance(g, np.zeros((3, 3), bool))
    with pytest.raises(SchemaError, match="no source cell is passable"):
        cost_distance(g, np.isinf(v))
    with pytest.raises(SchemaError, match="max_cost must be"):
        cost_distance(g, np.array([[1, 1]]), max_cost=-1)


def test_grid_errors():
    ll = Grid(np.ones((3, 3)), Affine(0.01, 0, 70, 0, -0.01, 42), "EPSG:4326")
    with pytest.raises(CRSError, match="lat/lon"):
        cost_distance(ll, np.array([[0, 0]]))
    with pytest.raises(SchemaError, match="below 1"):
        cost_distance(grid([[1.0, 0.0]]), np.array([[0, 0]]))
    with pytest.raises(OptionError, match="connectivity=6"):
        cost_distance(grid([[1.0, 1.0]]), np.array([[0, 0]]), connectivity=6)
    with pytest.raises(SchemaError, match=r"must be a cami_atlas\.raster\.Grid"):
        cost_distance(np.ones((2, 2)), np.array([[0, 0]]))


def test_output_is_a_grid_on_the_same_raster_and_input_untouched():
    v = np.ones((3, 4))
    v[0, 0] = np.nan
    g = grid(v)
    out = cost_distance(g, np.array([[1, 1]]))
    assert isinstance(out, Grid) and out.crs == g.crs and out.transform == g.transform
    assert np.isnan(g.values[0, 0]) and (g.values[1:] == 1).all()


# -- property tests ----------------------------------------------------------------------
surfaces = st.integers(min_value=2, max_value=7).flatmap(
    lambda n: st.lists(st.sampled_from([1.0, 2.0, 5.0, 13.0, np.inf]), min_size=n * n,
                       max_size=n * n).map(lambda v, n=n: np.array(v).reshape(n, n)))


@settings(max_examples=25, deadline=None)
@given(v=surfaces, seed=st.integers(0, 1000), conn=st.sampled_from([4, 8]))
def test_property_non_negative_and_symmetric(v, seed, conn):
    rng = np.random.default_rng(seed)
    n = v.shape[0]
    a = tuple(rng.integers(0, n, 2))
    b = tuple(rng.integers(0, n, 2))
    v = v.copy()
    v[a] = v[b] = 3.0  # sources must be passable
    g = grid(v, cell=10.0)
    da = cost_distance(g, np.array([a]), connectivity=conn).values
    db = cost_distance(g, np.array([b]), connectivity=conn).values
    assert (da[~np.isnan(da)] >= 0).all()
    assert da[a] == 0
    if np.isinf(da[b]):
        assert np.isinf(db[a])
    else:
        assert da[b] == pytest.approx(db[a], rel=1e-12)


# -- least-cost paths ------------------------------------------------------------------------
def test_least_cost_paths_uniform_costs_lengths_and_ratio():
    g = grid(np.full((10, 12), 3.0), cell=1000.0)
    cores = gpd.GeoDataFrame({"name": ["a", "b", "c"]},
                             geometry=[centre(g, 0, 0), centre(g, 0, 11), centre(g, 6, 0)],
                             crs=UTM, index=[10, 20, 30])
    p = least_cost_paths(g, cores, id_column="name")
    assert p.crs == g.crs
    assert p[["core_a", "core_b"]].values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"]]
    # a-b: 11 rook steps; a-c: 6 rook steps; b-c: 6 diagonal + 5 rook steps
    planar = np.array([11, 6, 6 * np.sqrt(2) + 5]) * 1000.0
    np.testing.assert_allclose(p["cost_distance"], 3.0 * planar, rtol=1e-12)
    np.testing.assert_allclose(p["cwd_to_path_length_ratio"], 3.0, rtol=1e-12)
    # geodesic length near the UTM central meridian: planar / 0.9996 within 0.1 %
    np.testing.assert_allclose(p["lcp_length_km"], planar / 1000 / 0.9996, rtol=1e-3)
    np.testing.assert_allclose(p.geometry.length, planar, rtol=1e-12)
    assert p.geometry.iloc[0].coords[0] == centre(g, 0, 0).coords[0]
    assert p.geometry.iloc[0].coords[-1] == centre(g, 0, 11).coords[0]


def test_least_cost_path_goes_around_a_wall_and_matches_dijkstra():
    rng = np.random.default_rng(3)
    v = rng.uniform(1, 9, (8, 10))
    v[1:8, 5] = np.inf
    v[0, 0] = v[7, 9] = 1.0
    g = grid(v, cell=100.0)
    cores = gpd.GeoDataFrame(geometry=[centre(g, 7, 0), centre(g, 7, 9)], crs=UTM)
    p = least_cost_paths(g, cores)
    d = brute_force(v, 100.0)[7 * 10 + 0, 7 * 10 + 9]
    assert p["cost_distance"].iloc[0] == pytest.approx(d, rel=1e-10)
    xs = np.array(p.geometry.iloc[0].coords)[:, 0]
    ys = np.array(p.geometry.iloc[0].coords)[:, 1]
    r, c = g.rowcol(xs, ys)
    assert (r[c == 5] == 0).all()  # it crosses column 5 only through the gap in row 0
    # the cost of the returned path recomputed from its cells equals the reported cost
    steps = np.hypot(np.diff(r), np.diff(c)) * 100.0
    assert np.sum((v[r[:-1], c[:-1]] + v[r[1:], c[1:]]) / 2 * steps) == pytest.approx(d)


def test_least_cost_paths_polygons_edge_to_edge_and_filters():
    v = np.ones((5, 20))
    v[:, 15] = np.inf  # core c is cut off
    g = grid(v, cell=100.0)
    a = box(X0, Y0 - 500, X0 + 300, Y0)            # cols 0..2
    b = box(X0 + 800, Y0 - 500, X0 + 1000, Y0)     # cols 8..9
    c = box(X0 + 1700, Y0 - 500, X0 + 2000, Y0)    # cols 17..19
    cores = gpd.GeoDataFrame(geometry=[a, b, c], crs=UTM)
    p = least_cost_paths(g, cores)
    assert p[["core_a", "core_b"]].values.tolist() == [[0, 1]]
    assert p["cost_distance"].iloc[0] == pytest.approx(600.0)  # col 2 -> col 8 (edge to edge)
    assert len(least_cost_paths(g, cores, max_cost_distance=599.0)) == 0
    assert len(least_cost_paths(g, cores, max_cost_distance=600.0)) == 1
    assert p["core_a"].dtype == cores.index.dtype


def test_least_cost_paths_errors():
    g = grid(np.ones((4, 4)))
    one = gpd.GeoDataFrame(geometry=[centre(g, 0, 0)], crs=UTM)
    with pytest.raises(SchemaError, match="at least 2 cores"):
        least_cost_paths(g, one)
    two = gpd.GeoDataFrame({"id": [1, 1]}, geometry=[centre(g, 0, 0), centre(g, 3, 3)], crs=UTM)
    with pytest.raises(SchemaError, match="unique"):
        least_cost_paths(g, two, id_column="id")
    with pytest.raises(SchemaError, match="no column 'name'"):
        least_cost_paths(g, two, id_column="name")
    with pytest.raises(CRSError, match="reproject them"):
        least_cost_paths(g, two.to_crs("EPSG:4326"))
    v = np.ones((4, 4))
    v[0, 0] = np.inf
    with pytest.raises(SchemaError, match="no passable cell"):
        least_cost_paths(grid(v), two)
    with pytest.raises(SchemaError, match="cores must be a GeoDataFrame"):
        least_cost_paths(g, [centre(g, 0, 0), centre(g, 1, 1)])


# -- the compiled Dijkstra against scikit-image's MCP_Geometric (the reference) ------------
@pytest.mark.parametrize("connectivity", [4, 8])
def test_compiled_dijkstra_equals_mcp_geometric(connectivity: int) -> None:
    from skimage.graph import MCP_Geometric

    from cami_atlas.connectivity._dijkstra import grid_dijkstra

    rng = np.random.default_rng(11)
    values = 1.0 + np.exp(rng.normal(1.0, 1.0, (61, 47)))
    values[rng.random(values.shape) < 0.15] = np.inf      # walls and islands
    starts = np.array([5 * 47 + 7, 40 * 47 + 30, 60 * 47 + 46])
    values.ravel()[starts] = 3.0
    ours = grid_dijkstra(values, starts, 25.0, connectivity == 8, np.inf)
    mcp = MCP_Geometric(values, fully_connected=connectivity == 8, sampling=(25.0, 25.0))
    ref, _ = mcp.find_costs(np.column_stack(np.divmod(starts, 47)))
    assert np.array_equal(np.isfinite(ours), np.isfinite(ref))
    assert np.isinf(ours[np.isinf(values)]).all()
    fin = np.isfinite(ref)
    np.testing.assert_allclose(ours[fin], ref[fin], rtol=1e-12, atol=0)
    # the limit cuts exactly the cells beyond it
    limit = float(np.median(ref[fin]))
    cut = grid_dijkstra(values, starts, 25.0, connectivity == 8, limit)
    np.testing.assert_array_equal(np.isfinite(cut), fin & (ref <= limit))
    np.testing.assert_allclose(cut[np.isfinite(cut)], ref[fin & (ref <= limit)], rtol=1e-12)


def test_compiled_dijkstra_reads_float32_and_nan_without_copies() -> None:
    """The kernel reads float32 resistance as it is (steps still summed in float64) and
    NaN cells itself: the result equals MCP_Geometric on the float64 values with NaN as
    impassable, and is NaN exactly on the NaN cells."""
    from skimage.graph import MCP_Geometric

    from cami_atlas.connectivity._dijkstra import grid_dijkstra

    rng = np.random.default_rng(5)
    v32 = (1.0 + np.exp(rng.normal(1.0, 1.0, (40, 33)))).astype(np.float32)
    v32[rng.random(v32.shape) < 0.1] = np.nan
    v32[rng.random(v32.shape) < 0.1] = np.inf
    v32[0, 0] = 2.0
    v32[39, 32] = np.nan                       # a start on a NaN cell is ignored
    starts = np.array([0, 40 * 33 - 1])
    ours = grid_dijkstra(v32, starts, 30.0, True, np.inf)
    v64 = v32.astype(np.float64)
    mcp = MCP_Geometric(np.where(np.isnan(v64), np.inf, v64), fully_connected=True,
                        sampling=(30.0, 30.0))
    ref, _ = mcp.find_costs([(0, 0)])
    assert ours.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(v32))
    keep = ~np.isnan(v32)
    np.testing.assert_array_equal(ours[keep], ref[keep])
    assert np.isfinite(ours).sum() > 500      # most of the grid is reached
    g = grid(v32)
    np.testing.assert_array_equal(cost_distance(g, np.array([[0, 0]])).values,
                                  cost_distance(grid(v64), np.array([[0, 0]])).values)
