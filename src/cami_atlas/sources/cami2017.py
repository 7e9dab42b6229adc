"""Files that use the field names of the 2017 CAMI data dictionary -> atlas infrastructure.

The 2017 atlas stored the attributes the expert barrier matrix classifies on under
these field names (one file per infrastructure type):

==========  ===============  ======================
type        2017 field       atlas column
==========  ===============  ======================
road        ``type_``        ``road_surface``
road        ``type1``        ``road_class``
road        ``traffic``      ``traffic``
railroad    ``track``        ``track``
railroad    ``speed``        ``train_speed``
fence       ``type_``        ``fence_type``
fence       ``height``       ``fence_height``
fence       ``bottom_gap``   ``fence_bottom_gap``
fence       ``covered``      ``fence_covered``
pipeline    ``buried``       ``pipeline_buried``
pipeline    ``trenches``     ``pipeline_trenches``
==========  ===============  ======================

(the table is :data:`cami_atlas.schema.MATRIX_ATTRIBUTE_COLUMNS`). Values are those of
the matrix (``paved``, ``double track``, ``low [<1m]``, ...); short forms are
normalised with :func:`cami_atlas.schema.normalise_value`.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .._options import check_option
from ..errors import SchemaError, UnknownValueError
from ..schema import MATRIX_ATTRIBUTE_COLUMNS, MATRIX_INFRA_TYPES, SCHEMAS, normalise_value

__all__ = ["CAMI2017_FIELDS", "from_cami2017", "infer_infra_type", "looks_like_cami2017"]

#: 2017 infrastructure type -> {2017 field: atlas column}.
CAMI2017_FIELDS: dict[str, dict[str, str]] = {
    infra: {attr: col for (i, attr), col in MATRIX_ATTRIBUTE_COLUMNS.items() if i == infra}
    for infra in MATRIX_INFRA_TYPES
}
# fields that identify one type on their own (``type_`` is shared by roads and fences)
_TELLING = {
    "road": ("type1", "traffic"),
    "railroad": ("track", "speed"),
    "fence": ("height", "bottom_gap", "covered"),
    "pipeline": ("buried", "trenches"),
}
_ACCEPTED = (*MATRIX_INFRA_TYPES, "railway")


def _lower_columns(gdf: pd.DataFrame) -> dict[str, str]:
    return {str(c).lower(): c for c in gdf.columns}


def looks_like_cami2017(gdf: pd.DataFrame) -> bool:
    """True when ``gdf`` carries 2017 CAMI field names that no other source uses.

    Examples
    --------
    >>> looks_like_cami2017(pd.DataFrame(columns=["type_", "type1", "geometry"]))
    True
    >>> looks_like_cami2017(pd.DataFrame(columns=["highway", "geometry"]))
    False
    """
    lower = _lower_columns(gdf)
    strong = {"type_", "type1", "traffic", "bottom_gap", "covered", "buried", "trenches"}
    return bool(strong & set(lower)) or {"track", "speed"} <= set(lower)


def infer_infra_type(gdf: pd.DataFrame) -> str | None:
    """The 2017 infrastructure type told by the field names, or ``None`` if ambiguous.

    Examples
    --------
    >>> infer_infra_type(pd.DataFrame(columns=["type_", "bottom_gap"]))
    'fence'
    >>> infer_infra_type(pd.DataFrame(columns=["type_"])) is None
    True
    """
    lower = set(_lower_columns(gdf))
    found = [infra for infra, fields in _TELLING.items() if lower & set(fields)]
    return found[0] if len(found) == 1 else None


def from_cami2017(gdf: gpd.GeoDataFrame, infra_type: str) -> gpd.GeoDataFrame:
    """Rename 2017 CAMI data-dictionary fields to atlas columns and set ``infra_type``.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        One infrastructure type with 2017 field names (matched case-insensitively);
        not changed.
    infra_type : {"road", "railroad", "railway", "fence", "pipeline"}
        The type of every feature (``railroad`` is the matrix's name of ``railway``).

    Returns
    -------
    geopandas.GeoDataFrame
        Same rows, index and CRS; atlas columns (see the module table), ``infra_type``,
        ``status`` kept if present. Other columns are kept.

    Raises
    ------
    OptionError
        Unknown ``infra_type``.
    UnknownValueError
        A value outside the 2017 vocabulary (allowed values listed).
    SchemaError
        The layer has both a 2017 field and the atlas column it maps to.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> rails = gpd.GeoDataFrame({"track": ["double"], "speed": ["regular train"]},
    ...                          geometry=[LineString([(0, 0), (1, 1)])], crs="EPSG:4326")
    >>> out = from_cami2017(rails, "railroad")
    >>> out[["infra_type", "track", "train_speed"]].values.tolist()
    [['railway', 'double track', 'regular train']]
    """
    check_option("infra_type", infra_type, _ACCEPTED)
    matrix_type = "railroad" if infra_type == "railway" else infra_type
    fields = CAMI2017_FIELDS[matrix_type]
    lower = _lower_columns(gdf)
    out = gdf.copy()
    schema = SCHEMAS["infrastructure"]
    renames: dict[str, str] = {}
    for field, column in fields.items():
        if field not in lower:
            continue
        source = lower[field]
        if column in gdf.columns and column != source:
            raise SchemaError(
                f"the layer has both the 2017 field {source!r} and the atlas column "
                f"{column!r}; drop one of them before mapping."
            )
        allowed = schema.column(column).allowed or ()
        values = out[source].map(lambda v, c=column: normalise_value(c, v))
        values = values.astype(object).where(values.notna(), None)
        unknown = values.notna() & ~values.isin(allowed)
        if unknown.any():
            found = ", ".join(repr(v) for v in sorted(set(map(str, values[unknown])))[:10])
            raise UnknownValueError(
                f"2017 field {source!r} ({matrix_type} {column}) has {int(unknown.sum())} "
                f"value(s) outside the data dictionary: {found}. Allowed: "
                f"{', '.join(map(repr, allowed))} (or leave it empty)."
            )
        out[source] = values
        renames[source] = column
    out = out.rename(columns=renames)
    out["infra_type"] = MATRIX_INFRA_TYPES[matrix_type]
    front = ["infra_type", *[c for c in fields.values() if c in out.columns]]
    return out[front + [c for c in out.columns if c not in front]]
