"""Steps of :func:`cami_atlas.screening.connect.route_connectivity` on hand-checked cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from pyproj import CRS
from shapely import LineString

from cami_atlas.raster import Grid
from cami_atlas.screening.connect import _candidate_peaks, _core_pair_metrics, _route_profile


def test_candidate_peaks_respect_gap_and_order():
    prof = np.array([0.0, 1.0, 0.0, 3.0, 0.0, 2.0, 0.0])
    # cell 2 m: samples 1 m apart; default gap 4 m = 4 samples keeps only the highest
    assert _candidate_peaks(prof, 2.0, None, 5).tolist() == [3]
    # a 1 m gap keeps all three, strongest first
    assert _candidate_peaks(prof, 2.0, 1.0, 5).tolist() == [3, 5, 1]
    assert _candidate_peaks(prof, 2.0, 1.0, 2).tolist() == [3, 5]


def test_core_pair_metrics_count_cross_pairs_only():
    cores = gpd.GeoDataFrame({"core_id": [1, 2, 3], "side": [0, 0, 1],
                              "area_km2": [1.0, 1.0, 1.0]}, geometry=[None] * 3)
    r0 = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 4.0], [2.0, 4.0, 0.0]])
    r1 = np.array([[0.0, 1.0, 4.0], [1.0, 0.0, np.inf], [4.0, np.inf, 0.0]])
    m = _core_pair_metrics(r0, r1, cores, n_cells=100)
    # cross pairs (1,3) and (2,3): 1/2 + 1/4 before, 1/4 + 0 after
    assert m["cross_conductance_before"] == pytest.approx(0.75)
    assert m["cross_conductance_after"] == pytest.approx(0.25)
    assert m["cross_conductance_loss_pct"] == pytest.approx(100 * 2 / 3)
    assert m["median_resistance_ratio"] == pytest.approx(2.0)  # only (1,3) stays finite
    assert m["disconnected_pairs_after"] == 1.0
    assert m["eca_dispersal_resistance"] == pytest.approx(3.0)  # median of 2 and 4
    assert m["eca_after_km2"] < m["eca_before_km2"]


def test_route_profile_samples_half_cells():
    current = Grid(values=np.arange(4.0).reshape(1, 4), transform=Affine(10, 0, 0, 0, -10, 10),
                   crs=CRS("EPSG:3857"))
    pts, prof = _route_profile(LineString([(0, 5), (40, 5)]), current, 10.0)
    assert prof["along_m"].tolist() == pytest.approx([0, 5, 10, 15, 20, 25, 30, 35, 40])
    assert prof["part"].tolist() == [0] * 9
    # x = 0, 5 in column 0; 10, 15 in column 1; ...; 40 is off the grid's right edge
    assert prof["current_a"].tolist()[:8] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert np.isnan(prof["current_a"].iloc[8])
    assert len(pts) == 9


def test_gap_restoration_is_nan_when_nothing_was_lost():
    from cami_atlas.screening.connect import _gap_restoration

    route = gpd.GeoDataFrame({"barrier_class": ["complete barrier"]},
                             geometry=[LineString([(0, 0), (0, 1)])], crs="EPSG:3857")
    out = _gap_restoration(None, route, np.array([None, None]), None, 1.0, 1.0, 10.0, "direct")
    assert np.isnan(out).all() and len(out) == 2
