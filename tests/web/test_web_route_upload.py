"""Online screening of route files other than GeoJSON (GeoPackage, KML, zipped Shapefile)."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from pyproj import Geod
from shapely import LineString, Point

from cami_atlas.errors import SchemaError
from cami_atlas.web.app import create_app
from cami_atlas.web.jobs import parse_route_file

ROUTE = LineString([(66.9, 47.8), (67.4, 48.3)])  # hypothetical
HEADERS = {"X-Requested-With": "cami-atlas"}


def _files(tmp_path: Path) -> dict[str, Path]:
    gdf = gpd.GeoDataFrame({"name": ["hypothetical"]}, geometry=[ROUTE], crs="EPSG:4326")
    out = {"gpkg": tmp_path / "route.gpkg", "kml": tmp_path / "route.kml"}
    gdf.to_file(out["gpkg"], layer="route")
    gdf.to_file(out["kml"], driver="KML")
    shp = tmp_path / "shp"
    shp.mkdir()
    gdf.to_crs(32642).to_file(shp / "route.shp")  # a projected shapefile
    out["zip"] = tmp_path / "route.zip"
    with zipfile.ZipFile(out["zip"], "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    return out


def test_route_files_are_read_as_lines_in_lon_lat(tmp_path: Path) -> None:
    km = Geod(ellps="WGS84").geometry_length(ROUTE) / 1000
    for kind, path in _files(tmp_path).items():
        route = parse_route_file(path, path.name)
        assert route.crs.to_epsg() == 4326, kind
        got = Geod(ellps="WGS84").geometry_length(route.geometry.iloc[0]) / 1000
        assert got == pytest.approx(km, rel=1e-6), kind
    points = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[Point(67, 48)], crs="EPSG:4326").to_file(points)
    with pytest.raises(SchemaError, match="Point geometries"):
        parse_route_file(points, "points.gpkg")


def test_upload_endpoint_screens_and_refuses_bad_files(tmp_path: Path) -> None:
    files = _files(tmp_path)
    with TestClient(create_app()) as client:
        ans = client.post("/api/screenings/upload",
                          data={"infra_type": "fence", "connectivity": "false"},
                          files={"file": ("route.kml", files["kml"].read_bytes())},
                          headers=HEADERS)
        assert ans.status_code == 202, ans.text
        assert ans.json()["connectivity"] is False
        job_id = ans.json()["id"]
        for kind in ("gpkg", "zip"):
            other = client.post("/api/screenings/upload",
                                data={"infra_type": "road", "attr": ["road_class=highway"]},
                                files={"file": (f"route.{kind}", files[kind].read_bytes())},
                                headers=HEADERS)
            assert other.status_code in (202, 429), other.text  # 429: the client's limit
        # another site's form cannot queue screenings
        no_header = client.post("/api/screenings/upload", data={"infra_type": "fence"},
                                files={"file": ("route.kml", files["kml"].read_bytes())})
        assert no_header.status_code == 403
        bad = io.BytesIO()
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("../../evil.shp", b"x")
        for name, data, text in [("evil.zip", bad.getvalue(), "points outside the archive"),
                                 ("tool.exe", b"MZ", "are not read"),
                                 ("broken.gpkg", b"not a geopackage", "broken.gpkg")]:
            res = client.post("/api/screenings/upload", data={"infra_type": "fence"},
                              files={"file": (name, data)}, headers=HEADERS)
            assert res.status_code == 400 and text in res.json()["detail"], res.text
        end = time.monotonic() + 180
        while time.monotonic() < end:
            state = client.get(f"/api/screenings/{job_id}").json()
            if state["status"] in ("done", "failed"):
                break
            time.sleep(0.3)
        assert state["status"] == "done", state
        assert "screening_report.html" in state["files"]
        # the connectivity model was not asked for: its table has no rows
        table = client.get(f"/screenings/{job_id}/connectivity.csv").text.strip().splitlines()
        assert table == ["species,barrier_class,notes"]


def test_screening_reports_its_steps(tmp_path: Path) -> None:
    from cami_atlas.screening import screen_route
    from cami_atlas.screening.screen import SCREENING_STEPS
    from cami_atlas.web.jobs import Job, _progress_writer

    seen = []
    route = gpd.GeoDataFrame(geometry=[ROUTE], crs="EPSG:4326")
    screen_route(route, infra_type="fence", connectivity=False, buffers_km=(5,),
                 species=["saiga"], progress=lambda i, n, t: seen.append((i, n, t)))
    assert [i for i, _, _ in seen] == list(range(SCREENING_STEPS + 1))
    assert all(n == SCREENING_STEPS for _, n, _ in seen) and seen[1][2] == "preparing the route"
    # the job reads what the worker wrote
    job = Job("j1", "127.0.0.1", "fence", status="running", started=time.time(),
              folder=tmp_path / "j1")
    assert job.as_dict()["progress"]["text"] == "starting"
    _progress_writer(tmp_path / "j1")(3, SCREENING_STEPS, "crossings")
    assert job.as_dict()["progress"] == {"step": 3, "steps": SCREENING_STEPS,
                                         "text": "crossings"}
    job.status = "done"
    assert job.as_dict()["progress"]["step"] == SCREENING_STEPS
