"""Crossing placement: openings of a fence that restore most connectivity."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from shapely import LineString, MultiLineString

from cami_atlas.connectivity.circuit import effective_resistance
from cami_atlas.errors import SchemaError
from cami_atlas.planning.placement import candidate_pieces, crossing_placement
from cami_atlas.raster import Grid

CELL = 100.0
ROWS, COLS = 10, 11


def _base() -> Grid:
    values = np.ones((ROWS, COLS))
    values[:, :3] = 2.0  # a rougher strip on the west: not every opening is worth the same
    return Grid(values, Affine(CELL, 0, 0, 0, -CELL, ROWS * CELL), "EPSG:32643")


# a fence down the middle column with a known gap (rows 0-1 open: the fence starts at
# y = 800); two cores on each side, at different heights
FENCE = LineString([(550, 0), (550, 800)])
CORES = np.array([[150, 150], [150, 650], [950, 250], [950, 850]], dtype=float)


def _conductance_with(opened) -> float:
    """Summed effective conductance with the fence burned except the opened pieces,
    computed directly (an independent path: no barrier_impact)."""
    pieces = candidate_pieces(FENCE, CELL, crs="EPSG:32643")
    base = _base()
    values = base.values.copy()
    col = int(550 // CELL)
    for _, piece in pieces.iterrows():
        if piece["piece"] in opened:
            continue
        y0, y1 = sorted(piece.geometry.coords[i][1] for i in (0, -1))
        rows = [r for r in range(ROWS) if y0 < (ROWS - r - 0.5) * CELL < y1]
        values[rows, col] = np.inf
    reff = effective_resistance(base.with_values(values), CORES, method="direct").to_numpy()
    iu = np.triu_indices(len(CORES), 1)
    r = reff[iu]
    return float(np.sum(np.where(np.isfinite(r), 1 / r, 0.0)))


def test_exhaustive_search_finds_the_brute_force_optimum_and_greedy_is_no_better() -> None:
    import itertools

    best = crossing_placement(_base(), FENCE, CORES, k=2, min_spacing_m=300,
                              method="direct", search="exhaustive")
    greedy = crossing_placement(_base(), FENCE, CORES, k=2, min_spacing_m=300,
                                method="direct")
    assert len(best.candidates) == 8
    # brute force, computed directly (no barrier_impact): every pair 300 m apart or more
    closed = _conductance_with(set())
    along = best.candidates.set_index("piece")["along_m"]
    pairs = [p for p in itertools.combinations(range(8), 2)
             if abs(along[p[0]] - along[p[1]]) >= 300]
    gains = {p: _conductance_with(set(p)) - closed for p in pairs}
    optimum = max(gains, key=gains.get)
    assert set(best.chosen["piece"]) == set(optimum)
    assert best.reference == pytest.approx(closed, rel=1e-9)
    assert best.chosen["cumulative_gain"].iloc[-1] == pytest.approx(gains[optimum], rel=1e-9)
    # greedy: the best single opening first (by the direct computation), then the best
    # second one given it; its total is never above the optimum (here it is below:
    # {2, 5} against {1, 4}, which is why the exhaustive search exists)
    singles = {p: _conductance_with({p}) - closed for p in range(8)}
    assert greedy.chosen["piece"].iloc[0] == max(singles, key=singles.get)
    total = greedy.chosen["cumulative_gain"].iloc[-1]
    assert total == pytest.approx(gains[tuple(sorted(greedy.chosen["piece"]))], rel=1e-9)
    assert total <= gains[optimum] + 1e-12
    # spacing respected, gains non-increasing in the greedy order, the curve starts at 0
    a = greedy.chosen["along_m"].to_numpy()
    assert abs(a[0] - a[1]) >= 300
    assert greedy.chosen["gain"].is_monotonic_decreasing
    assert greedy.curve["cumulative_gain"].tolist()[0] == 0.0
    assert (greedy.chosen["gain"] > 0).all()


def test_gain_curve_flattens() -> None:
    out = crossing_placement(_base(), FENCE, CORES, k=4, min_spacing_m=200, method="direct")
    gains = out.chosen["gain"].to_numpy()
    assert np.all(np.diff(gains) <= 1e-12)          # non-increasing
    assert gains[-1] < gains[0] / 2                 # more structures stop paying
    assert out.curve["k"].tolist() == [0, 1, 2, 3, 4]


def test_pieces_and_bad_input() -> None:
    pieces = candidate_pieces(MultiLineString([[(0, 0), (250, 0)], [(0, 500), (100, 500)]]),
                              100, crs="EPSG:32643")
    assert pieces["length_m"].tolist() == [100, 100, 50, 100]
    assert pieces["along_m"].tolist() == [50, 150, 225, 300]
    with pytest.raises(SchemaError, match=r"at most 3 can be 300 m apart; ask for k <= 3"):
        crossing_placement(_base(), FENCE, CORES, k=4, min_spacing_m=300, method="direct")
    with pytest.raises(SchemaError, match="needs a line"):
        candidate_pieces(FENCE.centroid, 100)
    with pytest.raises(SchemaError, match="k must be"):
        crossing_placement(_base(), FENCE, CORES, k=0)
