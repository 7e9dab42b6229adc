"""Rasters as GeoTIFF bytes: the lossless encoding every atlas backend stores.

A :class:`~cami_atlas.raster.Grid` is encoded as one deflate-compressed GeoTIFF
file in memory (:func:`grid_to_geotiff`) and decoded back bit for bit
(:func:`geotiff_to_grid`): every dtype, nodata, ``NaN`` and ``inf`` survive. The
GeoPackage backend keeps these bytes in a BLOB column (why not GeoPackage tiled
rasters: see :mod:`cami_atlas.store.geopackage`); a PostGIS backend can keep them
in a ``bytea`` column or hand them to ``ST_FromGDALRaster``.

Examples
--------
>>> import numpy as np
>>> from affine import Affine
>>> grid = Grid(np.array([[1.0, np.nan], [np.inf, 2.5]]), Affine(1, 0, 70, 0, -1, 45),
...             "EPSG:4326")
>>> back = geotiff_to_grid(grid_to_geotiff(grid), "g")
>>> np.array_equal(back.values, grid.values, equal_nan=True)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyproj import CRS
from rasterio.io import MemoryFile

from ..raster import Grid

__all__ = ["geotiff_to_grid", "grid_to_geotiff"]

_INT_RANGES = {"int16": (-32768, 32767), "int32": (-2147483648, 2147483647)}


def _storage_dtype(values: np.ndarray) -> str:
    """The smallest GeoTIFF dtype that holds ``values`` exactly (NaN aside)."""
    nan = np.isnan(values)
    vals = values[~nan]
    if vals.size and not np.isinf(vals).any() and np.array_equal(vals, np.round(vals)):
        lo, hi = float(vals.min()), float(vals.max())
        for dtype, (dmin, dmax) in _INT_RANGES.items():
            # keep one value free below the range for the nodata sentinel
            if dmin < lo and hi <= dmax:
                return dtype
    if np.array_equal(values.astype("float32").astype("float64"), values, equal_nan=True):
        return "float32"
    return "float64"


def grid_to_geotiff(grid: Grid) -> bytes:
    """Encode ``grid`` as a deflate GeoTIFF, losslessly; NaN becomes the nodata value.

    Integral values are stored as int16 / int32 (nodata: the grid's own nodata if
    it fits and is unused, else the type's minimum); other values as float32 when
    that is exact, else float64 (NaN stays NaN, the grid's finite nodata is kept).
    """
    values = np.asarray(grid.values, dtype="float64")
    dtype = _storage_dtype(values)
    nan = np.isnan(values)
    nodata: float | None = None
    own = grid.nodata
    if dtype in _INT_RANGES:
        dmin, dmax = _INT_RANGES[dtype]
        usable = (own is not None and np.isfinite(own) and float(own).is_integer()
                  and dmin <= own <= dmax and not (values == own).any())
        nodata = float(own) if usable else float(dmin)
        out = np.where(nan, nodata, values).astype(dtype)
    else:
        if own is not None and np.isfinite(own) and not (values == own).any():
            nodata = float(own)
            out = np.where(nan, nodata, values).astype(dtype)
        else:
            nodata = float("nan") if nan.any() else None
            out = values.astype(dtype)
    rows, cols = values.shape
    profile: dict[str, Any] = dict(
        driver="GTiff", height=rows, width=cols, count=1, dtype=dtype,
        crs=grid.crs.to_wkt() if grid.crs is not None else None, transform=grid.transform,
        compress="deflate", predictor=3 if dtype.startswith("float") else 2)
    if nodata is not None:
        profile["nodata"] = nodata
    if rows >= 256 and cols >= 256:
        profile.update(tiled=True, blockxsize=256, blockysize=256)
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(out, 1)
            if grid.name:
                dst.set_band_description(1, grid.name)
        return bytes(mem.read())


def geotiff_to_grid(blob: bytes, name: str) -> Grid:
    """Decode GeoTIFF bytes written by :func:`grid_to_geotiff`; nodata cells become NaN."""
    with MemoryFile(blob) as mem, mem.open() as ds:
        data = ds.read(1, masked=True)
        crs = CRS.from_user_input(ds.crs) if ds.crs else None
        values = data.astype("float64").filled(np.nan) if np.ma.is_masked(data) else \
            np.asarray(data.data, dtype="float64")
        return Grid(values, ds.transform, crs, ds.nodata, name)

