"""Species names: map the names users bring onto the species of a barrier matrix.

The 2017 matrix names its species as the workshop did (``Saiga_spp``,
``Camelus_bactrianus`` for the wild camel, ``Acinonyx_jubatus_venaticus``,
``Cervus_hanglu_bactrianus`` for the Bukhara deer, ...), while range layers use other
taxonomies (PHYLACINE/IUCN 2016: ``Saiga_tatarica``, ``Camelus_ferus``,
``Cervus_elaphus``) and people type common names (``khulan``, ``snow leopard``). The
synonym table shipped as ``cami_atlas/data/species_synonyms.csv`` maps all of them;
:func:`species_synonyms` returns it.
"""

from __future__ import annotations

import difflib
import functools
import re
from importlib import resources

import pandas as pd

from ..errors import UnknownSpeciesError
from .matrix import MatrixLike, _as_matrix

__all__ = ["SYNONYMS_FILE", "matrix_species", "resolve_species", "species_synonyms"]

#: File name of the synonym table inside ``cami_atlas/data``.
SYNONYMS_FILE = "species_synonyms.csv"


def _key(name: object) -> str:
    """Lookup key: lower case, blanks and underscores folded to one space."""
    return re.sub(r"[\s_]+", " ", str(name).strip().lower())


@functools.lru_cache(maxsize=1)
def _synonyms() -> pd.DataFrame:
    ref = resources.files("cami_atlas.data").joinpath(SYNONYMS_FILE)
    with resources.as_file(ref) as path:
        return pd.read_csv(path, dtype=str, keep_default_na=False)


@functools.lru_cache(maxsize=1)
def _synonym_index() -> dict[str, str]:
    table = _synonyms()
    return {_key(n): t for n, t in zip(table["name"], table["matrix_species"], strict=True)}


def species_synonyms() -> pd.DataFrame:
    """The synonym table: ``name``, ``matrix_species``, ``name_type``, ``note``.

    ``name`` is a scientific name (underscores), a subspecies or a common name;
    ``matrix_species`` is the species of the 2017 matrix it stands for; ``name_type``
    is ``scientific``, ``subspecies`` or ``common``.

    Examples
    --------
    >>> t = species_synonyms()
    >>> t.loc[t["name"] == "Uncia_uncia", "matrix_species"].item()
    'Panthera_uncia'
    >>> sorted(t.loc[t["matrix_species"] == "Saiga_spp", "name"])[:3]
    ['Mongolian saiga', 'Saiga_borealis', 'Saiga_borealis_mongolica']
    """
    return _synonyms().copy()


def _unknown(name: str, known: list[str]) -> UnknownSpeciesError:
    pool = known + list(_synonyms()["name"])
    close = difflib.get_close_matches(_key(name), [_key(p) for p in pool], n=3, cutoff=0.6)
    hint = ""
    if close:
        originals = {_key(p): p for p in pool}
        hint = " Did you mean " + " or ".join(repr(originals[c]) for c in close) + "?"
    return UnknownSpeciesError(
        f"species {name!r} is not in the barrier matrix and is no known synonym of one of "
        f"its species. Matrix species: {', '.join(known)}. Common names and synonyms such as "
        f"'khulan' or 'Uncia uncia' work too (list: cami_atlas.barriers.species_synonyms())."
        f"{hint} To classify another species pass your own matrix (matrix=...).")


def _lookup(name: str, known: list[str]) -> str | None:
    by_key = {_key(k): k for k in known}
    index = _synonym_index()
    key = _key(name)
    keys = [key]
    words = key.split(" ")
    if len(words) == 3:  # a trinomial not in the table: try its species
        keys.append(" ".join(words[:2]))
    for k in keys:
        if k in by_key:
            return by_key[k]
        target = index.get(k)
        if target is None:
            continue
        if _key(target) in by_key:
            return by_key[_key(target)]
        # a user matrix may name the species differently: any synonym of the target
        for other, t in index.items():
            if t == target and other in by_key:
                return by_key[other]
    return None


def resolve_species(name: str, *, matrix: MatrixLike = None) -> str:
    """The matrix species that ``name`` stands for.

    ``name`` may be the matrix name itself, a scientific name in another taxonomy
    (``Camelus ferus``, ``Uncia uncia``, ``Saiga tatarica``), a subspecies
    (``Equus hemionus kulan``; a trinomial not in the table falls back to its
    binomial) or a common name (``khulan``, ``snow leopard``, ``Bukhara deer``).
    Matching ignores case and ``_`` versus blanks.

    Parameters
    ----------
    name : str
        The name to resolve.
    matrix : DataFrame, str or path, optional
        The barrier matrix (default: the shipped 2017 matrix). With a user matrix, a
        synonym resolves to whichever of its names the user matrix uses.

    Returns
    -------
    str
        The species as spelled in the matrix (e.g. ``'Saiga_spp'``).

    Raises
    ------
    UnknownSpeciesError
        ``name`` matches no matrix species; the message lists them and the closest
        names.

    Notes
    -----
    Synonyms of the 2017 matrix: *Saiga tatarica* and *S. mongolica* -> ``Saiga_spp``;
    *Camelus ferus* (the wild Bactrian camel) -> ``Camelus_bactrianus``;
    *Acinonyx jubatus* -> ``Acinonyx_jubatus_venaticus`` (the Asiatic cheetah, the only
    cheetah of the region); *Cervus elaphus* and *C. hanglu* ->
    ``Cervus_hanglu_bactrianus``, the Bukhara deer, the subspecies the experts rated;
    *Uncia uncia* -> ``Panthera_uncia``; khulan, kulan and onager names ->
    ``Equus_hemionus``.

    Examples
    --------
    >>> resolve_species("Uncia uncia")
    'Panthera_uncia'
    >>> resolve_species("khulan")
    'Equus_hemionus'
    >>> resolve_species("Saiga_tatarica")
    'Saiga_spp'
    >>> resolve_species("Ovis ammon polii")
    'Ovis_ammon'
    """
    m = _as_matrix(matrix)
    known = sorted(m["species"].unique())
    found = _lookup(str(name), known)
    if found is None:
        raise _unknown(str(name), known)
    return found


def matrix_species(names: list[str] | tuple[str, ...] | pd.Series, *,
                   matrix: MatrixLike = None) -> dict[str, str | None]:
    """Resolve many names at once; names without a matrix species map to ``None``.

    Examples
    --------
    >>> matrix_species(["Saiga_tatarica", "Equus_kiang"])
    {'Saiga_tatarica': 'Saiga_spp', 'Equus_kiang': None}
    """
    m = _as_matrix(matrix)
    known = sorted(m["species"].unique())
    return {str(n): _lookup(str(n), known) for n in dict.fromkeys(names)}

