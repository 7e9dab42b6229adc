"""The interface between the :class:`~cami_atlas.store.Atlas` API and a storage backend.

:class:`~cami_atlas.store.Atlas` (layers validated on the way in, read lazily,
provenance per layer) knows nothing about files or databases: it talks to an
:class:`AtlasBackend`. The embedded default is
:class:`~cami_atlas.store.geopackage.GeoPackageBackend` (one ``.gpkg`` file); a
PostGIS backend for a team that shares one atlas is one more module implementing
the same ten methods, registered in :func:`cami_atlas.store.backend_for`
(:class:`~cami_atlas.store.postgis.PostGISBackend` does, for ``postgresql://``
addresses).

What a backend stores
---------------------
* the **atlas record** (:class:`AtlasInfo`): name, region (WKT, EPSG:4326),
  analysis CRS, format version, the cami_atlas version that wrote it;
* the **catalogue**: one provenance record per layer, in order, with the keys of
  :data:`META_COLUMNS` (``name, kind, storage, geometry_type, n_features, crs,
  source, licence, attribution, date, processing``);
* the **data** of each layer: a GeoDataFrame in the layer's own CRS for vector
  layers (``storage == "vector"``), the bytes of a lossless GeoTIFF for rasters
  (``storage == "geotiff_blob"``, see :mod:`cami_atlas.store.rasters`);
* the **versions** of each layer: every commit that gives a layer new data adds a
  version (numbered 1, 2, ... per layer) with who published it and when
  (:data:`VERSION_COLUMNS`); older versions stay readable, the current one is the
  latest published, and a layer removed from the catalogue loses its versions.

The contract
------------
``exists()``
    Whether the atlas exists at this location.
``check(full=False)``
    Raise :class:`~cami_atlas.errors.LayerReadError` with a one-line message when
    the store is damaged (truncated, not the expected format, failing the engine's
    own integrity check when ``full``). Cheap when ``full`` is false.
``read_info()`` / ``read_catalog()``
    The atlas record and the catalogue (small; :meth:`Atlas.open` reads only these).
``read_vector(name, version=None)`` / ``read_raster(name, version=None)``
    The stored data of one layer, as written (the Atlas validates it): the current
    version, or the numbered one (``LayerReadError`` naming the versions there are
    when it does not exist).
``list_versions(name=None)``
    One record per stored version (keys :data:`VERSION_COLUMNS`), of one layer or
    of all, by layer in catalogue order, then by version. An atlas written before
    versions existed reports version 1 of each layer, published by ``""`` at ``""``.
``lock(timeout_s)``
    A context manager that gives this process the exclusive right to
    :meth:`commit`; other writers wait (at most ``timeout_s``) and then raise
    :class:`~cami_atlas.errors.AtlasLockedError` naming the holder. Re-entrant in
    one thread. Readers never need it: a commit is atomic, readers see the state
    before or after it.
``commit(info, catalog, changed)``
    Make ``catalog`` (the complete new list of provenance records) the state of
    the store, atomically: layers named in ``changed`` get the new data
    ``changed[name]`` (a :class:`LayerData`) as a new version (its number one more
    than the layer's last; ``published_by`` / ``published_at`` from the
    :class:`LayerData`, the time of the commit when empty), the other layers of
    ``catalog`` keep their stored data and versions, stored layers absent from
    ``catalog`` are dropped with their versions. Either
    all of it happens or none; a process killed in the middle leaves the previous
    state readable, and whatever it left behind (temporary files, journals) is
    removed or recovered by ``recover()``. Called with the lock held.
``recover()``
    Remove or roll back what killed writers left behind; called under the lock
    before every commit, and by :meth:`Atlas.open` when it finds leftovers and can
    take the lock at once.

Reading while another process commits is safe; the :class:`Atlas` re-reads the
catalogue under the lock before it commits, so two writers that change different
layers both land (see :meth:`cami_atlas.store.Atlas.save`).

Examples
--------
>>> from cami_atlas.store import GeoPackageBackend
>>> issubclass(GeoPackageBackend, AtlasBackend)
True
>>> sorted(AtlasBackend.__abstractmethods__)[:3]
['check', 'commit', 'exists']
"""

from __future__ import annotations

import abc
import datetime as _dt
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import geopandas as gpd

__all__ = ["META_COLUMNS", "VERSION_COLUMNS", "AtlasBackend", "AtlasInfo", "LayerData",
           "utc_now"]

#: Keys of one provenance record of the catalogue, in their stored order.
META_COLUMNS = ("name", "kind", "storage", "geometry_type", "n_features", "crs", "source",
                "licence", "attribution", "date", "processing")
#: Keys of one version record (:meth:`AtlasBackend.list_versions`): the layer, its version
#: number, who published it and when (UTC, ISO 8601, ``...Z``), whether it is the current
#: one, then the provenance record of that version (:data:`META_COLUMNS` without ``name``).
VERSION_COLUMNS = ("layer", "version", "published_by", "published_at", "current",
                   *META_COLUMNS[1:])


def utc_now() -> str:
    """The current time in UTC as ISO 8601 with microseconds and ``Z``: a ``published_at``.

    Examples
    --------
    >>> stamp = utc_now()
    >>> stamp.endswith("Z") and stamp[10] == "T"
    True
    """
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AtlasInfo:
    """The atlas record: what the atlas is, beyond its layers.

    ``format_version`` is what :meth:`AtlasBackend.read_info` found; on
    :meth:`AtlasBackend.commit` a backend writes its own current format version.

    Examples
    --------
    >>> AtlasInfo("demo", "POLYGON ((0 0, 1 0, 1 1, 0 0))", "ESRI:102025", 1, "0.1.0").name
    'demo'
    """

    name: str
    region_wkt: str
    analysis_crs: str
    format_version: int
    cami_atlas_version: str


@dataclass
class LayerData:
    """New data of one layer handed to :meth:`AtlasBackend.commit`.

    Exactly one of ``vector`` (a validated GeoDataFrame) and ``geotiff`` (GeoTIFF
    bytes) is set, matching the record's ``storage``. ``published_by`` and
    ``published_at`` describe the new version (a copy between stores keeps the
    original ones); the backend fills an empty ``published_at`` with the commit time.

    Examples
    --------
    >>> LayerData(geotiff=b"II*\\x00").geotiff[:2]
    b'II'
    """

    vector: gpd.GeoDataFrame | None = None
    geotiff: bytes | None = None
    published_by: str = ""
    published_at: str = ""


class AtlasBackend(abc.ABC):
    """Where an atlas lives; see the module docstring for the contract of each method.

    ``location`` is what error messages name (a file path, a database address).
    """

    location: str

    @abc.abstractmethod
    def exists(self) -> bool:
        """Whether an atlas is stored at this location."""

    @abc.abstractmethod
    def check(self, *, full: bool = False) -> None:
        """Raise ``LayerReadError`` (one line: what is damaged, how to fix) if damaged."""

    @abc.abstractmethod
    def read_info(self) -> AtlasInfo:
        """The atlas record."""

    @abc.abstractmethod
    def read_catalog(self) -> list[dict[str, Any]]:
        """One provenance record per layer (keys :data:`META_COLUMNS`), in order."""

    @abc.abstractmethod
    def read_vector(self, name: str, version: int | None = None) -> gpd.GeoDataFrame:
        """The stored data of vector layer ``name`` (not yet validated), current or ``version``."""

    @abc.abstractmethod
    def read_raster(self, name: str, version: int | None = None) -> bytes:
        """The GeoTIFF bytes of raster layer ``name``, current or ``version``."""

    @abc.abstractmethod
    def list_versions(self, name: str | None = None) -> list[dict[str, Any]]:
        """The stored versions (keys :data:`VERSION_COLUMNS`) of layer ``name`` or of all."""

    @abc.abstractmethod
    def lock(self, *, timeout_s: float | None = None) -> AbstractContextManager[Any]:
        """Exclusive write lock across processes (re-entrant in one thread)."""

    @abc.abstractmethod
    def commit(self, info: AtlasInfo, catalog: list[dict[str, Any]],
               changed: Mapping[str, LayerData]) -> None:
        """Atomically make ``catalog`` the stored state; see the module docstring."""

    @abc.abstractmethod
    def recover(self) -> list[str]:
        """Clean up after killed writers; returns what was removed (for messages)."""
