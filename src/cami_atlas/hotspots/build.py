"""``hotspot_grid``: the whole hotspot analysis in one call."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from ..measure import EQUAL_AREA_CRS
from ..raster import Grid
from ..schema import BARRIER_CLASSES
from ._common import check_frame, geoms_in
from .gistar import gi_star
from .grid import hex_grid
from .metrics import _overlay, _point_cells, _species_pairs, cell_raster_mean
from .score import barrier_pressure, class_column, pressure_components
from .transboundary import _HOT, _border_pairs

__all__ = ["border_flags", "cell_metrics", "finish_cells", "gi_cells", "hotspot_grid",
           "score_cells"]


def _slug(value: object) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", str(value)).strip("_").lower() or "other"


def _default_region(ranges: gpd.GeoDataFrame, corridors: gpd.GeoDataFrame | None
                    ) -> gpd.GeoSeries:
    """Ranges and corridors in the ranges' own CRS (hex_grid densifies lon/lat edges)."""
    geoms = [geoms_in(ranges, ranges.crs)]
    if corridors is not None:
        geoms.append(geoms_in(check_frame(corridors, "corridors"), ranges.crs))
    return gpd.GeoSeries(np.concatenate(geoms), crs=ranges.crs)


def hotspot_grid(
    infra_classified: gpd.GeoDataFrame,
    ranges: gpd.GeoDataFrame,
    *,
    region: Any = None,
    cell_km: float = 25,
    shape: Literal["hexagon", "square"] = "hexagon",
    clip: bool = False,
    crs: Any = EQUAL_AREA_CRS,
    corridors: gpd.GeoDataFrame | None = None,
    crossings: gpd.GeoDataFrame | None = None,
    track_events: gpd.GeoDataFrame | None = None,
    connectivity: Grid | None = None,
    weights: str | os.PathLike[str] | pd.DataFrame | None = None,
    normalise: Literal["max", "none"] = "max",
    borders: gpd.GeoDataFrame | None = None,
    border_distance_km: float = 50.0,
    gi_weights: Literal["queen", "rook", "distance"] = "queen",
    gi_distance_km: float | None = None,
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    p_value: Literal["sim", "norm"] | None = None,
    species: str | None = None,
    species_columns: Sequence[str] | None = None,
    type_column: str = "infra_type",
    species_column: str = "species",
    max_memory: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Barrier-hotspot grid: per-cell figures, barrier-pressure score, Gi* and border flags.

    Steps: an equal-area grid (:func:`hex_grid`) over ``region``; per cell the geodesic
    km of infrastructure by type and, per barrier class, summed over species inside
    each species' range or corridor polygons (:func:`cell_infrastructure_km`); the
    number of species (:func:`cell_species_count`); crossings and track-crossing
    events (:func:`cell_point_counts`); the mean of a connectivity grid
    (:func:`cell_raster_mean`); the score (:func:`barrier_pressure`, weights table);
    Gi* hot and cold spots of the score (:func:`gi_star`); and, with ``borders``,
    the cells within ``border_distance_km`` of an international border
    (:func:`border_cells`) and the transboundary hotspots among them.

    Parameters
    ----------
    infra_classified : GeoDataFrame
        Infrastructure lines with ``infra_type`` and barrier classes (one column per
        species, e.g. joined from ``cami_atlas.barriers.classify_barriers_many``, or
        ``barrier_class`` + ``species``; see :func:`cell_infrastructure_km`).
    ranges : GeoDataFrame
        Species ranges (``species`` column); also the default region.
    region : geometry, GeoSeries or GeoDataFrame, optional
        Study area (a bare geometry is EPSG:4326); default: the union of the ranges and
        corridors.
    cell_km, shape, clip, crs
        Grid options (:func:`hex_grid`): each cell covers ``cell_km ** 2`` km².
    corridors : GeoDataFrame, optional
        Corridors (polygons or lines, ``species``): count towards the species of a cell;
        polygons also towards the in-range km.
    crossings, track_events : GeoDataFrame, optional
        Points: corridor crossings and track-crossing events.
    connectivity : Grid, optional
        Current density or 0/1 corridor membership; the cell mean is used.
    weights, normalise
        Weights table and normalisation of the score (:func:`barrier_pressure`).
    borders : GeoDataFrame, optional
        Border lines (``iso3_left``, ``iso3_right``) or country polygons (``iso3``).
    border_distance_km : float
        Distance from a border (geodesic km) within which hot cells are transboundary.
    gi_weights, gi_distance_km, permutations, seed, alpha, p_value
        Gi* options (:func:`gi_star`). ``p_value`` defaults to ``"sim"`` (permutation
        pseudo p-values) and to ``"norm"`` (analytical normal p-values) with
        ``permutations=0``, as ``cami-atlas hotspots --permutations 0``.
    species, species_columns, type_column, species_column
        Where the classes, types and species names are (:func:`cell_infrastructure_km`).
    max_memory : str or int, optional
        Memory the grid may use, e.g. ``"4GiB"`` (:func:`hex_grid`).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per cell, in ``crs``: ``cell_id``, ``area_km2``, ``infra_km`` and
        ``km_<type>``; ``species_km_<class>`` for the four barrier classes (km x
        species inside ranges); ``n_species`` and ``species`` (names joined by ``;``);
        ``crossings``, ``track_crossings``, ``connectivity`` where given; the score
        components (``barrier_km_per_km2``, ...); ``score``; ``gi_z``, ``gi_p``,
        ``gi_class``; with ``borders``: ``border`` (``"A-B"`` pairs joined by ``;``,
        empty when far from borders), ``border_distance_km`` and ``transboundary``
        (hot spot and near a border).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(0, 0, 200_000, 200_000)], crs="ESRI:102025")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"],
    ...     "Saiga_tatarica": ["complete barrier"]},
    ...     geometry=[LineString([(0, 100_000), (200_000, 100_000)])], crs="ESRI:102025")
    >>> out = hotspot_grid(rail, ranges, cell_km=20, permutations=99)
    >>> out.loc[out["score"].idxmax(), "species_km_complete_barrier"] > 0
    np.True_
    """
    infra_classified = check_frame(infra_classified, "infra_classified")
    ranges = check_frame(ranges, "ranges")
    if region is None:
        region = _default_region(ranges, corridors)
    cells = hex_grid(region, cell_km=cell_km, shape=shape, crs=crs, clip=clip,
                     max_memory=max_memory)
    out = cell_metrics(cells, infra_classified, ranges, corridors=corridors,
                       crossings=crossings, track_events=track_events,
                       connectivity=connectivity, species=species,
                       species_columns=species_columns, type_column=type_column,
                       species_column=species_column)
    out = score_cells(out, weights=weights, normalise=normalise)
    out = gi_cells(out, gi_weights=gi_weights, gi_distance_km=gi_distance_km,
                   permutations=permutations, seed=seed, alpha=alpha, p_value=p_value)
    if borders is not None:
        out = border_flags(out, borders, border_distance_km=border_distance_km)
    return finish_cells(out, cells)


def cell_metrics(
    cells: gpd.GeoDataFrame,
    infra_classified: gpd.GeoDataFrame,
    ranges: gpd.GeoDataFrame,
    *,
    corridors: gpd.GeoDataFrame | None = None,
    crossings: gpd.GeoDataFrame | None = None,
    track_events: gpd.GeoDataFrame | None = None,
    connectivity: Grid | None = None,
    species: str | None = None,
    species_columns: Sequence[str] | None = None,
    type_column: str = "infra_type",
    species_column: str = "species",
) -> gpd.GeoDataFrame:
    """The per-cell figures of :func:`hotspot_grid` (everything before the score).

    Per cell: ``infra_km`` and ``km_<type>`` (geodesic km of infrastructure, each piece
    once), ``species_km_<class>`` (km x species inside each species' range or corridor
    polygons, by barrier class), ``n_species`` and ``species``, and ``crossings``,
    ``track_crossings``, ``connectivity`` where given.

    Parameters
    ----------
    cells : GeoDataFrame
        The grid (:func:`hex_grid`), projected CRS.
    infra_classified, ranges, corridors, crossings, track_events, connectivity
        As for :func:`hotspot_grid`.
    species, species_columns, type_column, species_column
        Where the classes, types and species names are (:func:`cell_infrastructure_km`).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``cells`` with the columns above.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> cells = gpd.GeoDataFrame({"cell_id": ["a", "b"]}, geometry=[box(0, 0, 10_000,
    ...     10_000), box(10_000, 0, 20_000, 10_000)], crs="ESRI:102025")
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(0, 0, 10_000, 10_000)], crs="ESRI:102025")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"],
    ...     "Saiga_tatarica": ["complete barrier"]},
    ...     geometry=[LineString([(0, 5_000), (20_000, 5_000)])], crs="ESRI:102025")
    >>> out = cell_metrics(cells, rail, ranges, species_columns=["Saiga_tatarica"])
    >>> out["n_species"].tolist(), (out["species_km_complete_barrier"] > 9.9).tolist()
    ([1, 0], [True, False])
    """
    n = len(cells)
    pieces, _, _ = _overlay(
        cells, infra_classified, ranges=ranges, corridors=corridors, species=species,
        species_columns=species_columns, type_column=type_column,
        species_column=species_column, require_classes=True)
    out = cells.copy()

    # km by type (each piece once, whatever the number of species)
    unique = pieces.drop_duplicates("piece_idx")
    out["infra_km"] = np.bincount(unique["cell_pos"], weights=unique["length_km"], minlength=n)
    by_type = unique.groupby(["cell_pos", "infra_type"])["length_km"].sum().unstack(fill_value=0)
    for t in sorted(by_type.columns, key=str):
        col = np.zeros(n)
        col[by_type.index.to_numpy()] = by_type[t].to_numpy()
        out[f"km_{_slug(t)}"] = col

    # species-km inside ranges by barrier class
    for c in BARRIER_CLASSES:
        sel = pieces[pieces["barrier_class"] == c]
        out[class_column(c)] = np.bincount(sel["cell_pos"], weights=sel["length_in_range_km"],
                                           minlength=n)

    pairs = _species_pairs(cells, ranges, corridors, species_column)
    out["n_species"] = np.bincount(pairs["cell_pos"], minlength=n).astype(np.int64)
    names = pairs.sort_values(["cell_pos", "species"]).groupby("cell_pos")["species"].agg(
        "; ".join)
    joined = np.full(n, "", dtype=object)
    joined[names.index.to_numpy()] = names.to_numpy()
    out["species"] = joined

    for name, points in (("crossings", crossings), ("track_crossings", track_events)):
        if points is not None:
            pos = _point_cells(cells, points, name)
            out[name] = np.bincount(pos[pos >= 0], minlength=n).astype(np.int64)
    if connectivity is not None:
        out["connectivity"] = cell_raster_mean(cells, connectivity, name="connectivity")
    return out


def score_cells(cells: gpd.GeoDataFrame, *,
                weights: str | os.PathLike[str] | pd.DataFrame | None = None,
                normalise: Literal["max", "none"] = "max") -> gpd.GeoDataFrame:
    """Add the score components and the barrier-pressure ``score`` to the cell figures.

    Parameters
    ----------
    cells : GeoDataFrame
        :func:`cell_metrics` output.
    weights, normalise
        As for :func:`barrier_pressure`.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the components of :func:`pressure_components` not already there
        and ``score``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"area_km2": [100.0, 100.0],
    ...     "species_km_complete_barrier": [10.0, 0.0],
    ...     "species_km_partial_barrier": [0.0, 10.0],
    ...     "species_km_unknown": [0.0, 0.0], "species_km_not_a_barrier": [0.0, 0.0],
    ...     "n_species": [1, 1]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="ESRI:102025")
    >>> out = score_cells(cells)
    >>> float(out["score"].max()) <= 1.0, bool(out["score"].iloc[0] > out["score"].iloc[1])
    (True, True)
    """
    out = cells.copy()
    components = pressure_components(out, weights=weights)
    for col in components.columns:
        if col not in out.columns:
            out[col] = components[col]
    out["score"] = barrier_pressure(out, weights=weights, normalise=normalise)
    return out


def gi_cells(cells: gpd.GeoDataFrame, *, gi_weights: Literal["queen", "rook", "distance"]
             = "queen", gi_distance_km: float | None = None, permutations: int = 999,
             seed: int = 12345, alpha: float = 0.05,
             p_value: Literal["sim", "norm"] | None = None) -> gpd.GeoDataFrame:
    """Join the Getis-Ord Gi* of the cells' ``score`` (:func:`gi_star`): ``gi_z``,
    ``gi_p``, ``gi_class``.

    ``p_value`` defaults to ``"sim"`` (permutation pseudo p-values), and to ``"norm"``
    (analytical normal p-values) with ``permutations=0``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from cami_atlas.hotspots import hex_grid
    >>> from shapely import box
    >>> area = gpd.GeoSeries([box(0, 0, 200_000, 200_000)], crs="ESRI:102025")
    >>> cells = hex_grid(area, cell_km=20, crs="ESRI:102025")
    >>> cells["score"] = (cells.geometry.centroid.x < 60_000).astype(float)
    >>> out = gi_cells(cells, permutations=0)
    >>> bool(out.loc[cells.geometry.centroid.x < 40_000, "gi_z"].min() > 0)
    True
    """
    if p_value is None:
        p_value = "norm" if permutations == 0 else "sim"
    gi = gi_star(cells, cells["score"], weights=gi_weights, distance_km=gi_distance_km,
                 permutations=permutations, seed=seed, alpha=alpha, p_value=p_value)
    return cells.join(gi)


def border_flags(cells: gpd.GeoDataFrame, borders: gpd.GeoDataFrame, *,
                 border_distance_km: float = 50.0) -> gpd.GeoDataFrame:
    """Flag the cells near an international border and the transboundary hotspots.

    Parameters
    ----------
    cells : GeoDataFrame
        Cells with ``gi_class`` (:func:`gi_cells`).
    borders : GeoDataFrame
        Border lines (``iso3_left``, ``iso3_right``) or country polygons (``iso3``).
    border_distance_km : float
        Geodesic distance from a border within which a cell is near it.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``border`` (``"A-B"`` pairs joined by ``;``, empty when far from
        every border), ``border_distance_km`` (NaN when far) and ``transboundary``
        (a hot spot near a border).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> cells = gpd.GeoDataFrame({"gi_class": ["hot spot 95%", "hot spot 95%"]},
    ...     geometry=[box(0, 0, 10_000, 10_000), box(200_000, 0, 210_000, 10_000)],
    ...     crs="ESRI:102025")
    >>> border = gpd.GeoDataFrame({"iso3_left": ["KAZ"], "iso3_right": ["UZB"]},
    ...     geometry=[LineString([(-1_000, -50_000), (-1_000, 50_000)])], crs="ESRI:102025")
    >>> border_flags(cells, border)["transboundary"].tolist()
    [True, False]
    """
    n = len(cells)
    near = _border_pairs(cells, borders, distance_km=border_distance_km)
    text = near.groupby("cell_pos")["border"].agg("; ".join)
    dist = near.groupby("cell_pos")["border_distance_km"].min()
    border = np.full(n, "", dtype=object)
    border[text.index.to_numpy()] = text.to_numpy()
    distance = np.full(n, np.nan)
    distance[dist.index.to_numpy()] = dist.to_numpy()
    out = cells.copy()
    out["border"] = border
    out["border_distance_km"] = distance
    out["transboundary"] = out["gi_class"].isin(_HOT).to_numpy() & (border != "")
    return out


def finish_cells(out: gpd.GeoDataFrame, grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Geometry as the last column and the grid's ``attrs`` (cell size, shape) kept.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"cell_id": ["a"]}, geometry=[box(0, 0, 1, 1)], crs="ESRI:102025")
    >>> g.attrs["cell_km"] = 1.0
    >>> out = finish_cells(g.assign(score=[0.5]), g)
    >>> list(out.columns), out.attrs["cell_km"]
    (['cell_id', 'score', 'geometry'], 1.0)
    """
    out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
    out.attrs = dict(grid.attrs)
    return out
