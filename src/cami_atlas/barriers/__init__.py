"""Barrier analysis: which infrastructure is a barrier to which species, and where.

* :mod:`.matrix`        the expert barrier matrix (the 2017 CAMI matrix ships with the package)
* :mod:`.species`       species names and synonyms -> matrix species
* :mod:`.classify`      classify segments per species (rule of the 2017 atlas)
* :mod:`.segments`      stable segment ids; which species' ranges each segment crosses
* :mod:`.overlay`       km of infrastructure inside ranges and corridors, by class and country
* :mod:`.crossings`     crossings of corridors, migration routes and GPS-track steps
* :mod:`.baba`          barrier behaviour analysis (BaBA) of GPS tracks
* :mod:`.fragmentation` effective mesh size of species ranges cut by infrastructure
"""

from __future__ import annotations

from .baba import ALTERED_CLASSES, BABA_CLASSES, BabaResult, baba, barrier_ranking
from .classify import classify_barriers, classify_barriers_many
from .crossings import CorridorCrossings, corridor_crossings, track_crossings, track_steps
from .fragmentation import PROCEDURES, effective_mesh_size, fragments, range_fragmentation
from .matrix import MATRIX_COLUMNS, attribute_column, load_matrix, matrix_infra_type
from .overlay import OUTSIDE_COUNTRIES, infrastructure_in_ranges, species_polygons
from .segments import classify_in_ranges, classify_segments, segment_ids, segments_in_ranges
from .species import matrix_species, resolve_species, species_synonyms

__all__ = [
    "ALTERED_CLASSES",
    "BABA_CLASSES",
    "MATRIX_COLUMNS",
    "OUTSIDE_COUNTRIES",
    "PROCEDURES",
    "BabaResult",
    "CorridorCrossings",
    "attribute_column",
    "baba",
    "barrier_ranking",
    "classify_barriers",
    "classify_barriers_many",
    "classify_in_ranges",
    "classify_segments",
    "corridor_crossings",
    "effective_mesh_size",
    "fragments",
    "infrastructure_in_ranges",
    "load_matrix",
    "matrix_infra_type",
    "matrix_species",
    "range_fragmentation",
    "resolve_species",
    "segment_ids",
    "segments_in_ranges",
    "species_polygons",
    "species_synonyms",
    "track_crossings",
    "track_steps",
]
