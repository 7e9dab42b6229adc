"""OpenStreetMap: read ``.osm.pbf`` files and map OSM tags onto the atlas infrastructure schema.

:func:`read_osm_pbf` reads the ``lines`` layer of a ``.osm.pbf`` file with GDAL's OSM
driver (through pyogrio) using the ``osmconf.ini`` shipped in ``cami_atlas/data``: the
tags mapped below are real columns, and closed ways stay lines unless they are
buildings or ``area=yes`` (a fence drawn round a field is a fence line, not a
polygon). :func:`map_osm_tags` does the mapping on any GeoDataFrame of OSM tags (a
pbf ``lines`` layer, an Overpass export, the Astana sample of the default atlas).
Only ways are mapped; relations (e.g. route relations) would count ways twice.

Tag tables (the mapping is a vectorised lookup in these tables; a value not listed
leaves the attribute empty, nothing is guessed):

``highway`` -> ``infra_type="road"``, ``road_class`` (:data:`ROAD_CLASSES`)

============================================================  ==============
OSM ``highway``                                                ``road_class``
============================================================  ==============
motorway, motorway_link, trunk, trunk_link                     highway
primary, primary_link, secondary, secondary_link               major road
tertiary, tertiary_link, unclassified, residential, service,   local road
track, living_street
road (classification unknown)                                  (empty)
============================================================  ==============

Pedestrian-only ways (:data:`PEDESTRIAN_HIGHWAYS`: footway, path, cycleway, steps,
pedestrian, bridleway, corridor) are not infrastructure barriers and are excluded,
as is every other ``highway`` value (platform, elevator, bus_stop, raceway, ...).
``highway=construction`` / ``highway=proposed`` are roads with status "under
construction" / "proposed" (OSM's ``proposed`` does not say a plan was approved, so
it is not "planned") when their ``construction=`` / ``proposed=`` tag is one of
the classes above (the class is taken from that tag); otherwise excluded.

``road_surface`` from ``surface`` (:data:`PAVED_SURFACES`, :data:`UNPAVED_SURFACES`):
paved = paved, asphalt, chipseal, concrete, concrete:lanes, concrete:plates,
paving_stones, sett, cobblestone, unhewn_cobblestone, bricks, metal, wood;
unpaved = unpaved, compacted, fine_gravel, gravel, pebblestone, rock, ground, dirt,
earth, grass, mud, sand, salt, clay, snow, ice, woodchips, shells. A multi-value tag
(``paved;cobblestone``) is used only when all its values agree. Untagged or other
values (grass_paver, stepping_stones, ...) stay empty. ``traffic`` is never derived.

``railway`` -> ``infra_type="railway"``

=========================================================================  ====================
OSM ``railway``                                                            ``status``
=========================================================================  ====================
rail, narrow_gauge, light_rail, subway, tram, monorail, funicular, preserved  existing
construction (``construction=`` absent or one of those)                    under construction
proposed (``proposed=`` absent or one of those)                            proposed
abandoned, disused, razed, platform, station, ... (all other values)       excluded
=========================================================================  ====================

with ``usage`` and ``electrified`` copied, ``track`` from ``tracks`` (1 -> single
track, >= 2 -> double track) and ``train_speed`` = "high speed train" only where
``highspeed=yes`` (otherwise empty).

``barrier=fence`` or ``barrier=wall`` -> ``infra_type="fence"``, ``fence_type``
(:data:`FENCE_TYPES`): barrier=wall -> wall; fence_type chain_link -> chain link,
barbed_wire -> tight barbed wire, metal / metal_bars -> metal panel, every other
fence_type (wood, electric, split_rail, ...) empty. ``fence_height_m`` from
``height`` ("1.5", "1.5 m", "150 cm", "1500 mm", "5 ft"; other forms empty) and
``fence_height`` = low [<1m] below 1 m, medium from 1 to 2 m, high [>2m] above 2 m.
Other barriers (hedge, kerb, retaining_wall, guard_rail, bollard, ...) are excluded.

``man_made=pipeline`` -> ``pipeline`` with ``pipeline_buried`` from ``location``
(underground -> yes; overground, overhead -> no; other or untagged empty).
``waterway=canal`` -> ``canal``. ``power=line`` -> ``power_line`` (``minor_line``
excluded). Every kept feature has ``status`` (existing unless stated above),
``name``, ``source_id`` (``way/<id>``) and ``source_class`` (the raw tag, e.g.
``highway=motorway_link``). A way carrying two mapped tags (a street with
``railway=tram``) gives one feature per infrastructure type.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString
>>> ways = gpd.GeoDataFrame(
...     {"osm_id": ["1", "2", "3"], "highway": ["trunk", "footway", None],
...      "surface": ["asphalt", None, None], "barrier": [None, None, "fence"],
...      "height": [None, None, "150 cm"]},
...     geometry=[LineString([(0, 0), (1, 0)])] * 3, crs="EPSG:4326")
>>> out = map_osm_tags(ways)
>>> out[["source_id", "infra_type", "road_class", "road_surface", "fence_height"]].values.tolist()
[['way/1', 'road', 'highway', 'paved', None], ['way/3', 'fence', None, None, 'medium']]
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from ..errors import LayerReadError
from ..validate import validate_layer

__all__ = [
    "FENCE_TYPES",
    "INFRA_COLUMNS",
    "PAVED_SURFACES",
    "PEDESTRIAN_HIGHWAYS",
    "RAILWAY_EXISTING",
    "ROAD_CLASSES",
    "UNPAVED_SURFACES",
    "fence_height_class",
    "map_osm_tags",
    "osm_config",
    "osm_config_path",
    "parse_height_m",
    "read_osm_pbf",
]

#: OSM ``highway`` value -> atlas ``road_class`` (``None``: a road of unknown class).
ROAD_CLASSES: dict[str, str | None] = {
    "motorway": "highway",
    "motorway_link": "highway",
    "trunk": "highway",
    "trunk_link": "highway",
    "primary": "major road",
    "primary_link": "major road",
    "secondary": "major road",
    "secondary_link": "major road",
    "tertiary": "local road",
    "tertiary_link": "local road",
    "unclassified": "local road",
    "residential": "local road",
    "service": "local road",
    "track": "local road",
    "living_street": "local road",
    "road": None,
}

#: Pedestrian-only ``highway`` values: not infrastructure barriers, excluded.
PEDESTRIAN_HIGHWAYS: tuple[str, ...] = (
    "footway", "path", "cycleway", "steps", "pedestrian", "bridleway", "corridor",
)

#: ``surface`` values read as paved.
PAVED_SURFACES: tuple[str, ...] = (
    "paved", "asphalt", "chipseal", "concrete", "concrete:lanes", "concrete:plates",
    "paving_stones", "sett", "cobblestone", "unhewn_cobblestone", "bricks", "metal", "wood",
)
#: ``surface`` values read as unpaved.
UNPAVED_SURFACES: tuple[str, ...] = (
    "unpaved", "compacted", "fine_gravel", "gravel", "pebblestone", "rock", "ground", "dirt",
    "earth", "grass", "mud", "sand", "salt", "clay", "snow", "ice", "woodchips", "shells",
)

#: ``railway`` values of railways in use.
RAILWAY_EXISTING: tuple[str, ...] = (
    "rail", "narrow_gauge", "light_rail", "subway", "tram", "monorail", "funicular", "preserved",
)

#: OSM ``fence_type`` -> atlas ``fence_type`` (``barrier=wall`` is always "wall").
FENCE_TYPES: dict[str, str] = {
    "chain_link": "chain link",
    "barbed_wire": "tight barbed wire",
    "metal": "metal panel",
    "metal_bars": "metal panel",
}

#: Columns of a mapped infrastructure layer, in order (plus ``geometry``).
INFRA_COLUMNS: tuple[str, ...] = (
    "infra_type", "status", "name", "source_id", "source_class",
    "road_class", "road_surface", "traffic",
    "track", "train_speed", "usage", "electrified",
    "fence_type", "fence_height", "fence_height_m", "fence_bottom_gap", "fence_covered",
    "pipeline_buried", "pipeline_trenches",
)

_TAGS = (
    "highway", "railway", "barrier", "man_made", "waterway", "power", "surface", "tracks",
    "highspeed", "usage", "electrified", "fence_type", "height", "location", "construction",
    "proposed", "name",
)
_ID_COLUMNS = ("osm_way_id", "osm_id", "@id", "id")
_UNITS_M = {"": 1.0, "m": 1.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "'": 0.3048}
_HEIGHT_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(m|cm|mm|ft|')?\s*$", re.IGNORECASE)


# -- GDAL configuration ------------------------------------------------------------------
def osm_config_path() -> Path:
    """Path of the ``osmconf.ini`` shipped with cami_atlas.

    Examples
    --------
    >>> osm_config_path().name
    'osmconf.ini'
    """
    return Path(str(resources.files("cami_atlas").joinpath("data", "osmconf.ini")))


@contextlib.contextmanager
def osm_config(path: str | os.PathLike[str] | None = None) -> Iterator[Path]:
    """Set GDAL's ``OSM_CONFIG_FILE`` for the duration of a block, then restore it.

    Parameters
    ----------
    path : path-like, optional
        An ``osmconf.ini``; default: the one shipped with cami_atlas.

    Examples
    --------
    >>> import pyogrio
    >>> with osm_config() as conf:
    ...     pyogrio.get_gdal_config_option("OSM_CONFIG_FILE") == str(conf)
    True
    """
    conf = Path(path) if path is not None else osm_config_path()
    previous = pyogrio.get_gdal_config_option("OSM_CONFIG_FILE")
    pyogrio.set_gdal_config_options({"OSM_CONFIG_FILE": str(conf)})
    try:
        yield conf
    finally:
        pyogrio.set_gdal_config_options({"OSM_CONFIG_FILE": previous})


# -- attribute parsers ---------------------------------------------------------------------
def parse_height_m(values: pd.Series) -> pd.Series:
    """Parse OSM ``height`` values to metres (float, ``NaN`` where not parseable).

    Accepted: a number (metres, the OSM default), a number with ``m``, ``cm``, ``mm``,
    ``ft`` or ``'``; a decimal comma is read as a point.

    Examples
    --------
    >>> parse_height_m(pd.Series(["1.5", "1.5 m", "150 cm", "2,5", "tall", None])).tolist()
    [1.5, 1.5, 1.5, 2.5, nan, nan]
    """
    text = values.astype(object).where(values.notna(), "").astype(str)
    parts = text.str.extract(_HEIGHT_RE)
    number = pd.to_numeric(parts[0].str.replace(",", ".", regex=False), errors="coerce")
    factor = parts[1].fillna("").str.lower().map(_UNITS_M)
    return (number * factor).astype("float64").rename(values.name)


def fence_height_class(height_m: pd.Series) -> pd.Series:
    """The 2017 CAMI fence height class of heights in metres.

    ``low [<1m]`` below 1 m, ``medium`` from 1 to 2 m (inclusive), ``high [>2m]`` above
    2 m, ``None`` where the height is unknown.

    Examples
    --------
    >>> fence_height_class(pd.Series([0.5, 1.0, 2.0, 2.5, float("nan")])).tolist()
    ['low [<1m]', 'medium', 'medium', 'high [>2m]', None]
    """
    h = pd.to_numeric(height_m, errors="coerce").to_numpy(dtype="float64")
    out = np.select([h < 1.0, h <= 2.0, h > 2.0], ["low [<1m]", "medium", "high [>2m]"],
                    default="")
    res = pd.Series(out, index=height_m.index, dtype=object)
    return res.where(res != "", None)


def _surface_class(surface: pd.Series) -> pd.Series:
    codes = {**{v: 0 for v in PAVED_SURFACES}, **{v: 1 for v in UNPAVED_SURFACES}}
    parts = surface.dropna().astype(str).str.split(";").explode().str.strip().str.lower()
    if parts.empty:
        return pd.Series(None, index=surface.index, dtype=object)
    mapped = parts.map(codes)
    grouped = mapped.groupby(level=0)
    agree = (grouped.count() == grouped.size()) & (grouped.min() == grouped.max())
    value = grouped.min()[agree].map({0: "paved", 1: "unpaved"})
    return value.reindex(surface.index).astype(object).where(lambda s: s.notna(), None)


# -- mapping ---------------------------------------------------------------------------
def _tag_frame(gdf: pd.DataFrame) -> pd.DataFrame:
    """The tags of ``_TAGS`` as object columns (``None`` when absent), from columns or hstore."""
    lower = {str(c).lower(): c for c in gdf.columns}
    other = gdf[lower["other_tags"]] if "other_tags" in lower else None
    cols = {}
    for tag in _TAGS:
        if tag in lower:
            s = gdf[lower[tag]]
        elif other is not None:
            pattern = r'(?:^|,)\s*"' + re.escape(tag) + r'"=>"((?:[^"\\]|\\.)*)"'
            s = other.astype(object).where(other.notna(), "").astype(str).str.extract(
                pattern, expand=False)
        else:
            s = pd.Series(None, index=gdf.index, dtype=object)
        s = s.astype(object)
        cols[tag] = s.where(s.notna(), None)
    return pd.DataFrame(cols, index=gdf.index)


def _source_ids(gdf: pd.DataFrame, id_column: str | None) -> pd.Series:
    if id_column is None:
        lower = {str(c).lower(): c for c in gdf.columns}
        id_column = next((lower[c] for c in _ID_COLUMNS if c in lower), None)
    if id_column is None:
        return pd.Series(None, index=gdf.index, dtype=object)
    raw = gdf[id_column]
    text = raw.astype(object).where(raw.notna(), "").astype(str)
    text = text.str.replace(r"\.0$", "", regex=True)
    has_prefix = text.str.contains("/", regex=False)
    ids = text.where(has_prefix, "way/" + text)
    return ids.where(raw.notna(), None).astype(object)


def map_osm_tags(gdf: gpd.GeoDataFrame, *, id_column: str | None = None) -> gpd.GeoDataFrame:
    """Map a GeoDataFrame of OSM ways (tags as columns) onto the atlas infrastructure schema.

    The tag tables are in the module documentation. Tags may be columns (``highway``,
    ``surface``, ...) or, for files read with GDAL's default configuration, entries of
    an ``other_tags`` hstore column. Features that match no table are dropped.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        OSM ways with their tags; not changed.
    id_column : str, optional
        Column holding the way id (default: the first of ``osm_way_id``, ``osm_id``,
        ``@id``, ``id``). Ids become ``source_id`` = ``way/<id>``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per way and infrastructure type, in the order of the input, with the
        columns of :data:`INFRA_COLUMNS`, a new ``RangeIndex`` (``source_id`` links
        back to the way) and the CRS of ``gdf``. Not yet validated (see
        :func:`cami_atlas.validate.validate_layer`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> ways = gpd.GeoDataFrame(
    ...     {"osm_way_id": [10, 11], "railway": ["rail", "abandoned"], "tracks": ["2", "1"],
    ...      "highspeed": ["yes", None]},
    ...     geometry=[LineString([(0, 0), (1, 0)])] * 2, crs="EPSG:4326")
    >>> map_osm_tags(ways)[["source_id", "status", "track", "train_speed"]].values.tolist()
    [['way/10', 'existing', 'double track', 'high speed train']]

    Longer than 120 lines because it is the tag table itself: one vectorised rule per
    OSM key (highway, railway, barrier, man_made/pipeline, ...), each a few lines;
    splitting it would scatter the table a reader compares with the OSM wiki.
    """
    tags = _tag_frame(gdf)
    ids = _source_ids(gdf, id_column)
    n = len(gdf)
    pos = np.arange(n)
    none = pd.Series([None] * n, index=gdf.index, dtype=object)
    parts: list[pd.DataFrame] = []

    def add(mask: pd.Series, order: int, **cols: pd.Series | str) -> None:
        mask = mask.fillna(False).astype(bool).to_numpy()
        if not mask.any():
            return
        frame = pd.DataFrame({"_pos": pos[mask], "_order": order})
        for name in INFRA_COLUMNS:
            value = cols.get(name, none)
            frame[name] = (value[mask].to_numpy() if isinstance(value, pd.Series)
                           else value)
        parts.append(frame)

    def raw_tag(key: str, value: pd.Series) -> pd.Series:
        return (key + "=" + value.astype(str)).where(value.notna(), None)

    # roads
    hw = tags["highway"]
    lifecycle = hw.isin(["construction", "proposed"])
    road_key = hw.where(~lifecycle, tags["construction"].where(hw == "construction",
                                                                tags["proposed"]))
    is_road = road_key.isin(list(ROAD_CLASSES)) & ~road_key.isin(PEDESTRIAN_HIGHWAYS)
    road_status = pd.Series(np.select([hw == "construction", hw == "proposed"],
                                      ["under construction", "proposed"], "existing"),
                            index=gdf.index, dtype=object)
    add(is_road, 0, infra_type="road", status=road_status,
        road_class=road_key.map(ROAD_CLASSES).astype(object),
        road_surface=_surface_class(tags["surface"]), source_class=raw_tag("highway", hw))

    # railways
    rw = tags["railway"]
    existing = rw.isin(RAILWAY_EXISTING)
    in_construction = (rw == "construction") & (
        tags["construction"].isna() | tags["construction"].isin(RAILWAY_EXISTING))
    proposed = (rw == "proposed") & (
        tags["proposed"].isna() | tags["proposed"].isin(RAILWAY_EXISTING))
    rail_status = pd.Series(np.select([in_construction, proposed], ["under construction",
                                                                     "proposed"], "existing"),
                            index=gdf.index, dtype=object)
    n_tracks = pd.to_numeric(tags["tracks"], errors="coerce")
    track = pd.Series(np.select([n_tracks == 1, n_tracks >= 2], ["single track",
                                                                  "double track"], ""),
                      index=gdf.index, dtype=object)
    speed = pd.Series(np.where(tags["highspeed"].astype(str).str.lower() == "yes",
                               "high speed train", None), index=gdf.index, dtype=object)
    add(existing | in_construction | proposed, 1, infra_type="railway", status=rail_status,
        track=track.where(track != "", None), train_speed=speed, usage=tags["usage"],
        electrified=tags["electrified"], source_class=raw_tag("railway", rw))

    # fences and walls
    barrier = tags["barrier"]
    fence_type = tags["fence_type"].map(FENCE_TYPES).astype(object)
    fence_type = fence_type.where(barrier != "wall", "wall")
    fence_type = fence_type.where(fence_type.notna(), None)
    height_m = parse_height_m(tags["height"])
    add(barrier.isin(["fence", "wall"]), 2, infra_type="fence", status="existing",
        fence_type=fence_type, fence_height_m=height_m, fence_height=fence_height_class(height_m),
        source_class=raw_tag("barrier", barrier))

    # pipelines
    mm = tags["man_made"]
    buried = tags["location"].map({"underground": "yes", "overground": "no",
                                   "overhead": "no"}).astype(object)
    add(mm == "pipeline", 3, infra_type="pipeline", status="existing",
        pipeline_buried=buried.where(buried.notna(), None),
        source_class=raw_tag("man_made", mm))

    # canals, power lines
    ww = tags["waterway"]
    add(ww == "canal", 4, infra_type="canal", status="existing",
        source_class=raw_tag("waterway", ww))
    pw = tags["power"]
    add(pw == "line", 5, infra_type="power_line", status="existing",
        source_class=raw_tag("power", pw))

    if parts:
        table = pd.concat(parts, ignore_index=True).sort_values(
            ["_pos", "_order"], kind="stable")
    else:
        table = pd.DataFrame({"_pos": pd.Series([], dtype="int64"),
                              **{c: pd.Series([], dtype=object) for c in INFRA_COLUMNS}})
    rows = table["_pos"].to_numpy(dtype="int64")
    table["name"] = tags["name"].to_numpy()[rows]
    table["source_id"] = ids.to_numpy()[rows]
    table["fence_height_m"] = pd.to_numeric(table["fence_height_m"]).astype("float64")
    data = table[list(INFRA_COLUMNS)].reset_index(drop=True)
    for col in INFRA_COLUMNS:
        if col != "fence_height_m":
            data[col] = data[col].astype(object).where(data[col].notna(), None)
    geometry = gpd.GeoSeries(gdf.geometry.to_numpy()[rows], crs=gdf.crs)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=gdf.crs)


def read_osm_pbf(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read the linear infrastructure of an OpenStreetMap ``.osm.pbf`` file.

    Reads the ``lines`` layer (ways) with GDAL's OSM driver and the shipped
    ``osmconf.ini`` (see :func:`osm_config`), maps the tags with :func:`map_osm_tags`
    and validates the result as an ``infrastructure`` layer (EPSG:4326). Ways with
    fewer than two of their nodes inside the file (cut by the extract) are dropped by
    GDAL; closed ways tagged ``area=yes`` or ``building`` are areas, not lines.

    Parameters
    ----------
    path : path-like
        A ``.osm.pbf`` (or ``.osm`` XML) file.

    Returns
    -------
    geopandas.GeoDataFrame
        Validated infrastructure layer.

    Raises
    ------
    LayerReadError
        The file is missing or GDAL cannot read it.
    EmptyLayerError
        No way in the file maps to infrastructure.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> osm = pathlib.Path(tempfile.mkdtemp()) / "tiny.osm"
    >>> _ = osm.write_text(
    ...     '<osm version="0.6"><node id="1" lat="51.0" lon="71.0"/>'
    ...     '<node id="2" lat="51.0" lon="71.1"/><way id="7"><nd ref="1"/><nd ref="2"/>'
    ...     '<tag k="railway" v="rail"/><tag k="tracks" v="2"/></way></osm>')
    >>> read_osm_pbf(osm)[["source_id", "infra_type", "track"]].values.tolist()
    [['way/7', 'railway', 'double track']]
    """
    path = Path(path)
    if not path.exists():
        raise LayerReadError(f"OSM file {path} does not exist; check the path.")
    try:
        with osm_config():
            raw = pyogrio.read_dataframe(path, layer="lines")
    except (RuntimeError, OSError, ValueError) as exc:
        raise LayerReadError(
            f"could not read OSM file {path} with GDAL's OSM driver: {exc}. Check that it "
            "is a complete .osm.pbf (re-download it if it was truncated)."
        ) from exc
    mapped = map_osm_tags(raw)
    return validate_layer(mapped, "infrastructure", layer="lines", source=str(path))
