"""Barrier hotspots: an equal-area cell grid scored by barrier pressure, Gi*, transboundary.

* :mod:`.grid`          ``hex_grid``: equal-area hexagons or squares of ``cell_km ** 2`` km²
* :mod:`.metrics`       per-cell km of infrastructure (by type, species, barrier class),
                        species counts, point counts, raster means
* :mod:`.score`         the barrier-pressure score, weights from a CSV table
* :mod:`.gistar`        Getis-Ord Gi* hot and cold spots (esda, libpysal)
* :mod:`.transboundary` hot cells near international borders, with the countries on each side
* :mod:`.build`         ``hotspot_grid``: everything above in one call, as named steps
                        (``cell_metrics``, ``score_cells``, ``gi_cells``, ``border_flags``)
* :mod:`.segments`      the segments that matter most: ``rank_segments`` (pressure in hot
                        cells), ``segments_from_impact`` (connectivity impact)
* :mod:`.analysis`      ``hotspot_analysis``: the whole analysis of an atlas (layers,
                        classes, km in ranges, fragmentation, grid, segments), returning a
                        ``HotspotAnalysis`` that ``cami_atlas.report.hotspots`` renders
"""

from __future__ import annotations

from .analysis import (
    HotspotAnalysis,
    hotspot_analysis,
    score_weights,
    select_species,
    unknown_class_rule,
)
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
from .segments import HOT_CLASSES, SEVERITY, rank_segments, segments_from_impact
from .transboundary import border_cells, transboundary_hotspots

__all__ = [
    "CELL_SHAPES",
    "COMPONENTS",
    "GI_CLASSES",
    "HOT_CLASSES",
    "SEVERITY",
    "HotspotAnalysis",
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
    "hotspot_analysis",
    "hotspot_grid",
    "load_weights",
    "pressure_components",
    "rank_segments",
    "score_weights",
    "segments_from_impact",
    "select_species",
    "spatial_weights",
    "transboundary_hotspots",
    "unknown_class_rule",
]
