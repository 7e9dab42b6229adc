"""RFC 7946 GeoJSON export."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point, Polygon

from cami_atlas.errors import CRSError, OutputExistsError
from cami_atlas.geojson import check_rfc7946, to_rfc7946, write_geojson

# exterior clockwise, hole counter-clockwise: the opposite of RFC 7946
CW_WITH_CCW_HOLE = Polygon(
    [(70, 45), (70, 46), (71, 46), (71, 45)],
    [[(70.2, 45.2), (70.8, 45.2), (70.8, 45.8), (70.2, 45.8)]],
)


def test_winding_is_fixed_and_no_crs_member():
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[CW_WITH_CCW_HOLE], crs="EPSG:4326")
    raw = json.loads(gdf.to_json())
    raw["crs"] = {"type": "name"}
    assert len(check_rfc7946(raw)) == 3  # crs + clockwise exterior + ccw hole
    doc = to_rfc7946(gdf)
    assert check_rfc7946(doc) == []
    ring = np.asarray(doc["features"][0]["geometry"]["coordinates"][0])
    # shoelace: positive = counter-clockwise
    assert np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1]) > 0


def test_projected_input_is_lon_lat_and_rounded(tmp_path):
    # UTM 43N point: 500000 E on the central meridian 75 E
    gdf = gpd.GeoDataFrame({"when": [pd.Timestamp("2024-05-01T00:00", tz="UTC")],
                            "value": [np.nan]},
                           geometry=[Point(500000, 5_000_000)], crs="EPSG:32643")
    path = write_geojson(gdf, tmp_path / "p.geojson", precision=5)
    doc = json.loads(path.read_text())
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert lon == pytest.approx(75.0, abs=1e-9)
    # UTM northing = 0.9996 x meridian arc: walk that arc north from the equator on WGS84
    from pyproj import Geod
    _, expected_lat, _ = Geod(ellps="WGS84").fwd(75.0, 0.0, 0.0, 5_000_000 / 0.9996)
    assert lat == pytest.approx(expected_lat, abs=1e-5)
    assert lat == round(lat, 5)
    assert doc["features"][0]["properties"] == {"when": "2024-05-01T00:00:00+00:00",
                                                "value": None}
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4326 and len(back) == 1


def test_round_trip_lines(tmp_path):
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[LineString([(70, 45), (71.1234567, 45)]),
                                                     LineString([(80, 40), (81, 41)])],
                           crs="EPSG:4326")
    path = write_geojson(gdf, tmp_path / "l.geojson")
    back = gpd.read_file(path)
    assert back["id"].tolist() == [1, 2]
    assert back.geometry.iloc[0].coords[1] == (71.123457, 45.0)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_geojson(gdf, path)


def test_errors():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)])
    with pytest.raises(CRSError, match="no CRS"):
        to_rfc7946(gdf)
    bad = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [45.0, 120.0]},
           "properties": {}}
    assert "axis order" in check_rfc7946(bad)[0]
