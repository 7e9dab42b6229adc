"""Raster map tiles cut from Cloud Optimized GeoTIFFs (cami_atlas.web.tiles), checked
against the raster sampled by hand at each pixel centre, and through the web API."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from cami_atlas.raster import Grid
from cami_atlas.web.tiles import mercator_tile_bounds, raster_cog, tile_values

R_M = 6378137.0  # the Web Mercator sphere


def test_tile_bounds_are_the_osm_grid() -> None:
    # tile 2/1/1 spans lon -90..0 and lat 0..66.51 (OpenStreetMap's slippy-map numbering)
    west, south, east, north = mercator_tile_bounds(2, 1, 1)
    assert np.degrees(west / R_M) == pytest.approx(-90) and east == pytest.approx(0, abs=1e-6)
    assert south == pytest.approx(0, abs=1e-6)
    lat = math.degrees(2 * math.atan(math.exp(north / R_M)) - math.pi / 2)
    assert lat == pytest.approx(66.51326, abs=1e-5)


def test_tile_values_are_the_cells_under_the_pixel_centres(tmp_path: Path,
                                                           pixel_centres) -> None:
    # SYNTHETIC lon/lat raster: value = 100 * row + col, 0.25 deg cells, 60-70 E, 40-48 N
    rows, cols = 32, 40
    values = np.add.outer(100.0 * np.arange(rows), np.arange(cols))
    values[:4, :5] = np.nan
    cog = raster_cog(Grid(values, Affine(0.25, 0, 60, 0, -0.25, 48), "EPSG:4326"),
                    tmp_path / "ramp.tif")
    for z, x, y in [(6, 42, 23), (7, 85, 47), (5, 21, 11)]:
        got = tile_values(cog, z, x, y)
        lon, lat = pixel_centres(z, x, y)
        col = np.floor((lon - 60) / 0.25).astype(int)
        row = np.floor((48 - lat) / 0.25).astype(int)
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        expected = np.full(got.shape, np.nan)
        expected[inside] = values[row[inside], col[inside]]
        # pixel centres within 1e-4 cell of a cell edge may fall either side
        frac_c, frac_r = (lon - 60) / 0.25 % 1, (48 - lat) / 0.25 % 1
        clear = (np.minimum(frac_c, 1 - frac_c) > 1e-4) & (np.minimum(frac_r, 1 - frac_r) > 1e-4)
        assert clear.mean() > 0.9
        np.testing.assert_array_equal(got[clear], expected[clear], err_msg=f"{z}/{x}/{y}")
        assert inside.any() and np.isnan(got[~inside & clear]).all()


def test_low_zooms_read_the_averaged_overview(tmp_path: Path) -> None:
    # SYNTHETIC Web Mercator raster, 1 km cells, 2048 x 2048: a constant per 8 x 8 block plus
    # a +-1 checkerboard, whose average over any 2 x 2 (or larger) overview cell is 0
    n = 2048
    r, c = np.indices((n, n))
    block = (r // 8) * 1000.0 + (c // 8)
    values = block + np.where((r + c) % 2, 1.0, -1.0)
    west, north = 6_000_000.0, 6_500_000.0
    cog = raster_cog(Grid(values, Affine(1000.0, 0, west, 0, -1000.0, north), "EPSG:3857"),
                    tmp_path / "blocks.tif")
    import rasterio

    with rasterio.open(cog) as src:
        assert src.overviews(1)[:3] == [2, 4, 8] and src.profile["tiled"]
    for z, overview in [(4, True), (5, True), (8, False)]:
        size_m = 2 * 20037508.342789244 / 2**z
        x = int((west + size_m / 4 + 20037508.342789244) // size_m)
        y = int((20037508.342789244 - north + size_m / 4) // size_m)
        got = tile_values(cog, z, x, y)
        tw, _, te, tn = mercator_tile_bounds(z, x, y)
        step = (te - tw) / 256
        mx = tw + (np.arange(256) + 0.5) * step
        my = tn - (np.arange(256) + 0.5) * step
        cc = np.floor((mx - west) / 1000).astype(int)
        rr = np.floor((north - my) / 1000).astype(int)
        ok_c, ok_r = (cc >= 0) & (cc < n), (rr >= 0) & (rr < n)
        sub = got[np.ix_(ok_r, ok_c)]
        blocks = (rr[ok_r] // 8)[:, None] * 1000.0 + (cc[ok_c] // 8)[None, :]
        # away from block edges (an overview cell there may straddle two blocks)
        keep = ((rr[ok_r] % 8 >= 2) & (rr[ok_r] % 8 <= 5))[:, None] & \
            ((cc[ok_c] % 8 >= 2) & (cc[ok_c] % 8 <= 5))[None, :]
        assert keep.sum() > 1000
        if overview:  # the checkerboard averaged away: the block constants exactly
            np.testing.assert_array_equal(sub[keep], blocks[keep])
        else:  # full resolution: the cell itself, block constant +- 1
            diff = np.abs(sub[keep] - blocks[keep])
            assert set(np.unique(diff)) == {1.0}
