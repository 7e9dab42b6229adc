"""Landscape fragmentation by barriers: effective mesh size (Jaeger 2000; Moser et al. 2007).

The *effective mesh size* ``m_eff`` is the expected area reachable from a random point of a
reporting unit without crossing a barrier (Jaeger J.A.G. 2000, "Landscape division,
splitting index, and effective mesh size", *Landscape Ecology* 15: 115-130)::

    CUT:  m_eff = (1 / A_total) * sum_i A_i ** 2
    CBC:  m_eff = (1 / A_total) * sum_i A_i * A_i_cmpl

``A_total`` is the area of the reporting unit, ``A_i`` the area of fragment ``i`` inside the
unit. The *cutting-out* procedure (CUT) clips fragments at the unit boundary as if it were a
barrier; the *cross-boundary connections* procedure (CBC; Moser B., Jaeger J.A.G., Tappeiner
U., Tasser E. & Eiselt B. 2007, "Modification of the effective mesh size for measuring
landscape fragmentation to solve the boundary problem", *Landscape Ecology* 22: 447-459)
weights each inside part by the area ``A_i_cmpl`` of the complete fragment, including its
parts outside the unit. Without reporting units the unit is the area polygon itself and the
two procedures agree. The effective mesh density ``s_eff = 1 / m_eff`` is reported in meshes
per 1000 km². All areas are in km² in an equal-area CRS (:data:`~cami_atlas.measure.EQUAL_AREA_CRS`,
Asia North Albers Equal Area, by default); areas and lines in another CRS are reprojected with
:func:`cami_atlas.measure.to_crs` (edges densified to 10 km first), so the area of a range here
is the one :func:`cami_atlas.measure.area_km2` and every report state for it.

Fragments are the faces of the planar graph formed by the area polygon's boundary and the
cutting lines (clipped to the area's widened bounding box, so that lines crossing the
boundary are noded with it exactly): the linework is noded by a union
(``shapely.union_all`` with snap-rounding to a 1 mm grid, which also nodes line ends lying
on another line up to floating-point error) and polygonized (``shapely.polygonize``);
faces outside the area (holes, or between lines beyond the boundary) are dropped. The
fragments tile the area exactly (their areas add up to the area's to about 1e-9). A line
that does not cross an area from edge to edge, or end on another line, is a dangle and
splits nothing, as it should for a barrier an animal can walk round; but a line end that
stops short of the boundary or of another line by at most ``snap_m`` metres (default 1 m:
digitising gaps, data clipped at a window edge) is joined to it by a straight link. The
alternative, subtracting the lines buffered by a small width from the area, bridges such
gaps too but removes a strip of about ``2 * width * length`` from the area, so the
fragment areas no longer add up to the area, and it creates slivers where lines run along
the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._options import check_option
from ..errors import (
    CRSError,
    EmptyLayerError,
    GeometryTypeError,
    InvalidGeometryError,
    MissingColumnError,
    OptionError,
    SchemaError,
    UnknownSpeciesError,
    UnknownValueError,
)
from ..measure import EQUAL_AREA_CRS, require_crs, to_crs
from ..schema import BARRIER_CLASSES, canonical_species_name
from ..validate import suggest_column

__all__ = [
    "PROCEDURES",
    "effective_mesh_size",
    "fragments",
    "range_fragmentation",
]

#: Procedures for the effective mesh size: cutting-out and cross-boundary connections.
PROCEDURES: tuple[str, ...] = ("CUT", "CBC")

GRID_SIZE_M = 1e-3
_POLY_TYPES = (3, 6)  # Polygon, MultiPolygon
_LINE_TYPES = (1, 5)  # LineString, MultiLineString
_RESULT_COLUMNS = ("procedure", "area_km2", "fragment_area_km2", "m_eff_km2",
                   "s_eff_per_1000km2", "n_fragments", "largest_fragment_share")


# ------------------------------------------------------------------------- helpers


def _ranges(lengths: np.ndarray) -> np.ndarray:
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    return np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)


def _grouped(func: Callable, geoms: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """``func`` (a shapely reduction with ``axis``) over the geometries of each owner.

    Owners are bucketed by group size (powers of two) so the padded 2-D arrays stay
    within twice the number of geometries.
    """
    out = np.empty(n, dtype=object)
    counts = np.bincount(owner, minlength=n)
    order = np.argsort(owner, kind="stable")
    geoms, owner = geoms[order], owner[order]
    col = _ranges(counts)
    width = np.where(counts > 0, 2 ** np.ceil(np.log2(np.maximum(counts, 1))), 1).astype(int)
    for wd in np.unique(width):
        groups = np.flatnonzero(width == wd)
        row_of = np.full(n, -1)
        row_of[groups] = np.arange(len(groups))
        arr = np.full((len(groups), wd), None, dtype=object)
        sel = row_of[owner] >= 0
        arr[row_of[owner[sel]], col[sel]] = geoms[sel]
        out[groups] = func(arr, axis=1)
    return out


def _geometries(data: gpd.GeoDataFrame | gpd.GeoSeries, what: str, types: tuple[int, ...],
                crs: str) -> np.ndarray:
    if not isinstance(data, gpd.GeoDataFrame | gpd.GeoSeries):
        raise SchemaError(f"{what} must be a GeoDataFrame or GeoSeries, got "
                          f"{type(data).__name__}.")
    require_crs(data, what)
    geoms = np.asarray(to_crs(data.geometry, crs).values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    type_ids = shapely.get_type_id(geoms)
    bad = present & ~np.isin(type_ids, types)
    if bad.any():
        wanted = "Polygon/MultiPolygon" if types == _POLY_TYPES else "LineString/MultiLineString"
        found = sorted(set(shapely.get_type_id(geoms[bad]).tolist()))
        names = {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
                 5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
        hint = (" Use .boundary to cut by polygon outlines." if types == _LINE_TYPES else "")
        raise GeometryTypeError(
            f"{what} must hold {wanted} geometries; {int(bad.sum())} features are "
            f"{', '.join(names.get(t, str(t)) for t in found)}.{hint}"
        )
    if types == _POLY_TYPES:
        invalid = present & ~shapely.is_valid(geoms)
        if invalid.any():
            ids = list(data.index[invalid][:10])
            raise InvalidGeometryError(
                f"{what} has {int(invalid.sum())} invalid polygons (index {ids}); repair them "
                "first, e.g. gdf.geometry.make_valid()."
            )
    geoms = geoms.copy()
    geoms[~present] = None
    return geoms


def _check_snap(snap_m: float) -> float:
    try:
        value = float(snap_m)
    except (TypeError, ValueError):
        raise OptionError(f"snap_m={snap_m!r} is not a number; pass metres >= 0.") from None
    if not np.isfinite(value) or value < 0:
        raise OptionError(f"snap_m={snap_m!r} is not valid; pass a finite distance in "
                          "metres >= 0.")
    return value


def _check_crs(crs: str) -> str:
    from pyproj import CRS

    try:
        parsed = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError
        raise CRSError(f"crs={crs!r} is not a CRS pyproj understands ({exc}); pass an "
                       "equal-area CRS such as 'ESRI:102025'.") from None
    if not parsed.is_projected:
        raise CRSError(f"crs={crs!r} is geographic; areas need an equal-area projected CRS "
                       "such as 'ESRI:102025' (Asia North Albers Equal Area).")
    return crs


def _faces(areas: np.ndarray, lines: np.ndarray, allowed: np.ndarray | None = None, *,
           snap_m: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Fragments of each area cut by the lines: (face polygons, owning area position).

    ``allowed[l, a]`` says whether line ``l`` cuts area ``a`` (all lines if None).
    """
    n_a = len(areas)
    present = ~shapely.is_missing(areas)
    lines_ok = np.flatnonzero(~(shapely.is_missing(lines) | shapely.is_empty(lines)))
    if len(lines_ok):
        pairs = shapely.STRtree(lines[lines_ok]).query(areas, predicate="intersects")
        ai, li = pairs[0], lines_ok[pairs[1]]
    else:
        ai = li = np.zeros(0, dtype=np.int64)
    if allowed is not None and len(ai):
        keep = allowed[li, ai]
        ai, li = ai[keep], li[keep]
    # Clip the lines to each area's bounding box widened by a margin, not to the area
    # itself: a line clipped exactly at the boundary may end a rounding error short of it
    # and dangle; a line that runs past the boundary is noded with it exactly. Faces
    # outside the area are dropped below.
    box = shapely.bounds(areas[ai]).reshape(-1, 4)
    margin = 0.01 * np.maximum(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])[:, None] + 1.0
    rects = shapely.box(*(box + margin * np.array([-1.0, -1.0, 1.0, 1.0])).T)
    clipped = shapely.intersection(lines[li], rects)
    parts, pidx = shapely.get_parts(clipped, return_index=True)
    linear = shapely.get_dimensions(parts) == 1
    parts, owner = parts[linear], ai[pidx[linear]]
    bounds = shapely.boundary(areas[present])
    bound_owner = np.flatnonzero(present)
    connectors, conn_owner = _connectors(parts, owner, bounds, bound_owner, snap_m)
    linework = np.concatenate([bounds, parts, connectors])
    line_owner = np.concatenate([bound_owner, owner, conn_owner])
    # snap-rounding to a 1 mm grid nodes line ends that lie on another line up to
    # floating-point error (T-junctions)
    noded = _grouped(partial(shapely.union_all, grid_size=GRID_SIZE_M), linework, line_owner, n_a)
    segments, sidx = shapely.get_parts(noded, return_index=True)
    polys = _grouped(shapely.polygonize, segments, sidx, n_a)
    faces, fidx = shapely.get_parts(polys, return_index=True)
    inside = shapely.intersects(areas[fidx], shapely.point_on_surface(faces))
    return faces[inside], fidx[inside]


def _connectors(parts: np.ndarray, owner: np.ndarray, bounds: np.ndarray,
                bound_owner: np.ndarray, snap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Straight links from line ends to the nearest other linework within ``snap_m``.

    A line end that touches another line or the area boundary needs none; one that
    stops short by at most ``snap_m`` is joined to the nearest point of that linework.
    """
    empty = (np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64))
    if snap_m <= 0 or len(parts) == 0:
        return empty
    n = len(parts)
    ends = np.concatenate([shapely.get_point(parts, 0), shapely.get_point(parts, -1)])
    end_part = np.tile(np.arange(n), 2)
    targets = np.concatenate([parts, bounds])
    target_part = np.concatenate([np.arange(n), np.full(len(bounds), -1)])
    target_owner = np.concatenate([owner, bound_owner])
    ei, ti = shapely.STRtree(targets).query(ends, predicate="dwithin", distance=snap_m)
    keep = (target_owner[ti] == owner[end_part[ei]]) & (target_part[ti] != end_part[ei])
    ei, ti = ei[keep], ti[keep]
    if len(ei) == 0:
        return empty
    dist = shapely.distance(ends[ei], targets[ti])
    order = np.lexsort((dist, ei))
    ei, ti, dist = ei[order], ti[order], dist[order]
    nearest = np.r_[True, ei[1:] != ei[:-1]]  # first pair of each end = nearest target
    dangling = nearest & (dist > 0)
    links = shapely.shortest_line(ends[ei[dangling]], targets[ti[dangling]])
    return links, owner[end_part[ei[dangling]]]


def _metrics(piece_area: np.ndarray, piece_face: np.ndarray, face_area: np.ndarray,
             piece_key: np.ndarray, unit_area: np.ndarray, procedure: str) -> pd.DataFrame:
    """Mesh metrics per key (0..len(unit_area)-1) from the pieces inside the units."""
    n = len(unit_area)
    frag = np.bincount(piece_key, weights=piece_area, minlength=n)
    if procedure == "CUT":
        weighted = np.bincount(piece_key, weights=piece_area ** 2, minlength=n)
        n_frag = np.bincount(piece_key, minlength=n)
        largest = np.zeros(n)
        np.maximum.at(largest, piece_key, piece_area)
    else:
        weighted = np.bincount(piece_key, weights=piece_area * face_area[piece_face], minlength=n)
        per_face = pd.Series(piece_area).groupby([piece_key, piece_face]).sum()
        keys = per_face.index.get_level_values(0).to_numpy()
        n_frag = np.bincount(keys, minlength=n)
        largest = np.zeros(n)
        np.maximum.at(largest, keys, per_face.to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        m_eff = np.where(unit_area > 0, weighted / unit_area, np.nan)
        s_eff = 1000.0 / m_eff
        share = np.where(unit_area > 0, largest / unit_area, np.nan)
    return pd.DataFrame({
        "procedure": procedure,
        "area_km2": unit_area,
        "fragment_area_km2": frag,
        "m_eff_km2": m_eff,
        "s_eff_per_1000km2": s_eff,
        "n_fragments": n_frag.astype(np.int64),
        "largest_fragment_share": share,
    })


def _pieces(faces: np.ndarray, face_owner: np.ndarray, units: np.ndarray | None,
            unit_owner: np.ndarray | None = None):
    """Pieces of the faces inside the units: (piece km², face position, unit position)."""
    face_area = shapely.area(faces) / 1e6
    if units is None:
        return face_area, np.arange(len(faces)), face_owner, face_area
    fi, ui = shapely.STRtree(units).query(faces, predicate="intersects")
    if unit_owner is not None:  # a unit belongs to one area (species) only
        keep = unit_owner[ui] == face_owner[fi]
        fi, ui = fi[keep], ui[keep]
    inter = shapely.intersection(faces[fi], units[ui])
    parts, pidx = shapely.get_parts(inter, return_index=True)
    polygonal = shapely.get_dimensions(parts) == 2
    parts, pidx = parts[polygonal], pidx[polygonal]
    area = shapely.area(parts) / 1e6
    positive = area > 0
    return area[positive], fi[pidx][positive], ui[pidx][positive], face_area


# ----------------------------------------------------------------------- public API


def fragments(
    area_polygons: gpd.GeoDataFrame | gpd.GeoSeries,
    cutting_lines: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    snap_m: float = 1.0,
    crs: str = EQUAL_AREA_CRS,
) -> gpd.GeoDataFrame:
    """Split each area polygon into the fragments left between the cutting lines.

    Parameters
    ----------
    area_polygons : GeoDataFrame or GeoSeries
        Polygons (e.g. a species range); each row is split on its own.
    cutting_lines : GeoDataFrame or GeoSeries
        Barrier lines. Lines that do not cross an area (dangles) split nothing.
    snap_m : float, default 1.0
        Line ends within this many metres of the area boundary or of another line are
        joined to it (0: no joining).
    crs : str, default ``ESRI:102025``
        Equal-area CRS in which the split is done and areas are measured.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per fragment: ``area_id`` (index label of the area row), ``area_km2``;
        geometry in ``crs``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box, LineString
    >>> square = gpd.GeoSeries([box(0, 0, 10_000, 10_000)], crs="ESRI:102025")
    >>> cut = gpd.GeoSeries([LineString([(3000, -1), (3000, 10_001)])], crs="ESRI:102025")
    >>> sorted(fragments(square, cut)["area_km2"].round(6).tolist())
    [30.0, 70.0]
    """
    crs = _check_crs(crs)
    snap_m = _check_snap(snap_m)
    areas = _geometries(area_polygons, "area_polygons", _POLY_TYPES, crs)
    lines = _geometries(cutting_lines, "cutting_lines", _LINE_TYPES, crs)
    faces, owner = _faces(areas, lines, snap_m=snap_m)
    return gpd.GeoDataFrame(
        {"area_id": area_polygons.index.to_numpy()[owner],
         "area_km2": shapely.area(faces) / 1e6},
        geometry=faces, crs=crs,
    )


def effective_mesh_size(
    area_polygons: gpd.GeoDataFrame | gpd.GeoSeries,
    cutting_lines: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    reporting_units: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    procedure: str = "CUT",
    snap_m: float = 1.0,
    crs: str = EQUAL_AREA_CRS,
) -> pd.DataFrame:
    """Effective mesh size of areas cut by barrier lines (Jaeger 2000; Moser et al. 2007).

    Parameters
    ----------
    area_polygons : GeoDataFrame or GeoSeries
        The landscape (e.g. a species range). Without ``reporting_units`` every row is its
        own reporting unit; with them, the rows are merged into one landscape.
    cutting_lines : GeoDataFrame or GeoSeries
        Barrier lines that split the landscape (any CRS; transformed to ``crs``).
    reporting_units : GeoDataFrame or GeoSeries, optional
        Polygons to report on (e.g. countries). ``A_total`` is the unit's whole area;
        its parts outside the landscape count as no fragment (Jaeger 2000).
    procedure : {"CUT", "CBC"}, default "CUT"
        Cutting-out (fragments clipped to the unit) or cross-boundary connections
        (inside parts weighted by the complete fragment's area).
    snap_m : float, default 1.0
        Line ends within this many metres of the area boundary or of another line are
        joined to it (0: no joining).
    crs : str, default ``ESRI:102025``
        Equal-area CRS of the split and of every area.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``area_polygons`` (or ``reporting_units``): ``procedure``,
        ``area_km2`` (A_total), ``fragment_area_km2`` (landscape inside the unit),
        ``m_eff_km2``, ``s_eff_per_1000km2`` (= 1000 / m_eff), ``n_fragments``
        (CUT: pieces inside the unit; CBC: fragments overlapping it) and
        ``largest_fragment_share`` (largest fragment area inside the unit / A_total).
        A unit of zero area gets NaN.

    Examples
    --------
    A 100 x 100 km square cut at x = 30 km and y = 60 km into four rectangles:

    >>> import geopandas as gpd
    >>> from shapely import box, LineString
    >>> sq = gpd.GeoSeries([box(0, 0, 100_000, 100_000)], crs="ESRI:102025")
    >>> cuts = gpd.GeoSeries([LineString([(30_000, -1), (30_000, 100_001)]),
    ...                       LineString([(-1, 60_000), (100_001, 60_000)])], crs="ESRI:102025")
    >>> row = effective_mesh_size(sq, cuts).iloc[0]
    >>> round(float(row["m_eff_km2"]), 6), int(row["n_fragments"])
    (3016.0, 4)
    """
    procedure = check_option("procedure", procedure, PROCEDURES)
    crs = _check_crs(crs)
    snap_m = _check_snap(snap_m)
    areas = _geometries(area_polygons, "area_polygons", _POLY_TYPES, crs)
    lines = _geometries(cutting_lines, "cutting_lines", _LINE_TYPES, crs)
    if reporting_units is None:
        faces, owner = _faces(areas, lines, snap_m=snap_m)
        piece_area, piece_face, piece_key, face_area = _pieces(faces, owner, None)
        unit_area = np.where(shapely.is_missing(areas), 0.0, shapely.area(areas) / 1e6)
        index = area_polygons.index
    else:
        units = _geometries(reporting_units, "reporting_units", _POLY_TYPES, crs)
        landscape = shapely.union_all(areas)
        faces, owner = _faces(np.array([landscape], dtype=object), lines, snap_m=snap_m)
        piece_area, piece_face, piece_key, face_area = _pieces(faces, owner, units)
        unit_area = np.where(shapely.is_missing(units), 0.0, shapely.area(units) / 1e6)
        index = reporting_units.index
    table = _metrics(piece_area, piece_face, face_area, piece_key,
                     np.nan_to_num(unit_area), procedure)
    table.index = index
    return table


def _barrier_class(infra: gpd.GeoDataFrame, species: str, classify: Callable | None) -> pd.Series:
    if classify is not None:
        cls = classify(infra, species)
        if not isinstance(cls, pd.Series) or not cls.index.equals(infra.index):
            raise SchemaError(
                f"classify(infra, {species!r}) must return a pandas Series aligned to "
                f"infra.index; got {type(cls).__name__}."
            )
    elif "barrier_class" in infra.columns:
        cls = infra["barrier_class"]
    else:
        from .classify import classify_barriers

        cls = classify_barriers(infra, species)
    bad = ~cls.isin(BARRIER_CLASSES) & cls.notna()
    if bad.any():
        raise UnknownValueError(
            f"barrier classes for {species!r} include {sorted(set(cls[bad].astype(str)))}, "
            f"outside {list(BARRIER_CLASSES)}; fix the 'barrier_class' column or classifier."
        )
    return cls


def range_fragmentation(
    ranges: gpd.GeoDataFrame,
    infra: gpd.GeoDataFrame,
    *,
    species: str | Iterable[str] | None = None,
    barrier_classes: Sequence[str] = ("partial barrier", "complete barrier"),
    classify: Callable[[gpd.GeoDataFrame, str], pd.Series] | None = None,
    procedures: str | Sequence[str] = PROCEDURES,
    reporting_units: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    species_col: str = "species",
    snap_m: float = 1.0,
    crs: str = EQUAL_AREA_CRS,
) -> pd.DataFrame:
    """Effective mesh size of each species' range cut by the infrastructure that is a barrier to it.

    Parameters
    ----------
    ranges : geopandas.GeoDataFrame
        Species ranges (polygons) with a species column; several rows of one species are
        merged. Rows without geometry are skipped.
    infra : geopandas.GeoDataFrame
        Infrastructure lines. Their barrier class per species comes from ``classify`` if
        given, else from a ``barrier_class`` column (same for every species), else from
        :func:`cami_atlas.barriers.classify_barriers` (the CAMI expert matrix).
    species : str or list of str, optional
        Species to report (any spelling ``canonical_species_name`` understands); default
        all species of ``ranges``.
    barrier_classes : sequence of str, default ("partial barrier", "complete barrier")
        Classes (of ``cami_atlas.schema.BARRIER_CLASSES``) whose segments cut the range.
    classify : callable, optional
        ``classify(infra, species) -> Series`` of barrier classes aligned to ``infra.index``.
    procedures : "CUT", "CBC" or both, default both
        Effective-mesh-size procedures to report.
    reporting_units : GeoDataFrame or GeoSeries, optional
        Report per (species, unit) for the units that overlap the range (e.g. countries);
        default: the range itself is the unit.
    species_col : str, default "species"
        Species column of ``ranges``.
    snap_m : float, default 1.0
        Line ends within this many metres of the area boundary or of another line are
        joined to it (0: no joining).
    crs : str, default ``ESRI:102025``
        Equal-area CRS for the split and the areas.

    Returns
    -------
    pandas.DataFrame
        Tidy: ``species`` (canonical ``Genus_species``), ``reporting_unit`` (index label of
        the unit, only with ``reporting_units``), ``procedure``, ``area_km2``,
        ``fragment_area_km2``, ``m_eff_km2``, ``s_eff_per_1000km2``, ``n_fragments``,
        ``largest_fragment_share`` (see :func:`effective_mesh_size`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box, LineString
    >>> ranges = gpd.GeoDataFrame({"species": ["Saiga tatarica"]},
    ...                           geometry=[box(0, 0, 100_000, 100_000)], crs="ESRI:102025")
    >>> rail = gpd.GeoDataFrame({"barrier_class": ["complete barrier", "not a barrier"]},
    ...                         geometry=[LineString([(50_000, -1), (50_000, 100_001)]),
    ...                                   LineString([(-1, 50_000), (100_001, 50_000)])],
    ...                         crs="ESRI:102025")
    >>> range_fragmentation(ranges, rail)[["species", "procedure", "m_eff_km2", "n_fragments"]]
              species procedure  m_eff_km2  n_fragments
    0  Saiga_tatarica       CUT     5000.0            2
    1  Saiga_tatarica       CBC     5000.0            2

    Longer than 120 lines only through this documentation; the code is about 70 lines
    (select the ranges, cut them by the barriers, sum the fragments per procedure).
    """
    if isinstance(procedures, str):
        procedures = (procedures,)
    procedures = tuple(check_option("procedure", p, PROCEDURES) for p in procedures)
    barrier_classes = tuple(check_option("barrier_classes", c, BARRIER_CLASSES)
                            for c in barrier_classes)
    crs = _check_crs(crs)
    snap_m = _check_snap(snap_m)
    if not isinstance(ranges, gpd.GeoDataFrame):
        raise SchemaError(f"ranges must be a GeoDataFrame, got {type(ranges).__name__}.")
    if species_col not in ranges.columns:
        close = suggest_column(species_col, [str(c) for c in ranges.columns])
        hint = f" Did you mean {close!r}? Pass species_col={close!r}." if close else ""
        raise MissingColumnError(f"ranges has no column {species_col!r}.{hint}")
    if not isinstance(infra, gpd.GeoDataFrame):
        raise SchemaError(f"infra must be a GeoDataFrame, got {type(infra).__name__}.")

    geoms = _geometries(ranges, "ranges", _POLY_TYPES, crs)
    names = ranges[species_col].map(canonical_species_name).to_numpy(dtype=object)
    has_geom = ~shapely.is_missing(geoms)
    available = sorted(set(names[has_geom]))
    if species is None:
        wanted = available
    else:
        wanted = [canonical_species_name(s) for s in
                  ([species] if isinstance(species, str) else list(species))]
        missing = [s for s in wanted if s not in available]
        if missing:
            raise UnknownSpeciesError(
                f"species {missing} have no range in ranges (column {species_col!r}); "
                f"available: {available}."
            )
    if not wanted:
        raise EmptyLayerError("ranges has no species with a range geometry.")
    wanted = list(dict.fromkeys(wanted))
    pos = {s: i for i, s in enumerate(wanted)}
    sel = has_geom & np.isin(names, wanted)
    owner = np.array([pos[s] for s in names[sel]], dtype=np.int64)
    areas = _grouped(shapely.union_all, geoms[sel], owner, len(wanted))

    lines = _geometries(infra, "infra", _LINE_TYPES, crs)
    allowed = np.column_stack([
        _barrier_class(infra, s, classify).isin(barrier_classes).to_numpy(bool) for s in wanted
    ]) if len(infra) else np.zeros((0, len(wanted)), dtype=bool)
    faces, face_owner = _faces(areas, lines, allowed, snap_m=snap_m)

    if reporting_units is None:
        piece_area, piece_face, piece_key, face_area = _pieces(faces, face_owner, None)
        unit_area = shapely.area(areas) / 1e6
        key_species = np.arange(len(wanted))
        key_unit = None
    else:
        units = _geometries(reporting_units, "reporting_units", _POLY_TYPES, crs)
        ai, ui = shapely.STRtree(units).query(areas, predicate="intersects")
        # one key per (species, unit) pair; a "unit copy" per pair keeps species apart
        pair_units = units[ui]
        piece_area, piece_face, piece_key, face_area = _pieces(faces, face_owner, pair_units,
                                                               unit_owner=ai)
        unit_area = shapely.area(pair_units) / 1e6
        key_species, key_unit = ai, reporting_units.index.to_numpy()[ui]

    tables = []
    for procedure in procedures:
        table = _metrics(piece_area, piece_face, face_area, piece_key, unit_area, procedure)
        table.insert(0, "species", np.asarray(wanted, dtype=object)[key_species])
        if key_unit is not None:
            table.insert(1, "reporting_unit", key_unit)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    order = ["species", "reporting_unit"] if key_unit is not None else ["species"]
    out["_p"] = out["procedure"].map({p: i for i, p in enumerate(procedures)})
    out = out.sort_values([*order, "_p"], kind="stable").drop(columns="_p")
    return out.reset_index(drop=True)
