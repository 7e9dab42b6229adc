"""``cami-atlas hotspots``: barrier-hotspot grid, map and report of an atlas.

Examples
--------
::

    cami-atlas hotspots --out hotspots/
    cami-atlas hotspots --atlas my_atlas.gpkg --species saiga --species khulan \\
        --cell-size-m 25000 --permutations 999 --out out/ --pdf --overwrite

Outputs (in ``--out``)
----------------------
``hotspot_cells.gpkg``     cells (score, Gi*, km by class, species, border), top segments,
                           transboundary hot cells; equal-area CRS of the atlas
``hotspot_cells.csv``      the cells without geometry, with centroid lon/lat
``hotspot_segments.csv``   the ranked segments
``mitigation_proposals.csv`` catalogue measures per ranked segment and species
``hotspot_map.html``       self-contained interactive map (opens without internet; with
                           ``--no-basemap`` it has no basemap and makes no request at all)
``hotspot_report.html``    report (summary, map, top hotspots and segments, transboundary
                           hotspots, one factsheet page per species, sources, parameters)
``hotspot_report.pdf``     with ``--pdf`` (needs the ``pdf`` extra: WeasyPrint + Pango)
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from click.core import ParameterSource

from ..atlas import Atlas
from ..pipeline.hotspots import (
    ESTIMATED_BYTES,
    RUN_CELL_KM,
    RUN_OUTPUTS,
    hotspots_run_step,
    progress_bar,
    run_hotspots,
)
from ..pipeline.progress import rich_progress
from ..pipeline.staging import StagedOutputs
from ..report.hotspots import output_names
from ._common import (
    atlas_option,
    basemap_option,
    cell_size_option,
    km_to_m,
    max_memory_callback,
    out_option,
    overwrite_option,
    pdf_option,
    renamed_option,
    split_multi,
)
from ._logging import log

# the run step moved to cami_atlas.pipeline.hotspots; these names stay importable from here
__all__ = ["RUN_CELL_KM", "RUN_OUTPUTS", "hotspots", "hotspots_run_step", "progress_bar"]


def _command_line(ctx: click.Context) -> str:
    """The command as it could be typed again (options that differ from their default)."""
    parts = ["cami-atlas", ctx.info_name or "hotspots"]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name not in ctx.params:
            continue
        value = ctx.params[param.name]
        if (ctx.get_parameter_source(param.name) is ParameterSource.DEFAULT
                or value in (None, ())
                or (value is False and not getattr(param, "secondary_opts", None))):
            continue
        flag = param.opts[0]
        if param.is_flag:
            parts.append(flag if value else param.secondary_opts[0])
        else:
            for v in value if isinstance(value, tuple) else (value,):
                parts += [flag, shlex.quote(str(v))]
    return " ".join(parts)


@click.command("hotspots")
@atlas_option
@click.option("--species", "species", multiple=True,
              help="Species (repeat, or comma-separated; names in the atlas or synonyms such "
                   "as 'saiga'); default: all with a range in the atlas.")
@cell_size_option(25000.0, "Cell size in metres: each cell covers (cell-size-m / 1000)² "
                  "km² (25000: 625 km²).")
@renamed_option("--cell-km", "--cell-size-m", "cell_size_m", convert=km_to_m, type=float)
@click.option("--shape", type=click.Choice(["hexagon", "square"]), default="hexagon",
              show_default=True, help="Cell shape.")
@click.option("--permutations", type=click.IntRange(min=0), default=999, show_default=True,
              help="Gi* conditional permutations (0: normal p-values).")
@click.option("--seed", type=int, default=12345, show_default=True,
              help="Random seed of the permutations.")
@click.option("--alpha", type=click.Choice(["0.01", "0.05", "0.1"]), default="0.05",
              show_default=True, callback=lambda _ctx, _param, value: float(value),
              help="Gi* significance level.")
@click.option("--border-km", type=click.FloatRange(min=0), default=50.0, show_default=True,
              help="Hot cells this close to a border are transboundary (geodesic km).")
@click.option("--weights", "weights_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Your own hotspot weights CSV (default: the shipped table).")
@click.option("--matrix", "matrix_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Your own barrier matrix CSV (default: the 2017 CAMI matrix).")
@click.option("--top", type=click.IntRange(min=1), default=25, show_default=True,
              help="Segments listed in the ranking.")
@click.option("--catalogue", "catalogue_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Mitigation catalogue CSV whose measures are proposed per ranked segment "
                   "and species (default: the catalogue shipped with cami_atlas).")
@pdf_option
@click.option("--max-memory", default=None, metavar="SIZE", callback=max_memory_callback,
              help="Memory the grid may use, e.g. 4GiB (default: the memory available); "
                   "a larger grid is refused, naming the smallest --cell-size-m that fits.")
@basemap_option
@out_option
@overwrite_option
def hotspots(atlas_path: Path | None, species: tuple[str, ...], cell_size_m: float,
             shape: str, permutations: int, seed: int, alpha: float, border_km: float,
             weights_path: Path | None, matrix_path: Path | None, top: int, pdf: bool,
             max_memory: int | None, basemap: bool, out_dir: Path, overwrite: bool,
             catalogue_path: Path | None = None) -> None:
    """Barrier hotspots: equal-area cells scored by barrier pressure, Gi* hot spots,
    transboundary hotspots, the segments that matter most; a map and a report.

    Writes hotspot_cells.gpkg, hotspot_cells.csv, hotspot_segments.csv,
    mitigation_proposals.csv, hotspot_map.html
    and hotspot_report.html (+ .pdf with --pdf) into --out.
    """
    cell_km = cell_size_m / 1000.0
    from ..errors import LayerReadError

    for what, path in (("--weights", weights_path), ("--matrix", matrix_path)):
        if path is not None and not path.is_file():
            raise LayerReadError(f"{what} {path} does not exist; give the path of a CSV file.")
    staged = StagedOutputs(out_dir, output_names(pdf=True), overwrite=overwrite,
                           required_bytes=ESTIMATED_BYTES).check()
    atlas = Atlas.default() if atlas_path is None else Atlas.open(atlas_path)
    staged.atlas = atlas  # the layer versions used: atlas_versions.csv
    analysis, written = run_hotspots(
        atlas, out_dir, overwrite=overwrite, pdf=pdf, offline=not basemap,
        command=_command_line(click.get_current_context()), progress=rich_progress,
        staged=staged, species=split_multi(species) or None, cell_km=cell_km, shape=shape,
        permutations=permutations, seed=seed, alpha=alpha, border_distance_km=border_km,
        weights=weights_path, matrix=matrix_path, top_n=top, max_memory=max_memory,
        catalogue=catalogue_path)
    cells = analysis.cells
    n_hot = int(cells["gi_class"].str.startswith("hot").sum())
    log.info(f"{len(cells):,} cells of {cell_km:g} km, {n_hot:,} hot-spot cells, "
               f"{len(analysis.species)} species")
    for path in written:
        log.info(f"wrote {path}")

