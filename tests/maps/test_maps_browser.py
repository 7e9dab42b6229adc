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


def test_full_map_loads_without_errors_or_requests(browser, tmp_path, ranges, infra, cells,
                                                   points, grid):
    m = build_map([MapLayer(infra, name="Railways & roads")], title="Synthetic atlas",
                  basemap=None, offline=True)
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
    shot = page.screenshot(_shot_dir(tmp_path) / "full_map.png")
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
    opened = page.eval("""(function () {
        var map = window[Object.keys(window).find(function (k) { return k.indexOf('map_') === 0; })];
        var popup = null, tip = null;
        map.eachLayer(function (l) {
            if (!popup && l.getPopup && l.getPopup() && l.feature
                && l.feature.geometry.type === 'LineString') { l.openPopup(); popup = l.getPopup(); }
            if (!tip && l.getTooltip && l.getTooltip() && l.feature
                && l.feature.geometry.type === 'Point') { l.openTooltip(); tip = l.getTooltip(); }
        });
        return {popup: popup ? popup.getElement().textContent : null,
                tooltip: tip ? tip.getElement().textContent : null};
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
