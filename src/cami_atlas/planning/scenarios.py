"""Scenarios of planned infrastructure and their cumulative impact against the existing network.

A scenario is a named set of projects (lines). For every species, :func:`scenario_impact`
measures the existing network, the network with each project alone and with all projects of
the scenario together, and reports one tidy row per (scenario, species, metric):

``existing``, ``with_scenario``, ``change`` (= with_scenario - existing),
``sum_of_single_changes`` (sum over projects of the change each causes alone) and
``interaction`` (= change - sum_of_single_changes: how far the joint impact differs from the
sum of the parts; negative for a loss metric means the projects together do more harm than
added up).

Metrics (see ``docs/planning.md``):

- ``km_in_range_<class>``: km (geodesic, WGS84) of lines of each barrier class inside the
  species' range;
- ``corridor_crossings``: points where lines cross the species' corridor polygons' boundaries
  and migration routes (with ``corridors``; :func:`cami_atlas.barriers.corridor_crossings`);
- ``track_crossings``: GPS-track steps of the species that cross the lines (with ``tracks``;
  :func:`cami_atlas.barriers.track_crossings`);
- ``m_eff_km2``: effective mesh size of the range cut by lines that are a barrier to it
  (:func:`cami_atlas.barriers.effective_mesh_size`, CUT);
- ``ECA`` and ``effective_conductance`` (with ``cores`` and a resistance ``grid``): lines burnt
  into the grid (complete barrier: impassable; partial barrier: resistance x
  ``partial_factor``), effective resistance between the cores
  (:func:`cami_atlas.connectivity.effective_resistance`), the probability-of-connectivity ECA
  of the core graph (:func:`cami_atlas.connectivity.patchgraph.connectivity_indices`), and the
  sum over core pairs of 1 / effective resistance;
- ``omniscape_current`` (with ``grid`` and ``omniscape_radius``): the mean cumulative
  Omniscape current (A per cell; :func:`cami_atlas.connectivity.omniscape.omniscape`,
  sources from resistance) over the grid cells of the species' range, lines burnt into the
  grid as above: how much wall-to-wall flow the range carries.

Mitigation (crossing structures) is given as points with ``species`` and ``structure_type``:
each reopens the barrier for that species within ``crossing_width_m`` of the point (the line
is cut there for the mesh size; the grid cells under the opening get their resistance
without the line back).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import rasterize

from cami_atlas.barriers.classify import classify_barriers
from cami_atlas.barriers.crossings import corridor_crossings, track_crossings
from cami_atlas.barriers.fragmentation import effective_mesh_size
from cami_atlas.connectivity.circuit import effective_resistance
from cami_atlas.connectivity.patchgraph import connectivity_indices, patch_graph
from cami_atlas.errors import DisconnectedGraphWarning, MissingColumnError, SchemaError
from cami_atlas.measure import geodesic_length_km
from cami_atlas.raster import Grid
from cami_atlas.schema import BARRIER_CLASSES

__all__ = ["HIGHER_IS_BETTER", "TABLE_COLUMNS", "scenario_impact"]

#: Columns of the tidy scenario table.
TABLE_COLUMNS: tuple[str, ...] = (
    "scenario",
    "species",
    "metric",
    "existing",
    "with_scenario",
    "change",
    "sum_of_single_changes",
    "interaction",
)
#: Metrics where a larger value is better connectivity (a loss is a negative change).
HIGHER_IS_BETTER: tuple[str, ...] = ("m_eff_km2", "ECA", "effective_conductance",
                                     "omniscape_current")
_CUTTING = ("partial barrier", "complete barrier")


def _lines(gdf: gpd.GeoDataFrame, crs: object, what: str) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(f"{what} must be a GeoDataFrame of lines; got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise SchemaError(f"{what} has no CRS; set one (e.g. gdf.set_crs('EPSG:4326')).")
    return gdf.to_crs(crs)


def _classes(infra: gpd.GeoDataFrame, species: str, matrix: object) -> np.ndarray:
    if len(infra) == 0:
        return np.array([], dtype=object)
    if "barrier_class" in infra.columns:
        return infra["barrier_class"].fillna("unknown").to_numpy(dtype=object)
    return classify_barriers(infra, species, matrix=matrix).to_numpy(dtype=object)


def _reopen(
    geoms: np.ndarray, mitigation: gpd.GeoDataFrame | None, species: str, width_m: float
) -> np.ndarray:
    if mitigation is None or len(mitigation) == 0:
        return geoms
    pts = mitigation.geometry.to_numpy()[(mitigation["species"] == species).to_numpy()]
    if len(pts) == 0:
        return geoms
    gaps = shapely.union_all(shapely.buffer(pts, width_m / 2.0))
    return shapely.difference(geoms, gaps)


def _touched(grid: Grid, geoms: list) -> np.ndarray:
    """Cells of ``grid`` that ``geoms`` touch (all_touched rasterization)."""
    return rasterize(geoms, out_shape=grid.shape, transform=grid.transform, fill=0,
                     default_value=1, all_touched=True, dtype="uint8").astype(bool)


def _burn(
    grid: Grid,
    geoms: np.ndarray,
    classes: np.ndarray,
    partial_factor: float,
    openings: np.ndarray | None = None,
) -> np.ndarray:
    r = np.array(grid.values, dtype=float, copy=True)
    for cls, value in (("partial barrier", None), ("complete barrier", np.inf)):
        sel = [g for g in geoms[classes == cls] if g is not None and not g.is_empty]
        if not sel:
            continue
        mask = _touched(grid, sel) & np.isfinite(r) & ~np.isnan(r)
        r[mask] = np.inf if value is not None else r[mask] * partial_factor
    if openings is not None and len(openings):
        # a crossing structure reopens the cells it lies in to their resistance without line
        mask = _touched(grid, list(openings))
        r[mask] = np.asarray(grid.values, dtype=float)[mask]
    return r


class _Context:
    """Inputs of one species, shared by every network evaluated."""

    def __init__(
        self,
        species,
        range_poly,
        corridor,
        cores,
        grid,
        crs,
        matrix,
        dispersal_distance,
        partial_factor,
        neighbours,
        mitigation,
        width_m,
        tracks=None,
        omniscape_radius=None,
    ):
        self.tracks = tracks
        self.omniscape_radius = omniscape_radius
        self.species, self.range_poly, self.corridor = species, range_poly, corridor
        self.cores, self.grid, self.crs, self.matrix = cores, grid, crs, matrix
        self.dispersal_distance, self.partial_factor = dispersal_distance, partial_factor
        self.neighbours, self.mitigation, self.width_m = neighbours, mitigation, width_m

    def metrics(self, infra: gpd.GeoDataFrame, *, mitigated: bool = False) -> dict[str, float]:
        geoms = infra.geometry.to_numpy()
        classes = _classes(infra, self.species, self.matrix)
        out: dict[str, float] = {}
        inside = shapely.intersection(geoms, self.range_poly) if len(geoms) else geoms
        km = (
            geodesic_length_km(gpd.GeoSeries(inside, crs=self.crs)).to_numpy()
            if len(geoms)
            else np.array([])
        )
        for cls in BARRIER_CLASSES:
            out[f"km_in_range_{cls.replace(' ', '_')}"] = float(km[classes == cls].sum())
        if self.corridor is not None:
            out["corridor_crossings"] = float(
                len(corridor_crossings(infra, self.corridor, matrix=self.matrix).points)
                if len(infra)
                else 0.0
            )
        if self.tracks is not None:
            out["track_crossings"] = float(
                len(track_crossings(self.tracks, infra, matrix=self.matrix)) if len(infra) else 0.0
            )
        openings = None
        if mitigated:
            geoms = _reopen(geoms, self.mitigation, self.species, self.width_m)
            sel = (self.mitigation["species"] == self.species).to_numpy()
            openings = shapely.buffer(self.mitigation.geometry.to_numpy()[sel], self.width_m / 2.0)
        cutting = geoms[np.isin(classes, _CUTTING)]
        area = gpd.GeoSeries([self.range_poly], crs=self.crs)
        m = effective_mesh_size(area, gpd.GeoSeries(cutting, crs=self.crs), crs=self.crs)
        out["m_eff_km2"] = float(m["m_eff_km2"].iloc[0])
        r = None
        if self.grid is not None:
            r = Grid(
                _burn(self.grid, geoms, classes, self.partial_factor, openings),
                self.grid.transform,
                self.grid.crs,
            )
        if r is not None and self.omniscape_radius is not None:
            from cami_atlas.connectivity.omniscape import omniscape

            cum = omniscape(r, radius=int(self.omniscape_radius)).cumulative_current.values
            in_range = rasterize([self.range_poly], out_shape=r.shape, transform=r.transform,
                                 fill=0, default_value=1, dtype="uint8").astype(bool)
            vals = cum[in_range & np.isfinite(cum)]
            out["omniscape_current"] = float(vals.mean()) if vals.size else 0.0
        if self.cores is not None and r is not None:
            xy = shapely.get_coordinates(self.cores.geometry.centroid.to_numpy())
            with warnings.catch_warnings():  # cut-off cores are the point of the exercise
                warnings.simplefilter("ignore", DisconnectedGraphWarning)
                d = effective_resistance(r, xy, neighbours=self.neighbours, method="direct")
            area_core = pd.Series(self.cores["area_km2"].to_numpy(dtype=float), index=d.index)
            g = patch_graph(area_core, d.to_numpy())
            out["ECA"] = float(
                connectivity_indices(g, dispersal_distance=self.dispersal_distance)["ECA"]
            )
            dv = d.to_numpy()
            iu = np.triu_indices(len(dv), 1)
            with np.errstate(divide="ignore"):
                out["effective_conductance"] = float(np.sum(1.0 / dv[iu]))
        return out


def _of_species(gdf: gpd.GeoDataFrame | None, species: str, what: str):
    if gdf is None:
        return None
    if "species" not in gdf.columns:
        raise MissingColumnError(
            f"{what} has no column 'species'; add one naming the species of every feature."
        )
    return gdf[(gdf["species"] == species).to_numpy()]


def _species_geoms(gdf: gpd.GeoDataFrame | None, species: str, what: str):
    if gdf is None:
        return None
    if "species" not in gdf.columns:
        raise MissingColumnError(
            f"{what} has no column 'species'; add one naming the species of every feature."
        )
    sel = gdf[gdf["species"] == species]
    return shapely.union_all(sel.geometry.to_numpy()) if len(sel) else None


def _check_inputs(cores: gpd.GeoDataFrame | None, grid: Grid | None,
                  dispersal_distance: float | None, omniscape_radius: int | None,
                  mitigation: gpd.GeoDataFrame | None) -> None:
    """The options of :func:`scenario_impact` that go together, and the columns needed.

    The circuit metrics need ``cores``, ``grid`` and ``dispersal_distance`` together; the
    Omniscape metric needs ``grid`` (alone is enough when neither of the other two is
    given).
    """
    if omniscape_radius is not None and (grid is None or not int(omniscape_radius) >= 1):
        raise SchemaError(
            f"omniscape_radius={omniscape_radius!r} needs a resistance grid= and a radius of "
            "at least 1 cell."
        )
    circuit = cores is not None or dispersal_distance is not None
    if (circuit or omniscape_radius is None) and (
        (cores is None) != (grid is None) or (cores is not None and dispersal_distance is None)
    ):
        raise SchemaError(
            "cores, grid and dispersal_distance go together: give all three "
            "for ECA and effective conductance, or none."
        )
    if cores is not None and "area_km2" not in cores.columns:
        raise MissingColumnError("cores has no column 'area_km2'; add the area of each core.")
    for col in ("species", "structure_type") if mitigation is not None else ():
        if col not in mitigation.columns:
            raise MissingColumnError(
                f"mitigation has no column {col!r}; crossing points need 'species' and "
                "'structure_type' (as planning crossing placement writes them)."
            )


def scenario_impact(
    existing: gpd.GeoDataFrame,
    scenarios: Mapping[str, Mapping[str, gpd.GeoDataFrame]],
    ranges: gpd.GeoDataFrame,
    *,
    corridors: gpd.GeoDataFrame | None = None,
    tracks: gpd.GeoDataFrame | None = None,
    cores: gpd.GeoDataFrame | None = None,
    grid: Grid | None = None,
    dispersal_distance: float | None = None,
    species: list[str] | None = None,
    matrix: object = None,
    partial_factor: float = 10.0,
    neighbours: int = 8,
    mitigation: gpd.GeoDataFrame | None = None,
    crossing_width_m: float = 500.0,
    crs: str | None = None,
    omniscape_radius: int | None = None,
) -> pd.DataFrame:
    """Cumulative impact of each scenario of planned projects, per species and metric.

    Parameters
    ----------
    existing : GeoDataFrame
        The existing network (lines with ``infra_type`` and the attributes the barrier
        matrix rates, or a ``barrier_class`` column that holds for every species).
    scenarios : mapping of str to mapping of str to GeoDataFrame
        ``{scenario: {project: lines}}``; a scenario may have no project.
    ranges : GeoDataFrame
        Species ranges (polygons) with ``species``.
    corridors : GeoDataFrame, optional
        Corridor polygons and migration-route lines with ``species``: adds ``corridor_crossings``.
    tracks : GeoDataFrame, optional
        GPS fixes with ``species``, ``individual``, ``timestamp``: adds ``track_crossings``
        (steps that cross the lines, :func:`cami_atlas.barriers.track_crossings`).
    cores : GeoDataFrame, optional
        Habitat cores with ``area_km2`` (and ``species``, else used for every species);
        with ``grid`` and ``dispersal_distance`` adds ``ECA`` and ``effective_conductance``.
    grid : Grid, optional
        Coarse resistance grid (finite > 0; CRS = ``crs``).
    dispersal_distance : float, optional
        Effective resistance at which the dispersal probability is 0.5.
    species : list of str, optional
        Species to report (default: all of ``ranges``).
    matrix : optional
        Barrier matrix for :func:`cami_atlas.barriers.classify_barriers`.
    partial_factor : float, default 10
        Resistance multiplier of cells under a partial barrier.
    neighbours : {4, 8}, default 8
        Grid connectivity for the circuit.
    mitigation : GeoDataFrame, optional
        Crossing points with ``species`` and ``structure_type``; adds ``with_mitigation`` and
        ``residual_change`` (= with_mitigation - existing) columns. Km and corridor crossing
        counts are not changed by mitigation.
    crossing_width_m : float, default 500
        Width of line reopened by one crossing structure.
    crs : str, optional
        Metric CRS of the analysis (default: the grid's, else ``ESRI:102025``).
    omniscape_radius : int, optional
        With ``grid``: adds ``omniscape_current`` (Omniscape window radius in cells).

    Returns
    -------
    DataFrame
        :data:`TABLE_COLUMNS` (and the mitigation columns).

    Examples
    --------
    A 100 km square range cut by one planned line at x = 30 km:

    >>> import geopandas as gpd, shapely
    >>> crs = "ESRI:102025"
    >>> rng = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...                        geometry=[shapely.box(0, 0, 100_000, 100_000)], crs=crs)
    >>> none = gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=crs)
    >>> line = gpd.GeoDataFrame({"barrier_class": ["complete barrier"]},
    ...     geometry=[shapely.LineString([(30_000, -1), (30_000, 100_001)])], crs=crs)
    >>> t = scenario_impact(none, {"A": {"Hypothetical line A": line}}, rng)
    >>> row = t.set_index("metric").loc["m_eff_km2"]
    >>> float(row["existing"]), float(row["with_scenario"])
    (10000.0, 5800.0)

    Long only through this documentation; the body is about 70 lines (check the inputs,
    then per species: the existing network, each scenario together and each project
    alone).
    """
    crs = crs or (str(grid.crs) if grid is not None and grid.crs is not None else "ESRI:102025")
    _check_inputs(cores, grid, dispersal_distance, omniscape_radius, mitigation)
    if mitigation is not None:
        mitigation = _lines(mitigation, crs, "mitigation")
    base = _lines(existing, crs, "existing network")
    projects = {
        s: {p: _lines(g, crs, f"project {p!r} of scenario {s!r}") for p, g in prj.items()}
        for s, prj in scenarios.items()
    }
    ranges = _lines(ranges, crs, "ranges")
    corridors = None if corridors is None else _lines(corridors, crs, "corridors")
    tracks = None if tracks is None else _lines(tracks, crs, "tracks")
    chosen = species or list(pd.unique(ranges["species"]))
    rows = []
    for sp in chosen:
        range_poly = _species_geoms(ranges, sp, "ranges")
        if range_poly is None:
            raise SchemaError(
                f"ranges have no polygon for species {sp!r}; known: "
                f"{sorted(map(str, pd.unique(ranges['species'])))}."
            )
        sp_cores = None
        if cores is not None:
            c = _lines(cores, crs, "cores")
            sp_cores = c[c["species"] == sp] if "species" in c.columns else c
        ctx = _Context(
            sp,
            range_poly,
            _of_species(corridors, sp, "corridors"),
            sp_cores,
            grid,
            crs,
            matrix,
            dispersal_distance,
            partial_factor,
            neighbours,
            mitigation,
            crossing_width_m,
            _of_species(tracks, sp, "tracks"),
            omniscape_radius,
        )
        m0 = ctx.metrics(base)
        single_cache: dict[int, dict[str, float]] = {}
        for scen, prj in projects.items():
            together = pd.concat([base, *prj.values()], ignore_index=True) if prj else base
            together = gpd.GeoDataFrame(together, geometry=together.geometry.name, crs=crs)
            m_all = ctx.metrics(together)
            m_mit = ctx.metrics(together, mitigated=True) if mitigation is not None else None
            singles = []
            for g in prj.values():
                key = id(g)
                if key not in single_cache:
                    one = pd.concat([base, g], ignore_index=True)
                    single_cache[key] = ctx.metrics(
                        gpd.GeoDataFrame(one, geometry=one.geometry.name, crs=crs)
                    )
                singles.append(single_cache[key])
            for metric, v0 in m0.items():
                change = m_all[metric] - v0
                ssum = float(sum(s[metric] - v0 for s in singles))
                row = {
                    "scenario": scen,
                    "species": sp,
                    "metric": metric,
                    "existing": v0,
                    "with_scenario": m_all[metric],
                    "change": change,
                    "sum_of_single_changes": ssum,
                    "interaction": change - ssum,
                }
                if m_mit is not None:
                    row["with_mitigation"] = m_mit[metric]
                    row["residual_change"] = m_mit[metric] - v0
                rows.append(row)
    cols = list(TABLE_COLUMNS) + (
        ["with_mitigation", "residual_change"] if mitigation is not None else []
    )
    return pd.DataFrame(rows, columns=cols)
