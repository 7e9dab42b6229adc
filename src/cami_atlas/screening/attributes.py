"""Attributes of a proposed line and its barrier class per species.

A proposed line is described by its ``infra_type`` and the attributes of the 2017 CAMI
data dictionary that the expert barrier matrix rates (``track``, ``train_speed``,
``road_class``, ``fence_type``, ...). ``fenced=yes`` says that a fence runs along the
line (a fenced railway is a railway plus a fence); the fence's own attributes
(``fence_type``, ``fence_height``, ...) may be given with it.

Rule for a fenced line (documented in :func:`route_barrier_classes`): the line and the
fence are classified separately with the matrix and the *more severe* of the two
classes is taken, with severity ``not a barrier < unknown < partial barrier <
complete barrier`` -- "unknown" ranks above "not a barrier" so that a fence the matrix
cannot rate never makes a passable line look passable (precautionary).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._options import check_option
from ..barriers import classify_barriers_many, load_matrix, matrix_species
from ..barriers.matrix import MatrixLike, _as_matrix
from ..errors import UnknownValueError
from ..schema import (
    INFRA_TYPES,
    MATRIX_ATTRIBUTE_COLUMNS,
    SCHEMAS,
    normalise_value,
)

__all__ = [
    "FENCE_COLUMNS",
    "SEVERITY",
    "attribute_names",
    "fence_design_notes",
    "most_severe",
    "normalise_attributes",
    "route_barrier_classes",
]

#: Severity rank of each barrier class when two are combined (higher = more severe).
SEVERITY: dict[str, int] = {"not a barrier": 0, "unknown": 1, "partial barrier": 2,
                            "complete barrier": 3}
_BY_RANK = {v: k for k, v in SEVERITY.items()}

_TYPE_COLUMNS: dict[str, tuple[str, ...]] = {}
for (_infra, _attr), _col in MATRIX_ATTRIBUTE_COLUMNS.items():
    _TYPE_COLUMNS.setdefault({"railroad": "railway"}.get(_infra, _infra), ())
    _TYPE_COLUMNS[{"railroad": "railway"}.get(_infra, _infra)] += (_col,)

#: Columns describing a fence (also allowed for a fenced road, railway or pipeline).
FENCE_COLUMNS: tuple[str, ...] = _TYPE_COLUMNS["fence"]

# short names users type -> atlas column
_NAME_ALIASES: dict[str, str] = {
    "speed": "train_speed", "tracks": "track", "surface": "road_surface",
    "class": "road_class", "height": "fence_height", "bottom_gap": "fence_bottom_gap",
    "covered": "fence_covered", "buried": "pipeline_buried", "trenches": "pipeline_trenches",
    "fence": "fenced",
}
_FENCED_VALUES = {"yes": True, "true": True, "1": True, "y": True,
                  "no": False, "false": False, "0": False, "n": False}


def attribute_names(infra_type: str) -> tuple[str, ...]:
    """Attribute names accepted for a proposed line of ``infra_type``.

    Examples
    --------
    >>> attribute_names("railway")[:4]
    ('track', 'train_speed', 'status', 'fenced')
    """
    own = _TYPE_COLUMNS.get(infra_type, ())
    if infra_type == "fence":
        return (*own, "status")
    return (*own, "status", "fenced", *FENCE_COLUMNS)


def _infra_type(infra_type: str) -> str:
    value = normalise_value("infra_type", str(infra_type).strip().lower())
    return str(check_option("infra_type", value, INFRA_TYPES))


def normalise_attributes(infra_type: str,
                         attributes: Mapping[str, object] | None = None) -> dict[str, object]:
    """Check and normalise the attributes of a proposed line.

    Names may be atlas columns (``track``, ``train_speed``, ``fence_type``) or short
    forms (``speed``, ``height``, ``buried``); values are normalised with
    :func:`cami_atlas.schema.normalise_value` (``double`` -> ``double track``).
    ``fenced`` takes yes/no (true/false, 1/0) and is returned as a bool.

    Raises
    ------
    OptionError
        ``infra_type`` is not an atlas infrastructure type.
    UnknownValueError
        An attribute name is not valid for the type, or a value is outside the
        vocabulary (the message lists the allowed names or values).

    Examples
    --------
    >>> normalise_attributes("railway", {"track": "double", "fenced": "yes"})
    {'track': 'double track', 'fenced': True}
    >>> normalise_attributes("road", {"class": "motorway"})
    {'road_class': 'highway'}
    """
    itype = _infra_type(infra_type)
    allowed_names = attribute_names(itype)
    out: dict[str, object] = {}
    for raw_name, raw_value in (attributes or {}).items():
        key = str(raw_name).strip().lower().replace("-", "_").replace(" ", "_")
        name = "fence_type" if (itype == "fence" and key == "type") else \
            _NAME_ALIASES.get(key, key)
        if name not in allowed_names:
            raise UnknownValueError(
                f"attribute {raw_name!r} is not valid for a proposed {itype}; allowed: "
                f"{', '.join(allowed_names)}.")
        if name == "fenced":
            flag = _FENCED_VALUES.get(str(raw_value).strip().lower())
            if flag is None and isinstance(raw_value, bool):
                flag = raw_value
            if flag is None:
                raise UnknownValueError(
                    f"attribute fenced={raw_value!r} is not valid; use yes or no.")
            out[name] = flag
            continue
        value = normalise_value(name, str(raw_value).strip())
        vocab = SCHEMAS["infrastructure"].column(name).allowed or ()
        if value not in vocab:
            raise UnknownValueError(
                f"attribute {name}={raw_value!r} is not valid for a proposed {itype}; allowed "
                f"values: {', '.join(repr(v) for v in vocab)} (short forms such as "
                "'double' or 'high' work too).")
        out[name] = value
    if out.get("fenced") is False and any(c in out for c in FENCE_COLUMNS):
        given = [c for c in FENCE_COLUMNS if c in out]
        raise UnknownValueError(
            f"fence attributes {', '.join(given)} were given with fenced=no; drop them or "
            "set fenced=yes.")
    return out


def most_severe(classes: Sequence[str]) -> str:
    """The most severe of several barrier classes (see :data:`SEVERITY`).

    Examples
    --------
    >>> most_severe(["partial barrier", "unknown"]), most_severe(["not a barrier", "unknown"])
    ('partial barrier', 'unknown')
    """
    if not classes:
        return "unknown"
    return _BY_RANK[max(SEVERITY[c] for c in classes)]


def route_barrier_classes(infra_type: str, attributes: Mapping[str, object] | None,
                          species: Sequence[str], *, matrix: MatrixLike = None) -> pd.DataFrame:
    """Barrier class of a proposed line for each species (line, fence, combined).

    Parameters
    ----------
    infra_type : str
        ``road``, ``railway``, ``fence``, ``pipeline``, ... (aliases such as ``rail``
        work).
    attributes : mapping
        As for :func:`normalise_attributes`.
    species : sequence of str
        Species names (as in the atlas; any synonym :func:`cami_atlas.barriers.resolve_species`
        knows). Species the matrix does not rate get ``unknown``.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).

    Returns
    -------
    pandas.DataFrame
        Indexed by species: ``matrix_species`` (``None`` if not rated),
        ``class_line`` (the line by its own attributes), ``class_fence`` (the fence
        along it, ``""`` if not fenced) and ``barrier_class`` (the more severe of the
        two; :data:`SEVERITY`).

    Notes
    -----
    A line of type ``fence`` is classified once. For ``fenced=yes`` the fence is a
    separate ``infra_type="fence"`` row with the fence attributes given; a fence with
    no attributes is ``unknown`` for every species (the matrix rates fences only by
    their attributes), so a fenced line is at least ``unknown``.

    Examples
    --------
    >>> t = route_barrier_classes("railway", {"track": "single", "fenced": "yes",
    ...                           "fence_type": "tight barbed wire"}, ["Saiga_tatarica"])
    >>> t.loc["Saiga_tatarica", ["class_line", "class_fence", "barrier_class"]].tolist()
    ['partial barrier', 'complete barrier', 'complete barrier']
    """
    itype = _infra_type(infra_type)
    attrs = normalise_attributes(itype, attributes)
    m = _as_matrix(matrix)
    names = [str(s) for s in dict.fromkeys(species)]
    msp = matrix_species(names, matrix=m)
    rated = [n for n in names if msp[n] is not None]
    line_attrs = {k: v for k, v in attrs.items()
                  if k not in ("fenced",) and (itype == "fence" or k not in FENCE_COLUMNS)}
    rows = [{"infra_type": itype, **line_attrs}]
    fenced = bool(attrs.get("fenced", False)) and itype != "fence"
    if fenced:
        rows.append({"infra_type": "fence",
                     **{k: v for k, v in attrs.items() if k in FENCE_COLUMNS}})
    frame = pd.DataFrame(rows)
    if rated:
        wide = classify_barriers_many(frame, rated, matrix=m)
    else:
        wide = pd.DataFrame(index=frame.index)
    line = {n: (wide.loc[0, n] if n in wide.columns else "unknown") for n in names}
    fence = {n: ((wide.loc[1, n] if n in wide.columns else "unknown") if fenced else "")
             for n in names}
    combined = {n: most_severe([line[n]] + ([fence[n]] if fenced else [])) for n in names}
    out = pd.DataFrame({"matrix_species": [msp[n] for n in names],
                        "class_line": [line[n] for n in names],
                        "class_fence": [fence[n] for n in names],
                        "barrier_class": [combined[n] for n in names]},
                       index=pd.Index(names, name="species"))
    return out


def fence_design_notes(infra_type: str, species: Sequence[str], *,
                       fenced: bool = False, matrix: MatrixLike = None) -> pd.DataFrame:
    """Which attribute values the barrier matrix rates passable for each species.

    For the line's own type and, when it is a fence or fenced, for fences: every
    condition of the matrix rated ``not a barrier`` or ``partial barrier`` -- the design
    choices that keep the line permeable -- and the ``complete barrier`` conditions to
    avoid.

    Returns
    -------
    pandas.DataFrame
        ``species``, ``matrix_species``, ``infra_type``, ``attribute`` (atlas column),
        ``value``, ``barrier_class``, ``advice`` (``use``, ``use with mitigation`` or
        ``avoid``).

    Examples
    --------
    >>> t = fence_design_notes("pipeline", ["Saiga_tatarica"])
    >>> t.loc[t["advice"] == "use", "value"].tolist()
    ['yes', 'yes, with a berm', 'no trenches']
    """
    itype = _infra_type(infra_type)
    m = _as_matrix(matrix)
    names = [str(s) for s in dict.fromkeys(species)]
    msp = matrix_species(names, matrix=m)
    types = {itype} | ({"fence"} if fenced or itype == "fence" else set())
    from ..barriers import attribute_column, matrix_infra_type

    mat = load_matrix(m) if matrix is not None else m
    mat = mat.assign(infra_type=mat["infrastructure"].map(matrix_infra_type))
    mat = mat[mat["infra_type"].isin(types) & (mat["barrier_class"] != "unknown")]
    frames = []
    for n in names:
        if msp[n] is None:
            continue
        rows = mat[mat["species"] == msp[n]]
        if rows.empty:
            continue
        frames.append(pd.DataFrame({
            "species": n, "matrix_species": msp[n], "infra_type": rows["infra_type"].to_numpy(),
            "attribute": [attribute_column(i, a) for i, a in
                          zip(rows["infrastructure"], rows["attribute"], strict=True)],
            "value": rows["value"].to_numpy(), "barrier_class": rows["barrier_class"].to_numpy(),
        }))
    cols = ["species", "matrix_species", "infra_type", "attribute", "value", "barrier_class",
            "advice"]
    if not frames:
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    out["advice"] = np.select([out["barrier_class"] == "not a barrier",
                               out["barrier_class"] == "partial barrier"],
                              ["use", "use with mitigation"], "avoid")
    return out[cols]
