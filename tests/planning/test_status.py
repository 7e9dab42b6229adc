"""Infrastructure status: aliases, the as-of-year rule, import of the planning columns."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cami_atlas.errors import UnknownValueError
from cami_atlas.planning import infrastructure_as_of, infrastructure_status
from cami_atlas.schema import SCHEMAS
from cami_atlas.validate import validate_layer


def _layer(status, years):
    return gpd.GeoDataFrame(
        {"infra_type": ["road"] * len(status), "status": status, "expected_year": years},
        geometry=[
            shapely.LineString([(60, 45 + i * 0.1), (61, 45 + i * 0.1)]) for i in range(len(status))
        ],
        crs="EPSG:4326",
    )


def test_as_of_rule():
    g = _layer(
        [
            "existing",
            "under construction",
            "under construction",
            "planned",
            "planned",
            "planned",
            "proposed",
            "proposed",
        ],
        [None, 2026, 2035, 2030, 2031, None, 2029, 2040],
    )
    assert infrastructure_as_of(g, 2030).index.tolist() == [0, 1, 3]
    assert infrastructure_as_of(g, 2035).index.tolist() == [0, 1, 2, 3, 4]
    assert infrastructure_as_of(g, 2030, include_proposed=True).index.tolist() == [0, 1, 3, 6]
    assert infrastructure_as_of(g, 2000).index.tolist() == [0]


def test_layer_without_status_is_existing():
    g = _layer(["planned"], [2030]).drop(columns=["status", "expected_year"])
    assert infrastructure_status(g).tolist() == ["existing"]
    assert len(infrastructure_as_of(g, 1990)) == 1


def test_aliases_and_unknown_status():
    s = infrastructure_status(
        pd.DataFrame(
            {"status": ["Built", "under_construction", "Approved", "concept", "PROPOSED", None]}
        )
    )
    assert s.tolist() == [
        "existing",
        "under construction",
        "planned",
        "proposed",
        "proposed",
        "existing",
    ]
    with pytest.raises(UnknownValueError, match="'dreamt'"):
        infrastructure_status(pd.DataFrame({"status": ["dreamt"]}), what="layer x")


def test_schema_has_planning_columns_and_validation_normalises():
    cols = SCHEMAS["infrastructure"].names
    assert {"status", "project_name", "developer", "expected_year", "status_source"} <= set(cols)
    g = _layer(["operational", "in construction", "planning", "idea"], [None, 2027, 2030, 2040])
    g["project_name"] = ["", "A", "B", "C"]
    g["developer"] = "Hypothetical developer"
    out = validate_layer(g, "infrastructure")
    out = out[0] if isinstance(out, tuple) else out
    assert out["status"].tolist() == ["existing", "under construction", "planned", "proposed"]
    assert out["expected_year"].dropna().astype(int).tolist() == [2027, 2030, 2040]


def test_layers_import_planning_columns_with_aliases_and_rename(tmp_path):
    from click.testing import CliRunner

    from cami_atlas.atlas import Atlas
    from cami_atlas.cli import main

    src = _layer(["Approved", "under_construction", "concept"], [2030, 2027, 2040])
    src = src.rename(columns={"expected_year": "year_online"})
    src["project"] = ["Hypothetical line A", "Hypothetical line B", "Hypothetical line C"]
    path = tmp_path / "planned.geojson"
    src.to_file(path)
    atlas = tmp_path / "a.gpkg"
    res = CliRunner().invoke(
        main,
        [
            "layers",
            "import",
            str(path),
            "--kind",
            "infrastructure",
            "--atlas",
            str(atlas),
            "--licence",
            "CC0-1.0",
            "--rename",
            "year_online=expected_year",
            "--rename",
            "project=project_name",
        ],
    )
    assert res.exit_code == 0, res.output
    got = Atlas.open(atlas).read("planned")
    assert got["status"].tolist() == ["planned", "under construction", "proposed"]
    assert got["project_name"].tolist()[0] == "Hypothetical line A"
    assert infrastructure_as_of(got, 2030)["project_name"].tolist() == [
        "Hypothetical line A",
        "Hypothetical line B",
    ]
