"""``cami-atlas screen-route``: screen a proposed line (or compare alternatives) for EIA."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from ..pipeline.staging import StagedOutputs
from ._common import (
    atlas_option,
    basemap_option,
    cell_size_option,
    km_to_m,
    out_option,
    overwrite_option,
    pdf_option,
    renamed_option,
    species_option,
    split_multi,
)
from ._logging import log

#: Free space asked for before screening (the default route's outputs are about 6 MB).
ESTIMATED_BYTES = 10 << 20


def _attributes(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise click.BadParameter(
                f"{item!r} is not KEY=VALUE; e.g. --attr track=double --attr fenced=yes.",
                param_hint="--attr")
        out[key.strip()] = value.strip()
    return out


def _buffers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of km, e.g. 1,10,50.",
                                 param_hint="--buffers-km") from None


#: Files --alternatives adds (see :func:`cami_atlas.pipeline.screening.write_alignments`).
ALIGNMENT_OUTPUTS = ("alignments.gpkg", "alignments.csv", "alignment_front.png",
                     "impact_surface.tif", "construction_cost.tif")


def _lonlat(text: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not LON,LAT in degrees, e.g. 67.5,48.1.",
                                 param_hint="--via") from None
    return lon, lat


def _tradeoffs(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of numbers in "
                                 "[0, 1], e.g. 0,0.5,1.", param_hint="--tradeoff") from None


def _command(params: dict) -> str:
    args = ["cami-atlas", "screen-route", *[str(r) for r in params["routes"]],
            "--type", params["infra_type"]]
    for a in params["attrs"]:
        args += ["--attr", a]
    args += ["--out", str(params["out_dir"])]
    if params["atlas_path"]:
        args += ["--atlas", str(params["atlas_path"])]
    for s in params["species"]:
        args += ["--species", s]
    args += ["--buffers-km", params["buffers_km"], "--cell-size-m",
             f"{params['cell_size_m']:g}"]
    if params.get("catalogue_path"):
        args += ["--catalogue", str(params["catalogue_path"])]
    for flag in ("overwrite", "pdf"):
        if params[flag]:
            args.append(f"--{flag}")
    if not params["connectivity"]:
        args.append("--no-connectivity")
    if params.get("alternatives"):
        args += ["--alternatives", "--tradeoff", params["tradeoffs"],
                 "--alignment-cell-size-m", f"{params['alignment_cell_size_m']:g}",
                 "--window-km", f"{params['window_km']:g}"]
        for v in params["via"]:
            args += ["--via", v]
    if not params["basemap"]:
        args.append("--no-basemap")
    return shlex.join(args)


@click.command("screen-route")
@click.argument("routes", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "infra_type", required=True,
              help="Type of the proposed line: road, railway, fence, pipeline (or canal, "
                   "power_line, other).")
@click.option("--attr", "attrs", multiple=True, metavar="KEY=VALUE",
              help="Attribute of the line for the barrier matrix (repeat): track=double, "
                   "train_speed=high, road_class=highway, fenced=yes, fence_type=woven, ...")
@out_option
@atlas_option
@species_option
@click.option("--buffers-km", default="1,10,50", show_default=True,
              help="Buffer distances (km) for the share of each range near the route.")
@cell_size_option(2500.0, "Cell size of the connectivity raster in metres (coarse: "
                  "screening).")
@renamed_option("--cell-size-km", "--cell-size-m", "cell_size_m", convert=km_to_m, type=float)
@click.option("--connectivity/--no-connectivity", default=True, show_default=True,
              help="Model connectivity loss and crossing candidates (the slowest step).")
@click.option("--scenario-column", default="scenario", show_default=True,
              help="Column of a single route file that names alternative alignments.")
@click.option("--catalogue", "catalogue_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mitigation catalogue CSV whose measures are proposed per segment and "
                   "species (default: the catalogue shipped with cami_atlas).")
@click.option("--alternatives", is_flag=True,
              help="Also find least-impact alternative alignments between the route's end "
                   "points (one route), and screen them side by side with it.")
@click.option("--tradeoff", "tradeoffs", default="0,0.25,0.5,0.75,1", show_default=True,
              help="Alternatives: trade-offs between construction cost (0) and impact (1); "
                   "the Pareto front of their paths is kept.")
@click.option("--via", "via", multiple=True, metavar="LON,LAT",
              help="Alternatives: a point every alternative passes through (repeat, in "
                   "order).")
@click.option("--alignment-cell-size-m", default=5000.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Alternatives: cell size of the impact and construction-cost surfaces.")
@click.option("--window-km", default=100.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Alternatives: margin around the route searched for alternatives.")
@basemap_option
@overwrite_option
@pdf_option
@click.pass_context
def screen_route(ctx: click.Context, routes: tuple[Path, ...], infra_type: str,
                 attrs: tuple[str, ...], out_dir: Path, atlas_path: Path | None,
                 species: tuple[str, ...], buffers_km: str, cell_size_m: float,
                 connectivity: bool, scenario_column: str, catalogue_path: Path | None,
                 alternatives: bool, tradeoffs: str, via: tuple[str, ...],
                 alignment_cell_size_m: float, window_km: float,
                 basemap: bool, overwrite: bool, pdf: bool) -> None:
    """Screen a proposed road, railway, pipeline or fence against the atlas.

    ROUTES: one or more line files in any supported format and CRS (GeoJSON, GeoPackage,
    Shapefile, ...). One file screens one alignment; several files (or one file with a
    `scenario` column) also write a side-by-side comparison.

    Writes into --out: route_segments.geojson and crossing_candidates.geojson (RFC 7946),
    screening.gpkg, CSV tables, screening_map.html and screening_report.html (+ .pdf).

    With --alternatives (one route): least-impact alignments between its end points
    (and --via points) over an impact surface of the species' ranges, corridors and
    protected areas (weighted by barrier class and Red List status) and a construction
    cost (length, slope), one per --tradeoff, kept on the Pareto front of length against
    impact; they are screened with the original and compared side by side, and
    alignments.gpkg, alignments.csv, alignment_front.png, impact_surface.tif and
    construction_cost.tif are written too.

    Example: cami-atlas screen-route rail.geojson --type railway --attr track=double
    --attr fenced=yes --out screening/
    """
    from ..atlas import Atlas
    from ..io import read_vector
    from ..pipeline.screening import write_comparison
    from ..planning.catalogue import load_catalogue
    from ..screening import compare_routes
    from ..screening import screen_route as screen
    from ..screening.compare import split_scenarios
    from ..screening.export import output_names
    from ..screening.route import check_route

    attributes = _attributes(attrs)
    buffers = _buffers(buffers_km)
    catalogue = load_catalogue(catalogue_path)  # a bad catalogue fails before any work
    atlas = Atlas.open(atlas_path) if atlas_path else Atlas.default()
    chosen = split_multi(species) or None
    command = _command(ctx.params)

    layers = {}
    paths = {}
    for path in routes:
        gdf = read_vector(path)
        check_route(gdf, atlas.region, what=f"route file {path}")
        if len(routes) == 1 and scenario_column in gdf.columns and \
                gdf[scenario_column].nunique() > 1:
            for name, sub in split_scenarios(gdf, scenario_column).items():
                layers[name] = sub
                paths[name] = path
        else:
            name = path.stem if path.stem not in layers else f"{path.stem}_{len(layers) + 1}"
            layers[name] = gdf
            paths[name] = path
    result = None
    if alternatives:
        if len(layers) != 1:
            raise click.UsageError("--alternatives works on one route (one file, one "
                                   "scenario); give a single alignment.")
        from ..planning.alignment import alternative_alignments

        name, gdf = next(iter(layers.items()))
        result = alternative_alignments(
            gdf, atlas, infra_type=infra_type, attributes=attributes,
            via=[_lonlat(v) for v in via], tradeoffs=_tradeoffs(tradeoffs),
            cell_size_m=alignment_cell_size_m, window_km=window_km, species=chosen)
        layers = {row.name: result.alternatives.iloc[[i]][["name", "geometry"]]
                  for i, row in enumerate(result.alternatives.itertuples(index=False))}
        paths = {n: paths[name] for n in layers}
    options = dict(infra_type=infra_type, attributes=attributes, buffers_km=buffers,
                   species=chosen, connectivity=connectivity,
                   cell_size_m=cell_size_m, catalogue=catalogue)
    tiles = "OpenStreetMap" if basemap else None
    if len(layers) == 1:
        name, gdf = next(iter(layers.items()))
        staged = StagedOutputs(out_dir, output_names(pdf=True), overwrite=overwrite, atlas=atlas,
                               required_bytes=ESTIMATED_BYTES).check()
        result = screen(gdf, atlas, name=name, route_path=paths[name], **options)
        from ..pipeline.screening import write_screening

        with staged as folder:
            written = write_screening(result, folder, overwrite=True, pdf=pdf,
                                      basemap=tiles, command=command)
        alerts = int((result.flags["level"] == "alert").sum())
        log.info(f"screened {name}: {result.route['length_km'].sum():,.1f} km, "
                   f"{int((result.species['km_in_range_or_corridor'] > 0).sum())} species' "
                   f"ranges crossed, {alerts} alert(s)")
    else:
        top = ["comparison.csv", "comparison_species.csv", "comparison_map.html",
               "comparison_report.html"] + (["comparison_report.pdf"] if pdf else []) + \
            (list(ALIGNMENT_OUTPUTS) if result is not None else [])
        names = [*top, *(["comparison_report.pdf"] if not pdf else []),
                 *(f"{name}/{n}" for name in layers for n in output_names(pdf=True))]
        staged = StagedOutputs(out_dir, names, overwrite=overwrite, atlas=atlas,
                               required_bytes=ESTIMATED_BYTES * len(layers)).check()
        comparison = compare_routes(layers, atlas, route_paths=paths, **options)
        with staged as folder:
            written = write_comparison(comparison, folder, overwrite=True, pdf=pdf,
                                       basemap=tiles, command=command)
            if result is not None:
                from ..pipeline.screening import write_alignments

                written += write_alignments(result, folder, overwrite=True)
        log.info(f"compared {len(layers)} alignments: {', '.join(layers)}")
    for p in written:
        log.info(f"wrote {out_dir / staged.final(p).relative_to(staged.out)}")
