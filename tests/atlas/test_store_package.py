"""cami_atlas.store: the backend interface, merge-on-save, Atlas.edit, the lock, re-exports.

Tests taking ``atlas_location`` run on both stores: a GeoPackage file and a PostGIS schema.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, Point

import cami_atlas.atlas as atlas_module
from cami_atlas import store
from cami_atlas.errors import (
    AtlasLockedError,
    LayerReadError,
    LayerWriteError,
    OutputExistsError,
)
from cami_atlas.store import (
    Atlas,
    AtlasBackend,
    AtlasLock,
    GeoPackageBackend,
    PostGISBackend,
    backend_for,
    lock_path,
)
from cami_atlas.store.lock import LOCK_TIMEOUT_ENV, lock_holder, lock_timeout_s

# synthetic layers (invented for the tests)
ROAD = gpd.GeoDataFrame({"infra_type": ["road"]}, geometry=[LineString([(70, 45), (71, 45)])],
                        crs="EPSG:4326")
TOWN = gpd.GeoDataFrame({"name": ["A"]}, geometry=[Point(71.4, 51.2)], crs="EPSG:4326")


def _add(atlas: Atlas, name: str, data: gpd.GeoDataFrame = ROAD, kind: str = "infrastructure",
         **kw) -> None:
    atlas.add_layer(name, data, kind, source="test", licence="CC0-1.0", **kw)


@pytest.fixture()
def saved(atlas_location: Path | str) -> Path | str:
    atlas = Atlas("m")
    _add(atlas, "base")
    _add(atlas, "towns", TOWN, "places")
    return atlas.save(atlas_location)


def _state(location: Path | str) -> tuple[list, list]:
    """Everything a store holds that a test can compare: catalogue and versions."""
    backend = backend_for(location)
    return backend.read_catalog(), backend.list_versions()


def _only_atlas_files(location: Path | str) -> None:
    """A GeoPackage atlas leaves no temporary or lock file beside it."""
    if isinstance(location, Path):
        assert sorted(p.name for p in location.parent.iterdir()) == [location.name]


def test_old_module_reexports_the_store() -> None:
    for name in ("Atlas", "ATLAS_TABLE", "LAYERS_TABLE", "RASTERS_TABLE", "FORMAT_VERSION",
                 "DEFAULT_ATLAS_FILE", "DEFAULT_REGION", "default_atlas_path", "is_atlas_file"):
        assert getattr(atlas_module, name) is getattr(store, name), name
    assert callable(atlas_module.layer_summary)


def test_backend_implements_the_interface(saved: Path | str) -> None:
    backend = backend_for(saved)
    expected = GeoPackageBackend if isinstance(saved, Path) else PostGISBackend
    assert isinstance(backend, expected) and isinstance(backend, AtlasBackend)
    assert backend.exists()
    info = backend.read_info()
    assert (info.name, info.analysis_crs, info.format_version) == ("m", "ESRI:102025", 1)
    catalog = backend.read_catalog()
    assert [r["name"] for r in catalog] == ["base", "towns"]
    assert set(catalog[0]) == set(store.META_COLUMNS)
    assert backend.read_vector("towns")["name"].tolist() == ["A"]
    with pytest.raises(LayerReadError, match="has no data for it"):
        backend.read_raster("base")
    assert backend.recover() == []


def test_backend_for_database_addresses() -> None:
    assert isinstance(backend_for("postgresql://atlas@db/cami"), PostGISBackend)
    assert isinstance(backend_for("postgres://atlas@db/cami?schema=x"), PostGISBackend)
    with pytest.raises(LayerReadError, match=r"mysql://\.\.\. is not supported.*postgresql://"):
        backend_for("mysql://atlas:secret@db/cami")


def test_save_merges_changes_of_two_writers(saved: Path | str) -> None:
    first, second = Atlas.open(saved), Atlas.open(saved)
    _add(first, "from_first")
    first.remove_layer("towns")
    _add(second, "from_second")
    _add(second, "base", ROAD.assign(infra_type="railway"), overwrite=True)
    first.save()
    second.save()  # re-reads the catalogue: keeps from_first, does not resurrect towns
    assert Atlas.open(saved).layer_names() == ["base", "from_first", "from_second"]
    assert Atlas.open(saved).read("base")["infra_type"].tolist() == ["railway"]
    assert second.layer_names() == ["base", "from_first", "from_second"]
    assert first.layer_names() == ["base", "from_first"]  # it has not seen the second yet
    first.save()  # nothing changed: saving again loses nothing
    assert Atlas.open(saved).layer_names() == ["base", "from_first", "from_second"]
    _only_atlas_files(saved)


def test_save_as_writes_exactly_this_atlas(saved: Path | str, tmp_path: Path) -> None:
    atlas = Atlas.open(saved)
    other = Atlas.open(saved)
    _add(other, "later")
    other.save()
    copy = atlas.save(tmp_path / "copy" / "c.gpkg")  # a folder that does not exist yet
    assert Atlas.open(copy).layer_names() == ["base", "towns"]
    assert atlas.path == copy


def test_edit_creates_and_checks_under_the_lock(atlas_location: Path | str) -> None:
    path = atlas_location
    with pytest.raises(LayerReadError, match=r"does not exist|there is no atlas"), \
            Atlas.edit(path):
        pass
    with Atlas.edit(path, create=True) as atlas:
        if isinstance(path, Path):
            assert lock_holder(path) is not None and lock_path(path).exists()
        else:  # another writer cannot take the lock meanwhile
            with pytest.raises(AtlasLockedError, match=r"is locked by database session \d+"):
                _with_lock_in_thread(path, timeout_s=0.2)
        _add(atlas, "roads")
    expected_name = "a" if isinstance(path, Path) else backend_for(path).schema
    assert Atlas.open(path).name == expected_name
    assert Atlas.open(path).layer_names() == ["roads"]
    with pytest.raises(RuntimeError, match="changed my mind"), Atlas.edit(path) as atlas:
        _add(atlas, "never")
        raise RuntimeError("changed my mind")
    assert Atlas.open(path).layer_names() == ["roads"]
    _only_atlas_files(path)


def _with_lock_in_thread(location: str, timeout_s: float) -> None:
    """Take the write lock of ``location`` from another thread (a separate session)."""
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with backend_for(location).lock(timeout_s=timeout_s):
                pass
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def test_lock_is_reentrant_and_exclusive_across_threads(tmp_path: Path) -> None:
    target = tmp_path / "x.gpkg"
    outer = AtlasLock(target, timeout_s=0)
    with outer, AtlasLock(target, timeout_s=0):  # same thread: no wait for itself
        assert lock_holder(target) == os.getpid()
        errors: list[BaseException] = []

        def other() -> None:
            try:
                AtlasLock(target, timeout_s=0.3).acquire()
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=other)
        start = time.monotonic()
        thread.start()
        thread.join()
        assert time.monotonic() - start >= 0.3
        assert len(errors) == 1 and isinstance(errors[0], AtlasLockedError)
        assert str(errors[0]).startswith(f"atlas {target} is locked by process ")
        assert lock_path(target).exists()  # the inner release keeps the outer lock
    assert not lock_path(target).exists()


def test_lock_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOCK_TIMEOUT_ENV, raising=False)
    assert lock_timeout_s() == 300.0
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "2.5")
    assert lock_timeout_s() == 2.5 and lock_timeout_s(7) == 7.0
    monkeypatch.setenv(LOCK_TIMEOUT_ENV, "soon")
    with pytest.raises(LayerWriteError, match="'soon' is not a number of seconds"):
        lock_timeout_s()


def test_lock_in_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(LayerWriteError, match=r"cannot lock atlas .*Make the folder writable"):
            AtlasLock(folder / "a.gpkg", timeout_s=0).acquire()
    finally:
        folder.chmod(0o755)


def test_save_refuses_a_name_another_writer_took(saved: Path | str) -> None:
    first, second = Atlas.open(saved), Atlas.open(saved)
    _add(first, "same")
    _add(second, "same", TOWN, "places")
    _add(second, "other")
    first.save()
    before = saved.read_bytes() if isinstance(saved, Path) else _state(saved)
    with pytest.raises(OutputExistsError, match=r"already has a layer 'same', saved by another "
                                                r"process.*nothing was saved.*overwrite=True"):
        second.save()
    assert (saved.read_bytes() if isinstance(saved, Path) else _state(saved)) == before
    assert Atlas.open(saved).kind_of("same") == "infrastructure"
    _add(second, "same", TOWN, "places", overwrite=True)  # the user insists
    second.save()
    assert Atlas.open(saved).kind_of("same") == "places"
    assert Atlas.open(saved).layer_names() == ["base", "towns", "same", "other"]


def test_open_create(atlas_location: Path | str) -> None:
    if isinstance(atlas_location, Path):
        path: Path | str = atlas_location.parent / "sub" / "fresh.gpkg"
        name = "fresh"
    else:
        path, name = atlas_location, backend_for(atlas_location).schema
    atlas = Atlas.open(path, create=True)
    assert (atlas.name, atlas.location, len(atlas)) == (name, str(path), 0)
    assert atlas.path == (path if isinstance(path, Path) else None)
    other = Atlas.open(path, create=True)
    _add(atlas, "a")
    _add(other, "b")
    atlas.save()
    other.save()  # the file exists now: merged, not refused
    assert Atlas.open(path).layer_names() == ["a", "b"]
