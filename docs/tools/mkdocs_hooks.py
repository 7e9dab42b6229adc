"""MkDocs hooks: generate the API reference, the CLI reference and the notebook gallery.

* ``api/index.md`` and one ``api/<module>.md`` per subpackage or top-level module of
  ``cami_atlas``: a mkdocstrings block for each public module, listing exactly the names
  of its ``__all__`` (read from the installed package, so a new public name is documented
  without editing anything);
* ``reference/cli.md``: the ``cami-atlas`` commands rendered from click by mkdocs-click;
* links from a page to repository files outside ``docs/`` (``../benchmarks/RESULTS.md``),
  which work when the Markdown is read in the repository, become links to the repository
  (``repo_url``) when it is configured, else plain text;
* ``notebooks/*.ipynb`` (copied from the repository's ``notebooks/``, rendered by
  mkdocs-jupyter without executing them) and ``notebooks/index.md``, the gallery.

:func:`public_modules` is also used by ``tests/docs/test_docs_site.py``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def public_modules() -> dict[str, list[str]]:
    """Every public module of cami_atlas (no ``_`` part) with the names of its ``__all__``."""
    import cami_atlas

    out = {"cami_atlas": list(cami_atlas.__all__)}
    for info in pkgutil.walk_packages(cami_atlas.__path__, "cami_atlas."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None)
        if names is not None:
            out[info.name] = list(names)
    return out


def _page_of(module: str) -> str:
    """The API page a module is documented on: its top-level subpackage or module."""
    parts = module.split(".")
    return "cami_atlas" if len(parts) == 1 else parts[1]


def _block(module: str, names: list[str]) -> str:
    """A mkdocstrings block for ``module`` rendering exactly ``names`` (none: docstring only)."""
    if not names:
        return f"::: {module}\n    options:\n      members: false\n      heading_level: 2\n"
    members = "\n".join(f"        - {n}" for n in sorted(names))
    filters = "\n      filters: []" if any(n.startswith("_") for n in names) else ""
    return (f"::: {module}\n    options:\n      show_submodules: false\n"
            f"      members:\n{members}{filters}\n")


def api_pages() -> dict[str, str]:
    """Markdown of ``api/index.md`` and of every ``api/<page>.md``."""
    modules = public_modules()
    pages: dict[str, list[str]] = {}
    for module in sorted(modules):
        pages.setdefault(_page_of(module), []).append(module)
    out: dict[str, str] = {}
    index = ["# API reference", "",
             "Every public name of `cami_atlas` (the `__all__` of each module), from the "
             "numpydoc docstrings. A subpackage re-exports the names of its modules; each "
             "name is documented in the module that defines it.", "",
             "| page | modules |", "|---|---|"]
    for page, mods in pages.items():
        title = "cami_atlas" if page == "cami_atlas" else f"cami_atlas.{page}"
        body = [f"# `{title}`", ""]
        for module in mods:
            names = modules[module]
            package = module.count(".") == 1 and module.split(".")[1] == page
            if package and len(mods) > 1:
                # the package: its docstring, and the names it exports that none of its
                # public modules documents (defined in a private module or elsewhere)
                inner = {n for m in mods if m != module for n in modules[m]}
                body.append(_block(module, [n for n in names if n not in inner]))
            else:
                body.append(_block(module, names))
        out[f"api/{page}.md"] = "\n".join(body)
        listed = ", ".join(f"`{m}`" for m in mods)
        index.append(f"| [{title}]({page}.md) | {listed} |")
    out["api/index.md"] = "\n".join(index) + "\n"
    return out


CLI_PAGE = """# CLI reference

Generated from the click commands of `cami-atlas` (the same text as `--help`). The
[command line page](../cli.md) explains each command with worked examples.

## Shell completion

`cami-atlas` completes commands and options in bash, zsh and fish (click's shell completion).
Add one line to your shell's start-up file:

* bash, in `~/.bashrc`: `eval "$(_CAMI_ATLAS_COMPLETE=bash_source cami-atlas)"`
* zsh, in `~/.zshrc`: `eval "$(_CAMI_ATLAS_COMPLETE=zsh_source cami-atlas)"`
* fish, in `~/.config/fish/completions/cami-atlas.fish`:
  `_CAMI_ATLAS_COMPLETE=fish_source cami-atlas | source`

## Commands

::: mkdocs-click
    :module: cami_atlas.cli
    :command: main
    :prog_name: cami-atlas
    :depth: 1
    :style: table
    :list_subcommands: true
"""


def _notebook_title(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem.replace("_", " ")


def gallery_page(notebooks: list[Path]) -> str:
    lines = ["# Notebooks", "",
             "Worked analyses with the Python API, as stored in the repository's "
             "`notebooks/` folder (shown as saved, not executed when the site is built; the "
             "notebook tests run them). Open them in Jupyter to run them.", ""]
    for nb in notebooks:
        lines.append(f"* [{_notebook_title(nb)}]({nb.stem}.ipynb) (`notebooks/{nb.name}`)")
    return "\n".join(lines) + "\n"


@event_priority(100)  # before mkdocs-jupyter and mkdocstrings see the files
def on_files(files: Files, config, **kwargs) -> Files:
    for uri, content in api_pages().items():
        files.append(File.generated(config, uri, content=content))
    files.append(File.generated(config, "reference/cli.md", content=CLI_PAGE))
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    for nb in notebooks:  # real files (abs_src_path in the repository's notebooks/)
        files.append(File(f"notebooks/{nb.name}", src_dir=str(ROOT),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    files.append(File.generated(config, "notebooks/index.md", content=gallery_page(notebooks)))
    return files


_OUTSIDE = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>\.\./[^)\s]+)\)")


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    """Links to repository files outside ``docs/`` -> repository links or plain text."""
    if page.file.src_uri.count("/"):  # generated pages never link outside docs/
        return markdown
    repo = (config.get("repo_url") or "").rstrip("/")

    def fix(m: re.Match[str]) -> str:
        if repo:
            return f"[{m['text']}]({repo}/blob/main/{m['target'][3:]})"
        return m["text"]

    return _OUTSIDE.sub(fix, markdown)
