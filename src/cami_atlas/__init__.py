"""cami_atlas: the Migration and Linear Infrastructure Atlas of the CMS Central Asian
Mammals Initiative, as a Python library and the ``cami-atlas`` command-line tool.

Subpackages and modules
-----------------------
``cami_atlas.schema`` / ``validate``   the layer model and its validation
``cami_atlas.io``                      readers for vector, raster, track and OSM sources
``cami_atlas.atlas``                   the atlas store (one GeoPackage) and the default atlas
``cami_atlas.store``                   ``Atlas`` over a backend interface; GeoPackage; write lock
``cami_atlas.raster``                  ``Grid``: a raster with its transform and CRS
``cami_atlas.measure``                 geodesic lengths and equal-area areas
``cami_atlas.errors``                  the error tree (root ``CamiAtlasError``)
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cami-atlas")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

__all__ = ["__version__"]
