"""Kilometres of infrastructure inside species ranges and corridors, by barrier class and country.

The overlay is vectorised: the infrastructure goes into one :class:`shapely.STRtree`;
each zone (a species' range ∪ corridor cut by a country) is prepared once and queried
in bulk; segments lying wholly inside a zone keep their full length, only those that
cross a zone boundary are clipped with :func:`shapely.intersection` on arrays.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .._options import check_option
from ..errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    SchemaError,
    UnknownSpeciesError,
)
from ..measure import EQUAL_AREA_CRS, area_km2, geodesic_length_km, to_crs
from ..schema import BARRIER_CLASSES, canonical_species_name, normalise_value
from ..validate import suggest_column
from .classify import _class_codes
from .matrix import MatrixLike, _as_matrix
from .species import _key, _lookup

__all__ = ["OUTSIDE_COUNTRIES", "infrastructure_in_ranges", "species_polygons"]

#: ``country`` value of the parts of a range that lie outside every country polygon.
OUTSIDE_COUNTRIES = "none"
#: ``country`` value when no countries layer is given.
ALL_COUNTRIES = "all"

_POLYGONS = ("Polygon", "MultiPolygon")
_LINES = ("LineString", "MultiLineString")
_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
_OUTPUT_COLUMNS = ["species", "matrix_species", "infra_type", "barrier_class", "country",
                   "length_km", "share_of_type", "range_area_km2", "density_km_per_1000km2"]


# --- input checks ------------------------------------------------------------------------

def _check_frame(gdf: object, what: str, columns: tuple[str, ...],
                 types: tuple[str, ...]) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise CRSError(
            f"{what} has no CRS. Set the CRS the data is actually in, e.g. "
            f".set_crs('EPSG:4326'); do not guess.")
    for col in columns:
        if col not in gdf.columns:
            present = [str(c) for c in gdf.columns if c != gdf.geometry.name]
            close = suggest_column(col, present)
            raise MissingColumnError(
                f"{what} has no column {col!r}" + (f" (found {close!r}: rename it)" if close
                                                   else "")
                + f"; present: {', '.join(present) or 'none'}.")
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        raise EmptyLayerError(f"{what} has no features with a geometry ({len(gdf)} row(s), all "
                              "empty or missing); check the file, the layer and any filter.")
    type_ids = shapely.get_type_id(geoms[present])
    names = {_TYPE_NAMES.get(int(t), "?") for t in np.unique(type_ids)}
    wrong = sorted(names - set(types))
    if wrong:
        raise GeometryTypeError(
            f"{what} holds {', '.join(wrong)} geometries; expected {', '.join(types)}. "
            "Use the right layer, or convert (explode() collections, .boundary for lines).")
    invalid = present & ~shapely.is_valid(geoms)
    if invalid.any():
        reason = shapely.is_valid_reason(geoms[invalid][:1])[0]
        raise InvalidGeometryError(
            f"{what}: {int(invalid.sum())} invalid geometr"
            f"{'y' if invalid.sum() == 1 else 'ies'} (index {list(gdf.index[invalid][:5])}; "
            f"{reason}). Repair them first, e.g. gdf.geometry = gdf.geometry.make_valid() or "
            "cami_atlas.validate.validate_layer(gdf, kind, repair=True).")
    return gdf.loc[present]


def _to_crs(gdf: gpd.GeoDataFrame, crs: CRS) -> np.ndarray:
    """Geometries of ``gdf`` in ``crs``, edges densified first (measure.to_crs)."""
    return np.asarray(to_crs(gdf.geometry, crs).values, dtype=object)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygon parts of each geometry (MultiPolygon or None per input)."""
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms) == 0:
        return out
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_dimensions(parts) == 2) & ~shapely.is_empty(parts)
    if keep.any():
        # nested collections: get_parts is one level deep, polygons of a GC are reached
        polys = shapely.get_parts(parts[keep])
        pidx = np.repeat(idx[keep], shapely.get_num_geometries(parts[keep]))
        polys = np.where(shapely.get_type_id(polys) == 3, polys, None)
        ok = polys != None  # noqa: E711 - elementwise on an object array
        present = np.unique(pidx[ok])
        out[present] = shapely.multipolygons(polys[ok], indices=np.searchsorted(
            present, pidx[ok]))
    return out


# --- zones ---------------------------------------------------------------------------------

def species_polygons(
    ranges: gpd.GeoDataFrame,
    *,
    corridors: gpd.GeoDataFrame | None = None,
    crs: str | CRS = EQUAL_AREA_CRS,
) -> gpd.GeoSeries:
    """Range ∪ corridor polygons of every species (corridor lines are ignored).

    Parameters
    ----------
    ranges : geopandas.GeoDataFrame
        Species ranges (polygons) with a ``species`` column.
    corridors : geopandas.GeoDataFrame, optional
        Corridors with a ``species`` column; only polygon features are used.
    crs : str or pyproj.CRS, default ``"ESRI:102025"``
        CRS of the result; inputs are reprojected (polygon edges densified first).

    Returns
    -------
    geopandas.GeoSeries
        One (Multi)Polygon per species, indexed by the canonical species name.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> r = gpd.GeoDataFrame({"species": ["Saiga tatarica", "Saiga_tatarica"]},
    ...                      geometry=[box(0, 0, 2, 1), box(1, 0, 3, 1)], crs="ESRI:102025")
    >>> species_polygons(r).area.to_dict()
    {'Saiga_tatarica': 3.0}
    """
    target = CRS.from_user_input(crs)
    frames = [_check_frame(ranges, "species ranges", ("species",), _POLYGONS)]
    if corridors is not None:
        corr = _check_frame(corridors, "corridors", ("species",), _POLYGONS + _LINES)
        dims = shapely.get_dimensions(corr.geometry.values)
        if (dims == 2).any():
            frames.append(corr.loc[dims == 2])
    geoms = np.concatenate([_to_crs(f, target) for f in frames])
    names = pd.concat([f["species"].astype(str) for f in frames]).map(canonical_species_name)
    codes, uniques = pd.factorize(names.to_numpy(), sort=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    merged = [shapely.union_all(geoms[order[a:b]]) for a, b in itertools.pairwise(bounds)]
    return gpd.GeoSeries(_polygonal(np.array(merged, dtype=object)),
                         index=pd.Index(uniques, name="species"), crs=target)


@dataclass
class _Zones:
    species: np.ndarray  # per zone
    country: np.ndarray
    geoms: np.ndarray
    area_km2: np.ndarray


def _countries(countries: gpd.GeoDataFrame, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    c = _check_frame(countries, "countries", ("iso3",), _POLYGONS)
    geoms = _to_crs(c, crs)
    iso = c["iso3"].astype(str).to_numpy()
    codes, uniques = pd.factorize(iso, sort=True)
    counts = np.bincount(codes, minlength=len(uniques))
    merged = np.empty(len(uniques), dtype=object)
    single = counts[codes] == 1
    merged[codes[single]] = geoms[single]
    for k in np.flatnonzero(counts > 1):
        merged[k] = shapely.union_all(geoms[codes == k])
    return np.asarray(uniques, dtype=object), merged


def _zones(polys: gpd.GeoSeries, iso: np.ndarray | None, cgeoms: np.ndarray | None,
           crs: CRS) -> _Zones:
    sp_list, co_list, geo_list = [], [], []
    if iso is None:
        for sp, g in polys.items():
            sp_list.append(sp)
            co_list.append(ALL_COUNTRIES)
            geo_list.append(g)
    else:
        tree = shapely.STRtree(cgeoms)
        land = shapely.union_all(cgeoms)
        shapely.prepare(land)
        for sp, g in polys.items():
            hit = tree.query(g, predicate="intersects")
            pieces = _polygonal(shapely.intersection(g, cgeoms[hit]))
            sp_list.extend([sp] * len(hit))
            co_list.extend(iso[hit])
            geo_list.extend(pieces)
            if not shapely.covers(land, g):
                sp_list.append(sp)
                co_list.append(OUTSIDE_COUNTRIES)
                geo_list.append(_polygonal(np.array([shapely.difference(g, land)]))[0])
    geoms = np.array(geo_list, dtype=object)
    ok = np.array([x is not None for x in geo_list], dtype=bool)
    if ok.any():
        ok[ok] = ~shapely.is_empty(geoms[ok])
    geoms = geoms[ok]
    area = area_km2(gpd.GeoSeries(geoms, crs=crs)).to_numpy() if len(geoms) else np.zeros(0)
    return _Zones(np.array(sp_list, dtype=object)[ok], np.array(co_list, dtype=object)[ok],
                  geoms, area)


# --- clipping ------------------------------------------------------------------------------

@dataclass
class _Clip:
    """Pieces of segments inside zones: segment index, zone index, length in km."""

    segment: np.ndarray
    zone: np.ndarray
    length_km: np.ndarray


def _clip(seg_geoms: np.ndarray, seg_length_km: np.ndarray, tree: shapely.STRtree,
          zones: np.ndarray, crs: CRS) -> _Clip:
    """Length of every segment inside every zone it meets (zones must not overlap each other
    within one zone group; parts of one zone are disjoint)."""
    parts, part_zone = shapely.get_parts(zones, return_index=True)
    if len(parts) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _Clip(empty, empty, np.zeros(0))
    shapely.prepare(parts)
    part_idx, seg_idx = tree.query(parts, predicate="intersects")
    inside = shapely.contains_properly(parts[part_idx], seg_geoms[seg_idx])
    lengths = np.empty(len(seg_idx))
    lengths[inside] = seg_length_km[seg_idx[inside]]
    cross = ~inside
    if cross.any():
        pieces = shapely.intersection(seg_geoms[seg_idx[cross]], parts[part_idx[cross]])
        lengths[cross] = geodesic_length_km(gpd.GeoSeries(pieces, crs=crs)).to_numpy()
    return _Clip(seg_idx, part_zone[part_idx], lengths)


# --- the table -----------------------------------------------------------------------------

def _select(names: list[str], species: str | list[str] | tuple[str, ...] | None,
            matrix: pd.DataFrame) -> list[str]:
    if species is None:
        return names
    wanted = [species] if isinstance(species, str) else list(species)
    by_key = {_key(n): n for n in names}
    known_matrix = sorted(matrix["species"].unique())
    resolved = {n: _lookup(n, known_matrix) for n in names}
    out: list[str] = []
    for w in wanted:
        hit = by_key.get(_key(canonical_species_name(w)))
        if hit is not None:
            out.append(hit)
            continue
        target = _lookup(str(w), known_matrix)
        same = [n for n in names if target is not None and resolved[n] == target]
        if not same:
            raise UnknownSpeciesError(
                f"species {w!r} has no range or corridor in the layers given; species "
                f"present: {', '.join(names)}. Pass one of these names (or a synonym of one).")
        out.extend(same)
    return list(dict.fromkeys(out))


def _study_area(study_area: gpd.GeoDataFrame | gpd.GeoSeries | None, polys: gpd.GeoSeries,
                cgeoms: np.ndarray | None, crs: CRS) -> object:
    if study_area is None:
        parts = list(polys.to_numpy()) + (list(cgeoms) if cgeoms is not None else [])
        return shapely.union_all(np.array([p for p in parts if p is not None], dtype=object))
    frame = (study_area.to_frame("geometry") if isinstance(study_area, gpd.GeoSeries)
             else study_area)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise SchemaError(
            f"study_area: expected a GeoDataFrame or GeoSeries (with a CRS), got "
            f"{type(study_area).__name__}; wrap a shapely polygon as "
            "geopandas.GeoSeries([polygon], crs=...).")
    frame = _check_frame(frame, "study_area", (), _POLYGONS)
    return shapely.union_all(_to_crs(frame, crs))


def infrastructure_in_ranges(
    infra: gpd.GeoDataFrame,
    ranges: gpd.GeoDataFrame,
    *,
    corridors: gpd.GeoDataFrame | None = None,
    countries: gpd.GeoDataFrame | None = None,
    species: str | list[str] | tuple[str, ...] | None = None,
    matrix: MatrixLike = None,
    study_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    analysis_crs: str | CRS = EQUAL_AREA_CRS,
    unmatched_species: Literal["unknown", "raise"] = "unknown",
) -> pd.DataFrame:
    """Km of infrastructure inside each species' range ∪ corridor, by class and country.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame
        Infrastructure lines with ``infra_type`` and the attributes the barrier matrix
        rates (see :func:`cami_atlas.barriers.classify_barriers`).
    ranges : geopandas.GeoDataFrame
        Species ranges (polygons) with ``species``. Features without geometry are
        skipped (they add nothing to a union).
    corridors : geopandas.GeoDataFrame, optional
        Corridors with ``species``; polygons are merged with the range of their species,
        lines (migration routes) are ignored here (see
        :func:`cami_atlas.barriers.corridor_crossings`).
    countries : geopandas.GeoDataFrame, optional
        Country polygons with ``iso3``; lengths are split by country. Parts of a range
        outside every country get ``country = "none"``. Without countries the table has
        ``country = "all"``.
    species : str or list of str, optional
        Species to report (names as in ``ranges``/``corridors`` or any synonym of one,
        e.g. ``"saiga"``); default: all.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    study_area : GeoDataFrame or GeoSeries, optional
        Polygons of the study area (see Notes). Default: the union of all country
        polygons and all species' ranges ∪ corridors given.
    analysis_crs : str or pyproj.CRS, default ``"ESRI:102025"``
        CRS in which all inputs are intersected (Asia North Albers Equal Area, the CRS of
        the 2017 atlas). Inputs in other CRSs are reprojected to it (polygon edges are
        densified to ≤ 10 km / 0.1° first, so long straight range edges follow their
        true course); a layer without CRS raises :class:`CRSError`.
    unmatched_species : {"unknown", "raise"}, default "unknown"
        What to do with a species the matrix does not rate (e.g. ``Equus_kiang`` with
        the 2017 matrix): report all its infrastructure as ``unknown`` (with
        ``matrix_species`` empty), or raise :class:`UnknownSpeciesError`.

    Returns
    -------
    pandas.DataFrame
        Tidy: one row per species × infra_type × barrier_class × country with
        infrastructure, columns

        ``species``
            canonical name as in the range/corridor layer;
        ``matrix_species``
            the matrix species used to classify it (``None`` if not rated);
        ``infra_type``, ``barrier_class``, ``country``
            ``country`` is the ``iso3`` of the country polygon, ``"none"``
            outside all countries, ``"all"`` without a countries layer;
        ``length_km``
            geodesic length on the WGS84 ellipsoid
            (:func:`cami_atlas.measure.geodesic_length_km`) of the infrastructure
            inside the species' range ∪ corridor in that country;
        ``share_of_type``
            ``length_km`` divided by the total geodesic length of all
            infrastructure of that ``infra_type`` inside the study area;
        ``range_area_km2``
            area of the species' range ∪ corridor in that country, km² in
            ``ESRI:102025`` (:func:`cami_atlas.measure.area_km2`);
        ``density_km_per_1000km2``
            ``length_km / range_area_km2 * 1000``.

    Raises
    ------
    CRSError
        A layer has no CRS.
    MissingColumnError, GeometryTypeError, InvalidGeometryError, EmptyLayerError
        A layer lacks a column, holds the wrong geometry type, invalid geometries or
        nothing at all.
    UnknownSpeciesError
        ``species`` names a species without range/corridor, or (with
        ``unmatched_species="raise"``) a species is not in the matrix.

    Notes
    -----
    *Study area.* The study area is ``study_area`` if given, else the union of every
    country polygon and every species' range ∪ corridor of the input (all species, not
    only the selected ones). Only infrastructure inside it is counted: ranges are
    clipped to it, and the denominator of ``share_of_type`` is the length of all
    infrastructure of the type inside it. Shares of one species and type therefore sum
    to at most 1 over classes and countries.

    *Geometry.* Segments wholly inside a zone (species × country) keep their full
    length; segments crossing a zone boundary are intersected with it in
    ``analysis_crs`` and the pieces measured geodesically. Infrastructure running
    exactly along a border shared by two countries counts in both (as in any polygon
    overlay). Each infrastructure segment is classified per species with the 2017 rule
    (:func:`cami_atlas.barriers.classify_barriers`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...                           geometry=[box(60, 45, 61, 46)], crs="EPSG:4326")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"], "track": ["double track"]},
    ...                         geometry=[LineString([(59.5, 45.5), (61.5, 45.5)])],
    ...                         crs="EPSG:4326")
    >>> t = infrastructure_in_ranges(rail, ranges)
    >>> t[["species", "matrix_species", "barrier_class", "country"]].iloc[0].tolist()
    ['Saiga_tatarica', 'Saiga_spp', 'complete barrier', 'all']
    >>> round(float(t["length_km"].iloc[0]), 1)  # one degree of longitude at 45.5 N
    78.2

    Longer than 120 lines only through this documentation of its options and output
    columns; the code is about 70 lines (one bulk STRtree overlay, then the group sums).
    """
    check_option("unmatched_species", unmatched_species, ("unknown", "raise"))
    crs = CRS.from_user_input(analysis_crs)
    m = _as_matrix(matrix)
    seg = _check_frame(infra, "infrastructure", ("infra_type",), _LINES)
    polys_all = species_polygons(ranges, corridors=corridors, crs=crs)
    polys_all = polys_all[polys_all.notna() & ~polys_all.is_empty]
    names = [str(n) for n in polys_all.index]
    if not names:
        raise EmptyLayerError("species ranges and corridors hold no polygon with an area.")
    chosen = _select(names, species, m)
    known_matrix = sorted(m["species"].unique())
    msp = {n: _lookup(n, known_matrix) for n in chosen}
    if unmatched_species == "raise":
        missing = [n for n, v in msp.items() if v is None]
        if missing:
            raise UnknownSpeciesError(
                f"species {', '.join(missing)} not in the barrier matrix (species: "
                f"{', '.join(known_matrix)}); pass a matrix that rates them or "
                "unmatched_species='unknown'.")

    iso, cgeoms = _countries(countries, crs) if countries is not None else (None, None)
    area = _study_area(study_area, polys_all, cgeoms, crs)
    shapely.prepare(area)
    polys = gpd.GeoSeries(_polygonal(np.array(
        [shapely.intersection(g, area) for g in polys_all[chosen]], dtype=object)),
        index=pd.Index(chosen, name="species"), crs=crs)
    polys = polys[polys.notna()]
    zones = _zones(polys, iso, cgeoms, crs)

    geoms = _to_crs(seg, crs)
    full_km = geodesic_length_km(seg.geometry).to_numpy()
    raw_types = seg["infra_type"]
    types = raw_types.map({u: normalise_value("infra_type", u)
                           for u in pd.unique(raw_types.dropna())}).astype(str)
    type_codes, type_names = pd.factorize(types.to_numpy(), sort=True)
    tree = shapely.STRtree(geoms)

    # totals per type inside the study area
    total = _clip(geoms, full_km, tree, np.array([area], dtype=object), crs)
    total_km = np.bincount(type_codes[total.segment], weights=total.length_km,
                           minlength=len(type_names))

    clip = _clip(geoms, full_km, tree, zones.geoms, crs)
    class_codes = _class_codes(seg, list(dict.fromkeys(msp.values())), m)
    zone_sp = zones.species[clip.zone]
    cls = np.zeros(len(clip.segment), dtype=np.int8)
    for name in chosen:
        sel = zone_sp == name
        cls[sel] = class_codes[msp[name]][clip.segment[sel]]
    table = pd.DataFrame({
        "zone": clip.zone,
        "type_code": type_codes[clip.segment],
        "class_code": cls,
        "length_km": clip.length_km,
    })
    table = table[table["length_km"] > 0]
    out = table.groupby(["zone", "type_code", "class_code"], as_index=False)["length_km"].sum()
    zone = out["zone"].to_numpy()
    out.insert(0, "species", zones.species[zone])
    out.insert(1, "matrix_species", [msp[s] for s in zones.species[zone]])
    out.insert(2, "infra_type", np.asarray(type_names, dtype=object)[out["type_code"]])
    out.insert(3, "barrier_class", np.array(BARRIER_CLASSES, dtype=object)[out["class_code"]])
    out.insert(4, "country", zones.country[zone])
    denom = total_km[out["type_code"].to_numpy()]
    out["share_of_type"] = np.divide(out["length_km"].to_numpy(), denom,
                                     out=np.full(len(out), np.nan), where=denom > 0)
    out["range_area_km2"] = zones.area_km2[zone]
    out["density_km_per_1000km2"] = out["length_km"] / out["range_area_km2"] * 1000.0
    order = {c: i for i, c in enumerate(BARRIER_CLASSES)}
    out = out.assign(_c=out["barrier_class"].map(order)).sort_values(
        ["species", "infra_type", "_c", "country"], kind="stable")
    return out[_OUTPUT_COLUMNS].reset_index(drop=True)
