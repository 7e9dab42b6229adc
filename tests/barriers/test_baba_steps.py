"""Tests of the named steps of cami_atlas.barriers.baba (Barrier Behaviour Analysis).

Each step is fed a small synthetic table (named as such, built in code) whose result can
be worked out by hand; the last test checks that the steps chained by hand give exactly
what :func:`baba` gives.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import LineString, Point

from cami_atlas.barriers.baba import (
    assemble_encounters,
    baba,
    classify_long_events,
    classify_short_events,
    count_crossings,
    crossing_paths,
    encounter_events,
    mark_encounters,
    prepare_fixes,
    sampling_interval,
)
from cami_atlas.errors import CRSError, OptionError, SchemaError

UTM = "EPSG:32612"
FENCE = gpd.GeoDataFrame({"fence_id": [7]}, geometry=[LineString([(-100_000, 0), (100_000, 0)])],
                         crs=UTM)
T0 = pd.Timestamp("2014-01-01", tz="UTC")


def _fixes(coords, *, individual="a1", hours=None):
    """Synthetic fixes through ``coords`` (metres), 2-hourly unless ``hours`` given."""
    hours = [2.0 * i for i in range(len(coords))] if hours is None else hours
    individual = [individual] * len(coords) if isinstance(individual, str) else individual
    return gpd.GeoDataFrame(
        {"individual": individual, "timestamp": [T0 + pd.Timedelta(hours=h) for h in hours]},
        geometry=[Point(c) for c in coords], crs=UTM)


def _track(x, *, y=None, event=None, step_h=2.0):
    """A synthetic track table as prepare_fixes / mark_encounters give it (one animal)."""
    n = len(x)
    y = [0.0] * n if y is None else y
    t = pd.DataFrame({"individual": "a1", "ind": np.zeros(n, dtype=np.int64),
                      "time_s": [3600.0 * step_h * i for i in range(n)],
                      "x": np.asarray(x, float), "y": np.asarray(y, float)})
    t["timestamp"] = T0 + pd.to_timedelta(t["time_s"], unit="s")
    if event is not None:
        t["event"] = np.asarray(event, dtype=np.int64)
    return gpd.GeoDataFrame(t, geometry=gpd.points_from_xy(t["x"], t["y"]), crs=UTM)


# ------------------------------------------------------------------------- prepare_fixes


def test_prepare_fixes_sorts_by_individual_then_time():
    fixes = _fixes([(5, 5), (1, 1), (0, 0), (7, 7)], individual=["b", "a", "a", "b"],
                   hours=[2, 4, 0, 0])
    fixes.index = [10, 11, 12, 13]
    before = fixes.copy()
    t = prepare_fixes(fixes, FENCE)
    assert isinstance(t, gpd.GeoDataFrame) and t.crs == fixes.crs
    assert t.index.tolist() == [0, 1, 2, 3]
    assert t["individual"].tolist() == ["a", "a", "b", "b"]
    assert t["ind"].tolist() == [0, 0, 1, 1]
    assert t["x"].tolist() == [0.0, 1.0, 7.0, 5.0]
    assert (t["time_s"] - T0.timestamp()).tolist() == [0.0, 4 * 3600.0, 0.0, 2 * 3600.0]
    assert t["timestamp"].iloc[1] == T0 + pd.Timedelta(hours=4)
    assert [(p.x, p.y) for p in t.geometry] == [(0, 0), (1, 1), (7, 7), (5, 5)]
    pd.testing.assert_frame_equal(fixes, before)


def test_prepare_fixes_drops_exact_repeats_with_a_warning():
    fixes = _fixes([(0, 0), (0, 0), (1, 1)], hours=[0, 0, 2])
    with pytest.warns(UserWarning, match="dropped 1 repeated fix"):
        t = prepare_fixes(fixes, FENCE)
    assert len(t) == 2 and t["x"].tolist() == [0.0, 1.0]


def test_prepare_fixes_checks_inputs():
    fixes = _fixes([(0, 0), (1, 1)])
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        prepare_fixes(pd.DataFrame(fixes), FENCE)
    with pytest.raises(CRSError, match="reproject the barriers"):
        prepare_fixes(fixes, FENCE.to_crs("EPSG:32613"))
    with pytest.raises(SchemaError, match="missing individual ids"):
        prepare_fixes(fixes.assign(individual=[None, "a"]), FENCE)


# --------------------------------------------------------------------- sampling_interval


def test_sampling_interval_is_the_most_frequent_step():
    # steps 2, 2, 3 h -> 2 h; ties take the smallest step
    t = _track([0, 0, 0, 0])
    t["time_s"] = [0.0, 7200.0, 14400.0, 25200.0]
    assert sampling_interval(t) == 2.0
    t["time_s"] = [0.0, 7200.0, 18000.0, 21600.0]  # steps 2, 3, 1 h: tie -> 1 h
    assert sampling_interval(t) == 1.0
    assert sampling_interval(t, units="mins", b_time=60, p_time=60) == 60.0
    assert sampling_interval(t, 4.0) == 4.0


def test_sampling_interval_checks_b_time_and_p_time():
    t = _track([0, 0, 0])
    with pytest.raises(OptionError, match="b_time=1 hours is shorter than the interval 2"):
        sampling_interval(t, b_time=1)
    with pytest.raises(OptionError, match="p_time=35 hours is not a multiple"):
        sampling_interval(t, p_time=35)
    with pytest.raises(OptionError, match="smaller than the most frequent time step"):
        sampling_interval(t, 1.0, b_time=2, p_time=2)


# ----------------------------------------------------------------------- mark_encounters


def test_mark_encounters_buffer_and_gaps():
    # y: far, in (50 m), in (-100 m: on the buffer edge), far, in -> events 0 and 1
    fixes = _fixes([(0, -3000), (0, 50), (0, -100), (0, -2000), (0, 60)])
    t = mark_encounters(prepare_fixes(fixes, FENCE), FENCE, d=100, interval=2)
    assert t["in_buffer"].tolist() == [False, True, True, False, True]
    assert t["event"].tolist() == [-1, 0, 0, -1, 1]
    assert t["event"].dtype == np.int64
    # a 101 m buffer: the first fix is still out, nothing else changes
    assert mark_encounters(prepare_fixes(fixes, FENCE), FENCE, d=101,
                           interval=2)["event"].tolist() == [-1, 0, 0, -1, 1]


def test_mark_encounters_tolerance_bridges_the_fix_outside():
    # gap between the encounter fixes 1 and 3 = 4 h = interval + 2 h (excess 2 h)
    fixes = _fixes([(0, -3000), (0, 50), (0, -2000), (0, 60), (0, 3000)])
    track = prepare_fixes(fixes, FENCE)
    assert mark_encounters(track, FENCE, d=100, interval=2)["event"].tolist() == \
        [-1, 0, -1, 1, -1]
    bridged = mark_encounters(track, FENCE, d=100, interval=2, tolerance=2)
    assert bridged["event"].tolist() == [-1, 0, 0, 0, -1]
    assert bridged["in_buffer"].tolist() == [False, True, False, True, False]


def test_mark_encounters_keeps_individuals_apart():
    # a1's last fix and a2's first fix are both in the buffer, 2 h apart in time
    fixes = _fixes([(0, -3000), (0, 50), (0, 40), (0, 3000)],
                   individual=["a1", "a1", "a2", "a2"], hours=[0, 2, 4, 6])
    t = mark_encounters(prepare_fixes(fixes, FENCE), FENCE, d=100, interval=2)
    assert t["event"].tolist() == [-1, 0, 1, -1]


# ---------------------------------------------------------------------- encounter_events


def test_encounter_events_by_hand():
    # event 0: fixes 1-3, path 3 + 4 = 7 m, displacement 5 m; event 1: one fix
    t = _track([9, 0, 3, 3, 9, 9], y=[9, 0, 0, 4, 9, 0], event=[-1, 0, 0, 0, -1, 1])
    ev = encounter_events(t)
    assert ev["first_fix"].tolist() == [1, 5]
    assert ev["last_fix"].tolist() == [3, 5]
    assert ev["n_fixes"].tolist() == [3, 1]
    assert ev["duration_s"].tolist() == [4 * 3600.0, 0.0]
    assert ev["straightness"].iloc[0] == pytest.approx(5 / 7, rel=1e-15)
    assert math.isnan(ev["straightness"].iloc[1])
    assert ev["ind"].tolist() == [0, 0]


def test_encounter_events_degenerate_and_empty():
    t = _track([0, 0, 0], event=[0, 0, 0])  # zero path length
    assert math.isnan(encounter_events(t)["straightness"].iloc[0])
    t = _track([0, 5], event=[0, 0])
    t["time_s"] = [0.0, 0.0]  # two fixes at the same time
    assert math.isnan(encounter_events(t)["straightness"].iloc[0])
    empty = encounter_events(_track([0, 5], event=[-1, -1]))
    assert len(empty) == 0
    assert list(empty.columns) == ["ind", "first_fix", "last_fix", "n_fixes", "duration_s",
                                   "straightness"]


# ----------------------------------------------------------------------- crossing_paths


def test_crossing_paths_short_long_and_track_ends():
    # event 0 at the track start (short: no fix before), event 1 long (3 fixes = 4 h > 2 h)
    x = [0, 1, 2, 3, 4, 5, 6, 7]
    t = _track(x, event=[0, -1, -1, 1, 1, 1, -1, -1])
    p = crossing_paths(t, encounter_events(t), b_time=2)
    assert isinstance(p, gpd.GeoDataFrame) and p.crs == t.crs
    assert p["short"].tolist() == [True, False]
    assert p.geometry.iloc[0].equals(LineString([(0, 0), (1, 0)]))  # to the fix after
    assert p.geometry.iloc[1].equals(LineString([(3, 0), (4, 0), (5, 0)]))  # own fixes
    assert p["n_path_fixes"].tolist() == [2, 3]
    # with b_time = 4 h the second event is short too: fix before .. fix after
    p4 = crossing_paths(t, encounter_events(t), b_time=4)
    assert p4.geometry.iloc[1].equals(LineString([(x_, 0) for x_ in (2, 3, 4, 5, 6)]))
    assert p4["n_path_fixes"].tolist() == [2, 5]


def test_crossing_paths_of_an_animal_with_one_fix():
    t = _track([4], y=[50], event=[0])
    p = crossing_paths(t, encounter_events(t))
    assert p["n_path_fixes"].tolist() == [1]
    assert p.geometry.iloc[0].length == 0.0  # a zero-length line, kept for output


# ---------------------------------------------------------------------- count_crossings


def test_count_crossings_by_hand():
    paths = gpd.GeoDataFrame(
        {"n_path_fixes": [3, 2, 3, 1]},
        geometry=[LineString([(0, -5), (0, 5), (1, -5)]),  # crosses y=0 twice
                  LineString([(0, 1), (0, 5)]),  # no crossing
                  LineString([(-5, 5), (-5, 0), (5, 0)]),  # runs along: piece (-5,0)-(5,0)
                  LineString([(0, -5), (0, 5)])],  # one-fix path: not tested
        crs=UTM)
    out = count_crossings(paths, FENCE)
    assert out["crossings"].tolist() == [2, 0, 2, 0]
    assert out["crossings"].dtype == np.int64
    # two fences: a crossing of each is counted
    two = gpd.GeoSeries([LineString([(-10, 0), (10, 0)]), LineString([(-10, 3), (10, 3)])],
                        crs=UTM)
    assert count_crossings(paths.iloc[:2], two)["crossings"].tolist() == [4, 1]


# ------------------------------------------------------------------ classify_short_events


def test_classify_short_events_table():
    ev = pd.DataFrame({"short": [True, True, True, True, False],
                       "n_fixes": [1, 2, 1, 2, 9],
                       "n_path_fixes": [3, 4, 2, 3, 9],
                       "crossings": [1, 0, 0, 2, 0]})
    out = classify_short_events(ev)
    labels = out["classification"].tolist()
    assert labels[:4] == ["Quick_Cross", "Bounce", "unknown", "Quick_Cross"]
    assert pd.isna(labels[4])
    pd.testing.assert_frame_equal(out.drop(columns="classification"), ev)


# ------------------------------------------------------------------- classify_long_events


def _back_and_forth():
    """Synthetic track: 1 km steps east, except fixes 10-12 (x 10, 11, 10 km).

    With w = 24 h the reference fixes are those within [20 h - 12 h, 24 h + 12 h], i.e.
    fixes 4..18; the 13 stretches of 3 fixes starting at fixes 4..16 have straightness 1
    except those starting at 10 (10, 11, 10 km) and 11 (11, 10, 11 km), which are 0.
    """
    x = [1000.0 * i for i in range(11)] + [11_000.0, 10_000.0]
    x += [11_000.0 + 1000.0 * i for i in range(12)]
    event = [-1] * len(x)
    event[10:13] = [0, 0, 0]
    t = _track(x, event=event)
    ev = crossing_paths(t, encounter_events(t), b_time=2)
    ev = count_crossings(ev, gpd.GeoSeries([LineString([(0, -9), (1, -9)])], crs=UTM))
    return t, classify_short_events(ev)


def test_classify_long_events_back_and_forth_by_hand():
    t, ev = _back_and_forth()
    assert ev["straightness"].iloc[0] == 0.0 and not ev["short"].iloc[0]
    out = classify_long_events(t, ev, interval=2, w=24)
    mean = 11 / 13
    sd = math.sqrt((11 * (1 - mean) ** 2 + 2 * mean ** 2) / 12)
    assert out["straightness_mean"].iloc[0] == pytest.approx(mean, rel=1e-12)
    assert out["straightness_sd"].iloc[0] == pytest.approx(sd, rel=1e-12)
    assert mean - sd > 0.0  # why it is back-and-forth
    assert out["classification"].tolist() == ["Back_n_forth"]
    # three sd of tolerance: within the normal range
    assert classify_long_events(t, ev, interval=2, w=24,
                                sd_multiplier=3)["classification"].tolist() == \
        ["Average_Movement"]
    # a crossing beyond max_cross makes it unknown
    crossed = ev.assign(crossings=1)
    assert classify_long_events(t, crossed, interval=2, w=24)["classification"].tolist() == \
        ["unknown"]
    assert classify_long_events(t, crossed, interval=2, w=24,
                                max_cross=1)["classification"].tolist() == ["Back_n_forth"]


def test_classify_long_events_too_few_windows_and_trapped():
    t, ev = _back_and_forth()
    # w = 2 h: reference fixes 20 h .. 24 h hold one stretch only
    few = classify_long_events(t, ev, interval=2, w=2)
    assert few["classification"].tolist() == ["unknown"]
    # p_time = 2 h < 4 h: trapped, no reference needed
    trapped = classify_long_events(t, ev, interval=2, p_time=2)
    assert trapped["classification"].tolist() == ["Trapped"]
    assert math.isnan(trapped["straightness_mean"].iloc[0])


def test_classify_long_events_exclude_buffer():
    t, ev = _back_and_forth()
    # without the event fixes the reference sections are 4..9 and 13..18 (the gap of
    # 8 h breaks them): 4 + 4 straight stretches -> sd 0, the event is Back_n_forth
    out = classify_long_events(t, ev, interval=2, w=24, exclude_buffer=True)
    assert out["straightness_mean"].iloc[0] == 1.0
    assert out["straightness_sd"].iloc[0] == 0.0
    assert out["classification"].tolist() == ["Back_n_forth"]


# -------------------------------------------------------------------- assemble_encounters


def test_assemble_encounters_numbers_bursts_per_individual():
    fixes = _fixes([(0, -3000), (0, 50), (0, -3000), (0, 60), (0, -70), (0, 80)],
                   individual=["a1", "a1", "a1", "a1", "b2", "b2"], hours=[0, 2, 4, 6, 0, 6])
    t = mark_encounters(prepare_fixes(fixes, FENCE), FENCE, d=100, interval=2)
    ev = classify_short_events(count_crossings(crossing_paths(t, encounter_events(t)), FENCE))
    ev = classify_long_events(t, ev, interval=2)
    enc = assemble_encounters(t, ev)
    assert enc["burst_id"].tolist() == ["a1_1", "a1_2", "b2_1", "b2_2"]
    assert enc["northing"].tolist() == [50.0, 60.0, -70.0, 80.0]
    assert enc["start_time"].tolist() == [T0 + pd.Timedelta(hours=h) for h in (2, 6, 0, 6)]
    assert enc["duration_h"].tolist() == [0.0] * 4
    assert str(enc["start_time"].dt.tz) == "UTC"
    assert enc.crs == fixes.crs


# ------------------------------------------------------------------- the steps = baba()


def test_steps_chained_by_hand_give_baba():
    x, y = np.arange(40) * 500.0 - 10_000.0, 3000.0 * np.sin(np.arange(40) / 3)
    y[[12, 13, 14, 15, 16, 17]] = [50, -40, 60, -30, 20, 80]  # 10 h along the fence: Trace
    fixes = _fixes(list(zip(x, y, strict=True)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        expected = baba(fixes, FENCE, d=100, b_time=4, p_time=36, w=48, max_cross=4,
                        sd_multiplier=0.5, exclude_buffer=True)
    track = prepare_fixes(fixes, FENCE)
    interval = sampling_interval(track)
    track = mark_encounters(track, FENCE, d=100, interval=interval)
    ev = crossing_paths(track, encounter_events(track), b_time=4)
    ev = classify_short_events(count_crossings(ev, FENCE))
    ev = classify_long_events(track, ev, interval=interval, p_time=36, w=48, max_cross=4,
                              sd_multiplier=0.5, exclude_buffer=True)
    got = assemble_encounters(track, ev)
    pd.testing.assert_frame_equal(got, expected.encounters)
    assert got["n_fixes"].tolist() == [1, 6]
    assert got["classification"].tolist() == ["Quick_Cross", "Trace"]
