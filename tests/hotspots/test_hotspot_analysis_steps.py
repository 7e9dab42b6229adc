"""The named steps of the hotspot analysis (cami_atlas.hotspots.analysis, .segments, .build).

Small cases whose figures can be checked by hand; lengths against pyproj.Geod.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Geod
from shapely import LineString, box

from cami_atlas.errors import EmptyLayerError, SchemaError, UnknownSpeciesError
from cami_atlas.hotspots import HOT_CLASSES, hex_grid
from cami_atlas.hotspots.analysis import (
    HotspotLayers,
    analysis_notes,
    analysis_parameters,
    classify_segments,
    range_metrics,
    read_hotspot_layers,
    score_weights,
    segment_ranking,
    select_hotspot_species,
    transboundary_of,
)
from cami_atlas.hotspots.build import border_flags, cell_metrics, gi_cells, score_cells
from cami_atlas.hotspots.segments import (
    habitat_classes,
    hot_cell_pieces,
    ranked_segments,
    weighted_piece_km,
)

CRS = "ESRI:102025"
GEOD = Geod(ellps="WGS84")
SAIGA = "Saiga_tatarica"


def geodesic_km(line: LineString, crs: str = CRS) -> float:
    """Independent geodesic length: the line's vertices in lon/lat, pyproj.Geod."""
    ll = gpd.GeoSeries([line], crs=crs).to_crs("EPSG:4326").iloc[0]
    lon, lat = zip(*ll.coords, strict=True)
    return GEOD.line_length(lon, lat) / 1000.0


def square_cells() -> gpd.GeoDataFrame:
    """Two 10 x 10 km cells side by side, the left one hot."""
    return gpd.GeoDataFrame(
        {"cell_id": ["a", "b"], "gi_class": ["hot spot 95%", "not significant"],
         "score": [0.8, 0.1]},
        geometry=[box(0, 0, 10_000, 10_000), box(10_000, 0, 20_000, 10_000)], crs=CRS)


class FakeAtlas:
    def __init__(self, layers: dict[str, tuple[str, gpd.GeoDataFrame]]):
        self.name = "fake"
        self._layers = layers

    def layer_names(self, kind: str | None = None) -> list[str]:
        return [n for n, (k, _) in self._layers.items() if kind is None or k == kind]

    def read(self, name: str) -> gpd.GeoDataFrame:
        return self._layers[name][1]


# -- read and select -------------------------------------------------------------------------
def test_read_hotspot_layers_needs_infrastructure_and_ranges():
    ranges = gpd.GeoDataFrame({"species": [SAIGA]}, geometry=[box(0, 0, 1, 1)],
                              crs="EPSG:4326")
    rail = gpd.GeoDataFrame({"infra_type": ["railway"]},
                            geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")
    with pytest.raises(EmptyLayerError, match=r"no infrastructure layer.*--kind infrastructure"):
        read_hotspot_layers(FakeAtlas({"ranges": ("species_range", ranges)}))
    with pytest.raises(EmptyLayerError, match=r"no species_range layer.*--kind species_range"):
        read_hotspot_layers(FakeAtlas({"rail": ("infrastructure", rail)}))
    layers = read_hotspot_layers(FakeAtlas({"ranges": ("species_range", ranges),
                                            "rail": ("infrastructure", rail)}))
    assert layers.ranges["layer"].tolist() == ["ranges"]
    assert layers.corridors is None and layers.countries is None and layers.borders is None


def test_select_hotspot_species_by_synonym_and_corridors():
    ranges = gpd.GeoDataFrame({"species": ["Saiga tatarica", "Equus_hemionus"]},
                              geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    corridors = gpd.GeoDataFrame({"species": ["Equus_hemionus"]},
                                 geometry=[box(1, 0, 1.5, 1)], crs="EPSG:4326")
    chosen, sel = select_hotspot_species(HotspotLayers(ranges, corridors), ["saiga"])
    assert chosen == [SAIGA]
    assert sel.ranges["species"].tolist() == [SAIGA]
    assert sel.corridors is None  # no corridor of the saiga
    chosen, sel = select_hotspot_species(HotspotLayers(ranges, corridors), "khulan")
    assert chosen == ["Equus_hemionus"] and len(sel.corridors) == 1
    chosen, _ = select_hotspot_species(HotspotLayers(ranges), None)
    assert chosen == ["Equus_hemionus", SAIGA]
    with pytest.raises(UnknownSpeciesError, match="'Capra sibirica' has no range"):
        select_hotspot_species(HotspotLayers(ranges), ["Capra sibirica"])


# -- classify and range metrics ----------------------------------------------------------------
def test_classify_segments_only_inside_the_habitat():
    ranges = gpd.GeoDataFrame({"species": [SAIGA]}, geometry=[box(0, 0, 10_000, 10_000)],
                              crs=CRS)
    rail = gpd.GeoDataFrame(
        {"infra_type": ["railway", "railway", "railway"],
         "track": ["double track", "single track", "double track"]},
        geometry=[LineString([(0, 5_000), (9_000, 5_000)]),
                  LineString([(5_000, 0), (5_000, 9_000)]),
                  LineString([(50_000, 0), (50_000, 9_000)])], crs=CRS)
    out, habitat = classify_segments(rail, ranges, [SAIGA])
    # 2017 matrix, Saiga spp.: double track complete, single track partial; the third
    # line is outside the range, so it has no class for the saiga
    assert out[SAIGA].tolist()[:2] == ["complete barrier", "partial barrier"]
    assert pd.isna(out[SAIGA].iloc[2])
    assert out["most_severe_class"].tolist()[:2] == ["complete barrier", "partial barrier"]
    assert pd.isna(out["most_severe_class"].iloc[2])
    assert list(habitat.index) == [SAIGA]
    assert SAIGA not in rail.columns  # the input is not modified


def test_range_metrics_km_and_fragments():
    ranges = gpd.GeoDataFrame({"species": [SAIGA]}, geometry=[box(0, 0, 10_000, 10_000)],
                              crs=CRS)
    line = LineString([(0, 5_000), (10_000, 5_000)])
    rail = gpd.GeoDataFrame({"infra_type": ["railway"], SAIGA: ["complete barrier"]},
                            geometry=[line], crs=CRS)
    seen: list[str] = []
    lengths, frag = range_metrics(rail, ranges, [SAIGA], crs=CRS, progress=seen.append)
    assert seen == ["range fragmentation"]
    assert lengths["length_km"].sum() == pytest.approx(geodesic_km(line), rel=1e-4)
    cut = frag[frag["procedure"] == "CUT"].iloc[0]
    # a complete barrier cuts the range into two halves: m_eff = (A/2)² · 2 / A = A / 2
    assert int(cut["n_fragments"]) == 2
    assert cut["m_eff_km2"] == pytest.approx(cut["area_km2"] / 2, rel=1e-3)


# -- the grid steps ----------------------------------------------------------------------------
def test_cell_metrics_km_by_type_and_class():
    cells = square_cells()[["cell_id", "geometry"]]
    ranges = gpd.GeoDataFrame({"species": [SAIGA]}, geometry=[box(0, 0, 10_000, 10_000)],
                              crs=CRS)
    line = LineString([(0, 5_000), (20_000, 5_000)])
    rail = gpd.GeoDataFrame({"infra_type": ["railway"], SAIGA: ["complete barrier"]},
                            geometry=[line], crs=CRS)
    out = cell_metrics(cells, rail, ranges, species_columns=[SAIGA])
    left = geodesic_km(LineString([(0, 5_000), (10_000, 5_000)]))
    right = geodesic_km(LineString([(10_000, 5_000), (20_000, 5_000)]))
    assert out["infra_km"].to_numpy() == pytest.approx([left, right], rel=1e-4)
    assert out["km_railway"].to_numpy() == pytest.approx([left, right], rel=1e-4)
    # species-km only inside the range (the left cell)
    assert out["species_km_complete_barrier"].to_numpy() == pytest.approx([left, 0.0],
                                                                          rel=1e-4)
    assert out["n_species"].tolist() == [1, 0]
    assert out["species"].tolist() == [SAIGA, ""]


def test_score_cells_by_the_default_weights():
    cells = gpd.GeoDataFrame(
        {"area_km2": [100.0, 100.0, 100.0],
         "species_km_complete_barrier": [10.0, 0.0, 0.0],
         "species_km_partial_barrier": [0.0, 10.0, 0.0],
         "species_km_unknown": [0.0, 0.0, 0.0], "species_km_not_a_barrier": [0.0, 0.0, 10.0],
         "n_species": [1, 1, 1]},
        geometry=[box(i, 0, i + 1, 1) for i in range(3)], crs=CRS)
    out = score_cells(cells)
    # complete weighs 1, partial 0.5, not a barrier 0: the barrier density is 0.1, 0.05, 0
    # km/km², normalised by its maximum
    assert out["barrier_km_per_km2"].to_numpy() == pytest.approx([0.1, 0.05, 0.0])
    assert out["score"].max() == pytest.approx(1.0)
    assert out["score"].iloc[0] > out["score"].iloc[1] > out["score"].iloc[2]
    assert "score" not in cells.columns


def test_gi_cells_finds_a_cluster():
    area = gpd.GeoSeries([box(0, 0, 200_000, 200_000)], crs=CRS)
    cells = hex_grid(area, cell_km=20, crs=CRS)
    x = cells.geometry.centroid.x.to_numpy()
    cells["score"] = (x < 60_000).astype(float)
    out = gi_cells(cells, permutations=0)
    assert set(out.columns) >= {"gi_z", "gi_p", "gi_class"}
    west = x < 40_000
    assert (out.loc[west, "gi_z"] > 0).all()
    assert out.loc[west, "gi_class"].isin(HOT_CLASSES).all()
    assert not out.loc[x > 140_000, "gi_class"].isin(HOT_CLASSES).any()


def test_border_flags_and_transboundary_of():
    cells = gpd.GeoDataFrame(
        {"gi_class": ["hot spot 95%", "not significant", "hot spot 99%"]},
        geometry=[box(0, 0, 10_000, 10_000), box(0, 10_000, 10_000, 20_000),
                  box(200_000, 0, 210_000, 10_000)], crs=CRS)
    border = gpd.GeoDataFrame({"iso3_left": ["KAZ"], "iso3_right": ["UZB"]},
                              geometry=[LineString([(-1_000, -50_000), (-1_000, 50_000)])],
                              crs=CRS)
    out = border_flags(cells, border, border_distance_km=50.0)
    assert out["border"].tolist()[:2] == ["KAZ-UZB", "KAZ-UZB"] and out["border"].iloc[2] == ""
    # only a hot cell near a border is transboundary
    assert out["transboundary"].tolist() == [True, False, False]
    # the nearest point of cell 0 is 1 km from the border line
    assert out["border_distance_km"].iloc[0] == pytest.approx(
        geodesic_km(LineString([(-1_000, 5_000), (0, 5_000)])), rel=1e-2)
    assert np.isnan(out["border_distance_km"].iloc[2])
    assert transboundary_of(out, border).index.tolist() == [0]
    assert transboundary_of(out, None) is None


# -- segments ----------------------------------------------------------------------------------
def test_hot_cell_pieces_only_in_hot_cells():
    road = gpd.GeoDataFrame(geometry=[LineString([(0, 5_000), (20_000, 5_000)]),
                                      LineString([(15_000, 0), (15_000, 10_000)])], crs=CRS)
    p = hot_cell_pieces(square_cells(), road)
    assert p["seg"].tolist() == [0] and p["cell"].tolist() == [0]
    assert p["score"].tolist() == [0.8]
    assert p["km"].iloc[0] == pytest.approx(
        geodesic_km(LineString([(0, 5_000), (10_000, 5_000)])), rel=1e-4)


def test_habitat_classes_and_weighted_km_of_a_partly_covered_cell():
    ranges = gpd.GeoDataFrame({"species": [SAIGA]}, geometry=[box(0, 0, 5_000, 10_000)],
                              crs=CRS)
    line = LineString([(0, 5_000), (10_000, 5_000)])
    infra = gpd.GeoDataFrame({SAIGA: ["partial barrier"]}, geometry=[line], crs=CRS)
    classes, habitat = habitat_classes(infra, ranges, [SAIGA])
    assert classes[SAIGA].tolist() == ["partial barrier"]
    cells = square_cells()
    pieces = hot_cell_pieces(cells, infra)
    w = weighted_piece_km(pieces, classes, habitat, cells.geometry[[0]],
                          {"partial barrier": 0.5})
    # the cell is half inside the range: 0.5 x the km of the half inside
    half = geodesic_km(LineString([(0, 5_000), (5_000, 5_000)]))
    assert w.tolist() == pytest.approx([0.5 * half], rel=1e-4)
    with pytest.raises(SchemaError, match="no polygon of it"):
        habitat_classes(infra.rename(columns={SAIGA: "Equus_hemionus"}), ranges,
                        ["Equus_hemionus"])


def test_ranked_segments_sums_and_sorts():
    infra = gpd.GeoDataFrame({"infra_type": ["road", "fence", "railway"]},
                             geometry=[LineString([(0, i), (1, i)]) for i in range(3)],
                             crs=CRS, index=pd.Index(["r:1", "f:1", "x:1"]))
    pieces = pd.DataFrame({"seg": [0, 1, 1, 2], "cell": [0, 0, 1, 0],
                           "km": [1.0, 1.0, 2.0, 5.0], "score": [0.5, 0.5, 1.0, 0.5],
                           "weighted": [1.0, 0.5, 1.0, 0.0]})
    classes = pd.DataFrame({"A": ["complete barrier", "partial barrier", None]})
    r = ranked_segments(pieces, infra, classes)
    # fence: 0.5 x 0.5 + 1.0 x 1.0 = 1.25; road 1.0 x 0.5 = 0.5; the railway crosses no
    # range (no class), so it is not ranked
    assert r.index.tolist() == ["f:1", "r:1"]
    assert r["pressure"].tolist() == pytest.approx([1.25, 0.5])
    assert r["weighted_km"].tolist() == pytest.approx([1.5, 1.0])
    assert r["km_in_hot_cells"].tolist() == pytest.approx([3.0, 1.0])
    assert r["hot_cells"].tolist() == [2, 1]
    assert r["classes"].tolist() == ["partial barrier: A", "complete barrier: A"]


def test_segment_ranking_by_impact_or_pressure():
    infra = gpd.GeoDataFrame({"infra_type": ["road", "fence"], SAIGA: ["partial barrier",
                                                                       "complete barrier"]},
                             geometry=[LineString([(0, 5_000), (10_000, 5_000)]),
                                       LineString([(2_000, 0), (2_000, 10_000)])], crs=CRS)
    impact = pd.DataFrame({"rank": [2, 1]})
    seg, method = segment_ranking(None, infra, None, [], impact=impact)
    assert method == "impact" and seg["infra_type"].tolist() == ["fence", "road"]
    ranges = gpd.GeoDataFrame({"species": [SAIGA]}, geometry=[box(0, 0, 20_000, 10_000)],
                              crs=CRS)
    seg, method = segment_ranking(square_cells(), infra, ranges, [SAIGA], top_n=1)
    # both 10 km in the hot cell: the complete barrier (weight 1) beats the partial (0.5)
    assert method == "pressure" and seg["infra_type"].tolist() == ["fence"]


# -- notes and parameters ----------------------------------------------------------------------
def test_analysis_notes_in_report_order():
    notes = analysis_notes(unrated=["Panthera_uncia"], weights=score_weights(),
                           has_borders=False, method="pressure", has_tracks=False,
                           has_corridors=False)
    assert len(notes) == 5
    assert notes[0].startswith("Not rated by the barrier matrix")
    assert "weighted 0.5, like a partial barrier" in notes[0]
    assert notes[1].startswith("The atlas has no border")
    assert notes[2].startswith("No connectivity barrier-impact table")
    assert notes[3].startswith("No GPS tracks") and notes[4].startswith("No corridors")
    assert analysis_notes(unrated=[], weights=score_weights(), has_borders=True,
                          method="impact", has_tracks=True, has_corridors=True) == []


def test_analysis_parameters():
    p = analysis_parameters(atlas="x.gpkg", species=["A", "B"], cell_km=10.0, shape="square",
                            crs=CRS, permutations=99, seed=7, alpha=0.1,
                            border_distance_km=20.0, weights="w.csv", matrix=pd.DataFrame(),
                            method="impact", top_n=5)
    assert p["species"] == "A, B" and p["cell_area_km2"] == 100.0
    assert p["analysis_crs"] == CRS
    assert p["gi_p_value"] == "conditional-permutation pseudo p-value"
    assert p["weights"] == "w.csv" and p["barrier_matrix"] == "custom table"
    assert p["segment_ranking"] == "connectivity barrier impact"


# -- moved names -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, new", [
    ("hotspot_analysis", "cami_atlas.hotspots.analysis"),
    ("HotspotAnalysis", "cami_atlas.hotspots.analysis"),
    ("rank_segments", "cami_atlas.hotspots.segments"),
    ("segments_from_impact", "cami_atlas.hotspots.segments"),
    ("select_species", "cami_atlas.hotspots.analysis"),
    ("score_weights", "cami_atlas.hotspots.analysis"),
    ("unknown_class_rule", "cami_atlas.hotspots.analysis"),
    ("SEVERITY", "cami_atlas.hotspots.segments"),
    ("write_hotspot_atlas", "cami_atlas.pipeline.hotspot_atlas"),
])
def test_moved_report_names_warn_and_still_work(name, new):
    import importlib

    import cami_atlas.report.hotspots as old

    with pytest.warns(DeprecationWarning, match=rf"report\.hotspots\.{name} moved to {new}"):
        obj = getattr(old, name)
    assert obj is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize("name, new", [
    ("write_screening", "cami_atlas.pipeline.screening"),
    ("write_comparison", "cami_atlas.pipeline.screening"),
    ("screening_map", "cami_atlas.report.screening"),
    ("screening_report_html", "cami_atlas.report.screening"),
])
def test_moved_screening_names_warn_and_still_work(name, new):
    import importlib

    import cami_atlas.screening as old

    with pytest.warns(DeprecationWarning, match=rf"screening\.{name} moved to {new}"):
        obj = getattr(old, name)
    assert obj is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        old.nothing  # noqa: B018
