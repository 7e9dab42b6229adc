"""`cami-atlas scenarios` end to end on the default atlas with hypothetical lines."""

import json

import pandas as pd
from click.testing import CliRunner

from cami_atlas.cli import main


def _route(path, name, coords):
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {
                            "name": name,
                            "infra_type": "fence",
                            "fence_type": "woven barbed wire",
                        },
                        "geometry": {"type": "LineString", "coordinates": coords},
                    }
                ],
            }
        )
    )
    return str(path)


def test_cli_scenarios_writes_table_report_map(tmp_path):
    a = _route(tmp_path / "a.geojson", "Hypothetical line A", [[104.0, 42.0], [106.0, 46.0]])
    b = _route(tmp_path / "b.geojson", "Hypothetical line B", [[102.0, 44.5], [108.0, 44.0]])
    out = tmp_path / "out"
    args = [
        "scenarios",
        "--scenario",
        f"AB={a},{b}",
        "--scenario",
        "none=",
        "--species",
        "Equus_hemionus",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "scenario_impact.csv")
    assert set(t["scenario"]) == {"AB", "none"}
    assert (t.loc[t["scenario"] == "none", ["change", "interaction"]] == 0).all().all()
    m = t[(t["scenario"] == "AB") & (t["metric"] == "m_eff_km2")].iloc[0]
    assert m["change"] < 0  # two fences across the khulan range cut it
    assert "Scenario AB" in (out / "scenarios.html").read_text()
    assert (out / "scenarios_map.html").exists()
    again = CliRunner().invoke(main, args)  # no overwrite without --overwrite
    assert again.exit_code != 0


def test_cli_scenarios_unknown_project(tmp_path):
    res = CliRunner().invoke(
        main, ["scenarios", "--scenario", "X=@No such line", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code != 0
    assert "unknown project 'No such line'" in res.output


def test_cli_scenarios_omniscape_current(tmp_path):
    a = _route(tmp_path / "a.geojson", "Hypothetical line A", [[104.0, 42.0], [106.0, 46.0]])
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "scenarios", "--scenario", f"A={a}", "--scenario", "none=", "--species",
        "Equus_hemionus", "--omniscape-radius-km", "100", "--cell-size-km", "25",
        "--out", str(out)])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(out / "scenario_impact.csv")
    omni = t[t["metric"] == "omniscape_current"].set_index("scenario")
    assert omni.loc["none", "change"] == 0
    assert omni.loc["A", "change"] < 0  # a woven fence across the khulan range
    assert omni.loc["A", "existing"] > 0
