"""Read a file as a validated atlas layer: read, map source attributes, set CRS, validate."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
from pyproj import CRS
from pyproj.exceptions import CRSError as PyprojCRSError

from .._options import check_option
from ..errors import CRSError, LayerReadError, OptionError
from ..raster import Grid
from ..schema import KINDS
from ..validate import check_coordinates, check_rename, validate_layer
from .raster import read_raster
from .tracks import read_tracks_csv
from .vector import _existing, _suffix, format_of, read_vector

__all__ = ["MAPPINGS", "detect_mapping", "read_layer"]

#: Values of ``read_layer(mapping=...)``.
MAPPINGS: tuple[str, ...] = ("auto", "none", "iucn", "osm", "natural_earth", "cami2017")

_RASTER_SUFFIXES = (".tif", ".tiff")
_OSM_KEYS = ("highway", "railway", "barrier", "man_made", "waterway", "power")


def _natural_earth() -> Any | None:
    try:
        from ..sources import natural_earth
    except ImportError:
        return None
    return natural_earth


def detect_mapping(gdf: gpd.GeoDataFrame, kind: str) -> str:
    """The source mapping that ``mapping="auto"`` applies to ``gdf`` read as ``kind``.

    In order: Natural Earth (:func:`cami_atlas.sources.natural_earth.looks_like_natural_earth`);
    IUCN (``sci_name``/``binomial`` and ``presence`` columns) for ``species_range``;
    for ``infrastructure`` without an ``infra_type`` column: the 2017 CAMI data
    dictionary (``type_``, ``type1``, ``traffic``, ``bottom_gap``, ``covered``,
    ``buried``, ``trenches``, or ``track`` with ``speed``), then OSM tag columns
    (``highway``, ``railway``, ``barrier``, ``man_made``, ``waterway``, ``power`` or
    ``other_tags``). Otherwise ``"none"``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> g = gpd.GeoDataFrame({"highway": ["trunk"]}, geometry=[LineString([(0, 0), (1, 1)])])
    >>> detect_mapping(g, "infrastructure"), detect_mapping(g, "water")
    ('osm', 'none')
    """
    from ..sources import cami2017, iucn

    lower = {str(c).lower() for c in gdf.columns}
    ne = _natural_earth()
    if ne is not None and ne.looks_like_natural_earth(gdf):
        return "natural_earth"
    if kind == "species_range" and iucn.looks_like_iucn(gdf):
        return "iucn"
    if kind == "infrastructure" and "infra_type" not in lower:
        if cami2017.looks_like_cami2017(gdf):
            return "cami2017"
        if lower & set(_OSM_KEYS) or "other_tags" in lower:
            return "osm"
    return "none"


def _mapper(mapping: str, kind: str, gdf: gpd.GeoDataFrame, where: str) -> Callable[..., Any]:
    if mapping == "iucn":
        from ..sources.iucn import from_iucn
        return from_iucn
    if mapping == "osm":
        from ..sources.osm import map_osm_tags
        return map_osm_tags
    if mapping == "cami2017":
        from ..sources.cami2017 import from_cami2017, infer_infra_type

        def cami(g: gpd.GeoDataFrame, *, infra_type: str | None = None) -> gpd.GeoDataFrame:
            chosen = infra_type or infer_infra_type(g)
            if chosen is None:
                raise OptionError(
                    f"{where}: the 2017 CAMI fields do not tell the infrastructure type; "
                    "pass infra_type='road', 'railroad', 'fence' or 'pipeline'."
                )
            return from_cami2017(g, chosen)
        return cami
    if mapping == "natural_earth":
        ne = _natural_earth()
        if ne is None:
            raise OptionError("mapping='natural_earth' needs cami_atlas.sources.natural_earth, "
                              "which is not available in this installation.")
        return lambda g: ne.map_natural_earth(g, kind)
    return lambda g: g


def _apply_mapping(mapper: Callable[..., Any], gdf: gpd.GeoDataFrame, mapping: str,
                   options: dict[str, Any]) -> gpd.GeoDataFrame:
    params = inspect.signature(mapper).parameters
    accepted = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise OptionError(
            f"option(s) {', '.join(map(repr, unknown))} do not apply to mapping={mapping!r}; "
            f"it accepts: {', '.join(accepted) or 'no options'}."
        )
    return mapper(gdf, **options)


def _parse_crs(crs: Any) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(f"crs={crs!r} is not a CRS ({exc}); give e.g. 'EPSG:4326'.") from None


def _check_crs(gdf: gpd.GeoDataFrame, crs: Any, where: str) -> gpd.GeoDataFrame:
    if crs is None:
        return gdf
    wanted = _parse_crs(crs)
    if gdf.crs is None:
        return gdf.set_crs(wanted)
    if not gdf.crs.equals(wanted, ignore_axis_order=True):
        try:
            check_coordinates(gdf, where)
        except CRSError:
            # the stored CRS is impossible for the coordinates (e.g. UTM metres tagged
            # EPSG:4326): crs= names the CRS they are really in
            warnings.warn(f"{where}: the stored CRS {gdf.crs.to_string()} does not fit the "
                          f"coordinates; using crs={crs!r} instead.", UserWarning,
                          stacklevel=3)
            return gdf.set_crs(wanted, allow_override=True)
        raise CRSError(
            f"{where} is stored in {gdf.crs.to_string()} but crs={crs!r} was given. crs= only "
            "labels files that have no CRS (or whose stored CRS is impossible for the "
            "coordinates); to change the CRS, reproject after reading "
            f"(gdf.to_crs({crs!r})) or drop crs= (--crs on the command line)."
        )
    return gdf


def read_layer(
    path: str | os.PathLike[str],
    kind: str,
    *,
    layer: str | None = None,
    crs: Any = None,
    mapping: str = "auto",
    repair: bool = False,
    rename: Mapping[str, str] | None = None,
    **mapping_options: Any,
) -> gpd.GeoDataFrame | Grid:
    """Read a file as a validated atlas layer of ``kind``.

    Dispatch by extension: vector formats through :func:`read_vector`, ``.osm.pbf``
    through :func:`cami_atlas.sources.osm.read_osm_pbf`, ``.csv`` (kind ``tracks``)
    through :func:`read_tracks_csv`, ``.tif`` / ``.tiff`` (kind ``raster``) through
    :func:`read_raster` (a :class:`~cami_atlas.raster.Grid` is returned). Then the
    source mapping is applied, the CRS checked and the layer validated with
    :func:`cami_atlas.validate.validate_layer`.

    Parameters
    ----------
    path : path-like
        The file.
    kind : str
        Layer kind, one of :data:`cami_atlas.schema.KINDS`.
    layer : str, optional
        Layer inside the file (needed when it holds several).
    crs : CRS-like, optional
        CRS of a file that has none (a CSV, a shapefile without ``.prj``). If the file
        has a CRS and ``crs`` differs, :class:`~cami_atlas.errors.CRSError` is raised:
        reproject after reading instead; except when the stored CRS is impossible for
        the coordinates (UTM metres tagged EPSG:4326, see
        :func:`cami_atlas.validate.check_coordinates`): then ``crs`` replaces it, with a
        ``UserWarning``. For CSV tracks the default is EPSG:4326.
    mapping : {"auto", "none", "iucn", "osm", "natural_earth", "cami2017"}
        Source attribute mapping; ``"auto"`` detects it (see :func:`detect_mapping`).
    repair : bool, default False
        Drop features without geometry and repair invalid ones instead of raising.
    rename : mapping, optional
        ``{column in the file: column of the schema}``, applied right after reading
        (before the source mapping), for files whose attribute names differ from the
        schema; a source column that is not in the file raises
        :class:`~cami_atlas.errors.MissingColumnError` naming the closest one
        (:func:`cami_atlas.validate.check_rename`). Not for rasters.
    **mapping_options
        Options of the mapping function: ``presence``/``origin``/``seasonal`` (iucn),
        ``infra_type`` (cami2017, when the fields do not tell it), ``id_column`` (osm),
        ``species`` (CSV tracks), ``band`` (rasters).

    Returns
    -------
    geopandas.GeoDataFrame or Grid

    Raises
    ------
    LayerReadError, LayerNotFoundError, CRSError, OptionError, SchemaError
        See :func:`read_vector` and :func:`cami_atlas.validate.validate_layer`.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import LineString
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fences.gpkg"
    >>> gpd.GeoDataFrame({"barrier": ["fence"], "height": ["1.5 m"], "osm_id": [42]},
    ...                  geometry=[LineString([(71, 51), (71.1, 51)])],
    ...                  crs="EPSG:4326").to_file(p, layer="fences")
    >>> f = read_layer(p, "infrastructure")
    >>> f[["source_id", "infra_type", "fence_height", "fence_height_m"]].values.tolist()
    [['way/42', 'fence', 'medium', 1.5]]

    Longer than 120 lines only through this documentation of its formats and options;
    the code is about 80 lines (read, map the source's attributes, rename, validate).
    """
    check_option("kind", kind, KINDS)
    check_option("mapping", mapping, MAPPINGS)
    path = _existing(path)
    suffix = _suffix(path)
    where = f"{path}" + (f" layer {layer!r}" if layer else "")

    if kind == "raster" or suffix in _RASTER_SUFFIXES:
        if kind != "raster":
            raise OptionError(f"{path} is a raster; read it with kind='raster' (got {kind!r}).")
        if rename:
            raise OptionError(f"{path} is a raster: it has no columns to rename; leave out "
                              "rename= (--rename / --mapping).")
        extra = [k for k in mapping_options if k != "band"]
        if extra:
            raise OptionError(f"option(s) {extra} do not apply to rasters; only band=.")
        grid = read_raster(path, band=mapping_options.get("band", 1))
        if crs is not None:
            wanted = _parse_crs(crs)
            if grid.crs is None:
                return Grid(grid.values, grid.transform, wanted, grid.nodata, grid.name)
            if not grid.crs.equals(wanted, ignore_axis_order=True):
                raise CRSError(
                    f"{path} is stored in {grid.crs.to_string()} but crs={crs!r} was given; "
                    "reproject with grid.to_crs(...) instead."
                )
        return grid

    if suffix == ".csv":
        if kind != "tracks":
            raise OptionError(
                f"{path}: CSV files are read as GPS tracks (kind='tracks'); got kind={kind!r}. "
                "Convert other tables to a vector format (GeoPackage, GeoJSON) first."
            )
        extra = [k for k in mapping_options if k != "species"]
        if extra or mapping not in ("auto", "none"):
            raise OptionError(f"{path}: CSV tracks take only the option species= and no "
                              f"mapping (got mapping={mapping!r}, options {extra}).")
        tracks = read_tracks_csv(path, crs="EPSG:4326" if crs is None else crs,
                                 species=mapping_options.get("species"), rename=rename)
        return validate_layer(tracks, kind, layer=layer, source=str(path), repair=repair)

    fmt = format_of(path)
    if fmt.startswith("OpenStreetMap") and layer is None:
        if kind != "infrastructure" or mapping not in ("auto", "osm"):
            raise OptionError(
                f"{path}: an OSM file is read as infrastructure with mapping='osm' (got "
                f"kind={kind!r}, mapping={mapping!r}); pass layer=... to read a raw GDAL layer."
            )
        from ..sources.osm import read_osm_pbf

        if mapping_options:
            raise OptionError(f"{path}: OSM files take no mapping options "
                              f"(got {sorted(mapping_options)}).")
        if rename:
            raise OptionError(f"{path}: an OSM file is mapped by its tags; rename= (--rename "
                              "/ --mapping) applies to a raw layer: pass layer=... too.")
        gdf = read_osm_pbf(path)
        gdf = _check_crs(gdf, crs, where)
        return validate_layer(gdf, kind, layer="lines", source=str(path), repair=repair)
    if fmt.startswith("OpenStreetMap"):
        raw = read_vector(path, layer=layer)
        if mapping == "auto":
            mapping = "osm" if kind == "infrastructure" else "none"
    else:
        raw = read_vector(path, layer=layer)
    if rename:
        raw = raw.rename(columns=check_rename(
            rename, [c for c in raw.columns if c != raw.geometry.name], where))
    raw = _check_crs(raw, crs, where)
    if mapping == "auto":
        mapping = detect_mapping(raw, kind)
    if mapping == "none" and mapping_options:
        raise OptionError(f"options {sorted(mapping_options)} need a mapping; with "
                          "mapping='none' none apply.")
    mapper = _mapper(mapping, kind, raw, where)
    mapped = _apply_mapping(mapper, raw, mapping, mapping_options)
    if not isinstance(mapped, gpd.GeoDataFrame):
        raise LayerReadError(f"{where}: mapping {mapping!r} did not return a GeoDataFrame; "
                             "read the file with mapping='none' and map it yourself, and "
                             "report this as a bug.")
    return validate_layer(mapped, kind, layer=layer, source=str(path), repair=repair)
