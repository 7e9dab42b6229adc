"""``cami-atlas barriers`` on the default atlas and on a small synthetic atlas."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner
from shapely import LineString, Point, box

from cami_atlas.atlas import Atlas
from cami_atlas.barriers import classify_barriers, infrastructure_in_ranges
from cami_atlas.cli import main
from cami_atlas.cli.barriers import analyse_atlas, summary_markdown


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("barriers")
    result = CliRunner().invoke(main, ["barriers", "--out", str(out), "--species", "saiga",
                                       "--species", "Procapra gutturosa"])
    assert result.exit_code == 0, result.output
    return out, result


def test_default_atlas_outputs(default_run, own_outputs):
    out, result = default_run
    assert own_outputs(out) == [
        "barrier_lengths.csv", "barrier_summary.md", "classified_segments.gpkg",
        "effective_mesh_size.png", "fragmentation.csv", "km_by_country.png",
        "km_by_species.png"]
    assert "done: 7 files" in result.output
    lengths = pd.read_csv(out / "barrier_lengths.csv")
    assert set(lengths["species"]) == {"Saiga_tatarica", "Procapra_gutturosa"}
    assert set(lengths["layer"]) <= {"railways", "roads", "osm_astana"}
    # the CLI's table is the library's table
    atlas = Atlas.default()
    lib = infrastructure_in_ranges(atlas.read("railways"), atlas.read("species_ranges"),
                                   countries=atlas.read("countries"), species="saiga")
    cli = lengths[(lengths.layer == "railways") & (lengths.species == "Saiga_tatarica")]
    assert cli["length_km"].sum() == pytest.approx(lib["length_km"].sum(), rel=1e-5)
    # classified segments: one layer per infrastructure layer, a column per species
    layers = [name for name, _ in pyogrio.list_layers(out / "classified_segments.gpkg")]
    assert layers == atlas.layer_names("infrastructure")
    seg = gpd.read_file(out / "classified_segments.gpkg", layer="railways")
    rail = atlas.read("railways")
    # ids: layer name + the Natural Earth id of the railways (their source_id column)
    assert seg["segment_id"].tolist() == ("railways:" + rail["source_id"]).tolist()
    # a class only where the segment crosses the saiga range (independent lon/lat test:
    # interiors meet); segments near the edge may flip between lon/lat and the densified
    # equal-area polygon, so allow a handful of those
    ranges = atlas.read("species_ranges").to_crs(4326)
    saiga = shapely.union_all(ranges[ranges["species"] == "Saiga_tatarica"].geometry.values)
    lines = rail.to_crs(4326)
    inside = (lines.intersects(saiga) & ~lines.touches(saiga)).to_numpy()
    has = seg["barrier_Saiga_tatarica"].notna().to_numpy()
    assert 100 < inside.sum() < len(rail) - 100  # a real test: many in, many out
    assert (has != inside).sum() <= 3
    expected = classify_barriers(rail, "Saiga_spp")
    assert seg.loc[has, "barrier_Saiga_tatarica"].tolist() == expected[has].tolist()
    assert (seg.loc[has, "species_in_range"].str.split(";").map(
        lambda s: "Saiga_tatarica" in s)).all()
    assert not seg.loc[~has, "species_in_range"].fillna("").str.contains("Saiga").any()
    frag = pd.read_csv(out / "fragmentation.csv")
    assert set(frag["species"]) == {"Saiga_tatarica", "Procapra_gutturosa"}
    summary = (out / "barrier_summary.md").read_text()
    assert "| Saiga_tatarica | railways |" in summary


def test_refuses_to_overwrite(default_run):
    out, _ = default_run
    before = (out / "barrier_summary.md").read_text()
    result = CliRunner().invoke(main, ["barriers", "--out", str(out), "--species", "saiga"])
    assert result.exit_code == 1
    assert "already holds" in result.output and "--overwrite" in result.output
    assert (out / "barrier_summary.md").read_text() == before
    result = CliRunner().invoke(main, ["barriers", "--out", str(out), "--species", "saiga",
                                       "--no-fragmentation", "--overwrite"])
    assert result.exit_code == 0, result.output


def test_unknown_species_is_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["barriers", "--out", str(tmp_path), "--species",
                                       "unicorn"])
    assert result.exit_code == 1
    assert "Error: species 'unicorn' has no range or corridor" in result.output


def _synthetic_atlas(tmp_path) -> Atlas:
    """SYNTHETIC atlas in UTM 42N: one range, one corridor polygon and route, a railway,
    one tracked animal crossing it once."""
    crs = "EPSG:32642"
    atlas = Atlas("synthetic", region=box(60, 40, 75, 50))
    kw = {"source": "synthetic test data", "licence": "CC0-1.0"}
    atlas.add_layer("ranges", gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica"]}, geometry=[box(500_000, 5e6, 600_000, 5.1e6)],
        crs=crs), "species_range", **kw)
    atlas.add_layer("corridors", gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Saiga_tatarica"]},
        geometry=[box(600_000, 5e6, 650_000, 5.05e6),
                  LineString([(520_000, 4.9e6), (520_000, 5.2e6)])], crs=crs), "corridor", **kw)
    atlas.add_layer("rail", gpd.GeoDataFrame(
        {"infra_type": ["railway"], "track": ["double track"]},
        geometry=[LineString([(450_000, 5.02e6), (700_000, 5.02e6)])], crs=crs),
        "infrastructure", **kw)
    atlas.add_layer("gps", gpd.GeoDataFrame(
        {"individual": ["s1", "s1"], "species": ["Saiga_tatarica"] * 2,
         "timestamp": pd.to_datetime(["2020-05-01 00:00", "2020-05-01 04:00"], utc=True)},
        geometry=[Point(550_000, 5.01e6), Point(550_000, 5.03e6)], crs=crs), "tracks", **kw)
    path = tmp_path / "synthetic.gpkg"
    atlas.save(path)
    return Atlas.open(path)


def test_synthetic_atlas_with_corridors_and_tracks(tmp_path):
    atlas = _synthetic_atlas(tmp_path)
    res = analyse_atlas(atlas, fragmentation=False)
    # railway: 100 km in the range + 50 km in the corridor polygon, double track = complete
    assert res.lengths["barrier_class"].unique().tolist() == ["complete barrier"]
    assert res.lengths["length_km"].sum() == pytest.approx(150.0, rel=2e-3)  # UTM scale
    # corridor: enters/exits the polygon at x=600 and 650 km, crosses the route once
    assert int(res.corridor_counts["n_crossings"].sum()) == 3
    assert sorted(res.corridor_points["crossing"]) == ["boundary", "boundary", "route"]
    # the one track step crosses the railway once
    assert len(res.track_events) == 1
    assert res.track_events["barrier_class"].item() == "complete barrier"
    assert "3 crossing points" in summary_markdown(res, atlas)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["barriers", "--atlas", str(tmp_path / "synthetic.gpkg"),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"corridor_crossings.csv", "corridor_crossing_counts.csv",
            "track_crossings.csv"} <= {p.name for p in out.iterdir()}
    events = pd.read_csv(out / "track_crossings.csv")
    assert events[["individual", "infra_type"]].values.tolist() == [["s1", "railway"]]
    # crossing tables name the segment by its id, as classified_segments.gpkg does
    assert events["infra_id"].tolist() == ["rail:0"]
    assert set(pd.read_csv(out / "corridor_crossings.csv")["infra_id"]) == {"rail:0"}
    seg = gpd.read_file(out / "classified_segments.gpkg", layer="rail")
    assert seg["segment_id"].tolist() == ["rail:0"]
    assert seg["species_in_range"].tolist() == ["Saiga_tatarica"]


def test_csvs_read_back_exactly(tmp_path):
    from cami_atlas.cli.barriers import BarrierResults, write_results

    lengths = pd.DataFrame({"layer": ["rail", "road"], "species": ["Saiga_tatarica"] * 2,
                            "barrier_class": ["complete barrier", "unknown"],
                            "country": ["KAZ", "RUS"], "length_km": [1 / 3, 123_456.789_012_345_6],
                            "range_area_km2": [10_811_657.919_107_39, 2.0 ** -40]})
    frag = pd.DataFrame({"species": ["Saiga_tatarica"], "procedure": ["CUT"],
                         "area_km2": [1_275_794.245_095_395_5], "m_eff_km2": [168_919.576_498],
                         "n_fragments": [7], "largest_fragment_share": [0.123_456_789_012_345]})
    seg = gpd.GeoDataFrame({"infra_type": ["railway"]},
                           geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")
    res = BarrierResults(species=["Saiga_tatarica"], matrix_species={"Saiga_tatarica": None},
                         lengths=lengths, segments={"rail": seg}, fragmentation=frag)
    write_results(res, Atlas("demo"), tmp_path)
    # every digit survives (a %.6g format wrote 123457 and 1.07e+07)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "barrier_lengths.csv"), lengths,
                                  check_exact=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "fragmentation.csv"), frag,
                                  check_exact=True)
