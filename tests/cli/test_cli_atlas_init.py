"""``atlas init --from-default``, ``layers import`` into the copy, then ``run`` performs
every analysis the layers allow (corridor km and crossings, track crossings), and
``run --species``."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Geod

from cami_atlas.atlas import Atlas
from cami_atlas.cli import main
from cami_atlas.cli.run import choose_species
from cami_atlas.errors import UnknownSpeciesError

# synthetic corridor and GPS fixes (invented for the tests) in the Gobi, khulan range
CORRIDOR = shapely.box(108, 44, 111, 46)
STEP = shapely.LineString([(109.0, 45.0), (111.0, 45.0)])


def _invoke(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_init_from_default_into_folder(tmp_path):
    result = _invoke("atlas", "init", "--from-default", str(tmp_path / "mine"))
    path = tmp_path / "mine" / "atlas.gpkg"
    assert result.stdout.splitlines()[0] == (
        f"created {path}: a copy of the default atlas (12 layers with their provenance), "
        "named 'mine'")
    assert (tmp_path / "mine" / "SOURCES.md").read_text() == \
        (Atlas.default().path.parent / "SOURCES.md").read_text()
    assert (tmp_path / "mine" / "licences" / "ODbL-1.0.md").exists()
    copy, default = Atlas.open(path), Atlas.default()
    assert copy.layer_names() == default.layer_names()
    for name in default.layer_names():  # provenance kept layer by layer
        assert copy.layer_info(name) == default.layer_info(name)
    assert copy.read_only is False
    again = CliRunner().invoke(main, ["atlas", "init", "--from-default", str(tmp_path / "mine")])
    assert again.exit_code == 1
    assert again.stderr == (f"Error: {path} exists already; pass --overwrite to replace it or "
                            "choose another place for the new atlas.\n")
    _invoke("atlas", "init", "--from-default", str(tmp_path / "mine"), "--overwrite")


def test_init_gpkg_path_and_empty(tmp_path):
    _invoke("atlas", "init", "--from-default", str(tmp_path / "own.gpkg"))
    assert Atlas.open(tmp_path / "own.gpkg").name == "own"
    assert not (tmp_path / "SOURCES.md").exists()  # provenance docs only into a folder
    result = _invoke("atlas", "init", str(tmp_path / "empty.gpkg"))
    assert "an empty atlas, named 'empty'" in result.stdout
    assert Atlas.open(tmp_path / "empty.gpkg").layer_names() == []


def test_choose_species_by_any_name():
    atlas = Atlas.default()
    assert choose_species(atlas, ["khulan", "Saiga tatarica"]) == ["Equus_hemionus",
                                                                   "Saiga_tatarica"]
    with pytest.raises(UnknownSpeciesError, match=r"species 'unicorn' has no range in the atlas"):
        choose_species(atlas, ["unicorn"])


def test_run_unknown_species_fails_before_any_step(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", "--species", "unicorn", "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: species 'unicorn' has no range in the atlas; ")
    assert "[1/" not in result.stderr  # no step started
    assert not out.exists() or not any(out.iterdir())


@pytest.fixture(scope="module")
def own_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("own")
    _invoke("atlas", "init", "--from-default", str(base / "mine"))
    atlas = base / "mine" / "atlas.gpkg"
    corridor = base / "corridor.geojson"
    gpd.GeoDataFrame({"species": ["Equus_hemionus"], "name": ["Gobi test corridor"]},
                     geometry=[CORRIDOR], crs=4326).to_file(corridor)
    fixes = base / "fixes.csv"
    pd.DataFrame({"individual": ["K1", "K1", "S1", "S1"],
                  "timestamp": ["2020-05-01T00:00:00Z", "2020-05-02T00:00:00Z"] * 2,
                  "species": ["Equus_hemionus"] * 2 + ["Saiga_tatarica"] * 2,
                  "lon": [109.0, 111.0, 109.0, 111.0],
                  "lat": [45.0, 45.0, 45.1, 45.1]}).to_csv(fixes, index=False)
    _invoke("layers", "import", str(corridor), "--kind", "corridor", "--atlas", str(atlas),
            "--licence", "CC0-1.0", "--name", "gobi_corridor")
    _invoke("layers", "import", str(fixes), "--kind", "tracks", "--atlas", str(atlas),
            "--licence", "CC0-1.0")
    out = base / "out"
    result = _invoke("run", "--atlas", str(atlas), "--species", "khulan", "--out", str(out))
    return Atlas.open(atlas), out, result


def _infrastructure(atlas: Atlas) -> gpd.GeoSeries:
    return atlas.read_kind("infrastructure", crs="EPSG:4326").geometry


def test_run_uses_the_added_corridor(own_run):
    atlas, out, _ = own_run
    infra = _infrastructure(atlas)
    # independent expectation: clip in lon/lat with shapely, geodesic length with pyproj
    inside = infra.intersection(CORRIDOR)
    geod = Geod(ellps="WGS84")
    expected_km = sum(geod.geometry_length(g) for g in inside[~inside.is_empty]) / 1000.0
    lengths = pd.read_csv(out / "corridor_lengths.csv")
    assert set(lengths["species"]) == {"Equus_hemionus"}
    assert lengths["length_km"].sum() == pytest.approx(expected_km, rel=0.005)
    points = infra.intersection(CORRIDOR.boundary)
    n_points = sum(len(shapely.get_parts(p)) for p in points[~points.is_empty])
    counts = pd.read_csv(out / "corridor_crossing_counts.csv")
    assert counts["n_crossings"].sum() == n_points
    summary = (out / "summary.md").read_text()
    assert (f"{n_points:,} crossing points of infrastructure with corridor boundaries"
            in summary)
    assert f"Equus_hemionus {lengths['length_km'].sum():,.1f} km (corridor_lengths.csv)" \
        in summary


def test_run_uses_the_added_tracks_of_the_chosen_species(own_run):
    atlas, out, _ = own_run
    infra = _infrastructure(atlas)
    hits = infra.intersection(STEP)
    expected = sorted(round(p.x, 3) for g in hits[~hits.is_empty] for p in shapely.get_parts(g))
    events = pd.read_csv(out / "track_crossings.csv")
    assert set(events["individual"]) == {"K1"}  # S1 is a saiga: not analysed
    assert sorted(events["x"].round(3)) == pytest.approx(expected, abs=0.002)
    assert (f"{len(expected)} crossing events of infrastructure in 1 steps of the GPS tracks"
            in (out / "summary.md").read_text())


def test_run_species_restricts_barriers_and_hotspots(own_run):
    _, out, _ = own_run
    assert set(pd.read_csv(out / "barrier_lengths.csv")["species"]) == {"Equus_hemionus"}
    assert set(pd.read_csv(out / "fragmentation.csv")["species"]) == {"Equus_hemionus"}
    cells = pd.read_csv(out / "hotspot_cells.csv")
    assert set(cells["species"].fillna("").str.split("; ").explode()) <= {"Equus_hemionus", ""}
    summary = (out / "summary.md").read_text()
    assert "Barrier and hotspot analyses restricted to Equus_hemionus (--species)." in summary
    assert "Corridors" in summary and "skipped" not in summary.split("## Corridors")[1][:200]


def test_run_notes_skipped_corridor_and_track_analyses(tmp_path):
    from cami_atlas.pipeline.barriers import _crossing_sections
    from cami_atlas.pipeline.steps import StepContext

    ctx = StepContext(atlas=Atlas.default(), out_dir=tmp_path)
    _crossing_sections(ctx, None)  # type: ignore[arg-type]  # both skipped: res unused
    assert [(s.title, s.paragraphs) for s in ctx.sections] == [
        ("Corridors", ["Corridor crossings and km in corridors skipped: the atlas has no "
                       "corridor layer."]),
        ("Tracks", ["Track crossings skipped: the atlas has no tracks layer."])]
