"""Classify infrastructure segments per species with the expert barrier matrix.

The rule is the one of the 2017 CAMI atlas (WCS script ``species_infra.py``): every
segment starts as ``unknown``; then the conditions of ``not a barrier``, ``partial
barrier`` and ``complete barrier`` are applied in that order, each class overriding the
one before; conditions within a class are joined by OR. A condition is "segment of
infrastructure type *T* whose attribute *A* equals *V*". Consequences:

* a segment matching a ``not a barrier`` and a ``complete barrier`` condition ends
  ``complete barrier`` (the final class is the most severe class matched);
* matrix rows whose class is ``unknown`` never change anything (a segment is
  ``unknown`` until a rated condition matches);
* a segment without any of the rated attributes, or of a type the matrix does not
  rate (``canal``, ``power_line``, ``other``), stays ``unknown``.

Attribute values of the layer are normalised to the atlas vocabulary before
matching (``double`` -> ``double track``), so layers straight from a source mapping
and hand-typed ones both work.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import MissingColumnError, SchemaError
from ..schema import BARRIER_CLASSES, normalise_value
from ..validate import suggest_column
from .matrix import _INFRA_COLUMNS, MatrixLike, _as_matrix, attribute_column, matrix_infra_type
from .species import resolve_species

__all__ = ["classify_barriers", "classify_barriers_many"]

_CODE = {c: i for i, c in enumerate(BARRIER_CLASSES)}
_CLASSES = np.array(BARRIER_CLASSES, dtype=object)

# (class code, atlas infra_type, atlas column, matrix infrastructure, attribute, values)
_Rule = tuple[int, str, str, str, str, tuple[str, ...]]


def _rules(matrix: pd.DataFrame, species: str) -> list[_Rule]:
    rows = matrix[(matrix["species"] == species) & (matrix["barrier_class"] != "unknown")]
    rules: list[_Rule] = []
    for (cls, infra, attr), grp in rows.groupby(
            ["barrier_class", "infrastructure", "attribute"], sort=False):
        rules.append((_CODE[cls], matrix_infra_type(infra), attribute_column(infra, attr),
                      infra, attr, tuple(grp["value"])))
    return rules


class _Segments:
    """Attribute columns of one infrastructure layer, normalised once, reused per species."""

    def __init__(self, infra: pd.DataFrame) -> None:
        if not isinstance(infra, pd.DataFrame):
            raise SchemaError(
                f"infrastructure: expected a (Geo)DataFrame, got {type(infra).__name__}.")
        if "infra_type" not in infra.columns:
            cols = [str(c) for c in infra.columns if c != "geometry"]
            close = suggest_column("infra_type", cols)
            raise MissingColumnError(
                "infrastructure layer has no column 'infra_type'"
                + (f" (found {close!r}: rename it)" if close else "")
                + f"; present: {', '.join(cols) or 'none'}. Classifying needs the type of "
                "each segment (road, railway, fence, pipeline, ...); add it, e.g. "
                "gdf.assign(infra_type='fence').")
        self.frame = infra
        self.n = len(infra)
        self.types = self._normalised("infra_type")
        self._type_masks: dict[str, np.ndarray] = {}
        self._columns: dict[str, np.ndarray | None] = {}

    def _normalised(self, column: str) -> np.ndarray:
        series = self.frame[column]
        uniques = pd.unique(series.dropna())
        mapping = {u: normalise_value(column, u.strip() if isinstance(u, str) else u)
                   for u in uniques}
        return series.map(mapping).to_numpy(dtype=object)

    def type_mask(self, infra_type: str) -> np.ndarray:
        if infra_type not in self._type_masks:
            self._type_masks[infra_type] = self.types == infra_type
        return self._type_masks[infra_type]

    def column(self, rule: _Rule, species: str) -> np.ndarray | None:
        _, _, column, infra, attr, _ = rule
        if column in self._columns:
            return self._columns[column]
        if column not in self.frame.columns:
            if column in _INFRA_COLUMNS:  # an attribute this layer simply does not carry
                self._columns[column] = None
                return None
            cols = [str(c) for c in self.frame.columns if c != "geometry"]
            close = suggest_column(column, cols)
            raise MissingColumnError(
                f"the barrier matrix rates {species} on {infra} attribute {attr!r}, which is "
                f"neither a 2017 data-dictionary attribute of {infra} nor a column of the "
                f"infrastructure layer" + (f" (closest column: {close!r})" if close else "")
                + f"; layer columns: {', '.join(cols)}. Add the column to the layer or fix "
                "the attribute name in the matrix.")
        series = self.frame[column]
        if pd.api.types.is_bool_dtype(series):
            values = series.map({True: "yes", False: "no"}).to_numpy(dtype=object)
        elif pd.api.types.is_numeric_dtype(series):
            values = series.to_numpy(dtype=float)
        else:
            values = self._normalised(column)
        self._columns[column] = values
        return values

    def codes(self, rules: list[_Rule], species: str) -> np.ndarray:
        """Barrier class codes (index into BARRIER_CLASSES) of every segment."""
        codes = np.zeros(self.n, dtype=np.int8)
        for rule in rules:
            code, infra_type, _, _, _, values = rule
            tmask = self.type_mask(infra_type)
            if not tmask.any():
                continue
            col = self.column(rule, species)
            if col is None:
                continue
            if col.dtype.kind == "f":
                wanted = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy()
                match = np.isin(col, wanted)
            else:
                match = pd.Series(col).isin(values).to_numpy()
            hit = tmask & match
            # classes are applied in BARRIER_CLASSES order, a later one overriding an
            # earlier one: the result is the highest class code matched
            np.maximum(codes, np.where(hit, code, 0).astype(np.int8), out=codes)
        return codes


def _class_codes(infra: pd.DataFrame, species: list[str | None],
                 matrix: pd.DataFrame) -> dict[str | None, np.ndarray]:
    """Codes per matrix species (``None`` = not in the matrix: all unknown)."""
    seg = _Segments(infra)
    out: dict[str | None, np.ndarray] = {}
    for sp in dict.fromkeys(species):
        out[sp] = (np.zeros(seg.n, dtype=np.int8) if sp is None
                   else seg.codes(_rules(matrix, sp), sp))
    return out


def classify_barriers(infra: pd.DataFrame, species: str, *,
                      matrix: MatrixLike = None) -> pd.Series:
    """Barrier class of every infrastructure segment for one species.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame or pandas.DataFrame
        Infrastructure with ``infra_type`` and the attribute columns the matrix rates
        (``road_surface``, ``road_class``, ``traffic``, ``track``, ``train_speed``,
        ``fence_type``, ``fence_height``, ``fence_bottom_gap``, ``fence_covered``,
        ``pipeline_buried``, ``pipeline_trenches``; missing columns mean "not known").
        Geometry is not used.
    species : str
        Any name :func:`cami_atlas.barriers.resolve_species` resolves (``'saiga'``,
        ``'Saiga_tatarica'``, ``'Saiga_spp'``, ...).
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).

    Returns
    -------
    pandas.Series
        Named ``barrier_class``, aligned to ``infra.index``, values in
        :data:`cami_atlas.schema.BARRIER_CLASSES`.

    Raises
    ------
    UnknownSpeciesError
        The species is not in the matrix.
    MissingColumnError
        ``infra`` has no ``infra_type``, or a user matrix rates an attribute that is
        neither a 2017 data-dictionary attribute nor a column of ``infra``.

    Notes
    -----
    Start at ``unknown``; apply ``not a barrier``, then ``partial barrier``, then
    ``complete barrier`` (a later class overrides an earlier one; conditions within
    a class are joined by OR). Rows of class ``unknown`` therefore never change a
    classification. Types the matrix does not rate (``canal``, ``power_line``) stay
    ``unknown``.

    Examples
    --------
    >>> import pandas as pd
    >>> rail = pd.DataFrame({"infra_type": ["railway", "railway", "canal"],
    ...                      "track": ["single track", "double track", None]})
    >>> classify_barriers(rail, "saiga").tolist()
    ['partial barrier', 'complete barrier', 'unknown']
    """
    m = _as_matrix(matrix)
    sp = resolve_species(species, matrix=m)
    codes = _class_codes(infra, [sp], m)[sp]
    return pd.Series(_CLASSES[codes], index=infra.index, name="barrier_class")


def classify_barriers_many(
    infra: pd.DataFrame,
    species: list[str] | tuple[str, ...] | None = None,
    *,
    matrix: MatrixLike = None,
    layout: Literal["wide", "long"] = "wide",
) -> pd.DataFrame:
    """Barrier classes of every segment for many species at once.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame or pandas.DataFrame
        As for :func:`classify_barriers`.
    species : list of str, optional
        Names to classify for (any name :func:`resolve_species` accepts); default:
        every species of the matrix.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    layout : {"wide", "long"}, default "wide"
        ``"wide"``: one column per species (named as given), index = ``infra.index``.
        ``"long"``: tidy, one row per segment and species, columns ``feature`` (the
        index label of the segment), ``species`` (as given), ``matrix_species`` and
        ``barrier_class``.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import pandas as pd
    >>> roads = pd.DataFrame({"infra_type": ["road"], "road_class": ["highway"]})
    >>> classify_barriers_many(roads, ["saiga", "Asiatic cheetah"]).iloc[0].tolist()
    ['complete barrier', 'not a barrier']
    >>> classify_barriers_many(roads, ["khulan"], layout="long").columns.tolist()
    ['feature', 'species', 'matrix_species', 'barrier_class']
    """
    check_option("layout", layout, ("wide", "long"))
    m = _as_matrix(matrix)
    names = (list(dict.fromkeys(str(s) for s in species)) if species is not None
             else sorted(m["species"].unique()))
    resolved = {n: resolve_species(n, matrix=m) for n in names}
    codes = _class_codes(infra, list(resolved.values()), m)
    wide = pd.DataFrame({n: _CLASSES[codes[sp]] for n, sp in resolved.items()},
                        index=infra.index, columns=names)
    if layout == "wide":
        return wide
    n = len(infra)
    return pd.DataFrame({
        "feature": np.tile(infra.index.to_numpy(), len(names)),
        "species": np.repeat(np.array(names, dtype=object), n),
        "matrix_species": np.repeat(np.array([resolved[s] for s in names], dtype=object), n),
        "barrier_class": np.concatenate([_CLASSES[codes[resolved[s]]] for s in names])
        if names else np.array([], dtype=object),
    })
