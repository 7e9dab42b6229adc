"""Options shared by several ``cami-atlas`` subcommands."""

from __future__ import annotations

from pathlib import Path

import click

atlas_option = click.option(
    "--atlas", "atlas_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Atlas GeoPackage (default: the embedded default atlas).")
out_option = click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Output folder (created if missing).")
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that exist already.")
species_option = click.option(
    "--species", "species", multiple=True,
    help="Species to analyse (repeat, or comma-separated); default: all in the atlas.")


def split_multi(values: tuple[str, ...]) -> list[str]:
    """Flatten repeated and comma-separated option values."""
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out



def max_memory_callback(_ctx: click.Context, param: click.Parameter,
                        value: str | None) -> int | None:
    """Parse ``--max-memory`` (e.g. ``4GiB``) to bytes; a bad size is a usage error."""
    from .._memory import parse_memory
    from ..errors import OptionError

    try:
        return parse_memory(value)
    except OptionError:
        raise click.BadParameter(
            f"{value!r} is not a memory size; give a number with a unit, e.g. 4GiB, 512MiB "
            "or 8GB.", param=param) from None
