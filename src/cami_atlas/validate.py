"""Validate a GeoDataFrame against the schema of its layer kind.

:func:`validate_layer` collects every problem of a layer and raises once, with a
message that names the layer, the column or value, and says how to fix it. It
returns a *new* GeoDataFrame with dtypes coerced and attribute values normalised
to the atlas vocabulary; the caller's data is never changed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._options import check_option
from .errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    SchemaError,
    UnknownValueError,
)
from .schema import (
    KINDS,
    SCHEMAS,
    SPECIES_NAME_PATTERN,
    Column,
    canonical_species_name,
    normalise_value,
)

__all__ = ["CAMI_BBOX", "NODATA_SENTINELS", "check_coordinates", "check_rename",
           "check_route", "describe_where",
           "suggest_column", "validate_layer", "validate_raster"]

_MAX_LISTED = 10

#: Bounding box of the CAMI region (lon 44..125 E, lat 23..56 N), used to recognise
#: swapped (lat, lon) coordinates.
CAMI_BBOX: tuple[float, float, float, float] = (44.0, 23.0, 125.0, 56.0)


def describe_where(layer: str | None, source: str | None) -> str:
    """Human-readable 'layer X in file Y' for messages.

    Examples
    --------
    >>> describe_where("roads", "a.gpkg")
    "layer 'roads' (a.gpkg)"
    """
    if layer and source:
        return f"layer {layer!r} ({source})"
    if layer:
        return f"layer {layer!r}"
    if source:
        return f"layer from {source}"
    return "layer"


def suggest_column(name: str, columns: list[str]) -> str | None:
    """The column in ``columns`` closest to ``name`` (case-insensitive), if any.

    Examples
    --------
    >>> suggest_column("infra_type", ["infra_typ", "geometry"])
    'infra_typ'
    """
    lowered = {c.lower(): c for c in columns}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _fmt(v: float) -> str:
    return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.0f}"


def _inside(b: tuple[float, float, float, float], box: tuple[float, ...]) -> bool:
    return b[0] >= box[0] and b[1] >= box[1] and b[2] <= box[2] and b[3] <= box[3]


def _overlaps(b: tuple[float, float, float, float], box: tuple[float, ...]) -> bool:
    return b[0] <= box[2] and b[2] >= box[0] and b[1] <= box[3] and b[3] >= box[1]


def check_coordinates(gdf: gpd.GeoDataFrame | gpd.GeoSeries, where: str = "layer", *,
                      region_bbox: tuple[float, float, float, float] | None = None,
                      ) -> None:
    """Refuse coordinates that are impossible for the declared CRS, saying what was meant.

    In a geographic CRS (lon/lat): x outside -180..180 or y outside -90..90. Values in
    the thousands or more are projected metres tagged as lon/lat (the message asks for
    the real CRS, e.g. ``--crs EPSG:32643`` for UTM zone 43N); y beyond +-90 with x within
    +-90 are swapped (lat, lon); x between 180 and 360 are 0..360 longitudes. With
    ``region_bbox`` (lon/lat, e.g. :data:`CAMI_BBOX`), a layer entirely outside it that
    lies entirely inside it once x and y are exchanged is refused as (lat, lon). In a
    UTM CRS, coordinates that all lie within +-180 / +-90 (impossible eastings) are
    lon/lat degrees tagged as UTM.

    Raises
    ------
    CRSError
        With the layer (``where``), the offending values and the fix.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> utm = gpd.GeoSeries([Point(712345, 4651234)], crs="EPSG:4326")
    >>> try:
    ...     check_coordinates(utm, "layer 'roads'")
    ... except CRSError as exc:
    ...     print(str(exc)[:85])
    layer 'roads': x values up to 712345 are not longitudes; the data look like projected
    """
    if gdf.crs is None or len(gdf) == 0:
        return
    b = shapely.bounds(gdf.geometry.values if isinstance(gdf, gpd.GeoDataFrame)
                       else gdf.values)
    ok = ~np.isnan(b).any(axis=1)
    if not ok.any():
        return
    minx, miny = float(b[ok, 0].min()), float(b[ok, 1].min())
    maxx, maxy = float(b[ok, 2].max()), float(b[ok, 3].max())
    crs_text = gdf.crs.to_string()
    if gdf.crs.is_geographic:
        big_x = max(abs(minx), abs(maxx))
        big_y = max(abs(miny), abs(maxy))
        if big_x <= 180 and big_y <= 90:
            if region_bbox is not None:
                own = (minx, miny, maxx, maxy)
                swapped = (miny, minx, maxy, maxx)
                if not _overlaps(own, region_bbox) and _inside(swapped, region_bbox):
                    raise CRSError(
                        f"{where}: the coordinates (x {_fmt(minx)}..{_fmt(maxx)}, y "
                        f"{_fmt(miny)}..{_fmt(maxy)}) lie outside the study region "
                        f"{tuple(region_bbox)} (lon/lat) but inside it once x and y are "
                        "exchanged: the coordinates look like (lat, lon): "
                        "swap them so that x is the longitude and y the latitude.")
            return
        if big_x > 360 or big_y > 360:
            axis, value = ("x", big_x) if big_x > 180 else ("y", big_y)
            what = "longitudes" if axis == "x" else "latitudes"
            raise CRSError(
                f"{where}: {axis} values up to {_fmt(value)} are not {what}; the data look "
                f"like projected metres (UTM?) tagged as {crs_text}. Set the CRS they are "
                "actually in, e.g. --crs EPSG:32643 for UTM zone 43N (in Python "
                "gdf.set_crs('EPSG:32643', allow_override=True)), or re-export the file "
                "with its real CRS.")
        if big_y > 90 and big_x <= 90:
            raise CRSError(
                f"{where}: y values up to {_fmt(big_y)} are not latitudes (-90..90) while x "
                f"stays within {_fmt(big_x)}: the coordinates look like (lat, lon): swap them "
                "so that x is the longitude and y the latitude.")
        if big_y > 90:
            raise CRSError(
                f"{where}: y values up to {_fmt(big_y)} are not latitudes (-90..90) in "
                f"{crs_text}; fix those values or set the CRS the data are actually in.")
        raise CRSError(
            f"{where}: x values up to {_fmt(maxx if abs(maxx) >= abs(minx) else minx)} are "
            "not longitudes (-180..180); if the data use 0..360 longitudes, subtract 360 "
            "from those above 180, otherwise fix those values.")
    if (gdf.crs.utm_zone is not None and max(abs(minx), abs(maxx)) <= 180
            and max(abs(miny), abs(maxy)) <= 90):
        raise CRSError(
            f"{where}: the coordinates (x {_fmt(minx)}..{_fmt(maxx)}, y {_fmt(miny)}.."
            f"{_fmt(maxy)}) look like longitude/latitude degrees but the layer is tagged "
            f"{crs_text} (metres); set the CRS they are actually in, e.g. --crs EPSG:4326 "
            "(in Python gdf.set_crs('EPSG:4326', allow_override=True)), or re-export the "
            "file with its real CRS.")


def _ids(gdf: gpd.GeoDataFrame, mask: np.ndarray) -> str:
    key = gdf["source_id"] if "source_id" in gdf.columns else gdf.index.to_series()
    picked = list(key[mask][:_MAX_LISTED])
    more = int(mask.sum()) - len(picked)
    text = ", ".join(str(v) for v in picked)
    return text + (f" and {more} more" if more > 0 else "")


def _coerce(series: pd.Series, col: Column, where: str) -> pd.Series:
    try:
        if col.dtype == "string":
            out = series.astype(object)
            return out.where(series.isna(), series.astype(str)).where(series.notna(), None)
        if col.dtype == "int":
            return pd.to_numeric(series, errors="raise").astype("Int64")
        if col.dtype == "float":
            return pd.to_numeric(series, errors="raise").astype("float64")
        if col.dtype == "bool":
            if series.dtype == bool:
                return series
            mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True,
                       "no": False, "t": True, "f": False}
            mapped = series.map(lambda v: v if isinstance(v, bool | np.bool_) or pd.isna(v)
                                else mapping[str(v).strip().lower()])
            return mapped.astype("boolean")
        if col.dtype == "datetime":
            ts = pd.to_datetime(series, utc=True, errors="raise", format="mixed")
            return ts
    except (ValueError, TypeError, KeyError) as exc:
        raise SchemaError(
            f"{where}: column {col.name!r} must be of type {col.dtype}; could not convert "
            f"({exc}). Fix the values in the source or map the column first."
        ) from None
    return series


def validate_layer(
    gdf: gpd.GeoDataFrame,
    kind: str,
    *,
    layer: str | None = None,
    source: str | None = None,
    repair: bool = False,
    region_bbox: tuple[float, float, float, float] | None = None,
) -> gpd.GeoDataFrame:
    """Check ``gdf`` against the schema of ``kind`` and return a normalised copy.

    Checks, in order: a CRS is set; the layer is not empty; the coordinates are
    possible in that CRS (:func:`check_coordinates`); column names are unique; the
    required columns
    exist (a misspelled one is named with the closest match); geometry types are
    those of the kind; categorical values are in the vocabulary (after normalising
    aliases, e.g. ``double`` -> ``double track``); dtypes convert; geometries are
    valid. Every problem found is reported in one error.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer.
    kind : str
        One of :data:`cami_atlas.schema.KINDS` except ``"raster"``.
    layer, source : str, optional
        Layer name and file, used in messages.
    repair : bool, default False
        Drop features without geometry and repair invalid geometries
        (``shapely.make_valid``, keeping the kind's geometry family) instead of
        raising.
    region_bbox : tuple, optional
        lon/lat box of the study region (e.g. :data:`CAMI_BBOX`), used to recognise
        swapped (lat, lon) coordinates (:func:`check_coordinates`); default ``None``:
        only coordinates outside -180..180 / -90..90 are recognised as swapped.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the same index and CRS, dtypes coerced, values normalised.

    Raises
    ------
    CRSError, EmptyLayerError, MissingColumnError, GeometryTypeError,
    UnknownValueError, InvalidGeometryError, SchemaError
        All subclasses of :class:`cami_atlas.errors.CamiAtlasError`. When a layer has
        several problems, the error is of the class of the first one and its message
        lists them all.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> roads = gpd.GeoDataFrame({"infra_type": ["road"], "track": [None]},
    ...                          geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")
    >>> validate_layer(roads, "infrastructure")["infra_type"].tolist()
    ['road']
    """
    check_option("kind", kind, [k for k in KINDS if k != "raster"])
    where = describe_where(layer, source)
    schema = SCHEMAS[kind]
    a_kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    missing_geom = _check_frame(gdf, where, a_kind, region_bbox)
    problems: list[tuple[type[SchemaError], str]] = []
    problems += _missing_column_problems(gdf, schema, where, a_kind)
    out, geoms, geom_problems = _drop_missing_geometries(gdf, missing_geom, where, repair)
    problems += geom_problems
    problems += _geometry_type_problems(out, geoms, schema, where, a_kind)
    out, value_problems = _check_values(out, schema, where)
    problems += value_problems
    out, validity_problems = _check_validity(out, schema, where, repair)
    problems += validity_problems
    if problems:
        cls = problems[0][0]
        if len(problems) == 1:
            raise cls(problems[0][1])
        listed = "\n".join(f"  - {msg}" for _, msg in problems)
        raise cls(f"{where} has {len(problems)} problems:\n{listed}")
    return out


def _check_frame(gdf: gpd.GeoDataFrame, where: str, a_kind: str,
                 region_bbox: tuple[float, float, float, float] | None) -> np.ndarray:
    """Raise at once if ``gdf`` is no GeoDataFrame, has no CRS, is empty, has
    impossible coordinates or duplicate column names; return the no-geometry mask."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(f"{where}: expected a GeoDataFrame, got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise CRSError(
            f"{where} has no CRS. Set the CRS the data is actually in, e.g. "
            f"gdf.set_crs('EPSG:4326') (or --crs EPSG:4326 on the command line); "
            "do not guess."
        )
    geoms = gdf.geometry.values
    missing_geom = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(gdf) == 0 or missing_geom.all():
        raise EmptyLayerError(
            f"{where} is empty (no features with a geometry); {a_kind} layer needs at "
            "least one. Check the file, the layer name and any filter you applied."
        )
    check_coordinates(gdf, where, region_bbox=region_bbox)
    duplicated = [str(c) for c in gdf.columns[gdf.columns.duplicated()]]
    if duplicated:
        raise SchemaError(
            f"{where}: column name(s) {', '.join(map(repr, dict.fromkeys(duplicated)))} occur "
            "more than once; rename or drop the duplicates in the source.")
    return missing_geom


def _missing_column_problems(gdf: gpd.GeoDataFrame, schema: Any, where: str, a_kind: str
                             ) -> list[tuple[type[SchemaError], str]]:
    """One problem listing the required columns of ``schema`` that ``gdf`` lacks,
    each with the closest present name to rename (if any)."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    missing = [c for c in schema.required if c not in gdf.columns]
    if not missing:
        return []
    parts = []
    for name in missing:
        close = suggest_column(name, columns)
        parts.append(f"{name!r}" + (f" (found {close!r}: rename it)" if close else ""))
    return [(
        MissingColumnError,
        f"{where}: missing required column(s) {', '.join(parts)} for {a_kind} layer. "
        f"Required: {', '.join(schema.required)}; present: {', '.join(columns) or 'none'}.",
    )]


def _drop_missing_geometries(gdf: gpd.GeoDataFrame, missing_geom: np.ndarray, where: str,
                             repair: bool
                             ) -> tuple[gpd.GeoDataFrame, Any, list[tuple[type[SchemaError], str]]]:
    """Copy ``gdf``; with ``repair`` drop features without geometry, else report them.

    Returns the copy, its geometries (``None`` where missing) and the problems.
    """
    out = gdf.copy()
    geoms = out.geometry.values
    if not missing_geom.any():
        return out, geoms, []
    if repair:
        out = out.loc[~missing_geom].copy()
        return out, out.geometry.values, []
    problem = (
        InvalidGeometryError,
        f"{where}: {int(missing_geom.sum())} feature(s) have no geometry (ids "
        f"{_ids(gdf, missing_geom)}); drop them or pass repair=True (--repair).",
    )
    return out, np.where(missing_geom, None, geoms), [problem]


def _geometry_type_problems(out: gpd.GeoDataFrame, geoms: Any, schema: Any, where: str,
                            a_kind: str) -> list[tuple[type[SchemaError], str]]:
    """One problem if some of ``geoms`` are of a type ``schema`` does not hold."""
    types = pd.Series(shapely.get_type_id(geoms)).map(
        {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
         5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection", -1: None})
    bad_type = (types.notna() & ~types.isin(schema.geometry_types)).to_numpy()
    if not bad_type.any():
        return []
    found = sorted(set(types[bad_type]))
    return [(
        GeometryTypeError,
        f"{where}: {int(bad_type.sum())} feature(s) are {', '.join(found)} but {a_kind} "
        f"layer holds {', '.join(schema.geometry_types)} (ids {_ids(out, bad_type)}). "
        "Use the right layer kind, or convert (e.g. polygon.boundary for lines, "
        "explode() for collections).",
    )]


def _check_values(out: gpd.GeoDataFrame, schema: Any, where: str
                  ) -> tuple[gpd.GeoDataFrame, list[tuple[type[SchemaError], str]]]:
    """Normalise species names and vocabulary aliases, check emptiness, coerce dtypes.

    Returns ``out`` with the schema's columns coerced (where they convert) and the
    problems (unknown values, empty required values, failed conversions).
    """
    problems: list[tuple[type[SchemaError], str]] = []
    for col in schema.columns:
        if col.name not in out.columns:
            continue
        series = out[col.name]
        if col.name == "species":
            series = series.map(lambda v: canonical_species_name(v) if isinstance(v, str) else v)
            bad = series.notna() & ~series.map(
                lambda v: bool(SPECIES_NAME_PATTERN.match(str(v))))
            if bad.any():
                values = sorted(set(series[bad].astype(str)))[:_MAX_LISTED]
                problems.append((
                    UnknownValueError,
                    f"{where}: column 'species' holds {int(bad.sum())} name(s) that are not "
                    f"scientific names ({', '.join(map(repr, values))}); use binomials such "
                    "as 'Procapra_gutturosa' or 'Saiga tatarica'.",
                ))
        if col.allowed is not None:
            series = series.map(lambda v, c=col.name: normalise_value(c, v))
            unknown = series.notna() & ~series.isin(col.allowed)
            if unknown.any():
                counts = series[unknown].astype(str).value_counts()
                shown = ", ".join(f"{v!r} ({n}x)" for v, n in counts.head(_MAX_LISTED).items())
                problems.append((
                    UnknownValueError,
                    f"{where}: column {col.name!r} has unknown value(s) {shown}. "
                    f"Allowed: {', '.join(map(repr, col.allowed))} (or leave it empty).",
                ))
        if not col.nullable and series.isna().any():
            problems.append((
                SchemaError,
                f"{where}: column {col.name!r} must not be empty; "
                f"{int(series.isna().sum())} row(s) have no value "
                f"(ids {_ids(out, series.isna().to_numpy())}).",
            ))
        try:
            out[col.name] = _coerce(series, col, where)
        except SchemaError as exc:
            problems.append((SchemaError, str(exc)))
    return out, problems


def _check_validity(out: gpd.GeoDataFrame, schema: Any, where: str, repair: bool
                    ) -> tuple[gpd.GeoDataFrame, list[tuple[type[SchemaError], str]]]:
    """Repair invalid geometries of ``out`` (``repair``) or report them with a reason."""
    valid = np.asarray(shapely.is_valid(out.geometry.values))
    present = ~np.asarray(shapely.is_missing(out.geometry.values))
    invalid = present & ~valid
    if not invalid.any():
        return out, []
    if repair:
        return _repair(out, invalid, schema.geometry_types), []
    reasons = shapely.is_valid_reason(out.geometry.values[invalid])
    return out, [(
        InvalidGeometryError,
        f"{where}: {int(invalid.sum())} invalid "
        f"geometr{'y' if invalid.sum() == 1 else 'ies'}"
        f" (ids {_ids(out, invalid)}; first reason: {reasons[0]}). Repair them with "
        "repair=True (--repair), which applies shapely.make_valid.",
    )]


def _repair(
    gdf: gpd.GeoDataFrame, invalid: np.ndarray, allowed: tuple[str, ...]
) -> gpd.GeoDataFrame:
    out = gdf.copy()
    fixed = shapely.make_valid(out.geometry.values[invalid])
    # keep only the parts of the kind's family (a repaired polygon can carry stray lines)
    family = {"Polygon": 2, "MultiPolygon": 2, "LineString": 1, "MultiLineString": 1,
              "Point": 0, "MultiPoint": 0}
    dims = {family[t] for t in allowed if t in family}
    if len(dims) == 1:
        dim = dims.pop()
        parts, idx = shapely.get_parts(fixed, return_index=True)
        keep = shapely.get_dimensions(parts) == dim
        merged = [None] * len(fixed)
        for i in np.unique(idx[keep]):
            sel = parts[keep & (idx == i)]
            merged[i] = sel[0] if len(sel) == 1 else shapely.union_all(sel)
        fixed = np.array(merged, dtype=object)
    geoms = out.geometry.values.copy()
    geoms[invalid] = fixed
    out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    gone = shapely.is_missing(out.geometry.values) | shapely.is_empty(out.geometry.values)
    return out.loc[~np.asarray(gone)]


#: Values that mark missing cells in rasters that do not declare their nodata value
#: (SRTM/GMTED voids, ArcGIS and GDAL defaults, float32 lowest).
NODATA_SENTINELS: tuple[float, ...] = (-9999.0, -32768.0, -32767.0, -99999.0,
                                       float(np.finfo("float32").min))


def validate_raster(grid: object, where: str = "raster", *,
                    region_bbox: tuple[float, float, float, float] | None = CAMI_BBOX,
                    ) -> dict[str, object]:
    """Check a raster layer: readable, CRS present, nodata declared, plausible coordinates.

    Parameters
    ----------
    grid : Grid or path
        A :class:`~cami_atlas.raster.Grid` or the path of a GeoTIFF (any raster GDAL
        reads; an unreadable or corrupt file raises
        :class:`~cami_atlas.errors.LayerReadError`).
    where : str
        The layer or file, for messages.
    region_bbox : tuple, optional
        The study region (lon/lat); a raster entirely outside it that lies inside it
        once x and y are exchanged is refused as (lat, lon).

    Returns
    -------
    dict
        ``rows``, ``cols``, ``cell_size`` (in CRS units), ``unit`` (of the CRS, e.g.
        ``"metre"``, ``"degree"``), ``crs``, ``nodata`` (the
        declared value or None), ``nodata_cells``, ``min``, ``max``, ``bounds``.

    Raises
    ------
    CRSError
        No CRS, or coordinates impossible in the CRS (see :func:`check_coordinates`).
    SchemaError
        Every cell is nodata, or the raster declares no nodata value while cells hold a
        usual nodata marker such as -9999 or -32768 (they would be read as data).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> g = Grid(np.array([[1.0, np.nan]]), Affine(0.5, 0, 70, 0, -0.5, 45), "EPSG:4326",
    ...          nodata=-9999.0)
    >>> info = validate_raster(g, "dem.tif")
    >>> info["nodata_cells"], info["min"], info["crs"]
    (1, 1.0, 'EPSG:4326')
    >>> bad = Grid(np.array([[1.0, -32768.0]]), Affine(0.5, 0, 70, 0, -0.5, 45), "EPSG:4326")
    >>> try:
    ...     validate_raster(bad, "dem.tif")
    ... except SchemaError as exc:
    ...     print(str(exc)[:71])
    dem.tif: no nodata value is declared but 1 cell(s) hold -32768, a usual
    """
    import os

    from .raster import Grid

    if isinstance(grid, str | os.PathLike):
        grid = Grid.from_geotiff(grid)
    if not isinstance(grid, Grid):
        raise SchemaError(f"{where}: expected a raster (Grid or GeoTIFF path); "
                          f"got {type(grid).__name__}.")
    if grid.crs is None:
        raise CRSError(
            f"{where} has no CRS; set the CRS the data are in, e.g. `gdal_edit.py -a_srs "
            "EPSG:4326 FILE`, or `cami-atlas layers import FILE --kind raster --crs "
            "EPSG:4326 ...`.")
    values = np.asarray(grid.values, dtype="float64")
    missing = np.isnan(values)
    if missing.all():
        raise SchemaError(f"{where} holds no values: every cell is nodata; check the band "
                          "and the nodata value of the file.")
    if grid.nodata is None:
        for sentinel in NODATA_SENTINELS:
            n = int(np.count_nonzero(values == sentinel))
            if n:
                raise SchemaError(
                    f"{where}: no nodata value is declared but {n:,} cell(s) hold "
                    f"{_fmt(sentinel)}, a usual nodata marker (read as data they would "
                    f"distort every analysis); declare it, e.g. `gdal_edit.py -a_nodata "
                    f"{_fmt(sentinel)} FILE`.")
    left, bottom, right, top = grid.bounds
    check_coordinates(gpd.GeoSeries([shapely.box(left, bottom, right, top)], crs=grid.crs),
                      where, region_bbox=region_bbox)
    finite = values[np.isfinite(values)]
    return {"rows": grid.shape[0], "cols": grid.shape[1],
            "cell_size": float(abs(grid.transform.a)),
            "unit": grid.crs.axis_info[0].unit_name if grid.crs.axis_info else "",
            "crs": grid.crs.to_string(),
            "nodata": grid.nodata, "nodata_cells": int(missing.sum()),
            "min": float(finite.min()) if finite.size else float("nan"),
            "max": float(finite.max()) if finite.size else float("nan"),
            "bounds": (left, bottom, right, top)}


def check_rename(rename: Mapping[str, str], columns: Sequence[str],
                 where: str = "layer") -> dict[str, str]:
    """Check a column mapping ``{source column: schema column}`` against ``columns``.

    Raises
    ------
    MissingColumnError
        A source column is not in ``columns``; the message names the closest column.
    SchemaError
        A target is empty, or two columns would end up with the same name.

    Examples
    --------
    >>> check_rename({"typ": "infra_type"}, ["typ", "geometry"], "roads.gpkg")
    {'typ': 'infra_type'}
    >>> try:
    ...     check_rename({"tpye": "infra_type"}, ["type", "geometry"], "roads.gpkg")
    ... except MissingColumnError as exc:
    ...     print(str(exc).split("; ")[1])
    did you mean 'type'? (columns: type, geometry)
    """
    cols = [str(c) for c in columns]
    out: dict[str, str] = {}
    for src, dst in rename.items():
        src, dst = str(src).strip(), str(dst).strip()
        if src not in cols:
            close = suggest_column(src, cols)
            hint = f"did you mean {close!r}? " if close else ""
            raise MissingColumnError(
                f"{where}: column mapping names source column {src!r}, which is not in the "
                f"file; {hint}(columns: {', '.join(cols)})")
        if not dst:
            raise SchemaError(f"{where}: column mapping gives source column {src!r} no "
                              "target name; write it as SRC=DST, e.g. typ=infra_type.")
        out[src] = dst
    result = [out.get(c, c) for c in cols]
    dup = sorted({c for c in result if result.count(c) > 1})
    if dup:
        raise SchemaError(
            f"{where}: after the column mapping, column name(s) {', '.join(map(repr, dup))} "
            "would occur twice; rename the existing column too or map another one.")
    return out


_LINE_IDS = (1, 5)  # LineString, MultiLineString
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


def check_route(route: object, region: shapely.Polygon | None = None, *,
                what: str = "route") -> gpd.GeoDataFrame:
    """Check a proposed route and return it as a GeoDataFrame of its line features.

    Raises
    ------
    SchemaError
        Not a GeoDataFrame/GeoSeries, or entirely outside ``region`` (EPSG:4326).
    CRSError
        No CRS.
    EmptyLayerError
        No feature with a geometry.
    GeometryTypeError
        Geometries other than (multi)lines, or a line of zero length (a single point).
    CRSError
        Coordinates impossible in the declared CRS, or (lat, lon) swapped
        (:func:`cami_atlas.validate.check_coordinates`, against ``region``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> r = gpd.GeoSeries([LineString([(70, 45), (71, 45)])], crs="EPSG:4326")
    >>> len(check_route(r, box(44, 23, 125, 56)))
    1
    """
    if isinstance(route, gpd.GeoSeries):
        route = route.to_frame("geometry")
    if not isinstance(route, gpd.GeoDataFrame):
        raise SchemaError(
            f"{what}: expected a GeoDataFrame or GeoSeries of lines, got "
            f"{type(route).__name__}; read a file with cami_atlas.io.read_vector(path).")
    geoms = route.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        raise EmptyLayerError(
            f"{what} is empty: it has {len(route)} feature(s) and none with a geometry. Draw "
            "the alignment as a LineString.")
    if route.crs is None:
        raise CRSError(
            f"{what} has no CRS; set the CRS its coordinates are actually in (e.g. "
            "route.set_crs('EPSG:4326'), or add a .prj / CRS to the file). A route without a "
            "CRS cannot be placed on the atlas.")
    types = shapely.get_type_id(geoms[present])
    bad = ~np.isin(types, _LINE_IDS)
    if bad.any():
        found = sorted({_TYPE_NAMES.get(int(t), str(t)) for t in types[bad]})
        raise GeometryTypeError(
            f"{what} holds {', '.join(found)} geometries; a route is LineString or "
            "MultiLineString (use .boundary for a polygon outline).")
    out = route.loc[present].copy()
    check_coordinates(out, what, region_bbox=None if region is None else region.bounds)
    parts, owner = shapely.get_parts(out.geometry.values, return_index=True)
    flat = np.bincount(owner[shapely.length(parts) == 0], minlength=len(out)) > 0
    if flat.any():
        labels = ", ".join(str(i) for i in out.index[flat][:10])
        raise GeometryTypeError(
            f"{what}: {int(flat.sum())} feature(s) (row(s) {labels}) have a line of "
            "zero length (a single point, or all vertices at the same place); a route "
            "needs at least two distinct points: fix or remove those features.")
    if region is not None:
        ll = out.geometry.to_crs("EPSG:4326")
        if not shapely.intersects(ll.values, region).any():
            minx, miny, maxx, maxy = (round(float(v), 4) for v in ll.total_bounds)
            rb = tuple(round(float(v), 2) for v in region.bounds)
            raise SchemaError(
                f"{what} lies entirely outside the atlas region: its bounds in lon/lat are "
                f"({minx}, {miny}, {maxx}, {maxy}), the region's {rb}. Check the CRS of the "
                "file (a lat/lon file declared in another CRS, or swapped axes, moves it "
                "far away) or use an atlas that covers the route.")
    return out
