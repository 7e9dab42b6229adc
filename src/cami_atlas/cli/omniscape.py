"""``cami-atlas connectivity omniscape``: wall-to-wall Omniscape connectivity maps.

Either a species from the atlas (its resistance from the atlas' base layers: slope of
the region-wide DEM, IGBP land cover through a class table, its barriers burned in;
sources from its range, the window radius from its cited movement scale) or
a resistance GeoTIFF of your own (sources from ``--sources`` or from the resistance
with ``--r-cutoff``). ``--tile-size`` or ``--scheduler`` run the job in tiles on Dask
(a LocalCluster, or the cluster at ``tcp://HOST:PORT``); a killed tiled job resumes
when run again with the same options.

Examples
--------
::

    cami-atlas connectivity omniscape --species khulan --cell-size-m 10000 --out omni/
    cami-atlas connectivity omniscape --species "Saiga tatarica" --radius-km 100 --out omni/
    cami-atlas connectivity omniscape --resistance r.tif --radius-cells 25 --block-size 5 \\
        --r-cutoff 50 --tile-size 1024 --scheduler tcp://10.0.0.5:8786 --out omni/

Outputs (in ``--out``)
----------------------
``cumulative_current.tif``, ``flow_potential.tif``, ``normalized_current.tif``
(float64, nodata outside the study area), ``omniscape_settings.json`` (every setting,
the radius and where it came from), ``omniscape_quicklook.png`` (cumulative and
normalized current with colour bars); with ``--species`` also ``resistance.tif`` and
``sources.tif``.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import OptionError
from ._common import ATLAS_LOCATION
from ._logging import log

__all__ = ["omniscape"]

QUICKLOOK = "omniscape_quicklook.png"


@click.command("omniscape")
@click.option("--atlas", "atlas_path", type=ATLAS_LOCATION, metavar="FILE|URL",
              default=None, help="Atlas GeoPackage (default: the embedded default atlas).")
@click.option("--species", default=None,
              help="Species (atlas range name, matrix name or common name, e.g. 'khulan').")
@click.option("--resistance", "resistance_file", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Resistance GeoTIFF (finite >= 1, inf impassable, nodata outside) instead "
                   "of a species.")
@click.option("--sources", "sources_file", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Source-strength GeoTIFF aligned with --resistance (default: 1/resistance).")
@click.option("--radius-km", type=float, default=None,
              help="Window radius in km (default for --species: its movement scale).")
@click.option("--radius-cells", type=int, default=None, help="Window radius in cells.")
@click.option("--block-size", type=int, default=1, show_default=True,
              help="Odd block side: one window per block (Omniscape's block_size).")
@click.option("--correct-artifacts/--no-correct-artifacts", default=True, show_default=True,
              help="Omniscape's block-artifact correction (with --block-size > 1).")
@click.option("--r-cutoff", type=float, default=float("inf"), show_default=True,
              help="Cells of higher resistance are not sources.")
@click.option("--source-threshold", type=float, default=0.0, show_default=True,
              help="Source strengths below this are set to 0.")
@click.option("--cell-size-m", type=float, default=5000.0, show_default=True,
              help="Cell size of the species' analysis grid (with --species).")
@click.option("--landcover-resistance", "landcover_table", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="CSV 'value,resistance' per IGBP class replacing the shipped expert-"
                   "judgement table (with --species).")
@click.option("--bbox", default=None, metavar="LON0,LAT0,LON1,LAT1",
              help="Window in degrees (with --species); default the atlas DEM's extent.")
@click.option("--solver", type=click.Choice(["auto", "direct", "amg"]), default="auto",
              show_default=True, help="Per-window solver.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run tiled on this Dask scheduler (workers must see the files).")
@click.option("--tile-size", type=int, default=None,
              help="Run tiled (on a LocalCluster unless --scheduler) with tiles of this many "
                   "cells a side (>= the radius).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="Output folder (created if missing).")
@click.option("--overwrite", is_flag=True, help="Replace outputs that exist already.")
def omniscape(atlas_path: Path | None, species: str | None, resistance_file: Path | None,
              sources_file: Path | None, radius_km: float | None, radius_cells: int | None,
              block_size: int, correct_artifacts: bool, r_cutoff: float,
              source_threshold: float, cell_size_m: float, landcover_table: Path | None,
              bbox: str | None, solver: str, scheduler: str | None, tile_size: int | None,
              out_dir: Path, overwrite: bool) -> None:
    """Omniscape moving-window connectivity: cumulative, flow potential, normalized current."""
    from .._atomic import prepare_outputs
    from ..connectivity.omniscape import OUTPUT_FILES, omniscape_tiled
    from ..connectivity.omniscape import omniscape as run
    from ..connectivity.omniscape.core import SETTINGS_FILE
    from ..connectivity.omniscape.species import quicklook_png, read_decimated, species_inputs
    from ..pipeline.staging import StagedOutputs
    from ..raster import Grid

    if (species is None) == (resistance_file is None):
        raise OptionError("give either --species (maps from the atlas) or --resistance FILE, "
                          "not both or neither.")
    if sources_file is not None and resistance_file is None:
        raise OptionError("--sources goes with --resistance; with --species the sources are "
                          "the species' range.")
    if radius_km is not None and radius_cells is not None:
        raise OptionError("give the radius once: --radius-km or --radius-cells.")
    if resistance_file is not None and radius_km is None and radius_cells is None:
        raise OptionError("with --resistance give the window radius: --radius-km or "
                          "--radius-cells.")
    tiled = tile_size is not None or scheduler is not None
    names = [*OUTPUT_FILES.values(), SETTINGS_FILE, QUICKLOOK]
    if species is not None:
        names += ["resistance.tif", "sources.tif"]
    # every output checked (existing files, write permission, free space) before any work
    staged = StagedOutputs(out_dir, names, overwrite=overwrite).check()
    extra: dict[str, object] = {}
    common = dict(r_cutoff=r_cutoff, source_threshold=source_threshold,
                  block_size=block_size, solver=solver,
                  correct_artifacts=correct_artifacts)
    inp = None
    if species is not None:
        from ..atlas import Atlas

        atlas = Atlas.open(atlas_path) if atlas_path is not None else Atlas.default()
        staged.atlas = atlas  # the layer versions used: atlas_versions.csv
        inp = species_inputs(atlas, species=species, bbox=bbox, cell_size_m=cell_size_m,
                             radius_km=(radius_km if radius_km is not None else
                                        radius_cells * cell_size_m / 1000.0 if radius_cells
                                        else None), r_cutoff=r_cutoff,
                             landcover_resistance=landcover_table)
        extra = {"species": inp.species, "radius_km": inp.radius_km,
                 "radius_from": inp.radius_source, "notes": inp.notes}
        title = f"{inp.species.replace('_', ' ')}: Omniscape, radius {inp.radius_km:g} km"
        radius = dict(radius=radius_cells) if radius_cells else dict(
            radius_m=inp.radius_km * 1000.0)
        common.update(r_cutoff=float("inf"))  # the range sources have r_cutoff applied
    else:
        radius = (dict(radius=radius_cells) if radius_cells is not None
                  else dict(radius_m=radius_km * 1000.0))  # type: ignore[operator]
        title = f"Omniscape: {resistance_file.name}"

    if tiled:
        # tiled jobs write their tiles beside --out (<out>.work, to resume a killed job) and
        # rename each finished map into --out; the inputs of a species job are written first
        out = out_dir  # omniscape_tiled checks its arguments before creating anything
        res_file, src_file = resistance_file, sources_file
        if inp is not None:
            out = prepare_outputs(out_dir, names, overwrite=overwrite)
            res_file = inp.resistance.to_geotiff(out / "resistance.tif", overwrite=overwrite,
                                                 dtype="float64")
            src_file = inp.sources.to_geotiff(out / "sources.tif", overwrite=overwrite,
                                              dtype="float64")
        result = omniscape_tiled(res_file, out, sources=src_file,
                                 tile_size=tile_size or 1024, dask_scheduler=scheduler,
                                 overwrite=overwrite, extra_settings=extra or None, **radius,
                                 **common)
        cum, nrm = (read_decimated(result.paths["cumulative_current"]),
                    read_decimated(result.paths["normalized_current"]))
        quicklook_png(cum, nrm, Path(out) / QUICKLOOK, title=title, overwrite=overwrite)
    else:
        if inp is not None:
            grid, src = inp.resistance, inp.sources
        else:
            grid = Grid.from_geotiff(resistance_file)
            src = Grid.from_geotiff(sources_file) if sources_file is not None else None
        result = run(grid, sources=src, extra_settings=extra or None, **radius, **common)
        with staged as folder:  # the whole set appears at once, or not at all
            if inp is not None:
                inp.resistance.to_geotiff(folder / "resistance.tif", dtype="float64")
                inp.sources.to_geotiff(folder / "sources.tif", dtype="float64")
            result.write(folder, overwrite=True)
            quicklook_png(result.cumulative_current, result.normalized_current,
                          folder / QUICKLOOK, title=title, overwrite=True)
        out = out_dir
    log.info(f"wrote {', '.join(names)} to {out}")
