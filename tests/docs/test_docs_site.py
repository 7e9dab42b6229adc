"""The documentation site builds with warnings as errors, and documents every public name.

Builds ``mkdocs.yml`` (``mkdocs build --strict``) into a temporary folder, then checks that
every name of every public module's ``__all__`` has its entry in the API reference, that the
CLI reference lists every command and the completion set-up, and that every notebook is in
the gallery (rendered as stored, not executed).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for dep in ("mkdocs", "mkdocstrings", "mkdocs_jupyter", "mkdocs_click", "material"):
    pytest.importorskip(dep, reason="docs build dependencies: pip install -e '.[docs]'")


def _hooks():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks",
                                                  ROOT / "docs/tools/mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(out / "html")],
        cwd=out, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "WARNING" not in proc.stderr, proc.stderr[-6000:]
    return out / "html"


@pytest.mark.slow
def test_every_public_name_is_in_the_api_reference(site):
    hooks = _hooks()
    ids: dict[str, set[str]] = {}
    for page in (site / "api").glob("*/index.html"):
        ids[page.parent.name] = set(re.findall(r'id="(cami_atlas[\w.]*)"', page.read_text()))
    modules = hooks.public_modules()
    assert "cami_atlas.interop.xarray" in modules and "cami_atlas.connectivity" in modules
    missing = []
    for module, names in modules.items():
        found = ids.get(hooks._page_of(module), set())
        for name in names:
            if f"{module}.{name}" not in found and not any(i.endswith(f".{name}") for i in found):
                missing.append(f"{module}.{name}")
    assert not missing, f"public names without an API entry: {missing}"
    index = (site / "api/index.html").read_text()
    for page in ids:
        assert f'href="{page}/"' in index


@pytest.mark.slow
def test_cli_reference_and_completion(site):
    from cami_atlas.cli import _COMMANDS

    html = (site / "reference/cli/index.html").read_text()
    for command in _COMMANDS:
        assert f"cami-atlas {command}" in html, command
    assert "_CAMI_ATLAS_COMPLETE=bash_source cami-atlas" in html
    assert "--overwrite" in html  # options are rendered, not only the command names


@pytest.mark.slow
def test_notebook_gallery_renders_every_notebook_unexecuted(site):
    gallery = (site / "notebooks/index.html").read_text()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f'href="{nb.stem}/"' in gallery, nb.name
        page = (site / "notebooks" / nb.stem / "index.html").read_text()
        assert "jp-Notebook" in page or "jupyter-wrapper" in page
