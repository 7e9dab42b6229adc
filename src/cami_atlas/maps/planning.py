"""Map of planning scenarios: existing network, each scenario's projects dashed (rendering only)."""

from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd
import pandas as pd

from cami_atlas.maps.layers import add_infrastructure, add_ranges, build_map

__all__ = ["scenario_map"]


def scenario_map(
    existing: gpd.GeoDataFrame,
    scenarios: Mapping[str, Mapping[str, gpd.GeoDataFrame]],
    *,
    ranges: gpd.GeoDataFrame | None = None,
    basemap: str | None = None,
    title: str = "Planning scenarios",
) -> folium.Map:
    """A folium map: ranges, the existing network, one toggleable layer per scenario.

    Project lines without a ``status`` are drawn as planned (dashed).

    Examples
    --------
    >>> import shapely
    >>> e = gpd.GeoDataFrame({"infra_type": ["road"]},
    ...     geometry=[shapely.LineString([(60, 45), (61, 45)])], crs=4326)
    >>> p = gpd.GeoDataFrame({"infra_type": ["railway"]},
    ...     geometry=[shapely.LineString([(60.5, 44), (60.5, 46)])], crs=4326)
    >>> m = scenario_map(e, {"A": {"Hypothetical line A": p}})
    >>> isinstance(m, folium.Map)
    True
    """
    m = build_map(basemap=basemap, title=title)
    if ranges is not None and len(ranges):
        add_ranges(m, ranges, show=False)
    if len(existing):
        add_infrastructure(m, existing, name="Existing network")
    for scen, projects in scenarios.items():
        if not projects:
            continue
        frames = []
        for name, g in projects.items():
            g = g.to_crs(4326).assign(project_name=name)
            if "status" not in g.columns:
                g = g.assign(status="planned")
            g["status"] = g["status"].fillna("planned")
            frames.append(g)
        lines = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
        cols = [
            c
            for c in ("project_name", "infra_type", "status", "expected_year")
            if c in lines.columns
        ]
        add_infrastructure(m, lines, name=f"Scenario {scen}", popup_columns=cols)
    return m
