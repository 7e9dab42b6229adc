"""Monitoring of crossing structures: observed use from counts or GPS tracks, by structure
and by structure type, so the mitigation catalogue can be updated from evidence.

A monitoring record says how often a species used a structure over a period (camera traps,
track counts): ``structure_id, structure_type, species, start_date, end_date, crossings``.
GPS tracks give the same evidence without a counter: the crossings of a line by tracked
animals within a distance of a structure (:func:`gps_crossings_at_structures`).

Examples
--------
>>> import pandas as pd
>>> rec = pd.DataFrame({"structure_id": ["U1"], "structure_type": ["underpass"],
...                     "species": ["khulan"], "start_date": ["2024-01-01"],
...                     "end_date": ["2024-01-10"], "crossings": [25]})
>>> observed_use(check_monitoring(rec))["crossings_per_day"].tolist()
[2.5]
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd

from ..errors import SchemaError
from .catalogue import load_catalogue

__all__ = ["MONITORING_COLUMNS", "check_monitoring", "gps_crossings_at_structures",
           "observed_use", "read_monitoring", "use_by_structure_type"]

#: Columns of a monitoring table (a geometry is optional).
MONITORING_COLUMNS: tuple[str, ...] = ("structure_id", "structure_type", "species",
                                       "start_date", "end_date", "crossings")


def check_monitoring(records: pd.DataFrame, *, what: str = "monitoring records"
                     ) -> pd.DataFrame:
    """Validate monitoring records: columns, dates, counts, species.

    Parameters
    ----------
    records : DataFrame or GeoDataFrame
        One row per structure, species and period, with :data:`MONITORING_COLUMNS`.
    what : str
        Name used in error messages (e.g. the file).

    Returns
    -------
    DataFrame
        The records with ``start_date``/``end_date`` as dates, ``crossings`` as integers
        and ``matrix_species`` (the species as named by the barrier matrix).

    Raises
    ------
    SchemaError
        A missing column, an unreadable or reversed date range, a negative or
        non-integer count.
    UnknownSpeciesError
        A species that is not a species of the atlas.

    Examples
    --------
    >>> import pandas as pd
    >>> bad = pd.DataFrame({"structure_id": ["U1"], "structure_type": ["underpass"],
    ...                     "species": ["khulan"], "start_date": ["2024-02-01"],
    ...                     "end_date": ["2024-01-01"], "crossings": [3]})
    >>> try:
    ...     check_monitoring(bad)
    ... except SchemaError as e:
    ...     print(str(e).split(";")[0])
    monitoring records: row(s) [0] end before they start (structure U1)
    """
    from ..barriers.species import resolve_species

    missing = [c for c in MONITORING_COLUMNS if c not in records.columns]
    if missing:
        raise SchemaError(f"{what}: missing column(s) {missing}; monitoring records need "
                          f"{list(MONITORING_COLUMNS)} (one row per structure, species and "
                          "period).")
    out = records.copy()
    for col in ("start_date", "end_date"):
        dates = pd.to_datetime(out[col], errors="coerce", format="mixed")
        bad = dates.isna()
        if bad.any():
            raise SchemaError(f"{what}: column {col!r} has value(s) "
                              f"{out.loc[bad, col].astype(str).tolist()[:5]} that are not "
                              "dates; write them as YYYY-MM-DD.")
        out[col] = dates.dt.normalize()
    reversed_ = out["end_date"] < out["start_date"]
    if reversed_.any():
        rows = out.index[reversed_].tolist()
        raise SchemaError(f"{what}: row(s) {rows[:10]} end before they start (structure "
                          f"{out.loc[reversed_, 'structure_id'].iloc[0]}); swap "
                          "start_date and end_date.")
    counts = pd.to_numeric(out["crossings"], errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts % 1 != 0)
    if bad.any():
        raise SchemaError(f"{what}: column 'crossings' has value(s) "
                          f"{out.loc[bad, 'crossings'].astype(str).tolist()[:5]}; give the "
                          "number of crossings counted (a whole number >= 0).")
    out["crossings"] = counts.astype("int64")
    names = {s: resolve_species(str(s)) for s in pd.unique(out["species"].astype(str))}
    out["matrix_species"] = out["species"].astype(str).map(names)
    return out


def read_monitoring(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and check monitoring records from a CSV, GeoPackage or any vector file.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> pd.DataFrame({"structure_id": ["U1"], "structure_type": ["underpass"],
    ...               "species": ["saiga"], "start_date": ["2024-05-01"],
    ...               "end_date": ["2024-05-31"], "crossings": [62]}).to_csv(p, index=False)
    >>> read_monitoring(p)["matrix_species"].tolist()
    ['Saiga_spp']
    """
    from ..io import read_vector

    p = os.fspath(path)
    if p.lower().endswith(".csv"):
        try:
            frame = pd.read_csv(p)
        except (OSError, pd.errors.ParserError) as exc:
            raise SchemaError(f"monitoring records {p}: cannot be read as CSV ({exc}).") from None
    else:
        frame = read_vector(p)
    return check_monitoring(frame, what=f"monitoring records {p}")


def observed_use(records: pd.DataFrame) -> pd.DataFrame:
    """Crossings per day per structure and species over all monitored periods.

    Parameters
    ----------
    records : DataFrame
        :func:`check_monitoring` output (periods of one structure and species are
        added up; both dates count as monitored days).

    Returns
    -------
    DataFrame
        ``structure_id, structure_type, species, days, crossings, crossings_per_day``.

    Examples
    --------
    >>> import pandas as pd
    >>> rec = check_monitoring(pd.DataFrame({
    ...     "structure_id": ["U1", "U1"], "structure_type": ["underpass"] * 2,
    ...     "species": ["saiga", "saiga"], "start_date": ["2024-01-01", "2024-03-01"],
    ...     "end_date": ["2024-01-31", "2024-03-09"], "crossings": [31, 9]}))
    >>> observed_use(rec)[["days", "crossings", "crossings_per_day"]].values.tolist()
    [[40.0, 40.0, 1.0]]
    """
    r = records.assign(days=(records["end_date"] - records["start_date"]).dt.days + 1)
    out = (r.groupby(["structure_id", "structure_type", "matrix_species"], as_index=False)
           .agg(days=("days", "sum"), crossings=("crossings", "sum"))
           .rename(columns={"matrix_species": "species"}))
    out[["days", "crossings"]] = out[["days", "crossings"]].astype(float)
    out["crossings_per_day"] = out["crossings"] / out["days"]
    return out


def gps_crossings_at_structures(structures: gpd.GeoDataFrame, line: gpd.GeoDataFrame,
                                tracks: gpd.GeoDataFrame, *, max_distance_m: float = 500.0,
                                individual: str = "individual",
                                timestamp: str = "timestamp") -> pd.DataFrame:
    """GPS crossings of a line near each structure on it, per species.

    Every crossing of ``line`` by a track step
    (:func:`cami_atlas.barriers.track_crossings`) is assigned to the nearest structure
    within ``max_distance_m`` (measured in the projected CRS of ``tracks``); crossings
    farther from every structure are crossings elsewhere on the line.

    Parameters
    ----------
    structures : GeoDataFrame
        Points with ``structure_id`` and ``structure_type``.
    line : GeoDataFrame
        The infrastructure the structures are on.
    tracks : GeoDataFrame
        GPS fixes in a projected CRS (metres), with ``species`` for per-species counts.
    max_distance_m : float, default 500
        Largest distance from a structure at which a crossing is counted for it.
    individual, timestamp : str
        Id and time columns of ``tracks``.

    Returns
    -------
    DataFrame
        ``structure_id, structure_type, species`` (as the barrier matrix names it, e.g.
        ``Saiga_spp``), ``crossings, individuals, share_of_line_crossings`` (the
        structure's share of all crossings of the line by that species), plus a row
        with ``structure_id`` ``None`` for the crossings away from every structure.

    Examples
    --------
    >>> import pandas as pd
    >>> from shapely import LineString, Point
    >>> crs = "EPSG:32612"
    >>> fence = gpd.GeoDataFrame({"infra_type": ["fence"]},
    ...                          geometry=[LineString([(0, -5000), (0, 5000)])], crs=crs)
    >>> gate = gpd.GeoDataFrame({"structure_id": ["G1"], "structure_type": ["fence opening"]},
    ...                         geometry=[Point(0, 0)], crs=crs)
    >>> fixes = gpd.GeoDataFrame({"individual": ["a"] * 3, "species": ["saiga"] * 3,
    ...     "timestamp": pd.date_range("2024-01-01", periods=3, freq="h", tz="UTC")},
    ...     geometry=[Point(-100, 50), Point(100, 60), Point(-100, 3000)], crs=crs)
    >>> gps_crossings_at_structures(gate, fence, fixes)["crossings"].tolist()
    [1, 1]
    """
    from ..barriers import track_crossings

    if tracks.crs is None or not tracks.crs.is_projected:
        raise SchemaError("tracks for GPS crossings at structures need a projected CRS in "
                          "metres; reproject them first (e.g. to the UTM zone of the line).")
    missing = [c for c in ("structure_id", "structure_type") if c not in structures.columns]
    if missing:
        raise SchemaError(f"structures lack column(s) {missing}; give each point a "
                          "structure_id and a structure_type.")
    if not max_distance_m > 0:
        raise SchemaError(f"max_distance_m must be > 0; got {max_distance_m}.")
    events = track_crossings(tracks, line.to_crs(tracks.crs), individual=individual,
                             timestamp=timestamp)
    # species as the barrier matrix names them (as observed_use does), else as given
    given = (events["species"].astype(object) if "species" in events.columns
             else pd.Series("unknown", index=events.index, dtype=object))
    named = events["matrix_species"].astype(object) if "matrix_species" in events.columns \
        else given
    events = events.assign(species=named.where(named.notna() & named.ne(""), given))
    pts = structures.to_crs(tracks.crs).reset_index(drop=True)
    cols = ["structure_id", "structure_type", "species", "crossings", "individuals",
            "share_of_line_crossings"]
    if events.empty:
        return pd.DataFrame(columns=cols)
    near = gpd.sjoin_nearest(events[["species", "individual", "geometry"]], pts[[
        "structure_id", "structure_type", "geometry"]], how="left",
        max_distance=max_distance_m, distance_col="distance_m")
    near = near[~near.index.duplicated(keep="first")]  # equidistant structures: the first
    near["structure_id"] = near["structure_id"].astype(object).where(
        near["structure_id"].notna(), None)
    grouped = (near.assign(structure_id=near["structure_id"].fillna("(elsewhere)"),
                           structure_type=near["structure_type"].fillna(""))
               .groupby(["structure_id", "structure_type", "species"], as_index=False)
               .agg(crossings=("individual", "size"), individuals=("individual", "nunique")))
    total = grouped.groupby("species")["crossings"].transform("sum")
    grouped["share_of_line_crossings"] = grouped["crossings"] / total
    grouped["structure_id"] = grouped["structure_id"].replace("(elsewhere)", None)
    order = grouped["structure_id"].isna()
    return (grouped.assign(_o=order).sort_values(["_o", "structure_id", "species"])
            .drop(columns="_o").reset_index(drop=True)[cols])


def use_by_structure_type(observed: pd.DataFrame,
                          catalogue: pd.DataFrame | str | os.PathLike[str] | None = None
                          ) -> pd.DataFrame:
    """Observed use summarised per structure type and species, with the catalogue
    measures of that structure type, so the catalogue can be updated from evidence.

    Parameters
    ----------
    observed : DataFrame
        :func:`observed_use` output.
    catalogue : DataFrame or path, optional
        The mitigation catalogue (default: the shipped one).

    Returns
    -------
    DataFrame
        ``structure_type, species, structures, days, crossings, crossings_per_day``
        (pooled: all crossings over all monitored days) and ``measure_ids`` of the
        catalogue with that ``structure_type`` (empty if none).

    Examples
    --------
    >>> import pandas as pd
    >>> obs = pd.DataFrame({"structure_id": ["U1", "U2"], "structure_type": ["underpass"] * 2,
    ...                     "species": ["Equus_hemionus"] * 2, "days": [10.0, 30.0],
    ...                     "crossings": [30.0, 10.0], "crossings_per_day": [3.0, 1 / 3]})
    >>> row = use_by_structure_type(obs).iloc[0]
    >>> float(row["crossings_per_day"]), row["measure_ids"]
    (1.0, 'mitigate_underpass')
    """
    cat = catalogue if isinstance(catalogue, pd.DataFrame) else load_catalogue(catalogue)
    measures = (cat.loc[cat["structure_type"].ne(""), ["structure_type", "measure_id"]]
                .groupby("structure_type")["measure_id"].agg("; ".join))
    out = (observed.groupby(["structure_type", "species"], as_index=False)
           .agg(structures=("structure_id", "nunique"), days=("days", "sum"),
                crossings=("crossings", "sum")))
    out["crossings_per_day"] = out["crossings"] / out["days"].replace(0, np.nan)
    out["measure_ids"] = out["structure_type"].map(measures).fillna("")
    return out
