"""``cami-atlas run``: the main job on the default atlas and on a small synthetic atlas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pyproj import Geod
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.cli.run import STEPS, SUMMARY_STEP, Step, run_steps

OUTPUTS = ["barrier_lengths.csv", "barrier_summary.md", "classified_segments.gpkg",
           "effective_mesh_size.png", "fragmentation.csv", "hotspot_cells.csv",
           "hotspot_cells.gpkg", "hotspot_map.html", "hotspot_report.html",
           "hotspot_segments.csv", "km_by_country.png", "km_by_species.png", "layers.csv",
           "mitigation_proposals.csv", "overview_map.html", "summary.md", "summary.txt"]
#: The QGIS project of the folder and the style beside each of its layers.
QGIS = ["classified_segments_osm_astana.qml", "classified_segments_railways.qml",
        "classified_segments_roads.qml", "hotspot_cells_cells.qml",
        "hotspot_cells_segments.qml", "hotspot_cells_transboundary.qml", "project.qgz",
        "atlas_versions.csv"]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("run") / "atlas-output"
    result = CliRunner().invoke(main, ["run", "--out", str(out)])
    return out, result


def test_run_writes_outputs(default_run) -> None:
    out, result = default_run
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS + QGIS)
    assert "validated 12 layers" in result.output
    layers = pd.read_csv(out / "layers.csv")
    assert list(layers.columns) == ["name", "kind", "n_features", "geometry_type", "crs",
                                    "source", "licence", "length_km", "area_km2",
                                    "length_existing_km", "length_under_construction_km",
                                    "length_planned_km", "length_proposed_km"]
    assert layers["name"].tolist() == Atlas.default().layer_names()
    table = layers.set_index("name")
    # PROVENANCE.md: railroads total ≈ 155,600 km in the region (measured in ESRI:102025;
    # geodesic differs by < 0.2 %); roads 290,284 km geodesic including the dropped
    # 286 km Ferry Route
    assert table.loc["railways", "length_km"] == pytest.approx(155_600, rel=0.002)
    assert table.loc["roads", "length_km"] == pytest.approx(290_284, rel=0.0015)
    assert pd.isna(table.loc["places", "length_km"]) and pd.isna(table.loc["dem", "area_km2"])
    # the shipped network is all existing (no planning status in Natural Earth)
    assert table.loc["railways", "length_existing_km"] == table.loc["railways", "length_km"]
    assert table.loc["railways", "length_planned_km"] == 0
    html = (out / "overview_map.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# cami_atlas run summary")
    assert "© OpenStreetMap contributors" in summary and "SOURCES.md" in summary
    assert "| Saiga_tatarica | saiga |" in summary
    # the layer versions the run used
    versions = pd.read_csv(out / "atlas_versions.csv")
    assert versions["layer"].tolist() == Atlas.default().layer_names()
    assert (versions["version"] == 1).all() and versions["licence"].notna().all()
    # the contact sheet shows every picture of the run, each linked to its file
    sheet = summary.split("## Contact sheet", 1)[1].split("\n## ", 1)[0]
    for png in ("effective_mesh_size.png", "km_by_country.png", "km_by_species.png"):
        assert f'[<img src="{png}" width="260">]({png})' in sheet
    text = (out / "summary.txt").read_text(encoding="utf-8")
    assert "Linear infrastructure in the atlas" in text and "No corridor, protected_area, tracks" in text


def test_second_run_refuses_without_overwrite(default_run) -> None:
    out, _ = default_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = CliRunner().invoke(main, ["run", "--out", str(out)])
    assert again.exit_code == 1
    in_step_order = [o for s in [*STEPS, SUMMARY_STEP] for o in s.outputs if o in OUTPUTS]
    assert again.output.strip().splitlines() == [
        f"Error: {out} already holds {', '.join(in_step_order)}; pass --overwrite "
        "to replace them or choose another --out folder."]
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_run_on_own_atlas_with_overwrite(tmp_path: Path) -> None:
    atlas = Atlas("tiny")
    line = gpd.GeoDataFrame({"infra_type": ["railway"]},
                            geometry=[LineString([(70, 45), (71, 45)])], crs="EPSG:4326")
    atlas.add_layer("rail", line, "infrastructure", source="synthetic", licence="CC0-1.0")
    land = gpd.GeoDataFrame({"iso3": ["AAA"], "name": ["A"]}, geometry=[box(69, 44, 72, 46)],
                            crs="EPSG:4326")
    atlas.add_layer("land", land, "country", source="synthetic", licence="CC0-1.0")
    path = atlas.save(tmp_path / "tiny.gpkg")
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(main, ["run", "--out", str(out), "--atlas", str(path)])
    assert first.exit_code == 0, first.output
    table = pd.read_csv(out / "layers.csv").set_index("name")
    geod = Geod(ellps="WGS84")
    assert table.loc["rail", "length_km"] == pytest.approx(
        geod.geometry_length(line.geometry.iloc[0]) / 1000, abs=5e-4)
    assert table.loc["land", "area_km2"] == pytest.approx(
        abs(geod.geometry_area_perimeter(box(69, 44, 72, 46))[0]) / 1e6, rel=1e-3)
    second = runner.invoke(main, ["run", "--out", str(out), "--atlas", str(path),
                                  "--overwrite"])
    assert second.exit_code == 0, second.output


def test_run_stops_on_invalid_atlas(tmp_path: Path) -> None:
    atlas = Atlas("broken")
    line = gpd.GeoDataFrame({"infra_type": ["railway"]},
                            geometry=[LineString([(70, 45), (71, 45)])], crs="EPSG:4326")
    atlas.add_layer("rail", line, "infrastructure", source="synthetic", licence="CC0-1.0")
    path = atlas.save(tmp_path / "broken.gpkg")
    line.drop(columns="infra_type").assign(kind=["x"]).to_file(path, layer="rail", driver="GPKG")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--out", str(out), "--atlas", str(path)])
    assert result.exit_code == 1
    assert "Error: 1 of 1 layer(s) of the atlas failed validation (rail)" in result.output
    assert not out.exists()  # the failed job removed the folder it had created


def test_run_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    no_out = runner.invoke(main, ["run"])
    assert no_out.exit_code == 2 and "Missing option '--out'" in no_out.output
    missing = runner.invoke(main, ["run", "--out", str(tmp_path / "o"), "--atlas",
                                   str(tmp_path / "none.gpkg")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


CORE_STEPS = ("validate", "layers")


def test_steps_are_extensible(tmp_path: Path) -> None:
    seen = []

    def extra(ctx) -> None:
        seen.append(ctx.atlas.name)
        (ctx.path("extra.txt")).write_text("x")
        ctx.wrote(ctx.path("extra.txt"))

    core = [s for s in STEPS if s.name in CORE_STEPS]  # fast; analysis steps tested elsewhere
    steps = [*core, Step("extra", ("extra.txt",), extra)]
    ctx = run_steps(Atlas.default(), tmp_path, steps=steps, echo=lambda _: None)
    assert seen == ["cami_default_atlas"]
    assert sorted(p.name for p in ctx.written) == ["extra.txt", "layers.csv", "summary.md",
                                                   "summary.txt"]
    assert "extra.txt" in (tmp_path / "summary.md").read_text()
    assert SUMMARY_STEP.outputs == ("summary.md", "summary.txt")


def test_failed_step_leaves_no_partial_outputs(tmp_path: Path) -> None:
    def broken(ctx) -> None:
        raise RuntimeError("analysis crashed")

    steps = [*(s for s in STEPS if s.name in CORE_STEPS), Step("broken", ("x.csv",), broken)]
    with pytest.raises(RuntimeError, match="analysis crashed"):
        run_steps(Atlas.default(), tmp_path / "out", steps=steps, echo=lambda _: None)
    assert not (tmp_path / "out").exists()  # layers.csv was staged, never moved in


def _geod_area_km2_6933(geom) -> float:
    """Geodesic area of a polygon stored in EPSG:6933, its edges cut every 1 km first."""
    import numpy as np
    import shapely
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:6933", "EPSG:4326", always_xy=True)
    dense = shapely.transform(shapely.segmentize(geom, 1000.0),
                              lambda xy: np.column_stack(to_ll.transform(*xy.T)))
    return abs(Geod(ellps="WGS84").geometry_area_perimeter(dense)[0]) / 1e6


def test_every_output_states_the_same_range_area(default_run) -> None:
    """layers.csv, summary.md, fragmentation.csv, barrier_lengths.csv, barrier_summary.md and
    the hotspot report's factsheets give one area per range, and it is the geodesic one."""
    import re

    out, result = default_run
    assert result.exit_code == 0, result.output
    ranges = Atlas.default().read("species_ranges").set_index("species")
    geodesic = {s: _geod_area_km2_6933(g) for s, g in ranges.geometry.items()}
    frag = pd.read_csv(out / "fragmentation.csv")
    assert set(frag["species"]) == set(geodesic)
    for procedure, rows in frag.groupby("procedure"):
        area = rows.set_index("species")["area_km2"]
        for sp, expected in geodesic.items():
            assert area[sp] == pytest.approx(expected, rel=1e-5), (procedure, sp)
    area = frag[frag["procedure"] == "CUT"].set_index("species")["area_km2"]
    # layers.csv: the layer's area, full precision
    layers = pd.read_csv(out / "layers.csv").set_index("name")
    assert layers.loc["species_ranges", "area_km2"] == pytest.approx(area.sum(), rel=1e-12)
    # summary.md (rounded to km²), barrier_summary.md, hotspot report factsheets
    summary = (out / "summary.md").read_text(encoding="utf-8")
    barrier = (out / "barrier_summary.md").read_text(encoding="utf-8")
    report = (out / "hotspot_report.html").read_text(encoding="utf-8")
    pages = dict(re.findall(r'<section class="species" id="species-[^"]*">\s*<h2><i>([^<]+)</i>'
                            r'.*?Range area</dt><dd>([\d,]+) km²', report, re.S))
    assert len(pages) == len(geodesic)
    for sp, a in area.items():
        shown = f"{a:,.0f}"
        assert re.search(rf"\| {sp} \| [^|]* \| {shown} \|", summary), sp
        assert re.search(rf"\| {sp} \| {shown} \|", barrier), sp
        assert pages[sp.replace("_", " ")] == shown, sp
    # barrier_lengths.csv: the range's area in each country; these ranges lie wholly in
    # countries that hold infrastructure, so their parts add up to the whole range
    lengths = pd.read_csv(out / "barrier_lengths.csv")
    parts = (lengths.drop_duplicates(["species", "country"])
             .groupby("species")["range_area_km2"].sum())
    assert (parts <= area[parts.index] * (1 + 1e-9)).all()
    for sp in ("Acinonyx_jubatus", "Camelus_ferus", "Equus_ferus", "Gazella_bennettii",
               "Panthera_pardus", "Procapra_gutturosa"):
        assert parts[sp] == pytest.approx(area[sp], rel=1e-9), sp


def test_csvs_of_the_run_read_back_exactly(default_run) -> None:
    from cami_atlas.atlas import layer_summary

    out, _ = default_run
    layers = pd.read_csv(out / "layers.csv")
    expected = layer_summary(Atlas.default())
    for col in ("length_km", "area_km2"):  # full precision, not rounded to 3 or 1 decimals
        pd.testing.assert_series_equal(layers[col], expected[col], check_exact=True)
    assert (layers["area_km2"].dropna() % 1 != 0).any()


def test_run_connectivity_maps_one_species(tmp_path: Path) -> None:
    """`run --connectivity-maps` for khulan at 25 km: the three GeoTIFFs, settings and
    quick-look per species, the radius from the cited movement scale (97.7 km = 3.9
    cells of 25 km, rounded to 4), and a normalized-current layer in the overview map."""
    import json

    from cami_atlas.raster import Grid

    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", "--out", str(out), "--species", "khulan",
                                  "--connectivity-maps", "--connectivity-cell-size-m",
                                  "25000"])
    assert r.exit_code == 0, r.output
    folder = out / "connectivity" / "Equus_hemionus"
    for name in ("cumulative_current.tif", "flow_potential.tif", "normalized_current.tif",
                 "omniscape_settings.json", "omniscape_quicklook.png", "resistance.tif",
                 "sources.tif"):
        assert (folder / name).is_file(), name
    settings = json.loads((folder / "omniscape_settings.json").read_text())
    assert settings["radius_cells"] == 4 and settings["extra"]["radius_km"] == 97.7
    cum = Grid.from_geotiff(folder / "cumulative_current.tif")
    assert cum.cell_size_m == 25000.0 and cum.crs.to_string() == "ESRI:102025"
    src = Grid.from_geotiff(folder / "sources.tif").values
    assert np.nanmax(cum.values) > 0 and (src > 0).sum() > 100
    html = (out / "overview_map.html").read_text()
    assert "Equus hemionus: normalized current" in html
    assert "normalized current (&lt;1 impeded" in html  # the legend
    summary = (out / "summary.md").read_text()
    assert "## Connectivity maps (Omniscape)" in summary and "| Equus hemionus | 97.7 |" in summary
    record = json.loads((out / "connectivity" / "connectivity_maps.json").read_text())
    assert record["cell_size_m"] == 25000.0 and record["species"][0]["radius_cells"] == 3.9


def test_connectivity_maps_skip_species_without_scale_or_too_small_radius(
        tmp_path: Path) -> None:
    """The goitred gazelle has no cited movement scale, argali's 4.3 km is < 3 cells of 25
    km: both are skipped with a note that says what to do; no map is computed."""
    from cami_atlas.pipeline.connectivity_maps import STEP, mapped_species

    atlas = Atlas.default()
    table = mapped_species(atlas, ["Gazella_subgutturosa", "Ovis_ammon"]).set_index("species")
    assert np.isnan(table.loc["Gazella_subgutturosa", "movement_km"])
    assert table.loc["Ovis_ammon", "movement_km"] == 4.3
    ctx = run_steps(atlas, tmp_path / "o", steps=[STEP],
                    species=["Gazella_subgutturosa", "argali"], connectivity_cell_size_m=25000)
    section = next(s for s in ctx.sections if s.title == "Connectivity maps (Omniscape)")
    notes = " ".join(section.paragraphs)
    assert "Gazella subgutturosa: no published movement scale" in notes
    assert "--radius-km" in notes
    assert "Ovis ammon: radius 4.3 km is 0.2 cells" in notes
    assert "--connectivity-cell-size-m 1433 or less" in notes
    assert ctx.results["connectivity_maps"] == {}
    assert sorted(p.name for p in (tmp_path / "o" / "connectivity").iterdir()) == [
        "connectivity_maps.json"]


def test_scheduler_needs_connectivity_maps(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["run", "--out", str(tmp_path / "x"), "--scheduler",
                                  "tcp://127.0.0.1:1"])
    assert r.exit_code != 0 and "give --connectivity-maps" in r.output
    assert not (tmp_path / "x").exists()
