"""Small shared helpers of the hotspot package (input checks, CRS alignment)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import CRSError, EmptyLayerError, GeometryTypeError, MissingColumnError, SchemaError
from ..measure import require_crs, to_crs
from ..validate import suggest_column

_POLYGONAL = ("Polygon", "MultiPolygon")


def check_frame(data: Any, what: str) -> gpd.GeoDataFrame:
    """Return ``data`` as a GeoDataFrame with a CRS, or raise a clear error."""
    if isinstance(data, gpd.GeoSeries):
        data = gpd.GeoDataFrame(geometry=data)
    if not isinstance(data, gpd.GeoDataFrame):
        raise SchemaError(
            f"{what} must be a GeoDataFrame; got {type(data).__name__}. "
            "Read it with cami_atlas.io.read_layer or geopandas.read_file first."
        )
    require_crs(data, what)
    return data


def check_cells(cells: Any) -> gpd.GeoDataFrame:
    """Validate a cell layer: GeoDataFrame with a CRS and polygon geometries."""
    cells = check_frame(cells, "cells")
    if len(cells) == 0:
        raise EmptyLayerError("cells is empty; build cells with cami_atlas.hotspots.hex_grid.")
    types = set(cells.geom_type.dropna().unique())
    if not types <= set(_POLYGONAL) or cells.geometry.isna().any():
        raise GeometryTypeError(
            f"cells must hold polygons; got geometry types {sorted(map(str, types))} "
            "(or missing geometries). Build cells with cami_atlas.hotspots.hex_grid."
        )
    return cells


def check_geom_types(gdf: gpd.GeoDataFrame, allowed: tuple[str, ...], what: str,
                     hint: str) -> None:
    """Raise :class:`GeometryTypeError` if ``gdf`` holds geometry types outside ``allowed``."""
    types = set(gdf.geom_type.dropna().unique())
    bad = sorted(map(str, types - set(allowed)))
    if bad:
        raise GeometryTypeError(
            f"{what} must hold {'/'.join(allowed)} geometries; got {bad}. {hint}"
        )


def require_column(gdf: pd.DataFrame, column: str, what: str) -> None:
    """Raise :class:`MissingColumnError` naming the closest column if ``column`` is absent."""
    if column not in gdf.columns:
        close = suggest_column(column, [str(c) for c in gdf.columns])
        hint = f" Did you mean {close!r}? Rename it." if close else ""
        raise MissingColumnError(
            f"{what} has no column {column!r}; columns are {list(map(str, gdf.columns))}.{hint}"
        )


def require_projected(cells: gpd.GeoDataFrame, what: str) -> None:
    """Raise :class:`CRSError` if ``cells`` is in a geographic (lat/lon) CRS."""
    if cells.crs.is_geographic:
        raise CRSError(
            f"{what} measures distances in the cells' CRS, but the cells are in lat/lon "
            f"({cells.crs.to_string()}). Project them first, e.g. cells.to_crs('ESRI:102025'), "
            "or build them with hex_grid (which uses ESRI:102025)."
        )


def geoms_in(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any) -> np.ndarray:
    """Geometries of ``gdf`` as a numpy array in ``crs`` (the caller's data is not changed)."""
    series = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if series.crs is None:
        raise CRSError("geometries have no CRS; set the CRS the data is actually in first.")
    if not series.crs.equals(crs):
        series = to_crs(series, crs)  # edges densified first (cami_atlas.measure.to_crs)
    return np.asarray(series.values, dtype=object)


def cell_keys(cells: gpd.GeoDataFrame) -> pd.Index:
    """The identifiers used for cells in tidy tables: ``cell_id`` if present, else the index."""
    if "cell_id" in cells.columns:
        return pd.Index(cells["cell_id"].to_numpy(), name="cell_id")
    return pd.Index(cells.index.to_numpy(), name="cell_id")


def interiors_meet(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise: do the interiors of ``a`` and ``b`` intersect (not just touch)?"""
    return shapely.intersects(a, b) & ~shapely.touches(a, b)
