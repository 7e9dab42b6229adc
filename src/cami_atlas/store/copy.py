"""Copy an atlas between stores: a GeoPackage file and a PostGIS database, either way.

:func:`pull_atlas` makes the destination an exact copy of the source (its current
layers, or with ``history=True`` every version, each keeping who published it and
when). :func:`push_atlas` publishes the source's layers into an existing shared
atlas: a layer whose data or provenance differs from the destination's current
version becomes a new version there; identical layers and layers only the
destination has are left alone.

Examples
--------
>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> from cami_atlas.store import default_atlas_path
>>> copy = pull_atlas(default_atlas_path(), folder / "copy.gpkg")
>>> copy.layers[:2], copy.versions
(['countries', 'borders'], 10)
>>> push_atlas(folder / "copy.gpkg", folder / "copy.gpkg").published
[]
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from .. import __version__
from ..errors import OutputExistsError
from .atlas import Atlas, _crs_text, _is_url, backend_for, publisher_name
from .base import META_COLUMNS, AtlasInfo, LayerData
from .geopackage import GeoPackageBackend

__all__ = ["CopyReport", "pull_atlas", "push_atlas"]

_PROVENANCE = ("kind", "source", "licence", "attribution", "date", "processing")


@dataclass
class CopyReport:
    """What a copy did: the destination, its layers, the versions written, per layer."""

    destination: str
    layers: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    versions: int = 0


def _location(where: str | os.PathLike[str]) -> str | Path:
    return str(where) if _is_url(where) else Path(where)


def _same_data(a: gpd.GeoDataFrame | Any, b: gpd.GeoDataFrame | Any) -> bool:
    if isinstance(a, gpd.GeoDataFrame) != isinstance(b, gpd.GeoDataFrame):
        return False
    if isinstance(a, gpd.GeoDataFrame):
        if a.crs != b.crs or list(a.columns) != list(b.columns) or len(a) != len(b):
            return False
        try:
            pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns=a.geometry.name)),
                                          pd.DataFrame(b.drop(columns=b.geometry.name)),
                                          check_dtype=False)
        except AssertionError:
            return False
        return bool(a.geometry.reset_index(drop=True).geom_equals_exact(
            b.geometry.reset_index(drop=True), tolerance=0).all())
    import numpy as np

    return (a.transform == b.transform and a.crs == b.crs
            and np.array_equal(a.values, b.values, equal_nan=True))


def pull_atlas(source: str | os.PathLike[str], destination: str | os.PathLike[str], *,
               history: bool = False, overwrite: bool = False) -> CopyReport:
    """Make ``destination`` an exact copy of the atlas at ``source``.

    Parameters
    ----------
    source, destination : path or str
        GeoPackage paths or ``postgresql://`` addresses.
    history : bool, default False
        Copy every version of every layer (in order, keeping who published each
        and when); by default only the current version of each layer, still with
        its original publisher and time.
    overwrite : bool, default False
        Replace an existing atlas at ``destination``: a file is replaced whole
        (atomically, when the copy is complete); in a database the layers become
        new versions of the ones there and layers the source lacks are dropped.

    Returns
    -------
    CopyReport

    Raises
    ------
    OutputExistsError
        ``destination`` holds an atlas (or a file) and ``overwrite`` is false.
    """
    src = Atlas.open(_location(source))
    src_backend = backend_for(src.location or "")
    dst_location = _location(destination)
    dst = backend_for(dst_location)
    info = AtlasInfo(src.name, src.region.wkt, _crs_text(src.analysis_crs), 0, __version__)
    versions = src_backend.list_versions()
    if not history:
        versions = [v for v in versions if v["current"]]
    rounds = max((sum(1 for v in versions if v["layer"] == n) for n in src.layer_names()),
                 default=0)
    report = CopyReport(dst.location, layers=src.layer_names())
    with dst.lock():
        exists = dst.exists() if isinstance(dst_location, str) else dst_location.exists()
        if exists and not overwrite:
            raise OutputExistsError(
                f"{dst.location} exists already; pass overwrite=True (--overwrite) to replace "
                "it, or choose another destination.")
        if isinstance(dst_location, Path):  # build the file aside, move it into place at the end
            dst_location.parent.mkdir(parents=True, exist_ok=True)
            work = dst_location.with_name(f".{dst_location.name}.{os.getpid()}-"
                                          f"{secrets.token_hex(4)}.part.gpkg")
            try:
                _replay(src, src_backend, GeoPackageBackend(work), info, versions, rounds,
                        report)
                os.replace(work, dst_location)
            finally:
                work.unlink(missing_ok=True)
        else:
            _replay(src, src_backend, dst, info, versions, rounds, report)
    report.published = list(src.layer_names())
    return report


def _replay(src: Atlas, src_backend: Any, dst: Any, info: AtlasInfo,
            versions: list[dict[str, Any]], rounds: int, report: CopyReport) -> None:
    """Commit the ``k``-th version of every layer in round ``k`` (one commit per round)."""
    by_layer = {n: [v for v in versions if v["layer"] == n] for n in src.layer_names()}
    catalog: dict[str, dict[str, Any]] = {}
    for k in range(max(rounds, 1)):
        changed: dict[str, LayerData] = {}
        for name, layer_versions in by_layer.items():
            if k >= len(layer_versions):
                continue
            ver = layer_versions[k]
            catalog[name] = {c: (name if c == "name" else ver[c]) for c in META_COLUMNS}
            if ver["storage"] == "geotiff_blob":
                data = LayerData(geotiff=src_backend.read_raster(name, ver["version"]))
            else:
                data = LayerData(vector=src_backend.read_vector(name, ver["version"]))
            data.published_by, data.published_at = ver["published_by"], ver["published_at"]
            changed[name] = data
        order = [n for n in src.layer_names() if n in catalog]
        dst.commit(info, [catalog[n] for n in order], changed)
        report.versions += len(changed)


def push_atlas(source: str | os.PathLike[str], destination: str | os.PathLike[str], *,
               published_by: str | None = None) -> CopyReport:
    """Publish the layers of ``source`` as new versions in the atlas at ``destination``.

    A layer is published when the destination lacks it or its current version
    differs from the source's in data or provenance (kind, source, licence,
    attribution, date, processing); other layers are left alone, and layers only
    the destination has are kept. A destination that does not exist is created
    (like :func:`pull_atlas`). All of it is one commit under the destination's
    write lock.

    Parameters
    ----------
    source, destination : path or str
        GeoPackage paths or ``postgresql://`` addresses.
    published_by : str, optional
        Who publishes; default :func:`~cami_atlas.store.atlas.publisher_name`.

    Returns
    -------
    CopyReport
        ``published`` and ``unchanged`` name the layers.
    """
    src = Atlas.open(_location(source))
    dst_location = _location(destination)
    dst_backend = backend_for(dst_location)
    exists = dst_backend.exists() if isinstance(dst_location, str) else dst_location.exists()
    if not exists:
        return pull_atlas(source, destination)
    report = CopyReport(dst_backend.location)
    with dst_backend.lock():
        dst = Atlas.open(dst_location)
        for name in src.layer_names():
            info = src.layer_info(name)
            if name in dst and all(str(dst.layer_info(name).get(k) or "") ==
                                   str(info.get(k) or "") for k in _PROVENANCE) \
                    and _same_data(dst.read(name), src.read(name)):
                report.unchanged.append(name)
                continue
            dst.add_layer(name, src.read(name), info["kind"], source=info["source"],
                          licence=info["licence"], attribution=info.get("attribution") or "",
                          date=info.get("date") or None, processing=info.get("processing") or "",
                          overwrite=True)
            report.published.append(name)
        report.layers = dst.layer_names()
        report.versions = len(report.published)
        if report.published:
            dst.save(published_by=publisher_name() if published_by is None else published_by)
    return report
