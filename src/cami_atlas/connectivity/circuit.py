"""Circuit theory on the raster graph (Circuitscape's raster modes, written anew).

The resistance grid becomes a graph of conductances (:mod:`.graph`); focal nodes
(habitat cores or points) are its terminals. Every mode is solved through one
:class:`~cami_atlas.connectivity.solvers.LaplacianSolver` set up once and reused for
every right-hand side:

* **pairwise** -- for every pair of focal nodes ``(a, b)``, 1 A enters at ``a`` and
  ``b`` is grounded; the effective resistance is the voltage of ``a``. The
  cumulative current map sums the current of every pair. Only ``k - 1`` solves are
  needed for ``k`` focal nodes in one component: each pair's field is the difference of
  two columns of the grounded Green's function (superposition).
* **one-to-all** (Circuitscape's definition) -- for each focal node in turn, 1 A enters
  there and *all other* focal nodes are tied directly to ground; the reported value is
  the source's voltage, i.e. the effective resistance between it and the set of the
  others. The small Dirichlet problem is solved on the focal nodes only (the Kron
  reduction of the Laplacian), reusing the pairwise columns.
* **all-to-one** (Circuitscape's definition) -- for each focal node in turn, it is
  grounded and 1 A enters at *every other* focal node; by superposition the same
  ``k - 1`` columns as pairwise give every ground's field.

The linear systems are solved by :mod:`cami_atlas.connectivity.solvers` (chosen by
``method=``: ``"mixed"``, the default, ``"amg"`` or ``"direct"``): ``"mixed"`` (float32
storage and AMG hierarchy, float64 conjugate gradients, multi-threaded kernels) takes about
half the memory and time of ``"amg"`` (pyamg, kept as the tested reference), and
``workers=2`` solves independent right-hand sides in forked processes.

Current maps follow Circuitscape: the current through a node is the larger of its
total outflow and total inflow; cells of a merged focal region all show the region's
current. Disconnected parts are solved per connected component (one ground per
component): resistances between components are ``inf`` and a
:class:`~cami_atlas.errors.DisconnectedGraphWarning` is issued, never a crash.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from rasterio.features import rasterize

from .._deprecation import moved_names
from ..errors import CRSError, DisconnectedGraphWarning, SchemaError
from ..interop import as_grid
from ..raster import Grid
from .graph import Average, RasterGraph, raster_graph
from .solvers.base import Method
from .solvers.laplacian import LaplacianSolver as _LaplacianSolver

__all__ = [
    "CircuitResult",
    "circuit_all_to_one",
    "circuit_one_to_all",
    "circuit_pairwise",
    "current_map",
    "effective_resistance",
    "focal_labels",
    "pinch_points",
]

Focal = Any  # Grid | ndarray of labels | GeoDataFrame/GeoSeries | (k, 2) coordinates


# -- focal nodes ------------------------------------------------------------------------------
def focal_labels(grid: Grid, focal: Focal, *, id_column: str | None = None
                 ) -> tuple[np.ndarray, pd.Index]:
    """Cells of each focal node or core as an integer label array (0 = none).

    Parameters
    ----------
    grid : Grid
        The resistance grid.
    focal : Grid, array, GeoDataFrame/GeoSeries or (k, 2) coordinates
        * a Grid, or an integer array of the grid's shape, of positive ids (0 or NaN:
          none); cells sharing an id form one region (shorted into one node);
        * points, lines or polygons in the grid's CRS: each feature is a focal region
          (the cells whose centre it covers, plus the cell of its representative
          point), identified by ``id_column`` or the index;
        * a float array of ``(x, y)`` coordinates in the grid's CRS: ids ``1..k``.

    Returns
    -------
    labels : numpy.ndarray
        ``int64`` array of the grid's shape, ``1..k`` for the k focal nodes.
    ids : pandas.Index
        The id of each label (``ids[label - 1]``).

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(np.ones((2, 3)), Affine(1, 0, 0, 0, -1, 2), None)
    >>> lab, ids = focal_labels(g, np.array([[0.5, 1.5], [2.5, 0.5]]))
    >>> lab.tolist(), list(ids)
    ([[1, 0, 0], [0, 0, 2]], [1, 2])
    """
    rows, cols = grid.shape
    if isinstance(focal, Grid) or (isinstance(focal, np.ndarray) and focal.ndim == 2 and (
            np.issubdtype(focal.dtype, np.integer) or focal.dtype == bool)):
        arr = np.asarray(focal.values if isinstance(focal, Grid) else focal, dtype=float)
        if arr.shape != grid.shape:
            raise SchemaError(f"the focal grid has shape {arr.shape}; the resistance grid is "
                              f"{grid.shape}.")
        arr = np.where(np.isfinite(arr), arr, 0.0)
        if (arr < 0).any() or not np.array_equal(arr, np.round(arr)):
            raise SchemaError("focal labels must be non-negative integers (0 or NaN: none).")
        uniq = np.unique(arr[arr > 0]).astype(np.int64)
        lab = np.zeros(grid.shape, dtype=np.int64)
        pos = arr > 0
        lab[pos] = np.searchsorted(uniq, arr[pos].astype(np.int64)) + 1
        return lab, pd.Index(uniq, name="focal")
    if isinstance(focal, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if focal.crs is None or grid.crs is None:
            raise CRSError("the focal layer and the grid both need a CRS; set the CRS they are "
                           "actually in.")
        if not focal.crs.equals(grid.crs):
            raise CRSError(f"the focal layer is in {focal.crs.to_string()} but the grid is in "
                           f"{grid.crs.to_string()}; reproject it: focal.to_crs(grid.crs).")
        if id_column is not None:
            if not isinstance(focal, gpd.GeoDataFrame) or id_column not in focal.columns:
                raise SchemaError(f"the focal layer has no column {id_column!r}; its columns are "
                              f"{', '.join(map(str, focal.columns))}: give one of them "
                              "as id_column, or id_column=None to use the index.")
            ids = pd.Index(focal[id_column], name=id_column)
        else:
            ids = pd.Index(focal.index, name=focal.index.name or "focal")
        if ids.has_duplicates:
            raise SchemaError(f"focal ids must be unique; duplicated: "
                              f"{list(ids[ids.duplicated()][:5])}.")
        geoms = focal.geometry.to_numpy()
        if (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
            raise SchemaError("some focal geometries are empty or missing; drop them first.")
        rep = shapely.get_coordinates(shapely.point_on_surface(geoms))
        r, c = grid.rowcol(rep[:, 0], rep[:, 1])
        _check_inside(grid, r, c)
        lab = rasterize(((g, k + 1) for k, g in enumerate(geoms)), out_shape=grid.shape,
                        transform=grid.transform, fill=0, all_touched=False, dtype="int32")
        lab = lab.astype(np.int64)
        lab[r, c] = np.arange(1, len(geoms) + 1)
        return lab, ids
    pts = np.asarray(focal, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise SchemaError(
            "focal must be a Grid or array of integer labels of the grid's shape, a "
            "GeoDataFrame/GeoSeries in the grid's CRS, or a (k, 2) array of x, y coordinates; "
            f"got {type(focal).__name__} of shape {getattr(pts, 'shape', None)}.")
    r, c = grid.rowcol(pts[:, 0], pts[:, 1])
    _check_inside(grid, r, c)
    flat = r * cols + c
    if len(np.unique(flat)) < len(flat):
        raise SchemaError("two focal points fall in the same cell; merge them or give a "
                          "finer grid.")
    lab = np.zeros(rows * cols, dtype=np.int64)
    lab[flat] = np.arange(1, len(flat) + 1)
    return lab.reshape(rows, cols), pd.Index(np.arange(1, len(flat) + 1), name="focal")


def _check_inside(grid: Grid, r: np.ndarray, c: np.ndarray) -> None:
    rows, cols = grid.shape
    out = (r < 0) | (r >= rows) | (c < 0) | (c >= cols)
    if out.any():
        raise SchemaError(f"{int(out.sum())} focal point(s) lie outside the grid (positions "
                          f"{np.flatnonzero(out)[:10].tolist()}); grid bounds {grid.bounds}. "
                          "Clip them or extend the grid.")


@dataclass
class _Focal:
    graph: RasterGraph
    solver: _LaplacianSolver
    ids: pd.Index
    nodes: np.ndarray  # node of each focal id, -1 where it has no passable cell
    comp: np.ndarray   # component of each focal node, -1 where none
    columns: np.ndarray | None = field(default=None)  # (n_nodes, k) Green's columns
    matrix: sp.csr_matrix | None = field(default=None)  # a modified reduced matrix, if any

    @property
    def k(self) -> int:
        return len(self.ids)

    def green(self) -> np.ndarray:
        """Solve once for 1 A into each non-ground focal node (ground absorbs it)."""
        if self.columns is None:
            self.columns = self.solver._unit_solves(self.nodes, matrix=self.matrix)
        return self.columns

    def potentials(self) -> np.ndarray:
        """G[a, b]: voltage at focal a for 1 A into focal b (own component's ground at 0)."""
        x = self.green()
        g = np.zeros((self.k, self.k))
        ok = self.nodes >= 0
        g[np.ix_(ok, np.arange(self.k))] = x[self.nodes[ok]]
        return g

    def resistance_matrix(self) -> np.ndarray:
        g = self.potentials()
        d = np.diag(g)
        r = d[:, None] + d[None, :] - 2 * g
        same = (self.comp[:, None] == self.comp[None, :]) & (self.comp[:, None] >= 0)
        r = np.where(same, np.maximum(r, 0.0), np.inf)
        np.fill_diagonal(r, 0.0)
        return r


def _prepare(resistance: Grid, focal: Focal, *, neighbours: int, average: Average,
             method: Method, tol: float, id_column: str | None = None,
             amg_options: dict[str, Any] | None = None, workers: int = 1) -> _Focal:
    labels, ids = focal_labels(resistance, focal, id_column=id_column)
    if len(ids) < 2:
        raise SchemaError(f"circuit modes need at least 2 focal nodes; got {len(ids)}.")
    graph = raster_graph(resistance, neighbours=neighbours, average=average, regions=labels)
    nodes = np.full(len(ids), -1, dtype=np.int64)
    on = (labels > 0) & (graph.cell_node >= 0)
    nodes[labels[on] - 1] = graph.cell_node[on]
    solver = _LaplacianSolver(graph=graph, grounds=nodes[nodes >= 0], method=method, tol=tol,
                             amg_options=amg_options, workers=workers)
    comp = np.where(nodes >= 0, graph.component[np.maximum(nodes, 0)], -1)
    out = _Focal(graph, solver, ids, nodes, comp)
    _warn_disconnected(out)
    return out


def _warn_disconnected(f: _Focal) -> None:
    dead = list(f.ids[f.nodes < 0])
    msgs = []
    if dead:
        msgs.append(f"focal node(s) {dead[:10]} lie only on impassable (inf) or NaN cells")
    live = f.comp[f.comp >= 0]
    if len(np.unique(live)) > 1:
        groups = {int(c): list(f.ids[f.comp == c][:5]) for c in np.unique(live)}
        msgs.append(f"the focal nodes fall in {len(groups)} disconnected parts of the graph "
                    f"(e.g. {list(groups.values())[:4]})")
    if msgs:
        warnings.warn("; ".join(msgs) + ": resistances between them are infinite and no "
                      "current flows between them. Check for inf barriers cutting the grid.",
                      DisconnectedGraphWarning, stacklevel=3)


def current_map(graph: RasterGraph, voltages: np.ndarray, *, name: str = "current_a") -> Grid:
    """Current through each cell (A) for node ``voltages``, as a Grid.

    ``NaN`` outside the study area, 0 on ``inf`` cells (see
    :meth:`RasterGraph.node_currents` for the definition).

    Examples
    --------
    >>> from affine import Affine
    >>> g = raster_graph(Grid(np.ones((1, 3)), Affine.identity(), None), neighbours=4)
    >>> current_map(g, np.array([2.0, 1.0, 0.0])).values.tolist()
    [[1.0, 1.0, 1.0]]
    """
    return graph.to_grid(graph.node_currents(voltages), name=name)


@dataclass(frozen=True)
class CircuitResult:
    """Output of the circuit modes.

    Attributes
    ----------
    mode : str
        ``"pairwise"``, ``"one-to-all"``, ``"all-to-one"`` (or ``"pinch points"``).
    resistances : DataFrame
        pairwise: the symmetric effective-resistance matrix (ids x ids, ``inf`` between
        disconnected focal nodes). one-to-all: one row per focal source with
        ``effective_resistance`` (to all other focal nodes grounded together).
        all-to-one: one row per grounded focal node with ``n_sources`` (focal nodes that
        reach it) and ``mean_source_voltage`` (V, for 1 A at each source).
    current : Grid
        Cumulative current over all solves (A per cell), ``NaN`` outside the study area.
    """

    mode: str
    resistances: pd.DataFrame
    current: Grid


def effective_resistance(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                         average: Average = "resistance", method: Method = "mixed",
                         tol: float = 1e-6, id_column: str | None = None,
                         workers: int = 1) -> pd.DataFrame:
    """Effective-resistance matrix between focal nodes (pairwise mode without current maps).

    Parameters
    ----------
    resistance : Grid
        Resistance encoding (finite > 0, ``inf`` impassable, ``NaN`` outside).
    focal : see :func:`focal_labels`
    neighbours, average : see :func:`~cami_atlas.connectivity.graph.raster_graph`
    method, tol, workers : see :class:`~cami_atlas.connectivity.solvers.LaplacianSolver`
    id_column : str, optional
        Id column of a focal GeoDataFrame (default its index).

    Returns
    -------
    DataFrame
        Symmetric, zero diagonal, ``inf`` between disconnected nodes; in cell-resistance
        units (Circuitscape's).

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 4)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> effective_resistance(row, np.array([[0.5, 0.5], [3.5, 0.5]]), neighbours=4,
    ...                      method="direct").round(6).values.tolist()
    [[0.0, 3.0], [3.0, 0.0]]
    """
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, workers=workers)
    return pd.DataFrame(f.resistance_matrix(), index=f.ids, columns=f.ids)


def circuit_pairwise(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                     average: Average = "resistance", method: Method = "mixed",
                     tol: float = 1e-6, id_column: str | None = None,
                     workers: int = 1) -> CircuitResult:
    """Pairwise mode: effective resistances and the cumulative current of all pairs.

    ``k - 1`` solves for ``k`` focal nodes in one component, then each pair's field
    is the difference of two stored solutions (memory: ``k`` node vectors).

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 4)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> res = circuit_pairwise(row, np.array([[0.5, 0.5], [3.5, 0.5]]), neighbours=4)
    >>> res.current.values.round(6).tolist()
    [[1.0, 1.0, 1.0, 1.0]]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, workers=workers)
    r = f.resistance_matrix()
    x = f.green()
    f.solver._release()  # only the k columns are needed from here on
    cum = np.zeros(f.graph.n_nodes)
    for a in range(f.k):
        for b in range(a + 1, f.k):
            if np.isfinite(r[a, b]) and f.comp[a] >= 0:
                cum += f.graph.node_currents(x[:, a] - x[:, b])
    return CircuitResult("pairwise", pd.DataFrame(r, index=f.ids, columns=f.ids),
                         f.graph.to_grid(cum, name="current_a"))


def _reduced_conductance(f: _Focal, members: np.ndarray) -> np.ndarray:
    """Kron-reduced Laplacian on the focal nodes ``members`` (one component)."""
    g = f.potentials()[np.ix_(members, members)]
    ground = np.isin(f.nodes[members], f.solver.grounds)
    inner = ~ground
    m = len(members)
    k = np.zeros((m, m))
    if inner.any():
        k_in = np.linalg.inv(g[np.ix_(inner, inner)])
        k[np.ix_(inner, inner)] = k_in
        gi = np.flatnonzero(ground)
        if gi.size:
            k[gi[0], inner] = -k_in.sum(axis=0)
            k[inner, gi[0]] = -k_in.sum(axis=1)
            k[gi[0], gi[0]] = k_in.sum()
    return k


def circuit_one_to_all(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                       average: Average = "resistance", method: Method = "mixed",
                       tol: float = 1e-6, id_column: str | None = None,
                       workers: int = 1) -> CircuitResult:
    """One-to-all mode: 1 A into each focal node with all the others grounded.

    Circuitscape's definition (``onetoall_kernel``: the source gets the current, all
    other focal nodes are direct grounds). Solved with the ``k - 1`` pairwise columns
    and a ``k x k`` Dirichlet problem per source on the Kron-reduced Laplacian.

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 5)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> pts = np.array([[0.5, 0.5], [2.5, 0.5], [4.5, 0.5]])
    >>> res = circuit_one_to_all(row, pts, neighbours=4, method="direct")
    >>> res.resistances["effective_resistance"].round(6).tolist()   # 2, 2 || 2, 2
    [2.0, 1.0, 2.0]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, workers=workers)
    x = f.green()
    f.solver._release()  # only the k columns are needed from here on
    reff = np.full(f.k, np.inf)
    cum = np.zeros(f.graph.n_nodes)
    for c in np.unique(f.comp[f.comp >= 0]):
        members = np.flatnonzero(f.comp == c)
        if len(members) < 2:
            continue
        kmat = _reduced_conductance(f, members)
        for ai, a in enumerate(members):
            volt = 1.0 / kmat[ai, ai]
            reff[a] = volt
            inj = kmat[:, ai] * volt  # currents into each focal node (grounds negative)
            v = x[:, members] @ inj
            cum += f.graph.node_currents(v)
    table = pd.DataFrame({"effective_resistance": reff}, index=f.ids)
    return CircuitResult("one-to-all", table, f.graph.to_grid(cum, name="current_a"))


def circuit_all_to_one(resistance: Grid, focal: Focal, *, neighbours: int = 8,
                       average: Average = "resistance", method: Method = "mixed",
                       tol: float = 1e-6, id_column: str | None = None,
                       amg_options: dict[str, Any] | None = None,
                       workers: int = 1) -> CircuitResult:
    """All-to-one mode: each focal node grounded in turn, 1 A into every other one.

    Circuitscape's definition (``onetoall_kernel`` with ``is_alltoone``). By
    superposition only ``k - 1`` solves are needed for ``k`` focal nodes in one
    component (1 A into each focal node but the component's ground): the field of
    ground ``g`` is ``sum_j x_j - n_sources * x_g`` over its sources ``j``. Memory:
    ``k`` node vectors besides the solver. Sources in another component than the ground
    cannot reach it and are left out (warning).

    Examples
    --------
    >>> from affine import Affine
    >>> row = Grid(np.ones((1, 3)), Affine(1, 0, 0, 0, -1, 1), None)
    >>> pts = np.array([[0.5, 0.5], [2.5, 0.5]])
    >>> res = circuit_all_to_one(row, pts, neighbours=4, method="direct")
    >>> res.resistances["mean_source_voltage"].round(6).tolist()
    [2.0, 2.0]
    >>> res.current.values.round(6).tolist()   # 1 A each way, two solves
    [[2.0, 2.0, 2.0]]
    """
    resistance = as_grid(resistance, what="resistance")  # a Grid or an xarray.DataArray
    f = _prepare(resistance, focal, neighbours=neighbours, average=average, method=method,
                 tol=tol, id_column=id_column, amg_options=amg_options, workers=workers)
    # superposition: the field of ground g with 1 A from each source j is
    # sum_j x_j - n_src * x_g, x_j = the grounded solution for 1 A into j
    x = f.green()
    f.solver._release()  # only the k columns are needed from here on
    cum = np.zeros(f.graph.n_nodes)
    n_src = np.zeros(f.k, dtype=np.int64)
    mean_v = np.full(f.k, np.nan)
    v = np.empty(f.graph.n_nodes)
    for g in range(f.k):
        if f.nodes[g] < 0:
            continue
        src = np.flatnonzero((f.comp == f.comp[g]) & (np.arange(f.k) != g))
        # sources sharing the ground's node (same merged region) carry nothing
        src = src[f.nodes[src] != f.nodes[g]]
        n_src[g] = len(src)
        if not len(src):
            continue
        np.multiply(x[:, g], -float(len(src)), out=v)
        for j in src:
            v += x[:, j]
        v -= v[f.nodes[g]]
        mean_v[g] = float(v[f.nodes[src]].mean())
        cum += f.graph.node_currents(v)
    del x, v
    table = pd.DataFrame({"n_sources": n_src, "mean_source_voltage": mean_v}, index=f.ids)
    return CircuitResult("all-to-one", table, f.graph.to_grid(cum, name="current_a"))


def pinch_points(resistance: Grid, corridor: Grid, focal: Focal, *,
                 max_corridor_value: float | None = None, neighbours: int = 8,
                 average: Average = "resistance", method: Method = "mixed", tol: float = 1e-6,
                 id_column: str | None = None) -> CircuitResult:
    """Pinch points: pairwise current density inside least-cost corridors.

    Linkage Mapper's Pinchpoint Mapper approach: the resistance is clipped to the
    corridor (cells outside become ``NaN``; the focal cores are kept), then the
    pairwise circuit is run between the cores; narrow places where current
    concentrates are the pinch points.

    Parameters
    ----------
    resistance : Grid
        Resistance encoding.
    corridor : Grid
        A corridor on the same raster: boolean (True inside) or numeric, where finite
        values are inside (e.g. the normalised least-cost corridor mosaic of
        :func:`cami_atlas.connectivity.least_cost_corridors`: 0 on the least-cost
        paths, ``inf`` outside the corridors).
    focal : see :func:`focal_labels`
        The cores the corridors join.
    max_corridor_value : float, optional
        For numeric corridors: keep only cells whose value is at most this (a cost
        width cut-off).

    Returns
    -------
    CircuitResult
        mode ``"pinch points"``: effective resistances within the corridors, and the
        cumulative current (``NaN`` outside the corridors).

    Examples
    --------
    >>> from affine import Affine
    >>> r = Grid(np.ones((3, 3)), Affine(1, 0, 0, 0, -1, 3), None)
    >>> corr = Grid(np.array([[np.inf] * 3, [0.0, 0, 0], [np.inf] * 3]), r.transform, None)
    >>> res = pinch_points(r, corr, np.array([[0.5, 1.5], [2.5, 1.5]]), neighbours=4)
    >>> res.current.values[1].round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    if not isinstance(corridor, Grid) or corridor.shape != resistance.shape:
        raise SchemaError(f"corridor must be a Grid of the resistance grid's shape "
                          f"{resistance.shape}; got {getattr(corridor, 'shape', type(corridor))}.")
    vals = np.asarray(corridor.values)
    if vals.dtype == bool:
        inside = vals.copy()
    else:
        vals = vals.astype(float)
        inside = np.isfinite(vals)
        if max_corridor_value is not None:
            inside &= vals <= max_corridor_value
    labels, _ = focal_labels(resistance, focal, id_column=id_column)
    inside |= labels > 0
    if not inside.any():
        raise SchemaError("the corridor grid has no cell inside a corridor; widen the corridor "
                          "(corridor_width) or check that the cores are connected.")
    clipped = resistance.with_values(np.where(inside, np.asarray(resistance.values, float), np.nan),
                                     name="resistance in corridors")
    res = circuit_pairwise(clipped, focal, neighbours=neighbours, average=average,
                           method=method, tol=tol, id_column=id_column)
    cur = res.current.with_values(np.where(inside, res.current.values, np.nan),
                                  name="pinch_point_current_a")
    return CircuitResult("pinch points", res.resistances, cur)


#: Names that moved to :mod:`cami_atlas.connectivity.solvers`: still readable here (the
#: documented public ones with a DeprecationWarning). name -> (module, name there).
_MOVED = {"LaplacianSolver": ("laplacian", "LaplacianSolver"),
          "DEFAULT_AMG_OPTIONS": ("amg", "DEFAULT_AMG_OPTIONS")}
_MOVED_PRIVATE = {
    "_pick_grounds": ("laplacian", "_pick_grounds"), "_pcg": ("pcg", "pcg"),
    "_dot": ("pcg", "_dot"), "_levels_to_csr": ("amg", "_levels_to_csr"),
    **{n: ("amg_mixed", n) for n in ("_Float32Laplacian", "_VCycle", "_sa_level", "_sa_levels",
                                     "_sa_levels_lean", "_trim_heap", "_view", "_rows")},
}


__getattr__ = moved_names(
    __name__, {name: (f"cami_atlas.connectivity.solvers.{mod}", new)
               for name, (mod, new) in {**_MOVED, **_MOVED_PRIVATE}.items()},
    quiet=_MOVED_PRIVATE)
