"""PHYLACINE 1.2.1 range maps mapped onto the ``species_range`` layer kind.

PHYLACINE (Faurby et al. 2018, doi:10.1002/ecy.2443; version 1.2.1,
doi:10.5281/zenodo.3690867; CC0 1.0) gives, for every mammal, the IUCN 2016-3
range rasterised to a 96.5 km Behrmann equal-area grid (EPSG:6933); a cell counts
as occupied when any part of it overlaps the range, so ranges are inflated. The
files of the default atlas hold one dissolved (multi)polygon per species with the
fields ``species`` (binomial with a space), ``common_name``, ``iucn_status_2016``,
``n_cells_in_window`` and ``n_cells_global``; a species with no occupied cell in
the window has a null geometry.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> raw = gpd.GeoDataFrame({"species": ["Saiga tatarica", "Cervus elaphus"],
...                         "common_name": ["saiga", "red deer"]},
...                        geometry=[box(0, 0, 1, 1), None], crs="EPSG:6933")
>>> from_phylacine(raw)["species"].tolist()
['Saiga_tatarica']
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ..errors import MissingColumnError, SchemaError
from ..schema import canonical_species_name
from ..validate import suggest_column

__all__ = ["from_phylacine"]


def from_phylacine(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Turn a PHYLACINE range table into a ``species_range`` layer.

    Species names become canonical ``Genus_species`` (``"Saiga tatarica"`` ->
    ``"Saiga_tatarica"``); every other column (``common_name``,
    ``iucn_status_2016``, cell counts) is kept; features without a geometry (species
    with no occupied cell in the window, e.g. *Cervus elaphus* in the CAMI window)
    are dropped. The CRS (EPSG:6933 for PHYLACINE) and the index of the kept rows
    are kept; ``gdf`` is not changed. The result still has to be validated.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The PHYLACINE table, with a ``species`` column.

    Returns
    -------
    geopandas.GeoDataFrame

    Raises
    ------
    MissingColumnError
        No ``species`` column (the closest column name is suggested).
    SchemaError
        ``gdf`` is not a GeoDataFrame.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> raw = gpd.GeoDataFrame({"species": ["Procapra gutturosa"]},
    ...                        geometry=[box(0, 0, 1, 1)], crs="EPSG:6933")
    >>> out = from_phylacine(raw)
    >>> out["species"].iloc[0], out.crs.to_epsg()
    ('Procapra_gutturosa', 6933)
    """
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise SchemaError(f"from_phylacine expects a GeoDataFrame, got {type(gdf).__name__}.")
    if "species" not in gdf.columns:
        columns = [str(c) for c in gdf.columns if c != gdf.geometry.name]
        close = suggest_column("species", columns)
        hint = f" (found {close!r}: rename it)" if close else ""
        raise MissingColumnError(
            f"PHYLACINE table: missing column 'species'{hint}; present: "
            f"{', '.join(columns) or 'none'}. Pass the PHYLACINE range table of the atlas "
            "sources (layer 'current_range' or 'present_natural_range')."
        )
    geoms = gdf.geometry.values
    empty = np.asarray(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out = gdf.loc[~empty].copy()
    out["species"] = out["species"].map(
        lambda v: canonical_species_name(v) if isinstance(v, str) else v)
    return out
