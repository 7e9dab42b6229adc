"""``cami-atlas mitigation placement`` on the default atlas: a hypothetical fenced line
through the saiga range (drawn for the test, not a real project)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString

from cami_atlas.cli import main
from cami_atlas.pipeline.placement import OUTPUTS

LINE = LineString([(65.5, 47.0), (68.5, 49.0)])  # hypothetical, Betpak-Dala


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("placement")
    line = tmp / "hypothetical_line.geojson"
    gpd.GeoDataFrame({"name": ["hypothetical fenced railway"]}, geometry=[LINE],
                     crs="EPSG:4326").to_file(line)
    out = tmp / "out"
    result = CliRunner().invoke(main, [
        "mitigation", "placement", str(line), "--species", "saiga", "-k", "4",
        "--min-spacing-km", "30", "--step-km", "10", "--cell-size-m", "15000",
        "--n-cores", "4", "--structure-type", "fence opening", "--out", str(out)])
    return line, out, result


def test_outputs_and_gains(placed, own_outputs) -> None:
    _, out, result = placed
    assert result.exit_code == 0, result.output
    assert own_outputs(out) == sorted(OUTPUTS)
    assert (out / "project.qgz").is_file() and (out / "resistance_quicklook.png").is_file()
    openings = pd.read_csv(out / "crossing_openings.csv")
    curve = pd.read_csv(out / "gain_curve.csv")
    assert openings["order"].tolist() == [1, 2, 3, 4]
    # greedy: each pick gains no more than the one before; the curve is their running sum
    assert (np.diff(openings["gain"]) <= 1e-9).all() and (openings["gain"] > 0).all()
    assert curve["k"].tolist() == [0, 1, 2, 3, 4] and curve["cumulative_gain"].iloc[0] == 0
    assert np.allclose(np.diff(curve["cumulative_gain"]), openings["gain"], rtol=1e-12)
    assert openings["share_of_total"].sum() == pytest.approx(1.0)
    # spacing along the line is respected
    along = np.sort(openings["along_km"].to_numpy())
    assert (np.diff(along) >= 30 - 1e-9).all()
    # the openings lie on the line
    pts = gpd.GeoSeries(gpd.points_from_xy(openings["lon"], openings["lat"]), crs=4326)
    utm = pts.estimate_utm_crs()
    line_utm = gpd.GeoSeries([LINE], crs=4326).to_crs(utm).iloc[0]
    assert (pts.to_crs(utm).distance(line_utm) < 100).all()
    report = (out / "placement_report.md").read_text(encoding="utf-8")
    assert "# Crossing placement: Saiga tatarica" in report
    assert "Open the lowest wires of a fence at regular intervals" in report  # catalogue
    layers = set(gpd.list_layers(out / "crossing_placement.gpkg")["name"])
    assert layers == {"openings", "candidates", "line", "cores"}


def test_k_larger_than_possible_is_a_clear_error(placed, tmp_path: Path) -> None:
    line, _, _ = placed
    result = CliRunner().invoke(main, [
        "mitigation", "placement", str(line), "--species", "saiga", "-k", "50",
        "--min-spacing-km", "100", "--cell-size-m", "20000", "--n-cores", "3",
        "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: k = 50 openings do not fit")
    assert "at most 3 can be 100000 m apart; ask for k <= 3" in result.output
    assert not (tmp_path / "o").exists()
