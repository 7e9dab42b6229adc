"""``cami-atlas tracks segment|corridors|ssf`` on synthetic lon/lat tracks of known paths."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from cami_atlas import cli
from cami_atlas.atlas import Atlas
from cami_atlas.raster import Grid

E0, N0 = 600_000.0, 5_300_000.0  # somewhere in UTM 48N (Mongolia)


@pytest.fixture
def herd_csv(tmp_path, migrant):
    rng = np.random.default_rng(8)
    parts = [migrant(rng, f"A{i}", x_km=20, y_end_km=60, noise_m=150) for i in range(4)]
    parts += [migrant(rng, "B0", x_km=60, y_end_km=60, noise_m=150)]
    herd = pd.concat(parts, ignore_index=True)
    herd = herd.set_geometry(shapely.transform(herd.geometry, lambda c: c + np.array([E0, N0])))
    ll = herd.to_crs(4326)
    path = tmp_path / "herd.csv"
    pd.DataFrame({"individual": ll["individual"], "timestamp": ll["timestamp"],
                  "lon": ll.geometry.x.round(7), "lat": ll.geometry.y.round(7),
                  "species": "Procapra gutturosa"}).to_csv(path, index=False)
    return path


def run(args):
    return CliRunner().invoke(cli.main, args, catch_exceptions=False)


def test_segment_writes_migrations(herd_csv, tmp_path):
    out = tmp_path / "seg"
    res = run(["tracks", "segment", str(herd_csv), "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = pd.read_csv(out / "migrations.csv")
    assert len(m) == 10 and set(m["season"]) == {"spring", "autumn"}
    assert m["distance_km"].between(53, 55).all()  # 54 km, see test_segmentation
    assert "10 migrations of 5 individuals" in res.output
    again = CliRunner().invoke(cli.main, ["tracks", "segment", str(herd_csv), "--out",
                                          str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_corridors_outputs_and_atlas_layers(herd_csv, tmp_path):
    out = tmp_path / "corr"
    atlas_path = tmp_path / "mine.gpkg"
    res = run(["tracks", "corridors", str(herd_csv), "--season", "spring",
               "--cell-size-m", "500", "--thresholds", "0.3,0.5", "--out", str(out),
               "--add-to-atlas", str(atlas_path), "--licence", "CC0-1.0"])
    assert res.exit_code == 0, res.output
    for name in ("migrations.csv", "motion_variance.csv", "corridors.gpkg",
                 "corridor_share.tif"):
        assert (out / name).exists()
    share = Grid.from_geotiff(out / "corridor_share.tif")
    assert share.crs.to_epsg() == 32648
    assert np.nanmax(share.values) == pytest.approx(0.8)
    corr = gpd.read_file(out / "corridors.gpkg", layer="corridors")
    high = corr.set_index("use_class").loc["high", "geometry"]
    # high use (4 of 5 animals) along path A (x = E0 + 20 km), nothing near path B
    assert high.distance(shapely.Point(E0 + 20_000, N0 + 30_000)) == 0
    assert high.distance(shapely.LineString([(E0 + 60_000, N0), (E0 + 60_000,
                                                                 N0 + 60_000)])) > 20_000
    atlas = Atlas.open(atlas_path)
    assert atlas.layer_names("corridor") == ["procapra_gutturosa_corridors",
                                             "procapra_gutturosa_corridors_stopovers"]
    assert atlas.layer_info("procapra_gutturosa_corridors")["licence"] == "CC0-1.0"


def test_corridors_errors_are_one_line_and_write_nothing(herd_csv, tmp_path):
    out = tmp_path / "c"
    res = CliRunner().invoke(cli.main, ["tracks", "corridors", str(herd_csv), "--out",
                                        str(out), "--add-to-atlas", str(tmp_path / "a.gpkg")])
    assert res.exit_code == 1 and "needs --licence" in res.output
    assert not out.exists() or not any(out.iterdir())
    res = CliRunner().invoke(cli.main, ["tracks", "corridors", str(herd_csv), "--out",
                                        str(out), "--min-distance-km", "500"])
    assert res.exit_code == 1 and "no migration found" in res.output
    assert not out.exists()  # checked before the work, created only when writing
    res = CliRunner().invoke(cli.main, ["tracks", "corridors", str(herd_csv), "--out",
                                        str(out), "--thresholds", "high"])
    assert res.exit_code == 1 and "MEDIUM,HIGH" in res.output


def test_single_individual_corridor_is_an_error(herd_csv, tmp_path):
    one = tmp_path / "one.csv"
    df = pd.read_csv(herd_csv)
    df[df["individual"] == "A0"].to_csv(one, index=False)
    res = CliRunner().invoke(cli.main, ["tracks", "corridors", str(one), "--out",
                                        str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "at least 2 individuals; got 1" in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_ssf_with_lines_writes_coefficients_and_resistance(herd_csv, tmp_path):
    fence = gpd.GeoDataFrame(
        {"infra_type": ["fence"]},
        geometry=[shapely.LineString([(E0 - 5_000, N0 + 30_000), (E0 + 80_000, N0 + 30_000)])],
        crs="EPSG:32648").to_crs(4326)
    lines = tmp_path / "fence.gpkg"
    fence.to_file(lines, driver="GPKG")
    out = tmp_path / "ssf"
    res = run(["tracks", "ssf", str(herd_csv), "--lines", str(lines), "--out", str(out),
               "--cell-size-m", "1000", "--n-random", "5"])
    assert res.exit_code == 0, res.output
    coefs = pd.read_csv(out / "ssf_coefficients.csv")
    assert coefs["term"].tolist() == ["cross_fence", "sl_m", "log_sl", "cos_ta"]
    assert (coefs["species"] == "Procapra_gutturosa").all()
    eff = pd.read_csv(out / "crossing_effects.csv")
    assert eff["infra_type"].tolist() == ["fence"]
    r = Grid.from_geotiff(out / "ssf_resistance_Procapra_gutturosa.tif")
    assert np.nanmin(r.values) == pytest.approx(1.0)
    # by barrier class of the CAMI matrix (a fence of unknown type: class 'unknown')
    res = run(["tracks", "ssf", str(herd_csv), "--lines", str(lines), "--out",
               str(tmp_path / "ssf2"), "--cell-size-m", "1000", "--n-random", "5",
               "--line-column", "barrier_class"])
    assert res.exit_code == 0, res.output
    coefs = pd.read_csv(tmp_path / "ssf2" / "ssf_coefficients.csv")
    assert coefs["term"].iloc[0] == "cross_unknown"
    res = CliRunner().invoke(cli.main, ["tracks", "ssf", str(herd_csv), "--out",
                                        str(tmp_path / "x")])
    assert res.exit_code == 1 and "needs covariates" in res.output
    res = CliRunner().invoke(cli.main, ["tracks", "ssf", str(herd_csv), "--out",
                                        str(tmp_path / "x"), "--raster", "elevation"])
    assert res.exit_code == 1 and "no such raster layer" in res.output
    assert not (tmp_path / "x").exists()


def test_ssf_with_an_atlas_raster(herd_csv, tmp_path):
    from affine import Affine

    # a raster layer in lon/lat over the herd: values rise to the east
    lon = 106.2 + 0.01 * np.arange(141)  # the herd: lon 106.3-107.5, lat 47.8-48.4
    values = np.tile(lon - 106.2, (100, 1))
    grid = Grid(values, Affine(0.01, 0, 106.195, 0, -0.01, 48.6), "EPSG:4326")
    atlas = Atlas("r")
    atlas.add_layer("east", grid, "raster", source="synthetic", licence="CC0-1.0")
    path = atlas.save(tmp_path / "r.gpkg")
    out = tmp_path / "ssf"
    res = run(["tracks", "ssf", str(herd_csv), "--atlas", str(path), "--raster", "east",
               "--out", str(out), "--cell-size-m", "1000", "--n-random", "5"])
    assert res.exit_code == 0, res.output
    coefs = pd.read_csv(out / "ssf_coefficients.csv")
    assert coefs["term"].iloc[0] == "east"
    assert not (out / "crossing_effects.csv").exists()


def test_corridors_from_given_dates(herd_csv, tmp_path):
    dates = tmp_path / "dates.csv"
    pd.DataFrame({"individual": ["A0", "A1", "A2", "A3", "B0"], "start": "2021-04-11",
                  "end": "2021-04-21", "season": "spring"}).to_csv(dates, index=False)
    out = tmp_path / "corr"
    res = run(["tracks", "corridors", str(herd_csv), "--dates", str(dates), "--cell-size-m",
               "500", "--out", str(out)])
    assert res.exit_code == 0, res.output
    m = pd.read_csv(out / "migrations.csv")
    assert m["method"].unique().tolist() == ["dates"]
    assert m["duration_days"].tolist() == [10.0] * 5
    mv = pd.read_csv(out / "motion_variance.csv")
    assert mv["n_fixes"].tolist() == [121] * 5  # 10 days of 2-hourly fixes, both ends
