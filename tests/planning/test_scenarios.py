"""Cumulative impact of scenarios against hand computations (issue 15 acceptance)."""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from cami_atlas.errors import MissingColumnError
from cami_atlas.planning.scenarios import scenario_impact
from cami_atlas.raster import Grid

CRS = "ESRI:102025"
SP = "Saiga_tatarica"


def _lines(xs_km):
    return gpd.GeoDataFrame(
        {
            "infra_type": ["railway"] * len(xs_km),
            "barrier_class": ["complete barrier"] * len(xs_km),
        },
        geometry=[shapely.LineString([(x * 1000, -1000), (x * 1000, 101_000)]) for x in xs_km],
        crs=CRS,
    )


@pytest.fixture()
def setting():
    ranges = gpd.GeoDataFrame(
        {"species": [SP]}, geometry=[shapely.box(0, 0, 100_000, 100_000)], crs=CRS
    )
    # one row of ten 10-km cells at y 40-50 km; cores in cells 0, 4 and 8
    grid = Grid(np.ones((1, 10)), Affine(10_000, 0, 0, 0, -10_000, 50_000), CRS)
    cores = gpd.GeoDataFrame(
        {"area_km2": [1.0, 1.0, 1.0]},
        geometry=shapely.points([(5_000, 45_000), (45_000, 45_000), (85_000, 45_000)]),
        crs=CRS,
    )
    return dict(ranges=ranges, grid=grid, cores=cores, dispersal_distance=4.0, neighbours=4)


def test_two_lines_cutting_one_corridor_interaction_by_hand(setting):
    existing = _lines([])
    scen = {"both": {"Hypothetical line A": _lines([30]), "Hypothetical line B": _lines([60])}}
    t = scenario_impact(existing, scen, setting.pop("ranges"), **setting).set_index("metric")
    # effective mesh size of a 100 km square: 10000; cut at 30 km: (30^2+70^2)*100^2/10000
    # = 5800; at 60 km: 5200; at both: (30^2+30^2+40^2)*100^2/10000 = 3400 (km2)
    m = t.loc["m_eff_km2"]
    assert m["existing"] == pytest.approx(10000)
    assert m["with_scenario"] == pytest.approx(3400)
    assert m["change"] == pytest.approx(-6600)
    assert m["sum_of_single_changes"] == pytest.approx((5800 - 10000) + (5200 - 10000))
    assert m["interaction"] == pytest.approx(-6600 + 9000)
    # 3 cores, resistances 4 (A-B), 4 (B-C), 8 (A-C); p = 0.5 at 4 -> p*AC = 0.25.
    # ECA^2 = 3 + 2 (0.5 + 0.5 + 0.25) = 5.5; A or C cut off: 3 + 2*0.5 = 4; all cut: 3
    e = t.loc["ECA"]
    assert e["existing"] == pytest.approx(math.sqrt(5.5), rel=1e-6)
    assert e["with_scenario"] == pytest.approx(math.sqrt(3), rel=1e-6)
    single = 2 * (2 - math.sqrt(5.5))
    assert e["sum_of_single_changes"] == pytest.approx(single, rel=1e-6)
    assert e["interaction"] == pytest.approx(math.sqrt(3) + math.sqrt(5.5) - 4, rel=1e-6)
    c = t.loc["effective_conductance"]  # sum of 1/R: 1/4+1/4+1/8; one cut: 1/4; both: 0
    assert c["existing"] == pytest.approx(0.625, rel=1e-6)
    assert c["change"] == pytest.approx(-0.625, rel=1e-6)
    assert c["interaction"] == pytest.approx(-0.625 + 0.75, rel=1e-6)
    # km are geodesic (WGS84): each line's 100 km inside the range, measured between its
    # end points on the ellipsoid with pyproj (independent of the clipping code); additive
    from pyproj import Geod, Transformer

    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    geod = Geod(ellps="WGS84")
    expected_km = 0.0
    for x in (30_000, 60_000):
        (lon0, lon1), (lat0, lat1) = to_ll.transform([x, x], [0, 100_000])
        expected_km += geod.inv(lon0, lat0, lon1, lat1)[2] / 1000.0
    k = t.loc["km_in_range_complete_barrier"]
    assert k["change"] == pytest.approx(expected_km, rel=1e-4)
    assert k["interaction"] == pytest.approx(0, abs=1e-9)


def test_scenario_without_projects_changes_nothing(setting):
    t = scenario_impact(_lines([30]), {"nothing": {}}, setting.pop("ranges"), **setting)
    assert len(t) > 0
    assert (t["change"] == 0).all()
    assert (t["sum_of_single_changes"] == 0).all()
    assert (t["interaction"] == 0).all()
    assert (t["existing"] == t["with_scenario"]).all()


def test_mitigation_reopens_barrier_for_species_residual_loss(setting):
    ranges = setting.pop("ranges")
    crossing = gpd.GeoDataFrame(
        {"species": [SP], "structure_type": ["overpass"]},
        geometry=[shapely.Point(30_000, 45_000)],
        crs=CRS,
    )
    t = scenario_impact(
        _lines([]),
        {"A": {"Hypothetical line A": _lines([30])}},
        ranges,
        mitigation=crossing,
        crossing_width_m=1000,
        **setting,
    ).set_index("metric")
    # an opening in the line leaves the square one fragment: no residual mesh loss
    assert t.loc["m_eff_km2", "with_mitigation"] == pytest.approx(10000)
    assert t.loc["m_eff_km2", "residual_change"] == pytest.approx(0)
    # the opening is in the cores' row: the circuit is whole again
    assert t.loc["ECA", "residual_change"] == pytest.approx(0, abs=1e-9)
    other = crossing.assign(species="Equus_hemionus")
    t2 = scenario_impact(
        _lines([]),
        {"A": {"Hypothetical line A": _lines([30])}},
        ranges,
        mitigation=other,
        **setting,
    ).set_index("metric")
    assert t2.loc["m_eff_km2", "residual_change"] == pytest.approx(-4200)


def test_mitigation_needs_species_and_structure_type(setting):
    bad = gpd.GeoDataFrame({"species": [SP]}, geometry=[shapely.Point(0, 0)], crs=CRS)
    with pytest.raises(MissingColumnError, match="structure_type"):
        scenario_impact(_lines([]), {}, setting.pop("ranges"), mitigation=bad, **setting)


def test_corridor_and_track_crossings_add_up(setting):
    import pandas as pd

    ranges = setting.pop("ranges")
    # a corridor polygon x 20-80 km, y 10-90 km: each full-height line (x = 30, 60 km)
    # crosses its bottom and top edges: 2 boundary points per line
    corridor = gpd.GeoDataFrame(
        {"species": [SP]}, geometry=[shapely.box(20_000, 10_000, 80_000, 90_000)], crs=CRS
    )
    # one animal walking east along y = 50 km: one step crosses both lines
    tracks = gpd.GeoDataFrame(
        {
            "species": [SP, SP],
            "individual": ["a1", "a1"],
            "timestamp": pd.to_datetime(["2020-05-01 00:00", "2020-05-01 06:00"], utc=True),
        },
        geometry=shapely.points([(10_000, 50_000), (90_000, 50_000)]),
        crs=CRS,
    )
    scen = {"both": {"Hypothetical line A": _lines([30]), "Hypothetical line B": _lines([60])}}
    t = scenario_impact(
        _lines([]), scen, ranges, corridors=corridor, tracks=tracks, **setting
    ).set_index("metric")
    assert t.loc["corridor_crossings", "with_scenario"] == 4
    assert t.loc["corridor_crossings", "interaction"] == 0
    assert t.loc["track_crossings", "existing"] == 0
    assert t.loc["track_crossings", "with_scenario"] == 2
    assert t.loc["track_crossings", "sum_of_single_changes"] == 2
