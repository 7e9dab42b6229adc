"""Data outputs of a route screening: GeoJSON, GeoPackage and CSV tables.

:func:`write_screening_data` writes them; the interactive map and the HTML/PDF report
are drawn by :mod:`cami_atlas.report.screening`, and the whole output set is written by
:func:`cami_atlas.pipeline.screening.write_screening` (``screening_map``,
``screening_report_html`` and ``write_screening`` still import from here).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from .._atomic import atomic_path
from .._deprecation import moved_names
from ..errors import OutputExistsError
from ..geojson import write_geojson

__all__ = ["check_outputs_free", "output_names", "write_screening_data"]

#: Names that moved to the rendering side, imported from there on first use.
_MOVED = {"screening_map": "cami_atlas.report.screening",
          "screening_report_html": "cami_atlas.report.screening",
          "write_screening": "cami_atlas.pipeline.screening"}

_CSV_TABLES = {
    "segments.csv": "segments",
    "species_summary.csv": "species",
    "lengths_by_class.csv": "lengths",
    "buffers.csv": "buffers",
    "protected_areas.csv": "protected_areas",
    "corridor_crossings.csv": "corridor_crossings",
    "fragmentation.csv": "fragmentation",
    "connectivity.csv": "connectivity",
    "crossing_candidates.csv": "crossing_candidates",
    "spacing.csv": "spacing",
    "fence_design.csv": "fence_design",
    "flags.csv": "flags",
    "mitigation_proposals.csv": "mitigation",
}


def output_names(*, pdf: bool = False, interactive_map: bool = True) -> list[str]:
    """File names :func:`write_screening` writes into its folder.

    Examples
    --------
    >>> output_names()[:3]
    ['route_segments.geojson', 'crossing_candidates.geojson', 'screening.gpkg']
    """
    names = ["route_segments.geojson", "crossing_candidates.geojson", "screening.gpkg",
             *_CSV_TABLES]
    if interactive_map:
        names.append("screening_map.html")
    names.append("screening_report.html")
    if pdf:
        names.append("screening_report.pdf")
    return names


def check_outputs_free(out_dir: Path, names: list[str], overwrite: bool) -> None:
    """Raise :class:`~cami_atlas.errors.OutputExistsError` if one of ``names`` exists in
    ``out_dir`` and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> check_outputs_free(Path(tempfile.mkdtemp()), output_names(), False)
    """
    existing = [n for n in names if (out_dir / n).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out_dir} already holds {', '.join(existing)}; pass overwrite=True (--overwrite) "
            "to replace them or choose another output folder.")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV-friendly copy: point geometries as lon/lat (6 decimals, <= 0.11 m), other
    geometries dropped; every other number at full precision."""
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        if len(frame) and (geoms.geom_type == "Point").all():
            ll = geoms.to_crs("EPSG:4326")
            out["lon"] = ll.x.round(6).to_numpy()
            out["lat"] = ll.y.round(6).to_numpy()
        return out
    return frame


def _write_gpkg(result: Any, path: Path, overwrite: bool) -> None:
    with atomic_path(path, overwrite=overwrite) as tmp:
        layers: list[tuple[str, pd.DataFrame]] = [
            ("route", result.route), ("segments", result.segments),
            ("crossing_candidates", result.crossing_candidates),
            ("corridor_crossings", result.corridor_crossings),
            ("protected_areas", result.protected_areas),
            ("species_summary", result.species), ("segment_species", result.segment_species),
            ("lengths_by_class", result.lengths), ("buffers", result.buffers),
            ("fragmentation", result.fragmentation), ("connectivity", result.connectivity),
            ("spacing", result.spacing), ("fence_design", result.fence_design),
            ("flags", result.flags), ("mitigation_proposals", result.mitigation),
            ("parameters", pd.DataFrame({"parameter": list(result.parameters),
                                         "value": [str(v) for v in result.parameters.values()]})),
        ]
        for layer, frame in layers:
            if isinstance(frame, gpd.GeoDataFrame):
                if len(frame) == 0:
                    continue
                data = frame.copy()
                for col in data.columns:
                    if col != data.geometry.name and data[col].dtype == object:
                        data[col] = data[col].astype(str).where(data[col].notna(), None)
                pyogrio.write_dataframe(data, tmp, layer=layer, driver="GPKG")
            else:
                if len(frame.columns) == 0:
                    continue
                data = pd.DataFrame(frame).copy()
                for col in data.columns:
                    if data[col].dtype == object:
                        data[col] = data[col].astype(str).where(data[col].notna(), None)
                pyogrio.write_dataframe(data, tmp, layer=layer, driver="GPKG")


def write_screening_data(result: Any, out_dir: str | os.PathLike[str], *,
                         overwrite: bool = False) -> list[Path]:
    """Write the data outputs of a screening into ``out_dir`` (atomically, file by file).

    Files: ``route_segments.geojson`` and ``crossing_candidates.geojson`` (RFC 7946),
    ``screening.gpkg`` (every layer and table) and the CSV tables of
    :func:`output_names` (points as lon/lat, numbers at full precision).

    Raises
    ------
    OutputExistsError
        One of the files exists and ``overwrite`` is false (nothing is written).

    Examples
    --------
    >>> import geopandas as gpd, tempfile
    >>> from shapely import LineString
    >>> from cami_atlas.screening import screen_route
    >>> r = gpd.GeoSeries([LineString([(66.9, 47.8), (67.4, 48.3)])], crs="EPSG:4326")
    >>> res = screen_route(r, infra_type="fence", buffers_km=(2,), species="saiga",
    ...                    connectivity=False)
    >>> sorted(p.name for p in write_screening_data(res, tempfile.mkdtemp()))[:2]
    ['buffers.csv', 'connectivity.csv']
    """
    out = Path(out_dir)
    names = ["route_segments.geojson", "crossing_candidates.geojson", "screening.gpkg",
             *_CSV_TABLES]
    check_outputs_free(out, names, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    written.append(write_geojson(result.segments, out / "route_segments.geojson",
                                 overwrite=overwrite))
    written.append(write_geojson(result.crossing_candidates, out / "crossing_candidates.geojson",
                                 overwrite=overwrite))
    _write_gpkg(result, out / "screening.gpkg", overwrite)
    written.append(out / "screening.gpkg")
    for fname, attr in _CSV_TABLES.items():
        frame = _plain(getattr(result, attr))
        with atomic_path(out / fname, overwrite=overwrite) as tmp:
            frame.to_csv(tmp, index=False)
        written.append(out / fname)
    return written


# moved to the rendering side; served from here without a warning (ScreeningResult.write
# and old imports read them through this module)
__getattr__ = moved_names(__name__, _MOVED, quiet=_MOVED)
