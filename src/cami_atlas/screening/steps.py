"""The named steps of :func:`cami_atlas.screening.screen_route`, in the order it runs them.

1. **Prepare the route**: :func:`prepare_route` (checked, in the analysis CRS and in
   lon/lat), :func:`local_projection` and :func:`route_buffers` (buffers built in an
   azimuthal equidistant projection centred on the route).
2. **Atlas layers and species**: :func:`read_screening_layers` (ranges, corridors,
   protected areas, countries; one polygon per species) and :func:`select_species`.
3. **Segments by species and country**: :func:`route_segments` (the route split at every
   zone boundary), :func:`segment_species` (one row per segment and species, with the
   route's barrier class for it), :func:`annotate_segments` and :func:`route_lengths`.
4. **Crossings and exposure**: :func:`corridor_crossing_points`,
   :func:`corridor_traverses`, :func:`range_shares` (share of each range within each
   buffer) and :func:`protected_area_table`.
5. **Connectivity change**: :func:`existing_barriers` (the atlas infrastructure classified
   per species, near each species' range ∪ corridor from :func:`species_areas`),
   :func:`fragmentation_change` (effective mesh size before/after) and
   :func:`connectivity_change` (circuit model, crossing candidates).
6. **Advice**: :func:`crossing_candidates`, :func:`spacing_check`,
   :func:`species_summary` and :func:`screening_flags`.
7. **Export**: :func:`wgs84_outputs` (route, segments, candidates and crossing points in
   EPSG:4326).

Every step takes and returns frames (GeoDataFrames in the analysis CRS of the atlas
unless said otherwise); lengths in km (geodesic, WGS84), areas in km² (equal-area CRS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from ..atlas import Atlas
from ..barriers import classify_barriers_many, corridor_crossings, matrix_species, species_polygons
from ..barriers.fragmentation import effective_mesh_size
from ..errors import UnknownSpeciesError
from ..measure import GEOD, area_km2, geodesic_length_km, to_crs
from ..schema import canonical_species_name
from .attributes import FENCE_COLUMNS, SEVERITY
from .connect import route_connectivity
from .reference import IUCN_CATEGORIES, PS6_CRITERIA, cms_appendix_of, max_spacing_of
from .route import check_route, project, split_route

__all__ = [
    "MESH_CHANGE_TOLERANCE",
    "ScreeningLayers",
    "annotate_segments",
    "connectivity_change",
    "corridor_crossing_points",
    "corridor_traverses",
    "crossing_candidates",
    "existing_barriers",
    "fragmentation_change",
    "local_projection",
    "mesh_change_pct",
    "prepare_route",
    "protected_area_table",
    "range_shares",
    "read_screening_layers",
    "route_buffers",
    "route_lengths",
    "route_segments",
    "screening_flags",
    "segment_species",
    "select_species",
    "spacing_check",
    "species_areas",
    "species_summary",
    "wgs84_outputs",
]

#: Relative changes of the effective mesh size smaller than this are reported as 0: the
#: areas before and after are sums of the same fragments in another order, equal only up to
#: floating-point rounding (~1e-12 relative) when the route splits nothing.
MESH_CHANGE_TOLERANCE = 1e-9

_FLAG_COLUMNS = ["species", "code", "level", "ps6_criterion", "message"]
_CUTTING = ("partial barrier", "complete barrier")
_CANDIDATE_COLUMNS = ["candidate_id", "scenario", "species", "source", "rank", "current_a",
                      "restored_pct", "segment_id", "chainage_km", "barrier_class"]
_SEGMENT_COLUMNS = ["segment_id", "scenario", "route_id", "part", "from_km", "to_km",
                    "length_km", "infra_type", "country", "country_name", "species_in_range",
                    "species_in_corridor", "protected_areas", "barrier_classes",
                    "most_severe_class", "complete_barrier_for", "partial_barrier_for"]


def mesh_change_pct(before_km2: float, after_km2: float) -> float:
    """Change of the effective mesh size in %, 0 when it is unchanged up to rounding.

    ``100 * (after / before - 1)``; a relative change below :data:`MESH_CHANGE_TOLERANCE`
    (1e-9, i.e. 1e-7 %) is reported as exactly 0.0, since an unchanged mesh recomputed
    from the same fragments differs only by floating-point rounding. NaN when ``before``
    is not positive.

    Examples
    --------
    >>> mesh_change_pct(5000.0, 5000.0 * (1 - 2e-12))
    0.0
    >>> mesh_change_pct(5000.0, 2500.0)
    -50.0
    """
    before, after = float(before_km2), float(after_km2)
    if not before > 0 or not np.isfinite(after):
        return float("nan")
    change = after / before - 1.0
    return 0.0 if abs(change) < MESH_CHANGE_TOLERANCE else 100.0 * change


# -- small helpers ---------------------------------------------------------------------------
def _read(atlas: Atlas, kind: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    names = atlas.layer_names(kind)
    return atlas.read_kind(kind, crs="EPSG:4326"), names


def _empty_polys(crs: CRS) -> gpd.GeoSeries:
    return gpd.GeoSeries([], index=pd.Index([], name="species"), crs=crs)


def _polygons_only(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if len(gdf) == 0:
        return gdf
    dims = shapely.get_dimensions(gdf.geometry.values)
    return gdf.loc[dims == 2]


def _aeqd(route_ll: gpd.GeoSeries) -> str:
    """PROJ string of an azimuthal equidistant projection centred on the route."""
    c = shapely.centroid(shapely.union_all(route_ll.values))
    return (f"+proj=aeqd +lat_0={c.y:.6f} +lon_0={c.x:.6f} +datum=WGS84 +units=m "
            "+no_defs +type=crs")


def _aeqd_error_pct(route_local: gpd.GeoSeries, buffer_m: float) -> float:
    """Largest scale error (%) of the local AEQD projection across the buffers.

    The azimuthal equidistant projection is exact along lines through its centre; at
    angular distance ``c`` from it the scale across those lines is ``c / sin(c)``.
    """
    coords = shapely.get_coordinates(route_local.values)
    r = float(np.hypot(coords[:, 0], coords[:, 1]).max()) + buffer_m
    c = r / 6_371_008.8
    return 100.0 * (c / math.sin(c) - 1.0) if c > 0 else 0.0


def _runs(flags: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Start positions of runs of True within each group (in order)."""
    start = flags.copy()
    start[1:] &= ~(flags[:-1] & (groups[1:] == groups[:-1]))
    return np.flatnonzero(start)


def _run_ends(flags: np.ndarray, groups: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of the runs of True within each group (in order)."""
    runs = []
    for st in _runs(flags, groups):
        en = st
        while en + 1 < len(flags) and flags[en + 1] and groups[en + 1] == groups[st]:
            en += 1
        runs.append((int(st), int(en)))
    return runs


def _split_keys(series: pd.Series) -> pd.DataFrame:
    """(row, key) pairs of a ';'-joined column."""
    s = series.astype(str)
    exploded = s.str.split(";").explode()
    exploded = exploded[exploded.astype(str) != ""]
    return pd.DataFrame({"row": exploded.index.to_numpy(), "key": exploded.to_numpy()})


def _segment_groups(seg: pd.DataFrame) -> np.ndarray:
    """``route_id/part`` of each segment: segments of one group are consecutive pieces."""
    return (seg["route_id"].astype(str) + "/" + seg["part"].astype(str)).to_numpy()


def _pa_keys(pas: pd.DataFrame) -> list[str]:
    """Protected-area keys: the name, with ``[i]`` appended where names repeat."""
    base_names = pas["name"].fillna("unnamed").astype(str)
    dup = base_names.duplicated(keep=False)
    return [f"{n} [{i}]" if d else n for i, (n, d) in
            enumerate(zip(base_names, dup, strict=True))]


# -- 1. the route ----------------------------------------------------------------------------
def prepare_route(
    route: gpd.GeoDataFrame | gpd.GeoSeries, atlas: Atlas,
) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries, gpd.GeoSeries, list[str]]:
    """Check the route and bring it into the atlas' analysis CRS and lon/lat.

    Returns
    -------
    route_in : GeoDataFrame
        The checked line features in their own CRS (:func:`cami_atlas.screening.check_route`).
    route_a : GeoSeries
        The course densified in its own CRS and projected to ``atlas.analysis_crs``.
    route_ll : GeoSeries
        The same course in EPSG:4326.
    notes : list of str
        A note when part of the route lies outside the atlas region.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> from cami_atlas.atlas import Atlas
    >>> atlas = Atlas("synthetic", region=box(60, 40, 70, 50))
    >>> line = gpd.GeoDataFrame(geometry=[LineString([(65, 41), (65, 52)])], crs="EPSG:4326")
    >>> route_in, route_a, route_ll, notes = prepare_route(line, atlas)
    >>> route_a.crs == atlas.analysis_crs, len(notes)
    (True, 1)
    """
    route_in = check_route(route, atlas.region)
    route_a = project(route_in, atlas.analysis_crs)
    # the densified course (the line as drawn in its own CRS), in lon/lat
    route_ll = route_a.to_crs("EPSG:4326")
    notes: list[str] = []
    if not shapely.covers(atlas.region, shapely.union_all(route_ll.values)):
        notes.append("Part of the route lies outside the atlas region; only the part inside "
                     "is covered by the atlas layers.")
    return route_in, route_a, route_ll, notes


def local_projection(
    route_in: gpd.GeoDataFrame, route_ll: gpd.GeoSeries,
) -> tuple[CRS, gpd.GeoSeries]:
    """The azimuthal equidistant CRS centred on the route, and the route in it.

    Distances from the centre are exact in that projection; the buffers and the
    distances to protected areas are measured there.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> line = gpd.GeoDataFrame(geometry=[LineString([(65, 41), (65, 43)])], crs="EPSG:4326")
    >>> local, route_local = local_projection(line, line.geometry)
    >>> local.srs
    '+proj=aeqd +lat_0=42.000000 +lon_0=65.000000 +datum=WGS84 +units=m +no_defs +type=crs'
    >>> ys = route_local.geometry.iloc[0].xy[1]  # metres north of the centre (densified)
    >>> round(ys[0] / 1000, 1), round(ys[-1] / 1000, 1)
    (-111.1, 111.1)
    """
    local = CRS.from_user_input(_aeqd(route_ll))
    return local, project(route_in, local)


def route_buffers(
    route_local: gpd.GeoSeries, buffers_km: Sequence[float], crs: CRS,
) -> tuple[gpd.GeoSeries, float]:
    """Buffers of the route at each distance, built in its local AEQD projection.

    Parameters
    ----------
    route_local : GeoSeries
        The route in :func:`local_projection`'s CRS.
    buffers_km : sequence of float
        Distances in km, ascending.
    crs : CRS
        CRS of the returned buffers (the analysis CRS).

    Returns
    -------
    buffers : GeoSeries
        One polygon per distance (in order), in ``crs``.
    scale_error_pct : float
        Largest scale error of the local projection across the largest buffer, in %.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> line = gpd.GeoSeries([LineString([(0, 0), (10_000, 0)])], crs="EPSG:3857")
    >>> b, err = route_buffers(line, (1, 2), line.crs)
    >>> [round(a / 1e6, 1) for a in b.area]  # 2 x 10 km x d + pi d^2 (16 segments)
    [23.1, 52.5]
    """
    big = max(buffers_km) * 1000.0
    buffer_error = _aeqd_error_pct(route_local, big)
    buf_local = gpd.GeoSeries(shapely.buffer(shapely.union_all(route_local.values),
                                             np.array(buffers_km) * 1000.0, quad_segs=16),
                              crs=route_local.crs)
    return project(buf_local, crs), buffer_error


# -- 2. atlas layers and species -------------------------------------------------------------
@dataclass(frozen=True)
class ScreeningLayers:
    """The atlas layers a screening reads (:func:`read_screening_layers`).

    Attributes
    ----------
    ranges : GeoDataFrame
        Species ranges in the analysis CRS.
    corridors, protected_areas, countries : GeoDataFrame
        In EPSG:4326 (empty when the atlas has none).
    range_polys, corridor_polys : GeoSeries
        One (multi)polygon per species (index: canonical species name), analysis CRS;
        corridor polygons only (migration-route lines are left out).
    layer_names : list of str
        Names of the layers read, in reading order.
    """

    ranges: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame
    protected_areas: gpd.GeoDataFrame
    countries: gpd.GeoDataFrame
    range_polys: gpd.GeoSeries
    corridor_polys: gpd.GeoSeries
    layer_names: list[str]

    @property
    def species(self) -> list[str]:
        """Species with a range or corridor polygon, sorted."""
        return sorted(set(self.range_polys.index) | set(self.corridor_polys.index))


def read_screening_layers(atlas: Atlas) -> ScreeningLayers:
    """Read the ranges, corridors, protected areas and countries of an atlas.

    Ranges come in the analysis CRS straight from the stored one (one reprojection, as in
    every other output, so a range has the same area here as in ``cami-atlas run``); the
    other layers in EPSG:4326.

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> layers = read_screening_layers(Atlas.default())
    >>> "Saiga_tatarica" in layers.species
    True
    """
    acrs = atlas.analysis_crs
    layers_used: list[str] = []
    ranges, names = atlas.read_kind("species_range"), atlas.layer_names("species_range")
    layers_used += names
    corridors, names = _read(atlas, "corridor")
    layers_used += names
    pas, names = _read(atlas, "protected_area")
    layers_used += names
    countries, names = _read(atlas, "country")
    layers_used += names
    range_polys = species_polygons(ranges, crs=acrs) if len(ranges) else _empty_polys(acrs)
    range_polys = range_polys[range_polys.notna()]
    corr_poly_frame = _polygons_only(corridors)
    corr_polys = (species_polygons(corr_poly_frame, crs=acrs) if len(corr_poly_frame)
                  else _empty_polys(acrs))
    corr_polys = corr_polys[corr_polys.notna()]
    return ScreeningLayers(ranges, corridors, pas, countries, range_polys, corr_polys,
                           layers_used)


def select_species(
    layers: ScreeningLayers,
    species: str | Sequence[str] | None,
    buffer: object,
    matrix: pd.DataFrame,
) -> list[str]:
    """The species to report.

    Default (``species`` None): every species whose range or corridor intersects
    ``buffer`` (the largest buffer polygon, analysis CRS). Given names are matched to the
    atlas names directly, or through the barrier matrix's synonyms (``"saiga"``), else
    :class:`UnknownSpeciesError` listing the species present.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from cami_atlas.barriers.matrix import _as_matrix
    >>> polys = gpd.GeoSeries([box(0, 0, 1, 1), box(5, 5, 6, 6)],
    ...                       index=["Saiga_tatarica", "Equus_hemionus"])
    >>> none = gpd.GeoSeries([], dtype="geometry")
    >>> layers = ScreeningLayers(None, None, None, None, polys, none, [])
    >>> select_species(layers, None, box(0.5, 0.5, 2, 2), _as_matrix(None))
    ['Saiga_tatarica']
    >>> select_species(layers, "khulan", box(0.5, 0.5, 2, 2), _as_matrix(None))
    ['Equus_hemionus']
    """
    shapely.prepare(buffer)
    near = {s for s, g in list(layers.range_polys.items()) + list(layers.corridor_polys.items())
            if g is not None and shapely.intersects(buffer, g)}
    available = layers.species
    if species is None:
        return [s for s in available if s in near]
    wanted = [species] if isinstance(species, str) else list(species)
    resolved_avail = matrix_species(available, matrix=matrix) if available else {}
    out: list[str] = []
    for w in wanted:
        canon = canonical_species_name(w)
        if canon in available:
            out.append(canon)
            continue
        target = matrix_species([str(w)], matrix=matrix).get(str(w))
        same = [a for a in available if target is not None and resolved_avail.get(a) == target]
        if not same:
            raise UnknownSpeciesError(
                f"species {w!r} has no range or corridor in the atlas; species present: "
                f"{', '.join(available) or 'none'}. Pass one of these names or a synonym "
                "(e.g. 'saiga', 'khulan').")
        out.extend(same)
    return list(dict.fromkeys(out))


# -- 3. segments by species and country ------------------------------------------------------
def route_segments(
    route_a: gpd.GeoSeries,
    layers: ScreeningLayers,
    chosen: Sequence[str],
    *,
    name: str,
    infra_type: str,
) -> gpd.GeoDataFrame:
    """Split the route where it enters or leaves a range, corridor, protected area or country.

    Zones: the ranges and corridor polygons of the ``chosen`` species, every protected
    area (key: its name, ``name [i]`` where names repeat) and the countries (dissolved
    by ``iso3``).

    Returns
    -------
    GeoDataFrame
        One row per segment (analysis CRS): ``segment_id`` (1, 2, ...), ``scenario``,
        ``route_id``, ``part``, ``from_km``, ``to_km``, ``length_km``,
        ``species_in_range``, ``species_in_corridor``, ``protected_areas`` (``;``-joined),
        ``country`` (iso3, ``none`` outside every country), ``country_name`` and
        ``infra_type``.

    Examples
    --------
    A line across two synthetic countries is cut at the border (lat 45):

    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> from cami_atlas.atlas import Atlas
    >>> atlas = Atlas("synthetic", region=box(60, 40, 70, 50))
    >>> atlas.add_layer("countries", gpd.GeoDataFrame(
    ...     {"iso3": ["AAA", "BBB"], "name": ["Aland", "Bland"]},
    ...     geometry=[box(60, 40, 70, 45), box(60, 45, 70, 50)], crs="EPSG:4326"),
    ...     "country", source="synthetic", licence="CC0-1.0")
    >>> line = gpd.GeoDataFrame(geometry=[LineString([(65, 44), (65, 46)])], crs="EPSG:4326")
    >>> _, route_a, _, _ = prepare_route(line, atlas)
    >>> seg = route_segments(route_a, read_screening_layers(atlas), [], name="r",
    ...                      infra_type="road")
    >>> seg[["segment_id", "country", "country_name"]].values.tolist()
    [[1, 'AAA', 'Aland'], [2, 'BBB', 'Bland']]
    """
    acrs = route_a.crs
    range_polys, corr_polys = layers.range_polys, layers.corridor_polys
    pas, countries = layers.protected_areas, layers.countries
    zone_rows: list[tuple[str, str, object]] = []
    zone_rows += [("range", s, range_polys[s]) for s in chosen if s in range_polys.index]
    zone_rows += [("corridor", s, corr_polys[s]) for s in chosen if s in corr_polys.index]
    if len(pas):
        zone_rows += [("protected_area", k, g) for k, g in
                      zip(_pa_keys(pas), project(pas, acrs).to_numpy(), strict=True)]
    if len(countries):
        c_a = gpd.GeoDataFrame({"iso3": countries["iso3"].astype(str).to_numpy()},
                               geometry=project(countries, acrs).to_numpy(), crs=acrs)
        c_a = c_a.dissolve(by="iso3").reset_index()
        zone_rows += [("country", k, g) for k, g in
                      zip(c_a["iso3"], c_a.geometry.values, strict=True)]
        country_names = dict(zip(countries["iso3"].astype(str), countries["name"].astype(str),
                                 strict=False))
    else:
        country_names = {}
    zones = gpd.GeoDataFrame({"kind": [z[0] for z in zone_rows],
                              "key": [z[1] for z in zone_rows]},
                             geometry=[z[2] for z in zone_rows], crs=acrs)
    seg = split_route(route_a, zones)
    for col in ("range", "corridor", "protected_area", "country"):
        if col not in seg.columns:
            seg[col] = ""
    seg = seg.rename(columns={"range": "species_in_range", "corridor": "species_in_corridor",
                              "protected_area": "protected_areas"})
    seg["country"] = seg["country"].replace("", "none")
    seg.insert(0, "segment_id", np.arange(1, len(seg) + 1))
    seg.insert(1, "scenario", name)
    seg["country_name"] = seg["country"].map(country_names).astype(object).fillna("")
    seg["infra_type"] = infra_type
    return seg


def segment_species(seg: pd.DataFrame, classes: pd.DataFrame) -> pd.DataFrame:
    """One row per segment and species inside whose range or corridor it lies.

    Parameters
    ----------
    seg : DataFrame
        :func:`route_segments` output.
    classes : DataFrame
        The route's barrier class per species (index: species; column ``barrier_class``,
        :func:`cami_atlas.screening.route_barrier_classes`); species not in it are
        ``unknown``.

    Returns
    -------
    DataFrame
        ``segment_id``, ``species``, ``in_range``, ``in_corridor``, ``country``,
        ``length_km``, ``barrier_class``; sorted by segment then species.

    Examples
    --------
    >>> import pandas as pd
    >>> seg = pd.DataFrame({"segment_id": [1, 2], "country": ["AAA", "BBB"],
    ...                     "length_km": [3.0, 4.0], "species_in_range": ["a;b", "a"],
    ...                     "species_in_corridor": ["", "a"]})
    >>> classes = pd.DataFrame({"barrier_class": ["complete barrier"]}, index=["a"])
    >>> segment_species(seg, classes)[["segment_id", "species", "in_corridor",
    ...                                "barrier_class"]]
       segment_id species  in_corridor     barrier_class
    0           1       a        False  complete barrier
    1           1       b        False           unknown
    2           2       a         True  complete barrier
    """
    pairs = []
    for zone, col in (("range", "species_in_range"), ("corridor", "species_in_corridor")):
        p = _split_keys(seg[col])
        p["zone"] = zone
        pairs.append(p)
    pp = pd.concat(pairs, ignore_index=True)
    if len(pp):
        long = (pp.assign(flag=True).pivot_table(index=["row", "key"], columns="zone",
                                                 values="flag", aggfunc="any", fill_value=False)
                .reset_index())
    else:
        long = pd.DataFrame(columns=["row", "key", "range", "corridor"])
    for zone in ("range", "corridor"):
        if zone not in long.columns:
            long[zone] = False
    long = long.sort_values(["row", "key"], kind="stable").reset_index(drop=True)
    row = long["row"].to_numpy(dtype=int)
    segsp = pd.DataFrame({
        "segment_id": seg["segment_id"].to_numpy()[row],
        "species": long["key"].astype(str).to_numpy(),
        "in_range": long["range"].astype(bool).to_numpy(),
        "in_corridor": long["corridor"].astype(bool).to_numpy(),
        "country": seg["country"].to_numpy()[row],
        "length_km": seg["length_km"].to_numpy()[row],
    })
    segsp["barrier_class"] = segsp["species"].map(classes["barrier_class"]).fillna("unknown")
    return segsp


def annotate_segments(seg: pd.DataFrame, segsp: pd.DataFrame) -> pd.DataFrame:
    """Add the barrier classes of each segment for the species whose zones it lies in.

    Returns
    -------
    DataFrame
        ``seg`` plus ``barrier_classes`` (``species: class; ...``), ``most_severe_class``
        (``not a barrier < unknown < partial < complete``), ``complete_barrier_for`` and
        ``partial_barrier_for`` (``;``-joined species); empty strings where none.

    Examples
    --------
    >>> import pandas as pd
    >>> seg = pd.DataFrame({"segment_id": [1, 2]})
    >>> segsp = pd.DataFrame({"segment_id": [1, 1], "species": ["a", "b"],
    ...                       "barrier_class": ["partial barrier", "complete barrier"]})
    >>> annotate_segments(seg, segsp).iloc[0, 1:].tolist()
    ['a: partial barrier; b: complete barrier', 'complete barrier', 'b', 'a']
    >>> annotate_segments(seg, segsp).iloc[1, 1:].tolist()
    ['', '', '', '']
    """
    seg = seg.copy()
    text = (segsp["species"] + ": " + segsp["barrier_class"]).groupby(
        segsp["segment_id"]).agg("; ".join)
    seg["barrier_classes"] = seg["segment_id"].map(text).astype(object).fillna("")
    sev = segsp.assign(rank=segsp["barrier_class"].map(SEVERITY)).groupby("segment_id")["rank"]
    worst = sev.max().map({v: k for k, v in SEVERITY.items()})
    seg["most_severe_class"] = seg["segment_id"].map(worst).astype(object).fillna("")
    for cls, col in (("complete barrier", "complete_barrier_for"),
                     ("partial barrier", "partial_barrier_for")):
        sel = segsp[segsp["barrier_class"] == cls]
        joined = sel.groupby("segment_id")["species"].agg(";".join)
        seg[col] = seg["segment_id"].map(joined).astype(object).where(
            seg["segment_id"].isin(joined.index), "")
    return seg


def route_lengths(segsp: pd.DataFrame) -> pd.DataFrame:
    """km of route by species × zone × barrier class × country.

    Zones: ``range``, ``corridor`` and ``range or corridor`` (a segment in both counts
    once there).

    Examples
    --------
    >>> import pandas as pd
    >>> segsp = pd.DataFrame({"species": ["a", "a"], "in_range": [True, True],
    ...                       "in_corridor": [False, True], "barrier_class": "unknown",
    ...                       "country": ["AAA", "AAA"], "length_km": [3.0, 4.0]})
    >>> route_lengths(segsp)[["zone", "length_km"]].values.tolist()
    [['range', 7.0], ['corridor', 4.0], ['range or corridor', 7.0]]
    """
    frames = []
    for zone, mask in (("range", segsp["in_range"]), ("corridor", segsp["in_corridor"]),
                       ("range or corridor", segsp["in_range"] | segsp["in_corridor"])):
        sub = segsp[mask]
        if len(sub):
            frames.append(sub.groupby(["species", "barrier_class", "country"], as_index=False)
                          ["length_km"].sum().assign(zone=zone))
    lengths = (pd.concat(frames, ignore_index=True) if frames else
               pd.DataFrame(columns=["species", "barrier_class", "country", "length_km", "zone"]))
    return lengths[["species", "zone", "barrier_class", "country", "length_km"]]


# -- 4. crossings and exposure ---------------------------------------------------------------
def corridor_crossing_points(
    route_a: gpd.GeoSeries,
    corridors: gpd.GeoDataFrame,
    chosen: Sequence[str],
    classes: pd.DataFrame,
    *,
    infra_type: str,
    attributes: Mapping[str, object],
    matrix: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Points where the route crosses the corridor boundaries and migration routes.

    The route is treated as a line of ``infra_type`` with ``attributes`` (the fence
    attributes only for a fence) and passed to
    :func:`cami_atlas.barriers.corridor_crossings` with the corridors of the ``chosen``
    species.

    Returns
    -------
    GeoDataFrame
        ``species`` (canonical name), ``crossing`` (``route`` for a migration-route line,
        else the corridor boundary), ``barrier_class`` (the route's class for the
        species), other columns of ``corridor_crossings``; analysis CRS.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString
    >>> from cami_atlas.barriers.matrix import _as_matrix
    >>> route = gpd.GeoSeries([LineString([(0, -10), (0, 10)])], crs="EPSG:3857")
    >>> corr = gpd.GeoDataFrame({"species": ["Equus_hemionus"]},
    ...                         geometry=[LineString([(-5, 0), (5, 0)])], crs="EPSG:3857")
    >>> classes = pd.DataFrame({"barrier_class": ["unknown"]}, index=["Equus_hemionus"])
    >>> pts = corridor_crossing_points(route, corr, ["Equus_hemionus"], classes,
    ...                                infra_type="road", attributes={},
    ...                                matrix=_as_matrix(None))
    >>> pts[["species", "crossing"]].values.tolist(), pts.geometry.iloc[0].wkt
    ([['Equus_hemionus', 'route']], 'POINT (0 0)')
    """
    acrs = route_a.crs
    empty = gpd.GeoDataFrame({"species": [], "crossing": [], "barrier_class": []},
                             geometry=[], crs=acrs)
    if not len(corridors):
        return empty
    corr_sel = corridors[corridors["species"].map(canonical_species_name).isin(chosen)]
    if not len(corr_sel):
        return empty
    line_attrs = {k: v for k, v in attributes.items()
                  if k != "fenced" and (infra_type == "fence" or k not in FENCE_COLUMNS)}
    n_r = len(route_a)
    infra_like = gpd.GeoDataFrame(
        {"infra_type": [infra_type] * n_r, **{k: [v] * n_r for k, v in line_attrs.items()}},
        geometry=route_a.values, crs=acrs)
    cc = corridor_crossings(infra_like, corr_sel, matrix=matrix).points
    cc["species"] = cc["species"].map(canonical_species_name)
    cc["barrier_class"] = cc["species"].map(classes["barrier_class"]).fillna("unknown")
    return cc


def corridor_traverses(seg: pd.DataFrame, chosen: Sequence[str]) -> pd.DataFrame:
    """The traverses of each species' corridor polygons: maximal runs of segments inside.

    Returns
    -------
    DataFrame
        One row per traverse: ``species``, ``first`` and ``last`` (row positions of the
        first and last segment of the run in ``seg``); runs never span two route
        features or parts.

    Examples
    --------
    >>> import pandas as pd
    >>> seg = pd.DataFrame({"route_id": [0, 0, 0, 0], "part": 0,
    ...                     "species_in_corridor": ["a", "a;b", "", "a"]})
    >>> corridor_traverses(seg, ["a", "b", "c"]).values.tolist()
    [['a', 0, 1], ['a', 3, 3], ['b', 1, 1]]
    """
    groups = _segment_groups(seg)
    rows = []
    for sp in chosen:
        inside = seg["species_in_corridor"].str.split(";").map(lambda ks, s=sp: s in ks)
        rows += [(sp, st, en) for st, en in _run_ends(inside.to_numpy(dtype=bool), groups)]
    return pd.DataFrame(rows, columns=["species", "first", "last"]).astype(
        {"first": "int64", "last": "int64"})


def range_shares(
    range_polys: gpd.GeoSeries,
    chosen: Sequence[str],
    buffers_km: Sequence[float],
    buffers: gpd.GeoSeries,
) -> pd.DataFrame:
    """Share of each chosen species' range within each buffer of the route.

    Returns
    -------
    DataFrame
        ``species``, ``buffer_km``, ``range_area_km2``, ``area_within_km2``,
        ``share_within_pct`` (areas in km² in the equal-area CRS of
        :func:`cami_atlas.measure.area_km2`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> polys = gpd.GeoSeries([box(0, 0, 10_000, 10_000)], index=["a"], crs="ESRI:102025")
    >>> bufs = gpd.GeoSeries([box(-1, -1, 2_500, 10_001)], crs="ESRI:102025")
    >>> range_shares(polys, ["a"], (1,), bufs)[["area_within_km2", "share_within_pct"]]
       area_within_km2  share_within_pct
    0             25.0              25.0
    """
    buf_rows = []
    if len(range_polys):
        acrs = range_polys.crs
        sel_polys = range_polys[[s for s in chosen if s in range_polys.index]]
        full_area = area_km2(gpd.GeoSeries(sel_polys.to_numpy(), crs=acrs)).to_numpy()
        for b, bg in zip(buffers_km, buffers.to_numpy(), strict=True):
            inter = shapely.intersection(sel_polys.to_numpy(), bg)
            a = area_km2(gpd.GeoSeries(inter, crs=acrs)).to_numpy()
            for s, fa, ai in zip(sel_polys.index, full_area, a, strict=True):
                buf_rows.append({"species": s, "buffer_km": b, "range_area_km2": fa,
                                 "area_within_km2": ai,
                                 "share_within_pct": 100.0 * ai / fa if fa > 0 else np.nan})
    return pd.DataFrame(buf_rows, columns=["species", "buffer_km", "range_area_km2",
                                           "area_within_km2", "share_within_pct"])


def protected_area_table(
    pas: gpd.GeoDataFrame,
    route_local: gpd.GeoSeries,
    seg: pd.DataFrame,
    max_distance_km: float,
) -> gpd.GeoDataFrame:
    """Protected areas crossed by the route or within ``max_distance_km`` of it.

    Distances: the shortest line between the route and each area in the route's local
    AEQD projection, measured geodesically (WGS84) between its ends; 0 when crossed.

    Parameters
    ----------
    pas : GeoDataFrame
        The protected areas (``name``, optional ``designation``, ``iucn_category``).
    route_local : GeoSeries
        The route in :func:`local_projection`'s CRS.
    seg : DataFrame
        :func:`route_segments` output (``protected_areas``, ``length_km``).
    max_distance_km : float
        Areas farther away are left out (the largest buffer).

    Returns
    -------
    GeoDataFrame
        ``name``, ``designation``, ``iucn_category``, ``crossed``,
        ``length_inside_km``, ``distance_km``, sorted by distance; EPSG:4326.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, box
    >>> pas = gpd.GeoDataFrame({"name": ["P", "Q"]},
    ...                        geometry=[box(0.5, 0, 1, 1), box(0, 3, 1, 4)], crs="EPSG:4326")
    >>> route = gpd.GeoSeries([LineString([(0, 0), (0, 2)])], crs="EPSG:4326")
    >>> local, route_local = local_projection(route.to_frame("geometry"), route)
    >>> seg = pd.DataFrame({"protected_areas": [""], "length_km": [221.1]})
    >>> t = protected_area_table(pas, route_local, seg, 150.0)
    >>> t["name"].tolist(), [round(d, 1) for d in t["distance_km"]]
    (['P', 'Q'], [55.7, 110.6])
    """
    pa_table = gpd.GeoDataFrame({"name": [], "designation": [], "iucn_category": [],
                                 "crossed": [], "length_inside_km": [], "distance_km": []},
                                geometry=[], crs="EPSG:4326")
    if not len(pas):
        return pa_table
    pa_keys = _pa_keys(pas)
    local = route_local.crs
    route_union_local = shapely.union_all(route_local.values)
    pa_local = project(pas, local).to_numpy()
    crossed = shapely.intersects(pa_local, route_union_local)
    nearest = shapely.shortest_line(route_union_local, pa_local)
    ends = shapely.get_coordinates(nearest).reshape(-1, 2, 2)
    to_ll = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    lon0, lat0 = to_ll.transform(ends[:, 0, 0], ends[:, 0, 1])
    lon1, lat1 = to_ll.transform(ends[:, 1, 0], ends[:, 1, 1])
    _, _, dist = GEOD.inv(lon0, lat0, lon1, lat1)
    dist_km = np.where(crossed, 0.0, np.asarray(dist) / 1000.0)
    pk = _split_keys(seg["protected_areas"])
    inside_km = (pk.assign(length_km=seg["length_km"].to_numpy()[pk["row"].to_numpy(int)])
                 .groupby("key")["length_km"].sum())
    keep = crossed | (dist_km <= max_distance_km)
    pa_table = gpd.GeoDataFrame({
        "name": pa_keys,
        "designation": pas.get("designation", pd.Series([None] * len(pas))).to_numpy(),
        "iucn_category": pas.get("iucn_category", pd.Series([None] * len(pas))).to_numpy(),
        "crossed": crossed,
        "length_inside_km": [float(inside_km.get(k, 0.0)) for k in pa_keys],
        "distance_km": dist_km,
    }, geometry=pas.geometry.to_numpy(), crs="EPSG:4326")
    return pa_table[keep].sort_values("distance_km", kind="stable").reset_index(drop=True)


# -- 5. connectivity change ------------------------------------------------------------------
def species_areas(
    layers: ScreeningLayers, species: Sequence[str],
) -> gpd.GeoSeries:
    """Range ∪ corridor polygon of each species (index: species), analysis CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> r = gpd.GeoSeries([box(0, 0, 2, 1)], index=["a"], crs="EPSG:3857")
    >>> c = gpd.GeoSeries([box(1, 0, 3, 1)], index=["a"], crs="EPSG:3857")
    >>> float(species_areas(ScreeningLayers(None, None, None, None, r, c, []), ["a"]).area["a"])
    3.0
    """
    polys = [shapely.union_all([g for g in (layers.range_polys.get(sp),
                                            layers.corridor_polys.get(sp)) if g is not None])
             for sp in species]
    return gpd.GeoSeries(polys, index=pd.Index(list(species)), crs=layers.range_polys.crs)


def existing_barriers(
    atlas: Atlas,
    areas: gpd.GeoSeries,
    chosen: Sequence[str],
    classes: pd.DataFrame,
    *,
    matrix: pd.DataFrame,
    read: bool,
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """The atlas infrastructure near each species' area, classified for that species.

    Parameters
    ----------
    atlas : Atlas
        Read for its ``infrastructure`` layers (only when ``read`` is true).
    areas : GeoSeries
        :func:`species_areas` of the species wanted (analysis CRS).
    chosen : sequence of str
        All reported species (the classes are computed for those the matrix rates).
    classes : DataFrame
        The route's classes (``matrix_species`` column: NaN where the matrix does not
        rate the species).
    matrix : DataFrame
        The barrier matrix.
    read : bool
        Whether any chosen species has a range or corridor (else nothing is read).

    Returns
    -------
    existing : dict of str -> GeoDataFrame
        Per species of ``areas``: the infrastructure lines intersecting its area, with
        ``barrier_class`` (``unknown`` for species the matrix does not rate).
    layer_names : list of str
        Infrastructure layers read.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> from cami_atlas.atlas import Atlas
    >>> areas = gpd.GeoSeries([box(0, 0, 1, 1)], index=["a"], crs="EPSG:3857")
    >>> ex, names = existing_barriers(Atlas("empty"), areas, ["a"], None, matrix=None,
    ...                               read=True)
    >>> len(ex["a"]), names
    (0, [])
    """
    acrs = areas.crs
    infra_a = None
    infra_classes = pd.DataFrame()
    names: list[str] = []
    if read and atlas.layer_names("infrastructure"):
        infra_ll, names = _read(atlas, "infrastructure")
        if len(infra_ll):
            infra_a = to_crs(infra_ll, acrs)
            rated = [s for s in chosen if pd.notna(classes.loc[s, "matrix_species"])]
            infra_classes = (classify_barriers_many(infra_a, rated, matrix=matrix) if rated
                             else pd.DataFrame(index=infra_a.index))
    out: dict[str, gpd.GeoDataFrame] = {}
    for sp, poly in areas.items():
        if infra_a is None:
            out[sp] = gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=acrs)
            continue
        cls = (infra_classes[sp].to_numpy() if sp in infra_classes.columns
               else np.full(len(infra_a), "unknown", dtype=object))
        ex = gpd.GeoDataFrame({"barrier_class": cls}, geometry=infra_a.geometry.values,
                              crs=acrs)
        if len(ex):
            ex = ex.iloc[shapely.STRtree(ex.geometry.values).query(poly, predicate="intersects")]
        out[sp] = ex
    return out, names


def fragmentation_change(
    areas: gpd.GeoSeries,
    existing: Mapping[str, gpd.GeoDataFrame],
    classes: pd.DataFrame,
    route_a: gpd.GeoSeries,
) -> pd.DataFrame:
    """Effective mesh size of each species' area before and after adding the route.

    Before: the area cut by the existing partial and complete barriers; after: also by
    the route, if it is a partial or complete barrier for the species (else unchanged).

    Returns
    -------
    DataFrame
        ``species``, ``barrier_class``, ``area_km2``, ``m_eff_before_km2``,
        ``m_eff_after_km2``, ``m_eff_change_pct`` (:func:`mesh_change_pct`),
        ``n_fragments_before``, ``n_fragments_after``, ``largest_fragment_share_after``.

    Examples
    --------
    A 10 × 10 km square cut in half by a complete barrier: m_eff = 2 × 50² / 100 km²:

    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, box
    >>> areas = gpd.GeoSeries([box(0, 0, 10_000, 10_000)], index=["a"], crs="ESRI:102025")
    >>> none = {"a": gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=areas.crs)}
    >>> route = gpd.GeoSeries([LineString([(5_000, -1), (5_000, 10_001)])], crs=areas.crs)
    >>> classes = pd.DataFrame({"barrier_class": ["complete barrier"]}, index=["a"])
    >>> fragmentation_change(areas, none, classes, route)[
    ...     ["m_eff_before_km2", "m_eff_after_km2", "m_eff_change_pct", "n_fragments_after"]]
       m_eff_before_km2  m_eff_after_km2  m_eff_change_pct  n_fragments_after
    0             100.0             50.0             -50.0                  2
    """
    acrs = areas.crs
    rows = []
    for sp, poly in areas.items():
        cls = str(classes.loc[sp, "barrier_class"])
        area_s = gpd.GeoSeries([poly], index=[sp], crs=acrs)
        ex = existing[sp]
        lines_before = ex[ex["barrier_class"].isin(_CUTTING)].geometry
        lines_after = lines_before
        if cls in _CUTTING:
            lines_after = gpd.GeoSeries(np.concatenate([lines_before.to_numpy(),
                                                        route_a.to_numpy()]), crs=acrs)
        before = effective_mesh_size(area_s, gpd.GeoSeries(lines_before.to_numpy(), crs=acrs),
                                     crs=acrs.to_string()).iloc[0]
        after = effective_mesh_size(area_s, lines_after, crs=acrs.to_string()).iloc[0] \
            if cls in _CUTTING else before
        rows.append({
            "species": sp, "barrier_class": cls, "area_km2": before["area_km2"],
            "m_eff_before_km2": before["m_eff_km2"], "m_eff_after_km2": after["m_eff_km2"],
            "m_eff_change_pct": mesh_change_pct(before["m_eff_km2"], after["m_eff_km2"]),
            "n_fragments_before": int(before["n_fragments"]),
            "n_fragments_after": int(after["n_fragments"]),
            "largest_fragment_share_after": after["largest_fragment_share"]})
    return pd.DataFrame(rows, columns=[
        "species", "barrier_class", "area_km2", "m_eff_before_km2", "m_eff_after_km2",
        "m_eff_change_pct", "n_fragments_before", "n_fragments_after",
        "largest_fragment_share_after"])


def connectivity_change(
    areas: gpd.GeoSeries,
    existing: Mapping[str, gpd.GeoDataFrame],
    classes: pd.DataFrame,
    route_a: gpd.GeoSeries,
    *,
    cell_size_m: float,
    window_m: float,
    n_candidates: int,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, gpd.GeoDataFrame]]:
    """Connectivity before/after the route per species (circuit model on a coarse raster).

    For each species for which the route is a barrier,
    :func:`cami_atlas.screening.route_connectivity` on its area with the existing
    barriers burned in; a species for which it is ``not a barrier`` gets a row with a
    note and no loss.

    Returns
    -------
    table : DataFrame
        ``species``, ``barrier_class``, the metrics of ``route_connectivity`` and ``notes``.
    profiles : dict of str -> DataFrame
        Current along the route per species.
    candidates : dict of str -> GeoDataFrame
        Modelled crossing candidates (current peaks) per species, ``source`` =
        ``"modelled current"``; species without candidates are left out.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, box
    >>> areas = gpd.GeoSeries([box(0, 0, 10_000, 10_000)], index=["a"], crs="ESRI:102025")
    >>> none = {"a": gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=areas.crs)}
    >>> route = gpd.GeoSeries([LineString([(5_000, 1), (5_000, 9_999)])], crs=areas.crs)
    >>> classes = pd.DataFrame({"barrier_class": ["not a barrier"]}, index=["a"])
    >>> table, profiles, cands = connectivity_change(areas, none, classes, route,
    ...                                              cell_size_m=1_000, window_m=5_000,
    ...                                              n_candidates=1)
    >>> table["notes"].tolist(), profiles, cands
    (['not a barrier for this species: no loss modelled'], {}, {})
    """
    acrs = areas.crs
    rows = []
    profiles: dict[str, pd.DataFrame] = {}
    candidates: dict[str, gpd.GeoDataFrame] = {}
    for sp, poly in areas.items():
        cls = str(classes.loc[sp, "barrier_class"])
        if cls == "not a barrier":
            rows.append({"species": sp, "barrier_class": cls,
                         "notes": "not a barrier for this species: no loss modelled"})
            continue
        rt = gpd.GeoDataFrame({"barrier_class": [cls] * len(route_a)},
                              geometry=route_a.values, crs=acrs)
        res = route_connectivity(rt, poly, existing[sp], cell_size_m=cell_size_m,
                                 window_m=window_m, n_candidates=int(n_candidates))
        rows.append({"species": sp, "barrier_class": cls, **res.metrics,
                     "notes": "; ".join(res.notes)})
        profiles[sp] = res.profile
        if len(res.candidates):
            candidates[sp] = res.candidates.assign(species=sp, source="modelled current")
    table = pd.DataFrame(rows)
    if "species" not in table.columns:
        table = pd.DataFrame(columns=["species", "barrier_class", "notes"])
    return table, profiles, candidates


# -- 6. advice -------------------------------------------------------------------------------
def crossing_candidates(
    species: Sequence[str],
    modelled: Mapping[str, gpd.GeoDataFrame],
    traverses: pd.DataFrame,
    seg: gpd.GeoDataFrame,
    classes: pd.DataFrame,
    *,
    name: str,
) -> gpd.GeoDataFrame:
    """Candidate crossing-structure locations with their segment and chainage.

    Per species (in order): the modelled candidates, then one candidate at the middle of
    each corridor traverse (``source`` = ``"corridor crossing"``). Each is placed on the
    nearest segment; sorted by species, source, rank and chainage, numbered from 1.

    Returns
    -------
    GeoDataFrame
        ``candidate_id``, ``scenario``, ``species``, ``source``, ``rank``, ``current_a``,
        ``restored_pct``, ``segment_id``, ``chainage_km``, ``barrier_class``,
        ``route_group`` (``route_id/part``), analysis CRS.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"segment_id": [1, 2], "route_id": 0, "part": 0,
    ...                         "from_km": [0.0, 4.0], "length_km": [4.0, 6.0]},
    ...                        geometry=[LineString([(0, 0), (0, 4000)]),
    ...                                  LineString([(0, 4000), (0, 10_000)])],
    ...                        crs="EPSG:3857")
    >>> trav = pd.DataFrame({"species": ["a"], "first": [1], "last": [1]})
    >>> classes = pd.DataFrame({"barrier_class": ["partial barrier"]}, index=["a"])
    >>> c = crossing_candidates(["a"], {}, trav, seg, classes, name="r")
    >>> c[["candidate_id", "source", "segment_id", "chainage_km"]].values.tolist()
    [[1, 'corridor crossing', 2, 7.0]]
    """
    acrs = seg.crs
    frames = []
    for sp in species:
        if sp in modelled:
            frames.append(modelled[sp])
        # corridor traverses: one candidate at the middle of each
        for st, en in traverses.loc[traverses["species"] == sp, ["first", "last"]].to_numpy():
            geom = shapely.line_merge(shapely.union_all(seg.geometry.values[st:en + 1]))
            mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
            frames.append(gpd.GeoDataFrame(
                {"species": [sp], "source": ["corridor crossing"], "rank": [np.nan],
                 "current_a": [np.nan], "restored_pct": [np.nan]},
                geometry=[mid], crs=acrs))
    if not frames:
        return gpd.GeoDataFrame({c: [] for c in [*_CANDIDATE_COLUMNS, "route_group"]},
                                geometry=[], crs=acrs)
    cand = pd.concat(frames, ignore_index=True)
    cand = gpd.GeoDataFrame(cand, geometry="geometry", crs=acrs)
    seg_geoms = seg.geometry.values
    pos = shapely.STRtree(seg_geoms).query_nearest(cand.geometry.values, all_matches=False)[1]
    frac = shapely.line_locate_point(seg_geoms[pos], cand.geometry.values, normalized=True)
    cand["segment_id"] = seg["segment_id"].to_numpy()[pos]
    cand["chainage_km"] = (seg["from_km"].to_numpy()[pos]
                           + frac * seg["length_km"].to_numpy()[pos])
    cand["route_group"] = _segment_groups(seg)[pos]
    cand["barrier_class"] = cand["species"].map(classes["barrier_class"])
    cand = cand.sort_values(["species", "source", "rank", "chainage_km"],
                            na_position="last", kind="stable").reset_index(drop=True)
    cand["candidate_id"] = np.arange(1, len(cand) + 1)
    cand["scenario"] = name
    return cand


def spacing_check(
    species: Sequence[str],
    classes: pd.DataFrame,
    segsp: pd.DataFrame,
    seg: pd.DataFrame,
    cand: pd.DataFrame,
    *,
    max_spacing_km: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Spacing of the crossing candidates along each stretch of route in a species' zones.

    For every maximal stretch of consecutive segments in the range or corridor of a
    species for which the route is a barrier, the gaps between the stretch ends and the
    candidates inside it are compared with the species' maximum spacing
    (:func:`cami_atlas.screening.reference.max_spacing_of`); too long gaps get evenly
    spaced extra chainages.

    Returns
    -------
    DataFrame
        ``species``, ``barrier_class``, ``from_km``, ``to_km``, ``length_km``,
        ``max_spacing_km``, ``structures_needed``, ``candidates_inside``,
        ``longest_gap_km``, ``spacing_ok``, ``suggested_extra_chainages_km``.

    Examples
    --------
    A 25 km stretch with one candidate at km 5 and a 10 km maximum: gap 20 km, one extra
    structure at km 15:

    >>> import pandas as pd
    >>> seg = pd.DataFrame({"segment_id": [1], "route_id": 0, "part": 0,
    ...                     "from_km": [0.0], "to_km": [25.0]})
    >>> segsp = pd.DataFrame({"species": ["a"], "segment_id": [1]})
    >>> classes = pd.DataFrame({"barrier_class": ["complete barrier"]}, index=["a"])
    >>> cand = pd.DataFrame({"species": ["a"], "route_group": ["0/0"], "chainage_km": [5.0]})
    >>> s = spacing_check(["a"], classes, segsp, seg, cand, max_spacing_km={"a": 10})
    >>> s[["structures_needed", "longest_gap_km", "spacing_ok",
    ...    "suggested_extra_chainages_km"]].values.tolist()
    [[2, 20.0, False, '15.0']]
    """
    seg_group = _segment_groups(seg)
    spacing_rows = []
    for sp in species:
        cls = str(classes.loc[sp, "barrier_class"])
        if cls == "not a barrier":
            continue
        smax = max_spacing_of(sp, dict(max_spacing_km) if max_spacing_km else None)
        inside = segsp.loc[segsp["species"] == sp, "segment_id"]
        flags = seg["segment_id"].isin(inside).to_numpy()
        for st, en in _run_ends(flags, seg_group):
            a, b = float(seg["from_km"].iloc[st]), float(seg["to_km"].iloc[en])
            mine = cand[(cand["species"] == sp) & (cand["route_group"] == seg_group[st])]
            ch = np.sort(mine["chainage_km"].to_numpy(dtype=float))
            ch = ch[(ch >= a) & (ch <= b)]
            stops = np.concatenate([[a], ch, [b]])
            gaps = np.diff(stops)
            extra = []
            for lo, g in zip(stops[:-1], gaps, strict=True):
                k = math.ceil(g / smax) - 1 if g > smax else 0
                extra.extend(lo + g * (j + 1) / (k + 1) for j in range(k))
            spacing_rows.append({
                "species": sp, "barrier_class": cls, "from_km": a, "to_km": b,
                "length_km": b - a, "max_spacing_km": smax,
                "structures_needed": max(0, math.ceil((b - a) / smax) - 1),
                "candidates_inside": len(ch),
                "longest_gap_km": float(gaps.max()) if len(gaps) else 0.0,
                "spacing_ok": bool((gaps <= smax + 1e-9).all()),
                "suggested_extra_chainages_km": ", ".join(f"{x:.1f}" for x in extra)})
    return pd.DataFrame(spacing_rows, columns=[
        "species", "barrier_class", "from_km", "to_km", "length_km", "max_spacing_km",
        "structures_needed", "candidates_inside", "longest_gap_km", "spacing_ok",
        "suggested_extra_chainages_km"])


def species_summary(
    chosen: Sequence[str],
    ranges: pd.DataFrame,
    classes: pd.DataFrame,
    segsp: pd.DataFrame,
    traverses: pd.DataFrame,
    crossing_points: pd.DataFrame,
    shares: pd.DataFrame,
    buffers_km: Sequence[float],
    connectivity: pd.DataFrame,
    fragmentation: pd.DataFrame,
    *,
    cms_appendix: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per reported species: status, barrier class, km inside, crossings, losses.

    ``n_corridor_crossings`` = traverses of its corridor polygons + crossings of its
    migration-route lines (``crossing == "route"`` in ``crossing_points``);
    ``share_within_<b>km_pct`` from :func:`range_shares`; the connectivity and
    fragmentation changes from :func:`connectivity_change` and
    :func:`fragmentation_change` (NaN where not modelled).

    Examples
    --------
    >>> import pandas as pd
    >>> classes = pd.DataFrame({"matrix_species": ["Saiga tatarica"], "class_line": ["x"],
    ...                         "class_fence": ["x"], "barrier_class": ["complete barrier"]},
    ...                        index=["Saiga_tatarica"])
    >>> segsp = pd.DataFrame({"species": ["Saiga_tatarica"] * 2, "in_range": [True, False],
    ...                       "in_corridor": [False, True], "length_km": [3.0, 4.0]})
    >>> trav = pd.DataFrame({"species": ["Saiga_tatarica"], "first": [1], "last": [1]})
    >>> pts = pd.DataFrame({"species": [], "crossing": []})
    >>> shares = pd.DataFrame({"species": [], "buffer_km": [], "share_within_pct": []})
    >>> empty = pd.DataFrame(columns=["species"])
    >>> row = species_summary(["Saiga_tatarica"], pd.DataFrame(), classes, segsp, trav, pts,
    ...                       shares, (5,), empty, empty).iloc[0]
    >>> [float(row[c]) for c in ("km_in_range", "km_in_corridor", "km_in_range_or_corridor")]
    [3.0, 4.0, 7.0]
    >>> int(row["n_corridor_crossings"]), row["cms_appendix"]
    (1, 'II')
    """
    km_range = segsp[segsp["in_range"]].groupby("species")["length_km"].sum()
    km_corr = segsp[segsp["in_corridor"]].groupby("species")["length_km"].sum()
    km_any = segsp.groupby("species")["length_km"].sum()
    n_traverses = traverses.groupby("species").size()
    on_line = crossing_points[crossing_points["crossing"] == "route"]
    n_line_cross = on_line.groupby("species").size().to_dict()
    info = ranges.assign(species=ranges["species"].map(canonical_species_name)) \
        if len(ranges) else pd.DataFrame(columns=["species"])
    iucn = (info.dropna(subset=["iucn_status_2016"]).groupby("species")["iucn_status_2016"]
            .first() if "iucn_status_2016" in info.columns else pd.Series(dtype=object))
    common = (info.dropna(subset=["common_name"]).groupby("species")["common_name"].first()
              if "common_name" in info.columns else pd.Series(dtype=object))
    rows = []
    for sp in chosen:
        row = {"species": sp, "common_name": common.get(sp, ""),
               "iucn_status": iucn.get(sp, ""),
               "cms_appendix": cms_appendix_of(sp, dict(cms_appendix) if cms_appendix else None),
               "matrix_species": classes.loc[sp, "matrix_species"],
               "class_line": classes.loc[sp, "class_line"],
               "class_fence": classes.loc[sp, "class_fence"],
               "barrier_class": classes.loc[sp, "barrier_class"],
               "km_in_range": float(km_range.get(sp, 0.0)),
               "km_in_corridor": float(km_corr.get(sp, 0.0)),
               "km_in_range_or_corridor": float(km_any.get(sp, 0.0)),
               "n_corridor_crossings": int(n_traverses.get(sp, 0) + n_line_cross.get(sp, 0))}
        for b in buffers_km:
            sub = shares[(shares["species"] == sp) & (shares["buffer_km"] == b)]
            row[f"share_within_{b:g}km_pct"] = (float(sub["share_within_pct"].iloc[0])
                                                if len(sub) else 0.0)
        rows.append(row)
    species_table = pd.DataFrame(rows)
    if species_table.empty:
        species_table = pd.DataFrame(columns=["species", "common_name", "iucn_status",
                                              "cms_appendix", "matrix_species", "class_line",
                                              "class_fence", "barrier_class", "km_in_range",
                                              "km_in_corridor", "km_in_range_or_corridor",
                                              "n_corridor_crossings"])
    for col, src, key in (("cross_conductance_loss_pct", connectivity,
                           "cross_conductance_loss_pct"),
                          ("eca_loss_pct", connectivity, "eca_loss_pct"),
                          ("m_eff_change_pct", fragmentation, "m_eff_change_pct")):
        if key in src.columns and len(src):
            species_table[col] = species_table["species"].map(src.set_index("species")[key])
        else:
            species_table[col] = np.nan
    return species_table


def screening_flags(
    species: pd.DataFrame,
    spacing: pd.DataFrame,
    fragmentation: pd.DataFrame,
    protected_areas: gpd.GeoDataFrame,
    buffers_km: Sequence[float],
    restricted_share_pct: float,
) -> pd.DataFrame:
    """The screening flags: ``alert`` (a modelled fact to act on), ``question`` (for the
    consultant, e.g. the IFC PS6 critical-habitat criteria) and ``info``.

    Alerts: a partial or complete barrier across a mapped corridor, a complete barrier in
    a range, a crossing-spacing gap, a range split into more fragments, a route inside a
    protected area. Questions: barrier class unknown, CR/EN species (PS6 ¶16 (i)), CMS
    listed species (iii), a large share of the range near the route (ii); always the
    questions on unique ecosystems (iv) and evolutionary processes (v), which the atlas
    cannot answer.

    Returns
    -------
    DataFrame
        ``species``, ``code``, ``level``, ``ps6_criterion``, ``message``.

    Examples
    --------
    >>> import pandas as pd
    >>> sp = pd.DataFrame({"species": ["Saiga_tatarica"], "barrier_class": ["complete barrier"],
    ...                    "km_in_range_or_corridor": [12.0], "n_corridor_crossings": [0],
    ...                    "km_in_corridor": [0.0], "iucn_status": [""], "cms_appendix": [""],
    ...                    "share_within_5km_pct": [0.1]})
    >>> none = pd.DataFrame()
    >>> f = screening_flags(sp, none, none, none, (5,), 1.0)
    >>> f["code"].tolist()
    ['complete_barrier_in_range', 'unique_ecosystems', 'evolutionary_processes']
    >>> f["level"].tolist(), f["ps6_criterion"].tolist()
    (['alert', 'question', 'question'], ['', 'iv', 'v'])
    """
    out: list[dict[str, str]] = []

    def add(species: str, code: str, level: str, ps6: str, message: str) -> None:
        out.append({"species": species, "code": code, "level": level, "ps6_criterion": ps6,
                    "message": message})

    big = max(buffers_km)
    for row in species.itertuples(index=False):
        s, cls = row.species, row.barrier_class
        label = s.replace("_", " ")
        km = row.km_in_range_or_corridor
        crossed = km > 0
        if crossed and row.n_corridor_crossings > 0 and cls in ("complete barrier",
                                                                  "partial barrier"):
            add(s, f"{cls.split()[0]}_barrier_across_corridor", "alert", "",
                f"The route would be a {cls} for {label} and crosses its mapped migration "
                f"corridor {row.n_corridor_crossings} time(s) ({row.km_in_corridor:.1f} km "
                "inside the corridor).")
        elif crossed and cls == "complete barrier":
            add(s, "complete_barrier_in_range", "alert", "",
                f"The route would be a complete barrier for {label} over {km:.1f} km inside "
                "its range.")
        if crossed and cls == "unknown":
            add(s, "barrier_class_unknown", "question", "",
                f"The barrier matrix cannot rate the route for {label} (the species or the "
                "attributes given are not rated). Which design would the species experts "
                "consider passable?")
        status = str(row.iucn_status or "")
        if crossed and status in ("CR", "EN"):
            add(s, "threatened_species_range_crossed", "question", "i",
                f"{label} is assessed as {IUCN_CATEGORIES[status]} ({status}, IUCN status "
                "in the atlas). Is the area the route crosses habitat of significant "
                f"importance to it? (IFC PS6 ¶16 (i): {PS6_CRITERIA['i']}.)")
        if crossed and row.cms_appendix:
            add(s, "migratory_species_range_crossed", "question", "iii",
                f"The route crosses the range of {label}, a migratory species listed on CMS "
                f"Appendix {row.cms_appendix}. Does the area support globally significant "
                "concentrations of it? (IFC PS6 ¶16 (iii): " + PS6_CRITERIA["iii"] + ".)")
        share = getattr(row, f"share_within_{big:g}km_pct", 0.0)
        if share is not None and np.isfinite(share) and share >= restricted_share_pct:
            add(s, "large_share_of_range_near_route", "question", "ii",
                f"{share:.1f} % of the atlas range of {label} lies within {big:g} km of the "
                "route. Is it an endemic or restricted-range species here? (IFC PS6 ¶16 "
                f"(ii): {PS6_CRITERIA['ii']}.)")
    for row in spacing.itertuples(index=False):
        if not row.spacing_ok:
            add(row.species, "crossing_spacing", "alert", "",
                f"Between km {row.from_km:.1f} and {row.to_km:.1f} ({row.length_km:.1f} km in "
                f"the range of {row.species.replace('_', ' ')}) the candidate crossings leave "
                f"a gap of {row.longest_gap_km:.1f} km, more than the planning maximum of "
                f"{row.max_spacing_km:g} km; add structures at about km "
                f"{row.suggested_extra_chainages_km}.")
    for row in fragmentation.itertuples(index=False):
        if row.n_fragments_after > row.n_fragments_before:
            add(row.species, "range_fragmented", "alert", "",
                f"The route splits the range of {row.species.replace('_', ' ')} into more "
                f"pieces ({row.n_fragments_before} -> {row.n_fragments_after} fragments); the "
                f"effective mesh size changes by {row.m_eff_change_pct:.2f} %.")
    if len(protected_areas):
        for row in protected_areas.itertuples(index=False):
            if row.crossed:
                add("", "route_inside_protected_area", "alert", "",
                    f"The route runs {row.length_inside_km:.1f} km inside the protected area "
                    f"{row.name}.")
            elif row.distance_km <= min(buffers_km):
                add("", "protected_area_nearby", "alert", "",
                    f"The protected area {row.name} lies {row.distance_km:.2f} km from the "
                    "route.")
    add("", "unique_ecosystems", "question", "iv",
        "The atlas holds no ecosystem layer. Does the route cross highly threatened or unique "
        f"ecosystems? (IFC PS6 ¶16 (iv): {PS6_CRITERIA['iv']}.)")
    add("", "evolutionary_processes", "question", "v",
        "Does the route cross areas associated with key evolutionary processes, e.g. "
        "isolated populations or connectivity between them? (IFC PS6 ¶16 (v): "
        f"{PS6_CRITERIA['v']}.)")
    return pd.DataFrame(out, columns=_FLAG_COLUMNS)


# -- 7. export -------------------------------------------------------------------------------
def wgs84_outputs(
    route_in: gpd.GeoDataFrame,
    route_a: gpd.GeoSeries,
    route_ll: gpd.GeoSeries,
    seg: gpd.GeoDataFrame,
    cand: gpd.GeoDataFrame,
    crossing_points: gpd.GeoDataFrame,
    *,
    name: str,
    infra_type: str,
    attributes: Mapping[str, object],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The route, segments, crossing candidates and corridor crossings in EPSG:4326.

    Returns
    -------
    route : GeoDataFrame
        The route features (their columns kept) with ``scenario``, ``infra_type``, the
        attributes (booleans as ``yes``/``no``) and ``length_km`` (geodesic), on the
        densified course.
    segments : GeoDataFrame
        The segment columns of :class:`cami_atlas.screening.ScreeningResult`
        (``route_id`` as text).
    candidates : GeoDataFrame
        The candidate columns (without ``route_group``).
    crossing_points : GeoDataFrame
        The corridor crossing points.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> from cami_atlas.atlas import Atlas
    >>> atlas = Atlas("synthetic", region=box(60, 40, 70, 50))
    >>> line = gpd.GeoDataFrame({"name": ["r"]}, geometry=[LineString([(65, 44), (65, 46)])],
    ...                         crs="EPSG:4326")
    >>> route_in, route_a, route_ll, _ = prepare_route(line, atlas)
    >>> layers = read_screening_layers(atlas)
    >>> seg = annotate_segments(route_segments(route_a, layers, [], name="r",
    ...                                        infra_type="road"), segment_species(
    ...     route_segments(route_a, layers, [], name="r", infra_type="road"),
    ...     pd.DataFrame(columns=["barrier_class"])))
    >>> cand = crossing_candidates([], {}, corridor_traverses(seg, []), seg, None, name="r")
    >>> pts = corridor_crossing_points(route_a, layers.corridors, [], None, infra_type="road",
    ...                                attributes={}, matrix=None)
    >>> r, s, c, p = wgs84_outputs(route_in, route_a, route_ll, seg, cand, pts, name="r",
    ...                            infra_type="road", attributes={"paved": True})
    >>> r[["name", "infra_type", "paved"]].values.tolist(), round(float(r["length_km"][0]), 1)
    ([['r', 'road', 'yes']], 222.3)
    >>> s.crs.to_epsg(), len(c), len(p)
    (4326, 0, 0)
    """
    acrs = route_a.crs
    route_out = gpd.GeoDataFrame(route_in.drop(columns=route_in.geometry.name),
                                 geometry=route_ll.values, crs="EPSG:4326")
    route_out["scenario"] = name
    route_out["infra_type"] = infra_type
    for k, v in attributes.items():
        route_out[k] = "yes" if v is True else "no" if v is False else v
    route_out["length_km"] = geodesic_length_km(route_a).to_numpy()
    seg_out = gpd.GeoDataFrame(seg[_SEGMENT_COLUMNS], geometry=seg.geometry.values, crs=acrs)
    seg_out = seg_out.to_crs("EPSG:4326")
    seg_out["route_id"] = seg_out["route_id"].astype(str)
    cand_out = gpd.GeoDataFrame(cand[_CANDIDATE_COLUMNS], geometry=cand.geometry.values,
                                crs=acrs).to_crs("EPSG:4326")
    cc_out = crossing_points.to_crs("EPSG:4326") if len(crossing_points) else \
        gpd.GeoDataFrame({"species": [], "crossing": [], "barrier_class": []}, geometry=[],
                         crs="EPSG:4326")
    return route_out, seg_out, cand_out, cc_out
