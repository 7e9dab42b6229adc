"""Where infrastructure crosses corridors, migration routes and the steps of GPS tracks.

All three functions are vectorised: the infrastructure goes into one
:class:`shapely.STRtree`, the corridor lines / track steps are queried in bulk with
``predicate="intersects"`` and the index pairs are intersected with
:func:`shapely.intersection` on arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import SchemaError
from ..measure import geodesic_length_km
from ..schema import BARRIER_CLASSES, canonical_species_name, normalise_value
from .classify import _class_codes
from .matrix import MatrixLike, _as_matrix
from .overlay import _LINES, _POLYGONS, _check_frame, _to_crs
from .species import _lookup

__all__ = ["CorridorCrossings", "corridor_crossings", "track_crossings", "track_steps"]

_CLASSES = np.array(BARRIER_CLASSES, dtype=object)


class CorridorCrossings(NamedTuple):
    """Result of :func:`corridor_crossings`: the crossing points and their counts."""

    points: gpd.GeoDataFrame
    counts: pd.DataFrame


def _species_codes(infra: gpd.GeoDataFrame, species: np.ndarray,
                   matrix: pd.DataFrame) -> tuple[dict[str, str | None], dict]:
    known = sorted(matrix["species"].unique())
    msp = {s: _lookup(s, known) for s in pd.unique(species) if isinstance(s, str)}
    codes = _class_codes(infra, list(dict.fromkeys(msp.values())), matrix)
    return msp, codes


def _classes_for(rows_species: np.ndarray, rows_segment: np.ndarray,
                 msp: dict[str, str | None], codes: dict) -> np.ndarray:
    out = np.zeros(len(rows_species), dtype=np.int8)
    for name, target in msp.items():
        sel = rows_species == name
        out[sel] = codes[target][rows_segment[sel]]
    return _CLASSES[out]


def _points_of(inter: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point events of intersection results: (points, index into ``inter``, along-flag).

    Each point part is one event; each linear part (a stretch shared by both
    geometries) is one event at its first vertex, flagged ``along``.
    """
    parts, idx = shapely.get_parts(inter, return_index=True)
    dims = shapely.get_dimensions(parts)
    keep = ~shapely.is_empty(parts) & (dims <= 1)
    parts, idx, dims = parts[keep], idx[keep], dims[keep]
    along = dims == 1
    pts = parts.copy()
    if along.any():
        pts[along] = shapely.get_point(parts[along], 0)
    return pts, idx, along


def _infra_types(infra: gpd.GeoDataFrame) -> np.ndarray:
    raw = infra["infra_type"]
    return raw.map({u: normalise_value("infra_type", u)
                    for u in pd.unique(raw.dropna())}).to_numpy(dtype=object)


def corridor_crossings(
    infra: gpd.GeoDataFrame,
    corridors: gpd.GeoDataFrame,
    *,
    matrix: MatrixLike = None,
) -> CorridorCrossings:
    """Points where infrastructure crosses corridor boundaries and migration routes.

    Parameters
    ----------
    infra : geopandas.GeoDataFrame
        Infrastructure lines with ``infra_type`` (and the attributes the matrix rates).
    corridors : geopandas.GeoDataFrame
        Corridors with ``species``: polygons (their boundary is crossed where
        infrastructure enters or leaves the corridor) and/or migration-route lines.
        Reprojected to the CRS of ``infra`` if needed (polygon edges densified first).
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).

    Returns
    -------
    CorridorCrossings
        ``points``: GeoDataFrame (CRS of ``infra``) with one Point per crossing and
        columns ``species``, ``matrix_species``, ``corridor_id`` (index label in
        ``corridors``), ``crossing`` (``"boundary"`` for entry/exit points of a corridor
        polygon, ``"route"`` for a migration-route line), ``infra_id`` (index label in
        ``infra``), ``infra_type``, ``barrier_class`` (for that species; ``unknown`` if
        the matrix does not rate it), ``along`` (see Notes), plus ``corridor_name``,
        ``use_class``, ``infra_name``, ``infra_status`` where the inputs have ``name``,
        ``use_class``, ``status``.
        ``counts``: DataFrame with one row per ``species`` × ``infra_type`` ×
        ``barrier_class`` and columns ``n_crossings`` (points), ``n_infra_features``
        (distinct infrastructure features) and ``n_corridors`` (distinct corridors).

    Notes
    -----
    A line crossing a corridor polygon enters and leaves it: two boundary points (one
    if it ends inside). Each intersection point is one crossing. Where infrastructure
    runs along a corridor boundary or route for a stretch, the stretch is one crossing
    at its first vertex, flagged ``along=True``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> corr = gpd.GeoDataFrame({"species": ["Saiga_tatarica"]},
    ...                         geometry=[box(0, 0, 10, 10)], crs="EPSG:32642")
    >>> rail = gpd.GeoDataFrame({"infra_type": ["railway"], "track": ["single track"]},
    ...                         geometry=[LineString([(-5, 5), (15, 5)])], crs="EPSG:32642")
    >>> pts, counts = corridor_crossings(rail, corr)
    >>> sorted(pts.geometry.x.tolist())
    [0.0, 10.0]
    >>> counts.loc[0, ["species", "barrier_class"]].tolist(), int(counts.loc[0, "n_crossings"])
    (['Saiga_tatarica', 'partial barrier'], 2)
    """
    m = _as_matrix(matrix)
    seg = _check_frame(infra, "infrastructure", ("infra_type",), _LINES)
    corr = _check_frame(corridors, "corridors", ("species",), _POLYGONS + _LINES)
    cgeoms = _to_crs(corr, seg.crs)
    dims = shapely.get_dimensions(cgeoms)
    lines = np.where(dims == 2, shapely.boundary(cgeoms), cgeoms)
    tree = shapely.STRtree(seg.geometry.values)
    ci, si = tree.query(lines, predicate="intersects")
    inter = shapely.intersection(lines[ci], seg.geometry.values[si])
    pts, k, along = _points_of(inter)
    ci, si = ci[k], si[k]

    species = corr["species"].astype(str).map(canonical_species_name).to_numpy(dtype=object)
    msp, codes = _species_codes(seg, species, m)
    sp = species[ci]
    data = {
        "species": sp,
        "matrix_species": np.array([msp[s] for s in sp], dtype=object),
        "corridor_id": corr.index.to_numpy()[ci],
        "crossing": np.where(dims[ci] == 2, "boundary", "route").astype(object),
        "infra_id": seg.index.to_numpy()[si],
        "infra_type": _infra_types(seg)[si],
        "barrier_class": _classes_for(sp, si, msp, codes),
        "along": along,
    }
    for src, col, name in ((corr, ci, "name"), (corr, ci, "use_class"), (seg, si, "name"),
                           (seg, si, "status")):
        if name in src.columns:
            label = {"name": "corridor_name" if src is corr else "infra_name",
                     "use_class": "use_class", "status": "infra_status"}[name]
            data[label] = src[name].to_numpy(dtype=object)[col]
    points = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(pts, crs=seg.crs))
    counts = (points.groupby(["species", "infra_type", "barrier_class"], sort=True)
              .agg(n_crossings=("infra_id", "size"), n_infra_features=("infra_id", "nunique"),
                   n_corridors=("corridor_id", "nunique"))
              .reset_index())
    return CorridorCrossings(points, counts)


def _tracks_frame(tracks: object, individual: str, timestamp: str) -> gpd.GeoDataFrame:
    fixes = _check_frame(tracks, "tracks", (individual, timestamp), ("Point",))
    if len(fixes) != len(tracks):  # type: ignore[arg-type]
        raise SchemaError(
            f"tracks: {len(tracks) - len(fixes)} fix(es) have no geometry; "  # type: ignore[arg-type]
            "drop them first (tracks[~tracks.geometry.is_empty & tracks.geometry.notna()]).")
    return fixes


def track_steps(
    tracks: gpd.GeoDataFrame,
    *,
    individual: str = "individual",
    timestamp: str = "timestamp",
) -> gpd.GeoDataFrame:
    """Steps between consecutive GPS fixes of each individual, in time order.

    Parameters
    ----------
    tracks : geopandas.GeoDataFrame
        GPS fixes (points) with an individual id and a time stamp (layer kind
        ``tracks``); a ``species`` column is carried over when present.
    individual, timestamp : str
        Names of the id and time columns (default ``individual`` and ``timestamp``,
        the atlas schema; e.g. ``individual="animal_id", timestamp="timestamp_utc"``
        for Movebank-style files). Times are parsed as UTC.

    Returns
    -------
    geopandas.GeoDataFrame
        One straight LineString per pair of consecutive fixes of an individual (CRS of
        ``tracks``; fixes sorted by individual then time, ties kept in input order),
        columns ``individual``, ``species`` (if present), ``fix_start``, ``fix_end``
        (index labels of the two fixes), ``t_start``, ``t_end``, ``duration_h`` and
        ``step_length_km`` (geodesic on WGS84,
        :func:`cami_atlas.measure.geodesic_length_km`). Index ``step`` = 0..n-1.

    Raises
    ------
    CRSError, MissingColumnError, GeometryTypeError, SchemaError
        No CRS, no id/time column, non-point geometries, fixes without geometry, or
        time stamps that cannot be parsed or are missing.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> fixes = gpd.GeoDataFrame(
    ...     {"individual": ["a", "a", "a"],
    ...      "timestamp": pd.to_datetime(["2020-01-01 02:00", "2020-01-01 00:00",
    ...                                   "2020-01-01 01:00"], utc=True)},
    ...     geometry=[Point(5e5, 4.5e6 + 2000), Point(5e5, 4.5e6), Point(5e5, 4.5e6 + 1000)],
    ...     crs="EPSG:32612")
    >>> s = track_steps(fixes)
    >>> s["fix_start"].tolist(), s["fix_end"].tolist(), s["duration_h"].tolist()
    ([1, 2], [2, 0], [1.0, 1.0])
    >>> s["step_length_km"].round(2).tolist()  # UTM scale factor 0.9996 on the meridian
    [1.0, 1.0]
    """
    fixes = _tracks_frame(tracks, individual, timestamp)
    try:
        times = pd.to_datetime(fixes[timestamp], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise SchemaError(
            f"tracks: column {timestamp!r} could not be read as time stamps ({exc}); use ISO "
            "8601 text or datetime values.") from None
    if times.isna().any():
        raise SchemaError(
            f"tracks: {int(times.isna().sum())} fix(es) have no time stamp in {timestamp!r} "
            f"(index {list(fixes.index[times.isna()][:5])}); drop or fill them first.")
    ids = fixes[individual].astype(str).to_numpy(dtype=object)
    naive = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((naive, ids))  # individual, then time; ties keep input order
    ids, t = ids[order], naive[order]
    labels = fixes.index.to_numpy()[order]
    xy = shapely.get_coordinates(fixes.geometry.values[order])
    same = ids[1:] == ids[:-1]
    a = np.flatnonzero(same)
    b = a + 1
    geoms = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)) if len(a) else \
        np.array([], dtype=object)
    data: dict[str, object] = {"individual": ids[a]}
    if "species" in fixes.columns:
        data["species"] = fixes["species"].to_numpy(dtype=object)[order][a]
    data.update({
        "fix_start": labels[a], "fix_end": labels[b],
        "t_start": pd.DatetimeIndex(t[a]).tz_localize("UTC"),
        "t_end": pd.DatetimeIndex(t[b]).tz_localize("UTC"),
        "duration_h": (t[b] - t[a]) / np.timedelta64(1, "h"),
    })
    steps = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=fixes.crs),
                             index=pd.RangeIndex(len(a), name="step"))
    steps["step_length_km"] = geodesic_length_km(steps.geometry).to_numpy()
    return steps


def track_crossings(
    tracks: gpd.GeoDataFrame,
    infra: gpd.GeoDataFrame,
    *,
    matrix: MatrixLike = None,
    individual: str = "individual",
    timestamp: str = "timestamp",
) -> gpd.GeoDataFrame:
    """Crossing events: steps of GPS tracks that meet infrastructure lines.

    Parameters
    ----------
    tracks : geopandas.GeoDataFrame
        GPS fixes (see :func:`track_steps`); the ``species`` of the fix at the start of
        a step selects the barrier class (``unknown`` without a ``species`` column or
        for species the matrix does not rate).
    infra : geopandas.GeoDataFrame
        Infrastructure lines with ``infra_type``; reprojected to the CRS of ``tracks``
        if needed.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    individual, timestamp : str
        Names of the id and time columns of ``tracks``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per intersection point of a step with an infrastructure feature (CRS
        of ``tracks``): ``step`` (index into :func:`track_steps`), ``individual``,
        ``species``, ``matrix_species``, ``t_before`` and ``t_after`` (times of the
        fixes before and after), ``infra_id`` (index label in ``infra``),
        ``infra_type``, ``barrier_class``, ``along`` and the Point geometry.

    Notes
    -----
    *Counting.* A step that crosses the same infrastructure feature twice (e.g. a
    fence with a bend, or a multi-part line) gives two events, one per intersection
    point; a step crossing two features gives one event per feature and point. A
    stretch where the step runs along a line is one event at the first shared vertex
    (``along=True``). The number of *steps* crossing infrastructure is
    ``events["step"].nunique()``; a step touching a line at one of its fixes counts,
    as it does for :func:`shapely.intersects`.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import LineString, Point
    >>> fixes = gpd.GeoDataFrame(
    ...     {"individual": ["a", "a"], "timestamp": pd.to_datetime(
    ...         ["2020-01-01 00:00", "2020-01-01 02:00"], utc=True)},
    ...     geometry=[Point(0, 0), Point(2000, 0)], crs="EPSG:32612")
    >>> fence = gpd.GeoDataFrame({"infra_type": ["fence"]},
    ...                          geometry=[LineString([(1000, -500), (1000, 500)])],
    ...                          crs="EPSG:32612")
    >>> ev = track_crossings(fixes, fence)
    >>> ev[["step", "individual", "infra_type", "barrier_class"]].values.tolist()
    [[0, 'a', 'fence', 'unknown']]
    >>> (ev.geometry.x.item(), ev.geometry.y.item())
    (1000.0, 0.0)
    """
    m = _as_matrix(matrix)
    steps = track_steps(tracks, individual=individual, timestamp=timestamp)
    seg = _check_frame(infra, "infrastructure", ("infra_type",), _LINES)
    igeoms = _to_crs(seg, steps.crs)
    tree = shapely.STRtree(igeoms)
    si, ii = tree.query(steps.geometry.values, predicate="intersects")
    inter = shapely.intersection(steps.geometry.values[si], igeoms[ii])
    pts, k, along = _points_of(inter)
    # a pair that intersects but whose intersection came out empty (numerical edge
    # case) still is one event, at the nearest point of the step to the line
    lost = np.setdiff1d(np.arange(len(si)), k)
    if len(lost):
        near = shapely.get_point(shapely.shortest_line(steps.geometry.values[si[lost]],
                                                       igeoms[ii[lost]]), 0)
        order = np.argsort(np.concatenate([k, lost]), kind="stable")
        pts = np.concatenate([pts, near])[order]
        along = np.concatenate([along, np.zeros(len(lost), dtype=bool)])[order]
        k = np.concatenate([k, lost])[order]
    si, ii = si[k], ii[k]

    if "species" in steps.columns:
        raw = steps["species"]
        species = raw.map({u: canonical_species_name(u) for u in pd.unique(raw.dropna())
                           if isinstance(u, str)}).to_numpy(dtype=object)
        species = np.where(pd.isna(species), None, species)
    else:
        species = np.full(len(steps), None, dtype=object)
    msp, codes = _species_codes(seg, species, m)
    sp = species[si]
    events = gpd.GeoDataFrame({
        "step": steps.index.to_numpy()[si],
        "individual": steps["individual"].to_numpy()[si],
        "species": sp,
        "matrix_species": np.array([msp.get(s) if isinstance(s, str) else None for s in sp],
                                   dtype=object),
        "t_before": steps["t_start"].iloc[si].to_numpy(),
        "t_after": steps["t_end"].iloc[si].to_numpy(),
        "infra_id": seg.index.to_numpy()[ii],
        "infra_type": _infra_types(seg)[ii],
        "barrier_class": _classes_for(sp, ii, msp, codes),
        "along": along,
    }, geometry=gpd.GeoSeries(pts, crs=steps.crs))
    events["t_before"] = pd.to_datetime(events["t_before"], utc=True)
    events["t_after"] = pd.to_datetime(events["t_after"], utc=True)
    return events.sort_values(["step", "infra_id"], kind="stable").reset_index(drop=True)
