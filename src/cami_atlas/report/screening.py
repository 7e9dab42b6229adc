"""A route screening rendered: its interactive map, its figures and its HTML report.

The screening itself (:func:`cami_atlas.screening.screen_route`, returning a
:class:`~cami_atlas.screening.ScreeningResult`) lives in :mod:`cami_atlas.screening`;
this module only draws it:

* :func:`screening_map` draws it as a folium map;
* :func:`screening_report_html` renders the report (template ``screening.html.j2``,
  figures embedded, the map linked);
* :func:`comparison_map` and :func:`comparison_report_html` draw a route comparison
  (:func:`cami_atlas.screening.compare_routes`).

The whole output set (GeoJSON, GeoPackage, CSV tables, map, report) is written by
:func:`cami_atlas.pipeline.screening.write_screening`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import shapely

from ..maps import add_corridors, add_infrastructure, add_points, add_ranges, add_vector, build_map
from ..schema import BARRIER_CLASSES

# pure constants of the screening (reference texts and a tolerance), not computations
from ..screening.reference import CMS_SOURCE, PS6_CRITERIA, PS6_SOURCE, SPACING_NOTE
from ..screening.screen import MESH_CHANGE_TOLERANCE
from .render import data_sources, figure_to_data_uri, render_report, reproducibility

if TYPE_CHECKING:
    from ..screening import RouteComparison, ScreeningResult

__all__ = ["comparison_map", "comparison_report_html", "screening_map",
           "screening_report_html"]

_CLASS_COLORS = {"complete barrier": "#d7191c", "partial barrier": "#fdae61",
                 "not a barrier": "#1a9641", "unknown": "#7f7f7f", "": "#2b2b2b"}


def _clip_box(result: Any, factor: float = 3.0) -> shapely.Polygon:
    minx, miny, maxx, maxy = result.route.total_bounds
    dx, dy = max(maxx - minx, 0.5), max(maxy - miny, 0.5)
    return shapely.box(minx - factor * dx / 2, miny - factor * dy / 2, maxx + factor * dx / 2,
                       maxy + factor * dy / 2)


def _context_ll(result: Any, key: str) -> gpd.GeoDataFrame | None:
    frame = result.context_layers.get(key)
    if frame is None or len(frame) == 0:
        return None
    box = _clip_box(result)
    ll = frame.to_crs("EPSG:4326")
    clipped = ll.clip(box)
    clipped = clipped[~clipped.is_empty]
    return clipped if len(clipped) else None


def screening_map(result: ScreeningResult, *, basemap: str | None = "OpenStreetMap") -> Any:
    """An interactive (folium) map of a screening: ranges, route by class, candidates.

    Layers: the ranges of the species screened (clipped to the route's surroundings),
    corridors and protected areas where the atlas has them, the route coloured by the
    most severe barrier class of each segment (segments outside every range screened
    in grey), corridor crossings and crossing-structure candidates.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from cami_atlas.screening import screen_route
    >>> r = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> res = screen_route(r, infra_type="road", attributes={"class": "highway"},
    ...                    buffers_km=(2,), species="saiga", connectivity=False)
    >>> from cami_atlas.maps import layer_names
    >>> layer_names(screening_map(res, basemap=None))[-1]
    'Route (most severe barrier class)'
    """
    m = build_map(title=f"Route screening: {result.name}", basemap=basemap)
    ranges = _context_ll(result, "range_polys")
    if ranges is not None:
        add_ranges(m, ranges, popup_columns=["species"], show=True)
    corr = _context_ll(result, "corridors")
    if corr is not None:
        add_corridors(m, corr)
    if len(result.protected_areas):
        add_vector(m, result.protected_areas[["name", "crossed", "distance_km", "geometry"]],
                   name="Protected areas", color="#238b45", tooltip_column="name")
    seg = result.segments.copy()
    inside = seg["most_severe_class"].isin(BARRIER_CLASSES)
    if (~inside).any():
        add_vector(m, seg.loc[~inside, ["segment_id", "from_km", "to_km", "length_km",
                                        "country", "geometry"]],
                   name="Route outside the ranges screened", color="#2b2b2b", weight=3)
    if inside.any():
        cols = ["segment_id", "from_km", "to_km", "length_km", "country", "species_in_range",
                "species_in_corridor", "protected_areas", "barrier_classes",
                "most_severe_class", "infra_type", "geometry"]
        add_infrastructure(m, seg.loc[inside, cols], name="Route (most severe barrier class)",
                           barrier_column="most_severe_class",
                           popup_columns=[c for c in cols if c not in ("geometry",
                                                                      "infra_type")])
    if len(result.corridor_crossings):
        add_points(m, result.corridor_crossings, name="Corridor crossings",
                   color_column="species", cluster=False)
    if len(result.crossing_candidates):
        add_points(m, result.crossing_candidates, name="Crossing-structure candidates",
                   color_column="species", cluster=False,
                   popup_columns=["candidate_id", "species", "source", "rank", "chainage_km",
                                  "current_a", "restored_pct", "barrier_class"])
    return m


# -- figures ----------------------------------------------------------------------------------
def _figures(result: Any) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figs: dict[str, str] = {}
    crs = result.atlas.analysis_crs if result.atlas is not None else "ESRI:102025"
    box = gpd.GeoSeries([_clip_box(result, 2.0)], crs="EPSG:4326").to_crs(crs)
    fig, ax = plt.subplots(figsize=(8, 6))
    countries = _context_ll(result, "countries")
    if countries is not None:
        countries.to_crs(crs).plot(ax=ax, facecolor="#f2f2f2", edgecolor="#999999",
                                   linewidth=0.6)
    ranges = _context_ll(result, "range_polys")
    if ranges is not None:
        cmap = plt.get_cmap("tab20")
        for i, (sp, grp) in enumerate(ranges.to_crs(crs).groupby("species")):
            grp.plot(ax=ax, facecolor=cmap(i % 20), alpha=0.25, edgecolor=cmap(i % 20),
                     linewidth=0.8, label=sp.replace("_", " "))
    if len(result.protected_areas):
        result.protected_areas.to_crs(crs).plot(ax=ax, facecolor="none", edgecolor="#238b45",
                                                hatch="//", linewidth=0.8)
    seg = result.segments.to_crs(crs)
    for cls, grp in seg.groupby("most_severe_class"):
        grp.plot(ax=ax, color=_CLASS_COLORS.get(cls, "#2b2b2b"), linewidth=2.5)
    if len(result.crossing_candidates):
        result.crossing_candidates.to_crs(crs).plot(ax=ax, color="#0571b0", markersize=25,
                                                    marker="^", zorder=5)
    minx, miny, maxx, maxy = box.total_bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{result.name}: route coloured by the most severe barrier class "
                 "(red complete, orange partial, grey unknown, green not a barrier; "
                 "triangles: crossing candidates)", fontsize=8)
    if ranges is not None:
        ax.legend(loc="lower left", fontsize=6, framealpha=0.8)
    figs["overview"] = figure_to_data_uri(fig)

    sp = result.species[result.species["km_in_range_or_corridor"] > 0]
    if len(sp):
        fig, ax = plt.subplots(figsize=(8, 0.4 * len(sp) + 1.2))
        labels = sp["species"].str.replace("_", " ")
        colors = [_CLASS_COLORS.get(c, "#7f7f7f") for c in sp["barrier_class"]]
        ax.barh(labels, sp["km_in_range_or_corridor"], color=colors)
        ax.set_xlabel("km of route inside range or corridor (colour: barrier class)")
        ax.invert_yaxis()
        figs["lengths"] = figure_to_data_uri(fig)

    if result.profiles:
        fig, ax = plt.subplots(figsize=(8, 3))
        for s, prof in result.profiles.items():
            if len(prof) == 0:
                continue
            for _, part in prof.groupby("part"):
                ax.plot(part["along_m"] / 1000.0, part["current_a"], label=s.replace("_", " "))
        ax.set_xlabel("distance along the route (km, projected)")
        ax.set_ylabel("current before the route (A)")
        ax.set_title("Modelled movement across the route (wall-to-wall current)", fontsize=9)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            uniq = dict(zip(labels, handles, strict=True))
            ax.legend(uniq.values(), uniq.keys(), fontsize=6)
        figs["current"] = figure_to_data_uri(fig)
    return figs


def screening_report_html(result: ScreeningResult, *, map_file: str | None = "screening_map.html",
                          command: str | None = None) -> str:
    """The screening report as one HTML page (figures embedded, the map linked).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from cami_atlas.screening import screen_route
    >>> r = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> res = screen_route(r, infra_type="railway", buffers_km=(2,), species="saiga",
    ...                    connectivity=False)
    >>> "Saiga tatarica" in screening_report_html(res)
    True
    """
    sp = result.species.copy()
    shown_species = sp.assign(species=sp["species"].str.replace("_", " "))
    seg = pd.DataFrame(result.segments.drop(columns="geometry"))
    seg = seg.drop(columns=[c for c in ("scenario", "infra_type") if c in seg.columns])
    cand = pd.DataFrame(result.crossing_candidates.drop(columns="geometry"))
    cand = cand.drop(columns=[c for c in ("scenario",) if c in cand.columns])
    con = result.connectivity
    keep = [c for c in ("species", "barrier_class", "n_cores", "cross_conductance_loss_pct",
                        "eca_loss_pct", "wall_conductance_loss_pct", "median_resistance_ratio",
                        "disconnected_pairs_after", "notes") if c in con.columns]
    pas = pd.DataFrame(result.protected_areas.drop(columns="geometry")) \
        if len(result.protected_areas) else None
    sources = (data_sources(result.atlas, result.layers_used) if result.atlas is not None
               else None)
    repro = reproducibility(result.inputs, command=command)
    route = result.route
    context = {
        "title": f"Route screening: {result.name}",
        "subtitle": (f"Proposed {route['infra_type'].iloc[0]} "
                     f"({result.parameters['attributes']}), "
                     f"{route['length_km'].sum():,.1f} km; screened against the atlas "
                     f"{result.parameters['atlas']}"),
        "result": result,
        "overview": result.overview(),
        "alerts": result.flags[result.flags["level"] == "alert"],
        "questions": result.flags[result.flags["level"] == "question"],
        "species_table": shown_species,
        "segments": seg,
        "lengths": result.lengths,
        "buffers": result.buffers,
        "protected_areas": pas,
        "fragmentation": result.fragmentation,
        "mesh_tolerance": f"{MESH_CHANGE_TOLERANCE:g}",
        "connectivity": con[keep] if keep else con,
        "candidates": cand,
        "spacing": result.spacing,
        "fence_design": result.fence_design,
        "mitigation": result.mitigation_by_species(),
        "figures": _figures(result),
        "map_file": map_file,
        "ps6": PS6_CRITERIA,
        "ps6_source": PS6_SOURCE,
        "cms_source": CMS_SOURCE,
        "spacing_note": SPACING_NOTE,
        "parameters": result.parameters,
        "sources": sources,
        "reproducibility": repro,
        "notes": result.notes,
        "species_names": [s.replace("_", " ") for s in result.species["species"]],
    }
    return render_report("screening.html.j2", context)


_PALETTE = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
            "#999999"]


def comparison_map(comparison: RouteComparison, *,
                   basemap: str | None = "OpenStreetMap") -> Any:
    """A folium map of a route comparison: each alignment in its colour, its crossing
    candidates (one layer each, off at opening).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from cami_atlas.screening import compare_routes
    >>> a = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> cmp = compare_routes({"north": a}, infra_type="road", buffers_km=(2,),
    ...                      species="saiga", connectivity=False)
    >>> from cami_atlas.maps import layer_names
    >>> layer_names(comparison_map(cmp, basemap=None))[0]
    'Alignment: north'
    """
    m = build_map(title="Route comparison", basemap=basemap)
    for i, (name, res) in enumerate(comparison.results.items()):
        color = _PALETTE[i % len(_PALETTE)]
        seg = res.segments[["segment_id", "from_km", "to_km", "length_km", "country",
                            "barrier_classes", "most_severe_class", "geometry"]]
        add_vector(m, seg, name=f"Alignment: {name}", color=color, weight=4,
                   tooltip_column="most_severe_class")
        if len(res.crossing_candidates):
            add_points(m, res.crossing_candidates, name=f"Crossing candidates: {name}",
                       color=color, cluster=False, show=False)
    return m


def comparison_report_html(comparison: RouteComparison, *, command: str | None = None,
                           map_file: str | None = "comparison_map.html") -> str:
    """The comparison report as one HTML page (template ``comparison.html.j2``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> from cami_atlas.screening import compare_routes
    >>> a = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> cmp = compare_routes({"north": a}, infra_type="road", buffers_km=(2,),
    ...                      species="saiga", connectivity=False)
    >>> "north" in comparison_report_html(cmp)
    True
    """
    first = next(iter(comparison.results.values()))
    inputs: dict[str, Any] = {}
    for res in comparison.results.values():
        inputs.update(res.inputs)
    return render_report("comparison.html.j2", {
        "title": "Route comparison",
        "subtitle": f"{len(comparison.results)} alignments screened with the same options",
        "table": comparison.table.reset_index(),
        "species_table": comparison.species,
        "scenarios": list(comparison.results),
        "parameters": {k: v for k, v in first.parameters.items() if k != "scenario"},
        "sources": (None if first.atlas is None
                    else data_sources(first.atlas, first.layers_used)),
        "reproducibility": reproducibility(inputs, command=command),
        "notes": first.notes,
        "map_file": map_file,
    })
