"""Monitoring of crossing structures: observed use from counts and from GPS tracks."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import LineString, Point

from cami_atlas.errors import SchemaError, UnknownSpeciesError
from cami_atlas.planning.monitoring import (
    check_monitoring,
    gps_crossings_at_structures,
    observed_use,
    read_monitoring,
    use_by_structure_type,
)

CRS = "EPSG:32642"


def _records() -> pd.DataFrame:
    return pd.DataFrame({
        "structure_id": ["U1", "U1", "U2", "G1"],
        "structure_type": ["underpass", "underpass", "underpass", "fence opening"],
        "species": ["khulan", "Equus hemionus", "khulan", "saiga"],
        "start_date": ["2024-01-01", "2024-02-01", "2024-01-01", "2024-05-01"],
        "end_date": ["2024-01-10", "2024-02-10", "2024-01-05", "2024-05-31"],
        "crossings": [12, 8, 0, 93]})


def test_observed_use_by_hand() -> None:
    obs = observed_use(check_monitoring(_records())).set_index(["structure_id", "species"])
    # U1: 10 + 10 days, 12 + 8 crossings -> 1 per day; U2: 5 days, none; G1: 31 days, 93
    assert obs.loc[("U1", "Equus_hemionus"), ["days", "crossings"]].tolist() == [20, 20]
    assert obs.loc[("U1", "Equus_hemionus"), "crossings_per_day"] == pytest.approx(1.0)
    assert obs.loc[("U2", "Equus_hemionus"), "crossings_per_day"] == 0
    assert obs.loc[("G1", "Saiga_spp"), "crossings_per_day"] == pytest.approx(3.0)
    by_type = use_by_structure_type(observed_use(check_monitoring(_records())))
    under = by_type.set_index("structure_type").loc["underpass"]
    assert under["structures"] == 2 and under["crossings_per_day"] == pytest.approx(20 / 25)
    assert under["measure_ids"] == "mitigate_underpass"
    gate = by_type.set_index("structure_type").loc["fence opening"]
    assert gate["measure_ids"] == ("mitigate_fence_openings_border; "
                                   "mitigate_railway_fence_openings_kz")


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"crossings": [12, -1, 0, 93]}, SchemaError, ["crossings", "-1"]),
    ({"crossings": [12, 2.5, 0, 93]}, SchemaError, ["crossings", "2.5"]),
    ({"end_date": ["2023-12-31", "2024-02-10", "2024-01-05", "2024-05-31"]}, SchemaError,
     ["end before they start", "U1"]),
    ({"start_date": ["soon", "2024-02-01", "2024-01-01", "2024-05-01"]}, SchemaError,
     ["start_date", "soon", "YYYY-MM-DD"]),
    ({"species": ["khulan", "khulan", "unicorn", "saiga"]}, UnknownSpeciesError, ["unicorn"]),
])
def test_bad_records_are_refused(change, error, words) -> None:
    rec = _records().assign(**change)
    with pytest.raises(error) as info:
        check_monitoring(rec, what="records.csv")
    for w in words:
        assert w in str(info.value)


def test_missing_column_and_file_round_trip(tmp_path) -> None:
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['crossings'\]"):
        check_monitoring(_records().drop(columns="crossings"))
    path = tmp_path / "records.csv"
    _records().to_csv(path, index=False)
    assert read_monitoring(path)["crossings"].sum() == 113


def test_gps_crossings_counted_at_the_nearest_structure_by_hand() -> None:
    fence = gpd.GeoDataFrame({"infra_type": ["fence"]},
                             geometry=[LineString([(0, -10_000), (0, 10_000)])], crs=CRS)
    gates = gpd.GeoDataFrame({"structure_id": ["G1", "G2"],
                              "structure_type": ["fence opening"] * 2},
                             geometry=[Point(0, 0), Point(0, 5000)], crs=CRS)
    t = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    # a crosses the fence (x = 0) at y = 100 (100 m from G1), at y = 4900 (100 m from G2)
    # and at y = 6450 (the step (-50, 4900) -> (50, 8000): 1,450 m from G2, elsewhere);
    # b crosses at y = -300 (300 m from G1)
    fixes = gpd.GeoDataFrame(
        {"individual": ["a"] * 5 + ["b"] * 2, "species": ["saiga"] * 7,
         "timestamp": list(t) + list(t[:2])},
        geometry=[Point(-50, 100), Point(50, 100), Point(50, 4900), Point(-50, 4900),
                  Point(50, 8000), Point(-50, -300), Point(50, -300)], crs=CRS)
    out = gps_crossings_at_structures(gates, fence, fixes, max_distance_m=500)
    rows = {(None if pd.isna(r.structure_id) else r.structure_id, r.species): r
            for r in out.itertuples()}
    assert rows[("G1", "Saiga_spp")].crossings == 2 and rows[("G1", "Saiga_spp")].individuals == 2
    assert rows[("G1", "Saiga_spp")].share_of_line_crossings == pytest.approx(0.5)
    assert rows[("G2", "Saiga_spp")].crossings == 1
    assert rows[(None, "Saiga_spp")].crossings == 1  # away from every structure
    assert out["crossings"].sum() == 4
    with pytest.raises(SchemaError, match="projected CRS"):
        gps_crossings_at_structures(gates, fence, fixes.to_crs(4326))
    with pytest.raises(SchemaError, match="structure_id"):
        gps_crossings_at_structures(gates.drop(columns="structure_id"), fence, fixes)
