"""The GeoPackage backend: a whole atlas in ONE ``.gpkg`` file (format version 1).

The embedded default store of :class:`~cami_atlas.store.Atlas`; it implements
:class:`~cami_atlas.store.base.AtlasBackend`. Any GIS opens the file.

File layout
-----------
* one feature table per vector layer, named like the layer, in the layer's own CRS;
* ``cami_atlas_layers`` (attribute table): the catalogue, one provenance record
  per layer with ``name, kind, storage, geometry_type, n_features, crs, source,
  licence, attribution, date, processing``;
* ``cami_atlas_atlas`` (attribute table, one row): ``name, region_wkt,
  analysis_crs, format_version, cami_atlas_version``;
* ``cami_atlas_rasters``: base rasters, one row per raster layer with the
  complete GeoTIFF file (deflate-compressed, :mod:`cami_atlas.store.rasters`) as
  a BLOB, registered in ``gpkg_contents`` as an attribute table. Why not
  GeoPackage tiled rasters: GDAL's GPKG raster path (``RASTER_TABLE`` /
  ``APPEND_SUBDATASET``, 2-D gridded coverage extension) was tried and is exact
  for an int16 raster without nodata, but not in general: an int16 nodata value
  of -32768 came back as 32768 and unmasked, a float32 raster of odd width came
  back with a wrong last column, and Byte rasters come back as 4-band RGBA tiles.
  A GeoTIFF in a BLOB is bit-exact for every data type, nodata, ``NaN`` and
  ``inf``, and keeps the atlas one file, so a commit stays atomic. (``storage``
  is ``"geotiff_blob"`` for these rows, ``"vector"`` otherwise.)
* ``cami_atlas_versions`` (attribute table): one row per layer version with
  ``layer, version, published_by, published_at, data_table`` and the provenance
  record of that version. The current (latest) version of a layer is in the table
  named like the layer, as above, so any GIS sees the current atlas; an older
  version ``n`` of layer ``name`` is the feature table (or raster row)
  ``cami_atlas_v<n>_<name>``. A file without this table (written before versions
  existed) holds version 1 of each layer; its next commit adds the table.

Writing, locking, recovery
--------------------------
:meth:`GeoPackageBackend.commit` writes a complete new file beside the atlas,
``.<name>.<pid>-<random>.part.gpkg``, flushes it to disk and moves it into place
with ``os.replace``: readers see the old file or the new one, never a mixture,
and a failed or killed commit leaves the previous atlas as it was. Only the
holder of the lock file ``<name>.lock`` (:mod:`cami_atlas.store.lock`) commits.
:meth:`GeoPackageBackend.recover` (under the lock) deletes temporary files whose
writing process no longer runs, with their SQLite journals, and lets SQLite roll
back a hot journal of the atlas itself (left by another program that was
editing the file in place when it died).

:meth:`GeoPackageBackend.check` recognises a damaged file: not an SQLite file,
shorter than its header says (truncated), missing the GeoPackage tables, or
failing ``PRAGMA integrity_check`` (``full=True``).

Examples
--------
>>> from cami_atlas.store import Atlas, default_atlas_path
>>> backend = GeoPackageBackend(default_atlas_path())
>>> backend.check(full=True)
>>> backend.read_info().analysis_crs
'ESRI:102025'
>>> [r["name"] for r in backend.read_catalog()][:2]
['countries', 'borders']
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from .. import __version__
from ..errors import CamiAtlasError, LayerReadError, LayerWriteError
from .base import META_COLUMNS, VERSION_COLUMNS, AtlasBackend, AtlasInfo, LayerData, utc_now
from .lock import AtlasLock, lock_path, pid_running

__all__ = ["ATLAS_TABLE", "FORMAT_VERSION", "LAYERS_TABLE", "RASTERS_TABLE",
           "VERSIONS_TABLE", "GeoPackageBackend"]

#: Version of the file layout written by :meth:`GeoPackageBackend.commit`.
FORMAT_VERSION = 1
#: Name of the per-layer metadata table (the catalogue).
LAYERS_TABLE = "cami_atlas_layers"
#: Name of the one-row atlas table.
ATLAS_TABLE = "cami_atlas_atlas"
#: Name of the table that holds base rasters as GeoTIFF BLOBs.
RASTERS_TABLE = "cami_atlas_rasters"
#: Name of the table of layer versions (who published each version, when, its provenance).
VERSIONS_TABLE = "cami_atlas_versions"

_SQLITE_HEADER = b"SQLite format 3\x00"
_PART_SUFFIX = ".part.gpkg"
_STALE_UNNAMED_S = 3600.0  # temporary files without a pid: stale after an hour
_HOW_TO_FIX = ("Restore it from a backup, or rebuild it: re-import its layers with "
               "`cami-atlas layers import` (the default atlas: scripts/build_default_atlas.py).")


def _sqlite_ro(path: Path) -> contextlib.closing[sqlite3.Connection]:
    uri = path.resolve().as_uri() + "?mode=ro"
    return contextlib.closing(sqlite3.connect(uri, uri=True))


# -- writers (module functions so tests can interrupt them) ---------------------------------
def _write_vector(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write one vector layer into the GeoPackage at ``path`` (created if absent)."""
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=False)


def _write_table(df: pd.DataFrame, path: Path, layer: str) -> None:
    """Write one attribute table (no geometry) into the GeoPackage at ``path``."""
    pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG")


def _write_rasters(rasters: dict[str, bytes], path: Path) -> None:
    """Store GeoTIFF bytes in the ``cami_atlas_rasters`` table of the GeoPackage."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute(f"CREATE TABLE {RASTERS_TABLE} (fid INTEGER PRIMARY KEY AUTOINCREMENT "
                    "NOT NULL, name TEXT NOT NULL UNIQUE, geotiff BLOB NOT NULL)")
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                    "last_change) VALUES (?, 'attributes', ?, ?, ?)",
                    (RASTERS_TABLE, RASTERS_TABLE,
                     "cami_atlas base rasters: one GeoTIFF file per row", now))
        con.executemany(f"INSERT INTO {RASTERS_TABLE} (name, geotiff) VALUES (?, ?)",
                        list(rasters.items()))


def _fsync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk where the platform allows it."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _archive_table(name: str, version: int) -> str:
    """Where an older version of a layer is kept: ``cami_atlas_v<version>_<name>``."""
    return f"cami_atlas_v{int(version)}_{name}"


def _no_version(location: str, name: str, version: int, have: list[int]) -> LayerReadError:
    listed = ", ".join(str(v) for v in have) or "none"
    return LayerReadError(f"atlas {location} has no version {version} of layer {name!r}; its "
                          f"versions are: {listed}. List them with Atlas.layer_versions({name!r}).")


def _remove_with_journals(path: Path) -> None:
    for extra in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(str(path) + extra).unlink()


class GeoPackageBackend(AtlasBackend):
    """An atlas stored as one GeoPackage file at ``path``.

    Parameters
    ----------
    path : path
        The ``.gpkg`` file (it need not exist before the first commit).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> GeoPackageBackend(pathlib.Path(tempfile.mkdtemp()) / "new.gpkg").exists()
    False
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.location = str(self.path)

    def __repr__(self) -> str:
        return f"GeoPackageBackend({self.location!r})"

    # -- state of the file -----------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the file exists."""
        return self.path.is_file()

    def _damaged(self, what: str) -> LayerReadError:
        return LayerReadError(f"atlas {self.path} is damaged, not a readable GeoPackage: {what}. "
                              f"{_HOW_TO_FIX}")

    def check(self, *, full: bool = False) -> None:
        """Raise :class:`~cami_atlas.errors.LayerReadError` if the file is damaged.

        Always: the SQLite header, the size the header announces (a truncated
        copy is shorter), and the GeoPackage tables. With ``full``, also SQLite's
        ``PRAGMA integrity_check``, which reads every page (about 0.1 s for the
        9 MB default atlas).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> junk = pathlib.Path(tempfile.mkdtemp()) / "junk.gpkg"
        >>> _ = junk.write_bytes(b"not a database at all")
        >>> try:
        ...     GeoPackageBackend(junk).check()
        ... except LayerReadError as exc:
        ...     print(str(exc).split(": ")[1].split(" (")[0])
        it is not an SQLite file
        """
        try:
            size = self.path.stat().st_size
            with self.path.open("rb") as fh:
                head = fh.read(100)
        except FileNotFoundError:
            raise LayerReadError(f"atlas file {self.path} does not exist.") from None
        except OSError as exc:
            raise LayerReadError(f"atlas file {self.path} cannot be read ({exc.strerror}).") \
                from None
        if size == 0:
            raise self._damaged("the file is empty (0 bytes)")
        if not head.startswith(_SQLITE_HEADER):
            raise self._damaged("it is not an SQLite file (it does not start with the SQLite "
                                "header)")
        if len(head) < 100:
            raise self._damaged(f"it is truncated ({size} bytes, shorter than the SQLite header)")
        page_size = int.from_bytes(head[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        n_pages = int.from_bytes(head[28:32], "big")
        if head[24:28] == head[92:96] and n_pages and size < n_pages * page_size:
            raise self._damaged(f"it is truncated ({size:,} bytes; its header says "
                                f"{n_pages * page_size:,})")
        if page_size < 512 or size % page_size:
            raise self._damaged(f"it is truncated ({size:,} bytes, not a whole number of "
                                f"{page_size}-byte pages)")
        try:
            with _sqlite_ro(self.path) as con:
                tables = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                problems = ([str(r[0]) for r in con.execute("PRAGMA integrity_check(3)")]
                            if full else ["ok"])
        except sqlite3.DatabaseError as exc:
            journal = Path(f"{self.path}-journal")
            if journal.exists() and "readonly" in str(exc):
                raise LayerReadError(
                    f"atlas {self.path} has an unfinished transaction ({journal.name}, left by a "
                    "program that was writing it when it stopped) that SQLite must roll back, "
                    "which needs write access: make the file and its folder writable and open "
                    "it again.") from None
            raise self._damaged(f"SQLite cannot read it ({exc})") from None
        missing = [t for t in ("gpkg_contents", "gpkg_spatial_ref_sys") if t not in tables]
        if missing:
            raise self._damaged(f"it is an SQLite file without the GeoPackage table(s) "
                                f"{', '.join(missing)}")
        if problems != ["ok"]:
            raise self._damaged(f"SQLite's integrity check fails ({'; '.join(problems)})")

    # -- reading ---------------------------------------------------------------------------
    def _tables(self) -> set[str]:
        try:
            return {str(row[0]) for row in pyogrio.list_layers(self.path)}
        except Exception as exc:
            raise LayerReadError(f"{self.path} is not a readable GeoPackage ({exc}).") from None

    def read_info(self) -> AtlasInfo:
        """The one row of ``cami_atlas_atlas``; refuses files of a newer format."""
        if not {LAYERS_TABLE, ATLAS_TABLE} <= self._tables():
            raise LayerReadError(
                f"{self.path} is a GeoPackage but not a cami_atlas atlas (no tables "
                f"{LAYERS_TABLE!r} and {ATLAS_TABLE!r}). Import its layers into an atlas with "
                "`cami-atlas layers import` or Atlas.add_layer().")
        info = pyogrio.read_dataframe(self.path, layer=ATLAS_TABLE, read_geometry=False)
        if len(info) != 1:
            raise LayerReadError(f"{self.path}: table {ATLAS_TABLE!r} must have one row; "
                                 f"it has {len(info)}.")
        row = info.iloc[0]
        version = int(row["format_version"])
        if version > FORMAT_VERSION:
            raise LayerReadError(
                f"{self.path} was written in atlas format version {version} by cami_atlas "
                f"{row['cami_atlas_version']}; this cami_atlas ({__version__}) reads up to "
                f"version {FORMAT_VERSION}. Upgrade cami-atlas.")
        return AtlasInfo(str(row["name"]), str(row["region_wkt"]), str(row["analysis_crs"]),
                         version, str(row["cami_atlas_version"]))

    def read_catalog(self) -> list[dict[str, Any]]:
        """The rows of ``cami_atlas_layers`` as provenance records (missing texts: ``""``)."""
        meta = pyogrio.read_dataframe(self.path, layer=LAYERS_TABLE, read_geometry=False)
        records = []
        for rec in meta.to_dict("records"):
            clean = {k: (None if (not isinstance(v, str) and pd.isna(v)) else v)
                     for k, v in rec.items() if k in META_COLUMNS}
            clean["n_features"] = (int(clean["n_features"])
                                   if clean.get("n_features") is not None else None)
            for key in ("attribution", "processing", "date"):
                clean[key] = clean.get(key) or ""
            records.append(clean)
        return records

    def _history(self) -> dict[str, list[dict[str, Any]]]:
        """Stored versions by layer (catalogue order), each with its ``data_table``."""
        catalog = self.read_catalog()
        if VERSIONS_TABLE in self._tables():
            table = pyogrio.read_dataframe(self.path, layer=VERSIONS_TABLE, read_geometry=False)
            rows = [{k: (None if (not isinstance(v, str) and pd.isna(v)) else v)
                     for k, v in rec.items()} for rec in table.to_dict("records")]
        else:  # written before versions existed: each layer is its version 1
            rows = [dict(rec, layer=rec["name"], version=1, published_by="", published_at="",
                         data_table=rec["name"]) for rec in catalog]
        history: dict[str, list[dict[str, Any]]] = {rec["name"]: [] for rec in catalog}
        for row in rows:
            if row["layer"] in history:
                row["version"] = int(row["version"])
                row["n_features"] = (int(row["n_features"]) if row.get("n_features") is not None
                                     else None)
                for key in ("published_by", "published_at", "attribution", "processing", "date"):
                    row[key] = row.get(key) or ""
                history[row["layer"]].append(row)
        for versions in history.values():
            versions.sort(key=lambda r: r["version"])
        return history

    def list_versions(self, name: str | None = None) -> list[dict[str, Any]]:
        """Rows of ``cami_atlas_versions`` (keys :data:`~cami_atlas.store.base.VERSION_COLUMNS`).

        Examples
        --------
        >>> from cami_atlas.store import default_atlas_path
        >>> GeoPackageBackend(default_atlas_path()).list_versions("railways")[0]["version"]
        1
        """
        out = []
        for layer, versions in self._history().items():
            if name is not None and layer != name:
                continue
            for row in versions:
                rec = {k: row.get(k) for k in VERSION_COLUMNS if k not in ("layer", "current")}
                out.append(dict(rec, layer=layer, current=row is versions[-1]))
        return [{k: r[k] for k in VERSION_COLUMNS} for r in out]

    def _data_table(self, name: str, version: int | None) -> str:
        if version is None:
            return name
        versions = self._history().get(name, [])
        for row in versions:
            if row["version"] == int(version):
                return str(row["data_table"])
        raise _no_version(self.location, name, int(version), [r["version"] for r in versions])

    def read_vector(self, name: str, version: int | None = None) -> gpd.GeoDataFrame:
        """The feature table of layer ``name`` (current, or version ``version``) as stored."""
        table = self._data_table(name, version)
        try:
            return pyogrio.read_dataframe(self.path, layer=table, use_arrow=True)
        except Exception as exc:
            raise LayerReadError(
                f"could not read layer {name!r} from atlas {self.path}: {exc}") from None

    def read_raster(self, name: str, version: int | None = None) -> bytes:
        """The GeoTIFF bytes of raster ``name`` (current or ``version``) in the raster table."""
        key = self._data_table(name, version)
        try:
            with _sqlite_ro(self.path) as con:
                row = con.execute(f"SELECT geotiff FROM {RASTERS_TABLE} WHERE name = ?",
                                  (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            if "no such table" not in str(exc):
                raise LayerReadError(f"could not read raster {name!r} from atlas {self.path}: "
                                     f"{exc}") from None
            row = None  # an atlas without rasters has no raster table
        if row is None:
            raise LayerReadError(
                f"atlas {self.path} lists raster {name!r} but {RASTERS_TABLE!r} has no data for "
                "it; the file is damaged. Rebuild the atlas or re-import the raster.")
        return bytes(row[0])

    # -- writing ---------------------------------------------------------------------------
    def lock(self, *, timeout_s: float | None = None) -> AtlasLock:
        """The lock file ``<file>.lock`` beside the atlas (:class:`AtlasLock`).

        The folder is created if it does not exist yet (a first save creates it).
        """
        with contextlib.suppress(OSError):  # if it cannot be created, the lock says why
            self.path.parent.mkdir(parents=True, exist_ok=True)
        return AtlasLock(self.path, timeout_s=timeout_s)

    def commit(self, info: AtlasInfo, catalog: list[dict[str, Any]],
               changed: Mapping[str, LayerData], *, timeout_s: float | None = None) -> None:
        """Write a complete new file with ``catalog`` and move it into place.

        Unchanged layers are copied from the current file. Raises
        :class:`~cami_atlas.errors.LayerWriteError` (the previous file unchanged)
        on any failure.
        """
        with self.lock(timeout_s=timeout_s):
            self.recover()
            try:
                with self._temporary() as tmp:
                    self._write_all(tmp, info, catalog, changed)
            except CamiAtlasError:
                raise
            except Exception as exc:
                raise LayerWriteError(
                    f"could not write atlas {self.path} ({type(exc).__name__}: {exc}); the "
                    "previous file, if any, is unchanged.") from exc

    @contextlib.contextmanager
    def _temporary(self) -> Iterator[Path]:
        """A temporary path beside the atlas that replaces it if the block succeeds."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(
            f".{self.path.name}.{os.getpid()}-{secrets.token_hex(4)}{_PART_SUFFIX}")
        try:
            yield tmp
            if not tmp.exists():
                raise LayerWriteError(f"nothing was written for {self.path}")
            _fsync(tmp)
            os.replace(tmp, self.path)
            _fsync(self.path.parent)
        finally:
            _remove_with_journals(tmp)  # after os.replace only journals can be left

    def _old_history(self) -> dict[str, list[dict[str, Any]]]:
        """The versions in the file being replaced (none if it is not an atlas)."""
        if not self.path.is_file():
            return {}
        try:
            self.check()
            self.read_info()
        except LayerReadError:  # replacing a file that is not an atlas: no history to keep
            return {}
        return self._history()

    def _write_all(self, tmp: Path, info: AtlasInfo, catalog: list[dict[str, Any]],
                   changed: Mapping[str, LayerData]) -> None:
        record = pd.DataFrame([dict(
            name=info.name, region_wkt=info.region_wkt, analysis_crs=info.analysis_crs,
            format_version=FORMAT_VERSION, cami_atlas_version=info.cami_atlas_version)])
        _write_table(record, tmp, ATLAS_TABLE)
        history = self._old_history()
        now = utc_now()
        rasters: dict[str, bytes] = {}
        version_rows: list[dict[str, Any]] = []
        for rec in catalog:
            name = rec["name"]
            new = changed.get(name)
            versions = [dict(v) for v in history.get(name, [])]
            if new is None and not versions:  # a layer of an older file, unknown to history
                versions = [dict(rec, layer=name, version=1, published_by="", published_at="",
                                 data_table=name)]
            if new is not None:
                last = versions[-1]["version"] if versions else 0
                versions.append(dict(
                    {c: rec.get(c) for c in META_COLUMNS}, layer=name, version=last + 1,
                    published_by=new.published_by or "", published_at=new.published_at or now,
                    data_table=None))
            for i, ver in enumerate(versions):
                target = name if i == len(versions) - 1 else _archive_table(name, ver["version"])
                source = ver["data_table"]
                if ver.get("storage") == "geotiff_blob":
                    blob = new.geotiff if (source is None and new is not None) else None
                    rasters[target] = blob if blob is not None else \
                        self.read_raster(name, ver["version"] if source != name else None)
                else:
                    gdf = new.vector if (source is None and new is not None) else None
                    if gdf is None:
                        gdf = self.read_vector(name, ver["version"] if source != name else None)
                    _write_vector(gdf, tmp, target)
                version_rows.append(dict({c: ver.get(c) for c in VERSION_COLUMNS
                                          if c != "current"}, data_table=target))
        meta = pd.DataFrame([{c: rec.get(c) for c in META_COLUMNS} for rec in catalog],
                            columns=list(META_COLUMNS))
        meta["n_features"] = meta["n_features"].astype("int64")
        _write_table(meta, tmp, LAYERS_TABLE)
        columns = [c for c in VERSION_COLUMNS if c != "current"] + ["data_table"]
        versions_table = pd.DataFrame(version_rows, columns=columns)
        for col in ("version", "n_features"):
            versions_table[col] = versions_table[col].astype("int64")
        _write_table(versions_table, tmp, VERSIONS_TABLE)
        if rasters:
            _write_rasters(rasters, tmp)

    # -- recovery --------------------------------------------------------------------------
    def _parts(self) -> list[Path]:
        prefix = f".{self.path.name}."
        try:
            names = os.listdir(self.path.parent)
        except OSError:
            return []
        return [self.path.parent / n for n in names
                if n.startswith(prefix) and _PART_SUFFIX in n[len(prefix):]]

    def leftovers(self) -> bool:
        """Whether killed writers may have left something here (cheap: one folder listing).

        Examples
        --------
        >>> from cami_atlas.store import default_atlas_path
        >>> GeoPackageBackend(default_atlas_path()).leftovers()
        False
        """
        return bool(self._parts()) or lock_path(self.path).exists() or any(
            Path(str(self.path) + s).exists() for s in ("-journal", "-wal"))

    def recover(self) -> list[str]:
        """Remove temporary files of dead writers; let SQLite roll back a hot journal.

        Call with the lock held. Returns the names of the files removed or recovered.
        """
        done: list[str] = []
        pattern = re.compile(rf"^\.{re.escape(self.path.name)}\.(\d+)-[0-9a-f]+"
                             rf"{re.escape(_PART_SUFFIX)}(-journal|-wal|-shm)?$")
        for part in self._parts():
            match = pattern.match(part.name)
            try:
                if match:
                    stale = int(match[1]) == os.getpid() or not pid_running(int(match[1]))
                else:  # written by another tool or an older cami_atlas: trust only its age
                    stale = time.time() - part.stat().st_mtime > _STALE_UNNAMED_S
                if stale:
                    part.unlink()
                    done.append(part.name)
            except FileNotFoundError:
                continue
        journals = [s for s in ("-journal", "-wal") if Path(str(self.path) + s).exists()]
        if journals and self.path.is_file():
            # a read-write connection rolls a hot journal back (or checkpoints a WAL)
            with contextlib.suppress(sqlite3.Error), \
                    contextlib.closing(sqlite3.connect(self.path)) as con:
                con.execute("SELECT count(*) FROM sqlite_master").fetchone()
                done += [self.path.name + s for s in journals]
        return done
