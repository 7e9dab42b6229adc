"""The atlas store on synthetic layers: round trip, validation, atomic save, errors.

Tests taking ``saved`` run on both stores (a GeoPackage file, a PostGIS schema); those
taking ``saved_file`` look inside the GeoPackage file itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from affine import Affine
from pyproj import CRS, Geod
from shapely import LineString, Point, box

import cami_atlas.store.geopackage as atlas_module
from cami_atlas.atlas import (
    ATLAS_TABLE,
    DEFAULT_REGION,
    LAYERS_TABLE,
    Atlas,
    is_atlas_file,
    layer_summary,
)
from cami_atlas.errors import (
    CRSError,
    LayerNotFoundError,
    LayerReadError,
    LayerWriteError,
    MissingColumnError,
    OptionError,
    OutputExistsError,
    SchemaError,
    UnknownValueError,
)
from cami_atlas.raster import Grid

# synthetic layers (invented for the tests)
RAIL = gpd.GeoDataFrame(
    {"infra_type": ["railway", "railway"], "track": ["double", None], "source_id": ["a", "b"]},
    geometry=[LineString([(70, 45), (71, 45)]), LineString([(71, 45), (71, 46)])],
    crs="EPSG:4326")
FENCE_UTM = gpd.GeoDataFrame(
    {"infra_type": ["fence"], "fence_height_m": [1.5]},
    geometry=[LineString([(500_000, 5_000_000), (510_000, 5_000_000)])], crs="EPSG:32643")
TOWNS = gpd.GeoDataFrame({"name": ["A", "B"], "population": [1000, 2500]},
                         geometry=[Point(71.4, 51.2), Point(76.9, 43.2)], crs="EPSG:4326")
RANGE = gpd.GeoDataFrame({"species": ["Saiga tatarica"], "season": ["summer"]},
                         geometry=[box(5e6, 4e6, 5.1e6, 4.1e6)], crs="EPSG:6933")
COUNTRY = gpd.GeoDataFrame({"iso3": ["AAA"], "name": ["Aland"], "cami_range_state": [True]},
                           geometry=[box(60, 40, 62, 42)], crs="EPSG:4326")


def dem_grid() -> Grid:
    rng = np.random.default_rng(1)
    values = rng.integers(-400, 7000, size=(37, 53)).astype("float64")
    values[0, :4] = np.nan
    return Grid(values, Affine(1 / 60, 0, 66.0, 0, -1 / 60, 44.0), "EPSG:4326", name="dem")


def float_grid() -> Grid:
    rng = np.random.default_rng(2)
    values = rng.normal(size=(31, 17)) * 1e3  # float64, not exact in float32
    values[3, 3] = np.inf
    values[4, :2] = np.nan
    return Grid(values, Affine(500, 0, 300_000, 0, -500, 5_000_000), "EPSG:32643")


def sample_atlas() -> Atlas:
    atlas = Atlas("synthetic", region=box(60, 35, 80, 50), analysis_crs="EPSG:32643")
    atlas.add_layer("rail", RAIL, "infrastructure", source="test", licence="CC0-1.0",
                    attribution="nobody", date="2020-01-02", processing="made up")
    atlas.add_layer("fences", FENCE_UTM, "infrastructure", source="test", licence="CC0-1.0")
    atlas.add_layer("towns", TOWNS, "places", source="test", licence="CC0-1.0")
    atlas.add_layer("saiga", RANGE, "species_range", source="test", licence="CC0-1.0")
    atlas.add_layer("land", COUNTRY, "country", source="test", licence="CC0-1.0")
    atlas.add_layer("dem", dem_grid(), "raster", source="test", licence="CC0-1.0")
    atlas.add_layer("cost", float_grid(), "raster", source="test", licence="CC0-1.0")
    return atlas


@pytest.fixture()
def saved(atlas_location: Path | str) -> Path | str:
    return sample_atlas().save(atlas_location)


@pytest.fixture()
def saved_file(tmp_path: Path) -> Path:
    return sample_atlas().save(tmp_path / "a.gpkg")


def test_round_trip_layers_metadata_region_crs(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    assert atlas.name == "synthetic"
    assert atlas.region.equals(box(60, 35, 80, 50))
    assert atlas.analysis_crs == CRS("EPSG:32643")
    assert atlas.layer_names() == ["rail", "fences", "towns", "saiga", "land", "dem", "cost"]
    assert atlas.layer_names("infrastructure") == ["rail", "fences"]
    assert atlas.kind_of("saiga") == "species_range"
    info = atlas.layer_info("rail")
    assert (info["source"], info["licence"], info["attribution"], info["date"],
            info["processing"]) == ("test", "CC0-1.0", "nobody", "2020-01-02", "made up")
    table = atlas.list_layers()
    assert list(table.columns) == ["name", "kind", "geometry_type", "n_features", "crs",
                                   "source", "licence", "attribution", "date"]
    assert table.set_index("name")["n_features"].to_dict() == {
        "rail": 2, "fences": 1, "towns": 2, "saiga": 1, "land": 1, "dem": 37 * 53,
        "cost": 31 * 17}
    assert table.set_index("name").loc["fences", "crs"] == "EPSG:32643"

    rail = atlas.read("rail")
    assert rail.crs == RAIL.crs
    assert rail["track"].tolist() == ["double track", None]  # normalised on add
    assert shapely.equals(rail.geometry.values, RAIL.geometry.values).all()
    assert atlas.read("saiga")["species"].tolist() == ["Saiga_tatarica"]
    assert atlas.read("saiga").crs == CRS("EPSG:6933")
    assert atlas.read("land")["cami_range_state"].tolist() == [True]
    assert atlas.read("towns")["population"].tolist() == [1000.0, 2500.0]
    assert atlas.read("fences").crs == CRS("EPSG:32643")


@pytest.mark.parametrize("make", [dem_grid, float_grid])
def test_raster_round_trip_is_exact(atlas_location: Path | str, make) -> None:
    grid = make()
    atlas = Atlas("r")
    atlas.add_layer("g", grid, "raster", source="test", licence="CC0-1.0")
    back = Atlas.open(atlas.save(atlas_location)).read("g")
    assert isinstance(back, Grid)
    np.testing.assert_array_equal(back.values, grid.values)  # NaN == NaN, inf == inf
    assert back.transform == grid.transform
    assert back.crs == grid.crs
    assert back.shape == grid.shape


def test_int_raster_is_stored_as_int16(saved_file: Path) -> None:
    with sqlite3.connect(saved_file) as con:
        blob = con.execute("SELECT geotiff FROM cami_atlas_rasters WHERE name='dem'").fetchone()[0]
    from rasterio.io import MemoryFile

    with MemoryFile(blob) as mem, mem.open() as ds:
        assert ds.dtypes == ("int16",)
        assert ds.nodata == -32768


def test_read_returns_copies(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    first = atlas.read("rail")
    first["infra_type"] = "road"
    assert atlas.read("rail")["infra_type"].tolist() == ["railway", "railway"]
    grid = atlas.read("dem")
    grid.values[:] = 0
    assert np.nanmax(atlas.read("dem").values) > 0


def test_open_reads_lazily(saved_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = pyogrio.read_dataframe

    def spy(path, layer=None, **kw):
        calls.append(layer)
        return real(path, layer=layer, **kw)

    monkeypatch.setattr(atlas_module.pyogrio, "read_dataframe", spy)
    atlas = Atlas.open(saved_file)
    assert sorted(calls) == sorted([ATLAS_TABLE, LAYERS_TABLE])
    atlas.read("towns")
    assert calls[-1] == "towns"


def test_read_kind_concatenates_in_analysis_crs(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    infra = atlas.read_kind("infrastructure")
    assert infra.crs == CRS("EPSG:32643")
    assert infra["layer"].tolist() == ["rail", "rail", "fences"]
    assert infra["infra_type"].tolist() == ["railway", "railway", "fence"]
    ll = atlas.read_kind("infrastructure", crs="EPSG:4326")
    assert ll.crs == CRS("EPSG:4326")
    # the fence is 10 km long on the ground in any CRS
    geod = Geod(ellps="WGS84")
    assert geod.geometry_length(ll.geometry.iloc[2]) == pytest.approx(10_000, rel=2e-3)


def test_read_kind_empty_and_raster(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    empty = atlas.read_kind("corridor")
    assert empty.empty and "species" in empty.columns and "layer" in empty.columns
    assert empty.crs == atlas.analysis_crs
    with pytest.raises(OptionError, match="kind='raster' is not valid"):
        atlas.read_kind("raster")


def test_add_layer_failed_validation_adds_nothing(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    names = atlas.layer_names()
    bad = RAIL.rename(columns={"infra_type": "infra_typ"})
    with pytest.raises(MissingColumnError, match="found 'infra_typ'"):
        atlas.add_layer("bad", bad, "infrastructure", source="x", licence="y")
    assert "bad" not in atlas
    odd = RAIL.assign(track=["quadruple", None])
    with pytest.raises(UnknownValueError, match="quadruple"):
        atlas.add_layer("rail", odd, "infrastructure", source="x", licence="y", overwrite=True)
    assert atlas.layer_names() == names
    assert atlas.layer_info("rail")["source"] == "test"  # old layer and metadata kept
    atlas.save()
    reopened = Atlas.open(saved)
    assert reopened.layer_names() == names
    assert reopened.read("rail")["track"].tolist() == ["double track", None]


def test_add_layer_refuses_existing_name(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    with pytest.raises(OutputExistsError, match=r"already has a layer 'towns'.*overwrite=True"):
        atlas.add_layer("towns", TOWNS.iloc[:1], "places", source="s", licence="l")
    assert atlas.list_layers().set_index("name").loc["towns", "n_features"] == 2
    atlas.add_layer("towns", TOWNS.iloc[:1], "places", source="s", licence="l", overwrite=True)
    assert len(atlas.read("towns")) == 1


@pytest.mark.parametrize("name", ["Rail", "1rail", "rail-way", "gpkg_x", "cami_atlas_layers", ""])
def test_add_layer_bad_name(name: str) -> None:
    with pytest.raises(SchemaError, match="is not valid: use 1-63 lower-case"):
        Atlas().add_layer(name, RAIL, "infrastructure", source="s", licence="l")


@pytest.mark.parametrize(("source", "licence"), [("", "CC0"), ("s", " "), ("s", None)])
def test_add_layer_needs_source_and_licence(source, licence) -> None:
    with pytest.raises(SchemaError, match="is required"):
        Atlas().add_layer("rail", RAIL, "infrastructure", source=source, licence=licence)


def test_add_layer_kind_errors() -> None:
    atlas = Atlas()
    with pytest.raises(OptionError, match="kind='roads' is not valid"):
        atlas.add_layer("r", RAIL, "roads", source="s", licence="l")
    with pytest.raises(SchemaError, match="only be added as kind 'raster'"):
        atlas.add_layer("r", dem_grid(), "infrastructure", source="s", licence="l")
    with pytest.raises(SchemaError, match=r"needs a cami_atlas\.raster\.Grid"):
        atlas.add_layer("r", RAIL, "raster", source="s", licence="l")
    no_crs = Grid(np.ones((2, 2)), Affine(1, 0, 0, 0, -1, 2), None)
    with pytest.raises(CRSError, match="has no CRS"):
        atlas.add_layer("r", no_crs, "raster", source="s", licence="l")
    all_nan = Grid(np.full((2, 2), np.nan), Affine(1, 0, 0, 0, -1, 2), "EPSG:4326")
    with pytest.raises(SchemaError, match="holds no values"):
        atlas.add_layer("r", all_nan, "raster", source="s", licence="l")
    assert atlas.layer_names() == []


def test_add_layer_from_path(tmp_path: Path) -> None:
    src = tmp_path / "towns.geojson"
    TOWNS.to_file(src, driver="GeoJSON")
    grid_path = dem_grid().to_geotiff(tmp_path / "dem.tif", dtype="float32")
    atlas = Atlas()
    atlas.add_layer("towns", src, "places", source="s", licence="l")
    atlas.add_layer("dem", grid_path, "raster", source="s", licence="l")
    assert atlas.read("towns")["name"].tolist() == ["A", "B"]
    np.testing.assert_array_equal(atlas.read("dem").values, dem_grid().values)


def test_interrupted_save_leaves_old_atlas_intact(saved_file: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    before = saved_file.read_bytes()
    atlas = Atlas.open(saved_file)
    atlas.add_layer("more", TOWNS, "places", source="s", licence="l")
    real = atlas_module._write_vector
    calls = {"n": 0}

    def failing(gdf, path, layer):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk pulled out halfway")
        real(gdf, path, layer)

    monkeypatch.setattr(atlas_module, "_write_vector", failing)
    with pytest.raises(LayerWriteError, match=r"disk pulled out halfway.*unchanged"):
        atlas.save()
    assert calls["n"] == 3
    assert saved_file.read_bytes() == before
    assert sorted(p.name for p in saved_file.parent.iterdir()) == ["a.gpkg"]  # no temp file left
    monkeypatch.setattr(atlas_module, "_write_vector", real)
    atlas.save()
    assert "more" in Atlas.open(saved_file)


def test_save_refuses_overwrite(saved_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.gpkg"
    other.write_bytes(b"precious")
    atlas = Atlas.open(saved_file)
    with pytest.raises(OutputExistsError, match=r"exists already.*overwrite=True"):
        atlas.save(other)
    assert other.read_bytes() == b"precious"
    atlas.save(other, overwrite=True)
    assert Atlas.open(other).layer_names() == atlas.layer_names()
    assert atlas.path == other


def test_save_errors(tmp_path: Path) -> None:
    with pytest.raises(LayerWriteError, match="has no file yet"):
        Atlas().save()
    with pytest.raises(LayerWriteError, match=r"ending in \.gpkg"):
        Atlas().save(tmp_path / "a.sqlite")
    default = Atlas.default()
    with pytest.raises(LayerWriteError, match="read-only"):
        default.save()


def test_open_errors(tmp_path: Path) -> None:
    with pytest.raises(LayerReadError, match="does not exist"):
        Atlas.open(tmp_path / "missing.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not sqlite")
    with pytest.raises(LayerReadError, match="not a readable GeoPackage"):
        Atlas.open(junk)
    plain = tmp_path / "plain.gpkg"
    TOWNS.to_file(plain, layer="towns", driver="GPKG")
    assert not is_atlas_file(plain)
    with pytest.raises(LayerReadError, match="not a cami_atlas atlas"):
        Atlas.open(plain)


def test_open_refuses_newer_format(saved_file: Path) -> None:
    with sqlite3.connect(saved_file) as con:
        con.execute(f"UPDATE {ATLAS_TABLE} SET format_version = 99")
    with pytest.raises(LayerReadError, match=r"format version 99.*Upgrade"):
        Atlas.open(saved_file)


def test_unknown_layer(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    with pytest.raises(LayerNotFoundError, match="no layer 'roads'; its layers are: rail"):
        atlas.read("roads")
    with pytest.raises(LayerNotFoundError, match="no layer 'roads'"):
        atlas.remove_layer("roads")


def test_remove_layer_and_save(saved: Path | str) -> None:
    atlas = Atlas.open(saved)
    atlas.remove_layer("dem")
    atlas.save()
    assert Atlas.open(saved).layer_names("raster") == ["cost"]


def test_validate_reports_broken_layer(saved_file: Path) -> None:
    assert Atlas.open(saved_file).validate()["ok"].all()
    # damage one table behind the atlas' back
    broken = TOWNS.drop(columns="name").assign(label=["A", "B"])
    pyogrio.write_dataframe(broken, saved_file, layer="towns", driver="GPKG")
    report = Atlas.open(saved_file).validate().set_index("name")
    assert not report.loc["towns", "ok"]
    assert "missing required column(s) 'name'" in report.loc["towns", "problem"]
    assert report.drop(index="towns")["ok"].all()


def test_region_and_crs_checks() -> None:
    with pytest.raises(SchemaError, match="valid, non-empty shapely Polygon"):
        Atlas(region=Point(0, 0))
    with pytest.raises(CRSError, match="lon/lat degrees"):
        Atlas(region=box(4e6, 4e6, 5e6, 5e6))
    with pytest.raises(CRSError, match="projected CRS in metres"):
        Atlas(analysis_crs="EPSG:4326")
    with pytest.raises(CRSError, match="not a CRS pyproj knows"):
        Atlas(analysis_crs="EPSG:0")
    assert Atlas().region.equals(DEFAULT_REGION)


def test_layer_summary_lengths_and_areas(saved: Path | str) -> None:
    table = layer_summary(Atlas.open(saved)).set_index("name")
    geod = Geod(ellps="WGS84")
    expect_rail = sum(geod.geometry_length(g) for g in RAIL.geometry) / 1000
    assert table.loc["rail", "length_km"] == pytest.approx(expect_rail, rel=1e-9)
    assert table.loc["fences", "length_km"] == pytest.approx(10.0, rel=2e-3)
    # a 100 km x 100 km box in the equal-area EPSG:6933 is 10,000 km²; measured in ESRI:102025
    # after moving only its 4 corners, the straight edges bend: 2e-5 relative
    assert table.loc["saiga", "area_km2"] == pytest.approx(10_000, rel=1e-4)
    expect_land = abs(geod.geometry_area_perimeter(box(60, 40, 62, 42))[0]) / 1e6
    assert table.loc["land", "area_km2"] == pytest.approx(expect_land, rel=1e-4)
    assert pd.isna(table.loc["towns", "length_km"]) and pd.isna(table.loc["dem", "area_km2"])
    assert table.loc["dem", "n_features"] == 37 * 53


def test_layer_summary_splits_infrastructure_length_by_status() -> None:
    atlas = Atlas("status")
    lines = gpd.GeoDataFrame(
        {"infra_type": ["railway"] * 4,
         "status": ["existing", None, "planned", "proposed"]},
        geometry=[LineString([(0, 0), (1, 0)]), LineString([(1, 0), (3, 0)]),
                  LineString([(3, 0), (6, 0)]), LineString([(6, 0), (10, 0)])],
        crs="EPSG:4326")
    atlas.add_layer("rail", lines, "infrastructure", source="hand", licence="CC0-1.0")
    row = layer_summary(atlas).set_index("name").loc["rail"]
    degree_km = 111.31949079327357  # one degree of the WGS84 equator (2 pi a / 360)
    assert row["length_existing_km"] == pytest.approx(3 * degree_km, rel=1e-9)  # 1 + 2 (None)
    assert row["length_under_construction_km"] == 0
    assert row["length_planned_km"] == pytest.approx(3 * degree_km, rel=1e-9)
    assert row["length_proposed_km"] == pytest.approx(4 * degree_km, rel=1e-9)
    assert row["length_km"] == pytest.approx(10 * degree_km, rel=1e-9)
