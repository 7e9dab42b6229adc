"""Least-cost connectivity on a resistance grid: cost distance and least-cost paths.

Step-cost convention
--------------------
A move between two neighbouring cells ``i`` and ``j`` costs the mean of their
resistances times the step length in metres::

    cost(i -> j) = (R_i + R_j) / 2 * L,   L = cell_size_m (rook step) or sqrt(2) * cell_size_m

(the convention of gdistance's ``transition(..., mean)`` with ``geoCorrection`` and of
Circuitscape's average-resistance mode). It is symmetric, so the cost from ``a`` to
``b`` equals the cost from ``b`` to ``a``. :func:`cost_distance` runs a compiled
multi-source Dijkstra specialised to the grid (``connectivity/_dijkstra.py``: 3-4x
faster than scikit-image's :class:`skimage.graph.MCP_Geometric`, which implements the
same rule with ``sampling=(cell, cell)``, stays the tested reference, bit for bit, and
still traces the least-cost paths of :func:`least_cost_paths`; checked by hand in
``tests/connectivity/test_costdistance.py``).

``inf`` cells are impassable and stay unreachable (``inf``); ``NaN`` cells are outside
the study area (never entered, ``NaN`` in the result). With ``connectivity=8`` a
diagonal step between two free cells is allowed even when the two cells beside it are
impassable (the corner-cutting of every 8-neighbour raster method); burn lines with
:func:`cami_atlas.connectivity.burn_infrastructure`, whose guard closes such gaps.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import rasterize
from skimage.graph import MCP_Geometric

from .._options import check_option
from ..errors import CRSError, SchemaError
from ..interop import as_grid
from ..measure import geodesic_length_km
from ..raster import Grid
from ._dijkstra import grid_dijkstra
from .resistance import check_resistance

__all__ = ["cost_distance", "least_cost_paths"]

Sources = Any  # GeoDataFrame | GeoSeries | shapely geometry | bool mask | (n, 2) cells | Grid


# -- conversion at the backend boundary ------------------------------------------------
def _check(resistance: Grid, connectivity: int) -> tuple[np.ndarray, float]:
    """Check the options and the resistance; its values as they are (float32 kept for
    the compiled kernel, which reads NaN and inf itself; other dtypes as float64) and
    the cell size."""
    check_option("connectivity", connectivity, (4, 8))
    if not isinstance(resistance, Grid):
        raise SchemaError(
            f"resistance must be a cami_atlas.raster.Grid; got {type(resistance).__name__}."
        )
    resistance.require_projected("cost distance")
    check_resistance(resistance)
    values = np.asarray(resistance.values)
    if values.dtype not in (np.float64, np.float32):
        values = values.astype("float64")
    return values, resistance.cell_size_m


def _prepare(resistance: Grid, connectivity: int) -> tuple[np.ndarray, float, np.ndarray | None]:
    """:func:`_check`, then the array MCP_Geometric wants: float64, NaN (outside) as inf
    (skipped); also the NaN mask (``None`` when there is no NaN, found in one pass)."""
    values, cell = _check(resistance, connectivity)
    values = values.astype("float64", copy=False)
    if not np.isnan(values.min()):
        return values, cell, None
    nan = np.isnan(values)
    return np.where(nan, np.inf, values), cell, nan


def _mcp(costs: np.ndarray, cell: float, connectivity: int) -> MCP_Geometric:
    return MCP_Geometric(costs, fully_connected=connectivity == 8, sampling=(cell, cell))


def _find_costs(mcp: MCP_Geometric, starts: np.ndarray, limit: float | None) -> np.ndarray:
    """Run the search; stop early at ``limit`` where scikit-image still offers it
    (``max_cumulative_cost``, deprecated in 0.26), then cut every cell beyond it."""
    cum = None
    if limit is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                cum, _ = mcp.find_costs(starts, max_cumulative_cost=limit)
        except TypeError:  # scikit-image without the parameter
            cum = None
    if cum is None:
        cum, _ = mcp.find_costs(starts)
    if limit is not None:
        cum[cum > limit] = np.inf
    return cum


# -- sources -----------------------------------------------------------------------------
def _geom_cells(grid: Grid, geoms: np.ndarray) -> list[np.ndarray]:
    """Flat cell indices of each geometry (cells whose centre it covers, lines: the cells
    they pass through, points: the cell holding them); every geometry gets at least the
    cell of its representative point. Outside the grid -> SchemaError."""
    rows, cols = grid.shape
    n = len(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise SchemaError(
            f"{int(empty.sum())} source/core geometries are empty or missing "
            f"(positions {np.flatnonzero(empty)[:10].tolist()}); drop them first."
        )
    rep = shapely.get_coordinates(shapely.point_on_surface(geoms))
    r0, c0 = grid.rowcol(rep[:, 0], rep[:, 1])
    outside = (r0 < 0) | (r0 >= rows) | (c0 < 0) | (c0 >= cols)
    if outside.any():
        left, bottom, right, top = grid.bounds
        raise SchemaError(
            f"{int(outside.sum())} source/core geometries lie outside the grid (positions "
            f"{np.flatnonzero(outside)[:10].tolist()}); grid bounds are ({left}, {bottom}, "
            f"{right}, {top}) in {grid.crs.to_string() if grid.crs else None}. Clip or extend."
        )
    label = rasterize(
        ((g, k + 1) for k, g in enumerate(geoms)),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        all_touched=False,
        dtype="int32",
    )
    flat = label.ravel()
    idx = np.flatnonzero(flat)
    lab = flat[idx] - 1
    order = np.argsort(lab, kind="stable")
    idx, lab = idx[order], lab[order]
    bounds = np.searchsorted(lab, np.arange(n + 1))
    rep_flat = r0 * cols + c0
    return [np.union1d(idx[bounds[k] : bounds[k + 1]], rep_flat[k : k + 1]) for k in range(n)]


def _source_cells(grid: Grid, sources: Sources) -> np.ndarray:
    """Flat indices of the source cells, before checking passability."""
    rows, cols = grid.shape
    if isinstance(sources, Grid):
        if sources.shape != grid.shape:
            raise SchemaError(
                f"the source grid has shape {sources.shape}; the resistance grid is {grid.shape}."
            )
        sources = np.nan_to_num(np.asarray(sources.values, dtype="float64")) != 0
    if isinstance(sources, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if sources.crs is None:
            raise CRSError("the sources have no CRS; set the CRS they are actually in.")
        if not sources.crs.equals(grid.crs):
            raise CRSError(
                f"the sources are in {sources.crs.to_string()} but the grid is in "
                f"{grid.crs.to_string()}; reproject them: sources.to_crs(grid.crs)."
            )
        cells = _geom_cells(grid, sources.geometry.to_numpy())
        return np.unique(np.concatenate(cells)) if cells else np.empty(0, np.int64)
    if isinstance(sources, shapely.Geometry):
        return _geom_cells(grid, np.array([sources]))[0]
    arr = np.asarray(sources)
    if arr.dtype == bool:
        if arr.shape != grid.shape:
            raise SchemaError(
                f"a boolean source mask must have the grid's shape {grid.shape}; got {arr.shape}."
            )
        return np.flatnonzero(arr)
    if arr.ndim == 1 and arr.size == 2 and np.issubdtype(arr.dtype, np.integer):
        arr = arr.reshape(1, 2)
    if arr.ndim == 2 and arr.shape[1] == 2 and np.issubdtype(arr.dtype, np.integer):
        r, c = arr[:, 0], arr[:, 1]
        bad = (r < 0) | (r >= rows) | (c < 0) | (c >= cols)
        if bad.any():
            raise SchemaError(
                f"source cells {arr[bad][:10].tolist()} are outside the grid of shape {grid.shape}."
            )
        return np.unique(r * cols + c)
    raise SchemaError(
        "sources must be a GeoDataFrame/GeoSeries or shapely geometry (points, lines, polygons) "
        "in the grid's CRS, a boolean mask of the grid's shape, a Grid mask, or an (n, 2) "
        f"integer array of (row, col) cells; got {type(sources).__name__}."
    )


def _passable(costs: np.ndarray, cells: np.ndarray) -> np.ndarray:
    return np.isfinite(costs.ravel()[cells])


def cost_distance(
    resistance: Grid,
    sources: Sources,
    *,
    connectivity: Literal[4, 8] = 8,
    max_cost: float | None = None,
) -> Grid:
    """Accumulated least cost from the nearest source to every cell.

        Step cost: the mean of the two cells' resistances times the step length in metres
        (``cell_size_m`` for rook steps, ``sqrt(2) * cell_size_m`` for diagonal steps with
        ``connectivity=8``), computed by a compiled grid Dijkstra (the same costs as
    :class:`skimage.graph.MCP_Geometric`, bit for bit, 3-4x faster). On a
        surface of resistance 1 the result is the octile (8) or Manhattan (4) distance in
        metres.

        Parameters
        ----------
        resistance : Grid
            Projected CRS, square cells, resistance encoding (finite >= 1, ``inf``, ``NaN``).
        sources : GeoDataFrame, GeoSeries, shapely geometry, bool array, Grid or (n, 2) ints
            Points (the cell holding each), lines (the cells they pass through), polygons
            (cells whose centre they cover, at least one each), a boolean mask, or
            ``(row, col)`` cells. Source cells that are impassable or outside the study area
            are dropped when they belong to lines/polygons/masks; if no passable source cell
            is left, or an explicit point/cell is not passable, :class:`SchemaError`.
        connectivity : {4, 8}
            Rook moves only, or rook and diagonal moves.
        max_cost : float, optional
            Stop the search at this accumulated cost; farther cells are ``inf``.

        Returns
        -------
        Grid
            Cost (resistance x metres), ``0`` on the sources, ``inf`` where unreachable
            (including impassable cells), ``NaN`` outside the study area.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> r = Grid(np.array([[2.0, 6.0], [1.0, 3.0]]), Affine(10, 0, 0, 0, -10, 20), "EPSG:32643")
        >>> cost_distance(r, np.array([[0, 0]])).values.tolist()
        [[0.0, 40.0], [15.0, 35.0]]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    costs, cell = _check(resistance, connectivity)
    cells = _source_cells(resistance, sources)
    ok = _passable(costs, cells)
    explicit = (
        not isinstance(sources, (gpd.GeoDataFrame, gpd.GeoSeries, shapely.Geometry, Grid))
        and np.asarray(sources).dtype != bool
    )
    points = isinstance(sources, (gpd.GeoDataFrame, gpd.GeoSeries)) and bool(
        np.all(shapely.get_type_id(sources.geometry.to_numpy()) == 0)
    )
    if (explicit or points) and not ok.all():
        r, c = np.divmod(cells[~ok], resistance.shape[1])
        raise SchemaError(
            f"{int((~ok).sum())} source cell(s) are impassable (inf) or outside the study area "
            f"(NaN): (row, col) {list(zip(r.tolist(), c.tolist(), strict=True))[:10]}. Move the "
            "sources onto passable cells."
        )
    cells = cells[ok]
    if cells.size == 0:
        raise SchemaError(
            "no source cell is passable: every source lies on impassable (inf) or "
            "outside (NaN) cells of the resistance grid."
        )
    if max_cost is not None and not max_cost >= 0:
        raise SchemaError(f"max_cost must be >= 0; got {max_cost}.")
    limit = np.inf if max_cost is None else float(max_cost)
    # the kernel reads NaN (outside, NaN in the result) and inf (impassable) itself
    cum = grid_dijkstra(
        costs, np.unique(cells).astype(np.int64), float(cell), connectivity == 8, limit
    )
    return resistance.with_values(cum, name="cost_distance")


# -- cores and pairs -------------------------------------------------------------------
def _core_ids(cores: gpd.GeoDataFrame, id_column: str | None) -> pd.Index:
    if id_column is None:
        ids = pd.Index(cores.index)
    else:
        if id_column not in getattr(cores, "columns", ()):
            raise SchemaError(
                f"the cores have no column {id_column!r}; columns: "
                f"{list(getattr(cores, 'columns', []))}."
            )
        ids = pd.Index(cores[id_column])
    if ids.has_duplicates:
        raise SchemaError(
            f"core ids must be unique; duplicated: "
            f"{sorted(set(ids[ids.duplicated()].tolist()), key=str)[:10]}."
        )
    return ids


def _core_cells(
    resistance: Grid, costs: np.ndarray, cores: gpd.GeoDataFrame, ids: pd.Index
) -> list[np.ndarray]:
    if len(cores) < 2:
        raise SchemaError(
            f"least-cost paths and corridors need at least 2 cores; got {len(cores)}."
        )
    if cores.crs is None or not cores.crs.equals(resistance.crs):
        raise CRSError(
            f"the cores are in {cores.crs.to_string() if cores.crs else None} but the "
            f"grid is in {resistance.crs.to_string()}; reproject them: "
            "cores.to_crs(grid.crs)."
        )
    cells = _geom_cells(resistance, cores.geometry.to_numpy())
    flat = costs.ravel()
    cells = [c[np.isfinite(flat[c])] for c in cells]
    dead = [ids[k] for k, c in enumerate(cells) if c.size == 0]
    if dead:
        raise SchemaError(
            f"core(s) {dead[:10]} have no passable cell (all impassable or outside "
            "the study area); fix the resistance or drop them."
        )
    return cells


@dataclass(frozen=True)
class _PairResult:
    i: int
    j: int
    cost: float
    cells: np.ndarray  # flat indices of the path, from core i to core j


def _path_steps_m(cells: np.ndarray, ncols: int, cell: float) -> float:
    r, c = np.divmod(cells, ncols)
    dr, dc = np.diff(r), np.diff(c)
    return float(np.sum(np.hypot(dr, dc)) * cell)


def _run_pairs(
    resistance: Grid,
    cores: gpd.GeoDataFrame,
    *,
    id_column: str | None,
    connectivity: int,
    max_cost: float | None,
    keep_surfaces: bool,
    search_limit: float | None,
) -> tuple[pd.Index, list[np.ndarray], list[_PairResult], list[np.ndarray], float]:
    """One MCP run per core: pair costs, least-cost paths and (optionally) the surfaces."""
    costs, cell, outside = _prepare(resistance, connectivity)
    if not isinstance(cores, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise SchemaError(
            f"cores must be a GeoDataFrame of polygons or points; got {type(cores).__name__}."
        )
    ids = _core_ids(cores, id_column)
    core_cells = _core_cells(resistance, costs, cores, ids)
    if max_cost is not None and not max_cost >= 0:
        raise SchemaError(f"max_cost_distance must be >= 0; got {max_cost}.")
    ncols = resistance.shape[1]
    n = len(core_cells)
    surfaces: list[np.ndarray] = []
    pairs: list[_PairResult] = []
    last = n if keep_surfaces else n - 1
    for i in range(last):
        starts = np.column_stack(np.divmod(core_cells[i], ncols))
        mcp = _mcp(costs, cell, connectivity)
        cum = _find_costs(mcp, starts, search_limit)
        flat = cum.ravel()
        for j in range(i + 1, n):
            vals = flat[core_cells[j]]
            k = int(np.argmin(vals))
            cost = float(vals[k])
            if not np.isfinite(cost) or (max_cost is not None and cost > max_cost):
                continue
            end = divmod(int(core_cells[j][k]), ncols)
            path = np.asarray(mcp.traceback(end))
            pairs.append(_PairResult(i, j, cost, path[:, 0] * ncols + path[:, 1]))
        if keep_surfaces:
            if outside is not None:
                cum[outside] = np.nan
            surfaces.append(cum)
    return ids, core_cells, pairs, surfaces, cell


def _paths_frame(
    resistance: Grid, ids: pd.Index, pairs: list[_PairResult], cell: float
) -> gpd.GeoDataFrame:
    ncols = resistance.shape[1]
    cells = [p.cells if len(p.cells) > 1 else np.repeat(p.cells, 2) for p in pairs]
    if cells:
        flat = np.concatenate(cells)
        part = np.repeat(np.arange(len(cells)), [len(c) for c in cells])
        x, y = resistance.xy(*np.divmod(flat, ncols))
        geoms = shapely.linestrings(np.column_stack([x, y]), indices=part)
    else:
        geoms = np.array([], dtype=object)
    planar_m = np.array([_path_steps_m(p.cells, ncols, cell) for p in pairs], dtype="float64")
    cost = np.array([p.cost for p in pairs], dtype="float64")
    frame = gpd.GeoDataFrame(
        {
            "core_a": pd.Series([ids[p.i] for p in pairs], dtype=ids.dtype),
            "core_b": pd.Series([ids[p.j] for p in pairs], dtype=ids.dtype),
            "cost_distance": cost,
            "n_cells": np.array([len(p.cells) for p in pairs], dtype="int64"),
        },
        geometry=gpd.GeoSeries(geoms, crs=resistance.crs),
    )
    frame["lcp_length_km"] = (
        geodesic_length_km(frame).to_numpy() if len(frame) else np.array([], dtype="float64")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["cwd_to_path_length_ratio"] = np.where(planar_m > 0, cost / planar_m, np.nan)
    return frame[
        [
            "core_a",
            "core_b",
            "cost_distance",
            "lcp_length_km",
            "cwd_to_path_length_ratio",
            "n_cells",
            "geometry",
        ]
    ]


def least_cost_paths(
    resistance: Grid,
    cores: gpd.GeoDataFrame,
    *,
    id_column: str | None = None,
    max_cost_distance: float | None = None,
    connectivity: Literal[4, 8] = 8,
) -> gpd.GeoDataFrame:
    """Least-cost paths between every pair of habitat cores (polygons or points).

    For each pair ``(a, b)`` the path runs from the edge of core ``a`` to the cell of
    core ``b`` that is cheapest to reach from ``a`` (all cells of a polygon are
    sources), through cell centres. Costs follow the mean-resistance x step-length
    convention of :func:`cost_distance`, so the cost from ``a`` to ``b`` equals the
    cost from ``b`` to ``a`` and each pair is listed once (``core_a`` before ``core_b``
    in the input order).

    Parameters
    ----------
    resistance : Grid
        Resistance in a projected CRS.
    cores : GeoDataFrame
        Habitat cores in the grid's CRS. Overlapping polygons share cells only
        through their representative points (the later core takes rasterized cells).
    id_column : str, optional
        Column with core ids (default: the index).
    max_cost_distance : float, optional
        Only pairs whose least cost is at most this (also bounds the search).
    connectivity : {4, 8}

    Returns
    -------
    GeoDataFrame
        One LineString per connected pair, in the grid's CRS, with ``core_a``,
        ``core_b``, ``cost_distance`` (resistance x m), ``lcp_length_km`` (geodesic on
        WGS84), ``cwd_to_path_length_ratio`` (cost / planar path length in metres: the
        mean resistance met along the path; ``NaN`` for touching cores) and ``n_cells``.
        Pairs with no passable route (or beyond ``max_cost_distance``) are left out.

    Examples
    --------
    >>> import numpy as np, geopandas as gpd
    >>> from affine import Affine
    >>> from shapely import Point
    >>> r = Grid(np.ones((3, 5)), Affine(1000, 0, 0, 0, -1000, 3000), "EPSG:32643")
    >>> cores = gpd.GeoDataFrame({"name": ["west", "east"]},
    ...     geometry=[Point(500, 1500), Point(4500, 1500)], crs="EPSG:32643")
    >>> p = least_cost_paths(r, cores, id_column="name")
    >>> p[["core_a", "core_b", "cost_distance"]].values.tolist()
    [['west', 'east', 4000.0]]
    """
    ids, _, pairs, _, cell = _run_pairs(
        resistance,
        cores,
        id_column=id_column,
        connectivity=connectivity,
        max_cost=max_cost_distance,
        keep_surfaces=False,
        search_limit=max_cost_distance,
    )
    return _paths_frame(resistance, ids, pairs, cell)
