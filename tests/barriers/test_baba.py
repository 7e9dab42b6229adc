"""Tests of cami_atlas.barriers.baba (Barrier Behaviour Analysis, Xu et al. 2021).

Synthetic tracks (named as such) are built in code so that each behaviour class can be
derived by hand; the real pronghorn / mule deer fixes and fences of the BaBA R package are
checked against an independent loop-based computation written here from the R logic.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Point, Polygon

from cami_atlas.barriers.baba import BABA_CLASSES, BabaResult, baba, barrier_ranking
from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    MissingColumnError,
    OptionError,
    SchemaError,
)

UTM = "EPSG:32612"
FENCE = gpd.GeoDataFrame({"fence_id": [7]}, geometry=[LineString([(-100_000, 0), (100_000, 0)])],
                         crs=UTM)


def _track(coords, *, individual="a1", start="2014-01-01", step_h=2.0, times=None):
    """Synthetic 2-hourly track through ``coords`` (metres, EPSG:32612)."""
    if times is None:
        times = pd.date_range(start, periods=len(coords), freq=pd.Timedelta(hours=step_h),
                              tz="UTC")
    return gpd.GeoDataFrame({"individual": individual, "timestamp": times},
                            geometry=[Point(c) for c in coords], crs=UTM)


def _zigzag(n, x0, *, y0=5000.0, dx=1000.0, amp=800.0):
    """Tortuous synthetic movement far from the fence (amplitudes 1-3 x amp)."""
    k = np.arange(n)
    return [(x0 + dx * i, y0 + amp * (-1) ** i * (1 + i % 3)) for i in k]


def _window_stats(coords, start_idx, n_event, hours_half=84, interval=2.0):
    """Mean/sd of straightness of all windows of n_event fixes within +-w/2 (regular track)."""
    xy = np.asarray(coords, dtype=float)
    lo = max(0, start_idx - int(hours_half / interval))
    hi = min(len(xy) - 1, start_idx + n_event - 1 + int(hours_half / interval))
    vals = []
    for s in range(lo, hi - n_event + 2):
        p = xy[s:s + n_event]
        path = np.hypot(*np.diff(p, axis=0).T).sum()
        vals.append(np.hypot(*(p[-1] - p[0])) / path)
    return np.mean(vals), np.std(vals, ddof=1), len(vals)


# ------------------------------------------------------------- short events (hand cases)


def test_quick_cross_single_fix_that_crosses():
    fixes = _track([(0, -3000), (0, -1500), (0, -50), (0, 1500), (0, 3000)])
    enc = baba(fixes, FENCE, d=100).encounters
    assert enc["classification"].tolist() == ["Quick_Cross"]
    assert enc["crossings"].tolist() == [1]
    assert enc["n_fixes"].tolist() == [1]
    assert enc["duration_h"].tolist() == [0.0]
    # tested path = fix before .. fix after
    assert enc.geometry.iloc[0].equals(LineString([(0, -1500), (0, -50), (0, 1500)]))


def test_bounce_short_encounter_without_crossing():
    fixes = _track([(0, -3000), (0, -1500), (0, -60), (100, -40), (0, -1500), (0, -3000)])
    enc = baba(fixes, FENCE, d=100).encounters
    assert enc["classification"].tolist() == ["Bounce"]
    assert enc["crossings"].tolist() == [0]
    assert enc["n_fixes"].tolist() == [2]
    assert enc["duration_h"].tolist() == [2.0]
    assert enc["easting"].tolist() == [0.0] and enc["northing"].tolist() == [-60.0]


def test_short_event_at_track_start_without_crossing_is_unknown():
    # no fix before the event: BaBA cannot tell whether the animal crossed
    fixes = _track([(0, -50), (0, -1500), (0, -3000)])
    assert baba(fixes, FENCE, d=100).encounters["classification"].tolist() == ["unknown"]


def test_short_event_at_track_start_with_crossing_is_quick_cross():
    fixes = _track([(0, 50), (0, -1500), (0, -3000)])
    assert baba(fixes, FENCE, d=100).encounters["classification"].tolist() == ["Quick_Cross"]


def test_b_time_boundary_is_inclusive():
    # 3 fixes = 4 h = b_time: still short
    fixes = _track([(0, -3000), (0, -1500), (0, -50), (300, -50), (600, -50), (0, -1500)])
    enc = baba(fixes, FENCE, d=100).encounters
    assert enc["duration_h"].tolist() == [4.0]
    assert enc["classification"].tolist() == ["Bounce"]


# ------------------------------------------------------- long events (hand cases)


def _trace_track(event):
    before = _zigzag(50, -60_000)
    approach = [(-10_000, 3000), (-9000, 1500), (-8000, 400)]
    after = [(2000, 400), (3000, 1500), (4000, 3000)]
    tail = _zigzag(50, 5000)
    coords = before + approach + event + after + tail
    return coords, len(before) + len(approach)


def test_trace_straight_run_along_the_fence():
    event = [(-7000 + 1000 * i, 50) for i in range(9)]  # 9 fixes = 16 h, straight, no cross
    coords, i0 = _trace_track(event)
    enc = baba(_track(coords), FENCE, d=100).encounters
    assert len(enc) == 1
    row = enc.iloc[0]
    assert row["classification"] == "Trace"
    assert row["crossings"] == 0
    assert row["straightness"] == 1.0
    assert row["duration_h"] == 16.0
    mean, sd, n = _window_stats(coords, i0, len(event))
    assert n >= (168 / 2 + 1) / 4
    assert mean + sd < 1.0  # why it is a trace
    assert row["straightness_mean"] == pytest.approx(mean, rel=1e-12)
    assert row["straightness_sd"] == pytest.approx(sd, rel=1e-12)


def test_trace_with_more_crossings_than_max_cross_is_unknown():
    event = [(-7000 + 1000 * i, 50) for i in range(9)]
    coords, _ = _trace_track(event)
    spur = gpd.GeoDataFrame({"fence_id": [7, 8]},
                            geometry=[FENCE.geometry.iloc[0], LineString([(-3500, 20), (-3500, 80)])],
                            crs=UTM)
    fixes = _track(coords)
    assert baba(fixes, spur, d=100).encounters["classification"].tolist() == ["unknown"]
    enc = baba(fixes, spur, d=100, max_cross=1).encounters
    assert enc["classification"].tolist() == ["Trace"]
    assert enc["crossings"].tolist() == [1]


def test_back_and_forth_along_the_fence():
    before = [(-60_000 + 1000 * i, 5000 + 100 * (-1) ** i) for i in range(50)]
    approach = [(-10_000, 3000), (-5000, 1500), (-1000, 400)]
    event = [(800 * (i % 2), 50) for i in range(9)]  # paces 0-800-0-..., ends where it began
    after = [(1000, 400), (5000, 1500), (10_000, 3000)]
    tail = [(12_000 + 1000 * i, 5000 + 100 * (-1) ** i) for i in range(50)]
    coords = before + approach + event + after + tail
    enc = baba(_track(coords), FENCE, d=100).encounters
    assert enc["classification"].tolist() == ["Back_n_forth"]
    assert enc["straightness"].tolist() == [0.0]
    mean, sd, _ = _window_stats(coords, len(before) + len(approach), len(event))
    assert mean - sd > 0.0


def test_average_movement_when_as_straight_as_usual():
    # the whole synthetic track is one straight line at 1000 m / 2 h, 50 m beside a fence
    # 10 km long: every window has straightness exactly 1 and sd 0, so the event is average
    coords = [(-100_000 + 1000 * i, 50) for i in range(201)]
    fence = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (10_000, 0)])], crs=UTM)
    enc = baba(_track(coords), fence, d=100).encounters
    assert len(enc) == 1
    row = enc.iloc[0]
    # fixes at x = -50 .. 10050 are within 100 m: x = 0 .. 10000 -> 11 fixes, 20 h
    assert row["n_fixes"] == 11 and row["duration_h"] == 20.0
    assert row["straightness"] == 1.0
    assert row["straightness_mean"] == 1.0 and row["straightness_sd"] == 0.0
    assert row["classification"] == "Average_Movement"


def test_long_stay_beyond_p_time_is_trapped():
    before = _zigzag(20, -40_000)
    event = [(-1000 + 100 * (i % 5), 50 - 10 * (i % 3)) for i in range(20)]  # 38 h > 36 h
    after = _zigzag(20, 2000)
    enc = baba(_track(before + event + after), FENCE, d=100).encounters
    assert enc["duration_h"].tolist() == [38.0]
    assert enc["classification"].tolist() == ["Trapped"]
    assert np.isnan(enc["straightness_mean"].iloc[0])


def test_straight_run_longer_than_p_time_is_trapped_not_trace():
    # BaBA checks duration first: 19 fixes = 36 h is still classified by straightness,
    # 20 fixes = 38 h is trapped however straight
    before, after = _zigzag(50, -80_000), _zigzag(50, 30_000)
    for n_fix, expected in ((19, "Trace"), (20, "Trapped")):
        event = [(-20_000 + 1000 * i, 50) for i in range(n_fix)]
        coords = [*before, (-22_000, 400), *event, (event[-1][0] + 1000, 400), *after]
        enc = baba(_track(coords), FENCE, d=100).encounters
        assert enc["classification"].tolist() == [expected], n_fix


def test_too_few_reference_windows_is_unknown():
    # the track starts just before the event: too little movement around it
    event = [(-7000 + 1000 * i, 50) for i in range(9)]
    coords = [(-9000, 1500), (-8000, 400), *event, (2000, 400)]
    enc = baba(_track(coords), FENCE, d=100).encounters
    assert enc["classification"].tolist() == ["unknown"]


def test_exclude_buffer_removes_encounter_fixes_from_reference():
    event = [(-7000 + 1000 * i, 50) for i in range(9)]
    coords, i0 = _trace_track(event)
    enc = baba(_track(coords), FENCE, d=100, exclude_buffer=True).encounters
    # without the 9 event fixes the windows spanning the event are broken (4 h step);
    # the reference is the windows entirely before or entirely after the event
    xy = np.asarray(coords, float)
    keep = np.r_[np.arange(max(0, i0 - 42), i0), np.arange(i0 + 9, min(len(xy), i0 + 8 + 43))]
    vals = []
    for part in (keep[keep < i0], keep[keep > i0]):
        for s in range(len(part) - 8):
            p = xy[part[s:s + 9]]
            vals.append(np.hypot(*(p[-1] - p[0])) / np.hypot(*np.diff(p, axis=0).T).sum())
    assert enc["straightness_mean"].iloc[0] == pytest.approx(np.mean(vals), rel=1e-12)
    assert enc["straightness_sd"].iloc[0] == pytest.approx(np.std(vals, ddof=1), rel=1e-12)


# ------------------------------------------------------------- events and tolerance


def test_tolerance_bridges_a_fix_outside_the_buffer():
    coords = [(0, -3000), (0, -1500), (0, -50), (0, -400), (0, 50), (0, 1500), (0, 3000)]
    fixes = _track(coords)
    enc0 = baba(fixes, FENCE, d=100).encounters
    assert enc0["classification"].tolist() == ["Bounce", "Quick_Cross"]
    assert enc0["burst_id"].tolist() == ["a1_1", "a1_2"]
    enc2 = baba(fixes, FENCE, d=100, tolerance=2).encounters
    assert enc2["n_fixes"].tolist() == [3]
    assert enc2["duration_h"].tolist() == [4.0]
    assert enc2["classification"].tolist() == ["Quick_Cross"]


def test_gap_splits_events_and_individuals_are_separate():
    times = pd.to_datetime(["2014-01-01 00:00", "2014-01-01 02:00", "2014-01-01 04:00",
                            "2014-01-01 08:00", "2014-01-01 10:00"], utc=True)
    a = _track([(0, -3000), (0, -50), (0, -40), (0, -30), (0, -3000)], times=times)
    b = _track([(0, 3000), (0, 50), (0, -3000)], individual="b2")
    fixes = pd.concat([b, a], ignore_index=True)  # unsorted on purpose
    enc = baba(fixes, FENCE, d=100).encounters
    assert enc["burst_id"].tolist() == ["a1_1", "a1_2", "b2_1"]
    assert enc["n_fixes"].tolist() == [2, 1, 1]
    assert enc["classification"].tolist() == ["Bounce", "Bounce", "Quick_Cross"]


def test_no_encounter_gives_empty_result():
    res = baba(_track([(0, 5000), (0, 6000), (0, 7000)]), FENCE, d=100)
    assert len(res.encounters) == 0
    assert list(res.encounters.columns[:13]) == [
        "individual", "burst_id", "easting", "northing", "start_time", "end_time", "duration_h",
        "n_fixes", "crossings", "straightness", "straightness_mean", "straightness_sd",
        "classification"]
    assert res.barrier_ranking["total_encounters"].tolist() == [0]
    assert res.counts.sum() == 0


# ------------------------------------------------------------------------- ranking


def test_ranking_formula_on_two_segments():
    fences = gpd.GeoDataFrame({"name": ["A", "B", "far"]},
                              geometry=[LineString([(0, 0), (1000, 0)]),
                                        LineString([(2000, 0), (3000, 0)]),
                                        LineString([(0, 90_000), (1, 90_000)])],
                              crs=UTM, index=[10, 20, 30])
    ev = pd.DataFrame({
        "individual": ["a", "b", "a", "a", "c"],
        "easting": [100, 500, 900, 2500, 1500],
        "northing": [10, -20, 5, 5, 0],
        "classification": ["Bounce", "Quick_Cross", "Trace", "Quick_Cross", "Trapped"],
    })
    r = barrier_ranking(ev, fences, d=600)  # the event at x=1500 is within 600 m of A and B
    assert r.index.tolist() == [10, 20, 30] and r.crs == fences.crs
    assert r["name"].tolist() == ["A", "B", "far"]
    # A: Bounce(a), Quick_Cross(b), Trace(a), Trapped(c) -> altered 3 of 4, 3 individuals
    # B: Quick_Cross(a), Trapped(c) -> altered 1 of 2, 2 individuals
    assert r["total_encounters"].tolist() == [4, 2, 0]
    assert r["altered_encounters"].tolist() == [3, 1, 0]
    assert r["n_individuals"].tolist() == [3, 2, 0]
    assert r["Trapped"].tolist() == [1, 1, 0]
    assert r["index"].iloc[0] == pytest.approx(3 / 4 * 3)
    assert r["index"].iloc[1] == pytest.approx(1 / 2 * 2)
    assert np.isnan(r["index"].iloc[2])
    assert r["index_rescaled"].iloc[:2].tolist() == [1.0, 0.0]
    # only A has >= 3 events: a single index cannot be rescaled (R gives NaN too)
    r3 = barrier_ranking(ev, fences, d=600, min_total_enc=3)
    assert r3["index"].iloc[0] == pytest.approx(2.25) and np.isnan(r3["index"].iloc[1])
    assert r3["index_rescaled"].isna().all()


def test_ranking_accepts_geoseries_and_checks_columns():
    s = gpd.GeoSeries([LineString([(0, 0), (10, 0)])], crs=UTM)
    ev = pd.DataFrame({"individual": ["a"], "easting": [5.0], "northing": [1.0],
                       "classification": ["Bounce"]})
    r = barrier_ranking(ev, s, d=5)
    assert r["index"].tolist() == [1.0]
    with pytest.raises(MissingColumnError, match="no column 'classification'"):
        barrier_ranking(ev.drop(columns="classification"), s, d=5)
    with pytest.raises(SchemaError, match="outside"):
        barrier_ranking(ev.assign(classification="bounce"), s, d=5)
    with pytest.raises(CRSError, match="geographic"):
        barrier_ranking(ev, s.set_crs("EPSG:4326", allow_override=True), d=5)


# ------------------------------------------------------------- types and immutability


def test_output_types_crs_and_input_unchanged():
    fixes = _track([(0, -3000), (0, -1500), (0, -50), (0, 1500), (0, 3000)])
    fixes.index = [5, 4, 3, 2, 1]
    before = fixes.copy()
    fence = FENCE.set_index(pd.Index([42]))
    res = baba(fixes, fence, d=100)
    assert isinstance(res, BabaResult)
    assert isinstance(res.encounters, gpd.GeoDataFrame)
    assert res.encounters.crs == fixes.crs
    assert str(res.encounters["start_time"].dt.tz) == "UTC"
    assert res.barrier_ranking.index.tolist() == [42]
    assert res.barrier_ranking["fence_id"].tolist() == [7]
    assert list(res.counts.index) == list(BABA_CLASSES)
    assert res.interval == 2.0 and res.units == "hours" and res.d == 100.0
    pd.testing.assert_frame_equal(fixes, before)


def test_naive_timestamps_are_utc_and_units_option():
    fixes = _track([(0, -3000), (0, -1500), (0, -50), (0, 1500), (0, 3000)])
    naive = fixes.assign(timestamp=fixes["timestamp"].dt.tz_localize(None))
    r1 = baba(naive, FENCE, d=100)
    assert r1.encounters["start_time"].iloc[0] == pd.Timestamp("2014-01-01 04:00", tz="UTC")
    r2 = baba(fixes, FENCE, d=100, units="mins", b_time=240, p_time=2160, w=10080)
    assert r2.interval == 120.0
    assert r2.encounters["classification"].tolist() == ["Quick_Cross"]


def test_custom_column_names():
    fixes = _track([(0, -3000), (0, -1500), (0, -50), (0, 1500)]).rename(
        columns={"individual": "animal_id", "timestamp": "timestamp_utc"})
    enc = baba(fixes, FENCE, d=100, individual="animal_id", timestamp="timestamp_utc").encounters
    assert enc["individual"].tolist() == ["a1"]
    # the old names work for one more release, with a DeprecationWarning
    with pytest.warns(DeprecationWarning) as caught:
        old = baba(fixes, FENCE, d=100, individual_col="animal_id",
                   time_col="timestamp_utc").encounters
    assert [str(w.message).split(";")[0] for w in caught] == [
        "baba(individual_col=...) is deprecated", "baba(time_col=...) is deprecated"]
    pd.testing.assert_frame_equal(pd.DataFrame(old), pd.DataFrame(enc))


def test_r_column_names():
    fixes = _track([(0, -3000), (0, -1500), (0, -50), (0, 1500)])
    res = baba(fixes, FENCE, d=100)
    r = res.to_r()
    assert list(r.columns) == ["AnimalID", "burstID", "easting", "northing", "start_time",
                               "end_time", "duration", "cross", "str_i", "str_mean", "str_sd",
                               "eventTYPE"]
    assert r["eventTYPE"].tolist() == res.encounters["classification"].tolist()
    # duration in the result's units: minutes here
    # barrier_ranking reads the R-named table too
    pd.testing.assert_frame_equal(pd.DataFrame(barrier_ranking(r, FENCE, d=100)),
                                  pd.DataFrame(res.barrier_ranking))
    mins = baba(fixes, FENCE, d=100, units="mins", b_time=240, p_time=2160, w=10080)
    np.testing.assert_allclose(mins.to_r()["duration"], mins.encounters["duration_h"] * 60)


def test_tracks_of_two_layers_are_not_merged():
    a = _track([(0, -3000), (0, -1500), (0, -50), (0, 1500)])
    b = a.assign(geometry=a.geometry.translate(3000, 0))  # same collar id, another study
    both = pd.concat([a.assign(layer="study_a"), b.assign(layer="study_b")], ignore_index=True)
    enc = baba(gpd.GeoDataFrame(both, crs=a.crs), FENCE, d=100).encounters
    assert sorted(enc["individual"]) == ["study_a:a1", "study_b:a1"]


# --------------------------------------------------------------------------- errors


def test_latlon_fixes_raise_crs_error_with_utm_hint():
    fixes = _track([(500_000, 4_700_000), (501_000, 4_700_000)]).to_crs("EPSG:4326")
    with pytest.raises(CRSError, match=r"geographic.*to_crs\('EPSG:32612'\)"):
        baba(fixes, FENCE.to_crs("EPSG:4326"), d=100)


def test_crs_mismatch_and_non_metre_crs():
    fixes = _track([(0, -3000), (0, -1500)])
    with pytest.raises(CRSError, match="reproject the barriers"):
        baba(fixes, FENCE.to_crs("EPSG:32613"), d=100)
    feet = fixes.to_crs("EPSG:2277")  # Texas central, US feet
    with pytest.raises(CRSError, match="not metres"):
        baba(feet, FENCE.to_crs("EPSG:2277"), d=100)


def test_missing_column_suggests_the_closest_name():
    fixes = _track([(0, -3000), (0, -1500)]).rename(columns={"individual": "individul"})
    with pytest.raises(MissingColumnError, match="Did you mean 'individul'"):
        baba(fixes, FENCE, d=100)


def test_bad_inputs_raise():
    fixes = _track([(0, -3000), (0, -1500), (0, -50)])
    with pytest.raises(SchemaError, match="not datetime"):
        baba(fixes.assign(timestamp="2014"), FENCE, d=100)
    with pytest.raises(SchemaError, match="missing timestamps"):
        baba(fixes.assign(timestamp=fixes["timestamp"].where(fixes.index != 1)), FENCE, d=100)
    poly = gpd.GeoDataFrame(geometry=[Polygon([(0, 0), (1, 0), (1, 1)])], crs=UTM)
    with pytest.raises(GeometryTypeError, match="Polygon"):
        baba(fixes, poly, d=100)
    multi = fixes.copy()
    multi.loc[0, "geometry"] = shapely.MultiPoint([(0, 0), (1, 1)])
    with pytest.raises(GeometryTypeError, match="explode"):
        baba(multi, FENCE, d=100)
    with pytest.raises(SchemaError, match="GeoDataFrame"):
        baba(pd.DataFrame(fixes), FENCE, d=100)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"d": 0}, "d=0"),
    ({"d": 100, "b_time": 3}, "not a multiple of the interval"),
    ({"d": 100, "p_time": 35}, "p_time=35"),
    ({"d": 100, "b_time": 1, "p_time": 36}, "shorter than the interval"),
    ({"d": 100, "interval": 1}, "smaller than the most frequent time step"),
    ({"d": 100, "units": "hour"}, "Did you mean 'hours'"),
    ({"d": 100, "w": "week"}, "not a number"),
])
def test_invalid_options(kwargs, match):
    fixes = _track([(0, -3000), (0, -1500), (0, -50)])
    with pytest.raises(OptionError, match=match):
        baba(fixes, FENCE, **kwargs)


def test_interval_inference_requires_equal_intervals():
    a = _track([(0, -3000), (0, -1500), (0, -50)])
    b = _track([(0, -3000), (0, -1500), (0, -50)], individual="b", step_h=1)
    with pytest.raises(OptionError, match=r"differ \(a1: 2, b: 1\)"):
        baba(pd.concat([a, b], ignore_index=True), FENCE, d=100)
    # an explicit interval no smaller than every individual's works
    res = baba(pd.concat([a, b], ignore_index=True), FENCE, d=100, interval=2)
    assert res.interval == 2.0


def test_interval_mode_and_round_fixes():
    # steps 2, 2, 2.1, 2.1, 2.1 h: the mode is 2.1 unless rounded to whole hours
    times = pd.Timestamp("2014-01-01", tz="UTC") + pd.to_timedelta(
        np.cumsum([0, 2, 2, 2.1, 2.1, 2.1]), unit="h")
    fixes = _track([(0, -3000 - 100 * i) for i in range(6)], times=times)
    with pytest.raises(OptionError, match="b_time=4 hours is not a multiple"):
        baba(fixes, FENCE, d=100)
    assert baba(fixes, FENCE, d=100, round_fixes=True).interval == 2.0


# ------------------------------------------------------------------------ real data


def _reference_baba(fixes, fences, *, d, max_cross=0, interval=2.0, b_time=4, p_time=36, w=168):
    """Loop-based BaBA written from the R package's logic, event by event, window by window.

    Events are keyed like R (cumulative sum of rounded excess steps); the test also checks
    that no key is reused by non-contiguous fixes in the example data.
    """
    buf = shapely.union_all(shapely.buffer(fences.geometry.values, d, quad_segs=5))
    fence_geoms = np.asarray(fences.geometry.values)
    rows = []
    for animal, a in fixes.sort_values(["animal_id", "timestamp_utc"]).groupby("animal_id"):
        hrs = ((a["timestamp_utc"] - a["timestamp_utc"].iloc[0]).dt.total_seconds() / 3600).to_numpy()
        xy = np.c_[a.geometry.x.to_numpy(), a.geometry.y.to_numpy()]
        enc = np.flatnonzero(shapely.intersects(buf, shapely.points(xy))).tolist()
        events, total = {}, 0.0
        for j, i in enumerate(enc):
            total += 0.0 if j == 0 else round(hrs[i] - hrs[enc[j - 1]] - interval, 1)
            events.setdefault(round(total, 1), []).append(i)

        def straightness(idx, xy=xy):
            if len(idx) < 2:
                return np.nan
            p = xy[idx]
            path = sum(float(np.hypot(*(p[q + 1] - p[q]))) for q in range(len(p) - 1))
            return float(np.hypot(*(p[-1] - p[0]))) / path if path > 0 else np.nan

        for idx in events.values():
            assert idx == list(range(idx[0], idx[-1] + 1)), "R would merge separate events"
            start, end = hrs[idx[0]], hrs[idx[-1]]
            dur = end - start
            if dur <= b_time:
                path = list(range(max(idx[0] - 1, 0), min(idx[-1] + 1, len(xy) - 1) + 1))
            else:
                path = idx
            line = LineString(xy[path]) if len(path) > 1 else None
            cross = 0 if line is None else int(
                shapely.get_num_coordinates(shapely.intersection(line, fence_geoms)).sum())
            if dur <= b_time:
                cls = ("unknown" if cross == 0 and len(path) != len(idx) + 2
                       else "Bounce" if cross == 0 else "Quick_Cross")
            elif dur > p_time:
                cls = "Trapped"
            else:
                win = [i for i in range(len(xy)) if start - w / 2 <= hrs[i] <= end + w / 2]
                sections = [[win[0]]]
                for q in range(1, len(win)):
                    if round(hrs[win[q]] - hrs[win[q - 1]], 1) == interval:
                        sections[-1].append(win[q])
                    else:
                        sections.append([win[q]])
                vals = []
                for sec in sections:
                    if hrs[sec[-1]] - hrs[sec[0]] >= dur:
                        n_start = next(q for q in range(len(sec)) if hrs[sec[q]] > hrs[sec[-1]] - dur)
                        vals += [straightness(sec[q:q + int(dur / interval) + 1]) for q in range(n_start)]
                s_i = straightness(idx)
                if len(vals) >= (w / interval + 1) / 4:
                    mean, sd = np.mean(vals), np.std(vals, ddof=1)
                    if s_i < mean - sd:
                        cls = "Back_n_forth" if cross <= max_cross else "unknown"
                    elif s_i > mean + sd:
                        cls = "Trace" if cross <= max_cross else "unknown"
                    else:
                        cls = "Average_Movement"
                else:
                    cls = "unknown"
            rows.append((animal, a["timestamp_utc"].iloc[idx[0]], len(idx), cross, cls))
    return pd.DataFrame(rows, columns=["individual", "start_time", "n_fixes", "crossings",
                                       "classification"])


# Counts with the package defaults for the package's example calls
# (BaBA(pronghorn, fences, d = 110, max_cross = 4); BaBA(muleDeer, fences, d = 90)).
PRONGHORN_COUNTS = {"Quick_Cross": 233, "Bounce": 203, "Average_Movement": 37,
                    "Back_n_forth": 15, "Trace": 10, "Trapped": 0, "unknown": 0}
MULE_DEER_COUNTS = {"Quick_Cross": 112, "Bounce": 50, "Average_Movement": 20,
                    "Back_n_forth": 1, "Trace": 3, "Trapped": 0, "unknown": 15}


@pytest.mark.parametrize(("layer", "kwargs", "expected", "fixes_in_buffer"), [
    ("pronghorn_fixes", {"d": 110, "max_cross": 4}, PRONGHORN_COUNTS, 486 + 480),
    ("muleDeer_fixes", {"d": 90}, MULE_DEER_COUNTS, 152 + 314),
])
def test_real_wyoming_example_data(real_data, layer, kwargs, expected, fixes_in_buffer):
    path = real_data / "tracking" / "baba_wyoming_pronghorn_muledeer_fences.gpkg"
    fences = gpd.read_file(path, layer="fences")
    fixes = gpd.read_file(path, layer=layer)
    res = baba(fixes, fences, individual="animal_id", timestamp="timestamp_utc", **kwargs)
    assert res.interval == 2.0  # inferred, as the README's interval = 2 hours
    assert res.counts.to_dict() == expected
    # every fix within d of a fence is in exactly one event (PROVENANCE.md counts)
    assert int(res.encounters["n_fixes"].sum()) == fixes_in_buffer
    ref = _reference_baba(fixes, fences, **kwargs)
    enc = res.encounters
    assert len(ref) == len(enc)
    np.testing.assert_array_equal(ref["classification"], enc["classification"])
    np.testing.assert_array_equal(ref["crossings"], enc["crossings"])
    np.testing.assert_array_equal(ref["n_fixes"], enc["n_fixes"])
    assert (ref["start_time"].to_numpy() == enc["start_time"].to_numpy()).all()
    rank = res.barrier_ranking
    assert len(rank) == len(fences) and rank.index.equals(fences.index)
    assert rank["index_rescaled"].max() == 1.0 and rank["index_rescaled"].min() == 0.0
    # every event counts for at least one fence (its first fix is within d of one)
    assert rank["total_encounters"].sum() >= len(enc)


def test_remaining_error_paths():
    fixes = _track([(0, -3000), (0, -1500), (0, -50)])
    with pytest.raises(EmptyLayerError, match="no rows"):
        baba(fixes.iloc[:0], FENCE, d=100)
    with pytest.raises(EmptyLayerError, match="no \\(non-empty\\) geometries"):
        baba(fixes, FENCE.iloc[:0], d=100)
    with pytest.raises(SchemaError, match="missing individual ids"):
        baba(fixes.assign(individual=[None, "a", "a"]), FENCE, d=100)
    with pytest.raises(OptionError, match="no individual has two fixes"):
        baba(fixes.iloc[:1], FENCE, d=100)
    assert baba(fixes.iloc[:1], FENCE, d=100, interval=2).counts.sum() == 0
    ev = baba(fixes, FENCE, d=100).encounters
    with pytest.raises(CRSError, match="encounters are in"):
        barrier_ranking(ev, FENCE.to_crs("EPSG:32613"), d=100)
    with pytest.raises(SchemaError, match="GeoDataFrame or GeoSeries of lines"):
        baba(fixes, [FENCE.geometry.iloc[0]], d=100)
