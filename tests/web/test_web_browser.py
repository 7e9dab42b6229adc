"""The online atlas in headless Chromium: the embedded default atlas served on localhost.

Opens the home page, switches species, identifies a feature by clicking the map, opens
the species page and downloads a layer; no JavaScript error, no request to any other
server. Screenshots are kept in ``$CAMI_MAP_SCREENSHOTS`` when set (else the test's
temporary folder).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cami_atlas.geojson import check_rfc7946
from cami_atlas.store import Atlas

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CAMI_MAP_SCREENSHOTS")


def _shots(tmp_path: Path) -> Path:
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _goto(page, url: str, timeout_s: float = 60) -> None:
    for domain in ("Page", "Runtime", "Log", "Network"):
        page.send(f"{domain}.enable")
    page.send("Page.navigate", url=url)
    deadline = time.monotonic() + timeout_s
    page.ws.settimeout(0.5)
    loaded = False
    while time.monotonic() < deadline and not loaded:
        try:
            msg = json.loads(page.ws.recv())
        except Exception as exc:
            if type(exc).__name__ != "WebSocketTimeoutException":
                raise
            continue
        page._record(msg)
        loaded = msg.get("method") == "Page.loadEventFired"
    page.ws.settimeout(15)
    if not loaded:
        raise TimeoutError(f"{url} did not finish loading in {timeout_s} s")


def _wait_for(page, expression: str, timeout_s: float = 90) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if page.eval(expression):
            return
        page.pump(0.2)
    raise AssertionError(f"timed out waiting for {expression}: state "
                         f"{page.eval('JSON.stringify(window.atlasState)')}")


def _screening_links(page) -> list[str]:
    """Wait for the submitted screening to finish; the links to its files."""
    _wait_for(page, "window.screenState.status === 'done' || "
                    "window.screenState.status === 'failed' || "
                    "window.screenState.status === 'error'", timeout_s=180)
    assert page.eval("window.screenState.status") == "done", page.eval(
        "document.getElementById('screen-status').textContent")
    return page.eval("Array.from(document.querySelectorAll('#screen-results a'))"
                     ".map(function (a) { return a.getAttribute('href'); })")


def _check_segments(page, links: list[str]) -> None:
    """The screened route's segments are RFC 7946 GeoJSON with at least one feature."""
    segments_url = next(h for h in links if h.endswith("/route_segments.geojson"))
    segments = page.eval(f"fetch({json.dumps(segments_url)}).then(function (r) "
                         "{ return r.json(); })")
    assert check_rfc7946(segments) == [] and len(segments["features"]) >= 1


def test_home_species_page_and_download(browser, live_server, tmp_path: Path) -> None:
    base = live_server()
    shots = _shots(tmp_path)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = browser()
    page.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads))

    # the home page: every checked layer arrives from the server
    _goto(page, base + "/")
    checked = page.eval("Array.from(document.querySelectorAll('.layer-toggle:checked'))"
                        ".map(function (b) { return b.value; })")
    assert checked == ["countries", "railways", "roads", "osm_astana", "species_ranges"]
    _wait_for(page, "window.atlasState.pending === 0 && "
                    "Object.keys(window.atlasState.loaded).length === 5")
    state = page.eval("window.atlasState")
    assert state["errors"] == []
    assert state["loaded"]["species_ranges"] == 15 and state["loaded"]["countries"] > 20
    assert page.eval("document.querySelectorAll('.leaflet-container').length") == 1
    page.screenshot(shots / "web_home.png")

    # a raster arrives as map tiles cut from its COG (ETOPO5 elevation, whole region)
    page.eval("document.querySelector('.layer-toggle[value=\"dem_etopo5\"]').click(); true")
    _wait_for(page, "window.atlasState.pending === 0 && window.atlasState.loaded.dem_etopo5")
    tiles = page.eval("Array.from(document.querySelectorAll('.raster-tiles img'))"
                      ".filter(function (i) { return i.complete && i.naturalWidth === 256; })"
                      ".map(function (i) { return i.src; })")
    assert tiles and all("/api/layers/dem_etopo5/tiles/4/" in t for t in tiles), tiles
    assert page.eval("window.atlasState.errors") == []
    page.screenshot(shots / "web_home_elevation_tiles.png")
    page.eval("document.querySelector('.layer-toggle[value=\"dem_etopo5\"]').click(); true")

    # switch species: only its range stays, infrastructure meeting it; the link follows
    page.eval("var s = document.getElementById('species'); s.value = 'Saiga_tatarica';"
              "s.dispatchEvent(new Event('change')); true")
    _wait_for(page, "window.atlasState.pending === 0 && "
                    "window.atlasState.loaded.species_ranges === 1")
    link = page.eval("document.getElementById('species-link').getAttribute('href')")
    assert link == "/species/Saiga_tatarica"
    railways = Atlas.default().read("railways")
    assert 0 < page.eval("window.atlasState.loaded.railways") < len(railways)

    # identify on click: the middle of the first railway inside the saiga range
    saiga = Atlas.default().read("species_ranges").to_crs("EPSG:4326")
    shape = saiga.geometry[saiga["species"] == "Saiga_tatarica"].union_all()
    inside = railways.geometry[railways.intersects(shape)].iloc[0].intersection(shape)
    part = inside.geoms[0] if hasattr(inside, "geoms") else inside
    point = part.interpolate(0.5, normalized=True)
    page.eval(f"window.atlasMap.setView([{point.y}, {point.x}], 10);"
              f"window.atlasMap.fire('click', {{latlng: L.latLng({point.y}, {point.x})}}); true")
    _wait_for(page, "window.atlasState.identified >= 1")
    text = page.eval("document.getElementById('identify').textContent")
    assert "railways (infrastructure)" in text and "infra_type" in text
    assert page.eval("document.querySelectorAll('.leaflet-popup').length") == 1
    _wait_for(page, "window.atlasState.pending === 0")  # the reload at zoom 10 too
    assert page.eval("window.atlasState.errors") == []
    page.screenshot(shots / "web_home_saiga.png")

    # the species page: km table and range map
    page.eval("document.getElementById('species-link').click(); true")
    page.pump(0.5)
    _wait_for(page, "location.pathname === '/species/Saiga_tatarica' && "
                    "document.readyState === 'complete' && window.atlasState && "
                    "window.atlasState.pending === 0")
    assert page.eval("document.querySelector('h1').textContent") == "Saiga tatarica"
    assert page.eval("document.querySelectorAll('#km-table tbody tr').length") > 5
    assert page.eval("window.atlasState.loaded.species_ranges") == 1
    # its factsheet: cited notes, connectivity of the range, hotspots asked for in the
    # background (computing, or shown if this server has them already)
    assert page.eval("document.querySelectorAll('ol.references li').length") >= 3
    assert page.eval("document.querySelectorAll('#connectivity tr').length") == 7
    _wait_for(page, "['computing', 'shown'].indexOf(window.hotspotState) >= 0")
    page.screenshot(shots / "web_species_saiga.png")

    # a layer page: download the railways as GeoJSON
    _goto(page, base + "/layer/railways")
    page.eval("document.querySelector('a.download[href$=\".geojson\"]').click(); true")
    target = downloads / "railways_v1.geojson"
    end = time.monotonic() + 60
    while time.monotonic() < end and not target.exists():
        page.pump(0.2)
    assert target.exists(), sorted(p.name for p in downloads.iterdir())
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert check_rfc7946(doc) == [] and len(doc["features"]) == len(railways)
    assert doc["cami_atlas"]["licence"] == Atlas.default().layer_info("railways")["licence"]
    page.screenshot(shots / "web_layer_railways.png")

    # upload a route and get its report and GeoJSON (the screening runs in the background)
    _goto(page, base + "/screen")
    route = json.dumps({"type": "LineString", "coordinates": [[66.9, 47.8], [67.4, 48.3]]})
    page.eval(f"""(function () {{
        var dt = new DataTransfer();
        dt.items.add(new File([{json.dumps(route)}], "route.geojson",
                              {{type: "application/geo+json"}}));
        document.getElementById("route-file").files = dt.files;
        document.getElementById("infra-type").value = "fence";
        document.querySelector("#screen-form button[type=submit]").click();
        return true; }})()""")
    links = _screening_links(page)
    assert any(h.endswith("/screening_report.html") for h in links)
    _check_segments(page, links)
    page.screenshot(shots / "web_screening.png")
    _goto(page, base + next(h for h in links if h.endswith("/screening_report.html")))
    assert "route" in page.eval("document.body.textContent").lower()

    # nothing went wrong, and nothing was fetched from anywhere but this server
    result = page.result
    assert result.exceptions == [] and result.console_errors == [] and result.dialogs == []
    hosts = {urlsplit(u).netloc for u in result.requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(base).netloc}


def test_static_copy_in_the_browser(browser, tmp_path: Path) -> None:
    """`cami-atlas site build` of the default atlas, served by a plain static file server."""
    import functools
    import http.server
    import threading

    from cami_atlas.web.site import build_site

    out = build_site(tmp_path / "site", species=["Saiga_tatarica"])
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    shots = _shots(tmp_path)
    try:
        page = browser()
        _goto(page, base + "/index.html")
        _wait_for(page, "window.atlasState.pending === 0 && "
                        "Object.keys(window.atlasState.loaded).length === 5")
        assert page.eval("window.atlasState.loaded.species_ranges") == 15
        page.eval("var s = document.getElementById('species'); s.value = 'Saiga_tatarica';"
                  "s.dispatchEvent(new Event('change')); true")
        _wait_for(page, "window.atlasState.pending === 0 && "
                        "window.atlasState.loaded.species_ranges === 1")
        assert page.eval("document.getElementById('species-link').getAttribute('href')") == \
            "species/Saiga_tatarica.html"
        # the barrier hotspots over the saiga range (computed when the copy was built)
        page.eval("document.querySelector('.layer-toggle[value=\"@hotspots\"]').click(); true")
        _wait_for(page, "window.atlasState.pending === 0 && window.atlasState.hotspots === "
                        "'shown'")
        hot = json.loads((out / "data" / "hotspots.geojson").read_text(encoding="utf-8"))
        saiga_cells = [f for f in hot["features"]
                       if "Saiga_tatarica" in f["properties"]["species"].split("; ")]
        assert page.eval("window.atlasState.loaded['@hotspots']") == len(saiga_cells) > 0
        assert page.eval("window.atlasState.errors") == []
        page.screenshot(shots / "site_home_saiga.png")
        page.eval("document.getElementById('species-link').click(); true")
        page.pump(0.5)
        _wait_for(page, "location.pathname === '/species/Saiga_tatarica.html' && "
                        "document.readyState === 'complete' && window.atlasState && "
                        "window.atlasState.pending === 0")
        assert page.eval("window.atlasState.loaded.species_ranges") == 1
        assert page.eval("document.querySelectorAll('#km-table tbody tr').length") > 5
        page.screenshot(shots / "site_species_saiga.png")
        _goto(page, base + "/country/KAZ.html")
        _wait_for(page, "window.atlasState.pending === 0")
        assert page.eval("window.atlasState.loaded.countries") == 1
        result = page.result
        assert result.exceptions == [] and result.console_errors == []
        hosts = {urlsplit(u).netloc for u in result.requests
                 if not u.startswith(("data:", "blob:"))}
        assert hosts == {urlsplit(base).netloc}
    finally:
        server.shutdown()
        server.server_close()


def _submit_and_wait(page, selector: str, path: str) -> None:
    page.eval(f"document.querySelector({json.dumps(selector)}).click(); true")
    page.pump(0.5)
    _wait_for(page, f"location.pathname === {json.dumps(path)} && "
                    "document.readyState === 'complete'", timeout_s=60)


def _sign_in(page, base: str, name: str, password: str) -> None:
    _goto(page, base + "/login")
    page.eval(f"document.getElementById('name').value = {json.dumps(name)};"
              f"document.getElementById('password').value = {json.dumps(password)}; true")
    _submit_and_wait(page, "#login-form button", "/contribute")


def test_contributor_uploads_and_editor_publishes(browser, live_server, tmp_path: Path
                                                   ) -> None:
    """Sign in as a contributor, upload a layer version, publish it as an editor, see it."""
    import geopandas as gpd
    from shapely import LineString, box

    from cami_atlas.web.accounts import AccountStore

    atlas = Atlas("synthetic browser atlas")  # SYNTHETIC layers
    rail = gpd.GeoDataFrame({"infra_type": ["railway"] * 2},
                            geometry=[LineString([(70 + i, 45), (70.5 + i, 46)])
                                      for i in range(2)], crs="EPSG:4326")
    atlas.add_layer("rail", rail, "infrastructure", source="synthetic", licence="CC0-1.0")
    atlas.add_layer("land", gpd.GeoDataFrame({"iso3": ["AAA"], "name": ["A"]},
                                             geometry=[box(69, 44, 76, 47)], crs="EPSG:4326"),
                    "country", source="synthetic", licence="CC0-1.0")
    path = atlas.save(tmp_path / "atlas.gpkg")
    store = AccountStore(tmp_path / "accounts.sqlite")
    store.add_user("ana", "contributor", "ana's long passphrase")
    store.add_user("ed", "editor", "ed's long passphrase too")
    base = live_server(path, accounts=tmp_path / "accounts.sqlite", refresh_s=0)
    shots = _shots(tmp_path)
    page = browser()

    _sign_in(page, base, "ana", "ana's long passphrase")
    five = gpd.GeoDataFrame({"infra_type": ["railway"] * 5},
                            geometry=[LineString([(70 + i, 45.2), (70.4 + i, 46)])
                                      for i in range(5)], crs="EPSG:4326").to_json()
    page.eval(f"""(function () {{
        var dt = new DataTransfer();
        dt.items.add(new File([{json.dumps(five)}], "rail_2026.geojson",
                              {{type: "application/geo+json"}}));
        document.getElementById("file").files = dt.files;
        document.getElementById("layer").value = "rail";
        document.getElementById("source").value = "field survey 2026 (synthetic)";
        document.getElementById("licence").value = "CC-BY-4.0";
        return true; }})()""")
    _submit_and_wait(page, "#contribute-form button", "/contribute")
    assert "is waiting for review" in page.eval("document.body.textContent")
    page.screenshot(shots / "web_contribute.png")
    _submit_and_wait(page, "form[action='/logout'] button", "/")

    _sign_in(page, base, "ed", "ed's long passphrase too")
    _goto(page, base + "/review")
    assert "rail_2026.geojson" in page.eval("document.body.textContent")
    page.screenshot(shots / "web_review.png")
    _submit_and_wait(page, "#submission-1 button.publish", "/review")
    assert "published" in page.eval("document.body.textContent")

    # the new version is on the map
    _goto(page, base + "/")
    page.eval("var box = document.querySelector('.layer-toggle[value=\"rail\"]');"
              "if (!box.checked) { box.click(); } true")
    _wait_for(page, "window.atlasState.pending === 0 && window.atlasState.loaded.rail >= 1")
    info = page.eval("fetch('/api/layers/rail').then(function (r) { return r.json(); })")
    assert info["version"] == 2 and info["n_features"] == 5
    features = page.eval("fetch('/api/layers/rail/geojson?zoom=6').then(function (r) "
                         "{ return r.json(); }).then(function (d) { return d.features.length; })")
    assert features == 5
    page.screenshot(shots / "web_published_on_map.png")
    result = page.result
    assert result.exceptions == [] and result.console_errors == [] and result.dialogs == []


def test_draw_a_route_on_the_map_and_screen_it(browser, live_server, tmp_path: Path) -> None:
    base = live_server()
    page = browser()
    _goto(page, base + "/screen")
    for lon, lat in ((66.9, 47.8), (67.15, 48.1), (67.4, 48.3)):  # a hypothetical line
        page.eval(f"window.screenMap.fire('click', {{latlng: L.latLng({lat}, {lon})}}); true")
    assert page.eval("window.screenState.drawn.length") == 3
    page.eval("document.getElementById('infra-type').value = 'railway';"
              "document.querySelector('#screen-form button[type=submit]').click(); true")
    links = _screening_links(page)
    _check_segments(page, links)
    page.screenshot(_shots(tmp_path) / "web_screening_drawn.png")
    result = page.result
    assert result.exceptions == [] and result.console_errors == []
    hosts = {urlsplit(u).netloc for u in result.requests if not u.startswith(("data:", "blob:"))}
    assert hosts == {urlsplit(base).netloc}
