"""tracks <-> movingpandas.TrajectoryCollection: round trips keep every value and attribute."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod
from shapely import Point

from cami_atlas.errors import MissingColumnError, SchemaError
from cami_atlas.interop import tracks_from_trajectories, tracks_to_trajectories
from cami_atlas.io import read_tracks_csv

with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    mpd = pytest.importorskip("movingpandas")

# a Movebank export with its standard attribute names (Movebank Attribute Dictionary)
MOVEBANK = """event-id,visible,timestamp,location-long,location-lat,gps:satellite-count,ground-speed,sensor-type,individual-taxon-canonical-name,tag-local-identifier,individual-local-identifier,study-name
101,true,2019-06-01 12:00:00.000,106.5,46.25,7,1.25,gps,Procapra gutturosa,T-22,G2,Mongolian gazelle GPS
102,true,2019-06-01 08:00:00.000,106.0,46.0,5,0.5,gps,Procapra gutturosa,T-22,G2,Mongolian gazelle GPS
103,false,2019-06-01T10:00:00+08:00,107.0,47.0,9,,gps,Procapra gutturosa,T-31,G1,Mongolian gazelle GPS
104,true,2019-06-01 04:00:00.000,107.5,47.5,6,3.0,gps,,T-31,G1,Mongolian gazelle GPS
105,true,2019-06-02 04:00:00.000,107.75,47.25,8,2.0,gps,Procapra gutturosa,T-31,G1,Mongolian gazelle GPS
"""


@pytest.fixture
def movebank_tracks(tmp_path):
    path = tmp_path / "movebank_export.csv"
    path.write_text(MOVEBANK, encoding="utf-8")
    return read_tracks_csv(path, species="Procapra gutturosa")


def test_movebank_standard_attributes_are_read(movebank_tracks):
    t = movebank_tracks
    for col in ("event-id", "visible", "gps:satellite-count", "ground-speed", "sensor-type",
                "tag-local-identifier", "study-name"):
        assert col in t.columns
    assert t["individual"].tolist() == ["G1", "G1", "G1", "G2", "G2"]


def test_round_trip_keeps_every_value_and_attribute(movebank_tracks):
    tc = tracks_to_trajectories(movebank_tracks)
    assert isinstance(tc, mpd.TrajectoryCollection)
    assert [tr.id for tr in tc] == ["G1", "G2"]
    g1 = tc.get_trajectory("G1")
    # +08:00 -> UTC, naive inside movingpandas
    assert [str(x) for x in g1.df.index] == ["2019-06-01 02:00:00", "2019-06-01 04:00:00",
                                            "2019-06-02 04:00:00"]
    assert g1.df["tag-local-identifier"].tolist() == ["T-31"] * 3
    assert g1.crs == "EPSG:4326"
    back = tracks_from_trajectories(tc)
    assert_geodataframe_equal(back, movebank_tracks, check_like=False)
    assert str(back["timestamp"].dt.tz) == "UTC"


def test_trajectory_lengths_match_pyproj_geod(movebank_tracks):
    tc = tracks_to_trajectories(movebank_tracks)
    geod = Geod(ellps="WGS84")
    for tr in tc:
        pts = movebank_tracks[movebank_tracks["individual"] == tr.id].geometry
        _, _, d = geod.inv(pts.x.to_numpy()[:-1], pts.y.to_numpy()[:-1], pts.x.to_numpy()[1:],
                           pts.y.to_numpy()[1:])
        assert tr.get_length() == pytest.approx(float(np.sum(d)), rel=1e-6)
    assert tc.get_trajectory("G1").get_duration() == pd.Timedelta(hours=26)


def test_projected_crs_and_split_trajectories(movebank_tracks):
    utm = movebank_tracks.to_crs("EPSG:32648")
    tc = tracks_to_trajectories(utm)
    assert tc.trajectories[0].crs == "EPSG:32648"
    split = mpd.ObservationGapSplitter(tc).split(gap=pd.Timedelta(hours=12))
    # G1: 02:00, 04:00 | gap of 24 h | 04:00 next day (a single fix: no trajectory)
    assert sorted(tr.id for tr in split) == ["G1_0", "G2_0"]
    back = tracks_from_trajectories(split, trajectory_id_column="trajectory_id")
    assert back.crs.to_epsg() == 32648
    assert back["trajectory_id"].tolist() == ["G1_0", "G1_0", "G2_0", "G2_0"]
    assert back["event-id"].tolist() == [103, 104, 102, 101]
    expected = utm.set_index("event-id").loc[back["event-id"]].reset_index()[utm.columns]
    assert_geodataframe_equal(back[utm.columns], expected)


def test_collection_built_outside_the_atlas(tmp_path):
    # movingpandas keeps wall-clock times (it drops a time zone without converting), so
    # times go in as naive UTC
    local = pd.to_datetime(["2021-03-01T06:00+06:00", "2021-03-01T12:00+06:00"])
    df = pd.DataFrame({"t": local.tz_convert("UTC").tz_localize(None), "id": ["s7", "s7"],
                       "collar": [11, 11]})
    gdf = gpd.GeoDataFrame(df, geometry=[Point(52, 49), Point(52.2, 49.1)], crs="EPSG:4326")
    tc = mpd.TrajectoryCollection(gdf, traj_id_col="id", t="t")
    with pytest.raises(MissingColumnError, match="no 'species' column; pass species="):
        tracks_from_trajectories(tc)
    back = tracks_from_trajectories(tc, species="Saiga tatarica")
    assert back["individual"].tolist() == ["s7", "s7"]
    assert back["species"].tolist() == ["Saiga_tatarica"] * 2
    assert back["collar"].tolist() == [11, 11]
    assert back["timestamp"].astype(str).tolist() == ["2021-03-01 00:00:00+00:00",
                                                      "2021-03-01 06:00:00+00:00"]
    one = tracks_from_trajectories(tc.trajectories[0], species="Saiga tatarica")
    assert_geodataframe_equal(one, back)
    # a trajectory whose index carries a time zone is converted to UTC
    aware = tc.trajectories[0]
    aware.df = aware.df.set_axis(local.rename("t"), axis=0)
    again = tracks_from_trajectories(aware, species="Saiga tatarica")
    assert_geodataframe_equal(again, back)


def test_bad_inputs(movebank_tracks):
    tc = tracks_to_trajectories(movebank_tracks)
    tc.trajectories[1].df = tc.trajectories[1].df.reset_index()
    with pytest.raises(SchemaError, match=r"not indexed by time \(ids: G2\).*DatetimeIndex"):
        tracks_from_trajectories(tc)
    with pytest.raises(SchemaError, match="must be a movingpandas TrajectoryCollection"):
        tracks_from_trajectories(movebank_tracks)
    with pytest.raises(SchemaError, match="must be a GeoDataFrame"):
        tracks_to_trajectories(pd.DataFrame(movebank_tracks))
    with pytest.warns(UserWarning, match="single fix and no trajectory; left out: G2"):
        tc = tracks_to_trajectories(movebank_tracks.drop(index=4))
    assert [tr.id for tr in tc] == ["G1"]
    with pytest.raises(MissingColumnError, match="timestamp"):
        tracks_to_trajectories(movebank_tracks.drop(columns="timestamp"))


def test_repeated_timestamps_and_reserved_column(movebank_tracks):
    twice = pd.concat([movebank_tracks, movebank_tracks.iloc[[0]]], ignore_index=True)
    with pytest.warns(UserWarning, match="1 fix\\(es\\) repeat the timestamp"):
        tc = tracks_to_trajectories(twice)
    assert len(tc.get_trajectory("G1").df) == 3
    with pytest.raises(SchemaError, match=r"column 'traj_id'.*rename it"):
        tracks_to_trajectories(movebank_tracks.assign(traj_id=1))
