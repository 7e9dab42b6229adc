"""Hotspot analysis, map and report (cami_atlas.report.hotspots).

Numbers are checked against hand-computed toys (geodesic km from pyproj.Geod) and against
independent computations of the library (the hotspot grid's own per-cell km, the overlay
of cami_atlas.barriers), never against the function's own output.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import types
import zlib
from html import unescape
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    MissingColumnError,
    OutputExistsError,
    SchemaError,
    UnknownSpeciesError,
)
from cami_atlas.hotspots import (
    HOT_CLASSES,
    HotspotAnalysis,
    class_column,
    hotspot_analysis,
    load_weights,
    rank_segments,
    segments_from_impact,
    select_species,
)
from cami_atlas.maps import layer_names
from cami_atlas.report.hotspots import (
    hotspot_map,
    hotspot_report,
    output_names,
    write_hotspot_outputs,
)
from cami_atlas.schema import BARRIER_CLASSES

pytestmark = pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected")

# -- helpers ---------------------------------------------------------------------------------
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Checker(HTMLParser):
    """Strict nesting check: every non-void element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "h2":
            self._in_h2 = True
            self.h2.append("")
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag == "h2":
            self._in_h2 = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h2:
            self.h2[-1] += data


def check_html(html: str) -> _Checker:
    parser = _Checker()
    parser.feed(html)
    parser.close()
    assert parser.errors == [], parser.errors[:5]
    assert parser.stack == [], parser.stack
    assert len(parser.ids) == len(set(parser.ids)), "duplicate ids"
    internal = [h[1:] for h in parser.hrefs if h.startswith("#")]
    assert set(internal) <= set(parser.ids), set(internal) - set(parser.ids)
    return parser


def pdf_page_count(data: bytes) -> int:
    """Pages of a PDF: /Type /Page objects, also inside compressed object streams."""
    text = data
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        with contextlib.suppress(zlib.error):
            text += zlib.decompress(m.group(1))
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", text))


# -- rank_segments on a hand-computed toy ---------------------------------------------------
X0, Y0 = 500_000.0, 5_000_000.0  # UTM 43N on its central meridian
UTM = "EPSG:32643"
_to_lonlat = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
_geod = Geod(ellps="WGS84")


def km(x1: float, y1: float, x2: float, y2: float) -> float:
    (lo1, lo2), (la1, la2) = _to_lonlat.transform([X0 + x1, X0 + x2], [Y0 + y1, Y0 + y2])
    return _geod.inv(lo1, la1, lo2, la2)[2] / 1000.0


def _b(x1, y1, x2, y2):
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def _l(*pts):
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


@pytest.fixture
def toy():
    cells = gpd.GeoDataFrame(
        {"cell_id": ["c0", "c1", "c2"],
         "gi_class": ["hot spot 99%", "hot spot 95%", "not significant"],
         "score": [1.0, 0.5, 0.2]},
        geometry=[_b(0, 0, 10_000, 10_000), _b(10_000, 0, 20_000, 10_000),
                  _b(20_000, 0, 30_000, 10_000)], crs=UTM)
    ranges = gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Procapra gutturosa"]},
        geometry=[_b(0, 0, 15_000, 10_000), _b(5_000, 0, 30_000, 10_000)], crs=UTM)
    infra = gpd.GeoDataFrame(
        {"layer": ["rail", "roads", "fences"], "infra_type": ["railway", "road", "fence"],
         "Saiga_tatarica": ["complete barrier", "not a barrier", "complete barrier"],
         "Procapra_gutturosa": ["partial barrier", "unknown", "complete barrier"]},
        geometry=[_l((-5_000, 5_000), (30_000, 5_000)), _l((12_000, 0), (12_000, 10_000)),
                  _l((22_000, 2_000), (28_000, 2_000))],
        index=[10, 11, 12], crs=UTM)
    return cells, infra, ranges


SPECIES = ["Saiga_tatarica", "Procapra_gutturosa"]


def test_rank_segments_hand_computed(toy):
    cells, infra, ranges = toy
    r = rank_segments(cells, infra, ranges, species_columns=SPECIES)
    # the fence lies only in the non-significant cell: not listed
    assert r.index.tolist() == [10, 11] and r["rank"].tolist() == [1, 2]
    # railway: saiga (complete, w 1) in c0 all 10 km, in c1 5 km; gazelle (partial, w 0.5)
    # in c0 from x=5 km (5 km) and in c1 all 10 km
    sa_c0, sa_c1 = km(0, 5_000, 10_000, 5_000), km(10_000, 5_000, 15_000, 5_000)
    ga_c0, ga_c1 = km(5_000, 5_000, 10_000, 5_000), km(10_000, 5_000, 20_000, 5_000)
    rail = r.loc[10]
    assert rail["km_in_hot_cells"] == pytest.approx(sa_c0 + ga_c1, rel=1e-9)
    assert rail["weighted_km"] == pytest.approx(sa_c0 + sa_c1 + 0.5 * (ga_c0 + ga_c1),
                                                rel=1e-9)
    assert rail["pressure"] == pytest.approx(1.0 * (sa_c0 + 0.5 * ga_c0)
                                             + 0.5 * (sa_c1 + 0.5 * ga_c1), rel=1e-9)
    assert rail["hot_cells"] == 2 and rail["most_severe_class"] == "complete barrier"
    assert rail["classes"] == ("complete barrier: Saiga_tatarica; "
                               "partial barrier: Procapra_gutturosa")
    # road in c1: saiga "not a barrier" (w 0), gazelle "unknown" (w 0.5), gazelle range
    # covers the whole cell
    road = r.loc[11]
    road_km = km(12_000, 0, 12_000, 10_000)
    assert road["weighted_km"] == pytest.approx(0.5 * road_km, rel=1e-9)
    assert road["pressure"] == pytest.approx(0.5 * 0.5 * road_km, rel=1e-9)
    assert road["most_severe_class"] == "unknown"
    assert r.crs == infra.crs and r.geometry.iloc[0].equals(infra.geometry.loc[10])
    assert r["layer"].tolist() == ["rail", "roads"]
    assert rank_segments(cells, infra, ranges, species_columns=SPECIES, top=1).index.tolist() \
        == [10]


def test_rank_segments_own_weights_and_hot_values(toy):
    cells, infra, ranges = toy
    w = load_weights()
    w.loc[w["name"] == "unknown", "weight"] = 0.0
    r = rank_segments(cells, infra, ranges, species_columns=SPECIES, weights=w)
    assert r.loc[11, "weighted_km"] == 0.0 and r.loc[11, "pressure"] == 0.0
    assert r.loc[11, "km_in_hot_cells"] > 0  # still listed: it lies in a hot cell
    # the fence's cell counted as hot too
    r2 = rank_segments(cells, infra, ranges, species_columns=SPECIES,
                       hot_values=(*HOT_CLASSES, "not significant"))
    fence_km = km(22_000, 2_000, 28_000, 2_000)
    assert r2.loc[12, "pressure"] == pytest.approx(0.2 * (0 + 1.0 * fence_km), rel=1e-9)
    # no hot cell at all: an empty table with the columns
    cold = cells.assign(gi_class="not significant")
    empty = rank_segments(cold, infra, ranges, species_columns=SPECIES)
    assert len(empty) == 0 and "pressure" in empty.columns


def test_rank_segments_errors(toy):
    cells, infra, ranges = toy
    with pytest.raises(MissingColumnError, match="Ovis_ammon"):
        rank_segments(cells, infra, ranges, species_columns=["Ovis_ammon"])
    with pytest.raises(SchemaError, match="'wall'"):
        rank_segments(cells, infra.assign(Saiga_tatarica="wall"), ranges,
                      species_columns=SPECIES)
    with pytest.raises(CRSError, match="projected CRS"):
        rank_segments(cells.to_crs("EPSG:4326"), infra, ranges, species_columns=SPECIES)
    with pytest.raises(SchemaError, match="no polygon of it"):
        rank_segments(cells, infra, ranges.iloc[:1], species_columns=SPECIES)
    with pytest.raises(MissingColumnError, match="score"):
        rank_segments(cells.drop(columns="score"), infra, ranges, species_columns=SPECIES)


def test_segments_from_impact(toy):
    _, infra, _ = toy
    table = pd.DataFrame({"delta_conductance": [0.2, 0.9], "rank": [2, 1]}, index=[10, 11])
    seg = segments_from_impact(types.SimpleNamespace(table=table), infra)
    assert isinstance(seg, gpd.GeoDataFrame) and seg.index.tolist() == [11, 10]
    assert seg["layer"].tolist() == ["roads", "rail"] and seg.crs == infra.crs
    # group ids that are not segments: the table as it is, sorted
    groups = pd.DataFrame({"rank": [2, 1]}, index=["north fence", "south fence"])
    out = segments_from_impact(groups, infra, top=1)
    assert not isinstance(out, gpd.GeoDataFrame) and out.index.tolist() == ["south fence"]
    with pytest.raises(SchemaError, match="'rank' column"):
        segments_from_impact(pd.DataFrame({"x": [1]}), infra)
    with pytest.raises(SchemaError, match="BarrierImpact"):
        segments_from_impact([1, 2], infra)


def test_select_species():
    names = ["Saiga_tatarica", "Equus_hemionus", "Equus_kiang"]
    assert select_species(names, None) == sorted(names)
    assert select_species(names, "saiga") == ["Saiga_tatarica"]
    assert select_species(names, ["Equus kiang", "khulan", "equus_kiang"]) == [
        "Equus_kiang", "Equus_hemionus"]
    with pytest.raises(UnknownSpeciesError, match=r"'Ovis_ammon' has no range.*Equus_hemionus"):
        select_species(names, ["Ovis_ammon"])
    with pytest.raises(UnknownSpeciesError, match="'unicorn'"):
        select_species(names, "unicorn")


# -- the default atlas -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def analysis() -> HotspotAnalysis:
    return hotspot_analysis(Atlas.default(), species=["saiga", "Procapra gutturosa"],
                            cell_km=150, permutations=99, top_n=10)


def test_analysis_on_default_atlas(analysis):
    a = analysis
    assert a.species == ["Saiga_tatarica", "Procapra_gutturosa"]
    assert a.matrix_species == {"Saiga_tatarica": "Saiga_spp",
                                "Procapra_gutturosa": "Procapra_gutturosa"}
    assert a.segment_method == "pressure" and len(a.segments) == 10
    assert a.cells.crs.to_string() == "ESRI:102025"
    assert set(a.lengths["species"]) == set(a.species)
    assert a.parameters["cell_km"] == 150 and a.parameters["permutations"] == 99
    assert any("km-weighted barrier pressure" in n for n in a.notes)
    # transboundary cells: hot and near a border
    tb = a.transboundary
    assert len(tb) > 0 and tb["gi_class"].isin(HOT_CLASSES).all()
    assert (tb["border"] != "").all() and (tb["border_distance_km"] <= 50).all()
    assert set(a.sources["name"]) == {"countries", "borders", "railways", "roads",
                                      "osm_astana", "species_ranges"}
    # the per-species classes are the 2017 matrix classes of the barrier module, only for
    # segments crossing the species' range (independent test in lon/lat: interiors meet;
    # a handful of segments right on the edge may differ from the densified polygon)
    from cami_atlas.barriers import classify_barriers

    ranges = a.ranges.to_crs(4326)
    lines = a.infra.to_crs(4326)
    for sp, msp in a.matrix_species.items():
        poly = shapely.union_all(ranges[ranges["species"] == sp].geometry.values)
        inside = (lines.intersects(poly) & ~lines.touches(poly)).to_numpy()
        has = a.infra[sp].notna().to_numpy()
        assert 50 < inside.sum() < len(lines) - 50
        assert (has != inside).sum() <= 3, sp
        assert a.infra.loc[has, sp].tolist() == classify_barriers(a.infra, msp)[has].tolist()
    # ids are layer:feature_id (Natural Earth / OSM ids where the layer has them)
    assert a.infra.index.name == "segment_id" and a.infra.index.is_unique
    assert {"railways:22574", "roads:1065", "osm_astana:way/243379603"} <= set(a.infra.index)
    # the ranking lists only segments that cross a range, with only those species' classes
    for sid, text in a.segments["classes"].items():
        named = set(re.findall(r"(?:: |, )([A-Z][a-z]+_[a-z]+)", text))
        assert named == {sp for sp in a.species if pd.notna(a.infra.loc[sid, sp])}, sid


def test_segment_pressure_adds_up_to_the_hot_cells(analysis):
    """Σ over segments of weighted km = the barrier km of the hot cells as the hotspot grid
    computed them (an independent per-cell overlay)."""
    a = analysis
    every = rank_segments(a.cells, a.infra, a.ranges, species_columns=a.species)
    w = load_weights().set_index("name")["weight"]
    hot = a.cells[a.cells["gi_class"].isin(HOT_CLASSES)]
    barrier_km = sum(w[c] * hot[class_column(c)] for c in BARRIER_CLASSES)
    assert every["weighted_km"].sum() == pytest.approx(barrier_km.sum(), rel=1e-6)
    assert every["pressure"].sum() == pytest.approx((barrier_km * hot["score"]).sum(),
                                                    rel=1e-6)
    assert every["pressure"].is_monotonic_decreasing
    top = a.segments
    assert top.index.tolist() == every.index[:10].tolist()


def test_lengths_agree_with_the_hotspot_cells(analysis):
    """km inside each range by class (barriers overlay, split by country) vs the same km
    summed over the hotspot cells (grid overlay): two independent overlays."""
    a = analysis
    by_class = a.lengths.groupby("barrier_class")["length_km"].sum()
    for c in BARRIER_CLASSES:
        grid = a.cells[class_column(c)].sum()
        assert grid == pytest.approx(by_class.get(c, 0.0), rel=0.01, abs=0.5), c


def test_report_html(analysis):
    html = hotspot_report(analysis, figures=False, command="pytest")
    parsed = check_html(html)
    assert html.lstrip().lower().startswith("<!doctype html")
    heads = parsed.h2
    for sp in ("Saiga tatarica", "Procapra gutturosa"):
        assert any(h.startswith(sp) for h in heads), heads
    assert "species-saiga-tatarica" in parsed.ids and "species-procapra-gutturosa" in parsed.ids
    assert "hotspot_map.html" in parsed.hrefs
    text = " ".join(parsed.text)
    assert "km-weighted barrier pressure inside hot cells" in text
    assert f"hexagon cells of 150 km ({len(analysis.cells):,} cells)" in text
    for licence in analysis.sources["licence"]:
        assert licence in text
    assert "Mongolian gazelle" in text and "CR" in text  # common name, IUCN status
    # the top hotspot table lists the highest-scoring hot cell
    best = analysis.cells[analysis.cells["gi_class"].isin(HOT_CLASSES)].sort_values(
        "score", ascending=False).iloc[0]
    assert best["cell_id"] in text
    # the km per class on the saiga page are the sums of the overlay table
    saiga = analysis.lengths[analysis.lengths["species"] == "Saiga_tatarica"]
    total = saiga["length_km"].sum()
    assert f"{total:,.0f} km (geodesic)" in text
    names = analysis.cells["species"].str.split("; ")
    in_range = np.array(["Saiga_tatarica" in n for n in names])
    hot = analysis.cells["gi_class"].isin(HOT_CLASSES).to_numpy()
    assert f"{(in_range & hot).sum():,} hot of {in_range.sum():,} cells in the range" in text


def test_report_escapes_and_figures(analysis):
    evil = dataclasses.replace(analysis, atlas_name="A<b>&", notes=["<script>x()</script>"])
    html = hotspot_report(evil, figures=True, map_href=None)
    check_html(html)
    assert "<script>x()" not in html and "&lt;script&gt;x()&lt;/script&gt;" in html
    assert "A&lt;b&gt;&amp;" in html
    # 1 Gi* map + 2 figures per species, embedded as PNG
    assert html.count('src="data:image/png;base64,') == 1 + 2 * len(analysis.species)
    assert "hotspot_map.html" not in html


def test_report_with_impact(analysis):
    ids = analysis.segments.index[:3]
    impact = pd.DataFrame({"delta_conductance": [0.5, 0.3, 0.1], "rank": [1, 2, 3]},
                          index=ids)
    a = dataclasses.replace(analysis, segments=segments_from_impact(impact, analysis.infra),
                            segment_method="impact")
    html = hotspot_report(a, figures=False)
    check_html(html)
    assert "Segments ranked by the connectivity they cost" in html
    assert "No connectivity barrier-impact analysis was available" not in html
    assert html.index("delta_conductance") > html.index('id="segments"')


def test_hotspot_map_layers(analysis):
    m = hotspot_map(analysis, basemap=None)
    names = [n.split("</span>")[-1] for n in layer_names(m)]
    gi = [f"Gi*: {c}" for c in ("hot spot 99%", "hot spot 95%", "hot spot 90%",
                                "cold spot 90%", "cold spot 95%", "cold spot 99%")
          if (analysis.cells["gi_class"] == c).any()]
    assert names == ["Countries", "Borders", "Range: Procapra gutturosa",
                     "Range: Saiga tatarica", "Barrier-pressure score", *gi,
                     "Transboundary hotspots", "Infrastructure", "Top 10 segments"]


def test_write_outputs_and_refusal(analysis, tmp_path):
    out = tmp_path / "hs"
    from cami_atlas.pipeline.hotspots import mitigation_tables

    tables = mitigation_tables(analysis)
    written = write_hotspot_outputs(analysis, out, offline=True, figures=False, **tables)
    assert sorted(p.name for p in written) == sorted(output_names())
    # the proposals computed by the pipeline are written as they are (the writer computes none)
    proposals = pd.read_csv(out / "mitigation_proposals.csv")
    assert len(proposals) == len(tables["proposals"])
    assert list(proposals.columns) == list(tables["proposals"].columns)
    cells = gpd.read_file(out / "hotspot_cells.gpkg", layer="cells")
    assert len(cells) == len(analysis.cells) and cells.crs.to_string() == "ESRI:102025"
    import pyogrio

    assert [n for n, _ in pyogrio.list_layers(out / "hotspot_cells.gpkg")] == [
        "cells", "segments", "transboundary"]
    table = pd.read_csv(out / "hotspot_cells.csv")
    assert len(table) == len(cells)
    lonlat = analysis.cells.geometry.centroid.to_crs("EPSG:4326")
    assert np.allclose(table["centroid_lon"], lonlat.x, atol=1e-5)
    segs = pd.read_csv(out / "hotspot_segments.csv")
    assert segs["rank"].tolist() == list(range(1, 11))
    from cami_atlas.maps import external_references

    assert external_references((out / "hotspot_map.html").read_text(encoding="utf-8")) == []
    check_html((out / "hotspot_report.html").read_text(encoding="utf-8"))
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    with pytest.raises(OutputExistsError, match="exists already"):
        write_hotspot_outputs(analysis, out)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_report_prints_the_score_weights(analysis):
    from cami_atlas.hotspots import default_weights_path, score_weights

    shipped = pd.read_csv(default_weights_path(), comment="#")  # read independently
    html = hotspot_report(analysis, figures=False)
    parsed = check_html(html)
    assert "Score weights" in parsed.h2 and "weights" in parsed.ids
    start = html.index('id="weights"')
    section = html[start:html.index("</table>", start)]
    text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section)))
    for row in shipped.itertuples(index=False):
        assert f" {row.group} {row.name} {row.weight:.3f} {row.note} " in text, row
    assert "shipped hotspot_weights.csv" in text
    assert ("In the score, infrastructure of barrier class 'unknown' is weighted 0.5, like a "
            "partial barrier.") in text
    assert analysis.weights.equals(score_weights())
    # own weights: the sentence follows the table it is given
    for unknown, phrase in ((1.0, "weighted 1, like a complete barrier."),
                            (0.0, "weighted 0, like 'not a barrier'."),
                            (0.7, "weighted 0.7.")):
        w = load_weights()
        w.loc[w["name"] == "unknown", "weight"] = unknown
        own = dataclasses.replace(analysis, weights=score_weights(w),
                                  parameters={**analysis.parameters, "weights": "custom table"})
        html = hotspot_report(own, figures=False)
        text = unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))
        assert f"class 'unknown' is {phrase}" in text
        assert f"unknown {unknown:.3f}" in text and "(custom table)" in text


def test_csvs_keep_full_precision(analysis, tmp_path):
    from cami_atlas.report.hotspots import _cells_table, _segments_table

    write_hotspot_outputs(analysis, tmp_path, offline=True, figures=False)
    for name, frame in (("hotspot_cells.csv", _cells_table(analysis.cells)),
                        ("hotspot_segments.csv", _segments_table(analysis))):
        back = pd.read_csv(tmp_path / name)
        floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
        assert floats, name
        for c in floats:  # bit for bit, not to 6 significant digits
            np.testing.assert_array_equal(back[c].to_numpy(float), frame[c].to_numpy(float),
                                          err_msg=f"{name}: {c}")


def _weasyprint_works() -> bool:
    try:
        import weasyprint

        weasyprint.HTML(string="<p>x</p>").write_pdf()
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _weasyprint_works(),
                    reason="WeasyPrint (pdf extra) or its Pango libraries are missing")
def test_pdf_report(analysis, tmp_path):
    written = write_hotspot_outputs(analysis, tmp_path, pdf=True, offline=True, figures=True)
    pdf = tmp_path / "hotspot_report.pdf"
    assert pdf in written
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    # summary and tables, then one page (at least) per species factsheet
    assert pdf_page_count(data) >= 2 + len(analysis.species)


# -- a synthetic atlas: corridors, unrated species, errors ------------------------------------
def _synthetic_atlas(with_ranges: bool = True, with_infra: bool = True) -> Atlas:
    atlas = Atlas("synthetic <test>")
    kw = {"source": "synthetic", "licence": "CC0-1.0"}
    countries = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                                 geometry=[box(70, 44, 72, 46), box(72, 44, 74, 46)],
                                 crs="EPSG:4326")
    atlas.add_layer("countries", countries, "country", **kw)
    if with_infra:
        rail = gpd.GeoDataFrame(
            {"infra_type": ["railway", "railway", "road"],
             "track": ["double track", "single track", None]},
            geometry=[LineString([(70.2, 45.0), (73.8, 45.0)]),
                      LineString([(71.0, 44.2), (71.0, 45.8)]),
                      LineString([(72.5, 44.2), (73.5, 45.8)])], crs="EPSG:4326")
        atlas.add_layer("rail", rail, "infrastructure", **kw)
    if with_ranges:
        ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_kiang"]},
                                  geometry=[box(70.1, 44.1, 73.9, 45.9),
                                            box(72.1, 44.1, 73.9, 45.9)], crs="EPSG:4326")
        atlas.add_layer("ranges", ranges, "species_range", **kw)
        corr = gpd.GeoDataFrame({"species": ["Saiga_tatarica"], "use_class": ["high"]},
                                geometry=[box(71.5, 44.5, 72.5, 45.5)], crs="EPSG:4326")
        atlas.add_layer("corridors", corr, "corridor", **kw)
    return atlas


def test_synthetic_atlas_corridors_and_unrated_species():
    from cami_atlas.barriers import corridor_crossings

    atlas = _synthetic_atlas()
    a = hotspot_analysis(atlas, cell_km=20, permutations=99)
    assert a.species == ["Equus_kiang", "Saiga_tatarica"]
    assert a.matrix_species["Equus_kiang"] is None
    # the kiang range (72.1-73.9 E) is crossed by the double-track railway and the road
    # only: they are 'unknown' for it (not rated); the railway at 71 E has no kiang class
    assert a.infra["Equus_kiang"].to_dict() == {"rail:0": "unknown", "rail:1": None,
                                                "rail:2": "unknown"}
    assert a.infra["Saiga_tatarica"].to_dict() == {
        "rail:0": "complete barrier", "rail:1": "partial barrier", "rail:2": "unknown"}
    assert any("Not rated" in n and "Equus_kiang" in n for n in a.notes)
    assert not any("No corridors" in n for n in a.notes)
    # borders from the country polygons (no border layer): the AAA-BBB line at 72 E
    assert set(a.cells.loc[a.cells["border"] != "", "border"]) == {"AAA-BBB"}
    # the double-track railway at 45 N enters and leaves the corridor box (71.5-72.5 E):
    # 2 crossings, each counted in exactly one cell
    pts = corridor_crossings(a.infra, atlas.read("corridors")).points
    assert a.cells["crossings"].sum() == len(pts) == 2
    assert sorted(np.round(pts.to_crs("EPSG:4326").geometry.x, 6)) == [71.5, 72.5]
    html = hotspot_report(a, figures=False)
    check_html(html)
    assert "synthetic &lt;test&gt;" in html and "not rated by the barrier matrix" in html


def test_synthetic_atlas_map_and_impact():
    atlas = _synthetic_atlas()
    # a connectivity impact table names segments by their layer:feature_id ids
    impact = pd.DataFrame({"delta_conductance": [0.1, 0.9, 0.4], "rank": [3, 1, 2]},
                          index=["rail:0", "rail:1", "rail:2"])
    w = load_weights()
    a = hotspot_analysis(atlas, species="saiga", cell_km=25, permutations=99, impact=impact,
                         weights=w)
    assert a.segment_method == "impact"
    assert a.segments.index.tolist() == ["rail:1", "rail:2", "rail:0"]
    assert a.segments["infra_type"].tolist() == ["railway", "road", "railway"]
    assert a.parameters["segment_ranking"] == "connectivity barrier impact"
    assert a.parameters["weights"] == "custom table"
    assert not any("km-weighted" in n for n in a.notes)
    names = [n.split("</span>")[-1] for n in layer_names(hotspot_map(a, basemap=None))]
    gi = [f"Gi*: {c}" for c in ("hot spot 99%", "hot spot 95%", "hot spot 90%",
                                "cold spot 90%", "cold spot 95%", "cold spot 99%")
          if (a.cells["gi_class"] == c).any()]
    tb = ["Transboundary hotspots"] if len(a.transboundary) else []
    # no border layer in this atlas: no "Borders"; its corridor is drawn
    assert names == ["Countries", "Range: Saiga tatarica", "Corridors",
                     "Barrier-pressure score", *gi, *tb, "Infrastructure", "Top 3 segments"]


def test_analysis_errors():
    with pytest.raises(EmptyLayerError, match="no species_range layer"):
        hotspot_analysis(_synthetic_atlas(with_ranges=False))
    with pytest.raises(EmptyLayerError, match="no infrastructure layer"):
        hotspot_analysis(_synthetic_atlas(with_infra=False))
    with pytest.raises(UnknownSpeciesError, match="'Ovis ammon' has no range"):
        hotspot_analysis(_synthetic_atlas(), species="Ovis ammon")


def test_check_html_catches_broken_markup():
    with pytest.raises(AssertionError):
        check_html("<div><p>x</div>")
    with pytest.raises(AssertionError):
        check_html('<a href="#nowhere">x</a>')
    assert pdf_page_count(b"1 0 obj <</Type /Pages /Count 1>> 2 0 obj <</Type /Page>>") == 1
