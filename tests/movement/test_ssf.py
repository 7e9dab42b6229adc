"""Step-selection functions: steps, random steps, covariates by hand, coefficient recovery."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from cami_atlas.errors import CRSError, SchemaError
from cami_atlas.movement.ssf import (
    SSFResult,
    crossing_effects,
    extract_covariates,
    fit_ssf,
    fit_step_distributions,
    movement_steps,
    random_steps,
    ssf_resistance,
)
from cami_atlas.raster import Grid

CRS = "EPSG:32648"
CELL = 100.0
N = 300  # 30 km square
ROAD_EVERY = 1500.0  # vertical roads at x = k * 1.5 km
FENCE_EVERY = 2000.0  # horizontal fences at y = k * 2 km
TRUE = {"forage": 1.0, "cross_road": -1.5, "cross_fence": -0.8}


def forage_grid() -> Grid:
    r, c = np.indices((N, N))
    x, y = (c + 0.5) * CELL, (N - r - 0.5) * CELL
    return Grid(np.sin(x / 1700) + np.cos(y / 2300), Affine(CELL, 0, 0, 0, -CELL, N * CELL), CRS)


def lines_frame() -> gpd.GeoDataFrame:
    roads = [shapely.LineString([(x, 0), (x, N * CELL)])
             for x in np.arange(ROAD_EVERY, N * CELL, ROAD_EVERY)]
    fences = [shapely.LineString([(0, y), (N * CELL, y)])
              for y in np.arange(FENCE_EVERY, N * CELL, FENCE_EVERY)]
    return gpd.GeoDataFrame({"infra_type": ["road"] * len(roads) + ["fence"] * len(fences)},
                            geometry=roads + fences, crs=CRS)


def simulate(rng, forage, n_ind=4, n_steps=500, n_cand=100):
    """Animals choosing among candidate steps with weights exp(beta·x): the true iSSF."""
    vals = forage.values
    x = rng.uniform(8000, 22000, n_ind)
    y = rng.uniform(8000, 22000, n_ind)
    head = rng.uniform(-np.pi, np.pi, n_ind)
    xs, ys = [x.copy()], [y.copy()]
    for _ in range(n_steps):
        sl = rng.gamma(2.0, 150.0, (n_ind, n_cand))
        h = head[:, None] + rng.vonmises(0.0, 0.8, (n_ind, n_cand))
        x2 = x[:, None] + sl * np.cos(h)
        y2 = y[:, None] + sl * np.sin(h)
        inside = (x2 > 1000) & (x2 < N * CELL - 1000) & (y2 > 1000) & (y2 < N * CELL - 1000)
        col = np.clip((x2 // CELL).astype(int), 0, N - 1)
        row = np.clip(((N * CELL - y2) // CELL).astype(int), 0, N - 1)
        n_road = np.abs(np.floor(x2 / ROAD_EVERY) - np.floor(x[:, None] / ROAD_EVERY))
        n_fence = np.abs(np.floor(y2 / FENCE_EVERY) - np.floor(y[:, None] / FENCE_EVERY))
        eta = (TRUE["forage"] * vals[row, col] + TRUE["cross_road"] * n_road
               + TRUE["cross_fence"] * n_fence)
        w = np.where(inside, np.exp(eta - eta.max(axis=1, keepdims=True)), 0.0)
        p = w / w.sum(axis=1, keepdims=True)
        pick = (p.cumsum(axis=1) > rng.random((n_ind, 1))).argmax(axis=1)
        idx = np.arange(n_ind)
        head = h[idx, pick]
        x, y = x2[idx, pick], y2[idx, pick]
        xs.append(x.copy())
        ys.append(y.copy())
    xs, ys = np.array(xs), np.array(ys)  # (n_steps + 1, n_ind)
    times = pd.Timestamp("2021-05-01", tz="UTC") + pd.to_timedelta(
        np.arange(n_steps + 1) * 2, unit="h")
    return gpd.GeoDataFrame(
        {"individual": np.repeat([f"i{k}" for k in range(n_ind)], n_steps + 1),
         "timestamp": np.tile(times, n_ind), "species": "Equus_hemionus"},
        geometry=gpd.points_from_xy(xs.T.ravel(), ys.T.ravel()), crs=CRS)


def test_ssf_coefficients_recovered_within_confidence_intervals():
    forage, lines = forage_grid(), lines_frame()
    hits = {k: 0 for k in TRUE}
    estimates = {k: [] for k in TRUE}
    reps = 12
    for rep in range(reps):
        rng = np.random.default_rng(100 + rep)
        tracks = simulate(rng, forage)
        avail = random_steps(movement_steps(tracks), n_random=20, seed=rep)
        cov = extract_covariates(avail, rasters={"forage": forage}, lines=lines)
        res = fit_ssf(cov, list(TRUE))
        c = res.coefficients.set_index("term")
        for k, v in TRUE.items():
            hits[k] += bool(c.loc[k, "ci_low"] <= v <= c.loc[k, "ci_high"])
            estimates[k].append(c.loc[k, "coef"])
    for k, v in TRUE.items():
        assert hits[k] >= 9, (k, hits[k], estimates[k])  # nominal 95 % of 12 = 11.4
        assert np.mean(estimates[k]) == pytest.approx(v, abs=0.15)
    eff = crossing_effects(res)
    assert eff["infra_type"].tolist() == ["road", "fence"]  # in the order of the terms
    assert (eff["rss"] < 1).all()


def test_numpy_and_statsmodels_engines_agree():
    pytest.importorskip("statsmodels")
    rng = np.random.default_rng(1)
    tracks = simulate(rng, forage_grid(), n_ind=2, n_steps=150, n_cand=30)
    avail = random_steps(movement_steps(tracks), n_random=8, seed=1)
    cov = extract_covariates(avail, rasters={"forage": forage_grid()}, lines=lines_frame())
    a = fit_ssf(cov, ["forage", "cross_road"], engine="numpy").coefficients
    b = fit_ssf(cov, ["forage", "cross_road"], engine="statsmodels").coefficients
    np.testing.assert_allclose(a["coef"], b["coef"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-3)


def test_steps_and_turn_angles_by_hand():
    t = gpd.GeoDataFrame(
        {"individual": ["a"] * 5 + ["b"] * 2,
         "timestamp": pd.to_datetime(["2021-01-01 00:00", "2021-01-01 02:00",
                                      "2021-01-01 04:00", "2021-01-02 04:00",
                                      "2021-01-02 06:00", "2021-01-01 00:00",
                                      "2021-01-01 02:00"], utc=True)},
        geometry=gpd.points_from_xy([0, 100, 100, 200, 200, 0, 0],
                                    [0, 0, 100, 100, 0, 0, 50]), crs=CRS)
    s = movement_steps(t, max_gap_h=6)
    # a: steps 0->1, 1->2, (gap of 24 h: no step), 3->4; b: one step
    assert s["individual"].tolist() == ["a", "a", "a", "b"]
    assert s["sl_m"].tolist() == [100.0, 100.0, 100.0, 50.0]
    assert s["burst"].tolist() == [0, 0, 1, 2]
    np.testing.assert_allclose(s["ta_rad"].to_numpy(), [np.nan, np.pi / 2, np.nan, np.nan])
    np.testing.assert_allclose(s["heading_rad"].to_numpy(), [0, np.pi / 2, -np.pi / 2,
                                                             np.pi / 2])


def test_random_steps_keep_start_and_follow_the_distributions():
    rng = np.random.default_rng(3)
    n = 400
    t = gpd.GeoDataFrame(
        {"individual": "a", "timestamp": pd.date_range("2021-01-01", periods=n, freq="2h",
                                                       tz="UTC")},
        geometry=gpd.points_from_xy(np.cumsum(rng.normal(0, 200, n)),
                                    np.cumsum(rng.normal(0, 200, n))), crs=CRS)
    steps = movement_steps(t)
    r = random_steps(steps, n_random=50, seed=0)
    used = r[r["case"]].set_index("stratum")
    avail = r[~r["case"]]
    assert (avail["x1"].to_numpy() == used.loc[avail["stratum"], "x1"].to_numpy()).all()
    d = r.attrs["distributions"]
    assert avail["sl_m"].mean() == pytest.approx(d.sl_shape * d.sl_scale_m, rel=0.05)
    # the heading of an available step = previous heading + its turn angle
    prev = used.loc[avail["stratum"], "heading_rad"].to_numpy() - used.loc[
        avail["stratum"], "ta_rad"].to_numpy()
    np.testing.assert_allclose(np.cos(avail["heading_rad"]), np.cos(prev + avail["ta_rad"]),
                               atol=1e-9)
    geo_len = avail.geometry.length.to_numpy()
    np.testing.assert_allclose(geo_len, avail["sl_m"].to_numpy(), rtol=1e-9)
    with pytest.raises(SchemaError, match="n_random"):
        random_steps(steps, n_random=0)


def test_covariates_sampled_along_steps_by_hand():
    # 3 x 3 grid of 10 m cells, values 1..9 row by row, top-left at (0, 30)
    g = Grid(np.arange(1.0, 10.0).reshape(3, 3), Affine(10, 0, 0, 0, -10, 30), CRS)
    steps = gpd.GeoDataFrame(
        {"x1": [5.0, 5.0, 5.0], "y1": [25.0, 25.0, 25.0], "x2": [25.0, 25.0, 45.0],
         "y2": [25.0, 5.0, 25.0]},
        geometry=[shapely.LineString([(5, 25), (25, 25)]),
                  shapely.LineString([(5, 25), (25, 5)]),
                  shapely.LineString([(5, 25), (45, 25)])], crs=CRS)
    end = extract_covariates(steps, rasters={"v": g})["v"].to_numpy()
    np.testing.assert_array_equal(end, [3.0, 9.0, np.nan])  # the third ends off the grid
    along = extract_covariates(steps, rasters={"v": g}, where="along", n_along=4)["v"]
    # row step: points at x = 7.5, 12.5, 17.5, 22.5 -> cells 1, 2, 2, 3
    assert along.iloc[0] == pytest.approx((1 + 2 + 2 + 3) / 4)
    # diagonal: points at (7.5, 22.5), (12.5, 17.5), (17.5, 12.5), (22.5, 7.5) -> 1, 5, 5, 9
    assert along.iloc[1] == pytest.approx((1 + 5 + 5 + 9) / 4)
    assert np.isnan(along.iloc[2])


def test_crossings_and_distances_by_hand():
    zigzag = shapely.LineString([(10, -10), (10, 10), (20, 10), (20, -10)])
    lines = gpd.GeoDataFrame({"infra_type": ["fence", "road"]},
                             geometry=[zigzag, shapely.LineString([(100, -50), (100, 50)])],
                             crs=CRS)
    steps = gpd.GeoDataFrame(
        {"x1": [0.0, 0.0], "y1": [0.0, 30.0], "x2": [30.0, 30.0], "y2": [0.0, 30.0]},
        geometry=[shapely.LineString([(0, 0), (30, 0)]), shapely.LineString([(0, 30),
                                                                              (30, 30)])],
        crs=CRS)
    out = extract_covariates(steps, lines=lines)
    assert out["cross_fence"].tolist() == [2, 0]
    assert out["cross_road"].tolist() == [0, 0]
    assert out["dist_road_m"].tolist() == [70.0, 70.0]
    assert out["dist_fence_m"].tolist() == pytest.approx([10.0, np.hypot(10, 20)])
    with pytest.raises(CRSError, match="projected"):
        extract_covariates(steps.set_crs("EPSG:4326", allow_override=True), lines=lines)
    with pytest.raises(CRSError, match="warp it"):
        extract_covariates(steps, rasters={"v": Grid(np.ones((2, 2)), Affine.identity(),
                                                     "EPSG:32647")})


def test_resistance_from_coefficients_by_hand():
    g = Grid(np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]), Affine(100, 0, 0, 0, -100, 200),
             CRS)
    road = gpd.GeoDataFrame({"infra_type": ["road"]},
                            geometry=[shapely.LineString([(150, 0), (150, 200)])], crs=CRS)
    coefs = pd.DataFrame({"term": ["forage", "cross_road", "log_sl"],
                          "coef": [np.log(2), -np.log(3), 9.0], "se": 0.1, "ci_low": 0.0,
                          "ci_high": 1.0, "p_value": 0.0, "rss": 1.0})
    res = SSFResult(coefs, 1, 1, 1, 0, None, None)
    r = ssf_resistance(res, g, rasters={"forage": g}, lines=road).values
    # exp(-eta) scaled to min 1: forage 0, 1, 2 -> 4, 2, 1; the road (column 1) x 3
    np.testing.assert_allclose(r, [[4.0, 6.0, 1.0], [4.0, 6.0, 1.0]])
    from cami_atlas.connectivity import cost_distance

    cd = cost_distance(g.with_values(r), np.array([[0, 0]]), connectivity=4)
    assert cd.values[0, 1] == pytest.approx((4 + 6) / 2 * 100)
    with pytest.raises(SchemaError, match="no data for term 'forage'"):
        ssf_resistance(res, g, lines=road)
    with pytest.raises(SchemaError, match="hold no infra_type 'road'"):
        ssf_resistance(res, g, rasters={"forage": g}, lines=road.assign(infra_type="fence"))


def test_fit_ssf_bad_input():
    df = pd.DataFrame({"stratum": [0, 0, 1, 1], "case": [True, False, True, False],
                       "x": [1.0, 1.0, 2.0, 2.0], "z": [1.0, 0.0, 0.0, 1.0]})
    with pytest.raises(SchemaError, match="do not vary within any stratum"):
        fit_ssf(df, ["x"], movement_terms=())
    with pytest.raises(SchemaError, match="no column"):
        fit_ssf(df, ["forage"], movement_terms=())
    with pytest.raises(SchemaError, match="no stratum"):
        fit_ssf(df.assign(z=np.nan), ["z"], movement_terms=())
    with pytest.raises(SchemaError, match="at least 10 steps"):
        fit_step_distributions(pd.DataFrame({"sl_m": [1.0], "ta_rad": [0.1]}))
    with pytest.raises(SchemaError, match="step lengths are equal"):
        fit_step_distributions(pd.DataFrame({"sl_m": [500.0] * 20, "ta_rad": [0.1] * 20}))
