"""Every runnable example of the documentation pages still works (so the docs cannot rot).

The examples are run by ``docs/tools/run_examples.py`` (python blocks in one namespace per
page, sh blocks with this environment's ``cami-atlas``, each page in a fresh temporary
folder); a page whose example fails makes this test fail with the runner's report.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").glob("*.md"))


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_doc_examples_run(page):
    proc = subprocess.run([sys.executable, str(ROOT / "docs/tools/run_examples.py"), str(page)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "0 failing example(s)" in proc.stdout
