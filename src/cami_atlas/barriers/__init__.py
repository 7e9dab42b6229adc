"""Barrier analysis: which infrastructure is a barrier to which species, and where.

* :mod:`.matrix`   the expert barrier matrix (the 2017 CAMI matrix ships with the package)
* :mod:`.species`  species names and synonyms -> matrix species
* :mod:`.classify` classify segments per species (2017 atlas rule)
* :mod:`.overlay`  km of infrastructure inside species ranges and corridors, by class and country
* :mod:`.crossings` crossings of corridors, migration routes and GPS tracks
"""

from __future__ import annotations

from .classify import classify_barriers, classify_barriers_many
from .matrix import MATRIX_COLUMNS, attribute_column, load_matrix, matrix_infra_type
from .species import matrix_species, resolve_species, species_synonyms

__all__ = [
    "MATRIX_COLUMNS",
    "attribute_column",
    "classify_barriers",
    "classify_barriers_many",
    "load_matrix",
    "matrix_infra_type",
    "matrix_species",
    "resolve_species",
    "species_synonyms",
]
