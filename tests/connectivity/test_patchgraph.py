"""IIC, PC, ECA and the importance fractions on hand-computed patch graphs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cami_atlas.connectivity.patchgraph import (
    connectivity_indices,
    decay_probability,
    link_importance,
    node_importance,
    patch_graph,
    symmetric_distances,
)
from cami_atlas.errors import SchemaError

# Three cores in a line: A -1- B -1- C, and A-C directly at 3. Areas 1, 2, 1 km².
# Dispersal distance 1 at p = 0.5 -> k = ln 2: p_AB = p_BC = 0.5, p_AC (direct) = 0.125,
# but the best path A-B-C gives p*_AC = 0.25.
AREA = pd.Series([1.0, 2.0, 1.0], index=["A", "B", "C"], name="area_km2")
DIST = pd.DataFrame([[0, 1, 3], [1, 0, 1], [3, 1, 0.0]], index=list("ABC"), columns=list("ABC"))


def _g():
    return patch_graph(AREA, DIST)


def test_kernel():
    assert decay_probability(2.0, dispersal_distance=2.0, probability=0.3) == pytest.approx(0.3)
    assert decay_probability(np.inf, dispersal_distance=2.0) == 0.0
    np.testing.assert_allclose(decay_probability([0, 1, 2], dispersal_distance=1, probability=0.1),
                               [1, 0.1, 0.01])


def test_three_node_indices_by_hand():
    out = connectivity_indices(_g(), dispersal_distance=1.0, probability=0.5, landscape_area=10)
    # PC_num = sum a_i^2 + 2 sum_{i<j} a_i a_j p*_ij
    #        = (1 + 4 + 1) + 2 (1*2*0.5 + 2*1*0.5 + 1*1*0.25) = 6 + 4.5 = 10.5
    assert out["PC_num"] == pytest.approx(10.5)
    assert out["PC"] == pytest.approx(10.5 / 100)
    assert out["ECA"] == pytest.approx(math.sqrt(10.5))
    # IIC: links at d <= 1 are A-B and B-C; nl_AB = nl_BC = 1, nl_AC = 2
    # IIC_num = 6 + 2 (1*2/2 + 2*1/2 + 1*1/3) = 6 + 14/3
    assert out["IIC_num"] == pytest.approx(6 + 14 / 3)
    assert out["IIC"] == pytest.approx((6 + 14 / 3) / 100)
    assert np.isnan(connectivity_indices(_g(), dispersal_distance=1.0)["PC"])


def test_node_importance_by_hand_and_fractions_sum():
    imp = node_importance(_g(), dispersal_distance=1.0)
    # remove B: A and C only, p_AC = 0.125: PC_num = 1 + 1 + 2*0.125 = 2.25
    # dPC_B = 100 (10.5 - 2.25) / 10.5 = 78.571; intra = 100*4/10.5 = 38.095;
    # flux = 100 * 2 * (2*1*0.5 + 2*1*0.5) / 10.5 = 38.095; connector = 2.381
    b = imp.loc["B"]
    assert b["dPC"] == pytest.approx(100 * 8.25 / 10.5)
    assert b["dPC_intra"] == pytest.approx(100 * 4 / 10.5)
    assert b["dPC_flux"] == pytest.approx(100 * 4 / 10.5)
    assert b["dPC_connector"] == pytest.approx(100 * 0.25 / 10.5)
    # remove A: B, C: PC_num = 4 + 1 + 2*2*1*0.5 = 7 -> dPC_A = 33.333, no connector role
    assert imp.loc["A", "dPC"] == pytest.approx(100 * 3.5 / 10.5)
    assert imp.loc["A", "dPC_connector"] == pytest.approx(0.0, abs=1e-9)
    # remove B from the IIC graph: no link left -> IIC_num 2 -> dIIC = 100 (32/3 - 2) / (32/3)
    assert b["dIIC"] == pytest.approx(100 * (32 / 3 - 2) / (32 / 3))
    for pre in ("dPC", "dIIC"):
        parts = imp[f"{pre}_intra"] + imp[f"{pre}_flux"] + imp[f"{pre}_connector"]
        np.testing.assert_allclose(parts, imp[pre], rtol=1e-12)
    assert imp.loc["B", "ECA_without"] == pytest.approx(1.5)


def test_the_only_connector_has_the_largest_connector_fraction():
    # a chain of 5 equal cores; the middle one is the only route between the two halves
    n = 5
    pos = np.arange(n, dtype=float)
    d = np.abs(pos[:, None] - pos[None, :])
    d[d > 1] = np.inf  # only neighbours are linked
    a = pd.Series(np.ones(n), index=list("abcde"))
    imp = node_importance(patch_graph(a, d), dispersal_distance=1.0, probability=0.5)
    assert imp["dPC_connector"].idxmax() == "c"
    assert imp.loc["a", "dPC_connector"] == pytest.approx(0.0, abs=1e-9)
    assert imp["dIIC_connector"].idxmax() == "c"


def test_link_importance():
    links = link_importance(_g(), dispersal_distance=1.0).set_index(["core_a", "core_b"])
    # remove A-B: p*_AB via C = 0.125 * 0.5 = 0.0625, p*_AC = 0.125 (direct):
    # PC_num = 6 + 2 (2*0.0625 + 2*0.5 + 0.125) = 8.5 -> dPC = 100 * 2 / 10.5
    assert links.loc[("A", "B"), "dPC"] == pytest.approx(100 * 2 / 10.5)
    assert links.loc[("A", "C"), "dPC"] == pytest.approx(0.0)
    assert links.loc[("A", "C"), "dIIC"] == 0.0  # 3 > 1: not an IIC link
    # remove A-B from IIC: A is cut off: IIC_num = 1 + (4 + 1 + 2*2*1/2) = 8
    assert links.loc[("A", "B"), "dIIC"] == pytest.approx(100 * (32 / 3 - 8) / (32 / 3))


def test_patch_graph_structure_and_zero_distances():
    d = np.array([[0, 0, np.inf], [0, 0, 2], [np.inf, 2, 0.0]])
    g = patch_graph(pd.Series([1.0, 1.0, 1.0]), d)
    assert isinstance(g, nx.Graph) and g.number_of_edges() == 2
    # touching cores (distance 0) are fully connected: p* = 1
    out = connectivity_indices(g, dispersal_distance=2.0)
    # PC_num = 3 + 2 (1 + 0.5 + 0.5) = 7
    assert out["PC_num"] == pytest.approx(7.0)
    g2 = patch_graph(pd.Series([1.0, 1.0, 1.0]), d, max_distance=1)
    assert g2.number_of_edges() == 1


def test_solver_round_off_is_accepted_and_averaged():
    """An iterative solver leaves effective resistances symmetric only to its tolerance,
    which is absolute (relative to the largest values): a small entry may differ from its
    mirror by far more than 1e-6 of itself. Accepted (1e-6 of the largest finite value)
    and averaged."""
    d = np.array([[0.0, 100.0, 0.01], [100.0 + 3e-5, 0.0, 50.0], [0.01 + 2e-6, 50.0, 0.0]])
    g = patch_graph(pd.Series([1.0, 1.0, 1.0]), d)
    assert g.edges[0, 2]["distance"] == pytest.approx(0.010001, rel=1e-12)
    assert g.edges[0, 1]["distance"] == pytest.approx(100.000015, rel=1e-12)
    out = symmetric_distances(d)
    np.testing.assert_array_equal(out, out.T)
    np.testing.assert_allclose(out, (d + d.T) / 2, rtol=0)
    # inf (disconnected) pairs stay inf
    d2 = np.array([[0.0, np.inf], [np.inf, 0.0]])
    assert np.isinf(symmetric_distances(d2)[0, 1])


def test_really_asymmetric_matrices_are_refused_with_the_largest_gap():
    d = pd.DataFrame([[0, 10.0, 4.0], [10.0, 0, 5.0], [4.2, 5.0, 0]], index=list("xyz"),
                     columns=list("xyz"))
    a = pd.Series([1.0, 1.0, 1.0], index=list("xyz"))
    with pytest.raises(SchemaError, match=r"largest asymmetry is 0\.2 \(2\.00e-02 of it\): "
                                          r"d\['x', 'z'\] = 4 vs d\['z', 'x'\] = 4\.2.*"
                                          r"method='direct'"):
        patch_graph(a, d)
    # a looser tolerance accepts it
    assert patch_graph(a, d, symmetry_rtol=0.05).edges["x", "z"]["distance"] == \
        pytest.approx(4.1)
    with pytest.raises(SchemaError, match=r"d\[0, 1\] = 1\.0 but d\[1, 0\] = inf"):
        symmetric_distances(np.array([[0.0, 1.0], [np.inf, 0.0]]))


def test_errors():
    with pytest.raises(SchemaError, match="dispersal_distance"):
        connectivity_indices(_g(), dispersal_distance=0)
    with pytest.raises(SchemaError, match="probability"):
        node_importance(_g(), dispersal_distance=1, probability=1.0)
    with pytest.raises(SchemaError, match="landscape_area"):
        connectivity_indices(_g(), dispersal_distance=1, landscape_area=-1)
    with pytest.raises(SchemaError, match="Series"):
        patch_graph([1, 2], np.zeros((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="2 x 2"):
        patch_graph(pd.Series([1.0, 2.0]), np.zeros((3, 3)))
    with pytest.raises(SchemaError, match="symmetric"):
        patch_graph(pd.Series([1.0, 2.0]), np.array([[0, 1.0], [2.0, 0]]))
    with pytest.raises(SchemaError, match=">= 0"):
        patch_graph(pd.Series([-1.0, 2.0]), np.zeros((2, 2)))
    with pytest.raises(SchemaError, match="lacks cores"):
        patch_graph(AREA, DIST.drop(index="C", columns="C"))
    with pytest.raises(SchemaError, match="without NaN"):
        patch_graph(pd.Series([1.0, 2.0]), np.array([[0, np.nan], [np.nan, 0]]))
    with pytest.raises(SchemaError, match="undirected"):
        connectivity_indices(nx.DiGraph(), dispersal_distance=1)
    bad = nx.Graph()
    bad.add_node("x")
    with pytest.raises(SchemaError, match="attribute"):
        connectivity_indices(bad, dispersal_distance=1)
