"""Cited statements on the behaviour, ecology and key needs of the atlas' species.

``species_factsheets.csv`` (this package) holds short statements, each written from one
published source and carrying its citation (and a link where there is one); a species
without a statement has none here rather than an uncited text. The species pages of
the online atlas and of ``cami-atlas site build`` show them with numbered references.

Examples
--------
>>> notes = species_notes("Saiga_tatarica")
>>> sorted(set(notes["topic"]))
['behaviour', 'ecology', 'key needs']
>>> bool(notes["citation"].str.len().gt(0).all())
True
>>> len(species_notes("Ursus_arctos"))  # nothing published found yet: empty, not made up
0
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

__all__ = ["TOPICS", "factsheet_table", "species_notes"]

#: The topics of the statements, in the order pages show them.
TOPICS = ("behaviour", "ecology", "key needs")
_COLUMNS = ["species", "topic", "statement", "citation", "url"]


@lru_cache(maxsize=1)
def _table() -> pd.DataFrame:
    with resources.files("cami_atlas.data").joinpath("species_factsheets.csv").open(
            encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    return table[_COLUMNS]


def factsheet_table() -> pd.DataFrame:
    """Every statement: ``species, topic, statement, citation, url`` (a copy)."""
    return _table().copy()


def species_notes(species: str) -> pd.DataFrame:
    """The statements on ``species`` (``Genus_species``), ordered by topic
    (:data:`TOPICS`), then as listed; empty when there is none."""
    table = _table()
    rows = table[table["species"] == species]
    order = rows["topic"].map({t: i for i, t in enumerate(TOPICS)})
    return rows.assign(_order=order).sort_values("_order", kind="stable").drop(
        columns="_order").reset_index(drop=True)
