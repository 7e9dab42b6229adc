"""A raster grid whose values, transform, CRS and nodata travel together.

One encoding of resistance across the library: finite values >= 1 are passable,
``inf`` is impassable, ``NaN`` is outside the study area. Backends (scikit-image,
scipy.sparse graphs, GeoTIFF files) convert at their boundary.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.warp
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling

from ._atomic import atomic_path
from ._memory import RASTER_BYTES_PER_CELL, check_grid_memory
from ._options import check_option
from .errors import CRSError, LayerReadError, SchemaError

__all__ = ["Grid", "read_decimated"]

_RESAMPLING = {
    "nearest": Resampling.nearest,
    "bilinear": Resampling.bilinear,
    "average": Resampling.average,
    "max": Resampling.max,
    "min": Resampling.min,
}


@dataclass(frozen=True, eq=False)
class Grid:
    """A 2-D raster: ``values`` (rows x cols), an affine ``transform`` and a ``crs``.

    Cells that are ``nodata`` in a file are ``NaN`` in ``values`` (float grids).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.ones((2, 3)), Affine(1000, 0, 0, 0, -1000, 2000), "EPSG:32643")
    >>> g.shape, g.cell_size_m
    ((2, 3), 1000.0)
    """

    values: np.ndarray
    transform: Affine
    crs: CRS | None
    nodata: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        values = np.asarray(self.values)
        if values.ndim != 2:
            raise SchemaError(f"a Grid holds a 2-D array (rows, columns); got shape "
                              f"{values.shape}. Pass one band, e.g. values[0] of a (bands, "
                              "rows, cols) array.")
        object.__setattr__(self, "values", values)
        if self.crs is not None and not isinstance(self.crs, CRS):
            object.__setattr__(self, "crs", CRS.from_user_input(self.crs))

    # -- geometry of the grid -------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return self.values.shape  # type: ignore[return-value]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        rows, cols = self.shape
        left, top = self.transform @ (0, 0)
        right, bottom = self.transform @ (cols, rows)
        return (min(left, right), min(top, bottom), max(left, right), max(top, bottom))

    @property
    def is_geographic(self) -> bool:
        """True when the CRS is lat/lon (degrees)."""
        return bool(self.crs is not None and self.crs.is_geographic)

    def require_projected(self, what: str = "this operation") -> None:
        """Raise :class:`CRSError` unless the grid is in a projected CRS with square cells."""
        if self.crs is None:
            raise CRSError(f"{what} needs a grid with a CRS; this grid has none. "
                           "Give the CRS the data is actually in.")
        if self.crs.is_geographic:
            raise CRSError(
                f"{what} needs cell sizes in metres but the grid is in lat/lon ({self.crs}). "
                "Reproject first: grid.to_crs('ESRI:102025', cell_size_m=...) or pick a UTM zone."
            )
        if self.transform.b != 0 or self.transform.d != 0:
            raise CRSError(f"{what} needs a north-up grid (no rotation); warp it first.")
        if not np.isclose(abs(self.transform.a), abs(self.transform.e), rtol=1e-6):
            raise CRSError(
                f"{what} needs square cells; got {abs(self.transform.a)} x "
                f"{abs(self.transform.e)}. Resample with grid.to_crs(..., cell_size_m=...)."
            )

    @property
    def cell_size_m(self) -> float:
        """Cell side in metres (projected CRS with square cells only)."""
        self.require_projected("cell_size_m")
        return float(abs(self.transform.a) * self.crs.axis_info[0].unit_conversion_factor)

    def with_values(self, values: np.ndarray, *, name: str | None = None) -> Grid:
        """A grid on the same raster with other values."""
        values = np.asarray(values)
        if values.shape != self.shape:
            raise SchemaError(f"values of shape {values.shape} do not fit a grid of {self.shape}; "
                              "give an array of the grid's shape (or build a new Grid with "
                              "its own transform).")
        return replace(self, values=values, name=self.name if name is None else name)

    def xy(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates of cell centres."""
        rows = np.asarray(rows, dtype=float) + 0.5
        cols = np.asarray(cols, dtype=float) + 0.5
        x, y = self.transform @ (cols, rows)
        return np.asarray(x), np.asarray(y)

    def rowcol(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells that hold the points (x, y)."""
        inv = ~self.transform
        c, r = inv @ (np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.floor(r).astype(np.int64), np.floor(c).astype(np.int64)

    # -- files ----------------------------------------------------------------
    @classmethod
    def from_geotiff(cls, path: str | os.PathLike[str], *, band: int = 1) -> Grid:
        """Read one band of a GeoTIFF (or any GDAL raster); nodata becomes ``NaN``.

        Examples
        --------
        >>> import numpy as np, tempfile, pathlib
        >>> from affine import Affine
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.tif"
        >>> g = Grid(np.arange(4.0).reshape(2, 2), Affine(10, 0, 0, 0, -10, 20), "EPSG:3857")
        >>> _ = g.to_geotiff(p)
        >>> Grid.from_geotiff(p).values.tolist()
        [[0.0, 1.0], [2.0, 3.0]]
        """
        path = Path(path)
        if not path.exists():
            raise LayerReadError(f"raster file {path} does not exist; check the path.")
        try:
            with rasterio.open(path) as ds:
                if band < 1 or band > ds.count:
                    raise LayerReadError(f"{path} has {ds.count} band(s); band={band} is not one. "
                                         f"Choose a band from 1 to {ds.count}.")
                data = ds.read(band, masked=True)
                crs = CRS.from_user_input(ds.crs) if ds.crs else None
                nodata = ds.nodata
                values = data.astype("float64").filled(np.nan) if np.ma.is_masked(data) else \
                    np.asarray(data.data, dtype="float64")
                return cls(values, ds.transform, crs, nodata,
                           ds.descriptions[band - 1] or path.stem)
        except LayerReadError:
            raise
        except (rasterio.errors.RasterioError, OSError, ValueError) as exc:
            raise LayerReadError(
                f"could not read raster {path}: {exc}. The file may be corrupt or not a "
                "raster; re-export or re-download it.") from exc

    def to_geotiff(self, path: str | os.PathLike[str], *, overwrite: bool = False,
                   dtype: str = "float32", **profile: Any) -> Path:
        """Write the grid to a GeoTIFF atomically (deflate-compressed, tiled).

        ``NaN`` is written as nodata (``-9999`` unless ``nodata`` is set); ``inf``
        stays ``inf`` in float outputs.
        """
        path = Path(path)
        values = self.values
        nodata = self.nodata if self.nodata is not None and np.isfinite(self.nodata) else -9999.0
        if np.issubdtype(np.dtype(dtype), np.floating):
            out = np.where(np.isnan(values), nodata, values).astype(dtype)
        else:
            out = np.where(np.isnan(values), nodata, values).astype(dtype)
        rows, cols = self.shape
        prof = dict(driver="GTiff", height=rows, width=cols, count=1, dtype=dtype,
                    crs=self.crs.to_wkt() if self.crs else None, transform=self.transform,
                    nodata=nodata, compress="deflate")
        if rows >= 256 and cols >= 256:
            prof.update(tiled=True, blockxsize=256, blockysize=256)
        prof.update(profile)
        with atomic_path(path, overwrite=overwrite) as tmp, rasterio.open(tmp, "w", **prof) as dst:
            dst.write(out, 1)
            if self.name:
                dst.set_band_description(1, self.name)
        return path

    # -- xarray ---------------------------------------------------------------------
    def to_xarray(self) -> Any:
        """This grid as a georeferenced ``xarray.DataArray`` (CRS, transform, nodata kept).

        See :func:`cami_atlas.interop.xarray.grid_to_xarray`; needs
        ``pip install 'cami-atlas[xarray]'``.
        """
        from .interop.xarray import grid_to_xarray

        return grid_to_xarray(self)

    @classmethod
    def from_xarray(cls, da: Any) -> Grid:
        """A grid from a georeferenced ``xarray.DataArray`` (its CRS is required).

        See :func:`cami_atlas.interop.xarray.grid_from_xarray`.
        """
        from .interop.xarray import grid_from_xarray

        return grid_from_xarray(da)

    # -- reprojection -----------------------------------------------------------
    def to_crs(self, crs: Any, *, cell_size_m: float | None = None,
               resampling: str = "bilinear") -> Grid:
        """Warp the grid to ``crs`` (rasterio.warp), optionally at a given cell size.

        Examples
        --------
        >>> import numpy as np
        >>> from affine import Affine
        >>> g = Grid(np.ones((10, 10)), Affine(0.01, 0, 70, 0, -0.01, 42), "EPSG:4326")
        >>> h = g.to_crs("EPSG:32643", cell_size_m=500)
        >>> h.cell_size_m
        500.0
        """
        check_option("resampling", resampling, tuple(_RESAMPLING))
        if self.crs is None:
            raise CRSError("cannot reproject a grid without a CRS; set the CRS it is in first.")
        dst_crs = CRS.from_user_input(crs)
        rows, cols = self.shape
        left, bottom, right, top = self.bounds
        kw = {"resolution": cell_size_m} if cell_size_m else {}
        transform, width, height = rasterio.warp.calculate_default_transform(
            self.crs, dst_crs, cols, rows, left=left, bottom=bottom, right=right, top=top, **kw)
        if cell_size_m:
            check_grid_memory(lambda c: math.ceil(width * height * cell_size_m ** 2 / c ** 2),
                              float(cell_size_m), RASTER_BYTES_PER_CELL,
                              what="the reprojected raster", option="cell_size_m")
        dst = np.full((height, width), np.nan, dtype="float64")
        src = self.values.astype("float64")
        rasterio.warp.reproject(
            src, dst, src_transform=self.transform, src_crs=self.crs, dst_transform=transform,
            dst_crs=dst_crs, src_nodata=np.nan, dst_nodata=np.nan,
            resampling=_RESAMPLING[resampling])
        return Grid(dst, transform, dst_crs, None, self.name)


def read_decimated(path: str | os.PathLike[str], *, max_side: int = 2000) -> Grid:
    """Read a GeoTIFF at most ``max_side`` cells on its long side (nearest, for previews).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from affine import Affine
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.tif"
    >>> _ = Grid(np.ones((40, 30)), Affine(10, 0, 0, 0, -10, 400), "EPSG:32643").to_geotiff(p)
    >>> g = read_decimated(p, max_side=10)
    >>> g.shape, g.bounds == (0.0, 0.0, 300.0, 400.0)
    ((10, 8), True)
    """
    with rasterio.open(path) as ds:
        step = max(1, int(np.ceil(max(ds.height, ds.width) / max_side)))
        h, w = -(-ds.height // step), -(-ds.width // step)
        data = ds.read(1, out_shape=(h, w), masked=True)
        values = data.astype("float64").filled(np.nan)
        transform = ds.transform * ds.transform.scale(ds.width / w, ds.height / h)
        return Grid(values, transform, ds.crs, None, Path(path).stem)
