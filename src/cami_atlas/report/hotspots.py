"""The hotspot analysis rendered: its interactive map, its HTML/PDF report, its files.

The analysis itself (:func:`cami_atlas.hotspots.hotspot_analysis`, returning a
:class:`~cami_atlas.hotspots.HotspotAnalysis`) lives in :mod:`cami_atlas.hotspots`;
this module only turns its result into outputs:

* :func:`hotspot_map` draws it as a folium map;
* :func:`hotspot_report` renders the report (template ``hotspot_report.html.j2``:
  summary, map, top hotspots, top segments, transboundary hotspots, one factsheet page
  per species with figures, parameters, data sources and licences, reproducibility);
* :func:`write_hotspot_outputs` writes every output file of ``cami-atlas hotspots``;
* :func:`hotspot_index` renders the index page of a hotspot atlas (one report per
  species, :func:`cami_atlas.pipeline.hotspot_atlas.write_hotspot_atlas`).

The analysis names that used to live here (``hotspot_analysis``, ``HotspotAnalysis``,
``rank_segments``, ``segments_from_impact``, ``select_species``, ``score_weights``,
``unknown_class_rule``, ``SEVERITY``) and ``write_hotspot_atlas`` still import from
this module, with a :class:`DeprecationWarning` naming their new place.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._atomic import atomic_path, prepare_outputs
from .._deprecation import moved_names
from ..hotspots.segments import HOT_CLASSES  # a pure constant: the Gi* classes counted hot
from ..measure import area_km2
from ..schema import BARRIER_CLASSES

if TYPE_CHECKING:
    from ..hotspots.analysis import HotspotAnalysis

__all__ = [
    "HOT_CLASSES",
    "INDEX",
    "OUTPUTS",
    "hotspot_index",
    "hotspot_map",
    "hotspot_report",
    "output_names",
    "write_hotspot_outputs",
]

#: Files written by :func:`write_hotspot_outputs` (the PDF only with ``pdf=True``).
OUTPUTS: tuple[str, ...] = ("hotspot_cells.gpkg", "hotspot_cells.csv", "hotspot_segments.csv",
                            "mitigation_proposals.csv", "hotspot_map.html",
                            "hotspot_report.html")
_PDF = "hotspot_report.pdf"
_TEMPLATE = "hotspot_report.html.j2"
_INDEX_TEMPLATE = "hotspot_index.html.j2"
#: Name of the index page of a hotspot atlas (:func:`hotspot_index`).
INDEX = "index.html"

Progress = Callable[[str], None]

#: Names that moved: old name here -> module they now live in (imported on first use,
#: with a DeprecationWarning).
_MOVED: dict[str, str] = {
    "HotspotAnalysis": "cami_atlas.hotspots.analysis",
    "hotspot_analysis": "cami_atlas.hotspots.analysis",
    "score_weights": "cami_atlas.hotspots.analysis",
    "select_species": "cami_atlas.hotspots.analysis",
    "unknown_class_rule": "cami_atlas.hotspots.analysis",
    "rank_segments": "cami_atlas.hotspots.segments",
    "segments_from_impact": "cami_atlas.hotspots.segments",
    "SEVERITY": "cami_atlas.hotspots.segments",
    "write_hotspot_atlas": "cami_atlas.pipeline.hotspot_atlas",
}


__getattr__ = moved_names(__name__, _MOVED)


# -- map -------------------------------------------------------------------------------------
_CELL_POPUP = ("cell_id", "score", "gi_class", "gi_z", "gi_p", "n_species", "species",
               "infra_km", "species_km_complete_barrier", "species_km_partial_barrier",
               "species_km_unknown", "border")


def hotspot_map(analysis: HotspotAnalysis, *, basemap: str | None = "OpenStreetMap",
                offline: bool = False, title: str | None = None,
                simplify_m: float | None = 500.0) -> Any:
    """Interactive map of a hotspot analysis (folium).

    Layers (each toggleable): countries, borders, one range layer per species, corridors
    (if any), the barrier-pressure score of the cells (colour bar), one layer per Gi* hot/cold class
    present, transboundary hotspots, the infrastructure (coloured by barrier class for one
    species, else by the most severe class over the species; segments crossing none of
    the species' ranges grey as "outside range"; popups give the ``segment_id``) and the
    top segments.

    Parameters
    ----------
    analysis : HotspotAnalysis
    basemap, offline
        As in :func:`cami_atlas.maps.build_map` (``offline=True`` for a map that must open
        without internet: use ``basemap=None`` too, so no tiles are requested).
    simplify_m : float or None
        Display simplification of ranges, countries and lines, metres.

    Returns
    -------
    folium.Map
    """
    from ..figures import GI_CLASS_COLORS
    from ..maps import (
        OUTSIDE_RANGE,
        add_choropleth,
        add_corridors,
        add_infrastructure,
        add_ranges,
        add_vector,
        build_map,
        fix_view,
    )

    a = analysis
    if title is None:
        title = f"Barrier hotspots: {_species_title(a.species)}"
    m = build_map(title=title, basemap=basemap, offline=offline)
    cells = a.cells.to_crs("EPSG:4326")
    fix_view(m, tuple(cells.total_bounds))
    bbox = shapely.box(*cells.total_bounds).buffer(1.0)
    if a.countries is not None:
        keep = a.countries.to_crs("EPSG:4326").intersects(bbox).to_numpy()
        tip = next((c for c in ("name", "iso3") if c in a.countries.columns), None)
        add_vector(m, a.countries[keep], name="Countries", color="#636363", weight=0.8,
                   fill_opacity=0.03, tooltip_column=tip, simplify_m=simplify_m)
    if a.borders is not None:
        b = a.borders.to_crs("EPSG:4326")
        b = b[b.intersects(bbox).to_numpy()]
        if len(b):
            add_vector(m, b, name="Borders", color="#252525", weight=1.5, fill_opacity=0,
                       popup_columns=[c for c in ("iso3_left", "iso3_right") if c in b.columns],
                       simplify_m=simplify_m)
    range_cols = ["species", *[c for c in ("common_name",) if c in a.ranges],
                  a.ranges.geometry.name]
    add_ranges(m, a.ranges[range_cols], show=len(a.species) <= 3, simplify_m=simplify_m)
    if a.corridors is not None and len(a.corridors):
        add_corridors(m, a.corridors, name="Corridors", simplify_m=simplify_m)
    popup = [c for c in _CELL_POPUP if c in cells.columns]
    add_choropleth(m, cells, "score", name="Barrier-pressure score", cmap="YlOrRd",
                   caption="barrier-pressure score (0-1)", popup_columns=popup,
                   fill_opacity=0.6)
    for cls, color in GI_CLASS_COLORS.items():
        if cls == "not significant":
            continue
        sel = cells[cells["gi_class"] == cls]
        if len(sel):
            add_vector(m, sel, name=f"Gi*: {cls}", color=color, weight=0.8, fill_opacity=0.6,
                       popup_columns=popup, tooltip_column="gi_class",
                       show=cls.startswith("hot"), simplify_m=None)
    if a.transboundary is not None and len(a.transboundary):
        tb = a.transboundary.to_crs("EPSG:4326")
        add_vector(m, tb, name="Transboundary hotspots", color="#000000", weight=2.0,
                   fill_opacity=0.0, popup_columns=[c for c in (*popup, "border_distance_km")
                                                     if c in tb.columns],
                   tooltip_column="border", simplify_m=None)
    infra = a.infra.to_crs("EPSG:4326")
    infra = infra[infra.intersects(bbox).to_numpy()]
    shown = [c for c in ("layer", "infra_type", "name", "status", "track", "road_class",
                         "road_surface", "fence_type") if c in infra.columns]
    column = a.species[0] if len(a.species) == 1 else "most_severe_class"
    view = infra[[*shown, *a.species, "most_severe_class", infra.geometry.name]]
    view = view.rename_axis("segment_id").reset_index()
    # segments that cross none of the mapped species' ranges have no class: grey
    view[column] = view[column].astype(object).where(view[column].notna(), OUTSIDE_RANGE)
    if len(view):
        add_infrastructure(m, view, name="Infrastructure", barrier_column=column,
                           popup_columns=["segment_id", *shown, *a.species], show=True,
                           simplify_m=simplify_m)
    seg = a.segments
    if isinstance(seg, gpd.GeoDataFrame) and len(seg):
        segv = seg.to_crs("EPSG:4326")
        if "segment_id" not in segv.columns:
            segv = segv.rename_axis("segment_id").reset_index()
        cls_col = "most_severe_class" if "most_severe_class" in segv.columns else None
        if "infra_type" in segv.columns:
            add_infrastructure(m, segv.drop(columns=[c for c in ("classes",)
                                                     if c in segv.columns]),
                               name=f"Top {len(segv)} segments", barrier_column=cls_col,
                               simplify_m=None)
    return m


# -- report ----------------------------------------------------------------------------------
def _species_title(species: Sequence[str]) -> str:
    names = [s.replace("_", " ") for s in species]
    if len(names) <= 4:
        return ", ".join(names)
    return f"{len(names)} species"


def _centroids_lonlat(cells: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    c = cells.geometry.centroid.to_crs("EPSG:4326")
    return c.x.to_numpy(), c.y.to_numpy()


def _top_cells(cells: gpd.GeoDataFrame, n: int) -> pd.DataFrame:
    hot = cells[cells["gi_class"].isin(HOT_CLASSES).to_numpy()]
    top = hot.sort_values(["score", "gi_z"], ascending=False, kind="mergesort").head(n)
    lon, lat = _centroids_lonlat(top) if len(top) else (np.zeros(0), np.zeros(0))
    cols = {"cell_id": "cell", "gi_class": "Gi* class", "score": "score", "gi_z": "Gi* z",
            "gi_p": "p", "n_species": "species (n)", "species": "species",
            "infra_km": "infrastructure km", "species_km_complete_barrier":
            "complete-barrier species-km", "species_km_partial_barrier":
            "partial-barrier species-km", "border": "border"}
    out = pd.DataFrame({v: top[k].to_numpy() for k, v in cols.items() if k in top.columns})
    out["lon"] = np.round(lon, 3)
    out["lat"] = np.round(lat, 3)
    return out


def _segments_table(a: HotspotAnalysis) -> pd.DataFrame:
    seg = pd.DataFrame(a.segments.drop(columns=a.segments.geometry.name)
                       if isinstance(a.segments, gpd.GeoDataFrame) else a.segments)
    if isinstance(a.segments, gpd.GeoDataFrame) and len(a.segments):
        mid = shapely.line_interpolate_point(
            np.asarray(a.segments.geometry.values, dtype=object), 0.5, normalized=True)
        pts = gpd.GeoSeries(mid, crs=a.segments.crs).to_crs("EPSG:4326")
        seg["lon"] = np.round(pts.x.to_numpy(), 6)  # 6 decimals of a degree: <= 0.11 m
        seg["lat"] = np.round(pts.y.to_numpy(), 6)
    if "segment_id" not in seg.columns:
        seg.insert(0, "segment_id", seg.index.astype(str))
    empty = [c for c in ("name", "status") if c in seg.columns and seg[c].isna().all()]
    return seg.drop(columns=empty).reset_index(drop=True)


def _transboundary_table(a: HotspotAnalysis) -> pd.DataFrame | None:
    tb = a.transboundary
    if tb is None:
        return None
    if not len(tb):
        return pd.DataFrame(columns=["border", "hot cells", "summed score", "max score"])
    pairs = tb.assign(pair=tb["border"].str.split("; ")).explode("pair")
    out = pairs.groupby("pair").agg(cells=("score", "size"), summed=("score", "sum"),
                                    peak=("score", "max")).reset_index()
    out.columns = ["border", "hot cells", "summed score", "max score"]
    return out.sort_values("summed score", ascending=False, kind="mergesort").reset_index(
        drop=True)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name).strip("-").lower()


def _species_page(a: HotspotAnalysis, sp: str, *, figures: bool) -> dict[str, Any]:
    from ..figures import class_km_figure, figure_data_uri, range_barrier_figure

    r = a.ranges[a.ranges["species"] == sp]
    info: dict[str, Any] = {"name": sp, "title": sp.replace("_", " "), "anchor": _slug(sp)}
    for col, key in (("common_name", "common_name"), ("iucn_status_2016", "iucn_status")):
        if col in r.columns and r[col].notna().any():
            info[key] = str(r[col].dropna().iloc[0])
    info["matrix_species"] = a.matrix_species.get(sp)
    info["range_area_km2"] = float(area_km2(r).sum())
    t = a.lengths[a.lengths["species"] == sp]
    by_class = t.groupby("barrier_class")["length_km"].sum().reindex(
        list(BARRIER_CLASSES)[::-1], fill_value=0.0)
    info["class_km"] = pd.DataFrame({"barrier class": by_class.index,
                                     "km in range": by_class.to_numpy()})
    info["total_km"] = float(by_class.sum())
    wide = (t.pivot_table(index="infra_type", columns="barrier_class", values="length_km",
                          aggfunc="sum", fill_value=0.0)
            .reindex(columns=list(BARRIER_CLASSES)[::-1], fill_value=0.0))
    wide["total"] = wide.sum(axis=1)
    info["type_km"] = wide.reset_index().rename(columns={"infra_type": "type"})
    countries = (t.groupby("country").agg(km=("length_km", "sum"),
                                          range_km2=("range_area_km2", "first"))
                 .sort_values("km", ascending=False).reset_index())
    countries["km per 1000 km²"] = countries["km"] / countries["range_km2"] * 1000.0
    info["country_km"] = countries.rename(columns={"km": "km in range",
                                                   "range_km2": "range km² in country"})
    if a.fragmentation is not None:
        f = a.fragmentation[(a.fragmentation["species"] == sp)
                            & (a.fragmentation["procedure"] == "CUT")]
        if len(f):
            row = f.iloc[0]
            info["fragmentation"] = {
                "m_eff_km2": float(row["m_eff_km2"]), "n_fragments": int(row["n_fragments"]),
                "largest_fragment_share": float(row["largest_fragment_share"]),
                "area_km2": float(row["area_km2"])}
    in_cells = a.cells["species"].str.contains(rf"(?:^|; ){re.escape(sp)}(?:;|$)", regex=True)
    hot = a.cells["gi_class"].isin(HOT_CLASSES)
    info["cells"] = int(in_cells.sum())
    info["hot_cells"] = int((in_cells & hot).sum())
    if figures:
        info["range_figure"] = figure_data_uri(range_barrier_figure(
            a.ranges, a.infra, species=sp, barrier_column=sp, countries=a.countries,
            title=f"{sp.replace('_', ' ')}: infrastructure by barrier class"))
        info["km_figure"] = figure_data_uri(class_km_figure(
            t, by="infra_type", title="km inside the range by type and class"))
    return info


def hotspot_report(
    analysis: HotspotAnalysis,
    *,
    map_href: str | None = "hotspot_map.html",
    figures: bool = True,
    embed_map: bool = True,
    top_cells: int = 25,
    command: str | None = None,
    inputs: Mapping[str, str | os.PathLike[str] | bytes] | None = None,
    title: str | None = None,
    mitigation: pd.DataFrame | None = None,
) -> str:
    """The hotspot report as one HTML page (template ``hotspot_report.html.j2``).

    Sections: summary, the map (a link to ``map_href`` and, with ``embed_map``, the map in
    an iframe; a static figure of the Gi* classes for print), the top hot cells, the top
    segments (and how they were ranked), transboundary hotspots by border, one factsheet
    page per species (range, km by barrier class, type and country, fragmentation, hot
    cells, figures), notes, parameters, data sources and licences, reproducibility.
    Every value is HTML-escaped (Jinja2 autoescape).

    Parameters
    ----------
    analysis : HotspotAnalysis
    map_href : str or None
        Relative link to the map file; None for no map section.
    figures : bool
        Draw the matplotlib figures (embedded as PNG).
    embed_map : bool
        Show the map in an iframe (hidden when printed).
    top_cells : int
        Hot cells listed.
    command : str, optional
        The command line that produced the report (reproducibility block).
    inputs : mapping, optional
        Input files to checksum (default: the atlas file, when it has one).
    title : str, optional
    mitigation : DataFrame, optional
        Catalogue measures per species, computed by the caller
        (:meth:`~cami_atlas.hotspots.HotspotAnalysis.mitigation_by_species`); None for
        no table in the mitigation section.

    Returns
    -------
    str
        The HTML.
    """
    from ..figures import figure_data_uri, hotspot_figure
    from . import render_report, reproducibility

    a = analysis
    cells = a.cells
    counts = cells["gi_class"].value_counts()
    summary = {
        "n_cells": len(cells), "area_km2": float(cells["area_km2"].sum()),
        "cell_km": f"{float(a.parameters.get('cell_km', 0)):g}",
        "hot": {c: int(counts.get(c, 0)) for c in HOT_CLASSES},
        "n_hot": int(sum(int(counts.get(c, 0)) for c in HOT_CLASSES)),
        "n_cold": int(counts[[c for c in counts.index if str(c).startswith("cold")]].sum()),
        "n_transboundary": None if a.transboundary is None else len(a.transboundary),
        "infra_km": float(cells["infra_km"].sum()),
        "max_score_cell": str(cells.loc[cells["score"].idxmax(), "cell_id"])
        if len(cells) and "cell_id" in cells.columns else "",
    }
    if inputs is None:
        inputs = {"atlas": a.atlas_path} if a.atlas_path is not None else {}
    context: dict[str, Any] = {
        "title": title or f"Barrier hotspots: {_species_title(a.species)}",
        "subtitle": (f"Atlas {a.atlas_name!r}; {len(a.species)} species; "
                     f"{a.parameters.get('cell_shape', 'hexagon')} cells of "
                     f"{summary['cell_km']} km ({summary['n_cells']:,} cells)"),
        "summary": summary,
        "species": [{"name": s, "title": s.replace("_", " "), "anchor": _slug(s),
                     "rated": a.matrix_species.get(s) is not None} for s in a.species],
        "map_href": map_href,
        "embed_map": embed_map and map_href is not None,
        "hotspot_figure": figure_data_uri(hotspot_figure(
            cells, countries=a.countries, ranges=a.ranges,
            title="Gi* hot and cold spots of the score")) if figures else None,
        "top_cells": _top_cells(cells, top_cells),
        "segments": _segments_table(a),
        "mitigation": mitigation,
        "segment_method": a.segment_method,
        "transboundary": _transboundary_table(a),
        "border_distance_km": a.parameters.get("border_distance_km"),
        "alpha": a.parameters.get("alpha"),
        "pages": [_species_page(a, s, figures=figures) for s in a.species],
        "weights": a.weights,
        "weights_source": a.parameters.get("weights", ""),
        "unknown_rule": a.unknown_rule,
        "notes": list(a.notes),
        "parameters": dict(a.parameters),
        "sources": a.sources[[c for c in ("name", "kind", "source", "licence", "attribution",
                                          "date") if c in a.sources.columns]],
        "reproducibility": reproducibility(inputs, command=command),
    }
    return render_report(_TEMPLATE, context)


# -- outputs -----------------------------------------------------------------------------------
def output_names(*, pdf: bool = False) -> list[str]:
    """Names of the files :func:`write_hotspot_outputs` writes.

    Examples
    --------
    >>> output_names(pdf=True)[-1]
    'hotspot_report.pdf'
    """
    return [*OUTPUTS, *([_PDF] if pdf else [])]


def _cells_table(cells: gpd.GeoDataFrame) -> pd.DataFrame:
    lon, lat = _centroids_lonlat(cells)
    out = pd.DataFrame(cells.drop(columns=cells.geometry.name))
    out["centroid_lon"] = lon
    out["centroid_lat"] = lat
    return out


def write_hotspot_outputs(
    analysis: HotspotAnalysis,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    pdf: bool = False,
    offline: bool = False,
    basemap: str | None = "OpenStreetMap",
    figures: bool = True,
    command: str | None = None,
    progress: Progress | None = None,
    proposals: pd.DataFrame | None = None,
    mitigation: pd.DataFrame | None = None,
) -> list[Path]:
    """Write the outputs of a hotspot analysis into ``out_dir`` (each file atomically).

    Files: ``hotspot_cells.gpkg`` (layers ``cells``, ``segments`` and, when any,
    ``transboundary``; analysis CRS), ``hotspot_cells.csv`` (cells without geometry, with
    centroid lon/lat), ``hotspot_segments.csv``, ``hotspot_map.html`` (self-contained:
    Leaflet and plugins inlined), ``hotspot_report.html`` and, with ``pdf``,
    ``hotspot_report.pdf`` (WeasyPrint, the ``pdf`` extra).

    Every output is checked first; if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written.
    ``offline`` builds the map without basemap tiles (it then makes no network request).
    ``proposals`` (the measures per segment and species,
    :meth:`~cami_atlas.hotspots.HotspotAnalysis.mitigation_proposals`) is written as
    ``mitigation_proposals.csv`` and ``mitigation`` (their summary per species) shown in
    the report; both are computed by the caller (the pipeline), not here.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ..maps import save_map
    from . import write_report

    out = prepare_outputs(out_dir, output_names(pdf=pdf), overwrite=overwrite)
    a = analysis

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    written: list[Path] = []
    step("writing the cell GeoPackage and tables")
    with atomic_path(out / "hotspot_cells.gpkg", overwrite=overwrite) as tmp:
        a.cells.to_file(tmp, layer="cells", driver="GPKG")
        if isinstance(a.segments, gpd.GeoDataFrame) and len(a.segments):
            (a.segments if "segment_id" in a.segments.columns
             else a.segments.rename_axis("segment_id").reset_index()).to_file(
                tmp, layer="segments", driver="GPKG", mode="a")
        if a.transboundary is not None and len(a.transboundary):
            a.transboundary.to_file(tmp, layer="transboundary", driver="GPKG", mode="a")
    written.append(out / "hotspot_cells.gpkg")
    tables = [("hotspot_cells.csv", _cells_table(a.cells)),
              ("hotspot_segments.csv", _segments_table(a))]
    if proposals is not None:
        tables.append(("mitigation_proposals.csv", proposals))
    for name, table in tables:
        with atomic_path(out / name, overwrite=overwrite) as tmp:
            table.to_csv(tmp, index=False)  # full precision: floats round-trip
        written.append(out / name)
    step("drawing the map")
    m = hotspot_map(a, basemap=None if offline else basemap, offline=offline)
    written.append(save_map(m, out / "hotspot_map.html", self_contained=True,
                            overwrite=overwrite))
    step("writing the report" + (" (HTML and PDF)" if pdf else ""))
    html = hotspot_report(a, map_href="hotspot_map.html", figures=figures, command=command,
                          mitigation=mitigation)
    written.extend(write_report(html, out / "hotspot_report.html", pdf=pdf,
                                overwrite=overwrite))
    return written


def hotspot_index(entries: Sequence[Mapping[str, Any]], *, atlas_name: str, cell_km: float,
                  sources: pd.DataFrame) -> str:
    """The index page of a hotspot atlas (template ``hotspot_index.html.j2``).

    Parameters
    ----------
    entries : sequence of mapping
        One per species: ``name``, ``title``, ``common_name``, ``report``, ``map``,
        ``pdf`` (links relative to the index, ``pdf`` None without PDF),
        ``range_area_km2``, ``complete_km``, ``partial_km``, ``unknown_km``, ``cells``,
        ``hot_cells``, ``transboundary`` (None without borders) and ``rated``.
    atlas_name : str
    cell_km : float
    sources : DataFrame
        ``atlas.list_layers()`` rows of the layers used.

    Returns
    -------
    str
        The HTML (every value escaped).

    Examples
    --------
    >>> import pandas as pd
    >>> row = {"name": "Saiga_tatarica", "title": "Saiga tatarica", "common_name": "Saiga",
    ...        "report": "Saiga_tatarica/hotspot_report.html",
    ...        "map": "Saiga_tatarica/hotspot_map.html", "pdf": None,
    ...        "range_area_km2": 1000.0, "complete_km": 1.0, "partial_km": 2.0,
    ...        "unknown_km": 0.0, "cells": 10, "hot_cells": 2, "transboundary": 1,
    ...        "rated": True}
    >>> html = hotspot_index([row], atlas_name="demo", cell_km=25, sources=pd.DataFrame())
    >>> "Saiga_tatarica/hotspot_report.html" in html
    True
    """
    from . import render_report

    return render_report(_INDEX_TEMPLATE, {
        "title": f"Barrier-hotspot atlas: {atlas_name}",
        "subtitle": f"{len(entries)} species; cells of {cell_km:g} km",
        "entries": list(entries),
        "sources": sources,
    })
