"""Typed, immutable pictures of systemd state: units, the manager, cron, D-Bus files.

Nothing here does I/O. The adapter fills these in from D-Bus, the host-files
reader from disk, and tests load them from JSON recorded in a real lab, so the
analysis never knows (or cares) where a snapshot came from.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import field
from typing import Any, TypeVar

from wizard.model.frozen import frozen

# Every dependency property of org.freedesktop.systemd1.Unit, forward and reverse
# (systemd.unit(5), "Mapping of unit properties to their inverses").
DEPENDENCY_PROPERTIES = (
    "Requires",
    "Requisite",
    "Wants",
    "BindsTo",
    "PartOf",
    "Upholds",
    "RequiredBy",
    "RequisiteOf",
    "WantedBy",
    "BoundBy",
    "UpheldBy",
    "ConsistsOf",
    "Conflicts",
    "ConflictedBy",
    "Before",
    "After",
    "OnSuccess",
    "OnSuccessOf",
    "OnFailure",
    "OnFailureOf",
    "Triggers",
    "TriggeredBy",
    "PropagatesReloadTo",
    "ReloadPropagatedFrom",
    "PropagatesStopTo",
    "StopPropagatedFrom",
    "JoinsNamespaceOf",
    "References",
    "ReferencedBy",
)

EXEC_PROPERTIES = (
    "ExecCondition",
    "ExecStartPre",
    "ExecStart",
    "ExecStartPost",
    "ExecReload",
    "ExecStop",
    "ExecStopPost",
)


@frozen
class ExecCommand:
    """One command line of an Exec*= setting."""

    setting: str
    path: str
    argv: tuple[str, ...]
    ignore_failure: bool = False


@frozen
class ExitStatusSet:
    """RestartPreventExitStatus= and friends: exit codes and signal numbers."""

    statuses: tuple[int, ...] = ()
    signals: tuple[int, ...] = ()


@frozen
class ServiceDetails:
    """The org.freedesktop.systemd1.Service properties that decide revivals."""

    type: str = "simple"
    restart: str = "no"
    restart_usec: int = 0
    restart_prevent_exit_status: ExitStatusSet = ExitStatusSet()
    restart_force_exit_status: ExitStatusSet = ExitStatusSet()
    success_exit_status: ExitStatusSet = ExitStatusSet()
    n_restarts: int = 0
    result: str = "success"
    exec_main_code: int = 0
    exec_main_status: int = 0
    exec_main_pid: int = 0
    main_pid: int = 0
    remain_after_exit: bool = False
    bus_name: str = ""
    exec_commands: tuple[ExecCommand, ...] = ()


@frozen
class TimerDetails:
    """A .timer: what it starts and when it fires next."""

    unit: str = ""
    monotonic: tuple[tuple[str, int, int], ...] = ()
    calendar: tuple[tuple[str, str, int], ...] = ()
    next_elapse_realtime_usec: int = 0
    last_trigger_realtime_usec: int = 0
    persistent: bool = False
    result: str = "success"


@frozen
class SocketDetails:
    """A .socket: what it listens on and how often it has been used."""

    listen: tuple[tuple[str, str], ...] = ()
    accept: bool = False
    n_connections: int = 0
    n_accepted: int = 0
    n_refused: int = 0
    result: str = "success"
    exec_commands: tuple[ExecCommand, ...] = ()


@frozen
class PathDetails:
    """A .path: which conditions it watches and what it starts."""

    unit: str = ""
    paths: tuple[tuple[str, str], ...] = ()
    result: str = "success"


@frozen
class AutomountDetails:
    """An .automount: the directory whose access mounts the unit."""

    where: str = ""
    result: str = "success"


@frozen
class UnitSnapshot:
    """Everything staydown needs to know about one unit, at one moment."""

    name: str
    names: tuple[str, ...] = ()
    description: str = ""
    load_state: str = "loaded"
    active_state: str = "inactive"
    sub_state: str = "dead"
    unit_file_state: str = ""
    unit_file_preset: str = ""
    fragment_path: str = ""
    source_path: str = ""
    drop_in_paths: tuple[str, ...] = ()
    transient: bool = False
    need_daemon_reload: bool = False
    load_error: tuple[str, str] = ("", "")
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    active_enter_realtime_usec: int = 0
    inactive_enter_realtime_usec: int = 0
    state_change_realtime_usec: int = 0
    invocation_id: str = ""
    stop_when_unneeded: bool = False
    refuse_manual_start: bool = False
    refuse_manual_stop: bool = False
    on_success_job_mode: str = "fail"
    """OnSuccessJobMode=: "fail" (the default) refuses to replace a queued job."""
    can_start: bool = True
    condition_result: bool = True
    condition_timestamp_realtime_usec: int = 0
    """0 when the conditions were never checked (the unit never tried to start)."""
    assert_result: bool = True
    assert_timestamp_realtime_usec: int = 0
    conditions: tuple[tuple[str, bool, bool, str, int], ...] = ()
    """Conditions= as D-Bus gives it: (type, trigger, negate, parameter, last state)."""
    asserts: tuple[tuple[str, bool, bool, str, int], ...] = ()
    service: ServiceDetails | None = None
    timer: TimerDetails | None = None
    socket: SocketDetails | None = None
    path: PathDetails | None = None
    automount: AutomountDetails | None = None

    def related(self, prop: str) -> tuple[str, ...]:
        """Units named by one dependency property (empty when systemd lacks it)."""
        return self.dependencies.get(prop, ())

    @property
    def type(self) -> str:
        """The unit type: the name's suffix without the dot."""
        return self.name.rpartition(".")[2]

    @property
    def is_active(self) -> bool:
        """Active, reloading or on its way up (auto-restart counts as on its way)."""
        return self.active_state in ("active", "reloading", "activating")


@frozen
class CronEntry:
    """One command line from a crontab."""

    file: str
    line_number: int
    schedule: str
    user: str
    command: str


@frozen
class DBusServiceFile:
    """A D-Bus activation file (``[D-BUS Service]``) that hands off to systemd."""

    file: str
    bus_name: str
    systemd_service: str
    exec_line: str = ""


@frozen
class ManagerSnapshot:
    """The service manager itself: which one, how it is doing, at what time."""

    version: str = ""
    scope: str = "system"
    system_state: str = ""
    captured_realtime_usec: int = 0


# path.c path_spec_check_good(): the path-unit specs that are a state, not an
# event, so they hold (and fire) again as soon as the triggered unit stops.
STATE_PATH_SPECS = ("PathExists", "PathExistsGlob", "DirectoryNotEmpty")


@frozen
class FileFacts:
    """What the files say now: paths that exist, Condition*=/Assert*= evaluated.

    Read from the system's files (wizard.system.transaction_inputs.file_facts),
    because systemd forgets a failed condition when it unloads the unit:
    ConditionResult over D-Bus is only the last check of a unit still loaded.
    """

    existing_paths: tuple[str, ...] = ()
    """Paths that path units watch with PathExists=/PathExistsGlob=/DirectoryNotEmpty=
    and that hold now."""
    conditions: dict[str, tuple[bool, str]] = field(default_factory=dict)
    """Unit -> (its conditions pass now, the ones that fail in systemctl's words)."""
    asserts: dict[str, tuple[bool, str]] = field(default_factory=dict)


@frozen
class SystemSnapshot:
    """A target unit's neighbourhood: the units and files around it."""

    target: str
    manager: ManagerSnapshot
    units: dict[str, UnitSnapshot]
    cron_entries: tuple[CronEntry, ...] = ()
    dbus_services: tuple[DBusServiceFile, ...] = ()
    cron_daemon_active: bool = False
    notes: tuple[str, ...] = ()
    files: FileFacts | None = None
    """The file conditions and watched paths, when the system's files could be read."""
    walked: tuple[str, ...] = ()
    """The units the walk up from the target found: the ones whose history matters.
    The rest were loaded for the transaction model (pull-ins below). Empty in
    recordings made before the model, where every unit was walked."""

    def history_units(self) -> list[str]:
        """The units whose journal a timeline reads, sorted."""
        return sorted(self.walked or self.units)

    def unit(self, name: str) -> UnitSnapshot | None:
        """Look a unit up by its name or by one of its aliases."""
        found = self.units.get(name)
        if found is not None:
            return found
        owner = self._aliases().get(name)
        return None if owner is None else self.units.get(owner)

    def _aliases(self) -> dict[str, str]:
        """Alias -> the name of the first unit holding it, built once per size of ``units``.

        The analysis looks units up by alias thousands of times; scanning every
        unit's names each time was most of its cost. ``units`` is a dict the
        collector adds to while it walks (never replacing an entry), so its
        length tells whether the index is still whole.
        """
        cached: tuple[int, dict[str, str]] | None = self.__dict__.get("_alias_index")
        if cached is not None and cached[0] == len(self.units):
            return cached[1]
        index: dict[str, str] = {}
        for key, snapshot in self.units.items():
            for alias in snapshot.names:
                index.setdefault(alias, key)
        # A cache, not a field: equality, asdict() and replace() never see it.
        object.__setattr__(self, "_alias_index", (len(self.units), index))
        return index


@frozen
class JournalEntry:
    """One journal entry, reduced to the fields the timeline reads.

    ``unit`` and ``invocation_id`` hold UNIT=/INVOCATION_ID= of the system
    manager or USER_UNIT=/USER_INVOCATION_ID= of a user manager, so the
    analysis does not care which one wrote it. Missing numbers are 0.
    """

    realtime_usec: int
    message: str = ""
    message_id: str = ""
    unit: str = ""
    invocation_id: str = ""
    job_id: int = 0
    job_type: str = ""
    job_result: str = ""
    unit_result: str = ""
    exit_code: str = ""
    exit_status: str = ""
    n_restarts: int = 0
    pid: int = 0
    comm: str = ""
    syslog_identifier: str = ""
    code_func: str = ""
    priority: int = 6
    boot_id: str = ""
    cursor: str = ""


@frozen
class JobSignal:
    """A JobNew or JobRemoved signal of the manager, as seen by a watch."""

    at_usec: int
    job_id: int
    unit: str
    removed: bool = False
    result: str = ""
    job_type: str = ""
    """start, stop, restart...: read from the job object when it was still there."""


@frozen
class UnitChange:
    """A PropertiesChanged signal of a unit's org.freedesktop.systemd1.Unit interface."""

    at_usec: int
    unit: str
    active_state: str
    sub_state: str
    job_id: int = 0
    invocation_id: str = ""


@frozen
class BusMessage:
    """A message on the system bus, as a watch's bus monitor saw it (``busctl monitor``).

    Only what the timeline reads: calls to bus names and to the manager's start
    methods, and the manager's replies to those (they carry the job's path).
    """

    at_usec: int
    kind: str
    """method_call, method_return, error or signal."""
    sender: str
    destination: str = ""
    member: str = ""
    cookie: int = 0
    reply_cookie: int = 0
    arguments: tuple[str, ...] = ()
    """The message's leading string arguments (a unit name, a job's object path)."""
    unit: str = ""
    """Always empty: a bus message names no unit of its own (the rules read ``unit``)."""


# -- JSON -------------------------------------------------------------------------
# Snapshots recorded from the lab are stored as JSON under tests/snapshots; the
# loader rebuilds the dataclasses from their type hints, so the file format
# follows the classes and cannot drift from them.

T = TypeVar("T")


def snapshot_to_json(snapshot: SystemSnapshot) -> str:
    """Serialise a snapshot to stable, diff-friendly JSON."""
    return json.dumps(dataclasses.asdict(snapshot), indent=1, sort_keys=True)


def snapshot_from_json(text: str) -> SystemSnapshot:
    """Rebuild a snapshot from :func:`snapshot_to_json` output."""
    snapshot: SystemSnapshot = _build(SystemSnapshot, json.loads(text))
    return snapshot


def records_to_json(records: Sequence[Any]) -> str:
    """Serialise journal entries or bus signals (any list of these dataclasses)."""
    return json.dumps(
        [{"type": type(r).__name__, **dataclasses.asdict(r)} for r in records], indent=1
    )


_RECORD_TYPES: dict[str, type] = {
    "JournalEntry": JournalEntry,
    "JobSignal": JobSignal,
    "UnitChange": UnitChange,
    "BusMessage": BusMessage,
}


def records_from_json(text: str) -> list[JournalEntry | JobSignal | UnitChange | BusMessage]:
    """Rebuild what :func:`records_to_json` wrote."""
    records: list[JournalEntry | JobSignal | UnitChange | BusMessage] = []
    for item in json.loads(text):
        kind = _RECORD_TYPES[item.pop("type")]
        records.append(_build(kind, item))
    return records


def from_jsonable(cls: type[T], value: Any) -> T:
    """Rebuild a frozen dataclass (any of ours, a plan too) from ``dataclasses.asdict`` data."""
    built: T = _build(cls, value)
    return built


def _build(cls: Any, value: Any) -> Any:
    origin = typing.get_origin(cls)
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return cls(value)
    if dataclasses.is_dataclass(cls) and isinstance(cls, type):
        hints = typing.get_type_hints(cls)
        return cls(**{f.name: _build(hints[f.name], value[f.name])
                      for f in dataclasses.fields(cls) if f.name in value})
    if origin in (types.UnionType, typing.Union):
        if value is None:
            return None
        inner = [a for a in typing.get_args(cls) if a is not type(None)]
        return _build(inner[0], value)
    if origin is tuple:
        args = typing.get_args(cls)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_build(args[0], v) for v in value)
        return tuple(_build(a, v) for a, v in zip(args, value, strict=True))
    if origin is dict:
        _key, val_type = typing.get_args(cls)
        return {k: _build(val_type, v) for k, v in value.items()}
    return value


Record = JournalEntry | JobSignal | UnitChange | BusMessage
"""What the timeline reads: journal entries, the manager's bus signals, and what a bus
monitor saw."""


def record_time(record: Record) -> int:
    """When a record happened, in microseconds of the realtime clock."""
    return record.realtime_usec if isinstance(record, JournalEntry) else record.at_usec
