"""build_map and the add_* helpers: layers, styles, popups, escaping, display geometry."""

from __future__ import annotations

import base64
import io
import json
import re

import folium
import geopandas as gpd
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from cami_atlas.errors import (
    CRSError,
    GeometryTypeError,
    MissingColumnError,
    OptionError,
    SchemaError,
    UnknownValueError,
)
from cami_atlas.maps import (
    BARRIER_COLORS,
    INFRA_STYLES,
    MapLayer,
    add_choropleth,
    add_corridors,
    add_infrastructure,
    add_points,
    add_ranges,
    add_raster,
    add_vector,
    build_map,
    fix_view,
    layer_names,
)
from cami_atlas.maps._elements import ClusteredPoints, Legend, VectorFeatures
from cami_atlas.maps._html import figure_html
from cami_atlas.raster import Grid

matplotlib.use("Agg")


# -- helpers that read back what a layer sends to the page --------------------------------
def _features(group: folium.FeatureGroup) -> tuple[list[dict], dict, dict]:
    (vf,) = [c for c in group._children.values() if isinstance(c, VectorFeatures)]
    data = json.loads(vf.data_js)
    return data["features"], json.loads(vf.table_js), json.loads(vf.styles_js)


def _popup_rows(table: dict, props: dict) -> dict[str, str]:
    """What camiAtlas.popup shows: header -> value, empty values left out."""
    rows = {}
    for i, code in enumerate(props.get("v", [])):
        value = "" if code < 0 else table["dicts"][i][code]
        if value != "":
            rows[table["cols"][i]] = value
    return rows


def _legends(m: folium.Map) -> list[str]:
    return [json.loads(c.html_js) for c in m._children.values() if isinstance(c, Legend)]


# -- build_map -------------------------------------------------------------------------------
def test_build_map_controls_and_inferred_layers(ranges, infra, cells, points, grid):
    m = build_map([ranges, infra, MapLayer(cells, kind="choropleth",
                                           options={"column": "score"}), points, grid],
                  title="T", basemap=None)
    names = [re.sub(r"<span[^>]*></span>", "", n) for n in layer_names(m)]
    assert names == ["Range: Equus hemionus", "Range: Saiga tatarica", "Infrastructure",
                     "score", "Points", "cost distance"]
    html = m.get_root().render()
    assert "L.control.scale" in html
    assert "L.control.fullscreen" in html
    assert "L.Control.Measure" in html
    assert "L.control.layers" in html
    # the layer control is rendered after every layer
    assert html.rindex("L.control.layers") > html.rindex("L.markerClusterGroup")
    assert "tile.openstreetmap" not in html  # basemap=None: no tiles


def test_build_map_basemap_and_errors():
    html = build_map(basemap="OpenStreetMap").get_root().render()
    assert "tile.openstreetmap.org" in html
    with pytest.raises(OptionError, match=r"basemap='Google'.*'OpenStreetMap'"):
        build_map(basemap="Google")
    with pytest.raises(OptionError, match=r"kind='roads'.*'infrastructure'"):
        build_map([MapLayer(gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"), kind="roads")])
    with pytest.raises(SchemaError, match=r"GeoDataFrame or a cami_atlas.raster.Grid; got list"):
        build_map([[1, 2]])


def test_view_fits_layers_unless_fixed(infra):
    m = build_map([infra], basemap=None)
    west, south, east, north = infra.total_bounds
    assert m._cami_bounds == pytest.approx((west, south, east, north))
    fix_view(m, (44, 23, 125, 56))
    add_infrastructure(m, infra.set_geometry(infra.translate(20, 0)))  # view stays
    assert m._cami_bounds == (44.0, 23.0, 125.0, 56.0)
    with pytest.raises(SchemaError, match="west < east"):
        fix_view(m, (125, 23, 44, 56))
    fixed = build_map([infra], basemap=None, location=(45, 60), zoom_start=6)
    assert "cami_fit_bounds" not in fixed._children


def test_layers_added_after_the_control_are_listed(infra):
    m = build_map(basemap=None)
    folium.FeatureGroup(name="added later in a notebook").add_to(m)
    add_infrastructure(m, infra)
    assert layer_names(m) == ["added later in a notebook", "Infrastructure"]
    html = m.get_root().render()
    # the control is created once the page's scripts ran, so later layers are defined
    assert "DOMContentLoaded" in html and '"added later in a notebook"' in html


# -- display geometry ------------------------------------------------------------------------
def test_simplification_moves_no_vertex_further_than_tolerance():
    # a 100 km line at 45 N with a 40 m zig-zag every km (synthetic)
    x = np.linspace(60.0, 61.27, 101)
    y = 45.0 + np.where(np.arange(101) % 2 == 0, 0.0, 40 / 111_320)
    line = gpd.GeoDataFrame({"infra_type": ["fence"]}, geometry=[shapely.LineString(
        np.column_stack([x, y]))], crs="EPSG:4326")
    utm = "EPSG:32641"
    for tol, kept in ((100.0, 2), (10.0, 101)):
        group = add_infrastructure(build_map(basemap=None), line, simplify_m=tol)
        geom = shapely.geometry.shape(_features(group)[0][0]["geometry"])
        assert len(geom.coords) == kept
        # Leaflet draws straight in lon/lat (Mercator): densify there, then measure in UTM
        dense = shapely.segmentize(geom, 0.001)
        shown = gpd.GeoSeries([dense], crs="EPSG:4326").to_crs(utm).iloc[0]
        orig = line.to_crs(utm).geometry.iloc[0]
        assert shown.hausdorff_distance(orig) <= tol + 1.0  # + rounding to 1e-5 degree


def test_coordinates_rounded_to_five_decimals(ranges):
    group = add_ranges(build_map(basemap=None), ranges, by=None)[0]
    coords = np.array(shapely.geometry.shape(_features(group)[0][0]["geometry"])
                      .exterior.coords)
    assert np.allclose(coords, np.round(coords, 5), atol=1e-12, rtol=0)
    # back in lon/lat from the equal-area CRS of the input (box corner 50 E, 44 N)
    assert coords[:, 0].min() == pytest.approx(50.0, abs=1e-5)
    assert coords[:, 1].min() == pytest.approx(44.0, abs=1e-5)


def test_caller_data_unchanged(infra, ranges):
    before_infra, before_ranges = infra.copy(), ranges.copy()
    m = build_map([infra, ranges], basemap=None)
    add_infrastructure(m, infra, species="Saiga_tatarica")
    pd.testing.assert_frame_equal(infra, before_infra)
    pd.testing.assert_frame_equal(ranges, before_ranges)
    assert ranges.crs == before_ranges.crs


def test_input_checks(infra, ranges, points):
    m = build_map(basemap=None)
    with pytest.raises(CRSError, match=r"no CRS.*set_crs"):
        add_infrastructure(m, infra.set_crs(None, allow_override=True))
    with pytest.raises(SchemaError, match="expected a GeoDataFrame, got DataFrame"):
        add_vector(m, pd.DataFrame({"a": [1]}))
    with pytest.raises(SchemaError, match="simplify_m must be a finite number >= 0"):
        add_infrastructure(m, infra, simplify_m=-1)
    with pytest.raises(GeometryTypeError, match="holds LineString geometries; this layer "
                                                "draws Polygon, MultiPolygon only"):
        add_ranges(m, infra)
    with pytest.raises(GeometryTypeError, match="Polygon"):
        add_points(m, ranges)
    with pytest.raises(MissingColumnError, match=r"no column 'nmae'.*did you mean 'name'"):
        add_infrastructure(m, infra, popup_columns=["nmae"])
    with pytest.raises(MissingColumnError, match="no column 'infra_type'"):
        add_infrastructure(m, infra.drop(columns="infra_type"))
    with pytest.raises(SchemaError, match="color='blurple' is not a colour"):
        add_vector(m, points, color="blurple")


# -- infrastructure ----------------------------------------------------------------------
def test_infrastructure_styles_by_type_and_barrier_class(infra):
    group = add_infrastructure(build_map(basemap=None), infra)
    feats, table, styles = _features(group)
    expected = [("railway", "complete barrier"), ("road", "partial barrier"),
                ("fence", "complete barrier"), ("pipeline", "not a barrier")]
    for f, (infra_type, cls), status in zip(feats, expected, infra["status"], strict=True):
        style = styles[f["properties"]["k"]]
        assert style["color"] == BARRIER_COLORS[cls]
        # planned lines are drawn dashed whatever their type (issue 15)
        dash = ("12 8" if status == "planned" else INFRA_STYLES[infra_type].get("dashArray"))
        assert style.get("dashArray") == dash
        assert style["weight"] == INFRA_STYLES[infra_type]["weight"]
    assert len(styles) == 4
    tips = [table["tips"][f["properties"]["t"]] for f in feats]
    assert tips[0] == "railway: complete barrier"


def test_infrastructure_classified_for_a_species():
    # hand case from the 2017 matrix (Saiga_spp): double track -> complete, single track
    # -> partial, highway -> complete, a pipeline with no attributes -> unknown
    infra = gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway", "road", "pipeline"],
         "track": ["double track", "single track", None, None],
         "road_class": [None, None, "highway", None]},
        geometry=[shapely.LineString([(50 + i, 45), (51 + i, 46)]) for i in range(4)],
        crs="EPSG:4326")
    m = build_map(basemap=None)
    group = add_infrastructure(m, infra, species="Saiga_tatarica")
    feats, table, styles = _features(group)
    classes = [styles[f["properties"]["k"]]["color"] for f in feats]
    assert classes == [BARRIER_COLORS[c] for c in ("complete barrier", "partial barrier",
                                                   "complete barrier", "unknown")]
    rows = _popup_rows(table, feats[1]["properties"])
    assert rows["barrier class (Saiga tatarica)"] == "partial barrier"
    assert rows["track"] == "single track"
    assert "road_class" not in rows  # empty values are not shown
    assert "barrier class for Saiga tatarica" in _legends(m)[0]


def test_infrastructure_per_species_column_and_bad_classes(infra):
    infra2 = infra.assign(barrier_class_Ovis_ammon=["not a barrier"] * 4)
    group = add_infrastructure(build_map(basemap=None), infra2, species="Ovis_ammon")
    feats, _, styles = _features(group)
    assert {styles[f["properties"]["k"]]["color"] for f in feats} == {
        BARRIER_COLORS["not a barrier"]}
    with pytest.raises(UnknownValueError, match=r"\['blocked'\] are not among"):
        add_infrastructure(build_map(basemap=None), infra.assign(barrier_class="blocked"))
    with pytest.raises(MissingColumnError, match="no column 'cls'"):
        add_infrastructure(build_map(basemap=None), infra, barrier_column="cls")


def test_infrastructure_without_barrier_info_coloured_by_type(infra):
    group = add_infrastructure(build_map(basemap=None), infra.drop(columns="barrier_class"))
    feats, _, styles = _features(group)
    assert [styles[f["properties"]["k"]]["color"] for f in feats] == [
        INFRA_STYLES[t]["color"] for t in infra["infra_type"]]


# -- ranges, corridors, vector -------------------------------------------------------------
def test_ranges_one_layer_per_species(ranges):
    m = build_map(basemap=None)
    groups = add_ranges(m, ranges, colors={"Saiga_tatarica": "red"})
    assert len(groups) == 2 and len(layer_names(m)) == 2
    feats, table, styles = _features(groups[1])
    assert list(styles.values()) == [{"color": "#ff0000", "weight": 1.5,
                                      "fillColor": "#ff0000", "fillOpacity": 0.25}]
    assert "background:#ff0000" in groups[1].layer_name
    assert table["titles"][feats[0]["properties"]["h"]] == "Saiga tatarica"
    assert _popup_rows(table, feats[0]["properties"]) == {"season": "all year"}
    single = add_ranges(build_map(basemap=None), ranges, by=None, name="All ranges")
    assert len(single) == 1 and single[0].layer_name.endswith("All ranges")
    with pytest.raises(MissingColumnError, match="no column 'taxon'"):
        add_ranges(build_map(basemap=None), ranges, by="taxon")


def test_corridors_coloured_by_use_class():
    c = gpd.GeoDataFrame({"species": ["Saiga_tatarica"] * 3,
                          "use_class": ["high", "low", None]},
                         geometry=[shapely.LineString([(50, 45 + i), (55, 46 + i)])
                                   for i in range(3)], crs="EPSG:4326")
    m = build_map(basemap=None)
    feats, _, styles = _features(add_corridors(m, c))
    assert [styles[f["properties"]["k"]]["color"] for f in feats] == [
        "#08519c", "#9ecae1", "#6baed6"]  # high, low, no class
    assert "use class" in _legends(m)[0]


def test_vector_with_figures(points):
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    figs = [fig, buf.getvalue()] + [None] * (len(points) - 2)
    group = add_vector(build_map(basemap=None), points.assign(fig=figs), name="Events",
                       figure_column="fig", popup_columns=["individual"])
    plt.close(fig)
    feats, _, _ = _features(group)
    for f in feats[:2]:
        src = re.search(r'src="data:image/png;base64,([^"]+)"', f["properties"]["f"])[1]
        assert base64.b64decode(src)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "f" not in feats[2]["properties"]
    with pytest.raises(SchemaError, match="bytes that are not a PNG"):
        figure_html(b"GIF89a", "fig")
    with pytest.raises(SchemaError, match="cannot show int"):
        figure_html(3, "fig")
    with pytest.raises(SchemaError, match="cannot show str"):
        figure_html('data:image/png;base64,x" onerror="alert(1)', "fig")


# -- choropleth -------------------------------------------------------------------------------
def test_choropleth_colours_and_legend(cells):
    m = build_map(basemap=None)
    feats, table, styles = _features(add_choropleth(m, cells, "score", caption="Pressure"))
    fills = [f["properties"].get("c") for f in feats]
    # ColorBrewer YlOrRd end points: #ffffcc (lowest) and #800026 (highest)
    assert fills[0] == "#ffffcc" and fills[4] == "#800026"
    assert fills[5] is None  # missing value: outline only
    assert styles[feats[5]["properties"]["k"]]["fillOpacity"] == 0.0
    assert styles[feats[0]["properties"]["k"]]["fillOpacity"] == 0.7
    assert table["cols"][0] == "score"
    legend = _legends(m)[0]
    assert "Pressure" in legend and "1 cell(s) without a value" in legend
    assert re.findall(r"<span>([^<]*)</span>", legend) == ["0", "0.5", "1"]


def test_choropleth_options_and_errors(cells):
    m = build_map(basemap=None)
    feats, _, _ = _features(add_choropleth(m, cells, "score", vmin=0.2, vmax=0.6))
    fills = [f["properties"].get("c") for f in feats]
    assert fills[0] == fills[1] == "#ffffcc"  # clipped at vmin
    assert fills[3] == fills[4] == "#800026"  # clipped at vmax
    log = add_choropleth(m, cells.assign(score=[1, 10, 100, 1000, 0, 5]), "score",
                         scale="log")
    assert re.findall(r"<span>([^<]*)</span>", _legends(m)[-1]) == ["1", "31.6228", "1000"]
    log_feats, _, log_styles = _features(log)
    assert log_styles[log_feats[4]["properties"]["k"]]["fillOpacity"] == 0.0  # 0: no log
    with pytest.raises(SchemaError, match="column 'cell_id' must be numeric"):
        add_choropleth(m, cells.assign(cell_id="a"), "cell_id")
    with pytest.raises(SchemaError, match=r"vmax \(0.1\) is below vmin \(0.5\)"):
        add_choropleth(m, cells, "score", vmin=0.5, vmax=0.1)
    with pytest.raises(SchemaError, match="scale='log' needs vmin > 0"):
        add_choropleth(m, cells, "score", scale="log", vmin=0)
    with pytest.raises(OptionError, match="scale='logarithmic'"):
        add_choropleth(m, cells, "score", scale="logarithmic")
    with pytest.raises(SchemaError, match="cmap='nope' is not a matplotlib colormap"):
        add_choropleth(m, cells, "score", cmap="nope")


# -- points -----------------------------------------------------------------------------------
def test_points_clustered_with_categories(points):
    multi = gpd.GeoDataFrame({"kind": ["fence"], "individual": ["M1"]},
                             geometry=[shapely.MultiPoint([(60, 44), (61, 44)])],
                             crs="EPSG:4326")
    m = build_map(basemap=None)
    layer = add_points(m, pd.concat([points, multi]), name="Crossings", color_column="kind")
    assert isinstance(layer, ClusteredPoints) and layer.layer_name == "Crossings"
    pts = json.loads(layer.points_js)
    assert len(pts) == 14  # 12 points + a multipoint of 2
    assert pts[0][:2] == [46.0, 52.0]  # lat, lon
    table = json.loads(layer.table_js)
    assert _popup_rows(table, pts[-1][2]) == {"kind": "fence", "individual": "M1"}
    colors = json.loads(layer.colors_js)
    assert len(colors) == 3
    assert re.findall(r"<span>([^<]*)</span>", _legends(m)[0]) == ["fence", "railway", "road"]
    assert m.options["max_zoom"] == 18  # Leaflet.markercluster needs one


def test_points_unclustered(points):
    group = add_points(build_map(basemap=None), points, cluster=False, color="black")
    feats, _, styles = _features(group)
    assert len(feats) == 12
    assert [st["fillColor"] for st in styles.values()] == ["#000000"]


# -- raster -----------------------------------------------------------------------------------
def _overlay_rgba(overlay) -> np.ndarray:
    uri = overlay.url
    return plt.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")


def test_raster_overlay_transparent_nodata_and_bounds():
    values = np.arange(12.0).reshape(3, 4)
    values[0, 0] = np.nan
    values[2, 3] = np.inf
    g = Grid(values, Affine(0.5, 0, 70, 0, -0.5, 46), "EPSG:4326", name="current")
    m = build_map(basemap=None)
    overlay = add_raster(m, g, cmap="viridis")
    (s, w), (n, e) = overlay.bounds
    assert (w, s, e, n) == pytest.approx((70, 44.5, 72, 46), abs=0.01)
    rgba = _overlay_rgba(overlay)
    alpha = rgba[..., 3]
    # warped to Web Mercator: rows change, but the corner cells stay where they were
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert alpha[-1, 0] == 1 and alpha[0, -1] == 1
    assert (alpha == 0).sum() >= 2
    # finite minimum 1 (cell 0,1) and maximum 10 (cell 2,2): the colour-bar end points
    legend = _legends(m)[0]
    assert re.findall(r"<span>([^<]*)</span>", legend) == ["1", "5.5", "10"]
    assert "impassable (inf)" in legend
    # top-right cell 3 on the 1..10 scale
    assert np.allclose(rgba[0, -1, :3], matplotlib.colormaps["viridis"](2 / 9)[:3], atol=0.01)


def test_raster_downsampled_and_projected(grid):
    big = Grid(np.random.default_rng(0).random((400, 500)), grid.transform, grid.crs)
    overlay = add_raster(build_map(basemap=None), big, max_cells=20_000)
    rgba = _overlay_rgba(overlay)
    assert rgba.shape[0] * rgba.shape[1] <= 20_000 * 1.1
    assert overlay.layer_name == "Raster"


def test_raster_errors(grid):
    m = build_map(basemap=None)
    with pytest.raises(SchemaError, match=r"needs a cami_atlas.raster.Grid; got ndarray"):
        add_raster(m, np.ones((2, 2)))
    with pytest.raises(CRSError, match="has no CRS"):
        add_raster(m, Grid(np.ones((2, 2)), Affine(1, 0, 0, 0, -1, 2), None))
    with pytest.raises(SchemaError, match="max_cells must be an integer >= 4"):
        add_raster(m, grid, max_cells=2)
    polar = Grid(np.ones((10, 10)), Affine(1, 0, 0, 0, -1, 90), "EPSG:4326")
    with pytest.raises(CRSError, match="Web Mercator maps stop at"):
        add_raster(m, polar)


# -- escaping ---------------------------------------------------------------------------------
def _count_tags(html: str) -> dict[str, int]:
    return {tag: len(re.findall(rf"<{tag}\b", html, re.IGNORECASE))
            for tag in ("script", "img", "style", "div", "table", "span")}


def _map_with_names(name: str, infra, points, cells, ranges, grid) -> folium.Map:
    m = build_map(title=name, basemap=None)
    add_infrastructure(m, infra.assign(name=name, infra_type=["railway", "road", "fence",
                                                              name]), name=name)
    add_points(m, points.assign(kind=name), name=name, color_column="kind")
    add_choropleth(m, cells.rename(columns={"score": name}), name, caption=name)
    add_ranges(m, ranges.assign(species=name, season=name), name=name)
    add_corridors(m, ranges.assign(species=name, use_class="high"), name=name)
    add_vector(m, points.assign(individual=name), name=name, tooltip_column="individual")
    add_raster(m, grid, name=name, caption=name)
    return m


def test_malicious_names_are_escaped_everywhere(malicious, infra, points, cells, ranges,
                                                grid):
    bad = _map_with_names(malicious, infra, points, cells, ranges, grid)
    good = _map_with_names("plain name", infra, points, cells, ranges, grid)
    html_bad = bad.get_root().render()
    html_good = good.get_root().render()
    # the payload never appears as markup ...
    assert "<script>alert" not in html_bad.lower()
    assert "<img src=x" not in html_bad.lower()
    # the raw text reaches the page once, as a JSON string set with textContent (the title)
    assert html_bad.count("\\u003cscript\\u003ealert") == 1
    assert re.search(r'textContent = "\\u003cscript\\u003ealert', html_bad)
    # ... the page has exactly the elements of the same map with a plain name ...
    assert _count_tags(html_bad) == _count_tags(html_good)
    # ... and it is there as escaped text: title, layer names, legends, popups, tooltips
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<title>{escaped}" in html_bad
    assert all(escaped in n for n in layer_names(bad))
    # infrastructure, points, choropleth, corridors, raster
    assert sum(escaped in legend for legend in _legends(bad)) == 5
    infra_group = next(c for c in bad._children.values()
                       if isinstance(c, folium.FeatureGroup))
    feats, table, _ = _features(infra_group)
    assert _popup_rows(table, feats[0]["properties"])["name"].startswith(escaped)
    assert table["tips"][feats[3]["properties"]["t"]].startswith(escaped)
    choropleth = [c for c in bad._children.values() if isinstance(c, folium.FeatureGroup)][1]
    assert _features(choropleth)[1]["cols"][0].startswith(escaped)  # a column header


def test_canvas_renderer_orders_layers_without_panes(ranges, infra):
    m = build_map([infra, ranges], basemap=None, renderer="canvas")
    assert m.options["prefer_canvas"] is True
    vfs = [vf for g in m._children.values() if isinstance(g, folium.FeatureGroup)
           for vf in g._children.values() if isinstance(vf, VectorFeatures)]
    assert [(vf.pane, vf.order) for vf in vfs] == [(None, None), (None, "bringToBack"),
                                                   (None, "bringToBack")]
    svg = build_map([infra, ranges], basemap=None)
    vfs = [vf for g in svg._children.values() if isinstance(g, folium.FeatureGroup)
           for vf in g._children.values() if isinstance(vf, VectorFeatures)]
    assert [vf.pane for vf in vfs] == ["camiLines", "camiPolygons", "camiPolygons"]
    with pytest.raises(OptionError, match="renderer='webgl'"):
        build_map(renderer="webgl")
