"""Load benchmark of the served atlas: concurrent readers of map tiles and pages while
route screenings run.

Starts ``cami-atlas serve`` on the embedded default atlas on 127.0.0.1 (a free port;
traffic never leaves the machine), waits until it answers, then runs for a bounded
time (``--seconds``, default 60) and a bounded number of requests (``--max-requests``):

* ``--readers`` (default 50) concurrent clients, each looping over a shuffled mix of
  **tile** requests (``/api/layers/{layer}/geojson?zoom=z&bbox=...`` with the bounds of a
  Web Mercator tile ``z/x/y`` over the region at zooms 4-7, for railways, roads, species
  ranges and countries, which is what the map viewer asks for while panning) and
  **page** requests (home page, species pages, country pages);
* ``--screenings`` (default 2) clients that each submit a route screening
  (``POST /api/screenings``, a synthetic straight railway across the Kazakh steppe,
  named as such) and poll it until it is done, then start the next one.

Reports per category the count, errors (any status other than 200/202, or a transport
error), and p50 / p95 / p99 / max latency in milliseconds; the completed screenings and
their mean duration; with ``--markdown`` a table for ``benchmarks/RESULTS.md``.

Aims (issue 13): no errors; p95 of map tiles under 200 ms and of pages under 500 ms on
2 cores.

Usage::

    .venv/bin/python benchmarks/bench_serve.py --markdown
    .venv/bin/python benchmarks/bench_serve.py --readers 10 --seconds 15   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx
import numpy as np

REGION = (44.0, 23.0, 125.0, 56.0)  # lon/lat bounds of the CAMI region
TILE_LAYERS = ("railways", "roads", "species_ranges", "countries")
SPECIES = ("Equus_hemionus", "Procapra_gutturosa", "Saiga_tatarica", "Panthera_uncia")
COUNTRIES = ("KAZ", "MNG", "CHN", "UZB")
# SYNTHETIC route for the screening load: a straight line across the Kazakh steppe
ROUTE = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "properties": {"name": "synthetic benchmark route"},
    "geometry": {"type": "LineString", "coordinates": [[66.0, 47.0], [69.0, 48.5]]}}]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 2.0**z

    def lat(yy: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * yy / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def tile_urls() -> list[str]:
    """GeoJSON requests for every Web Mercator tile over the region at zooms 4-7."""
    urls = []
    for z in range(4, 8):
        n = 2**z
        x0 = int((REGION[0] + 180) / 360 * n)
        x1 = int((REGION[2] + 180) / 360 * n)
        y0 = int((1 - math.asinh(math.tan(math.radians(REGION[3]))) / math.pi) / 2 * n)
        y1 = int((1 - math.asinh(math.tan(math.radians(REGION[1]))) / math.pi) / 2 * n)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                bbox = ",".join(f"{v:.6f}" for v in _tile_bounds(z, x, y))
                for layer in TILE_LAYERS:
                    urls.append(f"/api/layers/{layer}/geojson?zoom={z}&bbox={bbox}")
    return urls


def page_urls() -> list[str]:
    return (["/"] + [f"/species/{s}" for s in SPECIES]
            + [f"/country/{c}" for c in COUNTRIES])


class Recorder:
    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {"tile": [], "page": [], "screening poll": []}
        self.errors: dict[str, list[str]] = {k: [] for k in self.times}
        self.screenings: list[float] = []
        self.requests = 0

    def add(self, kind: str, ms: float, error: str | None) -> None:
        self.requests += 1
        self.times[kind].append(ms)
        if error:
            self.errors[kind].append(error)


async def _get(client: aiohttp.ClientSession, rec: Recorder, kind: str, url: str) -> None:
    t = time.perf_counter()
    err = None
    try:
        async with client.get(url) as r:
            await r.read()
            if r.status != 200:
                err = f"{r.status} {url}"
    except aiohttp.ClientError as exc:
        err = f"{type(exc).__name__} {url}"
    rec.add(kind, (time.perf_counter() - t) * 1000, err)


async def reader(client: aiohttp.ClientSession, rec: Recorder, stop: float, limit: int,
                 seed: int) -> None:
    rng = random.Random(seed)
    tiles, pages = tile_urls(), page_urls()
    while time.perf_counter() < stop and rec.requests < limit:
        if rng.random() < 0.8:
            await _get(client, rec, "tile", rng.choice(tiles))
        else:
            await _get(client, rec, "page", rng.choice(pages))


async def screener(client: aiohttp.ClientSession, rec: Recorder, stop: float) -> None:
    body = json.dumps(ROUTE).encode()
    while time.perf_counter() < stop:
        t = time.perf_counter()
        async with client.post("/api/screenings?infra_type=railway", data=body,
                               headers={"content-type": "application/geo+json"}) as r:
            status, text = r.status, await r.text()
        if status == 429:  # the per-client limit: wait for a slot
            await asyncio.sleep(0.5)
            continue
        if status != 202:
            rec.errors["screening poll"].append(f"submit {status}: {text[:200]}")
            return
        url = json.loads(text)["status_url"]
        while time.perf_counter() < stop + 300:
            await asyncio.sleep(0.5)
            t1 = time.perf_counter()
            async with client.get(url) as s:
                code, doc = s.status, (await s.json() if s.status == 200 else {})
            rec.add("screening poll", (time.perf_counter() - t1) * 1000,
                    None if code == 200 else f"{code} {url}")
            state = doc.get("status", "failed")
            if state in ("done", "failed"):
                if state == "done":
                    rec.screenings.append(time.perf_counter() - t)
                else:
                    rec.errors["screening poll"].append(f"screening failed: {doc}")
                break


async def run_load(base: str, readers: int, screenings: int, seconds: float,
                   limit: int) -> Recorder:
    rec = Recorder()
    connector = aiohttp.TCPConnector(limit=readers + screenings + 4)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url=base, connector=connector,
                                     timeout=timeout) as client:
        stop = time.perf_counter() + seconds
        tasks = [reader(client, rec, stop, limit, i) for i in range(readers)]
        tasks += [screener(client, rec, stop) for _ in range(screenings)]
        await asyncio.gather(*tasks)
    return rec


def summary(rec: Recorder) -> list[dict]:
    rows = []
    for kind, ms in rec.times.items():
        if not ms:
            continue
        a = np.asarray(ms)
        rows.append({"kind": kind, "n": len(a), "errors": len(rec.errors[kind]),
                     "p50_ms": float(np.percentile(a, 50)),
                     "p95_ms": float(np.percentile(a, 95)),
                     "p99_ms": float(np.percentile(a, 99)), "max_ms": float(a.max())})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readers", type=int, default=50)
    ap.add_argument("--screenings", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-requests", type=int, default=50_000)
    ap.add_argument("--warmup", type=int, default=1, help="passes over the pages first")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    port = _free_port()
    exe = Path(sys.executable).with_name("cami-atlas")
    server = subprocess.Popen([str(exe), "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(base + "/api/species", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit("the server did not start: "
                                 + server.stderr.read().decode()[-2000:])
            time.sleep(0.5)
        # warm-up: the first request of each page/layer fills the server's caches
        with httpx.Client(base_url=base, timeout=120) as c:
            for _ in range(a.warmup):
                for url in page_urls():
                    c.get(url)
                for layer in TILE_LAYERS:  # the map data of every zoom, simplified once
                    for zoom in range(4, 8):
                        c.get(f"/api/layers/{layer}/geojson?zoom={zoom}")
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        rec = asyncio.run(run_load(base, a.readers, a.screenings, a.seconds, a.max_requests))
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()[0]
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    rows = summary(rec)
    head = (f"{a.readers} readers, {a.screenings} screening clients, {wall:.0f} s, "
            f"{rec.requests} requests ({rec.requests / wall:.0f}/s); "
            f"{len(rec.screenings)} screenings done"
            + (f" (mean {np.mean(rec.screenings):.1f} s each)" if rec.screenings else "")
            + f"; {platform.machine()}, {os.cpu_count()} CPU(s), Python "
            f"{platform.python_version()}; load average {load0:.1f} before / {load1:.1f} after")
    if a.markdown:
        print(head + "\n")
        print("| requests | n | errors | p50 ms | p95 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['kind']} | {r['n']} | {r['errors']} | {r['p50_ms']:.0f} "
                  f"| {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} |")
    else:
        print(head)
        print(json.dumps(rows, indent=1))
    for kind, errs in rec.errors.items():
        for e in errs[:5]:
            print(f"error ({kind}): {e}", file=sys.stderr)


if __name__ == "__main__":
    main()
