"""Equal-area hexagon (or square) grids over a region.

Cell size
---------
``cell_km`` is the side of the square of the same area: **every cell covers
``cell_km ** 2`` km²**, whatever its shape, so a 25 km hexagon grid and a 25 km
square grid have the same cell area (625 km²) and scores per km² are comparable.
For hexagons (pointy-top, i.e. two vertices on the north-south axis) the side is
``a = cell_km * sqrt(2 / (3 * sqrt(3)))`` (≈ 0.6204 ``cell_km``), the flat-to-flat
width ``sqrt(3) * a`` (≈ 1.0746 ``cell_km``) and the vertex-to-vertex height ``2 a``.

The grid is built in an equal-area CRS (default ``ESRI:102025``, Asia North Albers
Equal Area Conic), so planar cell areas are true areas on the ellipsoid. It is
anchored at the CRS origin: the same ``cell_km`` gives the same cells (and the same
``cell_id``) for any region. Vertices lie on an integer lattice, so neighbouring
cells share bit-identical vertices (queen/rook contiguity is exact).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .._memory import HOTSPOT_BYTES_PER_CELL, check_grid_memory
from .._options import check_option
from ..errors import CRSError, EmptyLayerError, GeometryTypeError, OptionError
from ..measure import EQUAL_AREA_CRS, area_km2, to_crs
from ._common import interiors_meet

__all__ = ["CELL_SHAPES", "check_lattice_memory", "hex_grid", "hexagon_side_km",
           "lattice_cells"]

CELL_SHAPES = ("hexagon", "square")

# pointy-top hexagon vertices in lattice units (x in sqrt(3) a / 2, y in a / 2)
_HEX_VERTICES = np.array([(0, 2), (-1, 1), (-1, -1), (0, -2), (1, -1), (1, 1)])  # CCW
_SQUARE_VERTICES = np.array([(0, 0), (1, 0), (1, 1), (0, 1)])


def hexagon_side_km(cell_km: float) -> float:
    """Side of the regular hexagon whose area is ``cell_km ** 2`` km².

    Examples
    --------
    >>> a = hexagon_side_km(10.0)
    >>> round(a, 4), round(3 * math.sqrt(3) / 2 * a ** 2, 6)
    (6.204, 100.0)
    """
    return float(cell_km) * math.sqrt(2.0 / (3.0 * math.sqrt(3.0)))


def _region_geometry(region: Any, crs: CRS, region_crs: Any) -> shapely.Geometry:
    """The region as one (multi)polygon in ``crs``."""
    if isinstance(region, gpd.GeoDataFrame | gpd.GeoSeries):
        series = region.geometry if isinstance(region, gpd.GeoDataFrame) else region
        if series.crs is None:
            raise CRSError("region has no CRS; set the CRS it is actually in "
                           "(e.g. .set_crs('EPSG:4326')).")
        series = series[~(series.isna() | series.is_empty)]
    elif isinstance(region, shapely.Geometry):
        series = gpd.GeoSeries([region], crs=region_crs)
    else:
        raise GeometryTypeError(
            f"region must be a shapely geometry, GeoSeries or GeoDataFrame; got "
            f"{type(region).__name__}."
        )
    geoms = np.asarray(to_crs(series, crs).values, dtype=object)  # edges densified first
    geoms = geoms[shapely.get_dimensions(geoms) == 2] if len(geoms) else geoms
    if len(geoms) == 0:
        raise EmptyLayerError("region holds no polygon; give the study area as polygon(s).")
    geoms = shapely.make_valid(geoms)
    out = shapely.union_all(geoms)
    if out.is_empty or out.area == 0:
        raise EmptyLayerError("region has zero area; give the study area as polygon(s).")
    return out


def _lattice_range(shape: str, cell_km: float, bounds: tuple[float, ...], unit_m: float
                   ) -> tuple[int, int, int, int]:
    """First and last lattice row and column (r0, r1, c0, c1) covering ``bounds``."""
    minx, miny, maxx, maxy = bounds
    if shape == "hexagon":
        a = hexagon_side_km(cell_km) * 1000.0 / unit_m
        sx, sy = math.sqrt(3.0) * a, 1.5 * a  # column and row pitch
    else:
        sx = sy = cell_km * 1000.0 / unit_m
    return (math.floor(miny / sy) - 1, math.ceil(maxy / sy) + 1,
            math.floor(minx / sx) - 1, math.ceil(maxx / sx) + 1)


def lattice_cells(shape: str, cell_km: float, bounds: tuple[float, ...],
                  unit_m: float = 1.0) -> int:
    """Number of candidate cells :func:`hex_grid` builds over ``bounds`` (before the
    region test): what its memory use scales with.

    Examples
    --------
    >>> lattice_cells("square", 10, (0, 0, 100_000, 50_000))
    104
    """
    r0, r1, c0, c1 = _lattice_range(shape, float(cell_km), bounds, unit_m)
    return (r1 - r0 + 1) * (c1 - c0 + 1)


def check_lattice_memory(bounds: tuple[float, ...], *, cell_km: float,
                         shape: str = "hexagon", crs: Any = EQUAL_AREA_CRS,
                         max_memory: str | int | None = None) -> int:
    """Refuse (:class:`~cami_atlas.errors.MemoryLimitError`) a grid of ``cell_km`` cells over
    ``bounds`` (in ``crs``) whose lattice would not fit in memory; return the estimate in bytes.

    :func:`hex_grid` runs this check itself; callers that know the region early (before
    slower steps) call it first so that a too fine grid fails at once.

    Examples
    --------
    >>> check_lattice_memory((0, 0, 100_000, 50_000), cell_km=10, shape="square")
    106496
    """
    unit_m = CRS.from_user_input(crs).axis_info[0].unit_conversion_factor
    # the message speaks metres, as the command line's --cell-size-m
    return check_grid_memory(lambda c: lattice_cells(shape, c / 1000.0, bounds, unit_m),
                             float(cell_km) * 1000.0, HOTSPOT_BYTES_PER_CELL,
                             what=f"a {shape} grid over the region", option="--cell-size-m",
                             max_memory=max_memory)


def _lattice(shape: str, cell_km: float, bounds: tuple[float, ...], unit_m: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate cells over ``bounds``: (rows, cols, polygons) of the lattice."""
    r0, r1, c0, c1 = _lattice_range(shape, cell_km, bounds, unit_m)
    if shape == "hexagon":
        a = hexagon_side_km(cell_km) * 1000.0 / unit_m
        ux, uy = math.sqrt(3.0) * a / 2.0, a / 2.0  # lattice units
        rows, cols = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
        rows, cols = rows.ravel(), cols.ravel()
        cx = 2 * cols + (rows % 2)  # centre in lattice units
        cy = 3 * rows
        vx = (cx[:, None] + _HEX_VERTICES[None, :, 0]) * ux
        vy = (cy[:, None] + _HEX_VERTICES[None, :, 1]) * uy
    else:
        s = cell_km * 1000.0 / unit_m
        rows, cols = np.meshgrid(np.arange(r0, r1 + 1), np.arange(c0, c1 + 1), indexing="ij")
        rows, cols = rows.ravel(), cols.ravel()
        vx = (cols[:, None] + _SQUARE_VERTICES[None, :, 0]) * s
        vy = (rows[:, None] + _SQUARE_VERTICES[None, :, 1]) * s
    polys = shapely.polygons(np.stack([vx, vy], axis=-1))
    return rows, cols, polys


def _polygonal_part(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of each geometry (drop lines/points of collections)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = shapely.get_dimensions(parts) == 2
    out = np.full(len(geoms), None, dtype=object)
    if keep.any():
        owners, dense = np.unique(idx[keep], return_inverse=True)
        joined = shapely.multipolygons(parts[keep], indices=dense)
        # single polygons stay polygons
        n_parts = np.bincount(dense, minlength=len(owners))
        joined = np.where(n_parts == 1, shapely.get_geometry(joined, 0), joined)
        out[owners] = joined
    return out


def hex_grid(
    region: Any,
    *,
    cell_km: float,
    shape: Literal["hexagon", "square"] = "hexagon",
    crs: Any = EQUAL_AREA_CRS,
    clip: bool = False,
    region_crs: Any = "EPSG:4326",
    max_memory: str | int | None = None,
) -> gpd.GeoDataFrame:
    """An equal-area grid of hexagons (or squares) of ``cell_km ** 2`` km² over ``region``.

    Cells whose interior meets the region are kept. With ``clip=False`` (default)
    every cell is whole, so the cells cover the region and all have the same area;
    with ``clip=True`` the cells are cut to the region and tile it exactly
    (``area_km2`` then sums to the region's area).

    Parameters
    ----------
    region : shapely geometry, GeoSeries or GeoDataFrame
        Study area (polygons; the union of all rows). A bare shapely geometry is taken
        to be in ``region_crs`` (EPSG:4326 by default, as ``Atlas.region``). Edges of a
        lon/lat region are densified to 0.01° before projection, so a box's edges
        follow its parallels and meridians.
    cell_km : float
        Size of a cell: the side of the square of the same area; a cell covers
        ``cell_km ** 2`` km² (hexagon side ``hexagon_side_km(cell_km)``).
    shape : {"hexagon", "square"}
        Cell shape; hexagons are pointy-top.
    crs : CRS-like
        Projected CRS the grid is built in; keep it equal-area (default ``ESRI:102025``)
        so that cells have equal true areas.
    clip : bool
        Cut the cells to the region.
    region_crs : CRS-like
        CRS of ``region`` when it is a bare shapely geometry.
    max_memory : str or int, optional
        Memory the lattice may use (e.g. ``"4GiB"``); the grid is refused before it is
        built when its estimate (:func:`lattice_cells` x
        :data:`cami_atlas._memory.HOTSPOT_BYTES_PER_CELL`) exceeds this or the memory
        available, with the smallest ``cell_km`` that fits
        (:class:`~cami_atlas.errors.MemoryLimitError`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cell_id`` (``"r{row}_c{col}"`` on the lattice anchored at the CRS origin),
        ``area_km2`` (true area, computed in ``ESRI:102025``) and the cell polygons,
        in ``crs``; ``attrs`` records ``cell_km`` and ``shape``.

    Examples
    --------
    >>> from shapely import box
    >>> cells = hex_grid(box(0, 0, 100_000, 100_000), cell_km=10, crs="ESRI:102025",
    ...                  region_crs="ESRI:102025")
    >>> round(float(cells["area_km2"].iloc[0]), 6)
    100.0
    >>> clipped = hex_grid(box(0, 0, 100_000, 100_000), cell_km=10, crs="ESRI:102025",
    ...                    region_crs="ESRI:102025", clip=True)
    >>> round(float(clipped["area_km2"].sum()), 6)
    10000.0
    """
    check_option("shape", shape, CELL_SHAPES)
    if not isinstance(cell_km, int | float) or not math.isfinite(cell_km) or cell_km <= 0:
        raise OptionError(f"cell_km must be a positive number of km; got {cell_km!r}.")
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise CRSError(
            f"hex_grid builds cells in a projected equal-area CRS; got {crs.to_string()}. "
            f"Use crs={EQUAL_AREA_CRS!r} (Asia North Albers Equal Area) or another "
            "equal-area projection."
        )
    unit_m = crs.axis_info[0].unit_conversion_factor
    geom = _region_geometry(region, crs, region_crs)
    check_lattice_memory(geom.bounds, cell_km=cell_km, shape=shape, crs=crs,
                         max_memory=max_memory)
    rows, cols, polys = _lattice(shape, float(cell_km), geom.bounds, unit_m)
    shapely.prepare(geom)
    hit = np.asarray(shapely.STRtree(polys).query(geom, predicate="intersects"), dtype=np.int64)
    hit = np.sort(hit)
    hit = hit[interiors_meet(np.full(len(hit), geom, dtype=object), polys[hit])]
    rows, cols, polys = rows[hit], cols[hit], polys[hit]
    if clip:
        polys = _polygonal_part(shapely.intersection(polys, geom))
        keep = ~shapely.is_missing(polys)
        keep[keep] = shapely.area(polys[keep]) > 0
        rows, cols, polys = rows[keep], cols[keep], polys[keep]
    cell_id = pd.Series(rows).astype(str).radd("r") + "_c" + pd.Series(cols).astype(str)
    cells = gpd.GeoDataFrame({"cell_id": cell_id.to_numpy()}, geometry=polys, crs=crs)
    cells["area_km2"] = area_km2(cells).to_numpy()
    cells.attrs = {"cell_km": float(cell_km), "shape": shape}
    return cells
