"""``cami-atlas layers``: list, validate and import atlas layers.

Examples
--------
::

    cami-atlas layers list
    cami-atlas layers validate my_roads.gpkg --kind infrastructure
    cami-atlas layers validate dem.tif
    cami-atlas layers import fences.shp --kind infrastructure --atlas my_atlas.gpkg \\
        --source "Ministry survey 2023" --licence "CC-BY-4.0"
    cami-atlas layers import roads.gpkg --kind infrastructure --atlas my_atlas.gpkg \\
        --rename typ=infra_type --mapping columns.csv --licence "CC-BY-4.0"
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pandas as pd

from ..atlas import Atlas, check_atlas_file, is_atlas_file
from ..errors import OutputExistsError, SchemaError
from ..schema import KINDS
from ..validate import CAMI_BBOX, check_coordinates, describe_where
from ._common import ATLAS_LOCATION, atlas_option
from ._logging import log

_WIDTH = 48


def _open_atlas(path: Path | None) -> Atlas:
    return Atlas.default() if path is None else Atlas.open(path)


def _short(text: object, width: int = _WIDTH) -> str:
    text = "" if text is None or (not isinstance(text, str) and pd.isna(text)) else str(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(df: pd.DataFrame, *, width: int = _WIDTH) -> str:
    """A plain, fixed-width text table: text left-aligned, numbers right-aligned.

    Cells longer than ``width`` characters are shortened with an ellipsis.
    """
    cells = df.map(lambda v: _short(v, width))
    numeric = [pd.api.types.is_numeric_dtype(df[c])
               or bool(cells[c].str.fullmatch(r"-?[\d,.]*").all()) for c in df.columns]
    widths = [max([len(str(c)), *cells[c].str.len()]) for c in df.columns]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w)
                 for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rows = [line([str(c) for c in df.columns]), line(["-" * w for w in widths])]
    rows += [line(list(r)) for r in cells.itertuples(index=False)]
    return "\n".join(rows)


@click.group("layers")
def layers() -> None:
    """List, validate and import atlas layers."""


@layers.command("list")
@atlas_option
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True, help="Plain table (long texts shortened) or full CSV.")
def list_cmd(atlas_path: Path | None, fmt: str) -> None:
    """List the layers of an atlas: name, kind, features, CRS, source, licence."""
    atlas = _open_atlas(atlas_path)
    table = atlas.list_layers()[["name", "kind", "n_features", "crs", "source", "licence"]]
    table = table.rename(columns={"n_features": "features"})
    if fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
        return
    click.echo(f"atlas {atlas.name!r} ({atlas.path or 'in memory'}): {len(table)} layers")
    click.echo(format_table(table))


@layers.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(list(KINDS)), default=None,
              help="Layer kind to validate a plain file against (not needed for an atlas or "
                   "a GeoTIFF).")
@click.option("--layer", default=None, help="Layer of a multi-layer file, or one atlas layer.")
@click.option("--crs", default=None, help="CRS of a file that has none, e.g. EPSG:4326.")
def validate_cmd(path: Path, kind: str | None, layer: str | None, crs: str | None) -> None:
    """Validate a layer file against a kind, a raster (GeoTIFF), or every layer of an atlas.

    Coordinates impossible in the file's CRS, or (lat, lon) swapped for the CAMI
    region, are refused with what was probably meant. A raster must be readable, have a
    CRS and values, and declare its nodata value when cells hold a usual nodata marker
    (-9999, -32768, ...). Exit code 0 when everything is valid, 1 (with one line saying
    what is wrong) otherwise.
    """
    if kind == "raster" or (kind is None and path.suffix.lower() in RASTER_SUFFIXES):
        _validate_raster_file(path, crs)
        return
    if kind is None and path.suffix.lower() == ".gpkg":  # a damaged atlas: one line, exit 1
        check_atlas_file(path, full=True)
    if is_atlas_file(path):
        atlas = Atlas.open(path)
        report = atlas.validate()
        if layer is not None:
            atlas.kind_of(layer)  # raises LayerNotFoundError listing the layers
            report = report[report["name"] == layer]
        for row in report.itertuples():
            status = "ok" if row.ok else "FAILED"
            detail = _raster_detail(atlas, row.name) if row.ok and row.kind == "raster" else ""
            click.echo(f"{row.name:<24} {row.kind:<16} {status}{detail}".rstrip())
        bad = report[~report["ok"]]
        if len(bad):
            first = bad.iloc[0]
            raise SchemaError(
                f"{len(bad)} of {len(report)} layer(s) of atlas {path} failed validation; "
                f"first: {first['problem']}")
        click.echo(f"atlas {path}: {len(report)} layer(s) valid")
        return
    if kind is None:
        raise click.UsageError(
            f"{path} is not an atlas; give the kind to validate it against with --kind "
            f"({', '.join(KINDS)}).")
    from ..io import read_layer

    gdf = read_layer(path, kind, layer=layer, crs=crs)
    check_coordinates(gdf, describe_where(layer, str(path)), region_bbox=CAMI_BBOX)
    crs_text = gdf.crs.to_string() if gdf.crs is not None else "no CRS"
    where = f"{path}" + (f" layer {layer!r}" if layer else "")
    click.echo(f"{where}: valid {kind} layer, {len(gdf)} features, {crs_text}")


#: File suffixes ``layers validate`` treats as rasters without ``--kind``.
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc", ".nc")


def _describe_raster(info: dict) -> str:
    unit = {"metre": " m", "degree": "°"}.get(str(info["unit"]), f" {info['unit']}")
    nodata = ("no nodata value" if info["nodata"] is None
              else f"nodata {info['nodata']:g} ({info['nodata_cells']:,} cells)")
    return (f"{info['rows']:,} x {info['cols']:,} cells of {info['cell_size']:g}{unit}, "
            f"{info['crs']}, {nodata}, values {info['min']:g}..{info['max']:g}")


def _raster_detail(atlas: Atlas, name: str) -> str:
    from ..validate import validate_raster

    info = validate_raster(atlas.read(name), f"raster layer {name!r}",
                           region_bbox=atlas.region.bounds)
    return f" {_describe_raster(info)}"


def _validate_raster_file(path: Path, crs: str | None) -> None:
    from ..io import read_raster
    from ..raster import Grid
    from ..validate import validate_raster

    grid = read_raster(path)
    if grid.crs is None and crs is not None:
        grid = Grid(grid.values, grid.transform, crs, grid.nodata, grid.name)
    info = validate_raster(grid, f"raster {path}", region_bbox=CAMI_BBOX)
    click.echo(f"{path}: valid raster, {_describe_raster(info)}")


def _parse_renames(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        src, sep, dst = item.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise click.BadParameter(f"{item!r} is not SRC=DST; e.g. --rename typ=infra_type.",
                                     param_hint="--rename")
        out[src.strip()] = dst.strip()
    return out


def read_column_mapping(path: Path) -> dict[str, str]:
    """Read a column mapping file: CSV rows ``src,dst`` (optional header ``src,dst``) or
    JSON (an object ``{"src": "dst"}`` or a list of ``[src, dst]`` pairs).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
    >>> _ = p.write_text("src,dst\\ntyp,infra_type\\n")
    >>> read_column_mapping(p)
    {'typ': 'infra_type'}
    """
    import csv
    import json

    from ..errors import LayerReadError

    hint = ("write it as CSV rows src,dst (e.g. typ,infra_type) or JSON "
            '{"typ": "infra_type"}')
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LayerReadError(f"could not read the column mapping {path}: {exc}.") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LayerReadError(f"column mapping {path} is not valid JSON ({exc}); "
                                 f"{hint}.") from None
        pairs = list(data.items()) if isinstance(data, dict) else data
    else:
        pairs = [row for row in csv.reader(text.splitlines()) if any(c.strip() for c in row)]
        if pairs and [c.strip().lower() for c in pairs[0]] in (["src", "dst"],
                                                                ["source", "target"]):
            pairs = pairs[1:]
    out: dict[str, str] = {}
    for i, pair in enumerate(pairs if isinstance(pairs, list) else [], start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2 \
                or not all(isinstance(v, str) and v.strip() for v in pair):
            raise LayerReadError(f"column mapping {path}, entry {i} ({pair!r}) is not a "
                                 f"pair src,dst; {hint}.")
        out[pair[0].strip()] = pair[1].strip()
    if not out:
        raise LayerReadError(f"column mapping {path} holds no pairs; {hint}.")
    return out


def _default_name(source: Path, layer: str | None) -> str:
    base = layer or source.name.split(".")[0]
    name = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"layer_{name}".rstrip("_")
    return name[:63]


@layers.command("import")
@click.argument("source_path", metavar="SOURCE",
                type=click.Path(exists=True, path_type=Path))
@click.option("--kind", type=click.Choice(list(KINDS)), required=True, help="Layer kind.")
@click.option("--atlas", "atlas_path", type=ATLAS_LOCATION, metavar="FILE|URL",
              required=True, help="Atlas GeoPackage (created if absent) or PostGIS address to add "
                   "the layer to.")
@click.option("--name", default=None,
              help="Layer name in the atlas (default: from --layer or the file name).")
@click.option("--layer", default=None, help="Layer to read from a multi-layer SOURCE.")
@click.option("--crs", default=None, help="CRS of a SOURCE that has none, e.g. EPSG:4326.")
@click.option("--source", "source_text", default=None,
              help="Where the data come from (default: the file name).")
@click.option("--licence", "--license", "licence", required=True,
              help="Licence of the data, e.g. 'CC-BY-4.0', 'ODbL-1.0', 'public domain'.")
@click.option("--attribution", default="", help="Attribution text the licence asks for.")
@click.option("--date", default=None, help="Date of the data (default: today).")
@click.option("--repair", is_flag=True,
              help="Drop features without geometry and repair invalid geometries.")
@click.option("--rename", "renames", multiple=True, metavar="SRC=DST",
              help="Rename column SRC of SOURCE to the schema's DST before validation "
                   "(repeat), e.g. --rename typ=infra_type.")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Column mapping file: CSV with rows src,dst (a header "
                                 "src,dst is optional) or JSON {\"src\": \"dst\"}; "
                                 "--rename wins over it.")
@click.option("--overwrite", is_flag=True, help="Replace a layer of the same name.")
def import_cmd(source_path: Path, kind: str, atlas_path: Path, name: str | None,
               layer: str | None, crs: str | None, source_text: str | None, licence: str,
               attribution: str, date: str | None, repair: bool, renames: tuple[str, ...],
               mapping_path: Path | None, overwrite: bool) -> None:
    """Validate SOURCE as a layer of KIND and add it to an atlas.

    Nothing is written when validation fails; an existing layer of the same name is
    replaced only with --overwrite. Imports into one atlas from several processes
    at once take turns (a lock file beside the atlas; each waits up to
    $CAMI_ATLAS_LOCK_TIMEOUT_S seconds, default 300) and all their layers land.

    Attribute names that differ from the schema are mapped with --rename SRC=DST or
    --mapping FILE; a SRC that is not in SOURCE is an error naming the closest column.
    """
    rename = {**(read_column_mapping(mapping_path) if mapping_path else {}),
              **_parse_renames(renames)}
    name = name or _default_name(source_path, layer)
    # saving re-reads the atlas under its lock and adds this layer to what is there then
    atlas = Atlas.open(atlas_path, create=True)
    if name in atlas and not overwrite:
        raise OutputExistsError(
            f"atlas {atlas_path} already has a layer {name!r}; pass --overwrite to replace it "
            "or --name to choose another name.")
    if kind == "raster":
        from ..io import read_raster
        from ..raster import Grid

        if rename:
            raise click.UsageError(f"{source_path} is imported as a raster: it has no columns "
                                   "to rename; leave out --rename / --mapping.")
        data = read_raster(source_path)
        if data.crs is None and crs is not None:
            data = Grid(data.values, data.transform, crs, data.nodata, data.name)
        from ..validate import validate_raster

        validate_raster(data, f"raster {source_path}", region_bbox=atlas.region.bounds)
    else:
        from ..errors import MissingColumnError
        from ..io import read_layer

        try:
            data = read_layer(source_path, kind, layer=layer, crs=crs, repair=repair,
                              rename=rename or None)
        except MissingColumnError as exc:
            if "column mapping" in str(exc):
                raise
            raise MissingColumnError(
                f"{exc} If the file names it differently, map it with --rename SRC=DST or "
                "--mapping FILE.") from None
        check_coordinates(data, describe_where(layer, str(source_path)),
                          region_bbox=atlas.region.bounds)
    atlas.add_layer(name, data, kind, source=source_text or source_path.name, licence=licence,
                    attribution=attribution, date=date, overwrite=overwrite, repair=repair,
                    processing=f"imported with cami-atlas layers import from {source_path.name}"
                               + (f" layer {layer}" if layer else ""))
    atlas.save(atlas_path)
    info = atlas.layer_info(name)
    log.info(f"imported {name!r} ({kind}, {info['n_features']} "
               f"{'cells' if kind == 'raster' else 'features'}, {info['crs']}) into {atlas_path}")
