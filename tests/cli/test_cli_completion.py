"""Shell completion (click): the scripts for bash, zsh and fish, and completions themselves."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from cami_atlas.cli import _COMMANDS, main


def _complete(env: dict[str, str]):
    return CliRunner().invoke(main, [], prog_name="cami-atlas", env=env)


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _cami_atlas_completion cami-atlas"),
    ("zsh", "#compdef cami-atlas"),
    ("fish", "complete --no-files --command cami-atlas"),
])
def test_completion_script(shell, marker):
    res = _complete({"_CAMI_ATLAS_COMPLETE": f"{shell}_source"})
    assert res.exit_code == 0
    assert marker in res.output
    assert "_CAMI_ATLAS_COMPLETE" in res.output


def test_bash_completes_commands_and_options():
    res = _complete({"_CAMI_ATLAS_COMPLETE": "bash_complete", "COMP_WORDS": "cami-atlas ",
                     "COMP_CWORD": "1"})
    assert res.exit_code == 0
    offered = {line.split(",", 1)[1] for line in res.output.splitlines()}
    assert offered == set(_COMMANDS)
    res = _complete({"_CAMI_ATLAS_COMPLETE": "bash_complete", "COMP_WORDS": "cami-atlas scr",
                     "COMP_CWORD": "1"})
    assert res.output.splitlines() == ["plain,screen-route"]
    res = _complete({"_CAMI_ATLAS_COMPLETE": "bash_complete",
                     "COMP_WORDS": "cami-atlas run --ov", "COMP_CWORD": "2"})
    assert res.output.splitlines() == ["plain,--overwrite"]
