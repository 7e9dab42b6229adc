"""Layer versions on both stores; two processes publishing versions of one layer at once."""

from __future__ import annotations

import contextlib
import datetime as dt
import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely import LineString

from cami_atlas.errors import LayerNotFoundError, LayerReadError
from cami_atlas.raster import Grid
from cami_atlas.store import VERSION_COLUMNS, Atlas, backend_for, default_atlas_path

# synthetic layers (invented for the tests)
ROAD = gpd.GeoDataFrame({"infra_type": ["road"]}, geometry=[LineString([(70, 45), (71, 45)])],
                        crs="EPSG:4326")


def roads(n: int) -> gpd.GeoDataFrame:
    """``n`` parallel road segments: the feature count identifies the version."""
    return gpd.GeoDataFrame({"infra_type": ["road"] * n},
                            geometry=[LineString([(70, 40 + i), (71, 40 + i)]) for i in range(n)],
                            crs="EPSG:4326")


def grid(value: float) -> Grid:
    return Grid(np.full((3, 4), value), Affine(1, 0, 60, 0, -1, 45), "EPSG:4326", name="g")


def _stamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_save_publishes_a_version(atlas_location: Path | str) -> None:
    start = dt.datetime.now(dt.UTC)
    atlas = Atlas("v")
    atlas.add_layer("roads", roads(1), "infrastructure", source="survey 2019", licence="CC0-1.0")
    atlas.add_layer("dem", grid(1.0), "raster", source="dem v1", licence="CC0-1.0")
    atlas.save(atlas_location, published_by="alice")
    atlas.add_layer("roads", roads(2), "infrastructure", source="survey 2021",
                    licence="CC-BY-4.0", attribution="the survey", overwrite=True)
    atlas.save(published_by="bob")
    atlas.add_layer("dem", grid(2.0), "raster", source="dem v2", licence="CC0-1.0",
                    overwrite=True)
    atlas.add_layer("roads", roads(3), "infrastructure", source="survey 2023",
                    licence="CC-BY-4.0", overwrite=True)
    atlas.save(published_by="carol")

    reopened = Atlas.open(atlas_location)
    table = reopened.layer_versions()
    assert list(table.columns) == list(VERSION_COLUMNS)
    assert table[["layer", "version", "published_by", "current"]].values.tolist() == [
        ["roads", 1, "alice", False], ["roads", 2, "bob", False], ["roads", 3, "carol", True],
        ["dem", 1, "alice", False], ["dem", 2, "carol", True]]
    road_versions = reopened.layer_versions("roads")
    assert road_versions["source"].tolist() == ["survey 2019", "survey 2021", "survey 2023"]
    assert road_versions["licence"].tolist() == ["CC0-1.0", "CC-BY-4.0", "CC-BY-4.0"]
    assert road_versions["attribution"].tolist()[1] == "the survey"
    assert road_versions["n_features"].tolist() == [1, 2, 3]
    stamps = [_stamp(t) for t in road_versions["published_at"]]
    assert stamps == sorted(stamps) and start - dt.timedelta(seconds=1) <= stamps[0]
    assert stamps[-1] <= dt.datetime.now(dt.UTC)
    # any version can be read; the current one is the latest
    assert [len(reopened.read("roads", version=v)) for v in (1, 2, 3)] == [1, 2, 3]
    assert len(reopened.read("roads")) == 3
    assert np.nanmax(reopened.read("dem", version=1).values) == 1.0
    assert np.nanmax(reopened.read("dem").values) == 2.0
    assert reopened.layer_info("roads")["source"] == "survey 2023"
    with pytest.raises(LayerNotFoundError, match=r"no version 7 of layer 'roads'; its versions "
                                                 r"are: 1, 2, 3"):
        reopened.read("roads", version=7)
    with pytest.raises(LayerReadError, match=r"no version 4 of layer 'dem'.*are: 1, 2"):
        backend_for(atlas_location).read_raster("dem", 4)


def test_unchanged_layers_keep_their_versions_and_removal_drops_them(
        atlas_location: Path | str) -> None:
    atlas = Atlas("v")
    atlas.add_layer("roads", roads(1), "infrastructure", source="s", licence="l")
    atlas.add_layer("rail", ROAD, "infrastructure", source="s", licence="l")
    atlas.save(atlas_location, published_by="alice")
    other = Atlas.open(atlas_location)
    other.add_layer("roads", roads(2), "infrastructure", source="s", licence="l", overwrite=True)
    other.save(published_by="bob")
    atlas.remove_layer("rail")  # the first writer never saw roads v2: it must survive
    atlas.save(published_by="alice")
    table = Atlas.open(atlas_location).layer_versions()
    assert table[["layer", "version", "published_by"]].values.tolist() == [
        ["roads", 1, "alice"], ["roads", 2, "bob"]]
    assert len(Atlas.open(atlas_location).read("roads")) == 2


def test_publisher_defaults_to_the_environment(atlas_location: Path | str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAMI_ATLAS_USER", "secretariat")
    atlas = Atlas("v")
    atlas.add_layer("roads", roads(1), "infrastructure", source="s", licence="l")
    atlas.save(atlas_location)
    assert Atlas.open(atlas_location).layer_versions("roads")["published_by"].tolist() == [
        "secretariat"]


def test_geopackage_written_before_versions(tmp_path: Path) -> None:
    """A file without the versions table holds version 1 of each layer; the next save adds v2."""
    path = tmp_path / "old.gpkg"
    shutil.copy(default_atlas_path(), path)
    with contextlib.closing(sqlite3.connect(path)) as con:  # as written before versions
        con.execute("DROP TABLE IF EXISTS cami_atlas_versions")
        con.commit()
    original = Atlas.open(path).read("railways")
    table = Atlas.open(path).layer_versions()
    assert (table["version"] == 1).all() and table["current"].all()
    assert table["layer"].tolist() == Atlas.open(path).layer_names()
    atlas = Atlas.open(path)
    atlas.add_layer("railways", original.iloc[:5], "infrastructure", source="trimmed",
                    licence="public domain", overwrite=True)
    atlas.save(published_by="tester")
    reopened = Atlas.open(path)
    assert reopened.layer_versions("railways")[["version", "published_by"]].values.tolist() == [
        [1, ""], [2, "tester"]]
    assert len(reopened.read("railways")) == 5
    assert reopened.read("railways", version=1).equals(original)
    assert (reopened.layer_versions("roads")["version"] == 1).all()  # untouched layers


def _publish(location: str, n: int, who: str, ready, go) -> None:  # runs in a child process
    atlas = Atlas.open(location)
    atlas.add_layer("roads", roads(n), "infrastructure", source=f"from {who}", licence="l",
                    overwrite=True)
    ready.set()
    go.wait(30)
    atlas.save(published_by=who, lock_timeout_s=60)


def test_two_processes_publish_versions_of_one_layer_at_once(atlas_location: Path | str) -> None:
    atlas = Atlas("v")
    atlas.add_layer("roads", roads(1), "infrastructure", source="start", licence="l")
    atlas.save(atlas_location, published_by="setup")
    location = str(atlas_location)
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    ready = [ctx.Event(), ctx.Event()]
    procs = [ctx.Process(target=_publish, args=(location, n, who, r, go))
             for n, who, r in ((2, "first", ready[0]), (3, "second", ready[1]))]
    for proc in procs:
        proc.start()
    assert all(r.wait(60) for r in ready)
    go.set()  # both save now: one waits for the other's lock
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    reopened = Atlas.open(location)
    table = reopened.layer_versions("roads")
    assert table["version"].tolist() == [1, 2, 3]
    assert sorted(table["published_by"].tolist()[1:]) == ["first", "second"]  # both kept
    later = table.iloc[-1]
    assert bool(later["current"]) and not table["current"].iloc[:-1].any()
    assert _stamp(later["published_at"]) > _stamp(table["published_at"].iloc[1])
    # the current data is the later publisher's; the earlier one stays readable
    n_later = 2 if later["published_by"] == "first" else 3
    assert len(reopened.read("roads")) == n_later
    assert reopened.layer_info("roads")["source"] == f"from {later['published_by']}"
    assert len(reopened.read("roads", version=2)) == 5 - n_later
