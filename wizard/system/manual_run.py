"""Running a read-only command against the manager behind a connection, for a trainee to read.

The one place that turns an argument list into a process for the wizard's
"show me the manual commands": the connection's flags are added here
(``--user``, ``--machine=NAME``), a lab's commands run inside its namespaces
with nsenter, and nothing is ever handed to a shell. Only read-only commands
pass: anything else is a programming error. Over ``--host`` they run on that
host, over the run's one ssh connection (wizard.system.access.run_readonly).
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence

from wizard.analysis.manual_commands import ManualRun
from wizard.model.connection import Connection
from wizard.system.access import run_readonly

TIMEOUT = 20.0
_MANAGER_TOOLS = ("systemctl", "journalctl", "busctl")
_READ_ONLY_VERBS = {
    "systemctl": {"status", "show", "cat", "list-units", "list-sockets", "list-timers",
                  "list-dependencies", "is-enabled", "is-active", "is-failed"},
    "busctl": {"list", "status", "tree", "introspect"},
}
# journalctl options that change the journal rather than read it (journalctl(1)).
_JOURNAL_WRITERS = ("--rotate", "--vacuum", "--flush", "--sync", "--relinquish-var",
                    "--smart-relinquish-var", "--setup-keys", "--update-catalog")
_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "TERM": "dumb"}


def check_read_only(argv: Sequence[str]) -> None:
    """Raise ValueError unless argv only reads (systemctl's listing verbs, journalctl, grep)."""
    if not argv:
        raise ValueError("an empty command")
    program = argv[0]
    if program in _READ_ONLY_VERBS:
        verbs = [a for a in argv[1:] if not a.startswith("-")]
        if not verbs or verbs[0] not in _READ_ONLY_VERBS[program]:
            raise ValueError(f"{shlex.join(argv)} is not a read-only command")
    elif program == "journalctl":
        if any(a.startswith(_JOURNAL_WRITERS) for a in argv[1:]):
            raise ValueError(f"{shlex.join(argv)} changes the journal")
    elif program != "grep":
        raise ValueError(f"{program} is not one of the manual route's read-only commands")


def with_connection_flags(connection: Connection, argv: Sequence[str]) -> list[str]:
    """The command as typed against this connection: ``systemctl --user``, ``--machine=``."""
    program, rest = argv[0], list(argv[1:])
    if program not in _MANAGER_TOOLS:
        return [program, *rest]
    if connection.transport == "user":
        return [program, "--user", *rest]
    if connection.transport == "machine":
        return [program, f"--machine={connection.target}", *rest]
    return [program, *rest]


def _cannot_run(connection: Connection, argv: Sequence[str]) -> str:
    if connection.transport == "machine" and argv[0] not in _MANAGER_TOOLS:
        return f"{argv[0]} reads files of {connection.label}; run it inside that machine"
    if connection.transport == "address" and connection.enter_pid is None:
        # As root, systemctl talks to /run/systemd/private of *this* machine, whatever
        # DBUS_SYSTEM_BUS_ADDRESS says: it would answer for the wrong manager.
        return (f"systemctl cannot be pointed at {connection.label}; use --lab or --machine to "
                "see the manual commands' output")
    return ""


def run_read_only(
    connection: Connection, argv: Sequence[str], *, timeout: float = TIMEOUT
) -> ManualRun:
    """Run one read-only command against the connection's manager and return its output."""
    check_read_only(argv)
    typed = with_connection_flags(connection, argv)
    shown = shlex.join(typed)
    reason = _cannot_run(connection, argv)
    if reason:
        return ManualRun(shown, not_run=reason)
    if connection.transport == "host":
        # Over the run's one ssh connection, on that host (wizard.system.access).
        done = run_readonly(connection, argv, timeout=timeout)
        if done.returncode == 255 and not done.stdout:
            return ManualRun(shown, not_run=f"ssh to {connection.target} failed: "
                             f"{done.stderr.strip()}")
        output = done.text + (done.stderr if done.stderr.strip() else "")
        return ManualRun(shown, output, done.returncode)
    command = typed
    if connection.enter_pid is not None:
        command = ["nsenter", "--target", str(connection.enter_pid), "--all", "--", *typed]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False,
                                timeout=timeout, env=_ENV, errors="replace")
    except FileNotFoundError:
        return ManualRun(shown, not_run=f"{command[0]} is not installed here")
    except subprocess.TimeoutExpired:
        return ManualRun(shown, not_run=f"it did not finish within {timeout:g} s")
    output = result.stdout
    if result.stderr.strip():
        output += result.stderr
    return ManualRun(shown, output, result.returncode)
