"""Self-contained maps opened in headless Chromium (DevTools protocol).

Each test: the page loads with no JavaScript exception or console error, makes no
network request besides the file itself (basemap=None), has one Leaflet container and
the expected layer-control entries, and a screenshot is written.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cami_atlas.maps import (
    MapLayer,
    add_choropleth,
    add_infrastructure,
    add_points,
    add_ranges,
    add_raster,
    build_map,
    layer_names,
    save_map,
)

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CAMI_MAP_SCREENSHOTS")  # optional folder to keep screenshots


def _shot_dir(tmp_path: Path) -> Path:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        return Path(SHOTS)
    return tmp_path


def _map_checks(page) -> dict:
    return page.eval("""(function () {
        var inputs = document.querySelectorAll('.leaflet-control-layers-overlays input');
        var labels = Array.from(document.querySelectorAll(
            '.leaflet-control-layers-overlays label')).map(function (l) { return l.textContent.trim(); });
        return {containers: document.querySelectorAll('.leaflet-container').length,
                overlays: inputs.length, labels: labels,
                legends: document.querySelectorAll('.cami-legend').length,
                title: (document.querySelector('.cami-map-title') || {}).textContent || null,
                scale: document.querySelectorAll('.leaflet-control-scale').length,
                fullscreen: document.querySelectorAll('.leaflet-control-zoom-fullscreen').length,
                measure: document.querySelectorAll('.leaflet-control-measure').length,
                images: document.querySelectorAll('.leaflet-image-layer').length,
                clusters: document.querySelectorAll('.marker-cluster').length,
                xss: window.__xss === undefined ? null : window.__xss};
    })()""")


def _wait_for(page, expression: str, timeout_s: float = 5.0) -> None:
    import time

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if page.eval(expression):
            return
        page.pump(0.1)
    raise AssertionError(f"timed out waiting for {expression}")


@pytest.mark.parametrize("renderer", ["svg", "canvas"])
def test_full_map_loads_without_errors_or_requests(browser, tmp_path, ranges, infra, cells,
                                                   points, grid, renderer):
    m = build_map([MapLayer(infra, name="Railways & roads")], title="Synthetic atlas",
                  basemap=None, offline=True, renderer=renderer)
    add_ranges(m, ranges)
    add_choropleth(m, cells, "score", name="Hotspots", caption="Barrier pressure")
    add_points(m, points, name="Crossings", color_column="kind")
    add_raster(m, grid, name="Cost distance", cmap="magma")
    path = save_map(m, tmp_path / "full.html")
    names = layer_names(m)
    assert len(names) == 6  # 1 infrastructure + 2 ranges + hotspots + crossings + raster

    page = browser()
    result = page.open(path)
    _wait_for(page, "document.querySelectorAll('.leaflet-control-layers-overlays input')"
                    ".length > 0")
    checks = _map_checks(page)
    shot = page.screenshot(_shot_dir(tmp_path) / f"full_map_{renderer}.png")
    assert result.exceptions == []
    assert result.console_errors == []
    assert result.dialogs == []
    # the only request is the HTML file itself (data: URIs are not requests)
    assert [u for u in result.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    assert checks["containers"] == 1
    assert checks["overlays"] == 6
    assert checks["labels"] == ["Railways & roads", "Range: Equus hemionus",
                                "Range: Saiga tatarica", "Hotspots", "Crossings",
                                "Cost distance"]
    assert checks["title"] == "Synthetic atlas"
    assert checks["legends"] == 4  # infrastructure, choropleth, points, raster
    assert checks["scale"] == 1 and checks["fullscreen"] == 1 and checks["measure"] == 1
    assert checks["images"] == 1
    assert checks["clusters"] >= 1
    assert shot.stat().st_size > 10_000
    # vector layers are drawn: SVG paths, or one canvas for all of them
    drawn = page.eval("[document.querySelectorAll('path.leaflet-interactive').length,"
                      " document.querySelectorAll('canvas.leaflet-zoom-animated').length]")
    assert drawn == ([4 + 2 + 6, 0] if renderer == "svg" else [0, 1])
    # a click on a line opens its popup (bubbling to the layer's single popup)
    popup = page.eval("""(function () {
        var map = window[Object.keys(window).find(function (k) { return k.indexOf('map_') === 0; })];
        var done = false;
        map.eachLayer(function (l) {
            if (!done && l.feature && l.feature.geometry.type === 'LineString') {
                l.fire('click', {latlng: l.getCenter()}, true); done = true;
            }
        });
        var el = document.querySelector('.leaflet-popup-content');
        return el ? el.textContent : null;
    })()""")
    assert "Trans-Kazakh line" in popup and "complete barrier" in popup


def test_malicious_names_show_as_text_and_run_nothing(browser, tmp_path, infra, points, cells,
                                                      malicious):
    MALICIOUS = malicious
    bad_infra = infra.assign(name=MALICIOUS)
    m = build_map(title=MALICIOUS, basemap=None)
    add_infrastructure(m, bad_infra, name=MALICIOUS)
    add_points(m, points.assign(kind=MALICIOUS), name="Crossings", color_column="kind",
               cluster=False)
    add_choropleth(m, cells, "score", name="Cells", caption=MALICIOUS)
    path = save_map(m, tmp_path / "xss.html")

    page = browser()
    result = page.open(path)
    _wait_for(page, "document.querySelectorAll('.leaflet-control-layers-overlays input')"
                    ".length === 3")
    # open the popup of the first infrastructure line and a tooltip of a point
    # click a line and hover a point, as a user would (events bubble to the layer, which
    # fills its single popup/tooltip for the feature under the mouse)
    opened = page.eval("""(function () {
        var map = window[Object.keys(window).find(function (k) { return k.indexOf('map_') === 0; })];
        var clicked = false, hovered = false;
        map.eachLayer(function (l) {
            if (!clicked && l.feature && l.feature.geometry.type === 'LineString') {
                l.fire('click', {latlng: l.getCenter()}, true); clicked = true;
            }
        });
        map.eachLayer(function (l) {
            if (!hovered && l.feature && l.feature.geometry.type === 'Point') {
                l.fire('mouseover', {latlng: l.getLatLng()}, true); hovered = true;
            }
        });
        var popup = document.querySelector('.leaflet-popup-content');
        return {popup: popup ? popup.textContent : null,
                tooltip: Array.from(document.querySelectorAll('.leaflet-tooltip'))
                    .map(function (t) { return t.textContent; }).join('|')};
    })()""")
    page.pump(0.3)
    checks = _map_checks(page)
    page.screenshot(_shot_dir(tmp_path) / "xss_map.png")
    assert result.exceptions == []
    assert result.dialogs == []  # alert(1) never ran
    assert checks["xss"] is None  # the onerror handler never ran
    # no request for the image "x" of the payload: only the file itself
    assert [u for u in result.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    assert MALICIOUS in opened["popup"]  # shown as text
    assert MALICIOUS in opened["tooltip"]
    assert MALICIOUS in checks["labels"]
    assert checks["title"] == MALICIOUS
    legend_text = page.eval("Array.from(document.querySelectorAll('.cami-legend'))"
                            ".map(function (d) { return d.textContent; }).join('|')")
    assert MALICIOUS in legend_text
    # and no element of the payload exists in the DOM
    assert page.eval("document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert page.eval("Array.from(document.scripts).filter(function (s) {"
                     " return s.textContent.trim() === 'alert(1)'; }).length") == 0


def test_notebook_additions_work_offline(browser, tmp_path, infra):
    import folium

    m = build_map([infra], basemap=None, offline=True)
    # what a notebook adds afterwards with folium itself: a default marker, an awesome
    # marker with a glyphicon and one with a Font Awesome icon, a new layer
    later = folium.FeatureGroup(name="Added later").add_to(m)
    folium.Marker([45, 55], tooltip="default").add_to(later)
    folium.Marker([46, 57], icon=folium.Icon(icon="info-sign")).add_to(later)
    folium.Marker([44, 60], icon=folium.Icon(icon="flag", prefix="fa", angle=45)).add_to(later)
    path = save_map(m, tmp_path / "notebook.html")

    page = browser()
    result = page.open(path)
    _wait_for(page, "document.querySelectorAll('.leaflet-control-layers-overlays input')"
                    ".length === 2")
    icons = page.eval("""(function () {
        var img = document.querySelector('img.leaflet-marker-icon');
        var fa = document.querySelector('.awesome-marker i.fa-flag');
        var gly = document.querySelector('.awesome-marker i.glyphicon-info-sign');
        return {img: img ? img.src.slice(0, 22) : null,
                fa: fa ? getComputedStyle(fa, '::before').fontFamily : null,
                gly: gly ? getComputedStyle(gly, '::before').fontFamily : null,
                rotation: fa ? getComputedStyle(fa).transform : null,
                faLoaded: document.fonts.check('900 12px "Font Awesome 6 Free"'),
                glyLoaded: document.fonts.check('12px "Glyphicons Halflings"')};
    })()""")
    checks = _map_checks(page)
    page.screenshot(_shot_dir(tmp_path) / "notebook_map.png")
    assert result.exceptions == [] and result.console_errors == []
    assert [u for u in result.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    assert checks["labels"] == ["Infrastructure", "Added later"]
    assert icons["img"] == "data:image/png;base64,"  # Leaflet's default marker, inlined
    assert "Font Awesome 6 Free" in icons["fa"] and icons["faLoaded"]
    assert "Glyphicons Halflings" in icons["gly"] and icons["glyLoaded"]
    # Icon(angle=45): cos 45 = 0.707107 in the CSS rotation matrix
    assert icons["rotation"] == "matrix(0.707107, 0.707107, -0.707107, 0.707107, 0, 0)"


def test_default_atlas_overview_in_the_browser(browser, tmp_path):
    from cami_atlas.atlas import Atlas
    from cami_atlas.maps import overview_map

    atlas = Atlas.default()
    m = overview_map(atlas, species="Saiga_tatarica", basemap=None)
    path = save_map(m, tmp_path / "overview.html")
    page = browser()
    result = page.open(path, settle_s=0.5)
    _wait_for(page, "document.querySelectorAll('.leaflet-control-layers-overlays input')"
                    ".length > 0", timeout_s=10)
    checks = _map_checks(page)
    n_paths = page.eval("document.querySelectorAll('path.leaflet-interactive').length")
    page.screenshot(_shot_dir(tmp_path) / "overview_saiga.png")
    assert result.exceptions == [] and result.console_errors == []
    assert [u for u in result.requests if not u.startswith("data:")] == [path.resolve().as_uri()]
    assert checks["overlays"] == len(layer_names(m)) == 6
    assert checks["labels"][2] == "Range: Saiga tatarica"
    assert checks["legends"] == 2  # railways and roads (osm_astana starts hidden)
    assert n_paths > 5000  # the railway and road segments are drawn
