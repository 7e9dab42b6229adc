"""Readers: vector files, OpenStreetMap ``.osm.pbf``, GPS tracks in CSV, rasters.

==========================  =================================================================
``read_vector``             one layer of a GeoPackage, Shapefile (also zipped), GeoJSON,
                            FlatGeobuf, GeoParquet or OSM file, as stored (not validated)
``list_layers``             layer names of a vector file
``read_layer``              read + map source attributes + check CRS + validate against a kind
``read_tracks_csv``         Movebank-style or plain CSV of GPS fixes -> ``tracks`` layer
``read_osm_pbf``            ``.osm.pbf`` -> ``infrastructure`` layer (OSM tag mapping)
``read_raster``             one band of a GeoTIFF -> :class:`cami_atlas.raster.Grid`
==========================  =================================================================

Examples
--------
>>> from cami_atlas.io import SUPPORTED_FORMATS
>>> SUPPORTED_FORMATS[".fgb"]
'FlatGeobuf'
"""

from __future__ import annotations

from ..sources.osm import read_osm_pbf
from .layer import MAPPINGS, detect_mapping, read_layer
from .raster import read_raster
from .tracks import read_tracks_csv
from .vector import ENGINES, SUPPORTED_FORMATS, format_of, list_layers, read_vector

__all__ = [
    "ENGINES",
    "MAPPINGS",
    "SUPPORTED_FORMATS",
    "detect_mapping",
    "format_of",
    "list_layers",
    "read_layer",
    "read_osm_pbf",
    "read_raster",
    "read_tracks_csv",
    "read_vector",
]
