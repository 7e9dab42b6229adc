"""The mitigation catalogue: its checks, and the measures proposed per segment and species."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from cami_atlas.barriers.species import resolve_species
from cami_atlas.errors import SchemaError, UnknownSpeciesError, UnknownValueError
from cami_atlas.planning.catalogue import (
    CATALOGUE_COLUMNS,
    HIERARCHY,
    load_catalogue,
    propose_measures,
    summarise_proposals,
)
from cami_atlas.schema import INFRA_TYPES

SHIPPED = Path(__file__).parents[2] / "src" / "cami_atlas" / "data" / "mitigation_catalogue.csv"


def _raw_rows() -> list[dict[str, str]]:
    with open(SHIPPED, newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_every_shipped_entry_has_a_source_and_known_vocabulary() -> None:
    rows = _raw_rows()
    assert len(rows) >= 15
    assert list(rows[0]) == list(CATALOGUE_COLUMNS)
    for row in rows:
        assert row["source"].strip(), row["measure_id"]
        assert row["hierarchy_step"] in HIERARCHY
        for t in row["infra_types"].split(";"):
            assert t.strip() in INFRA_TYPES, (row["measure_id"], t)
        for s in filter(None, (x.strip() for x in row["species"].split(";"))):
            resolve_species(s)  # raises for a species outside the atlas vocabulary
    cat = load_catalogue()
    assert len(cat) == len(rows)
    # every step of the hierarchy is represented, and the table is in hierarchy order
    assert list(dict.fromkeys(cat["hierarchy_step"])) == list(HIERARCHY)


def _write(tmp_path: Path, change: dict[str, str], row: int = 0) -> Path:
    rows = _raw_rows()
    rows[row].update(change)
    out = tmp_path / "catalogue.csv"
    with open(out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return out


@pytest.mark.parametrize(("change", "error", "words"), [
    ({"source": ""}, SchemaError, ["avoid_realign", "no source"]),
    ({"hierarchy_step": "compensate"}, UnknownValueError, ["compensate", "minimise"]),
    ({"infra_types": "road;highway"}, UnknownValueError, ["highway", "railway"]),
    ({"species": "Equus_hemionus;Unicornis_fabulosa"}, UnknownSpeciesError,
     ["avoid_realign", "Unicornis_fabulosa"]),
    ({"clearance_m": "about 3"}, SchemaError, ["clearance_m", "about 3", "not a number"]),
    ({"measure_id": "avoid_no_fence"}, SchemaError, ["avoid_no_fence", "more than once"]),
    ({"recommended": "maybe"}, UnknownValueError, ["recommended", "maybe"]),
])
def test_bad_catalogue_rows_are_refused(tmp_path: Path, change: dict[str, str], error: type,
                                        words: list[str]) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(error) as info:
        load_catalogue(path)
    for w in [str(path), *words]:
        assert w in str(info.value)


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    pd.DataFrame({"measure_id": ["x"], "source": ["y"]}).to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"missing column.*hierarchy_step"):
        load_catalogue(path)


def test_proposals_for_a_fence_across_saiga_range_in_hierarchy_order() -> None:
    segs = pd.DataFrame({"segment_id": ["f:1", "f:1"],
                         "species": ["Saiga tatarica", "Panthera_uncia"],
                         "barrier_class": ["complete barrier", "not a barrier"]})
    out = propose_measures(segs, "fence")
    # worked out by hand from the shipped CSV: fence measures for every species, plus the
    # saiga-specific ones; none for the snow leopard (not a barrier); the railway fence
    # removal names khulan and gazelles only
    assert out["measure_id"].tolist() == [
        "avoid_no_fence", "avoid_realign",
        "minimise_fence_bottom_gap", "minimise_fence_height",
        "mitigate_fence_openings_border", "mitigate_railway_fence_openings_kz",
        "mitigate_seasonal_opening", "mitigate_wildlife_guard",
        "offset_residual_loss"]
    assert set(out["species"]) == {"Saiga tatarica"}
    assert out.loc[out["measure_id"] == "minimise_fence_bottom_gap", "clearance_m"].item() \
        == pytest.approx(0.30)


def test_proposals_for_a_road_skip_measures_found_ineffective() -> None:
    segs = pd.DataFrame({"segment_id": [7], "species": ["snow leopard"],
                         "barrier_class": ["partial barrier"]})
    out = propose_measures(segs, "road")
    assert out["measure_id"].tolist() == [
        "avoid_no_fence", "avoid_realign", "minimise_pipeline_road_separation",
        "mitigate_exclusion_fence", "mitigate_overpass", "mitigate_underpass",
        "mitigate_wildlife_guard", "offset_residual_loss"]
    assert "minimise_speed_limit" not in set(out["measure_id"])  # recommended = no
    assert "minimise_speed_limit" in set(load_catalogue()["measure_id"])  # kept as evidence


def test_no_proposals_where_nothing_is_a_barrier_and_bad_segments() -> None:
    segs = pd.DataFrame({"segment_id": [1], "species": ["khulan"], "infra_type": ["road"],
                         "barrier_class": ["not a barrier"]})
    assert propose_measures(segs).empty
    with pytest.raises(SchemaError, match="barrier_class"):
        propose_measures(segs.drop(columns="barrier_class"))
    with pytest.raises(UnknownValueError, match="half barrier"):
        propose_measures(segs.assign(barrier_class="half barrier"))


def test_summary_groups_segments_per_species_and_measure() -> None:
    segs = pd.DataFrame({"segment_id": ["a", "b", "b"],
                         "species": ["Saiga_spp", "Saiga_spp", "Equus_hemionus"],
                         "barrier_class": ["complete barrier", "partial barrier",
                                           "complete barrier"]})
    table = summarise_proposals(propose_measures(segs, "fence"))
    saiga = table[table["species"] == "Saiga_spp"].set_index("measure_id")
    assert saiga.loc["mitigate_fence_openings_border", "n_segments"] == 2
    assert saiga.loc["mitigate_fence_openings_border", "segments"] == "a; b"
    khulan = table[table["species"] == "Equus_hemionus"]
    assert "mitigate_railway_fence_removal" in set(khulan["measure_id"])
    assert "mitigate_fence_openings_border" not in set(khulan["measure_id"])
