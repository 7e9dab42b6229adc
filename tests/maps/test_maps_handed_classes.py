"""Renderers draw the barrier classes they are handed (classify=, resolve=); only the
deprecated fallback reads the barrier matrix itself."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from matplotlib.collections import LineCollection

from cami_atlas.barriers import classify_barriers, resolve_species
from cami_atlas.errors import UnknownSpeciesError
from cami_atlas.figures import range_barrier_figure
from cami_atlas.maps import add_infrastructure, build_map, overview_map

CRS = "ESRI:102025"


def _infra() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway"], "track": ["double track", "single track"]},
        geometry=[shapely.LineString([(50, 45), (51, 46)]),
                  shapely.LineString([(52, 45), (53, 46)])], crs="EPSG:4326")


def _calls(log: list[str]):
    def classify(infra: gpd.GeoDataFrame, species: str) -> pd.Series:
        log.append(species)
        return pd.Series(["not a barrier", "complete barrier"], index=infra.index)
    return classify


def test_figure_draws_the_classes_handed_in_without_warning():
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                              geometry=[shapely.box(49, 44, 54, 47)], crs="EPSG:4326")
    log: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        fig = range_barrier_figure(ranges, _infra(), species="Saiga_tatarica",
                                   classify=_calls(log))
    assert log == ["Saiga_tatarica"]
    labels = {c.get_label() for c in fig.axes[0].collections if isinstance(c, LineCollection)}
    # the handed-in classes, not the matrix' (which rates these complete and partial)
    assert labels == {"not a barrier", "complete barrier"}


def test_fallback_to_the_matrix_is_deprecated_but_unchanged():
    ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                              geometry=[shapely.box(49, 44, 54, 47)], crs="EPSG:4326")
    with pytest.warns(DeprecationWarning, match="classify=cami_atlas.barriers.classify_barriers"):
        old = range_barrier_figure(ranges, _infra(), species="Saiga_tatarica")
    new = range_barrier_figure(ranges, _infra(), species="Saiga_tatarica",
                               classify=classify_barriers)
    label = [{c.get_label() for c in f.axes[0].collections if isinstance(c, LineCollection)}
             for f in (old, new)]
    assert label[0] == label[1] == {"complete barrier", "partial barrier"}


def test_add_infrastructure_uses_classify():
    log: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        add_infrastructure(build_map(basemap=None), _infra(), species="Saiga_tatarica",
                           classify=_calls(log))
    assert log == ["Saiga_tatarica"]
    with pytest.warns(DeprecationWarning, match="add_infrastructure classified"):
        add_infrastructure(build_map(basemap=None), _infra(), species="Saiga_tatarica")


class FakeAtlas:
    name = "fake"
    region = None

    def layer_names(self, kind: str | None = None) -> list[str]:
        return {"species_range": ["ranges"], "infrastructure": ["railways"]}.get(kind, [])

    def read(self, name: str) -> gpd.GeoDataFrame:
        if name == "ranges":
            return gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                                    geometry=[shapely.box(49, 44, 54, 47)], crs="EPSG:4326")
        return _infra()


def test_overview_map_with_handed_in_tools():
    log: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        overview_map(FakeAtlas(), species="saiga", basemap=None, classify=_calls(log),
                     resolve=resolve_species)
    assert log == ["saiga"]  # the species as asked, found through the synonyms

    def unknown(name: str) -> str:
        raise UnknownSpeciesError(f"{name!r} is not rated")

    with pytest.warns(UserWarning, match="coloured by type instead"):
        overview_map(FakeAtlas(), species="Saiga_tatarica", basemap=None,
                     classify=_calls(log), resolve=unknown)
    assert log == ["saiga"]  # a species resolve does not know is not classified
