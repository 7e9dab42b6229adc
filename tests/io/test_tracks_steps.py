"""Each step of :func:`cami_atlas.io.tracks.read_tracks_csv` on a small hand-checked case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyproj import CRS

from cami_atlas.errors import SchemaError
from cami_atlas.io.tracks import (
    _degree_problems,
    _fix_points,
    _id_time_problems,
    _parse_coordinates,
    _read_fix_table,
    _repeated_fixes,
)

ROLES = {"individual": "id", "timestamp": "t", "lon": "x", "lat": "y"}


def test_read_fix_table_renames_and_keeps_ids_as_text(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("animal,timestamp,lon,lat\n007,2020-01-01,100,45\n")
    df, by_role = _read_fix_table(p, {"animal": "individual"})
    assert by_role["individual"] == "individual"
    assert df["individual"].tolist() == ["007"]  # text: the leading zeros stay


def test_read_fix_table_rejects_duplicate_header(tmp_path):
    p = tmp_path / "f.csv"
    p.write_text("individual,timestamp,lon,lon,lat\na,2020-01-01,1,2,3\n")
    with pytest.raises(SchemaError, match=r"'lon' more than once"):
        _read_fix_table(p, None)


def test_id_time_problems_names_csv_lines():
    df = pd.DataFrame({"id": ["a", None, "b"],
                       "t": ["2020-01-01T08:00+06:00", "2020-01-01", "soon"]})
    times, problems = _id_time_problems(df, ROLES)
    assert str(times.iloc[0]) == "2020-01-01 02:00:00+00:00"  # 08:00 at +06 is 02:00 UTC
    assert pd.isna(times.iloc[2])
    assert len(problems) == 2
    assert problems[0].startswith("1 row(s) have no individual (CSV lines 3)")
    assert "'soon'" in problems[1] and "CSV lines 4" in problems[1]


def test_parse_coordinates_empty_is_nan_text_is_problem():
    df = pd.DataFrame({"x": ["1.5", None, "abc"], "y": [2.0, 3.0, 4.0]})
    lon, lat, problems = _parse_coordinates(df, ROLES)
    assert lon.iloc[0] == 1.5 and np.isnan(lon.iloc[1])
    assert lat.tolist() == [2.0, 3.0, 4.0]
    assert problems == ["column 'x' holds 1 value(s) that are not numbers (CSV lines 4)"]


def test_degree_problems_explain_the_cause():
    roles = ROLES
    assert _degree_problems(pd.Series([100.0]), pd.Series([45.0]), roles, "EPSG:4326") == []
    swapped = _degree_problems(pd.Series([45.0]), pd.Series([100.0]), roles, "EPSG:4326")
    assert swapped[-1] == "the coordinates look like (lat, lon): swap the columns 'x' and 'y'"
    metres = _degree_problems(pd.Series([500000.0]), pd.Series([4.9e6]), roles, "EPSG:4326")
    assert "projected metres" in metres[-1] and "4900000" in metres[-1]


def test_repeated_fixes_drop_repeats_and_report_clashes():
    ind = pd.Series(["a", "a", "a", "b"])
    t = pd.to_datetime(pd.Series(["2020-01-01"] * 4), utc=True)
    lon = pd.Series([1.0, 1.0, 2.0, 1.0])
    lat = pd.Series([5.0, 5.0, 5.0, 5.0])
    repeat, problems = _repeated_fixes(ind, t, lon, lat)
    assert repeat.tolist() == [False, True, False, False]  # line 3 repeats line 2
    assert problems[0].startswith("2 fixes share an individual and a timestamp")
    assert "CSV lines 2, 4" in problems[0]


def test_fix_points_order_fill_and_drop():
    df = pd.DataFrame({"id": ["b", "a", "a"], "t": ["x", "x", "x"],
                       "x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0], "note": [1, 2, 3]})
    times = pd.to_datetime(pd.Series(["2020-01-02", "2020-01-03", "2020-01-01"]), utc=True)
    out = _fix_points(df, ROLES, times, df["x"], df["y"], species="Equus hemionus",
                      crs=CRS("EPSG:4326"), drop=pd.Series([False, False, True]))
    assert list(out.columns[:3]) == ["individual", "timestamp", "species"]
    assert out["individual"].tolist() == ["a", "b"]  # sorted; the dropped row is gone
    assert out.geometry.x.tolist() == [2.0, 1.0]
    assert out["species"].tolist() == ["Equus hemionus"] * 2
    assert out["note"].tolist() == [2, 1]
