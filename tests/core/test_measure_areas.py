"""Areas and lengths of large geometries against pyproj.Geod (cami_atlas.measure).

The reference of every area is :meth:`pyproj.Geod.geometry_area_perimeter` on WGS84 of the
same polygon, its edges cut finely *by the test* (``shapely.segmentize`` in the polygon's
own CRS, then ``pyproj.Transformer`` to lon/lat): an edge is straight in the CRS the polygon
is stored in, and Geod joins vertices by geodesics, so a fine cut makes the two agree to
~1e-9. Nothing of the library's reprojection is used for the reference.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely import LineString, MultiLineString, MultiPolygon, Point, box

from cami_atlas.atlas import Atlas, layer_summary
from cami_atlas.errors import CRSError, OptionError
from cami_atlas.measure import (
    EQUAL_AREA_CRS,
    MAX_SEGMENT_KM,
    area_km2,
    densify,
    geodesic_length_km,
    to_crs,
)

GEOD = Geod(ellps="WGS84")
TOLERANCE = 1e-3  # the bar: 0.1 %


def geod_area_km2(geom, crs="EPSG:4326", step=None) -> float:
    """Geodesic area of ``geom`` (in ``crs``) with its edges cut every ``step`` CRS units."""
    if step is None:
        step = 0.01 if crs == "EPSG:4326" else 1000.0  # ~1.1 km either way
    dense = shapely.segmentize(geom, step)
    if crs != "EPSG:4326":
        to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        dense = shapely.transform(dense, lambda xy: np.column_stack(to_ll.transform(*xy.T)))
    return abs(GEOD.geometry_area_perimeter(dense)[0]) / 1e6


# -- large lon/lat polygons --------------------------------------------------------------------
@pytest.mark.parametrize("south", [-10.0, 35.0, 50.0])
def test_40_by_20_degree_box_matches_geod(south):
    poly = box(60, south, 100, south + 20)
    s = gpd.GeoSeries([poly], crs="EPSG:4326")
    expected = geod_area_km2(poly)
    got = float(area_km2(s).iloc[0])
    assert got == pytest.approx(expected, rel=TOLERANCE)
    assert got == pytest.approx(expected, rel=1e-6)  # the residual stated in the docs
    # the test can fail: projecting the four corners alone is 2.7 % off
    chord = float(s.to_crs(EQUAL_AREA_CRS).area.iloc[0]) / 1e6
    assert abs(chord / expected - 1) > 0.02


def test_box_across_the_antimeridian_matches_geod():
    # one polygon with longitudes past 180 and the same area split at the antimeridian
    whole = box(170, 50, 190, 65)
    split = MultiPolygon([box(170, 50, 180, 65), box(-180, 50, -170, 65)])
    expected = geod_area_km2(whole)
    assert geod_area_km2(box(170, 50, 180, 65)) + geod_area_km2(box(-180, 50, -170, 65)) \
        == pytest.approx(expected, rel=1e-9)
    got = area_km2(gpd.GeoSeries([whole, split], crs="EPSG:4326")).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    projected = to_crs(gpd.GeoSeries([split], crs="EPSG:4326"), EQUAL_AREA_CRS)
    assert projected.is_valid.all()


def test_area_of_small_and_empty_geometries():
    s = gpd.GeoSeries([box(0, 0, 10_000, 10_000), LineString([(0, 0), (1, 1)]), Point(0, 0),
                       None, shapely.from_wkt("POLYGON EMPTY")], crs=EQUAL_AREA_CRS,
                      index=list("abcde"))
    got = area_km2(s)
    assert got.index.tolist() == list("abcde") and got.name == "area_km2"
    assert got.tolist()[:3] == [100.0, 0.0, 0.0] and got.iloc[4] == 0.0


# -- ranges of the default atlas ---------------------------------------------------------------
@pytest.fixture(scope="module")
def ranges() -> gpd.GeoDataFrame:
    return Atlas.default().read("species_ranges")


def test_default_atlas_ranges_match_geod(ranges):
    assert ranges.crs.to_epsg() == 6933  # stored in Behrmann, as published
    expected = np.array([geod_area_km2(g, "EPSG:6933") for g in ranges.geometry])
    got = area_km2(ranges).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=TOLERANCE)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # the brown bear's range is the largest; reprojecting only its vertices made it 13.6 %
    # too large (the figure issue 10 reported)
    big = int(np.argmax(expected))
    assert ranges["species"].iloc[big] == "Ursus_arctos"
    chord = ranges.iloc[[big]].to_crs(EQUAL_AREA_CRS).area.iloc[0] / 1e6
    assert chord / expected[big] - 1 > 0.10


def test_every_route_to_a_range_area_gives_the_same_figure(ranges):
    atlas = Atlas.default()
    direct = area_km2(ranges).to_numpy()
    # read_kind reprojects to the analysis CRS through the same function
    analysed = atlas.read_kind("species_range")
    assert analysed.crs.equals(atlas.analysis_crs)
    np.testing.assert_allclose(area_km2(analysed).to_numpy(), direct, rtol=1e-12)
    np.testing.assert_allclose(analysed.area.to_numpy() / 1e6, direct, rtol=1e-12)
    summary = layer_summary(atlas).set_index("name")
    assert summary.loc["species_ranges", "area_km2"] == pytest.approx(direct.sum(), rel=1e-12)


# -- lines -------------------------------------------------------------------------------------
def test_line_straight_in_a_projection_is_measured_along_its_course():
    line = LineString([(-1_000_000, 4_000_000), (1_000_000, 4_500_000)])  # ~2060 km
    got = float(geodesic_length_km(gpd.GeoSeries([line], crs=EQUAL_AREA_CRS)).iloc[0])
    dense = shapely.segmentize(line, 100.0)
    to_ll = Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(*np.asarray(dense.coords).T)
    expected = GEOD.line_length(lon, lat) / 1000
    assert got == pytest.approx(expected, rel=1e-6)
    ends = GEOD.line_length(*to_ll.transform(*np.asarray(line.coords).T)) / 1000
    assert abs(ends / expected - 1) > 1e-4  # the geodesic between the ends is another line


def test_line_along_a_parallel_keeps_its_course():
    # 40° of the 45th parallel, drawn in lon/lat: reprojected, its middle stays on 45° N
    s = gpd.GeoSeries([LineString([(60, 45), (100, 45)])], crs="EPSG:4326")
    projected = to_crs(s, EQUAL_AREA_CRS)
    mid = shapely.line_interpolate_point(projected.iloc[0], 0.5, normalized=True)
    lat = gpd.GeoSeries([mid], crs=EQUAL_AREA_CRS).to_crs("EPSG:4326").iloc[0].y
    assert lat == pytest.approx(45.0, abs=1e-3)
    chord_mid = shapely.line_interpolate_point(s.to_crs(EQUAL_AREA_CRS).iloc[0], 0.5,
                                               normalized=True)
    chord_lat = gpd.GeoSeries([chord_mid], crs=EQUAL_AREA_CRS).to_crs("EPSG:4326").iloc[0].y
    assert chord_lat - 45.0 > 1.0  # the chord runs 1.2° north of the parallel at 80° E


# -- to_crs and densify ------------------------------------------------------------------------
def test_to_crs_keeps_type_index_columns_and_input():
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[box(60, 40, 70, 45), Point(65, 42)],
                           index=[7, 3], crs="EPSG:4326")
    before = gdf.copy()
    out = to_crs(gdf, EQUAL_AREA_CRS)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.equals(EQUAL_AREA_CRS)
    assert out.index.tolist() == [7, 3] and out["name"].tolist() == ["a", "b"]
    assert out.geometry.name == "geometry"
    pd.testing.assert_frame_equal(gdf, before)  # the caller's data is unchanged
    series = to_crs(gdf.geometry, EQUAL_AREA_CRS)
    assert isinstance(series, gpd.GeoSeries) and series.index.tolist() == [7, 3]
    # the polygon's 10° edge along 40° N now has a vertex at least every 10 km
    xy = shapely.get_coordinates(out.geometry.iloc[0])
    to_ll = Transformer.from_crs(EQUAL_AREA_CRS, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(xy[:, 0], xy[:, 1])
    assert (GEOD.inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2] <= MAX_SEGMENT_KM * 1000).all()
    same = to_crs(gdf, "EPSG:4326")
    assert same is not gdf and same.geometry.iloc[0].equals(gdf.geometry.iloc[0])


def test_to_crs_with_a_custom_geometry_column_and_degenerate_lines():
    gdf = gpd.GeoDataFrame({"shape": [MultiLineString([[(60, 40), (60, 40)],
                                                       [(60, 40), (61, 40)]]),
                                      LineString([(60, 41), (60, 41)])]},
                           geometry="shape", crs="EPSG:4326")
    out = to_crs(gdf, EQUAL_AREA_CRS)
    assert out.geometry.name == "shape" and out.crs.equals(EQUAL_AREA_CRS)
    assert shapely.get_num_geometries(out.geometry.iloc[0]) == 2
    km = geodesic_length_km(gdf)
    assert km.iloc[0] == pytest.approx(GEOD.inv(60, 40, 61, 40)[2] / 1000, rel=1e-6)
    assert km.iloc[1] == 0.0


def test_densify_step_per_crs():
    ll = gpd.GeoSeries([LineString([(0, 0), (1, 0)])], crs="EPSG:4326")
    assert densify(ll).count_coordinates().tolist() == [13]  # 111.3 km / 10 km -> 12 pieces
    assert densify(ll, max_segment_km=50).count_coordinates().tolist() == [4]
    xy = gpd.GeoSeries([LineString([(0, 0), (25_000, 0)])], crs=EQUAL_AREA_CRS)
    assert densify(xy).count_coordinates().tolist() == [4]  # 25 km -> 3 pieces


def test_errors():
    s = gpd.GeoSeries([box(0, 0, 1, 1)])
    with pytest.raises(CRSError, match="has no CRS"):
        to_crs(s, EQUAL_AREA_CRS)
    with pytest.raises(CRSError, match="has no CRS"):
        area_km2(s)
    s = s.set_crs("EPSG:4326")
    with pytest.raises(OptionError, match=r"max_segment_km=0 is not valid.*> 0"):
        to_crs(s, EQUAL_AREA_CRS, max_segment_km=0)
    with pytest.raises(OptionError, match="max_segment_km='far' is not a number"):
        densify(s, max_segment_km="far")
    with pytest.raises(CRSError, match="'EPSG:99999999' is not a CRS"):
        to_crs(s, "EPSG:99999999")
    with pytest.raises(CRSError, match="not projected; areas need an equal-area"):
        area_km2(s, crs="EPSG:4326")
