"""The house plan of docs/architecture.md, checked against the imports of src/cami_atlas.

Every ``from .x import y`` / ``from cami_atlas.x import y`` of every module is read with
``ast`` (imports under ``if TYPE_CHECKING:`` are type hints and do not count) and mapped to
the top-level unit it comes from (``barriers``, ``report``, ``measure``, ...). The floors
below are those of the page; a unit not listed fails the test, so a new folder is placed on
a floor deliberately.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "cami_atlas"

#: floor of each top-level unit (docs/architecture.md, "The house in one picture").
FLOORS: dict[str, int] = {
    # 0 ground
    "__init__": 0, "errors": 0, "schema": 0, "_options": 0, "_atomic": 0, "_memory": 0,
    "_progress": 0, "_deprecation": 0,
    "measure": 0, "raster": 0, "validate": 0, "data": 0,
    # 1 io
    "io": 1, "sources": 1, "geojson": 1, "interop": 1,
    # 2 store
    "store": 2, "atlas": 2,
    # 3 analyses
    "barriers": 3, "connectivity": 3, "hotspots": 3, "screening": 3, "movement": 3,
    "planning": 3,
    # 4 renderers
    "report": 4, "maps": 4, "figures": 4, "qgis": 4,
    # 5 jobs
    "pipeline": 5,
    # 6 faces
    "cli": 6, "web": 6,
}
#: Imports that break the rules on purpose, by (file, imported unit), with the reason
#: (docs/architecture.md, "Exceptions"). Each goes when its deprecation period ends.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("raster.py", "interop"): "Grid.to_xarray / Grid.from_xarray are two-line facades importing "
                              "the converter lazily; the conversion lives in interop/xarray.py",
    ("screening/compare.py", "report"): "deprecated RouteComparison.map() forwards to "
                                        "report.screening.comparison_map",
    ("figures.py", "barriers"): "deprecated fallback when no classify= is handed in "
                                "(figures.matrix_classifier)",
    ("maps/overview.py", "barriers"): "deprecated fallback when no classify=/resolve= is "
                                      "handed in",
}
ANALYSES = {u for u, f in FLOORS.items() if f == 3}
RENDERERS = {u for u, f in FLOORS.items() if f == 4}


def _unit(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def _imports() -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(importing unit, imported unit, 'file:line', names) for every package-internal import."""
    edges = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        hints = _type_checking_lines(tree)
        pkg = path.relative_to(SRC.parent).parts[:-1]  # ('cami_atlas', 'barriers', ...)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.lineno in hints:
                continue
            if node.level:
                base = list(pkg[: len(pkg) - node.level + 1])
                target = [*base, *(node.module.split(".") if node.module else [])]
                if len(target) == 1:  # "from .. import x": x is the unit
                    names = [a.name for a in node.names]
                    targets = [["cami_atlas", n if (SRC / n).is_dir() or (SRC / f"{n}.py").is_file()
                                else "__init__"] for n in names]
                else:
                    targets = [target]
            elif node.module and node.module.split(".")[0] == "cami_atlas":
                targets = [node.module.split(".")]
            else:
                continue
            for t in targets:
                if len(t) < 2:
                    continue
                src, dst = _unit(path), t[1]
                if src != dst:
                    edges.append((src, dst, f"{path.relative_to(SRC)}:{node.lineno}",
                                  tuple(a.name for a in node.names)))
    return edges


EDGES = [e for e in _imports()
         if (e[2].rsplit(":", 1)[0], e[1]) not in EXCEPTIONS]


def test_every_unit_has_a_floor():
    units = {_unit(p) for p in SRC.rglob("*.py")} | {e[1] for e in EDGES}
    missing = sorted(u for u in units if u not in FLOORS)
    assert not missing, (f"{missing} have no floor: place them in docs/architecture.md and "
                         "in FLOORS of this test")


def test_nothing_imports_upwards():
    up = [f"{where}: {src} (floor {FLOORS[src]}) imports {dst} (floor {FLOORS[dst]})"
          for src, dst, where, _ in EDGES
          if src in FLOORS and dst in FLOORS and FLOORS[dst] > FLOORS[src]]
    assert not up, "\n".join(up)


def test_renderers_compute_no_analysis():
    # constants (UPPER_CASE names: class orders, reference texts, tolerances) may be read
    bad = [f"{where}: {src} imports {', '.join(names)} from {dst}"
           for src, dst, where, names in EDGES
           if src in RENDERERS and dst in ANALYSES
           and not all(n.isupper() for n in names)]
    assert not bad, ("report/, maps/ and figures.py are handed results; move the computation "
                     "to the analysis or the pipeline:\n" + "\n".join(bad))


def _cycles(edges: list[tuple[str, ...]]) -> list[str]:
    """Units that reach themselves through the import graph."""
    graph: dict[str, set[str]] = {}
    for src, dst, *_ in edges:
        graph.setdefault(src, set()).add(dst)
    cycles = []
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            u = stack.pop()
            if u == start:
                cycles.append(start)
                break
            if u not in seen:
                seen.add(u)
                stack.extend(graph.get(u, ()))
    return sorted(cycles)


def test_no_import_cycle_between_units():
    assert not _cycles(EDGES), f"units on an import cycle: {_cycles(EDGES)}"


def test_the_checker_sees_real_imports_and_cycles():
    """Not vacuous: edges known from the code are found, and a cycle is recognised."""
    found = {(e[0], e[1]) for e in EDGES}
    assert {("cli", "pipeline"), ("pipeline", "barriers"), ("store", "measure")} <= found
    assert _cycles([("a", "b", ""), ("b", "c", ""), ("c", "a", ""), ("c", "d", "")]) == [
        "a", "b", "c"]
