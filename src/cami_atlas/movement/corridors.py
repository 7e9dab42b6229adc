"""Population migration corridors and stopovers from individual UDs (Sawyer et al. 2009).

The Migration Mapper workflow, in four steps:

1. Each individual's UD is the mean of the UDs of its migrations (the tracks of a
   :class:`~cami_atlas.movement.bbmm.UDSet` grouped by ``individual``).
2. Its *footprint* is the smallest set of cells holding ``contour`` (default 99 %) of
   that UD (cells taken in decreasing UD order until the cumulated mass reaches it).
3. The *share* of a cell is the fraction of individuals whose footprint covers it;
   use classes: ``low`` (at least one individual), ``medium`` (share >=
   ``thresholds[0]``, default 10 %), ``high`` (share >= ``thresholds[1]``, 20 %).
   Each cell gets its highest class, so the polygons of the classes do not overlap.
4. An individual's *stopovers* are the cells of the top ``stopover_fraction`` (default
   10 %) of its UD volume (the 10 % isopleth: the smallest set of cells holding 10 % of
   the UD mass, i.e. where the animal spent the most time per area); population
   stopovers are the cells that are stopovers of at least ``stopover_min_individuals``
   individuals.

The polygons are written to an atlas as ``corridor`` layers (``species``,
``use_class``, ``name``) by :func:`add_corridor_layers`, so the barrier, hotspot and
route-screening analyses use them like any corridor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
import shapely
from affine import Affine

from ..errors import SchemaError
from ..raster import Grid
from ..schema import canonical_species_name
from ._tracks import prepare_tracks
from .bbmm import UDSet, window_offset

__all__ = [
    "USE_CLASSES",
    "PopulationCorridors",
    "add_corridor_layers",
    "footprint",
    "grid_for_tracks",
    "population_corridors",
]

#: Use classes, lowest first (raster codes 1, 2, 3).
USE_CLASSES: tuple[str, ...] = ("low", "medium", "high")


def grid_for_tracks(tracks: gpd.GeoDataFrame, *, cell_size_m: float,
                    margin_m: float = 5000.0, max_cells: int = 100_000_000) -> Grid:
    """An empty north-up grid covering the fixes plus ``margin_m``, in the tracks' CRS.

    A grid of more than ``max_cells`` cells is an error that gives the cell size that
    would fit.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> t = gpd.GeoDataFrame({"individual": ["a", "a"],
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02"], utc=True)},
    ...     geometry=gpd.points_from_xy([0, 1000], [0, 500]), crs="EPSG:32648")
    >>> g = grid_for_tracks(t, cell_size_m=100, margin_m=200)
    >>> g.shape, g.bounds
    ((9, 14), (-200.0, -200.0, 1200.0, 700.0))
    """
    fixes = prepare_tracks(tracks, what="grid_for_tracks", min_fixes=1)
    if not cell_size_m > 0 or not margin_m >= 0:
        raise SchemaError(f"grid_for_tracks: cell_size_m must be > 0 and margin_m >= 0; got "
                          f"{cell_size_m} and {margin_m}.")
    x0, y0, x1, y1 = fixes.total_bounds
    left = np.floor((x0 - margin_m) / cell_size_m) * cell_size_m
    bottom = np.floor((y0 - margin_m) / cell_size_m) * cell_size_m
    ncols = int(np.ceil((x1 + margin_m - left) / cell_size_m))
    nrows = int(np.ceil((y1 + margin_m - bottom) / cell_size_m))
    top = bottom + nrows * cell_size_m
    if nrows * ncols > max_cells:
        fit = cell_size_m * np.sqrt(nrows * ncols / max_cells)
        raise SchemaError(
            f"grid_for_tracks: {nrows} x {ncols} cells of {cell_size_m:g} m exceed max_cells="
            f"{max_cells:,}; use cells of at least {np.ceil(fit):.0f} m (--cell-size-m) or "
            "split the tracks by region.")
    return Grid(np.zeros((max(nrows, 1), max(ncols, 1))),
                Affine(cell_size_m, 0, left, 0, -cell_size_m, top), fixes.crs, None, "grid")


def footprint(ud: np.ndarray, contour: float = 0.99) -> np.ndarray:
    """Cells of the smallest set holding ``contour`` of the UD mass (the UD "isopleth").

    Examples
    --------
    >>> footprint(np.array([[0.5, 0.3], [0.15, 0.05]]), 0.8).tolist()
    [[True, True], [False, False]]
    >>> footprint(np.array([[0.5, 0.3], [0.15, 0.05]]), 0.81).tolist()
    [[True, True], [True, False]]
    """
    if not 0 < contour <= 1:
        raise SchemaError(f"contour must be in (0, 1], e.g. 0.99; got {contour}.")
    flat = np.asarray(ud, dtype=float).ravel()
    total = flat.sum()
    if not total > 0:
        return np.zeros(np.shape(ud), dtype=bool)
    order = np.argsort(-flat, kind="stable")
    cum = np.cumsum(flat[order]) / total
    k = min(int(np.searchsorted(cum, contour - 1e-12)) + 1, len(flat))
    mask = np.zeros(len(flat), dtype=bool)
    mask[order[:k]] = True
    mask &= flat > 0
    return mask.reshape(np.shape(ud))


@dataclass
class PopulationCorridors:
    """Result of :func:`population_corridors`.

    Attributes
    ----------
    share : Grid
        Fraction of individuals whose footprint covers each cell (0..1).
    use_class : Grid
        0 outside, 1 low, 2 medium, 3 high.
    stopover_share : Grid
        Fraction of individuals for which the cell is a stopover.
    corridors : GeoDataFrame
        One (multi)polygon per use class present: ``species``, ``use_class``,
        ``name`` ("migration corridor"), ``area_km2`` (planar, in the grid's CRS).
    stopovers : GeoDataFrame
        The population stopovers as one (multi)polygon: ``species``, ``use_class``
        (empty), ``name`` ("stopover"), ``area_km2``.
    individuals : DataFrame
        Per individual: ``individual``, ``n_tracks``, ``footprint_km2``,
        ``stopover_km2``.
    params : dict
        The parameters used (written as provenance).
    """

    share: Grid
    use_class: Grid
    stopover_share: Grid
    corridors: gpd.GeoDataFrame
    stopovers: gpd.GeoDataFrame
    individuals: pd.DataFrame
    params: dict[str, Any]


def _polygons(codes: np.ndarray, grid: Grid, labels: dict[int, str]
              ) -> tuple[list[str], list[Any]]:
    """One (multi)polygon per label code present in ``codes`` (cells dissolved)."""
    codes = codes.astype(np.int32)
    shapes = list(rasterio.features.shapes(codes, mask=codes > 0, transform=grid.transform))
    geoms = np.array([shapely.geometry.shape(g) for g, _ in shapes], dtype=object)
    vals = np.array([int(v) for _, v in shapes], dtype=np.int64)
    names, out = [], []
    for code, label in labels.items():
        sel = geoms[vals == code]
        if len(sel):
            names.append(label)
            out.append(shapely.union_all(sel))
    return names, out


def population_corridors(uds: UDSet, *, species: str | None = None, contour: float = 0.99,
                         thresholds: tuple[float, float] = (0.10, 0.20),
                         stopover_fraction: float = 0.10, stopover_min_individuals: int = 1,
                         min_individuals: int = 2) -> PopulationCorridors:
    """Population corridors (low / medium / high use) and stopovers from individual UDs.

    Long only for its documented options; the body is 73 lines in four steps (check
    the arguments, add up each individual's footprint and stopovers, classify the
    shares, polygonize), kept together because they share the grid-sized counters.

    Parameters
    ----------
    uds : UDSet
        UDs of migrations (:func:`cami_atlas.movement.track_uds` with
        ``by="migration"``) or of whole tracks; grouped by their ``individual``.
    species : str, optional
        Species of the corridors (default: the one species of the UD table).
    contour : float, default 0.99
        UD mass of each individual footprint.
    thresholds : (float, float), default (0.10, 0.20)
        Shares of individuals from which a cell is ``medium`` and ``high`` use. Agencies
        use other values (e.g. 0.25 / 0.75); state the ones you use.
    stopover_fraction : float, default 0.10
        Top fraction of each individual's UD volume (isopleth) that is stopover.
    stopover_min_individuals : int, default 1
        Individuals needed for a population stopover cell.
    min_individuals : int, default 2
        Fewest individuals for a *population* corridor; fewer is an error.

    Returns
    -------
    PopulationCorridors

    Raises
    ------
    SchemaError
        Fewer than ``min_individuals`` individuals, several species without ``species``,
        bad thresholds.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from affine import Affine
    >>> from cami_atlas.movement.bbmm import UDSet
    >>> g = Grid(np.zeros((4, 4)), Affine(1000, 0, 0, 0, -1000, 4000), "EPSG:32648")
    >>> row = np.array([[0.25, 0.25, 0.25, 0.25]])
    >>> uds = {k: Grid(row, Affine(1000, 0, 0, 0, -1000, 4000 - 1000 * r), g.crs)
    ...        for k, r in (("a", 1), ("b", 1), ("c", 2))}
    >>> table = pd.DataFrame({"track": list(uds), "individual": list(uds),
    ...                       "species": "Procapra_gutturosa"})
    >>> pc = population_corridors(UDSet(g, uds, table), thresholds=(0.5, 0.6))
    >>> pc.use_class.values[:, 0].tolist()   # row 1: 2 of 3 individuals; row 2: 1 of 3
    [0, 3, 1, 0]
    >>> pc.corridors[["use_class", "area_km2"]].values.tolist()
    [['low', 4.0], ['high', 4.0]]
    """
    lo, hi = thresholds
    if not 0 < lo <= hi <= 1:
        raise SchemaError(f"population_corridors: thresholds must satisfy 0 < medium <= high "
                          f"<= 1; got {thresholds}.")
    if not 0 < stopover_fraction <= 1:
        raise SchemaError(f"population_corridors: stopover_fraction must be in (0, 1]; got "
                          f"{stopover_fraction}.")
    table = uds.table
    individuals = sorted(set(table["individual"].astype(str)))
    if len(individuals) < min_individuals:
        raise SchemaError(
            f"population corridors need UDs of at least {min_individuals} individuals; got "
            f"{len(individuals)} ({', '.join(individuals) or 'none'}). For one animal use its "
            "UD footprint directly (cami_atlas.movement.footprint), or lower min_individuals.")
    if species is None:
        found = sorted({str(s) for s in table.get("species", pd.Series(dtype=object)).dropna()})
        if len(found) != 1:
            raise SchemaError(
                f"population_corridors: give species=...; the UDs hold {len(found)} species "
                f"({', '.join(found) or 'none'}). Corridors are made per species.")
        species = found[0]
    species = canonical_species_name(species)
    grid = uds.grid
    grid.require_projected("population_corridors")
    count = np.zeros(grid.shape, dtype=np.int32)
    stop_count = np.zeros(grid.shape, dtype=np.int32)
    cell_km2 = grid.cell_size_m**2 / 1e6
    rows = []
    for ind in individuals:
        tracks = table.loc[table["individual"].astype(str) == ind, "track"].astype(str)
        wins = [uds.uds[t] for t in tracks]
        offs = np.array([window_offset(w, grid) for w in wins])
        r0, c0 = offs.min(axis=0)
        r1 = max(o[0] + w.shape[0] for o, w in zip(offs, wins, strict=True))
        c1 = max(o[1] + w.shape[1] for o, w in zip(offs, wins, strict=True))
        acc = np.zeros((r1 - r0, c1 - c0))
        for (ro, co), w in zip(offs, wins, strict=True):
            acc[ro - r0:ro - r0 + w.shape[0], co - c0:co - c0 + w.shape[1]] += w.values
        acc /= len(wins)
        fp = footprint(acc, contour)
        stop = footprint(acc, stopover_fraction) & fp
        count[r0:r1, c0:c1] += fp
        stop_count[r0:r1, c0:c1] += stop
        rows.append(dict(individual=ind, n_tracks=len(wins),
                         footprint_km2=float(fp.sum() * cell_km2),
                         stopover_km2=float(stop.sum() * cell_km2)))
    n = len(individuals)
    share = count / n
    codes = np.zeros(grid.shape, dtype=np.int8)
    codes[count > 0] = 1
    codes[share >= lo - 1e-12] = 2
    codes[share >= hi - 1e-12] = 3
    codes[count == 0] = 0
    names, geoms = _polygons(codes, grid, {1: "low", 2: "medium", 3: "high"})
    corr = gpd.GeoDataFrame({"species": species, "use_class": names,
                             "name": "migration corridor"}, geometry=geoms, crs=grid.crs)
    corr["area_km2"] = corr.geometry.area / 1e6
    stop_mask = (stop_count >= stopover_min_individuals).astype(np.int8)
    snames, sgeoms = _polygons(stop_mask, grid, {1: "stopover"})
    stops = gpd.GeoDataFrame({"species": [species] * len(sgeoms),
                              "use_class": pd.Series([None] * len(sgeoms), dtype=object),
                              "name": snames}, geometry=sgeoms, crs=grid.crs)
    stops["area_km2"] = stops.geometry.area / 1e6
    params = dict(contour=contour, thresholds=list(thresholds),
                  stopover_fraction=stopover_fraction,
                  stopover_min_individuals=stopover_min_individuals, n_individuals=n,
                  n_tracks=len(table), cell_size_m=grid.cell_size_m,
                  model=str(table["model"].iloc[0]) if "model" in table and len(table) else "")
    return PopulationCorridors(
        share=grid.with_values(share, name="corridor_share"),
        use_class=grid.with_values(codes, name="corridor_use_class"),
        stopover_share=grid.with_values(stop_count / n, name="stopover_share"),
        corridors=corr, stopovers=stops, individuals=pd.DataFrame(rows), params=params)


def add_corridor_layers(atlas: Any, result: PopulationCorridors, name: str, *, source: str,
                        licence: str, attribution: str = "", overwrite: bool = False
                        ) -> list[str]:
    """Add the corridors (and stopovers, if any) of ``result`` to ``atlas`` as ``corridor`` layers.

    Layers: ``name`` (polygons by use class) and ``name + "_stopovers"``. The
    provenance ``processing`` text records the method and its parameters. Both layers
    are validated before either is added: on any failure the atlas is unchanged.

    Returns
    -------
    list of str
        Names of the layers added.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from affine import Affine
    >>> from cami_atlas.atlas import Atlas
    >>> from cami_atlas.movement.bbmm import UDSet
    >>> g = Grid(np.zeros((2, 2)), Affine(1000, 0, 0, 0, -1000, 2000), "EPSG:32648")
    >>> one = Grid(np.array([[1.0]]), Affine(1000, 0, 0, 0, -1000, 2000), g.crs)
    >>> table = pd.DataFrame({"track": ["a", "b"], "individual": ["a", "b"],
    ...                       "species": "Procapra gutturosa"})
    >>> pc = population_corridors(UDSet(g, {"a": one, "b": one}, table))
    >>> atlas = Atlas("demo")
    >>> add_corridor_layers(atlas, pc, "gazelle_corridors", source="GPS tracks (synthetic)",
    ...                     licence="CC0-1.0")
    ['gazelle_corridors', 'gazelle_corridors_stopovers']
    >>> atlas.kind_of("gazelle_corridors")
    'corridor'
    """
    from ..validate import validate_layer

    p = result.params
    processing = (
        f"cami_atlas.movement: Brownian bridge UDs ({p.get('model') or 'bbmm'}), individual "
        f"footprints at the {p['contour']:.0%} UD contour, share of {p['n_individuals']} "
        f"individuals per {p['cell_size_m']:g} m cell; use classes low >= 1 individual, "
        f"medium >= {p['thresholds'][0]:.0%}, high >= {p['thresholds'][1]:.0%} "
        f"(Sawyer et al. 2009, Migration Mapper); stopovers = top "
        f"{p['stopover_fraction']:.0%} of each UD volume, >= "
        f"{p['stopover_min_individuals']} individual(s).")
    layers = [(name, result.corridors)]
    if len(result.stopovers):
        layers.append((f"{name}_stopovers", result.stopovers))
    for layer_name, gdf in layers:  # validate all first: nothing partial
        validate_layer(gdf, "corridor", layer=layer_name)
        if layer_name in atlas and not overwrite:
            from ..errors import OutputExistsError

            raise OutputExistsError(
                f"the atlas {atlas.name!r} already has a layer {layer_name!r}; pass "
                "overwrite=True (--overwrite) or choose another name.")
    for layer_name, gdf in layers:
        atlas.add_layer(layer_name, gdf, "corridor", source=source, licence=licence,
                        attribution=attribution, overwrite=overwrite, processing=processing)
    return [n for n, _ in layers]
