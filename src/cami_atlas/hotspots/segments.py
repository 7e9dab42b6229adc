"""Infrastructure segments that matter most for barrier hotspots.

* :func:`rank_segments` ranks segments by their km-weighted barrier pressure inside hot
  cells (the fallback when no connectivity barrier-impact table exists); its steps are
  :func:`hot_cell_pieces` (each segment cut by the hot cells), :func:`habitat_classes`
  (each segment's class per species, kept only where it crosses the species' habitat),
  :func:`weighted_piece_km` (class weight x km inside each species' habitat) and
  :func:`ranked_segments` (sum per segment, sort, join the segments' attributes);
* :func:`segments_from_impact` ranks them by a connectivity barrier-impact table.

The hotspot report (:mod:`cami_atlas.report.hotspots`) only prints these tables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..barriers import segments_in_ranges, species_polygons
from ..barriers.segments import most_severe
from ..errors import CRSError, SchemaError
from ..measure import geodesic_length_km, to_crs
from ..schema import BARRIER_CLASSES, canonical_species_name
from ._common import check_cells, check_frame, require_column
from .gistar import HOT_CLASSES
from .score import load_weights

__all__ = [
    "HOT_CLASSES",
    "SEVERITY",
    "habitat_classes",
    "hot_cell_pieces",
    "rank_segments",
    "ranked_segments",
    "segments_from_impact",
    "weighted_piece_km",
]

#: Barrier classes from the least to the most severe (for "most severe over species").
SEVERITY: tuple[str, ...] = ("not a barrier", "unknown", "partial barrier", "complete barrier")


def _most_severe(classes: pd.DataFrame) -> np.ndarray:
    """Most severe barrier class of each row over the columns (SEVERITY order); missing
    values (species whose range the segment does not cross) are ignored, a row without
    any class gets None."""
    return most_severe(classes).to_numpy(dtype=object)


def _classes_text(classes: pd.DataFrame) -> np.ndarray:
    """Per row: ``"complete barrier: A, B; partial barrier: C"`` (most severe first)."""
    if classes.empty:
        return np.full(len(classes), "", dtype=object)
    long = classes.reset_index(drop=True).melt(ignore_index=False, var_name="species",
                                               value_name="cls").reset_index()
    long = long[long["cls"].notna()]  # species whose range the segment does not cross
    long["order"] = long["cls"].map({c: -i for i, c in enumerate(SEVERITY)})
    long = long.sort_values(["index", "order", "species"], kind="mergesort")
    per_class = long.groupby(["index", "order", "cls"], sort=True)["species"].agg(", ".join)
    text = (per_class.index.get_level_values("cls") + ": " + per_class.to_numpy())
    joined = pd.Series(text, index=per_class.index.get_level_values("index")).groupby(
        level=0, sort=True).agg("; ".join)
    return joined.reindex(range(len(classes)), fill_value="").to_numpy(dtype=object)


def _class_weights(weights: Any) -> dict[str, float]:
    w = load_weights(weights)
    sel = w[w["group"] == "barrier_class"]
    return dict(zip(sel["name"], sel["weight"].astype(float), strict=True))


def rank_segments(
    cells: gpd.GeoDataFrame,
    infra: gpd.GeoDataFrame,
    ranges: gpd.GeoDataFrame,
    *,
    species_columns: Sequence[str],
    weights: str | os.PathLike[str] | pd.DataFrame | None = None,
    corridors: gpd.GeoDataFrame | None = None,
    hot_values: Sequence[str] = HOT_CLASSES,
    hot_column: str = "gi_class",
    score_column: str = "score",
    top: int | None = None,
) -> gpd.GeoDataFrame:
    """Rank infrastructure segments by their km-weighted barrier pressure inside hot cells.

    For segment ``i``, hot cell ``c`` (``hot_column`` in ``hot_values``) and species ``s``
    let ``L(i, c, s)`` be the geodesic km of the segment inside the cell and inside the
    species' range (∪ corridor polygons), and ``w(i, s)`` the weight of the segment's
    barrier class for ``s`` (``barrier_class`` rows of the hotspot weights table: by
    default complete 1, partial 0.5, unknown 0.5, not a barrier 0). Then

    * ``weighted_km = Σ_c Σ_s w(i, s) · L(i, c, s)`` — the segment's share of the
      ``barrier`` component of the hot cells (summed over segments it equals
      ``Σ_c Σ_class w_class · species_km_<class>`` of the hot cells);
    * ``pressure = Σ_c score_c · Σ_s w(i, s) · L(i, c, s)`` — the same, each cell
      weighted by its barrier-pressure score, so long barriers in the hottest cells rank
      first.

    This is the fallback when no connectivity barrier-impact table exists
    (:func:`segments_from_impact`); it says where a segment adds to hotspots, not how
    much connectivity it costs.

    Parameters
    ----------
    cells : GeoDataFrame
        Hotspot grid with ``hot_column`` and ``score_column`` (projected CRS).
    infra : GeoDataFrame
        Infrastructure lines with one barrier-class column per species
        (``species_columns``, named like the range species).
    ranges : GeoDataFrame
        Range polygons with ``species``.
    species_columns : sequence of str
        Columns of ``infra`` holding each species' barrier class. A class counts only
        where the segment crosses that species' range (∪ corridor); a missing value
        means "no class" (weight 0), not ``unknown``.
    weights : path, DataFrame or None
        Hotspot weights table (:func:`cami_atlas.hotspots.load_weights`).
    corridors : GeoDataFrame, optional
        Corridor polygons merged with the ranges, as in the hotspot grid.
    top : int, optional
        Keep only the ``top`` first.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per segment with km in hot cells that crosses the range (∪ corridor) of
        at least one species, indexed by the ``infra`` index label (the ``segment_id``
        in :func:`hotspot_analysis`), sorted by ``rank`` (1 = largest pressure), CRS of
        ``infra``: ``rank``, ``layer``/``infra_type``/``name`` where present,
        ``hot_cells`` (number), ``km_in_hot_cells``, ``weighted_km``, ``pressure``,
        ``most_severe_class`` and ``classes`` (``"class: species, ...; ..."``), both over
        only the species whose range the segment crosses
        (:func:`cami_atlas.barriers.segments_in_ranges`), and the geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> x, y = 500_000, 5_000_000  # UTM 43N, near its central meridian: 1 m is 1 m
    >>> cells = gpd.GeoDataFrame({"gi_class": ["hot spot 99%", "not significant"],
    ...     "score": [0.8, 0.1]}, geometry=[box(x, y, x + 10_000, y + 10_000),
    ...     box(x + 10_000, y, x + 20_000, y + 10_000)], crs="EPSG:32643")
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(x, y, x + 20_000, y + 10_000)], crs="EPSG:32643")
    >>> infra = gpd.GeoDataFrame({"infra_type": ["railway", "road"],
    ...     "Saiga_tatarica": ["complete barrier", "partial barrier"]},
    ...     geometry=[LineString([(x, y + 5_000), (x + 20_000, y + 5_000)]),
    ...               LineString([(x + 2_000, y), (x + 2_000, y + 10_000)])],
    ...     crs="EPSG:32643")
    >>> r = rank_segments(cells, infra, ranges, species_columns=["Saiga_tatarica"])
    >>> r.index.tolist(), r["km_in_hot_cells"].round(1).tolist()
    ([0, 1], [10.0, 10.0])
    >>> r["pressure"].round(1).tolist()   # 0.8 * 1 * 10 km, 0.8 * 0.5 * 10 km
    [8.0, 4.0]
    """
    cells = check_cells(cells)
    infra = check_frame(infra, "infra")
    require_column(cells, hot_column, "cells")
    require_column(cells, score_column, "cells")
    species_columns = list(species_columns)
    for col in species_columns:
        require_column(infra, col, "infra")
    w = _class_weights(weights)
    for col in species_columns:
        bad = sorted(set(infra[col].dropna().astype(str)) - set(BARRIER_CLASSES))
        if bad:
            raise SchemaError(f"infra column {col!r} holds {bad[:5]}, not barrier classes "
                              f"{list(BARRIER_CLASSES)}.")
    if cells.crs.is_geographic:
        raise CRSError("rank_segments needs cells in a projected CRS (e.g. ESRI:102025, as "
                       "made by cami_atlas.hotspots.hotspot_grid); got lon/lat cells.")
    pieces = hot_cell_pieces(cells, infra, hot_values=hot_values, hot_column=hot_column,
                             score_column=score_column)
    classes, habitat = habitat_classes(infra, ranges, species_columns, corridors=corridors,
                                       crs=cells.crs)
    hot_geoms = cells.geometry[cells[hot_column].isin(list(hot_values)).to_numpy()]
    pieces["weighted"] = weighted_piece_km(pieces, classes, habitat, hot_geoms, w)
    result = ranked_segments(pieces, infra, classes)
    return result.head(top) if top is not None else result


def hot_cell_pieces(cells: gpd.GeoDataFrame, infra: gpd.GeoDataFrame, *,
                    hot_values: Sequence[str] = HOT_CLASSES, hot_column: str = "gi_class",
                    score_column: str = "score") -> gpd.GeoDataFrame:
    """Each infrastructure segment cut by the hot cells it crosses.

    Parameters
    ----------
    cells : GeoDataFrame
        Hotspot grid (projected CRS) with ``hot_column`` and ``score_column``.
    infra : GeoDataFrame
        Infrastructure lines (any CRS; brought to the cells' CRS).
    hot_values, hot_column, score_column
        Which cells are hot and where their score is.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (segment, hot cell) piece of positive length, in the cells' CRS:
        ``seg`` (position in ``infra``), ``cell`` (position among the hot cells, in
        grid order), ``km`` (geodesic), ``score`` (the cell's) and the piece geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> x, y = 500_000, 5_000_000  # UTM 43N: 1 m is about 1 m
    >>> cells = gpd.GeoDataFrame({"gi_class": ["hot spot 95%", "not significant"],
    ...     "score": [0.6, 0.1]}, geometry=[box(x, y, x + 10_000, y + 10_000),
    ...     box(x + 10_000, y, x + 20_000, y + 10_000)], crs="EPSG:32643")
    >>> road = gpd.GeoDataFrame(geometry=[LineString([(x, y + 5_000),
    ...     (x + 20_000, y + 5_000)])], crs="EPSG:32643")
    >>> p = hot_cell_pieces(cells, road)
    >>> p[["seg", "cell", "score"]].values.tolist(), round(float(p["km"].iloc[0]), 1)
    ([[0.0, 0.0, 0.6]], 10.0)
    """
    hot = cells[hot_column].isin(list(hot_values)).to_numpy()
    hot_geoms = np.asarray(cells.geometry.values, dtype=object)[hot]
    hot_score = cells[score_column].to_numpy(dtype=float)[hot]
    infra_geoms = np.asarray(to_crs(infra.geometry, cells.crs).values, dtype=object)
    ok = ~(shapely.is_missing(infra_geoms) | shapely.is_empty(infra_geoms))
    tree = shapely.STRtree(hot_geoms)
    seg, cell = tree.query(np.where(ok, infra_geoms, None), predicate="intersects")
    pieces = shapely.intersection(infra_geoms[seg], hot_geoms[cell])
    length = geodesic_length_km(gpd.GeoSeries(pieces, crs=cells.crs)).to_numpy()
    keep = length > 0
    return gpd.GeoDataFrame(
        {"seg": seg[keep], "cell": cell[keep], "km": length[keep],
         "score": hot_score[cell[keep]]},
        geometry=pieces[keep], crs=cells.crs)


def habitat_classes(infra: gpd.GeoDataFrame, ranges: gpd.GeoDataFrame,
                    species_columns: Sequence[str], *,
                    corridors: gpd.GeoDataFrame | None = None,
                    crs: Any = None) -> tuple[pd.DataFrame, gpd.GeoSeries | None]:
    """Each segment's barrier class per species, kept only where it crosses the habitat.

    A segment has a class for a species only where it crosses the species' range
    (∪ corridor polygons, :func:`cami_atlas.barriers.species_polygons`); elsewhere its
    class is set missing, so it weighs nothing in :func:`rank_segments`.

    Parameters
    ----------
    infra : GeoDataFrame
        Lines with one barrier-class column per species (``species_columns``).
    ranges : GeoDataFrame
        Range polygons with ``species``.
    species_columns : sequence of str
        Columns named like the range species.
    corridors : GeoDataFrame, optional
        Corridor polygons merged with the ranges.
    crs : CRS, optional
        CRS of the habitat polygons returned (default: that of ``infra``).

    Returns
    -------
    classes : DataFrame
        ``infra[species_columns]`` (object dtype) with classes outside the habitat
        set to None.
    habitat : GeoSeries or None
        Habitat polygon per canonical species name (None without species columns).

    Raises
    ------
    SchemaError
        A species column has no range polygon.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(0, 0, 10_000, 10_000)], crs="ESRI:102025")
    >>> infra = gpd.GeoDataFrame({"Saiga_tatarica": ["complete barrier", "partial barrier"]},
    ...     geometry=[LineString([(0, 5_000), (10_000, 5_000)]),
    ...               LineString([(20_000, 0), (20_000, 10_000)])], crs="ESRI:102025")
    >>> classes, _ = habitat_classes(infra, ranges, ["Saiga_tatarica"])
    >>> classes["Saiga_tatarica"].tolist()
    ['complete barrier', None]
    """
    species_columns = list(species_columns)
    classes = infra[species_columns].astype(object)
    if not species_columns:
        return classes, None
    habitat = species_polygons(ranges, corridors=corridors,
                               crs=crs if crs is not None else infra.crs)
    names = [canonical_species_name(c) for c in species_columns]
    for col, name in zip(species_columns, names, strict=True):
        if name not in habitat.index:
            raise SchemaError(
                f"infra is classified for {col!r} but ranges has no polygon of it "
                f"(species there: {sorted(habitat.index)}).")
    inside = segments_in_ranges(infra, habitat, species=names).to_numpy(dtype=bool)
    return classes.where(inside & classes.notna().to_numpy(), None), habitat


def weighted_piece_km(pieces: gpd.GeoDataFrame, classes: pd.DataFrame,
                      habitat: gpd.GeoSeries | None, hot_geoms: gpd.GeoSeries,
                      class_weights: dict[str, float]) -> np.ndarray:
    """Per piece of :func:`hot_cell_pieces`: ``Σ_s w(class_s) · km inside s' habitat``.

    Parameters
    ----------
    pieces : GeoDataFrame
        :func:`hot_cell_pieces` (``seg``, ``cell``, ``km``, geometry).
    classes, habitat
        :func:`habitat_classes` (columns named like the species or their synonyms;
        habitat indexed by canonical species name).
    hot_geoms : GeoSeries
        The hot cells, in the order ``pieces["cell"]`` refers to (pieces' CRS).
    class_weights : dict
        Barrier class -> weight (missing class: 0).

    Returns
    -------
    numpy.ndarray
        Weighted km of each piece. A piece in a cell wholly inside a species' habitat
        counts in full; in a cell partly inside, only its part inside the habitat counts.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, box
    >>> x, y = 500_000, 5_000_000  # UTM 43N, near its central meridian: 1 m is 1 m
    >>> cell = gpd.GeoSeries([box(x, y, x + 10_000, y + 10_000)], crs="EPSG:32643")
    >>> hab = gpd.GeoSeries([box(x, y, x + 5_000, y + 10_000)], index=["Saiga_tatarica"],
    ...                     crs="EPSG:32643")
    >>> pieces = gpd.GeoDataFrame({"seg": [0], "cell": [0], "km": [10.0]},
    ...     geometry=[LineString([(x, y + 5_000), (x + 10_000, y + 5_000)])],
    ...     crs="EPSG:32643")
    >>> classes = pd.DataFrame({"Saiga_tatarica": ["partial barrier"]})
    >>> w = weighted_piece_km(pieces, classes, hab, cell, {"partial barrier": 0.5})
    >>> [round(float(v), 2) for v in w]   # 0.5 x the 5 km inside the range
    [2.5]
    """
    seg = pieces["seg"].to_numpy(dtype=np.int64)
    cell = pieces["cell"].to_numpy(dtype=np.int64)
    length = pieces["km"].to_numpy(dtype=float)
    geoms = np.asarray(pieces.geometry.values, dtype=object)
    hot = np.asarray(hot_geoms.values, dtype=object)
    weighted = np.zeros(len(seg))
    if not len(seg) or habitat is None:
        return weighted
    for col in classes.columns:  # a handful of species
        hab = habitat[canonical_species_name(col)]
        wt = classes[col].map(class_weights).astype(float).fillna(0.0).to_numpy()[seg]
        pick = np.flatnonzero(wt > 0)
        if not len(pick):
            continue
        shapely.prepare(hab)
        ucell, where = np.unique(cell[pick], return_inverse=True)
        state = (2 * shapely.covers(hab, hot[ucell])
                 + shapely.intersects(hab, hot[ucell]))[where]
        km = np.zeros(len(pick))  # state 3: cell inside the range, 1: partly, 0: outside
        full = state == 3
        km[full] = length[pick[full]]
        part = np.flatnonzero(state == 1)
        if len(part):
            pcells, pwhere = np.unique(cell[pick[part]], return_inverse=True)
            clip = shapely.intersection(hab, hot[pcells])
            cut = shapely.intersection(geoms[pick[part]], clip[pwhere])
            km[part] = geodesic_length_km(gpd.GeoSeries(cut, crs=pieces.crs)).to_numpy()
        weighted[pick] += wt[pick] * km
    return weighted


def ranked_segments(pieces: pd.DataFrame, infra: gpd.GeoDataFrame,
                    classes: pd.DataFrame) -> gpd.GeoDataFrame:
    """Sum the weighted pieces per segment and rank the segments by pressure.

    Parameters
    ----------
    pieces : DataFrame
        :func:`hot_cell_pieces` with ``weighted`` (:func:`weighted_piece_km`).
    infra : GeoDataFrame
        The segments ``pieces["seg"]`` refers to (by position).
    classes : DataFrame
        :func:`habitat_classes`: segments with no class for any species (outside every
        species' habitat) are not ranked.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`rank_segments` (all ranked segments).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString
    >>> infra = gpd.GeoDataFrame({"infra_type": ["road", "fence"]},
    ...     geometry=[LineString([(0, 0), (1, 0)]), LineString([(0, 1), (1, 1)])],
    ...     crs="ESRI:102025")
    >>> pieces = pd.DataFrame({"seg": [0, 1, 1], "cell": [0, 0, 1], "km": [1.0, 1.0, 2.0],
    ...                        "score": [0.5, 0.5, 1.0], "weighted": [1.0, 0.5, 1.0]})
    >>> classes = pd.DataFrame({"A": ["complete barrier", "partial barrier"]})
    >>> r = ranked_segments(pieces, infra, classes)
    >>> r[["rank", "infra_type", "hot_cells", "pressure"]].values.tolist()
    [[1, 'fence', 2, 1.25], [2, 'road', 1, 0.5]]
    """
    crosses = classes.notna().any(axis=1).to_numpy()
    seg = pieces["seg"].to_numpy(dtype=np.int64)
    table = pd.DataFrame({"seg": seg, "cell": pieces["cell"].to_numpy(),
                          "km": pieces["km"].to_numpy(dtype=float),
                          "weighted": pieces["weighted"].to_numpy(dtype=float),
                          "pressure": pieces["weighted"].to_numpy(dtype=float)
                          * pieces["score"].to_numpy(dtype=float)})
    table = table[crosses[seg]]  # segments outside every species' range are not ranked
    agg = table.groupby("seg").agg(hot_cells=("cell", "nunique"), km_in_hot_cells=("km", "sum"),
                                   weighted_km=("weighted", "sum"),
                                   pressure=("pressure", "sum"))
    agg = agg.sort_values(["pressure", "weighted_km", "km_in_hot_cells"], ascending=False,
                          kind="mergesort")
    pos = agg.index.to_numpy(dtype=np.int64)
    out = pd.DataFrame({"rank": np.arange(1, len(agg) + 1)}, index=infra.index[pos])
    for col in ("layer", "infra_type", "name", "status"):
        if col in infra.columns:
            out[col] = infra[col].to_numpy()[pos]
    for col in ("hot_cells", "km_in_hot_cells", "weighted_km", "pressure"):
        out[col] = agg[col].to_numpy()
    picked = classes.iloc[pos]
    out["most_severe_class"] = _most_severe(picked)
    out["classes"] = _classes_text(picked)
    return gpd.GeoDataFrame(out, geometry=np.asarray(infra.geometry.values)[pos],
                            crs=infra.crs)


def segments_from_impact(impact: Any, infra: gpd.GeoDataFrame, *,
                         top: int | None = None) -> pd.DataFrame:
    """Rank segments by a connectivity barrier-impact table.

    Parameters
    ----------
    impact : BarrierImpact or DataFrame
        :func:`cami_atlas.connectivity.impact.barrier_impact` output (its ``table``
        is used) or a table with a ``rank`` column, indexed by group id.
    infra : GeoDataFrame
        The infrastructure; where the group ids are its index labels, the segments'
        ``layer``/``infra_type``/``name``/``most_severe_class`` and geometry are joined.
    top : int, optional
        Keep only the ``top`` first.

    Returns
    -------
    DataFrame or GeoDataFrame
        Sorted by ``rank`` (1 = most connectivity regained when removed, or lost when
        added); a GeoDataFrame when every id is a segment of ``infra``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString
    >>> infra = gpd.GeoDataFrame({"infra_type": ["road", "fence"]},
    ...     geometry=[LineString([(0, 0), (1, 0)]), LineString([(0, 1), (1, 1)])],
    ...     crs="ESRI:102025")
    >>> t = pd.DataFrame({"delta_conductance": [0.1, 0.7], "rank": [2, 1]})
    >>> segments_from_impact(t, infra)[["rank", "infra_type"]].values.tolist()
    [[1, 'fence'], [2, 'road']]
    """
    table = getattr(impact, "table", impact)
    if not isinstance(table, pd.DataFrame) or "rank" not in table.columns:
        raise SchemaError(
            "impact must be a BarrierImpact (cami_atlas.connectivity.impact.barrier_impact) "
            f"or a DataFrame with a 'rank' column; got {type(impact).__name__}"
            + (f" with columns {list(table.columns)}" if isinstance(table, pd.DataFrame)
               else "") + ".")
    out = table.sort_values("rank", kind="mergesort").copy()
    if top is not None:
        out = out.head(top)
    if len(out) and out.index.isin(infra.index).all():
        cols = [c for c in ("layer", "infra_type", "name", "most_severe_class")
                if c in infra.columns and c not in out.columns]
        joined = out.join(infra[cols])
        return gpd.GeoDataFrame(joined[["rank", *[c for c in joined.columns if c != "rank"]]],
                                geometry=infra.geometry.loc[out.index].to_numpy(),
                                crs=infra.crs)
    return out
