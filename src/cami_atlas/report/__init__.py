"""HTML (and PDF) reports: Jinja2 templates, embedded figures, sources and reproducibility.

The machinery is generic; each analysis brings its own template that extends
``base.html.j2`` (shipped in ``cami_atlas/report/templates``):

* :func:`render_report` renders a template with a context (autoescaped HTML);
* :func:`write_report` writes the HTML atomically and, with ``pdf=True``, a PDF
  beside it through WeasyPrint (the ``pdf`` extra);
* :func:`figure_to_data_uri` turns a matplotlib figure into an embeddable PNG;
* :func:`table_html` renders a DataFrame as an escaped HTML table;
* :func:`data_sources` lists the source, licence and attribution of atlas layers;
* :func:`reproducibility` records the cami_atlas, Python and package versions, the
  SHA-256 of every input file and the time of the run.

Results are rendered by :mod:`cami_atlas.report.hotspots` (a
:class:`~cami_atlas.hotspots.HotspotAnalysis`) and :mod:`cami_atlas.report.screening` (a
route screening or comparison); the analyses themselves live in their own packages.

Examples
--------
>>> html = render_report("base.html.j2", {"title": "Demo", "subtitle": "a test"})
>>> "<h1>Demo</h1>" in html
True
"""

from __future__ import annotations

from .render import (
    TEMPLATE_DIR,
    data_sources,
    figure_to_data_uri,
    render_report,
    reproducibility,
    sha256_file,
    table_html,
    write_report,
)

__all__ = [
    "TEMPLATE_DIR",
    "data_sources",
    "figure_to_data_uri",
    "render_report",
    "reproducibility",
    "sha256_file",
    "table_html",
    "write_report",
]
