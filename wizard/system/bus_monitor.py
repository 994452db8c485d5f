"""A monitor on the system bus for watch: who called a bus name, and who asked systemd.

dbus-broker logs no activation request; its launcher asks systemd with a
StartUnit call, and systemd logs that only at debug level. A monitor
(``busctl monitor``, which calls org.freedesktop.DBus.Monitoring.BecomeMonitor;
root only) sees the caller's message to the bus name, the launcher's StartUnit
and systemd's reply carrying the job's path, at any log level and under either
bus. Only those messages are kept, as BusMessage records for analysis.timeline.
Only the busctl process it started is ever stopped, through its own Popen handle.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Collection
from typing import Any

from wizard.model.connection import Connection
from wizard.model.snapshots import BusMessage
from wizard.system.access import access_for, end_child

MANAGER = "org.freedesktop.systemd1"
START_METHODS = frozenset({
    "StartUnit", "StartUnitReplace", "StartUnitWithFlags", "RestartUnit", "TryRestartUnit",
    "ReloadOrRestartUnit", "ReloadOrTryRestartUnit", "EnqueueUnitJob",
})
"""The Manager's methods that name a unit to start (org.freedesktop.systemd1(5))."""
MONITOR_START_SECONDS = 3.0
"""How long watch waits for busctl to see the bus before it goes on without it."""
PROBE_SECONDS = 0.2
"""How long one probe call is looked for in the monitor's output before another is made."""


def monitor_command(connection: Connection) -> list[str] | None:
    """The busctl command line for the connection's bus; None when it cannot be monitored."""
    if connection.transport == "system":
        return ["busctl", "--system", "monitor", "--json=short"]
    if connection.transport == "address" and connection.enter_pid is not None:
        # A lab: its bus socket under /proc/LEADER/root, reached from here.
        return ["busctl", f"--address={connection.target}", "monitor", "--json=short"]
    return None


def _strings(payload: Any) -> tuple[str, ...]:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, list):
        return ()
    found = []
    for value in data[:2]:
        if not isinstance(value, str):
            break
        found.append(value)
    return tuple(found)


class BusMonitor:
    """``busctl monitor --json=short`` as a non-blocking stream of the messages watch needs."""

    def __init__(self, connection: Connection, bus_names: Collection[str]) -> None:
        self._connection = connection
        self._bus_names = frozenset(bus_names)
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""
        self._calls: set[tuple[str, int]] = set()
        """(sender, cookie) of the start calls kept: their replies carry the job."""
        command = monitor_command(connection)
        self._command = command
        self.note = ""
        if command is None:
            self.note = (f"the bus of {connection.label} cannot be monitored from here, so a "
                         "bus activation under dbus-broker is told only with --debug-log")
        elif os.geteuid() != 0:
            self.note = ("only root may monitor the bus (BecomeMonitor), so a bus activation "
                         "under dbus-broker is told only with --debug-log")

    def start(self) -> None:
        """Start busctl; a bus that cannot be monitored leaves a note."""
        if self.note or self._command is None:
            return
        access = access_for(None)
        if not access.has_program("busctl"):
            self.note = "busctl is not installed here; the bus is not monitored"
            return
        self._process = access.popen(self._command)
        assert self._process.stdout is not None
        os.set_blocking(self._process.stdout.fileno(), False)
        if not self._wait_until_monitoring():
            self.note = ("the bus monitor did not start in time, so a bus activation under "
                         "dbus-broker may be told only with --debug-log")

    def _wait_until_monitoring(self) -> bool:
        """Whether busctl sees the bus yet: it must, before watch lets anything happen.

        busctl becomes a monitor some milliseconds after it starts (it connects,
        then calls BecomeMonitor), and a call made before that is never seen. So
        a harmless call of our own (NameHasOwner of a name nobody has) is made
        until the monitor shows it; what it printed meanwhile is kept for
        read_available.
        """
        assert self._command is not None
        access = access_for(None)
        bus = self._command[:self._command.index("monitor")]  # busctl and its bus option
        probe = [*bus, "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                 "org.freedesktop.DBus", "NameHasOwner", "s"]
        deadline = time.monotonic() + MONITOR_START_SECONDS
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            marker = f"org.staydown.Probe.P{os.getpid()}N{attempt}"
            access.run([*probe, marker], timeout=MONITOR_START_SECONDS)
            seen_by = time.monotonic() + PROBE_SECONDS
            while time.monotonic() < min(seen_by, deadline):
                if self._raw_lines_until(marker):
                    return True
                time.sleep(0.005)
        return False

    def _raw_lines_until(self, marker: str) -> bool:
        """Read what busctl printed so far; True when a line holds ``marker``."""
        process = self._process
        assert process is not None
        assert process.stdout is not None
        try:
            chunk = os.read(process.stdout.fileno(), 65536)
        except BlockingIOError:
            return False
        self._pending += chunk
        return marker.encode() in self._pending

    def fileno(self) -> int | None:
        """The pipe to wait on with select(), or None when not monitoring."""
        if self._process is None or self._process.stdout is None:
            return None
        return self._process.stdout.fileno()

    def read_available(self) -> list[BusMessage]:
        """Every kept message written since the last call, without blocking."""
        process = self._process
        if process is None or process.stdout is None:
            return []
        chunks = []
        while True:
            try:
                chunk = os.read(process.stdout.fileno(), 65536)
            except BlockingIOError:
                break
            if not chunk:
                if process.poll() is not None and not self.note:
                    stderr = process.stderr.read() if process.stderr else b""
                    last = stderr.decode("utf-8", errors="replace").strip().splitlines()
                    self.note = "the bus monitor stopped" + (f": {last[-1]}" if last else "")
                break
            chunks.append(chunk)
        data = self._pending + b"".join(chunks)
        lines = data.split(b"\n")
        self._pending = lines.pop()
        return self.parse(lines)

    def parse(self, lines: list[bytes]) -> list[BusMessage]:
        """The messages worth keeping among busctl's JSON lines."""
        kept = []
        for line in lines:
            try:
                fields = json.loads(line)
            except ValueError:
                continue
            if isinstance(fields, dict):
                message = self._keep(fields)
                if message is not None:
                    kept.append(message)
        return kept

    def _keep(self, fields: dict[str, Any]) -> BusMessage | None:
        kind = str(fields.get("type", ""))
        sender = str(fields.get("sender") or "")
        destination = str(fields.get("destination") or "")
        member = str(fields.get("member") or "")
        cookie = int(fields.get("cookie") or 0)
        reply_cookie = int(fields.get("reply_cookie") or 0)
        if kind == "method_call":
            wanted = destination in self._bus_names or (
                destination == MANAGER and member in START_METHODS)
            if not wanted:
                return None
            if destination == MANAGER:
                self._calls.add((sender, cookie))
        elif kind in ("method_return", "error"):
            if (destination, reply_cookie) not in self._calls:
                return None
            self._calls.discard((destination, reply_cookie))
        else:
            return None
        # dbus-broker stamps each message; where none is given, its arrival is the time.
        at_usec = int(fields.get("timestamp-realtime") or 0) or time.time_ns() // 1000
        return BusMessage(
            at_usec=at_usec, kind=kind, sender=sender, destination=destination, member=member,
            cookie=cookie, reply_cookie=reply_cookie, arguments=_strings(fields.get("payload")),
        )

    def close(self) -> None:
        """Stop our busctl (SIGTERM, then SIGKILL) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        end_child(process)

    def __enter__(self) -> BusMonitor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
