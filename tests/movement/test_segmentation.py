"""Migration periods from net squared displacement and from dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cami_atlas.errors import CRSError, SchemaError
from cami_atlas.movement.segmentation import (
    MIGRATION_COLUMNS,
    migration_fixes,
    migration_periods,
    net_squared_displacement,
    periods_from_dates,
)

YEAR0 = pd.Timestamp("2021-01-01", tz="UTC")  # day 0 of the simulated tracks (conftest)


def day(k: int) -> pd.Timestamp:
    return YEAR0 + pd.Timedelta(days=k)


def test_nsd_dates_distances_and_durations(migrant):
    # spring: the centre moves 0 -> 60 km between day 100 and day 110, 6 km a day, so daily
    # means are 3, 9, ..., 57 km: the last day <= 6 km (10 % of 60) is day 100, the first
    # >= 54 km (90 %) is day 109; start/end days' means are 3 and 57 km apart -> 54 km.
    # autumn mirrors it: from day 280 (57 km) to day 289 (3 km).
    tr = migrant(np.random.default_rng(0), "a", x_km=10, y_end_km=60)
    m = migration_periods(tr)
    assert list(m.columns) == list(MIGRATION_COLUMNS)
    assert m["season"].tolist() == ["spring", "autumn"]
    assert m["migration"].tolist() == ["a_2021_spring", "a_2021_autumn"]
    assert m["start"].tolist() == [day(100), day(280)]
    assert m["end"].tolist() == [day(110) - pd.Timedelta(hours=2),
                                 day(290) - pd.Timedelta(hours=2)]
    assert m["duration_days"].tolist() == [9.0, 9.0]
    assert m["distance_km"].to_numpy() == pytest.approx([54.0, 54.0], abs=0.1)
    assert m["max_displacement_km"].to_numpy() == pytest.approx([60.0, 60.0], abs=0.2)  # summer
    assert (m["species"] == "Procapra_gutturosa").all()


def test_resident_and_short_years_are_reported_not_segmented(migrant):
    rng = np.random.default_rng(1)
    resident = migrant(rng, "r", x_km=0, y_end_km=5)  # 5 km < min_distance_km=15
    short = migrant(rng, "s", x_km=0, y_end_km=60, days=30)
    m = migration_periods(pd.concat([resident, short], ignore_index=True))
    assert len(m) == 0
    assert m.attrs["resident"] == [("r", 2021)]
    assert m.attrs["skipped"] == [("s", 2021)]


def test_no_return_within_the_year_gives_spring_only(migrant):
    tr = migrant(np.random.default_rng(2), "a", x_km=0, y_end_km=60, autumn=(400, 410))
    assert migration_periods(tr)["season"].tolist() == ["spring"]


def test_unsorted_input_gives_the_same_result(migrant):
    tr = migrant(np.random.default_rng(3), "a", x_km=0, y_end_km=60)
    shuffled = tr.sample(frac=1, random_state=0)
    pd.testing.assert_frame_equal(migration_periods(tr), migration_periods(shuffled))
    assert shuffled.index[0] != 0  # the caller's frame is not changed


def test_nsd_values_by_hand():
    import geopandas as gpd

    t = gpd.GeoDataFrame({"individual": ["a", "a", "a", "b"],
                          "timestamp": pd.to_datetime(["2021-01-01", "2021-06-01",
                                                       "2022-01-02", "2021-01-01"], utc=True)},
                         geometry=gpd.points_from_xy([0, 3000, 10000, 5], [0, 4000, 0, 5]),
                         crs="EPSG:32648")
    # the 2022 fix starts a new bio-year: its own origin; with bio-years from 1 March the
    # June 2021 fix is the origin of the 2021 bio-year and the Jan 2022 fix is 7, -4 km away
    assert net_squared_displacement(t).tolist() == [0.0, 25.0, 0.0, 0.0]
    assert net_squared_displacement(t, year_start="03-01").tolist() == [0.0, 0.0, 49 + 16, 0.0]


def test_periods_from_dates_and_migration_fixes(migrant):
    tr = migrant(np.random.default_rng(4), "a", x_km=0, y_end_km=60)
    p = periods_from_dates(tr, pd.DataFrame({"individual": ["a"], "start": ["2021-04-11"],
                                             "end": ["2021-04-21"], "season": ["spring"]}))
    assert p.loc[0, "migration"] == "a_2021_spring"
    assert p.loc[0, "duration_days"] == 10.0
    fx = migration_fixes(tr, p)
    assert len(fx) == 10 * 12 + 1  # 2-hourly fixes of 10 days, both ends included
    assert fx["timestamp"].min() == day(100) and fx["timestamp"].max() == day(110)
    assert fx.crs == tr.crs


@pytest.mark.parametrize(("dates", "match"), [
    ([{"individual": "a", "start": "2021-04-11"}], "no column"),
    ([{"individual": "a", "start": "2021-04-21", "end": "2021-04-11"}], "not after start"),
    ([{"individual": "zz", "start": "2021-04-11", "end": "2021-04-21"}], "not in the tracks"),
    ([{"individual": "a", "start": "2030-01-01", "end": "2030-02-01"}], "needs at least 2"),
    ([{"individual": "a", "start": "soon", "end": "2021-04-21"}], "unparseable"),
])
def test_periods_from_dates_errors(migrant, dates, match):
    tr = migrant(np.random.default_rng(5), "a", x_km=0, y_end_km=60, days=200)
    with pytest.raises(SchemaError, match=match):
        periods_from_dates(tr, dates)


def test_segmentation_bad_input(migrant):
    tr = migrant(np.random.default_rng(6), "a", x_km=0, y_end_km=60, days=150)
    with pytest.raises(CRSError, match="lat/lon"):
        migration_periods(tr.set_crs("EPSG:4326", allow_override=True))
    with pytest.raises(SchemaError, match="share their individual and timestamp"):
        migration_periods(pd.concat([tr, tr.iloc[[5]]]))
    with pytest.raises(SchemaError, match="at least 2 fixes"):
        migration_periods(tr.iloc[:1])
    with pytest.raises(SchemaError, match="lower"):
        migration_periods(tr, lower=0.9, upper=0.5)
    with pytest.raises(SchemaError, match="MM-DD"):
        migration_periods(tr, year_start="spring")
