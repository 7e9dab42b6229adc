"""Scenario definitions: atlas projects, route files, bad input."""

import geopandas as gpd
import pytest
import shapely

from cami_atlas.errors import LayerReadError, MissingColumnError, SchemaError
from cami_atlas.planning import (
    parse_scenario_option,
    read_scenario_file,
    residual_loss,
    resolve_scenarios,
)


@pytest.fixture()
def infra():
    return gpd.GeoDataFrame(
        {
            "infra_type": ["road", "railway", "railway"],
            "status": [None, "planned", "proposed"],
            "project_name": [None, "Hypothetical line A", "Hypothetical line B"],
        },
        geometry=[shapely.LineString([(60, 45 + i), (61, 45 + i)]) for i in range(3)],
        crs="EPSG:4326",
    )


def test_unknown_project_names_it_and_lists_known(infra):
    with pytest.raises(
        SchemaError,
        match=r"unknown project 'Line Z'.*"
        r"\['Hypothetical line A', 'Hypothetical line B'\]",
    ):
        resolve_scenarios({"s": [("Line Z", None)]}, infra)


def test_unreadable_route_file(tmp_path, infra):
    bad = tmp_path / "broken.geojson"
    bad.write_text("{not json")
    with pytest.raises(LayerReadError, match=r"broken\.geojson"):
        resolve_scenarios({"s": [("broken", str(bad))]}, infra)
    with pytest.raises(LayerReadError, match=r"missing\.gpkg"):
        resolve_scenarios({"s": [("m", str(tmp_path / "missing.gpkg"))]}, infra)


def test_route_file_and_atlas_project(tmp_path, infra):
    route = tmp_path / "r.geojson"
    infra.iloc[[1]].drop(columns=["project_name", "status"]).to_file(route)
    csv = tmp_path / "s.csv"
    csv.write_text("scenario,project,route\nboth,Hypothetical line A,\nboth,,r.geojson\nempty,,\n")
    defs = read_scenario_file(csv)
    base, scen = resolve_scenarios(defs, infra)
    assert base.index.tolist() == [0]
    assert list(scen["both"]) == ["Hypothetical line A", "r"]
    assert scen["empty"] == {}
    assert scen["both"]["r"]["project_name"].tolist() == ["r"]


def test_bad_scenario_file_and_option(tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("name,project\nA,B\n")
    with pytest.raises(MissingColumnError, match="scenario, project, route"):
        read_scenario_file(csv)
    with pytest.raises(SchemaError, match="NAME=route"):
        parse_scenario_option("no-equals-sign")


def test_residual_loss_signs():
    import pandas as pd

    t = pd.DataFrame(
        {
            "scenario": ["A", "A"],
            "species": ["S", "S"],
            "metric": ["ECA", "km_in_range_complete_barrier"],
            "change": [-2.0, 100.0],
            "residual_change": [-0.5, 100.0],
        }
    )
    r = residual_loss(t)
    assert r["loss"].tolist() == [2.0, 100.0]
    assert r["residual_loss"].tolist() == [0.5, 100.0]
    assert r["unit"].tolist()[1] == "km"
    assert r["share_mitigated"].tolist() == [0.75, 0.0]
