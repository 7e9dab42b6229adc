"""Segment ids (``layer:feature_id``) and classes only for the species whose range a segment
crosses: hand-built layers, then the same ids in every output of the CLI."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from affine import Affine
from click.testing import CliRunner
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.barriers import (
    classify_barriers,
    classify_in_ranges,
    classify_segments,
    segment_ids,
    segments_in_ranges,
    species_polygons,
)
from cami_atlas.barriers.segments import feature_ids
from cami_atlas.cli import main
from cami_atlas.cli.map import layers_map
from cami_atlas.errors import OptionError
from cami_atlas.maps import BARRIER_COLORS, OUTSIDE_RANGE, OUTSIDE_RANGE_COLOR, save_map
from cami_atlas.maps._elements import Legend, VectorFeatures
from cami_atlas.raster import Grid

# ranges in lon/lat: A (saiga) 60-61 E, B (goitered gazelle) 62-63 E, both 45-46 N;
# B's corridor polygon 63-64 E
RANGES = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Gazella_subgutturosa"]},
                          geometry=[box(60, 45, 61, 46), box(62, 45, 63, 46)], crs="EPSG:4326")
CORRIDORS = gpd.GeoDataFrame({"species": ["Gazella_subgutturosa"], "use_class": ["high"]},
                             geometry=[box(63, 45, 64, 46)], crs="EPSG:4326")
A, B = "Saiga_tatarica", "Gazella_subgutturosa"


def _rail() -> gpd.GeoDataFrame:
    """Five double-track railways (Saiga_spp: complete barrier; goitered gazelle: see the
    matrix): 0 crosses A only, 1 crosses A and B, 2 is outside both, 3 runs 0.02° east of
    A's east edge (outside, close), 4 lies in B's corridor only."""
    return gpd.GeoDataFrame(
        {"infra_type": ["railway"] * 5, "track": ["double track"] * 5,
         "source_id": ["101", "102", "103", "104", "105"]},
        geometry=[LineString([(59.5, 45.5), (60.5, 45.5)]),
                  LineString([(60.5, 45.2), (62.5, 45.2)]),
                  LineString([(65.0, 45.5), (66.0, 45.5)]),
                  LineString([(61.02, 45.1), (61.02, 45.9)]),
                  LineString([(63.2, 45.5), (63.8, 45.5)])], crs="EPSG:4326")


# -- ids ---------------------------------------------------------------------------------------
def test_segment_ids_rule():
    rail = _rail()
    assert segment_ids("railways", rail).tolist() == [f"railways:{i}" for i in range(101, 106)]
    # no id column, an incomplete one, a duplicated one: positions in the stored layer
    assert segment_ids("roads", rail.drop(columns="source_id")).tolist() == [
        "roads:0", "roads:1", "roads:2", "roads:3", "roads:4"]
    holes = rail.assign(source_id=["101", None, "103", "104", "105"])
    assert feature_ids(holes).tolist() == ["0", "1", "2", "3", "4"]
    dup = rail.assign(source_id=["101", "101", "103", "104", "105"])
    assert feature_ids(dup).tolist() == ["0", "1", "2", "3", "4"]
    # ids read back as floats lose their ".0"; OSM ids keep their "way/" prefix
    assert feature_ids(pd.DataFrame({"source_id": [7.0, 9.0]})).tolist() == ["7", "9"]
    assert segment_ids("osm", pd.DataFrame({"source_id": ["way/1"]})).tolist() == ["osm:way/1"]
    # the index is kept (ids of a subset come from the whole layer, by label)
    sub = segment_ids("roads", rail.drop(columns="source_id")).loc[[3, 1]]
    assert sub.tolist() == ["roads:3", "roads:1"]
    with pytest.raises(OptionError, match="layer name 'a:b' must be"):
        segment_ids("a:b", rail)


# -- which ranges each segment crosses ---------------------------------------------------------
def test_segments_in_ranges_hand_case():
    hab = species_polygons(RANGES, corridors=CORRIDORS)
    inside = segments_in_ranges(_rail(), hab)
    assert list(inside.columns) == [B, A]  # sorted as species_polygons sorts
    assert inside[A].tolist() == [True, True, False, False, False]
    assert inside[B].tolist() == [False, True, False, False, True]
    # a species asked for without a polygon: all False
    assert not segments_in_ranges(_rail(), hab, species=["Equus_kiang"])["Equus_kiang"].any()


def test_segments_in_ranges_matches_brute_force():
    """Random lines against two polygons: crossing <=> positive length inside (computed
    pair by pair with shapely, independently of the STRtree query)."""
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 100, size=(300, 2))
    ends = xy + rng.uniform(-15, 15, size=(300, 2))
    lines = gpd.GeoDataFrame(geometry=shapely.linestrings(
        np.stack([xy, ends], axis=1)), crs="EPSG:3857")
    hab = gpd.GeoSeries([shapely.Point(30, 30).buffer(20), box(60, 10, 90, 80)],
                        index=["P", "Q"], crs="EPSG:3857")
    got = segments_in_ranges(lines, hab)
    for name, poly in hab.items():
        length = np.array([g.intersection(poly).length for g in lines.geometry])
        assert got[name].tolist() == (length > 0).tolist()
    assert 20 < got.to_numpy().sum() < 280  # both outcomes occur
    # on the boundary only (along an edge, or ending on it): not crossing
    edge = gpd.GeoDataFrame(geometry=[LineString([(60, 10), (60, 80)]),
                                      LineString([(50, 40), (60, 40)]),
                                      LineString([(50, 40), (60.5, 40)])], crs="EPSG:3857")
    assert segments_in_ranges(edge, hab)["Q"].tolist() == [False, False, True]


def test_classes_only_for_species_whose_range_is_crossed():
    rail = _rail()
    wide = classify_segments(rail, RANGES, layer="railways", corridors=CORRIDORS)
    saiga = classify_barriers(rail, "saiga")
    gazelle = classify_barriers(rail, "Gazella_subgutturosa")
    assert wide["segment_id"].tolist() == [f"railways:{i}" for i in range(101, 106)]
    assert wide["feature_id"].tolist() == ["101", "102", "103", "104", "105"]
    # outside A's range (2, 3, 4): no class for A (missing, not 'unknown')
    assert wide[f"barrier_{A}"].tolist() == [saiga[0], saiga[1], None, None, None]
    # crossing A but not B (0): A only; the corridor counts as B's (4)
    assert wide[f"barrier_{B}"].tolist() == [None, gazelle[1], None, None, gazelle[4]]
    assert wide["species_in_range"].tolist() == [A, f"{B};{A}", "", "", B]
    long = classify_segments(rail, RANGES, layer="railways", corridors=CORRIDORS,
                             layout="long")
    assert long[["segment_id", "species"]].values.tolist() == [
        ["railways:101", A], ["railways:102", B], ["railways:102", A], ["railways:105", B]]
    assert (long.loc[long["species"] == A, "barrier_class"] == saiga.iloc[0]).all()
    # A's rows: the segment outside A's range is absent
    assert "railways:103" not in set(long["segment_id"])
    # a species the matrix does not rate: 'unknown' inside its range, missing outside
    kiang = RANGES.assign(species=["Equus_kiang", B])
    k = classify_in_ranges(rail, species_polygons(kiang), ["Equus_kiang"])
    assert k["Equus_kiang"].tolist() == ["unknown", "unknown", None, None, None]


# -- the same ids in every output --------------------------------------------------------------
@pytest.fixture(scope="module")
def atlas_path(tmp_path_factory):
    """A small atlas: railways with an id column, roads without (ids by position)."""
    path = tmp_path_factory.mktemp("atlas") / "small.gpkg"
    atlas = Atlas("small", region=box(58, 43, 67, 48))
    kw = {"source": "synthetic", "licence": "CC0-1.0"}
    atlas.add_layer("dem", Grid(np.full((40, 60), 500.0),
                                Affine(0.05, 0, 59.0, 0, -0.05, 46.5), "EPSG:4326"),
                    "raster", **kw)
    atlas.add_layer("countries", gpd.GeoDataFrame(
        {"iso3": ["KAZ"], "name": ["K"]}, geometry=[box(58, 43, 67, 48)], crs="EPSG:4326"),
        "country", **kw)
    atlas.add_layer("ranges", RANGES, "species_range", **kw)
    atlas.add_layer("railways", _rail(), "infrastructure", **kw)
    roads = gpd.GeoDataFrame({"infra_type": ["road", "road"],
                              "road_class": ["highway", "highway"]},
                             geometry=[LineString([(60.2, 45.1), (60.2, 45.9)]),
                                       LineString([(66.0, 44.0), (66.0, 47.0)])],
                             crs="EPSG:4326")
    atlas.add_layer("roads", roads, "infrastructure", **kw)
    atlas.save(path)
    return path


def test_ids_identical_across_outputs(atlas_path, tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["barriers", "--atlas", str(atlas_path), "--out",
                               str(tmp_path / "b"), "--no-fragmentation"])
    assert res.exit_code == 0, res.output
    gpkg = tmp_path / "b" / "classified_segments.gpkg"
    assert [n for n, _ in pyogrio.list_layers(gpkg)] == ["railways", "roads"]
    rail = gpd.read_file(gpkg, layer="railways")
    roads = gpd.read_file(gpkg, layer="roads")
    assert rail["segment_id"].tolist() == [f"railways:{i}" for i in range(101, 106)]
    assert roads["segment_id"].tolist() == ["roads:0", "roads:1"]
    # road 0 crosses A only; road 1 is outside both ranges
    assert roads[f"barrier_{A}"].fillna("-").tolist() == ["complete barrier", "-"]
    assert roads[f"barrier_{B}"].isna().all()
    assert rail[f"barrier_{A}"].notna().tolist() == [True, True, False, False, False]

    res = runner.invoke(main, ["hotspots", "--atlas", str(atlas_path), "--out",
                               str(tmp_path / "h"), "--cell-km", "20", "--permutations", "99", "--alpha", "0.1",
                               "--offline"])
    assert res.exit_code == 0, res.output
    csv = pd.read_csv(tmp_path / "h" / "hotspot_segments.csv")
    # only the segments that cross a range are ranked (the saiga range is hot), each
    # named by its layer:feature_id as in classified_segments.gpkg; the classes name only
    # the species whose range the segment crosses
    assert set(csv["segment_id"]) <= set(rail["segment_id"]) | set(roads["segment_id"])
    assert csv.set_index("segment_id")["classes"].to_dict() == {
        "railways:101": f"complete barrier: {A}",
        "roads:0": f"complete barrier: {A}",
        "railways:102": f"complete barrier: {A}; unknown: {B}"}
    gp = gpd.read_file(tmp_path / "h" / "hotspot_cells.gpkg", layer="segments")
    assert gp["segment_id"].tolist() == csv["segment_id"].tolist()
    html_map = (tmp_path / "h" / "hotspot_map.html").read_text(encoding="utf-8")
    report = (tmp_path / "h" / "hotspot_report.html").read_text(encoding="utf-8")
    for sid in csv["segment_id"]:
        assert sid in html_map and sid in report
    # the infrastructure layer near the cells: its popups name every segment; railways:104
    # (next to the saiga range, in neither range) is drawn grey as "outside range"
    assert "railways:104" in html_map and OUTSIDE_RANGE in html_map


def test_connectivity_names_segments_the_same(atlas_path):
    from cami_atlas.connectivity import run_connectivity

    cores = gpd.GeoDataFrame({"n": ["south", "north"]},
                             geometry=[shapely.Point(60.6, 45.05), shapely.Point(60.6, 45.95)],
                             crs="EPSG:4326")
    res = run_connectivity(Atlas.open(atlas_path), species="saiga", bbox=(59, 44.5, 62, 46.5),
                           cell_size_m=5_000, modes=("cost_distance",), cores=cores,
                           core_id_column="n", infrastructure=["railways", "roads"])
    assert set(res.segments["segment_id"]) <= {*(f"railways:{i}" for i in range(101, 106)),
                                               "roads:0", "roads:1"}
    assert "railways:101" in set(res.segments["segment_id"])


# -- the map: --species colours in-range segments, the rest grey "outside range" -----------------
def _infra_features(m, label: str) -> tuple[list[dict], dict]:
    import folium

    for child in m._children.values():
        if isinstance(child, folium.FeatureGroup) and child.layer_name == label:
            (vf,) = [c for c in child._children.values() if isinstance(c, VectorFeatures)]
            return json.loads(vf.data_js)["features"], json.loads(vf.styles_js)
    raise AssertionError(f"no layer {label!r}")


def test_species_map_draws_out_of_range_segments_grey(atlas_path, tmp_path):
    atlas = Atlas.open(atlas_path)
    m = layers_map(atlas, ["ranges", "railways", "roads"], species="saiga", basemap=None)
    feats, styles = _infra_features(m, "Railways")
    colours = [styles[f["properties"]["k"]]["color"] for f in feats]
    complete = BARRIER_COLORS["complete barrier"]
    # railways 101, 102 cross the saiga range; 103 outside, 104 next to it, 105 in B's
    assert colours == [complete, complete, OUTSIDE_RANGE_COLOR, OUTSIDE_RANGE_COLOR,
                       OUTSIDE_RANGE_COLOR]
    feats, styles = _infra_features(m, "Roads")
    assert [styles[f["properties"]["k"]]["color"] for f in feats] == [
        complete, OUTSIDE_RANGE_COLOR]
    legends = [json.loads(c.html_js) for c in m._children.values() if isinstance(c, Legend)]
    assert sum(OUTSIDE_RANGE in text for text in legends) == 2  # one per infrastructure layer
    path = save_map(m, tmp_path / "saiga.html")
    html = path.read_text(encoding="utf-8")
    assert OUTSIDE_RANGE in html and OUTSIDE_RANGE_COLOR in html
    assert "railways:103" in html and "roads:1" in html  # ids in the popups
    # without a species: classes by the layer's own data, no "outside range"
    plain = layers_map(atlas, ["railways"], basemap=None)
    feats, styles = _infra_features(plain, "Railways")
    assert OUTSIDE_RANGE_COLOR not in {s["color"] for s in styles.values()}
    # the CLI writes the same map
    res = CliRunner().invoke(main, ["map", "--atlas", str(atlas_path), "--layers",
                                    "ranges,railways", "--species", "saiga", "--offline",
                                    "--out", str(tmp_path / "cli.html")])
    assert res.exit_code == 0, res.output
    assert OUTSIDE_RANGE in (tmp_path / "cli.html").read_text(encoding="utf-8")
