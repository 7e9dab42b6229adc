"""The :class:`Atlas` API: named, validated layers, a region and an analysis CRS.

An :class:`Atlas` is what every analysis of the library reads from: species ranges,
corridors, tracks, infrastructure, protected areas, countries, borders, water,
places and base rasters, each a named layer of a known kind (see
:mod:`cami_atlas.schema`), plus the study region (a polygon in EPSG:4326) and the
equal-area CRS analyses run in (default ``ESRI:102025``, Asia North Albers Equal
Area, the CRS of the 2017 CAMI atlas).

Where the layers are kept is the business of a backend
(:class:`cami_atlas.store.base.AtlasBackend`): one GeoPackage file
(:mod:`cami_atlas.store.geopackage`, format version 1, which also explains why
rasters are GeoTIFF BLOBs), or a schema of a PostgreSQL/PostGIS database
(:mod:`cami_atlas.store.postgis`) for an atlas shared by a team and served on the
web: everywhere a path is accepted, a ``postgresql://...`` address is too.

Every save that gives a layer new data publishes a new **version** of it (who,
when, its provenance and licence): :meth:`Atlas.layer_versions` lists them,
``Atlas.read(name, version=n)`` reads any of them, the current one is the latest.

Layers are read lazily: :meth:`Atlas.open` reads only the atlas record and the
catalogue; a layer is read (and validated) the first time it is asked for.
:meth:`Atlas.save` commits atomically, so an interrupted save leaves the previous
atlas as it was. Saving back to the atlas' own file takes the atlas lock, re-reads
the catalogue and applies only this object's changes (layers added, replaced,
removed since it was opened or last saved): two processes that add different
layers to one atlas at the same time both land. :meth:`Atlas.edit` holds the lock
from the read to the save, for a read-check-change-save that no one can
interleave.

Examples
--------
>>> import geopandas as gpd, tempfile, pathlib
>>> from shapely import LineString
>>> atlas = Atlas("demo")
>>> rail = gpd.GeoDataFrame({"infra_type": ["railway"]},
...                         geometry=[LineString([(70, 45), (71, 45)])], crs="EPSG:4326")
>>> atlas.add_layer("rail", rail, "infrastructure", source="hand-drawn", licence="CC0-1.0")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.gpkg"
>>> _ = atlas.save(path)
>>> Atlas.open(path).layer_names()
['rail']
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import getpass
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from .. import __version__
from .._atomic import check_writable
from .._options import check_option
from ..errors import (
    AtlasLockedError,
    CamiAtlasError,
    CRSError,
    LayerNotFoundError,
    LayerReadError,
    LayerWriteError,
    OutputExistsError,
    SchemaError,
)
from ..measure import EQUAL_AREA_CRS, to_crs
from ..raster import Grid
from ..schema import KINDS, SCHEMAS
from ..validate import validate_layer
from .base import META_COLUMNS, VERSION_COLUMNS, AtlasBackend, AtlasInfo, LayerData
from .geopackage import ATLAS_TABLE, LAYERS_TABLE, GeoPackageBackend
from .rasters import geotiff_to_grid, grid_to_geotiff

__all__ = [
    "DEFAULT_ATLAS_FILE",
    "DEFAULT_REGION",
    "Atlas",
    "backend_for",
    "check_atlas_file",
    "default_atlas_path",
    "is_atlas_file",
    "publisher_name",
]

#: Environment variable naming who publishes layer versions (default: the login name).
PUBLISHER_ENV = "CAMI_ATLAS_USER"

#: File name of the embedded default atlas.
DEFAULT_ATLAS_FILE = "cami_default_atlas.gpkg"
#: The CAMI region: lon 44..125 E, lat 23..56 N (EPSG:4326).
DEFAULT_REGION = shapely.box(44.0, 23.0, 125.0, 56.0)

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RESERVED_PREFIXES = ("cami_atlas", "gpkg_", "rtree_", "sqlite_")
_META_COLUMNS = META_COLUMNS
_LIST_COLUMNS = ("name", "kind", "geometry_type", "n_features", "crs", "source", "licence",
                 "attribution", "date")


def default_atlas_path() -> Path:
    """Path of the embedded default atlas (installed package or source tree).

    An installed wheel holds it as ``cami_atlas/_embedded/layers/``; a source
    checkout (also an editable install) as ``<repo>/data/layers/``.

    Raises
    ------
    LayerReadError
        Neither place holds the file.

    Examples
    --------
    >>> default_atlas_path().name
    'cami_default_atlas.gpkg'
    """
    here = Path(__file__).resolve().parents[1]  # the cami_atlas package
    candidates = [here / "_embedded" / "layers" / DEFAULT_ATLAS_FILE,
                  here.parents[1] / "data" / "layers" / DEFAULT_ATLAS_FILE]
    for path in candidates:
        if path.is_file():
            return path
    raise LayerReadError(
        "the embedded default atlas is missing (looked for "
        f"{' and '.join(str(p) for p in candidates)}). Reinstall cami-atlas, or in a source "
        "checkout rebuild it with scripts/build_default_atlas.py."
    )



def is_atlas_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a GeoPackage holding the cami_atlas metadata tables.

    Examples
    --------
    >>> is_atlas_file(default_atlas_path())
    True
    >>> is_atlas_file("no/such/file.gpkg")
    False
    """
    path = Path(path)
    if not path.is_file():
        return False
    try:
        tables = {str(row[0]) for row in pyogrio.list_layers(path)}
    except Exception:
        return False
    return {LAYERS_TABLE, ATLAS_TABLE} <= tables



def publisher_name() -> str:
    """Who publishes layer versions from this process: ``$CAMI_ATLAS_USER`` or the login name.

    Examples
    --------
    >>> isinstance(publisher_name(), str)
    True
    """
    name = os.environ.get(PUBLISHER_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "unknown"


def _is_url(location: Any) -> bool:
    return isinstance(location, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location) \
        is not None


def backend_for(location: str | os.PathLike[str]) -> AtlasBackend:
    """The storage backend for an atlas ``location``: a GeoPackage path or a PostGIS address.

    ``postgresql://user@host/db?schema=NAME`` (also ``postgres://``) selects
    :class:`~cami_atlas.store.postgis.PostGISBackend`; anything else that is not
    an address is a GeoPackage file.

    Raises
    ------
    LayerReadError
        ``location`` is an address of another kind of database or service.

    Examples
    --------
    >>> backend_for("my_atlas.gpkg")
    GeoPackageBackend('my_atlas.gpkg')
    >>> backend_for("postgresql://atlas@localhost/cami?schema=team")
    PostGISBackend('postgresql://atlas@localhost/cami?schema=team')
    """
    text = os.fspath(location)
    if _is_url(text):
        from .postgis import PostGISBackend, is_database_url

        if is_database_url(text):
            return PostGISBackend(text)
        raise LayerReadError(
            f"atlas location {text.split('://')[0]}://... is not supported: an atlas is a "
            ".gpkg file or a PostGIS database (postgresql://user@host/database?schema=NAME).")
    return GeoPackageBackend(text)


def check_atlas_file(path: str | os.PathLike[str], *, full: bool = True) -> None:
    """Raise :class:`~cami_atlas.errors.LayerReadError` if the atlas file is damaged.

    Recognises a file that is not SQLite, is truncated, lacks the GeoPackage
    tables or (``full``) fails SQLite's integrity check; the one-line message
    names the file and how to fix it. Does not check the layers against their
    schemas (that is :meth:`Atlas.validate`).

    Examples
    --------
    >>> check_atlas_file(default_atlas_path())
    """
    backend = backend_for(path)
    _recover_if_free(backend)  # a hot journal of a killed writer is rolled back, not reported
    backend.check(full=full)


@dataclass
class _Entry:
    """One layer: its metadata and, until it is saved, its data."""

    meta: dict[str, Any]
    data: gpd.GeoDataFrame | Grid | None = None  # validated data held in memory
    blob: bytes | None = None  # GeoTIFF bytes of a raster held in memory


def _today() -> str:
    return _dt.date.today().isoformat()


def _crs_text(crs: Any) -> str:
    """Short text of a CRS: ``AUTHORITY:CODE`` where one exists, else WKT."""
    if crs is None:
        return ""
    crs = CRS.from_user_input(crs)
    auth = crs.to_authority(min_confidence=90)
    return f"{auth[0]}:{auth[1]}" if auth else crs.to_wkt()


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.match(name) or \
            name.startswith(_RESERVED_PREFIXES):
        raise SchemaError(
            f"layer name {name!r} is not valid: use 1-63 lower-case letters, digits and "
            "underscores, starting with a letter (e.g. 'railways_kaz'), and not starting with "
            f"{', '.join(_RESERVED_PREFIXES)}."
        )
    return name


class Atlas:
    """A named set of validated layers with a region and an analysis CRS.

    Parameters
    ----------
    name : str, default "atlas"
        Name of the atlas (stored in the file).
    region : shapely Polygon, optional
        Study region in EPSG:4326 (lon/lat); default :data:`DEFAULT_REGION`,
        lon 44..125 E, lat 23..56 N.
    analysis_crs : str or pyproj.CRS, default "ESRI:102025"
        The projected (metre) CRS analyses use; Asia North Albers Equal Area by
        default.

    Notes
    -----
    Rasters are stored as GeoTIFF BLOBs inside the GeoPackage (table
    ``cami_atlas_rasters``), not as GeoPackage tiled rasters, because GDAL's GPKG
    raster round trip is not exact in general (see the module docstring); inside
    the BLOB any dtype, nodata, ``NaN`` and ``inf`` survive bit for bit.

    Examples
    --------
    >>> atlas = Atlas("empty")
    >>> atlas.analysis_crs.to_string(), atlas.region.bounds
    ('ESRI:102025', (44.0, 23.0, 125.0, 56.0))
    >>> atlas.layer_names()
    []
    """

    def __init__(self, name: str = "atlas", *, region: BaseGeometry | None = None,
                 analysis_crs: Any = EQUAL_AREA_CRS) -> None:
        self.name = str(name)
        self.region = self._check_region(DEFAULT_REGION if region is None else region)
        self.analysis_crs = self._check_analysis_crs(analysis_crs)
        self.path: Path | None = None  # the GeoPackage file (None in memory or in PostGIS)
        self.location: str | None = None  # the file or the database address, if any
        self.read_only = False
        self._layers: dict[str, _Entry] = {}
        # what this object changed since it was opened or saved (merged on save)
        self._changed: set[str] = set()
        self._removed: set[str] = set()
        self._new: set[str] = set()  # added without overwrite: must still be free at save

    # -- construction ------------------------------------------------------------------
    @staticmethod
    def _check_region(region: BaseGeometry) -> shapely.Polygon:
        if not isinstance(region, shapely.Polygon) or region.is_empty or not region.is_valid:
            raise SchemaError(
                f"the atlas region must be a valid, non-empty shapely Polygon in EPSG:4326; got "
                f"{getattr(region, 'geom_type', type(region).__name__)}. Pass e.g. "
                "shapely.box(44, 23, 125, 56)."
            )
        minx, miny, maxx, maxy = region.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise CRSError(
                f"the atlas region must be in lon/lat degrees (EPSG:4326); its bounds "
                f"{region.bounds} are outside -180..180 / -90..90. Transform it to EPSG:4326 "
                "first."
            )
        return region

    @staticmethod
    def _check_analysis_crs(crs: Any) -> CRS:
        try:
            out = CRS.from_user_input(crs)
        except Exception as exc:  # pyproj raises its own CRSError
            raise CRSError(f"analysis_crs={crs!r} is not a CRS pyproj knows ({exc}).") from None
        if not out.is_projected:
            raise CRSError(
                f"analysis_crs must be a projected CRS in metres (analyses measure areas and "
                f"distances); got {_crs_text(out)}. Use an equal-area CRS such as "
                "'ESRI:102025' (Asia North Albers Equal Area)."
            )
        return out

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, create: bool = False) -> Atlas:
        """Open an atlas GeoPackage; only its metadata is read now.

        Parameters
        ----------
        path : path
            The atlas file.
        create : bool, default False
            If ``path`` does not exist, return a new empty atlas named after the
            file that :meth:`save` writes there (merging with whatever another
            process may have saved there meanwhile).

        Raises
        ------
        LayerReadError
            The file is missing (and ``create`` is false), is not a GeoPackage, is
            damaged (truncated, not SQLite), or has no atlas tables.

        Examples
        --------
        >>> atlas = Atlas.open(default_atlas_path())
        >>> "railways" in atlas.layer_names()
        True
        >>> import tempfile, pathlib
        >>> new = Atlas.open(pathlib.Path(tempfile.mkdtemp()) / "mine.gpkg", create=True)
        >>> new.name, new.layer_names()
        ('mine', [])
        """
        if _is_url(path):
            backend = backend_for(path)
            if create and not backend.exists():
                atlas = cls(getattr(backend, "schema", "atlas"))
                atlas._set_location(str(path))
                return atlas
        else:
            path = Path(path)
            if create and not path.exists():
                atlas = cls(path.name.split(".")[0])
                atlas._set_location(path)
                return atlas
            if not path.is_file():
                raise LayerReadError(
                    f"atlas file {path} does not exist. Give the path of an atlas GeoPackage, "
                    "or create one with `cami-atlas layers import SOURCE --kind KIND --atlas "
                    f"{path}`.")
            backend = backend_for(path)
        _recover_if_free(backend)  # temporary files, lock file, hot journal of killed writers
        backend.check()
        info = backend.read_info()
        atlas = cls(info.name, region=shapely.from_wkt(info.region_wkt),
                    analysis_crs=info.analysis_crs)
        atlas._set_location(path)
        atlas._load_catalog(backend.read_catalog())
        return atlas

    def _set_location(self, location: str | os.PathLike[str]) -> None:
        if _is_url(location):
            self.path, self.location = None, str(location)
        else:
            self.path = Path(location)
            self.location = str(self.path)

    def _backend(self) -> AtlasBackend:
        if self.location is None:
            raise LayerReadError(f"the atlas {self.name!r} is not stored anywhere yet; save it "
                                 "first.")
        return backend_for(self.location)

    def _load_catalog(self, catalog: list[dict[str, Any]]) -> None:
        self._layers = {str(rec["name"]): _Entry(meta=rec) for rec in catalog}
        self._changed.clear()
        self._removed.clear()
        self._new.clear()

    @classmethod
    @contextlib.contextmanager
    def edit(cls, path: str | os.PathLike[str], *, create: bool = False,
             lock_timeout_s: float | None = None) -> Iterator[Atlas]:
        """Open the atlas at ``path`` under its write lock, and save it when the block ends.

        No other process can write the atlas between the read and the save, so a
        check such as "is this layer name free?" stays true until the change is
        saved. If the block raises, nothing is saved. Other writers wait for the
        lock (at most ``lock_timeout_s``, default ``$CAMI_ATLAS_LOCK_TIMEOUT_S`` or
        300 s).

        Parameters
        ----------
        path : path
            The atlas GeoPackage.
        create : bool, default False
            Start a new, empty atlas (named after the file) when ``path`` does not
            exist.
        lock_timeout_s : float, optional
            Seconds to wait for another writer.

        Raises
        ------
        AtlasLockedError
            Another process held the lock longer than ``lock_timeout_s`` (the
            message names the atlas and the process id).
        LayerReadError
            ``path`` does not exist and ``create`` is false, or is damaged.

        Examples
        --------
        >>> import tempfile, pathlib, geopandas as gpd
        >>> from shapely import Point
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "towns.gpkg"
        >>> towns = gpd.GeoDataFrame({"name": ["Astana"]}, geometry=[Point(71.4, 51.2)],
        ...                          crs="EPSG:4326")
        >>> with Atlas.edit(path, create=True) as atlas:
        ...     atlas.add_layer("towns", towns, "places", source="hand", licence="CC0-1.0")
        >>> Atlas.open(path).layer_names()
        ['towns']
        """
        backend = backend_for(path)
        with backend.lock(timeout_s=lock_timeout_s):
            atlas = cls.open(path, create=create)
            yield atlas
            atlas.save(lock_timeout_s=lock_timeout_s)

    @classmethod
    def default(cls) -> Atlas:
        """The embedded default atlas (read-only: save it under another path to change it).

        Examples
        --------
        >>> atlas = Atlas.default()
        >>> atlas.kind_of("dem")
        'raster'
        """
        atlas = cls.open(default_atlas_path())
        atlas.read_only = True
        return atlas

    # -- inspection ----------------------------------------------------------------------
    def __repr__(self) -> str:
        where = f", path={self._shown()!r}" if self.location else ""
        return (f"Atlas(name={self.name!r}, layers={len(self._layers)}, "
                f"analysis_crs={_crs_text(self.analysis_crs)!r}{where})")

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    def __len__(self) -> int:
        return len(self._layers)

    def layer_names(self, kind: str | None = None) -> list[str]:
        """Names of the layers, optionally only those of ``kind``, in insertion order.

        Examples
        --------
        >>> Atlas.default().layer_names("water")
        ['rivers', 'lakes']
        """
        if kind is None:
            return list(self._layers)
        check_option("kind", kind, KINDS)
        return [n for n, e in self._layers.items() if e.meta["kind"] == kind]

    def _entry(self, name: str) -> _Entry:
        try:
            return self._layers[name]
        except KeyError:
            known = ", ".join(self._layers) or "none"
            raise LayerNotFoundError(
                f"the atlas {self.name!r} has no layer {name!r}; its layers are: {known}."
            ) from None

    def kind_of(self, name: str) -> str:
        """The kind of layer ``name``.

        Examples
        --------
        >>> Atlas.default().kind_of("railways")
        'infrastructure'
        """
        return str(self._entry(name).meta["kind"])

    def layer_info(self, name: str) -> dict[str, Any]:
        """All metadata of layer ``name`` (including ``processing`` and ``storage``).

        Examples
        --------
        >>> Atlas.default().layer_info("railways")["licence"]
        'public domain'
        """
        return dict(self._entry(name).meta)

    def list_layers(self) -> pd.DataFrame:
        """One row per layer: name, kind, geometry_type, n_features, crs, source,
        licence, attribution, date.

        For rasters ``geometry_type`` is ``"raster"`` and ``n_features`` the number
        of cells.

        Examples
        --------
        >>> table = Atlas.default().list_layers()
        >>> list(table.columns)[:4]
        ['name', 'kind', 'geometry_type', 'n_features']
        """
        rows = [{c: e.meta.get(c) for c in _LIST_COLUMNS} for e in self._layers.values()]
        table = pd.DataFrame(rows, columns=list(_LIST_COLUMNS))
        table["n_features"] = table["n_features"].astype("Int64")
        return table

    # -- reading -------------------------------------------------------------------------
    def _shown(self) -> str:
        """Where the atlas is, for messages (a database password hidden)."""
        if self.location is None:
            return "in memory"
        return self._backend().location if self.path is None else self.location

    def _read_raw_vector(self, name: str, version: int | None = None) -> gpd.GeoDataFrame:
        if self.location is None:
            raise LayerReadError(f"layer {name!r} has no data in memory and the atlas no file.")
        return self._backend().read_vector(name, version)

    def _read_blob(self, name: str, version: int | None = None) -> bytes:
        entry = self._entry(name)
        if entry.blob is not None and version is None:
            return entry.blob
        if self.location is None:
            raise LayerReadError(f"raster {name!r} has no data in memory and the atlas no file.")
        return self._backend().read_raster(name, version)

    def layer_versions(self, name: str | None = None) -> pd.DataFrame:
        """The stored versions of layer ``name`` (or of every layer), oldest first.

        One row per version: ``layer, version, published_by, published_at`` (UTC),
        ``current`` (the latest published) and the provenance of that version
        (``kind, storage, geometry_type, n_features, crs, source, licence,
        attribution, date, processing``). Changes not saved yet are not versions.

        Examples
        --------
        >>> table = Atlas.default().layer_versions("railways")
        >>> table[["layer", "version", "current"]].values.tolist()
        [['railways', 1, True]]
        """
        if name is not None:
            self._entry(name)
        rows = self._backend().list_versions(name) if self.location is not None and (
            name is None or name not in self._new) else []
        table = pd.DataFrame(rows, columns=list(VERSION_COLUMNS))
        table["version"] = table["version"].astype("int64")
        return table

    def read(self, name: str, version: int | None = None) -> gpd.GeoDataFrame | Grid:
        """Layer ``name``: a validated GeoDataFrame in its stored CRS, or a :class:`Grid`.

        Each call returns a new object, so changing it does not change the atlas.
        ``version`` reads a stored version of the layer (see :meth:`layer_versions`)
        instead of the current one.

        Raises
        ------
        LayerNotFoundError
            No such layer (the message lists the layers).

        Examples
        --------
        >>> rail = Atlas.default().read("railways")
        >>> rail.crs.to_string(), sorted(rail["infra_type"].unique())
        ('EPSG:4326', ['railway'])
        """
        entry = self._entry(name)
        kind = entry.meta["kind"]
        if version is not None:
            return self._read_version(name, int(version))
        if kind == "raster":
            if entry.data is None:
                entry.data = geotiff_to_grid(self._read_blob(name), name)
            grid: Grid = entry.data  # type: ignore[assignment]
            return grid.with_values(grid.values.copy())
        if entry.data is None:
            raw = self._read_raw_vector(name)
            entry.data = validate_layer(raw, kind, layer=name, source=self._shown())
        return entry.data.copy()

    def _read_version(self, name: str, version: int) -> gpd.GeoDataFrame | Grid:
        rows = self._backend().list_versions(name)
        match = [r for r in rows if int(r["version"]) == version]
        if not match:
            have = ", ".join(str(r["version"]) for r in rows) or "none"
            raise LayerNotFoundError(
                f"atlas {self._shown()} has no version {version} of layer {name!r}; its "
                f"versions are: {have}.")
        kind = match[0]["kind"]
        if kind == "raster":
            return geotiff_to_grid(self._read_blob(name, version), name)
        return validate_layer(self._read_raw_vector(name, version), kind, layer=name,
                              source=f"{self._shown()} (version {version})")

    def read_kind(self, kind: str, *, crs: Any = None) -> gpd.GeoDataFrame:
        """All vector layers of ``kind`` in one GeoDataFrame, with a column ``layer``.

        Parameters
        ----------
        kind : str
            A vector layer kind of :data:`cami_atlas.schema.KINDS`.
        crs : optional
            Target CRS; default the atlas' ``analysis_crs``.

        Returns
        -------
        geopandas.GeoDataFrame
            Empty (with the kind's columns) when the atlas has no such layer, so
            optional layers (corridors, protected areas, tracks) need no special case.

        Examples
        --------
        >>> atlas = Atlas.default()
        >>> atlas.read_kind("corridor").empty
        True
        >>> sorted(atlas.read_kind("water")["layer"].unique())
        ['lakes', 'rivers']
        """
        check_option("kind", kind, [k for k in KINDS if k != "raster"])
        target = self.analysis_crs if crs is None else CRS.from_user_input(crs)
        # edges densified (measure.to_crs): reprojected ranges keep their area
        parts = [to_crs(self.read(n), target).assign(layer=n) for n in self.layer_names(kind)]
        if not parts:
            cols = [*SCHEMAS[kind].names, "layer"]
            return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in cols},
                                    geometry=gpd.GeoSeries([], crs=target), crs=target)
        out = pd.concat(parts, ignore_index=True)
        return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=target)

    # -- changing --------------------------------------------------------------------------
    def add_layer(self, name: str, data: gpd.GeoDataFrame | Grid | str | os.PathLike[str],
                  kind: str, *, source: str, licence: str, attribution: str = "",
                  date: str | None = None, overwrite: bool = False, repair: bool = False,
                  processing: str = "") -> None:
        """Validate ``data`` and add it as layer ``name``; on any failure nothing changes.

        Parameters
        ----------
        name : str
            Layer name: lower-case letters, digits, ``_``; becomes the table name.
        data : GeoDataFrame, Grid or path
            A path is read with :func:`cami_atlas.io.read_layer` (vector kinds) or
            :func:`cami_atlas.io.read_raster` (``kind="raster"``).
        kind : str
            One of :data:`cami_atlas.schema.KINDS`.
        source, licence : str
            Where the data come from and under which licence (both required).
        attribution : str, optional
            Attribution text the licence asks for.
        date : str, optional
            Date of the data (ISO); default today.
        overwrite : bool, default False
            Replace an existing layer of the same name.
        repair : bool, default False
            Drop features without geometry and repair invalid ones while validating.
        processing : str, optional
            What was done to the source data.

        Raises
        ------
        OutputExistsError
            A layer called ``name`` exists and ``overwrite`` is false.
        SchemaError, CRSError, ...
            ``data`` does not validate against ``kind``.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import Point
        >>> atlas = Atlas("demo")
        >>> towns = gpd.GeoDataFrame({"name": ["Astana"]}, geometry=[Point(71.4, 51.2)],
        ...                          crs="EPSG:4326")
        >>> atlas.add_layer("towns", towns, "places", source="hand", licence="CC0-1.0")
        >>> atlas.list_layers()[["name", "kind", "n_features"]].values.tolist()
        [['towns', 'places', 1]]
        """
        _check_name(name)
        check_option("kind", kind, KINDS)
        for label, value in (("source", source), ("licence", licence)):
            if not isinstance(value, str) or not value.strip():
                raise SchemaError(
                    f"layer {name!r}: {label} is required (got {value!r}); say where the data "
                    "come from and under which licence, e.g. source='Natural Earth 10m "
                    "railroads', licence='public domain'.")
        if name in self._layers and not overwrite:
            raise OutputExistsError(
                f"the atlas {self.name!r} already has a layer {name!r} (kind "
                f"{self.kind_of(name)}); pass overwrite=True (--overwrite) to replace it or "
                "choose another name.")
        meta: dict[str, Any] = dict(
            name=name, kind=kind, source=source.strip(), licence=licence.strip(),
            attribution=attribution or "", date=date or _today(), processing=processing or "")
        if kind == "raster":
            grid = self._as_grid(name, data)
            blob = grid_to_geotiff(grid)
            meta.update(storage="geotiff_blob", geometry_type="raster",
                        n_features=int(grid.values.size), crs=_crs_text(grid.crs))
            entry = _Entry(meta=meta, blob=blob)
        else:
            gdf = self._as_vector(name, data, kind, repair=repair)
            types = sorted(set(gdf.geometry.geom_type.dropna()))
            meta.update(storage="vector", geometry_type=", ".join(types),
                        n_features=len(gdf), crs=_crs_text(gdf.crs))
            entry = _Entry(meta=meta, data=gdf)
        self._layers[name] = entry
        self._changed.add(name)
        if overwrite:
            self._new.discard(name)
        elif name not in self._removed:
            self._new.add(name)
        self._removed.discard(name)

    @staticmethod
    def _as_grid(name: str, data: Any) -> Grid:
        if isinstance(data, str | os.PathLike):
            from ..io import read_raster

            data = read_raster(data)
        if not isinstance(data, Grid):
            raise SchemaError(
                f"layer {name!r} of kind 'raster' needs a cami_atlas.raster.Grid or a raster "
                f"file path; got {type(data).__name__}.")
        if data.crs is None:
            raise CRSError(
                f"raster layer {name!r} has no CRS; set the CRS the data is actually in "
                "(Grid(..., crs='EPSG:4326')) before adding it.")
        if not np.isfinite(data.values).any() and not np.isinf(data.values).any():
            raise SchemaError(f"raster layer {name!r} holds no values (all NaN).")
        return Grid(np.asarray(data.values), data.transform, data.crs, data.nodata, name)

    @staticmethod
    def _as_vector(name: str, data: Any, kind: str, *, repair: bool) -> gpd.GeoDataFrame:
        if isinstance(data, str | os.PathLike):
            from ..io import read_layer

            return read_layer(data, kind, repair=repair)
        if isinstance(data, Grid):
            raise SchemaError(f"layer {name!r}: a Grid can only be added as kind 'raster', "
                              f"not {kind!r}.")
        return validate_layer(data, kind, layer=name, repair=repair)

    def remove_layer(self, name: str) -> None:
        """Remove layer ``name`` (from the file at the next :meth:`save`).

        Examples
        --------
        >>> atlas = Atlas.default()
        >>> atlas.remove_layer("osm_astana")
        >>> "osm_astana" in atlas
        False
        """
        self._entry(name)
        del self._layers[name]
        self._changed.discard(name)
        self._new.discard(name)
        self._removed.add(name)

    # -- validation ----------------------------------------------------------------------
    def validate(self) -> pd.DataFrame:
        """Check every layer against its schema; one row per layer: name, kind, ok, problem.

        Vector layers are read afresh from storage and validated; rasters must
        decode, have a CRS and hold values; every layer needs a source and a licence.

        Examples
        --------
        >>> report = Atlas.default().validate()
        >>> bool(report["ok"].all())
        True
        """
        rows = []
        for name, entry in self._layers.items():
            kind = entry.meta["kind"]
            problem = ""
            try:
                if not entry.meta.get("source") or not entry.meta.get("licence"):
                    raise SchemaError("no source or licence recorded")
                if kind == "raster":  # decodes, has a CRS, values, nodata, coordinates
                    from ..validate import validate_raster

                    validate_raster(self._as_grid(name, geotiff_to_grid(self._read_blob(name),
                                                                        name)),
                                    f"raster layer {name!r}", region_bbox=self.region.bounds)
                else:
                    raw = entry.data if entry.data is not None else self._read_raw_vector(name)
                    validate_layer(raw, kind, layer=name, source=str(self.location or ""))
            except (CamiAtlasError, rasterio.errors.RasterioError) as exc:
                problem = str(exc)
            rows.append(dict(name=name, kind=kind, ok=not problem, problem=problem))
        return pd.DataFrame(rows, columns=["name", "kind", "ok", "problem"])

    # -- saving --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False,
             lock_timeout_s: float | None = None, published_by: str | None = None) -> Any:
        """Write the atlas to one GeoPackage (or PostGIS), atomically, under its write lock.

        A complete new file is written beside the target and moved into place with
        ``os.replace``: if anything fails, the previous file is untouched and no
        partial file is left. Saving to the file the atlas was opened from (``path``
        omitted or equal) updates it: under the lock, the file's current catalogue
        is read again and this object's changes since it was opened (layers added,
        replaced or removed) are applied to it, so layers another process saved
        meanwhile are kept. Any other existing file is replaced, with exactly this
        atlas' layers, only with ``overwrite=True``. The default atlas is
        read-only: save it under a new path.

        ``path`` may be a PostGIS address (``postgresql://...``): the same happens
        in one database transaction under an advisory lock. Every layer given new
        data publishes a new version of it (:meth:`layer_versions`).

        Parameters
        ----------
        path : path or str, optional
            Target file or database address; default where the atlas was opened from.
        overwrite : bool, default False
            Replace an existing file that is not this atlas' own.
        lock_timeout_s : float, optional
            Seconds to wait for another process that is writing the same file;
            default ``$CAMI_ATLAS_LOCK_TIMEOUT_S`` or 300.
        published_by : str, optional
            Who publishes the new layer versions; default :func:`publisher_name`.

        Returns
        -------
        pathlib.Path or str
            The file written (or the database address); the atlas now reads from it.

        Raises
        ------
        OutputExistsError
            ``path`` exists, is not this atlas' file, and ``overwrite`` is false; or a
            layer this object added (without ``overwrite``) was saved to the file by
            another process since it was read.
        LayerWriteError
            No path given for a new atlas, or the default atlas would be changed in place.
        AtlasLockedError
            Another process held the lock longer than ``lock_timeout_s``.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> atlas = Atlas.default()
        >>> atlas.remove_layer("osm_astana")
        >>> out = atlas.save(pathlib.Path(tempfile.mkdtemp()) / "mine.gpkg")
        >>> "osm_astana" in Atlas.open(out)
        False
        """
        target: Path | str
        if path is None:
            if self.location is None:
                raise LayerWriteError(
                    f"the atlas {self.name!r} has no file yet; give a path, e.g. "
                    "atlas.save('my_atlas.gpkg').")
            target = self.path if self.path is not None else self.location
        else:
            target = str(path) if _is_url(path) else Path(path)
        if isinstance(target, Path):
            same = self.path is not None and target.resolve() == self.path.resolve()
        else:
            same = self.location == target
        if same and self.read_only:
            raise LayerWriteError(
                f"the default atlas ({self.path}) is read-only; save your changes under a new "
                "path, e.g. atlas.save('my_atlas.gpkg').")
        if isinstance(target, Path) and target.suffix.lower() != ".gpkg":
            raise LayerWriteError(f"an atlas is a GeoPackage; give a path ending in .gpkg, "
                                  f"got {target}.")
        backend = backend_for(target)
        info = AtlasInfo(self.name, self.region.wkt, _crs_text(self.analysis_crs),
                         0, __version__)
        publisher = publisher_name() if published_by is None else str(published_by)
        with backend.lock(timeout_s=lock_timeout_s):
            if same and backend.exists():  # read-modify-write: re-read under the lock
                backend.check()
                catalog = self._merged_catalog(backend.read_catalog())
                names = {rec["name"] for rec in catalog}
                changed: Mapping[str, LayerData] = {
                    n: self._layer_data(n, publisher) for n in self._changed if n in names}
            else:
                if isinstance(target, Path) and not same:
                    check_writable(target, overwrite=overwrite)
                elif not same and not overwrite and backend.exists():
                    raise OutputExistsError(
                        f"{backend.location} holds an atlas already; pass overwrite=True "
                        "(--overwrite) to replace its layers (their versions are kept), or "
                        "choose another schema.")
                catalog = [dict(e.meta) for e in self._layers.values()]
                changed = _AllLayers(self, publisher)
            backend.commit(info, catalog, changed)
        written = set(changed)
        self._set_location(target)
        self.read_only = False
        old = self._layers
        self._load_catalog(catalog)
        for name, entry in self._layers.items():
            if name in written and entry.meta["kind"] != "raster":
                entry.data = old[name].data  # the validated frame just written
        return target

    def _merged_catalog(self, stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``stored`` with this object's removals and additions/replacements applied."""
        taken = sorted(self._new & {rec["name"] for rec in stored})
        if taken:
            raise OutputExistsError(
                f"atlas {self._shown()} already has a layer {taken[0]!r}, saved by another process "
                "since this atlas was read; nothing was saved. Pass overwrite=True (--overwrite) "
                "to replace it, or choose another name.")
        merged = {rec["name"]: rec for rec in stored if rec["name"] not in self._removed}
        for name in self._layers:
            if name in self._changed:
                merged[name] = dict(self._layers[name].meta)  # replaced in place or appended
        return list(merged.values())

    def _layer_data(self, name: str, published_by: str = "") -> LayerData:
        entry = self._entry(name)
        if entry.meta["kind"] == "raster":
            return LayerData(geotiff=self._read_blob(name), published_by=published_by)
        return LayerData(vector=entry.data if entry.data is not None
                         else self._read_raw_vector(name), published_by=published_by)

    def iter_layers(self) -> Iterator[tuple[str, gpd.GeoDataFrame | Grid]]:
        """(name, data) for every layer, read lazily one at a time.

        Examples
        --------
        >>> names = [name for name, _ in Atlas.default().iter_layers()]
        >>> names[0]
        'countries'
        """
        for name in list(self._layers):
            yield name, self.read(name)


class _AllLayers(Mapping[str, LayerData]):
    """Every layer of ``atlas`` as :class:`LayerData`, read one at a time when asked for."""

    def __init__(self, atlas: Atlas, published_by: str = "") -> None:
        self._atlas = atlas
        self._published_by = published_by

    def __getitem__(self, name: str) -> LayerData:
        if name not in self._atlas:
            raise KeyError(name)
        return self._atlas._layer_data(name, self._published_by)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._atlas.layer_names()))

    def __len__(self) -> int:
        return len(self._atlas)


def _recover_if_free(backend: AtlasBackend) -> None:
    """Clean up after killed writers if there is something to clean and no one writes."""
    leftovers = getattr(backend, "leftovers", None)
    if leftovers is None or not leftovers():
        return
    with contextlib.suppress(AtlasLockedError, OSError), backend.lock(timeout_s=0):
        backend.recover()
