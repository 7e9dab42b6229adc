"""Stable segment ids and the species whose range each infrastructure segment crosses.

Every output that names an infrastructure segment (``classified_segments.gpkg``,
``hotspot_segments.csv``, the hotspot report and map popups, the connectivity
barrier-impact ranking) uses the id of :func:`segment_ids`::

    <layer>:<feature_id>

*Rule for* ``feature_id``: the layer's own id column (``source_id`` of the
infrastructure schema: an OSM way id such as ``way/243379603``, a Natural Earth id
such as ``22574``) when the layer has that column and it is filled and unique for every
feature; otherwise the 0-based position of the feature in the stored atlas layer (as
:meth:`cami_atlas.atlas.Atlas.read` returns it), which is stable for a stored atlas
version. The rule is chosen per layer, never per feature, so the two kinds of id cannot
collide. Examples: ``railways:22574`` (Natural Earth id), ``roads:1065`` (the default
atlas' roads have no id column: position 1065).

A segment is classified for a species only where it *crosses* the species' range ∪
corridor polygons (:func:`segments_in_ranges`): its interior meets the polygons' interior,
so it has a positive length inside. A segment that only touches a range boundary, or lies
outside, carries no class for that species (a missing value, not ``unknown``).
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .._options import check_option
from ..errors import OptionError, SchemaError
from ..measure import EQUAL_AREA_CRS
from ..schema import BARRIER_CLASSES
from .classify import _class_codes
from .matrix import MatrixLike, _as_matrix
from .species import matrix_species

__all__ = ["ID_COLUMN", "classify_in_ranges", "classify_segments", "feature_ids",
           "most_severe", "segment_ids", "segments_in_ranges"]

#: Column of the infrastructure schema holding the feature id of the source.
ID_COLUMN = "source_id"

_CLASSES = np.array(BARRIER_CLASSES, dtype=object)
_SEVERITY = ("not a barrier", "unknown", "partial barrier", "complete barrier")


def feature_ids(gdf: pd.DataFrame, *, id_column: str = ID_COLUMN) -> pd.Series:
    """The ``feature_id`` part of :func:`segment_ids` (strings, aligned to ``gdf.index``).

    Examples
    --------
    >>> import pandas as pd
    >>> feature_ids(pd.DataFrame({"source_id": ["way/7", "way/9"]})).tolist()
    ['way/7', 'way/9']
    >>> feature_ids(pd.DataFrame({"source_id": ["way/7", None]})).tolist()  # incomplete
    ['0', '1']
    """
    if not isinstance(gdf, pd.DataFrame):
        raise SchemaError(f"segment ids: expected a (Geo)DataFrame, got {type(gdf).__name__}.")
    if id_column in gdf.columns and len(gdf):
        raw = gdf[id_column]
        text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip()
        text = text.str.replace(r"\.0$", "", regex=True)  # ids read back as floats
        if (text != "").all() and not text.duplicated().any():
            return pd.Series(text.to_numpy(dtype=object), index=gdf.index, name="feature_id")
    return pd.Series(np.arange(len(gdf)).astype(str).astype(object), index=gdf.index,
                     name="feature_id")


def segment_ids(layer_name: str, gdf: pd.DataFrame, *, id_column: str = ID_COLUMN
                ) -> pd.Series:
    """Stable ids ``"<layer>:<feature_id>"`` of the features of a stored infrastructure layer.

    Parameters
    ----------
    layer_name : str
        Name of the atlas layer (``"roads"``).
    gdf : geopandas.GeoDataFrame or pandas.DataFrame
        The whole layer as stored (``atlas.read(layer_name)``): ids by position are
        positions in this frame, so compute them before subsetting or clipping.
    id_column : str, default ``"source_id"``
        The layer's own id column; used when filled and unique for every feature,
        otherwise the 0-based position is the feature id (see the module docs).

    Returns
    -------
    pandas.Series
        Strings named ``segment_id``, aligned to ``gdf.index``.

    Raises
    ------
    OptionError
        ``layer_name`` is empty or holds ``":"``.

    Examples
    --------
    >>> import pandas as pd
    >>> segment_ids("roads", pd.DataFrame({"infra_type": ["road"] * 3})).tolist()
    ['roads:0', 'roads:1', 'roads:2']
    >>> segment_ids("osm", pd.DataFrame({"source_id": ["way/10", "way/11"]})).tolist()
    ['osm:way/10', 'osm:way/11']
    """
    name = str(layer_name)
    if not name or ":" in name:
        raise OptionError(f"segment ids: layer name {layer_name!r} must be a non-empty atlas "
                          "layer name without ':' (e.g. 'roads').")
    fid = feature_ids(gdf, id_column=id_column)
    return (name + ":" + fid).rename("segment_id")


def _habitat(habitat: gpd.GeoSeries | gpd.GeoDataFrame, crs: CRS) -> gpd.GeoSeries:
    """Range ∪ corridor polygon per species, in ``crs`` (a GeoSeries indexed by species)."""
    from .overlay import species_polygons

    if isinstance(habitat, gpd.GeoDataFrame):
        return species_polygons(habitat, crs=crs)
    if not isinstance(habitat, gpd.GeoSeries):
        raise SchemaError(
            "habitat: expected a GeoSeries of polygons indexed by species (as made by "
            "cami_atlas.barriers.species_polygons) or a GeoDataFrame with a 'species' "
            f"column; got {type(habitat).__name__}.")
    if habitat.crs is None:
        raise SchemaError("habitat has no CRS; set the CRS the polygons are in.")
    return habitat if habitat.crs.equals(crs) else habitat.to_crs(crs)


def segments_in_ranges(
    infra: gpd.GeoDataFrame,
    habitat: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    species: list[str] | None = None,
) -> pd.DataFrame:
    """Which species' range (∪ corridor) each segment crosses.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame
        Infrastructure lines (any CRS).
    habitat : GeoSeries or GeoDataFrame
        One polygon per species indexed by species
        (:func:`cami_atlas.barriers.species_polygons`), or range polygons with a
        ``species`` column (dissolved per species first).
    species : list of str, optional
        Columns of the result (species of ``habitat``); default every species there.
        A species without a polygon gets an all-False column.

    Returns
    -------
    pandas.DataFrame
        Booleans, index ``infra.index``, one column per species: True where the segment
        crosses the species' polygons (positive length inside; touching the boundary
        only is not crossing).

    Notes
    -----
    One :class:`shapely.STRtree` of the segments, queried in bulk with every species'
    polygon (``intersects``); segments that merely ``touch`` a polygon are dropped. The
    test is done in the CRS of ``habitat`` (segments are reprojected to it).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> hab = gpd.GeoSeries([box(0, 0, 10, 10), box(20, 0, 30, 10)],
    ...                     index=["A", "B"], crs="EPSG:3857")
    >>> lines = gpd.GeoDataFrame(geometry=[LineString([(5, 5), (15, 5)]),
    ...     LineString([(10, 0), (10, 10)]), LineString([(40, 5), (50, 5)])], crs="EPSG:3857")
    >>> segments_in_ranges(lines, hab).values.tolist()  # crosses A; on A's edge; outside
    [[True, False], [False, False], [False, False]]
    """
    if not isinstance(infra, gpd.GeoDataFrame) or infra.crs is None:
        raise SchemaError("infra: expected a GeoDataFrame with a CRS (infrastructure lines).")
    crs = (habitat.crs if isinstance(habitat, gpd.GeoSeries | gpd.GeoDataFrame)
           and habitat.crs is not None else CRS.from_user_input(EQUAL_AREA_CRS))
    polys = _habitat(habitat, crs)
    names = [str(s) for s in polys.index] if species is None else [str(s) for s in species]
    out = np.zeros((len(infra), len(names)), dtype=bool)
    geoms = np.asarray((infra.geometry if infra.crs.equals(crs)
                        else infra.geometry.to_crs(crs)).values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    column = {n: i for i, n in enumerate(names)}
    keep = [(column[str(s)], g) for s, g in polys.items()
            if str(s) in column and g is not None and not shapely.is_empty(g)]
    if keep and ok.any() and len(names):
        cols = np.array([c for c, _ in keep], dtype=np.int64)
        hab = np.array([g for _, g in keep], dtype=object)
        shapely.prepare(hab)
        tree = shapely.STRtree(np.where(ok, geoms, None))
        h, s = tree.query(hab, predicate="intersects")
        cross = ~shapely.touches(hab[h], geoms[s])
        out[s[cross], cols[h[cross]]] = True
    return pd.DataFrame(out, index=infra.index, columns=names)


def classify_in_ranges(
    infra: gpd.GeoDataFrame,
    habitat: gpd.GeoSeries | gpd.GeoDataFrame,
    species: list[str] | None = None,
    *,
    matrix: MatrixLike = None,
    inside: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Barrier class of every segment for every species whose range it crosses.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame
        Infrastructure lines with ``infra_type`` and the attributes the matrix rates.
    habitat : GeoSeries or GeoDataFrame
        As for :func:`segments_in_ranges`.
    species : list of str, optional
        Range species (names as in ``habitat``); default all of ``habitat``.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix). A species the matrix does
        not rate is ``unknown`` inside its range.
    inside : DataFrame, optional
        A precomputed :func:`segments_in_ranges` result (skips the spatial test).

    Returns
    -------
    pandas.DataFrame
        One column per species (index ``infra.index``): the class
        (:data:`cami_atlas.schema.BARRIER_CLASSES`) where the segment crosses the
        species' range ∪ corridor, missing (``None``) elsewhere.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> hab = gpd.GeoSeries([box(0, 0, 10, 10)], index=["Saiga_tatarica"], crs="EPSG:3857")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway", "railway"],
    ...     "track": ["double track", "double track"]},
    ...     geometry=[LineString([(5, 5), (15, 5)]), LineString([(40, 5), (50, 5)])],
    ...     crs="EPSG:3857")
    >>> classify_in_ranges(rail, hab)["Saiga_tatarica"].tolist()
    ['complete barrier', None]
    """
    m = _as_matrix(matrix)
    if inside is None:
        inside = segments_in_ranges(infra, habitat, species=species)
    names = list(inside.columns) if species is None else [str(s) for s in species]
    msp = matrix_species(names, matrix=m) if names else {}
    codes = _class_codes(infra, list(dict.fromkeys(v for v in msp.values() if v is not None)),
                         m) if any(v is not None for v in msp.values()) else {}
    out = {}
    for n in names:  # one column per species (a handful)
        cls = (_CLASSES[codes[msp[n]]] if msp[n] is not None
               else np.full(len(infra), "unknown", dtype=object))
        out[n] = pd.Series(np.where(inside[n].to_numpy(dtype=bool), cls, None),
                           index=infra.index, dtype=object)
    return pd.DataFrame(out, index=infra.index, columns=names, dtype=object)


def most_severe(classes: pd.DataFrame) -> pd.Series:
    """Most severe class of each row over the species columns, ignoring missing values
    (``None`` where the row has no class at all: outside every range).

    Examples
    --------
    >>> import pandas as pd
    >>> most_severe(pd.DataFrame({"A": ["unknown", None], "B": ["partial barrier", None]})
    ...             ).tolist()
    ['partial barrier', None]
    """
    rank = {c: i for i, c in enumerate(_SEVERITY)}
    if classes.shape[1] == 0:
        return pd.Series([None] * len(classes), index=classes.index, dtype=object)
    codes = np.column_stack([classes[c].map(rank).fillna(-1).to_numpy(dtype=np.int64)
                             for c in classes.columns])
    best = codes.max(axis=1)
    sev = np.asarray(_SEVERITY, dtype=object)
    return pd.Series(np.where(best >= 0, sev[np.clip(best, 0, None)], None),
                     index=classes.index, dtype=object)


def classify_segments(
    infra: gpd.GeoDataFrame,
    ranges: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    layer: str,
    corridors: gpd.GeoDataFrame | None = None,
    species: list[str] | None = None,
    matrix: MatrixLike = None,
    analysis_crs: str | CRS = EQUAL_AREA_CRS,
    layout: Literal["wide", "long"] = "wide",
) -> pd.DataFrame:
    """Segments of one stored infrastructure layer with their ids and, per species whose
    range (∪ corridor) they cross, their barrier class.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame
        The stored layer, whole (``atlas.read(layer)``): ids are made from it
        (:func:`segment_ids`).
    ranges : GeoDataFrame or GeoSeries
        Range polygons with ``species``, or one polygon per species indexed by species
        (:func:`cami_atlas.barriers.species_polygons`).
    layer : str
        Name of the layer (first part of the ids).
    corridors : GeoDataFrame, optional
        Corridors with ``species``; polygons are merged with the ranges.
    species : list of str, optional
        Species to classify for (names as in ``ranges``); default all.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    analysis_crs : str or pyproj.CRS, default ``"ESRI:102025"``
        CRS of the crossing test (polygon edges densified before reprojection).
    layout : {"wide", "long"}, default "wide"
        ``"wide"``: the layer's rows with ``segment_id``, ``layer`` and ``feature_id``
        first, then its columns, one ``barrier_<species>`` column per species (missing
        outside the species' range) and ``species_in_range`` (``;``-joined, sorted).
        ``"long"``: one row per segment *and species whose range it crosses*:
        ``segment_id``, ``layer``, ``feature_id``, ``species``, ``barrier_class``.

    Returns
    -------
    geopandas.GeoDataFrame (wide) or pandas.DataFrame (long)

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica", "Equus_hemionus"]},
    ...     geometry=[box(60, 45, 61, 46), box(62, 45, 63, 46)], crs="EPSG:4326")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"] * 2,
    ...     "track": ["double track"] * 2, "source_id": ["22574", "22575"]},
    ...     geometry=[LineString([(59.5, 45.5), (61.5, 45.5)]),
    ...               LineString([(65, 45.5), (66, 45.5)])], crs="EPSG:4326")
    >>> w = classify_segments(rail, ranges, layer="railways")
    >>> w[["segment_id", "species_in_range", "barrier_Saiga_tatarica"]].values.tolist()
    [['railways:22574', 'Saiga_tatarica', 'complete barrier'], ['railways:22575', '', None]]
    >>> classify_segments(rail, ranges, layer="railways", layout="long").values.tolist()
    [['railways:22574', 'railways', '22574', 'Saiga_tatarica', 'complete barrier']]
    """
    from .overlay import species_polygons

    check_option("layout", layout, ("wide", "long"))
    crs = CRS.from_user_input(analysis_crs)
    if isinstance(ranges, gpd.GeoSeries):
        polys = ranges if ranges.crs is not None and ranges.crs.equals(crs) else ranges.to_crs(
            crs)
    else:
        polys = species_polygons(ranges, corridors=corridors, crs=crs)
    polys = polys[polys.notna() & ~polys.is_empty]
    names = [str(s) for s in polys.index] if species is None else [str(s) for s in species]
    ids = segment_ids(layer, infra)
    fid = feature_ids(infra)
    inside = segments_in_ranges(infra, polys, species=names)  # missing geometry: False
    classes = classify_in_ranges(infra, polys, names, matrix=matrix, inside=inside)
    if layout == "long":
        rows, cols = np.nonzero(inside.to_numpy(dtype=bool))
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        return pd.DataFrame({
            "segment_id": ids.to_numpy(dtype=object)[rows],
            "layer": str(layer),
            "feature_id": fid.to_numpy(dtype=object)[rows],
            "species": np.asarray(names, dtype=object)[cols],
            "barrier_class": classes.to_numpy(dtype=object)[rows, cols]
            if len(rows) else np.array([], dtype=object),
        })
    out = infra.copy()
    for col in ("segment_id", "layer", "feature_id"):
        if col in out.columns:
            out = out.drop(columns=col)
    out.insert(0, "segment_id", ids.to_numpy())
    out.insert(1, "layer", str(layer))
    out.insert(2, "feature_id", fid.to_numpy())
    for n in names:
        out[f"barrier_{n}"] = classes[n].astype(object)
    out["species_in_range"] = _joined(inside)
    return out


def _joined(inside: pd.DataFrame) -> np.ndarray:
    """Per row: the ``;``-joined sorted names of the True columns."""
    names = sorted(inside.columns)
    text = np.full(len(inside), "", dtype=object)
    for n in names:  # one pass per species (a handful)
        hit = inside[n].to_numpy(dtype=bool)
        text[hit] = np.where(text[hit] == "", n, text[hit] + ";" + n)
    return text
