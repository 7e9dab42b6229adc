"""The FastAPI application of ``cami-atlas serve``: map viewer, species and country pages,
downloads and a JSON API (OpenAPI at ``/docs`` and ``/openapi.json``).

Pages are Jinja2 templates with autoescaping, so layer names, attributes and
provenance texts are always HTML-escaped; the map script fills popups with
``textContent``, never ``innerHTML``. Leaflet comes from the assets the package
vendors (:mod:`cami_atlas.maps`), so the application makes no request to any
other server. Without accounts everything is read-only; with ``accounts=`` contributors
upload new layer versions and editors publish them (:mod:`cami_atlas.web.contribute`).

Examples
--------
>>> from fastapi.testclient import TestClient
>>> client = TestClient(create_app())
>>> client.get("/api/layers").json()[0]["name"]
'countries'
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from .. import __version__
from ..errors import CamiAtlasError, LayerNotFoundError, OptionError, UnknownSpeciesError
from . import i18n
from .jobs import (
    MAX_ROUTE_BYTES,
    MAX_ROUTE_FILE_BYTES,
    ROUTE_SUFFIXES,
    ScreeningBusyError,
    ScreeningJobs,
    parse_route,
    parse_route_file,
)
from .service import AtlasService

__all__ = ["app_from_environment", "app_url", "create_app", "script_texts"]

_HERE = Path(__file__).resolve().parent
_VENDOR = _HERE.parent / "maps" / "static"


def _attachment(filename: str) -> str:
    """A Content-Disposition value with a file name reduced to safe characters."""
    return f"attachment; filename=\"{re.sub(r'[^A-Za-z0-9_.-]', '_', filename)}\""


def _error(exc: CamiAtlasError) -> HTTPException:
    status = 404 if isinstance(exc, LayerNotFoundError | UnknownSpeciesError) else 400
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return HTTPException(status_code=status, detail=text)


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise OptionError(f"bbox={text!r} must be four numbers west,south,east,north in "
                          "degrees, e.g. 44,23,125,56.") from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise OptionError(f"bbox={text!r} is not west,south,east,north in degrees with "
                          "west <= east and south <= north.")
    return west, south, east, north


def app_url(kind: str, *args: Any) -> str | None:
    """Address of a page, asset or download in the served application (see :func:`site_url`).

    Examples
    --------
    >>> app_url("species", "Saiga_tatarica"), app_url("download", "dem", "tif", 2)
    ('/species/Saiga_tatarica', '/download/dem.tif?version=2')
    """
    q = [quote(str(a), safe="") for a in args]
    if kind == "home":
        return "/"
    if kind == "docs":
        return "/docs"
    if kind == "screen":
        return "/screen"
    if kind == "asset":
        return f"/static/{args[0]}"
    if kind in ("species", "country", "layer"):
        return f"/{kind}/{q[0]}"
    if kind == "km":
        return f"/api/species/{q[0]}/km"
    if kind == "species_hotspots":
        return f"/api/species/{q[0]}/hotspots"
    if kind == "country_hotspots":
        return f"/api/countries/{q[0]}/hotspots"
    if kind == "distribution":
        return f"/download/species/{q[0]}/distribution.{q[1]}"
    if kind == "download":
        version = f"?version={int(args[2])}" if len(args) > 2 and args[2] is not None else ""
        return f"/download/{q[0]}.{q[1]}{version}"
    raise ValueError(f"unknown kind of address {kind!r}")


def script_texts(lang: str) -> dict[str, str]:
    """The interface texts the map scripts show, in language ``lang``."""
    _ = i18n.gettext_for(lang)
    return {"nothing": _("Nothing here."), "species_page": _("species page"),
            "country_page": _("country page"),
            "hot_species": _("{n_hot} of the {n_cells} hexagonal cells of {cell_km} km over "
                             "this range are barrier hot spots (Getis-Ord Gi*, 95 % or 99 %), "
                             "{n_hot_99} of them at 99 %; {n_transboundary} lie within 50 km "
                             "of an international border."),
            "hot_country": _("{n_hot} of the {n_cells} hexagonal cells of {cell_km} km meeting "
                             "this country are barrier hot spots (Getis-Ord Gi*, 95 % or 99 %)."),
            "hot_border": _("border {border}: {n_hot} transboundary hot cells"),
            "hot_none": _("No barrier hotspots: the atlas lacks infrastructure or ranges."),
            "hot_wait": _("The barrier hotspots of the atlas are being computed..."),
            "hotspots": _("barrier hotspots")}


def create_app(location: str | os.PathLike[str] | None = None, *,
               refresh_s: float = 10.0, screening_workers: int = 1,
               accounts: str | os.PathLike[str] | None = None) -> FastAPI:
    """The web application for the atlas at ``location`` (default: the embedded atlas).

    Parameters
    ----------
    location : path or str, optional
        A GeoPackage path or a ``postgresql://`` address.
    refresh_s : float, default 10
        How often the application looks for newly published layer versions.
    screening_workers : int, default 1
        Route screenings run at the same time (in background threads).
    accounts : path, optional
        SQLite file of the accounts (:mod:`cami_atlas.web.accounts`): turns on sign-in,
        contributions and review (:mod:`cami_atlas.web.contribute`). Without it the
        application is read-only.
    """
    service = AtlasService(location, refresh_s=refresh_s)
    app = FastAPI(title="CAMI Migration and Linear Infrastructure Atlas", version=__version__,
                  description="Layers, species and countries of the atlas, and km of "
                              "infrastructure in species' ranges.")
    app.state.service = service
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    templates.env.filters["q"] = lambda v: quote(str(v), safe="")
    app.mount("/static/vendor", StaticFiles(directory=str(_VENDOR)), name="vendor")
    app.mount("/static/app", StaticFiles(directory=str(_HERE / "static")), name="app")

    templates.env.globals["url"] = app_url
    i18n.install(templates.env)

    store = None
    if accounts is not None:
        from .accounts import AccountStore

        store = AccountStore(accounts)
    app.state.accounts = store

    def render(request: Request, name: str, context: dict[str, Any], lang: str,
               session: Any) -> HTMLResponse:
        layers = [{"name": r["name"], "kind": r["kind"], "storage": r["storage"]}
                  for r in service.layers()]
        context.update(accounts=store is not None, session=session,
                       csrf=session.csrf if session else "")
        context.update(atlas_name=service.atlas.name, where=service.where, version=__version__,
                       lang=lang, languages=list(i18n.LANGUAGES.items()),
                       config={"static": False, "root": "/", "layers": layers,
                               "i18n": script_texts(lang)})
        token = i18n.current_language.set(lang)
        try:
            return templates.TemplateResponse(request, name, context)
        finally:
            i18n.current_language.reset(token)

    def page(request: Request, name: str, build: Callable[[], dict[str, Any]] | None = None,
             **context: Any) -> HTMLResponse:
        """Render template ``name`` in the reader's language. With ``build`` (a function
        returning the template's context) a page for a reader who is not signed in is
        rendered once per address, language and atlas state, then served from memory."""
        asked = request.query_params.get("lang")
        lang = i18n.pick_language(asked, request.cookies.get("lang"),
                                  request.headers.get("accept-language"))
        from .contribute import COOKIE

        session = store.session(request.cookies.get(COOKIE)) if store is not None else None
        if build is not None and session is None:
            body = service.cached(("page", request.url.path, lang), lambda: render(
                request, name, build(), lang, None).body)
            response: HTMLResponse = HTMLResponse(body)
        else:
            response = render(request, name, build() if build else context, lang, session)
        response.headers["Content-Language"] = lang
        if asked in i18n.LANGUAGES:
            response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
        return response

    @app.exception_handler(CamiAtlasError)
    async def _atlas_error(request: Request, exc: CamiAtlasError) -> JSONResponse:
        err = _error(exc)
        return JSONResponse({"detail": err.detail}, status_code=err.status_code)

    _page_routes(app, service, page)
    _download_routes(app, service)
    _layer_api(app, service)
    _screening_api(app, service, workers=screening_workers)
    _species_country_api(app, service)
    if store is not None:
        from .contribute import register

        register(app, service, store, page)
    return app


def _page_routes(app: FastAPI, service: AtlasService,
                 page: Callable[..., HTMLResponse]) -> None:
    """Register the HTML pages: home (map), species, country, layer, route screening."""
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        return page(request, "home.html", lambda: {
            "layers": service.layers(), "species": service.species(),
            "countries": service.countries()})

    @app.get("/species/{species}", response_class=HTMLResponse, include_in_schema=False)
    def species_page(request: Request, species: str) -> HTMLResponse:
        from .factsheets import species_page_context

        try:
            return page(request, "species.html", lambda: species_page_context(service, species))
        except CamiAtlasError as exc:
            raise _error(exc) from None

    @app.get("/country/{iso3}", response_class=HTMLResponse, include_in_schema=False)
    def country_page(request: Request, iso3: str) -> HTMLResponse:
        try:
            return page(request, "country.html",
                        lambda: {"country": service.country_summary(iso3)})
        except CamiAtlasError as exc:
            raise _error(exc) from None

    @app.get("/layer/{name}", response_class=HTMLResponse, include_in_schema=False)
    def layer_page(request: Request, name: str) -> HTMLResponse:
        def build() -> dict[str, Any]:
            record = service.layer(name)
            formats = ["tif", "gpkg"] if record["storage"] == "geotiff_blob" else \
                ["gpkg", "geojson", "csv"]
            return {"layer": record, "formats": formats}

        try:
            return page(request, "layer.html", build)
        except CamiAtlasError as exc:
            raise _error(exc) from None

    @app.get("/screen", response_class=HTMLResponse, include_in_schema=False)
    def screen_page(request: Request) -> HTMLResponse:
        return page(request, "screen.html",
                    lambda: {"infra_types": ["road", "railway", "fence", "pipeline"]})


def _download_routes(app: FastAPI, service: AtlasService) -> None:
    """Register downloads of layers (any version) and species distributions per country."""
    @app.get("/download/{name}.{fmt}", tags=["downloads"],
             summary="Download a layer (gpkg, geojson, csv; tif for rasters)")
    def download(name: str, fmt: str, version: int | None = None) -> Response:
        data, media, filename = service.download(name, fmt, version)
        info = service.layer(name)
        headers = {"Content-Disposition": _attachment(filename),
                   "X-Licence": quote(str(info["licence"]), safe=" ():,;/-."),
                   "Link": f"</layer/{quote(name)}>; rel=\"describedby\""}
        return Response(data, media_type=media, headers=headers)

    @app.get("/download/species/{species}/distribution.{fmt}", tags=["downloads"],
             summary="A species' range clipped to each country (gpkg, geojson, csv)")
    def download_distribution(species: str, fmt: str) -> Response:
        data, media, filename = service.download_distribution(species, fmt)
        return Response(data, media_type=media,
                        headers={"Content-Disposition": _attachment(filename)})


def _layer_api(app: FastAPI, service: AtlasService) -> None:
    """Register the layer API: list, provenance, GeoJSON per zoom, PNG, identify."""
    @app.get("/api/layers", tags=["layers"], summary="Every layer with its provenance")
    def api_layers() -> list[dict[str, Any]]:
        return service.layers()

    @app.get("/api/layers/{name}", tags=["layers"],
             summary="One layer: provenance, citation and all its versions")
    def api_layer(name: str) -> dict[str, Any]:
        return service.layer(name)

    @app.get("/api/layers/{name}/geojson", tags=["layers"],
             summary="Features for the map: simplified for a zoom level, filtered")
    def api_geojson(name: str, zoom: Annotated[int, Query(ge=0, le=22)] = 4,
                    species: str | None = None, country: str | None = None,
                    bbox: str | None = None) -> Response:
        if service.atlas.kind_of(name) == "raster":
            raise OptionError(f"layer {name!r} is a raster; get it from "
                              f"/api/layers/{name}/png")
        body = service.geojson(name, zoom=zoom, species=species or None,
                               country=country or None, bbox=_bbox(bbox), as_bytes=True)
        return Response(body, media_type="application/geo+json")

    @app.get("/api/layers/{name}/png", tags=["layers"],
             summary="A raster as a Web Mercator PNG; its bounds in the X-Bounds header")
    def api_png(name: str) -> Response:
        png, bounds = service.raster_png(name)
        return Response(png, media_type="image/png", headers={"X-Bounds": json.dumps(bounds)})

    @app.get("/api/layers/{name}/tiles/{z}/{x}/{y}.png", tags=["layers"],
             summary="A raster as Web Mercator map tiles (256-pixel PNG, from its COG)")
    def api_raster_tile(name: str, z: int, x: int, y: int) -> Response:
        png = service.raster_tile(name, z, x, y)
        return Response(png, media_type="image/png",
                        headers={"Cache-Control": "public, max-age=300",
                                 "X-Bounds": json.dumps(service.raster_bounds(name))})

    @app.get("/api/identify", tags=["layers"],
             summary="Features within 5 screen pixels of a point")
    def api_identify(lon: float, lat: float, zoom: Annotated[int, Query(ge=0, le=22)] = 4,
                     layers: str | None = None) -> list[dict[str, Any]]:
        names = [n for n in (layers or "").split(",") if n] or None
        if names:
            for n in names:
                service.atlas.kind_of(n)  # unknown layer: 404 naming the layers
        return service.identify(lon, lat, zoom=zoom, layers=names)


def _screening_api(app: FastAPI, service: AtlasService, *, workers: int) -> None:
    """Register route screening as background jobs (submit, status, files)."""
    jobs = ScreeningJobs(workers=workers)
    app.state.jobs = jobs
    app.router.on_shutdown.append(jobs.shutdown)

    @app.post("/api/screenings", tags=["screening"], status_code=202,
              summary="Screen a route (RFC 7946 GeoJSON body) in the background",
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/geo+json": {"schema": {"type": "object"}},
                  "application/json": {"schema": {"type": "object"}}}}})
    async def api_screen(request: Request, infra_type: str,
                         attr: Annotated[list[str] | None, Query()] = None,
                         connectivity: bool = True) -> JSONResponse:
        """Queue a screening of the line(s) in the body; poll ``/api/screenings/{id}``.

        ``attr`` takes ``name=value`` attributes of the line for the barrier matrix
        (e.g. ``attr=track=double&attr=fenced=yes``). ``connectivity`` (default true)
        models the loss of connectivity of every crossed range (circuit theory, ECA)
        and the crossing candidates, as ``cami-atlas screen-route`` does. Only
        ``application/geo+json`` or ``application/json`` bodies are accepted (so no HTML
        form of another site can post one), at most 2 MB.
        """
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/geo+json", "application/json"):
            raise HTTPException(415, detail="send the route as GeoJSON with Content-Type "
                                            "application/geo+json.")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > MAX_ROUTE_BYTES:
                raise HTTPException(413, detail=f"the route document is larger than "
                                                f"{MAX_ROUTE_BYTES:,} bytes.")
        return _submit(request, parse_route(bytes(body)), infra_type, attr, connectivity)

    @app.post("/api/screenings/upload", tags=["screening"], status_code=202,
              summary="Screen a route file (GeoJSON, GeoPackage, KML, zipped Shapefile)")
    async def api_screen_upload(request: Request, infra_type: Annotated[str, Form()],
                                file: Annotated[UploadFile, File()],
                                attr: Annotated[list[str] | None, Form()] = None,
                                connectivity: Annotated[bool, Form()] = True
                                ) -> JSONResponse:
        """Queue a screening of the lines of an uploaded file (at most 20 MB).

        Needs the header ``X-Requested-With: cami-atlas`` (the screening page sends it):
        a form of another site cannot set it, so it cannot queue screenings.
        """
        import secrets as _secrets

        from .contribute import save_upload

        if request.headers.get("x-requested-with") != "cami-atlas":
            raise HTTPException(403, detail="send the header X-Requested-With: cami-atlas "
                                            "with a route upload.")
        original = file.filename or "route"
        suffix = Path(original).suffix.lower()
        if suffix not in ROUTE_SUFFIXES:
            raise OptionError(f"{original!r}: route files ending {suffix or '(nothing)'} are "
                              f"not read; upload one of {', '.join(ROUTE_SUFFIXES)}.")
        folder = Path(tempfile.mkdtemp(prefix="cami_route_"))
        target = folder / f"{_secrets.token_hex(8)}{suffix}"
        try:
            try:
                await save_upload(file, target, MAX_ROUTE_FILE_BYTES)
            except OptionError as exc:
                raise HTTPException(413, detail=str(exc)) from None
            route = parse_route_file(target, original)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return _submit(request, route, infra_type, attr, connectivity)

    def _submit(request: Request, route: Any, infra_type: str, attr: list[str] | None,
                connectivity: bool) -> JSONResponse:
        attributes: dict[str, str] = {}
        for item in attr or []:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise OptionError(f"attr={item!r} must be name=value, e.g. track=double.")
            attributes[name.strip()] = value.strip()
        client = request.client.host if request.client else "unknown"
        try:
            job = jobs.submit(route, service.atlas, infra_type=infra_type,
                              attributes=attributes, client=client, connectivity=connectivity)
        except ScreeningBusyError as exc:
            raise HTTPException(429, detail=str(exc)) from None
        return JSONResponse(job.as_dict() | {"status_url": f"/api/screenings/{job.id}"},
                            status_code=202)

    @app.get("/api/screenings/{job_id}", tags=["screening"],
             summary="State of a screening; the files when it is done")
    def api_screening(job_id: str) -> dict[str, Any]:
        job = jobs.get(job_id)
        if job is None:
            raise HTTPException(404, detail=f"no screening {job_id!r} (finished screenings are "
                                             "kept for a while, then deleted).")
        out = job.as_dict()
        out["urls"] = {n: f"/screenings/{job.id}/{quote(n)}" for n in job.files}
        return out

    @app.get("/screenings/{job_id}/{name}", tags=["screening"],
             summary="One output of a finished screening (report, map, GeoJSON, ...)")
    def screening_file(job_id: str, name: str) -> FileResponse:
        path = jobs.file(job_id, name)
        if path is None:
            raise HTTPException(404, detail=f"screening {job_id!r} has no file {name!r}.")
        return FileResponse(path, filename=name if not name.endswith(".html") else None)


def _species_country_api(app: FastAPI, service: AtlasService) -> None:
    """Register the species (list, km in range) and country API."""
    @app.get("/api/species", tags=["species"], summary="Species with a range in the atlas")
    def api_species() -> list[str]:
        return service.species()

    @app.get("/api/species/{species}/km", tags=["species"],
             summary="Km of infrastructure in the species' range by layer, type, class, "
                     "country")
    def api_km(species: str) -> list[dict[str, Any]]:
        from .service import _plain

        table = service.km_in_range(species)
        return [{k: _plain(v) for k, v in row.items()} for row in table.to_dict("records")]

    from .factsheets import (
        HotspotsInBackground,
        country_hotspots,
        hotspot_cells_geojson,
        species_factsheet,
        species_hotspots,
    )

    hotspots = app.state.hotspots = HotspotsInBackground()

    @app.get("/api/species/{species}/factsheet", tags=["species"],
             summary="Cited notes, connectivity (effective mesh size) and crossings")
    def api_factsheet(species: str) -> dict[str, Any]:
        service.species_shape(species)  # 404 for a species the atlas does not have
        return species_factsheet(service, species)

    @app.get("/api/species/{species}/hotspots", tags=["species"],
             summary="Barrier hotspot cells over the species' range (202 while computed)")
    def api_species_hotspots(species: str) -> Response:
        service.species_shape(species)
        analysis = hotspots.get(service)
        if analysis is None:
            return JSONResponse({"status": "computing"}, status_code=202)
        return JSONResponse(species_hotspots(analysis, species))

    @app.get("/api/hotspots/geojson", tags=["layers"],
             summary="Barrier hot and cold spot cells of the atlas (RFC 7946; 202 while "
                     "computed)")
    def api_hotspots_geojson() -> Response:
        analysis = hotspots.get(service)
        if analysis is None:
            return JSONResponse({"status": "computing"}, status_code=202)
        body = service.cached(("hotspots geojson",), lambda: hotspot_cells_geojson(analysis))
        return Response(body, media_type="application/geo+json")

    @app.get("/api/countries", tags=["countries"], summary="Countries of the atlas")
    def api_countries() -> list[dict[str, Any]]:
        return service.countries()

    @app.get("/api/countries/{iso3}", tags=["countries"],
             summary="Species present and km of infrastructure by type in a country")
    def api_country(iso3: str) -> dict[str, Any]:
        return service.country_summary(iso3)

    @app.get("/api/countries/{iso3}/hotspots", tags=["countries"],
             summary="Barrier hotspots in a country and transboundary ones on its borders "
                     "(202 while computed)")
    def api_country_hotspots(iso3: str) -> Response:
        shape = service.country_shape(iso3)
        analysis = hotspots.get(service)
        if analysis is None:
            return JSONResponse({"status": "computing"}, status_code=202)
        return JSONResponse(country_hotspots(analysis, shape, iso3))


def app_from_environment() -> FastAPI:
    """The application for ``$CAMI_ATLAS_SERVE_LOCATION`` (used by ``serve --workers N``)."""
    location = os.environ.get("CAMI_ATLAS_SERVE_LOCATION") or None
    refresh_s = float(os.environ.get("CAMI_ATLAS_SERVE_REFRESH_S") or 10.0)
    accounts = os.environ.get("CAMI_ATLAS_SERVE_ACCOUNTS") or None
    return create_app(location, refresh_s=refresh_s, accounts=accounts)
