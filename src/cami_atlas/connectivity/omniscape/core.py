"""Omniscape in memory: settings, source strengths, targets and the moving-window solve.

Conventions (Omniscape.jl, Landau et al. 2021, after McRae et al. 2016):

* **Targets.** With ``block_size = b`` (odd), targets are the centres of a ``b x b``
  lattice of blocks starting at the grid's first full block (row and column
  ``(b - 1) / 2``, then every ``b`` cells). A target's strength is the sum of the
  source strengths in its block; targets of strength 0 are skipped.
* **Window.** The cells within ``radius`` cells (Euclidean, centre to centre) of the
  target, clipped to the grid.
* **Sources.** The window's source strengths, with those inside the target's block set
  to 0, are rescaled so that they sum to the target's strength, and injected as
  current; the target cell is tied to ground (0 V). Circuitscape solves only the
  connected part that holds the ground: sources in other parts of the window inject
  nothing (and are not rescaled again).
* **Current.** The cumulative current is the sum over windows of Circuitscape's node
  current (the larger of a node's inflow and outflow). ``block_size > 1`` is the
  documented approximation: one solve per block, with the block's summed strength
  (current multiplied accordingly) instead of one solve per cell.
* **Flow potential.** The same windows, targets and source currents on a surface of
  resistance 1 everywhere (also in ``inf`` and ``NaN`` cells, as Omniscape.jl's null
  conductance), on the same circular window: on a uniform resistance surface it is
  exactly the cumulative current.
* **Normalized current.** Cumulative current / flow potential (0 where the flow
  potential is 0); all three are ``NaN`` outside the study area (``NaN`` resistance).
* Edge conductances are those of :mod:`cami_atlas.connectivity.graph`
  (:func:`~cami_atlas.connectivity.graph.edge_conductance`); Circuitscape's default
  ``average="conductance"`` and 8 neighbours (``connect_four_neighbors_only = false``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..._atomic import atomic_path, prepare_outputs
from ..._options import check_option
from ...errors import CRSError, OptionError, SchemaError, SolverError
from ...raster import Grid
from ..graph import edge_conductance
from . import _kernels
from ._pattern import FORWARD, window_pattern

__all__ = [
    "OUTPUT_FILES",
    "OmniscapeResult",
    "OmniscapeSettings",
    "artifact_correction",
    "omniscape",
    "source_strength",
]

#: file names of the three maps written by :meth:`OmniscapeResult.write`
OUTPUT_FILES = {
    "cumulative_current": "cumulative_current.tif",
    "flow_potential": "flow_potential.tif",
    "normalized_current": "normalized_current.tif",
}
SETTINGS_FILE = "omniscape_settings.json"


@dataclass(frozen=True)
class OmniscapeSettings:
    """The settings of one Omniscape run (saved beside every output as JSON).

    Attributes
    ----------
    radius_cells : int
        Radius of the circular window, in cells (Omniscape's ``radius``).
    block_size : int
        Odd side of the target blocks (Omniscape's ``block_size``; 1: every cell).
    source_threshold : float
        Source strengths below this value are set to 0 (``source_threshold``).
    r_cutoff : float
        With sources from resistance: cells of resistance above this are not sources.
    source_from_resistance : bool
        True when the sources are ``1 / resistance`` (Omniscape's
        ``source_from_resistance``).
    neighbours : int
        8 (``connect_four_neighbors_only = false``) or 4.
    average : str
        ``"conductance"`` (Circuitscape's default) or ``"resistance"``.
    cell_size_m : float or None
        Cell side of the resistance grid in metres (None for a grid without CRS).
    correct_artifacts : bool
        Omniscape's block-artifact correction (``correct_artifacts``; only with
        ``block_size > 1``).
    """

    radius_cells: int
    block_size: int = 1
    source_threshold: float = 0.0
    r_cutoff: float = float("inf")
    source_from_resistance: bool = True
    neighbours: int = 8
    average: str = "conductance"
    cell_size_m: float | None = None
    correct_artifacts: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The settings as JSON (``inf`` written as the string ``"inf"``)."""
        d = asdict(self)
        d = {k: ("inf" if isinstance(v, float) and np.isinf(v) else v) for k, v in d.items()}
        return json.dumps(d, indent=2, sort_keys=True)

    def digest(self) -> str:
        """A short hash of the settings that change the result (for resumable jobs)."""
        d = asdict(self)
        d.pop("extra")
        return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class OmniscapeResult:
    """The three maps of an Omniscape run.

    Attributes
    ----------
    cumulative_current, flow_potential, normalized_current : Grid
        ``NaN`` outside the study area.
    settings : OmniscapeSettings
    n_targets : int
        Windows solved (targets of positive strength).
    """

    cumulative_current: Grid
    flow_potential: Grid
    normalized_current: Grid
    settings: OmniscapeSettings
    n_targets: int

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
        """Write the three GeoTIFFs and the settings JSON into ``out_dir`` (atomically).

        Every output is checked before anything is written.
        """
        names = [*OUTPUT_FILES.values(), SETTINGS_FILE]
        out = prepare_outputs(out_dir, names, overwrite=overwrite)
        paths = []
        for attr, name in OUTPUT_FILES.items():
            grid: Grid = getattr(self, attr)
            paths.append(grid.to_geotiff(out / name, overwrite=overwrite, dtype="float64"))
        with atomic_path(out / SETTINGS_FILE, overwrite=overwrite) as tmp:
            tmp.write_text(self.settings.to_json())
        paths.append(out / SETTINGS_FILE)
        return paths


# -- inputs ------------------------------------------------------------------------------
def _check_grid(resistance: Grid) -> np.ndarray:
    if not isinstance(resistance, Grid):
        raise SchemaError(f"resistance must be a cami_atlas.raster.Grid; got "
                          f"{type(resistance).__name__}.")
    if resistance.is_geographic:
        raise CRSError(
            f"the resistance grid {resistance.name or ''} is in lat/lon ({resistance.crs}): "
            "Omniscape's window radius and cell-based conductances need square cells in "
            "metres. Reproject first, e.g. grid.to_crs('ESRI:102025', cell_size_m=1000).")
    if resistance.crs is not None:
        resistance.require_projected("omniscape")
    res = np.asarray(resistance.values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(res) & ~(res >= 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise SchemaError(
            f"resistance grid {resistance.name or ''} has {int(bad.sum())} cell(s) below 1 "
            f"(first at row {r}, col {c}: {res[r, c]}); the encoding is finite >= 1 "
            "passable, inf impassable, NaN outside the study area.")
    return res


def radius_in_cells(resistance: Grid, *, radius: int | None = None,
                    radius_m: float | None = None) -> int:
    """The window radius in cells from ``radius`` (cells) or ``radius_m`` (metres).

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.ones((50, 50)), Affine(1000, 0, 0, 0, -1000, 0), "EPSG:32643")
    >>> radius_in_cells(g, radius_m=12_400)
    12
    """
    if (radius is None) == (radius_m is None):
        raise OptionError("give the window radius either in cells (radius=...) or in metres "
                          f"(radius_m=...), not both or neither; got radius={radius!r}, "
                          f"radius_m={radius_m!r}.")
    if radius_m is not None:
        if resistance.crs is None:
            raise CRSError("radius_m needs a resistance grid with a projected CRS; this grid "
                           "has none. Give the radius in cells (radius=...) or set the CRS.")
        cells = round(float(radius_m) / resistance.cell_size_m)
        if cells < 1:
            raise OptionError(f"radius_m={radius_m} is less than one cell "
                              f"({resistance.cell_size_m} m); give a larger radius.")
        return cells
    if int(radius) != radius or radius < 1:  # type: ignore[operator]
        raise OptionError(f"radius={radius!r} must be a whole number of cells >= 1.")
    return int(radius)  # type: ignore[arg-type]


def source_strength(resistance: Grid, *, r_cutoff: float = float("inf"),
                    within: Any = None) -> Grid:
    """Source strengths from resistance (Omniscape's ``source_from_resistance``).

    ``1 / resistance`` where the resistance is at most ``r_cutoff``, 0 elsewhere (also
    in ``inf`` and ``NaN`` cells). With ``within`` (a shapely geometry or GeoSeries in
    the grid's CRS, e.g. a species range), cells whose centre is outside it get 0.

    Examples
    --------
    >>> from affine import Affine
    >>> r = Grid(np.array([[1.0, 4.0, 100.0, np.inf]]), Affine.identity(), None)
    >>> source_strength(r, r_cutoff=50).values.tolist()
    [[1.0, 0.25, 0.0, 0.0]]
    """
    res = _check_grid(resistance)
    with np.errstate(divide="ignore", invalid="ignore"):
        src = np.where(np.isfinite(res) & (res <= r_cutoff), 1.0 / res, 0.0)
    if within is not None:
        src = np.where(_inside_mask(resistance, within), src, 0.0)
    return resistance.with_values(src, name="source_strength")


def _inside_mask(grid: Grid, geoms: Any) -> np.ndarray:
    import geopandas as gpd
    from rasterio.features import geometry_mask

    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    if isinstance(geoms, gpd.GeoSeries):
        if geoms.crs is not None and grid.crs is not None and geoms.crs != grid.crs:
            geoms = geoms.to_crs(grid.crs)
        shapes = [g for g in geoms if g is not None and not g.is_empty]
    else:
        shapes = [geoms]
    if not shapes:
        raise SchemaError("the range given for the sources is empty; pass a non-empty polygon.")
    return ~geometry_mask(shapes, out_shape=grid.shape, transform=grid.transform)


def _prepare_sources(resistance: Grid, res: np.ndarray, sources: Grid | None, r_cutoff: float,
                     source_threshold: float) -> np.ndarray:
    if sources is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            src = np.where(np.isfinite(res) & (res <= r_cutoff), 1.0 / res, 0.0)
    else:
        if not isinstance(sources, Grid):
            raise SchemaError(f"sources must be a Grid aligned with the resistance; got "
                              f"{type(sources).__name__}.")
        if sources.shape != resistance.shape or not sources.transform.almost_equals(
                resistance.transform):
            raise SchemaError(
                f"the source grid ({sources.shape}, {tuple(sources.transform)[:6]}) is not "
                f"aligned with the resistance grid ({resistance.shape}, "
                f"{tuple(resistance.transform)[:6]}); resample it onto the resistance grid.")
        src = np.asarray(sources.values, dtype=np.float64)
        src = np.where(np.isfinite(src), src, 0.0)
        if (src < 0).any():
            raise SchemaError(f"source strengths must be >= 0; got minimum {src.min()}.")
    src = np.where(src < source_threshold, 0.0, src)
    return np.ascontiguousarray(src)


def _check_options(shape: tuple[int, int], radius: int, block_size: int, neighbours: int,
                   average: str) -> None:
    check_option("neighbours", neighbours, (8, 4))
    check_option("average", average, ("conductance", "resistance"))
    if int(block_size) != block_size or block_size < 1 or block_size % 2 == 0:
        raise OptionError(f"block_size={block_size!r} must be an odd whole number >= 1 "
                          "(Omniscape centres each block on a cell); e.g. 1, 3, 5.")
    if radius >= max(shape):
        raise OptionError(
            f"the window radius ({radius} cells) is larger than the grid ({shape[0]} x "
            f"{shape[1]} cells); use a radius smaller than the grid or a larger area.")
    if (block_size - 1) // 2 > radius:
        raise OptionError(f"block_size={block_size} is wider than the window (radius "
                          f"{radius} cells); use block_size <= 2 * radius + 1.")


# -- targets -----------------------------------------------------------------------------
def block_targets(src: np.ndarray, block_size: int, *, row0: int = 0, col0: int = 0,
                  core: tuple[int, int, int, int] | None = None,
                  shape: tuple[int, int] | None = None) -> tuple[np.ndarray, ...]:
    """Targets (rows, cols in ``src``, strengths) of the block lattice of the full grid.

    ``src`` may be a window of the full grid starting at (``row0``, ``col0``); only
    targets whose centre lies in ``core`` = (r0, r1, c0, c1) (full-grid rows/cols,
    default: all of ``src``) are returned. ``shape`` is the full grid's shape.

    Examples
    --------
    >>> src = np.zeros((7, 7)); src[0, 0] = 1.0; src[4, 4] = 2.0
    >>> [a.tolist() for a in block_targets(src, 3)]
    [[1, 4], [1, 4], [1.0, 2.0]]
    """
    br = (block_size - 1) // 2
    rows, cols = shape if shape is not None else src.shape
    r0, r1, c0, c1 = core if core is not None else (row0, row0 + src.shape[0],
                                                     col0, col0 + src.shape[1])
    # lattice of centres: br, br + b, ... <= n - 1 - br
    def lattice(lo: int, hi: int, n: int) -> np.ndarray:
        first = br + max(0, -(-(lo - br) // block_size)) * block_size
        return np.arange(first, min(hi, n - br), block_size, dtype=np.int64)

    tr = lattice(r0, r1, rows)
    tc = lattice(c0, c1, cols)
    if not len(tr) or not len(tc):
        return (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    # block sums added cell by cell in a fixed order: the same in every tile, and exactly
    # 0 for a block without sources (a summed-area table would leave round-off there)
    lr, lc = tr - row0, tc - col0
    s = np.zeros((len(lr), len(lc)))
    for i in range(-br, br + 1):
        for j in range(-br, br + 1):
            s += src[np.ix_(lr + i, lc + j)]
    rr, cc = np.meshgrid(lr, lc, indexing="ij")
    keep = s > 0
    return rr[keep].astype(np.int64), cc[keep].astype(np.int64), s[keep].astype(np.float64)


# -- the solve ---------------------------------------------------------------------------
def _edge_grids(res: np.ndarray, neighbours: int, average: str) -> np.ndarray:
    """Conductance of the edge leaving each cell in each forward direction (graph.py's)."""
    rows, cols = res.shape
    fwd = FORWARD[neighbours]
    g = np.zeros((len(fwd), rows, cols))
    for d, (dr, dc) in enumerate(fwd):
        ca = slice(max(0, -dc), cols - max(0, dc))
        cb = slice(ca.start + dc, ca.stop + dc)
        g[d, :rows - dr, ca] = edge_conductance(res[:rows - dr, ca], res[dr:, cb],
                                                diagonal=bool(dr and dc),
                                                average=average)  # type: ignore[arg-type]
    return g


def _unit_conductance(neighbours: int) -> np.ndarray:
    one = np.ones(1)
    return np.array([float(edge_conductance(one, one, diagonal=bool(dr and dc))[0])
                     for dr, dc in FORWARD[neighbours]])


Solver = Literal["auto", "direct", "amg"]
#: windows up to this many cells are factorized directly (radius <= 79); larger: AMG-CG
DIRECT_MAX_WINDOW_CELLS = 20_000
AMG_RTOL = 1e-11
BATCH_BYTES = 16 << 20


def pick_solver(solver: str, radius: int) -> str:
    """``"direct"`` or ``"amg"`` for a window radius (``"auto"``: by window size).

    Examples
    --------
    >>> pick_solver("auto", 25), pick_solver("auto", 120)
    ('direct', 'amg')
    """
    check_option("solver", solver, ("auto", "direct", "amg"))
    if solver != "auto":
        return solver
    cells = int(np.pi * radius * radius)
    return "direct" if cells <= DIRECT_MAX_WINDOW_CELLS else "amg"


def _amg_voltages(pat: Any, gw: np.ndarray, node: np.ndarray, rhs: np.ndarray,
                  cache: dict[str, Any] | None = None) -> np.ndarray:
    """Voltages of one window by smoothed-aggregation AMG preconditioned CG (pyamg)."""
    import pyamg
    import scipy.sparse as sp

    n = pat.n_cells
    cells = np.flatnonzero(node & (np.arange(n) != pat.centre))
    v = np.zeros(n)
    if not len(cells):
        return v
    if cache is not None and "ml" in cache:
        ml = cache["ml"]
    else:
        local = np.full(n, -1, dtype=np.int64)
        local[cells] = np.arange(len(cells))
        e = (gw > 0) & node[pat.edge_a]
        a, b, w = pat.edge_a[e], pat.edge_b[e], gw[e]
        diag = np.bincount(a, weights=w, minlength=n) + np.bincount(b, weights=w, minlength=n)
        inner = (local[a] >= 0) & (local[b] >= 0)
        ia, ib, wi = local[a[inner]], local[b[inner]], w[inner]
        m = len(cells)
        mat = sp.coo_matrix((np.concatenate([-wi, -wi, diag[cells]]),
                             (np.concatenate([ia, ib, np.arange(m)]),
                              np.concatenate([ib, ia, np.arange(m)]))), shape=(m, m)).tocsr()
        ml = pyamg.smoothed_aggregation_solver(mat, symmetry="symmetric", max_coarse=500)
        if cache is not None:
            cache["ml"] = ml
    b_local = rhs[cells]
    x = ml.solve(b_local, tol=AMG_RTOL, accel="cg", maxiter=1000)
    v[cells] = x
    return v


def _solve_windows_amg(pat: Any, res: np.ndarray, src: np.ndarray, t_row: np.ndarray,
                       t_col: np.ndarray, t_amps: np.ndarray, passable: np.ndarray,
                       g: np.ndarray, g_unit: np.ndarray, block_radius: int,
                       flow_potential: bool, corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The windows one by one with AMG-CG (large windows, where a factor is too big)."""
    cum = np.zeros(res.shape)
    fp = np.zeros(res.shape)
    ne = len(pat.edge_a)
    full_cache: dict[str, Any] = {}
    for tr, tc, amps in zip(t_row.tolist(), t_col.tolist(), t_amps.tolist(), strict=True):
        inside, sv, total, full, gw, node = _kernels.window_graph(
            tr, tc, block_radius, passable, g, g_unit, src, pat.dr, pat.dc, pat.centre,
            pat.edge_a, pat.edge_dir, pat.nbr_ptr, pat.nbr_cell, pat.nbr_edge)
        if not total > 0:
            continue
        inj = sv * (amps / total)
        if node.any() and (inj[node] > 0).any():
            v = _amg_voltages(pat, gw, node, np.where(node, inj, 0.0))
            _kernels.accumulate(ne, pat.edge_a, pat.edge_b, gw, v, node, cum, tr, tc,
                                pat.dr, pat.dc, corr)
        if flow_potential:
            gu = np.where(inside[pat.edge_a] & inside[pat.edge_b], g_unit[pat.edge_dir], 0.0)
            v = _amg_voltages(pat, gu, inside, np.where(inside, inj, 0.0),
                              full_cache if full else None)
            _kernels.accumulate(ne, pat.edge_a, pat.edge_b, gu, v, inside, fp, tr, tc,
                                pat.dr, pat.dc, corr)
    return cum, fp


def artifact_correction(radius: int, block_size: int, neighbours: int = 8) -> np.ndarray:
    """Omniscape's block-artifact correction: a factor per window cell (``block_size > 1``).

    On a uniform full window: the current of ``b x b`` single-cell targets spread over
    the block (each with unit total source, the sources the circle without the target)
    summed, over the current of one block target of strength ``b**2`` (sources the
    circle without the block); 1 where either is 0. Omniscape.jl's ``calc_correction``
    (``correct_artifacts = true``, its default). Ones for ``block_size = 1``.

    Examples
    --------
    >>> c = artifact_correction(6, 3)
    >>> c.shape == (len(window_pattern(6).dr),), bool((c > 0).all())
    (True, True)
    """
    pat = window_pattern(radius, neighbours)
    n = pat.n_cells
    if block_size == 1:
        return np.ones(n)
    g_unit = _unit_conductance(neighbours)
    m = n - 1
    _, lx_u, d_u = _kernels.uniform_factor(m, n, len(pat.edge_a), pat.edge_a, pat.edge_b,
                                            pat.edge_dir, pat.edge_pos, pat.diag_pos,
                                            pat.centre, g_unit, pat.ap, pat.ai, pat.lp,
                                            pat.li, pat.rp, pat.ri)
    gu = g_unit[pat.edge_dir]
    br = (block_size - 1) // 2
    side = 2 * radius + 1
    ones = np.ones(n)
    every = np.ones(n, dtype=bool)

    def current(inj: np.ndarray) -> np.ndarray:
        b = np.zeros(m)
        keep = np.arange(n) != pat.centre
        b[pat.perm[keep]] = inj[keep]
        _kernels.ldl_solve(m, pat.lp, pat.li, lx_u, d_u, b)
        v = np.zeros(n)
        v[keep] = b[pat.perm[keep]]
        out = np.zeros((side, side))
        _kernels.accumulate(len(pat.edge_a), pat.edge_a, pat.edge_b, gu, v, every, out,
                            radius, radius, pat.dr, pat.dc, ones)
        return out

    single = np.where(np.arange(n) == pat.centre, 0.0, 1.0 / (n - 1))
    in_block = (np.abs(pat.dr) <= br) & (np.abs(pat.dc) <= br)
    blocked = np.where(in_block, 0.0, float(block_size) ** 2 / (~in_block).sum())
    one, block = current(single), current(blocked)
    total = np.zeros((side + 2 * br, side + 2 * br))
    for i in range(block_size):
        for j in range(block_size):
            total[i:i + side, j:j + side] += one
    total = total[br:br + side, br:br + side]
    total[block == 0] = 0.0
    total[total == 0] = 1.0
    block[block == 0] = 1.0
    corr = total / block
    return corr[pat.dr + radius, pat.dc + radius]


def _bands(t_row: np.ndarray, radius: int, n_threads: int
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split targets (sorted by row) into row bands of two colours, as (starts, stops).

    Bands are at least ``2 * radius`` rows high, so the outputs of two bands of one
    colour (target rows +- radius) never overlap and they can run in parallel.
    """
    lo, hi = int(t_row.min()), int(t_row.max()) + 1
    height = max(2 * radius, -(-(hi - lo) // (4 * n_threads)))
    cut = np.searchsorted(t_row, np.arange(lo, hi + height, height), side="left")
    cut[-1] = len(t_row)
    cut = np.unique(cut)
    starts, stops = cut[:-1].astype(np.int64), cut[1:].astype(np.int64)
    return [(starts[c::2], stops[c::2]) for c in (0, 1) if len(starts[c::2])]


def solve_windows(res: np.ndarray, src: np.ndarray, t_row: np.ndarray, t_col: np.ndarray,
                  t_amps: np.ndarray, *, radius: int, block_size: int, neighbours: int,
                  average: str, n_threads: int = 1, flow_potential: bool = True,
                  batch: int | None = None, solver: Solver = "auto",
                  correct_artifacts: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative current and flow potential of the given targets on arrays ``res``/``src``.

    The kernel of :func:`omniscape` and of the tiled run: ``res`` may be one tile with
    its halo; the targets are positions in it.

    Examples
    --------
    >>> res = np.ones((9, 9)); src = np.ones((9, 9))
    >>> cum, fp = solve_windows(res, src, *block_targets(src, 1), radius=2, block_size=1,
    ...                         neighbours=8, average="conductance")
    >>> bool(np.allclose(cum, fp)), bool(cum.min() > 0)
    (True, True)
    """
    solver = pick_solver(solver, radius)
    pat = window_pattern(radius, neighbours)
    passable = np.isfinite(res)
    g = _edge_grids(res, neighbours, average)
    g_unit = _unit_conductance(neighbours)
    corr = (artifact_correction(radius, block_size, neighbours) if correct_artifacts
            else np.ones(pat.n_cells))
    if solver == "amg":
        return _solve_windows_amg(pat, res, src, t_row, t_col, t_amps, passable, g, g_unit,
                                  (block_size - 1) // 2, flow_potential, corr)
    m, n, ne = pat.n_cells - 1, pat.n_cells, len(pat.edge_a)
    ok, lx_u, d_u = _kernels.uniform_factor(m, n, ne, pat.edge_a, pat.edge_b, pat.edge_dir,
                                            pat.edge_pos, pat.diag_pos, pat.centre, g_unit,
                                            pat.ap, pat.ai, pat.lp, pat.li, pat.rp, pat.ri)
    if not ok:  # pragma: no cover - a uniform Laplacian with a ground is positive definite
        raise SolverError("the uniform window matrix is not positive definite (a defect of "
                          "cami_atlas: please report it with the radius and block_size used).")
    if batch is None:  # windows factorized together: about 16 MB of factors per thread
        batch = int(np.clip(BATCH_BYTES // max(1, 8 * pat.nnz_l), 1, 32))
    cum = np.zeros(res.shape)
    fp = np.zeros(res.shape)
    order = np.lexsort((t_col, t_row))
    t_row, t_col, t_amps = t_row[order], t_col[order], t_amps[order]
    args = (t_row, t_col, t_amps, (block_size - 1) // 2, passable, g, g_unit, src,
            pat.dr, pat.dc, pat.centre, pat.edge_a, pat.edge_b, pat.edge_dir, pat.nbr_ptr,
            pat.nbr_cell, pat.nbr_edge, pat.perm, pat.ap, pat.ai, pat.edge_pos, pat.diag_pos,
            pat.lp, pat.li, pat.rp, pat.ri, lx_u, d_u, cum, fp, True, bool(flow_potential),
            int(batch), corr)
    failed = 0
    if n_threads <= 1 or len(t_row) < 2:
        failed += _kernels.process_targets(0, len(t_row), *args)
    else:
        import numba

        prev = numba.get_num_threads()
        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
        try:
            for starts, stops in _bands(t_row, radius, n_threads):
                failed += int(_kernels.process_bands(starts, stops, *args))
        finally:
            numba.set_num_threads(prev)
    if failed:  # pragma: no cover - Laplacians with a ground are positive definite
        raise SolverError(f"{failed} window matrices were not positive definite; check the "
                          "resistance for negative or zero values inside the study area, or "
                          "use solver='amg'.")
    return cum, fp


def omniscape(resistance: Grid, *, radius: int | None = None, radius_m: float | None = None,
              sources: Grid | None = None, r_cutoff: float = float("inf"),
              source_threshold: float = 0.0, block_size: int = 1,
              neighbours: Literal[8, 4] = 8,
              average: Literal["conductance", "resistance"] = "conductance",
              correct_artifacts: bool = True, solver: Solver = "auto",
              n_threads: int | None = None,
              extra_settings: Mapping[str, Any] | None = None) -> OmniscapeResult:
    """Omniscape moving-window connectivity of a resistance grid (in memory).

    Parameters
    ----------
    resistance : Grid
        Finite ``>= 1`` passable, ``inf`` impassable, ``NaN`` outside the study area; a
        projected CRS with square cells (or no CRS, with ``radius`` in cells).
    radius, radius_m : int or float
        Window radius in cells, or in metres (rounded to whole cells); give one.
    sources : Grid, optional
        Source strengths aligned with ``resistance`` (``NaN`` counts as 0). Default:
        ``1 / resistance`` where the resistance is ``<= r_cutoff`` (Omniscape's
        ``source_from_resistance``); see :func:`source_strength` for sources limited to
        a species range.
    r_cutoff : float
        Largest resistance that is still a source (sources from resistance only).
    source_threshold : float
        Source strengths below this are set to 0.
    block_size : int
        Odd block side; one window per block, with the block's summed strength.
    correct_artifacts : bool
        With ``block_size > 1``, multiply each window's currents by Omniscape's
        block-artifact correction (:func:`artifact_correction`; Omniscape's default).
    neighbours : {8, 4}
    average : {"conductance", "resistance"}
        Edge conductance ``mean(1/r)`` (Circuitscape's default) or ``1/mean(r)``.
    solver : {"auto", "direct", "amg"}
        Per-window solver: sparse LDL^T factorization (one symbolic analysis for all
        windows, numeric factorization per window, batched) or smoothed-aggregation AMG
        preconditioned CG (pyamg, relative residual 1e-11). ``"auto"``: direct up to
        ``DIRECT_MAX_WINDOW_CELLS`` cells per window (radius 79), AMG-CG above.
    n_threads : int, optional
        Threads of the compiled kernel (default: all numba threads).

    Returns
    -------
    OmniscapeResult

    Examples
    --------
    >>> from affine import Affine
    >>> r = Grid(np.ones((12, 12)), Affine(100, 0, 0, 0, -100, 1200), "EPSG:32643")
    >>> out = omniscape(r, radius=3)
    >>> bool(np.allclose(out.normalized_current.values, 1.0))
    True
    """
    res = _check_grid(resistance)
    rad = radius_in_cells(resistance, radius=radius, radius_m=radius_m)
    _check_options(res.shape, rad, block_size, neighbours, average)
    check_option("solver", solver, ("auto", "direct", "amg"))
    src = _prepare_sources(resistance, res, sources, r_cutoff, source_threshold)
    if not (src > 0).any():
        raise SchemaError(
            "no cell has a source strength above 0"
            + (f" and >= source_threshold={source_threshold}" if source_threshold else "")
            + "; give a source grid with positive values, lower source_threshold, or raise "
            "r_cutoff (sources from resistance).")
    settings = OmniscapeSettings(
        radius_cells=rad, block_size=int(block_size), source_threshold=float(source_threshold),
        r_cutoff=float(r_cutoff), source_from_resistance=sources is None,
        neighbours=int(neighbours), average=average,
        cell_size_m=resistance.cell_size_m if resistance.crs is not None else None,
        correct_artifacts=bool(correct_artifacts) and int(block_size) > 1,
        extra=dict(extra_settings or {}))
    t_row, t_col, t_amps = block_targets(src, int(block_size))
    if n_threads is None:
        import numba

        n_threads = numba.get_num_threads()
    cum, fp = solve_windows(res, src, t_row, t_col, t_amps, radius=rad,
                            block_size=int(block_size), neighbours=int(neighbours),
                            average=average, n_threads=int(n_threads), solver=solver,
                            correct_artifacts=settings.correct_artifacts)
    return _result(resistance, res, cum, fp, settings, len(t_row))


def normalize(cum: np.ndarray, fp: np.ndarray, res: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mask the outside (``NaN`` resistance) and divide: the three output arrays.

    Examples
    --------
    >>> [a.tolist() for a in normalize(np.array([2.0, 0.0, 1.0]), np.array([1.0, 0.0, 1.0]),
    ...                                np.array([1.0, 1.0, np.nan]))]
    [[2.0, 0.0, nan], [1.0, 0.0, nan], [2.0, 0.0, nan]]
    """
    outside = np.isnan(res)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.where(fp > 0, cum / fp, 0.0)
    return (np.where(outside, np.nan, cum), np.where(outside, np.nan, fp),
            np.where(outside, np.nan, norm))


def _result(resistance: Grid, res: np.ndarray, cum: np.ndarray, fp: np.ndarray,
            settings: OmniscapeSettings, n_targets: int) -> OmniscapeResult:
    c, f, nrm = normalize(cum, fp, res)
    mk = resistance.with_values
    return OmniscapeResult(
        cumulative_current=mk(c, name="cumulative_current"),
        flow_potential=mk(f, name="flow_potential"),
        normalized_current=mk(nrm, name="normalized_current"),
        settings=settings, n_targets=n_targets)
