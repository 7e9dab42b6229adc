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

__all__ = ["hotspot_grid"]


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
    if p_value is None:
        p_value = "norm" if permutations == 0 else "sim"
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

    components = pressure_components(out, weights=weights)
    for col in components.columns:
        if col not in out.columns:
            out[col] = components[col]
    out["score"] = barrier_pressure(out, weights=weights, normalise=normalise)
    gi = gi_star(out, out["score"], weights=gi_weights, distance_km=gi_distance_km,
                 permutations=permutations, seed=seed, alpha=alpha, p_value=p_value)
    out = out.join(gi)

    if borders is not None:
        near = _border_pairs(cells, borders, distance_km=border_distance_km)
        text = near.groupby("cell_pos")["border"].agg("; ".join)
        dist = near.groupby("cell_pos")["border_distance_km"].min()
        border = np.full(n, "", dtype=object)
        border[text.index.to_numpy()] = text.to_numpy()
        distance = np.full(n, np.nan)
        distance[dist.index.to_numpy()] = dist.to_numpy()
        out["border"] = border
        out["border_distance_km"] = distance
        out["transboundary"] = out["gi_class"].isin(_HOT).to_numpy() & (border != "")
    out = out[[c for c in out.columns if c != "geometry"] + ["geometry"]]
    out.attrs = dict(cells.attrs)
    return out
