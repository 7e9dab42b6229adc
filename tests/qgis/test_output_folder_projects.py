"""Every command's output folder has a QGIS project that opens, valid and styled, in real
QGIS (Debian ``python3-qgis``, offscreen), and a quick-look beside every raster.

The commands run on the embedded default atlas (small settings); each folder is moved
before QGIS opens it (the paths are relative). Renders are kept in the test's temporary
folder and copied to ``$CAMI_TEST_ARTEFACTS`` when that is set.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import geopandas as gpd
import pytest
from click.testing import CliRunner
from shapely import LineString

from cami_atlas.cli import main
from cami_atlas.maps.layers import BARRIER_COLORS


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("folders")
    route = tmp / "route.geojson"
    gpd.GeoDataFrame({"name": ["hypothetical"]},
                     geometry=[LineString([(66.9, 47.8), (67.4, 48.3)])],
                     crs="EPSG:4326").to_file(route)
    jobs = {
        "barriers": ["barriers", "--species", "saiga"],
        "connectivity": ["connectivity", "--species", "argali", "--cell-size-m", "25000",
                         "--n-cores", "3"],
        "screening": ["screen-route", str(route), "--type", "railway", "--buffers-km", "5",
                      "--cell-size-m", "10000", "--no-basemap"],
    }
    out = {}
    for name, args in jobs.items():
        folder = tmp / name
        result = CliRunner().invoke(main, [*args, "--out", str(folder)])
        assert result.exit_code == 0, result.output
        out[name] = folder
    return out


def test_every_folder_has_a_project_and_quicklooks(folders: dict[str, Path]) -> None:
    for name, folder in folders.items():
        qgz = folder / "project.qgz"
        assert qgz.is_file(), name
        with zipfile.ZipFile(qgz) as zf:
            root = ET.fromstring(zf.read("project.qgs"))
        sources = [e.text for e in root.iter("datasource")]
        assert sources and all(s.startswith("./") for s in sources), (name, sources)
        for tif in folder.rglob("*.tif"):
            assert tif.with_name(tif.stem + "_quicklook.png").is_file(), tif
            assert tif.with_suffix(".qml").is_file(), tif
    assert len(list(folders["connectivity"].glob("*_quicklook.png"))) >= 3


@pytest.mark.slow
def test_projects_open_valid_and_render_in_qgis(folders: dict[str, Path], tmp_path: Path,
                                                qgis_report) -> None:
    for name, folder in folders.items():
        moved = tmp_path / "moved" / name
        shutil.copytree(folder, moved)
        pngs = tmp_path / "png" / name
        pngs.mkdir(parents=True)
        report = qgis_report(moved / "project.qgz", pngs, sorted(moved.glob("*.qml")))
        if os.environ.get("CAMI_TEST_ARTEFACTS"):
            shutil.copytree(pngs, Path(os.environ["CAMI_TEST_ARTEFACTS"]) / f"qgis_{name}",
                            dirs_exist_ok=True)
        assert report["read"] and report["absolute"] is False, name
        assert report["layers"] and all(lyr["valid"] for lyr in report["layers"]), report
        assert all(str(moved) in lyr["source"] for lyr in report["layers"])
        assert report["map"]["nonwhite"] > 0 and not report["map"]["errors"], report["map"]
        assert all(v == "ok" for v in report["qml"].values()), report["qml"]
        by_name = {lyr["name"]: lyr for lyr in report["layers"]}
        if name == "barriers":  # per-species barrier classes in the map colours
            saiga = next(v for k, v in by_name.items() if k.endswith("Saiga tatarica barrier "
                                                                       "class"))
            got = dict(map(tuple, saiga["categories"]))
            assert all(got[c] == color for c, color in BARRIER_COLORS.items())
        rasters = [lyr for lyr in report["layers"] if lyr["type"] == "raster"]
        if name == "connectivity":
            assert {r["name"] for r in rasters} >= {"current", "resistance", "cost_distance"}
            assert all(r["renderer"] == "singlebandpseudocolor" for r in rasters)
