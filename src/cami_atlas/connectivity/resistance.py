"""Resistance surfaces: from base rasters plus infrastructure burned in per species.

Every function here returns a :class:`~cami_atlas.raster.Grid` in the library's one
resistance encoding: finite values ``>= 1`` are passable (the cost of crossing one
metre of the cell), ``inf`` is impassable, ``NaN`` is outside the study area.

Building blocks
---------------
* :func:`slope_degrees` -- slope of a DEM in degrees, with the cell size in metres.
* :func:`slope_resistance` -- a DEM (reprojected if needed) turned into a resistance.
* :func:`reclassify` -- land cover (or any class raster) through a reclass table.
* :func:`resistance_from_function` -- any raster through a user function.
* :func:`combine_resistance` -- several resistance grids into one (max, sum, product).
* :func:`burn_infrastructure` -- lines burned in with a resistance per barrier class,
  without diagonal leaks, and crossing structures that restore the base resistance.
* :func:`check_resistance` -- validate the encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import rasterize

from .._options import check_option
from ..errors import CRSError, MissingColumnError, SchemaError, UnknownValueError
from ..raster import Grid

__all__ = [
    "DEFAULT_BARRIER_RESISTANCE",
    "burn_infrastructure",
    "check_resistance",
    "combine_resistance",
    "four_neighbour_guard",
    "reclassify",
    "resistance_from_function",
    "slope_degrees",
    "slope_resistance",
]

#: Default effect of each barrier class (multipliers of the base resistance with
#: ``how="multiply"``). These are modelling assumptions of this library, not published
#: values: "not a barrier" leaves the cell unchanged, "partial barrier" makes it 10 times
#: harder to cross, "unknown" is treated like a partial barrier (precautionary), and a
#: "complete barrier" is impassable (``inf``). Pass your own table for a species.
DEFAULT_BARRIER_RESISTANCE: dict[str, float] = {
    "not a barrier": 1.0,
    "partial barrier": 10.0,
    "unknown": 10.0,
    "complete barrier": float("inf"),
}

_BURN_METHODS = ("all_touched", "four_neighbour")
_BURN_HOW = ("multiply", "replace", "max")
_COMBINE_HOW = ("max", "sum", "product")


# -- validation ------------------------------------------------------------------------
def check_resistance(grid: Grid, *, what: str = "resistance") -> Grid:
    """Return ``grid`` if it follows the resistance encoding, else raise :class:`SchemaError`.

    Finite values must be ``>= 1``; ``inf`` (impassable) and ``NaN`` (outside the study
    area) are allowed; ``-inf`` and values below 1 (including 0 and negatives) are not.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> g = Grid(np.array([[1.0, np.inf], [np.nan, 5.0]]), Affine(100, 0, 0, 0, -100, 200),
    ...          "EPSG:32643")
    >>> check_resistance(g) is g
    True
    """
    values = np.asarray(grid.values)
    dtype = values.dtype
    if not np.issubdtype(dtype, np.number) or np.issubdtype(dtype, np.complexfloating):
        raise SchemaError(f"{what} must hold real numbers; got dtype {values.dtype}.")
    if values.size == 0:
        raise SchemaError(f"{what} is an empty grid (shape {values.shape}).")
    if values.min() >= 1:  # one pass, no temporary: no NaN and nothing below 1
        return grid
    with np.errstate(invalid="ignore"):
        bad = values < 1
    if bad.any():
        n = int(bad.sum())
        low = float(np.nanmin(values))
        raise SchemaError(
            f"{what} has {n} cell(s) below 1 (minimum {low}); the resistance encoding is "
            "finite >= 1 passable, inf impassable, NaN outside the study area. Rescale the "
            "surface (e.g. values / min + ...) or mark impassable cells with inf, not 0 or "
            "negative numbers."
        )
    return grid


def _require_same_crs(grid: Grid, gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> None:
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; set the CRS it is actually in (gdf.set_crs(...)).")
    if grid.crs is None or not gdf.crs.equals(grid.crs):
        raise CRSError(
            f"{what} is in {gdf.crs.to_string() if gdf.crs else None} but the grid is in "
            f"{grid.crs.to_string() if grid.crs else None}; reproject it first: "
            f"gdf.to_crs(grid.crs)."
        )


# -- slope ---------------------------------------------------------------------------
def slope_degrees(dem: Grid, *, z_factor: float = 1.0) -> Grid:
    """Slope of a DEM in degrees, from finite differences with the cell size in metres.

    The gradient is taken with :func:`numpy.gradient` (second-order central
    differences inside the grid, one-sided differences on its edges), so the slope of
    a plane is exact everywhere: ``slope = degrees(arctan(hypot(dz/dx, dz/dy)))``.
    ``NaN`` cells make their neighbours ``NaN``.

    Parameters
    ----------
    dem : Grid
        Elevations, in a projected CRS with square cells (a lat/lon DEM raises
        :class:`CRSError`; reproject it with ``dem.to_crs(...)`` or use
        :func:`slope_resistance` with ``crs=``).
    z_factor : float
        Multiplier that turns elevation units into metres (1 for metres, 0.3048 for feet).

    Returns
    -------
    Grid
        Slope in degrees, in ``[0, 90)``.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> rows, cols = np.mgrid[0:3, 0:4]
    >>> dem = Grid(cols * 100.0, Affine(100, 0, 0, 0, -100, 300), "EPSG:32643")  # 1:1 ramp
    >>> slope_degrees(dem).values.round(6).tolist()[1]
    [45.0, 45.0, 45.0, 45.0]
    """
    dem.require_projected("slope_degrees")
    cell = dem.cell_size_m
    z = np.asarray(dem.values, dtype="float64") * float(z_factor)
    if min(z.shape) < 2:
        raise SchemaError(f"slope needs a DEM of at least 2 x 2 cells; got shape {z.shape}.")
    dz_drow, dz_dcol = np.gradient(z, cell, cell)
    slope = np.degrees(np.arctan(np.hypot(dz_drow, dz_dcol)))
    return dem.with_values(slope, name="slope_deg")


def slope_resistance(
    dem: Grid,
    *,
    crs: Any = None,
    cell_size_m: float | None = None,
    max_resistance: float = 100.0,
    exponent: float = 1.0,
    impassable_above_deg: float | None = None,
    z_factor: float = 1.0,
) -> Grid:
    """Resistance from terrain slope: ``1 + (max_resistance - 1) * (slope / 90°) ** exponent``.

    A flat cell costs 1, resistance grows with slope up to ``max_resistance`` at a
    vertical cliff; cells steeper than ``impassable_above_deg`` are ``inf``. The
    elevation range, the cell size and the CRS of the result are those of the
    (reprojected) DEM.

    Parameters
    ----------
    dem : Grid
        Elevation in metres (``z_factor`` otherwise). A lat/lon DEM (e.g. GEBCO) is
        reprojected to ``crs`` first (bilinear) at ``cell_size_m``; without ``crs`` it
        raises :class:`CRSError`. Prefer a conformal CRS (a UTM zone) for slopes: an
        equal-area CRS stretches distances away from its standard parallels.
    crs : CRS-like, optional
        Target projected CRS, e.g. ``"EPSG:32643"`` (UTM 43N) for Kyrgyzstan.
    cell_size_m : float, optional
        Output cell size when reprojecting (default: chosen by rasterio).
    max_resistance : float
        Resistance of a 90° slope (>= 1).
    exponent : float
        Shape of the curve (> 0): 1 linear, 2 quadratic (gentle slopes nearly free).
    impassable_above_deg : float, optional
        Slopes strictly above this are impassable.
    z_factor : float
        Elevation units to metres.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> rows, cols = np.mgrid[0:3, 0:4]
    >>> dem = Grid(cols * 100.0, Affine(100, 0, 0, 0, -100, 300), "EPSG:32643")  # 45 degrees
    >>> r = slope_resistance(dem, max_resistance=101)
    >>> float(r.values[1, 1])
    51.0
    """
    if not max_resistance >= 1:
        raise SchemaError(f"max_resistance must be >= 1; got {max_resistance}.")
    if not exponent > 0:
        raise SchemaError(f"exponent must be > 0; got {exponent}.")
    if dem.crs is not None and dem.crs.is_geographic and crs is None:
        raise CRSError(
            f"slope needs cell sizes in metres but the DEM is in lat/lon ({dem.crs.name}); "
            "pass crs= a projected CRS (e.g. a UTM zone such as 'EPSG:32643'), optionally "
            "with cell_size_m=, and it is reprojected first."
        )
    if crs is not None and (dem.crs is None or not dem.crs.equals(crs) or cell_size_m):
        dem = dem.to_crs(crs, cell_size_m=cell_size_m, resampling="bilinear")
    slope = slope_degrees(dem, z_factor=z_factor)
    s = slope.values
    res = 1.0 + (float(max_resistance) - 1.0) * (s / 90.0) ** float(exponent)
    if impassable_above_deg is not None:
        with np.errstate(invalid="ignore"):
            res = np.where(s > impassable_above_deg, np.inf, res)
    return slope.with_values(res, name="slope_resistance")


# -- reclass / functions / combination -------------------------------------------------
def _table_to_mapping(table: Mapping[Any, float] | pd.DataFrame | pd.Series, key: str,
                      value: str, what: str) -> dict[Any, float]:
    if isinstance(table, pd.DataFrame):
        missing = [c for c in (key, value) if c not in table.columns]
        if missing:
            raise MissingColumnError(
                f"the {what} table lacks column(s) {missing}; it has {list(table.columns)}. "
                f"Rename its columns to {key!r} and {value!r} (or pass a dict key -> value)."
            )
        keys = table[key].tolist()
        if len(set(keys)) != len(keys):
            dup = sorted({str(k) for k in keys if keys.count(k) > 1})
            raise SchemaError(f"{what} table has duplicate keys in column {key!r}: {dup}.")
        mapping = dict(zip(keys, table[value].tolist(), strict=True))
    elif isinstance(table, pd.Series):
        mapping = table.to_dict()
    elif isinstance(table, Mapping):
        mapping = dict(table)
    else:
        raise SchemaError(
            f"the {what} table must be a dict, a pandas Series or a DataFrame; got "
            f"{type(table).__name__}."
        )
    bad = {k: v for k, v in mapping.items()
           if not isinstance(v, (int, float, np.integer, np.floating)) or np.isnan(v) or v < 1}
    if bad:
        raise SchemaError(
            f"{what} table has values that are not resistances (finite >= 1 or inf): {bad}. "
            "Use inf for impassable classes and NaN cells in the raster for outside the study area."
        )
    return {k: float(v) for k, v in mapping.items()}


def reclassify(
    grid: Grid,
    table: Mapping[Any, float] | pd.DataFrame | pd.Series,
    *,
    class_column: str = "class",
    value_column: str = "resistance",
    name: str = "resistance",
) -> Grid:
    """Resistance from a class raster (e.g. land cover) through a reclass table.

    Parameters
    ----------
    grid : Grid
        Class codes (integers or floats); ``NaN`` cells stay ``NaN``.
    table : dict, Series or DataFrame
        ``class -> resistance`` (finite >= 1 or ``inf``). A DataFrame gives the classes
        in ``class_column`` and the resistances in ``value_column``.

    Raises
    ------
    UnknownValueError
        If the raster holds classes the table does not list (all of them are named).

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> lc = Grid(np.array([[10, 20], [30, 10]]), Affine(30, 0, 0, 0, -30, 60), "EPSG:32643")
    >>> reclassify(lc, {10: 1, 20: 5, 30: np.inf}).values.tolist()
    [[1.0, 5.0], [inf, 1.0]]
    """
    mapping = _table_to_mapping(table, class_column, value_column, "reclass")
    values = np.asarray(grid.values)
    valid = ~np.isnan(values) if np.issubdtype(values.dtype, np.floating) else \
        np.ones(values.shape, bool)
    classes, inverse = np.unique(values[valid], return_inverse=True)
    lookup = np.array([mapping.get(_plain(c), np.nan) for c in classes], dtype="float64")
    unmatched = classes[np.isnan(lookup)]
    if unmatched.size:
        listed = ", ".join(repr(_plain(c)) for c in unmatched[:50])
        more = f" (and {unmatched.size - 50} more)" if unmatched.size > 50 else ""
        raise UnknownValueError(
            f"the reclass table has no resistance for {unmatched.size} class(es) present in "
            f"the raster {grid.name or ''!r}: {listed}{more}. Table keys: "
            f"{sorted(mapping, key=str)}. Add them to the table (inf for impassable) or set "
            "those cells to NaN (outside the study area)."
        )
    out = np.full(values.shape, np.nan)
    out[valid] = lookup[inverse]
    return grid.with_values(out, name=name)


def _plain(value: Any) -> Any:
    """numpy scalar -> Python scalar; integral floats -> int (so 10.0 matches key 10)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def resistance_from_function(
    grid: Grid, func: Callable[[np.ndarray], np.ndarray], *, name: str = "resistance"
) -> Grid:
    """Resistance from any raster through a user function of its values.

    ``func`` receives a float64 copy of the values (``NaN`` where outside) and must
    return an array of the same shape in the resistance encoding; the result is
    validated with :func:`check_resistance`.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> dist = Grid(np.array([[0.0, 500.0], [1000.0, 2000.0]]),
    ...             Affine(500, 0, 0, 0, -500, 1000), "EPSG:32643")
    >>> r = resistance_from_function(dist, lambda d: 1 + 9 * np.exp(-d / 1000))
    >>> r.values.round(2).tolist()
    [[10.0, 6.46], [4.31, 2.22]]
    """
    values = np.array(grid.values, dtype="float64", copy=True)
    out = np.asarray(func(values), dtype="float64")
    if out.shape != grid.shape:
        raise SchemaError(
            f"the resistance function returned shape {out.shape}; the grid is {grid.shape}. "
            "It must work element-wise on the whole array."
        )
    result = grid.with_values(out, name=name)
    return check_resistance(result, what="the resistance function's result")


def combine_resistance(grids: Iterable[Grid], *, how: Literal["max", "sum", "product"] = "max",
                       name: str = "resistance") -> Grid:
    """Combine resistance grids on the same raster, cell by cell.

    ``how="max"`` keeps the hardest layer, ``"product"`` multiplies (each >= 1, so
    factors stack), ``"sum"`` adds and subtracts ``n - 1`` so that all-ones stays 1.
    ``inf`` wins in every mode; ``NaN`` anywhere makes the cell ``NaN``.

    Examples
    --------
    >>> import numpy as np
    >>> from affine import Affine
    >>> t = Affine(100, 0, 0, 0, -100, 100)
    >>> a = Grid(np.array([[1.0, 4.0]]), t, "EPSG:32643")
    >>> b = Grid(np.array([[3.0, 2.0]]), t, "EPSG:32643")
    >>> combine_resistance([a, b], how="sum").values.tolist()
    [[3.0, 5.0]]
    """
    check_option("how", how, _COMBINE_HOW)
    grids = list(grids)
    if not grids:
        raise SchemaError("combine_resistance needs at least one grid; got none.")
    first = grids[0]
    for k, g in enumerate(grids):
        if g.shape != first.shape or not g.transform.almost_equals(first.transform) or (
                (g.crs is None) != (first.crs is None)
                or (g.crs is not None and not g.crs.equals(first.crs))):
            raise SchemaError(
                f"grid {k} ({g.name!r}, shape {g.shape}, CRS {g.crs}) is not on the same raster "
                f"as grid 0 (shape {first.shape}, CRS {first.crs}); warp it onto the same "
                "transform first."
            )
        check_resistance(g, what=f"grid {k} ({g.name!r})")
    stack = np.stack([np.asarray(g.values, dtype="float64") for g in grids])
    with np.errstate(invalid="ignore"):
        if how == "max":
            out = stack.max(axis=0)
        elif how == "product":
            out = stack.prod(axis=0)
        else:
            out = stack.sum(axis=0) - (len(grids) - 1)
    out[np.isnan(stack).any(axis=0)] = np.nan
    return first.with_values(out, name=name)


# -- infrastructure burning ------------------------------------------------------------
def four_neighbour_guard(mask: np.ndarray) -> np.ndarray:
    """Add cells to a burned line so that no diagonal step can cross it.

    A diagonal move between two free cells slips between two burned cells that touch
    only at a corner. Wherever a 2 x 2 window holds burned cells on exactly one of
    its diagonals, one free cell of the window is burned too (top-left for the
    anti-diagonal, top-right for the main diagonal), repeated until no such window is
    left. Afterwards the free cells connected with 8 neighbours are exactly those
    connected with 4 neighbours, so an 8-connected line separates both sides.

    Examples
    --------
    >>> import numpy as np
    >>> four_neighbour_guard(np.eye(3, dtype=bool)).astype(int).tolist()
    [[1, 1, 0], [0, 1, 1], [0, 0, 1]]
    """
    m = np.array(mask, dtype=bool, copy=True)
    if m.ndim != 2:
        raise SchemaError(f"the mask must be 2-D; got shape {m.shape}.")
    if min(m.shape) < 2:
        return m
    while True:
        a, b, c, d = m[:-1, :-1], m[:-1, 1:], m[1:, :-1], m[1:, 1:]
        anti = b & c & ~a & ~d       # burned top-right + bottom-left only
        main = a & d & ~b & ~c       # burned top-left + bottom-right only
        if not (anti.any() or main.any()):
            return m
        m[:-1, :-1] |= anti
        m[:-1, 1:] |= main


def _burn_mask(geoms: np.ndarray, grid: Grid, *, all_touched: bool) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(grid.shape, dtype=bool)
    burned = rasterize(((g, 1) for g in geoms), out_shape=grid.shape, transform=grid.transform,
                       fill=0, all_touched=all_touched, dtype="uint8")
    return burned.astype(bool)


def burn_infrastructure(
    resistance: Grid,
    infra: gpd.GeoDataFrame,
    *,
    barrier_table: Mapping[str, float] | pd.DataFrame | pd.Series | None = None,
    column: str = "barrier_class",
    how: Literal["multiply", "replace", "max"] = "multiply",
    method: Literal["all_touched", "four_neighbour"] = "four_neighbour",
    crossings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    crossing_radius_m: float | None = None,
    name: str = "resistance",
) -> Grid:
    """Burn infrastructure lines into a resistance grid, one effect per barrier class.

    Parameters
    ----------
    resistance : Grid
        Base resistance (projected CRS, resistance encoding).
    infra : GeoDataFrame
        Lines (or polygons) in the grid's CRS with a ``column`` of barrier classes,
        e.g. ``infra.assign(barrier_class=cami_atlas.barriers.classify_barriers(infra,
        species))`` for one species.
    barrier_table : dict, Series or DataFrame, optional
        ``barrier_class -> number`` (finite >= 1 or ``inf``); a DataFrame with columns
        ``barrier_class`` and ``resistance``. Default :data:`DEFAULT_BARRIER_RESISTANCE`
        (not a barrier x1, partial x10, unknown x10, complete ``inf``).
    how : {"multiply", "replace", "max"}
        The number multiplies the base resistance (default), replaces it, or is a
        floor (``max(base, number)``). ``inf`` is impassable in every mode.
    method : {"all_touched", "four_neighbour"}
        How lines become cells without diagonal leaks. ``"four_neighbour"`` burns the
        cells a line passes through (GDAL's default line rasterization, one cell
        thick) and then applies :func:`four_neighbour_guard`. ``"all_touched"``
        burns every cell the line touches (thicker) and applies the same guard, which
        there only closes the corner-to-corner gaps GDAL leaves where a line runs
        exactly through cell corners.
    crossings : GeoDataFrame or GeoSeries, optional
        Crossing structures (points or short lines: underpasses, overpasses, gaps in
        fences) in the grid's CRS. Every cell within ``crossing_radius_m`` of one gets
        its base resistance back.
    crossing_radius_m : float, optional
        Reach of a crossing (default: one cell, enough to open a burned line of up to
        three cells across).

    Returns
    -------
    Grid
        The new resistance. Where lines of several classes share a cell, the highest
        resulting resistance is kept. Cells outside the study area stay ``NaN``.

    Notes
    -----
    The guard is applied per barrier class; a diagonal step between two cells of
    *different* classes is possible and pays the cheaper class at the end cells.
    (Longer than 120 lines only through this documentation; the code is about 65 lines.)

    Examples
    --------
    >>> import numpy as np, geopandas as gpd
    >>> from affine import Affine
    >>> from shapely import LineString
    >>> base = Grid(np.ones((4, 4)), Affine(100, 0, 0, 0, -100, 400), "EPSG:32643")
    >>> fence = gpd.GeoDataFrame({"barrier_class": ["complete barrier"]},
    ...     geometry=[LineString([(0, 400), (400, 0)])], crs="EPSG:32643")
    >>> r = burn_infrastructure(base, fence)
    >>> np.isinf(r.values).astype(int).tolist()
    [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]]
    """
    check_option("how", how, _BURN_HOW)
    check_option("method", method, _BURN_METHODS)
    resistance.require_projected("burn_infrastructure")
    check_resistance(resistance)
    if not isinstance(infra, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise SchemaError(f"infra must be a GeoDataFrame; got {type(infra).__name__}.")
    _require_same_crs(resistance, infra, "the infrastructure layer")
    if column not in infra.columns:
        raise MissingColumnError(
            f"the infrastructure layer has no {column!r} column (columns: {list(infra.columns)}). "
            "Add one per species, e.g. infra.assign(barrier_class="
            "cami_atlas.barriers.classify_barriers(infra, species)), or name yours with column=."
        )
    table = _table_to_mapping(
        DEFAULT_BARRIER_RESISTANCE if barrier_table is None else barrier_table,
        "barrier_class", "resistance", "barrier")
    classes = infra[column]
    if classes.isna().any():
        raise SchemaError(
            f"{int(classes.isna().sum())} infrastructure feature(s) have no {column!r} "
            "(e.g. index " f"{list(infra.index[classes.isna()][:5])}); fill them, e.g. "
            f"infra[{column!r}].fillna('unknown')."
        )
    unknown = sorted(set(classes.unique()) - set(table), key=str)
    if unknown:
        raise UnknownValueError(
            f"column {column!r} of the infrastructure layer holds barrier class(es) {unknown} "
            f"that the barrier table does not list; table keys: {sorted(table, key=str)}. "
            "Add them to barrier_table."
        )

    base = np.asarray(resistance.values, dtype="float64")
    burned = np.full(base.shape, -np.inf)  # the worst effect of any class burned into a cell
    geoms = infra.geometry.to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    all_touched = method == "all_touched"
    cls_values = classes.to_numpy()
    with np.errstate(invalid="ignore"):
        for cls in pd.unique(cls_values[keep]):
            number = table[cls]
            mask = _burn_mask(geoms[keep & (cls_values == cls)], resistance,
                              all_touched=all_touched)
            mask = four_neighbour_guard(mask)
            if how == "multiply":
                effect = base * number
            elif how == "replace":
                effect = np.full(base.shape, number)
            else:
                effect = np.maximum(base, number)
            burned = np.where(mask, np.maximum(burned, effect), burned)
    out = np.where(burned > -np.inf, burned, base)
    out[np.isnan(base)] = np.nan

    if crossings is not None and len(crossings):
        _require_same_crs(resistance, crossings, "the crossing structures layer")
        radius = resistance.cell_size_m if crossing_radius_m is None else float(crossing_radius_m)
        if radius < 0:
            raise SchemaError(f"crossing_radius_m must be >= 0; got {crossing_radius_m}.")
        cgeoms = crossings.geometry.to_numpy() if hasattr(crossings, "geometry") else \
            np.asarray(crossings)
        cgeoms = cgeoms[~(shapely.is_missing(cgeoms) | shapely.is_empty(cgeoms))]
        footprint = shapely.buffer(cgeoms, radius) if radius > 0 else cgeoms
        open_mask = _burn_mask(footprint, resistance, all_touched=True)
        out = np.where(open_mask, base, out)
    return resistance.with_values(out, name=name)
