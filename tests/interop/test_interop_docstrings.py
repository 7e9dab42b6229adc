"""The numpydoc examples of the interop, QGIS and Red List status modules run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cami_atlas.interop._coerce", "cami_atlas.interop.cog", "cami_atlas.interop.xarray",
           "cami_atlas.interop.movingpandas", "cami_atlas.qgis.project",
           "cami_atlas.hotspots.status"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name.startswith("cami_atlas.interop"):
        pytest.importorskip("xarray")
        pytest.importorskip("movingpandas")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
