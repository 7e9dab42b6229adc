"""Connectivity: resistance surfaces, least-cost distance, paths and corridors.

Resistance encoding (one across the library): finite values ``>= 1`` passable,
``inf`` impassable, ``NaN`` outside the study area; rasters are
:class:`cami_atlas.raster.Grid` in a projected CRS with square cells in metres.

``resistance``     slope, reclass tables, user functions, infrastructure burned in per
                   barrier class (no diagonal leaks), crossing structures
``costdistance``   cost distance (mean resistance x step length), least-cost paths
``corridors``      normalised least-cost corridors and their mosaic (Linkage Mapper method)
"""

from __future__ import annotations

from .corridors import CorridorResult, least_cost_corridors, normalized_corridor
from .costdistance import cost_distance, least_cost_paths
from .resistance import (
    DEFAULT_BARRIER_RESISTANCE,
    burn_infrastructure,
    check_resistance,
    combine_resistance,
    four_neighbour_guard,
    reclassify,
    resistance_from_function,
    slope_degrees,
    slope_resistance,
)

__all__ = [
    "DEFAULT_BARRIER_RESISTANCE",
    "CorridorResult",
    "burn_infrastructure",
    "check_resistance",
    "combine_resistance",
    "cost_distance",
    "four_neighbour_guard",
    "least_cost_corridors",
    "least_cost_paths",
    "normalized_corridor",
    "reclassify",
    "resistance_from_function",
    "slope_degrees",
    "slope_resistance",
]
