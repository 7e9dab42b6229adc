"""What only the PostGIS store has: addresses, sessions, transactions, SQL safety, views."""

from __future__ import annotations

import geopandas as gpd
import psycopg
import pytest
from psycopg import sql
from shapely import LineString, Point

from cami_atlas.errors import AtlasLockedError, LayerReadError, LayerWriteError, OutputExistsError
from cami_atlas.store import Atlas, PostGISBackend, backend_for
from cami_atlas.store import postgis as postgis_module

# synthetic layers (invented for the tests)
ROAD = gpd.GeoDataFrame({"infra_type": ["road"]}, geometry=[LineString([(70, 45), (71, 45)])],
                        crs="EPSG:4326")
HOSTILE = "'); DROP TABLE cami_atlas_layers; --"


def _add(atlas: Atlas, name: str, data: gpd.GeoDataFrame = ROAD, kind: str = "infrastructure",
         **kw) -> None:
    atlas.add_layer(name, data, kind, source="test", licence="CC0-1.0", **kw)


def _conn(url: str):
    return psycopg.connect(url.split("?")[0], autocommit=True)


def test_address_parsing_hides_the_password() -> None:
    backend = PostGISBackend("postgresql://u:s3cret@h:5433/db?sslmode=disable&schema=team")
    assert backend.location == "postgresql://u:***@h:5433/db?sslmode=disable&schema=team"
    assert backend.schema == "team" and "s3cret" not in repr(backend)
    assert backend._conninfo == "postgresql://u:s3cret@h:5433/db?sslmode=disable"
    for bad in ("Team", "a;drop", "x" * 64, ""):
        with pytest.raises(LayerReadError, match=r"schema=.* is not valid"):
            PostGISBackend(f"postgresql://h/db?schema={bad}")


def test_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(LayerReadError, match=r"cannot connect to the atlas database "
                                             r"postgresql://u:\*\*\*@127\.0\.0\.1:1/db"):
        Atlas.open("postgresql://u:pw@127.0.0.1:1/db")


def test_missing_atlas_and_missing_postgis(postgis_server: str, postgis_url: str) -> None:
    with pytest.raises(LayerReadError, match=r"there is no atlas at .*atlas push"):
        Atlas.open(postgis_url)
    with _conn(postgis_server) as con:
        con.execute("DROP DATABASE IF EXISTS plain")
        con.execute("CREATE DATABASE plain")
    plain = postgis_server.rsplit("/", 1)[0] + "/plain"
    with pytest.raises(LayerReadError, match="has no PostGIS: run CREATE EXTENSION postgis"):
        Atlas.open(plain)


def test_lock_is_exclusive_across_sessions(postgis_url: str) -> None:
    backend = backend_for(postgis_url)
    with backend.lock(timeout_s=1) as conn, backend.lock(timeout_s=0) as inner:  # re-entrant
        assert inner is conn
        pid = conn.info.backend_pid
        other = PostGISBackend(postgis_url)
        import threading

        errors: list[BaseException] = []
        thread = threading.Thread(target=lambda: _take(other, errors))
        thread.start()
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], AtlasLockedError)
        assert f"is locked by database session {pid}" in str(errors[0])
    with backend.lock(timeout_s=0):  # released with the transaction
        pass


def _take(backend: PostGISBackend, errors: list[BaseException]) -> None:
    try:
        with backend.lock(timeout_s=0.3):
            pass
    except BaseException as exc:
        errors.append(exc)


def test_failed_commit_changes_nothing(postgis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    atlas = Atlas("t")
    _add(atlas, "base")
    atlas.save(postgis_url)
    backend = backend_for(postgis_url)
    before = backend.read_catalog(), backend.list_versions()
    _add(atlas, "second")
    _add(atlas, "third")
    _add(atlas, "base", ROAD.assign(infra_type="railway"), overwrite=True)
    real = postgis_module.PostGISBackend._write_features
    calls = {"n": 0}

    def failing(self, conn, table, name, gdf, srid):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("server went away halfway")
        return real(self, conn, table, name, gdf, srid)

    monkeypatch.setattr(postgis_module.PostGISBackend, "_write_features", failing)
    with pytest.raises(LayerWriteError, match=r"server went away halfway.*nothing was changed"):
        atlas.save()
    assert (backend.read_catalog(), backend.list_versions()) == before
    with _conn(postgis_url) as con:  # no table of the failed versions is left
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name LIKE 'cami_atlas_data_%%'", [backend.schema])]
    assert len(tables) == 1
    monkeypatch.setattr(postgis_module.PostGISBackend, "_write_features", real)
    atlas.save()
    assert Atlas.open(postgis_url).layer_names() == ["base", "second", "third"]


def test_hostile_names_and_values_are_data(postgis_url: str) -> None:
    places = gpd.GeoDataFrame({"name": [HOSTILE, "<b>x</b>"], HOSTILE: ["a", None],
                               'col "quoted"': [1, 2]},
                              geometry=[Point(71, 51), Point(72, 52)], crs="EPSG:4326")
    atlas = Atlas("t")
    _add(atlas, "towns", places, "places", attribution=HOSTILE)
    atlas.save(postgis_url, published_by=HOSTILE)
    back = Atlas.open(postgis_url).read("towns")
    assert back["name"].tolist() == [HOSTILE, "<b>x</b>"]
    assert back[HOSTILE].iloc[0] == "a" and back[HOSTILE].isna().tolist() == [False, True]
    assert back['col "quoted"'].tolist() == [1, 2]
    assert Atlas.open(postgis_url).layer_versions("towns")["published_by"].tolist() == [HOSTILE]
    assert Atlas.open(postgis_url).layer_info("towns")["attribution"] == HOSTILE
    backend = backend_for(postgis_url)
    with pytest.raises(LayerReadError, match="no layer"):
        backend.read_vector(HOSTILE)
    backend.check(full=True)  # every table is still there


def test_views_show_the_current_version_to_other_gis(postgis_url: str) -> None:
    atlas = Atlas("t")
    _add(atlas, "roads")
    atlas.save(postgis_url)
    _add(atlas, "roads", gpd.GeoDataFrame(
        {"infra_type": ["road", "road"]},
        geometry=[LineString([(70, 45), (71, 45)]), LineString([(70, 46), (71, 46)])],
        crs="EPSG:4326"), overwrite=True)
    atlas.save()
    schema = backend_for(postgis_url).schema
    with _conn(postgis_url) as con:
        count, srid, length_m = con.execute(sql.SQL(
            "SELECT count(*), min(ST_SRID(cami_geom)), sum(ST_Length(cami_geom::geography)) "
            "FROM {}").format(sql.Identifier(schema, "roads"))).fetchone()
    assert (count, srid) == (2, 4326)
    # two 1-degree segments of longitude at 45 and 46 N (WGS84): pyproj.Geod gives the sum
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    expected = sum(geod.line_length([70, 71], [lat, lat]) for lat in (45, 46))
    assert length_m == pytest.approx(expected, rel=1e-6)


def test_full_check_finds_missing_data_and_newer_format(postgis_url: str) -> None:
    atlas = Atlas("t")
    _add(atlas, "roads")
    atlas.save(postgis_url)
    backend = backend_for(postgis_url)
    backend.check(full=True)
    with _conn(postgis_url) as con:
        con.execute(sql.SQL("UPDATE {} SET format_version = 99").format(
            sql.Identifier(backend.schema, "cami_atlas_atlas")))
    with pytest.raises(LayerReadError, match=r"format version 99.*Upgrade"):
        Atlas.open(postgis_url)
    with _conn(postgis_url) as con:
        con.execute(sql.SQL("UPDATE {} SET format_version = 1").format(
            sql.Identifier(backend.schema, "cami_atlas_atlas")))
        con.execute(sql.SQL("DROP TABLE {} CASCADE").format(
            sql.Identifier(backend.schema, "cami_atlas_data_1")))
    with pytest.raises(LayerReadError, match=r"damaged: the table cami_atlas_data_1 of version 1 "
                                             r"of layer 'roads' is missing"):
        backend.check(full=True)


def test_save_as_refuses_an_existing_database_atlas(postgis_url: str) -> None:
    first = Atlas("one")
    _add(first, "roads")
    first.save(postgis_url)
    second = Atlas("two")
    _add(second, "rail")
    with pytest.raises(OutputExistsError, match=r"holds an atlas already.*overwrite=True"):
        second.save(postgis_url)
    assert Atlas.open(postgis_url).layer_names() == ["roads"]
    second.save(postgis_url, overwrite=True)
    reopened = Atlas.open(postgis_url)
    assert reopened.name == "two" and reopened.layer_names() == ["rail"]
