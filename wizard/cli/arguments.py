"""What the parsed options mean: the connection, the console and the diagnosis they ask for."""

from __future__ import annotations

import argparse
import os
import pwd
from typing import TYPE_CHECKING

from wizard.environment import Environment
from wizard.errors import UsageError
from wizard.model.connection import (
    Connection,
    address_connection,
    host_connection,
    machine_connection,
    system_connection,
    user_connection,
)
from wizard.model.unit_names import normalise_unit_name
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import machine_files_root, systemd_client
from wizard.system.unit_history import TimelineReading, start_timeline, with_timeline

if TYPE_CHECKING:
    from rich.console import Console

    from wizard.analysis.findings import Diagnosis
    from wizard.model.snapshots import SystemSnapshot
    from wizard.plan.build import UnitLayout


def connection_from(args: argparse.Namespace) -> Connection:
    """The connection the options ask for."""
    if getattr(args, "user", False):
        return user_connection()
    if getattr(args, "machine", None):
        return machine_connection(args.machine, machine_files_root(args.machine))
    if getattr(args, "host", None):
        return host_connection(args.host, tuple(getattr(args, "ssh_option", ())))
    if getattr(args, "bus", None):
        return address_connection(args.bus)
    if getattr(args, "lab", None):
        # Imported here: diagnose --json without --lab never pays for the lab.
        from wizard.lab import nspawn as lab

        return lab.require_lab(args.lab).connection
    return system_connection()


def fleet_inventory(args: argparse.Namespace) -> bool:
    """Whether a fleet was asked for (--inventory); refuses it mixed with one system's options."""
    if not getattr(args, "inventory", None):
        if getattr(args, "limit", None) or getattr(args, "ansible_arg", None):
            raise UsageError("--limit and --ansible-arg go with --inventory")
        return False
    mixed = [f"--{name.replace('_', '-')}" for name in ("user", "machine", "host", "bus", "lab")
             if getattr(args, name, None)]
    if mixed:
        raise UsageError(f"--inventory reaches every host itself; leave out {', '.join(mixed)}",
                         "a host's connection comes from the inventory (docs/fleet.md)")
    return True


def plan_layout(connection: Connection, env: Environment) -> UnitLayout:
    """Where the plan's files go: the system's directories, or the calling user's.

    A user manager's plan is made and run by that user, never by root: root's
    changes would land in root's own manager, not the user's.
    """
    from wizard.plan.build import SYSTEM_LAYOUT, user_layout  # only commands that plan

    if connection.transport != "user":
        return SYSTEM_LAYOUT
    if env.is_root:
        raise UsageError(
            "a plan for a user service manager is made and run as that user, not as root",
            "run staydown plan --user as the user whose manager it is",
        )
    account = pwd.getpwuid(os.getuid())
    home = os.environ.get("HOME") or account.pw_dir
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return user_layout(account.pw_name, home, runtime)


def console_for(env: Environment, args: argparse.Namespace) -> Console:
    """A rich console on stdout: colour only on a terminal, unless --no-color."""
    from rich.console import Console

    color = env.color if env.color is not None else env.stdout_isatty and not args.no_color
    return Console(
        file=env.stdout,
        force_terminal=color,
        # None lets rich honour NO_COLOR (https://no-color.org): styles stay, colours go.
        no_color=None if color else True,
        highlight=False,
        width=None if env.stdout_isatty else 100,
    )


def diagnosed(
    args: argparse.Namespace, *, timeline_since: int | None = None,
) -> tuple[Connection, SystemSnapshot, Diagnosis]:
    """The connection, the unit's neighbourhood and its diagnosis, as the options ask.

    With ``timeline_since`` the diagnosis carries the timeline since then; its
    journalctl runs while the units below the walk are still being read.
    """
    unit = normalise_unit_name(args.unit)
    connection = connection_from(args)
    readings: list[TimelineReading] = []

    def start_reading(walked: tuple[str, ...]) -> None:
        if timeline_since is not None:
            readings.append(start_timeline(connection, sorted(walked), timeline_since))

    with systemd_client(connection) as client:
        snapshot, diagnosis = diagnose_unit(client, unit, on_walked=start_reading)
    if readings:
        diagnosis = with_timeline(diagnosis, readings[0].timeline(snapshot))
    return connection, snapshot, diagnosis
