"""Each step of :func:`cami_atlas.validate.validate_layer` on a small hand-checked case."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import LineString, Point, Polygon

from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    UnknownValueError,
)
from cami_atlas.schema import SCHEMAS
from cami_atlas.validate import (
    _check_frame,
    _check_validity,
    _check_values,
    _drop_missing_geometries,
    _geometry_type_problems,
    _missing_column_problems,
)

LINE = LineString([(0, 0), (1, 1)])
BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])


def _roads(**cols):
    return gpd.GeoDataFrame(cols, geometry=[LINE] * len(next(iter(cols.values()))),
                            crs="EPSG:4326")


def test_check_frame_raises_on_crs_and_empty_and_returns_mask():
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[LINE, None], crs="EPSG:4326")
    assert _check_frame(gdf, "roads", "an infrastructure", None).tolist() == [False, True]
    with pytest.raises(CRSError, match="roads has no CRS"):
        _check_frame(gdf.set_crs(None, allow_override=True), "roads", "a x", None)
    with pytest.raises(EmptyLayerError, match="roads is empty"):
        _check_frame(gdf.iloc[[1]], "roads", "a x", None)


def test_missing_column_suggests_the_close_name():
    problems = _missing_column_problems(_roads(infra_typ=["road"]),
                                        SCHEMAS["infrastructure"], "roads", "an infrastructure")
    assert problems[0][0] is MissingColumnError
    assert "'infra_type' (found 'infra_typ': rename it)" in problems[0][1]
    assert _missing_column_problems(_roads(infra_type=["road"]), SCHEMAS["infrastructure"],
                                    "roads", "an infrastructure") == []


def test_missing_geometries_dropped_or_reported():
    gdf = gpd.GeoDataFrame({"a": [1, 2, 3]}, geometry=[LINE, None, LINE], crs="EPSG:4326")
    mask = np.array([False, True, False])
    out, _, problems = _drop_missing_geometries(gdf, mask, "roads", repair=True)
    assert out.index.tolist() == [0, 2] and problems == []
    out, geoms, problems = _drop_missing_geometries(gdf, mask, "roads", repair=False)
    assert len(out) == 3 and geoms[1] is None
    assert problems[0][0] is InvalidGeometryError
    assert "1 feature(s) have no geometry (ids 1)" in problems[0][1]


def test_geometry_type_problem_counts_wrong_types():
    gdf = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[LINE, Point(0, 0)], crs="EPSG:4326")
    problems = _geometry_type_problems(gdf, gdf.geometry.values, SCHEMAS["infrastructure"],
                                       "roads", "an infrastructure")
    assert problems[0][0] is GeometryTypeError
    assert problems[0][1].startswith("roads: 1 feature(s) are Point but")


def test_check_values_normalises_aliases_and_reports_unknown():
    out, problems = _check_values(_roads(infra_type=["road", "teleporter", "teleporter"]),
                                  SCHEMAS["infrastructure"], "roads")
    assert problems[0][0] is UnknownValueError
    assert "'teleporter' (2x)" in problems[0][1]
    out, problems = _check_values(_roads(infra_type=["road"], species=["saiga tatarica"]),
                                  SCHEMAS["infrastructure"], "roads")
    assert problems == [] and out["infra_type"].tolist() == ["road"]


def test_check_validity_repairs_or_reports_a_bowtie():
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[BOWTIE], crs="EPSG:4326")
    schema = SCHEMAS["species_range"]
    out, problems = _check_validity(gdf.copy(), schema, "range", repair=False)
    assert problems[0][0] is InvalidGeometryError
    assert "1 invalid geometry (ids 0; first reason: Self-intersection" in problems[0][1]
    out, problems = _check_validity(gdf.copy(), schema, "range", repair=True)
    assert problems == [] and out.geometry.is_valid.all()
    assert shapely.area(out.geometry.values[0]) == pytest.approx(0.5)  # two triangles of 0.25

