"""Read GPS tracks from CSV (Movebank export layout or a plain layout) as a ``tracks`` layer.

Two column layouts are recognised:

* Movebank: ``individual-local-identifier``, ``timestamp``, ``location-long``,
  ``location-lat`` and, when present, ``individual-taxon-canonical-name`` (-> ``species``);
* plain: ``individual``, ``timestamp``, ``lon``, ``lat`` and, optionally, ``species``.

Rules (the same for both layouts):

* Timestamps are parsed to UTC. A timestamp without a time zone is taken to be UTC
  (Movebank exports are UTC); one with an offset (``2020-05-01T10:00:00+06:00``) is
  converted to UTC. A missing or unparseable timestamp is an error naming the lines.
* Rows with an empty longitude or latitude (GPS fixes that failed, common in Movebank
  exports) are dropped with a ``UserWarning`` that gives their number and CSV lines;
  a coordinate that is present but not a number is an error.
* In a geographic CRS, a longitude outside -180..180 or a latitude outside -90..90 is
  an error naming the lines and what was probably meant (projected metres given
  without their CRS, or swapped lon/lat columns).
* A fix repeated exactly (same individual, timestamp and coordinates as an earlier
  line) is dropped with a ``UserWarning`` giving the count and the CSV lines; one
  individual at different coordinates at the same time is an error naming the lines.
* A header that names a column twice is an error naming the file and the column.
* Rows are sorted by individual, then time (stable); the index is a new ``RangeIndex``.
  Other columns of the file are kept; the coordinate columns become the geometry.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from ..errors import CRSError, LayerReadError, MissingColumnError, SchemaError
from ..validate import check_rename, suggest_column, validate_layer

__all__ = ["MOVEBANK_COLUMNS", "PLAIN_COLUMNS", "read_tracks_csv"]

#: Movebank column -> role.
MOVEBANK_COLUMNS: dict[str, str] = {
    "individual-local-identifier": "individual",
    "timestamp": "timestamp",
    "location-long": "lon",
    "location-lat": "lat",
    "individual-taxon-canonical-name": "species",
}
#: Plain layout column -> role.
PLAIN_COLUMNS: dict[str, str] = {
    "individual": "individual",
    "timestamp": "timestamp",
    "lon": "lon",
    "lat": "lat",
    "species": "species",
}
_MAX_LINES = 10


def _lines(mask: pd.Series) -> str:
    """CSV line numbers (header = line 1) of the rows in ``mask``."""
    lines = (np.flatnonzero(mask.to_numpy()) + 2).tolist()
    text = ", ".join(map(str, lines[:_MAX_LINES]))
    return text + (f" and {len(lines) - _MAX_LINES} more" if len(lines) > _MAX_LINES else "")


def _layout(columns: list[str], path: Path) -> dict[str, str]:
    movebank = any(c in columns for c in ("individual-local-identifier", "location-long",
                                          "location-lat"))
    layout = MOVEBANK_COLUMNS if movebank else PLAIN_COLUMNS
    required = [c for c, role in layout.items() if role != "species"]
    missing = [c for c in required if c not in columns]
    if missing:
        parts = []
        for name in missing:
            close = suggest_column(name, columns)
            parts.append(f"{name!r}" + (f" (found {close!r}: rename it)" if close else ""))
        raise MissingColumnError(
            f"{path}: missing track column(s) {', '.join(parts)} for the "
            f"{'Movebank' if movebank else 'plain'} layout. Use either Movebank columns "
            f"({', '.join(list(MOVEBANK_COLUMNS)[:4])}) or plain columns "
            f"({', '.join(list(PLAIN_COLUMNS)[:4])}), plus an optional species column; "
            f"present: {', '.join(columns) or 'none'}."
        )
    return {c: role for c, role in layout.items() if c in columns}


def _parse_times(raw: pd.Series) -> pd.Series:
    try:
        return pd.to_datetime(raw, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        return pd.to_datetime(raw, utc=True, format="mixed", errors="coerce")


def read_tracks_csv(
    path: str | os.PathLike[str],
    *,
    crs: object = "EPSG:4326",
    species: str | None = None,
    rename: Mapping[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read GPS fixes from a CSV file into a validated ``tracks`` layer.

    See the module documentation for the two column layouts and the rules on time
    zones, missing coordinates and sorting.

    Parameters
    ----------
    path : path-like
        The CSV file.
    crs : CRS-like, default "EPSG:4326"
        CRS of the coordinate columns (a CSV carries none).
    species : str, optional
        Species of every fix where the file has no species column or leaves it empty.
    rename : mapping, optional
        ``{column in the file: column name to use}`` applied before the layout is
        recognised (e.g. ``{"animal": "individual"}``); see
        :func:`cami_atlas.validate.check_rename`.

    Returns
    -------
    geopandas.GeoDataFrame
        Points with ``individual`` (string), ``timestamp`` (UTC), ``species``
        (canonical ``Genus_species``) and the file's other columns.

    Raises
    ------
    LayerReadError
        The file is missing or not a readable CSV.
    MissingColumnError
        A required column is missing (the closest name is suggested).
    SchemaError
        Missing individual or timestamp, unparseable timestamps or coordinates,
        coordinates out of range.
    CRSError
        ``crs`` is not a CRS.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fixes.csv"
    >>> _ = p.write_text("individual,timestamp,lon,lat\\n"
    ...                  "b,2020-01-01 02:00,100.1,45.0\\n"
    ...                  "a,2020-01-01T08:00+06:00,100.0,45.0\\n")
    >>> t = read_tracks_csv(p, species="Procapra gutturosa")
    >>> t[["individual", "species"]].values.tolist()
    [['a', 'Procapra_gutturosa'], ['b', 'Procapra_gutturosa']]
    >>> str(t["timestamp"].iloc[0])
    '2020-01-01 02:00:00+00:00'
    """
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"track file {path} does not exist; check the path.")
    try:
        crs_obj = CRS.from_user_input(crs) if crs is not None else None
    except PyprojCRSError as exc:
        raise CRSError(f"crs={crs!r} is not a CRS ({exc}); give e.g. 'EPSG:4326'.") from None
    df, by_role = _read_fix_table(path, rename)
    times, problems = _id_time_problems(df, by_role)
    lon, lat, coord_problems = _parse_coordinates(df, by_role)
    problems += coord_problems
    if crs_obj is not None and crs_obj.is_geographic:
        problems += _degree_problems(lon, lat, by_role, crs)
    missing_xy = lon.isna() | lat.isna()
    repeat = pd.Series(False, index=df.index)
    if not problems:
        repeat, clash_problems = _repeated_fixes(df[by_role["individual"]], times, lon, lat)
        problems += clash_problems
    if problems:
        raise SchemaError(f"{path}: " + "; ".join(problems) + ".")
    if repeat.any():
        warnings.warn(
            f"{path}: dropped {int(repeat.sum())} repeated fix(es) (same individual, "
            f"timestamp and coordinates as an earlier line; CSV lines {_lines(repeat)}).",
            UserWarning, stacklevel=2)
    if missing_xy.any():
        warnings.warn(
            f"{path}: dropped {int(missing_xy.sum())} of {len(df)} fix(es) without "
            f"coordinates (CSV lines {_lines(missing_xy)}).", UserWarning, stacklevel=2)
    out = _fix_points(df, by_role, times, lon, lat, species=species, crs=crs_obj,
                      drop=missing_xy | repeat)
    return validate_layer(out, "tracks", source=str(path))


def _read_fix_table(path: Path, rename: Mapping[str, str] | None
                    ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read the CSV at ``path`` (renamed) and return it with ``{role: column}``.

    Rejects a header that names a column twice, applies ``rename`` (checked by
    :func:`cami_atlas.validate.check_rename`), recognises the Movebank or plain
    layout (:func:`_layout`) and reads the individual, timestamp and species
    columns as text. Unreadable CSV raises :class:`LayerReadError`.
    """
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            raw_header = next(csv.reader(fh), [])
        dup = sorted({c for c in raw_header if raw_header.count(c) > 1})
        if dup:
            raise SchemaError(
                f"{path}: the header names column(s) {', '.join(map(repr, dup))} more than "
                "once; rename or delete the duplicate column(s) so that each name is unique.")
        header = pd.read_csv(path, nrows=0).columns.tolist()
        renamed = check_rename(rename or {}, [str(c) for c in header], str(path))
        header = [renamed.get(str(c), str(c)) for c in header]
        roles = _layout(header, path)
        by_role = {role: col for col, role in roles.items()}
        back = {dst: src for src, dst in renamed.items()}
        text_cols = {back.get(by_role[r], by_role[r]): str
                     for r in ("individual", "timestamp", "species") if r in by_role}
        df = pd.read_csv(path, dtype=text_cols, keep_default_na=True).rename(columns=renamed)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise LayerReadError(f"could not read {path} as CSV: {exc}. Check the delimiter "
                             "(comma) and the encoding (UTF-8).") from exc
    return df, by_role


def _id_time_problems(df: pd.DataFrame, by_role: Mapping[str, str]
                      ) -> tuple[pd.Series, list[str]]:
    """Parse the timestamps of ``df`` (UTC) and list rows without individual or time.

    Returns the parsed times (NaT where missing or unparseable) and one message per
    kind of problem, naming the CSV lines.
    """
    problems: list[str] = []
    individual = df[by_role["individual"]]
    if individual.isna().any():
        problems.append(f"{int(individual.isna().sum())} row(s) have no individual "
                        f"(CSV lines {_lines(individual.isna())})")
    raw_time = df[by_role["timestamp"]]
    times = _parse_times(raw_time)
    if raw_time.isna().any():
        problems.append(f"{int(raw_time.isna().sum())} row(s) have no timestamp "
                        f"(CSV lines {_lines(raw_time.isna())})")
    bad_time = raw_time.notna() & times.isna()
    if bad_time.any():
        shown = ", ".join(map(repr, raw_time[bad_time].head(3)))
        problems.append(f"{int(bad_time.sum())} timestamp(s) could not be parsed, e.g. "
                        f"{shown} (CSV lines {_lines(bad_time)}); use ISO 8601, e.g. "
                        "'2020-05-01 10:00:00' (UTC) or '2020-05-01T10:00:00+06:00'")
    return times, problems


def _parse_coordinates(df: pd.DataFrame, by_role: Mapping[str, str]
                       ) -> tuple[pd.Series, pd.Series, list[str]]:
    """Return the lon and lat columns of ``df`` as floats and the non-number problems.

    Empty cells become NaN silently (those fixes are dropped later); text that is not
    a number is a problem naming the column and the CSV lines.
    """
    problems: list[str] = []
    coords = {}
    for role in ("lon", "lat"):
        raw = df[by_role[role]]
        value = pd.to_numeric(raw, errors="coerce")
        bad = raw.notna() & value.isna()
        if bad.any():
            problems.append(f"column {by_role[role]!r} holds {int(bad.sum())} value(s) that "
                            f"are not numbers (CSV lines {_lines(bad)})")
        coords[role] = value
    return coords["lon"], coords["lat"], problems


def _degree_problems(lon: pd.Series, lat: pd.Series, by_role: Mapping[str, str],
                     crs: object) -> list[str]:
    """List geographic coordinates out of range, with the likely cause.

    Values above 360 look like projected metres; latitudes out of range with all
    longitudes within 90 look like swapped columns; otherwise the user is asked to
    check both.
    """
    problems: list[str] = []
    out_lon = lon.notna() & ~lon.between(-180, 180)
    out_lat = lat.notna() & ~lat.between(-90, 90)
    if out_lon.any():
        problems.append(f"{int(out_lon.sum())} longitude(s) outside -180..180 "
                        f"(CSV lines {_lines(out_lon)})")
    if out_lat.any():
        problems.append(f"{int(out_lat.sum())} latitude(s) outside -90..90 "
                        f"(CSV lines {_lines(out_lat)})")
    big_lon = float(lon.abs().max())
    big_lat = float(lat.abs().max())
    if big_lon > 360 or big_lat > 360:
        problems.append(
            f"values up to {max(big_lon, big_lat):.0f} are not degrees: the coordinates "
            "look like projected metres (UTM?); give the CRS they are in, e.g. "
            "crs='EPSG:32643' (--crs EPSG:32643) for UTM zone 43N")
    elif out_lat.any() and big_lon <= 90:
        problems.append(f"the coordinates look like (lat, lon): swap the columns "
                        f"{by_role['lon']!r} and {by_role['lat']!r}")
    elif out_lon.any() or out_lat.any():
        problems.append("check that longitude and latitude are not swapped and that "
                        f"crs={crs!r} is the CRS of the coordinates")
    return problems


def _repeated_fixes(individual: pd.Series, times: pd.Series, lon: pd.Series,
                    lat: pd.Series) -> tuple[pd.Series, list[str]]:
    """Mark exact repeats of an earlier fix and report same-time fixes that differ.

    Fixes without coordinates are ignored. Returns the repeat mask (to drop with a
    warning) and a problem if one individual has two positions at one time.
    """
    missing_xy = lon.isna() | lat.isna()
    key = pd.DataFrame({"i": individual.astype(str), "t": times,
                        "x": lon, "y": lat})[~missing_xy]
    repeat = key.duplicated().reindex(individual.index, fill_value=False)
    clash = key[~repeat[~missing_xy]].duplicated(["i", "t"], keep=False).reindex(
        individual.index, fill_value=False)
    problems: list[str] = []
    if clash.any():
        problems.append(
            f"{int(clash.sum())} fixes share an individual and a timestamp but have "
            f"different coordinates (CSV lines {_lines(clash)}); keep one fix per "
            "individual and time")
    return repeat, problems


def _fix_points(df: pd.DataFrame, by_role: Mapping[str, str], times: pd.Series,
                lon: pd.Series, lat: pd.Series, *, species: str | None, crs: CRS | None,
                drop: pd.Series) -> gpd.GeoDataFrame:
    """Points with standard column names, without the ``drop`` rows, sorted by animal and time.

    ``species`` fills a missing or empty species column; the coordinate columns become
    the geometry; ``individual``, ``timestamp``, ``species`` come first.
    """
    coord_cols = [by_role["lon"], by_role["lat"]]
    renames = {by_role["individual"]: "individual", by_role["timestamp"]: "timestamp"}
    if "species" in by_role:
        renames[by_role["species"]] = "species"
    out = df.drop(columns=coord_cols).rename(columns=renames)
    out["timestamp"] = times
    out["individual"] = out["individual"].astype(str)
    if "species" not in out.columns:
        out["species"] = species
    elif species is not None:
        out["species"] = out["species"].where(out["species"].notna(), species)
    out = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=crs)
    out = out.loc[~drop.to_numpy()]
    out = out.sort_values(["individual", "timestamp"], kind="stable").reset_index(drop=True)
    front = ["individual", "timestamp", "species"]
    return out[front + [c for c in out.columns if c not in front]]
