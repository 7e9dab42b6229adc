"""Movement functions on real tracks: the shipped Wyoming mule deer (BaBA, MIT) and the shared
Mongolian gazelle fixes (relative coordinates)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cami_atlas.barriers.crossings import track_crossings
from cami_atlas.io import read_layer, read_tracks_csv
from cami_atlas.movement import (
    dynamic_motion_variance,
    grid_for_tracks,
    migration_fixes,
    migration_periods,
    motion_variance,
    movement_steps,
    population_corridors,
    to_metric_crs,
    track_uds,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "tracks"


@pytest.fixture(scope="module")
def deer():
    return to_metric_crs(read_tracks_csv(DATA / "wyoming_muledeer_2014.csv"))


@pytest.fixture(scope="module")
def fences(deer):
    return read_layer(DATA / "wyoming_fences.gpkg", "infrastructure").to_crs(deer.crs)


def test_shipped_deer_are_projected_to_utm_12n(deer):
    assert deer.crs.to_epsg() == 32612
    assert deer.groupby("individual").size().to_dict() == {"416_2014": 4370, "419_2014": 4369}


def test_spring_and_autumn_migrations_of_the_deer(deer):
    m = migration_periods(deer)
    assert m["season"].tolist() == ["spring", "autumn", "spring", "autumn"]
    # both deer reach their summer range by the end of May and leave it in November
    spring, autumn = m[m["season"] == "spring"], m[m["season"] == "autumn"]
    assert (spring["end"].dt.month == 5).all() and (autumn["start"].dt.month == 11).all()
    assert m["max_displacement_km"].round(0).tolist() == [75, 75, 56, 56]


def test_step_crossings_match_the_reference_counts(deer, fences):
    # shared data PROVENANCE (full BaBA fence layer): 144 and 193 steps meet a fence
    events = track_crossings(deer, fences)
    assert events.groupby("individual")["step"].nunique().to_dict() == {"416_2014": 144,
                                                                       "419_2014": 193}


def test_shipped_fences_hold_every_fence_the_deer_meet(deer, fences, real_data):
    import geopandas as gpd

    full = gpd.read_file(real_data / "tracking" / "baba_wyoming_pronghorn_muledeer_fences.gpkg",
                         layer="fences").assign(infra_type="fence")
    a = track_crossings(deer, full).groupby("individual")["step"].nunique()
    b = track_crossings(deer, fences).groupby("individual")["step"].nunique()
    pd.testing.assert_series_equal(a, b)


def test_deer_migration_corridor_and_variances(deer):
    m = migration_periods(deer)
    fx = migration_fixes(deer, m[m["season"] == "spring"])
    grid = grid_for_tracks(fx, cell_size_m=200, margin_m=3000)
    uds = track_uds(fx, grid, by="migration", location_error_m=20, max_gap_h=8)
    assert uds.table["sigma2_m2_per_s"].between(1, 100).all()
    # the static estimate equals the hand formula on the left-out fixes when error is 0
    one = fx[fx["individual"] == "416_2014"]
    x, y = one.geometry.x.to_numpy(), one.geometry.y.to_numpy()
    t = (one["timestamp"] - one["timestamp"].iloc[0]).dt.total_seconds().to_numpy()
    mv = motion_variance(x, y, t)
    i = np.arange(1, len(x) - 1, 2)
    big_t, a = t[i + 1] - t[i - 1], (t[i] - t[i - 1]) / (t[i + 1] - t[i - 1])
    d2 = (x[i] - x[i - 1] - a * (x[i + 1] - x[i - 1])) ** 2 + (
        y[i] - y[i - 1] - a * (y[i + 1] - y[i - 1])) ** 2
    assert mv.sigma2_m2_per_s == pytest.approx(np.mean(d2 / (2 * big_t * a * (1 - a))))
    pc = population_corridors(uds)
    steps = movement_steps(fx, max_gap_h=8)
    inside = steps.geometry.within(pc.corridors.union_all()).mean()
    assert inside > 0.95  # the 99 % footprints hold the migration steps


def test_gazelle_relative_coordinates_motion_variance(real_data):
    g = pd.read_csv(real_data / "tracking" / "ctmm_gazelle_mongolia_relative_xy.csv")
    part = g[g["individual"] == g["individual"].iloc[0]]
    x, y, t = part["x_m"].to_numpy(), part["y_m"].to_numpy(), part["t_s"].to_numpy(float)
    per_s = motion_variance(x, y, t, max_gap_s=3 * 86400)
    per_h = motion_variance(x, y, t / 3600, max_gap_s=3 * 24)
    assert per_h.sigma2_m2_per_s == pytest.approx(3600 * per_s.sigma2_m2_per_s)
    assert per_s.n_obs > 10
    dyn = dynamic_motion_variance(x, y, t, max_gap_s=3 * 86400, window=15, margin=5)
    assert np.nanmedian(dyn) == pytest.approx(per_s.sigma2_m2_per_s, rel=1.0)
