"""Self-contained map files: every script, style sheet, image and font inlined.

folium links Leaflet, jQuery, Bootstrap, Font Awesome and its plugins from CDNs.
:func:`inline_assets` replaces each ``<script src>`` / ``<link href>`` by the content
of the copy vendored under ``cami_atlas/maps/static`` (see its ``README.md``), and
each ``url(...)`` inside those style sheets by a ``data:`` URI. A referenced URL that
is not vendored raises :class:`~cami_atlas.errors.AssetNotVendoredError` naming it:
an offline map never silently depends on the web. Basemap tiles are the only
requests such a file can still make (none with ``basemap=None``).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import posixpath
import re
from importlib import resources
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic
from ..errors import AssetNotVendoredError, OptionError
from ._html import script_json

__all__ = ["external_references", "inline_assets", "save_map", "vendored_urls"]

_STATIC = "static"
_MIME = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
}

_SCRIPT_SRC = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*(["'])(?P<url>.*?)\1[^>]*>\s*</script\s*>""",
    re.IGNORECASE | re.DOTALL)
_LINK_HREF = re.compile(r"""<link\b[^>]*?\bhref\s*=\s*(["'])(?P<url>.*?)\1[^>]*>""",
                        re.IGNORECASE | re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>[^"')]*)(?P=q)\s*\)""", re.IGNORECASE)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_FONT_SRC = re.compile(r"(?P<head>\bsrc\s*:\s*)(?P<list>[^;}]+)", re.IGNORECASE)
_SOURCE_MAP = re.compile(r"(//[#@]\s*sourceMappingURL=\S*|/\*[#@]\s*sourceMappingURL=[^*]*\*/)")
_REF_ATTR = re.compile(
    r"""<(?P<tag>script|link|img|iframe|source|embed|object|audio|video)\b[^>]*?"""
    r"""\b(?P<attr>src|href|data)\s*=\s*(["'])(?P<url>.*?)\3""",
    re.IGNORECASE | re.DOTALL)
_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?(?P<url>[^"')\s;]+)""", re.IGNORECASE)


def _static_root() -> Path:
    return Path(str(resources.files("cami_atlas.maps").joinpath(_STATIC)))


@functools.lru_cache(maxsize=1)
def _manifest() -> dict[str, Any]:
    return json.loads((_static_root() / "manifest.json").read_text(encoding="utf-8"))


def vendored_urls() -> dict[str, str]:
    """The CDN URLs that :func:`inline_assets` can replace, each with its vendored file.

    Examples
    --------
    >>> urls = vendored_urls()
    >>> urls["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"]
    'leaflet/leaflet.js'
    """
    return dict(_manifest()["urls"])


def _data_uri(rel: str) -> str:
    path = _static_root() / rel
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        raise AssetNotVendoredError(
            f"vendored file {rel} has no known media type; cannot inline it.")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _resolve(css_rel: str, url: str) -> str | None:
    """The vendored file a relative ``url(...)`` of the style sheet ``css_rel`` names."""
    clean = url.split("#", 1)[0].split("?", 1)[0]
    if not clean or re.match(r"^[a-z][a-z0-9+.-]*:|^//", clean, re.IGNORECASE):
        return None
    rel = posixpath.normpath(posixpath.join(posixpath.dirname(css_rel), clean))
    if rel.startswith("..") or not (_static_root() / rel).is_file():
        return None
    return rel


def _split_src_list(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _inline_css(css: str, rel: str, source_url: str) -> str:
    """``url(...)`` -> data URIs; @font-face sources not vendored are dropped, and so is
    an @font-face whose font files an earlier rule of the sheet already embeds (legacy
    alias families such as Font Awesome's ``FontAwesome``: each would repeat a
    100-200 kB data URI)."""
    seen: set[str] = set()

    def font_face(block: re.Match[str]) -> str:
        files: set[str] = set()

        def src(match: re.Match[str]) -> str:
            kept = []
            for entry in _split_src_list(match["list"]):
                found = _CSS_URL.search(entry)
                target = None if found is None else _resolve(rel, found["url"])
                if found is None or target is not None:
                    kept.append(entry)
                    if target is not None:
                        files.add(target)
            if not kept:
                raise AssetNotVendoredError(
                    f"no font file of an @font-face rule in {source_url} is vendored "
                    f"({match['list'].strip()[:200]}); vendor one (see "
                    "cami_atlas/maps/static/README.md).")
            return match["head"] + ",".join(kept)

        rule = _FONT_SRC.sub(src, block[0])
        if files and files <= seen:
            return ""
        seen.update(files)
        return rule

    imports = _IMPORT.findall(css)
    if imports:
        raise AssetNotVendoredError(
            f"the style sheet {source_url} @imports {imports[0]}; not supported offline.")
    css = _FONT_FACE.sub(font_face, css)

    def url(match: re.Match[str]) -> str:
        target = match["url"].strip()
        if not target or target.startswith(("data:", "#")):
            return match[0]
        found = _resolve(rel, target)
        if found is None:
            raise AssetNotVendoredError(
                f"the style sheet {source_url} references url({target}), which is not "
                "vendored; an offline map cannot load it. Vendor it under "
                "cami_atlas/maps/static (see its README.md).")
        return f'url("{_data_uri(found)}")'

    css = _CSS_URL.sub(url, css)
    return _SOURCE_MAP.sub("", css)


def _icon_fix() -> str:
    """Script run after Leaflet: default marker images as data URIs (Leaflet finds
    them from a CSS path, which inlining removes)."""
    options = script_json({"iconUrl": _data_uri("leaflet/images/marker-icon.png"),
                           "iconRetinaUrl": _data_uri("leaflet/images/marker-icon-2x.png"),
                           "shadowUrl": _data_uri("leaflet/images/marker-shadow.png")})
    return ("\n;(function () { if (window.L && L.Icon && L.Icon.Default) {"
            " L.Icon.Default.imagePath = ''; L.Icon.Default.mergeOptions(" + options
            + "); } })();\n")


@functools.lru_cache(maxsize=64)
def _inline_tag(url: str, kind: str) -> str:
    urls = _manifest()["urls"]
    if url not in urls:
        raise AssetNotVendoredError(
            f"the map references {url}, which cami_atlas does not vendor, so a "
            "self-contained file cannot include it. Remove the element that needs it, "
            "save with self_contained=False (the file then needs the internet), or vendor "
            "the file under cami_atlas/maps/static and list it in manifest.json "
            "(see README.md there).")
    rel = urls[url]
    text = (_static_root() / rel).read_text(encoding="utf-8")
    if kind == "script":
        text = _SOURCE_MAP.sub("", text)
        if rel == "leaflet/leaflet.js":
            text += _icon_fix()
        text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
        return f"<script>/* {rel} (vendored) */\n{text}\n</script>"
    text = _inline_css(text, rel, url)
    text = re.sub(r"</(style)", r"<\\/\1", text, flags=re.IGNORECASE)
    return f"<style>/* {rel} (vendored) */\n{text}\n</style>"


def inline_assets(html: str) -> str:
    """Replace every ``<script src>`` and ``<link href>`` of ``html`` by inline content.

    Raises
    ------
    AssetNotVendoredError
        If a referenced URL is not vendored (the message names it).

    Examples
    --------
    >>> page = ('<head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/'
    ...         'leaflet.js"></script></head>')
    >>> out = inline_assets(page)
    >>> "<script src=" in out, "L.Icon.Default.imagePath" in out
    (False, True)
    """
    html = _SCRIPT_SRC.sub(lambda m: _inline_tag(m["url"].strip(), "script"), html)

    def link(match: re.Match[str]) -> str:
        tag = match[0]
        url = match["url"].strip()
        rel = re.search(r"""\brel\s*=\s*["']?([^"'\s>]+)""", tag, re.IGNORECASE)
        if url.startswith("data:"):
            return tag
        if rel is None or rel.group(1).lower() != "stylesheet":
            raise AssetNotVendoredError(
                f"the map links {url} ({tag[:80]}); only style sheets can be inlined. "
                "Remove that link for a self-contained file.")
        return _inline_tag(url, "style")

    return _LINK_HREF.sub(link, html)


_SCRIPT_BODY = re.compile(r"(<script\b[^>]*>)(.*?)(</script\s*>)", re.IGNORECASE | re.DOTALL)


def external_references(html: str) -> list[str]:
    """URLs that the markup and style sheets of ``html`` make a browser fetch.

    Looks at ``src``/``href``/``data`` attributes of tags that load resources
    (``script``, ``link``, ``img``, ``iframe``, ...) and at CSS ``url(...)`` and
    ``@import``, outside script bodies (what JavaScript requests, e.g. basemap tiles,
    is for a browser to show: see the browser tests). ``data:`` URIs do not count.

    Examples
    --------
    >>> external_references('<img src="https://x.org/a.png"><p style="background:'
    ...                     'url(data:image/png;base64,AA==)">')
    ['https://x.org/a.png']
    >>> external_references('<script>var s = "url(x.png)";</script>')
    []
    """
    markup = _SCRIPT_BODY.sub(lambda m: m[1] + m[3], html)
    found = [m["url"] for m in _REF_ATTR.finditer(markup)
             if not m["url"].startswith(("data:", "#", "javascript:"))]
    found += [m["url"] for m in _CSS_URL.finditer(markup)
              if m["url"] and not m["url"].startswith(("data:", "#"))]
    found += [m["url"] for m in _IMPORT.finditer(markup)]
    return found


def save_map(m: Any, path: str | os.PathLike[str], *, self_contained: bool = True,
             overwrite: bool = False) -> Path:
    """Write the map to one HTML file, atomically.

    Parameters
    ----------
    m : folium.Map
        A map (e.g. from :func:`cami_atlas.maps.build_map`).
    path : path-like
        Output file (``.html``).
    self_contained : bool, default True
        Inline Leaflet, the plugins, their style sheets, images and fonts, so the
        file opens without internet (only basemap tiles, if any, are fetched).
        ``False`` keeps folium's CDN links (smaller file, needs the internet); not
        allowed for a map built with ``offline=True``.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.
    AssetNotVendoredError
        A self-contained file would need a web asset that is not vendored.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cami_atlas.maps import build_map
    >>> out = save_map(build_map(basemap=None), pathlib.Path(tempfile.mkdtemp()) / "m.html")
    >>> external_references(out.read_text())
    []
    """
    import folium

    if not isinstance(m, folium.Map):
        raise OptionError(f"save_map needs a folium.Map; got {type(m).__name__}.")
    if not self_contained and getattr(m, "_cami_offline", False):
        raise OptionError(
            "self_contained=False is not valid for a map built with offline=True: it must "
            "open without internet. Save it with self_contained=True (the default).")
    html = m.get_root().render()
    if self_contained:
        html = inline_assets(html)
        left = external_references(html)
        if left:
            raise AssetNotVendoredError(
                f"the self-contained map still references {left[0]!r} "
                f"({len(left)} external reference(s) in all); remove the element that "
                "loads it or vendor the file (cami_atlas/maps/static/README.md).")
    return write_text_atomic(path, html, overwrite=overwrite)
