"""What the species and country pages say beyond km of infrastructure: cited notes on
behaviour and ecology, fragmentation and connectivity of the range, crossings, and
barrier hotspots (transboundary ones on country pages).

The tables come from the library's own analyses of the served atlas, computed once per
atlas state: :func:`cami_atlas.pipeline.barriers.analyse_atlas` (fragmentation as
effective mesh size, corridor and track crossings; a few seconds on the default atlas)
when the first page asks, and :func:`cami_atlas.hotspots.hotspot_analysis` (Getis-Ord
Gi* on 75 km hexagons, as ``cami-atlas run`` does; about half a minute) in a background
thread, so no page waits for it: the pages fetch ``/api/species/<name>/hotspots`` and
``/api/countries/<ISO3>/hotspots``, which answer 202 until it is ready.

Connectivity of a range is summarised by the effective mesh size (Jaeger 2000):
``m_eff = Σ A_i² / A_total`` over the pieces ``A_i`` left between barrier lines, so
``m_eff / A_total`` is the probability that two points drawn at random in the range lie
in the same piece, i.e. are connected without crossing a barrier to the species. The
page gives it with and without the infrastructure (a range of several parts is not
wholly connected even without any line) and their ratio.

Examples
--------
>>> from cami_atlas.web.service import AtlasService
>>> facts = species_factsheet(AtlasService(), "Saiga_tatarica")
>>> sorted({n["topic"] for n in facts["notes"]}), facts["references"][0]["number"]
(['behaviour', 'ecology', 'key needs'], 1)
>>> 0 < facts["connectivity"]["retained_pct"] < 100
True
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from ..data.factsheets import species_notes

if TYPE_CHECKING:
    from ..hotspots.analysis import HotspotAnalysis
    from .service import AtlasService

__all__ = ["HOTSPOT_CELL_KM", "HotspotsInBackground", "atlas_hotspots", "country_hotspots",
           "hotspot_cells_geojson", "species_factsheet", "species_hotspots",
           "species_page_context"]

#: Cell size (km) of the hotspot grid behind the pages (that of ``cami-atlas run``).
HOTSPOT_CELL_KM = 75.0
_HOT = ("hot spot 95%", "hot spot 99%")
#: How the pages cite the connectivity index.
JAEGER_2000 = ("Jaeger J.A.G. (2000) Landscape division, splitting index, and effective mesh "
               "size: new measures of landscape fragmentation. Landscape Ecology 15: 115-130")


def _barrier_tables(service: AtlasService) -> Any:
    from ..pipeline.barriers import analyse_atlas

    return service.cached(("barrier tables",), lambda: analyse_atlas(service.atlas))


def species_page_context(service: AtlasService, species: str) -> dict[str, Any]:
    """Everything the species page template shows (served pages and the static copy):
    ``species``, the km table (``rows``) and its ``summary`` by layer, type and class,
    the ``sources`` and ``country_names``, and the ``facts`` of :func:`species_factsheet`."""
    table = service.km_in_range(species)
    summary = (table.groupby(["layer", "infra_type", "barrier_class"], as_index=False)
               ["length_km"].sum() if len(table) else table)
    used = {"species_range", "corridor", "country", "infrastructure"}
    return {"species": species, "rows": table.to_dict("records"),
            "summary": summary.to_dict("records"),
            "sources": [rec for rec in service.layers() if rec["kind"] in used],
            "country_names": {c["iso3"]: c["name"] for c in service.countries()},
            "facts": species_factsheet(service, species)}


def species_factsheet(service: AtlasService, species: str) -> dict[str, Any]:
    """The cited notes, connectivity (effective mesh size, CBC) and crossings of one
    species of the served atlas, for its page.

    Returns a dict: ``notes`` (``topic``, ``statement``, ``ref``: the number of its
    reference), ``references`` (``number``, ``citation``, ``url``), ``connectivity``
    (``area_km2``, ``m_eff_km2``, ``m_eff_without_barriers_km2``, ``n_fragments``,
    ``largest_fragment_share``, ``p_connected``, ``p_connected_without_barriers``,
    ``retained_pct``, ``citation``; ``None`` without a range), ``crossings``
    (``corridor`` and ``track``: number of crossing points, ``None`` where the atlas has
    no corridors / tracks).
    """
    notes = species_notes(species)
    refs: dict[tuple[str, str], int] = {}
    items = []
    for row in notes.itertuples(index=False):
        number = refs.setdefault((row.citation, row.url), len(refs) + 1)
        items.append({"topic": row.topic, "statement": row.statement, "ref": number})
    references = [{"number": n, "citation": c, "url": u} for (c, u), n in refs.items()]

    tables = _barrier_tables(service)
    connectivity = None
    frag = tables.fragmentation
    if frag is not None and len(frag):
        row = frag[(frag["species"] == species) & (frag["procedure"] == "CBC")]
        if len(row):
            r = row.iloc[0]
            area, after = float(r["area_km2"]), float(r["m_eff_km2"])
            before = float(r["m_eff_without_barriers_km2"])
            connectivity = {
                "area_km2": area, "m_eff_km2": after, "m_eff_without_barriers_km2": before,
                "n_fragments": int(r["n_fragments"]),
                "largest_fragment_share": float(r["largest_fragment_share"]),
                "p_connected": after / area if area else float("nan"),
                "p_connected_without_barriers": before / area if area else float("nan"),
                "retained_pct": 100.0 * after / before if before else float("nan"),
                "citation": JAEGER_2000}
    crossings: dict[str, int | None] = {"corridor": None, "track": None}
    if tables.corridor_counts is not None:
        c = tables.corridor_counts
        crossings["corridor"] = int(c.loc[c["species"] == species, "n_crossings"].sum())
    if tables.track_events is not None:
        crossings["track"] = int((tables.track_events["species"] == species).sum())
    return {"notes": items, "references": references, "connectivity": connectivity,
            "crossings": crossings}


def atlas_hotspots(atlas: Any) -> HotspotAnalysis:
    """The hotspot analysis behind the pages: Gi* on :data:`HOTSPOT_CELL_KM` hexagons with
    999 permutations, as ``cami-atlas run`` does."""
    from ..hotspots.analysis import hotspot_analysis
    from ..pipeline.hotspots import quiet_islands

    with quiet_islands():
        return hotspot_analysis(atlas, cell_km=HOTSPOT_CELL_KM, permutations=999)


class HotspotsInBackground:
    """The hotspot analysis of the served atlas, computed once per atlas state in a
    daemon thread; :meth:`get` returns it, or ``None`` while it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: Any = None
        self._result: HotspotAnalysis | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()

    def get(self, service: AtlasService, *, wait: bool = False) -> HotspotAnalysis | None:
        """The analysis of the atlas as served now (started if needed); with ``wait``
        block until it is done. Re-raises an error of the analysis."""
        service.atlas  # noqa: B018 -- notice a newly published version first
        stamp = service.stamp
        with self._lock:
            if self._state != stamp:
                self._state, self._result, self._error = stamp, None, None
                self._done = threading.Event()
                atlas, done = service.atlas, self._done
                threading.Thread(target=self._run, args=(atlas, stamp, done),
                                 name="cami-hotspots", daemon=True).start()
            done = self._done
        if wait:
            done.wait()
        with self._lock:
            if self._error is not None:
                raise self._error
            return self._result

    def _run(self, atlas: Any, stamp: Any, done: threading.Event) -> None:
        try:
            result, error = atlas_hotspots(atlas), None
        except BaseException as exc:  # reported to whoever asks
            result, error = None, exc
        with self._lock:
            if self._state == stamp:
                self._result, self._error = result, error
        done.set()


def species_hotspots(analysis: HotspotAnalysis, species: str) -> dict[str, Any]:
    """Barrier hotspot cells over one species' range: ``n_cells``, ``n_hot`` (Gi* hot
    spot at 95 % or 99 %), ``n_hot_99``, ``n_transboundary`` (hot and within the
    analysis' border distance of an international border) and ``borders`` (those
    borders, e.g. ``CHN-KAZ``, with their number of hot cells), ``cell_km``."""
    cells = analysis.cells
    mine = cells["species"].fillna("").str.split("; ").apply(lambda s: species in s)
    hot = mine & cells["gi_class"].isin(_HOT)
    borders: list[dict[str, Any]] = []
    tb = analysis.transboundary
    n_tb = 0
    if tb is not None and len(tb):
        ids = set(cells.loc[hot, "cell_id"])
        near = tb[tb["cell_id"].isin(ids)]
        n_tb = int(near["cell_id"].nunique())
        borders = [{"border": str(b), "n_hot": int(n)} for b, n in
                   near.groupby("border")["cell_id"].nunique().sort_values(
                       ascending=False).items()]
    return {"n_cells": int(mine.sum()), "n_hot": int(hot.sum()),
            "n_hot_99": int((mine & (cells["gi_class"] == "hot spot 99%")).sum()),
            "n_transboundary": n_tb, "borders": borders, "cell_km": HOTSPOT_CELL_KM}


def country_hotspots(analysis: HotspotAnalysis, country: shapely.Geometry,
                     iso3: str) -> dict[str, Any]:
    """Barrier hotspot cells meeting a country (``country``: its EPSG:4326 shape):
    ``n_cells``, ``n_hot``, and the transboundary hot cells on each of its borders
    (``borders``: ``border``, ``n_hot``, ``species`` present in those cells)."""
    cells = analysis.cells.to_crs("EPSG:4326")
    shapely.prepare(country)
    inside = shapely.intersects(country, cells.geometry.values)
    hot = inside & cells["gi_class"].isin(_HOT).to_numpy()
    borders: list[dict[str, Any]] = []
    tb = analysis.transboundary
    if tb is not None and len(tb):
        mine = tb[tb["border"].str.split("-").apply(lambda pair: iso3 in pair)]
        for border, group in mine.groupby("border"):
            names = sorted({s for v in group["species"].fillna("") for s in v.split("; ") if s})
            borders.append({"border": str(border), "n_hot": int(group["cell_id"].nunique()),
                            "species": names})
        borders.sort(key=lambda b: -b["n_hot"])
    return {"n_cells": int(np.sum(inside)), "n_hot": int(np.sum(hot)), "borders": borders,
            "cell_km": HOTSPOT_CELL_KM}



def hotspot_cells_geojson(analysis: HotspotAnalysis | None) -> bytes:
    """The significant cells (Gi* hot and cold spots) as RFC 7946 GeoJSON for the map:
    ``cell_id``, ``gi_class``, ``gi_z``, ``score``, ``infra_km``, ``n_species``,
    ``species`` and ``transboundary``; an empty collection without an analysis."""
    import json

    from ..geojson import to_rfc7946

    if analysis is None:
        return b'{"type":"FeatureCollection","features":[]}'
    cells = analysis.cells
    keep = cells[cells["gi_class"] != "not significant"]
    columns = [c for c in ("cell_id", "gi_class", "gi_z", "score", "infra_km", "n_species",
                           "species", "transboundary") if c in keep.columns]
    doc = to_rfc7946(keep[[*columns, keep.geometry.name]], precision=4)
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()
