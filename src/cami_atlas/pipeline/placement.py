"""Crossing placement as a job: where k crossing structures on a line restore most.

:func:`run_placement` builds the species' resistance around a line from an atlas (the
connectivity workflow: base layers, the existing infrastructure burned in by barrier
class, habitat cores from the range), closes the line, and chooses the openings with
:func:`cami_atlas.planning.crossing_placement`; :func:`write_placement` writes

=============================  =============================================================
``crossing_placement.gpkg``    layers ``openings`` (the chosen pieces, in order, with their
                               gain), ``candidates`` (every piece with its gain alone),
                               ``line`` and ``cores``
``crossing_openings.csv``      the openings: order, position along the line (km), gain,
                               cumulative gain and share of the gain of all k
``gain_curve.csv``             cumulative gain against k (k = 0 ... k)
``gain_curve.png``             the curve, with the gain of each opening as bars
``resistance.tif``             the species' resistance without the line
``placement_report.md``        the report section: settings, the openings, where more
                               structures stop paying (the smallest k reaching 90 % of
                               the gain of all k), the catalogue measures for the
                               structure type
``placement_parameters.json``  options and the reference value of the metric
=============================  =============================================================

The gain is the effective conductance between the cores regained (summed over pairs,
1/Ω) with the line's openings against the line closed, or the equivalent connected area
(km²) with ``dispersal_resistance``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .._atomic import atomic_path, prepare_outputs, write_text_atomic
from ..atlas import Atlas
from ..errors import SchemaError
from ..planning.placement import CrossingPlacement, crossing_placement
from ..raster import Grid

__all__ = ["OUTPUTS", "PlacementJob", "run_placement", "write_placement"]

log = logging.getLogger(__name__)

#: Files :func:`write_placement` writes.
OUTPUTS: tuple[str, ...] = ("crossing_placement.gpkg", "crossing_openings.csv",
                            "gain_curve.csv", "gain_curve.png", "resistance.tif",
                            "placement_report.md", "placement_parameters.json")
#: Share of the gain of all k that marks "more structures stop paying".
PAYING_SHARE = 0.9


@dataclass
class PlacementJob:
    """Everything :func:`run_placement` computed."""

    species: str
    result: CrossingPlacement
    base: Grid
    line: gpd.GeoDataFrame
    cores: gpd.GeoDataFrame
    parameters: dict[str, Any]

    @property
    def k_paying(self) -> int:
        """The smallest k whose cumulative gain reaches :data:`PAYING_SHARE` of all k's."""
        curve = self.result.curve
        total = float(curve["cumulative_gain"].iloc[-1])
        if total <= 0:
            return 0
        reached = curve[curve["cumulative_gain"] >= PAYING_SHARE * total - 1e-12 * total]
        return int(reached["k"].iloc[0])


def run_placement(
    atlas: Atlas | None,
    line: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    species: str,
    k: int,
    step_km: float | None = None,
    min_spacing_km: float = 0.0,
    structure_type: str = "crossing structure",
    search: str = "greedy",
    window_km: float = 100.0,
    cell_size_m: float = 5000.0,
    dem: str = "dem_etopo5",
    n_cores: int = 6,
    dispersal_resistance: float | None = None,
    barrier_resistance: float = np.inf,
    method: str = "mixed",
) -> PlacementJob:
    """Choose where k openings of ``line`` restore most connectivity for ``species``.

    Parameters
    ----------
    atlas : Atlas or None
        Default: the embedded default atlas.
    line : GeoDataFrame or GeoSeries
        The route or existing line (any CRS).
    species : str
        Any name :func:`cami_atlas.barriers.species.resolve_species` knows.
    k : int
        Number of openings.
    step_km : float, optional
        Length of a candidate piece (default one cell).
    min_spacing_km : float
        Least distance along the line between two openings.
    structure_type : str
        The structure the openings stand for (a measure of the mitigation catalogue).
    search : {"greedy", "exhaustive"}
    window_km : float
        Margin around the line's extent for the resistance grid.
    cell_size_m : float
        Cell size of the resistance grid.
    dem : str
        DEM layer of the atlas for the slope term (default the region-wide ETOPO5).
    n_cores : int
        Habitat cores taken from the species' range in the window.
    dispersal_resistance : float, optional
        Effective resistance (Ω) between two cores at which the dispersal probability is
        0.5; with it the gain is ECA (km², the cores' areas as attributes), else the
        effective conductance between the cores.
    barrier_resistance : float
        Resistance of the closed line (``inf``: impassable, as a fence).
    method : str
        Circuit solver (``mixed``, ``amg`` or ``direct``).

    Examples
    --------
    >>> from shapely import LineString
    >>> line = gpd.GeoSeries([LineString([(66.6, 47.6), (67.6, 48.4)])], crs="EPSG:4326")
    >>> job = run_placement(None, line, species="saiga", k=2, cell_size_m=20_000,
    ...                     window_km=150, n_cores=3, method="direct")
    >>> len(job.result.chosen), bool(job.result.chosen["gain"].iloc[0] > 0)
    (2, True)
    """
    from ..connectivity.workflow import run_connectivity
    from ..measure import window_bounds
    from ..screening.route import check_route

    atlas = atlas if atlas is not None else Atlas.default()
    line = check_route(line, atlas.region, what="line")
    if not window_km > 0 or not cell_size_m > 0:
        raise SchemaError(f"window_km and cell_size_m must be > 0; got {window_km}, "
                          f"{cell_size_m}.")
    bbox = window_bounds(line, window_km)
    log.debug("placement window %s at %g m cells", bbox, cell_size_m)
    conn = run_connectivity(atlas, species=species, bbox=bbox, cell_size_m=cell_size_m,
                            dem=dem, n_cores=n_cores, modes=("cost_distance",),
                            solver=method)  # resistance and cores only
    base = conn.resistance
    cores = conn.cores
    line_grid = line.to_crs(base.crs)
    attributes = None
    if dispersal_resistance is not None:
        attributes = cores.set_index("core_id")["area_km2"]
    result = crossing_placement(
        base, line_grid, cores.set_index("core_id").geometry, k,
        step_m=None if step_km is None else step_km * 1000,
        min_spacing_m=min_spacing_km * 1000, structure_type=structure_type,
        search=search, barrier_resistance=barrier_resistance, attributes=attributes,
        dispersal_distance=dispersal_resistance, method=method)  # type: ignore[arg-type]
    params = {"species": conn.species, "k": k, "step_km": step_km,
              "min_spacing_km": min_spacing_km, "structure_type": structure_type,
              "search": search, "window_km": window_km, "cell_size_m": cell_size_m,
              "dem": dem, "n_cores": n_cores, "dispersal_resistance": dispersal_resistance,
              "barrier_resistance": "inf" if np.isinf(barrier_resistance)
              else barrier_resistance, "method": method, "metric": result.metric,
              "reference": result.reference, "bbox": list(bbox), "crs": base.crs.to_string()}
    return PlacementJob(conn.species, result, base, line_grid, cores, params)


def _openings_table(job: PlacementJob) -> pd.DataFrame:
    chosen = job.result.chosen
    total = float(chosen["gain"].sum())
    table = pd.DataFrame({
        "order": chosen["order"].to_numpy(),
        "piece": chosen["piece"].to_numpy(),
        "along_km": chosen["along_m"].to_numpy() / 1000,
        "gain": chosen["gain"].to_numpy(),
        "cumulative_gain": chosen["cumulative_gain"].to_numpy(),
        "share_of_total": chosen["gain"].to_numpy() / total if total > 0 else np.nan,
        "structure_type": chosen["structure_type"].to_numpy(),
    })
    centres = chosen.geometry.interpolate(0.5, normalized=True).to_crs(4326)
    table["lon"], table["lat"] = centres.x.to_numpy(), centres.y.to_numpy()
    return table


def _unit(metric: str) -> str:
    return "km² of ECA" if metric == "delta_eca" else "1/Ω of effective conductance"


def _report(job: PlacementJob, openings: pd.DataFrame, catalogue: pd.DataFrame | None) -> str:
    p = job.parameters
    unit = _unit(job.result.metric)
    lines = [f"# Crossing placement: {job.species.replace('_', ' ')}", "",
             f"{p['k']} openings ({p['structure_type']}) on a line of "
             f"{job.line.length.sum() / 1000:,.1f} km, candidate pieces of "
             f"{(p['step_km'] or p['cell_size_m'] / 1000):g} km, at least "
             f"{p['min_spacing_km']:g} km apart, chosen "
             f"{'greedily' if p['search'] == 'greedy' else 'by exhaustive search'}; gain in {unit} "
             f"between {len(job.cores)} habitat cores of the species' range (line closed: "
             f"{job.result.reference:.6g}); resistance grid of {p['cell_size_m']:g} m cells "
             f"in {p['crs']}.", "",
             "| order | along (km) | lon | lat | gain | cumulative | share |",
             "|---|---|---|---|---|---|---|"]
    for r in openings.itertuples(index=False):
        lines.append(f"| {r.order} | {r.along_km:,.1f} | {r.lon:.4f} | {r.lat:.4f} | "
                     f"{r.gain:.4g} | {r.cumulative_gain:.4g} | {r.share_of_total:.1%} |")
    k90 = job.k_paying
    lines += ["", f"**Where more structures stop paying:** {k90} of the {p['k']} openings "
              f"give {PAYING_SHARE:.0%} of the gain of all {p['k']} (gain_curve.png).", ""]
    if catalogue is not None and len(catalogue):
        lines += ["## Measures of the mitigation catalogue", ""]
        for r in catalogue.itertuples(index=False):
            lines.append(f"- **{r.measure}** ({r.hierarchy_step}): {r.source}")
        lines.append("")
    return "\n".join(lines)


def write_placement(job: PlacementJob, out_dir: str | os.PathLike[str], *,
                    catalogue: pd.DataFrame | None = None, overwrite: bool = False
                    ) -> list[Path]:
    """Write the outputs of a :class:`PlacementJob` (see the module) into ``out_dir``.

    ``catalogue``: measures of the mitigation catalogue to list in the report (for
    example those of the structure type and species).
    """
    from ..report.table_plots import gain_curve_figure, save_png

    out = prepare_outputs(out_dir, OUTPUTS, overwrite=overwrite)
    written: list[Path] = []
    res = job.result
    openings = _openings_table(job)
    with atomic_path(out / "crossing_placement.gpkg", overwrite=overwrite) as tmp:
        res.chosen.to_file(tmp, layer="openings", driver="GPKG")
        res.candidates.to_file(tmp, layer="candidates", driver="GPKG", mode="a")
        job.line.to_file(tmp, layer="line", driver="GPKG", mode="a")
        job.cores.to_file(tmp, layer="cores", driver="GPKG", mode="a")
    written.append(out / "crossing_placement.gpkg")
    for name, table in (("crossing_openings.csv", openings), ("gain_curve.csv", res.curve)):
        with atomic_path(out / name, overwrite=overwrite) as tmp:
            table.to_csv(tmp, index=False)
        written.append(out / name)
    fig = gain_curve_figure(res.curve, unit=_unit(res.metric), k_paying=job.k_paying,
                            share=PAYING_SHARE,
                            title=f"Crossing placement: {job.species.replace('_', ' ')}")
    written.append(save_png(fig, out / "gain_curve.png", overwrite=overwrite))
    written.append(job.base.to_geotiff(out / "resistance.tif", overwrite=overwrite))
    written.append(write_text_atomic(out / "placement_report.md",
                                     _report(job, openings, catalogue), overwrite=overwrite))
    written.append(write_text_atomic(out / "placement_parameters.json",
                                     json.dumps(job.parameters, indent=2) + "\n",
                                     overwrite=overwrite))
    return written
