"""read_tracks_csv: both layouts, UTC handling, sorting, missing/out-of-range coordinates,
and the real ctmm buffalo fixes written to CSV."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cami_atlas.errors import CRSError, LayerReadError, MissingColumnError, SchemaError
from cami_atlas.io import read_tracks_csv

MOVEBANK = """event-id,timestamp,location-long,location-lat,individual-local-identifier,individual-taxon-canonical-name
1,2019-06-01 12:00:00.000,106.5,46.25,G2,Procapra gutturosa
2,2019-06-01 08:00:00.000,106.0,46.0,G2,Procapra gutturosa
3,2019-06-01T10:00:00+08:00,107.0,47.0,G1,Procapra gutturosa
4,2019-06-01 04:00:00.000,107.5,47.5,G1,
"""

PLAIN = """individual,timestamp,lon,lat
saiga_07,2021-03-02T00:30:00Z,52.1,48.9
saiga_07,2021-03-01T23:30:00Z,52.0,49.0
saiga_02,2021-03-01 23:00,51.5,48.5
"""


def write(tmp_path, text, name="synthetic_fixes.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_movebank_layout(tmp_path):
    tracks = read_tracks_csv(write(tmp_path, MOVEBANK), species="Procapra gutturosa")
    assert isinstance(tracks, gpd.GeoDataFrame) and tracks.crs.to_epsg() == 4326
    # sorted by individual then time; +08:00 converted, naive taken as UTC
    assert tracks["individual"].tolist() == ["G1", "G1", "G2", "G2"]
    assert [str(t) for t in tracks["timestamp"]] == [
        "2019-06-01 02:00:00+00:00", "2019-06-01 04:00:00+00:00",
        "2019-06-01 08:00:00+00:00", "2019-06-01 12:00:00+00:00"]
    assert str(tracks["timestamp"].dt.tz) == "UTC"
    assert tracks["event-id"].tolist() == [3, 4, 2, 1]
    assert shapely.get_coordinates(tracks.geometry.values).tolist() == [
        [107.0, 47.0], [107.5, 47.5], [106.0, 46.0], [106.5, 46.25]]
    # the empty species cell is filled by species=
    assert set(tracks["species"]) == {"Procapra_gutturosa"}
    assert "location-long" not in tracks.columns
    assert tracks.index.equals(pd.RangeIndex(4))


def test_movebank_without_species_argument_keeps_empty(tmp_path):
    tracks = read_tracks_csv(write(tmp_path, MOVEBANK))
    by_event = dict(zip(tracks["event-id"], tracks["species"], strict=True))
    assert by_event[4] is None or pd.isna(by_event[4])
    assert by_event[1] == "Procapra_gutturosa"


def test_plain_layout_and_species_fill(tmp_path):
    tracks = read_tracks_csv(write(tmp_path, PLAIN), species="Saiga tatarica")
    assert tracks["individual"].tolist() == ["saiga_02", "saiga_07", "saiga_07"]
    assert [t.isoformat() for t in tracks["timestamp"]] == [
        "2021-03-01T23:00:00+00:00", "2021-03-01T23:30:00+00:00", "2021-03-02T00:30:00+00:00"]
    assert tracks["species"].tolist() == ["Saiga_tatarica"] * 3
    no_species = read_tracks_csv(write(tmp_path, PLAIN, "b.csv"))
    assert no_species["species"].isna().all()


def test_numeric_individual_ids_stay_text(tmp_path):
    text = "individual,timestamp,lon,lat\n007,2020-01-01,1,2\n10,2020-01-01,1,2\n"
    tracks = read_tracks_csv(write(tmp_path, text))
    assert tracks["individual"].tolist() == ["007", "10"]


def test_missing_coordinates_dropped_with_warning(tmp_path):
    text = PLAIN + "saiga_02,2021-03-02 01:00,,48.6\nsaiga_02,2021-03-02 02:00,51.7,\n"
    with pytest.warns(UserWarning, match=r"dropped 2 of 5 fix\(es\) without coordinates "
                                         r"\(CSV lines 5, 6\)"):
        tracks = read_tracks_csv(write(tmp_path, text))
    assert len(tracks) == 3


def test_out_of_range_coordinates_name_lines(tmp_path):
    text = "individual,timestamp,lon,lat\na,2020-01-01,45.0,95.0\na,2020-01-02,200.0,45.0\n"
    with pytest.raises(SchemaError, match=r"1 longitude\(s\) outside -180\.\.180 \(CSV lines 3\)"
                                          r".*1 latitude\(s\) outside -90\.\.90 \(CSV lines 2\)"
                                          r".*swapped"):
        read_tracks_csv(write(tmp_path, text))


def test_projected_crs_skips_range_check(tmp_path):
    text = "individual,timestamp,lon,lat\na,2020-01-01,500000,4700000\n"
    tracks = read_tracks_csv(write(tmp_path, text), crs="EPSG:32612")
    assert tracks.crs.to_epsg() == 32612
    assert shapely.get_coordinates(tracks.geometry.values).tolist() == [[500000.0, 4700000.0]]


def test_bad_values_are_errors(tmp_path):
    text = ("individual,timestamp,lon,lat\na,yesterday,45,45\n,2020-01-02,45,45\n"
            "b,,45,45\nc,2020-01-01,east,45\n")
    with pytest.raises(SchemaError) as info:
        read_tracks_csv(write(tmp_path, text))
    msg = str(info.value)
    assert "1 row(s) have no individual (CSV lines 3)" in msg
    assert "1 row(s) have no timestamp (CSV lines 4)" in msg
    assert "1 timestamp(s) could not be parsed, e.g. 'yesterday' (CSV lines 2)" in msg
    assert "column 'lon' holds 1 value(s) that are not numbers (CSV lines 5)" in msg


def test_misspelled_column_suggests(tmp_path):
    text = "individual,timestamp,long,lat\na,2020-01-01,45,45\n"
    with pytest.raises(MissingColumnError, match=r"missing track column\(s\) 'lon' \(found "
                                                 r"'long': rename it\).*plain layout"):
        read_tracks_csv(write(tmp_path, text))
    movebank = "individual-local-identifier,timestamp,location-long,location_lat\na,2020,1,2\n"
    with pytest.raises(MissingColumnError, match=r"'location-lat' \(found 'location_lat'"):
        read_tracks_csv(write(tmp_path, movebank, "mb.csv"))


def test_missing_file_and_bad_crs(tmp_path):
    with pytest.raises(LayerReadError, match=r"track file .*none.csv does not exist"):
        read_tracks_csv(tmp_path / "none.csv")
    with pytest.raises(CRSError, match=r"crs='EPSG:999999' is not a CRS"):
        read_tracks_csv(write(tmp_path, PLAIN), crs="EPSG:999999")


def test_empty_file(tmp_path):
    with pytest.raises(LayerReadError, match=r"could not read .*empty.csv as CSV"):
        read_tracks_csv(write(tmp_path, "", "empty.csv"))


# -- real data: ctmm African buffalo (PROVENANCE.md §8c) ---------------------------------------
BUFFALO_COUNTS = {"Cilla": 3527, "Gabs": 1996, "Mvubu": 2572, "Pepper": 1725, "Queen": 1756,
                  "Toni": 5766}


@pytest.fixture(scope="module")
def buffalo(real_data):
    return gpd.read_file(real_data / "tracking" / "ctmm_buffalo_kruger_fixes.gpkg",
                         layer="buffalo_fixes")


def test_buffalo_plain_and_movebank_csv(buffalo, tmp_path):
    shuffled = buffalo.sample(frac=1.0, random_state=1)  # the reader must sort
    plain = pd.DataFrame({
        "individual": shuffled["animal_id"], "timestamp": shuffled["timestamp_utc"],
        "lon": shuffled["lon"], "lat": shuffled["lat"], "species": shuffled["species"]})
    plain_path = tmp_path / "buffalo_plain.csv"
    plain.to_csv(plain_path, index=False)
    movebank_path = tmp_path / "buffalo_movebank.csv"
    plain.rename(columns={"individual": "individual-local-identifier", "lon": "location-long",
                          "lat": "location-lat",
                          "species": "individual-taxon-canonical-name"}).to_csv(
        movebank_path, index=False)

    tracks = read_tracks_csv(plain_path)
    assert len(tracks) == 17342
    assert tracks["individual"].nunique() == 6
    assert tracks["individual"].value_counts().to_dict() == BUFFALO_COUNTS
    assert set(tracks["species"]) == {"Syncerus_caffer"}
    assert tracks["timestamp"].min().floor("min") == pd.Timestamp("2005-02-17 05:05", tz="UTC")
    assert tracks["timestamp"].max().floor("min") == pd.Timestamp("2006-12-31 14:34", tz="UTC")
    # sorted by individual then time
    assert tracks["individual"].is_monotonic_increasing
    assert tracks.groupby("individual")["timestamp"].apply(
        lambda s: s.is_monotonic_increasing).all()
    # every fix is the source fix: same (individual, time) -> same lon/lat
    src = buffalo.assign(t=pd.to_datetime(buffalo["timestamp_utc"], utc=True)).sort_values(
        ["animal_id", "t"], kind="stable").reset_index(drop=True)
    xy = shapely.get_coordinates(tracks.geometry.values)
    assert (tracks["individual"].to_numpy() == src["animal_id"].to_numpy()).all()
    assert (tracks["timestamp"].to_numpy() == src["t"].to_numpy()).all()
    assert (xy[:, 0] == src["lon"].to_numpy()).all() and (xy[:, 1] == src["lat"].to_numpy()).all()
    # median sampling interval 60 min (PROVENANCE)
    dt = tracks.groupby("individual")["timestamp"].diff().dropna()
    assert dt.median() == pd.Timedelta(minutes=60)

    movebank = read_tracks_csv(movebank_path)
    pd.testing.assert_frame_equal(
        pd.DataFrame(movebank.drop(columns="geometry")),
        pd.DataFrame(tracks.drop(columns="geometry")))
    assert shapely.equals(movebank.geometry.values, tracks.geometry.values).all()
