"""QGIS projects: the XML written, its errors, and the project opened in real QGIS.

The QGIS test runs ``qgis_check.py`` with the Python that has PyQGIS (Debian
``python3-qgis``; ``CAMI_QGIS_PYTHON`` overrides ``/usr/bin/python3``) on the offscreen
Qt platform, after moving the output folder (relative paths). It checks that every layer
is valid and styled as written and renders the map and each layer to PNG (kept in the
test's temporary folder, and copied to ``$CAMI_TEST_ARTEFACTS`` when that is set).
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from affine import Affine
from shapely import LineString, Point, box

from cami_atlas.errors import (
    LayerNotFoundError,
    LayerReadError,
    MissingColumnError,
    OptionError,
    OutputExistsError,
    SchemaError,
)
from cami_atlas.maps.layers import BARRIER_COLORS, INFRA_STYLES
from cami_atlas.qgis import LayerSpec, write_qgis_project
from cami_atlas.raster import Grid

HERE = Path(__file__).resolve().parent


@pytest.fixture
def out_dir(tmp_path) -> Path:
    """An output folder with one layer of every style, in three CRSs."""
    out = tmp_path / "run"
    out.mkdir()
    lines = [LineString([(60 + i, 44), (61 + i, 46)]) for i in range(5)]
    infra = gpd.GeoDataFrame(
        {"infra_type": ["road", "railway", "fence", "pipeline", "power_line"],
         "class_Saiga_tatarica": ["complete barrier", "partial barrier", "not a barrier",
                                  "unknown", "complete barrier"]},
        geometry=lines, crs="EPSG:4326")
    infra.to_file(out / "classified_segments.gpkg", layer="segments")
    infra.iloc[:2].to_file(out / "classified_segments.gpkg", layer="planned")
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                              geometry=[box(59, 43, 66, 47)], crs="EPSG:4326")
    ranges.to_file(out / "ranges.geojson")
    corridors = gpd.GeoDataFrame({"use_class": ["high", "low"]},
                                 geometry=[box(61, 44, 62, 45), box(63, 45, 64, 46)],
                                 crs="EPSG:4326").to_crs("ESRI:102025")
    corridors.to_file(out / "corridors.fgb")
    cells = gpd.GeoDataFrame(
        {"score": [0.0, 0.1, 0.25, 0.5, 0.75, 1.0]},
        geometry=[box(60 + i, 43, 61 + i, 44) for i in range(6)],
        crs="EPSG:4326").to_crs("ESRI:102025")
    cells.to_file(out / "hotspot_cells.gpkg", layer="hotspot_cells")
    pts = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(60.5, 45), Point(62, 46)],
                           crs="EPSG:4326")
    pts.to_file(out / "crossings.gpkg", layer="crossings")
    values = np.linspace(1, 50, 40 * 30).reshape(30, 40)
    values[0, 0] = np.nan
    values[5, 5] = np.inf
    Grid(values, Affine(5000, 0, 300_000, 0, -5000, 5_100_000), "EPSG:32641",
         name="resistance").to_geotiff(out / "resistance.tif")
    return out


def _specs() -> list[LayerSpec]:
    return [
        LayerSpec("crossings.gpkg", "Crossings", "single", color="#e6550d"),
        LayerSpec("classified_segments.gpkg", "Barrier class: Saiga tatarica", "barrier_class",
                  layer="segments", column="class_Saiga_tatarica"),
        LayerSpec("classified_segments.gpkg", "Infrastructure", "infrastructure",
                  layer="segments"),
        LayerSpec("corridors.fgb", "Corridors", "corridor"),
        LayerSpec("ranges.geojson", "Range: Saiga tatarica", "range"),
        LayerSpec("hotspot_cells.gpkg", "Hotspot score", "graduated", classes=3),
        LayerSpec("resistance.tif", "Resistance", "raster", visible=False),
    ]


def test_project_xml_relative_paths_and_styles(out_dir):
    qgz = write_qgis_project(out_dir, _specs(), name="run", title="Run outputs")
    assert qgz == out_dir / "run.qgz"
    zf = zipfile.ZipFile(qgz)
    assert zf.namelist() == ["run.qgs"]
    root = ET.fromstring(zf.read("run.qgs").decode("utf-8").split("\n", 1)[1])
    assert root.find("properties/Paths/Absolute").text == "false"
    sources = [e.text for e in root.iter("datasource")]
    assert sources == ["./crossings.gpkg|layername=crossings",
                       "./classified_segments.gpkg|layername=segments",
                       "./classified_segments.gpkg|layername=segments",
                       "./corridors.fgb|layername=corridors",
                       "./ranges.geojson|layername=ranges",
                       "./hotspot_cells.gpkg|layername=hotspot_cells",
                       "./resistance.tif"]
    assert str(out_dir) not in zf.read("run.qgs").decode("utf-8")
    checked = [e.get("checked") for e in root.iter("layer-tree-layer")]
    assert checked == ["Qt::Checked"] * 6 + ["Qt::Unchecked"]
    # one .qml beside each layer; the first style of a file has QGIS' default name
    qmls = sorted(p.name for p in out_dir.glob("*.qml"))
    assert qmls == ["classified_segments_segments.qml",
                    "classified_segments_segments_Infrastructure.qml", "corridors.qml", "crossings.qml", "hotspot_cells.qml", "ranges.qml",
                    "resistance.qml"]
    qml = ET.fromstring((out_dir / "classified_segments_segments.qml").read_text()
                        .split("\n", 1)[1])
    cats = {c.get("value"): c.get("symbol") for c in qml.iter("category")}
    assert set(cats) == {"complete barrier", "partial barrier", "not a barrier", "unknown", ""}


def test_bad_specs(out_dir):
    with pytest.raises(OptionError, match="style='heatmap' is not valid"):
        write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "heatmap")])
    with pytest.raises(LayerReadError, match=r"file .*nope\.gpkg does not exist"):
        write_qgis_project(out_dir, [LayerSpec("nope.gpkg", "R", "range")])
    with pytest.raises(MissingColumnError, match=r"no column 'score'.*columns: species"):
        write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "graduated")])
    with pytest.raises(MissingColumnError, match="style='barrier_class' needs column="):
        write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "barrier_class")])
    with pytest.raises(SchemaError, match="column 'species' is not numeric"):
        write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "graduated",
                                               column="species")])
    with pytest.raises(SchemaError, match=r"holds 2 layers \(segments, planned\)"):
        write_qgis_project(out_dir, [LayerSpec("classified_segments.gpkg", "I",
                                               "infrastructure")])
    with pytest.raises(LayerNotFoundError, match="no layer 'roads'; it has segments, planned"):
        write_qgis_project(out_dir, [LayerSpec("classified_segments.gpkg", "I",
                                               "infrastructure", layer="roads")])
    with pytest.raises(SchemaError, match="unique in a project; repeated: \\['R'\\]"):
        write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "range")] * 2)
    with pytest.raises(OptionError, match="cmap='nocmap' is not a matplotlib colormap"):
        write_qgis_project(out_dir, [LayerSpec("resistance.tif", "R", "raster",
                                               cmap="nocmap")])
    assert not list(out_dir.glob("*.q*"))  # nothing written by a failed call
    write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "range")])
    with pytest.raises(OutputExistsError, match="exists already"):
        write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "range")])
    write_qgis_project(out_dir, [LayerSpec("ranges.geojson", "R", "range")], overwrite=True)


@pytest.mark.slow
def test_project_opens_valid_and_renders_in_qgis(out_dir, tmp_path, qgis_report):
    write_qgis_project(out_dir, _specs(), name="run")
    moved = tmp_path / "elsewhere" / "run_copy"  # relative paths: the folder can move
    shutil.copytree(out_dir, moved)
    shutil.rmtree(out_dir)
    pngs = tmp_path / "png"
    pngs.mkdir()
    report = qgis_report(moved / "run.qgz", pngs, sorted(moved.glob("*.qml")))
    if os.environ.get("CAMI_TEST_ARTEFACTS"):
        shutil.copytree(pngs, Path(os.environ["CAMI_TEST_ARTEFACTS"]) / "qgis_project",
                        dirs_exist_ok=True)

    assert report["read"] and report["absolute"] is False and report["crs"] == "EPSG:4326"
    layers = {lyr["name"]: lyr for lyr in report["layers"]}
    assert list(layers) == [s.name for s in _specs()]
    assert all(lyr["valid"] for lyr in layers.values()), layers
    assert all(str(moved) in lyr["source"] for lyr in layers.values())
    infra = layers["Infrastructure"]
    assert infra["renderer"] == "categorizedSymbol" and infra["attr"] == "infra_type"
    got = dict(map(tuple, infra["categories"]))
    for t in ("road", "railway", "fence", "pipeline", "power_line"):
        assert got[t] == INFRA_STYLES[t]["color"]
    barrier = layers["Barrier class: Saiga tatarica"]
    got = dict(map(tuple, barrier["categories"]))
    for cls, color in BARRIER_COLORS.items():
        assert got[cls] == color
    assert layers["Corridors"]["crs"] == "ESRI:102025"
    assert dict(map(tuple, layers["Corridors"]["categories"]))["high"] == "#08519c"
    assert layers["Range: Saiga tatarica"]["renderer"] == "singleSymbol"
    assert layers["Crossings"]["color"] == "#e6550d"
    ranges = layers["Hotspot score"]["ranges"]
    # three quantile classes of [0, .1, .25, .5, .75, 1]: numpy's quantiles by hand
    # (linear interpolation at positions 5/3 and 10/3: 0.1 + 2/3 * 0.15, 0.5 + 1/3 * 0.25)
    bounds = [v for r in ranges for v in r[:2]]
    assert bounds == pytest.approx([0.0, 0.2, 0.2, 0.583333, 0.583333, 1.0], abs=1e-5)
    assert ranges[0][2] != ranges[-1][2]
    raster = layers["Resistance"]
    assert raster["renderer"] == "singlebandpseudocolor"
    # stretched over the finite cells: cell (0, 0) = 1 is NaN, so the minimum is the next
    # value of linspace(1, 50, 1200), 1 + 49 / 1199; the inf cell does not count
    assert raster["items"][0][0] == pytest.approx(1 + 49 / 1199, abs=1e-5)
    assert raster["items"][-1][0] == pytest.approx(50.0)
    assert raster["items"][0][1] == "#440154"  # viridis at 0
    assert all(v == "ok" for v in report["qml"].values()), report["qml"]
    assert len(report["qml"]) == 7
    assert not report["map"]["errors"] and report["map"]["nonwhite"] > 1000
    for name, r in report["per_layer"].items():
        assert r["nonwhite"] > 50, (name, r)
        assert Path(r["png"]).stat().st_size > 1000


@pytest.mark.slow
def test_default_atlas_layers_open_in_qgis(tmp_path, qgis_report):
    """The real default atlas (one GeoPackage, many layers) as a styled project."""
    out = tmp_path / "atlas"
    out.mkdir()
    shutil.copy(HERE.parents[1] / "data/layers/cami_default_atlas.gpkg", out / "atlas.gpkg")
    specs = [LayerSpec("atlas.gpkg", "Places", "single", layer="places", color="#333333",
                       visible=False),
             LayerSpec("atlas.gpkg", "Railways", "infrastructure", layer="railways"),
             LayerSpec("atlas.gpkg", "Roads", "infrastructure", layer="roads"),
             LayerSpec("atlas.gpkg", "Species ranges", "range", layer="species_ranges"),
             LayerSpec("atlas.gpkg", "Countries", "single", layer="countries",
                       color="#f0f0f0")]
    write_qgis_project(out, specs, name="atlas", crs="ESRI:102025")
    assert sorted(p.name for p in out.glob("*.qml")) == [
        "atlas_countries.qml", "atlas_places.qml", "atlas_railways.qml", "atlas_roads.qml",
        "atlas_species_ranges.qml"]
    report = qgis_report(out / "atlas.qgz", tmp_path)
    if os.environ.get("CAMI_TEST_ARTEFACTS"):
        shutil.copytree(tmp_path, Path(os.environ["CAMI_TEST_ARTEFACTS"]) / "qgis_atlas",
                        ignore=shutil.ignore_patterns("*.gpkg", "*.qgz", "*.qml"),
                        dirs_exist_ok=True)
    assert report["read"] and report["crs"] == "ESRI:102025"
    layers = {lyr["name"]: lyr for lyr in report["layers"]}
    assert all(lyr["valid"] for lyr in layers.values()), layers
    for spec in specs:  # every feature of the source layer is there
        n = pyogrio.read_info(out / "atlas.gpkg", layer=spec.layer)["features"]
        assert layers[spec.name]["features"] == n
    rail = dict(map(tuple, layers["Railways"]["categories"]))
    assert rail["railway"] == INFRA_STYLES["railway"]["color"]
    assert dict(map(tuple, layers["Roads"]["categories"]))["road"] == \
        INFRA_STYLES["road"]["color"]
    assert not report["map"]["errors"] and report["map"]["nonwhite"] > 5000
    assert all(r["nonwhite"] > 50 for r in report["per_layer"].values()), report["per_layer"]
