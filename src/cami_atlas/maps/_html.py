"""HTML pieces of the maps, built on the Python side with every user text escaped.

Leaflet shows popup, tooltip, legend and layer-control content as HTML (it sets
``innerHTML``). Every attribute value, column name, caption and layer name is
therefore passed through :func:`html.escape` here before it reaches the page, and
the JSON that carries it inside ``<script>`` has ``<`` and ``>`` written as
``\\u003c``-style escapes so no text can close the script element.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import MissingColumnError, SchemaError
from ..validate import suggest_column

_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")


def esc(text: Any) -> str:
    """HTML-escape ``str(text)`` (quotes too).

    Examples
    --------
    >>> esc("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    """
    return html.escape(str(text), quote=True)


def script_json(obj: Any) -> str:
    """JSON safe to embed in a ``<script>`` element.

    Examples
    --------
    >>> script_json({"p": "</script>"})
    '{"p":"\\\\u003c/script\\\\u003e"}'
    """
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def format_value(value: Any) -> str:
    """Display text of one attribute value (numbers to 6 significant digits).

    Examples
    --------
    >>> format_value(12.3456789), format_value(3), format_value(None), format_value(True)
    ('12.3457', '3', '', 'yes')
    """
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return f"{float(value):.6g}"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str,
                    option: str) -> None:
    """Raise :class:`MissingColumnError` for the first of ``columns`` not in ``frame``."""
    present = [str(c) for c in frame.columns if c != frame.geometry.name] \
        if hasattr(frame, "geometry") else [str(c) for c in frame.columns]
    for col in columns:
        if col not in frame.columns:
            close = suggest_column(col, present)
            raise MissingColumnError(
                f"{what} has no column {col!r} (asked for by {option}=)"
                + (f"; did you mean {close!r}?" if close else "")
                + f" Columns present: {', '.join(present) or 'none'}.")


def text_column(frame: pd.DataFrame, column: str) -> pd.Series:
    """Escaped display text of one column."""
    return frame[column].map(format_value).map(esc)


def figure_html(value: Any, column: str) -> str:
    """An ``<img>`` with a PNG data URI for one figure value ('' for a missing one).

    ``value``: PNG ``bytes``, a matplotlib ``Figure``, or a ``data:image/...;base64``
    string.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bytes | bytearray):
        if not bytes(value[:8]) == b"\x89PNG\r\n\x1a\n":
            raise SchemaError(
                f"column {column!r}: bytes that are not a PNG image; give PNG bytes, a "
                "matplotlib Figure or a data:image/png;base64 URI.")
        uri = "data:image/png;base64," + base64.b64encode(bytes(value)).decode("ascii")
    elif hasattr(value, "savefig"):
        buf = io.BytesIO()
        value.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    elif isinstance(value, str) and _DATA_IMAGE.match(value):
        uri = re.sub(r"\s", "", value)
    else:
        raise SchemaError(
            f"column {column!r}: cannot show {type(value).__name__} {str(value)[:40]!r} as a "
            "figure; give PNG bytes, a matplotlib Figure or a data:image/png;base64 URI.")
    return f'<img class="cami-figure" alt="figure" src="{esc(uri)}">'


@dataclass
class PopupTable:
    """Popups and tooltips of a layer, dictionary-encoded to keep pages small.

    Every string here is escaped HTML. The page turns a feature's codes into
    ``<table>`` rows with ``camiAtlas.popup`` (rows with an empty value are left out);
    no text is ever inserted unescaped.
    """

    cols: list[str]
    dicts: list[list[str]]
    codes: np.ndarray  # (n features, n columns) indices into dicts
    titles: list[str] = field(default_factory=list)
    title_codes: np.ndarray | None = None
    tips: list[str] = field(default_factory=list)
    tip_codes: np.ndarray | None = None
    figures: list[str] | None = None

    def js(self) -> dict[str, Any]:
        """The layer-level part (headers and value dictionaries)."""
        return {"cols": self.cols, "dicts": self.dicts, "titles": self.titles,
                "tips": self.tips, "figures": self.figures is not None}

    def feature_props(self) -> list[dict[str, Any]]:
        """Per-feature part: ``v`` value codes, ``h`` title, ``t`` tooltip, ``f`` figure."""
        n = len(self.codes)
        rows: list[dict[str, Any]] = [{} for _ in range(n)]
        if self.codes.shape[1]:
            for row, codes in zip(rows, self.codes.tolist(), strict=True):
                row["v"] = codes
        for key, codes in (("h", self.title_codes), ("t", self.tip_codes)):
            if codes is not None:
                for row, code in zip(rows, codes.tolist(), strict=True):
                    if code >= 0:
                        row[key] = code
        if self.figures is not None:
            for row, fig in zip(rows, self.figures, strict=True):
                if fig:
                    row["f"] = fig
        return rows


def _encode(series: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def popup_table(frame: pd.DataFrame, columns: Sequence[str], *,
                extra: Sequence[tuple[str, pd.Series]] = (),
                titles: pd.Series | None = None, tooltips: pd.Series | None = None,
                figure_column: str | None = None) -> PopupTable:
    """Escape and dictionary-encode the popup rows, titles and tooltips of a layer.

    Parameters
    ----------
    frame : DataFrame
        The attributes (one row per feature).
    columns : sequence of str
        Columns shown as ``name | value`` rows; columns empty for every feature are
        left out.
    extra : sequence of (header, Series of escaped text)
        Rows shown before ``columns`` (e.g. a computed barrier class).
    titles, tooltips : Series of escaped text, optional
        Popup title and hover text of each feature.
    figure_column : str, optional
        Column of figures (see :func:`figure_html`).

    Examples
    --------
    >>> df = pd.DataFrame({"name": ["<b>x</b>", "y"], "kind": ["road", "road"]})
    >>> t = popup_table(df, ["name", "kind"])
    >>> t.cols, t.dicts, t.codes.tolist()
    (['name', 'kind'], [['&lt;b&gt;x&lt;/b&gt;', 'y'], ['road']], [[0, 0], [1, 0]])
    """
    headers: list[str] = []
    dicts: list[list[str]] = []
    code_cols: list[np.ndarray] = []
    rows = [(header, series) for header, series in extra]
    rows += [(col, text_column(frame, col)) for col in columns]
    for header, series in rows:
        if (series == "").all():
            continue
        codes, uniques = _encode(series)
        headers.append(esc(header))
        dicts.append(uniques)
        code_cols.append(codes)
    codes = np.column_stack(code_cols) if code_cols else np.zeros((len(frame), 0), np.int64)
    table = PopupTable(headers, dicts, codes)
    if titles is not None:
        table.title_codes, table.titles = _encode(titles.where(titles != ""))
    if tooltips is not None:
        table.tip_codes, table.tips = _encode(tooltips.where(tooltips != ""))
    if figure_column is not None:
        table.figures = [figure_html(v, figure_column) for v in frame[figure_column]]
    return table


JS_HELPERS = """
window.camiAtlas = window.camiAtlas || {
    popup: function (t, p) {
        var rows = "", html = "";
        if (p.h !== undefined) {
            html += '<div class="cami-popup-title">' + t.titles[p.h] + "</div>";
        }
        if (p.v) {
            for (var i = 0; i < p.v.length; i++) {
                var value = p.v[i] < 0 ? "" : t.dicts[i][p.v[i]];
                if (value !== "") {
                    rows += "<tr><th>" + t.cols[i] + "</th><td>" + value + "</td></tr>";
                }
            }
        }
        if (rows) { html += "<table>" + rows + "</table>"; }
        if (p.f) { html += p.f; }
        return html ? '<div class="cami-popup">' + html + "</div>" : null;
    },
    bindGroup: function (group, t) {
        // one popup and one tooltip for the whole layer, filled for the feature under
        // the mouse: no per-feature objects, so tens of thousands of features stay fast
        function props(layer) { return (layer && layer.feature && layer.feature.properties) || {}; }
        if (t.cols.length || t.titles.length || t.figures) {
            group.bindPopup(function (layer) {
                return camiAtlas.popup(t, props(layer)) || "";
            }, {maxWidth: 420});
        }
        if (t.tips.length) {
            group.bindTooltip(function (layer) {
                var p = props(layer);
                return p.t === undefined ? "" : t.tips[p.t];
            }, {sticky: true});
        }
    },
    bind: function (t, p, layer) {
        var content = camiAtlas.popup(t, p);
        if (content) { layer.bindPopup(content, {maxWidth: 420}); }
        if (p.t !== undefined) { layer.bindTooltip(t.tips[p.t], {sticky: true}); }
    }
};
"""


# -- legends -------------------------------------------------------------------------------
def swatch(kind: str, style: dict[str, Any]) -> str:
    """A small inline SVG that shows a line, polygon or point style (trusted input only)."""
    color = esc(style.get("color", "#333"))
    if kind == "line":
        dash = style.get("dashArray")
        dash_attr = f' stroke-dasharray="{esc(dash)}"' if dash else ""
        weight = min(float(style.get("weight", 2)), 5)
        return (f'<svg width="28" height="12"><line x1="1" y1="6" x2="27" y2="6" '
                f'stroke="{color}" stroke-width="{weight}"{dash_attr}/></svg>')
    fill = esc(style.get("fillColor", style.get("color", "#333")))
    if kind == "point":
        return (f'<svg width="14" height="14"><circle cx="7" cy="7" r="5" fill="{fill}" '
                f'stroke="#222" stroke-width="1"/></svg>')
    opacity = float(style.get("fillOpacity", 0.4))
    return (f'<svg width="18" height="14"><rect x="1" y="1" width="16" height="12" '
            f'fill="{fill}" fill-opacity="{max(opacity, 0.35)}" stroke="{color}" '
            f'stroke-width="1.5"/></svg>')


def categorical_legend(title: str, entries: Sequence[tuple[str, str]]) -> str:
    """Legend HTML: an escaped title and ``(swatch_html, label)`` rows (labels escaped)."""
    rows = "".join(f'<div class="cami-legend-row">{sw}<span>{esc(label)}</span></div>'
                   for sw, label in entries)
    return f'<div class="cami-legend-title">{esc(title)}</div>{rows}'


def colorbar_legend(caption: str, colors: Sequence[str], ticks: Sequence[float],
                    *, note: str | None = None) -> str:
    """Colour-bar HTML: escaped caption, a CSS gradient and tick labels."""
    n = len(colors)
    stops = ", ".join(f"{esc(c)} {100 * i / (n - 1):.1f}%" for i, c in enumerate(colors))
    labels = "".join(f"<span>{esc(format_value(t))}</span>" for t in ticks)
    extra = f'<div class="cami-legend-note">{esc(note)}</div>' if note else ""
    return (f'<div class="cami-legend-title">{esc(caption)}</div>'
            f'<div class="cami-colorbar" style="background: linear-gradient(to right, '
            f'{stops});"></div><div class="cami-colorbar-ticks">{labels}</div>{extra}')


CSS = """
.cami-popup { font: 12px/1.35 system-ui, sans-serif; max-height: 320px; overflow: auto; }
.cami-popup-title { font-weight: 600; margin-bottom: 4px; }
.cami-popup table { border-collapse: collapse; }
.cami-popup th { text-align: left; padding: 1px 8px 1px 0; color: #555; font-weight: 500;
  vertical-align: top; white-space: nowrap; }
.cami-popup td { padding: 1px 0; word-break: break-word; }
.cami-figure { display: block; max-width: 360px; margin-top: 6px; }
.cami-legend { background: rgba(255, 255, 255, 0.92); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); font: 12px/1.3 system-ui, sans-serif;
  max-width: 260px; }
.cami-legend-title { font-weight: 600; margin-bottom: 3px; }
.cami-legend-row { display: flex; align-items: center; gap: 6px; }
.cami-legend-row svg { flex: none; }
.cami-legend-row span { overflow-wrap: anywhere; }
.cami-legend-note { color: #555; margin-top: 2px; }
.cami-colorbar { height: 12px; width: 220px; border: 1px solid #999; }
.cami-colorbar-ticks { display: flex; justify-content: space-between; width: 222px; }
.cami-map-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%);
  z-index: 1000; background: rgba(255, 255, 255, 0.92); padding: 4px 12px;
  border-radius: 4px; font: 600 15px/1.3 system-ui, sans-serif;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.3); pointer-events: none; max-width: 50%;
  text-align: center; }
.cami-dot span { display: block; width: 12px; height: 12px; border-radius: 50%;
  border: 1.5px solid #222; box-sizing: border-box; }
.leaflet-control-scale-line { box-sizing: content-box; }
.cami-swatch { display: inline-block; width: 10px; height: 10px; margin-right: 3px;
  border: 1px solid #333; }
"""
