"""The command line's definition: every command, option and argument type, and nothing they do.

The handlers in ``wizard.cli.commands`` run what this parses; the man page and
the completions (docgen/) read it without importing them.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from wizard import __version__
from wizard.errors import UsageError
from wizard.lab import BUSES, DEFAULT_BUS, DEFAULT_LAB, TREE_NAMES
from wizard.model.unit_names import has_unit_suffix
from wizard.output.formats import OUTPUT_FORMATS
from wizard.practice import LEVELS as CHALLENGE_LEVELS


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as a UsageError, so one handler prints all errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, f"see: {self.prog} --help")


if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[_Parser]  # what add_subparsers returns


def _common_options(suppress: bool) -> _Parser:
    # Accepted before and after the command; SUPPRESS keeps a subcommand's
    # unset flag from overwriting the one given before it.
    default = argparse.SUPPRESS if suppress else False
    parent = _Parser(add_help=False)
    parent.add_argument("--debug", action="store_true", default=default,
                        help="show tracebacks of errors")
    parent.add_argument("--no-color", action="store_true", default=default, help="plain output")
    return parent


def _connection_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("which systemd (default: the local system manager)")
    exclusive = group.add_mutually_exclusive_group()
    exclusive.add_argument("--user", action="store_true", help="your user service manager")
    exclusive.add_argument("-M", "--machine", metavar="NAME", help="a local container")
    exclusive.add_argument(
        "-H", "--host", metavar="[USER@]HOST[:PORT]",
        help="a remote host over ssh, like systemctl -H; nothing to install there"
    )
    exclusive.add_argument("--bus", metavar="ADDRESS", help="any D-Bus address")
    exclusive.add_argument("--lab", metavar="NAME", help="a running staydown lab")
    group.add_argument(
        "--ssh-option", metavar="OPTION", action="append", default=argparse.SUPPRESS,
        help="with --host: an ssh -o option (IdentityFile=..., UserKnownHostsFile=...); "
        "repeatable",
    )
    return parent


def _fleet_options() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group(
        "a fleet through Ansible (docs/fleet.md; instead of the options above)")
    group.add_argument(
        "-i", "--inventory", metavar="FILE",
        help="every host of this Ansible inventory (ansible-playbook runs the hosts, each "
        "reached over ssh as --host with its connection variables)",
    )
    group.add_argument("--limit", metavar="PATTERN",
                       help="with --inventory: only the hosts of this Ansible pattern")
    group.add_argument(
        "--ansible-arg", metavar="ARG", action="append", default=[],
        help="with --inventory: one more argument for ansible-playbook (--ansible-arg=--forks=20, "
        "--ansible-arg=--vault-password-file=FILE); repeatable",
    )
    return parent


# Every command in the order --help lists them, with the line it shows.
COMMAND_HELP = {
    "diagnose": "list every mechanism that can start UNIT again",
    "watch": "catch whatever brings UNIT back, as it happens",
    "wizard": "the guided wizard (also: staydown UNIT)",
    "plan": "write a reviewable script (and its undo) that keeps UNIT down",
    "fleet-host": "one inventory host's diagnosis as JSON (what the fleet playbook runs)",
    "lab": "a real systemd in systemd-nspawn to practise on",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, also the source of the man page and completions.

    With ``command`` only that command's options are defined; the others are
    listed with their help line and nothing more. That is all one run parses,
    for half the cost of the whole (docs/performance.md).
    """
    parser = _Parser(
        prog="staydown",
        description="Find out who keeps bringing a stopped systemd unit back.",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"staydown {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    parents = (_common_options(suppress=True), _connection_options(), _fleet_options())
    for name, define in _DEFINITIONS.items():
        if command in (None, name):
            define(commands, *parents)
        else:
            commands.add_parser(name, help=COMMAND_HELP[name])
    return parser


def _diagnose(
    commands: _Commands, common: _Parser, connection: _Parser, fleet: _Parser
) -> None:
    diagnose_parser = commands.add_parser(
        "diagnose",
        parents=[common, connection, fleet],
        help=COMMAND_HELP["diagnose"],
        description="List every mechanism that can start UNIT again after systemctl stop. "
        "Exit status: 0 nothing live, 1 live sources found (see docs/exit-codes.md).",
    )
    diagnose_parser.add_argument("unit", metavar="UNIT", help="unit name; no suffix = .service")
    diagnose_parser.add_argument("--json", action="store_true", help="print one JSON object")
    diagnose_parser.add_argument(
        "--explain",
        action="store_true",
        help="add the teaching text and the manual commands that show the same evidence",
    )
    diagnose_parser.add_argument(
        "--since", metavar="WHEN", default="24h", type=_since_usec,
        help="how far back the journal timeline goes: 90min, 24h, 7d, an ISO time or "
        "@EPOCH (default: 24h)",
    )


def _watch(
    commands: _Commands, common: _Parser, connection: _Parser, fleet: _Parser
) -> None:
    watch_parser = commands.add_parser(
        "watch",
        parents=[common, connection],
        help=COMMAND_HELP["watch"],
        description="Watch UNIT and attribute every start to its cause within a second "
        "(D-Bus signals plus the journal), until --seconds pass or Ctrl-C. Exit status: "
        "0 no revival seen, 1 revivals seen (see docs/exit-codes.md).",
    )
    watch_parser.add_argument("unit", metavar="UNIT", help="unit name; no suffix = .service")
    watch_parser.add_argument("--seconds", type=_positive_seconds, metavar="N",
                              help="stop watching after N seconds (default: until Ctrl-C)")
    watch_parser.add_argument("--stop", action="store_true",
                              help="stop UNIT first, then watch who brings it back")
    watch_parser.add_argument(
        "--debug-log", action="store_true",
        help="raise systemd's log level to debug for the watch (trigger firings and job "
        "enqueues become visible); the previous level is always put back",
    )
    watch_parser.add_argument("--json", action="store_true",
                              help="one JSON object per line (JSON Lines)")


def _wizard(
    commands: _Commands, common: _Parser, connection: _Parser, fleet: _Parser
) -> None:
    wizard_parser = commands.add_parser(
        "wizard",
        parents=[common, connection],
        help=COMMAND_HELP["wizard"],
        description="Walk the article's steps for UNIT, then write (and on request apply) a "
        "reviewed fix with its undo.",
    )
    wizard_parser.add_argument("unit", metavar="UNIT", nargs="?", help="asked for when left out")
    answers_from = wizard_parser.add_mutually_exclusive_group()
    answers_from.add_argument(
        "--yes", action="store_true", help="accept every recommended answer without asking"
    )
    answers_from.add_argument("--answers", metavar="FILE", help="answers from a JSON file")
    wizard_parser.add_argument(
        "--brief", action="store_true", help="leave out the teaching text and manual commands"
    )
    wizard_parser.add_argument(
        "--force", action="store_true", help="overwrite output files that already exist"
    )


def _plan(
    commands: _Commands, common: _Parser, connection: _Parser, fleet: _Parser
) -> None:
    plan_parser = commands.add_parser(
        "plan",
        parents=[common, connection, fleet],
        help=COMMAND_HELP["plan"],
        description="Diagnose UNIT and write, without asking anything, the fix the wizard "
        "would write with every recommended answer: every live source neutralised, then the "
        "unit stopped. Nothing on the system is changed; the script is for review.",
    )
    plan_parser.add_argument("unit", metavar="UNIT", help="a unit name as systemctl takes it")
    plan_parser.add_argument(
        "-o", "--output", metavar="FILE",
        help="where to write (default: staydown-UNIT.sh, .yml or .d in the current directory)",
    )
    plan_parser.add_argument(
        "--undo", metavar="PATH", help="where to write the undo (default: beside the output)"
    )
    plan_parser.add_argument(
        "--format", choices=OUTPUT_FORMATS, default="script",
        help="script (default): bash; dropin: drop-in files and the script that installs them; "
        "ansible: a playbook",
    )
    plan_parser.add_argument(
        "--persistent", action="store_true",
        help="survive reboots (disable and mask) instead of lasting until the next boot",
    )
    plan_parser.add_argument(
        "--force", action="store_true", help="overwrite output files that exist with other content"
    )
    plan_parser.add_argument(
        "--mode", choices=("0700", "0755"), default="0700",
        help="permissions of the scripts written (default 0700: only root reads them)",
    )
    plan_parser.add_argument(
        "--allow-protected", metavar="UNIT", action="append", default=[],
        help="let the plan stop, mask, hold or disable UNIT although it is part of the "
        "host's own machinery (dbus, journald, logind, udevd, gettys, sshd in an ssh "
        "session, basic targets: docs/safety.md); repeat for each unit",
    )
    plan_parser.add_argument(
        "--json", action="store_true",
        help="print the plan as one JSON object (docs/json.md) instead of the summary",
    )


def _fleet_host(
    commands: _Commands, common: _Parser, connection: _Parser, fleet: _Parser
) -> None:
    fleet_host = commands.add_parser(
        "fleet-host",
        parents=[common],
        help=COMMAND_HELP["fleet-host"],
        description="Diagnose UNIT on one host described by its Ansible connection variables "
        "(reached over ssh as --host) and print one JSON document, also when the host is "
        "unreachable or has no such unit; exit status 0. The fleet playbook of "
        "diagnose --inventory and plan --inventory runs it once per host (docs/fleet.md).",
    )
    fleet_host.add_argument("unit", metavar="UNIT", help="unit name; no suffix = .service")
    fleet_host.add_argument("--vars", metavar="JSON", required=True,
                            help="the host's connection variables as one JSON object")
    fleet_host.add_argument("--plan", action="store_true",
                            help="also make the host's plan (as plan --format ansible would)")
    fleet_host.add_argument("--persistent", action="store_true", help="as for plan")


def _lab(
    commands: _Commands, common: _Parser, connection: _Parser, fleet: _Parser
) -> None:
    lab_parser = commands.add_parser(
        "lab", parents=[common], help=COMMAND_HELP["lab"]
    )
    lab_commands = lab_parser.add_subparsers(dest="lab_command", metavar="ACTION",
                                             parser_class=_Parser)
    up = lab_commands.add_parser("up", parents=[common], help="boot a lab with a scenario")
    up.add_argument("--scenario", default=None,
                    help="scenario to load (default: article; none with --os)")
    up.add_argument("--name", default=DEFAULT_LAB, help="lab name (default: default)")
    up.add_argument("--os", default=None, choices=TREE_NAMES, dest="os_tree",
                    help="boot this Debian tree instead of the host's (built with mmdebstrap "
                    "and cached on first use; see staydown lab trees)")
    up.add_argument("--bus", default=DEFAULT_BUS, choices=BUSES,
                    help="the system bus of an --os tree (default: dbus-daemon)")
    run = lab_commands.add_parser("exec", parents=[common], help="run a command inside the lab")
    run.add_argument("--name", default=DEFAULT_LAB)
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD")
    down = lab_commands.add_parser("down", parents=[common], help="stop the lab")
    down.add_argument("--name", default=DEFAULT_LAB)
    lab_commands.add_parser("scenarios", help="list the scenarios")
    lab_commands.add_parser("trees", help="list the OS trees lab up --os boots, and their cache")
    lab_commands.add_parser("status", help="list the running labs")
    challenge = lab_commands.add_parser(
        "challenge", parents=[common], help="boot a lab with a hidden scenario to practise on",
        description="Boot a lab whose revival sources are generated and not told: only the "
        "misbehaving unit is named. Level 1: one source; 2: two, as in the article; 3: three "
        "or four, through targets, Upholds=, D-Bus activation or an external caller.",
    )
    challenge.add_argument("--level", type=int, choices=CHALLENGE_LEVELS, default=1,
                           help="how many sources, and how hidden (default: 1)")
    challenge.add_argument("--seed", type=int, default=None,
                           help="the same seed and level give the same challenge "
                           "(default: a random one, printed)")
    challenge.add_argument("--name", default=DEFAULT_LAB,
                           help="name of the lab to boot (default: default)")
    check = lab_commands.add_parser(
        "check", parents=[common], help="grade the attempt on a challenge lab",
        description="Keep every source of the challenge firing and watch the unit. "
        "Exit status: 0 passed (it stayed down and nothing unrelated broke), 1 failed.",
    )
    check.add_argument("--name", default=DEFAULT_LAB,
                       help="the challenge lab (default: default)")
    check.add_argument("--seconds", type=_check_seconds, default=30.0,
                       help="how long the unit must stay down (default: 30)")
    hint = lab_commands.add_parser(
        "hint", parents=[common], help="the next hint for a challenge, in the article's order"
    )
    hint.add_argument("--name", default=DEFAULT_LAB,
                      help="the challenge lab (default: default)")


_DEFINITIONS: dict[str, Callable[[_Commands, _Parser, _Parser, _Parser], None]] = {
    "diagnose": _diagnose,
    "watch": _watch,
    "wizard": _wizard,
    "plan": _plan,
    "fleet-host": _fleet_host,
    "lab": _lab,
}


_SPANS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400,
          "day": 86400, "w": 604800, "week": 604800}


def _since_usec(text: str) -> int:
    """--since: a span back from now (24h, 90min), an ISO time, or @EPOCH seconds."""
    now = time.time_ns() // 1000
    value = text.strip().removesuffix(" ago")
    match = re.fullmatch(r"(\d+)\s*([a-z]+?)s?", value)
    if match and match[2] in _SPANS:
        return now - int(match[1]) * _SPANS[match[2]] * 1_000_000
    try:
        if value.startswith("@"):
            return int(float(value[1:]) * 1_000_000)
        return int(datetime.fromisoformat(value).timestamp() * 1_000_000)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use 90min, 24h, 7d, 2026-05-01T08:00 or @1767225600"
        ) from None


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _check_seconds(text: str) -> float:
    """The --seconds of lab check: positive, at most an hour (a grade, not a vigil)."""
    seconds = _positive_seconds(text)
    if seconds > 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is more than 3600 seconds")
    return seconds


COMMANDS = ("diagnose", "wizard", "plan", "watch", "lab", "fleet-host")
_LEADING_FLAGS = ("--debug", "--no-color")


def handler_module(command: str) -> str:
    """The module whose ``run`` handles a command (``fleet-host``: ``fleet_host``)."""
    return f"wizard.cli.commands.{command.replace('-', '_')}"


def dash_units_last(arguments: list[str]) -> list[str]:
    """``-.mount`` and ``-.slice`` are unit names, not options: put them after ``--``.

    argparse reads anything that starts with a dash as an option; moving such a
    name to the end, behind ``--``, keeps every other argument where it was.
    """
    if "--" in arguments:
        return arguments
    dashed = [a for a in arguments if a.startswith("-") and not a.startswith("--")
              and has_unit_suffix(a)]
    if not dashed:
        return arguments
    return [a for a in arguments if a not in dashed] + ["--", *dashed]


def with_default_command(argv: Sequence[str]) -> list[str]:
    """``staydown UNIT`` (or nothing at all) means ``staydown wizard UNIT``."""
    arguments = dash_units_last(list(argv))
    index = _after_leading_flags(arguments)
    rest = arguments[index:]
    if rest and (rest[0] in COMMANDS or rest[0] in ("-h", "--help", "--version")):
        return arguments
    return [*arguments[:index], "wizard", *rest]


def command_of(arguments: Sequence[str]) -> str | None:
    """The command in what :func:`with_default_command` gave; None for --help and --version."""
    index = _after_leading_flags(arguments)
    first = arguments[index] if index < len(arguments) else None
    return first if first in COMMANDS else None


def _after_leading_flags(arguments: Sequence[str]) -> int:
    index = 0
    while index < len(arguments) and arguments[index] in _LEADING_FLAGS:
        index += 1
    return index
