"""Output sets of route screening: data files, interactive map, HTML/PDF report.

:func:`write_screening` writes one screening, :func:`write_comparison` a comparison of
alignments (each scenario's screening in a sub-folder), :func:`write_alignments` the
alternative alignments found by :func:`cami_atlas.planning.alternative_alignments`.

The composition of the screening's data outputs (:mod:`cami_atlas.screening.export`)
and its rendering (:mod:`cami_atlas.report.screening`); used by
:meth:`cami_atlas.screening.ScreeningResult.write` and ``cami-atlas screen-route``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._atomic import atomic_path
from ..errors import OutputExistsError
from ..maps import save_map
from ..report import write_report
from ..report.screening import (
    comparison_map,
    comparison_report_html,
    screening_map,
    screening_report_html,
)
from ..screening.export import check_outputs_free, output_names, write_screening_data

__all__ = ["screen_alternatives", "write_alignments", "write_comparison", "write_screening"]


def write_screening(result: Any, out_dir: str | os.PathLike[str], *, overwrite: bool = False,
                    pdf: bool = False, interactive_map: bool = True,
                    basemap: str | None = "OpenStreetMap",
                    command: str | None = None) -> list[Path]:
    """Write every output of a screening into ``out_dir`` (atomically, file by file).

    The data outputs (:func:`cami_atlas.screening.export.write_screening_data`), then the
    map (:func:`cami_atlas.report.screening.screening_map`) and the report
    (:func:`cami_atlas.report.screening.screening_report_html`).

    Files (see :func:`cami_atlas.screening.export.output_names`):
    ``route_segments.geojson`` and ``crossing_candidates.geojson`` (RFC 7946),
    ``screening.gpkg`` (every layer and table), CSV tables, ``screening_map.html``
    (self-contained Leaflet map; basemap tiles need internet) and
    ``screening_report.html`` (+ ``.pdf`` with ``pdf=True``).

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
    >>> paths = write_screening(res, tempfile.mkdtemp(), interactive_map=False)
    >>> sorted(p.suffix for p in paths)[:3]
    ['.csv', '.csv', '.csv']
    """
    out = Path(out_dir)
    check_outputs_free(out, output_names(pdf=pdf, interactive_map=interactive_map), overwrite)
    written = write_screening_data(result, out, overwrite=overwrite)
    map_name = None
    if interactive_map:
        written.append(save_map(screening_map(result, basemap=basemap),
                                out / "screening_map.html", overwrite=overwrite))
        map_name = "screening_map.html"
    html = screening_report_html(result, map_file=map_name, command=command)
    written.extend(write_report(html, out / "screening_report.html", pdf=pdf,
                                overwrite=overwrite))
    return written


def write_comparison(comparison: Any, out_dir: str | os.PathLike[str], *,
                     overwrite: bool = False, pdf: bool = False,
                     basemap: str | None = "OpenStreetMap",
                     command: str | None = None) -> list[Path]:
    """Write the comparison (``comparison.csv``, ``comparison_species.csv``,
    ``comparison_map.html``, ``comparison_report.html``) and each scenario's screening in a
    sub-folder named after it.

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is false (nothing is written).
    """
    out = Path(out_dir)
    top = ["comparison.csv", "comparison_species.csv", "comparison_map.html",
           "comparison_report.html"] + (["comparison_report.pdf"] if pdf else [])
    existing = [n for n in top if (out / n).exists()]
    for name in comparison.results:
        existing += [f"{name}/{n}" for n in output_names(pdf=pdf) if (out / name / n).exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out} already holds {', '.join(existing[:6])}{' ...' if len(existing) > 6 else ''};"
            " pass overwrite=True (--overwrite) to replace them or choose another folder.")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, res in comparison.results.items():
        written += write_screening(res, out / name, overwrite=overwrite, pdf=pdf,
                                   basemap=basemap, command=command)
    with atomic_path(out / "comparison.csv", overwrite=overwrite) as tmp:
        comparison.table.to_csv(tmp)
    written.append(out / "comparison.csv")
    with atomic_path(out / "comparison_species.csv", overwrite=overwrite) as tmp:
        comparison.species.to_csv(tmp, index=False)
    written.append(out / "comparison_species.csv")
    written.append(save_map(comparison_map(comparison, basemap=basemap),
                            out / "comparison_map.html", overwrite=overwrite))
    html = comparison_report_html(comparison, command=command,
                                  map_file="comparison_map.html")
    written += write_report(html, out / "comparison_report.html", pdf=pdf, overwrite=overwrite)
    return written


def write_alignments(result: Any, out_dir: str | os.PathLike[str], *,
                     overwrite: bool = False) -> list[Path]:
    """Write an :class:`~cami_atlas.planning.alignment.AlignmentResult` into ``out_dir``.

    ``alignments.gpkg`` (layer ``alignments``: the original and the alternatives with
    their measures, EPSG:4326), ``alignments.csv`` (the same without geometry),
    ``alignment_front.png`` (length against impact, the Pareto front joined),
    ``impact_surface.tif`` and ``construction_cost.tif``.
    """
    from ..report.table_plots import front_figure, save_png

    out = Path(out_dir)
    alts = result.alternatives
    written: list[Path] = []
    with atomic_path(out / "alignments.gpkg", overwrite=overwrite) as tmp:
        alts.to_file(tmp, layer="alignments", driver="GPKG")
    written.append(out / "alignments.gpkg")
    with atomic_path(out / "alignments.csv", overwrite=overwrite) as tmp:
        alts.drop(columns="geometry").to_csv(tmp, index=False)
    written.append(out / "alignments.csv")
    fig = front_figure(alts.drop(columns="geometry"))
    written.append(save_png(fig, out / "alignment_front.png", overwrite=overwrite))
    written.append(result.impact.to_geotiff(out / "impact_surface.tif", overwrite=overwrite))
    written.append(result.construction.to_geotiff(out / "construction_cost.tif",
                                                  overwrite=overwrite))
    return written


def screen_alternatives(result: Any, atlas: Any = None, **options: Any) -> Any:
    """Screen the original and every alternative of an
    :class:`~cami_atlas.planning.alignment.AlignmentResult` with the same options, side by
    side (:func:`cami_atlas.screening.compare_routes`; ``options`` go to
    :func:`cami_atlas.screening.screen_route`, ``infra_type`` is required).
    """
    import geopandas as gpd

    from ..screening.compare import compare_routes

    routes = {row.name: gpd.GeoDataFrame({"name": [row.name]}, geometry=[row.geometry],
                                         crs=result.alternatives.crs)
              for row in result.alternatives.itertuples(index=False)}
    return compare_routes(routes, atlas, **options)

