"""``cami-atlas serve``: the online atlas in a web browser.

Examples
--------
::

    cami-atlas serve                      # the embedded atlas on http://127.0.0.1:8000
    cami-atlas serve --atlas "postgresql://atlas@db/cami?schema=cami" --port 8080
    cami-atlas users add ana --role editor --accounts accounts.sqlite
    cami-atlas serve --atlas my_atlas.gpkg --accounts accounts.sqlite
"""

from __future__ import annotations

import click

from ._logging import log


@click.command("serve")
@click.option("--atlas", "location", default=None,
              help="Atlas GeoPackage or postgresql:// address (default: the embedded atlas).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep 127.0.0.1 behind a reverse proxy.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes (each holds its own caches).")
@click.option("--refresh", "refresh_s", default=10.0, show_default=True,
              type=click.FloatRange(0), help="Seconds between checks for new layer versions.")
@click.option("--accounts", "accounts", default=None, metavar="FILE|URL",
              type=click.Path(dir_okay=False),
              help="Accounts (`cami-atlas users add`): a SQLite file, or a "
                   "postgresql://...?schema=NAME address that several server processes "
                   "share; turns on sign-in, contributions of layer versions and their "
                   "review. Without it the atlas is read-only.")
def serve(location: str | None, host: str, port: int, workers: int, refresh_s: float,
          accounts: str | None) -> None:
    """Serve the atlas: map viewer, species and country pages, downloads, JSON API (/docs)."""
    try:
        import uvicorn

        from ..web.app import create_app
    except ImportError as exc:
        raise ImportError(f"cami-atlas serve needs the web extra ({exc.name} is missing): "
                          "pip install 'cami-atlas[web]'") from None
    app = create_app(location, refresh_s=refresh_s, accounts=accounts)  # errors show first
    log.info(f"serving atlas {app.state.service.atlas.name!r} ({app.state.service.where}) on "
               f"http://{host}:{port}/  (Ctrl+C stops)")
    if workers > 1:
        import os

        os.environ["CAMI_ATLAS_SERVE_LOCATION"] = location or ""
        os.environ["CAMI_ATLAS_SERVE_REFRESH_S"] = str(refresh_s)
        os.environ["CAMI_ATLAS_SERVE_ACCOUNTS"] = accounts or ""
        uvicorn.run("cami_atlas.web.app:app_from_environment", factory=True, host=host,
                    port=port, workers=workers, proxy_headers=True, log_level="info")
    else:
        uvicorn.run(app, host=host, port=port, proxy_headers=True, log_level="info")
