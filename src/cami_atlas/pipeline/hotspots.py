"""Barrier hotspots as a pipeline step: the step of ``cami-atlas run`` and the
``cami-atlas hotspots`` job (analysis, then the output set written through
:class:`~cami_atlas.pipeline.staging.StagedOutputs`).

Outputs
-------
``hotspot_cells.gpkg``     cells (score, Gi*, km by class, species, border), top segments,
                           transboundary hot cells; equal-area CRS of the atlas
``hotspot_cells.csv``      the cells without geometry, with centroid lon/lat
``hotspot_segments.csv``   the ranked segments
``hotspot_map.html``       self-contained interactive map
``hotspot_report.html``    report (+ ``hotspot_report.pdf`` with ``pdf=True``)
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pandas as pd

from ..atlas import Atlas
from ..hotspots.analysis import HotspotAnalysis, hotspot_analysis
from ..report.hotspots import OUTPUTS, output_names
from ..report.hotspots import write_hotspot_outputs as _write_outputs
from .progress import ProgressFactory, no_progress, rich_progress
from .staging import StagedOutputs
from .steps import Section, Step, StepContext

__all__ = ["ESTIMATED_BYTES", "RUN_CELL_KM", "RUN_OUTPUTS", "STEP", "hotspots_run_step",
           "progress_bar", "quiet_islands", "run_hotspots"]

#: Cell size of the hotspot step of ``cami-atlas run`` (keeps the main job short).
RUN_CELL_KM = 75.0
#: Files of the hotspot step of ``cami-atlas run``.
RUN_OUTPUTS: tuple[str, ...] = OUTPUTS
#: Progress messages of one job: analysis steps (7 with corridors) + writing steps.
N_PROGRESS = 6 + 3
#: Size of the output set on the default atlas at 75 km cells (15 MB), with room.
ESTIMATED_BYTES = 20 << 20


def progress_bar(total: int = N_PROGRESS, *,
                 enabled: bool = True) -> AbstractContextManager[Any]:
    """A context manager yielding a ``progress(text)`` callback backed by a rich bar.

    The bar shows only on a terminal (stderr); elsewhere the callback does nothing.

    Examples
    --------
    >>> with progress_bar(2, enabled=False) as step:
    ...     step("first"); step("second")
    """
    return rich_progress(total, "hotspots") if enabled else no_progress(total)


@contextlib.contextmanager
def quiet_islands() -> Iterator[None]:
    """Silence libpysal's note that the hexagons form several islands (ranges in parts)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
        yield


def mitigation_tables(analysis: HotspotAnalysis,
                      catalogue: Any = None) -> dict[str, pd.DataFrame]:
    """The catalogue measures of a hotspot analysis, for the report writer.

    Returns ``{"proposals": ..., "mitigation": ...}``: the measures per ranked segment and
    species (:meth:`HotspotAnalysis.mitigation_proposals`) and their summary per species
    (:meth:`HotspotAnalysis.mitigation_by_species`), from ``catalogue`` (a table or a
    path; default the shipped catalogue, read and checked once).
    """
    from ..planning.catalogue import load_catalogue, summarise_proposals

    table = load_catalogue(catalogue) if not isinstance(catalogue, pd.DataFrame) else catalogue
    proposals = analysis.mitigation_proposals(table)
    summary = summarise_proposals(proposals)
    summary = summary.assign(species=summary["species"].astype(str).str.replace("_", " "))
    return {"proposals": proposals, "mitigation": summary}


def hotspots_run_step(ctx: StepContext) -> None:
    """Step of ``cami-atlas run``: hotspot map and report of the atlas at
    :data:`RUN_CELL_KM` km cells (skipped without infrastructure or species ranges)."""
    if ctx.skipped(("infrastructure", "species_range"), analysis="Hotspot analysis",
                   heading="Hotspots"):
        return
    with quiet_islands(), ctx.progress(N_PROGRESS, "hotspots") as step:
        analysis = hotspot_analysis(ctx.atlas, cell_km=RUN_CELL_KM, permutations=999,
                                    species=ctx.options.get("species"), progress=step)
        for path in _write_outputs(analysis, ctx.out_dir, overwrite=ctx.overwrite,
                                   command="cami-atlas run", progress=step,
                                   **mitigation_tables(analysis)):
            ctx.wrote(path)
    ctx.results["hotspots"] = analysis
    cells = analysis.cells
    counts = cells["gi_class"].value_counts()
    table = counts.rename_axis("Gi* class").reset_index(name="cells")
    n_tb = 0 if analysis.transboundary is None else len(analysis.transboundary)
    ctx.sections.append(Section(
        "Barrier hotspots",
        [f"{len(cells):,} hexagonal cells of {RUN_CELL_KM:g} km ({RUN_CELL_KM ** 2:,.0f} km² "
         f"each) over the ranges of {len(analysis.species)} species, scored by barrier "
         f"pressure; Getis-Ord Gi* hot and cold spots (999 permutations); {n_tb} "
         "transboundary hot cells. Map: hotspot_map.html; report with one factsheet per "
         "species: hotspot_report.html; cells: hotspot_cells.gpkg/.csv. For finer cells run "
         "`cami-atlas hotspots --cell-size-m 25000 --out DIR`."],
        table))


#: The hotspot step of ``cami-atlas run``.
STEP = Step("hotspots", RUN_OUTPUTS, hotspots_run_step,
            "barrier-hotspot grid, Gi*, transboundary hotspots; hotspot map and report",
            reads=("infrastructure", "species_range", "country", "border", "corridor"))


def run_hotspots(atlas: Atlas, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
                 pdf: bool = False, offline: bool = False, command: str | None = None,
                 progress: ProgressFactory = no_progress,
                 staged: StagedOutputs | None = None, catalogue: Any = None,
                 **options: Any) -> tuple[HotspotAnalysis, list[Path]]:
    """The ``cami-atlas hotspots`` job: the analysis, then the output set in ``out_dir``.

    The output folder is checked (existing outputs, write permission, free space)
    before the analysis and written as one set: a failed or killed job leaves the old
    outputs as they were, and an old ``hotspot_report.pdf`` does not survive a new set
    written without ``pdf``.

    Parameters
    ----------
    atlas : Atlas
    out_dir : str or path
    overwrite, pdf, offline, command
        As in :func:`cami_atlas.report.hotspots.write_hotspot_outputs`.
    progress : progress factory, default no progress
        See :mod:`cami_atlas.pipeline.progress`.
    staged : StagedOutputs, optional
        An output set checked already by the caller.
    catalogue : DataFrame or path, optional
        Mitigation catalogue whose measures are proposed per ranked segment and species
        (``mitigation_proposals.csv`` and the report; default the shipped catalogue).
    **options
        Passed to :func:`cami_atlas.hotspots.hotspot_analysis` (``species``,
        ``cell_km``, ``permutations``, ...).

    Returns
    -------
    (HotspotAnalysis, list of Path)

    Examples
    --------
    >>> import tempfile
    >>> a, paths = run_hotspots(Atlas.default(), tempfile.mkdtemp(), species="khulan",
    ...                         cell_km=150, permutations=9, overwrite=True, offline=True)
    >>> [p.name for p in paths][:2]
    ['hotspot_cells.gpkg', 'hotspot_cells.csv']
    """
    if staged is None:
        staged = StagedOutputs(out_dir, output_names(pdf=True), overwrite=overwrite, atlas=atlas,
                               required_bytes=ESTIMATED_BYTES).check()
    from ..planning.catalogue import load_catalogue

    # a bad catalogue fails before any work
    table = catalogue if isinstance(catalogue, pd.DataFrame) else load_catalogue(catalogue)
    with quiet_islands(), progress(N_PROGRESS, "hotspots") as step:
        analysis = hotspot_analysis(atlas, progress=step, **options)
        with staged as folder:
            written = _write_outputs(analysis, folder, overwrite=True, pdf=pdf,
                                     offline=offline, command=command, progress=step,
                                     **mitigation_tables(analysis, table))
    return analysis, [Path(out_dir) / staged.final(p).relative_to(staged.out)
                      for p in written]
