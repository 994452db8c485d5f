"""Record the journal and bus signals the timeline unit tests run on, from a real systemd.

    .venv/bin/python -m tests.record_journals [NAME...]

Each recording boots its scenario in a lab, subscribes to the manager's signals
the way ``staydown watch`` does, provokes revivals with real commands (a TCP
connection, the reconcile timer, SIGKILL, systemctl), and stores what systemd
logged and signalled as tests/snapshots/journals/NAME.json, together with the
neighbourhood snapshot and a mark (label and time) before each provocation.
Nothing in those files is written by hand: the marks are the recorder's own
clock, everything else comes from journalctl and D-Bus.
tests/test_timeline_fresh.py records again in a lab and checks that the stored
recordings still classify the same way.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizard.analysis.timeline import start_call_senders
from wizard.lab import nspawn as lab_module
from wizard.model.snapshots import (
    ManagerSnapshot,
    Record,
    SystemSnapshot,
    records_from_json,
    records_to_json,
    snapshot_from_json,
    snapshot_to_json,
)
from wizard.system.journal import journal_source, read_journal
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import ManagerSignals, SystemdClient, systemd_client

SNAPSHOT_DIR = Path(__file__).parent / "snapshots" / "journals"
DAEMON = "widget-daemon.service"


@dataclass(frozen=True)
class Step:
    """One provocation: commands to run in the lab, then a condition to wait for."""

    label: str
    commands: tuple[tuple[str, ...], ...]
    wait_for: str = "active"
    """"active": ``unit`` is up again; "settled": just give systemd a moment."""
    unit: str = DAEMON
    """The unit this step revives."""
    timeout: float = 15.0


@dataclass(frozen=True)
class JournalRecording:
    """A scenario, a log level, and the steps that provoke its revivals."""

    name: str
    scenario: str
    """A shipped scenario, or a directory under tests/scenarios."""
    log_level: str
    steps: tuple[Step, ...]
    os_tree: str | None = None
    """An OS tree of wizard.lab.os_trees (issue 12), or None for the host's."""
    bus: str = "dbus-daemon"

    @property
    def targets(self) -> tuple[str, ...]:
        """Every unit a step revives; the snapshot covers all their neighbourhoods."""
        return tuple(dict.fromkeys(step.unit for step in self.steps))


ARTICLE_STEPS = (
    Step("socket: stop the daemon, a client connects to 127.0.0.1:8080",
         (("systemctl", "stop", DAEMON), ("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"))),
    # Stopping the socket closes the connection still waiting in its backlog
    # (the daemon never accepts it); the reconcile timer fires every 5 s.
    Step("timer: stop socket and daemon, the reconcile timer fires",
         (("systemctl", "stop", "widget-daemon.socket", DAEMON),)),
    # With the timer stopped, only Restart=on-failure can bring it back.
    # kill(1) on the main PID, like a crash: `systemctl kill` also signals the
    # control group, which fails on the lab's cgroup v1 with EIO.
    Step("restart: stop the timer, SIGKILL the daemon",
         (("systemctl", "stop", "widget-reconcile.timer"),
          ("bash", "-c", f"kill -KILL $(systemctl show --property=MainPID --value {DAEMON})"))),
    Step("manual: systemctl stop, then systemctl start",
         (("systemctl", "stop", DAEMON), ("systemctl", "start", DAEMON))),
    Step("manual-restart: systemctl restart",
         (("systemctl", "restart", DAEMON),), wait_for="settled"),
)

# tests/scenarios/revivals: the kinds the article does not show.
REVIVAL_STEPS = (
    Step("path: touch /run/kick-me, which kick.path watches",
         (("touch", "/run/kick-me"),), unit="kick.service"),
    Step("direct-timer: stop tick.service, tick.timer starts it again",
         (("systemctl", "stop", "tick.service"),), unit="tick.service"),
    Step("on-failure: start flaky.service, which fails",
         (("systemctl", "start", "--no-block", "flaky.service"),), unit="rescue.service"),
    Step("on-success: start flaky.service again, which now succeeds",
         (("touch", "/run/flaky-succeeds"), ("systemctl", "start", "flaky.service")),
         unit="afterwards.service"),
    Step("upholds: stop kept.service, which keeper.service upholds",
         (("systemctl", "stop", "kept.service"),), unit="kept.service"),
    Step("automount: ls /mnt/auto, which mnt-auto.automount watches",
         (("ls", "/mnt/auto"),), unit="mnt-auto.mount"),
    Step("external: start caller.service, whose ExecStart runs systemctl start",
         (("systemctl", "start", "--no-block", "caller.service"),), unit="called.service"),
)

# tests/scenarios/busact: dbus-daemon asks systemd to start echo.service. busctl
# gives up after a second (nothing ever owns the name), which is fine here.
BUS_STEPS = (
    Step("bus: a client calls org.staydown.Echo",
         (("bash", "-c",
           "busctl call --timeout=1 org.staydown.Echo / org.freedesktop.DBus.Peer Ping || true"),),
         unit="echo.service"),
)

# tests/scenarios/versions on OS trees (issue 12): the evidence whose spelling
# changed in 257 (OnFailure=, job enqueues) and bus activation under both buses,
# through the tree's own systemd-hostnamed (an alias on 252, a Varlink socket from 257).
HOSTNAMED = "systemd-hostnamed.service"
VERSION_STEPS = (
    Step("on-failure: start flaky.service, which fails",
         (("systemctl", "start", "--no-block", "flaky.service"),), unit="rescue.service"),
    Step("bus: stop hostnamed, hostnamectl calls org.freedesktop.hostname1",
         (("systemctl", "stop", HOSTNAMED), ("sh", "-c", "hostnamectl >/dev/null")),
         unit=HOSTNAMED),
    Step("external: start caller.service, whose ExecStart runs systemctl start",
         (("systemctl", "start", "--no-block", "caller.service"),), unit="called.service"),
)
VERSION_RECORDINGS = (
    JournalRecording("versions-252-daemon-info", "versions", "info", VERSION_STEPS,
                     "bookworm-server", "dbus-daemon"),
    JournalRecording("versions-257-broker-info", "versions", "info", VERSION_STEPS,
                     "trixie", "dbus-broker"),
    JournalRecording("versions-257-broker-debug", "versions", "debug", VERSION_STEPS,
                     "trixie", "dbus-broker"),
)
"""Recorded by hand (python -m tests.record_journals NAME); test_lab_versions.py is their
fresh check, so test_timeline_fresh.py does not record them again."""

RECORDINGS = (
    JournalRecording("article-info", "article", "info", ARTICLE_STEPS),
    JournalRecording("article-debug", "article", "debug", ARTICLE_STEPS),
    JournalRecording("revivals-info", "revivals", "info", REVIVAL_STEPS),
    JournalRecording("revivals-debug", "revivals", "debug", REVIVAL_STEPS),
    JournalRecording("busact-info", "busact", "info", BUS_STEPS),
)
LOCAL_SCENARIOS = Path(__file__).parent / "scenarios"


@dataclass
class Recorded:
    """What one recording produced."""

    snapshot: SystemSnapshot
    records: list[Record]
    marks: list[dict[str, Any]]
    since_usec: int
    until_usec: int
    bus_peers: dict[str, str] = dataclasses.field(default_factory=dict)
    """Senders of start calls -> their unit, resolved while recording (as watch does)."""

    def to_json(self, recording: JournalRecording) -> str:
        return json.dumps({
            "scenario": recording.scenario,
            "targets": list(recording.targets),
            "log_level": recording.log_level,
            "since_usec": self.since_usec,
            "until_usec": self.until_usec,
            "bus_peers": self.bus_peers,
            "marks": self.marks,
            "snapshot": json.loads(snapshot_to_json(self.snapshot)),
            "records": json.loads(records_to_json(self.records)),
        }, indent=1) + "\n"


def load(name: str) -> Recorded:
    """A stored recording."""
    data = json.loads((SNAPSHOT_DIR / f"{name}.json").read_text())
    return Recorded(
        snapshot=snapshot_from_json(json.dumps(data["snapshot"])),
        records=records_from_json(json.dumps(data["records"])),
        marks=data["marks"],
        since_usec=data["since_usec"],
        until_usec=data["until_usec"],
        bus_peers=data.get("bus_peers", {}),
    )


def _now_usec() -> int:
    return time.time_ns() // 1000


def _is_active(lab: lab_module.Lab, unit: str) -> bool:
    return lab.exec(["systemctl", "is-active", "--quiet", unit]).returncode == 0


def _pump(signals: ManagerSignals, sink: list[Record],
          seconds: float, until: Callable[[], bool] | None = None) -> bool:
    """Drain signals every 20 ms (as watch does) until the condition or the time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sink.extend(signals.drain())
        if until is not None and until():
            sink.extend(signals.drain())
            return True
        time.sleep(0.02)
    sink.extend(signals.drain())
    return until is None


def scenario_of(recording: JournalRecording) -> lab_module.Scenario:
    """The recording's scenario: one of tests/scenarios, or a shipped one."""
    local = LOCAL_SCENARIOS / recording.scenario
    return (lab_module.scenario_from_directory(local) if local.is_dir()
            else lab_module.load_scenario(recording.scenario))


def record(recording: JournalRecording, lab_name: str) -> Recorded:
    """Boot, provoke and read one recording; the lab is always torn down."""
    lab = lab_module.up(scenario_of(recording), lab_name, os_name=recording.os_tree,
                        bus=recording.bus)
    try:
        since = _now_usec() - 120_000_000  # the whole boot
        with systemd_client(lab.connection) as client:
            # The snapshot is taken after the steps, as diagnose runs after the
            # fact: a unit whose OnFailure= names the target is loaded only once
            # it has run (systemd knows OnFailureOf= of loaded units only).
            recorded = _provoke(lab, client, recording, since)
            snapshot = _neighbourhoods(client, recording.targets)
            recorded.snapshot = snapshot
            read = read_journal(journal_source(lab.connection), snapshot.history_units(), since,
                                until_usec=recorded.until_usec)
            if read.notes:
                raise RuntimeError(f"journal not read: {read.notes}")
            recorded.records = [*read.entries, *recorded.records]
            recorded.bus_peers = {sender: client.bus_peer_unit(sender)
                                  for sender in sorted(start_call_senders(read.entries))}
            return recorded
    finally:
        lab_module.down(lab_name)


def _neighbourhoods(client: SystemdClient, targets: tuple[str, ...]) -> SystemSnapshot:
    """One snapshot holding the neighbourhood of every target (the first is its target)."""
    snapshots = [collect_neighbourhood(client, target) for target in targets]
    units = {name: unit for snapshot in snapshots for name, unit in snapshot.units.items()}
    walked = tuple(dict.fromkeys(n for snapshot in snapshots for n in snapshot.walked))
    return dataclasses.replace(snapshots[0], units=units, walked=walked)


def _provoke(lab: lab_module.Lab, client: SystemdClient, recording: JournalRecording,
             since: int) -> Recorded:
    """Run the steps; the bus signals come back in ``records`` (the journal comes later)."""
    bus: list[Record] = []
    marks: list[dict[str, Any]] = []
    signals = client.subscribe(None)  # every unit, as watch does
    if recording.log_level != "info":
        client.set_log_level(recording.log_level)
    # Let the first reconcile run pass, so each step starts from a quiet system.
    _pump(signals, bus, 1.0)
    for step in recording.steps:
        marks.append({"label": step.label, "unit": step.unit, "at_usec": _now_usec()})
        for command in step.commands:
            lab.exec(list(command), check=True)
            _pump(signals, bus, 0.1)
        if step.wait_for == "active":
            def back(unit: str = step.unit) -> bool:
                return _is_active(lab, unit)

            came_back = _pump(signals, bus, step.timeout, back)
            if not came_back:
                raise RuntimeError(f"{step.unit} did not come back after: {step.label}")
        _pump(signals, bus, 1.0)
    until = _now_usec()
    if recording.log_level != "info":
        client.set_log_level("info")
    return Recorded(SystemSnapshot("", ManagerSnapshot(), {}), bus, marks, since, until)


def main() -> int:
    """Record every journal recording (or the ones named on the command line)."""
    wanted = set(sys.argv[1:])
    SNAPSHOT_DIR.mkdir(exist_ok=True)
    for recording in (*RECORDINGS, *VERSION_RECORDINGS):
        if wanted and recording.name not in wanted:
            continue
        recorded = record(recording, "recordj")
        path = SNAPSHOT_DIR / f"{recording.name}.json"
        path.write_text(recorded.to_json(recording))
        print(f"recorded {recording.name}: {len(recorded.records)} records, "
              f"{len(recorded.marks)} steps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
