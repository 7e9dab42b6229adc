"""Connectivity lost to a proposed route, and where crossing structures restore most.

For one species the model runs on a coarse raster of the species' range within
``window_m`` of the route (cells outside are outside the study area):

1. *Base resistance* 1 in every cell (uniform: the atlas holds no land-cover layer for
   the region; see Notes of :func:`route_connectivity`).
2. *Before*: the existing infrastructure of the atlas burned in with its barrier class
   for the species (:func:`cami_atlas.connectivity.burn_infrastructure`, default
   table: not a barrier x1, partial and unknown x10, complete impassable).
3. *After*: the route burned in on top with its class for the species.
4. *Cores*: the range on each side of the route, cut into chunks about
   ``core_spacing_m`` long along the route (Voronoi cells of points spaced along it)
   and kept ``2`` cells away from the route. Effective resistances between all cores
   (:func:`cami_atlas.connectivity.circuit.effective_resistance`) before and after
   give the loss of cross-route conductance (sum of ``1/R`` over pairs of cores on
   opposite sides) and of ECA (:mod:`cami_atlas.connectivity.patchgraph`: core
   areas as attributes, effective resistance as distance, dispersal distance = the
   median cross-route resistance before the route).
5. *Wall-to-wall current*: all cores of one side against all of the other
   (:func:`cami_atlas.connectivity.circuit.circuit_pairwise`) before the route gives
   where movement would cross it; the peaks of current along the route are the
   candidate crossing locations. Each candidate is scored by the share of the lost
   wall-to-wall conductance regained when a gap of one cell radius is opened in the
   route there (``crossings=`` of ``burn_infrastructure``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio.features import rasterize
from scipy.signal import find_peaks

from .._memory import CONNECTIVITY_BYTES_PER_CELL, check_grid_memory, raster_cells
from ..connectivity import burn_infrastructure
from ..connectivity.circuit import circuit_pairwise, effective_resistance
from ..connectivity.patchgraph import connectivity_indices, patch_graph
from ..errors import DisconnectedGraphWarning
from ..raster import Grid

__all__ = ["RouteConnectivity", "route_connectivity"]


@dataclass
class RouteConnectivity:
    """Connectivity before/after a route for one species (see :func:`route_connectivity`)."""

    metrics: dict[str, float]
    candidates: gpd.GeoDataFrame
    profile: pd.DataFrame
    current: Grid | None = None
    cores: gpd.GeoDataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _conductance(r: np.ndarray, mask: np.ndarray) -> float:
    rr = r[mask]
    with np.errstate(divide="ignore"):
        return float(np.where(np.isfinite(rr) & (rr > 0), 1.0 / rr, 0.0).sum())


def _inv(r: float) -> float:
    return 1.0 / r if np.isfinite(r) and r > 0 else 0.0


def _grid(window: shapely.Geometry, cell: float, crs: object) -> Grid:
    minx, miny, maxx, maxy = window.bounds
    check_grid_memory(lambda c: raster_cells((minx, miny, maxx, maxy), c), float(cell),
                      CONNECTIVITY_BYTES_PER_CELL, what="the screening connectivity raster",
                      option="cell_size_m")
    ncols = max(3, int(np.ceil((maxx - minx) / cell)) + 2)
    nrows = max(3, int(np.ceil((maxy - miny) / cell)) + 2)
    transform = Affine(cell, 0, minx - cell, 0, -cell, maxy + cell)
    inside = rasterize([(window, 1)], out_shape=(nrows, ncols), transform=transform, fill=0,
                       all_touched=False, dtype="uint8").astype(bool)
    values = np.where(inside, 1.0, np.nan)
    return Grid(values, transform, crs, name="base resistance (uniform)")


def _samples(lines: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` metres along each line: (points, distance along the line)."""
    lengths = shapely.length(lines)
    counts = np.maximum(np.floor(lengths / step).astype(int), 1) + 1
    owner = np.repeat(np.arange(len(lines)), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    dist = np.minimum(k * step, lengths[owner])
    return shapely.line_interpolate_point(lines[owner], dist), dist


def _cores(route: shapely.Geometry, window: shapely.Geometry, cell: float, window_m: float,
           spacing: float, max_cores: int, crs: object) -> gpd.GeoDataFrame:
    lines = shapely.get_parts(shapely.line_merge(route))
    pts, _ = _samples(np.asarray(lines), spacing)
    gap = shapely.buffer(route, 2.0 * cell)
    cells = shapely.get_parts(shapely.voronoi_polygons(
        shapely.multipoints(pts), extend_to=shapely.buffer(window, window_m)))
    left = shapely.union_all(shapely.buffer(lines, window_m * 1.5, single_sided=True))
    right = shapely.union_all(shapely.buffer(lines, -window_m * 1.5, single_sided=True))
    out_geoms, sides = [], []
    for side_name, side in (("left", left), ("right", right)):
        band = shapely.difference(shapely.intersection(side, window), gap)
        pieces = shapely.get_parts(shapely.intersection(band, cells))
        pieces = shapely.get_parts(pieces)
        keep = (shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) >= 4 * cell * cell)
        out_geoms.extend(pieces[keep])
        sides.extend([side_name] * int(keep.sum()))
    gdf = gpd.GeoDataFrame({"side": sides}, geometry=list(out_geoms), crs=crs)
    if len(gdf) == 0:
        return gdf.assign(area_km2=[], core_id=[])
    gdf["area_km2"] = gdf.area / 1e6
    # the largest cores, keeping both sides represented
    gdf = gdf.sort_values("area_km2", ascending=False, kind="stable")
    per_side = max(1, max_cores // 2)
    gdf = gdf.groupby("side", group_keys=False).head(per_side)
    gdf = gdf.reset_index(drop=True)
    gdf["core_id"] = [f"{s[0].upper()}{i + 1}" for i, s in enumerate(gdf["side"])]
    return gdf


def route_connectivity(
    route: gpd.GeoDataFrame,
    range_polygon: shapely.Geometry,
    existing: gpd.GeoDataFrame,
    *,
    cell_size_m: float,
    window_m: float,
    core_spacing_m: float | None = None,
    n_candidates: int = 5,
    min_candidate_gap_m: float | None = None,
    max_cores: int = 24,
) -> RouteConnectivity:
    """Connectivity of one species' range near a route before and after it is built.

    Long only for its documented options; the body is 54 lines, one call per step
    (grid, burn, cores, core-pair metrics, wall circuit, route profile, gap candidates).

    Parameters
    ----------
    route : GeoDataFrame
        The route lines in a projected (equal-area) CRS with a ``barrier_class`` column
        (the route's class for this species).
    range_polygon : shapely geometry
        The species' range (∪ corridors) in the same CRS.
    existing : GeoDataFrame
        Existing infrastructure in the same CRS with ``barrier_class`` for the species
        (may be empty).
    cell_size_m : float
        Raster cell size (coarse: a screening, not a corridor design).
    window_m : float
        The model covers the range within this distance of the route (at least 8
        cells; a narrower window is widened and a note says so).
    core_spacing_m : float, optional
        Length of the core chunks along the route (default ``window_m``).
    n_candidates : int
        Crossing candidates (current peaks) kept and scored.
    min_candidate_gap_m : float, optional
        Minimum distance between candidates along the route (default 2 cells).
    max_cores : int
        At most this many cores (the largest, half per side).

    Returns
    -------
    RouteConnectivity
        ``metrics``: ``n_cores``, ``n_cells``, ``cross_conductance_before``/``_after``,
        ``cross_conductance_loss_pct``, ``median_resistance_ratio`` (after/before over
        cross pairs, finite pairs), ``disconnected_pairs_after``, ``eca_before_km2``,
        ``eca_after_km2``, ``eca_loss_pct``, ``wall_resistance_before``/``_after``,
        ``wall_conductance_loss_pct``; ``candidates`` (points: ``rank``,
        ``current_a``, ``restored_pct``, ``along_m``); ``profile`` (current along the
        route, every half cell); ``current`` (the wall-to-wall current before);
        ``cores``.

    Notes
    -----
    The base resistance is uniform (1 per cell): the default atlas has no land-cover
    or habitat-suitability layer, and slope alone is a poor proxy for the lowland
    migrants most exposed to new lines. Results therefore measure how the route (and
    existing lines) cut the geometry of the range, which is what screening needs;
    detailed design needs a species resistance surface.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> crs = "ESRI:102025"
    >>> rt = gpd.GeoDataFrame({"barrier_class": ["complete barrier"]},
    ...     geometry=[LineString([(0, -40_000), (0, 40_000)])], crs=crs)
    >>> none = gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=crs)
    >>> out = route_connectivity(rt, box(-60_000, -60_000, 60_000, 60_000), none,
    ...                          cell_size_m=5_000, window_m=30_000)
    >>> out.metrics["cross_conductance_loss_pct"] > 50
    True
    """
    crs = route.crs
    cell = float(cell_size_m)
    notes: list[str] = []
    if window_m < 8 * cell:
        notes.append(f"window widened from {window_m / 1000:g} km to 8 cells "
                     f"({8 * cell / 1000:g} km) so that cores fit beside the route")
        window_m = 8 * cell
    empty_cand = gpd.GeoDataFrame({"rank": [], "current_a": [], "restored_pct": [],
                                   "along_m": []}, geometry=[], crs=crs)
    route_geom = shapely.union_all(route.geometry.values)
    window = shapely.intersection(shapely.buffer(route_geom, window_m), range_polygon)
    if window.is_empty or window.area < 4 * cell * cell:
        notes.append("the range near the route is smaller than 4 cells; not modelled")
        return RouteConnectivity({}, empty_cand, pd.DataFrame(), notes=notes)
    base = _grid(window, cell, crs)
    n_cells = int(np.isfinite(base.values).sum())
    if len(existing):
        near = existing.iloc[shapely.STRtree(existing.geometry.values).query(
            window, predicate="intersects")]
        before = burn_infrastructure(base, near, name="resistance before") if len(near) \
            else base
    else:
        before = base
    after = burn_infrastructure(before, route[["barrier_class", route.geometry.name]],
                                name="resistance after")
    cores = _cores(route_geom, window, cell, window_m, core_spacing_m or window_m,
                   max_cores, crs)
    if len(cores) < 2 or cores["side"].nunique() < 2:
        notes.append("no core area of at least 4 cells on both sides of the route (the range "
                     "lies on one side only, or is too narrow near the route); cross-route "
                     "connectivity not modelled")
        return RouteConnectivity({"n_cores": float(len(cores)), "n_cells": float(n_cells)},
                                 empty_cand, pd.DataFrame(), cores=cores, notes=notes)
    # sparse LU is exact and faster than AMG on the small grids of a screening
    method = "direct" if n_cells <= 250_000 else "mixed"
    focal = cores.set_index("core_id")[["geometry"]]
    focal = gpd.GeoDataFrame(focal, geometry="geometry", crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        r0 = effective_resistance(before, focal, method=method).to_numpy()
        r1 = effective_resistance(after, focal, method=method).to_numpy()
    metrics = _core_pair_metrics(r0, r1, cores, n_cells)
    walls, current, g0, g1, wall_metrics = _wall_conductance(before, after, cores, method)
    metrics.update(wall_metrics)
    pts, profile = _route_profile(route_geom, current, cell)
    prof = np.nan_to_num(profile["current_a"].to_numpy(), nan=0.0)
    part, along = profile["part"].to_numpy(), profile["along_m"].to_numpy()
    peaks = _candidate_peaks(prof, cell, min_candidate_gap_m, n_candidates)
    restored = _gap_restoration(before, route, pts[peaks], walls, g0, g1, cell, method)
    cand = gpd.GeoDataFrame({"rank": np.arange(1, len(peaks) + 1), "current_a": prof[peaks],
                             "restored_pct": restored, "part": part[peaks],
                             "along_m": along[peaks]},
                            geometry=list(pts[peaks]), crs=crs)
    return RouteConnectivity(metrics, cand, profile, current=current, cores=cores, notes=notes)


def _wall_conductance(before: Grid, after: Grid, cores: gpd.GeoDataFrame, method: str
                      ) -> tuple[gpd.GeoDataFrame, Grid, float, float, dict[str, float]]:
    """Wall-to-wall circuit: all cores of one side of the route against all of the other.

    Returns the two walls (cores dissolved by side), the current map before the route,
    the wall conductances before (``g0``) and after (``g1``, 0 if disconnected) and the
    ``wall_*`` metrics.
    """
    walls = cores.dissolve(by="side")[["geometry"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisconnectedGraphWarning)
        wall0 = circuit_pairwise(before, walls, method=method)
        rw1 = effective_resistance(after, walls, method=method).to_numpy()[0, 1]
    rw0 = float(wall0.resistances.to_numpy()[0, 1])
    rw1 = float(rw1)
    g0, g1 = _inv(rw0), _inv(rw1)
    metrics = dict(wall_resistance_before=rw0, wall_resistance_after=rw1,
                   wall_conductance_loss_pct=100.0 * (1 - g1 / g0) if g0 > 0 else float("nan"))
    return walls, wall0.current, g0, g1, metrics


def _gap_restoration(before: Grid, route: gpd.GeoDataFrame, gap_points: np.ndarray,
                     walls: gpd.GeoDataFrame, g0: float, g1: float, cell: float,
                     method: str) -> np.ndarray:
    """Percentage of the lost wall-to-wall conductance each one-cell gap restores.

    For each point of ``gap_points`` the route is burnt into ``before`` with a crossing
    of one cell there and the conductance between the two ``walls`` recomputed:
    ``100 * (g_gap - g1) / (g0 - g1)``. NaN for every point when nothing was lost or the
    route is not a barrier.
    """
    restored = np.full(len(gap_points), np.nan)
    lost = g0 - g1
    if len(gap_points) and lost > 0 and str(route["barrier_class"].iloc[0]) != "not a barrier":
        for i, pt in enumerate(gap_points):
            gap_pt = gpd.GeoSeries([pt], crs=route.crs)
            opened = burn_infrastructure(before, route[["barrier_class", route.geometry.name]],
                                         crossings=gap_pt, crossing_radius_m=cell)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DisconnectedGraphWarning)
                rg = effective_resistance(opened, walls, method=method).to_numpy()[0, 1]
            gained = _inv(float(rg)) - g1
            restored[i] = 100.0 * gained / lost
    return restored


def _core_pair_metrics(r0: np.ndarray, r1: np.ndarray, cores: gpd.GeoDataFrame,
                       n_cells: int) -> dict[str, float]:
    """Cross-route metrics from the core-to-core resistances before (``r0``) and after.

    Only pairs of cores on opposite sides of the route count: their summed conductance
    (and its loss), the median resistance ratio, the pairs disconnected afterwards and,
    when any pair is connected before, the ECA of the cores before and after with the
    median cross resistance as dispersal distance.
    """
    side = cores["side"].to_numpy()
    cross = side[:, None] != side[None, :]
    iu = np.triu(np.ones_like(cross), 1).astype(bool)
    cmask = cross & iu
    c0, c1 = _conductance(r0, cmask), _conductance(r1, cmask)
    fin = cmask & np.isfinite(r0) & np.isfinite(r1)
    ratio = float(np.median(r1[fin] / r0[fin])) if fin.any() else float("inf")
    metrics: dict[str, float] = {
        "n_cores": float(len(cores)), "n_cells": float(n_cells),
        "cross_conductance_before": c0, "cross_conductance_after": c1,
        "cross_conductance_loss_pct": 100.0 * (1 - c1 / c0) if c0 > 0 else float("nan"),
        "median_resistance_ratio": ratio,
        "disconnected_pairs_after": float((np.isinf(r1) & cmask).sum()),
    }
    finite0 = r0[cmask][np.isfinite(r0[cmask])]
    if finite0.size:
        dispersal = float(np.median(finite0))
        area = pd.Series(cores["area_km2"].to_numpy(), index=cores["core_id"], name="area_km2")
        eca0 = float(connectivity_indices(patch_graph(area, r0), dispersal_distance=dispersal)
                     ["ECA"])
        eca1 = float(connectivity_indices(patch_graph(area, r1), dispersal_distance=dispersal)
                     ["ECA"])
        metrics.update(eca_before_km2=eca0, eca_after_km2=eca1,
                       eca_loss_pct=100.0 * (1 - eca1 / eca0) if eca0 > 0 else float("nan"),
                       eca_dispersal_resistance=dispersal)
    return metrics


def _route_profile(route_geom: shapely.Geometry, current: Grid, cell: float
                   ) -> tuple[np.ndarray, pd.DataFrame]:
    """Sample ``current`` every half cell along each part of ``route_geom``.

    Returns the sample points and a table of ``part``, ``along_m`` (metres from the
    start of the part) and ``current_a`` (NaN off the grid).
    """
    lines = np.asarray(shapely.get_parts(shapely.line_merge(route_geom)))
    pts, along = _samples(lines, cell / 2.0)
    xy = shapely.get_coordinates(pts)
    r, c = current.rowcol(xy[:, 0], xy[:, 1])
    rows, cols = current.shape
    ok = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    vals = np.full(len(pts), np.nan)
    vals[ok] = current.values[r[ok], c[ok]]
    part = np.repeat(np.arange(len(lines)), [len(s) for s in np.split(
        along, np.flatnonzero(np.diff(along) < 0) + 1)])
    return pts, pd.DataFrame({"part": part, "along_m": along, "current_a": vals})


def _candidate_peaks(prof: np.ndarray, cell: float, min_candidate_gap_m: float | None,
                     n_candidates: int) -> np.ndarray:
    """Indices of the ``n_candidates`` highest positive peaks of the current profile.

    Peaks are at least ``min_candidate_gap_m`` (default two cells) apart, samples
    being half a cell apart; the profile's ends count as peaks; strongest first.
    """
    gap_samples = max(1, round((min_candidate_gap_m or 2 * cell) / (cell / 2.0)))
    peaks, _ = find_peaks(np.concatenate([[0.0], prof, [0.0]]), distance=gap_samples)
    peaks = peaks - 1
    peaks = peaks[(peaks >= 0) & (peaks < len(prof))]
    peaks = peaks[prof[peaks] > 0]
    return peaks[np.argsort(-prof[peaks], kind="stable")][:max(0, int(n_candidates))]
