"""User mistakes and broken environments end in one clear line and a documented code."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from wizard.cli.parser import with_default_command
from wizard.errors import ExitCode


@pytest.mark.parametrize(
    ("unit", "message"),
    [
        ("a$b", "'a$b' is not a valid unit name"),
        ("foo@.service", "'foo@.service' is a template, not a unit that runs"),
        ("", "the unit name is empty"),
        ("x\ny", "a unit name cannot contain a newline or NUL byte"),
        ("a@b@c.service", "is not a valid unit name"),
    ],
)
def test_invalid_unit_names_are_usage_errors(unit, message):
    result = run_cli("diagnose", "--bus", "unix:path=/nonexistent", unit)
    assert result.code == ExitCode.USAGE
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_invalid_name_hint_gives_the_escaped_spelling():
    result = run_cli("diagnose", "--bus", "unix:path=/nonexistent", "a b")
    assert result.code == ExitCode.USAGE
    assert "systemd spells it a\\x20b.service" in result.stderr


def test_unreachable_bus_is_its_own_exit_code():
    result = run_cli("diagnose", "--bus", "unix:path=/nonexistent/bus", "widget")
    assert result.code == ExitCode.SYSTEMD_UNREACHABLE
    assert result.stderr.startswith("staydown: error: cannot reach the bus at unix:path=")
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_bus_address_is_reported_not_raised():
    result = run_cli("diagnose", "--bus", "no-such-transport:x=1", "widget")
    assert result.code == ExitCode.SYSTEMD_UNREACHABLE
    assert "Traceback" not in result.stderr


def test_unknown_option_is_a_usage_error():
    result = run_cli("diagnose", "--frobnicate", "widget")
    assert result.code == ExitCode.USAGE
    assert "unrecognized arguments: --frobnicate" in result.stderr


def test_connection_options_are_exclusive():
    result = run_cli("diagnose", "--user", "--bus", "unix:path=/x", "widget")
    assert result.code == ExitCode.USAGE
    assert "not allowed with argument" in result.stderr


def test_no_command_means_the_wizard_which_needs_a_terminal_to_ask_on():
    # `staydown` alone is `staydown wizard`; with no terminal to ask on, the
    # wizard refuses with a usage error that says why and what to use instead.
    assert with_default_command([]) == ["wizard"]
    result = run_cli()
    assert result.code == ExitCode.USAGE
    assert "standard input is not a terminal" in result.stderr
    assert "--yes" in result.stderr


def test_missing_lab_says_how_to_start_one():
    result = run_cli("diagnose", "--lab", "nosuchlab", "widget")
    assert result.code == ExitCode.LAB_FAILED
    assert "no lab named 'nosuchlab' is running" in result.stderr
    assert "staydown lab up --name nosuchlab" in result.stderr


def test_unknown_scenario_lists_the_real_ones():
    result = run_cli("lab", "up", "--scenario", "nope", "--name", "never")
    assert result.code == ExitCode.LAB_FAILED
    assert "there is no lab scenario 'nope'" in result.stderr
    assert "article" in result.stderr


def test_control_characters_in_errors_are_neutralised():
    result = run_cli("diagnose", "--bus", "unix:path=/x", "\x1b]0;pwned\x07")
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    assert "\\x1b" in result.stderr
