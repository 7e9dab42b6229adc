"""The numpydoc examples of the interop modules run (doctest)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["cami_atlas.interop._coerce", "cami_atlas.interop.cog", "cami_atlas.interop.xarray",
           "cami_atlas.interop.movingpandas"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    pytest.importorskip("xarray")
    pytest.importorskip("movingpandas")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
