"""The ordinary commands take a PostGIS atlas address for --atlas (real PostgreSQL/PostGIS)."""

from __future__ import annotations

import geopandas as gpd
from click.testing import CliRunner
from shapely import LineString

from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.measure import geodesic_length_km


def test_layers_import_and_list_on_postgis(postgis_url, tmp_path):
    rail = gpd.GeoDataFrame({"infra_type": ["railway"]},
                            geometry=[LineString([(70, 45), (71, 45)])], crs="EPSG:4326")
    src = tmp_path / "rail.geojson"
    rail.to_file(src, driver="GeoJSON")
    runner = CliRunner()
    res = runner.invoke(main, ["layers", "import", str(src), "--kind", "infrastructure",
                               "--atlas", postgis_url, "--name", "rail", "--licence", "CC0-1.0"])
    assert res.exit_code == 0, res.output
    assert "imported 'rail' (infrastructure, 1 features" in res.output
    listed = runner.invoke(main, ["layers", "list", "--atlas", postgis_url, "--format", "csv"])
    assert listed.exit_code == 0, listed.output
    assert "rail,infrastructure" in listed.output
    back = Atlas.open(postgis_url).read("rail")
    # one degree of longitude at 45° N, geodesic: independent of the store
    assert geodesic_length_km(back).iloc[0] == geodesic_length_km(rail).iloc[0]


def test_a_folder_is_not_an_atlas(tmp_path):
    res = CliRunner().invoke(main, ["layers", "list", "--atlas", str(tmp_path)])
    assert res.exit_code == 2
    assert "is a folder; give the atlas GeoPackage file" in res.output
