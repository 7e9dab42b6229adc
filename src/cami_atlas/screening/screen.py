"""Screen a proposed road, railway, pipeline or fence against an atlas (EIA scoping)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._options import check_option
from ..atlas import Atlas
from ..barriers.matrix import MatrixLike, _as_matrix
from ..errors import OptionError, SchemaError
from ..planning.catalogue import propose_measures, summarise_proposals
from ..schema import BARRIER_CLASSES, canonical_species_name
from .attributes import (
    _infra_type,
    fence_design_notes,
    normalise_attributes,
    route_barrier_classes,
)
from .reference import CMS_SOURCE, PS6_SOURCE, SPACING_NOTE
from .steps import (
    MESH_CHANGE_TOLERANCE,
    ScreeningLayers,
    annotate_segments,
    connectivity_change,
    corridor_crossing_points,
    corridor_traverses,
    crossing_candidates,
    existing_barriers,
    fragmentation_change,
    local_projection,
    mesh_change_pct,
    prepare_route,
    protected_area_table,
    range_shares,
    read_screening_layers,
    route_buffers,
    route_lengths,
    route_segments,
    screening_flags,
    segment_species,
    select_species,
    spacing_check,
    species_areas,
    species_summary,
    wgs84_outputs,
)

__all__ = ["MESH_CHANGE_TOLERANCE", "SCREENING_STEPS", "ScreeningResult", "mesh_change_pct",
           "screen_route"]

#: Number of steps :func:`screen_route` reports to its ``progress`` callback (after step 0).
SCREENING_STEPS = 5


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
    mitigation : DataFrame
        Measures of the mitigation catalogue proposed per segment and species, in the
        order of the hierarchy (:func:`cami_atlas.planning.catalogue.propose_measures`).
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
    mitigation: pd.DataFrame = field(default_factory=pd.DataFrame)

    def mitigation_by_species(self) -> pd.DataFrame:
        """The proposed measures per species (the segments each is proposed for).

        :func:`cami_atlas.planning.catalogue.summarise_proposals` of :attr:`mitigation`,
        species names with blanks."""
        table = summarise_proposals(self.mitigation)
        return table.assign(species=table["species"].astype(str).str.replace("_", " "))

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
    catalogue: pd.DataFrame | str | os.PathLike[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
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
    catalogue : DataFrame or path, optional
        Mitigation catalogue whose measures are proposed per segment and species
        (default: the shipped one, :func:`cami_atlas.planning.load_catalogue`).
    progress : callable, optional
        ``progress(i, n, text)`` before each step (``i`` = 0 ... :data:`SCREENING_STEPS`,
        ``n`` = :data:`SCREENING_STEPS`); the online atlas shows it.

    Returns
    -------
    ScreeningResult

    Notes
    -----
    The method, step by step (each a function of :mod:`cami_atlas.screening.steps` with
    its own docstring and tests): prepare the route (:func:`~.steps.prepare_route`,
    :func:`~.steps.local_projection`, :func:`~.steps.route_buffers`), read the atlas
    layers and choose the species (:func:`~.steps.read_screening_layers`,
    :func:`~.steps.select_species`) → segments by species and country
    (:func:`~.steps.route_segments`, :func:`~.steps.segment_species`,
    :func:`~.steps.annotate_segments`, :func:`~.steps.route_lengths`) → crossings and
    exposure (:func:`~.steps.corridor_crossing_points`,
    :func:`~.steps.corridor_traverses`, :func:`~.steps.range_shares`,
    :func:`~.steps.protected_area_table`) → connectivity change
    (:func:`~.steps.existing_barriers`, :func:`~.steps.fragmentation_change`,
    :func:`~.steps.connectivity_change`) → advice (:func:`~.steps.crossing_candidates`,
    :func:`~.steps.spacing_check`, :func:`~.steps.species_summary`,
    :func:`~.steps.screening_flags`) → export (:func:`~.steps.wgs84_outputs`). This
    function is long only by its docstring (16 documented options and the method notes).

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
    def step(i: int, text: str) -> None:
        if progress is not None:
            progress(i, SCREENING_STEPS, text)

    step(0, "reading the atlas")
    atl = _atlas(atlas)
    m = _as_matrix(matrix)
    itype = _infra_type(infra_type)
    attrs = normalise_attributes(itype, attributes)
    buffers = _buffers(buffers_km)
    check_option("connectivity", connectivity, (True, False))
    cell, window_m = _model_options(cell_size_m, window_km, buffers, n_candidates)

    # 1. prepare the route: checked, in the analysis CRS, buffers in a local AEQD
    step(1, "preparing the route")
    route_in, route_a, route_ll, notes = prepare_route(route, atl)
    layers = read_screening_layers(atl)
    local, route_local = local_projection(route_in, route_ll)
    buf_a, buffer_error = route_buffers(route_local, buffers, atl.analysis_crs)
    chosen = select_species(layers, species, buf_a.to_numpy()[-1], m)

    # 2. segments by species and country, with the route's barrier class per species
    step(2, "segments by species and country")
    seg = route_segments(route_a, layers, chosen, name=name, infra_type=itype)
    classes = route_barrier_classes(itype, attrs, chosen, matrix=m) if chosen else \
        pd.DataFrame(columns=["matrix_species", "class_line", "class_fence", "barrier_class"])
    segsp = segment_species(seg, classes)
    seg = annotate_segments(seg, segsp)
    lengths = route_lengths(segsp)

    # 3. crossings of corridors, ranges near the route, protected areas
    step(3, "crossings, ranges near the route, protected areas")
    crossing_points = corridor_crossing_points(route_a, layers.corridors, chosen, classes,
                                               infra_type=itype, attributes=attrs, matrix=m)
    traverses = corridor_traverses(seg, chosen)
    shares = range_shares(layers.range_polys, chosen, buffers, buf_a)
    pa_table = protected_area_table(layers.protected_areas, route_local, seg, max(buffers))

    # 4. connectivity change per crossed species, against the existing barriers
    step(4, "fragmentation and connectivity change")
    km_any = segsp.groupby("species")["length_km"].sum()
    crossed_species = [s for s in chosen if km_any.get(s, 0.0) > 0]
    areas = species_areas(layers, crossed_species)
    existing, infra_names = existing_barriers(
        atl, areas, chosen, classes, matrix=m,
        read=any(s in layers.range_polys.index or s in layers.corridor_polys.index
                 for s in chosen))
    fragmentation = fragmentation_change(areas, existing, classes, route_a)
    con_table, profiles, modelled = (
        connectivity_change(areas, existing, classes, route_a, cell_size_m=cell,
                            window_m=window_m, n_candidates=int(n_candidates))
        if connectivity else (pd.DataFrame(columns=["species", "barrier_class", "notes"]), {}, {}))

    # 5. advice: crossing structures, their spacing, species summary, flags
    step(5, "crossing structures, spacing, flags")
    cand = crossing_candidates(crossed_species, modelled, traverses, seg, classes, name=name)
    spacing = spacing_check(crossed_species, classes, segsp, seg, cand,
                            max_spacing_km=max_spacing_km)
    species_table = species_summary(chosen, layers.ranges, classes, segsp, traverses,
                                    crossing_points, shares, buffers, con_table, fragmentation,
                                    cms_appendix=cms_appendix)
    flags = screening_flags(species_table, spacing, fragmentation, pa_table, buffers,
                            restricted_share_pct)
    fence = fence_design_notes(itype, crossed_species or chosen,
                               fenced=bool(attrs.get("fenced", False)), matrix=matrix)
    mitigation = propose_measures(segsp, itype, catalogue=catalogue)

    # 6. export: tables and geometries in EPSG:4326, notes, parameters, inputs
    route_out, seg_out, cand_out, cc_out = wgs84_outputs(
        route_in, route_a, route_ll, seg, cand, crossing_points, name=name, infra_type=itype,
        attributes=attrs)
    parameters = _parameters(atl, name=name, infra_type=itype, attributes=attrs,
                             buffers=buffers, chosen=chosen, matrix=matrix,
                             connectivity=connectivity, cell_size_m=cell, window_m=window_m,
                             n_candidates=n_candidates,
                             restricted_share_pct=restricted_share_pct, buffer_crs=local.srs,
                             buffer_error=buffer_error)
    return ScreeningResult(
        name=name, route=route_out, segments=seg_out, segment_species=segsp,
        species=species_table, lengths=lengths, buffers=shares,
        protected_areas=pa_table, corridor_crossings=cc_out, fragmentation=fragmentation,
        connectivity=con_table, crossing_candidates=cand_out, spacing=spacing,
        fence_design=fence, flags=flags, parameters=parameters,
        inputs=_inputs(route_ll, atl, matrix, name=name, route_path=route_path),
        layers_used=list(dict.fromkeys(layers.layer_names + infra_names)),
        notes=notes + _method_notes(atl, buffer_error, window_m=window_m, cell_size_m=cell),
        profiles=profiles, atlas=atl,
        context_layers=_context_layers(layers, chosen), mitigation=mitigation)


def _model_options(cell_size_m: float, window_km: float | None, buffers: tuple[float, ...],
                   n_candidates: int) -> tuple[float, float]:
    """Checked cell size (m) and connectivity window (m; default the largest buffer)."""
    cell = float(cell_size_m)
    if not math.isfinite(cell) or cell <= 0:
        raise OptionError(f"cell_size_m={cell_size_m!r} must be a positive number of metres.")
    window_m = 1000.0 * float(window_km if window_km is not None else max(buffers))
    if not math.isfinite(window_m) or window_m <= 0:
        raise OptionError(f"window_km={window_km!r} must be a positive number of km.")
    if int(n_candidates) < 0:
        raise OptionError(f"n_candidates={n_candidates!r} must be >= 0.")
    return cell, window_m


def _parameters(atl: Atlas, *, name: str, infra_type: str, attributes: Mapping[str, object],
                buffers: tuple[float, ...], chosen: list[str], matrix: MatrixLike,
                connectivity: bool, cell_size_m: float, window_m: float, n_candidates: int,
                restricted_share_pct: float, buffer_crs: str,
                buffer_error: float) -> dict[str, Any]:
    """Every parameter of the run, as text and numbers for the report."""
    return {
        "scenario": name, "infra_type": infra_type,
        "attributes": ", ".join(f"{k}={'yes' if v is True else 'no' if v is False else v}"
                                for k, v in attributes.items()) or "(none)",
        "buffers_km": ", ".join(f"{b:g}" for b in buffers),
        "species": ", ".join(chosen) or "(none)",
        "barrier_matrix": "shipped 2017 CAMI matrix" if matrix is None else str(
            matrix if not isinstance(matrix, pd.DataFrame) else "user DataFrame"),
        "connectivity_modelled": bool(connectivity), "cell_size_m": cell_size_m,
        "window_km": window_m / 1000.0, "n_candidates": int(n_candidates),
        "restricted_share_pct": float(restricted_share_pct),
        "analysis_crs": atl.analysis_crs.to_string(), "buffer_crs": buffer_crs,
        "buffer_scale_error_pct": round(buffer_error, 4),
        "atlas": atl.name + (f" ({atl.path})" if atl.path else ""),
    }


def _method_notes(atl: Atlas, buffer_error: float, *, window_m: float,
                  cell_size_m: float) -> list[str]:
    """Method notes and limitations of a screening (the report's notes section)."""
    notes = [
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
        f"within {window_m / 1000:g} km of the route ({cell_size_m:g} m cells), with existing "
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
    return notes


def _inputs(route_ll: gpd.GeoSeries, atl: Atlas, matrix: MatrixLike, *, name: str,
            route_path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Inputs for the reproducibility block (name -> path, or the route's WKB)."""
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
    return inputs


def _context_layers(layers: ScreeningLayers, chosen: list[str]) -> dict[str, gpd.GeoDataFrame]:
    """Layers drawn around the route on the map: ranges, corridors and countries."""
    range_polys = layers.range_polys
    context = {"range_polys": gpd.GeoDataFrame(
        {"species": [s for s in chosen if s in range_polys.index]},
        geometry=[range_polys[s] for s in chosen if s in range_polys.index],
        crs=range_polys.crs)}
    if len(layers.corridors):
        context["corridors"] = layers.corridors[
            layers.corridors["species"].map(canonical_species_name).isin(chosen)]
    if len(layers.countries):
        context["countries"] = layers.countries
    return context
