"""The web application through FastAPI's TestClient, on a synthetic atlas with hostile texts."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import Geod

from cami_atlas.geojson import check_rfc7946
from cami_atlas.raster import Grid
from cami_atlas.store import Atlas
from cami_atlas.store.rasters import geotiff_to_grid

pytest.importorskip("fastapi", reason="the web extra (FastAPI) is not installed")

MALICIOUS = '<script>alert(1)</script><img src=x onerror="window.__xss=1">'
# synthetic geometry (invented for the tests): two countries side by side, two species
COUNTRY_A = shapely.box(40, 40, 60, 55)  # "AAA"
COUNTRY_B = shapely.box(60, 40, 80, 55)  # "BBB"
SAIGA_RANGE = shapely.box(50, 44, 58, 50)
KULAN_RANGE = shapely.box(62, 42, 70, 47)
# a railway along the meridian 54 E from 45 to 49 N: inside AAA and the saiga range
MERIDIAN = shapely.LineString([(54, 45), (54, 47), (54, 49)])
# a road in BBB crossing the kulan range, zig-zagging (many vertices to simplify)
ZIGZAG = shapely.LineString([(61 + i * 0.05, 44 + (0.02 if i % 2 else 0)) for i in range(200)])


def synthetic_atlas() -> Atlas:
    atlas = Atlas("synthetic web")
    countries = gpd.GeoDataFrame(
        {"iso3": ["AAA", "BBB"], "name": ["Aland", MALICIOUS], "cami_range_state": [True, True]},
        geometry=[COUNTRY_A, COUNTRY_B], crs="EPSG:4326")
    atlas.add_layer("countries", countries, "country", source="invented", licence="CC0-1.0")
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"],
                               "season": ["resident", "resident"]},
                              geometry=[SAIGA_RANGE, KULAN_RANGE], crs="EPSG:4326")
    atlas.add_layer("ranges", ranges.to_crs("ESRI:102025"), "species_range", source="invented",
                    licence="CC-BY-4.0", attribution="Range makers")
    infra = gpd.GeoDataFrame({"infra_type": ["railway", "road"], "status": ["existing"] * 2,
                              "name": ["Meridian line", MALICIOUS]},
                             geometry=[MERIDIAN, ZIGZAG], crs="EPSG:4326")
    atlas.add_layer("infra", infra, "infrastructure", source=MALICIOUS, licence="ODbL-1.0",
                    attribution=MALICIOUS)
    values = np.add.outer(np.arange(20.0), np.arange(30.0))
    values[:3, :3] = np.nan
    atlas.add_layer("dem", Grid(values, Affine(0.5, 0, 45, 0, -0.5, 52), "EPSG:4326"), "raster",
                    source="invented", licence="CC0-1.0")
    return atlas


@pytest.fixture
def atlas_path(tmp_path: Path) -> Path:
    return synthetic_atlas().save(tmp_path / "web.gpkg", published_by="tester")


@pytest.fixture
def client(atlas_path: Path):
    from fastapi.testclient import TestClient

    from cami_atlas.web.app import create_app

    with TestClient(create_app(atlas_path, refresh_s=0)) as test_client:
        yield test_client


GEOD = Geod(ellps="WGS84")
MERIDIAN_KM = GEOD.line_length([54, 54], [45, 49]) / 1000  # along a meridian: exact


def _vertices(doc: dict) -> int:
    return sum(len(f["geometry"]["coordinates"]) for f in doc["features"])


def test_home_page_lists_layers_and_uses_only_local_assets(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    for name in ("countries", "ranges", "infra", "dem"):
        assert f'value="{name}"' in html
    assert '<option value="Saiga_tatarica">Saiga tatarica</option>' in html
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []  # no CDN, no other server
    assert '/static/vendor/leaflet/leaflet.js' in html
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/static/app/atlas.js").status_code == 200


def test_hostile_texts_are_escaped_everywhere(client) -> None:
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for url in ("/", "/layer/infra", "/country/BBB", "/species/Saiga_tatarica",
                "/species/Equus_hemionus"):
        html = client.get(url).text
        assert MALICIOUS not in html and "<script>alert" not in html, url
    assert escaped in client.get("/layer/infra").text  # source and attribution, escaped
    assert escaped in client.get("/country/BBB").text  # the country name
    home = client.get("/").text  # the JSON island escapes < > & as \u003c...
    island = re.search(r'<script type="application/json" id="atlas-layers">(.*?)</script>',
                       home, re.S)[1]
    assert "<" not in island and json.loads(island)[2]["source"] == MALICIOUS
    # the API returns the text as data; the map script shows it with textContent
    hits = client.get("/api/identify", params={"lon": 65, "lat": 44.01, "zoom": 8}).json()
    assert any(h["properties"].get("name") == MALICIOUS for h in hits)
    script = client.get("/static/app/atlas.js").text
    assert ".innerHTML" not in script and "insertAdjacentHTML" not in script


def test_map_geojson_is_simplified_per_zoom_and_filtered(client) -> None:
    low = client.get("/api/layers/infra/geojson", params={"zoom": 2}).json()
    high = client.get("/api/layers/infra/geojson", params={"zoom": 14}).json()
    assert check_rfc7946(low) == [] and check_rfc7946(high) == []
    assert len(low["features"]) == len(high["features"]) == 2
    # at zoom 14 a pixel is 2e-5 deg: every zigzag vertex (0.02 deg) stays; the meridian's
    # middle vertex is collinear and goes at any zoom
    assert _vertices(high) == 2 + len(ZIGZAG.coords)
    assert _vertices(low) <= 6  # at zoom 2 a pixel is 0.35 deg: the zigzag becomes straight
    # only what the map styles by; the other attributes come from /api/identify
    assert low["features"][1]["properties"] == {"infra_type": "road", "status": "existing"}
    # species filter: ranges of that species; infrastructure meeting its range
    saiga = {"species": "Saiga_tatarica"}
    ranges = client.get("/api/layers/ranges/geojson", params=saiga).json()
    assert len(ranges["features"]) == 1
    shape = shapely.geometry.shape(ranges["features"][0]["geometry"])
    assert shape.bounds == pytest.approx((50, 44, 58, 50), abs=1e-3)
    infra = client.get("/api/layers/infra/geojson", params=saiga).json()
    assert [f["id"] for f in infra["features"]] == [0]  # the meridian line only
    # country filter: countries by iso3, other layers by intersection
    bbb = client.get("/api/layers/infra/geojson", params={"country": "BBB"}).json()
    assert [f["id"] for f in bbb["features"]] == [1]
    both = client.get("/api/layers/infra/geojson",
                      params={"country": "BBB", "species": "Saiga_tatarica"}).json()
    assert both["features"] == []
    # bbox: only features meeting the box
    west = client.get("/api/layers/infra/geojson", params={"bbox": "50,40,56,50"}).json()
    assert [f["id"] for f in west["features"]] == [0]
    # the served bytes (joined from features serialized once) are the document itself
    service = client.app.state.service
    for bbox in (None, (50, 40, 56, 50), (0, 0, 1, 1)):
        doc = service.geojson("infra", zoom=5, bbox=bbox)
        assert json.loads(service.geojson("infra", zoom=5, bbox=bbox, as_bytes=True)) == doc


def test_screening_workers_yield_the_cpu_to_readers(tmp_path: Path) -> None:
    import os

    from cami_atlas.web.jobs import SCREENING_NICENESS, ScreeningJobs

    jobs = ScreeningJobs(workers=1)
    try:
        worker_nice = jobs._processes_pool().submit(os.nice, 0).result(timeout=120)
    finally:
        jobs.shutdown()
    assert worker_nice == min(os.nice(0) + SCREENING_NICENESS, 19)


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"species": "Nope_nope"}, 404, "no range of species 'Nope_nope'"),
    ({"country": "ZZZ"}, 400, "country='ZZZ' is not in the atlas"),
    ({"bbox": "1,2,3"}, 400, "must be four numbers"),
    ({"bbox": "10,0,5,1"}, 400, "west <= east"),
    ({"zoom": 99}, 422, "less than or equal to 22"),
])
def test_map_parameters_are_checked(client, params, status, message) -> None:
    answer = client.get("/api/layers/infra/geojson", params=params)
    assert answer.status_code == status and message in answer.text


def test_identify_on_click(client) -> None:
    hits = client.get("/api/identify", params={"lon": 54.001, "lat": 46, "zoom": 10}).json()
    layers = [h["layer"] for h in hits]
    assert layers == ["countries", "ranges", "infra"]
    rail = hits[2]["properties"]
    assert rail["name"] == "Meridian line" and rail["infra_type"] == "railway"
    # 5 pixels at zoom 10 are 0.0069 deg: 0.01 deg off the line is a miss, 0.005 a hit
    far = client.get("/api/identify", params={"lon": 54.01, "lat": 46, "zoom": 10,
                                              "layers": "infra"}).json()
    near = client.get("/api/identify", params={"lon": 54.005, "lat": 46, "zoom": 10,
                                               "layers": "infra"}).json()
    assert far == [] and len(near) == 1
    assert client.get("/api/identify", params={"lon": 200, "lat": 0}).status_code == 400
    assert client.get("/api/identify", params={"lon": 0, "lat": 0,
                                               "layers": "nope"}).status_code == 404


def test_km_in_range_api_and_species_page(client) -> None:
    rows = client.get("/api/species/Saiga_tatarica/km").json()
    rail = [r for r in rows if r["infra_type"] == "railway"]
    assert {r["country"] for r in rail} == {"AAA"} and {r["layer"] for r in rail} == {"infra"}
    assert sum(r["length_km"] for r in rail) == pytest.approx(MERIDIAN_KM, rel=1e-3)
    assert not [r for r in rows if r["infra_type"] == "road"]  # the road is in BBB only
    kulan = client.get("/api/species/Equus_hemionus/km").json()
    inside = ZIGZAG.intersection(shapely.box(62, 42, 70, 47))
    expected = GEOD.geometry_length(inside) / 1000
    assert sum(r["length_km"] for r in kulan) == pytest.approx(expected, rel=1e-3)
    page = client.get("/species/Saiga_tatarica").text
    assert f"{MERIDIAN_KM:,.1f}" in page
    assert "Range makers" in page and "/layer/ranges" in page  # data sources with citation
    assert client.get("/species/Nope_nope").status_code == 404


def test_country_page_and_api(client) -> None:
    aaa = client.get("/api/countries/AAA").json()
    assert aaa["species"] == ["Saiga_tatarica"]
    assert aaa["infrastructure"] == [
        {"layer": "infra", "infra_type": "railway", "length_km": pytest.approx(MERIDIAN_KM,
                                                                               rel=1e-6)}]
    bbb = client.get("/api/countries/BBB").json()
    assert bbb["species"] == ["Equus_hemionus"]
    assert bbb["infrastructure"][0]["length_km"] == pytest.approx(
        GEOD.geometry_length(ZIGZAG) / 1000, rel=1e-6)
    html = client.get("/country/AAA").text
    assert "Aland" in html and "/species/Saiga_tatarica" in html
    assert client.get("/api/countries").json() == [  # sorted by name: "<" before "A"
        {"iso3": "BBB", "name": MALICIOUS}, {"iso3": "AAA", "name": "Aland"}]
    assert client.get("/country/ZZZ").status_code == 400


def test_downloads_carry_licence_and_citation(client, atlas_path: Path) -> None:
    geo = client.get("/download/infra.geojson")
    assert geo.status_code == 200 and geo.headers["content-type"] == "application/geo+json"
    assert 'filename="infra_v1.geojson"' in geo.headers["content-disposition"]
    doc = geo.json()
    assert check_rfc7946(doc) == [] and len(doc["features"]) == 2
    assert doc["cami_atlas"]["licence"] == "ODbL-1.0" and doc["cami_atlas"]["version"] == 1
    assert "Licence: ODbL-1.0" in doc["cami_atlas"]["citation"]
    assert geo.headers["x-licence"] == "ODbL-1.0"
    table = pd.read_csv(io.BytesIO(client.get("/download/infra.csv").content))
    assert table["name"].tolist() == ["Meridian line", MALICIOUS]
    assert shapely.from_wkt(table["geometry_wkt"][0]).equals(MERIDIAN)
    gpkg = client.get("/download/ranges.gpkg").content
    out = atlas_path.parent / "down.gpkg"
    out.write_bytes(gpkg)
    one = Atlas.open(out)
    assert one.layer_names() == ["ranges"]
    assert (one.layer_info("ranges")["licence"], one.layer_info("ranges")["attribution"]) == (
        "CC-BY-4.0", "Range makers")
    tif = client.get("/download/dem.tif").content
    np.testing.assert_array_equal(geotiff_to_grid(tif, "dem").values,
                                  synthetic_atlas().read("dem").values)
    assert client.get("/download/dem.csv").status_code == 400
    assert client.get("/download/infra.tif").status_code == 400
    assert client.get("/download/infra.shp").status_code == 400
    assert client.get("/download/nope.csv").status_code == 404


def test_any_version_can_be_downloaded(client, atlas_path: Path) -> None:
    atlas = Atlas.open(atlas_path)
    one = atlas.read("infra").iloc[:1]
    atlas.add_layer("infra", one, "infrastructure", source="trimmed", licence="CC0-1.0",
                    overwrite=True)
    atlas.save(published_by="editor")
    record = client.get("/api/layers/infra").json()  # refresh_s=0: sees version 2 at once
    assert record["version"] == 2 and record["licence"] == "CC0-1.0"
    assert [(v["version"], v["published_by"], v["current"]) for v in record["versions"]] == [
        (1, "tester", False), (2, "editor", True)]
    assert len(client.get("/download/infra.geojson").json()["features"]) == 1
    old = client.get("/download/infra.geojson", params={"version": 1}).json()
    assert len(old["features"]) == 2 and old["cami_atlas"]["licence"] == "ODbL-1.0"
    assert client.get("/download/infra.geojson", params={"version": 5}).status_code == 404
    assert "editor" in client.get("/layer/infra").text


def test_raster_overlay(client) -> None:
    answer = client.get("/api/layers/dem/png")
    assert answer.status_code == 200 and answer.content[:8] == b"\x89PNG\r\n\x1a\n"
    (south, west), (north, east) = json.loads(answer.headers["x-bounds"])
    # the image covers exactly the raster's extent (45..60 E, 42..52 N)
    assert (west, south, east, north) == pytest.approx((45, 42, 60, 52), abs=1e-6)
    import matplotlib.image

    rgba = matplotlib.image.imread(io.BytesIO(answer.content), format="png")
    assert rgba[0, 0, 3] == 0  # the NaN corner is transparent
    assert rgba[rgba.shape[0] // 2, rgba.shape[1] // 2, 3] > 0.7
    assert client.get("/api/layers/dem/geojson").status_code == 400


def test_raster_tiles_through_the_api(client, pixel_centres) -> None:
    """The synthetic atlas' ``dem`` (row + col, 0.5 deg cells, 45-60 E, 42-52 N, NaN in the
    north-west corner) as tiles: colours of the quick-look's colour scale, transparent
    where there is no data, and its value on click."""
    import matplotlib as mpl
    from PIL import Image

    answer = client.get("/api/layers/dem/tiles/5/20/11.png")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    (south, west), (north, east) = json.loads(answer.headers["x-bounds"])
    assert (west, south, east, north) == pytest.approx((45, 42, 60, 52), abs=1e-6)
    rgba = np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGBA"))
    assert rgba.shape == (256, 256, 4)
    lon, lat = pixel_centres(5, 20, 11)
    col = np.floor((lon - 45) / 0.5).astype(int)
    row = np.floor((52 - lat) / 0.5).astype(int)
    inside = (row >= 0) & (row < 20) & (col >= 0) & (col < 30)
    assert inside.any() and (rgba[~inside, 3] == 0).all() and (rgba[inside, 3] > 0).all()
    # one pixel in the middle of cell (row 10, col 20): value 30 of the finite 3..48
    i = np.argmin(np.abs(lat[:, 0] - (52 - 10.5 * 0.5)))
    j = np.argmin(np.abs(lon[0] - (45 + 20.5 * 0.5)))
    expected = mpl.colormaps["terrain"]((30 - 3) / (48 - 3))
    assert rgba[i, j, :3] == pytest.approx(np.round(np.array(expected[:3]) * 255), abs=1)
    assert rgba[i, j, 3] == 204  # 80 % opaque
    # the tile north of it holds the NaN corner: transparent there
    north_tile = np.asarray(Image.open(io.BytesIO(
        client.get("/api/layers/dem/tiles/5/20/10.png").content)).convert("RGBA"))
    lon, lat = pixel_centres(5, 20, 10)
    col = np.floor((lon - 45) / 0.5).astype(int)
    row = np.floor((52 - lat) / 0.5).astype(int)
    inside = (row >= 0) & (row < 20) & (col >= 0) & (col < 30)
    nodata = inside & (row < 3) & (col < 3)
    assert nodata.sum() > 100 and (north_tile[nodata | ~inside, 3] == 0).all()
    assert (north_tile[inside & ~nodata, 3] == 204).all()
    # a tile far from the raster is transparent; a tile that does not exist is refused
    empty = np.asarray(Image.open(io.BytesIO(
        client.get("/api/layers/dem/tiles/5/0/0.png").content)).convert("RGBA"))
    assert (empty[..., 3] == 0).all()
    bad = client.get("/api/layers/dem/tiles/3/8/0.png")
    assert bad.status_code == 400 and "x and y from 0 to 2**zoom - 1" in bad.text
    assert client.get("/api/layers/infra/tiles/3/5/2.png").status_code == 400
    # identify on click answers the raster's value (row 10, col 20 -> 30)
    hits = client.get("/api/identify", params={"lon": 45 + 20.5 * 0.5, "lat": 52 - 10.5 * 0.5,
                                               "layers": "dem"}).json()
    assert hits == [{"layer": "dem", "kind": "raster", "properties": {"value": 30.0}}]
    assert client.get("/api/identify", params={"lon": 45.2, "lat": 51.8,
                                               "layers": "dem"}).json() == []


def test_openapi_documents_the_api(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/layers", "/api/layers/{name}", "/api/layers/{name}/geojson",
                 "/api/identify", "/api/species/{species}/km", "/api/countries/{iso3}",
                 "/download/{name}.{fmt}"):
        assert path in paths, path
    assert client.get("/docs").status_code == 200


def test_served_from_postgis_sees_new_versions(postgis_url: str, atlas_path: Path) -> None:
    from fastapi.testclient import TestClient

    from cami_atlas.store.copy import pull_atlas
    from cami_atlas.web.app import create_app

    pull_atlas(atlas_path, postgis_url)
    client = TestClient(create_app(postgis_url, refresh_s=0))
    assert [r["name"] for r in client.get("/api/layers").json()] == [
        "countries", "ranges", "infra", "dem"]
    before = Atlas.open(postgis_url).layer_versions()
    for hostile in ("x' OR '1'='1", "'; DROP TABLE cami_atlas_layers; --"):
        assert client.get("/api/layers/infra/geojson",
                          params={"species": hostile}).status_code == 404
        assert client.get("/api/layers/infra/geojson",
                          params={"country": hostile}).status_code == 400
        assert client.get(f"/api/layers/{hostile}").status_code == 404
        assert client.get("/download/infra.csv", params={"version": hostile}).status_code == 422
    pd.testing.assert_frame_equal(Atlas.open(postgis_url).layer_versions(), before)
    rows = client.get("/api/species/Saiga_tatarica/km").json()
    assert sum(r["length_km"] for r in rows) == pytest.approx(MERIDIAN_KM, rel=1e-3)
    shared = Atlas.open(postgis_url)
    moved = gpd.GeoDataFrame({"infra_type": ["railway"], "status": ["existing"]},
                             geometry=[shapely.LineString([(55, 45), (55, 46)])], crs="EPSG:4326")
    shared.add_layer("infra", moved, "infrastructure", source="new survey", licence="CC0-1.0",
                     overwrite=True)
    shared.save(published_by="contributor")
    doc = client.get("/api/layers/infra/geojson", params={"zoom": 10}).json()
    assert [f["geometry"]["coordinates"] for f in doc["features"]] == [[[55, 45], [55, 46]]]
    assert client.get("/api/layers/infra").json()["versions"][-1]["published_by"] == "contributor"


def test_serve_command_errors_are_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cami_atlas.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["serve", "--atlas", str(tmp_path / "missing.gpkg")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: atlas file {tmp_path / 'missing.gpkg'} does not exist. Give the path of an "
        "atlas GeoPackage, or create one with `cami-atlas layers import SOURCE --kind KIND "
        f"--atlas {tmp_path / 'missing.gpkg'}`."]
    result = runner.invoke(main, ["serve", "--atlas", "postgresql://u:pw@127.0.0.1:1/db"])
    assert result.exit_code == 1 and "cannot connect to the atlas database" in result.output
    assert "pw" not in result.output
    assert runner.invoke(main, ["serve", "--port", "0"]).exit_code == 2  # click's usage error


def test_species_distribution_per_country(client, atlas_path: Path) -> None:
    doc = client.get("/download/species/Equus_hemionus/distribution.geojson").json()
    assert check_rfc7946(doc) == []
    props = [f["properties"] for f in doc["features"]]
    assert [(p["iso3"], p["species"]) for p in props] == [("BBB", "Equus_hemionus")]
    # the kulan box 62..70 E x 42..47 N lies inside BBB: its area on the ellipsoid, with edges
    # along parallels (densified), is the independent expectation
    dense = shapely.segmentize(shapely.box(62, 42, 70, 47), 0.01)
    expected = abs(GEOD.geometry_area_perimeter(dense)[0]) / 1e6
    assert props[0]["area_km2"] == pytest.approx(expected, rel=2e-3)
    assert "CC-BY-4.0" in doc["cami_atlas"]["licence"] and "CC0-1.0" in doc["cami_atlas"]["licence"]
    assert "Range makers" in doc["cami_atlas"]["attribution"]
    # a range across a border is split: move the saiga box onto the AAA/BBB border at 60 E
    atlas = Atlas.open(atlas_path)
    ranges = atlas.read("ranges").to_crs("EPSG:4326")
    ranges.loc[ranges["species"] == "Saiga_tatarica", "geometry"] = shapely.box(58, 44, 62, 46)
    atlas.add_layer("ranges", ranges, "species_range", source="moved", licence="CC0-1.0",
                    overwrite=True)
    atlas.save(published_by="tester")
    split = gpd.read_file(io.BytesIO(
        client.get("/download/species/Saiga_tatarica/distribution.gpkg").content),
        layer="saiga_tatarica_by_country")
    assert split["iso3"].tolist() == ["AAA", "BBB"]
    halves = [abs(GEOD.geometry_area_perimeter(shapely.segmentize(shapely.box(x, 44, x + 2, 46),
                                                                  0.01))[0]) / 1e6
              for x in (58, 60)]
    assert split["area_km2"].tolist() == pytest.approx(halves, rel=2e-3)
    table = pd.read_csv(io.BytesIO(
        client.get("/download/species/Saiga_tatarica/distribution.csv").content))
    assert list(table.columns) == ["species", "iso3", "country", "area_km2", "geometry_wkt"]
    assert client.get("/download/species/Nope_nope/distribution.csv").status_code == 404
    assert client.get("/download/species/Saiga_tatarica/distribution.tif").status_code == 400
    assert "/download/species/Saiga_tatarica/distribution.gpkg" in client.get(
        "/species/Saiga_tatarica").text


def _links(html: str) -> list[str]:
    """Addresses a page loads or links to, except the published sources its references
    cite (``class="cite"``: the reader may follow them; nothing is loaded from them)."""
    return [u for u in re.findall(r'(?<!class="cite" )(?:href|src)="([^"#]+)"', html)
            if u != "data:,"]


def test_static_site_pages_links_and_downloads(atlas_path: Path, tmp_path: Path) -> None:
    from cami_atlas.errors import OutputExistsError
    from cami_atlas.web.site import build_site

    atlas = Atlas.open(atlas_path)  # a second version: the copy holds the current one only
    atlas.add_layer("infra", atlas.read("infra"), "infrastructure", source=MALICIOUS,
                    licence="ODbL-1.0", attribution=MALICIOUS, overwrite=True)
    atlas.save(published_by="editor")
    out = build_site(tmp_path / "site", atlas_path)
    pages = sorted(str(p.relative_to(out)) for p in out.rglob("*.html"))
    assert pages == ["country/AAA.html", "country/BBB.html", "index.html", "layer/countries.html",
                     "layer/dem.html", "layer/infra.html", "layer/ranges.html",
                     "species/Equus_hemionus.html", "species/Saiga_tatarica.html"]
    for page in out.rglob("*.html"):  # every relative link leads to a file of the copy
        html = page.read_text(encoding="utf-8")
        assert MALICIOUS not in html and "<script>alert" not in html, page
        for link in _links(html):
            assert not link.startswith(("/", "http:", "https:")), (page, link)
            target = (page.parent / link).resolve()
            assert target.is_file(), (page, link)
    layer_page = (out / "layer" / "infra.html").read_text(encoding="utf-8")
    assert "infra_v2.geojson" in layer_page and "infra_v1" not in layer_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in layer_page
    doc = json.loads((out / "download" / "infra_v2.geojson").read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == [] and doc["cami_atlas"]["version"] == 2
    assert doc["cami_atlas"]["licence"] == "ODbL-1.0"
    km = json.loads((out / "data" / "km_Saiga_tatarica.json").read_text(encoding="utf-8"))
    assert sum(r["length_km"] for r in km) == pytest.approx(MERIDIAN_KM, rel=1e-3)
    dist = json.loads((out / "download" / "equus_hemionus_by_country.geojson").read_text())
    assert [f["properties"]["iso3"] for f in dist["features"]] == ["BBB"]
    mapdata = json.loads((out / "data" / "infra.geojson").read_text(encoding="utf-8"))
    assert mapdata["features"][0]["properties"]["name"] == "Meridian line"  # for clicks
    assert (out / "data" / "dem.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "static" / "vendor" / "leaflet" / "leaflet.js").is_file()
    # the factsheets: cited notes and the hotspot summaries the pages read
    saiga = (out / "species" / "Saiga_tatarica.html").read_text(encoding="utf-8")
    assert 'class="cite" href="https://doi.org/10.1126/sciadv.aao2314"' in saiga
    assert 'data-url="../data/hotspots_species_Saiga_tatarica.json"' in saiga
    hot = json.loads((out / "data" / "hotspots_species_Saiga_tatarica.json").read_text())
    assert hot["n_cells"] > 0 and hot["n_hot"] <= hot["n_cells"]
    assert "borders" in json.loads((out / "data" / "hotspots_country_AAA.json").read_text())
    with pytest.raises(OutputExistsError, match=r"exists already.*--overwrite"):
        build_site(tmp_path / "site", atlas_path)
    build_site(tmp_path / "site", atlas_path, species=["Saiga_tatarica"], overwrite=True)
    assert not (out / "species" / "Equus_hemionus.html").exists()
    bbb = (out / "country" / "BBB.html").read_text(encoding="utf-8")
    assert "<em>Equus hemionus</em>" in bbb and "Equus_hemionus.html" not in bbb
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_site_build_command(atlas_path: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cami_atlas.cli import main

    runner = CliRunner()
    out = tmp_path / "public"
    result = runner.invoke(main, ["site", "build", str(out), "--atlas", str(atlas_path),
                                  "--species", "Saiga_tatarica"])
    assert result.exit_code == 0, result.output
    # index, 2 countries, 4 layers, 1 species; 4 layers x formats (11) + 3 distributions
    assert result.output.startswith(f"wrote {out}: 8 pages, 14 downloads;")
    again = runner.invoke(main, ["site", "build", str(out), "--atlas", str(atlas_path)])
    assert again.exit_code == 1 and again.output.strip().splitlines() == [
        f"Error: {out} exists already; pass overwrite=True (--overwrite) to replace it, or "
        "choose another folder."]
    bad = runner.invoke(main, ["site", "build", str(tmp_path / "x"), "--atlas", str(atlas_path),
                               "--species", "Nope_nope"])
    assert bad.exit_code == 1 and "no range of species 'Nope_nope'" in bad.output


def test_interface_in_english_and_russian(client, atlas_path: Path, tmp_path: Path) -> None:
    from babel.messages.pofile import read_po

    english = client.get("/layer/infra")
    assert english.headers["content-language"] == "en" and "<h2>Versions</h2>" in english.text
    russian = client.get("/layer/infra", params={"lang": "ru"})
    assert russian.headers["content-language"] == "ru" and '<html lang="ru">' in russian.text
    assert "<h2>Версии</h2>" in russian.text and "Скачать текущую версию (1)" in russian.text
    assert "cami_atlas_lang" not in russian.text
    assert "lang=ru" in russian.headers["set-cookie"]
    # the cookie keeps the choice; the data are not translated, and stay escaped
    again = client.get("/species/Saiga_tatarica")
    assert "Инфраструктура в ареале" in again.text and "Range makers" in again.text
    assert "&lt;script&gt;" in client.get("/country/BBB").text
    client.cookies.clear()
    assert "<h2>Layers</h2>" in client.get("/").text
    browser_ru = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}).text
    config = json.loads(re.search(r'<script type="application/json" id="atlas-config">(.*?)'
                                  r'</script>', browser_ru, re.S)[1])
    assert "<h2>Слои</h2>" in browser_ru and config["i18n"]["nothing"] == "Здесь ничего нет."
    assert "<h2>Layers</h2>" in client.get("/", params={"lang": "xx"}).text  # unknown: English
    # every interface text of the templates has its Russian translation
    with (Path(__file__).resolve().parents[2] / "src/cami_atlas/web/locale/ru/LC_MESSAGES"
          / "messages.po").open("rb") as fh:
        catalog = {m.id: m.string for m in read_po(fh) if m.id}
    templates = Path(__file__).resolve().parents[2] / "src/cami_atlas/web/templates"
    marked = {t for p in templates.glob("*.html") for t in re.findall(r'_\("([^"]*)"', p.read_text())}
    assert marked and all(catalog.get(t) for t in marked), sorted(t for t in marked
                                                                 if not catalog.get(t))
    from cami_atlas.web.site import build_site

    out = build_site(tmp_path / "site_ru", atlas_path, species=["Saiga_tatarica"], lang="ru")
    assert "Инфраструктура в ареале" in (out / "species" / "Saiga_tatarica.html").read_text()


def _wait_job(client, job_id: str, timeout_s: float = 120) -> dict:
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        state = client.get(f"/api/screenings/{job_id}").json()
        if state["status"] in ("done", "failed"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"screening {job_id} did not finish: {state}")


def test_route_screening_runs_in_the_background(atlas_path: Path) -> None:
    import time

    from fastapi.testclient import TestClient

    from cami_atlas.web.app import create_app

    route = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
             "geometry": {"type": "LineString", "coordinates": [[52, 43], [54, 47], [56, 51]]}}]}
    with TestClient(create_app(atlas_path)) as client:
        answer = client.post("/api/screenings", params={"infra_type": "rail",
                                                        "attr": ["track=double"]},
                             content=json.dumps(route),
                             headers={"Content-Type": "application/geo+json"})
        assert answer.status_code == 202, answer.text
        job = answer.json()
        assert job["status"] in ("queued", "running") and job["infra_type"] == "railway"
        started = time.monotonic()  # the server answers others while the screening runs
        assert client.get("/api/layers").status_code == 200
        assert time.monotonic() - started < 2
        state = _wait_job(client, job["id"])
        assert state["status"] == "done", state["error"]
        assert {"route_segments.geojson", "screening_report.html", "screening.gpkg"} <= set(
            state["files"])
        segments = client.get(state["urls"]["route_segments.geojson"]).json()
        assert check_rfc7946(segments) == []
        total_km = sum(f["properties"]["length_km"] for f in segments["features"])
        expected = GEOD.line_length([52, 54, 56], [43, 47, 51]) / 1000
        assert total_km == pytest.approx(expected, rel=2e-3)
        report = client.get(state["urls"]["screening_report.html"])
        assert report.status_code == 200 and "text/html" in report.headers["content-type"]
        download = client.get(state["urls"]["screening.gpkg"])
        assert "attachment" in download.headers["content-disposition"]
        # the connectivity model ran (the default), as the library runs it
        assert state["connectivity"] is True
        import io

        import pandas as pd

        from cami_atlas.atlas import Atlas
        from cami_atlas.screening import screen_route
        from cami_atlas.web.jobs import parse_route

        online = pd.read_csv(io.BytesIO(client.get(state["urls"]["connectivity.csv"]).content))
        direct = screen_route(parse_route(json.dumps(route).encode()), Atlas.open(atlas_path),
                              infra_type="railway", attributes={"track": "double"},
                              name="uploaded route").connectivity
        assert len(online) and list(online["species"]) == list(direct["species"])
        assert online["eca_loss_pct"].to_numpy() == pytest.approx(
            direct["eca_loss_pct"].to_numpy(dtype=float), rel=1e-9)
        # only the files the job wrote, nothing else of the disk
        for name in ("..%2F..%2F..%2Fetc%2Fpasswd", "nothing.csv", "%2Fetc%2Fpasswd"):
            assert client.get(f"/screenings/{job['id']}/{name}").status_code == 404
        assert client.get("/api/screenings/not-a-job").status_code == 404


@pytest.mark.parametrize(("body", "ctype", "params", "status", "message"), [
    (b'{"type": "LineString", "coordinates": [[52, 43], [56, 51]]}', "text/plain",
     {"infra_type": "road"}, 415, "application/geo+json"),
    (b"x" * 2_000_001, "application/geo+json", {"infra_type": "road"}, 413, "larger than"),
    (b"{not json", "application/json", {"infra_type": "road"}, 400, "not valid JSON"),
    (b'{"type": "Point", "coordinates": [52, 43]}', "application/geo+json",
     {"infra_type": "road"}, 400, "Point geometries; a route is LineString"),
    (b'{"type": "LineString", "coordinates": [[520, 43], [56, 51]]}', "application/geo+json",
     {"infra_type": "road"}, 400, "not longitude/latitude"),
    (b'{"type": "FeatureCollection", "features": []}', "application/geo+json",
     {"infra_type": "road"}, 400, "holds no line"),
    (b'{"type": "LineString", "coordinates": [[52, 43], [56, 51]]}', "application/geo+json",
     {"infra_type": "teleporter"}, 400, "infra_type='teleporter' is not valid"),
    (b'{"type": "LineString", "coordinates": [[52, 43], [56, 51]]}', "application/geo+json",
     {"infra_type": "road", "attr": "fenced"}, 400, "must be name=value"),
    (b'{"type": "LineString", "coordinates": [[52, 43], [56, 51]]}', "application/geo+json",
     {}, 422, "infra_type"),
])
def test_route_screening_refuses_bad_uploads(client, body, ctype, params, status,
                                            message) -> None:
    answer = client.post("/api/screenings", params=params, content=body,
                         headers={"Content-Type": ctype})
    assert answer.status_code == status and message in answer.text, answer.text
    assert not list(client.app.state.jobs.root.iterdir())  # nothing stored


def test_route_screenings_are_limited_per_client(atlas_path: Path) -> None:
    from fastapi.testclient import TestClient

    from cami_atlas.web.app import create_app

    line = b'{"type": "LineString", "coordinates": [[52, 43], [56, 51]]}'
    with TestClient(create_app(atlas_path)) as client:
        client.app.state.jobs.per_client = 1
        first = client.post("/api/screenings", params={"infra_type": "road"}, content=line,
                            headers={"Content-Type": "application/geo+json"})
        second = client.post("/api/screenings", params={"infra_type": "road"}, content=line,
                             headers={"Content-Type": "application/geo+json"})
        assert first.status_code == 202
        assert second.status_code == 429 and "1 unfinished screening(s)" in second.text
        assert _wait_job(client, first.json()["id"])["status"] == "done"
        third = client.post("/api/screenings", params={"infra_type": "road"}, content=line,
                            headers={"Content-Type": "application/geo+json"})
        assert third.status_code == 202  # a finished screening frees the place
        _wait_job(client, third.json()["id"])
        root = client.app.state.jobs.root
    assert not root.exists()  # the application's shutdown deletes the screenings' files


def test_map_lines_carry_the_barrier_class_of_the_chosen_species() -> None:
    from collections import Counter

    import shapely

    from cami_atlas.barriers.classify import classify_barriers
    from cami_atlas.web.service import AtlasService

    doc = AtlasService().geojson("railways", zoom=4, species="Saiga_tatarica")
    got = Counter(f["properties"]["barrier_class"] for f in doc["features"])
    # independently: the railways crossing the saiga range, classified with the matrix
    atlas = Atlas.default()
    ranges = atlas.read("species_ranges")
    saiga = shapely.union_all(ranges.loc[ranges["species"] == "Saiga_tatarica"].geometry
                              .to_crs(atlas.read("railways").crs).values)
    rail = atlas.read("railways")
    rail = rail[shapely.intersects(saiga, rail.geometry.values)]
    expected = Counter(classify_barriers(rail, "Saiga_spp"))
    assert got == expected and got["partial barrier"] > 0
    plain = AtlasService().geojson("railways", zoom=4)
    assert "barrier_class" not in plain["features"][0]["properties"]
