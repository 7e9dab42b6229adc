"""Tests of the named steps of screen_route (cami_atlas.screening.steps).

Each step gets a small synthetic input (named as such) whose answer is worked out by hand
or with pyproj.Geod; the last tests chain the steps by hand on the synthetic toy atlas of
conftest.py and compare with screen_route.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.barriers.matrix import _as_matrix
from cami_atlas.errors import UnknownSpeciesError
from cami_atlas.screening import screen_route
from cami_atlas.screening.screen import MESH_CHANGE_TOLERANCE, mesh_change_pct
from cami_atlas.screening.steps import (
    ScreeningLayers,
    annotate_segments,
    connectivity_change,
    corridor_crossing_points,
    corridor_traverses,
    crossing_candidates,
    existing_barriers,
    fragmentation_change,
    local_projection,
    prepare_route,
    protected_area_table,
    range_shares,
    read_screening_layers,
    route_buffers,
    route_lengths,
    route_segments,
    screening_flags,
    segment_species,
    select_species,
    spacing_check,
    species_areas,
    species_summary,
    wgs84_outputs,
)

from .conftest import ROUTE_LON

GEOD = Geod(ellps="WGS84")
EA = "ESRI:102025"  # equal-area CRS of the areas (metres)
MATRIX = _as_matrix(None)
SQUARE = box(0, 0, 10_000, 10_000)  # 100 km² (synthetic)


def _none(crs=EA) -> dict:
    return gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=crs)


def _classes(**by_species: str) -> pd.DataFrame:
    return pd.DataFrame({"matrix_species": list(by_species), "class_line": "x",
                         "class_fence": "x", "barrier_class": list(by_species.values())},
                        index=list(by_species))


def _layers(range_polys: dict, corridor_polys: dict | None = None, **frames) -> ScreeningLayers:
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    return ScreeningLayers(
        frames.get("ranges", empty), frames.get("corridors", empty),
        frames.get("protected_areas", empty), frames.get("countries", empty),
        gpd.GeoSeries(list(range_polys.values()), index=list(range_polys), crs=EA),
        gpd.GeoSeries(list((corridor_polys or {}).values()), index=list(corridor_polys or {}),
                      crs=EA), [])


# ---------------------------------------------------------------- 1. prepare the route


def test_prepare_route_crs_and_outside_note(toy_atlas, toy_route):
    route_in, route_a, route_ll, notes = prepare_route(toy_route, toy_atlas)
    assert route_a.crs == toy_atlas.analysis_crs
    assert route_ll.crs.to_epsg() == 4326
    assert notes == []
    assert route_in.crs == toy_route.crs
    far = gpd.GeoDataFrame(geometry=[LineString([(65, 49), (65, 52)])], crs="EPSG:4326")
    assert "outside the atlas region" in prepare_route(far, toy_atlas)[3][0]


def test_route_buffers_area_and_scale_error():
    # synthetic 10 km line through the centre of its own AEQD projection
    line_ll = gpd.GeoDataFrame(geometry=[LineString([(65, 44.955), (65, 45.045)])],
                               crs="EPSG:4326")
    local, route_local = local_projection(line_ll, line_ll.geometry)
    assert local.srs.startswith("+proj=aeqd +lat_0=45.000000 +lon_0=65.000000")
    bufs, err = route_buffers(route_local, (1, 2), local)
    length_km = route_local.length.iloc[0] / 1000
    polygon = 32 * math.sin(2 * math.pi / 64)  # 64-gon of unit radius (16 per quarter)
    for d, area in zip((1, 2), bufs.area / 1e6, strict=True):
        assert area == pytest.approx(2 * d * length_km + polygon * d ** 2, rel=1e-9)
    c = (length_km / 2 + 2) / 6371.0088
    assert err == pytest.approx(100 * (c / math.sin(c) - 1), rel=1e-3)


# ------------------------------------------------------------------ 2. layers, species


def test_read_screening_layers(toy_atlas):
    layers = read_screening_layers(toy_atlas)
    assert layers.layer_names == ["ranges", "corridors", "reserves", "countries"]
    assert layers.species == ["Equus_hemionus", "Saiga_tatarica"]
    # the khulan corridor is a migration-route line: not a corridor polygon
    assert list(layers.corridor_polys.index) == ["Saiga_tatarica"]
    assert layers.range_polys.crs == toy_atlas.analysis_crs
    assert layers.countries.crs.to_epsg() == 4326


def test_select_species_near_synonym_and_error():
    layers = _layers({"Saiga_tatarica": box(0, 0, 1, 1)}, {"Equus_hemionus": box(5, 5, 6, 6)})
    assert select_species(layers, None, box(0.5, 0.5, 2, 2), MATRIX) == ["Saiga_tatarica"]
    assert select_species(layers, None, box(0.5, 0.5, 5.5, 5.5), MATRIX) == [
        "Equus_hemionus", "Saiga_tatarica"]
    assert select_species(layers, ["khulan", "saiga", "khulan"], box(9, 9, 10, 10),
                          MATRIX) == ["Equus_hemionus", "Saiga_tatarica"]
    with pytest.raises(UnknownSpeciesError, match="'snow leopard' has no range or corridor"):
        select_species(layers, "snow leopard", box(0, 0, 1, 1), MATRIX)


# ------------------------------------------------------------------------ 3. segments


def test_route_segments_pa_keys_and_countries():
    atlas = Atlas("synthetic", region=box(60, 40, 70, 50))
    src = {"source": "synthetic", "licence": "CC0-1.0"}
    atlas.add_layer("countries", gpd.GeoDataFrame(
        {"iso3": ["AAA", "BBB"], "name": ["Aland", "Bland"]},
        geometry=[box(60, 40, 70, 45), box(60, 45, 70, 50)], crs="EPSG:4326"), "country", **src)
    atlas.add_layer("reserves", gpd.GeoDataFrame(
        {"name": ["Twin", "Twin", None]},
        geometry=[box(64, 43, 66, 43.5), box(64, 46, 66, 46.5), box(60, 40, 61, 41)],
        crs="EPSG:4326"), "protected_area", **src)
    line = gpd.GeoDataFrame(geometry=[LineString([(65, 42), (65, 48)])], crs="EPSG:4326")
    _, route_a, _, _ = prepare_route(line, atlas)
    seg = route_segments(route_a, read_screening_layers(atlas), [], name="s1",
                         infra_type="road")
    assert seg["segment_id"].tolist() == [1, 2, 3, 4, 5, 6]
    assert seg["protected_areas"].tolist() == ["", "Twin [0]", "", "", "Twin [1]", ""]
    assert seg["country"].tolist() == ["AAA"] * 3 + ["BBB"] * 3
    assert seg["country_name"].tolist() == ["Aland"] * 3 + ["Bland"] * 3
    assert (seg["scenario"] == "s1").all() and (seg["infra_type"] == "road").all()
    arcs = [GEOD.inv(65, a, 65, b)[2] / 1000 for a, b in
            [(42, 43), (43, 43.5), (43.5, 45), (45, 46), (46, 46.5), (46.5, 48)]]
    np.testing.assert_allclose(seg["length_km"], arcs, atol=1e-3)  # boundaries to 1 m


def test_segment_species_annotate_and_lengths_by_hand():
    seg = pd.DataFrame({"segment_id": [1, 2, 3], "country": ["AAA", "AAA", "BBB"],
                        "length_km": [2.0, 3.0, 5.0],
                        "species_in_range": ["a;b", "a", ""],
                        "species_in_corridor": ["", "a;b", "b"]})
    classes = _classes(a="partial barrier", b="complete barrier")
    segsp = segment_species(seg, classes)
    assert segsp[["segment_id", "species", "in_range", "in_corridor"]].values.tolist() == [
        [1, "a", True, False], [1, "b", True, False], [2, "a", True, True],
        [2, "b", False, True], [3, "b", False, True]]
    assert segsp["length_km"].tolist() == [2.0, 2.0, 3.0, 3.0, 5.0]
    out = annotate_segments(seg, segsp)
    assert out["most_severe_class"].tolist() == ["complete barrier"] * 3
    assert out["complete_barrier_for"].tolist() == ["b", "b", "b"]
    assert out["partial_barrier_for"].tolist() == ["a", "a", ""]
    assert out["barrier_classes"].iloc[2] == "b: complete barrier"
    lengths = route_lengths(segsp).set_index(["species", "zone", "country"])["length_km"]
    assert lengths[("a", "range", "AAA")] == 5.0
    assert lengths[("a", "corridor", "AAA")] == 3.0
    assert lengths[("b", "range or corridor", "AAA")] == 5.0
    assert lengths[("b", "range or corridor", "BBB")] == 5.0
    assert ("b", "range", "BBB") not in lengths.index


def test_segment_species_without_species_is_empty():
    seg = pd.DataFrame({"segment_id": [1], "country": ["none"], "length_km": [1.0],
                        "species_in_range": [""], "species_in_corridor": [""]})
    segsp = segment_species(seg, _classes())
    assert len(segsp) == 0
    assert annotate_segments(seg, segsp)["most_severe_class"].tolist() == [""]
    assert list(route_lengths(segsp).columns) == ["species", "zone", "barrier_class",
                                                   "country", "length_km"]


# ------------------------------------------------------------------------ 4. crossings


def test_corridor_crossing_points_and_traverses(toy_atlas, toy_route):
    _, route_a, _, _ = prepare_route(toy_route, toy_atlas)
    layers = read_screening_layers(toy_atlas)
    classes = _classes(Equus_hemionus="unknown", Saiga_tatarica="complete barrier")
    pts = corridor_crossing_points(route_a, layers.corridors, ["Equus_hemionus",
                                                               "Saiga_tatarica"], classes,
                                   infra_type="railway", attributes={}, matrix=MATRIX)
    on_line = pts[pts["crossing"] == "route"]
    assert on_line["species"].tolist() == ["Equus_hemionus"]  # the route line at lat 46.8
    lon, lat = on_line.to_crs("EPSG:4326").geometry.iloc[0].coords[0]
    assert lon == pytest.approx(ROUTE_LON, abs=1e-6) and lat == pytest.approx(46.8, abs=1e-4)
    none = corridor_crossing_points(route_a, layers.corridors, ["Other_species"], classes,
                                    infra_type="railway", attributes={}, matrix=MATRIX)
    assert len(none) == 0 and none.crs == route_a.crs

    # traverses: runs of segments inside the corridor, never across route features
    seg = pd.DataFrame({"route_id": [0, 0, 0, 1, 1], "part": 0,
                        "species_in_corridor": ["a", "a", "", "a", "a;b"]})
    trav = corridor_traverses(seg, ["a", "b"])
    assert trav.values.tolist() == [["a", 0, 1], ["a", 3, 4], ["b", 4, 4]]


def test_range_shares_by_hand():
    polys = gpd.GeoSeries([SQUARE, box(0, 0, 20_000, 5_000)], index=["a", "b"], crs=EA)
    bufs = gpd.GeoSeries([box(-1, -1, 2_500, 30_000), box(-1, -1, 5_000, 30_000)], crs=EA)
    t = range_shares(polys, ["b", "a"], (1, 10), bufs)
    assert t["species"].tolist() == ["b", "a", "b", "a"]  # chosen order within a buffer
    assert t["buffer_km"].tolist() == [1, 1, 10, 10]
    np.testing.assert_allclose(t["range_area_km2"], [100, 100, 100, 100])
    np.testing.assert_allclose(t["area_within_km2"], [12.5, 25, 25, 50])
    np.testing.assert_allclose(t["share_within_pct"], [12.5, 25, 25, 50])
    assert len(range_shares(polys.iloc[:0], ["a"], (1,), bufs.iloc[:1])) == 0


def test_protected_area_table_distance_and_length():
    pas = gpd.GeoDataFrame({"name": ["P", "Q", "R"], "designation": ["np", "nr", "x"]},
                           geometry=[box(0.5, 0, 1, 1), box(-0.1, 0.2, 0.1, 0.4),
                                     box(5, 0, 6, 1)], crs="EPSG:4326")
    route = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (0, 1)])], crs="EPSG:4326")
    _, route_local = local_projection(route, route.geometry)
    seg = pd.DataFrame({"protected_areas": ["", "Q", ""], "length_km": [22.1, 22.1, 66.4]})
    t = protected_area_table(pas, route_local, seg, 100.0)
    assert t["name"].tolist() == ["Q", "P"]  # sorted by distance; R is 555 km away
    assert t["crossed"].tolist() == [True, False]
    assert t["length_inside_km"].tolist() == [22.1, 0.0]
    # the nearest point of P is on lon 0.5, between lat 0 and 1 (close to the equator)
    expected = min(GEOD.inv(0, lat, 0.5, lat)[2] for lat in (0.0, 1.0)) / 1000
    assert t["distance_km"].tolist()[0] == 0.0
    assert t["distance_km"].iloc[1] == pytest.approx(expected, rel=1e-3)
    assert t.crs.to_epsg() == 4326
    assert len(protected_area_table(pas.iloc[:0], route_local, seg, 100.0)) == 0


# ------------------------------------------------------------- 5. connectivity change


def test_species_areas_union():
    layers = _layers({"a": box(0, 0, 2_000, 1_000)}, {"a": box(1_000, 0, 3_000, 1_000),
                                                     "b": SQUARE})
    areas = species_areas(layers, ["b", "a"])
    assert areas.index.tolist() == ["b", "a"]
    assert areas.area.tolist() == [1e8, 3e6]


def test_existing_barriers_classified_and_near(toy_atlas):
    layers = read_screening_layers(toy_atlas)
    areas = species_areas(layers, ["Saiga_tatarica", "Equus_hemionus"])
    classes = _classes(Saiga_tatarica="complete barrier", Equus_hemionus="unknown")
    classes.loc["Equus_hemionus", "matrix_species"] = np.nan  # not rated
    ex, names = existing_barriers(toy_atlas, areas, ["Saiga_tatarica", "Equus_hemionus"],
                                  classes, matrix=MATRIX, read=True)
    assert names == ["roads"]
    # the highway along lat 45.2 crosses the saiga range (42-48), not the khulan's (46-47.5)
    assert len(ex["Saiga_tatarica"]) == 1 and len(ex["Equus_hemionus"]) == 0
    # 2017 matrix row "Saiga_spp,road,type1,highway,complete barrier"
    assert ex["Saiga_tatarica"]["barrier_class"].tolist() == ["complete barrier"]
    # a species the matrix does not rate gets "unknown" for every line near it
    wide = species_areas(layers, ["Saiga_tatarica"]).rename({"Saiga_tatarica": "Equus_hemionus"})
    ex2, _ = existing_barriers(toy_atlas, wide, ["Equus_hemionus"], classes, matrix=MATRIX,
                               read=True)
    assert ex2["Equus_hemionus"]["barrier_class"].tolist() == ["unknown"]
    assert ex["Saiga_tatarica"].crs == toy_atlas.analysis_crs
    skipped, names = existing_barriers(toy_atlas, areas, [], classes, matrix=MATRIX,
                                       read=False)
    assert names == [] and len(skipped["Saiga_tatarica"]) == 0


def test_fragmentation_change_by_hand():
    areas = gpd.GeoSeries([SQUARE, SQUARE], index=["a", "b"], crs=EA)
    cut = LineString([(2_500, -1), (2_500, 10_001)])  # existing: 25 + 75 km²
    existing = {"a": gpd.GeoDataFrame({"barrier_class": ["complete barrier"]},
                                      geometry=[cut], crs=EA), "b": _none()}
    route = gpd.GeoSeries([LineString([(5_000, -1), (5_000, 10_001)])], crs=EA)
    classes = _classes(a="partial barrier", b="not a barrier")
    f = fragmentation_change(areas, existing, classes, route).set_index("species")
    # a: before 25² + 75² / 100 = 62.5; after 25² + 25² + 50² / 100 = 37.5 km²
    assert f.loc["a", "m_eff_before_km2"] == pytest.approx(62.5, rel=1e-9)
    assert f.loc["a", "m_eff_after_km2"] == pytest.approx(37.5, rel=1e-9)
    assert f.loc["a", "m_eff_change_pct"] == pytest.approx(-40.0, rel=1e-9)
    assert f.loc["a", ["n_fragments_before", "n_fragments_after"]].tolist() == [2, 3]
    # b: the route is not a barrier -> unchanged, change exactly 0
    assert f.loc["b", "m_eff_after_km2"] == f.loc["b", "m_eff_before_km2"] == pytest.approx(100)
    assert f.loc["b", "m_eff_change_pct"] == 0.0
    assert mesh_change_pct(100.0, 100.0 * (1 + MESH_CHANGE_TOLERANCE / 2)) == 0.0


def test_connectivity_change_rows_and_candidates():
    areas = gpd.GeoSeries([SQUARE, SQUARE], index=["a", "b"], crs=EA)
    route = gpd.GeoSeries([LineString([(5_000, 2_000), (5_000, 8_000)])], crs=EA)
    classes = _classes(a="complete barrier", b="not a barrier")
    table, profiles, cands = connectivity_change(
        areas, {"a": _none(), "b": _none()}, classes, route, cell_size_m=1_000,
        window_m=20_000, n_candidates=2)
    assert table["species"].tolist() == ["a", "b"]
    assert table.loc[1, "notes"] == "not a barrier for this species: no loss modelled"
    assert list(profiles) == ["a"]
    loss = table.loc[0, "cross_conductance_loss_pct"]
    assert 0 < loss < 100  # a 6 km wall in a 10 km square: current goes around it
    assert set(cands) <= {"a"}
    if cands:
        assert (cands["a"]["source"] == "modelled current").all()


# ------------------------------------------------------------------------- 6. advice


def _two_segments():
    return gpd.GeoDataFrame(
        {"segment_id": [1, 2], "route_id": 0, "part": 0, "from_km": [0.0, 4.0],
         "to_km": [4.0, 10.0], "length_km": [4.0, 6.0]},
        geometry=[LineString([(0, 0), (0, 4_000)]), LineString([(0, 4_000), (0, 10_000)])],
        crs=EA)


def test_crossing_candidates_chainage_order_and_ids():
    seg = _two_segments()
    modelled = {"a": gpd.GeoDataFrame(
        {"rank": [2.0, 1.0], "current_a": [0.1, 0.2], "restored_pct": [5.0, 9.0]},
        geometry=gpd.points_from_xy([10, -10], [9_000, 1_000]), crs=EA).assign(
        species="a", source="modelled current")}
    trav = pd.DataFrame({"species": ["a", "b"], "first": [0, 1], "last": [1, 1]})
    classes = _classes(a="partial barrier", b="complete barrier")
    c = crossing_candidates(["a", "b"], modelled, trav, seg, classes, name="s")
    assert c[["species", "source"]].values.tolist() == [
        ["a", "corridor crossing"], ["a", "modelled current"], ["a", "modelled current"],
        ["b", "corridor crossing"]]
    # a's traverse: middle of km 0-10 = km 5; b's: middle of segment 2 = km 7
    np.testing.assert_allclose(c["chainage_km"], [5.0, 1.0, 9.0, 7.0])
    assert c["segment_id"].tolist() == [2, 1, 2, 2]
    assert c["rank"].tolist()[1:3] == [1.0, 2.0]
    assert c["candidate_id"].tolist() == [1, 2, 3, 4]
    assert (c["scenario"] == "s").all()
    assert c["barrier_class"].tolist() == ["partial barrier"] * 3 + ["complete barrier"]
    empty = crossing_candidates(["a"], {}, trav.iloc[:0], seg, classes, name="s")
    assert len(empty) == 0 and "candidate_id" in empty.columns


def test_spacing_check_by_hand():
    seg = _two_segments()
    segsp = pd.DataFrame({"species": ["a", "a", "b", "c"], "segment_id": [1, 2, 2, 1]})
    classes = _classes(a="complete barrier", b="partial barrier", c="not a barrier")
    cand = pd.DataFrame({"species": ["a", "b"], "route_group": ["0/0", "0/0"],
                         "chainage_km": [3.0, 4.5]})
    s = spacing_check(["a", "b", "c"], classes, segsp, seg, cand,
                      max_spacing_km={"a": 4, "b": 4}).set_index("species")
    assert list(s.index) == ["a", "b"]  # c: not a barrier, no check
    # a: km 0-10, candidate at 3: gaps 3 and 7 > 4 -> one extra at 6.5
    assert s.loc["a", ["from_km", "to_km", "structures_needed", "candidates_inside"]].tolist() \
        == [0.0, 10.0, 2, 1]
    assert s.loc["a", "longest_gap_km"] == 7.0 and not s.loc["a", "spacing_ok"]
    assert s.loc["a", "suggested_extra_chainages_km"] == "6.5"
    # b: km 4-10, candidate at 4.5: gaps 0.5 and 5.5 -> one extra at 7.25
    assert s.loc["b", "suggested_extra_chainages_km"] == "7.2"
    assert s.loc["b", "max_spacing_km"] == 4


def test_species_summary_and_flags_by_hand():
    classes = _classes(Saiga_tatarica="complete barrier", Equus_hemionus="unknown")
    ranges = pd.DataFrame({"species": ["Saiga tatarica", "Equus_hemionus"],
                           "iucn_status_2016": ["CR", None], "common_name": ["saiga", "khulan"]})
    segsp = pd.DataFrame({"species": ["Saiga_tatarica", "Saiga_tatarica", "Equus_hemionus"],
                          "in_range": [True, False, True], "in_corridor": [False, True, False],
                          "length_km": [3.0, 4.0, 2.0]})
    trav = pd.DataFrame({"species": ["Saiga_tatarica"] * 2, "first": [1, 3], "last": [1, 3]})
    pts = pd.DataFrame({"species": ["Equus_hemionus", "Saiga_tatarica"],
                        "crossing": ["route", "boundary"]})
    shares = pd.DataFrame({"species": ["Saiga_tatarica"], "buffer_km": [10.0],
                           "share_within_pct": [2.5]})
    frag = pd.DataFrame({"species": ["Saiga_tatarica"], "m_eff_change_pct": [-12.0],
                         "n_fragments_before": [1], "n_fragments_after": [2]})
    sp = species_summary(["Saiga_tatarica", "Equus_hemionus"], ranges, classes, segsp, trav,
                         pts, shares, (1, 10), pd.DataFrame(columns=["species"]), frag)
    sp = sp.set_index("species", drop=False)
    assert sp.loc["Saiga_tatarica", ["km_in_range", "km_in_corridor",
                                     "km_in_range_or_corridor"]].tolist() == [3.0, 4.0, 7.0]
    assert sp.loc["Saiga_tatarica", "n_corridor_crossings"] == 2  # two traverses
    assert sp.loc["Equus_hemionus", "n_corridor_crossings"] == 1  # one route-line crossing
    assert sp.loc["Saiga_tatarica", "iucn_status"] == "CR"
    assert sp.loc["Saiga_tatarica", "share_within_10km_pct"] == 2.5
    assert sp.loc["Equus_hemionus", "share_within_10km_pct"] == 0.0
    assert sp.loc["Saiga_tatarica", "m_eff_change_pct"] == -12.0
    assert math.isnan(sp.loc["Equus_hemionus", "m_eff_change_pct"])
    assert sp["cross_conductance_loss_pct"].isna().all()

    pas = gpd.GeoDataFrame({"name": ["In", "Near", "Far"], "crossed": [True, False, False],
                            "length_inside_km": [1.5, 0.0, 0.0],
                            "distance_km": [0.0, 0.5, 5.0]}, geometry=[None] * 3)
    spacing = pd.DataFrame({"species": ["Saiga_tatarica"], "spacing_ok": [False],
                            "from_km": [0.0], "to_km": [10.0], "length_km": [10.0],
                            "longest_gap_km": [7.0], "max_spacing_km": [5.0],
                            "suggested_extra_chainages_km": ["6.5"]})
    f = screening_flags(sp.reset_index(drop=True), spacing, frag, pas, (1, 10), 2.0)
    codes = list(zip(f["species"], f["code"], f["level"], strict=True))
    assert codes == [
        ("Saiga_tatarica", "complete_barrier_across_corridor", "alert"),
        ("Saiga_tatarica", "threatened_species_range_crossed", "question"),
        ("Saiga_tatarica", "migratory_species_range_crossed", "question"),
        ("Saiga_tatarica", "large_share_of_range_near_route", "question"),
        ("Equus_hemionus", "barrier_class_unknown", "question"),
        ("Equus_hemionus", "migratory_species_range_crossed", "question"),
        ("Saiga_tatarica", "crossing_spacing", "alert"),
        ("Saiga_tatarica", "range_fragmented", "alert"),
        ("", "route_inside_protected_area", "alert"),
        ("", "protected_area_nearby", "alert"),
        ("", "unique_ecosystems", "question"),
        ("", "evolutionary_processes", "question"),
    ]
    assert "add structures at about km 6.5" in f.loc[6, "message"]
    assert "(1 -> 2 fragments)" in f.loc[7, "message"]


# ------------------------------------------------------------------------- 7. export


def test_wgs84_outputs(toy_atlas, toy_route):
    route_in, route_a, route_ll, _ = prepare_route(toy_route, toy_atlas)
    layers = read_screening_layers(toy_atlas)
    seg = route_segments(route_a, layers, [], name="s", infra_type="fence")
    seg = annotate_segments(seg, segment_species(seg, _classes()))
    cand = crossing_candidates([], {}, corridor_traverses(seg, []), seg, _classes(), name="s")
    pts = corridor_crossing_points(route_a, layers.corridors, [], _classes(),
                                   infra_type="fence", attributes={}, matrix=MATRIX)
    r, s, c, p = wgs84_outputs(route_in, route_a, route_ll, seg, cand, pts, name="s",
                               infra_type="fence", attributes={"electrified": False,
                                                               "height_m": 1.2})
    assert all(x.crs.to_epsg() == 4326 for x in (r, s, c, p))
    assert r[["scenario", "infra_type", "electrified", "height_m"]].values.tolist() == [
        ["s", "fence", "no", 1.2]]
    assert r["length_km"].iloc[0] == pytest.approx(GEOD.inv(65, 41, 65, 49)[2] / 1000,
                                                   rel=1e-6)
    assert s["route_id"].map(type).eq(str).all()
    assert s["length_km"].sum() == pytest.approx(r["length_km"].iloc[0], rel=1e-9)
    assert list(s.columns)[-1] == "geometry" and "route_group" not in c.columns


# ------------------------------------------------------------ the steps = screen_route


def test_steps_chained_by_hand_give_screen_route(toy_atlas, toy_route):
    res = screen_route(toy_route, toy_atlas, infra_type="road", buffers_km=(1, 10),
                       connectivity=False)
    route_in, route_a, route_ll, _ = prepare_route(toy_route, toy_atlas)
    layers = read_screening_layers(toy_atlas)
    local, route_local = local_projection(route_in, route_ll)
    assert local.srs == res.parameters["buffer_crs"]
    bufs, _ = route_buffers(route_local, (1.0, 10.0), toy_atlas.analysis_crs)
    chosen = select_species(layers, None, bufs.iloc[-1], MATRIX)
    assert chosen == res.species["species"].tolist()
    seg = route_segments(route_a, layers, chosen, name="route", infra_type="road")
    classes = res.species.set_index("species")[["matrix_species", "class_line",
                                                "class_fence", "barrier_class"]]
    segsp = segment_species(seg, classes)
    pd.testing.assert_frame_equal(segsp, res.segment_species)
    pd.testing.assert_frame_equal(route_lengths(segsp), res.lengths)
    seg = annotate_segments(seg, segsp)
    pd.testing.assert_frame_equal(
        pd.DataFrame(seg.drop(columns="geometry")).assign(route_id=seg["route_id"].astype(str))
        [list(res.segments.columns[:-1])],
        pd.DataFrame(res.segments.drop(columns="geometry")))
    pd.testing.assert_frame_equal(range_shares(layers.range_polys, chosen, (1.0, 10.0), bufs),
                                  res.buffers)
    pd.testing.assert_frame_equal(
        protected_area_table(layers.protected_areas, route_local, seg, 10.0),
        res.protected_areas)


def test_max_spacing_default_key_is_the_fallback():
    """{"default": x} in a user's spacing table applies to every species it does not list."""
    from cami_atlas.screening.reference import max_spacing_of

    table = {"default": 7, "Saiga tatarica": 3}
    assert max_spacing_of("Ovis_ammon", table) == 7.0
    assert max_spacing_of("Saiga_tatarica", table) == 3.0
    assert max_spacing_of("Ovis_ammon", {"DEFAULT": 2.5}) == 2.5
