"""Read vector layers from files: GeoPackage, Shapefile (also zipped), GeoJSON, FlatGeobuf,
GeoParquet and OpenStreetMap ``.osm.pbf`` (raw GDAL layers).

:func:`read_vector` returns the layer as stored (no validation, no mapping); errors are
:class:`~cami_atlas.errors.LayerReadError` (missing, corrupt or unreadable file, unknown
format) and :class:`~cami_atlas.errors.LayerNotFoundError` (layer name).
"""

from __future__ import annotations

import difflib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pyogrio
import shapely

from .._options import check_option
from ..errors import LayerNotFoundError, LayerReadError, OptionError

__all__ = ["ENGINES", "SUPPORTED_FORMATS", "format_of", "list_layers", "read_vector"]

#: File name ending -> format name, for every vector format :func:`read_vector` reads.
SUPPORTED_FORMATS: dict[str, str] = {
    ".gpkg": "GeoPackage",
    ".shp": "ESRI Shapefile",
    ".zip": "zipped ESRI Shapefile",
    ".geojson": "GeoJSON",
    ".json": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".kml": "KML",
    ".parquet": "GeoParquet",
    ".geoparquet": "GeoParquet",
    ".osm.pbf": "OpenStreetMap PBF",
    ".osm": "OpenStreetMap XML",
}

#: Reading engines (``fiona`` only where it is installed and not for GeoParquet or OSM).
ENGINES: tuple[str, ...] = ("pyogrio", "fiona")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".osm.pbf"):
        return ".osm.pbf"
    return path.suffix.lower()


def format_of(path: str | os.PathLike[str]) -> str:
    """Name of the vector format of ``path``, from its extension.

    Raises
    ------
    LayerReadError
        The extension is not one of :data:`SUPPORTED_FORMATS`.

    Examples
    --------
    >>> format_of("ranges.gpkg"), format_of("helsinki.osm.pbf"), format_of("roads.shp.zip")
    ('GeoPackage', 'OpenStreetMap PBF', 'zipped ESRI Shapefile')
    """
    path = Path(path)
    suffix = _suffix(path)
    if suffix not in SUPPORTED_FORMATS:
        listed = ", ".join(f"{ext} ({name})" for ext, name in SUPPORTED_FORMATS.items())
        raise LayerReadError(
            f"{path}: the extension {suffix or '(none)'!r} is not a supported vector format. "
            f"Supported: {listed}. Convert the file (e.g. with ogr2ogr) or rename it to its "
            "real extension."
        )
    return SUPPORTED_FORMATS[suffix]


def _existing(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"file {path} does not exist; check the path and the working "
                             f"directory ({Path.cwd()}).")
    return path


def _driver_message(exc: BaseException) -> str:
    text = str(exc).strip()
    # pyogrio's hint about '<DRIVER>:' prefixes does not apply to our callers
    return text.split("; It might help", 1)[0]


def _read_error(path: Path, fmt: str, exc: BaseException) -> LayerReadError:
    if "point array must contain 0 or >1 elements" in str(exc):
        return LayerReadError(
            f"{path}: a line feature has a single point, which is not a line (GEOS: "
            f"{_driver_message(exc)}); a line needs at least two distinct points: fix or "
            "remove that feature (or store it as a Point)."
        )
    return LayerReadError(
        f"could not read {path} as {fmt}: {_driver_message(exc)}. The file may be corrupt, "
        "truncated or not really a " + fmt + " file; re-export or re-download it."
    )


@dataclass(frozen=True)
class _Layer:
    source: str  # what GDAL opens
    layer: str | None  # layer name to pass (None: the only layer of the source)


def _zip_members(path: Path) -> dict[str, str]:
    """Shapefiles inside a zip: layer name (file stem) -> member path."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _read_error(path, "zipped ESRI Shapefile", exc) from exc
    shps = [n for n in names if n.lower().endswith(".shp") and "__MACOSX" not in n]
    if not shps:
        shown = ", ".join(names[:10]) + (" ..." if len(names) > 10 else "")
        raise LayerReadError(
            f"{path} holds no shapefile (.shp); members: {shown or 'none'}. A .zip is read as "
            "a zipped shapefile; unzip other formats first."
        )
    return {PurePosixPath(n).stem: n for n in sorted(shps)}


def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector file.

    Single-layer formats (Shapefile, GeoJSON, FlatGeobuf, GeoParquet) give one name; a
    zip gives the stem of every shapefile inside it (also in sub-folders).

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import Point
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "two.gpkg"
    >>> g = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    >>> g.to_file(p, layer="first"); g.to_file(p, layer="second")
    >>> list_layers(p)
    ['first', 'second']
    """
    path = _existing(path)
    fmt = format_of(path)
    if fmt == "GeoParquet":
        return [path.stem]
    if fmt == "zipped ESRI Shapefile":
        return list(_zip_members(path))
    try:
        layers = pyogrio.list_layers(path)
    except (RuntimeError, OSError, ValueError) as exc:
        raise _read_error(path, fmt, exc) from exc
    return [str(name) for name in layers[:, 0]]


def _pick_layer(path: Path, layers: list[str], layer: str | None) -> str:
    if layer is None:
        if len(layers) == 1:
            return layers[0]
        raise LayerNotFoundError(
            f"{path} holds {len(layers)} layers ({', '.join(map(repr, layers))}); say which one "
            "to read with layer=... (--layer on the command line)."
        )
    if layer in layers:
        return layer
    close = difflib.get_close_matches(str(layer), layers, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise LayerNotFoundError(
        f"{path} has no layer {layer!r}; available: {', '.join(map(repr, layers))}.{hint}"
    )


def _resolve(path: Path, fmt: str, layer: str | None) -> _Layer:
    if fmt == "zipped ESRI Shapefile":
        members = _zip_members(path)
        name = _pick_layer(path, list(members), layer)
        return _Layer(f"/vsizip/{path.resolve().as_posix()}/{members[name]}", None)
    layers = list_layers(path)
    name = _pick_layer(path, layers, layer)
    return _Layer(str(path), name)


def _read_fiona(source: str, layer: str | None) -> gpd.GeoDataFrame:
    try:
        import fiona  # noqa: F401
    except ImportError:
        raise OptionError(
            "engine='fiona' needs the fiona package, which is not installed; install it "
            "(pip install fiona, or pip install 'cami-atlas[fiona]') or use the default "
            "engine='pyogrio'."
        ) from None
    return gpd.read_file(source, layer=layer, engine="fiona")


def read_vector(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    engine: str = "pyogrio",
) -> gpd.GeoDataFrame:
    """Read one layer of a vector file as stored (not validated, attributes unchanged).

    Formats (by extension, see :data:`SUPPORTED_FORMATS`): GeoPackage, Shapefile,
    zipped Shapefile (``.zip``, shapefiles may sit in a folder inside it; each is a
    layer), GeoJSON, FlatGeobuf, GeoParquet (read with pyarrow), OpenStreetMap
    ``.osm.pbf`` / ``.osm`` (the raw GDAL layers ``points``, ``lines``, ... read with
    the shipped ``osmconf.ini``; use :func:`cami_atlas.io.read_osm_pbf` for mapped
    infrastructure).

    Parameters
    ----------
    path : path-like
        The file.
    layer : str, optional
        Layer to read; may be omitted when the file has only one.
    engine : {"pyogrio", "fiona"}, default "pyogrio"
        GDAL binding used by geopandas. ``"fiona"`` needs fiona installed and does not
        read GeoParquet or OSM files.

    Returns
    -------
    geopandas.GeoDataFrame
        The layer with the CRS stored in the file (``None`` if it has none).

    Raises
    ------
    LayerReadError
        Missing file, unknown extension, corrupt or unreadable file (the message names
        the file and quotes the driver), a column name that occurs twice, a line with a
        single point.
    LayerNotFoundError
        ``layer`` is not in the file, or the file has several layers and none was named.
    OptionError
        Unknown ``engine``, or fiona requested but not installed.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import LineString
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "roads.geojson"
    >>> gpd.GeoDataFrame({"type1": ["highway"]}, geometry=[LineString([(70, 50), (71, 51)])],
    ...                  crs="EPSG:4326").to_file(p)
    >>> g = read_vector(p)
    >>> g["type1"].tolist(), g.crs.to_epsg()
    (['highway'], 4326)
    """
    check_option("engine", engine, ENGINES)
    path = _existing(path)
    fmt = format_of(path)
    if engine == "fiona" and fmt in ("GeoParquet", "OpenStreetMap PBF", "OpenStreetMap XML"):
        raise OptionError(
            f"{path}: engine='fiona' cannot read {fmt} (fiona does not enable that driver); "
            "use engine='pyogrio' (the default)."
        )
    if fmt == "GeoParquet":
        _pick_layer(path, [path.stem], layer)
        try:
            gdf = gpd.read_parquet(path)
        except (ValueError, OSError, TypeError, RuntimeError) as exc:
            raise _read_error(path, fmt, exc) from exc
        return _unique_columns(gdf, path, None)
    where = _resolve(path, fmt, layer)
    try:
        if fmt.startswith("OpenStreetMap"):
            from ..sources.osm import osm_config

            with osm_config():
                gdf = pyogrio.read_dataframe(where.source, layer=where.layer)
        elif engine == "fiona":
            gdf = _read_fiona(where.source, where.layer)
        else:
            gdf = pyogrio.read_dataframe(where.source, layer=where.layer)
    except OptionError:
        raise
    except (RuntimeError, OSError, ValueError, shapely.errors.ShapelyError) as exc:
        raise _read_error(path, fmt, exc) from exc
    return _unique_columns(gdf, path, where.layer)


def _unique_columns(gdf: gpd.GeoDataFrame, path: Path, layer: str | None) -> gpd.GeoDataFrame:
    dup = [str(c) for c in dict.fromkeys(gdf.columns[gdf.columns.duplicated()])]
    if dup:
        raise LayerReadError(
            f"{path}" + (f" layer {layer!r}" if layer else "") + f" has the column name(s) "
            f"{', '.join(map(repr, dup))} more than once; rename or delete the duplicates "
            "in the source (e.g. in QGIS or with ogr2ogr -sql) so that each name is unique.")
    return gdf
