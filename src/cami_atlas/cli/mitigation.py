"""``cami-atlas mitigation``: the mitigation catalogue and the monitoring of structures.

Examples
--------
::

    cami-atlas mitigation catalogue --infra-type fence --species saiga
    cami-atlas mitigation catalogue --out catalogue.csv
    cami-atlas mitigation monitoring counts.csv --out use/
    cami-atlas mitigation monitoring --structures gates.gpkg --line fence.gpkg \\
        --tracks fixes.gpkg --out use/
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from ._common import out_option, overwrite_option
from ._logging import log

__all__ = ["mitigation"]

_CATALOGUE_OPTION = click.option(
    "--catalogue", "catalogue_path", default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Mitigation catalogue CSV (default: the catalogue shipped with cami_atlas).")


@click.group("mitigation")
def mitigation() -> None:
    """The mitigation catalogue (avoid, minimise, mitigate, offset) and monitoring."""


@mitigation.command("catalogue")
@_CATALOGUE_OPTION
@click.option("--species", default=None,
              help="Only measures for this species (or for every species).")
@click.option("--infra-type", default=None, help="Only measures for this infrastructure type.")
@click.option("--out", "out_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write the (filtered) catalogue to this CSV instead of printing it.")
@overwrite_option
def catalogue_cmd(catalogue_path: Path | None, species: str | None, infra_type: str | None,
                  out_path: Path | None, overwrite: bool) -> None:
    """Print or export the mitigation catalogue, checked, in hierarchy order."""
    from .._atomic import atomic_path
    from .._options import check_option
    from ..barriers.species import resolve_species
    from ..planning.catalogue import CATALOGUE_COLUMNS, load_catalogue
    from ..schema import INFRA_TYPES, normalise_value

    cat = load_catalogue(catalogue_path)
    keep = pd.Series(True, index=cat.index)
    if infra_type:
        kind = check_option("--infra-type", normalise_value(
            "infra_type", infra_type.strip().lower()), INFRA_TYPES)
        keep &= cat["infra_type_list"].map(lambda t: kind in t)
    if species:
        name = resolve_species(species)
        keep &= cat["species_list"].map(lambda s: not s or name in s)
    table = cat.loc[keep, list(CATALOGUE_COLUMNS)]
    if out_path is None:
        for row in table.itertuples():
            click.echo(f"{row.hierarchy_step:<9} {row.measure_id:<38} {row.infra_types:<22} "
                       f"{row.species or '(every species)'}")
        click.echo(f"{len(table)} measure(s)")
        return
    with atomic_path(out_path, overwrite=overwrite) as tmp:
        table.to_csv(tmp, index=False)
    log.info(f"wrote {out_path} ({len(table)} measures)")


@mitigation.command("monitoring")
@click.argument("records", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--structures", "structures_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Structure points (structure_id, structure_type) for GPS crossings.")
@click.option("--line", "line_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The line the structures are on (with --structures and --tracks).")
@click.option("--tracks", "tracks_path", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="GPS fixes (individual, timestamp, species) crossing the line.")
@click.option("--max-distance-m", default=500.0, show_default=True, type=float,
              help="A GPS crossing counts for the nearest structure within this distance.")
@_CATALOGUE_OPTION
@out_option
@overwrite_option
def monitoring_cmd(records: Path | None, structures_path: Path | None, line_path: Path | None,
                   tracks_path: Path | None, max_distance_m: float,
                   catalogue_path: Path | None, out_dir: Path, overwrite: bool) -> None:
    """Observed use of crossing structures from counts (RECORDS) and/or GPS tracks.

    RECORDS: CSV or vector file with structure_id, structure_type, species, start_date,
    end_date, crossings. Writes observed_use.csv and use_by_structure_type.csv (with
    RECORDS) and gps_crossings.csv (with --structures, --line and --tracks) into --out.
    """
    from ..errors import SchemaError
    from ..io import read_vector
    from ..pipeline.staging import StagedOutputs
    from ..planning.catalogue import load_catalogue
    from ..planning.monitoring import (
        gps_crossings_at_structures,
        observed_use,
        read_monitoring,
        use_by_structure_type,
    )

    gps = [structures_path, line_path, tracks_path]
    if any(gps) and not all(gps):
        raise SchemaError("GPS crossings need --structures, --line and --tracks together.")
    if records is None and not all(gps):
        raise SchemaError("give monitoring RECORDS, or --structures, --line and --tracks "
                          "for GPS crossings (or both).")
    names = (["observed_use.csv", "use_by_structure_type.csv"] if records else []) + \
        (["gps_crossings.csv"] if all(gps) else [])
    staged = StagedOutputs(out_dir, names, overwrite=overwrite).check()
    cat = load_catalogue(catalogue_path)
    tables: dict[str, pd.DataFrame] = {}
    if records is not None:
        observed = observed_use(read_monitoring(records))
        tables["observed_use.csv"] = observed
        tables["use_by_structure_type.csv"] = use_by_structure_type(observed, cat)
    if all(gps):
        tracks = read_vector(tracks_path)
        if tracks.crs is not None and not tracks.crs.is_projected:
            tracks = tracks.to_crs(tracks.estimate_utm_crs())
        tables["gps_crossings.csv"] = gps_crossings_at_structures(
            read_vector(structures_path), read_vector(line_path), tracks,
            max_distance_m=max_distance_m)
    with staged as folder:
        for name, table in tables.items():
            table.to_csv(Path(folder) / name, index=False)
    for name in names:
        log.info(f"wrote {out_dir / name}")


@mitigation.command("placement")
@click.argument("line_path", metavar="LINE",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--species", required=True,
              help="Species (atlas name, matrix name or common name, e.g. 'saiga').")
@click.option("-k", "--k", "k", required=True, type=click.IntRange(min=1),
              help="Number of crossing structures (or fence openings) to place.")
@click.option("--structure-type", default="crossing structure", show_default=True,
              help="What the openings are (e.g. 'wildlife underpass', 'fence opening').")
@click.option("--step-km", default=None, type=click.FloatRange(min=0, min_open=True),
              help="Length of a candidate piece of the line (default: one cell).")
@click.option("--min-spacing-km", default=0.0, show_default=True,
              type=click.FloatRange(min=0), help="Least distance between two openings.")
@click.option("--search", type=click.Choice(["greedy", "exhaustive"]), default="greedy",
              show_default=True,
              help="greedy (one impact analysis per pick, gain curve) or exhaustive (the "
                   "optimum; small instances).")
@click.option("--cell-size-m", default=5000.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True), help="Resistance grid cell size.")
@click.option("--window-km", default=100.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True),
              help="Margin around the line for the resistance grid.")
@click.option("--n-cores", default=6, show_default=True, type=click.IntRange(min=2),
              help="Habitat cores taken from the species' range.")
@click.option("--dem", default="dem_etopo5", show_default=True,
              help="DEM layer of the atlas for the slope term.")
@click.option("--dispersal-resistance", default=None, type=click.FloatRange(min=0,
              min_open=True),
              help="Effective resistance (ohm) at which dispersal probability is 0.5: the "
                   "gain is then ECA (km²) instead of effective conductance.")
@click.option("--atlas", "atlas_path", default=None,
              help="Atlas GeoPackage or PostGIS address (default: the embedded atlas).")
@_CATALOGUE_OPTION
@out_option
@overwrite_option
def placement_cmd(line_path: Path, species: str, k: int, structure_type: str,
                  step_km: float | None, min_spacing_km: float, search: str,
                  cell_size_m: float, window_km: float, n_cores: int, dem: str,
                  dispersal_resistance: float | None, atlas_path: str | None,
                  catalogue_path: Path | None, out_dir: Path, overwrite: bool) -> None:
    """Where to put K crossing structures on LINE to restore the most connectivity.

    LINE: the route or existing line (any vector format with a CRS). Builds the species'
    resistance around it from the atlas, closes the line, opens candidate pieces one by
    one (greedy) or every set of K (exhaustive), and writes crossing_placement.gpkg,
    crossing_openings.csv, gain_curve.csv/.png, resistance.tif, placement_report.md and
    placement_parameters.json into --out.
    """
    from ..atlas import Atlas
    from ..io import read_vector
    from ..pipeline.placement import OUTPUTS, run_placement, write_placement
    from ..pipeline.staging import StagedOutputs
    from ..planning.catalogue import load_catalogue, structure_measures

    staged = StagedOutputs(out_dir, OUTPUTS, overwrite=overwrite).check()
    cat = load_catalogue(catalogue_path)
    atlas = Atlas.open(atlas_path) if atlas_path else Atlas.default()
    staged.atlas = atlas  # the layer versions used: atlas_versions.csv
    job = run_placement(atlas, read_vector(line_path), species=species, k=k,
                        step_km=step_km, min_spacing_km=min_spacing_km,
                        structure_type=structure_type, search=search, window_km=window_km,
                        cell_size_m=cell_size_m, dem=dem, n_cores=n_cores,
                        dispersal_resistance=dispersal_resistance)
    suits = structure_measures(structure_type, job.species, catalogue=cat)
    with staged as folder:
        write_placement(job, folder, catalogue=suits, overwrite=True)
    chosen = job.result.chosen
    log.info(f"{job.species}: {len(chosen)} openings, gain {chosen['gain'].sum():.4g} "
             f"({job.result.metric}); {job.k_paying} of {k} give 90 % of it")
    for name in OUTPUTS:
        log.info(f"wrote {out_dir / name}")
