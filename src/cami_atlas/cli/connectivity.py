"""``cami-atlas connectivity``: connectivity of one species' landscape in a DEM window.

Slope resistance from the atlas DEM, the species' barriers (expert matrix) burned in,
habitat cores (``--cores FILE`` or the automatic rule), then cost distance, least-cost
corridors, circuit current and pinch points, patch-graph indices (IIC, PC, ECA) and
the barrier segments ranked by the connectivity they cost
(:func:`cami_atlas.connectivity.workflow.run_connectivity`).

Examples
--------
::

    cami-atlas connectivity --species argali --bbox 70,40,80,44 --out conn/
    cami-atlas connectivity --species "snow leopard" --cores cores.gpkg --cell-size-m 2000 \\
        --borders-as-barriers "complete barrier" --border-pairs CHN-KGZ,CHN-KAZ \\
        --corridor-width-m 100000 --solver direct --out conn/ --overwrite

Outputs (in ``--out``)
----------------------
``resistance.tif``, ``cost_distance.tif``, ``corridors.tif``, ``current.tif``,
``pinch_points.tif`` (GeoTIFF, analysis CRS); ``connectivity.gpkg`` (layers ``cores``,
``least_cost_paths``, ``patch_graph_edges``, ``barrier_segments``);
``connectivity_indices.csv``, ``core_importance.csv``, ``link_importance.csv``,
``barrier_impact.csv``, ``effective_resistance.csv``, ``corridor_pairs.csv``;
``connectivity_parameters.json`` (options and notes).
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..atlas import Atlas
from ..connectivity.workflow import MODES, OUTPUTS, run_connectivity, write_connectivity
from ..errors import LayerReadError
from ..pipeline.staging import StagedOutputs
from ._common import (
    atlas_option,
    cell_size_option,
    max_memory_callback,
    overwrite_option,
    renamed_option,
    split_multi,
)
from ._logging import log

__all__ = ["connectivity"]

#: Free space asked for before the analysis (the window's size is known only after it).
ESTIMATED_BYTES = 1 << 20
#: Bytes per grid cell of the outputs: five float64 GeoTIFFs (checked before writing).
BYTES_PER_CELL = 5 * 8


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise LayerReadError(f"could not read the barrier table {path}: {exc}. It must be a CSV "
                             "with columns barrier_class,resistance (inf for impassable).") from exc


class _ConnectivityGroup(click.Group):
    """``connectivity`` runs the focal-point analysis itself; ``connectivity omniscape`` the
    wall-to-wall moving window (:mod:`cami_atlas.cli.omniscape`)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "omniscape":
            from .omniscape import omniscape

            return omniscape
        return None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return ["omniscape"]


@click.group("connectivity", cls=_ConnectivityGroup, invoke_without_command=True,
             subcommand_metavar="[omniscape ...]")
@atlas_option
@click.option("--species", "species", default=None,
              help="Species (atlas range name, matrix name or common name, e.g. 'argali'). "
                   "[required without a subcommand]")
@click.option("--bbox", default=None, metavar="LON0,LAT0,LON1,LAT1",
              help="Window in degrees (EPSG:4326); default the DEM's extent.")
@cell_size_option(5000.0, "Cell size of the analysis grid in metres.")
@click.option("--crs", default=None, help="Projected analysis CRS (default: UTM zone of the "
              "window's centre).")
@click.option("--dem", default="dem", show_default=True, help="Name of the DEM layer.")
@click.option("--cores", "cores_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Habitat cores (polygons or points, any vector format); "
              "default: the largest low-resistance patches of the species' range.")
@click.option("--cores-id-column", default=None, help="Id column of --cores.")
@click.option("--n-cores", type=int, default=6, show_default=True,
              help="Number of automatic cores.")
@click.option("--core-quantile", type=float, default=0.25, show_default=True,
              help="Automatic cores: share of the range's cells counted as low resistance.")
@click.option("--neighbours", type=int, default=8, show_default=True, help="4 or 8.")
@click.option("--solver", default="mixed", show_default=True,
              help="Circuit solver: mixed (float32 AMG preconditioner, float64 CG: the "
                   "fastest and leanest), amg (pyamg, its reference) or direct (exact; "
                   "small grids).")
@click.option("--burn-method", default="four_neighbour", show_default=True,
              help="How lines become cells: four_neighbour or all_touched.")
@click.option("--infrastructure", multiple=True,
              help="Infrastructure layers to burn in (repeat or comma-separated); default all.")
@click.option("--matrix", "matrix_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Your own barrier matrix CSV (default: the 2017 CAMI matrix).")
@click.option("--barrier-table", "table_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="CSV barrier_class,resistance: multiplier per class (default "
              "partial/unknown x10, complete impassable).")
@click.option("--borders-as-barriers", default=None, metavar="CLASS",
              help="Burn international borders in with this barrier class ('partial barrier', "
              "'complete barrier', ...), e.g. for fenced borders; default: borders are no "
              "barrier.")
@click.option("--border-pairs", multiple=True,
              help="Only these borders, ISO3 pairs such as CHN-KAZ, or CHN-* for all borders of "
              "China (repeat or comma-separated).")
@click.option("--max-cost-distance-m", "max_cost_distance", type=float, default=None,
              help="Corridors only between cores at most this cost apart, in cost-weighted "
              "metres (resistance x m, the unit of cost_distance.tif).")
@renamed_option("--max-cost-distance", "--max-cost-distance-m", "max_cost_distance",
                type=float)
@click.option("--corridor-width-m", "corridor_width", type=float, default=None,
              help="Corridor cut-off in cost-weighted metres (resistance x m, the unit of "
              "corridors.tif); needed for pinch points.")
@renamed_option("--corridor-width", "--corridor-width-m", "corridor_width", type=float)
@click.option("--dispersal-resistance", "dispersal_distance", type=float, default=None,
              help="Effective resistance (the unit of effective_resistance.csv) at which the "
              "dispersal probability is 0.5 (default: the median between cores).")
@renamed_option("--dispersal-distance", "--dispersal-resistance", "dispersal_distance",
                type=float)
@click.option("--modes", multiple=True,
              help=f"Analyses to run (repeat or comma-separated; default all): {', '.join(MODES)}.")
@click.option("--impact-segments", default="corridors", show_default=True,
              help="Barrier segments to rank (one circuit solve each): corridors (those that "
              "cut a least-cost corridor, plus impassable ones) or all (slow on large "
              "windows). Without the corridors mode, all.")
@click.option("--max-memory", default=None, metavar="SIZE", callback=max_memory_callback,
              help="Memory the rasters may use, e.g. 4GiB (default: the memory available); "
                   "a larger grid is refused, naming the smallest --cell-size-m that fits.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Output folder (created if missing).  [required without a "
                                 "subcommand]")
@overwrite_option
def connectivity(atlas_path: Path | None, species: str, bbox: str | None, cell_size_m: float,
                 crs: str | None, dem: str, cores_path: Path | None,
                 cores_id_column: str | None, n_cores: int, core_quantile: float,
                 neighbours: int, solver: str, burn_method: str,
                 infrastructure: tuple[str, ...], matrix_path: Path | None,
                 table_path: Path | None, borders_as_barriers: str | None,
                 border_pairs: tuple[str, ...], max_cost_distance: float | None,
                 corridor_width: float | None, dispersal_distance: float | None,
                 modes: tuple[str, ...], impact_segments: str, max_memory: int | None,
                 out_dir: Path | None, overwrite: bool) -> None:
    """Connectivity for one species: resistance, cost distance, corridors, current, pinch
    points, patch-graph indices and barrier segments ranked by connectivity cost.

    Writes GeoTIFFs, connectivity.gpkg and CSV tables into --out (see the module docs).
    `cami-atlas connectivity omniscape ...` makes wall-to-wall Omniscape maps instead.
    """
    ctx = click.get_current_context()
    if ctx.invoked_subcommand is not None:
        return
    for value, hint in ((species, "'--species'"), (out_dir, "'--out'")):
        if value is None:
            raise click.MissingParameter(ctx=ctx, param_type="option", param_hint=hint)
    staged = StagedOutputs(out_dir, OUTPUTS, overwrite=overwrite,
                           required_bytes=ESTIMATED_BYTES).check()
    atlas = Atlas.default() if atlas_path is None else Atlas.open(atlas_path)
    staged.atlas = atlas  # the layer versions used: atlas_versions.csv
    infra = split_multi(infrastructure)
    run_modes = tuple(split_multi(modes)) or MODES
    if impact_segments == "corridors" and "corridors" not in run_modes:
        impact_segments = "all"
    res = run_connectivity(
        atlas, species=species, bbox=bbox, cell_size_m=cell_size_m, crs=crs, dem=dem,
        infrastructure=infra or None, matrix=matrix_path,
        barrier_table=_read_table(table_path) if table_path is not None else None,
        burn_method=burn_method,  # type: ignore[arg-type]
        borders_as_barriers=borders_as_barriers,
        border_pairs=split_multi(border_pairs) or None,
        cores=cores_path if cores_path is not None else "auto", n_cores=n_cores,
        core_quantile=core_quantile, core_id_column=cores_id_column,
        neighbours=neighbours,  # type: ignore[arg-type]
        max_cost_distance=max_cost_distance, corridor_width=corridor_width,
        dispersal_distance=dispersal_distance, modes=run_modes,
        impact_segments=impact_segments, solver=solver,  # type: ignore[arg-type]
        progress=True, max_memory=max_memory)
    staged.need(int(np.prod(res.resistance.shape)) * BYTES_PER_CELL)
    with staged as folder:
        staged_paths = write_connectivity(res, folder, overwrite=True)
    written = [out_dir / staged.final(p).relative_to(staged.out) for p in staged_paths]
    for path in written:
        log.info(f"wrote {path}")
    rows, cols = res.resistance.shape
    log.info(f"{res.species}: {rows} x {cols} cells of {res.cell_size_m:g} m in "
               f"{res.crs.to_string()}, {len(res.cores)} cores, {len(res.segments)} barrier "
               "segments")
    if res.indices is not None:
        log.info(f"ECA {res.indices['ECA']:,.1f} (core attribute units), PC "
                   f"{res.indices['PC']:.4g}, IIC {res.indices['IIC']:.4g}")
    if res.ranked_segments is not None:
        top = res.ranked_segments[res.ranked_segments["impact_evaluated"]].head(3)
        col = "delta_eca" if "delta_eca" in top.columns else "delta_conductance"
        for r in top.itertuples():
            value = getattr(r, col)
            log.info(f"  rank {r.rank}: {r.segment_id} ({r.infra_type}, {r.barrier_class}, "
                       f"{r.length_km:.0f} km) {col} {value:+.4g}"
                       if np.isfinite(value) else f"  rank {r.rank}: {r.segment_id}")
    for note in res.notes:
        log.info(f"note: {note}")
    log.info(f"done: {len(written)} files in {out_dir}")
