"""One call from an atlas to every connectivity output for one species.

:func:`run_connectivity` chains the connectivity building blocks on an atlas
(by default the embedded one):

1. **window** -- a lon/lat ``bbox`` (default: the DEM's extent) clipped to the DEM;
   the analysis CRS is the WGS 84 / UTM zone of the window's centre unless ``crs=``
   is given (conformal, so slopes and step lengths are right to < 1 % within about
   9° of the central meridian);
2. **resistance** -- slope of the DEM (reprojected at ``cell_size_m``, bilinear)
   through :func:`~cami_atlas.connectivity.resistance.slope_resistance`; cells outside
   the window are ``NaN``;
3. **barriers** -- the atlas' infrastructure lines (all layers, or ``infrastructure=``)
   classified for the species with the expert matrix
   (:func:`cami_atlas.barriers.classify_barriers`) and, only if asked
   (``borders_as_barriers=``), the international border lines with one barrier class,
   burned in with :func:`~cami_atlas.connectivity.resistance.burn_infrastructure`;
4. **cores** -- user polygons/points, or ``"auto"``: the largest low-resistance patches
   of the species' range (rule in :func:`auto_cores`);
5. **modes** -- ``cost_distance`` (from all cores), ``corridors`` (normalised least-cost
   corridors and paths), ``current`` (pairwise circuit: effective resistances and
   cumulative current; pinch points inside the corridors when ``corridor_width`` is
   set), ``patch_graph`` (IIC, PC, ECA and the importance of every core and link, with
   effective resistances as distances) and ``impact`` (every barrier segment removed in
   turn, ranked by the ECA it gives back).

International borders
---------------------
Borders are not barriers unless asked: whether a border is fenced is not in the atlas,
so the model never assumes it. ``borders_as_barriers="complete barrier"`` (CLI
``--borders-as-barriers "complete barrier"``) treats the border lines as barriers of that
class, optionally only some pairs of countries (``border_pairs=["CHN-KAZ", "CHN-KGZ"]``,
or ``["CHN-*"]`` for every border of China: list them all to cut a country off, since an
open border beside fenced ones is a way round them).
Evidence for the choice: Ito et al. (2013, PLOS ONE 8: e56995) tracked 24 Mongolian
gazelles and 12 Asiatic wild asses and found no movement across the fenced
Mongolia--China border; Linnell et al. (2016, PLOS Biology 14: e1002483) review the
border-security fences of China, Kazakhstan and the Central Asian states and their
effect on ungulates. For a species that crosses (or a border without a fence) leave it
off, or use ``"partial barrier"``.

Each step is its own function of frames and grids (``_select_window``,
``_base_resistance``, ``_burn_barriers``, ``_choose_cores``, ``_circuit_resistances``,
``_patch_graph_indices``, ``_segment_impact`` ...), tested on its own; the body of
:func:`run_connectivity` is their composition.

Outputs are gathered in a :class:`ConnectivityResult`; :func:`write_connectivity`
writes them as GeoTIFF, GeoPackage and CSV (``cami-atlas connectivity`` does both).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import rasterio.warp
import rasterio.windows
import scipy.ndimage as ndi
import shapely
from affine import Affine
from pyproj import CRS

from .._atomic import atomic_path, prepare_outputs, write_text_atomic
from .._memory import check_raster_memory
from .._options import check_option
from .._progress import RichBar
from ..errors import (
    DisconnectedGraphWarning,
    LayerNotFoundError,
    OptionError,
    SchemaError,
    UnknownSpeciesError,
)
from ..measure import area_km2, geodesic_length_km, to_crs
from ..raster import Grid
from ..schema import BARRIER_CLASSES, canonical_species_name
from .circuit import CircuitResult, circuit_pairwise, effective_resistance, pinch_points
from .corridors import CorridorResult, least_cost_corridors
from .costdistance import cost_distance
from .impact import BarrierImpact, barrier_impact
from .patchgraph import (
    connectivity_indices,
    decay_probability,
    link_importance,
    node_importance,
    patch_graph,
    symmetric_distances,
)
from .resistance import DEFAULT_BARRIER_RESISTANCE, burn_infrastructure, slope_resistance

__all__ = [
    "MODES",
    "OUTPUTS",
    "ConnectivityResult",
    "auto_cores",
    "output_names",
    "run_connectivity",
    "utm_crs",
    "write_connectivity",
]

#: The analyses :func:`run_connectivity` can run.
MODES: tuple[str, ...] = ("cost_distance", "corridors", "current", "patch_graph", "impact")

#: Every file :func:`write_connectivity` may write (each only when its mode ran).
OUTPUTS: tuple[str, ...] = (
    "resistance.tif", "cost_distance.tif", "corridors.tif", "current.tif", "pinch_points.tif",
    "connectivity.gpkg", "connectivity_indices.csv", "core_importance.csv",
    "link_importance.csv", "barrier_impact.csv", "effective_resistance.csv",
    "corridor_pairs.csv", "connectivity_parameters.json",
)

_BURN_METHODS = ("four_neighbour", "all_touched")
_SOLVERS = ("amg", "direct", "mixed")
_WGS84 = CRS.from_epsg(4326)


@dataclass
class ConnectivityResult:
    """Everything :func:`run_connectivity` computed (``None`` for modes not run).

    Attributes
    ----------
    species : str
        Species name as in the atlas ranges (or as given when cores were supplied).
    matrix_species : str or None
        Species of the barrier matrix used to classify the infrastructure (``None``:
        not rated, every segment ``unknown``).
    crs : pyproj.CRS
        Analysis CRS of every grid and layer below.
    bbox : tuple of float
        The window (lon0, lat0, lon1, lat1), clipped to the DEM.
    cell_size_m : float
    base_resistance : Grid
        Slope resistance without barriers.
    resistance : Grid
        Resistance with the barriers burned in (the one every mode uses).
    segments : GeoDataFrame
        The barrier segments burned in: ``segment_id`` (``layer:feature_id``, as in every
        output: :func:`cami_atlas.barriers.segment_ids`), ``layer``, ``feature_id``,
        ``infra_type``, ``barrier_class``, ``length_km`` (geodesic, inside the window).
    cores : GeoDataFrame
        ``core_id``, ``n_cells``, ``area_km2`` (ESRI:102025), ``attribute`` (the patch
        attribute used for PC/ECA: area in km² for polygons, 1 for points, or the
        user's column), geometry.
    cost_distance : Grid or None
        Accumulated cost (resistance x m) from the nearest core.
    corridors : CorridorResult or None
        Corridor mosaic, pair table and least-cost paths.
    current : CircuitResult or None
        Pairwise circuit: effective resistances and cumulative current (A).
    pinch_points : CircuitResult or None
        Pairwise current inside the corridors (needs ``corridor_width``).
    effective_resistance : DataFrame or None
        Core x core effective resistance (cell-resistance units).
    indices : Series or None
        ``PC``, ``IIC``, ``PC_num``, ``IIC_num``, ``ECA`` (+ ``landscape_area_km2``,
        ``dispersal_distance``, ``probability``).
    core_importance, link_importance : DataFrame or None
        dPC / dIIC of every core and link (percent).
    patch_edges : GeoDataFrame or None
        The patch-graph links as straight lines between the cores' representative points,
        with ``distance``, ``probability`` and ``dPC``/``dIIC``.
    impact : BarrierImpact or None
        Raw output of :func:`~cami_atlas.connectivity.impact.barrier_impact`.
    ranked_segments : GeoDataFrame or None
        ``segments`` joined with the impact table, best mitigation target first.
    parameters : dict
        The options of the run (JSON-ready), for reproducibility.
    notes : list of str
        What was clipped, skipped or disconnected.
    """

    species: str
    matrix_species: str | None
    crs: CRS
    bbox: tuple[float, float, float, float]
    cell_size_m: float
    base_resistance: Grid
    resistance: Grid
    segments: gpd.GeoDataFrame
    cores: gpd.GeoDataFrame
    cost_distance: Grid | None = None
    corridors: CorridorResult | None = None
    current: CircuitResult | None = None
    pinch_points: CircuitResult | None = None
    effective_resistance: pd.DataFrame | None = None
    indices: pd.Series | None = None
    core_importance: pd.DataFrame | None = None
    link_importance: pd.DataFrame | None = None
    patch_edges: gpd.GeoDataFrame | None = None
    impact: BarrierImpact | None = None
    ranked_segments: gpd.GeoDataFrame | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- helpers: CRS, window, DEM -------------------------------------------------------------
def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS 84 / UTM zone CRS holding the point (lon, lat).

    Examples
    --------
    >>> utm_crs(75.3, 40.5).to_epsg()   # Tian Shan: UTM 43N
    32643
    >>> utm_crs(-70.0, -33.0).to_epsg()
    32719
    """
    zone = int(np.floor((float(lon) + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _check_bbox(bbox: Any) -> tuple[float, float, float, float]:
    if isinstance(bbox, str):
        parts = [p for p in bbox.replace(";", ",").split(",") if p.strip()]
    else:
        parts = list(bbox) if isinstance(bbox, Iterable) else [bbox]
    try:
        vals = tuple(float(p) for p in parts)
    except (TypeError, ValueError):
        vals = ()
    if len(vals) != 4 or not all(np.isfinite(vals)):
        raise OptionError(f"bbox must be four numbers lon0,lat0,lon1,lat1 (degrees, EPSG:4326); "
                          f"got {bbox!r}. Example: 72,40,80,43.5.")
    lon0, lat0, lon1, lat1 = vals
    if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
        raise OptionError(f"bbox {bbox!r} is not lon0,lat0,lon1,lat1 with lon0 < lon1 in "
                          "[-180, 180] and lat0 < lat1 in [-90, 90] (degrees).")
    return vals  # type: ignore[return-value]


def _window_polygon(bbox: tuple[float, float, float, float]) -> shapely.Polygon:
    """The bbox as a lon/lat polygon densified every 0.05° (curved after projection)."""
    return shapely.segmentize(shapely.box(*bbox), 0.05)


def _dem_bbox(dem: Grid) -> tuple[float, float, float, float]:
    left, bottom, right, top = dem.bounds
    if dem.crs is None:
        raise SchemaError("the DEM has no CRS; set the CRS it is in when adding it to the atlas.")
    if dem.crs.equals(_WGS84):
        return (left, bottom, right, top)
    return tuple(rasterio.warp.transform_bounds(dem.crs, _WGS84, left, bottom, right, top,
                                                densify_pts=21))  # type: ignore[return-value]


def _crop(dem: Grid, bbox: tuple[float, float, float, float], margin: int = 2) -> Grid:
    """The DEM cells covering ``bbox`` (lon/lat) plus ``margin`` cells on each side."""
    b = bbox if dem.crs.equals(_WGS84) else rasterio.warp.transform_bounds(
        _WGS84, dem.crs, *bbox, densify_pts=21)
    win = rasterio.windows.from_bounds(*b, transform=dem.transform)
    rows, cols = dem.shape
    r0 = max(int(np.floor(win.row_off)) - margin, 0)
    c0 = max(int(np.floor(win.col_off)) - margin, 0)
    r1 = min(int(np.ceil(win.row_off + win.height)) + margin, rows)
    c1 = min(int(np.ceil(win.col_off + win.width)) + margin, cols)
    return Grid(np.asarray(dem.values, dtype="float64")[r0:r1, c0:c1],
                dem.transform * Affine.translation(c0, r0), dem.crs, dem.nodata, dem.name)


def _mask_outside(grid: Grid, polygon: shapely.Geometry) -> Grid:
    inside = rasterio.features.geometry_mask([polygon], out_shape=grid.shape,
                                             transform=grid.transform, invert=True)
    return grid.with_values(np.where(inside, grid.values, np.nan))


# -- species -----------------------------------------------------------------------------
def _species_ranges(atlas: Any, crs: CRS) -> gpd.GeoSeries:
    from ..barriers.overlay import species_polygons

    names = atlas.layer_names("species_range")
    if not names:
        return gpd.GeoSeries([], crs=crs, dtype="geometry")
    ranges = pd.concat([to_crs(atlas.read(n), _WGS84) for n in names], ignore_index=True)
    ranges = gpd.GeoDataFrame(ranges, geometry=ranges.geometry.name, crs=_WGS84)
    ranges = ranges[ranges.geometry.notna() & ~ranges.geometry.is_empty]
    corridors = None
    if atlas.layer_names("corridor"):
        corridors = atlas.read_kind("corridor", crs=_WGS84)
    polys = species_polygons(ranges, corridors=corridors, crs=crs)
    return polys[polys.notna() & ~polys.is_empty]


def _resolve(species: str, range_names: list[str], matrix: Any,
             need_range: bool) -> tuple[str, str | None]:
    """(name in the atlas ranges or canonical name, matrix species or None)."""
    from ..barriers.matrix import _as_matrix
    from ..barriers.species import _key, _lookup

    m = _as_matrix(matrix)
    known = sorted(m["species"].unique())
    target = _lookup(str(species), known)
    by_key = {_key(n): n for n in range_names}
    hit = by_key.get(_key(canonical_species_name(str(species))))
    if hit is None and target is not None:
        same = [n for n in range_names if _lookup(n, known) == target]
        hit = same[0] if same else None
    if hit is not None:
        return hit, _lookup(hit, known)
    if target is None or need_range:
        ranged = ", ".join(range_names) or "none"
        why = ("is neither a species with a range in the atlas nor one of the barrier matrix"
               if target is None else "has no range in the atlas (needed by cores='auto')")
        raise UnknownSpeciesError(
            f"species {species!r} {why}. Species with ranges in the atlas: {ranged}. Species of "
            f"the barrier matrix: {', '.join(known)}. Common names ('argali', 'snow leopard') "
            "work too; with your own cores (cores=FILE, --cores FILE) any matrix species can be "
            "used.")
    return target, target


# -- barrier segments -----------------------------------------------------------------------
def _clip_layer(layer: gpd.GeoDataFrame, window: shapely.Polygon) -> gpd.GeoDataFrame:
    layer = to_crs(layer, _WGS84)  # edges densified first
    hits = layer.sindex.query(window, predicate="intersects")
    sub = layer.iloc[np.sort(hits)]
    geoms = shapely.intersection(sub.geometry.to_numpy(), window)
    keep = ~shapely.is_empty(geoms) & (shapely.get_dimensions(geoms) >= 1)
    return sub.loc[keep].set_geometry(geoms[keep], crs=_WGS84)


def _border_pairs_of(frame: pd.DataFrame) -> np.ndarray:
    left = frame["iso3_left"].astype(str).str.upper().to_numpy()
    right = frame["iso3_right"].astype(str).str.upper().to_numpy()
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    return np.char.add(np.char.add(lo.astype(str), "-"), hi.astype(str))


def _norm_pairs(pairs: Sequence[str]) -> list[str]:
    """``"kaz-chn"`` -> ``"CHN-KAZ"``; ``"CHN-*"`` (every border of China) -> ``"*-CHN"``."""
    out = []
    for p in pairs:
        parts = [s.strip().upper() for s in str(p).replace("–", "-").split("-")]
        if len(parts) != 2 or not all(parts) or parts == ["*", "*"]:
            raise OptionError(f"border pair {p!r} is not two ISO3 codes joined by '-', e.g. "
                              "'CHN-KAZ' (or 'CHN-*' for every border of China).")
        out.append("-".join(sorted(parts)))
    return out


def _match_pairs(pairs: np.ndarray, wanted: list[str]) -> tuple[np.ndarray, list[str]]:
    """Which border lines (by their sorted ISO3 pair) match ``wanted``; unmatched patterns."""
    keep = np.zeros(len(pairs), dtype=bool)
    missing = []
    for w in wanted:
        a, b = w.split("-")
        if a == "*":
            hit = np.char.startswith(pairs.astype(str), b + "-") | np.char.endswith(
                pairs.astype(str), "-" + b)
        else:
            hit = pairs == w
        if not hit.any():
            missing.append(w.replace("*-", "") + "-*" if a == "*" else w)
        keep |= hit
    return keep, missing


def _segments(atlas: Any, *, window: shapely.Polygon, crs: CRS, matrix_sp: str | None,
              matrix: Any, infrastructure: Sequence[str] | None,
              borders_as_barriers: str | None, border_pairs: Sequence[str] | None,
              notes: list[str]) -> gpd.GeoDataFrame:
    from ..barriers.classify import classify_barriers
    from ..barriers.segments import feature_ids

    names = atlas.layer_names("infrastructure") if infrastructure is None else list(infrastructure)
    for n in names:
        if n not in atlas.layer_names():
            raise LayerNotFoundError(
                f"the atlas has no layer {n!r}; infrastructure layers: "
                f"{', '.join(atlas.layer_names('infrastructure')) or 'none'}.")
        if atlas.kind_of(n) != "infrastructure":
            raise OptionError(f"layer {n!r} is of kind {atlas.kind_of(n)!r}, not "
                              "'infrastructure'; borders are added with borders_as_barriers=.")
    frames = []
    for n in names:
        layer = atlas.read(n)
        sub = _clip_layer(layer, window)
        if not len(sub):
            continue
        cls = (classify_barriers(sub, matrix_sp, matrix=matrix).to_numpy() if matrix_sp
               else np.full(len(sub), "unknown", dtype=object))
        frames.append(gpd.GeoDataFrame({  # ids as everywhere: cami_atlas.barriers.segment_ids
            "layer": n, "feature_id": feature_ids(layer).loc[sub.index].to_numpy(),
            "infra_type":
            sub["infra_type"].astype(str).to_numpy(), "barrier_class": cls},
            geometry=sub.geometry.to_numpy(), crs=_WGS84))
    if borders_as_barriers is not None:
        check_option("borders_as_barriers", borders_as_barriers, BARRIER_CLASSES)
        border_layers = atlas.layer_names("border")
        if not border_layers:
            raise LayerNotFoundError("borders_as_barriers was given but the atlas has no "
                                     "'border' layer; add one (kind 'border') or leave it off.")
        lines = []
        for n in border_layers:
            sub = _clip_layer(atlas.read(n), window)
            lines.append((n, sub, _border_pairs_of(sub)))
        present = sorted({str(p) for _, _, pairs in lines for p in pairs})
        used: set[str] = set()
        if border_pairs is not None:
            wanted = _norm_pairs(border_pairs)
            missing = sorted(set.intersection(*[set(_match_pairs(pairs, wanted)[1])
                                                for _, _, pairs in lines]))
            if missing:
                raise OptionError(
                    f"border pair(s) {missing} have no line in the atlas' border layer(s) "
                    f"inside the window; pairs present: {present}.")
        for n, sub, pairs in lines:
            if border_pairs is not None:
                keep, _ = _match_pairs(pairs, _norm_pairs(border_pairs))
                sub, pairs = sub.loc[keep], pairs[keep]
            if not len(sub):
                continue
            used.update(str(p) for p in pairs)
            frames.append(gpd.GeoDataFrame({
                "layer": n, "feature_id": pairs + ":" + sub.index.astype(str),
                "infra_type": "border", "barrier_class": borders_as_barriers},
                geometry=sub.geometry.to_numpy(), crs=_WGS84))
        which = (", ".join(sorted(used)) if border_pairs
                 else f"all in the window: {', '.join(present)}")
        notes.append(f"International borders ({which}) burned in as '{borders_as_barriers}' "
                     "(a user choice; see the module docs).")
    if not frames:
        return gpd.GeoDataFrame(
            {"segment_id": pd.Series(dtype=str), "layer": pd.Series(dtype=str),
             "feature_id": pd.Series(dtype=str), "infra_type": pd.Series(dtype=str),
             "barrier_class": pd.Series(dtype=str), "length_km": pd.Series(dtype=float)},
            geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    seg = pd.concat(frames, ignore_index=True)
    seg = gpd.GeoDataFrame(seg, geometry="geometry", crs=_WGS84)
    seg.insert(0, "segment_id", seg["layer"] + ":" + seg["feature_id"])
    seg["length_km"] = geodesic_length_km(seg).to_numpy()
    seg = to_crs(seg, crs)
    return seg[["segment_id", "layer", "feature_id", "infra_type", "barrier_class",
                "length_km", "geometry"]]


# -- cores ------------------------------------------------------------------------------------
def _label_frame(labels: np.ndarray, grid: Grid, ids: list[int]) -> gpd.GeoDataFrame:
    """One (multi)polygon per label value in ``ids`` (cells of the label)."""
    shapes = rasterio.features.shapes(labels.astype("int32"), mask=labels > 0,
                                      transform=grid.transform)
    recs = [(int(v), shapely.geometry.shape(g)) for g, v in shapes]
    frame = gpd.GeoDataFrame({"label": [r[0] for r in recs]}, geometry=[r[1] for r in recs],
                             crs=grid.crs).dissolve(by="label")
    return frame.loc[ids]


def auto_cores(resistance: Grid, range_polygon: shapely.Geometry | None, *, n_cores: int = 6,
               quantile: float = 0.25, min_cells: int = 4) -> gpd.GeoDataFrame:
    """Habitat cores: the largest low-resistance patches inside a species' range.

    The rule (deterministic for given inputs):

    1. candidate cells: cells whose centre lies in ``range_polygon`` (all cells when it
       is ``None``) with a finite resistance at most the ``quantile`` of the finite
       resistances of those cells (within a relative 1e-9, so round-off does not count);
    2. patches: 8-connected groups of candidate cells (so two patches never touch, not
       even at a corner);
    3. the ``n_cores`` largest patches of at least ``min_cells`` cells are kept, largest
       first (ties: the patch whose first cell comes first in row-major order); they are
       numbered ``C1, C2, ...`` in that order.

    Parameters
    ----------
    resistance : Grid
        Resistance in a projected CRS (barriers burned in: a barrier line splits a
        patch).
    range_polygon : shapely geometry or None
        The species' range in the grid's CRS.
    n_cores : int
        Most cores kept (>= 2).
    quantile : float
        Share of the range's cells that count as low resistance (0 < q <= 1).
    min_cells : int
        Smallest patch kept (cells).

    Returns
    -------
    GeoDataFrame
        ``core_id``, ``n_cells``, ``mean_resistance``, ``area_km2`` (ESRI:102025),
        geometry (the patch cells as polygons) in the grid's CRS.

    Raises
    ------
    SchemaError
        Fewer than 2 patches qualify (the message says which option to change).

    Examples
    --------
    >>> from affine import Affine
    >>> r = np.full((5, 7), 9.0)
    >>> r[1:4, 0:2] = 1.0; r[1:3, 5:7] = 1.0          # two flat patches: 6 and 4 cells
    >>> g = Grid(r, Affine(1000, 0, 0, 0, -1000, 5000), "EPSG:32643")
    >>> auto_cores(g, None)[["core_id", "n_cells"]].values.tolist()
    [['C1', 6], ['C2', 4]]
    """
    resistance.require_projected("auto_cores")
    if not (isinstance(n_cores, (int, np.integer)) and n_cores >= 2):
        raise SchemaError(f"n_cores must be an integer >= 2; got {n_cores!r}.")
    if not 0 < quantile <= 1:
        raise SchemaError(f"the core quantile must lie in (0, 1]; got {quantile}.")
    if not min_cells >= 1:
        raise SchemaError(f"min_cells must be >= 1; got {min_cells}.")
    values = np.asarray(resistance.values, dtype="float64")
    if range_polygon is None:
        in_range = np.ones(values.shape, dtype=bool)
    else:
        in_range = rasterio.features.geometry_mask(
            [range_polygon], out_shape=values.shape, transform=resistance.transform, invert=True)
    finite = in_range & np.isfinite(values)
    if not finite.any():
        raise SchemaError("the species' range holds no passable cell of the resistance grid "
                          "inside the window; widen the bbox or give cores yourself.")
    threshold = float(np.quantile(values[finite], quantile))
    # a relative tolerance of 1e-9 keeps round-off (e.g. of a warped flat DEM) from
    # splitting cells of equal resistance into candidates and non-candidates
    candidate = finite & (values <= threshold + 1e-9 * abs(threshold))
    labels, n = ndi.label(candidate, structure=np.ones((3, 3), dtype=int))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    order = np.lexsort((np.arange(1, n + 1), -sizes))  # largest first, then label order
    chosen = [int(k) + 1 for k in order if sizes[k] >= min_cells][:n_cores]
    if len(chosen) < 2:
        raise SchemaError(
            f"only {len(chosen)} low-resistance patch(es) of >= {min_cells} cells in the "
            f"range (resistance <= {threshold:.3g}, the {quantile:.0%} quantile); raise the "
            "core quantile, lower min_cells or the cell size, or give cores yourself.")
    frame = _label_frame(labels, resistance, chosen)
    n_cells = sizes[np.array(chosen) - 1]
    mean_r = ndi.mean(values, labels=labels, index=chosen)
    out = gpd.GeoDataFrame({
        "core_id": [f"C{k + 1}" for k in range(len(chosen))],
        "n_cells": n_cells.astype("int64"),
        "mean_resistance": np.asarray(mean_r, dtype="float64"),
    }, geometry=frame.geometry.to_numpy(), crs=resistance.crs)
    out["area_km2"] = area_km2(out).to_numpy()
    return out[["core_id", "n_cells", "mean_resistance", "area_km2", "geometry"]]


def _user_cores(cores: Any, grid: Grid, id_column: str | None,
                attribute_column: str | None) -> gpd.GeoDataFrame:
    if isinstance(cores, (str, os.PathLike)):
        from ..io import read_vector

        cores = read_vector(cores)
    if isinstance(cores, gpd.GeoSeries):
        cores = cores.to_frame("geometry")
    if not isinstance(cores, gpd.GeoDataFrame):
        raise SchemaError(f"cores must be 'auto', a GeoDataFrame or a vector file path; got "
                          f"{type(cores).__name__}.")
    if cores.crs is None:
        from ..errors import CRSError

        raise CRSError("the cores have no CRS; set the CRS they are actually in "
                       "(cores.set_crs(...)).")
    geoms = cores.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        raise SchemaError(f"{int(bad.sum())} core geometries are empty or missing; drop them.")
    dims = shapely.get_dimensions(geoms)
    if (dims == 1).any():
        raise SchemaError("cores must be polygons or points; got lines. Buffer them first.")
    for col in (id_column, attribute_column):
        if col is not None and col not in cores.columns:
            raise SchemaError(f"the cores have no column {col!r}; columns: "
                              f"{[c for c in cores.columns if c != cores.geometry.name]}.")
    out = gpd.GeoDataFrame({
        "core_id": (cores[id_column].astype(str).to_numpy() if id_column
                    else [f"C{k + 1}" for k in range(len(cores))])},
        geometry=geoms, crs=cores.crs)
    out = to_crs(out, grid.crs)
    if out["core_id"].duplicated().any():
        raise SchemaError(f"core ids must be unique; duplicated: "
                          f"{sorted(set(out['core_id'][out['core_id'].duplicated()]))[:10]}.")
    rep = shapely.get_coordinates(shapely.point_on_surface(out.geometry.to_numpy()))
    r, c = grid.rowcol(rep[:, 0], rep[:, 1])
    rows, cols = grid.shape
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    inside[inside] = ~np.isnan(np.asarray(grid.values)[r[inside], c[inside]])
    if not inside.all():
        raise SchemaError(
            f"core(s) {out['core_id'][~inside].tolist()[:10]} lie outside the analysis window "
            "(or the DEM); widen --bbox / bbox= or drop them.")
    from .circuit import focal_labels

    labels, _ = focal_labels(grid, out, id_column="core_id")
    out["n_cells"] = np.bincount(labels.ravel(), minlength=len(out) + 1)[1:].astype("int64")
    out["mean_resistance"] = np.asarray(ndi.mean(np.asarray(grid.values, dtype=float),
                                                 labels=labels, index=np.arange(1, len(out) + 1)))
    polygon = shapely.get_dimensions(out.geometry.to_numpy()) == 2
    out["area_km2"] = np.where(polygon, area_km2(out).to_numpy(), 0.0)
    if attribute_column is not None:
        attr = pd.to_numeric(cores[attribute_column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(attr).any() or (attr < 0).any():
            raise SchemaError(f"core column {attribute_column!r} must hold numbers >= 0.")
        out["attribute"] = attr
    return out[["core_id", "n_cells", "mean_resistance", "area_km2", "geometry",
                *(["attribute"] if attribute_column else [])]]


def _core_attribute(cores: gpd.GeoDataFrame) -> pd.Series:
    if "attribute" in cores.columns:
        a = cores["attribute"].to_numpy(dtype=float)
    else:
        a = np.where(cores["area_km2"].to_numpy() > 0, cores["area_km2"].to_numpy(), 1.0)
    return pd.Series(a, index=pd.Index(cores["core_id"], name="core"), name="attribute")


# -- progress ----------------------------------------------------------------------------
def _record(notes: list[str], caught: list[warnings.WarningMessage], what: str) -> None:
    seen = set()
    for w in caught:
        msg = str(w.message)
        if issubclass(w.category, DisconnectedGraphWarning) and msg not in seen:
            seen.add(msg)
            notes.append(f"{what}: {msg}")
        elif not issubclass(w.category, DisconnectedGraphWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# -- the steps -------------------------------------------------------------------------------
@contextmanager
def _disconnections_as_notes(notes: list[str], what: str) -> Iterator[None]:
    """Catch the warnings of a block: disconnections become notes, the rest is re-issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    _record(notes, caught, what)


def _check_options(*, modes: Sequence[str], neighbours: int, solver: str, burn_method: str,
                   borders_as_barriers: str | None, cell_size_m: float,
                   max_cost_distance: float | None, corridor_width: float | None,
                   dispersal_distance: float | None,
                   impact_segments: str | Sequence[str]) -> tuple[str, ...]:
    """Check the options of :func:`run_connectivity` before any data is read.

    Returns the modes as a tuple; raises :class:`~cami_atlas.errors.OptionError` naming
    the option and its valid values.
    """
    modes = tuple(modes)
    for m in modes:
        check_option("modes", m, MODES)
    check_option("neighbours", neighbours, (4, 8))
    check_option("solver", solver, _SOLVERS)
    check_option("burn_method", burn_method, _BURN_METHODS)
    if borders_as_barriers is not None:
        check_option("borders_as_barriers", borders_as_barriers, BARRIER_CLASSES)
    if not (np.isfinite(cell_size_m) and cell_size_m > 0):
        raise OptionError(f"cell_size_m must be a positive number of metres; got {cell_size_m}.")
    for name, v in (("max_cost_distance", max_cost_distance), ("corridor_width", corridor_width),
                    ("dispersal_distance", dispersal_distance)):
        if v is not None and not (np.isfinite(v) and v > 0):
            raise OptionError(f"{name} must be a positive number; got {v}.")
    if isinstance(impact_segments, str):
        check_option("impact_segments", impact_segments, ("all", "corridors"))
        if impact_segments == "corridors" and "impact" in modes and "corridors" not in modes:
            raise OptionError("impact_segments='corridors' needs the 'corridors' mode; add it "
                              "to modes or use impact_segments='all'.")
    return modes


def _select_species(atlas: Any, species: str, *, matrix: Any, dem: str, need_range: bool,
                    notes: list[str]) -> tuple[str, str | None]:
    """Step 1a: the species' name in the atlas and in the barrier matrix.

    Checks first that the atlas has the raster layer ``dem``. Returns ``(name,
    matrix_species)``: the name as in the atlas ranges (or the canonical name) and the
    barrier-matrix species, ``None`` when the matrix does not rate it (a note says so:
    every segment is then ``unknown``).
    """
    if dem not in atlas.layer_names() or atlas.kind_of(dem) != "raster":
        raise LayerNotFoundError(
            f"atlas {atlas.name!r} has no raster layer {dem!r}; raster layers: "
            f"{', '.join(atlas.layer_names('raster')) or 'none'}. Add a DEM with "
            "`cami-atlas layers import DEM.tif --kind raster --atlas ATLAS.gpkg`.")
    range_names = sorted({canonical_species_name(str(s)) for n in
                          atlas.layer_names("species_range") for s in atlas.read(n)["species"]})
    name, msp = _resolve(species, range_names, matrix, need_range=need_range)
    if msp is None:
        notes.append(f"{name} is not rated by the barrier matrix: every infrastructure segment "
                     "is 'unknown' for it.")
    return name, msp


def _select_window(dem_grid: Grid, bbox: Sequence[float] | str | None, crs: Any, *, dem: str,
                   notes: list[str]
                   ) -> tuple[tuple[float, float, float, float], shapely.Polygon, CRS]:
    """Step 1b: the window (lon/lat bbox clipped to the DEM) and the analysis CRS.

    Returns ``(bbox, window, crs)``: the clipped bbox, the window as a densified lon/lat
    polygon, and ``crs`` or the UTM zone of the window's centre (:func:`utm_crs`).
    Raises :class:`~cami_atlas.errors.OptionError` for a bbox outside the DEM or a
    geographic ``crs``.
    """
    dem_box = _dem_bbox(dem_grid)
    want = dem_box if bbox is None else _check_bbox(bbox)
    clipped = (max(want[0], dem_box[0]), max(want[1], dem_box[1]),
               min(want[2], dem_box[2]), min(want[3], dem_box[3]))
    if clipped[0] >= clipped[2] or clipped[1] >= clipped[3]:
        raise OptionError(
            f"bbox {tuple(round(v, 4) for v in want)} lies outside the DEM {dem!r}, which "
            f"covers lon {dem_box[0]:.4f}..{dem_box[2]:.4f}, lat {dem_box[1]:.4f}.."
            f"{dem_box[3]:.4f}; choose a bbox inside it.")
    if clipped != want:
        notes.append(f"bbox clipped to the DEM: {tuple(round(v, 4) for v in clipped)}.")
    window = _window_polygon(clipped)
    target = (utm_crs((clipped[0] + clipped[2]) / 2, (clipped[1] + clipped[3]) / 2)
              if crs is None else CRS.from_user_input(crs))
    if target.is_geographic:
        raise OptionError(f"crs must be projected (metres); got {target.name}. Leave it out for "
                          "the UTM zone of the window.")
    return clipped, window, target


def _base_resistance(dem_grid: Grid, bbox: tuple[float, float, float, float],
                     window: shapely.Polygon, crs: CRS, *, cell_size_m: float,
                     max_resistance: float, exponent: float,
                     impassable_above_deg: float | None) -> Grid:
    """Step 2: the slope resistance of the DEM on the analysis grid, ``NaN`` outside.

    The DEM around ``bbox`` is reprojected to ``crs`` at ``cell_size_m`` (bilinear) and
    turned into resistance by
    :func:`~cami_atlas.connectivity.resistance.slope_resistance`; cells whose centre is
    outside ``window`` (lon/lat) become ``NaN``. Raises
    :class:`~cami_atlas.errors.OptionError` when fewer than 3 x 3 cells remain.
    """
    base = slope_resistance(_crop(dem_grid, bbox), crs=crs, cell_size_m=cell_size_m,
                            max_resistance=max_resistance, exponent=exponent,
                            impassable_above_deg=impassable_above_deg)
    window_xy = to_crs(gpd.GeoSeries([window], crs=_WGS84), crs).iloc[0]
    base = _mask_outside(base, window_xy)
    if min(base.shape) < 3 or np.isfinite(base.values).sum() < 9:
        raise OptionError(
            f"the window {tuple(round(v, 4) for v in bbox)} holds only "
            f"{int(np.isfinite(base.values).sum())} cells of {cell_size_m:g} m; use a "
            "larger bbox or a smaller cell_size_m.")
    return base


def _burn_barriers(base: Grid, segments: gpd.GeoDataFrame, *, barrier_table: Any,
                   burn_method: str) -> Grid:
    """Step 3b: the barrier segments burned into the base resistance, by barrier class.

    :func:`~cami_atlas.connectivity.resistance.burn_infrastructure` with ``barrier_table``
    (default multipliers) and ``burn_method``; without segments a copy of ``base``. The
    grid is named ``"resistance"``.
    """
    resistance = (burn_infrastructure(base, segments, barrier_table=barrier_table,
                                      method=burn_method) if len(segments)  # type: ignore[arg-type]
                  else base.with_values(base.values.copy()))
    return resistance.with_values(resistance.values, name="resistance")


def _choose_cores(atlas: Any, resistance: Grid, cores: Any, *, species: str, n_cores: int,
                  quantile: float, min_cells: int, id_column: str | None,
                  attribute_column: str | None) -> gpd.GeoDataFrame:
    """Step 4: the habitat cores, with the patch attribute of PC / ECA.

    ``cores="auto"``: :func:`auto_cores` in ``species``' range (from the atlas); else the
    user's polygons or points (a GeoDataFrame or a vector file), at least 2. The frame
    gets an ``attribute`` column: the user's ``attribute_column``, else the area in km²
    of polygons and 1 for points.
    """
    if isinstance(cores, str) and cores == "auto":
        ranges = _species_ranges(atlas, resistance.crs)
        frame = auto_cores(resistance, ranges.get(species), n_cores=n_cores, quantile=quantile,
                           min_cells=min_cells)
    else:
        frame = _user_cores(cores, resistance, id_column, attribute_column)
        if len(frame) < 2:
            raise SchemaError(f"at least 2 cores are needed; got {len(frame)}.")
    return frame.assign(attribute=_core_attribute(frame).to_numpy())


def _circuit_resistances(resistance: Grid, focal: gpd.GeoDataFrame, *, current: bool,
                         circuit_opts: dict[str, Any], notes: list[str]
                         ) -> tuple[CircuitResult | None, pd.DataFrame]:
    """Step 5c: the core x core effective resistance (and the pairwise current map).

    With ``current`` the pairwise circuit (resistances and cumulative current), else the
    resistances only. The matrix is checked to be symmetric to the solver's tolerance and
    averaged with its transpose (as in ``patch_graph``), so it is exactly symmetric.
    Disconnections become notes.
    """
    result = None
    with _disconnections_as_notes(notes, "circuit"):
        if current:
            result = circuit_pairwise(resistance, focal, **circuit_opts)
            r_eff = result.resistances
        else:
            r_eff = effective_resistance(resistance, focal, **circuit_opts)
    r_eff = pd.DataFrame(symmetric_distances(r_eff.to_numpy(), ids=r_eff.index),
                         index=r_eff.index, columns=r_eff.columns)
    return result, r_eff


def _default_dispersal_distance(r_eff: pd.DataFrame, notes: list[str]) -> float:
    """The median finite effective resistance between two cores (1 when none is finite,
    with a note that PC / ECA then hold only the cores themselves)."""
    finite = r_eff.to_numpy()[np.triu_indices(len(r_eff), 1)]
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        notes.append("No two cores are connected: PC/ECA hold only the cores themselves.")
        return 1.0
    return float(np.median(finite))


def _pinch_point_current(resistance: Grid, corridors: CorridorResult, focal: gpd.GeoDataFrame,
                         *, corridor_width: float | None, circuit_opts: dict[str, Any],
                         notes: list[str]) -> CircuitResult | None:
    """Step 5d: the pairwise current inside the corridors within ``corridor_width``
    (:func:`~cami_atlas.connectivity.circuit.pinch_points`); ``None`` with a note when no
    width is given."""
    if corridor_width is None:
        notes.append("Pinch points skipped: they need corridor_width (--corridor-width-m).")
        return None
    with _disconnections_as_notes(notes, "pinch points"):
        return pinch_points(resistance, corridors.mosaic, focal,
                            max_corridor_value=corridor_width, **circuit_opts)


def _landscape_area_km2(window: shapely.Polygon) -> float:
    """Area of the lon/lat window (km², ESRI:102025), the landscape of PC and IIC."""
    return float(area_km2(gpd.GeoSeries([window], crs=_WGS84)).iloc[0])


def _patch_graph_indices(cores: gpd.GeoDataFrame, r_eff: pd.DataFrame, *,
                         dispersal_distance: float, probability: float,
                         landscape_area_km2: float
                         ) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """Step 6: patch-graph indices with effective resistances as distances.

    Returns ``(indices, core_importance, link_importance, edges)``: PC, IIC, ECA ... with
    the landscape area, dispersal distance and probability appended; dPC / dIIC of every
    core and link; the links as lines between the cores' representative points.
    """
    attr = _core_attribute(cores)
    g = patch_graph(attr, r_eff)
    opts = {"dispersal_distance": dispersal_distance, "probability": probability}
    idx = connectivity_indices(g, landscape_area=landscape_area_km2, **opts)
    indices = pd.concat([idx, pd.Series({
        "landscape_area_km2": landscape_area_km2, "dispersal_distance": dispersal_distance,
        "probability": probability})]).rename("value")
    links = link_importance(g, **opts)
    return (indices, node_importance(g, **opts), links,
            _edges_frame(cores, links, dispersal_distance, probability))


def _segment_impact(base: Grid, segments: gpd.GeoDataFrame, cores: gpd.GeoDataFrame, *,
                    impact_segments: str | Sequence[str], corridors: CorridorResult | None,
                    corridor_width: float | None, barrier_table: Any, burn_method: str,
                    dispersal_distance: float | None, probability: float,
                    circuit_opts: dict[str, Any], notes: list[str],
                    ticker: Callable[[int], Callable[[], None]] = lambda n: lambda: None
                    ) -> tuple[BarrierImpact | None, gpd.GeoDataFrame | None]:
    """Step 7: barrier impact, every selected segment removed in turn, and the ranking.

    Every landscape is burned from the slope resistance ``base``: the reference with
    all segments (whichever are evaluated), each scenario with all segments but one.
    Returns ``(impact, ranked segments)``, or ``(None, None)`` with a note when there is
    no segment or none is selected by ``impact_segments``. ``ticker(n)`` gives a callable
    ticked once per burned landscape (a progress bar).
    """
    chosen = _impact_selection(segments, impact_segments, corridors, corridor_width,
                               barrier_table)
    if not len(segments):
        notes.append("Barrier impact skipped: no barrier segment in the window.")
        return None, None
    if not chosen.any():
        notes.append("Barrier impact skipped: no barrier segment was selected by "
                     f"impact_segments={impact_segments!r}.")
        return None, None
    if not chosen.all():
        notes.append(f"Barrier impact computed for {int(chosen.sum())} of "
                     f"{len(segments)} segments (impact_segments={impact_segments!r}); "
                     "the others stay burned in and are not ranked.")
    tick = ticker(int(chosen.sum()) + 1)

    def burn(grid: Grid, sub: gpd.GeoDataFrame) -> Grid:
        tick()
        return burn_infrastructure(grid, sub, barrier_table=barrier_table,
                                   method=burn_method)  # type: ignore[arg-type]

    with _disconnections_as_notes(notes, "barrier impact"):
        imp = barrier_impact(
            base, segments, cores[["core_id", "geometry"]], mode="remove",
            evaluate=segments["segment_id"][chosen].tolist(), group_column="segment_id",
            burn=burn, attributes=_core_attribute(cores), dispersal_distance=dispersal_distance,
            probability=probability, **circuit_opts)
    return imp, _ranked(segments, imp)


# -- the workflow ----------------------------------------------------------------------------
def run_connectivity(
    atlas: Any = None,
    *,
    species: str,
    bbox: Sequence[float] | str | None = None,
    cell_size_m: float = 5000.0,
    crs: Any = None,
    dem: str = "dem",
    slope_max_resistance: float = 100.0,
    slope_exponent: float = 1.0,
    impassable_above_deg: float | None = None,
    infrastructure: Sequence[str] | None = None,
    matrix: Any = None,
    barrier_table: Mapping[str, float] | pd.DataFrame | pd.Series | None = None,
    burn_method: Literal["four_neighbour", "all_touched"] = "four_neighbour",
    borders_as_barriers: str | None = None,
    border_pairs: Sequence[str] | None = None,
    cores: Any = "auto",
    n_cores: int = 6,
    core_quantile: float = 0.25,
    min_core_cells: int = 4,
    core_id_column: str | None = None,
    core_attribute_column: str | None = None,
    neighbours: Literal[4, 8] = 8,
    max_cost_distance: float | None = None,
    corridor_width: float | None = None,
    dispersal_distance: float | None = None,
    probability: float = 0.5,
    modes: Sequence[str] = MODES,
    impact_segments: str | Sequence[str] = "all",
    solver: Literal["amg", "direct", "mixed"] = "mixed",
    progress: bool = False,
    max_memory: str | int | None = None,
) -> ConnectivityResult:
    """Resistance, cores, cost distance, corridors, current, patch graph and barrier impact.

    Parameters
    ----------
    atlas : cami_atlas.atlas.Atlas, optional
        Needs a raster ``dem`` layer; uses its ``infrastructure``, ``species_range``
        (for ``cores="auto"``) and, with ``borders_as_barriers``, ``border`` layers.
        Default: the embedded default atlas (GEBCO 1' Tian Shan DEM).
    species : str
        Species as in the atlas ranges or the barrier matrix, or a synonym / common
        name (``"argali"``, ``"Uncia uncia"``).
    bbox : (lon0, lat0, lon1, lat1) or "lon0,lat0,lon1,lat1", optional
        Window in degrees (EPSG:4326); default the DEM's extent. Clipped to the DEM;
        a bbox that misses the DEM raises :class:`~cami_atlas.errors.OptionError`.
    cell_size_m : float
        Cell side of the analysis grid (m).
    crs : CRS-like, optional
        Projected analysis CRS; default the UTM zone of the window's centre
        (:func:`utm_crs`).
    dem : str
        Name of the DEM layer.
    slope_max_resistance, slope_exponent, impassable_above_deg
        Slope-to-resistance curve (see
        :func:`~cami_atlas.connectivity.resistance.slope_resistance`).
    infrastructure : list of str, optional
        Infrastructure layers to burn in (default all of the atlas; ``[]`` none).
    matrix : DataFrame or path, optional
        Barrier matrix (default the shipped 2017 CAMI matrix).
    barrier_table : dict, Series or DataFrame, optional
        Resistance multiplier per barrier class (default
        :data:`~cami_atlas.connectivity.resistance.DEFAULT_BARRIER_RESISTANCE`:
        not a barrier x1, partial and unknown x10, complete impassable).
    burn_method : {"four_neighbour", "all_touched"}
        How lines become cells (both close diagonal leaks).
    borders_as_barriers : str, optional
        Barrier class given to the international border lines (one of
        ``"unknown"``, ``"not a barrier"``, ``"partial barrier"``,
        ``"complete barrier"``); ``None`` (default): borders are no barrier.
    border_pairs : list of str, optional
        Only these borders, as ISO3 pairs (``"CHN-KAZ"``, order free; ``"CHN-*"``: every
        border of China). A country is cut off only if *all* its borders in the window
        are listed: an open border beside fenced ones is a way round them.
    cores : "auto", GeoDataFrame or path
        Habitat cores: polygons or points in any CRS, or ``"auto"`` (:func:`auto_cores`
        on the species' range with ``n_cores``, ``core_quantile``, ``min_core_cells``).
    core_id_column, core_attribute_column : str, optional
        Columns of user cores with their ids and their patch attribute (default: area in
        km² of polygons, 1 for points).
    neighbours : {4, 8}
        Raster graph connectivity of every mode.
    max_cost_distance : float, optional
        Corridors and least-cost paths only between cores at most this cost apart
        (resistance x m); also bounds the cost-distance search.
    corridor_width : float, optional
        Corridor cut-off (cost units). Pinch points are computed only with it.
    dispersal_distance : float, optional
        Effective resistance (patch-graph distance) at which the dispersal probability is
        ``probability``. Default: the median effective resistance between the cores.
    probability : float
        Dispersal probability at ``dispersal_distance``.
    modes : sequence of str
        Any of :data:`MODES`.
    impact_segments : "all", "corridors" or list of segment ids
        Segments whose impact is computed (one circuit scenario each, the costly part):
        every segment; ``"corridors"``: those that touch a least-cost corridor (cells of
        the corridor mosaic within ``corridor_width``; needs the ``corridors`` mode) plus
        every impassable one (no corridor crosses an impassable line, but removing it can
        reconnect cores); or the listed ``segment_id`` values. The others stay burned in
        and are not ranked.
    solver : {"mixed", "amg", "direct"}
        Linear solver of the circuit modes (see
        :class:`~cami_atlas.connectivity.solvers.LaplacianSolver`: ``"mixed"``, the
        default, is a float32 smoothed-aggregation W-cycle preconditioning float64 CG, the
        fastest and leanest; ``"amg"`` is pyamg, its tested reference). The barrier
        impact solves with the direct solver up to
        :data:`~cami_atlas.connectivity.impact.DIRECT_MAX_CELLS` passable cells whatever
        this says (exact and faster there).
    progress : bool
        Show a progress bar (rich) on a terminal.
    max_memory : str or int, optional
        Memory the rasters may use, e.g. ``"4GiB"``. Before any raster is allocated the
        window's cells x :data:`cami_atlas._memory.CONNECTIVITY_BYTES_PER_CELL` are
        compared with this and with the memory available; too many raise
        :class:`~cami_atlas.errors.MemoryLimitError` naming the smallest
        ``cell_size_m`` that fits.

    Returns
    -------
    ConnectivityResult

    Notes
    -----
    The body is the method, one named step per line: ``_check_options``,
    ``_select_species``, ``_select_window``, ``_base_resistance``, ``_segments``,
    ``_burn_barriers``, ``_choose_cores``, cost distance and corridors,
    ``_circuit_resistances`` (and ``_default_dispersal_distance``),
    ``_pinch_point_current``, ``_patch_graph_indices``, ``_segment_impact``, then the
    record of the options. The function is longer than 120 lines only through its 30
    documented options and their record; the code of the steps is below it.

    Examples
    --------
    >>> res = run_connectivity(species="argali", bbox=(72, 40, 76, 42.5), cell_size_m=20000,
    ...                        modes=("cost_distance",))
    >>> res.crs.to_epsg(), res.resistance.cell_size_m, len(res.cores) >= 2
    (32643, 20000.0, True)
    """
    if atlas is None:
        from ..atlas import Atlas

        atlas = Atlas.default()
    modes = _check_options(
        modes=modes, neighbours=neighbours, solver=solver, burn_method=burn_method,
        borders_as_barriers=borders_as_barriers, cell_size_m=cell_size_m,
        max_cost_distance=max_cost_distance, corridor_width=corridor_width,
        dispersal_distance=dispersal_distance, impact_segments=impact_segments)
    auto = isinstance(cores, str) and cores == "auto"
    notes: list[str] = []

    # 1. species and window
    name, msp = _select_species(atlas, species, matrix=matrix, dem=dem, need_range=auto,
                                notes=notes)
    dem_grid = atlas.read(dem)
    clipped, window, target = _select_window(dem_grid, bbox, crs, dem=dem, notes=notes)
    check_raster_memory(window, target, cell_size_m, max_memory=max_memory)

    n_steps = 4 + sum(m in modes for m in MODES) + int("current" in modes
                                                       and "corridors" in modes)
    with RichBar("connectivity", n_steps, enabled=progress, counts=True) as bar:
        # 2. resistance: slope of the DEM on the analysis grid
        base = _base_resistance(dem_grid, clipped, window, target, cell_size_m=cell_size_m,
                                max_resistance=slope_max_resistance, exponent=slope_exponent,
                                impassable_above_deg=impassable_above_deg)
        bar.step("slope resistance")
        # 3. barriers: the infrastructure (and borders) classified for the species, burned in
        segs = _segments(atlas, window=window, crs=target, matrix_sp=msp, matrix=matrix,
                         infrastructure=infrastructure, borders_as_barriers=borders_as_barriers,
                         border_pairs=border_pairs, notes=notes)
        resistance = _burn_barriers(base, segs, barrier_table=barrier_table,
                                    burn_method=burn_method)
        bar.step("barriers burned in")
        # 4. cores (focal nodes)
        core_frame = _choose_cores(atlas, resistance, cores, species=name, n_cores=n_cores,
                                   quantile=core_quantile, min_cells=min_core_cells,
                                   id_column=core_id_column,
                                   attribute_column=core_attribute_column)
        bar.step("cores")

        result = ConnectivityResult(name, msp, target, clipped, float(cell_size_m), base,
                                    resistance, segs, core_frame, notes=notes)
        focal = core_frame[["core_id", "geometry"]]
        # 5. solve: cost distance, corridors, circuit (effective resistance, current)
        if "cost_distance" in modes:
            result.cost_distance = cost_distance(resistance, focal, connectivity=neighbours,
                                                 max_cost=max_cost_distance)
            bar.step("cost distance")
        if "corridors" in modes:
            result.corridors = least_cost_corridors(
                resistance, focal, id_column="core_id", width=corridor_width,
                max_cost_distance=max_cost_distance, connectivity=neighbours)
            bar.step("least-cost corridors")
        circuit_opts: dict[str, Any] = {"neighbours": neighbours, "method": solver,
                                        "id_column": "core_id"}
        if any(m in modes for m in ("current", "patch_graph", "impact")):
            result.current, r_eff = _circuit_resistances(
                resistance, focal, current="current" in modes, circuit_opts=circuit_opts,
                notes=notes)
            if "current" in modes:
                bar.step("circuit (pairwise current)")
            result.effective_resistance = r_eff
            if dispersal_distance is None:
                dispersal_distance = _default_dispersal_distance(r_eff, notes)
        if "current" in modes and "corridors" in modes:
            result.pinch_points = _pinch_point_current(
                resistance, result.corridors, focal,  # type: ignore[arg-type]
                corridor_width=corridor_width, circuit_opts=circuit_opts, notes=notes)
            bar.step("pinch points")
        landscape = _landscape_area_km2(window)
        # 6. patch-graph indices
        if "patch_graph" in modes:
            (result.indices, result.core_importance, result.link_importance,
             result.patch_edges) = _patch_graph_indices(
                core_frame, r_eff, dispersal_distance=dispersal_distance,  # type: ignore[arg-type]
                probability=probability, landscape_area_km2=landscape)
            bar.step("patch graph")
        # 7. barrier impact
        if "impact" in modes:
            result.impact, result.ranked_segments = _segment_impact(
                base, segs, core_frame, impact_segments=impact_segments,
                corridors=result.corridors, corridor_width=corridor_width,
                barrier_table=barrier_table, burn_method=burn_method,
                dispersal_distance=dispersal_distance, probability=probability,
                circuit_opts=circuit_opts, notes=notes,
                ticker=lambda n: bar.sub("barrier impact (segments)", n))
            bar.step("barrier impact")
    # 8. the record of the run
    result.parameters = {
        "species": name, "matrix_species": msp, "bbox": list(clipped),
        "crs": target.to_string(), "cell_size_m": float(cell_size_m), "dem": dem,
        "slope_max_resistance": slope_max_resistance, "slope_exponent": slope_exponent,
        "impassable_above_deg": impassable_above_deg,
        "infrastructure": (atlas.layer_names("infrastructure") if infrastructure is None
                           else list(infrastructure)),
        "barrier_table": _jsonable_table(barrier_table), "burn_method": burn_method,
        "borders_as_barriers": borders_as_barriers,
        "border_pairs": None if border_pairs is None else _norm_pairs(border_pairs),
        "cores": "auto" if auto else (str(cores) if isinstance(cores, (str, os.PathLike))
                                      else "user GeoDataFrame"),
        "n_cores": n_cores, "core_quantile": core_quantile, "min_core_cells": min_core_cells,
        "neighbours": neighbours, "max_cost_distance": max_cost_distance,
        "corridor_width": corridor_width, "dispersal_distance": dispersal_distance,
        "probability": probability, "modes": list(modes), "solver": solver,
        "impact_segments": (impact_segments if isinstance(impact_segments, str)
                            else list(impact_segments)),
        "landscape_area_km2": landscape,
    }
    return result


def _jsonable_table(table: Any) -> dict[str, Any]:
    if table is None:
        table = DEFAULT_BARRIER_RESISTANCE
    if isinstance(table, pd.DataFrame):
        table = dict(zip(table["barrier_class"], table["resistance"], strict=True))
    elif isinstance(table, pd.Series):
        table = table.to_dict()
    return {str(k): (float(v) if np.isfinite(float(v)) else "inf") for k, v in table.items()}


def _edges_frame(cores: gpd.GeoDataFrame, links: pd.DataFrame, dispersal: float,
                 probability: float) -> gpd.GeoDataFrame:
    pts = dict(zip(cores["core_id"], shapely.point_on_surface(cores.geometry.to_numpy()),
                   strict=True))
    a = [pts[i] for i in links["core_a"]]
    b = [pts[i] for i in links["core_b"]]
    coords = [np.vstack([shapely.get_coordinates(p), shapely.get_coordinates(q)])
              for p, q in zip(a, b, strict=True)]
    lines = shapely.linestrings(coords) if coords else np.array([], dtype=object)
    frame = gpd.GeoDataFrame(links.copy(), geometry=gpd.GeoSeries(lines, crs=cores.crs))
    frame.insert(3, "probability", decay_probability(
        frame["distance"].to_numpy(), dispersal_distance=dispersal, probability=probability))
    return frame


def _impact_selection(segs: gpd.GeoDataFrame, which: str | Sequence[str],
                      corridors: CorridorResult | None, width: float | None,
                      barrier_table: Any) -> np.ndarray:
    """Boolean mask of the segments whose impact is computed."""
    if isinstance(which, str):
        check_option("impact_segments", which, ("all", "corridors"))
        if which == "all" or not len(segs):
            return np.ones(len(segs), dtype=bool)
        if corridors is None:
            raise OptionError("impact_segments='corridors' needs the 'corridors' mode; add it "
                              "to modes or use impact_segments='all'.")
        mosaic = corridors.mosaic
        vals = np.asarray(mosaic.values, dtype=float)
        with np.errstate(invalid="ignore"):
            inside = np.isfinite(vals) & ((vals <= width) if width is not None else True)
        r, c = np.nonzero(inside)
        t = mosaic.transform
        x0, y0 = t @ (c, r)
        x1, y1 = t @ (c + 1, r + 1)
        boxes = shapely.box(np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1),
                            np.maximum(y0, y1))
        hit = np.unique(segs.sindex.query(boxes, predicate="intersects")[1])
        out = np.zeros(len(segs), dtype=bool)
        out[hit] = True
        # impassable segments: no corridor crosses them, yet removing one can reconnect cores
        table = _jsonable_table(barrier_table)
        out |= segs["barrier_class"].map(table).eq("inf").to_numpy()
        return out
    wanted = [str(w) for w in which]
    unknown = sorted(set(wanted) - set(segs["segment_id"]))
    if unknown:
        raise OptionError(f"impact_segments lists unknown segment ids {unknown[:10]}; ids look "
                          f"like {segs['segment_id'].head(3).tolist()}.")
    return segs["segment_id"].isin(wanted).to_numpy()


def _ranked(segs: gpd.GeoDataFrame, imp: BarrierImpact) -> gpd.GeoDataFrame:
    table = imp.table.copy()
    table.index = table.index.astype(str)
    out = segs.merge(table, left_on="segment_id", right_index=True, how="left")
    out["impact_evaluated"] = out["segment_id"].isin(table.index)
    out["rank"] = out["rank"].astype("Int64")
    out = out.sort_values(["rank", "segment_id"], kind="stable", na_position="last")
    out = out.reset_index(drop=True)
    cols = [c for c in out.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=segs.crs)


# -- writing ---------------------------------------------------------------------------------
def output_names(result: ConnectivityResult) -> list[str]:
    """Names of the files :func:`write_connectivity` writes for ``result``."""
    names = ["resistance.tif"]
    if result.cost_distance is not None:
        names.append("cost_distance.tif")
    if result.corridors is not None:
        names += ["corridors.tif", "corridor_pairs.csv"]
    if result.current is not None:
        names.append("current.tif")
    if result.pinch_points is not None:
        names.append("pinch_points.tif")
    names.append("connectivity.gpkg")
    if result.effective_resistance is not None:
        names.append("effective_resistance.csv")
    if result.indices is not None:
        names += ["connectivity_indices.csv", "core_importance.csv", "link_importance.csv"]
    if result.impact is not None:
        names.append("barrier_impact.csv")
    names.append("connectivity_parameters.json")
    return names


def write_connectivity(result: ConnectivityResult, out_dir: str | os.PathLike[str], *,
                       overwrite: bool = False,
                       wrote: Callable[[Path], None] | None = None) -> list[Path]:
    """Write a :class:`ConnectivityResult` as GeoTIFF, GeoPackage, CSV and JSON files.

    Files (those of modes that did not run are left out): ``resistance.tif``,
    ``cost_distance.tif``, ``corridors.tif``, ``current.tif``, ``pinch_points.tif``
    (float32, analysis CRS, ``-9999`` nodata outside the window, ``inf`` where
    impassable/unreachable); ``connectivity.gpkg`` with layers ``cores``,
    ``least_cost_paths``, ``patch_graph_edges``, ``barrier_segments`` (ranked by impact
    when it ran); ``connectivity_indices.csv`` (IIC, PC, ECA ...),
    ``core_importance.csv``, ``link_importance.csv``, ``barrier_impact.csv``,
    ``effective_resistance.csv``, ``corridor_pairs.csv`` and
    ``connectivity_parameters.json`` (options and notes).

    Every output is checked first: if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written.
    Each file is written atomically.
    """
    out = prepare_outputs(out_dir, output_names(result), overwrite=overwrite)
    written: list[Path] = []

    def done(path: Path) -> None:
        written.append(path)
        if wrote is not None:
            wrote(path)

    def tif(name: str, grid: Grid) -> None:
        done(grid.to_geotiff(out / name, overwrite=overwrite))

    def csv(name: str, df: pd.DataFrame, *, index: bool = False) -> None:
        with atomic_path(out / name, overwrite=overwrite) as tmp:
            df.to_csv(tmp, index=index)  # full precision: floats round-trip
        done(out / name)

    tif("resistance.tif", result.resistance)
    if result.cost_distance is not None:
        tif("cost_distance.tif", result.cost_distance)
    if result.corridors is not None:
        tif("corridors.tif", result.corridors.mosaic)
        csv("corridor_pairs.csv", result.corridors.pairs)
    if result.current is not None:
        tif("current.tif", result.current.current)
    if result.pinch_points is not None:
        tif("pinch_points.tif", result.pinch_points.current)

    layers: list[tuple[str, gpd.GeoDataFrame]] = [("cores", result.cores)]
    if result.corridors is not None:
        layers.append(("least_cost_paths", result.corridors.paths))
    if result.patch_edges is not None:
        layers.append(("patch_graph_edges", result.patch_edges))
    segs = result.ranked_segments if result.ranked_segments is not None else result.segments
    layers.append(("barrier_segments", segs))
    with atomic_path(out / "connectivity.gpkg", overwrite=overwrite) as tmp:
        first = True
        for lname, frame in layers:
            if not len(frame):
                continue
            frame.to_file(tmp, layer=lname, driver="GPKG", mode="w" if first else "a")
            first = False
        if first:  # nothing at all: still a valid file with the (empty) cores table
            result.cores.to_file(tmp, layer="cores", driver="GPKG")
    done(out / "connectivity.gpkg")

    if result.effective_resistance is not None:
        csv("effective_resistance.csv", result.effective_resistance.rename_axis("core"),
            index=True)
    if result.indices is not None:
        csv("connectivity_indices.csv",
            result.indices.rename_axis("index").reset_index())
        csv("core_importance.csv", result.core_importance.reset_index())  # type: ignore[union-attr]
        csv("link_importance.csv", result.link_importance)  # type: ignore[arg-type]
    if result.impact is not None and result.ranked_segments is not None:
        csv("barrier_impact.csv", pd.DataFrame(result.ranked_segments.drop(columns="geometry")))
    meta = dict(result.parameters, notes=list(result.notes))
    done(write_text_atomic(out / "connectivity_parameters.json",
                           json.dumps(meta, indent=2, default=str) + "\n", overwrite=overwrite))
    return written
