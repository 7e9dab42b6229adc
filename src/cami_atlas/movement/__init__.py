"""Movement: GPS tracks -> migration periods -> Brownian-bridge UDs -> corridors; step selection.

===============================  =======================================================
``segmentation``                 migration periods from net squared displacement or dates
``bbmm``                         Brownian bridge (Horne et al. 2007) and dynamic BBMM
                                 (Kranstauber et al. 2012): motion variance, UDs
``corridors``                    population corridors (low / medium / high use) and
                                 stopovers (Sawyer et al. 2009), written as ``corridor``
                                 layers of an atlas
``ssf``                          step-selection functions (Fortin et al. 2005, Avgar et al.
                                 2016): random steps, covariates, conditional logit,
                                 resistance surface
===============================  =======================================================

Every function takes a ``tracks`` layer (``individual``, ``timestamp`` UTC, ``species``)
in a projected CRS (metres); a lat/lon layer is an error that says how to reproject.
See docs/movement.md for the methods, parameters and limits.
"""

from __future__ import annotations

from ._tracks import to_metric_crs
from .bbmm import (
    MotionVariance,
    UDSet,
    bridge_moments,
    brownian_bridge_ud,
    dynamic_motion_variance,
    motion_variance,
    track_uds,
)
from .corridors import (
    USE_CLASSES,
    PopulationCorridors,
    add_corridor_layers,
    footprint,
    grid_for_tracks,
    population_corridors,
)
from .segmentation import (
    MIGRATION_COLUMNS,
    migration_fixes,
    migration_periods,
    net_squared_displacement,
    periods_from_dates,
)
from .ssf import (
    MOVEMENT_TERMS,
    SSFResult,
    StepDistributions,
    align_raster,
    crossing_effects,
    extract_covariates,
    fit_ssf,
    fit_step_distributions,
    movement_steps,
    random_steps,
    ssf_resistance,
)

__all__ = [
    "MIGRATION_COLUMNS",
    "MOVEMENT_TERMS",
    "USE_CLASSES",
    "MotionVariance",
    "PopulationCorridors",
    "SSFResult",
    "StepDistributions",
    "UDSet",
    "add_corridor_layers",
    "align_raster",
    "bridge_moments",
    "brownian_bridge_ud",
    "crossing_effects",
    "dynamic_motion_variance",
    "extract_covariates",
    "fit_ssf",
    "fit_step_distributions",
    "footprint",
    "grid_for_tracks",
    "migration_fixes",
    "migration_periods",
    "motion_variance",
    "movement_steps",
    "net_squared_displacement",
    "periods_from_dates",
    "population_corridors",
    "random_steps",
    "ssf_resistance",
    "to_metric_crs",
    "track_uds",
]
