"""Lengths and areas in real units: geodesic km on WGS84, km² in an equal-area CRS.

Lengths are computed vertex-to-vertex with :class:`pyproj.Geod` on the WGS84
ellipsoid (vectorised over all segments of all geometries, no loop over rows);
areas by projecting to an equal-area CRS (Asia North Albers Equal Area Conic,
``ESRI:102025``, the CRS of the 2017 CAMI atlas, unless another is given).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from .errors import CRSError

__all__ = ["EQUAL_AREA_CRS", "GEOD", "area_km2", "geodesic_length_km", "require_crs"]

#: Asia North Albers Equal Area Conic, the 2017 CAMI atlas' CRS.
EQUAL_AREA_CRS = "ESRI:102025"
#: The WGS84 ellipsoid.
GEOD = Geod(ellps="WGS84")


def require_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str = "layer") -> None:
    """Raise :class:`CRSError` if ``gdf`` has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> require_crs(gpd.GeoSeries([], crs="EPSG:4326"))
    """
    if gdf.crs is None:
        raise CRSError(
            f"{what} has no CRS; set the CRS the data is actually in "
            "(e.g. .set_crs('EPSG:4326')) before measuring."
        )


def geodesic_length_km(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
    """Geodesic length of each line (or polygon boundary) on the WGS84 ellipsoid, in km.

    The geometries are transformed to EPSG:4326 and every segment's ellipsoidal
    distance is summed per feature; multi-part geometries count every part.
    Polygons give their perimeter; points give 0.

    Returns
    -------
    pandas.Series
        ``length_km`` aligned to the input index.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> s = gpd.GeoSeries([LineString([(0, 0), (1, 0)])], crs="EPSG:4326")
    >>> round(float(geodesic_length_km(s).iloc[0]), 3)  # one degree of the equator
    111.319
    """
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    require_crs(series, "geometries")
    ll = series.to_crs("EPSG:4326") if not series.crs.equals("EPSG:4326") else series
    values = ll.values
    # boundaries for polygons so rings count once
    dims = shapely.get_dimensions(values)
    values = np.where(dims == 2, shapely.boundary(values), values)
    lines, line_idx = shapely.get_parts(values, return_index=True)
    # closed/open rings or lines: take coordinates per part
    coords, part_idx = shapely.get_coordinates(lines, return_index=True)
    lengths = np.zeros(len(series))
    if len(coords) > 1:
        same = part_idx[1:] == part_idx[:-1]
        _, _, d = GEOD.inv(coords[:-1, 0][same], coords[:-1, 1][same],
                           coords[1:, 0][same], coords[1:, 1][same])
        per_part = np.bincount(part_idx[1:][same], weights=d, minlength=len(lines))
        lengths = np.bincount(line_idx, weights=per_part, minlength=len(series))
    return pd.Series(lengths / 1000.0, index=series.index, name="length_km")


def area_km2(geoms: gpd.GeoSeries | gpd.GeoDataFrame, *, crs: str = EQUAL_AREA_CRS) -> pd.Series:
    """Area of each polygon in km², computed in the equal-area ``crs``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> s = gpd.GeoSeries([box(0, 0, 10_000, 10_000)], crs="ESRI:102025")
    >>> float(area_km2(s).iloc[0])
    100.0
    """
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    require_crs(series, "geometries")
    return pd.Series(series.to_crs(crs).area.to_numpy() / 1e6, index=series.index, name="area_km2")
