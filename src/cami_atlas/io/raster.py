"""Read base rasters (elevation, land cover) as :class:`cami_atlas.raster.Grid`."""

from __future__ import annotations

import os

from ..raster import Grid

__all__ = ["read_raster"]


def read_raster(path: str | os.PathLike[str], *, band: int = 1) -> Grid:
    """Read one band of a GeoTIFF (or any raster GDAL reads) as a :class:`~cami_atlas.raster.Grid`.

    Values become float64 with nodata as ``NaN``; the transform and CRS come from the file.

    Parameters
    ----------
    path : path-like
        The raster file.
    band : int, default 1
        Band number (1-based).

    Raises
    ------
    LayerReadError
        The file is missing, unreadable or corrupt, or has no band ``band``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from affine import Affine
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "dem.tif"
    >>> _ = Grid(np.array([[1.0, 2.0]]), Affine(0.5, 0, 70, 0, -0.5, 45), "EPSG:4326").to_geotiff(p)
    >>> g = read_raster(p)
    >>> g.values.tolist(), g.crs.to_epsg()
    ([[1.0, 2.0]], 4326)
    """
    return Grid.from_geotiff(path, band=band)
