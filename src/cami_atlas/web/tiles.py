"""Raster map tiles of the served atlas: each raster layer as a Cloud Optimized GeoTIFF,
cut into Web Mercator ``z/x/y`` PNG tiles on request.

A raster layer is written once (per version) as a COG: DEFLATE-compressed 256-pixel
blocks and overviews averaged by factors of two, so a tile at any zoom reads only the
blocks of the one overview whose cells are just finer than the tile's pixels. The tile
is warped to Web Mercator with nearest-neighbour sampling (cells stay crisp when zoomed
in; at low zooms the averaged overview does the smoothing), coloured as the layer's
quick-look is (:func:`cami_atlas.report.quicklook.colour_scale`) and transparent where
the raster has no data.

Examples
--------
>>> import numpy as np, tempfile
>>> from pathlib import Path
>>> from affine import Affine
>>> from cami_atlas.raster import Grid
>>> grid = Grid(np.arange(64.0).reshape(8, 8), Affine(0.5, 0, 60, 0, -0.5, 50), "EPSG:4326")
>>> cog = raster_cog(grid, Path(tempfile.mkdtemp()) / "ramp.tif")
>>> values = tile_values(cog, 5, 21, 11)  # 56.25-67.5 E, 41.0-49.0 N: the south half
>>> values.shape, bool(np.isnan(values).any()), float(np.nanmax(values))
((256, 256), True, 63.0)
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..raster import Grid

__all__ = ["TILE_SIZE", "cog_value", "mercator_tile_bounds", "overlay_png", "raster_cog",
           "tile_png", "tile_values"]

#: Pixels per side of a map tile.
TILE_SIZE = 256
_HALF_WORLD_M = 20037508.342789244  # half the Web Mercator world, metres


def mercator_tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Bounds (west, south, east, north) of tile ``z/x/y`` in Web Mercator metres
    (EPSG:3857; ``y`` counted from the north, as Leaflet and OpenStreetMap count).

    Examples
    --------
    >>> [round(v) for v in mercator_tile_bounds(1, 1, 0)]
    [0, 0, 20037508, 20037508]
    """
    size = 2 * _HALF_WORLD_M / 2**z
    west = -_HALF_WORLD_M + x * size
    north = _HALF_WORLD_M - y * size
    return west, north - size, west + size, north


def raster_cog(grid: Grid, path: Path) -> Path:
    """Write ``grid`` at ``path`` as the Cloud Optimized GeoTIFF its tiles are cut from:
    float32, 256-pixel blocks (one tile's worth), averaged overviews
    (:func:`cami_atlas.interop.write_cog`); replaces an older copy."""
    from ..interop.cog import write_cog

    return write_cog(grid, path, overwrite=True, blocksize=TILE_SIZE,
                     overview_resampling="average")


def tile_values(cog: Path, z: int, x: int, y: int, size: int = TILE_SIZE) -> np.ndarray:
    """The raster values of tile ``z/x/y`` (``size`` x ``size``, float64, NaN where the
    raster has no data or does not reach), from the overview of ``cog`` whose cells are
    the coarsest still finer than the tile's pixels."""
    import rasterio
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    bounds = mercator_tile_bounds(z, x, y)
    pixel_m = (bounds[2] - bounds[0]) / size
    with rasterio.open(cog) as src:
        factors = src.overviews(1)
        west, south, east, north = transform_bounds(src.crs, "EPSG:3857", *src.bounds,
                                                    densify_pts=21)
        cell_m = min((east - west) / src.width, (north - south) / src.height)
    level = -1
    for i, factor in enumerate(factors):
        if cell_m * factor <= pixel_m:
            level = i
    out = np.full((size, size), np.nan, dtype="float32")
    options: dict[str, Any] = {} if level < 0 else {"overview_level": level}
    with rasterio.open(cog, **options) as src:  # its nodata cells become NaN
        reproject(rasterio.band(src, 1), out, dst_transform=from_bounds(*bounds, size, size),
                  dst_crs="EPSG:3857", dst_nodata=np.nan, resampling=Resampling.nearest)
    return out.astype("float64")


def tile_png(values: np.ndarray, cmap: Any, norm: Any, opacity: float = 0.8) -> bytes:
    """``values`` coloured with ``cmap`` after ``norm`` as an RGBA PNG; NaN (and, on a
    log scale, values not above 0) transparent."""
    from matplotlib.colors import LogNorm
    from PIL import Image

    shown = np.isfinite(values)
    if isinstance(norm, LogNorm):
        shown &= values > 0
    rgba = np.zeros((*values.shape, 4), dtype="uint8")
    if shown.any():
        colours = cmap(norm(np.where(shown, values, np.nan)))  # hidden pixels: any colour
        rgba[..., :3] = np.round(np.asarray(colours)[..., :3] * 255).astype("uint8")
        rgba[..., 3] = np.where(shown, math.floor(opacity * 255), 0).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def cog_value(cog: Path, lon: float, lat: float) -> float | None:
    """The value of the cell of ``cog`` under (``lon``, ``lat``), or ``None`` outside the
    raster or where it has no data."""
    import rasterio
    from rasterio.warp import transform

    with rasterio.open(cog) as src:
        xs, ys = ([lon], [lat]) if src.crs is None or src.crs.to_epsg() == 4326 else \
            transform("EPSG:4326", src.crs, [lon], [lat])
        row, col = src.index(xs[0], ys[0])
        if not (0 <= row < src.height and 0 <= col < src.width):
            return None
        value = float(src.read(1, window=((row, row + 1), (col, col + 1)))[0, 0])
        nodata = src.nodata
    return None if value == nodata or math.isnan(value) else value


def overlay_png(grid: Grid, cmap: Any, norm: Any, max_side: int = 2048
                ) -> tuple[bytes, list[list[float]]]:
    """The whole raster as one Web Mercator PNG (as many pixels as it has cells, at most
    ``max_side`` a side; bilinear) coloured as its tiles are, and its lat/lon bounds
    ``[[south, west], [north, east]]`` for a Leaflet image overlay (the static copy)."""
    from pyproj import Transformer
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, reproject, transform_bounds

    rows, cols = grid.values.shape
    west, north = grid.transform * (0, 0)
    east, south = grid.transform * (cols, rows)
    # Leaflet stretches the image linearly in Mercator, so its Mercator extent is exact
    x0, y0, x1, y1 = transform_bounds(grid.crs, "EPSG:3857", min(west, east),
                                      min(south, north), max(west, east), max(south, north),
                                      densify_pts=21)
    width, height = min(cols, max_side), min(rows, max_side)
    out = np.full((height, width), np.nan)
    reproject(np.asarray(grid.values, dtype="float64"), out, src_transform=grid.transform,
              src_crs=grid.crs, dst_transform=from_bounds(x0, y0, x1, y1, width, height),
              dst_crs="EPSG:3857", src_nodata=np.nan, dst_nodata=np.nan,
              resampling=Resampling.bilinear)
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([x0, x1], [y0, y1])
    return tile_png(out, cmap, norm), [[min(lat0, lat1), min(lon0, lon1)],
                                       [max(lat0, lat1), max(lon0, lon1)]]
