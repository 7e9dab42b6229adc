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
    click.echo(f"wrote {out_path} ({len(table)} measures)")


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
        click.echo(f"wrote {out_dir / name}")
