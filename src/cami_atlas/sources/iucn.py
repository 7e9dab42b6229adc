"""IUCN Red List spatial data (range polygons) -> atlas ``species_range`` layers.

IUCN range files carry the scientific name (``sci_name``, older files ``binomial``) and
three coded attributes, documented by IUCN in "Legend combinations for IUCN Red List
Spatial Data" and the mapping standards:

========  ========================================================================
presence  1 Extant, 2 Probably Extant, 3 Possibly Extant, 4 Possibly Extinct,
          5 Extinct, 6 Presence Uncertain
origin    1 Native, 2 Reintroduced, 3 Introduced, 4 Vagrant, 5 Origin Uncertain,
          6 Assisted Colonisation
seasonal  1 Resident, 2 Breeding Season, 3 Non-breeding Season, 4 Passage,
          5 Seasonal Occurrence Uncertain
========  ========================================================================

The defaults of :func:`from_iucn` keep IUCN's usual selection for the current native
range: presence 1-2, origin 1, 2 and 6, seasonal 1-3.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd

from ..errors import MissingColumnError, UnknownValueError
from ..schema import canonical_species_name
from ..validate import suggest_column

__all__ = [
    "NAME_COLUMNS",
    "ORIGIN_CODES",
    "PRESENCE_CODES",
    "SEASONAL_CODES",
    "SEASON_OF_SEASONAL",
    "from_iucn",
    "looks_like_iucn",
]

#: IUCN presence codes.
PRESENCE_CODES: dict[int, str] = {
    1: "Extant", 2: "Probably Extant", 3: "Possibly Extant", 4: "Possibly Extinct",
    5: "Extinct", 6: "Presence Uncertain",
}
#: IUCN origin codes.
ORIGIN_CODES: dict[int, str] = {
    1: "Native", 2: "Reintroduced", 3: "Introduced", 4: "Vagrant", 5: "Origin Uncertain",
    6: "Assisted Colonisation",
}
#: IUCN seasonality codes.
SEASONAL_CODES: dict[int, str] = {
    1: "Resident", 2: "Breeding Season", 3: "Non-breeding Season", 4: "Passage",
    5: "Seasonal Occurrence Uncertain",
}
#: IUCN seasonal code -> atlas ``season`` vocabulary.
SEASON_OF_SEASONAL: dict[int, str] = {
    1: "resident", 2: "breeding", 3: "non-breeding", 4: "passage", 5: "uncertain",
}
#: Columns holding the scientific name, in order of preference.
NAME_COLUMNS: tuple[str, ...] = ("sci_name", "binomial")

_CODES = {"presence": PRESENCE_CODES, "origin": ORIGIN_CODES, "seasonal": SEASONAL_CODES}


def _listing(codes: dict[int, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in codes.items())


def looks_like_iucn(gdf: pd.DataFrame) -> bool:
    """True when ``gdf`` has an IUCN name column (``sci_name``/``binomial``) and ``presence``.

    Examples
    --------
    >>> looks_like_iucn(pd.DataFrame(columns=["BINOMIAL", "PRESENCE", "geometry"]))
    True
    >>> looks_like_iucn(pd.DataFrame(columns=["species", "geometry"]))
    False
    """
    lower = {str(c).lower() for c in gdf.columns}
    return bool(lower & set(NAME_COLUMNS)) and "presence" in lower


def _check_selection(name: str, selection: Iterable[int]) -> tuple[int, ...]:
    codes = _CODES[name]
    chosen = tuple(selection)
    bad = [v for v in chosen if v not in codes]
    if bad:
        raise UnknownValueError(
            f"{name}={chosen!r} holds code(s) {bad} that IUCN does not define; valid "
            f"{name} codes: {_listing(codes)}."
        )
    return chosen


def from_iucn(
    gdf: gpd.GeoDataFrame,
    *,
    presence: Iterable[int] = (1, 2),
    origin: Iterable[int] = (1, 2, 6),
    seasonal: Iterable[int] = (1, 2, 3),
) -> gpd.GeoDataFrame:
    """Select and map IUCN range polygons to the atlas ``species_range`` columns.

    Keeps the polygons whose ``presence``, ``origin`` and ``seasonal`` codes are in the
    given selections (a code column absent from the file is not filtered on), adds
    ``species`` (canonical ``Genus_species`` from ``sci_name`` or ``binomial``) and
    ``season`` (from ``seasonal``: 1 resident, 2 breeding, 3 non-breeding, 4 passage,
    5 uncertain). Column names are matched case-insensitively (shapefiles often have
    ``BINOMIAL``); the code columns are renamed to lower case and made integers.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        IUCN-style range polygons; not changed.
    presence, origin, seasonal : iterable of int
        Codes to keep (see the module documentation).

    Returns
    -------
    geopandas.GeoDataFrame
        The selected rows (original index and CRS kept) with ``species`` and ``season``.

    Raises
    ------
    MissingColumnError
        No ``sci_name`` / ``binomial`` column.
    UnknownValueError
        A selection or a value in the data is not a valid IUCN code (valid codes listed).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> ranges = gpd.GeoDataFrame(
    ...     {"sci_name": ["Saiga tatarica", "Saiga tatarica"], "presence": [1, 5],
    ...      "origin": [1, 1], "seasonal": [2, 1]},
    ...     geometry=[box(50, 45, 55, 50), box(40, 45, 45, 50)], crs="EPSG:4326")
    >>> from_iucn(ranges)[["species", "season", "presence"]].values.tolist()
    [['Saiga_tatarica', 'breeding', 1]]
    """
    selections = {"presence": _check_selection("presence", presence),
                  "origin": _check_selection("origin", origin),
                  "seasonal": _check_selection("seasonal", seasonal)}
    lower = {str(c).lower(): c for c in gdf.columns}
    name_col = next((lower[c] for c in NAME_COLUMNS if c in lower), None)
    if name_col is None:
        columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        close = suggest_column("sci_name", columns) or suggest_column("binomial", columns)
        hint = f" (found {close!r}: rename it)" if close else ""
        raise MissingColumnError(
            f"an IUCN range layer needs a scientific-name column 'sci_name' or 'binomial'"
            f"{hint}; present: {', '.join(columns) or 'none'}."
        )
    out = gdf.copy()
    keep = pd.Series(True, index=out.index)
    for name, codes in _CODES.items():
        if name not in lower:
            continue
        raw = out[lower[name]]
        number = pd.to_numeric(raw, errors="coerce")
        invalid = raw.notna() & ~number.isin(list(codes))
        if invalid.any():
            found = sorted({str(v) for v in raw[invalid]})
            raise UnknownValueError(
                f"column {lower[name]!r} holds {int(invalid.sum())} value(s) that are not "
                f"IUCN {name} codes ({', '.join(found[:10])}); valid codes: "
                f"{_listing(codes)}."
            )
        values = number.astype("Int64")
        if lower[name] != name:
            out = out.drop(columns=[lower[name]])
        out[name] = values
        keep &= values.isin(list(selections[name])).fillna(False).astype(bool)
    out["species"] = out[name_col].map(
        lambda v: canonical_species_name(v) if isinstance(v, str) else None)
    if "seasonal" in out.columns:
        out["season"] = out["seasonal"].map(SEASON_OF_SEASONAL).astype(object)
        out["season"] = out["season"].where(out["season"].notna(), None)
    return out.loc[keep.to_numpy()]
