"""Fixtures of the map tests: small synthetic layers and a headless-Chromium page driver.

The driver starts ``/usr/bin/chromium --headless`` with a fresh profile and speaks the
Chrome DevTools Protocol over a websocket (``websocket-client``): it records uncaught
JavaScript exceptions (``Runtime.exceptionThrown``), console/log errors, every
network request and any JavaScript dialog (``alert``), evaluates expressions in the
page and takes screenshots. Nothing is downloaded.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from cami_atlas.raster import Grid

CHROMIUM = "/usr/bin/chromium"
MALICIOUS = '<script>alert(1)</script><img src=x onerror="window.__xss=1">'


@pytest.fixture
def malicious() -> str:
    """A feature/layer name that would run script if it reached the page unescaped."""
    return MALICIOUS


# -- synthetic layers (named as synthetic: invented shapes in the CAMI region) -------------
@pytest.fixture
def ranges() -> gpd.GeoDataFrame:
    """Two synthetic range polygons in an equal-area CRS (ESRI:102025)."""
    gdf = gpd.GeoDataFrame(
        {"species": ["Saiga_tatarica", "Equus_hemionus"], "season": ["all year", "summer"]},
        geometry=[shapely.box(50, 44, 58, 50), shapely.box(56, 42, 66, 47)], crs="EPSG:4326")
    return gdf.to_crs("ESRI:102025")


@pytest.fixture
def infra() -> gpd.GeoDataFrame:
    """Four synthetic infrastructure lines with barrier classes."""
    return gpd.GeoDataFrame(
        {"infra_type": ["railway", "road", "fence", "pipeline"],
         "status": ["existing", "existing", "existing", "planned"],
         "barrier_class": ["complete barrier", "partial barrier", "complete barrier",
                           "not a barrier"],
         "name": ["Trans-Kazakh line", "A-17", "border fence", "gas line"]},
        geometry=[shapely.LineString([(50, 45), (60, 47), (66, 46)]),
                  shapely.LineString([(52, 42), (55, 49)]),
                  shapely.LineString([(58, 43), (58.5, 48)]),
                  shapely.LineString([(51, 48), (64, 44)])],
        crs="EPSG:4326")


@pytest.fixture
def cells() -> gpd.GeoDataFrame:
    """A synthetic 3 x 2 grid of hotspot cells with a score (one missing)."""
    boxes = [shapely.box(60 + i, 48 + j, 61 + i, 49 + j) for j in range(2) for i in range(3)]
    return gpd.GeoDataFrame({"score": [0.0, 0.2, 0.4, 0.6, 1.0, np.nan],
                             "cell_id": list(range(6))}, geometry=boxes, crs="EPSG:4326")


@pytest.fixture
def points() -> gpd.GeoDataFrame:
    """Synthetic crossing points (two kinds)."""
    xs = np.linspace(52, 64, 12)
    return gpd.GeoDataFrame({"kind": ["road"] * 6 + ["railway"] * 6,
                             "individual": [f"S{i}" for i in range(12)]},
                            geometry=shapely.points(xs, np.full(12, 46.0)), crs="EPSG:4326")


@pytest.fixture
def grid() -> Grid:
    """A synthetic 40 x 60 cost-distance grid in UTM 42N with a NaN corner and an inf cell."""
    values = np.add.outer(np.arange(40.0), np.arange(60.0))
    values[:8, :8] = np.nan
    values[20, 30] = np.inf
    return Grid(values, Affine(5000, 0, 300_000, 0, -5000, 5_300_000), "EPSG:32642",
                name="cost distance")


# -- the browser -------------------------------------------------------------------------------
@dataclass
class PageResult:
    """What happened while a page loaded in headless Chromium."""

    exceptions: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


class Page:
    """One Chromium tab driven over the DevTools protocol."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self._id = 0
        self.result = PageResult()

    def _record(self, msg: dict[str, Any]) -> None:
        method, params = msg.get("method"), msg.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            exc = d.get("exception", {})
            text = exc.get("description") or exc.get("value") or ""
            self.result.exceptions.append(
                f"{d.get('text', '')} {text} (line {d.get('lineNumber')}, "
                f"column {d.get('columnNumber')})".strip())
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.result.console_errors.append(
                " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.result.console_errors.append(params["entry"].get("text", ""))
        elif method == "Network.requestWillBeSent":
            self.result.requests.append(params["request"]["url"])
        elif method == "Page.javascriptDialogOpening":
            self.result.dialogs.append(params.get("message", ""))
            self.send("Page.handleJavaScriptDialog", accept=True, wait=False)

    def send(self, method: str, *, wait: bool = True, **params: Any) -> dict[str, Any]:
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        if not wait:
            return {}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._record(msg)
        raise TimeoutError(f"no answer to {method}")

    def pump(self, seconds: float) -> None:
        """Read events for ``seconds``."""
        self.ws.settimeout(0.1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self._record(json.loads(self.ws.recv()))
            except Exception as exc:  # websocket timeout
                if type(exc).__name__ != "WebSocketTimeoutException":
                    raise
        self.ws.settimeout(15)

    def open(self, path: Path, *, settle_s: float = 1.0, timeout_s: float = 15.0) -> PageResult:
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + timeout_s
        self.ws.settimeout(0.5)
        loaded = False
        while time.monotonic() < deadline and not loaded:
            try:
                msg = json.loads(self.ws.recv())
            except Exception as exc:
                if type(exc).__name__ != "WebSocketTimeoutException":
                    raise
                continue
            self._record(msg)
            loaded = msg.get("method") == "Page.loadEventFired"
        self.ws.settimeout(15)
        if not loaded:
            raise TimeoutError(f"{path} did not finish loading in {timeout_s} s")
        self.pump(settle_s)
        return self.result

    def eval(self, expression: str) -> Any:
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                        awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:60]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


def _chromium_available() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run browser tests")
    try:
        import websocket  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("websocket-client (test extra of pyproject.toml) is missing on CI")
        pytest.skip("websocket-client (test extra) is not installed")


@pytest.fixture
def browser(tmp_path: Path):
    """Start headless Chromium; yields a function that opens a new tab (:class:`Page`)."""
    _chromium_available()
    import websocket

    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", "--disable-default-apps",
         "--hide-scrollbars", "--window-size=1200,800", "--remote-debugging-port=0",
         "--remote-allow-origins=*", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pages: list[Any] = []
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 15
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"Chromium did not start (exit code {proc.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])

        def new_page() -> Page:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank",
                                         method="PUT")
            with urllib.request.urlopen(req, timeout=10) as resp:
                target = json.load(resp)
            ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=15,
                                             suppress_origin=True)
            page = Page(ws)
            pages.append(page)
            page.send("Emulation.setDeviceMetricsOverride", width=1200, height=800,
                      deviceScaleFactor=1, mobile=False)
            return page

        yield new_page
    finally:
        for page in pages:
            page.ws.close()
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)
