"""``cami-atlas connectivity`` through click's CliRunner on a small SYNTHETIC atlas file."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from shapely import LineString, Point, box

from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.connectivity.workflow import run_connectivity
from cami_atlas.raster import Grid

KW = {"source": "synthetic test data", "licence": "CC0-1.0"}
BBOX = "74,41,75,41.6"


@pytest.fixture(scope="module")
def atlas_path(tmp_path_factory):
    """SYNTHETIC atlas: flat DEM lon 74-75 / lat 41-41.6, argali range, a railway cutting
    the window north-south, a short one in a corner, a KGZ-CHN border line."""
    atlas = Atlas("synthetic", region=box(73, 40, 76, 43))
    atlas.add_layer("dem", Grid(np.full((60, 100), 1000.0), Affine(0.01, 0, 74.0, 0, -0.01, 41.6),
                                "EPSG:4326"), "raster", **KW)
    atlas.add_layer("ranges", gpd.GeoDataFrame(
        {"species": ["Ovis_ammon"]}, geometry=[box(73.9, 40.9, 75.1, 41.7)], crs="EPSG:4326"),
        "species_range", **KW)
    atlas.add_layer("railways", gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway"], "track": ["single track", "single track"]},
        geometry=[LineString([(74.5, 40.9), (74.5, 41.7)]),
                  LineString([(74.9, 41.55), (74.98, 41.55)])], crs="EPSG:4326"),
        "infrastructure", **KW)
    atlas.add_layer("borders", gpd.GeoDataFrame(
        {"iso3_left": ["KGZ"], "iso3_right": ["CHN"]},
        geometry=[LineString([(74.25, 40.9), (74.25, 41.7)])], crs="EPSG:4326"), "border", **KW)
    path = tmp_path_factory.mktemp("atlas") / "synthetic.gpkg"
    atlas.save(path)
    return path


def _run(*args: str):
    return CliRunner().invoke(main, ["connectivity", *args])


def _base(atlas_path, out) -> list[str]:
    return ["--atlas", str(atlas_path), "--species", "argali", "--bbox", BBOX,
            "--cell-size-m", "2000", "--solver", "direct", "--out", str(out)]


@pytest.fixture(scope="module")
def full_run(atlas_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("conn")
    result = _run(*_base(atlas_path, out), "--corridor-width-m", "20000", "--impact-segments",
                  "all")
    assert result.exit_code == 0, result.output
    return out, result


def test_outputs_crs_shape_and_tables(full_run, atlas_path):
    out, result = full_run
    expected = {
        "resistance.tif", "cost_distance.tif", "corridors.tif", "current.tif",
        "pinch_points.tif", "connectivity.gpkg", "connectivity_indices.csv",
        "core_importance.csv", "link_importance.csv", "barrier_impact.csv",
        "effective_resistance.csv", "corridor_pairs.csv", "connectivity_parameters.json"}
    rasters = [n.removesuffix(".tif") for n in expected if n.endswith(".tif")]
    finish = {"project.qgz", "atlas_versions.csv", *(f"{r}_quicklook.png" for r in rasters),
              *(f"{r}.qml" for r in rasters),
              *(f"connectivity_{lyr}.qml" for lyr in pyogrio.list_layers(
                  out / "connectivity.gpkg")[:, 0])}
    assert {p.name for p in out.iterdir()} == expected | finish
    assert "done: 13 files" in result.output
    lib = run_connectivity(Atlas.open(atlas_path), species="argali", bbox=BBOX,
                           cell_size_m=2000, solver="direct", modes=("cost_distance",))
    for name in ("resistance.tif", "cost_distance.tif", "corridors.tif", "current.tif",
                 "pinch_points.tif"):
        with rasterio.open(out / name) as ds:
            assert ds.crs.to_epsg() == 32643, name  # UTM 43N: the window's centre at 74.5 E
            assert (ds.height, ds.width) == lib.resistance.shape, name
            assert ds.transform.almost_equals(lib.resistance.transform), name
            assert ds.res == (2000.0, 2000.0)
    with rasterio.open(out / "resistance.tif") as ds:
        r = ds.read(1, masked=True)
    np.testing.assert_allclose(r.filled(np.nan), lib.resistance.values.astype("float32"))
    with rasterio.open(out / "cost_distance.tif") as ds:
        cd = ds.read(1, masked=True)
    np.testing.assert_allclose(cd.filled(np.nan), lib.cost_distance.values.astype("float32"))
    layers = [n for n, _ in pyogrio.list_layers(out / "connectivity.gpkg")]
    assert layers == ["cores", "least_cost_paths", "patch_graph_edges", "barrier_segments"]
    for layer in layers:
        frame = gpd.read_file(out / "connectivity.gpkg", layer=layer)
        assert frame.crs.to_epsg() == 32643, layer
    cores = gpd.read_file(out / "connectivity.gpkg", layer="cores")
    assert cores["core_id"].tolist() == ["C1", "C2"]
    idx = pd.read_csv(out / "connectivity_indices.csv").set_index("index")["value"]
    assert {"IIC", "PC", "ECA", "landscape_area_km2"} <= set(idx.index)
    impact = pd.read_csv(out / "barrier_impact.csv")
    assert impact["segment_id"].tolist() == ["railways:0", "railways:1"]
    assert impact["rank"].tolist() == [1, 2]
    assert "rank 1: railways:0 (railway, partial barrier" in result.output
    node = pd.read_csv(out / "core_importance.csv")
    assert {"core", "dPC", "dIIC", "ECA_without"} <= set(node.columns)
    params = json.loads((out / "connectivity_parameters.json").read_text())
    assert params["species"] == "Ovis_ammon" and params["crs"] == "EPSG:32643"
    assert params["borders_as_barriers"] is None


def test_refuses_to_overwrite(full_run, atlas_path):
    out, _ = full_run
    before = (out / "resistance.tif").read_bytes()
    result = _run(*_base(atlas_path, out), "--modes", "cost_distance")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "already holds" in result.output
    assert "--overwrite" in result.output and len(result.output.strip().splitlines()) == 1
    assert (out / "resistance.tif").read_bytes() == before


def test_overwrite_and_modes(atlas_path, tmp_path, own_outputs):
    out = tmp_path / "o"
    assert _run(*_base(atlas_path, out), "--modes", "cost_distance").exit_code == 0
    assert set(own_outputs(out)) == {
        "resistance.tif", "cost_distance.tif", "connectivity.gpkg",
        "connectivity_parameters.json"}
    result = _run(*_base(atlas_path, out), "--modes", "cost_distance,corridors", "--overwrite")
    assert result.exit_code == 0, result.output
    assert (out / "corridors.tif").exists() and (out / "corridor_pairs.csv").exists()


def test_impact_segments_default_is_corridors(atlas_path, tmp_path):
    out = tmp_path / "o"
    result = _run(*_base(atlas_path, out), "--corridor-width-m", "5000",
                  "--modes", "corridors,impact")
    assert result.exit_code == 0, result.output
    impact = pd.read_csv(out / "barrier_impact.csv").set_index("segment_id")
    assert impact["impact_evaluated"].to_dict() == {"railways:0": True, "railways:1": False}
    assert "note: Barrier impact computed for 1 of 2 segments" in result.output
    # without the corridors mode every segment is evaluated
    out2 = tmp_path / "o2"
    result = _run(*_base(atlas_path, out2), "--modes", "impact")
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out2 / "barrier_impact.csv")["impact_evaluated"].all()


def test_cores_file_borders_and_barrier_table(atlas_path, tmp_path):
    cores = gpd.GeoDataFrame({"name": ["west", "east"]},
                             geometry=[Point(74.1, 41.3), Point(74.9, 41.3)], crs="EPSG:4326")
    cores_path = tmp_path / "cores.geojson"
    cores.to_file(cores_path)
    table = tmp_path / "table.csv"
    table.write_text("barrier_class,resistance\nnot a barrier,1\npartial barrier,100\n"
                     "unknown,100\ncomplete barrier,inf\n")
    out = tmp_path / "o"
    result = _run(*_base(atlas_path, out), "--cores", str(cores_path), "--cores-id-column",
                  "name", "--borders-as-barriers", "partial barrier", "--border-pairs",
                  "CHN-KGZ", "--barrier-table", str(table), "--modes", "current,impact")
    assert result.exit_code == 0, result.output
    assert "note: International borders (CHN-KGZ) burned in as 'partial barrier'" in \
        result.output
    with rasterio.open(out / "resistance.tif") as ds:
        r = ds.read(1, masked=True).compressed()
    assert r.max() == pytest.approx(100.0) and r.min() == pytest.approx(1.0)
    segs = gpd.read_file(out / "connectivity.gpkg", layer="barrier_segments")
    assert set(segs["segment_id"]) == {"railways:0", "railways:1", "borders:CHN-KGZ:0"}
    cores_out = gpd.read_file(out / "connectivity.gpkg", layer="cores")
    assert cores_out["core_id"].tolist() == ["west", "east"]
    er = pd.read_csv(out / "effective_resistance.csv", index_col=0)
    assert list(er.index) == ["west", "east"] and np.isfinite(er.loc["west", "east"])


@pytest.mark.parametrize(("args", "message"), [
    (["--species", "unicorn"], "Error: species 'unicorn' is neither a species with a range in "
                               "the atlas nor one of the barrier matrix. Species with ranges in "
                               "the atlas: Ovis_ammon."),
    (["--bbox", "10,10,20,20"], "Error: bbox (10.0, 10.0, 20.0, 20.0) lies outside the DEM "
                                "'dem', which covers lon 74.0000..75.0000"),
    (["--bbox", "74,41"], "Error: bbox must be four numbers"),
    (["--neighbours", "5"], "Error: neighbours=5 is not valid; use one of: 4, 8."),
    (["--solver", "cg"],
         "Error: solver='cg' is not valid; use one of: 'amg', 'direct', 'mixed'."),
    (["--modes", "flow"], "Error: modes='flow' is not valid"),
    (["--borders-as-barriers", "fenced"], "Error: borders_as_barriers='fenced' is not valid"),
    (["--infrastructure", "pipelines"], "Error: the atlas has no layer 'pipelines'"),
    (["--barrier-table", "missing.csv"], "Error: could not read the barrier table missing.csv"),
])
def test_one_line_errors(atlas_path, tmp_path, args, message):
    base = _base(atlas_path, tmp_path / "o")
    # later options win in click: the case's options replace the defaults
    result = _run(*base, *args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(message), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not any((tmp_path / "o").glob("*.tif"))


def test_unknown_species_lists_matrix_species(atlas_path, tmp_path):
    result = _run(*_base(atlas_path, tmp_path / "o"), "--species", "wombat")
    assert result.exit_code == 1
    assert "Species of the barrier matrix: Acinonyx_jubatus_venaticus" in result.output
    assert "Panthera_uncia" in result.output and "Saiga_spp" in result.output


def test_help_lists_the_options():
    result = CliRunner().invoke(main, ["connectivity", "--help"])
    assert result.exit_code == 0
    for opt in ("--bbox", "--cell-size-m", "--cores", "--neighbours", "--solver",
                "--borders-as-barriers", "--border-pairs", "--corridor-width-m", "--overwrite"):
        assert opt in result.output
    assert "connectivity" in CliRunner().invoke(main, ["--help"]).output
