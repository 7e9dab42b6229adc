"""Barrier-hotspot analysis of an atlas, its interactive map and its HTML/PDF report.

One call, :func:`hotspot_analysis`, runs everything a hotspot report shows on an
atlas (:class:`cami_atlas.atlas.Atlas`) and returns a :class:`HotspotAnalysis`:

1. the species' ranges (∪ corridor polygons) and every infrastructure layer;
2. each segment classified per species with the barrier matrix
   (:func:`cami_atlas.barriers.classify_barriers_many`; species the matrix does not rate
   get ``unknown``, weighted like a partial barrier by the default weights);
3. km of infrastructure inside each range by type, barrier class and country
   (:func:`cami_atlas.barriers.infrastructure_in_ranges`) and the fragmentation of
   each range by its partial and complete barriers
   (:func:`cami_atlas.barriers.range_fragmentation`);
4. the hotspot grid (:func:`cami_atlas.hotspots.hotspot_grid`): equal-area cells,
   barrier-pressure score, Getis-Ord Gi*, transboundary hot cells near borders;
5. the infrastructure segments that matter most: from a connectivity barrier-impact
   table when one is given (:func:`cami_atlas.connectivity.impact.barrier_impact`),
   otherwise ranked by their km-weighted pressure inside hot cells
   (:func:`rank_segments`).

:func:`hotspot_map` draws it as a folium map, :func:`hotspot_report` renders the
report (template ``hotspot_report.html.j2``: summary, map, top hotspots, top
segments, transboundary hotspots, one factsheet page per species with figures,
parameters, data sources and licences, reproducibility) and
:func:`write_hotspot_outputs` writes every output file of ``cami-atlas hotspots``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._atomic import atomic_path, prepare_outputs
from ..errors import EmptyLayerError, SchemaError, UnknownSpeciesError
from ..measure import area_km2, geodesic_length_km, to_crs
from ..schema import BARRIER_CLASSES, canonical_species_name

__all__ = [
    "HOT_CLASSES",
    "INDEX",
    "OUTPUTS",
    "SEVERITY",
    "HotspotAnalysis",
    "hotspot_analysis",
    "hotspot_map",
    "hotspot_report",
    "output_names",
    "rank_segments",
    "score_weights",
    "segments_from_impact",
    "select_species",
    "unknown_class_rule",
    "write_hotspot_atlas",
    "write_hotspot_outputs",
]

#: The Gi* classes that count as hot (``cami_atlas.hotspots.GI_CLASSES``).
HOT_CLASSES: tuple[str, ...] = ("hot spot 99%", "hot spot 95%", "hot spot 90%")
#: Barrier classes from the least to the most severe (for "most severe over species").
SEVERITY: tuple[str, ...] = ("not a barrier", "unknown", "partial barrier", "complete barrier")
#: Files written by :func:`write_hotspot_outputs` (the PDF only with ``pdf=True``).
OUTPUTS: tuple[str, ...] = ("hotspot_cells.gpkg", "hotspot_cells.csv", "hotspot_segments.csv",
                            "hotspot_map.html", "hotspot_report.html")
_PDF = "hotspot_report.pdf"
_TEMPLATE = "hotspot_report.html.j2"
_INDEX_TEMPLATE = "hotspot_index.html.j2"
#: Name of the index page of :func:`write_hotspot_atlas`.
INDEX = "index.html"

Progress = Callable[[str], None]


# -- results -------------------------------------------------------------------------------
@dataclass
class HotspotAnalysis:
    """Everything :func:`hotspot_analysis` computed (tables and layers, nothing written).

    Attributes
    ----------
    atlas_name : str
    atlas_path : Path or None
        The atlas file (None for an atlas in memory).
    species : list of str
        Canonical names of the species analysed (as in the range layer).
    matrix_species : dict
        Species -> barrier-matrix species used to classify it (None: not rated).
    cells : GeoDataFrame
        The hotspot grid (:func:`cami_atlas.hotspots.hotspot_grid`), analysis CRS.
    infra : GeoDataFrame
        All infrastructure (column ``layer``), analysis CRS, indexed by ``segment_id``
        (``layer:feature_id``, :func:`cami_atlas.barriers.segment_ids`), with one column
        per species holding its barrier class where the segment crosses the species'
        range ∪ corridor (missing elsewhere) and ``most_severe_class`` over those
        species (missing outside every range).
    ranges : GeoDataFrame
        Range polygons of the species (``species`` column), their stored CRS.
    lengths : DataFrame
        :func:`cami_atlas.barriers.infrastructure_in_ranges` of the species.
    fragmentation : DataFrame or None
        :func:`cami_atlas.barriers.range_fragmentation` (CUT and CBC).
    segments : DataFrame
        Ranked segments (:func:`rank_segments` or :func:`segments_from_impact`).
    segment_method : {"impact", "pressure"}
    transboundary : GeoDataFrame or None
        Hot cells within ``border_distance_km`` of a border (None without borders).
    countries, borders : GeoDataFrame or None
        The atlas' country polygons and border lines, if any.
    sources : DataFrame
        ``atlas.list_layers()`` rows of the layers used.
    parameters : dict
        Every option of the run.
    notes : list of str
        Limitations and choices the report states.
    corridors : GeoDataFrame or None
        The species' corridors, if the atlas has any.
    weights : DataFrame or None
        The hotspot weights used (:func:`score_weights`): ``group``, ``name``, ``weight``,
        ``note``; the report prints them.
    """

    atlas_name: str
    atlas_path: Path | None
    species: list[str]
    matrix_species: dict[str, str | None]
    cells: gpd.GeoDataFrame
    infra: gpd.GeoDataFrame
    ranges: gpd.GeoDataFrame
    lengths: pd.DataFrame
    fragmentation: pd.DataFrame | None
    segments: pd.DataFrame
    segment_method: str
    transboundary: gpd.GeoDataFrame | None
    countries: gpd.GeoDataFrame | None
    borders: gpd.GeoDataFrame | None
    sources: pd.DataFrame
    parameters: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    corridors: gpd.GeoDataFrame | None = None
    weights: pd.DataFrame | None = None


# -- species -------------------------------------------------------------------------------
def select_species(available: Sequence[str], wanted: str | Sequence[str] | None, *,
                   matrix: Any = None) -> list[str]:
    """Names of ``available`` (range species) matching ``wanted`` (names or synonyms).

    A wanted name matches a range species of the same canonical name, or else every range
    species that the barrier matrix' synonyms map onto the same matrix species
    (``"saiga"`` -> ``Saiga_tatarica``).

    Raises
    ------
    UnknownSpeciesError
        A wanted name matches no range species (the message lists them).

    Examples
    --------
    >>> select_species(["Saiga_tatarica", "Equus_hemionus"], ["khulan", "Saiga tatarica"])
    ['Equus_hemionus', 'Saiga_tatarica']
    """
    from ..barriers import matrix_species, resolve_species

    names = list(dict.fromkeys(str(n) for n in available))
    if wanted is None:
        return sorted(names)
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    by_canonical = {canonical_species_name(n).lower(): n for n in names}
    resolved = matrix_species(names, matrix=matrix)
    out: list[str] = []
    for w in wanted:  # a handful of names
        hit = by_canonical.get(canonical_species_name(str(w)).lower())
        if hit is not None:
            out.append(hit)
            continue
        try:
            target = resolve_species(str(w), matrix=matrix)
        except UnknownSpeciesError:
            target = None
        same = [n for n in names if target is not None and resolved[n] == target]
        if not same:
            raise UnknownSpeciesError(
                f"species {w!r} has no range in the atlas; species with a range: "
                f"{', '.join(sorted(names))}. Pass one of these (or a synonym such as "
                "'saiga' or 'khulan').")
        out.extend(same)
    return list(dict.fromkeys(out))


def _most_severe(classes: pd.DataFrame) -> np.ndarray:
    """Most severe barrier class of each row over the columns (SEVERITY order); missing
    values (species whose range the segment does not cross) are ignored, a row without
    any class gets None."""
    from ..barriers.segments import most_severe

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


# -- segments --------------------------------------------------------------------------------
def _class_weights(weights: Any) -> dict[str, float]:
    from ..hotspots import load_weights

    w = load_weights(weights)
    sel = w[w["group"] == "barrier_class"]
    return dict(zip(sel["name"], sel["weight"].astype(float), strict=True))


def score_weights(weights: str | os.PathLike[str] | pd.DataFrame | None = None) -> pd.DataFrame:
    """The hotspot weights as the report prints them: ``group, name, weight, note``.

    The table is checked by :func:`cami_atlas.hotspots.load_weights`; ``note`` comes from
    the table's own ``note`` column (the shipped ``hotspot_weights.csv`` has one), empty
    where there is none.

    Examples
    --------
    >>> w = score_weights()
    >>> w[w["group"] == "barrier_class"][["name", "weight"]].to_records(index=False).tolist()
    [('complete barrier', 1.0), ('partial barrier', 0.5), ('unknown', 0.5), ('not a barrier', 0.0)]
    """
    from ..hotspots import load_weights
    from ..hotspots.score import _read_weights

    table = load_weights(weights)
    raw, _ = _read_weights(weights)
    notes: dict[tuple[str, str], str] = {}
    if "note" in raw.columns:
        keys = zip(raw["group"].astype(str).str.strip(), raw["name"].astype(str).str.strip(),
                   strict=True)
        notes = {k: ("" if pd.isna(n) else str(n).strip())
                 for k, n in zip(keys, raw["note"], strict=True)}
    table["note"] = [notes.get((g, n), "") for g, n in zip(table["group"], table["name"],
                                                           strict=True)]
    return table


def unknown_class_rule(weights: pd.DataFrame) -> str:
    """One sentence saying how the ``unknown`` barrier class is weighted in the score.

    ``weights`` is a table of :func:`score_weights` (or
    :func:`cami_atlas.hotspots.load_weights`); the sentence names the class whose weight
    ``unknown`` shares, if any.

    Examples
    --------
    >>> unknown_class_rule(score_weights()).split(". ")[0][-49:]
    "'unknown' is weighted 0.5, like a partial barrier"
    """
    return (f"In the score, infrastructure of barrier class 'unknown' is "
            f"{_unknown_weight(weights)}. A segment is 'unknown' for a species when the "
            "barrier matrix rates none of its attribute values, does not rate its "
            "infrastructure type, or does not rate the species at all.")


def _unknown_weight(weights: pd.DataFrame) -> str:
    """'weighted 0.5, like a partial barrier' (the class whose weight it shares, if any)."""
    cls = weights[weights["group"] == "barrier_class"].set_index("name")["weight"].astype(float)
    u = float(cls["unknown"])
    same = [c for c in ("complete barrier", "partial barrier", "not a barrier")
            if c in cls.index and float(cls[c]) == u]
    if not same:
        return f"weighted {u:g}"
    if same[0] == "not a barrier":
        return f"weighted {u:g}, like 'not a barrier'"
    return f"weighted {u:g}, like a {same[0]}"


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
    from ..barriers import segments_in_ranges, species_polygons
    from ..hotspots._common import check_cells, check_frame, require_column

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
        from ..errors import CRSError

        raise CRSError("rank_segments needs cells in a projected CRS (e.g. ESRI:102025, as "
                       "made by cami_atlas.hotspots.hotspot_grid); got lon/lat cells.")

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
    seg, cell, pieces, length = seg[keep], cell[keep], pieces[keep], length[keep]

    weighted = np.zeros(len(seg))
    # a segment has a class for a species only where it crosses the species' range
    # (∪ corridor polygons); elsewhere its class is missing and weighs nothing
    classes_all = infra[species_columns].astype(object)
    if species_columns:
        habitat = species_polygons(ranges, corridors=corridors, crs=cells.crs)
        names = [canonical_species_name(c) for c in species_columns]
        for col, name in zip(species_columns, names, strict=True):
            if name not in habitat.index:
                raise SchemaError(
                    f"infra is classified for {col!r} but ranges has no polygon of it "
                    f"(species there: {sorted(habitat.index)}).")
        inside = segments_in_ranges(infra, habitat, species=names).to_numpy(dtype=bool)
        classes_all = classes_all.where(inside & classes_all.notna().to_numpy(), None)
    crosses = classes_all.notna().any(axis=1).to_numpy()
    if len(seg) and species_columns:
        for col, name in zip(species_columns, names, strict=True):  # a handful of species
            hab = habitat[name]
            wt = classes_all[col].map(w).astype(float).fillna(0.0).to_numpy()[seg]
            pick = np.flatnonzero(wt > 0)
            if not len(pick):
                continue
            shapely.prepare(hab)
            ucell, where = np.unique(cell[pick], return_inverse=True)
            state = (2 * shapely.covers(hab, hot_geoms[ucell])
                     + shapely.intersects(hab, hot_geoms[ucell]))[where]
            km = np.zeros(len(pick))  # state 3: cell inside the range, 1: partly, 0: outside
            full = state == 3
            km[full] = length[pick[full]]
            part = np.flatnonzero(state == 1)
            if len(part):
                pcells, pwhere = np.unique(cell[pick[part]], return_inverse=True)
                clip = shapely.intersection(hab, hot_geoms[pcells])
                cut = shapely.intersection(pieces[pick[part]], clip[pwhere])
                km[part] = geodesic_length_km(gpd.GeoSeries(cut, crs=cells.crs)).to_numpy()
            weighted[pick] += wt[pick] * km

    table = pd.DataFrame({"seg": seg, "cell": cell, "km": length, "weighted": weighted,
                          "pressure": weighted * hot_score[cell] if len(cell) else weighted})
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
    classes = classes_all.iloc[pos]
    out["most_severe_class"] = _most_severe(classes)
    out["classes"] = _classes_text(classes)
    result = gpd.GeoDataFrame(out, geometry=np.asarray(infra.geometry.values)[pos],
                              crs=infra.crs)
    return result.head(top) if top is not None else result


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


# -- the analysis ------------------------------------------------------------------------------
def _read_kind(atlas: Any, kind: str, crs: Any = None) -> gpd.GeoDataFrame | None:
    names = atlas.layer_names(kind)
    if not names:
        return None
    if crs is None and len(names) == 1:
        return atlas.read(names[0]).assign(layer=names[0])
    return atlas.read_kind(kind, crs=crs if crs is not None else "EPSG:4326")


def _read_infrastructure(atlas: Any, crs: Any) -> gpd.GeoDataFrame:
    """Every infrastructure layer in ``crs``, with ``layer``, indexed by ``segment_id``
    (:func:`cami_atlas.barriers.segment_ids`, made from each stored layer)."""
    from ..barriers import segment_ids

    parts = []
    for name in atlas.layer_names("infrastructure"):
        layer = atlas.read(name)
        ids = segment_ids(name, layer)
        parts.append(layer.to_crs(crs).assign(layer=name).set_index(
            pd.Index(ids.to_numpy(dtype=object), name="segment_id")))
    out = pd.concat(parts)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=crs)


def hotspot_analysis(
    atlas: Any,
    *,
    species: str | Sequence[str] | None = None,
    cell_km: float = 25.0,
    shape: Literal["hexagon", "square"] = "hexagon",
    permutations: int = 999,
    seed: int = 12345,
    alpha: float = 0.05,
    border_distance_km: float = 50.0,
    weights: str | os.PathLike[str] | pd.DataFrame | None = None,
    matrix: Any = None,
    impact: Any = None,
    top_n: int = 25,
    progress: Progress | None = None,
    max_memory: str | int | None = None,
) -> HotspotAnalysis:
    """Run the barrier-hotspot analysis of an atlas (nothing is written).

    Parameters
    ----------
    atlas : cami_atlas.atlas.Atlas
        Needs ``infrastructure`` and ``species_range`` layers; ``country``, ``border``
        and ``corridor`` layers are used when present.
    species : str or list of str, optional
        Species (range names or synonyms, e.g. ``"saiga"``); default all with a range.
    cell_km : float, default 25
        Cell size: each cell covers ``cell_km ** 2`` km² (:func:`cami_atlas.hotspots.hex_grid`).
    shape : {"hexagon", "square"}
    permutations, seed, alpha
        Gi* inference (:func:`cami_atlas.hotspots.gi_star`); ``permutations=0`` gives
        analytical normal p-values instead of permutation pseudo p-values.
    border_distance_km : float, default 50
        Hot cells this close (geodesic) to an international border are transboundary.
    weights : path or DataFrame, optional
        Hotspot weights table (default: the shipped ``hotspot_weights.csv``).
    matrix : DataFrame or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    impact : BarrierImpact or DataFrame, optional
        Connectivity barrier impact of the segments, indexed by ``segment_id``
        (``layer:feature_id``, :func:`cami_atlas.barriers.segment_ids`, as in
        :func:`cami_atlas.connectivity.run_connectivity`); without it segments are
        ranked by :func:`rank_segments`.
    top_n : int, default 25
        Segments kept in the ranking.
    progress : callable, optional
        Called with a short text before each step (the CLI shows a progress bar).
    max_memory : str or int, optional
        Memory the hotspot grid may use, e.g. ``"4GiB"``; a grid that would need more
        (or more than is available) is refused before it is built, naming the smallest
        ``cell_km`` that fits (:func:`cami_atlas.hotspots.hex_grid`).

    Returns
    -------
    HotspotAnalysis

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> res = hotspot_analysis(Atlas.default(), species=["saiga"], cell_km=150,
    ...                        permutations=99)
    >>> res.species, res.segment_method
    (['Saiga_tatarica'], 'pressure')
    >>> bool(res.cells["gi_class"].isin(HOT_CLASSES).any())
    True
    """
    from ..barriers import (
        classify_in_ranges,
        corridor_crossings,
        infrastructure_in_ranges,
        matrix_species,
        range_fragmentation,
        species_polygons,
    )
    from ..barriers.matrix import load_matrix
    from ..hotspots import hotspot_grid
    from ..hotspots.grid import check_lattice_memory

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    m = load_matrix(matrix) if isinstance(matrix, str | os.PathLike) else matrix
    if m is None:
        m = load_matrix()
    weights_table = score_weights(weights)
    crs = atlas.analysis_crs
    if not atlas.layer_names("infrastructure"):
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no infrastructure layer; add one with "
            "`cami-atlas layers import FILE --kind infrastructure --atlas ATLAS.gpkg`.")
    if not atlas.layer_names("species_range"):
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no species_range layer; add one with "
            "`cami-atlas layers import FILE --kind species_range --atlas ATLAS.gpkg`.")
    step("reading layers")
    all_ranges = _read_kind(atlas, "species_range")
    corridors = _read_kind(atlas, "corridor")
    countries = _read_kind(atlas, "country")
    borders = _read_kind(atlas, "border")
    available = sorted(all_ranges["species"].astype(str).map(canonical_species_name).unique())
    chosen = select_species(available, species, matrix=m)
    names = all_ranges["species"].astype(str).map(canonical_species_name)
    ranges = all_ranges[names.isin(chosen).to_numpy()].copy()
    ranges["species"] = names[names.isin(chosen)].to_numpy()
    check_lattice_memory(tuple(ranges.geometry.to_crs(crs).total_bounds), cell_km=cell_km,
                         shape=shape, crs=crs, max_memory=max_memory)  # fail before the work
    if corridors is not None:
        cnames = corridors["species"].astype(str).map(canonical_species_name)
        corridors = corridors[cnames.isin(chosen).to_numpy()]
        corridors = corridors if len(corridors) else None
    infra = _read_infrastructure(atlas, crs)
    notes: list[str] = []

    step("classifying infrastructure")
    msp = matrix_species(chosen, matrix=m)
    # habitat (range ∪ corridor polygons) reprojected with densified edges, as in the
    # barrier overlay and rank_segments, so all cut the same polygons; a segment gets a
    # class for a species only where it crosses that species' habitat
    polys = species_polygons(ranges, corridors=corridors, crs=crs)
    wide = classify_in_ranges(infra, polys, chosen, matrix=m)
    for s in chosen:
        infra[s] = wide[s].astype(object)
    infra["most_severe_class"] = _most_severe(wide)
    unrated = [s for s in chosen if msp[s] is None]
    if unrated:
        notes.append(
            f"Not rated by the barrier matrix, so all infrastructure in their range is "
            f"'unknown' (in the score {_unknown_weight(weights_table)}): {', '.join(unrated)}.")

    step("km of infrastructure in ranges")
    lengths = infrastructure_in_ranges(infra, ranges, corridors=corridors, countries=countries,
                                       matrix=m, analysis_crs=crs)
    step("range fragmentation")

    def classify(frame: gpd.GeoDataFrame, sp: str) -> pd.Series:
        return frame[sp].rename("barrier_class")

    fragmentation = range_fragmentation(ranges, infra, species=chosen, classify=classify,
                                        crs=crs)

    crossings = None
    if corridors is not None:
        step("corridor crossings")
        crossings = corridor_crossings(infra, corridors, matrix=m).points
    step("hotspot grid and Gi*")
    border_layer = borders if borders is not None else countries
    habitat = gpd.GeoDataFrame({"species": polys.index.to_numpy()},
                               geometry=polys.to_numpy(), crs=crs)
    cells = hotspot_grid(
        infra, habitat, cell_km=cell_km, shape=shape, crs=crs, corridors=corridors,
        crossings=crossings, weights=weights, borders=border_layer,
        border_distance_km=border_distance_km, permutations=permutations, seed=seed,
        alpha=alpha, species_columns=chosen, max_memory=max_memory)
    transboundary = None
    if border_layer is not None:
        transboundary = cells[cells["transboundary"].to_numpy(dtype=bool)]
    else:
        notes.append("The atlas has no border or country layer: no transboundary hotspots.")

    step("ranking segments")
    if impact is not None:
        segments = segments_from_impact(impact, infra, top=top_n)
        method = "impact"
    else:
        segments = rank_segments(cells, infra, ranges, species_columns=chosen,
                                 weights=weights, corridors=corridors, top=top_n)
        method = "pressure"
        notes.append(
            "No connectivity barrier-impact table was computed for this run (it needs "
            "habitat cores and a resistance surface, which this atlas does not hold), so "
            "segments are ranked by their km-weighted barrier pressure inside hot cells: "
            "sum over hot cells of cell score x class weight x km inside each species' "
            "range. This ranks where segments add to hotspots, not the connectivity they "
            "cost.")
    if not atlas.layer_names("tracks"):
        notes.append("No GPS tracks in the atlas: track-crossing events are not part of "
                     "the score.")
    if corridors is None:
        notes.append("No corridors for these species in the atlas: cells are scored on "
                     "ranges only, without corridor crossings.")
    used = ["species_range", "infrastructure", "country", "border", "corridor"]
    layers = atlas.list_layers()
    sources = layers[layers["kind"].isin(used)].reset_index(drop=True)
    parameters = {
        "atlas": str(getattr(atlas, "path", None) or atlas.name),
        "species": ", ".join(chosen),
        "cell_km": cell_km, "cell_area_km2": cell_km ** 2, "cell_shape": shape,
        "analysis_crs": crs.to_string(),
        "gi_weights": "queen contiguity (binary, self included: Gi*)",
        "permutations": permutations, "seed": seed, "alpha": alpha,
        "gi_p_value": ("analytical normal p-value (permutations=0)" if permutations == 0
                       else "conditional-permutation pseudo p-value"),
        "border_distance_km": border_distance_km,
        "weights": str(weights) if isinstance(weights, str | os.PathLike) else (
            "custom table" if weights is not None else "shipped hotspot_weights.csv"),
        "barrier_matrix": str(matrix) if isinstance(matrix, str | os.PathLike) else (
            "custom table" if matrix is not None else "shipped 2017 CAMI matrix"),
        "segment_ranking": ("connectivity barrier impact" if method == "impact"
                            else "km-weighted pressure in hot cells"),
        "top_segments": top_n,
    }
    return HotspotAnalysis(
        atlas_name=atlas.name, atlas_path=getattr(atlas, "path", None), species=chosen,
        matrix_species=msp, cells=cells, infra=infra, ranges=ranges, lengths=lengths,
        fragmentation=fragmentation, segments=segments, segment_method=method,
        transboundary=transboundary, countries=countries, borders=borders, sources=sources,
        parameters=parameters, notes=notes, corridors=corridors, weights=weights_table)


# -- map -------------------------------------------------------------------------------------
_CELL_POPUP = ("cell_id", "score", "gi_class", "gi_z", "gi_p", "n_species", "species",
               "infra_km", "species_km_complete_barrier", "species_km_partial_barrier",
               "species_km_unknown", "border")


def hotspot_map(analysis: HotspotAnalysis, *, basemap: str | None = "OpenStreetMap",
                offline: bool = False, title: str | None = None,
                simplify_m: float | None = 500.0) -> Any:
    """Interactive map of a hotspot analysis (folium).

    Layers (each toggleable): countries, borders, one range layer per species, corridors
    (if any), the barrier-pressure score of the cells (colour bar), one layer per Gi* hot/cold class
    present, transboundary hotspots, the infrastructure (coloured by barrier class for one
    species, else by the most severe class over the species; segments crossing none of
    the species' ranges grey as "outside range"; popups give the ``segment_id``) and the
    top segments.

    Parameters
    ----------
    analysis : HotspotAnalysis
    basemap, offline
        As in :func:`cami_atlas.maps.build_map` (``offline=True`` for a map that must open
        without internet: use ``basemap=None`` too, so no tiles are requested).
    simplify_m : float or None
        Display simplification of ranges, countries and lines, metres.

    Returns
    -------
    folium.Map
    """
    from ..figures import GI_CLASS_COLORS
    from ..maps import (
        OUTSIDE_RANGE,
        add_choropleth,
        add_corridors,
        add_infrastructure,
        add_ranges,
        add_vector,
        build_map,
        fix_view,
    )

    a = analysis
    if title is None:
        title = f"Barrier hotspots: {_species_title(a.species)}"
    m = build_map(title=title, basemap=basemap, offline=offline)
    cells = a.cells.to_crs("EPSG:4326")
    fix_view(m, tuple(cells.total_bounds))
    bbox = shapely.box(*cells.total_bounds).buffer(1.0)
    if a.countries is not None:
        keep = a.countries.to_crs("EPSG:4326").intersects(bbox).to_numpy()
        tip = next((c for c in ("name", "iso3") if c in a.countries.columns), None)
        add_vector(m, a.countries[keep], name="Countries", color="#636363", weight=0.8,
                   fill_opacity=0.03, tooltip_column=tip, simplify_m=simplify_m)
    if a.borders is not None:
        b = a.borders.to_crs("EPSG:4326")
        b = b[b.intersects(bbox).to_numpy()]
        if len(b):
            add_vector(m, b, name="Borders", color="#252525", weight=1.5, fill_opacity=0,
                       popup_columns=[c for c in ("iso3_left", "iso3_right") if c in b.columns],
                       simplify_m=simplify_m)
    range_cols = ["species", *[c for c in ("common_name",) if c in a.ranges],
                  a.ranges.geometry.name]
    add_ranges(m, a.ranges[range_cols], show=len(a.species) <= 3, simplify_m=simplify_m)
    if a.corridors is not None and len(a.corridors):
        add_corridors(m, a.corridors, name="Corridors", simplify_m=simplify_m)
    popup = [c for c in _CELL_POPUP if c in cells.columns]
    add_choropleth(m, cells, "score", name="Barrier-pressure score", cmap="YlOrRd",
                   caption="barrier-pressure score (0-1)", popup_columns=popup,
                   fill_opacity=0.6)
    for cls, color in GI_CLASS_COLORS.items():
        if cls == "not significant":
            continue
        sel = cells[cells["gi_class"] == cls]
        if len(sel):
            add_vector(m, sel, name=f"Gi*: {cls}", color=color, weight=0.8, fill_opacity=0.6,
                       popup_columns=popup, tooltip_column="gi_class",
                       show=cls.startswith("hot"), simplify_m=None)
    if a.transboundary is not None and len(a.transboundary):
        tb = a.transboundary.to_crs("EPSG:4326")
        add_vector(m, tb, name="Transboundary hotspots", color="#000000", weight=2.0,
                   fill_opacity=0.0, popup_columns=[c for c in (*popup, "border_distance_km")
                                                     if c in tb.columns],
                   tooltip_column="border", simplify_m=None)
    infra = a.infra.to_crs("EPSG:4326")
    infra = infra[infra.intersects(bbox).to_numpy()]
    shown = [c for c in ("layer", "infra_type", "name", "status", "track", "road_class",
                         "road_surface", "fence_type") if c in infra.columns]
    column = a.species[0] if len(a.species) == 1 else "most_severe_class"
    view = infra[[*shown, *a.species, "most_severe_class", infra.geometry.name]]
    view = view.rename_axis("segment_id").reset_index()
    # segments that cross none of the mapped species' ranges have no class: grey
    view[column] = view[column].astype(object).where(view[column].notna(), OUTSIDE_RANGE)
    if len(view):
        add_infrastructure(m, view, name="Infrastructure", barrier_column=column,
                           popup_columns=["segment_id", *shown, *a.species], show=True,
                           simplify_m=simplify_m)
    seg = a.segments
    if isinstance(seg, gpd.GeoDataFrame) and len(seg):
        segv = seg.to_crs("EPSG:4326")
        if "segment_id" not in segv.columns:
            segv = segv.rename_axis("segment_id").reset_index()
        cls_col = "most_severe_class" if "most_severe_class" in segv.columns else None
        if "infra_type" in segv.columns:
            add_infrastructure(m, segv.drop(columns=[c for c in ("classes",)
                                                     if c in segv.columns]),
                               name=f"Top {len(segv)} segments", barrier_column=cls_col,
                               simplify_m=None)
    return m


# -- report ----------------------------------------------------------------------------------
def _species_title(species: Sequence[str]) -> str:
    names = [s.replace("_", " ") for s in species]
    if len(names) <= 4:
        return ", ".join(names)
    return f"{len(names)} species"


def _centroids_lonlat(cells: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    c = cells.geometry.centroid.to_crs("EPSG:4326")
    return c.x.to_numpy(), c.y.to_numpy()


def _top_cells(cells: gpd.GeoDataFrame, n: int) -> pd.DataFrame:
    hot = cells[cells["gi_class"].isin(HOT_CLASSES).to_numpy()]
    top = hot.sort_values(["score", "gi_z"], ascending=False, kind="mergesort").head(n)
    lon, lat = _centroids_lonlat(top) if len(top) else (np.zeros(0), np.zeros(0))
    cols = {"cell_id": "cell", "gi_class": "Gi* class", "score": "score", "gi_z": "Gi* z",
            "gi_p": "p", "n_species": "species (n)", "species": "species",
            "infra_km": "infrastructure km", "species_km_complete_barrier":
            "complete-barrier species-km", "species_km_partial_barrier":
            "partial-barrier species-km", "border": "border"}
    out = pd.DataFrame({v: top[k].to_numpy() for k, v in cols.items() if k in top.columns})
    out["lon"] = np.round(lon, 3)
    out["lat"] = np.round(lat, 3)
    return out


def _segments_table(a: HotspotAnalysis) -> pd.DataFrame:
    seg = pd.DataFrame(a.segments.drop(columns=a.segments.geometry.name)
                       if isinstance(a.segments, gpd.GeoDataFrame) else a.segments)
    if isinstance(a.segments, gpd.GeoDataFrame) and len(a.segments):
        mid = shapely.line_interpolate_point(
            np.asarray(a.segments.geometry.values, dtype=object), 0.5, normalized=True)
        pts = gpd.GeoSeries(mid, crs=a.segments.crs).to_crs("EPSG:4326")
        seg["lon"] = np.round(pts.x.to_numpy(), 6)  # 6 decimals of a degree: <= 0.11 m
        seg["lat"] = np.round(pts.y.to_numpy(), 6)
    if "segment_id" not in seg.columns:
        seg.insert(0, "segment_id", seg.index.astype(str))
    empty = [c for c in ("name", "status") if c in seg.columns and seg[c].isna().all()]
    return seg.drop(columns=empty).reset_index(drop=True)


def _transboundary_table(a: HotspotAnalysis) -> pd.DataFrame | None:
    tb = a.transboundary
    if tb is None:
        return None
    if not len(tb):
        return pd.DataFrame(columns=["border", "hot cells", "summed score", "max score"])
    pairs = tb.assign(pair=tb["border"].str.split("; ")).explode("pair")
    out = pairs.groupby("pair").agg(cells=("score", "size"), summed=("score", "sum"),
                                    peak=("score", "max")).reset_index()
    out.columns = ["border", "hot cells", "summed score", "max score"]
    return out.sort_values("summed score", ascending=False, kind="mergesort").reset_index(
        drop=True)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name).strip("-").lower()


def _species_page(a: HotspotAnalysis, sp: str, *, figures: bool) -> dict[str, Any]:
    from ..figures import class_km_figure, figure_data_uri, range_barrier_figure

    r = a.ranges[a.ranges["species"] == sp]
    info: dict[str, Any] = {"name": sp, "title": sp.replace("_", " "), "anchor": _slug(sp)}
    for col, key in (("common_name", "common_name"), ("iucn_status_2016", "iucn_status")):
        if col in r.columns and r[col].notna().any():
            info[key] = str(r[col].dropna().iloc[0])
    info["matrix_species"] = a.matrix_species.get(sp)
    info["range_area_km2"] = float(area_km2(r).sum())
    t = a.lengths[a.lengths["species"] == sp]
    by_class = t.groupby("barrier_class")["length_km"].sum().reindex(
        list(BARRIER_CLASSES)[::-1], fill_value=0.0)
    info["class_km"] = pd.DataFrame({"barrier class": by_class.index,
                                     "km in range": by_class.to_numpy()})
    info["total_km"] = float(by_class.sum())
    wide = (t.pivot_table(index="infra_type", columns="barrier_class", values="length_km",
                          aggfunc="sum", fill_value=0.0)
            .reindex(columns=list(BARRIER_CLASSES)[::-1], fill_value=0.0))
    wide["total"] = wide.sum(axis=1)
    info["type_km"] = wide.reset_index().rename(columns={"infra_type": "type"})
    countries = (t.groupby("country").agg(km=("length_km", "sum"),
                                          range_km2=("range_area_km2", "first"))
                 .sort_values("km", ascending=False).reset_index())
    countries["km per 1000 km²"] = countries["km"] / countries["range_km2"] * 1000.0
    info["country_km"] = countries.rename(columns={"km": "km in range",
                                                   "range_km2": "range km² in country"})
    if a.fragmentation is not None:
        f = a.fragmentation[(a.fragmentation["species"] == sp)
                            & (a.fragmentation["procedure"] == "CUT")]
        if len(f):
            row = f.iloc[0]
            info["fragmentation"] = {
                "m_eff_km2": float(row["m_eff_km2"]), "n_fragments": int(row["n_fragments"]),
                "largest_fragment_share": float(row["largest_fragment_share"]),
                "area_km2": float(row["area_km2"])}
    in_cells = a.cells["species"].str.contains(rf"(?:^|; ){re.escape(sp)}(?:;|$)", regex=True)
    hot = a.cells["gi_class"].isin(HOT_CLASSES)
    info["cells"] = int(in_cells.sum())
    info["hot_cells"] = int((in_cells & hot).sum())
    if figures:
        info["range_figure"] = figure_data_uri(range_barrier_figure(
            a.ranges, a.infra, species=sp, barrier_column=sp, countries=a.countries,
            title=f"{sp.replace('_', ' ')}: infrastructure by barrier class"))
        info["km_figure"] = figure_data_uri(class_km_figure(
            t, by="infra_type", title="km inside the range by type and class"))
    return info


def hotspot_report(
    analysis: HotspotAnalysis,
    *,
    map_href: str | None = "hotspot_map.html",
    figures: bool = True,
    embed_map: bool = True,
    top_cells: int = 25,
    command: str | None = None,
    inputs: Mapping[str, str | os.PathLike[str] | bytes] | None = None,
    title: str | None = None,
) -> str:
    """The hotspot report as one HTML page (template ``hotspot_report.html.j2``).

    Sections: summary, the map (a link to ``map_href`` and, with ``embed_map``, the map in
    an iframe; a static figure of the Gi* classes for print), the top hot cells, the top
    segments (and how they were ranked), transboundary hotspots by border, one factsheet
    page per species (range, km by barrier class, type and country, fragmentation, hot
    cells, figures), notes, parameters, data sources and licences, reproducibility.
    Every value is HTML-escaped (Jinja2 autoescape).

    Parameters
    ----------
    analysis : HotspotAnalysis
    map_href : str or None
        Relative link to the map file; None for no map section.
    figures : bool
        Draw the matplotlib figures (embedded as PNG).
    embed_map : bool
        Show the map in an iframe (hidden when printed).
    top_cells : int
        Hot cells listed.
    command : str, optional
        The command line that produced the report (reproducibility block).
    inputs : mapping, optional
        Input files to checksum (default: the atlas file, when it has one).
    title : str, optional

    Returns
    -------
    str
        The HTML.
    """
    from ..figures import figure_data_uri, hotspot_figure
    from . import render_report, reproducibility

    a = analysis
    cells = a.cells
    counts = cells["gi_class"].value_counts()
    summary = {
        "n_cells": len(cells), "area_km2": float(cells["area_km2"].sum()),
        "cell_km": f"{float(a.parameters.get('cell_km', 0)):g}",
        "hot": {c: int(counts.get(c, 0)) for c in HOT_CLASSES},
        "n_hot": int(sum(int(counts.get(c, 0)) for c in HOT_CLASSES)),
        "n_cold": int(counts[[c for c in counts.index if str(c).startswith("cold")]].sum()),
        "n_transboundary": None if a.transboundary is None else len(a.transboundary),
        "infra_km": float(cells["infra_km"].sum()),
        "max_score_cell": str(cells.loc[cells["score"].idxmax(), "cell_id"])
        if len(cells) and "cell_id" in cells.columns else "",
    }
    if inputs is None:
        inputs = {"atlas": a.atlas_path} if a.atlas_path is not None else {}
    context: dict[str, Any] = {
        "title": title or f"Barrier hotspots: {_species_title(a.species)}",
        "subtitle": (f"Atlas {a.atlas_name!r}; {len(a.species)} species; "
                     f"{a.parameters.get('cell_shape', 'hexagon')} cells of "
                     f"{summary['cell_km']} km ({summary['n_cells']:,} cells)"),
        "summary": summary,
        "species": [{"name": s, "title": s.replace("_", " "), "anchor": _slug(s),
                     "rated": a.matrix_species.get(s) is not None} for s in a.species],
        "map_href": map_href,
        "embed_map": embed_map and map_href is not None,
        "hotspot_figure": figure_data_uri(hotspot_figure(
            cells, countries=a.countries, ranges=a.ranges,
            title="Gi* hot and cold spots of the score")) if figures else None,
        "top_cells": _top_cells(cells, top_cells),
        "segments": _segments_table(a),
        "segment_method": a.segment_method,
        "transboundary": _transboundary_table(a),
        "border_distance_km": a.parameters.get("border_distance_km"),
        "alpha": a.parameters.get("alpha"),
        "pages": [_species_page(a, s, figures=figures) for s in a.species],
        "weights": a.weights,
        "weights_source": a.parameters.get("weights", ""),
        "unknown_rule": unknown_class_rule(a.weights) if a.weights is not None else "",
        "notes": list(a.notes),
        "parameters": dict(a.parameters),
        "sources": a.sources[[c for c in ("name", "kind", "source", "licence", "attribution",
                                          "date") if c in a.sources.columns]],
        "reproducibility": reproducibility(inputs, command=command),
    }
    return render_report(_TEMPLATE, context)


# -- outputs -----------------------------------------------------------------------------------
def output_names(*, pdf: bool = False) -> list[str]:
    """Names of the files :func:`write_hotspot_outputs` writes.

    Examples
    --------
    >>> output_names(pdf=True)[-1]
    'hotspot_report.pdf'
    """
    return [*OUTPUTS, *([_PDF] if pdf else [])]


def _cells_table(cells: gpd.GeoDataFrame) -> pd.DataFrame:
    lon, lat = _centroids_lonlat(cells)
    out = pd.DataFrame(cells.drop(columns=cells.geometry.name))
    out["centroid_lon"] = lon
    out["centroid_lat"] = lat
    return out


def write_hotspot_outputs(
    analysis: HotspotAnalysis,
    out_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    pdf: bool = False,
    offline: bool = False,
    basemap: str | None = "OpenStreetMap",
    figures: bool = True,
    command: str | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """Write the outputs of a hotspot analysis into ``out_dir`` (each file atomically).

    Files: ``hotspot_cells.gpkg`` (layers ``cells``, ``segments`` and, when any,
    ``transboundary``; analysis CRS), ``hotspot_cells.csv`` (cells without geometry, with
    centroid lon/lat), ``hotspot_segments.csv``, ``hotspot_map.html`` (self-contained:
    Leaflet and plugins inlined), ``hotspot_report.html`` and, with ``pdf``,
    ``hotspot_report.pdf`` (WeasyPrint, the ``pdf`` extra).

    Every output is checked first; if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written.
    ``offline`` builds the map without basemap tiles (it then makes no network request).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ..maps import save_map
    from . import write_report

    out = prepare_outputs(out_dir, output_names(pdf=pdf), overwrite=overwrite)
    a = analysis

    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    written: list[Path] = []
    step("writing the cell GeoPackage and tables")
    with atomic_path(out / "hotspot_cells.gpkg", overwrite=overwrite) as tmp:
        a.cells.to_file(tmp, layer="cells", driver="GPKG")
        if isinstance(a.segments, gpd.GeoDataFrame) and len(a.segments):
            (a.segments if "segment_id" in a.segments.columns
             else a.segments.rename_axis("segment_id").reset_index()).to_file(
                tmp, layer="segments", driver="GPKG", mode="a")
        if a.transboundary is not None and len(a.transboundary):
            a.transboundary.to_file(tmp, layer="transboundary", driver="GPKG", mode="a")
    written.append(out / "hotspot_cells.gpkg")
    for name, table in (("hotspot_cells.csv", _cells_table(a.cells)),
                        ("hotspot_segments.csv", _segments_table(a))):
        with atomic_path(out / name, overwrite=overwrite) as tmp:
            table.to_csv(tmp, index=False)  # full precision: floats round-trip
        written.append(out / name)
    step("drawing the map")
    m = hotspot_map(a, basemap=None if offline else basemap, offline=offline)
    written.append(save_map(m, out / "hotspot_map.html", self_contained=True,
                            overwrite=overwrite))
    step("writing the report" + (" (HTML and PDF)" if pdf else ""))
    html = hotspot_report(a, map_href="hotspot_map.html", figures=figures, command=command)
    written.extend(write_report(html, out / "hotspot_report.html", pdf=pdf,
                                overwrite=overwrite))
    return written


def write_hotspot_atlas(
    atlas: Any,
    out_dir: str | os.PathLike[str],
    *,
    species: str | Sequence[str] | None = None,
    cell_km: float = 25.0,
    overwrite: bool = False,
    pdf: bool = False,
    offline: bool = False,
    progress: Progress | None = None,
    command: str | None = None,
    **options: Any,
) -> Path:
    """Hotspot map and report of every species, one sub-folder each, plus an index page.

    For each species (default: every species with a range in the atlas) the analysis of
    :func:`hotspot_analysis` is run for that species alone and its outputs
    (:func:`write_hotspot_outputs`) go to ``out_dir/<Species_name>/``; ``out_dir/index.html``
    links every report and map with the species' key figures (range area, km of
    infrastructure in the range by barrier class, hot cells, transboundary hot cells).

    Every output (all species' files and the index) is checked before anything is
    written: if one exists and ``overwrite`` is false,
    :class:`~cami_atlas.errors.OutputExistsError` is raised and nothing is written.

    Parameters
    ----------
    atlas : cami_atlas.atlas.Atlas
    out_dir : path
    species : str or list of str, optional
        Names or synonyms; default all with a range.
    cell_km, pdf, offline
        As for :func:`hotspot_analysis` / :func:`write_hotspot_outputs`.
    progress : callable, optional
        Called with a short text as each species starts and ends.
    command : str, optional
        Recorded in each report's reproducibility block.
    **options
        Other keyword options of :func:`hotspot_analysis` (``permutations``, ``seed``,
        ``alpha``, ``border_distance_km``, ``weights``, ``matrix``, ``top_n``, ``shape``).

    Returns
    -------
    pathlib.Path
        The index page.
    """
    from ..errors import OutputExistsError
    from . import render_report

    out = Path(out_dir)
    ranges = _read_kind(atlas, "species_range")
    if ranges is None:
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no species_range layer; add one with "
            "`cami-atlas layers import FILE --kind species_range --atlas ATLAS.gpkg`.")
    available = sorted(ranges["species"].astype(str).map(canonical_species_name).unique())
    chosen = select_species(available, species, matrix=options.get("matrix"))
    targets = [out / INDEX] + [out / sp / n for sp in chosen for n in output_names(pdf=pdf)]
    existing = [str(p.relative_to(out)) for p in targets if p.exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise OutputExistsError(
            f"{out} already holds {', '.join(existing[:5])}{more}; pass overwrite=True "
            "(--overwrite) to replace them or choose another output folder.")
    rows = []
    for i, sp in enumerate(chosen, start=1):
        if progress is not None:
            progress(f"{sp} ({i}/{len(chosen)})")
        a = hotspot_analysis(atlas, species=[sp], cell_km=cell_km, **options)
        write_hotspot_outputs(a, out / sp, overwrite=overwrite, pdf=pdf, offline=offline,
                              command=command)
        by_class = a.lengths.groupby("barrier_class")["length_km"].sum()
        r = a.ranges
        rows.append({
            "name": sp, "title": sp.replace("_", " "),
            "common_name": str(r["common_name"].dropna().iloc[0])
            if "common_name" in r.columns and r["common_name"].notna().any() else "",
            "report": f"{sp}/hotspot_report.html", "map": f"{sp}/hotspot_map.html",
            "pdf": f"{sp}/{_PDF}" if pdf else None,
            "range_area_km2": float(area_km2(r).sum()),
            "complete_km": float(by_class.get("complete barrier", 0.0)),
            "partial_km": float(by_class.get("partial barrier", 0.0)),
            "unknown_km": float(by_class.get("unknown", 0.0)),
            "cells": len(a.cells),
            "hot_cells": int(a.cells["gi_class"].isin(HOT_CLASSES).sum()),
            "transboundary": None if a.transboundary is None else len(a.transboundary),
            "rated": a.matrix_species.get(sp) is not None,
        })
    layers = atlas.list_layers()
    used = ["species_range", "infrastructure", "country", "border", "corridor"]
    html = render_report(_INDEX_TEMPLATE, {
        "title": f"Barrier-hotspot atlas: {atlas.name}",
        "subtitle": f"{len(rows)} species; cells of {cell_km:g} km",
        "entries": rows,
        "sources": layers[layers["kind"].isin(used)].reset_index(drop=True),
    })
    from .._atomic import write_text_atomic

    return write_text_atomic(out / INDEX, html, overwrite=overwrite)
