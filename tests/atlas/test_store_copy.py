"""`cami-atlas atlas push / pull / versions`: an atlas copied between GeoPackage and PostGIS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from cami_atlas.cli import main
from cami_atlas.errors import OutputExistsError
from cami_atlas.store import Atlas, default_atlas_path
from cami_atlas.store.copy import pull_atlas, push_atlas


def _same_layers(a: Atlas, b: Atlas) -> None:
    assert a.layer_names() == b.layer_names()
    for name in a.layer_names():
        x, y = a.read(name), b.read(name)
        if a.kind_of(name) == "raster":
            assert np.array_equal(x.values, y.values, equal_nan=True) and x.transform == y.transform
        else:
            pd.testing.assert_frame_equal(x, y, check_dtype=False)
        for key in ("source", "licence", "attribution", "date", "processing", "crs"):
            assert a.layer_info(name)[key] == b.layer_info(name)[key], (name, key)


def test_round_trip_default_atlas_through_postgis(postgis_url: str, tmp_path: Path) -> None:
    report = pull_atlas(default_atlas_path(), postgis_url)
    assert report.versions == 12 and report.layers[0] == "countries"
    _same_layers(Atlas.default(), Atlas.open(postgis_url))
    back = pull_atlas(postgis_url, tmp_path / "back.gpkg")
    assert back.destination == str(tmp_path / "back.gpkg")
    _same_layers(Atlas.default(), Atlas.open(tmp_path / "back.gpkg"))
    with pytest.raises(OutputExistsError, match=r"exists already.*--overwrite"):
        pull_atlas(postgis_url, tmp_path / "back.gpkg")


def test_push_publishes_only_what_changed(postgis_url: str, tmp_path: Path) -> None:
    local = tmp_path / "local.gpkg"
    pull_atlas(default_atlas_path(), local)
    first = push_atlas(local, postgis_url, published_by="alice")  # creates the shared atlas
    assert first.versions == 12
    mine = Atlas.open(local)
    rail = mine.read("railways")
    mine.add_layer("railways", rail.iloc[:100], "infrastructure", source="trimmed for a test",
                   licence="public domain", overwrite=True)
    mine.remove_layer("osm_astana")  # push never deletes layers of the shared atlas
    mine.save()
    report = push_atlas(local, postgis_url, published_by="bob")
    assert report.published == ["railways"]
    assert "osm_astana" not in report.unchanged and len(report.unchanged) == 10
    shared = Atlas.open(postgis_url)
    assert "osm_astana" in shared and len(shared.read("railways")) == 100
    table = shared.layer_versions("railways")
    assert table["version"].tolist() == [1, 2]
    assert table["published_by"].tolist()[1] == "bob"
    assert len(shared.read("railways", version=1)) == len(rail)
    assert push_atlas(local, postgis_url).published == []  # nothing new the second time


def test_pull_history_keeps_every_version_and_its_publisher(postgis_url: str,
                                                            tmp_path: Path) -> None:
    pull_atlas(default_atlas_path(), postgis_url)
    shared = Atlas.open(postgis_url)
    places = shared.read("places")
    for n in (10, 20):
        shared.add_layer("places", places.iloc[:n], "places", source=f"first {n}",
                         licence="public domain", overwrite=True)
        shared.save(published_by=f"editor{n}")
    before = Atlas.open(postgis_url).layer_versions()
    runner = CliRunner()
    out = tmp_path / "mirror.gpkg"
    result = runner.invoke(main, ["atlas", "pull", postgis_url, str(out), "--history"])
    assert result.exit_code == 0, result.output
    assert f"copied 12 layer(s), 14 version(s), to {out}" in result.output
    after = Atlas.open(out).layer_versions()
    cols = ["layer", "version", "published_by", "published_at", "current", "source", "n_features"]
    pd.testing.assert_frame_equal(before[cols], after[cols])
    assert len(Atlas.open(out).read("places", version=2)) == 10
    listing = runner.invoke(main, ["atlas", "versions", str(out), "--layer", "places"])
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0].split()[:4] == ["layer", "version", "current", "published_by"]
    assert [ln.split()[1] for ln in lines[2:]] == ["1", "2", "3"]
    assert "editor20" in lines[4] and " yes " in lines[4]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["atlas", "pull", str(default_atlas_path()),
                                  "mysql://db/cami"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: atlas location mysql://... is not supported: an atlas is a .gpkg file or a "
        "PostGIS database (postgresql://user@host/database?schema=NAME)."]
    result = runner.invoke(main, ["atlas", "push", str(tmp_path / "none.gpkg"),
                                  str(tmp_path / "x.gpkg")])
    assert result.exit_code == 1 and "does not exist" in result.output
