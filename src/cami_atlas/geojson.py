"""GeoJSON that follows RFC 7946: lon/lat on WGS84, right-hand polygons, no ``crs`` member.

RFC 7946 (2016) requires: coordinates in WGS84 longitude, latitude order (section 4);
no ``crs`` member (the 2008 draft's member was removed); polygon exterior rings
counter-clockwise and holes clockwise (the right-hand rule, section 3.1.6); and
recommends six decimal places at most (about 10 cm, section 11.2). Non-finite numbers
are not valid JSON and become ``null``.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Polygon
>>> cw = Polygon([(70, 45), (70, 46), (71, 46), (71, 45)])  # clockwise exterior
>>> doc = to_rfc7946(gpd.GeoDataFrame({"name": ["a"]}, geometry=[cw], crs="EPSG:4326"))
>>> check_rfc7946(doc)
[]
>>> "crs" in doc
False
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._atomic import atomic_path
from .errors import LayerReadError, SchemaError
from .measure import require_crs

__all__ = ["check_rfc7946", "to_rfc7946", "write_geojson"]


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, str | int):
        return value
    return str(value)


def to_rfc7946(gdf: gpd.GeoDataFrame, *, precision: int = 6) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (dict) of ``gdf`` that follows RFC 7946.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Any CRS (must be set); reprojected to EPSG:4326.
    precision : int, default 6
        Decimal places kept (6 ≈ 0.1 m).

    Returns
    -------
    dict
        A FeatureCollection with a ``bbox`` and no ``crs`` member; each feature's
        ``id`` is its index label.
    """
    require_crs(gdf, "layer to export as GeoJSON")
    if not 0 <= precision <= 15:
        raise SchemaError(f"precision={precision} must be between 0 and 15 decimal places.")
    ll = gdf.to_crs("EPSG:4326") if not gdf.crs.equals("EPSG:4326") else gdf
    geoms = ll.geometry.values
    geoms = shapely.transform(geoms, lambda c: np.round(c, precision))
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    props = ll.drop(columns=ll.geometry.name)
    records = props.to_dict(orient="records")
    features = []
    for label, rec, geom in zip(ll.index, records, geoms, strict=True):
        features.append({
            "type": "Feature",
            "id": _jsonable(label),
            "properties": {str(k): _jsonable(v) for k, v in rec.items()},
            "geometry": None if geom is None or shapely.is_empty(geom)
            else json.loads(shapely.to_geojson(geom)),
        })
    present = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": features}
    if len(present):
        b = shapely.total_bounds(present)
        doc["bbox"] = [round(float(v), precision) for v in b]
    return doc


def write_geojson(gdf: gpd.GeoDataFrame, path: str | os.PathLike[str], *, precision: int = 6,
                  overwrite: bool = False) -> Path:
    """Write ``gdf`` as RFC 7946 GeoJSON, atomically.

    Examples
    --------
    >>> import geopandas as gpd, tempfile, pathlib
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"n": [1]}, geometry=[Point(500000, 5000000)], crs="EPSG:32643")
    >>> p = write_geojson(g, pathlib.Path(tempfile.mkdtemp()) / "p.geojson")
    >>> gpd.read_file(p).crs.to_epsg()
    4326
    """
    doc = to_rfc7946(gdf, precision=precision)
    path = Path(path)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")),
                       encoding="utf-8")
    return path


def _ring_area2(coords: list[list[float]]) -> float:
    a = np.asarray(coords, dtype=float)
    x, y = a[:, 0], a[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def check_rfc7946(doc: dict[str, Any] | str | os.PathLike[str]) -> list[str]:
    """List the RFC 7946 violations of a GeoJSON document (empty list = conforming).

    Checks: no ``crs`` member; longitude in [-180, 180] and latitude in [-90, 90];
    polygon exterior rings counter-clockwise and holes clockwise; closed rings.

    Examples
    --------
    >>> check_rfc7946({"type": "FeatureCollection", "crs": {}, "features": []})
    ['top-level `crs` member is not allowed (RFC 7946 section 4)']
    """
    if not isinstance(doc, dict):
        try:
            doc = json.loads(Path(doc).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise LayerReadError(f"could not read GeoJSON {doc}: {exc}") from exc
    problems: list[str] = []
    if "crs" in doc:
        problems.append("top-level `crs` member is not allowed (RFC 7946 section 4)")
    features = doc.get("features", [doc] if doc.get("type") == "Feature" else [])
    for i, feat in enumerate(features):
        if "crs" in feat:
            problems.append(f"feature {i}: `crs` member is not allowed")
        geom = feat.get("geometry")
        if not geom:
            continue
        geometries = geom.get("geometries", [geom])
        for g in geometries:
            coords = np.asarray(
                shapely.get_coordinates(shapely.from_geojson(json.dumps(g))), dtype=float)
            outside = len(coords) and (np.abs(coords[:, 0]).max() > 180
                                       or np.abs(coords[:, 1]).max() > 90)
            if outside:
                problems.append(f"feature {i}: coordinates outside lon [-180, 180] / lat [-90, 90]"
                                " (axis order must be lon, lat)")
            polys = {"Polygon": [g.get("coordinates", [])],
                     "MultiPolygon": g.get("coordinates", [])}.get(g.get("type"), [])
            for poly in polys:
                for k, ring in enumerate(poly):
                    if ring[0] != ring[-1]:
                        problems.append(f"feature {i}: ring {k} is not closed")
                        continue
                    area2 = _ring_area2(ring)
                    if k == 0 and area2 < 0:
                        problems.append(f"feature {i}: exterior ring is clockwise (must be "
                                        "counter-clockwise, RFC 7946 section 3.1.6)")
                    if k > 0 and area2 > 0:
                        problems.append(f"feature {i}: hole {k} is counter-clockwise (must be "
                                        "clockwise)")
    return problems
