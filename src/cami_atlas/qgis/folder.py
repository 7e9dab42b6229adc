"""A QGIS project for a whole output folder: every layer found, each styled by what it holds.

:func:`folder_layers` lists the spatial layers of a folder (and its sub-folders): every
layer of every GeoPackage, GeoJSON, FlatGeobuf and Shapefile, and every GeoTIFF, and
chooses each a style of :func:`~cami_atlas.qgis.write_qgis_project` from its columns and
name, as the HTML maps style them:

=========================================  =================================================
layer                                      style
=========================================  =================================================
has ``barrier_class``                      ``barrier_class`` (complete red ... unknown grey)
has ``infra_type``                         ``infrastructure`` (map colours, dashes); and
                                           one ``barrier_class`` layer per
                                           ``barrier_<Species>`` column, switched off
                                           (styled in the project, no ``.qml`` of its own)
has ``score`` / ``impact`` (hot-spot grid) ``graduated`` (YlOrRd)
has ``gi_z``                               ``graduated`` on ``gi_z`` (RdBu_r)
name holds ``corridor``                    ``corridor`` (by ``use_class`` when present)
name holds ``range``                       ``range``
GeoTIFF                                    ``raster`` with the colour map of its quick-look
                                           (:data:`cami_atlas.report.quicklook.RASTER_KINDS`)
anything else                              ``single``
=========================================  =================================================

Points are drawn above lines, lines above polygons, polygons above rasters; of the rasters
only the first is switched on, so the map opens readable. Tables without geometry are
left out.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyogrio

from ..errors import SchemaError
from ..raster import read_decimated
from ..report.quicklook import SPECIES_STEM, describe_raster
from .project import LayerSpec, write_qgis_project

__all__ = ["RASTER_SUFFIXES", "VECTOR_SUFFIXES", "folder_layers", "output_files",
           "write_folder_project"]

VECTOR_SUFFIXES = (".gpkg", ".geojson", ".fgb", ".shp")
RASTER_SUFFIXES = (".tif", ".tiff")
_PER_SPECIES = "barrier_"  # classified segments: barrier_<Species> columns
_SPECIES = SPECIES_STEM
#: Rasters drawn (and the first switched on) in this order; others after them.
_RASTER_ORDER = ("normalized_current", "cumulative_current", "current", "corridors",
                 "corridor_share", "pinch_points", "cost_distance", "flow_potential",
                 "sources", "resistance")
_ORDER = {"Point": 0, "Line": 1, "Polygon": 2, "Raster": 3}
_FAMILY = {"Point": "Point", "MultiPoint": "Point", "LineString": "Line",
           "MultiLineString": "Line", "Polygon": "Polygon", "MultiPolygon": "Polygon"}


def output_files(folder: str | os.PathLike[str],
                 suffixes: tuple[str, ...] = VECTOR_SUFFIXES + RASTER_SUFFIXES) -> list[Path]:
    """Files of ``folder`` (and its sub-folders) ending in ``suffixes``, sorted; hidden
    files and folders (staging folders, atomic temporaries) are left out.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("a.tif", ".b.tif", "c.csv"):
    ...     _ = (out / name).write_text("x")
    >>> [p.name for p in output_files(out)]
    ['a.tif']
    """
    folder = Path(folder)
    return [p for p in sorted(folder.rglob("*"))
            if p.suffix.lower() in suffixes and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)]


def _vector_specs(path: Path, folder: Path) -> list[tuple[str, LayerSpec]]:
    rel = path.relative_to(folder).as_posix()
    specs = []
    try:
        listed = pyogrio.list_layers(path)
    except pyogrio.errors.DataSourceError:
        return []
    multi = len(listed) > 1
    for lname, gtype in listed:
        family = _FAMILY.get(str(gtype).replace(" Z", "").replace("25D", ""))
        if family is None:
            continue  # attribute table, or mixed geometries QGIS cannot style as one
        fields = list(pyogrio.read_info(path, layer=lname)["fields"])
        label = rel.rsplit(".", 1)[0] + (f" · {lname}" if multi else "")
        lower = f"{rel} {lname}".lower()
        kw: dict[str, object] = {"layer": str(lname)}
        per_species = [f for f in fields if f.startswith(_PER_SPECIES)
                       and _SPECIES.match(f.removeprefix(_PER_SPECIES))]
        if "barrier_class" in fields:
            kw.update(style="barrier_class", column="barrier_class")
        elif "infra_type" in fields:
            kw.update(style="infrastructure")
        elif "score" in fields or "impact" in fields:
            kw.update(style="graduated", column="score" if "score" in fields else "impact")
        elif "gi_z" in fields:
            kw.update(style="graduated", column="gi_z", cmap="RdBu_r")
        elif "corridor" in lower and family == "Polygon":
            kw.update(style="corridor")
        elif "range" in lower and family == "Polygon":
            kw.update(style="range")
        else:
            kw.update(style="single")
        specs.append((family, LayerSpec(rel, label, **kw)))  # type: ignore[arg-type]
        for col in per_species:  # one layer per species, switched off: pick one in QGIS
            species = col.removeprefix(_PER_SPECIES).replace("_", " ")
            specs.append((family, LayerSpec(rel, f"{label} · {species} barrier class",
                                            "barrier_class", layer=str(lname), column=col,
                                            visible=False, qml=False)))
    return specs


def folder_layers(folder: str | os.PathLike[str]) -> list[LayerSpec]:
    """The spatial layers of ``folder`` with a style each, in drawing order.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd, numpy as np
    >>> from affine import Affine
    >>> from shapely import LineString
    >>> from cami_atlas.raster import Grid
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> gpd.GeoDataFrame({"infra_type": ["road"]}, geometry=[LineString([(60, 45), (61, 45)])],
    ...                  crs="EPSG:4326").to_file(out / "lines.gpkg", layer="lines")
    >>> _ = Grid(np.ones((3, 3)), Affine(1, 0, 60, 0, -1, 46), "EPSG:4326").to_geotiff(
    ...     out / "resistance.tif")
    >>> [(s.name, s.style, s.visible) for s in folder_layers(out)]
    [('lines', 'infrastructure', True), ('resistance', 'raster', True)]
    """
    folder = Path(folder)
    found: list[tuple[str, LayerSpec]] = []
    for path in output_files(folder):
        if path.suffix.lower() in RASTER_SUFFIXES:
            kind, _ = describe_raster(path)
            rel = path.relative_to(folder).as_posix()
            found.append(("Raster", LayerSpec(rel, rel.rsplit(".", 1)[0], "raster",
                                              cmap=kind.cmap)))
        else:
            found += _vector_specs(path, folder)
    def rank(fs: tuple[str, LayerSpec]) -> tuple[int, int]:
        stem = Path(fs[1].path).stem
        pos = next((i for i, k in enumerate(_RASTER_ORDER) if stem.startswith(k)),
                   len(_RASTER_ORDER))
        return _ORDER[fs[0]], pos if fs[0] == "Raster" else 0

    found.sort(key=rank)  # stable: files keep their order within a family
    specs, seen_raster = [], False
    for family, spec in found:
        if family == "Raster":
            spec = LayerSpec(spec.path, spec.name, spec.style, cmap=spec.cmap,
                             visible=not seen_raster)
            seen_raster = True
        specs.append(spec)
    return specs


def _has_values(path: Path) -> bool:
    """Whether a raster has a finite value to colour (read decimated)."""
    return bool(np.isfinite(read_decimated(path, max_side=1000).values).any())


def write_folder_project(folder: str | os.PathLike[str], *, name: str = "project",
                         title: str | None = None, crs: object = "EPSG:4326",
                         overwrite: bool = False) -> Path | None:
    """Write ``<folder>/<name>.qgz`` with every layer of :func:`folder_layers`.

    A ``.qml`` style is written beside each layer; paths in the project are relative,
    so the folder can be moved. Returns ``None`` (and writes nothing) when the folder
    holds no spatial layer. Rasters without a finite value (all nodata) are left out.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = Grid(np.ones((3, 3)), Affine(1, 0, 60, 0, -1, 46), "EPSG:4326").to_geotiff(
    ...     out / "current.tif")
    >>> write_folder_project(out).name, (out / "current.qml").exists()
    ('project.qgz', True)
    >>> write_folder_project(pathlib.Path(tempfile.mkdtemp())) is None
    True
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SchemaError(f"{folder} is not a folder; give the output folder of a command.")
    specs = [s for s in folder_layers(folder)
             if s.style != "raster" or _has_values(folder / s.path)]
    if not specs:
        return None
    return write_qgis_project(folder, specs, name=name, title=title or folder.name, crs=crs,
                              overwrite=overwrite)
