"""Connectivity: resistance surfaces, least-cost distance, paths and corridors.

Resistance encoding (one across the library): finite values ``>= 1`` passable,
``inf`` impassable, ``NaN`` outside the study area; rasters are
:class:`cami_atlas.raster.Grid` in a projected CRS with square cells in metres.

``resistance``     slope, reclass tables, user functions, infrastructure burned in per
                   barrier class (no diagonal leaks), crossing structures
``costdistance``   cost distance (mean resistance x step length), least-cost paths
``corridors``      normalised least-cost corridors and their mosaic (Linkage Mapper method)
``graph``          the raster graph (Circuitscape edge conductances, sparse Laplacian)
``circuit``        circuit theory: effective resistance, current maps, pinch points
``solvers``        the linear solvers of the circuit modes by name ("direct", "amg",
                   "mixed": the project's float32 AMG), :class:`LaplacianSolver`
``patchgraph``     patch graphs and PC / IIC / ECA connectivity indices, element importance
``impact``         connectivity lost or regained per infrastructure group (barrier impact)
``workflow``       one call from an atlas to every output for one species
                   (:func:`run_connectivity`, :func:`write_connectivity`)
"""

from __future__ import annotations

from .circuit import (
    CircuitResult,
    circuit_all_to_one,
    circuit_one_to_all,
    circuit_pairwise,
    current_map,
    effective_resistance,
    focal_labels,
    pinch_points,
)
from .corridors import CorridorResult, least_cost_corridors, normalized_corridor
from .costdistance import cost_distance, least_cost_paths
from .graph import RasterGraph, edge_conductance, raster_graph
from .impact import DIRECT_MAX_CELLS, BarrierImpact, apply_barrier_masks, barrier_impact
from .patchgraph import (
    connectivity_indices,
    decay_probability,
    link_importance,
    node_importance,
    patch_graph,
    symmetric_distances,
)
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
from .solvers import LaplacianSolver
from .workflow import (
    MODES,
    OUTPUTS,
    ConnectivityResult,
    auto_cores,
    output_names,
    run_connectivity,
    utm_crs,
    write_connectivity,
)

__all__ = [
    "DEFAULT_BARRIER_RESISTANCE",
    "DIRECT_MAX_CELLS",
    "MODES",
    "OUTPUTS",
    "BarrierImpact",
    "CircuitResult",
    "ConnectivityResult",
    "CorridorResult",
    "LaplacianSolver",
    "RasterGraph",
    "apply_barrier_masks",
    "auto_cores",
    "barrier_impact",
    "burn_infrastructure",
    "check_resistance",
    "circuit_all_to_one",
    "circuit_one_to_all",
    "circuit_pairwise",
    "combine_resistance",
    "connectivity_indices",
    "cost_distance",
    "current_map",
    "decay_probability",
    "edge_conductance",
    "effective_resistance",
    "focal_labels",
    "four_neighbour_guard",
    "least_cost_corridors",
    "least_cost_paths",
    "link_importance",
    "node_importance",
    "normalized_corridor",
    "output_names",
    "patch_graph",
    "pinch_points",
    "raster_graph",
    "reclassify",
    "resistance_from_function",
    "run_connectivity",
    "slope_degrees",
    "slope_resistance",
    "symmetric_distances",
    "utm_crs",
    "write_connectivity",
]
