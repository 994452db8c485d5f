"""staydown watch: optionally stop the unit, then attribute every revival as it happens.

The manager's D-Bus signals (JobNew/JobRemoved, PropertiesChanged) show within
milliseconds that something is starting; a ``journalctl --follow`` adds what
systemd logged about it; analysis.timeline classifies both together, with the
same rules as diagnose's timeline. With ``--debug-log`` the manager's log level
is raised for the watch only and always put back: on the deadline, Ctrl-C,
SIGTERM, SIGHUP and errors alike (SIGKILL cannot be caught; the start message
says how to put it back by hand).
"""

from __future__ import annotations

import select
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from wizard.analysis.findings import SeenEvent, TimelineEvent, WatchOutcome
from wizard.analysis.timeline import build_timeline, bus_stops, start_call_senders
from wizard.model.connection import Connection
from wizard.model.snapshots import (
    JobSignal,
    JournalEntry,
    Record,
    SystemSnapshot,
    record_time,
)
from wizard.system.bus_monitor import BusMonitor
from wizard.system.journal import JournalFollower, journal_source
from wizard.system.neighbourhood import collect_neighbourhood
from wizard.system.systemd import ManagerSignals, SystemdClient

RECORDED_SETTLE_USEC = 150_000
"""A start the bus already explains, or a stop the journal describes, is reported
this soon after it happened."""
SETTLE_USEC = 600_000
"""A start only inference explains waits at most this long for the journal (a debug
line or dbus-daemon's request may still come); it is reported as soon as the
journal has the job's result line (journal_accounted), usually well before. journald
wakes followers 250-500 ms after a write: its post-change timer is 250 ms with
sd-event's default accuracy of 250 ms (journal-file.c schedule_post_change()),
and journalctl needs a moment to parse."""
BUS_STOP_SETTLE_USEC = 600_000
"""A stop seen on the bus waits at most this long for the journal's account (stop
job, exit status, signal), then is reported as the bus saw it. Past journald's
latest wake-up (500 ms), so a readable journal always gets its say."""
STOP_HOLD_USEC = 650_000
"""A start waits for the stop before it at most this long (past the stop's own
wait), so the report keeps time order and still comes within a second."""
POLL_SECONDS = 0.05
CATCH_UP_SECONDS = 0.03
"""While an event waits for lines the journal already holds, it is read this often
(JournalFollower.catch_up) rather than waiting for journald to wake its followers."""
JOURNAL_LEAD_USEC = 2_000_000
"""The follower starts this far back, so nothing logged while it starts is lost."""
STOP_GRACE_USEC = 300_000
"""Bus arrival and journal time of one moment differ by this much at most (we saw 60 ms)."""
KEEP_RECORDS = 20_000
KEEP_USEC = 60_000_000
"""Past KEEP_RECORDS, records older than this go: their events are long reported, and
every rule looks back seconds, not minutes (a busy system at debug level logs a lot)."""


def _now_usec() -> int:
    return time.time_ns() // 1000


class WatchTerminated(Exception):
    """SIGTERM or SIGHUP arrived; the watch ends as it does on Ctrl-C."""


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP back while the log level is put back."""
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def termination_ends_watch() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into WatchTerminated for the block (main thread only)."""

    def raise_terminated(number: int, frame: FrameType | None) -> None:
        raise WatchTerminated(signal.Signals(number).name)

    previous = {
        number: signal.signal(number, raise_terminated)
        for number in (signal.SIGTERM, signal.SIGHUP)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextmanager
def raised_log_level(
    client: SystemdClient, enabled: bool, announce: Callable[[str], None]
) -> Iterator[str | None]:
    """Keep the manager at log level debug for the block; the previous level always comes back."""
    if not enabled:
        yield None
        return
    previous = client.log_level()
    try:
        # Inside the try: a signal right after the change must still undo it.
        client.set_log_level("debug")
        announce(
            f"systemd's log level is debug for this watch (it was {previous}); it is put "
            f"back when the watch ends. If staydown is killed, put it back by hand: "
            f"systemd-analyze log-level {previous}"
        )
        yield previous
    finally:
        with _signals_blocked():
            client.set_log_level(previous)
            announce(f"systemd's log level is {previous} again")


def _settle(event: TimelineEvent) -> int:
    """How long an event waits, after it happened, for more evidence."""
    if event.event == "start":
        return RECORDED_SETTLE_USEC if event.certainty == "recorded" else SETTLE_USEC
    if all(evidence.source == "bus" for evidence in event.evidence):
        return BUS_STOP_SETTLE_USEC
    return RECORDED_SETTLE_USEC


def journal_results(records: list[Record]) -> dict[tuple[str, int, str], int]:
    """(unit, JOB_ID, JOB_TYPE) -> time of the job's result line, once the bus removed it too.

    Empty while the bus has announced a job whose type nothing has told yet (it
    was gone before watch could ask, and neither its state changes nor its
    journal lines are here): the transaction rules may still need it.
    """
    removed = {(r.unit, r.job_id) for r in records if isinstance(r, JobSignal) and r.removed}
    typed = {(r.unit, r.job_id) for r in records
             if isinstance(r, JobSignal | JournalEntry) and r.job_id and r.job_type}
    announced = {(r.unit, r.job_id) for r in records if isinstance(r, JobSignal)}
    if announced - removed - typed:
        return {}
    return {(r.unit, r.job_id, r.job_type): r.realtime_usec for r in records
            if isinstance(r, JournalEntry) and r.job_result and (r.unit, r.job_id) in removed}


def journal_accounted(event: TimelineEvent, results: dict[tuple[str, int, str], int]) -> bool:
    """Whether the journal and the bus have already said all they will about the event.

    The manager logs a job's result last ("Started", "Stopped", "Failed to start"
    ... with JOB_RESULT=, job_emit_done_message() in src/core/job.c), and the
    journal hands a follower one process's lines in the order it wrote them. So
    once that line is here, so is every earlier line of the manager's that a
    rule reads (a scheduled restart, a failure hook, the debug log's bus call,
    enqueue and trigger lines). On the bus, the job's JobRemoved comes after the
    JobNew of every job of its transaction and after the state changes that led
    to it (the manager flushes its bus queue before it runs a job, manager_loop()
    in src/core/manager.c). With both here, waiting longer would change nothing.
    journald wakes its followers 250-500 ms after a write (its post-change timer,
    with sd-event's default accuracy), so the bus has usually long been there.

    The result line must be the event's own half: a restart job logs a result
    for its stop half (JOB_TYPE=restart) before its start half has begun.
    """
    if not event.job_id:
        # A stop without a stop job (the unit ended on its own, or failed):
        # its account has no closing line to wait for.
        return False
    done = results.get((event.unit, event.job_id, event.event))
    # A JOB_ID seen in an older boot ends before this job began.
    return done is not None and done >= event.at_usec


def _event_key(event: TimelineEvent) -> tuple[str, str]:
    if event.event == "start":
        return ("start", str(event.job_id))
    return ("stop", event.invocation_id or str(event.at_usec))


def watch_unit(
    client: SystemdClient,
    connection: Connection,
    snapshot: SystemSnapshot,
    *,
    seconds: float | None,
    stop: bool,
    debug_log: bool,
    on_event: Callable[[SeenEvent], None],
    on_note: Callable[[str], None],
) -> WatchOutcome:
    """Watch ``snapshot.target`` until the time is up, Ctrl-C or SIGTERM.

    Every start and stop is handed to ``on_event`` once its evidence has had
    SETTLE_USEC to arrive, classified by analysis.timeline.
    """
    unit = snapshot.target
    outcome = WatchOutcome(unit=unit, started_usec=_now_usec())
    records: list[Record] = []
    reported: set[tuple[str, str]] = set()
    state = _WatchState(snapshot, lambda: refresh(client, unit), client.bus_peer_unit)

    def note(text: str) -> None:
        outcome.notes.append(text)
        on_note(text)

    # Every unit: the one that turns out to matter (a failing unit with
    # OnFailure=, say) may not even be loaded when the watch starts.
    signals = client.subscribe(None)
    source = journal_source(connection)
    follower = JournalFollower(source, snapshot.history_units() if source.user else [],
                               outcome.started_usec - JOURNAL_LEAD_USEC)
    monitor = BusMonitor(connection, bus_names(snapshot))
    with follower, _monitoring(monitor, bool(bus_names(snapshot)), note), \
            termination_ends_watch():
        if follower.note:
            note(f"{follower.note}; attribution uses D-Bus signals only")
        try:
            with raised_log_level(client, debug_log, note):
                if stop:
                    job = client.stop_unit(unit)
                    note(f"stopping {unit} (job {job})")
                # The watch proper starts now: our own stop is part of it.
                deadline = None if seconds is None else time.monotonic() + seconds
                state.bus_monitored = monitor.fileno() is not None
                state.activatable = bool(bus_names(snapshot))
                _loop(signals, follower, monitor, records, deadline, lambda: _report(
                    unit, records, state, outcome, reported, on_event), state)
        except KeyboardInterrupt:
            outcome.ended_by = "interrupt"
        except WatchTerminated:
            outcome.ended_by = "terminate"
        # Whatever settled in the meantime is still worth reporting.
        _report(unit, records, state, outcome, reported, on_event, final=True)
        if follower.note and not any(follower.note in n for n in outcome.notes):
            note(follower.note)
    outcome.ended_usec = _now_usec()
    return outcome


def bus_names(snapshot: SystemSnapshot) -> tuple[str, ...]:
    """The bus names whose activation files start the watched unit (by any of its names)."""
    target = snapshot.unit(snapshot.target)
    names = {snapshot.target, *(target.names if target is not None else ())}
    return tuple(s.bus_name for s in snapshot.dbus_services if s.systemd_service in names)


@contextmanager
def _monitoring(monitor: BusMonitor, wanted: bool, note: Callable[[str], None]
                ) -> Iterator[None]:
    """Monitor the bus while the block runs, for a bus-activatable unit only."""
    if not wanted:
        yield
        return
    with monitor:
        if monitor.note:
            note(monitor.note)
        yield


def _loop(
    signals: ManagerSignals, follower: JournalFollower, monitor: BusMonitor,
    records: list[Record], deadline: float | None, report: Callable[[], bool],
    state: _WatchState,
) -> None:
    """Collect signals, journal entries and monitored messages until the deadline."""
    sources = [signals.fileno()]
    for extra in (follower.fileno(), monitor.fileno()):
        if extra is not None:
            sources.append(extra)
    pending = False
    caught_up = 0.0
    while deadline is None or time.monotonic() < deadline:
        wait = POLL_SECONDS if deadline is None else max(
            0.0, min(POLL_SECONDS, deadline - time.monotonic()))
        if pending and state.journal_due and follower.can_catch_up:
            wait = min(wait, max(0.0, caught_up + CATCH_UP_SECONDS - time.monotonic()))
        select.select(sources, [], [], wait)
        arrived: list[Record] = [*signals.drain(), *follower.read_available(),
                                 *monitor.read_available()]
        if pending and state.journal_due and follower.can_catch_up \
                and time.monotonic() - caught_up >= CATCH_UP_SECONDS:
            caught_up = time.monotonic()
            arrived += follower.catch_up()
        records.extend(arrived)
        if arrived or pending:
            pending = report()
        if len(records) > KEEP_RECORDS:
            oldest = _now_usec() - KEEP_USEC
            records[:] = [r for r in records if record_time(r) >= oldest]


@dataclass
class _WatchState:
    """The snapshot the watch classifies with, refreshed when a start is unexplained."""

    snapshot: SystemSnapshot
    reload: Callable[[], SystemSnapshot]
    peer_unit: Callable[[str], str] = lambda name: ""
    refreshed_for: set[int] = field(default_factory=set)
    bus_peers: dict[str, str] = field(default_factory=dict)
    bus_monitored: bool = False
    """Unique bus names of start calls' senders -> the unit of their process, asked
    once each (dbus-broker's launcher asks systemd with StartUnit)."""
    activatable: bool = False
    """The unit has a D-Bus activation file: another process logs its activation."""
    journal_due: bool = False
    """The event that holds the report waits for lines the journal already has (its
    job is gone from the bus, or it is a stop): worth reading the journal now."""

    def resolve_senders(self, records: list[Record]) -> None:
        """Ask the bus who sent each start call not asked about yet."""
        for sender in start_call_senders(records) - self.bus_peers.keys():
            self.bus_peers[sender] = self.peer_unit(sender)

    def refresh_for(self, job_id: int) -> bool:
        """Reload once per unexplained start job; True when it reloaded."""
        if job_id in self.refreshed_for:
            return False
        self.refreshed_for.add(job_id)
        self.snapshot = self.reload()
        return True


def refresh(client: SystemdClient, unit: str) -> SystemSnapshot:
    """The unit's neighbourhood now: units loaded since the watch began join it."""
    return collect_neighbourhood(client, unit)


def _report(
    unit: str,
    records: list[Record],
    state: _WatchState,
    outcome: WatchOutcome,
    reported: set[tuple[str, str]],
    on_event: Callable[[SeenEvent], None],
    *,
    final: bool = False,
) -> bool:
    """Hand every settled, unreported event on; True while some still wait to settle."""
    now = _now_usec()
    state.resolve_senders(records)

    def classify() -> tuple[TimelineEvent, ...]:
        return build_timeline(
            unit, records, state.snapshot, since_usec=outcome.started_usec,
            until_usec=now + SETTLE_USEC, limit=10_000, bus_stops=True,
            bus_peers=state.bus_peers, bus_monitored=state.bus_monitored,
        ).events

    events = classify()
    unexplained = [e for e in events if e.event == "start" and e.certainty == "inferred"
                   and _event_key(e) not in reported]
    # A unit that started it may have been loaded only now (a failing unit's
    # OnFailure=, a unit calling it): look again before settling for less.
    if any(state.refresh_for(e.job_id) for e in unexplained):
        events = classify()
    # The bus shows a stop at once, the journal's account of it comes later: a
    # start must not be reported before the stop it follows.
    stops_due = [
        (("stop", invocation), change.at_usec)
        for _, change, invocation in bus_stops(records, unit)
        if now - change.at_usec < STOP_HOLD_USEC
    ]
    # Only a unit whose journal lines all come from the manager can be settled by
    # its lines: dbus-daemon logs a bus activation from its own process, and a
    # bus monitor's messages come through a pipe of their own.
    results = {} if state.activatable else journal_results(records)
    removed = {(r.unit, r.job_id) for r in records if isinstance(r, JobSignal) and r.removed}
    state.journal_due = False
    pending = False
    for event in events:
        key = _event_key(event)
        if key in reported:
            continue
        settled = now - event.at_usec >= _settle(event) or journal_accounted(event, results)
        stop_first = event.event == "start" and any(
            stop not in reported and at <= event.at_usec + STOP_GRACE_USEC
            for stop, at in stops_due)
        if not final and (not settled or stop_first):
            # Later events wait too, so the report stays in time order; each
            # still comes out within SETTLE_USEC of its own moment.
            pending = True
            # The manager logs a job's result before the bus says it is gone, and
            # a stop's account before the bus shows the unit down.
            state.journal_due = not state.activatable and (
                stop_first or event.event == "stop" or (event.unit, event.job_id) in removed)
            break
        reported.add(key)
        seen = SeenEvent(event, now)
        outcome.seen.append(seen)
        on_event(seen)
    return pending
