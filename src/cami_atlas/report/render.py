"""Render Jinja2 report templates and write them as HTML (and PDF)."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from .. import __version__
from .._atomic import atomic_path, check_writable
from ..errors import LayerReadError, LayerWriteError, SchemaError

__all__ = [
    "DEFAULT_PACKAGES",
    "TEMPLATE_DIR",
    "check_pdf_support",
    "data_sources",
    "figure_to_data_uri",
    "render_report",
    "reproducibility",
    "sha256_file",
    "table_html",
    "write_report",
]

#: Folder of the templates shipped with the package.
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

#: Packages whose versions the reproducibility block records.
DEFAULT_PACKAGES: tuple[str, ...] = (
    "numpy", "pandas", "geopandas", "shapely", "pyproj", "pyogrio", "rasterio", "scipy",
    "scikit-image", "networkx", "pyamg", "folium", "jinja2", "matplotlib",
)


# -- formatting helpers -------------------------------------------------------------------
def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        if np.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{float(value):,.{digits}f}"
    return str(value)


def table_html(df: pd.DataFrame, *, digits: int = 2, index: bool = False,
               caption: str | None = None, max_rows: int | None = None) -> Markup:
    """An HTML ``<table>`` of ``df``; every cell and header is escaped.

    Parameters
    ----------
    df : pandas.DataFrame
    digits : int, default 2
        Decimals shown for floats (thousands separated; NaN blank, inf as ∞).
    index : bool, default False
        Show the index as the first column.
    caption : str, optional
    max_rows : int, optional
        Show at most this many rows and say how many were left out.

    Examples
    --------
    >>> import pandas as pd
    >>> html = table_html(pd.DataFrame({"a<b": [1.234]}))
    >>> "<th>a&lt;b</th>" in html, '<td class="num">1.23</td>' in html
    (True, True)
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"table_html needs a pandas DataFrame; got {type(df).__name__}.")
    frame = df.reset_index() if index else df
    shown = frame if max_rows is None else frame.head(max_rows)
    parts = ['<table class="data">']
    if caption:
        parts.append(f"<caption>{escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
                 + "</tr></thead><tbody>")
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    for row in shown.itertuples(index=False):
        cells = []
        for value, is_num in zip(row, numeric, strict=True):
            cls = ' class="num"' if is_num else ""
            cells.append(f"<td{cls}>{escape(_fmt(value, digits))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    if max_rows is not None and len(frame) > max_rows:
        parts.append(f'<p class="note">{len(frame) - max_rows:,} more rows not shown '
                     "(see the CSV output).</p>")
    return Markup("".join(parts))


def _table_filter(df: Any, digits: int = 2, max_rows: int | None = None) -> Markup:
    if df is None:
        return Markup("")
    if isinstance(df, Mapping):
        df = pd.DataFrame({"name": list(df), "value": list(df.values())})
    return table_html(df, digits=digits, max_rows=max_rows)


def figure_to_data_uri(fig: Any, *, dpi: int = 110, close: bool = True) -> str:
    """A matplotlib figure as a ``data:image/png;base64,...`` URI (for ``<img src>``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(2, 1))
    >>> figure_to_data_uri(fig).startswith("data:image/png;base64,iVBOR")
    True
    """
    from ..figures import figure_data_uri

    if not hasattr(fig, "savefig"):
        raise SchemaError(f"figure_to_data_uri needs a matplotlib Figure; got "
                          f"{type(fig).__name__}.")
    try:
        return figure_data_uri(fig, dpi=dpi, tight=True)
    finally:
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)


def _figure_tag(uri: str, alt: str = "figure") -> Markup:
    if not isinstance(uri, str) or not uri.startswith("data:image/"):
        uri = figure_to_data_uri(uri)
    return Markup(f'<img class="figure" alt="{escape(alt)}" src="{uri}">')


# -- provenance ----------------------------------------------------------------------------
def data_sources(atlas: Any, layers: Iterable[str] | None = None) -> pd.DataFrame:
    """Source, licence, attribution and date of atlas layers (all, or ``layers``).

    Examples
    --------
    >>> from cami_atlas.atlas import Atlas
    >>> t = data_sources(Atlas.default(), ["railways"])
    >>> t.loc[0, ["layer", "licence"]].tolist()
    ['railways', 'public domain']
    """
    names = atlas.layer_names() if layers is None else list(dict.fromkeys(layers))
    rows = []
    for name in names:
        info = atlas.layer_info(name)
        rows.append({"layer": name, "kind": info.get("kind", ""),
                     "source": info.get("source", ""), "licence": info.get("licence", ""),
                     "attribution": info.get("attribution", ""), "date": info.get("date", "")})
    return pd.DataFrame(rows, columns=["layer", "kind", "source", "licence", "attribution",
                                       "date"])


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a file (read in 1 MiB blocks).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:16]
    'ba7816bf8f01cfea'
    """
    path = Path(path)
    if not path.is_file():
        raise LayerReadError(f"cannot checksum {path}: not a file.")
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def reproducibility(
    inputs: Mapping[str, str | os.PathLike[str] | bytes] | Sequence[str | os.PathLike[str]] = (),
    *,
    packages: Sequence[str] = DEFAULT_PACKAGES,
    command: str | None = None,
    timestamp: _dt.datetime | None = None,
) -> dict[str, Any]:
    """What is needed to reproduce a result: versions, input checksums, time.

    Parameters
    ----------
    inputs : mapping name -> path or bytes, or a sequence of paths
        Input files (their SHA-256 is computed) or in-memory inputs given as bytes
        (e.g. the WKB of a route passed as a GeoDataFrame).
    packages : sequence of str
        Distribution names whose installed versions are recorded.
    command : str, optional
        The command line or call that produced the result.
    timestamp : datetime, optional
        Time of the run (default: now, UTC).

    Returns
    -------
    dict
        ``cami_atlas_version``, ``python``, ``platform``, ``packages`` (name ->
        version), ``inputs`` (DataFrame: ``input``, ``path``, ``size_bytes``,
        ``sha256``), ``command``, ``timestamp_utc`` (ISO 8601).

    Examples
    --------
    >>> r = reproducibility({"note": b"abc"}, packages=["numpy"])
    >>> r["inputs"].loc[0, "sha256"][:16], sorted(r["packages"])
    ('ba7816bf8f01cfea', ['numpy'])
    """
    if isinstance(inputs, Mapping):
        items = list(inputs.items())
    else:
        items = [(Path(p).name, p) for p in inputs]
    rows = []
    for name, value in items:
        if isinstance(value, bytes | bytearray):
            rows.append({"input": str(name), "path": "(in memory)", "size_bytes": len(value),
                         "sha256": hashlib.sha256(value).hexdigest()})
        else:
            path = Path(value)
            rows.append({"input": str(name), "path": str(path.resolve()),
                         "size_bytes": path.stat().st_size if path.is_file() else None,
                         "sha256": sha256_file(path)})
    when = timestamp or _dt.datetime.now(_dt.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return {
        "cami_atlas_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in packages},
        "inputs": pd.DataFrame(rows, columns=["input", "path", "size_bytes", "sha256"]),
        "command": command,
        "timestamp_utc": when.astimezone(_dt.UTC).isoformat(timespec="seconds"),
    }


# -- rendering -----------------------------------------------------------------------------
def _environment(search_path: Sequence[str | os.PathLike[str]] = ()) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([*(str(p) for p in search_path), str(TEMPLATE_DIR)])
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["table"] = _table_filter
    env.filters["figure"] = _figure_tag
    env.filters["num"] = _fmt
    return env


def render_report(template_name: str, context: Mapping[str, Any], *,
                  search_path: Sequence[str | os.PathLike[str]] = ()) -> str:
    """Render a report template to an HTML string (all values autoescaped).

    Parameters
    ----------
    template_name : str
        A template of ``cami_atlas/report/templates`` (e.g. ``"screening.html.j2"``)
        or of a folder in ``search_path``. Templates extend ``base.html.j2``.
    context : mapping
        Template variables. ``base.html.j2`` uses ``title`` (required) and, when
        present, ``subtitle``, ``parameters`` (mapping or DataFrame), ``sources``
        (DataFrame, e.g. :func:`data_sources`), ``reproducibility`` (dict of
        :func:`reproducibility`) and ``notes`` (list of str).
    search_path : sequence of paths, optional
        Extra template folders, searched first.

    Notes
    -----
    Filters available in templates: ``table`` (:func:`table_html`), ``figure`` (a
    matplotlib figure or PNG data URI -> ``<img>``), ``num`` (number formatting).

    Raises
    ------
    LayerReadError
        No template of that name.
    SchemaError
        The template uses a variable the context does not give.

    Examples
    --------
    >>> html = render_report("base.html.j2", {"title": "T", "parameters": {"cell_size_m": 5000}})
    >>> "cell_size_m" in html and "5,000" in html
    True
    """
    env = _environment(search_path)
    try:
        template = env.get_template(template_name)
    except jinja2.TemplateNotFound:
        known = sorted(p.name for p in TEMPLATE_DIR.glob("*.j2"))
        raise LayerReadError(
            f"report template {template_name!r} not found; shipped templates: "
            f"{', '.join(known)} (or pass search_path= with your folder).") from None
    ctx = dict(context)
    params = ctx.get("parameters")
    if isinstance(params, Mapping):
        ctx["parameters"] = pd.DataFrame({"parameter": [str(k) for k in params],
                                          "value": [_fmt(v) if not isinstance(v, str) else v
                                                    for v in params.values()]})
    try:
        return template.render(**ctx)
    except jinja2.UndefinedError as exc:
        raise SchemaError(f"report template {template_name!r}: {exc}; add it to the "
                          "context.") from None


def check_pdf_support() -> None:
    """Raise :class:`~cami_atlas.errors.LayerWriteError` (with the install hint) if PDF
    output cannot work: WeasyPrint missing, or its Pango libraries not loadable.

    The command line calls it when ``--pdf`` is given, before any work.

    Examples
    --------
    >>> check_pdf_support()  # WeasyPrint and Pango are installed here
    """
    _weasyprint()


def _weasyprint() -> Any:
    try:
        import weasyprint
    except ImportError:
        raise LayerWriteError(
            "PDF output needs WeasyPrint, which is not installed; install it with "
            "`pip install 'cami-atlas[pdf]'` (it also needs the Pango system library, e.g. "
            "`apt install libpango-1.0-0 libpangoft2-1.0-0`), or leave out pdf=True / --pdf."
        ) from None
    except OSError as exc:  # WeasyPrint imports fine but its system libraries are missing
        raise LayerWriteError(
            f"WeasyPrint is installed but cannot load its system libraries ({exc}); install "
            "Pango (e.g. `apt install libpango-1.0-0 libpangoft2-1.0-0`) or leave out "
            "pdf=True / --pdf.") from None
    return weasyprint


def _pdf(html: str, base_url: str, target: Path) -> None:
    weasyprint = _weasyprint()
    try:
        weasyprint.HTML(string=html, base_url=base_url).write_pdf(str(target))
    except OSError as exc:
        raise LayerWriteError(f"WeasyPrint could not write the PDF {target}: {exc}. Check that "
                              "the folder is writable and has free space.") from None


def write_report(html: str, path: str | os.PathLike[str], *, pdf: bool = False,
                 overwrite: bool = False) -> list[Path]:
    """Write a rendered report to ``path`` (HTML, atomically) and optionally a PDF beside it.

    Parameters
    ----------
    html : str
        The report (e.g. from :func:`render_report`).
    path : path-like
        The HTML file; the PDF is ``path`` with the suffix ``.pdf``.
    pdf : bool, default False
        Also write a PDF with WeasyPrint (``pip install 'cami-atlas[pdf]'``).
        Interactive content (iframes, scripts) does not appear in the PDF.
    overwrite : bool, default False
        Replace existing files.

    Returns
    -------
    list of pathlib.Path
        The files written (HTML first).

    Raises
    ------
    OutputExistsError
        A target exists and ``overwrite`` is false (nothing is written).
    LayerWriteError
        PDF asked for but WeasyPrint or its system libraries are missing (the HTML is
        not written either).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.html"
    >>> [p.name for p in write_report("<html><body>hi</body></html>", out)]
    ['r.html']
    """
    if not isinstance(html, str):
        raise SchemaError(f"write_report needs the HTML as a str; got {type(html).__name__}.")
    path = Path(path)
    pdf_path = path.with_suffix(".pdf")
    check_writable(path, overwrite=overwrite)
    if pdf:
        check_writable(pdf_path, overwrite=overwrite)
    written = []
    if pdf:  # the PDF first: if WeasyPrint is missing, nothing is written
        with atomic_path(pdf_path, overwrite=overwrite) as tmp:
            _pdf(html, str(path.resolve().parent), tmp)
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(html, encoding="utf-8")
    written.append(path)
    if pdf:
        written.append(pdf_path)
    return written
