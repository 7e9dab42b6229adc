"""Legends never cover the layer control (headless Chromium, 1200 x 800 window)."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from cami_atlas.maps import add_choropleth, add_points, add_ranges, add_raster, build_map, save_map

pytestmark = pytest.mark.browser


def test_legends_and_layer_control_do_not_overlap(browser, tmp_path, infra, cells, points,
                                                  grid):
    # 16 synthetic ranges: a tall layer control, and four legends
    ranges = gpd.GeoDataFrame(
        {"species": [f"Genus_species{chr(97 + i)}" for i in range(16)]},
        geometry=[shapely.box(50 + i, 40, 51 + i, 45) for i in range(16)], crs="EPSG:4326")
    m = build_map([infra], title="Layout", basemap=None, offline=True)
    add_ranges(m, ranges)
    add_choropleth(m, cells, "score", name="Hotspots", caption="Barrier pressure")
    add_points(m, points, name="Crossings", color_column="kind")
    add_raster(m, grid, name="Cost distance", cmap="magma")
    page = browser()
    page.open(save_map(m, tmp_path / "layout.html"))
    for _ in range(50):
        if page.eval("document.querySelectorAll('.leaflet-control-layers-overlays input')"
                     ".length > 0"):
            break
        page.pump(0.1)
    boxes = page.eval("""(function () {
        function box(el) { var r = el.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom]; }
        return {control: box(document.querySelector('.leaflet-control-layers')),
                legends: Array.from(document.querySelectorAll('.cami-legend')).map(box),
                overlays: document.querySelectorAll(
                    '.leaflet-control-layers-overlays input').length};
    })()""")
    assert boxes["overlays"] == 1 + 16 + 3
    assert len(boxes["legends"]) == 4
    cl, ct, cr, cb = boxes["control"]
    assert cb - ct > 400  # the control is tall: legends on its side would reach it
    for left, top, right, bottom in boxes["legends"]:
        overlap = not (right <= cl or left >= cr or bottom <= ct or top >= cb)
        assert not overlap, (boxes["control"], (left, top, right, bottom))
        assert right < cl  # bottom-left, away from the control
