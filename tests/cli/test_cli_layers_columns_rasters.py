"""``layers validate`` on rasters and ``layers import --rename/--mapping``."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner
from shapely import LineString

from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.raster import Grid

# synthetic layers (invented for the tests)
UTM = Affine(1000, 0, 500000, 0, -1000, 4500000)  # UTM 43N, near Tashkent


def _tif(path: Path, values, transform=UTM, crs="EPSG:32643", nodata=-9999.0) -> Path:
    import rasterio

    values = np.asarray(values, dtype="float32")
    if nodata is not None:
        values = np.where(np.isnan(values), nodata, values).astype("float32")
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1],
                       height=values.shape[0], count=1, dtype="float32", crs=crs,
                       transform=transform, nodata=nodata) as ds:
        ds.write(values, 1)
    return path


def _validate(path: Path, *extra: str):
    return CliRunner().invoke(main, ["layers", "validate", str(path), *extra])


def test_validate_geotiff(tmp_path):
    ok = _tif(tmp_path / "dem.tif", [[100.0, 200.0], [300.0, np.nan]])
    result = _validate(ok)
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"{ok}: valid raster, 2 x 2 cells of 1000 m, EPSG:32643, "
                             "nodata -9999 (1 cells), values 100..300\n")


def test_validate_geotiff_without_crs(tmp_path):
    path = _tif(tmp_path / "nocrs.tif", [[1.0, 2.0]], crs=None)
    result = _validate(path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: raster {path} has no CRS; set the CRS the data are in, e.g. `gdal_edit.py "
        "-a_srs EPSG:4326 FILE`, or `cami-atlas layers import FILE --kind raster --crs "
        "EPSG:4326 ...`.\n")
    fixed = _validate(path, "--crs", "EPSG:32643")
    assert fixed.exit_code == 0 and "valid raster" in fixed.stdout


def test_validate_geotiff_degrees_tagged_utm(tmp_path):
    path = _tif(tmp_path / "deg.tif", [[1.0, 2.0]], transform=Affine(0.5, 0, 70, 0, -0.5, 45))
    result = _validate(path)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: raster {path}: the coordinates (x 70..71, y 44.5..45) look like "
        "longitude/latitude degrees but the layer is tagged EPSG:32643 (metres)")


def test_validate_geotiff_undeclared_nodata(tmp_path):
    path = _tif(tmp_path / "voids.tif", [[1.0, -32768.0], [-32768.0, 5.0]], nodata=None)
    result = _validate(path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: raster {path}: no nodata value is declared but 2 cell(s) hold -32768, a usual "
        "nodata marker (read as data they would distort every analysis); declare it, e.g. "
        "`gdal_edit.py -a_nodata -32768 FILE`.\n")


def test_import_refuses_undeclared_nodata(tmp_path):
    path = _tif(tmp_path / "voids.tif", [[1.0, -32768.0]], nodata=None)
    result = CliRunner().invoke(main, ["layers", "import", str(path), "--kind", "raster",
                                       "--atlas", str(tmp_path / "a.gpkg"), "--licence", "CC0"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: raster {path}: no nodata value is declared but 1 "
                                    "cell(s) hold -32768")
    assert not (tmp_path / "a.gpkg").exists() or "voids" not in Atlas.open(tmp_path / "a.gpkg")


def test_validate_geotiff_all_nodata_and_unreadable(tmp_path):
    empty = _tif(tmp_path / "empty.tif", [[np.nan, np.nan]])
    result = _validate(empty)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: raster {empty} holds no values: every cell is nodata; "
                             "check the band and the nodata value of the file.\n")
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"not a tiff at all")
    bad = _validate(junk)
    assert bad.exit_code == 1 and len(bad.stderr.splitlines()) == 1
    assert bad.stderr.startswith(f"Error: could not read raster {junk}")


def test_validate_atlas_checks_its_raster_layers(tmp_path):
    atlas = Atlas.open(tmp_path / "a.gpkg", create=True)
    atlas.add_layer("dem", Grid(np.array([[1.0, 2.0]]), UTM, "EPSG:32643", -9999.0), "raster",
                    source="test", licence="CC0")
    degrees = Affine(0.5, 0, 70, 0, -0.5, 45)  # lon/lat degrees tagged UTM
    atlas.add_layer("tagged", Grid(np.array([[1.0, 2.0]]), degrees, "EPSG:32643"), "raster",
                    source="test", licence="CC0")
    atlas.save()
    result = _validate(tmp_path / "a.gpkg")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == ("dem                      raster           ok 1 x 2 cells of 1000 m, "
                        "EPSG:32643, nodata -9999 (0 cells), values 1..2")
    assert lines[1] == "tagged                   raster           FAILED"
    assert ("first: raster layer 'tagged': the coordinates (x 70..71, y 44.5..45) look like "
            "longitude/latitude degrees") in result.stderr


def test_validate_default_atlas_reports_its_dem():
    result = CliRunner().invoke(main, ["layers", "validate",
                                       str(Atlas.default().path)])
    assert result.exit_code == 0, result.output
    dem = [ln for ln in result.stdout.splitlines() if ln.startswith("dem ")]
    assert dem == ["dem                      raster           ok 503 x 1,099 cells of "
                   "0.0166667°, EPSG:4326, nodata -32768 (0 cells), values 118..7400"]


# -- column mapping on import ----------------------------------------------------------------
@pytest.fixture()
def odd_names(tmp_path) -> Path:
    path = tmp_path / "fences.gpkg"
    gpd.GeoDataFrame({"typ": ["fence", "road"], "fence_kind": ["woven", None]},
                     geometry=[LineString([(100, 44), (101, 44)]),
                               LineString([(101, 44), (101, 45)])],
                     crs="EPSG:4326").to_file(path)
    return path


def _import(src: Path, atlas: Path, *extra: str):
    return CliRunner().invoke(main, ["layers", "import", str(src), "--kind", "infrastructure",
                                     "--atlas", str(atlas), "--licence", "CC0", *extra])


def test_import_without_mapping_points_at_rename(odd_names, tmp_path):
    result = _import(odd_names, tmp_path / "a.gpkg")
    assert result.exit_code == 1
    assert result.stderr.rstrip().endswith(
        "If the file names it differently, map it with --rename SRC=DST or --mapping FILE.")
    assert "missing required column(s) 'infra_type'" in result.stderr
    assert not (tmp_path / "a.gpkg").exists() or "fences" not in Atlas.open(tmp_path / "a.gpkg")


def test_import_with_rename(odd_names, tmp_path):
    atlas = tmp_path / "a.gpkg"
    result = _import(odd_names, atlas, "--rename", "typ=infra_type",
                     "--rename", "fence_kind=fence_type")
    assert result.exit_code == 0, result.output
    layer = Atlas.open(atlas).read("fences")
    assert layer["infra_type"].tolist() == ["fence", "road"]
    assert layer["fence_type"].iloc[0] == "woven barbed wire"


def test_import_unknown_source_column_names_the_closest(odd_names, tmp_path):
    result = _import(odd_names, tmp_path / "a.gpkg", "--rename", "tpy=infra_type")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {odd_names}: column mapping names source column 'tpy', which is not in the "
        "file; did you mean 'typ'? (columns: typ, fence_kind)\n")
    bad = _import(odd_names, tmp_path / "a.gpkg", "--rename", "typ")
    assert bad.exit_code == 2 and "'typ' is not SRC=DST" in bad.stderr


@pytest.mark.parametrize("suffix, text", [
    (".csv", "src,dst\ntyp,infra_type\nfence_kind,fence_type\n"),
    (".csv", "typ,infra_type\nfence_kind,fence_type\n"),
    (".json", json.dumps({"typ": "infra_type", "fence_kind": "fence_type"})),
    (".json", json.dumps([["typ", "infra_type"], ["fence_kind", "fence_type"]])),
])
def test_import_with_mapping_file(odd_names, tmp_path, suffix, text):
    mapping = tmp_path / f"columns{suffix}"
    mapping.write_text(text)
    atlas = tmp_path / "a.gpkg"
    result = _import(odd_names, atlas, "--mapping", str(mapping))
    assert result.exit_code == 0, result.output
    assert Atlas.open(atlas).read("fences")["fence_type"].iloc[0] == "woven barbed wire"


def test_mapping_file_errors(odd_names, tmp_path):
    mapping = tmp_path / "m.csv"
    mapping.write_text("typ;infra_type\n")
    result = _import(odd_names, tmp_path / "a.gpkg", "--mapping", str(mapping))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: column mapping {mapping}, entry 1 (['typ;infra_type']) is not a pair src,dst; "
        'write it as CSV rows src,dst (e.g. typ,infra_type) or JSON {"typ": "infra_type"}.\n')
    # --rename wins over the file
    mapping.write_text("typ,wrong\n")
    ok = _import(odd_names, tmp_path / "a.gpkg", "--mapping", str(mapping),
                 "--rename", "typ=infra_type", "--name", "f2")
    assert ok.exit_code == 0, ok.output


def test_tracks_csv_rename(tmp_path):
    csv = tmp_path / "fixes.csv"
    csv.write_text("animal,time,lon,lat\nA1,2020-01-01T00:00:00Z,66.0,47.0\n"
                   "A1,2020-01-01T06:00:00Z,66.1,47.1\n")
    atlas = tmp_path / "a.gpkg"
    result = CliRunner().invoke(main, [
        "layers", "import", str(csv), "--kind", "tracks", "--atlas", str(atlas),
        "--licence", "CC0", "--rename", "animal=individual", "--rename", "time=timestamp"])
    assert result.exit_code == 0, result.output
    tracks = Atlas.open(atlas).read("fixes")
    assert tracks["individual"].tolist() == ["A1", "A1"]
