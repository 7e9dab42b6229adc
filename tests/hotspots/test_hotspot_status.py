"""IUCN Red List status table and status-weighted hotspot scores."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from cami_atlas.errors import (
    LayerReadError,
    MissingColumnError,
    OptionError,
    SchemaError,
    UnknownValueError,
)
from cami_atlas.hotspots.status import (
    DEFAULT_STATUS_WEIGHTS,
    IUCN_CATEGORIES,
    load_species_status,
    status_weighted_score,
    status_weights,
)

ROOT = Path(__file__).resolve().parents[2]
ATLAS = ROOT / "data" / "layers" / "cami_default_atlas.gpkg"


def _table(**overrides):
    row = {"species": "Saiga_tatarica", "iucn_category": "NT", "assessment_year": "2023",
           "citation": "IUCN 2023"}
    row.update(overrides)
    return pd.DataFrame([row])


def test_shipped_table_covers_the_default_atlas_species():
    t = load_species_status()
    ranges = pyogrio.read_dataframe(ATLAS, layer="species_ranges", read_geometry=False)
    assert set(ranges["species"]) <= set(t["species"])
    assert t["species"].is_unique
    assert set(t["iucn_category"]) <= {*IUCN_CATEGORIES, ""}
    # every category cites its assessment; a stated year appears in the citation
    assert (t.loc[t["iucn_category"] != "", "citation"] != "").all()
    for year, citation in zip(t["assessment_year"], t["citation"], strict=True):
        if not pd.isna(year):
            assert str(year) in citation


@pytest.mark.parametrize(("species", "category", "year"), [
    # published IUCN assessments (see the citations in the table)
    ("Saiga_tatarica", "NT", 2023),      # CR -> NT, Red List update of 11 Dec 2023
    ("Panthera_uncia", "VU", 2017),      # EN -> VU, McCarthy et al. 2017
    ("Equus_hemionus", "NT", 2015),      # EN -> NT, Kaczensky et al. 2015
    ("Procapra_gutturosa", "LC", 2016),
    ("Gazella_subgutturosa", "VU", 2017),
    ("Ursus_arctos", "LC", 2017),
])
def test_shipped_categories_match_published_assessments(species, category, year):
    row = load_species_status().set_index("species").loc[species]
    assert row["iucn_category"] == category and row["assessment_year"] == year


def test_unknown_category_lists_the_valid_ones(tmp_path):
    with pytest.raises(UnknownValueError,
                       match=r"unknown IUCN Red List category 'XX'.*Saiga_tatarica.*"
                             r"EX, EW, CR, EN, VU, NT, LC, DD, NE"):
        load_species_status(_table(iucn_category="xx"))
    p = tmp_path / "status.csv"
    p.write_text("# my table\nspecies,iucn_category,assessment_year,citation\n"
                 "Ovis_ammon,LR/nt,2008,old\n", encoding="utf-8")
    with pytest.raises(UnknownValueError, match=rf"{re.escape(str(p))}: unknown .*'LR/NT'"):
        load_species_status(p)


def test_other_bad_tables(tmp_path):
    with pytest.raises(MissingColumnError, match=r"lacks the column\(s\) \['citation'\]"):
        load_species_status(_table().drop(columns="citation"))
    with pytest.raises(SchemaError, match="listed more than once: \\['Saiga_tatarica'\\]"):
        load_species_status(pd.concat([_table(), _table()]))
    with pytest.raises(SchemaError, match="whole year between 1964"):
        load_species_status(_table(assessment_year="2023.5"))
    with pytest.raises(SchemaError, match="whole year between 1964"):
        load_species_status(_table(assessment_year="recent"))
    with pytest.raises(SchemaError, match="needs the citation of its assessment"):
        load_species_status(_table(citation=""))
    with pytest.raises(LayerReadError, match="does not exist"):
        load_species_status(tmp_path / "nope.csv")
    ok = load_species_status(_table(iucn_category="", assessment_year="", citation=""))
    assert ok["iucn_category"].tolist() == [""] and ok["assessment_year"].isna().all()


def test_default_weights_are_one_plus_the_red_list_index_weight():
    rli = {"LC": 0, "NT": 1, "VU": 2, "EN": 3, "CR": 4}  # Butchart et al. 2004, 2007
    for cat, w in rli.items():
        assert DEFAULT_STATUS_WEIGHTS[cat] == 1 + w
    assert DEFAULT_STATUS_WEIGHTS["DD"] == DEFAULT_STATUS_WEIGHTS["NE"] == 1
    assert DEFAULT_STATUS_WEIGHTS["EX"] == DEFAULT_STATUS_WEIGHTS["EW"] == 0
    assert set(DEFAULT_STATUS_WEIGHTS) == set(IUCN_CATEGORIES)


def test_status_weights_match_names_and_matrix_species():
    w = status_weights(["saiga tatarica", "Saiga_spp", "Camelus_bactrianus",
                        "Acinonyx_jubatus_venaticus", "Ovis_orientalis"])
    assert w["iucn_category"].tolist() == ["NT", "NT", "EN", "NE", "NE"]
    assert w["status_weight"].tolist() == [2.0, 2.0, 4.0, 1.0, 1.0]
    assert w.index.tolist()[0] == "saiga tatarica"
    with pytest.raises(UnknownValueError, match=r"no IUCN Red List category for "
                                                r"\['Acinonyx_jubatus_venaticus'"):
        status_weights(["Acinonyx_jubatus_venaticus"], missing="error")
    with pytest.raises(OptionError, match="missing='skip' is not valid"):
        status_weights(["Saiga_tatarica"], missing="skip")


def test_status_weighted_score_by_hand():
    x = pd.DataFrame({"Saiga_tatarica": [1.0, 0.0, np.nan],
                      "Panthera_uncia": [0.5, 2.0, 1.0],
                      "Camelus_ferus": [0.25, 0.0, 0.0],
                      "Ursus_arctos": [0.0, 1.0, 4.0]}, index=["c1", "c2", "c3"])
    got = status_weighted_score(x)
    # NT 2, VU 3, EN 4, LC 1
    assert got.tolist() == [2 * 1 + 3 * 0.5 + 4 * 0.25, 3 * 2 + 1 * 1, 3 * 1 + 1 * 4]
    assert got.index.tolist() == ["c1", "c2", "c3"] and got.name == "status_weighted_score"
    flat = {c: 1.0 for c in IUCN_CATEGORIES}
    assert status_weighted_score(x, weights=flat).tolist() == [1.75, 3.0, 5.0]
    own = _table(iucn_category="CR")
    assert status_weighted_score(x[["Saiga_tatarica"]], status=own).tolist() == [5.0, 0.0, 0.0]


def test_status_weighted_score_bad_inputs():
    x = pd.DataFrame({"Saiga_tatarica": [1.0], "cell_id": ["a"]})
    with pytest.raises(SchemaError, match=r"must be numeric; columns \['cell_id'\]"):
        status_weighted_score(x)
    with pytest.raises(SchemaError, match="must be a DataFrame"):
        status_weighted_score(pd.Series([1.0]))
    with pytest.raises(UnknownValueError, match=r"missing \['NE'\]"):
        status_weighted_score(x[["Saiga_tatarica"]],
                              weights={c: 1.0 for c in IUCN_CATEGORIES if c != "NE"})
    with pytest.raises(SchemaError, match="finite and >= 0"):
        status_weighted_score(x[["Saiga_tatarica"]],
                              weights={**DEFAULT_STATUS_WEIGHTS, "CR": -1.0})
