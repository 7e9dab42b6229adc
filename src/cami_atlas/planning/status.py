"""Status and time of infrastructure: existing, under construction, planned, proposed.

A layer without a ``status`` column is all existing; a missing value is existing too.
Values are normalised with :func:`cami_atlas.schema.normalise_value` (``"built"`` ->
``existing``, ``"under_construction"`` -> ``under construction``, ``"approved"`` ->
``planned``, ``"concept"`` -> ``proposed``, ...).

The rule of :func:`infrastructure_as_of` ("what stands in year Y"):

- ``existing``: always;
- ``under construction``: unless its ``expected_year`` is after Y (no year: included);
- ``planned``: only with an ``expected_year`` <= Y;
- ``proposed``: only with ``include_proposed=True`` and an ``expected_year`` <= Y.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from cami_atlas.errors import SchemaError, UnknownValueError
from cami_atlas.schema import SCHEMAS, normalise_value

__all__ = ["STATUSES", "infrastructure_as_of", "infrastructure_status", "split_by_status"]

#: Statuses in the order of the planning cycle (latest to earliest).
STATUSES: tuple[str, ...] = SCHEMAS["infrastructure"].column("status").allowed or ()


def infrastructure_status(layer: pd.DataFrame, *, what: str = "infrastructure layer") -> pd.Series:
    """The normalised ``status`` of every row (``existing`` where absent or missing).

    Parameters
    ----------
    layer : DataFrame or GeoDataFrame
        Infrastructure rows, with or without a ``status`` column.
    what : str
        Name used in error messages.

    Returns
    -------
    Series of str
        One of :data:`STATUSES` per row, indexed like ``layer``.

    Raises
    ------
    UnknownValueError
        A status that is neither a status nor one of its aliases.

    Examples
    --------
    >>> import pandas as pd
    >>> infrastructure_status(pd.DataFrame({"status": ["built", None, "under_construction",
    ...                                                "concept"]})).tolist()
    ['existing', 'existing', 'under construction', 'proposed']
    """
    if "status" not in layer.columns:
        return pd.Series("existing", index=layer.index, name="status", dtype=object)
    raw = layer["status"].astype(object)
    out = raw.map(
        lambda v: (
            "existing"
            if v is None or (isinstance(v, float) and np.isnan(v))
            else normalise_value("status", v)
        )
    )
    bad = ~out.isin(STATUSES)
    if bad.any():
        values = sorted({str(v) for v in raw[bad]})
        raise UnknownValueError(
            f"{what}: column 'status' has unknown value(s) {values}; use one of "
            f"{list(STATUSES)} (or an alias such as 'built', 'approved', 'concept')."
        )
    return out.rename("status")


def _expected_year(layer: pd.DataFrame, what: str) -> pd.Series:
    if "expected_year" not in layer.columns:
        return pd.Series(np.nan, index=layer.index)
    years = pd.to_numeric(layer["expected_year"], errors="coerce")
    bad = years.isna() & layer["expected_year"].notna()
    if bad.any():
        raise SchemaError(
            f"{what}: column 'expected_year' has non-numeric value(s) "
            f"{sorted({str(v) for v in layer['expected_year'][bad]})}; give a "
            "year such as 2030 or leave the cell empty."
        )
    return years.astype(float)


def infrastructure_as_of(
    layer_gdf: gpd.GeoDataFrame,
    year: int,
    *,
    include_proposed: bool = False,
    what: str = "infrastructure layer",
) -> gpd.GeoDataFrame:
    """The infrastructure that stands in ``year`` (rule in the module docstring).

    Parameters
    ----------
    layer_gdf : GeoDataFrame
        Infrastructure with optional ``status`` and ``expected_year`` columns.
    year : int
        Year asked about.
    include_proposed : bool, default False
        Count proposed lines with an ``expected_year`` <= ``year`` too.
    what : str
        Name used in error messages.

    Returns
    -------
    GeoDataFrame
        The selected rows (same columns and index), ``status`` normalised.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame(
    ...     {"infra_type": ["road"] * 5,
    ...      "status": ["existing", "under construction", "planned", "planned", "proposed"],
    ...      "expected_year": [None, 2027, 2030, 2040, 2030]},
    ...     geometry=[shapely.LineString([(0, i), (1, i)]) for i in range(5)], crs=3857)
    >>> infrastructure_as_of(g, 2030).index.tolist()
    [0, 1, 2]
    >>> infrastructure_as_of(g, 2030, include_proposed=True).index.tolist()
    [0, 1, 2, 4]
    """
    try:
        y = float(year)
    except (TypeError, ValueError):
        raise SchemaError(f"year must be a number such as 2030; got {year!r}.") from None
    status = infrastructure_status(layer_gdf, what=what)
    exp = _expected_year(layer_gdf, what)
    keep = (
        (status == "existing")
        | ((status == "under construction") & ~(exp > y))
        | ((status == "planned") & (exp <= y))
        | ((status == "proposed") & (exp <= y) & include_proposed)
    )
    out = layer_gdf.loc[keep.to_numpy()].copy()
    if "status" in out.columns:
        out["status"] = status[keep]
    return out


def split_by_status(
    layer_gdf: gpd.GeoDataFrame, *, what: str = "infrastructure layer"
) -> dict[str, gpd.GeoDataFrame]:
    """The rows of each status present, keyed by status (in :data:`STATUSES` order).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> g = gpd.GeoDataFrame({"infra_type": ["road", "road"], "status": ["planned", None]},
    ...                      geometry=[shapely.LineString([(0, 0), (1, 0)])] * 2, crs=3857)
    >>> {k: len(v) for k, v in split_by_status(g).items()}
    {'existing': 1, 'planned': 1}
    """
    status = infrastructure_status(layer_gdf, what=what)
    return {s: layer_gdf.loc[(status == s).to_numpy()] for s in STATUSES if (status == s).any()}
