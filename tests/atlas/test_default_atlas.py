"""The embedded default atlas: contents, provenance, and real-data figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Geod

from cami_atlas.atlas import Atlas, default_atlas_path
from cami_atlas.raster import Grid

EXPECTED = {
    "countries": "country",
    "borders": "border",
    "railways": "infrastructure",
    "roads": "infrastructure",
    "osm_astana": "infrastructure",
    "rivers": "water",
    "lakes": "water",
    "places": "places",
    "species_ranges": "species_range",
    "dem": "raster",
    "dem_etopo5": "raster",
    "landcover_modis": "raster",
}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def atlas() -> Atlas:
    return Atlas.default()


def test_default_atlas_location_and_size() -> None:
    path = default_atlas_path()
    assert path == REPO / "data" / "layers" / "cami_default_atlas.gpkg"
    assert path.stat().st_size < 15e6


def test_layers_kinds_and_provenance(atlas: Atlas) -> None:
    table = atlas.list_layers().set_index("name")
    assert len(table) >= 8
    assert table["kind"].to_dict() == EXPECTED
    assert (table["source"].str.len() > 10).all()
    assert (table["licence"].str.len() > 3).all()
    assert (table["attribution"].str.len() > 10).all()
    assert table.loc["osm_astana", "licence"] == "ODbL-1.0"
    assert table.loc["osm_astana", "attribution"] == "© OpenStreetMap contributors"
    assert table.loc["species_ranges", "licence"] == "CC0-1.0"
    assert "doi:10.1002/ecy.2443" in table.loc["species_ranges", "attribution"]
    assert "GPL" not in " ".join(table["licence"])
    assert atlas.region.bounds == (44.0, 23.0, 125.0, 56.0)
    assert atlas.analysis_crs == CRS("ESRI:102025")
    assert atlas.read_only


def test_every_layer_validates(atlas: Atlas) -> None:
    report = atlas.validate()
    assert report["ok"].all(), report.loc[~report["ok"], "problem"].tolist()
    assert len(report) == len(EXPECTED)


def test_feature_counts_match_provenance(atlas: Atlas) -> None:
    # PROVENANCE.md: 32 countries, 95 land boundary lines, 4,233 railroads, 3,937 roads
    # (one of them the Ferry Route, dropped), 235 rivers, 250 lakes, 1,049 places,
    # 16 PHYLACINE species of which Cervus elaphus has no cell in the window.
    counts = atlas.list_layers().set_index("name")["n_features"].to_dict()
    assert counts == {"countries": 32, "borders": 95, "railways": 4233, "roads": 3936,
                      "osm_astana": 1915, "rivers": 235, "lakes": 250, "places": 1049,
                      "species_ranges": 15, "dem": 1099 * 503, "dem_etopo5": 997 * 421,
                      "landcover_modis": 1660 * 700}


def test_railway_length_in_kaz_and_mng(atlas: Atlas) -> None:
    """PROVENANCE.md §6: 16,751 km in the KAZ polygon, 1,510 km in MNG (geodesic)."""
    countries = atlas.read("countries").set_index("iso3")
    rail = atlas.read("railways")
    assert rail.crs == countries.crs == CRS("EPSG:4326")
    geod = Geod(ellps="WGS84")
    for iso3, expected_km in (("KAZ", 16_751), ("MNG", 1_510)):
        inside = rail.geometry.intersection(countries.geometry[iso3])
        km = sum(geod.geometry_length(g) for g in inside if not g.is_empty) / 1000
        assert km == pytest.approx(expected_km, rel=0.005), iso3


def test_railway_attributes(atlas: Atlas) -> None:
    rail = atlas.read("railways")
    countries = atlas.read("countries").set_index("iso3")
    mongolia = rail[rail.intersects(countries.geometry["MNG"])]
    # the Mongolian network is single-track: NE mult_track is 1 or 0 (no data) there
    assert set(mongolia["track"].dropna()) == {"single track"}
    assert set(rail["infra_type"]) == {"railway"}
    assert rail["source_id"].is_unique and rail["source_id"].notna().all()


def test_road_classes(atlas: Atlas) -> None:
    # PROVENANCE.md §8a: type Major Highway 2,113, Unknown 1,281, Road 534,
    # Track 7, Secondary Highway 1, Ferry Route 1
    roads = atlas.read("roads")
    counts = roads["road_class"].value_counts(dropna=False).to_dict()
    assert counts == {"highway": 2113, None: 1281, "major road": 535, "local road": 7}
    assert roads.loc[roads["road_class"] == "local road", "road_surface"].eq("unpaved").all()
    assert "Ferry Route" not in set(roads["source_class"])


def test_species_ranges(atlas: Atlas) -> None:
    ranges = atlas.read("species_ranges")
    assert ranges.crs == CRS("EPSG:6933")
    species = set(ranges["species"])
    assert len(species) == 15
    assert {"Saiga_tatarica", "Procapra_gutturosa", "Equus_hemionus", "Camelus_ferus",
            "Ovis_ammon", "Panthera_uncia"} <= species
    assert "Cervus_elaphus" not in species
    # one PHYLACINE cell is 96.5 km wide: ranges are multiples of ~9,300 km² cells
    cells = ranges.set_index("species")["n_cells_in_window"]
    assert cells["Saiga_tatarica"] == 137 and cells["Camelus_ferus"] == 50


def test_countries_and_borders(atlas: Atlas) -> None:
    countries = atlas.read("countries").set_index("iso3")
    assert countries.loc["KAS", "name"] == "Siachen Glacier"  # NE ISO_A3 is -99 there
    assert countries["cami_range_state"].sum() == 14
    borders = atlas.read("borders")
    pair = borders[((borders.iso3_left == "CHN") & (borders.iso3_right == "MNG"))
                   | ((borders.iso3_left == "MNG") & (borders.iso3_right == "CHN"))]
    km = sum(Geod(ellps="WGS84").geometry_length(g) for g in pair.geometry) / 1000
    assert km == pytest.approx(4_378, rel=0.005)  # PROVENANCE.md §6


def test_dem_is_the_source_grid(atlas: Atlas, real_data: Path) -> None:
    dem = atlas.read("dem")
    assert isinstance(dem, Grid)
    with rasterio.open(real_data / "dem" / "gebco2023_kyrgyzstan_tianshan_1arcmin.tif") as ds:
        source = ds.read(1)
        assert dem.transform == ds.transform
    np.testing.assert_array_equal(dem.values, source.astype("float64"))
    assert (np.nanmin(dem.values), np.nanmax(dem.values)) == (118.0, 7400.0)


def _cell_centres(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.indices(grid.shape)
    x, y = grid.xy(rows.ravel(), cols.ravel())
    return x.reshape(grid.shape), y.reshape(grid.shape)


def test_etopo5_matches_source_and_provenance(atlas: Atlas, real_data: Path) -> None:
    """PROVENANCE.md §9a: exact CAMI bbox (972 x 396 nodes) min -6,687 m, max 7,833 m
    (Karakoram, 75.0 E 36.4 N), mean 1,151 m, median 686 m; Caspian -30 m."""
    etopo = atlas.read("dem_etopo5")
    with rasterio.open(real_data / "dem" / "etopo5_cami_5arcmin.tif") as ds:
        assert etopo.transform == ds.transform
        np.testing.assert_array_equal(etopo.values, ds.read(1).astype("float64"))
    x, y = _cell_centres(etopo)
    eps = 1e-6  # nodes sit on multiples of 1/12 degree: half-open box lon (44, 125], lat [23, 56)
    inside = (x > 44 + eps) & (x < 125 + eps) & (y > 23 - eps) & (y < 56 - eps)
    assert inside.sum(axis=1).max() == 972 and inside.sum(axis=0).max() == 396
    values = etopo.values[inside]
    assert (values.min(), values.max()) == (-6687.0, 7833.0)
    assert values.mean() == pytest.approx(1151, abs=0.5)
    assert np.median(values) == 686.0
    top = np.unravel_index(np.argmax(np.where(inside, etopo.values, -np.inf)), etopo.shape)
    assert (x[top], y[top]) == pytest.approx((75.0, 36.4), abs=0.1)  # rounded there
    row, col = etopo.rowcol(np.array([51.0]), np.array([42.0]))
    assert etopo.values[row[0], col[0]] == -30.0  # the Caspian, a constant surface
    info = atlas.layer_info("dem_etopo5")
    assert "public domain" in info["licence"]
    assert "88-MGG-02" in info["attribution"]
    assert "feet" in info["processing"] and "north-west" in info["processing"]


def test_modis_landcover_matches_source_and_provenance(atlas: Atlas, real_data: Path) -> None:
    """PROVENANCE.md §9b: exact CAMI bbox (1620 x 660 cells) Grasslands 36.3 %, Barren
    21.8 %, Croplands 12.8 %, Water 7.5 %, Woody Savannas 6.7 %, Savannas 3.9 %, Mixed
    Forests 3.0 %, Open Shrublands 2.3 %; Taklamakan Barren, Mongolian steppe Grassland."""
    lc = atlas.read("landcover_modis")
    with rasterio.open(real_data / "landcover" / "modis_mcd12c1_2019_igbp_cami_0p05deg.tif") \
            as ds:
        assert lc.transform == ds.transform
        np.testing.assert_array_equal(lc.values, ds.read(1).astype("float64"))
    x, y = _cell_centres(lc)
    inside = (x > 44) & (x < 125) & (y > 23) & (y < 56)
    assert inside.sum() == 1620 * 660
    classes, counts = np.unique(lc.values[inside], return_counts=True)
    share = dict(zip(classes.astype(int).tolist(), (100 * counts / counts.sum()).round(1),
                     strict=True))
    assert {k: share[k] for k in (10, 16, 12, 0, 8, 9, 5, 7)} == {
        10: 36.3, 16: 21.8, 12: 12.8, 0: 7.5, 8: 6.7, 9: 3.9, 5: 3.0, 7: 2.3}
    assert set(share) <= set(range(17))
    row, col = lc.rowcol(np.array([83.0, 60.0, 106.0, 70.0]), np.array([39.0, 39.0, 47.0, 50.0]))
    assert lc.values[row, col].tolist() == [16.0, 16.0, 10.0, 10.0]
    info = atlas.layer_info("landcover_modis")
    assert "no restrictions" in info["licence"]
    assert "10.5067/MODIS/MCD12C1.006" in info["attribution"]


def test_build_script_refuses_and_rebuilds(real_data: Path, tmp_path: Path) -> None:
    script = REPO / "scripts" / "build_default_atlas.py"
    out = tmp_path / "atlas.gpkg"
    out.write_bytes(b"old")
    run = [sys.executable, str(script), "--source", str(real_data), "--out", str(out)]
    refused = subprocess.run(run, capture_output=True, text=True, check=False)
    assert refused.returncode == 1
    assert "exists already; pass --overwrite" in refused.stderr
    assert out.read_bytes() == b"old"
    done = subprocess.run([*run, "--overwrite"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rebuilt = Atlas.open(out).list_layers()
    shipped = Atlas.default().list_layers()
    assert rebuilt.equals(shipped)
