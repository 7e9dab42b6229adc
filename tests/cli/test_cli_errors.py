"""How the command line reports errors: one line on stderr, exit 1; --debug re-raises."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cami_atlas import cli
from cami_atlas.cli import _common
from cami_atlas.errors import SchemaError


@pytest.fixture()
def failing(monkeypatch):
    def install(exc):
        @click.command("boom")
        def boom():
            raise exc

        monkeypatch.setitem(cli._COMMANDS, "boom", "_common:boom")
        monkeypatch.setattr(_common, "boom", boom, raising=False)

    return install


def test_library_error_is_one_line(failing):
    failing(SchemaError("layer 'x': column 'track' has unknown value(s) 'triple'."))
    result = CliRunner().invoke(cli.main, ["boom"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: layer 'x': column 'track' has unknown value(s) 'triple'."


def test_missing_optional_dependency_is_one_line_with_install_hint(failing):
    failing(ImportError("PDF output needs WeasyPrint: pip install 'cami-atlas[pdf]'"))
    result = CliRunner().invoke(cli.main, ["boom"])
    assert result.exit_code == 1 and "pip install 'cami-atlas[pdf]'" in result.output


def test_debug_shows_the_traceback_and_bugs_are_not_hidden(failing):
    failing(SchemaError("bad"))
    result = CliRunner().invoke(cli.main, ["--debug", "boom"])
    assert isinstance(result.exception, SchemaError)
    failing(ImportError("No module named 'nothing_here'"))
    result = CliRunner().invoke(cli.main, ["boom"])
    assert isinstance(result.exception, ImportError)
