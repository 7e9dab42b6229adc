"""The barrier-hotspot analysis of an atlas, as a composition of named steps.

:func:`hotspot_analysis` runs everything a hotspot report shows on an atlas
(:class:`cami_atlas.atlas.Atlas`) and returns a :class:`HotspotAnalysis` (nothing is
written; :mod:`cami_atlas.report.hotspots` turns it into a map, a report and files).
Its steps, each a function with frames in and out:

1. :func:`read_hotspot_layers`: the species' ranges, corridors, countries and borders;
   :func:`select_hotspot_species` keeps the species asked for (names or synonyms);
   :func:`read_infrastructure`: every infrastructure layer, indexed by ``segment_id``;
2. :func:`classify_segments`: each segment classified per species with the barrier
   matrix where it crosses the species' range ∪ corridor (species the matrix does not
   rate get ``unknown``, weighted like a partial barrier by the default weights);
3. :func:`range_metrics`: km of infrastructure inside each range by type, barrier class
   and country (:func:`cami_atlas.barriers.infrastructure_in_ranges`) and the
   fragmentation of each range (:func:`cami_atlas.barriers.range_fragmentation`);
4. the hotspot grid: :func:`cami_atlas.hotspots.hex_grid` (equal-area cells),
   :func:`~cami_atlas.hotspots.build.cell_metrics` (km and class metrics per cell),
   :func:`~cami_atlas.hotspots.build.score_cells` (barrier-pressure score),
   :func:`~cami_atlas.hotspots.build.gi_cells` (Getis-Ord Gi*) and
   :func:`~cami_atlas.hotspots.build.border_flags` / :func:`transboundary_of`
   (transboundary hot cells near borders);
5. :func:`segment_ranking`: the infrastructure segments that matter most, from a
   connectivity barrier-impact table when one is given
   (:func:`~cami_atlas.hotspots.segments.segments_from_impact`), otherwise ranked by
   their km-weighted pressure inside hot cells
   (:func:`~cami_atlas.hotspots.segments.rank_segments`);
6. :func:`analysis_notes` and :func:`analysis_parameters`: what the report states about
   the run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
from pyproj import CRS

from ..barriers import (
    classify_in_ranges,
    corridor_crossings,
    infrastructure_in_ranges,
    matrix_species,
    range_fragmentation,
    resolve_species,
    segment_ids,
    species_polygons,
)
from ..barriers.matrix import load_matrix
from ..errors import EmptyLayerError, UnknownSpeciesError
from ..schema import canonical_species_name
from .build import hotspot_grid
from .grid import check_lattice_memory
from .score import _read_weights, load_weights
from .segments import _most_severe, rank_segments, segments_from_impact

__all__ = [
    "HotspotAnalysis",
    "HotspotLayers",
    "analysis_notes",
    "analysis_parameters",
    "classify_segments",
    "hotspot_analysis",
    "range_metrics",
    "read_hotspot_layers",
    "read_infrastructure",
    "score_weights",
    "segment_ranking",
    "select_hotspot_species",
    "select_species",
    "transboundary_of",
    "unknown_class_rule",
]

Progress = Callable[[str], None]

#: Layer kinds the analysis reads (its data sources).
USED_KINDS: tuple[str, ...] = ("species_range", "infrastructure", "country", "border",
                               "corridor")


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

    def mitigation_proposals(self, catalogue: Any = None) -> pd.DataFrame:
        """Measures of the mitigation catalogue for the ranked segments, per species.

        The ranked segments (:attr:`segments`) with their barrier class for each species
        whose range or corridor they cross (:attr:`infra`), passed to
        :func:`cami_atlas.planning.catalogue.propose_measures`.

        Parameters
        ----------
        catalogue : DataFrame or path, optional
            The mitigation catalogue (default: the shipped one).

        Returns
        -------
        DataFrame
            :func:`~cami_atlas.planning.catalogue.propose_measures` output.
        """
        from ..planning.catalogue import propose_measures

        seg = self.segments
        ids = (seg["segment_id"] if "segment_id" in seg.columns else seg.index).astype(str)
        infra = self.infra.loc[self.infra.index.astype(str).isin(set(ids))]
        columns = [c for c in self.species if c in infra.columns]
        if infra.empty or not columns or "infra_type" not in infra.columns:
            return propose_measures(pd.DataFrame(columns=["segment_id", "species",
                                                          "barrier_class", "infra_type"]),
                                    catalogue=catalogue)
        long = (pd.DataFrame(infra[[*columns, "infra_type"]])
                .rename_axis("segment_id").reset_index()
                .melt(id_vars=["segment_id", "infra_type"], value_vars=columns,
                      var_name="species", value_name="barrier_class")
                .dropna(subset=["barrier_class"]))
        rank = {s: i for i, s in enumerate(ids)}
        long = long.assign(_r=long["segment_id"].astype(str).map(rank)).sort_values(
            ["_r", "species"], kind="stable").drop(columns="_r")
        return propose_measures(long, catalogue=catalogue)

    def mitigation_by_species(self, catalogue: Any = None) -> pd.DataFrame:
        """:meth:`mitigation_proposals` summarised per species and measure
        (:func:`cami_atlas.planning.catalogue.summarise_proposals`)."""
        from ..planning.catalogue import summarise_proposals

        table = summarise_proposals(self.mitigation_proposals(catalogue))
        return table.assign(species=table["species"].astype(str).str.replace("_", " "))

    @property
    def unknown_rule(self) -> str:
        """How the ``unknown`` class is weighted (:func:`unknown_class_rule` of
        ``weights``; empty without weights)."""
        return unknown_class_rule(self.weights) if self.weights is not None else ""


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


# -- weights -------------------------------------------------------------------------------
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


# -- steps ---------------------------------------------------------------------------------
@dataclass
class HotspotLayers:
    """The atlas layers of a hotspot analysis other than the infrastructure.

    Attributes
    ----------
    ranges : GeoDataFrame
        Range polygons, ``species`` holding canonical names (after
        :func:`select_hotspot_species`: only the chosen species).
    corridors, countries, borders : GeoDataFrame or None
        As stored (None when the atlas has no such layer or, for corridors, none of
        the chosen species).
    """

    ranges: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame | None = None
    countries: gpd.GeoDataFrame | None = None
    borders: gpd.GeoDataFrame | None = None


def _read_kind(atlas: Any, kind: str, crs: Any = None) -> gpd.GeoDataFrame | None:
    names = atlas.layer_names(kind)
    if not names:
        return None
    if crs is None and len(names) == 1:
        return atlas.read(names[0]).assign(layer=names[0])
    return atlas.read_kind(kind, crs=crs if crs is not None else "EPSG:4326")


def read_hotspot_layers(atlas: Any) -> HotspotLayers:
    """Read the ranges, corridors, countries and borders of ``atlas``.

    One stored layer of a kind is returned as stored (its CRS, with a ``layer``
    column); several are merged in EPSG:4326 (:meth:`cami_atlas.atlas.Atlas.read_kind`).

    Raises
    ------
    EmptyLayerError
        The atlas has no ``infrastructure`` or no ``species_range`` layer (the message
        says how to add one).

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> layers = read_hotspot_layers(Atlas.default())
    >>> "Saiga_tatarica" in set(layers.ranges["species"]), layers.borders is not None
    (True, True)
    """
    if not atlas.layer_names("infrastructure"):
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no infrastructure layer; add one with "
            "`cami-atlas layers import FILE --kind infrastructure --atlas ATLAS.gpkg`.")
    ranges = _read_kind(atlas, "species_range")
    if ranges is None:
        raise EmptyLayerError(
            f"atlas {atlas.name!r} has no species_range layer; add one with "
            "`cami-atlas layers import FILE --kind species_range --atlas ATLAS.gpkg`.")
    return HotspotLayers(ranges=ranges, corridors=_read_kind(atlas, "corridor"),
                         countries=_read_kind(atlas, "country"),
                         borders=_read_kind(atlas, "border"))


def select_hotspot_species(layers: HotspotLayers, species: str | Sequence[str] | None, *,
                           matrix: Any = None) -> tuple[list[str], HotspotLayers]:
    """Keep the ranges and corridors of the species asked for.

    Parameters
    ----------
    layers : HotspotLayers
        :func:`read_hotspot_layers`.
    species : str, list of str or None
        Names or synonyms (:func:`select_species`); None for every species with a range.
    matrix : BarrierMatrix, optional
        For the synonyms (default: the shipped matrix).

    Returns
    -------
    chosen : list of str
        Canonical names, as in the range layer.
    layers : HotspotLayers
        The same layers with ranges (``species`` canonical) and corridors of ``chosen``
        only; corridors None when none is left.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> r = gpd.GeoDataFrame({"species": ["Saiga tatarica", "Equus_hemionus"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:4326")
    >>> chosen, sel = select_hotspot_species(HotspotLayers(r), ["saiga"])
    >>> chosen, sel.ranges["species"].tolist(), sel.corridors
    (['Saiga_tatarica'], ['Saiga_tatarica'], None)
    """
    names = layers.ranges["species"].astype(str).map(canonical_species_name)
    chosen = select_species(sorted(names.unique()), species, matrix=matrix)
    keep = names.isin(chosen).to_numpy()
    ranges = layers.ranges[keep].copy()
    ranges["species"] = names[keep].to_numpy()
    corridors = layers.corridors
    if corridors is not None:
        cnames = corridors["species"].astype(str).map(canonical_species_name)
        corridors = corridors[cnames.isin(chosen).to_numpy()]
        corridors = corridors if len(corridors) else None
    return chosen, HotspotLayers(ranges=ranges, corridors=corridors,
                                 countries=layers.countries, borders=layers.borders)


def read_infrastructure(atlas: Any, crs: Any) -> gpd.GeoDataFrame:
    """Every infrastructure layer of ``atlas`` in ``crs``, with ``layer``, indexed by
    ``segment_id`` (``layer:feature_id``, :func:`cami_atlas.barriers.segment_ids`, made
    from each stored layer).

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> infra = read_infrastructure(Atlas.default(), "ESRI:102025")
    >>> infra.index.name, infra.index.is_unique, infra.crs.to_string()
    ('segment_id', True, 'ESRI:102025')
    """
    parts = []
    for name in atlas.layer_names("infrastructure"):
        layer = atlas.read(name)
        ids = segment_ids(name, layer)
        parts.append(layer.to_crs(crs).assign(layer=name).set_index(
            pd.Index(ids.to_numpy(dtype=object), name="segment_id")))
    out = pd.concat(parts)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=crs)


def classify_segments(infra: gpd.GeoDataFrame, ranges: gpd.GeoDataFrame,
                      species: Sequence[str], *, corridors: gpd.GeoDataFrame | None = None,
                      matrix: Any = None, crs: Any = None
                      ) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
    """Each segment's barrier class per species, where it crosses the species' habitat.

    The habitat (range ∪ corridor polygons, :func:`cami_atlas.barriers.species_polygons`)
    is reprojected to ``crs`` with densified edges, as in the barrier overlay and
    :func:`~cami_atlas.hotspots.segments.rank_segments`, so all cut the same polygons.

    Parameters
    ----------
    infra : GeoDataFrame
        Infrastructure lines (:func:`read_infrastructure`).
    ranges : GeoDataFrame
        Range polygons, ``species`` canonical.
    species : sequence of str
        Species to classify for (canonical names).
    corridors : GeoDataFrame, optional
    matrix : BarrierMatrix, optional
        Default: the shipped 2017 CAMI matrix.
    crs : CRS, optional
        CRS of the habitat polygons (default: that of ``infra``).

    Returns
    -------
    infra : GeoDataFrame
        A copy with one column per species (its class where the segment crosses the
        species' habitat, missing elsewhere) and ``most_severe_class`` over them.
    habitat : GeoSeries
        Habitat polygon per species, in ``crs``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> r = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(0, 0, 10_000, 10_000)], crs="ESRI:102025")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway", "railway"],
    ...     "track": ["double track", "double track"]},
    ...     geometry=[LineString([(0, 5_000), (9_000, 5_000)]),
    ...               LineString([(50_000, 0), (50_000, 9_000)])], crs="ESRI:102025")
    >>> out, _ = classify_segments(rail, r, ["Saiga_tatarica"])
    >>> out["Saiga_tatarica"].fillna("outside").tolist()  # 2017 matrix: double track complete
    ['complete barrier', 'outside']
    """
    crs = crs if crs is not None else infra.crs
    habitat = species_polygons(ranges, corridors=corridors, crs=crs)
    wide = classify_in_ranges(infra, habitat, list(species), matrix=matrix)
    out = infra.copy()
    for s in species:
        out[s] = wide[s].astype(object)
    out["most_severe_class"] = _most_severe(wide)
    return out, habitat


def range_metrics(infra: gpd.GeoDataFrame, ranges: gpd.GeoDataFrame, species: Sequence[str],
                  *, corridors: gpd.GeoDataFrame | None = None,
                  countries: gpd.GeoDataFrame | None = None, matrix: Any = None,
                  crs: Any = None, progress: Progress | None = None
                  ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Km of infrastructure in each range and the fragmentation of each range.

    Parameters
    ----------
    infra : GeoDataFrame
        :func:`classify_segments` output (one class column per species).
    ranges, species, corridors, countries, matrix, crs
        As for :func:`cami_atlas.barriers.infrastructure_in_ranges`.
    progress : callable, optional
        Called with ``"range fragmentation"`` between the two parts.

    Returns
    -------
    lengths : DataFrame
        :func:`cami_atlas.barriers.infrastructure_in_ranges` (km by type, barrier class
        and country).
    fragmentation : DataFrame
        :func:`cami_atlas.barriers.range_fragmentation` with the classes of ``infra``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> x, y = 500_000, 5_000_000  # UTM 43N, near its central meridian: 1 m is 1 m
    >>> r = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...     geometry=[box(x, y, x + 10_000, y + 10_000)], crs="EPSG:32643")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"], "track": ["double track"],
    ...     "Saiga_tatarica": ["complete barrier"]},
    ...     geometry=[LineString([(x, y + 5_000), (x + 10_000, y + 5_000)])], crs="EPSG:32643")
    >>> lengths, frag = range_metrics(rail, r, ["Saiga_tatarica"], crs="ESRI:102025")
    >>> round(float(lengths["length_km"].sum()), 2), int(frag["n_fragments"].iloc[0])
    (10.0, 2)
    """
    lengths = infrastructure_in_ranges(infra, ranges, corridors=corridors, countries=countries,
                                       matrix=matrix, analysis_crs=crs)
    if progress is not None:
        progress("range fragmentation")

    def classify(frame: gpd.GeoDataFrame, sp: str) -> pd.Series:
        return frame[sp].rename("barrier_class")

    fragmentation = range_fragmentation(ranges, infra, species=list(species),
                                        classify=classify, crs=crs)
    return lengths, fragmentation


def transboundary_of(cells: gpd.GeoDataFrame, border_layer: gpd.GeoDataFrame | None
                     ) -> gpd.GeoDataFrame | None:
    """The transboundary hot cells (``transboundary`` true), None without a border layer.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"transboundary": [True, False]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="ESRI:102025")
    >>> len(transboundary_of(cells, cells)), transboundary_of(cells, None)
    (1, None)
    """
    if border_layer is None:
        return None
    return cells[cells["transboundary"].to_numpy(dtype=bool)]


def segment_ranking(cells: gpd.GeoDataFrame, infra: gpd.GeoDataFrame,
                    ranges: gpd.GeoDataFrame, species: Sequence[str], *,
                    impact: Any = None,
                    weights: str | os.PathLike[str] | pd.DataFrame | None = None,
                    corridors: gpd.GeoDataFrame | None = None, top_n: int = 25
                    ) -> tuple[pd.DataFrame, Literal["impact", "pressure"]]:
    """The top segments: by connectivity impact when given, else by pressure in hot cells.

    Returns
    -------
    segments : DataFrame or GeoDataFrame
        :func:`~cami_atlas.hotspots.segments.segments_from_impact` of ``impact``, or
        :func:`~cami_atlas.hotspots.segments.rank_segments` of the cells.
    method : {"impact", "pressure"}

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString
    >>> infra = gpd.GeoDataFrame({"infra_type": ["road", "fence"]},
    ...     geometry=[LineString([(0, 0), (1, 0)]), LineString([(0, 1), (1, 1)])],
    ...     crs="ESRI:102025")
    >>> t = pd.DataFrame({"rank": [2, 1]})
    >>> seg, method = segment_ranking(None, infra, None, [], impact=t)
    >>> method, seg["infra_type"].tolist()
    ('impact', ['fence', 'road'])
    """
    if impact is not None:
        return segments_from_impact(impact, infra, top=top_n), "impact"
    return rank_segments(cells, infra, ranges, species_columns=list(species), weights=weights,
                         corridors=corridors, top=top_n), "pressure"


def analysis_notes(*, unrated: Sequence[str], weights: pd.DataFrame, has_borders: bool,
                   method: str, has_tracks: bool, has_corridors: bool) -> list[str]:
    """The limitations and choices of a run that the report states, in report order.

    Examples
    --------
    >>> notes = analysis_notes(unrated=["Panthera_uncia"], weights=score_weights(),
    ...     has_borders=True, method="impact", has_tracks=True, has_corridors=True)
    >>> len(notes), notes[0][-15:]
    (1, 'Panthera_uncia.')
    """
    notes: list[str] = []
    if unrated:
        notes.append(
            f"Not rated by the barrier matrix, so all infrastructure in their range is "
            f"'unknown' (in the score {_unknown_weight(weights)}): {', '.join(unrated)}.")
    if not has_borders:
        notes.append("The atlas has no border or country layer: no transboundary hotspots.")
    if method == "pressure":
        notes.append(
            "No connectivity barrier-impact table was computed for this run (it needs "
            "habitat cores and a resistance surface, which this atlas does not hold), so "
            "segments are ranked by their km-weighted barrier pressure inside hot cells: "
            "sum over hot cells of cell score x class weight x km inside each species' "
            "range. This ranks where segments add to hotspots, not the connectivity they "
            "cost.")
    if not has_tracks:
        notes.append("No GPS tracks in the atlas: track-crossing events are not part of "
                     "the score.")
    if not has_corridors:
        notes.append("No corridors for these species in the atlas: cells are scored on "
                     "ranges only, without corridor crossings.")
    return notes


def analysis_parameters(*, atlas: str, species: Sequence[str], cell_km: float, shape: str,
                        crs: Any, permutations: int, seed: int, alpha: float,
                        border_distance_km: float, weights: Any, matrix: Any, method: str,
                        top_n: int) -> dict[str, Any]:
    """Every option of a run, as the report's parameter table shows it.

    Examples
    --------
    >>> p = analysis_parameters(atlas="a.gpkg", species=["Saiga_tatarica"], cell_km=25,
    ...     shape="hexagon", crs="ESRI:102025", permutations=0, seed=1, alpha=0.05,
    ...     border_distance_km=50, weights=None, matrix=None, method="pressure", top_n=10)
    >>> p["cell_area_km2"], p["gi_p_value"], p["weights"]
    (625, 'analytical normal p-value (permutations=0)', 'shipped hotspot_weights.csv')
    """
    return {
        "atlas": atlas,
        "species": ", ".join(species),
        "cell_km": cell_km, "cell_area_km2": cell_km ** 2, "cell_shape": shape,
        "analysis_crs": CRS.from_user_input(crs).to_string(),
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


# -- the analysis ----------------------------------------------------------------------------
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

    The steps: read the layers and keep the species asked for
    (:func:`read_hotspot_layers`, :func:`select_hotspot_species`,
    :func:`read_infrastructure`) → classify each segment per species where it crosses
    the species' habitat (:func:`classify_segments`) → km in ranges and range
    fragmentation (:func:`range_metrics`) → corridor crossings → the hotspot grid
    (:func:`cami_atlas.hotspots.hotspot_grid`: equal-area cells, km and class metrics per
    cell, score, Gi*, border flags) → transboundary hot cells (:func:`transboundary_of`)
    → the top segments (:func:`segment_ranking`) → notes and parameters
    (:func:`analysis_notes`, :func:`analysis_parameters`). (Over 120 lines only by this
    docstring: the body is a composition of about 55 lines, one call per step.)

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
    >>> from cami_atlas.hotspots import HOT_CLASSES
    >>> res = hotspot_analysis(Atlas.default(), species=["saiga"], cell_km=150,
    ...                        permutations=99)
    >>> res.species, res.segment_method
    (['Saiga_tatarica'], 'pressure')
    >>> bool(res.cells["gi_class"].isin(HOT_CLASSES).any())
    True
    """
    def step(text: str) -> None:
        if progress is not None:
            progress(text)

    m = load_matrix(matrix) if isinstance(matrix, str | os.PathLike) else matrix
    m = m if m is not None else load_matrix()
    weights_table = score_weights(weights)
    crs = atlas.analysis_crs
    step("reading layers")
    chosen, layers = select_hotspot_species(read_hotspot_layers(atlas), species, matrix=m)
    ranges, corridors = layers.ranges, layers.corridors
    check_lattice_memory(tuple(ranges.geometry.to_crs(crs).total_bounds), cell_km=cell_km,
                         shape=shape, crs=crs, max_memory=max_memory)  # fail before the work
    infra = read_infrastructure(atlas, crs)
    step("classifying infrastructure")
    infra, habitat = classify_segments(infra, ranges, chosen, corridors=corridors, matrix=m,
                                       crs=crs)
    step("km of infrastructure in ranges")
    lengths, fragmentation = range_metrics(infra, ranges, chosen, corridors=corridors,
                                           countries=layers.countries, matrix=m, crs=crs,
                                           progress=progress)
    crossings = None
    if corridors is not None:
        step("corridor crossings")
        crossings = corridor_crossings(infra, corridors, matrix=m).points
    step("hotspot grid and Gi*")
    border_layer = layers.borders if layers.borders is not None else layers.countries
    cells = hotspot_grid(
        infra, gpd.GeoDataFrame({"species": habitat.index.to_numpy()},
                                geometry=habitat.to_numpy(), crs=crs),
        cell_km=cell_km, shape=shape, crs=crs, corridors=corridors, crossings=crossings,
        weights=weights, borders=border_layer, border_distance_km=border_distance_km,
        permutations=permutations, seed=seed, alpha=alpha, species_columns=chosen,
        max_memory=max_memory)
    step("ranking segments")
    segments, method = segment_ranking(cells, infra, ranges, chosen, impact=impact,
                                       weights=weights, corridors=corridors, top_n=top_n)
    msp = matrix_species(chosen, matrix=m)
    layer_table = atlas.list_layers()
    return HotspotAnalysis(
        atlas_name=atlas.name, atlas_path=getattr(atlas, "path", None), species=chosen,
        matrix_species=msp, cells=cells, infra=infra, ranges=ranges, lengths=lengths,
        fragmentation=fragmentation, segments=segments, segment_method=method,
        transboundary=transboundary_of(cells, border_layer), countries=layers.countries,
        borders=layers.borders,
        sources=layer_table[layer_table["kind"].isin(USED_KINDS)].reset_index(drop=True),
        parameters=analysis_parameters(
            atlas=str(getattr(atlas, "path", None) or atlas.name), species=chosen,
            cell_km=cell_km, shape=shape, crs=crs, permutations=permutations, seed=seed,
            alpha=alpha, border_distance_km=border_distance_km, weights=weights,
            matrix=matrix, method=method, top_n=top_n),
        notes=analysis_notes(
            unrated=[s for s in chosen if msp[s] is None], weights=weights_table,
            has_borders=border_layer is not None, method=method,
            has_tracks=bool(atlas.layer_names("tracks")), has_corridors=corridors is not None),
        corridors=corridors, weights=weights_table)
