"""hotspot_grid end to end: synthetic toy and the real NE railways over Mongolia."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import Geod
from shapely import LineString, Point, box

from cami_atlas.errors import SchemaError
from cami_atlas.hotspots import GI_CLASSES, cell_infrastructure_km, hex_grid, hotspot_grid
from cami_atlas.raster import Grid

ALBERS = "ESRI:102025"


def test_synthetic_grid_has_every_figure():
    """Synthetic: a dense bundle of complete barriers in one corner of a saiga range."""
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"]},
                              geometry=[box(0, 0, 300_000, 300_000), box(0, 0, 150_000, 150_000)],
                              crs=ALBERS)
    ys = np.arange(5_000, 100_000, 4_000)
    infra = gpd.GeoDataFrame(
        geometry=[LineString([(0, y), (100_000, y)]) for y in ys], crs=ALBERS).assign(
        infra_type="fence", Saiga_tatarica="complete barrier", Equus_hemionus="partial barrier")
    crossings = gpd.GeoDataFrame(geometry=[Point(20_000, 20_000), Point(250_000, 250_000)],
                                 crs=ALBERS)
    grid = Grid(np.ones((30, 30)), Affine(10_000, 0, 0, 0, -10_000, 300_000), ALBERS)
    borders = gpd.GeoDataFrame({"iso3_left": ["KAZ"], "iso3_right": ["UZB"]},
                               geometry=[LineString([(0, -1e5), (0, 4e5)])], crs=ALBERS)
    out = hotspot_grid(infra, ranges, cell_km=25, crossings=crossings, track_events=crossings,
                       connectivity=grid, borders=borders, border_distance_km=30,
                       permutations=99, seed=1)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs.equals(ALBERS)
    for col in ("cell_id", "area_km2", "infra_km", "km_fence", "species_km_complete_barrier",
                "species_km_partial_barrier", "species_km_unknown", "species_km_not_a_barrier",
                "n_species", "species", "crossings", "track_crossings", "connectivity",
                "barrier_km_per_km2", "score", "gi_z", "gi_p", "gi_class", "border",
                "border_distance_km", "transboundary"):
        assert col in out.columns, col
    assert out.columns[-1] == "geometry"
    # conservation: every km of fence is in some cell; both species' ranges hold all of it
    geod = Geod(ellps="WGS84")
    total_km = sum(geod.geometry_length(g) for g in infra.to_crs(4326).geometry) / 1000
    assert out["infra_km"].sum() == pytest.approx(total_km, rel=1e-3)
    assert out["species_km_complete_barrier"].sum() == pytest.approx(out["infra_km"].sum())
    assert out["species_km_partial_barrier"].sum() == pytest.approx(out["infra_km"].sum())
    assert out["crossings"].sum() == 2 and out["connectivity"].dropna().eq(1).all()
    assert set(out["n_species"]) == {1, 2}
    assert set(out["gi_class"]) <= set(GI_CLASSES)
    hot = out["gi_class"].str.startswith("hot")
    assert hot.any()
    assert out.loc[hot, "infra_km"].min() > 0  # hot spots sit on the fences
    assert (out["transboundary"] == (hot & (out["border"] == "KAZ-UZB"))).all()
    assert out["transboundary"].any()
    assert out.loc[out["border"] == "", "border_distance_km"].isna().all()


def test_unclassified_infrastructure_is_an_error():
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                              geometry=[box(0, 0, 1e5, 1e5)], crs=ALBERS)
    infra = gpd.GeoDataFrame({"infra_type": ["road"]},
                             geometry=[LineString([(0, 5e4), (1e5, 5e4)])], crs=ALBERS)
    with pytest.raises(SchemaError, match=r"infra carries no barrier classes.*classify_barriers"):
        hotspot_grid(infra, ranges, cell_km=20, permutations=99)


@pytest.fixture(scope="module")
def mongolia_rail(real_data):
    ne = real_data / "natural_earth"
    countries = gpd.read_file(ne / "ne_50m_admin_0_countries_cami.gpkg")
    mongolia = countries[countries["ADM0_A3"] == "MNG"]
    rail = gpd.read_file(ne / "ne_10m_railroads_cami.gpkg")
    rail = rail[rail.intersects(mongolia.geometry.iloc[0].buffer(1.0))].copy()
    rail["infra_type"] = "railway"
    return countries, mongolia, rail


def test_real_ne_railways_over_mongolia_total_km(mongolia_rail):
    """Real data: NE 10m railroads (public domain) over NE 50m Mongolia, 100 km hexagons."""
    _, mongolia, rail = mongolia_rail
    cells = hex_grid(mongolia, cell_km=100, clip=True)
    # the cells tile Mongolia (hex_grid densifies lon/lat edges, hence 1e-4 not 1e-9)
    assert cells["area_km2"].sum() == pytest.approx(
        float(mongolia.to_crs(ALBERS).area.iloc[0]) / 1e6, rel=1e-4)
    assert cells["area_km2"].sum() == pytest.approx(1_564_116, rel=1e-2)  # official km2
    table = cell_infrastructure_km(cells, rail[["infra_type", "geometry"]])
    # independent: clip in lon/lat with geopandas, length with pyproj.Geod
    clipped = gpd.clip(rail, mongolia)
    geod = Geod(ellps="WGS84")
    expected = sum(geod.geometry_length(g) for g in clipped.geometry) / 1000
    assert table["length_km"].sum() == pytest.approx(expected, rel=5e-3)
    assert 1500 < expected < 3500  # the Trans-Mongolian line alone is ~1,100 km


def test_real_mongolia_hotspot_grid_with_borders(mongolia_rail):
    """Real NE railways and borders; the species range is a SYNTHETIC stand-in (all Mongolia)."""
    countries, mongolia, rail = mongolia_rail
    infra = rail[["infra_type", "geometry"]].assign(Procapra_gutturosa="complete barrier")
    ranges = gpd.GeoDataFrame({"species": ["Procapra_gutturosa"]},
                              geometry=mongolia.geometry.to_numpy(), crs=mongolia.crs)
    borders = countries.rename(columns={"ADM0_A3": "iso3"})[["iso3", "geometry"]]
    out = hotspot_grid(infra, ranges, region=mongolia, cell_km=100, clip=True,
                       borders=borders, border_distance_km=100, permutations=99, seed=3)
    clipped = gpd.clip(rail, mongolia)
    expected = sum(Geod(ellps="WGS84").geometry_length(g) for g in clipped.geometry) / 1000
    assert out["infra_km"].sum() == pytest.approx(expected, rel=5e-3)
    assert out["species_km_complete_barrier"].sum() == pytest.approx(out["infra_km"].sum(),
                                                                     rel=1e-6)
    assert out["score"].max() == pytest.approx(1.0)
    assert (out["gi_class"] != "not significant").any()
    near = out[out["border"] != ""]
    assert near["border"].str.contains("MNG").all()
    pairs = set("; ".join(near["border"]).split("; "))
    assert {"CHN-MNG", "MNG-RUS"} <= pairs
    assert out.loc[out["transboundary"], "gi_class"].str.startswith("hot").all()
    pd.testing.assert_index_equal(out.index, pd.RangeIndex(len(out)))
