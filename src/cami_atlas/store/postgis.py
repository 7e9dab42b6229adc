"""The PostGIS backend: an atlas in one schema of a PostgreSQL database with PostGIS.

For an atlas that several people write and a web application serves: the address
``postgresql://user[:password]@host[:port]/database?schema=NAME`` (default schema
``cami_atlas``; any other query parameter is passed to libpq, e.g. ``sslmode``)
selects it in :func:`cami_atlas.store.backend_for`. It implements
:class:`~cami_atlas.store.base.AtlasBackend` with the same behaviour as the
GeoPackage file; it needs ``psycopg`` (``pip install 'cami-atlas[web]'``) and a
database where the ``postgis`` extension is installed.

Tables of the schema
--------------------
``cami_atlas_atlas``
    One row: ``name, region_wkt, analysis_crs, format_version, cami_atlas_version``.
``cami_atlas_versions``
    One row per version of a layer: ``id``, ``layer``, ``version`` (1, 2, ... per
    layer), ``published_by``, ``published_at`` (timestamptz), the provenance
    record of that version (``kind, storage, geometry_type, n_features, crs,
    source, licence, attribution, date, processing``), and its data: the name of
    its feature table (``data_table``) and column types, or the GeoTIFF bytes of a
    raster (``geotiff bytea``, lossless, :mod:`cami_atlas.store.rasters`).
``cami_atlas_layers``
    The catalogue: ``position, name, version`` (the current version, the latest
    published).
``cami_atlas_data_<id>``
    The features of one vector version: ``cami_fid`` (row order), the attribute
    columns under their own names, ``cami_geom`` (PostGIS ``geometry`` with the
    SRID of the layer's EPSG code, or 0; GiST-indexed). Geometries travel as WKB
    (``ST_GeomFromWKB`` / ``ST_AsBinary``).
``<layer>``
    A view of the current version of each vector layer, so QGIS or ``ogr2ogr``
    see the atlas as it is.

Transactions and the lock
-------------------------
:meth:`PostGISBackend.lock` opens a connection, starts a transaction and takes
``pg_advisory_xact_lock`` on the schema: writers of one atlas queue on it (at most
the lock timeout, then :class:`~cami_atlas.errors.AtlasLockedError` names the
session that holds it). A commit is one transaction: all of it lands or none; a
killed writer's transaction is rolled back by the server, so :meth:`recover` has
nothing to clean. Readers take a snapshot (``REPEATABLE READ``) and are never
blocked. All SQL is built from :class:`psycopg.sql.Identifier` and parameters.

Examples
--------
>>> backend = PostGISBackend("postgresql://atlas:secret@db.example.org/cami?schema=team")
>>> backend.location, backend.schema
('postgresql://atlas:***@db.example.org/cami?schema=team', 'team')
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import re
import threading
import zlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .. import __version__
from ..errors import AtlasLockedError, CamiAtlasError, LayerReadError, LayerWriteError
from .base import META_COLUMNS, VERSION_COLUMNS, AtlasBackend, AtlasInfo, LayerData, utc_now
from .lock import lock_timeout_s

__all__ = ["DEFAULT_SCHEMA", "FORMAT_VERSION", "PostGISBackend", "is_database_url"]

#: Schema used when the address names none.
DEFAULT_SCHEMA = "cami_atlas"
#: Version of the table layout written by :meth:`PostGISBackend.commit`.
FORMAT_VERSION = 1

_SCHEMES = ("postgresql", "postgres")
_SCHEMA_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_LOCK_CLASS = 0x43414D49  # "CAMI": first key of the advisory lock, the schema's crc32 second
_ATLAS, _LAYERS, _VERSIONS = "cami_atlas_atlas", "cami_atlas_layers", "cami_atlas_versions"
_FID, _GEOM = "cami_fid", "cami_geom"
_HOW_TO_CREATE = "create one with `cami-atlas atlas push SOURCE.gpkg {location}`"

_held = threading.local()  # per thread: {lock key: [connection, depth]}


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg.sql
        import psycopg.types.json
    except ImportError:
        raise ImportError("the PostGIS atlas store needs psycopg: pip install "
                          "'cami-atlas[web]' (or pip install 'psycopg[binary]')") from None
    return psycopg


def is_database_url(location: Any) -> bool:
    """Whether ``location`` is a ``postgresql://`` (or ``postgres://``) address.

    Examples
    --------
    >>> is_database_url("postgresql://localhost/cami"), is_database_url("atlas.gpkg")
    (True, False)
    """
    return isinstance(location, str) and location.split("://", 1)[0].lower() in _SCHEMES \
        and "://" in location


def _parse(url: str) -> tuple[str, str, str]:
    """(libpq address without ``schema``, schema, the address with the password hidden)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [v for k, v in query if k == "schema"]
    schema = schemas[-1] if schemas else DEFAULT_SCHEMA
    if not _SCHEMA_PATTERN.match(schema):
        raise LayerReadError(
            f"schema={schema!r} in the atlas address is not valid: use 1-63 lower-case letters, "
            "digits and underscores, starting with a letter or underscore (e.g. ?schema=cami).")
    rest = [(k, v) for k, v in query if k != "schema"]
    conninfo = urlunsplit(parts._replace(query=urlencode(rest)))
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    shown = urlunsplit(parts._replace(netloc=netloc))
    return conninfo, schema, shown


def _srid(crs_text: str) -> int:
    match = re.fullmatch(r"EPSG:(\d+)", crs_text or "")
    return int(match[1]) if match else 0


def _column_type(values: pd.Series) -> str:
    """The SQL type for a column of a GeoDataFrame (the type it comes back as)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamptz" if getattr(dtype, "tz", None) is not None else "timestamp"
    present = values.dropna()
    if len(present):
        if present.map(lambda v: isinstance(v, bool | np.bool_)).all():
            return "boolean"
        if present.map(lambda v: isinstance(v, int | np.integer)
                       and not isinstance(v, bool | np.bool_)).all():
            return "bigint"
        if present.map(lambda v: isinstance(v, _dt.datetime)).all():
            return "timestamp"
        if present.map(lambda v: isinstance(v, _dt.date)).all():
            return "date"
    return "text"


def _to_sql_value(value: Any, sql_type: str) -> Any:
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return None
    if sql_type == "boolean":
        return bool(value)
    if sql_type == "bigint":
        return int(value)
    if sql_type == "double precision":
        return float(value)
    if sql_type == "text":
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _from_sql(values: list[Any], sql_type: str) -> pd.Series:
    """A column as the GeoPackage reader returns it (nullable ints as float, like pyogrio)."""
    if sql_type == "bigint":
        if any(v is None for v in values):
            return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        return pd.Series(values, dtype="int64")
    if sql_type == "double precision":
        return pd.Series([np.nan if v is None else v for v in values], dtype="float64")
    if sql_type == "boolean" and not any(v is None for v in values):
        return pd.Series(values, dtype="bool")
    if sql_type in ("timestamp", "timestamptz"):
        return pd.Series(pd.to_datetime(values))
    if sql_type == "text":
        return pd.Series(values) if values else pd.Series([], dtype="object")
    return pd.Series(values, dtype="object")


class PostGISBackend(AtlasBackend):
    """An atlas stored in schema ``schema`` of a PostgreSQL/PostGIS database.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host[:port]/database[?schema=NAME&...]``.

    Attributes
    ----------
    location : str
        The address with the password hidden (what messages show).
    schema : str
        The schema that holds the atlas.

    Examples
    --------
    >>> PostGISBackend("postgresql://localhost/cami").schema
    'cami_atlas'
    """

    def __init__(self, url: str) -> None:
        self._conninfo, self.schema, self.location = _parse(url)
        self._key = (self._conninfo, self.schema)

    def __repr__(self) -> str:
        return f"PostGISBackend({self.location!r})"

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> Any:
        psycopg = _psycopg()
        try:
            return psycopg.connect(self._conninfo, connect_timeout=15)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LayerReadError(
                f"cannot connect to the atlas database {self.location} ({first}). Check the "
                "address, that the server runs and that this user may connect.") from None

    def _ident(self, table: str) -> Any:
        return _psycopg().sql.Identifier(self.schema, table)

    def _held(self) -> list[Any] | None:
        return getattr(_held, "locks", {}).get(self._key)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Any]:
        """A connection with a consistent snapshot: the lock's own, or a new read-only one."""
        held = self._held()
        if held is not None:
            yield held[0]
            return
        psycopg = _psycopg()
        conn = self._connect()
        try:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction():
                yield conn
        except psycopg.Error as exc:
            raise LayerReadError(f"could not read atlas {self.location}: "
                                 f"{str(exc).strip().splitlines()[0]}") from None
        finally:
            conn.close()

    def _has_tables(self, conn: Any) -> bool:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = ANY(%s)", [self.schema, [_ATLAS, _LAYERS, _VERSIONS]]).fetchone()
        return int(row[0]) == 3

    # -- state -------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the schema holds an atlas (its three tables)."""
        with self._reading() as conn:
            return self._has_tables(conn)

    def check(self, *, full: bool = False) -> None:
        """Raise :class:`~cami_atlas.errors.LayerReadError` if the atlas is absent or damaged.

        Always: the connection, PostGIS, the atlas tables. With ``full``, also that
        every version's data is there (its feature table with ``n_features`` rows,
        or its GeoTIFF bytes).
        """
        psycopg = _psycopg()
        with self._reading() as conn:
            try:
                conn.execute("SELECT postgis_version()")
            except psycopg.errors.UndefinedFunction:
                raise LayerReadError(
                    f"database {self.location} has no PostGIS: run CREATE EXTENSION postgis in "
                    "it (as a user allowed to), then try again.") from None
            if not self._has_tables(conn):
                raise LayerReadError(
                    f"there is no atlas at {self.location} (schema {self.schema!r} has no "
                    f"tables {_ATLAS}, {_LAYERS}, {_VERSIONS}); "
                    + _HOW_TO_CREATE.format(location=self.location) + ".")
            if not full:
                return
            sql = psycopg.sql
            rows = conn.execute(sql.SQL(
                "SELECT layer, version, storage, n_features, data_table, geotiff IS NOT NULL "
                "FROM {} ORDER BY layer, version").format(self._ident(_VERSIONS))).fetchall()
            tables = {r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [self.schema])}
            for layer, version, storage, n_features, table, has_blob in rows:
                where = f"version {version} of layer {layer!r}"
                if storage == "geotiff_blob":
                    if not has_blob:
                        raise LayerReadError(f"atlas {self.location} is damaged: {where} has no "
                                             "GeoTIFF data. Re-import the layer.")
                    continue
                if table not in tables:
                    raise LayerReadError(f"atlas {self.location} is damaged: the table {table} "
                                         f"of {where} is missing. Re-import the layer.")
                count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
                    self._ident(table))).fetchone()[0]
                if int(count) != int(n_features):
                    raise LayerReadError(
                        f"atlas {self.location} is damaged: {where} has {count} features, its "
                        f"record says {n_features}. Re-import the layer.")

    def leftovers(self) -> bool:
        """Always false: the server rolls back the transactions of killed writers itself."""
        return False

    def recover(self) -> list[str]:
        """Nothing to do (a killed writer's transaction never lands); returns ``[]``."""
        return []

    # -- reading -----------------------------------------------------------------------
    def read_info(self) -> AtlasInfo:
        """The one row of ``cami_atlas_atlas``; refuses a newer table layout."""
        sql = _psycopg().sql
        with self._reading() as conn:
            if not self._has_tables(conn):
                raise LayerReadError(
                    f"there is no atlas at {self.location}; "
                    + _HOW_TO_CREATE.format(location=self.location) + ".")
            rows = conn.execute(sql.SQL(
                "SELECT name, region_wkt, analysis_crs, format_version, cami_atlas_version "
                "FROM {}").format(self._ident(_ATLAS))).fetchall()
        if len(rows) != 1:
            raise LayerReadError(f"{self.location}: table {_ATLAS!r} must have one row; it has "
                                 f"{len(rows)}.")
        name, region, crs, version, writer = rows[0]
        if int(version) > FORMAT_VERSION:
            raise LayerReadError(
                f"{self.location} was written in atlas format version {version} by cami_atlas "
                f"{writer}; this cami_atlas ({__version__}) reads up to version "
                f"{FORMAT_VERSION}. Upgrade cami-atlas.")
        return AtlasInfo(name, region, crs, int(version), writer)

    def read_catalog(self) -> list[dict[str, Any]]:
        """The provenance record of each layer's current version, in catalogue order."""
        sql = _psycopg().sql
        cols = sql.SQL(", ").join(sql.Identifier("v", c) for c in META_COLUMNS[1:])
        query = sql.SQL("SELECT l.name, {} FROM {} l JOIN {} v ON v.layer = l.name AND "
                        "v.version = l.version ORDER BY l.position").format(
            cols, self._ident(_LAYERS), self._ident(_VERSIONS))
        with self._reading() as conn:
            rows = conn.execute(query).fetchall()
        return [dict(zip(META_COLUMNS, row, strict=True)) for row in rows]

    def list_versions(self, name: str | None = None) -> list[dict[str, Any]]:
        """One record per version (:data:`~cami_atlas.store.base.VERSION_COLUMNS`)."""
        sql = _psycopg().sql
        cols = sql.SQL(", ").join(sql.Identifier("v", c) for c in META_COLUMNS[1:])
        query = sql.SQL(
            "SELECT v.layer, v.version, v.published_by, v.published_at, v.version = l.version, "
            "{} FROM {} v JOIN {} l ON l.name = v.layer WHERE %(name)s::text IS NULL OR "
            "v.layer = %(name)s ORDER BY l.position, v.version").format(
            cols, self._ident(_VERSIONS), self._ident(_LAYERS))
        with self._reading() as conn:
            rows = conn.execute(query, {"name": name}).fetchall()
        out = []
        for row in rows:
            rec = dict(zip(VERSION_COLUMNS, row, strict=True))
            rec["published_at"] = rec["published_at"].astimezone(_dt.UTC).strftime(
                "%Y-%m-%dT%H:%M:%S.%fZ")
            out.append(rec)
        return out

    def _version_row(self, conn: Any, name: str, version: int | None,
                     columns: str) -> tuple[Any, ...]:
        sql = _psycopg().sql
        if version is None:
            query = sql.SQL("SELECT {} FROM {} v JOIN {} l ON l.name = v.layer AND "
                            "l.version = v.version WHERE v.layer = %s").format(
                sql.SQL(columns), self._ident(_VERSIONS), self._ident(_LAYERS))
            row = conn.execute(query, [name]).fetchone()
        else:
            query = sql.SQL("SELECT {} FROM {} v JOIN {} l ON l.name = v.layer "
                            "WHERE v.layer = %s AND v.version = %s").format(
                sql.SQL(columns), self._ident(_VERSIONS), self._ident(_LAYERS))
            row = conn.execute(query, [name, int(version)]).fetchone()
        if row is not None:
            return tuple(row)
        have = [r[0] for r in conn.execute(sql.SQL(
            "SELECT v.version FROM {} v JOIN {} l ON l.name = v.layer WHERE v.layer = %s "
            "ORDER BY v.version").format(self._ident(_VERSIONS), self._ident(_LAYERS)), [name])]
        if not have:
            raise LayerReadError(f"atlas {self.location} has no layer {name!r}.")
        raise LayerReadError(
            f"atlas {self.location} has no version {version} of layer {name!r}; its versions "
            f"are: {', '.join(map(str, have))}. List them with Atlas.layer_versions({name!r}).")

    def read_vector(self, name: str, version: int | None = None) -> gpd.GeoDataFrame:
        """The features of layer ``name`` (current or ``version``), in stored order."""
        sql = _psycopg().sql
        with self._reading() as conn:
            table, columns, crs, storage = self._version_row(
                conn, name, version, "v.data_table, v.columns, v.crs, v.storage")
            if storage != "vector" or table is None:
                raise LayerReadError(f"layer {name!r} of atlas {self.location} is a raster; "
                                     "read it with read_raster.")
            names = [c for c, _ in columns]
            query = sql.SQL("SELECT {}, ST_AsBinary({}) FROM {} ORDER BY {}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in names) if names else sql.SQL("1"),
                sql.Identifier(_GEOM), self._ident(table), sql.Identifier(_FID))
            cur = conn.cursor(binary=True)
            rows = cur.execute(query).fetchall()
        data = {c: _from_sql([r[i] for r in rows], t) for i, (c, t) in enumerate(columns)}
        wkb = np.array([None if r[-1] is None else bytes(r[-1]) for r in rows], dtype=object)
        geometry = shapely.from_wkb(wkb)
        return gpd.GeoDataFrame(pd.DataFrame(data, index=pd.RangeIndex(len(rows))),
                                geometry=gpd.GeoSeries(geometry, crs=CRS.from_user_input(crs)
                                                       if crs else None))

    def read_raster(self, name: str, version: int | None = None) -> bytes:
        """The GeoTIFF bytes of raster ``name`` (current or ``version``)."""
        with self._reading() as conn:
            (blob,) = self._version_row(conn, name, version, "v.geotiff")
        if blob is None:
            raise LayerReadError(f"atlas {self.location} lists raster {name!r} but has no data "
                                 "for it (no GeoTIFF); re-import the raster.")
        return bytes(blob)

    # -- writing -----------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, *, timeout_s: float | None = None) -> Iterator[Any]:
        """A transaction holding ``pg_advisory_xact_lock`` for this schema (re-entrant).

        Yields the connection. The transaction commits when the outermost block
        ends, and rolls back if it raises. Waits at most ``timeout_s`` (default
        ``$CAMI_ATLAS_LOCK_TIMEOUT_S`` or 300 s) for another writer.
        """
        held = self._held()
        if held is not None:
            held[1] += 1
            try:
                yield held[0]
            finally:
                held[1] -= 1
            return
        psycopg = _psycopg()
        timeout_ms = max(1, int(lock_timeout_s(timeout_s) * 1000))
        key2 = zlib.crc32(self.schema.encode()) & 0x7FFFFFFF
        conn = self._connect()
        try:
            try:
                with conn.transaction():
                    conn.execute("SELECT set_config('lock_timeout', %s, true)",
                                 [f"{timeout_ms}ms"])
                    conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, key2])
                    conn.execute("SELECT set_config('lock_timeout', '0', true)")
                    locks = _held.__dict__.setdefault("locks", {})
                    locks[self._key] = [conn, 1]
                    try:
                        yield conn
                    finally:
                        del locks[self._key]
            except psycopg.errors.LockNotAvailable:
                raise self._locked(conn, key2, timeout_ms / 1000) from None
            except psycopg.Error as exc:
                raise LayerWriteError(
                    f"could not write atlas {self.location} ({type(exc).__name__}: "
                    f"{str(exc).strip().splitlines()[0]}); the transaction was rolled back, "
                    "nothing changed.") from None
        finally:
            conn.close()

    def _locked(self, conn: Any, key2: int, waited_s: float) -> AtlasLockedError:
        who = "another session"
        with contextlib.suppress(Exception):
            row = conn.execute(
                "SELECT l.pid, a.application_name, a.client_addr FROM pg_locks l LEFT JOIN "
                "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND "
                "l.classid = %s AND l.objid = %s AND l.objsubid = 2 AND l.granted",
                [_LOCK_CLASS, key2]).fetchone()
            if row is not None:
                who = f"database session {row[0]}" + (f" ({row[1]})" if row[1] else "") + \
                    (f" from {row[2]}" if row[2] else "")
        return AtlasLockedError(
            f"atlas {self.location} is locked by {who}, which is writing it; waited "
            f"{waited_s:g} s. Try again when it has finished, or raise the wait with "
            "$CAMI_ATLAS_LOCK_TIMEOUT_S.")

    def _create_tables(self, conn: Any) -> None:
        sql = _psycopg().sql
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
            sql.Identifier(self.schema)))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (name text NOT NULL, region_wkt text NOT NULL, "
            "analysis_crs text NOT NULL, format_version integer NOT NULL, "
            "cami_atlas_version text NOT NULL)").format(self._ident(_ATLAS)))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, layer text NOT NULL, "
            "version integer NOT NULL, published_by text NOT NULL, "
            "published_at timestamptz NOT NULL, kind text NOT NULL, storage text NOT NULL, "
            "geometry_type text, n_features bigint, crs text, source text NOT NULL, "
            "licence text NOT NULL, attribution text, date text, processing text, "
            "data_table text, columns jsonb, geotiff bytea, UNIQUE (layer, version))").format(
            self._ident(_VERSIONS)))
        conn.execute(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (position integer NOT NULL, name text PRIMARY KEY, "
            "version integer NOT NULL)").format(self._ident(_LAYERS)))

    def commit(self, info: AtlasInfo, catalog: list[dict[str, Any]],
               changed: Mapping[str, LayerData], *, timeout_s: float | None = None) -> None:
        """Make ``catalog`` the state of the atlas in one transaction (see the interface).

        Raises :class:`~cami_atlas.errors.LayerWriteError` (nothing changed) on failure.
        """
        psycopg = _psycopg()
        with self.lock(timeout_s=timeout_s) as conn:
            try:
                with conn.transaction():  # a savepoint when the lock is held by the caller
                    self._commit(conn, info, catalog, changed)
            except CamiAtlasError:
                raise
            except Exception as exc:
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise LayerWriteError(
                    f"could not write atlas {self.location} ({type(exc).__name__}: {text}); "
                    "nothing was changed.") from (None if isinstance(exc, psycopg.Error) else exc)

    def _commit(self, conn: Any, info: AtlasInfo, catalog: list[dict[str, Any]],
                changed: Mapping[str, LayerData]) -> None:
        sql = _psycopg().sql
        self._create_tables(conn)
        conn.execute(sql.SQL("DELETE FROM {}").format(self._ident(_ATLAS)))
        conn.execute(sql.SQL(
            "INSERT INTO {} (name, region_wkt, analysis_crs, format_version, cami_atlas_version) "
            "VALUES (%s, %s, %s, %s, %s)").format(self._ident(_ATLAS)),
            [info.name, info.region_wkt, info.analysis_crs, FORMAT_VERSION,
             info.cami_atlas_version])
        stored = dict(conn.execute(sql.SQL("SELECT name, version FROM {}").format(
            self._ident(_LAYERS))).fetchall())
        wanted = [rec["name"] for rec in catalog]
        for name in set(stored) - set(wanted):
            self._drop_layer(conn, name)
        now = utc_now()
        current: dict[str, int] = {}
        for rec in catalog:
            name = rec["name"]
            new = changed.get(name)
            if new is None:
                if name not in stored:
                    raise LayerWriteError(
                        f"layer {name!r} is not stored in atlas {self.location} and no data was "
                        "given for it; nothing was changed.")
                current[name] = stored[name]
                continue
            current[name] = self._add_version(conn, rec, new, now)
        conn.execute(sql.SQL("DELETE FROM {}").format(self._ident(_LAYERS)))
        with conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {} (position, name, version) VALUES "
                                    "(%s, %s, %s)").format(self._ident(_LAYERS)),
                            [(i, n, current[n]) for i, n in enumerate(wanted)])

    def _drop_layer(self, conn: Any, name: str) -> None:
        sql = _psycopg().sql
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(self._ident(name)))
        tables = [r[0] for r in conn.execute(sql.SQL(
            "SELECT data_table FROM {} WHERE layer = %s AND data_table IS NOT NULL").format(
            self._ident(_VERSIONS)), [name])]
        for table in tables:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._ident(table)))
        conn.execute(sql.SQL("DELETE FROM {} WHERE layer = %s").format(self._ident(_VERSIONS)),
                     [name])

    def _add_version(self, conn: Any, rec: dict[str, Any], new: LayerData, now: str) -> int:
        sql = _psycopg().sql
        name = rec["name"]
        (last,) = conn.execute(sql.SQL("SELECT coalesce(max(version), 0) FROM {} "
                                       "WHERE layer = %s").format(self._ident(_VERSIONS)),
                               [name]).fetchone()
        version = int(last) + 1
        published_at = _dt.datetime.fromisoformat((new.published_at or now).replace("Z", "+00:00"))
        if published_at.tzinfo is None:
            published_at = published_at.replace(tzinfo=_dt.UTC)
        (vid,) = conn.execute(sql.SQL(
            "INSERT INTO {} (layer, version, published_by, published_at, kind, storage, "
            "geometry_type, n_features, crs, source, licence, attribution, date, processing, "
            "geotiff) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "RETURNING id").format(self._ident(_VERSIONS)),
            [name, version, new.published_by or "", published_at,
             *[rec.get(c) for c in META_COLUMNS[1:]],
             new.geotiff if rec.get("storage") == "geotiff_blob" else None]).fetchone()
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(self._ident(name)))
        if rec.get("storage") == "geotiff_blob":
            if new.geotiff is None:
                raise LayerWriteError(f"raster layer {name!r}: no GeoTIFF data was given.")
            return version
        if new.vector is None:
            raise LayerWriteError(f"vector layer {name!r}: no features were given.")
        table = f"cami_atlas_data_{vid}"
        columns = self._write_features(conn, table, name, new.vector, _srid(rec.get("crs", "")))
        conn.execute(sql.SQL("UPDATE {} SET data_table = %s, columns = %s WHERE id = %s").format(
            self._ident(_VERSIONS)), [table, _psycopg().types.json.Jsonb(columns), vid])
        conn.execute(sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(
            self._ident(name), self._ident(table)))
        return version

    def _write_features(self, conn: Any, table: str, name: str, gdf: gpd.GeoDataFrame,
                        srid: int) -> list[list[str]]:
        sql = _psycopg().sql
        attrs = [c for c in gdf.columns if c != gdf.geometry.name]
        clash = [c for c in attrs if str(c) in (_FID, _GEOM)]
        if clash:
            raise LayerWriteError(f"layer {name!r}: column {clash[0]!r} is reserved by the "
                                  "PostGIS store; rename it.")
        columns = [[str(c), _column_type(gdf[c])] for c in attrs]
        defs = [sql.SQL("{} bigint PRIMARY KEY").format(sql.Identifier(_FID))]
        defs += [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns]
        defs.append(sql.SQL("{} geometry").format(sql.Identifier(_GEOM)))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(self._ident(table),
                                                             sql.SQL(", ").join(defs)))
        wkb = shapely.to_wkb(np.asarray(gdf.geometry.values, dtype=object))
        values = [[_to_sql_value(v, t) for v in gdf[c].tolist()] for c, (_, t) in
                  zip(attrs, columns, strict=True)]
        rows = [(i, *[col[i] for col in values], wkb[i], srid) for i in range(len(gdf))]
        targets = [_FID, *(c for c, _ in columns), _GEOM]
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({}, ST_GeomFromWKB(%s, %s))").format(
            self._ident(table), sql.SQL(", ").join(sql.Identifier(c) for c in targets),
            sql.SQL(", ").join([sql.Placeholder()] * (len(targets) - 1)))
        with conn.cursor() as cur:
            cur.executemany(insert, rows)
        conn.execute(sql.SQL("CREATE INDEX ON {} USING gist ({})").format(
            self._ident(table), sql.Identifier(_GEOM)))
        return columns
