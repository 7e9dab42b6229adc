"""Resistance surfaces: slope (analytical plane), reclass tables, user functions, combining,
infrastructure burning without diagonal leaks, crossing structures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.features import rasterize
from scipy import ndimage
from shapely import LineString, MultiLineString, Point

from cami_atlas.connectivity import (
    DEFAULT_BARRIER_RESISTANCE,
    burn_infrastructure,
    check_resistance,
    combine_resistance,
    cost_distance,
    four_neighbour_guard,
    least_cost_paths,
    reclassify,
    resistance_from_function,
    slope_degrees,
    slope_resistance,
)
from cami_atlas.errors import (
    CRSError,
    MissingColumnError,
    OptionError,
    SchemaError,
    UnknownValueError,
)
from cami_atlas.raster import Grid

UTM = "EPSG:32643"
X0, Y0 = 400_000.0, 4_600_000.0


def grid(values, cell=100.0, crs=UTM) -> Grid:
    return Grid(np.asarray(values, dtype="float64"), Affine(cell, 0, X0, 0, -cell, Y0), crs)


def lines(geoms, classes, crs=UTM) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"barrier_class": classes}, geometry=geoms, crs=crs)


# -- check_resistance ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0.0, -3.0, 0.5, -np.inf])
def test_check_resistance_rejects_values_below_one(bad):
    with pytest.raises(SchemaError, match="below 1"):
        check_resistance(grid([[1.0, bad]]))


def test_check_resistance_accepts_encoding_and_rejects_non_numbers():
    g = grid([[1.0, np.inf], [np.nan, 1e6]])
    assert check_resistance(g) is g
    with pytest.raises(SchemaError, match="real numbers"):
        check_resistance(Grid(np.array([["a"]]), Affine.identity(), UTM))


# -- slope ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("gx", "gy", "cell"), [(0.1, -0.05, 30.0), (1.0, 0.0, 90.0),
                                                (0.0, 2.5, 1000.0), (-0.3, 0.4, 250.0)])
def test_slope_of_a_tilted_plane_is_atan_of_gradient(gx, gy, cell):
    g = grid(np.zeros((7, 9)), cell=cell)
    x, y = g.xy(*np.mgrid[0:7, 0:9])
    dem = g.with_values(1000 + gx * (x - X0) + gy * (y - Y0))
    expect = np.degrees(np.arctan(np.hypot(gx, gy)))
    np.testing.assert_allclose(slope_degrees(dem).values, expect, atol=1e-9)


def test_slope_z_factor_feet():
    g = grid(np.zeros((4, 4)), cell=10.0)
    x, _ = g.xy(*np.mgrid[0:4, 0:4])
    dem_ft = g.with_values((x - X0) / 0.3048)  # rises 1 m per m, in feet
    np.testing.assert_allclose(slope_degrees(dem_ft, z_factor=0.3048).values, 45.0)


def test_slope_refuses_latlon_and_tiny_grids():
    ll = Grid(np.ones((5, 5)), Affine(0.01, 0, 70, 0, -0.01, 42), "EPSG:4326")
    with pytest.raises(CRSError, match="lat/lon"):
        slope_degrees(ll)
    with pytest.raises(SchemaError, match="at least 2 x 2"):
        slope_degrees(grid([[1.0, 2.0]]))


def test_slope_resistance_formula_and_impassable():
    g = grid(np.zeros((5, 5)), cell=100.0)
    x, _ = g.xy(*np.mgrid[0:5, 0:5])
    dem = g.with_values((x - X0) * np.tan(np.radians(30)))  # 30 degree plane
    r = slope_resistance(dem, max_resistance=91.0, exponent=2.0)
    np.testing.assert_allclose(r.values, 1 + 90 * (30 / 90) ** 2)
    r = slope_resistance(dem, impassable_above_deg=29.0)
    assert np.isinf(r.values).all()
    assert check_resistance(slope_resistance(dem)) is not None


def test_slope_resistance_reprojects_latlon_or_refuses():
    ll = Grid(np.full((21, 21), 1500.0), Affine(0.01, 0, 73.995, 0, -0.01, 42.205), "EPSG:4326")
    with pytest.raises(CRSError, match="pass crs="):
        slope_resistance(ll)
    r = slope_resistance(ll, crs=UTM, cell_size_m=500)
    assert r.crs.equals(UTM) and r.cell_size_m == 500.0
    finite = r.values[np.isfinite(r.values)]
    assert finite.size > 50 and np.allclose(finite, 1.0)  # flat DEM -> resistance 1


def test_slope_resistance_option_errors():
    g = grid(np.zeros((3, 3)))
    with pytest.raises(SchemaError, match="max_resistance"):
        slope_resistance(g, max_resistance=0.5)
    with pytest.raises(SchemaError, match="exponent"):
        slope_resistance(g, exponent=0)


# -- reclass ------------------------------------------------------------------------------------
def test_reclassify_dict_and_dataframe_and_nan():
    lc = grid([[10, 20, np.nan], [30, 10, 20]])
    out = reclassify(lc, {10: 1, 20: 5.5, 30: np.inf})
    np.testing.assert_array_equal(out.values, [[1, 5.5, np.nan], [np.inf, 1, 5.5]])
    table = pd.DataFrame({"code": [10, 20, 30], "r": [2, 3, 4]})
    out = reclassify(lc, table, class_column="code", value_column="r")
    np.testing.assert_array_equal(out.values, [[2, 3, np.nan], [4, 2, 3]])
    assert np.isnan(lc.values[0, 2]) and lc.values[0, 0] == 10  # input untouched


def test_reclassify_integer_raster_and_series_table():
    lc = Grid(np.array([[1, 2], [2, 1]], dtype="int16"), Affine(30, 0, 0, 0, -30, 60), UTM)
    out = reclassify(lc, pd.Series({1: 1.0, 2: 8.0}))
    assert out.values.tolist() == [[1.0, 8.0], [8.0, 1.0]]


def test_reclassify_lists_every_unmatched_class():
    lc = grid([[10, 20], [40, 50]])
    with pytest.raises(UnknownValueError, match=r"2 class\(es\).*40, 50"):
        reclassify(lc, {10: 1, 20: 2})


def test_reclassify_table_errors():
    lc = grid([[10]])
    with pytest.raises(MissingColumnError, match=r"lacks column\(s\) \['resistance'\]"):
        reclassify(lc, pd.DataFrame({"class": [10], "cost": [1]}))
    with pytest.raises(SchemaError, match="not resistances"):
        reclassify(lc, {10: 0.2})
    with pytest.raises(SchemaError, match="duplicate keys"):
        reclassify(lc, pd.DataFrame({"class": [10, 10], "resistance": [1, 2]}))
    with pytest.raises(SchemaError, match="must be a dict"):
        reclassify(lc, [(10, 1)])


# -- user functions and combination ---------------------------------------------------------
def test_resistance_from_function_and_errors():
    d = grid([[0.0, 1000.0], [np.nan, 3000.0]])
    r = resistance_from_function(d, lambda v: 1 + 99 * np.exp(-v / 1000))
    np.testing.assert_allclose(r.values, [[100, 1 + 99 / np.e], [np.nan, 1 + 99 * np.exp(-3)]])
    with pytest.raises(SchemaError, match="returned shape"):
        resistance_from_function(d, lambda v: v.ravel())
    with pytest.raises(SchemaError, match="below 1"):
        resistance_from_function(d, lambda v: v / 1000)


def test_combine_resistance_modes_and_errors():
    a = grid([[1.0, 4.0, np.inf, np.nan]])
    b = grid([[3.0, 2.0, 5.0, 1.0]])
    assert combine_resistance([a, b]).values[0, :3].tolist() == [3.0, 4.0, np.inf]
    assert combine_resistance([a, b], how="product").values[0, :3].tolist() == [3.0, 8.0, np.inf]
    assert combine_resistance([a, b], how="sum").values[0, :3].tolist() == [3.0, 5.0, np.inf]
    assert np.isnan(combine_resistance([a, b], how="sum").values[0, 3])
    with pytest.raises(OptionError, match="how='mean'"):
        combine_resistance([a, b], how="mean")
    with pytest.raises(SchemaError, match="not on the same raster"):
        combine_resistance([a, grid([[1.0, 1.0]])])
    with pytest.raises(SchemaError, match="at least one grid"):
        combine_resistance([])


# -- the 4-neighbour guard -----------------------------------------------------------------------
masks = st.integers(2, 9).flatmap(lambda n: st.lists(st.booleans(), min_size=n * n,
                                                     max_size=n * n).map(
    lambda v, n=n: np.array(v).reshape(n, n)))


@settings(max_examples=40, deadline=None)
@given(m=masks)
def test_guard_makes_8_and_4_connectivity_of_free_cells_agree(m):
    g = four_neighbour_guard(m)
    assert (g | ~m).all()  # only adds cells
    free = ~g
    _, n4 = ndimage.label(free, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    _, n8 = ndimage.label(free, structure=np.ones((3, 3)))
    assert n4 == n8
    a, b, c, d = g[:-1, :-1], g[:-1, 1:], g[1:, :-1], g[1:, 1:]
    assert not ((b & c & ~a & ~d) | (a & d & ~b & ~c)).any()


# -- burning infrastructure --------------------------------------------------------------------
DIAGONAL = LineString([(X0, Y0), (X0 + 1000, Y0 - 1000)])  # exactly through cell corners


def test_plain_rasterization_of_a_diagonal_leaks():
    """The failure the guard exists for: GDAL burns a corner-to-corner chain, even with
    all_touched, and a diagonal step slips through."""
    g = grid(np.ones((10, 10)))
    for all_touched in (False, True):
        burned = rasterize([(DIAGONAL, 1)], out_shape=g.shape, transform=g.transform,
                           all_touched=all_touched).astype(bool)
        leaky = g.with_values(np.where(burned, np.inf, 1.0))
        assert np.isfinite(cost_distance(leaky, np.array([[9, 0]])).values[0, 9])


@pytest.mark.parametrize("method", ["all_touched", "four_neighbour"])
@pytest.mark.parametrize("line", [DIAGONAL,
                                  LineString([(X0, Y0 - 270), (X0 + 1000, Y0 - 730)]),
                                  LineString([(X0 + 130, Y0), (X0 + 910, Y0 - 1000)])])
def test_complete_barrier_without_gap_cuts_the_far_side(method, line):
    g = grid(np.ones((10, 10)))
    r = burn_infrastructure(g, lines([line], ["complete barrier"]), method=method)
    cd = cost_distance(r, np.array([[9, 0]])).values  # from the bottom-left corner
    # the far side: cells strictly on the other side of the line
    x, y = g.xy(*np.mgrid[0:10, 0:10])
    (x1, y1), (x2, y2) = line.coords
    side = np.sign((x2 - x1) * (y - y1) - (y2 - y1) * (x - x1))
    far = (side == -side[9, 0]) & np.isfinite(r.values)
    assert far.any()
    assert np.isinf(cd[far]).all()


@pytest.mark.parametrize("method", ["all_touched", "four_neighbour"])
def test_one_gap_lets_the_path_through_the_gap_cell(method):
    g = grid(np.ones((9, 9)))
    # a vertical fence along column 4's centre line, missing only row 4 (y 400..500 m down)
    fence = MultiLineString([[(X0 + 450, Y0), (X0 + 450, Y0 - 390)],
                             [(X0 + 450, Y0 - 510), (X0 + 450, Y0 - 900)]])
    r = burn_infrastructure(g, lines([fence], ["complete barrier"]), method=method)
    assert np.isinf(r.values[:4, 4]).all() and np.isinf(r.values[5:, 4]).all()
    assert r.values[4, 4] == 1.0
    cores = gpd.GeoDataFrame(geometry=[Point(X0 + 50, Y0 - 50), Point(X0 + 850, Y0 - 50)],
                             crs=UTM)
    p = least_cost_paths(r, cores)
    assert len(p) == 1
    assert (X0 + 450, Y0 - 450) in list(p.geometry.iloc[0].coords)
    # cost: (0,0) -> (4,4) four diagonals, (4,4) -> (0,8) four diagonals
    assert p["cost_distance"].iloc[0] == pytest.approx(8 * 100 * np.sqrt(2))


@pytest.mark.parametrize("method", ["all_touched", "four_neighbour"])
def test_crossing_structure_restores_passability(method):
    base = np.full((10, 10), 2.0)
    g = grid(base)
    infra = lines([DIAGONAL], ["complete barrier"])
    blocked = burn_infrastructure(g, infra, method=method)
    assert np.isinf(cost_distance(blocked, np.array([[9, 0]])).values[0, 9])
    underpass = gpd.GeoSeries([Point(X0 + 550, Y0 - 550)], crs=UTM)  # on the line, cell (5, 5)
    opened = burn_infrastructure(g, infra, method=method, crossings=underpass)
    cd = cost_distance(opened, np.array([[9, 0]])).values
    assert np.isfinite(cd[0, 9])
    assert (opened.values[4:7, 4:7] == 2.0).all()  # base resistance back within one cell
    assert np.isinf(opened.values[0, 0]) and np.isinf(opened.values[9, 9])  # elsewhere still shut
    # a zero-radius crossing opens only its own cell, which does not open a guarded line
    narrow = burn_infrastructure(g, infra, method=method, crossings=underpass,
                                 crossing_radius_m=0)
    assert narrow.values[5, 5] == 2.0


def test_barrier_table_modes_and_overlaps():
    base = grid(np.array([[2.0, 20.0, 2.0, np.nan]]))
    road = LineString([(X0, Y0 - 50), (X0 + 400, Y0 - 50)])  # through all four cell centres
    infra = lines([road], ["partial barrier"])
    table = {"partial barrier": 10.0}
    mult = burn_infrastructure(base, infra, barrier_table=table)
    np.testing.assert_array_equal(mult.values, [[20.0, 200.0, 20.0, np.nan]])
    repl = burn_infrastructure(base, infra, barrier_table=table, how="replace")
    np.testing.assert_array_equal(repl.values, [[10.0, 10.0, 10.0, np.nan]])
    floor = burn_infrastructure(base, infra, barrier_table=table, how="max")
    np.testing.assert_array_equal(floor.values, [[10.0, 20.0, 10.0, np.nan]])
    both = lines([road, road], ["partial barrier", "complete barrier"])
    assert np.isinf(burn_infrastructure(base, both).values[0, :3]).all()  # worst class wins
    df = pd.DataFrame({"barrier_class": ["partial barrier"], "resistance": [3.0]})
    np.testing.assert_array_equal(burn_infrastructure(base, infra, barrier_table=df).values,
                                  [[6.0, 60.0, 6.0, np.nan]])
    nb = lines([road], ["not a barrier"])
    np.testing.assert_array_equal(burn_infrastructure(base, nb).values, base.values)


def test_default_table_and_inputs_untouched():
    assert DEFAULT_BARRIER_RESISTANCE["complete barrier"] == np.inf
    assert DEFAULT_BARRIER_RESISTANCE["not a barrier"] == 1.0
    base = grid(np.ones((3, 3)))
    infra = lines([LineString([(X0, Y0 - 150), (X0 + 300, Y0 - 150)])], ["unknown"])
    before = infra.copy()
    out = burn_infrastructure(base, infra)
    assert (out.values[1] == DEFAULT_BARRIER_RESISTANCE["unknown"]).all()
    assert (base.values == 1).all()
    pd.testing.assert_frame_equal(infra, before)
    assert out.crs == base.crs and out.transform == base.transform


def test_burn_errors():
    base = grid(np.ones((3, 3)))
    road = LineString([(X0, Y0 - 150), (X0 + 300, Y0 - 150)])
    with pytest.raises(MissingColumnError, match="no 'barrier_class' column"):
        burn_infrastructure(base, gpd.GeoDataFrame(geometry=[road], crs=UTM))
    with pytest.raises(UnknownValueError, match=r"\['bridge'\]"):
        burn_infrastructure(base, lines([road], ["bridge"]))
    with pytest.raises(SchemaError, match="have no 'barrier_class'"):
        burn_infrastructure(base, lines([road], [None]))
    with pytest.raises(CRSError, match="reproject it first"):
        burn_infrastructure(base, lines([road], ["unknown"]).set_crs("EPSG:32642",
                                                                     allow_override=True))
    with pytest.raises(OptionError, match="method='bresenham'"):
        burn_infrastructure(base, lines([road], ["unknown"]), method="bresenham")
    with pytest.raises(OptionError, match="how='add'"):
        burn_infrastructure(base, lines([road], ["unknown"]), how="add")
    ll = Grid(np.ones((3, 3)), Affine(0.01, 0, 70, 0, -0.01, 42), "EPSG:4326")
    with pytest.raises(CRSError, match="lat/lon"):
        burn_infrastructure(ll, lines([road], ["unknown"], crs="EPSG:4326"))
    with pytest.raises(SchemaError, match="crossing_radius_m"):
        burn_infrastructure(base, lines([road], ["unknown"]),
                            crossings=gpd.GeoSeries([Point(X0 + 50, Y0 - 50)], crs=UTM),
                            crossing_radius_m=-1)
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        burn_infrastructure(base, [road])


# -- real data: GEBCO_2023 1' DEM of the Tian Shan (PROVENANCE §5) ---------------------------
def test_slope_resistance_on_real_gebco_dem(real_data):
    from pyproj import Transformer

    dem = Grid.from_geotiff(real_data / "dem" / "gebco2023_kyrgyzstan_tianshan_1arcmin.tif")
    assert dem.crs.is_geographic
    with pytest.raises(CRSError, match="lat/lon"):
        slope_resistance(dem)
    utm = dem.to_crs("EPSG:32643", cell_size_m=2000)
    inside = np.isfinite(utm.values)
    z = utm.values[inside]
    # PROVENANCE §5: 115..7,633 m in the 15" source; block means and bilinear resampling
    # stay inside that range, and the window still spans lowlands and 7,000 m peaks
    assert 115 <= z.min() < 500 and 6500 < z.max() <= 7633
    slope = slope_degrees(utm).values
    s = slope[np.isfinite(slope)]
    assert s.min() >= 0 and s.max() < 90 and s.max() > 10
    tr = Transformer.from_crs("EPSG:4326", "EPSG:32643", always_xy=True)
    # spot checks of PROVENANCE §5: Issyk-Kul surface 1,600 m (flat), Bishkek 769 m, Tashkent 443 m
    for lon, lat, elev, tol in [(77.25, 42.43, 1600, 2), (77.5, 42.5, 1600, 2),
                                (74.59, 42.87, 769, 40), (69.24, 41.31, 443, 40)]:
        r, c = utm.rowcol(*tr.transform(lon, lat))
        assert utm.values[r, c] == pytest.approx(elev, abs=tol)
    r, c = utm.rowcol(*tr.transform(77.25, 42.43))
    assert slope[r, c] < 0.1  # the lake surface is flat
    res = slope_resistance(dem, crs="EPSG:32643", cell_size_m=2000, max_resistance=100.0)
    assert res.crs.equals("EPSG:32643") and res.cell_size_m == 2000.0
    np.testing.assert_allclose(res.values, 1 + 99 * slope / 90, equal_nan=True)
    assert check_resistance(res) is res
