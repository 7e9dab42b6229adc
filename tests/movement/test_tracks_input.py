"""Shared input rules of the movement functions: projection, sorting, duplicates, gaps."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from cami_atlas.errors import CRSError, SchemaError
from cami_atlas.movement import to_metric_crs
from cami_atlas.movement._tracks import prepare_tracks, run_ids


def fixes(crs="EPSG:4326"):
    return gpd.GeoDataFrame(
        {"individual": ["b", "a", "a"],
         "timestamp": pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-01"], utc=True)},
        geometry=gpd.points_from_xy([-109.9, -109.8, -109.9], [42.7, 42.7, 42.8]), crs=crs)


def test_to_metric_crs_picks_the_utm_zone_and_keeps_projected_layers():
    utm = to_metric_crs(fixes())
    assert utm.crs.to_epsg() == 32612  # Wyoming, lon -110
    assert to_metric_crs(utm) is utm
    assert to_metric_crs(fixes(), "ESRI:102025").crs.to_string() == "ESRI:102025"
    with pytest.raises(CRSError, match="lat/lon CRS"):
        to_metric_crs(utm, "EPSG:4326")
    with pytest.raises(CRSError, match="no CRS"):
        to_metric_crs(fixes().set_crs(None, allow_override=True))


def test_prepare_tracks_sorts_without_changing_the_input():
    t = to_metric_crs(fixes())
    before = t.copy()
    out = prepare_tracks(t, what="x", min_fixes=1)
    assert out["individual"].tolist() == ["a", "a", "b"]
    assert out["timestamp"].is_monotonic_increasing is False  # sorted within individuals
    assert out.groupby("individual")["timestamp"].apply(lambda s: s.is_monotonic_increasing).all()
    pd.testing.assert_frame_equal(t, before)


@pytest.mark.parametrize(("mutate", "exc", "match"), [
    (lambda t: t.iloc[:0], SchemaError, "no fixes"),
    (lambda t: t.drop(columns="timestamp"), SchemaError, "no column"),
    (lambda t: t.assign(timestamp=pd.NaT), SchemaError, "no timestamp"),
    (lambda t: t.set_crs("EPSG:4326", allow_override=True), CRSError, "Reproject first"),
])
def test_prepare_tracks_errors(mutate, exc, match):
    with pytest.raises(exc, match=match):
        prepare_tracks(mutate(to_metric_crs(fixes())), what="demo")


def test_run_ids_split_at_gaps():
    assert run_ids(np.array([0.0, 10, 20, 100, 110]), 30).tolist() == [0, 0, 0, 1, 1]
    assert run_ids(np.array([0.0, 10, 20, 100, 110]), None).tolist() == [0] * 5
