"""The atlas: re-exports of :mod:`cami_atlas.store`, and :func:`layer_summary`.

The store lives in the package :mod:`cami_atlas.store` (the :class:`Atlas` API, the
backend interface, the GeoPackage backend, the write lock); the names below stay
importable from here, unchanged.

Examples
--------
>>> from cami_atlas.atlas import Atlas, default_atlas_path
>>> Atlas.open(default_atlas_path()).kind_of("dem")
'raster'
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from .schema import SCHEMAS
from .store import (
    ATLAS_TABLE,
    DEFAULT_ATLAS_FILE,
    DEFAULT_REGION,
    FORMAT_VERSION,
    LAYERS_TABLE,
    RASTERS_TABLE,
    Atlas,
    check_atlas_file,
    default_atlas_path,
    is_atlas_file,
)

__all__ = [
    "ATLAS_TABLE",
    "DEFAULT_ATLAS_FILE",
    "DEFAULT_REGION",
    "FORMAT_VERSION",
    "LAYERS_TABLE",
    "RASTERS_TABLE",
    "Atlas",
    "check_atlas_file",
    "default_atlas_path",
    "is_atlas_file",
    "layer_summary",
]



def layer_summary(atlas: Atlas) -> pd.DataFrame:
    """One row per layer with what a reader of the atlas wants to know first.

    Columns: ``name, kind, n_features, geometry_type, crs, source, licence,
    length_km, area_km2, length_existing_km, length_under_construction_km,
    length_planned_km, length_proposed_km``. ``length_km`` is the geodesic length on
    WGS84 of line layers (:func:`cami_atlas.measure.geodesic_length_km`); ``area_km2``
    the area of polygon layers in ESRI:102025 (:func:`cami_atlas.measure.area_km2`);
    both are empty where they do not apply (points, rasters). For infrastructure layers
    the ``length_<status>_km`` columns split ``length_km`` by the ``status`` column
    (a missing status counts as existing), so existing and planned lines are never
    summed unseen; they are empty for other kinds. For rasters ``n_features`` is the
    number of cells.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> atlas = Atlas("demo")
    >>> line = gpd.GeoDataFrame({"infra_type": ["road"]},
    ...                         geometry=[LineString([(0, 0), (1, 0)])], crs="EPSG:4326")
    >>> atlas.add_layer("road", line, "infrastructure", source="hand", licence="CC0-1.0")
    >>> round(float(layer_summary(atlas)["length_km"].iloc[0]), 3)  # 1 degree of the equator
    111.319
    """
    from .measure import area_km2, geodesic_length_km

    statuses = SCHEMAS["infrastructure"].column("status").allowed or ()
    by_status = [f"length_{s.replace(' ', '_')}_km" for s in statuses]
    rows = []
    for name in atlas.layer_names():
        info = atlas.layer_info(name)
        length = area = np.nan
        split: dict[str, float] = {}
        if info["kind"] != "raster":
            gdf = atlas.read(name)
            dims = shapely.get_dimensions(gdf.geometry.values)
            if (dims == 1).any():
                lines = gdf.loc[dims == 1]
                km = np.asarray(geodesic_length_km(lines), dtype=float)
                length = float(km.sum())
                if info["kind"] == "infrastructure":
                    status = (lines["status"].astype(object).where(lines["status"].notna(),
                                                                    "existing")
                              if "status" in lines.columns else pd.Series("existing",
                                                                          index=lines.index))
                    split = {col: float(km[(status == s).to_numpy()].sum())
                             for s, col in zip(statuses, by_status, strict=True)}
            if (dims == 2).any():
                area = float(area_km2(gdf.loc[dims == 2]).sum())
        rows.append(dict(name=name, kind=info["kind"], n_features=info["n_features"],
                         geometry_type=info["geometry_type"], crs=info["crs"],
                         source=info["source"], licence=info["licence"],
                         length_km=length, area_km2=area, **split))
    out = pd.DataFrame(rows, columns=["name", "kind", "n_features", "geometry_type", "crs",
                                      "source", "licence", "length_km", "area_km2",
                                      *by_status])
    out["n_features"] = out["n_features"].astype("Int64")
    return out
