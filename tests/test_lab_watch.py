"""staydown watch on a real systemd: revivals attributed within a second, log level restored."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.lab_helpers import (
    connect_tcp,
    diagnose_json,
    is_active,
    quiet_timer_window,
    wait_until,
)
from wizard.errors import ExitCode
from wizard.lab.nspawn import Lab, scenario_from_directory
from wizard.model.snapshots import JournalEntry
from wizard.system.journal import JournalFollower, journal_source
from wizard.system.systemd import SystemdClient, systemd_client
from wizard.system.watch import raised_log_level

pytestmark = pytest.mark.lab

DAEMON = "widget-daemon.service"
STAYDOWN = str(Path(sys.executable).with_name("staydown"))


@dataclass
class Line:
    """One JSON line of watch --json and the moment the test read it."""

    data: dict[str, Any]
    read_usec: int


class WatchProcess:
    """staydown watch --json in a subprocess, its lines read as they come."""

    def __init__(self, lab: Lab, *options: str, unit: str = DAEMON) -> None:
        self.process = subprocess.Popen(
            [STAYDOWN, "watch", "--lab", lab.name, "--json", *options, unit],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.lines: queue.Queue[Line | None] = queue.Queue()
        self.seen: list[Line] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            self.lines.put(Line(json.loads(text), time.time_ns() // 1000))
        self.lines.put(None)

    def next(self, predicate: Any, timeout: float = 15.0) -> Line:
        """The next line the predicate accepts (earlier lines are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            if predicate(line.data):
                return line
        stderr = self.process.stderr.read() if self.process.poll() is not None and \
            self.process.stderr else ""
        raise AssertionError(f"no matching line; seen: {[s.data for s in self.seen]} {stderr}")

    def finish(self, timeout: float = 30.0) -> tuple[int, list[dict[str, Any]]]:
        """Wait for the end; the exit status and every line."""
        code = self.process.wait(timeout=timeout)
        while True:
            line = self.lines.get(timeout=timeout)
            if line is None:
                break
            self.seen.append(line)
        return code, [s.data for s in self.seen]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def watching(lab: Lab, *options: str, unit: str = DAEMON) -> Iterator[WatchProcess]:
    watch = WatchProcess(lab, *options, unit=unit)
    try:
        yield watch
    finally:
        watch.kill()


def is_start(data: dict[str, Any]) -> bool:
    return data.get("type") == "event" and data["event"] == "start"


def log_level(lab: Lab) -> str:
    with systemd_client(lab.connection) as client:
        return client.log_level()


def assert_prompt(line: Line) -> None:
    """Reported as it happened: after systemd's own timestamp, and said how long after.

    How long after is a speed, and speed is measured in bench/, not asserted
    here (a loaded CI machine would make it flaky); docs/performance.md.
    """
    assert line.data["reported_after_ms"] >= 0, line.data
    assert line.read_usec >= line.data["at_usec"], line.data


def test_watch_names_the_socket_and_the_reconcile_timer_as_they_happen(lab_factory):
    lab = lab_factory("article")
    quiet_timer_window(lab, "widget-reconcile.timer", 3.5)
    with watching(lab, "--stop", "--seconds", "20") as watch:
        stopped = watch.next(lambda d: d.get("type") == "event" and d["event"] == "stop")
        assert stopped.data["summary"].startswith("stopped by a stop job")
        assert not is_active(lab, DAEMON)

        connect_tcp(lab, 8080)
        socket = watch.next(is_start)
        assert (socket.data["cause"], socket.data["source"], socket.data["chain"],
                socket.data["certainty"]) == (
            "triggered", "widget-daemon.socket", ["widget-daemon.socket", DAEMON], "recorded")
        assert_prompt(socket)

        lab.systemctl("stop", "widget-daemon.socket", DAEMON)
        timer = watch.next(is_start, timeout=10)
        assert (timer.data["cause"], timer.data["source"], timer.data["chain"]) == (
            "pulled-in", "widget-reconcile.timer",
            ["widget-reconcile.timer", "widget-reconcile.service", DAEMON])
        assert_prompt(timer)

        code, lines = watch.finish()
    assert code == ExitCode.LIVE_SOURCES
    assert lines[0]["type"] == "watch"
    assert [s["source"] for s in lines[0]["live_sources"]] == [
        "widget-daemon.socket", "widget-reconcile.timer"]
    assert lines[-1]["type"] == "summary"
    assert (lines[-1]["revivals"], lines[-1]["ended_by"]) == (2, "time")


def test_a_second_manual_start_is_not_the_socket_running_for_the_first(lab_factory):
    """A socket follows its service: "running" while the service runs (a manual
    start puts it there too), "listening" again at the stop. A systemctl start
    right after is not the socket's doing, though it was running a moment ago."""
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-reconcile.timer", DAEMON)
    with watching(lab, "--seconds", "6") as watch:
        watch.next(lambda d: d.get("type") == "watch")
        starts = []
        for _ in range(2):
            lab.systemctl("stop", DAEMON)
            lab.systemctl("start", DAEMON)
            starts.append(watch.next(is_start).data)
        code, _lines = watch.finish()
    assert starts[1]["at_usec"] - starts[0]["at_usec"] < 2_000_000  # one rule window
    for start in starts:
        assert (start["cause"], start["source"], start["certainty"]) == (
            "manual", "", "inferred"), json.dumps(start)
    assert code == ExitCode.LIVE_SOURCES


def test_the_follower_catches_up_on_the_files_and_hands_each_entry_on_once(lab_factory):
    """journald tells followers of new entries 250-500 ms late; catch_up() reads the
    files at once. The stream then brings the same entries, which it must not repeat."""
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-reconcile.timer", DAEMON)
    source = journal_source(lab.connection)
    with JournalFollower(source, [], time.time_ns() // 1000) as follower:
        assert follower.can_catch_up
        handed: list[JournalEntry] = []
        lab.systemctl("start", DAEMON)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                e.unit == DAEMON and e.job_type == "start" and e.job_result for e in handed):
            handed += follower.catch_up()
            time.sleep(0.02)
        assert handed, "catch_up() never read the start's result line"
        quiet = time.monotonic() + 1.5  # past journald's latest wake-up
        while time.monotonic() < quiet:
            handed += follower.read_available()
            time.sleep(0.05)
    cursors = [e.cursor for e in handed]
    assert all(cursors)
    assert len(set(cursors)) == len(cursors), "an entry was handed on twice"
    results = [e for e in handed if e.unit == DAEMON and e.job_type == "start" and e.job_result]
    assert len(results) == 1, results


def test_watch_attributes_a_sigkill_restart_to_the_restart_policy(lab_factory):
    lab = lab_factory("article")
    lab.systemctl("stop", "widget-reconcile.timer", "widget-daemon.socket")
    lab.systemctl("start", DAEMON)
    with watching(lab, "--seconds", "8") as watch:
        watch.next(lambda d: d.get("type") == "watch")
        time.sleep(0.5)
        lab.exec(["bash", "-c",
                  f"kill -KILL $(systemctl show --property=MainPID --value {DAEMON})"],
                 check=True)
        killed = watch.next(lambda d: d.get("type") == "event" and d["event"] == "stop")
        assert (killed.data["cause"], killed.data["result"]) == ("killed", "signal")
        restart = watch.next(is_start, timeout=6)
        assert (restart.data["cause"], restart.data["source"], restart.data["chain"]) == (
            "restart-policy", DAEMON, [DAEMON])
        assert_prompt(restart)
        code, _lines = watch.finish()
    assert code == ExitCode.LIVE_SOURCES


def test_watch_without_revivals_exits_0(lab_factory):
    lab = lab_factory("control")
    with watching(lab, "--stop", "--seconds", "2", unit="quiet.service") as watch:
        code, lines = watch.finish()
    assert code == ExitCode.OK
    assert lines[-1]["revivals"] == 0
    assert not is_active(lab, "quiet.service")


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM],
                         ids=lambda s: signal.Signals(s).name)
def test_interrupted_watch_puts_the_previous_log_level_back(lab_factory, signal_number):
    lab = lab_factory("article")
    with systemd_client(lab.connection) as client:
        client.set_log_level("notice")  # not the default, so "back to info" would be wrong
    with watching(lab, "--debug-log") as watch:
        watch.next(lambda d: d.get("type") == "note" and "log level is debug" in d["note"])
        assert log_level(lab) == "debug"
        watch.process.send_signal(signal_number)
        code, lines = watch.finish()
    assert log_level(lab) == "notice"
    assert code == ExitCode.OK  # nothing revived; ending by a signal is a normal end
    ended_by = {signal.SIGINT: "interrupt", signal.SIGTERM: "terminate"}[signal_number]
    assert lines[-1]["ended_by"] == ended_by
    assert any("log level is notice again" in line.get("note", "") for line in lines)


def test_debug_log_turns_the_socket_start_into_recorded_journal_evidence(lab_factory):
    lab = lab_factory("article")
    quiet_timer_window(lab, "widget-reconcile.timer", 3.5)
    with watching(lab, "--stop", "--seconds", "4", "--debug-log") as watch:
        watch.next(lambda d: d.get("type") == "event" and d["event"] == "stop")
        connect_tcp(lab, 8080)
        socket = watch.next(is_start)
        assert socket.data["source"] == "widget-daemon.socket"
        watch.finish()
    assert log_level(lab) == "info"
    # After the watch, diagnose reads the debug lines back from the journal.
    _code, document = diagnose_json(lab, DAEMON)
    start = [e for e in document["timeline"]["events"] if e["event"] == "start"][-1]
    assert (start["cause"], start["source"], start["certainty"]) == (
        "triggered", "widget-daemon.socket", "recorded")
    assert any("incoming traffic (debug log)" in e["fact"] for e in start["evidence"])


def test_log_level_comes_back_when_the_watched_block_fails(lab_factory):
    lab = lab_factory("control")
    notes: list[str] = []
    levels: list[str] = []

    def fail_while_raised(client: SystemdClient) -> None:
        with raised_log_level(client, True, notes.append):
            levels.append(client.log_level())
            raise RuntimeError("boom")

    with systemd_client(lab.connection) as client:
        with pytest.raises(RuntimeError, match="boom"):
            fail_while_raised(client)
        levels.append(client.log_level())
    assert levels == ["debug", "info"]
    assert notes[-1] == "systemd's log level is info again"


def test_readable_watch_shows_the_revival_its_chain_and_the_verdict(lab_factory):
    lab = lab_factory("article")
    quiet_timer_window(lab, "widget-reconcile.timer", 4.0)

    def client_connects() -> None:
        wait_until(lambda: not is_active(lab, DAEMON), timeout=3)
        connect_tcp(lab, 8080)

    threading.Thread(target=client_connects, daemon=True).start()
    result = run_cli("watch", "--lab", lab.name, "--stop", "--seconds", "3", "widget-daemon")

    assert result.code == ExitCode.LIVE_SOURCES, result.stderr
    out = result.stdout
    assert out.startswith(f"watching {DAEMON} on lab {lab.name} for 3 s")
    assert "REVIVED  triggered" in out
    assert f"chain: widget-daemon.socket → {DAEMON}" in out
    assert "widget-daemon.socket: 1 × triggered (reported within" in out
    assert out.index("stopped  clean") < out.index("REVIVED")


def test_watch_attributes_an_on_failure_start_to_a_unit_loaded_only_then(lab_factory):
    # flaky.service is not even loaded when the watch starts: systemd learns that
    # its OnFailure= names rescue.service only when it runs.
    lab = lab_factory(scenario_from_directory(Path(__file__).parent / "scenarios" / "revivals"))
    with watching(lab, "--seconds", "4", unit="rescue.service") as watch:
        watch.next(lambda d: d.get("type") == "watch")
        lab.exec(["systemctl", "start", "--no-block", "flaky.service"], check=True)
        start = watch.next(is_start)
        assert (start.data["cause"], start.data["source"], start.data["chain"]) == (
            "on-failure", "flaky.service", ["flaky.service", "rescue.service"])
        assert_prompt(start)
        watch.finish()


def test_watch_attributes_a_bus_activation_to_the_bus_name_and_caller(lab_factory):
    lab = lab_factory(scenario_from_directory(Path(__file__).parent / "scenarios" / "busact"))
    with watching(lab, "--seconds", "4", unit="echo.service") as watch:
        watch.next(lambda d: d.get("type") == "watch")
        lab.exec(["bash", "-c", "busctl call --timeout=1 org.staydown.Echo / "
                  "org.freedesktop.DBus.Peer Ping || true"], check=True)
        start = watch.next(is_start)
        assert (start.data["cause"], start.data["source"], start.data["chain"]) == (
            "bus-activation", "org.staydown.Echo", ["org.staydown.Echo", "echo.service"])
        assert 'comm="busctl call' in start.data["summary"]
        assert_prompt(start)
        watch.finish()
