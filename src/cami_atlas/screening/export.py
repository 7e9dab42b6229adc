"""Outputs of a route screening: GeoJSON, GeoPackage, CSV, interactive map, HTML/PDF report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from .._atomic import atomic_path
from ..errors import OutputExistsError
from ..geojson import write_geojson
from ..schema import BARRIER_CLASSES
from .reference import CMS_SOURCE, PS6_CRITERIA, PS6_SOURCE, SPACING_NOTE
from .screen import MESH_CHANGE_TOLERANCE

__all__ = ["output_names", "screening_map", "screening_report_html", "write_screening"]

_CSV_TABLES = {
    "segments.csv": "segments",
    "species_summary.csv": "species",
    "lengths_by_class.csv": "lengths",
    "buffers.csv": "buffers",
    "protected_areas.csv": "protected_areas",
    "corridor_crossings.csv": "corridor_crossings",
    "fragmentation.csv": "fragmentation",
    "connectivity.csv": "connectivity",
    "crossing_candidates.csv": "crossing_candidates",
    "spacing.csv": "spacing",
    "fence_design.csv": "fence_design",
    "flags.csv": "flags",
}
_CLASS_COLORS = {"complete barrier": "#d7191c", "partial barrier": "#fdae61",
                 "not a barrier": "#1a9641", "unknown": "#7f7f7f", "": "#2b2b2b"}


def output_names(*, pdf: bool = False, interactive_map: bool = True) -> list[str]:
    """File names :func:`write_screening` writes into its folder.

    Examples
    --------
    >>> output_names()[:3]
    ['route_segments.geojson', 'crossing_candidates.geojson', 'screening.gpkg']
    """
    names = ["route_segments.geojson", "crossing_candidates.geojson", "screening.gpkg",
             *_CSV_TABLES]
    if interactive_map:
        names.append("screening_map.html")
    names.append("screening_report.html")
    if pdf:
        names.append("screening_report.pdf")
    return names


def _check_free(out_dir: Path, names: list[str], overwrite: bool) -> None:
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out_dir} already holds {', '.join(existing)}; pass overwrite=True (--overwrite) "
            "to replace them or choose another output folder.")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV-friendly copy: point geometries as lon/lat (6 decimals, <= 0.11 m), other
    geometries dropped; every other number at full precision."""
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        if len(frame) and (geoms.geom_type == "Point").all():
            ll = geoms.to_crs("EPSG:4326")
            out["lon"] = ll.x.round(6).to_numpy()
            out["lat"] = ll.y.round(6).to_numpy()
        return out
    return frame


def _write_gpkg(result: Any, path: Path, overwrite: bool) -> None:
    with atomic_path(path, overwrite=overwrite) as tmp:
        layers: list[tuple[str, pd.DataFrame]] = [
            ("route", result.route), ("segments", result.segments),
            ("crossing_candidates", result.crossing_candidates),
            ("corridor_crossings", result.corridor_crossings),
            ("protected_areas", result.protected_areas),
            ("species_summary", result.species), ("segment_species", result.segment_species),
            ("lengths_by_class", result.lengths), ("buffers", result.buffers),
            ("fragmentation", result.fragmentation), ("connectivity", result.connectivity),
            ("spacing", result.spacing), ("fence_design", result.fence_design),
            ("flags", result.flags),
            ("parameters", pd.DataFrame({"parameter": list(result.parameters),
                                         "value": [str(v) for v in result.parameters.values()]})),
        ]
        for layer, frame in layers:
            if isinstance(frame, gpd.GeoDataFrame):
                if len(frame) == 0:
                    continue
                data = frame.copy()
                for col in data.columns:
                    if col != data.geometry.name and data[col].dtype == object:
                        data[col] = data[col].astype(str).where(data[col].notna(), None)
                pyogrio.write_dataframe(data, tmp, layer=layer, driver="GPKG")
            else:
                if len(frame.columns) == 0:
                    continue
                data = pd.DataFrame(frame).copy()
                for col in data.columns:
                    if data[col].dtype == object:
                        data[col] = data[col].astype(str).where(data[col].notna(), None)
                pyogrio.write_dataframe(data, tmp, layer=layer, driver="GPKG")


# -- map --------------------------------------------------------------------------------------
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


def screening_map(result: Any, *, basemap: str | None = "OpenStreetMap") -> Any:
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
    from ..maps import (
        add_corridors,
        add_infrastructure,
        add_points,
        add_ranges,
        add_vector,
        build_map,
    )

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

    from ..report import figure_to_data_uri

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


def screening_report_html(result: Any, *, map_file: str | None = "screening_map.html",
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
    from ..report import data_sources, render_report, reproducibility

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


def write_screening(result: Any, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
                    pdf: bool = False, interactive_map: bool = True,
                    basemap: str | None = "OpenStreetMap",
                    command: str | None = None) -> list[Path]:
    """Write every output of a screening into ``out_dir`` (atomically, file by file).

    Files (see :func:`output_names`): ``route_segments.geojson`` and
    ``crossing_candidates.geojson`` (RFC 7946), ``screening.gpkg`` (every layer and
    table), CSV tables, ``screening_map.html`` (self-contained Leaflet map; basemap tiles
    need internet) and ``screening_report.html`` (+ ``.pdf`` with ``pdf=True``).

    Raises
    ------
    OutputExistsError
        One of the files exists and ``overwrite`` is false (nothing is written).

    Examples
    --------
    >>> import geopandas as gpd, tempfile
    >>> from shapely import LineString
    >>> from cami_atlas.screening import screen_route
    >>> r = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> res = screen_route(r, infra_type="fence", buffers_km=(2,), species="saiga",
    ...                    connectivity=False)
    >>> paths = write_screening(res, tempfile.mkdtemp(), interactive_map=False)
    >>> sorted(p.suffix for p in paths)[:3]
    ['.csv', '.csv', '.csv']
    """
    out = Path(out_dir)
    names = output_names(pdf=pdf, interactive_map=interactive_map)
    _check_free(out, names, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    written.append(write_geojson(result.segments, out / "route_segments.geojson",
                                 overwrite=overwrite))
    written.append(write_geojson(result.crossing_candidates, out / "crossing_candidates.geojson",
                                 overwrite=overwrite))
    _write_gpkg(result, out / "screening.gpkg", overwrite)
    written.append(out / "screening.gpkg")
    for fname, attr in _CSV_TABLES.items():
        frame = _plain(getattr(result, attr))
        with atomic_path(out / fname, overwrite=overwrite) as tmp:
            frame.to_csv(tmp, index=False)
        written.append(out / fname)
    map_name = None
    if interactive_map:
        from ..maps import save_map

        written.append(save_map(screening_map(result, basemap=basemap),
                                out / "screening_map.html", overwrite=overwrite))
        map_name = "screening_map.html"
    html = screening_report_html(result, map_file=map_name, command=command)
    from ..report import write_report

    written.extend(write_report(html, out / "screening_report.html", pdf=pdf,
                                overwrite=overwrite))
    return written

