"""staydown lab: boot, enter and end labs; practise on challenges, check them, ask for hints."""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Callable

from wizard.environment import Environment
from wizard.errors import ExitCode, UsageError
from wizard.lab import nspawn as lab


def _up(args: argparse.Namespace, env: Environment) -> int:
    if args.os_tree is None or args.scenario is not None:
        scenario = lab.load_scenario(args.scenario or "article")
        booted = lab.up(scenario, args.name, os_name=args.os_tree, bus=args.bus)
        target = scenario.target
        scenario_uses_automount = scenario.uses_automount
        what = f"scenario {scenario.name}: {scenario.description}"
    else:
        booted = lab.up(None, args.name, os_name=args.os_tree, bus=args.bus)
        target = "UNIT"
        scenario_uses_automount = False
        what = "no scenario"
    if booted.os_tree:
        what = f"OS tree {booted.os_tree} (bus {booted.bus}), {what}"
    unavailable = lab.automount_unavailable()
    if scenario_uses_automount and unavailable is not None:
        what = f"{what}\n  note: {unavailable}"
    env.stdout.write(
        f"lab {booted.name} is up with {what}\n"
        f"  look at it:  staydown diagnose --lab {booted.name} {target}\n"
        f"  inside it:   staydown lab exec --name {booted.name} -- systemctl status "
        f"{target}\n"
        f"  bus address: {booted.bus_address}\n"
    )
    return ExitCode.OK


def _exec(args: argparse.Namespace, env: Environment) -> int:
    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError(
            "lab exec needs a command", "staydown lab exec -- systemctl status"
        )
    result = lab.require_lab(args.name).exec(argv, capture=False, timeout=None)
    return result.returncode


def _down(args: argparse.Namespace, env: Environment) -> int:
    stopped = lab.down(args.name)
    env.stdout.write(f"lab {args.name} {'stopped' if stopped else 'was not running'}\n")
    return ExitCode.OK


def _scenarios(args: argparse.Namespace, env: Environment) -> int:
    for scenario in lab.list_scenarios():
        env.stdout.write(f"{scenario.name:<16} {scenario.target:<28} "
                         f"{scenario.description}\n")
    return ExitCode.OK


def _status(args: argparse.Namespace, env: Environment) -> int:
    for running in lab.running_labs():
        tree = f" os={running.os_tree} bus={running.bus}" if running.os_tree else ""
        env.stdout.write(f"{running.name:<12} scenario={running.scenario}{tree} "
                         f"nspawn={running.nspawn_pid} bus={running.bus_address}\n")
    return ExitCode.OK


def _trees(args: argparse.Namespace, env: Environment) -> int:
    from wizard.lab.os_trees import describe_trees

    env.stdout.write("".join(f"{line}\n" for line in describe_trees()))
    return ExitCode.OK


def _challenge(args: argparse.Namespace, env: Environment) -> int:
    from wizard.practice.lab import briefing, start_challenge

    seed = args.seed if args.seed is not None else secrets.randbelow(1_000_000)
    env.stdout.write(briefing(start_challenge(args.level, seed, args.name)))
    return ExitCode.OK


def _check(args: argparse.Namespace, env: Environment) -> int:
    from wizard.practice.grading import grade_attempt, render_grade
    from wizard.practice.lab import load_challenge

    grade = grade_attempt(load_challenge(args.name), args.seconds)
    env.stdout.write(render_grade(grade))
    return ExitCode.OK if grade.passed else ExitCode.CHECK_FAILED


def _hint(args: argparse.Namespace, env: Environment) -> int:
    from wizard.practice.hints import hint_sequence, render_hint
    from wizard.practice.lab import hints_given, load_challenge, record_hints

    practice = load_challenge(args.name)
    hints = hint_sequence(practice.challenge)
    number = hints_given(practice) + 1
    env.stdout.write(render_hint(hints, number, args.name, practice.challenge.target))
    record_hints(practice, min(number, len(hints)))
    return ExitCode.OK


ACTIONS: dict[str, Callable[[argparse.Namespace, Environment], int]] = {
    "up": _up, "exec": _exec, "down": _down, "scenarios": _scenarios, "trees": _trees,
    "status": _status,
    "challenge": _challenge, "check": _check, "hint": _hint,
}


def run(args: argparse.Namespace, env: Environment) -> int:
    """Staydown lab up|exec|down|scenarios|status|challenge|check|hint."""
    action = ACTIONS.get(args.lab_command)
    if action is None:  # `staydown lab` with no action: argparse allows it
        raise UsageError(
            "lab needs an action: up, exec, down, scenarios, trees, status, challenge, check "
            "or hint"
        )
    return action(args, env)
