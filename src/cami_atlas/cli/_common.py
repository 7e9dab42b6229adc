"""Options shared by several ``cami-atlas`` subcommands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])

class AtlasLocation(click.ParamType):
    """An atlas: a GeoPackage path, or a database address (``postgresql://...``) kept as text.

    Examples
    --------
    >>> AtlasLocation().convert("my_atlas.gpkg", None, None)
    PosixPath('my_atlas.gpkg')
    >>> AtlasLocation().convert("postgresql://atlas@db/cami?schema=atlas", None, None)
    'postgresql://atlas@db/cami?schema=atlas'
    """

    name = "atlas"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Path | str:
        if isinstance(value, Path):
            return value
        text = str(value)
        if text.split("://", 1)[0].lower() in ("postgresql", "postgres"):
            return text
        path = Path(text)
        if path.is_dir():
            self.fail(f"{text} is a folder; give the atlas GeoPackage file (e.g. "
                      f"{path / 'atlas.gpkg'}) or a postgresql:// address.", param, ctx)
        return path


ATLAS_LOCATION = AtlasLocation()

atlas_option = click.option(
    "--atlas", "atlas_path", type=ATLAS_LOCATION, default=None, metavar="FILE|URL",
    help="Atlas GeoPackage or PostGIS address (postgresql://...) (default: the embedded "
         "default atlas).")
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


# -- one name for one thing: shared options and the old spellings ---------------------------
def renamed_option(old: str, new: str, dest: str, *, convert: Callable[[Any], Any] = lambda v: v,
                   is_flag: bool = False, type: Any = None,
                   example: str | None = None) -> Callable[[F], F]:
    """A hidden option ``old`` that still works as the renamed option ``new``.

    The old spelling sets parameter ``dest`` to ``convert(value)`` and prints one line on
    stderr: ``Note: --old is deprecated; use --new (...)``. Giving both is a usage error.
    Apply it below (after) the decorator of ``new``.

    Examples
    --------
    >>> from click.testing import CliRunner
    >>> @click.command()
    ... @click.option("--cell-size-m", type=float, default=1000.0)
    ... @renamed_option("--cell-km", "--cell-size-m", "cell_size_m",
    ...                 convert=lambda km: km * 1000.0, type=float)
    ... def cmd(cell_size_m):
    ...     click.echo(cell_size_m)
    >>> r = CliRunner().invoke(cmd, ["--cell-km", "25"])
    >>> r.stdout, r.stderr
    ('25000.0\\n', 'Note: --cell-km is deprecated; use --cell-size-m 25000.\\n')
    """
    key = "_old_" + old.lstrip("-").replace("-", "_")

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            value = kwargs.pop(key, None)
            if value is None or (is_flag and not value):
                return func(*args, **kwargs)
            ctx = click.get_current_context()
            if ctx.get_parameter_source(dest) is ParameterSource.COMMANDLINE:
                raise click.UsageError(f"{old} and {new} mean the same; give only {new}.",
                                       ctx=ctx)
            kwargs[dest] = convert(value)
            # the command sees (and records) the new spelling
            ctx.params.pop(key, None)
            ctx.params[dest] = kwargs[dest]
            ctx.set_parameter_source(dest, ParameterSource.COMMANDLINE)
            shown = example or (new if is_flag else f"{new} {_fmt_value(kwargs[dest])}")
            click.echo(f"Note: {old} is deprecated; use {shown}.", err=True)
            return func(*args, **kwargs)

        opt = click.option(old, key, is_flag=is_flag, default=None if not is_flag else False,
                           type=type, hidden=True, help=f"Deprecated spelling of {new}.")
        return opt(wrapper)  # type: ignore[return-value]

    return decorator


def _fmt_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def cell_size_option(default_m: float, help: str) -> Callable[[F], F]:
    """``--cell-size-m``: the cell size of a grid in metres (every command that makes a grid).

    Metres, as the resolution of a raster in a projected CRS is given everywhere else
    (``gdalwarp -tr``, rasterio, Circuitscape) and as the library names it
    (``cell_size_m``).
    """
    return click.option("--cell-size-m", type=click.FloatRange(min=0, min_open=True),
                        default=default_m, show_default=True, help=help)


def km_to_m(value: float) -> float:
    """Kilometres of an old ``--cell-km``-style option to metres (a cell size: > 0)."""
    if not float(value) > 0:
        raise click.BadParameter(f"{value:g} is not a cell size; it must be > 0.")
    return float(value) * 1000.0


def basemap_option(func: F) -> F:
    """``--basemap/--no-basemap`` (every command that draws a map), with ``--offline`` as
    the old spelling of ``--no-basemap``."""
    func = renamed_option("--offline", "--no-basemap", "basemap", is_flag=True,
                          convert=lambda _v: False)(func)
    return click.option(
        "--basemap/--no-basemap", default=True, show_default=True,
        help="OpenStreetMap tiles under the interactive map. They are fetched when the map "
             "is opened; with --no-basemap the map makes no network request at all.")(func)


def _check_pdf(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        from ..report.render import check_pdf_support

        check_pdf_support()
    return value


#: ``--pdf``: also write the report as PDF; WeasyPrint and Pango are checked before any work.
pdf_option = click.option(
    "--pdf", is_flag=True, callback=_check_pdf,
    help="Also write the report as PDF (needs WeasyPrint and Pango: "
         "pip install 'cami-atlas[pdf]'); checked before any work.")
