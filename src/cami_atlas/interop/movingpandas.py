"""Atlas ``tracks`` layers <-> ``movingpandas.TrajectoryCollection``.

A tracks layer (points with ``individual``, ``timestamp`` in UTC, ``species`` and any
other attributes, e.g. what :func:`cami_atlas.io.read_tracks_csv` returns from a
Movebank export) becomes one trajectory per individual, its id the individual, its
DataFrame indexed by time. movingpandas works with time-zone-naive times, so the
times are converted to UTC and then made naive; the way back reads naive times as UTC
(and converts aware ones to UTC). Every other column travels unchanged.

Needs ``movingpandas`` (``pip install 'cami-atlas[movingpandas]'``).
"""

from __future__ import annotations

import warnings
from typing import Any

import geopandas as gpd
import pandas as pd

from ..errors import MissingColumnError, SchemaError
from ..validate import validate_layer

__all__ = ["tracks_from_trajectories", "tracks_to_trajectories"]

_MAX_NAMES = 10
_TRAJ_ID = "traj_id"  # movingpandas' default trajectory id column


def _mpd() -> Any:
    try:
        with warnings.catch_warnings():  # its optional Stone Soup smoother is not used here
            warnings.filterwarnings("ignore", "Missing optional dependencies", UserWarning)
            import movingpandas
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "tracks <-> TrajectoryCollection conversion needs movingpandas: "
            "pip install 'cami-atlas[movingpandas]' (or pip install movingpandas)."
        ) from exc
    return movingpandas


def tracks_to_trajectories(tracks: gpd.GeoDataFrame) -> Any:
    """One ``movingpandas.Trajectory`` per individual, as a ``TrajectoryCollection``.

    Parameters
    ----------
    tracks : GeoDataFrame
        A ``tracks`` layer (validated here: points, ``individual``, ``timestamp``,
        ``species``, a CRS). Individuals with a single fix cannot form a trajectory;
        they are left out with a ``UserWarning`` naming them.

    Returns
    -------
    movingpandas.TrajectoryCollection
        Trajectory ids are the individuals (also in the ``traj_id`` column, so that
        ``individual`` survives movingpandas' splitters, which renumber the ids); each
        trajectory's DataFrame is indexed by ``timestamp`` (UTC, time-zone naive) and
        keeps ``individual``, ``species`` and the other columns; the CRS is the layer's.
        Fixes repeating an individual's timestamp are dropped by movingpandas (all but
        the first; ``UserWarning``).

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> t = gpd.GeoDataFrame(
    ...     {"individual": ["a", "a", "b", "b"], "species": "Saiga_tatarica",
    ...      "timestamp": pd.to_datetime(["2021-03-01 00:00", "2021-03-01 06:00",
    ...                                   "2021-03-01 00:00", "2021-03-02 00:00"], utc=True)},
    ...     geometry=[Point(52, 49), Point(52.1, 49), Point(51, 48), Point(51, 48.2)],
    ...     crs="EPSG:4326")
    >>> tc = tracks_to_trajectories(t)
    >>> [tr.id for tr in tc], str(tc.trajectories[0].get_duration())
    (['a', 'b'], '6:00:00')
    """
    mpd = _mpd()
    if not isinstance(tracks, gpd.GeoDataFrame):
        raise SchemaError(f"tracks must be a GeoDataFrame (a tracks layer); got "
                          f"{type(tracks).__name__}. Read a CSV with "
                          "cami_atlas.io.read_tracks_csv.")
    if _TRAJ_ID in tracks.columns:
        raise SchemaError(f"the tracks have a column {_TRAJ_ID!r}, the name movingpandas gives "
                          "the trajectory id; rename it, e.g. tracks.rename(columns="
                          f"{{{_TRAJ_ID!r}: 'source_traj_id'}}).")
    layer = validate_layer(tracks, "tracks", layer="tracks")
    layer = layer.assign(timestamp=pd.to_datetime(layer["timestamp"], utc=True)
                         .dt.tz_convert("UTC").dt.tz_localize(None))
    counts = layer.groupby("individual", sort=False)["individual"].transform("size")
    single = layer.loc[counts < 2, "individual"].astype(str)
    if len(single):
        names = sorted(single.unique())
        warnings.warn(
            f"{len(names)} individual(s) have a single fix and no trajectory; left out: "
            f"{', '.join(names[:_MAX_NAMES])}{' ...' if len(names) > _MAX_NAMES else ''}.",
            UserWarning, stacklevel=2)
        layer = layer.loc[counts >= 2]
    dup = layer.duplicated(["individual", "timestamp"])
    if dup.any():
        warnings.warn(
            f"{int(dup.sum())} fix(es) repeat the timestamp of an earlier fix of the same "
            "individual; a movingpandas Trajectory keeps only the first of each.",
            UserWarning, stacklevel=2)
    layer = layer.assign(**{_TRAJ_ID: layer["individual"].astype(str)})
    return mpd.TrajectoryCollection(layer, traj_id_col=_TRAJ_ID, t="timestamp")


def tracks_from_trajectories(
    trajectories: Any,
    *,
    species: str | None = None,
    trajectory_id_column: str | None = None,
) -> gpd.GeoDataFrame:
    """A validated ``tracks`` layer from a ``movingpandas.TrajectoryCollection``.

    Parameters
    ----------
    trajectories : movingpandas.TrajectoryCollection or Trajectory
        Each trajectory's DataFrame must be indexed by time (a ``DatetimeIndex``);
        naive times are taken as UTC, aware ones converted to UTC. (A Trajectory built
        from time-zone-aware times keeps their wall-clock times and drops the zone:
        convert to UTC before building it, ``times.tz_convert("UTC").tz_localize(None)``.)
    species : str, optional
        Species of every fix where the trajectories have no ``species`` column or leave
        it empty.
    trajectory_id_column : str, optional
        Also keep each fix's trajectory id in this column (useful after a movingpandas
        splitter, whose ids are ``<individual>_<n>``).

    Returns
    -------
    GeoDataFrame
        Points with ``individual`` (the ``individual`` column where the trajectories
        have one, else the trajectory id), ``timestamp`` (UTC), ``species`` and every
        other column except the trajectory id column; sorted by individual then time,
        new ``RangeIndex``, the collection's CRS.

    Raises
    ------
    SchemaError
        Not a TrajectoryCollection, or a trajectory not indexed by time.
    MissingColumnError
        No ``species`` column and no ``species=``.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> t = gpd.GeoDataFrame(
    ...     {"individual": ["a", "a"], "species": "Saiga_tatarica", "collar": ["c7", "c7"],
    ...      "timestamp": pd.to_datetime(["2021-03-01 06:00", "2021-03-01 00:00"], utc=True)},
    ...     geometry=[Point(52.1, 49), Point(52, 49)], crs="EPSG:4326")
    >>> back = tracks_from_trajectories(tracks_to_trajectories(t))
    >>> back["timestamp"].astype(str).tolist(), back["collar"].tolist()
    (['2021-03-01 00:00:00+00:00', '2021-03-01 06:00:00+00:00'], ['c7', 'c7'])
    """
    mpd = _mpd()
    if isinstance(trajectories, mpd.Trajectory):
        trajectories = mpd.TrajectoryCollection([trajectories])
    if not isinstance(trajectories, mpd.TrajectoryCollection):
        raise SchemaError(
            "trajectories must be a movingpandas TrajectoryCollection (or Trajectory); got "
            f"{type(trajectories).__name__}.")
    trajs = list(trajectories.trajectories)
    if not trajs:
        raise SchemaError("the TrajectoryCollection holds no trajectory; nothing to convert.")
    untimed = [str(tr.id) for tr in trajs if not isinstance(tr.df.index, pd.DatetimeIndex)]
    if untimed:
        raise SchemaError(
            f"{len(untimed)} trajectory(ies) are not indexed by time (ids: "
            f"{', '.join(untimed[:_MAX_NAMES])}); a Trajectory's DataFrame needs a "
            "DatetimeIndex. Set it, e.g. traj.df = traj.df.set_index('timestamp'), or "
            "rebuild the collection with TrajectoryCollection(gdf, traj_id_col=..., t=...).")
    crs = trajs[0].crs
    frames = []
    for tr in trajs:
        df = tr.df
        times = df.index
        times = times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")
        id_col = tr.get_traj_id_col()
        drop = [c for c in ("timestamp", id_col) if c in df.columns and c != "individual"]
        part = pd.DataFrame(df.drop(columns=drop)).reset_index(drop=True)
        if "individual" not in part.columns:
            part.insert(0, "individual", str(tr.id))
        part.insert(1, "timestamp", times.to_numpy())
        if trajectory_id_column:
            part[trajectory_id_column] = str(tr.id)
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    geom_col = trajs[0].df.geometry.name
    if "species" not in out.columns:
        if species is None:
            raise MissingColumnError(
                "the trajectories have no 'species' column; pass species='Genus species' "
                "(e.g. species='Saiga tatarica') or add the column to the trajectories.")
        out["species"] = species
    elif species is not None:
        out["species"] = out["species"].where(out["species"].notna(), species)
    first = ["individual", "timestamp", "species"]
    rest = [c for c in out.columns if c not in first and c != geom_col]
    out = out[[*first, *rest, geom_col]]
    gdf = gpd.GeoDataFrame(out, geometry=geom_col, crs=crs)
    if geom_col != "geometry":
        gdf = gdf.rename_geometry("geometry")
    gdf = gdf.sort_values(["individual", "timestamp"], kind="stable").reset_index(drop=True)
    return validate_layer(gdf, "tracks", layer="tracks")
