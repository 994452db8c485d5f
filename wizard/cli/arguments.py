"""What the parsed options mean: the connection, the console and the diagnosis they ask for."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from wizard.environment import Environment
from wizard.lab import nspawn as lab
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

if TYPE_CHECKING:
    from rich.console import Console

    from wizard.analysis.findings import Diagnosis
    from wizard.model.snapshots import SystemSnapshot


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


def console_for(env: Environment, args: argparse.Namespace) -> Console:
    """A rich console on stdout: colour only on a terminal, unless --no-color."""
    from rich.console import Console

    color = env.color if env.color is not None else env.stdout_isatty and not args.no_color
    return Console(
        file=env.stdout,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        width=None if env.stdout_isatty else 100,
    )


def diagnosed(args: argparse.Namespace) -> tuple[Connection, SystemSnapshot, Diagnosis]:
    """The connection, the unit's neighbourhood and its diagnosis, as the options ask."""
    unit = normalise_unit_name(args.unit)
    connection = connection_from(args)
    with systemd_client(connection) as client:
        snapshot, diagnosis = diagnose_unit(client, unit)
    return connection, snapshot, diagnosis
