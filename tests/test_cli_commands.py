"""The parser and the handlers agree: every command it defines has a module that runs it."""

from __future__ import annotations

import argparse
import importlib

import pytest

from wizard.cli.commands.lab import ACTIONS
from wizard.cli.parser import COMMANDS, build_parser, handler_module


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
