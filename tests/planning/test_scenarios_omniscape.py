"""Scenario metric ``omniscape_current``: mean cumulative Omniscape current over the range."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from cami_atlas.connectivity.omniscape import omniscape
from cami_atlas.errors import SchemaError
from cami_atlas.planning import scenario_impact
from cami_atlas.planning.scenarios import HIGHER_IS_BETTER
from cami_atlas.raster import Grid

CRS = "ESRI:102025"
N, CELL = 24, 1000.0
GRID = Grid(np.ones((N, N)), Affine(CELL, 0, 0, 0, -CELL, N * CELL), CRS)  # synthetic
RANGE = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
                         geometry=[shapely.box(0, 0, N * CELL, N * CELL)], crs=CRS)
NONE = gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=CRS)


def _fence(x: float) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"barrier_class": ["complete barrier"]},
                            geometry=[shapely.LineString([(x, -1), (x, N * CELL + 1)])], crs=CRS)


def test_omniscape_current_against_a_direct_run_and_losses() -> None:
    table = scenario_impact(NONE, {"none": {}, "A": {"hypothetical A": _fence(12_500)}},
                            RANGE, grid=GRID, omniscape_radius=4)
    rows = table[table["metric"] == "omniscape_current"].set_index("scenario")
    direct = omniscape(GRID, radius=4).cumulative_current.values
    assert rows.loc["none", "existing"] == pytest.approx(float(np.nanmean(direct)), rel=1e-12)
    assert rows.loc["none", "change"] == 0.0  # no planned project changes nothing
    # a fence across the whole range blocks every window that straddles it
    assert rows.loc["A", "change"] < 0
    blocked = GRID.values.copy()
    blocked[:, 12] = np.inf  # the cells the line at x = 12.5 km burns (column 12)
    cum = omniscape(GRID.with_values(blocked), radius=4).cumulative_current.values
    assert rows.loc["A", "with_scenario"] == pytest.approx(
        float(np.nanmean(cum[np.isfinite(cum)])), rel=1e-9)
    assert "omniscape_current" in HIGHER_IS_BETTER


def test_omniscape_radius_needs_a_grid() -> None:
    with pytest.raises(SchemaError, match="needs a resistance grid"):
        scenario_impact(NONE, {"A": {}}, RANGE, omniscape_radius=4)
