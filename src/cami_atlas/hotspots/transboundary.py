"""Transboundary hotspots: hot cells within a distance of an international border.

CAMI's transboundary priority areas are barrier hotspots next to a border, where
the countries on both sides must act together. Distances are **geodesic km on
WGS84**: candidate (cell, border) pairs come from an STRtree ``dwithin`` query in
the cells' CRS with the search radius enlarged by the CRS' largest scale factor over
the cells (so no pair is missed), then the shortest line between the two
geometries (found in the cells' CRS) is measured geodesically.

Borders are given either as **border lines** (kind ``border``: columns
``iso3_left`` / ``iso3_right``), where a cell is near the border of ``A`` and ``B``
when it lies within ``distance_km`` of a line between them; or as **country
polygons** (kind ``country``: column ``iso3``), where a cell is near the border of
``A`` and ``B`` when it lies within ``distance_km`` of both countries (for land
neighbours this is the same rule; it also pairs countries facing each other across
water narrower than ``distance_km``); the distance reported is then the larger of
the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Proj

from ..errors import GeometryTypeError, OptionError
from ..measure import geodesic_length_km
from ._common import check_cells, check_frame, geoms_in, require_column, require_projected
from .gistar import HOT_CLASSES

__all__ = ["border_cells", "transboundary_hotspots"]

_HOT = HOT_CLASSES


def _check_distance(distance_km: Any) -> None:
    if (not isinstance(distance_km, int | float | np.number) or not np.isfinite(distance_km)
            or distance_km < 0):
        raise OptionError(f"distance_km must be a finite number >= 0; got {distance_km!r}.")


def _max_scale(cells: gpd.GeoDataFrame) -> float:
    """Largest point scale factor of the cells' CRS at the cell centroids (>= 1)."""
    centres = cells.geometry.centroid.to_crs("EPSG:4326")
    try:
        f = Proj(cells.crs).get_factors(centres.x.to_numpy(), centres.y.to_numpy())
        k = np.nanmax(np.concatenate([np.atleast_1d(f.meridional_scale),
                                      np.atleast_1d(f.parallel_scale)]))
    except Exception:  # pragma: no cover - CRS without factors: be generous
        return 1.5
    return float(max(k, 1.0)) if np.isfinite(k) else 1.5


def _candidate_distances(cells: gpd.GeoDataFrame, geoms: np.ndarray, distance_km: float
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell_pos, feature_pos, geodesic km) of every pair closer than ``distance_km``."""
    cell_geoms = geoms_in(cells, cells.crs)
    unit = cells.crs.axis_info[0].unit_conversion_factor
    radius = distance_km * 1000.0 / unit * _max_scale(cells) * 1.05
    tree = shapely.STRtree(geoms)
    cell_pos, pos = tree.query(cell_geoms, predicate="dwithin", distance=radius)
    lines = shapely.shortest_line(cell_geoms[cell_pos], geoms[pos])
    dist = geodesic_length_km(gpd.GeoSeries(lines, crs=cells.crs)).to_numpy()
    keep = dist <= distance_km
    return cell_pos[keep], pos[keep], dist[keep]


def _border_pairs(
    cells: gpd.GeoDataFrame,
    borders: gpd.GeoDataFrame,
    *,
    distance_km: float,
    iso3_column: str = "iso3",
    left_column: str = "iso3_left",
    right_column: str = "iso3_right",
) -> pd.DataFrame:
    """(cell_pos, iso3_a, iso3_b, border, border_distance_km) rows; see border_cells."""
    require_projected(cells, "border_cells")
    borders = check_frame(borders, "borders")
    _check_distance(distance_km)
    dims = set(shapely.get_dimensions(np.asarray(borders.geometry.dropna().values)).tolist())
    geoms = geoms_in(borders, cells.crs)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if dims == {1}:
        require_column(borders, left_column, "borders")
        require_column(borders, right_column, "borders")
        left = borders[left_column].to_numpy(dtype=object)
        right = borders[right_column].to_numpy(dtype=object)
        ok &= pd.notna(left) & pd.notna(right) & (left != right)
        idx = np.flatnonzero(ok)
        cell_pos, pos, dist = _candidate_distances(cells, geoms[idx], float(distance_km))
        a = left[idx][pos].astype(str).astype(object)
        b = right[idx][pos].astype(str).astype(object)
        first = a <= b
        pairs = pd.DataFrame({"cell_pos": cell_pos, "iso3_a": np.where(first, a, b),
                              "iso3_b": np.where(first, b, a), "border_distance_km": dist})
    elif dims == {2}:
        require_column(borders, iso3_column, "borders")
        iso3 = borders[iso3_column].to_numpy(dtype=object)
        ok &= pd.notna(iso3)
        idx = np.flatnonzero(ok)
        cell_pos, pos, dist = _candidate_distances(cells, geoms[idx], float(distance_km))
        near = pd.DataFrame({"cell_pos": cell_pos, "iso3": iso3[idx][pos].astype(str),
                             "d": dist}).groupby(["cell_pos", "iso3"], as_index=False)["d"].min()
        both = near.merge(near, on="cell_pos", suffixes=("_a", "_b"))
        both = both[both["iso3_a"] < both["iso3_b"]]
        pairs = pd.DataFrame({"cell_pos": both["cell_pos"].to_numpy(),
                              "iso3_a": both["iso3_a"].to_numpy(),
                              "iso3_b": both["iso3_b"].to_numpy(),
                              "border_distance_km": np.maximum(both["d_a"], both["d_b"])})
    else:
        raise GeometryTypeError(
            "borders must be border lines (with iso3_left/iso3_right) or country polygons "
            f"(with iso3), not a mix or points; got geometry dimensions {sorted(dims)}."
        )
    pairs = (pairs.groupby(["cell_pos", "iso3_a", "iso3_b"], as_index=False)
             ["border_distance_km"].min().sort_values(["cell_pos", "iso3_a", "iso3_b"]))
    pairs.insert(3, "border", pairs["iso3_a"] + "-" + pairs["iso3_b"])
    return pairs.reset_index(drop=True)


def border_cells(
    cells: gpd.GeoDataFrame,
    borders: gpd.GeoDataFrame,
    *,
    distance_km: float,
    iso3_column: str = "iso3",
    left_column: str = "iso3_left",
    right_column: str = "iso3_right",
) -> pd.DataFrame:
    """Cells within ``distance_km`` (geodesic) of an international border.

    Parameters
    ----------
    cells : GeoDataFrame
        Grid cells (projected CRS).
    borders : GeoDataFrame
        Border lines with ``left_column`` / ``right_column``, or country polygons with
        ``iso3_column`` (see the module docstring for the rule of each).
    distance_km : float
        Largest distance from the border, km (0: cells touching or crossed by it).

    Returns
    -------
    pandas.DataFrame
        One row per cell and pair of countries, indexed by the cells' index labels:
        ``iso3_a``, ``iso3_b`` (alphabetical), ``border`` (``"A-B"``) and
        ``border_distance_km``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> cells = gpd.GeoDataFrame(geometry=[box(-20_000, 0, -10_000, 10_000),
    ...     box(-10_000, 0, 0, 10_000), box(30_000, 0, 40_000, 10_000)], crs="ESRI:102025")
    >>> line = gpd.GeoDataFrame({"iso3_left": ["MNG"], "iso3_right": ["CHN"]},
    ...     geometry=[LineString([(0, -50_000), (0, 50_000)])], crs="ESRI:102025")
    >>> border_cells(cells, line, distance_km=15)[["border"]].to_dict("index")
    {0: {'border': 'CHN-MNG'}, 1: {'border': 'CHN-MNG'}}
    """
    cells = check_cells(cells)
    pairs = _border_pairs(cells, borders, distance_km=distance_km, iso3_column=iso3_column,
                          left_column=left_column, right_column=right_column)
    pairs.index = cells.index[pairs.pop("cell_pos").to_numpy()]
    return pairs


def transboundary_hotspots(
    cells: gpd.GeoDataFrame,
    borders: gpd.GeoDataFrame,
    *,
    distance_km: float,
    hot_column: str = "gi_class",
    hot_values: Sequence[Any] | None = None,
    iso3_column: str = "iso3",
    left_column: str = "iso3_left",
    right_column: str = "iso3_right",
) -> gpd.GeoDataFrame:
    """Hot cells within ``distance_km`` of an international border, with both countries.

    A cell is hot when ``hot_column`` is True (boolean column) or holds one of
    ``hot_values`` (default: the three "hot spot" classes of :func:`gi_star`). The
    distance rule is that of :func:`border_cells`.

    Returns
    -------
    geopandas.GeoDataFrame
        The hot cells near a border (all their columns, CRS and index labels kept), one
        row per cell and pair of countries, plus ``iso3_a``, ``iso3_b``, ``border`` and
        ``border_distance_km``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> cells = gpd.GeoDataFrame({"gi_class": ["hot spot 99%", "not significant"]},
    ...     geometry=[box(-10_000, 0, 0, 10_000), box(0, 0, 10_000, 10_000)],
    ...     crs="ESRI:102025")
    >>> line = gpd.GeoDataFrame({"iso3_left": ["KAZ"], "iso3_right": ["CHN"]},
    ...     geometry=[LineString([(0, -50_000), (0, 50_000)])], crs="ESRI:102025")
    >>> transboundary_hotspots(cells, line, distance_km=5)[["gi_class", "border"]].values.tolist()
    [['hot spot 99%', 'CHN-KAZ']]
    """
    cells = check_cells(cells)
    require_projected(cells, "transboundary_hotspots")
    _check_distance(distance_km)
    require_column(cells, hot_column, "cells")
    col = cells[hot_column]
    if pd.api.types.is_bool_dtype(col):
        hot = col.to_numpy(dtype=bool)
    else:
        hot = col.isin(list(_HOT if hot_values is None else hot_values)).to_numpy()
    hot_pos = np.flatnonzero(hot)
    if len(hot_pos):
        near = _border_pairs(cells.iloc[hot_pos], borders, distance_km=distance_km,
                             iso3_column=iso3_column, left_column=left_column,
                             right_column=right_column)
        positions = hot_pos[near["cell_pos"].to_numpy()]
    else:
        near = pd.DataFrame({"iso3_a": [], "iso3_b": [], "border": [],
                             "border_distance_km": []})
        positions = np.array([], dtype=np.int64)
    out = cells.iloc[positions].copy()
    for c in ("iso3_a", "iso3_b", "border", "border_distance_km"):
        out[c] = near[c].to_numpy()
    return out
