"""Barrier analysis of an atlas as a pipeline step: the tables, their files, the summary.

:func:`analyse_atlas` computes (nothing written), :func:`write_results` writes the
files into a folder, :data:`STEP` is the step of ``cami-atlas run`` and
:func:`run_barriers` the whole ``cami-atlas barriers`` job (analysis, then the output
set written through :class:`~cami_atlas.pipeline.staging.StagedOutputs`).

Outputs
-------
``barrier_lengths.csv``          km by layer × species × infra_type × barrier_class × country
``classified_segments.gpkg``     one layer per infrastructure layer: ``segment_id``
                                 (``layer:feature_id``, see
                                 :mod:`cami_atlas.barriers.segments`), one
                                 ``barrier_<species>`` column per species (empty where the
                                 segment does not cross the species' range ∪ corridor)
                                 and ``species_in_range``
``fragmentation.csv``            effective mesh size of each range (CUT and CBC), and
                                 ``m_eff_without_barriers_km2``: the same range without
                                 any infrastructure
``barrier_summary.md``           short summary
``corridor_crossings.csv``,      crossing points and counts (only with corridor layers)
``corridor_crossing_counts.csv``
``corridor_lengths.csv``         km of infrastructure inside corridor polygons by layer ×
                                 species × infra_type × barrier_class × country (only with
                                 corridor polygons)
``track_crossings.csv``          crossing events of track steps (only with tracks layers)
``km_by_species.png``,           plots of the tables (:func:`plot_tables`; the crossing
``km_by_country.png``,           plots only with corridors / tracks)
``effective_mesh_size.png``,
``*_crossings_per_species.png``
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from .._atomic import atomic_path, prepare_outputs, write_text_atomic
from ..atlas import Atlas
from ..barriers.crossings import corridor_crossings, track_crossings
from ..barriers.matrix import _as_matrix
from ..barriers.overlay import _select, infrastructure_in_ranges, species_polygons
from ..barriers.segments import classify_segments
from ..barriers.species import matrix_species
from ..measure import to_crs
from ..planning.status import infrastructure_status
from ..schema import BARRIER_CLASSES
from .progress import ProgressFactory, no_progress, rich_progress
from .staging import StagedOutputs
from .steps import Section, Step, StepContext

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["OUTPUTS", "PLOTS", "RUN_OUTPUTS", "STEP", "BarrierResults", "analyse_atlas",
           "barriers_run_step", "output_names", "plot_tables", "run_barriers", "summary_markdown",
           "write_results"]

#: Files always written (crossing tables only when the atlas has corridors / tracks).
OUTPUTS: tuple[str, ...] = ("barrier_lengths.csv", "classified_segments.gpkg",
                            "fragmentation.csv", "barrier_summary.md")
#: Every file the barrier step of ``cami-atlas run`` may write (checked before the job).
#: Plots of the tables (each written when its table has rows).
PLOTS: tuple[str, ...] = ("km_by_species.png", "km_by_country.png", "effective_mesh_size.png",
                          "corridor_crossings_per_species.png",
                          "track_crossings_per_species.png")
RUN_OUTPUTS: tuple[str, ...] = (*OUTPUTS, "corridor_crossings.csv",
                                "corridor_crossing_counts.csv", "corridor_lengths.csv",
                                "track_crossings.csv", *PLOTS)


@dataclass
class BarrierResults:
    """Tables of :func:`analyse_atlas`."""

    species: list[str]
    matrix_species: dict[str, str | None]
    lengths: pd.DataFrame
    segments: dict[str, gpd.GeoDataFrame]
    fragmentation: pd.DataFrame | None = None
    corridor_points: pd.DataFrame | None = None
    corridor_counts: pd.DataFrame | None = None
    corridor_lengths: pd.DataFrame | None = None
    track_events: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _progress(progress: bool | ProgressFactory) -> ProgressFactory:
    if progress is True:
        return rich_progress
    if progress is False or progress is None:
        return no_progress
    return progress


def _read_kind(atlas: Atlas, kind: str) -> gpd.GeoDataFrame | None:
    """All layers of ``kind``: one layer in its stored CRS (the barrier functions reproject
    with densified edges themselves), several layers concatenated in EPSG:4326."""
    names = atlas.layer_names(kind)
    if not names:
        return None
    if len(names) == 1:
        return atlas.read(names[0]).assign(layer=names[0])
    return atlas.read_kind(kind, crs="EPSG:4326")


def analyse_atlas(
    atlas: Atlas,
    *,
    species: list[str] | None = None,
    matrix: pd.DataFrame | str | os.PathLike[str] | None = None,
    fragmentation: bool = True,
    progress: bool | ProgressFactory = False,
    include_planned: bool = False,
) -> BarrierResults:
    """Run the barrier analyses on ``atlas`` and return the tables (nothing is written).

    Long only for its documented options; the body is about 80 lines, one call per
    analysis (overlay, crossings, fragmentation, tracks) with its progress step.

    Parameters
    ----------
    atlas : cami_atlas.atlas.Atlas
        Needs at least one ``infrastructure`` and one ``species_range`` (or ``corridor``)
        layer; ``country``, ``corridor`` and ``tracks`` layers are used when present.
    species : list of str, optional
        Species to analyse (names in the atlas or synonyms); default all.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    fragmentation : bool, default True
        Compute the effective mesh size of each range (needs
        :mod:`cami_atlas.barriers.fragmentation`).
    progress : bool or progress factory, default False
        True: a rich progress bar on a terminal; or a factory of
        :mod:`cami_atlas.pipeline.progress` that receives one message per step.
    include_planned : bool, default False
        Count infrastructure whose ``status`` is under construction, planned or proposed
        too; by default only the existing network is analysed (a layer without ``status``
        is all existing) and the notes say how many lines were left out.

    Returns
    -------
    BarrierResults
        ``lengths`` (the tables of
        :func:`cami_atlas.barriers.infrastructure_in_ranges` of every infrastructure
        layer, with a ``layer`` column), ``segments`` (each infrastructure layer with its
        ``segment_id``, one ``barrier_<species>`` column per species, missing where the
        segment does not cross the species' range ∪ corridor, and ``species_in_range``:
        :func:`cami_atlas.barriers.classify_segments`), ``fragmentation`` and, where the atlas
        has them, corridor and track crossings and (``corridor_lengths``) the km of
        infrastructure inside corridor polygons, in the layout of ``lengths``.

    Examples
    --------
    >>> res = analyse_atlas(Atlas.default(), species=["saiga"], fragmentation=False)
    >>> res.species, res.matrix_species
    (['Saiga_tatarica'], {'Saiga_tatarica': 'Saiga_spp'})
    >>> sorted(res.lengths["layer"].unique())  # the OSM sample (Astana) is outside the range
    ['railways', 'roads']
    """
    from ..errors import EmptyLayerError

    m = _as_matrix(matrix)
    infra_layers = atlas.layer_names("infrastructure")
    if not infra_layers:
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no infrastructure layer; add one with "
            "`cami-atlas layers import FILE --kind infrastructure --atlas ATLAS.gpkg`.")
    range_layers = atlas.layer_names("species_range")
    corridor_layers = atlas.layer_names("corridor")
    if not range_layers and not corridor_layers:
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no species_range or corridor layer; add one with "
            "`cami-atlas layers import FILE --kind species_range --atlas ATLAS.gpkg`.")
    crs = atlas.analysis_crs
    ranges = _read_kind(atlas, "species_range")
    corridors = _read_kind(atlas, "corridor")
    countries = _read_kind(atlas, "country")
    if ranges is None:  # corridors only: their polygons stand for the ranges
        ranges = corridors[corridors.geom_type.isin(["Polygon", "MultiPolygon"])]
    polys = species_polygons(ranges, corridors=corridors, crs=crs)
    polys = polys[polys.notna() & ~polys.is_empty]
    chosen = _select([str(s) for s in polys.index], species, m)
    msp = matrix_species(chosen, matrix=m)
    results = BarrierResults(species=chosen, matrix_species=msp, lengths=pd.DataFrame(),
                             segments={})
    unrated = [s for s in chosen if msp[s] is None]
    if unrated:
        results.notes.append(
            f"Not rated by the barrier matrix (all infrastructure in their range is `unknown`): "
            f"{', '.join(unrated)}.")
    n_tasks = len(infra_layers) * 2 + int(fragmentation) + int(corridors is not None) + int(
        bool(atlas.layer_names("tracks")))
    with _progress(progress)(n_tasks, "barrier analysis") as step:
        tables = []
        infra_all = []
        for name in infra_layers:
            layer = atlas.read(name)
            if not include_planned:
                status = infrastructure_status(layer, what=f"infrastructure layer {name!r}")
                n_future = int((status != "existing").sum())
                if n_future:
                    layer = layer[(status == "existing").to_numpy()]
                    results.notes.append(
                        f"{name}: {n_future} line(s) under construction, planned or proposed "
                        "left out (existing network only; --include-planned counts them).")
            t = infrastructure_in_ranges(layer, ranges, corridors=corridors,
                                         countries=countries, species=chosen, matrix=m,
                                         analysis_crs=crs)
            tables.append(t.assign(layer=name))
            step(f"km in ranges: {name}")
            results.segments[name] = classify_segments(layer, polys, layer=name,
                                                       species=chosen, matrix=m,
                                                       analysis_crs=crs)
            # indexed by segment_id: crossing tables name segments as every output does
            infra_all.append(to_crs(layer, crs).set_axis(pd.Index(
                results.segments[name]["segment_id"].to_numpy(), name="segment_id")))
            step(f"classified: {name}")
        lengths = pd.concat(tables, ignore_index=True)
        results.lengths = lengths[["layer", *[c for c in lengths.columns if c != "layer"]]]
        infra = pd.concat(infra_all)
        infra = gpd.GeoDataFrame(infra, geometry=infra.geometry.name, crs=crs)

        if fragmentation:
            results.fragmentation = _fragmentation(ranges, corridors, infra, chosen, msp, m)
            step("fragmentation")
        if corridors is not None:
            pts, counts = corridor_crossings(infra, corridors, matrix=m)
            results.corridor_points = pd.DataFrame(pts.assign(
                x=pts.to_crs(4326).geometry.x, y=pts.to_crs(4326).geometry.y).drop(
                columns=pts.geometry.name))
            results.corridor_counts = counts
            results.corridor_lengths = _corridor_lengths(atlas, infra_layers, corridors,
                                                         countries, chosen, m, crs)
            step("corridor crossings")
        if atlas.layer_names("tracks"):
            tracks = _read_kind(atlas, "tracks")
            if species is not None:  # only the tracks of the species analysed
                from ..schema import canonical_species_name

                wanted = {canonical_species_name(s) for s in chosen}
                tracks = tracks[tracks["species"].astype(str).map(canonical_species_name)
                                .isin(wanted).to_numpy()]
            ev = track_crossings(tracks, infra, matrix=m)
            results.track_events = pd.DataFrame(ev.assign(
                x=ev.to_crs(4326).geometry.x, y=ev.to_crs(4326).geometry.y).drop(
                columns=ev.geometry.name))
            step("track crossings")
    return results


def _corridor_lengths(atlas: Atlas, infra_layers: list[str], corridors: gpd.GeoDataFrame,
                      countries: gpd.GeoDataFrame | None, chosen: list[str],
                      m: pd.DataFrame, crs: object) -> pd.DataFrame | None:
    """Km of infrastructure inside the corridor polygons of the chosen species (None
    without corridor polygons of those species)."""
    from ..schema import canonical_species_name

    polys = corridors[corridors.geom_type.isin(["Polygon", "MultiPolygon"])]
    present = {canonical_species_name(str(s)) for s in polys["species"].dropna().unique()}
    species = [s for s in chosen if canonical_species_name(s) in present]
    if not species:
        return None
    tables = [infrastructure_in_ranges(atlas.read(name), polys, countries=countries,
                                       species=species, matrix=m,
                                       analysis_crs=crs).assign(layer=name)
              for name in infra_layers]
    t = pd.concat(tables, ignore_index=True)
    return t[["layer", *[c for c in t.columns if c != "layer"]]]


def _fragmentation(ranges: gpd.GeoDataFrame, corridors: gpd.GeoDataFrame | None,
                   infra: gpd.GeoDataFrame, chosen: list[str], msp: dict[str, str | None],
                   m: pd.DataFrame) -> pd.DataFrame:
    from ..barriers.classify import classify_barriers
    from ..barriers.fragmentation import range_fragmentation

    def classify(frame: gpd.GeoDataFrame, sp: str) -> pd.Series:
        target = msp.get(sp) or matrix_species([sp], matrix=m)[sp]
        if target is None:
            return pd.Series("unknown", index=frame.index, name="barrier_class")
        return classify_barriers(frame, target, matrix=m)

    polys = species_polygons(ranges, corridors=corridors, crs=infra.crs)
    areas = gpd.GeoDataFrame({"species": list(polys.index)}, geometry=polys.to_numpy(),
                             crs=polys.crs)
    areas = areas[areas.geometry.notna() & ~areas.geometry.is_empty]
    after = range_fragmentation(areas, infra, species=chosen, classify=classify)
    # the same ranges without any infrastructure: a range of several parts has an
    # effective mesh size below its area before any line cuts it
    before = range_fragmentation(areas, infra.iloc[:0], species=chosen, classify=classify)
    before = before.set_index(["species", "procedure"])["m_eff_km2"]
    after["m_eff_without_barriers_km2"] = before.reindex(
        pd.MultiIndex.from_frame(after[["species", "procedure"]])).to_numpy()
    return after


def _fmt_km(v: float) -> str:
    return f"{v:,.0f}"


def summary_markdown(res: BarrierResults, atlas: Atlas) -> str:
    """A short Markdown summary of :func:`analyse_atlas` results.

    Examples
    --------
    >>> atlas = Atlas.default()
    >>> res = analyse_atlas(atlas, species=["saiga"], fragmentation=False)
    >>> text = summary_markdown(res, atlas)
    >>> text.splitlines()[0], "| Saiga_tatarica | railways |" in text
    ('# Barrier analysis', True)
    """
    lines = ["# Barrier analysis", "",
             f"Atlas {atlas.name!r}; species: {', '.join(res.species)}.", "",
             "Lengths are geodesic km on WGS84 inside each species' range ∪ corridor; barrier "
             "classes per species from the expert matrix (2017 CAMI atlas rule: start "
             "`unknown`, then `not a barrier`, `partial barrier`, `complete barrier`, a later "
             "class overriding an earlier one). Areas in ESRI:102025.", ""]
    t = res.lengths
    if len(t):
        wide = (t.pivot_table(index=["species", "layer"], columns="barrier_class",
                              values="length_km", aggfunc="sum", fill_value=0.0)
                .reindex(columns=list(BARRIER_CLASSES), fill_value=0.0))
        wide["total"] = wide.sum(axis=1)
        top = (t.groupby(["species", "layer", "country"])["length_km"].sum().reset_index()
               .sort_values("length_km", ascending=False)
               .drop_duplicates(["species", "layer"]).set_index(["species", "layer"]))
        lines += ["## Km of infrastructure in ranges, by barrier class", "",
                  "| species | layer | " + " | ".join(BARRIER_CLASSES)
                  + " | total | most in |", "|---|---|" + "---:|" * 5 + "---|"]
        for (sp, layer), row in wide.iterrows():
            where = top.loc[(sp, layer), "country"] if (sp, layer) in top.index else ""
            lines.append(f"| {sp} | {layer} | "
                         + " | ".join(_fmt_km(row[c]) for c in BARRIER_CLASSES)
                         + f" | {_fmt_km(row['total'])} | {where} |")
        lines.append("")
    if res.fragmentation is not None and len(res.fragmentation):
        f = res.fragmentation[res.fragmentation["procedure"] == "CUT"]
        lines += ["## Fragmentation by partial and complete barriers (effective mesh size, CUT)",
                  "", "| species | range km² | m_eff km² | fragments | largest share |",
                  "|---|---:|---:|---:|---:|"]
        lines += [f"| {r.species} | {r.area_km2:,.0f} | {r.m_eff_km2:,.0f} | {r.n_fragments} | "
                  f"{r.largest_fragment_share:.2f} |" for r in f.itertuples()]
        lines.append("")
    if res.corridor_counts is not None:
        lines += ["## Corridor crossings", "",
                  f"{int(res.corridor_counts['n_crossings'].sum())} crossing points of "
                  "corridor boundaries and migration routes (corridor_crossings.csv).", ""]
    if res.corridor_lengths is not None:
        km = res.corridor_lengths.groupby("barrier_class")["length_km"].sum()
        lines += ["## Infrastructure inside corridors", "",
                  f"{km.sum():,.1f} km of infrastructure inside corridor polygons ("
                  + ", ".join(f"{c} {km.get(c, 0.0):,.1f} km" for c in BARRIER_CLASSES)
                  + "; corridor_lengths.csv).", ""]
    if res.track_events is not None:
        lines += ["## Track crossings", "",
                  f"{len(res.track_events)} crossing events in "
                  f"{res.track_events['step'].nunique()} track steps (track_crossings.csv).", ""]
    if res.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in res.notes], ""]
    return "\n".join(lines)


def output_names(res: BarrierResults) -> list[str]:
    """Names of the files :func:`write_results` writes for ``res``."""
    names = list(OUTPUTS)
    if res.fragmentation is None:
        names.remove("fragmentation.csv")
    names += list(plot_tables(res))
    if res.corridor_points is not None:
        names += ["corridor_crossings.csv", "corridor_crossing_counts.csv"]
    if res.corridor_lengths is not None:
        names.append("corridor_lengths.csv")
    if res.track_events is not None:
        names.append("track_crossings.csv")
    return names


def write_results(res: BarrierResults, atlas: Atlas, out_dir: str | os.PathLike[str], *,
                  overwrite: bool = False,
                  wrote: Callable[[Path], None] | None = None) -> list[Path]:
    """Write the outputs of :func:`analyse_atlas` into ``out_dir`` (atomically).

    Every output is checked first; if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written.

    Examples
    --------
    >>> import tempfile
    >>> atlas = Atlas.default()
    >>> res = analyse_atlas(atlas, species=["khulan"], fragmentation=False)
    >>> paths = write_results(res, atlas, tempfile.mkdtemp())
    >>> sorted(p.name for p in paths)  # doctest: +NORMALIZE_WHITESPACE
    ['barrier_lengths.csv', 'barrier_summary.md', 'classified_segments.gpkg',
     'km_by_country.png', 'km_by_species.png']
    """
    out = prepare_outputs(out_dir, output_names(res), overwrite=overwrite)
    written: list[Path] = []

    def done(path: Path) -> None:
        written.append(path)
        if wrote is not None:
            wrote(path)

    def csv(name: str, df: pd.DataFrame) -> None:
        with atomic_path(out / name, overwrite=overwrite) as tmp:
            df.to_csv(tmp, index=False)  # full precision: floats round-trip
        done(out / name)

    csv("barrier_lengths.csv", res.lengths)
    with atomic_path(out / "classified_segments.gpkg", overwrite=overwrite) as tmp:
        for i, (name, seg) in enumerate(res.segments.items()):
            seg.to_file(tmp, layer=name, driver="GPKG", mode="w" if i == 0 else "a")
    done(out / "classified_segments.gpkg")
    if res.fragmentation is not None:
        csv("fragmentation.csv", res.fragmentation)
    if res.corridor_points is not None and res.corridor_counts is not None:
        csv("corridor_crossings.csv", res.corridor_points)
        csv("corridor_crossing_counts.csv", res.corridor_counts)
    if res.corridor_lengths is not None:
        csv("corridor_lengths.csv", res.corridor_lengths)
    if res.track_events is not None:
        csv("track_crossings.csv", res.track_events)
    path = write_text_atomic(out / "barrier_summary.md", summary_markdown(res, atlas),
                             overwrite=overwrite)
    done(path)
    from ..report.table_plots import save_png

    for name, draw in plot_tables(res).items():
        done(save_png(draw(), out / name, overwrite=overwrite))
    return written


def plot_tables(res: BarrierResults) -> dict[str, Callable[[], Figure]]:
    """The figures of the tables of ``res`` (see :data:`PLOTS`): file name -> a function
    that draws it (so the names are known before anything is drawn).

    km of infrastructure by barrier class per species and per country (summed over the
    species), the effective mesh size of each range without and with its barriers (CUT),
    and the corridor and track crossings per species where the atlas has them.

    Examples
    --------
    >>> res = analyse_atlas(Atlas.default(), species=["khulan"], fragmentation=False)
    >>> sorted(plot_tables(res))
    ['km_by_country.png', 'km_by_species.png']
    """
    from ..figures import BARRIER_CLASS_COLORS
    from ..report.table_plots import before_after_figure, count_bar_figure, stacked_bar_figure

    figs: dict[str, Callable[[], Figure]] = {}
    t = res.lengths
    classes = list(BARRIER_CLASSES)
    if len(t):
        for by, name, what in (("species", "km_by_species.png", "species' ranges"),
                               ("country", "km_by_country.png",
                                "species' ranges, summed over species")):
            if by not in t.columns or t[by].isna().all():
                continue
            table = (t.pivot_table(index=by, columns="barrier_class", values="length_km",
                                   aggfunc="sum", fill_value=0.0)
                     .reindex(columns=classes, fill_value=0.0))
            table = table.loc[table.sum(axis=1).sort_values(ascending=False).index]
            figs[name] = partial(stacked_bar_figure, table, xlabel="km (geodesic)",
                                 colors=BARRIER_CLASS_COLORS,
                                 title=f"Infrastructure in {what}, by barrier class")
    f = res.fragmentation
    if f is not None and len(f) and "m_eff_without_barriers_km2" in f.columns:
        cut = f[f["procedure"] == "CUT"].set_index("species")
        figs["effective_mesh_size.png"] = partial(
            before_after_figure, cut["m_eff_without_barriers_km2"], cut["m_eff_km2"],
            xlabel="km² (log scale)",
            labels=("range without infrastructure", "cut by its barriers"),
            title="Effective mesh size of each range (CUT)")
    counts = []
    if res.corridor_counts is not None and len(res.corridor_counts):
        counts.append(("corridor", res.corridor_counts.groupby("species")["n_crossings"].sum()))
    if res.track_events is not None and len(res.track_events) and \
            "species" in res.track_events.columns:
        counts.append(("track", res.track_events.groupby("species").size()))
    for kind, series in counts:
        figs[f"{kind}_crossings_per_species.png"] = partial(
            count_bar_figure, series.sort_values(ascending=False), xlabel="crossings",
            title=f"{kind.capitalize()} crossings of infrastructure per species")
    return figs


def barriers_run_step(ctx: StepContext) -> None:
    """Step of ``cami-atlas run``: barrier analysis with its outputs and a summary section."""
    if ctx.skipped(("infrastructure", "species_range|corridor"), analysis="Barrier analysis",
                   heading="Barriers"):
        return
    res = analyse_atlas(ctx.atlas, species=ctx.options.get("species"), progress=ctx.progress)
    ctx.results["barriers"] = res
    write_results(res, ctx.atlas, ctx.out_dir, overwrite=ctx.overwrite, wrote=ctx.wrote)
    t = res.lengths
    if len(t):
        table = (t.pivot_table(index="species", columns="barrier_class", values="length_km",
                               aggfunc="sum", fill_value=0.0)
                 .reindex(columns=list(BARRIER_CLASSES), fill_value=0.0))
        table["total"] = table.sum(axis=1)
        table = table.sort_values("total", ascending=False).map(_fmt_km).reset_index()
    else:
        table = None
    ctx.sections.append(Section(
        "Barriers: km of infrastructure in species ranges",
        ["All infrastructure layers, geodesic km inside each species' range ∪ corridor, by "
         "barrier class of the expert matrix (2017 CAMI atlas rule). Details: "
         "barrier_summary.md, barrier_lengths.csv, classified_segments.gpkg.", *res.notes],
        table))
    _crossing_sections(ctx, res)


def _crossing_sections(ctx: StepContext, res: BarrierResults) -> None:
    """Summary sections of the corridor and track analyses, or notes that they were
    skipped (the atlas has no such layer)."""
    if not ctx.skipped(("corridor",), analysis="Corridor crossings and km in corridors",
                       heading="Corridors"):
        paras = []
        table = None
        if res.corridor_counts is not None:
            c = res.corridor_counts
            paras.append(f"{int(c['n_crossings'].sum()):,} crossing points of infrastructure "
                         "with corridor boundaries and migration routes "
                         "(corridor_crossings.csv, corridor_crossing_counts.csv).")
            if len(c):
                table = (c.groupby(["species", "barrier_class"])["n_crossings"].sum()
                         .reset_index().rename(columns={"n_crossings": "crossings"}))
        if res.corridor_lengths is not None:
            km = res.corridor_lengths.groupby("species")["length_km"].sum()
            paras.append("Km of infrastructure inside corridor polygons: "
                         + ", ".join(f"{sp} {v:,.1f} km" for sp, v in km.items())
                         + " (corridor_lengths.csv).")
        else:
            paras.append("No corridor polygons of the species analysed: no km inside "
                         "corridors (migration-route lines count as crossings only).")
        ctx.sections.append(Section("Corridors", paras, table))
    if not ctx.skipped(("tracks",), analysis="Track crossings", heading="Tracks"):
        ev = res.track_events
        n = 0 if ev is None else len(ev)
        steps = 0 if ev is None or not n else ev["step"].nunique()
        table = None
        if n:
            table = (ev.groupby(["individual", "barrier_class"]).size()
                     .reset_index(name="crossings"))
        ctx.sections.append(Section("Tracks", [
            f"{n:,} crossing events of infrastructure in {steps:,} steps of the GPS tracks "
            "(track_crossings.csv)."], table))


#: The barrier step of ``cami-atlas run``.
STEP = Step("barriers", RUN_OUTPUTS, barriers_run_step,
            "km of infrastructure in species ranges by barrier class and country; classified "
            "segments; range fragmentation; crossings",
            reads=("infrastructure", "species_range", "corridor", "country", "tracks"))

#: Size of the output set on the default atlas (8.3 MB), with room: the free-space check.
ESTIMATED_BYTES = 12 << 20


def run_barriers(atlas: Atlas, out_dir: str | os.PathLike[str], *,
                 species: list[str] | None = None,
                 matrix: pd.DataFrame | str | os.PathLike[str] | None = None,
                 fragmentation: bool = True, overwrite: bool = False,
                 progress: bool | ProgressFactory = False,
                 staged: StagedOutputs | None = None,
                 include_planned: bool = False) -> tuple[BarrierResults, list[Path]]:
    """The ``cami-atlas barriers`` job: :func:`analyse_atlas`, then the output set.

    The output folder is checked (existing outputs, write permission, free space)
    before the analysis and written as one set (a failed or killed job leaves the old
    outputs as they were).

    Parameters
    ----------
    atlas, species, matrix, fragmentation, progress, include_planned
        As in :func:`analyse_atlas`.
    out_dir : str or path
    overwrite : bool, default False
    staged : StagedOutputs, optional
        An output set checked already by the caller (the command line checks it before
        it opens the atlas).

    Returns
    -------
    (BarrierResults, list of Path)
        The results and the files written.

    Examples
    --------
    >>> import tempfile
    >>> res, paths = run_barriers(Atlas.default(), tempfile.mkdtemp(), species=["khulan"],
    ...                           fragmentation=False, overwrite=True)
    >>> sorted(p.name for p in paths)  # doctest: +NORMALIZE_WHITESPACE
    ['barrier_lengths.csv', 'barrier_summary.md', 'classified_segments.gpkg',
     'km_by_country.png', 'km_by_species.png']
    """
    if staged is None:
        staged = StagedOutputs(out_dir, RUN_OUTPUTS, overwrite=overwrite, atlas=atlas,
                               required_bytes=ESTIMATED_BYTES).check()
    res = analyse_atlas(atlas, species=species, matrix=matrix, fragmentation=fragmentation,
                        progress=progress, include_planned=include_planned)
    with staged as folder:
        written = write_results(res, atlas, folder, overwrite=True)
    return res, [Path(out_dir) / staged.final(p).relative_to(staged.out) for p in written]
