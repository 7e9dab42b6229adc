"""read_layer (dispatch, mapping detection, CRS rule, validation) and read_raster."""

from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely import LineString, Polygon, box

from cami_atlas.errors import (
    CRSError,
    InvalidGeometryError,
    LayerReadError,
    MissingColumnError,
    OptionError,
    UnknownValueError,
)
from cami_atlas.io import detect_mapping, read_layer, read_raster
from cami_atlas.raster import Grid

LINES = [LineString([(71.0, 51.0), (71.2, 51.1)]), LineString([(71.2, 51.1), (71.4, 51.0)])]


def infra_file(tmp_path, name="synthetic_infra.gpkg", crs="EPSG:4326", **cols):
    data = cols or {"infra_type": ["road", "railway"], "track": [None, "double"]}
    path = tmp_path / name
    gpd.GeoDataFrame(data, geometry=LINES, crs=crs).to_file(path)
    return path


def test_atlas_columns_are_validated_and_normalised(tmp_path):
    out = read_layer(infra_file(tmp_path), "infrastructure")
    assert out["track"].tolist() == [None, "double track"]
    assert out.crs.to_epsg() == 4326


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_crs_set_only_when_file_has_none(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"infra_type": ["road", "fence"]}, geometry=LINES).to_file(
        folder / "noprj.shp")
    assert not (folder / "noprj.prj").exists()
    with pytest.raises(CRSError, match=r"has no CRS\. Set the CRS the data is actually in"):
        read_layer(folder / "noprj.shp", "infrastructure")
    out = read_layer(folder / "noprj.shp", "infrastructure", crs="EPSG:4326")
    assert out.crs.to_epsg() == 4326
    # same CRS given again is fine; a different one is refused
    assert read_layer(infra_file(tmp_path), "infrastructure", crs="EPSG:4326").crs.to_epsg() \
        == 4326
    with pytest.raises(CRSError, match=r"stored in EPSG:4326 but crs='EPSG:32642' was given.*"
                                       r"reproject after reading"):
        read_layer(infra_file(tmp_path, "b.gpkg"), "infrastructure", crs="EPSG:32642")
    with pytest.raises(CRSError, match=r"crs='nonsense' is not a CRS"):
        read_layer(folder / "noprj.shp", "infrastructure", crs="nonsense")


def test_misspelled_column_and_unknown_value(tmp_path):
    path = infra_file(tmp_path, infra_typ=["road", "road"])
    with pytest.raises(MissingColumnError, match=r"'infra_type' \(found 'infra_typ': rename it\)"):
        read_layer(path, "infrastructure", mapping="none")
    path = infra_file(tmp_path, "v.gpkg", infra_type=["road", "raod"])
    with pytest.raises(UnknownValueError, match=r"'infra_type' has unknown value\(s\) 'raod' "
                                                r"\(1x\)\. Allowed: 'road', 'railway', 'fence'"):
        read_layer(path, "infrastructure")


def test_unknown_kind_mapping_and_options(tmp_path):
    path = infra_file(tmp_path)
    with pytest.raises(OptionError, match=r"kind='roads' is not valid.*'infrastructure'"):
        read_layer(path, "roads")
    with pytest.raises(OptionError, match=r"mapping='osmm' is not valid.*Did you mean 'osm'"):
        read_layer(path, "infrastructure", mapping="osmm")
    with pytest.raises(OptionError, match=r"options \['presence'\] need a mapping"):
        read_layer(path, "infrastructure", mapping="none", presence=(1,))
    with pytest.raises(OptionError, match=r"'colour' do not apply to mapping='osm'; it accepts: "
                                          r"id_column"):
        read_layer(infra_file(tmp_path, "o.gpkg", highway=["primary", "trunk"]),
                   "infrastructure", colour="red")


def test_missing_corrupt_unknown_extension(tmp_path):
    with pytest.raises(LayerReadError, match=r"absent.gpkg does not exist"):
        read_layer(tmp_path / "absent.gpkg", "infrastructure")
    bad = tmp_path / "garbage.fgb"
    bad.write_bytes(b"\x00" * 300)
    with pytest.raises(LayerReadError, match=r"garbage.fgb as FlatGeobuf: "):
        read_layer(bad, "infrastructure")
    odd = tmp_path / "routes.gpx"
    odd.write_text("<gpx/>")
    with pytest.raises(LayerReadError, match=r"'\.gpx' is not a supported vector format"):
        read_layer(odd, "infrastructure")


def test_repair_is_passed_through(tmp_path):
    bowtie = Polygon([(50, 45), (51, 46), (51, 45), (50, 46), (50, 45)])
    path = tmp_path / "ranges.geojson"
    gpd.GeoDataFrame({"species": ["Saiga tatarica", "Saiga tatarica"]},
                     geometry=[bowtie, box(52, 45, 53, 46)], crs="EPSG:4326").to_file(path)
    with pytest.raises(InvalidGeometryError, match=r"1 invalid geometry.*repair=True"):
        read_layer(path, "species_range")
    out = read_layer(path, "species_range", repair=True)
    assert out.is_valid.all() and out["species"].tolist() == ["Saiga_tatarica"] * 2


def test_iucn_auto_from_zipped_shapefile(tmp_path):
    folder = tmp_path / "iucn"
    folder.mkdir()
    gpd.GeoDataFrame(  # synthetic IUCN-style ranges (invented)
        {"BINOMIAL": ["Equus hemionus"] * 3, "PRESENCE": [1, 4, 1], "ORIGIN": [1, 1, 2],
         "SEASONAL": [1, 1, 2]},
        geometry=[box(90, 43, 95, 46), box(60, 43, 65, 46), box(95, 43, 100, 46)],
        crs="EPSG:4326").to_file(folder / "synthetic_iucn_ranges.shp")
    archive = tmp_path / "synthetic_iucn_ranges.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, arcname=f"redlist_species_data/{f.name}")
    out = read_layer(archive, "species_range")
    assert out["species"].tolist() == ["Equus_hemionus"] * 2
    assert out["season"].tolist() == ["resident", "breeding"]
    assert out["origin"].tolist() == [1, 2]
    wider = read_layer(archive, "species_range", presence=(1, 4))
    assert len(wider) == 3
    with pytest.raises(MissingColumnError, match=r"missing required column\(s\) 'species'"):
        read_layer(archive, "species_range", mapping="none")


def test_cami2017_auto(tmp_path):
    fences = infra_file(tmp_path, "fences2017.shp", type_=["woven", "wall"],
                        height=["high", "medium"], bottom_gap=["low", "high"])
    out = read_layer(fences, "infrastructure")
    assert out[["infra_type", "fence_type", "fence_height", "fence_bottom_gap"]
               ].values.tolist() == [["fence", "woven barbed wire", "high [>2m]", "low [<30cm]"],
                                     ["fence", "wall", "medium", "high [>30cm]"]]
    ambiguous = infra_file(tmp_path, "surface.gpkg", type_=["paved", "unpaved"])
    with pytest.raises(OptionError, match=r"do not tell the infrastructure type; pass "
                                          r"infra_type="):
        read_layer(ambiguous, "infrastructure")
    roads = read_layer(ambiguous, "infrastructure", infra_type="road")
    assert roads["road_surface"].tolist() == ["paved", "unpaved"]


def test_detect_mapping():
    def g(**cols):
        return gpd.GeoDataFrame(cols, geometry=LINES[:1])
    assert detect_mapping(g(highway=["primary"]), "infrastructure") == "osm"
    assert detect_mapping(g(other_tags=['"power"=>"line"']), "infrastructure") == "osm"
    assert detect_mapping(g(type1=["highway"]), "infrastructure") == "cami2017"
    assert detect_mapping(g(infra_type=["road"], highway=["primary"]), "infrastructure") == "none"
    assert detect_mapping(g(binomial=["Ovis ammon"], presence=[1]), "species_range") == "iucn"
    assert detect_mapping(g(species=["Ovis ammon"]), "species_range") == "none"


def test_tracks_csv_dispatch(tmp_path):
    path = tmp_path / "fixes.csv"
    path.write_text("individual,timestamp,lon,lat\nk1,2020-01-01,100,45\nk1,2019-12-31,101,45\n")
    out = read_layer(path, "tracks", species="Equus hemionus")
    assert out["timestamp"].dt.year.tolist() == [2019, 2020]
    assert set(out["species"]) == {"Equus_hemionus"}
    with pytest.raises(OptionError, match=r"CSV files are read as GPS tracks \(kind='tracks'\)"):
        read_layer(path, "infrastructure")
    projected = tmp_path / "xy.csv"
    projected.write_text("individual,timestamp,lon,lat\nk1,2020-01-01,500000,5000000\n")
    assert read_layer(projected, "tracks", crs="EPSG:32648").crs.to_epsg() == 32648


def write_grid(path, crs="EPSG:4326"):
    values = np.array([[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    return Grid(values, Affine(0.5, 0, 70, 0, -0.5, 45), crs).to_geotiff(path)


def test_read_raster_and_dispatch(tmp_path):
    path = write_grid(tmp_path / "synthetic_dem.tif")
    grid = read_raster(path)
    np.testing.assert_array_equal(grid.values, [[1.0, 2.0, np.nan], [4.0, 5.0, 6.0]])
    assert grid.transform == Affine(0.5, 0, 70, 0, -0.5, 45) and grid.crs.to_epsg() == 4326
    via_layer = read_layer(path, "raster")
    assert isinstance(via_layer, Grid)
    np.testing.assert_array_equal(via_layer.values, grid.values)
    with pytest.raises(OptionError, match=r"is a raster; read it with kind='raster'"):
        read_layer(path, "infrastructure")
    with pytest.raises(CRSError, match=r"stored in EPSG:4326 but crs='EPSG:32643'"):
        read_layer(path, "raster", crs="EPSG:32643")
    with pytest.raises(CRSError, match=r"crs='EPSG:0' is not a CRS"):
        read_layer(path, "raster", crs="EPSG:0")
    assert read_layer(path, "raster", crs="EPSG:4326").crs.to_epsg() == 4326


def test_raster_errors(tmp_path):
    with pytest.raises(LayerReadError, match=r"raster file .*nodem.tif does not exist"):
        read_raster(tmp_path / "nodem.tif")
    bad = tmp_path / "corrupt.tif"
    bad.write_bytes(b"II*\x00" + b"\xff" * 100)
    with pytest.raises(LayerReadError, match=r"corrupt.tif"):
        read_raster(bad)
    path = write_grid(tmp_path / "one_band.tif")
    with pytest.raises(LayerReadError, match=r"has 1 band\(s\); band=2 is not one"):
        read_raster(path, band=2)


def test_real_dem_and_natural_earth(real_data):
    dem = read_layer(real_data / "dem" / "gebco2023_kyrgyzstan_tianshan_1arcmin.tif", "raster")
    assert dem.shape == (503, 1099)  # PROVENANCE: 1099 x 503
    assert dem.crs.to_epsg() == 4326
    pytest.importorskip("cami_atlas.sources.natural_earth")
    rail = read_layer(real_data / "natural_earth" / "ne_10m_railroads_cami.gpkg",
                      "infrastructure")
    assert len(rail) == 4233 and set(rail["infra_type"]) == {"railway"}  # PROVENANCE §1a
