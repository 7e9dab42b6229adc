"""Checks shared by the movement analyses: a projected ``tracks`` layer, sorted, no duplicates."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import CRSError, MissingColumnError, SchemaError

__all__ = ["prepare_tracks", "run_ids", "times_s", "to_metric_crs"]


def prepare_tracks(tracks: gpd.GeoDataFrame, *, what: str, min_fixes: int = 2,
                   by: str = "individual") -> gpd.GeoDataFrame:
    """A copy of ``tracks`` sorted by ``by`` then time, after the checks every analysis needs.

    Rules: the layer needs ``individual`` (or ``by``) and ``timestamp`` columns and point
    geometries in a *projected* CRS (metres); unsorted fixes are sorted (stable);
    two fixes of one individual at the same time are an error naming them; an
    individual with fewer than ``min_fixes`` fixes is an error.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> t = gpd.GeoDataFrame({"individual": ["a", "a"],
    ...                       "timestamp": pd.to_datetime(["2020-01-02", "2020-01-01"], utc=True)},
    ...                      geometry=gpd.points_from_xy([1, 0], [0, 0]), crs="EPSG:32648")
    >>> prepare_tracks(t, what="demo").geometry.x.tolist()
    [0.0, 1.0]
    """
    if not isinstance(tracks, gpd.GeoDataFrame):
        raise SchemaError(f"{what} needs a GeoDataFrame of GPS fixes (a tracks layer); "
                          f"got {type(tracks).__name__}. Read one with "
                          "cami_atlas.io.read_tracks_csv.")
    missing = [c for c in (by, "timestamp") if c not in tracks.columns]
    if missing:
        raise MissingColumnError(
            f"{what}: the tracks have no column(s) {', '.join(map(repr, missing))}; present: "
            f"{', '.join(map(str, tracks.columns))}. Read tracks with "
            "cami_atlas.io.read_tracks_csv or rename the columns.")
    if len(tracks) == 0:
        raise SchemaError(f"{what}: the tracks layer has no fixes.")
    if tracks.crs is None:
        raise CRSError(f"{what}: the tracks have no CRS; set the CRS the coordinates are "
                       "actually in (tracks.set_crs(...)), then reproject to a metric CRS.")
    if tracks.crs.is_geographic:
        raise CRSError(
            f"{what} measures distances in metres but the tracks are in lat/lon "
            f"({tracks.crs.to_string()}). Reproject first, e.g. "
            "tracks.to_crs(cami_atlas.connectivity.workflow.utm_crs(lon, lat)) or "
            "tracks.to_crs('ESRI:102025').")
    types = set(tracks.geometry.geom_type.dropna())
    if types - {"Point"} or tracks.geometry.isna().any() or tracks.geometry.is_empty.any():
        raise SchemaError(f"{what}: every fix must be a non-empty Point; found "
                          f"{sorted(types)} and/or empty geometries. Drop fixes without "
                          "coordinates first.")
    times = pd.to_datetime(tracks["timestamp"], utc=True)
    if times.isna().any():
        raise SchemaError(f"{what}: {int(times.isna().sum())} fix(es) have no timestamp; "
                          "drop them or fill the timestamp column.")
    out = tracks.assign(timestamp=times, **{by: tracks[by].astype(str)})
    out = out.sort_values([by, "timestamp"], kind="stable").reset_index(drop=True)
    dup = out.duplicated([by, "timestamp"], keep=False)
    if dup.any():
        shown = out.loc[dup, [by, "timestamp"]].drop_duplicates().head(3)
        listed = "; ".join(f"{r[by]} at {r['timestamp']}" for _, r in shown.iterrows())
        raise SchemaError(
            f"{what}: {int(dup.sum())} fixes share their individual and timestamp "
            f"(e.g. {listed}); a track cannot be in two places at once. Keep one, e.g. "
            "tracks.drop_duplicates(['individual', 'timestamp']).")
    counts = out.groupby(by).size()
    few = counts[counts < min_fixes]
    if len(few):
        raise SchemaError(
            f"{what} needs at least {min_fixes} fixes per {by}; "
            + ", ".join(f"{i!r} has {n}" for i, n in few.head(5).items())
            + (f" (and {len(few) - 5} more)" if len(few) > 5 else "")
            + f". Drop these {by}s, e.g. tracks[tracks.groupby('{by}')['{by}']"
              f".transform('size') >= {min_fixes}].")
    return out


def times_s(timestamps: pd.Series) -> np.ndarray:
    """Seconds since 1970 (UTC) as float64.

    Examples
    --------
    >>> times_s(pd.Series(pd.to_datetime(["1970-01-01 00:01"], utc=True))).tolist()
    [60.0]
    """
    ts = pd.to_datetime(timestamps, utc=True)
    return (ts - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float)


def run_ids(t_s: np.ndarray, max_gap_s: float | None) -> np.ndarray:
    """Id of the run of fixes each fix belongs to: a new run starts after a gap > ``max_gap_s``.

    Examples
    --------
    >>> run_ids(np.array([0., 1., 2., 10., 11.]), 5).tolist()
    [0, 0, 0, 1, 1]
    """
    t_s = np.asarray(t_s, dtype=float)
    if len(t_s) == 0:
        return np.zeros(0, dtype=np.int64)
    breaks = np.zeros(len(t_s), dtype=bool)
    if max_gap_s is not None:
        breaks[1:] = np.diff(t_s) > max_gap_s
    return np.cumsum(breaks)


def to_metric_crs(tracks: gpd.GeoDataFrame, crs: object = None) -> gpd.GeoDataFrame:
    """``tracks`` in a projected CRS: ``crs`` if given, else unchanged if already projected,
    else the WGS 84 / UTM zone of the fixes' centre.

    Examples
    --------
    >>> import geopandas as gpd
    >>> t = gpd.GeoDataFrame(geometry=gpd.points_from_xy([107.1, 107.2], [47.9, 47.9]),
    ...                      crs="EPSG:4326")
    >>> to_metric_crs(t).crs.to_epsg()
    32648
    """
    if tracks.crs is None:
        raise CRSError("the tracks have no CRS; set the CRS the coordinates are actually in "
                       "(tracks.set_crs(...)).")
    if crs is not None:
        out = tracks.to_crs(crs)
        if out.crs.is_geographic:
            raise CRSError(f"to_metric_crs: {crs!r} is a lat/lon CRS; give a projected one "
                           "(metres), e.g. a UTM zone.")
        return out
    if not tracks.crs.is_geographic:
        return tracks
    from ..connectivity.workflow import utm_crs

    lon, lat = tracks.to_crs(4326).geometry.union_all().centroid.coords[0]
    return tracks.to_crs(utm_crs(lon, lat))
