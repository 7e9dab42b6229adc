"""QGIS projects for output folders: a ``.qgz`` with relative paths and a ``.qml`` per layer.

:func:`write_qgis_project` writes, from a list of :class:`LayerSpec`, a QGIS project
(``<name>.qgz``, a zip holding ``<name>.qgs``) whose layers point to their files by paths
relative to the project, so the folder can be moved or zipped, and a QGIS style file
(``.qml``) beside each layer. The styles follow the HTML maps (:mod:`cami_atlas.maps`):
infrastructure by type, barrier classes in the map colours, ranges and corridors as
translucent fills, hotspot scores graduated, rasters with a colour ramp whose legend
shows the values. Pure Python (XML and zip): QGIS is not needed to write a project.
"""

from __future__ import annotations

from .project import STYLES, LayerSpec, write_qgis_project

__all__ = ["STYLES", "LayerSpec", "write_qgis_project"]
