"""The raster graph of circuit theory: cells as nodes, neighbours joined by conductances.

A resistance :class:`~cami_atlas.raster.Grid` (finite ``>0`` passable, ``inf``
impassable, ``NaN`` outside the study area) becomes a weighted graph:

* every cell with a finite resistance is a node; ``inf`` cells are not nodes and
  have no edges (they carry no current, 0 in current maps); ``NaN`` cells are not
  nodes (``NaN`` in maps);
* 4 or 8 neighbours are joined. The edge conductance follows Circuitscape's
  connection scheme (``construct_graph`` in Circuitscape.jl ``src/raster/graph.jl``):

  - ``average="resistance"`` (Circuitscape ``connect_using_avg_resistances =
    True``): ``g = 1 / mean(r_a, r_b)``;
  - ``average="conductance"`` (Circuitscape's default, ``False``):
    ``g = mean(1 / r_a, 1 / r_b)``;
  - a diagonal edge (8 neighbours) has the same formula divided by ``sqrt(2)``
    (its length is ``sqrt(2)`` cell sides).

  Like Circuitscape, resistances are per cell, not per metre: the cell size does
  not enter, so effective resistances are in "cell resistance" units.
* cells of one focal region (``regions``) can be merged into one node (a
  short-circuit region, Circuitscape's polygon / focal-region behaviour).

The sparse graph Laplacian is assembled straight into CSR form, chunk by chunk of
grid rows, without Python loops over cells or edges: for row-major node numbers the
neighbours of a cell appear in increasing order, so each chunk is a dense
``(cells, neighbours + 1)`` block compressed by a boolean mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from .._options import check_option
from ..errors import SchemaError
from ..raster import Grid

__all__ = ["GridLaplacian", "RasterGraph", "edge_conductance", "raster_graph"]

Average = Literal["resistance", "conductance"]

_SQRT2 = float(np.sqrt(2.0))
# forward offsets (each undirected edge once) and the full sorted stencils
_FORWARD = {4: ((0, 1), (1, 0)), 8: ((0, 1), (1, 0), (1, 1), (1, -1))}
_STENCIL = {
    4: ((-1, 0), (0, -1), (0, 0), (0, 1), (1, 0)),
    8: ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1)),
}
_CHUNK_CELLS = 1 << 18  # cells assembled at once (bounds the temporaries)
_STENCIL_CHUNK_CELLS = 1 << 16  # cells per block of the matrix-free product (cache-sized)


def edge_conductance(
    r_a: np.ndarray, r_b: np.ndarray, *, diagonal: bool = False, average: Average = "resistance"
) -> np.ndarray:
    """Conductance of the edge between two cells of resistance ``r_a`` and ``r_b``.

    Circuitscape's scheme: ``1 / mean(r_a, r_b)`` (``average="resistance"``) or
    ``mean(1/r_a, 1/r_b)`` (``average="conductance"``), divided by ``sqrt(2)`` for a
    diagonal edge. An edge touching an ``inf`` or ``NaN`` cell has conductance 0.

    Examples
    --------
    >>> edge_conductance(np.array([1.0, 1.0]), np.array([3.0, np.inf]))
    array([0.5, 0. ])
    >>> float(edge_conductance(np.array(2.0), np.array(2.0), diagonal=True).round(4))
    0.3536
    """
    check_option("average", average, ("resistance", "conductance"))
    r_a = np.asarray(r_a, dtype=float)
    r_b = np.asarray(r_b, dtype=float)
    ok = np.isfinite(r_a) & np.isfinite(r_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2.0 / (r_a + r_b) if average == "resistance" else 0.5 / r_a + 0.5 / r_b
    g = np.where(ok, g, 0.0)
    return g / _SQRT2 if diagonal else g


@dataclass(frozen=True, eq=False)
class RasterGraph:
    """The graph of a resistance grid (build it with :func:`raster_graph`).

    Attributes
    ----------
    resistance : Grid
        The resistance grid the graph was built from (not copied).
    neighbours : int
        4 or 8.
    average : str
        ``"resistance"`` or ``"conductance"`` (see the module docstring).
    cell_node : numpy.ndarray
        ``int32`` array of the grid's shape: node of each cell, ``-1`` for ``inf``
        and ``NaN`` cells. Cells of one merged region share a node.
    n_nodes : int
        Number of nodes.
    component : numpy.ndarray
        ``int32`` connected-component label of each node (``0 .. n_components-1``);
        read-only (with one component a broadcast view of a single 0).
    n_components : int
        Number of connected components.
    merged : bool
        True when some node holds several cells (short-circuit regions).
    """

    resistance: Grid
    neighbours: int
    average: str
    cell_node: np.ndarray
    n_nodes: int
    component: np.ndarray
    n_components: int
    merged: bool

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of the grid."""
        return self.resistance.shape

    def laplacian(
        self, *, grounds: np.ndarray | Sequence[int] | None = None, dtype: Any = np.float64
    ) -> sp.csr_matrix:
        """The sparse graph Laplacian ``L = D - A`` (CSR, int32 indices when they fit).

        Parameters
        ----------
        grounds : array of node ids, optional
            Nodes tied directly to ground (0 V). Their rows and columns are left out:
            the result is the reduced (Dirichlet) matrix over the other nodes, in node
            order, symmetric positive definite when every component has a ground.
        dtype : numpy dtype
            ``float64`` (default) or ``float32``.

        Examples
        --------
        >>> from affine import Affine
        >>> g = raster_graph(Grid(np.array([[1.0, 1.0, 3.0]]), Affine.identity(), None),
        ...                  neighbours=4)
        >>> g.laplacian().toarray()
        array([[ 1. , -1. ,  0. ],
               [-1. ,  1.5, -0.5],
               [ 0. , -0.5,  0.5]])
        """
        keep = np.ones(self.n_nodes, dtype=bool)
        if grounds is not None:
            grounds = np.asarray(grounds, dtype=np.int64).ravel()
            if grounds.size and (grounds.min() < 0 or grounds.max() >= self.n_nodes):
                raise SchemaError(
                    f"ground node ids must lie in 0..{self.n_nodes - 1}; "
                    f"got {grounds.min()}..{grounds.max()}."
                )
            keep[grounds] = False
        if not self.merged:
            sys_id = np.full(self.n_nodes, -1, dtype=np.int64)
            sys_id[keep] = np.arange(int(keep.sum()))
            return _assemble(
                np.asarray(self.resistance.values, dtype=float),
                self.cell_node,
                sys_id,
                neighbours=self.neighbours,
                average=self.average,
                dtype=dtype,
            )
        return _merged_laplacian(self, keep, dtype)

    def operator(self, *, grounds: np.ndarray | Sequence[int] | None = None) -> GridLaplacian:
        """The reduced Laplacian as a matrix-free operator (see :class:`GridLaplacian`).

        Examples
        --------
        >>> from affine import Affine
        >>> g = raster_graph(Grid(np.array([[1.0, 1.0, 3.0]]), Affine.identity(), None),
        ...                  neighbours=4)
        >>> (g.operator(grounds=[2]) @ np.array([1.0, 0.0])).tolist()
        [1.0, -1.0]
        """
        return GridLaplacian(self, grounds=grounds)

    def _ground_conductance(self, grounds: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        """Per node: the sum (in float64) of the conductances, each rounded to ``dtype``,
        of its edges to the ``grounds`` (0 for the grounds themselves and edges inside a
        merged node). Only the grid rows around ground cells are visited."""
        is_ground = np.zeros(self.n_nodes + 1, dtype=bool)  # index -1: not a node
        is_ground[np.asarray(grounds, dtype=np.int64)] = True
        out = np.zeros(self.n_nodes)
        rows, cols = self.shape
        ground_rows = np.flatnonzero(is_ground[self.cell_node].any(axis=1))
        if not ground_rows.size:
            return out
        res = np.asarray(self.resistance.values)
        for r in np.unique(np.clip(np.concatenate([ground_rows - 1, ground_rows]), 0, rows - 1)):
            top = min(rows, r + 2)
            nodes = self.cell_node[r:top]
            rr = np.asarray(res[r:top], dtype=float)
            for dr, dc in _FORWARD[self.neighbours]:
                if dr >= nodes.shape[0]:
                    continue
                ca = slice(max(0, -dc), cols - max(0, dc))
                cb = slice(ca.start + dc, ca.stop + dc)
                na, nb = nodes[0, ca], nodes[dr, cb]
                ga, gb = is_ground[na], is_ground[nb]
                edge = (na >= 0) & (nb >= 0) & (na != nb) & (ga != gb)
                if not edge.any():
                    continue
                g = edge_conductance(
                    rr[0, ca][edge],
                    rr[dr, cb][edge],
                    diagonal=bool(dr and dc),
                    average=self.average,
                )  # type: ignore[arg-type]
                g = g.astype(dtype).astype(np.float64)
                np.add.at(out, np.where(ga[edge], nb[edge], na[edge]), g)
        out[is_ground[:-1]] = 0.0
        return out

    def node_currents(self, voltages: np.ndarray) -> np.ndarray:
        """Current through each node (A) for node ``voltages`` (V).

        Circuitscape's definition: the larger of the current flowing out of a node
        and the current flowing into it, over its edges (at a source the outflow, at a
        ground the inflow, elsewhere both are equal). Computed on the grid arrays, in
        row chunks, without edge lists.
        """
        voltages = np.asarray(voltages, dtype=float)
        if voltages.shape != (self.n_nodes,):
            raise SchemaError(
                f"voltages must have one value per node ({self.n_nodes}); "
                f"got shape {voltages.shape}."
            )
        cell_out, cell_in = self._cell_flows(voltages)
        if self.merged:
            nodes = self.cell_node.ravel()
            ok = nodes >= 0
            out = np.bincount(nodes[ok], weights=cell_out.ravel()[ok], minlength=self.n_nodes)
            inn = np.bincount(nodes[ok], weights=cell_in.ravel()[ok], minlength=self.n_nodes)
        else:
            ok = self.cell_node >= 0
            out = cell_out[ok]
            inn = cell_in[ok]
        return np.maximum(out, inn)

    def _cell_flows(self, voltages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Outflow and inflow (A) of every cell over its edges."""
        rows, cols = self.shape
        res = np.asarray(self.resistance.values)
        out = np.zeros((rows, cols))
        inn = np.zeros((rows, cols))
        vpad = np.zeros(self.n_nodes + 1)
        vpad[:-1] = voltages  # index -1 -> the padding 0 (edges there have g = 0)
        step = max(1, _CHUNK_CELLS // max(cols, 1))
        for r0 in range(0, rows, step):
            r1 = min(rows, r0 + step)
            top = min(rows, r1 + 1)  # one extra row for the downward neighbours
            v = vpad[self.cell_node[r0:top]]
            rr = res[r0:top]
            for dr, dc in _FORWARD[self.neighbours]:
                ha = (r1 - r0) if dr == 0 else min(r1 - r0, top - r0 - 1)
                if ha <= 0:
                    continue
                ca = slice(max(0, -dc), cols - max(0, dc))
                cb = slice(ca.start + dc, ca.stop + dc)
                g = edge_conductance(
                    rr[:ha, ca],
                    rr[dr : ha + dr, cb],
                    diagonal=bool(dr and dc),
                    average=self.average,
                )  # type: ignore[arg-type]
                f = g * (v[:ha, ca] - v[dr : ha + dr, cb])
                pos = np.maximum(f, 0.0)
                neg = np.maximum(-f, 0.0)
                out[r0 : r0 + ha, ca] += pos
                inn[r0 : r0 + ha, ca] += neg
                out[r0 + dr : r0 + ha + dr, cb] += neg
                inn[r0 + dr : r0 + ha + dr, cb] += pos
        return out, inn

    def to_grid(self, node_values: np.ndarray, *, name: str = "", inf_value: float = 0.0) -> Grid:
        """A Grid of per-node values (``NaN`` cells stay ``NaN``, ``inf`` cells get ``inf_value``).

        Examples
        --------
        >>> from affine import Affine
        >>> g = raster_graph(Grid(np.array([[1.0, np.inf, np.nan]]), Affine.identity(), None))
        >>> g.to_grid(np.array([5.0])).values.tolist()
        [[5.0, 0.0, nan]]
        """
        node_values = np.asarray(node_values, dtype=float)
        if node_values.shape != (self.n_nodes,):
            raise SchemaError(
                f"need one value per node ({self.n_nodes}); got shape {node_values.shape}."
            )
        res = np.asarray(self.resistance.values)
        out = np.where(np.isnan(res), np.nan, inf_value)
        ok = self.cell_node >= 0
        out[ok] = node_values[self.cell_node[ok]]
        return self.resistance.with_values(out, name=name)


class GridLaplacian(spla.LinearOperator):
    """Matrix-free reduced Laplacian of a raster graph: products by grid-array shifts.

    The same matrix as ``graph.laplacian(grounds=grounds)`` but nothing sparse is
    stored: the edge conductances are kept as one ``float32`` grid per forward
    direction (E, S for 4 neighbours; E, S, SE, SW for 8) and the diagonal as a
    ``float64`` grid (the exact sum of the stored ``float32`` conductances, in
    ``float64``). Memory: 16 + 8 + 4 bytes per cell for 8 neighbours (the edge grids,
    the diagonal and the node-to-cell map) plus two padded ``float64`` work grids,
    against 112 bytes per cell for the ``float64`` CSR matrix.

    Products are computed in ``float64``. Storing the conductances in ``float32``
    changes each of them by at most a relative 6e-8 and the diagonal is made
    consistent with them (rows still sum to zero), so the operator is *exactly* the
    Laplacian of a network whose conductances differ from the true ones by at most
    6e-8 relative; effective resistances and voltages then differ by at most that
    relative amount too (Rayleigh's monotonicity law), far below a 1e-6 solver
    tolerance.

    Parameters
    ----------
    graph : RasterGraph
        A cell-level graph (no short-circuit regions: ``graph.merged`` must be False;
        use ``graph.laplacian()`` for merged graphs).
    grounds : array of node ids, optional
        Grounded nodes (0 V), left out of the system as in
        :meth:`RasterGraph.laplacian`.

    Examples
    --------
    >>> from affine import Affine
    >>> g = raster_graph(Grid(np.ones((2, 2)), Affine.identity(), None), neighbours=4)
    >>> op = GridLaplacian(g)
    >>> x = np.array([1.0, 0.0, 0.0, 0.0])
    >>> np.allclose(op @ x, g.laplacian() @ x)
    True
    """

    def __init__(
        self, graph: RasterGraph, *, grounds: np.ndarray | Sequence[int] | None = None
    ) -> None:
        if graph.merged:
            raise SchemaError(
                "GridLaplacian needs a graph without short-circuit regions "
                "(graph.merged is True); use graph.laplacian() instead."
            )
        rows, cols = graph.shape
        keep = np.ones(graph.n_nodes, dtype=bool)
        if grounds is not None:
            grounds = np.asarray(grounds, dtype=np.int64).ravel()
            if grounds.size and (grounds.min() < 0 or grounds.max() >= graph.n_nodes):
                raise SchemaError(
                    f"ground node ids must lie in 0..{graph.n_nodes - 1}; "
                    f"got {grounds.min()}..{grounds.max()}."
                )
            keep[grounds] = False
        n_sys = int(keep.sum())
        super().__init__(dtype=np.float64, shape=(n_sys, n_sys))
        self.neighbours = graph.neighbours
        self.grid_shape = (rows, cols)
        pc = cols + 2
        idx_dtype = np.int32 if (rows + 2) * pc < np.iinfo(np.int32).max else np.int64
        # padded flat cell of each system node (node order = row-major passable cells)
        r, c = np.nonzero(graph.cell_node >= 0)
        cells = ((r + 1) * pc + (c + 1)).astype(idx_dtype)
        del r, c
        self.cells = cells[keep] if not keep.all() else cells
        del cells
        res = np.asarray(graph.resistance.values)
        fwd = _FORWARD[graph.neighbours]
        self._g = np.zeros((len(fwd), rows + 2, pc), dtype=np.float32)
        step = max(1, _CHUNK_CELLS // max(cols, 1))
        for d, (dr, dc) in enumerate(fwd):
            ca = slice(max(0, -dc), cols - max(0, dc))
            cb = slice(ca.start + dc, ca.stop + dc)
            for r0 in range(0, rows - dr, step):
                r1 = min(rows - dr, r0 + step)
                self._g[d, 1 + r0 : 1 + r1, 1 + ca.start : 1 + ca.stop] = edge_conductance(
                    np.asarray(res[r0:r1, ca], dtype=float),
                    np.asarray(res[r0 + dr : r1 + dr, cb], dtype=float),
                    diagonal=bool(dr and dc),
                    average=graph.average,
                )  # type: ignore[arg-type]
        # diagonal: the float64 sum of the stored float32 conductances (rows sum to 0)
        self._diag = np.zeros((rows + 2, pc))
        for d, (dr, dc) in enumerate(fwd):
            self._diag[1:-1, 1:-1] += self._g[d, 1:-1, 1:-1]
            self._diag[1 + dr : rows + 1 + dr, 1 + dc : cols + 1 + dc] += self._g[d, 1:-1, 1:-1]
        self._x = np.zeros((rows + 2) * pc)  # padded work grids (0 off the system)
        self._y = np.zeros((rows + 2) * pc)

    def _matvec(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        rows, cols = self.grid_shape
        pc = cols + 2
        self._x[self.cells] = x
        xf, yf = self._x, self._y
        g = self._g.reshape(len(self._g), -1)
        diag = self._diag.reshape(-1)
        # flat padded layout: a neighbour is a fixed offset away and every slice is
        # contiguous; padding cells hold x = 0 and g = 0, so rows do not wrap around
        offsets = [dr * pc + dc for dr, dc in _FORWARD[self.neighbours]]
        first, stop = pc + 1, rows * pc + cols + 1  # first and one past the last cell
        step = _STENCIL_CHUNK_CELLS
        tmp = np.empty(min(step, stop - first))
        for s0 in range(first, stop, step):
            s1 = min(stop, s0 + step)
            y = yf[s0:s1]
            t = tmp[: s1 - s0]
            np.multiply(diag[s0:s1], xf[s0:s1], out=y)
            for d, off in enumerate(offsets):
                np.multiply(g[d, s0:s1], xf[s0 + off : s1 + off], out=t)  # forward edge
                y -= t
                np.multiply(g[d, s0 - off : s1 - off], xf[s0 - off : s1 - off], out=t)  # backward
                y -= t
        return yf[self.cells]

    def _rmatvec(self, x: np.ndarray) -> np.ndarray:
        return self._matvec(x)  # symmetric

    @property
    def nbytes(self) -> int:
        """Bytes held by the operator (conductance and diagonal grids, maps, work grids)."""
        return int(
            self._g.nbytes + self._diag.nbytes + self.cells.nbytes + self._x.nbytes + self._y.nbytes
        )


def _check_resistance(resistance: Grid) -> np.ndarray:
    if not isinstance(resistance, Grid):
        raise SchemaError(
            f"resistance must be a cami_atlas.raster.Grid; got "
            f"{type(resistance).__name__}. Wrap the array: "
            "Grid(values, transform, crs)."
        )
    res = np.asarray(resistance.values)
    if not np.issubdtype(res.dtype, np.floating):
        res = res.astype(float)
    bad = ~np.isnan(res) & ~(res > 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise SchemaError(
            f"resistance grid {resistance.name or ''!s} holds {int(bad.sum())} cell(s) <= 0 "
            f"(first at row {r}, col {c}: {res[r, c]}). Resistances must be > 0 "
            "(finite passable, inf impassable, NaN outside the study area)."
        )
    return res


def raster_graph(
    resistance: Grid,
    *,
    neighbours: int = 8,
    average: Average = "resistance",
    regions: np.ndarray | Grid | None = None,
) -> RasterGraph:
    """Build the circuit graph of a resistance grid.

    Parameters
    ----------
    resistance : Grid
        Finite ``> 0`` passable, ``inf`` impassable (no edges), ``NaN`` outside.
    neighbours : {8, 4}
        Queen (8, Circuitscape's default) or rook (4) connections.
    average : {"resistance", "conductance"}
        Edge conductance ``1/mean(r)`` or ``mean(1/r)`` (÷ sqrt 2 on diagonals).
    regions : array or Grid of int, optional
        Positive labels of short-circuit regions: the passable cells sharing a label
        become one node (0 or NaN: no region).

    Returns
    -------
    RasterGraph

    Examples
    --------
    >>> from affine import Affine
    >>> r = Grid(np.array([[1.0, 1.0], [np.inf, 1.0]]), Affine.identity(), None)
    >>> g = raster_graph(r, neighbours=4)
    >>> g.n_nodes, g.n_components, g.cell_node.tolist()
    (3, 1, [[0, 1], [-1, 2]])
    """
    check_option("neighbours", neighbours, (8, 4))
    check_option("average", average, ("resistance", "conductance"))
    res = _check_resistance(resistance)
    passable = np.isfinite(res)
    structure = np.ones((3, 3), bool) if neighbours == 8 else ndi.generate_binary_structure(2, 1)
    labels, n_lab = ndi.label(passable, structure=structure)
    labels = labels.astype(np.int32, copy=False)
    merged = False
    rep = passable
    region_lab = None
    if regions is not None:
        region_lab = _region_labels(regions, res.shape)
        region_lab = np.where(passable, region_lab, 0)
        if region_lab.any():
            # a region's cells collapse onto its first cell (row-major)
            flat = region_lab.ravel()
            idx = np.flatnonzero(flat)
            uniq, first = np.unique(flat[idx], return_index=True)
            merged = bool(len(uniq) < len(idx))
            rep = passable.copy()
            rep.ravel()[idx] = False
            rep.ravel()[idx[first]] = True
    n_nodes = int(rep.sum())
    cell_node = np.full(res.shape, -1, dtype=np.int32)
    cell_node[rep] = np.arange(n_nodes, dtype=np.int32)
    if merged and region_lab is not None:
        flat = region_lab.ravel()
        idx = np.flatnonzero(flat)
        uniq, first, inv = np.unique(flat[idx], return_index=True, return_inverse=True)
        cell_node.ravel()[idx] = cell_node.ravel()[idx[first]][inv]
        # regions can join components of the cell graph: union them on the small label graph
        a = labels.ravel()[idx] - 1
        b = labels.ravel()[idx[first]][inv] - 1
        link = sp.coo_matrix((np.ones(len(a)), (a, b)), shape=(n_lab, n_lab))
        n_comp, lab_comp = connected_components(link, directed=False)
        comp_cells = lab_comp[labels[rep] - 1]
    else:
        uniq_lab = labels[rep]
        n_comp = n_lab
        comp_cells = uniq_lab - 1
    # relabel components 0..n-1 in node order of first appearance
    _, first_idx, inv = np.unique(comp_cells, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_idx))
    component = order[inv].astype(np.int32)
    n_comp = int(component.max() + 1) if component.size else 0
    del order, inv, comp_cells
    if n_comp == 1:
        # one component (the usual case): a read-only view of a single 0, not 4 bytes
        # per node held through the solves
        component = np.broadcast_to(np.zeros(1, dtype=np.int32), (n_nodes,))
    return RasterGraph(
        resistance=resistance,
        neighbours=neighbours,
        average=average,
        cell_node=cell_node,
        n_nodes=n_nodes,
        component=component,
        n_components=n_comp,
        merged=merged,
    )


def _region_labels(regions: np.ndarray | Grid, shape: tuple[int, int]) -> np.ndarray:
    arr = regions.values if isinstance(regions, Grid) else np.asarray(regions)
    if arr.shape != shape:
        raise SchemaError(f"regions must have the grid's shape {shape}; got {arr.shape}.")
    arr = np.asarray(arr, dtype=float)
    arr = np.where(np.isfinite(arr), arr, 0.0)
    if (arr < 0).any() or not np.array_equal(arr, np.round(arr)):
        raise SchemaError("region labels must be non-negative integers (0 or NaN: no region).")
    return arr.astype(np.int64)


def _assemble(
    res: np.ndarray,
    cell_node: np.ndarray,
    sys_id: np.ndarray,
    *,
    neighbours: int,
    average: str,
    dtype: Any = np.float64,
) -> sp.csr_matrix:
    """CSR Laplacian over the nodes with ``sys_id >= 0`` (cell-level graphs only).

    Nodes with ``sys_id == -1`` are grounded: their edges add to the neighbours'
    diagonals but they get no row or column.
    """
    rows, cols = res.shape
    n_sys = int((sys_id >= 0).sum())
    stencil = _STENCIL[neighbours]
    id_dtype = np.int32 if len(sys_id) < np.iinfo(np.int32).max else np.int64
    sys_pad = np.full(len(sys_id) + 1, -1, dtype=id_dtype)
    sys_pad[:-1] = sys_id
    step = max(1, _CHUNK_CELLS // max(cols, 1))
    k = len(stencil)
    diag_j = stencil.index((0, 0))

    def ids_block(r0: int, r1: int) -> np.ndarray:
        lo, hi = max(0, r0 - 1), min(rows, r1 + 1)
        ids = np.full((r1 - r0 + 2, cols + 2), -1, dtype=id_dtype)
        ids[(lo - r0 + 1) : (hi - r0 + 1), 1:-1] = sys_pad[cell_node[lo:hi]]
        return ids

    def counts(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        """Entries per system row: the diagonal + neighbours that are system nodes."""
        ids = ids_block(r0, r1)
        h = r1 - r0
        centre_id = ids[1:-1, 1:-1]
        cnt = np.ones((h, cols), dtype=np.int64)
        for dr, dc in stencil:
            if dr or dc:
                cnt += ids[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + cols] >= 0
        keep = centre_id >= 0
        return cnt[keep], centre_id[keep]

    def fill(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = max(0, r0 - 1), min(rows, r1 + 1)
        block = np.full((r1 - r0 + 2, cols + 2), np.nan)
        block[(lo - r0 + 1) : (hi - r0 + 1), 1:-1] = res[lo:hi]
        ids = ids_block(r0, r1)
        h = r1 - r0
        centre = block[1:-1, 1:-1]
        centre_id = ids[1:-1, 1:-1]
        col = np.empty((h, cols, k), dtype=id_dtype)
        val = np.zeros((h, cols, k), dtype=dtype)
        for j, (dr, dc) in enumerate(stencil):
            if dr == 0 and dc == 0:
                col[:, :, j] = centre_id
                continue
            nb = block[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + cols]
            val[:, :, j] = -edge_conductance(centre, nb, diagonal=bool(dr and dc), average=average)  # type: ignore[arg-type]
            col[:, :, j] = ids[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + cols]
        val[:, :, diag_j] = -val.sum(axis=2)
        valid = col >= 0
        valid &= (centre_id >= 0)[:, :, None]
        return col[valid], val[valid]

    # pass 1: row counts (cheap integer work) -> exact CSR arrays; pass 2: fill them
    # chunk by chunk (peak = the final arrays + one chunk of temporaries).
    counts_all = np.zeros(n_sys, dtype=np.int64)
    for r0 in range(0, rows, step):
        cnt, rid = counts(r0, min(rows, r0 + step))
        counts_all[rid] = cnt
    nnz = int(counts_all.sum())
    idx_dtype = np.int32 if max(nnz, n_sys) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n_sys + 1, dtype=idx_dtype)
    np.cumsum(counts_all, out=indptr[1:])
    del counts_all
    indices = np.empty(nnz, dtype=idx_dtype)
    data = np.empty(nnz, dtype=dtype)
    pos = 0
    for r0 in range(0, rows, step):
        c, v = fill(r0, min(rows, r0 + step))
        indices[pos : pos + len(c)] = c
        data[pos : pos + len(c)] = v
        pos += len(c)
    return sp.csr_matrix((data, indices, indptr), shape=(n_sys, n_sys))


def _merged_laplacian(graph: RasterGraph, keep: np.ndarray, dtype: Any) -> sp.csr_matrix:
    """Laplacian of a graph with short-circuit regions: P^T L_cells P, then grounds removed."""
    res = np.asarray(graph.resistance.values, dtype=float)
    passable = np.isfinite(res)
    n_cells = int(passable.sum())
    cell_id = np.full(res.shape, -1, dtype=np.int32)
    cell_id[passable] = np.arange(n_cells, dtype=np.int32)
    lap_cells = _assemble(
        res,
        cell_id,
        np.arange(n_cells),
        neighbours=graph.neighbours,
        average=graph.average,
        dtype=np.float64,
    )
    node_of = graph.cell_node[passable]
    p = sp.csr_matrix(
        (np.ones(n_cells), (np.arange(n_cells), node_of)), shape=(n_cells, graph.n_nodes)
    )
    lap = (p.T @ lap_cells @ p).tocsr()
    del lap_cells
    # internal edges of a region cancel exactly on the diagonal; clean round-off zeros
    lap.data[np.abs(lap.data) < 1e-14 * np.abs(lap.data).max()] = 0.0
    lap.eliminate_zeros()
    if not keep.all():
        lap = lap[keep][:, keep]
    lap = lap.astype(dtype)
    lap.sort_indices()
    return sp.csr_matrix(lap)
