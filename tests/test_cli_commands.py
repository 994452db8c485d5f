"""The parser and the handlers agree: every command it defines has a module that runs it."""

from __future__ import annotations

import argparse
import importlib

import pytest

from wizard.cli.commands.lab import ACTIONS
from wizard.cli.parser import (
    COMMANDS,
    build_parser,
    command_of,
    handler_module,
    with_default_command,
)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_the_parser_defines_exactly_the_commands():
    assert set(_subcommands(build_parser())) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_handler(command):
    module = importlib.import_module(handler_module(command))
    assert callable(module.run)


def test_every_lab_action_has_a_handler():
    lab = _subcommands(build_parser())["lab"]
    assert set(_subcommands(lab)) == set(ACTIONS)


@pytest.mark.parametrize("argv", [
    ["diagnose", "--json", "--since", "@1000", "a"],
    ["--debug", "diagnose", "-H", "ops@db2", "--ssh-option", "Port=2", "--since", "@1", "a"],
    ["--no-color", "watch", "--seconds", "3", "--stop", "a"],
    ["plan", "-o", "fix.yml", "--format", "ansible", "--allow-protected", "b", "a"],
    ["fleet-host", "a", "--vars", "{}", "--plan"],
    ["lab", "up", "--name", "x", "--os", "bookworm"],
    ["lab", "check", "--seconds", "5"],
    ["a.service"],
    ["wizard", "--yes", "--lab", "l", "a"],
])
def test_the_one_command_parser_parses_as_the_whole(argv):
    arguments = with_default_command(argv)
    assert command_of(arguments) in COMMANDS
    assert build_parser(command_of(arguments)).parse_args(arguments) \
        == build_parser().parse_args(arguments)


@pytest.mark.parametrize("command", COMMANDS)
def test_the_one_command_parser_lists_every_command(command):
    assert build_parser(command).format_help() == build_parser().format_help()
    assert _subcommands(build_parser(command))[command].format_help() \
        == _subcommands(build_parser())[command].format_help()


def test_help_and_version_get_the_whole_parser():
    assert command_of(with_default_command(["--help"])) is None
    assert command_of(with_default_command(["--debug", "--version"])) is None
