"""What ``--help`` shows and what a shell completes: flags without a type, every default said, completion;
and ``--json`` output that a terminal shows safely."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from mujun.cli import app
from mujun.cli._common import json_text

runner = CliRunner()


def _commands(group: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the app (``("cycle", "show")``, …), groups included."""
    found = [path]
    for name, command in getattr(group, "commands", {}).items():
        found.extend(_commands(command, (*path, name)))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def _help(*path: str) -> str:
    done = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    return done.output


def test_the_app_has_the_commands_of_the_issue():
    assert {("pack", "list"), ("pack", "show"), ("pack", "history"), ("cycle", "list"), ("cycle", "show"),
            ("audit", "list"), ("audit", "verify")} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "mujun")
def test_no_flag_is_shown_with_a_bool_type(path):
    assert "<bool>" not in _help(*path)


def test_score_help_lists_its_flags_and_the_defaults_that_come_from_elsewhere():
    text = _help("score")
    assert "--strict" in text and "--round" in text
    assert "[default: locally]" in text and "[env var: MUJUN_SERVER]" in text and "--tls-ca" in text


def test_a_default_said_in_the_help_text_is_not_eaten_as_markup():
    text = _help("serve")
    assert "[default: data]" in text and "[default: 127.0.0.1]" in text and "[default: 50051]" in text


def test_listing_commands_offer_json():
    for path in [("pack", "list"), ("pack", "history"), ("cycle", "list"), ("cycle", "show"), ("audit", "list"),
                 ("token", "list")]:
        assert "--json" in _help(*path), path


def test_the_shell_completes_command_names():
    done = runner.invoke(app, [], prog_name="mujun",
                         env={"_MUJUN_COMPLETE": "complete_bash", "COMP_WORDS": "mujun cycle li", "COMP_CWORD": "2"})
    assert done.exit_code == 0 and done.output.split() == ["list"]
    assert "--install-completion" in _help()


def test_json_output_is_exact_yet_escapes_control_and_format_characters():
    title = "淮安\u202e亩均\x1b]0;owned\x07"
    text = json_text({"title": title})
    assert "\u202e" not in text and "\x1b" not in text and "淮安" in text
    assert json.loads(text) == {"title": title}
