"""Bad input that used to be accepted: each is refused with a message that says what was
probably meant, in the library (pytest.raises(match=)) and at the command line (exit 1,
the exact one-line message, nothing written)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, Point, box

from cami_atlas import cli
from cami_atlas.barriers import track_crossings, track_steps
from cami_atlas.barriers.crossings import track_individuals
from cami_atlas.errors import CRSError, GeometryTypeError, LayerReadError, SchemaError
from cami_atlas.io import read_layer, read_tracks_csv
from cami_atlas.screening.route import check_route
from cami_atlas.validate import CAMI_BBOX, check_coordinates, validate_layer

CAMI = box(*CAMI_BBOX)


def _roads(coords, crs="EPSG:4326"):
    return gpd.GeoDataFrame({"infra_type": ["road"]}, geometry=[LineString(coords)], crs=crs)


# ----------------------------------------------------------------------- coordinates
def test_utm_metres_tagged_lon_lat():
    with pytest.raises(CRSError, match=r"^layer 'r': x values up to 713345 are not longitudes; "
                                       r"the data look like projected metres \(UTM\?\) tagged "
                                       r"as EPSG:4326\. Set the CRS they are actually in, e\.g\. "
                                       r"--crs EPSG:32643"):
        validate_layer(_roads([(712345, 4651234), (713345, 4652234)]), "infrastructure",
                       layer="r")


def test_longitude_200():
    with pytest.raises(CRSError, match=r"x values up to 201 are not longitudes \(-180\.\.180\); "
                                       r"if the data use 0\.\.360 longitudes, subtract 360"):
        validate_layer(_roads([(200, 45), (201, 46)]), "infrastructure")


def test_latitude_beyond_90_is_swapped():
    with pytest.raises(CRSError, match=r"y values up to 100 are not latitudes .* look like "
                                       r"\(lat, lon\): swap them"):
        validate_layer(_roads([(45, 100), (46, 99)]), "infrastructure")


def test_swapped_for_the_cami_region_only_with_a_region():
    swapped = _roads([(45, 70), (46, 71)])  # lon 70, lat 45 written as (lat, lon)
    with pytest.raises(CRSError, match=r"look like \(lat, lon\): swap them"):
        check_coordinates(swapped, "layer 'x'", region_bbox=CAMI_BBOX)
    # without a region the same numbers are a valid place (north-west Russia)
    assert len(validate_layer(swapped, "infrastructure")) == 1
    # a layer inside the region is fine
    check_coordinates(_roads([(70, 45), (71, 46)]), region_bbox=CAMI_BBOX)


def test_degrees_tagged_utm():
    with pytest.raises(CRSError, match=r"look like longitude/latitude degrees but the layer is "
                                       r"tagged EPSG:32643 \(metres\)"):
        validate_layer(_roads([(70, 45), (71, 46)], crs="EPSG:32643"), "infrastructure")
    # real UTM coordinates pass
    validate_layer(_roads([(500000, 4500000), (501000, 4501000)], crs="EPSG:32643"),
                   "infrastructure")


def test_crs_option_relabels_an_impossible_stored_crs(tmp_path):
    p = tmp_path / "utm.gpkg"
    _roads([(712345, 4651234), (713345, 4652234)]).to_file(p)
    with pytest.warns(UserWarning, match=r"stored CRS EPSG:4326 does not fit the coordinates; "
                                         r"using crs='EPSG:32643' instead"):
        g = read_layer(p, "infrastructure", crs="EPSG:32643")
    assert g.crs.to_epsg() == 32643
    # a plausible stored CRS is still not silently replaced
    q = tmp_path / "ll.gpkg"
    _roads([(70, 45), (71, 46)]).to_file(q)
    with pytest.raises(CRSError, match="is stored in EPSG:4326 but crs='EPSG:32643' was given"):
        read_layer(q, "infrastructure", crs="EPSG:32643")


# ----------------------------------------------------------------------------- routes
def test_zero_length_route():
    r = gpd.GeoSeries([LineString([(70, 45), (70, 45)])], crs="EPSG:4326")
    with pytest.raises(GeometryTypeError, match=r"^route: 1 feature\(s\) \(row\(s\) 0\) have a "
                                                r"line of zero length .* at least two distinct "
                                                r"points"):
        check_route(r, CAMI)


def test_single_point_route_file(tmp_path):
    p = tmp_path / "r.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                 '"properties": {}, "geometry": {"type": "LineString", '
                 '"coordinates": [[70, 45]]}}]}')
    with pytest.raises(LayerReadError, match=r"a line feature has a single point, which is not "
                                             r"a line .* at least two distinct points"):
        read_layer(p, "infrastructure")


def test_route_with_swapped_coordinates():
    r = gpd.GeoSeries([LineString([(45, 70), (46, 71)])], crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"look like \(lat, lon\): swap them"):
        check_route(r, CAMI)


# ----------------------------------------------------------------------------- tracks
def _fixes(ids, hours, xs, layer=None):
    data = {"individual": ids, "timestamp": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(hours, unit="h")}
    if layer is not None:
        data["layer"] = layer
    return gpd.GeoDataFrame(data, geometry=[Point(x, 0) for x in xs], crs="EPSG:32643")


def test_tracks_of_two_layers_are_kept_apart():
    # two collars called F01 in two layers, interleaved in time: merged, they would make
    # 3 steps zig-zagging between the studies; kept apart, 1 step each
    t = _fixes(["F01"] * 4, [0, 1, 2, 3], [500000, 600000, 501000, 601000],
               layer=["a", "b", "a", "b"])
    steps = track_steps(t)
    assert sorted(steps["individual"]) == ["a:F01", "b:F01"]
    assert np.allclose(sorted(steps["step_length_km"]), [1.0, 1.0], atol=0.01)
    assert track_individuals(t.assign(layer="a")).tolist() == ["F01"] * 4


def test_repeated_fix_is_dropped_with_a_count():
    t = _fixes(["a", "a", "a"], [0, 0, 1], [500000, 500000, 501000])
    with pytest.warns(UserWarning, match=r"dropped 1 repeated fix\(es\)"):
        steps = track_steps(t)
    assert len(steps) == 1 and steps["duration_h"].tolist() == [1.0]


def test_one_animal_at_two_places_at_once_is_an_error():
    t = _fixes(["a", "a", "a"], [0, 0, 1], [500000, 502000, 501000])
    with pytest.raises(SchemaError, match=r"2 fixes share an individual and a time stamp but "
                                          r"lie at different positions \(first: individual 'a' "
                                          r"at 2020-01-01 00:00:00\+00:00\)"):
        track_steps(t)


def test_track_csv_duplicates(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("individual,timestamp,lon,lat\na,2020-01-01 00:00,70,45\n"
                 "a,2020-01-01 00:00,70.2,45\n")
    with pytest.raises(SchemaError, match=r"2 fixes share an individual and a timestamp but "
                                          r"have different coordinates \(CSV lines 2, 3\)"):
        read_tracks_csv(p)
    p.write_text("individual,timestamp,lon,lat\na,2020-01-01 00:00,70,45\n"
                 "a,2020-01-01 00:00,70,45\na,2020-01-01 01:00,70.1,45\n")
    with pytest.warns(UserWarning, match=r"dropped 1 repeated fix\(es\) .*CSV lines 3\)"):
        assert len(read_tracks_csv(p)) == 2


def test_track_csv_coordinates(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("individual,timestamp,lon,lat\na,2020-01-01 00:00,712345,4651234\n")
    with pytest.raises(SchemaError, match=r"look like projected metres \(UTM\?\); give the CRS "
                                          r"they are in, e\.g\. crs='EPSG:32643'"):
        read_tracks_csv(p)
    p.write_text("individual,timestamp,lon,lat\na,2020-01-01 00:00,45,100\n")
    with pytest.raises(SchemaError, match=r"look like \(lat, lon\): swap the columns 'lon' and "
                                          r"'lat'"):
        read_tracks_csv(p)


def test_track_crossings_on_any_line_layer():
    t = _fixes(["a", "a"], [0, 2], [500000, 502000])
    border = gpd.GeoDataFrame({"name": ["KAZ-UZB"]},
                              geometry=[LineString([(501000, -500), (501000, 500)])],
                              crs="EPSG:32643")
    ev = track_crossings(t, border)
    assert ev[["step", "individual", "barrier_class"]].values.tolist() == [[0, "a", "unknown"]]
    assert ev["infra_type"].isna().all()
    assert ev["start_time"].iloc[0] == pd.Timestamp("2020-01-01", tz="UTC")
    assert (ev["t_before"] == ev["start_time"]).all()  # deprecated name kept


# -------------------------------------------------------------------- duplicate columns
def test_duplicate_columns_fail_at_load(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("individual,timestamp,lon,lat,lon\na,2020-01-01 00:00,70,45,1\n")
    with pytest.raises(SchemaError, match=rf"^{p}: the header names column\(s\) 'lon' more than "
                                          r"once; rename or delete the duplicate"):
        read_tracks_csv(p)
    g = _roads([(70, 45), (71, 46)])
    g.insert(1, "dup", 1)
    g.insert(2, "dup2", 2)
    g.columns = ["infra_type", "dup", "dup", "geometry"]
    with pytest.raises(SchemaError, match=r"^layer 'x': column name\(s\) 'dup' occur more than "
                                          r"once"):
        validate_layer(g, "infrastructure", layer="x")


# ------------------------------------------------------------------------ permutations
def test_zero_permutations_gives_normal_p_values():
    from cami_atlas.hotspots import gi_star, hotspot_grid

    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                              geometry=[box(0, 0, 200_000, 200_000)], crs="ESRI:102025")
    rail = gpd.GeoDataFrame({"infra_type": ["railway"], "Saiga_tatarica": ["complete barrier"]},
                            geometry=[LineString([(0, 100_000), (200_000, 100_000)])],
                            crs="ESRI:102025")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cells = hotspot_grid(rail, ranges, cell_km=20, permutations=0)
        norm = gi_star(cells, cells["score"].to_numpy(), permutations=0, p_value="norm")
    np.testing.assert_allclose(cells["gi_p"].to_numpy(), norm["gi_p"].to_numpy())


# -------------------------------------------------------------------------------- CLI
@pytest.mark.parametrize(("coords", "message"), [
    ([(712345, 4651234), (713345, 4652234)],
     "Error: layer from {p}: x values up to 713345 are not longitudes; the data look like "
     "projected metres (UTM?) tagged as EPSG:4326. Set the CRS they are actually in, e.g. "
     "--crs EPSG:32643 for UTM zone 43N (in Python gdf.set_crs('EPSG:32643', "
     "allow_override=True)), or re-export the file with its real CRS."),
    ([(200, 45), (201, 46)],
     "Error: layer from {p}: x values up to 201 are not longitudes (-180..180); if the data "
     "use 0..360 longitudes, subtract 360 from those above 180, otherwise fix those values."),
    ([(45, 70), (46, 71)],
     "Error: layer from {p}: the coordinates (x 45..46, y 70..71) lie outside the study "
     "region (44.0, 23.0, 125.0, 56.0) (lon/lat) but inside it once x and y are exchanged: "
     "the coordinates look like (lat, lon): swap them so that x is the longitude and y the "
     "latitude."),
])
def test_cli_layers_refuse_impossible_coordinates(tmp_path, coords, message):
    p = tmp_path / "roads.gpkg"
    _roads(coords).to_file(p)
    atlas = tmp_path / "atlas.gpkg"
    runner = CliRunner()
    for args in (["layers", "validate", str(p), "--kind", "infrastructure"],
                 ["layers", "import", str(p), "--kind", "infrastructure", "--atlas", str(atlas),
                  "--licence", "CC0"]):
        result = runner.invoke(cli.main, args)
        assert result.exit_code == 1, result.output
        assert result.output == message.format(p=p) + "\n"
    assert not atlas.exists()


@pytest.mark.parametrize(("geometry", "message"), [
    (LineString([(70, 45), (70, 45)]),
     "Error: route file {p}: 1 feature(s) (row(s) 0) have a line of zero length (a single "
     "point, or all vertices at the same place); a route needs at least two distinct points: "
     "fix or remove those features."),
    (LineString([(712345, 4651234), (713345, 4652234)]),
     "Error: route file {p}: x values up to 713345 are not longitudes; the data look like "
     "projected metres (UTM?) tagged as EPSG:4326. Set the CRS they are actually in, e.g. "
     "--crs EPSG:32643 for UTM zone 43N (in Python gdf.set_crs('EPSG:32643', "
     "allow_override=True)), or re-export the file with its real CRS."),
    (LineString([(45, 70), (46, 71)]),
     "Error: route file {p}: the coordinates (x 45..46, y 70..71) lie outside the study "
     "region (44.0, 23.0, 125.0, 56.0) (lon/lat) but inside it once x and y are exchanged: "
     "the coordinates look like (lat, lon): swap them so that x is the longitude and y the "
     "latitude."),
])
def test_cli_screen_route_refuses_bad_routes(tmp_path, geometry, message):
    p = tmp_path / "route.gpkg"
    gpd.GeoDataFrame(geometry=[geometry], crs="EPSG:4326").to_file(p)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["screen-route", str(p), "--type", "railway",
                                           "--out", str(out), "--no-connectivity"])
    assert result.exit_code == 1, result.output
    assert result.output == message.format(p=p) + "\n"
    assert not out.exists() or not any(out.iterdir())


def test_cli_single_point_route(tmp_path):
    p = tmp_path / "r.geojson"
    p.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                 '"properties": {}, "geometry": {"type": "LineString", '
                 '"coordinates": [[70, 45]]}}]}')
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.main, ["screen-route", str(p), "--type", "railway",
                                           "--out", str(out), "--no-connectivity"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {p}: a line feature has a single point, which is not a line (GEOS: "
        "IllegalArgumentException: point array must contain 0 or >1 elements); a line needs "
        "at least two distinct points: fix or remove that feature (or store it as a "
        "Point).\n")
    assert not out.exists() or not any(out.iterdir())
