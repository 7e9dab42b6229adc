"""A proposed route: input checks, projection and splitting into segments at zone boundaries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import CRSError
from ..measure import geodesic_length_km, to_crs
from ..validate import check_route

__all__ = ["check_route", "project", "split_route"]

def project(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | str) -> gpd.GeoSeries:
    """Geometries reprojected to ``crs`` after densifying (:func:`cami_atlas.measure.to_crs`).

    Edges are cut to at most 10 km (0.0898° in lon/lat) first, so a straight edge keeps
    its course in the CRS it was drawn in.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> s = gpd.GeoSeries([LineString([(70, 45), (72, 45)])], crs="EPSG:4326")
    >>> len(project(s, "ESRI:102025").iloc[0].coords)  # 2° = 222.6 km: 23 pieces
    24
    """
    series = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    return to_crs(series, crs)


def split_route(route: gpd.GeoSeries, zones: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Split route lines wherever they enter or leave a zone; report the zones of each piece.

    Parameters
    ----------
    route : GeoSeries
        Lines in a projected CRS; the index identifies the route feature.
    zones : GeoDataFrame
        Polygons in the same CRS with columns ``kind`` and ``key`` (e.g. ``range`` /
        ``Saiga_tatarica``, ``country`` / ``KAZ``).

    Returns
    -------
    GeoDataFrame
        One row per segment, in order along each route feature: ``route_id``,
        ``part``, ``from_km``, ``to_km``, ``length_km`` (geodesic, WGS84) and one column
        per zone kind holding the ``;``-joined sorted keys of the zones the segment lies
        in (empty string: none). Consecutive pieces in the same zones are merged.

    Notes
    -----
    The route is noded with the zone boundaries in one overlay
    (``shapely.difference`` with the boundaries clipped to the route's bounding box);
    each piece is assigned the zones that contain its midpoint (a piece running along a
    boundary belongs to the zones on both sides). Chainage (``from_km``/``to_km``) is
    the cumulative geodesic length along each route part.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> r = gpd.GeoSeries([LineString([(0, 0), (30_000, 0)])], crs="ESRI:102025")
    >>> z = gpd.GeoDataFrame({"kind": ["range"], "key": ["A"]},
    ...                      geometry=[box(10_000, -5_000, 20_000, 5_000)], crs="ESRI:102025")
    >>> split_route(r, z)["range"].tolist()
    ['', 'A', '']
    """
    if route.crs is None or not route.crs.is_projected:
        raise CRSError(f"split_route needs the route in a projected CRS (metres); got "
                       f"{route.crs.to_string() if route.crs else 'no CRS'}. Project it "
                       "first with project(route, 'ESRI:102025').")
    kinds = list(dict.fromkeys(zones["kind"])) if len(zones) else []
    parts, route_pos = shapely.get_parts(route.values, return_index=True)
    zone_geoms = np.asarray(zones.geometry.values, dtype=object)
    if len(zone_geoms):
        tree = shapely.STRtree(zone_geoms)
        hit = np.unique(tree.query(parts, predicate="intersects")[1])
    else:
        hit = np.zeros(0, dtype=np.int64)
    bounds = shapely.total_bounds(parts)
    pad = 1.0 + 1e-6 * float(np.max(np.abs(bounds)))
    if len(hit):
        edges = shapely.clip_by_rect(shapely.boundary(zone_geoms[hit]), bounds[0] - pad,
                                     bounds[1] - pad, bounds[2] + pad, bounds[3] + pad)
        cutter = shapely.union_all(edges)
        pieces_geom = shapely.difference(parts, cutter)
        along = shapely.intersection(parts, cutter)
        pieces = [pieces_geom, along]
    else:
        pieces = [parts]
    frames = []
    for arr in pieces:
        sub, idx = shapely.get_parts(arr, return_index=True)
        lin = (shapely.get_type_id(sub) == 1) & (shapely.length(sub) > 0)
        frames.append((sub[lin], idx[lin]))
    geoms = np.concatenate([f[0] for f in frames])
    owner = np.concatenate([f[1] for f in frames])
    # orient and order each piece along its route part
    start = shapely.line_locate_point(parts[owner], shapely.get_point(geoms, 0))
    end = shapely.line_locate_point(parts[owner], shapely.get_point(geoms, -1))
    flip = end < start
    if flip.any():
        geoms[flip] = shapely.reverse(geoms[flip])
    pos = np.minimum(start, end)
    order = np.lexsort((pos, owner))
    geoms, owner = geoms[order], owner[order]

    mids = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    members = {k: np.full(len(geoms), "", dtype=object) for k in kinds}
    if len(zone_geoms):
        mi, zi = shapely.STRtree(zone_geoms).query(mids, predicate="intersects")
        pairs = pd.DataFrame({"piece": mi, "kind": zones["kind"].to_numpy()[zi],
                              "key": zones["key"].astype(str).to_numpy()[zi]})
        joined = (pairs.drop_duplicates().sort_values(["piece", "kind", "key"])
                  .groupby(["piece", "kind"])["key"].agg(";".join))
        for (piece, kind), value in joined.items():
            members[kind][piece] = value
    keys = pd.DataFrame(members) if kinds else pd.DataFrame(index=range(len(geoms)))
    signature = keys.astype(str).agg("|".join, axis=1).to_numpy() if kinds else \
        np.full(len(geoms), "")
    new_run = np.ones(len(geoms), dtype=bool)
    new_run[1:] = (owner[1:] != owner[:-1]) | (signature[1:] != signature[:-1])
    run = np.cumsum(new_run) - 1
    merged = shapely.line_merge(shapely.multilinestrings(geoms, indices=run))
    first = np.flatnonzero(new_run)
    crs = route.crs
    length = geodesic_length_km(gpd.GeoSeries(merged, crs=crs)).to_numpy()
    part_of = owner[first]
    cum = pd.Series(length).groupby(part_of).cumsum().to_numpy()
    route_ids = route.index.to_numpy()[route_pos[part_of]]
    part_no = part_of - np.searchsorted(route_pos, route_pos[part_of])
    out = pd.DataFrame({"route_id": route_ids, "part": part_no,
                        "from_km": cum - length, "to_km": cum, "length_km": length})
    for k in kinds:
        out[k] = keys[k].to_numpy()[first]
    return gpd.GeoDataFrame(out, geometry=merged, crs=crs)
