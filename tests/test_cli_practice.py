"""The practice actions' command line, without a lab: arguments and errors."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from wizard.errors import ExitCode


@pytest.mark.parametrize("argv", [
    ("lab", "challenge", "--level", "4"),
    ("lab", "challenge", "--level", "one"),
    ("lab", "challenge", "--seed", "x"),
    ("lab", "check", "--seconds", "0"),
    ("lab", "check", "--seconds", "-5"),
    ("lab", "check", "--seconds", "soon"),
    ("lab", "check", "--seconds", "99999"),
])
def test_bad_practice_arguments_are_usage_errors(argv):
    result = run_cli(*argv)
    assert result.code == ExitCode.USAGE
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("action", ["check", "hint"])
def test_check_and_hint_need_a_running_lab(action):
    result = run_cli("lab", action, "--name", "nosuchchallenge")
    assert result.code == ExitCode.LAB_FAILED
    assert "no lab named 'nosuchchallenge' is running" in result.stderr


def test_the_lab_help_lists_the_practice_actions(capsys):
    with pytest.raises(SystemExit):
        run_cli("lab", "--help")
    text = capsys.readouterr().out
    for action in ("challenge", "check", "hint"):
        assert action in text


def test_check_failed_is_exit_status_one():
    assert int(ExitCode.CHECK_FAILED) == 1
    assert int(ExitCode.OK) == 0
