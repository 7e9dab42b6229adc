"""Synthetic migrating animals with known paths and dates (built in code)."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

CRS = "EPSG:32648"
YEAR0 = pd.Timestamp("2021-01-01", tz="UTC")


def simulate_migrant(rng: np.random.Generator, ind: str, *, x_km: float, y_end_km: float,
                     spring: tuple[float, float] = (100, 110),
                     autumn: tuple[float, float] = (280, 290),
                     pause: tuple[float, float, float] | None = None,
                     noise_m: float = 100.0, step_h: float = 2.0, days: float = 365,
                     species: str = "Procapra_gutturosa") -> gpd.GeoDataFrame:
    """2-hourly fixes of an animal that winters at (x_km, 0) and summers at (x_km, y_end_km).

    Its centre moves linearly north between the ``spring`` days (day 0 = 1 Jan 2021) and back
    between the ``autumn`` days; ``pause = (day0, day1, y_km)`` holds it at ``y_km`` during
    spring (the path to y_km is covered before day0, the rest after day1). Fixes scatter
    around the centre with sd ``noise_m``.
    """
    t_h = np.arange(0, days * 24, step_h)
    t_d = t_h / 24
    s0, s1 = spring
    a0, a1 = autumn
    if pause is None:
        knots_t = [0, s0, s1, a0, a1, days]
        knots_y = [0, 0, y_end_km, y_end_km, 0, 0]
    else:
        p0, p1, py = pause
        knots_t = [0, s0, p0, p1, s1, a0, a1, days]
        knots_y = [0, 0, py, py, y_end_km, y_end_km, 0, 0]
    y = np.interp(t_d, knots_t, knots_y) * 1000
    x = np.full_like(y, x_km * 1000)
    x = x + rng.normal(0, noise_m, len(x))
    y = y + rng.normal(0, noise_m, len(y))
    return gpd.GeoDataFrame(
        {"individual": ind, "timestamp": YEAR0 + pd.to_timedelta(t_h, unit="h"),
         "species": species},
        geometry=gpd.points_from_xy(x, y), crs=CRS)


@pytest.fixture
def migrant() -> Callable[..., gpd.GeoDataFrame]:
    return simulate_migrant
