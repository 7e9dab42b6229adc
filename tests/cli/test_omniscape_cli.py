"""``cami-atlas connectivity omniscape``: wall-to-wall Omniscape maps from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from affine import Affine
from click.testing import CliRunner

from cami_atlas import cli
from cami_atlas.connectivity.omniscape import omniscape
from cami_atlas.raster import Grid


@pytest.fixture
def run():

    def invoke(*args: str):
        return CliRunner().invoke(cli.main, ["connectivity", "omniscape", *args])

    return invoke


def _tif(path, values):
    Grid(np.asarray(values, float), Affine(1000, 0, 500_000, 0, -1000, 4_500_000),
         "EPSG:32643").to_geotiff(path, dtype="float64")
    return path


def test_resistance_file(run, tmp_path):
    rng = np.random.default_rng(3)
    res = 1 + 9 * rng.random((30, 26))
    path = _tif(tmp_path / "r.tif", res)
    r = run("--resistance", str(path), "--radius-km", "4", "--r-cutoff", "6",
            "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    want = omniscape(Grid.from_geotiff(path), radius=4, r_cutoff=6)
    got = Grid.from_geotiff(tmp_path / "o" / "cumulative_current.tif").values
    np.testing.assert_allclose(got, want.cumulative_current.values, rtol=1e-12)
    settings = json.loads((tmp_path / "o" / "omniscape_settings.json").read_text())
    assert settings["radius_cells"] == 4 and settings["r_cutoff"] == 6.0
    assert (tmp_path / "o" / "omniscape_quicklook.png").stat().st_size > 10_000
    again = run("--resistance", str(path), "--radius-km", "4", "--out", str(tmp_path / "o"))
    assert again.exit_code == 1 and "already holds" in again.output
    tiled = run("--resistance", str(path), "--radius-cells", "4", "--r-cutoff", "6",
                "--tile-size", "10", "--out", str(tmp_path / "t"))
    assert tiled.exit_code == 0, tiled.output
    np.testing.assert_allclose(Grid.from_geotiff(tmp_path / "t" / "cumulative_current.tif")
                               .values, want.cumulative_current.values, rtol=1e-9)


def test_species_from_the_default_atlas(run, tmp_path):
    r = run("--species", "khulan", "--cell-size-m", "20000", "--out", str(tmp_path / "k"))
    assert r.exit_code == 0, r.output
    settings = json.loads((tmp_path / "k" / "omniscape_settings.json").read_text())
    assert settings["extra"]["species"] == "Equus_hemionus"
    assert settings["extra"]["radius_km"] == 97.7  # the cited movement scale
    assert settings["radius_cells"] == 5  # 97.7 km / 20 km, rounded
    cum = Grid.from_geotiff(tmp_path / "k" / "cumulative_current.tif")
    assert cum.crs.to_string() == "ESRI:102025" and np.nanmax(cum.values) > 0  # region-wide
    for name in ("resistance.tif", "sources.tif", "omniscape_quicklook.png"):
        assert (tmp_path / "k" / name).exists()


def test_the_saiga_radius_is_read_from_its_cited_migration_distance(run, tmp_path):
    """The issue's own command: no radius given, the saiga's comes from the table: half of
    'several hundred kilometres' between seasonal areas, read as >= 200 km (CMS 2024)."""
    from cami_atlas.connectivity.omniscape.species import movement_scale_table

    row = movement_scale_table().set_index("species").loc["Saiga_tatarica"]
    assert row["movement_km"] == 200 / 2 and row["published_value"] == "several hundred km"
    assert "Saiga Antelope Migration" in row["source"]
    r = run("--species", "Saiga tatarica", "--cell-size-m", "50000", "--out", str(tmp_path / "s"))
    assert r.exit_code == 0, r.output
    settings = json.loads((tmp_path / "s" / "omniscape_settings.json").read_text())
    assert settings["extra"]["radius_km"] == 100.0 and settings["radius_cells"] == 2


def test_errors_are_one_line(run, tmp_path):
    r = run("--species", "Gazella subgutturosa", "--cell-size-m", "20000",
            "--out", str(tmp_path / "s"))
    assert r.exit_code == 1
    assert "no published value for Gazella_subgutturosa" in r.output and "--radius-km" in r.output
    assert not (tmp_path / "s").exists()
    path = _tif(tmp_path / "r.tif", np.ones((20, 20)))
    r = run("--resistance", str(path), "--out", str(tmp_path / "x"))
    assert r.exit_code == 1 and "give the window radius" in r.output
    r = run("--resistance", str(path), "--radius-cells", "5", "--tile-size", "3",
            "--out", str(tmp_path / "x"))
    assert r.exit_code == 1 and "smaller than the halo" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_unreachable_scheduler_is_one_line(run, tmp_path):
    import socket

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = _tif(tmp_path / "r.tif", np.ones((20, 20)))
    r = run("--resistance", str(path), "--radius-cells", "3", "--scheduler",
            f"tcp://127.0.0.1:{port}", "--out", str(tmp_path / "o"))
    assert r.exit_code == 1
    assert "no Dask scheduler answers" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
