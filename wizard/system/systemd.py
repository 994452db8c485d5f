"""The only module that talks to systemd: pystemd in, typed snapshots out.

Bytes are decoded here and nowhere else; D-Bus errors become staydown errors
with a sentence a person can act on (pystemd's dbusexc.DBUS_ERROR_MAP names
the ones worth telling apart).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from wizard.errors import (
    PermissionDeniedError,
    StaydownError,
    SystemdUnreachableError,
    UnitNotFoundError,
)
from wizard.model.connection import Connection
from wizard.model.snapshots import (
    DEPENDENCY_PROPERTIES,
    EXEC_PROPERTIES,
    AutomountDetails,
    ExecCommand,
    ExitStatusSet,
    JobSignal,
    ManagerSnapshot,
    PathDetails,
    ServiceDetails,
    SocketDetails,
    TimerDetails,
    UnitChange,
    UnitSnapshot,
)
from wizard.system.access import ssh_access


def _pystemd_without_its_package_init() -> None:
    """Register the pystemd package unexecuted, so its C modules import without lxml.

    pystemd/__init__.py imports pystemd.systemd1 and machine1, whose base module
    imports lxml.etree to parse introspection XML: about 30 ms of every run, for
    classes staydown never uses (it calls sd-bus through pystemd.dbuslib and maps
    errors with pystemd.dbusexc). Importing a submodule needs only the package's
    ``__path__``, which the module built from its spec has. If anything asks the
    package for a name it lacks, the package's own __init__ runs then, once,
    so ``pystemd.systemd1`` and the like keep working in the same process.
    """
    if "pystemd" in sys.modules:
        return
    spec = importlib.util.find_spec("pystemd")
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(name: str) -> Any:
        del package.__dict__["__getattr__"]
        loader.exec_module(package)
        return getattr(package, name)

    package.__dict__["__getattr__"] = complete
    sys.modules["pystemd"] = package


_pystemd_without_its_package_init()

import pystemd.dbusexc as dbusexc  # noqa: E402
from pystemd.dbuslib import DBus, DBusAddress, DBusMachine, apply_signature  # noqa: E402

SYSTEMD = b"org.freedesktop.systemd1"
MANAGER_PATH = b"/org/freedesktop/systemd1"
MANAGER_IFACE = b"org.freedesktop.systemd1.Manager"
PROPERTIES_IFACE = b"org.freedesktop.DBus.Properties"
UNIT_IFACE = b"org.freedesktop.systemd1.Unit"
JOB_IFACE = b"org.freedesktop.systemd1.Job"
UNIT_PATH_PREFIX = "/org/freedesktop/systemd1/unit/"
# The interface of each unit type whose properties a snapshot keeps; the other
# types (target, slice, mount, device, scope, swap) are read through Unit alone.
# A service's or socket's interface is most of its object (about 300 properties
# of exec, kill and cgroup context) and a target has none, so asking per
# interface halves what a neighbourhood costs to read and to convert.
TYPE_INTERFACES = {
    "service": "org.freedesktop.systemd1.Service",
    "socket": "org.freedesktop.systemd1.Socket",
    "timer": "org.freedesktop.systemd1.Timer",
    "path": "org.freedesktop.systemd1.Path",
    "automount": "org.freedesktop.systemd1.Automount",
}
# Of those two big interfaces, the properties unit_from_properties reads, each
# asked for with Get: on the private socket twenty Gets cost a third of one
# GetAll, whose reply pystemd turns into 300 Python objects. The small timer,
# path and automount interfaces are read whole.
TYPE_PROPERTIES = {
    "service": (
        "Type", "Restart", "RestartUSec", "RestartPreventExitStatus", "RestartForceExitStatus",
        "SuccessExitStatus", "NRestarts", "Result", "ExecMainCode", "ExecMainStatus",
        "ExecMainPID", "MainPID", "RemainAfterExit", "BusName", *EXEC_PROPERTIES,
    ),
    "socket": (
        "Listen", "Accept", "NConnections", "NAccepted", "NRefused", "Result",
        "ExecStartPre", "ExecStartPost",
    ),
}
# systemd's own socket, which systemctl uses as root (bus_connect_system_systemd in
# src/shared/bus-util.c): peer-to-peer, no dbus-daemon hop.
PRIVATE_SOCKET = "/run/systemd/private"
# systemd's log levels (LogLevel= of org.freedesktop.systemd1.Manager).
LOG_LEVELS = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _names(value: Any) -> tuple[str, ...]:
    return tuple(_text(v) for v in value or ())


def bus_label_escape(name: str) -> str:
    """Escape a unit name into its object path label (sd-bus bus_label_escape)."""
    if not name:
        return "_"
    out = []
    for index, char in enumerate(name):
        if char.isascii() and (char.isalpha() or (char.isdigit() and index > 0)):
            out.append(char)
        else:
            out.extend(f"_{byte:02x}" for byte in char.encode())
    return "".join(out)


def bus_label_unescape(label: str) -> str:
    """The inverse of :func:`bus_label_escape`: "_2d" back to "-"."""
    if label == "_":
        return ""
    out = bytearray()
    index = 0
    while index < len(label):
        if label[index] == "_" and index + 2 < len(label):
            try:
                out.append(int(label[index + 1:index + 3], 16))
                index += 3
                continue
            except ValueError:
                pass
        out.extend(label[index].encode())
        index += 1
    return out.decode("utf-8", errors="replace")


def _exit_status_set(value: Any) -> ExitStatusSet:
    if not value:
        return ExitStatusSet()
    statuses, signals = value
    return ExitStatusSet(tuple(int(s) for s in statuses), tuple(int(s) for s in signals))


def _exec_commands(props: dict[str, Any], settings: Sequence[str]) -> tuple[ExecCommand, ...]:
    commands: list[ExecCommand] = []
    for setting in settings:
        # a(sasbttttuii): path, argv, ignore-failure, then timestamps and pids.
        for entry in props.get(setting) or ():
            path, argv, ignore = entry[0], entry[1], entry[2]
            commands.append(ExecCommand(setting, _text(path), _names(argv), bool(ignore)))
    return tuple(commands)


def _checks(value: Any) -> tuple[tuple[str, bool, bool, str, int], ...]:
    # a(sbbsi): type, trigger (|), negate (!), parameter, state of the last check
    # (0 never checked, >0 passed, <0 failed).
    return tuple(
        (_text(kind), bool(trigger), bool(negate), _text(param), int(state))
        for kind, trigger, negate, param, state in value or ()
    )


# systemd's USEC_INFINITY: "never" (a stopped timer has no next elapse).
USEC_INFINITY = (1 << 64) - 1


def _usec(value: Any) -> int:
    number = int(value or 0)
    return 0 if number == USEC_INFINITY else number


def _wall_clock(props: dict[str, Any], mono_key: str, real_key: str, shares_clock: bool) -> int:
    real = _usec(props.get(real_key))
    mono = _usec(props.get(mono_key))
    if real or not mono or not shares_clock:
        return real
    # Monotonic timers only report a monotonic deadline; containers share the
    # kernel's CLOCK_MONOTONIC with us, so it converts to wall time exactly.
    now_real = time.clock_gettime_ns(time.CLOCK_REALTIME) // 1000
    now_mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return now_real + (mono - now_mono)


def unit_from_properties(
    name: str, props: dict[str, Any], *, shares_clock: bool = True
) -> UnitSnapshot:
    """Build a snapshot from decoded GetAll() properties of a unit object."""
    kind = name.rpartition(".")[2]
    service = timer = socket = path = automount = None
    if kind == "service":
        service = ServiceDetails(
            type=_text(props.get("Type", "simple")),
            restart=_text(props.get("Restart", "no")),
            restart_usec=int(props.get("RestartUSec") or 0),
            restart_prevent_exit_status=_exit_status_set(props.get("RestartPreventExitStatus")),
            restart_force_exit_status=_exit_status_set(props.get("RestartForceExitStatus")),
            success_exit_status=_exit_status_set(props.get("SuccessExitStatus")),
            n_restarts=int(props.get("NRestarts") or 0),
            result=_text(props.get("Result", "success")),
            exec_main_code=int(props.get("ExecMainCode") or 0),
            exec_main_status=int(props.get("ExecMainStatus") or 0),
            exec_main_pid=int(props.get("ExecMainPID") or 0),
            main_pid=int(props.get("MainPID") or 0),
            remain_after_exit=bool(props.get("RemainAfterExit", False)),
            bus_name=_text(props.get("BusName", "")),
            exec_commands=_exec_commands(props, EXEC_PROPERTIES),
        )
    elif kind == "timer":
        timer = TimerDetails(
            unit=_text(props.get("Unit", "")),
            monotonic=tuple(
                (_text(b), _usec(v), _usec(n)) for b, v, n in props.get("TimersMonotonic") or ()
            ),
            calendar=tuple(
                (_text(b), _text(s), _usec(n)) for b, s, n in props.get("TimersCalendar") or ()
            ),
            next_elapse_realtime_usec=_wall_clock(
                props, "NextElapseUSecMonotonic", "NextElapseUSecRealtime", shares_clock
            ),
            last_trigger_realtime_usec=_usec(props.get("LastTriggerUSec")),
            persistent=bool(props.get("Persistent", False)),
            result=_text(props.get("Result", "success")),
        )
    elif kind == "socket":
        socket = SocketDetails(
            listen=tuple((_text(t), _text(a)) for t, a in props.get("Listen") or ()),
            accept=bool(props.get("Accept", False)),
            n_connections=int(props.get("NConnections") or 0),
            n_accepted=int(props.get("NAccepted") or 0),
            n_refused=int(props.get("NRefused") or 0),
            result=_text(props.get("Result", "success")),
            exec_commands=_exec_commands(props, ("ExecStartPre", "ExecStartPost")),
        )
    elif kind == "path":
        path = PathDetails(
            unit=_text(props.get("Unit", "")),
            paths=tuple((_text(t), _text(p)) for t, p in props.get("Paths") or ()),
            result=_text(props.get("Result", "success")),
        )
    elif kind == "automount":
        automount = AutomountDetails(
            where=_text(props.get("Where", "")), result=_text(props.get("Result", "success"))
        )
    load_error = props.get("LoadError") or ("", "")
    invocation = props.get("InvocationID") or b""
    return UnitSnapshot(
        name=name,
        names=_names(props.get("Names")) or (name,),
        description=_text(props.get("Description", "")),
        load_state=_text(props.get("LoadState", "")),
        active_state=_text(props.get("ActiveState", "")),
        sub_state=_text(props.get("SubState", "")),
        unit_file_state=_text(props.get("UnitFileState", "")),
        unit_file_preset=_text(props.get("UnitFilePreset", "")),
        fragment_path=_text(props.get("FragmentPath", "")),
        source_path=_text(props.get("SourcePath", "")),
        drop_in_paths=_names(props.get("DropInPaths")),
        transient=bool(props.get("Transient", False)),
        need_daemon_reload=bool(props.get("NeedDaemonReload", False)),
        load_error=(_text(load_error[0]), _text(load_error[1])),
        dependencies={p: _names(props[p]) for p in DEPENDENCY_PROPERTIES if props.get(p)},
        active_enter_realtime_usec=_usec(props.get("ActiveEnterTimestamp")),
        inactive_enter_realtime_usec=_usec(props.get("InactiveEnterTimestamp")),
        state_change_realtime_usec=_usec(props.get("StateChangeTimestamp")),
        invocation_id=bytes(invocation).hex() if not isinstance(invocation, str) else invocation,
        stop_when_unneeded=bool(props.get("StopWhenUnneeded", False)),
        refuse_manual_start=bool(props.get("RefuseManualStart", False)),
        refuse_manual_stop=bool(props.get("RefuseManualStop", False)),
        on_success_job_mode=_text(props.get("OnSuccessJobMode", "fail")) or "fail",
        can_start=bool(props.get("CanStart", True)),
        condition_result=bool(props.get("ConditionResult", True)),
        condition_timestamp_realtime_usec=_usec(props.get("ConditionTimestamp")),
        assert_result=bool(props.get("AssertResult", True)),
        assert_timestamp_realtime_usec=_usec(props.get("AssertTimestamp")),
        conditions=_checks(props.get("Conditions")),
        asserts=_checks(props.get("Asserts")),
        service=service,
        timer=timer,
        socket=socket,
        path=path,
        automount=automount,
    )


def _describe_errno(errno_value: int) -> str:
    try:
        return os.strerror(abs(errno_value))
    except (ValueError, OverflowError):
        return f"error {errno_value}"


def _translate(error: Exception, connection: Connection) -> StaydownError:
    """Turn a pystemd error into one a person can act on."""
    where = connection.label
    if isinstance(
        error,
        dbusexc.DBusAccessDeniedError | dbusexc.DBusInteractiveAuthorizationRequiredError,
    ):
        return PermissionDeniedError(
            f"{where} refused the request: {getattr(error, 'err_message', '')!s}".rstrip(": "),
            "run staydown as root (sudo), or as a user polkit allows to manage units",
        )
    if isinstance(error, dbusexc.DBusServiceUnknownError | dbusexc.DBusNameHasNoOwnerError):
        return SystemdUnreachableError(
            f"there is a bus but no systemd on it ({where})",
            "is systemd the init system here? try --machine NAME or --host HOST",
        )
    errno_value = int(getattr(error, "errno", 0) or 0)
    if connection.transport == "host":
        # The bus is systemd-stdio-bridge run over the ssh master; when that
        # fails, sd-bus only sees the pipe close.
        return SystemdUnreachableError(
            f"cannot reach the system bus of {where}: "
            f"{_describe_errno(errno_value) if errno_value else error}",
            "check that `ssh HOST systemd-stdio-bridge --version` works (it ships with "
            "systemd) and that HOST runs systemd",
        )
    if errno_value in (-13, -1):
        return PermissionDeniedError(
            f"permission denied connecting to {where}", "run staydown as root (sudo)"
        )
    return SystemdUnreachableError(
        f"cannot reach {where}: {_describe_errno(errno_value) if errno_value else error}",
        "is systemd running? for a container use --machine NAME, for another host --host HOST",
    )


class SystemdClient:
    """An open connection to one service manager; it writes only what watch asks for.

    StopUnit (watch --stop) and the manager's LogLevel (watch --debug-log) are the
    only calls that change anything; everything else reads.
    """

    def __init__(self, bus: DBus, connection: Connection) -> None:
        self._bus = bus
        self.connection = connection

    def _call(self, path: bytes, iface: bytes, method: bytes, sig: bytes, args: list[Any]) -> Any:
        try:
            return self._bus.call_method(
                SYSTEMD, path, iface, method, apply_signature(sig, args) if sig else []
            ).body
        except dbusexc.DBusBaseError as error:
            raise _translate(error, self.connection) from error

    def manager(self) -> ManagerSnapshot:
        """Version and overall state of the manager, stamped with the time."""
        # Two Gets: GetAll of the manager is a hundred properties (paths,
        # environment, defaults) that nobody here reads.
        props = {
            name: self._call(MANAGER_PATH, PROPERTIES_IFACE, b"Get", b"ss",
                             [MANAGER_IFACE, name.encode()])
            for name in ("Version", "SystemState")
        }
        return ManagerSnapshot(
            version=_text(props.get("Version", "")),
            scope=self.connection.scope,
            system_state=_text(props.get("SystemState", "")),
            captured_realtime_usec=time.time_ns() // 1000,
        )

    def unit_properties(self, name: str, interface: str = "") -> dict[str, Any]:
        """All properties of a unit (of one interface, or every one), decoded keys."""
        path = b"/org/freedesktop/systemd1/unit/" + bus_label_escape(name).encode()
        # Reading the object loads the unit from disk when it is not loaded, as
        # `systemctl show` does; an empty interface name returns every interface.
        raw = self._call(path, PROPERTIES_IFACE, b"GetAll", b"s", [interface.encode()])
        return {_text(k): v for k, v in raw.items()}

    def load_unit(self, name: str, *, service_if_active: bool = True) -> UnitSnapshot:
        """Snapshot one unit; a unit systemd cannot find comes back not-found.

        Unit's properties in one GetAll, then the type's own (TYPE_INTERFACES,
        TYPE_PROPERTIES). ``service_if_active=False`` leaves out the Service
        details of a service that is active: ``service`` is then None (for the
        pull-ins below the walk, whose start jobs are redundant, so nothing
        reads how such a service restarts or what it runs).
        """
        props = self.unit_properties(name, UNIT_IFACE.decode())
        kind = name.rpartition(".")[2]
        interface = TYPE_INTERFACES.get(kind)
        if kind == "service" and not service_if_active \
                and _text(props.get("ActiveState", "")) == "active":
            snapshot = unit_from_properties(name, props,
                                            shares_clock=self.connection.shares_clock)
            return dataclasses.replace(snapshot, service=None)
        if interface is not None:
            wanted = TYPE_PROPERTIES.get(kind)
            chosen = None if wanted is None else self._some_properties(name, interface, wanted)
            props.update(self.unit_properties(name, interface) if chosen is None else chosen)
        return unit_from_properties(name, props, shares_clock=self.connection.shares_clock)

    def _some_properties(
        self, name: str, interface: str, wanted: Sequence[str]
    ) -> dict[str, Any] | None:
        """Properties of one interface, one Get each; None when any Get fails.

        A property this systemd does not have (ExecCondition= came in 243) or a
        unit that went away mid-way: the caller then reads the interface whole,
        which answers or fails the way it always did.
        """
        path = UNIT_PATH_PREFIX.encode() + bus_label_escape(name).encode()
        iface = interface.encode()
        found: dict[str, Any] = {}
        try:
            for prop in wanted:
                found[prop] = self._call(path, PROPERTIES_IFACE, b"Get", b"ss",
                                         [iface, prop.encode()])
        except StaydownError:
            return None
        return found

    def unit_names(self) -> list[str]:
        """Every unit loaded now or present on disk, for suggestions and completion."""
        loaded = self._call(MANAGER_PATH, MANAGER_IFACE, b"ListUnits", b"", [])
        names = {_text(row[0]) for row in loaded}
        try:
            files = self._call(MANAGER_PATH, MANAGER_IFACE, b"ListUnitFiles", b"", [])
            names.update(os.path.basename(_text(row[0])) for row in files)
        except StaydownError:
            pass  # listing files may be refused where listing units is not
        return sorted(names)

    def jobs(self) -> list[tuple[int, str, str, str]]:
        """Every queued job as (id, unit, type, state), like ``systemctl list-jobs``."""
        rows = self._call(MANAGER_PATH, MANAGER_IFACE, b"ListJobs", b"", [])
        return [(int(row[0]), _text(row[1]), _text(row[2]), _text(row[3])) for row in rows]

    # -- for watch: the only calls that change anything, each asked for by name --

    def log_level(self) -> str:
        """The manager's current log level (systemd-analyze log-level)."""
        return _text(self._call(MANAGER_PATH, PROPERTIES_IFACE, b"Get", b"ss",
                                [MANAGER_IFACE, b"LogLevel"]))

    def set_log_level(self, level: str) -> None:
        """Set the manager's log level, like ``systemd-analyze log-level LEVEL``."""
        if level not in LOG_LEVELS:
            raise ValueError(f"not a systemd log level: {level!r}")
        # Properties.Set(ssv); pystemd's apply_signature has no variants, so
        # the container is written out: open "v" with signature "s", close.
        args = [(ord("s"), MANAGER_IFACE), (ord("s"), b"LogLevel"), (ord("v"), b"s"),
                (ord("s"), level.encode()), (-1, None)]
        try:
            self._bus.call_method(SYSTEMD, MANAGER_PATH, PROPERTIES_IFACE, b"Set", args)
        except dbusexc.DBusBaseError as error:
            raise _translate(error, self.connection) from error

    def stop_unit(self, name: str) -> int:
        """Queue a stop job (mode "replace", like systemctl stop); its job ID."""
        path = _text(self._call(MANAGER_PATH, MANAGER_IFACE, b"StopUnit", b"ss",
                                [name.encode(), b"replace"]))
        return int(path.rpartition("/")[2] or 0)

    def job_type(self, job_id: int) -> str:
        """A queued job's type (start, stop, restart, ...), or "" once it is gone."""
        try:
            value = self._bus.get_property(
                SYSTEMD, f"/org/freedesktop/systemd1/job/{job_id}".encode(), JOB_IFACE,
                b"JobType", b"s",
            )
        except dbusexc.DBusBaseError:
            return ""
        return _text(value)

    def bus_peer_unit(self, name: str) -> str:
        """The unit of the process behind a unique bus name (":1.2"), or "" if unknown.

        For watch: dbus-broker's launcher asks systemd to start an activated
        service with StartUnit, and systemd's debug log names only the sender.
        """
        try:
            pid = self._bus.call_method(
                b"org.freedesktop.DBus", b"/org/freedesktop/DBus", b"org.freedesktop.DBus",
                b"GetConnectionUnixProcessID", apply_signature(b"s", [name.encode()]),
            ).body
            path = self._bus.call_method(
                SYSTEMD, MANAGER_PATH, MANAGER_IFACE, b"GetUnitByPID",
                apply_signature(b"u", [int(pid)]),
            ).body
            return _text(self._bus.get_property(SYSTEMD, path, UNIT_IFACE, b"Id", b"s"))
        except (dbusexc.DBusBaseError, TypeError, ValueError):
            return ""  # the peer has gone, or is no process systemd knows

    def subscribe(self, units: Collection[str] | None = None) -> ManagerSignals:
        """Start receiving job and state changes (Manager.Subscribe); None: every unit."""
        return ManagerSignals(self, None if units is None else frozenset(units))

    def require_unit(self, name: str) -> UnitSnapshot:
        """Snapshot a unit that must exist, or raise with close names suggested."""
        snapshot = self.load_unit(name)
        if snapshot.load_state == "not-found":
            raise UnitNotFoundError(name, close_unit_names(name, self.unit_names()))
        return snapshot


def _now_usec() -> int:
    return time.time_ns() // 1000


class ManagerSignals:
    """JobNew/JobRemoved and unit PropertiesChanged signals, as typed records.

    systemd sends these only to clients that called Subscribe() (its D-Bus API,
    org.freedesktop.systemd1(5)); the subscription ends with the connection.
    Each record is stamped with the time it was received.
    """

    def __init__(self, client: SystemdClient, units: frozenset[str] | None) -> None:
        self._client = client
        self._units = units
        self._received: list[JobSignal | UnitChange] = []
        self._calls = 0
        self._failure: Exception | None = None
        bus = client._bus

        def on_job(message: Any) -> None:
            self._calls += 1
            message.process_reply(True)
            member = message.headers.get("Member", b"")
            body = message.body
            unit = _text(body[2])
            if self._units is not None and unit not in self._units:
                return
            removed = member == b"JobRemoved"
            self._received.append(JobSignal(
                at_usec=_now_usec(), job_id=int(body[0]), unit=unit, removed=removed,
                result=_text(body[3]) if removed else "",
            ))

        def on_properties(message: Any) -> None:
            self._calls += 1
            message.process_reply(True)
            path = _text(message.headers.get("Path", b""))
            interface, changed = message.body[0], message.body[1]
            if interface != UNIT_IFACE or not path.startswith(UNIT_PATH_PREFIX):
                return
            unit = bus_label_unescape(path[len(UNIT_PATH_PREFIX):])
            if (self._units is not None and unit not in self._units) \
                    or b"ActiveState" not in changed:
                return
            job = changed.get(b"Job") or (0, b"/")
            invocation = changed.get(b"InvocationID") or b""
            self._received.append(UnitChange(
                at_usec=_now_usec(), unit=unit,
                active_state=_text(changed[b"ActiveState"]),
                sub_state=_text(changed.get(b"SubState", b"")),
                job_id=int(job[0]),
                invocation_id=bytes(invocation).hex(),
            ))

        def guarded(handler: Any) -> Any:
            # An exception cannot leave a pystemd callback (it turns into a
            # SystemError later); keep it and raise it from drain().
            def callback(message: Any, error: Any = None, userdata: Any = None) -> None:
                try:
                    handler(message)
                except Exception as failure:
                    self._failure = failure

            return callback

        # pystemd keeps only a borrowed pointer to each callback: hold them here.
        self._callbacks = (guarded(on_job), guarded(on_job), guarded(on_properties))
        try:
            for member, callback in zip((b"JobNew", b"JobRemoved"), self._callbacks,
                                        strict=False):
                bus.match_signal(SYSTEMD, MANAGER_PATH, MANAGER_IFACE, member, callback)
            bus.match_signal(SYSTEMD, None, PROPERTIES_IFACE, b"PropertiesChanged",
                             self._callbacks[2])
        except dbusexc.DBusBaseError as error:
            raise _translate(error, client.connection) from error
        client._call(MANAGER_PATH, MANAGER_IFACE, b"Subscribe", b"", [])

    def fileno(self) -> int:
        """The bus socket, to wait on with select()."""
        return int(self._client._bus.get_fd())

    def drain(self) -> list[JobSignal | UnitChange]:
        """Every signal received since the last call, oldest first, without blocking.

        New jobs get their type read while they still exist; a job that already
        finished keeps an empty type, which the timeline infers from the state.
        """
        bus = self._client._bus
        # sd_bus_process() does one piece of work per call; pystemd hides its
        # return value, and a signal our callbacks consumed leaves no message.
        # So keep going while a call returned a message or ran a callback.
        try:
            for _ in range(10_000):
                before = self._calls
                if bus.process().is_empty() and self._calls == before:
                    break
        except dbusexc.DBusBaseError as error:
            raise _translate(error, self._client.connection) from error
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure
        received, self._received = self._received, []
        return [
            JobSignal(r.at_usec, r.job_id, r.unit, r.removed, r.result,
                      self._client.job_type(r.job_id))
            if isinstance(r, JobSignal) and not r.removed else r
            for r in received
        ]


def close_unit_names(name: str, candidates: Sequence[str], limit: int = 5) -> tuple[str, ...]:
    """Names an operator probably meant: similar stems, same type first.

    Never the name itself: systemd lists units it was asked about but could not
    find (ListUnits shows them as not-found), and suggesting the very name that
    was not found helps nobody.
    """
    stem, _, kind = name.rpartition(".")
    by_stem: dict[str, list[str]] = {}
    for candidate in candidates:
        if "@." not in candidate and candidate != name:
            by_stem.setdefault(candidate.rpartition(".")[0], []).append(candidate)
    import difflib  # only when a name was not found: not worth every run's start-up

    close_stems = difflib.get_close_matches(stem, list(by_stem), n=limit, cutoff=0.7)
    close_stems += [s for s in by_stem if stem and stem in s and s not in close_stems]
    found = [
        c
        for s in close_stems
        for c in sorted(by_stem[s], key=lambda c: (not c.endswith(f".{kind}"), c))
    ]
    return tuple(found[:limit])


def _private_bus() -> DBus | None:
    """Open systemd's private socket when we are root and it answers; else None."""
    if os.geteuid() != 0 or not os.path.exists(PRIVATE_SOCKET):
        return None
    bus = DBusAddress(f"unix:path={PRIVATE_SOCKET}".encode(), peer_to_peer=True)
    try:
        bus.open()
    except dbusexc.DBusBaseError:
        bus.close()
        return None
    return bus


def _new_bus(connection: Connection) -> DBus:
    match connection.transport:
        case "system":
            return DBus()
        case "user":
            return DBus(user_mode=True)
        case "machine":
            return DBusMachine(connection.target.encode())
        case "host":
            # Through our own ssh master (one authentication, the operator's
            # -o options), rather than sd_bus_open_system_remote's plain ssh.
            return DBusAddress(ssh_access(connection).bus_address().encode())
        case "address":
            return DBusAddress(connection.target.encode())
    raise AssertionError(connection.transport)


@contextmanager
def systemd_client(connection: Connection, *, direct: bool = True) -> Iterator[SystemdClient]:
    """Open a connection to the chosen manager for the duration of a block.

    As root on the local system manager this is systemd's private socket, as
    systemctl does (``direct``); without root, without that socket, or with
    ``direct=False`` it is the system bus.
    """
    bus = _private_bus() if direct and connection.transport == "system" else None
    if bus is None:
        bus = _new_bus(connection)
        try:
            bus.open()
        except dbusexc.DBusBaseError as error:
            raise _translate(error, connection) from error
    try:
        yield SystemdClient(bus, connection)
    finally:
        bus.close()


def machine_files_root(name: str) -> str | None:
    """The /proc/PID/root of a machined-registered container, or None."""
    try:
        with DBus() as bus:
            path = bus.call_method(
                b"org.freedesktop.machine1",
                b"/org/freedesktop/machine1",
                b"org.freedesktop.machine1.Manager",
                b"GetMachine",
                apply_signature(b"s", [name.encode()]),
            ).body
            leader = bus.get_property(
                b"org.freedesktop.machine1",
                path,
                b"org.freedesktop.machine1.Machine",
                b"Leader",
                b"u",
            )
    except dbusexc.DBusBaseError:
        return None
    return f"/proc/{int(leader)}/root"
