"""Grid <-> georeferenced ``xarray.DataArray`` (rioxarray conventions).

A :class:`~cami_atlas.raster.Grid` becomes a 2-D DataArray with dimensions
``("y", "x")``, cell-centre coordinates, and the CRS, transform and nodata written the
way rioxarray reads them (``da.rio.crs``, ``da.rio.transform()``,
``da.rio.encoded_nodata``), so ``da.rio.to_raster(path)`` writes the same GeoTIFF as
:meth:`Grid.to_geotiff`. The way back accepts what ``rioxarray.open_rasterio`` returns
(a single band), with or without ``masked=True``.

Nodata: in a float Grid the cells outside the data are ``NaN`` and ``Grid.nodata`` is the
value files use for them. The DataArray holds the same ``NaN`` and carries
``Grid.nodata`` as its *encoded* nodata (``_FillValue`` in ``encoding``, rioxarray's
masked convention). A DataArray whose nodata is a plain attribute (``open_rasterio``
without ``masked=True``) has its nodata cells turned into ``NaN`` (float64), as
:meth:`Grid.from_geotiff` does.

Needs ``xarray`` and ``rioxarray`` (``pip install 'cami-atlas[xarray]'``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from affine import Affine
from pyproj import CRS

from ..errors import CRSError, SchemaError
from ..raster import Grid

__all__ = ["grid_from_xarray", "grid_to_xarray"]


def _xr() -> Any:
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
        import xarray
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Grid <-> xarray conversion needs xarray and rioxarray: "
            "pip install 'cami-atlas[xarray]' (or pip install xarray rioxarray)."
        ) from exc
    return xarray


def grid_to_xarray(grid: Grid) -> Any:
    """A georeferenced ``xarray.DataArray`` holding the grid.

    Parameters
    ----------
    grid : Grid
        A north-up grid (no rotation terms in its transform).

    Returns
    -------
    xarray.DataArray
        Dimensions ``("y", "x")`` with cell-centre coordinates, the grid's values (same
        dtype, ``NaN`` kept), ``name`` and ``long_name`` = ``grid.name``, CRS and transform as
        rioxarray writes them, ``grid.nodata`` as the encoded nodata.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.array([[1.0, np.nan], [3.0, 4.0]]), Affine(100, 0, 500, 0, -100, 900),
    ...          "EPSG:32643", nodata=-9999.0, name="resistance")
    >>> da = grid_to_xarray(g)
    >>> da.dims, da.x.values.tolist(), da.y.values.tolist()
    (('y', 'x'), [550.0, 650.0], [850.0, 750.0])
    >>> da.rio.crs.to_epsg(), float(da.rio.encoded_nodata), tuple(da.rio.transform())[:6]
    (32643, -9999.0, (100.0, 0.0, 500.0, 0.0, -100.0, 900.0))
    """
    xr = _xr()
    if not isinstance(grid, Grid):
        raise SchemaError(f"grid_to_xarray needs a Grid; got {type(grid).__name__}.")
    t = grid.transform
    if t.b != 0 or t.d != 0:
        raise SchemaError(
            f"grid {grid.name or '(unnamed)'} has a rotated transform {tuple(t)[:6]}; an "
            "xarray.DataArray has 1-D x/y coordinates. Warp it north-up first "
            "(grid.to_crs(grid.crs, cell_size_m=...))."
        )
    rows, cols = grid.shape
    x = t.c + (np.arange(cols) + 0.5) * t.a
    y = t.f + (np.arange(rows) + 0.5) * t.e
    da = xr.DataArray(grid.values, dims=("y", "x"), coords={"y": y, "x": x},
                      name=grid.name or None, attrs={"long_name": grid.name} if grid.name else {})
    if grid.crs is not None:
        da = da.rio.write_crs(grid.crs.to_wkt())
    da = da.rio.write_transform(t)
    if grid.nodata is not None:
        if np.issubdtype(grid.values.dtype, np.floating):
            da = da.rio.write_nodata(grid.nodata, encoded=True)
        else:
            da = da.rio.write_nodata(grid.nodata)
    return da


def _transform(da: Any, what: str) -> Affine:
    """The transform of ``da``: the stored one when the coordinates agree with it, else
    the one rioxarray computes from the coordinates (e.g. after slicing)."""
    stored = da.rio.transform(recalc=False)
    rotated = stored.b != 0 or stored.d != 0
    if rotated:
        raise SchemaError(
            f"{what}: the DataArray has a rotated transform {tuple(stored)[:6]}; a Grid "
            "needs a north-up one. Reproject it with da.rio.reproject(da.rio.crs)."
        )
    xdim, ydim = da.rio.x_dim, da.rio.y_dim
    ok = True
    for dim, origin, step in ((xdim, stored.c, stored.a), (ydim, stored.f, stored.e)):
        if dim in da.coords:
            coord = np.asarray(da[dim].values, dtype="float64")
            expect = origin + (np.arange(coord.size) + 0.5) * step
            ok &= bool(np.allclose(coord, expect, rtol=0, atol=1e-6 * abs(step)))
    if ok:
        return stored
    if da.sizes[xdim] < 2 or da.sizes[ydim] < 2:
        raise SchemaError(
            f"{what}: the DataArray's coordinates disagree with its stored transform and a "
            "single row or column does not give the cell size. Write the transform with "
            "da.rio.write_transform(transform)."
        )
    return da.rio.transform(recalc=True)


def grid_from_xarray(da: Any, *, what: str = "DataArray") -> Grid:
    """A :class:`~cami_atlas.raster.Grid` from a georeferenced ``xarray.DataArray``.

    Parameters
    ----------
    da : xarray.DataArray
        2-D (``y``, ``x`` in any of the names rioxarray recognises), or 3-D with one band
        (what ``rioxarray.open_rasterio`` returns). Must carry a CRS (``da.rio.crs``).
    what : str
        Name of the input for error messages (e.g. ``"resistance"``).

    Returns
    -------
    Grid
        North-up (a DataArray with ascending ``y`` is flipped), with the DataArray's CRS,
        transform and nodata (encoded nodata first, then the ``_FillValue``/nodata
        attribute); nodata cells are ``NaN``. ``name`` = ``da.name``, else its
        ``long_name`` attribute (the band description ``open_rasterio`` reads), else ``""``.

    Raises
    ------
    CRSError
        The DataArray has no CRS.
    SchemaError
        Not a DataArray, more than one band, or a rotated transform.

    Examples
    --------
    >>> import numpy as np, xarray as xr, rioxarray  # noqa: F401
    >>> da = xr.DataArray(np.array([[1.0, -1.0], [3.0, 4.0]]), dims=("y", "x"),
    ...                   coords={"y": [850.0, 750.0], "x": [550.0, 650.0]})
    >>> g = grid_from_xarray(da.rio.write_crs("EPSG:32643").rio.write_nodata(-1.0))
    >>> g.values.tolist(), g.nodata, g.cell_size_m, g.crs.to_epsg()
    ([[1.0, nan], [3.0, 4.0]], -1.0, 100.0, 32643)
    """
    xr = _xr()
    if not isinstance(da, xr.DataArray):
        raise SchemaError(f"{what} must be an xarray.DataArray; got {type(da).__name__}.")
    if da.ndim == 3:
        extra = [d for d in da.dims if d not in (da.rio.x_dim, da.rio.y_dim)]
        if da.sizes[extra[0]] != 1:
            raise SchemaError(
                f"{what} has {da.sizes[extra[0]]} values along {extra[0]!r}; a Grid holds one "
                f"band. Select one, e.g. da.isel({extra[0]}=0)."
            )
        da = da.squeeze(extra[0], drop=True)
    if da.ndim != 2:
        raise SchemaError(f"{what} must be 2-D (y, x); got dimensions {da.dims}.")
    if da.rio.crs is None:
        raise CRSError(
            f"{what} has no CRS. Set the CRS the data is actually in, e.g. "
            "da = da.rio.write_crs('EPSG:32643'), then convert it."
        )
    crs = CRS.from_user_input(da.rio.crs.to_wkt())
    da = da.transpose(da.rio.y_dim, da.rio.x_dim)
    transform = _transform(da, what)
    values = np.asarray(da.values)
    if transform.e > 0:  # south-up: flip to north-up
        rows = values.shape[0]
        values = values[::-1]
        transform = transform * Affine.translation(0, rows) * Affine.scale(1, -1)
    nodata = da.rio.encoded_nodata
    if nodata is None:
        nodata = da.rio.nodata
        if nodata is not None and not math.isnan(float(nodata)):
            values = values.astype("float64")
            values[values == nodata] = np.nan
    nodata = None if nodata is None else float(nodata)
    name = da.name if da.name else da.attrs.get("long_name", "")  # open_rasterio: long_name
    if isinstance(name, (tuple, list)):
        name = name[0] if name else ""
    return Grid(np.array(values), transform, crs, nodata, str(name) if name else "")
