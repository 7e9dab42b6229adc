"""Execute every notebook in ``notebooks/`` with nbclient (kernel from this venv's ipykernel).

Each notebook runs top to bottom in a fresh kernel, in a copy (the file is never
rewritten); a cell that raises fails the test with the cell's traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
#: Wall-time budget of one notebook (also the limit of any single cell).
NOTEBOOK_TIMEOUT_S = 600


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    # last cell: report which Python the kernel runs, to check it is this venv's
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    # "python3" is ipykernel's native kernel; jupyter_client starts it with sys.executable
    client = nbclient.NotebookClient(
        nb, timeout=NOTEBOOK_TIMEOUT_S, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}})
    start = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - start
    assert elapsed < NOTEBOOK_TIMEOUT_S, f"{path.name} took {elapsed:.0f} s"
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert printed.strip() == sys.prefix
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
