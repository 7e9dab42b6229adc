"""The barrier-pressure score of hotspot cells, with its weights in a table.

The weights are data, not code: ``cami_atlas/data/hotspot_weights.csv`` ships the
defaults (its comment header repeats the formula) and users pass their own table.

Formula
-------
For a cell of area ``A`` km² the components are

* ``barrier``: ``x = Σ_s Σ_c w_c · L(s, c) / A`` (column ``barrier_km_per_km2``), where
  ``L(s, c)`` is the geodesic km of infrastructure in the cell that lies inside the
  range (or corridor polygons) of species ``s`` and is of barrier class ``c`` for ``s``
  (the per-cell table holds ``Σ_s L(s, c)`` in the column ``species_km_<class>``,
  e.g. ``species_km_complete_barrier``), and ``w_c`` the weight of class ``c``;
* ``crossings``: ``x = crossings / A`` (``crossings_per_km2``);
* ``track_crossings``: ``x = track_crossings / A`` (``track_crossings_per_km2``);
* ``connectivity``: ``x = connectivity`` (mean current density or corridor share; NaN -> 0).

A component whose column is absent from the table is left out. With ``W_k`` the
component weights:

* ``normalise="max"`` (default): ``score = Σ_k W_k · x_k / max(x_k) / Σ_k W_k``, in
  [0, 1]; the maximum is over the cells of the table, and a component that is 0 in
  every cell adds 0 (but its weight stays in the denominator).
* ``normalise="none"``: ``score = Σ_k W_k · x_k`` (the units of the components mix; the
  weights carry them).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import LayerReadError, MissingColumnError, SchemaError, UnknownValueError
from ..schema import BARRIER_CLASSES

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS_FILE",
    "barrier_pressure",
    "class_column",
    "default_weights_path",
    "load_weights",
    "pressure_components",
]

#: Components of the score, in the order of the weights table.
COMPONENTS: tuple[str, ...] = ("barrier", "crossings", "track_crossings", "connectivity")
#: The shipped weights table (package data of ``cami_atlas.data``).
DEFAULT_WEIGHTS_FILE = "hotspot_weights.csv"
_GROUPS = ("barrier_class", "component")
_COMPONENT_INPUT = {"crossings": "crossings", "track_crossings": "track_crossings",
                    "connectivity": "connectivity"}
_COMPONENT_OUTPUT = {"barrier": "barrier_km_per_km2", "crossings": "crossings_per_km2",
                     "track_crossings": "track_crossings_per_km2",
                     "connectivity": "connectivity"}


def class_column(barrier_class: str) -> str:
    """Name of the per-cell column holding the species-km of a barrier class.

    Examples
    --------
    >>> class_column("complete barrier")
    'species_km_complete_barrier'
    """
    return "species_km_" + barrier_class.replace(" ", "_")


def default_weights_path() -> Path:
    """Path of the shipped default weights table (copy it to make your own).

    Examples
    --------
    >>> default_weights_path().name
    'hotspot_weights.csv'
    """
    return Path(str(resources.files("cami_atlas.data").joinpath(DEFAULT_WEIGHTS_FILE)))


def _read_weights(weights: Any) -> tuple[pd.DataFrame, str]:
    if weights is None:
        weights = default_weights_path()
    if isinstance(weights, pd.DataFrame):
        return weights.copy(), "the weights table"
    if isinstance(weights, str | os.PathLike):
        path = Path(weights)
        if not path.is_file():
            raise LayerReadError(
                f"weights file {path} does not exist; give the path of a CSV like "
                f"{default_weights_path()} (columns group,name,weight)."
            )
        try:
            table = pd.read_csv(path, comment="#", skipinitialspace=True, dtype={"weight": str})
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise LayerReadError(f"could not read weights file {path}: {exc}") from exc
        return table, f"weights file {path}"
    raise SchemaError(
        f"weights must be a path to a CSV or a DataFrame (columns group,name,weight); got "
        f"{type(weights).__name__}."
    )


def load_weights(weights: str | os.PathLike[str] | pd.DataFrame | None = None) -> pd.DataFrame:
    """Read and check a weights table (default: the shipped ``hotspot_weights.csv``).

    The table has columns ``group`` (``barrier_class`` or ``component``), ``name`` (a
    barrier class of :data:`cami_atlas.schema.BARRIER_CLASSES` or a component of
    :data:`COMPONENTS`) and ``weight`` (finite, >= 0); ``#`` lines are comments. Every
    barrier class and every component needs exactly one row. All problems are
    reported at once.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``name``, ``weight`` (float), one row per class and component.

    Raises
    ------
    MissingColumnError
        A column is missing.
    UnknownValueError
        A group, barrier class or component is not known.
    SchemaError
        A weight is missing, not a number or negative, or a row is duplicated.

    Examples
    --------
    >>> w = load_weights()
    >>> w.set_index("name").loc["complete barrier", "weight"]
    np.float64(1.0)
    """
    table, where = _read_weights(weights)
    table.columns = [str(c).strip() for c in table.columns]
    missing_cols = [c for c in ("group", "name", "weight") if c not in table.columns]
    if missing_cols:
        raise MissingColumnError(
            f"{where} lacks column(s) {missing_cols}; it has {list(table.columns)}. "
            f"Use the layout of {default_weights_path()} (group,name,weight[,note])."
        )
    group = table["group"].astype(str).str.strip()
    name = table["name"].astype(str).str.strip()
    raw = table["weight"].map(lambda v: "" if pd.isna(v) else str(v).strip())  # a few rows
    weight = pd.to_numeric(raw.replace("", np.nan), errors="coerce")
    unknown: list[str] = []
    problems: list[str] = []
    bad_group = ~group.isin(_GROUPS)
    for g in group[bad_group].unique():
        unknown.append(f"unknown group {g!r} (use one of {', '.join(map(repr, _GROUPS))})")
    is_class = group.eq("barrier_class")
    for n in name[is_class & ~name.isin(BARRIER_CLASSES)].unique():
        unknown.append(f"unknown barrier class {n!r} (use one of "
                       f"{', '.join(map(repr, BARRIER_CLASSES))})")
    is_comp = group.eq("component")
    for n in name[is_comp & ~name.isin(COMPONENTS)].unique():
        unknown.append(f"unknown component {n!r} (use one of {', '.join(map(repr, COMPONENTS))})")
    for g, n, r in zip(group[weight.isna()], name[weight.isna()], raw[weight.isna()],
                       strict=True):
        problems.append(f"missing weight for {g} {n!r}" if r == ""
                        else f"weight {r!r} of {g} {n!r} is not a number")
    bad = weight.notna() & (~np.isfinite(weight) | (weight < 0))
    for g, n, v in zip(group[bad], name[bad], weight[bad], strict=True):
        problems.append(f"weight {v} of {g} {n!r} must be finite and >= 0")
    dup = pd.DataFrame({"g": group, "n": name}).duplicated(keep=False)
    for g, n in pd.DataFrame({"g": group[dup], "n": name[dup]}).drop_duplicates().itertuples(
            index=False):
        problems.append(f"{g} {n!r} is given more than once")
    for c in BARRIER_CLASSES:
        if not (is_class & name.eq(c)).any():
            problems.append(f"missing weight for barrier class {c!r} (add a row "
                            f"'barrier_class,{c},<weight>')")
    for c in COMPONENTS:
        if not (is_comp & name.eq(c)).any():
            problems.append(f"missing weight for component {c!r} (add a row "
                            f"'component,{c},<weight>')")
    if unknown or problems:
        cls = UnknownValueError if unknown else SchemaError
        raise cls(f"{where} is not a valid weights table: " + "; ".join(unknown + problems)
                  + f". See {default_weights_path()} for the expected rows.")
    return pd.DataFrame({"group": group, "name": name, "weight": weight.astype(float)}
                        ).reset_index(drop=True)


def _weight_map(weights: Any) -> tuple[dict[str, float], dict[str, float]]:
    w = load_weights(weights)
    classes = dict(zip(w.loc[w.group == "barrier_class", "name"],
                       w.loc[w.group == "barrier_class", "weight"], strict=True))
    comps = dict(zip(w.loc[w.group == "component", "name"],
                     w.loc[w.group == "component", "weight"], strict=True))
    return classes, comps


def pressure_components(cells_table: pd.DataFrame, *,
                        weights: str | os.PathLike[str] | pd.DataFrame | None = None
                        ) -> pd.DataFrame:
    """The raw components ``x_k`` of the barrier-pressure score of each cell.

    See the module docstring for the formula. The table needs ``area_km2`` and any of
    ``species_km_<class>`` (:func:`class_column`; absent classes count 0),
    ``crossings``, ``track_crossings``, ``connectivity``; a component whose inputs are
    all absent is not returned.

    Returns
    -------
    pandas.DataFrame
        Columns among ``barrier_km_per_km2``, ``crossings_per_km2``,
        ``track_crossings_per_km2``, ``connectivity``, aligned to ``cells_table.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"area_km2": [100.0], "species_km_complete_barrier": [20.0],
    ...                   "species_km_partial_barrier": [4.0], "crossings": [3]})
    >>> pressure_components(t).round(3).to_dict("records")
    [{'barrier_km_per_km2': 0.22, 'crossings_per_km2': 0.03}]
    """
    if "area_km2" not in cells_table.columns:
        raise MissingColumnError(
            f"the per-cell table has no column 'area_km2' (columns: {list(cells_table.columns)});"
            " build cells with hex_grid, which adds it."
        )
    class_w, _ = _weight_map(weights)
    area = cells_table["area_km2"].to_numpy(dtype=float)
    if (area <= 0).any() or not np.isfinite(area).all():
        raise SchemaError("area_km2 must be finite and > 0 in every cell; drop empty cells.")
    out: dict[str, np.ndarray] = {}
    class_cols = {c: class_column(c) for c in BARRIER_CLASSES}
    if any(col in cells_table.columns for col in class_cols.values()):
        total = np.zeros(len(cells_table))
        for c, col in class_cols.items():  # four classes
            if col in cells_table.columns:
                total += class_w[c] * cells_table[col].fillna(0).to_numpy(dtype=float)
        out["barrier_km_per_km2"] = total / area
    for comp, col in _COMPONENT_INPUT.items():
        if col in cells_table.columns:
            x = cells_table[col].to_numpy(dtype=float)
            x = np.where(np.isnan(x), 0.0, x)
            out[_COMPONENT_OUTPUT[comp]] = x if comp == "connectivity" else x / area
    return pd.DataFrame(out, index=cells_table.index)


def barrier_pressure(
    cells_table: pd.DataFrame,
    *,
    weights: str | os.PathLike[str] | pd.DataFrame | None = None,
    normalise: Literal["max", "none"] = "max",
) -> pd.Series:
    """Barrier-pressure score of each cell (weights from a table, formula below).

    ``score = Σ_k W_k · x_k / max(x_k) / Σ_k W_k`` (``normalise="max"``, in [0, 1]) or
    ``score = Σ_k W_k · x_k`` (``normalise="none"``) over the components ``k`` present
    in the table: ``barrier`` ``x = Σ_s Σ_c w_c · L(s, c) / A``; ``crossings`` and
    ``track_crossings`` ``x = count / A``; ``connectivity`` ``x`` = cell mean
    (NaN -> 0). ``L(s, c)`` is the km inside species ``s``' range of class ``c`` for
    ``s`` (column ``species_km_<class>`` holds ``Σ_s L(s, c)``), ``A`` the cell area in
    km², ``w_c`` and ``W_k`` the ``barrier_class`` and ``component`` weights of the
    table (default :func:`default_weights_path`). A component that is 0 in every cell
    adds 0 under ``"max"``.

    Parameters
    ----------
    cells_table : DataFrame
        One row per cell with ``area_km2`` and the component inputs (see
        :func:`pressure_components`), e.g. the output of ``hotspot_grid``.
    weights : path, DataFrame or None
        Weights table (see :func:`load_weights`).
    normalise : {"max", "none"}
        Scale each component by its maximum over the cells, or not.

    Returns
    -------
    pandas.Series
        ``score`` aligned to ``cells_table.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"area_km2": [100.0, 100.0],
    ...                   "species_km_complete_barrier": [20.0, 10.0],
    ...                   "crossings": [0, 4]})
    >>> barrier_pressure(t).round(4).tolist()   # (1*1 + 0.5*0)/1.5, (1*0.5 + 0.5*1)/1.5
    [0.6667, 0.6667]
    >>> barrier_pressure(t, normalise="none").round(4).tolist()
    [0.2, 0.12]
    """
    check_option("normalise", normalise, ("max", "none"))
    x = pressure_components(cells_table, weights=weights)
    _, comp_w = _weight_map(weights)
    score = np.zeros(len(cells_table))
    total_w = 0.0
    for comp, col in _COMPONENT_OUTPUT.items():  # four components
        if col not in x.columns:
            continue
        values = x[col].to_numpy(dtype=float)
        if normalise == "max":
            peak = float(values.max()) if len(values) else 0.0
            values = values / peak if peak > 0 else np.zeros_like(values)
        score += comp_w[comp] * values
        total_w += comp_w[comp]
    if normalise == "max":
        score = score / total_w if total_w > 0 else np.zeros_like(score)
    return pd.Series(score, index=cells_table.index, name="score")
