"""Where infrastructure crosses corridors, migration routes and the steps of GPS tracks.

All three functions are vectorised: the infrastructure goes into one
:class:`shapely.STRtree`, the corridor lines / track steps are queried in bulk with
``predicate="intersects"`` and the index pairs are intersected with
:func:`shapely.intersection` on arrays.

No snapping tolerance is applied here: a crossing is a geometric intersection (a touch
counts, as for :func:`shapely.intersects`), and a line that stops short of another by
any distance does not cross it. The only snapping in the barrier analyses is
``snap_m`` of :mod:`cami_atlas.barriers.fragmentation` (default 1 m, which leaves clean
linework unchanged; see its module documentation).

Column names follow the atlas: ``individual``, ``timestamp`` and ``species`` of the
``tracks`` layer, ``start_time`` / ``end_time`` (UTC) for the two fixes of a step, as
in :func:`cami_atlas.barriers.baba`.
"""

from __future__ import annotations

import warnings
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

__all__ = ["CorridorCrossings", "corridor_crossings", "drop_duplicate_fixes", "track_crossings",
           "track_individuals", "track_steps"]

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


def track_individuals(tracks: pd.DataFrame, individual: str = "individual") -> pd.Series:
    """Individual ids kept apart by track layer: ``"layer:individual"`` when ``tracks``
    holds several layers (a ``layer`` column with more than one value, as
    :meth:`Atlas.read_kind` gives), else the ids as text.

    Two collars called ``"F01"`` in two studies are two animals; without the layer they
    would be merged into one track.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"individual": ["F01", "F01"], "layer": ["gazelle_2019", "saiga"]})
    >>> track_individuals(t).tolist()
    ['gazelle_2019:F01', 'saiga:F01']
    """
    ids = tracks[individual].astype(str)
    if "layer" in tracks.columns and tracks["layer"].nunique(dropna=True) > 1:
        return tracks["layer"].astype(str) + ":" + ids
    return ids


def drop_duplicate_fixes(ids: np.ndarray, times: np.ndarray, xy: np.ndarray,
                         what: str = "tracks") -> tuple[np.ndarray, int]:
    """Policy for fixes of one individual with the same time stamp.

    Exact repeats (same individual, time and position, e.g. a fix exported twice) are
    dropped: the function returns a mask of the fixes to keep and the number dropped.
    The same individual at two different positions at the same time is an error
    (:class:`SchemaError` naming the individual and the time), since no step between
    them can be built.

    Examples
    --------
    >>> import numpy as np
    >>> keep, n = drop_duplicate_fixes(np.array(["a", "a", "b"], dtype=object),
    ...                                np.array([0, 0, 0]), np.zeros((3, 2)))
    >>> keep.tolist(), n
    ([True, False, True], 1)
    """
    frame = pd.DataFrame({"i": ids, "t": times, "x": xy[:, 0], "y": xy[:, 1]})
    repeat = frame.duplicated(["i", "t", "x", "y"]).to_numpy()
    clash = frame[~repeat].duplicated(["i", "t"], keep=False)
    if clash.any():
        first = frame[~repeat][clash.to_numpy()].iloc[0]
        raise SchemaError(
            f"{what}: {int(clash.sum())} fixes share an individual and a time stamp but lie "
            f"at different positions (first: individual {first['i']!r} at "
            f"{pd.Timestamp(first['t'], tz='UTC')}); keep one fix per individual and time "
            "(e.g. the one with the best fix quality) before building steps.")
    return ~repeat, int(repeat.sum())


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
        ``tracks``; fixes sorted by individual then time), columns ``individual``,
        ``species`` (if present), ``fix_start``, ``fix_end`` (index labels of the two
        fixes), ``start_time``, ``end_time`` (UTC), ``duration_h`` and
        ``step_length_km`` (geodesic on WGS84,
        :func:`cami_atlas.measure.geodesic_length_km`). Index ``step`` = 0..n-1.
        ``t_start`` and ``t_end`` repeat ``start_time`` and ``end_time`` under their
        old names; they are deprecated and will be removed in the next release.

    Notes
    -----
    *Names.* The atlas names are used throughout the track functions
    (:func:`track_steps`, :func:`track_crossings`, :func:`cami_atlas.barriers.baba`):
    ``individual``, ``timestamp``, ``species``, ``start_time``, ``end_time``,
    ``duration_h``.

    *Several track layers.* When ``tracks`` has a ``layer`` column with more than one
    value (as :meth:`cami_atlas.atlas.Atlas.read_kind` returns), individuals are kept
    apart by layer: ``individual`` becomes ``"layer:individual"``
    (:func:`track_individuals`), so equal collar ids of two studies are not merged.

    *Duplicate time stamps.* A fix repeated exactly (same individual, time and position)
    is dropped with a ``UserWarning`` giving the count; one individual at two positions
    at the same time raises :class:`SchemaError` (:func:`drop_duplicate_fixes`).

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
    ids = track_individuals(fixes, individual).to_numpy(dtype=object)
    naive = times.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    xy = shapely.get_coordinates(fixes.geometry.values)
    keep, n_dropped = drop_duplicate_fixes(ids, naive, xy)
    if n_dropped:
        warnings.warn(f"tracks: dropped {n_dropped} repeated fix(es) (same individual, time "
                      "and position).", UserWarning, stacklevel=2)
    rows = np.flatnonzero(keep)
    order = rows[np.lexsort((naive[rows], ids[rows]))]  # individual, then time
    ids, t = ids[order], naive[order]
    labels = fixes.index.to_numpy()[order]
    xy = xy[order]
    same = ids[1:] == ids[:-1]
    a = np.flatnonzero(same)
    b = a + 1
    geoms = shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)) if len(a) else \
        np.array([], dtype=object)
    data: dict[str, object] = {"individual": ids[a]}
    if "species" in fixes.columns:
        data["species"] = fixes["species"].to_numpy(dtype=object)[order][a]
    start = pd.DatetimeIndex(t[a]).tz_localize("UTC")
    end = pd.DatetimeIndex(t[b]).tz_localize("UTC")
    data.update({
        "fix_start": labels[a], "fix_end": labels[b],
        "start_time": start, "end_time": end,
        "duration_h": (t[b] - t[a]) / np.timedelta64(1, "h"),
        "t_start": start, "t_end": end,  # deprecated names, removed in the next release
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
        Lines (any line layer: infrastructure, borders, ...); reprojected to the CRS of
        ``tracks`` if needed. ``infra_type`` and the matrix attributes are used when
        present; without ``infra_type`` the events' ``infra_type`` is empty and their
        ``barrier_class`` ``unknown``.
    matrix : DataFrame, str or path, optional
        Barrier matrix (default: the shipped 2017 CAMI matrix).
    individual, timestamp : str
        Names of the id and time columns of ``tracks``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per intersection point of a step with an infrastructure feature (CRS
        of ``tracks``): ``step`` (index into :func:`track_steps`), ``individual``,
        ``species``, ``matrix_species``, ``start_time`` and ``end_time`` (times of the
        fixes before and after the crossing: the step's, as in :func:`track_steps`),
        ``infra_id`` (index label in ``infra``), ``infra_type``, ``barrier_class``,
        ``along`` and the Point geometry. ``t_before`` and ``t_after`` repeat
        ``start_time`` and ``end_time`` under their old names; they are deprecated and
        will be removed in the next release.

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
    seg = _check_frame(infra, "infrastructure", (), _LINES)
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
    if "infra_type" in seg.columns:
        msp, codes = _species_codes(seg, species, m)
        types = _infra_types(seg)[ii]
    else:  # any line layer: no type, no class
        msp = {s: None for s in pd.unique(species) if isinstance(s, str)}
        codes = {None: np.zeros(len(seg), dtype=np.int8)}
        types = np.full(len(ii), None, dtype=object)
    sp = species[si]
    events = gpd.GeoDataFrame({
        "step": steps.index.to_numpy()[si],
        "individual": steps["individual"].to_numpy()[si],
        "species": sp,
        "matrix_species": np.array([msp.get(s) if isinstance(s, str) else None for s in sp],
                                   dtype=object),
        "start_time": steps["start_time"].iloc[si].to_numpy(),
        "end_time": steps["end_time"].iloc[si].to_numpy(),
        "infra_id": seg.index.to_numpy()[ii],
        "infra_type": types,
        "barrier_class": _classes_for(sp, ii, msp, codes),
        "along": along,
    }, geometry=gpd.GeoSeries(pts, crs=steps.crs))
    events["start_time"] = pd.to_datetime(events["start_time"], utc=True)
    events["end_time"] = pd.to_datetime(events["end_time"], utc=True)
    # deprecated names, removed in the next release
    events.insert(events.columns.get_loc("infra_id"), "t_before", events["start_time"])
    events.insert(events.columns.get_loc("infra_id"), "t_after", events["end_time"])
    return events.sort_values(["step", "infra_id"], kind="stable").reset_index(drop=True)
