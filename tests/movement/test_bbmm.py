"""Brownian bridge movement model: estimator, bridge moments, UD, dynamic variant, bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine

from cami_atlas.errors import CamiAtlasError, CRSError, SchemaError
from cami_atlas.movement.bbmm import (
    bridge_moments,
    brownian_bridge_ud,
    dynamic_motion_variance,
    motion_variance,
    paste,
    track_uds,
)
from cami_atlas.raster import Grid

CRS = "EPSG:32648"


def brownian_track(rng, n, sigma2, *, dt_range=(600.0, 7200.0), error_even=0.0):
    """Brownian motion sampled at irregular times; location error on even fixes only
    (the left-out odd fixes are exact, as the leave-one-out likelihood assumes)."""
    dt = rng.uniform(*dt_range, n - 1)
    t = np.r_[0.0, np.cumsum(dt)]
    steps = rng.normal(0, 1, (n - 1, 2)) * np.sqrt(sigma2 * dt)[:, None]
    xy = np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)])
    if error_even:
        xy[0::2] += rng.normal(0, error_even, (len(xy[0::2]), 2))
    return xy[:, 0], xy[:, 1], t


def grid(n=200, cell=100.0, x0=0.0, y0=0.0):
    return Grid(np.zeros((n, n)), Affine(cell, 0, x0, 0, -cell, y0 + n * cell), CRS)


# -- estimator -----------------------------------------------------------------------------
def test_motion_variance_hand_case():
    # one left-out fix: T=4, a=1/4 -> c = 4 * 1/4 * 3/4 = 0.75; mu=(1, 0); d²=9+16=25
    mv = motion_variance(np.array([0, 4.0, 4.0]), np.array([0, 4.0, 0]),
                         np.array([0, 1.0, 4.0]))
    assert mv.sigma2_m2_per_s == pytest.approx(25 / (2 * 0.75))
    assert mv.n_obs == 1
    assert mv.se_m2_per_s == pytest.approx(mv.sigma2_m2_per_s / np.sqrt(1))


def test_variance_recovered_within_standard_error():
    rng = np.random.default_rng(42)
    true = 2.5
    z = []
    for _ in range(200):
        x, y, t = brownian_track(rng, 201, true)
        mv = motion_variance(x, y, t)
        assert mv.n_obs == 100
        z.append((mv.sigma2_m2_per_s - true) / mv.se_m2_per_s)
    z = np.array(z)
    assert np.mean(np.abs(z) < 1.96) >= 0.90  # nominal 95 %
    assert abs(np.mean(z)) < 0.25  # unbiased, within the SE of the mean of z
    assert 0.8 < np.std(z) < 1.25  # the SE is the right size


def test_location_error_estimator_recovers_variance_and_naive_overestimates():
    rng = np.random.default_rng(7)
    true, err = 1.0, 60.0
    z, naive = [], []
    for _ in range(100):
        x, y, t = brownian_track(rng, 301, true, dt_range=(1800, 3600), error_even=err)
        mv = motion_variance(x, y, t, location_error_m=err)
        z.append((mv.sigma2_m2_per_s - true) / mv.se_m2_per_s)
        naive.append(motion_variance(x, y, t).sigma2_m2_per_s)
    z = np.array(z)
    assert np.mean(np.abs(z) < 1.96) >= 0.88
    assert abs(np.mean(z)) < 0.35
    # ignoring error of 60 m adds about (a²+(1-a)²) err² / c ~ 2 * 3600 / 1350 m²/s
    assert np.mean(naive) > 2.0 * true


def test_gap_excludes_triples_across_it():
    x = np.array([0, 10.0, 0, 5000, 5010, 5000])
    t = np.array([0, 1.0, 2, 1000, 1001, 1002])
    mv = motion_variance(x, np.zeros(6), t, max_gap_s=10)
    assert mv.n_obs == 2  # fixes 1 and 4: the two fixes beside the gap are not centres
    assert mv.sigma2_m2_per_s == pytest.approx(100.0)
    with pytest.raises(SchemaError, match="max_gap_s"):
        motion_variance(np.array([0, 1.0, 2]), np.zeros(3), np.array([0, 100.0, 200]),
                        max_gap_s=50)


# -- bridge moments and UD ---------------------------------------------------------------
def test_bridge_moments_formula_with_location_error():
    mx, my, v = bridge_moments(0, 0, 0, 1000, 500, 3600, np.array([0, 900, 3600]),
                               sigma2_m2_per_s=2.0, location_error_m=(30.0, 50.0))
    assert mx.tolist() == [0, 250, 1000]
    assert my.tolist() == [0, 125, 500]
    a = 0.25
    expected = 3600 * a * (1 - a) * 2.0 + (1 - a) ** 2 * 30**2 + a**2 * 50**2
    assert v.tolist() == pytest.approx([900.0, expected, 2500.0])


@pytest.mark.parametrize("errors", [(0.0, 0.0), (150.0, 150.0), (0.0, 300.0)])
def test_two_point_bridge_ud_has_analytical_mean_and_variance(errors):
    # straight bridge along x; across it (y) the UD is the time-mean of N(0, sigma²(t)):
    # var_y = ∫0¹ [T a(1-a) s² + (1-a)² d0² + a² d1²] da = T s²/6 + (d0² + d1²)/3
    g = grid(n=400, cell=25.0)
    s2, big_t = 5.0, 7200.0
    x = np.array([2500.0, 7500.0])
    y = np.array([5000.0, 5000.0])
    ud = brownian_bridge_ud(x, y, np.array([0.0, big_t]), g, sigma2_m2_per_s=s2,
                            location_error_m=np.array(errors), crop=False,
                            time_step_s=10.0)
    assert ud.values.sum() == pytest.approx(1.0, abs=1e-12)
    rows, cols = np.indices(g.shape)
    cx, cy = g.xy(rows, cols)
    w = ud.values
    mean_x, mean_y = (w * cx).sum(), (w * cy).sum()
    var_y = (w * (cy - mean_y) ** 2).sum()
    d0, d1 = errors
    expected_var = big_t * s2 / 6 + (d0**2 + d1**2) / 3
    # mean_x is the time mean of the bridge mean: the midpoint
    assert mean_x == pytest.approx(5000.0, abs=1.0)
    assert mean_y == pytest.approx(5000.0, abs=1e-6)
    # cell discretisation adds cell²/12 to a variance measured at cell centres
    assert var_y == pytest.approx(expected_var + 25.0**2 / 12, rel=2e-3)


def test_location_error_widens_ud_by_the_formula():
    g = grid(n=400, cell=25.0)
    args = (np.array([2500.0, 7500.0]), np.array([5000.0, 5000.0]), np.array([0.0, 3600.0]))
    rows, cols = np.indices(g.shape)
    _, cy = g.xy(rows, cols)

    def var_y(err):
        ud = brownian_bridge_ud(*args, g, sigma2_m2_per_s=3.0, location_error_m=err,
                                crop=False, time_step_s=10.0).values
        return (ud * (cy - 5000.0) ** 2).sum()

    assert var_y(200.0) - var_y(0.0) == pytest.approx(2 * 200.0**2 / 3, rel=5e-3)


def test_ud_sums_to_one_and_crop_equals_full():
    rng = np.random.default_rng(3)
    x, y, t = brownian_track(rng, 60, 1.0, dt_range=(3600, 7200))
    g = grid(n=150, cell=100, x0=-7500, y0=-7500)
    s2 = motion_variance(x, y, t).sigma2_m2_per_s
    full = brownian_bridge_ud(x, y, t, g, sigma2_m2_per_s=s2, crop=False)
    win = brownian_bridge_ud(x, y, t, g, sigma2_m2_per_s=s2)
    assert full.values.sum() == pytest.approx(1.0, abs=1e-12)
    assert win.values.sum() == pytest.approx(1.0, abs=1e-12)
    assert win.shape[0] < g.shape[0] or win.shape[1] < g.shape[1]
    np.testing.assert_allclose(paste(win, g), full.values, atol=1e-15)
    assert full.crs == g.crs


def test_gap_is_not_bridged():
    g = grid(n=100, cell=100)
    # two clusters 6 km apart, joined by a 30-day gap
    x = np.array([1000, 1100, 1000, 1100, 7000, 7100, 7000, 7100.0])
    y = np.full(8, 5000.0)
    t = np.array([0, 3600, 7200, 10800, 2.6e6, 2.6e6 + 3600, 2.6e6 + 7200, 2.6e6 + 10800])
    ud = brownian_bridge_ud(x, y, t, g, sigma2_m2_per_s=1.0, max_gap_s=86400, crop=False)
    _, cols = np.indices(g.shape)
    between = (cols >= 25) & (cols < 65)
    assert ud.values[between].sum() < 1e-9
    bridged = brownian_bridge_ud(x, y, t, g, sigma2_m2_per_s=1.0, crop=False).values
    assert bridged[between].sum() > 0.5  # the 30-day bridge carries most of the time


def test_mass_outside_grid_warns():
    g = grid(n=20, cell=100)
    with pytest.warns(UserWarning, match="outside the grid"):
        ud = brownian_bridge_ud(np.array([100.0, 1900]), np.array([1000.0, 1000]),
                                np.array([0.0, 86400 * 5]), g, sigma2_m2_per_s=50.0)
    assert ud.values.sum() == pytest.approx(1.0)


# -- dynamic model -----------------------------------------------------------------------
def test_dynamic_variance_finds_change_and_matches_static_when_constant():
    rng = np.random.default_rng(11)
    n = 400
    t = np.arange(n) * 3600.0
    s = np.where(np.arange(n - 1) < 200, 0.5, 8.0)
    steps = rng.normal(0, 1, (n - 1, 2)) * np.sqrt(s * 3600.0)[:, None]
    xy = np.vstack([[0, 0], np.cumsum(steps, axis=0)])
    v = dynamic_motion_variance(xy[:, 0], xy[:, 1], t)
    assert v.shape == (n - 1,)
    assert np.median(v[20:180]) == pytest.approx(0.5, rel=0.35)
    assert np.median(v[220:380]) == pytest.approx(8.0, rel=0.35)
    x, y, tt = brownian_track(rng, 301, 2.0)
    vc = dynamic_motion_variance(x, y, tt)
    static = motion_variance(x, y, tt).sigma2_m2_per_s
    assert np.median(vc) == pytest.approx(static, rel=0.3)


def test_dynamic_variance_grid_maximum_equals_exact_maximum_of_one_window():
    # a track of exactly one window without a preferred break: the dBBMM value is the
    # single-variance MLE of the window, which the static estimator gives exactly
    rng = np.random.default_rng(5)
    x, y, t = brownian_track(rng, 31, 1.5)
    v = dynamic_motion_variance(x, y, t, location_error_m=20.0, window=31, margin=15)
    static = motion_variance(x, y, t, location_error_m=20.0).sigma2_m2_per_s
    np.testing.assert_allclose(v, static, rtol=1e-3)


def test_dynamic_variance_gaps_and_options():
    t = np.r_[np.arange(40), 1000 + np.arange(40)] * 60.0
    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(0, 10, 80))
    y = np.cumsum(rng.normal(0, 10, 80))
    v = dynamic_motion_variance(x, y, t, max_gap_s=3600, window=15, margin=5)
    assert np.isnan(v[39]) and np.isfinite(np.delete(v, 39)).all()
    with pytest.raises(SchemaError, match="odd integer"):
        dynamic_motion_variance(x, y, t, window=30)
    with pytest.raises(SchemaError, match="2 \\* margin"):
        dynamic_motion_variance(x, y, t, window=15, margin=9)


# -- tracks layer --------------------------------------------------------------------------
def tracks_frame(xs, ys, times, inds, crs=CRS):
    return gpd.GeoDataFrame({"individual": inds, "timestamp": pd.to_datetime(times, utc=True),
                             "species": "Procapra_gutturosa"},
                            geometry=gpd.points_from_xy(xs, ys), crs=crs)


def test_track_uds_table_and_models():
    rng = np.random.default_rng(0)
    frames = []
    for ind in ("a", "b"):
        x, y, t = brownian_track(rng, 80, 1.0, dt_range=(7200, 7200))
        frames.append(tracks_frame(5000 + x, 5000 + y,
                                   pd.Timestamp("2020-01-01", tz="UTC")
                                   + pd.to_timedelta(t, unit="s"), ind))
    tr = pd.concat(frames, ignore_index=True).sample(frac=1, random_state=1)  # unsorted
    g = grid(n=100, cell=100)
    for model in ("bbmm", "dbbmm"):
        res = track_uds(tr, g, model=model, window=15, margin=5)
        assert sorted(res.uds) == ["a", "b"]
        assert res.table["n_fixes"].tolist() == [80, 80]
        assert res.table["sigma2_m2_per_s"].between(0.5, 2.0).all()
        for k in res.uds:
            assert res.full(k).sum() == pytest.approx(1.0)


@pytest.mark.parametrize(("case", "match", "exc"), [
    ("one_fix", "at least 3 fixes per individual", SchemaError),
    ("duplicate", "share their individual and timestamp", SchemaError),
    ("geographic", "lat/lon", CRSError),
    ("crs_mismatch", "different CRSs", CRSError),
])
def test_track_uds_bad_input(case, match, exc):
    times = pd.date_range("2020-01-01", periods=5, freq="2h")
    tr = tracks_frame([0, 100, 200, 300, 400], [0] * 5, times, ["a"] * 5)
    g = grid(n=50, cell=100, x0=-2500, y0=-2500)
    if case == "one_fix":
        tr = pd.concat([tr, tracks_frame([0], [0], times[:1], ["b"])], ignore_index=True)
    elif case == "duplicate":
        tr = pd.concat([tr, tr.iloc[[2]]], ignore_index=True)
    elif case == "geographic":
        tr = tracks_frame([100, 100.1, 100.2, 100.3, 100.4], [45] * 5, times, ["a"] * 5,
                          crs="EPSG:4326")
    elif case == "crs_mismatch":
        tr = tr.set_crs("EPSG:32647", allow_override=True)
    with pytest.raises(exc, match=match) as info:
        track_uds(tr, g)
    assert isinstance(info.value, CamiAtlasError)


def test_non_increasing_times_in_arrays_are_an_error():
    with pytest.raises(SchemaError, match="increase strictly"):
        motion_variance(np.zeros(3), np.zeros(3), np.array([0, 5.0, 5.0]))


def test_track_uds_on_a_dask_cluster_equals_serial():
    distributed = pytest.importorskip("distributed")
    rng = np.random.default_rng(4)
    frames = []
    for ind in ("a", "b", "c"):
        x, y, t = brownian_track(rng, 50, 1.0, dt_range=(7200, 7200))
        frames.append(tracks_frame(5000 + x, 5000 + y, pd.Timestamp("2020-01-01", tz="UTC")
                                   + pd.to_timedelta(t, unit="s"), ind))
    tr = pd.concat(frames, ignore_index=True)
    g = grid(n=100, cell=100)
    serial = track_uds(tr, g, max_gap_h=8)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        par = track_uds(tr, g, max_gap_h=8, client=client)
    pd.testing.assert_frame_equal(serial.table, par.table)
    for k in serial.uds:
        np.testing.assert_array_equal(serial.uds[k].values, par.uds[k].values)
        assert serial.uds[k].transform == par.uds[k].transform
