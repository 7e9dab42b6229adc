"""IUCN and 2017 CAMI data-dictionary mappings on synthetic layers."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import LineString, box

from cami_atlas.errors import MissingColumnError, OptionError, SchemaError, UnknownValueError
from cami_atlas.schema import MATRIX_ATTRIBUTE_COLUMNS
from cami_atlas.sources.cami2017 import (
    CAMI2017_FIELDS,
    from_cami2017,
    infer_infra_type,
    looks_like_cami2017,
)
from cami_atlas.sources.iucn import SEASON_OF_SEASONAL, from_iucn, looks_like_iucn
from cami_atlas.validate import validate_layer


def synthetic_iucn() -> gpd.GeoDataFrame:
    """A synthetic IUCN-style range table (invented polygons and codes), shapefile-style
    upper-case field names as in IUCN downloads."""
    rows = [
        # BINOMIAL, PRESENCE, ORIGIN, SEASONAL
        ("Saiga tatarica", 1, 1, 1),   # kept: extant native resident
        ("Saiga tatarica", 1, 1, 2),   # kept: breeding
        ("Saiga tatarica", 2, 1, 3),   # kept: probably extant, non-breeding
        ("Saiga tatarica", 5, 1, 1),   # dropped: extinct
        ("Saiga tatarica", 3, 1, 1),   # dropped by default: possibly extant
        ("Procapra gutturosa", 1, 2, 1),  # kept: reintroduced
        ("Procapra gutturosa", 1, 3, 1),  # dropped: introduced
        ("Procapra gutturosa", 1, 6, 1),  # kept: assisted colonisation
        ("Equus hemionus", 1, 1, 4),   # dropped by default: passage
        ("Equus hemionus", 1, 4, 1),   # dropped: vagrant
    ]
    geoms = [box(50 + i, 45, 51 + i, 46) for i in range(len(rows))]
    frame = pd.DataFrame(rows, columns=["BINOMIAL", "PRESENCE", "ORIGIN", "SEASONAL"])
    frame["ID_NO"] = range(100, 100 + len(rows))
    frame.index = pd.Index(range(10, 20), name="fid")
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


def test_iucn_default_selection():
    src = synthetic_iucn()
    before = src.copy()
    out = from_iucn(src)
    assert out.index.tolist() == [10, 11, 12, 15, 17]
    assert out["species"].tolist() == ["Saiga_tatarica"] * 3 + ["Procapra_gutturosa"] * 2
    assert out["season"].tolist() == ["resident", "breeding", "non-breeding", "resident",
                                      "resident"]
    assert out["presence"].tolist() == [1, 1, 2, 1, 1]
    assert out["origin"].tolist() == [1, 1, 1, 2, 6]
    assert str(out["presence"].dtype) == "Int64"
    assert out.crs == src.crs and "ID_NO" in out.columns
    pd.testing.assert_frame_equal(src, before)
    validated = validate_layer(out, "species_range")
    assert len(validated) == 5


def test_iucn_custom_selection_and_sci_name():
    src = synthetic_iucn().rename(columns={"BINOMIAL": "sci_name"})
    out = from_iucn(src, presence=(1, 2, 3), origin=(1,), seasonal=(1, 2, 3, 4, 5))
    assert out.index.tolist() == [10, 11, 12, 14, 18]
    assert out["season"].tolist() == ["resident", "breeding", "non-breeding", "resident",
                                      "passage"]


def test_iucn_season_vocabulary_is_the_atlas_one():
    assert SEASON_OF_SEASONAL == {1: "resident", 2: "breeding", 3: "non-breeding",
                                  4: "passage", 5: "uncertain"}
    from cami_atlas.schema import SCHEMAS
    assert set(SEASON_OF_SEASONAL.values()) <= set(SCHEMAS["species_range"].column(
        "season").allowed)


def test_iucn_errors():
    with pytest.raises(UnknownValueError,
                       match=r"presence=\(1, 7\) holds code\(s\) \[7\].*1 Extant, 2 Probably "
                             r"Extant, 3 Possibly Extant, 4 Possibly Extinct, 5 Extinct, 6 "
                             r"Presence Uncertain"):
        from_iucn(synthetic_iucn(), presence=(1, 7))
    with pytest.raises(UnknownValueError, match=r"origin=\(0,\).*6 Assisted Colonisation"):
        from_iucn(synthetic_iucn(), origin=(0,))
    bad = synthetic_iucn()
    bad.loc[13, "SEASONAL"] = 9
    bad["ORIGIN"] = bad["ORIGIN"].astype(float)
    bad.loc[14, "ORIGIN"] = 1.5
    with pytest.raises(UnknownValueError,
                       match=r"column 'SEASONAL' holds 1 value\(s\) that are not IUCN seasonal "
                             r"codes \(9\); valid codes: 1 Resident, .*5 Seasonal Occurrence "
                             r"Uncertain"):
        from_iucn(bad.drop(columns="ORIGIN"))
    with pytest.raises(UnknownValueError, match=r"'ORIGIN' holds 1 value\(s\).*\(1.5\)"):
        from_iucn(bad)
    with pytest.raises(MissingColumnError, match=r"'sci_name' or 'binomial' \(found 'sciname'"):
        from_iucn(synthetic_iucn().rename(columns={"BINOMIAL": "sciname"}))


def test_iucn_detection():
    assert looks_like_iucn(synthetic_iucn())
    assert not looks_like_iucn(synthetic_iucn().drop(columns="PRESENCE"))


# -- 2017 CAMI data dictionary ------------------------------------------------------------
LINES = [LineString([(60, 45), (61, 45)]), LineString([(61, 45), (62, 46)])]


def layer(**cols):
    return gpd.GeoDataFrame(cols, geometry=LINES[: len(next(iter(cols.values())))],
                            crs="EPSG:4326")


def test_field_table_is_the_matrix_table():
    flat = {(infra, f): col for infra, fields in CAMI2017_FIELDS.items()
            for f, col in fields.items()}
    assert flat == MATRIX_ATTRIBUTE_COLUMNS
    assert CAMI2017_FIELDS["road"] == {"type_": "road_surface", "type1": "road_class",
                                       "traffic": "traffic"}


def test_roads():
    roads = layer(type_=["paved", "unpaved"], type1=["highway", "local"],
                  traffic=["high", "low [<=1 car/hour]"], name=["M-36", "track"])
    out = from_cami2017(roads, "road")
    assert out[["infra_type", "road_surface", "road_class", "traffic", "name"]].values.tolist() == [
        ["road", "paved", "highway", "high [>= 1 car/minute]", "M-36"],
        ["road", "unpaved", "local road", "low [<=1 car/hour]", "track"]]
    assert "type_" not in out.columns and out.index.equals(roads.index)
    validate_layer(out, "infrastructure")


def test_railroads_fences_pipelines():
    rails = from_cami2017(layer(track=["single", "double track"],
                                speed=["slow", "high speed train"]), "railway")
    assert rails[["infra_type", "track", "train_speed"]].values.tolist() == [
        ["railway", "single track", "slow train"], ["railway", "double track",
                                                    "high speed train"]]
    fences = from_cami2017(layer(TYPE_=["woven", "chain_link"], HEIGHT=["high", "medium"],
                                 BOTTOM_GAP=["low", None], COVERED=["yes", "0"]), "fence")
    assert fences[["fence_type", "fence_height", "fence_bottom_gap", "fence_covered"]
                  ].values.tolist() == [
        ["woven barbed wire", "high [>2m]", "low [<30cm]", "yes"],
        ["chain link", "medium", None, "no"]]
    pipes = from_cami2017(layer(buried=["berm", "no"], trenches=["no", "trenches"]),
                          "pipeline")
    assert pipes[["pipeline_buried", "pipeline_trenches"]].values.tolist() == [
        ["yes, with a berm", "no trenches"], ["no", "trenches"]]
    for out in (rails, fences, pipes):
        validate_layer(out, "infrastructure")


def test_cami2017_errors():
    with pytest.raises(UnknownValueError,
                       match=r"2017 field 'type1' \(road road_class\) has 1 value\(s\).*"
                             r"'motorway2'.*Allowed: 'local road', 'major road', 'highway'"):
        from_cami2017(layer(type1=["motorway2"]), "road")
    with pytest.raises(OptionError, match=r"infra_type='roads' is not valid.*'road'"):
        from_cami2017(layer(type1=["highway"]), "roads")
    with pytest.raises(SchemaError, match=r"both the 2017 field 'type1' and the atlas column "
                                          r"'road_class'"):
        from_cami2017(layer(type1=["highway"], road_class=["highway"]), "road")


def test_cami2017_detection():
    assert infer_infra_type(layer(type_=["paved"], type1=["highway"])) == "road"
    assert infer_infra_type(layer(track=["single"], speed=["low"])) == "railroad"
    assert infer_infra_type(layer(buried=["yes"])) == "pipeline"
    assert infer_infra_type(layer(type_=["paved"])) is None
    assert infer_infra_type(layer(type1=["highway"], buried=["yes"])) is None
    assert looks_like_cami2017(layer(covered=["yes"]))
    assert not looks_like_cami2017(layer(track=["single"]))  # too generic alone
