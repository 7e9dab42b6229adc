"""``cami-atlas scenarios``: cumulative impact of planned-infrastructure scenarios.

Examples
--------
::

    cami-atlas scenarios --scenarios scenarios.csv --out scen/
    cami-atlas scenarios --scenario "A=line_a.geojson" \\
        --scenario "AB=line_a.geojson,line_b.geojson" \\
        --species Equus_hemionus --out scen/ --overwrite

Scenario file and option formats: see ``docs/planning.md``. Outputs: see
:mod:`cami_atlas.pipeline.scenarios`.
"""

from __future__ import annotations

from pathlib import Path

import click
import geopandas as gpd

from ..atlas import Atlas
from ..errors import LayerReadError, SchemaError
from ..pipeline.scenarios import OUTPUTS, run_scenarios
from ..pipeline.staging import StagedOutputs
from ..planning import parse_scenario_option, read_scenario_file
from ._common import atlas_option, out_option, overwrite_option, split_multi
from ._logging import log

__all__ = ["scenarios"]


def _read(path: Path | None, what: str) -> gpd.GeoDataFrame | None:
    if path is None:
        return None
    try:
        return gpd.read_file(path)
    except Exception as e:  # GDAL raises many types for a bad file
        raise LayerReadError(f"cannot read {what} file {str(path)!r}: {e}.") from e


@click.command("scenarios")
@atlas_option
@click.option(
    "--scenarios",
    "scenario_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV with columns scenario, project, route (docs/planning.md).",
)
@click.option(
    "--scenario",
    "scenario_opts",
    multiple=True,
    help="NAME=route.geojson[,route2.gpkg] or NAME=@atlas project (repeat).",
)
@click.option(
    "--species",
    "species",
    multiple=True,
    help="Species to report (names as in the atlas ranges; repeat or comma-separate).",
)
@click.option(
    "--crossings",
    "crossings_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Crossing structures (points with species, structure_type): "
    "adds the residual loss after mitigation (offset).",
)
@click.option(
    "--cores",
    "cores_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Habitat cores (with area_km2, species) for ECA and effective conductance.",
)
@click.option(
    "--cell-size-km",
    type=float,
    default=20.0,
    show_default=True,
    help="Cell size of the coarse resistance grid (with --cores).",
)
@click.option(
    "--dispersal-distance",
    type=float,
    default=10.0,
    show_default=True,
    help="Effective resistance (cells) at which dispersal probability is 0.5.",
)
@click.option(
    "--omniscape-radius-km",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Adds the mean cumulative Omniscape current over each range (window radius in "
    "km) on the coarse grid (of --cores, else over the projects' extent).",
)
@out_option
@overwrite_option
def scenarios(
    atlas_path: Path | None,
    scenario_file: Path | None,
    scenario_opts: tuple[str, ...],
    species: tuple[str, ...],
    crossings_path: Path | None,
    cores_path: Path | None,
    cell_size_km: float,
    dispersal_distance: float,
    omniscape_radius_km: float | None,
    out_dir: Path,
    overwrite: bool,
) -> None:
    """Cumulative impact of scenarios of planned projects against the existing network.

    Writes scenario_impact.csv, scenarios.html, scenarios_map.html (and residual_loss.csv
    with --crossings) into --out.
    """
    definitions = read_scenario_file(scenario_file) if scenario_file is not None else {}
    for opt in scenario_opts:
        definitions.update(parse_scenario_option(opt))
    if not definitions:
        raise SchemaError(
            "no scenario given; use --scenarios FILE.csv or --scenario "
            "NAME=route.geojson (see docs/planning.md)."
        )
    staged = StagedOutputs(out_dir, OUTPUTS, overwrite=overwrite).check()
    atlas = Atlas.default() if atlas_path is None else Atlas.open(atlas_path)
    staged.atlas = atlas  # the layer versions used: atlas_versions.csv
    _, written = run_scenarios(
        atlas,
        out_dir,
        definitions,
        species=split_multi(species) or None,
        mitigation=_read(crossings_path, "crossings"),
        cores=_read(cores_path, "cores"),
        cell_size_m=cell_size_km * 1000.0,
        dispersal_distance=dispersal_distance,
        omniscape_radius_km=omniscape_radius_km,
        overwrite=overwrite,
        staged=staged,
    )
    for path in written:
        log.info(f"wrote {path}")
    log.info(f"done: {len(written)} files in {out_dir}")
