"""The bus monitor's filter, on `busctl monitor --json=short` recorded on trixie with dbus-broker.

The recording: hostnamed stopped, then `hostnamectl` (tests/snapshots/bus/); the
lab test (tests/test_lab_versions.py) runs the monitor live under both buses.
"""

from __future__ import annotations

from pathlib import Path

from wizard.model.connection import Connection, address_connection
from wizard.system.bus_monitor import BusMonitor, monitor_command

RECORDED = (Path(__file__).parent / "snapshots" / "bus"
            / "busctl-monitor-257-broker-hostnamectl.jsonl")


def test_only_the_call_to_the_name_the_start_call_and_its_reply_are_kept() -> None:
    monitor = BusMonitor(Connection(), ["org.freedesktop.hostname1"])
    kept = monitor.parse(RECORDED.read_bytes().split(b"\n"))
    # hostnamectl's first call makes the bus activate the name; its later calls wait.
    assert [(m.kind, m.sender, m.destination, m.member, m.arguments) for m in kept[:3]] == [
        ("method_call", ":1.7", "org.freedesktop.hostname1", "GetAll", ("",)),
        ("method_call", ":1.2", "org.freedesktop.systemd1", "StartUnit",
         ("dbus-org.freedesktop.hostname1.service", "replace")),
        ("method_return", ":1.1", ":1.2", "", ("/org/freedesktop/systemd1/job/94",)),
    ]
    assert {(m.sender, m.destination) for m in kept[3:]} == {
        (":1.7", "org.freedesktop.hostname1")}
    start, reply = kept[1], kept[2]
    assert reply.reply_cookie == start.cookie
    assert all(m.at_usec > 0 for m in kept)


def test_a_unit_with_no_bus_name_keeps_only_start_calls() -> None:
    monitor = BusMonitor(Connection(), [])
    kept = monitor.parse(RECORDED.read_bytes().split(b"\n"))
    assert [m.member for m in kept if m.kind == "method_call"] == ["StartUnit"]


def test_the_monitor_runs_busctl_on_the_system_bus_or_a_labs_and_nowhere_else() -> None:
    assert monitor_command(Connection()) == ["busctl", "--system", "monitor", "--json=short"]
    lab = address_connection("unix:path=/proc/7/root/run/dbus/system_bus_socket",
                             files_root="/proc/7/root", enter_pid=7)
    assert monitor_command(lab) == [
        "busctl", "--address=unix:path=/proc/7/root/run/dbus/system_bus_socket", "monitor",
        "--json=short"]
    assert monitor_command(Connection(transport="user")) is None
    assert monitor_command(address_connection("unix:path=/run/x")) is None
    assert BusMonitor(Connection(transport="host", target="h"), ["a.b"]).note
