"""The barrier matrix and species synonyms."""

from __future__ import annotations

import filecmp
from importlib import resources

import pandas as pd
import pytest

from cami_atlas.barriers import (
    MATRIX_COLUMNS,
    attribute_column,
    load_matrix,
    matrix_infra_type,
    matrix_species,
    resolve_species,
    species_synonyms,
)
from cami_atlas.errors import (
    CamiAtlasError,
    EmptyLayerError,
    LayerReadError,
    MissingColumnError,
    SchemaError,
    UnknownSpeciesError,
    UnknownValueError,
)
from cami_atlas.schema import BARRIER_CLASSES

MATRIX_SPECIES = [
    "Acinonyx_jubatus_venaticus", "Camelus_bactrianus", "Cervus_hanglu_bactrianus",
    "Equus_hemionus", "Gazella_bennettii", "Gazella_subgutturosa", "Ovis_ammon",
    "Panthera_uncia", "Procapra_gutturosa", "Saiga_spp",
]


def _row(**kw: str) -> dict[str, str]:
    row = {"species": "Equus_kiang", "infrastructure": "road", "attribute": "traffic",
           "value": "high [>= 1 car/minute]", "barrier_class": "complete barrier"}
    row.update(kw)
    return row


def test_shipped_matrix_is_the_reference_copy(shared_reference):
    shipped = resources.files("cami_atlas.data").joinpath("cami_barrier_matrix_2017.csv")
    with resources.as_file(shipped) as path:
        assert filecmp.cmp(path, shared_reference / "cami_barrier_matrix_2017.csv",
                           shallow=False)


def test_default_matrix_content():
    m = load_matrix()
    assert list(m.columns) == list(MATRIX_COLUMNS)
    assert len(m) == 319  # 320 lines in the CSV including the header
    assert sorted(m["species"].unique()) == MATRIX_SPECIES
    assert m.groupby("species").size().to_dict()["Procapra_gutturosa"] == 31
    assert set(m["barrier_class"]) == set(BARRIER_CLASSES)
    assert m["barrier_class"].value_counts().to_dict() == {
        "not a barrier": 92, "partial barrier": 92, "complete barrier": 91, "unknown": 44}
    assert set(m["infrastructure"]) == {"road", "railroad", "fence", "pipeline"}
    # a row checked by eye in the CSV
    row = m[(m.species == "Saiga_spp") & (m.attribute == "track") & (m.value == "double track")]
    assert row["barrier_class"].tolist() == ["complete barrier"]


def test_load_matrix_returns_a_copy():
    m = load_matrix()
    m.loc[0, "species"] = "Changed_name"
    assert load_matrix().loc[0, "species"] == "Procapra_gutturosa"


def test_user_matrix_normalises_names_values_classes(tmp_path):
    df = pd.DataFrame([
        _row(species="equus kiang", infrastructure="Railroad", attribute="track",
             value="double", barrier_class="Complete"),
        _row(species="Equus kiang", infrastructure="fence", attribute="fence_height_m",
             value="2.5", barrier_class="partial"),
    ])
    path = tmp_path / "mine.csv"
    df.to_csv(path, index=False)
    for source in (df, path, str(path)):
        m = load_matrix(source)
        assert m.to_dict("records") == [
            {"species": "Equus_kiang", "infrastructure": "railroad", "attribute": "track",
             "value": "double track", "barrier_class": "complete barrier"},
            {"species": "Equus_kiang", "infrastructure": "fence", "attribute": "fence_height_m",
             "value": "2.5", "barrier_class": "partial barrier"},
        ]
    assert list(df["value"]) == ["double", "2.5"]  # caller's frame untouched


def test_attribute_and_type_mapping():
    assert matrix_infra_type("railroad") == "railway"
    assert matrix_infra_type("Railway") == "railway"
    assert matrix_infra_type("power line") == "power_line"
    assert attribute_column("road", "type_") == "road_surface"
    assert attribute_column("road", "type1") == "road_class"
    assert attribute_column("fence", "type_") == "fence_type"
    assert attribute_column("railroad", "speed") == "train_speed"
    assert attribute_column("canal", "lined") == "lined"


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (pd.DataFrame({"species": ["A_b"], "infrastructure": ["road"], "attribute": ["x"],
                       "value": ["y"], "barrier class": ["unknown"]}),
         MissingColumnError, r"missing column\(s\) 'barrier_class' \(found 'barrier class'"),
        (pd.DataFrame(columns=list(MATRIX_COLUMNS)), EmptyLayerError, "has no rows"),
        (pd.DataFrame([_row(barrier_class="severe")]), UnknownValueError,
         r"'barrier_class' has unknown value\(s\) 'severe' \(rows 2\).*'partial barrier'"),
        (pd.DataFrame([_row(infrastructure="bridge")]), UnknownValueError,
         r"'infrastructure' has unknown value\(s\) 'bridge'.*'railroad'"),
        (pd.DataFrame([_row(species="kiang")]), UnknownValueError,
         r"not scientific names \('Kiang'"),
        (pd.DataFrame([_row(value="very high")]), UnknownValueError,
         r"'very high' for atlas column 'traffic'.*allowed: 'low \[<=1 car/hour\]'"),
        (pd.DataFrame([_row(value=None)]), SchemaError,
         r"column 'value' is empty in 1 row\(s\) \(rows 2\)"),
        (pd.DataFrame([_row(value="nope", barrier_class="x")]), UnknownValueError,
         "has 2 problems"),
        ("not/a/file.csv", LayerReadError, "does not exist"),
        (42, SchemaError, "expected None, a CSV path or a pandas DataFrame, got int"),
    ],
)
def test_bad_matrix(frame, error, match):
    with pytest.raises(error, match=match):
        load_matrix(frame)


def test_unreadable_matrix_file(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(LayerReadError, match="could not be read as CSV"):
        load_matrix(p)


# --- species -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Uncia uncia", "Panthera_uncia"),
        ("Panthera_uncia", "Panthera_uncia"),
        ("snow leopard", "Panthera_uncia"),
        ("Saiga tatarica", "Saiga_spp"),
        ("Saiga_mongolica", "Saiga_spp"),
        ("saiga", "Saiga_spp"),
        ("Camelus ferus", "Camelus_bactrianus"),
        ("wild camel", "Camelus_bactrianus"),
        ("Equus hemionus", "Equus_hemionus"),
        ("Equus hemionus kulan", "Equus_hemionus"),
        ("Equus_hemionus_onager", "Equus_hemionus"),
        ("khulan", "Equus_hemionus"),
        ("KULAN", "Equus_hemionus"),
        ("onager", "Equus_hemionus"),
        ("Acinonyx jubatus", "Acinonyx_jubatus_venaticus"),
        ("Asiatic cheetah", "Acinonyx_jubatus_venaticus"),
        ("Cervus elaphus", "Cervus_hanglu_bactrianus"),
        ("Cervus hanglu", "Cervus_hanglu_bactrianus"),
        ("Bukhara deer", "Cervus_hanglu_bactrianus"),
        ("argali", "Ovis_ammon"),
        ("Ovis ammon polii", "Ovis_ammon"),  # trinomial not in the table -> its binomial
        ("Mongolian gazelle", "Procapra_gutturosa"),
        ("goitered gazelle", "Gazella_subgutturosa"),
        ("Gazella_subgutturosa_yarkandensis", "Gazella_subgutturosa"),
        ("chinkara", "Gazella_bennettii"),
    ],
)
def test_resolve_species(name, expected):
    assert resolve_species(name) == expected


def test_synonym_table_targets_exist():
    table = species_synonyms()
    assert list(table.columns) == ["name", "matrix_species", "name_type", "note"]
    assert set(table["matrix_species"]) == set(MATRIX_SPECIES)
    assert set(table["name_type"]) == {"scientific", "subspecies", "common"}
    keys = table["name"].str.lower().str.replace("_", " ")
    assert not keys.duplicated().any()
    # every table name resolves to its target with the shipped matrix
    resolved = matrix_species(table["name"].tolist())
    assert all(resolved[n] == t for n, t in zip(table["name"], table["matrix_species"],
                                                strict=True))


def test_resolve_species_with_user_matrix_uses_its_spelling():
    user = load_matrix(pd.DataFrame([_row(species="Saiga_tatarica"),
                                     _row(species="Equus_kiang")]))
    assert resolve_species("saiga", matrix=user) == "Saiga_tatarica"
    assert resolve_species("Saiga mongolica", matrix=user) == "Saiga_tatarica"
    assert resolve_species("equus kiang", matrix=user) == "Equus_kiang"
    with pytest.raises(UnknownSpeciesError, match="Matrix species: Equus_kiang, Saiga_tatarica"):
        resolve_species("khulan", matrix=user)


def test_unknown_species_message():
    with pytest.raises(UnknownSpeciesError, match=r"'Equus kiang' is not in the barrier matrix"
                       r".*Matrix species: Acinonyx_jubatus_venaticus.*matrix=\.\.\.") as exc:
        resolve_species("Equus kiang")
    assert isinstance(exc.value, KeyError) and isinstance(exc.value, CamiAtlasError)
    with pytest.raises(UnknownSpeciesError, match=r"Did you mean 'snow leopard'"):
        resolve_species("snow leopart")


def test_matrix_species_many():
    assert matrix_species(["Saiga_tatarica", "Equus_ferus", "Saiga_tatarica"]) == {
        "Saiga_tatarica": "Saiga_spp", "Equus_ferus": None}


def test_user_edits_of_a_loaded_matrix_are_validated():
    m = load_matrix()
    m.loc[0, "barrier_class"] = "severe"
    with pytest.raises(UnknownValueError, match="'severe'"):
        resolve_species("saiga", matrix=m)
