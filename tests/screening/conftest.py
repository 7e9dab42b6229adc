"""A small synthetic atlas (named as synthetic) with known answers for route screening.

Layout (lon/lat, EPSG:4326), every edge a meridian or a parallel:

* countries ``AAA`` (lat 40-45) and ``BBB`` (lat 45-50), lon 60-70;
* ranges: ``Saiga_tatarica`` lon 64-66, lat 42-48 (IUCN CR); ``Equus_hemionus``
  lon 64.5-65.5, lat 46-47.5;
* a saiga corridor polygon lon 63-67, lat 44-44.5, and a khulan migration route along
  lat 46.8 from lon 64 to 66;
* protected areas ``Reserve North`` lon 64.8-65.5, lat 47.8-48.5 (crossed) and
  ``Reserve East`` lon 66.5-67, lat 42-43 (not crossed);
* existing infrastructure: a highway along lat 45.2 from lon 63 to 67.

The route runs along the meridian 65 E from lat 41 to 49, so it is split at lat 42,
44, 44.5, 45, 46, 47.5, 47.8, 48 and 48.5, and every length inside a zone is the
meridian arc between two latitudes (pyproj.Geod computes it independently).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, box

from cami_atlas.atlas import Atlas

ROUTE_LON = 65.0
ROUTE_LATS = (41.0, 49.0)
SPLIT_LATS = (41.0, 42.0, 44.0, 44.5, 45.0, 46.0, 47.5, 47.8, 48.0, 48.5, 49.0)


def _gdf(data: dict, geoms: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")


def build_toy_atlas(path: Path | None = None) -> Atlas:
    atlas = Atlas("toy (synthetic)", region=box(60, 40, 70, 50))
    src = dict(source="synthetic test layer", licence="CC0-1.0")
    atlas.add_layer("countries", _gdf({"iso3": ["AAA", "BBB"], "name": ["Aland", "Bland"]},
                                      [box(60, 40, 70, 45), box(60, 45, 70, 50)]),
                    "country", **src)
    atlas.add_layer("ranges", _gdf({"species": ["Saiga_tatarica", "Equus_hemionus"],
                                    "iucn_status_2016": ["CR", "NT"]},
                                   [box(64, 42, 66, 48), box(64.5, 46, 65.5, 47.5)]),
                    "species_range", **src)
    atlas.add_layer("corridors", _gdf({"species": ["Saiga_tatarica", "Equus_hemionus"],
                                       "use_class": ["high", "medium"]},
                                      [box(63, 44, 67, 44.5),
                                       LineString([(64, 46.8), (66, 46.8)])]),
                    "corridor", **src)
    atlas.add_layer("reserves", _gdf({"name": ["Reserve North", "Reserve East"],
                                      "designation": ["nature reserve", "national park"]},
                                     [box(64.8, 47.8, 65.5, 48.5), box(66.5, 42, 67, 43)]),
                    "protected_area", **src)
    atlas.add_layer("roads", _gdf({"infra_type": ["road"], "road_class": ["highway"]},
                                  [LineString([(63, 45.2), (67, 45.2)])]),
                    "infrastructure", **src)
    if path is not None:
        atlas.save(path)
        return Atlas.open(path)
    return atlas


@pytest.fixture(scope="session")
def toy_atlas_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "toy_atlas.gpkg"
    build_toy_atlas(path)
    return path


@pytest.fixture(scope="session")
def toy_atlas(toy_atlas_path: Path) -> Atlas:
    return Atlas.open(toy_atlas_path)


@pytest.fixture(scope="session")
def toy_route() -> gpd.GeoDataFrame:
    return _gdf({"name": ["proposed rail (synthetic)"]},
                [LineString([(ROUTE_LON, ROUTE_LATS[0]), (ROUTE_LON, ROUTE_LATS[1])])])
