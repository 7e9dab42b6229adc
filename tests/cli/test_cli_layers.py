"""``cami-atlas --version`` and ``cami-atlas layers ...`` through click's CliRunner."""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from click.testing import CliRunner
from shapely import LineString, Point

from cami_atlas import __version__
from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.errors import MissingColumnError
from cami_atlas.raster import Grid

# synthetic layers (invented for the tests)
FENCES = gpd.GeoDataFrame(
    {"infra_type": ["fence", "fence"], "fence_type": ["woven", "chain link"]},
    geometry=[LineString([(100, 44), (101, 44)]), LineString([(101, 44), (101, 45)])],
    crs="EPSG:4326")


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture()
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "fences.geojson"
    FENCES.to_file(path, driver="GeoJSON")
    return path


@pytest.fixture()
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.geojson"
    FENCES.rename(columns={"infra_type": "kind_of_thing"}).to_file(path, driver="GeoJSON")
    return path


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cami-atlas, version {__version__}"


def test_layers_list_default(runner: CliRunner) -> None:
    result = runner.invoke(main, ["layers", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "12 layers" in lines[0]
    assert lines[1].split() == ["name", "kind", "features", "crs", "source", "licence"]
    body = {line.split()[0]: line.split() for line in lines[3:]}
    assert set(body) == set(Atlas.default().layer_names())
    assert body["railways"][1:4] == ["infrastructure", "4233", "EPSG:4326"]
    assert body["osm_astana"][-1] == "ODbL-1.0"


def test_layers_list_csv(runner: CliRunner) -> None:
    result = runner.invoke(main, ["layers", "list", "--format", "csv"])
    assert result.exit_code == 0
    table = pd.read_csv(io.StringIO(result.output))
    expected = Atlas.default().list_layers()
    assert table["name"].tolist() == expected["name"].tolist()
    assert table["source"].tolist() == expected["source"].tolist()  # not shortened
    assert table["features"].tolist() == expected["n_features"].tolist()


def test_validate_good_file(runner: CliRunner, good_file: Path) -> None:
    result = runner.invoke(main, ["layers", "validate", str(good_file), "--kind",
                                  "infrastructure"])
    assert result.exit_code == 0, result.output
    assert "valid infrastructure layer, 2 features, EPSG:4326" in result.output


def test_validate_bad_file(runner: CliRunner, bad_file: Path) -> None:
    result = runner.invoke(main, ["layers", "validate", str(bad_file), "--kind",
                                  "infrastructure"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ") and "missing required column(s) 'infra_type'" in lines[0]
    assert "Traceback" not in result.output


def test_validate_bad_file_debug_shows_exception(runner: CliRunner, bad_file: Path) -> None:
    result = runner.invoke(main, ["--debug", "layers", "validate", str(bad_file), "--kind",
                                  "infrastructure"])
    assert result.exit_code == 1
    assert isinstance(result.exception, MissingColumnError)


def test_validate_atlas(runner: CliRunner, tmp_path: Path, good_file: Path) -> None:
    result = runner.invoke(main, ["layers", "validate",
                                  str(Atlas.default().path)])
    assert result.exit_code == 0, result.output
    assert "12 layer(s) valid" in result.output
    one = runner.invoke(main, ["layers", "validate", str(Atlas.default().path), "--layer",
                               "roads"])
    assert one.exit_code == 0 and "1 layer(s) valid" in one.output
    missing = runner.invoke(main, ["layers", "validate", str(Atlas.default().path), "--layer",
                                   "fences"])
    assert missing.exit_code == 1 and "has no layer 'fences'" in missing.output


def test_validate_broken_atlas(runner: CliRunner, tmp_path: Path) -> None:
    atlas = Atlas("t")
    atlas.add_layer("fences", FENCES, "infrastructure", source="s", licence="l")
    path = atlas.save(tmp_path / "t.gpkg")
    FENCES.drop(columns="infra_type").to_file(path, layer="fences", driver="GPKG")
    result = runner.invoke(main, ["layers", "validate", str(path)])
    assert result.exit_code == 1
    assert "fences                   infrastructure   FAILED" in result.output
    assert "Error: 1 of 1 layer(s) of atlas" in result.output


def test_validate_usage_errors(runner: CliRunner, good_file: Path, tmp_path: Path) -> None:
    no_kind = runner.invoke(main, ["layers", "validate", str(good_file)])
    assert no_kind.exit_code == 2
    assert "is not an atlas; give the kind" in no_kind.output
    missing = runner.invoke(main, ["layers", "validate", str(tmp_path / "nope.gpkg"),
                                   "--kind", "water"])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    bad_kind = runner.invoke(main, ["layers", "validate", str(good_file), "--kind", "roads"])
    assert bad_kind.exit_code == 2 and "'roads' is not one of" in bad_kind.output


def test_import_creates_atlas_and_refuses_overwrite(runner: CliRunner, good_file: Path,
                                                    tmp_path: Path) -> None:
    target = tmp_path / "mine.gpkg"
    args = ["layers", "import", str(good_file), "--kind", "infrastructure", "--atlas",
            str(target), "--licence", "CC0-1.0", "--source", "field survey",
            "--attribution", "us"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "imported 'fences' (infrastructure, 2 features, EPSG:4326)" in result.output
    atlas = Atlas.open(target)
    assert atlas.layer_names() == ["fences"]
    info = atlas.layer_info("fences")
    assert (info["source"], info["licence"], info["attribution"]) == ("field survey", "CC0-1.0",
                                                                      "us")
    assert atlas.read("fences")["fence_type"].tolist() == ["woven barbed wire", "chain link"]

    before = target.read_bytes()
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "already has a layer 'fences'; pass --overwrite" in again.output
    assert target.read_bytes() == before

    replaced = runner.invoke(main, [*args, "--overwrite", "--source", "second survey"])
    assert replaced.exit_code == 0, replaced.output
    assert Atlas.open(target).layer_info("fences")["source"] == "second survey"

    other = runner.invoke(main, [*args, "--name", "fences_2"])
    assert other.exit_code == 0
    assert Atlas.open(target).layer_names() == ["fences", "fences_2"]


def test_import_failed_validation_writes_nothing(runner: CliRunner, bad_file: Path,
                                                 good_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "new.gpkg"
    args = ["layers", "import", str(bad_file), "--kind", "infrastructure", "--atlas",
            str(target), "--licence", "CC0-1.0"]
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "missing required column(s) 'infra_type'" in result.output
    assert not target.exists()
    assert list(tmp_path.glob("*.gpkg*")) == []
    ok = runner.invoke(main, ["layers", "import", str(good_file), "--kind", "infrastructure",
                              "--atlas", str(target), "--licence", "CC0-1.0"])
    assert ok.exit_code == 0
    before = target.read_bytes()
    again = runner.invoke(main, [*args, "--name", "other"])
    assert again.exit_code == 1
    assert target.read_bytes() == before


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_import_raster_and_crs(runner: CliRunner, tmp_path: Path) -> None:
    grid = Grid(np.arange(12.0).reshape(3, 4), Affine(0.5, 0, 70, 0, -0.5, 45), "EPSG:4326")
    tif = grid.to_geotiff(tmp_path / "elev.tif")
    target = tmp_path / "r.gpkg"
    result = runner.invoke(main, ["layers", "import", str(tif), "--kind", "raster", "--atlas",
                                  str(target), "--licence", "CC0-1.0"])
    assert result.exit_code == 0, result.output
    assert "imported 'elev' (raster, 12 cells, EPSG:4326)" in result.output
    np.testing.assert_array_equal(Atlas.open(target).read("elev").values, grid.values)

    no_crs = tmp_path / "towns.gpkg"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(71.4, 51.2)]).to_file(no_crs,
                                                                            driver="GPKG")
    refused = runner.invoke(main, ["layers", "import", str(no_crs), "--kind", "places",
                                   "--atlas", str(target), "--licence", "CC0-1.0"])
    assert refused.exit_code == 1 and "no CRS" in refused.output
    given = runner.invoke(main, ["layers", "import", str(no_crs), "--kind", "places",
                                 "--atlas", str(target), "--licence", "CC0-1.0",
                                 "--crs", "EPSG:4326"])
    assert given.exit_code == 0, given.output
    assert Atlas.open(target).read("towns").crs.to_epsg() == 4326


def test_import_usage_errors(runner: CliRunner, good_file: Path, tmp_path: Path) -> None:
    no_licence = runner.invoke(main, ["layers", "import", str(good_file), "--kind",
                                      "infrastructure", "--atlas", str(tmp_path / "a.gpkg")])
    assert no_licence.exit_code == 2
    assert "Missing option '--licence'" in no_licence.output
    assert not (tmp_path / "a.gpkg").exists()
    plain = tmp_path / "plain.gpkg"
    FENCES.to_file(plain, driver="GPKG")
    not_atlas = runner.invoke(main, ["layers", "import", str(good_file), "--kind",
                                     "infrastructure", "--atlas", str(plain), "--licence", "x"])
    assert not_atlas.exit_code == 1 and "not a cami_atlas atlas" in not_atlas.output
