"""The last touch of every output folder: quick-looks of its rasters and a QGIS project.

:class:`~cami_atlas.pipeline.staging.StagedOutputs` calls :func:`finish_outputs` on the
staging folder once the command's own files are written and before the set is swapped
into place, so every output folder of every command (run, barriers, hotspots,
connectivity, screening, scenarios, tracks ...) opens in QGIS and can be browsed as
pictures:

* ``<raster>_quicklook.png`` beside every GeoTIFF that has none yet
  (:func:`cami_atlas.report.quicklook.raster_quicklook`);
* ``project.qgz`` with every spatial layer of the folder, styled, and a ``.qml`` style
  beside each layer (:func:`cami_atlas.qgis.folder.write_folder_project`);
* ``atlas_versions.csv`` when the job names its atlas: the version of every layer of the
  atlas the outputs were computed from (:func:`write_atlas_versions`), so a figure can be
  traced to the data it came from.

The files are part of the output set: they are replaced with it and never left behind
by a failed job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["PROJECT_NAME", "VERSIONS_FILE", "derived_names", "finish_outputs",
           "write_atlas_versions", "write_quicklooks"]

#: File name (without ``.qgz``) of the QGIS project of an output folder.
PROJECT_NAME = "project"
#: File of the layer versions an output set was computed from.
VERSIONS_FILE = "atlas_versions.csv"
#: Its columns.
VERSION_COLUMNS = ("layer", "kind", "version", "published_by", "published_at", "source",
                   "licence")
log = logging.getLogger(__name__)


def derived_names(names: Iterable[str]) -> list[str]:
    """Outputs :func:`finish_outputs` adds to a set of ``names`` (that can be known before).

    Examples
    --------
    >>> derived_names(["a.csv", "maps/Saiga_tatarica/current.tif"])[2:]
    ['maps/Saiga_tatarica/current_quicklook.png', 'maps/Saiga_tatarica/current.qml']
    """
    out = [f"{PROJECT_NAME}.qgz", VERSIONS_FILE]
    for name in names:
        if name.lower().endswith((".tif", ".tiff")):
            stem = name.rsplit(".", 1)[0]
            out += [f"{stem}_quicklook.png", f"{stem}.qml"]
    return out


def write_quicklooks(folder: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
    """A quick-look PNG beside every GeoTIFF of ``folder`` (and its sub-folders).

    Rasters that have one already are left as they are unless ``overwrite``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = Grid(np.ones((4, 4)), Affine(1, 0, 60, 0, -1, 46), "EPSG:4326").to_geotiff(
    ...     out / "resistance.tif")
    >>> [p.name for p in write_quicklooks(out)], write_quicklooks(out)
    (['resistance_quicklook.png'], [])
    """
    from ..qgis.folder import RASTER_SUFFIXES, output_files
    from ..report.quicklook import quicklook_path, raster_quicklook

    written = []
    for tif in output_files(folder, RASTER_SUFFIXES):
        png = quicklook_path(tif)
        if png.exists() and not overwrite:
            continue
        written.append(raster_quicklook(tif, png, overwrite=overwrite))
        log.debug("quick-look %s", png)
    return written


def write_atlas_versions(folder: str | os.PathLike[str], atlas: Any) -> Path:
    """Write ``atlas_versions.csv``: every layer of ``atlas`` with the version read.

    Layers added in memory and not saved have no version (empty) and ``published_by``
    ``not saved``.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from cami_atlas.atlas import Atlas
    >>> p = write_atlas_versions(tempfile.mkdtemp(), Atlas.default())
    >>> t = pd.read_csv(p)
    >>> t.loc[t["layer"] == "railways", ["version", "licence"]].values.tolist()
    [[1, 'public domain']]
    """
    import pandas as pd

    from .._atomic import atomic_path

    table = atlas.layer_versions()
    current = table[table["current"]].set_index("layer") if len(table) else table
    rows = []
    for name in atlas.layer_names():
        info = atlas.layer_info(name)
        if name in getattr(current, "index", []):
            r = current.loc[name]
            rows.append({"layer": name, "kind": info["kind"], "version": int(r["version"]),
                         "published_by": r["published_by"], "published_at": r["published_at"],
                         "source": info["source"], "licence": info["licence"]})
        else:
            rows.append({"layer": name, "kind": info["kind"], "version": None,
                         "published_by": "not saved", "published_at": None,
                         "source": info["source"], "licence": info["licence"]})
    path = Path(folder) / VERSIONS_FILE
    with atomic_path(path, overwrite=True) as tmp:
        pd.DataFrame(rows, columns=list(VERSION_COLUMNS)).astype(
            {"version": "Int64"}).to_csv(tmp, index=False)
    return path


def finish_outputs(folder: str | os.PathLike[str], *, title: str | None = None,
                   atlas: Any = None) -> list[Path]:
    """Write the quick-looks and the QGIS project of an output folder; return the new files.

    Parameters
    ----------
    folder : path-like
        The folder holding a command's outputs (in a job: its staging folder).
    title : str, optional
        Title of the QGIS project (default: the folder's name).
    atlas : Atlas, optional
        The atlas the outputs were computed from: adds ``atlas_versions.csv``.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = Grid(np.ones((4, 4)), Affine(1, 0, 60, 0, -1, 46), "EPSG:4326").to_geotiff(
    ...     out / "current.tif")
    >>> sorted(p.name for p in finish_outputs(out, title="demo"))
    ['current.qml', 'current_quicklook.png', 'project.qgz']
    """
    from ..qgis.folder import write_folder_project

    folder = Path(folder)
    before = {p for p in folder.rglob("*") if p.is_file()}
    write_quicklooks(folder)
    if atlas is not None:
        write_atlas_versions(folder, atlas)
    qgz = write_folder_project(folder, name=PROJECT_NAME, title=title, overwrite=True)
    if qgz is not None:
        log.debug("QGIS project %s", qgz)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p not in before)
