"""The snapping tolerance of fragmentation (``snap_m``, default 1 m) leaves clean data alone:
on linework whose ends either meet other lines exactly or stay far from them, the
fragment count with the default equals the count by hand (and the count with no snapping).
Synthetic square in ESRI:102025 metres."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import LineString, box

from cami_atlas.barriers.fragmentation import effective_mesh_size, fragments

EA = "ESRI:102025"
KM = 1000.0
X0, Y0 = 1_000_000.0, 2_000_000.0


def _line(*pts):
    return LineString([(X0 + x * KM, Y0 + y * KM) for x, y in pts])


SQUARE = gpd.GeoSeries([box(X0, Y0, X0 + 100 * KM, Y0 + 100 * KM)], crs=EA)
CLEAN = gpd.GeoSeries([
    _line((30, -5), (30, 105)),          # crosses edge to edge
    _line((30.002, -5), (30.002, 105)),  # parallel, 2 m away (a road beside a railway)
    _line((-5, 60), (30, 60)),           # T-junction: ends exactly on the x = 30 line
    _line((70, -5), (70, 50)),           # dead end 50 km inside: a dangle, splits nothing
    _line((80, 80), (90, 90)),           # wholly inside, touches nothing
], crs=EA)


def test_default_snap_keeps_the_hand_count_on_clean_data():
    # by hand: west of x = 30 cut by y = 60 -> 30 x 60 and 30 x 40 km; the 2 m strip
    # between the parallel lines (0.002 x 100 km); everything east of x = 30.002 (the
    # dangle and the inner line split nothing): 4 fragments
    hand = [30 * 60, 30 * 40, 0.002 * 100, 69.998 * 100]
    row = effective_mesh_size(SQUARE, CLEAN).iloc[0]
    assert row["n_fragments"] == len(hand) == 4
    assert row["m_eff_km2"] == pytest.approx(sum(a * a for a in hand) / 1e4, rel=1e-6)
    assert effective_mesh_size(SQUARE, CLEAN, snap_m=0)["n_fragments"].iloc[0] == 4
    areas = sorted(fragments(SQUARE, CLEAN)["area_km2"])
    assert areas == pytest.approx(sorted(hand), rel=1e-6)


def test_a_gap_within_the_tolerance_is_closed_and_one_beyond_is_not():
    # the T-junction line stopping 0.5 m short of x = 30 is joined (digitising gap);
    # stopping 5 m short it is a dangle and the west part stays whole
    gap = [_line((30, -5), (30, 105)), LineString([(X0 - 5 * KM, Y0 + 60 * KM),
                                                   (X0 + 30 * KM - 0.5, Y0 + 60 * KM)])]
    assert effective_mesh_size(SQUARE, gpd.GeoSeries(gap, crs=EA))["n_fragments"].iloc[0] == 3
    wide = [gap[0], LineString([(X0 - 5 * KM, Y0 + 60 * KM), (X0 + 30 * KM - 5, Y0 + 60 * KM)])]
    assert effective_mesh_size(SQUARE, gpd.GeoSeries(wide, crs=EA))["n_fragments"].iloc[0] == 2
