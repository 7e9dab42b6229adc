"""``cami-atlas mitigation catalogue`` and ``cami-atlas mitigation monitoring``."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, Point

from cami_atlas.cli import main

CRS = "EPSG:32642"


def test_catalogue_filtered_printed_and_exported(tmp_path) -> None:
    run = CliRunner().invoke(main, ["mitigation", "catalogue", "--infra-type", "fence",
                                    "--species", "saiga"])
    assert run.exit_code == 0, run.output
    # by hand from the shipped CSV: fence measures for saiga or for every species
    assert "9 measure(s)" in run.output
    assert "mitigate_railway_fence_removal" not in run.output  # khulan and gazelles only
    out = tmp_path / "cat.csv"
    run = CliRunner().invoke(main, ["mitigation", "catalogue", "--out", str(out)])
    assert run.exit_code == 0, run.output
    table = pd.read_csv(out)
    assert len(table) == 18 and table["source"].notna().all()
    again = CliRunner().invoke(main, ["mitigation", "catalogue", "--out", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_monitoring_records_and_gps(tmp_path) -> None:
    records = tmp_path / "counts.csv"
    pd.DataFrame({"structure_id": ["U1", "U1"], "structure_type": ["underpass"] * 2,
                  "species": ["khulan", "khulan"], "start_date": ["2024-01-01", "2024-02-01"],
                  "end_date": ["2024-01-10", "2024-02-10"],
                  "crossings": [12, 8]}).to_csv(records, index=False)
    fence = gpd.GeoDataFrame({"infra_type": ["fence"]},
                             geometry=[LineString([(0, -5000), (0, 5000)])], crs=CRS)
    gates = gpd.GeoDataFrame({"structure_id": ["G1"], "structure_type": ["fence opening"]},
                             geometry=[Point(0, 0)], crs=CRS)
    fixes = gpd.GeoDataFrame(
        {"individual": ["a", "a", "a"], "species": ["saiga"] * 3,
         "timestamp": pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")},
        geometry=[Point(-50, 20), Point(50, 20), Point(-50, 3000)], crs=CRS)
    paths = {}
    for name, gdf in (("fence", fence), ("gates", gates), ("fixes", fixes)):
        paths[name] = tmp_path / f"{name}.gpkg"
        gdf.to_file(paths[name])
    out = tmp_path / "use"
    run = CliRunner().invoke(main, [
        "mitigation", "monitoring", str(records), "--structures", str(paths["gates"]),
        "--line", str(paths["fence"]), "--tracks", str(paths["fixes"]), "--out", str(out)])
    assert run.exit_code == 0, run.output
    use = pd.read_csv(out / "observed_use.csv")
    assert use["crossings_per_day"].tolist() == [pytest.approx(1.0)]  # 20 in 20 days
    gps = pd.read_csv(out / "gps_crossings.csv")
    # crossings at y = 20 (G1) and at y = 1510 (elsewhere), by hand
    assert gps["crossings"].tolist() == [1, 1]
    assert gps["structure_id"].iloc[0] == "G1" and pd.isna(gps["structure_id"].iloc[1])
    assert (out / "use_by_structure_type.csv").is_file()


def test_monitoring_bad_input_writes_nothing(tmp_path) -> None:
    out = tmp_path / "use"
    run = CliRunner().invoke(main, ["mitigation", "monitoring", "--out", str(out)])
    assert run.exit_code == 1 and "RECORDS" in run.output
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"structure_id": ["U1"], "structure_type": ["underpass"],
                  "species": ["khulan"], "start_date": ["2024-01-01"],
                  "end_date": ["2024-01-10"], "crossings": [-3]}).to_csv(bad, index=False)
    run = CliRunner().invoke(main, ["mitigation", "monitoring", str(bad), "--out", str(out)])
    assert run.exit_code == 1 and "crossings" in run.output and str(bad) in run.output
    assert not out.exists()
