"""The named steps of run_connectivity, each on a small SYNTHETIC case solved by hand.

Grids are in UTM 43N with 1 km cells (``T``: cell (row, col) has its centre at
x = 1000 col + 500, y = top - 1000 row - 500); uniform resistance 1, so an edge between
4-neighbours has conductance 1 and a straight row of n + 1 cells is n unit resistors in
series.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from shapely import LineString, Point, box

from cami_atlas.atlas import Atlas
from cami_atlas.connectivity import least_cost_corridors
from cami_atlas.connectivity import workflow as wf
from cami_atlas.errors import LayerNotFoundError, OptionError, SchemaError
from cami_atlas.raster import Grid

UTM = "EPSG:32643"
KW = {"source": "synthetic test data", "licence": "CC0-1.0"}


def _grid(rows: int, cols: int, values: float = 1.0) -> Grid:
    return Grid(np.full((rows, cols), values), Affine(1000, 0, 0, 0, -1000, rows * 1000), UTM)


def _centre(grid: Grid, row: int, col: int) -> Point:
    x, y = grid.transform * (col + 0.5, row + 0.5)
    return Point(x, y)


def _cores(grid: Grid, cells: list[tuple[int, int]], ids=("A", "B")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"core_id": list(ids)},
                            geometry=[_centre(grid, r, c) for r, c in cells], crs=UTM)


def _segments(lines, classes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"segment_id": [f"rail:{k}" for k in range(len(lines))],
                             "barrier_class": classes}, geometry=lines, crs=UTM)


@pytest.fixture(scope="module")
def atlas() -> Atlas:
    """SYNTHETIC: a flat 500 m DEM over lon 74-75, lat 41-41.6 (0.02° cells), argali range."""
    a = Atlas("steps", region=box(73, 40, 76, 43))
    a.add_layer("dem", Grid(np.full((30, 50), 500.0), Affine(0.02, 0, 74.0, 0, -0.02, 41.6),
                            "EPSG:4326"), "raster", **KW)
    a.add_layer("ranges", gpd.GeoDataFrame({"species": ["Ovis_ammon"]},
                                           geometry=[box(74, 41, 75, 41.6)], crs="EPSG:4326"),
                "species_range", **KW)
    return a


# -- 0. options -------------------------------------------------------------------------------
def test_check_options():
    ok = dict(modes=["current"], neighbours=8, solver="mixed", burn_method="all_touched",
              borders_as_barriers=None, cell_size_m=1000.0, max_cost_distance=None,
              corridor_width=None, dispersal_distance=None, impact_segments="all")
    assert wf._check_options(**ok) == ("current",)
    with pytest.raises(OptionError, match="'amg', 'direct', 'mixed'"):
        wf._check_options(**{**ok, "solver": "cg"})
    with pytest.raises(OptionError, match="cell_size_m must be a positive number"):
        wf._check_options(**{**ok, "cell_size_m": 0.0})
    with pytest.raises(OptionError, match="corridor_width must be a positive number"):
        wf._check_options(**{**ok, "corridor_width": -5.0})
    with pytest.raises(OptionError, match="needs the 'corridors' mode"):
        wf._check_options(**{**ok, "modes": ["impact"], "impact_segments": "corridors"})


# -- 1. species and window --------------------------------------------------------------------
def test_select_species(atlas):
    notes: list[str] = []
    assert wf._select_species(atlas, "argali", matrix=None, dem="dem", need_range=True,
                              notes=notes) == ("Ovis_ammon", "Ovis_ammon")
    assert notes == []
    with pytest.raises(LayerNotFoundError, match="no raster layer 'srtm'; raster layers: dem"):
        wf._select_species(atlas, "argali", matrix=None, dem="srtm", need_range=True,
                           notes=notes)


def test_select_window_clips_to_the_dem_and_picks_the_utm_zone(atlas):
    dem = atlas.read("dem")
    notes: list[str] = []
    bbox, window, crs = wf._select_window(dem, (73.5, 41.1, 74.5, 41.5), None, dem="dem",
                                          notes=notes)
    assert bbox == pytest.approx((74.0, 41.1, 74.5, 41.5))
    assert notes == ["bbox clipped to the DEM: (74.0, 41.1, 74.5, 41.5)."]
    assert crs.to_epsg() == 32643  # lon 74.25: zone floor(254.25 / 6) + 1 = 43
    assert window.bounds == pytest.approx((74.0, 41.1, 74.5, 41.5))
    with pytest.raises(OptionError, match="lies outside the DEM 'dem'"):
        wf._select_window(dem, (70, 41, 71, 42), None, dem="dem", notes=[])
    with pytest.raises(OptionError, match="crs must be projected"):
        wf._select_window(dem, None, "EPSG:4326", dem="dem", notes=[])


# -- 2. resistance ----------------------------------------------------------------------------
def test_base_resistance_of_a_flat_dem_is_one_inside_the_window(atlas):
    dem = atlas.read("dem")
    bbox, window, crs = wf._select_window(dem, (74.0, 41.1, 74.5, 41.5), None, dem="dem",
                                          notes=[])
    base = wf._base_resistance(dem, bbox, window, crs, cell_size_m=5000.0,
                               max_resistance=100.0, exponent=1.0, impassable_above_deg=None)
    assert base.crs.to_epsg() == 32643 and base.cell_size_m == 5000.0
    inside = np.isfinite(base.values)
    assert (base.values[inside] == pytest.approx(1.0)) and (~inside).any()
    # the cells inside cover the window: its area / 25 km² per cell, to a cell's width
    n_expected = wf._landscape_area_km2(window) / 25.0
    assert abs(inside.sum() - n_expected) < 0.2 * n_expected
    with pytest.raises(OptionError, match="holds only"):
        wf._base_resistance(dem, bbox, window, crs, cell_size_m=40_000.0,
                            max_resistance=100.0, exponent=1.0, impassable_above_deg=None)


def test_burn_barriers_burns_known_segments_into_known_cells():
    base = _grid(4, 5)
    segs = _segments([LineString([(2500, -100), (2500, 4100)]),   # down column 2
                      LineString([(3100, 500), (4900, 500)])],    # row 3, columns 3-4
                     ["complete barrier", "partial barrier"])
    r = wf._burn_barriers(base, segs, barrier_table=None, burn_method="four_neighbour")
    expect = np.ones((4, 5))
    expect[:, 2] = np.inf
    expect[3, 3:] = 10.0  # partial barrier: x10 by default
    np.testing.assert_array_equal(r.values, expect)
    assert r.name == "resistance" and (base.values == 1).all()  # base untouched
    r = wf._burn_barriers(base, segs, barrier_table={"complete barrier": 5.0,
                                                     "partial barrier": 2.0},
                          burn_method="four_neighbour")
    assert r.values[0, 2] == 5.0 and r.values[3, 4] == 2.0
    empty = wf._burn_barriers(base, segs.iloc[:0], barrier_table=None,
                              burn_method="four_neighbour")
    np.testing.assert_array_equal(empty.values, base.values)
    assert empty.values is not base.values and empty.name == "resistance"


# -- 4. cores ----------------------------------------------------------------------------------
def test_choose_cores_user_points_get_attribute_one(atlas):
    grid = _grid(3, 5)
    pts = gpd.GeoDataFrame({"name": ["w", "e"], "q": [2.0, 3.0]},
                           geometry=[_centre(grid, 1, 0), _centre(grid, 1, 4)], crs=UTM)
    opts = dict(species="Ovis_ammon", n_cores=6, quantile=0.25, min_cells=4)
    cores = wf._choose_cores(atlas, grid, pts, id_column="name", attribute_column=None, **opts)
    assert cores["core_id"].tolist() == ["w", "e"]
    assert cores["attribute"].tolist() == [1.0, 1.0] and cores["n_cells"].tolist() == [1, 1]
    cores = wf._choose_cores(atlas, grid, pts, id_column=None, attribute_column="q", **opts)
    assert cores["core_id"].tolist() == ["C1", "C2"] and cores["attribute"].tolist() == [2, 3]
    with pytest.raises(SchemaError, match="at least 2 cores are needed; got 1"):
        wf._choose_cores(atlas, grid, pts.iloc[:1], id_column=None, attribute_column=None,
                         **opts)


def test_choose_cores_auto_splits_the_range_at_a_wall(atlas):
    # flat range cut by an impassable column: two patches, their area as attribute
    dem = atlas.read("dem")
    bbox, window, crs = wf._select_window(dem, None, None, dem="dem", notes=[])
    base = wf._base_resistance(dem, bbox, window, crs, cell_size_m=10_000.0,
                               max_resistance=100.0, exponent=1.0, impassable_above_deg=None)
    values = base.values.copy()
    values[:, values.shape[1] // 2] = np.inf
    grid = base.with_values(values)
    cores = wf._choose_cores(atlas, grid, "auto", species="Ovis_ammon", n_cores=6,
                             quantile=0.25, min_cells=4, id_column=None, attribute_column=None)
    assert cores["core_id"].tolist() == ["C1", "C2"]
    assert cores["n_cells"].sum() == np.isfinite(values).sum()
    np.testing.assert_allclose(cores["attribute"], cores["area_km2"])
    # each patch is about its cells x 100 km² (equal-area vs UTM: within 1 %)
    np.testing.assert_allclose(cores["area_km2"], cores["n_cells"] * 100.0, rtol=0.01)


# -- 5. circuit -------------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["direct", "mixed"])
def test_circuit_resistances_of_a_row_are_the_series_sum(solver):
    grid = _grid(1, 4)
    focal = _cores(grid, [(0, 0), (0, 3)])
    opts = {"neighbours": 4, "method": solver, "id_column": "core_id"}
    notes: list[str] = []
    current, r = wf._circuit_resistances(grid, focal, current=True, circuit_opts=opts,
                                         notes=notes)
    assert r.loc["A", "B"] == pytest.approx(3.0, rel=1e-6)  # 3 unit edges in series
    assert (r.to_numpy() == r.to_numpy().T).all() and list(r.index) == ["A", "B"]
    np.testing.assert_allclose(current.current.values, [[1.0, 1.0, 1.0, 1.0]], rtol=1e-6)
    none, r2 = wf._circuit_resistances(grid, focal, current=False, circuit_opts=opts,
                                       notes=notes)
    assert none is None and r2.loc["B", "A"] == pytest.approx(3.0, rel=1e-6)
    assert notes == []


def test_circuit_resistances_note_a_wall():
    grid = _grid(3, 5)
    values = grid.values.copy()
    values[:, 2] = np.inf
    notes: list[str] = []
    _, r = wf._circuit_resistances(grid.with_values(values), _cores(grid, [(1, 0), (1, 4)]),
                                   current=False, notes=notes,
                                   circuit_opts={"neighbours": 8, "method": "direct",
                                                 "id_column": "core_id"})
    assert np.isinf(r.loc["A", "B"])
    assert len(notes) == 1 and notes[0].startswith("circuit: the focal nodes fall in 2 ")


def test_default_dispersal_distance_is_the_median_resistance():
    r = pd.DataFrame([[0, 1, 3], [1, 0, 2], [3, 2, 0.0]])
    notes: list[str] = []
    assert wf._default_dispersal_distance(r, notes) == 2.0 and notes == []
    inf = pd.DataFrame([[0, np.inf], [np.inf, 0.0]])
    assert wf._default_dispersal_distance(inf, notes) == 1.0
    assert notes == ["No two cores are connected: PC/ECA hold only the cores themselves."]


def test_pinch_point_current_in_a_one_row_corridor():
    # uniform 3 x 5 grid, cores at both ends of the middle row: the only least-cost path
    # is the straight row, so a 1-unit corridor width keeps that row alone and the whole
    # 1 A flows through each of its cells (4 unit resistors in series)
    grid = _grid(3, 5)
    focal = _cores(grid, [(1, 0), (1, 4)])
    corridors = least_cost_corridors(grid, focal, id_column="core_id", connectivity=8)
    opts = {"neighbours": 8, "method": "direct", "id_column": "core_id"}
    notes: list[str] = []
    assert wf._pinch_point_current(grid, corridors, focal, corridor_width=None,
                                   circuit_opts=opts, notes=notes) is None
    assert notes == ["Pinch points skipped: they need corridor_width (--corridor-width-m)."]
    res = wf._pinch_point_current(grid, corridors, focal, corridor_width=1.0,
                                  circuit_opts=opts, notes=notes)
    np.testing.assert_allclose(res.current.values[1], 1.0, rtol=1e-9)
    assert np.isnan(res.current.values[[0, 2]]).all()
    assert res.resistances.loc["A", "B"] == pytest.approx(4.0)


# -- 6. patch graph ---------------------------------------------------------------------------
def test_patch_graph_indices_of_two_cores():
    # a = (1, 1), d = 1 at the dispersal distance 1 with p = 0.5: p12 = 0.5,
    # PC_num = 1 + 1 + 2 * 0.5 = 3, ECA = sqrt(3), PC = 3 / 10²
    grid = _grid(1, 4)
    cores = _cores(grid, [(0, 0), (0, 3)]).assign(attribute=[1.0, 1.0])
    r = pd.DataFrame([[0, 1.0], [1.0, 0]], index=["A", "B"], columns=["A", "B"])
    idx, core_imp, link_imp, edges = wf._patch_graph_indices(
        cores, r, dispersal_distance=1.0, probability=0.5, landscape_area_km2=10.0)
    assert idx["ECA"] == pytest.approx(math.sqrt(3))
    assert idx["PC"] == pytest.approx(0.03)
    assert idx["landscape_area_km2"] == 10.0 and idx["dispersal_distance"] == 1.0
    assert list(core_imp.index) == ["A", "B"]
    assert link_imp[["core_a", "core_b"]].values.tolist() == [["A", "B"]]
    assert edges["probability"].tolist() == pytest.approx([0.5])
    assert edges.crs.to_epsg() == 32643 and edges.geometry.iloc[0].length == 3000.0


# -- 7. barrier impact ------------------------------------------------------------------------
def test_segment_impact_ranks_the_wall_first():
    # a wall (complete barrier) down column 3 cuts the cores apart; a partial barrier in a
    # corner is no way round: removing the wall reconnects them, removing the other nothing
    grid = _grid(3, 7)
    cores = _cores(grid, [(1, 0), (1, 6)]).assign(attribute=[1.0, 1.0])
    segs = _segments([LineString([(3500, -100), (3500, 3100)]),
                      LineString([(5100, 2500), (6900, 2500)])],
                     ["complete barrier", "partial barrier"])
    sizes: list[int] = []
    ticks: list[int] = []

    def ticker(n: int):
        sizes.append(n)
        return lambda: ticks.append(1)

    notes: list[str] = []
    opts = dict(corridors=None, corridor_width=None, barrier_table=None,
                burn_method="four_neighbour", dispersal_distance=3.0, probability=0.5,
                circuit_opts={"neighbours": 8, "method": "direct", "id_column": "core_id"},
                notes=notes)
    imp, ranked = wf._segment_impact(grid, segs, cores, impact_segments="all",
                                     ticker=ticker, **opts)
    assert list(imp.table.index) == ["rail:0", "rail:1"]
    assert sizes == [3] and len(ticks) == 3  # the reference and two scenarios
    assert ranked["segment_id"].tolist() == ["rail:0", "rail:1"]
    assert ranked["rank"].tolist() == [1, 2] and ranked["impact_evaluated"].all()
    gain = ranked.set_index("segment_id")["delta_eca"]
    assert gain["rail:0"] > 0 and gain["rail:1"] == pytest.approx(0.0, abs=1e-12)
    # the reference is disconnected: one note (the scenarios are solved quietly)
    assert len(notes) == 1 and notes[0].startswith("barrier impact: the focal nodes fall in 2")
    # one segment listed: the other stays burned in, unranked
    notes.clear()
    _, ranked = wf._segment_impact(grid, segs, cores, impact_segments=["rail:1"], **opts)
    assert ranked["impact_evaluated"].tolist() == [True, False]
    assert notes[0].startswith("Barrier impact computed for 1 of 2 segments")
    # nothing to do
    assert wf._segment_impact(grid, segs.iloc[:0], cores, impact_segments="all",
                              **opts) == (None, None)
    assert notes[-1] == "Barrier impact skipped: no barrier segment in the window."
    assert wf._segment_impact(grid, segs, cores, impact_segments=[], **opts) == (None, None)
    assert notes[-1].startswith("Barrier impact skipped: no barrier segment was selected")
    with pytest.raises(OptionError, match="unknown segment ids"):
        wf._segment_impact(grid, segs, cores, impact_segments=["road:9"], **opts)
