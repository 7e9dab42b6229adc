"""overview_map: with a small fake atlas (same methods as cami_atlas.atlas.Atlas) and with
the embedded default atlas."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pytest
import shapely

from cami_atlas.errors import LayerNotFoundError, UnknownSpeciesError
from cami_atlas.maps import (
    BARRIER_COLORS,
    INFRA_STYLES,
    layer_names,
    overview_map,
    save_map,
)
from cami_atlas.maps._elements import VectorFeatures


class FakeAtlas:
    """Synthetic stand-in with the Atlas methods overview_map uses."""

    name = "fake atlas"
    region = shapely.box(50, 40, 70, 50)

    def __init__(self, *, with_ranges: bool = True) -> None:
        self.layers = {
            "countries": ("country", gpd.GeoDataFrame(
                {"iso3": ["KAZ", "UZB", "BRA"], "name": ["Kazakhstan", "Uzbekistan", "Brazil"]},
                geometry=[shapely.box(50, 45, 70, 55), shapely.box(55, 37, 70, 45),
                          shapely.box(-60, -20, -40, 0)], crs="EPSG:4326")),
            "borders": ("border", gpd.GeoDataFrame(
                {"iso3_left": ["KAZ"], "iso3_right": ["UZB"]},
                geometry=[shapely.LineString([(55, 45), (70, 45)])], crs="EPSG:4326")),
            "railways": ("infrastructure", gpd.GeoDataFrame(
                {"infra_type": ["railway", "railway"], "track": ["double track", None]},
                geometry=[shapely.LineString([(52, 46), (60, 48)]),
                          shapely.LineString([(60, 48), (80, 49)])],  # leaves the region
                crs="EPSG:4326")),
            "fences": ("infrastructure", gpd.GeoDataFrame(
                {"infra_type": ["fence"]}, geometry=[shapely.LineString([(58, 41), (58, 49)])],
                crs="EPSG:4326")),
        }
        if with_ranges:
            self.layers["ranges"] = ("species_range", gpd.GeoDataFrame(
                {"species": ["Saiga_tatarica", "Panthera_pardus"]},
                geometry=[shapely.box(51, 44, 60, 49), shapely.box(60, 38, 68, 42)],
                crs="EPSG:4326").to_crs("EPSG:6933"))

    def layer_names(self, kind: str | None = None) -> list[str]:
        return [n for n, (k, _) in self.layers.items() if kind is None or k == kind]

    def read(self, name: str) -> gpd.GeoDataFrame:
        return self.layers[name][1].copy()


def _plain(names: list[str]) -> list[str]:
    return [re.sub(r"<span[^>]*></span>", "", n) for n in names]


def _group(m, name):
    return next(c for c in m._children.values()
                if getattr(c, "layer_name", "").endswith(name))


def _colors(group) -> list[str]:
    (vf,) = [c for c in group._children.values() if isinstance(c, VectorFeatures)]
    styles = json.loads(vf.styles_js)
    return [styles[f["properties"]["k"]]["color"]
            for f in json.loads(vf.data_js)["features"]]


def test_overview_layers_of_a_fake_atlas():
    m = overview_map(FakeAtlas(), basemap=None)
    assert _plain(layer_names(m)) == ["Countries", "Borders", "Range: Panthera pardus",
                                      "Range: Saiga tatarica", "Railways", "Fences"]
    # the view is the atlas region, Brazil is not drawn, the railway is clipped to the
    # region's box + 2 degrees (ends at 72 E)
    assert m._cami_bounds == (50.0, 40.0, 70.0, 50.0)
    (vf,) = [c for c in _group(m, "Countries")._children.values()
             if isinstance(c, VectorFeatures)]
    assert len(json.loads(vf.data_js)["features"]) == 2
    (vf,) = [c for c in _group(m, "Railways")._children.values()
             if isinstance(c, VectorFeatures)]
    xs = [x for f in json.loads(vf.data_js)["features"]
          for x, _ in f["geometry"]["coordinates"]]
    assert max(xs) == pytest.approx(72.0)
    # no species: infrastructure coloured by type
    assert _colors(_group(m, "Railways")) == [INFRA_STYLES["railway"]["color"]] * 2
    html = m.get_root().render()
    assert "fake atlas overview" in html


def test_overview_for_a_species_colours_barrier_classes():
    m = overview_map(FakeAtlas(), species="saiga tatarica", basemap=None)
    assert _plain(layer_names(m)) == ["Countries", "Borders", "Range: Saiga tatarica",
                                      "Railways", "Fences"]
    # 2017 matrix, Saiga_spp: double track -> complete; no attributes -> unknown
    assert _colors(_group(m, "Railways")) == [BARRIER_COLORS["complete barrier"],
                                              BARRIER_COLORS["unknown"]]
    # a common name finds the range through the matrix's synonyms
    m2 = overview_map(FakeAtlas(), species="saiga", basemap=None)
    assert "Range: Saiga tatarica" in _plain(layer_names(m2))[2]


def test_overview_species_without_matrix_entry_warns():
    with pytest.warns(UserWarning, match="coloured by type instead"):
        m = overview_map(FakeAtlas(), species="Panthera_pardus", basemap=None)
    assert _colors(_group(m, "Fences")) == [INFRA_STYLES["fence"]["color"]]


def test_overview_errors():
    with pytest.raises(UnknownSpeciesError, match=r"'Capra_sibirica'.*Saiga_tatarica"):
        overview_map(FakeAtlas(), species="Capra sibirica", basemap=None)
    with pytest.raises(LayerNotFoundError, match="no species_range layer"):
        overview_map(FakeAtlas(with_ranges=False), species="Saiga_tatarica", basemap=None)


@pytest.fixture(scope="module")
def default_atlas():
    from cami_atlas.atlas import Atlas

    return Atlas.default()


def test_overview_of_the_default_atlas_is_light(default_atlas, tmp_path):
    m = overview_map(default_atlas, basemap=None)
    names = _plain(layer_names(m))
    n_species = default_atlas.read("species_ranges")["species"].nunique()
    assert len(names) == 2 + n_species + len(default_atlas.layer_names("infrastructure"))
    assert names[:2] == ["Countries", "Borders"]
    size_mb = save_map(m, tmp_path / "overview.html").stat().st_size / 1e6
    assert size_mb < 5.0  # "a few MB at most" (measured 4.3 MB with 1 km simplification)
