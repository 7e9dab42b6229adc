"""Migration periods from net squared displacement (NSD), or from dates the user gives.

The rule (per individual and *bio-year*, a year starting on ``year_start``, e.g.
``"01-01"``; documented in docs/movement.md):

1. The origin is the median position of the fixes of the first ``origin_days`` days
   of the bio-year (the winter range for ungulates of the northern hemisphere).
2. Net displacement ``d(t)`` = distance from the origin (NSD = d²), as daily means,
   smoothed by a centred rolling median of ``smooth_days`` days.
3. ``D`` = the largest smoothed displacement. If ``D < min_distance_km`` the animal
   did not migrate that year (no row, reported in the ``resident`` table).
4. Spring: the end is the first day with ``d >= upper * D``; the start is the last
   day before it with ``d <= lower * D``.
5. Autumn: the end is the first day after the spring end with ``d <= lower * D``;
   the start is the last day before it with ``d >= upper * D``. If the animal does
   not come back below ``lower * D`` within the bio-year there is no autumn row.

Days are UTC calendar days. Start and end times are those of the first and last fixes of
the start and end days.
Distances are straight-line km between the mean positions of the start and end days.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import SchemaError
from ._tracks import prepare_tracks

__all__ = [
    "MIGRATION_COLUMNS",
    "migration_fixes",
    "migration_periods",
    "net_squared_displacement",
    "periods_from_dates",
]

#: Columns of a migration-period table.
MIGRATION_COLUMNS: tuple[str, ...] = (
    "migration", "individual", "species", "year", "season", "start", "end",
    "duration_days", "distance_km", "max_displacement_km", "method")


def _bio_year(ts: pd.Series, year_start: str) -> pd.Series:
    try:
        month, day = (int(p) for p in year_start.split("-"))
        pd.Timestamp(year=2001, month=month, day=day)
    except (ValueError, AttributeError):
        raise SchemaError(f"year_start must be 'MM-DD', e.g. '01-01' or '11-01'; got "
                          f"{year_start!r}.") from None
    before = (ts.dt.month < month) | ((ts.dt.month == month) & (ts.dt.day < day))
    return ts.dt.year - before.astype(int)


def net_squared_displacement(tracks: gpd.GeoDataFrame, *, year_start: str = "01-01",
                             origin_days: float = 0.0) -> pd.Series:
    """Net squared displacement (km²) of each fix from its individual's origin in each bio-year.

    Parameters
    ----------
    tracks : GeoDataFrame
        A tracks layer in a projected CRS (metres).
    year_start : str, default "01-01"
        Month and day a bio-year starts ('MM-DD').
    origin_days : float, default 0
        The origin is the median position of the fixes of the first ``origin_days``
        days of the bio-year (0: the first fix).

    Returns
    -------
    pandas.Series
        ``nsd_km2`` aligned to the index of the *sorted* tracks (individual, time).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> t = gpd.GeoDataFrame({"individual": ["a"] * 3,
    ...     "timestamp": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03"], utc=True)},
    ...     geometry=gpd.points_from_xy([0, 3000, 6000], [0, 4000, 8000]), crs="EPSG:32648")
    >>> net_squared_displacement(t).tolist()
    [0.0, 25.0, 100.0]
    """
    fixes = prepare_tracks(tracks, what="net_squared_displacement", min_fixes=1)
    return _nsd(fixes, year_start, origin_days)


def _nsd(fixes: gpd.GeoDataFrame, year_start: str, origin_days: float) -> pd.Series:
    x = pd.Series(fixes.geometry.x.to_numpy(), index=fixes.index)
    y = pd.Series(fixes.geometry.y.to_numpy(), index=fixes.index)
    year = _bio_year(fixes["timestamp"], year_start)
    key = [fixes["individual"], year]
    t0 = fixes.groupby(key)["timestamp"].transform("min")
    early = fixes["timestamp"] <= t0 + pd.Timedelta(days=origin_days)
    ox = x.where(early).groupby(key).transform("median")
    oy = y.where(early).groupby(key).transform("median")
    return (((x - ox) ** 2 + (y - oy) ** 2) / 1e6).rename("nsd_km2")


def migration_periods(tracks: gpd.GeoDataFrame, *, year_start: str = "01-01",
                      origin_days: float = 14.0, smooth_days: int = 3,
                      lower: float = 0.1, upper: float = 0.9,
                      min_distance_km: float = 15.0, min_days: float = 60.0,
                      ) -> pd.DataFrame:
    """Spring and autumn migration periods of every individual and bio-year, from NSD.

    The rule is in the module documentation (and docs/movement.md).

    Parameters
    ----------
    tracks : GeoDataFrame
        A tracks layer in a projected CRS; ``species`` is carried over when present.
    year_start : str, default "01-01"
        First day of the bio-year ('MM-DD'); pick a day inside the winter range stay.
    origin_days : float, default 14
        Days at the start of the bio-year whose median position is the origin.
    smooth_days : int, default 3
        Window (days) of the rolling median of daily displacement.
    lower, upper : float, default 0.1 and 0.9
        Fractions of the year's largest displacement that mark "at the origin" and
        "at the destination".
    min_distance_km : float, default 15
        Years whose largest displacement is shorter are not migrations.
    min_days : float, default 60
        Individual-years covering fewer days are skipped (too short to judge).

    Returns
    -------
    pandas.DataFrame
        One row per migration with :data:`MIGRATION_COLUMNS`: ``migration`` (id
        ``<individual>_<year>_<season>``), ``season`` ``spring``/``autumn``, ``start``
        and ``end`` (UTC), ``duration_days``, ``distance_km``, ``max_displacement_km``,
        ``method`` ``"nsd"``. ``df.attrs["resident"]`` lists the individual-years
        without migration and ``df.attrs["skipped"]`` those too short to judge.

    Examples
    --------
    >>> import numpy as np, pandas as pd, geopandas as gpd
    >>> days = pd.date_range("2020-01-01", "2020-12-31", freq="D", tz="UTC")
    >>> doy = np.arange(len(days))
    >>> north_km = np.interp(doy, [0, 100, 120, 280, 300, 365], [0, 0, 50, 50, 0, 0])
    >>> t = gpd.GeoDataFrame({"individual": "a", "timestamp": days},
    ...     geometry=gpd.points_from_xy(np.zeros(len(days)), north_km * 1000), crs="EPSG:32648")
    >>> m = migration_periods(t)
    >>> m[["season", "duration_days", "distance_km"]].values.tolist()
    [['spring', 16.0, 40.0], ['autumn', 16.0, 40.0]]
    """
    for label, v in (("lower", lower), ("upper", upper)):
        if not 0 <= v <= 1:
            raise SchemaError(f"migration_periods: {label} must be between 0 and 1; got {v}.")
    if lower >= upper:
        raise SchemaError(f"migration_periods: lower ({lower}) must be below upper ({upper}).")
    if smooth_days < 1:
        raise SchemaError(f"migration_periods: smooth_days must be >= 1; got {smooth_days}.")
    fixes = prepare_tracks(tracks, what="migration_periods", min_fixes=2)
    fixes = fixes.assign(_year=_bio_year(fixes["timestamp"], year_start),
                         _x=fixes.geometry.x, _y=fixes.geometry.y,
                         _d=np.sqrt(_nsd(fixes, year_start, origin_days)))
    fixes["_day"] = fixes["timestamp"].dt.floor("D")
    daily = (fixes.groupby(["individual", "_year", "_day"])
             .agg(d=("_d", "mean"), x=("_x", "mean"), y=("_y", "mean"),
                  first=("timestamp", "min"), last=("timestamp", "max"))
             .reset_index())
    species = (fixes.groupby("individual")["species"].first()
               if "species" in fixes else pd.Series(dtype=object))
    rows: list[dict[str, Any]] = []
    resident: list[tuple[str, int]] = []
    skipped: list[tuple[str, int]] = []
    for (ind, year), g in daily.groupby(["individual", "_year"], sort=True):
        span = (g["_day"].iloc[-1] - g["_day"].iloc[0]).days + 1
        if span < min_days:
            skipped.append((ind, int(year)))
            continue
        d = g["d"].rolling(smooth_days, center=True, min_periods=1).median().to_numpy()
        big = float(np.nanmax(d))
        if big < min_distance_km:
            resident.append((ind, int(year)))
            continue
        hi = d >= upper * big
        lo = d <= lower * big
        s_end = int(np.argmax(hi))
        before = np.flatnonzero(lo[:s_end])
        found = []
        if len(before):
            found.append(("spring", int(before[-1]), s_end))
        back = np.flatnonzero(lo[s_end:])
        if len(back):
            a_end = s_end + int(back[0])
            a_start = int(np.flatnonzero(hi[:a_end])[-1])
            found.append(("autumn", a_start, a_end))
        for season, i0, i1 in found:
            r0, r1 = g.iloc[i0], g.iloc[i1]
            rows.append(dict(
                migration=f"{ind}_{int(year)}_{season}", individual=ind,
                species=species.get(ind), year=int(year), season=season,
                start=r0["first"], end=r1["last"],
                duration_days=float((r1["_day"] - r0["_day"]).days),
                distance_km=float(np.hypot(r1["x"] - r0["x"], r1["y"] - r0["y"]) / 1000),
                max_displacement_km=big, method="nsd"))
    out = pd.DataFrame(rows, columns=list(MIGRATION_COLUMNS))
    out.attrs["resident"] = resident
    out.attrs["skipped"] = skipped
    return out


def periods_from_dates(tracks: gpd.GeoDataFrame, dates: pd.DataFrame | Sequence[dict]
                       ) -> pd.DataFrame:
    """Migration periods from user-given start and end dates (table as :func:`migration_periods`).

    Parameters
    ----------
    tracks : GeoDataFrame
        A tracks layer in a projected CRS.
    dates : DataFrame or list of dict
        Columns ``individual``, ``start``, ``end`` (parsed as UTC) and optionally
        ``season`` (default ``"migration"``).

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd
    >>> t = gpd.GeoDataFrame({"individual": ["a"] * 3,
    ...     "timestamp": pd.to_datetime(["2020-04-01", "2020-04-05", "2020-04-09"], utc=True)},
    ...     geometry=gpd.points_from_xy([0, 5000, 10000], [0, 0, 0]), crs="EPSG:32648")
    >>> p = periods_from_dates(t, [dict(individual="a", start="2020-04-01", end="2020-04-09",
    ...                                 season="spring")])
    >>> p[["migration", "duration_days", "distance_km"]].values.tolist()
    [['a_2020_spring', 8.0, 10.0]]
    """
    fixes = prepare_tracks(tracks, what="periods_from_dates", min_fixes=1)
    table = pd.DataFrame(list(dates)) if not isinstance(dates, pd.DataFrame) else dates.copy()
    missing = [c for c in ("individual", "start", "end") if c not in table.columns]
    if missing:
        raise SchemaError(f"periods_from_dates: the dates table has no column(s) "
                          f"{', '.join(map(repr, missing))}; give individual, start, end.")
    table["individual"] = table["individual"].astype(str)
    for col in ("start", "end"):
        table[col] = pd.to_datetime(table[col], utc=True, errors="coerce")
        if table[col].isna().any():
            raise SchemaError(f"periods_from_dates: {int(table[col].isna().sum())} "
                              f"unparseable {col} date(s); use ISO 8601, e.g. '2020-04-01'.")
    bad = table["end"] <= table["start"]
    if bad.any():
        raise SchemaError(f"periods_from_dates: end is not after start in row(s) "
                          f"{np.flatnonzero(bad.to_numpy()).tolist()}; swap or correct those "
                          "dates.")
    unknown = sorted(set(table["individual"]) - set(fixes["individual"]))
    if unknown:
        raise SchemaError(f"periods_from_dates: individual(s) {unknown} are not in the "
                          f"tracks; known: {sorted(set(fixes['individual']))[:10]}.")
    season = table["season"] if "season" in table else pd.Series("migration", index=table.index)
    rows = []
    for r, s in zip(table.itertuples(), season, strict=True):
        f = fixes[(fixes["individual"] == r.individual) & (fixes["timestamp"] >= r.start)
                  & (fixes["timestamp"] <= r.end)]
        if len(f) < 2:
            raise SchemaError(f"periods_from_dates: individual {r.individual!r} has "
                              f"{len(f)} fix(es) between {r.start} and {r.end}; a migration "
                              "needs at least 2.")
        g = f.geometry
        rows.append(dict(
            migration=f"{r.individual}_{r.start.year}_{s}", individual=r.individual,
            species=f["species"].iloc[0] if "species" in f else None, year=r.start.year,
            season=str(s), start=f["timestamp"].iloc[0], end=f["timestamp"].iloc[-1],
            duration_days=(r.end - r.start).total_seconds() / 86400,
            distance_km=float(g.iloc[0].distance(g.iloc[-1]) / 1000),
            max_displacement_km=float(g.distance(g.iloc[0]).max() / 1000), method="dates"))
    out = pd.DataFrame(rows, columns=list(MIGRATION_COLUMNS))
    if out["migration"].duplicated().any():
        out["migration"] = out["migration"] + "_" + out.groupby("migration").cumcount().astype(
            str)
    return out


def migration_fixes(tracks: gpd.GeoDataFrame, periods: pd.DataFrame) -> gpd.GeoDataFrame:
    """The fixes inside each migration period, with a ``migration`` column.

    A fix that lies in two periods of its individual appears once per period.

    Examples
    --------
    >>> import pandas as pd, geopandas as gpd
    >>> t = gpd.GeoDataFrame({"individual": ["a"] * 3,
    ...     "timestamp": pd.to_datetime(["2020-04-01", "2020-04-05", "2020-04-09"], utc=True)},
    ...     geometry=gpd.points_from_xy([0, 5000, 10000], [0, 0, 0]), crs="EPSG:32648")
    >>> p = periods_from_dates(t, [dict(individual="a", start="2020-04-04", end="2020-04-10")])
    >>> migration_fixes(t, p)["migration"].tolist()
    ['a_2020_migration', 'a_2020_migration']
    """
    fixes = prepare_tracks(tracks, what="migration_fixes", min_fixes=1)
    need = [c for c in ("migration", "individual", "start", "end") if c not in periods]
    if need:
        raise SchemaError(f"migration_fixes: the periods table has no column(s) {need}; "
                          "pass the output of migration_periods or periods_from_dates.")
    p = periods[["migration", "individual", "start", "end"]].copy()
    p["individual"] = p["individual"].astype(str)
    merged = fixes.reset_index().merge(p, on="individual", how="inner")
    inside = (merged["timestamp"] >= merged["start"]) & (merged["timestamp"] <= merged["end"])
    out = merged.loc[inside].drop(columns=["start", "end", "index"])
    out = out.sort_values(["migration", "timestamp"], kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=fixes.geometry.name, crs=fixes.crs)
