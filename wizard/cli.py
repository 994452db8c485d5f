"""The command line: arguments, the environment, and the one map from errors to exit codes."""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wizard import __version__, lab
from wizard.analysis import diagnose
from wizard.command_choices import (
    BUSES,
    CHALLENGE_LEVELS,
    DEFAULT_BUS,
    OS_TREE_NAMES,
    OUTPUT_FORMATS,
)
from wizard.connection import (
    Connection,
    address_connection,
    host_connection,
    machine_connection,
    system_connection,
    user_connection,
)
from wizard.environment import Environment
from wizard.errors import ExitCode, InterruptedByUserError, StaydownError, UsageError
from wizard.neighbourhood import collect_neighbourhood
from wizard.report_json import (
    diagnosis_document,
    render_json,
    watch_end_line,
    watch_event_line,
    watch_note_line,
    watch_start_line,
)
from wizard.systemd_adapter import machine_files_root, systemd_client
from wizard.terminal_text import printable
from wizard.unit_history import collect_timeline, with_timeline
from wizard.unit_names import has_unit_suffix, normalise_unit_name

if TYPE_CHECKING:
    from rich.console import Console

    from wizard.analysis.findings import Diagnosis
    from wizard.snapshots import SystemSnapshot

# rich, the terminal report, the watch and the plan's templates are imported
# where they are used: diagnose --json is run from scripts and monitoring, and
# every module at start-up is paid for on each run (docs/performance.md).


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as a UsageError, so one handler prints all errors."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, f"see: {self.prog} --help")


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
        "-H", "--host", metavar="[USER@]HOST", help="a remote host over ssh, like systemctl -H"
    )
    exclusive.add_argument("--bus", metavar="ADDRESS", help="any D-Bus address")
    exclusive.add_argument("--lab", metavar="NAME", help="a running staydown lab")
    return parent


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, also the source of the man page and completions."""
    parser = _Parser(
        prog="staydown",
        description="Find out who keeps bringing a stopped systemd unit back.",
        parents=[_common_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"staydown {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _common_options(suppress=True)
    connection = _connection_options()

    diagnose_parser = commands.add_parser(
        "diagnose",
        parents=[common, connection],
        help="list every mechanism that can start UNIT again",
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

    watch_parser = commands.add_parser(
        "watch",
        parents=[common, connection],
        help="catch whatever brings UNIT back, as it happens",
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

    wizard_parser = commands.add_parser(
        "wizard",
        parents=[common, connection],
        help="the guided wizard (also: staydown UNIT)",
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

    plan_parser = commands.add_parser(
        "plan",
        parents=[common, connection],
        help="write a reviewable script (and its undo) that keeps UNIT down",
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

    lab_parser = commands.add_parser(
        "lab", parents=[common], help="a real systemd in systemd-nspawn to practise on"
    )
    lab_commands = lab_parser.add_subparsers(dest="lab_command", metavar="ACTION",
                                             parser_class=_Parser)
    up = lab_commands.add_parser("up", parents=[common], help="boot a lab with a scenario")
    up.add_argument("--scenario", default=None,
                    help="scenario to load (default: article; none with --os)")
    up.add_argument("--name", default=lab.DEFAULT_LAB, help="lab name (default: default)")
    up.add_argument("--os", default=None, choices=OS_TREE_NAMES, dest="os_tree",
                    help="boot this Debian tree instead of the host's (built with mmdebstrap "
                    "and cached on first use; see staydown lab trees)")
    up.add_argument("--bus", default=DEFAULT_BUS, choices=BUSES,
                    help="the system bus of an --os tree (default: dbus-daemon)")
    run = lab_commands.add_parser("exec", parents=[common], help="run a command inside the lab")
    run.add_argument("--name", default=lab.DEFAULT_LAB)
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD")
    down = lab_commands.add_parser("down", parents=[common], help="stop the lab")
    down.add_argument("--name", default=lab.DEFAULT_LAB)
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
    challenge.add_argument("--name", default=lab.DEFAULT_LAB,
                           help="name of the lab to boot (default: default)")
    check = lab_commands.add_parser(
        "check", parents=[common], help="grade the attempt on a challenge lab",
        description="Keep every source of the challenge firing and watch the unit. "
        "Exit status: 0 passed (it stayed down and nothing unrelated broke), 1 failed.",
    )
    check.add_argument("--name", default=lab.DEFAULT_LAB,
                       help="the challenge lab (default: default)")
    check.add_argument("--seconds", type=_check_seconds, default=30.0,
                       help="how long the unit must stay down (default: 30)")
    hint = lab_commands.add_parser(
        "hint", parents=[common], help="the next hint for a challenge, in the article's order"
    )
    hint.add_argument("--name", default=lab.DEFAULT_LAB,
                      help="the challenge lab (default: default)")
    return parser


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


def connection_from(args: argparse.Namespace) -> Connection:
    """The connection the options ask for."""
    if getattr(args, "user", False):
        return user_connection()
    if getattr(args, "machine", None):
        return machine_connection(args.machine, machine_files_root(args.machine))
    if getattr(args, "host", None):
        return host_connection(args.host)
    if getattr(args, "bus", None):
        return address_connection(args.bus)
    if getattr(args, "lab", None):
        return lab.require_lab(args.lab).connection
    return system_connection()


def _console(env: Environment, args: argparse.Namespace) -> Console:
    from rich.console import Console

    color = env.color if env.color is not None else env.stdout_isatty and not args.no_color
    return Console(
        file=env.stdout,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        width=None if env.stdout_isatty else 100,
    )


def _diagnosed(args: argparse.Namespace) -> tuple[Connection, SystemSnapshot, Diagnosis]:
    """The connection, the unit's neighbourhood and its diagnosis, as the options ask."""
    unit = normalise_unit_name(args.unit)
    connection = connection_from(args)
    with systemd_client(connection) as client:
        snapshot = collect_neighbourhood(client, unit)
    return connection, snapshot, diagnose(snapshot)


def run_diagnose(args: argparse.Namespace, env: Environment) -> int:
    """Staydown diagnose UNIT: exit 1 when a live source was found."""
    connection, snapshot, diagnosis = _diagnosed(args)
    diagnosis = with_timeline(diagnosis, collect_timeline(connection, snapshot, args.since))
    if args.json:
        env.stdout.write(
            render_json(diagnosis_document(diagnosis, snapshot.manager, connection.label))
        )
    else:
        from wizard.report_terminal import render_terminal

        render_terminal(_console(env, args), diagnosis, teach=args.explain)
    return ExitCode.LIVE_SOURCES if diagnosis.live_findings else ExitCode.OK


def run_watch(args: argparse.Namespace, env: Environment) -> int:
    """Staydown watch UNIT: exit 1 when a revival was seen."""
    from wizard.report_terminal import (
        render_watch_end,
        render_watch_event,
        render_watch_note,
        render_watch_start,
    )
    from wizard.watch import watch_unit

    unit = normalise_unit_name(args.unit)
    connection = connection_from(args)
    console = _console(env, args)

    def write(line: str) -> None:
        env.stdout.write(line)
        env.stdout.flush()

    with systemd_client(connection) as client:
        snapshot = collect_neighbourhood(client, unit)
        diagnosis = diagnose(snapshot)
        if args.json:
            write(watch_start_line(diagnosis, connection.label, time.time_ns() // 1000))
        else:
            render_watch_start(console, diagnosis, connection.label, args.seconds)
        outcome = watch_unit(
            client, connection, snapshot, seconds=args.seconds, stop=args.stop,
            debug_log=args.debug_log,
            on_event=(lambda seen: write(watch_event_line(seen))) if args.json
            else (lambda seen: render_watch_event(console, seen)),
            on_note=(lambda note: write(watch_note_line(note))) if args.json
            else (lambda note: render_watch_note(console, note)),
        )
    if args.json:
        write(watch_end_line(outcome))
    else:
        render_watch_end(console, outcome)
    return ExitCode.LIVE_SOURCES if outcome.revivals else ExitCode.OK


def run_lab(args: argparse.Namespace, env: Environment) -> int:
    """Staydown lab up|exec|down|scenarios|status|challenge|check|hint."""
    from wizard.practice_grading import grade_attempt, render_grade
    from wizard.practice_hints import hint_sequence, render_hint
    from wizard.practice_lab import (
        briefing,
        hints_given,
        load_challenge,
        record_hints,
        start_challenge,
    )

    match args.lab_command:
        case "up":
            if args.os_tree is None or args.scenario is not None:
                scenario = lab.load_scenario(args.scenario or "article")
                booted = lab.up(scenario, args.name, args.os_tree, args.bus)
                target = scenario.target
                what = f"scenario {scenario.name}: {scenario.description}"
            else:
                booted = lab.up(None, args.name, args.os_tree, args.bus)
                target = "UNIT"
                what = "no scenario"
            if booted.os_tree:
                what = f"OS tree {booted.os_tree} (bus {booted.bus}), {what}"
            env.stdout.write(
                f"lab {booted.name} is up with {what}\n"
                f"  look at it:  staydown diagnose --lab {booted.name} {target}\n"
                f"  inside it:   staydown lab exec --name {booted.name} -- systemctl status "
                f"{target}\n"
                f"  bus address: {booted.bus_address}\n"
            )
            return ExitCode.OK
        case "exec":
            argv = list(args.argv)
            if argv and argv[0] == "--":
                argv = argv[1:]
            if not argv:
                raise UsageError(
                    "lab exec needs a command", "staydown lab exec -- systemctl status"
                )
            result = lab.require_lab(args.name).exec(argv, capture=False, timeout=None)
            return result.returncode
        case "down":
            stopped = lab.down(args.name)
            env.stdout.write(f"lab {args.name} {'stopped' if stopped else 'was not running'}\n")
            return ExitCode.OK
        case "scenarios":
            for scenario in lab.list_scenarios():
                env.stdout.write(f"{scenario.name:<16} {scenario.target:<28} "
                                 f"{scenario.description}\n")
            return ExitCode.OK
        case "status":
            for running in lab.running_labs():
                tree = f" os={running.os_tree} bus={running.bus}" if running.os_tree else ""
                env.stdout.write(f"{running.name:<12} scenario={running.scenario}{tree} "
                                 f"nspawn={running.nspawn_pid} bus={running.bus_address}\n")
            return ExitCode.OK
        case "trees":
            from wizard.lab_os_trees import describe_trees

            env.stdout.write("".join(f"{line}\n" for line in describe_trees()))
            return ExitCode.OK
        case "challenge":
            seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
            env.stdout.write(briefing(start_challenge(args.level, seed, args.name)))
            return ExitCode.OK
        case "check":
            grade = grade_attempt(load_challenge(args.name), args.seconds)
            env.stdout.write(render_grade(grade))
            return ExitCode.OK if grade.passed else ExitCode.CHECK_FAILED
        case "hint":
            practice = load_challenge(args.name)
            hints = hint_sequence(practice.challenge)
            number = hints_given(practice) + 1
            env.stdout.write(render_hint(hints, number, args.name, practice.challenge.target))
            record_hints(practice, min(number, len(hints)))
            return ExitCode.OK
    raise UsageError(
        "lab needs an action: up, exec, down, scenarios, trees, status, challenge, check or hint"
    )


def run_plan(args: argparse.Namespace, env: Environment) -> int:
    """Staydown plan UNIT: write the recommended fix and its undo; change nothing."""
    from wizard.output_files import write_outputs
    from wizard.plan import default_choices
    from wizard.plan_assembly import assemble_plan
    from wizard.render import default_output, render_outputs

    connection, snapshot, diagnosis = _diagnosed(args)
    choices = default_choices(diagnosis, snapshot, args.persistent)
    console = _console(env, args)
    if not choices.sources:
        console.print(
            f"{printable(diagnosis.unit)}: no live revival source; systemctl stop is enough, "
            "so no plan was written."
            + ("" if args.persistent else " (--persistent also covers the next boot.)")
        )
        return ExitCode.OK
    plan, notes = assemble_plan(diagnosis, snapshot, choices, args.format,
                                connection.files_root)
    output = Path(args.output) if args.output else default_output(diagnosis.unit, args.format)
    outputs = render_outputs(plan, args.format, output, Path(args.undo) if args.undo else None,
                             script_mode=int(args.mode, 8))
    for result in write_outputs(outputs, force=args.force):
        console.print(f"{result.status.value:<11} {printable(str(result.path))}")
    for step in plan.steps[:-1]:
        console.print(f"  neutralises {printable(step.title)}: {printable(step.does)}")
    for note in notes:
        console.print(f"  note: {printable(note)}")
    script = next(p for p in outputs if p.suffix in (".sh", ".yml") and ".undo." not in p.name)
    how = ("ansible-playbook -i HOST, " if args.format == "ansible" else "sudo bash ")
    console.print(f"Review it, then run: {how}{printable(str(script))}")
    return ExitCode.OK


COMMANDS = ("diagnose", "wizard", "plan", "watch", "lab")
_LEADING_FLAGS = ("--debug", "--no-color")


def _dash_units_last(arguments: list[str]) -> list[str]:
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


def _with_default_command(argv: Sequence[str]) -> list[str]:
    """``staydown UNIT`` (or nothing at all) means ``staydown wizard UNIT``."""
    arguments = _dash_units_last(list(argv))
    index = 0
    while index < len(arguments) and arguments[index] in _LEADING_FLAGS:
        index += 1
    rest = arguments[index:]
    if rest and (rest[0] in COMMANDS or rest[0] in ("-h", "--help", "--version")):
        return arguments
    return [*arguments[:index], "wizard", *rest]


def run_wizard_command(args: argparse.Namespace, env: Environment) -> int:
    """Staydown [wizard] [UNIT]: the guided flow."""
    # Imported here so diagnose never pays for the prompt toolkit and templates.
    from wizard.flow import AnswerMode, Asker, load_answers
    from wizard.guided_run import WizardOptions, run_wizard

    if args.answers:
        asker = Asker(env, AnswerMode.FILE, load_answers(args.answers))
    elif args.yes:
        asker = Asker(env, AnswerMode.DEFAULTS)
    else:
        if not env.stdin_isatty:
            raise UsageError(
                "the wizard asks questions but standard input is not a terminal",
                "use --yes for the recommended answers, --answers FILE, or staydown plan",
            )
        asker = Asker(env)
    options = WizardOptions(
        unit=args.unit, teach=not args.brief, force=args.force, lab_name=args.lab
    )
    return run_wizard(connection_from(args), options, asker, _console(env, args), env)


def run(argv: Sequence[str], env: Environment) -> int:
    """Parse and dispatch; errors propagate to :func:`main`."""
    args = build_parser().parse_args(_with_default_command(argv))
    match args.command:
        case "diagnose":
            return run_diagnose(args, env)
        case "wizard":
            return run_wizard_command(args, env)
        case "plan":
            return run_plan(args, env)
        case "watch":
            return run_watch(args, env)
        case "lab":
            return run_lab(args, env)
    raise UsageError("name a command: wizard, diagnose, plan, watch or lab",
                     "see: staydown --help")


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run staydown and map every outcome to an exit code (docs/exit-codes.md)."""
    env = env or Environment()
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    try:
        try:
            return int(run(arguments, env))
        except (KeyboardInterrupt, EOFError) as interrupt:
            raise InterruptedByUserError("interrupted; nothing was written") from interrupt
    except StaydownError as error:
        if debug:
            traceback.print_exc(file=env.stderr)
        env.stderr.write(f"staydown: error: {printable(error.message)}\n")
        if error.hint:
            env.stderr.write(f"  hint: {printable(error.hint, keep_newlines=True)}\n")
        return int(error.exit_code)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except Exception as error:
        if debug:
            traceback.print_exc(file=env.stderr)
        env.stderr.write(
            f"staydown: internal error: {printable(repr(error))}\n"
            "  hint: this is a bug in staydown; run again with --debug and report it\n"
        )
        return int(ExitCode.INTERNAL)
