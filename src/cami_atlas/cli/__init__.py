"""The ``cami-atlas`` command line.

Each subcommand lives in its own module of this package and is registered in
``_COMMANDS`` by name; modules are imported only when their command runs, so
``cami-atlas --help`` stays fast. Library errors become one line on stderr and
exit code 1; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from .. import __version__
from ..errors import CamiAtlasError

# command name -> "module:attribute" inside cami_atlas.cli
_COMMANDS: dict[str, str] = {
    "atlas": "atlas_store:atlas",
    "barriers": "barriers:barriers",
    "connectivity": "connectivity:connectivity",
    "hotspots": "hotspots:hotspots",
    "layers": "layers:layers",
    "map": "map:map_command",
    "mitigation": "mitigation:mitigation",
    "run": "run:run",
    "scenarios": "scenarios:scenarios",
    "screen-route": "screen_route:screen_route",
    "tracks": "tracks:tracks",
    "users": "users:users",
    "serve": "serve:serve",
    "site": "site:site",
}


class _LazyGroup(click.Group):
    """A click group that imports subcommands on demand and turns errors into one line."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (CamiAtlasError, ImportError) as exc:
            # ImportErrors of optional dependencies carry an install hint; others are bugs
            if (ctx.obj and ctx.obj.get("debug")) or (
                    isinstance(exc, ImportError) and "pip install" not in str(exc)):
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cami-atlas")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
@click.option("-q", "--quiet", is_flag=True,
              help="Only warnings and errors (and a command's results); no progress bars.")
@click.option("-v", "--verbose", is_flag=True,
              help="Also debug messages: step timings, solver choices, files added.")
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool, verbose: bool) -> None:
    """Migration and Linear Infrastructure Atlas (CMS Central Asian Mammals Initiative).

    Run `cami-atlas run --out DIR` for the main job on the embedded default atlas.
    Messages go through Python logging: --quiet shows only warnings and errors,
    --verbose adds debug messages.
    """
    from ._logging import configure

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    configure(quiet=quiet, verbose=verbose)
