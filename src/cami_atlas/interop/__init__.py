"""Interoperability with the libraries next to the atlas: xarray/rioxarray, COGs, movingpandas.

``as_grid``        a :class:`~cami_atlas.raster.Grid` from a Grid or a georeferenced
                   ``xarray.DataArray`` (what the connectivity functions call on their input)
``write_cog``      a Grid (or DataArray) written as a Cloud Optimized GeoTIFF, atomically
``grid_to_xarray`` / ``grid_from_xarray``
                   Grid <-> ``xarray.DataArray`` with CRS, transform and nodata (rioxarray);
                   needs ``pip install 'cami-atlas[xarray]'``
``tracks_to_trajectories`` / ``tracks_from_trajectories``
                   atlas tracks <-> ``movingpandas.TrajectoryCollection``;
                   needs ``pip install 'cami-atlas[movingpandas]'``

Importing this package imports neither xarray nor movingpandas; the converters import
them when called.
"""

from __future__ import annotations

from typing import Any

from ._coerce import as_grid
from .cog import write_cog

__all__ = [
    "as_grid",
    "grid_from_xarray",
    "grid_to_xarray",
    "tracks_from_trajectories",
    "tracks_to_trajectories",
    "write_cog",
]

_LAZY = {
    "grid_from_xarray": "xarray",
    "grid_to_xarray": "xarray",
    "tracks_from_trajectories": "movingpandas",
    "tracks_to_trajectories": "movingpandas",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
