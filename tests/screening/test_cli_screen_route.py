"""``cami-atlas screen-route`` on the default atlas (real data) and its error paths."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Geod
from shapely import LineString

from cami_atlas.cli import main
from cami_atlas.geojson import check_rfc7946

# a short hypothetical railway across the saiga range of the default atlas (near
# Zhezqazghan, Kazakhstan); coarse cells and small buffers keep the test fast
ROUTE = LineString([(66.9, 47.8), (67.4, 48.3)])


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text.append(data)


def _write(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    gdf.to_file(path)
    return path


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    route = _write(gpd.GeoDataFrame({"name": ["hypothetical"]}, geometry=[ROUTE],
                                    crs="EPSG:4326"), tmp / "route.geojson")
    out = tmp / "out"
    args = ["screen-route", str(route), "--type", "railway", "--attr", "track=double",
            "--attr", "fenced=yes", "--out", str(out), "--buffers-km", "1,5",
            "--cell-size-m", "10000", "--no-basemap"]
    result = CliRunner().invoke(main, args)
    return out, result, args


def test_cli_writes_geojson_map_and_report(cli_run) -> None:
    out, result, _ = cli_run
    assert result.exit_code == 0, result.output
    assert "screened route" in result.output
    for name in ("route_segments.geojson", "crossing_candidates.geojson", "screening.gpkg",
                 "screening_map.html", "screening_report.html", "species_summary.csv"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "route_segments.geojson").read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == [] and "crs" not in doc
    seg = gpd.read_file(out / "route_segments.geojson")
    total = Geod(ellps="WGS84").inv(66.9, 47.8, 67.4, 48.3)[2] / 1000
    # the straight lon/lat line is slightly longer than the geodesic (densified course)
    assert seg["length_km"].sum() == pytest.approx(total, rel=2e-3)
    species = pd.read_csv(out / "species_summary.csv")
    saiga = species.set_index("species").loc["Saiga_tatarica"]
    assert saiga["barrier_class"] == "complete barrier" and saiga["iucn_status"] == "CR"
    parser = _Collector()
    parser.feed((out / "screening_report.html").read_text(encoding="utf-8"))
    text = " ".join(parser.text)
    for sp in species["species"]:
        assert sp.replace("_", " ") in text
    links = [a.get("href") for t, a in parser.tags if t == "a"]
    frames = [a.get("src") for t, a in parser.tags if t == "iframe"]
    assert "screening_map.html" in links and "screening_map.html" in frames
    imgs = [a["src"] for t, a in parser.tags if t == "img"]
    assert imgs and all(s.startswith("data:image/png;base64,") for s in imgs)
    assert "SHA-256" in text and "public domain" in text and "CC0-1.0" in text
    assert "screen-route" in text  # the command in the reproducibility block


def test_cli_refuses_to_overwrite(cli_run) -> None:
    out, _, args = cli_run
    before = (out / "screening_report.html").stat().st_mtime_ns
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1
    assert "--overwrite" in again.output
    assert (out / "screening_report.html").stat().st_mtime_ns == before


def test_cli_route_without_crs(tmp_path) -> None:
    shp = tmp_path / "nocrs.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"a": [1]}, geometry=[ROUTE]).to_file(shp)
    assert not shp.with_suffix(".prj").exists()
    res = CliRunner().invoke(main, ["screen-route", str(shp), "--type", "road", "--out",
                                    str(tmp_path / "o")])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.strip().splitlines() if ln]
    assert len(lines) == 1 and "no CRS" in lines[0]


def test_cli_empty_route(tmp_path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    res = CliRunner().invoke(main, ["screen-route", str(path), "--type", "road", "--out",
                                    str(tmp_path / "o")])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.strip().splitlines() if ln]
    assert len(lines) == 1 and "empty" in lines[0]


def test_cli_route_outside_region(tmp_path) -> None:
    path = _write(gpd.GeoDataFrame(geometry=[LineString([(-60, -10), (-61, -11)])],
                                   crs="EPSG:4326"), tmp_path / "brazil.geojson")
    res = CliRunner().invoke(main, ["screen-route", str(path), "--type", "road", "--out",
                                    str(tmp_path / "o")])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.strip().splitlines() if ln]
    assert len(lines) == 1 and "outside the atlas region" in lines[0]
    assert not (tmp_path / "o").exists()


def test_cli_bad_attribute(tmp_path) -> None:
    path = _write(gpd.GeoDataFrame(geometry=[ROUTE], crs="EPSG:4326"), tmp_path / "r.geojson")
    res = CliRunner().invoke(main, ["screen-route", str(path), "--type", "railway", "--attr",
                                    "track=triple", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "'single track', 'double track'" in res.output
    res = CliRunner().invoke(main, ["screen-route", str(path), "--type", "railway", "--attr",
                                    "track", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "KEY=VALUE" in res.output


def test_cli_compares_scenario_column(tmp_path, toy_atlas_path) -> None:
    routes = gpd.GeoDataFrame({"scenario": ["west", "east"]},
                              geometry=[LineString([(65, 41), (65, 49)]),
                                        LineString([(66.5, 41), (66.5, 49)])], crs="EPSG:4326")
    path = _write(routes, tmp_path / "alternatives.gpkg")
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["screen-route", str(path), "--type", "railway", "--attr",
                                    "track=double", "--atlas", str(toy_atlas_path), "--out",
                                    str(out), "--buffers-km", "1", "--no-connectivity",
                                    "--no-basemap"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison.csv", index_col="scenario")
    assert sorted(table.index) == ["east", "west"]
    # the eastern alignment passes outside the saiga range (lon 64-66) but crosses its
    # corridor (lon 63-67, lat 44-44.5); the western one runs 42-48 N inside the range
    geod = Geod(ellps="WGS84")
    corridor_km = geod.inv(66.5, 44, 66.5, 44.5)[2] / 1000
    range_km = geod.inv(65, 42, 65, 48)[2] / 1000
    assert table.loc["east", "km_in_ranges_complete_barrier"] == pytest.approx(corridor_km,
                                                                              abs=1e-3)
    assert table.loc["west", "km_in_ranges_complete_barrier"] == pytest.approx(range_km,
                                                                              abs=1e-3)
    assert (out / "west" / "route_segments.geojson").is_file()
    assert (out / "comparison_map.html").is_file() and (out / "comparison_report.html").is_file()


def test_cli_proposes_catalogue_measures_per_segment(cli_run) -> None:
    out, result, _ = cli_run
    assert result.exit_code == 0, result.output
    prop = pd.read_csv(out / "mitigation_proposals.csv")
    saiga = prop[prop["species"] == "Saiga_tatarica"]
    # a fenced railway across saiga range: measures for railways that name saiga or no
    # species, worked out by hand from the shipped catalogue, in hierarchy order
    first = saiga[saiga["segment_id"] == saiga["segment_id"].iloc[0]]
    assert first["measure_id"].tolist() == [
        "avoid_no_fence", "avoid_realign", "mitigate_railway_fence_openings_kz",
        "offset_residual_loss"]
    assert set(prop["barrier_class"]) <= {"partial barrier", "complete barrier", "unknown"}
    html = (out / "screening_report.html").read_text(encoding="utf-8")
    assert "Measures from the mitigation catalogue" in html
    assert "Dismantle or open railway fencing at migration crossing sites" in html


def test_cli_bad_catalogue_fails_before_writing(tmp_path) -> None:
    route = _write(gpd.GeoDataFrame({"name": ["hypothetical"]}, geometry=[ROUTE],
                                    crs="EPSG:4326"), tmp_path / "route.geojson")
    bad = tmp_path / "catalogue.csv"
    bad.write_text("measure_id,source\nx,y\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["screen-route", str(route), "--type", "railway",
                                       "--out", str(out), "--catalogue", str(bad)])
    assert result.exit_code == 1
    assert "missing column" in result.output and str(bad) in result.output
    assert not out.exists()
