"""``--quiet`` / ``--verbose``: the command line's messages go through logging."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from cami_atlas.cli import main


@pytest.fixture(autouse=True)
def _reset_level():
    yield
    logging.getLogger("cami_atlas").setLevel(logging.INFO)


def _barriers(tmp_path: Path, *flags: str):
    out = tmp_path / "out"
    return out, CliRunner().invoke(main, [*flags, "barriers", "--species", "khulan",
                                          "--no-fragmentation", "--out", str(out)])


def test_default_shows_what_was_written(tmp_path: Path) -> None:
    out, res = _barriers(tmp_path)
    assert res.exit_code == 0, res.output
    assert f"wrote {out / 'barrier_lengths.csv'}" in res.stdout
    assert "debug:" not in res.output


def test_quiet_writes_the_same_files_and_says_nothing(tmp_path: Path) -> None:
    out, res = _barriers(tmp_path, "--quiet")
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr == ""
    assert (out / "barrier_lengths.csv").is_file() and (out / "project.qgz").is_file()


def test_verbose_adds_debug_messages(tmp_path: Path) -> None:
    out, res = _barriers(tmp_path, "-v")
    assert res.exit_code == 0, res.output
    assert "debug: QGIS project" in res.stderr and "project.qgz" in res.stderr
    assert f"wrote {out / 'barrier_lengths.csv'}" in res.stdout


def test_quiet_keeps_results_and_errors(tmp_path: Path) -> None:
    listing = CliRunner().invoke(main, ["-q", "layers", "list"])
    assert listing.exit_code == 0 and "railways" in listing.stdout  # a result, not a message
    both = CliRunner().invoke(main, ["-q", "-v", "layers", "list"])
    assert both.exit_code == 2 and "--quiet and --verbose exclude each other" in both.output
    bad = CliRunner().invoke(main, ["-q", "barriers", "--species", "unicorn", "--out",
                                    str(tmp_path / "x")])
    assert bad.exit_code == 1 and bad.stderr.startswith("Error: ")
