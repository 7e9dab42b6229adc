"""``cami-atlas atlas init``: start an atlas of one's own, empty or from the default atlas.

Examples
--------
::

    cami-atlas atlas init --from-default my_atlas/       # my_atlas/atlas.gpkg + SOURCES.md
    cami-atlas layers import corridors.gpkg --kind corridor --atlas my_atlas/atlas.gpkg \\
        --licence CC-BY-4.0 --source "Field survey 2024"
    cami-atlas run --atlas my_atlas/atlas.gpkg --out results/

The copy keeps every layer with its provenance (source, licence, attribution, date,
processing); ``run`` on it then performs every analysis its layers allow (corridor
crossings once a corridor layer is added, track crossings once tracks are added).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click

from ..atlas import Atlas
from ..errors import OutputExistsError
from ._logging import log

__all__ = ["DEFAULT_FILE", "atlas", "init_atlas", "init_command"]

#: File name of the atlas that ``atlas init DIR`` writes into DIR.
DEFAULT_FILE = "atlas.gpkg"
#: Provenance files beside the default atlas copied along into DIR.
_PROVENANCE = ("SOURCES.md", "licences")


def _atlas_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"atlas_{name}".rstrip("_")
    return name[:63]


def init_atlas(target: str | Path, *, from_default: bool = False,
               overwrite: bool = False) -> tuple[Path, Atlas]:
    """Create an atlas GeoPackage at ``target`` (a ``.gpkg`` path, or a folder that gets
    ``atlas.gpkg``), empty or as a copy of the embedded default atlas.

    The copy keeps each layer's provenance; into a folder, the default atlas'
    ``SOURCES.md`` and ``licences/`` are copied too. The new atlas is named after the
    file (or the folder). The file is written atomically.

    Raises
    ------
    OutputExistsError
        The atlas file (or a provenance file in the folder) exists and ``overwrite`` is
        false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path, atlas = init_atlas(pathlib.Path(tempfile.mkdtemp()) / "mine", from_default=True)
    >>> path.name, atlas.name, len(atlas) == len(Atlas.default())
    ('atlas.gpkg', 'mine', True)
    """
    from ..store import default_atlas_path

    target = Path(target)
    folder = target.suffix.lower() != ".gpkg"
    path = target / DEFAULT_FILE if folder else target
    name = _atlas_name(target.name if folder else target.stem)
    extra: list[tuple[Path, Path]] = []
    if folder and from_default:
        here = default_atlas_path().parent
        extra = [(here / p, target / p) for p in _PROVENANCE if (here / p).exists()]
    for p in [path, *(dst for _, dst in extra)]:
        if p.exists() and not overwrite:
            raise OutputExistsError(
                f"{p} exists already; pass --overwrite to replace it or choose another "
                "place for the new atlas.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if from_default:
        atlas = Atlas.default()
        atlas.name = name
    else:
        atlas = Atlas(name)
    atlas.save(path, overwrite=overwrite)
    for src, dst in extra:
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    return path, Atlas.open(path)


@click.command("init")
@click.argument("target", type=click.Path(path_type=Path), metavar="DIR_OR_GPKG")
@click.option("--from-default", is_flag=True,
              help="Copy the embedded default atlas (every layer with its provenance) "
                   "instead of starting empty.")
@click.option("--overwrite", is_flag=True, help="Replace an atlas that exists there.")
def init_command(target: Path, from_default: bool, overwrite: bool) -> None:
    """Create a new atlas: DIR_OR_GPKG is a folder (it gets atlas.gpkg, and with
    --from-default the SOURCES.md and licences of the default atlas) or a .gpkg path.

    Then add your own layers with `cami-atlas layers import FILE --kind KIND --atlas
    ATLAS.gpkg` and run every analysis they allow with `cami-atlas run --atlas
    ATLAS.gpkg --out DIR`.
    """
    path, atlas = init_atlas(target, from_default=from_default, overwrite=overwrite)
    what = (f"a copy of the default atlas ({len(atlas)} layers with their provenance)"
            if from_default else "an empty atlas")
    log.info(f"created {path}: {what}, named {atlas.name!r}")
    log.info(f"next: cami-atlas layers import FILE --kind KIND --atlas {path} --licence "
               f"LICENCE; then cami-atlas run --atlas {path} --out DIR")


@click.group("atlas")
def atlas() -> None:
    """Create an atlas of your own (empty or from the default atlas)."""


atlas.add_command(init_command)
