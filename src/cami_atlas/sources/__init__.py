"""Mappings from the attribute conventions of data sources onto the atlas layer model.

Each module turns a GeoDataFrame read from one kind of source into columns of the
atlas schema (:mod:`cami_atlas.schema`); :func:`cami_atlas.io.read_layer` applies
them (``mapping="auto"`` detects the source).

``cami_atlas.sources.osm``            OpenStreetMap tags (``.osm.pbf`` files and tag tables)
``cami_atlas.sources.iucn``           IUCN Red List spatial data (presence, origin, seasonal codes)
``cami_atlas.sources.cami2017``       files using the field names of the 2017 CAMI data dictionary
``cami_atlas.sources.natural_earth``  Natural Earth layers
``cami_atlas.sources.phylacine``      PHYLACINE 1.2.1 species ranges

Import the module you need (``from cami_atlas.sources import osm``); nothing is
imported eagerly here.
"""

from __future__ import annotations

__all__: list[str] = []
