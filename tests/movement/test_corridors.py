"""Population corridors and stopovers on synthetic tracks of known paths; atlas layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine

from cami_atlas.atlas import Atlas
from cami_atlas.errors import OutputExistsError, SchemaError
from cami_atlas.movement.bbmm import UDSet, track_uds
from cami_atlas.movement.corridors import (
    add_corridor_layers,
    footprint,
    grid_for_tracks,
    population_corridors,
)
from cami_atlas.movement.segmentation import migration_fixes, migration_periods
from cami_atlas.raster import Grid


@pytest.fixture(scope="module")
def herd_corridors():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "movement_conftest", Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rng = np.random.default_rng(2021)
    parts = [mod.simulate_migrant(rng, f"A{i}", x_km=20, y_end_km=60, spring=(100, 112),
                                  pause=(105, 108, 30), noise_m=150) for i in range(8)]
    parts += [mod.simulate_migrant(rng, f"B{i}", x_km=60, y_end_km=60, spring=(100, 110),
                                   noise_m=150) for i in range(2)]
    herd = pd.concat(parts, ignore_index=True)
    periods = migration_periods(herd)
    fixes = migration_fixes(herd, periods[periods["season"] == "spring"])
    grid = grid_for_tracks(herd, cell_size_m=500, margin_m=5000)
    uds = track_uds(fixes, grid, by="migration", max_gap_h=8)
    return periods, uds, population_corridors(uds, thresholds=(0.3, 0.5))


def test_every_individual_has_spring_and_autumn(herd_corridors):
    periods, uds, _ = herd_corridors
    assert len(periods) == 20
    assert sorted(uds.table["individual"]) == sorted([f"A{i}" for i in range(8)]
                                                     + ["B0", "B1"])


def test_high_use_covers_the_shared_path_and_nothing_far_from_it(herd_corridors):
    _, uds, pc = herd_corridors
    g = uds.grid
    rows, cols = np.indices(g.shape)
    cx, cy = g.xy(rows, cols)
    high = pc.use_class.values == 3
    # path A: x = 20 km, y from the start of migration (~6 km) to its end (~54 km)
    on_a = (np.abs(cx - 20_000) < 500) & (cy > 8_000) & (cy < 52_000)
    assert high[on_a].mean() > 0.95
    assert np.abs(cx[high] - 20_000).max() < 3_000  # nothing far from path A
    # path B: 2 of 10 animals -> share 0.2 -> low, never high or medium
    on_b = (np.abs(cx - 60_000) < 500) & (cy > 8_000) & (cy < 52_000)
    assert (pc.use_class.values[on_b] == 1).mean() > 0.95
    assert pc.share.values[on_b].max() == pytest.approx(0.2)
    assert pc.share.values.max() == pytest.approx(0.8)
    # medium (3 or 4 of 10) only on the fringe of path A
    medium = pc.use_class.values == 2
    assert np.abs(cx[medium] - 20_000).max() < 3_000
    assert set(pc.corridors["use_class"]) == {"low", "medium", "high"}
    # polygons agree with the class raster
    area_high = pc.corridors.set_index("use_class").loc["high", "area_km2"]
    assert area_high == pytest.approx(high.sum() * 0.25)


def test_stopover_is_where_the_animals_paused(herd_corridors):
    _, _, pc = herd_corridors
    stops = pc.stopovers.geometry.union_all()
    assert stops.contains(shapely.Point(20_000, 30_000))
    # path A animals spent 3 of 12 migration days at the pause: their 10 % UD volume is
    # there and nowhere else on path A
    centre = shapely.Point(20_000, 30_000).buffer(2_000)
    on_a = stops.intersection(shapely.box(15_000, 0, 25_000, 80_000))
    assert on_a.difference(centre).area == 0
    assert (pc.individuals["stopover_km2"] < pc.individuals["footprint_km2"]).all()


def test_corridor_layers_in_an_atlas_round_trip(herd_corridors, tmp_path):
    _, _, pc = herd_corridors
    atlas = Atlas("t")
    names = add_corridor_layers(atlas, pc, "gazelle_corridors",
                                source="synthetic tracks (test)", licence="CC0-1.0")
    assert names == ["gazelle_corridors", "gazelle_corridors_stopovers"]
    info = atlas.layer_info("gazelle_corridors")
    assert info["kind"] == "corridor"
    assert "99% UD contour" in info["processing"] and "medium >= 30%" in info["processing"]
    path = atlas.save(tmp_path / "a.gpkg")
    back = Atlas.open(path).read("gazelle_corridors")
    assert sorted(back["use_class"]) == ["high", "low", "medium"]
    assert (back["species"] == "Procapra_gutturosa").all()
    # nothing partial: a name clash leaves the atlas as it was
    atlas2 = Atlas("t2")
    atlas2.add_layer("gazelle_corridors_stopovers", pc.stopovers, "corridor",
                     source="x", licence="CC0-1.0")
    with pytest.raises(OutputExistsError, match="overwrite"):
        add_corridor_layers(atlas2, pc, "gazelle_corridors", source="s", licence="CC0-1.0")
    assert atlas2.layer_names() == ["gazelle_corridors_stopovers"]


def test_barrier_crossings_use_the_corridor_layer(herd_corridors):
    import geopandas as gpd

    from cami_atlas.barriers.crossings import corridor_crossings

    _, uds, pc = herd_corridors
    road = gpd.GeoDataFrame({"infra_type": ["road"], "road_surface": ["paved"]},
                            geometry=[shapely.LineString([(0, 30_000), (80_000, 30_000)])],
                            crs=uds.grid.crs)
    pts, counts = corridor_crossings(road, pc.corridors)
    assert len(pts) > 0 and counts["n_crossings"].sum() > 0


def test_single_individual_is_an_error_and_species_is_needed():
    g = Grid(np.zeros((2, 2)), Affine(1000, 0, 0, 0, -1000, 2000), "EPSG:32648")
    one = Grid(np.array([[1.0]]), g.transform, g.crs)
    table = pd.DataFrame({"track": ["a_1", "a_2"], "individual": ["a", "a"],
                          "species": "Procapra_gutturosa"})
    with pytest.raises(SchemaError, match="at least 2 individuals; got 1"):
        population_corridors(UDSet(g, {"a_1": one, "a_2": one}, table))
    two = pd.DataFrame({"track": ["a", "b"], "individual": ["a", "b"],
                        "species": ["Procapra_gutturosa", "Saiga_tatarica"]})
    with pytest.raises(SchemaError, match="give species"):
        population_corridors(UDSet(g, {"a": one, "b": one}, two))
    with pytest.raises(SchemaError, match="thresholds"):
        population_corridors(UDSet(g, {"a": one, "b": one}, two), species="x y",
                             thresholds=(0.5, 0.2))


def test_footprint_contour_by_hand():
    ud = np.array([0.4, 0.3, 0.2, 0.06, 0.04])
    assert footprint(ud, 0.9).tolist() == [True, True, True, False, False]
    assert footprint(ud, 0.95).tolist() == [True, True, True, True, False]
    assert footprint(ud, 1.0).tolist() == [True] * 5
    with pytest.raises(SchemaError, match="contour"):
        footprint(ud, 99)


def test_barrier_analysis_of_an_atlas_uses_the_corridor_layers(herd_corridors):
    import dataclasses

    import geopandas as gpd

    from cami_atlas.cli.barriers import analyse_atlas

    _, uds, pc = herd_corridors
    # shift the synthetic study area into Mongolia (UTM 48N) so the atlas region holds it
    shift = np.array([600_000.0, 5_300_000.0])
    corridors = pc.corridors.set_geometry(
        shapely.transform(pc.corridors.geometry, lambda c: c + shift))
    road = gpd.GeoDataFrame(
        {"infra_type": ["road"], "road_surface": ["paved"]},
        geometry=[shapely.LineString([(600_000, 5_330_100), (680_000, 5_330_100)])],
        crs=uds.grid.crs)
    atlas = Atlas("t", analysis_crs="EPSG:32648")
    atlas.add_layer("roads", road, "infrastructure", source="synthetic", licence="CC0-1.0")
    shifted = dataclasses.replace(pc, corridors=corridors, stopovers=pc.stopovers.iloc[:0])
    add_corridor_layers(atlas, shifted, "gazelle_corridors", source="synthetic tracks",
                        licence="CC0-1.0")
    res = analyse_atlas(atlas, fragmentation=False)
    assert res.species == ["Procapra_gutturosa"]
    km = res.lengths["length_km"].sum()
    # planar length of the road inside the corridor polygons (UTM scale error < 0.1 %)
    inside = road.geometry.iloc[0].intersection(corridors.union_all())
    assert shapely.get_num_geometries(inside) >= 2  # crosses both paths
    expected = inside.length / 1000
    assert km == pytest.approx(expected, rel=2e-3)


def test_grid_for_tracks_refuses_a_huge_grid():
    import geopandas as gpd

    t = gpd.GeoDataFrame({"individual": ["a", "a"],
                          "timestamp": pd.to_datetime(["2021-01-01", "2021-01-02"], utc=True)},
                         geometry=gpd.points_from_xy([0, 2_000_000], [0, 2_000_000]),
                         crs="EPSG:32648")
    with pytest.raises(SchemaError, match="use cells of at least 200 m"):
        grid_for_tracks(t, cell_size_m=100, margin_m=0)
    assert grid_for_tracks(t, cell_size_m=1000, margin_m=0).shape == (2000, 2000)
