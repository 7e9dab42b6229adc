"""``cami-atlas barriers``: barrier analysis of an atlas (by default the embedded one).

For every infrastructure layer of the atlas and every species with a range or corridor:
km of infrastructure inside the species' range ∪ corridor by barrier class and country,
the segments classified per species, the fragmentation of each range by the
infrastructure that is a barrier to it, and, where the atlas has them, crossings of
corridors / migration routes and of GPS-track steps. The job itself lives in
:mod:`cami_atlas.pipeline.barriers`; this module parses the options.

Examples
--------
::

    cami-atlas barriers --out barriers/
    cami-atlas barriers --atlas my_atlas.gpkg --species saiga --species khulan --out out/ \\
        --matrix my_matrix.csv --overwrite

Outputs (in ``--out``, written as one set: a failed or killed run leaves the old set)
-----------------------------------------------------------------------------------
``barrier_lengths.csv``          km by layer × species × infra_type × barrier_class × country
``classified_segments.gpkg``     one layer per infrastructure layer: ``segment_id``
                                 (``layer:feature_id``, see
                                 :mod:`cami_atlas.barriers.segments`), one
                                 ``barrier_<species>`` column per species (empty where the
                                 segment does not cross the species' range ∪ corridor)
                                 and ``species_in_range``
``fragmentation.csv``            effective mesh size of each range (CUT and CBC)
``barrier_summary.md``           short summary
``corridor_crossings.csv``,      crossing points and counts (only with corridor layers)
``corridor_crossing_counts.csv``
``track_crossings.csv``          crossing events of track steps (only with tracks layers)
"""

from __future__ import annotations

from pathlib import Path

import click

from ..atlas import Atlas
from ..pipeline.barriers import (
    ESTIMATED_BYTES,
    OUTPUTS,
    RUN_OUTPUTS,
    BarrierResults,
    analyse_atlas,
    barriers_run_step,
    output_names,
    run_barriers,
    summary_markdown,
    write_results,
)
from ..pipeline.staging import StagedOutputs
from ._common import atlas_option, out_option, overwrite_option, split_multi
from ._logging import log

# the job moved to cami_atlas.pipeline.barriers; these names stay importable from here
__all__ = ["OUTPUTS", "RUN_OUTPUTS", "BarrierResults", "analyse_atlas", "barriers",
           "barriers_run_step", "output_names", "summary_markdown", "write_results"]


@click.command("barriers")
@atlas_option
@click.option("--species", "species", multiple=True,
              help="Species to analyse (repeat, or comma-separated; names in the atlas or "
                   "synonyms such as 'saiga', 'khulan'); default: all in the atlas.")
@click.option("--matrix", "matrix_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Your own barrier matrix CSV (default: the 2017 CAMI matrix).")
@click.option("--no-fragmentation", is_flag=True, help="Skip the effective mesh size.")
@click.option("--include-planned", is_flag=True,
              help="Count lines under construction, planned or proposed too (default: the "
                   "existing network only).")
@out_option
@overwrite_option
def barriers(atlas_path: Path | None, species: tuple[str, ...], matrix_path: Path | None,
             no_fragmentation: bool, include_planned: bool, out_dir: Path,
             overwrite: bool) -> None:
    """Barrier analysis: km of infrastructure in species ranges by barrier class and
    country, classified segments, range fragmentation and crossings.

    Writes barrier_lengths.csv, classified_segments.gpkg, fragmentation.csv and
    barrier_summary.md (plus crossing tables when the atlas has corridors or tracks)
    into --out.
    """
    staged = StagedOutputs(out_dir, RUN_OUTPUTS, overwrite=overwrite,
                           required_bytes=ESTIMATED_BYTES).check()
    atlas = Atlas.default() if atlas_path is None else Atlas.open(atlas_path)
    staged.atlas = atlas  # the layer versions used: atlas_versions.csv
    _, written = run_barriers(atlas, out_dir, species=split_multi(species) or None,
                              matrix=matrix_path, fragmentation=not no_fragmentation,
                              overwrite=overwrite, progress=True, staged=staged,
                              include_planned=include_planned)
    for path in written:
        log.info(f"wrote {path}")
    log.info(f"done: {len(written)} files in {out_dir}")
