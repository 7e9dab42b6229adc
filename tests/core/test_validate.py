"""Validation of layers against the schema of their kind."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import LineString, Point, Polygon

from cami_atlas.errors import (
    CamiAtlasError,
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    UnknownValueError,
)
from cami_atlas.validate import validate_layer

LINE = LineString([(70, 45), (71, 45)])
BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])


def infra(**cols):
    data = {"infra_type": ["railway"], **cols}
    return gpd.GeoDataFrame(data, geometry=[LINE], crs="EPSG:4326")


def test_valid_layer_is_normalised_and_copied():
    gdf = infra(track=["double"], status=["built"])
    out = validate_layer(gdf, "infrastructure")
    assert out["track"].tolist() == ["double track"]
    assert out["status"].tolist() == ["existing"]
    assert gdf["track"].tolist() == ["double"]  # caller's data untouched
    assert out.crs == gdf.crs and out.index.equals(gdf.index)


def test_missing_crs():
    gdf = infra().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"has no CRS.*set_crs"):
        validate_layer(gdf, "infrastructure", layer="rail")


def test_misspelled_column_suggests_closest():
    gdf = gpd.GeoDataFrame({"infra_typ": ["road"]}, geometry=[LINE], crs="EPSG:4326")
    with pytest.raises(MissingColumnError, match=r"'infra_type' \(found 'infra_typ': rename it\)"):
        validate_layer(gdf, "infrastructure")


def test_unknown_value_lists_allowed():
    with pytest.raises(UnknownValueError, match=r"'track' has unknown value.*'triple'.*Allowed: 'single track', 'double track'"):
        validate_layer(infra(track=["triple"]), "infrastructure")


def test_wrong_geometry_type():
    gdf = gpd.GeoDataFrame({"infra_type": ["road"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    with pytest.raises(GeometryTypeError, match=r"Point but an infrastructure layer holds LineString"):
        validate_layer(gdf, "infrastructure")


def test_empty_layer():
    gdf = gpd.GeoDataFrame({"infra_type": []}, geometry=[], crs="EPSG:4326")
    with pytest.raises(EmptyLayerError, match="is empty"):
        validate_layer(gdf, "infrastructure", layer="x")


def test_invalid_geometry_reported_and_repaired():
    gdf = gpd.GeoDataFrame({"species": ["Saiga tatarica", "Saiga tatarica"]},
                           geometry=[BOWTIE, Polygon([(0, 0), (1, 0), (1, 1)])], index=[7, 8],
                           crs="EPSG:4326")
    with pytest.raises(InvalidGeometryError, match=r"1 invalid geometry \(ids 7;.*repair=True"):
        validate_layer(gdf, "species_range")
    fixed = validate_layer(gdf, "species_range", repair=True)
    assert fixed.is_valid.all()
    assert fixed.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert fixed.loc[7].geometry.area == pytest.approx(0.5)  # two triangles of 0.25
    assert fixed["species"].tolist() == ["Saiga_tatarica", "Saiga_tatarica"]


def test_several_problems_listed_once():
    gdf = gpd.GeoDataFrame({"infra_type": ["rocket"], "track": ["triple"]}, geometry=[LINE],
                           crs="EPSG:4326")
    with pytest.raises(UnknownValueError, match=r"has 2 problems") as info:
        validate_layer(gdf, "infrastructure")
    assert "rocket" in str(info.value) and "triple" in str(info.value)


def test_errors_share_root_and_builtin():
    with pytest.raises(CamiAtlasError):
        validate_layer(infra(track=["triple"]), "infrastructure")
    with pytest.raises(ValueError):
        validate_layer(infra(track=["triple"]), "infrastructure")


def test_numeric_and_boolean_codes_map_to_the_vocabulary():
    gdf = gpd.GeoDataFrame({"infra_type": ["railway", "fence"], "track": [2, None],
                            "fence_covered": [None, True]},
                           geometry=[LINE, LINE], crs="EPSG:4326")
    out = validate_layer(gdf, "infrastructure")
    assert out["track"].tolist() == ["double track", None]
    assert out["fence_covered"].tolist() == [None, "yes"]
    with pytest.raises(UnknownValueError, match=r"'track' has unknown value\(s\) '3'"):
        validate_layer(infra(track=[3]), "infrastructure")
