"""IUCN Red List status of the atlas species, and hotspot scores weighted by it.

The status table ships as ``cami_atlas/data/species_status.csv``: one row per species of
the default atlas with its global Red List category (``iucn_category``), the year the
assessment was published (``assessment_year``), the ``citation`` of the assessment and a
``note``. A category or year that could not be verified from a published assessment is
left empty (read as ``NE``, not evaluated, by the weighting). Users pass their own table
(same columns) to use newer assessments.

Weights
-------
The default weight of a species is ``1 +`` the category weight of the IUCN Red List
Index (Butchart et al. 2004, 2007: LC 0, NT 1, VU 2, EN 3, CR 4), so a Least Concern
species counts once and a Critically Endangered one five times:

======== ====== =====================================================================
category weight why
======== ====== =====================================================================
CR       5      1 + 4
EN       4      1 + 3
VU       3      1 + 2
NT       2      1 + 1
LC       1      1 + 0
DD       1      data deficient: counted as LC (no evidence of a higher risk)
NE       1      not evaluated (or left empty in the table): counted as LC
EW       0      no wild population to be affected by a barrier
EX       0      extinct
======== ====== =====================================================================

:func:`status_weighted_score` multiplies each species' score in a cell by its weight and
sums over the species: ``score_w(cell) = Σ_s v(category_s) · x(cell, s)``.
"""

from __future__ import annotations

import io
import os
import re
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import LayerReadError, MissingColumnError, SchemaError, UnknownValueError
from .species import species_synonyms

__all__ = [
    "DEFAULT_STATUS_WEIGHTS",
    "IUCN_CATEGORIES",
    "STATUS_FILE",
    "load_species_status",
    "status_weighted_score",
    "status_weights",
]

#: The IUCN Red List categories (v3.1), most to least threatened after the extinct ones.
IUCN_CATEGORIES: tuple[str, ...] = ("EX", "EW", "CR", "EN", "VU", "NT", "LC", "DD", "NE")
#: Default weight of each category (1 + the Red List Index weight; see the module docs).
DEFAULT_STATUS_WEIGHTS: dict[str, float] = {
    "EX": 0.0, "EW": 0.0, "CR": 5.0, "EN": 4.0, "VU": 3.0, "NT": 2.0, "LC": 1.0,
    "DD": 1.0, "NE": 1.0,
}
#: File name of the shipped status table inside ``cami_atlas/data``.
STATUS_FILE = "species_status.csv"
_COLUMNS = ("species", "iucn_category", "assessment_year", "citation", "note")
_FIRST_YEAR = 1964  # the first IUCN Red Data Book (mammals) appeared in 1964


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV whose lines starting with ``#`` are comments (only whole lines)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayerReadError(f"could not read the status table {path}: {exc}") from exc
    body = "".join(line for line in text.splitlines(keepends=True)
                   if not line.lstrip().startswith("#"))
    try:
        return pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise LayerReadError(f"could not read the status table {path} as CSV: {exc}") from exc


def load_species_status(
    status: str | os.PathLike[str] | pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The species status table, validated.

    Parameters
    ----------
    status : path, DataFrame or None
        A CSV (lines starting with ``#`` are comments) or a DataFrame with the columns
        ``species``, ``iucn_category``, ``assessment_year``, ``citation`` (``note``
        optional); ``None`` reads the shipped table (IUCN assessments of the default
        atlas species, see ``cami_atlas/data/README.md``).

    Returns
    -------
    pandas.DataFrame
        ``species`` (as given, ``Genus_species``), ``iucn_category`` (upper case, or
        ``""`` where unknown), ``assessment_year`` (``Int64``, ``<NA>`` where unknown),
        ``citation``, ``note``; one row per species.

    Raises
    ------
    MissingColumnError
        A required column is missing.
    UnknownValueError
        A category outside EX, EW, CR, EN, VU, NT, LC, DD, NE (the message lists them).
    SchemaError
        A species listed twice, an empty species name, a year that is not a whole number
        between 1964 and next year, or a category without a citation.

    Examples
    --------
    >>> t = load_species_status()
    >>> row = t.set_index("species").loc["Saiga_tatarica"]
    >>> row["iucn_category"], int(row["assessment_year"])
    ('NT', 2023)
    >>> import pandas as pd
    >>> own = pd.DataFrame({"species": ["X_y"], "iucn_category": ["vu"],
    ...                     "assessment_year": [2020], "citation": ["c"]})
    >>> load_species_status(own)[["iucn_category", "note"]].values.tolist()
    [['VU', '']]
    """
    if status is None:
        ref = resources.files("cami_atlas.data").joinpath(STATUS_FILE)
        with resources.as_file(ref) as path:
            table, where = _read_csv(Path(path)), f"the shipped {STATUS_FILE}"
    elif isinstance(status, pd.DataFrame):
        table, where = status.copy(), "the status table"
    else:
        path = Path(status)
        if not path.exists():
            raise LayerReadError(f"status table {path} does not exist; check the path.")
        table, where = _read_csv(path), str(path)
    missing = [c for c in _COLUMNS[:4] if c not in table.columns]
    if missing:
        raise MissingColumnError(
            f"{where} lacks the column(s) {missing}; it needs {list(_COLUMNS[:4])} "
            f"(and optionally 'note'). Got {list(table.columns)}.")
    if "note" not in table.columns:
        table["note"] = ""
    table = table[list(_COLUMNS)].copy()
    for col in ("species", "iucn_category", "citation", "note"):
        table[col] = table[col].fillna("").astype(str).str.strip()
    table["iucn_category"] = table["iucn_category"].str.upper()
    problems: list[str] = []
    bad = sorted(set(table.loc[~table["iucn_category"].isin((*IUCN_CATEGORIES, "")),
                               "iucn_category"]))
    if bad:
        rows = table.loc[table["iucn_category"].isin(bad), "species"].tolist()
        raise UnknownValueError(
            f"{where}: unknown IUCN Red List categor{'y' if len(bad) == 1 else 'ies'} "
            f"{', '.join(map(repr, bad))} (species {', '.join(rows[:10])}); use one of "
            f"{', '.join(IUCN_CATEGORIES)} (or leave the cell empty when unknown).")
    if (table["species"] == "").any():
        problems.append(f"{int((table['species'] == '').sum())} row(s) have no species name")
    dup = table["species"].duplicated(keep=False) & (table["species"] != "")
    if dup.any():
        problems.append(f"species listed more than once: {sorted(set(table.loc[dup, 'species']))}")
    raw_year = table["assessment_year"]
    year = pd.to_numeric(raw_year.replace("", np.nan), errors="coerce")
    nonnum = raw_year.notna() & (raw_year.astype(str).str.strip() != "") & year.isna()
    frac = year.notna() & (year != np.floor(year))
    last = pd.Timestamp.now(tz="UTC").year + 1
    out = year.notna() & ~year.between(_FIRST_YEAR, last)
    if (nonnum | frac | out).any():
        shown = table.loc[nonnum | frac | out, ["species", "assessment_year"]].head(10)
        problems.append("assessment_year must be a whole year between "
                        f"{_FIRST_YEAR} and {last}: {shown.values.tolist()}")
    uncited = (table["iucn_category"] != "") & (table["citation"] == "")
    if uncited.any():
        problems.append("a category needs the citation of its assessment; none for "
                        f"{table.loc[uncited, 'species'].tolist()}")
    if problems:
        raise SchemaError(f"{where}: " + "; ".join(problems) + ".")
    table["assessment_year"] = year.astype("Int64")
    return table.reset_index(drop=True)


def _key(name: object) -> str:
    return re.sub(r"[\s_]+", " ", str(name).strip().lower())


def _status_index(table: pd.DataFrame) -> dict[str, str]:
    """Category by species key, plus the 2017 matrix's names of the same species.

    Only matrix names of species rank are added (``Camelus_bactrianus`` for the wild
    camel, ``Saiga_spp``); subspecies and split taxa (``Acinonyx_jubatus_venaticus``,
    ``Saiga_mongolica``) are not, since their Red List category can differ from the
    species'.
    """
    syn = species_synonyms()
    to_matrix = {_key(n): _key(m) for n, m in zip(syn["name"], syn["matrix_species"],
                                                     strict=True)}
    direct = dict(zip(table["species"].map(_key), table["iucn_category"], strict=True))
    via: dict[str, set[str]] = {}
    for sp, cat in direct.items():
        m = to_matrix.get(sp)
        if m is not None and len(m.split()) == 2 and cat:
            via.setdefault(m, set()).add(cat)
    out = {m: next(iter(cats)) for m, cats in via.items() if len(cats) == 1}
    out.update({k: v for k, v in direct.items() if v})
    return out


def status_weights(
    species: list[str] | tuple[str, ...] | pd.Index | pd.Series,
    *,
    status: str | os.PathLike[str] | pd.DataFrame | None = None,
    weights: dict[str, float] | None = None,
    missing: Literal["ne", "error"] = "ne",
) -> pd.DataFrame:
    """The Red List category and weight of each species.

    A name is matched to the status table directly (case, blanks and underscores
    ignored); the species names of the 2017 barrier matrix are matched too
    (``Camelus_bactrianus`` finds ``Camelus_ferus``, ``Saiga_spp`` finds
    ``Saiga_tatarica``). Subspecies and common names are not matched (a subspecies can
    have its own category, e.g. the Mongolian saiga): add rows for them.

    Parameters
    ----------
    species : sequence of str
        Species names (e.g. the per-species columns of a cell table).
    status : path, DataFrame or None
        Status table (see :func:`load_species_status`); ``None``: the shipped one.
    weights : dict, optional
        Weight of each category; default :data:`DEFAULT_STATUS_WEIGHTS`. Must give a
        finite weight >= 0 for all of EX, EW, CR, EN, VU, NT, LC, DD, NE.
    missing : {"ne", "error"}
        A species absent from the table (or with an empty category) is ``NE`` (weight of
        ``NE``), or raises :class:`UnknownValueError`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``species`` (as given): ``iucn_category`` and ``status_weight``.

    Examples
    --------
    >>> status_weights(["Saiga_spp", "Panthera uncia", "Camelus_bactrianus", "Felis_catus"])
                       iucn_category  status_weight
    species
    Saiga_spp                     NT            2.0
    Panthera uncia                VU            3.0
    Camelus_bactrianus            EN            4.0
    Felis_catus                   NE            1.0
    """
    check_option("missing", missing, ("ne", "error"))
    w = dict(DEFAULT_STATUS_WEIGHTS if weights is None else weights)
    absent = [c for c in IUCN_CATEGORIES if c not in w]
    extra = [c for c in w if c not in IUCN_CATEGORIES]
    if absent or extra:
        raise UnknownValueError(
            f"weights must give exactly the categories {', '.join(IUCN_CATEGORIES)}; "
            f"missing {absent}, unknown {extra}.")
    bad = {c: v for c, v in w.items() if not (np.isfinite(float(v)) and float(v) >= 0)}
    if bad:
        raise SchemaError(f"category weights must be finite and >= 0; got {bad}.")
    index = _status_index(load_species_status(status))
    names = [str(s) for s in species]
    cats = []
    unknown = []
    for name in names:
        k = _key(name)
        cat = index.get(k, "")
        if not cat:
            unknown.append(name)
            cat = "NE"
        cats.append(cat)
    if unknown and missing == "error":
        raise UnknownValueError(
            f"no IUCN Red List category for {unknown[:10]} in the status table; add them "
            "(species, iucn_category, assessment_year, citation) or pass missing='ne'.")
    out = pd.DataFrame({"iucn_category": cats,
                        "status_weight": [float(w[c]) for c in cats]},
                       index=pd.Index(names, name="species"))
    return out


def status_weighted_score(
    per_species: pd.DataFrame,
    *,
    status: str | os.PathLike[str] | pd.DataFrame | None = None,
    weights: dict[str, float] | None = None,
    missing: Literal["ne", "error"] = "ne",
) -> pd.Series:
    """Per-species hotspot scores summed with Red List weights, one value per cell.

    ``score_w(cell) = Σ_s v(category_s) · x(cell, s)`` with ``x`` the per-species score
    (e.g. km of complete barriers inside species ``s``' range per km² of the cell) and
    ``v`` the category weight (:data:`DEFAULT_STATUS_WEIGHTS` unless ``weights``).
    NaN scores count 0.

    Parameters
    ----------
    per_species : DataFrame
        One row per cell, one column per species (numeric).
    status, weights, missing
        See :func:`status_weights`.

    Returns
    -------
    pandas.Series
        ``status_weighted_score`` aligned to ``per_species.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> x = pd.DataFrame({"Saiga_tatarica": [1.0, 0.0], "Panthera_uncia": [0.5, 2.0],
    ...                   "Ursus_arctos": [0.0, 1.0]})
    >>> status_weighted_score(x).tolist()   # NT 2, VU 3, LC 1: 2*1 + 3*0.5, 3*2 + 1*1
    [3.5, 7.0]
    """
    if not isinstance(per_species, pd.DataFrame):
        raise SchemaError("per_species must be a DataFrame with one column per species; got "
                          f"{type(per_species).__name__}.")
    nonnum = [c for c in per_species.columns
              if not pd.api.types.is_numeric_dtype(per_species[c])]
    if nonnum:
        raise SchemaError(f"per-species scores must be numeric; columns {nonnum} are not. "
                          "Keep only the species columns, e.g. table[species_list].")
    w = status_weights(per_species.columns, status=status, weights=weights, missing=missing)
    values = per_species.to_numpy(dtype=float)
    values = np.where(np.isnan(values), 0.0, values)
    return pd.Series(values @ w["status_weight"].to_numpy(), index=per_species.index,
                     name="status_weighted_score")
