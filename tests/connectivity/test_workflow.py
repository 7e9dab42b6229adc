"""run_connectivity / write_connectivity on a small SYNTHETIC atlas and on the default atlas.

The synthetic atlas (built in code) has a flat DEM (so the slope resistance is 1
everywhere), an argali range covering the window, a long railway that cuts the window
in two from north to south, a short railway in a corner, and a border line west of the
long railway. Expected values are computed independently in the tests: the ECA of two
patches by its formula, the resistances by hand.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import rasterio.features
import scipy.ndimage as ndi
from affine import Affine
from shapely import LineString, Point, box

from cami_atlas.atlas import Atlas
from cami_atlas.connectivity import burn_infrastructure, cost_distance, effective_resistance
from cami_atlas.connectivity.workflow import (
    MODES,
    auto_cores,
    output_names,
    run_connectivity,
    utm_crs,
    write_connectivity,
)
from cami_atlas.errors import (
    CRSError,
    LayerNotFoundError,
    OptionError,
    OutputExistsError,
    SchemaError,
    UnknownSpeciesError,
)
from cami_atlas.raster import Grid

KW = {"source": "synthetic test data", "licence": "CC0-1.0"}
BBOX = (74.0, 41.0, 75.0, 41.6)
CELL = 2000.0


def synthetic_atlas(*, dem: bool = True) -> Atlas:
    """SYNTHETIC atlas: flat 1000 m DEM lon 74-75, lat 41-41.6 (0.01° cells)."""
    atlas = Atlas("synthetic", region=box(73, 40, 76, 43))
    if dem:
        atlas.add_layer("dem", Grid(np.full((60, 100), 1000.0),
                                    Affine(0.01, 0, 74.0, 0, -0.01, 41.6), "EPSG:4326"),
                        "raster", **KW)
    atlas.add_layer("ranges", gpd.GeoDataFrame(
        {"species": ["Ovis_ammon"]}, geometry=[box(73.9, 40.9, 75.1, 41.7)], crs="EPSG:4326"),
        "species_range", **KW)
    atlas.add_layer("railways", gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway"], "track": ["single track", "single track"]},
        geometry=[LineString([(74.5, 40.9), (74.5, 41.7)]),
                  LineString([(74.9, 41.55), (74.98, 41.55)])], crs="EPSG:4326"),
        "infrastructure", **KW)
    atlas.add_layer("borders", gpd.GeoDataFrame(
        {"iso3_left": ["KGZ"], "iso3_right": ["CHN"]},
        geometry=[LineString([(74.25, 40.9), (74.25, 41.7)])], crs="EPSG:4326"), "border", **KW)
    return atlas


def two_points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["west", "east"]},
                            geometry=[Point(74.1, 41.3), Point(74.9, 41.3)], crs="EPSG:4326")


@pytest.fixture(scope="module")
def atlas() -> Atlas:
    return synthetic_atlas()


@pytest.fixture(scope="module")
def full(atlas):
    return run_connectivity(atlas, species="argali", bbox=BBOX, cell_size_m=CELL,
                            corridor_width=20_000, solver="direct")


# -- window, resistance, segments -------------------------------------------------------------
def test_window_crs_and_flat_resistance(full):
    assert full.species == "Ovis_ammon" and full.matrix_species == "Ovis_ammon"
    assert full.crs.to_epsg() == 32643 == utm_crs(74.5, 41.3).to_epsg()
    assert full.resistance.cell_size_m == CELL
    base = full.base_resistance.values
    finite = np.isfinite(base)
    # flat DEM: slope 0, resistance 1 (the encoding's minimum) everywhere inside the window
    assert np.allclose(base[finite], 1.0, atol=1e-9)
    # the window is ~84 km x 67 km: about (67/2) x (84/2) cells inside it
    assert finite.sum() == pytest.approx(83.9 * 66.7 / 4, rel=0.05)
    assert full.bbox == BBOX


def test_segments_classified_and_burned(full):
    seg = full.segments
    assert seg["segment_id"].tolist() == ["railways:0", "railways:1"]
    assert seg["barrier_class"].tolist() == ["partial barrier", "partial barrier"]  # matrix
    # clipped to the window: the long line is 0.6° of latitude = 66.6 km
    assert seg["length_km"].iloc[0] == pytest.approx(66.6, rel=0.01)
    assert seg.crs == full.crs
    r = full.resistance.values
    burned = np.isfinite(r) & (r > 1.5)
    # x10 (partial) on the burned cells, untouched elsewhere
    assert np.allclose(r[burned], 10.0)
    # the long line crosses the window from edge to edge (~33 rows of 2 km) and splits its
    # unburned cells into exactly two 8-connected parts (no diagonal leak)
    rows_hit = np.unique(np.nonzero(burned)[0])
    assert len(rows_hit) >= 31
    _, n_parts = ndi.label(np.isfinite(r) & ~burned, structure=np.ones((3, 3)))
    assert n_parts == 2


# -- cores ----------------------------------------------------------------------------------------
def test_auto_cores_rule(full):
    cores = full.cores
    assert cores["core_id"].tolist() == ["C1", "C2"]  # only two patches: west and east
    assert cores["n_cells"].iloc[0] >= cores["n_cells"].iloc[1]
    r = full.resistance.values
    unburned = np.isfinite(r) & (r < 1.5)
    assert cores["n_cells"].sum() == unburned.sum()
    x = cores.geometry.representative_point().x.to_numpy()
    line_x = full.segments.geometry.iloc[0].centroid.x
    assert (x[0] - line_x) * (x[1] - line_x) < 0  # one on each side of the railway
    # areas in ESRI:102025 ~ cells x 4 km2
    assert cores["area_km2"].to_numpy() == pytest.approx(cores["n_cells"].to_numpy() * 4.0,
                                                         rel=0.02)
    assert (cores["attribute"] == cores["area_km2"]).all()


def test_auto_cores_errors():
    g = Grid(np.ones((4, 4)), Affine(1000, 0, 0, 0, -1000, 4000), "EPSG:32643")
    with pytest.raises(SchemaError, match="only 1 low-resistance patch"):
        auto_cores(g, None)
    with pytest.raises(SchemaError, match="n_cores must be an integer >= 2"):
        auto_cores(g, None, n_cores=1)
    with pytest.raises(SchemaError, match="quantile must lie in"):
        auto_cores(g, None, quantile=0)
    with pytest.raises(SchemaError, match="min_cells must be >= 1"):
        auto_cores(g, None, min_cells=0)
    with pytest.raises(SchemaError, match="no passable cell"):
        auto_cores(g, box(10_000, 10_000, 20_000, 20_000))
    with pytest.raises(CRSError, match="lat/lon"):
        auto_cores(Grid(np.ones((4, 4)), Affine(1, 0, 0, 0, -1, 4), "EPSG:4326"), None)


def test_auto_cores_ties_and_limit():
    r = np.full((5, 9), 9.0)
    r[0:2, 0:2] = r[0:2, 3:5] = r[0:2, 7:9] = 1.0   # three 4-cell patches
    r[3:5, 0:3] = 1.0                                 # one 6-cell patch
    g = Grid(r, Affine(1000, 0, 0, 0, -1000, 5000), "EPSG:32643")
    out = auto_cores(g, None, n_cores=3, quantile=0.4)
    assert out["n_cells"].tolist() == [6, 4, 4]
    # ties broken by row-major order of the patches' first cells: (0,0) before (0,3)
    assert out.geometry.iloc[1].bounds == (0.0, 3000.0, 2000.0, 5000.0)
    assert out.geometry.iloc[2].bounds == (3000.0, 3000.0, 5000.0, 5000.0)


# -- modes vs direct calls and independent expectations ------------------------------------
def test_cost_distance_equals_direct_call(full):
    direct = cost_distance(full.resistance, full.cores, connectivity=8)
    np.testing.assert_array_equal(full.cost_distance.values, direct.values)
    cd = full.cost_distance.values
    assert np.nanmin(cd) == 0.0
    # a cell just across the railway from a core: crossing costs at least one step at 10
    assert np.nanmax(cd[np.isfinite(cd)]) >= 10 * CELL / 2


def test_corridors_and_pinch_points(full):
    pairs = full.corridors.pairs
    assert pairs[["core_a", "core_b"]].values.tolist() == [["C1", "C2"]]
    # the cores touch the railway from both sides: the cheapest crossing is two rook steps
    # core (1) -> railway (10) -> core (1), each (1 + 10) / 2 x 2000 m
    assert pairs["cost_distance"].iloc[0] == pytest.approx(2 * 5.5 * CELL)
    assert len(full.corridors.paths) == 1
    mosaic = full.corridors.mosaic.values
    assert np.nanmin(mosaic) == 0.0
    pinch = full.pinch_points.current.values
    in_core = rasterio.features.geometry_mask(
        full.cores.geometry, out_shape=mosaic.shape, transform=full.resistance.transform,
        invert=True)
    with np.errstate(invalid="ignore"):
        outside = np.isfinite(full.resistance.values) & ~(mosaic <= 20_000) & ~in_core
    assert outside.any()
    assert np.isnan(pinch[outside]).all()
    inside = ~np.isnan(pinch)
    assert (pinch[inside] >= 0).all() and pinch[inside].max() > 0


def test_effective_resistance_rises_with_the_barrier(atlas):
    kw = dict(species="argali", bbox=BBOX, cell_size_m=CELL, cores=two_points(),
              core_id_column="name", modes=("current",), solver="direct")
    without = run_connectivity(atlas, infrastructure=[], **kw)
    with_rail = run_connectivity(atlas, **kw)
    r0 = without.effective_resistance.loc["west", "east"]
    r1 = with_rail.effective_resistance.loc["west", "east"]
    # a x10 line one cell wide across ~34 rows adds ~0.1-0.26 (edges 5.5 instead of 1 in
    # series, rows in parallel, diagonals lower it): a clear but bounded rise
    assert 0.05 < r1 - r0 < 9 / 34
    assert without.segments.empty and without.impact is None
    # the workflow's matrix is effective_resistance on its own resistance grid
    pts = two_points().to_crs(with_rail.crs)
    direct = effective_resistance(with_rail.resistance, pts, id_column="name", method="direct")
    assert r1 == pytest.approx(direct.loc["west", "east"], rel=1e-9)


def _eca_two(a: np.ndarray, r: float, d: float) -> float:
    """ECA of two patches by its formula: sqrt(a1² + a2² + 2 a1 a2 p12), p = 0.5**(r/d)."""
    p = math.exp(math.log(0.5) / d * r) if np.isfinite(r) else 0.0
    return math.sqrt(a[0] ** 2 + a[1] ** 2 + 2 * a[0] * a[1] * p)


def test_patch_graph_indices_by_formula(full):
    a = full.cores["attribute"].to_numpy()
    r = full.effective_resistance.loc["C1", "C2"]
    d = full.indices["dispersal_distance"]
    assert d == pytest.approx(r)  # default: the median effective resistance (one pair)
    eca = _eca_two(a, r, d)
    assert full.indices["ECA"] == pytest.approx(eca, rel=1e-9)
    assert full.indices["PC"] == pytest.approx(eca**2 / full.indices["landscape_area_km2"] ** 2)
    # window area in an equal-area CRS, independently: 1° x 0.6° at lat 41.3
    assert full.indices["landscape_area_km2"] == pytest.approx(83.9 * 66.7, rel=0.01)
    assert list(full.core_importance.index) == ["C1", "C2"]
    assert full.link_importance[["core_a", "core_b"]].values.tolist() == [["C1", "C2"]]
    edges = full.patch_edges
    assert edges.crs == full.crs and len(edges) == 1
    assert edges["probability"].iloc[0] == pytest.approx(0.5)


def test_removing_top_segment_raises_eca_by_reported_amount(full):
    ranked = full.ranked_segments
    assert ranked["segment_id"].tolist() == ["railways:0", "railways:1"]
    assert ranked["rank"].tolist() == [1, 2] and ranked["impact_evaluated"].all()
    top = ranked.iloc[0]
    # scenario: the base with only the other segment burned in
    rest = full.segments[full.segments["segment_id"] != top["segment_id"]]
    scn = burn_infrastructure(full.base_resistance, rest)
    r = effective_resistance(scn, full.cores, id_column="core_id", method="direct")
    a = full.cores["attribute"].to_numpy()
    d = full.indices["dispersal_distance"]
    eca_without = _eca_two(a, r.loc["C1", "C2"], d)
    assert top["eca"] == pytest.approx(eca_without, rel=1e-6)
    assert top["delta_eca"] == pytest.approx(eca_without - full.indices["ECA"], rel=1e-6)
    assert top["delta_eca"] > 0
    assert ranked.iloc[1]["delta_eca"] < top["delta_eca"]


def test_impact_segment_selection(atlas):
    kw = dict(species="argali", bbox=BBOX, cell_size_m=CELL, solver="direct",
              modes=("corridors", "impact"), corridor_width=5_000)
    res = run_connectivity(atlas, impact_segments="corridors", **kw)
    ev = res.ranked_segments.set_index("segment_id")["impact_evaluated"]
    assert ev.to_dict() == {"railways:0": True, "railways:1": False}  # the corner one is off
    assert pd.isna(res.ranked_segments.set_index("segment_id").loc["railways:1", "rank"])
    assert any("1 of 2 segments" in n for n in res.notes)
    # impassable segments are always evaluated: no corridor crosses them
    res3 = run_connectivity(atlas, impact_segments="corridors",
                            borders_as_barriers="complete barrier", **kw)
    ev3 = res3.ranked_segments.set_index("segment_id")["impact_evaluated"].to_dict()
    assert ev3 == {"railways:0": True, "railways:1": False, "borders:CHN-KGZ:0": True}
    res2 = run_connectivity(atlas, impact_segments=["railways:1"], **kw)
    assert res2.ranked_segments["impact_evaluated"].tolist() == [True, False]
    with pytest.raises(OptionError, match="unknown segment ids"):
        run_connectivity(atlas, impact_segments=["railways:7"], **kw)
    with pytest.raises(OptionError, match="needs the 'corridors' mode"):
        run_connectivity(atlas, impact_segments="corridors", **dict(kw, modes=("impact",)))


def shared_cells_atlas() -> Atlas:
    """SYNTHETIC: the synthetic atlas plus a short railway lying on the long one's cells
    (lat 41.5-41.6, same longitude: every one of its cells is also a cell of railways:0)
    and a long one crossing it at lat 41.3 (one shared cell)."""
    atlas = synthetic_atlas()
    atlas.add_layer("spurs", gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway"], "track": ["single track", "single track"]},
        geometry=[LineString([(74.5, 41.5), (74.5, 41.6)]),
                  LineString([(74.3, 41.3), (74.7, 41.3)])], crs="EPSG:4326"),
        "infrastructure", **KW)
    return atlas


def test_impact_reference_and_gains_do_not_depend_on_the_segments_evaluated():
    """Segments sharing cells: the reference is the run's resistance (each cell burned
    once, x10) whichever segments are evaluated, and a segment's gain is the same in the
    'corridors', explicit-list and 'all' modes, equal to an independent recomputation
    from the segments that remain."""
    atlas = shared_cells_atlas()
    kw = dict(species="argali", bbox=BBOX, cell_size_m=CELL, cores=two_points(),
              core_id_column="name", solver="direct", corridor_width=5_000,
              modes=("corridors", "patch_graph", "impact"))
    every = run_connectivity(atlas, impact_segments="all", **kw)
    narrow = run_connectivity(atlas, impact_segments="corridors", **kw)
    listed = run_connectivity(atlas, impact_segments=["railways:0"], **kw)
    assert set(every.segments["segment_id"]) == {"railways:0", "railways:1", "spurs:0",
                                                 "spurs:1"}
    r = every.resistance.values
    assert np.nanmax(r) == pytest.approx(10.0)  # shared cells x10, not x100
    ev = narrow.ranked_segments.set_index("segment_id")["impact_evaluated"].to_dict()
    # the north spur (on railways:0's cells) is far from the corridor: not evaluated
    assert ev["railways:0"] and not ev["spurs:0"] and not ev["railways:1"]
    # the reference of every mode is the run's own resistance: same ECA as the patch graph
    for res in (every, narrow, listed):
        assert res.impact.reference_eca == pytest.approx(every.indices["ECA"], rel=1e-12)
        np.testing.assert_allclose(res.impact.reference, every.effective_resistance, rtol=1e-12)
    gains = {name: res.ranked_segments.set_index("segment_id")["delta_eca"]
             for name, res in (("all", every), ("corridors", narrow), ("list", listed))}
    for seg in (s for s, on in ev.items() if on):
        assert gains["corridors"][seg] == pytest.approx(gains["all"][seg], rel=1e-9)
    assert gains["list"]["railways:0"] == pytest.approx(gains["all"]["railways:0"], rel=1e-9)
    # independent: burn every other segment into the slope resistance, solve, ECA by formula
    d = every.indices["dispersal_distance"]
    for seg in ("railways:0", "spurs:0", "spurs:1"):
        rest = every.segments[every.segments["segment_id"] != seg]
        scn = burn_infrastructure(every.base_resistance, rest)
        r_scn = effective_resistance(scn, every.cores, id_column="core_id", method="direct")
        gain = _eca_two(np.ones(2), r_scn.loc["west", "east"], d) - every.indices["ECA"]
        assert gains["all"][seg] == pytest.approx(gain, rel=1e-6, abs=1e-12)
    # removing the spur that lies on railways:0 changes nothing: railways:0 keeps its cells
    assert gains["all"]["spurs:0"] == 0.0
    assert every.ranked_segments.set_index("segment_id").loc["spurs:0", "n_cells"] == 0
    assert gains["all"]["railways:0"] > 0


# -- borders ------------------------------------------------------------------------------------
def test_borders_only_when_asked(atlas, full):
    assert "border" not in set(full.segments["infra_type"])
    kw = dict(species="argali", bbox=BBOX, cell_size_m=CELL, cores=two_points(),
              core_id_column="name", modes=("current",), solver="direct")
    res = run_connectivity(atlas, borders_as_barriers="complete barrier",
                           border_pairs=["chn-kgz"], **kw)
    seg = res.segments.set_index("segment_id")
    assert seg.loc["borders:CHN-KGZ:0", "barrier_class"] == "complete barrier"
    assert np.isinf(res.effective_resistance.loc["west", "east"])  # fenced border: no crossing
    assert any("disconnected" in n for n in res.notes)
    assert any("burned in as 'complete barrier'" in n for n in res.notes)
    wild = run_connectivity(atlas, borders_as_barriers="complete barrier",
                            border_pairs=["chn-*"], **kw)
    assert wild.segments["segment_id"].tolist() == res.segments["segment_id"].tolist()
    every = run_connectivity(atlas, borders_as_barriers="complete barrier", **kw)
    assert any("all in the window: CHN-KGZ" in n for n in every.notes)
    with pytest.raises(OptionError, match=r"\['KAZ-\*'\] have no line"):
        run_connectivity(atlas, borders_as_barriers="complete barrier", border_pairs=["KAZ-*"],
                         **kw)
    partial = run_connectivity(atlas, borders_as_barriers="partial barrier", **kw)
    r_partial = partial.effective_resistance.loc["west", "east"]
    rail_only = run_connectivity(atlas, **kw).effective_resistance.loc["west", "east"]
    assert np.isfinite(r_partial) and r_partial > rail_only
    with pytest.raises(OptionError, match=r"pairs present: \['CHN-KGZ'\]"):
        run_connectivity(atlas, borders_as_barriers="complete barrier", border_pairs=["CHN-KAZ"],
                         **kw)
    with pytest.raises(OptionError, match="two ISO3 codes"):
        run_connectivity(atlas, borders_as_barriers="complete barrier", border_pairs=["CHN"],
                         **kw)
    with pytest.raises(OptionError, match="'complete barrier'"):
        run_connectivity(atlas, borders_as_barriers="fenced", **kw)


# -- user cores -----------------------------------------------------------------------------------
def test_user_cores_file_and_attribute(atlas, tmp_path):
    polys = gpd.GeoDataFrame({"name": ["a", "b"], "quality": [2.0, 3.0]},
                             geometry=[box(74.05, 41.2, 74.15, 41.3),
                                       box(74.8, 41.2, 74.9, 41.3)], crs="EPSG:4326")
    path = tmp_path / "cores.gpkg"
    polys.to_crs("EPSG:3857").to_file(path)  # another CRS: reprojected by the workflow
    res = run_connectivity(atlas, species="Ovis ammon", bbox=BBOX, cell_size_m=CELL,
                           cores=path, core_id_column="name", solver="direct",
                           modes=("patch_graph",))
    assert res.cores["core_id"].tolist() == ["a", "b"]
    assert res.cores.crs == res.crs
    assert res.cores["area_km2"].to_numpy() == pytest.approx(
        polys.to_crs("ESRI:102025").area.to_numpy() / 1e6, rel=1e-3)
    res2 = run_connectivity(atlas, species="argali", bbox=BBOX, cell_size_m=CELL, cores=polys,
                            core_attribute_column="quality", solver="direct",
                            modes=("patch_graph",))
    assert res2.cores["core_id"].tolist() == ["C1", "C2"]
    r = res2.effective_resistance.iloc[0, 1]
    assert res2.indices["ECA"] == pytest.approx(
        _eca_two(np.array([2.0, 3.0]), r, res2.indices["dispersal_distance"]))
    # points: attribute 1 each
    pts = run_connectivity(atlas, species="argali", bbox=BBOX, cell_size_m=CELL,
                           cores=two_points(), solver="direct", modes=("patch_graph",))
    assert pts.cores["attribute"].tolist() == [1.0, 1.0]


def test_user_cores_errors(atlas):
    kw = dict(species="argali", bbox=BBOX, cell_size_m=CELL, modes=("cost_distance",))
    far = gpd.GeoDataFrame(geometry=[Point(74.1, 41.3), Point(80, 41.3)], crs="EPSG:4326")
    with pytest.raises(SchemaError, match=r"core\(s\) \['C2'\] lie outside the analysis window"):
        run_connectivity(atlas, cores=far, **kw)
    with pytest.raises(SchemaError, match="at least 2 cores"):
        run_connectivity(atlas, cores=two_points().iloc[:1], **kw)
    with pytest.raises(SchemaError, match="no column 'nope'"):
        run_connectivity(atlas, cores=two_points(), core_id_column="nope", **kw)
    dup = two_points().assign(name="x")
    with pytest.raises(SchemaError, match="unique"):
        run_connectivity(atlas, cores=dup, core_id_column="name", **kw)
    lines = gpd.GeoDataFrame(geometry=[LineString([(74.1, 41.3), (74.2, 41.3)])] * 2,
                             crs="EPSG:4326")
    with pytest.raises(SchemaError, match="polygons or points"):
        run_connectivity(atlas, cores=lines, **kw)
    with pytest.raises(CRSError, match="no CRS"):
        run_connectivity(atlas, cores=two_points().set_crs(None, allow_override=True), **kw)
    with pytest.raises(SchemaError, match="GeoDataFrame or a vector file path"):
        run_connectivity(atlas, cores=[(74.1, 41.3)], **kw)


# -- species and option errors ------------------------------------------------------------------
def test_species_resolution_and_errors(atlas):
    kw = dict(bbox=BBOX, cell_size_m=CELL, modes=("cost_distance",))
    with pytest.raises(UnknownSpeciesError, match=r"'unicorn'.*Species with ranges in the "
                       r"atlas: Ovis_ammon\..*Panthera_uncia"):
        run_connectivity(atlas, species="unicorn", **kw)
    with pytest.raises(UnknownSpeciesError, match="has no range in the atlas"):
        run_connectivity(atlas, species="snow leopard", **kw)
    # with user cores a matrix species without a range works
    res = run_connectivity(atlas, species="snow leopard", cores=two_points(), **kw)
    assert res.matrix_species == "Panthera_uncia"
    assert res.species == "Panthera_uncia"
    # a range species the matrix does not rate: every segment 'unknown', with a note
    rng = synthetic_atlas()
    rng.add_layer("kiang", gpd.GeoDataFrame({"species": ["Equus_kiang"]},
                                            geometry=[box(73.9, 40.9, 75.1, 41.7)],
                                            crs="EPSG:4326"), "species_range", **KW)
    kiang = run_connectivity(rng, species="Equus kiang", **kw)
    assert kiang.matrix_species is None
    assert set(kiang.segments["barrier_class"]) == {"unknown"}
    assert any("not rated" in n for n in kiang.notes)


def test_option_errors(atlas):
    kw = dict(species="argali", cell_size_m=CELL, modes=("cost_distance",))
    with pytest.raises(OptionError, match=r"lies outside the DEM 'dem', which covers lon "
                       r"74\.0000\.\.75\.0000"):
        run_connectivity(atlas, bbox=(10, 10, 20, 20), **kw)
    with pytest.raises(OptionError, match="four numbers"):
        run_connectivity(atlas, bbox="74,41,75", **kw)
    with pytest.raises(OptionError, match="lon0 < lon1"):
        run_connectivity(atlas, bbox=(75, 41, 74, 42), **kw)
    with pytest.raises(OptionError, match="holds only"):
        run_connectivity(atlas, bbox=(74.0, 41.0, 74.02, 41.02), **kw)
    with pytest.raises(OptionError, match=r"modes='flow'.*'cost_distance'"):
        run_connectivity(atlas, bbox=BBOX, species="argali", modes=("flow",))
    with pytest.raises(OptionError, match="neighbours=6"):
        run_connectivity(atlas, bbox=BBOX, neighbours=6, **kw)
    with pytest.raises(OptionError, match="solver='cg'"):
        run_connectivity(atlas, bbox=BBOX, solver="cg", **kw)
    with pytest.raises(OptionError, match="burn_method='thick'"):
        run_connectivity(atlas, bbox=BBOX, burn_method="thick", **kw)
    with pytest.raises(OptionError, match="cell_size_m must be a positive"):
        run_connectivity(atlas, bbox=BBOX, species="argali", cell_size_m=-5)
    with pytest.raises(OptionError, match="corridor_width must be a positive"):
        run_connectivity(atlas, bbox=BBOX, corridor_width=0, **kw)
    with pytest.raises(OptionError, match="crs must be projected"):
        run_connectivity(atlas, bbox=BBOX, crs="EPSG:4326", **kw)
    with pytest.raises(OptionError, match="impact_segments='some'"):
        run_connectivity(atlas, bbox=BBOX, impact_segments="some", **kw)
    with pytest.raises(LayerNotFoundError, match="no layer 'roads'; infrastructure layers: "
                       "railways"):
        run_connectivity(atlas, bbox=BBOX, infrastructure=["roads"], **kw)
    with pytest.raises(OptionError, match="of kind 'border', not 'infrastructure'"):
        run_connectivity(atlas, bbox=BBOX, infrastructure=["borders"], **kw)
    with pytest.raises(LayerNotFoundError, match="no raster layer 'dem'"):
        run_connectivity(synthetic_atlas(dem=False), bbox=BBOX, **kw)
    noborder = synthetic_atlas()
    noborder.remove_layer("borders")
    with pytest.raises(LayerNotFoundError, match="no 'border' layer"):
        run_connectivity(noborder, bbox=BBOX, borders_as_barriers="partial barrier", **kw)


def test_bbox_clipped_to_dem_and_string_form(atlas):
    res = run_connectivity(atlas, species="argali", bbox="73.5,40.5,74.6,41.6",
                           cell_size_m=CELL, modes=("cost_distance",))
    assert res.bbox == (74.0, 41.0, 74.6, 41.6)
    assert any("bbox clipped to the DEM" in n for n in res.notes)
    assert res.cost_distance is not None and res.corridors is None and res.indices is None


# -- writing ----------------------------------------------------------------------------------------
def test_write_connectivity(full, tmp_path):
    out = tmp_path / "conn"
    written = write_connectivity(full, out)
    names = sorted(p.name for p in written)
    assert names == sorted(output_names(full))
    assert set(names) == {
        "resistance.tif", "cost_distance.tif", "corridors.tif", "current.tif",
        "pinch_points.tif", "connectivity.gpkg", "connectivity_indices.csv",
        "core_importance.csv", "link_importance.csv", "barrier_impact.csv",
        "effective_resistance.csv", "corridor_pairs.csv", "connectivity_parameters.json"}
    with rasterio.open(out / "cost_distance.tif") as ds:
        assert ds.crs.to_epsg() == 32643
        assert (ds.height, ds.width) == full.resistance.shape
        assert ds.transform.almost_equals(full.resistance.transform)
        data = ds.read(1, masked=True)
    np.testing.assert_allclose(data.filled(np.nan), full.cost_distance.values.astype("float32"))
    layers = [n for n, _ in pyogrio.list_layers(out / "connectivity.gpkg")]
    assert layers == ["cores", "least_cost_paths", "patch_graph_edges", "barrier_segments"]
    segs = gpd.read_file(out / "connectivity.gpkg", layer="barrier_segments")
    assert segs["segment_id"].tolist() == ["railways:0", "railways:1"]
    assert segs.crs.to_epsg() == 32643
    idx = pd.read_csv(out / "connectivity_indices.csv").set_index("index")["value"]
    assert idx["ECA"] == pytest.approx(full.indices["ECA"])
    impact = pd.read_csv(out / "barrier_impact.csv")
    assert impact["rank"].tolist() == [1, 2]
    er = pd.read_csv(out / "effective_resistance.csv", index_col=0)
    assert er.loc["C1", "C2"] == pytest.approx(full.effective_resistance.loc["C1", "C2"])
    # refusal without overwrite: nothing changes
    before = (out / "resistance.tif").stat().st_mtime_ns
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        write_connectivity(full, out)
    assert (out / "resistance.tif").stat().st_mtime_ns == before
    assert len(write_connectivity(full, out, overwrite=True)) == len(names)


def test_modes_constant():
    assert MODES == ("cost_distance", "corridors", "current", "patch_graph", "impact")


def test_workflow_names_are_exported_from_the_package():
    import cami_atlas.connectivity as pkg
    from cami_atlas.connectivity import workflow

    for name in workflow.__all__:
        assert name in pkg.__all__
        assert getattr(pkg, name) is getattr(workflow, name)
    assert {"run_connectivity", "write_connectivity", "ConnectivityResult", "auto_cores",
            "utm_crs", "output_names"} <= set(workflow.__all__)
    assert pkg.run_connectivity is run_connectivity and pkg.utm_crs is utm_crs


# -- default (real) atlas -----------------------------------------------------------------------------
def test_default_atlas_coarse_real_dem():
    """GEBCO 1' Tian Shan window at 10 km cells: UTM 43N, Issyk-Kul's flat lake surface
    (1,600 m, PROVENANCE §5) has the minimum resistance 1, the snow leopard's barriers come
    from the NE railways."""
    res = run_connectivity(species="snow leopard", bbox=(74, 41, 80, 43.5), cell_size_m=10_000,
                           infrastructure=["railways"], modes=("cost_distance",))
    assert res.species == "Panthera_uncia" and res.crs.to_epsg() == 32643
    assert set(res.segments["layer"]) == {"railways"}
    assert set(res.segments["barrier_class"]) <= {"partial barrier", "unknown"}
    base = res.base_resistance
    pt = gpd.GeoSeries([Point(77.3, 42.45)], crs="EPSG:4326").to_crs(base.crs)  # Issyk-Kul
    r, c = base.rowcol(pt.x.to_numpy(), pt.y.to_numpy())
    lake = base.values[r[0], c[0]]
    assert lake == pytest.approx(1.0, abs=1e-6)
    assert np.nanquantile(base.values, 0.5) > 2.0  # the Tian Shan around it is steep
    assert np.nanmax(base.values) > 5.0
    assert len(res.cores) >= 2


def test_default_atlas_china_borders_cut_off_only_when_all_listed():
    """Real NE borders: fencing China's borders with KAZ, KGZ and TJK still leaves a way
    round through the Wakhan (AFG-CHN, CHN-PAK); 'CHN-*' closes every one of them."""
    pts = gpd.GeoDataFrame({"n": ["Kashgar", "Naryn"]},
                           geometry=[Point(76.0, 39.4), Point(76.0, 41.4)], crs="EPSG:4326")
    kw = dict(species="argali", bbox=(69, 36.4, 81, 44.7), cell_size_m=10_000,
              infrastructure=[], cores=pts, core_id_column="n", modes=("current",),
              solver="direct", borders_as_barriers="complete barrier")
    three = run_connectivity(border_pairs=["CHN-KAZ", "CHN-KGZ", "CHN-TJK"], **kw)
    assert np.isfinite(three.effective_resistance.loc["Kashgar", "Naryn"])
    every = run_connectivity(border_pairs=["CHN-*"], **kw)
    assert np.isinf(every.effective_resistance.loc["Kashgar", "Naryn"])
    assert {s.split(":")[1] for s in every.segments["segment_id"]} == {
        "AFG-CHN", "CHN-KAZ", "CHN-KGZ", "CHN-PAK", "CHN-TJK"}


def test_amg_matches_direct(atlas, full):
    """The default AMG solver gives the direct solver's indices and impact ranking."""
    amg = run_connectivity(atlas, species="argali", bbox=BBOX, cell_size_m=CELL,
                           corridor_width=20_000, solver="amg")
    r = amg.effective_resistance.to_numpy()
    assert np.array_equal(r, r.T)
    np.testing.assert_allclose(r, full.effective_resistance.to_numpy(), rtol=1e-5)
    assert amg.indices["ECA"] == pytest.approx(full.indices["ECA"], rel=1e-5)
    a, d = amg.ranked_segments, full.ranked_segments
    assert a["segment_id"].tolist() == d["segment_id"].tolist()
    np.testing.assert_allclose(a["delta_eca"], d["delta_eca"], rtol=1e-4)


@pytest.mark.parametrize("solver", ["amg", "mixed"])
def test_iterative_solvers_match_direct(atlas, solver):
    kw = dict(species="argali", bbox=BBOX, cell_size_m=CELL, cores=two_points(),
              core_id_column="name", modes=("current",))
    exact = run_connectivity(atlas, solver="direct", **kw)
    approx = run_connectivity(atlas, solver=solver, **kw)
    r_exact = exact.effective_resistance.loc["west", "east"]
    assert approx.effective_resistance.loc["west", "east"] == pytest.approx(r_exact, rel=1e-5)
