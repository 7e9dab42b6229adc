"""Avoid: alternative alignments of a line, least-impact paths traded against construction.

Between a route's end points (and optional via points, visited in order), an alignment
is a least-cost path over the cost surface

    cost(cell) = (1 - t) · C(cell) / mean(C) + t · I(cell) / mean(I > 0) + ε

where ``t`` is the trade-off (``0``: the cheapest line to build, ``1``: the least impact;
``ε = 1e-3`` keeps the shortest among equally cheap paths), ``C`` the construction cost
and ``I`` the impact surface; both terms are divided by their mean (over cells where
``I > 0`` for the impact) so that ``t = 0.5`` weighs them alike. The path runs through
cell centres (8 neighbours; the step cost is the mean of the two cells times the step
length, as in :func:`cami_atlas.connectivity.cost_distance`, whose compiled Dijkstra
searches it; the path is traced back from the end).

**Impact surface** (:func:`impact_surface`, per cell, no unit: "species weight"):

    I = Σ_species  w_class(infra_type, species) · w_status(species) · (range + c · corridor)
        + p · protected

* ``w_class``: the barrier class of a line of ``infra_type`` (with ``attributes``) for
  the species in the CAMI matrix, weighted as the hotspot score weighs it
  (``data/hotspot_weights.csv``: complete barrier 1, partial 0.5, unknown 0.5 —
  precautionary —, not a barrier 0);
* ``w_status``: the species' IUCN Red List weight (1 + Red List Index weight: LC 1 ...
  CR 5, :mod:`cami_atlas.barriers.status`);
* ``range`` / ``corridor``: 1 where the cell's centre is in the species' range / its
  corridor polygons (``corridor_weight`` c, default 1: a corridor cell counts twice);
* ``protected``: 1 in a protected or key area of the atlas (``protected_weight`` p,
  default 5, the weight of one Critically Endangered species facing a complete barrier).

The default weights of corridors and protected areas are planning choices, stated here
and in the report, not published figures; pass your own.

**Construction cost** (:func:`construction_cost_surface`): ``1 + s · slope°`` per metre
(``slope_cost_per_deg`` s, default 0.1: a 10° slope doubles the cost), from the atlas DEM
reprojected to the analysis grid. Again a stated planning default, not a published cost.

**Several alternatives** (:func:`alternative_alignments`): one path per trade-off of
``tradeoffs`` (default 0, 0.25, 0.5, 0.75, 1); identical paths are merged and paths
dominated in (length, impact) are dropped, so what remains is the Pareto front of length
against impact that the trade-offs reach. Each is measured (geodesic ``length_km``,
``impact`` = Σ I · step length in km along the path: species-weighted km,
``construction_cost`` = Σ C · step length in km) beside the original route.
:func:`cami_atlas.pipeline.screening.screen_alternatives` screens them all like the
original, side by side.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from pyproj import CRS

from ..errors import SchemaError
from ..measure import geodesic_length_km, to_crs, window_bounds
from ..raster import Grid

__all__ = ["DEFAULT_TRADEOFFS", "AlignmentResult", "alternative_alignments",
           "construction_cost_surface", "impact_surface", "path_measures"]

#: Trade-offs tried by default (0: cheapest to build, 1: least impact).
DEFAULT_TRADEOFFS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
_EPS = 1e-3
_TIE = 1e-7  # per cell of distance from the chord (see _cost)
_WGS84 = CRS.from_epsg(4326)


@dataclass
class AlignmentResult:
    """Output of :func:`alternative_alignments`.

    Attributes
    ----------
    alternatives : GeoDataFrame
        One row per alignment, the original first (``name`` ``original``), then the
        alternatives on the Pareto front (``alt_1`` ...): ``tradeoff`` (the trade-offs
        that found the path, ``NaN`` for the original), ``length_km`` (geodesic),
        ``impact`` (species-weighted km), ``construction_cost`` (cost-weighted km),
        ``impact_change_pct`` and ``length_change_pct`` against the original; EPSG:4326.
    impact : Grid
        The impact surface.
    construction : Grid
        The construction cost surface.
    notes : list of str
    """

    alternatives: gpd.GeoDataFrame
    impact: Grid
    construction: Grid
    notes: list[str] = field(default_factory=list)


def _template(bounds_lonlat: Sequence[float], cell_size_m: float, crs: CRS) -> Grid:
    """An empty grid of ``cell_size_m`` covering ``bounds_lonlat`` in ``crs``."""
    from affine import Affine

    box = shapely.segmentize(shapely.box(*bounds_lonlat), 0.05)
    x0, y0, x1, y1 = to_crs(gpd.GeoSeries([box], crs=_WGS84), crs).total_bounds
    cols = max(int(np.ceil((x1 - x0) / cell_size_m)), 3)
    rows = max(int(np.ceil((y1 - y0) / cell_size_m)), 3)
    transform = Affine(cell_size_m, 0, x0, 0, -cell_size_m, y1)
    return Grid(np.zeros((rows, cols)), transform, crs, None, "template")


def _burn(grid: Grid, geoms: Sequence[Any]) -> np.ndarray:
    geoms = [g for g in geoms if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(grid.shape, dtype=bool)
    return rasterio.features.geometry_mask(geoms, out_shape=grid.shape,
                                           transform=grid.transform, invert=True)


def _class_weights() -> pd.Series:
    """The barrier-class weights of the hotspot score (``data/hotspot_weights.csv``)."""
    from importlib import resources

    with resources.files("cami_atlas.data").joinpath("hotspot_weights.csv").open() as fh:
        table = pd.read_csv(fh, comment="#")
    rows = table[table["group"] == "barrier_class"]
    return rows.set_index("name")["weight"].astype(float)


def impact_surface(atlas: Any, infra_type: str, grid: Grid, *,
                   attributes: Mapping[str, object] | None = None,
                   species: Sequence[str] | None = None, matrix: Any = None,
                   status: Any = None, corridor_weight: float = 1.0,
                   protected_weight: float = 5.0) -> Grid:
    """The impact of a new line of ``infra_type`` in every cell of ``grid`` (see module).

    Parameters
    ----------
    atlas : Atlas
        Uses its ``species_range`` layers and, where present, ``corridor`` and
        ``protected_area`` layers.
    infra_type : str
        ``railway``, ``road``, ``fence``, ``pipeline``, ...
    grid : Grid
        Grid to fill (projected CRS; its values are ignored).
    attributes : mapping, optional
        Attributes of the line for the barrier matrix (``track``, ``fenced``, ...).
    species : sequence of str, optional
        Restrict to these species (default: every species with a range).
    matrix, status : optional
        Barrier matrix and IUCN status table (default: the shipped ones).
    corridor_weight, protected_weight : float
        See the module.

    Examples
    --------
    >>> from affine import Affine
    >>> from shapely import box
    >>> from cami_atlas.atlas import Atlas
    >>> atlas = Atlas("synthetic")
    >>> atlas.add_layer("ranges", gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(66, 47, 67, 48)], crs="EPSG:4326"), "species_range",
    ...     source="synthetic", licence="CC0-1.0")
    >>> g = Grid(np.zeros((2, 4)), Affine(50_000, 0, 250_000, 0, -50_000, 5_350_000),
    ...          "EPSG:32642")  # cell centres 66.0, 66.7, 67.3, 68.0 E; 48.05, 47.6 N
    >>> impact_surface(atlas, "railway", g, attributes={"track": "single track"}).values
    array([[0., 0., 0., 0.],
           [1., 1., 0., 0.]])

    (a single-track railway is a partial barrier to saiga, weight 0.5, and saiga is Near
    Threatened, weight 2: 0.5 x 2 = 1 in the two cells whose centre is in the range)
    """
    from ..barriers.classify import classify_barriers
    from ..barriers.species import matrix_species
    from ..barriers.status import status_weights
    from ..schema import canonical_species_name

    if grid.crs is None or grid.crs.is_geographic:
        raise SchemaError("impact_surface needs a grid in a projected CRS (metres).")
    ranges = atlas.read_kind("species_range")
    if not len(ranges):
        raise SchemaError(f"atlas {atlas.name!r} has no species_range layer; an impact "
                          "surface needs species ranges.")
    ranges = ranges[ranges.geometry.notna()].copy()
    ranges["species"] = ranges["species"].map(canonical_species_name)
    chosen = sorted(ranges["species"].unique())
    if species is not None:
        wanted = [canonical_species_name(s) for s in species]
        unknown = sorted(set(wanted) - set(chosen))
        if unknown:
            raise SchemaError(f"species {unknown} have no range in atlas {atlas.name!r}; "
                              f"ranges: {chosen}.")
        chosen = wanted
    ranges = to_crs(ranges[ranges["species"].isin(chosen)], grid.crs)
    corridors = atlas.read_kind("corridor") if atlas.layer_names("corridor") else None
    if corridors is not None and len(corridors):
        corridors = to_crs(corridors, grid.crs)
        corridors["species"] = corridors["species"].map(canonical_species_name)
    class_w = _class_weights()
    status_w = status_weights(chosen, status=status)["status_weight"]
    msp = matrix_species(chosen, matrix=matrix)
    line = pd.DataFrame({"infra_type": [infra_type], **{k: [v] for k, v in
                                                        (attributes or {}).items()}})
    out = np.zeros(grid.shape)
    for sp in chosen:
        cls = (classify_barriers(line, msp[sp], matrix=matrix).iloc[0]
               if msp.get(sp) else "unknown")
        w = float(class_w[cls]) * float(status_w[sp])
        if w == 0:
            continue
        cells = _burn(grid, ranges.loc[ranges["species"] == sp].geometry.tolist())
        out += w * cells
        if corridors is not None and len(corridors) and corridor_weight:
            cor = _burn(grid, corridors.loc[corridors["species"] == sp].geometry.tolist())
            out += w * corridor_weight * cor
    if atlas.layer_names("protected_area") and protected_weight:
        pas = to_crs(atlas.read_kind("protected_area"), grid.crs)
        out += protected_weight * _burn(grid, pas.geometry.tolist())
    return grid.with_values(out, name="impact_surface")


def construction_cost_surface(atlas: Any, grid: Grid, bounds_lonlat: Sequence[float], *,
                              dem: str | None = "dem_etopo5",
                              slope_cost_per_deg: float = 0.1) -> Grid:
    """Construction cost per metre, ``1 + slope_cost_per_deg · slope°``, on ``grid``.

    The DEM layer ``dem`` of the atlas is reprojected to the grid (bilinear); cells it
    does not cover cost 1 (flat). ``dem=None``: 1 everywhere (length only).

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.zeros((2, 2)), Affine(1000, 0, 0, 0, -1000, 2000), "EPSG:32642")
    >>> construction_cost_surface(None, g, (0, 0, 1, 1), dem=None).values.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    if not slope_cost_per_deg >= 0:
        raise SchemaError(f"slope_cost_per_deg must be >= 0; got {slope_cost_per_deg}.")
    if dem is None:
        return grid.with_values(np.ones(grid.shape), name="construction_cost")
    from ..connectivity.resistance import slope_degrees
    from ..connectivity.workflow import _crop

    if dem not in atlas.layer_names():
        raise SchemaError(f"atlas {atlas.name!r} has no DEM layer {dem!r}; layers: "
                          f"{atlas.layer_names()}. Pass dem=None for length only.")
    layer = atlas.read(dem)
    if not isinstance(layer, Grid):
        raise SchemaError(f"layer {dem!r} of atlas {atlas.name!r} is not a raster; give the "
                          "name of a DEM.")
    elevation = _crop(layer, tuple(bounds_lonlat))
    on_grid = grid.with_values(_align(elevation, grid, bilinear=True), name="elevation")
    values = slope_degrees(on_grid).values
    cost = 1.0 + slope_cost_per_deg * np.nan_to_num(values, nan=0.0)
    return grid.with_values(cost, name="construction_cost")


def _align(src: Grid, grid: Grid, *, bilinear: bool = False) -> np.ndarray:
    """``src`` reprojected onto ``grid``'s cells (nearest or bilinear; NaN where it has
    no data)."""
    from rasterio.warp import Resampling, reproject

    dst = np.full(grid.shape, np.nan)
    reproject(np.asarray(src.values, dtype="float64"), dst, src_transform=src.transform,
              src_crs=src.crs, dst_transform=grid.transform, dst_crs=grid.crs,
              src_nodata=np.nan, dst_nodata=np.nan,
              resampling=Resampling.bilinear if bilinear else Resampling.nearest)
    return dst


def _chord_offset(grid: Grid, points: np.ndarray) -> np.ndarray:
    """Distance of every cell centre from the polyline through ``points`` (x, y), in
    cells (the tie-break of :func:`_cost`).

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.zeros((1, 3)), Affine(10, 0, 0, 0, -10, 10), "EPSG:32642")
    >>> _chord_offset(g, np.array([[5.0, 25.0], [25.0, 25.0]])).tolist()
    [[2.0, 2.0, 2.0]]
    """
    rows, cols = np.indices(grid.shape)
    x, y = grid.xy(rows.ravel(), cols.ravel())
    p = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    best = np.full(len(p), np.inf)
    for a, b in itertools.pairwise(np.asarray(points, dtype=float)):
        ab = b - a
        t = np.clip(((p - a) @ ab) / max(float(ab @ ab), 1e-300), 0.0, 1.0)
        best = np.minimum(best, np.hypot(*(p - a - t[:, None] * ab).T))
    return best.reshape(grid.shape) / abs(grid.transform.a)


def _cost(construction: Grid, impact: Grid, tradeoff: float, offset: np.ndarray) -> Grid:
    c = np.asarray(construction.values, dtype=float)
    i = np.asarray(impact.values, dtype=float)
    c_mean = float(np.nanmean(c[np.isfinite(c)])) or 1.0
    pos = i[np.isfinite(i) & (i > 0)]
    i_mean = float(pos.mean()) if pos.size else 1.0
    cost = (1 - tradeoff) * c / c_mean + tradeoff * i / i_mean + _EPS
    # ties (many 8-neighbour paths of one cost) go to the cells nearest the straight
    # chord through the points: a penalty far below any real cost difference
    cost = cost + _TIE * offset
    # the resistance encoding of the path search wants >= 1: a constant factor changes
    # no path
    return construction.with_values(cost / np.nanmin(cost), name="alignment_cost")


def path_measures(path: shapely.LineString, crs: Any, impact: Grid, construction: Grid
                  ) -> dict[str, float]:
    """Geodesic ``length_km``, ``impact`` (Σ I · km) and ``construction_cost`` (Σ C · km)
    of a line in ``crs`` (the grids' CRS).

    Each cell counts with the length of the line inside it (exact intersection), so a
    path through cell centres that steps diagonally across a cell corner does not pick
    up the two cells it only touches.

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.array([[0.0, 2.0]]), Affine(1000, 0, 0, 0, -1000, 1000), "EPSG:32642")
    >>> m = path_measures(shapely.LineString([(0, 500), (2000, 500)]), g.crs, g,
    ...                   g.with_values(np.ones((1, 2))))
    >>> round(m["impact"], 6), round(m["construction_cost"], 6)
    (2.0, 2.0)
    """
    cell = abs(impact.transform.a)
    xy = shapely.get_coordinates(shapely.segmentize(path, cell / 4))
    mid = (xy[1:] + xy[:-1]) / 2
    rows, cols = rasterio.transform.rowcol(impact.transform, mid[:, 0], mid[:, 1])
    near = np.unique(np.column_stack([np.asarray(rows), np.asarray(cols)]), axis=0)
    shifts = np.array([(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1)])
    rc = np.unique((near[:, None, :] + shifts[None]).reshape(-1, 2), axis=0)
    inside = ((rc[:, 0] >= 0) & (rc[:, 0] < impact.shape[0]) & (rc[:, 1] >= 0)
              & (rc[:, 1] < impact.shape[1]))
    r, c = rc[inside, 0], rc[inside, 1]
    x0, y1 = rasterio.transform.xy(impact.transform, r, c, offset="ul")
    x0, y1 = np.asarray(x0), np.asarray(y1)
    cells = shapely.box(x0, y1 - cell, x0 + cell, y1)
    km = shapely.length(shapely.intersection(path, cells)) / 1000
    imp = np.nan_to_num(np.asarray(impact.values, dtype=float)[r, c])
    con = np.nan_to_num(np.asarray(construction.values, dtype=float)[r, c], nan=1.0)
    length = float(geodesic_length_km(gpd.GeoSeries([path], crs=crs)).sum())
    return {"length_km": length, "impact": float((imp * km).sum()),
            "construction_cost": float((con * km).sum())}


_STEPS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])


def _trace(cost: np.ndarray, cum: np.ndarray, end: tuple[int, int], cell: float
           ) -> np.ndarray:
    """Cells of a least-cost path from the source of ``cum`` to ``end``, walking back
    through the neighbour that explains each cell's accumulated cost (the step cost of
    :func:`cami_atlas.connectivity.cost_distance`: mean resistance x step length)."""
    rows, cols = cost.shape
    length = cell * np.hypot(*_STEPS.T)
    path = [end]
    r, c = end
    for _ in range(rows * cols):
        if cum[r, c] == 0:
            break
        nr, nc = r + _STEPS[:, 0], c + _STEPS[:, 1]
        ok = (nr >= 0) & (nr < rows) & (nc >= 0) & (nc < cols)
        nr, nc = nr[ok], nc[ok]
        total = cum[nr, nc] + (cost[nr, nc] + cost[r, c]) / 2 * length[ok]
        total = np.where(np.isfinite(cum[nr, nc]), total, np.inf)
        best = int(np.argmin(total))
        r, c = int(nr[best]), int(nc[best])
        path.append((r, c))
    return np.array(path[::-1])


def _least_path(cost: Grid, points: np.ndarray, names: list[str]) -> shapely.LineString:
    """Least-cost path through ``points`` in order: one compiled Dijkstra from each point
    (:func:`cami_atlas.connectivity.cost_distance`), traced back from the next one."""
    from ..connectivity.costdistance import cost_distance

    values = np.asarray(cost.values, dtype=float)
    rows, cols = cost.rowcol(points[:, 0], points[:, 1])
    cells = np.column_stack([np.asarray(rows), np.asarray(cols)])
    parts = []
    for i in range(len(points) - 1):
        a, b = cells[i], cells[i + 1]
        if not np.isfinite(values[a[0], a[1]]):
            raise SchemaError(f"{names[i]} is on an impassable or nodata cell; move it.")
        cum = cost_distance(cost, np.array([a])).values
        if not np.isfinite(cum[b[0], b[1]]):
            raise SchemaError(f"no passable path from {names[i]} to {names[i + 1]}: one of "
                              "them is in an impassable or nodata area, or cut off by one; "
                              "move the point or widen window_km.")
        parts.append(_trace(values, cum, (int(b[0]), int(b[1])), cost.cell_size_m))
    rc = np.vstack([p if i == 0 else p[1:] for i, p in enumerate(parts)])
    x, y = cost.xy(rc[:, 0], rc[:, 1])
    return shapely.LineString(np.column_stack([x, y]))


def _pareto(frame: pd.DataFrame) -> np.ndarray:
    """Rows not dominated in (length_km, impact), both minimised."""
    a = frame[["length_km", "impact"]].to_numpy()
    keep = np.ones(len(a), dtype=bool)
    for i in range(len(a)):
        worse = np.all(a <= a[i] + 1e-9, axis=1) & np.any(a < a[i] - 1e-9, axis=1)
        same = np.all(np.abs(a - a[i]) <= 1e-9 * np.maximum(1.0, np.abs(a[i])), axis=1)
        same[i:] = False  # of paths equal in both measures, the first found stays
        keep[i] = not (worse.any() or same.any())
    return keep


def alternative_alignments(
    route: gpd.GeoDataFrame | gpd.GeoSeries,
    atlas: Any = None,
    *,
    infra_type: str,
    attributes: Mapping[str, object] | None = None,
    via: Sequence[tuple[float, float]] | None = None,
    tradeoffs: Sequence[float] = DEFAULT_TRADEOFFS,
    cell_size_m: float = 5000.0,
    window_km: float = 100.0,
    crs: Any = None,
    species: Sequence[str] | None = None,
    dem: str | None = "dem_etopo5",
    slope_cost_per_deg: float = 0.1,
    corridor_weight: float = 1.0,
    protected_weight: float = 5.0,
    impact: Grid | None = None,
    construction: Grid | None = None,
) -> AlignmentResult:
    """Least-impact alternatives to a route between its end points (see the module).

    Parameters
    ----------
    route : GeoDataFrame or GeoSeries
        The proposed line (its first and last vertex are the end points); any CRS.
    atlas : Atlas, optional
        Default: the embedded default atlas.
    infra_type, attributes
        The line's type and matrix attributes (``track``, ``fenced`` ...).
    via : sequence of (lon, lat), optional
        Points every alternative passes through, in order.
    tradeoffs : sequence of float in [0, 1]
        One path per trade-off; the Pareto front of them is kept.
    cell_size_m, window_km, crs
        Grid of the surfaces: ``cell_size_m`` cells over the route's extent plus
        ``window_km``, in ``crs`` (default the UTM zone of the route's centre).
    species, corridor_weight, protected_weight
        As in :func:`impact_surface`.
    dem, slope_cost_per_deg
        As in :func:`construction_cost_surface`.
    impact, construction : Grid, optional
        Surfaces to use instead of building them from the atlas (same grid).

    Returns
    -------
    AlignmentResult

    Raises
    ------
    SchemaError
        A trade-off outside [0, 1], an end or via point outside the surfaces or with no
        passable path, a route that is not a line.

    Examples
    --------
    >>> from affine import Affine
    >>> from shapely import LineString
    >>> imp = np.zeros((9, 9)); imp[2:7, 3:6] = 10.0       # one high-impact zone
    >>> g = Grid(imp, Affine(1000, 0, 0, 0, -1000, 9000), "EPSG:32642")
    >>> route = gpd.GeoSeries([LineString([(500, 4500), (8500, 4500)])], crs=g.crs)
    >>> out = alternative_alignments(route, infra_type="railway", impact=g,
    ...                              construction=g.with_values(np.ones((9, 9))))
    >>> best = out.alternatives.sort_values("impact").iloc[0]
    >>> bool(best["impact"] == 0.0), bool(best["length_km"] > 8.0)
    (True, True)
    """
    from ..validate import check_route

    if atlas is None and (impact is None or construction is None):
        from ..atlas import Atlas

        atlas = Atlas.default()
    ts = [float(t) for t in tradeoffs]
    if not ts or any(not 0.0 <= t <= 1.0 for t in ts):
        raise SchemaError(f"tradeoffs must be numbers in [0, 1]; got {list(tradeoffs)}.")
    route = check_route(route, None if atlas is None else atlas.region, what="route")
    notes: list[str] = []
    if impact is None or construction is None:
        from ..connectivity.workflow import utm_crs

        lon0, lat0, lon1, lat1 = to_crs(route, _WGS84).total_bounds
        bounds = window_bounds(route, window_km)
        target = CRS.from_user_input(crs) if crs is not None else utm_crs(
            (lon0 + lon1) / 2, (lat0 + lat1) / 2)
        template = _template(bounds, cell_size_m, target)
        impact = impact if impact is not None else impact_surface(
            atlas, infra_type, template, attributes=attributes, species=species,
            corridor_weight=corridor_weight, protected_weight=protected_weight)
        construction = construction if construction is not None else \
            construction_cost_surface(atlas, template, bounds, dem=dem,
                                      slope_cost_per_deg=slope_cost_per_deg)
    line = shapely.line_merge(shapely.union_all(to_crs(route, impact.crs).geometry.to_numpy()))
    if not isinstance(line, shapely.LineString):
        raise SchemaError("the route must be one continuous line (its parts join end to "
                          "end) to have two end points; merge its sections first.")
    coords = shapely.get_coordinates(line)
    points = [coords[0]]
    names = ["the start of the route"]
    if via:
        via_xy = to_crs(gpd.GeoSeries(gpd.points_from_xy(*np.asarray(via, float).T),
                                      crs=_WGS84), impact.crs)
        points += list(shapely.get_coordinates(via_xy.to_numpy()))
        names += [f"via point {i + 1} {tuple(v)}" for i, v in enumerate(via)]
    points.append(coords[-1])
    names.append("the end of the route")
    pts = np.asarray(points)
    left, bottom, right, top = impact.bounds
    for (x, y), name in zip(pts, names, strict=True):
        if not (left <= x <= right and bottom <= y <= top):
            raise SchemaError(f"{name} lies outside the cost surface; widen window_km or "
                              "pass surfaces that cover it.")
    rows = [{"name": "original", "tradeoff": np.nan,
             **path_measures(line, impact.crs, impact, construction), "geometry": line}]
    found: dict[bytes, dict[str, Any]] = {}
    offset = _chord_offset(construction, pts)
    for t in ts:
        path = _least_path(_cost(construction, impact, t, offset), pts, names)
        key = shapely.to_wkb(shapely.normalize(path))
        if key in found:
            found[key]["tradeoffs"].append(t)
            continue
        found[key] = {"tradeoffs": [t], **path_measures(path, impact.crs, impact,
                                                          construction), "geometry": path}
    alts = pd.DataFrame(list(found.values()))
    keep = _pareto(alts)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} path(s) dominated in length and impact left out.")
    alts = alts[keep].sort_values("impact", ascending=False).reset_index(drop=True)
    alts["name"] = [f"alt_{i + 1}" for i in range(len(alts))]
    alts["tradeoff"] = alts.pop("tradeoffs").map(lambda v: ", ".join(f"{t:g}" for t in v))
    table = pd.concat([pd.DataFrame(rows).assign(tradeoff=""), alts], ignore_index=True)
    orig = table.iloc[0]
    table["length_change_pct"] = 100 * (table["length_km"] / orig["length_km"] - 1)
    table["impact_change_pct"] = (100 * (table["impact"] / orig["impact"] - 1)
                                  if orig["impact"] > 0 else np.nan)
    cols = ["name", "tradeoff", "length_km", "impact", "construction_cost",
            "length_change_pct", "impact_change_pct", "geometry"]
    gdf = gpd.GeoDataFrame(table[cols], geometry="geometry", crs=impact.crs).to_crs(_WGS84)
    return AlignmentResult(gdf, impact, construction, notes)
