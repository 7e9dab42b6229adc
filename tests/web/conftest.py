"""Fixtures of the web application tests: a real uvicorn server on a free localhost port,
and the headless-Chromium driver of the map tests (tests/maps/conftest.py)."""

from __future__ import annotations

import importlib.util
import math
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the web extra (FastAPI) is not installed")


# the Chromium driver of the map tests, loaded from its file (tests are not a package)
_spec = importlib.util.spec_from_file_location(
    "_cami_maps_conftest", Path(__file__).resolve().parents[1] / "maps" / "conftest.py")
_maps = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _maps  # dataclasses look their module up there
_spec.loader.exec_module(_maps)
browser = _maps.browser

@pytest.fixture
def live_server():
    """Start ``cami-atlas serve``'s application on a free 127.0.0.1 port; yields a starter."""
    import uvicorn

    from cami_atlas.web.app import create_app

    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(location=None, **options) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        config = uvicorn.Config(create_app(location, **options), host="127.0.0.1", port=port,
                                log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the web application did not start")
            time.sleep(0.05)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def pixel_centres():
    """A function (z, x, y) -> (lon, lat) arrays of the 256 x 256 pixel centres of a Web
    Mercator tile, computed by hand (spherical Mercator formulas)."""
    from cami_atlas.web.tiles import mercator_tile_bounds

    def centres(z: int, x: int, y: int, size: int = 256):
        west, _, east, north = mercator_tile_bounds(z, x, y)
        step = (east - west) / size
        mx = west + (np.arange(size) + 0.5) * step
        my = north - (np.arange(size) + 0.5) * step
        lon = np.degrees(mx / 6378137.0)
        lat = np.degrees(2 * np.arctan(np.exp(my / 6378137.0)) - math.pi / 2)
        return np.meshgrid(lon, lat)

    return centres
