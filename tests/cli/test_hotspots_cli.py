"""``cami-atlas hotspots`` and ``cami-atlas map`` through click's CliRunner."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.maps import external_references

pytestmark = pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected")

OUTPUTS = ["hotspot_cells.csv", "hotspot_cells.gpkg", "hotspot_map.html",
           "hotspot_report.html", "hotspot_segments.csv", "mitigation_proposals.csv"]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("hotspots") / "out"
    result = CliRunner().invoke(main, [
        "hotspots", "--species", "saiga", "--cell-size-m", "200000", "--permutations", "99",
        "--top", "5", "--out", str(out), "--no-basemap"])
    return out, result


def test_hotspots_command_writes_outputs(first_run, own_outputs):
    out, result = first_run
    assert result.exit_code == 0, result.output
    assert own_outputs(out) == OUTPUTS
    assert (out / "project.qgz").is_file() and (out / "hotspot_cells_cells.qml").is_file()
    cells = pd.read_csv(out / "hotspot_cells.csv")
    n_hot = int(cells["gi_class"].str.startswith("hot").sum())
    assert f"{len(cells):,} cells of 200 km, {n_hot:,} hot-spot cells, 1 species" in result.output
    # 200 km hexagons: 40,000 km² each (area_km2 measured in ESRI:102025)
    assert cells["area_km2"].median() == pytest.approx(40_000, rel=1e-6)
    assert set(cells["species"].str.split("; ").explode()) <= {"Saiga_tatarica", ""}
    assert len(pd.read_csv(out / "hotspot_segments.csv")) == 5
    map_html = (out / "hotspot_map.html").read_text(encoding="utf-8")
    assert external_references(map_html) == []
    assert "tile.openstreetmap" not in map_html  # --no-basemap: no basemap
    report = (out / "hotspot_report.html").read_text(encoding="utf-8")
    assert 'id="species-saiga-tatarica"' in report and 'href="hotspot_map.html"' in report
    # the command line in the reproducibility block (options that differ from the default)
    assert ("cami-atlas hotspots --species saiga --cell-size-m 200000.0 --permutations 99 "
            f"--top 5 --no-basemap --out {out}</td>") in report
    # measures of the mitigation catalogue for the top segments (railways and roads across
    # the saiga range, barriers there), in hierarchy order: road measures (overpass) and
    # the saiga railway-fence openings, by hand from the shipped catalogue
    assert "Measures from the mitigation catalogue" in report
    seg = pd.read_csv(out / "hotspot_segments.csv")
    assert set(seg["infra_type"]) == {"road", "railway"}
    for measure in ("avoid_realign", "mitigate_overpass", "mitigate_railway_fence_openings_kz",
                    "offset_residual_loss"):
        assert measure in report, measure
    assert "minimise_speed_limit" not in report  # found ineffective: never proposed
    assert report.index("avoid_realign") < report.index("offset_residual_loss")
    # the same measures per segment and species beside the report, in hierarchy order
    proposals = pd.read_csv(out / "mitigation_proposals.csv")
    assert set(proposals["segment_id"].astype(str)) <= set(seg["segment_id"].astype(str))
    assert {"avoid_realign", "mitigate_overpass", "mitigate_railway_fence_openings_kz",
            "offset_residual_loss"} <= set(proposals["measure_id"])
    assert "minimise_speed_limit" not in set(proposals["measure_id"])
    order = {"avoid": 0, "minimise": 1, "mitigate": 2, "offset": 3}
    for _, rows in proposals.groupby(["segment_id", "species"], sort=False):
        steps = rows["hierarchy_step"].map(order).tolist()
        assert steps == sorted(steps)


def test_hotspots_refuses_then_overwrites_with_pdf(first_run):
    out, _ = first_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = CliRunner().invoke(main, ["hotspots", "--species", "saiga", "--cell-size-m", "200000",
                                      "--out", str(out)])
    assert again.exit_code == 1
    assert again.output.strip() == (
        f"Error: {out} already holds {', '.join(sorted(OUTPUTS, key=_order))}; pass "
        "--overwrite to replace them or choose another --out folder.")
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    try:
        import weasyprint

        weasyprint.HTML(string="<p>x</p>").write_pdf()
    except Exception:
        pytest.skip("WeasyPrint or its Pango libraries are missing")
    third = CliRunner().invoke(main, [
        "hotspots", "--species", "Saiga_tatarica", "--cell-size-m", "200000", "--permutations", "9",
        "--out", str(out), "--overwrite", "--pdf", "--no-basemap"])
    assert third.exit_code == 0, third.output
    pdf = (out / "hotspot_report.pdf").read_bytes()
    text = pdf + b"".join(_inflate(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream",
                                                           pdf, re.S))
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", text)) >= 3
    assert (out / "hotspot_report.html").stat().st_mtime_ns > before["hotspot_report.html"]


def _order(name: str) -> int:
    from cami_atlas.report.hotspots import OUTPUTS as ORDER

    return ORDER.index(name)


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""


def test_hotspots_errors(tmp_path: Path):
    runner = CliRunner()
    bad = runner.invoke(main, ["hotspots", "--species", "unicorn", "--out", str(tmp_path / "a")])
    assert bad.exit_code == 1
    assert bad.output.startswith("Error: species 'unicorn' has no range in the atlas")
    weights = runner.invoke(main, ["hotspots", "--weights", str(tmp_path / "w.csv"),
                                   "--out", str(tmp_path / "b")])
    assert weights.exit_code == 1 and "--weights" in weights.output and "does not exist" in \
        weights.output
    zero = runner.invoke(main, ["hotspots", "--cell-size-m", "0", "--out", str(tmp_path / "c")])
    assert zero.exit_code == 2 and "--cell-size-m" in zero.output
    missing = runner.invoke(main, ["hotspots", "--atlas", str(tmp_path / "none.gpkg"),
                                   "--out", str(tmp_path / "d")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


# -- map ---------------------------------------------------------------------------------------
def _layer_count(output: str) -> int:
    return int(re.search(r"\((\d+) layers\)", output).group(1))


def test_map_command_layers(tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "saiga.html"
    res = runner.invoke(main, ["map", "--layers", "countries,railways", "--layers",
                               "species_ranges", "--species", "saiga", "--out", str(out),
                               "--no-basemap"])
    assert res.exit_code == 0, res.output
    assert _layer_count(res.output) == 3  # countries, railways, the saiga range
    html = out.read_text(encoding="utf-8")
    assert external_references(html) == [] and "Range: Saiga tatarica" in html
    # without a species: one range layer per species of the atlas (15)
    out2 = tmp_path / "all.html"
    res2 = runner.invoke(main, ["map", "--layers", "borders,species_ranges,dem",
                                "--out", str(out2), "--no-basemap"])
    assert res2.exit_code == 0, res2.output
    n_species = Atlas.default().read("species_ranges")["species"].nunique()
    assert _layer_count(res2.output) == 1 + n_species + 1


def test_map_command_refusal_and_errors(tmp_path: Path):
    runner = CliRunner()
    out = tmp_path / "m.html"
    first = runner.invoke(main, ["map", "--layers", "borders", "--out", str(out), "--no-basemap"])
    assert first.exit_code == 0, first.output
    before = out.stat().st_mtime_ns
    again = runner.invoke(main, ["map", "--layers", "borders", "--out", str(out)])
    assert again.exit_code == 1 and "exists already" in again.output
    assert out.stat().st_mtime_ns == before
    over = runner.invoke(main, ["map", "--layers", "borders,roads", "--out", str(out),
                                "--overwrite"])
    assert over.exit_code == 0 and _layer_count(over.output) == 2
    nope = runner.invoke(main, ["map", "--layers", "nope", "--out", str(tmp_path / "x.html")])
    assert nope.exit_code == 1 and "has no layer 'nope'" in nope.output
    empty = runner.invoke(main, ["map", "--layers", ",", "--out", str(tmp_path / "y.html")])
    assert empty.exit_code == 1 and "at least one layer" in empty.output
    sp = runner.invoke(main, ["map", "--layers", "species_ranges", "--species", "unicorn",
                              "--out", str(tmp_path / "z.html")])
    assert sp.exit_code == 1 and "'unicorn' has no feature" in sp.output
    # a species the matrix does not rate: infrastructure coloured by type, with a warning
    kiang = runner.invoke(main, ["map", "--layers", "railways,species_ranges", "--species",
                                 "Equus_kiang", "--out", str(tmp_path / "k.html"), "--no-basemap"])
    assert kiang.exit_code == 0, kiang.output
    assert "Warning:" in kiang.output and "coloured by type" in kiang.output
    assert _layer_count(kiang.output) == 2


# -- the step of `cami-atlas run` -------------------------------------------------------------
def _tiny_atlas(with_ranges: bool) -> Atlas:
    atlas = Atlas("tiny")
    kw = {"source": "synthetic", "licence": "CC0-1.0"}
    atlas.add_layer("rail", gpd.GeoDataFrame(
        {"infra_type": ["railway"], "track": ["double track"]},
        geometry=[LineString([(70.2, 45.0), (73.8, 45.0)])], crs="EPSG:4326"),
        "infrastructure", **kw)
    if with_ranges:
        atlas.add_layer("ranges", gpd.GeoDataFrame(
            {"species": ["Saiga_tatarica"]}, geometry=[box(70, 44, 74, 46)], crs="EPSG:4326"),
            "species_range", **kw)
    return atlas


def test_run_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from cami_atlas.cli.run import Step, run_steps
    from cami_atlas.pipeline import hotspots as cli_hotspots

    monkeypatch.setattr(cli_hotspots, "RUN_CELL_KM", 40.0)
    step = Step("hotspots", cli_hotspots.RUN_OUTPUTS, cli_hotspots.hotspots_run_step)
    ctx = run_steps(_tiny_atlas(True), tmp_path / "a", steps=[step], echo=lambda _: None)
    assert sorted(p.name for p in ctx.written) == sorted(
        [*OUTPUTS, "summary.md", "summary.txt"])
    summary = (tmp_path / "a" / "summary.md").read_text(encoding="utf-8")
    assert "## Barrier hotspots" in summary and "cells of 40 km" in summary
    assert ctx.results["hotspots"].species == ["Saiga_tatarica"]
    skipped = run_steps(_tiny_atlas(False), tmp_path / "b", steps=[step], echo=lambda _: None)
    assert sorted(p.name for p in skipped.written) == ["summary.md", "summary.txt"]
    assert "Hotspot analysis skipped: the atlas has no species_range layer" in (
        tmp_path / "b" / "summary.md").read_text(encoding="utf-8")
