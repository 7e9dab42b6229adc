"""Km of infrastructure inside species ranges, by barrier class and country."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely import LineString, box

from cami_atlas.atlas import Atlas
from cami_atlas.barriers.overlay import infrastructure_in_ranges, species_polygons
from cami_atlas.errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    OptionError,
    SchemaError,
    UnknownSpeciesError,
)

GEOD = Geod(ellps="WGS84")
RANGE_STATES = ["AFG", "CHN", "IND", "IRN", "KAZ", "KGZ", "MNG", "NPL", "PAK", "RUS", "TJK",
                "TKM", "UZB"]


def _geod_km(geom) -> float:
    return GEOD.geometry_length(geom) / 1000.0


@pytest.fixture
def toy():
    """Two countries split at lon 60.05; a square range 60.00..60.10 E, 45.00..45.10 N;
    a 10 km railway along lat 45.05 N from the range's west edge westwards/eastwards:
    half of it (5 km) inside the range, crossing the country border at 60.05 E."""
    lat = 45.05
    # longitude span of 10 km along the parallel, centred on the range's east edge
    lon_c = 60.10
    az_w = GEOD.fwd(lon_c, lat, 270, 5000)
    az_e = GEOD.fwd(lon_c, lat, 90, 5000)
    rail = LineString([(az_w[0], lat), (az_e[0], lat)])
    countries = gpd.GeoDataFrame({"iso3": ["AAA", "BBB"], "name": ["A", "B"]},
                                 geometry=[box(59, 44, 60.05, 46), box(60.05, 44, 61, 46)],
                                 crs="EPSG:4326")
    ranges = gpd.GeoDataFrame({"species": ["Saiga tatarica"]},
                              geometry=[box(60.0, 45.0, 60.1, 45.1)], crs="EPSG:4326")
    infra = gpd.GeoDataFrame({"infra_type": ["railway"], "track": ["double"]},
                             geometry=[rail], crs="EPSG:4326", index=pd.Index([7], name="id"))
    return infra, ranges, countries


def test_toy_lengths_by_country(toy):
    infra, ranges, countries = toy
    t = infrastructure_in_ranges(infra, ranges, countries=countries)
    rail = infra.geometry.iloc[0]
    total = _geod_km(rail)
    assert total == pytest.approx(10.0, rel=1e-3)
    in_a = _geod_km(rail.intersection(box(60.0, 45.0, 60.05, 45.1)))
    in_b = _geod_km(rail.intersection(box(60.05, 45.0, 60.1, 45.1)))
    assert in_a + in_b == pytest.approx(total / 2, rel=1e-3)  # half inside the range
    got = t.set_index("country")["length_km"]
    assert sorted(got.index) == ["AAA", "BBB"]
    assert got["AAA"] == pytest.approx(in_a, rel=1e-6)
    assert got["BBB"] == pytest.approx(in_b, rel=1e-6)
    assert set(t["barrier_class"]) == {"complete barrier"}  # saiga x double track
    assert set(t["matrix_species"]) == {"Saiga_spp"}
    assert set(t["species"]) == {"Saiga_tatarica"}
    # study area = countries ∪ range: the whole railway is inside it
    assert t["share_of_type"].to_numpy() == pytest.approx(
        np.array([in_a, in_b]) / total, rel=1e-6)
    # density: km per 1000 km² of range in that country (ESRI:102025 areas)
    areas = gpd.GeoSeries([box(60.0, 45.0, 60.05, 45.1), box(60.05, 45.0, 60.1, 45.1)],
                          crs="EPSG:4326").to_crs("ESRI:102025").area.to_numpy() / 1e6
    assert t["range_area_km2"].to_numpy() == pytest.approx(areas, rel=1e-4)
    assert t["density_km_per_1000km2"].to_numpy() == pytest.approx(
        np.array([in_a, in_b]) / areas * 1000, rel=1e-4)


def test_outside_countries_and_no_countries(toy):
    infra, ranges, countries = toy
    only_a = countries[countries.iso3 == "AAA"]
    t = infrastructure_in_ranges(infra, ranges, countries=only_a)
    assert t.set_index("country")["length_km"].to_dict() == pytest.approx(
        infrastructure_in_ranges(infra, ranges, countries=countries)
        .set_index("country")["length_km"].rename({"BBB": "none"}).to_dict(), rel=1e-9)
    t_all = infrastructure_in_ranges(infra, ranges)
    assert t_all["country"].tolist() == ["all"]
    assert t_all["length_km"].item() == pytest.approx(_geod_km(infra.geometry.iloc[0]) / 2,
                                                      rel=1e-3)
    # study area defaults to the ranges only -> the half inside is the whole denominator
    assert t_all["share_of_type"].item() == pytest.approx(1.0)


def test_study_area_and_crs_handling(toy):
    infra, ranges, countries = toy
    sa = gpd.GeoSeries([box(60.0, 44.0, 61.0, 46.0)], crs="EPSG:4326").to_crs("EPSG:32641")
    t = infrastructure_in_ranges(infra.to_crs("EPSG:32641"), ranges.to_crs("EPSG:6933"),
                                 countries=countries, study_area=sa)
    rail = infra.geometry.iloc[0]
    east = _geod_km(rail.intersection(box(60.0, 44, 61, 46)))
    # shares relative to the railway inside the study area only (the eastern 5 km + 5 km)
    assert t["length_km"].sum() / east == pytest.approx(t["share_of_type"].sum(), rel=1e-9)
    assert t["length_km"].sum() == pytest.approx(_geod_km(rail) / 2, rel=2e-3)
    # a study area that cuts the range: only the part inside is counted
    half = gpd.GeoDataFrame(geometry=[box(60.05, 44, 61, 46)], crs="EPSG:4326")
    t2 = infrastructure_in_ranges(infra, ranges, countries=countries, study_area=half)
    assert t2["country"].tolist() == ["BBB"]


def test_classes_species_and_corridors():
    ranges = gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Equus_kiang"]},
        geometry=[box(0, 0, 10_000, 10_000), box(0, 0, 10_000, 10_000)], crs="ESRI:102025")
    corridors = gpd.GeoDataFrame(
        {"species": ["Saiga tatarica", "Saiga_tatarica"]},
        geometry=[box(10_000, 0, 20_000, 10_000), LineString([(0, -5000), (0, 50_000)])],
        crs="ESRI:102025")
    infra = gpd.GeoDataFrame(
        {"infra_type": ["road", "road", "canal"],
         "road_class": ["highway", "local road", None]},
        geometry=[LineString([(1000, 5000), (19_000, 5000)]),
                  LineString([(5000, 1000), (5000, 9000)]),
                  LineString([(2000, 2000), (3000, 2000)])],
        crs="ESRI:102025")
    t = infrastructure_in_ranges(infra, ranges, corridors=corridors)
    saiga = t[t.species == "Saiga_tatarica"].set_index(["infra_type", "barrier_class"])
    # range ∪ corridor polygon; the route line is ignored
    assert saiga.loc[("road", "complete barrier"), "length_km"] == pytest.approx(
        _geod_km(gpd.GeoSeries([infra.geometry[0]], crs="ESRI:102025").to_crs(4326)[0]),
        rel=1e-9)
    assert saiga.loc[("canal", "unknown"), "length_km"] > 0
    kiang = t[t.species == "Equus_kiang"]
    assert set(kiang["barrier_class"]) == {"unknown"}  # not in the 2017 matrix
    assert kiang["matrix_species"].isna().all()
    assert kiang["range_area_km2"].iloc[0] == pytest.approx(100.0)
    only = infrastructure_in_ranges(infra, ranges, corridors=corridors, species="saiga")
    assert set(only["species"]) == {"Saiga_tatarica"}
    with pytest.raises(UnknownSpeciesError, match="Equus_kiang not in the barrier matrix"):
        infrastructure_in_ranges(infra, ranges, unmatched_species="raise")
    with pytest.raises(UnknownSpeciesError, match="'snow leopard' has no range or corridor"):
        infrastructure_in_ranges(infra, ranges, species=["snow leopard"])
    polys = species_polygons(ranges, corridors=corridors)
    assert polys.area.to_dict() == pytest.approx({"Equus_kiang": 1e8, "Saiga_tatarica": 2e8})


def test_shares_sum_to_one_when_all_inside():
    ranges = gpd.GeoDataFrame({"species": ["Ovis_ammon"]}, geometry=[box(0, 0, 1e5, 1e5)],
                              crs="ESRI:102025")
    rng = np.random.default_rng(5)
    xy = rng.uniform(1000, 99_000, (50, 2, 2))
    infra = gpd.GeoDataFrame({"infra_type": ["fence"] * 50},
                             geometry=shapely.linestrings(xy), crs="ESRI:102025")
    t = infrastructure_in_ranges(infra, ranges)
    assert t["share_of_type"].sum() == pytest.approx(1.0)
    # reference: each line as drawn (straight in ESRI:102025), cut every 100 m, measured on
    # the ellipsoid; lines are densified to 10 km before reprojection, so this agrees to 1e-8
    dense = gpd.GeoSeries(shapely.segmentize(infra.geometry.values, 100.0), crs=infra.crs)
    assert t["length_km"].sum() == pytest.approx(
        sum(_geod_km(g) for g in dense.to_crs(4326)), rel=1e-8)


def test_errors(toy):
    infra, ranges, countries = toy
    with pytest.raises(CRSError, match="infrastructure has no CRS"):
        infrastructure_in_ranges(infra.set_crs(None, allow_override=True), ranges)
    with pytest.raises(CRSError, match="species ranges has no CRS"):
        infrastructure_in_ranges(infra, ranges.set_crs(None, allow_override=True))
    with pytest.raises(MissingColumnError, match=r"countries has no column 'iso3' \(found 'ISO3'"):
        infrastructure_in_ranges(infra, ranges, countries=countries.rename(columns={"iso3": "ISO3"}))
    with pytest.raises(MissingColumnError, match="infrastructure has no column 'infra_type'"):
        infrastructure_in_ranges(infra.drop(columns="infra_type"), ranges)
    with pytest.raises(GeometryTypeError, match="species ranges holds LineString"):
        infrastructure_in_ranges(infra, infra.assign(species="Saiga_tatarica"))
    bowtie = shapely.Polygon([(60, 45), (60.1, 45.1), (60.1, 45), (60, 45.1)])
    with pytest.raises(InvalidGeometryError, match=r"1 invalid geometry.*make_valid"):
        infrastructure_in_ranges(infra, ranges.set_geometry([bowtie], crs=4326))
    with pytest.raises(EmptyLayerError, match="infrastructure has no features"):
        infrastructure_in_ranges(infra.iloc[:0], ranges)
    with pytest.raises(SchemaError, match="expected a GeoDataFrame, got DataFrame"):
        infrastructure_in_ranges(pd.DataFrame(infra), ranges)
    with pytest.raises(SchemaError, match="study_area: expected a GeoDataFrame or GeoSeries"):
        infrastructure_in_ranges(infra, ranges, study_area=box(0, 0, 1, 1))
    with pytest.raises(OptionError, match="unmatched_species='drop' is not valid"):
        infrastructure_in_ranges(infra, ranges, unmatched_species="drop")


def test_default_atlas_railways_per_range_state():
    """Default atlas (NE 10m railways, PHYLACINE ranges, NE 50m countries): km of railway
    per range state vs an independent computation (shapely intersections in lon/lat +
    pyproj.Geod.geometry_length)."""
    atlas = Atlas.default()
    ranges = atlas.read("species_ranges")
    countries = atlas.read("countries")
    rail = atlas.read("railways")
    species = ["Saiga_tatarica", "Ovis_ammon", "Gazella_subgutturosa", "Procapra_gutturosa"]
    t = infrastructure_in_ranges(rail, ranges, countries=countries, species=species)
    assert set(t["infra_type"]) == {"railway"}
    lines = rail.geometry.to_numpy()
    tree = shapely.STRtree(lines)
    checked = 0
    for sp in species:
        rng_ll = ranges.loc[ranges.species == sp].to_crs("EPSG:4326").geometry.union_all()
        for iso in RANGE_STATES:
            zone = rng_ll.intersection(countries.loc[countries.iso3 == iso].geometry.union_all())
            if zone.is_empty:
                continue
            hits = tree.query(zone, predicate="intersects")
            expected = sum(_geod_km(g) for g in shapely.intersection(lines[hits], zone))
            got = t.loc[(t.species == sp) & (t.country == iso), "length_km"].sum()
            if expected < 1.0:
                assert got < 1.0
                continue
            assert got == pytest.approx(expected, rel=0.005), (sp, iso)
            checked += 1
    assert checked >= 10
    # KAZ has most of the saiga's railways; double track is a complete barrier for saiga
    saiga = t[t.species == "Saiga_tatarica"]
    assert saiga.groupby("country")["length_km"].sum().idxmax() == "KAZ"
    assert {"partial barrier", "complete barrier"} <= set(saiga["barrier_class"])
