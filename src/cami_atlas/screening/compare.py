"""Compare alternative alignments side by side (which one costs least?).

The comparison's map and report are drawn by :mod:`cami_atlas.report.screening` and
written by :func:`cami_atlas.pipeline.screening.write_comparison` (still importable
from here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from .._deprecation import moved_names
from ..errors import EmptyLayerError, SchemaError
from .screen import ScreeningResult, screen_route

__all__ = ["RouteComparison", "compare_routes", "split_scenarios"]


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
        """A folium map with each alignment (coloured) and its crossing candidates.

        Deprecated: draw it with :func:`cami_atlas.report.screening.comparison_map`
        (analysis results do not draw themselves); this method calls it, with a
        :class:`DeprecationWarning`.
        """
        import warnings

        warnings.warn("RouteComparison.map() is deprecated; use "
                      "cami_atlas.report.screening.comparison_map(comparison).",
                      DeprecationWarning, stacklevel=2)
        from ..report.screening import comparison_map  # deprecated path: renderer on demand

        return comparison_map(self, basemap=basemap)


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


# write_comparison moved to cami_atlas.pipeline.screening; served from here, quietly
__getattr__ = moved_names(__name__, {"write_comparison": "cami_atlas.pipeline.screening"},
                          quiet=["write_comparison"])
