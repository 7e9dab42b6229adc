"""screen_route on the synthetic toy atlas (tests/screening/conftest.py) with known answers."""

from __future__ import annotations

import itertools
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import LineString, Point, box

from cami_atlas.barriers import classify_barriers
from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    OptionError,
    OutputExistsError,
    SchemaError,
    UnknownSpeciesError,
    UnknownValueError,
)
from cami_atlas.geojson import check_rfc7946
from cami_atlas.screening import (
    compare_routes,
    route_barrier_classes,
    screen_route,
    write_screening,
)

from .conftest import ROUTE_LON, SPLIT_LATS

GEOD = Geod(ellps="WGS84")


def arc_km(lat0: float, lat1: float, lon: float = ROUTE_LON) -> float:
    return GEOD.inv(lon, lat0, lon, lat1)[2] / 1000.0


@pytest.fixture(scope="module")
def screened(toy_atlas, toy_route):
    return screen_route(toy_route, toy_atlas, infra_type="railway",
                        attributes={"track": "double", "fenced": "yes"}, buffers_km=(1, 10),
                        cell_size_m=10_000, window_km=80, n_candidates=3)


def test_segments_split_at_every_boundary(screened) -> None:
    seg = screened.segments
    assert seg.crs.to_epsg() == 4326
    assert len(seg) == len(SPLIT_LATS) - 1
    ends = np.array([[g.coords[0][1], g.coords[-1][1]] for g in seg.geometry])
    # boundaries along parallels are cut every 10 km (0.09°) before reprojection: where the
    # route meets one between two vertices, the chord lies up to ~1 m off the parallel
    np.testing.assert_allclose(ends[:, 0], SPLIT_LATS[:-1], atol=1e-5)
    np.testing.assert_allclose(ends[:, 1], SPLIT_LATS[1:], atol=1e-5)
    expected = [arc_km(a, b) for a, b in itertools.pairwise(SPLIT_LATS)]
    np.testing.assert_allclose(seg["length_km"], expected, atol=1e-3)
    np.testing.assert_allclose(seg["from_km"], np.cumsum([0, *expected[:-1]]), atol=1e-3)
    assert seg["country"].tolist() == ["AAA"] * 4 + ["BBB"] * 6
    assert seg["species_in_corridor"].tolist()[2] == "Saiga_tatarica"
    assert seg["protected_areas"].tolist()[7:9] == ["Reserve North", "Reserve North"]
    assert seg["species_in_range"].tolist()[5] == "Equus_hemionus;Saiga_tatarica"


def test_lengths_inside_ranges_match_geod(screened) -> None:
    sp = screened.species.set_index("species")
    assert sp.loc["Saiga_tatarica", "km_in_range"] == pytest.approx(arc_km(42, 48), abs=1e-3)
    assert sp.loc["Equus_hemionus", "km_in_range"] == pytest.approx(arc_km(46, 47.5), abs=1e-3)
    assert sp.loc["Saiga_tatarica", "km_in_corridor"] == pytest.approx(arc_km(44, 44.5),
                                                                     abs=1e-3)
    assert sp.loc["Saiga_tatarica", "iucn_status"] == "CR"
    assert sp.loc["Saiga_tatarica", "cms_appendix"] == "II"
    # one traverse of the saiga corridor polygon; one crossing of the khulan route line
    assert sp["n_corridor_crossings"].to_dict() == {"Equus_hemionus": 1, "Saiga_tatarica": 1}
    lengths = screened.lengths
    by_country = lengths[(lengths["species"] == "Saiga_tatarica") & (lengths["zone"] == "range")]
    km = by_country.set_index("country")["length_km"]
    assert km["AAA"] == pytest.approx(arc_km(42, 45), abs=1e-3)
    assert km["BBB"] == pytest.approx(arc_km(45, 48), abs=1e-3)


def test_barrier_classes_fenced_rule(screened) -> None:
    rail = pd.DataFrame({"infra_type": ["railway"], "track": ["double track"]})
    fence = pd.DataFrame({"infra_type": ["fence"]})
    order = {"not a barrier": 0, "unknown": 1, "partial barrier": 2, "complete barrier": 3}
    for sp in ("Saiga_tatarica", "Equus_hemionus"):
        a = classify_barriers(rail, sp).iloc[0]
        b = classify_barriers(fence, sp).iloc[0]
        expected = max(a, b, key=order.get)
        assert screened.species.set_index("species").loc[sp, "barrier_class"] == expected
    seg = screened.segments
    complete = seg["complete_barrier_for"].str.contains("Saiga_tatarica")
    lat0 = np.array([g.coords[0][1] for g in seg.geometry])
    assert (complete == ((lat0 >= 42) & (lat0 < 48))).all()
    # a passable fence design does not make a partial railway passable
    t = route_barrier_classes("railway", {"track": "single", "fenced": "yes",
                                          "fence_type": "tight barbed wire"}, ["saiga"])
    assert t.loc["saiga", "barrier_class"] == "complete barrier"
    assert t.loc["saiga", "class_line"] == "partial barrier"


def test_buffer_share_matches_strip_area(screened) -> None:
    buf = screened.buffers.set_index(["species", "buffer_km"])
    lons = np.linspace(64, 66, 201)
    ring_lon = np.r_[lons, np.full(601, 66), lons[::-1], np.full(601, 64)]
    ring_lat = np.r_[np.full(201, 42), np.linspace(42, 48, 601), np.full(201, 48),
                     np.linspace(48, 42, 601)]
    area = abs(GEOD.polygon_area_perimeter(ring_lon, ring_lat)[0]) / 1e6
    assert buf.loc[("Saiga_tatarica", 10.0), "range_area_km2"] == pytest.approx(area, rel=1e-3)
    # a 2 x 10 km strip along the 6 degrees of meridian inside the range
    expected = 100 * 20 * arc_km(42, 48) / area
    assert buf.loc[("Saiga_tatarica", 10.0), "share_within_pct"] == pytest.approx(expected,
                                                                                rel=5e-3)
    assert screened.parameters["buffer_scale_error_pct"] < 0.3


def test_protected_areas_and_distance(toy_atlas, toy_route) -> None:
    res = screen_route(toy_route, toy_atlas, infra_type="road",
                       attributes={"road_class": "highway"}, buffers_km=(150,),
                       connectivity=False)
    pa = res.protected_areas.set_index("name")
    assert bool(pa.loc["Reserve North", "crossed"])
    assert pa.loc["Reserve North", "length_inside_km"] == pytest.approx(arc_km(47.8, 48.5),
                                                                       abs=1e-3)
    # nearest distance to Reserve East against a brute-force geodesic minimum
    lat_r = np.linspace(41, 49, 1601)
    e_lon = np.r_[np.full(201, 66.5), np.linspace(66.5, 67, 51)]
    e_lat = np.r_[np.linspace(42, 43, 201), np.full(51, 43)]
    d = GEOD.inv(np.full((len(lat_r), len(e_lon)), 65.0),
                 np.repeat(lat_r[:, None], len(e_lon), 1),
                 np.tile(e_lon, (len(lat_r), 1)), np.tile(e_lat, (len(lat_r), 1)))[2]
    assert pa.loc["Reserve East", "distance_km"] == pytest.approx(d.min() / 1000, abs=0.5)
    assert not bool(pa.loc["Reserve East", "crossed"])
    codes = res.flags["code"].tolist()
    assert "route_inside_protected_area" in codes


def test_corridor_crossing_candidate(screened) -> None:
    cand = screened.crossing_candidates
    corr = cand[cand["source"] == "corridor crossing"]
    assert len(corr) == 1
    pt = corr.geometry.iloc[0]
    assert pt.x == pytest.approx(65.0, abs=1e-6)
    assert pt.y == pytest.approx(44.25, abs=1e-3)
    assert corr["chainage_km"].iloc[0] == pytest.approx(arc_km(41, 44.25), abs=0.1)
    cc = screened.corridor_crossings
    khulan = cc[cc["species"] == "Equus_hemionus"].geometry.iloc[0]
    # the corridor's edge along 46.8° N is cut every 0.09° before reprojection: ~0.6 m off
    assert (khulan.x, khulan.y) == pytest.approx((65.0, 46.8), abs=1e-5)


def test_fragmentation_hand_count(screened) -> None:
    fr = screened.fragmentation.set_index("species")
    # the existing highway (complete barrier for saiga) cuts the range once; the
    # railway along its central meridian halves both parts (equal areas)
    assert fr.loc["Saiga_tatarica", "n_fragments_before"] == 2
    assert fr.loc["Saiga_tatarica", "n_fragments_after"] == 4
    assert fr.loc["Saiga_tatarica", "m_eff_change_pct"] == pytest.approx(-50.0, abs=0.05)
    assert fr.loc["Equus_hemionus", "m_eff_change_pct"] == 0.0  # class unknown cuts nothing


def test_connectivity_and_candidates(screened) -> None:
    con = screened.connectivity.set_index("species")
    # complete barrier across the whole range: no cross-route connection left
    assert con.loc["Saiga_tatarica", "cross_conductance_loss_pct"] == pytest.approx(100.0)
    assert 0 < con.loc["Equus_hemionus", "cross_conductance_loss_pct"] < 100
    cand = screened.crossing_candidates
    cur = cand[cand["source"] == "modelled current"]
    assert set(cur["species"]) == {"Saiga_tatarica", "Equus_hemionus"}
    assert ((cur["restored_pct"] > 0) & (cur["restored_pct"] <= 100)).all()
    for _, grp in cur.groupby("species"):
        assert grp["rank"].tolist() == list(range(1, len(grp) + 1))
        assert grp["current_a"].is_monotonic_decreasing
    sp = screened.spacing.set_index("species")
    assert sp.loc["Saiga_tatarica", "structures_needed"] == int(np.ceil(arc_km(42, 48) / 5) - 1)
    assert not bool(sp.loc["Saiga_tatarica", "spacing_ok"])


def test_flags_are_questions_with_ps6_wording(screened) -> None:
    flags = screened.flags
    q = flags[flags["code"] == "threatened_species_range_crossed"]
    assert q["species"].tolist() == ["Saiga_tatarica"]
    assert q["level"].iloc[0] == "question" and q["ps6_criterion"].iloc[0] == "i"
    assert "Critically Endangered" in q["message"].iloc[0]
    assert q["message"].iloc[0].rstrip().endswith("?)") or "?" in q["message"].iloc[0]
    mig = flags[flags["code"] == "migratory_species_range_crossed"]
    assert set(mig["species"]) == {"Saiga_tatarica", "Equus_hemionus"}
    assert set(flags.loc[flags["level"] == "question", "ps6_criterion"]) >= {"i", "iii", "iv",
                                                                              "v"}
    alert = flags[flags["code"] == "complete_barrier_across_corridor"]
    assert alert["species"].tolist() == ["Saiga_tatarica"]


def test_outputs_rfc7946_and_round_trip(screened, tmp_path) -> None:
    paths = write_screening(screened, tmp_path / "out", interactive_map=False)
    names = {p.name for p in paths}
    assert {"route_segments.geojson", "crossing_candidates.geojson", "screening.gpkg",
            "screening_report.html", "segments.csv"} <= names
    for fname in ("route_segments.geojson", "crossing_candidates.geojson"):
        path = tmp_path / "out" / fname
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert check_rfc7946(doc) == []
        assert "crs" not in doc
        coords = np.array([c for f in doc["features"]
                           for c in np.atleast_2d(f["geometry"]["coordinates"])])
        assert (np.abs(coords[:, 0]) <= 180).all() and (np.abs(coords[:, 1]) <= 90).all()
        # lon first: the route runs along 65 E between 41 and 49 N
        np.testing.assert_allclose(coords[:, 0], 65.0, atol=1e-6)
        assert ((coords[:, 1] >= 41) & (coords[:, 1] <= 49)).all()
    back = gpd.read_file(tmp_path / "out" / "route_segments.geojson")
    assert back.crs.to_epsg() == 4326
    assert len(back) == len(screened.segments)
    np.testing.assert_allclose(back["length_km"], screened.segments["length_km"], atol=1e-9)
    assert back.geom_equals_exact(screened.segments.geometry, tolerance=1e-6).all()
    gpkg = gpd.read_file(tmp_path / "out" / "screening.gpkg", layer="segments")
    assert len(gpkg) == len(screened.segments)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_screening(screened, tmp_path / "out", interactive_map=False)
    again = write_screening(screened, tmp_path / "out", interactive_map=False, overwrite=True)
    assert len(again) == len(paths)


def test_compare_routes_prefers_the_shorter_cut(toy_atlas, toy_route) -> None:
    short = gpd.GeoDataFrame(geometry=[LineString([(65, 41), (65, 43)])], crs="EPSG:4326")
    cmp = compare_routes({"long": toy_route, "short": short}, toy_atlas, infra_type="railway",
                         attributes={"track": "double"}, buffers_km=(1,), connectivity=False)
    t = cmp.table
    assert t.loc["long", "km_in_ranges_complete_barrier"] == pytest.approx(arc_km(42, 48),
                                                                          abs=1e-3)
    assert t.loc["short", "km_in_ranges_complete_barrier"] == pytest.approx(arc_km(42, 43),
                                                                           abs=1e-3)
    # both scenarios report the same species (the union)
    assert set(cmp.species.loc[cmp.species["scenario"] == "short", "species"]) == {
        "Saiga_tatarica", "Equus_hemionus"}
    assert t.loc["long", "corridor_crossings"] == 2 and t.loc["short", "corridor_crossings"] == 0


def test_route_in_projected_crs_gives_same_lengths(toy_atlas, toy_route) -> None:
    utm = toy_route.to_crs("EPSG:32641")
    utm = utm.set_geometry(utm.geometry.segmentize(1000))
    res = screen_route(utm, toy_atlas, infra_type="railway", attributes={"track": "double"},
                       buffers_km=(1,), connectivity=False, species="saiga")
    km = res.species.set_index("species").loc["Saiga_tatarica", "km_in_range"]
    assert km == pytest.approx(arc_km(42, 48), rel=1e-4)


@pytest.mark.parametrize(("route", "error", "match"), [
    (gpd.GeoDataFrame(geometry=[LineString([(65, 41), (65, 49)])]), CRSError, "no CRS"),
    (gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"), EmptyLayerError, "empty"),
    (gpd.GeoDataFrame(geometry=[LineString([(-60, -10), (-61, -11)])], crs="EPSG:4326"),
     SchemaError, "outside the atlas region"),
    (gpd.GeoDataFrame(geometry=[Point(65, 45)], crs="EPSG:4326"), GeometryTypeError,
     "LineString"),
    ("not a route", SchemaError, "GeoDataFrame"),
])
def test_route_errors(toy_atlas, route, error, match) -> None:
    with pytest.raises(error, match=match):
        screen_route(route, toy_atlas, infra_type="railway", connectivity=False)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"infra_type": "tramway"}, OptionError, "infra_type"),
    ({"infra_type": "railway", "attributes": {"colour": "red"}}, UnknownValueError,
     "allowed: track, train_speed"),
    ({"infra_type": "railway", "attributes": {"track": "triple"}}, UnknownValueError,
     "'single track', 'double track'"),
    ({"infra_type": "railway", "attributes": {"fenced": "maybe"}}, UnknownValueError,
     "yes or no"),
    ({"infra_type": "railway", "attributes": {"fenced": "no", "fence_type": "woven"}},
     UnknownValueError, "fenced=no"),
    ({"infra_type": "railway", "buffers_km": (0, 10)}, OptionError, "> 0"),
    ({"infra_type": "railway", "buffers_km": ()}, OptionError, "empty"),
    ({"infra_type": "railway", "species": "snow leopard"}, UnknownSpeciesError,
     "no range or corridor"),
    ({"infra_type": "railway", "cell_size_m": -5}, OptionError, "cell_size_m"),
])
def test_option_errors(toy_atlas, toy_route, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        screen_route(toy_route, toy_atlas, connectivity=False, **kwargs)


def test_caller_route_not_mutated(toy_atlas, toy_route) -> None:
    before = toy_route.copy()
    screen_route(toy_route, toy_atlas, infra_type="pipeline", attributes={"buried": "no"},
                 buffers_km=(1,), connectivity=False)
    pd.testing.assert_frame_equal(toy_route, before)
    assert toy_route.crs == before.crs


def test_atlas_without_optional_layers(tmp_path) -> None:
    from cami_atlas.atlas import Atlas

    atlas = Atlas("ranges only (synthetic)", region=box(60, 40, 70, 50))
    atlas.add_layer("ranges", gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                                               geometry=[box(64, 42, 66, 48)], crs="EPSG:4326"),
                    "species_range", source="synthetic", licence="CC0-1.0")
    route = gpd.GeoDataFrame(geometry=[LineString([(65, 41), (65, 49)])], crs="EPSG:4326")
    res = screen_route(route, atlas, infra_type="fence", buffers_km=(5,), cell_size_m=10_000)
    assert res.segments["country"].unique().tolist() == ["none"]
    assert len(res.protected_areas) == 0
    assert any("no migration corridors" in n for n in res.notes)
    assert res.species["km_in_range"].iloc[0] == pytest.approx(arc_km(42, 48), abs=1e-3)


def test_unchanged_mesh_is_reported_as_zero(toy_atlas) -> None:
    from cami_atlas.screening.screen import MESH_CHANGE_TOLERANCE, mesh_change_pct

    assert MESH_CHANGE_TOLERANCE == 1e-9
    # rounding of the same fragments summed in another order: exactly 0, never -2e-10 %
    assert mesh_change_pct(4321.5, 4321.5 * (1 - 2e-12)) == 0.0
    assert mesh_change_pct(4321.5, 4321.5 * (1 + 5e-10)) == 0.0
    assert mesh_change_pct(100.0, 100.0 * (1 - 2e-9)) == pytest.approx(-2e-7)  # kept
    assert mesh_change_pct(5000.0, 2500.0) == -50.0
    assert np.isnan(mesh_change_pct(0.0, 1.0))
    # a complete barrier that enters the saiga range and stops inside it splits nothing
    dangle = gpd.GeoDataFrame(geometry=[LineString([(65.0, 41.0), (65.0, 43.0)])],
                              crs="EPSG:4326")
    res = screen_route(dangle, toy_atlas, infra_type="railway",
                       attributes={"track": "double"}, buffers_km=(1,), connectivity=False)
    fr = res.fragmentation.set_index("species")
    assert fr.loc["Saiga_tatarica", "barrier_class"] == "complete barrier"
    assert fr.loc["Saiga_tatarica", "n_fragments_after"] == fr.loc[
        "Saiga_tatarica", "n_fragments_before"]
    assert fr.loc["Saiga_tatarica", "m_eff_change_pct"] == 0.0
    assert not str(fr.loc["Saiga_tatarica", "m_eff_change_pct"]).startswith("-")
    from cami_atlas.screening import screening_report_html

    html = screening_report_html(res)
    assert "relative change below 1e-09" in html and "is reported as 0" in html


def test_range_area_is_the_one_every_output_states() -> None:
    from cami_atlas.atlas import Atlas
    from cami_atlas.measure import area_km2

    rail = gpd.GeoDataFrame(geometry=[LineString([(66.9, 47.8), (67.4, 48.3)])],
                            crs="EPSG:4326")
    res = screen_route(rail, infra_type="railway", attributes={"track": "double"},
                       buffers_km=(5,), species=["saiga"], connectivity=False)
    ranges = Atlas.default().read("species_ranges")  # stored in EPSG:6933
    saiga = float(area_km2(ranges[ranges["species"] == "Saiga_tatarica"]).iloc[0])
    got = res.buffers.set_index("species").loc["Saiga_tatarica", "range_area_km2"]
    assert got == pytest.approx(saiga, rel=1e-12)
