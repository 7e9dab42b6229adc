"""``cami-atlas atlas push / pull / versions``: copy an atlas between stores, list versions.

These commands join ``atlas init`` (:mod:`cami_atlas.cli.atlas_cmd`) in the ``atlas``
group; the command line registers the group from here so that all of them load.

An atlas location is a GeoPackage path or a PostGIS address
``postgresql://user@host/database?schema=NAME``.

Examples
--------
::

    cami-atlas atlas push my_atlas.gpkg "postgresql://atlas@db.example.org/cami"
    cami-atlas atlas pull "postgresql://atlas@db.example.org/cami" local.gpkg --history
    cami-atlas atlas versions "postgresql://atlas@db.example.org/cami" --layer railways
"""

from __future__ import annotations

import click

from ..store import Atlas, default_atlas_path
from ..store.copy import pull_atlas, push_atlas
from ._logging import log
from .atlas_cmd import atlas
from .layers import format_table

__all__ = ["atlas", "pull", "push", "versions"]

_LOCATION = click.Path(dir_okay=False)
atlas.help = ("Create an atlas of your own (empty or from the default atlas), copy an atlas "
              "between a GeoPackage file and a PostGIS database, list layer versions.")


@atlas.command("push")
@click.argument("source", type=_LOCATION)
@click.argument("destination", type=_LOCATION)
@click.option("--as", "published_by", default=None,
              help="Who publishes the new versions (default: $CAMI_ATLAS_USER or the login "
                   "name).")
def push(source: str, destination: str, published_by: str | None) -> None:
    """Publish the layers of SOURCE as new versions in the atlas DESTINATION.

    Only layers whose data or provenance differ from DESTINATION's current
    version are published; layers only DESTINATION has are kept. A DESTINATION
    that does not exist is created as a copy of SOURCE.
    """
    report = push_atlas(source, destination, published_by=published_by)
    if report.published:
        log.info(f"published {len(report.published)} layer version(s) to "
                   f"{report.destination}: {', '.join(report.published)}")
    else:
        log.info(f"nothing to publish: {report.destination} already has every layer of "
                   f"{source} as its current version")
    if report.unchanged:
        log.info(f"unchanged: {', '.join(report.unchanged)}")


@atlas.command("pull")
@click.argument("source", type=_LOCATION)
@click.argument("destination", type=_LOCATION)
@click.option("--history", is_flag=True,
              help="Copy every version of every layer, not only the current ones.")
@click.option("--overwrite", is_flag=True, help="Replace an atlas that exists at DESTINATION.")
def pull(source: str, destination: str, history: bool, overwrite: bool) -> None:
    """Make DESTINATION an exact copy of the atlas SOURCE (e.g. a database into a file)."""
    report = pull_atlas(source, destination, history=history, overwrite=overwrite)
    log.info(f"copied {len(report.layers)} layer(s), {report.versions} version(s), to "
               f"{report.destination}")


@atlas.command("versions")
@click.argument("location", type=_LOCATION, required=False)
@click.option("--layer", default=None, help="Only this layer.")
def versions(location: str | None, layer: str | None) -> None:
    """List the versions of the layers of the atlas at LOCATION (default: the embedded one)."""
    opened = Atlas.open(location or default_atlas_path())
    table = opened.layer_versions(layer)
    table["current"] = table["current"].map({True: "yes", False: ""})
    click.echo(format_table(table[["layer", "version", "current", "published_by",
                                   "published_at", "source", "licence"]]))
