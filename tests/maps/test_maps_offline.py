"""save_map and the self-contained (offline) HTML: vendored assets, atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import re
from importlib import resources
from pathlib import Path

import folium
import pytest
from branca.element import CssLink, JavascriptLink
from folium.plugins import Fullscreen, MarkerCluster, MeasureControl

from cami_atlas.errors import AssetNotVendoredError, OptionError, OutputExistsError
from cami_atlas.maps import (
    add_points,
    build_map,
    external_references,
    inline_assets,
    save_map,
    vendored_urls,
)
from cami_atlas.maps import offline as offline_mod

STATIC = Path(str(resources.files("cami_atlas.maps").joinpath("static")))


def test_vendored_files_match_manifest_and_have_licences():
    manifest = json.loads((STATIC / "manifest.json").read_text())
    for rel, sha in manifest["sha256"].items():
        assert hashlib.sha256((STATIC / rel).read_bytes()).hexdigest() == sha, rel
    for folder in manifest["packages"]:
        if folder == "awesome-rotate":
            continue  # written by this project (MIT)
        licences = [p for p in (STATIC / folder).iterdir()
                    if re.match(r"(MIT-)?LICEN[CS]E", p.name)]
        assert licences, f"no licence file in static/{folder}"
    assert set(manifest["urls"].values()) <= set(manifest["sha256"])


def test_every_url_folium_writes_is_vendored():
    # folium's map defaults and the plugins cami_atlas uses: a folium upgrade that moves a
    # version makes this fail (re-run static/_vendor.py with the new versions)
    urls = [u for _, u in folium.Map.default_js + folium.Map.default_css]
    for plugin in (Fullscreen, MeasureControl, MarkerCluster):
        urls += [u for _, u in plugin.default_js + plugin.default_css]
    assert sorted(set(urls) - set(vendored_urls())) == []


def test_self_contained_file_has_no_external_references(tmp_path, infra, points):
    m = build_map([infra], basemap=None)
    add_points(m, points)
    folium.Marker([45, 60], icon=folium.Icon(icon="info-sign")).add_to(m)  # awesome markers
    path = save_map(m, tmp_path / "map.html")
    html = path.read_text(encoding="utf-8")
    assert external_references(html) == []
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "sourceMappingURL" not in html
    # every vendored woff2 font is embedded exactly once (Font Awesome's legacy alias
    # @font-face rules would repeat them): 4 Font Awesome files + 1 glyphicons file
    assert html.count("data:font/woff2;base64,") == 5
    assert html.count("data:image/png;base64,") >= 10  # leaflet, measure, awesome markers
    assert "L.Icon.Default.imagePath = ''" in html
    # and the file is still the same map: as many script elements as folium wrote (each
    # link became one inline element; bodies are left out of the count)
    def elements(page: str) -> int:
        return len(re.findall(r"<script\b[^>]*>.*?</script>", page, re.DOTALL))

    assert elements(html) == elements(m.get_root().render())


def test_cdn_version_keeps_links(tmp_path, infra):
    path = save_map(build_map([infra], basemap=None), tmp_path / "cdn.html",
                    self_contained=False)
    html = path.read_text()
    assert '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js">' in html
    assert path.stat().st_size < 200_000


def test_missing_asset_fails_loudly(tmp_path, infra):
    m = build_map([infra], basemap=None)
    m.get_root().header.add_child(JavascriptLink("https://example.org/lib/extra.js"),
                                  name="extra")
    with pytest.raises(AssetNotVendoredError, match=r"https://example\.org/lib/extra\.js"):
        save_map(m, tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()
    m2 = build_map(basemap=None)
    m2.get_root().header.add_child(CssLink("https://example.org/theme.css"), name="theme")
    with pytest.raises(AssetNotVendoredError, match=r"example\.org/theme\.css"):
        save_map(m2, tmp_path / "y.html")
    # the CDN version of the same map is fine
    save_map(m2, tmp_path / "y.html", self_contained=False)
    with pytest.raises(AssetNotVendoredError, match="only style sheets can be inlined"):
        inline_assets('<link rel="icon" href="https://example.org/favicon.ico">')
    leftover = '<img src="https://example.org/logo.png">'
    m3 = build_map(basemap=None)
    m3.get_root().html.add_child(folium.Element(leftover))
    with pytest.raises(AssetNotVendoredError, match=r"still references 'https://example"):
        save_map(m3, tmp_path / "z.html")


def test_css_inlining_errors():
    with pytest.raises(AssetNotVendoredError, match=r"references url\(nope\.png\)"):
        offline_mod._inline_css("a{background:url(nope.png)}", "leaflet/leaflet.css", "X")
    with pytest.raises(AssetNotVendoredError, match="no font file of an @font-face rule"):
        offline_mod._inline_css('@font-face{font-family:a;src:url(a.ttf) format("truetype")}',
                                "leaflet/leaflet.css", "X")
    with pytest.raises(AssetNotVendoredError, match="@imports"):
        offline_mod._inline_css('@import url("other.css");', "leaflet/leaflet.css", "X")
    with pytest.raises(AssetNotVendoredError, match="no known media type"):
        offline_mod._data_uri("leaflet/LICENSE")
    # vendored formats are kept, the others dropped from a src list
    css = offline_mod._inline_css(
        '@font-face{font-family:G;src:url("fonts/glyphicons-halflings-regular.woff2") '
        'format("woff2"),url("fonts/x.ttf") format("truetype")}', "glyphicons/glyphicons.css",
        "X")
    assert "data:font/woff2" in css and "x.ttf" not in css


def test_overwrite_refused_and_allowed(tmp_path, infra):
    path = tmp_path / "m.html"
    path.write_text("previous")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        save_map(build_map([infra], basemap=None), path)
    assert path.read_text() == "previous"
    save_map(build_map([infra], basemap=None), path, overwrite=True)
    assert path.read_text().startswith("<!DOCTYPE html>")


def test_save_is_atomic(tmp_path, infra, monkeypatch):
    path = tmp_path / "m.html"
    path.write_text("previous")

    def failing_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        save_map(build_map([infra], basemap=None), path, overwrite=True)
    assert path.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html"]  # no temporary left


def test_offline_map_must_be_self_contained(tmp_path, infra):
    m = build_map([infra], basemap=None, offline=True)
    with pytest.raises(OptionError, match="offline=True"):
        save_map(m, tmp_path / "m.html", self_contained=False)
    with pytest.raises(OptionError, match=r"needs a folium.Map; got str"):
        save_map("map", tmp_path / "m.html")


def test_basemap_tiles_are_the_only_web_reference(tmp_path, infra):
    html = save_map(build_map([infra]), tmp_path / "osm.html").read_text()
    assert external_references(html) == []
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in html  # fetched by Leaflet


def test_file_size_small_map(tmp_path, infra):
    # vendored assets ~1.4 MB + the data; a regression guard against duplicated fonts
    size = save_map(build_map([infra], basemap=None), tmp_path / "m.html").stat().st_size
    assert 1_000_000 < size < 1_700_000
