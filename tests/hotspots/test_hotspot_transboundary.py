"""Transboundary rule on a two-country toy (synthetic countries A|B split at x = 0)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod, Transformer
from shapely import LineString, Point, box

from cami_atlas.errors import CRSError, GeometryTypeError, MissingColumnError, OptionError
from cami_atlas.hotspots import border_cells, transboundary_hotspots

ALBERS = "ESRI:102025"
GEOD = Geod(ellps="WGS84")
TO_LL = Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)

# ten 10 km squares in a row, x from -50 to 50 km, y 0..10 km (near the projection's origin)
XS = np.arange(-50_000, 50_000, 10_000)
CELLS = gpd.GeoDataFrame(
    {"cell_id": [f"c{i}" for i in range(len(XS))],
     "gi_class": ["hot spot 95%"] * 4 + ["cold spot 99%"] + ["hot spot 99%"] * 5},
    geometry=[box(x, 0, x + 10_000, 10_000) for x in XS], crs=ALBERS, index=range(100, 110))
LINES = gpd.GeoDataFrame({"iso3_left": ["AAA"], "iso3_right": ["BBB"]},
                         geometry=[LineString([(0, -100_000), (0, 100_000)])], crs=ALBERS)
COUNTRIES = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"]},
                             geometry=[box(-200_000, -100_000, 0, 100_000),
                                       box(0, -100_000, 200_000, 100_000)], crs=ALBERS)


def _geodesic_gap_km(x_edge):
    """Geodesic km from (x_edge, 5 km) to the border point (0, 5 km), straight across."""
    lon1, lat1 = TO_LL.transform(x_edge, 5_000)
    lon2, lat2 = TO_LL.transform(0, 5_000)
    return GEOD.inv(lon1, lat1, lon2, lat2)[2] / 1000


@pytest.mark.parametrize("borders", [LINES, COUNTRIES.to_crs("EPSG:4326")],
                         ids=["border lines", "country polygons"])
def test_cells_within_d_km_are_flagged_with_both_countries(borders):
    near = border_cells(CELLS, borders, distance_km=15)
    # cells whose nearest edge is 0 or 10 km (plane) from x = 0: c3, c4 | c5, c6
    assert sorted(near.index) == [103, 104, 105, 106]
    assert (near["iso3_a"] == "AAA").all() and (near["iso3_b"] == "BBB").all()
    assert (near["border"] == "AAA-BBB").all()
    d = near["border_distance_km"]
    assert d[104] == pytest.approx(0, abs=1e-6) and d[105] == pytest.approx(0, abs=1e-6)
    # 10 km in the plane is ~10.7 km on the ellipsoid here; the test measures it with Geod
    assert d[103] == pytest.approx(_geodesic_gap_km(-10_000), rel=1e-2)
    assert d[106] == pytest.approx(_geodesic_gap_km(10_000), rel=1e-2)
    assert _geodesic_gap_km(-10_000) > 10.3  # the plane's scale is not 1: geodesic matters


def test_threshold_is_geodesic_not_planar():
    # planar gap 10 km is ~10.7 km geodesic: a 10.5 km threshold excludes it
    near = border_cells(CELLS, LINES, distance_km=10.5)
    assert sorted(near.index) == [104, 105]
    near = border_cells(CELLS, LINES, distance_km=11.0)
    assert sorted(near.index) == [103, 104, 105, 106]


def test_transboundary_hotspots_keep_only_hot_cells():
    out = transboundary_hotspots(CELLS, LINES, distance_km=15)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.equals(CELLS.crs)
    assert sorted(out.index) == [103, 105, 106]  # c4 is a cold spot
    assert set(out["border"]) == {"AAA-BBB"}
    assert {"cell_id", "gi_class", "iso3_a", "iso3_b", "border_distance_km"} <= set(out.columns)
    flag = CELLS.assign(hot=CELLS["gi_class"].str.startswith("hot"))
    by_bool = transboundary_hotspots(flag, COUNTRIES, distance_km=15, hot_column="hot")
    assert sorted(by_bool.index) == [103, 105, 106]
    custom = transboundary_hotspots(CELLS, LINES, distance_km=15, hot_values=["cold spot 99%"])
    assert list(custom.index) == [104]
    none = transboundary_hotspots(CELLS.assign(gi_class="not significant"), LINES,
                                  distance_km=15)
    assert len(none) == 0 and "border" in none.columns


def test_three_countries_give_one_row_per_pair():
    lines = gpd.GeoDataFrame({"iso3_left": ["AAA", "CCC"], "iso3_right": ["BBB", "BBB"]},
                             geometry=[LineString([(0, -1e5), (0, 1e5)]),
                                       LineString([(0, 20_000), (2e5, 20_000)])], crs=ALBERS)
    near = border_cells(CELLS, lines, distance_km=15)
    assert sorted(near.loc[105, "border"]) == ["AAA-BBB", "BBB-CCC"]
    assert list(near.loc[[109], "border"]) == ["BBB-CCC"]


def test_errors():
    with pytest.raises(CRSError, match=r"cells are in lat/lon"):
        border_cells(CELLS.to_crs("EPSG:4326"), LINES, distance_km=10)
    with pytest.raises(OptionError, match=r"distance_km must be a finite number >= 0"):
        border_cells(CELLS, LINES, distance_km=-1)
    with pytest.raises(OptionError, match=r"distance_km must be a finite number >= 0"):
        transboundary_hotspots(CELLS, LINES, distance_km=float("nan"))
    with pytest.raises(MissingColumnError, match=r"no column 'iso3_right'"):
        border_cells(CELLS, LINES.drop(columns="iso3_right"), distance_km=10)
    with pytest.raises(MissingColumnError, match=r"no column 'iso3'"):
        border_cells(CELLS, COUNTRIES.rename(columns={"iso3": "ISO_A3"}), distance_km=10)
    mixed = gpd.GeoDataFrame({"iso3": ["AAA"]}, geometry=[Point(0, 0)], crs=ALBERS)
    with pytest.raises(GeometryTypeError, match=r"border lines .* or country polygons"):
        border_cells(CELLS, mixed, distance_km=10)
    with pytest.raises(MissingColumnError, match=r"no column 'gi_class'"):
        transboundary_hotspots(CELLS.drop(columns="gi_class"), LINES, distance_km=10)
