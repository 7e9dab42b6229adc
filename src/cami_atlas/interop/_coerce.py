"""One coercion helper for raster inputs: a Grid stays a Grid, a DataArray becomes one."""

from __future__ import annotations

from typing import Any

from ..errors import SchemaError
from ..raster import Grid

__all__ = ["as_grid"]


def _is_dataarray(obj: Any) -> bool:
    """True for an ``xarray.DataArray`` without importing xarray when it is not loaded."""
    cls = type(obj)
    return cls.__name__ == "DataArray" and cls.__module__.split(".")[0] == "xarray"


def as_grid(obj: Any, *, what: str = "raster") -> Grid:
    """Return ``obj`` as a :class:`~cami_atlas.raster.Grid`.

    A Grid is returned unchanged (same object); a georeferenced ``xarray.DataArray``
    is converted with :func:`cami_atlas.interop.xarray.grid_from_xarray` (its CRS is
    required). Anything else raises :class:`~cami_atlas.errors.SchemaError`.

    Parameters
    ----------
    obj : Grid or xarray.DataArray
        The raster.
    what : str
        What the raster is, for the error message (e.g. ``"resistance"``).

    Returns
    -------
    Grid

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.ones((2, 2)), Affine(10, 0, 0, 0, -10, 20), "EPSG:32643")
    >>> as_grid(g) is g
    True
    >>> as_grid(g.to_xarray()).values.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    if isinstance(obj, Grid):
        return obj
    if _is_dataarray(obj):
        from .xarray import grid_from_xarray

        return grid_from_xarray(obj, what=what)
    raise SchemaError(
        f"{what} must be a cami_atlas.raster.Grid or a georeferenced xarray.DataArray; got "
        f"{type(obj).__name__}. Read a GeoTIFF with Grid.from_geotiff(path) or "
        "rioxarray.open_rasterio(path).squeeze('band')."
    )
