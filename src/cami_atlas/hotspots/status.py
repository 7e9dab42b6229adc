"""IUCN Red List status of the atlas species and hotspot scores weighted by it.

The module lives in :mod:`cami_atlas.barriers.status` (species information, used by the
hotspot scores and by the impact surface of alternative alignments); its names are
available here too.

Examples
--------
>>> from cami_atlas.hotspots.status import status_weights
>>> int(status_weights(["Panthera_uncia"])["status_weight"].iloc[0])
3
"""

from ..barriers.status import (
    DEFAULT_STATUS_WEIGHTS,
    IUCN_CATEGORIES,
    STATUS_FILE,
    load_species_status,
    status_weighted_score,
    status_weights,
)

__all__ = [
    "DEFAULT_STATUS_WEIGHTS",
    "IUCN_CATEGORIES",
    "STATUS_FILE",
    "load_species_status",
    "status_weighted_score",
    "status_weights",
]
