"""Screen a proposed road, railway, pipeline or fence against an atlas (EIA scoping)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from .._options import check_option
from ..atlas import Atlas
from ..barriers import classify_barriers_many, corridor_crossings, matrix_species, species_polygons
from ..barriers.fragmentation import effective_mesh_size
from ..barriers.matrix import MatrixLike, _as_matrix
from ..errors import OptionError, SchemaError, UnknownSpeciesError
from ..measure import GEOD, area_km2, geodesic_length_km, to_crs
from ..schema import BARRIER_CLASSES, canonical_species_name
from .attributes import (
    FENCE_COLUMNS,
    SEVERITY,
    _infra_type,
    fence_design_notes,
    normalise_attributes,
    route_barrier_classes,
)
from .connect import route_connectivity
from .reference import (
    CMS_SOURCE,
    IUCN_CATEGORIES,
    PS6_CRITERIA,
    PS6_SOURCE,
    SPACING_NOTE,
    cms_appendix_of,
    max_spacing_of,
)
from .route import check_route, project, split_route

__all__ = ["MESH_CHANGE_TOLERANCE", "ScreeningResult", "mesh_change_pct", "screen_route"]

#: Relative changes of the effective mesh size smaller than this are reported as 0: the
#: areas before and after are sums of the same fragments in another order, equal only up to
#: floating-point rounding (~1e-12 relative) when the route splits nothing.
MESH_CHANGE_TOLERANCE = 1e-9

_FLAG_COLUMNS = ["species", "code", "level", "ps6_criterion", "message"]


@dataclass
class ScreeningResult:
    """Everything :func:`screen_route` found (tables in km, km², %; geometries in EPSG:4326).

    Attributes
    ----------
    name : str
        Name of the route (scenario).
    route : GeoDataFrame
        The route features with ``infra_type``, the normalised attributes and
        ``length_km``.
    segments : GeoDataFrame
        The route split where it enters or leaves a species range, corridor,
        protected area or country (see :func:`screen_route`).
    segment_species : DataFrame
        One row per segment and species inside whose range or corridor it lies.
    species : DataFrame
        Summary per species (one row each).
    lengths : DataFrame
        km of route by species × zone (``range``, ``corridor``, ``range or corridor``)
        × barrier class × country.
    buffers : DataFrame
        Share of each species' range within each buffer distance.
    protected_areas : GeoDataFrame
        Every protected area of the atlas within the largest buffer (or crossed), with
        ``crossed``, ``length_inside_km``, ``distance_km``.
    corridor_crossings : GeoDataFrame
        Points where the route crosses corridor boundaries and migration routes.
    fragmentation : DataFrame
        Effective mesh size of each crossed species' range before/after.
    connectivity : DataFrame
        Connectivity before/after per species (see
        :func:`cami_atlas.screening.connect.route_connectivity`).
    crossing_candidates : GeoDataFrame
        Candidate crossing-structure locations, ranked per species.
    spacing : DataFrame
        Spacing check of crossing structures per species and stretch in range.
    fence_design : DataFrame
        Attribute values the barrier matrix rates passable, per species.
    flags : DataFrame
        Screening flags: ``alert`` (a modelled fact to act on), ``question`` (for
        the consultant, e.g. the IFC PS6 critical-habitat criteria) and ``info``.
    parameters : dict
        Every parameter of the run.
    inputs : dict
        Inputs for the reproducibility block (name -> path or bytes).
    layers_used : list of str
        Atlas layers read.
    notes : list of str
        Method notes and limitations.
    profiles : dict
        Current along the route per species (DataFrames), for figures.
    """

    name: str
    route: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame
    segment_species: pd.DataFrame
    species: pd.DataFrame
    lengths: pd.DataFrame
    buffers: pd.DataFrame
    protected_areas: gpd.GeoDataFrame
    corridor_crossings: gpd.GeoDataFrame
    fragmentation: pd.DataFrame
    connectivity: pd.DataFrame
    crossing_candidates: gpd.GeoDataFrame
    spacing: pd.DataFrame
    fence_design: pd.DataFrame
    flags: pd.DataFrame
    parameters: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    layers_used: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: dict[str, pd.DataFrame] = field(default_factory=dict)
    atlas: Atlas | None = None
    context_layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)

    def overview(self) -> pd.Series:
        """One-row summary used to compare scenarios.

        Returns
        -------
        pandas.Series
            ``length_km``, ``km_in_ranges_<class>`` (sum over species of km inside
            range ∪ corridor, by the route's class for each), ``n_species_crossed``,
            ``n_species_complete_barrier``, ``corridor_crossings``,
            ``protected_areas_crossed``, ``km_in_protected_areas``,
            ``nearest_protected_area_km``, ``mean_cross_conductance_loss_pct``,
            ``max_cross_conductance_loss_pct``, ``mean_m_eff_change_pct``,
            ``n_alerts``, ``n_questions``.
        """
        sp = self.species
        crossed = sp[sp["km_in_range_or_corridor"] > 0]
        out: dict[str, float] = {"length_km": float(self.route["length_km"].sum())}
        for cls in BARRIER_CLASSES[::-1]:
            sel = crossed[crossed["barrier_class"] == cls]
            out[f"km_in_ranges_{cls.replace(' ', '_')}"] = float(
                sel["km_in_range_or_corridor"].sum())
        out["n_species_crossed"] = float(len(crossed))
        out["n_species_complete_barrier"] = float(
            (crossed["barrier_class"] == "complete barrier").sum())
        out["corridor_crossings"] = float(sp["n_corridor_crossings"].sum())
        pa = self.protected_areas
        out["protected_areas_crossed"] = float(pa["crossed"].sum()) if len(pa) else 0.0
        out["km_in_protected_areas"] = float(pa["length_inside_km"].sum()) if len(pa) else 0.0
        out["nearest_protected_area_km"] = (float(pa["distance_km"].min()) if len(pa)
                                            else float("nan"))
        con = self.connectivity
        col = "cross_conductance_loss_pct"
        vals = con[col].dropna() if col in con else pd.Series(dtype=float)
        out["mean_cross_conductance_loss_pct"] = float(vals.mean()) if len(vals) else np.nan
        out["max_cross_conductance_loss_pct"] = float(vals.max()) if len(vals) else np.nan
        fr = self.fragmentation
        out["mean_m_eff_change_pct"] = (float(fr["m_eff_change_pct"].mean()) if len(fr)
                                        else np.nan)
        out["n_alerts"] = float((self.flags["level"] == "alert").sum())
        out["n_questions"] = float((self.flags["level"] == "question").sum())
        return pd.Series(out, name=self.name)

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
              pdf: bool = False, interactive_map: bool = True,
              basemap: str | None = "OpenStreetMap",
              command: str | None = None) -> list[Path]:
        """Write GeoJSON, GeoPackage, CSV, map and report (see
        :func:`cami_atlas.screening.write_screening`)."""
        from .export import write_screening

        return write_screening(self, out_dir, overwrite=overwrite, pdf=pdf,
                               interactive_map=interactive_map, basemap=basemap,
                               command=command)


# -- helpers --------------------------------------------------------------------------------
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


def _atlas(atlas: Atlas | str | os.PathLike[str] | None) -> Atlas:
    if atlas is None:
        return Atlas.default()
    if isinstance(atlas, Atlas):
        return atlas
    if isinstance(atlas, str | os.PathLike):
        return Atlas.open(atlas)
    raise SchemaError(f"atlas: expected an Atlas, a path to an atlas GeoPackage or None (the "
                      f"default atlas); got {type(atlas).__name__}.")


def _buffers(buffers_km: Sequence[float] | float) -> tuple[float, ...]:
    values = [buffers_km] if isinstance(buffers_km, int | float) else list(buffers_km)
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise OptionError(f"buffers_km={buffers_km!r}: {v!r} is not a number; give "
                              "distances in km > 0, e.g. (1, 10, 50).") from None
        if not math.isfinite(f) or f <= 0:
            raise OptionError(f"buffers_km={buffers_km!r}: every distance must be a finite "
                              "number of km > 0, e.g. (1, 10, 50).")
        out.append(f)
    if not out:
        raise OptionError("buffers_km is empty; give at least one distance in km, "
                          "e.g. (1, 10, 50).")
    return tuple(sorted(set(out)))


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


def _select_species(available: list[str], species: str | Sequence[str] | None,
                    near: set[str], matrix: pd.DataFrame) -> list[str]:
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


def _split_keys(series: pd.Series) -> pd.DataFrame:
    """(row, key) pairs of a ';'-joined column."""
    s = series.astype(str)
    exploded = s.str.split(";").explode()
    exploded = exploded[exploded.astype(str) != ""]
    return pd.DataFrame({"row": exploded.index.to_numpy(), "key": exploded.to_numpy()})


# -- the screening ------------------------------------------------------------------------------
def screen_route(
    route: gpd.GeoDataFrame | gpd.GeoSeries,
    atlas: Atlas | str | os.PathLike[str] | None = None,
    *,
    infra_type: str,
    attributes: Mapping[str, object] | None = None,
    buffers_km: Sequence[float] | float = (1, 10, 50),
    species: str | Sequence[str] | None = None,
    matrix: MatrixLike = None,
    connectivity: bool = True,
    cell_size_m: float = 2_500.0,
    window_km: float | None = None,
    n_candidates: int = 5,
    max_spacing_km: Mapping[str, float] | None = None,
    cms_appendix: Mapping[str, str] | None = None,
    restricted_share_pct: float = 1.0,
    name: str = "route",
    route_path: str | os.PathLike[str] | None = None,
) -> ScreeningResult:
    """Screen a proposed line against an atlas: what it cuts, how badly, what to do about it.

    Parameters
    ----------
    route : GeoDataFrame or GeoSeries
        The proposed alignment: LineString/MultiLineString features in any CRS (set).
        Several features are screened together (e.g. sections of one line).
    atlas : Atlas, path or None
        The atlas (default: the embedded default atlas). Layers used: species ranges,
        corridors, protected areas, countries, infrastructure (all optional but ranges).
    infra_type : str
        ``road``, ``railway``, ``fence``, ``pipeline`` (aliases like ``rail`` work).
    attributes : mapping, optional
        Attributes of the line for the barrier matrix, e.g. ``{"track": "double",
        "fenced": "yes"}`` (see :func:`cami_atlas.screening.normalise_attributes`).
    buffers_km : sequence of float, default (1, 10, 50)
        Buffer distances for the share of each range near the route; the largest also
        selects the species reported (those whose range or corridor is within it).
    species : str or list of str, optional
        Species to report (atlas names or synonyms); default: every species whose range
        or corridor lies within the largest buffer.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    connectivity : bool, default True
        Model the connectivity change and the crossing candidates (the slowest part).
    cell_size_m : float, default 2500
        Cell size of the connectivity raster (coarse on purpose: screening).
    window_km : float, optional
        The connectivity model covers each range within this distance of the route
        (default: the largest buffer).
    n_candidates : int, default 5
        Crossing candidates (current peaks) kept and scored per species.
    max_spacing_km : mapping, optional
        Maximum spacing of crossing structures per species (key ``"default"`` for the
        others); default :data:`cami_atlas.screening.reference.DEFAULT_SPACING_KM`
        (planning defaults, to be replaced by species experts).
    cms_appendix : mapping, optional
        CMS Appendix per species; default :data:`cami_atlas.screening.reference.CMS_APPENDICES`.
    restricted_share_pct : float, default 1
        Raise the PS6 (ii) question for a species when at least this share of its range
        lies within the largest buffer.
    name : str, default "route"
        Name of the route (scenario) in tables and reports.
    route_path : path, optional
        The file the route was read from (its SHA-256 goes in the report).

    Returns
    -------
    ScreeningResult

    Notes
    -----
    *Segments* carry ``segment_id``, ``route_id`` (index label of the route feature),
    ``part``, ``from_km``/``to_km`` (chainage, geodesic), ``length_km`` (geodesic on
    WGS84), ``country`` (iso3; ``none`` outside every country), ``species_in_range``,
    ``species_in_corridor``, ``protected_areas`` (``;``-joined), ``barrier_classes``
    (``species: class; ...``), ``most_severe_class``, ``complete_barrier_for`` and
    ``partial_barrier_for``.

    *Barrier class* of the line per species: the barrier matrix applied to the
    attributes given; a fenced line is classified as line and as fence and the more
    severe class is kept (``not a barrier < unknown < partial < complete``; see
    :func:`cami_atlas.screening.route_barrier_classes`). Species the matrix does not
    rate are ``unknown``.

    *Buffers* are built in an azimuthal equidistant projection centred on the route
    (exact distances from its centre; the largest scale error across the buffers is
    reported as ``buffer_scale_error_pct`` in the parameters) and intersected with the
    ranges in the atlas' equal-area CRS; areas in km² in ESRI:102025.

    *Corridor crossings* per species = traverses of its corridor polygons (maximal
    runs of route inside them) + crossings of its migration-route lines.

    *Fragmentation*: effective mesh size of each crossed species' range ∪ corridor cut by
    the existing partial and complete barriers, before and after adding the route (if it
    is a partial or complete barrier to the species); ``m_eff_change_pct`` =
    ``100 * (after / before - 1)``, and a relative change below
    :data:`MESH_CHANGE_TOLERANCE` (1e-9) is reported as exactly 0 (:func:`mesh_change_pct`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> rail = gpd.GeoDataFrame(geometry=[LineString([(66.9, 47.8), (67.4, 48.3)])],
    ...                         crs="EPSG:4326")
    >>> res = screen_route(rail, infra_type="railway", attributes={"track": "double"},
    ...                    buffers_km=(5,), species=["saiga"], connectivity=False)
    >>> res.species.loc[0, ["species", "barrier_class"]].tolist()
    ['Saiga_tatarica', 'complete barrier']
    >>> round(float(res.species.loc[0, "km_in_range"]), 1)
    66.9
    """
    atl = _atlas(atlas)
    m = _as_matrix(matrix)
    itype = _infra_type(infra_type)
    attrs = normalise_attributes(itype, attributes)
    buffers = _buffers(buffers_km)
    check_option("connectivity", connectivity, (True, False))
    cell = float(cell_size_m)
    if not math.isfinite(cell) or cell <= 0:
        raise OptionError(f"cell_size_m={cell_size_m!r} must be a positive number of metres.")
    window_m = 1000.0 * float(window_km if window_km is not None else max(buffers))
    if not math.isfinite(window_m) or window_m <= 0:
        raise OptionError(f"window_km={window_km!r} must be a positive number of km.")
    if int(n_candidates) < 0:
        raise OptionError(f"n_candidates={n_candidates!r} must be >= 0.")

    route_in = check_route(route, atl.region)
    acrs = atl.analysis_crs
    route_a = project(route_in, acrs)
    # the densified course (the line as drawn in its own CRS), in lon/lat
    route_ll = route_a.to_crs("EPSG:4326")
    route_len = geodesic_length_km(route_a).to_numpy()
    notes: list[str] = []
    if not shapely.covers(atl.region, shapely.union_all(route_ll.values)):
        notes.append("Part of the route lies outside the atlas region; only the part inside "
                     "is covered by the atlas layers.")

    # -- layers -----------------------------------------------------------------------------
    layers_used: list[str] = []
    # in the analysis CRS straight from the stored one (one reprojection, as in every other
    # output, so a range has the same area here as in `cami-atlas run`)
    ranges, names = atl.read_kind("species_range"), atl.layer_names("species_range")
    layers_used += names
    corridors, names = _read(atl, "corridor")
    layers_used += names
    pas, names = _read(atl, "protected_area")
    layers_used += names
    countries, names = _read(atl, "country")
    layers_used += names
    range_polys = species_polygons(ranges, crs=acrs) if len(ranges) else _empty_polys(acrs)
    range_polys = range_polys[range_polys.notna()]
    corr_poly_frame = _polygons_only(corridors)
    corr_polys = (species_polygons(corr_poly_frame, crs=acrs) if len(corr_poly_frame)
                  else _empty_polys(acrs))
    corr_polys = corr_polys[corr_polys.notna()]
    available = sorted(set(range_polys.index) | set(corr_polys.index))

    # -- buffers (local azimuthal equidistant projection) -------------------------------------
    local_proj4 = _aeqd(route_ll)
    local = CRS.from_user_input(local_proj4)
    route_local = project(route_in, local)
    big = max(buffers) * 1000.0
    buffer_error = _aeqd_error_pct(route_local, big)
    buf_local = gpd.GeoSeries(shapely.buffer(shapely.union_all(route_local.values),
                                             np.array(buffers) * 1000.0, quad_segs=16),
                              crs=local)
    buf_a = project(buf_local, acrs).to_numpy()
    big_a = buf_a[-1]
    shapely.prepare(big_a)
    near = {s for s, g in list(range_polys.items()) + list(corr_polys.items())
            if g is not None and shapely.intersects(big_a, g)}
    chosen = _select_species(available, species, near, m)

    # -- zones and segments ----------------------------------------------------------------------
    zone_rows: list[tuple[str, str, object]] = []
    zone_rows += [("range", s, range_polys[s]) for s in chosen if s in range_polys.index]
    zone_rows += [("corridor", s, corr_polys[s]) for s in chosen if s in corr_polys.index]
    pa_a = gpd.GeoDataFrame(pas.drop(columns="geometry"), geometry=project(pas, acrs),
                            crs=acrs) if len(pas) else None
    pa_keys: list[str] = []
    if pa_a is not None:
        base_names = pa_a["name"].fillna("unnamed").astype(str)
        dup = base_names.duplicated(keep=False)
        pa_keys = [f"{n} [{i}]" if d else n for i, (n, d) in
                   enumerate(zip(base_names, dup, strict=True))]
        zone_rows += [("protected_area", k, g) for k, g in
                      zip(pa_keys, pa_a.geometry.values, strict=True)]
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
    seg["infra_type"] = itype

    # -- barrier classes ----------------------------------------------------------------------
    classes = route_barrier_classes(itype, attrs, chosen, matrix=m) if chosen else \
        pd.DataFrame(columns=["matrix_species", "class_line", "class_fence", "barrier_class"])

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
    segsp = pd.DataFrame({
        "segment_id": seg["segment_id"].to_numpy()[long["row"].to_numpy(dtype=int)],
        "species": long["key"].astype(str).to_numpy(),
        "in_range": long["range"].astype(bool).to_numpy(),
        "in_corridor": long["corridor"].astype(bool).to_numpy(),
        "country": seg["country"].to_numpy()[long["row"].to_numpy(dtype=int)],
        "length_km": seg["length_km"].to_numpy()[long["row"].to_numpy(dtype=int)],
    })
    segsp["barrier_class"] = segsp["species"].map(classes["barrier_class"]).fillna("unknown")
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

    # lengths by species x zone x class x country
    frames = []
    for zone, mask in (("range", segsp["in_range"]), ("corridor", segsp["in_corridor"]),
                       ("range or corridor", segsp["in_range"] | segsp["in_corridor"])):
        sub = segsp[mask]
        if len(sub):
            frames.append(sub.groupby(["species", "barrier_class", "country"], as_index=False)
                          ["length_km"].sum().assign(zone=zone))
    lengths = (pd.concat(frames, ignore_index=True) if frames else
               pd.DataFrame(columns=["species", "barrier_class", "country", "length_km", "zone"]))
    lengths = lengths[["species", "zone", "barrier_class", "country", "length_km"]]

    # -- corridor crossings -----------------------------------------------------------------
    cc_points = gpd.GeoDataFrame({"species": [], "crossing": [], "barrier_class": []},
                                 geometry=[], crs=acrs)
    n_line_cross: dict[str, int] = {}
    if len(corridors):
        corr_sel = corridors[corridors["species"].map(canonical_species_name).isin(chosen)]
        if len(corr_sel):
            line_attrs = {k: v for k, v in attrs.items()
                          if k != "fenced" and (itype == "fence" or k not in FENCE_COLUMNS)}
            n_r = len(route_a)
            infra_like = gpd.GeoDataFrame(
                {"infra_type": [itype] * n_r, **{k: [v] * n_r for k, v in line_attrs.items()}},
                geometry=route_a.values, crs=acrs)
            cc = corridor_crossings(infra_like, corr_sel, matrix=m).points
            cc["species"] = cc["species"].map(canonical_species_name)
            cc["barrier_class"] = cc["species"].map(classes["barrier_class"]).fillna("unknown")
            cc_points = cc
            on_line = cc[cc["crossing"] == "route"]
            n_line_cross = on_line.groupby("species").size().to_dict()
    seg_group = (seg["route_id"].astype(str) + "/" + seg["part"].astype(str)).to_numpy()
    traverses: dict[str, int] = {}
    corr_runs: dict[str, list[tuple[int, int]]] = {}
    for sp in chosen:
        inside = seg["species_in_corridor"].str.split(";").map(lambda ks, s=sp: s in ks)
        flags = inside.to_numpy(dtype=bool)
        starts = _runs(flags, seg_group)
        traverses[sp] = len(starts)
        runs = []
        for st in starts:
            en = st
            while en + 1 < len(flags) and flags[en + 1] and seg_group[en + 1] == seg_group[st]:
                en += 1
            runs.append((int(st), int(en)))
        corr_runs[sp] = runs

    # -- buffers: share of each range near the route --------------------------------------------
    buf_rows = []
    if len(range_polys):
        sel_polys = range_polys[[s for s in chosen if s in range_polys.index]]
        full_area = area_km2(gpd.GeoSeries(sel_polys.to_numpy(), crs=acrs)).to_numpy()
        for b, bg in zip(buffers, buf_a, strict=True):
            inter = shapely.intersection(sel_polys.to_numpy(), bg)
            a = area_km2(gpd.GeoSeries(inter, crs=acrs)).to_numpy()
            for s, fa, ai in zip(sel_polys.index, full_area, a, strict=True):
                buf_rows.append({"species": s, "buffer_km": b, "range_area_km2": fa,
                                 "area_within_km2": ai,
                                 "share_within_pct": 100.0 * ai / fa if fa > 0 else np.nan})
    buffers_table = pd.DataFrame(buf_rows, columns=["species", "buffer_km", "range_area_km2",
                                                    "area_within_km2", "share_within_pct"])

    # -- protected areas -----------------------------------------------------------------------
    pa_table = gpd.GeoDataFrame({"name": [], "designation": [], "iucn_category": [],
                                 "crossed": [], "length_inside_km": [], "distance_km": []},
                                geometry=[], crs="EPSG:4326")
    if pa_a is not None and len(pa_a):
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
        keep = crossed | (dist_km <= max(buffers))
        pa_table = gpd.GeoDataFrame({
            "name": pa_keys,
            "designation": pas.get("designation", pd.Series([None] * len(pas))).to_numpy(),
            "iucn_category": pas.get("iucn_category", pd.Series([None] * len(pas))).to_numpy(),
            "crossed": crossed,
            "length_inside_km": [float(inside_km.get(k, 0.0)) for k in pa_keys],
            "distance_km": dist_km,
        }, geometry=pas.geometry.to_numpy(), crs="EPSG:4326")
        pa_table = pa_table[keep].sort_values("distance_km", kind="stable").reset_index(drop=True)

    # -- existing infrastructure, classified per species -------------------------------------------
    need_infra = any(s in range_polys.index or s in corr_polys.index for s in chosen)
    infra_a = None
    infra_classes = pd.DataFrame()
    if need_infra and atl.layer_names("infrastructure"):
        infra_ll, names = _read(atl, "infrastructure")
        layers_used += names
        if len(infra_ll):
            infra_a = to_crs(infra_ll, acrs)
            rated = [s for s in chosen if pd.notna(classes.loc[s, "matrix_species"])]
            infra_classes = (classify_barriers_many(infra_a, rated, matrix=m) if rated
                             else pd.DataFrame(index=infra_a.index))

    def existing_for(sp: str) -> gpd.GeoDataFrame:
        if infra_a is None:
            return gpd.GeoDataFrame({"barrier_class": []}, geometry=[], crs=acrs)
        cls = (infra_classes[sp].to_numpy() if sp in infra_classes.columns
               else np.full(len(infra_a), "unknown", dtype=object))
        return gpd.GeoDataFrame({"barrier_class": cls}, geometry=infra_a.geometry.values,
                                crs=acrs)

    # -- per species: fragmentation, connectivity, candidates ----------------------------------
    km_range = segsp[segsp["in_range"]].groupby("species")["length_km"].sum()
    km_corr = segsp[segsp["in_corridor"]].groupby("species")["length_km"].sum()
    km_any = segsp.groupby("species")["length_km"].sum()
    crossed_species = [s for s in chosen if km_any.get(s, 0.0) > 0]
    frag_rows, con_rows, cand_frames = [], [], []
    profiles: dict[str, pd.DataFrame] = {}
    cutting = ("partial barrier", "complete barrier")
    for sp in crossed_species:
        cls = str(classes.loc[sp, "barrier_class"])
        poly = shapely.union_all([g for g in (range_polys.get(sp), corr_polys.get(sp))
                                  if g is not None])
        area_s = gpd.GeoSeries([poly], index=[sp], crs=acrs)
        ex = existing_for(sp)
        if len(ex):
            ex = ex.iloc[shapely.STRtree(ex.geometry.values).query(poly, predicate="intersects")]
        lines_before = ex[ex["barrier_class"].isin(cutting)].geometry
        lines_after = lines_before
        if cls in cutting:
            lines_after = gpd.GeoSeries(np.concatenate([lines_before.to_numpy(),
                                                        route_a.to_numpy()]), crs=acrs)
        if True:
            before = effective_mesh_size(area_s, gpd.GeoSeries(lines_before.to_numpy(), crs=acrs),
                                         crs=acrs.to_string()).iloc[0]
            after = effective_mesh_size(area_s, lines_after, crs=acrs.to_string()).iloc[0] \
                if cls in cutting else before
            frag_rows.append({
                "species": sp, "barrier_class": cls, "area_km2": before["area_km2"],
                "m_eff_before_km2": before["m_eff_km2"], "m_eff_after_km2": after["m_eff_km2"],
                "m_eff_change_pct": mesh_change_pct(before["m_eff_km2"], after["m_eff_km2"]),
                "n_fragments_before": int(before["n_fragments"]),
                "n_fragments_after": int(after["n_fragments"]),
                "largest_fragment_share_after": after["largest_fragment_share"]})
        if connectivity and cls != "not a barrier":
            rt = gpd.GeoDataFrame({"barrier_class": [cls] * len(route_a)},
                                  geometry=route_a.values, crs=acrs)
            res = route_connectivity(rt, poly, ex, cell_size_m=cell, window_m=window_m,
                                     n_candidates=int(n_candidates))
            con_rows.append({"species": sp, "barrier_class": cls, **res.metrics,
                             "notes": "; ".join(res.notes)})
            profiles[sp] = res.profile
            if len(res.candidates):
                cand_frames.append(res.candidates.assign(species=sp, source="modelled current"))
        elif connectivity:
            con_rows.append({"species": sp, "barrier_class": cls,
                             "notes": "not a barrier for this species: no loss modelled"})
        # corridor traverses: one candidate at the middle of each
        for st, en in corr_runs.get(sp, []):
            geom = shapely.line_merge(shapely.union_all(seg.geometry.values[st:en + 1]))
            mid = shapely.line_interpolate_point(geom, 0.5, normalized=True)
            cand_frames.append(gpd.GeoDataFrame(
                {"species": [sp], "source": ["corridor crossing"], "rank": [np.nan],
                 "current_a": [np.nan], "restored_pct": [np.nan]},
                geometry=[mid], crs=acrs))
    fragmentation = pd.DataFrame(frag_rows, columns=[
        "species", "barrier_class", "area_km2", "m_eff_before_km2", "m_eff_after_km2",
        "m_eff_change_pct", "n_fragments_before", "n_fragments_after",
        "largest_fragment_share_after"])
    con_table = pd.DataFrame(con_rows)
    if "species" not in con_table.columns:
        con_table = pd.DataFrame(columns=["species", "barrier_class", "notes"])

    # -- crossing candidates: chainage and ids -------------------------------------------------
    cand_cols = ["candidate_id", "scenario", "species", "source", "rank", "current_a",
                 "restored_pct", "segment_id", "chainage_km", "barrier_class"]
    if cand_frames:
        cand = pd.concat(cand_frames, ignore_index=True)
        cand = gpd.GeoDataFrame(cand, geometry="geometry", crs=acrs)
        seg_geoms = seg.geometry.values
        pos = shapely.STRtree(seg_geoms).query_nearest(cand.geometry.values, all_matches=False)[1]
        frac = shapely.line_locate_point(seg_geoms[pos], cand.geometry.values, normalized=True)
        cand["segment_id"] = seg["segment_id"].to_numpy()[pos]
        cand["chainage_km"] = (seg["from_km"].to_numpy()[pos]
                               + frac * seg["length_km"].to_numpy()[pos])
        cand["route_group"] = seg_group[pos]
        cand["barrier_class"] = cand["species"].map(classes["barrier_class"])
        cand = cand.sort_values(["species", "source", "rank", "chainage_km"],
                                na_position="last", kind="stable").reset_index(drop=True)
        cand["candidate_id"] = np.arange(1, len(cand) + 1)
        cand["scenario"] = name
    else:
        cand = gpd.GeoDataFrame({c: [] for c in [*cand_cols, "route_group"]}, geometry=[],
                                crs=acrs)

    # -- spacing check --------------------------------------------------------------------------
    spacing_rows = []
    for sp in crossed_species:
        cls = str(classes.loc[sp, "barrier_class"])
        if cls == "not a barrier":
            continue
        smax = max_spacing_of(sp, dict(max_spacing_km) if max_spacing_km else None)
        inside = segsp.loc[segsp["species"] == sp, "segment_id"]
        flags = seg["segment_id"].isin(inside).to_numpy()
        for st in _runs(flags, seg_group):
            en = st
            while en + 1 < len(flags) and flags[en + 1] and seg_group[en + 1] == seg_group[st]:
                en += 1
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
    spacing = pd.DataFrame(spacing_rows, columns=[
        "species", "barrier_class", "from_km", "to_km", "length_km", "max_spacing_km",
        "structures_needed", "candidates_inside", "longest_gap_km", "spacing_ok",
        "suggested_extra_chainages_km"])

    # -- species summary -----------------------------------------------------------------------
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
               "n_corridor_crossings": int(traverses.get(sp, 0) + n_line_cross.get(sp, 0))}
        for b in buffers:
            sub = buffers_table[(buffers_table["species"] == sp) &
                                (buffers_table["buffer_km"] == b)]
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
    for col, src, key in (("cross_conductance_loss_pct", con_table, "cross_conductance_loss_pct"),
                          ("eca_loss_pct", con_table, "eca_loss_pct"),
                          ("m_eff_change_pct", fragmentation, "m_eff_change_pct")):
        if key in src.columns and len(src):
            species_table[col] = species_table["species"].map(src.set_index("species")[key])
        else:
            species_table[col] = np.nan

    # -- flags ------------------------------------------------------------------------------------
    flags = _flags(species_table, spacing, fragmentation, pa_table, buffers,
                   restricted_share_pct)

    # -- outputs in EPSG:4326 -----------------------------------------------------------------
    route_out = gpd.GeoDataFrame(route_in.drop(columns=route_in.geometry.name),
                                 geometry=route_ll.values, crs="EPSG:4326")
    route_out["scenario"] = name
    route_out["infra_type"] = itype
    for k, v in attrs.items():
        route_out[k] = "yes" if v is True else "no" if v is False else v
    route_out["length_km"] = route_len
    seg_cols = ["segment_id", "scenario", "route_id", "part", "from_km", "to_km", "length_km",
                "infra_type", "country", "country_name", "species_in_range",
                "species_in_corridor", "protected_areas", "barrier_classes",
                "most_severe_class", "complete_barrier_for", "partial_barrier_for"]
    seg_out = gpd.GeoDataFrame(seg[seg_cols], geometry=seg.geometry.values, crs=acrs)
    seg_out = seg_out.to_crs("EPSG:4326")
    seg_out["route_id"] = seg_out["route_id"].astype(str)
    cand_out = gpd.GeoDataFrame(cand[cand_cols], geometry=cand.geometry.values,
                                crs=acrs).to_crs("EPSG:4326")
    cc_out = cc_points.to_crs("EPSG:4326") if len(cc_points) else \
        gpd.GeoDataFrame({"species": [], "crossing": [], "barrier_class": []}, geometry=[],
                         crs="EPSG:4326")
    fence = fence_design_notes(itype, crossed_species or chosen,
                               fenced=bool(attrs.get("fenced", False)), matrix=matrix)

    notes += [
        "Lengths are geodesic on the WGS84 ellipsoid; areas in km² in ESRI:102025 (Asia North "
        "Albers Equal Area).",
        f"Buffers were built in an azimuthal equidistant projection centred on the route; "
        f"the largest scale error across the buffers is {buffer_error:.3f} % (distances "
        "across the route are at most that much too long).",
        "Barrier classes come from the expert barrier matrix (2017 CAMI atlas workshop) "
        "applied to the attributes given; a fenced line is classified as line and as "
        "fence and the more severe class is kept (not a barrier < unknown < partial < "
        "complete). Species the matrix does not rate are 'unknown'.",
        "Connectivity is modelled on a coarse uniform-resistance raster of each range "
        f"within {window_m / 1000:g} km of the route ({cell:g} m cells), with existing "
        "infrastructure of the atlas burned in by its barrier class for the species; it "
        "measures how the line cuts the range's geometry, not habitat quality.",
        SPACING_NOTE,
        f"CMS listings: {CMS_SOURCE}",
        f"Critical-habitat questions follow {PS6_SOURCE} They are questions for the "
        "consultant, not findings.",
    ]
    if not atl.layer_names("corridor"):
        notes.append("The atlas holds no migration corridors: corridor crossings are not "
                     "assessed. Add corridor layers (cami-atlas layers import) where known.")
    if not atl.layer_names("protected_area"):
        notes.append("The atlas holds no protected areas: protected-area checks are not "
                     "made. Add them (e.g. WDPA, under its terms) with cami-atlas layers "
                     "import.")

    parameters: dict[str, Any] = {
        "scenario": name, "infra_type": itype,
        "attributes": ", ".join(f"{k}={'yes' if v is True else 'no' if v is False else v}"
                                for k, v in attrs.items()) or "(none)",
        "buffers_km": ", ".join(f"{b:g}" for b in buffers),
        "species": ", ".join(chosen) or "(none)",
        "barrier_matrix": "shipped 2017 CAMI matrix" if matrix is None else str(
            matrix if not isinstance(matrix, pd.DataFrame) else "user DataFrame"),
        "connectivity_modelled": bool(connectivity), "cell_size_m": cell,
        "window_km": window_m / 1000.0, "n_candidates": int(n_candidates),
        "restricted_share_pct": float(restricted_share_pct),
        "analysis_crs": acrs.to_string(), "buffer_crs": local_proj4,
        "buffer_scale_error_pct": round(buffer_error, 4),
        "atlas": atl.name + (f" ({atl.path})" if atl.path else ""),
    }
    inputs: dict[str, Any] = {}
    if route_path is not None:
        inputs[f"route ({name})"] = Path(route_path)
    else:
        inputs[f"route ({name}, WKB)"] = b"".join(shapely.to_wkb(route_ll.values))
    if atl.path is not None:
        inputs["atlas"] = Path(atl.path)
    if matrix is None:
        from importlib import resources

        inputs["barrier matrix"] = Path(str(resources.files("cami_atlas.data").joinpath(
            "cami_barrier_matrix_2017.csv")))
    elif isinstance(matrix, str | os.PathLike):
        inputs["barrier matrix"] = Path(matrix)

    context = {"range_polys": gpd.GeoDataFrame(
        {"species": [s for s in chosen if s in range_polys.index]},
        geometry=[range_polys[s] for s in chosen if s in range_polys.index], crs=acrs)}
    if len(corridors):
        context["corridors"] = corridors[corridors["species"].map(canonical_species_name)
                                         .isin(chosen)]
    if len(countries):
        context["countries"] = countries

    return ScreeningResult(
        name=name, route=route_out, segments=seg_out, segment_species=segsp,
        species=species_table, lengths=lengths, buffers=buffers_table,
        protected_areas=pa_table, corridor_crossings=cc_out, fragmentation=fragmentation,
        connectivity=con_table, crossing_candidates=cand_out, spacing=spacing,
        fence_design=fence, flags=flags, parameters=parameters, inputs=inputs,
        layers_used=list(dict.fromkeys(layers_used)), notes=notes, profiles=profiles,
        atlas=atl, context_layers=context)


def _flags(sp: pd.DataFrame, spacing: pd.DataFrame, frag: pd.DataFrame,
           pas: gpd.GeoDataFrame, buffers: tuple[float, ...],
           restricted_share_pct: float) -> pd.DataFrame:
    out: list[dict[str, str]] = []

    def add(species: str, code: str, level: str, ps6: str, message: str) -> None:
        out.append({"species": species, "code": code, "level": level, "ps6_criterion": ps6,
                    "message": message})

    big = max(buffers)
    for row in sp.itertuples(index=False):
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
    for row in frag.itertuples(index=False):
        if row.n_fragments_after > row.n_fragments_before:
            add(row.species, "range_fragmented", "alert", "",
                f"The route splits the range of {row.species.replace('_', ' ')} into more "
                f"pieces ({row.n_fragments_before} -> {row.n_fragments_after} fragments); the "
                f"effective mesh size changes by {row.m_eff_change_pct:.2f} %.")
    if len(pas):
        for row in pas.itertuples(index=False):
            if row.crossed:
                add("", "route_inside_protected_area", "alert", "",
                    f"The route runs {row.length_inside_km:.1f} km inside the protected area "
                    f"{row.name}.")
            elif row.distance_km <= min(buffers):
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

