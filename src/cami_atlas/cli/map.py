"""``cami-atlas map``: an interactive map of chosen atlas layers.

Examples
--------
::

    cami-atlas map --layers countries,railways,species_ranges --species saiga --out saiga.html
    cami-atlas map --atlas my_atlas.gpkg --layers roads,dem --out map.html --no-basemap \\
        --overwrite

The map is one self-contained HTML file (Leaflet, plugins, styles and icons inlined).
``--no-basemap`` leaves out the basemap tiles, so the file makes no network request at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import geopandas as gpd
import numpy as np

from ..atlas import Atlas
from ..errors import OptionError, UnknownSpeciesError
from ..schema import canonical_species_name
from ._common import atlas_option, basemap_option, overwrite_option, split_multi
from ._logging import log

__all__ = ["layers_map", "map_command"]

_VECTOR_STYLE = {
    "country": {"color": "#636363", "weight": 0.8, "fill_opacity": 0.04},
    "border": {"color": "#252525", "weight": 1.6, "fill_opacity": 0.0},
    "water": {"color": "#2b83ba", "weight": 1.0, "fill_opacity": 0.35},
    "protected_area": {"color": "#238b45", "weight": 1.0, "fill_opacity": 0.25},
}


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _species_rows(gdf: gpd.GeoDataFrame, species: str, layer: str, *,
                  strict: bool) -> gpd.GeoDataFrame:
    """Rows of ``species`` (exact canonical name, else the same barrier-matrix species)."""
    from ..barriers import matrix_species, resolve_species

    names = gdf["species"].astype(str).map(canonical_species_name)
    hit = gdf[(names == canonical_species_name(species)).to_numpy()]
    if hit.empty:
        try:
            target = resolve_species(species)
        except UnknownSpeciesError:
            target = None
        mapping = matrix_species(list(names.unique()))
        same = [n for n, m in mapping.items() if target is not None and m == target]
        hit = gdf[names.isin(same).to_numpy()]
    if hit.empty and strict:
        raise UnknownSpeciesError(
            f"species {species!r} has no feature in atlas layer {layer!r}; species there: "
            f"{', '.join(sorted(names.unique())[:20])}.")
    return hit


def _habitat(atlas: Atlas, species: str, cache: dict[str, Any]) -> Any:
    """Range ∪ corridor polygon of ``species`` over every such layer of the atlas (a GeoSeries
    of one polygon, or None when the atlas has none for it)."""
    if "polys" not in cache:
        from ..barriers import species_polygons

        ranges = [_species_rows(atlas.read(n), species, n, strict=False)
                  for n in atlas.layer_names("species_range")]
        corridors = [_species_rows(atlas.read(n), species, n, strict=False)
                     for n in atlas.layer_names("corridor")]
        corridors = [c.to_crs(atlas.analysis_crs) for c in corridors if len(c)]
        polys = [r.to_crs(atlas.analysis_crs) for r in ranges if len(r)]
        polys += [c[c.geom_type.isin(["Polygon", "MultiPolygon"])] for c in corridors]
        polys = [p for p in polys if len(p)]
        if polys:
            geoms = np.concatenate([np.asarray(p.geometry.values, dtype=object) for p in polys])
            merged = gpd.GeoDataFrame({"species": [canonical_species_name(species)] * len(geoms)},
                                      geometry=geoms, crs=atlas.analysis_crs)
            cache["polys"] = species_polygons(merged, crs=atlas.analysis_crs)
        else:
            cache["polys"] = None
    return cache["polys"]


def _infrastructure_view(atlas: Atlas, layer: str, data: gpd.GeoDataFrame,
                         species: str | None, cache: dict[str, Any]
                         ) -> tuple[gpd.GeoDataFrame, str | None]:
    """The layer with its ``segment_id`` first and, with ``species``, a ``barrier_class``
    column: the species' class where the segment crosses its range ∪ corridor,
    ``"outside range"`` elsewhere (drawn grey)."""
    from ..barriers import classify_barriers, segment_ids, segments_in_ranges
    from ..maps import OUTSIDE_RANGE

    view = data.drop(columns=[c for c in ("segment_id",) if c in data.columns])
    view.insert(0, "segment_id", segment_ids(layer, data).to_numpy())
    if species is None:
        return view, None
    polys = _habitat(atlas, species, cache)
    if polys is None:
        warnings.warn(f"species {species!r} has no range or corridor polygon in the atlas: "
                      f"every segment of {layer!r} is drawn as {OUTSIDE_RANGE!r}.",
                      UserWarning, stacklevel=3)
        inside = np.zeros(len(view), dtype=bool)
    else:
        inside = segments_in_ranges(view, polys).iloc[:, 0].to_numpy(dtype=bool)
    cls = classify_barriers(view, species).to_numpy(dtype=object)
    view.insert(1, "barrier_class", np.where(inside, cls, OUTSIDE_RANGE).astype(object))
    return view, "barrier_class"


def layers_map(atlas: Atlas, layers: Sequence[str], *, species: str | None = None,
               basemap: str | None = "OpenStreetMap", offline: bool = False,
               title: str | None = None, simplify_m: float | None = 500.0) -> Any:
    """A folium map of the named atlas layers, each drawn by kind, in the order given.

    ``species_range`` layers get one toggleable layer per species (with ``species`` only
    that one), ``corridor`` layers one layer (with ``species``: its corridors),
    ``infrastructure`` one layer each (popups give each segment's ``segment_id``,
    :func:`cami_atlas.barriers.segment_ids`), coloured by barrier class for ``species``
    when the barrier matrix rates it (else by type, with a warning): only segments that
    cross the species' range ∪ corridor (every range and corridor layer of the atlas)
    get its class, the others are drawn grey as ``"outside range"``; ``tracks`` and
    ``places``
    clustered points, rasters an image overlay, other kinds one outlined layer each.

    Parameters
    ----------
    atlas : Atlas
    layers : sequence of str
        Layer names (see ``atlas.layer_names()``).
    species : str, optional
        Species name or synonym (``"saiga"``).
    basemap, offline
        As in :func:`cami_atlas.maps.build_map`.
    title : str, optional
        Default: the atlas name (+ species).
    simplify_m : float or None
        Display simplification, metres.

    Returns
    -------
    folium.Map

    Raises
    ------
    LayerNotFoundError
        A layer is not in the atlas.
    OptionError
        No layer given.
    UnknownSpeciesError
        ``species`` has no range in a ``species_range`` layer asked for.

    Examples
    --------
    >>> from cami_atlas.maps import layer_names
    >>> m = layers_map(Atlas.default(), ["borders", "railways"], basemap=None)
    >>> layer_names(m)
    ['Borders', 'Railways']
    """
    from ..maps import (
        add_corridors,
        add_infrastructure,
        add_points,
        add_ranges,
        add_raster,
        add_vector,
        build_map,
        fix_view,
    )

    names = list(dict.fromkeys(layers))
    if not names:
        raise OptionError(f"give at least one layer; the atlas has: "
                          f"{', '.join(atlas.layer_names())}.")
    kinds = {n: atlas.kind_of(n) for n in names}  # raises LayerNotFoundError with the list
    colour_species = species
    if species is not None:
        from ..barriers import resolve_species

        try:
            resolve_species(species)
        except UnknownSpeciesError as exc:
            if "infrastructure" in kinds.values():
                warnings.warn(f"{exc} Infrastructure is coloured by type instead.",
                              UserWarning, stacklevel=2)
            colour_species = None
    if title is None:
        title = atlas.name + (f": {species.replace('_', ' ')}" if species else "")
    habitat: dict[str, Any] = {}  # the species' range ∪ corridor, computed once
    m = build_map(title=title, basemap=basemap, offline=offline)
    region = getattr(atlas, "region", None)
    if region is not None and not region.is_empty:
        fix_view(m, region.bounds)
    for name in names:
        kind = kinds[name]
        data = atlas.read(name)
        label = _title(name)
        if kind == "raster":
            add_raster(m, data, name=label)
        elif kind == "species_range":
            if species is not None:
                data = _species_rows(data, species, name, strict=True)
            add_ranges(m, data, simplify_m=simplify_m,
                       show=species is not None or data["species"].nunique() <= 3)
        elif kind == "corridor":
            if species is not None and "species" in data.columns:
                data = _species_rows(data, species, name, strict=False)
            add_corridors(m, data, name=label, simplify_m=simplify_m)
        elif kind == "infrastructure":
            data, column = _infrastructure_view(atlas, name, data, colour_species, habitat)
            add_infrastructure(
                m, data, name=label, species=colour_species, barrier_column=column,
                simplify_m=simplify_m,
                popup_columns=[c for c in data.columns
                               if c not in (data.geometry.name, "source_id")][:11])
        elif kind in ("tracks", "places"):
            if kind == "tracks" and species is not None and "species" in data.columns:
                data = _species_rows(data, species, name, strict=False)
            tip = next((c for c in ("name", "individual") if c in data.columns), None)
            add_points(m, data, name=label, tooltip_column=tip)
        else:
            tip = next((c for c in ("name", "iso3") if c in data.columns), None)
            add_vector(m, data, name=label, tooltip_column=tip, simplify_m=simplify_m,
                       **_VECTOR_STYLE.get(kind, {}))
    return m


@click.command("map")
@atlas_option
@click.option("--layers", "layers", multiple=True, required=True,
              help="Layers to draw (comma-separated or repeated), in drawing order; "
                   "see `cami-atlas layers list`.")
@click.option("--species", default=None,
              help="Show only this species' range and colour infrastructure by its barrier "
                   "class inside the range, grey outside it (a name in the atlas or a "
                   "synonym such as 'saiga').")
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Output HTML file.")
@click.option("--title", default=None, help="Map title (default: the atlas name).")
@basemap_option
@overwrite_option
def map_command(atlas_path: Path | None, layers: tuple[str, ...], species: str | None,
                out_file: Path, title: str | None, basemap: bool, overwrite: bool) -> None:
    """Draw chosen atlas layers on one self-contained interactive map (HTML)."""
    offline = not basemap
    from ..maps import layer_names, save_map
    from ..pipeline.staging import StagedFile

    staged = StagedFile(out_file, overwrite=overwrite, required_bytes=5 << 20).check()
    atlas = Atlas.default() if atlas_path is None else Atlas.open(atlas_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        m = layers_map(atlas, split_multi(layers), species=species,
                       basemap=None if offline else "OpenStreetMap", offline=offline,
                       title=title)
    for w in caught:
        log.warning(str(w.message))
    with staged as tmp:
        save_map(m, tmp, self_contained=True, overwrite=True)
    log.info(f"wrote {out_file} ({len(layer_names(m))} layers)")
