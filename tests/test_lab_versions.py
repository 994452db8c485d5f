"""The same findings, attributions and stay-down results on every systemd and bus (issue 12).

One lab per set-up (252 + dbus-daemon, 257 + dbus-daemon, 257 + dbus-broker, sid +
dbus-broker), booted once for the module with every kind's units at once
(tests/scenarios/versions) and the tree's own systemd-hostnamed for bus activation.
In it, in this order:

1. at info level: the on-failure and on-success hooks, the restart policy, the
   Wants= pull-in and a bus call to hostnamed (the journal must record these
   without the debug level);
2. at debug level: every trigger, Upholds=, a `systemctl start` from a unit and a bus
   call to hostnamed again: each CODE_FUNC spelling journal_vocabulary lists must
   match on this version (the test that fails when systemd renames one);
3. diagnose's findings for each unit and the timeline's cause of each start;
4. two watches at once, at info level: hostnamed's bus activation (dbus-daemon's line,
   or under dbus-broker the watch's bus monitor) and rescue.service's on-failure start.
   Neither raises the log level: the debug log would attribute the bus activation too,
   first, and the monitor would go untested (the debug-log path is checked on the
   journals recorded at debug level, tests/test_timeline_versions.py);
5. staydown plan for three units (socket, bus activation with 257's Varlink socket,
   on-failure of a probe on a timer), applied; every source provoked (the timer
   fires by itself) for a few seconds; the undo.

Each step records what it saw in one Outcome; the tests assert on it per set-up,
so a difference between versions shows as the test and set-up that fail.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.lab_helpers import is_active, unit_states, wait_until
from tests.real_packages.labs import require_lab
from tests.test_lab_watch import WatchProcess
from wizard.analysis.findings import TimelineEvent
from wizard.lab import nspawn as lab_module
from wizard.model.journal_vocabulary import (
    ENQUEUE_FUNCTIONS,
    ON_FAILURE_FUNCTIONS,
    SEEN_ON,
    TRIGGER_FUNCTIONS,
    UPHELD_FUNCTIONS,
)
from wizard.model.snapshots import JournalEntry
from wizard.system.journal import journal_source, read_journal
from wizard.system.neighbourhood import diagnose_unit
from wizard.system.systemd import systemd_client
from wizard.system.unit_history import collect_timeline

pytestmark = pytest.mark.lab

SCENARIO = Path(__file__).parent / "scenarios" / "versions"
HOSTNAMED = "systemd-hostnamed.service"
SETUPS = [
    ("bookworm-server", "dbus-daemon"),
    ("trixie", "dbus-daemon"),
    ("trixie", "dbus-broker"),
    ("sid", "dbus-broker"),
]
PROOF_SECONDS = 4.0
FIFO_WRITE = "[ -p /run/versions-fifo ] && timeout 1 sh -c 'echo x > /run/versions-fifo'"
PROVOKE = {
    "fifo.service": FIFO_WRITE,
    HOSTNAMED: "hostnamectl >/dev/null 2>&1",
    "pager.service": "",
}
"""What makes each planned unit's sources fire (probe.timer fires by itself every
second); failures are expected once the unit is held."""

# The kinds diagnose must find for each unit, the same on every set-up. The one
# deliberate difference: from 257 on hostnamed also has a Varlink socket.
KINDS = {
    "fifo.service": {"socket"},
    "kick.service": {"path"},
    "tick.service": {"timer"},
    "rescue.service": {"on-failure"},
    "pager.service": {"on-failure"},
    "afterwards.service": {"on-success"},
    "kept.service": {"upholds"},
    "called.service": {"external"},
    "pulled.service": {"dependency"},
    "crashy.service": {"restart-policy"},
    HOSTNAMED: {"bus-activation"},
}
VARLINK_FROM = 257

# The cause (and certainty) of each unit's last start, as the timeline must tell it.
CAUSES = {
    "fifo.service": ("triggered", "recorded", "fifo.socket"),
    "kick.service": ("triggered", "recorded", "kick.path"),
    "tick.service": ("triggered", "recorded", "tick.timer"),
    "rescue.service": ("on-failure", "recorded", "flaky.service"),
    "pager.service": ("on-failure", "recorded", "probe.timer"),
    "afterwards.service": ("on-success", "recorded", "flaky.service"),
    "kept.service": ("upholds", "recorded", "keeper.service"),
    "called.service": ("external", "recorded", "caller.service"),
    "pulled.service": ("pulled-in", "recorded", "puller.service"),
    "crashy.service": ("restart-policy", "recorded", "crashy.service"),
    HOSTNAMED: ("bus-activation", "recorded", "org.freedesktop.hostname1"),
}


@dataclass
class Outcome:
    """What one set-up showed, step by step."""

    tree: str
    bus: str
    major: int = 0
    entries: list[JournalEntry] = field(default_factory=list)
    kinds: dict[str, set[str]] = field(default_factory=dict)
    varlink_explained: bool = False
    last_starts: dict[str, TimelineEvent] = field(default_factory=dict)
    info_bus_start: TimelineEvent | None = None
    watch_lines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    plan_codes: dict[str, int] = field(default_factory=dict)
    plan_texts: dict[str, str] = field(default_factory=dict)
    revived_before: dict[str, bool] = field(default_factory=dict)
    came_back: list[str] = field(default_factory=list)
    undo_codes: dict[str, int] = field(default_factory=dict)
    before: dict[str, tuple[str, str]] = field(default_factory=dict)
    after: dict[str, tuple[str, str]] = field(default_factory=dict)


def _sh(lab: lab_module.Lab, command: str) -> None:
    lab.exec(["sh", "-c", command])


def _now_usec() -> int:
    return time.time_ns() // 1000


def _provoke_at_info(lab: lab_module.Lab) -> None:
    _sh(lab, "systemctl start flaky.service; touch /run/flaky-succeeds; "
             "systemctl start flaky.service; systemctl start puller.service; "
             "systemctl stop systemd-hostnamed.service; hostnamectl >/dev/null")
    assert wait_until(lambda: is_active(lab, "crashy.service"), timeout=10)
    _sh(lab, "systemctl kill --signal=KILL crashy.service")
    assert wait_until(lambda: lab.systemctl("show", "-P", "NRestarts", "crashy.service")
                      .strip() == "1" and is_active(lab, "crashy.service"), timeout=10)


def _provoke_at_debug(lab: lab_module.Lab) -> None:
    _sh(lab, "systemd-analyze log-level debug")
    try:
        _sh(lab, f"{FIFO_WRITE}; touch /run/kick-me; systemctl start tick.timer; "
                 "systemctl stop kept.service; systemctl start caller.service; "
                 "systemctl stop systemd-hostnamed.service; hostnamectl >/dev/null")
        assert wait_until(lambda: is_active(lab, "tick.service") and is_active(
            lab, "kept.service") and is_active(lab, HOSTNAMED), timeout=10)
    finally:
        _sh(lab, "systemd-analyze log-level info")


def _diagnose_and_timelines(lab: lab_module.Lab, outcome: Outcome, since: int,
                            info_until: int) -> None:
    with systemd_client(lab.connection) as client:
        for unit in KINDS:
            snapshot, diagnosis = diagnose_unit(client, unit)
            outcome.kinds[unit] = {f.kind.value for f in diagnosis.findings}
            if unit == HOSTNAMED:
                outcome.varlink_explained = any(
                    "Varlink socket" in f.explanation for f in diagnosis.findings
                    if f.kind.value == "socket")
            timeline = collect_timeline(lab.connection, snapshot, since)
            starts = [e for e in timeline.events if e.event == "start"]
            assert starts, f"{unit}: no start in the timeline"
            outcome.last_starts[unit] = starts[-1]
            if unit == HOSTNAMED:
                outcome.info_bus_start = next(
                    (e for e in reversed(starts) if e.at_usec < info_until), None)


def _watch(lab: lab_module.Lab, outcome: Outcome) -> None:
    bus = WatchProcess(lab, "--stop", "--seconds", "6", unit=HOSTNAMED)
    hook = WatchProcess(lab, "--stop", "--seconds", "6", unit="rescue.service")
    try:
        for watch in (bus, hook):
            watch.next(lambda d: d.get("type") == "note" and "stopping" in d["note"])
        _sh(lab, "hostnamectl >/dev/null; rm -f /run/flaky-succeeds; "
                 "systemctl start flaky.service")
        for unit, watch in ((HOSTNAMED, bus), ("rescue.service", hook)):
            outcome.watch_lines[unit] = watch.finish()[1]
    finally:
        bus.kill()
        hook.kill()


def _prove_plans(lab: lab_module.Lab, outcome: Outcome, workdir: Path) -> None:
    units = [*PROVOKE, "fifo.socket", "systemd-hostnamed.socket", "probe.timer"]
    for unit, command in PROVOKE.items():
        lab.systemctl("stop", unit)
        _sh(lab, command)
        outcome.revived_before[unit] = wait_until(partial(is_active, lab, unit), timeout=10)
    outcome.before = unit_states(lab, *units)
    for unit in PROVOKE:
        script = workdir / f"{unit}.sh"
        result = run_cli("plan", "--lab", lab.name, "-o", str(script), unit)
        outcome.plan_codes[unit] = result.code
        outcome.plan_texts[unit] = script.read_text() if script.exists() else result.stderr
        if script.exists():
            lab.exec(["bash", "-s"], input_text=script.read_text(), timeout=120)
    deadline = time.monotonic() + PROOF_SECONDS
    while time.monotonic() < deadline:
        for command in PROVOKE.values():
            _sh(lab, command)
        time.sleep(0.5)
        outcome.came_back += [u for u in PROVOKE if is_active(lab, u)]
    for unit in reversed(PROVOKE):
        undo = workdir / f"{unit}.undo.sh"
        if undo.exists():
            outcome.undo_codes[unit] = lab.exec(["bash", "-s"], input_text=undo.read_text(),
                                                timeout=120).returncode
    wait_until(lambda: unit_states(lab, *units) == outcome.before, timeout=10, step=0.5)
    outcome.after = unit_states(lab, *units)


@pytest.fixture(scope="module", params=SETUPS, ids=lambda s: f"{s[0]}+{s[1]}")
def outcome(request: pytest.FixtureRequest) -> Iterator[Outcome]:
    require_lab()
    tree, bus = request.param
    name = f"v{os.getpid()}-{tree[:6]}-{bus[5:]}"
    lab = lab_module.up(lab_module.scenario_from_directory(SCENARIO), name, os_name=tree,
                        bus=bus)
    found = Outcome(tree, bus)
    try:
        found.major = int(lab.systemctl("--version").split()[1])
        since = _now_usec() - 1_000_000
        _provoke_at_info(lab)
        info_until = _now_usec()
        _provoke_at_debug(lab)
        # Through the project's own reader, so its journalctl matches are tested too.
        found.entries = list(read_journal(
            journal_source(lab.connection),
            [*KINDS, "fifo.socket", "kick.path", "tick.timer", "flaky.service", "caller.service"],
            since).entries)
        _diagnose_and_timelines(lab, found, since, info_until)
        _watch(lab, found)
        with tempfile.TemporaryDirectory() as workdir:
            _prove_plans(lab, found, Path(workdir))
        yield found
    finally:
        lab_module.down(name)


def _spellings(outcome: Outcome, unit: str, functions: frozenset[str] | set[str]) -> set[str]:
    return {e.code_func for e in outcome.entries
            if e.unit == unit and e.code_func in functions}


def test_every_code_function_spelling_matches_and_is_recorded_for_this_version(
    outcome: Outcome,
) -> None:
    triggers = set(TRIGGER_FUNCTIONS)
    found = {
        "socket": _spellings(outcome, "fifo.socket", triggers),
        "path": _spellings(outcome, "kick.path", triggers),
        "timer": _spellings(outcome, "tick.timer", triggers),
        "upheld": _spellings(outcome, "kept.service", UPHELD_FUNCTIONS),
        "on-failure": _spellings(outcome, "flaky.service", ON_FAILURE_FUNCTIONS),
        "enqueue": _spellings(outcome, "called.service", ENQUEUE_FUNCTIONS),
    }
    assert all(found.values()), (outcome.major, found, sorted(
        {(e.unit, e.code_func) for e in outcome.entries}))
    for functions in found.values():
        for function in functions:
            # sid moves on: its spellings must be the newest recorded ones.
            seen = SEEN_ON[function]
            assert outcome.major in seen or (outcome.tree == "sid" and max(seen) >= 262), (
                f"{function} matched on systemd {outcome.major}; add it to SEEN_ON")


def test_diagnose_finds_the_same_kinds_on_every_version(outcome: Outcome) -> None:
    expected = {unit: set(kinds) for unit, kinds in KINDS.items()}
    if outcome.major >= VARLINK_FROM:
        expected[HOSTNAMED].add("socket")
    assert {u: outcome.kinds[u] & (expected[u] | {"socket"}) for u in KINDS} == expected
    assert outcome.varlink_explained == (outcome.major >= VARLINK_FROM)


def test_the_timeline_tells_each_start_the_same_way(outcome: Outcome) -> None:
    told = {u: (e.cause, e.certainty, e.source) for u, e in outcome.last_starts.items()}
    assert told == CAUSES, {u: outcome.last_starts[u].summary for u in told
                            if told[u] != CAUSES[u]}


def test_a_bus_activation_at_info_level_is_recorded_under_dbus_daemon_and_never_a_socket(
    outcome: Outcome,
) -> None:
    event = outcome.info_bus_start
    assert event is not None
    if outcome.bus == "dbus-daemon":
        assert (event.cause, event.certainty, event.source) == (
            "bus-activation", "recorded", "org.freedesktop.hostname1"), event.summary
    else:
        # dbus-broker logs nothing and systemd logs the StartUnit only at debug level.
        assert (event.cause, event.source) == ("unexplained", ""), event.summary
        assert "org.freedesktop.hostname1" in event.summary


def _starts(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(d["cause"], d["certainty"], d["source"]) for d in lines
            if d.get("type") == "event" and d["event"] == "start"]


def test_watch_attributes_the_bus_activation_and_the_on_failure_start(outcome: Outcome) -> None:
    assert _starts(outcome.watch_lines[HOSTNAMED]) == [
        ("bus-activation", "recorded", "org.freedesktop.hostname1")], \
        outcome.watch_lines[HOSTNAMED]
    (start,) = [d for d in outcome.watch_lines[HOSTNAMED] if d.get("type") == "event"
                and d["event"] == "start"]
    # dbus-daemon names the caller's command; under dbus-broker the monitor saw the call.
    assert ("hostnamectl" if outcome.bus == "dbus-daemon" else "bus monitor") in start["summary"]
    assert _starts(outcome.watch_lines["rescue.service"]) == [
        ("on-failure", "recorded", "flaky.service")], outcome.watch_lines["rescue.service"]


def test_the_plans_keep_the_units_down_and_the_undo_restores(outcome: Outcome) -> None:
    assert all(outcome.revived_before.values()), outcome.revived_before
    assert set(outcome.plan_codes.values()) <= {0, 1}, outcome.plan_texts
    assert outcome.came_back == []
    assert outcome.undo_codes == dict.fromkeys(reversed(PROVOKE), 0)
    assert outcome.after == outcome.before
    # A Varlink socket is left listening: the unit's own hold keeps it down.
    assert "systemd-hostnamed.socket" not in "\n".join(
        line for line in outcome.plan_texts[HOSTNAMED].splitlines()
        if line.lstrip().startswith(("stop_unit", "mask_unit", "disable_unit")))
