"""The raster graph: Laplacian assembly checked against an explicit loop written here."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from cami_atlas.connectivity.graph import edge_conductance, raster_graph
from cami_atlas.errors import OptionError, SchemaError
from cami_atlas.raster import Grid

T = Affine(1, 0, 0, 0, -1, 10)


def _grid(values: np.ndarray) -> Grid:
    return Grid(np.asarray(values, dtype=float), T, None)


def _loop_laplacian(r: np.ndarray, neighbours: int, average: str) -> np.ndarray:
    """Independent reference: visit every cell and neighbour (Circuitscape's rules)."""
    rows, cols = r.shape
    ids = -np.ones(r.shape, int)
    n = 0
    for i in range(rows):
        for j in range(cols):
            if np.isfinite(r[i, j]):
                ids[i, j] = n
                n += 1
    lap = np.zeros((n, n))
    for i in range(rows):
        for j in range(cols):
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if (di, dj) == (0, 0) or (neighbours == 4 and di and dj):
                        continue
                    ii, jj = i + di, j + dj
                    if not (0 <= ii < rows and 0 <= jj < cols):
                        continue
                    a, b = ids[i, j], ids[ii, jj]
                    if a < 0 or b < 0:
                        continue
                    if average == "resistance":
                        w = 1.0 / ((r[i, j] + r[ii, jj]) / 2)
                    else:
                        w = (1 / r[i, j] + 1 / r[ii, jj]) / 2
                    if di and dj:
                        w /= np.sqrt(2)
                    lap[a, b] -= w
                    lap[a, a] += w
    return lap


@pytest.mark.parametrize("neighbours", [4, 8])
@pytest.mark.parametrize("average", ["resistance", "conductance"])
def test_laplacian_matches_explicit_loop(neighbours, average):
    rng = np.random.default_rng(1)
    r = rng.uniform(1, 20, (6, 7))
    r[2, 3] = np.inf
    r[0, 6] = np.inf
    r[4, 1] = np.nan
    g = raster_graph(_grid(r), neighbours=neighbours, average=average)
    ref = _loop_laplacian(r, neighbours, average)
    assert g.n_nodes == 6 * 7 - 3
    lap = g.laplacian()
    assert lap.indices.dtype == np.int32
    np.testing.assert_allclose(lap.toarray(), ref, atol=1e-13)
    # reduced (grounded) matrix = the full one without the ground rows and columns
    keep = np.ones(g.n_nodes, bool)
    keep[[0, 17]] = False
    np.testing.assert_allclose(g.laplacian(grounds=[0, 17]).toarray(), ref[keep][:, keep],
                               atol=1e-13)


def test_small_chunks_give_the_same_matrix(monkeypatch):
    import cami_atlas.connectivity.graph as mod

    rng = np.random.default_rng(2)
    r = rng.uniform(1, 5, (9, 4))
    r[3, :2] = np.inf
    whole = raster_graph(_grid(r)).laplacian().toarray()
    monkeypatch.setattr(mod, "_CHUNK_CELLS", 5)  # one grid row per chunk
    np.testing.assert_allclose(raster_graph(_grid(r)).laplacian().toarray(), whole)


def test_edge_conductance_follows_circuitscape():
    # 1 / mean resistance; diagonal divided by sqrt(2); mean conductance variant
    assert edge_conductance(np.array(1.0), np.array(3.0)) == pytest.approx(0.5)
    assert edge_conductance(np.array(1.0), np.array(3.0), diagonal=True) == pytest.approx(
        0.5 / np.sqrt(2))
    assert edge_conductance(np.array(1.0), np.array(4.0), average="conductance") == \
        pytest.approx((1 + 0.25) / 2)
    assert edge_conductance(np.array(1.0), np.array(np.inf), average="conductance") == 0.0
    assert edge_conductance(np.array(np.nan), np.array(2.0)) == 0.0
    with pytest.raises(OptionError, match="average="):
        edge_conductance(np.array(1.0), np.array(1.0), average="mean")  # type: ignore[arg-type]


def test_inf_cells_have_no_edges_nan_cells_are_not_nodes():
    r = np.array([[1.0, np.inf, 1.0], [1.0, 1.0, np.nan]])
    g = raster_graph(_grid(r), neighbours=4)
    assert g.cell_node.tolist() == [[0, -1, 1], [2, 3, -1]]
    # node 1 (top right) touches only inf and NaN cells: an isolated component
    assert g.n_components == 2
    lap = g.laplacian().toarray()
    assert lap[1].tolist() == [0.0, 0.0, 0.0, 0.0]
    out = g.to_grid(np.array([1.0, 2.0, 3.0, 4.0]))
    assert out.values[0, 1] == 0.0 and np.isnan(out.values[1, 2])
    assert out.values[1, 1] == 4.0


def test_components_differ_between_4_and_8_neighbours():
    # an impassable diagonal: 4-neighbour graphs are cut, 8-neighbour graphs leak
    r = np.ones((3, 3))
    r[0, 2] = r[1, 1] = r[2, 0] = np.inf
    assert raster_graph(_grid(r), neighbours=4).n_components == 2
    assert raster_graph(_grid(r), neighbours=8).n_components == 1


def test_regions_are_shorted_into_one_node():
    r = np.ones((3, 4))
    regions = np.zeros((3, 4), int)
    regions[:, 0] = 1  # the left column is one node
    regions[0, 3] = regions[2, 3] = 2  # two distant cells of region 2: joined
    g = raster_graph(_grid(r), neighbours=4, regions=regions)
    assert g.merged and g.n_nodes == 12 - 2 - 1
    cells = _loop_laplacian(r, 4, "resistance")
    p = np.zeros((12, g.n_nodes))
    p[np.arange(12), g.cell_node.ravel()] = 1
    np.testing.assert_allclose(g.laplacian().toarray(), p.T @ cells @ p, atol=1e-12)
    assert np.allclose(g.laplacian().toarray().sum(axis=1), 0)
    # a region joins components the cell graph keeps apart
    r2 = np.ones((3, 3))
    r2[:, 1] = np.inf
    regions2 = np.zeros((3, 3), int)
    regions2[0, 0] = regions2[0, 2] = 1
    assert raster_graph(_grid(r2), regions=regions2).n_components == 1
    assert raster_graph(_grid(r2)).n_components == 2


def test_node_currents_of_a_row():
    g = raster_graph(_grid(np.array([[1.0, 1.0, 1.0]])), neighbours=4)
    # 1 A flows left to right: every node carries 1 A
    np.testing.assert_allclose(g.node_currents(np.array([2.0, 1.0, 0.0])), [1, 1, 1])
    with pytest.raises(SchemaError, match="one value per node"):
        g.node_currents(np.zeros(5))


def test_errors():
    with pytest.raises(OptionError, match="neighbours=6"):
        raster_graph(_grid(np.ones((2, 2))), neighbours=6)
    with pytest.raises(SchemaError, match="<= 0"):
        raster_graph(_grid(np.array([[1.0, 0.0]])))
    with pytest.raises(SchemaError, match=r"must be a cami_atlas\.raster\.Grid"):
        raster_graph(np.ones((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="regions must have the grid's shape"):
        raster_graph(_grid(np.ones((2, 2))), regions=np.zeros((3, 3)))
    with pytest.raises(SchemaError, match="non-negative integers"):
        raster_graph(_grid(np.ones((2, 2))), regions=np.full((2, 2), 0.5))
    g = raster_graph(_grid(np.ones((2, 2))))
    with pytest.raises(SchemaError, match="ground node ids"):
        g.laplacian(grounds=[7])
    with pytest.raises(SchemaError, match="one value per node"):
        g.to_grid(np.zeros(3))


# -- matrix-free operator ---------------------------------------------------------------------
@pytest.mark.parametrize("neighbours", [4, 8])
@pytest.mark.parametrize("average", ["resistance", "conductance"])
def test_grid_laplacian_equals_the_csr_matrix(neighbours, average):
    from cami_atlas.connectivity.graph import GridLaplacian

    rng = np.random.default_rng(4)
    r = rng.lognormal(1, 1, (13, 17)) + 1
    r[3, 2:9] = np.inf
    r[10, 16] = np.nan
    r[0, 0] = np.nan
    g = raster_graph(_grid(r), neighbours=neighbours, average=average)
    for grounds in (None, [0], [5, 60, 100]):
        lap = g.laplacian(grounds=grounds)
        op = GridLaplacian(g, grounds=grounds)
        assert op.shape == lap.shape
        x = rng.standard_normal(lap.shape[0])
        # float32 conductances: within 1e-7 of the float64 matrix
        np.testing.assert_allclose(op @ x, lap @ x, rtol=0, atol=1e-7 * np.abs(lap @ x).max())
        np.testing.assert_allclose(g.operator(grounds=grounds).matmat(np.eye(lap.shape[0])[:, :3]),
                                   lap[:, :3].toarray(), atol=1e-6)


@pytest.mark.parametrize("neighbours", [4, 8])
def test_grid_laplacian_is_the_laplacian_of_float32_conductances(neighbours):
    # the explicit loop with each conductance rounded to float32: equal to round-off,
    # and the rows of the full operator sum to zero exactly as a Laplacian's do
    from cami_atlas.connectivity.graph import GridLaplacian

    rng = np.random.default_rng(8)
    r = rng.uniform(1, 300, (6, 9))
    r[2, 4] = np.inf
    ref = _loop_laplacian(r, neighbours, "resistance")
    off = np.where(np.eye(len(ref), dtype=bool), 0.0, ref).astype(np.float32).astype(float)
    ref32 = off - np.diag(off.sum(axis=1))
    op = GridLaplacian(raster_graph(_grid(r), neighbours=neighbours))
    dense = op.matmat(np.eye(op.shape[0]))
    np.testing.assert_allclose(dense, ref32, rtol=0, atol=1e-13)
    np.testing.assert_allclose(dense.sum(axis=1), 0, atol=1e-13)
    assert op.nbytes > 0


def test_grid_laplacian_errors():
    from cami_atlas.connectivity.graph import GridLaplacian

    regions = np.zeros((2, 3), int)
    regions[:, 0] = 1
    merged = raster_graph(_grid(np.ones((2, 3))), regions=regions)
    with pytest.raises(SchemaError, match="short-circuit regions"):
        GridLaplacian(merged)
    with pytest.raises(SchemaError, match="ground node ids"):
        raster_graph(_grid(np.ones((2, 2)))).operator(grounds=[4])


def test_one_component_label_array_holds_no_memory_per_node():
    """With one connected component the labels are a read-only view of a single 0 (no
    4 bytes per node held through the solves); with two they are a real array."""
    one = raster_graph(Grid(np.ones((30, 40)), Affine(1, 0, 0, 0, -1, 30), None))
    assert one.n_components == 1
    assert one.component.shape == (one.n_nodes,) and one.component.dtype == np.int32
    assert not one.component.any() and one.component.strides == (0,)
    assert not one.component.flags.writeable
    v = np.ones((3, 5))
    v[:, 2] = np.inf
    two = raster_graph(Grid(v, Affine(1, 0, 0, 0, -1, 3), None), neighbours=4)
    assert two.n_components == 2 and two.component.tolist() == [0, 0, 1, 1] * 3
