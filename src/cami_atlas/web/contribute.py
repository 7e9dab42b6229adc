"""Sign-in, contribution and review pages of the served atlas (with ``--accounts``).

* ``GET/POST /login``, ``POST /logout``;
* ``GET/POST /contribute`` (contributors and editors): upload a new version of a layer
  (GeoJSON, GeoPackage, KML, zipped Shapefile; GeoTIFF for rasters). The file is saved
  in a scratch folder under a name the server chooses, checked (size, archive members,
  zip bombs) and validated exactly as ``cami-atlas layers import`` validates (same
  errors); a valid upload is kept in the account store (SQLite or PostgreSQL, so every
  server process sees it) until an editor reviews it, an invalid one is deleted and its
  error shown;
* ``GET /review`` (editors): pending submissions and the audit log;
  ``POST /review/{id}/publish`` publishes the submission as a new version of its layer in
  the served atlas (``published_by`` names the contributor and the editor);
  ``POST /review/{id}/reject``.

Every ``POST`` needs the session's CSRF token (:func:`~cami_atlas.web.accounts.check_csrf`)
and is refused when its ``Origin`` header names another site.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import CamiAtlasError, OptionError, SchemaError
from .accounts import AccountStore, AuthError, Session, check_csrf

__all__ = ["ALLOWED_SUFFIXES", "COOKIE", "MAX_UPLOAD_BYTES", "check_archive", "register",
           "save_upload"]

#: Name of the session cookie.
COOKIE = "cami_session"
#: Cookie of the sign-in form's double-submit CSRF token (there is no session yet).
LOGIN_COOKIE = "cami_login_csrf"
#: Largest upload accepted (bytes).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
#: Largest total uncompressed size of a zip archive, and its largest compression ratio.
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
MAX_ZIP_RATIO = 100
#: Accepted file endings: vector layers, and GeoTIFF for raster layers.
ALLOWED_SUFFIXES = (".geojson", ".json", ".gpkg", ".kml", ".zip", ".tif", ".tiff")


def check_archive(path: Path) -> None:
    """Refuse a zip with members outside it, too large once unpacked, or a zip bomb.

    Raises
    ------
    SchemaError
        With what is wrong; nothing is unpacked (the layer is read through GDAL's
        ``/vsizip/``).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise SchemaError(f"the upload is not a readable zip archive ({exc}).") from None
    total = 0
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts or ":" in info.filename:
            raise SchemaError(f"the archive member {info.filename!r} points outside the "
                              "archive; pack the shapefile's files at the top of the zip.")
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
            raise SchemaError(f"the archive member {info.filename!r} unpacks to "
                              f"{info.file_size:,} bytes from {info.compress_size:,}: refused "
                              "as a possible zip bomb.")
    if total > MAX_UNZIPPED_BYTES:
        raise SchemaError(f"the archive unpacks to {total:,} bytes; the limit is "
                          f"{MAX_UNZIPPED_BYTES:,}.")


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin.rstrip("/") != str(request.base_url).rstrip("/"):
        raise AuthError(f"a form of another site ({origin}) cannot change this atlas.")


def register(app: FastAPI, service: Any, accounts: AccountStore,
             page: Callable[..., HTMLResponse]) -> None:
    """Add the sign-in, contribution and review routes to ``app``."""

    def current(request: Request) -> Session | None:
        return accounts.session(request.cookies.get(COOKIE))

    def client(request: Request) -> str | None:
        return request.client.host if request.client else None

    def need(request: Request, role: str, csrf: str | None = None, *, post: bool = True
             ) -> Session:
        session = current(request)
        if session is None:
            raise HTTPException(401, detail="sign in first (/login).")
        if not session.allows(role):
            raise HTTPException(403, detail=f"this needs the {role} role; you are "
                                            f"{session.role}.")
        if post:
            try:
                _same_origin(request)
                check_csrf(session, csrf)
            except AuthError as exc:
                raise HTTPException(403, detail=str(exc)) from None
        return session

    def login_form(request: Request, error: str | None = None, status: int = 200
                   ) -> HTMLResponse:
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
        resp = page(request, "login.html", error=error, login_csrf=token)
        resp.status_code = status
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=3600)
        return resp

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request) -> HTMLResponse:
        return login_form(request)

    @app.post("/login", include_in_schema=False)
    def login(request: Request, name: str = Form(...), password: str = Form(...),
              login_csrf: str = Form("")) -> Response:
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not secrets.compare_digest(cookie, login_csrf):
            raise HTTPException(403, detail="the sign-in form's security token is missing or "
                                            "stale; reload the page.")
        try:
            _same_origin(request)
            token = accounts.sign_in(name, password, client=client(request))
        except AuthError as exc:
            return login_form(request, str(exc), 401)
        resp = RedirectResponse("/contribute", status_code=303)
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=12 * 3600)
        return resp

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        need(request, "contributor", csrf_token)
        accounts.sign_out(request.cookies.get(COOKIE, ""), client=client(request))
        resp = RedirectResponse("/", status_code=303)
        resp.delete_cookie(COOKIE)
        return resp

    def contribute_page(request: Request, session: Session, *, error: str | None = None,
                        done: int | None = None, status: int = 200) -> HTMLResponse:
        layers = service.layers()
        mine = [s for s in accounts.submissions() if s["submitted_by"] == session.user]
        resp = page(request, "contribute.html", error=error, done=done, layers=layers,
                    submissions=mine, allowed=", ".join(ALLOWED_SUFFIXES))
        resp.status_code = status
        return resp

    @app.get("/contribute", response_class=HTMLResponse, include_in_schema=False)
    def contribute_form(request: Request, done: int | None = None) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        if not session.allows("contributor"):
            raise HTTPException(403, detail="this needs the contributor role.")
        return contribute_page(request, session, done=done)

    @app.post("/contribute", include_in_schema=False)
    async def contribute(request: Request, layer: str = Form(...), source: str = Form(...),
                         licence: str = Form(...), note: str = Form(""),
                         csrf_token: str = Form(""),
                         file: UploadFile = File(...)) -> Response:  # noqa: B008
        session = need(request, "contributor", csrf_token)
        try:
            sub_id = await _store_upload(service, accounts, session, file, layer=layer,
                                         source=source, licence=licence, note=note,
                                         client=client(request))
        except (CamiAtlasError, OSError) as exc:
            return contribute_page(request, session, error=str(exc), status=400)
        return RedirectResponse(f"/contribute?done={sub_id}", status_code=303)

    @app.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review_page(request: Request) -> Response:
        session = current(request)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        need(request, "editor", post=False)
        return page(request, "review.html", pending=accounts.submissions("pending"),
                    done=[s for s in accounts.submissions() if s["status"] != "pending"],
                    audit=accounts.audit(200))

    @app.post("/review/{sub_id}/publish", include_in_schema=False)
    def publish(request: Request, sub_id: int, csrf_token: str = Form("")) -> Response:
        session = need(request, "editor", csrf_token)
        sub = accounts.submission(sub_id)
        if sub["status"] != "pending":
            raise HTTPException(409, detail=f"submission {sub_id} is {sub['status']} already.")
        with tempfile.TemporaryDirectory(prefix="cami_publish_") as folder:
            version = service.publish(sub["layer"], accounts.submission_file(sub_id, folder),
                                      sub["kind"], source=sub["source"],
                                      licence=sub["licence"],
                                      published_by=f"{sub['submitted_by']} (reviewed by "
                                                   f"{session.user})")
        accounts.review(sub_id, status="published", user=session.user,
                        client=client(request), version=version)
        return RedirectResponse("/review", status_code=303)

    @app.post("/review/{sub_id}/reject", include_in_schema=False)
    def reject(request: Request, sub_id: int, csrf_token: str = Form("")) -> Response:
        session = need(request, "editor", csrf_token)
        accounts.review(sub_id, status="rejected", user=session.user, client=client(request))
        return RedirectResponse("/review", status_code=303)


async def save_upload(file: UploadFile, target: Path, max_bytes: int, *, hint: str = ""
                      ) -> int:
    """Stream ``file`` to ``target`` (a name the server chose); return its size.

    Raises
    ------
    OptionError
        The file is larger than ``max_bytes`` (what was written is left for the caller
        to delete).
    """
    size = 0
    with open(target, "wb") as fh:
        while chunk := await file.read(1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise OptionError(f"{file.filename or 'the upload'!r} is larger than "
                                  f"{max_bytes:,} bytes{hint}.")
            fh.write(chunk)
    return size


async def _store_upload(service: Any, accounts: AccountStore, session: Session,
                        file: UploadFile, *, layer: str, source: str, licence: str, note: str,
                        client: str | None) -> int:
    """Check, store and validate one upload; return the submission id (see the module)."""
    from ..atlas import Atlas

    if not source.strip() or not licence.strip():
        raise OptionError("give the source of the data and its licence (both required, as "
                          "for `cami-atlas layers import`).")
    try:
        kind = service.atlas.kind_of(layer)
    except CamiAtlasError:
        raise OptionError(f"the atlas has no layer {layer!r}; contributions are new versions "
                          f"of its layers: {', '.join(service.atlas.layer_names())}.") from None
    original = file.filename or "upload"
    suffix = Path(original).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise OptionError(f"{original!r}: files ending {suffix or '(nothing)'} are not "
                          f"accepted; upload one of {', '.join(ALLOWED_SUFFIXES)}.")
    if (kind == "raster") != (suffix in (".tif", ".tiff")):
        raise OptionError(f"layer {layer!r} is a {kind} layer; upload "
                          f"{'a GeoTIFF' if kind == 'raster' else 'vector data'}.")
    folder = Path(tempfile.mkdtemp(prefix="cami_upload_"))
    target = folder / f"{secrets.token_hex(16)}{suffix}"  # never the client's name
    try:
        size = await save_upload(file, target, MAX_UPLOAD_BYTES,
                                 hint="; simplify it or ask an editor to import it")
        if size == 0:
            raise OptionError(f"{original!r} is empty.")
        if suffix == ".zip":
            check_archive(target)
        check = Atlas("upload check")
        check.add_layer(layer, target, kind, source=source.strip(), licence=licence.strip())
        data = check.read(layer)
        n = None if kind == "raster" else len(data)
        # the validated file is kept in the account store until an editor reviews it
        return accounts.add_submission(layer=layer, kind=kind, file=target, filename=original,
                                       source=source.strip(), licence=licence.strip(),
                                       note=note.strip(), n_features=n, user=session.user,
                                       client=client)
    except CamiAtlasError as exc:
        text = exc.args[0] if exc.args else str(exc)  # name the user's file, not ours
        text = str(text).replace(str(target), original).replace(target.name, original)
        raise SchemaError(text) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
