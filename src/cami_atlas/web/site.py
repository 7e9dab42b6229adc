"""A static copy of the online atlas for any web server: ``cami-atlas site build OUT``.

The same pages as ``cami-atlas serve`` (map viewer, a page per species, per country
and per layer) rendered to HTML files, with the downloads of the current version of
every layer (GeoPackage, RFC 7946 GeoJSON, CSV; GeoTIFF for rasters), each
species' distribution per country, the km-in-range tables as JSON, the map data
(``data/<layer>.geojson``, simplified for zoom 6, and raster PNGs) and the vendored
Leaflet. No accounts, no server-side filtering: in the map, the species filter
applies to range layers and the country filter to the country outlines, and a
click shows the attributes of the features under it. Put the folder on any web
server (browsers do not let pages opened from ``file://`` load their data).

Layout::

    OUT/index.html, species/<Genus_species>.html, country/<ISO3>.html, layer/<name>.html
    OUT/download/<name>_v<version>.<gpkg|geojson|csv|tif>
    OUT/download/<genus_species>_by_country.<gpkg|geojson|csv>
    OUT/data/<layer>.geojson, data/<raster>.png, data/km_<Genus_species>.json
    OUT/static/vendor/leaflet/..., static/app/...

Examples
--------
>>> import tempfile, pathlib
>>> out = build_site(pathlib.Path(tempfile.mkdtemp()) / "site", species=["Saiga_tatarica"])
>>> sorted(p.name for p in (out / "species").iterdir())
['Saiga_tatarica.html']
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import __version__
from ..errors import OutputExistsError
from . import i18n
from .service import AtlasService

__all__ = ["build_site", "site_url"]

_HERE = Path(__file__).resolve().parent
_VENDOR = _HERE.parent / "maps" / "static"
_MAP_ZOOM = 6


def site_url(root: str, kind: str, *args: Any) -> str | None:
    """Address of a page, asset or download in a static copy, relative to a page.

    ``root`` leads from the page to the top folder (``""`` or ``"../"``).
    Addresses that a static copy does not have (the API docs, older versions)
    are ``None``.

    Examples
    --------
    >>> site_url("../", "species", "Saiga_tatarica")
    '../species/Saiga_tatarica.html'
    >>> site_url("", "download", "dem", "tif", None, 3)
    'download/dem_v3.tif'
    >>> site_url("", "download", "dem", "tif", 1, 3) is None  # older versions are not copied
    True
    """
    q = [quote(str(a), safe="") for a in args]
    if kind == "home":
        return f"{root}index.html"
    if kind in ("docs", "screen"):  # nothing runs on a static server
        return None
    if kind == "asset":
        return f"{root}static/{args[0]}"
    if kind in ("species", "country", "layer"):
        return f"{root}{kind}/{q[0]}.html"
    if kind == "km":
        return f"{root}data/km_{q[0]}.json"
    if kind == "species_hotspots":
        return f"{root}data/hotspots_species_{q[0]}.json"
    if kind == "country_hotspots":
        return f"{root}data/hotspots_country_{q[0]}.json"
    if kind == "distribution":
        return f"{root}download/{quote(str(args[0]).lower(), safe='')}_by_country.{q[1]}"
    if kind == "download":
        # (name, fmt, version or None, current version): only the current one is copied
        version, current = args[2], args[3]
        if version is not None and int(version) != int(current):
            return None
        return f"{root}download/{q[0]}_v{int(current)}.{q[1]}"
    raise ValueError(f"unknown kind of address {kind!r}")


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def build_site(out: str | os.PathLike[str], location: str | os.PathLike[str] | None = None, *,
               species: list[str] | None = None, lang: str = "en",
               overwrite: bool = False) -> Path:
    """Write the static copy of the atlas at ``location`` into the folder ``out``.

    Parameters
    ----------
    out : path
        The folder to create; it must not exist unless ``overwrite``.
    location : path or str, optional
        A GeoPackage or ``postgresql://`` address; default the embedded atlas.
    species : list of str, optional
        The species to write pages for; default every species of the atlas.
    lang : {"en", "ru"}, default "en"
        The interface language of the pages (:mod:`cami_atlas.web.i18n`).
    overwrite : bool, default False
        Replace an existing ``out`` folder.

    Returns
    -------
    pathlib.Path
        ``out``. The folder is built beside it and moved into place when complete.

    Raises
    ------
    OutputExistsError
        ``out`` exists and ``overwrite`` is false.
    """
    from .._options import check_option

    check_option("lang", lang, list(i18n.LANGUAGES))
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists already; pass overwrite=True (--overwrite) to "
                                "replace it, or choose another folder.")
    out.parent.mkdir(parents=True, exist_ok=True)
    service = AtlasService(location, refresh_s=float("inf"))
    chosen = service.species() if species is None else [
        service._check_species(s) for s in species]
    work = out.with_name(f".{out.name}.{os.getpid()}.part")
    shutil.rmtree(work, ignore_errors=True)
    try:
        token = i18n.current_language.set(lang)
        try:
            _build(work, service, chosen, lang)
        finally:
            i18n.current_language.reset(token)
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _hotspots(service: AtlasService) -> Any:
    """The hotspot analysis of the atlas (waiting for it), or ``None`` where the atlas
    cannot have one (no infrastructure or no ranges)."""
    from ..errors import CamiAtlasError
    from .factsheets import atlas_hotspots

    try:
        return atlas_hotspots(service.atlas)
    except CamiAtlasError:
        return None


def _build(work: Path, service: AtlasService, chosen: list[str], lang: str) -> None:
    from .app import script_texts
    from .factsheets import (
        country_hotspots,
        hotspot_cells_geojson,
        species_hotspots,
        species_page_context,
    )

    env = Environment(loader=FileSystemLoader(str(_HERE / "templates")),
                      autoescape=select_autoescape(["html"]))
    i18n.install(env)
    env.filters["q"] = lambda v: quote(str(v), safe="")
    layers = service.layers()
    current = {r["name"]: r["version"] for r in layers}
    rasters: dict[str, Any] = {}
    for rec in layers:  # map data
        name = rec["name"]
        if rec["storage"] == "geotiff_blob":
            png, bounds = service.raster_png(name)
            _write(work / "data" / f"{name}.png", png)
            rasters[name] = bounds
        else:
            doc = service.geojson(name, zoom=_MAP_ZOOM, properties=True)
            _write(work / "data" / f"{name}.geojson",
                   json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
    config_layers = [{"name": r["name"], "kind": r["kind"], "storage": r["storage"]}
                     for r in layers]
    common = dict(atlas_name=service.atlas.name, where=f"static copy of {service.where}",
                  version=__version__, lang=lang, languages=[])

    def render(path: str, template: str, **context: Any) -> None:
        root = "../" * path.count("/")

        def url(kind: str, *args: Any) -> str | None:
            if kind == "download":
                version = args[2] if len(args) > 2 else None
                return site_url(root, "download", args[0], args[1], version, current[args[0]])
            if kind in ("species", "km", "distribution") and args[0] not in chosen:
                return None  # no page for a species left out of the copy
            return site_url(root, kind, *args)

        html = env.get_template(template).render(
            url=url, config={"static": True, "root": root, "layers": config_layers,
                             "rasters": rasters, "i18n": script_texts(lang)},
            **common, **context)
        _write(work / path, html)

    render("index.html", "home.html", layers=layers, species=chosen,
           countries=service.countries())
    hotspots = _hotspots(service)
    _write(work / "data" / "hotspots.geojson", hotspot_cells_geojson(hotspots))
    for sp in chosen:
        context = species_page_context(service, sp)
        render(f"species/{sp}.html", "species.html", **context)
        _write(work / "data" / f"km_{sp}.json", service.km_in_range(sp).to_json(orient="records"))
        _write(work / site_url("", "species_hotspots", sp), json.dumps(
            species_hotspots(hotspots, sp) if hotspots is not None else {"status": "none"}))
        for fmt in ("gpkg", "geojson", "csv"):
            data, _, filename = service.download_distribution(sp, fmt)
            _write(work / "download" / filename, data)
    for country in service.countries():
        iso3 = country["iso3"]
        render(f"country/{iso3}.html", "country.html", country=service.country_summary(iso3))
        _write(work / site_url("", "country_hotspots", iso3), json.dumps(
            country_hotspots(hotspots, service.country_shape(iso3), iso3)
            if hotspots is not None else {"status": "none"}))
    for rec in layers:
        record = service.layer(rec["name"])
        formats = ["tif", "gpkg"] if rec["storage"] == "geotiff_blob" else \
            ["gpkg", "geojson", "csv"]
        render(f"layer/{rec['name']}.html", "layer.html", layer=record, formats=formats)
        for fmt in formats:
            data, _, filename = service.download(rec["name"], fmt)
            _write(work / "download" / filename, data)
    shutil.copytree(_VENDOR / "leaflet", work / "static" / "vendor" / "leaflet")
    for asset in ("atlas.js", "page.js", "atlas.css"):
        _write(work / "static" / "app" / asset, (_HERE / "static" / asset).read_bytes())
