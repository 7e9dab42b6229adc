"""The online atlas: ``cami-atlas serve``, a read-only web application over any atlas store.

=====================================  =============================================================
module                                 holds
=====================================  =============================================================
``cami_atlas.web.app``                 :func:`create_app`: the FastAPI application (pages, map,
                                       downloads, JSON API documented at ``/docs``)
``cami_atlas.web.service``             :class:`AtlasService`: what the pages ask of the atlas,
                                       cached (map GeoJSON per zoom, km in ranges, downloads)
=====================================  =============================================================

Needs the ``web`` extra (``pip install 'cami-atlas[web]'``).
"""

from __future__ import annotations

__all__ = ["AtlasService", "create_app"]


def __getattr__(name: str):  # imported on first use: FastAPI is an optional dependency
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "AtlasService":
        from .service import AtlasService

        return AtlasService
    raise AttributeError(name)
