"""What the web application serves, without HTTP: layers, map data, species and countries.

:class:`AtlasService` wraps one atlas (any store: a GeoPackage path, a PostGIS
address, or the embedded default atlas) and answers the questions the pages and
the JSON API ask, with caches: the layer catalogue, map GeoJSON simplified for a
zoom level and filtered by species and country, features under a click, km of
infrastructure in a species' range (:func:`cami_atlas.barriers.infrastructure_in_ranges`),
and downloads (GeoPackage, RFC 7946 GeoJSON, CSV, GeoTIFF) with licence and citation.

It notices when the atlas changes under it (a contributor published a layer
version into the shared database): at most every ``refresh_s`` seconds it compares
the stored versions with the ones it serves and re-opens the atlas when they differ.

Examples
--------
>>> service = AtlasService()
>>> [layer["name"] for layer in service.layers()][:3]
['countries', 'borders', 'railways']
>>> "Saiga_tatarica" in service.species()
True
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .. import __version__
from ..errors import LayerNotFoundError, OptionError, UnknownSpeciesError
from ..geojson import to_rfc7946
from ..raster import Grid
from ..store import Atlas, backend_for
from ..store.rasters import grid_to_geotiff

__all__ = ["MAP_COLUMNS", "AtlasService", "citation"]

_LL = "EPSG:4326"
_MAX_ZOOM = 18
#: Columns sent with the map's GeoJSON, for styling (the rest comes from identify).
MAP_COLUMNS = ("infra_type", "status", "species", "barrier_class")
_FORMATS = {"gpkg": "application/geopackage+sqlite3", "geojson": "application/geo+json",
            "csv": "text/csv; charset=utf-8", "tif": "image/tiff"}


def _collection(features: list[bytes], bbox: list[float] | None) -> bytes:
    """A GeoJSON FeatureCollection from serialized features (and the layer's bbox when
    there are any)."""
    head = b'{"type":"FeatureCollection"'
    if features and bbox is not None:
        head += b',"bbox":' + json.dumps(bbox, separators=(",", ":")).encode()
    return head + b',"features":[' + b",".join(features) + b"]}"


def citation(info: dict[str, Any], version: int | None = None) -> str:
    """How to cite one layer: its source or attribution, version, date and licence.

    Examples
    --------
    >>> citation({"name": "rail", "source": "Natural Earth", "attribution": "",
    ...           "date": "2024-01-01", "licence": "public domain"}, 2)
    "Natural Earth. Layer 'rail', version 2 (2024-01-01), CAMI Migration and Linear \
Infrastructure Atlas (cami_atlas 0.1.0). Licence: public domain."
    """
    who = info.get("attribution") or info.get("source") or "unknown source"
    ver = f", version {version}" if version is not None else ""
    date = f" ({info['date']})" if info.get("date") else ""
    return (f"{who}. Layer '{info['name']}'{ver}{date}, CAMI Migration and Linear "
            f"Infrastructure Atlas (cami_atlas {__version__}). Licence: {info.get('licence')}.")


class _LRU:
    """A small thread-safe least-recently-used cache."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any, make: Any) -> Any:
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.data.clear()


class AtlasService:
    """The atlas behind the web application.

    Parameters
    ----------
    location : path or str, optional
        A GeoPackage, a ``postgresql://`` address; default the embedded atlas.
    refresh_s : float, default 10
        How often (at most) to look for newly published layer versions.
    """

    def __init__(self, location: str | os.PathLike[str] | None = None, *,
                 refresh_s: float = 10.0) -> None:
        self.location = None if location is None else (
            str(location) if "://" in str(location) else Path(location))
        self.refresh_s = float(refresh_s)
        self._lock = threading.Lock()
        self._geo = _LRU(256)
        self._km = _LRU(64)
        self._rasters = _LRU(8)
        self._responses = _LRU(1024)
        self._tiles = _LRU(4096)
        self._cog_dir = tempfile.TemporaryDirectory(prefix="cami_atlas_cogs_")
        self._open()

    # -- the atlas and its freshness ------------------------------------------------------
    def _open(self) -> None:
        atlas = Atlas.default() if self.location is None else Atlas.open(self.location)
        self._atlas = atlas
        self._stamp = self._versions_stamp(atlas)
        self._checked = time.monotonic()
        self._geo.clear()
        self._km.clear()
        self._rasters.clear()
        self._responses.clear()
        self._tiles.clear()
        self._frames: dict[str, gpd.GeoDataFrame] = {}

    @staticmethod
    def _versions_stamp(atlas: Atlas) -> tuple[Any, ...]:
        table = atlas.layer_versions()
        cur = table[table["current"]]
        return tuple(zip(cur["layer"], cur["version"], cur["published_at"], strict=True))

    @property
    def atlas(self) -> Atlas:
        """The atlas, re-opened if a new layer version was published since it was read."""
        if time.monotonic() - self._checked >= self.refresh_s:
            with self._lock:
                if time.monotonic() - self._checked >= self.refresh_s:
                    self._checked = time.monotonic()
                    if self._versions_stamp(Atlas.open(self._atlas.location)
                                            if self._atlas.location else self._atlas) \
                            != self._stamp:
                        self._open()
        return self._atlas

    @property
    def stamp(self) -> tuple[Any, ...]:
        """The layer versions served now: (layer, version, published_at) of each."""
        return self._stamp

    def cached(self, key: Any, make: Any) -> Any:
        """``make()`` once per ``key`` and served atlas state (what pages render from:
        a newly published layer version starts afresh); at most 1024 entries, least
        recently used dropped first.

        Examples
        --------
        >>> service = AtlasService()
        >>> service.cached(("page", "/"), lambda: b"<html>")
        b'<html>'
        >>> service.cached(("page", "/"), lambda: b"other")
        b'<html>'
        """
        self.atlas  # noqa: B018 -- re-opens the atlas (new stamp) if a version was published
        return self._responses.get((self._stamp, key), make)

    def publish(self, name: str, data: Path, kind: str, *, source: str, licence: str,
                published_by: str) -> int:
        """Publish ``data`` as a new version of layer ``name`` in the served atlas; return
        the new version number. The store's write lock (GeoPackage) or transaction and
        advisory lock (PostGIS) keep concurrent publications whole: each is a version.

        Raises
        ------
        LayerWriteError
            The served atlas is the embedded (read-only) one.
        """
        from ..errors import LayerWriteError

        if self.location is None:
            raise LayerWriteError("the embedded default atlas is read-only; serve a copy "
                                  "(`cami-atlas atlas init my_atlas.gpkg --from-default`) or "
                                  "a PostGIS atlas to publish contributions.")
        with self._lock:
            atlas = Atlas.open(self.location)
            atlas.add_layer(name, data, kind, source=source, licence=licence, overwrite=True)
            atlas.save(published_by=published_by)
            versions = atlas.layer_versions()
            version = int(versions.loc[(versions["layer"] == name) & versions["current"],
                                       "version"].iloc[0])
            self._open()
        return version

    @property
    def where(self) -> str:
        """Where the atlas is stored, for pages (a password hidden)."""
        atlas = self.atlas
        if self.location is None:
            return "embedded default atlas"
        return backend_for(atlas.location).location if atlas.location else atlas.name

    # -- catalogue ------------------------------------------------------------------------
    def layers(self) -> list[dict[str, Any]]:
        """One record per layer: provenance, current version, citation, storage."""
        atlas = self.atlas
        versions = atlas.layer_versions()
        current = dict(zip(versions.loc[versions["current"], "layer"],
                           versions.loc[versions["current"], "version"], strict=True))
        out = []
        for name in atlas.layer_names():
            info = atlas.layer_info(name)
            rec = {k: info.get(k) for k in ("name", "kind", "geometry_type", "n_features", "crs",
                                            "source", "licence", "attribution", "date",
                                            "processing", "storage")}
            rec["n_features"] = int(rec["n_features"]) if rec["n_features"] is not None else None
            rec["version"] = int(current.get(name, 1))
            rec["citation"] = citation(info, rec["version"])
            out.append(rec)
        return out

    def layer(self, name: str) -> dict[str, Any]:
        """The record of one layer with all its versions."""
        for rec in self.layers():
            if rec["name"] == name:
                table = self.atlas.layer_versions(name)
                rec["versions"] = [{k: (v.item() if hasattr(v, "item") else v)
                                    for k, v in row.items()}
                                   for row in table.to_dict("records")]
                return rec
        self.atlas.kind_of(name)  # raises LayerNotFoundError listing the layers
        raise LayerNotFoundError(name)

    def _frame(self, name: str) -> gpd.GeoDataFrame:
        """Layer ``name`` in EPSG:4326 (cached)."""
        frame = self._frames.get(name)
        if frame is None:
            data = self.atlas.read(name)
            if isinstance(data, Grid):
                raise OptionError(f"layer {name!r} is a raster; it has no features.")
            frame = data.to_crs(_LL) if data.crs is not None and not data.crs.equals(_LL) \
                else data
            frame = frame.reset_index(drop=True)
            self._frames[name] = frame
        return frame

    def species(self) -> list[str]:
        """The species with a range (or corridor) in the atlas, sorted."""
        names: set[str] = set()
        for kind in ("species_range", "corridor"):
            for layer in self.atlas.layer_names(kind):
                names.update(str(s) for s in self._frame(layer)["species"].dropna().unique())
        return sorted(names)

    def countries(self) -> list[dict[str, Any]]:
        """``iso3`` and ``name`` of every country polygon, sorted by name."""
        rows: dict[str, str] = {}
        for layer in self.atlas.layer_names("country"):
            frame = self._frame(layer)
            names = frame["name"] if "name" in frame else frame["iso3"]
            rows.update({str(i): str(n) for i, n in zip(frame["iso3"], names, strict=True)})
        return [{"iso3": k, "name": v} for k, v in sorted(rows.items(), key=lambda kv: kv[1])]

    def _check_species(self, species: str) -> str:
        known = self.species()
        if species not in known:
            raise UnknownSpeciesError(
                f"the atlas has no range of species {species!r}; its species are: "
                f"{', '.join(known)}.")
        return species

    def _check_country(self, iso3: str) -> str:
        known = [c["iso3"] for c in self.countries()]
        if iso3 not in known:
            raise OptionError(f"country={iso3!r} is not in the atlas; use one of the ISO 3166 "
                              f"alpha-3 codes {', '.join(sorted(known))}.")
        return iso3

    def species_shape(self, species: str) -> shapely.Geometry:
        """Union of the range (and corridor polygons) of ``species``, EPSG:4326."""
        self._check_species(species)
        parts = []
        for kind in ("species_range", "corridor"):
            for layer in self.atlas.layer_names(kind):
                frame = self._frame(layer)
                geoms = frame.geometry[frame["species"] == species]
                parts.extend(g for g in geoms if g is not None and
                             g.geom_type in ("Polygon", "MultiPolygon"))
        return shapely.union_all(shapely.make_valid(np.array(parts, dtype=object)))

    def country_shape(self, iso3: str) -> shapely.Geometry:
        """The polygon(s) of country ``iso3``, EPSG:4326."""
        self._check_country(iso3)
        parts = [g for layer in self.atlas.layer_names("country")
                 for g in self._frame(layer).geometry[self._frame(layer)["iso3"] == iso3]]
        return shapely.union_all(shapely.make_valid(np.array(parts, dtype=object)))

    # -- map data -------------------------------------------------------------------------
    def _filtered(self, name: str, species: str | None, country: str | None) -> gpd.GeoDataFrame:
        frame = self._frame(name)
        keep = np.ones(len(frame), dtype=bool)
        if species:
            self._check_species(species)
            if "species" in frame.columns:
                keep &= (frame["species"] == species).to_numpy()
            elif self.atlas.kind_of(name) not in ("country", "border"):
                shape = self.species_shape(species)
                shapely.prepare(shape)
                keep &= shapely.intersects(shape, frame.geometry.values)
        if country:
            shape = self.country_shape(country)
            shapely.prepare(shape)
            if "iso3" in frame.columns:
                keep &= (frame["iso3"] == country).to_numpy()
            else:
                keep &= shapely.intersects(shape, frame.geometry.values)
        return frame[keep]

    def _barrier_classes(self, frame: gpd.GeoDataFrame, species: str) -> np.ndarray:
        """The barrier class of every line of ``frame`` for ``species`` (CAMI matrix;
        ``unknown`` for a species the matrix does not rate)."""
        from ..barriers.classify import classify_barriers
        from ..barriers.species import matrix_species

        target = matrix_species([species]).get(species)
        if target is None:
            return np.full(len(frame), "unknown", dtype=object)
        return classify_barriers(frame, target).to_numpy()

    def geojson(self, name: str, *, zoom: int = 4, species: str | None = None,
                country: str | None = None,
                bbox: tuple[float, float, float, float] | None = None,
                properties: bool = False, as_bytes: bool = False) -> Any:
        """Features of ``name`` for the map at ``zoom``: simplified to half a screen pixel.

        Only geometries, the feature ``id`` (its row in the layer) and the columns
        the map styles by (:data:`MAP_COLUMNS`: ``infra_type`` and ``status`` of
        infrastructure, ``species``, and with ``species`` the ``barrier_class`` of each
        infrastructure line for that species) are sent: :meth:`identify` gives the other
        attributes of what the user clicks. Geometries
        are simplified (topology kept) with a tolerance of half a pixel
        at that zoom (``360 / (256 * 2**zoom) / 2`` degrees) and rounded to the
        decimals that still resolve a pixel; ``bbox`` (west, south, east, north)
        keeps the features that intersect it. Cached per layer, zoom and filter.
        ``properties=True`` sends every attribute (for a static copy of the map,
        where nothing answers :meth:`identify`). ``as_bytes=True`` returns the document
        serialized (UTF-8 JSON), joined from features serialized once per layer, zoom
        and filter: what the map's requests get, fast.
        """
        zoom = int(min(max(int(zoom), 0), _MAX_ZOOM))
        key = (name, zoom, species or "", country or "", bool(properties))

        def make() -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
            frame = self._filtered(name, species, country)
            if species and self.atlas.kind_of(name) == "infrastructure" and len(frame):
                frame = frame.assign(barrier_class=self._barrier_classes(frame, species))
            tolerance = 360.0 / (256 * 2 ** zoom) / 2
            styled = [c for c in frame.columns if c != frame.geometry.name and (
                properties or c in MAP_COLUMNS)]
            simple = gpd.GeoDataFrame(frame[styled], geometry=frame.geometry, crs=frame.crs)
            simple.geometry = shapely.simplify(frame.geometry.values, tolerance,
                                               preserve_topology=True)
            precision = int(min(6, max(2, math.ceil(-math.log10(tolerance)) + 1)))
            doc = to_rfc7946(simple, precision=precision)
            # each feature serialized once: a bounding-box request joins bytes
            encoded = [json.dumps(f, allow_nan=False, separators=(",", ":")).encode()
                       for f in doc["features"]]
            return simple, doc, encoded

        simple, doc, encoded = self._geo.get(key, make)
        if bbox is None:
            return doc if not as_bytes else _collection(encoded, doc.get("bbox"))
        hits = np.sort(simple.sindex.query(shapely.box(*bbox), predicate="intersects"))
        if as_bytes:
            return _collection([encoded[i] for i in hits], doc.get("bbox"))
        features = [doc["features"][i] for i in hits]
        out = {"type": "FeatureCollection", "features": features}
        if features:
            out["bbox"] = doc.get("bbox")
        return out

    def identify(self, lon: float, lat: float, *, zoom: int = 4,
                 layers: list[str] | None = None) -> list[dict[str, Any]]:
        """Features within 5 screen pixels of (``lon``, ``lat``) at ``zoom``, per layer.

        Returns one record per hit: ``layer``, ``kind`` and the feature's
        attributes (``properties``), nearest first within each layer. A raster layer
        named in ``layers`` answers with the ``value`` of its cell under the point.
        """
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise OptionError(f"lon={lon}, lat={lat} is not a point on Earth (lon -180..180, "
                              "lat -90..90).")
        radius = 5 * 360.0 / (256 * 2 ** min(max(int(zoom), 0), _MAX_ZOOM))
        point = shapely.Point(lon, lat)
        hits = []
        names = layers if layers else [n for n in self.atlas.layer_names()
                                       if self.atlas.kind_of(n) != "raster"]
        for name in names:
            if self.atlas.kind_of(name) == "raster":
                value = self._raster_value(name, lon, lat)
                if value is not None:
                    hits.append({"layer": name, "kind": "raster",
                                 "properties": {"value": value}})
                continue
            frame = self._frame(name)
            idx = frame.sindex.query(point.buffer(radius), predicate="intersects")
            if not len(idx):
                continue
            dist = shapely.distance(point, frame.geometry.values[idx])
            for i in idx[np.argsort(dist)][:10]:
                props = frame.drop(columns=frame.geometry.name).iloc[int(i)].to_dict()
                hits.append({"layer": name, "kind": self.atlas.kind_of(name),
                             "properties": {str(k): _plain(v) for k, v in props.items()}})
        return hits

    def _raster_value(self, name: str, lon: float, lat: float) -> float | None:
        """The value of raster ``name`` in the cell under (``lon``, ``lat``), or ``None``
        outside it or where it has no data."""
        from .tiles import cog_value

        return cog_value(self._cog(name)[0], lon, lat)

    def _cog(self, name: str) -> tuple[Path, Any, Any, list[list[float]]]:
        """Raster ``name`` as a Cloud Optimized GeoTIFF (written once per version), its
        colour map and normalisation (as its quick-look), and its lat/lon bounds."""
        from ..report.quicklook import colour_scale, describe_raster
        from .tiles import raster_cog

        def make() -> tuple[Path, Any, Any, list[list[float]]]:
            grid = self.atlas.read(name)
            if not isinstance(grid, Grid):
                raise OptionError(f"layer {name!r} is not a raster; its map data comes from "
                                  f"/api/layers/{name}/geojson.")
            versions = self.atlas.layer_versions(name)
            current = versions.loc[versions["current"], "version"]
            version = int(current.iloc[0]) if len(current) else 1
            path = raster_cog(grid, Path(self._cog_dir.name) / f"{name}_v{version}.tif")
            values = np.asarray(grid.values, dtype="float64")
            finite = values[np.isfinite(values)]
            kind, _ = describe_raster(f"{name}.tif")
            cmap, norm = colour_scale(kind, finite if finite.size else np.array([0.0, 1.0]))
            west, south, east, north = grid.bounds
            if grid.crs is not None and not CRS.from_user_input(grid.crs).equals(_LL):
                from rasterio.warp import transform_bounds

                west, south, east, north = transform_bounds(grid.crs, _LL, west, south, east,
                                                            north, densify_pts=21)
            return path, cmap, norm, [[south, west], [north, east]]

        return self._rasters.get(("cog", self._stamp, name), make)

    def raster_tile(self, name: str, z: int, x: int, y: int) -> bytes:
        """Map tile ``z/x/y`` (Web Mercator, 256 pixels, PNG) of raster layer ``name``,
        cut from its Cloud Optimized GeoTIFF (:mod:`cami_atlas.web.tiles`); transparent
        where the raster has no data. Cached per atlas state.

        Examples
        --------
        >>> png = AtlasService().raster_tile("dem", 4, 11, 5)
        >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
        """
        if not (0 <= int(z) <= _MAX_ZOOM and 0 <= int(x) < 2**z and 0 <= int(y) < 2**z):
            raise OptionError(f"tile {z}/{x}/{y} does not exist: zoom 0-{_MAX_ZOOM}, x and y "
                              f"from 0 to 2**zoom - 1.")
        from .tiles import tile_png, tile_values

        self.atlas  # noqa: B018 -- re-opens the atlas (new stamp) if a version was published
        path, cmap, norm, _ = self._cog(name)
        return self._tiles.get((self._stamp, name, int(z), int(x), int(y)), lambda: tile_png(
            tile_values(path, int(z), int(x), int(y)), cmap, norm))

    def raster_bounds(self, name: str) -> list[list[float]]:
        """[[south, west], [north, east]] of raster layer ``name`` in lat/lon."""
        return self._cog(name)[3]

    def raster_png(self, name: str) -> tuple[bytes, list[list[float]]]:
        """Raster ``name`` as a PNG in Web Mercator and its lat/lon bounds for Leaflet."""
        return self._rasters.get(name, lambda: self._png(name))

    def _png(self, name: str) -> tuple[bytes, list[list[float]]]:
        from .tiles import overlay_png

        _, cmap, norm, _ = self._cog(name)  # raises for a vector layer
        return overlay_png(self.atlas.read(name), cmap, norm)

    # -- analyses -------------------------------------------------------------------------
    def km_in_range(self, species: str) -> pd.DataFrame:
        """Km of infrastructure in the range of ``species`` by layer, type, class, country.

        :func:`cami_atlas.barriers.infrastructure_in_ranges` on each infrastructure
        layer of the atlas (layers may overlap, so they are not summed), with the
        atlas' countries and analysis CRS; cached per species.
        """
        from ..barriers import infrastructure_in_ranges

        self._check_species(species)

        def make() -> pd.DataFrame:
            atlas = self.atlas
            ranges = _one_kind(atlas, "species_range")
            corridors = _one_kind(atlas, "corridor")
            countries = _one_kind(atlas, "country")
            if ranges is None:
                ranges = corridors[corridors.geom_type.isin(["Polygon", "MultiPolygon"])]
            tables = [infrastructure_in_ranges(
                atlas.read(name), ranges, corridors=corridors, countries=countries,
                species=species, analysis_crs=atlas.analysis_crs).assign(layer=name)
                for name in atlas.layer_names("infrastructure")]
            if not tables:
                return pd.DataFrame(columns=["layer", "infra_type", "barrier_class", "country",
                                             "length_km"])
            table = pd.concat(tables, ignore_index=True)
            cols = ["layer", *[c for c in table.columns if c != "layer"]]
            return table[cols].sort_values(["layer", "infra_type", "barrier_class", "country"],
                                           ignore_index=True)

        return self._km.get(species, make).copy()

    def country_summary(self, iso3: str) -> dict[str, Any]:
        """Species with range in country ``iso3`` and km of infrastructure there by type."""
        from ..measure import geodesic_length_km

        shape = self.country_shape(iso3)
        shapely.prepare(shape)
        present = [s for s in self.species() if shapely.intersects(shape, self.species_shape(s))]
        rows = []
        for name in self.atlas.layer_names("infrastructure"):
            frame = self._frame(name)
            idx = frame.sindex.query(shape, predicate="intersects")
            if not len(idx):
                continue
            inside = frame.iloc[idx].copy()
            inside.geometry = shapely.intersection(inside.geometry.values, shape)
            lengths = geodesic_length_km(inside)
            by_type = pd.Series(np.asarray(lengths), index=inside["infra_type"].to_numpy()) \
                .groupby(level=0).sum()
            rows += [{"layer": name, "infra_type": str(t), "length_km": float(v)}
                     for t, v in by_type.items()]
        name = next(c["name"] for c in self.countries() if c["iso3"] == iso3)
        return {"iso3": iso3, "name": name, "species": present, "infrastructure": rows}

    def distribution(self, species: str) -> gpd.GeoDataFrame:
        """The range (∪ corridor polygons) of ``species`` clipped to each country, EPSG:4326.

        One feature per country the range meets: ``species``, ``iso3``, ``country``
        and ``area_km2`` (the clipped part, measured in the atlas' equal-area analysis
        CRS after densifying edges to 0.1 degrees, so edges along parallels keep their
        course). Parts outside every country polygon are left out.
        """
        from ..measure import area_km2

        shape = self.species_shape(species)
        codes, names, geoms = [], [], []
        for layer in self.atlas.layer_names("country"):
            frame = self._frame(layer)
            label = frame["name"] if "name" in frame else frame["iso3"]
            codes += [str(v) for v in frame["iso3"]]
            names += [str(v) for v in label]
            geoms.append(shapely.intersection(shapely.make_valid(frame.geometry.values), shape))
        clipped = np.concatenate(geoms) if geoms else np.array([], dtype=object)
        keep = ~(shapely.is_empty(clipped) | shapely.is_missing(clipped))
        out = gpd.GeoDataFrame({"species": species, "iso3": np.array(codes)[keep],
                                "country": np.array(names)[keep]},
                               geometry=gpd.GeoSeries(clipped[keep], crs=_LL))
        dense = gpd.GeoSeries(shapely.segmentize(out.geometry.values, 0.1), crs=_LL)
        out["area_km2"] = area_km2(dense, crs=self.atlas.analysis_crs).to_numpy()
        return out.sort_values("iso3", ignore_index=True)

    # -- downloads ------------------------------------------------------------------------
    def download_distribution(self, species: str, fmt: str) -> tuple[bytes, str, str]:
        """(bytes, media type, file name) of :meth:`distribution` as gpkg, geojson or csv.

        The provenance is the atlas' species range and country layers: their
        citations and licences go into the GeoJSON member ``cami_atlas`` and the
        GeoPackage's provenance table.
        """
        if fmt not in ("gpkg", "geojson", "csv"):
            raise OptionError(f"format={fmt!r} is not valid for a distribution; use gpkg, "
                              "geojson or csv.")
        data = self.distribution(species)
        used = [rec for rec in self.layers() if rec["kind"] in ("species_range", "corridor",
                                                                   "country")]
        meta = {"name": f"{species.lower()}_by_country", "kind": "species_range",
                "source": "; ".join(f"{r['name']} v{r['version']}: {r['source']}" for r in used),
                "licence": "; ".join(sorted({str(r["licence"]) for r in used})),
                "attribution": "; ".join(r["attribution"] for r in used if r["attribution"]),
                "date": max((str(r["date"]) for r in used), default=""),
                "processing": "range (and corridor polygons) of the species clipped to each "
                              "country polygon; area_km2 in the atlas' equal-area CRS"}
        return self._encode(data, fmt, meta, None, meta["name"])

    def download(self, name: str, fmt: str, version: int | None = None) -> tuple[bytes, str, str]:
        """(bytes, media type, file name) of layer ``name`` as ``fmt``.

        ``gpkg``: a one-layer cami_atlas GeoPackage (its provenance table holds the
        source, licence and attribution); ``geojson``: RFC 7946 with a foreign
        member ``cami_atlas`` holding provenance, licence and citation; ``csv``:
        the attributes and the geometry as WKT in EPSG:4326; ``tif``: the raster's
        lossless GeoTIFF.
        """
        if fmt not in _FORMATS:
            raise OptionError(f"format={fmt!r} is not valid; use one of {', '.join(_FORMATS)}.")
        atlas = self.atlas
        info = atlas.layer_info(name)
        record = self.layer(name)
        ver = int(version) if version is not None else record["version"]
        meta = dict(info)
        for row in record["versions"]:
            if row["version"] == ver:
                meta.update({k: row[k] for k in ("source", "licence", "attribution", "date",
                                                  "processing", "kind")})
        data = atlas.read(name, version=version)
        stem = f"{name}_v{ver}"
        if isinstance(data, Grid):
            if fmt not in ("tif", "gpkg"):
                raise OptionError(f"layer {name!r} is a raster: download it as tif or gpkg.")
            if fmt == "tif":
                return grid_to_geotiff(data), _FORMATS["tif"], f"{stem}.tif"
        elif fmt == "tif":
            raise OptionError(f"layer {name!r} is a vector layer: download it as gpkg, geojson "
                              "or csv.")
        return self._encode(data, fmt, meta, ver, stem)

    def _encode(self, data: gpd.GeoDataFrame | Grid, fmt: str, meta: dict[str, Any],
                ver: int | None, stem: str) -> tuple[bytes, str, str]:
        atlas = self.atlas
        name = meta["name"]
        if fmt == "gpkg":
            one = Atlas(atlas.name, region=atlas.region, analysis_crs=atlas.analysis_crs)
            one.add_layer(name, data, meta["kind"], source=meta["source"],
                          licence=meta["licence"], attribution=meta.get("attribution") or "",
                          date=meta.get("date") or None, processing=meta.get("processing") or "")
            with tempfile.TemporaryDirectory() as tmp:
                path = one.save(Path(tmp) / f"{stem}.gpkg", published_by="cami-atlas serve")
                return Path(path).read_bytes(), _FORMATS["gpkg"], f"{stem}.gpkg"
        if fmt == "geojson":
            doc = to_rfc7946(data)
            doc["cami_atlas"] = {"layer": name, "version": ver,
                                 **{k: meta.get(k) for k in ("kind", "source", "licence",
                                                             "attribution", "date")},
                                 "citation": citation(meta, ver)}
            text = json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
            return text.encode("utf-8"), _FORMATS["geojson"], f"{stem}.geojson"
        ll = data.to_crs(_LL)
        table = pd.DataFrame(ll.drop(columns=ll.geometry.name))
        table["geometry_wkt"] = shapely.to_wkt(ll.geometry.values, rounding_precision=6)
        return table.to_csv(index=False).encode("utf-8"), _FORMATS["csv"], f"{stem}.csv"


def _one_kind(atlas: Atlas, kind: str) -> gpd.GeoDataFrame | None:
    """All layers of ``kind``: one in its stored CRS, several concatenated in EPSG:4326."""
    names = atlas.layer_names(kind)
    if not names:
        return None
    if len(names) == 1:
        return atlas.read(names[0]).assign(layer=names[0])
    return atlas.read_kind(kind, crs=_LL)


def _plain(value: Any) -> Any:
    """A JSON-friendly value (NaN -> None, numpy scalars -> Python)."""
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, str | int | bool):
        return value
    return None if pd.isna(value) else str(value)
