"""The ``cami-atlas scenarios`` job: cumulative impact of planned-infrastructure scenarios.

Outputs (in ``--out``, written as one set)
------------------------------------------
``scenario_impact.csv``   tidy: scenario, species, metric, existing, with_scenario, change,
                          sum_of_single_changes, interaction (+ with_mitigation,
                          residual_change with crossings)
``residual_loss.csv``     loss left to offset per scenario, species, metric (with crossings)
``scenarios.html``        report: one section per scenario
``scenarios_map.html``    folium map: existing network, each scenario's projects dashed
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine

from cami_atlas.atlas import Atlas
from cami_atlas.errors import EmptyLayerError, SchemaError
from cami_atlas.maps.planning import scenario_map
from cami_atlas.pipeline.staging import StagedOutputs
from cami_atlas.planning import residual_loss, resolve_scenarios, scenario_impact
from cami_atlas.raster import Grid
from cami_atlas.report.planning import scenario_report_html

__all__ = ["OUTPUTS", "core_grid", "run_scenarios"]

OUTPUTS: tuple[str, ...] = (
    "scenario_impact.csv",
    "residual_loss.csv",
    "scenarios.html",
    "scenarios_map.html",
)
ANALYSIS_CRS = "ESRI:102025"


def core_grid(cores: gpd.GeoDataFrame, *, cell_size_m: float, margin_m: float = 0.0) -> Grid:
    """A uniform resistance grid (1 per cell) over the cores' extent plus ``margin_m``.

    Examples
    --------
    >>> import shapely
    >>> c = gpd.GeoDataFrame(geometry=shapely.points([(0, 0), (50_000, 0)]), crs=ANALYSIS_CRS)
    >>> core_grid(c, cell_size_m=10_000, margin_m=10_000).values.shape
    (2, 7)
    """
    x0, y0, x1, y1 = cores.to_crs(ANALYSIS_CRS).total_bounds
    x0, y0, x1, y1 = x0 - margin_m, y0 - margin_m, x1 + margin_m, y1 + margin_m
    ncol = max(1, int(np.ceil((x1 - x0) / cell_size_m)))
    nrow = max(1, int(np.ceil((y1 - y0) / cell_size_m)))
    return Grid(
        np.ones((nrow, ncol)), Affine(cell_size_m, 0, x0, 0, -cell_size_m, y1), ANALYSIS_CRS
    )


def _infrastructure(atlas: Atlas) -> gpd.GeoDataFrame:
    names = atlas.layer_names("infrastructure")
    if not names:
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no infrastructure layer; add one with "
            "`cami-atlas layers import FILE --kind infrastructure`."
        )
    frames = [atlas.read(n).to_crs(ANALYSIS_CRS).assign(layer=n) for n in names]
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=ANALYSIS_CRS)


def run_scenarios(
    atlas: Atlas,
    out_dir: str | os.PathLike[str],
    definitions: dict[str, list[tuple[str, str | None]]],
    *,
    species: list[str] | None = None,
    mitigation: gpd.GeoDataFrame | None = None,
    cores: gpd.GeoDataFrame | None = None,
    cell_size_m: float = 20_000.0,
    dispersal_distance: float | None = None,
    omniscape_radius_km: float | None = None,
    overwrite: bool = False,
    staged: StagedOutputs | None = None,
) -> tuple[pd.DataFrame, list[Path]]:
    """Resolve the scenarios against the atlas, measure them and write the output set.

    Corridor and track layers of the atlas, where it has them, add corridor and track
    crossings to the metrics.

    Parameters
    ----------
    atlas : Atlas
    out_dir : str or path
    definitions : dict
        From :func:`cami_atlas.planning.read_scenario_file` /
        :func:`~cami_atlas.planning.parse_scenario_option`.
    species : list of str, optional
        Species of the atlas ranges to report (names as stored); default all.
    mitigation : GeoDataFrame, optional
        Crossing points with ``species`` and ``structure_type``.
    cores : GeoDataFrame, optional
        Habitat cores with ``area_km2`` (and ``species``) for ECA and effective conductance
        on a uniform grid of ``cell_size_m`` over the cores.
    dispersal_distance : float, optional
        Effective resistance (cells) at which dispersal probability is 0.5 (with ``cores``).
    omniscape_radius_km : float, optional
        Adds the ``omniscape_current`` metric with this window radius, on the grid of the
        cores or, without cores, a uniform grid of ``cell_size_m`` over the projects'
        extent plus two radii.
    overwrite : bool
    staged : StagedOutputs, optional

    Returns
    -------
    (DataFrame, list of Path)
        The scenario table and the files written.
    """
    if staged is None:
        staged = StagedOutputs(out_dir, OUTPUTS, overwrite=overwrite, atlas=atlas).check()
    infra = _infrastructure(atlas)
    ranges = atlas.read_kind("species_range", crs=ANALYSIS_CRS)
    if species:
        ranges = ranges[ranges["species"].isin(species)]
    existing, scen = resolve_scenarios(definitions, infra)
    grid = None
    if cores is not None:
        grid = core_grid(cores, cell_size_m=cell_size_m, margin_m=2 * cell_size_m)
        dispersal_distance = dispersal_distance or 10.0
    else:
        dispersal_distance = None
    radius = None
    if omniscape_radius_km is not None:
        radius = max(1, round(omniscape_radius_km * 1000 / cell_size_m))
        if grid is None:
            lines = [g for prj in scen.values() for g in prj.values()]
            if not lines:
                raise SchemaError("--omniscape-radius-km needs projects (their extent is the "
                                  "grid) or --cores.")
            extent = gpd.GeoDataFrame(pd.concat(lines, ignore_index=True))
            grid = core_grid(extent, cell_size_m=cell_size_m,
                             margin_m=2 * omniscape_radius_km * 1000)
    corridors = (
        atlas.read_kind("corridor", crs=ANALYSIS_CRS) if atlas.layer_names("corridor") else None
    )
    tracks = atlas.read_kind("tracks", crs=ANALYSIS_CRS) if atlas.layer_names("tracks") else None
    table = scenario_impact(
        existing,
        scen,
        ranges,
        corridors=corridors,
        tracks=tracks,
        cores=cores,
        grid=grid,
        dispersal_distance=dispersal_distance,
        species=species,
        mitigation=mitigation,
        crs=ANALYSIS_CRS,
        omniscape_radius=radius,
    )
    residual = residual_loss(table) if mitigation is not None else None
    projects = {s: list(p) for s, p in scen.items()}
    with staged as folder:
        written = [folder / "scenario_impact.csv"]
        table.to_csv(written[0], index=False)
        if residual is not None:
            written.append(folder / "residual_loss.csv")
            residual.to_csv(written[-1], index=False)
        written.append(folder / "scenarios.html")
        written[-1].write_text(
            scenario_report_html(table, residual=residual, projects=projects), encoding="utf-8"
        )
        written.append(folder / "scenarios_map.html")
        scenario_map(existing, scen, ranges=ranges).save(str(written[-1]))
    return table, [Path(out_dir) / staged.final(p).relative_to(staged.out) for p in written]
