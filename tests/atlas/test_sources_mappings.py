"""Natural Earth and PHYLACINE mappings onto the atlas layer kinds."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely import LineString, Point, box

from cami_atlas.errors import MissingColumnError, OptionError, SchemaError
from cami_atlas.sources.natural_earth import (
    CAMI_RANGE_STATES,
    looks_like_natural_earth,
    map_natural_earth,
)
from cami_atlas.sources.phylacine import from_phylacine
from cami_atlas.validate import validate_layer

LINE = LineString([(70, 45), (71, 45)])

# synthetic tables with Natural Earth's field names
RAIL = gpd.GeoDataFrame(
    {"featurecla": ["Railroad"] * 3, "category": [1, 2, 9], "mult_track": [0, 1, 2],
     "electric": [0, 1, 2], "rwdb_rr_id": [11, 12, 13], "scalerank": [4, 8, 10]},
    geometry=[LINE] * 3, crs="EPSG:4326", index=[7, 8, 9])
ROADS = gpd.GeoDataFrame(
    {"featurecla": ["Road"] * 5 + ["Ferry"],
     "type": ["Major Highway", "Secondary Highway", "Road", "Track", "Unknown", "Ferry Route"],
     "scalerank": [3, 4, 5, 6, 7, 5]},
    geometry=[LINE] * 6, crs="EPSG:4326")


def test_railroads() -> None:
    before = RAIL.copy()
    out = map_natural_earth(RAIL, "infrastructure")
    assert out.index.tolist() == [7, 8, 9] and out.crs == RAIL.crs
    assert out["infra_type"].tolist() == ["railway"] * 3
    assert out["track"].tolist() == [None, "single track", "double track"]
    assert out["electrified"].tolist() == [None, "no", "yes"]
    assert out["source_class"].tolist() == ["Railroad category 1", "Railroad category 2",
                                            "Railroad category 9"]
    assert out["source_id"].tolist() == ["11", "12", "13"]
    assert out["scalerank"].tolist() == [4, 8, 10]
    assert out["status"].isna().all()
    validate_layer(out, "infrastructure")
    assert RAIL.equals(before)


def test_roads_table() -> None:
    out = map_natural_earth(ROADS, "infrastructure")
    assert len(out) == 5  # ferry dropped
    assert out["road_class"].tolist() == ["highway", "major road", "major road", "local road",
                                          None]
    assert out["road_surface"].tolist() == [None, None, None, "unpaved", None]
    assert out["source_class"].tolist() == ROADS["type"].tolist()[:5]
    assert out.index.tolist() == [0, 1, 2, 3, 4]
    validate_layer(out, "infrastructure")


def test_countries_use_adm0_a3_and_lowercase_fields() -> None:
    ne4 = gpd.GeoDataFrame(
        {"ADM0_A3": ["KAS", "KAZ", "FRA"], "ISO_A3": ["-99", "KAZ", "FRA"],
         "NAME": ["Siachen Glacier", "Kazakhstan", "France"], "SOVEREIGNT": ["x", "y", "z"]},
        geometry=[box(0, 0, 1, 1)] * 3, crs="EPSG:4326")
    assert looks_like_natural_earth(ne4)
    out = map_natural_earth(ne4, "country")
    assert out["iso3"].tolist() == ["KAS", "KAZ", "FRA"]
    assert out["cami_range_state"].tolist() == [False, True, False]
    ne5 = ne4.rename(columns=str.lower)
    assert map_natural_earth(ne5, "country")["iso3"].tolist() == ["KAS", "KAZ", "FRA"]
    kept = ne4.assign(cami_range_state=[True, True, True])
    assert map_natural_earth(kept, "country")["cami_range_state"].all()
    assert len(CAMI_RANGE_STATES) == 14


def test_borders_water_places() -> None:
    lines = gpd.GeoDataFrame(
        {"featurecla": ["International boundary (verify)"], "adm0_a3_l": ["KAZ"],
         "adm0_a3_r": ["CHN"]}, geometry=[LINE], crs="EPSG:4326")
    b = map_natural_earth(lines, "border")
    assert b[["iso3_left", "iso3_right", "border_type"]].iloc[0].tolist() == [
        "KAZ", "CHN", "International boundary (verify)"]
    rivers = gpd.GeoDataFrame({"featurecla": ["River", "River"], "name": ["Ili", None],
                               "scalerank": [3, 9]}, geometry=[LINE] * 2, crs="EPSG:4326")
    w = validate_layer(map_natural_earth(rivers, "water"), "water")
    assert w["name"].tolist() == ["Ili", None]
    places = gpd.GeoDataFrame({"name": ["Astana"], "adm0_a3": ["KAZ"], "pop_max": [1_000_000],
                               "featurecla": ["Admin-0 capital"]},
                              geometry=[Point(71.4, 51.2)], crs="EPSG:4326")
    p = validate_layer(map_natural_earth(places, "places"), "places")
    assert p[["name", "iso3", "population"]].iloc[0].tolist() == ["Astana", "KAZ", 1e6]


def test_looks_like() -> None:
    assert looks_like_natural_earth(RAIL) and looks_like_natural_earth(ROADS)
    plain = gpd.GeoDataFrame({"highway": ["primary"], "name": ["x"]}, geometry=[LINE])
    assert not looks_like_natural_earth(plain)


def test_errors() -> None:
    with pytest.raises(OptionError, match="kind='tracks' is not valid"):
        map_natural_earth(RAIL, "tracks")
    with pytest.raises(MissingColumnError, match=r"missing field.*'adm0_a3_l'"):
        map_natural_earth(RAIL, "border")
    with pytest.raises(MissingColumnError, match="Natural Earth countries: missing field"):
        map_natural_earth(RAIL, "country")
    other = gpd.GeoDataFrame({"featurecla": ["Lake"], "scalerank": [1]}, geometry=[LINE],
                             crs="EPSG:4326")
    with pytest.raises(SchemaError, match=r"neither NE railroads.*nor NE roads"):
        map_natural_earth(other, "infrastructure")
    with pytest.raises(SchemaError, match="expects a GeoDataFrame"):
        map_natural_earth(RAIL.drop(columns="geometry").to_dict(), "infrastructure")


def test_phylacine() -> None:
    raw = gpd.GeoDataFrame(
        {"species": ["Saiga tatarica", "Cervus elaphus", "Procapra gutturosa"],
         "common_name": ["saiga", "red deer", "Mongolian gazelle"],
         "iucn_status_2016": ["CR", "LC", "LC"]},
        geometry=[box(0, 0, 1, 1), None, box(2, 2, 3, 3)], crs="EPSG:6933", index=[3, 4, 5])
    out = from_phylacine(raw)
    assert out.index.tolist() == [3, 5]
    assert out["species"].tolist() == ["Saiga_tatarica", "Procapra_gutturosa"]
    assert out["common_name"].tolist() == ["saiga", "Mongolian gazelle"]
    assert out.crs == raw.crs
    assert raw["species"].iloc[0] == "Saiga tatarica"  # caller's data untouched
    validate_layer(out, "species_range")


def test_phylacine_errors() -> None:
    raw = gpd.GeoDataFrame({"specie": ["Saiga tatarica"]}, geometry=[box(0, 0, 1, 1)],
                           crs="EPSG:6933")
    with pytest.raises(MissingColumnError, match="found 'specie': rename it"):
        from_phylacine(raw)
    with pytest.raises(SchemaError, match="expects a GeoDataFrame"):
        from_phylacine({"species": []})


def test_real_railroads_codes(real_data: Path) -> None:
    raw = pyogrio.read_dataframe(real_data / "natural_earth" / "ne_10m_railroads_cami.gpkg")
    out = map_natural_earth(raw, "infrastructure")
    codes = raw["mult_track"].value_counts().to_dict()
    tracks = out["track"].value_counts(dropna=False).to_dict()
    assert tracks == {"single track": codes[1], "double track": codes[2], None: codes[0]}
    # NE leaves both fields at 0 (no data) on exactly the same features
    assert ((raw["mult_track"] == 0) == (raw["electric"] == 0)).all()


def test_real_phylacine(real_data: Path) -> None:
    raw = pyogrio.read_dataframe(
        real_data / "species" / "phylacine_1.2.1_cami_species_ranges.gpkg", layer="current_range")
    out = from_phylacine(raw)
    assert len(raw) == 16 and len(out) == 15
    assert set(raw["species"]) - {s.replace("_", " ") for s in out["species"]} == {
        "Cervus elaphus"}
