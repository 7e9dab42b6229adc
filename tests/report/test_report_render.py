"""The generic report machinery: templates, tables, figures, sources, reproducibility, PDF."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from html.parser import HTMLParser

import matplotlib
import pandas as pd
import pytest

from cami_atlas import __version__
from cami_atlas.atlas import Atlas
from cami_atlas.errors import LayerReadError, LayerWriteError, OutputExistsError, SchemaError
from cami_atlas.report import (
    data_sources,
    figure_to_data_uri,
    render_report,
    reproducibility,
    sha256_file,
    table_html,
    write_report,
)

matplotlib.use("Agg")


class _Strict(HTMLParser):
    """Collects start/end tags to check the page is well nested."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def test_base_template_sections_and_escaping(tmp_path) -> None:
    f = tmp_path / "input.csv"
    f.write_text("a,b\n1,2\n", encoding="utf-8")
    repro = reproducibility({"input": f}, command="cami-atlas something --x <y>")
    html = render_report("base.html.j2", {
        "title": "Report <script>", "subtitle": "sub",
        "parameters": {"cell_size_m": 2500.0, "species": "Saiga_tatarica"},
        "sources": data_sources(Atlas.default(), ["railways", "species_ranges"]),
        "reproducibility": repro, "notes": ["a & b"]})
    assert "<script>" not in html and "Report &lt;script&gt;" in html
    assert "a &amp; b" in html and "--x &lt;y&gt;" in html
    assert "2,500.00" in html and "Saiga_tatarica" in html
    assert "PHYLACINE" in html and "CC0-1.0" in html
    assert hashlib.sha256(b"a,b\n1,2\n").hexdigest() in html
    parser = _Strict()
    parser.feed(html)
    assert parser.errors == [] and parser.stack == []


def test_table_html_formats_and_escapes() -> None:
    df = pd.DataFrame({"name": ["<b>"], "km": [1234.5678], "n": [3], "inf": [float("inf")],
                       "nan": [float("nan")], "ok": [True]})
    html = str(table_html(df, digits=1))
    assert "&lt;b&gt;" in html and "1,234.6" in html and "∞" in html
    assert '<td class="num">3</td>' in html and "<td>yes</td>" in html
    short = str(table_html(pd.DataFrame({"a": range(5)}), max_rows=2))
    assert short.count("<tr>") == 3 and "3 more rows" in short
    with pytest.raises(SchemaError, match="DataFrame"):
        table_html([1, 2])


def test_figure_data_uri_is_png() -> None:
    import base64

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    uri = figure_to_data_uri(fig)
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SchemaError, match="matplotlib"):
        figure_to_data_uri("not a figure")


def test_reproducibility_block(tmp_path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00\x01")
    when = dt.datetime(2024, 2, 12, 10, 0, tzinfo=dt.UTC)
    r = reproducibility([f], packages=["numpy", "no-such-package"], timestamp=when)
    assert r["cami_atlas_version"] == __version__
    assert r["python"] == sys.version.split()[0]
    assert r["packages"]["no-such-package"] == "not installed"
    assert r["inputs"].loc[0, "sha256"] == hashlib.sha256(b"\x00\x01").hexdigest()
    assert r["inputs"].loc[0, "size_bytes"] == 2
    assert r["timestamp_utc"] == "2024-02-12T10:00:00+00:00"
    assert sha256_file(f) == hashlib.sha256(b"\x00\x01").hexdigest()
    with pytest.raises(LayerReadError, match="not a file"):
        sha256_file(tmp_path / "missing")


def test_render_errors() -> None:
    with pytest.raises(LayerReadError, match=r"shipped templates: .*base\.html\.j2"):
        render_report("nope.html.j2", {"title": "x"})
    with pytest.raises(SchemaError, match="title"):
        render_report("base.html.j2", {})


def test_write_report_atomic_and_refuses(tmp_path) -> None:
    out = tmp_path / "r.html"
    assert write_report("<html></html>", out) == [out]
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_report("<html>new</html>", out)
    assert out.read_text() == "<html></html>"
    write_report("<html>new</html>", out, overwrite=True)
    assert out.read_text() == "<html>new</html>"
    with pytest.raises(SchemaError, match="str"):
        write_report(b"bytes", tmp_path / "b.html")


def test_pdf_without_weasyprint(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import raises ImportError
    with pytest.raises(LayerWriteError, match=r"pip install 'cami-atlas\[pdf\]'"):
        write_report("<html><body>x</body></html>", tmp_path / "r.html", pdf=True)
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "r.pdf").exists()


def test_pdf_with_broken_system_libraries(tmp_path, monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(LayerWriteError, match="Pango"):
        write_report("<html></html>", tmp_path / "r.html", pdf=True)


def test_pdf_written(tmp_path) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    assert weasyprint  # the pdf extra is installed here
    html = render_report("base.html.j2", {"title": "PDF test", "notes": ["one"]})
    paths = write_report(html, tmp_path / "r.html", pdf=True)
    assert [p.name for p in paths] == ["r.html", "r.pdf"]
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"
