"""Species and country factsheets of the online atlas: cited notes, connectivity
(effective mesh size) against a hand computation, crossings, and barrier hotspots
(the 202-then-200 API and the counting against hand-made cells)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from cami_atlas.data.factsheets import TOPICS, factsheet_table, species_notes
from cami_atlas.store import Atlas
from cami_atlas.web.app import create_app
from cami_atlas.web.factsheets import country_hotspots, species_hotspots

# SYNTHETIC: the saiga range 50-58 E x 44-50 N, cut along 52 E by a double-track railway
# (a complete barrier to saiga in the 2017 CAMI matrix) into pieces of 2/8 and 6/8 of
# its area (a lon/lat band's equal area is proportional to its width in longitude)
RANGE = shapely.box(50, 44, 58, 50)
RAIL = shapely.LineString([(52, 43), (52, 51)])


@pytest.fixture
def served(tmp_path: Path) -> TestClient:
    atlas = Atlas("synthetic factsheet atlas")
    atlas.add_layer("countries", gpd.GeoDataFrame(
        {"iso3": ["AAA", "BBB"], "name": ["Aland", "Bland"]},
        geometry=[shapely.box(40, 40, 54, 55), shapely.box(54, 40, 70, 55)], crs="EPSG:4326"),
        "country", source="invented", licence="CC0-1.0")
    atlas.add_layer("ranges", gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Ursus_arctos"]},
        geometry=[RANGE, shapely.box(60, 44, 64, 48)], crs="EPSG:4326"),
        "species_range", source="invented", licence="CC0-1.0")
    atlas.add_layer("rail", gpd.GeoDataFrame(
        {"infra_type": ["railway"], "track": ["double"], "status": ["existing"]},
        geometry=[RAIL], crs="EPSG:4326"), "infrastructure", source="invented",
        licence="CC0-1.0")
    path = atlas.save(tmp_path / "facts.gpkg")
    with TestClient(create_app(path)) as client:
        yield client


def test_shipped_notes_are_cited_and_well_formed() -> None:
    table = factsheet_table()
    assert len(table) >= 10
    assert set(table["topic"]) <= set(TOPICS)
    assert (table["statement"].str.len() > 40).all() and (table["citation"].str.len() > 40).all()
    assert table["species"].str.fullmatch(r"[A-Z][a-z]+_[a-z]+").all()
    assert table["url"].eq("").__or__(table["url"].str.startswith(("http://", "https://"))).all()
    assert not table["statement"].duplicated().any()
    # every citation names a year in brackets (the published source), no placeholder
    assert table["citation"].str.contains(r"\((?:19|20)\d\d\)").all()
    assert not table["citation"].str.contains("TODO|lorem|example", case=False).any()
    # ordered by topic for a page
    topics = list(species_notes("Saiga_tatarica")["topic"])
    assert topics == sorted(topics, key=TOPICS.index) and set(topics) == set(TOPICS)


def test_connectivity_is_the_hand_computed_effective_mesh_size(served) -> None:
    facts = served.get("/api/species/Saiga_tatarica/factsheet").json()
    c = facts["connectivity"]
    # pieces of 1/4 and 3/4 of the area: m_eff = A (1/16 + 9/16) = 0.625 A
    assert c["n_fragments"] == 2
    assert c["largest_fragment_share"] == pytest.approx(0.75, rel=1e-3)
    assert c["m_eff_km2"] == pytest.approx(0.625 * c["area_km2"], rel=1e-3)
    assert c["m_eff_without_barriers_km2"] == pytest.approx(c["area_km2"], rel=1e-6)
    assert c["p_connected"] == pytest.approx(0.625, rel=1e-3)
    assert c["retained_pct"] == pytest.approx(62.5, rel=1e-3)
    assert "Jaeger" in c["citation"]
    assert facts["crossings"] == {"corridor": None, "track": None}
    # the notes carry numbered references; the bear (none shipped) has none
    assert [n["ref"] for n in facts["notes"]][:1] == [1]
    assert {r["number"] for r in facts["references"]} == {n["ref"] for n in facts["notes"]}
    assert served.get("/api/species/Ursus_arctos/factsheet").json()["notes"] == []
    assert served.get("/api/species/Nope_nope/factsheet").status_code == 404


def test_species_page_shows_notes_connectivity_and_an_honest_empty_field(served) -> None:
    page = served.get("/species/Saiga_tatarica").text
    assert "Behaviour, ecology and key needs" in page
    assert "Pasteurella multocida" in page and "doi.org/10.1126/sciadv.aao2314" in page
    assert re.search(r'<li id="ref-1">', page)
    assert "62.5 %" in page and "0.625" in page  # connectivity retained, p(connected)
    assert "no corridors or GPS tracks" in page
    bear = served.get("/species/Ursus_arctos").text
    assert "the field stays empty rather than hold an uncited text" in bear
    ru = served.get("/species/Saiga_tatarica?lang=ru").text
    assert "Поведение, экология и ключевые потребности" in ru and "сохранённая связность" in ru


def _wait(client: TestClient, url: str) -> dict:
    end = time.monotonic() + 240
    while True:
        answer = client.get(url)
        if answer.status_code == 200:
            return answer.json()
        assert answer.status_code == 202 and answer.json() == {"status": "computing"}
        assert time.monotonic() < end, "the hotspot analysis did not finish"
        time.sleep(0.5)


def test_hotspots_are_computed_in_the_background(served) -> None:
    from cami_atlas.hotspots.analysis import hotspot_analysis
    from cami_atlas.web.factsheets import HOTSPOT_CELL_KM

    first = served.get("/api/species/Saiga_tatarica/hotspots")
    assert first.status_code in (200, 202)  # never blocks the request
    doc = _wait(served, "/api/species/Saiga_tatarica/hotspots")
    direct = hotspot_analysis(Atlas.open(served.app.state.service.atlas.location),
                              cell_km=HOTSPOT_CELL_KM, permutations=999)
    assert doc == species_hotspots(direct, "Saiga_tatarica")
    n_saiga = direct.cells["species"].str.contains("Saiga_tatarica").sum()
    assert doc["n_cells"] == n_saiga > 0 and doc["cell_km"] == HOTSPOT_CELL_KM
    country = _wait(served, "/api/countries/AAA/hotspots")
    assert country == country_hotspots(direct, served.app.state.service.country_shape("AAA"),
                                       "AAA")
    assert served.get("/api/countries/ZZZ/hotspots").status_code == 400
    # the map layer: every significant cell, as RFC 7946 GeoJSON
    from cami_atlas.geojson import check_rfc7946

    cells = served.get("/api/hotspots/geojson").json()
    assert check_rfc7946(cells) == []
    significant = direct.cells[direct.cells["gi_class"] != "not significant"]
    assert sorted(f["properties"]["cell_id"] for f in cells["features"]) == sorted(
        significant["cell_id"])


def test_hotspot_counts_by_hand() -> None:
    """Hand-made cells: the counts are what a reader counts on the table."""
    from types import SimpleNamespace

    cells = gpd.GeoDataFrame({
        "cell_id": ["c1", "c2", "c3", "c4", "c5"],
        "species": ["Saiga_tatarica", "Saiga_tatarica; Equus_hemionus", "Equus_hemionus",
                    "Saiga_tatarica", ""],
        "gi_class": ["hot spot 99%", "hot spot 95%", "hot spot 99%", "not significant",
                     "hot spot 95%"]},
        geometry=[shapely.box(x, 0, x + 1, 1) for x in range(5)], crs="EPSG:4326")
    tb = pd.DataFrame({"cell_id": ["c2", "c2", "c3"],
                       "border": ["AAA-BBB", "BBB-CCC", "AAA-BBB"],
                       "species": ["Saiga_tatarica; Equus_hemionus",
                                   "Saiga_tatarica; Equus_hemionus", "Equus_hemionus"]})
    analysis = SimpleNamespace(cells=cells, transboundary=tb)
    saiga = species_hotspots(analysis, "Saiga_tatarica")
    assert (saiga["n_cells"], saiga["n_hot"], saiga["n_hot_99"], saiga["n_transboundary"]) == (
        3, 2, 1, 1)
    assert saiga["borders"] == [{"border": "AAA-BBB", "n_hot": 1},
                                {"border": "BBB-CCC", "n_hot": 1}]
    # a country covering cells c1-c3 (x 0..2.5): 3 cells meet it, all hot
    aaa = country_hotspots(analysis, shapely.box(0.2, 0.2, 2.5, 0.8), "AAA")
    assert (aaa["n_cells"], aaa["n_hot"]) == (3, 3)
    assert aaa["borders"] == [{"border": "AAA-BBB", "n_hot": 2,
                               "species": ["Equus_hemionus", "Saiga_tatarica"]}]
