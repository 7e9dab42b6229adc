"""Least-cost corridors between habitat cores (the Linkage Mapper method).

For a pair of cores ``a`` and ``b`` with cost-distance surfaces ``CWD_a`` and ``CWD_b``
(see :func:`cami_atlas.connectivity.cost_distance`), the *normalised least-cost
corridor* is::

    NLCC_ab(x) = CWD_a(x) + CWD_b(x) - LCD_ab

where ``LCD_ab`` is the cost of the least-cost path between the cores. ``NLCC_ab(x)``
is the extra cost of the cheapest route from ``a`` to ``b`` forced through cell ``x``:
it is ``0`` along the least-cost path and grows away from it. Cells whose extra cost
exceeds a corridor ``width`` (cost units) are cut off. The corridors of all pairs of
cores within a maximum cost distance are mosaicked by taking the minimum per cell
(McRae & Kavanagh 2011, Linkage Mapper "Linkage Pathways", step 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import CRSError, SchemaError
from ..interop import as_grid
from ..raster import Grid
from .costdistance import _paths_frame, _run_pairs

__all__ = ["CorridorResult", "least_cost_corridors", "normalized_corridor"]


def normalized_corridor(cwd_a: Grid, cwd_b: Grid, *, width: float | None = None) -> Grid:
    """Normalised least-cost corridor of one pair from its two cost-distance surfaces.

    ``CWD_a + CWD_b - min(CWD_a + CWD_b)``: the minimum of the sum is the least-cost
    path cost between the two sources, so the corridor is ``0`` along the path.

    Parameters
    ----------
    cwd_a, cwd_b : Grid
        Cost distance from each core (same raster), e.g. from :func:`cost_distance`.
    width : float, optional
        Cut-off in cost units: cells whose corridor value exceeds it become ``inf``.

    Returns
    -------
    Grid
        Extra cost (>= 0) of passing through each cell; ``inf`` where unreachable or
        beyond ``width``; ``NaN`` outside the study area.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> t = Affine(1, 0, 0, 0, -1, 1)
    >>> a = Grid(np.array([[0.0, 1, 2, 3]]), t, "EPSG:32643")
    >>> b = Grid(np.array([[3.0, 2, 1, 0]]), t, "EPSG:32643")
    >>> normalized_corridor(a, b).values.tolist()
    [[0.0, 0.0, 0.0, 0.0]]
    """
    if cwd_a.shape != cwd_b.shape or not cwd_a.transform.almost_equals(cwd_b.transform):
        raise SchemaError(f"the two cost-distance grids are not on the same raster "
                          f"({cwd_a.shape} vs {cwd_b.shape}); compute both on one resistance.")
    if (cwd_a.crs is None) != (cwd_b.crs is None) or (
            cwd_a.crs is not None and not cwd_a.crs.equals(cwd_b.crs)):
        raise CRSError(f"the cost-distance grids are in different CRSs ({cwd_a.crs} vs "
                       f"{cwd_b.crs}).")
    total = np.asarray(cwd_a.values, dtype="float64") + np.asarray(cwd_b.values, dtype="float64")
    finite = np.isfinite(total)
    if not finite.any():
        raise SchemaError("the two cost-distance surfaces share no reachable cell: the cores are "
                          "not connected, so there is no corridor.")
    lcd = float(total[finite].min())
    return cwd_a.with_values(_truncate(total - lcd, width), name="corridor")


def _truncate(corridor: np.ndarray, width: float | None) -> np.ndarray:
    np.maximum(corridor, 0.0, out=corridor, where=np.isfinite(corridor))  # rounding below 0
    if width is not None:
        with np.errstate(invalid="ignore"):
            corridor[corridor > width] = np.inf
    return corridor


@dataclass(frozen=True)
class CorridorResult:
    """Output of :func:`least_cost_corridors`.

    Attributes
    ----------
    mosaic : Grid
        Minimum over all mapped pairs of the normalised corridors (cost units, ``0``
        on every least-cost path, ``inf`` outside all corridors, ``NaN`` outside the
        study area).
    pairs : pandas.DataFrame
        One row per mapped pair: ``core_a``, ``core_b``, ``cost_distance`` (least-cost
        path cost, resistance x m), ``lcp_length_km`` (geodesic), ``cwd_to_path_length_ratio``
        (cost / planar path length in m) and ``n_cells``.
    paths : GeoDataFrame
        The same rows with the least-cost path LineStrings (grid CRS).
    """

    mosaic: Grid
    pairs: pd.DataFrame
    paths: gpd.GeoDataFrame


def least_cost_corridors(
    resistance: Grid,
    cores: gpd.GeoDataFrame,
    *,
    id_column: str | None = None,
    width: float | None = None,
    max_cost_distance: float | None = None,
    connectivity: Literal[4, 8] = 8,
) -> CorridorResult:
    """Normalised least-cost corridors for all pairs of cores and their mosaic.

    Every core gets one cost-distance surface (all its cells are sources); every pair
    whose least-cost path costs at most ``max_cost_distance`` gets the corridor
    ``CWD_a + CWD_b - LCD_ab`` truncated at ``width``; the mosaic keeps the minimum
    per cell. Unlike Linkage Mapper, pairs are not pruned by Euclidean adjacency or by
    whether their path crosses a third core: filter ``pairs`` and rebuild if needed.
    Memory: one float64 surface per core is kept (8 bytes x cells x cores), plus the
    search itself (about 65 bytes per cell, see ``benchmarks/RESULTS.md``).

    Parameters
    ----------
    resistance : Grid
        Resistance in a projected CRS (see :func:`cost_distance` for the step cost).
    cores : GeoDataFrame
        Habitat cores (polygons or points) in the grid's CRS.
    id_column : str, optional
        Column with core ids (default: the index).
    width : float, optional
        Corridor cut-off in cost units (resistance x m). ``None`` keeps every reachable
        cell.
    max_cost_distance : float, optional
        Map only pairs whose least-cost path costs at most this. With ``width`` it also
        bounds each search at ``max_cost_distance + width``.
    connectivity : {4, 8}

    Returns
    -------
    CorridorResult
        ``mosaic`` (Grid), ``pairs`` (DataFrame) and ``paths`` (GeoDataFrame).

    Examples
    --------
    >>> import numpy as np, geopandas as gpd
    >>> from affine import Affine
    >>> from shapely import Point
    >>> r = Grid(np.ones((3, 4)), Affine(100, 0, 0, 0, -100, 300), "EPSG:32643")
    >>> cores = gpd.GeoDataFrame(geometry=[Point(50, 150), Point(350, 150)], crs="EPSG:32643")
    >>> res = least_cost_corridors(r, cores)
    >>> res.mosaic.values[1].tolist(), res.pairs["cost_distance"].tolist()
    ([0.0, 0.0, 0.0, 0.0], [300.0])
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    if width is not None and not width >= 0:
        raise SchemaError(f"width must be >= 0 (cost units); got {width}.")
    limit = None
    if max_cost_distance is not None and width is not None:
        limit = float(max_cost_distance) + float(width)
    ids, _, pairs, surfaces, cell = _run_pairs(
        resistance, cores, id_column=id_column, connectivity=connectivity,
        max_cost=max_cost_distance, keep_surfaces=True, search_limit=limit)
    mosaic = np.full(resistance.shape, np.inf)
    for p in pairs:
        corridor = surfaces[p.i] + surfaces[p.j]
        corridor -= p.cost
        np.fmin(mosaic, _truncate(corridor, width), out=mosaic)
    mosaic[np.isnan(resistance.values)] = np.nan
    paths = _paths_frame(resistance, ids, pairs, cell)
    table = pd.DataFrame(paths.drop(columns="geometry"))
    return CorridorResult(resistance.with_values(mosaic, name="corridor_mosaic"), table, paths)
