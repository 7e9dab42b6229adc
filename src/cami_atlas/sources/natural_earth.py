"""Natural Earth layers mapped onto the atlas layer model.

Natural Earth (https://www.naturalearthdata.com, public domain) is the base map of
the default atlas. :func:`map_natural_earth` turns a raw Natural Earth table (as read
from a shapefile, GeoJSON or GeoPackage, with NE's own field names in upper or lower
case) into the columns of an atlas layer kind; :func:`looks_like_natural_earth` tells
whether a table is one (``cami_atlas.io.read_layer(..., mapping="auto")`` uses it).

Railroads (``ne_10m_railroads``) -> kind ``infrastructure``
    ================  ==========================================================
    NE field          atlas column
    ================  ==========================================================
    (every feature)   ``infra_type`` = ``"railway"``
    ``mult_track``    ``track``: 1 -> ``"single track"``, 2 -> ``"double track"``,
                      0 -> empty (no data)
    ``electric``      ``electrified``: 2 -> ``"yes"``, 1 -> ``"no"``, 0 -> empty
    ``featurecla`` +  ``source_class``, e.g. ``"Railroad category 2"``
    ``category``
    ``rwdb_rr_id``    ``source_id`` (text)
    ``scalerank``     ``scalerank`` (kept)
    ================  ==========================================================

    NE codes ``mult_track`` and ``electric`` as 0 = no data, 1 = single track /
    not electrified, 2 = multiple tracks / electrified. The file used for the
    default atlas confirms this reading: the two fields are 0 on exactly the same
    1,266 features (the former-Soviet Central Asian network with no attributes),
    every railway inside Mongolia (a single-track, diesel network) is 1 / 1, and
    the Trans-Siberian main line across Russia is 2 / 2. NE does not record a
    status (existing / planned), so ``status`` is left empty.

Roads (``ne_10m_roads``) -> kind ``infrastructure``
    =====================  ===================  ==================
    NE ``type``            ``road_class``       ``road_surface``
    =====================  ===================  ==================
    Major Highway          highway
    Secondary Highway      major road
    Road                   major road
    Track                  local road           unpaved
    Unknown (or other)     (empty)
    Ferry Route            (feature dropped: a ferry is not a road)
    =====================  ===================  ==================

    Why: the 2017 CAMI matrix knows three road classes (``local road``, ``major
    road``, ``highway``). NE's ``Major Highway`` are the national trunk routes,
    i.e. the matrix's highways. NE 1:10m only shows roads that matter at
    1:10,000,000, so a ``Secondary Highway`` or a plain ``Road`` is still a major
    road, never a village lane. ``Track`` is unpaved by definition and the least
    important class. ``Unknown`` carries no information, so the class is left
    empty and the barrier matrix gives ``unknown`` instead of a guess. NE has no
    surface field, so ``road_surface`` is set only for tracks. ``type`` is kept as
    ``source_class``; ``scalerank`` is kept.

Countries (``ne_*_admin_0_countries``) -> kind ``country``
    ``ADM0_A3`` -> ``iso3`` (NE's ``ISO_A3`` is ``-99`` for some units, e.g. the
    Siachen Glacier unit ``KAS``, Kosovo or Northern Cyprus, so ``ADM0_A3`` is the
    only code that is always filled), ``NAME`` -> ``name``, ``cami_range_state``
    kept if present, otherwise computed from :data:`CAMI_RANGE_STATES`.

Boundary lines (``ne_10m_admin_0_boundary_lines_*``) -> kind ``border``
    ``adm0_a3_l`` / ``adm0_a3_r`` -> ``iso3_left`` / ``iso3_right``,
    ``featurecla`` -> ``border_type`` (e.g. ``"International boundary (verify)"``).

Rivers and lakes -> kind ``water``: ``name``; ``featurecla`` -> ``source_class``.

Populated places -> kind ``places``: ``name``, ``adm0_a3`` -> ``iso3``,
``pop_max`` -> ``population``.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString
>>> raw = gpd.GeoDataFrame(
...     {"featurecla": ["Road"] * 2, "type": ["Major Highway", "Track"], "scalerank": [3, 7]},
...     geometry=[LineString([(70, 45), (71, 45)])] * 2, crs="EPSG:4326")
>>> looks_like_natural_earth(raw)
True
>>> map_natural_earth(raw, "infrastructure")[["road_class", "road_surface"]].values.tolist()
[['highway', None], ['local road', 'unpaved']]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from .._options import check_option
from ..errors import MissingColumnError, SchemaError

__all__ = [
    "CAMI_RANGE_STATES",
    "NE_ROAD_TYPES",
    "looks_like_natural_earth",
    "map_natural_earth",
]

#: ISO 3166 alpha-3 codes of the 14 CAMI range states.
CAMI_RANGE_STATES: tuple[str, ...] = (
    "AFG", "BTN", "CHN", "IND", "IRN", "KAZ", "KGZ", "MNG", "NPL", "PAK", "RUS", "TJK",
    "TKM", "UZB",
)

#: NE road ``type`` -> (``road_class``, ``road_surface``); ``Ferry Route`` is dropped.
NE_ROAD_TYPES: dict[str, tuple[str | None, str | None]] = {
    "Major Highway": ("highway", None),
    "Secondary Highway": ("major road", None),
    "Road": ("major road", None),
    "Track": ("local road", "unpaved"),
    "Unknown": (None, None),
}

_FERRY_TYPES = ("Ferry Route", "Ferry")

#: Field sets that only Natural Earth tables carry (lower-cased).
_SIGNATURES: tuple[frozenset[str], ...] = (
    frozenset({"featurecla", "scalerank"}),
    frozenset({"rwdb_rr_id"}),
    frozenset({"rwdb_rd_id"}),
    frozenset({"adm0_a3", "sovereignt"}),
    frozenset({"adm0_a3_l", "adm0_a3_r"}),
    frozenset({"featurecla", "min_zoom"}),
)

_KINDS = ("infrastructure", "country", "border", "water", "places")


def _columns(gdf: gpd.GeoDataFrame) -> dict[str, str]:
    """Lower-cased column name -> actual column name (geometry excluded)."""
    geom = gdf.geometry.name if isinstance(gdf, gpd.GeoDataFrame) else None
    return {str(c).lower(): c for c in gdf.columns if c != geom}


def looks_like_natural_earth(gdf: gpd.GeoDataFrame) -> bool:
    """True when ``gdf`` carries the field names of a Natural Earth layer.

    Field names are compared case-insensitively (NE 4 uses ``ADM0_A3`` in the
    countries file, NE 5 ``adm0_a3``).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> looks_like_natural_earth(gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(0, 0)]))
    False
    >>> looks_like_natural_earth(gpd.GeoDataFrame(
    ...     {"adm0_a3_l": ["KAZ"], "adm0_a3_r": ["CHN"]}, geometry=[Point(0, 0)]))
    True
    """
    cols = set(_columns(gdf))
    return any(sig <= cols for sig in _SIGNATURES)


def _need(gdf: gpd.GeoDataFrame, cols: dict[str, str], names: tuple[str, ...],
          what: str) -> list[str]:
    missing = [n for n in names if n not in cols]
    if missing:
        raise MissingColumnError(
            f"Natural Earth {what}: missing field(s) {', '.join(map(repr, missing))}; "
            f"present: {', '.join(map(str, cols.values())) or 'none'}. Pass the Natural Earth "
            "file itself, or map the columns yourself and read with mapping='none'."
        )
    return [cols[n] for n in names]


def _obj(values: object, index: pd.Index) -> pd.Series:
    """An object Series with ``None`` (not NaN) for missing values."""
    arr = np.array(list(values), dtype=object)  # type: ignore[call-overload]
    arr[pd.isna(arr)] = None
    return pd.Series(arr, index=index, dtype=object)


def _text(series: pd.Series) -> pd.Series:
    """Strings, with NaN / empty / NE's ``-99`` as missing (``None``)."""
    texts = [None if pd.isna(v) else str(v).strip() for v in series.to_numpy(dtype=object)]
    return _obj((None if t in ("", "-99", "None") else t for t in texts), series.index)


def _is_railroads(cols: dict[str, str], gdf: gpd.GeoDataFrame) -> bool:
    if "rwdb_rr_id" in cols or "mult_track" in cols:
        return True
    if "featurecla" in cols:
        return bool((gdf[cols["featurecla"]].astype(str) == "Railroad").any())
    return False


def _map_railroads(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    out = pd.DataFrame(index=gdf.index)
    out["infra_type"] = "railway"
    out["status"] = None
    if "mult_track" in cols:
        code = pd.to_numeric(gdf[cols["mult_track"]], errors="coerce")
        out["track"] = _obj(code.map({1: "single track", 2: "double track"}), gdf.index)
    if "electric" in cols:
        code = pd.to_numeric(gdf[cols["electric"]], errors="coerce")
        out["electrified"] = _obj(code.map({2: "yes", 1: "no"}), gdf.index)
    fcla = _text(gdf[cols["featurecla"]]) if "featurecla" in cols else None
    if "category" in cols:
        cat = pd.to_numeric(gdf[cols["category"]], errors="coerce")
        label = (fcla.fillna("Railroad") if fcla is not None
                 else pd.Series("Railroad", index=gdf.index))
        pairs = zip(label, cat, strict=True)
        out["source_class"] = _obj(
            (f"{lab} category {int(c)}" if pd.notna(c) else lab for lab, c in pairs), gdf.index)
    elif fcla is not None:
        out["source_class"] = fcla
    if "rwdb_rr_id" in cols:
        out["source_id"] = _text(gdf[cols["rwdb_rr_id"]])
    if "scalerank" in cols:
        out["scalerank"] = pd.to_numeric(gdf[cols["scalerank"]], errors="coerce")
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)


def _map_roads(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    (type_col,) = _need(gdf, cols, ("type",), "roads")
    rtype = _text(gdf[type_col])
    ferry = rtype.isin(_FERRY_TYPES)
    if "featurecla" in cols:
        ferry |= _text(gdf[cols["featurecla"]]).isin(_FERRY_TYPES)
    keep = ~ferry.to_numpy()
    src = gdf.loc[keep]
    rtype = rtype[keep]
    out = pd.DataFrame(index=src.index)
    out["infra_type"] = "road"
    out["status"] = None
    out["road_class"] = _obj((NE_ROAD_TYPES.get(t, (None, None))[0] for t in rtype), src.index)
    out["road_surface"] = _obj((NE_ROAD_TYPES.get(t, (None, None))[1] for t in rtype),
                               src.index)
    out["source_class"] = rtype
    for name in ("name", "rwdb_rd_id"):
        if name in cols:
            out["name" if name == "name" else "source_id"] = _text(src[cols[name]])
    if "scalerank" in cols:
        out["scalerank"] = pd.to_numeric(src[cols["scalerank"]], errors="coerce")
    return gpd.GeoDataFrame(out, geometry=src.geometry.values, crs=gdf.crs)


def _map_infrastructure(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    if _is_railroads(cols, gdf):
        return _map_railroads(gdf, cols)
    if "type" in cols:
        return _map_roads(gdf, cols)
    raise SchemaError(
        "Natural Earth infrastructure: the table is neither NE railroads (fields "
        "'rwdb_rr_id', 'mult_track', 'electric') nor NE roads (field 'type'); present: "
        f"{', '.join(map(str, cols.values())) or 'none'}. Use a ne_10m_railroads or "
        "ne_10m_roads file, or read with mapping='none'."
    )


def _map_country(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    iso_col, name_col = _need(gdf, cols, ("adm0_a3", "name"), "countries")
    out = pd.DataFrame(index=gdf.index)
    out["iso3"] = _text(gdf[iso_col])
    out["name"] = _text(gdf[name_col])
    if "cami_range_state" in cols:
        out["cami_range_state"] = gdf[cols["cami_range_state"]]
    else:
        out["cami_range_state"] = out["iso3"].isin(CAMI_RANGE_STATES)
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)


def _map_border(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    left, right = _need(gdf, cols, ("adm0_a3_l", "adm0_a3_r"), "boundary lines")
    out = pd.DataFrame(index=gdf.index)
    out["iso3_left"] = _text(gdf[left])
    out["iso3_right"] = _text(gdf[right])
    out["border_type"] = _text(gdf[cols["featurecla"]]) if "featurecla" in cols else None
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)


def _map_water(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    out = pd.DataFrame(index=gdf.index)
    out["name"] = _text(gdf[cols["name"]]) if "name" in cols else None
    if "featurecla" in cols:
        out["source_class"] = _text(gdf[cols["featurecla"]])
    if "scalerank" in cols:
        out["scalerank"] = pd.to_numeric(gdf[cols["scalerank"]], errors="coerce")
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)


def _map_places(gdf: gpd.GeoDataFrame, cols: dict[str, str]) -> gpd.GeoDataFrame:
    (name_col,) = _need(gdf, cols, ("name",), "populated places")
    out = pd.DataFrame(index=gdf.index)
    out["name"] = _text(gdf[name_col])
    out["iso3"] = _text(gdf[cols["adm0_a3"]]) if "adm0_a3" in cols else None
    out["population"] = (pd.to_numeric(gdf[cols["pop_max"]], errors="coerce")
                         if "pop_max" in cols else np.nan)
    if "featurecla" in cols:
        out["source_class"] = _text(gdf[cols["featurecla"]])
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)


_MAPPERS = {
    "infrastructure": _map_infrastructure,
    "country": _map_country,
    "border": _map_border,
    "water": _map_water,
    "places": _map_places,
}


def map_natural_earth(gdf: gpd.GeoDataFrame, kind: str) -> gpd.GeoDataFrame:
    """Map a raw Natural Earth table onto the columns of the atlas layer ``kind``.

    The mapping tables are in the module docstring. The result is not yet
    validated (``cami_atlas.validate.validate_layer`` does that); it keeps the
    CRS and the index of ``gdf`` (NE roads of type ``Ferry Route`` are dropped),
    and ``gdf`` itself is not changed.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        A Natural Earth layer as read from file.
    kind : {"infrastructure", "country", "border", "water", "places"}
        The atlas layer kind. For ``"infrastructure"`` railroads and roads are
        told apart by their fields.

    Returns
    -------
    geopandas.GeoDataFrame
        The atlas columns, plus ``scalerank`` / ``source_class`` where NE has them.

    Raises
    ------
    OptionError
        ``kind`` is not one of the kinds above.
    MissingColumnError, SchemaError
        The table lacks the NE fields the kind needs.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> rail = gpd.GeoDataFrame(
    ...     {"featurecla": ["Railroad"], "category": [1], "mult_track": [2], "electric": [2],
    ...      "rwdb_rr_id": [22574]},
    ...     geometry=[LineString([(70, 45), (71, 45)])], crs="EPSG:4326")
    >>> m = map_natural_earth(rail, "infrastructure")
    >>> m[["infra_type", "track", "electrified", "source_class", "source_id"]].iloc[0].tolist()
    ['railway', 'double track', 'yes', 'Railroad category 1', '22574']
    """
    check_option("kind", kind, _KINDS)
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(f"map_natural_earth expects a GeoDataFrame, got {type(gdf).__name__}.")
    return _MAPPERS[kind](gdf, _columns(gdf))
