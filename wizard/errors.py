"""Every error staydown reports to a person, and the one table of exit codes.

Each error carries the exit code it ends the program with; ``wizard.cli.main`` is the
only place that turns them into a message on stderr and a process status.
The table is documented in docs/exit-codes.md; keep the two in step.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit statuses, stable and documented (docs/exit-codes.md)."""

    OK = 0
    """diagnose: no live revival source; lab check: passed; other commands: success."""
    LIVE_SOURCES = 1
    """diagnose: at least one source can bring the unit back right now."""
    CHECK_FAILED = 1
    """lab check: the unit came back, or a unit the challenge did not involve broke."""
    USAGE = 2
    """Bad command line or invalid unit name (argparse uses 2 as well)."""
    UNIT_NOT_FOUND = 3
    """systemd knows no unit by that name."""
    SYSTEMD_UNREACHABLE = 4
    """No systemd on the other end of the chosen connection."""
    PERMISSION_DENIED = 5
    """The bus or a file refused us; usually fixed with sudo."""
    OUTPUT_EXISTS = 6
    """A file staydown would write already exists (use --force)."""
    LAB_FAILED = 7
    """The systemd-nspawn lab could not be booted, reached or torn down."""
    INTERNAL = 70
    """A bug in staydown (EX_SOFTWARE); run with --debug and report it."""
    INTERRUPTED = 130
    """Ctrl-C or end of input at a prompt; nothing was written."""


class StaydownError(Exception):
    """A failure explained in one sentence a person can act on."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(StaydownError):
    """The command line or a unit name is not something staydown can act on."""

    exit_code = ExitCode.USAGE


class ProtectedUnitError(UsageError):
    """A plan for a unit the host needs (docs/safety.md), without the operator naming it."""

    def __init__(self, unit: str, reason: str) -> None:
        super().__init__(
            f"{unit} is part of the host's own machinery ({reason}); no plan was written",
            f"if you really mean to stop it, name it: staydown plan --allow-protected {unit} "
            f"{unit}",
        )
        self.unit = unit
        self.reason = reason


class UnplannableUnitError(UsageError):
    """A running unit a plan could not stop, or whose stop no undo could reverse."""

    def __init__(self, unit: str, reason: str) -> None:
        super().__init__(
            f"staydown writes no plan for {unit}: {reason}",
            f"if you really mean it, act on it by hand (systemctl stop {unit}) and keep "
            "its undo yourself",
        )
        self.unit = unit
        self.reason = reason


class UnitNotFoundError(StaydownError):
    """systemd has no unit by that name, loaded or on disk."""

    exit_code = ExitCode.UNIT_NOT_FOUND

    def __init__(self, unit: str, suggestions: tuple[str, ...] = ()) -> None:
        hint = f"did you mean: {', '.join(suggestions)}?" if suggestions else None
        super().__init__(f"no unit named {unit!r} is known to systemd", hint)
        self.unit = unit
        self.suggestions = suggestions


class SystemdUnreachableError(StaydownError):
    """Nothing answered as systemd on the chosen bus."""

    exit_code = ExitCode.SYSTEMD_UNREACHABLE


class PermissionDeniedError(StaydownError):
    """The bus, polkit or the file system refused an operation."""

    exit_code = ExitCode.PERMISSION_DENIED


class OutputExistsError(StaydownError):
    """A file staydown would write is already there."""

    exit_code = ExitCode.OUTPUT_EXISTS


class LabError(StaydownError):
    """The nspawn lab failed to boot, answer or stop."""

    exit_code = ExitCode.LAB_FAILED


class FleetError(StaydownError):
    """ansible-playbook is missing or could not run the fleet playbook (docs/fleet.md)."""

    exit_code = ExitCode.SYSTEMD_UNREACHABLE


class InterruptedByUserError(StaydownError):
    """Ctrl-C or EOF; the program stops and writes nothing."""

    exit_code = ExitCode.INTERRUPTED
