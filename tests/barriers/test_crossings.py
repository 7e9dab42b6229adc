"""Crossings of corridors, migration routes and GPS-track steps with infrastructure."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import LineString, MultiLineString, Point, box

from cami_atlas.barriers.crossings import corridor_crossings, track_crossings, track_steps
from cami_atlas.errors import CRSError, GeometryTypeError, MissingColumnError, SchemaError

UTM = "EPSG:32642"


def _corridors() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Equus hemionus", "Equus_kiang"],
         "name": ["west", "east route", "kiang"]},
        geometry=[box(0, 0, 10, 10), LineString([(20, -5), (20, 15)]),
                  box(100, 100, 110, 110)],
        crs=UTM, index=pd.Index(["c1", "c2", "c3"], name="cid"))


def _infra() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"infra_type": ["railway", "road", "fence", "road"],
         "track": ["double track", None, None, None],
         "road_class": [None, "local road", None, "highway"],
         "status": ["existing", "planned", "existing", "existing"]},
        geometry=[
            LineString([(-5, 5), (25, 5)]),  # through the polygon (2) and across the route (1)
            LineString([(5, 5), (5, 20)]),  # starts inside the polygon: exits once
            LineString([(30, 0), (30, 10)]),  # crosses nothing
            LineString([(15, 12), (25, 12), (25, 14), (15, 14)]),  # crosses the route twice
        ],
        crs=UTM, index=pd.Index([10, 11, 12, 13], name="seg"))


def test_corridor_crossings_by_hand():
    infra, corr = _infra(), _corridors()
    pts, counts = corridor_crossings(infra, corr)
    assert pts.crs == infra.crs
    got = sorted(zip(pts["corridor_id"], pts["infra_id"], pts.geometry.x, pts.geometry.y,
                     strict=True))
    assert got == [("c1", 10, 0.0, 5.0), ("c1", 10, 10.0, 5.0), ("c1", 11, 5.0, 10.0),
                   ("c2", 10, 20.0, 5.0), ("c2", 13, 20.0, 12.0), ("c2", 13, 20.0, 14.0)]
    by = pts.set_index(["corridor_id", "infra_id"])
    assert set(by.loc[("c1", 10), "barrier_class"]) == {"complete barrier"}  # saiga, double
    assert by.loc[("c1", 11), "barrier_class"] == "not a barrier"  # saiga, local road
    assert by.loc[("c1", 11), "infra_status"] == "planned"
    assert by.loc[("c2", 10), "barrier_class"] == "unknown"  # khulan: double track only unknown
    assert set(by.loc[("c2", 13), "barrier_class"]) == {"partial barrier"}  # khulan highway
    assert set(pts["crossing"]) == {"boundary", "route"}
    assert (pts.loc[pts.corridor_id == "c2", "crossing"] == "route").all()
    assert pts.loc[pts.corridor_id == "c2", "corridor_name"].unique().tolist() == ["east route"]
    assert not pts["along"].any()
    table = counts.set_index(["species", "infra_type", "barrier_class"])
    assert table.loc[("Saiga_tatarica", "railway", "complete barrier"), "n_crossings"] == 2
    assert table.loc[("Saiga_tatarica", "road", "not a barrier"), "n_crossings"] == 1
    assert table.loc[("Equus_hemionus", "road", "partial barrier")].tolist() == [2, 1, 1]
    assert counts["n_crossings"].sum() == len(pts) == 6


def test_corridor_crossings_along_and_crs():
    corr = _corridors().to_crs("EPSG:4326")
    infra = gpd.GeoDataFrame({"infra_type": ["fence"]},
                             geometry=[LineString([(2, 0), (8, 0)])], crs=UTM)  # on the edge
    pts, _ = corridor_crossings(infra, corr)
    assert pts["along"].tolist() == [True]
    assert pts.geometry.iloc[0].distance(Point(2, 0)) < 1e-3


def test_corridor_crossings_errors():
    with pytest.raises(CRSError, match="corridors has no CRS"):
        corridor_crossings(_infra(), _corridors().set_crs(None, allow_override=True))
    with pytest.raises(MissingColumnError, match="corridors has no column 'species'"):
        corridor_crossings(_infra(), _corridors().drop(columns="species"))


def _fixes() -> gpd.GeoDataFrame:
    t = pd.to_datetime(["2020-05-01 00:00", "2020-05-01 02:00", "2020-05-01 04:00",
                        "2020-05-01 06:00", "2020-05-01 01:00", "2020-05-01 00:00"], utc=True)
    return gpd.GeoDataFrame(
        {"animal": ["a", "a", "a", "a", "b", "b"], "time": t,
         "species": ["Saiga tatarica"] * 4 + ["Equus_kiang"] * 2},
        geometry=[Point(500_000, 4_500_000), Point(502_000, 4_500_000),
                  Point(502_000, 4_502_000), Point(500_000, 4_502_000),
                  Point(510_000, 4_500_000), Point(510_000, 4_503_000)],
        crs="EPSG:32612", index=pd.Index(list("pqrstu"), name="fix"))


def test_track_steps():
    fixes = _fixes()
    steps = track_steps(fixes, individual="animal", timestamp="time")
    assert steps.crs == fixes.crs
    assert steps.index.name == "step"
    assert steps["individual"].tolist() == ["a", "a", "a", "b"]
    assert steps["fix_start"].tolist() == ["p", "q", "r", "u"]  # b sorted by time
    assert steps["fix_end"].tolist() == ["q", "r", "s", "t"]
    assert steps["duration_h"].tolist() == [2.0, 2.0, 2.0, 1.0]
    assert steps["t_start"].iloc[3] == pd.Timestamp("2020-05-01 00:00", tz="UTC")
    geod = Geod(ellps="WGS84")
    ll = steps.to_crs(4326).geometry
    expected = [geod.geometry_length(g) / 1000 for g in ll]
    assert steps["step_length_km"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert steps["step_length_km"].to_numpy() == pytest.approx([2, 2, 2, 3], rel=2e-3)


def test_one_crossing_is_one_event():
    fixes = _fixes()
    fence = gpd.GeoDataFrame(
        {"infra_type": ["fence", "railway"], "track": [None, "double"]},
        geometry=[LineString([(501_000, 4_499_000), (501_000, 4_499_500)]),  # no crossing
                  LineString([(501_000, 4_499_000), (501_000, 4_501_000)])],  # crossed once
        crs="EPSG:32612")
    ev = track_crossings(fixes, fence, individual="animal", timestamp="time")
    assert len(ev) == 1
    row = ev.iloc[0]
    assert (row["step"], row["individual"], row["infra_id"]) == (0, "a", 1)
    assert row["t_before"] == pd.Timestamp("2020-05-01 00:00", tz="UTC")
    assert row["t_after"] == pd.Timestamp("2020-05-01 02:00", tz="UTC")
    assert (row.geometry.x, row.geometry.y) == (501_000.0, 4_500_000.0)
    assert row["barrier_class"] == "complete barrier"  # saiga x double track
    assert row["matrix_species"] == "Saiga_spp"


def test_multiple_crossings_in_one_step():
    fixes = _fixes()
    # a zig-zag fence crossed three times by step 0 (y = 4_500_000 from x 500 to 502 km);
    # one multi-part fence crossed by step 1 (x = 502 km) in both parts; a kiang step too
    zigzag = LineString([(500_500, 4_499_000), (500_800, 4_501_000), (501_100, 4_499_000),
                         (501_400, 4_501_000)])
    multi = MultiLineString([[(501_000, 4_500_500), (503_000, 4_500_500)],
                             [(501_000, 4_501_500), (503_000, 4_501_500)]])
    kiang = LineString([(509_000, 4_501_000), (511_000, 4_501_000)])
    infra = gpd.GeoDataFrame({"infra_type": ["fence", "fence", "road"]},
                             geometry=[zigzag, multi, kiang], crs="EPSG:32612")
    ev = track_crossings(fixes.to_crs(4326), infra.to_crs(3857), individual="animal",
                         timestamp="time")
    assert ev.crs == "EPSG:4326"
    assert ev.groupby(["step", "infra_id"]).size().to_dict() == {(0, 0): 3, (1, 1): 2,
                                                                 (3, 2): 1}
    assert ev["step"].nunique() == 3
    assert ev.loc[ev.step == 3, "species"].item() == "Equus_kiang"
    assert ev.loc[ev.step == 3, "barrier_class"].item() == "unknown"  # not in the matrix


def test_track_errors():
    fixes = _fixes()
    fence = gpd.GeoDataFrame({"infra_type": ["fence"]},
                             geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:32612")
    with pytest.raises(MissingColumnError, match=r"tracks has no column 'individual'"):
        track_steps(fixes)
    with pytest.raises(GeometryTypeError, match="tracks holds LineString"):
        track_steps(fence.assign(animal="a", time="2020-01-01"), individual="animal",
                    timestamp="time")
    bad = fixes.assign(time=["2020-01-01", "no time", None, None, None, None])
    with pytest.raises(SchemaError, match="could not be read as time stamps"):
        track_steps(bad, individual="animal", timestamp="time")
    gap = fixes.assign(time=fixes["time"].where(fixes.index != "q"))
    with pytest.raises(SchemaError, match=r"1 fix\(es\) have no time stamp in 'time'"):
        track_steps(gap, individual="animal", timestamp="time")
    nogeom = fixes.copy()
    nogeom.loc["q", "geometry"] = None
    with pytest.raises(SchemaError, match=r"1 fix\(es\) have no geometry"):
        track_steps(nogeom, individual="animal", timestamp="time")
    with pytest.raises(CRSError, match="infrastructure has no CRS"):
        track_crossings(fixes, fence.set_crs(None, allow_override=True), individual="animal",
                        timestamp="time")


@pytest.fixture(scope="module")
def baba_file(real_data):
    return real_data / "tracking/baba_wyoming_pronghorn_muledeer_fences.gpkg"


@pytest.mark.parametrize(
    ("layer", "expected"),
    [("pronghorn_fixes", {"102_2014": 372, "103_2014": 361}),
     ("muleDeer_fixes", {"416_2014": 144, "419_2014": 193})],
)
def test_baba_reference_counts(baba_file, layer, expected):
    """PROVENANCE.md §8c: steps intersecting any fence, per animal."""
    fixes = gpd.read_file(baba_file, layer=layer)
    fences = gpd.read_file(baba_file, layer="fences").assign(infra_type="fence")
    assert fixes.crs == "EPSG:32612"
    ev = track_crossings(fixes, fences, individual="animal_id", timestamp="timestamp_utc")
    assert ev.groupby("individual")["step"].nunique().to_dict() == expected
    assert len(ev) >= sum(expected.values())
    assert set(ev["barrier_class"]) == {"unknown"}  # North American species: not rated
    steps = track_steps(fixes, individual="animal_id", timestamp="timestamp_utc")
    assert len(steps) == len(fixes) - 2
    assert np.median(steps["duration_h"]) == 2.0
