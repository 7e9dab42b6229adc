"""The expert barrier matrix: which attribute values make a segment a barrier for a species.

The matrix shipped with the package is the one of the 2017 CAMI atlas (workshop on the
Isle of Vilm, 27–30 April 2017; transcribed from the Wildlife Conservation Society
scripts behind the atlas, repository ``WildlifeConservationSocietyCI/cami``, file
``conflict_matrix/__init__.py`` at commit ``4d9fdf8c0e4fd69428e185e0ee4df363fd562af0``;
see ``cami_atlas/data/README.md``). It has one row per condition::

    species, infrastructure, attribute, value, barrier_class

``infrastructure`` is the matrix's name (``road``, ``railroad``, ``fence``,
``pipeline``; ``railroad`` is the atlas' ``railway``) or any atlas ``infra_type``;
``attribute`` is a field of the 2017 data dictionary (``type_``, ``type1``,
``traffic``, ``track``, ``speed``, ...), mapped to an atlas column through
:data:`cami_atlas.schema.MATRIX_ATTRIBUTE_COLUMNS`, or directly the name of a column of
the infrastructure layer (so a user matrix can rate other attributes).

Users can pass their own matrix (CSV path or DataFrame) with the same columns, for
more species or other attributes; :func:`load_matrix` validates it and reports every
problem at once.
"""

from __future__ import annotations

import functools
import os
from importlib import resources
from pathlib import Path

import pandas as pd

from ..errors import (
    EmptyLayerError,
    LayerReadError,
    MissingColumnError,
    SchemaError,
    UnknownValueError,
)
from ..schema import (
    ATTRIBUTE_ALIASES,
    BARRIER_CLASSES,
    INFRA_TYPES,
    MATRIX_ATTRIBUTE_COLUMNS,
    MATRIX_INFRA_TYPES,
    SCHEMAS,
    SPECIES_NAME_PATTERN,
    canonical_species_name,
    normalise_value,
)
from ..validate import suggest_column

__all__ = [
    "DEFAULT_MATRIX_FILE",
    "MATRIX_COLUMNS",
    "MatrixLike",
    "attribute_column",
    "load_matrix",
    "matrix_infra_type",
]

#: Columns of a barrier matrix.
MATRIX_COLUMNS: tuple[str, ...] = ("species", "infrastructure", "attribute", "value",
                                   "barrier_class")
#: File name of the shipped 2017 matrix inside ``cami_atlas/data``.
DEFAULT_MATRIX_FILE = "cami_barrier_matrix_2017.csv"

#: What ``matrix=`` accepts: ``None`` (the shipped 2017 matrix), a CSV path or a DataFrame.
MatrixLike = pd.DataFrame | str | os.PathLike[str] | None

_CLASS_ALIASES = {
    "not a barrier": "not a barrier", "no barrier": "not a barrier", "none": "not a barrier",
    "not barrier": "not a barrier", "partial barrier": "partial barrier",
    "partial": "partial barrier", "complete barrier": "complete barrier",
    "complete": "complete barrier", "full": "complete barrier", "unknown": "unknown",
}
_MATRIX_NAME_OF = {v: k for k, v in MATRIX_INFRA_TYPES.items()}  # railway -> railroad
_INFRA_COLUMNS = frozenset(SCHEMAS["infrastructure"].names)
_MAX_LISTED = 8
_VALIDATED = "cami_atlas_validated_matrix"


def matrix_infra_type(name: str) -> str:
    """The atlas ``infra_type`` of a matrix ``infrastructure`` value.

    Examples
    --------
    >>> matrix_infra_type("railroad")
    'railway'
    >>> matrix_infra_type("fence")
    'fence'
    """
    key = str(name).strip().lower()
    key = MATRIX_INFRA_TYPES.get(key, key)
    return str(normalise_value("infra_type", key))


def attribute_column(infrastructure: str, attribute: str) -> str:
    """The atlas column that a matrix ``attribute`` of ``infrastructure`` refers to.

    2017 data-dictionary attributes are translated through
    :data:`cami_atlas.schema.MATRIX_ATTRIBUTE_COLUMNS`; any other attribute is taken
    to be a column name of the infrastructure layer itself.

    Examples
    --------
    >>> attribute_column("road", "type_")
    'road_surface'
    >>> attribute_column("railway", "speed")
    'train_speed'
    >>> attribute_column("fence", "fence_height_m")
    'fence_height_m'
    """
    atlas_type = matrix_infra_type(infrastructure)
    matrix_name = _MATRIX_NAME_OF.get(atlas_type, atlas_type)
    return MATRIX_ATTRIBUTE_COLUMNS.get((matrix_name, attribute), attribute)


def _where(source: str | None) -> str:
    return f"barrier matrix {source}" if source else "barrier matrix"


def _rows(mask: pd.Series) -> str:
    # 1-based data-row numbers as in a spreadsheet (header = row 1)
    rows = [str(int(i) + 2) for i in mask[mask].index[:_MAX_LISTED]]
    more = int(mask.sum()) - len(rows)
    return ", ".join(rows) + (f" and {more} more" if more > 0 else "")


def _validate(df: pd.DataFrame, source: str | None) -> pd.DataFrame:
    where = _where(source)
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(
            f"{where}: expected a pandas DataFrame or a CSV path, got {type(df).__name__}. "
            f"A matrix has the columns {', '.join(MATRIX_COLUMNS)}.")
    present = [str(c) for c in df.columns]
    missing = [c for c in MATRIX_COLUMNS if c not in df.columns]
    if missing:
        parts = []
        for name in missing:
            close = suggest_column(name, [c for c in present if c not in MATRIX_COLUMNS])
            parts.append(f"{name!r}" + (f" (found {close!r}: rename it)" if close else ""))
        raise MissingColumnError(
            f"{where}: missing column(s) {', '.join(parts)}. A matrix needs the columns "
            f"{', '.join(MATRIX_COLUMNS)}; present: {', '.join(present) or 'none'}.")
    if len(df) == 0:
        raise EmptyLayerError(
            f"{where} has no rows; it needs at least one condition "
            "(species, infrastructure, attribute, value, barrier_class).")
    out = df.loc[:, list(MATRIX_COLUMNS)].reset_index(drop=True)
    problems: list[tuple[type[SchemaError], str]] = []

    empty = out.isna() | out.astype(str).apply(lambda s: s.str.strip() == "")
    if empty.any().any():
        for col in MATRIX_COLUMNS:
            if empty[col].any():
                problems.append((SchemaError, (
                    f"{where}: column {col!r} is empty in {int(empty[col].sum())} row(s) "
                    f"(rows {_rows(empty[col])}); every condition needs all five values.")))
        out = out.loc[~empty.any(axis=1)].copy()
    for col in MATRIX_COLUMNS:
        out[col] = out[col].astype(str).str.strip()

    # species
    out["species"] = out["species"].map(canonical_species_name)
    bad = ~out["species"].map(lambda v: bool(SPECIES_NAME_PATTERN.match(v)))
    if bad.any():
        shown = ", ".join(repr(v) for v in sorted(set(out.loc[bad, "species"]))[:_MAX_LISTED])
        problems.append((UnknownValueError, (
            f"{where}: column 'species' holds name(s) that are not scientific names ({shown}; "
            f"rows {_rows(bad)}). Use 'Genus_species', 'Genus_species_subspecies' or "
            "'Genus_spp', e.g. 'Saiga_spp'.")))

    # barrier class
    classes = out["barrier_class"].str.lower().str.replace(r"\s+", " ", regex=True)
    out["barrier_class"] = classes.map(_CLASS_ALIASES)
    bad = out["barrier_class"].isna()
    if bad.any():
        shown = ", ".join(repr(v) for v in sorted(set(classes[bad]))[:_MAX_LISTED])
        problems.append((UnknownValueError, (
            f"{where}: column 'barrier_class' has unknown value(s) {shown} (rows {_rows(bad)}). "
            f"Allowed: {', '.join(map(repr, BARRIER_CLASSES))}.")))

    # infrastructure
    infra = out["infrastructure"].str.lower()
    atlas_type = infra.map(matrix_infra_type)
    known_types = set(INFRA_TYPES)
    bad = ~atlas_type.isin(known_types)
    if bad.any():
        shown = ", ".join(repr(v) for v in sorted(set(infra[bad]))[:_MAX_LISTED])
        valid = sorted(set(MATRIX_INFRA_TYPES) | known_types
                       | set(ATTRIBUTE_ALIASES["infra_type"]))
        problems.append((UnknownValueError, (
            f"{where}: column 'infrastructure' has unknown value(s) {shown} (rows "
            f"{_rows(bad)}). Allowed: {', '.join(map(repr, valid))}.")))
    out["infrastructure"] = infra

    # values of vocabulary columns
    columns = pd.Series([attribute_column(i, a) if ok else a for i, a, ok in
                         zip(out["infrastructure"], out["attribute"], ~bad, strict=True)],
                        index=out.index)
    values = []
    bad_value = []
    for col, value in zip(columns, out["value"], strict=True):
        allowed = SCHEMAS["infrastructure"].column(col).allowed if col in _INFRA_COLUMNS \
            else None
        v = normalise_value(col, value) if allowed else value
        values.append(v)
        bad_value.append(allowed is not None and v not in allowed)
    out["value"] = values
    bad_value_s = pd.Series(bad_value, index=out.index, dtype=bool)
    if bad_value_s.any():
        lines = []
        for col in sorted(set(columns[bad_value_s])):
            sel = bad_value_s & (columns == col)
            shown = ", ".join(repr(v) for v in sorted(set(out.loc[sel, "value"])))
            allowed = SCHEMAS["infrastructure"].column(col).allowed or ()
            lines.append(f"{shown} for atlas column {col!r} (rows {_rows(sel)}; allowed: "
                         f"{', '.join(map(repr, allowed))})")
        problems.append((UnknownValueError, (
            f"{where}: column 'value' has value(s) outside the vocabulary: "
            + "; ".join(lines) + ".")))

    if problems:
        cls = problems[0][0]
        if len(problems) == 1:
            raise cls(problems[0][1])
        listed = "\n".join(f"  - {msg}" for _, msg in problems)
        raise cls(f"{where} has {len(problems)} problems:\n{listed}")
    out = out.reset_index(drop=True)
    out.attrs[_VALIDATED] = True
    return out


@functools.lru_cache(maxsize=1)
def _default_matrix() -> pd.DataFrame:
    ref = resources.files("cami_atlas.data").joinpath(DEFAULT_MATRIX_FILE)
    with resources.as_file(ref) as path:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return _validate(df, f"{DEFAULT_MATRIX_FILE} (shipped with cami_atlas)")


def _read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise LayerReadError(
            f"barrier matrix file {str(p)!r} does not exist or is not a file; pass the path "
            "of a CSV with the columns " + ", ".join(MATRIX_COLUMNS) + ".")
    try:
        return pd.read_csv(p, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LayerReadError(
            f"barrier matrix file {str(p)!r} could not be read as CSV ({exc}); save it as "
            "comma-separated UTF-8 text with a header row.") from None


def load_matrix(path: pd.DataFrame | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load and validate a barrier matrix (the shipped 2017 CAMI matrix by default).

    Parameters
    ----------
    path : str, path-like or pandas.DataFrame, optional
        A CSV file or a DataFrame with the columns ``species``, ``infrastructure``,
        ``attribute``, ``value``, ``barrier_class``. ``None`` loads the 2017 matrix of
        the CAMI atlas shipped with the package (10 species, 319 conditions).

    Returns
    -------
    pandas.DataFrame
        A new DataFrame with exactly those five columns: species names in canonical
        form (``Genus_species``), ``infrastructure`` lower-cased, values normalised to
        the atlas vocabulary (``double`` -> ``double track``) and barrier classes to
        :data:`cami_atlas.schema.BARRIER_CLASSES` (``partial`` -> ``partial barrier``).

    Raises
    ------
    LayerReadError
        The file is missing or not CSV.
    MissingColumnError, EmptyLayerError, UnknownValueError, SchemaError
        The matrix lacks a column, has no rows, or holds unknown species names,
        infrastructure types, barrier classes or attribute values (every problem is
        listed in one message, with row numbers).

    Notes
    -----
    Rows whose class is ``unknown`` are kept (they document the experts' view) but
    never change a classification: a segment starts as ``unknown`` anyway (see
    :func:`cami_atlas.barriers.classify_barriers`).

    Examples
    --------
    >>> m = load_matrix()
    >>> m.shape
    (319, 5)
    >>> sorted(m["species"].unique())[:3]
    ['Acinonyx_jubatus_venaticus', 'Camelus_bactrianus', 'Cervus_hanglu_bactrianus']
    >>> import pandas as pd
    >>> mine = pd.DataFrame({"species": ["Equus kiang"], "infrastructure": ["railway"],
    ...                      "attribute": ["track"], "value": ["double"],
    ...                      "barrier_class": ["complete"]})
    >>> load_matrix(mine).iloc[0].tolist()
    ['Equus_kiang', 'railway', 'track', 'double track', 'complete barrier']
    """
    if path is None:
        return _public(_default_matrix())
    if isinstance(path, pd.DataFrame):
        return _public(_validate(path, None))
    if isinstance(path, str | os.PathLike):
        return _public(_validate(_read_csv(path), repr(str(path))))
    raise SchemaError(
        f"barrier matrix: expected None, a CSV path or a pandas DataFrame, got "
        f"{type(path).__name__}.")


def _public(df: pd.DataFrame) -> pd.DataFrame:
    """A copy for the caller, without the internal 'validated' mark (they may edit it)."""
    out = df.copy()
    out.attrs.pop(_VALIDATED, None)
    return out


def _as_matrix(matrix: pd.DataFrame | str | os.PathLike[str] | None) -> pd.DataFrame:
    """A validated matrix for internal use (not copied; never modified by the library).

    Frames validated here carry a mark in ``attrs`` so that functions passing them on
    do not validate them again; frames handed to users never carry it.
    """
    if matrix is None:
        return _default_matrix()
    if isinstance(matrix, pd.DataFrame) and matrix.attrs.get(_VALIDATED):
        return matrix
    if isinstance(matrix, pd.DataFrame):
        return _validate(matrix, None)
    if isinstance(matrix, str | os.PathLike):
        return _validate(_read_csv(matrix), repr(str(matrix)))
    return load_matrix(matrix)  # raises the error for other types
