"""``cami-atlas run``: the main job on an atlas (by default the embedded one).

The job is a list of steps (:data:`STEPS`), each a function of a :class:`RunContext`
that writes its own outputs into the output folder and may add sections to the
summary; :data:`SUMMARY_STEP` runs last and writes ``summary.md`` and
``summary.txt`` from those sections. An analysis adds itself by appending a
:class:`Step` to :data:`STEPS`::

    STEPS.append(Step("barriers", ("barrier_lengths.csv",), barrier_step,
                      "km of infrastructure by species and barrier class"))

The mechanism (:class:`~cami_atlas.pipeline.Step`, :class:`~cami_atlas.pipeline.Section`,
:class:`~cami_atlas.pipeline.StepContext`, :func:`~cami_atlas.pipeline.run_steps`) lives
in :mod:`cami_atlas.pipeline`, with the barrier and hotspot steps; this module holds the
steps of the main job and the command. All outputs of all steps are checked before
anything is written: if one exists and ``--overwrite`` is not given, the job stops and
writes nothing. Steps write into a staging folder beside the output folder, which
replaces the old set only when every step has succeeded, so a failed or killed run
leaves the old outputs as they were and no partial set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from .. import __version__
from .._atomic import atomic_path, write_text_atomic
from ..atlas import Atlas, layer_summary
from ..errors import SchemaError
from ..measure import area_km2, geodesic_length_km
from ..pipeline import barriers as _barriers
from ..pipeline import hotspots as _hotspots
from ..pipeline.finish import write_quicklooks
from ..pipeline.progress import ProgressFactory, rich_progress
from ..pipeline.steps import RunContext, Section, Step
from ..pipeline.steps import run_steps as _run_steps
from ..report.quicklook import contact_sheet_markdown
from ._common import atlas_option, out_option, overwrite_option, species_option, split_multi
from ._logging import log
from .layers import format_table

__all__ = ["STEPS", "SUMMARY_STEP", "RunContext", "Section", "Step", "choose_species", "run",
           "run_steps", "with_connectivity_maps"]


# -- steps ------------------------------------------------------------------------------------
def validate_step(ctx: RunContext) -> None:
    """Validate every layer of the atlas; stop the job if one fails."""
    report = ctx.atlas.validate()
    ctx.results["validation"] = report
    bad = report[~report["ok"]]
    if len(bad):
        first = bad.iloc[0]
        raise SchemaError(
            f"{len(bad)} of {len(report)} layer(s) of the atlas failed validation "
            f"({', '.join(bad['name'])}); first: {first['problem']}")
    ctx.echo(f"validated {len(report)} layers of atlas {ctx.atlas.name!r}")


def layers_step(ctx: RunContext) -> None:
    """Write ``layers.csv``: one row per layer with features, CRS, length and area.

    The CSV holds the figures at full precision (floats round-trip); only the summary
    table rounds them for reading.
    """
    summary = layer_summary(ctx.atlas)
    ctx.results["layers"] = summary
    path = ctx.path("layers.csv")
    with atomic_path(path, overwrite=ctx.overwrite) as tmp:
        summary.to_csv(tmp, index=False)
    ctx.wrote(path)

    shown = summary[["name", "kind", "n_features", "length_km", "area_km2", "licence"]].copy()
    shown["length_km"] = shown["length_km"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    shown["area_km2"] = shown["area_km2"].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    shown = shown.rename(columns={"n_features": "features"})
    ctx.sections.append(Section(
        "Layers",
        ["Lengths are geodesic on WGS84; areas in ESRI:102025 (Asia North Albers Equal Area). "
         "For the raster, features = cells."],
        shown))

    infra = ctx.atlas.read_kind("infrastructure", crs="EPSG:4326")
    if len(infra):
        infra = infra.assign(length_km=geodesic_length_km(infra))
        by_type = (infra.groupby(["layer", "infra_type"], sort=False)["length_km"]
                   .agg(["size", "sum"]).reset_index()
                   .rename(columns={"size": "features", "sum": "length_km"}))
        ctx.results["infrastructure_km"] = by_type
        by_type["length_km"] = by_type["length_km"].map(lambda v: f"{v:,.0f}")
        ctx.sections.append(Section("Linear infrastructure in the atlas", [], by_type))

    ranges = ctx.atlas.read_kind("species_range")
    if len(ranges):
        ranges = ranges.assign(area_km2=area_km2(ranges))
        cols = ["species"] + (["common_name"] if "common_name" in ranges else [])
        table = ranges.groupby(cols, sort=False, dropna=False)["area_km2"].sum().reset_index()
        ctx.results["species_range_km2"] = table
        table["area_km2"] = table["area_km2"].map(lambda v: f"{v:,.0f}")
        ctx.sections.append(Section("Species ranges", [], table))

    absent = [k for k in ("corridor", "protected_area", "tracks")
              if not ctx.atlas.layer_names(k)]
    if absent:
        ctx.sections.append(Section("Optional layers not in this atlas", [
            f"No {', '.join(absent)} layer(s): analyses that use them are skipped. Add your own "
            "with `cami-atlas layers import SOURCE --kind KIND --atlas ATLAS.gpkg`."]))


def overview_map_step(ctx: RunContext) -> None:
    """Write ``overview_map.html``: a self-contained Leaflet map of the atlas (with the
    normalized current of each species when ``--connectivity-maps`` ran before it)."""
    from ..maps import add_raster, overview_map, save_map

    path = ctx.path("overview_map.html")
    m = overview_map(ctx.atlas)
    for i, (name, grid) in enumerate(ctx.results.get("connectivity_maps", {}).items()):
        add_raster(m, grid, name=f"{name.replace('_', ' ')}: normalized current",
                   cmap="RdBu_r", vmin=0.0, vmax=2.0, opacity=0.75, show=i == 0,
                   caption="normalized current (<1 impeded, 1 diffuse, >1 channelled; "
                           "Omniscape)")
    save_map(m, path, self_contained=True, overwrite=ctx.overwrite)
    ctx.wrote(path)


def summary_step(ctx: RunContext) -> None:
    """Write ``summary.md`` and ``summary.txt`` from the sections of all steps."""
    atlas = ctx.atlas
    minx, miny, maxx, maxy = atlas.region.bounds
    head = Section("Atlas", [
        f"Atlas {atlas.name!r} ({atlas.path or 'in memory'}), {len(atlas)} layers, "
        f"analysed with cami_atlas {__version__}.",
        f"Region lon {minx:g}..{maxx:g}, lat {miny:g}..{maxy:g} (EPSG:4326); analysis CRS "
        f"{atlas.analysis_crs.to_string()}."])
    if ctx.options.get("species"):
        head.paragraphs.append("Barrier and hotspot analyses restricted to "
                               f"{', '.join(ctx.options['species'])} (--species).")
    info = [atlas.layer_info(n) for n in atlas.layer_names()]
    sources = pd.DataFrame([{"layer": i["name"], "source": i["source"],
                             "licence": i["licence"], "attribution": i["attribution"]}
                            for i in info])
    tail = Section("Data sources and licences", [
        "Full provenance, processing and limitations of the embedded layers: "
        "data/layers/SOURCES.md in the cami_atlas repository."], sources)
    for png in write_quicklooks(ctx.out_dir):  # the rasters of all steps, for the sheet
        ctx.wrote(png)
    pngs = sorted(p for p in ctx.out_dir.rglob("*.png")
                  if not any(part.startswith(".") for part in p.relative_to(ctx.out_dir).parts))
    rel = [p.relative_to(ctx.out_dir).as_posix() for p in pngs]
    outputs = sorted({p.relative_to(ctx.out_dir).as_posix() if p.is_relative_to(ctx.out_dir)
                      else p.name for p in ctx.written} | {"summary.md", "summary.txt"})
    files = Section("Outputs", [", ".join(outputs) + ". project.qgz opens every layer, "
                                "styled, in QGIS."])
    sheet_md = Section("Contact sheet", [contact_sheet_markdown(pngs, ctx.out_dir)]
                       if pngs else ["No figure or raster in this run."])
    sheet_txt = Section("Figures", [", ".join(rel) if rel else "none"])
    title = "cami_atlas run summary"
    write_text_atomic(ctx.path("summary.md"),
                      _markdown(title, [head, *ctx.sections, sheet_md, tail, files]),
                      overwrite=ctx.overwrite)
    ctx.wrote(ctx.path("summary.md"))
    write_text_atomic(ctx.path("summary.txt"),
                      _plain(title, [head, *ctx.sections, sheet_txt, tail, files]),
                      overwrite=ctx.overwrite)
    ctx.wrote(ctx.path("summary.txt"))


def _md_cell(value: object) -> str:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for sec in sections:
        lines += [f"## {sec.title}", ""]
        for par in sec.paragraphs:
            lines += [par, ""]
        if sec.table is not None and len(sec.table):
            cols = [str(c) for c in sec.table.columns]
            lines.append("| " + " | ".join(cols) + " |")
            lines.append("|" + "|".join("---" for _ in cols) + "|")
            lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |"
                      for row in sec.table.itertuples(index=False)]
            lines.append("")
    return "\n".join(lines)


def _plain(title: str, sections: list[Section]) -> str:
    lines = [title, "=" * len(title), ""]
    for sec in sections:
        lines += [sec.title, "-" * len(sec.title)]
        lines += sec.paragraphs
        if sec.table is not None and len(sec.table):
            lines.append(format_table(sec.table, width=80))
        lines.append("")
    return "\n".join(lines)


#: The steps of the main job, in order (analyses append theirs).
STEPS: list[Step] = [
    Step("validate", (), validate_step, "validate every layer of the atlas"),
    Step("layers", ("layers.csv",), layers_step, "layer summary with lengths and areas",
         reads=("infrastructure", "species_range", "corridor", "protected_area", "tracks")),
    _barriers.STEP,
    Step("overview_map", ("overview_map.html",), overview_map_step,
         "self-contained overview map", reads=("infrastructure", "species_range", "country")),
    _hotspots.STEP,
]
#: The last step: the summary of everything the other steps found.
SUMMARY_STEP = Step("summary", ("summary.md", "summary.txt"), summary_step,
                    "summary in Markdown and plain text")


#: Size of the outputs of the main job on the default atlas (27 MB), with room.
ESTIMATED_BYTES = 40 << 20


def run_steps(atlas: Atlas, out_dir: str | Path, *, overwrite: bool = False,
              steps: list[Step] | None = None,
              echo: Callable[[str], None] = log.info,
              progress: ProgressFactory = rich_progress,
              on_step: Callable[[int, int, Step], None] | None = None,
              species: list[str] | None = None, connectivity_maps: bool = False,
              connectivity_cell_size_m: float | None = None,
              scheduler: str | None = None) -> RunContext:
    """Run ``steps`` (default :data:`STEPS`) and the summary on ``atlas`` into ``out_dir``.

    :func:`cami_atlas.pipeline.run_steps` with :data:`SUMMARY_STEP` appended: every
    output of every step is checked first; if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written; the
    outputs replace the old set only when every step has succeeded.

    ``species`` (names, synonyms or common names; see :func:`choose_species`) restricts
    the barrier and hotspot steps (and the connectivity maps) to those species.

    ``connectivity_maps`` adds the Omniscape maps of every species with a movement scale
    (:mod:`cami_atlas.pipeline.connectivity_maps`) before the overview map, at
    ``connectivity_cell_size_m`` (default 10 km), on the Dask ``scheduler`` if given.

    Returns
    -------
    RunContext
        With ``results`` (tables computed by the steps) and ``written`` (paths).
    """
    chosen = [*(STEPS if steps is None else steps), SUMMARY_STEP]
    if connectivity_maps:
        chosen = with_connectivity_maps(chosen)
    options: dict[str, object] = ({"species": choose_species(atlas, species)} if species
                                  else {})
    options.update(connectivity_cell_size_m=connectivity_cell_size_m, scheduler=scheduler)
    return _run_steps(atlas, out_dir, steps=chosen, overwrite=overwrite, echo=echo,
                      progress=progress, on_step=on_step, required_bytes=ESTIMATED_BYTES,
                      options=options)


def with_connectivity_maps(steps: list[Step]) -> list[Step]:
    """``steps`` with the connectivity-maps step before the overview map (which draws
    its layers), or before the summary.

    Examples
    --------
    >>> names = [s.name for s in with_connectivity_maps([*STEPS, SUMMARY_STEP])]
    >>> names[names.index("connectivity_maps") + 1]
    'overview_map'
    """
    from ..pipeline.connectivity_maps import STEP

    names = [s.name for s in steps]
    at = names.index("overview_map") if "overview_map" in names else len(steps) - 1
    return [*steps[:at], STEP, *steps[at:]]


def choose_species(atlas: Atlas, wanted: list[str]) -> list[str]:
    """The atlas' range species meant by ``wanted`` (scientific names, synonyms or common
    names such as ``"saiga"``, ``"khulan"``), in the order given.

    Raises
    ------
    UnknownSpeciesError
        A name matches no species with a range in the atlas (the message lists them).

    Examples
    --------
    >>> choose_species(Atlas.default(), ["khulan", "Saiga tatarica"])
    ['Equus_hemionus', 'Saiga_tatarica']
    """
    from ..errors import UnknownSpeciesError
    from ..hotspots.analysis import select_species

    ranges = atlas.read_kind("species_range")
    if not len(ranges):
        raise UnknownSpeciesError(
            f"--species {', '.join(wanted)}: atlas {atlas.name!r} has no species_range layer "
            "to choose from; leave out --species or add ranges with `cami-atlas layers "
            "import FILE --kind species_range --atlas ATLAS.gpkg`.")
    return select_species(ranges["species"].astype(str).unique(), wanted)


@click.command("run")
@out_option
@atlas_option
@species_option
@overwrite_option
@click.option("--connectivity-maps", is_flag=True,
              help="Also map every species with a cited movement scale with Omniscape "
                   "(connectivity/<Species>/ and a layer of overview_map.html).")
@click.option("--connectivity-cell-size-m", type=float, default=10_000.0, show_default=True,
              help="Cell size of the connectivity maps (finer: slower; species whose radius "
                   "is under 3 cells are skipped with a note).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run the connectivity maps tiled on this Dask scheduler.")
def run(out_dir: Path, atlas_path: Path | None, species: tuple[str, ...],
        overwrite: bool, connectivity_maps: bool, connectivity_cell_size_m: float,
        scheduler: str | None) -> None:
    """Run the main job: validate the atlas, summarise its layers, draw the overview map.

    Writes layers.csv, the barrier analysis (barrier_lengths.csv, classified_segments.gpkg,
    fragmentation.csv, barrier_summary.md), summary.md, summary.txt, overview_map.html and
    the barrier-hotspot grid, map and report (hotspot_*.gpkg/.csv/.html) into --out.

    Every analysis the atlas' layers allow is run: with corridor layers the barrier step
    also counts corridor crossings, with tracks the crossings of GPS tracks; what is
    skipped is said in summary.md. --species restricts the barrier and hotspot steps to
    those species (scientific names, synonyms or common names such as saiga, khulan).

    --connectivity-maps adds region-wide Omniscape maps (connectivity/<Species>/: three
    GeoTIFFs, settings, PNG quick-look) of every species with a cited movement scale, at
    --connectivity-cell-size-m (default 10 km: minutes on 2 cores), tiled on Dask with
    --scheduler; their normalized current is a layer of overview_map.html.
    """
    from ..errors import OptionError
    from ..pipeline.staging import StagedOutputs

    if not connectivity_maps and scheduler is not None:
        raise OptionError("--scheduler runs the connectivity maps; give --connectivity-maps "
                          "with it.")
    if not connectivity_cell_size_m > 0:
        raise OptionError(f"--connectivity-cell-size-m must be > 0; got "
                          f"{connectivity_cell_size_m}.")
    steps = [*STEPS, SUMMARY_STEP]
    if connectivity_maps:
        steps = with_connectivity_maps(steps)
    names = [o for s in steps for o in s.outputs]
    StagedOutputs(out_dir, names, overwrite=overwrite, required_bytes=ESTIMATED_BYTES).check()
    atlas = Atlas.default() if atlas_path is None else Atlas.open(atlas_path)
    chosen = split_multi(species) or None
    if chosen:  # an unknown name fails here, before any step
        chosen = choose_species(atlas, chosen)

    def announce(i: int, n: int, step: Step) -> None:
        log.info(f"[{i}/{n}] {step.name}: {step.description}")

    ctx = run_steps(atlas, out_dir, overwrite=overwrite, on_step=announce, species=chosen,
                    connectivity_maps=connectivity_maps,
                    connectivity_cell_size_m=connectivity_cell_size_m, scheduler=scheduler)
    log.info(f"done: {len(ctx.written)} files in {out_dir}")
