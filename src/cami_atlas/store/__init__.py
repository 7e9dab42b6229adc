"""The atlas store: the :class:`Atlas` API above, a storage backend beneath it.

=====================================  =============================================================
module                                 holds
=====================================  =============================================================
``cami_atlas.store.atlas``             :class:`Atlas` (validated layers, lazy reads, provenance,
                                       atomic merge-on-save), the default atlas
``cami_atlas.store.base``              :class:`AtlasBackend`: the documented interface a backend
                                       implements (read info / catalogue / layer, lock, commit,
                                       check, recover)
``cami_atlas.store.geopackage``        :class:`GeoPackageBackend`: one ``.gpkg`` file (the default)
``cami_atlas.store.postgis``           :class:`PostGISBackend`: a schema of a PostgreSQL/PostGIS
                                       database (``postgresql://...``), for shared atlases
``cami_atlas.store.lock``              :class:`AtlasLock`: the cross-process lock file of an atlas
``cami_atlas.store.rasters``           rasters as lossless GeoTIFF bytes, for every backend
=====================================  =============================================================

Each backend implements :class:`AtlasBackend` and is chosen by :func:`backend_for`
from the location (a path or a ``postgresql://`` address); both keep every
version of every layer. ``cami_atlas.atlas`` re-exports
the public names of this package (and holds :func:`cami_atlas.atlas.layer_summary`).

Examples
--------
>>> from cami_atlas.store import Atlas
>>> Atlas.default().kind_of("railways")
'infrastructure'
"""

from __future__ import annotations

from .atlas import (
    DEFAULT_ATLAS_FILE,
    DEFAULT_REGION,
    Atlas,
    backend_for,
    check_atlas_file,
    default_atlas_path,
    is_atlas_file,
    publisher_name,
)
from .base import META_COLUMNS, VERSION_COLUMNS, AtlasBackend, AtlasInfo, LayerData
from .geopackage import (
    ATLAS_TABLE,
    FORMAT_VERSION,
    LAYERS_TABLE,
    RASTERS_TABLE,
    VERSIONS_TABLE,
    GeoPackageBackend,
)
from .lock import LOCK_TIMEOUT_ENV, AtlasLock, lock_path
from .postgis import PostGISBackend, is_database_url

__all__ = [
    "ATLAS_TABLE",
    "DEFAULT_ATLAS_FILE",
    "DEFAULT_REGION",
    "FORMAT_VERSION",
    "LAYERS_TABLE",
    "LOCK_TIMEOUT_ENV",
    "META_COLUMNS",
    "RASTERS_TABLE",
    "VERSIONS_TABLE",
    "VERSION_COLUMNS",
    "Atlas",
    "AtlasBackend",
    "AtlasInfo",
    "AtlasLock",
    "GeoPackageBackend",
    "LayerData",
    "PostGISBackend",
    "backend_for",
    "check_atlas_file",
    "default_atlas_path",
    "is_atlas_file",
    "is_database_url",
    "lock_path",
    "publisher_name",
]
