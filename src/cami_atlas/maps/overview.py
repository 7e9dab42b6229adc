"""An overview map of an atlas: countries, borders, infrastructure, species ranges."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import folium
import geopandas as gpd
import pandas as pd
import shapely

from ..errors import LayerNotFoundError, UnknownSpeciesError
from ..figures import Classifier
from ..schema import canonical_species_name
from .layers import (
    add_corridors,
    add_infrastructure,
    add_ranges,
    add_vector,
    build_map,
    fix_view,
)

__all__ = ["OVERVIEW_SIMPLIFY_M", "REGION_MARGIN_DEG", "overview_map"]

#: Display simplification of the overview map, metres: a pixel is 2-10 km at the regional
#: zooms 4-6, so 1 km is invisible there and keeps the default-atlas map near 4 MB.
OVERVIEW_SIMPLIFY_M = 1000.0

_INFRA_TITLES = {"railways": "Railways", "roads": "Roads"}


#: Margin around the atlas region kept when clipping layers for display, degrees.
REGION_MARGIN_DEG = 2.0


def _read_all(atlas: Any, kind: str, clip_box: shapely.Polygon | None, *,
              whole: bool = False) -> list[tuple[str, gpd.GeoDataFrame]]:
    """The atlas layers of ``kind``, clipped to ``clip_box`` (``whole``: features that
    touch the box are kept whole, e.g. countries, so no clip edge is drawn)."""
    out = []
    for name in atlas.layer_names(kind):
        gdf = atlas.read(name)
        if clip_box is not None and gdf.crs is not None and len(gdf):
            gdf = gdf.to_crs("EPSG:4326")
            gdf = gdf[gdf.intersects(clip_box)] if whole else gpd.clip(gdf, clip_box)
        out.append((name, gdf))
    return out


def _region_box(atlas: Any) -> shapely.Polygon | None:
    region = getattr(atlas, "region", None)
    if region is None or region.is_empty:
        return None
    west, south, east, north = region.bounds
    m = REGION_MARGIN_DEG
    return shapely.box(max(west - m, -180), max(south - m, -85), min(east + m, 180),
                       min(north + m, 85))


def _title(name: str) -> str:
    return _INFRA_TITLES.get(name, name.replace("_", " ").capitalize())


def _select_species(ranges: gpd.GeoDataFrame, species: str, layer: str,
                    resolve_species: Callable[[str], str]) -> gpd.GeoDataFrame:
    wanted = canonical_species_name(species)
    names = ranges["species"].astype(str)
    hit = ranges[names.str.lower() == wanted.lower()]
    if hit.empty:  # a common name or synonym: match through the barrier matrix's table

        def resolved(name: str) -> str | None:
            try:
                return resolve_species(name)
            except UnknownSpeciesError:
                return None

        target = resolved(species)
        if target is not None:
            same = {n for n in names.unique() if resolved(n) == target}
            hit = ranges[names.isin(same)]
    if hit.empty:
        known = ", ".join(sorted(names.unique())[:20])
        raise UnknownSpeciesError(
            f"species {species!r} (as {wanted!r}) has no range in atlas layer {layer!r}; "
            f"species there: {known}.")
    return hit


def _species_tools(species: str | None, classify: Classifier | None,
                   resolve: Callable[[str], str] | None
                   ) -> tuple[Classifier | None, Callable[[str], str] | None]:
    """The classifier and species resolver handed in, or (deprecated) the matrix's."""
    if species is None or (classify is not None and resolve is not None):
        return classify, resolve
    warnings.warn(
        "overview_map(species=...) without classify= and resolve= reads the barrier matrix "
        "itself; this is deprecated: pass classify=cami_atlas.barriers.classify_barriers "
        "and resolve=cami_atlas.barriers.resolve_species.", DeprecationWarning, stacklevel=3)
    from ..barriers import classify_barriers, resolve_species  # deprecated fallback only

    return classify or classify_barriers, resolve or resolve_species


def overview_map(atlas: Any, *, species: str | None = None,
                 basemap: str | None = "OpenStreetMap", title: str | None = None,
                 simplify_m: float | None = OVERVIEW_SIMPLIFY_M,
                 offline: bool = False, classify: Classifier | None = None,
                 resolve: Callable[[str], str] | None = None) -> folium.Map:
    """An overview map of ``atlas`` with one toggleable layer per atlas layer.

    Layers, bottom to top: countries (kind ``country``, hover for the name), borders
    (``border``), species ranges (``species_range``, one layer per species; with more
    than three species they start switched off),
    corridors (``corridor``, if any), infrastructure (``infrastructure``, one layer
    per atlas layer; only the first two are on at opening). With ``species`` only that
    species' range is drawn and infrastructure is coloured by its barrier class
    (``classify``, e.g. :func:`cami_atlas.barriers.classify_barriers`); for a species
    ``resolve`` does not know (the barrier matrix does not rate it), lines are coloured
    by type and a warning says so.

    Parameters
    ----------
    atlas : cami_atlas.atlas.Atlas
        Or any object with ``layer_names(kind)`` and ``read(name)``.
    species : str, optional
        e.g. ``"Saiga_tatarica"`` (``"Saiga tatarica"`` works too).
    basemap, offline
        As in :func:`cami_atlas.maps.build_map`.
    title : str, optional
        Default: "<atlas name> overview" (+ species).
    simplify_m : float or None
        Display simplification tolerance, metres (default 1000 m: invisible at the
        regional zooms the overview is for).
    classify, resolve : callable, optional
        With ``species``: ``classify(infra, species)`` -> barrier class per line and
        ``resolve(name)`` -> the barrier matrix' species of a name or synonym (raising
        :class:`~cami_atlas.errors.UnknownSpeciesError` for a species it does not rate),
        e.g. :func:`cami_atlas.barriers.classify_barriers` and
        :func:`cami_atlas.barriers.resolve_species`. Without them the matrix is read
        here, with a :class:`DeprecationWarning` (maps draw, they do not classify).

    Notes
    -----
    The view fits the atlas ``region``; borders, corridors and infrastructure are
    clipped for display to the region's bounding box plus :data:`REGION_MARGIN_DEG`
    degrees, and only the countries that touch that box are drawn (whole).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> from cami_atlas.barriers import classify_barriers, resolve_species
    >>> m = overview_map(Atlas.default(), species="Saiga_tatarica", basemap=None,
    ...                  classify=classify_barriers, resolve=resolve_species)
    >>> from cami_atlas.maps import layer_names
    >>> [n.split("</span>")[-1] for n in layer_names(m)]  # doctest: +NORMALIZE_WHITESPACE
    ['Countries', 'Borders', 'Range: Saiga tatarica', 'Railways', 'Roads', 'Osm astana']
    """
    classify, resolve = _species_tools(species, classify, resolve)
    name = getattr(atlas, "name", "Atlas")
    if title is None:
        title = f"{name} overview" + (f": {species.replace('_', ' ')}" if species else "")
    m = build_map(title=title, basemap=basemap, offline=offline)
    clip_box = _region_box(atlas)
    if clip_box is not None:
        fix_view(m, atlas.region.bounds)
    for layer, gdf in _read_all(atlas, "country", clip_box, whole=True):
        tip = next((c for c in ("name", "iso3") if c in gdf.columns), None)
        add_vector(m, gdf, name=_title(layer), color="#636363", weight=0.8,
                   fill_opacity=0.04, tooltip_column=tip, simplify_m=simplify_m)
    for layer, gdf in _read_all(atlas, "border", clip_box):
        add_vector(m, gdf, name=_title(layer), color="#252525", weight=1.6, fill_opacity=0,
                   popup_columns=[c for c in ("iso3_left", "iso3_right", "border_type")
                                  if c in gdf.columns], simplify_m=simplify_m)
    range_layers = _read_all(atlas, "species_range", None)
    if species is not None and not range_layers:
        raise LayerNotFoundError(
            f"the atlas has no species_range layer, so species={species!r} cannot be shown; "
            f"its layers: {', '.join(atlas.layer_names()) or 'none'}.")
    if range_layers:
        frames = [g for _, g in range_layers]
        crs = frames[0].crs
        ranges = gpd.GeoDataFrame(pd.concat([g.to_crs(crs) for g in frames],
                                            ignore_index=True), crs=crs)
        if species is not None:
            ranges = _select_species(ranges, species, ", ".join(n for n, _ in range_layers),
                                     resolve)
        # many ranges drawn at once hide each other: then they start switched off
        add_ranges(m, ranges, simplify_m=simplify_m,
                   show=species is not None or ranges["species"].nunique() <= 3)
    for layer, gdf in _read_all(atlas, "corridor", clip_box):
        if species is not None and "species" in gdf.columns:
            gdf = gdf[gdf["species"].astype(str).str.lower()
                      == canonical_species_name(species).lower()]
        if len(gdf):
            add_corridors(m, gdf, name=_title(layer), simplify_m=simplify_m)
    colour_species = species
    if species is not None:
        try:
            resolve(species)
        except UnknownSpeciesError as exc:
            warnings.warn(
                f"{exc} Infrastructure is coloured by type instead of barrier class.",
                UserWarning, stacklevel=2)
            colour_species = None
    for i, (layer, gdf) in enumerate(_read_all(atlas, "infrastructure", clip_box)):
        add_infrastructure(m, gdf, name=_title(layer), species=colour_species,
                           classify=classify, show=i < 2, simplify_m=simplify_m,
                           popup_columns=[c for c in gdf.columns
                                          if c not in (gdf.geometry.name, "source_id")][:10])
    return m
