"""The atlas store: named, validated layers, a region and an analysis CRS in ONE GeoPackage.

An :class:`Atlas` is what every analysis of the library reads from: species ranges,
corridors, tracks, infrastructure, protected areas, countries, borders, water,
places and base rasters, each a named layer of a known kind (see
:mod:`cami_atlas.schema`), plus the study region (a polygon in EPSG:4326) and the
equal-area CRS analyses run in (default ``ESRI:102025``, Asia North Albers Equal
Area, the CRS of the 2017 CAMI atlas).

File format (format version 1)
------------------------------
One GeoPackage (``.gpkg``, an SQLite file any GIS opens) holding

* one feature table per vector layer, named like the layer, in the layer's own CRS;
* ``cami_atlas_layers`` (attribute table): one row per layer with ``name, kind,
  storage, geometry_type, n_features, crs, source, licence, attribution, date,
  processing``;
* ``cami_atlas_atlas`` (attribute table, one row): ``name, region_wkt,
  analysis_crs, format_version, cami_atlas_version``;
* ``cami_atlas_rasters``: base rasters, one row per raster layer with the
  complete GeoTIFF file (deflate-compressed) as a BLOB, registered in
  ``gpkg_contents`` as an attribute table. Why not GeoPackage tiled rasters:
  GDAL's GPKG raster path (``RASTER_TABLE`` / ``APPEND_SUBDATASET``, 2-D gridded
  coverage extension) was tried and is exact for an int16 raster without nodata,
  but not in general: an int16 nodata value of -32768 came back as 32768 and
  unmasked, a float32 raster of odd width came back with a wrong last column,
  and Byte rasters come back as 4-band RGBA tiles. A GeoTIFF in a BLOB is
  bit-exact for every data type, nodata, ``NaN`` and ``inf``, and keeps the atlas
  one file, so saving stays atomic. (``storage`` is ``"geotiff_blob"`` for these
  rows, ``"vector"`` otherwise.)

Layers are read lazily: :meth:`Atlas.open` reads only the two small metadata
tables; a layer is read (and validated) the first time it is asked for.
:meth:`Atlas.save` writes a complete new file beside the target and moves it into
place with ``os.replace``, so an interrupted save leaves the previous atlas as it
was.

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
import os
import re
import sqlite3
from collections.abc import Iterator
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
from rasterio.io import MemoryFile
from shapely.geometry.base import BaseGeometry

from . import __version__
from ._atomic import atomic_path, check_writable
from ._options import check_option
from .errors import (
    CamiAtlasError,
    CRSError,
    LayerNotFoundError,
    LayerReadError,
    LayerWriteError,
    OutputExistsError,
    SchemaError,
)
from .measure import EQUAL_AREA_CRS
from .raster import Grid
from .schema import KINDS, SCHEMAS
from .validate import validate_layer

__all__ = [
    "ATLAS_TABLE",
    "DEFAULT_ATLAS_FILE",
    "DEFAULT_REGION",
    "FORMAT_VERSION",
    "LAYERS_TABLE",
    "RASTERS_TABLE",
    "Atlas",
    "default_atlas_path",
    "is_atlas_file",
    "layer_summary",
]

#: Version of the file layout written by :meth:`Atlas.save`.
FORMAT_VERSION = 1
#: Name of the per-layer metadata table.
LAYERS_TABLE = "cami_atlas_layers"
#: Name of the one-row atlas table.
ATLAS_TABLE = "cami_atlas_atlas"
#: Name of the table that holds base rasters as GeoTIFF BLOBs.
RASTERS_TABLE = "cami_atlas_rasters"
#: File name of the embedded default atlas.
DEFAULT_ATLAS_FILE = "cami_default_atlas.gpkg"
#: The CAMI region: lon 44..125 E, lat 23..56 N (EPSG:4326).
DEFAULT_REGION = shapely.box(44.0, 23.0, 125.0, 56.0)

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_RESERVED_PREFIXES = ("cami_atlas", "gpkg_", "rtree_", "sqlite_")
_META_COLUMNS = ("name", "kind", "storage", "geometry_type", "n_features", "crs", "source",
                 "licence", "attribution", "date", "processing")
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
    here = Path(__file__).resolve().parent
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


def _sqlite_ro(path: Path) -> contextlib.closing[sqlite3.Connection]:
    uri = path.resolve().as_uri() + "?mode=ro"
    return contextlib.closing(sqlite3.connect(uri, uri=True))


# -- rasters as GeoTIFF bytes --------------------------------------------------------------
_INT_RANGES = {"int16": (-32768, 32767), "int32": (-2147483648, 2147483647)}


def _storage_dtype(values: np.ndarray) -> str:
    """The smallest GeoTIFF dtype that holds ``values`` exactly (NaN aside)."""
    nan = np.isnan(values)
    vals = values[~nan]
    if vals.size and not np.isinf(vals).any() and np.array_equal(vals, np.round(vals)):
        lo, hi = float(vals.min()), float(vals.max())
        for dtype, (dmin, dmax) in _INT_RANGES.items():
            # keep one value free below the range for the nodata sentinel
            if dmin < lo and hi <= dmax:
                return dtype
    if np.array_equal(values.astype("float32").astype("float64"), values, equal_nan=True):
        return "float32"
    return "float64"


def _grid_to_geotiff(grid: Grid) -> bytes:
    """Encode ``grid`` as a deflate GeoTIFF, losslessly; NaN becomes the nodata value.

    Integral values are stored as int16 / int32 (nodata: the grid's own nodata if
    it fits and is unused, else the type's minimum); other values as float32 when
    that is exact, else float64 (NaN stays NaN, the grid's finite nodata is kept).
    """
    values = np.asarray(grid.values, dtype="float64")
    dtype = _storage_dtype(values)
    nan = np.isnan(values)
    nodata: float | None = None
    own = grid.nodata
    if dtype in _INT_RANGES:
        dmin, dmax = _INT_RANGES[dtype]
        usable = (own is not None and np.isfinite(own) and float(own).is_integer()
                  and dmin <= own <= dmax and not (values == own).any())
        nodata = float(own) if usable else float(dmin)
        out = np.where(nan, nodata, values).astype(dtype)
    else:
        if own is not None and np.isfinite(own) and not (values == own).any():
            nodata = float(own)
            out = np.where(nan, nodata, values).astype(dtype)
        else:
            nodata = float("nan") if nan.any() else None
            out = values.astype(dtype)
    rows, cols = values.shape
    profile: dict[str, Any] = dict(
        driver="GTiff", height=rows, width=cols, count=1, dtype=dtype,
        crs=grid.crs.to_wkt() if grid.crs is not None else None, transform=grid.transform,
        compress="deflate", predictor=3 if dtype.startswith("float") else 2)
    if nodata is not None:
        profile["nodata"] = nodata
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(out, 1)
            if grid.name:
                dst.set_band_description(1, grid.name)
        return bytes(mem.read())


def _geotiff_to_grid(blob: bytes, name: str) -> Grid:
    with MemoryFile(blob) as mem, mem.open() as ds:
        data = ds.read(1, masked=True)
        crs = CRS.from_user_input(ds.crs) if ds.crs else None
        values = data.astype("float64").filled(np.nan) if np.ma.is_masked(data) else \
            np.asarray(data.data, dtype="float64")
        return Grid(values, ds.transform, crs, ds.nodata, name)


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
        self.path: Path | None = None
        self.read_only = False
        self._layers: dict[str, _Entry] = {}

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
    def open(cls, path: str | os.PathLike[str]) -> Atlas:
        """Open an atlas GeoPackage; only its metadata is read now.

        Raises
        ------
        LayerReadError
            The file is missing, is not a GeoPackage, or has no atlas tables.

        Examples
        --------
        >>> atlas = Atlas.open(default_atlas_path())
        >>> "railways" in atlas.layer_names()
        True
        """
        path = Path(path)
        if not path.is_file():
            raise LayerReadError(
                f"atlas file {path} does not exist. Give the path of an atlas GeoPackage, or "
                "create one with `cami-atlas layers import SOURCE --kind KIND --atlas "
                f"{path}`.")
        try:
            tables = {str(row[0]) for row in pyogrio.list_layers(path)}
        except Exception as exc:
            raise LayerReadError(f"{path} is not a readable GeoPackage ({exc}).") from None
        if not {LAYERS_TABLE, ATLAS_TABLE} <= tables:
            raise LayerReadError(
                f"{path} is a GeoPackage but not a cami_atlas atlas (no tables {LAYERS_TABLE!r} "
                f"and {ATLAS_TABLE!r}). Import its layers into an atlas with `cami-atlas layers "
                "import` or Atlas.add_layer().")
        info = pyogrio.read_dataframe(path, layer=ATLAS_TABLE, read_geometry=False)
        meta = pyogrio.read_dataframe(path, layer=LAYERS_TABLE, read_geometry=False)
        if len(info) != 1:
            raise LayerReadError(f"{path}: table {ATLAS_TABLE!r} must have one row; "
                                 f"it has {len(info)}.")
        row = info.iloc[0]
        version = int(row["format_version"])
        if version > FORMAT_VERSION:
            raise LayerReadError(
                f"{path} was written in atlas format version {version} by cami_atlas "
                f"{row['cami_atlas_version']}; this cami_atlas ({__version__}) reads up to "
                f"version {FORMAT_VERSION}. Upgrade cami-atlas.")
        atlas = cls(str(row["name"]), region=shapely.from_wkt(str(row["region_wkt"])),
                    analysis_crs=str(row["analysis_crs"]))
        atlas.path = path
        for rec in meta.to_dict("records"):
            clean = {k: (None if (not isinstance(v, str) and pd.isna(v)) else v)
                     for k, v in rec.items() if k in _META_COLUMNS}
            clean["n_features"] = (int(clean["n_features"])
                                   if clean.get("n_features") is not None else None)
            for key in ("attribution", "processing", "date"):
                clean[key] = clean.get(key) or ""
            atlas._layers[str(clean["name"])] = _Entry(meta=clean)
        return atlas

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
        where = f", path={str(self.path)!r}" if self.path else ""
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
    def _read_raw_vector(self, name: str) -> gpd.GeoDataFrame:
        if self.path is None:
            raise LayerReadError(f"layer {name!r} has no data in memory and the atlas no file.")
        try:
            return pyogrio.read_dataframe(self.path, layer=name, use_arrow=True)
        except Exception as exc:
            raise LayerReadError(
                f"could not read layer {name!r} from atlas {self.path}: {exc}") from None

    def _read_blob(self, name: str) -> bytes:
        entry = self._entry(name)
        if entry.blob is not None:
            return entry.blob
        if self.path is None:
            raise LayerReadError(f"raster {name!r} has no data in memory and the atlas no file.")
        with _sqlite_ro(self.path) as con:
            row = con.execute(f"SELECT geotiff FROM {RASTERS_TABLE} WHERE name = ?",
                              (name,)).fetchone()
        if row is None:
            raise LayerReadError(
                f"atlas {self.path} lists raster {name!r} but {RASTERS_TABLE!r} has no data for "
                "it; the file is damaged. Rebuild the atlas or re-import the raster.")
        return bytes(row[0])

    def read(self, name: str) -> gpd.GeoDataFrame | Grid:
        """Layer ``name``: a validated GeoDataFrame in its stored CRS, or a :class:`Grid`.

        Each call returns a new object, so changing it does not change the atlas.

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
        if kind == "raster":
            if entry.data is None:
                entry.data = _geotiff_to_grid(self._read_blob(name), name)
            grid: Grid = entry.data  # type: ignore[assignment]
            return grid.with_values(grid.values.copy())
        if entry.data is None:
            raw = self._read_raw_vector(name)
            entry.data = validate_layer(raw, kind, layer=name, source=str(self.path))
        return entry.data.copy()

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
        from .measure import to_crs  # edges densified: reprojected ranges keep their area

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
            blob = _grid_to_geotiff(grid)
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

    @staticmethod
    def _as_grid(name: str, data: Any) -> Grid:
        if isinstance(data, str | os.PathLike):
            from .io import read_raster

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
            from .io import read_layer

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
                if kind == "raster":
                    self._as_grid(name, _geotiff_to_grid(self._read_blob(name), name))
                else:
                    raw = entry.data if entry.data is not None else self._read_raw_vector(name)
                    validate_layer(raw, kind, layer=name, source=str(self.path or ""))
            except (CamiAtlasError, rasterio.errors.RasterioError) as exc:
                problem = str(exc)
            rows.append(dict(name=name, kind=kind, ok=not problem, problem=problem))
        return pd.DataFrame(rows, columns=["name", "kind", "ok", "problem"])

    # -- saving --------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str] | None = None, *,
             overwrite: bool = False) -> Path:
        """Write the atlas to one GeoPackage, atomically.

        A complete new file is written beside the target and moved into place with
        ``os.replace``: if anything fails, the previous file is untouched and no
        partial file is left. Saving to the file the atlas was opened from (``path``
        omitted or equal) updates it; any other existing file is replaced only with
        ``overwrite=True``. The default atlas is read-only: save it under a new path.

        Returns
        -------
        pathlib.Path
            The file written; the atlas now reads from it.

        Raises
        ------
        OutputExistsError
            ``path`` exists, is not this atlas' file, and ``overwrite`` is false.
        LayerWriteError
            No path given for a new atlas, or the default atlas would be changed in place.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> atlas = Atlas.default()
        >>> atlas.remove_layer("osm_astana")
        >>> out = atlas.save(pathlib.Path(tempfile.mkdtemp()) / "mine.gpkg")
        >>> "osm_astana" in Atlas.open(out)
        False
        """
        if path is None:
            if self.path is None:
                raise LayerWriteError(
                    f"the atlas {self.name!r} has no file yet; give a path, e.g. "
                    "atlas.save('my_atlas.gpkg').")
            target = self.path
        else:
            target = Path(path)
        same = self.path is not None and target.resolve() == self.path.resolve()
        if same and self.read_only:
            raise LayerWriteError(
                f"the default atlas ({self.path}) is read-only; save your changes under a new "
                "path, e.g. atlas.save('my_atlas.gpkg').")
        if target.suffix.lower() != ".gpkg":
            raise LayerWriteError(f"an atlas is a GeoPackage; give a path ending in .gpkg, "
                                  f"got {target}.")
        if not same:
            check_writable(target, overwrite=overwrite)
        try:
            with atomic_path(target, overwrite=True) as tmp:
                self._write_all(tmp)
        except CamiAtlasError:
            raise
        except Exception as exc:
            raise LayerWriteError(
                f"could not write atlas {target} ({type(exc).__name__}: {exc}); the previous "
                "file, if any, is unchanged.") from exc
        self.path = target
        self.read_only = False
        for entry in self._layers.values():
            entry.blob = None
            if entry.meta["kind"] == "raster":
                entry.data = None
        return target

    def _write_all(self, tmp: Path) -> None:
        info = pd.DataFrame([dict(
            name=self.name, region_wkt=self.region.wkt,
            analysis_crs=_crs_text(self.analysis_crs), format_version=FORMAT_VERSION,
            cami_atlas_version=__version__)])
        _write_table(info, tmp, ATLAS_TABLE)
        rasters: dict[str, bytes] = {}
        for name, entry in self._layers.items():
            if entry.meta["kind"] == "raster":
                rasters[name] = self._read_blob(name)
            else:
                gdf = entry.data if entry.data is not None else self._read_raw_vector(name)
                _write_vector(gdf, tmp, name)
        meta = pd.DataFrame([{c: e.meta.get(c) for c in _META_COLUMNS}
                             for e in self._layers.values()], columns=list(_META_COLUMNS))
        meta["n_features"] = meta["n_features"].astype("int64")
        _write_table(meta, tmp, LAYERS_TABLE)
        if rasters:
            _write_rasters(rasters, tmp)

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



def layer_summary(atlas: Atlas) -> pd.DataFrame:
    """One row per layer with what a reader of the atlas wants to know first.

    Columns: ``name, kind, n_features, geometry_type, crs, source, licence,
    length_km, area_km2``. ``length_km`` is the geodesic length on WGS84 of line
    layers (:func:`cami_atlas.measure.geodesic_length_km`); ``area_km2`` the area of
    polygon layers in ESRI:102025 (:func:`cami_atlas.measure.area_km2`); both are
    empty where they do not apply (points, rasters). For rasters ``n_features`` is
    the number of cells.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> atlas = Atlas("demo")
    >>> line = gpd.GeoDataFrame({"infra_type": ["road"]},
    ...                         geometry=[LineString([(0, 0), (1, 0)])], crs="EPSG:4326")
    >>> atlas.add_layer("road", line, "infrastructure", source="hand", licence="CC0-1.0")
    >>> round(float(layer_summary(atlas)["length_km"].iloc[0]), 3)  # 1 degree of the equator
    111.319
    """
    from .measure import area_km2, geodesic_length_km

    rows = []
    for name in atlas.layer_names():
        info = atlas.layer_info(name)
        length = area = np.nan
        if info["kind"] != "raster":
            gdf = atlas.read(name)
            dims = shapely.get_dimensions(gdf.geometry.values)
            if (dims == 1).any():
                length = float(geodesic_length_km(gdf.loc[dims == 1]).sum())
            if (dims == 2).any():
                area = float(area_km2(gdf.loc[dims == 2]).sum())
        rows.append(dict(name=name, kind=info["kind"], n_features=info["n_features"],
                         geometry_type=info["geometry_type"], crs=info["crs"],
                         source=info["source"], licence=info["licence"],
                         length_km=length, area_km2=area))
    out = pd.DataFrame(rows, columns=["name", "kind", "n_features", "geometry_type", "crs",
                                      "source", "licence", "length_km", "area_km2"])
    out["n_features"] = out["n_features"].astype("Int64")
    return out
