"""read_vector / list_layers: every format round-trips synthetic layers; every error path."""

from __future__ import annotations

import os
import sys
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, MultiLineString

from cami_atlas.errors import LayerNotFoundError, LayerReadError, OptionError
from cami_atlas.io import SUPPORTED_FORMATS, format_of, list_layers, read_vector


def synthetic_lines(crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """Three synthetic lines (invented for the tests) with text, integer and float fields."""
    return gpd.GeoDataFrame(
        {
            "name": ["A-1 (synthetic)", "Трасса Б (synthetic)", "C"],
            "lanes": np.array([2, 4, 1], dtype="int64"),
            "width_m": [7.5, 14.25, 3.0],
        },
        geometry=[
            LineString([(71.0, 51.0), (71.25, 51.125), (71.5, 51.0)]),
            LineString([(71.1, 51.2), (71.3, 51.1)]),
            MultiLineString([[(70.0, 50.0), (70.5, 50.5)], [(70.6, 50.6), (70.9, 50.7)]]),
        ],
        crs=crs,
    )


def assert_same_layer(got: gpd.GeoDataFrame, expected: gpd.GeoDataFrame) -> None:
    assert got.crs == expected.crs
    assert len(got) == len(expected)
    # single-part and multi-part lines may come back as MultiLineString (shapefile): compare
    # the point sets exactly
    assert shapely.equals(got.geometry.values, expected.geometry.values).all()
    for col in ("name", "lanes", "width_m"):
        assert got[col].tolist() == expected[col].tolist(), col


WRITERS = {
    "gpkg": lambda g, p: g.to_file(p, layer="roads", driver="GPKG"),
    "shp": lambda g, p: g.to_file(p, driver="ESRI Shapefile"),
    "geojson": lambda g, p: g.to_file(p, driver="GeoJSON"),
    "fgb": lambda g, p: g.to_file(p, driver="FlatGeobuf"),
    "parquet": lambda g, p: g.to_parquet(p),
}


@pytest.mark.parametrize("ext", sorted(WRITERS))
def test_round_trip_each_format(tmp_path, ext):
    expected = synthetic_lines()
    path = tmp_path / f"synthetic_roads.{ext}"
    WRITERS[ext](expected, path)
    got = read_vector(path)
    assert isinstance(got, gpd.GeoDataFrame)
    assert_same_layer(got, expected)
    assert list_layers(path) == (["roads"] if ext == "gpkg" else ["synthetic_roads"])


@pytest.mark.parametrize("ext", ["gpkg", "shp", "fgb", "parquet"])
def test_projected_crs_is_kept(tmp_path, ext):
    expected = synthetic_lines().to_crs("EPSG:32642")
    path = tmp_path / f"utm.{ext}"
    WRITERS[ext](expected, path)
    got = read_vector(path)
    assert got.crs.to_epsg() == 32642
    np.testing.assert_allclose(shapely.get_coordinates(got.geometry.values),
                               shapely.get_coordinates(expected.geometry.values), rtol=0,
                               atol=1e-6)


def _write_shp(gdf: gpd.GeoDataFrame, folder, stem: str) -> list:
    folder.mkdir(parents=True, exist_ok=True)
    gdf.to_file(folder / f"{stem}.shp")
    return sorted(folder.glob(f"{stem}.*"))


def test_zipped_shapefile_flat_and_in_a_folder(tmp_path):
    expected = synthetic_lines()
    files = _write_shp(expected, tmp_path / "shp", "fences")
    flat = tmp_path / "fences.zip"
    nested = tmp_path / "fences_nested.zip"
    with zipfile.ZipFile(flat, "w") as zf:
        for f in files:
            zf.write(f, arcname=f.name)
    with zipfile.ZipFile(nested, "w") as zf:
        for f in files:
            zf.write(f, arcname=f"export/data/{f.name}")
    for archive in (flat, nested):
        assert list_layers(archive) == ["fences"]
        assert_same_layer(read_vector(archive), expected)


def test_zip_with_two_shapefiles_needs_layer(tmp_path):
    a = _write_shp(synthetic_lines(), tmp_path / "a", "roads")
    b = _write_shp(synthetic_lines().iloc[:1], tmp_path / "b", "rails")
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in a + b:
            zf.write(f, arcname=f.name)
    assert list_layers(archive) == ["rails", "roads"]
    with pytest.raises(LayerNotFoundError, match=r"holds 2 layers \('rails', 'roads'\).*layer="):
        read_vector(archive)
    assert len(read_vector(archive, layer="rails")) == 1
    with pytest.raises(LayerNotFoundError, match=r"no layer 'rail'.*Did you mean 'rails'"):
        read_vector(archive, layer="rail")


def test_zip_without_shapefile(tmp_path):
    archive = tmp_path / "notes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("readme.txt", "no data here")
    with pytest.raises(LayerReadError, match=r"notes.zip holds no shapefile.*readme.txt"):
        read_vector(archive)


def test_multi_layer_geopackage(tmp_path):
    path = tmp_path / "two_layers.gpkg"
    synthetic_lines().to_file(path, layer="roads_major")
    synthetic_lines().iloc[:2].to_file(path, layer="railways")
    assert sorted(list_layers(path)) == ["railways", "roads_major"]
    with pytest.raises(LayerNotFoundError, match=r"holds 2 layers \(('roads_major', 'railways'|'railways', 'roads_major')\)"):
        read_vector(path)
    assert len(read_vector(path, layer="railways")) == 2
    with pytest.raises(LayerNotFoundError,
                       match=r"no layer 'roads'; available: .*Did you mean 'roads_major'\?"):
        read_vector(path, layer="roads")


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere" / "ranges.gpkg"
    with pytest.raises(LayerReadError, match=r"nowhere/ranges.gpkg does not exist"):
        read_vector(missing)
    with pytest.raises(LayerReadError, match="does not exist"):
        list_layers(missing)


def test_corrupt_geopackage_names_file_and_driver_message(tmp_path):
    path = tmp_path / "random_bytes.gpkg"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(LayerReadError,
                       match=r"random_bytes.gpkg as GeoPackage: .*not recognized as being in "
                             r"a supported file format"):
        read_vector(path)


def test_truncated_geojson(tmp_path):
    path = tmp_path / "cut.geojson"
    synthetic_lines().to_file(path, driver="GeoJSON")
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(LayerReadError, match=r"cut.geojson as GeoJSON: Failed to read GeoJSON"):
        read_vector(path)


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 64)
    with pytest.raises(LayerReadError, match=r"broken.parquet as GeoParquet: .*(?i:parquet)"):
        read_vector(path)


def test_unknown_extension_lists_formats(tmp_path):
    path = tmp_path / "roads.gml"
    path.write_text("<gml/>")
    with pytest.raises(LayerReadError,
                       match=r"'\.gml' is not a supported vector format\. Supported: \.gpkg "
                             r"\(GeoPackage\), \.shp"):
        read_vector(path)
    assert format_of("x.fgb") == "FlatGeobuf" and format_of("route.kml") == "KML"
    assert set(SUPPORTED_FORMATS.values()) >= {"GeoPackage", "ESRI Shapefile", "GeoJSON",
                                               "FlatGeobuf", "GeoParquet"}


def test_parquet_layer_name_is_checked(tmp_path):
    path = tmp_path / "tracks.parquet"
    synthetic_lines().to_parquet(path)
    assert len(read_vector(path, layer="tracks")) == 3
    with pytest.raises(LayerNotFoundError, match=r"no layer 'track'.*Did you mean 'tracks'"):
        read_vector(path, layer="track")


def test_engine_option(tmp_path, monkeypatch):
    path = tmp_path / "lines.gpkg"
    synthetic_lines().to_file(path)
    with pytest.raises(OptionError, match=r"engine='ogr' is not valid; use one of: 'pyogrio', "
                                          r"'fiona'"):
        read_vector(path, engine="ogr")
    parquet = tmp_path / "lines.parquet"
    synthetic_lines().to_parquet(parquet)
    with pytest.raises(OptionError, match=r"engine='fiona' cannot read GeoParquet .*'pyogrio'"):
        read_vector(parquet, engine="fiona")
    monkeypatch.setitem(sys.modules, "fiona", None)  # as if fiona were not installed
    with pytest.raises(OptionError, match=r"needs the fiona package.*pip install fiona"):
        read_vector(path, engine="fiona")


def test_fiona_engine_reads_the_same(tmp_path):
    pytest.importorskip("fiona")
    path = tmp_path / "lines.gpkg"
    expected = synthetic_lines()
    expected.to_file(path)
    assert_same_layer(read_vector(path, engine="fiona"), expected)
    files = _write_shp(expected, tmp_path / "shp", "fences")
    nested = tmp_path / "nested.zip"
    with zipfile.ZipFile(nested, "w") as zf:
        for f in files:
            zf.write(f, arcname=f"export/{f.name}")
    assert_same_layer(read_vector(nested, engine="fiona"), expected)


def test_file_without_crs_reads_with_none(tmp_path):
    folder = tmp_path / "noprj"
    files = _write_shp(synthetic_lines(), folder, "lines")
    os.remove(next(f for f in files if f.suffix == ".prj"))
    got = read_vector(folder / "lines.shp")
    assert got.crs is None and len(got) == 3


def test_caller_can_read_twice_and_data_is_fresh(tmp_path):
    path = tmp_path / "lines.fgb"
    synthetic_lines().to_file(path, driver="FlatGeobuf")
    a = read_vector(path)
    a.loc[0, "name"] = "changed"
    b = read_vector(path)
    assert b.loc[0, "name"] == "A-1 (synthetic)"
    pd.testing.assert_index_equal(b.index, pd.RangeIndex(3))
