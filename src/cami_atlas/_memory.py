"""Memory guard: refuse a grid that does not fit in memory before allocating it.

Every place that allocates a grid whose size the user controls (the connectivity
rasters, the hotspot hexagon lattice, raster reprojection) calls
:func:`check_grid_memory` once the shape is known. The estimate is
``cells x bytes per cell of the method`` (the constants below, measured on the
methods' largest intermediate state and rounded up); the limit is the smaller of
the memory available now (``psutil.virtual_memory().available``, i.e. MemAvailable
of ``/proc/meminfo`` on Linux) and the caller's ``max_memory`` (``--max-memory``).
When the estimate exceeds the limit the guard raises :class:`MemoryLimitError`
naming the smallest cell size (two significant digits, rounded up) that fits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import psutil

from .errors import MemoryLimitError, OptionError

__all__ = [
    "CONNECTIVITY_BYTES_PER_CELL",
    "HOTSPOT_BYTES_PER_CELL",
    "RASTER_BYTES_PER_CELL",
    "available_memory_bytes",
    "check_grid_memory",
    "check_raster_memory",
    "format_bytes",
    "parse_memory",
    "raster_cells",
]

#: Connectivity (resistance, cost distance, current, labels as float64 rasters, the
#: 8-neighbour sparse graph and its Laplacian with the AMG hierarchy), per raster cell.
CONNECTIVITY_BYTES_PER_CELL = 256
#: Hotspot lattice (hexagon vertices, GEOS polygon, row/column ids, spatial index),
#: per candidate cell over the region's bounding box (measured: ~850 bytes).
HOTSPOT_BYTES_PER_CELL = 1024
#: A plain float64 raster (reprojection target), per cell.
RASTER_BYTES_PER_CELL = 8

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_memory(value: str | int | float | None) -> int | None:
    """Bytes of a memory size such as ``"4GiB"``, ``"512 MiB"``, ``"8GB"`` or ``2**30``.

    Binary units (KiB, MiB, GiB, TiB, and the bare letters K, M, G, T) are powers of
    1024; decimal units (kB, MB, GB, TB) powers of 1000. ``None`` stays ``None``.

    Raises
    ------
    OptionError
        Not a positive size with a known unit.

    Examples
    --------
    >>> parse_memory("4GiB"), parse_memory("1.5 MB"), parse_memory(1024)
    (4294967296, 1500000, 1024)
    """
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        match = _PATTERN.match(str(value))
        if match is None or match.group(2).lower() not in _UNITS:
            raise OptionError(
                f"max_memory={value!r} is not a memory size; give a number with a unit, "
                "e.g. '4GiB', '512MiB' or '8GB' (--max-memory 4GiB).")
        number, unit = float(match.group(1)), match.group(2).lower()
    size = int(number * _UNITS[unit])
    if not math.isfinite(number) or size <= 0:
        raise OptionError(f"max_memory={value!r} must be a positive memory size, e.g. '4GiB'.")
    return size


def format_bytes(n: float) -> str:
    """``n`` bytes in the largest binary unit that keeps the number >= 1.

    Examples
    --------
    >>> format_bytes(17.6 * 2**30), format_bytes(512)
    ('17.6 GiB', '512 B')
    """
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def available_memory_bytes() -> int:
    """Memory available to a new allocation now (MemAvailable on Linux), in bytes."""
    return int(psutil.virtual_memory().available)


def _round_up(x: float) -> float:
    """``x`` rounded up to two significant digits (33.3 -> 34, 0.0871 -> 0.088)."""
    step = 10.0 ** (math.floor(math.log10(x)) - 1)
    return round(math.ceil(x / step - 1e-9) * step, 12)


def check_grid_memory(
    cells_at: Callable[[float], int],
    cell_size: float,
    bytes_per_cell: int,
    *,
    what: str,
    option: str,
    max_memory: str | int | float | None = None,
    available: int | None = None,
) -> int:
    """Refuse a grid whose estimated memory exceeds the limit; return the estimate.

    Parameters
    ----------
    cells_at : callable
        Number of cells of the grid at a given cell size (called with ``cell_size``
        and with candidate larger sizes to find the smallest that fits).
    cell_size : float
        The cell size asked for, in the unit of ``option``.
    bytes_per_cell : int
        Memory per cell of the method (e.g. :data:`CONNECTIVITY_BYTES_PER_CELL`).
    what : str
        What the grid is, for the message (e.g. ``"the connectivity rasters"``).
    option : str
        The option that sets the cell size, for the message (``"--cell-size-m"``).
    max_memory : str or int, optional
        Upper limit (``"4GiB"``, see :func:`parse_memory`); the limit is the smaller
        of it and the memory available now.
    available : int, optional
        Available memory in bytes (default: :func:`available_memory_bytes`).

    Returns
    -------
    int
        The estimated bytes.

    Raises
    ------
    MemoryLimitError
        The estimate exceeds the limit; the message names the smallest cell size that
        fits.

    Examples
    --------
    >>> side = 1000.0  # a 1 km x 1 km window
    >>> cells = lambda c: math.ceil(side / c) ** 2
    >>> check_grid_memory(cells, 100, 8, what="a raster", option="--cell-size-m",
    ...                   max_memory="1MiB")
    800
    """
    cap = parse_memory(max_memory)
    free = available_memory_bytes() if available is None else int(available)
    limit = free if cap is None else min(cap, free)
    n = int(cells_at(cell_size))
    need = n * bytes_per_cell
    if need <= limit:
        return need
    # smallest cell size (two significant digits) whose grid fits
    c = _round_up(cell_size * math.sqrt(need / max(limit, 1)))
    for _ in range(1000):
        if cells_at(c) * bytes_per_cell <= limit:
            break
        c = _round_up(c + 10.0 ** (math.floor(math.log10(c)) - 1))
    if cap is not None and cap <= free:
        whose = f"the {format_bytes(cap)} allowed by max_memory (--max-memory)"
        also = ", or a higher max_memory if the memory is there"
    else:
        whose = f"the {format_bytes(free)} of memory available"
        also = ""
    raise MemoryLimitError(
        f"{what} at {option} {cell_size:g} would hold {n:,} cells and need about "
        f"{format_bytes(need)} ({bytes_per_cell} bytes per cell), more than {whose}; "
        f"use {option} {c:g} or larger (the smallest that fits) or a smaller area{also}.")


def raster_cells(bounds: tuple[float, float, float, float], cell_size: float) -> int:
    """Cells of a raster of square ``cell_size`` cells covering ``bounds``.

    Examples
    --------
    >>> raster_cells((0, 0, 1000, 500), 100)
    50
    """
    minx, miny, maxx, maxy = bounds
    cols = max(1, math.ceil((maxx - minx) / cell_size))
    return cols * max(1, math.ceil((maxy - miny) / cell_size))


def check_raster_memory(
    window: object,
    crs: object,
    cell_size_m: float,
    *,
    bytes_per_cell: int = CONNECTIVITY_BYTES_PER_CELL,
    what: str = "the connectivity rasters of the window",
    option: str = "--cell-size-m",
    max_memory: str | int | float | None = None,
) -> int:
    """:func:`check_grid_memory` for a raster over a lon/lat ``window`` polygon in ``crs``.

    The window's edges are densified (0.01 degrees) before projection, so the raster's
    extent is that of the curved window.

    Examples
    --------
    >>> from shapely import box
    >>> check_raster_memory(box(72, 40, 73, 41), "EPSG:32643", 1000, max_memory="1GiB")
    2568192
    """
    import geopandas as gpd
    import shapely

    dense = shapely.segmentize(window, 0.01)
    bounds = tuple(gpd.GeoSeries([dense], crs="EPSG:4326").to_crs(crs).total_bounds)
    return check_grid_memory(lambda c: raster_cells(bounds, c), float(cell_size_m),
                             bytes_per_cell, what=what, option=option,
                             max_memory=max_memory)
