"""Cloud Optimized GeoTIFF output (GDAL's COG driver through rasterio), written atomically."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from .._atomic import atomic_path
from .._options import check_option
from ..errors import OptionError
from ._coerce import as_grid

__all__ = ["write_cog"]

_COMPRESS = ("deflate", "lzw", "zstd", "none")
_OVERVIEW_RESAMPLING = ("average", "nearest", "mode", "bilinear", "cubic")


def write_cog(grid: Any, path: str | os.PathLike[str], *, overwrite: bool = False,
              dtype: str = "float32", compress: str = "deflate",
              blocksize: int = 512, overview_resampling: str = "average") -> Path:
    """Write a Grid (or a georeferenced ``xarray.DataArray``) as a Cloud Optimized GeoTIFF.

    The COG driver tiles the image (``blocksize`` x ``blocksize``), adds overviews
    when the image is larger than one tile, and puts the header first, so a web map or
    QGIS can read it over HTTP range requests. ``NaN`` is written as nodata
    (``grid.nodata`` if finite, else ``-9999``); ``inf`` stays ``inf`` in float
    outputs. The file appears only when complete (atomic rename) and an existing file
    is replaced only with ``overwrite=True``.

    Parameters
    ----------
    grid : Grid or xarray.DataArray
        The raster (see :func:`cami_atlas.interop.as_grid`).
    path : path-like
        Output ``.tif``.
    overwrite : bool
        Replace an existing file.
    dtype : str
        Output data type (``float32`` keeps resistance and cost values to ~7 digits;
        ``float64`` keeps every value).
    compress : {"deflate", "lzw", "zstd", "none"}
    blocksize : int
        Tile side in pixels (multiple of 16).
    overview_resampling : {"average", "nearest", "mode", "bilinear", "cubic"}
        How overview cells summarise the cells below them: ``average`` (the mean of the
        cells with data; no overshoot, unlike cubic) for quantities, ``nearest`` or
        ``mode`` for classes.

    Returns
    -------
    Path

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib, rasterio
    >>> from affine import Affine
    >>> from cami_atlas.raster import Grid
    >>> g = Grid(np.array([[1.0, np.nan], [np.inf, 4.0]]), Affine(10, 0, 0, 0, -10, 20),
    ...          "EPSG:32643")
    >>> p = write_cog(g, pathlib.Path(tempfile.mkdtemp()) / "r.tif")
    >>> with rasterio.open(p) as ds:
    ...     ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"], ds.nodata, ds.read(1).tolist()
    ('COG', -9999.0, [[1.0, -9999.0], [inf, 4.0]])
    """
    g = as_grid(grid)
    check_option("compress", compress, _COMPRESS)
    check_option("overview_resampling", overview_resampling, _OVERVIEW_RESAMPLING)
    if blocksize < 16 or blocksize % 16:
        raise OptionError(f"blocksize={blocksize} is not valid; use a multiple of 16 "
                          "(256, 512 or 1024 are usual).")
    path = Path(path)
    nodata = g.nodata if g.nodata is not None and np.isfinite(g.nodata) else -9999.0
    out = np.where(np.isnan(g.values.astype("float64")), nodata, g.values).astype(dtype)
    rows, cols = g.shape
    profile = dict(driver="COG", height=rows, width=cols, count=1, dtype=dtype,
                   crs=g.crs.to_wkt() if g.crs else None, transform=g.transform,
                   nodata=nodata, compress=compress.upper(), blocksize=blocksize,
                   overviews="AUTO" if max(rows, cols) > blocksize else "NONE",
                   overview_resampling=overview_resampling.upper())
    if compress != "none" and np.issubdtype(np.dtype(dtype), np.floating):
        profile["predictor"] = 3  # floating-point predictor: smaller files, lossless
    with atomic_path(path, overwrite=overwrite) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        dst.write(out, 1)
        if g.name:
            dst.set_band_description(1, g.name)
    return path
