"""Run every code example of the docs pages, to check that they still work.

Each page runs in its own fresh temporary folder (its outputs land there, under the
system temporary directory). In a page:

* ```` ```python ```` blocks run in order in one namespace;
* ```` ```sh ```` blocks run with bash in the same folder, with the virtualenv's
  ``bin`` first on ``PATH`` (so ``cami-atlas`` is the project's); they must exit 0;
* a block preceded by ``<!-- expect-fail -->`` must fail (exit code 1 / raise a
  ``CamiAtlasError``); one preceded by ``<!-- no-run -->`` is skipped (long benchmarks);
* ```` ```text ```` blocks are shown output and are not run.

Usage (from the project root)::

    .venv/bin/python docs/tools/run_examples.py                 # every page
    .venv/bin/python docs/tools/run_examples.py docs/cli.md     # some pages
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
BLOCK = re.compile(
    r"(?:<!-- (?P<mark>expect-fail|no-run) -->\s*\n)?```(?P<lang>\w+)\n(?P<code>.*?)```",
    re.DOTALL)


def run_page(page: Path) -> list[str]:
    from cami_atlas.errors import CamiAtlasError

    failures: list[str] = []
    text = page.read_text(encoding="utf-8")
    workdir = Path(tempfile.mkdtemp(prefix=f"cami_docs_{page.stem}_"))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    namespace: dict[str, object] = {"__name__": "__docs__"}
    old = Path.cwd()
    os.chdir(workdir)
    try:
        for m in BLOCK.finditer(text):
            lang, code, mark = m["lang"], m["code"], m["mark"]
            if lang not in ("python", "sh") or mark == "no-run":
                continue
            line = text[: m.start()].count("\n") + 1
            where = f"{page.name}:{line} ({lang})"
            t0 = time.perf_counter()
            if lang == "python":
                try:
                    exec(compile(code, where, "exec"), namespace)
                    ok = mark != "expect-fail"
                    detail = "" if ok else "expected an error, none was raised"
                except CamiAtlasError as exc:
                    ok = mark == "expect-fail"
                    detail = "" if ok else "".join(traceback.format_exception(exc))
                except Exception as exc:
                    ok = False
                    detail = "".join(traceback.format_exception(exc))
            else:
                proc = subprocess.run(["bash", "-e", "-c", code], cwd=workdir, env=env,
                                      capture_output=True, text=True)
                ok = (proc.returncode == 0) != (mark == "expect-fail")
                detail = "" if ok else f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
            status = "ok  " if ok else "FAIL"
            print(f"{status} {where} {time.perf_counter() - t0:6.1f} s", flush=True)
            if not ok:
                failures.append(f"{where}\n{detail}")
    finally:
        os.chdir(old)
    return failures


def main(argv: list[str]) -> int:
    pages = [Path(p) for p in argv] or sorted(DOCS.glob("*.md"))
    failures = [f for page in pages for f in run_page(page.resolve())]
    for f in failures:
        print("\n" + f, file=sys.stderr)
    print(f"\n{len(failures)} failing example(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
