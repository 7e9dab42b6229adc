"""Barrier hotspots: an equal-area cell grid scored by barrier pressure, Gi*, transboundary.

* :mod:`.grid`          ``hex_grid``: equal-area hexagons or squares of ``cell_km ** 2`` km²
* :mod:`.metrics`       per-cell km of infrastructure (by type, species, barrier class),
                        species counts, point counts, raster means
* :mod:`.score`         the barrier-pressure score, weights from a CSV table
* :mod:`.gistar`        Getis-Ord Gi* hot and cold spots (esda, libpysal)
* :mod:`.transboundary` hot cells near international borders, with the countries on each side
* :mod:`.build`         ``hotspot_grid``: everything above in one call
"""

from __future__ import annotations

from .build import hotspot_grid
from .gistar import GI_CLASSES, gi_star, spatial_weights
from .grid import CELL_SHAPES, hex_grid, hexagon_side_km
from .metrics import (
    cell_infrastructure_km,
    cell_point_counts,
    cell_raster_mean,
    cell_species_count,
)
from .score import (
    COMPONENTS,
    barrier_pressure,
    class_column,
    default_weights_path,
    load_weights,
    pressure_components,
)
from .transboundary import border_cells, transboundary_hotspots

__all__ = [
    "CELL_SHAPES",
    "COMPONENTS",
    "GI_CLASSES",
    "barrier_pressure",
    "border_cells",
    "cell_infrastructure_km",
    "cell_point_counts",
    "cell_raster_mean",
    "cell_species_count",
    "class_column",
    "default_weights_path",
    "gi_star",
    "hex_grid",
    "hexagon_side_km",
    "hotspot_grid",
    "load_weights",
    "pressure_components",
    "spatial_weights",
    "transboundary_hotspots",
]
