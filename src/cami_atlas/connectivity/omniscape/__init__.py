"""Omniscape: wall-to-wall moving-window circuit connectivity (McRae et al. 2016).

``omniscape``        in memory, for a resistance :class:`~cami_atlas.raster.Grid`
``omniscape_tiled``  a resistance GeoTIFF of any size, in tiles with a halo of the
                     window radius, each tile a task on dask.distributed (a LocalCluster
                     by default, or any scheduler address); resumable
``source_strength``  sources from resistance (``r_cutoff``), optionally within a range

See ``docs/omniscape.md`` for the settings, the method and its limits.
"""

from __future__ import annotations

from .core import (
    OUTPUT_FILES,
    OmniscapeResult,
    OmniscapeSettings,
    omniscape,
    radius_in_cells,
    source_strength,
)
from .tiled import SchedulerUnreachableError, TiledResult, omniscape_tiled, work_folder

__all__ = [
    "OUTPUT_FILES",
    "OmniscapeResult",
    "OmniscapeSettings",
    "SchedulerUnreachableError",
    "TiledResult",
    "omniscape",
    "omniscape_tiled",
    "radius_in_cells",
    "source_strength",
    "work_folder",
]
