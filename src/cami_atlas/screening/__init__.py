"""Route screening for EIA: a proposed road, railway, pipeline or fence against the atlas.

The EIA consultant's question -- "here is the proposed alignment; what does it cut, how
badly, and what should the developer do about it?" -- answered early, while the route
can still move (CAMI Programme of Work 2021-2026, actions 3.3-3.6; IFC Performance
Standard 6):

* :func:`screen_route` splits the route at every range, corridor, protected-area and
  country boundary, classifies it per species with the barrier matrix, sums km by
  species and class, counts corridor crossings, measures the share of each range near
  the route, the protected areas crossed or near, the change in fragmentation
  (effective mesh size) and in connectivity (circuit theory), proposes crossing-structure
  locations with a spacing check and fence-design notes, and raises screening flags
  (IFC PS6 critical-habitat criteria as questions);
* :meth:`ScreeningResult.write` (:func:`cami_atlas.pipeline.screening.write_screening`)
  writes RFC 7946 GeoJSON, a GeoPackage, CSV tables, an interactive map and an HTML
  (optionally PDF) report;
* :func:`compare_routes` puts alternative alignments side by side
  (:func:`cami_atlas.pipeline.screening.write_comparison` writes them).

The map and report are drawn by :mod:`cami_atlas.report.screening`; the names
``screening_map``, ``screening_report_html``, ``write_screening`` and
``write_comparison`` still import from here, with a :class:`DeprecationWarning` naming
their new place.
"""

from __future__ import annotations

from .._deprecation import moved_names
from .attributes import (
    SEVERITY,
    attribute_names,
    fence_design_notes,
    most_severe,
    normalise_attributes,
    route_barrier_classes,
)
from .compare import RouteComparison, compare_routes
from .connect import RouteConnectivity, route_connectivity
from .reference import (
    CMS_APPENDICES,
    DEFAULT_MAX_SPACING_KM,
    DEFAULT_SPACING_KM,
    PS6_CRITERIA,
    cms_appendix_of,
    max_spacing_of,
)
from .route import check_route, split_route
from .screen import ScreeningResult, screen_route

__all__ = [
    "CMS_APPENDICES",
    "DEFAULT_MAX_SPACING_KM",
    "DEFAULT_SPACING_KM",
    "PS6_CRITERIA",
    "SEVERITY",
    "RouteComparison",
    "RouteConnectivity",
    "ScreeningResult",
    "attribute_names",
    "check_route",
    "cms_appendix_of",
    "compare_routes",
    "fence_design_notes",
    "max_spacing_of",
    "most_severe",
    "normalise_attributes",
    "route_barrier_classes",
    "route_connectivity",
    "screen_route",
    "split_route",
]

#: Names that moved to the rendering side: old name here -> module they now live in.
_MOVED: dict[str, str] = {
    "screening_map": "cami_atlas.report.screening",
    "screening_report_html": "cami_atlas.report.screening",
    "write_screening": "cami_atlas.pipeline.screening",
    "write_comparison": "cami_atlas.pipeline.screening",
}


__getattr__ = moved_names(__name__, _MOVED)
