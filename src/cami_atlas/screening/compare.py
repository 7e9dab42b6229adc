"""Compare alternative alignments side by side (which one costs least?)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .._atomic import atomic_path
from ..errors import EmptyLayerError, OutputExistsError, SchemaError
from .screen import ScreeningResult, screen_route

__all__ = ["RouteComparison", "compare_routes", "split_scenarios", "write_comparison"]

_PALETTE = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
            "#999999"]


@dataclass
class RouteComparison:
    """Result of :func:`compare_routes`.

    Attributes
    ----------
    table : DataFrame
        One row per scenario (index), the columns of
        :meth:`ScreeningResult.overview` (km in ranges by class, corridor crossings,
        protected areas, fragmentation and connectivity change, flags).
    species : DataFrame
        Long table: scenario × species with km in range ∪ corridor, class, corridor
        crossings, conductance loss and mesh-size change.
    results : dict
        The :class:`ScreeningResult` of each scenario.
    """

    table: pd.DataFrame
    species: pd.DataFrame
    results: dict[str, ScreeningResult]

    def map(self, *, basemap: str | None = "OpenStreetMap") -> Any:
        """A folium map with each alignment (coloured) and its crossing candidates."""
        from ..maps import add_points, add_vector, build_map

        m = build_map(title="Route comparison", basemap=basemap)
        for i, (name, res) in enumerate(self.results.items()):
            color = _PALETTE[i % len(_PALETTE)]
            seg = res.segments[["segment_id", "from_km", "to_km", "length_km", "country",
                                "barrier_classes", "most_severe_class", "geometry"]]
            add_vector(m, seg, name=f"Alignment: {name}", color=color, weight=4,
                       tooltip_column="most_severe_class")
            if len(res.crossing_candidates):
                add_points(m, res.crossing_candidates, name=f"Crossing candidates: {name}",
                           color=color, cluster=False, show=False)
        return m


def split_scenarios(routes: gpd.GeoDataFrame,
                    column: str = "scenario") -> dict[str, gpd.GeoDataFrame]:
    """Split one route layer into scenarios by a column.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> g = gpd.GeoDataFrame({"scenario": ["a", "b"]}, geometry=[LineString([(0, 0), (1, 1)]),
    ...                      LineString([(0, 1), (1, 0)])], crs="EPSG:4326")
    >>> list(split_scenarios(g))
    ['a', 'b']
    """
    if column not in routes.columns:
        raise SchemaError(f"the route layer has no column {column!r} naming the scenarios; "
                          f"columns: {', '.join(map(str, routes.columns))}.")
    names = routes[column].astype(str)
    return {n: routes[names == n] for n in pd.unique(names)}


def compare_routes(routes: Mapping[str, gpd.GeoDataFrame | gpd.GeoSeries], atlas: Any = None,
                   **options: Any) -> RouteComparison:
    """Screen several alignments with the same options and tabulate them side by side.

    Parameters
    ----------
    routes : mapping name -> GeoDataFrame/GeoSeries
        The alternatives (e.g. ``{"northern": gdf1, "southern": gdf2}``).
    atlas : Atlas, path or None
        As for :func:`screen_route`.
    **options
        Passed to :func:`screen_route` (``infra_type`` is required). With ``species``
        unset, every scenario reports the species near *any* alignment, so the rows
        compare the same species.

    Returns
    -------
    RouteComparison

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> a = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> b = gpd.GeoSeries([LineString([(66.9, 47.8), (66.95, 47.85)])], crs="EPSG:4326")
    >>> cmp = compare_routes({"long": a, "short": b}, infra_type="railway",
    ...                      attributes={"track": "double"}, buffers_km=(2,),
    ...                      species="saiga", connectivity=False)
    >>> cmp.table["km_in_ranges_complete_barrier"].round(1).to_dict()
    {'long': 66.9, 'short': 6.7}
    """
    if not isinstance(routes, Mapping) or not routes:
        raise EmptyLayerError("compare_routes needs a non-empty mapping name -> route.")
    if "name" in options:
        raise SchemaError("compare_routes names each scenario by its key; do not pass name=.")
    options = dict(options)
    paths = options.pop("route_paths", {}) or {}
    if options.get("species") is None:
        # the union of the species near any alignment, so rows compare alike
        first = {n: screen_route(r, atlas, name=str(n), route_path=paths.get(n),
                                 **{**options, "connectivity": False})
                 for n, r in routes.items()}
        union = sorted({s for res in first.values() for s in res.species["species"]})
        options["species"] = union or None
    results = {str(n): screen_route(r, atlas, name=str(n), route_path=paths.get(n), **options)
               for n, r in routes.items()}
    table = pd.DataFrame([res.overview() for res in results.values()])
    table.index.name = "scenario"
    cols = ["species", "barrier_class", "km_in_range_or_corridor", "n_corridor_crossings",
            "cross_conductance_loss_pct", "m_eff_change_pct"]
    species = pd.concat([res.species[[c for c in cols if c in res.species.columns]]
                         .assign(scenario=name) for name, res in results.items()],
                        ignore_index=True)
    species = species[["scenario", *[c for c in cols if c in species.columns]]]
    return RouteComparison(table, species, results)


def write_comparison(comparison: RouteComparison, out_dir: str | os.PathLike[str], *,
                     overwrite: bool = False, pdf: bool = False,
                     basemap: str | None = "OpenStreetMap",
                     command: str | None = None) -> list[Path]:
    """Write the comparison (``comparison.csv``, ``comparison_species.csv``,
    ``comparison_map.html``, ``comparison_report.html``) and each scenario's screening in a
    sub-folder named after it.

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is false (nothing is written).
    """
    from ..maps import save_map
    from ..report import data_sources, render_report, reproducibility, write_report
    from .export import output_names

    out = Path(out_dir)
    top = ["comparison.csv", "comparison_species.csv", "comparison_map.html",
           "comparison_report.html"] + (["comparison_report.pdf"] if pdf else [])
    existing = [n for n in top if (out / n).exists()]
    for name in comparison.results:
        existing += [f"{name}/{n}" for n in output_names(pdf=pdf) if (out / name / n).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out} already holds {', '.join(existing[:6])}{' ...' if len(existing) > 6 else ''};"
            " pass overwrite=True (--overwrite) to replace them or choose another folder.")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, res in comparison.results.items():
        written += res.write(out / name, overwrite=overwrite, pdf=pdf, basemap=basemap,
                             command=command)
    with atomic_path(out / "comparison.csv", overwrite=overwrite) as tmp:
        comparison.table.to_csv(tmp)
    written.append(out / "comparison.csv")
    with atomic_path(out / "comparison_species.csv", overwrite=overwrite) as tmp:
        comparison.species.to_csv(tmp, index=False)
    written.append(out / "comparison_species.csv")
    written.append(save_map(comparison.map(basemap=basemap), out / "comparison_map.html",
                            overwrite=overwrite))
    first = next(iter(comparison.results.values()))
    inputs: dict[str, Any] = {}
    for res in comparison.results.values():
        inputs.update(res.inputs)
    table = comparison.table.reset_index()
    html = render_report("comparison.html.j2", {
        "title": "Route comparison",
        "subtitle": f"{len(comparison.results)} alignments screened with the same options",
        "table": table,
        "species_table": comparison.species,
        "scenarios": list(comparison.results),
        "parameters": {k: v for k, v in first.parameters.items() if k != "scenario"},
        "sources": (None if first.atlas is None
                    else data_sources(first.atlas, first.layers_used)),
        "reproducibility": reproducibility(inputs, command=command),
        "notes": first.notes,
        "map_file": "comparison_map.html",
    })
    written += write_report(html, out / "comparison_report.html", pdf=pdf, overwrite=overwrite)
    return written
