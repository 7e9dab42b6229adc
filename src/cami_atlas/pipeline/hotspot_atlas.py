"""A hotspot atlas: the hotspot analysis, map and report of every species, plus an index.

The composition of the analysis (:func:`cami_atlas.hotspots.hotspot_analysis`) and its
rendering (:mod:`cami_atlas.report.hotspots`), one species at a time; used by
``scripts/make_hotspot_atlas.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic
from ..errors import EmptyLayerError, OutputExistsError
from ..hotspots.analysis import USED_KINDS, hotspot_analysis, select_species
from ..hotspots.segments import HOT_CLASSES
from ..measure import area_km2
from ..report.hotspots import INDEX, hotspot_index, output_names, write_hotspot_outputs
from ..schema import canonical_species_name
from .hotspots import mitigation_tables

__all__ = ["write_hotspot_atlas"]

Progress = Callable[[str], None]


def _species_of(atlas: Any, species: str | Sequence[str] | None, *,
                matrix: Any = None) -> list[str]:
    """The range species of ``atlas`` matching ``species`` (all when None)."""
    names: set[str] = set()
    for name in atlas.layer_names("species_range"):
        names.update(atlas.read(name)["species"].astype(str).map(canonical_species_name))
    if not names:
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no species_range layer; add one with "
            "`cami-atlas layers import FILE --kind species_range --atlas ATLAS.gpkg`.")
    return select_species(sorted(names), species, matrix=matrix)



def write_hotspot_atlas(
    atlas: Any,
    out_dir: str | os.PathLike[str],
    *,
    species: str | Sequence[str] | None = None,
    cell_km: float = 25.0,
    overwrite: bool = False,
    pdf: bool = False,
    offline: bool = False,
    progress: Progress | None = None,
    command: str | None = None,
    **options: Any,
) -> Path:
    """Hotspot map and report of every species, one sub-folder each, plus an index page.

    For each species (default: every species with a range in the atlas) the analysis
    of :func:`~cami_atlas.hotspots.hotspot_analysis` is run for that species alone and
    its outputs (:func:`~cami_atlas.report.hotspots.write_hotspot_outputs`) go to
    ``out_dir/<Species_name>/``; ``out_dir/index.html`` links every report and map
    with the species' key figures (range area, km of infrastructure in the range by
    barrier class, hot cells, transboundary hot cells).

    Every output (all species' files and the index) is checked before anything is
    written: if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written.

    Parameters
    ----------
    atlas : cami_atlas.atlas.Atlas
    out_dir : path
    species : str or list of str, optional
        Names or synonyms; default all with a range.
    cell_km, pdf, offline
        As for :func:`~cami_atlas.hotspots.hotspot_analysis` / :func:`write_hotspot_outputs`.
    progress : callable, optional
        Called with a short text as each species starts and ends.
    command : str, optional
        Recorded in each report's reproducibility block.
    **options
        Other keyword options of :func:`~cami_atlas.hotspots.hotspot_analysis`
        (``permutations``, ``seed``, ``alpha``, ``border_distance_km``, ``weights``,
        ``matrix``, ``top_n``, ``shape``).

    Returns
    -------
    pathlib.Path
        The index page.
    """
    out = Path(out_dir)
    chosen = _species_of(atlas, species, matrix=options.get("matrix"))
    targets = [out / INDEX] + [out / sp / n for sp in chosen for n in output_names(pdf=pdf)]
    existing = [str(p.relative_to(out)) for p in targets if p.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise OutputExistsError(
            f"{out} already holds {', '.join(existing[:5])}{more}; pass overwrite=True "
            "(--overwrite) to replace them or choose another output folder.")
    rows = []
    for i, sp in enumerate(chosen, start=1):
        if progress is not None:
            progress(f"{sp} ({i}/{len(chosen)})")
        a = hotspot_analysis(atlas, species=[sp], cell_km=cell_km, **options)
        write_hotspot_outputs(a, out / sp, overwrite=overwrite, pdf=pdf, offline=offline,
                              command=command, **mitigation_tables(a))
        by_class = a.lengths.groupby("barrier_class")["length_km"].sum()
        r = a.ranges
        rows.append({
            "name": sp, "title": sp.replace("_", " "),
            "common_name": str(r["common_name"].dropna().iloc[0])
            if "common_name" in r.columns and r["common_name"].notna().any() else "",
            "report": f"{sp}/hotspot_report.html", "map": f"{sp}/hotspot_map.html",
            "pdf": f"{sp}/{output_names(pdf=True)[-1]}" if pdf else None,
            "range_area_km2": float(area_km2(r).sum()),
            "complete_km": float(by_class.get("complete barrier", 0.0)),
            "partial_km": float(by_class.get("partial barrier", 0.0)),
            "unknown_km": float(by_class.get("unknown", 0.0)),
            "cells": len(a.cells),
            "hot_cells": int(a.cells["gi_class"].isin(HOT_CLASSES).sum()),
            "transboundary": None if a.transboundary is None else len(a.transboundary),
            "rated": a.matrix_species.get(sp) is not None,
        })
    layers = atlas.list_layers()
    html = hotspot_index(rows, atlas_name=atlas.name, cell_km=cell_km,
                         sources=layers[layers["kind"].isin(USED_KINDS)].reset_index(drop=True))
    return write_text_atomic(out / INDEX, html, overwrite=overwrite)
