"""``cami-atlas site build``: a static copy of the online atlas for any web server.

Examples
--------
::

    cami-atlas site build public/ [--atlas my_atlas.gpkg] [--species saiga] [--overwrite]
"""

from __future__ import annotations

from pathlib import Path

import click

from ._common import split_multi
from ._logging import log


@click.group("site")
def site() -> None:
    """A static copy of the online atlas (pages, map, downloads) for any web server."""


@site.command("build")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--atlas", "location", default=None,
              help="Atlas GeoPackage or postgresql:// address (default: the embedded atlas).")
@click.option("--species", "species", multiple=True,
              help="Species to write pages for (repeat, or comma-separated; names as in the "
                   "atlas); default: all.")
@click.option("--lang", default="en", show_default=True, type=click.Choice(["en", "ru"]),
              help="Interface language of the pages.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def build(out: Path, location: str | None, species: tuple[str, ...], lang: str,
          overwrite: bool) -> None:
    """Write the static copy of the atlas into the folder OUT."""
    try:
        from ..web.site import build_site
    except ImportError as exc:
        raise ImportError(f"cami-atlas site build needs the web extra ({exc.name} is missing): "
                          "pip install 'cami-atlas[web]'") from None
    chosen = split_multi(species) or None
    written = build_site(out, location, species=chosen, lang=lang, overwrite=overwrite)
    pages = sum(1 for _ in written.rglob("*.html"))
    downloads = sum(1 for _ in (written / "download").iterdir())
    log.info(f"wrote {written}: {pages} pages, {downloads} downloads; put it on any web "
               "server (index.html)")
