"""Fixtures of the atlas store tests: one atlas location per store backend."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["gpkg", "postgis"])
def atlas_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test atlas goes: a GeoPackage path, then a fresh PostGIS schema."""
    if request.param == "gpkg":
        return tmp_path / "a.gpkg"
    return request.getfixturevalue("postgis_url")
