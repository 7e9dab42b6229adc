"""Barrier impact: ranking, exact values on resistor rows, fast path vs full recompute."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely import LineString

from cami_atlas.connectivity.circuit import effective_resistance
from cami_atlas.connectivity.impact import DIRECT_MAX_CELLS, apply_barrier_masks, barrier_impact
from cami_atlas.connectivity.resistance import burn_infrastructure
from cami_atlas.errors import DisconnectedGraphWarning, OptionError, SchemaError
from cami_atlas.raster import Grid

T = Affine(1, 0, 0, 0, -1, 0)


def _grid(values, crs=None) -> Grid:
    return Grid(np.asarray(values, dtype=float), T, crs)


def _pts(cells) -> np.ndarray:
    cells = np.asarray(cells, dtype=float)
    return np.column_stack([cells[:, 1] + 0.5, -cells[:, 0] - 0.5])


def _wall_landscape():
    """5 x 9 open grid, a wall at column 4 with a single gap at row 2 (the only link)."""
    r = np.ones((5, 9))
    r[:, 4] = np.inf
    r[2, 4] = 1.0
    cores = np.zeros((5, 9), int)
    cores[:, 0] = 1
    cores[:, 8] = 2
    gap = np.zeros((5, 9), bool)
    gap[2, 4] = True  # a fence closing the gap
    elsewhere = np.zeros((5, 9), bool)
    elsewhere[0:2, 2] = True  # a fence in open country
    return r, cores, {"gap fence": gap, "open fence": elsewhere}


@pytest.mark.parametrize("value", [500.0, np.inf])
def test_the_segment_cutting_the_only_link_ranks_first(value):
    r, cores, masks = _wall_landscape()
    if np.isinf(value):  # the reference (all fences) cuts the cores apart: said once
        with pytest.warns(DisconnectedGraphWarning, match="disconnected"):
            out = barrier_impact(_grid(r), masks, cores, barrier_resistance=value,
                                 method="direct")
    else:
        out = barrier_impact(_grid(r), masks, cores, barrier_resistance=value, method="direct")
    assert out.table.index[0] == "gap fence"
    assert out.table.loc["gap fence", "rank"] == 1
    assert out.table.loc["gap fence", "delta_conductance"] > \
        10 * out.table.loc["open fence", "delta_conductance"]
    if np.isinf(value):
        # with the gap closed for good the cores are disconnected in the reference
        assert np.isinf(out.reference.iloc[0, 1])
        assert out.table.loc["open fence", "disconnected_pairs"] == 1
        assert out.table.loc["gap fence", "disconnected_pairs"] == 0


def test_add_mode_ranks_the_line_cutting_the_link_as_the_largest_loss():
    r, cores, masks = _wall_landscape()
    out = barrier_impact(_grid(r), masks, cores, mode="add", barrier_resistance=np.inf,
                         method="amg")
    assert out.table.index[0] == "gap fence"
    assert out.table.loc["gap fence", "delta_conductance"] < 0
    assert out.table.loc["gap fence", "disconnected_pairs"] == 1
    assert out.mode == "add"


def test_exact_values_on_a_row_of_resistors():
    # row of 6 cells, cores at both ends; fence A on cell 2 (x10), fence B on cell 4 (x4).
    base = _grid(np.ones((1, 6)))
    a = np.zeros((1, 6), bool)
    a[0, 2] = True
    b = np.zeros((1, 6), bool)
    b[0, 4] = True
    out = barrier_impact(base, {"A": a, "B": b}, _pts([[0, 0], [0, 5]]), how="multiply",
                         barrier_resistance={"A": 10.0, "B": 4.0}, neighbours=4,
                         method="direct")
    # reference cells [1, 1, 10, 1, 4, 1]: edges 1 + 5.5 + 5.5 + 2.5 + 2.5 = 17
    assert out.reference.iloc[0, 1] == pytest.approx(17.0)
    # without A: [1, 1, 1, 1, 4, 1]: 1 + 1 + 1 + 2.5 + 2.5 = 8 ; without B: 1 + 5.5 + 5.5 + 1 + 1 = 14
    assert out.resistances["A"].iloc[0, 1] == pytest.approx(8.0, rel=1e-6)
    assert out.resistances["B"].iloc[0, 1] == pytest.approx(14.0, rel=1e-6)
    assert out.table.loc["A", "delta_conductance"] == pytest.approx(1 / 8 - 1 / 17, rel=1e-6)
    assert out.table.loc["B", "delta_conductance"] == pytest.approx(1 / 14 - 1 / 17, rel=1e-6)
    assert out.table["rank"].tolist() == [1, 2] and out.table.index.tolist() == ["A", "B"]
    assert out.table.loc["A", "n_cells"] == 1


@pytest.mark.parametrize("method", ["amg", "direct"])
def test_fast_path_matches_a_full_recompute(method):
    rng = np.random.default_rng(4)
    r = rng.uniform(1, 10, (12, 15))
    masks = {}
    for k in range(3):
        m = np.zeros(r.shape, bool)
        m[rng.integers(0, 12, 4), rng.integers(0, 15, 4)] = True
        masks[f"g{k}"] = m
    pts = _pts([[0, 0], [11, 14], [6, 7]])
    out = barrier_impact(_grid(r), masks, pts, barrier_resistance=80.0, method=method,
                         tol=1e-10)
    ref = apply_barrier_masks(_grid(r), masks, barrier_resistance=80.0)
    np.testing.assert_allclose(out.reference, effective_resistance(ref, pts, method="direct"),
                               rtol=1e-6)
    for key in masks:
        others = {k: v for k, v in masks.items() if k != key}
        scn = apply_barrier_masks(_grid(r), others, barrier_resistance=80.0)
        np.testing.assert_allclose(out.resistances[key],
                                   effective_resistance(scn, pts, method="direct"), rtol=1e-6)


def test_overlapping_masks_keep_the_highest_value_and_give_back_the_others():
    base = _grid(np.ones((1, 3)))
    m1 = np.array([[False, True, False]])
    burned = apply_barrier_masks(base, {"low": m1, "high": m1},
                                 barrier_resistance={"low": 5.0, "high": 9.0})
    assert burned.values.tolist() == [[1.0, 9.0, 1.0]]
    out = barrier_impact(base, {"low": m1, "high": m1}, _pts([[0, 0], [0, 2]]),
                         barrier_resistance={"low": 5.0, "high": 9.0}, neighbours=4,
                         method="direct")
    # removing "high" leaves "low" (5): R = 3 + 3 = 6 ; removing "low" leaves 9: R = 10
    assert out.resistances["high"].iloc[0, 1] == pytest.approx(6.0)
    assert out.resistances["low"].iloc[0, 1] == pytest.approx(10.0)
    assert out.table.loc["low", "n_cells"] == 0


def test_eca_ranking_with_core_areas():
    r, cores, masks = _wall_landscape()
    areas = pd.Series([10.0, 20.0], index=[1, 2], name="area_km2")
    out = barrier_impact(_grid(r), masks, cores, barrier_resistance=500.0, method="direct",
                         attributes=areas, dispersal_distance=5.0)
    t = out.table
    assert t.index[0] == "gap fence"
    # ECA = sqrt(a1^2 + a2^2 + 2 a1 a2 p12), p12 = 0.5 ** (R12 / 5)
    r12 = out.resistances["gap fence"].iloc[0, 1]
    expected = np.sqrt(100 + 400 + 2 * 200 * 0.5 ** (r12 / 5))
    assert t.loc["gap fence", "eca"] == pytest.approx(expected)
    assert t.loc["gap fence", "delta_eca"] == pytest.approx(expected - out.reference_eca)
    assert t.loc["gap fence", "delta_eca_pct"] > 0


def test_vector_barriers_through_burn_infrastructure():
    crs = "EPSG:32643"
    r, cores, _ = _wall_landscape()
    base = Grid(r, Affine(100, 0, 0, 0, -100, 500), crs)
    # a line across the gap cell (row 2, col 4: x 400..500, y 200..300) and one in the open
    infra = gpd.GeoDataFrame(
        {"barrier_class": ["complete barrier", "complete barrier"], "name": ["gap", "open"]},
        geometry=[LineString([(450, 210), (450, 290)]), LineString([(250, 410), (250, 490)])],
        crs=crs)
    with pytest.warns(DisconnectedGraphWarning):
        out = barrier_impact(base, infra, cores, group_column="name", method="direct")
    assert out.table.index[0] == "gap"
    assert np.isinf(out.reference.iloc[0, 1])
    # a custom burn function works the same way
    def burn(grid, sub):
        return apply_barrier_masks(grid, {"x": np.isin(np.arange(45).reshape(5, 9),
                                                       [22] if "gap" in set(sub["name"]) else [2])})
    out2 = barrier_impact(base, infra, cores, group_column="name", burn=burn, mode="add",
                          method="direct")
    assert out2.table.index[0] == "gap"


def _shared_masks():
    """Row of 7 cells; A on cells 2-4, B on cells 4-5 (cell 4 shared)."""
    a = np.zeros((1, 7), bool)
    a[0, 2:5] = True
    b = np.zeros((1, 7), bool)
    b[0, 4:6] = True
    return {"A": a, "B": b}


def test_evaluate_keeps_the_reference_and_burns_shared_cells_once():
    base = _grid(np.ones((1, 7)))
    masks = _shared_masks()
    pts = _pts([[0, 0], [0, 6]])
    kw = dict(how="multiply", barrier_resistance=10.0, neighbours=4, method="direct")
    every = barrier_impact(base, masks, pts, **kw)
    only_a = barrier_impact(base, masks, pts, evaluate=["A"], **kw)
    # reference cells [1, 1, 10, 10, 10, 10, 1] (cell 4 x10 once): 1 + 5.5 + 10 x 3 + 5.5
    assert every.reference.iloc[0, 1] == pytest.approx(42.0)
    np.testing.assert_array_equal(only_a.reference, every.reference)
    assert only_a.table.index.tolist() == ["A"]
    # without A: B alone [1, 1, 1, 1, 10, 10, 1]: 1 + 1 + 1 + 5.5 + 10 + 5.5 = 24
    assert only_a.resistances["A"].iloc[0, 1] == pytest.approx(24.0)
    assert only_a.table.loc["A", "delta_conductance"] == pytest.approx(1 / 24 - 1 / 42)
    assert only_a.table.loc["A", "n_cells"] == 2  # cell 4 stays x10 through B
    assert every.table.loc["A", "delta_conductance"] == only_a.table.loc["A", "delta_conductance"]
    # without B: A alone [1, 1, 10, 10, 10, 1, 1]: 1 + 5.5 + 10 + 10 + 5.5 + 1 = 33
    assert every.resistances["B"].iloc[0, 1] == pytest.approx(33.0)


def test_evaluate_in_add_mode_keeps_the_other_groups_built():
    base = _grid(np.ones((1, 7)))
    masks = _shared_masks()
    pts = _pts([[0, 0], [0, 6]])
    out = barrier_impact(base, masks, pts, mode="add", evaluate=["A"], how="multiply",
                         barrier_resistance=10.0, neighbours=4, method="direct")
    assert out.reference.iloc[0, 1] == pytest.approx(24.0)  # B already there
    assert out.resistances["A"].iloc[0, 1] == pytest.approx(42.0)  # A added: both, x10 once
    assert out.table.loc["A", "delta_conductance"] == pytest.approx(1 / 42 - 1 / 24)


def test_vector_segments_sharing_cells_scenarios_from_the_remaining_segments():
    """GeoDataFrame path: two lines on the same column of cells (one only on its upper
    part) and one crossing them. Reference = all burned once; each scenario = the base
    with the remaining lines burned (independent burn_infrastructure + direct solve)."""
    crs = "EPSG:32643"
    rng = np.random.default_rng(7)
    base = Grid(rng.uniform(1, 5, (9, 11)), Affine(100, 0, 0, 0, -100, 900), crs)
    infra = gpd.GeoDataFrame(
        {"barrier_class": ["partial barrier"] * 3, "seg": ["long", "on long", "cross"]},
        geometry=[LineString([(550, 0), (550, 900)]), LineString([(550, 500), (550, 900)]),
                  LineString([(200, 450), (900, 450)])], crs=crs)
    pts = np.array([[50.0, 450.0], [1050.0, 450.0], [550.0, 50.0]])
    full = barrier_impact(base, infra, pts, group_column="seg", method="direct")
    part = barrier_impact(base, infra, pts, group_column="seg", evaluate=["long"],
                          method="direct")
    ref = burn_infrastructure(base, infra)
    assert np.nanmax(ref.values / base.values) == pytest.approx(10.0)  # x10 once
    np.testing.assert_allclose(full.reference, effective_resistance(ref, pts, method="direct"),
                               rtol=1e-10)
    np.testing.assert_array_equal(part.reference, full.reference)
    for seg in ("long", "on long", "cross"):
        rest = burn_infrastructure(base, infra[infra["seg"] != seg])
        np.testing.assert_allclose(full.resistances[seg],
                                   effective_resistance(rest, pts, method="direct"), rtol=1e-10)
    np.testing.assert_array_equal(part.resistances["long"], full.resistances["long"])
    assert full.table.loc["on long", "n_cells"] == 0


def test_direct_below_the_threshold_whatever_the_method():
    """At most DIRECT_MAX_CELLS cells: 'amg' gives the direct (exact) values."""
    rng = np.random.default_rng(3)
    r = rng.uniform(1, 10, (15, 17))
    masks = {"g": np.zeros(r.shape, bool)}
    masks["g"][3:12, 8] = True
    pts = _pts([[0, 0], [14, 16], [7, 2]])
    amg = barrier_impact(_grid(r), masks, pts, barrier_resistance=40.0, method="amg")
    direct = barrier_impact(_grid(r), masks, pts, barrier_resistance=40.0, method="direct")
    np.testing.assert_array_equal(amg.reference, direct.reference)
    np.testing.assert_array_equal(amg.resistances["g"], direct.resistances["g"])
    assert r.size <= DIRECT_MAX_CELLS


def test_amg_above_the_threshold_matches_direct(monkeypatch):
    """Above DIRECT_MAX_CELLS (lowered here) the scenarios use AMG: its matrices are
    symmetric only to the tolerance, which the ECA's patch graph accepts; the ranking and
    gains match the direct solver."""
    import cami_atlas.connectivity.impact as impact

    rng = np.random.default_rng(11)
    r = np.exp(rng.normal(0, 1, (30, 34))).clip(1, 50)
    masks = {}
    for k, col in enumerate((8, 17, 25)):
        m = np.zeros(r.shape, bool)
        m[2 + 3 * k:28, col] = True
        masks[f"fence{k}"] = m
    pts = _pts([[1, 1], [28, 32], [15, 3], [3, 30]])
    areas = pd.Series([5.0, 3.0, 2.0, 4.0], index=[1, 2, 3, 4])
    kw = dict(barrier_resistance=30.0, attributes=areas, dispersal_distance=2.0)
    direct = barrier_impact(_grid(r), masks, pts, method="direct", **kw)
    monkeypatch.setattr(impact, "DIRECT_MAX_CELLS", 0)
    amg = barrier_impact(_grid(r), masks, pts, method="amg", **kw)
    assert not np.array_equal(amg.reference.to_numpy(), direct.reference.to_numpy())  # AMG ran
    np.testing.assert_allclose(amg.reference, direct.reference, rtol=1e-5)
    assert amg.table.index.tolist() == direct.table.index.tolist()
    np.testing.assert_allclose(amg.table["delta_eca"], direct.table["delta_eca"], rtol=1e-3)
    assert amg.reference_eca == pytest.approx(direct.reference_eca, rel=1e-6)


def test_errors():
    base = _grid(np.ones((2, 3)))
    pts = _pts([[0, 0], [1, 2]])
    with pytest.raises(OptionError, match="mode="):
        barrier_impact(base, {"a": np.ones((2, 3), bool)}, pts, mode="delete")  # type: ignore[arg-type]
    with pytest.raises(SchemaError, match="shape"):
        barrier_impact(base, {"a": np.ones((3, 3), bool)}, pts)
    with pytest.raises(SchemaError, match="boolean"):
        barrier_impact(base, {"a": np.ones((2, 3))}, pts)
    with pytest.raises(SchemaError, match="non-empty mapping"):
        barrier_impact(base, {}, pts)
    with pytest.raises(SchemaError, match="must be > 0"):
        barrier_impact(base, {"a": np.ones((2, 3), bool)}, pts, barrier_resistance=0)
    with pytest.raises(SchemaError, match="both attributes"):
        barrier_impact(base, {"a": np.ones((2, 3), bool)}, pts, attributes=pd.Series([1.0]))
    with pytest.raises(SchemaError, match="attributes lack cores"):
        barrier_impact(base, {"a": np.zeros((2, 3), bool)}, pts,
                       attributes=pd.Series([1.0], index=[1]), dispersal_distance=1.0)
    with pytest.raises(OptionError, match="how="):
        apply_barrier_masks(base, {"a": np.ones((2, 3), bool)}, how="add")  # type: ignore[arg-type]
    line = gpd.GeoDataFrame({"k": [1]}, geometry=[LineString([(0, 0), (1, -1)])])
    with pytest.raises(SchemaError, match="no column"):
        barrier_impact(base, line, pts, group_column="nope")
    with pytest.raises(SchemaError, match="empty"):
        barrier_impact(base, line.iloc[:0], pts)
    with pytest.raises(SchemaError, match="must return a Grid"):
        barrier_impact(base, line, pts, burn=lambda g, s: np.ones((2, 3)))
    masks = {"a": np.ones((2, 3), bool), "b": np.zeros((2, 3), bool)}
    with pytest.raises(SchemaError, match=r"not among the barriers: \['c'\]"):
        barrier_impact(base, masks, pts, evaluate=["a", "c"])
    with pytest.raises(SchemaError, match="evaluate is empty"):
        barrier_impact(base, masks, pts, evaluate=[])
    with pytest.raises(SchemaError, match="list of group ids"):
        barrier_impact(base, masks, pts, evaluate="a")
